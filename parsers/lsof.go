package parsers

import (
	"bytes"
	"io"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// lsofParser reads lsof's listing in its column form (default, -i -P -n,
// -p PID, +M, -b, -l, -K i; with the TID and TASKCMD columns of thread
// rows) and its field form (-F pcfnPtT, also NUL-separated -F0), and rows
// kept by a grep that dropped the header.
//
// It writes one snapshot of the internet sockets (TCP and UDP rows), plus
// the sockets lsof could not attribute to a protocol ("can't identify
// protocol", or "protocol: TCP" for a TCP socket in no kernel table: both
// typical of descriptors leaked after the connection died) with Proto
// "sock". For each process listed in full (a cwd, rtd, txt or NOFD row
// shows no descriptor selection hid the rest) it writes a Process whose FDs
// counts its distinct numbered descriptors: thread rows repeat the
// process's descriptors and count once; cwd, txt, mem, DEL and the like are
// not descriptors.
var lsofParser = &Parser{
	Kind:    "lsof",
	Title:   "open files and sockets (lsof)",
	Command: "lsof -n -P; lsof -i -P -n, lsof -p PID, lsof +M, lsof -K i, lsof -F pcfnPtT",
	Detect:  detectLsof,
	Parse:   parseLsof,
}

// lsofNoise are lsof's diagnostics on stderr, kept by a collector's 2>&1:
// "lsof: WARNING: can't stat() fuse file system ..." and its indented
// "Output information may be incomplete." They are lsof's real output, not
// parse errors.
func lsofNoise(line []byte) bool {
	if bytes.HasPrefix(line, []byte("lsof: ")) {
		return true
	}
	t := bytes.TrimLeft(line, " \t")
	return len(t) < len(line) && (bytes.HasPrefix(t, []byte("Output information may be incomplete")) ||
		bytes.HasPrefix(t, []byte("assuming \"dev=")))
}

func detectLsof(head []byte) bool {
	line, rest := firstLine(head)
	for lsofNoise(line) {
		line, rest = firstLine(rest)
	}
	if isLsofHeader(bytes.TrimLeft(line, " ")) {
		return true
	}
	if len(line) > 1 && line[0] == 'p' && isDigits(lsofFieldEnd(line[1:])) {
		next, _ := firstLine(rest)
		if i := bytes.IndexByte(line, 0); i >= 0 {
			next = line[i+1:] // -F0: the process's fields share the line
		}
		return len(next) > 1 && bytes.IndexByte([]byte("cgRuLKf"), next[0]) >= 0
	}
	_, ok := lsofRowLayout(line, fieldSpans(nil, line), true, true)
	return ok
}

// lsofFieldEnd cuts a -F0 field at its NUL.
func lsofFieldEnd(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func isLsofHeader(line []byte) bool {
	f, _, _ := nextField(line, 0)
	return string(f) == "COMMAND" && bytes.Contains(line, []byte(" PID ")) &&
		bytes.Contains(line, []byte(" FD ")) && bytes.Contains(line, []byte("NAME"))
}

// lsofPseudoFDs are the FD column's names for what is not a descriptor.
var lsofPseudoFDs = []string{"cwd", "rtd", "txt", "mem", "mmap", "DEL", "ltx",
	"Mxx", "m86", "tr", "pd", "v86", "err", "jld", "twd", "ctty", "NOFD"}

// lsofPseudoFD reports a pseudo descriptor, with the mode and lock
// characters lsof may append (mem-W: a mapping with a write lock).
func lsofPseudoFD(b []byte) bool {
	for _, p := range lsofPseudoFDs {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return lsofModeLock(b[len(p):])
		}
	}
	return false
}

// lsofModeLock reports the access mode and lock characters after an FD.
func lsofModeLock(b []byte) bool {
	if len(b) > 2 {
		return false
	}
	for _, c := range b {
		if bytes.IndexByte([]byte("rwuNRWUxX-"), c) < 0 {
			return false
		}
	}
	return true
}

// lsofFD reads the FD column: a number with its access mode and lock
// characters (3u, 255r, 4uW, 0), or a pseudo name. num is -1 for a pseudo.
func lsofFD(b []byte) (num int, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, lsofPseudoFD(b)
	}
	if i > 10 || !lsofModeLock(b[i:]) {
		return 0, false
	}
	n, _ := parseUint(b[:i])
	if n > 1<<31 {
		return 0, false
	}
	return int(n), true
}

// lsofType reports the TYPE column's values on Linux (and the four hex
// digits lsof prints for a type it has no name for).
func lsofType(b []byte) bool {
	switch string(b) {
	case "REG", "DIR", "CHR", "BLK", "FIFO", "LINK", "PIPE", "SOCK", "sock",
		"unix", "IPv4", "IPv6", "inet", "inet6", "netlink", "a_inode", "unknown",
		"pack", "raw", "raw6", "ax25", "ipx", "x.25", "key", "PAS", "STSO",
		"UNSP", "UNNM", "ATALK", "rte", "KQUEUE", "PSXSEM", "PSXSHM", "MPB",
		"MPC", "NOFD":
		return true
	}
	if len(b) == 4 {
		_, ok := parseHex(b)
		return ok
	}
	return false
}

// lsofRowLayout finds the FD column of a row: after COMMAND, PID and
// USER, with TID (and TASKCMD) between them on thread rows. USER may be
// numeric (-l) and so look like a bare descriptor number, hence the FD is
// taken where it is followed by a TYPE.
func lsofRowLayout(line []byte, sp []span, tid, taskcmd bool) (fd int, ok bool) {
	if len(sp) < 4 || !isDigits(line[sp[1].a:sp[1].b]) {
		return 0, false
	}
	for k := 3; k <= 5 && k < len(sp); k++ {
		if k == 4 && !tid || k == 5 && !taskcmd {
			break
		}
		f := line[sp[k].a:sp[k].b]
		if _, ok := lsofFD(f); !ok {
			continue
		}
		if bytes.HasPrefix(f, []byte("NOFD")) || k+1 < len(sp) && lsofType(line[sp[k+1].a:sp[k+1].b]) {
			return k, true
		}
	}
	return 0, false
}

// lsofProc is what the listing says of one process.
type lsofProc struct {
	pid     int
	name    string
	line    int
	full    bool // a cwd/rtd/txt/NOFD row: no descriptor selection
	nofd    bool // lsof could not read its descriptors
	nfds    int
	bits    []uint64         // descriptors seen, for fd < lsofBitsMax
	high    map[int]struct{} // the rare larger ones
	lastTID int
	threads int
}

// lsofBitsMax bounds a process's descriptor bitmap (128 KiB): descriptors
// above it go to a map.
const lsofBitsMax = 1 << 20

// addFD records descriptor fd and reports whether it is new.
func (p *lsofProc) addFD(fd int) bool {
	if fd < lsofBitsMax {
		w := fd >> 6
		if w >= len(p.bits) {
			n := max(2*len(p.bits), w+1, 4)
			nb := make([]uint64, min(n, lsofBitsMax>>6))
			copy(nb, p.bits)
			p.bits = nb
		}
		m := uint64(1) << (fd & 63)
		if p.bits[w]&m != 0 {
			return false
		}
		p.bits[w] |= m
	} else {
		if _, dup := p.high[fd]; dup {
			return false
		}
		if p.high == nil {
			p.high = map[int]struct{}{}
		}
		p.high[fd] = struct{}{}
	}
	p.nfds++
	return true
}

// lsofTable is the state of one lsof file being parsed.
type lsofTable struct {
	in   *Input
	it   interner
	snap int
	n    int

	header, tid, taskcmd bool
	fields               bool // -F output
	filtered             bool

	procs map[int]*lsofProc
	order []*lsofProc
	cur   *lsofProc

	ff  lsofFile // -F: the file set being read
	out socketSink
	// the reusable parts of the socket given to out (see owners)
	ownerBuf [1]event.Owner
	kvBuf    [2]string
	infoBuf  event.SocketInfo
}

// lsofFile is one file set of -F output.
type lsofFile struct {
	line         int
	fd           []byte
	typ, proto   []byte
	name         []byte
	state        []byte
	qr, qs       []byte
	inode        []byte
	open, active bool
}

func parseLsof(in *Input, r io.Reader) {
	t := &lsofTable{in: in, snap: -1, procs: map[int]*lsofProc{}}
	t.filtered = lsofCommandFiltered(in.Header.Command)
	defer t.out.flush(in.Out)
	in.Lines(r, t.line)
	t.finishFile()
	t.finish()
}

// lsofCommandFiltered reports a selection in the recorded command: -p,
// -u, -c, -d, -a, -s, or -i with an address (lsof -i alone lists every
// internet socket), or a grep.
func lsofCommandFiltered(cmd string) bool {
	words, grep := commandWords(cmd)
	if grep {
		return true
	}
	i := toolIndex(words, "lsof")
	if i < 0 {
		return false
	}
	for j := i + 1; j < len(words); j++ {
		w := words[j]
		switch {
		case w == "-i":
			if j+1 < len(words) && !strings.HasPrefix(words[j+1], "-") && !strings.HasPrefix(words[j+1], "+") {
				return true
			}
		case strings.HasPrefix(w, "-i"):
			return true // -iTCP:80
		case strings.HasPrefix(w, "-p"), strings.HasPrefix(w, "-u"), strings.HasPrefix(w, "-c"),
			strings.HasPrefix(w, "-d"), strings.HasPrefix(w, "-s"), w == "-a":
			return true
		case !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "+"):
			return true // file names select files
		}
	}
	return false
}

func (t *lsofTable) ensureSnapshot(n int, filtered bool) {
	if t.snap >= 0 {
		return
	}
	t.snap = t.in.Out.AddSnapshot(event.Snapshot{
		Meta:     t.in.Meta(n),
		Source:   "lsof",
		Command:  t.in.Header.Command,
		Filtered: filtered || t.filtered,
	})
}

func (t *lsofTable) finish() {
	if t.snap >= 0 {
		t.in.Out.Snapshots[t.snap].Sockets = t.n
	}
	for _, p := range t.order {
		if !p.full {
			continue // a selection (lsof -i) shows only some descriptors
		}
		fds := p.nfds
		if fds == 0 && p.nofd {
			fds = -1
		}
		threads := -1
		if t.tid && !t.fields {
			threads = 1 + p.threads
		}
		t.in.Out.Processes = append(t.in.Out.Processes, event.Process{
			Meta:    t.in.Meta(p.line),
			PID:     p.pid,
			Name:    p.name,
			FDs:     fds,
			FDSize:  -1,
			Threads: threads,
		})
	}
}

func (t *lsofTable) proc(pid int, name []byte, n int) *lsofProc {
	if t.cur != nil && t.cur.pid == pid {
		return t.cur
	}
	p := t.procs[pid]
	if p == nil {
		p = &lsofProc{pid: pid, name: t.it.get(name), line: n}
		t.procs[pid] = p
		t.order = append(t.order, p)
	}
	t.cur = p
	return p
}

func (t *lsofTable) line(n int, line []byte) {
	if isBlank(line) || lsofNoise(line) {
		return
	}
	if t.fields || (!t.header && t.snap < 0 && line[0] == 'p' && isDigits(lsofFieldEnd(line[1:]))) {
		t.fields = true
		t.fieldLine(n, line)
		return
	}
	if trimmed := bytes.TrimLeft(line, " "); isLsofHeader(trimmed) {
		t.header = true
		t.tid = bytes.Contains(trimmed, []byte(" TID "))
		t.taskcmd = bytes.Contains(trimmed, []byte(" TASKCMD "))
		t.ensureSnapshot(n, false)
		return
	}
	var buf [12]span
	sp := fieldSpans(buf[:0], line)
	if len(sp) > 0 && sp[0].a > 0 {
		t.in.Errorf(n, "not an lsof row: %.80q", line)
		return
	}
	k, ok := lsofRowLayout(line, sp, t.tid || !t.header, t.taskcmd || !t.header)
	if !ok {
		t.in.Errorf(n, "not an lsof row: %.80q", line)
		return
	}
	t.ensureSnapshot(n, !t.header) // no header: a grep kept some rows
	get := func(i int) []byte { return line[sp[i].a:sp[i].b] }
	pid, _ := parseUint(get(1))
	if pid > 1<<31 {
		t.in.Errorf(n, "bad PID %.20q", get(1))
		return
	}
	p := t.proc(int(pid), get(0), n)
	if k >= 4 { // a thread row: TID [TASKCMD] before USER
		if tid, ok := parseUint(get(2)); ok && int(tid) != p.pid && int(tid) != p.lastTID {
			p.lastTID = int(tid)
			p.threads++
		}
	}
	fdb := get(k)
	fd, _ := lsofFD(fdb)
	if fd < 0 {
		p.full = true
		if bytes.HasPrefix(fdb, []byte("NOFD")) {
			p.nofd = true
		}
		return
	}
	if !p.addFD(fd) || k+1 >= len(sp) {
		return // the same descriptor on another thread's row
	}
	typ := get(k + 1)
	switch string(typ) {
	case "IPv4", "IPv6":
	case "sock":
	default:
		return
	}
	// DEVICE SIZE/OFF NODE NAME follow; for sockets DEVICE is the inode
	// (sock rows: NODE) and NODE the protocol.
	var proto []byte
	pi := -1
	for i := k + 2; i < len(sp) && i <= k+4; i++ {
		if f := get(i); lsofProto(f) {
			proto, pi = f, i
			break
		}
	}
	uid := -1
	if u, ok := parseUint(get(k - 1)); ok && u < 1<<32 {
		uid = int(u) // lsof -l prints numeric users
	}
	owner := event.Owner{Name: p.name, PID: p.pid, FD: fd}
	if string(typ) == "sock" {
		rest := line[sp[k+1].b:]
		i := bytes.Index(rest, []byte("can't identify protocol"))
		if i < 0 {
			i = bytes.Index(rest, []byte("protocol: "))
			if i < 0 || !lsofInetProtoName(bytes.TrimSpace(rest[i+len("protocol: "):])) {
				return // NETLINK, UNIX... : not an internet socket
			}
		}
		var ino uint64
		if k+4 < len(sp) {
			ino, _ = parseUint(get(k + 4))
		}
		t.addSocket(event.Socket{
			Meta: t.in.Meta(n), Snapshot: t.snap, Proto: "sock", State: event.StateUnknown,
			UID: uid, Inode: ino, Owners: t.owners(owner),
			Info: t.info("lsof", t.it.get(bytes.TrimSpace(rest[i:]))),
		})
		return
	}
	if pi < 0 || pi+1 >= len(sp) {
		return // an IPv4 row of another protocol, or without a name
	}
	var ino uint64
	if v, ok := parseUint(get(k + 2)); ok {
		ino = v
	}
	s, err := t.inetSocket(n, typ, proto, line[sp[pi+1].a:], nil, nil)
	if err != "" {
		t.in.Errorf(n, "%s", err)
		return
	}
	s.UID, s.Inode, s.Owners = uid, ino, t.owners(owner)
	t.addSocket(s)
}

func lsofProto(b []byte) bool {
	switch string(b) {
	case "TCP", "UDP", "UDPLITE", "SCTP":
		return true
	}
	return false
}

func lsofInetProtoName(b []byte) bool {
	switch string(b) {
	case "TCP", "TCPv6", "UDP", "UDPv6", "UDPLITE", "UDPLITEv6", "SCTP", "SCTPv6":
		return true
	}
	return false
}

// owners returns o as an owner list that lasts until the next addSocket,
// which copies it: a listing's hundreds of thousands of sockets then cost
// no allocation of their own.
func (t *lsofTable) owners(o event.Owner) []event.Owner {
	t.ownerBuf[0] = o
	return t.ownerBuf[:1:1]
}

// info is owners for a socket's one extra field.
func (t *lsofTable) info(k, v string) *event.SocketInfo {
	t.kvBuf = [2]string{k, v}
	t.infoBuf = event.MakeSocketInfo(t.kvBuf[:])
	return &t.infoBuf
}

func (t *lsofTable) addSocket(s event.Socket) {
	t.out.add(s)
	t.n++
}

// inetSocket reads a NAME "10.0.0.1:40000->10.0.0.2:80 (ESTABLISHED)". The
// state comes from the name, or from -F's T field (state); qr and qs are
// -F's queue sizes when present.
func (t *lsofTable) inetSocket(n int, typ, proto, name, state []byte, q [][]byte) (event.Socket, string) {
	s := event.Socket{Meta: t.in.Meta(n), Snapshot: t.snap, State: event.StateUnknown, UID: -1}
	switch string(proto) {
	case "TCP":
		s.Proto = "tcp"
	case "UDP":
		s.Proto = "udp"
	default:
		s.Proto = t.it.get(bytes.ToLower(proto))
	}
	if string(typ) == "IPv6" {
		s.Proto = t.it.get(append([]byte(s.Proto), '6'))
	}
	addr, paren, _ := bytes.Cut(bytes.TrimSpace(name), []byte(" ("))
	if len(paren) > 0 && state == nil {
		state = bytes.TrimSuffix(paren, []byte(")"))
	}
	l, r, connected := bytes.Cut(addr, []byte("->"))
	var ok bool
	if s.Local, ok = parseEndpoint(l, &t.it); !ok {
		return s, "bad local address " + quoteTrunc(l)
	}
	if connected {
		if s.Remote, ok = parseEndpoint(r, &t.it); !ok {
			return s, "bad remote address " + quoteTrunc(r)
		}
	}
	switch {
	case len(state) > 0:
		st, ok := parseState(state)
		if !ok {
			return s, "unknown socket state " + quoteTrunc(state)
		}
		s.State = st
	case s.Proto[0] == 'u' && connected:
		s.State = event.StateEstablished // as ss shows a connected UDP socket
	case s.Proto[0] == 'u':
		s.State = event.StateClose // ss: UNCONN
	}
	for i, v := range q {
		if x, ok := parseInt(v); ok && v != nil {
			if i == 0 {
				s.RecvQ = x
			} else {
				s.SendQ = x
			}
		}
	}
	return s, ""
}

func quoteTrunc(b []byte) string {
	if len(b) > 60 {
		b = b[:60]
	}
	return `"` + strings.ToValidUTF8(string(b), "\uFFFD") + `"`
}

// fieldLine reads one line of -F output: one field per line, or with -F0
// several NUL-terminated fields.
func (t *lsofTable) fieldLine(n int, line []byte) {
	for len(line) > 0 {
		f := line
		if i := bytes.IndexByte(line, 0); i >= 0 {
			f, line = line[:i], line[i+1:]
		} else {
			line = nil
		}
		if len(f) == 0 {
			continue
		}
		t.field(n, f[0], f[1:])
	}
}

func (t *lsofTable) field(n int, id byte, v []byte) {
	switch id {
	case 'p':
		t.finishFile()
		pid, ok := parseUint(v)
		if !ok || pid > 1<<31 {
			t.in.Errorf(n, "bad PID field %.20q", v)
			t.cur = nil
			return
		}
		t.ensureSnapshot(n, false)
		t.cur = nil
		p := t.proc(int(pid), nil, n)
		p.lastTID = 0
	case 'c':
		if t.cur != nil && t.cur.name == "" {
			t.cur.name = t.it.get(v)
		}
	case 'K':
		if t.cur != nil {
			t.tid = true
		}
	case 'f':
		t.finishFile()
		if t.cur == nil {
			t.in.Errorf(n, "file field before any process field")
			return
		}
		t.ff = lsofFile{line: n, fd: append(t.ff.fd[:0], v...), active: true}
	case 't':
		t.ff.typ = append(t.ff.typ[:0], v...)
	case 'P':
		t.ff.proto = append(t.ff.proto[:0], v...)
	case 'n':
		t.ff.name = append(t.ff.name[:0], v...)
	case 'i':
		t.ff.inode = append(t.ff.inode[:0], v...)
	case 'T':
		k, val, _ := bytes.Cut(v, []byte{'='})
		switch string(k) {
		case "ST":
			t.ff.state = append(t.ff.state[:0], val...)
		case "QR":
			t.ff.qr = append(t.ff.qr[:0], val...)
		case "QS":
			t.ff.qs = append(t.ff.qs[:0], val...)
		}
	}
	// Other fields (u, L, g, R, a, l, d, D, s, o, k, S...) say nothing
	// netmortem uses.
}

// finishFile ends the -F file set being read.
func (t *lsofTable) finishFile() {
	f := &t.ff
	if !f.active || t.cur == nil {
		f.active = false
		return
	}
	f.active = false
	p := t.cur
	fd, ok := lsofFD(f.fd)
	if !ok {
		t.in.Errorf(f.line, "bad FD field %.20q", f.fd)
		return
	}
	if fd < 0 {
		p.full = true
		if string(f.fd) == "NOFD" {
			p.nofd = true
		}
		return
	}
	if !p.addFD(fd) {
		return
	}
	owner := event.Owner{Name: p.name, PID: p.pid, FD: fd}
	switch {
	case (string(f.typ) == "IPv4" || string(f.typ) == "IPv6") && lsofProto(f.proto) && len(f.name) > 0:
		var q [][]byte
		if f.qr != nil || f.qs != nil {
			q = [][]byte{f.qr, f.qs}
		}
		st := f.state
		if st == nil {
			st = []byte{}
		}
		s, err := t.inetSocket(f.line, f.typ, f.proto, f.name, st, q)
		if err != "" {
			t.in.Errorf(f.line, "%s", err)
			return
		}
		s.Owners = t.owners(owner)
		if v, ok := parseUint(f.inode); ok {
			s.Inode = v
		}
		t.addSocket(s)
	case string(f.typ) == "sock" && (bytes.Contains(f.name, []byte("can't identify protocol")) ||
		bytes.HasPrefix(f.name, []byte("protocol: ")) && lsofInetProtoName(f.name[len("protocol: "):])):
		ino, _ := parseUint(f.inode)
		t.addSocket(event.Socket{
			Meta: t.in.Meta(f.line), Snapshot: t.snap, Proto: "sock", State: event.StateUnknown,
			UID: -1, Inode: ino, Owners: t.owners(owner),
			Info: t.info("lsof", t.it.get(f.name)),
		})
	}
	f.typ, f.proto, f.name, f.state, f.qr, f.qs, f.inode = f.typ[:0], f.proto[:0], f.name[:0], nil, nil, nil, f.inode[:0]
}
