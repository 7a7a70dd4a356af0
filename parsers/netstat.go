package parsers

import (
	"bytes"
	"io"
	"net/netip"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// netstatParser reads the socket tables of net-tools netstat (not
// `netstat -s`): -an, -ant, -antp, -W, -neopa with User, Inode,
// PID/Program name and Timer columns, resolved and truncated names
// (localhost.localdo:35450), UDP rows with an empty State, raw rows whose
// state is a number, and the UNIX domain section. Rows kept by a grep that
// dropped the headers are read too.
var netstatParser = &Parser{
	Kind:    "netstat",
	Title:   "socket table (net-tools netstat)",
	Command: "netstat -antp; netstat -an, -ant, -W -ant, -neopa, -aeep, -lnp",
	Detect:  detectNetstat,
	Parse:   parseNetstat,
}

var (
	netstatActive  = []byte("Active ")
	netstatInet    = []byte("Active Internet connections")
	netstatUnix    = []byte("Active UNIX domain sockets")
	netstatProto   = []byte("Proto ")
	netstatRecvQ   = []byte("Recv-Q")
	netstatForeign = []byte("Foreign Address")
)

// netstatNoise are the notes netstat writes to stderr when not root.
func netstatNoise(line []byte) bool {
	return bytes.Contains(line, []byte("processes could be identified")) ||
		bytes.Contains(line, []byte("would have to be root")) ||
		bytes.Contains(line, []byte("No info could be read for"))
}

func detectNetstat(head []byte) bool {
	line, rest := firstLine(head)
	for netstatNoise(line) {
		line, rest = firstLine(rest)
	}
	switch {
	case bytes.HasPrefix(line, netstatInet), bytes.HasPrefix(line, netstatUnix):
		return true
	case bytes.HasPrefix(line, netstatProto):
		return bytes.Contains(line, netstatForeign) || bytes.Contains(line, []byte("RefCnt"))
	}
	return netstatRowShape(line)
}

// netstatRowShape recognises a headerless inet row: tcp 0 0 a:p b:p ...
func netstatRowShape(line []byte) bool {
	var f [5][]byte
	pos := 0
	for i := range f {
		f[i], _, pos = nextField(line, pos)
	}
	return netstatInetProto(f[0]) && isDigits(f[1]) && isDigits(f[2]) &&
		bytes.IndexByte(f[3], ':') >= 0 && bytes.IndexByte(f[4], ':') >= 0
}

func netstatInetProto(b []byte) bool {
	switch string(b) {
	case "tcp", "tcp6", "udp", "udp6", "udpl", "udpl6", "raw", "raw6", "sctp", "sctp6":
		return true
	}
	return false
}

type netstatSection int

const (
	nsNone netstatSection = iota
	nsInet
	nsUnix
	nsOther // Bluetooth, IPX, AX.25...: not read
)

// netstatTable is the state of one netstat file being parsed.
type netstatTable struct {
	in   *Input
	it   interner
	snap int
	n    int
	sect netstatSection
	seen [3]bool // sections already seen in the current snapshot

	// columns of the current section's header
	state, user, inode, prog, timer, path bool
	header                                bool

	filteredCmd bool
	wide        bool // -W, --wide, -T, --notrim: addresses are never cut
	out         socketSink
}

func parseNetstat(in *Input, r io.Reader) {
	words, grep := commandWords(in.Header.Command)
	t := &netstatTable{in: in, snap: -1, filteredCmd: grep}
	if i := toolIndex(words, "netstat"); i >= 0 {
		for _, w := range words[i+1:] {
			switch {
			case w == "--wide" || w == "--notrim":
				t.wide = true
			case w == "--listening":
				t.filteredCmd = true
			case len(w) > 1 && w[0] == '-' && w[1] != '-':
				if strings.ContainsRune(w, 'l') {
					t.filteredCmd = true // -l: listening sockets only
				}
				if strings.ContainsAny(w, "WT") {
					t.wide = true
				}
			}
		}
	}
	defer t.out.flush(in.Out)
	defer t.flush()
	in.Lines(r, t.line)
}

func (t *netstatTable) flush() {
	if t.snap >= 0 {
		t.in.Out.Snapshots[t.snap].Sockets = t.n
	}
}

func (t *netstatTable) start(n int, filtered bool) {
	t.flush()
	t.snap = t.in.Out.AddSnapshot(event.Snapshot{
		Meta:     t.in.Meta(n),
		Source:   "netstat",
		Command:  t.in.Header.Command,
		Filtered: filtered || t.filteredCmd,
	})
	t.n = 0
	t.seen = [3]bool{}
}

func (t *netstatTable) line(n int, line []byte) {
	if isBlank(line) || netstatNoise(line) {
		return
	}
	if bytes.HasPrefix(line, netstatActive) {
		sect := nsOther
		switch {
		case bytes.HasPrefix(line, netstatInet):
			sect = nsInet
		case bytes.HasPrefix(line, netstatUnix):
			sect = nsUnix
		}
		// "(w/o servers)" lacks listeners, "(only servers)" has nothing else.
		partial := bytes.Contains(line, []byte("w/o servers")) || bytes.Contains(line, []byte("only servers"))
		if t.snap < 0 || (sect != nsOther && t.seen[sect]) {
			t.start(n, partial) // a repeated run starts a new snapshot
		} else if partial {
			t.in.Out.Snapshots[t.snap].Filtered = true
		}
		if sect != nsOther {
			t.seen[sect] = true
		}
		t.sect, t.header = sect, false
		return
	}
	if bytes.HasPrefix(line, netstatProto) && (bytes.Contains(line, netstatRecvQ) || bytes.Contains(line, []byte("RefCnt"))) {
		if t.sect == nsNone {
			t.sect = nsInet
			if bytes.Contains(line, []byte("RefCnt")) {
				t.sect = nsUnix
			}
		}
		if t.snap < 0 {
			t.start(n, false)
		}
		t.state = bytes.Contains(line, []byte(" State"))
		t.user = bytes.Contains(line, []byte(" User"))
		t.inode = bytes.Contains(line, []byte(" Inode")) || bytes.Contains(line, []byte("I-Node"))
		t.prog = bytes.Contains(line, []byte("PID/Program"))
		t.timer = bytes.Contains(line, []byte(" Timer"))
		t.path = bytes.Contains(line, []byte(" Path"))
		t.header = true
		return
	}
	switch t.sect {
	case nsOther:
		return
	case nsUnix:
		t.unixRow(n, line)
		return
	}
	if !t.header {
		if !netstatRowShape(line) {
			t.in.Errorf(n, "not a netstat row: %.80q", line)
			return
		}
		if t.snap < 0 {
			t.start(n, true) // headers dropped by a grep: a selection
		}
		// Without a header, read what the row holds: a state, a timer in
		// parentheses at the end, User and Inode when two fields precede
		// a PID/Program field.
		t.state, t.timer, t.path = true, true, false
		t.sect = nsInet
	}
	t.inetRow(n, line)
}

// span is a field's position in its line.
type span struct{ a, b int }

func fieldSpans(dst []span, line []byte) []span {
	pos := 0
	for {
		f, a, b := nextField(line, pos)
		if len(f) == 0 {
			return dst
		}
		dst = append(dst, span{a, b})
		pos = b
	}
}

func (t *netstatTable) inetRow(n int, line []byte) {
	var buf [24]span
	sp := fieldSpans(buf[:0], line)
	if len(sp) < 5 {
		t.in.Errorf(n, "short netstat row: %.80q", line)
		return
	}
	get := func(i int) []byte { return line[sp[i].a:sp[i].b] }
	proto := get(0)
	if !netstatInetProto(proto) {
		t.in.Errorf(n, "unknown protocol %.20q", proto)
		return
	}
	rq, ok1 := parseInt(get(1))
	sq, ok2 := parseInt(get(2))
	if !ok1 || !ok2 {
		t.in.Errorf(n, "bad queue sizes %.20q %.20q", get(1), get(2))
		return
	}
	s := event.Socket{
		Meta:     t.in.Meta(n),
		Snapshot: t.snap,
		Proto:    t.it.get(proto),
		RecvQ:    rq,
		SendQ:    sq,
		UID:      -1,
	}
	var ok bool
	if s.Local, ok = parseEndpoint(get(3), &t.it); !ok {
		t.in.Errorf(n, "bad local address %.60q", get(3))
		return
	}
	if s.Remote, ok = parseEndpoint(get(4), &t.it); !ok {
		t.in.Errorf(n, "bad foreign address %.60q", get(4))
		return
	}
	if !t.wide {
		netstatTruncated(&s.Local, get(3))
		netstatTruncated(&s.Remote, get(4))
	}
	rest := sp[5:]
	// The timer comes last: "keepalive (7176.33/0/0)".
	if t.timer && len(rest) >= 2 {
		name, val := line[rest[len(rest)-2].a:rest[len(rest)-2].b], line[rest[len(rest)-1].a:rest[len(rest)-1].b]
		if len(val) > 2 && val[0] == '(' && val[len(val)-1] == ')' {
			tm, ok := parseNetstatTimer(name, val, &t.it)
			if !ok {
				t.in.Errorf(n, "bad timer %.40q", line[rest[len(rest)-2].a:rest[len(rest)-1].b])
			}
			s.Timer = tm
			rest = rest[:len(rest)-2]
		}
	}
	// State: a name, a number for raw sockets, or nothing (UDP).
	udp := proto[0] == 'u'
	s.State = event.StateUnknown
	if len(rest) > 0 {
		f := line[rest[0].a:rest[0].b]
		if st, ok := parseState(f); ok {
			s.State, rest = st, rest[1:]
		} else if proto[0] == 'r' && isDigits(f) {
			v, _ := parseUint(f)
			if st, ok := kernelState(v); ok {
				s.State = st
			}
			rest = rest[1:]
		}
	}
	if s.State == event.StateUnknown && udp {
		s.State = event.StateClose // netstat leaves unconnected UDP blank; ss says UNCONN
	}
	user, inode := t.user, t.inode
	if !t.header {
		user = len(rest) >= 3 && isDigits(line[rest[1].a:rest[1].b])
		inode = user
	}
	if user && len(rest) > 0 {
		u := line[rest[0].a:rest[0].b]
		if v, ok := parseUint(u); ok && v < 1<<32 {
			s.UID = int(v)
		} else {
			setInfo(&s, "user", t.it.get(u))
		}
		rest = rest[1:]
	}
	if inode && len(rest) > 0 {
		v, ok := parseUint(line[rest[0].a:rest[0].b])
		if !ok {
			t.in.Errorf(n, "bad inode %.30q", line[rest[0].a:rest[0].b])
		}
		s.Inode = v
		rest = rest[1:]
	}
	if len(rest) > 0 && (t.prog || !t.header) {
		if o, ok := parseNetstatProgram(line[rest[0].a:rest[len(rest)-1].b], &t.it); ok {
			if o.PID > 0 {
				s.Owners = []event.Owner{o}
			}
			rest = nil
		}
	}
	if len(rest) > 0 {
		t.in.Errorf(n, "unexpected fields %.60q", line[rest[0].a:rest[len(rest)-1].b])
	}
	if s.State == event.StateUnknown && !udp && proto[0] != 'r' {
		t.in.Errorf(n, "missing socket state")
	}
	t.out.add(s)
	t.n++
}

// netstatTruncated undoes a numeric IPv6 address that may have been cut:
// without -W, netstat shortens the address so that address:port fits 23
// columns, and a cut IPv6 address can still read as a valid, wrong one
// (fe80::a00:27ff:fe4e:66a1 -> fe80::a00:27ff:fe4e:66). An IPv4 address
// always fits; a field shorter than the column was not cut.
func netstatTruncated(e *event.Endpoint, field []byte) {
	if len(field) == netstatAddrWidth && e.Addr.Is6() {
		e.Host, e.Addr = string(field[:bytes.LastIndexByte(field, ':')]), netip.Addr{}
	}
}

// netstatAddrWidth is the address column of netstat without -W.
const netstatAddrWidth = 23

// parseNetstatProgram reads "1234/nginx: worker" or "-". ok is false when b
// does not look like the column.
func parseNetstatProgram(b []byte, it *interner) (event.Owner, bool) {
	if len(b) == 1 && b[0] == '-' {
		return event.Owner{FD: -1}, true
	}
	pid, name, found := bytes.Cut(b, []byte{'/'})
	if !found {
		return event.Owner{}, false
	}
	v, ok := parseUint(pid)
	if !ok || v > 1<<31 {
		return event.Owner{}, false
	}
	return event.Owner{Name: it.get(name), PID: int(v), FD: -1}, true
}

// parseNetstatTimer reads "keepalive" "(7176.33/0/0)": the time left in
// seconds, the retransmissions, the keepalive probes sent.
func parseNetstatTimer(name, val []byte, it *interner) (*event.Timer, bool) {
	raw := make([]byte, 0, len(name)+1+len(val))
	raw = append(append(append(raw, name...), ' '), val...)
	tm := &event.Timer{Name: it.get(name), Raw: it.get(raw)}
	parts := bytes.Split(val[1:len(val)-1], []byte{'/'})
	if len(parts) != 3 {
		return tm, false
	}
	d, ok := parseSeconds(parts[0])
	if !ok {
		return tm, false
	}
	tm.Expires = d
	r, ok := parseUint(parts[1])
	if !ok || r > 1<<31 {
		return tm, false
	}
	tm.Retrans = int(r)
	_, ok = parseUint(parts[2])
	return tm, ok
}

// unixRow reads "unix  2      [ ACC ]     STREAM     LISTENING     535
// 1/systemd            /run/lvm/lvmetad.socket". State is blank for
// unconnected datagram sockets; the program name may hold spaces; the path
// is absent for unnamed sockets.
func (t *netstatTable) unixRow(n int, line []byte) {
	var f []byte
	proto, _, pos := nextField(line, 0)
	if string(proto) != "unix" {
		t.in.Errorf(n, "not a unix socket row: %.80q", line)
		return
	}
	refcnt, _, pos := nextField(line, pos)
	if !isDigits(refcnt) {
		t.in.Errorf(n, "bad RefCnt %.20q", refcnt)
		return
	}
	open := bytes.IndexByte(line[pos:], '[')
	cl := bytes.IndexByte(line[pos:], ']')
	if open < 0 || cl < open {
		t.in.Errorf(n, "missing flags in unix socket row")
		return
	}
	pos += cl + 1
	typ, _, pos := nextField(line, pos)
	s := event.Socket{
		Meta:     t.in.Meta(n),
		Snapshot: t.snap,
		Proto:    "unix",
		State:    event.StateClose,
		UID:      -1,
		Info:     event.NewSocketInfo("type", t.it.get(bytes.ToLower(typ))),
	}
	f, _, next := nextField(line, pos)
	switch string(f) {
	case "LISTENING":
		s.State, pos = event.StateListen, next
	case "CONNECTED":
		s.State, pos = event.StateEstablished, next
	case "CONNECTING":
		s.State, pos = event.StateSynSent, next
	case "DISCONNECTING", "FREE", "UNKNOWN":
		s.State, pos = event.StateUnknown, next
	}
	ino, _, pos := nextField(line, pos)
	v, ok := parseUint(ino)
	if !ok {
		t.in.Errorf(n, "bad I-Node %.20q", ino)
		return
	}
	s.Inode = v
	rest := bytes.TrimSpace(line[pos:])
	var prog, path []byte
	switch {
	case t.prog && len(rest) > 0:
		// net-tools prints the PID/Program column as %-20s and truncates
		// it to fit, so a name with spaces ("sshd: alice") ends at the
		// column edge; older builds used a narrower column, where the
		// first field is the program.
		ps := pos
		for isSpace(line[ps]) {
			ps++
		}
		pe := ps + 20
		if pe >= len(line) || line[pe] == ' ' {
			pe = min(pe, len(line))
			prog, path = bytes.TrimSpace(line[ps:pe]), bytes.TrimSpace(line[pe:])
		} else {
			prog, path, _ = bytes.Cut(rest, []byte{' '})
			path = bytes.TrimSpace(path)
		}
	case t.path || !t.header:
		path = rest
	}
	if len(path) > 0 {
		s.Local.Host = t.it.get(path)
	}
	if len(prog) > 0 {
		o, ok := parseNetstatProgram(prog, &t.it)
		if !ok {
			t.in.Errorf(n, "bad PID/Program %.40q", prog)
		} else if o.PID > 0 {
			s.Owners = []event.Owner{o}
		}
	}
	t.out.add(s)
	t.n++
}
