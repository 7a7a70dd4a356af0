package analyzers

// FileMaxReached: stub until its analyzer lands (it reports nothing).
var FileMaxReached = &Analyzer{
	Name: "file-max-reached",
	Doc:  "system-wide file table full",
	Run:  func(*Pass) error { return nil },
}
