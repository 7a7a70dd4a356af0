package parsers

import (
	"bytes"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// systemParsers read what a box says about its limits, tunables, counters
// and processes. Each signature is strong (a fixed header line, a fixed key
// shape), so the order only matters where two could meet: the limit tables
// come before ulimit (whose dash variant is loose), and sysctl, whose
// "dotted.key = value" lines are the loosest, comes last. The bare value
// files at the end never match by content: DetectFile finds them by path or
// by the collection header's command.
var systemParsers = []*Parser{
	procLimitsParser,
	prlimitParser,
	ulimitParser,
	limitsConfParser,
	systemdLimitsParser,
	netstatSParser,
	procNetSNMPParser,
	nstatParser,
	sockstatParser,
	procStatusParser,
	procStatParser,
	sysctlParser,
	ulimitValueParser,
	procSysValueParser,
	fileNrParser,
}

// DetectFile picks the parser for a file from its path inside the bundle,
// its collection header and its first bytes. A bare value ("1024", "5000")
// means nothing by itself, so those files are recognised only by what names
// them: the header's command (`ulimit -n`, `cat /proc/sys/fs/file-max`,
// `sysctl -n key`) or a path under proc/sys/. Everything else is detected by
// content (Detect). The bundle walker calls this instead of Detect.
func DetectFile(name string, h Header, head []byte) *Parser {
	if p := detectValueFile(name, h, head); p != nil {
		return p
	}
	if p := detectFDCountFile(h, head); p != nil {
		return p
	}
	return Detect(head)
}

// detectValueFile recognises the bare value files. The body must be small
// (all of it within head) and not empty.
func detectValueFile(name string, h Header, head []byte) *Parser {
	body := bytes.TrimSpace(head)
	if len(body) == 0 || len(head) >= DetectBytes {
		return nil
	}
	if _, _, ok := ulimitValueCommand(h.Command); ok && len(bytes.Fields(body)) == 1 {
		return ulimitValueParser
	}
	key, ok := procSysKey(name, h.Command)
	if !ok || bytes.Count(body, []byte{'\n'}) > 8 || bytes.Contains(body, []byte{'='}) {
		return nil // settings listed "key = value" are sysctl output, whatever the path
	}
	if key == "fs.file-nr" {
		return fileNrParser
	}
	return procSysValueParser
}

var (
	// reProcSysCmd finds the one /proc/sys file a command printed.
	reProcSysCmd = regexp.MustCompile(`(?:^|[\s'"])/proc/sys/([A-Za-z0-9_./:@+-]+)`)
	// reSysctlN is `sysctl -n key` (one key, no other options).
	reSysctlN = regexp.MustCompile(`(?:^|[\s/'"])sysctl\s+-n\s+([A-Za-z0-9_./:@*+-]+)\s*['"]?$`)
)

// procSysKey says which tunable a bare value file holds: from the header
// command first (cat /proc/sys/net/core/somaxconn, sysctl -n
// net.core.somaxconn), then from a path whose directories end in proc/sys/
// (the walker's name for the file). The key is dotted.
func procSysKey(name, command string) (string, bool) {
	if command != "" {
		if strings.Contains(command, "grep") || strings.Contains(command, "find ") {
			return "", false // a directory dump has "path:value" lines
		}
		if m := reProcSysCmd.FindAllStringSubmatch(command, -1); len(m) == 1 {
			return strings.ReplaceAll(strings.Trim(m[0][1], "/"), "/", "."), true
		}
		if m := reSysctlN.FindStringSubmatch(command); m != nil {
			return sysctlKey(m[1]), true
		}
	}
	name = "/" + path.Clean(name)
	if i := strings.LastIndex(name, "/proc/sys/"); i >= 0 {
		rest := name[i+len("/proc/sys/"):]
		if rest != "" {
			return strings.ReplaceAll(rest, "/", "."), true
		}
	}
	return "", false
}

// sysValue parses a number as the kernel and the tools print it. Values
// past int64 (the kernel prints limits and counters as unsigned 64-bit)
// saturate at math.MaxInt64: for a limit that is as good as unlimited.
func sysValue(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if u > math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return int64(u), nil
}

// sysHeadLines splits a detection head into lines. The last line is
// dropped when head ends without a newline and is as long as detection
// allows: it was cut and says nothing reliable.
func sysHeadLines(head []byte) []string {
	s := string(head)
	cut := len(head) >= DetectBytes && !strings.HasSuffix(s, "\n")
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if cut && len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// sysFirstLines returns up to n lines of head that are neither blank nor
// comments starting with one of the comment bytes.
func sysFirstLines(head []byte, n int, comment string) []string {
	var out []string
	for _, l := range sysHeadLines(head) {
		t := strings.TrimSpace(l)
		if t == "" || (comment != "" && strings.ContainsRune(comment, rune(t[0]))) {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	return out
}

// sysCounters collects the counters of one file into one CounterSet, which
// is added when the first counter is.
type sysCounters struct {
	in     *Input
	source string
	set    int
}

func newSysCounters(in *Input, source string) *sysCounters {
	return &sysCounters{in: in, source: source, set: -1}
}

func (c *sysCounters) add(line int, text, group, name string, v int64, cumulative bool) {
	in := c.in
	if c.set < 0 {
		c.set = in.Out.AddCounterSet(event.CounterSet{Meta: in.Meta(line), Source: c.source})
	}
	in.Out.Counters = append(in.Out.Counters, event.Counter{
		Meta: in.Meta(line), Text: text, Group: group, Name: name, Value: v,
		Cumulative: cumulative, Snapshot: c.set,
	})
}

// sysErrf is fmt.Errorf for the messages of this group's parsers.
func sysErrf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// sysClip shortens what an error quotes from the file: a bad value can be
// a megabyte long.
func sysClip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
