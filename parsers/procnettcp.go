package parsers

import (
	"bytes"
	"io"
	"net/netip"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// procNetTCPParser reads the kernel's own socket tables, /proc/net/tcp and
// /proc/net/tcp6: the source when ss and netstat are missing.
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	 0: 0100007F:2809 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 232083 1 ...
//
// Addresses are 32-bit words in the host's byte order; netmortem assumes a
// little-endian host (x86, arm64), as nearly all are. TIME_WAIT rows are
// short and print 0 for uid and inode. /proc/net/udp and udp6 share the
// layout with a "ref pointer drops" header; their rows are read as udp.
var procNetTCPParser = &Parser{
	Kind:    "proc-net-tcp",
	Title:   "kernel socket table (/proc/net/tcp, tcp6)",
	Command: "cat /proc/net/tcp /proc/net/tcp6",
	Detect:  detectProcNetTCP,
	Parse:   parseProcNetTCP,
}

func isProcNetTCPHeader(line []byte) bool {
	f, _, pos := nextField(line, 0)
	if string(f) != "sl" {
		return false
	}
	f, _, _ = nextField(line, pos)
	return string(f) == "local_address"
}

func detectProcNetTCP(head []byte) bool {
	line, _ := firstLine(head)
	return isProcNetTCPHeader(line)
}

// procTimerNames are the kernel's timer codes (the tr column), named as ss
// names them.
var procTimerNames = [...]string{1: "on", 2: "keepalive", 3: "timewait", 4: "persist"}

// userHZ is the unit of tm->when: clock ticks of USER_HZ, 100 on Linux.
const userHZ = 100

type procNetTCP struct {
	in     *Input
	it     interner
	snap   int
	n      int
	lastSL int64
	udp    bool
	out    socketSink
}

func parseProcNetTCP(in *Input, r io.Reader) {
	t := &procNetTCP{in: in, snap: -1}
	defer t.out.flush(in.Out)
	defer t.flush()
	in.Lines(r, t.line)
}

func (t *procNetTCP) flush() {
	if t.snap >= 0 {
		t.in.Out.Snapshots[t.snap].Sockets = t.n
	}
}

func (t *procNetTCP) start(n int) {
	t.flush()
	t.snap = t.in.Out.AddSnapshot(event.Snapshot{
		Meta:    t.in.Meta(n),
		Source:  "proc-net-tcp",
		Command: t.in.Header.Command,
	})
	t.n, t.lastSL = 0, -1
}

func (t *procNetTCP) line(n int, line []byte) {
	if isBlank(line) {
		return
	}
	if isProcNetTCPHeader(line) {
		t.start(n)
		t.udp = bytes.Contains(line, []byte(" drops"))
		return
	}
	var f [17][]byte
	nf, pos := 0, 0
	for nf < len(f) {
		var b []byte
		b, _, pos = nextField(line, pos)
		if len(b) == 0 {
			break
		}
		f[nf] = b
		nf++
	}
	if nf < 10 {
		t.in.Errorf(n, "short /proc/net/tcp row: %.80q", line)
		return
	}
	sl, ok := parseUint(bytes.TrimSuffix(f[0], []byte{':'}))
	if !ok || f[0][len(f[0])-1] != ':' {
		t.in.Errorf(n, "bad slot %.20q", f[0])
		return
	}
	// The table restarts at 0 when a second snapshot was appended.
	if t.snap < 0 || (sl == 0 && t.lastSL >= 0) {
		t.start(n)
	}
	t.lastSL = int64(sl)
	local, ok1 := procEndpoint(f[1])
	remote, ok2 := procEndpoint(f[2])
	if !ok1 || !ok2 {
		t.in.Errorf(n, "bad address %.40q %.40q", f[1], f[2])
		return
	}
	st, ok := parseHex(f[3])
	state, known := kernelState(st)
	if !ok || !known {
		t.in.Errorf(n, "bad state %.10q", f[3])
		return
	}
	txq, rxq, _ := bytes.Cut(f[4], []byte{':'})
	tx, ok1 := parseHex(txq)
	rx, ok2 := parseHex(rxq)
	tr, when, _ := bytes.Cut(f[5], []byte{':'})
	trv, ok3 := parseHex(tr)
	whenv, ok4 := parseHex(when)
	retr, ok5 := parseHex(f[6])
	uid, ok6 := parseUint(f[7])
	ino, ok7 := parseUint(f[9])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || tx > 1<<62 || rx > 1<<62 {
		t.in.Errorf(n, "bad numeric field in %.120q", line)
		return
	}
	s := event.Socket{
		Meta:     t.in.Meta(n),
		Snapshot: t.snap,
		Proto:    "tcp",
		State:    state,
		Local:    local,
		Remote:   remote,
		SendQ:    int64(tx),
		RecvQ:    int64(rx),
		UID:      int(min(uid, 1<<32)),
		Inode:    ino,
	}
	if local.Addr.Is6() {
		s.Proto = "tcp6"
	}
	if t.udp {
		s.Proto = "udp"
		if local.Addr.Is6() {
			s.Proto = "udp6"
		}
	}
	if state == event.StateTimeWait {
		s.UID = -1 // the kernel prints 0 for a TIME_WAIT socket's uid
	}
	if trv != 0 || retr != 0 {
		name := "off"
		if trv < uint64(len(procTimerNames)) && procTimerNames[trv] != "" {
			name = procTimerNames[trv]
		} else if trv != 0 {
			name = "unknown"
		}
		s.Timer = &event.Timer{
			Name:    name,
			Expires: time.Duration(min(whenv, 1<<40)) * (time.Second / userHZ),
			Retrans: int(min(retr, 1<<31)),
			Raw:     t.it.get(append(append(append(make([]byte, 0, 32), f[5]...), ' '), f[6]...)),
		}
	}
	if t.udp && nf >= 13 { // ref pointer drops
		if d, ok := parseUint(f[12]); ok && d > 0 {
			setInfo(&s, "drops", string(f[12]))
		}
	}
	t.out.add(s)
	t.n++
}

// procEndpoint reads "0100007F:2809" or the 32-digit IPv6 form. Port 0 is
// shown as "*", as ss shows it.
func procEndpoint(b []byte) (event.Endpoint, bool) {
	var e event.Endpoint
	a, p, ok := bytes.Cut(b, []byte{':'})
	if !ok || len(p) != 4 {
		return e, false
	}
	port, ok := parseHex(p)
	if !ok {
		return e, false
	}
	e.Port = uint16(port)
	e.Wildcard = port == 0
	switch len(a) {
	case 8:
		w, ok := parseHex(a)
		if !ok {
			return e, false
		}
		e.Addr = netip.AddrFrom4(le32(uint32(w)))
	case 32:
		var ip [16]byte
		for i := 0; i < 4; i++ {
			w, ok := parseHex(a[i*8 : i*8+8])
			if !ok {
				return e, false
			}
			q := le32(uint32(w))
			copy(ip[i*4:], q[:])
		}
		e.Addr = netip.AddrFrom16(ip)
	default:
		return e, false
	}
	return e, true
}

// le32 returns the bytes of a word the kernel printed from a little-endian
// host's memory.
func le32(w uint32) [4]byte {
	return [4]byte{byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)}
}
