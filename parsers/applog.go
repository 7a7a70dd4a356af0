package parsers

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Application logs are the loosest format netmortem reads, so the detector
// is strict: the file's first line must begin with a stamp layout or a log
// prefix it knows. An entry is such a line plus the unstamped lines after
// it (tracebacks, Java stack frames, JUL's second line); the entry's stamp
// times every signature found in it. Only lines that match an application
// signature become events: one per signature per entry, referring to the
// line that shows it.
//
// Stamp layouts (the zone is known only where printed; NoZone otherwise):
//
//	2006/01/02 15:04:05[.000000]            Go log, nginx error.log
//	2006-01-02 15:04:05,000 / .000          Python logging, log4j, logback
//	2006-01-02T15:04:05.000Z[07:00]         RFC 3339
//	[2006-01-02 15:04:05,000]               bracketed ISO (log4j "[%d]")
//	1.2.3.4 - - [02/Jan/2006:15:04:05 -0700] nginx/Apache access log
//	E1121 22:03:53.123456  1234 file.go:42]  klog/glog (no year)
//	Nov 21, 2026 10:03:53 PM                java.util.logging
//	21-Nov-2026 22:03:53.123                Tomcat
//	1234:M 21 Nov 2026 22:03:53.123 #       redis-server
//	127.0.0.1:43656 [21/Nov/2026:22:06:21.636] HAProxy "log ... format raw"
//	time=2026-11-21T22:03:38.351Z level=... logfmt (Go slog, logrus)
//	{"time":"...","level":"..."}            JSON lines (slog, zap, logrus, bunyan)
//	ERROR:root:message                      Python logging's default (no time)
//
// HAProxy logs usually arrive through syslog and are read by the syslog
// parser, which applies the same signatures and reads HAProxy's
// termination flags; its raw format is read here.

var appLogParser = &Parser{
	Kind:    "app-log",
	Title:   "application logs (Go, Python, Java, nginx, HAProxy, Thrift, Redis clients)",
	Command: "the application's log file; nginx error.log and access.log",
	Detect:  detectAppLog,
	Parse:   parseAppLog,
}

var (
	reGoStamp     = regexp.MustCompile(`^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(\.\d{1,9})?(?: |$)`)
	reISOAppStamp = regexp.MustCompile(`^\[?(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?\]?(?:[ \t]|$)`)
	reAccessStamp = regexp.MustCompile(`^\S+ \S+ \S+ \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) ([+-]\d{4})\] "`)
	reKlogStamp   = regexp.MustCompile(`^([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s+\d+ \S+:\d+\] `)
	reJULStamp    = regexp.MustCompile(`^([A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M) `)
	reTomcatStamp = regexp.MustCompile(`^(\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d\.\d{3}) `)
	reHAProxyRaw  = regexp.MustCompile(`^\S+:\d+ \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] `)
	reRedisStamp  = regexp.MustCompile(`^\d+:[XCSM] (\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3}) [.\-*#] `)
	reLogfmt      = regexp.MustCompile(`^(?:time|ts|t|level|lvl)=`)
	reLogfmtTime  = regexp.MustCompile(`(?:^| )(?:time|ts|t)="?([^"\s]+)"?`)
	reLogfmtLevel = regexp.MustCompile(`(?:^| )(?:level|lvl)="?(\w+)"?`)
	rePyBasic     = regexp.MustCompile(`^(DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.-]*:`)
	// A level is an upper-case word, or a lower-case one in brackets as
	// nginx prints it ("Accept error" is not a level).
	reLevelWord = regexp.MustCompile(`\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|SEVERE|PANIC)\b|\[(trace|debug|info|notice|warn|warning|error|crit|alert|emerg)\]`)
	reJULLevel  = regexp.MustCompile(`^(SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): `)
)

// appStamp is what the start of an entry said.
type appStamp struct {
	time   time.Time
	noYear bool
	noZone bool
	level  string
	// bad is set when the line had a stamp's shape but not a valid date.
	bad error
}

// parseAppStamp recognises an entry start. ok is false for any other line.
func parseAppStamp(b []byte) (st appStamp, ok bool) {
	s := string(b[:min(len(b), 256)])
	switch {
	case reGoStamp.MatchString(s):
		m := reGoStamp.FindStringSubmatch(s)
		st.time, st.bad = time.Parse("2006/01/02 15:04:05.999999999", m[0][:19]+m[7])
		st.noZone = true
		st.level = levelAfter(s[len(m[0]):])
	case reISOAppStamp.MatchString(s):
		m := reISOAppStamp.FindStringSubmatch(s)
		frac := ""
		if m[3] != "" {
			frac = "." + m[3]
		}
		if m[4] != "" {
			var t time.Time
			t, st.bad = time.Parse(time.RFC3339Nano, m[1]+"T"+m[2]+frac+isoZone(m[4]))
			st.time = t.UTC()
		} else {
			st.time, st.bad = time.Parse("2006-01-02T15:04:05.999999999", m[1]+"T"+m[2]+frac)
			st.noZone = true
		}
		st.level = levelAfter(s[len(m[0]):])
	case reAccessStamp.MatchString(s):
		m := reAccessStamp.FindStringSubmatch(s)
		var t time.Time
		t, st.bad = time.Parse("02/Jan/2006:15:04:05 -0700", m[1]+" "+m[2])
		st.time = t.UTC()
	case reKlogStamp.MatchString(s):
		m := reKlogStamp.FindStringSubmatch(s)
		mon, _ := strconv.Atoi(m[2])
		day, _ := strconv.Atoi(m[3])
		hh, _ := strconv.Atoi(m[4])
		mm, _ := strconv.Atoi(m[5])
		ss, _ := strconv.Atoi(m[6])
		us, _ := strconv.Atoi(m[7])
		if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
			st.bad = errBadStamp
		}
		st.time = time.Date(0, time.Month(mon), day, hh, mm, ss, us*1000, time.UTC)
		st.noYear, st.noZone = true, true
		st.level = map[string]string{"I": "info", "W": "warning", "E": "error", "F": "fatal"}[m[1]]
	case reJULStamp.MatchString(s):
		m := reJULStamp.FindStringSubmatch(s)
		st.time, st.bad = time.Parse("Jan 2, 2006 3:04:05 PM", m[1])
		st.noZone = true
	case reTomcatStamp.MatchString(s):
		m := reTomcatStamp.FindStringSubmatch(s)
		st.time, st.bad = time.Parse("02-Jan-2006 15:04:05.000", m[1])
		st.noZone = true
		st.level = levelAfter(s[len(m[0]):])
	case reHAProxyRaw.MatchString(s):
		// HAProxy's "log stdout format raw": the accept date, local time.
		m := reHAProxyRaw.FindStringSubmatch(s)
		st.time, st.bad = time.Parse("02/Jan/2006:15:04:05.000", m[1])
		st.noZone = true
	case reRedisStamp.MatchString(s):
		m := reRedisStamp.FindStringSubmatch(s)
		st.time, st.bad = time.Parse("2 Jan 2006 15:04:05.000", m[1])
		st.noZone = true
	case reLogfmt.MatchString(s):
		if m := reLogfmtTime.FindStringSubmatch(s); m != nil {
			st = stampValue(m[1])
		}
		if m := reLogfmtLevel.FindStringSubmatch(s); m != nil {
			st.level = appLevel(m[1])
		}
	case len(s) > 2 && s[0] == '{' && s[1] == '"':
		return jsonStamp(b)
	case rePyBasic.MatchString(s):
		st.level = appLevel(rePyBasic.FindStringSubmatch(s)[1])
	default:
		return st, false
	}
	if st.bad == nil && !st.time.IsZero() && !st.noYear && !plausibleTime(st.time, st.noZone) {
		st.bad = errBadStamp
	}
	if st.bad != nil {
		st.time = time.Time{}
		st.noYear, st.noZone = false, false
	}
	return st, true
}

// appLevel is an application's level, lowercased, with the two common
// spellings of warning and error folded.
func appLevel(s string) string {
	s = strings.ToLower(s)
	switch s {
	case "warn":
		return "warning"
	case "err":
		return "error"
	}
	return s
}

type stampError string

func (e stampError) Error() string { return string(e) }

const errBadStamp = stampError("date out of range")

// levelAfter finds the level word near the start of what follows a stamp.
func levelAfter(s string) string {
	if len(s) > 48 {
		s = s[:48]
	}
	if m := reLevelWord.FindStringSubmatch(s); m != nil {
		return appLevel(m[1] + m[2])
	}
	return ""
}

// stampValue reads a time written as RFC 3339 or as epoch seconds (or ms,
// µs, ns, told apart by size).
func stampValue(v string) appStamp {
	var st appStamp
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		st.time = t.UTC()
		return st
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && !math.IsInf(f, 0) {
		for f > 1e11 { // ms, µs, ns
			f /= 1000
		}
		sec, frac := math.Modf(f)
		st.time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		return st
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			st.time, st.noZone = t, true
			return st
		}
	}
	st.bad = errBadStamp
	return st
}

var jsonTimeKeys = []string{"time", "ts", "timestamp", "@timestamp", "t", "date"}
var jsonLevelKeys = []string{"level", "lvl", "severity", "levelname", "log.level"}

func jsonStamp(b []byte) (appStamp, bool) {
	var st appStamp
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return st, false
	}
	found := false
	for _, k := range jsonTimeKeys {
		switch v := m[k].(type) {
		case string:
			st, found = stampValue(v), true
		case json.Number:
			st, found = stampValue(v.String()), true
		}
		if found {
			break
		}
	}
	for _, k := range jsonLevelKeys {
		if v, ok := m[k].(string); ok {
			st.level = appLevel(v)
			found = true
			break
		}
	}
	if st.bad == nil && !st.time.IsZero() && !plausibleTime(st.time, st.noZone) {
		st.bad = errBadStamp
	}
	if st.bad != nil {
		st.time = time.Time{}
		st.noZone = false
	}
	return st, found
}

func detectAppLog(head []byte) bool {
	lines := headLines(head)
	if len(lines) == 0 || !isText(head) {
		return false
	}
	st, ok := parseAppStamp(lines[0])
	return ok && st.bad == nil
}

// appEntry is the entry being read.
type appEntry struct {
	line  int
	st    appStamp
	seen  map[string]bool // signatures already recorded for this entry
	valid bool
}

func parseAppLog(in *Input, r io.Reader) {
	var cur appEntry
	in.Lines(r, func(n int, b []byte) {
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		if st, ok := parseAppStamp(b); ok {
			if st.bad != nil {
				in.Errorf(n, "bad timestamp: %v", st.bad)
			}
			cur = appEntry{line: n, st: st, valid: true}
		} else if cur.valid && cur.st.level == "" {
			if m := reJULLevel.FindSubmatch(b); m != nil {
				cur.st.level = appLevel(string(m[1]))
			}
		}
		text := string(b)
		sig, fields := matchSignature(AppSignatures, text, strings.ToLower(text))
		if sig == nil {
			sig, fields = haproxySignature(text)
		}
		if sig == nil {
			// Request lines with a duration or a server-side status, and
			// pool statistics, have no signature but carry what the
			// analyzers measure (latency growth, a pool in full use).
			if f := requestFields(text); f != nil || isPoolStats(text) {
				ev := event.LogEvent{Meta: in.Meta(n), Source: "app", Text: trimText(text), Level: cur.st.level, Count: 1, Fields: f}
				if f == nil {
					ev.Fields = map[string]string{"kind": "pool-stats"}
				}
				ev.Time, ev.NoYear, ev.NoZone = cur.st.time, cur.st.noYear, cur.st.noZone
				in.Out.Logs = append(in.Out.Logs, ev)
			}
			return
		}
		if cur.seen[sig.ID] {
			return
		}
		if cur.seen == nil {
			cur.seen = map[string]bool{}
		}
		cur.seen[sig.ID] = true
		fields = mergeFields(fields, appFields(text))
		ev := event.LogEvent{
			Meta:      in.Meta(n),
			Source:    "app",
			Signature: sig.ID,
			Text:      trimText(text),
			Level:     cur.st.level,
			Count:     1,
			Fields:    fields,
		}
		if cur.valid {
			ev.Time, ev.NoYear, ev.NoZone = cur.st.time, cur.st.noYear, cur.st.noZone
			if cur.line != n {
				ev.Fields = mergeFields(ev.Fields, map[string]string{"entry_line": strconv.Itoa(cur.line)})
			}
		} else {
			// A signature before the first stamped line: its time is unknown.
			ev.Time = time.Time{}
		}
		in.Out.Logs = append(in.Out.Logs, ev)
	})
}

var (
	// `"GET /api/order?id=1 HTTP/1.1" 200 0.250s` and the access-log form
	// `"GET / HTTP/1.1" 502 157 "-" "curl/7.88.1"`.
	reRequest = regexp.MustCompile(`"[A-Z]{3,7} \S+ HTTP/\d(?:\.\d)?" (\d{3})\b`)
	rePoolKV  = regexp.MustCompile(`\b[a-z_]+[=:] ?\d+\b`)
)

// requestFields reads an HTTP request line: its status, and its duration
// when the last token is one ("0.250s", "35ms", or nginx's bare seconds
// "0.003"). Lines with neither a duration nor a server-side status (5xx,
// 499) are not kept: they would only fill memory.
func requestFields(s string) map[string]string {
	m := reRequest.FindStringSubmatchIndex(s)
	if m == nil {
		return nil
	}
	status := s[m[2]:m[3]]
	f := map[string]string{"kind": "request", "status": status}
	fs := strings.Fields(s[m[1]:])
	if len(fs) > 0 {
		last := strings.Trim(fs[len(fs)-1], `"`)
		if d, err := time.ParseDuration(last); err == nil && d >= 0 && last[0] >= '0' && last[0] <= '9' {
			f["duration"] = last
		} else if sec, err := strconv.ParseFloat(last, 64); err == nil && strings.Contains(last, ".") && sec >= 0 && sec < 1e6 {
			f["duration"] = last + "s"
		}
	}
	if f["duration"] == "" && status[0] != '5' && status != "499" {
		return nil
	}
	return f
}

// isPoolStats reports a connection pool's statistics line: "db pool:
// max_open=2 open=2 in_use=2 idle=0 wait_count=15".
func isPoolStats(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "pool") && len(rePoolKV.FindAllStringIndex(l, 3)) >= 3
}

var (
	// Go: "read tcp 127.0.0.1:48250->127.0.0.1:36719: read: ...".
	reGoConn = regexp.MustCompile(`\b(?:read|write|dial|accept) (?:tcp|tcp4|tcp6|udp)\d? (\S+?)->(\S+?):(?: |$)`)
	reGoDial = regexp.MustCompile(`\bdial (?:tcp|tcp4|tcp6|udp)\d? ([^\s>]+?):(?: |$)`)
	// nginx: ", client: 127.0.0.1, ... upstream: "http://127.0.0.1:1/refused"".
	reNginxClient   = regexp.MustCompile(`, client: ([^,]+)`)
	reNginxUpstream = regexp.MustCompile(`, upstream: "(?:[a-z]+://)?([^/"]+)`)
	reErrno         = regexp.MustCompile(`\((\d{1,3}): [A-Z]|\[Errno (\d{1,3})\]|Error\((\d{1,3}), `)
	reAddrPort      = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}\b|\[[0-9a-fA-F:.]+\]:\d{1,5}`)
)

// appFields pulls the peer and errno out of an application line.
func appFields(s string) map[string]string {
	f := map[string]string{}
	if m := reGoConn.FindStringSubmatch(s); m != nil {
		f["local"], f["remote"] = m[1], m[2]
	} else if m := reGoDial.FindStringSubmatch(s); m != nil {
		f["remote"] = m[1]
	}
	if m := reNginxClient.FindStringSubmatch(s); m != nil {
		f["client"] = m[1]
	}
	if m := reNginxUpstream.FindStringSubmatch(s); m != nil {
		f["upstream"] = m[1]
	}
	if len(f) == 0 {
		if a := reAddrPort.FindString(s); a != "" {
			f["addr"] = a
		}
	}
	if m := reErrno.FindStringSubmatch(s); m != nil {
		for _, v := range m[1:] {
			if v != "" {
				f["errno"] = v
			}
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

var (
	// HAProxy httplog: `... [21/Nov/2026:22:06:21.636] fe be/srv 0/-1/-1/-1/0 503 217 - - SC-- ...`.
	reHAProxyHTTP = regexp.MustCompile(`\] \S+ (\S+)/(\S+) -?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+ -?\d+ \+?\d+ \S+ \S+ ([-A-Za-z]{4}) `)
	// HAProxy tcplog: `... [date] fe be/srv 0/0/5007 212 sD 0/0/0/0/0 0/0`.
	reHAProxyTCP = regexp.MustCompile(`\] \S+ (\S+)/(\S+) -?\d+/-?\d+/\+?-?\d+ \+?\d+ ([-A-Za-z]{2,4}) `)
)

// haproxySignature reads an HAProxy traffic line's termination state: the
// first letter says who ended the session (s/c: a server/client timeout, S:
// the server aborted or refused), the second in which phase (C: connect).
func haproxySignature(msg string) (*Signature, map[string]string) {
	m := reHAProxyHTTP.FindStringSubmatch(msg)
	if m == nil {
		m = reHAProxyTCP.FindStringSubmatch(msg)
	}
	if m == nil || len(m[3]) < 2 {
		return nil, nil
	}
	flags := m[3]
	id := ""
	switch {
	case flags[0] == 's' || flags[0] == 'c':
		id = "timeout"
	case flags[0] == 'S' && flags[1] == 'C':
		id = "conn-refused"
	case flags[0] == 'S':
		id = "conn-reset"
	default:
		return nil, nil
	}
	return SignatureByID(id), map[string]string{"termination": flags, "backend": m[1], "server": m[2]}
}
