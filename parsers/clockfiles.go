package parsers

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Clock files anchor a host's time. Each is one line:
//
//	date            Sat Nov 21 22:02:23 UTC 2026     → Clock{Kind: "date"}
//	date -R         Sat, 21 Nov 2026 22:02:23 +0000
//	date -Iseconds  2026-11-21T22:02:23+00:00 (also -Ins, --rfc-3339)
//	date +%s        1795298543 (also +%s.%N)
//	uptime -s       2026-11-20 08:00:01              → Clock{Kind: "boot", NoZone}
//	/proc/uptime    483.01 855.79                    → Clock{Kind: "uptime"}
//
// A zone printed as a numeric offset, UTC or GMT is exact; any other
// abbreviation (CST means three different offsets) leaves the clock's
// At a wall time with NoZone set, whose year and month still place syslog
// stamps. /proc/uptime gives the boot instant (At) only when the collection
// header dated the file; otherwise Uptime alone is kept and ResolveTimes
// pairs it with the host's date clock.

var dateParser = &Parser{
	Kind:    "date",
	Title:   "wall clock (date, date -R, date -Iseconds, date +%s)",
	Command: "date; date -R; date -Iseconds; date +%s",
	Detect:  func(head []byte) bool { _, ok := oneLine(head, parseDateLine); return ok },
	Parse: func(in *Input, r io.Reader) {
		clockFile(in, r, "date", parseDateLine)
	},
}

var uptimeSinceParser = &Parser{
	Kind:    "uptime-since",
	Title:   "boot time (uptime -s)",
	Command: "uptime -s",
	Detect:  func(head []byte) bool { _, ok := oneLine(head, parseUptimeSince); return ok },
	Parse: func(in *Input, r io.Reader) {
		clockFile(in, r, "uptime -s", parseUptimeSince)
	},
}

var procUptimeParser = &Parser{
	Kind:    "proc-uptime",
	Title:   "seconds since boot (/proc/uptime)",
	Command: "cat /proc/uptime",
	Detect:  func(head []byte) bool { _, ok := oneLine(head, parseProcUptime); return ok },
	Parse: func(in *Input, r io.Reader) {
		clockFile(in, r, "/proc/uptime", parseProcUptime)
	},
}

// oneLine applies parse to a head that is exactly one non-blank line.
func oneLine(head []byte, parse func(string) (event.Clock, bool)) (event.Clock, bool) {
	if len(head) >= DetectBytes {
		return event.Clock{}, false
	}
	lines := headLines(head)
	if len(lines) != 1 {
		return event.Clock{}, false
	}
	return parse(strings.TrimSpace(string(lines[0])))
}

func clockFile(in *Input, r io.Reader, what string, parse func(string) (event.Clock, bool)) {
	done := false
	in.Lines(r, func(n int, b []byte) {
		s := string(bytes.TrimSpace(b))
		if s == "" {
			return
		}
		if done {
			in.Errorf(n, "%s prints one line; extra line ignored", what)
			return
		}
		done = true
		c, ok := parse(s)
		if ok && !c.At.IsZero() && !plausibleTime(c.At, c.NoZone) {
			ok = false
		}
		if !ok {
			in.Errorf(n, "not %s output: %q", what, clip(b))
			return
		}
		// The record's own time is when the clock was read: the header's
		// date, or the date itself.
		c.Meta = in.Meta(n)
		if !plausibleTime(c.Meta.Time, false) {
			c.Meta.Time = time.Time{} // a header date JSON cannot write
		}
		if c.Kind == "date" && !c.NoZone {
			c.Meta.Time = c.At
		}
		if c.Kind == "uptime" && !c.Meta.Time.IsZero() {
			if at := c.Meta.Time.Add(-c.Uptime); plausibleTime(at, false) {
				c.At = at
			}
		}
		in.Out.Clocks = append(in.Out.Clocks, c)
	})
	if !done {
		in.Errorf(0, "empty %s file", what)
	}
}

var (
	reDateDefault = regexp.MustCompile(`^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d) ([A-Za-z][A-Za-z0-9+-]{0,9}|[+-]\d{2,4}) (\d{4})$`)
	reDateEpoch   = regexp.MustCompile(`^(\d{10})(?:\.(\d{1,9}))?$`)
	reUptimeSince = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	reProcUptime  = regexp.MustCompile(`^(\d+\.\d\d) (\d+\.\d\d)$`)
)

// exactZones are the abbreviations whose offset is not in doubt.
var exactZones = map[string]bool{"UTC": true, "GMT": true, "UCT": true, "Z": true}

func parseDateLine(s string) (event.Clock, bool) {
	c := event.Clock{Kind: "date"}
	if m := reDateDefault.FindStringSubmatch(s); m != nil {
		wall, err := time.Parse("Jan 2 15:04:05 2006", m[1]+" "+m[2]+" "+m[3]+" "+m[5])
		if err != nil {
			return c, false
		}
		c.Zone = m[4]
		switch {
		case exactZones[m[4]]:
			c.At = wall
		case m[4][0] == '+' || m[4][0] == '-':
			off, ok := parseOffset(m[4])
			if !ok {
				return c, false
			}
			c.At = wall.Add(-off)
		default:
			c.At, c.NoZone = wall, true
		}
		return c, true
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC3339Nano, "2006-01-02T15:04:05,999999999-07:00", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			c.At = t.UTC()
			c.Zone = t.Format("-07:00")
			return c, true
		}
	}
	if m := reDateEpoch.FindStringSubmatch(s); m != nil {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		// A bare 10-digit number is a date +%s only in a plausible range
		// (2004-11 to 2100) and not a power-of-two-ish limit some /proc/sys
		// file prints; value files are routed by path before this.
		if sec < 1100000000 || sec > 4102444800 || sec == 2147483647 || sec == 2147483648 || sec == 4294967295 {
			return c, false
		}
		ns := int64(0)
		if m[2] != "" {
			ns, _ = strconv.ParseInt(m[2]+strings.Repeat("0", 9-len(m[2])), 10, 64)
		}
		c.At = time.Unix(sec, ns).UTC()
		return c, true
	}
	return c, false
}

// parseOffset reads +0800, +08 or -0530 as a duration east of UTC.
func parseOffset(s string) (time.Duration, bool) {
	if len(s) < 3 {
		return 0, false
	}
	sign := time.Duration(1)
	if s[0] == '-' {
		sign = -1
	}
	d := strings.ReplaceAll(s[1:], ":", "")
	if len(d) != 2 && len(d) != 4 {
		return 0, false
	}
	h, err := strconv.Atoi(d[:2])
	if err != nil || h > 14 {
		return 0, false
	}
	m := 0
	if len(d) == 4 {
		if m, err = strconv.Atoi(d[2:]); err != nil || m > 59 {
			return 0, false
		}
	}
	return sign * (time.Duration(h)*time.Hour + time.Duration(m)*time.Minute), true
}

func parseUptimeSince(s string) (event.Clock, bool) {
	if !reUptimeSince.MatchString(s) {
		return event.Clock{}, false
	}
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		return event.Clock{}, false
	}
	return event.Clock{Kind: "boot", At: t, NoZone: true}, true
}

func parseProcUptime(s string) (event.Clock, bool) {
	m := reProcUptime.FindStringSubmatch(s)
	if m == nil {
		return event.Clock{}, false
	}
	d, ok := parseUptime([]byte(m[1]))
	if !ok {
		return event.Clock{}, false
	}
	return event.Clock{Kind: "uptime", Uptime: d}, true
}
