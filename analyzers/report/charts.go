package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers/event"
)

// Chart is one picture of the postmortem: a Mermaid xychart with the same
// numbers as a plain table beside it (for renderers without Mermaid).
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	X      []string
	Series []Series
	YMax   int64 // 0: the data's maximum
}

// Series is one line or bar set of a chart.
type Series struct {
	Name   string
	Kind   string // line or bar
	Values []int64
}

// maxChartPoints keeps charts readable; longer series are evenly sampled.
const maxChartPoints = 40

// charts draws what people would rather look at than read: socket states
// over the snapshots, TIME_WAIT against its limit, fds against the limit,
// and recognised log events over time.
func charts(ev *event.Evidence) []Chart {
	if ev == nil {
		return nil
	}
	var out []Chart
	for _, host := range analyzers.Hosts(ev) {
		out = append(out, stateCharts(ev, host)...)
		if c, ok := fdChart(ev, host); ok {
			out = append(out, c)
		}
		if c, ok := eventChart(ev, host); ok {
			out = append(out, c)
		}
	}
	return out
}

func hostLabel(h string) string {
	if h == "" {
		return ""
	}
	return " on " + h
}

// stateCharts: socket states per snapshot (when there are at least two of
// one source), and TIME_WAIT against tcp_max_tw_buckets.
func stateCharts(ev *event.Evidence, host string) []Chart {
	type snap struct {
		s      event.Snapshot
		counts map[event.State]int64
	}
	bySource := map[string][]*snap{}
	idx := map[int]*snap{}
	for i, s := range ev.Snapshots {
		if s.Host != host || s.Filtered {
			continue
		}
		sn := &snap{s: s, counts: map[event.State]int64{}}
		idx[i] = sn
		bySource[s.Source] = append(bySource[s.Source], sn)
	}
	for _, so := range ev.Sockets {
		if sn := idx[so.Snapshot]; sn != nil && strings.HasPrefix(so.Proto, "tcp") {
			sn.counts[so.State]++
		}
	}
	var sources []string
	for src, ss := range bySource {
		if len(ss) >= 2 {
			sources = append(sources, src)
		}
	}
	sort.Strings(sources)
	if len(sources) == 0 {
		return nil
	}
	// One source is enough: prefer ss, the richest.
	src := sources[0]
	for _, s := range sources {
		if s == "ss" {
			src = s
		}
	}
	snaps := bySource[src]
	sort.SliceStable(snaps, func(i, j int) bool {
		a, b := snaps[i].s, snaps[j].s
		if !a.Time.IsZero() && !b.Time.IsZero() && !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Ref.Less(b.Ref)
	})
	snaps = sample(snaps)
	c := Chart{Title: fmt.Sprintf("TCP sockets by state per %s snapshot%s", src, hostLabel(host)), XLabel: "snapshot", YLabel: "sockets"}
	for i, sn := range snaps {
		c.X = append(c.X, snapLabel(sn.s, i))
	}
	for _, st := range []event.State{event.StateEstablished, event.StateCloseWait, event.StateTimeWait, event.StateSynRecv, event.StateFinWait2, event.StateLastAck} {
		var vals []int64
		nonzero := false
		for _, sn := range snaps {
			vals = append(vals, sn.counts[st])
			nonzero = nonzero || sn.counts[st] > 0
		}
		if nonzero {
			c.Series = append(c.Series, Series{Name: string(st), Kind: "line", Values: vals})
		}
	}
	out := []Chart{}
	if len(c.Series) > 0 {
		out = append(out, c)
	}
	if limit, ok := sysctlInt(ev, host, "net.ipv4.tcp_max_tw_buckets"); ok {
		tw := Chart{Title: fmt.Sprintf("TIME_WAIT against net.ipv4.tcp_max_tw_buckets = %d%s", limit, hostLabel(host)), XLabel: "snapshot", YLabel: "TIME_WAIT sockets", X: c.X, YMax: limit}
		var vals []int64
		for _, sn := range snaps {
			vals = append(vals, sn.counts[event.StateTimeWait])
		}
		tw.Series = []Series{{Name: "TIME_WAIT", Kind: "bar", Values: vals}}
		out = append(out, tw)
	}
	return out
}

func sample[T any](xs []T) []T {
	if len(xs) <= maxChartPoints {
		return xs
	}
	out := make([]T, 0, maxChartPoints)
	for i := 0; i < maxChartPoints; i++ {
		out = append(out, xs[i*(len(xs)-1)/(maxChartPoints-1)])
	}
	return out
}

func snapLabel(s event.Snapshot, i int) string {
	if s.Time.IsZero() {
		return fmt.Sprintf("#%d", i+1)
	}
	return s.Time.UTC().Format("15:04:05")
}

func sysctlInt(ev *event.Evidence, host, key string) (int64, bool) {
	var v int64
	ok := false
	for _, s := range ev.Sysctls {
		if s.Host == host && s.Key == key {
			if _, err := fmt.Sscan(s.Value, &v); err == nil {
				ok = true
			}
		}
	}
	return v, ok
}

// fdChart: open fds per process against the nofile soft limit.
func fdChart(ev *event.Evidence, host string) (Chart, bool) {
	best := map[int]event.Process{}
	for _, p := range ev.Processes {
		if p.Host == host && p.FDs >= 0 && p.FDs > best[p.PID].FDs {
			best[p.PID] = p
		}
	}
	limits := map[int]int64{}
	var anyLimit int64
	for _, l := range ev.Limits {
		if l.Host == host && l.Resource == "nofile" && l.Soft > 0 && l.Scope == "process" {
			limits[l.PID] = l.Soft
			anyLimit = l.Soft
		}
	}
	if len(best) == 0 || anyLimit == 0 {
		return Chart{}, false
	}
	var pids []int
	for pid := range best {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	if len(pids) > maxChartPoints {
		pids = pids[:maxChartPoints]
	}
	c := Chart{Title: "Open file descriptors and nofile soft limit per process" + hostLabel(host), XLabel: "process", YLabel: "fds"}
	var fds, lim []int64
	for _, pid := range pids {
		p := best[pid]
		l := limits[pid]
		if l == 0 && len(pids) == 1 {
			l = anyLimit
		}
		c.X = append(c.X, fmt.Sprintf("%s %d", p.Name, pid))
		fds = append(fds, int64(p.FDs))
		lim = append(lim, l)
	}
	c.Series = []Series{{Name: "open fds", Kind: "bar", Values: fds}, {Name: "nofile limit", Kind: "line", Values: lim}}
	return c, true
}

// eventChart: recognised log events per time bucket.
func eventChart(ev *event.Evidence, host string) (Chart, bool) {
	var ts []time.Time
	var counts []int64
	for _, l := range ev.Logs {
		if l.Host == host && l.Signature != "" && !l.Time.IsZero() {
			n := int64(l.Count)
			if n < 1 {
				n = 1
			}
			ts = append(ts, l.Time)
			counts = append(counts, n)
		}
	}
	if len(ts) < 2 {
		return Chart{}, false
	}
	first, last := ts[0], ts[0]
	for _, t := range ts {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	span := last.Sub(first)
	bucket := time.Second
	for _, b := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour} {
		bucket = b
		if span/b < maxChartPoints {
			break
		}
	}
	start := first.Truncate(bucket)
	n := int(last.Sub(start)/bucket) + 1
	if n > maxChartPoints {
		n = maxChartPoints
	}
	vals := make([]int64, n)
	for i, t := range ts {
		k := int(t.Sub(start) / bucket)
		if k >= n {
			k = n - 1
		}
		vals[k] += counts[i]
	}
	c := Chart{Title: fmt.Sprintf("Recognised log events per %s%s (UTC)", bucket, hostLabel(host)), XLabel: "time", YLabel: "events"}
	layout := "15:04:05"
	if bucket >= 24*time.Hour {
		layout = "01-02"
	}
	for i := 0; i < n; i++ {
		c.X = append(c.X, start.Add(time.Duration(i)*bucket).UTC().Format(layout))
	}
	c.Series = []Series{{Name: "events", Kind: "bar", Values: vals}}
	return c, true
}

// mermaid renders c as a Mermaid xychart-beta block body.
func (c Chart) mermaid() string {
	var b strings.Builder
	b.WriteString("xychart-beta\n")
	fmt.Fprintf(&b, "    title %s\n", mermaidString(c.Title))
	var xs []string
	for _, x := range c.X {
		xs = append(xs, mermaidString(x))
	}
	fmt.Fprintf(&b, "    x-axis %s [%s]\n", mermaidString(c.XLabel), strings.Join(xs, ", "))
	max := c.YMax
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v > max {
				max = v
			}
		}
	}
	if max == 0 {
		max = 1
	}
	fmt.Fprintf(&b, "    y-axis %s 0 --> %d\n", mermaidString(c.YLabel), max)
	for _, s := range c.Series {
		var vs []string
		for _, v := range s.Values {
			vs = append(vs, fmt.Sprint(v))
		}
		fmt.Fprintf(&b, "    %s [%s]\n", s.Kind, strings.Join(vs, ", "))
	}
	return b.String()
}

// mermaidString quotes s for Mermaid; a double quote cannot be escaped
// there, so it becomes a single one.
func mermaidString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `'`) + `"`
}
