package parsers

import (
	"bytes"
	"io"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// fdListParser reads `ls -l /proc/PID/fd` (and `ls -l /proc/*/fd`, whose
// sections start with "/proc/PID/fd:"): one Process per listing with its
// open descriptors counted. The PID comes from the section line, else from
// the collection header's command; 0 when neither says.
//
//	total 0
//	lrwx------ 1 root root 64 Nov 21 21:59 3 -> socket:[12370]
var fdListParser = &Parser{
	Kind:    "fd-list",
	Title:   "open descriptors of a process (ls -l /proc/PID/fd)",
	Command: "ls -l /proc/PID/fd",
	Detect:  detectFDList,
	Parse:   parseFDList,
}

// fdCountParser reads what `ls /proc/PID/fd | wc -l` prints: a bare number
// (or `ls /proc/PID/fd`'s bare list of descriptor numbers). Nothing in
// such a file says what it counts, so it is never detected by content
// (Detect says no): detectFDCountFile accepts it only when the collection
// header's command lists a /proc/PID/fd directory.
var fdCountParser = &Parser{
	Kind:    "fd-count",
	Title:   "open descriptor count (ls /proc/PID/fd | wc -l)",
	Command: "ls /proc/PID/fd | wc -l",
	Detect:  func([]byte) bool { return false },
	Parse:   parseFDCount,
}

// detectFDCountFile is the header-aware detection of fdCountParser, for
// the bundle walker's path- and header-aware detection: the command must
// list /proc/PID/fd with ls, and the body must hold only numbers.
func detectFDCountFile(h Header, head []byte) *Parser {
	if _, ok := fdCommand(h.Command); !ok {
		return nil
	}
	body := bytes.TrimSpace(head)
	if len(body) == 0 || len(head) >= DetectBytes {
		return nil
	}
	for _, f := range bytes.Fields(body) {
		if !isDigits(f) {
			return nil
		}
	}
	return fdCountParser
}

// fdCommand reads an `ls [-opts] /proc/PID/fd [| wc -l]` command: how many
// lines wc counts that are not descriptors (the "total" line of -l, the .
// and .. of -a), and whether it is such a command at all.
func fdCommand(cmd string) (extra int, ok bool) {
	stages := strings.Split(cmd, "|")
	words := strings.Fields(stages[0])
	i := toolIndex(words, "ls")
	if i < 0 || !strings.Contains(stages[0], "/proc/") || !strings.Contains(stages[0], "/fd") {
		return 0, false
	}
	for _, w := range words[i+1:] {
		if strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") {
			if strings.ContainsRune(w, 'l') {
				extra++ // "total N"
			}
			if strings.ContainsRune(w, 'a') {
				extra += 2 // . and ..
			}
		}
	}
	return extra, true
}

// fdPID finds the PID in "/proc/1234/fd", or -1.
func fdPID(s string) int {
	for {
		i := strings.Index(s, "/proc/")
		if i < 0 {
			return -1
		}
		s = s[i+len("/proc/"):]
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > 0 && j <= 10 && strings.HasPrefix(s[j:], "/fd") {
			if v, ok := parseUint([]byte(s[:j])); ok && v < 1<<31 {
				return int(v)
			}
		}
	}
}

// fdEntry reads an ls -l line for a descriptor: "lrwx------ 1 u g 64 date
// 3 -> socket:[123]", returning the descriptor's name.
func fdEntry(line []byte) (name []byte, ok bool) {
	if len(line) < 11 || line[0] != 'l' {
		return nil, false
	}
	for _, c := range line[1:10] {
		if bytes.IndexByte([]byte("rwxsStT-"), c) < 0 {
			return nil, false
		}
	}
	i := bytes.Index(line, []byte(" -> "))
	if i < 0 {
		return nil, false
	}
	j := bytes.LastIndexByte(line[:i], ' ')
	return line[j+1 : i], true
}

func isFDSection(line []byte) bool {
	return bytes.HasPrefix(line, []byte("/proc/")) && bytes.HasSuffix(line, []byte("/fd:"))
}

func detectFDList(head []byte) bool {
	line, rest := firstLine(head)
	if isFDSection(line) {
		line, rest = firstLine(rest)
	}
	if bytes.HasPrefix(line, []byte("total ")) {
		line, rest = firstLine(rest)
	}
	// . and .. of ls -la
	for len(line) > 0 && line[0] == 'd' && (bytes.HasSuffix(line, []byte(" .")) || bytes.HasSuffix(line, []byte(" .."))) {
		line, rest = firstLine(rest)
	}
	name, ok := fdEntry(line)
	return ok && isDigits(name)
}

type fdList struct {
	in   *Input
	open bool
	pid  int
	line int
	n    int
}

func parseFDList(in *Input, r io.Reader) {
	l := &fdList{in: in}
	in.Lines(r, l.lineFn)
	l.flush()
}

func (l *fdList) start(n, pid int) {
	l.flush()
	l.open, l.pid, l.line, l.n = true, pid, n, 0
}

func (l *fdList) flush() {
	if !l.open {
		return
	}
	l.in.Out.Processes = append(l.in.Out.Processes, event.Process{
		Meta: l.in.Meta(l.line), PID: l.pid, FDs: l.n, FDSize: -1, Threads: -1,
	})
	l.open = false
}

func (l *fdList) lineFn(n int, line []byte) {
	switch {
	case isBlank(line):
		return
	case isFDSection(line):
		l.start(n, max(fdPID(string(line)), 0))
		return
	case bytes.HasPrefix(line, []byte("ls: ")):
		return // ls's own complaint (a process gone): real output, nothing to count
	}
	if !l.open {
		l.start(n, max(fdPID(l.in.Header.Command), 0))
	}
	if bytes.HasPrefix(line, []byte("total ")) {
		return
	}
	if name, ok := fdEntry(line); ok {
		if isDigits(name) {
			l.n++
		}
		return
	}
	if line[0] == 'd' {
		return // . and ..
	}
	l.in.Errorf(n, "not a /proc/PID/fd entry: %.80q", line)
}

func parseFDCount(in *Input, r io.Reader) {
	extra, _ := fdCommand(in.Header.Command)
	pid := max(fdPID(in.Header.Command), 0)
	wc := strings.Contains(in.Header.Command, "wc")
	count, first, value := 0, 0, 0
	in.Lines(r, func(n int, line []byte) {
		for _, f := range bytes.Fields(line) {
			v, ok := parseUint(f)
			if !ok || v > 1<<31 {
				in.Errorf(n, "not a number: %.40q", f)
				continue
			}
			if first == 0 {
				first, value = n, int(v)
			}
			count++
		}
	})
	if count == 0 {
		return
	}
	fds := count // ls /proc/PID/fd: one name per descriptor
	if wc {
		if count != 1 {
			in.Errorf(first, "expected one count from wc, found %d numbers", count)
			return
		}
		fds = max(value-extra, 0)
	}
	in.Out.Processes = append(in.Out.Processes, event.Process{
		Meta: in.Meta(first), PID: pid, FDs: fds, FDSize: -1, Threads: -1,
	})
}
