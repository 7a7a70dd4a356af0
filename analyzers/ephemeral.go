package analyzers

// EphemeralPortExhaustion: stub until its analyzer lands (it reports nothing).
var EphemeralPortExhaustion = &Analyzer{
	Name: "ephemeral-port-exhaustion",
	Doc:  "local ports to one destination exhausted",
	Run:  func(*Pass) error { return nil },
}
