package analyzers

// KeepaliveMissing: stub until its analyzer lands (it reports nothing).
var KeepaliveMissing = &Analyzer{
	Name: "keepalive-missing",
	Doc:  "idle connections have no keepalive timer",
	Run:  func(*Pass) error { return nil },
}
