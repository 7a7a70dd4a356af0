package parsers

// Single /proc files about processes and the whole system:
// /proc/PID/status (a process's name, threads and fd table size),
// /proc/stat (only its btime line: the boot time that places dmesg's
// seconds since boot on the wall clock) and /proc/sys/fs/file-nr (the
// system-wide count of open file handles against file-max).
//
// procfs reads these only from a mounted /proc and stops at the first bad
// line, without line numbers; these small readers keep both.

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// --- /proc/PID/status ---------------------------------------------------

var procStatusParser = &Parser{
	Kind:    "proc-status",
	Title:   "/proc/PID/status: a process's name, pid, threads and FDSize",
	Command: "cat /proc/PID/status",
	Detect:  detectProcStatus,
	Parse:   parseProcStatus,
}

// detectProcStatus wants the kernel's first lines: "Name:\t..." then one of
// the keys that have followed it since 2.6 (Umask since 4.7, State before).
func detectProcStatus(head []byte) bool {
	lines := sysFirstLines(head, 2, "")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "Name:\t") {
		return false
	}
	k, _, _ := strings.Cut(lines[1], ":")
	return k == "Umask" || k == "State"
}

// parseProcStatus makes one Process per "Name:" line, so that several
// status files joined into one (cat /proc/*/status) all count. The record
// points at its Name line.
func parseProcStatus(in *Input, r io.Reader) {
	var cur *event.Process
	flush := func() {
		if cur != nil {
			in.Out.Processes = append(in.Out.Processes, *cur)
			cur = nil
		}
	}
	in.Lines(r, func(n int, line []byte) {
		s := string(line)
		if strings.TrimSpace(s) == "" {
			return
		}
		k, v, ok := strings.Cut(s, ":")
		if !ok {
			in.Errorf(n, "not a \"Key:\tvalue\" line")
			return
		}
		v = strings.TrimSpace(v)
		if k == "Name" {
			flush()
			cur = &event.Process{Meta: in.Meta(n), Text: strings.TrimSpace(s), Name: v, FDs: -1, FDSize: -1, Threads: -1}
			return
		}
		if cur == nil {
			if k == "Pid" || k == "Threads" || k == "FDSize" {
				in.Errorf(n, "%s line before any Name line", k)
			}
			return
		}
		var dst *int
		switch k {
		case "Pid":
			dst = &cur.PID
		case "Threads":
			dst = &cur.Threads
		case "FDSize":
			dst = &cur.FDSize
		default:
			return
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			in.Errorf(n, "%s %q is not a count", k, sysClip(v))
			return
		}
		*dst = i
	})
	flush()
}

// --- /proc/stat ---------------------------------------------------------

var procStatParser = &Parser{
	Kind:    "proc-stat",
	Title:   "/proc/stat: the boot time (btime line)",
	Command: "cat /proc/stat",
	Detect:  detectProcStat,
	Parse:   parseProcStat,
}

// detectProcStat wants the aggregate "cpu  user nice system ..." line that
// /proc/stat always starts with, and a per-cpu line or its numbers after it.
func detectProcStat(head []byte) bool {
	lines := sysFirstLines(head, 2, "")
	if len(lines) < 1 {
		return false
	}
	// A collector may keep only the btime line (grep btime /proc/stat).
	if b := strings.Fields(lines[0]); len(lines) == 1 && len(b) == 2 && b[0] == "btime" {
		_, err := strconv.ParseInt(b[1], 10, 64)
		return err == nil
	}
	f := strings.Fields(lines[0])
	if len(f) < 5 || f[0] != "cpu" {
		return false
	}
	for _, w := range f[1:5] {
		if _, err := strconv.ParseUint(w, 10, 64); err != nil {
			return false
		}
	}
	return len(lines) < 2 || strings.HasPrefix(lines[1], "cpu") || strings.HasPrefix(lines[1], "intr ")
}

// parseProcStat keeps the btime line, as a boot Clock. The other lines
// (cpu times, interrupts) say nothing netmortem uses and are not checked.
func parseProcStat(in *Input, r io.Reader) {
	in.Lines(r, func(n int, line []byte) {
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] != "btime" {
			return
		}
		if len(f) != 2 {
			in.Errorf(n, "btime line has %d fields, want 2", len(f))
			return
		}
		sec, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || sec <= 0 || sec > 1<<40 {
			in.Errorf(n, "btime %q is not seconds since the epoch", sysClip(f[1]))
			return
		}
		in.Out.Clocks = append(in.Out.Clocks, event.Clock{
			Meta: in.Meta(n), Kind: "boot", At: time.Unix(sec, 0).UTC(),
		})
	})
}

// --- /proc/sys/fs/file-nr -----------------------------------------------

// fileNrParser reads /proc/sys/fs/file-nr: "allocated\tunused\tmax". It is
// three bare numbers, like tcp_mem or tcp_rmem, so DetectFile picks it by
// path or command, never Detect. The values become gauges in group
// "file-nr": allocated, unused (always 0 since 2.6), max (= fs.file-max).
var fileNrParser = &Parser{
	Kind:    "file-nr",
	Title:   "/proc/sys/fs/file-nr: open file handles, system-wide (recognised by path or command)",
	Command: "cat /proc/sys/fs/file-nr",
	Detect:  func([]byte) bool { return false },
	Parse:   parseFileNr,
}

var fileNrNames = []string{"allocated", "unused", "max"}

func parseFileNr(in *Input, r io.Reader) {
	c := newSysCounters(in, "file-nr")
	seen := false
	in.Lines(r, func(n int, line []byte) {
		text := strings.TrimSpace(string(line))
		f := strings.Fields(text)
		if len(f) == 0 {
			return
		}
		if seen {
			in.Errorf(n, "file-nr has more than one line")
			return
		}
		seen = true
		if len(f) != 3 {
			in.Errorf(n, "file-nr has %d numbers, want 3 (allocated, unused, max)", len(f))
			return
		}
		for i, w := range f {
			v, err := sysValue(w)
			if err != nil {
				in.Errorf(n, "file-nr %s %q is not a number", fileNrNames[i], sysClip(w))
				continue
			}
			c.add(n, text, "file-nr", fileNrNames[i], v, false)
		}
	})
}
