package analyzers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	fileMaxNearRatio = threshold("file-max-reached.near-ratio", 0.9,
		"allocated file handles / fs.file-max at or above which the system-wide file table is nearly full: open() and accept() fail with ENFILE at 1.0")
	fileMaxMinLines = threshold("file-max-reached.min-log-lines", 1,
		"'VFS: file-max limit N reached' kernel lines (or ENFILE, 'too many open files in system', application lines) that alone show the table filled")
)

// FileMaxReached finds hosts whose system-wide file table filled up.
var FileMaxReached = &Analyzer{
	Name: "file-max-reached",
	Doc: `system-wide file table full

Besides each process's own nofile limit (fd-exhaustion), the kernel caps
the open files of the whole system at fs.file-max. When every process
together reaches it, open(), socket() and accept() fail with ENFILE ("too
many open files in system") in every process, and the kernel prints "VFS:
file-max limit N reached".

Evidence: the kernel line, ENFILE lines in application logs, and
/proc/sys/fs/file-nr (allocated, unused, max; or the sysctl fs.file-nr)
against fs.file-max. A per-process EMFILE is not this: it is fd-exhaustion,
and this analyzer rules itself out with the system-wide numbers.

A kernel line or a table at its maximum is high, near it medium. Linked to
close-wait-leak when that is found. Needs a kernel log, or file-nr.`,
	Run: runFileMaxReached,
}

func runFileMaxReached(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		// Kernel lines are de-duplicated across dmesg, dmesg -T and the
		// journal; application ENFILE lines are each their own.
		logs := append(sigLogs(ev, host, "file-max"), Logs(ev, host, logSigs["enfile"]...)...)
		lines := countLogs(logs)
		use, ok := fileNr(ev, host)
		ratio := 0.0
		if ok && use.max > 0 {
			ratio = float64(use.alloc) / float64(use.max)
		}
		byLog := lines > 0 && float64(lines) >= p.Config.Get(fileMaxMinLines)
		near := ratio >= p.Config.Get(fileMaxNearRatio)
		if !byLog && !near {
			if ok && use.max > 0 {
				p.RuleOut(host, "the system has %d file handles allocated of fs.file-max %d (%.2f%%), and no log line reports the file table full", use.alloc, use.max, 100*ratio)
			}
			continue
		}
		f := Finding{Host: host, Title: "system-wide file table full", CausedBy: []string{"close-wait-leak"}}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "log file-max/ENFILE")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "the system-wide file table was full (ENFILE)")...)
			parts = append(parts, fmt.Sprintf("%d log line(s) report the system file table full", lines))
		}
		if ok && use.max > 0 {
			f.Evidence = append(f.Evidence, use.evidence(ev, fmt.Sprintf("%d file handles allocated of fs.file-max %d (%.0f%%)", use.alloc, use.max, 100*ratio)))
			if near {
				mech++
				f.Sources = append(f.Sources, "file-nr vs file-max")
			}
			parts = append(parts, fmt.Sprintf("%d of %d file handles allocated", use.alloc, use.max))
		} else {
			f.Missing = append(f.Missing, "no file-nr: could not count the system's open files (collect: cat /proc/sys/fs/file-nr)")
		}
		switch {
		case byLog, ratio >= 1:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || ratio >= 1, false)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". With the system's file table full every process's open(), socket() and accept() fail with ENFILE, whatever its own limit."
		f.Remediation = []string{
			"Immediate: find the process holding most files: for p in /proc/[0-9]*; do echo \"$(ls $p/fd 2>/dev/null | wc -l) $p\"; done | sort -rn | head; restart or fix it.",
			"Raise the cap if the load is legitimate: sysctl -w fs.file-max=N (and persist it); per-process limits (nofile) should stay well below it so that one leaking process cannot take the whole system down.",
		}
		p.Report(f)
	}
	return nil
}

// fileUse is the system's open files against fs.file-max.
type fileUse struct {
	alloc, max int64
	counter    *event.Counter // from a file-nr file
	sys        *event.Sysctl  // from the sysctl fs.file-nr
}

func (u fileUse) evidence(ev *event.Evidence, note string) Evidence {
	if u.counter != nil {
		return Evidence{Ref: u.counter.Ref, Time: u.counter.Time, Text: counterText(ev, *u.counter), Note: note}
	}
	return sysctlEvidence(*u.sys, note)
}

// fileNr reads the fullest file-nr of host: the file-nr gauges, else the
// sysctl fs.file-nr ("allocated unused max"); fs.file-max stands in for a
// missing max.
func fileNr(ev *event.Evidence, host string) (fileUse, bool) {
	var best fileUse
	ok := false
	consider := func(u fileUse) {
		if u.max <= 0 {
			if m, _, has := sysctlInt(ev, host, "fs.file-max"); has {
				u.max = m
			}
		}
		if !ok || (u.max > 0 && (best.max <= 0 || float64(u.alloc)/float64(u.max) > float64(best.alloc)/float64(best.max))) {
			best, ok = u, true
		}
	}
	sets := map[int]*fileUse{}
	for i := range ev.Counters {
		c := &ev.Counters[i]
		if c.Host != host || c.Group != "file-nr" {
			continue
		}
		u := sets[c.Snapshot]
		if u == nil {
			u = &fileUse{}
			sets[c.Snapshot] = u
		}
		switch c.Name {
		case "allocated":
			u.alloc, u.counter = c.Value, c
		case "max":
			u.max = c.Value
		}
	}
	keys := make([]int, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		if u := sets[k]; u.counter != nil {
			consider(*u)
		}
	}
	if s, has := Sysctl(ev, host, "fs.file-nr"); has {
		if v, good := sysctlInts(s); good && len(v) == 3 {
			s := s
			consider(fileUse{alloc: v[0], max: v[2], sys: &s})
		}
	}
	return best, ok
}
