package analyzers

import (
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestFileMaxReached(t *testing.T) {
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		summary  string
		ruledOut string
	}{
		{
			name: "kernel line and file-nr at file-max",
			build: func(b *kb) {
				b.log("dmesg.txt", "file-max-reached", "[ 77.0] VFS: file-max limit 65536 reached", kbT0, 5)
				b.counters("file-nr.txt", "file-nr", kbT0, map[string]int64{"file-nr allocated": 65536, "file-nr unused": 0, "file-nr max": 65536})
			},
			want:    map[string]Severity{"file-max-reached": High},
			summary: "65536 of 65536 file handles allocated",
		},
		{
			name: "ENFILE in an application log",
			build: func(b *kb) {
				b.log("app.log", "enfile", "open /var/lib/x: too many open files in system", kbT0, 1)
			},
			want:    map[string]Severity{"file-max-reached": High},
			summary: "1 log line(s) report the system file table full",
		},
		{
			name: "sysctl fs.file-nr near fs.file-max",
			build: func(b *kb) {
				b.sysctl("fs.file-nr", "95000 0 100000")
				b.sysctl("fs.file-max", "100000")
			},
			want:    map[string]Severity{"file-max-reached": Medium},
			summary: "95000 of 100000",
		},
		{
			name: "healthy: per-process EMFILE is not system-wide",
			build: func(b *kb) {
				b.counters("file-nr.txt", "file-nr", kbT0, map[string]int64{"file-nr allocated": 586, "file-nr unused": 0, "file-nr max": 2470938})
				b.log("app.log", "emfile", "accept4: too many open files", kbT0, 1)
				b.ev.Processes = append(b.ev.Processes, event.Process{Meta: b.meta("fd.txt", kbT0), PID: 7, Name: "svc", FDs: 64, FDSize: -1, Threads: -1})
				b.ev.Limits = append(b.ev.Limits, event.Limit{Meta: b.meta("limits.txt", kbT0), Resource: "nofile", Soft: 64, Hard: 64, PID: 7, Scope: "process"})
			},
			want:     map[string]Severity{"fd-exhaustion": Critical},
			ruledOut: "the system has 586 file handles allocated of fs.file-max 2470938 (0.02%)",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if _, ok := c.want["file-max-reached"]; !ok {
				if got := kbRuledOut(res, "file-max-reached"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			if f := above["file-max-reached"]; !strings.Contains(f.Summary, c.summary) {
				t.Errorf("summary %q does not say %q", f.Summary, c.summary)
			}
		})
	}
}
