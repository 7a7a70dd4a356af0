package parsers

import (
	"bytes"
	"io"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// ssParser reads the socket table of iproute2's ss in all the layouts it
// has had: with and without the Netid column (one socket type shown or
// several), without the State column (ss state X), with -p owners, -o
// timers, -e uid/ino/sk, -i tcp_info and -m skmem on the socket's line or
// on a continuation line that starts with whitespace, and rows kept by a
// grep that dropped the header.
var ssParser = &Parser{
	Kind:    "ss",
	Title:   "socket table (iproute2 ss)",
	Command: "ss -tanpoe; ss -tan, -tanp, -tanpi, -tanm, -tln, -a, -tulpen, ss state X",
	Detect:  detectSS,
	Parse:   parseSS,
}

var (
	ssLocalCol = []byte("Local Address")
	ssPeerCol  = []byte("Peer Address")
)

// ssNoise are lines ss writes to stderr that a collector's 2>&1 keeps.
func ssNoise(line []byte) bool {
	if len(line) == 0 || line[0] != 'R' && line[0] != 'C' {
		return false // every row is asked: answer most without a comparison
	}
	return bytes.HasPrefix(line, []byte("RTNETLINK answers")) ||
		bytes.HasPrefix(line, []byte("Cannot open netlink socket"))
}

func detectSS(head []byte) bool {
	line, rest := firstLine(head)
	for ssNoise(line) {
		line, rest = firstLine(rest)
	}
	if isSSHeader(line) {
		return true
	}
	_, _, ok := ssRowLayout(line)
	return ok
}

// isSSHeader reports "State Recv-Q Send-Q Local Address:Port Peer
// Address:Port", with Netid in front, or without State.
func isSSHeader(line []byte) bool {
	f, _, _ := nextField(line, 0)
	switch string(f) {
	case "Netid", "State", "Recv-Q":
	default:
		return false
	}
	return bytes.Contains(line, ssLocalCol) && bytes.Contains(line, ssPeerCol)
}

// ssRowLayout recognises a row without its header (ss ... | grep X): the
// state first, or a netid and then the state, followed by the two queues
// and two address:port fields.
func ssRowLayout(line []byte) (netid, state, ok bool) {
	var f [6][]byte
	pos := 0
	for i := range f {
		f[i], _, pos = nextField(line, pos)
	}
	if _, ok := parseState(f[0]); ok && ssQueuesAndAddrs(f[1:5]) {
		return false, true, true
	}
	if _, ok := parseState(f[1]); ok && ssQueuesAndAddrs(f[2:6]) && !isDigits(f[0]) {
		return true, true, true
	}
	return false, false, false
}

func ssQueuesAndAddrs(f [][]byte) bool {
	return isDigits(f[0]) && isDigits(f[1]) &&
		bytes.IndexByte(f[2], ':') >= 0 && bytes.IndexByte(f[3], ':') >= 0
}

// ssTable is the state of one ss file being parsed.
type ssTable struct {
	in   *Input
	it   interner
	snap int // index of the current snapshot in in.Out.Snapshots, -1 before one
	n    int // sockets in the current snapshot
	out  socketSink
	// timers numbers the timer:(...) texts seen, with the bad ones
	// marked: see timer.
	timers map[string]uint32

	header   bool // the current snapshot had a header line
	netid    bool // rows start with a Netid column
	state    bool // rows have a State column
	cmd      ssCommand
	filtered bool
}

// ssCommand is what the recorded command line says about the table.
type ssCommand struct {
	proto    string      // the one socket type asked for, "" when unknown
	state    event.State // the one state of an `ss state X` filter
	filtered bool        // a state/address filter, -l, or a grep
}

func parseSS(in *Input, r io.Reader) {
	t := &ssTable{in: in, snap: -1, cmd: parseSSCommand(in.Header.Command)}
	t.out.setMeta(in.Meta(0))
	defer t.out.flush(in.Out) // also keep what was read if a panic ends the file
	defer t.flush()
	in.Lines(r, t.line)
}

func (t *ssTable) line(n int, line []byte) {
	if isBlank(line) {
		return // ss -i prints an empty continuation for TIME-WAIT rows
	}
	if isSpace(line[0]) {
		last := t.out.last()
		if last == nil {
			t.in.Errorf(n, "continuation line before any socket")
			return
		}
		t.extras(last, line, n)
		return
	}
	if isSSHeader(line) {
		first, _, _ := nextField(line, 0)
		t.netid = string(first) == "Netid"
		t.state = bytes.Contains(line, []byte("State"))
		t.header = true
		t.start(n, t.cmd.filtered || !t.state)
		return
	}
	if ssNoise(line) {
		return
	}
	t.row(n, line)
}

// start opens a new snapshot at line n.
func (t *ssTable) start(n int, filtered bool) {
	t.flush()
	t.snap = t.in.Out.AddSnapshot(event.Snapshot{
		Meta:     t.in.Meta(n),
		Source:   "ss",
		Command:  t.in.Header.Command,
		Filtered: filtered,
	})
	t.n = 0
}

func (t *ssTable) flush() {
	if t.snap >= 0 {
		t.in.Out.Snapshots[t.snap].Sockets = t.n
	}
}

func (t *ssTable) row(n int, line []byte) {
	hasNetid, hasState := t.netid, t.state
	if !t.header {
		var ok bool
		hasNetid, hasState, ok = ssRowLayout(line)
		if !ok {
			t.in.Errorf(n, "not an ss row: %.80q", line)
			return
		}
		if t.snap < 0 {
			t.start(n, true) // a grep dropped the header: rows are a selection
		}
	}
	var netid, f []byte
	pos := 0
	if hasNetid {
		netid, _, pos = nextField(line, pos)
	}
	state := t.cmd.state
	if state == "" {
		state = event.StateUnknown
	}
	known := true
	if hasState {
		f, _, pos = nextField(line, pos)
		state, known = parseState(f)
	}
	rq, _, pos := nextField(line, pos)
	sq, _, pos := nextField(line, pos)
	recvQ, ok1 := parseInt(rq)
	sendQ, ok2 := parseInt(sq)
	switch {
	case !known && (!ok1 || !ok2):
		t.in.Errorf(n, "not an ss row: %.80q", line)
		return
	case !ok1 || !ok2:
		t.in.Errorf(n, "bad queue sizes %.20q %.20q", rq, sq)
		return
	case !known:
		t.in.Errorf(n, "unknown socket state %.40q", f)
	}
	p := t.out.start()
	p.line = int64(n)
	p.snap = int32(t.snap)
	p.state = t.out.strs.state(state)
	p.recvQ, p.sendQ = recvQ, sendQ
	p.uid = -1
	if !t.fill(p, n, line, pos, netid) {
		t.out.drop()
		return
	}
	t.n++
}

// fill reads a row's addresses and extra fields from pos into p.
func (t *ssTable) fill(p *packedSocket, n int, line []byte, pos int, netid []byte) bool {
	strs := &t.out.strs
	var local, peer []byte
	switch {
	case len(netid) == 5 && netid[0] == 'u' && netid[1] == '_': // u_str, u_dgr, u_seq
		p.proto = strs.index("unix", strProto)
		var ino []byte
		local, _, pos = nextField(line, pos)
		ino, _, pos = nextField(line, pos)
		peer, _, pos = nextField(line, pos)
		_, _, pos = nextField(line, pos) // the peer's inode
		p.local.host = strs.indexBytes(local, strHost)
		p.remote.host = strs.indexBytes(peer, strHost)
		if v, ok := parseUint(ino); ok {
			p.inode = v
		}
		t.out.setInfo(p, "type", strs.index(unixType(netid), strInfoValue))
	case string(netid) == "nl" || string(netid) == "p_raw" || string(netid) == "p_dgr":
		// netlink "rtnl:sshd/812", packet "*:eth0": not address:port
		p.proto = strs.indexBytes(netid, strProto)
		local, _, pos = nextField(line, pos)
		peer, _, pos = nextField(line, pos)
		p.local.host, p.remote.host = strs.indexBytes(local, strHost), strs.indexBytes(peer, strHost)
	default:
		proto := t.proto(netid)
		p.proto = strs.index(proto, strProto)
		local, _, pos = nextField(line, pos)
		peer, _, pos = nextField(line, pos)
		if len(peer) == 0 {
			t.in.Errorf(n, "missing peer address")
			return false
		}
		inet := ssInet(proto)
		if !t.endpoint(&p.local, local) {
			if inet {
				t.in.Errorf(n, "bad local address %.80q", local)
				return false
			}
			p.local.host = strs.indexBytes(local, strHost) // vsock, tipc...: kept as printed
		}
		if !t.endpoint(&p.remote, peer) {
			if inet {
				t.in.Errorf(n, "bad peer address %.80q", peer)
				return false
			}
			p.remote.host = strs.indexBytes(peer, strHost)
		}
	}
	t.extras(p, line[pos:], n)
	return true
}

// endpoint packs the endpoint b into pe, reporting false if it is not one.
func (t *ssTable) endpoint(pe *packedEndpoint, b []byte) bool {
	if a, port, ok := splitIPv4Port(b); ok { // the usual case, in one pass
		t.out.packAddr(pe, a)
		pe.port = port
		return true
	}
	e, ok := splitAnyEndpoint(b)
	if ok {
		t.out.endpoint(pe, &e)
	}
	return ok
}

// ssInet are the netids whose addresses must be address:port.
func ssInet(proto string) bool {
	switch proto {
	case "tcp", "udp", "raw", "sctp", "mptcp", "dccp":
		return true
	}
	return false
}

func unixType(netid []byte) string {
	switch string(netid) {
	case "u_str":
		return "stream"
	case "u_dgr":
		return "dgram"
	case "u_seq":
		return "seqpacket"
	}
	return "unknown"
}

// proto names the socket type of a row: its Netid, else the one type the
// command asked for, else tcp: ss prints no Netid when it shows a single
// type, and the TCP table is what people capture (a state cannot tell, ss
// prints TCP's CLOSE as UNCONN too).
func (t *ssTable) proto(netid []byte) string {
	if len(netid) > 0 {
		return t.it.get(netid)
	}
	if t.cmd.proto != "" {
		return t.cmd.proto
	}
	return "tcp"
}

// extras reads the fields after the addresses, on the row or on its
// continuation line: users:(...), timer:(...), uid:, ino:, sk:, skmem:(...),
// cgroup:, and the key:value tokens of -i.
func (t *ssTable) extras(p *packedSocket, b []byte, n int) {
	pos := 0
	for {
		start, colon, end := nextSSToken(b, pos)
		if start == end {
			return
		}
		k := -1
		if colon >= 0 {
			k = colon - start
		}
		t.extra(p, b[start:end], k, n)
		pos = end
	}
}

// nextSSToken finds the token of b at or after pos: it starts after any
// whitespace and ends at a space or tab outside quotes and parentheses
// ("Web Content" is one process name, and so is "x(a b)"); colon is the
// position of its first ':', or -1. One pass: the socket tables this
// reads run to millions of rows.
func nextSSToken(b []byte, pos int) (start, colon, end int) {
	for pos < len(b) && isSpace(b[pos]) {
		pos++
	}
	start, colon = pos, -1
	depth, quoted := 0, false
	for {
		for pos < len(b) && !ssTokenByte[b[pos]] {
			pos++
		}
		if pos >= len(b) {
			return start, colon, pos
		}
		c := b[pos]
		if c == ':' && colon < 0 {
			colon = pos
		}
		pos++
		if quoted {
			quoted = c != '"'
			continue
		}
		switch c {
		case '"':
			quoted = true
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ' ', '\t':
			if depth == 0 {
				return start, colon, pos - 1
			}
		}
	}
}

// ssTokenByte marks the bytes nextSSToken looks at.
var ssTokenByte = [256]bool{' ': true, '\t': true, '(': true, ')': true, '"': true, ':': true}

// extra reads one token; k is the position of its first ':', or -1.
func (t *ssTable) extra(p *packedSocket, tok []byte, k, n int) {
	if k <= 0 {
		return // <->, app_limited, cubic, "send 10Mbps" pieces
	}
	key, val := tok[:k], tok[k+1:]
	out := &t.out
	switch string(key) {
	case "users":
		p.flags |= packedOwners // users:() still says "no owner", not "not asked"
		ok := parseSSUsers(val, func(name []byte, pid, fd int) { out.addOwner(p, name, pid, fd) })
		if !ok {
			t.in.Errorf(n, "bad users field %.120q", tok)
		}
	case "timer":
		t.timer(p, tok, val, n)
	case "ino":
		v, ok := parseUint(val)
		if !ok {
			t.in.Errorf(n, "bad inode %.40q", tok)
			return
		}
		p.inode = v
		if p.uid < 0 && v != 0 {
			// -e prints uid only when it is not 0; ino:0 (TIME-WAIT,
			// orphans, unaccepted) has no owner to speak of
			p.uid = 0
		}
	case "uid":
		v, ok := parseUint(val)
		if !ok || v > 1<<32 {
			t.in.Errorf(n, "bad uid %.40q", tok)
			return
		}
		p.uid = int64(v)
	case "sk":
		out.setInfo(p, "sk", out.strs.add(val))
	case "cgroup":
		out.setInfo(p, "cgroup", out.strs.indexBytes(val, strInfoValue))
	case "skmem":
		out.setInfo(p, "skmem", out.strs.add(bytes.TrimSuffix(bytes.TrimPrefix(val, []byte("(")), []byte(")"))))
	default:
		if len(val) == 0 || val[0] == '(' {
			return // nested congestion-control detail: bbr:(...), keep Info small
		}
		out.setInfoID(p, out.strs.indexBytes(key, strInfoKey), out.strs.add(val))
	}
}

// timer reads timer:(...) into p. The same few hundred timers come back
// row after row, so they are read once each and then looked up by text.
func (t *ssTable) timer(p *packedSocket, tok, val []byte, n int) {
	const bad = 1 << 31
	at, seen := t.timers[string(val)]
	if !seen {
		name, exp, retr, ok := parseSSTimer(val)
		strs := &t.out.strs
		at = t.out.timerAt(packedTimer{
			name:    strs.indexBytes(name, strTimerName),
			raw:     strs.indexBytes(val, strTimerRaw),
			expires: int64(exp),
			retrans: int64(retr),
		})
		if !ok {
			at |= bad
		}
		if t.timers == nil {
			t.timers = make(map[string]uint32, 64)
		}
		if len(t.timers) < maxStringTable {
			t.timers[string(val)] = at
		}
	}
	if at&bad != 0 {
		t.in.Errorf(n, "bad timer %.80q", tok)
	}
	p.timer = 1 + at&^bad
}

// parseSSUsers calls add for each owner in the value of
// users:(("nginx",pid=10,fd=6),("nginx",pid=11,fd=6)), or of the older
// users:(("sshd",1234,3)) without the key names; it reports false for a
// value it could not read to the end.
func parseSSUsers(v []byte, add func(name []byte, pid, fd int)) bool {
	if len(v) < 2 || v[0] != '(' {
		return false
	}
	v = v[1:]
	for {
		if len(v) > 0 && v[0] == ',' {
			v = v[1:]
		}
		if len(v) == 0 {
			return false
		}
		if v[0] == ')' {
			return len(v) == 1
		}
		if len(v) < 2 || v[0] != '(' || v[1] != '"' {
			return false
		}
		v = v[2:]
		q := bytes.IndexByte(v, '"')
		if q < 0 {
			return false
		}
		name := v[:q]
		pid, fd := 0, -1
		v = v[q+1:]
		for i := 0; len(v) > 0 && v[0] == ','; i++ {
			v = v[1:]
			end := 0
			for end < len(v) && v[end] != ',' && v[end] != ')' {
				end++
			}
			if end == len(v) {
				return false
			}
			f := v[:end]
			v = v[end:]
			switch {
			case len(f) >= 4 && f[0] == 'p' && f[1] == 'i' && f[2] == 'd' && f[3] == '=':
				f, i = f[4:], 0
			case len(f) >= 3 && f[0] == 'f' && f[1] == 'd' && f[2] == '=':
				f, i = f[3:], 1
			}
			num, ok := parseUint(f)
			if !ok || num > 1<<31 {
				continue // a field netmortem does not know
			}
			if i == 0 {
				pid = int(num)
			} else if i == 1 {
				fd = int(num)
			}
		}
		if len(v) == 0 || v[0] != ')' {
			return false
		}
		v = v[1:]
		add(name, pid, fd)
	}
}

// parseSSTimer reads the value of timer:(keepalive,115min,0). A timer that
// cannot be fully read still gives its name, and what could be read.
func parseSSTimer(v []byte) (name []byte, expires time.Duration, retrans int, ok bool) {
	v = bytes.TrimSuffix(bytes.TrimPrefix(v, []byte("(")), []byte(")"))
	name, rest, _ := bytes.Cut(v, []byte{','})
	exp, retr, _ := bytes.Cut(rest, []byte{','})
	if len(name) == 0 {
		return name, 0, 0, false
	}
	d, ok := parseSSDuration(exp)
	if !ok {
		return name, 0, 0, false
	}
	r, ok := parseUint(retr)
	if !ok || r > 1<<31 {
		return name, d, 0, false
	}
	return name, d, int(r), true
}

// parseSSCommand reads the recorded ss command line for what the table
// cannot say itself: the socket type when there is no Netid column, the
// state of `ss state X`, and whether rows were selected.
func parseSSCommand(cmd string) ssCommand {
	var c ssCommand
	words, grep := commandWords(cmd)
	c.filtered = grep
	i := toolIndex(words, "ss")
	if i < 0 {
		return c
	}
	var protos []string
	addProto := func(p string) {
		for _, q := range protos {
			if q == p {
				return
			}
		}
		protos = append(protos, p)
	}
	var states []string
	for j := i + 1; j < len(words); j++ {
		w := words[j]
		switch {
		case strings.HasPrefix(w, "--"):
			switch w {
			case "--tcp":
				addProto("tcp")
			case "--udp":
				addProto("udp")
			case "--raw":
				addProto("raw")
			case "--unix":
				addProto("unix")
			case "--sctp":
				addProto("sctp")
			case "--listening":
				c.filtered = true
			}
		case strings.HasPrefix(w, "-") && len(w) > 1:
			for _, o := range w[1:] {
				switch o {
				case 't':
					addProto("tcp")
				case 'u':
					addProto("udp")
				case 'w':
					addProto("raw")
				case 'x':
					addProto("unix")
				case 'S':
					addProto("sctp")
				case 'l':
					c.filtered = true
				case 'A', 'f', 'F', 'N':
					j++ // the option takes a value
				}
			}
		case w == "state" && j+1 < len(words):
			states = append(states, words[j+1])
			j++
			c.filtered = true
		default:
			c.filtered = true // dst, sport, exclude, '( ... )': a selection
		}
	}
	if len(protos) == 1 {
		c.proto = protos[0]
	}
	if len(states) == 1 {
		c.state = ssFilterState(states[0])
	}
	return c
}

// ssFilterState maps the state names of ss's filter language; groups
// (connected, synchronized, bucket, big, all) name no single state.
func ssFilterState(s string) event.State {
	switch s = strings.ToUpper(s); s {
	case "LISTENING":
		return event.StateListen
	case "CLOSED":
		return event.StateClose
	case "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING":
		st, _ := event.ParseState(s)
		return st
	}
	return ""
}
