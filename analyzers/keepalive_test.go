package analyzers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestKeepaliveMissing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   func() *appBundle
		want    bool
		check   func(t *testing.T, f Finding)
		ruleOut string
	}{
		{
			name: "leak without keepalive, sysctls cited",
			build: func() *appBundle {
				b := leakStory("ss -tanpoe", true)
				b.sysctl("sysctl.txt", "net.ipv4.tcp_keepalive_time", "7200")
				b.sysctl("sysctl.txt", "net.ipv4.tcp_keepalive_probes", "9")
				return b
			},
			want: true,
			check: func(t *testing.T, f Finding) {
				if f.Severity != Info || f.RootCause || len(f.CausedBy) != 0 {
					t.Errorf("severity %s root %v caused by %v: want plain info context", f.Severity, f.RootCause, f.CausedBy)
				}
				if !strings.Contains(f.Summary, "36 of the 36 leaked CLOSE_WAIT sockets") || !strings.Contains(f.Summary, "tcp_keepalive_time=7200") {
					t.Errorf("summary %s", f.Summary)
				}
				var texts []string
				for _, e := range f.Evidence {
					texts = append(texts, e.Text)
				}
				got := strings.Join(texts, "\n")
				for _, w := range []string{"CLOSE_WAIT 0 0 10.0.0.5:40010 10.1.0.1:9000", "ESTABLISHED 0 0", "net.ipv4.tcp_keepalive_time = 7200"} {
					if !strings.Contains(got, w) {
						t.Errorf("evidence lacks %q:\n%s", w, got)
					}
				}
			},
		},
		{
			name: "leaked sockets do have keepalive",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				for _, peer := range []string{"10.1.0.1", "10.1.0.2"} {
					for w := 0; w < 8; w++ {
						b.add(s, event.StateCloseWait, 0, 0, fmt.Sprintf("10.0.0.5:%d", 40000+w), peer+":9000", abOwner("svc", 100, 10+w), abTimer("keepalive"))
					}
				}
				return b
			},
			ruleOut: "16 of the 16 leaked CLOSE_WAIT sockets have a keepalive timer",
		},
		{
			name: "no leak, no keepalive finding",
			build: func() *appBundle {
				b := newAppBundle("h")
				s := b.snap("ss.txt", "ss", "ss -tanpoe", abT0)
				b.add(s, event.StateCloseWait, 0, 0, "10.0.0.5:40000", "10.1.0.1:9000", abOwner("svc", 100, 10))
				b.add(s, event.StateEstablished, 0, 0, "10.0.0.5:40001", "10.1.0.2:9000", abOwner("svc", 100, 11))
				return b
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			res := Run(Suite, &b.ev, nil)
			_, by := abAbove(res)
			f, got := by["keepalive-missing"]
			if got != tc.want {
				t.Fatalf("keepalive-missing reported %v, want %v", got, tc.want)
			}
			if got && tc.check != nil {
				tc.check(t, f)
			}
			if r := abRuledOut(res, "keepalive-missing"); !strings.Contains(r, tc.ruleOut) {
				t.Errorf("rule-out %q lacks %q", r, tc.ruleOut)
			}
		})
	}
}
