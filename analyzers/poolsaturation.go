package analyzers

// PoolSaturation: stub until its analyzer lands (it reports nothing).
var PoolSaturation = &Analyzer{
	Name: "pool-saturation",
	Doc:  "application connection pool exhausted",
	Run:  func(*Pass) error { return nil },
}
