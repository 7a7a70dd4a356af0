package analyzers

// Helpers for the kernel-side analyzers: counters found by MIB name
// whatever the source spelled, deltas between counter sets of one source,
// gauges, numeric sysctls, and excerpts that rebuild a record's line when
// the parser kept none.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// mibGroups are the MIB groups a joined name may start with, longest first
// (nstat prints TcpExtListenOverflows; netstat -s prints ListenOverflows
// under "TcpExt:").
var mibGroups = []string{
	"MPTcpExt", "UdpLite6", "IcmpMsg", "UdpLite", "XfrmExt", "TcpExt", "Icmp6", "IpExt",
	"Icmp", "Sctp", "Udp6", "Ip6", "Tcp", "Udp", "Ip",
}

// mibKey is the canonical "Group Name" of a counter: a name that still
// carries its group is split, Tcp6 is Tcp (IPv4 and IPv6 share the MIB).
func mibKey(group, name string) string {
	if group == "" {
		for _, g := range mibGroups {
			if rest, ok := strings.CutPrefix(name, g); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
				group, name = g, rest
				break
			}
		}
	}
	if group == "Tcp6" {
		group = "Tcp"
	}
	return group + " " + name
}

// counterSet is one counter set of a host with its counters by key.
type counterSet struct {
	set   event.CounterSet
	byKey map[string]event.Counter
}

// counterSeries returns host's counter sets grouped by source, each
// ordered by time when both times are known, else by file and line.
func counterSeries(ev *event.Evidence, host string) map[string][]counterSet {
	sets := map[int]*counterSet{}
	for i, s := range ev.CounterSets {
		if s.Host == host {
			sets[i] = &counterSet{set: s, byKey: map[string]event.Counter{}}
		}
	}
	for _, c := range ev.Counters {
		cs, ok := sets[c.Snapshot]
		if !ok || c.Host != host {
			continue
		}
		k := mibKey(c.Group, c.Name)
		if _, dup := cs.byKey[k]; !dup { // netstat -s may print a name twice: the first wins
			cs.byKey[k] = c
		}
	}
	out := map[string][]counterSet{}
	idx := make([]int, 0, len(sets))
	for i := range sets {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		cs := sets[i]
		out[cs.set.Source] = append(out[cs.set.Source], *cs)
	}
	for src := range out {
		s := out[src]
		sort.SliceStable(s, func(a, b int) bool {
			ta, tb := s[a].set.Time, s[b].set.Time
			if !ta.IsZero() && !tb.IsZero() && !ta.Equal(tb) {
				return ta.Before(tb)
			}
			return s[a].set.Ref.Less(s[b].set.Ref)
		})
	}
	return out
}

// counterDelta is how much one cumulative counter rose across the counter
// sets of one source.
type counterDelta struct {
	Source string
	Key    string        // "TcpExt ListenOverflows"
	First  event.Counter // the value the rise starts from
	Last   event.Counter // the value it ends at
	Delta  int64         // the sum of the rises between consecutive sets
	Span   time.Duration // the time those rises took; 0 when unknown
	Sets   int           // sets that hold the counter
	// Resets are the values that went down from the set before: a reboot
	// or a counter reset. No rise is counted across one.
	Resets []event.Counter
	// Increment: the source printed increments, not totals (nstat without
	// -a), over an interval nobody recorded; Delta is their sum.
	Increment bool
}

// Rate is the rise per second, 0 when the span is unknown.
func (d counterDelta) Rate() float64 {
	if d.Span <= 0 {
		return 0
	}
	return float64(d.Delta) / d.Span.Seconds()
}

// Over says over what the rise was seen, for notes.
func (d counterDelta) Over() string {
	switch {
	case d.Increment:
		return "since nstat's previous run (an interval the bundle does not record)"
	case d.Span > 0:
		return fmt.Sprintf("in %s (%.1f/s)", d.Span.Round(time.Millisecond), d.Rate())
	}
	return fmt.Sprintf("across %d %s snapshots of unknown times", d.Sets, d.Source)
}

// counterDeltas measures the counter named by key ("TcpExt
// ListenOverflows") in every source of host that has it in two sets or
// more, or as increments. The source with the largest rise comes first;
// ties go to the one with more sets.
func counterDeltas(ev *event.Evidence, host, key string) []counterDelta {
	series := counterSeries(ev, host)
	var out []counterDelta
	for src, sets := range series {
		var cs []event.Counter
		var at []int // index in sets of each of cs
		for i, s := range sets {
			if c, ok := s.byKey[key]; ok {
				cs = append(cs, c)
				at = append(at, i)
			}
		}
		dropped := setDrops(sets)
		if len(cs) == 0 {
			continue
		}
		d := counterDelta{Source: src, Key: key, Sets: len(cs), First: cs[0], Last: cs[len(cs)-1]}
		if !cs[0].Cumulative && strings.HasPrefix(src, "nstat") {
			// nstat without -a: every value is already a rise.
			d.Increment = true
			for _, c := range cs {
				d.Delta += c.Value
			}
			out = append(out, d)
			continue
		}
		if len(cs) < 2 || !cs[0].Cumulative {
			continue
		}
		started := false
		for i := 1; i < len(cs); i++ {
			a, b := cs[i-1], cs[i]
			if b.Value < a.Value || dropped[at[i-1]+1:at[i]+1].any() {
				d.Resets = append(d.Resets, b)
				continue
			}
			if b.Value > a.Value {
				if !started {
					d.First, started = a, true
				}
				d.Last = b
				d.Delta += b.Value - a.Value
			}
			if !a.Time.IsZero() && !b.Time.IsZero() && b.Time.After(a.Time) {
				d.Span += b.Time.Sub(a.Time)
			}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Delta != out[j].Delta {
			return out[i].Delta > out[j].Delta
		}
		if out[i].Sets != out[j].Sets {
			return out[i].Sets > out[j].Sets
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// drops flags, per set, whether any cumulative counter it shares with the
// set before went down: a reboot, a counter reset, or two sets that are
// not the same machine's (two namespaces, two hosts' files in one folder).
// No counter's rise is measured across such a pair.
type drops []bool

func (d drops) any() bool {
	for _, b := range d {
		if b {
			return true
		}
	}
	return false
}

func setDrops(sets []counterSet) drops {
	out := make(drops, len(sets))
	for i := 1; i < len(sets); i++ {
		for k, b := range sets[i].byKey {
			if a, ok := sets[i-1].byKey[k]; ok && a.Cumulative && b.Cumulative && b.Value < a.Value {
				out[i] = true
				break
			}
		}
	}
	return out
}

// bestDelta is the first of counterDeltas over keys, tried in order.
func bestDelta(ev *event.Evidence, host string, keys ...string) (counterDelta, bool) {
	for _, k := range keys {
		if ds := counterDeltas(ev, host, k); len(ds) > 0 {
			return ds[0], true
		}
	}
	return counterDelta{}, false
}

// singleCounter returns a cumulative counter found in one set only, for
// saying what a second set would have shown.
func singleCounter(ev *event.Evidence, host, key string) (event.Counter, bool) {
	for _, sets := range counterSeries(ev, host) {
		for _, s := range sets {
			if c, ok := s.byKey[key]; ok && c.Cumulative {
				return c, true
			}
		}
	}
	return event.Counter{}, false
}

// gaugePeak returns the highest value of a gauge (a sockstat or ss -s
// figure) on host, the latest of equal values.
func gaugePeak(ev *event.Evidence, host, group, name string) (event.Counter, bool) {
	var best event.Counter
	ok := false
	for _, c := range ev.Counters {
		if c.Host != host || c.Group != group || c.Name != name {
			continue
		}
		if !ok || c.Value > best.Value || (c.Value == best.Value && laterMeta(c.Meta, best.Meta)) {
			best, ok = c, true
		}
	}
	return best, ok
}

func laterMeta(a, b event.Meta) bool {
	if !a.Time.IsZero() && !b.Time.IsZero() && !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return b.Ref.Less(a.Ref)
}

// counterSource is the source of the set a counter belongs to.
func counterSource(ev *event.Evidence, c event.Counter) string {
	if c.Snapshot >= 0 && c.Snapshot < len(ev.CounterSets) {
		return ev.CounterSets[c.Snapshot].Source
	}
	return ""
}

// counterText is a counter's excerpt: its printed line when the parser
// kept it, else tokens that are in that line whatever the source.
func counterText(ev *event.Evidence, c event.Counter) string {
	v := strconv.FormatInt(c.Value, 10)
	src := counterSource(ev, c)
	if src == "proc-net-netstat" || src == "proc-net-snmp" {
		// The cited value line holds no names (they are on the header
		// line above it), whatever text the parser composed.
		return c.Group + ": " + v // TcpExt: 0 0 ... 351 ...
	}
	if c.Text != "" {
		return c.Text
	}
	switch {
	case src == "nstat" && c.Group != "":
		return c.Group + c.Name + " " + v // TcpExtListenOverflows 351 0.0
	case strings.HasPrefix(c.Group, "sockstat"):
		f := strings.Fields(c.Group)
		return f[len(f)-1] + ": " + c.Name + " " + v // TCP: inuse 5 orphan 0 tw 13 ...
	}
	return v
}

// counterEvidence cites the two ends of a rise.
func counterEvidence(ev *event.Evidence, d counterDelta, what string) []Evidence {
	_, name, _ := strings.Cut(d.Key, " ")
	if d.Increment {
		return []Evidence{{Ref: d.Last.Ref, Time: d.Last.Time, Text: counterText(ev, d.Last),
			Note: fmt.Sprintf("%s rose by %d %s: %s", name, d.Delta, d.Over(), what)}}
	}
	return []Evidence{
		{Ref: d.First.Ref, Time: d.First.Time, Text: counterText(ev, d.First),
			Note: fmt.Sprintf("%s was %d here (%s)", name, d.First.Value, d.Source)},
		{Ref: d.Last.Ref, Time: d.Last.Time, Text: counterText(ev, d.Last),
			Note: fmt.Sprintf("%s reached %d: +%d %s: %s", name, d.Last.Value, d.Delta, d.Over(), what)},
	}
}

// resetNote says a counter went down, when it did.
func resetNote(d counterDelta) string {
	if len(d.Resets) == 0 {
		return ""
	}
	r := d.Resets[0]
	return fmt.Sprintf("%s went down at %s (a reboot or a counter reset): no rise is counted across it", d.Key, r.Ref)
}

// sysctlAny returns the first of keys host has (kernels renamed some).
func sysctlAny(ev *event.Evidence, host string, keys ...string) (event.Sysctl, bool) {
	for _, k := range keys {
		if s, ok := Sysctl(ev, host, k); ok {
			return s, true
		}
	}
	return event.Sysctl{}, false
}

// sysctlInts reads a sysctl's numbers ("32768 60999", "45588 60787 91176").
func sysctlInts(s event.Sysctl) ([]int64, bool) {
	f := strings.Fields(s.Value)
	if len(f) == 0 {
		return nil, false
	}
	out := make([]int64, 0, len(f))
	for _, w := range f {
		n, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// sysctlInt reads a one-number sysctl of host, trying keys in order.
func sysctlInt(ev *event.Evidence, host string, keys ...string) (int64, event.Sysctl, bool) {
	s, ok := sysctlAny(ev, host, keys...)
	if !ok {
		return 0, s, false
	}
	n, ok := sysctlInts(s)
	if !ok || len(n) != 1 {
		return 0, s, false
	}
	return n[0], s, true
}

// sysctlText is a sysctl's excerpt: its printed line, else its value
// (which every form prints: "k = v", "/proc/sys/k:v", a bare value file).
func sysctlText(s event.Sysctl) string {
	if s.Text != "" {
		return s.Text
	}
	return s.Value
}

func sysctlEvidence(s event.Sysctl, note string) Evidence {
	return Evidence{Ref: s.Ref, Time: s.Time, Text: sysctlText(s), Note: note}
}

var procStateCode = map[event.State]int{
	event.StateEstablished: 1, event.StateSynSent: 2, event.StateSynRecv: 3, event.StateFinWait1: 4,
	event.StateFinWait2: 5, event.StateTimeWait: 6, event.StateClose: 7, event.StateCloseWait: 8,
	event.StateLastAck: 9, event.StateListen: 10, event.StateClosing: 11, event.StateNewSynRecv: 12,
}

func procHexEndpoint(e event.Endpoint) string {
	var b strings.Builder
	a := e.Addr.AsSlice()
	if len(a) == 0 {
		a = make([]byte, 4)
	}
	for i := 0; i+4 <= len(a); i += 4 {
		fmt.Fprintf(&b, "%02X%02X%02X%02X", a[i+3], a[i+2], a[i+1], a[i])
	}
	fmt.Fprintf(&b, ":%04X", e.Port)
	return b.String()
}

// citable says whether a snapshot's sockets can be cited line by line
// (lsof prints a socket in its own shape, without queues).
func citable(src string) bool {
	return src == "ss" || src == "netstat" || src == "proc-net-tcp"
}

// logSigs are the signature ids each kernel-side mechanism answers to.
// The first is the id the log parsers use; the others are spellings a
// signature table may also use.
var logSigs = map[string][]string{
	"tw-bucket-overflow":  {"tw-bucket-overflow"},
	"syn-flood":           {"syn-flood"},
	"conntrack-full":      {"conntrack-full"},
	"eaddrnotavail":       {"eaddrnotavail"},
	"orphan-sockets":      {"orphan-sockets"},
	"tcp-memory-pressure": {"tcp-memory-pressure"},
	"file-max":            {"file-max", "file-max-reached"},
	"enfile":              {"enfile"},
	"conn-reset":          {"conn-reset", "closed-by-server"},
}

func sigLogs(ev *event.Evidence, host, mech string) []event.LogEvent {
	return dedupKernelLogs(Logs(ev, host, logSigs[mech]...))
}

// dedupKernelLogs keeps one copy of the kernel's messages: dmesg, dmesg
// -T, journalctl -k and /var/log/messages of one host all read the same
// ring, so a bundle often holds each line three times. Per signature, the
// files with the most lines are kept, and another file only when its span
// of time does not overlap theirs (a rotated log); a span that is unknown
// overlaps everything. Application logs are kept whole.
func dedupKernelLogs(ls []event.LogEvent) []event.LogEvent {
	type file struct {
		name       string
		sig        string
		lines      []event.LogEvent
		n          int
		start, end time.Time
		known      bool
	}
	files := map[string]*file{}
	var names []string
	var out []event.LogEvent
	for _, l := range ls {
		if l.Source == "app" {
			out = append(out, l)
			continue
		}
		k := l.Signature + "\x00" + l.Ref.File
		f := files[k]
		if f == nil {
			f = &file{name: l.Ref.File, sig: l.Signature, known: true}
			files[k] = f
			names = append(names, k)
		}
		f.lines = append(f.lines, l)
		f.n += max(l.Count, 1)
		switch {
		case l.Time.IsZero():
			f.known = false
		case f.start.IsZero() || l.Time.Before(f.start):
			f.start = l.Time
		}
		if l.Time.After(f.end) {
			f.end = l.Time
		}
	}
	if len(files) <= 1 {
		return ls
	}
	order := make([]*file, 0, len(names))
	for _, k := range names {
		order = append(order, files[k])
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].n != order[j].n {
			return order[i].n > order[j].n
		}
		return order[i].name < order[j].name
	})
	var kept []*file
	for _, f := range order {
		copyOf := false
		for _, k := range kept {
			// dmesg -T prints whole seconds: spans a second apart overlap.
			if k.sig == f.sig && (!k.known || !f.known || !(f.end.Add(time.Second).Before(k.start) || f.start.After(k.end.Add(time.Second)))) {
				copyOf = true
				break
			}
		}
		if !copyOf {
			kept = append(kept, f)
			out = append(out, f.lines...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Time.IsZero() != b.Time.IsZero() {
			return !a.Time.IsZero()
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Ref.Less(b.Ref)
	})
	return out
}

// logsWindow spans the log events' times.
func logsWindow(ls []event.LogEvent) Window {
	ts := make([]time.Time, 0, len(ls))
	for _, l := range ls {
		ts = append(ts, l.Time)
	}
	return window(ts...)
}

// evidenceWindow spans the known times of a finding's evidence.
func evidenceWindow(es []Evidence) Window {
	ts := make([]time.Time, 0, len(es))
	for _, e := range es {
		ts = append(ts, e.Time)
	}
	return window(ts...)
}

// confidenceOf rates a finding by how many independent kinds of evidence
// agree and whether one of them shows the mechanism itself (a kernel line,
// a counter that rose) rather than a state that precedes it.
func confidenceOf(sources int, direct bool, contradicted bool) Confidence {
	c := LowConfidence
	switch {
	case sources >= 3 || (sources >= 2 && direct):
		c = HighConfidence
	case sources >= 2 || direct:
		c = MediumConfidence
	}
	if contradicted && c > LowConfidence {
		c--
	}
	return c
}

func pct(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// flatText says that a counter did not rise, for rule-outs; "" when the
// delta cannot say (one set only).
func flatText(d counterDelta) string {
	switch {
	case d.Increment:
		return fmt.Sprintf("nstat shows no %s increment", d.Key)
	case d.Sets < 2:
		return ""
	case len(d.Resets) > 0:
		return fmt.Sprintf("%s went down at %s (a reboot or a counter reset) and did not rise across %d %s sets", d.Key, d.Resets[0].Ref, d.Sets, d.Source)
	}
	return fmt.Sprintf("%s unchanged at %d across %d %s sets", d.Key, d.Last.Value, d.Sets, d.Source)
}
