package analyzers

// Suite is every analyzer in the order they run. Later analyzers may read
// earlier findings (Pass.Prior) to link causes, so causes come first.
var Suite = []*Analyzer{
	FDExhaustion,
}
