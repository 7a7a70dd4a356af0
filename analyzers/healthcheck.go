package analyzers

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	hcMinShare = threshold("healthcheck-starvation.min-share", 0.6,
		"share of a listener's ESTABLISHED connections that must come from health-check sources: below it the workers are mostly busy with real clients")
	hcMinConns = threshold("healthcheck-starvation.min-connections", 3,
		"health-check connections a listener must hold: a check or two in flight is normal, a pool starved by them takes several")
	hcPoolTolerance = threshold("healthcheck-starvation.pool-tolerance", 2,
		"how far the held health-check connections may differ from the process's thread count (an acceptor or helper thread or two) to read as one connection per worker")
	hcMaxPeriodCV = threshold("healthcheck-starvation.max-period-cv", 0.25,
		"coefficient of variation of the intervals between health-check connections in a capture at or below which they are periodic (a load balancer's check interval)")
)

// hcRange is one entry of the built-in catalogue of health-check sources.
type hcRange struct {
	Prefix netip.Prefix
	Who    string
}

// healthcheckCatalogue lists load-balancer health-check source ranges that
// providers publish. AWS ELB checks come from the load balancer's own
// addresses inside the VPC and have no fixed range: pass them with
// --healthcheck-cidr.
var healthcheckCatalogue = []hcRange{
	{netip.MustParsePrefix("100.64.0.0/10"), "Alibaba Cloud SLB/CLB health checks (RFC 6598 shared space)"},
	{netip.MustParsePrefix("35.191.0.0/16"), "Google Cloud load balancer health checks"},
	{netip.MustParsePrefix("130.211.0.0/22"), "Google Cloud load balancer health checks"},
	{netip.MustParsePrefix("209.85.152.0/22"), "Google Cloud legacy (target pool) health checks"},
	{netip.MustParsePrefix("209.85.204.0/22"), "Google Cloud legacy (target pool) health checks"},
	{netip.MustParsePrefix("168.63.129.16/32"), "Azure load balancer health probes"},
}

// HealthcheckStarvation finds a fixed worker pool held by health checks.
var HealthcheckStarvation = &Analyzer{
	Name: "healthcheck-starvation",
	Doc: `load-balancer health checks starve a fixed worker pool

A thread-per-connection server with a fixed pool (Thrift TThreadPoolServer,
a bounded executor) hands each accepted connection to a worker that blocks
reading the first frame. A TCP health check connects and resets; when a
check's connection never delivers a byte nor a close the server sees, its
worker waits forever, and after enough of them every worker is held by a
health checker. Real clients are accepted or left in the backlog, never
read, give up and close: their sockets sit in CLOSE_WAIT with unread data.
The log fills with "Connection reset by peer": those resets are the health
checker's, the symptom people look at first, not the cause.

For each listening port in the host's latest socket snapshot the analyzer
counts ESTABLISHED connections from health-check sources: a built-in
catalogue (100.64.0.0/10 Alibaba Cloud SLB; 35.191.0.0/16, 130.211.0.0/22,
209.85.152.0/22, 209.85.204.0/22 Google Cloud; 168.63.129.16 Azure; AWS
checks come from the load balancer's VPC addresses, give them with
--healthcheck-cidr) plus --healthcheck-cidr. It reports starvation when at
least healthcheck-starvation.min-connections such connections make up
healthcheck-starvation.min-share of the port's ESTABLISHED connections and
real clients are waiting: CLOSE_WAIT or ESTABLISHED sockets from other
sources with unread data (Recv-Q > 0), or a non-empty accept queue (LISTEN
Recv-Q). Without queue columns (lsof) client CLOSE_WAIT sockets count.

The pool size is inferred and compared: the owning process's thread count
(/proc/PID/status Threads: the health-check connections equal it within
healthcheck-starvation.pool-tolerance, one per worker, or exceed it, the
surplus queued behind the workers), and a plateau of health-check
connections across snapshots; a count that only rises (checks whose close
never arrives piling up) is cited too. Other hosts' timeouts and short
reads that name this host are the clients giving up. In a capture,
the checker's connections (connect then RST, no payload) at a fixed period
(intervals with a coefficient of variation at most
healthcheck-starvation.max-period-cv), connections of it that never close,
and clients' requests left unanswered confirm it; conn-reset log lines are
cited as the symptom. It is a root cause; fd-exhaustion lists it as a
possible cause. A bundle needs an ss/netstat/lsof snapshot of the server
showing peers; /proc/PID/status, several snapshots and a capture of the
port raise the confidence.`,
	Run: runHealthcheckStarvation,
}

// hcCatalogue is the built-in catalogue plus the user's ranges.
func hcCatalogue(cfg *Config) []hcRange {
	out := append([]hcRange{}, healthcheckCatalogue...)
	for _, p := range cfg.HealthcheckCIDRs {
		out = append(out, hcRange{Prefix: p.Masked(), Who: "--healthcheck-cidr " + p.String()})
	}
	return out
}

func hcMatch(cat []hcRange, ip netip.Addr) (hcRange, bool) {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return hcRange{}, false
	}
	for _, r := range cat {
		if r.Prefix.Contains(ip) {
			return r, true
		}
	}
	return hcRange{}, false
}

// hcPort is one listening port's connections in one snapshot.
type hcPort struct {
	port       uint16
	listener   event.Socket
	estab      []event.Socket // inbound, not loopback
	hc         []event.Socket // of estab, from health-check sources
	clientCW   []event.Socket // CLOSE_WAIT from other sources
	unreadCW   []event.Socket // of clientCW, Recv-Q > 0 or never accepted
	unreadEst  []event.Socket // ESTABLISHED from other sources with Recv-Q > 0
	backlog    int64          // LISTEN Recv-Q: connections waiting for accept()
	backlogMax int64
}

func hcPorts(socks []event.Socket, cat []hcRange, queues bool) []hcPort {
	listen := listenerPorts(socks)
	detailed := detailedSnap(socks)
	byPort := map[uint16]*hcPort{}
	for port, l := range listen {
		hp := &hcPort{port: port, listener: l}
		if queues {
			hp.backlog, hp.backlogMax = l.RecvQ, l.SendQ
		}
		byPort[port] = hp
	}
	for _, s := range socks {
		hp := byPort[s.Local.Port]
		if hp == nil || !tcpSock(s) || loopback(s) || s.State == event.StateListen {
			continue
		}
		_, fromHC := hcMatch(cat, s.Remote.IP())
		switch s.State {
		case event.StateEstablished:
			hp.estab = append(hp.estab, s)
			switch {
			case fromHC:
				hp.hc = append(hp.hc, s)
			case queues && s.RecvQ > 0:
				hp.unreadEst = append(hp.unreadEst, s)
			}
		case event.StateCloseWait:
			if fromHC {
				continue
			}
			hp.clientCW = append(hp.clientCW, s)
			if (queues && s.RecvQ > 0) || unaccepted(s, detailed) {
				hp.unreadCW = append(hp.unreadCW, s)
			}
		}
	}
	out := make([]hcPort, 0, len(byPort))
	for _, hp := range byPort {
		out = append(out, *hp)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].hc) != len(out[j].hc) {
			return len(out[i].hc) > len(out[j].hc)
		}
		return out[i].port < out[j].port
	})
	return out
}

// waiting says whether real clients wait on the port, and how.
func (hp *hcPort) waiting(queues bool) (bool, string) {
	var parts []string
	if len(hp.unreadCW) > 0 {
		parts = append(parts, fmt.Sprintf("%s in CLOSE_WAIT never read (unread data or still in the accept queue)", plural(len(hp.unreadCW), "client connection")))
	} else if !queues && len(hp.clientCW) > 0 {
		parts = append(parts, fmt.Sprintf("%d client connections in CLOSE_WAIT", len(hp.clientCW)))
	}
	if len(hp.unreadEst) > 0 {
		parts = append(parts, fmt.Sprintf("%s with an unread request (Recv-Q > 0)", plural(len(hp.unreadEst), "client connection")))
	}
	if hp.backlog > 0 {
		parts = append(parts, fmt.Sprintf("%d connections waiting in the accept queue (LISTEN Recv-Q %d of %d)", hp.backlog, hp.backlog, hp.backlogMax))
	}
	return len(parts) > 0, strings.Join(parts, ", ")
}

func runHealthcheckStarvation(p *Pass) error {
	cat := hcCatalogue(p.Config)
	for _, host := range Hosts(p.Evidence) {
		v := hostSockView(p.Evidence, host)
		if len(v.Snaps) == 0 {
			continue
		}
		queues := queuesKnown(v.Source)
		snap, socks := v.last()
		ports := hcPorts(socks, cat, queues)
		if len(ports) == 0 {
			continue
		}
		hp := ports[0]
		wait, how := hp.waiting(queues)
		share := 0.0
		if len(hp.estab) > 0 {
			share = float64(len(hp.hc)) / float64(len(hp.estab))
		}
		if len(hp.hc) == 0 || len(hp.hc) < int(p.Config.Get(hcMinConns)) || share < p.Config.Get(hcMinShare) {
			// Rule out only where the symptom is there: clients waiting.
			for _, q := range ports {
				if w, qhow := q.waiting(queues); w {
					p.RuleOut(host, "clients wait on port %d (%s) but only %d of its %d ESTABLISHED connections come from health-check ranges (%s)",
						q.port, qhow, len(q.hc), len(q.estab), catalogueNames(cat))
					break
				}
			}
			continue
		}
		if !wait {
			p.RuleOut(host, "health checks hold %d of the %d ESTABLISHED connections on port %d, but no client is waiting (no unread CLOSE_WAIT, no unread request, empty accept queue) in %s",
				len(hp.hc), len(hp.estab), hp.port, snap.Ref.File)
			continue
		}
		p.Report(hcFinding(p, host, v, hp, how, cat))
	}
	return nil
}

func catalogueNames(cat []hcRange) string {
	names := make([]string, len(cat))
	for i, r := range cat {
		names[i] = r.Prefix.String()
	}
	return strings.Join(names, ", ") + "; add others with --healthcheck-cidr"
}

func hcFinding(p *Pass, host string, v sockView, hp hcPort, how string, cat []hcRange) Finding {
	ev := p.Evidence
	queues := queuesKnown(v.Source)
	snap, _ := v.last()
	f := Finding{
		Host:     host,
		Title:    fmt.Sprintf("health checks hold every worker of the service on port %d", hp.port),
		Severity: High,
		Sources:  []string{"socket snapshot"},
	}
	cite := func(s event.Socket, note string) {
		f.Evidence = append(f.Evidence, Evidence{Ref: s.Ref, Time: s.Time, Text: citeSocket(s, v.Source), Note: note})
	}
	who, _ := hcMatch(cat, hp.hc[0].Remote.IP())
	cite(hp.hc[0], fmt.Sprintf("one of %d ESTABLISHED connections on port %d from health-check sources (%s %s)", len(hp.hc), hp.port, who.Prefix, who.Who))
	if idle, ok := sockInfoMS(hp.hc[0], "lastrcv"); ok && idle >= time.Second {
		f.Evidence[0].Note += fmt.Sprintf("; nothing received on it for %s", humanDuration(idle))
	}
	switch {
	case len(hp.unreadCW) > 0:
		cite(hp.unreadCW[0], fmt.Sprintf("one of %d client connections in CLOSE_WAIT that were never read: the client gave up waiting", len(hp.unreadCW)))
	case len(hp.unreadEst) > 0:
		cite(hp.unreadEst[0], fmt.Sprintf("one of %d client connections whose request nobody reads", len(hp.unreadEst)))
	case !queues && len(hp.clientCW) > 0:
		cite(hp.clientCW[0], fmt.Sprintf("one of %d client connections in CLOSE_WAIT", len(hp.clientCW)))
	}
	if hp.backlog > 0 {
		cite(hp.listener, fmt.Sprintf("the accept queue holds %d connections nobody accepts", hp.backlog))
	}
	sum := []string{fmt.Sprintf("%d of the %d ESTABLISHED connections on port %d come from load-balancer health-check sources (%s) while real clients wait: %s",
		len(hp.hc), len(hp.estab), hp.port, who.Prefix, how)}

	// The pool size: the owner's thread count, a plateau across snapshots.
	pool := false
	pid := 0
	if len(hp.listener.Owners) > 0 {
		pid = hp.listener.Owners[0].PID
	} else {
		pid, _ = mainOwner(hp.estab)
	}
	if pid > 0 {
		if pr, ok := processRecord(ev, host, pid, true); ok {
			tol := int(p.Config.Get(hcPoolTolerance))
			switch d := len(hp.hc) - pr.Threads; {
			case d >= -tol && d <= tol:
				pool = true
				f.Evidence = append(f.Evidence, Evidence{Ref: pr.Ref, Time: pr.Time, Text: pr.Text,
					Note: fmt.Sprintf("%s (pid %d) runs %d threads: one held connection per worker", procName(pr), pid, pr.Threads)})
				sum = append(sum, fmt.Sprintf("%s (pid %d) runs %d threads, about one per held connection: the pool is full of health checks", procName(pr), pid, pr.Threads))
			case d > tol:
				// More checks than threads: the surplus is accepted and
				// queued behind the workers, never read either.
				pool = true
				f.Evidence = append(f.Evidence, Evidence{Ref: pr.Ref, Time: pr.Time, Text: pr.Text,
					Note: fmt.Sprintf("%s (pid %d) runs %d threads: fewer than the %d health-check connections", procName(pr), pid, pr.Threads, len(hp.hc))})
				sum = append(sum, fmt.Sprintf("%s (pid %d) runs only %d threads: the %d health-check connections are enough to hold every worker, the rest wait in the server's queue", procName(pr), pid, pr.Threads, len(hp.hc)))
			default:
				sum = append(sum, fmt.Sprintf("the process runs %d threads, more than the %d held connections: a fixed pool cannot be confirmed from its size", pr.Threads, len(hp.hc)))
			}
		} else {
			f.Missing = append(f.Missing, fmt.Sprintf("no thread count for pid %d: could not compare the held connections with the worker pool (collect: cat /proc/%d/status)", pid, pid))
		}
	}
	if len(v.Snaps) >= 2 {
		var counts []int
		for i := range v.Snaps {
			n := 0
			for _, q := range hcPorts(v.Socks[i], cat, queues) {
				if q.port == hp.port {
					n = len(q.hc)
				}
			}
			counts = append(counts, n)
		}
		lo, hi := counts[0], counts[0]
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		rising := counts[len(counts)-1] > counts[0]
		for i := 1; i < len(counts); i++ {
			if counts[i] < counts[i-1] {
				rising = false
			}
		}
		switch {
		case hi-lo <= 1 && lo > 0:
			pool = true
			sum = append(sum, fmt.Sprintf("their number holds at a plateau across %s (%s): the pool size", plural(len(counts), "snapshot"), joinInts(counts)))
		case rising:
			f.Sources = append(f.Sources, "health-check connections accumulate")
			sum = append(sum, fmt.Sprintf("their number only rises across %s (%s): checks whose close never arrives pile up", plural(len(counts), "snapshot"), joinInts(counts)))
		}
	} else {
		f.Missing = append(f.Missing, "one socket snapshot: could not see the health-check connections plateau at the pool size (collect: ss -tanpoe several times)")
	}
	if pool {
		f.Sources = append(f.Sources, "worker pool size")
	}

	// The capture: the checker's pattern and the clients left unanswered.
	capHC, capClients, said := hcCapture(p, host, hp.port, cat, &f)
	if capHC {
		f.Sources = append(f.Sources, "capture: health-check pattern")
	}
	if capClients {
		f.Sources = append(f.Sources, "capture: clients unanswered")
	}
	sum = append(sum, said...)
	if !hasFlows(ev, host) {
		f.Missing = append(f.Missing, fmt.Sprintf("no capture in bundle: could not confirm the checker's connect-then-reset pattern and period nor the unanswered requests (collect: tcpdump -i any -s 128 -w hc.pcap port %d)", hp.port))
	}

	// The clients' side: their timeouts naming this host.
	remote := remoteLogs(ev, host, hostAddrs(v), append([]string{"short-read"}, timeoutSignatures...))
	for _, h := range sortedKeys(remote) {
		ls := remote[h]
		f.Sources = append(f.Sources, "client timeouts on "+h)
		f.Evidence = append(f.Evidence, logEvidence(ls, 1, fmt.Sprintf("a client on %s gave up waiting for this host", h))...)
		sum = append(sum, fmt.Sprintf("clients on %s gave up %s waiting for it", h, plural(countLogs(ls), "time")))
	}

	// The symptom people saw first.
	resets := Logs(ev, host, "conn-reset")
	if n := countLogs(resets); n > 0 {
		f.Sources = append(f.Sources, "log resets")
		f.Evidence = append(f.Evidence, logEvidence(resets, 2, "the resets are the health checker's, not the cause")...)
		sum = append(sum, fmt.Sprintf("the %s in the log are the health checker resetting its probes: the symptom, not the cause", plural(n, "connection reset line")))
	}

	switch {
	case len(f.Sources) >= 3:
		f.Confidence = HighConfidence
	case len(f.Sources) == 2:
		f.Confidence = MediumConfidence
	default:
		f.Confidence = LowConfidence
	}
	if !pool && !capHC {
		f.Severity = Medium
	}
	var ts []time.Time
	for _, e := range f.Evidence {
		ts = append(ts, e.Time)
	}
	ts = append(ts, snap.Time)
	f.Window = window(ts...)
	f.Summary = strings.Join(sum, "; ") + "."
	f.Remediation = []string{
		"Immediate: restart the service to free the workers; lengthen the health-check interval or switch the check to the service's own protocol (an HTTP or Thrift-level check) so it completes a request instead of holding a connection.",
		"Durable: give accepted sockets a read timeout (e.g. TSocket/socket timeout of a few seconds) so a connection that sends nothing frees its worker, and enable SO_KEEPALIVE on them so vanished peers are reset.",
		"Durable: use a server that does not pin a thread per idle connection (Thrift TThreadedSelectorServer/TNonblockingServer, an event loop) or a pool much larger than the number of checkers times their connections in flight.",
	}
	return f
}

func hasFlows(ev *event.Evidence, host string) bool {
	for _, fl := range ev.Flows {
		if fl.Host == host {
			return true
		}
	}
	return false
}

// hcCapture looks at flows to port: the health checker's connections
// (connect then reset with no payload, or never closed) and their period,
// and clients whose requests got no answer. It adds evidence to f.
func hcCapture(p *Pass, host string, port uint16, cat []hcRange, f *Finding) (hcSeen, clientsSeen bool, said []string) {
	ev := p.Evidence
	var probes, hung, unanswered []event.Flow
	periodic := false
	for _, fl := range ev.Flows {
		if fl.Host != host || fl.Dst.Port != port {
			continue
		}
		if _, ok := hcMatch(cat, fl.Src.IP()); ok {
			switch {
			case hasAnomaly(fl, "connect-then-rst") || (fl.Established && fl.BytesSrc == 0 && fl.RstSrc > 0):
				probes = append(probes, fl)
			case fl.Established && fl.BytesSrc == 0 && fl.FinSrc == 0 && fl.RstSrc == 0 && fl.FinDst == 0 && fl.RstDst == 0:
				hung = append(hung, fl)
			}
			continue
		}
		if hasAnomaly(fl, "no-response") || (fl.Established && fl.BytesSrc > 0 && fl.BytesDst == 0) {
			unanswered = append(unanswered, fl)
		}
	}
	if len(probes) > 0 {
		hcSeen = true
		fl := probes[0]
		frame := fl.FirstFrame
		if a, ok := findAnomaly(fl, "connect-then-rst"); ok && a.Frame > 0 {
			frame = a.Frame
		}
		if frame == 0 {
			frame = fl.Ref.Frame
		}
		note := fmt.Sprintf("in the capture, %d health-check connections were opened and reset without sending a byte", len(probes))
		if period, ok := hcPeriod(probes, p.Config.Get(hcMaxPeriodCV)); ok {
			periodic = true
			note += fmt.Sprintf(", one every %s from each checker", humanDuration(period))
		}
		said = append(said, note)
		f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: frame}, Time: fl.Start,
			Text: fmt.Sprintf("%s -> %s connect-then-rst", fl.Src, fl.Dst), Note: note})
	}
	for _, pe := range ev.Packets {
		if pe.Host == host && pe.Kind == "healthcheck-periodic" && !periodic {
			hcSeen = true
			f.Evidence = append(f.Evidence, Evidence{Ref: pe.Ref, Time: pe.Time, Text: fmt.Sprintf("%s -> %s %s", pe.Src, pe.Dst, pe.Kind), Note: orText(pe.Note, "periodic health-check connections")})
			break
		}
	}
	if len(hung) > 0 {
		hcSeen = true
		fl := hung[0]
		note := fmt.Sprintf("%d health-check connections were established and then neither sent a byte nor closed: each holds a worker", len(hung))
		said = append(said, note)
		f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: max(fl.FirstFrame, fl.Ref.Frame)}, Time: fl.Start,
			Text: fmt.Sprintf("%s -> %s", fl.Src, fl.Dst), Note: note})
	}
	if len(unanswered) > 0 {
		clientsSeen = true
		fl := unanswered[0]
		frame := max(fl.FirstFrame, fl.Ref.Frame)
		if a, ok := findAnomaly(fl, "no-response"); ok && a.Frame > 0 {
			frame = a.Frame
		}
		f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: fl.Ref.File, Frame: frame}, Time: fl.Start,
			Text: fmt.Sprintf("%s -> %s no-response", fl.Src, fl.Dst),
			Note: fmt.Sprintf("%s got no answer", plural(len(unanswered), "client request"))})
		said = append(said, fmt.Sprintf("%s in the capture got no answer", plural(len(unanswered), "client request")))
	}
	return hcSeen, clientsSeen, said
}

// hcPeriod returns the check interval: each checker source's connections
// come at a regular interval (several checker nodes interleave, so the
// intervals are taken per source); the median over regular sources.
func hcPeriod(fls []event.Flow, maxCV float64) (time.Duration, bool) {
	bySrc := map[netip.Addr][]time.Time{}
	for _, fl := range fls {
		if !fl.Start.IsZero() {
			bySrc[fl.Src.IP()] = append(bySrc[fl.Src.IP()], fl.Start)
		}
	}
	var periods []float64
	for _, starts := range bySrc {
		if d, ok := regularInterval(starts, maxCV); ok {
			periods = append(periods, d)
		}
	}
	if len(periods) == 0 {
		return 0, false
	}
	return time.Duration(median(periods) * float64(time.Second)), true
}

// regularInterval returns the median interval in seconds between the
// instants when there are at least three and their intervals vary by at
// most maxCV.
func regularInterval(starts []time.Time, maxCV float64) (float64, bool) {
	if len(starts) < 3 {
		return 0, false
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	var iv []float64
	sum := 0.0
	for i := 1; i < len(starts); i++ {
		d := starts[i].Sub(starts[i-1]).Seconds()
		iv = append(iv, d)
		sum += d
	}
	mean := sum / float64(len(iv))
	if mean <= 0 {
		return 0, false
	}
	ss := 0.0
	for _, d := range iv {
		ss += (d - mean) * (d - mean)
	}
	if math.Sqrt(ss/float64(len(iv)))/mean > maxCV {
		return 0, false
	}
	return median(iv), true
}
