package capture

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/netmortem/netmortem/parsers/event"
)

var benchOnce struct {
	sync.Once
	data    []byte
	packets int
}

// benchData is an in-memory capture of 6000 short connections, 60 in
// progress at a time, on 1500 client ports (so 4-tuples are reused):
// handshake, request, response, FIN close from either side or a RST.
func benchData(b *testing.B) ([]byte, int) {
	benchOnce.Do(func() {
		cb := newBuilder(b)
		type script struct {
			c    *conn
			step int
		}
		steps := []func(c *conn, i int){
			func(c *conn, i int) { c.c(fS, 0) },
			func(c *conn, i int) { c.s(fSA, 0) },
			func(c *conn, i int) { c.c(fA, 0) },
			func(c *conn, i int) { c.c(fPA, 200) },
			func(c *conn, i int) { c.s(fA, 0) },
			func(c *conn, i int) { c.s(fPA, 1200) },
			func(c *conn, i int) { c.c(fA, 0) },
			func(c *conn, i int) {
				if i%7 == 0 {
					c.c(fRA, 0)
				} else if i%2 == 0 {
					c.c(fFA, 0)
				} else {
					c.s(fFA, 0)
				}
			},
			func(c *conn, i int) {
				if i%7 != 0 {
					if i%2 == 0 {
						c.s(fFA, 0)
					} else {
						c.c(fFA, 0)
					}
				}
			},
		}
		var active []script
		next := 0
		newConn := func() script {
			next++
			return script{c: cb.conn(fmt.Sprintf("10.1.%d.%d:%d", next%4, 1+next%50, 32768+next%1500), "10.0.0.1:6379", uint32(next*7919), uint32(next*104729))}
		}
		for range 60 {
			active = append(active, newConn())
		}
		for i := 0; next < 6000; i++ {
			k := i % len(active)
			s := &active[k]
			steps[s.step](s.c, next+k)
			cb.now += 7 * time.Microsecond
			if s.step++; s.step == len(steps) {
				active[k] = newConn()
			}
		}
		benchOnce.data, benchOnce.packets = cb.pcap(), len(cb.frames)
	})
	return benchOnce.data, benchOnce.packets
}

// BenchmarkFlows is the whole analysis: read, decode, rebuild and
// summarise every connection.
func BenchmarkFlows(b *testing.B) {
	data, packets := benchData(b)
	b.SetBytes(int64(len(data)))
	start := time.Now()
	for b.Loop() {
		Analyze(bytes.NewReader(data), Options{}, Handler{Flow: func(*event.Flow) {}})
	}
	b.ReportMetric(float64(packets)*float64(b.N)/time.Since(start).Seconds(), "packets/s")
}

// BenchmarkFlowsFile is the whole analysis of the capture named by
// NETMORTEM_BENCH_CAPTURE (testdata/bench/gencap makes one), held in
// memory; each flow is copied out, as a caller that keeps them does. Besides
// the wall time it reports the CPU time of all goroutines per run
// (cpu-ns/op), steadier than the wall time on a shared machine.
func BenchmarkFlowsFile(b *testing.B) {
	path := os.Getenv("NETMORTEM_BENCH_CAPTURE")
	if path == "" {
		b.Skip("NETMORTEM_BENCH_CAPTURE not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var keep event.Flow
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpu()
	for b.Loop() {
		Analyze(bytes.NewReader(data), Options{}, Handler{Flow: func(f *event.Flow) { keep = *f }})
	}
	b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
	_ = keep
}

// BenchmarkReadRecords is the record reader alone: pcapgo behind our
// source, with the positions and checks the analysis uses.
func BenchmarkReadRecords(b *testing.B) {
	data, _ := benchData(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rr, _, err := openReader(newSource(bytes.NewReader(data)))
		if err != nil {
			b.Fatal(err)
		}
		var rec record
		for rr.next(&rec) == nil {
		}
	}
}

// BenchmarkPcapgoRead is the floor the issue measures against: gopacket's
// pcapgo reader, records only.
func BenchmarkPcapgoRead(b *testing.B) {
	data, _ := benchData(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.ZeroCopyReadPacketData(); err == io.EOF {
				break
			}
		}
	}
}
