package analyzers

import (
	"sort"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Hosts returns the hosts the evidence describes, sorted.
func Hosts(ev *event.Evidence) []string {
	set := map[string]bool{}
	for _, s := range ev.Snapshots {
		set[s.Host] = true
	}
	for _, l := range ev.Limits {
		set[l.Host] = true
	}
	for _, p := range ev.Processes {
		set[p.Host] = true
	}
	for _, l := range ev.Logs {
		set[l.Host] = true
	}
	for _, c := range ev.Counters {
		set[c.Host] = true
	}
	for _, s := range ev.Sysctls {
		set[s.Host] = true
	}
	for _, f := range ev.Flows {
		set[f.Host] = true
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// SnapshotSockets groups the sockets of host by snapshot, in snapshot order
// (time when known, else file order).
func SnapshotSockets(ev *event.Evidence, host string) (snaps []event.Snapshot, sockets [][]event.Socket) {
	idx := map[int]int{}
	for i, s := range ev.Snapshots {
		if s.Host != host {
			continue
		}
		idx[i] = len(snaps)
		snaps = append(snaps, s)
		sockets = append(sockets, nil)
	}
	for _, s := range ev.Sockets {
		if j, ok := idx[s.Snapshot]; ok {
			sockets[j] = append(sockets[j], s)
		}
	}
	order := make([]int, len(snaps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := snaps[order[a]].Time, snaps[order[b]].Time
		if !ta.IsZero() && !tb.IsZero() && !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return snaps[order[a]].Ref.Less(snaps[order[b]].Ref)
	})
	s2, k2 := make([]event.Snapshot, len(order)), make([][]event.Socket, len(order))
	for i, o := range order {
		s2[i], k2[i] = snaps[o], sockets[o]
	}
	return s2, k2
}

// Logs returns host's log events with one of the signatures, in time
// order (unknown times last, in file order).
func Logs(ev *event.Evidence, host string, sigs ...string) []event.LogEvent {
	want := map[string]bool{}
	for _, s := range sigs {
		want[s] = true
	}
	var out []event.LogEvent
	for _, l := range ev.Logs {
		if l.Host == host && want[l.Signature] {
			out = append(out, l)
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

// countLogs sums the Count of events (a ratelimited line stands for more).
func countLogs(ls []event.LogEvent) int {
	n := 0
	for _, l := range ls {
		if l.Count > 1 {
			n += l.Count
		} else {
			n++
		}
	}
	return n
}

// Sysctl returns host's value of key and where it came from.
func Sysctl(ev *event.Evidence, host, key string) (event.Sysctl, bool) {
	var found event.Sysctl
	ok := false
	for _, s := range ev.Sysctls {
		if s.Host == host && s.Key == key {
			found, ok = s, true // the last one read wins
		}
	}
	return found, ok
}

// window spans the known times of ts.
func window(ts ...time.Time) Window {
	var w Window
	for _, t := range ts {
		if t.IsZero() {
			continue
		}
		if w.Start.IsZero() || t.Before(w.Start) {
			w.Start = t
		}
		if w.End.IsZero() || t.After(w.End) {
			w.End = t
		}
	}
	return w
}

// logEvidence cites at most max log lines: the first, and the last ones.
func logEvidence(ls []event.LogEvent, max int, note string) []Evidence {
	pick := ls
	if len(ls) > max {
		pick = append(append([]event.LogEvent{}, ls[:1]...), ls[len(ls)-(max-1):]...)
	}
	out := make([]Evidence, 0, len(pick))
	for _, l := range pick {
		out = append(out, Evidence{Ref: l.Ref, Time: l.Time, Text: l.Text, Note: note})
	}
	return out
}

// orText is a record's own printed line, or fallback when it kept none.
func orText(text, fallback string) string {
	if text != "" {
		return text
	}
	return fallback
}
