package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	synMinLines = threshold("syn-flood.min-log-lines", 1,
		"'Possible SYN flooding on port' kernel lines that alone show the SYN queue overflowed: the kernel prints it when the queue is full, whatever filled it")
	synMinDelta = threshold("syn-flood.min-cookie-delta", 1,
		"rise of TcpExt TCPReqQFullDoCookies + TCPReqQFullDrop (else SyncookiesSent) between two counter sets that shows the SYN queue overflowed")
	synRecvRatio = threshold("syn-flood.synrecv-ratio", 0.9,
		"SYN_RECV sockets on one port / the listener's backlog at or above which its SYN queue is full (since Linux 4.4 the SYN queue is bounded by the listen backlog)")
	synFloodSources = threshold("syn-flood.flood-sources", 100,
		"distinct source addresses of half-open connections (capture) or SYN_RECV sockets at or above which the SYNs look like a flood rather than a burst of the usual clients")
	synRecvMin = threshold("syn-flood.min-synrecv", 256,
		"SYN_RECV sockets on one port reported as a pile when no backlog is known (ss prints it as a listener's Send-Q); a handful is normal on any busy server")
)

// SYNFlood finds listeners whose SYN queue overflowed.
var SYNFlood = &Analyzer{
	Name: "syn-flood",
	Doc: `SYN flood or SYN backlog full

Each SYN a listener answers waits in its SYN queue (SYN_RECV) until the
client's ACK. When the queue is full the kernel prints "Possible SYN
flooding on port N" and either answers with SYN cookies (TCP options such
as window scaling may be lost) or, with net.ipv4.tcp_syncookies=0, drops
the SYN. A real flood, a burst of legitimate clients, or an accept queue
that stopped draining (the final ACKs are dropped and the SYN_RECV entries
stay) all fill it.

Evidence: the kernel line in its wordings ("Possible SYN flooding on port
N. Sending cookies." / "Dropping request", with or without
"request_sock_TCP:"), rises of TcpExt TCPReqQFullDoCookies, TCPReqQFullDrop
and SyncookiesSent between two counter sets of one source, and a pile of
SYN_RECV sockets on one port against that listener's backlog (ss Send-Q,
else net.core.somaxconn, else a fixed count). From a capture it counts
half-open connections and how many sources sent them (many sources: a
flood; the usual clients: a stalled accept queue).

Drops make it high, cookies medium. When the same listener's accept queue
is full (accept-queue-overflow found) and the SYNs do not come from many
sources, the full SYN queue is that overflow's consequence and is reported
as info, linked to it. A kernel line naming a port this host does not
listen on (its ss -a or netstat -a shows every listener) is left out: the
kernel log is shared by every network namespace of a kernel. Needs a kernel
log, two counter sets, or a socket table with the listeners.`,
	Run: runSYNFlood,
}

func runSYNFlood(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs, foreign := splitForeignSYNLogs(ev, host, sigLogs(ev, host, "syn-flood"))
		lines := countLogs(logs)
		cookies, hasCookies := bestDelta(ev, host, "TcpExt TCPReqQFullDoCookies")
		drops, hasDrops := bestDelta(ev, host, "TcpExt TCPReqQFullDrop")
		sent, hasSent := bestDelta(ev, host, "TcpExt SyncookiesSent")
		somax, _, hasSomax := sysctlInt(ev, host, "net.core.somaxconn")
		pile, hasPile := synRecvPile(ev, host, somax, hasSomax)
		half, sources := halfOpen(ev, host)

		byLog := lines > 0 && float64(lines) >= p.Config.Get(synMinLines)
		rise := cookies.Delta + drops.Delta
		if rise == 0 {
			rise = sent.Delta
		}
		byCounter := rise > 0 && float64(rise) >= p.Config.Get(synMinDelta)
		byPile := hasPile && pile.full(p.Config)
		if !byLog && !byCounter && !byPile {
			var why []string
			if len(foreign) > 0 {
				why = append(why, fmt.Sprintf("%d kernel line(s) report possible SYN flooding on port %s, where this host has no listener in its socket tables (%s): another network namespace or container sharing the kernel logged them",
					countLogs(foreign), strings.Join(logPorts(foreign), ", "), foreign[0].Ref))
			}
			if hasPile {
				why = append(why, fmt.Sprintf("at most %d SYN_RECV sockets on port %d (%s)", pile.n, pile.port, pile.limitText()))
			}
			for _, d := range []struct {
				d  counterDelta
				ok bool
			}{{cookies, hasCookies}, {drops, hasDrops}, {sent, hasSent}} {
				if t := flatText(d.d); d.ok && t != "" {
					why = append(why, t)
				}
			}
			if len(why) > 0 {
				tail := ", and no kernel line reports possible SYN flooding"
				if len(foreign) > 0 {
					tail = ""
				}
				p.RuleOut(host, "%s%s", strings.Join(why, "; "), tail)
			}
			continue
		}

		f := Finding{Host: host, Title: "SYN queue overflowing (possible SYN flood)"}
		behindAccept := synOnFullListener(ev, host, p.Config, somax, hasSomax, logs, pile, hasPile)
		if behindAccept {
			f.CausedBy = []string{"accept-queue-overflow"}
		}
		floodLike := float64(sources) >= p.Config.Get(synFloodSources) || float64(pile.sources) >= p.Config.Get(synFloodSources)
		// The SYN queue is bounded by the same backlog as the accept
		// queue: when that one is full on this listener and nothing looks
		// like a flood, the cookies are its consequence, not an attack.
		consequence := behindAccept && !floodLike && p.Prior("accept-queue-overflow", host) != nil
		var parts []string
		mech := 0
		dropping := drops.Delta > 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "kernel log")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "the SYN queue of this port was full")...)
			ports := logPorts(logs)
			s := fmt.Sprintf("the kernel reported possible SYN flooding %d times", lines)
			if len(ports) > 0 {
				s += " on port " + strings.Join(ports, ", ")
			}
			parts = append(parts, s)
			for _, l := range logs {
				if strings.Contains(strings.ToLower(l.Text), "dropping request") {
					dropping = true
				}
			}
		}
		if byCounter {
			mech++
			f.Sources = append(f.Sources, "TcpExt counters")
			for _, d := range []counterDelta{cookies, drops} {
				if d.Delta > 0 {
					f.Evidence = append(f.Evidence, counterEvidence(ev, d, "SYNs that found the SYN queue full")...)
					parts = append(parts, fmt.Sprintf("%s rose by %d %s", strings.TrimPrefix(d.Key, "TcpExt "), d.Delta, d.Over()))
				}
			}
			if cookies.Delta+drops.Delta == 0 {
				f.Evidence = append(f.Evidence, counterEvidence(ev, sent, "SYN cookies sent because the SYN queue was full")...)
				parts = append(parts, fmt.Sprintf("SyncookiesSent rose by %d %s", sent.Delta, sent.Over()))
			}
		} else if !hasCookies && !hasDrops && !hasSent {
			f.Missing = append(f.Missing, "no two counter sets: could not measure SYN cookies and drops (collect: nstat -az twice, 10 s apart)")
		}
		if hasPile && pile.n > 0 {
			if byPile {
				mech++
				f.Sources = append(f.Sources, "SYN_RECV sockets")
			}
			f.Evidence = append(f.Evidence, stateEvidence(pile.count,
				fmt.Sprintf("one of %d SYN_RECV sockets on port %d (%s)", pile.n, pile.port, pile.limitText())))
			parts = append(parts, fmt.Sprintf("%d SYN_RECV sockets on port %d (%s)", pile.n, pile.port, pile.limitText()))
		}
		if half > 0 {
			f.Sources = append(f.Sources, "capture")
			fl := half0(ev, host)
			kind := "from the usual clients: the accept queue is not draining, or clients lose the SYN-ACK"
			if sources >= 100 {
				kind = "from many sources: the pattern of a flood"
			}
			f.Evidence = append(f.Evidence, Evidence{Ref: fl.Ref, Time: fl.Start,
				Text: fmt.Sprintf("%s -> %s SYN", fl.Src, fl.Dst),
				Note: fmt.Sprintf("%d half-open connection(s) (SYN answered, no ACK) from %d source address(es), %s", half, sources, kind)})
		}
		if len(foreign) > 0 {
			f.Missing = append(f.Missing, fmt.Sprintf("%d kernel line(s) name port %s, where this host has no listener: left out as another namespace's", countLogs(foreign), strings.Join(logPorts(foreign), ", ")))
		}
		if half == 0 && len(ev.Flows) == 0 {
			f.Missing = append(f.Missing, "no capture in bundle: could not count the sources of the SYNs to tell a flood from a burst (collect: tcpdump -i any -s 128 -w cap.pcap 'tcp[tcpflags] & tcp-syn != 0')")
		}
		switch {
		case consequence:
			f.Severity = Info
			f.Title = "SYN queue full behind a full accept queue (not a flood)"
			if dropping {
				parts = append(parts, "SYNs are being dropped")
			}
		case dropping:
			f.Severity = High
			parts = append(parts, "SYNs are being dropped")
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || byCounter, false)
		f.Window = evidenceWindow(f.Evidence)
		if consequence {
			f.Summary = strings.Join(parts, "; ") + ". The listener's SYN queue is bounded by the same backlog as its accept queue, which is full: SYN cookies (or drops) follow from accept-queue-overflow; the SYNs come from the usual clients, not a flood."
		} else {
			f.Summary = strings.Join(parts, "; ") + ". The SYN queue was full: the kernel answers with SYN cookies (losing TCP options) or drops SYNs. The message is printed for any overflow: a flood, a burst, or an accept queue that stopped draining."
		}
		if consequence {
			f.Remediation = []string{
				"Fix the accept queue first (see accept-queue-overflow): the SYN queue shares its backlog, and drains when the application accepts fast enough.",
				"Keep net.ipv4.tcp_syncookies=1 meanwhile, so that a full SYN queue degrades to cookies instead of drops.",
			}
			p.Report(f)
			continue
		}
		f.Remediation = []string{
			"Immediate: tell a flood from a burst: count SYN_RECV per source (ss -tn state syn-recv | awk '{print $4}' | sort | uniq -c | sort -rn | head); a flood from many spoofed sources belongs upstream (provider scrubbing, SYN proxy).",
			"Keep net.ipv4.tcp_syncookies=1 so that a full queue degrades to cookies instead of drops.",
			"Durable: for legitimate bursts raise the listener's backlog (listen() argument and net.core.somaxconn) and net.ipv4.tcp_max_syn_backlog; if the accept queue is also full, fix the application's accept rate first.",
		}
		p.Report(f)
	}
	return nil
}

// synPile is the port with the most SYN_RECV sockets in one snapshot.
type synPile struct {
	count   stateCount
	n       int64
	sources int // distinct remote addresses
	port    uint16
	backlog int64
	how     string // where backlog came from
}

func (s synPile) full(cfg *Config) bool {
	if s.backlog > 0 {
		return float64(s.n) >= cfg.Get(synRecvRatio)*float64(s.backlog)
	}
	return float64(s.n) >= cfg.Get(synRecvMin)
}

func (s synPile) limitText() string {
	if s.backlog > 0 {
		return fmt.Sprintf("backlog %d, %s", s.backlog, s.how)
	}
	return "backlog unknown"
}

// synRecvPile finds, over host's snapshots, the port with the most
// SYN_RECV sockets and the backlog of its listener.
func synRecvPile(ev *event.Evidence, host string, somax int64, hasSomax bool) (synPile, bool) {
	snaps, socks := SnapshotSockets(ev, host)
	var best synPile
	ok := false
	for i, snap := range snaps {
		byPort := map[uint16][]event.Socket{}
		backlog := map[uint16]int64{}
		for _, s := range socks[i] {
			if !isTCP(s) {
				continue
			}
			switch s.State {
			case event.StateSynRecv, event.StateNewSynRecv:
				byPort[s.Local.Port] = append(byPort[s.Local.Port], s)
			case event.StateListen:
				if snap.Source == "ss" && s.SendQ > 0 {
					backlog[s.Local.Port] = s.SendQ
				}
			}
		}
		ports := make([]int, 0, len(byPort))
		for p := range byPort {
			ports = append(ports, int(p))
		}
		sort.Ints(ports)
		for _, pi := range ports {
			port := uint16(pi)
			ss := byPort[port]
			c := synPile{n: int64(len(ss)), port: port,
				count: stateCount{Snap: snap, N: int64(len(ss)), Sample: ss[0], Citable: citable(snap.Source)}}
			remotes := map[netip.Addr]bool{}
			for _, s := range ss {
				remotes[s.Remote.IP()] = true
			}
			c.sources = len(remotes)
			switch {
			case backlog[port] > 0:
				c.backlog, c.how = backlog[port], "the listener's Send-Q"
			case hasSomax && somax > 0:
				c.backlog, c.how = somax, "net.core.somaxconn"
			}
			if !ok || c.n > best.n {
				best, ok = c, true
			}
		}
	}
	return best, ok
}

// halfOpen counts captured connections to host whose SYN was answered and
// never acknowledged, and the distinct sources that sent them.
func halfOpen(ev *event.Evidence, host string) (n, sources int) {
	srcs := map[netip.Addr]bool{}
	for _, fl := range halfOpenFlows(ev, host) {
		n++
		srcs[fl.Src.IP()] = true
	}
	return n, len(srcs)
}

func half0(ev *event.Evidence, host string) event.Flow {
	return halfOpenFlows(ev, host)[0]
}

func halfOpenFlows(ev *event.Evidence, host string) []event.Flow {
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
		if fl.Initiated && fl.SynAck && !fl.Established && fl.RstSrc == 0 && fl.BytesSrc == 0 {
			out = append(out, fl)
		}
	}
	return out
}

// logPorts lists the ports the kernel named ("on port 8080").
func logPorts(ls []event.LogEvent) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range ls {
		port := l.Fields["port"]
		if port == "" {
			if _, rest, ok := strings.Cut(l.Text, " on port "); ok {
				if w := strings.Fields(rest); len(w) > 0 {
					// "80.", "0.0.0.0:8080.", "[::1]:8080."
					port = strings.TrimRight(w[0], ".,")
					if i := strings.LastIndexByte(port, ':'); i >= 0 {
						port = port[i+1:]
					}
				}
			}
		}
		if port != "" && !seen[port] {
			seen[port] = true
			out = append(out, port)
		}
	}
	sort.Strings(out)
	return out
}

// synOnFullListener says whether the SYN queue that overflowed can be the
// one of a listener whose accept queue is full: the same port, or ports
// that the bundle does not tell.
func synOnFullListener(ev *event.Evidence, host string, cfg *Config, somax int64, hasSomax bool, logs []event.LogEvent, pile synPile, hasPile bool) bool {
	full, _ := fullListeners(ev, host, somax, hasSomax, cfg.Get(aqFullRatio))
	if len(full) == 0 {
		return true // a counter-only overflow names no port
	}
	ports := logPorts(logs)
	if hasPile && pile.full(cfg) {
		ports = append(ports, fmt.Sprint(pile.port))
	}
	if len(ports) == 0 {
		return true
	}
	for _, l := range full {
		for _, p := range ports {
			if p == fmt.Sprint(l.sock.Local.Port) {
				return true
			}
		}
	}
	return false
}

// splitForeignSYNLogs sets aside the SYN flooding lines that name a port
// this host has no listener on, when its socket tables would show every
// listener: the kernel log is shared by every network namespace and
// container of a kernel, so a copy of it collected for one of them holds
// the others' lines too.
func splitForeignSYNLogs(ev *event.Evidence, host string, logs []event.LogEvent) (own, foreign []event.LogEvent) {
	ports, known := listeningPorts(ev, host)
	if !known {
		return logs, nil
	}
	for _, l := range logs {
		ps := logPorts([]event.LogEvent{l})
		if len(ps) == 1 {
			if n, err := strconv.Atoi(ps[0]); err == nil && !ports[uint16(n)] {
				foreign = append(foreign, l)
				continue
			}
		}
		own = append(own, l)
	}
	return own, foreign
}

// listeningPorts returns the ports host listens on, and whether its
// socket tables list every listener: an unfiltered ss or netstat run with
// -a or -l.
func listeningPorts(ev *event.Evidence, host string) (map[uint16]bool, bool) {
	snaps, socks := SnapshotSockets(ev, host)
	ports := map[uint16]bool{}
	known := false
	for i, snap := range snaps {
		for _, s := range socks[i] {
			if s.State == event.StateListen && isTCP(s) {
				ports[s.Local.Port] = true
			}
		}
		if !snap.Filtered && (snap.Source == "ss" || snap.Source == "netstat") && listsListeners(snap.Command) {
			known = true
		}
	}
	return ports, known
}

// listsListeners says whether an ss or netstat command line shows
// listening sockets (-a, -l, --all, --listening in any short-flag group).
func listsListeners(cmd string) bool {
	for _, w := range strings.Fields(cmd) {
		switch {
		case w == "--all" || w == "--listening":
			return true
		case strings.HasPrefix(w, "--"):
		case strings.HasPrefix(w, "-") && strings.ContainsAny(w, "al"):
			return true
		}
	}
	return false
}
