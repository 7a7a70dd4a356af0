package analyzers

import (
	"fmt"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	aqMinDelta = threshold("accept-queue-overflow.min-overflow-delta", 1,
		"rise of TcpExt ListenOverflows (else ListenDrops) between two counter sets of one source that shows the accept queue overflowed: the kernel counts one per connection it could not queue")
	aqFullRatio = threshold("accept-queue-overflow.full-ratio", 1,
		"LISTEN Recv-Q / backlog at or above which a listener's accept queue is full (ss prints the backlog as a listener's Send-Q; the kernel refuses a connection once the queue exceeds it)")
)

// AcceptQueueOverflow finds listeners whose accept queue overflowed.
var AcceptQueueOverflow = &Analyzer{
	Name: "accept-queue-overflow",
	Doc: `listen backlog overflowing

A connection whose handshake completed waits in its listener's accept
queue until the application calls accept(). When the queue holds backlog
(min of listen()'s argument and net.core.somaxconn) connections, the kernel
drops the client's final ACK and further SYNs: the client sees its SYN-ACK
retransmitted, its connect() or first request stall for seconds, or times
out.

Evidence: a rise of TcpExt ListenOverflows (ListenDrops when the source has
no ListenOverflows) between two counter sets of one source; a LISTEN socket
whose Recv-Q (queued connections) is at its Send-Q (ss prints the backlog
there); for netstat and /proc/net/tcp, which print no backlog, Recv-Q at
net.core.somaxconn; in a capture, the server retransmitting SYN-ACKs. A
single counter set is never used alone: ListenOverflows counts since boot.

A counter rise or a full queue reports it (high when both agree or the
rise exceeds one a second). It is usually a symptom: linked to
fd-exhaustion (accept fails), healthcheck-starvation and pool-saturation
(no worker calls accept) when those are found. Needs two counter sets, or
an ss -ltn snapshot.`,
	Run: runAcceptQueueOverflow,
}

// aqListener is a listener with connections waiting in its accept queue.
type aqListener struct {
	sock    event.Socket
	src     string
	backlog int64
	bySys   bool // backlog is net.core.somaxconn, an upper bound
	ratio   float64
}

func runAcceptQueueOverflow(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		d, hasD := bestDelta(ev, host, "TcpExt ListenOverflows", "TcpExt ListenDrops")
		somax, somaxSys, hasSomax := sysctlInt(ev, host, "net.core.somaxconn")
		full, busiest := fullListeners(ev, host, somax, hasSomax, p.Config.Get(aqFullRatio))
		retx := synAckRetransmits(ev, host)

		byCounter := hasD && d.Delta > 0 && float64(d.Delta) >= p.Config.Get(aqMinDelta)
		byQueue := len(full) > 0
		if !byCounter && !byQueue {
			var why []string
			if busiest != nil {
				why = append(why, fmt.Sprintf("the fullest listener %s has %d of %d queued", busiest.sock.Local, busiest.sock.RecvQ, busiest.backlog))
			}
			if t := flatText(d); hasD && t != "" {
				why = append(why, t)
			}
			if len(retx) > 0 {
				why = append(why, fmt.Sprintf("%d captured connection(s) had SYN-ACKs retransmitted, which loss alone explains", len(retx)))
			}
			if len(why) > 0 {
				p.RuleOut(host, "%s: no accept queue overflowed", strings.Join(why, "; "))
			}
			continue
		}

		f := Finding{
			Host:     host,
			Title:    "accept queue overflowing",
			CausedBy: []string{"fd-exhaustion", "healthcheck-starvation", "pool-saturation", "file-max-reached"},
		}
		var parts []string
		direct := 0
		if byCounter {
			direct++
			f.Sources = append(f.Sources, "TcpExt counters")
			f.Evidence = append(f.Evidence, counterEvidence(ev, d, "connections the accept queue could not take")...)
			parts = append(parts, fmt.Sprintf("%s rose by %d %s", strings.TrimPrefix(d.Key, "TcpExt "), d.Delta, d.Over()))
		} else if hasD && d.Sets >= 2 {
			f.Missing = append(f.Missing, fmt.Sprintf("%s did not move across %d %s sets: the overflow was not ongoing while they were read", d.Key, d.Sets, d.Source))
		} else if !hasD {
			f.Missing = append(f.Missing, "no two counter sets: could not confirm with ListenOverflows (collect: nstat -az twice, 10 s apart)")
		}
		if n := resetNote(d); n != "" {
			f.Missing = append(f.Missing, n)
		}
		if byQueue {
			direct++
			f.Sources = append(f.Sources, "LISTEN queue")
			for i, l := range full {
				if i == 3 {
					break
				}
				what := "its backlog (Send-Q)"
				if l.bySys {
					what = "net.core.somaxconn, the largest backlog it can have"
				}
				f.Evidence = append(f.Evidence, Evidence{Ref: l.sock.Ref, Time: l.sock.Time, Text: citeSocket(l.sock, l.src),
					Note: fmt.Sprintf("listener %s has %d connections waiting to be accepted, %s is %d", l.sock.Local, l.sock.RecvQ, what, l.backlog)})
			}
			l := full[0]
			parts = append(parts, fmt.Sprintf("listener %s holds %d queued connections against a backlog of %d", l.sock.Local, l.sock.RecvQ, l.backlog))
			if l.bySys {
				f.Evidence = append(f.Evidence, sysctlEvidence(somaxSys, fmt.Sprintf("net.core.somaxconn is %d", somax)))
			}
		} else if busiest == nil {
			f.Missing = append(f.Missing, "no LISTEN socket with its queue: could not tell which listener overflows (collect: ss -ltn)")
		}
		if hasSomax && (!byQueue || !full[0].bySys) {
			f.Evidence = append(f.Evidence, sysctlEvidence(somaxSys, fmt.Sprintf("net.core.somaxconn is %d: no listener's backlog exceeds it", somax)))
		}
		synRetx := synRetransmits(ev, host, full)
		if len(retx) > 0 || len(synRetx) > 0 {
			f.Sources = append(f.Sources, "capture")
		}
		if len(retx) > 0 {
			fl := retx[0]
			f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: synAckFrame(fl)}, Time: fl.Start,
				Text: fmt.Sprintf("%s -> %s SYN-ACK retransmitted", fl.Dst, fl.Src),
				Note: fmt.Sprintf("%d connection(s) had their SYN-ACK retransmitted: the client's final ACK was dropped while the queue was full", len(retx))})
		}
		if len(synRetx) > 0 {
			fl := synRetx[0]
			f.Evidence = append(f.Evidence, Evidence{Ref: fl.Ref, Time: fl.Start,
				Text: fmt.Sprintf("%s -> %s SYN", fl.Src, fl.Dst),
				Note: fmt.Sprintf("%d connection(s) had to send their SYN again (%d unanswered to the end): since Linux 4.x the listener drops the SYN itself while its accept queue is full", len(synRetx), countAnomaly(synRetx, "syn-unanswered"))})
		}
		if len(retx) == 0 && len(synRetx) == 0 && len(ev.Flows) == 0 {
			f.Missing = append(f.Missing, "no capture in bundle: could not confirm dropped SYNs or SYN-ACK retransmissions (collect: tcpdump -i any -s 128 -w cap.pcap 'tcp port PORT and tcp[tcpflags] & tcp-syn != 0')")
		}

		rate := d.Rate()
		switch {
		case byCounter && byQueue, rate >= 1:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		contradicted := !byCounter && hasD && d.Sets >= 2 && !d.Increment
		f.Confidence = confidenceOf(len(f.Sources), direct > 0 && byCounter, contradicted)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". Completed handshakes find the accept queue full: the kernel drops them, clients retransmit and stall or time out. The application is not calling accept() fast enough."
		f.Remediation = []string{
			"Immediate: find why the application does not accept: every worker busy or blocked, accept() failing (EMFILE), a stalled event loop; fix that first, a bigger queue only hides it.",
			fmt.Sprintf("Durable: size the backlog for bursts: raise net.core.somaxconn (now %s) and the application's own listen() backlog (nginx listen ... backlog=N, Java ServerSocket backlog; Go uses somaxconn), and net.ipv4.tcp_max_syn_backlog.", valueOr(somax, hasSomax)),
			"Set net.ipv4.tcp_abort_on_overflow=1 only to make overflows visible to clients as resets while diagnosing; it is not a fix.",
		}
		p.Report(f)
	}
	return nil
}

func valueOr(v int64, ok bool) string {
	if !ok {
		return "not in bundle"
	}
	return fmt.Sprint(v)
}

// fullListeners returns the listeners whose queue is at their backlog,
// fullest first, and the fullest listener with anything queued at all.
func fullListeners(ev *event.Evidence, host string, somax int64, hasSomax bool, ratio float64) (full []aqListener, busiest *aqListener) {
	snaps, socks := SnapshotSockets(ev, host)
	seen := map[string]bool{}
	var all []aqListener
	for i, snap := range snaps {
		if !citable(snap.Source) {
			continue
		}
		for _, s := range socks[i] {
			if s.State != event.StateListen || !isTCP(s) || s.RecvQ <= 0 {
				continue
			}
			l := aqListener{sock: s, src: snap.Source}
			switch {
			case snap.Source == "ss" && s.SendQ > 0:
				l.backlog = s.SendQ
			case hasSomax && somax > 0:
				l.backlog, l.bySys = somax, true
			default:
				continue
			}
			l.ratio = float64(s.RecvQ) / float64(l.backlog)
			all = append(all, l)
		}
	}
	for i := range all {
		if busiest == nil || all[i].ratio > busiest.ratio {
			b := all[i]
			busiest = &b
		}
	}
	// fullest first; one entry per listening address
	for len(all) > 0 {
		best := 0
		for i := range all {
			if all[i].ratio > all[best].ratio {
				best = i
			}
		}
		l := all[best]
		all = append(all[:best], all[best+1:]...)
		if l.ratio < ratio {
			break
		}
		if k := l.sock.Local.String(); !seen[k] {
			seen[k] = true
			full = append(full, l)
		}
	}
	return full, busiest
}

// synAckRetransmits are the captured connections to host whose SYN-ACK
// was sent more than once.
func synAckRetransmits(ev *event.Evidence, host string) []event.Flow {
	local := localAddrs(ev, host)
	var out []event.Flow
	for _, fl := range ev.Flows {
		if len(local) > 0 {
			if !local[fl.Dst.IP()] {
				continue
			}
		} else if fl.Host != host {
			continue
		}
		if fl.SynAckRetx > 0 || hasAnomaly(fl, "synack-retrans") {
			out = append(out, fl)
		}
	}
	return out
}

func synAckFrame(fl event.Flow) int {
	if a, ok := findAnomaly(fl, "synack-retrans"); ok && a.Frame > 0 {
		return a.Frame
	}
	if fl.FirstFrame > 0 {
		return fl.FirstFrame
	}
	return fl.Ref.Frame
}

// synRetransmits are the captured connections to host's listeners (the
// full ones when known) whose client had to resend its SYN.
func synRetransmits(ev *event.Evidence, host string, full []aqListener) []event.Flow {
	local := localAddrs(ev, host)
	ports := map[uint16]bool{}
	for _, l := range full {
		ports[l.sock.Local.Port] = true
	}
	var out []event.Flow
	for _, fl := range ev.Flows {
		if len(local) > 0 {
			if !local[fl.Dst.IP()] {
				continue
			}
		} else if fl.Host != host {
			continue
		}
		if len(ports) > 0 && !ports[fl.Dst.Port] {
			continue
		}
		if fl.Initiated && (fl.SynRetrans > 0 || hasAnomaly(fl, "syn-unanswered")) {
			out = append(out, fl)
		}
	}
	return out
}

func countAnomaly(fls []event.Flow, kind string) int {
	n := 0
	for _, fl := range fls {
		if hasAnomaly(fl, kind) {
			n++
		}
	}
	return n
}
