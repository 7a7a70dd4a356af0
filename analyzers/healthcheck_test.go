package analyzers

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// hcStory is story 000 as lsof showed it: a Thrift TThreadPoolServer with 10
// workers on :9455, 11 ESTABLISHED connections all from the Alibaba health
// checker's range, clients' connections in CLOSE_WAIT, the log full of
// resets.
func hcStory(threads int) *appBundle {
	b := newAppBundle("thrift")
	s := b.snap("lsof.txt", "lsof", "lsof -i -P", abT0)
	b.add(s, event.StateListen, 0, 0, "*:9455", "*:*", abOwner("python", 28719, 4))
	hc := []string{"100.109.225.0:45587", "100.109.221.128:23814", "100.109.224.0:17384", "100.109.225.0:23881", "100.109.225.128:19752",
		"100.109.220.128:14370", "100.109.224.128:24267", "100.109.220.0:8860", "100.109.221.0:42186", "100.109.224.0:3487", "100.109.220.0:37454"}
	for i, r := range hc {
		b.add(s, event.StateEstablished, 0, 0, "10.171.20.131:9455", r, abOwner("python", 28719, 5+i))
	}
	for i, r := range []string{"10.44.155.227:24038", "10.172.224.17:35876", "10.172.142.166:52953", "10.44.155.227:52921", "10.44.191.118:7070", "10.170.210.248:39802"} {
		b.add(s, event.StateCloseWait, 0, 0, "10.171.20.131:9455", r, abOwner("python", 28719, 827+i))
	}
	b.process("status.txt", 28719, "python", 30, threads)
	for i := 0; i < 3; i++ {
		b.log("thrift.log", "conn-reset", "socket.error: [Errno 104] Connection reset by peer", abT0.Add(time.Duration(2*i)*time.Second))
	}
	return b
}

// hcCaptured is the lab's version with queues and a capture: ss shows the
// accept queue and the clients' unread requests; the capture shows the
// checker's connect-then-RST every 2 s from two nodes, two checks that never
// closed, and client requests with no answer.
func hcCaptured() *appBundle {
	b := newAppBundle("srv")
	for i := 0; i < 2; i++ {
		s := b.snap(fmt.Sprintf("ss.%d.txt", i+1), "ss", "ss -tanpoe", abT0.Add(time.Duration(10*i)*time.Second))
		b.add(s, event.StateListen, int64(3+2*i), 128, "*:9090", "*:*", abOwner("server.py", 50, 3))
		for w := 0; w < 10; w++ {
			b.add(s, event.StateEstablished, 0, 0, "10.200.1.10:9090", fmt.Sprintf("100.64.0.%d:%d", 2+w%2, 40000+w), abOwner("server.py", 50, 4+w), abInfo("lastrcv", "60000"))
		}
		for c := 0; c < 4+4*i; c++ {
			b.add(s, event.StateCloseWait, 22, 0, "10.200.1.10:9090", fmt.Sprintf("10.200.2.10:%d", 50000+c), abOwner("server.py", 50, 20+c))
		}
	}
	b.process("status.txt", 50, "server.py", 40, 11)
	for i := 0; i < 6; i++ {
		src := fmt.Sprintf("100.64.0.%d:%d", 2+i%2, 41000+i)
		start := abT0.Add(time.Duration(i/2)*2*time.Second + time.Duration(i%2)*300*time.Millisecond)
		b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: 1 + 4*i}, Time: start, Host: "srv"},
			Src: abEndpoint(src), Dst: abEndpoint("10.200.1.10:9090"), Start: start, FirstFrame: 1 + 4*i, Initiated: true, SynAck: true, Established: true,
			RstSrc: 4 + 4*i, Anomalies: []event.Anomaly{{Kind: "connect-then-rst", Frame: 4 + 4*i}}})
	}
	b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: 40}, Time: abT0, Host: "srv"},
		Src: abEndpoint("10.200.2.10:50001"), Dst: abEndpoint("10.200.1.10:9090"), Start: abT0, FirstFrame: 40, Established: true, BytesSrc: 22,
		Anomalies: []event.Anomaly{{Kind: "no-response", Frame: 43}}})
	return b
}

func TestHealthcheckStarvation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   func() *appBundle
		cidrs   []string
		want    []string
		check   func(t *testing.T, f Finding)
		ruleOut string
	}{
		{
			name:  "story 000 from lsof: 11 checks, 11 threads",
			build: func() *appBundle { return hcStory(11) },
			want:  []string{"healthcheck-starvation"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != High || !f.RootCause {
					t.Errorf("severity %s root %v, want high root", f.Severity, f.RootCause)
				}
				for _, w := range []string{"11 of the 11 ESTABLISHED connections on port 9455", "100.64.0.0/10", "6 client connections in CLOSE_WAIT", "runs 11 threads", "symptom, not the cause"} {
					if !strings.Contains(f.Summary, w) {
						t.Errorf("summary lacks %q: %s", w, f.Summary)
					}
				}
				if f.Confidence != HighConfidence {
					t.Errorf("confidence %s (sources %v), want high", f.Confidence, f.Sources)
				}
				if f.Evidence[0].Text != "10.171.20.131:9455->100.109.225.0:45587 (ESTABLISHED)" {
					t.Errorf("first excerpt %q", f.Evidence[0].Text)
				}
				if !strings.Contains(strings.Join(f.Missing, "\n"), "no capture in bundle") {
					t.Errorf("missing lacks the capture: %q", f.Missing)
				}
			},
		},
		{
			name:  "thread count far off and one snapshot: medium",
			build: func() *appBundle { return hcStory(64) },
			want:  []string{"healthcheck-starvation"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != Medium {
					t.Errorf("severity %s, want medium without a pool size", f.Severity)
				}
			},
		},
		{
			name:  "queues, plateau and capture",
			build: hcCaptured,
			want:  []string{"healthcheck-starvation"},
			check: func(t *testing.T, f Finding) {
				for _, w := range []string{"8 client connections in CLOSE_WAIT never read", "accept queue (LISTEN Recv-Q 5 of 128)", "plateau across 2 snapshots (10 → 10)", "one every 2.0s", "1 client request in the capture got no answer"} {
					if !strings.Contains(f.Summary, w) {
						t.Errorf("summary lacks %q: %s", w, f.Summary)
					}
				}
				var frames []int
				for _, e := range f.Evidence {
					if e.Ref.Frame > 0 {
						frames = append(frames, e.Ref.Frame)
					}
				}
				if !reflect.DeepEqual(frames, []int{4, 43}) {
					t.Errorf("cited frames %v, want the first RST (4) and the unanswered request (43)", frames)
				}
				if f.Confidence != HighConfidence {
					t.Errorf("confidence %s", f.Confidence)
				}
			},
		},
		{
			name: "health checks present, nobody waiting",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 0, 128, "*:80", "*:*", abOwner("nginx", 7, 3))
				for w := 0; w < 4; w++ {
					b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:80", fmt.Sprintf("35.191.0.%d:5000", w+1), abOwner("nginx", 7, 4+w))
				}
				return b
			},
			ruleOut: "no client is waiting",
		},
		{
			name: "clients wait, no health checker: someone else's problem",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 9, 128, "*:8080", "*:*", abOwner("svc", 7, 3))
				for w := 0; w < 4; w++ {
					b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:8080", fmt.Sprintf("10.9.0.%d:5000", w+1), abOwner("svc", 7, 4+w))
				}
				return b
			},
			ruleOut: "only 0 of its 4 ESTABLISHED connections come from health-check ranges",
		},
		{
			name: "a checker range given with --healthcheck-cidr",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 4, 128, "*:8080", "*:*", abOwner("svc", 7, 3))
				for w := 0; w < 8; w++ {
					b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:8080", fmt.Sprintf("10.250.0.%d:5000", w+1), abOwner("svc", 7, 4+w))
				}
				b.process("status.txt", 7, "svc", 20, 9)
				return b
			},
			cidrs: []string{"10.250.0.0/24"},
			want:  []string{"healthcheck-starvation"},
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Evidence[0].Note, "--healthcheck-cidr 10.250.0.0/24") {
					t.Errorf("note should name the user's range: %q", f.Evidence[0].Note)
				}
			},
		},
		{
			name: "the same without the flag: ruled out",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 4, 128, "*:8080", "*:*", abOwner("svc", 7, 3))
				for w := 0; w < 8; w++ {
					b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:8080", fmt.Sprintf("10.250.0.%d:5000", w+1), abOwner("svc", 7, 4+w))
				}
				return b
			},
			ruleOut: "add others with --healthcheck-cidr",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			cfg := DefaultConfig()
			for _, c := range tc.cidrs {
				cfg.HealthcheckCIDRs = append(cfg.HealthcheckCIDRs, netip.MustParsePrefix(c))
			}
			res := Run(Suite, &b.ev, cfg)
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %v", res.Errors)
			}
			ids, by := abAbove(res)
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("findings above info %v, want %v", ids, tc.want)
				for _, f := range res.Findings {
					t.Logf("%s %s: %s", f.ID, f.Severity, f.Summary)
				}
			}
			if f, ok := by["healthcheck-starvation"]; ok && tc.check != nil {
				tc.check(t, f)
			}
			if tc.ruleOut != "" {
				if r := abRuledOut(res, "healthcheck-starvation"); !strings.Contains(r, tc.ruleOut) {
					t.Errorf("rule-out %q lacks %q", r, tc.ruleOut)
				}
			}
		})
	}
}

func TestHealthcheckCatalogue(t *testing.T) {
	cat := hcCatalogue(DefaultConfig())
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"100.109.225.0", true}, // story 000's checker
		{"100.64.0.1", true},
		{"100.128.0.1", false}, // just past 100.64.0.0/10
		{"35.191.3.4", true},
		{"130.211.3.255", true},
		{"130.211.4.0", false},
		{"168.63.129.16", true},
		{"168.63.129.17", false},
		{"::ffff:100.100.1.1", true}, // IPv4-mapped, as ss prints dual-stack sockets
		{"10.0.0.1", false},
	} {
		_, got := hcMatch(cat, netip.MustParseAddr(tc.ip))
		if got != tc.want {
			t.Errorf("hcMatch(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestRegularInterval(t *testing.T) {
	at := func(secs ...float64) []time.Time {
		var ts []time.Time
		for _, s := range secs {
			ts = append(ts, abT0.Add(time.Duration(s*float64(time.Second))))
		}
		return ts
	}
	for _, tc := range []struct {
		name string
		ts   []time.Time
		want float64
		ok   bool
	}{
		{"every 2 s", at(0, 2, 4.02, 6, 8), 2, true},
		{"too few", at(0, 2), 0, false},
		{"irregular", at(0, 0.1, 5, 5.2, 11), 0, false},
	} {
		got, ok := regularInterval(tc.ts, 0.25)
		if ok != tc.ok || (ok && (got < tc.want-0.05 || got > tc.want+0.05)) {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
