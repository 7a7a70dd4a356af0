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
			name: "a line naming another namespace, this table far from full",
			build: func(b *kb) {
				b.log("dmesg.txt", "conntrack-full", "[ 2456.1] nf_conntrack: nf_conntrack: table full in netns 4026532712, dropping packet", kbT0, 3)
				b.sysctl("net.netfilter.nf_conntrack_count", "12")
				b.sysctl("net.netfilter.nf_conntrack_max", "262144")
			},
			ruledOut: "the line may be another's",
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

// The kernel log is shared by a kernel's namespaces: "table full in netns
// N" lines belong to the host whose own table is full, not to a peer
// namespace that holds a copy of them.
func TestConntrackFullOtherNamespace(t *testing.T) {
	line := "[Sat Nov 21 22:30:26 2026] nf_conntrack: nf_conntrack: table full in netns 4026532246, dropping packet"
	server, client := newKB("server"), newKB("client")
	for _, b := range []*kb{server, client} {
		b.log("dmesg-T.txt", "conntrack-full", line, kbT0, 10)
		b.sysctl("net.netfilter.nf_conntrack_max", "262144")
	}
	server.sysctl("net.netfilter.nf_conntrack_count", "262144")
	client.sysctl("net.netfilter.nf_conntrack_count", "0")
	server.ev.Merge(&client.ev)
	res, above := server.run(t)
	if f, ok := above["conntrack-full"]; !ok || f.Host != "server" {
		t.Fatalf("want conntrack-full on server, got %+v", above)
	}
	for _, f := range res.Findings {
		if f.ID == "conntrack-full" && f.Host == "client" {
			t.Errorf("conntrack-full reported on client from the server's lines: %s", f.Summary)
		}
	}
	if got := kbRuledOut(res, "conntrack-full"); !strings.Contains(got, "netns 4026532246, the table of server") {
		t.Errorf("rule-out %q", got)
	}
	// Without the count of the full table, the owner is unknown: both keep
	// their lines.
	b := newKB("client")
	b.log("dmesg-T.txt", "conntrack-full", line, kbT0, 1)
	_, above = b.run(t)
	kbCheck(t, above, map[string]Severity{"conntrack-full": High})
}
