package parsers

// Resource limits, from every place a box states them: the process's own
// /proc/PID/limits and prlimit (Scope "process"), a shell's ulimit
// (Scope "shell"), /etc/security/limits.conf and limits.d (Scope "config")
// and systemd (Scope "systemd"). Resources take the short names of
// limits.conf and prlimit (nofile, nproc, ...); the many spellings of the
// shells and the kernel are folded by limitResources. Values are kept in the
// unit the source printed (Limit.Unit): ulimit's kbytes are not turned into
// bytes. A value the source did not give is -2 (limitUnknown).
//
// procfs has a limits reader, but only for a mounted /proc (no io.Reader),
// without line numbers and stopping at the first bad line, so these parsers
// are our own.

import (
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// limitUnknown is a soft or hard value the source did not give.
const limitUnknown = -2

// limitResources maps the normalised description of a limit (lowercase,
// units in parentheses removed, spaces folded) to its short name. The
// sources are the kernel's /proc/PID/limits names, bash, zsh, dash, busybox
// ash, mksh and ksh93, and the short names themselves.
var limitResources = map[string]string{
	// /proc/PID/limits
	"max cpu time": "cpu", "max file size": "fsize", "max data size": "data",
	"max stack size": "stack", "max core file size": "core", "max resident set": "rss",
	"max processes": "nproc", "max open files": "nofile", "max locked memory": "memlock",
	"max address space": "as", "max file locks": "locks", "max pending signals": "sigpending",
	"max msgqueue size": "msgqueue", "max nice priority": "nice",
	"max realtime priority": "rtprio", "max realtime timeout": "rttime",
	// bash, busybox ash (new)
	"cpu time": "cpu", "file size": "fsize", "data seg size": "data", "stack size": "stack",
	"core file size": "core", "max memory size": "rss", "max user processes": "nproc",
	"open files": "nofile", "virtual memory": "as", "file locks": "locks",
	"pending signals": "sigpending", "posix message queues": "msgqueue",
	"scheduling priority": "nice", "real-time priority": "rtprio",
	"real-time non-blocking time": "rttime", "pipe size": "pipe",
	// zsh, mksh, busybox ash (old)
	"resident set size": "rss", "processes": "nproc", "file descriptors": "nofile",
	"locked-in-memory size": "memlock", "locked memory": "memlock", "address space": "as",
	"bytes in posix msg queues": "msgqueue", "max nice": "nice", "max rt priority": "rtprio",
	"rt cpu time": "rttime", "lockedmem": "memlock", "flocks": "locks",
	// dash, ksh88
	"time": "cpu", "file": "fsize", "coredump": "core", "memory": "rss", "process": "nproc",
	"nofiles": "nofile", "vmemory": "as",
	// ksh93
	"address space limit": "as", "data size": "data", "locked address space": "memlock",
	"message queue size": "msgqueue", "pipe buffer size": "pipe", "sigpend": "sigpending",
	"process size": "as", "socket buffer size": "sbsize", "swap size": "swap",
	// the short names (limits.conf, prlimit, systemd, dash)
	"cpu": "cpu", "fsize": "fsize", "data": "data", "stack": "stack", "core": "core",
	"rss": "rss", "nproc": "nproc", "nofile": "nofile", "memlock": "memlock", "as": "as",
	"locks": "locks", "sigpending": "sigpending", "msgqueue": "msgqueue", "nice": "nice",
	"rtprio": "rtprio", "rttime": "rttime", "threads": "threads", "pipe": "pipe",
	"sbsize": "sbsize", "swap": "swap",
}

// limitKernelUnits are the units the kernel and systemd count each resource in.
var limitKernelUnits = map[string]string{
	"cpu": "seconds", "fsize": "bytes", "data": "bytes", "stack": "bytes", "core": "bytes",
	"rss": "bytes", "nproc": "processes", "nofile": "files", "memlock": "bytes", "as": "bytes",
	"locks": "locks", "sigpending": "signals", "msgqueue": "bytes", "rttime": "us",
}

// rlimitByNumber names Linux's RLIMIT_* numbers, which zsh prints as
// "-N 15:" for limits it has no name for.
var rlimitByNumber = []string{"cpu", "fsize", "data", "stack", "core", "rss", "nproc",
	"nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"}

var reLimitUnit = regexp.MustCompile(`\(([^()]*)\)`)

// limitResource folds a description to a resource name and returns the
// unit written in it, if any. An unknown description is kept, normalised,
// as the name: a newer kernel's or shell's limit is still a limit.
func limitResource(desc string) (resource, unit string) {
	if m := reLimitUnit.FindAllStringSubmatch(desc, -1); m != nil {
		unit = strings.TrimSpace(m[len(m)-1][1])
		desc = reLimitUnit.ReplaceAllString(desc, " ")
	}
	norm := strings.ToLower(strings.Join(strings.Fields(desc), " "))
	if r, ok := limitResources[norm]; ok {
		return r, unit
	}
	return norm, unit
}

// limitValue parses a limit as printed: unlimited or infinity is
// event.Unlimited, as is RLIM_INFINITY printed as a number.
func limitValue(s string) (int64, error) {
	switch strings.ToLower(s) {
	case "unlimited", "infinity":
		return event.Unlimited, nil
	case "18446744073709551615":
		return event.Unlimited, nil
	}
	n, err := sysValue(s)
	if err != nil {
		return 0, &strconv.NumError{Func: "limit", Num: s, Err: strconv.ErrSyntax}
	}
	return n, nil
}

func limitValueLike(s string) bool {
	_, err := limitValue(s)
	return err == nil
}

// --- /proc/PID/limits ---------------------------------------------------

var procLimitsParser = &Parser{
	Kind:    "proc-limits",
	Title:   "/proc/PID/limits: a process's own soft and hard limits",
	Command: "cat /proc/PID/limits",
	Detect:  detectProcLimits,
	Parse:   parseProcLimits,
}

func detectProcLimits(head []byte) bool {
	l := sysFirstLines(head, 2, "")
	if len(l) < 1 {
		return false
	}
	f := strings.Fields(l[0])
	return len(f) >= 5 && f[0] == "Limit" && f[1] == "Soft" && f[2] == "Limit" && f[3] == "Hard" && f[4] == "Limit"
}

var reProcLimitsPID = regexp.MustCompile(`/proc/([0-9]+)/limits\b`)

// parseProcLimits reads the kernel's table ("%-25s %-20s %-20s %-10s"):
// the name has spaces, so the values are taken from the right, the Units
// column being empty for nice and rtprio. The PID is not in the file: it
// comes from the collection header's command (cat /proc/1234/limits), else 0.
func parseProcLimits(in *Input, r io.Reader) {
	pid := 0
	if m := reProcLimitsPID.FindStringSubmatch(in.Header.Command); m != nil {
		pid, _ = strconv.Atoi(m[1])
	}
	in.Lines(r, func(n int, line []byte) {
		text := strings.TrimSpace(string(line))
		f := strings.Fields(text)
		if len(f) == 0 || (f[0] == "Limit" && len(f) >= 3 && f[1] == "Soft") {
			return // blank, or the header (again, when several files were joined)
		}
		unit := ""
		if len(f) >= 4 && !limitValueLike(f[len(f)-1]) {
			unit, f = f[len(f)-1], f[:len(f)-1]
		}
		if len(f) < 3 {
			in.Errorf(n, "limit line has %d fields, want a name, a soft and a hard value", len(f))
			return
		}
		soft, err1 := limitValue(f[len(f)-2])
		hard, err2 := limitValue(f[len(f)-1])
		if err1 != nil || err2 != nil {
			in.Errorf(n, "limit values %q %q are not numbers or unlimited", sysClip(f[len(f)-2]), sysClip(f[len(f)-1]))
			return
		}
		res, _ := limitResource(strings.Join(f[:len(f)-2], " "))
		in.Out.Limits = append(in.Out.Limits, event.Limit{
			Meta: in.Meta(n), Text: text, Resource: res, Soft: soft, Hard: hard,
			PID: pid, Scope: "process", Unit: unit,
		})
	})
}

// --- prlimit ------------------------------------------------------------

var prlimitParser = &Parser{
	Kind:    "prlimit",
	Title:   "prlimit: a process's limits (util-linux)",
	Command: "prlimit --pid PID",
	Detect:  detectPrlimit,
	Parse:   parsePrlimit,
}

func detectPrlimit(head []byte) bool {
	l := sysFirstLines(head, 1, "")
	if len(l) < 1 {
		return false
	}
	f := strings.Fields(l[0])
	return len(f) >= 4 && f[0] == "RESOURCE" && f[1] == "DESCRIPTION" && f[2] == "SOFT" && f[3] == "HARD"
}

var rePrlimitPID = regexp.MustCompile(`(?:--pid[= ]|-p ?)([0-9]+)\b`)

// parsePrlimit reads "RESOURCE DESCRIPTION SOFT HARD UNITS" rows. Without
// --pid, prlimit shows its own limits, which it inherited from the shell.
func parsePrlimit(in *Input, r io.Reader) {
	pid, scope := 0, "shell"
	if m := rePrlimitPID.FindStringSubmatch(in.Header.Command); m != nil {
		pid, _ = strconv.Atoi(m[1])
		scope = "process"
	}
	in.Lines(r, func(n int, line []byte) {
		text := strings.TrimSpace(string(line))
		f := strings.Fields(text)
		if len(f) == 0 || f[0] == "RESOURCE" {
			return
		}
		unit := ""
		if len(f) >= 4 && !limitValueLike(f[len(f)-1]) {
			unit, f = f[len(f)-1], f[:len(f)-1]
		}
		if len(f) < 3 {
			in.Errorf(n, "prlimit line has %d fields, want a resource, a soft and a hard value", len(f))
			return
		}
		soft, err1 := limitValue(f[len(f)-2])
		hard, err2 := limitValue(f[len(f)-1])
		if err1 != nil || err2 != nil {
			in.Errorf(n, "limit values %q %q are not numbers or unlimited", sysClip(f[len(f)-2]), sysClip(f[len(f)-1]))
			return
		}
		res, _ := limitResource(f[0])
		in.Out.Limits = append(in.Out.Limits, event.Limit{
			Meta: in.Meta(n), Text: text, Resource: res, Soft: soft, Hard: hard,
			PID: pid, Scope: scope, Unit: unit,
		})
	})
}

// --- ulimit -a ----------------------------------------------------------

var ulimitParser = &Parser{
	Kind:    "ulimit",
	Title:   "ulimit -a: a shell's limits (bash, dash, zsh, busybox, mksh, ksh)",
	Command: "ulimit -a (ulimit -Ha for the hard limits)",
	Detect:  detectUlimit,
	Parse:   parseUlimit,
}

var (
	// bash, busybox ≥ 1.3x, ksh93: "open files (-n) 1024",
	// "core file size (blocks, -c) 0", "data seg size (kb) (-d) unlimited".
	reUlimitBash = regexp.MustCompile(`^(.*?)\s*\((?:([^()]*?),\s*)?-([A-Za-z])\)\s+(\S+)\s*$`)
	// zsh, mksh, older busybox: "-n: file descriptors 1024", "-N 15: ... unlimited".
	reUlimitZsh = regexp.MustCompile(`^-([A-Za-z])(?:\s+([0-9]+))?:\s*(.*?)\s+(\S+)\s*$`)
	// dash, ksh88: "nofiles 1024", "locked memory(kbytes) 64".
	reUlimitDash = regexp.MustCompile(`^([a-z][a-z -]*?)\s*(\([a-z/-]+\))?\s+(\S+)\s*$`)
)

type ulimitLine struct {
	resource, unit, value string
	known                 bool // the description is one we know
	shaped                bool // the bash or zsh shape, which nothing else has
}

func splitUlimitLine(s string) (ulimitLine, bool) {
	s = strings.TrimRight(s, " \t")
	if m := reUlimitZsh.FindStringSubmatch(s); m != nil {
		res, unit := limitResource(m[3])
		_, known := limitResources[res]
		if m[3] == "" && m[2] != "" {
			if i, err := strconv.Atoi(m[2]); err == nil && i < len(rlimitByNumber) {
				res, known = rlimitByNumber[i], true
			}
		}
		return ulimitLine{res, unit, m[4], known, true}, true
	}
	if m := reUlimitBash.FindStringSubmatch(s); m != nil {
		res, unit := limitResource(m[1])
		if m[2] != "" {
			unit = strings.TrimSpace(m[2])
		}
		_, known := limitResources[res]
		return ulimitLine{res, unit, m[4], known, true}, true
	}
	if m := reUlimitDash.FindStringSubmatch(s); m != nil {
		res, unit := limitResource(m[1] + m[2])
		_, known := limitResources[res]
		return ulimitLine{res, unit, m[3], known, false}, true
	}
	return ulimitLine{}, false
}

// detectUlimit wants the first lines to be ulimit lines with known
// descriptions and values: two of them for the loose dash shape.
func detectUlimit(head []byte) bool {
	lines := sysFirstLines(head, 3, "")
	if len(lines) == 0 {
		return false
	}
	shaped := 0
	for _, l := range lines {
		u, ok := splitUlimitLine(l)
		if !ok || !u.known || !limitValueLike(u.value) {
			return false
		}
		if u.shaped {
			shaped++
		}
	}
	return shaped > 0 || len(lines) >= 2
}

// ulimitHard reports whether a ulimit command line asked for hard limits
// (-H without -S); ulimit shows soft limits otherwise.
func ulimitHard(command string) bool {
	flags, ok := ulimitFlags(command)
	return ok && strings.ContainsRune(flags, 'H') && !strings.ContainsRune(flags, 'S')
}

// ulimitFlags returns the option letters given to ulimit in a command line
// ("ulimit -Ha" → "Ha"), and false when the command did not run ulimit or
// set a limit instead of printing one.
func ulimitFlags(command string) (string, bool) {
	toks := strings.FieldsFunc(command, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ';' || r == '|' || r == '&' || r == '\'' || r == '"' || r == '`' || r == '(' || r == ')'
	})
	for i, t := range toks {
		if t != "ulimit" {
			continue
		}
		var flags strings.Builder
		for _, a := range toks[i+1:] {
			if !strings.HasPrefix(a, "-") || len(a) < 2 {
				if limitValueLike(a) {
					return "", false // ulimit -n 4096 sets, prints nothing
				}
				break
			}
			flags.WriteString(a[1:])
		}
		return flags.String(), true
	}
	return "", false
}

func parseUlimit(in *Input, r io.Reader) {
	hard := ulimitHard(in.Header.Command)
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			return
		}
		u, ok := splitUlimitLine(s)
		if !ok {
			in.Errorf(n, "not a ulimit line")
			return
		}
		v, err := limitValue(u.value)
		if err != nil {
			in.Errorf(n, "ulimit value %q is not a number or unlimited", sysClip(u.value))
			return
		}
		in.Out.Limits = append(in.Out.Limits, shellLimit(in.Meta(n), s, u.resource, u.unit, v, hard))
	})
}

func shellLimit(m event.Meta, text, resource, unit string, v int64, hard bool) event.Limit {
	l := event.Limit{Meta: m, Text: text, Resource: resource, Soft: v, Hard: limitUnknown, Scope: "shell", Unit: unit}
	if hard {
		l.Soft, l.Hard = limitUnknown, v
	}
	return l
}

// --- ulimit -n (a bare value) ------------------------------------------

// ulimitValueParser reads the output of `ulimit -n` and its kin: one bare
// number, which means something only because the collection header's
// command says `ulimit -n`. Its Detect never matches; DetectFile picks it.
var ulimitValueParser = &Parser{
	Kind:    "ulimit-value",
	Title:   "ulimit -n: one limit of a shell, a bare number (recognised by the header's command)",
	Command: "ulimit -n (ulimit -Hn, ulimit -u, ...)",
	Detect:  func([]byte) bool { return false },
	Parse:   parseUlimitValue,
}

// ulimitLetters are bash's option letters. Shells disagree on a few (dash
// and busybox use -p for processes, bash for the pipe size); bash's are
// taken as it is the shell collectors run.
var ulimitLetters = map[rune]string{
	'c': "core", 'd': "data", 'e': "nice", 'f': "fsize", 'i': "sigpending", 'l': "memlock",
	'm': "rss", 'n': "nofile", 'p': "pipe", 'q': "msgqueue", 'r': "rtprio", 'R': "rttime",
	's': "stack", 't': "cpu", 'u': "nproc", 'v': "as", 'x': "locks", 'T': "threads",
}

// ulimitValueCommand says which single limit a ulimit command printed and
// whether it was the hard one. ulimit with no resource letter prints the
// file size limit.
func ulimitValueCommand(command string) (resource string, hard, ok bool) {
	flags, ok := ulimitFlags(command)
	if !ok || strings.ContainsRune(flags, 'a') {
		return "", false, false
	}
	hard = strings.ContainsRune(flags, 'H') && !strings.ContainsRune(flags, 'S')
	var res []string
	for _, c := range flags {
		if c == 'H' || c == 'S' {
			continue
		}
		r, known := ulimitLetters[c]
		if !known {
			return "", false, false
		}
		res = append(res, r)
	}
	switch len(res) {
	case 0:
		return "fsize", hard, true
	case 1:
		return res[0], hard, true
	}
	return "", false, false
}

func parseUlimitValue(in *Input, r io.Reader) {
	res, hard, ok := ulimitValueCommand(in.Header.Command)
	if !ok {
		in.Errorf(0, "the collection header's command does not name one ulimit resource")
		res = ""
	}
	seen := false
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			return
		}
		if seen {
			in.Errorf(n, "more than one value in ulimit output")
			return
		}
		seen = true
		v, err := limitValue(s)
		if err != nil {
			in.Errorf(n, "ulimit value %q is not a number or unlimited", sysClip(s))
			return
		}
		if res != "" {
			in.Out.Limits = append(in.Out.Limits, shellLimit(in.Meta(n), s, res, "", v, hard))
		}
	})
}

// --- /etc/security/limits.conf and limits.d ----------------------------

var limitsConfParser = &Parser{
	Kind:    "limits-conf",
	Title:   "/etc/security/limits.conf and limits.d/*.conf (pam_limits)",
	Command: "cat /etc/security/limits.conf /etc/security/limits.d/*.conf",
	Detect:  detectLimitsConf,
	Parse:   parseLimitsConf,
}

// limitsConfItems are pam_limits' items with the unit it reads each in.
var limitsConfItems = map[string]string{
	"core": "KB", "data": "KB", "fsize": "KB", "memlock": "KB", "nofile": "files",
	"rss": "KB", "stack": "KB", "cpu": "minutes", "nproc": "processes", "as": "KB",
	"maxlogins": "logins", "maxsyslogins": "logins", "nonewprivs": "", "priority": "",
	"locks": "locks", "sigpending": "signals", "msgqueue": "bytes", "nice": "", "rtprio": "",
	"chroot": "",
}

func detectLimitsConf(head []byte) bool {
	for _, l := range sysHeadLines(head) {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") &&
			(strings.Contains(t, "<domain>") || strings.Contains(t, "limits.conf")) {
			return true
		}
	}
	lines := sysFirstLines(head, 3, "#")
	if len(lines) == 0 {
		return false
	}
	for _, l := range lines {
		if _, _, _, _, err := splitLimitsConf(l); err != nil {
			return false
		}
	}
	return true
}

// splitLimitsConf splits "domain type item value" (a # starts a comment,
// as pam_limits reads it).
func splitLimitsConf(line string) (domain, typ, item, value string, err error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) != 4 {
		return "", "", "", "", sysErrf("limits.conf line has %d fields, want domain type item value", len(f))
	}
	domain, typ, item, value = f[0], f[1], f[2], f[3]
	if typ != "soft" && typ != "hard" && typ != "-" {
		return "", "", "", "", sysErrf("limit type %q is not soft, hard or -", sysClip(typ))
	}
	if _, ok := limitsConfItems[item]; !ok {
		return "", "", "", "", sysErrf("unknown limit item %q", sysClip(item))
	}
	return domain, typ, item, value, nil
}

func parseLimitsConf(in *Input, r io.Reader) {
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			return
		}
		domain, typ, item, value, err := splitLimitsConf(s)
		if err != nil {
			in.Error(n, err)
			return
		}
		var v int64
		if item == "nice" || item == "priority" {
			// signed: -20 is a value here, not unlimited
			v, err = strconv.ParseInt(value, 10, 64)
		} else if value == "-1" {
			v = event.Unlimited
		} else {
			v, err = limitValue(value)
		}
		if err != nil {
			in.Errorf(n, "limit value %q of %s is not a number or unlimited", sysClip(value), item)
			return
		}
		l := event.Limit{Meta: in.Meta(n), Text: s, Resource: item, Soft: v, Hard: v,
			Scope: "config", Unit: limitsConfItems[item], Domain: domain}
		switch typ {
		case "soft":
			l.Hard = limitUnknown
		case "hard":
			l.Soft = limitUnknown
		}
		in.Out.Limits = append(in.Out.Limits, l)
	})
}

// --- systemd ------------------------------------------------------------

var systemdLimitsParser = &Parser{
	Kind:    "systemd-limits",
	Title:   "systemd limits: systemctl show (LimitNOFILE=, LimitNOFILESoft=) and unit files",
	Command: "systemctl show UNIT (or systemctl cat UNIT)",
	Detect:  detectSystemd,
	Parse:   parseSystemd,
}

var (
	reSystemdKV    = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*=`)
	reSystemdLimit = regexp.MustCompile(`^(Default)?Limit([A-Z]+?)(Soft)?=(.*)$`)
	reSystemdFile  = regexp.MustCompile(`^# (/\S+\.(?:service|socket|mount|slice|scope|conf))\s*$`)
)

// systemdShowKeys are keys systemctl show prints early, to tell its output
// from any other Key=Value file when no Limit line is in the head.
var systemdShowKeys = map[string]bool{
	"Type": true, "Restart": true, "NotifyAccess": true, "RestartUSec": true, "Id": true,
	"Names": true, "MainPID": true, "Version": true, "Features": true, "ExitType": true,
	"PIDFile": true, "Slice": true, "ControlGroup": true, "LoadState": true, "ActiveState": true,
}

func detectSystemd(head []byte) bool {
	kv, known, limit, section := 0, 0, false, false
	for _, l := range sysHeadLines(head) {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
		case t[0] == '#' || t[0] == ';':
		case t[0] == '[' && strings.HasSuffix(t, "]"):
			section = true
		case reSystemdKV.MatchString(t):
			kv++
			k, _, _ := strings.Cut(t, "=")
			known += b2i(systemdShowKeys[k])
			limit = limit || reSystemdLimit.MatchString(t)
		default:
			return false
		}
	}
	if section {
		return limit // a unit file: only worth reading for its limits
	}
	return kv > 0 && (limit || (kv >= 3 && known >= 2))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type systemdLimit struct {
	line       int
	soft, hard int64
	domain     string
	text       []string // the lines that set it
}

// systemdUnitName names the unit a file printed by systemctl cat belongs
// to: the unit file itself, or the unit whose .d directory holds a drop-in.
func systemdUnitName(file string) string {
	dir, base := path.Split(file)
	if d := path.Base(strings.TrimSuffix(dir, "/")); strings.HasSuffix(d, ".d") {
		return strings.TrimSuffix(d, ".d")
	}
	return base
}

// parseSystemd reads systemctl show's Key=Value lines, where LimitX is the
// hard limit and LimitXSoft the soft one, and unit files, where
// LimitX=soft:hard or one value for both. The two lines of one resource make
// one record, referenced at the first. In unit files a later setting
// (a drop-in) overrides an earlier one and the record moves to it; the
// Domain is the unit, from systemctl cat's "# /path" lines or systemctl
// show's Id=. DefaultLimitX (systemctl show of the
// manager) is the default of every unit: Domain "(manager default)".
func parseSystemd(in *Input, r io.Reader) {
	unitFile := false
	domain, showID := "", ""
	recs := map[string]*systemdLimit{}
	var order []string
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		switch {
		case s == "":
			return
		case s[0] == '#' || s[0] == ';':
			if m := reSystemdFile.FindStringSubmatch(s); m != nil {
				unitFile, domain = true, systemdUnitName(m[1])
			}
			return
		case s[0] == '[' && strings.HasSuffix(s, "]"):
			unitFile = true
			return
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			in.Errorf(n, "not a Key=Value line")
			return
		}
		if k == "Id" && showID == "" {
			showID = v
		}
		m := reSystemdLimit.FindStringSubmatch(s)
		if m == nil || v == "" {
			return
		}
		res := strings.ToLower(m[2])
		key := res
		if m[1] != "" {
			key = "default " + res
		}
		rec := recs[key]
		if rec == nil {
			rec = &systemdLimit{line: n, soft: limitUnknown, hard: limitUnknown, domain: domain}
			recs[key] = rec
			order = append(order, key)
		}
		if unitFile {
			softS, hardS, pair := strings.Cut(v, ":")
			if !pair {
				hardS = softS
			}
			soft, err1 := systemdValue(res, softS)
			hard, err2 := systemdValue(res, hardS)
			if err1 != nil || err2 != nil {
				in.Errorf(n, "systemd limit %q is not a number, a size or infinity", sysClip(v))
				return
			}
			rec.soft, rec.hard, rec.line, rec.domain, rec.text = soft, hard, n, domain, []string{s}
			return
		}
		val, err := systemdValue(res, v)
		if err != nil {
			in.Errorf(n, "systemd limit %q is not a number or infinity", sysClip(v))
			return
		}
		if m[3] != "" {
			rec.soft = val
		} else {
			rec.hard = val
		}
		rec.text = append(rec.text, s)
	})
	for _, key := range order {
		rec := recs[key]
		res, d := key, rec.domain
		if d == "" {
			d = showID
		}
		if r, ok := strings.CutPrefix(key, "default "); ok {
			res, d = r, "(manager default)"
		}
		in.Out.Limits = append(in.Out.Limits, event.Limit{
			Meta: in.Meta(rec.line), Text: strings.Join(rec.text, ", "), Resource: res, Soft: rec.soft, Hard: rec.hard,
			Scope: "systemd", Unit: limitKernelUnits[res], Domain: d,
		})
	}
}

var systemdSizeSuffix = map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40, 'P': 1 << 50, 'E': 1 << 60}

// systemdValue reads a systemd limit: infinity, a number, a size with a
// binary suffix (64M), or for cpu and rttime a time span (30min, 500ms).
func systemdValue(res, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v, err := limitValue(s); err == nil {
		return v, nil
	}
	if s == "" {
		return 0, sysErrf("empty value")
	}
	if mul, ok := systemdSizeSuffix[s[len(s)-1]]; ok && res != "cpu" && res != "rttime" {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n < 0 || n > (1<<62)/mul {
			return 0, sysErrf("bad size %q", sysClip(s))
		}
		return n * mul, nil
	}
	if res == "cpu" || res == "rttime" {
		us, err := systemdTimespanUS(s)
		if err != nil {
			return 0, err
		}
		if res == "cpu" {
			return us / 1e6, nil
		}
		return us, nil
	}
	return 0, sysErrf("bad value %q", sysClip(s))
}

var systemdTimeUnits = map[string]int64{
	"us": 1, "usec": 1, "ms": 1e3, "msec": 1e3, "s": 1e6, "sec": 1e6, "seconds": 1e6,
	"m": 60e6, "min": 60e6, "minutes": 60e6, "h": 3600e6, "hr": 3600e6, "hours": 3600e6,
	"d": 86400e6, "days": 86400e6,
}

var reSystemdSpan = regexp.MustCompile(`^\s*([0-9]+)\s*([a-z]+)`)

// systemdTimespanUS reads a systemd time span ("1h 30min", "500ms") in µs.
func systemdTimespanUS(s string) (int64, error) {
	var total int64
	rest := s
	for strings.TrimSpace(rest) != "" {
		m := reSystemdSpan.FindStringSubmatch(rest)
		if m == nil {
			return 0, sysErrf("bad time span %q", sysClip(s))
		}
		mul, ok := systemdTimeUnits[m[2]]
		n, err := strconv.ParseInt(m[1], 10, 64)
		if !ok || err != nil || n > (1<<62)/mul {
			return 0, sysErrf("bad time span %q", sysClip(s))
		}
		total += n * mul
		rest = rest[len(m[0]):]
	}
	return total, nil
}
