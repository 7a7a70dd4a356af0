package analyzers

import (
	"strings"
	"testing"
)

func TestConntrackFull(t *testing.T) {
	line := "Jun  8 10:48:13 compute4 kernel: [1694413.621694] nf_conntrack: nf_conntrack: table full, dropping packet"
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		conf     Confidence
		summary  string
		ruledOut string
	}{
		{
			name:    "corpus shape: the kernel line alone",
			build:   func(b *kb) { b.log("kern.log", "conntrack-full", line, kbT0, 1) },
			want:    map[string]Severity{"conntrack-full": High},
			conf:    MediumConfidence,
			summary: "(1 lines)",
		},
		{
			name: "kernel lines and the table at its maximum",
			build: func(b *kb) {
				b.log("kern.log", "conntrack-full", line, kbT0, 40)
				b.sysctl("net.netfilter.nf_conntrack_count", "262144")
				b.sysctl("net.netfilter.nf_conntrack_max", "262144")
			},
			want:    map[string]Severity{"conntrack-full": High},
			conf:    HighConfidence,
			summary: "262144 of 262144 entries in use",
		},
		{
			name: "lines, then the table drained before collection",
			build: func(b *kb) {
				b.log("kern.log", "conntrack-full", line, kbT0, 1)
				b.sysctl("net.netfilter.nf_conntrack_count", "1200")
				b.sysctl("net.nf_conntrack_max", "65536")
			},
			want:    map[string]Severity{"conntrack-full": High},
			conf:    MediumConfidence,
			summary: "drained to 1200 of 65536",
		},
		{
			name: "near full without a line",
			build: func(b *kb) {
				b.sysctl("net.netfilter.nf_conntrack_count", "62000")
				b.sysctl("net.netfilter.nf_conntrack_max", "65536")
			},
			want:    map[string]Severity{"conntrack-full": Medium},
			conf:    LowConfidence,
			summary: "62000 of 65536 entries in use (95%)",
		},
		{
			name: "healthy: nearly empty table",
			build: func(b *kb) {
				b.sysctl("net.netfilter.nf_conntrack_count", "0")
				b.sysctl("net.netfilter.nf_conntrack_max", "262144")
			},
			ruledOut: "nf_conntrack_count 0 of nf_conntrack_max 262144",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("compute4")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "conntrack-full"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			f := above["conntrack-full"]
			if f.Confidence != c.conf || !strings.Contains(f.Summary, c.summary) {
				t.Errorf("confidence %s (want %s), summary %q (want %q)", f.Confidence, c.conf, f.Summary, c.summary)
			}
		})
	}
}
