package analyzers

import (
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestEphemeralPortExhaustion(t *testing.T) {
	eaddr := "2024/03/05 10:00:01 dial tcp 10.0.0.9:6379: connect: cannot assign requested address"
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		summary  string
		ruledOut string
	}{
		{
			name: "EADDRNOTAVAIL with the range used up to one destination",
			build: func(b *kb) {
				b.sysctl("net.ipv4.ip_local_port_range", "50000 50999")
				b.log("app.log", "eaddrnotavail", eaddr, kbT0, 1)
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 950, event.StateTimeWait, 0, 0, "10.0.0.5:50000", "10.0.0.9:6379")
				b.socks(s, 50, event.StateEstablished, 0, 0, "10.0.0.5:50950", "10.0.0.9:6379")
			},
			want:    map[string]Severity{"ephemeral-port-exhaustion": High},
			summary: "1000 sockets from 10.0.0.5 to 10.0.0.9:6379 (950 TIME_WAIT, 50 ESTABLISHED) use 100% of the 1000 ports in 50000-50999",
		},
		{
			name: "ports nearly used up, no log",
			build: func(b *kb) {
				b.sysctl("net.ipv4.ip_local_port_range", "50000 50999")
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 920, event.StateTimeWait, 0, 0, "10.0.0.5:50000", "10.0.0.9:6379")
			},
			want:    map[string]Severity{"ephemeral-port-exhaustion": Medium},
			summary: "92% of the 1000 ports",
		},
		{
			name: "EADDRNOTAVAIL alone: medium, with the other explanation",
			build: func(b *kb) {
				b.log("app.log", "eaddrnotavail", eaddr, kbT0, 1)
			},
			want:    map[string]Severity{"ephemeral-port-exhaustion": Medium},
			summary: "cannot assign requested address",
		},
		{
			name: "healthy: many connections spread over destinations",
			build: func(b *kb) {
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 300, event.StateTimeWait, 0, 0, "10.0.0.5:40000", "10.0.0.9:6379")
				b.socks(s, 300, event.StateTimeWait, 0, 0, "10.0.0.5:40000", "10.0.0.10:6379")
			},
			ruledOut: "takes 300 local ports from 10.0.0.5 (300 TIME_WAIT), 1.1% of the 28232 in ip_local_port_range 32768-60999",
		},
		{
			name: "a server's inbound connections are not its ephemeral ports",
			build: func(b *kb) {
				b.sysctl("net.ipv4.ip_local_port_range", "1024 2047")
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 1, event.StateListen, 0, 128, "10.0.0.5:2000", "0.0.0.0:*")
				for i := 0; i < 1000; i++ {
					r := kbEndpoint("10.0.0.9:30000")
					r.Port += uint16(i)
					b.ev.Sockets = append(b.ev.Sockets, event.Socket{Meta: b.meta("ss.txt", kbT0), Snapshot: s, Proto: "tcp",
						State: event.StateEstablished, Local: kbEndpoint("10.0.0.5:2000"), Remote: r})
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("client")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "ephemeral-port-exhaustion"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			f := above["ephemeral-port-exhaustion"]
			if !strings.Contains(f.Summary, c.summary) {
				t.Errorf("summary %q does not say %q", f.Summary, c.summary)
			}
			if !f.RootCause {
				t.Error("should be a root cause when nothing causes it")
			}
		})
	}
}

// Only a destination whose ports are mostly CLOSE_WAIT links to the leak.
func TestEphemeralCausedByLeak(t *testing.T) {
	for _, c := range []struct {
		state event.State
		link  bool
	}{{event.StateCloseWait, true}, {event.StateTimeWait, false}} {
		b := newKB("client")
		b.sysctl("net.ipv4.ip_local_port_range", "50000 50099")
		s := b.snap("ss.txt", "ss", kbT0)
		b.socks(s, 100, c.state, 0, 0, "10.0.0.5:50000", "10.0.0.9:9000")
		p := &Pass{Analyzer: EphemeralPortExhaustion, Evidence: &b.ev, Config: DefaultConfig()}
		if err := EphemeralPortExhaustion.Run(p); err != nil || len(p.found) != 1 {
			t.Fatalf("%s: err %v, %d findings", c.state, err, len(p.found))
		}
		if got := len(p.found[0].CausedBy) == 1; got != c.link {
			t.Errorf("%s: caused by %v, want a link %v", c.state, p.found[0].CausedBy, c.link)
		}
	}
}
