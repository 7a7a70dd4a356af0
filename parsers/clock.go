package parsers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	// --tz names come from the zone database built into the binary when
	// the system has none, so that they mean the same on every machine.
	_ "time/tzdata"

	"github.com/netmortem/netmortem/parsers/event"
)

// ResolveTimes places, per host, the log events whose stamps could not be
// read as instants on their own, once every file of the bundle is parsed:
//
//   - raw dmesg lines (HasUptime, zero Time): Time = boot + Uptime;
//   - syslog stamps without a year (NoYear): the year is opts.Year, else the
//     year of the host's wall clock; a month after the reference month (the
//     clock's, or with --year alone the file's last) is the year before;
//   - local stamps without a zone (NoZone): the zone is opts.TZ, else the
//     zone the host's clocks printed, else the one zone all hosts agree on.
//
// The wall clock is a Clock of kind "date" (a date file) or "header" (a
// collection header; see HeaderClock). The boot time comes, best first,
// from a "boot" clock (/proc/stat btime), an "uptime" clock whose At is
// known (/proc/uptime in a dated file), a dmesg -T or otherwise timed line
// with the same message as a raw dmesg line, uptime -s (a boot clock with
// NoZone), or /proc/uptime paired with the date clock.
//
// Placed events have their NoYear/NoZone flags cleared. An event that
// cannot be placed gets a zero Time (unknown) and keeps its flags; each
// file and reason gives one warning. Nothing here reads the running
// machine's clock or zone.
func ResolveTimes(ev *event.Evidence, opts Options) (warnings []string) {
	r := resolver{ev: ev, opts: opts, warn: map[string]map[string]int{}}
	if opts.TZ != "" {
		loc, err := zoneLocation(opts.TZ, true)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("--tz %q: %v; ignored", opts.TZ, err))
		} else {
			r.tz = loc
		}
	}
	hosts := map[string]bool{}
	for i := range ev.Logs {
		hosts[ev.Logs[i].Host] = true
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	r.bundleZone = r.agreedZone(names)
	for _, h := range names {
		r.host(h)
	}
	return append(warnings, r.warnings()...)
}

// HeaderClock is the wall clock a collection header gives: the bundle
// walker records one per dated file so that ResolveTimes can use it (the
// parsers do not).
func HeaderClock(in *Input) (event.Clock, bool) {
	if in.Header.Date.IsZero() || !plausibleTime(in.Header.Date, false) {
		return event.Clock{}, false
	}
	line := 1
	return event.Clock{
		Meta: event.Meta{Ref: in.Ref(line), Time: in.Header.Date, Host: in.Host},
		Kind: "header", At: in.Header.Date, Zone: in.Header.Zone,
	}, true
}

type resolver struct {
	ev         *event.Evidence
	opts       Options
	tz         *time.Location
	bundleZone *time.Location
	warn       map[string]map[string]int // file → reason → lines
}

const (
	whyNoYear   = "have no year; pass --year"
	whyNoZone   = "have no time zone; pass --tz"
	whyNoBoot   = "are seconds since boot and the boot time is unknown; add /proc/stat, uptime -s, or /proc/uptime with a date"
	whyNotBoot  = "are seconds since a boot later than the host's clock allows (a previous boot's dmesg?); left unplaced"
	whyBadDate  = "have a date that does not exist in the year found"
	bootSlack   = 5 * time.Minute
	unknownFile = "(unknown file)"
)

func (r *resolver) note(file, why string) {
	if file == "" {
		file = unknownFile
	}
	if r.warn[file] == nil {
		r.warn[file] = map[string]int{}
	}
	r.warn[file][why]++
}

func (r *resolver) warnings() []string {
	var out []string
	for file, m := range r.warn {
		for why, n := range m {
			noun := "lines"
			if n == 1 {
				noun = "line"
				why = strings.Replace(strings.Replace(why, "have ", "has ", 1), "are ", "is ", 1)
			}
			out = append(out, fmt.Sprintf("%s: %d %s %s", file, n, noun, why))
		}
	}
	sort.Strings(out)
	return out
}

// wall is a host's reference wall clock.
type wall struct {
	at     time.Time // exact instant, or wall time when noZone
	noZone bool
	zone   string
	ok     bool
}

// clocks returns the host's wall clock (the latest exact one, else the
// latest zone-less one) and the zone its clocks printed.
func (r *resolver) clocks(host string) (w wall, zone *time.Location) {
	var exact, loose wall
	for _, c := range r.ev.Clocks {
		if c.Host != host || c.At.IsZero() || (c.Kind != "date" && c.Kind != "header") || !plausibleTime(c.At, c.NoZone) {
			continue
		}
		if c.NoZone {
			if !loose.ok || c.At.After(loose.at) {
				loose = wall{at: c.At, noZone: true, zone: c.Zone, ok: true}
			}
			continue
		}
		if !exact.ok || c.At.After(exact.at) {
			exact = wall{at: c.At, zone: c.Zone, ok: true}
		}
	}
	// The zone: a date file's beats a header's; both print it as set on
	// the host.
	for _, kind := range []string{"date", "header"} {
		for _, c := range r.ev.Clocks {
			if c.Host == host && c.Kind == kind && c.Zone != "" && !c.NoZone {
				if loc, err := zoneLocation(c.Zone, false); err == nil {
					zone = loc
					break
				}
			}
		}
		if zone != nil {
			break
		}
	}
	if exact.ok {
		return exact, zone
	}
	return loose, zone
}

// agreedZone is the zone every host with a clock agrees on, or nil.
func (r *resolver) agreedZone(hosts []string) *time.Location {
	var agreed *time.Location
	for _, h := range hosts {
		_, z := r.clocks(h)
		if z == nil {
			continue
		}
		if agreed != nil && agreed.String() != z.String() {
			return nil
		}
		agreed = z
	}
	return agreed
}

func (r *resolver) host(host string) {
	w, zone := r.clocks(host)
	loc := r.tz
	if loc == nil {
		loc = zone
	}
	if loc == nil {
		loc = r.bundleZone
	}
	// The reference wall time in local terms, for the year and month.
	var ref time.Time
	if w.ok {
		ref = w.at
		if !w.noZone && loc != nil {
			ref = w.at.In(loc)
		}
	}
	lastMonth := r.lastMonths(host)
	logs := r.ev.Logs
	for i := range logs {
		e := &logs[i]
		if e.Host != host || (!e.NoYear && !e.NoZone) {
			continue
		}
		r.placeWall(e, ref, loc, lastMonth[e.Ref.File])
	}
	boot, bootOK := r.boot(host, w, loc)
	maxUp := map[string]time.Duration{}
	for i := range logs {
		e := &logs[i]
		if e.Host == host && e.HasUptime && e.Time.IsZero() && !e.NoYear && !e.NoZone && e.Uptime > maxUp[e.Ref.File] {
			maxUp[e.Ref.File] = e.Uptime
		}
	}
	for i := range logs {
		e := &logs[i]
		if e.Host != host || !e.HasUptime || !e.Time.IsZero() || e.NoYear || e.NoZone {
			continue
		}
		switch {
		case !bootOK:
			r.note(e.Ref.File, whyNoBoot)
		case w.ok && !w.noZone && boot.Add(maxUp[e.Ref.File]).After(w.at.Add(bootSlack)):
			r.note(e.Ref.File, whyNotBoot)
		case !plausibleTime(boot.Add(e.Uptime), false):
			r.note(e.Ref.File, whyBadDate)
		default:
			e.Time = boot.Add(e.Uptime)
		}
	}
	// Zone-less clocks (uptime -s, a date with an abbreviation) become
	// instants too once the zone is known.
	if loc != nil {
		for i := range r.ev.Clocks {
			c := &r.ev.Clocks[i]
			if c.Host == host && c.NoZone && !c.At.IsZero() {
				t := c.At
				c.At = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UTC()
				c.NoZone = false
			}
		}
	}
}

// lastMonths is, per file, the month of its last year-less event: with
// --year and no clock, the file's end is taken to be in that year.
func (r *resolver) lastMonths(host string) map[string]time.Month {
	m := map[string]time.Month{}
	for _, e := range r.ev.Logs {
		if e.Host == host && e.NoYear && !e.Time.IsZero() {
			m[e.Ref.File] = e.Time.Month()
		}
	}
	return m
}

func (r *resolver) placeWall(e *event.LogEvent, ref time.Time, loc *time.Location, fileLast time.Month) {
	if e.Time.IsZero() {
		return // already unplaceable
	}
	t := e.Time
	year := t.Year()
	if e.NoYear {
		var refMonth time.Month
		switch {
		case r.opts.Year != 0:
			year = r.opts.Year
			refMonth = fileLast
			if !ref.IsZero() && ref.Year() == r.opts.Year {
				refMonth = ref.Month()
			}
		case !ref.IsZero():
			year, refMonth = ref.Year(), ref.Month()
		default:
			e.Time = time.Time{}
			r.note(e.Ref.File, whyNoYear)
			return
		}
		if refMonth != 0 && t.Month() > refMonth {
			year--
		}
	}
	l := time.UTC
	if e.NoZone {
		if loc == nil {
			e.Time = time.Time{}
			r.note(e.Ref.File, whyNoZone)
			return
		}
		l = loc
	}
	placed := time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), l)
	if placed.Month() != t.Month() || placed.Day() != t.Day() || !plausibleTime(placed, false) {
		e.Time = time.Time{}
		r.note(e.Ref.File, whyBadDate)
		return
	}
	e.Time = placed.UTC()
	e.NoYear, e.NoZone = false, false
}

// boot finds the host's boot instant (UTC). A candidate outside years 1
// to 9999 (a corrupt btime) is not one.
func (r *resolver) boot(host string, w wall, loc *time.Location) (time.Time, bool) {
	t, ok := r.bootCandidate(host, w, loc)
	if ok && !plausibleTime(t, false) {
		return time.Time{}, false
	}
	return t, ok
}

func (r *resolver) bootCandidate(host string, w wall, loc *time.Location) (time.Time, bool) {
	for _, c := range r.ev.Clocks {
		if c.Host == host && c.Kind == "boot" && !c.NoZone && !c.At.IsZero() {
			return c.At.UTC(), true
		}
	}
	for _, c := range r.ev.Clocks {
		if c.Host == host && c.Kind == "uptime" && !c.At.IsZero() {
			return c.At.UTC(), true
		}
	}
	if t, ok := r.bootFromLines(host); ok {
		return t, true
	}
	if loc != nil {
		for _, c := range r.ev.Clocks {
			if c.Host == host && c.Kind == "boot" && c.NoZone && !c.At.IsZero() {
				t := c.At
				return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UTC(), true
			}
		}
	}
	if w.ok && !w.noZone {
		for _, c := range r.ev.Clocks {
			if c.Host == host && c.Kind == "uptime" && c.Uptime > 0 {
				return w.at.Add(-c.Uptime).UTC(), true
			}
		}
	}
	return time.Time{}, false
}

// bootFromLines pairs raw dmesg lines with timed lines of the same message:
// a dmesg -T line (its stamp is boot + uptime, cut to the second, so the
// latest estimate is the best) or a syslog/journal kernel line carrying the
// same uptime (stamped when the daemon read it, so the earliest is best).
func (r *resolver) bootFromLines(host string) (time.Time, bool) {
	raw := map[string][]time.Duration{} // message → uptimes of unplaced raw lines
	for _, e := range r.ev.Logs {
		if e.Host == host && e.HasUptime && e.Time.IsZero() && !e.NoYear && !e.NoZone {
			k := kernelMessage(e)
			raw[k] = append(raw[k], e.Uptime)
		}
	}
	if len(raw) == 0 {
		return time.Time{}, false
	}
	var fromCtime, fromDaemon time.Time
	for _, e := range r.ev.Logs {
		if e.Host != host || e.Time.IsZero() {
			continue
		}
		ups, ok := raw[kernelMessage(e)]
		if !ok {
			continue
		}
		if e.HasUptime {
			for _, u := range ups {
				if u == e.Uptime {
					b := e.Time.Add(-u)
					if fromDaemon.IsZero() || b.Before(fromDaemon) {
						fromDaemon = b
					}
				}
			}
			continue
		}
		if e.Source == "dmesg" && len(ups) == 1 {
			b := e.Time.Add(-ups[0])
			if fromCtime.IsZero() || b.After(fromCtime) {
				fromCtime = b
			}
		}
	}
	if !fromCtime.IsZero() {
		return fromCtime, true
	}
	return fromDaemon, !fromDaemon.IsZero()
}

// kernelMessage is an event's first line without its stamps and prefixes,
// the key that tells the same kernel record in two outputs.
func kernelMessage(e event.LogEvent) string {
	s := e.Text
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	switch e.Source {
	case "dmesg":
		b := []byte(s)
		if rest, _, _, ok := splitPRI(b); ok {
			b = rest
		} else if m := reDmesgX.FindIndex(b); m != nil {
			b = b[m[1]:]
		}
		if m := reDmesgISO.FindIndex(b); m != nil {
			b = b[m[1]:]
		} else {
			var l kline
			b, _ = dmesgStamp(b, &l)
		}
		if m := reCaller.FindIndex(b); m != nil {
			b = b[m[1]:]
		}
		s = string(b)
	case "syslog", "journal":
		if l, ok := parseSyslogLine([]byte(s)); ok {
			s = l.msg
		} else {
			var st kline
			if rest, ok := dmesgStamp([]byte(s), &st); ok {
				if l, ok := syslogTail(kline{}, string(rest)); ok {
					s = l.msg
				}
			}
		}
	}
	return strings.TrimSpace(s)
}

// zoneLocation turns a printed zone into a location: UTC/GMT/Z, numeric
// offsets (+08:00, +0800, +08), and, when names is set (the user's --tz),
// IANA names from the zone database. "Local" is refused: the running
// machine's zone is never a host's.
func zoneLocation(z string, names bool) (*time.Location, error) {
	z = strings.TrimSpace(z)
	switch {
	case exactZones[strings.ToUpper(z)]:
		return time.UTC, nil
	case strings.HasPrefix(z, "+") || strings.HasPrefix(z, "-"):
		off, ok := parseOffset(z)
		if !ok {
			return nil, fmt.Errorf("bad offset")
		}
		if off == 0 {
			return time.UTC, nil
		}
		return time.FixedZone(formatOffset(off), int(off/time.Second)), nil
	case names && z != "" && !strings.EqualFold(z, "local"):
		return time.LoadLocation(z)
	}
	return nil, fmt.Errorf("unknown zone")
}

func formatOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	return sign + pad2(h) + ":" + pad2(m)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
