package analyzers

import (
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestOrphanSockets(t *testing.T) {
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		summary  string
		ruledOut string
	}{
		{
			name: "kernel line",
			build: func(b *kb) {
				b.log("dmesg.txt", "orphan-sockets", "[ 99.1] TCP: too many orphaned sockets", kbT0, 12)
				b.sysctl("net.ipv4.tcp_max_orphans", "4096")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP orphan": 4100})
			},
			want:    map[string]Severity{"orphan-sockets": High},
			summary: "4100 orphaned sockets, 100% of net.ipv4.tcp_max_orphans 4096",
		},
		{
			name: "a quarter of the limit, FIN_WAIT1 sockets as context",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_orphans", "4096")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP orphan": 1100})
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 900, event.StateFinWait1, 0, 65000, "10.0.0.5:443", "10.0.0.9:40000")
			},
			want:    map[string]Severity{"orphan-sockets": Medium},
			summary: "1100 orphaned sockets, 27% of net.ipv4.tcp_max_orphans 4096",
		},
		{
			name: "healthy: corpus sockstat with 17 orphans",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_orphans", "262144")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP orphan": 17, "sockstat TCP tw": 2030})
			},
			ruledOut: "17 orphaned sockets of net.ipv4.tcp_max_orphans 262144",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "orphan-sockets"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			if f := above["orphan-sockets"]; !strings.Contains(f.Summary, c.summary) {
				t.Errorf("summary %q does not say %q", f.Summary, c.summary)
			}
		})
	}
}
