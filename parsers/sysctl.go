package parsers

// Kernel tunables: the output of sysctl -a and sysctl -p (and
// sysctl --system), the configuration files /etc/sysctl.conf and
// sysctl.d/*.conf, `grep -r . /proc/sys/...` dumps, and single /proc/sys
// value files. Keys are dotted (net.ipv4.tcp_max_tw_buckets); values keep
// their words with runs of spaces and tabs folded to one space
// (net.ipv4.tcp_mem = "45588 60787 91176").

import (
	"io"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var sysctlParser = &Parser{
	Kind:    "sysctl",
	Title:   "sysctl -a / sysctl -p output, /etc/sysctl.conf and sysctl.d, grep -r . /proc/sys",
	Command: "sysctl -a",
	Detect:  detectSysctl,
	Parse:   parseSysctl,
}

// sysctlRoots are the top levels of /proc/sys (and of BSD's sysctl tree).
// Detection wants one key under them, so that a properties file with
// dotted keys is not taken for sysctl output.
var sysctlRoots = map[string]bool{
	"abi": true, "crypto": true, "debug": true, "dev": true, "fs": true, "kernel": true,
	"net": true, "sunrpc": true, "user": true, "vm": true, "fscache": true,
	"kern": true, "hw": true, "machdep": true, "security": true, "vfs": true,
}

// sysctlSkip reports lines that are neither settings nor defects: blanks,
// comments, sysctl --system's "* Applying /etc/sysctl.d/x.conf ..." and
// the tool's own complaints ("sysctl: permission denied on key ...",
// "sysctl: cannot stat /proc/sys/...") that land in the file with 2>&1.
func sysctlSkip(s string) bool {
	return s == "" || s[0] == '#' || s[0] == ';' || strings.HasPrefix(s, "* Applying ") ||
		strings.HasPrefix(s, "sysctl: ")
}

func detectSysctl(head []byte) bool {
	data, rooted, mention := 0, false, false
	for _, l := range sysHeadLines(head) {
		s := strings.TrimSpace(l)
		if sysctlSkip(s) {
			if s != "" && (s[0] == '#' || s[0] == ';') && strings.Contains(s, "sysctl") {
				mention = true
			}
			continue
		}
		key, _, ok := splitSysctl(s)
		if !ok {
			return false
		}
		root, _, _ := strings.Cut(key, ".")
		rooted = rooted || sysctlRoots[root]
		if data++; data == 8 {
			break
		}
	}
	if data == 0 {
		return mention // a sysctl.conf of comments only
	}
	return rooted
}

// splitSysctl splits one setting: "key = value", "key=value",
// "key: value" (BSD and some old tools) or "/proc/sys/a/b:value" (grep -r).
// The key is returned dotted.
func splitSysctl(s string) (key, value string, ok bool) {
	if rest, found := strings.CutPrefix(s, "/proc/sys/"); found {
		k, v, cut := strings.Cut(rest, ":")
		if !cut || !sysctlKeyOK(k) {
			return "", "", false
		}
		return strings.ReplaceAll(k, "/", "."), v, true
	}
	if k, v, cut := strings.Cut(s, "="); cut {
		if k = strings.TrimSpace(k); sysctlKeyOK(k) {
			return sysctlKey(k), v, true
		}
	}
	if k, v, cut := strings.Cut(s, ":"); cut {
		if k = strings.TrimSpace(k); sysctlKeyOK(k) && strings.Contains(k, ".") {
			return sysctlKey(k), v, true
		}
	}
	return "", "", false
}

// sysctlKeyOK accepts a key: no spaces, a separator, and the bytes keys
// are made of (interface names bring '-', '@', ':' and '+'; sysctl.d
// globs bring '*').
func sysctlKeyOK(k string) bool {
	k = strings.TrimPrefix(k, "-")
	if k == "" || !strings.ContainsAny(k, "./") {
		return false
	}
	for _, c := range k {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("._-/*:@+", c):
		default:
			return false
		}
	}
	return true
}

// sysctlKey makes a key dotted. sysctl.d(5): a leading '-' only means
// "ignore errors"; when the first separator is a '/', slashes separate and
// dots belong to names (an interface eth0.100), so the two swap.
func sysctlKey(k string) string {
	k = strings.TrimPrefix(k, "-")
	if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '/' {
		k = strings.Map(func(r rune) rune {
			switch r {
			case '/':
				return '.'
			case '.':
				return '/'
			}
			return r
		}, k)
	}
	return k
}

// sysctlFold folds runs of spaces and tabs to one space.
func sysctlFold(v string) string { return strings.Join(strings.Fields(v), " ") }

func parseSysctl(in *Input, r io.Reader) {
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if sysctlSkip(s) {
			return
		}
		key, value, ok := splitSysctl(s)
		if !ok {
			in.Errorf(n, "not a sysctl setting (key = value)")
			return
		}
		in.Out.Sysctls = append(in.Out.Sysctls, event.Sysctl{Meta: in.Meta(n), Text: s, Key: key, Value: sysctlFold(value)})
	})
}

// procSysValueParser reads one /proc/sys file copied as it is (or printed
// by sysctl -n): a bare value whose key is only in the file's path or the
// collection header's command, so DetectFile picks it, never Detect.
var procSysValueParser = &Parser{
	Kind:    "proc-sys-value",
	Title:   "a /proc/sys value file (recognised by its path or the header's command)",
	Command: "cat /proc/sys/net/ipv4/tcp_max_tw_buckets (or sysctl -n KEY)",
	Detect:  func([]byte) bool { return false },
	Parse:   parseProcSysValue,
}

// procSysValueMax bounds what is kept of a value file: /proc/sys values
// are a page at most.
const procSysValueMax = 64 << 10

// parseProcSysValue makes one Sysctl of the whole file, referenced at its
// first line; a value over several lines is joined with spaces.
func parseProcSysValue(in *Input, r io.Reader) {
	key, ok := procSysKey(in.Path, in.Header.Command)
	if !ok {
		in.Errorf(0, "neither the file's path nor its command names a /proc/sys key")
	}
	first, size := 0, 0
	var words []string
	in.Lines(r, func(n int, line []byte) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			return
		}
		if first == 0 {
			first = n
		}
		if size += len(line); size > procSysValueMax {
			if size-len(line) <= procSysValueMax {
				in.Errorf(n, "value longer than %d bytes: not a /proc/sys value, rest ignored", procSysValueMax)
			}
			return
		}
		words = append(words, f...)
	})
	if first == 0 {
		in.Errorf(0, "empty /proc/sys value file")
		return
	}
	if ok {
		in.Out.Sysctls = append(in.Out.Sysctls, event.Sysctl{Meta: in.Meta(first), Text: strings.Join(words, " "), Key: key, Value: strings.Join(words, " ")})
	}
}
