package analyzers

// TWBucketOverflow: stub until its analyzer lands (it reports nothing).
var TWBucketOverflow = &Analyzer{
	Name: "tw-bucket-overflow",
	Doc:  "TIME_WAIT bucket table overflow",
	Run:  func(*Pass) error { return nil },
}
