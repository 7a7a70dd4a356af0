package analyzers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	cwMinSockets = threshold("close-wait-leak.min-sockets", 10,
		"CLOSE_WAIT sockets holding no unread data (Recv-Q 0 or 1) below which nothing is concluded: a few are always in flight between the peer's FIN and the application's close()")
	cwMinPersist = threshold("close-wait-leak.min-persist", 0.9,
		"share of the first snapshot's CLOSE_WAIT sockets still in CLOSE_WAIT in the last one needed to call it accumulation: a leaked socket never leaves CLOSE_WAIT, while a slow but working application closes most of them between snapshots")
	cwMinGroupPeers = threshold("close-wait-leak.min-group-peers", 2,
		"peers that must hold the same CLOSE_WAIT count for that count to be read as a per-peer pool size (one peer's count is just a count)")
	cwMinGroupSize = threshold("close-wait-leak.min-group-size", 2,
		"smallest per-peer CLOSE_WAIT count read as a pool size: peers with one socket each agree by chance")
	cwUrgentHours = threshold("close-wait-leak.urgent-hours", 24,
		"projected hours until the leaking process reaches its nofile limit under which the leak is high severity: less than a day leaves no time for a code fix")
	cwMinProjection = threshold("close-wait-leak.min-projection-seconds", 600,
		"seconds the snapshots must span before a leak rate is projected to the fd limit: leaks come in steps (an instance replaced, a burst of failures), and a short window extrapolated over hours says little")
)

// CloseWaitLeak finds sockets whose peer closed and that the application
// never closes.
var CloseWaitLeak = &Analyzer{
	Name: "close-wait-leak",
	Doc: `sockets whose peer closed are never closed by the application

A socket enters CLOSE_WAIT when the peer's FIN arrives and leaves it only
when the application calls close(). The analyzer takes the host's socket
snapshots (ss, netstat, /proc/net/tcp or lsof, one source at a time) and
keeps the CLOSE_WAIT sockets that hold no unread data. The peer's FIN takes
one sequence number, so Recv-Q counts it until the application reads the
end of the stream: Recv-Q 0 means the application read everything, EOF
included, and still did not close; Recv-Q 1 means only the FIN is pending:
the connection sits idle, never used again since the peer left (a pooled
connection to an instance that went away). Sockets with unread data
(Recv-Q above 1) or still in a listener's accept queue (no inode, no owner)
hold a request nobody read: that is a stuck or starved worker, not a missing
close, and is ruled out with that reason (see healthcheck-starvation and
pool-saturation).

It reports a leak when, besides close-wait-leak.min-sockets such sockets, one
of these holds: across snapshots the count rises and at least
close-wait-leak.min-persist of the first snapshot's sockets are still there
(a leaked socket never goes away; the rate per hour is given, and the time
left to the process's nofile limit is projected when the snapshots span at
least close-wait-leak.min-projection-seconds); or grouped by peer
address, close-wait-leak.min-group-peers or more peers sit at one identical
count of at least close-wait-leak.min-group-size (that count is the number
of connections each worker opened to each peer: the worker pool size); or
the sockets belong to peers that have no ESTABLISHED connection left
(instances that went away). When the sockets churn between snapshots (the
application does close them, late) the leak is ruled out; when
pool-saturation or healthcheck-starvation was found on the host and nothing
leak-specific is seen, the CLOSE_WAIT sockets on its listening ports are
left to those findings. In a capture, the peers' FINs acknowledged with no
FIN or RST ever sent back on those connections confirm it.

Whether keepalive timers are absent is reported separately
(keepalive-missing, info). Severity is high when the process is at
fd-exhaustion.near-ratio of its nofile limit or the projection reaches it
within close-wait-leak.urgent-hours. fd-exhaustion lists this finding as a
cause. A bundle needs at least one socket snapshot; several taken minutes
apart, with -p and -o (ss -tanpoe), and /proc/PID/limits make the diagnosis
and the projection.`,
	Run: runCloseWaitLeak,
}

// cwScan is what the CLOSE_WAIT sockets of one host's latest snapshot say.
type cwScan struct {
	view     sockView
	snap     event.Snapshot
	all      []event.Socket // CLOSE_WAIT sockets
	read     []event.Socket // no unread data: Recv-Q 0 or 1 (or unknown queues), accepted
	finOnly  int            // of read, Recv-Q 1: the FIN itself was never read
	unread   []event.Socket // Recv-Q > 1: data nobody read
	unacc    []event.Socket // in a listener's accept queue
	queues   bool
	timers   bool
	detailed bool

	// per-peer groups of read: the count shared by the most peers
	groupSize  int
	groupPeers []string
	byPeer     map[string][]event.Socket

	departed     []string // peers of read with no ESTABLISHED socket left
	departedSock int

	// across snapshots
	counts    []int
	first     []event.Socket // read sockets of the earliest snapshot that has any
	firstSnap int
	persisted []event.Socket // of first, still CLOSE_WAIT in the last
	rise      bool
	span      time.Duration
	perHour   float64

	inbound int // read sockets on one of the host's listening ports
}

// scanCloseWait classifies host's CLOSE_WAIT sockets; ok is false when the
// host has no socket snapshot.
func scanCloseWait(p *Pass, host string) (cwScan, bool) {
	var c cwScan
	c.view = hostSockView(p.Evidence, host)
	if len(c.view.Snaps) == 0 {
		return c, false
	}
	snap, socks := c.view.last()
	c.snap = snap
	c.queues = queuesKnown(c.view.Source)
	c.timers = timersShown(snap, socks)
	c.detailed = detailedSnap(socks)
	c.all, c.read, c.unread, c.unacc = splitCloseWait(socks, c.queues, c.detailed)
	for _, s := range c.read {
		if c.queues && s.RecvQ == 1 {
			c.finOnly++
		}
	}

	// Group by peer: a pool of N workers each holding one connection per
	// peer leaves exactly N per departed peer.
	c.byPeer = map[string][]event.Socket{}
	for _, s := range c.read {
		c.byPeer[peerKey(s)] = append(c.byPeer[peerKey(s)], s)
	}
	peersBySize := map[int][]string{}
	for peer, ss := range c.byPeer {
		peersBySize[len(ss)] = append(peersBySize[len(ss)], peer)
	}
	for size, peers := range peersBySize {
		if size < int(p.Config.Get(cwMinGroupSize)) || len(peers) < int(p.Config.Get(cwMinGroupPeers)) {
			continue
		}
		if len(peers) > len(c.groupPeers) || (len(peers) == len(c.groupPeers) && size > c.groupSize) {
			c.groupSize, c.groupPeers = size, peers
		}
	}
	sort.Strings(c.groupPeers)

	// Departed peers: no ESTABLISHED socket to them any more. A filtered
	// snapshot cannot tell.
	if !snap.Filtered {
		live := map[string]bool{}
		for _, s := range socks {
			if s.State == event.StateEstablished {
				live[peerKey(s)] = true
			}
		}
		for peer, ss := range c.byPeer {
			if !live[peer] {
				c.departed = append(c.departed, peer)
				c.departedSock += len(ss)
			}
		}
		sort.Strings(c.departed)
	}

	listen := listenerPorts(socks)
	for _, s := range c.read {
		if _, ok := listen[s.Local.Port]; ok {
			c.inbound++
		}
	}

	// Across snapshots: does the count rise, and do the sockets stay?
	for i := range c.view.Snaps {
		_, rd, _, _ := splitCloseWait(c.view.Socks[i], c.queues, detailedSnap(c.view.Socks[i]))
		c.counts = append(c.counts, len(rd))
		if c.first == nil && len(rd) > 0 && i < len(c.view.Snaps)-1 {
			c.first, c.firstSnap = rd, i // the earliest snapshot that has some
		}
	}
	if n := len(c.counts); n >= 2 {
		last := map[string]bool{}
		for _, s := range c.read {
			last[sockKey(s)] = true
		}
		for _, s := range c.first {
			if last[sockKey(s)] {
				c.persisted = append(c.persisted, s)
			}
		}
		c.rise = c.counts[n-1] > c.counts[0]
		for i := 1; i < n; i++ {
			if c.counts[i] < c.counts[i-1] {
				c.rise = false
			}
		}
		t0, t1 := c.view.Snaps[0].Time, c.view.Snaps[n-1].Time
		if !t0.IsZero() && t1.After(t0) {
			c.span = t1.Sub(t0)
			c.perHour = float64(c.counts[n-1]-c.counts[0]) / c.span.Hours()
		}
	}
	return c, true
}

func splitCloseWait(socks []event.Socket, queues, detailed bool) (all, read, unread, unacc []event.Socket) {
	for _, s := range socks {
		if s.State != event.StateCloseWait || !tcpSock(s) {
			continue
		}
		all = append(all, s)
		switch {
		case unaccepted(s, detailed):
			unacc = append(unacc, s)
		case queues && s.RecvQ > 1:
			unread = append(unread, s)
		default:
			read = append(read, s)
		}
	}
	return
}

func (c *cwScan) persistShare() float64 {
	if len(c.first) == 0 {
		return 1
	}
	return float64(len(c.persisted)) / float64(len(c.first))
}

// accumulating: several snapshots, the count rises and the old ones stay.
func (c *cwScan) accumulating(minPersist float64) bool {
	return len(c.counts) >= 2 && c.rise && len(c.persisted) > 0 && c.persistShare() >= minPersist
}

func runCloseWaitLeak(p *Pass) error {
	for _, host := range Hosts(p.Evidence) {
		c, ok := scanCloseWait(p, host)
		if !ok || len(c.all) == 0 {
			continue
		}
		minN := int(p.Config.Get(cwMinSockets))
		minPersist := p.Config.Get(cwMinPersist)
		if len(c.read) < minN {
			if never := len(c.unread) + len(c.unacc); never >= minN || never > len(c.read) {
				p.RuleOut(host, "%s in %s, but %s: the application never read them, so its workers are stuck or starved rather than forgetting close(); only %d hold no unread data",
					plural(len(c.all), "CLOSE_WAIT socket"), c.snap.Ref.File, unreadPhrase(len(c.unread), len(c.unacc)), len(c.read))
			} else {
				p.RuleOut(host, "only %s in %s (%d with no unread data), below close-wait-leak.min-sockets=%d",
					plural(len(c.all), "CLOSE_WAIT socket"), c.snap.Ref.File, len(c.read), minN)
			}
			continue
		}
		if len(c.counts) >= 2 && c.persistShare() < minPersist {
			p.RuleOut(host, "of the %d CLOSE_WAIT sockets with no unread data in %s, only %d (%.0f%%) were still there in %s%s: the application does close them, late (workers blocked on something), which is not a missing close()",
				len(c.first), c.view.Snaps[c.firstSnap].Ref.File, len(c.persisted), 100*c.persistShare(), c.snap.Ref.File, spanPhrase(c.span))
			continue
		}
		groupOK := len(c.groupPeers) > 0
		accum := c.accumulating(minPersist)
		departedOK := c.departedSock >= minN
		if !groupOK && !accum {
			var cause string
			for _, id := range []string{"pool-saturation", "healthcheck-starvation"} {
				if p.Prior(id, host) != nil {
					cause = id
					break
				}
			}
			if cause != "" && 2*c.inbound >= len(c.read) {
				p.RuleOut(host, "%d CLOSE_WAIT sockets with no unread data on listening ports are requests whose clients gave up while the handlers waited (%s); no sign of a leak of its own (no rise with the same sockets staying, no peers at one constant count)",
					c.inbound, cause)
				continue
			}
			if !departedOK {
				p.RuleOut(host, "%d CLOSE_WAIT sockets with no unread data in %s but no sign of a leak: %s, no peers at one constant count, and their peers are still connected",
					len(c.read), c.snap.Ref.File, seriesPhrase(c))
				continue
			}
		}
		p.Report(cwFinding(p, host, &c, groupOK, accum, departedOK))
	}
	return nil
}

func unreadPhrase(unread, unacc int) string {
	var parts []string
	if unread > 0 {
		parts = append(parts, fmt.Sprintf("%d still hold unread data (Recv-Q above 1)", unread))
	}
	if unacc > 0 {
		parts = append(parts, fmt.Sprintf("%d were never accepted (no inode, no owner: still in the accept queue)", unacc))
	}
	return strings.Join(parts, " and ")
}

// ratePhrase renders a rate given per hour in the unit that reads best.
func ratePhrase(perHour float64) string {
	if perHour >= 600 {
		return fmt.Sprintf("%.0f per minute", perHour/60)
	}
	return fmt.Sprintf("%.1f per hour", perHour)
}

// recvQPhrase says what the sockets' Recv-Q shows: the EOF read (0) or
// only the FIN pending (1).
func recvQPhrase(n, finOnly int) string {
	switch finOnly {
	case 0:
		return "Recv-Q 0: the application read the end of the stream"
	case n:
		return "Recv-Q 1: only the peer's FIN is pending, the connection was never used again"
	}
	return fmt.Sprintf("%d with Recv-Q 0, the end of the stream read; %d with Recv-Q 1, only the peer's FIN pending", n-finOnly, finOnly)
}

func spanPhrase(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " " + humanDuration(d) + " later"
}

func seriesPhrase(c cwScan) string {
	if len(c.counts) < 2 {
		return "one snapshot only"
	}
	return "the count did not rise across " + plural(len(c.counts), "snapshot") + " (" + joinInts(c.counts) + ")"
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " → ")
}

func cwFinding(p *Pass, host string, c *cwScan, groupOK, accum, departedOK bool) Finding {
	ev := p.Evidence
	f := Finding{Host: host, Title: "CLOSE_WAIT sockets leak: peers closed, the application never did"}
	src := c.view.Source
	cite := func(s event.Socket, note string) {
		f.Evidence = append(f.Evidence, Evidence{Ref: s.Ref, Time: s.Time, Text: citeSocket(s, src), Note: note})
	}
	pid, pname := mainOwner(c.read)
	who := "the application"
	if pid > 0 {
		who = fmt.Sprintf("%s (pid %d)", orText(pname, "process"), pid)
	}
	var sum []string
	sum = append(sum, fmt.Sprintf("%d sockets sit in CLOSE_WAIT with no unread data in %s (%s): their peers closed and %s never called close()",
		len(c.read), c.snap.Ref.File, recvQPhrase(len(c.read), c.finOnly), who))
	if !c.queues {
		sum[0] = fmt.Sprintf("%d sockets sit in CLOSE_WAIT in %s: their peers closed and %s never called close() (lsof prints no queues, so unread ones cannot be told apart)",
			len(c.read), c.snap.Ref.File, who)
	}

	if accum {
		f.Sources = append(f.Sources, "socket snapshots over time")
		s := c.persisted[0]
		cite(s, fmt.Sprintf("already in CLOSE_WAIT in %s; %d of its %d such sockets were still there in the last snapshot", c.view.Snaps[c.firstSnap].Ref.File, len(c.persisted), len(c.first)))
		line := fmt.Sprintf("the count rose %s across %s", joinInts(c.counts), plural(len(c.counts), "snapshot"))
		if c.span > 0 {
			line += fmt.Sprintf(" in %s (%s)", humanDuration(c.span), ratePhrase(c.perHour))
		}
		line += fmt.Sprintf(" and %.0f%% of the earliest ones never left", 100*c.persistShare())
		sum = append(sum, line)
	}
	if groupOK {
		f.Sources = append(f.Sources, "per-peer counts")
		for i, peer := range c.groupPeers {
			if i == 3 {
				break
			}
			cite(c.byPeer[peer][0], fmt.Sprintf("one of %d CLOSE_WAIT sockets to %s", c.groupSize, peer))
		}
		line := fmt.Sprintf("%d peers hold exactly %d CLOSE_WAIT sockets each: %d per peer = a pool of %d connections per peer (one per worker)",
			len(c.groupPeers), c.groupSize, c.groupSize, c.groupSize)
		sum = append(sum, line)
	}
	if len(c.departed) > 0 {
		if departedOK {
			f.Sources = append(f.Sources, "departed peers")
		}
		s := c.byPeer[c.departed[0]][0]
		if !groupOK {
			cite(s, fmt.Sprintf("%s has %d CLOSE_WAIT sockets here and no ESTABLISHED one", c.departed[0], len(c.byPeer[c.departed[0]])))
		}
		sum = append(sum, fmt.Sprintf("%s (%d sockets) no longer appear among ESTABLISHED connections: instances that went away",
			plural(len(c.departed), "peer"), c.departedSock))
	}
	if n, fl, frame := cwCaptured(ev, host, c.read); n > 0 {
		f.Sources = append(f.Sources, "capture")
		f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: frame}, Time: fl.Start,
			Text: fmt.Sprintf("%s -> %s", fl.Src, fl.Dst),
			Note: fmt.Sprintf("the peer's FIN; on %d of these connections the peer closed during the capture and this host never sent FIN or RST back", n)})
		sum = append(sum, fmt.Sprintf("the capture shows the peers' FINs on %d of these connections acknowledged and never answered by a FIN or RST from this host", n))
	}
	if age, ok := oldestAck(c.read); ok && age >= time.Minute {
		sum = append(sum, fmt.Sprintf("the oldest has heard nothing from its peer for %s (lastack)", humanDuration(age)))
	}
	if c.timers {
		if n := withKeepalive(c.read); n == 0 {
			f.Sources = append(f.Sources, "no keepalive timers")
			sum = append(sum, "none has a keepalive timer, so nothing will ever reap them (see keepalive-missing)")
		} else {
			sum = append(sum, fmt.Sprintf("%d of them have a keepalive timer, which will reset those whose peer is gone", n))
		}
	} else {
		f.Missing = append(f.Missing, "socket timers not collected: could not tell whether keepalive is enabled on them (collect: ss -tanpoe)")
	}

	// What it will run into: the owner's nofile limit.
	near, hours := false, -1.0
	if pid > 0 {
		var fp *fdProc
		procs := fdUse(ev, host)
		for i := range procs {
			if procs[i].proc.PID == pid {
				fp = &procs[i]
			}
		}
		switch {
		case fp != nil && fp.limit != nil && fp.limit.Soft > 0:
			pr, l := fp.proc, fp.limit
			near = fp.ratio >= p.Config.Get(fdNearRatio)
			f.Sources = append(f.Sources, "fd count vs limit")
			f.Evidence = append(f.Evidence,
				Evidence{Ref: pr.Ref, Time: pr.Time, Text: pr.Text, Note: fmt.Sprintf("%s holds %d fds, %d of them these CLOSE_WAIT sockets", who, pr.FDs, len(c.read))},
				Evidence{Ref: l.Ref, Time: l.Time, Text: l.Text, Note: fmt.Sprintf("its nofile soft limit is %d", l.Soft)})
			line := fmt.Sprintf("%s holds %d of its %d file descriptors (%.0f%%)", who, pr.FDs, l.Soft, 100*fp.ratio)
			switch {
			case accum && c.perHour > 0 && c.span.Seconds() < p.Config.Get(cwMinProjection):
				line += fmt.Sprintf("; the snapshots span only %s, too short to project when it runs out", humanDuration(c.span))
				f.Missing = append(f.Missing, fmt.Sprintf("snapshots span only %s: too short to project the time to the fd limit (collect: ss -tanpoe every few minutes for an hour)", humanDuration(c.span)))
			case accum && c.perHour > 0:
				hours = float64(l.Soft-int64(pr.FDs)) / c.perHour
				if hours < 0 {
					hours = 0
				}
				line += fmt.Sprintf("; at this rate it reaches the limit in %s", humanDuration(time.Duration(hours*float64(time.Hour))))
			}
			sum = append(sum, line)
		default:
			f.Missing = append(f.Missing, fmt.Sprintf("no fd count or nofile limit for pid %d: could not project when it runs out of descriptors (collect: ls /proc/%d/fd | wc -l; cat /proc/%d/limits)", pid, pid, pid))
		}
	} else if c.queues {
		f.Missing = append(f.Missing, "no owning process in the snapshot: could not tell which process leaks nor project its fd exhaustion (collect: ss -tanpoe as root)")
	}
	if len(c.counts) < 2 {
		f.Missing = append(f.Missing, "only one socket snapshot: could not see the count rise nor measure a leak rate (collect: ss -tanpoe several times, minutes apart)")
	}
	if c.snap.Filtered {
		f.Missing = append(f.Missing, "the snapshot was filtered: could not tell departed peers from live ones (collect: ss -tanpoe without a state filter)")
	}
	if len(c.unread)+len(c.unacc) > 0 {
		sum = append(sum, fmt.Sprintf("(%s are left out: never read, so not this mechanism)", unreadPhrase(len(c.unread), len(c.unacc))))
	}
	if len(f.Evidence) == 0 {
		cite(c.read[0], fmt.Sprintf("one of %d CLOSE_WAIT sockets holding no unread data", len(c.read)))
	}

	urgent := hours >= 0 && hours < p.Config.Get(cwUrgentHours)
	switch {
	case near || urgent:
		f.Severity = High
	case accum || groupOK:
		f.Severity = Medium
	default:
		f.Severity = Low
	}
	switch n := len(f.Sources); {
	case n >= 3 && (accum || groupOK):
		f.Confidence = HighConfidence
	case n >= 2:
		f.Confidence = MediumConfidence
	default:
		f.Confidence = LowConfidence
	}
	var ts []time.Time
	for _, s := range c.view.Snaps {
		ts = append(ts, s.Time)
	}
	f.Window = window(ts...)
	f.Summary = strings.Join(sum, "; ") + "."
	f.Remediation = []string{
		"Immediate: restart the process to release the sockets (only close() or the process's exit frees them); raising its nofile limit (prlimit --pid PID --nofile=N:N) only buys time.",
		"Code: close the socket as soon as a read returns 0 (EOF) or an error, and drop pooled connections to instances that left service discovery (evict on membership change, or close connections idle for more than a few minutes).",
		"Enable SO_KEEPALIVE on these connections with TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT (e.g. 600/30/3) so that a peer that is gone resets them; the code must still close the fd.",
		"Watch it: alert on the CLOSE_WAIT count per process (ss -tanp state close-wait) rising between samples.",
	}
	return f
}

// cwCaptured counts the flows of host that match one of socks and in
// which the remote side sent a FIN while the local side sent neither FIN
// nor RST; it returns the first such flow and its FIN's frame.
func cwCaptured(ev *event.Evidence, host string, socks []event.Socket) (int, event.Flow, int) {
	want := map[string]bool{}
	for _, s := range socks {
		want[epKey(s.Local)+" "+epKey(s.Remote)] = true
	}
	n := 0
	var first event.Flow
	frame := 0
	for _, fl := range ev.Flows {
		if fl.Host != host {
			continue
		}
		var finPeer, finLocal, rstLocal int
		switch {
		case want[epKey(fl.Src)+" "+epKey(fl.Dst)]: // Src is this host
			finPeer, finLocal, rstLocal = fl.FinDst, fl.FinSrc, fl.RstSrc
		case want[epKey(fl.Dst)+" "+epKey(fl.Src)]:
			finPeer, finLocal, rstLocal = fl.FinSrc, fl.FinDst, fl.RstDst
		default:
			continue
		}
		if finPeer == 0 || finLocal != 0 || rstLocal != 0 {
			continue
		}
		if n == 0 || finPeer < frame {
			first, frame = fl, finPeer
		}
		n++
	}
	return n, first, frame
}

func oldestAck(socks []event.Socket) (time.Duration, bool) {
	var best time.Duration
	ok := false
	for _, s := range socks {
		if d, has := sockInfoMS(s, "lastack"); has && d > best {
			best, ok = d, true
		}
	}
	return best, ok
}

func withKeepalive(socks []event.Socket) int {
	n := 0
	for _, s := range socks {
		if s.Timer != nil && s.Timer.Name == "keepalive" {
			n++
		}
	}
	return n
}
