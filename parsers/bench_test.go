package parsers

import (
	"runtime"
	"testing"
)

// benchTable runs parse once per iteration over a generated dump of lines
// lines and reports, beside the usual time and allocations:
//
//   - lines/s: lines per second of wall time;
//   - lines/cpu-s: lines per second of this process's CPU time (user and
//     system, every thread: garbage collection included), which a shared,
//     busy machine disturbs much less than wall time;
//   - live-MB: the heap still in use, after a collection, while the last
//     iteration's evidence is alive: what the parsed table costs to keep.
//
// check validates each iteration's result.
func benchTable(b *testing.B, lines int, parse func() *Input, check func(*Input)) {
	b.ReportAllocs()
	var in *Input
	cpu0 := cpuTime()
	for b.Loop() {
		in = parse()
		check(in)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if cpu > 0 {
		b.ReportMetric(float64(lines)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(in)
	in = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportMetric(float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse))/(1<<20), "live-MB")
}
