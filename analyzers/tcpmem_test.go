package analyzers

import (
	"strings"
	"testing"
	"time"
)

func TestTCPMemoryPressure(t *testing.T) {
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		summary  string
		ruledOut string
	}{
		{
			name: "over the maximum with the kernel line",
			build: func(b *kb) {
				b.log("dmesg.txt", "tcp-memory-pressure", "[ 5.1] TCP: out of memory -- consider tuning tcp_mem", kbT0, 3)
				b.sysctl("net.ipv4.tcp_mem", "45588 60787 91176")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP mem": 91200})
			},
			want:    map[string]Severity{"tcp-memory-pressure": High},
			summary: "91200 pages in use against tcp_mem 45588 60787 91176",
		},
		{
			name: "above the pressure threshold only",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_mem", "45588 60787 91176")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP mem": 70000})
			},
			want:    map[string]Severity{"tcp-memory-pressure": Medium},
			summary: "70000 pages in use",
		},
		{
			name: "pressure counter rises between sets",
			build: func(b *kb) {
				b.counters("n1", "proc-net-netstat", kbT0, map[string]int64{"TcpExt TCPMemoryPressures": 2, "TcpExt TCPAbortOnMemory": 0})
				b.counters("n2", "proc-net-netstat", kbT0.Add(time.Minute), map[string]int64{"TcpExt TCPMemoryPressures": 9, "TcpExt TCPAbortOnMemory": 0})
			},
			want:    map[string]Severity{"tcp-memory-pressure": Medium},
			summary: "TCP entered memory pressure 7 times in 1m0s",
		},
		{
			name: "aborts alone are not memory pressure (orphan aborts count there too)",
			build: func(b *kb) {
				b.counters("n1", "proc-net-netstat", kbT0, map[string]int64{"TcpExt TCPMemoryPressures": 0, "TcpExt TCPAbortOnMemory": 0})
				b.counters("n2", "proc-net-netstat", kbT0.Add(time.Minute), map[string]int64{"TcpExt TCPMemoryPressures": 0, "TcpExt TCPAbortOnMemory": 500})
			},
			ruledOut: "too many orphaned sockets",
		},
		{
			name: "healthy: corpus k8s sockstat against its tcp_mem",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_mem", "45588 60787 91176")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP mem": 7})
			},
			ruledOut: "TCP uses 7 pages, under the pressure threshold 60787",
		},
		{
			name: "an absolute pressure counter is no pressure",
			build: func(b *kb) {
				b.counters("n1", "nstat", kbT0, map[string]int64{"TcpExt TCPMemoryPressures": 55})
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "tcp-memory-pressure"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			if f := above["tcp-memory-pressure"]; !strings.Contains(f.Summary, c.summary) {
				t.Errorf("summary %q does not say %q", f.Summary, c.summary)
			}
		})
	}
}
