package analyzers

// Suite is every analyzer in the order they run. Later analyzers may read
// earlier findings (Pass.Prior), so mechanisms that cause others come
// first; causal links themselves are resolved after all have run.
var Suite = []*Analyzer{
	PoolSaturation,
	HealthcheckStarvation,
	CloseWaitLeak,
	KeepaliveMissing,
	FDExhaustion,
	FileMaxReached,
	TWBucketOverflow,
	EphemeralPortExhaustion,
	AcceptQueueOverflow,
	SYNFlood,
	ConntrackFull,
	OrphanSockets,
	TCPMemoryPressure,
}
