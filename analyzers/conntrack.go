package analyzers

// ConntrackFull: stub until its analyzer lands (it reports nothing).
var ConntrackFull = &Analyzer{
	Name: "conntrack-full",
	Doc:  "connection tracking table full",
	Run:  func(*Pass) error { return nil },
}
