package analyzers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// leakStory is story 001: a client with a pool of 12 workers, each holding
// one connection to every backend instance; three instances were replaced
// and their 12 connections each sit in CLOSE_WAIT, one live instance.
func leakStory(cmd string, withTimers bool) *appBundle {
	b := newAppBundle("client")
	s := b.snap("ss.txt", "ss", cmd, abT0)
	fd := 10
	for _, peer := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"} {
		for w := 0; w < 12; w++ {
			b.add(s, event.StateCloseWait, 0, 0, fmt.Sprintf("10.0.0.5:%d", 40000+fd), peer+":9000", abOwner("svc", 100, fd))
			fd++
		}
	}
	for w := 0; w < 12; w++ {
		opts := []abSockOpt{abOwner("svc", 100, fd)}
		if withTimers {
			opts = append(opts, abTimer("on"))
		}
		b.add(s, event.StateEstablished, 0, 0, fmt.Sprintf("10.0.0.5:%d", 40000+fd), "10.1.0.9:9000", opts...)
		fd++
	}
	b.process("status.txt", 100, "svc", 60, 14)
	b.nofile("limits.txt", 100, 1024)
	return b
}

// growingLeak is the same leak seen over three hourly snapshots: 20 more
// CLOSE_WAIT sockets to one live peer each hour, none ever closed.
func growingLeak(fds int) *appBundle {
	b := newAppBundle("api")
	for i := 0; i < 3; i++ {
		s := b.snap(fmt.Sprintf("ss.%d.txt", i+1), "ss", "ss -tanpoe", abT0.Add(time.Duration(i)*time.Hour))
		b.add(s, event.StateListen, 0, 128, "*:8080", "*:*", abOwner("api", 200, 3))
		for k := 0; k < 20*(i+1); k++ {
			b.add(s, event.StateCloseWait, 0, 0, "10.0.0.7:8080", fmt.Sprintf("10.2.0.1:%d", 30000+k), abOwner("api", 200, 10+k))
		}
		b.add(s, event.StateEstablished, 0, 0, "10.0.0.7:8080", "10.2.0.1:29999", abOwner("api", 200, 9), abTimer("keepalive"))
	}
	b.process("fd.txt", 200, "api", fds, 8)
	b.nofile("limits.txt", 200, 1024)
	return b
}

// churning is story 002's CLOSE_WAIT: handlers blocked for seconds, so
// between snapshots 3 s apart most CLOSE_WAIT sockets are replaced.
func churning() *appBundle {
	b := newAppBundle("server")
	for i := 0; i < 2; i++ {
		s := b.snap(fmt.Sprintf("ss.%d.txt", i+1), "ss", "ss -tanpoe", abT0.Add(time.Duration(3*i)*time.Second))
		b.add(s, event.StateListen, 0, 128, "*:8080", "*:*", abOwner("ordersvc", 300, 3))
		for k := 0; k < 20; k++ {
			port := 50000 + k
			if k >= 5 {
				port += 1000 * i // 15 of 20 replaced
			}
			b.add(s, event.StateCloseWait, 0, 0, "10.200.1.10:8080", fmt.Sprintf("10.200.2.10:%d", port), abOwner("ordersvc", 300, 10+k), abTimer("keepalive"))
		}
		b.add(s, event.StateEstablished, 0, 0, "10.200.1.10:8080", "10.200.2.10:49999", abOwner("ordersvc", 300, 9), abTimer("keepalive"))
	}
	return b
}

func TestCloseWaitLeak(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   func() *appBundle
		want    []string // ids above info
		info    []string // info ids that must be there
		check   func(t *testing.T, f Finding)
		ruleOut string // a word the rule-out reason must hold
	}{
		{
			name:  "story 001: pool size per departed peer",
			build: func() *appBundle { return leakStory("ss -tanpoe", false) },
			want:  []string{"close-wait-leak"},
			info:  []string{"keepalive-missing"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != Medium || !f.RootCause {
					t.Errorf("severity %s root %v, want medium root", f.Severity, f.RootCause)
				}
				for _, w := range []string{"3 peers hold exactly 12", "pool of 12", "3 peers (36 sockets) no longer appear", "svc (pid 100)", "none has a keepalive timer"} {
					if !strings.Contains(f.Summary, w) {
						t.Errorf("summary lacks %q: %s", w, f.Summary)
					}
				}
				if f.Confidence != HighConfidence {
					t.Errorf("confidence %s, want high (groups, departed peers, no keepalive, fd vs limit)", f.Confidence)
				}
				if !strings.Contains(strings.Join(f.Missing, "\n"), "only one socket snapshot") {
					t.Errorf("missing should name the single snapshot: %q", f.Missing)
				}
			},
		},
		{
			name:  "timers not collected: no keepalive finding, said in Missing",
			build: func() *appBundle { return leakStory("ss -tanp", false) },
			want:  []string{"close-wait-leak"},
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(strings.Join(f.Missing, "\n"), "timers not collected") {
					t.Errorf("missing should say timers were not collected: %q", f.Missing)
				}
			},
		},
		{
			name:  "accumulating over hours: rate and projection, fd-exhaustion follows",
			build: func() *appBundle { return growingLeak(1000) },
			want:  []string{"close-wait-leak", "fd-exhaustion"},
			info:  []string{"keepalive-missing"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != High || !f.RootCause {
					t.Errorf("severity %s root %v, want high root", f.Severity, f.RootCause)
				}
				for _, w := range []string{"20 → 40 → 60", "20.0 per hour", "100% of the earliest ones never left", "reaches the limit in 1.2h"} {
					if !strings.Contains(f.Summary, w) {
						t.Errorf("summary lacks %q: %s", w, f.Summary)
					}
				}
			},
		},
		{
			name:  "accumulating far from the limit: medium",
			build: func() *appBundle { return growingLeak(80) },
			want:  []string{"close-wait-leak"},
			info:  []string{"keepalive-missing"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != Medium {
					t.Errorf("severity %s, want medium (47h to the limit)", f.Severity)
				}
			},
		},
		{
			name: "none in the first snapshot, then a rise that stays",
			build: func() *appBundle {
				b := newAppBundle("h")
				for i := 0; i < 3; i++ {
					s := b.snap(fmt.Sprintf("ss.%d.txt", i+1), "ss", "ss -tanpoe", abT0.Add(time.Duration(i)*time.Hour))
					for k := 0; k < 15*i; k++ {
						b.add(s, event.StateCloseWait, 0, 0, fmt.Sprintf("10.0.0.5:%d", 40000+k), "10.4.0.1:5432", abOwner("svc", 5, 10+k), abTimer("keepalive"))
					}
					b.add(s, event.StateEstablished, 0, 0, "10.0.0.5:39999", "10.4.0.1:5432", abOwner("svc", 5, 9), abTimer("keepalive"))
				}
				return b
			},
			want: []string{"close-wait-leak"},
			check: func(t *testing.T, f Finding) {
				for _, w := range []string{"0 → 15 → 30", "already in CLOSE_WAIT in ss.2.txt"} {
					if !strings.Contains(f.Summary+f.Evidence[0].Note, w) {
						t.Errorf("summary or first note lacks %q: %s / %s", w, f.Summary, f.Evidence[0].Note)
					}
				}
			},
		},
		{
			name:    "churning sockets: closed late, not leaked",
			build:   churning,
			ruleOut: "only 5 (25%) were still there",
		},
		{
			name: "unread data: a stuck worker, not a leak",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				for k := 0; k < 15; k++ {
					b.add(s, event.StateCloseWait, 133, 0, "10.0.0.1:9455", fmt.Sprintf("10.3.0.%d:4000", k+1), abOwner("py", 9, 20+k))
				}
				return b
			},
			ruleOut: "15 still hold unread data",
		},
		{
			name: "never accepted: accept queue",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 0, 128, "*:80", "*:*", abOwner("web", 9, 3))
				for k := 0; k < 12; k++ {
					b.add(s, event.StateCloseWait, 0, 0, "10.0.0.1:80", fmt.Sprintf("10.3.0.%d:4000", k+1))
				}
				return b
			},
			ruleOut: "12 were never accepted",
		},
		{
			name: "healthy: two CLOSE_WAIT in flight",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateCloseWait, 0, 0, "10.0.0.1:80", "10.3.0.1:4000", abOwner("web", 9, 5))
				b.add(s, event.StateCloseWait, 0, 0, "10.0.0.1:80", "10.3.0.2:4000", abOwner("web", 9, 6))
				b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:80", "10.3.0.1:4001", abOwner("web", 9, 7))
				return b
			},
			ruleOut: "only 2 CLOSE_WAIT sockets",
		},
		{
			name: "one snapshot, live peer, no groups: not enough",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				for k := 0; k < 30; k++ {
					b.add(s, event.StateCloseWait, 0, 0, "10.0.0.1:80", fmt.Sprintf("10.3.0.1:%d", 4000+k), abOwner("web", 9, 5+k))
				}
				b.add(s, event.StateEstablished, 0, 0, "10.0.0.1:80", "10.3.0.1:3999", abOwner("web", 9, 4))
				return b
			},
			ruleOut: "one snapshot only",
		},
		{
			name: "pool saturation explains the CLOSE_WAIT on its listener",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateListen, 0, 128, "*:80", "*:*", abOwner("web", 9, 3))
				for k := 0; k < 30; k++ {
					b.add(s, event.StateCloseWait, 0, 0, "10.0.0.1:80", fmt.Sprintf("10.3.0.1:%d", 4000+k), abOwner("web", 9, 5+k))
				}
				b.log("app.log", "pool-exhausted", "HikariPool-1 - Connection is not available, request timed out after 30000ms.", abT0)
				return b
			},
			want:    []string{"pool-saturation"},
			ruleOut: "(pool-saturation)",
		},
		{
			name: "lsof only: departed peers at one count, queues unknown",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("lsof.txt", "lsof", "lsof -i -P -n", abT0)
				fd := 10
				for _, peer := range []string{"10.1.0.1", "10.1.0.2"} {
					for w := 0; w < 6; w++ {
						b.add(s, event.StateCloseWait, 0, 0, fmt.Sprintf("10.0.0.5:%d", 40000+fd), peer+":9000", abOwner("svc", 100, fd))
						fd++
					}
				}
				return b
			},
			want: []string{"close-wait-leak"},
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Summary, "lsof prints no queues") {
					t.Errorf("summary should say queues are unknown: %s", f.Summary)
				}
				if f.Evidence[0].Text != "10.0.0.5:40010->10.1.0.1:9000 (CLOSE_WAIT)" {
					t.Errorf("lsof excerpt %q", f.Evidence[0].Text)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			res := Run(Suite, &b.ev, nil)
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
			for _, id := range tc.info {
				if f, ok := by[id]; !ok || f.Severity != Info {
					t.Errorf("want %s at info, got %+v", id, f)
				}
			}
			if tc.info == nil {
				if _, ok := by["keepalive-missing"]; ok {
					t.Errorf("unexpected keepalive-missing")
				}
			}
			if f, ok := by["close-wait-leak"]; ok && tc.check != nil {
				tc.check(t, f)
			}
			if tc.ruleOut != "" {
				if r := abRuledOut(res, "close-wait-leak"); !strings.Contains(r, tc.ruleOut) {
					t.Errorf("rule-out %q lacks %q", r, tc.ruleOut)
				}
			}
		})
	}
}

// TestCloseWaitLeakChain: fd-exhaustion names the leak as its cause.
func TestCloseWaitLeakChain(t *testing.T) {
	b := growingLeak(1010)
	res := Run(Suite, &b.ev, nil)
	_, by := abAbove(res)
	fd, ok := by["fd-exhaustion"]
	if !ok {
		t.Fatal("no fd-exhaustion")
	}
	if fd.RootCause || !reflect.DeepEqual(fd.CausedBy, []string{"close-wait-leak"}) {
		t.Errorf("fd-exhaustion root %v caused by %v, want caused by close-wait-leak", fd.RootCause, fd.CausedBy)
	}
	if k := by["keepalive-missing"]; k.RootCause {
		t.Errorf("keepalive-missing is info context, never a root")
	}
}
