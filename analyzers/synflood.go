package analyzers

// SYNFlood: stub until its analyzer lands (it reports nothing).
var SYNFlood = &Analyzer{
	Name: "syn-flood",
	Doc:  "SYN flood or SYN backlog full",
	Run:  func(*Pass) error { return nil },
}
