package analyzers

// CloseWaitLeak: stub until its analyzer lands (it reports nothing).
var CloseWaitLeak = &Analyzer{
	Name: "close-wait-leak",
	Doc:  "sockets whose peer closed are never closed",
	Run:  func(*Pass) error { return nil },
}
