package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// sockView is one host's socket snapshots from the single best source the
// bundle has for it, in time order. One source only, so that the same
// sockets seen by ss and by /proc/net/tcp at the same instant are not
// counted twice, and so that snapshots compare like with like.
type sockView struct {
	Source string
	Snaps  []event.Snapshot
	Socks  [][]event.Socket
}

// sourceRank orders socket sources by what they tell: ss and netstat print
// queues, owners and timers in a form that can be cited; /proc/net/tcp has
// queues and timers but prints hex; lsof has owners but no queues.
var sourceRank = map[string]int{"ss": 0, "netstat": 1, "proc-net-tcp": 2, "lsof": 3}

// hostSockView picks host's best socket source.
func hostSockView(ev *event.Evidence, host string) sockView {
	snaps, socks := SnapshotSockets(ev, host)
	best, bestRank := "", 1<<30
	for _, s := range snaps {
		r, ok := sourceRank[s.Source]
		if !ok {
			r = len(sourceRank)
		}
		if r < bestRank || (r == bestRank && s.Source < best) {
			best, bestRank = s.Source, r
		}
	}
	var v sockView
	v.Source = best
	for i, s := range snaps {
		if s.Source == best {
			v.Snaps = append(v.Snaps, s)
			v.Socks = append(v.Socks, socks[i])
		}
	}
	return v
}

// last returns the latest snapshot and its sockets.
func (v sockView) last() (event.Snapshot, []event.Socket) {
	n := len(v.Snaps)
	return v.Snaps[n-1], v.Socks[n-1]
}

// queuesKnown says whether the source printed Recv-Q/Send-Q: lsof does not,
// and a zero there means nothing.
func queuesKnown(source string) bool { return source != "lsof" }

// timersShown says whether the snapshot would show a socket's timer: ss -o,
// netstat -o/--timers, /proc/net/tcp always. A socket with any timer in the
// snapshot proves the column was there.
func timersShown(snap event.Snapshot, socks []event.Socket) bool {
	if snap.Source == "proc-net-tcp" {
		return true
	}
	for _, s := range socks {
		if s.Timer != nil {
			return true
		}
	}
	for _, f := range strings.Fields(snap.Command) {
		if f == "--options" || f == "--timers" {
			return true
		}
		// Only -o: ss -e does not print timers on current iproute2, and
		// netstat -e is "extended". A timer printed anywhere proves the
		// column whatever the flags.
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.Contains(f[1:], "o") {
			return true
		}
	}
	return false
}

// detailedSnap says whether the snapshot printed inodes or owners, so that
// a socket without them is one no process holds yet (the accept queue).
func detailedSnap(socks []event.Socket) bool {
	for _, s := range socks {
		if s.Inode != 0 || len(s.Owners) > 0 {
			return true
		}
	}
	return false
}

// unaccepted says whether s sits in a listener's accept queue: the
// snapshot prints inodes and owners, and s has neither.
func unaccepted(s event.Socket, detailed bool) bool {
	return detailed && s.Inode == 0 && len(s.Owners) == 0
}

// tcpSock says whether s is a TCP socket (the sources that do not say are TCP
// tables).
func tcpSock(s event.Socket) bool {
	return s.Proto == "" || strings.HasPrefix(s.Proto, "tcp")
}

// citeSocket renders s so that every token appears in the line it came
// from: ss and netstat columns, lsof's NAME column, or for /proc/net/tcp
// the kernel's hex address words and state code.
func citeSocket(s event.Socket, source string) string {
	switch source {
	case "lsof":
		return fmt.Sprintf("%s->%s (%s)", s.Local, s.Remote, s.State)
	case "proc-net-tcp":
		return fmt.Sprintf("%s %s %02X", procHexEndpoint(s.Local), procHexEndpoint(s.Remote), procStateCode[s.State])
	}
	return socketText(s)
}

// sockKey identifies a connection across snapshots.
func sockKey(s event.Socket) string {
	return epKey(s.Local) + " " + epKey(s.Remote)
}

func epKey(e event.Endpoint) string {
	if e.Addr.IsValid() {
		return netip.AddrPortFrom(e.IP(), e.Port).String()
	}
	return e.Host + ":" + strconv.Itoa(int(e.Port))
}

// peerKey names a socket's peer host: its address, or the name printed.
func peerKey(s event.Socket) string {
	if s.Remote.Addr.IsValid() {
		return s.Remote.IP().String()
	}
	return s.Remote.Host
}

// loopback says whether the peer is this host itself.
func loopback(s event.Socket) bool {
	ip := s.Remote.IP()
	return ip.IsValid() && ip.IsLoopback()
}

// listenerPorts maps each listening TCP port to its listener socket.
func listenerPorts(socks []event.Socket) map[uint16]event.Socket {
	out := map[uint16]event.Socket{}
	for _, s := range socks {
		if s.State == event.StateListen && tcpSock(s) && s.Local.Port != 0 {
			if _, dup := out[s.Local.Port]; !dup {
				out[s.Local.Port] = s
			}
		}
	}
	return out
}

// mainOwner returns the pid that holds the most of socks, 0 when none says.
func mainOwner(socks []event.Socket) (pid int, name string) {
	n := map[int]int{}
	names := map[int]string{}
	for _, s := range socks {
		for _, o := range s.Owners {
			if o.PID > 0 {
				n[o.PID]++
				names[o.PID] = o.Name
			}
		}
	}
	best := 0
	for p, c := range n {
		if c > best || (c == best && p < pid) {
			pid, best = p, c
		}
	}
	return pid, names[pid]
}

// processRecord returns the latest record of pid on host that knows the
// field want says (threads or fds).
func processRecord(ev *event.Evidence, host string, pid int, threads bool) (event.Process, bool) {
	var found event.Process
	ok := false
	for _, pr := range ev.Processes {
		if pr.Host != host || pr.PID != pid {
			continue
		}
		if (threads && pr.Threads > 0) || (!threads && pr.FDs >= 0) {
			found, ok = pr, true
		}
	}
	return found, ok
}

// sockInfoMS reads a tcp_info age such as lastack:3712 (milliseconds).
func sockInfoMS(s event.Socket, key string) (time.Duration, bool) {
	v, ok := s.Info.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// hostAddrs returns the non-loopback addresses host's sockets are bound
// to, so that another host's log line naming one of them can be tied to
// this host.
func hostAddrs(v sockView) []netip.Addr {
	set := map[netip.Addr]bool{}
	for _, socks := range v.Socks {
		for _, s := range socks {
			ip := s.Local.IP()
			if ip.IsValid() && !ip.IsLoopback() && !ip.IsUnspecified() {
				set[ip] = true
			}
		}
	}
	out := make([]netip.Addr, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// mentionsAddr says whether text names addr as a whole address (10.0.0.1
// does not match inside 10.0.0.12).
func mentionsAddr(text string, addr netip.Addr) bool {
	a := addr.String()
	for i := 0; ; {
		j := strings.Index(text[i:], a)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(a)
		before := j == 0 || !addrChar(text[j-1])
		after := end == len(text) || !addrChar(text[end]) || (text[end] == '.' && (end+1 == len(text) || !isDigit(text[end+1])))
		if before && after {
			return true
		}
		i = j + 1
	}
}

func addrChar(c byte) bool {
	return isDigit(c) || c == '.' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// median of xs (xs is sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// plural renders n and a noun, adding s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// humanDuration renders d for a sentence: 3.2s, 14m, 5.1h, 3.0d.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0fm", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	}
	return fmt.Sprintf("%.1fd", d.Hours()/24)
}
