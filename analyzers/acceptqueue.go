package analyzers

// AcceptQueueOverflow: stub until its analyzer lands (it reports nothing).
var AcceptQueueOverflow = &Analyzer{
	Name: "accept-queue-overflow",
	Doc:  "listen backlog overflowing",
	Run:  func(*Pass) error { return nil },
}
