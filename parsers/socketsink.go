package parsers

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/netmortem/netmortem/parsers/event"
)

// socketSink collects one file's sockets and appends them to the evidence
// in one step at the end.
//
// A socket table can hold millions of rows and its length is not known
// until the end, while Evidence.Sockets is one slice of 344-byte sockets
// with a dozen pointers each. Growing that slice row by row, or keeping
// the sockets in blocks to copy at the end, allocates and copies it twice,
// and the garbage collector rescans every socket at each of its cycles.
// So the sink keeps each socket packed, without a pointer: its strings
// become numbers in a table whose bytes sit in shared blocks, and its
// owners, extra fields and timer go to pointer-free vectors. The collector
// never scans any of it. flush builds the final slice once, at its exact
// size, with the owners, timers and extra fields in one block each.
//
// Parsers hand it whole sockets (add), or, for the largest tables (ss),
// fill the packed socket in place (start, then addOwner, setInfo...), so
// that a row's strings go from the line's bytes to numbers directly.
type socketSink struct {
	pend *packedSocket // the socket start returned, until it is closed

	chunks   [][]packedSocket
	n        int
	meta     event.Meta // File, Time and Host of the packed sockets
	metaSet  bool
	strs     stringTable
	owners   vec[packedOwner]
	infos    vec[uint32] // key, value, ... string numbers
	timers   vec[packedTimer]
	timerPos map[packedTimer]uint32
	nInfos   int            // sockets with extra fields
	odd      []event.Socket // sockets that do not pack (another Meta...), kept whole
}

// packedSocket is an event.Socket without pointers: strings are numbers in
// the sink's stringTable; owners, timer and extra fields are positions in
// its vectors.
type packedSocket struct {
	line          int64
	recvQ, sendQ  int64
	uid           int64
	inode         uint64
	local, remote packedEndpoint
	snap          int32
	proto, state  uint32
	owners        uint32 // first owner, or the index in odd
	nOwners       uint32
	timer         uint32 // 1 + position, 0 for none
	info          uint32 // first string number of the pairs
	nInfo         uint32 // string numbers (two per field)
	flags         uint8
}

const (
	packedOdd    = 1 << iota // the socket is odd[owners]
	packedOwners             // Owners is not nil (it may be empty)
	packedInfo               // Info is not nil (it may be empty)
)

type packedEndpoint struct {
	addr                 [16]byte
	host, iface, service uint32
	port                 uint16
	kind                 uint8 // 0 no address, 4, 6
	wildcard             bool
}

type packedOwner struct {
	name    uint32
	pid, fd int64
}

type packedTimer struct {
	name, raw uint32
	expires   int64
	retrans   int64
}

// String kinds, each with its own cache of recent strings in the
// stringTable.
const (
	strProto = iota
	strHost
	strIface
	strService
	strOwner
	strTimerName
	strTimerRaw
	strInfoKey
	strInfoValue
	strState
	strKinds
)

const (
	sinkFirstChunk = 64
	sinkMaxChunk   = 1 << 14
)

// add appends s. It keeps nothing s points to (owners, timer, extra
// fields), so the caller may reuse them.
func (k *socketSink) add(s event.Socket) {
	k.commit()
	k.pack(&s)
}

// setMeta gives the sockets start begins m's File, Time and Host.
func (k *socketSink) setMeta(m event.Meta) {
	m.Ref.Line = 0
	k.meta, k.metaSet = m, true
}

// start begins a socket packed in place, in the sink's own storage; it
// stays open, for a continuation line to add to (last), until the next
// start, add or flush. Its owners and extra fields are added with addOwner
// and setInfo.
func (k *socketSink) start() *packedSocket {
	k.commit()
	p := k.slot()
	p.owners, p.info = uint32(k.owners.n), uint32(k.infos.n)
	k.pend = p
	return p
}

// last returns the socket start returned, or nil once it is closed.
func (k *socketSink) last() *packedSocket { return k.pend }

// drop takes back the socket start returned.
func (k *socketSink) drop() {
	p := k.pend
	if p == nil {
		return
	}
	k.owners.truncate(int(p.owners))
	k.infos.truncate(int(p.info))
	*p = packedSocket{}
	c := k.chunks[len(k.chunks)-1]
	k.chunks[len(k.chunks)-1] = c[:len(c)-1] // p is its last
	k.n--
	k.pend = nil
}

// commit closes the socket start returned.
func (k *socketSink) commit() {
	if k.pend != nil && k.pend.flags&packedInfo != 0 {
		k.nInfos++
	}
	k.pend = nil
}

// slot appends a zero packed socket and returns it.
func (k *socketSink) slot() *packedSocket {
	last := len(k.chunks) - 1
	if last < 0 || len(k.chunks[last]) == cap(k.chunks[last]) {
		size := sinkFirstChunk
		if last >= 0 {
			size = min(2*cap(k.chunks[last]), sinkMaxChunk)
		}
		k.chunks = append(k.chunks, make([]packedSocket, 0, size))
		last++
	}
	c := k.chunks[last]
	c = c[:len(c)+1]
	k.chunks[last] = c
	k.n++
	return &c[len(c)-1]
}

// addOwner adds an owner to p, which start returned.
func (k *socketSink) addOwner(p *packedSocket, name []byte, pid, fd int) {
	k.owners.push(packedOwner{name: k.strs.indexBytes(name, strOwner), pid: int64(pid), fd: int64(fd)})
	p.nOwners++
	p.flags |= packedOwners
}

// setInfo sets an extra field of p, which start returned, to the string
// numbered val.
func (k *socketSink) setInfo(p *packedSocket, key string, val uint32) {
	k.setInfoID(p, k.strs.index(key, strInfoKey), val)
}

// setInfoID is setInfo with the key numbered too.
func (k *socketSink) setInfoID(p *packedSocket, id, val uint32) {
	p.flags |= packedInfo
	for i := p.info; i < p.info+p.nInfo; i += 2 {
		if *k.infos.at(i) == id {
			*k.infos.at(i + 1) = val
			return
		}
	}
	k.infos.push(id)
	k.infos.push(val)
	p.nInfo += 2
}

// setTimer gives p the timer tm.
func (k *socketSink) setTimer(p *packedSocket, tm *event.Timer) {
	p.timer = 1 + k.timerAt(packedTimer{
		name:    k.strs.index(tm.Name, strTimerName),
		raw:     k.strs.index(tm.Raw, strTimerRaw),
		expires: int64(tm.Expires),
		retrans: int64(tm.Retrans),
	})
}

// timerAt returns the position of a timer equal to pt. Sockets with equal
// timers share one, as they share strings: a table of a million sockets
// has a few hundred distinct timers (keepalive,115min,0).
func (k *socketSink) timerAt(pt packedTimer) uint32 {
	if at, ok := k.timerPos[pt]; ok {
		return at
	}
	at := uint32(k.timers.n)
	k.timers.push(pt)
	if k.timerPos == nil {
		k.timerPos = make(map[packedTimer]uint32, 64)
	}
	if len(k.timerPos) < maxStringTable {
		k.timerPos[pt] = at
	}
	return at
}

// endpoint packs e, whose strings are still bytes of the line.
func (k *socketSink) endpoint(p *packedEndpoint, e *endpointParts) {
	k.packAddr(p, e.addr)
	p.port, p.wildcard = e.port, e.wildcard
	if len(e.host) > 0 {
		p.host = k.strs.indexBytes(e.host, strHost)
	}
	if len(e.iface) > 0 {
		p.iface = k.strs.indexBytes(e.iface, strIface)
	}
	if len(e.service) > 0 {
		p.service = k.strs.indexBytes(e.service, strService)
		p.port = wellKnownPorts[k.strs.get(p.service)]
	}
}

func (k *socketSink) packAddr(p *packedEndpoint, a netip.Addr) {
	switch {
	case !a.IsValid():
	case a.Is4():
		p.kind = 4
		a4 := a.As4()
		copy(p.addr[:], a4[:])
	default:
		p.kind = 6
		p.addr = a.As16()
	}
}

// pack appends s, packed.
func (k *socketSink) pack(s *event.Socket) {
	p := k.slot()
	if !k.metaSet {
		k.meta, k.metaSet = s.Meta, true
		k.meta.Ref.Line = 0
	}
	if s.Ref.File != k.meta.Ref.File || s.Ref.Frame != 0 || s.Time != k.meta.Time ||
		s.Meta.Host != k.meta.Host || s.Snapshot != int(int32(s.Snapshot)) ||
		!k.packEndpoint(&p.local, &s.Local) || !k.packEndpoint(&p.remote, &s.Remote) {
		// Rare: keep it whole, with copies of what the caller may reuse.
		o := *s
		o.Owners = slices.Clone(s.Owners)
		if s.Timer != nil {
			tm := *s.Timer
			o.Timer = &tm
		}
		if s.Info != nil {
			o.Info = event.NewSocketInfo()
			for key, v := range s.Info.All() {
				o.Info.Set(key, v)
			}
		}
		*p = packedSocket{flags: packedOdd, owners: uint32(len(k.odd))}
		k.odd = append(k.odd, o)
		return
	}
	p.line = int64(s.Ref.Line)
	p.snap = int32(s.Snapshot)
	p.proto = k.strs.index(s.Proto, strProto)
	p.state = k.strs.state(s.State)
	p.recvQ, p.sendQ = s.RecvQ, s.SendQ
	p.uid = int64(s.UID)
	p.inode = s.Inode
	if s.Owners != nil {
		p.flags |= packedOwners
		p.owners, p.nOwners = uint32(k.owners.n), uint32(len(s.Owners))
		for _, o := range s.Owners {
			k.owners.push(packedOwner{name: k.strs.index(o.Name, strOwner), pid: int64(o.PID), fd: int64(o.FD)})
		}
	}
	if tm := s.Timer; tm != nil {
		k.setTimer(p, tm)
	}
	if s.Info != nil {
		p.flags |= packedInfo
		k.nInfos++
		p.info, p.nInfo = uint32(k.infos.n), uint32(2*s.Info.Len())
		for key, v := range s.Info.All() {
			k.infos.push(k.strs.index(key, strInfoKey))
			k.infos.push(k.strs.index(v, strInfoValue))
		}
	}
}

// packEndpoint packs e into p; it reports false for what packedEndpoint
// cannot hold (an address with a zone).
func (k *socketSink) packEndpoint(p *packedEndpoint, e *event.Endpoint) bool {
	if e.Addr.Zone() != "" {
		return false
	}
	k.packAddr(p, e.Addr)
	p.port, p.wildcard = e.Port, e.Wildcard
	p.host = k.strs.index(e.Host, strHost)
	p.iface = k.strs.index(e.Iface, strIface)
	p.service = k.strs.index(e.Service, strService)
	return true
}

// unpackEndpoint fills the zero endpoint e from p, leaving zero fields
// alone.
func (k *socketSink) unpackEndpoint(e *event.Endpoint, p *packedEndpoint) {
	switch p.kind {
	case 4:
		e.Addr = netip.AddrFrom4([4]byte(p.addr[:4]))
	case 6:
		e.Addr = netip.AddrFrom16(p.addr)
	}
	e.Port, e.Wildcard = p.port, p.wildcard
	if p.host != 0 {
		e.Host = k.strs.get(p.host)
	}
	if p.iface != 0 {
		e.Iface = k.strs.get(p.iface)
	}
	if p.service != 0 {
		e.Service = k.strs.get(p.service)
	}
}

// flush appends the sockets to out and empties the sink.
func (k *socketSink) flush(out *event.Evidence) {
	k.commit()
	if k.n == 0 {
		return
	}
	// Allocate everything at its exact size.
	base := len(out.Sockets)
	if cap(out.Sockets)-base < k.n {
		out.Sockets = slices.Grow(out.Sockets, k.n) // new memory is zero
		out.Sockets = out.Sockets[:base+k.n]
	} else {
		out.Sockets = out.Sockets[:base+k.n]
		clear(out.Sockets[base:])
	}
	dst := out.Sockets[base:]
	// Write to each page of the new sockets first, in order. The
	// allocation starts a collection, which scans them: it would find
	// their pages unmapped and have the kernel map each to the zero page,
	// only for the fill to fault on every page a second time. The write
	// is to a field without pointers: a pointer store reads the old value
	// (the collector's barrier), which would fault the same way.
	const perPage = 4096/int(unsafe.Sizeof(event.Socket{})) + 1
	for i := 0; i < len(dst); i += perPage {
		dst[i].RecvQ = 0
	}
	owners := make([]event.Owner, k.owners.n)
	timers := make([]event.Timer, k.timers.n)
	infos := make([]event.SocketInfo, k.nInfos)
	kv := make([]string, k.infos.n)
	strs := &k.strs
	strs.fix()
	for i := range owners {
		o := k.owners.at(uint32(i))
		owners[i] = event.Owner{Name: strs.get(o.name), PID: int(o.pid), FD: int(o.fd)}
	}
	for i := range timers {
		t := k.timers.at(uint32(i))
		timers[i] = event.Timer{Name: strs.get(t.name), Raw: strs.get(t.raw), Expires: time.Duration(t.expires), Retrans: int(t.retrans)}
	}
	for i := range kv {
		if id := *k.infos.at(uint32(i)); id != 0 {
			kv[i] = strs.get(id)
		}
	}
	// Fill the zero sockets leaving zero fields alone: each store of a
	// pointer costs while the collector runs.
	file, tm, host := k.meta.Ref.File, k.meta.Time, k.meta.Host
	nInfo := 0
	i := 0
	for ci, c := range k.chunks {
		for j := range c {
			p := &c[j]
			s := &dst[i]
			i++
			if p.flags&packedOdd != 0 {
				*s = k.odd[p.owners]
				continue
			}
			s.Ref.File, s.Ref.Line = file, int(p.line)
			if !tm.IsZero() {
				s.Time = tm
			}
			if host != "" {
				s.Host = host
			}
			s.Snapshot = int(p.snap)
			s.Proto = strs.get(p.proto)
			s.State = event.State(strs.get(p.state))
			k.unpackEndpoint(&s.Local, &p.local)
			k.unpackEndpoint(&s.Remote, &p.remote)
			s.RecvQ, s.SendQ = p.recvQ, p.sendQ
			s.UID = int(p.uid)
			s.Inode = p.inode
			if p.flags&packedOwners != 0 {
				s.Owners = owners[p.owners : p.owners+p.nOwners : p.owners+p.nOwners]
			}
			if p.timer != 0 {
				s.Timer = &timers[p.timer-1]
			}
			if p.flags&packedInfo != 0 {
				infos[nInfo] = event.MakeSocketInfo(kv[p.info : p.info+p.nInfo : p.info+p.nInfo])
				s.Info = &infos[nInfo]
				nInfo++
			}
		}
		k.chunks[ci] = nil // read: the collector may have it back
	}
	*k = socketSink{}
}

// vecBlock is the size of a vec's blocks.
const vecBlock = 1024

// vec is an append-only vector kept in fixed-size blocks: it grows by one
// allocation per thousand values and never copies them.
type vec[T any] struct {
	b [][]T
	n int
}

func (v *vec[T]) push(x T) {
	if v.n%vecBlock == 0 && v.n/vecBlock == len(v.b) {
		v.b = append(v.b, make([]T, vecBlock))
	}
	v.b[v.n/vecBlock][v.n%vecBlock] = x
	v.n++
}

func (v *vec[T]) at(i uint32) *T { return &v.b[i/vecBlock][i%vecBlock] }

// truncate drops the values from n on.
func (v *vec[T]) truncate(n int) {
	var zero T
	for i := n; i < v.n; i++ {
		*v.at(uint32(i)) = zero
	}
	v.n = n
}

// stringTable numbers strings, keeping their bytes in shared blocks
// without pointers; number 0 is "". Shared strings (index) are numbered
// once, up to maxStringTable of them; a row's own values (add) are not
// looked up. Each kind of field remembers its last few strings, so the
// usual runs of equal values (tcp, ESTABLISHED, the same process) cost a
// comparison or two.
type stringTable struct {
	spans  vec[strSpan] // shared strings
	owns   vec[strSpan] // rows' own values, numbered from ownString
	fixed  []string     // the shared strings, once flush has made them
	blocks []*strings.Builder
	ids    map[string]uint32
	recent [strKinds][strRecent]struct {
		s  string
		id uint32
	}
	next [strKinds]uint8 // the entry of recent to replace next
}

type strSpan struct{ block, off, n uint32 }

// strRecent is how many strings of each kind the table remembers: a
// table's process names, timer kinds and extra field names take turns.
const strRecent = 4

// maxStringTable bounds the table's map: past it, new strings (then
// mostly unique, such as host names) are numbered without it.
const maxStringTable = 1 << 16

// strBlock is the size of the table's byte blocks; longer strings get a
// block of their own.
const strBlock = 16 << 10

// tableStates are the states every table numbers first, 1 to 13, so that
// state can number them with a switch.
var tableStates = [...]event.State{
	event.StateEstablished, event.StateSynSent, event.StateSynRecv,
	event.StateFinWait1, event.StateFinWait2, event.StateTimeWait,
	event.StateClose, event.StateCloseWait, event.StateLastAck,
	event.StateListen, event.StateClosing, event.StateNewSynRecv,
	event.StateUnknown,
}

// state numbers st.
func (t *stringTable) state(st event.State) uint32 {
	var i uint32
	switch st {
	case event.StateEstablished:
		i = 0
	case event.StateSynSent:
		i = 1
	case event.StateSynRecv:
		i = 2
	case event.StateFinWait1:
		i = 3
	case event.StateFinWait2:
		i = 4
	case event.StateTimeWait:
		i = 5
	case event.StateClose:
		i = 6
	case event.StateCloseWait:
		i = 7
	case event.StateLastAck:
		i = 8
	case event.StateListen:
		i = 9
	case event.StateClosing:
		i = 10
	case event.StateNewSynRecv:
		i = 11
	case event.StateUnknown:
		i = 12
	default:
		return t.index(string(st), strState)
	}
	t.init()
	return 1 + i
}

func (t *stringTable) init() {
	if t.spans.n > 0 {
		return
	}
	t.spans.push(strSpan{}) // number 0: ""
	for _, st := range tableStates {
		t.addString(string(st))
	}
}

// index numbers s, a string other records may share.
func (t *stringTable) index(s string, kind int) uint32 {
	if s == "" {
		return 0
	}
	r := &t.recent[kind]
	for i := range r {
		if r[i].id != 0 && r[i].s == s {
			return r[i].id
		}
	}
	id, ok := t.ids[s]
	if !ok {
		id = t.addString(s)
		t.remember(s, id)
	}
	t.keep(kind, s, id)
	return id
}

// indexBytes is index for the bytes of a line.
func (t *stringTable) indexBytes(b []byte, kind int) uint32 {
	if len(b) == 0 {
		return 0
	}
	r := &t.recent[kind]
	for i := range r {
		if r[i].id != 0 && r[i].s == string(b) {
			return r[i].id
		}
	}
	id, ok := t.ids[string(b)]
	if !ok {
		blk, off := t.room(len(b))
		blk.Write(b)
		id = t.span(&t.spans, off, len(b))
		t.remember(t.get(id), id)
	}
	t.keep(kind, t.get(id), id)
	return id
}

func (t *stringTable) remember(s string, id uint32) {
	if t.ids == nil {
		t.ids = make(map[string]uint32, 64)
	}
	if len(t.ids) < maxStringTable {
		t.ids[s] = id
	}
}

func (t *stringTable) keep(kind int, s string, id uint32) {
	n := t.next[kind]
	t.recent[kind][n].s, t.recent[kind][n].id = s, id
	t.next[kind] = (n + 1) % strRecent
}

// ownString marks the numbers of rows' own values: they are kept apart
// from the shared strings, which flush makes once each (fix).
const ownString = 1 << 31

// add numbers a copy of b, without looking it up: a row's own value.
func (t *stringTable) add(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	blk, off := t.room(len(b))
	blk.Write(b)
	return ownString | t.span(&t.owns, off, len(b))
}

func (t *stringTable) addString(s string) uint32 {
	blk, off := t.room(len(s))
	blk.WriteString(s)
	return t.span(&t.spans, off, len(s))
}

// room returns a block with room for n more bytes and the offset they
// will have in it.
func (t *stringTable) room(n int) (*strings.Builder, int) {
	t.init()
	if len(t.blocks) > 0 {
		if b := t.blocks[len(t.blocks)-1]; b.Cap()-b.Len() >= n {
			return b, b.Len()
		}
	}
	b := &strings.Builder{}
	b.Grow(max(n, strBlock))
	t.blocks = append(t.blocks, b)
	return b, 0
}

func (t *stringTable) span(v *vec[strSpan], off, n int) uint32 {
	v.push(strSpan{block: uint32(len(t.blocks) - 1), off: uint32(off), n: uint32(n)})
	return uint32(v.n - 1)
}

// fix makes every shared string once, for get to return.
func (t *stringTable) fix() {
	t.init()
	t.fixed = make([]string, t.spans.n)
	for i := 1; i < t.spans.n; i++ {
		t.fixed[i] = t.make(t.spans.at(uint32(i)))
	}
}

// get returns string number id.
func (t *stringTable) get(id uint32) string {
	if id < uint32(len(t.fixed)) {
		return t.fixed[id]
	}
	if id == 0 {
		return ""
	}
	if id&ownString != 0 {
		return t.make(t.owns.at(id &^ ownString))
	}
	return t.make(t.spans.at(id))
}

func (t *stringTable) make(sp *strSpan) string {
	// A builder never rewrites the bytes it holds, so its string stays
	// valid as it grows within its capacity.
	return t.blocks[sp.block].String()[sp.off : sp.off+sp.n]
}

// setInfo sets an extra field of a whole socket, before add.
func setInfo(s *event.Socket, k, v string) {
	if s.Info == nil {
		s.Info = &event.SocketInfo{}
	}
	s.Info.Set(k, v)
}
