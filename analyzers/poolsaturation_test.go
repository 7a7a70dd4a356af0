package analyzers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestParsePoolStat(t *testing.T) {
	for _, tc := range []struct {
		text                          string
		ok                            bool
		max, inUse, idle, wait, count int64
		full                          bool
	}{
		{"db pool: max_open=2 open=2 in_use=2 idle=0 wait_count=63 wait_duration=7.661s max_lifetime_closed=0", true, 2, 2, 0, -1, 63, true},
		{"db pool: max_open=20 open=3 in_use=1 idle=2 wait_count=0 wait_duration=0s max_lifetime_closed=0", true, 20, 1, 2, -1, 0, false},
		{"HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=5)", true, -1, 10, 0, 5, -1, true},
		{"HikariPool-1 - Pool stats (total=10, active=3, idle=7, waiting=0)", true, -1, 3, 7, 0, -1, false},
		{"ordersvc listening on :8080 (db 127.0.0.1:5432, pool max_open=2 max_idle=2)", false, 0, 0, 0, 0, 0, false},
		{"worker active=10 idle=0", false, 0, 0, 0, 0, 0, false}, // no pool named
		{"pool: in_use=3.5 idle=x", false, 0, 0, 0, 0, 0, false},
	} {
		st, ok := parsePoolStat(event.LogEvent{Text: tc.text})
		if ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.text, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		got := []int64{st.max, st.inUse, st.idle, st.waiting, st.waitCount}
		if want := []int64{tc.max, tc.inUse, tc.idle, tc.wait, tc.count}; !reflect.DeepEqual(got, want) {
			t.Errorf("%q: max/inuse/idle/waiting/count %v, want %v", tc.text, got, want)
		}
		if st.full() != tc.full {
			t.Errorf("%q: full %v, want %v", tc.text, st.full(), tc.full)
		}
	}
}

func TestRequestDuration(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
		ok   bool
	}{
		{`10.200.2.10:54168 "GET /api/order?id=1 HTTP/1.1" 200 0.251s`, 251 * time.Millisecond, true},
		{`GET /x 503 35ms`, 35 * time.Millisecond, true},
		{`db pool: wait_duration=7.661s`, 0, false}, // no status: not a request line
		{`retrying in 5ms`, 0, false},
	} {
		got, ok := requestDuration(event.LogEvent{Text: tc.text})
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v, want %v %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

// poolStory is story 002 in the lab's words: a Go service whose DB pool
// (max_open=2) is full with a growing wait count, requests slowing from
// 0.25 s to 2 s, and a gateway on another host timing out on it.
func poolStory(withClient bool) *appBundle {
	b := newAppBundle("server")
	s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0.Add(10*time.Second))
	b.add(s, event.StateListen, 10, 128, "*:8080", "*:*", abOwner("ordersvc", 18456, 6))
	for k := 0; k < 12; k++ {
		b.add(s, event.StateCloseWait, 0, 0, "10.200.1.10:8080", fmt.Sprintf("10.200.2.10:%d", 49000+k), abOwner("ordersvc", 18456, 20+k))
	}
	at := abT0
	for i := 0; i < 12; i++ {
		d := 0.25 + 0.15*float64(i)
		b.log("ordersvc.log", "", fmt.Sprintf(`10.200.2.10:%d "GET /api/order?id=%d HTTP/1.1" 200 %.3fs`, 54000+i, i, d), at)
		at = at.Add(250 * time.Millisecond)
		if i%4 == 3 {
			b.log("ordersvc.log", "", fmt.Sprintf("db pool: max_open=2 open=2 in_use=2 idle=0 wait_count=%d wait_duration=%dms max_lifetime_closed=0", 30*i, 700*i), at)
		}
	}
	b.log("ordersvc.log", "emfile", "http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 5ms", at)
	if withClient {
		c := newAppBundle("client")
		for i := 0; i < 5; i++ {
			c.log("gateway.log", "timeout", fmt.Sprintf(`request %d: Get "http://10.200.1.10:8080/api/order?id=%d": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, i, i), abT0.Add(time.Duration(i)*time.Second))
		}
		c.log("gateway.log", "timeout", `request 9: Get "http://10.200.1.100:8080/x": context deadline exceeded`, abT0)
		b.merge(c)
	}
	return b
}

func TestPoolSaturation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   func() *appBundle
		want    []string
		check   func(t *testing.T, f Finding)
		ruleOut string
	}{
		{
			name:  "story 002: pool statistics, latency, client timeouts, held CLOSE_WAIT",
			build: func() *appBundle { return poolStory(true) },
			want:  []string{"fd-exhaustion", "pool-saturation"},
			check: func(t *testing.T, f Finding) {
				if f.Host != "server" || f.Severity != High || f.Confidence != HighConfidence || !f.RootCause {
					t.Errorf("host %s severity %s confidence %s root %v, want server high high root", f.Host, f.Severity, f.Confidence, f.RootCause)
				}
				for _, w := range []string{"2 of 3 pool statistics lines", "(2 of 2 in use)", "wait count rose from 90 to 330", "clients on client timed out 5 times", "12 handlers still hold"} {
					if !strings.Contains(f.Summary, w) {
						t.Errorf("summary lacks %q: %s", w, f.Summary)
					}
				}
				if !strings.Contains(f.Summary, "early and ") {
					t.Errorf("summary lacks the latency growth: %s", f.Summary)
				}
			},
		},
		{
			name:  "no client log: still found, Missing says so",
			build: func() *appBundle { return poolStory(false) },
			want:  []string{"fd-exhaustion", "pool-saturation"},
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(strings.Join(f.Missing, "\n"), "no timeout in any log") {
					t.Errorf("missing %q", f.Missing)
				}
			},
		},
		{
			name: "pool-exhausted lines alone: medium, low confidence",
			build: func() *appBundle {
				b := newAppBundle("h")
				b.log("app.log", "pool-exhausted", "HikariPool-1 - Connection is not available, request timed out after 30000ms.", abT0)
				return b
			},
			want: []string{"pool-saturation"},
			check: func(t *testing.T, f Finding) {
				if f.Severity != Medium || f.Confidence != LowConfidence {
					t.Errorf("severity %s confidence %s, want medium low", f.Severity, f.Confidence)
				}
			},
		},
		{
			name: "timeouts only: the resource is not named",
			build: func() *appBundle {
				b := newAppBundle("h")
				for i := 0; i < 4; i++ {
					b.log("app.log", "timeout", "dial tcp 10.0.0.9:5432: i/o timeout", abT0.Add(time.Duration(i)*time.Second))
				}
				return b
			},
			ruleOut: "4 timeout lines, but no log line says a connection pool ran dry",
		},
		{
			name: "pool statistics with room to spare",
			build: func() *appBundle {
				b := newAppBundle("h")
				for i := 0; i < 4; i++ {
					b.log("app.log", "", fmt.Sprintf("HikariPool-1 - Pool stats (total=10, active=%d, idle=%d, waiting=0)", 3+i, 7-i), abT0.Add(time.Duration(i)*time.Second))
				}
				return b
			},
			ruleOut: "4 pool statistics lines, none with every connection in use",
		},
		{
			name: "one saturated sample is a peak, not saturation",
			build: func() *appBundle {
				b := newAppBundle("h")
				b.log("app.log", "", "HikariPool-1 - Pool stats (total=10, active=3, idle=7, waiting=0)", abT0)
				b.log("app.log", "", "HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=2)", abT0.Add(time.Second))
				b.log("app.log", "", "HikariPool-1 - Pool stats (total=10, active=4, idle=6, waiting=0)", abT0.Add(2*time.Second))
				return b
			},
			ruleOut: "none with every connection in use",
		},
		{
			name: "healthy: an access log with steady latency",
			build: func() *appBundle {
				b := newAppBundle("h")
				for i := 0; i < 30; i++ {
					b.log("access.log", "", fmt.Sprintf(`10.0.0.%d "GET / HTTP/1.1" 200 0.0%ds`, i%9+1, i%3+1), abT0.Add(time.Duration(i)*time.Second))
				}
				return b
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
					t.Logf("%s %s on %s: %s", f.ID, f.Severity, f.Host, f.Summary)
				}
			}
			if f, ok := by["pool-saturation"]; ok && tc.check != nil {
				tc.check(t, f)
			}
			if tc.ruleOut != "" {
				if r := abRuledOut(res, "pool-saturation"); !strings.Contains(r, tc.ruleOut) {
					t.Errorf("rule-out %q lacks %q", r, tc.ruleOut)
				}
			}
			if tc.ruleOut == "" && tc.want == nil {
				if r := abRuledOut(res, "pool-saturation"); r != "" {
					t.Errorf("healthy bundle should not even rule out: %q", r)
				}
			}
		})
	}
}

// TestPoolSaturationChain: in story 002 fd-exhaustion is caused by the pool,
// and the CLOSE_WAIT it leaves is not called a leak.
func TestPoolSaturationChain(t *testing.T) {
	b := poolStory(true)
	res := Run(Suite, &b.ev, nil)
	_, by := abAbove(res)
	if fd := by["fd-exhaustion"]; fd.RootCause || !reflect.DeepEqual(fd.CausedBy, []string{"pool-saturation"}) {
		t.Errorf("fd-exhaustion root %v caused by %v, want caused by pool-saturation", fd.RootCause, fd.CausedBy)
	}
	if _, ok := by["close-wait-leak"]; ok {
		t.Errorf("close-wait-leak reported for handlers waiting on the pool")
	}
	if r := abRuledOut(res, "close-wait-leak"); !strings.Contains(r, "pool-saturation") {
		t.Errorf("close-wait-leak rule-out %q should name pool-saturation", r)
	}
}
