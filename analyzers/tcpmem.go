package analyzers

// TCPMemoryPressure: stub until its analyzer lands (it reports nothing).
var TCPMemoryPressure = &Analyzer{
	Name: "tcp-memory-pressure",
	Doc:  "TCP memory pressure",
	Run:  func(*Pass) error { return nil },
}
