package analyzers

// HealthcheckStarvation: stub until its analyzer lands (it reports nothing).
var HealthcheckStarvation = &Analyzer{
	Name: "healthcheck-starvation",
	Doc:  "load-balancer health checks starve a fixed worker pool",
	Run:  func(*Pass) error { return nil },
}
