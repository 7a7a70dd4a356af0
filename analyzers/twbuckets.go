package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	twAtRatio = threshold("tw-bucket-overflow.at-ratio", 0.9,
		"TIME_WAIT sockets / net.ipv4.tcp_max_tw_buckets at or above which the table is taken as full: the kernel refuses a new TIME_WAIT at 1.0, and a snapshot read between bursts of closes reads a little under")
	twMinLines = threshold("tw-bucket-overflow.min-log-lines", 1,
		"'time wait bucket table overflow' kernel lines (ratelimit-suppressed ones counted) that alone show overflow: the kernel prints it only when it refused a TIME_WAIT socket")
	twMinDelta = threshold("tw-bucket-overflow.min-overflow-delta", 1,
		"rise of TcpExt TCPTimeWaitOverflow between two counter sets of one source that alone shows overflow: the kernel counts it only when it refused a TIME_WAIT socket")
	twUnknownFloor = threshold("tw-bucket-overflow.unknown-limit-floor", 1024,
		"TIME_WAIT count under which overflow is ruled out when net.ipv4.tcp_max_tw_buckets is not in the bundle: the kernel's default is half its established-connection hash, sized from RAM (4096 on a 1 GB VM, 262144 on large hosts), and cloud images set 5000")
	twConsequenceSlack = threshold("tw-bucket-overflow.consequence-slack-seconds", 60,
		"seconds around the overflow within which a reset or 'closed by server' line on any host is cited as its consequence")
)

// twTimeWaitLen is TCP_TIMEWAIT_LEN: a TIME_WAIT socket lives 60 s, so a
// host that closes R connections a second first holds about 60·R of them.
const twTimeWaitLen = 60 * time.Second

// TWBucketOverflow finds hosts whose TIME_WAIT table overflowed.
var TWBucketOverflow = &Analyzer{
	Name: "tw-bucket-overflow",
	Doc: `TIME_WAIT bucket table overflow

The side that closes a TCP connection first keeps it in TIME_WAIT for 60 s.
When net.ipv4.tcp_max_tw_buckets of them exist, the kernel destroys each
further closing connection at once instead: its last ACK or a retransmitted
FIN is answered with a reset, and a reply still in flight can be lost (a
Redis LPOP whose reply never arrives). Cloud images ship a limit of 5000,
which a host making or serving short connections at 100/s reaches.

Evidence: the kernel line "TCP: time wait bucket table overflow" (older
kernels; ratelimit-suppressed lines are counted), a rise of TcpExt
TCPTimeWaitOverflow between two counter sets of one source (netstat -s,
nstat, /proc/net/netstat; every kernel counts it), and the TIME_WAIT count
(the largest of ss/netstat//proc/net/tcp, sockstat tw, ss -s timewait)
against net.ipv4.tcp_max_tw_buckets. From a capture it works out which side
closes first and at what rate, and how many TIME_WAIT sockets that rate
needs (rate x 60 s). Reset or "closed by server" lines on any host around
the overflow are cited as its consequence.

A kernel line or a counter rise is an overflow (high); a count at the limit
without either is medium. A large TIME_WAIT count well under the limit is
healthy and is ruled out with its numbers. Needs: kernel log or two counter
sets, or a socket table with the sysctl.`,
	Run: runTWBucketOverflow,
}

func runTWBucketOverflow(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := sigLogs(ev, host, "tw-bucket-overflow")
		lines := countLogs(logs)
		d, hasD := bestDelta(ev, host, "TcpExt TCPTimeWaitOverflow")
		limit, limitSys, hasLimit := sysctlInt(ev, host, "net.ipv4.tcp_max_tw_buckets")
		tw := twCount(ev, host)
		closers := activeClosers(ev, host)

		byLog := lines > 0 && float64(lines) >= p.Config.Get(twMinLines)
		byCounter := hasD && d.Delta > 0 && float64(d.Delta) >= p.Config.Get(twMinDelta)
		atLimit := hasLimit && limit > 0 && tw.n > 0 && float64(tw.n) >= p.Config.Get(twAtRatio)*float64(limit)
		if !byLog && !byCounter && !atLimit {
			twRuleOut(p, host, tw, limit, hasLimit, d, hasD, closers, p.Config.Get(twUnknownFloor))
			continue
		}

		f := Finding{
			Host:  host,
			Title: "TIME_WAIT bucket table overflow",
		}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "kernel log")
			suppressed := lines - len(logs)
			note := "the kernel refused a TIME_WAIT socket and destroyed the connection"
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, note)...)
			s := fmt.Sprintf("the kernel printed \"time wait bucket table overflow\" %d times", lines)
			if suppressed > 0 {
				s = fmt.Sprintf("the kernel reported a time wait bucket table overflow %d times (%d printed, %d suppressed by ratelimit)", lines, len(logs), suppressed)
			}
			parts = append(parts, s)
		}
		if byCounter {
			mech++
			f.Sources = append(f.Sources, "TcpExt counters")
			f.Evidence = append(f.Evidence, counterEvidence(ev, d, "connections destroyed instead of kept in TIME_WAIT")...)
			parts = append(parts, fmt.Sprintf("TCPTimeWaitOverflow rose by %d %s", d.Delta, d.Over()))
		}
		if hasD && d.Delta == 0 && d.Sets >= 2 {
			// A flat counter while something else claims overflow: say so.
			f.Missing = append(f.Missing, fmt.Sprintf("TCPTimeWaitOverflow did not move across %d %s sets: the overflow was not ongoing while they were read", d.Sets, d.Source))
		}
		if n := resetNote(d); n != "" {
			f.Missing = append(f.Missing, n)
		}
		if tw.n > 0 {
			switch {
			case hasLimit:
				note := fmt.Sprintf("%d TIME_WAIT sockets (%s), %.0f%% of net.ipv4.tcp_max_tw_buckets %d", tw.n, tw.what, pct(tw.n, limit), limit)
				f.Evidence = append(f.Evidence, tw.ev(note), sysctlEvidence(limitSys, fmt.Sprintf("net.ipv4.tcp_max_tw_buckets is %d", limit)))
				if atLimit {
					mech++
					f.Sources = append(f.Sources, "TIME_WAIT count vs limit")
				}
				parts = append(parts, fmt.Sprintf("%d TIME_WAIT sockets against a limit of %d", tw.n, limit))
			default:
				f.Evidence = append(f.Evidence, tw.ev(fmt.Sprintf("%d TIME_WAIT sockets (%s)", tw.n, tw.what)))
				f.Missing = append(f.Missing, "net.ipv4.tcp_max_tw_buckets not in bundle: could not compare the TIME_WAIT count with its limit (collect: sysctl net.ipv4.tcp_max_tw_buckets)")
			}
		} else if hasLimit {
			f.Evidence = append(f.Evidence, sysctlEvidence(limitSys, fmt.Sprintf("net.ipv4.tcp_max_tw_buckets is %d", limit)))
			f.Missing = append(f.Missing, "no socket table or sockstat: could not count TIME_WAIT sockets (collect: ss -tan state time-wait | wc -l; cat /proc/net/sockstat)")
		} else {
			f.Missing = append(f.Missing, "neither a TIME_WAIT count nor net.ipv4.tcp_max_tw_buckets in bundle (collect: cat /proc/net/sockstat; sysctl net.ipv4.tcp_max_tw_buckets)")
		}
		if !hasD {
			if c, ok := singleCounter(ev, host, "TcpExt TCPTimeWaitOverflow"); ok {
				f.Missing = append(f.Missing, fmt.Sprintf("one counter set only (TCPTimeWaitOverflow %d since boot at %s): could not tell whether it still rises (collect: nstat -az twice, 10 s apart)", c.Value, c.Ref))
			} else {
				f.Missing = append(f.Missing, "no TcpExt counters: could not confirm with TCPTimeWaitOverflow (collect: nstat -az twice, 10 s apart)")
			}
		}
		if c, ok := closers.top(); ok {
			needed := int64(c.rate() * twTimeWaitLen.Seconds())
			side := c.addr.String()
			if closers.local[c.addr] {
				side += " (this host)"
			}
			note := fmt.Sprintf("%s closed %d of %d connections first (%.1f/s over %s): at that rate it holds about %d TIME_WAIT sockets",
				side, c.n, closers.total, c.rate(), closers.span.Round(time.Millisecond), needed)
			if hasLimit {
				note += fmt.Sprintf(" against a limit of %d", limit)
			}
			if port, n, ok := c.busiestPort(); ok {
				note += fmt.Sprintf("; %d of its closes are on its port %d", n, port)
			}
			f.Evidence = append(f.Evidence, Evidence{Ref: c.first.Ref, Time: c.first.Time, Text: c.first.Text, Note: note})
			f.Sources = append(f.Sources, "capture")
			if hasLimit && float64(needed) >= p.Config.Get(twAtRatio)*float64(limit) {
				mech++
			}
			parts = append(parts, fmt.Sprintf("%s closes first at %.1f connections/s", side, c.rate()))
		} else if len(ev.Flows) == 0 {
			f.Missing = append(f.Missing, "no capture in bundle: could not tell which side closes first nor at what rate (collect: tcpdump -i any -s 128 -w cap.pcap 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0')")
		}

		f.Window = evidenceWindow(f.Evidence)
		if cons := twConsequences(p, host, f.Window); len(cons) > 0 {
			f.Sources = append(f.Sources, "resets seen by peers")
			f.Evidence = append(f.Evidence, cons...)
		}
		if byLog || byCounter {
			f.Severity = High
		} else {
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || byCounter, hasD && d.Delta == 0 && d.Sets >= 2 && !byLog)
		f.Summary = strings.Join(parts, "; ") + ". Past net.ipv4.tcp_max_tw_buckets the kernel destroys closing connections instead of keeping them in TIME_WAIT: late segments are answered with resets and replies in flight can be lost."
		f.Remediation = twRemediation(limit, hasLimit, closers)
		p.Report(f)
	}
	return nil
}

// twTotal is the TIME_WAIT count the bundle shows, from the source that
// shows the most.
type twTotal struct {
	n    int64
	what string
	ev   func(note string) Evidence
}

func twCount(ev *event.Evidence, host string) twTotal {
	var t twTotal
	if c, ok := peakState(ev, host, event.StateTimeWait); ok && c.N > 0 {
		t = twTotal{n: c.N, what: "in " + c.Snap.Ref.File, ev: func(note string) Evidence { return stateEvidence(c, note) }}
	}
	for _, g := range []struct{ group, name, what string }{
		{"sockstat TCP", "tw", "sockstat tw"},
		{"ss-s", "tcp_timewait", "ss -s timewait"},
	} {
		if c, ok := gaugePeak(ev, host, g.group, g.name); ok && c.Value > t.n {
			c := c
			t = twTotal{n: c.Value, what: g.what, ev: func(note string) Evidence {
				return Evidence{Ref: c.Ref, Time: c.Time, Text: counterText(ev, c), Note: note}
			}}
		}
	}
	return t
}

func twRuleOut(p *Pass, host string, tw twTotal, limit int64, hasLimit bool, d counterDelta, hasD bool, closers closerStats, floor float64) {
	var why []string
	switch {
	case tw.n > 0 && hasLimit:
		why = append(why, fmt.Sprintf("%d TIME_WAIT sockets (%s) is %.1f%% of net.ipv4.tcp_max_tw_buckets %d", tw.n, tw.what, pct(tw.n, limit), limit))
	case tw.n > 0 && float64(tw.n) < floor:
		why = append(why, fmt.Sprintf("%d TIME_WAIT sockets (%s) is far below any default net.ipv4.tcp_max_tw_buckets (the limit is not in the bundle; kernels default to half the established hash, 4096 or more, cloud images to 5000)", tw.n, tw.what))
	case tw.n > 0:
		why = append(why, fmt.Sprintf("%d TIME_WAIT sockets (%s), but net.ipv4.tcp_max_tw_buckets is not in the bundle: not confirmed either way (collect: sysctl net.ipv4.tcp_max_tw_buckets)", tw.n, tw.what))
	case hasLimit:
		why = append(why, fmt.Sprintf("no TIME_WAIT socket counted (limit %d)", limit))
	}
	if t := flatText(d); hasD && t != "" {
		why = append(why, t)
	}
	if c, ok := closers.top(); ok {
		why = append(why, fmt.Sprintf("the busiest active closer %s closes %.1f connections/s (about %d in TIME_WAIT)", c.addr, c.rate(), int64(c.rate()*twTimeWaitLen.Seconds())))
	}
	if len(why) == 0 {
		return
	}
	p.RuleOut(host, "%s, and no kernel line reports a time wait bucket table overflow", strings.Join(why, "; "))
}

// closer is one address that closed connections first.
type closer struct {
	addr  netip.Addr
	n     int
	ports map[uint16]int // closes by the closer's own port
	first Evidence       // the FIN frame of its first close
	span  time.Duration
}

// busiestPort names the closer's own port that most closes came from,
// when one does (a server port), for saying which service churns.
func (c closer) busiestPort() (uint16, int, bool) {
	var port uint16
	n := 0
	for p, k := range c.ports {
		if k > n || (k == n && p < port) {
			port, n = p, k
		}
	}
	return port, n, n*2 > c.n && n > 1
}

func (c closer) rate() float64 {
	if c.span <= 0 {
		return 0
	}
	return float64(c.n) / c.span.Seconds()
}

type closerStats struct {
	byAddr map[netip.Addr]*closer
	local  map[netip.Addr]bool
	total  int
	span   time.Duration
}

// top is the address that closed most first: one of host's own when its
// addresses are known, else the capture's busiest.
func (s closerStats) top() (closer, bool) {
	var best *closer
	for a, c := range s.byAddr {
		if len(s.local) > 0 && !s.local[a] {
			continue
		}
		if best == nil || c.n > best.n || (c.n == best.n && a.Less(best.addr)) {
			best = c
		}
	}
	if best == nil || best.n == 0 {
		return closer{}, false
	}
	out := *best
	out.span = s.span
	return out, true
}

// activeClosers counts, over the captured flows, who sent the first FIN.
// Flows captured on any host count when host's addresses are known (the
// capture may have been taken on the peer); else only host's own captures.
func activeClosers(ev *event.Evidence, host string) closerStats {
	st := closerStats{byAddr: map[netip.Addr]*closer{}, local: localAddrs(ev, host)}
	var start, end time.Time
	for _, fl := range ev.Flows {
		if fl.Host != host && len(st.local) == 0 {
			continue
		}
		if len(st.local) > 0 && !st.local[fl.Src.IP()] && !st.local[fl.Dst.IP()] {
			continue
		}
		if start.IsZero() || (!fl.Start.IsZero() && fl.Start.Before(start)) {
			start = fl.Start
		}
		if fl.End.After(end) {
			end = fl.End
		}
		var who event.Endpoint
		var frame int
		switch {
		case fl.FinSrc > 0 && (fl.FinDst == 0 || fl.FinSrc < fl.FinDst):
			who, frame = fl.Src, fl.FinSrc
		case fl.FinDst > 0:
			who, frame = fl.Dst, fl.FinDst
		default:
			continue
		}
		st.total++
		a := who.IP()
		c := st.byAddr[a]
		if c == nil {
			c = &closer{addr: a, ports: map[uint16]int{}, first: Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: frame}, Time: fl.End,
				Text: fmt.Sprintf("%s -> %s FIN from %s", fl.Src, fl.Dst, who)}}
			st.byAddr[a] = c
		}
		c.n++
		c.ports[who.Port]++
	}
	if !start.IsZero() && end.After(start) {
		st.span = end.Sub(start)
	}
	return st
}

// twConsequences cites reset and "closed by server" lines, on any host,
// within the slack of the overflow's window.
func twConsequences(p *Pass, host string, w Window) []Evidence {
	slack := time.Duration(p.Config.Get(twConsequenceSlack) * float64(time.Second))
	var hits []event.LogEvent
	for _, h := range Hosts(p.Evidence) {
		for _, l := range sigLogs(p.Evidence, h, "conn-reset") {
			switch {
			case w.Start.IsZero() || l.Time.IsZero():
				if h != host {
					continue // no time to tie another host's line to this one
				}
			case l.Time.Before(w.Start.Add(-slack)) || l.Time.After(w.End.Add(slack)):
				continue
			}
			hits = append(hits, l)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Time.Before(hits[j].Time) })
	note := fmt.Sprintf("one of %d reset or closed-by-server lines around the overflow: a connection destroyed instead of kept in TIME_WAIT", countLogs(hits))
	pick := hits
	if len(pick) > 2 {
		pick = []event.LogEvent{hits[0], hits[len(hits)-1]}
	}
	out := make([]Evidence, 0, len(pick))
	for _, l := range pick {
		e := Evidence{Ref: l.Ref, Time: l.Time, Text: l.Text, Note: note}
		if l.Host != host {
			e.Note += " (seen on " + l.Host + ")"
		}
		out = append(out, e)
	}
	return out
}

func twRemediation(limit int64, hasLimit bool, closers closerStats) []string {
	target := int64(262144)
	if c, ok := closers.top(); ok {
		if need := int64(2 * c.rate() * twTimeWaitLen.Seconds()); need > target {
			target = need
		}
	}
	cur := "the current limit"
	if hasLimit {
		cur = fmt.Sprintf("the current %d", limit)
	}
	return []string{
		fmt.Sprintf("Immediate: raise %s: sysctl -w net.ipv4.tcp_max_tw_buckets=%d, and persist it in /etc/sysctl.d/ (5000 is a cloud-image default; each TIME_WAIT socket costs a few hundred bytes).", cur, target),
		"Durable: stop churning connections: reuse them (HTTP keep-alive, client connection pools, a Redis connection pool), or let the client close first so the TIME_WAIT lands on the many clients rather than the one server.",
		"For outgoing connections only: net.ipv4.tcp_tw_reuse=1 lets connect() reuse a TIME_WAIT port safely (needs TCP timestamps).",
		"Do not use net.ipv4.tcp_tw_recycle: it broke clients behind NAT and was removed in Linux 4.12.",
	}
}
