package parsers

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// socketParsers read socket tables and per-process descriptor listings.
// Order matters only between formats that share a first word: ss -s and
// the netstat, /proc/net/tcp and ss tables each have a header no other
// format starts with; lsof's looser headerless rows come after them, and
// the fd listings last.
var socketParsers = []*Parser{
	ssSummaryParser,
	netstatParser,
	procNetTCPParser,
	ssParser,
	lsofParser,
	fdListParser,
	fdCountParser,
}

// The socket parsers are fed dumps of up to millions of rows, so their hot
// paths work on []byte, avoid regular expressions, and share repeated
// strings (states, process names, service names) through an interner.

// maxIntern bounds an interner so that a file full of unique values does
// not turn the table into a copy of the file.
const maxIntern = 1 << 14

// interner returns one shared string per distinct byte sequence it has
// seen, up to maxIntern of them. It belongs to one Parse call: parsers run
// concurrently, so nothing here is global.
type interner struct{ m map[string]string }

func (t *interner) get(b []byte) string {
	if s, ok := t.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if t.m == nil {
		t.m = make(map[string]string, 64)
	}
	if len(t.m) < maxIntern {
		t.m[s] = s
	}
	return s
}

// isSpace reports the separators of column output: space, tab, and the
// other ASCII control whitespace.
func isSpace(c byte) bool { return spaceByte[c] }

// spaceByte is isSpace as a table: column scans run over every byte of
// tables of millions of rows.
var spaceByte = [256]bool{' ': true, '\t': true, '\v': true, '\f': true, '\r': true}

// nextField returns the next whitespace-separated field of line at or
// after pos, and the position just after it. An empty field means the line
// is exhausted.
func nextField(line []byte, pos int) (field []byte, start, end int) {
	// ss and netstat pad their columns with long runs of spaces: skip
	// them eight at a time.
	for pos+8 <= len(line) && binary.LittleEndian.Uint64(line[pos:]) == 0x2020202020202020 {
		pos += 8
	}
	for pos < len(line) && isSpace(line[pos]) {
		pos++
	}
	start = pos
	for pos < len(line) && !isSpace(line[pos]) {
		pos++
	}
	return line[start:pos], start, pos
}

// splitFields appends the whitespace-separated fields of line to dst.
func splitFields(dst [][]byte, line []byte) [][]byte {
	pos := 0
	for {
		f, _, end := nextField(line, pos)
		if len(f) == 0 {
			return dst
		}
		dst = append(dst, f)
		pos = end
	}
}

// isBlank reports a line holding only whitespace.
func isBlank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// firstLine returns the first line of head that is not blank, without its
// line ending, and the rest of head after it.
func firstLine(head []byte) (line, rest []byte) {
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			line, head = head, nil
		} else {
			line, head = head[:i], head[i+1:]
		}
		if !isBlank(line) {
			return bytes.TrimRight(line, "\r"), head
		}
	}
	return nil, nil
}

// parseUint reads a decimal number that fills b.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	if len(b) < 20 { // cannot overflow: no division per digit
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
		return n, true
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseInt reads a decimal int that fills b, optionally signed.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	n, ok := parseUint(b)
	if !ok || n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// parseHex reads a hexadecimal number that fills b.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	return n, true
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseState maps a printed state to a State without allocating.
func parseState(b []byte) (event.State, bool) {
	if len(b) > 16 {
		return event.StateUnknown, false
	}
	return event.ParseState(string(b))
}

// kernelStates are the TCP states by the kernel's numbers, as
// /proc/net/tcp prints them in hex and netstat prints raw sockets' states.
var kernelStates = [...]event.State{
	1: event.StateEstablished, 2: event.StateSynSent, 3: event.StateSynRecv,
	4: event.StateFinWait1, 5: event.StateFinWait2, 6: event.StateTimeWait,
	7: event.StateClose, 8: event.StateCloseWait, 9: event.StateLastAck,
	10: event.StateListen, 11: event.StateClosing, 12: event.StateNewSynRecv,
}

func kernelState(n uint64) (event.State, bool) {
	if n == 0 || n >= uint64(len(kernelStates)) {
		return event.StateUnknown, false
	}
	return kernelStates[n], true
}

// parseIPv4 reads a dotted quad without allocating.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var a [4]byte
	part, digits, v := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && v == 0 {
				return netip.Addr{}, false // leading zero
			}
			v = v*10 + int(c-'0')
			digits++
			if digits > 3 || v > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || part == 3 {
				return netip.Addr{}, false
			}
			a[part] = byte(v)
			part, digits, v = part+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if part != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(v)
	return netip.AddrFrom4(a), true
}

// splitIPv4Port reads the common 10.0.0.1:80 in one pass; it reports
// false for anything else, which the general path then reads.
func splitIPv4Port(b []byte) (netip.Addr, uint16, bool) {
	var a [4]byte
	i := 0
	for part := 0; part < 4; part++ {
		start, v := i, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 3 {
			v = v*10 + int(b[i]-'0')
			i++
		}
		if i == start || v > 255 || (b[start] == '0' && i-start > 1) || i == len(b) {
			return netip.Addr{}, 0, false
		}
		a[part] = byte(v)
		if sep := b[i]; part < 3 && sep != '.' || part == 3 && sep != ':' {
			return netip.Addr{}, 0, false
		}
		i++
	}
	port, ok := parseUint(b[i:])
	if !ok || port > 65535 {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4(a), uint16(port), true
}

// parseAddr reads a numeric IPv4 or IPv6 address (without zone).
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, ':') < 0 {
		return parseIPv4(b)
	}
	if bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	return a, err == nil
}

// wellKnownPorts maps the service names ss, netstat and lsof print for
// the ports incidents involve most (IANA names, as in /etc/services). It is
// a fixed table: parsers never read the running machine's files.
var wellKnownPorts = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25,
	"domain": 53, "bootps": 67, "bootpc": 68, "tftp": 69, "http": 80,
	"kerberos": 88, "pop3": 110, "sunrpc": 111, "auth": 113, "ntp": 123,
	"netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap2": 143,
	"imap": 143, "snmp": 161, "snmp-trap": 162, "ldap": 389, "https": 443,
	"microsoft-ds": 445, "kpasswd": 464, "submissions": 465, "syslog": 514,
	"submission": 587, "ipp": 631, "ldaps": 636, "rsync": 873,
	"imaps": 993, "pop3s": 995, "socks": 1080, "openvpn": 1194,
	"ms-sql-s": 1433, "nfs": 2049, "mysql": 3306, "postgresql": 5432,
	"amqp": 5672, "x11": 6000, "redis": 6379, "http-alt": 8080,
	"webcache": 8080, "zabbix-agent": 10050, "zabbix-trapper": 10051,
	"memcache": 11211,
}

// parseEndpoint reads an address:port as ss, netstat and lsof print it:
// 10.0.0.1:80, [::1]:22, [::ffff:10.0.0.1]:80, :::22, *:*, 0.0.0.0%eth0:67,
// [fe80::1]%eth0:123, localhost:ssh, localhost.localdo:35450, *:111[rpcbind]
// (lsof +M). A numeric address goes to Addr (IPv4-mapped addresses stay
// mapped), "*" to Host "*", anything else (a name, a truncated address) to
// Host.
func parseEndpoint(b []byte, it *interner) (event.Endpoint, bool) {
	var e event.Endpoint
	p, ok := splitEndpoint(b)
	if !ok {
		return e, false
	}
	e.Addr, e.Port, e.Wildcard = p.addr, p.port, p.wildcard
	if len(p.iface) > 0 {
		e.Iface = it.get(p.iface)
	}
	if len(p.service) > 0 {
		e.Service = it.get(p.service)
		e.Port = wellKnownPorts[e.Service]
	}
	if len(p.host) > 0 {
		e.Host = it.get(p.host)
	}
	return e, true
}

// endpointParts is an endpoint as parseEndpoint reads it, its strings still
// bytes of the line: host is set when addr is not (a name, "*").
type endpointParts struct {
	addr                 netip.Addr
	host, iface, service []byte
	port                 uint16
	wildcard             bool
}

// splitEndpoint is parseEndpoint without making strings.
func splitEndpoint(b []byte) (endpointParts, bool) {
	var e endpointParts
	if len(b) == 0 {
		return e, false
	}
	if a, port, ok := splitIPv4Port(b); ok {
		e.addr, e.port = a, port
		return e, true
	}
	return splitAnyEndpoint(b)
}

// splitAnyEndpoint is splitEndpoint's general path.
func splitAnyEndpoint(b []byte) (endpointParts, bool) {
	var e endpointParts
	if len(b) == 0 {
		return e, false
	}
	var host, port, iface []byte
	if b[0] == '[' {
		j := bytes.IndexByte(b, ']')
		if j < 0 {
			return e, false
		}
		host, b = b[1:j], b[j+1:]
		if len(b) > 0 && b[0] == '%' {
			k := bytes.LastIndexByte(b, ':')
			if k < 0 {
				return e, false
			}
			iface, b = b[1:k], b[k:]
		}
		if len(b) == 0 || b[0] != ':' {
			return e, false
		}
		port = b[1:]
	} else {
		k := bytes.LastIndexByte(b, ':')
		if k < 0 {
			return e, false
		}
		host, port = b[:k], b[k+1:]
	}
	if p := bytes.IndexByte(host, '%'); p >= 0 {
		host, iface = host[:p], host[p+1:]
	}
	e.iface = iface
	// lsof +M appends the portmapper registration: 2049[nfs].
	if k := bytes.IndexByte(port, '['); k > 0 && port[len(port)-1] == ']' {
		port = port[:k]
	}
	switch {
	case len(port) == 1 && port[0] == '*':
		e.wildcard = true
	case isDigits(port):
		n, ok := parseUint(port)
		if !ok || n > 65535 {
			return e, false
		}
		e.port = uint16(n)
	case len(port) > 0:
		e.service = port
	default:
		return e, false
	}
	switch {
	case len(host) == 0:
		return e, false
	case len(host) == 1 && host[0] == '*':
		e.host = host
	default:
		if a, ok := parseAddr(host); ok {
			e.addr = a
		} else {
			e.host = host
		}
	}
	return e, true
}

// parseSSDuration reads the timer expiry ss prints (print_ms_timer in
// iproute2): 115min, 1min30sec, 59sec, 200ms, and the odd "5.123ms" that
// means 5 s and 123 ms.
func parseSSDuration(b []byte) (time.Duration, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var d time.Duration
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		whole, ok := parseUint(b[:i])
		if !ok || whole > 1<<31 {
			return 0, false
		}
		b = b[i:]
		var frac []byte
		if len(b) > 0 && b[0] == '.' {
			j := 1
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			frac, b = b[1:j], b[j:]
		}
		j := 0
		for j < len(b) && (b[j] < '0' || b[j] > '9') {
			j++
		}
		unit := b[:j]
		b = b[j:]
		switch {
		case frac != nil && string(unit) == "ms":
			ms, ok := parseUint(frac)
			if !ok || len(frac) > 3 {
				return 0, false
			}
			for k := len(frac); k < 3; k++ {
				ms *= 10
			}
			d += time.Duration(whole)*time.Second + time.Duration(ms)*time.Millisecond
		case frac != nil:
			return 0, false
		case string(unit) == "min":
			d += time.Duration(whole) * time.Minute
		case string(unit) == "sec":
			d += time.Duration(whole) * time.Second
		case string(unit) == "ms":
			d += time.Duration(whole) * time.Millisecond
		default:
			return 0, false
		}
	}
	return d, true
}

// parseSeconds reads netstat's "7176.33" seconds.
func parseSeconds(b []byte) (time.Duration, bool) {
	whole, frac, _ := bytes.Cut(b, []byte{'.'})
	w, ok := parseUint(whole)
	if !ok || w > 1<<31 {
		return 0, false
	}
	d := time.Duration(w) * time.Second
	if len(frac) > 0 {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		f, ok := parseUint(frac)
		if !ok {
			return 0, false
		}
		for k := len(frac); k < 9; k++ {
			f *= 10
		}
		d += time.Duration(f)
	}
	return d, true
}

// commandWords returns the words of the first command of a shell command
// line, and whether a later stage of the pipeline drops rows (grep, awk,
// head...), which makes any socket table taken from it filtered.
func commandWords(cmd string) (words []string, filteredPipe bool) {
	stages := strings.Split(cmd, "|")
	for _, st := range stages[1:] {
		w := strings.Fields(st)
		if len(w) == 0 {
			continue
		}
		switch w[0] {
		case "grep", "egrep", "fgrep", "rg", "awk", "gawk", "mawk", "sed", "head", "tail", "uniq":
			filteredPipe = true
		}
	}
	return strings.Fields(stages[0]), filteredPipe
}

// toolIndex returns the index of the word naming tool (ss, /usr/sbin/ss),
// or -1: commands may be prefixed with sudo, timeout 5, nsenter ...
func toolIndex(words []string, tool string) int {
	for i, w := range words {
		if w == tool || strings.HasSuffix(w, "/"+tool) {
			return i
		}
	}
	return -1
}
