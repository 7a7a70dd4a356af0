package analyzers

import (
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestAcceptQueueOverflow(t *testing.T) {
	const lo, ld = "TcpExt ListenOverflows", "TcpExt ListenDrops"
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		sources  string
		ruledOut string
	}{
		{
			name: "counter rises and the listener's queue is at its backlog",
			build: func(b *kb) {
				b.sysctl("net.core.somaxconn", "128")
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{lo: 3, ld: 3})
				b.counters("nstat.2.txt", "nstat", kbT0.Add(3*time.Second), map[string]int64{lo: 45, ld: 45})
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 1, event.StateListen, 129, 128, "*:8080", "*:*")
			},
			want:    map[string]Severity{"accept-queue-overflow": High},
			sources: "[TcpExt counters LISTEN queue]",
		},
		{
			name: "ListenDrops stands in when the source has no ListenOverflows",
			build: func(b *kb) {
				b.counters("netstat-s.1.txt", "netstat-s", kbT0, map[string]int64{ld: 10})
				b.counters("netstat-s.2.txt", "netstat-s", kbT0.Add(10*time.Second), map[string]int64{ld: 14})
			},
			want:    map[string]Severity{"accept-queue-overflow": Medium},
			sources: "[TcpExt counters]",
		},
		{
			name: "netstat prints no backlog: Recv-Q at somaxconn",
			build: func(b *kb) {
				b.sysctl("net.core.somaxconn", "128")
				s := b.snap("netstat.txt", "netstat", kbT0)
				b.socks(s, 1, event.StateListen, 129, 0, "0.0.0.0:8080", "0.0.0.0:*")
			},
			want:    map[string]Severity{"accept-queue-overflow": Medium},
			sources: "[LISTEN queue]",
		},
		{
			name: "healthy: a few queued, counter flat",
			build: func(b *kb) {
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{lo: 351})
				b.counters("nstat.2.txt", "nstat", kbT0.Add(3*time.Second), map[string]int64{lo: 351})
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 1, event.StateListen, 41, 128, "*:8080", "*:*")
			},
			ruledOut: "the fullest listener *:8080 has 41 of 128 queued; TcpExt ListenOverflows unchanged at 351 across 2 nstat sets",
		},
		{
			name: "an absolute counter alone is no overflow",
			build: func(b *kb) {
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{lo: 100000})
			},
		},
		{
			name: "a reboot between sets is no rise",
			build: func(b *kb) {
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{lo: 100000})
				b.counters("nstat.2.txt", "nstat", kbT0.Add(time.Hour), map[string]int64{lo: 0})
			},
			ruledOut: "went down at nstat.2.txt:1 (a reboot or a counter reset)",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "accept-queue-overflow"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			f := above["accept-queue-overflow"]
			if got := strings.Join(f.Sources, " "); "["+got+"]" != c.sources {
				t.Errorf("sources [%s], want %s", got, c.sources)
			}
			if !f.RootCause {
				t.Error("alone, it is its own root cause")
			}
		})
	}
}

// With fd-exhaustion found on the same host, the overflow is its symptom.
func TestAcceptQueueOverflowCausedByFDExhaustion(t *testing.T) {
	b := newKB("server")
	b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{"TcpExt ListenOverflows": 3})
	b.counters("nstat.2.txt", "nstat", kbT0.Add(3*time.Second), map[string]int64{"TcpExt ListenOverflows": 45})
	b.ev.Processes = append(b.ev.Processes, event.Process{Meta: b.meta("fd.txt", kbT0), PID: 7, Name: "svc", FDs: 64, FDSize: -1, Threads: -1})
	b.ev.Limits = append(b.ev.Limits, event.Limit{Meta: b.meta("limits.txt", kbT0), Resource: "nofile", Soft: 64, Hard: 64, PID: 7, Scope: "process"})
	_, above := b.run(t)
	f, ok := above["accept-queue-overflow"]
	if !ok {
		t.Fatal("no accept-queue-overflow")
	}
	if f.RootCause || strings.Join(f.CausedBy, ",") != "fd-exhaustion" {
		t.Errorf("root %v caused by %v, want caused by fd-exhaustion", f.RootCause, f.CausedBy)
	}
	if !above["fd-exhaustion"].RootCause {
		t.Error("fd-exhaustion should be the root")
	}
}

func TestAcceptQueueCapture(t *testing.T) {
	b := newKB("server")
	b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{"TcpExt ListenOverflows": 3})
	b.counters("nstat.2.txt", "nstat", kbT0.Add(3*time.Second), map[string]int64{"TcpExt ListenOverflows": 4})
	b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: 11}, Time: kbT0, Host: "server"},
		Src: kbEndpoint("10.0.0.9:40000"), Dst: kbEndpoint("10.0.0.5:8080"), Start: kbT0, FirstFrame: 11,
		Initiated: true, SynAck: true, SynAckRetx: 2, Anomalies: []event.Anomaly{{Kind: "synack-retrans", Frame: 14}}})
	_, above := b.run(t)
	f := above["accept-queue-overflow"]
	var frame int
	for _, e := range f.Evidence {
		if e.Ref.Frame > 0 {
			frame = e.Ref.Frame
		}
	}
	if frame != 14 || !strings.Contains(strings.Join(f.Sources, ","), "capture") {
		t.Errorf("capture evidence frame %d (want 14), sources %v", frame, f.Sources)
	}
}
