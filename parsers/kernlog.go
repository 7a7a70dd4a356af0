package parsers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netmortem/netmortem/parsers/event"
)

// Kernel logs come in three families that share one reader (klog):
//
//   - dmesg: the ring buffer as util-linux prints it: raw "[  414.105327] msg"
//     (seconds since boot), -T "[Sat Nov 21 22:01:14 2026] msg" (local time,
//     no zone), -r "<6>[  414.105327] msg", -x "kern  :info  : [...] msg",
//     --time-format iso "2026-11-21T22:01:14,105327+00:00 msg".
//   - journal: journalctl output: the short formats (with the "-- Logs begin
//     at" header journalctl prints, or short-monotonic), and -o json.
//   - syslog: files written by a syslog daemon: RFC 3164 "Nov 24 13:45:11 host
//     kernel: msg" (no year, no zone), rsyslog's RFC 3339 stamps, RFC 5424
//     "<34>1 2003-10-11T22:14:15.003Z host app - - - msg", busybox logread
//     "Wed Mar 27 02:55:10 2019 kern.info kernel: msg". Journal short output
//     without its header is the same text and is read as syslog.
//
// Every kernel line becomes a LogEvent (the timeline wants them); lines of
// other programs in a syslog file or journal become events only when an
// application signature matches them. A line that carries no stamp of its
// own continues the previous event (multi-line printk records, journal
// continuation lines) and is joined to its Text.
//
// Rate limiting: "net_ratelimit: 15 callbacks suppressed" (and the older
// "__ratelimit: N callbacks suppressed", "printk: N messages suppressed")
// says N messages were dropped since the last one printed. The rule:
//
//   - when the limiter is the shared one (net_ratelimit, __ratelimit,
//     printk), the N are added to the Count of the previous event in the
//     same file that carries a signature — the kernel's own limiter does not
//     say which message was dropped, and the one printed just before is the
//     best-founded guess (and the one the seeds show);
//   - when the kernel names another function ("kauditd_printk_skb: 21
//     callbacks suppressed"), they are added to the last event whose text
//     names that function, or to none;
//   - the suppression line itself stays an event (no signature) with Fields
//     suppressed=N and credited=<line> when it was credited.
//
// "last message repeated N times" adds N to the previous event's Count;
// rsyslog's "message repeated N times: [ msg]" is an event of its own with
// Count N.

var dmesgParser = &Parser{
	Kind:    "dmesg",
	Title:   "kernel ring buffer (dmesg, -T, -r, -x, --time-format iso)",
	Command: "dmesg; dmesg -T; dmesg -r; dmesg -x; dmesg --time-format iso",
	Detect:  detectDmesg,
	Parse:   func(in *Input, r io.Reader) { newKlog(in, "dmesg").parse(r, (*klog).dmesgLine) },
}

var journalParser = &Parser{
	Kind:    "journal",
	Title:   "systemd journal (journalctl -k; short, short-iso, short-precise, short-monotonic, json)",
	Command: "journalctl -k --no-pager [-o short-iso|short-precise|short-monotonic|json]",
	Detect:  detectJournal,
	Parse:   func(in *Input, r io.Reader) { newKlog(in, "journal").parse(r, (*klog).journalLine) },
}

var syslogParser = &Parser{
	Kind:    "syslog",
	Title:   "syslog files (/var/log/messages, kern.log, syslog; RFC 3164, RFC 5424, RFC 3339 stamps, logread)",
	Command: "cat /var/log/messages; cat /var/log/kern.log; logread",
	Detect:  detectSyslog,
	Parse:   func(in *Input, r io.Reader) { newKlog(in, "syslog").parse(r, (*klog).syslogLine) },
}

// klog is the state of one kernel-log file being read.
type klog struct {
	in     *Input
	source string
	base   int // len(in.Out.Logs) when the file started
	last   int // index of the last event of this file, -1 none
	// lastSig is the index of the last event with a signature, -1 none.
	lastSig int
}

func newKlog(in *Input, source string) *klog {
	return &klog{in: in, source: source, base: len(in.Out.Logs), last: -1, lastSig: -1}
}

func (k *klog) parse(r io.Reader, line func(*klog, int, []byte)) {
	k.in.Lines(r, func(n int, b []byte) {
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		line(k, n, b)
	})
}

// kline is one decoded kernel or syslog line.
type kline struct {
	time      time.Time
	noYear    bool
	noZone    bool
	uptime    time.Duration
	hasUptime bool
	level     string
	host      string
	tag       string // program name; "kernel" for kernel lines
	pid       string
	msg       string // the message, after every prefix
	kernel    bool
	fields    map[string]string
}

// emit records one event for line n.
func (k *klog) emit(n int, raw string, l kline) {
	ev := event.LogEvent{
		Meta:      k.in.Meta(n),
		Source:    k.source,
		Text:      trimText(raw),
		Level:     l.level,
		Count:     1,
		Uptime:    l.uptime,
		HasUptime: l.hasUptime,
		NoYear:    l.noYear,
		NoZone:    l.noZone,
		Fields:    l.fields,
	}
	if !l.time.IsZero() && !l.noYear && !plausibleTime(l.time, l.noZone) {
		k.in.Errorf(n, "time %s is out of range", l.time.Format("2006-01-02T15:04:05"))
		l.time, l.noZone = time.Time{}, false
	}
	ev.Time = l.time
	lower := strings.ToLower(l.msg)
	var sig *Signature
	var fields map[string]string
	if l.kernel {
		sig, fields = matchSignature(KernelSignatures, l.msg, lower)
	} else if !systemProgram(l.tag) {
		sig, fields = matchSignature(AppSignatures, l.msg, lower)
		if sig == nil {
			sig, fields = haproxySignature(l.msg)
		}
	}
	if sig != nil {
		ev.Signature = sig.ID
		ev.Fields = mergeFields(ev.Fields, fields)
	}
	if l.kernel && sig == nil {
		if k.suppressed(&ev, l.msg) {
			return
		}
	}
	if !l.kernel && sig == nil {
		// Other programs' lines matter only when recognised (a signature,
		// or a request or pool-statistics line an application logged
		// through syslog), but they still end the previous event: a
		// continuation after them is theirs.
		f := requestFields(l.msg)
		if f == nil && isPoolStats(l.msg) {
			f = map[string]string{"kind": "pool-stats"}
		}
		if f == nil || systemProgram(l.tag) {
			if !k.repeated(l.msg) {
				k.last = -1
			}
			return
		}
		ev.Fields = mergeFields(ev.Fields, f)
	}
	if l.host != "" {
		ev.Fields = mergeFields(ev.Fields, map[string]string{"host": l.host})
	}
	if !l.kernel && l.tag != "" {
		ev.Fields = mergeFields(ev.Fields, map[string]string{"program": l.tag})
	}
	k.in.Out.Logs = append(k.in.Out.Logs, ev)
	k.last = len(k.in.Out.Logs) - 1
	if sig != nil {
		k.lastSig = k.last
	}
}

// systemProgram reports the host's own daemons, whose "timed out" and
// "connection refused" are about units and NTP, not the application's
// traffic: application signatures are not applied to them.
func systemProgram(tag string) bool {
	return strings.HasPrefix(tag, "systemd") || tag == "dbus-daemon" || tag == "CRON" || tag == "cron" || tag == "anacron" || tag == "rsyslogd"
}

var (
	reSuppressed = regexp.MustCompile(`^([\w.]+): (\d+) callbacks suppressed`)
	reMsgsSupp   = regexp.MustCompile(`^printk: (\d+) messages suppressed`)
	reRepeated   = regexp.MustCompile(`^last message repeated (\d+) times?`)
	reRepeatedRS = regexp.MustCompile(`^message repeated (\d+) times?: \[ ?(.*?)\]?$`)
)

// suppressed handles a rate-limit summary line; ev is the event for it,
// which is still recorded (with no signature). It reports false when the
// line is not one.
func (k *klog) suppressed(ev *event.LogEvent, msg string) bool {
	var fn, num string
	if m := reSuppressed.FindStringSubmatch(msg); m != nil {
		fn, num = m[1], m[2]
	} else if m := reMsgsSupp.FindStringSubmatch(msg); m != nil {
		fn, num = "printk", m[1]
	} else {
		return false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return false
	}
	target := -1
	switch fn {
	case "net_ratelimit", "__ratelimit", "printk":
		target = k.lastSig
	default:
		for i := len(k.in.Out.Logs) - 1; i >= k.base; i-- {
			if strings.Contains(k.in.Out.Logs[i].Text, fn) && k.in.Out.Logs[i].Fields["suppressed"] == "" {
				target = i
				break
			}
		}
	}
	ev.Fields = mergeFields(ev.Fields, map[string]string{"suppressed": num, "func": fn})
	if target >= 0 {
		k.in.Out.Logs[target].Count += n
		ev.Fields["credited"] = strconv.Itoa(k.in.Out.Logs[target].Ref.Line)
	}
	k.in.Out.Logs = append(k.in.Out.Logs, *ev)
	k.last = len(k.in.Out.Logs) - 1
	return true
}

// repeated handles syslogd's "last message repeated N times" (which has no
// program tag) by adding to the event of the line before, if that line made
// one.
func (k *klog) repeated(msg string) bool {
	m := reRepeated.FindStringSubmatch(msg)
	if m == nil {
		return false
	}
	c, err := strconv.Atoi(m[1])
	if err != nil || c <= 0 {
		return false
	}
	if k.last >= 0 {
		k.in.Out.Logs[k.last].Count += c
	}
	return true
}

// continuation joins an unstamped line to the previous event. It reports
// false when there is none to join to.
func (k *klog) continuation(line []byte) bool {
	if k.last < 0 {
		return false
	}
	ev := &k.in.Out.Logs[k.last]
	if len(ev.Text) < maxEventText {
		ev.Text = trimText(ev.Text + "\n" + string(bytes.TrimSpace(line)))
	}
	if ev.Signature == "" {
		t := string(line)
		if s, f := matchSignature(KernelSignatures, t, strings.ToLower(t)); s != nil {
			ev.Signature = s.ID
			ev.Fields = mergeFields(ev.Fields, f)
			k.lastSig = k.last
		}
	}
	return true
}

// maxEventText bounds the text kept for one event: a runaway continuation
// (a binary blob after a stamped line) must not grow one record forever.
const maxEventText = 4096

func trimText(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\ufffd")
	if len(s) > maxEventText {
		s = s[:maxEventText]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
	}
	return s
}

// plausibleTime reports whether t can be an instant of a log: years 1 to
// 9999 (what RFC 3339 and JSON can write), with a day's room at both ends
// for a wall time whose zone is still to be applied.
func plausibleTime(t time.Time, noZone bool) bool {
	if noZone {
		return t.After(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)) && t.Before(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	}
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

func mergeFields(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// --- dmesg ---------------------------------------------------------------

var (
	reDmesgX    = regexp.MustCompile(`^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:\s*(emerg|alert|crit|err|warn|notice|info|debug)\s*: `)
	reDmesgISO  = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{6})([+-]\d\d:?\d\d) ?`)
	reCaller    = regexp.MustCompile(`^\[\s*([TC]\d+)\] ?`)
	levelNames  = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	monthByName = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}
)

// splitPRI strips a leading "<N>" and returns its level name and facility.
func splitPRI(b []byte) (rest []byte, level string, facility int, ok bool) {
	if len(b) < 3 || b[0] != '<' {
		return b, "", 0, false
	}
	end := bytes.IndexByte(b[:min(len(b), 6)], '>')
	if end < 2 {
		return b, "", 0, false
	}
	n, err := strconv.Atoi(string(b[1:end]))
	if err != nil || n < 0 || n > 191 {
		return b, "", 0, false
	}
	return b[end+1:], levelNames[n&7], n >> 3, true
}

// dmesgStamp decodes a leading "[...]" stamp: seconds since boot or a -T
// ctime. It returns the rest of the line after the stamp and one space.
func dmesgStamp(b []byte, l *kline) (rest []byte, ok bool) {
	if len(b) < 3 || b[0] != '[' {
		return b, false
	}
	end := bytes.IndexByte(b[:min(len(b), 40)], ']')
	if end < 0 {
		return b, false
	}
	inner := bytes.TrimSpace(b[1:end])
	rest = b[end+1:]
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	if d, ok := parseUptime(inner); ok {
		l.uptime, l.hasUptime = d, true
		return rest, true
	}
	if t, ok := parseCtime(string(inner)); ok {
		l.time, l.noZone = t, true
		return rest, true
	}
	return b, false
}

// parseUptime reads "12345.678901" into a duration without going through
// floating point, so that stamps survive exactly.
func parseUptime(b []byte) (time.Duration, bool) {
	dot := bytes.IndexByte(b, '.')
	if dot < 1 || dot == len(b)-1 || len(b)-dot-1 > 9 {
		return 0, false
	}
	sec, err := strconv.ParseInt(string(b[:dot]), 10, 64)
	if err != nil || sec < 0 || sec > 1<<33 {
		return 0, false
	}
	frac := string(b[dot+1:])
	ns, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	if err != nil || ns < 0 {
		return 0, false
	}
	return time.Duration(sec)*time.Second + time.Duration(ns), true
}

// parseCtime reads "Sat Nov 21 21:54:54 2026" (also with a two-space day)
// as a wall time with no zone.
func parseCtime(s string) (time.Time, bool) {
	f := strings.Fields(s)
	if len(f) != 5 || len(f[0]) != 3 {
		return time.Time{}, false
	}
	if _, ok := monthByName[f[1]]; !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("Jan 2 15:04:05 2006", strings.Join(f[1:], " "))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func (k *klog) dmesgLine(n int, b []byte) {
	raw := b
	var l kline
	l.kernel = true
	if rest, lvl, _, ok := splitPRI(b); ok {
		b, l.level = rest, lvl
	} else if m := reDmesgX.FindSubmatch(b); m != nil {
		l.level = string(m[2])
		if l.level == "warn" {
			l.level = "warning"
		}
		b = b[len(m[0]):]
	}
	if m := reDmesgISO.FindSubmatch(b); m != nil {
		t, err := time.Parse("2006-01-02T15:04:05.000000-07:00", string(m[1])+"."+string(m[2])+colonZone(string(m[3])))
		if err != nil {
			k.in.Errorf(n, "bad dmesg time %q: %w", m[0], err)
			return
		}
		l.time = t.UTC()
		b = b[len(m[0]):]
	} else if rest, ok := dmesgStamp(b, &l); ok {
		b = rest
	} else if l.level != "" {
		// dmesg -r of a kernel booted with printk.time=0: no stamp at all.
	} else {
		if (raw[0] != ' ' && raw[0] != '\t') || !k.continuation(raw) {
			k.in.Errorf(n, "not a dmesg line: %q", clip(raw))
		}
		return
	}
	if m := reCaller.FindSubmatch(b); m != nil {
		l.fields = map[string]string{"caller": string(m[1])}
		b = b[len(m[0]):]
	}
	l.msg = string(b)
	k.emit(n, string(raw), l)
}

func colonZone(z string) string {
	if len(z) == 5 {
		return z[:3] + ":" + z[3:]
	}
	return z
}

func clip(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// --- syslog and journal short formats -----------------------------------

var (
	// RFC 3164 and journal short/short-precise: "Nov 24 13:45:11[.123456] ".
	reBSDStamp = regexp.MustCompile(`^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d{1,9})? `)
	// RFC 3339 (rsyslog, journal short-iso): "2026-11-21T22:02:05[.029994](+0000|+00:00|Z) ".
	reISOStamp = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)(Z|[+-]\d\d:?\d\d) `)
	// busybox logread: "Wed Mar 27 02:55:10 2019 kern.info ".
	reLogread = regexp.MustCompile(`^([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}) (\w+)\.(\w+) `)
	// journal short-unix: "1795298525.029994 ".
	reUnixStamp = regexp.MustCompile(`^(\d{9,11})\.(\d{6}) `)
	// A program tag: "kernel:", "haproxy[2120]:", "systemd-resolved[1]:".
	reTag = regexp.MustCompile(`^([^\s:\[\]]{1,64})(?:\[(\d+)\])?:(?: |$)`)
	// RFC 5424 after PRI: version, stamp, host, app, procid, msgid.
	re5424 = regexp.MustCompile(`^(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) `)
	// A host token: what syslog daemons write (names, addresses).
	reHost = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:%-]{0,254}$`)
)

// levelWords are not host names: "2026-... ERROR main: x" is an app line.
var levelWords = map[string]bool{"ERROR": true, "WARN": true, "WARNING": true, "INFO": true, "DEBUG": true, "TRACE": true, "FATAL": true, "CRITICAL": true, "error": true, "warn": true, "warning": true, "info": true, "debug": true}

// parseSyslogLine decodes one syslog-family line. ok is false when the line
// is not one (it may then be a continuation).
func parseSyslogLine(b []byte) (l kline, ok bool) {
	s := string(b)
	if rest, lvl, _, ok := splitPRI(b); ok {
		l.level = lvl
		s = string(rest)
		if m := re5424.FindStringSubmatch(s); m != nil && m[1] != "0" {
			return parse5424(l, m, s[len(m[0]):])
		}
	}
	switch {
	case reBSDStamp.MatchString(s):
		m := reBSDStamp.FindStringSubmatch(s)
		mon, ok := monthByName[m[1]]
		if !ok {
			return l, false
		}
		day, _ := strconv.Atoi(m[2])
		hh, _ := strconv.Atoi(m[3])
		mm, _ := strconv.Atoi(m[4])
		ss, _ := strconv.Atoi(m[5])
		if day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
			return l, false
		}
		ns := 0
		if m[6] != "" {
			frac := m[6][1:]
			ns, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
		}
		l.time = time.Date(0, mon, day, hh, mm, ss, ns, time.UTC)
		l.noYear, l.noZone = true, true
		s = s[len(m[0]):]
	case reISOStamp.MatchString(s):
		m := reISOStamp.FindStringSubmatch(s)
		t, err := time.Parse(time.RFC3339Nano, m[1]+isoZone(m[2]))
		if err != nil {
			return l, false
		}
		l.time = t.UTC()
		s = s[len(m[0]):]
	case reLogread.MatchString(s):
		m := reLogread.FindStringSubmatch(s)
		t, ok := parseCtime(m[1])
		if !ok {
			return l, false
		}
		l.time, l.noZone = t, true
		l.level = normLevel(m[3])
		s = s[len(m[0]):]
	case reUnixStamp.MatchString(s):
		m := reUnixStamp.FindStringSubmatch(s)
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		us, _ := strconv.ParseInt(m[2], 10, 64)
		l.time = time.Unix(sec, us*1000).UTC()
		s = s[len(m[0]):]
	default:
		return l, false
	}
	return syslogTail(l, s)
}

// syslogTail reads "host tag[pid]: msg" (the host may be missing).
func syslogTail(l kline, s string) (kline, bool) {
	if m := reTag.FindStringSubmatch(s); m == nil || strings.HasPrefix(s, "last message repeated") {
		// "host tag: msg" or "host last message repeated N times".
		sp := strings.IndexByte(s, ' ')
		if sp < 1 {
			return l, false
		}
		host := s[:sp]
		if !reHost.MatchString(host) || levelWords[host] {
			return l, false
		}
		l.host, s = host, s[sp+1:]
	}
	if strings.HasPrefix(s, "last message repeated ") {
		l.msg = s
		return l, true
	}
	m := reTag.FindStringSubmatch(s)
	if m == nil {
		return l, false
	}
	l.tag, l.pid = m[1], m[2]
	l.msg = s[len(m[0]):]
	l.kernel = l.tag == "kernel"
	if l.kernel {
		var st kline
		if rest, ok := dmesgStamp([]byte(l.msg), &st); ok && st.hasUptime {
			l.uptime, l.hasUptime = st.uptime, true
			l.msg = string(rest)
		}
	}
	return l, true
}

func parse5424(l kline, m []string, msg string) (kline, bool) {
	if m[2] != "-" {
		t, err := time.Parse(time.RFC3339Nano, m[2])
		if err != nil {
			return l, false
		}
		l.time = t.UTC()
	}
	if m[3] != "-" {
		l.host = m[3]
	}
	if m[4] != "-" {
		l.tag = m[4]
	}
	if m[5] != "-" {
		l.pid = m[5]
	}
	// Structured data: "-" or one or more [id k="v"] elements; values may
	// hold escaped \] and \".
	if strings.HasPrefix(msg, "-") {
		msg = strings.TrimPrefix(msg[1:], " ")
	} else {
		for strings.HasPrefix(msg, "[") {
			i, esc, inq := 1, false, false
			for ; i < len(msg); i++ {
				c := msg[i]
				if esc {
					esc = false
					continue
				}
				if c == '\\' {
					esc = true
				} else if c == '"' {
					inq = !inq
				} else if c == ']' && !inq {
					break
				}
			}
			if i >= len(msg) {
				return l, false
			}
			msg = msg[i+1:]
		}
		msg = strings.TrimPrefix(msg, " ")
	}
	msg = strings.TrimPrefix(msg, "\ufeff")
	l.msg = msg
	l.kernel = l.tag == "kernel"
	if l.kernel {
		var st kline
		if rest, ok := dmesgStamp([]byte(l.msg), &st); ok && st.hasUptime {
			l.uptime, l.hasUptime = st.uptime, true
			l.msg = string(rest)
		}
	}
	return l, true
}

func isoZone(z string) string {
	if len(z) == 5 { // +0000
		return z[:3] + ":" + z[3:]
	}
	return z
}

func normLevel(s string) string {
	s = strings.ToLower(s)
	switch s {
	case "warn":
		return "warning"
	case "error":
		return "err"
	}
	return s
}

func (k *klog) syslogLine(n int, b []byte) {
	if isJournalMarker(b) {
		k.marker(n, b)
		return
	}
	l, ok := parseSyslogLine(b)
	if !ok {
		if (b[0] == ' ' || b[0] == '\t') && k.continuation(b) {
			return
		}
		k.in.Errorf(n, "not a syslog line: %q", clip(b))
		return
	}
	k.syslogEvent(n, b, l)
}

func (k *klog) syslogEvent(n int, raw []byte, l kline) {
	if m := reRepeatedRS.FindStringSubmatch(l.msg); m != nil {
		// rsyslog: the message itself, N more times.
		c, err := strconv.Atoi(m[1])
		if err == nil && c > 0 {
			l.msg = m[2]
			start := len(k.in.Out.Logs)
			k.emit(n, string(raw), l)
			if len(k.in.Out.Logs) > start {
				k.in.Out.Logs[start].Count = c
			}
			return
		}
	}
	k.emit(n, string(raw), l)
}

// isJournalMarker reports journalctl's own lines: "-- Logs begin at ...",
// "-- Journal begins at ...", "-- Boot 3f2e... --", "-- Reboot --",
// "-- No entries --".
func isJournalMarker(b []byte) bool {
	return bytes.HasPrefix(b, []byte("-- ")) && bytes.HasSuffix(bytes.TrimSpace(b), []byte(" --"))
}

// marker records boundaries the timeline needs (reboots); the others are
// skipped.
func (k *klog) marker(n int, b []byte) {
	s := string(bytes.TrimSpace(b))
	if s == "-- Reboot --" || strings.HasPrefix(s, "-- Boot ") {
		// The boot happened between the lines around the marker: its time
		// is unknown, not the capture's.
		m := k.in.Meta(n)
		m.Time = time.Time{}
		k.in.Out.Logs = append(k.in.Out.Logs, event.LogEvent{
			Meta: m, Source: k.source, Text: s, Count: 1,
			Fields: map[string]string{"marker": "boot"},
		})
		k.last = -1
	}
}

// --- journal -------------------------------------------------------------

func (k *klog) journalLine(n int, b []byte) {
	t := bytes.TrimLeft(b, "\x1e \t") // json-seq record separators
	if len(t) > 0 && t[0] == '{' {
		k.journalJSON(n, t)
		return
	}
	if isJournalMarker(b) {
		k.marker(n, b)
		return
	}
	// short-monotonic: "[  414.105327] host kernel: msg".
	var st kline
	if rest, ok := dmesgStamp(b, &st); ok && st.hasUptime {
		l, ok := syslogTail(kline{}, string(rest))
		if !ok {
			k.in.Errorf(n, "not a journal line: %q", clip(b))
			return
		}
		l.uptime, l.hasUptime = st.uptime, true
		k.syslogEvent(n, b, l)
		return
	}
	l, ok := parseSyslogLine(b)
	if !ok {
		if (b[0] == ' ' || b[0] == '\t') && k.continuation(b) {
			return
		}
		k.in.Errorf(n, "not a journal line: %q", clip(b))
		return
	}
	k.syslogEvent(n, b, l)
}

// journalEntry holds the fields of journalctl -o json that matter here.
// MESSAGE is a string, an array of bytes (not valid UTF-8) or null.
type journalEntry struct {
	Message   json.RawMessage `json:"MESSAGE"`
	Realtime  string          `json:"__REALTIME_TIMESTAMP"`
	SourceMon string          `json:"_SOURCE_MONOTONIC_TIMESTAMP"`
	Monotonic string          `json:"__MONOTONIC_TIMESTAMP"`
	Priority  string          `json:"PRIORITY"`
	Ident     string          `json:"SYSLOG_IDENTIFIER"`
	Transport string          `json:"_TRANSPORT"`
	Hostname  string          `json:"_HOSTNAME"`
	PID       string          `json:"_PID"`
	BootID    string          `json:"_BOOT_ID"`
}

func (k *klog) journalJSON(n int, b []byte) {
	var e journalEntry
	if err := json.Unmarshal(b, &e); err != nil {
		k.in.Errorf(n, "bad journal json: %w", err)
		return
	}
	msg, err := journalMessage(e.Message)
	if err != nil {
		k.in.Errorf(n, "bad journal MESSAGE: %w", err)
		return
	}
	var l kline
	if e.Realtime != "" {
		us, err := strconv.ParseInt(e.Realtime, 10, 64)
		if err != nil {
			k.in.Errorf(n, "bad __REALTIME_TIMESTAMP %q: %w", e.Realtime, err)
			return
		}
		l.time = time.UnixMicro(us).UTC()
	}
	l.kernel = e.Transport == "kernel" || (e.Transport == "" && e.Ident == "kernel")
	if l.kernel && e.SourceMon != "" {
		if us, err := strconv.ParseInt(e.SourceMon, 10, 64); err == nil && us >= 0 && us < 1<<52 {
			l.uptime, l.hasUptime = time.Duration(us)*time.Microsecond, true
			// The realtime stamp is when journald read the record (late for
			// early-boot messages); the two monotonic stamps say how late.
			if rcv, err := strconv.ParseInt(e.Monotonic, 10, 64); err == nil && rcv >= us && rcv < 1<<52 && !l.time.IsZero() {
				l.time = l.time.Add(-time.Duration(rcv-us) * time.Microsecond)
			}
		}
	}
	if p, err := strconv.Atoi(e.Priority); err == nil && p >= 0 && p < 8 {
		l.level = levelNames[p]
	}
	l.host, l.tag, l.pid, l.msg = e.Hostname, e.Ident, e.PID, msg
	if e.BootID != "" && l.kernel {
		l.fields = map[string]string{"boot_id": e.BootID}
	}
	raw := msg
	if !l.kernel && l.tag != "" {
		raw = l.tag + ": " + msg
	}
	k.emit(n, raw, l)
}

func journalMessage(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var bs []int
	if err := json.Unmarshal(raw, &bs); err != nil {
		return "", err
	}
	out := make([]byte, 0, len(bs))
	for _, c := range bs {
		if c < 0 || c > 255 {
			return "", fmt.Errorf("byte %d out of range", c)
		}
		out = append(out, byte(c))
	}
	return strings.ToValidUTF8(string(out), "\ufffd"), nil
}

// --- detection -----------------------------------------------------------

// headLines returns the complete lines of head (a cut last line is dropped
// when head filled the detection window), without blank lines.
func headLines(head []byte) [][]byte {
	lines := bytes.Split(head, []byte("\n"))
	if len(head) >= DetectBytes && len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	var out [][]byte
	for _, l := range lines {
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// isText rejects binary heads: NUL bytes or mostly invalid UTF-8.
func isText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	bad := 0
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		head = head[size:]
	}
	return bad <= 4
}

// isDmesgLine reports whether b starts like a dmesg line.
func isDmesgLine(b []byte) bool {
	if rest, _, _, ok := splitPRI(b); ok {
		b = rest
	} else if m := reDmesgX.FindIndex(b); m != nil {
		b = b[m[1]:]
	}
	if reDmesgISO.Match(b) {
		return true
	}
	var l kline
	_, ok := dmesgStamp(b, &l)
	return ok
}

func detectDmesg(head []byte) bool {
	lines := headLines(head)
	if len(lines) == 0 || !isText(head) || !isDmesgLine(lines[0]) {
		return false
	}
	stamped := 0
	for _, l := range lines {
		if isDmesgLine(l) {
			stamped++
		} else if l[0] != ' ' && l[0] != '\t' {
			return false
		}
	}
	return stamped*2 >= len(lines)
}

func detectJournal(head []byte) bool {
	lines := headLines(head)
	if len(lines) == 0 || !isText(head) {
		return false
	}
	first := lines[0]
	for _, p := range []string{"-- Logs begin at ", "-- Journal begins at ", "-- No entries --", "-- Boot "} {
		if bytes.HasPrefix(first, []byte(p)) {
			return true
		}
	}
	if t := bytes.TrimLeft(first, "\x1e"); len(t) > 0 && t[0] == '{' {
		return bytes.Contains(t, []byte(`"__REALTIME_TIMESTAMP"`)) || bytes.Contains(t, []byte(`"__CURSOR"`))
	}
	// short-monotonic: "[  414.105327] vm kernel: ..." on every line, with
	// the same host. dmesg lines differ in their first words.
	if len(lines) < 2 {
		return false
	}
	host := ""
	for _, b := range lines {
		var st kline
		rest, ok := dmesgStamp(b, &st)
		if !ok || !st.hasUptime {
			return false
		}
		l, ok := syslogTail(kline{}, string(rest))
		if !ok || l.host == "" || (host != "" && l.host != host) {
			return false
		}
		host = l.host
	}
	return true
}

func detectSyslog(head []byte) bool {
	lines := headLines(head)
	if len(lines) == 0 || !isText(head) {
		return false
	}
	i := 0
	for i < len(lines) && isJournalMarker(lines[i]) {
		i++
	}
	if i == len(lines) {
		return false
	}
	if _, ok := parseSyslogLine(lines[i]); !ok {
		return false
	}
	good := 0
	for _, l := range lines[i:] {
		if _, ok := parseSyslogLine(l); ok || l[0] == ' ' || l[0] == '\t' || isJournalMarker(l) {
			good++
		}
	}
	return good*10 >= (len(lines)-i)*8
}
