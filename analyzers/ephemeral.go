package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	ephNearRatio = threshold("ephemeral-port-exhaustion.near-ratio", 0.9,
		"sockets from one local address to one destination / the size of net.ipv4.ip_local_port_range at or above which its ports are nearly exhausted: connect() fails at 1.0 and searches longer and longer before")
	ephMinLines = threshold("ephemeral-port-exhaustion.min-log-lines", 1,
		"'cannot assign requested address' (EADDRNOTAVAIL) log lines that show connect() found no free local port")
)

// The kernel's default ip_local_port_range (since Linux 4.x; 61000 before).
const ephDefaultLo, ephDefaultHi = 32768, 60999

// EphemeralPortExhaustion finds clients that ran out of local ports to one
// destination.
var EphemeralPortExhaustion = &Analyzer{
	Name: "ephemeral-port-exhaustion",
	Doc: `local ports to one destination exhausted

An outgoing connection takes a local port from net.ipv4.ip_local_port_range
(28232 ports by default). A port can be reused towards a different
destination, so what runs out is the ports from one local address to one
destination address and port. When none is free connect() fails with
EADDRNOTAVAIL ("cannot assign requested address"); close to it, connect()
spends ever longer searching. Connections that close first and quickly
(each leaving 60 s of TIME_WAIT) and sockets that are never closed
(CLOSE_WAIT) are the usual ways there.

Evidence: EADDRNOTAVAIL lines in application or kernel logs, and in each
socket table the sockets (any state but LISTEN) from one local address to
one destination whose local port is in the range, against the range's
size. The state mix is reported (TIME_WAIT: connection churn; CLOSE_WAIT: a
leak, linked to close-wait-leak when found).

EADDRNOTAVAIL lines with the ports nearly used up are high; either alone
is medium (the error also comes from binding an address the host does not
have). Needs an application log or a socket table from the client side,
with net.ipv4.ip_local_port_range (the default range is assumed without
it).`,
	Run: runEphemeral,
}

// ephGroup is the sockets of one snapshot from one local address to one
// destination.
type ephGroup struct {
	local  netip.Addr
	dst    event.Endpoint
	n      int64
	states map[event.State]int64
	sample event.Socket
	snap   event.Snapshot
}

func (g ephGroup) stateMix() string {
	type kv struct {
		s event.State
		n int64
	}
	var kvs []kv
	for s, n := range g.states {
		kvs = append(kvs, kv{s, n})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].n != kvs[j].n {
			return kvs[i].n > kvs[j].n
		}
		return kvs[i].s < kvs[j].s
	})
	parts := make([]string, 0, len(kvs))
	for _, e := range kvs {
		parts = append(parts, fmt.Sprintf("%d %s", e.n, e.s))
	}
	return strings.Join(parts, ", ")
}

func runEphemeral(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := sigLogs(ev, host, "eaddrnotavail")
		lines := countLogs(logs)
		lo, hi := int64(ephDefaultLo), int64(ephDefaultHi)
		rangeSys, hasRange := sysctlAny(ev, host, "net.ipv4.ip_local_port_range")
		if hasRange {
			if v, ok := sysctlInts(rangeSys); ok && len(v) == 2 && v[1] >= v[0] {
				lo, hi = v[0], v[1]
			} else {
				hasRange = false
			}
		}
		size := hi - lo + 1
		g, hasG := busiestDestination(ev, host, lo, hi)
		ratio := 0.0
		if hasG {
			ratio = float64(g.n) / float64(size)
		}
		byLog := lines > 0 && float64(lines) >= p.Config.Get(ephMinLines)
		near := hasG && ratio >= p.Config.Get(ephNearRatio)
		if !byLog && !near {
			if hasG {
				p.RuleOut(host, "the busiest destination %s takes %d local ports from %s (%s), %.1f%% of the %d in ip_local_port_range %d-%d, and no log line reports EADDRNOTAVAIL",
					g.dst, g.n, g.local, g.stateMix(), 100*ratio, size, lo, hi)
			}
			continue
		}

		f := Finding{Host: host, Title: "ephemeral ports exhausted"}
		if hasG && g.states[event.StateCloseWait]*2 >= g.n {
			// Only a leak that holds most of these ports explains them.
			f.CausedBy = []string{"close-wait-leak"}
		}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "log EADDRNOTAVAIL")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "connect() found no free local port (EADDRNOTAVAIL)")...)
			parts = append(parts, fmt.Sprintf("%d log line(s) report \"cannot assign requested address\" (EADDRNOTAVAIL)", lines))
		}
		if hasG {
			note := fmt.Sprintf("one of %d sockets from %s to %s (%s): %.0f%% of the %d local ports", g.n, g.local, g.dst, g.stateMix(), 100*ratio, size)
			f.Evidence = append(f.Evidence, stateEvidence(stateCount{Snap: g.snap, N: g.n, Sample: g.sample, Citable: citable(g.snap.Source)}, note))
			if near {
				mech++
				f.Sources = append(f.Sources, "sockets vs port range")
			}
			parts = append(parts, fmt.Sprintf("%d sockets from %s to %s (%s) use %.0f%% of the %d ports in %d-%d", g.n, g.local, g.dst, g.stateMix(), 100*ratio, size, lo, hi))
		} else {
			f.Missing = append(f.Missing, "no socket table from this host: could not count the ports in use per destination (collect: ss -tan)")
		}
		if hasRange {
			f.Evidence = append(f.Evidence, sysctlEvidence(rangeSys, fmt.Sprintf("net.ipv4.ip_local_port_range is %d-%d: %d ports per destination", lo, hi, size)))
		} else {
			f.Missing = append(f.Missing, fmt.Sprintf("net.ipv4.ip_local_port_range not in bundle: the default %d-%d was assumed (collect: sysctl net.ipv4.ip_local_port_range)", lo, hi))
		}
		switch {
		case byLog && near, ratio >= 1:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		if byLog && !near {
			alt := "EADDRNOTAVAIL also comes from binding an address the host does not have"
			if hasG {
				alt = fmt.Sprintf("the ports to %s are only %.0f%% used, and %s", g.dst, 100*ratio, alt)
			}
			f.Missing = append(f.Missing, alt)
		}
		f.Confidence = confidenceOf(mech, byLog && near, byLog && hasG && !near)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". Each connection to one destination needs its own local port; when none is free connect() fails with EADDRNOTAVAIL."
		f.Remediation = ephRemediation(g, hasG)
		p.Report(f)
	}
	return nil
}

func ephRemediation(g ephGroup, hasG bool) []string {
	out := []string{
		"Immediate: reuse connections to that destination (HTTP keep-alive, a client connection pool) instead of opening one per request.",
		"Enable net.ipv4.tcp_tw_reuse=1 so that connect() may reuse ports held in TIME_WAIT (outgoing connections, TCP timestamps on).",
		"Widen the range: sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\", reserving the ports local services listen on with net.ipv4.ip_local_reserved_ports; or spread connections over more destination addresses/ports or source addresses (each pair has its own ports).",
	}
	if hasG && g.states[event.StateTimeWait]*2 > g.n {
		out = append(out, fmt.Sprintf("Most of these sockets are TIME_WAIT: this host closes first, so each connection holds its port for 60 s after it ends; let the server close (keep-alive) or reuse connections to %s.", g.dst))
	}
	if hasG && g.states[event.StateCloseWait] > g.n/2 {
		out = append(out, "Most of these sockets are CLOSE_WAIT: the application never closes connections its peer closed; fix that leak first.")
	}
	return out
}

// busiestDestination finds the snapshot and the (local address,
// destination) pair holding the most local ports from the range.
func busiestDestination(ev *event.Evidence, host string, lo, hi int64) (ephGroup, bool) {
	snaps, socks := SnapshotSockets(ev, host)
	var best ephGroup
	ok := false
	for i, snap := range snaps {
		groups := map[string]*ephGroup{}
		var keys []string
		listening := map[uint16]bool{}
		for _, s := range socks[i] {
			if s.State == event.StateListen {
				listening[s.Local.Port] = true
			}
		}
		for _, s := range socks[i] {
			if !isTCP(s) || s.State == event.StateListen || s.State == event.StateClose || s.State == event.StateUnknown {
				continue
			}
			port := int64(s.Local.Port)
			if port < lo || port > hi || listening[s.Local.Port] || !s.Remote.Addr.IsValid() || s.Remote.Port == 0 {
				continue
			}
			k := s.Local.IP().String() + " " + s.Remote.String()
			g := groups[k]
			if g == nil {
				g = &ephGroup{local: s.Local.IP(), dst: s.Remote, states: map[event.State]int64{}, sample: s, snap: snap}
				groups[k] = g
				keys = append(keys, k)
			}
			g.n++
			g.states[s.State]++
		}
		sort.Strings(keys)
		for _, k := range keys {
			if g := groups[k]; !ok || g.n > best.n {
				best, ok = *g, true
			}
		}
	}
	return best, ok
}
