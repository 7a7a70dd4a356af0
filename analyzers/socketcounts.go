package analyzers

import (
	"net/netip"

	"github.com/netmortem/netmortem/parsers/event"
)

// stateCount is how many sockets of one state a snapshot held.
type stateCount struct {
	Snap    event.Snapshot
	N       int64
	Sample  event.Socket // one of them, citable when Snap's source is
	Citable bool
}

// peakState finds host's snapshot with the most sockets in state. Ties go
// to the source whose lines read best (ss, netstat, /proc/net/tcp), then
// to the later snapshot. ok is
// false when host has no snapshot at all.
func peakState(ev *event.Evidence, host string, state event.State) (best stateCount, ok bool) {
	snaps, socks := SnapshotSockets(ev, host)
	for i, snap := range snaps {
		var c stateCount
		c.Snap, c.Citable = snap, citable(snap.Source)
		for _, s := range socks[i] {
			if s.State == state && isTCP(s) {
				if c.N == 0 {
					c.Sample = s
				}
				c.N++
			}
		}
		if !ok || c.N > best.N || (c.N == best.N && readRank(snap.Source) >= readRank(best.Snap.Source)) {
			best, ok = c, true
		}
	}
	return best, ok
}

// readRank orders socket sources by how readable a cited line is.
func readRank(src string) int {
	switch src {
	case "ss":
		return 3
	case "netstat":
		return 2
	case "proc-net-tcp":
		return 1
	}
	return 0
}

func isTCP(s event.Socket) bool {
	return s.Proto == "" || s.Proto == "tcp" || s.Proto == "tcp6" || s.Proto == "tcp4"
}

// stateEvidence cites one socket of a count, or the snapshot when its
// lines cannot be cited.
func stateEvidence(c stateCount, note string) Evidence {
	if c.N > 0 && c.Citable {
		return Evidence{Ref: c.Sample.Ref, Time: c.Sample.Time, Text: citeSocket(c.Sample, c.Snap.Source), Note: note}
	}
	return Evidence{Ref: c.Snap.Ref, Time: c.Snap.Time, Note: note}
}

// localAddrs are the addresses host's sockets are bound to (not the
// wildcard), for telling its side of a captured connection.
func localAddrs(ev *event.Evidence, host string) map[netip.Addr]bool {
	idx := map[int]bool{}
	for i, s := range ev.Snapshots {
		if s.Host == host {
			idx[i] = true
		}
	}
	out := map[netip.Addr]bool{}
	for _, s := range ev.Sockets {
		if !idx[s.Snapshot] || !s.Local.Addr.IsValid() {
			continue
		}
		a := s.Local.IP()
		if a.IsUnspecified() || a.IsLoopback() {
			continue
		}
		out[a] = true
	}
	return out
}
