// Package event is netmortem's evidence model: the typed records that parsers
// write and analyzers read. It is a leaf package (standard library only) so
// that both halves of the program can depend on it and on nothing else of
// each other.
//
// Every record embeds Meta: where it came from (Ref), when it happened (Time,
// the zero value meaning "unknown"), and which host it describes.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Ref points at the exact place in the bundle that supports a record: a
// 1-based line of a text file or a 1-based frame of a capture (as Wireshark
// numbers them). File is the slash-separated path inside the bundle.
type Ref struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Frame int    `json:"frame,omitempty"`
}

// String renders the reference as file:line, file#frame=N or file.
func (r Ref) String() string {
	switch {
	case r.Line > 0:
		return r.File + ":" + strconv.Itoa(r.Line)
	case r.Frame > 0:
		return r.File + "#frame=" + strconv.Itoa(r.Frame)
	default:
		return r.File
	}
}

// Less orders references by file, then line, then frame.
func (r Ref) Less(o Ref) bool {
	if r.File != o.File {
		return r.File < o.File
	}
	if r.Line != o.Line {
		return r.Line < o.Line
	}
	return r.Frame < o.Frame
}

// Meta is carried by every record.
type Meta struct {
	Ref  Ref
	Time time.Time // UTC; zero means unknown and must be shown as such
	Host string
}

// FormatTime renders a record time for people and JSON: RFC 3339 in UTC with
// the precision the source had, or "unknown".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// State is a TCP socket state with the kernel's names (as ss prints them,
// with the netstat spellings folded in).
type State string

// TCP states. StateUnknown is kept for sockets whose state column could not
// be read, so that they are still counted.
const (
	StateEstablished State = "ESTABLISHED"
	StateSynSent     State = "SYN_SENT"
	StateSynRecv     State = "SYN_RECV"
	StateFinWait1    State = "FIN_WAIT1"
	StateFinWait2    State = "FIN_WAIT2"
	StateTimeWait    State = "TIME_WAIT"
	StateClose       State = "CLOSE"
	StateCloseWait   State = "CLOSE_WAIT"
	StateLastAck     State = "LAST_ACK"
	StateListen      State = "LISTEN"
	StateClosing     State = "CLOSING"
	StateNewSynRecv  State = "NEW_SYN_RECV"
	StateUnknown     State = "UNKNOWN"
)

// ParseState maps the spellings of ss, netstat, lsof and the kernel's hex
// codes' names to a State. ok is false for anything else.
func ParseState(s string) (State, bool) {
	switch s {
	case "ESTAB", "ESTABLISHED":
		return StateEstablished, true
	case "SYN-SENT", "SYN_SENT":
		return StateSynSent, true
	case "SYN-RECV", "SYN_RECV", "SYN_RCVD", "SYN-RCVD":
		return StateSynRecv, true
	case "FIN-WAIT-1", "FIN_WAIT1", "FIN_WAIT_1":
		return StateFinWait1, true
	case "FIN-WAIT-2", "FIN_WAIT2", "FIN_WAIT_2":
		return StateFinWait2, true
	case "TIME-WAIT", "TIME_WAIT":
		return StateTimeWait, true
	case "UNCONN", "CLOSE", "CLOSED":
		return StateClose, true
	case "CLOSE-WAIT", "CLOSE_WAIT":
		return StateCloseWait, true
	case "LAST-ACK", "LAST_ACK":
		return StateLastAck, true
	case "LISTEN":
		return StateListen, true
	case "CLOSING":
		return StateClosing, true
	case "NEW_SYN_RECV", "NEW-SYN-RECV":
		return StateNewSynRecv, true
	}
	return StateUnknown, false
}

// Endpoint is one end of a socket. Addr is valid when the source printed a
// numeric address; Host keeps a name or a truncated address as printed.
// Port 0 with Wildcard means "*".
type Endpoint struct {
	Addr     netip.Addr
	Host     string
	Port     uint16
	Wildcard bool // the port was printed as "*"
	Iface    string
	// Service is the port as printed when the source printed a service
	// name (ss, netstat or lsof run without -n/-P); Port then holds its
	// number only when the name is a well-known one, else 0.
	Service string
}

// String renders the endpoint as ss does: IPv6 in brackets.
func (e Endpoint) String() string {
	h := e.Host
	if e.Addr.IsValid() {
		h = e.Addr.String()
		if e.Addr.Is6() {
			h = "[" + h + "]"
		}
	}
	if h == "" {
		h = "*"
	}
	if e.Iface != "" {
		h += "%" + e.Iface
	}
	if e.Wildcard {
		return h + ":*"
	}
	return h + ":" + strconv.Itoa(int(e.Port))
}

// IP returns the address with IPv4-mapped IPv6 unmapped, so that
// ::ffff:10.0.0.1 and 10.0.0.1 compare equal.
func (e Endpoint) IP() netip.Addr { return e.Addr.Unmap() }

// Owner is a process holding a socket (ss users:(...), netstat PID/Program,
// lsof rows).
type Owner struct {
	Name string
	PID  int
	FD   int // -1 when unknown
}

// Timer is the socket timer as ss -o / netstat -o print it.
type Timer struct {
	Name    string        // keepalive, on, timewait, persist, off, probe
	Expires time.Duration // remaining time; 0 when not printed
	Retrans int
	Raw     string
}

// Socket is one socket in one snapshot.
type Socket struct {
	Meta
	Snapshot int    // index into Evidence.Snapshots
	Proto    string // tcp, tcp6, udp, udp6, unix, ...
	State    State
	Local    Endpoint
	Remote   Endpoint
	RecvQ    int64
	SendQ    int64
	Owners   []Owner
	UID      int // -1 when unknown
	Inode    uint64
	Timer    *Timer
	// Info holds extra per-socket fields a source printed (ss -i tcp_info,
	// -m skmem, /proc/net/tcp retransmits), keyed by the source's own names;
	// nil when there are none.
	Info *SocketInfo
}

// SocketInfo is a socket's extra fields, keyed by the source's own names.
// It is a short list of pairs rather than a map: a socket has two or three
// of them, and a million maps would outweigh the sockets themselves. A nil
// *SocketInfo is empty. Copies of a Socket share it, as they would a map.
// It encodes to JSON as an object with sorted keys, as a map does.
type SocketInfo struct {
	kv []string // key, value, key, value...
}

// NewSocketInfo returns the fields of pairs (key, value, key, value...); a
// key given twice keeps its last value.
func NewSocketInfo(pairs ...string) *SocketInfo {
	i := &SocketInfo{}
	for j := 0; j+1 < len(pairs); j += 2 {
		i.Set(pairs[j], pairs[j+1])
	}
	return i
}

// MakeSocketInfo returns the fields of pairs (key, value, key, value...),
// keeping pairs as its storage: parsers hand it slices of one shared block
// instead of allocating per socket. A key given twice keeps its last value.
func MakeSocketInfo(pairs []string) SocketInfo {
	even := len(pairs) &^ 1
	i := SocketInfo{kv: pairs[:0:even]} // Set appends over pairs, never past them
	for j := 0; j+1 < len(pairs); j += 2 {
		i.Set(pairs[j], pairs[j+1])
	}
	i.kv = i.kv[:len(i.kv):len(i.kv)] // a later Set must not write into a neighbour's pairs
	return i
}

// Get returns the value of key.
func (i *SocketInfo) Get(key string) (string, bool) {
	if i == nil {
		return "", false
	}
	for j := 0; j < len(i.kv); j += 2 {
		if i.kv[j] == key {
			return i.kv[j+1], true
		}
	}
	return "", false
}

// Set sets key to value.
func (i *SocketInfo) Set(key, value string) {
	for j := 0; j < len(i.kv); j += 2 {
		if i.kv[j] == key {
			i.kv[j+1] = value
			return
		}
	}
	if i.kv == nil {
		i.kv = make([]string, 0, 4) // room for the usual two fields
	}
	i.kv = append(i.kv, key, value)
}

// Len returns the number of fields.
func (i *SocketInfo) Len() int {
	if i == nil {
		return 0
	}
	return len(i.kv) / 2
}

// All yields the fields in the order they were first set.
func (i *SocketInfo) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if i == nil {
			return
		}
		for j := 0; j < len(i.kv); j += 2 {
			if !yield(i.kv[j], i.kv[j+1]) {
				return
			}
		}
	}
}

// Map returns the fields as a new map.
func (i *SocketInfo) Map() map[string]string {
	m := make(map[string]string, i.Len())
	for k, v := range i.All() {
		m[k] = v
	}
	return m
}

// MarshalJSON encodes the fields as a JSON object, exactly as the map of
// them would be (HTML escaping is left to the caller's encoder).
func (i *SocketInfo) MarshalJSON() ([]byte, error) {
	if i == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(i.Map()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads a JSON object of strings (or null).
func (i *SocketInfo) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	i.kv = i.kv[:0]
	for _, k := range keys {
		i.Set(k, m[k])
	}
	return nil
}

// Snapshot is a set of sockets observed at one instant by one command.
type Snapshot struct {
	Meta
	Source  string // ss, netstat, lsof, proc-net-tcp
	Command string // the command line, when the file recorded it
	Sockets int    // how many sockets it held
	// Filtered is true when the source was filtered (ss state X, grep), so
	// absence of a state in it proves nothing.
	Filtered bool
}

// Limit is one resource limit of a process or a shell.
type Limit struct {
	Meta
	Text     string // the line as printed, for evidence excerpts (may be empty)
	Resource string // nofile, nproc, ... (ulimit's short names)
	Soft     int64  // -1 is unlimited
	Hard     int64  // -1 is unlimited; -2 unknown
	PID      int    // 0 for a shell's ulimit or a config file
	Scope    string // process, shell, config, systemd
	Unit     string
	// Domain is whom a config limit applies to: the limits.conf domain
	// (user, @group, *, uid range) or the systemd unit; "" otherwise.
	Domain string
}

// Unlimited is the value of an unlimited Limit.
const Unlimited = -1

// Sysctl is one kernel tunable.
type Sysctl struct {
	Meta
	Text  string // the line as printed, for evidence excerpts (may be empty)
	Key   string // dotted: net.ipv4.tcp_max_tw_buckets
	Value string // as printed; multi-value settings keep their spacing folded to one space
}

// Counter is one value of a kernel or socket counter. Cumulative counters
// (netstat -s, nstat, /proc/net/netstat) are Cumulative; gauges (sockstat)
// are not.
type Counter struct {
	Meta
	Text       string // the line as printed, for evidence excerpts (may be empty)
	Group      string // TcpExt, Tcp, IpExt, sockstat TCP, ...
	Name       string // TCPTimeWaitOverflow, ListenOverflows, inuse, tw, ...
	Value      int64
	Cumulative bool
	Snapshot   int // index into Evidence.CounterSets, -1 when none
}

// CounterSet groups counters read at one instant from one file.
type CounterSet struct {
	Meta
	Source string // netstat-s, nstat, proc-net-netstat, proc-net-snmp, sockstat
}

// Process is what a bundle says of one process.
type Process struct {
	Meta
	Text    string // the line as printed, for evidence excerpts (may be empty)
	PID     int
	Name    string
	FDs     int // open descriptors counted; -1 unknown
	FDSize  int // /proc/PID/status FDSize; -1 unknown
	Threads int // -1 unknown
}

// Severity of a log line as the source printed it (kernel level or app level).
type Severity string

// LogEvent is one line (with continuations) of a kernel or application log
// whose meaning netmortem recognised or that carries a time for the timeline.
type LogEvent struct {
	Meta
	Source    string // dmesg, journal, syslog, app
	Signature string // recognised signature id (tw-bucket-overflow, emfile, ...) or ""
	Text      string // the raw line, trimmed
	Level     string // kernel or app level when printed
	Count     int    // occurrences this line stands for (ratelimit suppression adds to it); at least 1
	// Uptime is the boot-relative stamp of raw dmesg lines (HasUptime), used
	// to place them once the boot time is known.
	Uptime    time.Duration
	HasUptime bool
	// NoYear marks a stamp printed without a year (classic syslog): Time
	// holds year 0 until the bundle's clock or --year supplies one.
	NoYear bool
	// NoZone marks a local wall-clock stamp with no zone: Time holds it as
	// if UTC until the bundle's clock or --tz supplies the zone.
	NoZone bool
	// Fields recognised in the line (port, table, peer, ...).
	Fields map[string]string
}

// Clock anchors a host's time: the wall clock at capture (a date file or a
// collection header), its boot time, its zone.
type Clock struct {
	Meta
	Kind string    // date, boot, uptime
	At   time.Time // the instant
	Zone string    // zone name or offset as printed, when known
	// Uptime is how long the host had been up when the clock was read
	// (/proc/uptime); At is then the boot instant when a wall clock was
	// known, zero otherwise.
	Uptime time.Duration
	// NoZone marks At as a local wall-clock time printed without a usable
	// offset (uptime -s, date with a zone abbreviation): it holds the wall
	// time as if UTC until --tz or the bundle's zone places it.
	NoZone bool
}

// Flow is one TCP connection reconstructed from a capture.
type Flow struct {
	Meta                  // Ref points at the first frame, Time at the first packet
	Src, Dst    Endpoint  // Src is the initiator (or first seen when the handshake is missing)
	Start, End  time.Time // first and last packet
	FirstFrame  int
	LastFrame   int
	Packets     int
	Initiated   bool // a SYN from Src was seen
	SynAck      bool
	Established bool // the third ACK of the handshake was seen
	SynRetrans  int
	SynAckRetx  int
	BytesSrc    int64 // payload bytes from Src (sequence space, not captured length)
	BytesDst    int64
	FinSrc      int // frame of Src's first FIN, 0 none
	FinDst      int
	RstSrc      int // frame of Src's first RST, 0 none
	RstDst      int
	Retrans     int
	ZeroWindow  int
	KeepAlives  int
	// StateSrc/StateDst are each side's inferred Linux state at capture end.
	StateSrc State
	StateDst State
	// Anomalies are named patterns with the frame that shows each.
	Anomalies []Anomaly
	Truncated bool // some packet was cut by the snaplen
	// VLAN is the 802.1Q tag stack the flow was seen with, outer first
	// ("10.20"); "81/80" when the two directions carried different tags;
	// "" untagged. Flows that differ only by VLAN are different flows.
	VLAN string
}

// Anomaly is a named pattern in a flow, with the frame that shows it.
type Anomaly struct {
	Kind  string // handshake-then-rst, connect-then-rst, syn-unanswered, synack-retrans, refused, no-response, zero-window, ...
	Frame int
	Note  string
}

// PacketEvent is a notable single packet or pattern not tied to one flow.
type PacketEvent struct {
	Meta
	Kind string
	Src  Endpoint
	Dst  Endpoint
	Note string
}

// Evidence is everything parsed from a bundle. Slices are appended to in a
// deterministic order: files in path order, records in file order.
type Evidence struct {
	Snapshots   []Snapshot
	Sockets     []Socket
	Limits      []Limit
	Sysctls     []Sysctl
	CounterSets []CounterSet
	Counters    []Counter
	Processes   []Process
	Logs        []LogEvent
	Clocks      []Clock
	Flows       []Flow
	Packets     []PacketEvent
}

// AddSnapshot appends a snapshot and returns its index for Socket.Snapshot.
func (e *Evidence) AddSnapshot(s Snapshot) int {
	e.Snapshots = append(e.Snapshots, s)
	return len(e.Snapshots) - 1
}

// AddCounterSet appends a counter set and returns its index.
func (e *Evidence) AddCounterSet(s CounterSet) int {
	e.CounterSets = append(e.CounterSets, s)
	return len(e.CounterSets) - 1
}

// Records counts the records in e.
func (e *Evidence) Records() int {
	return len(e.Snapshots) + len(e.Sockets) + len(e.Limits) + len(e.Sysctls) +
		len(e.CounterSets) + len(e.Counters) + len(e.Processes) + len(e.Logs) +
		len(e.Clocks) + len(e.Flows) + len(e.Packets)
}

// Merge appends o's records to e, re-basing snapshot and counter-set indexes.
func (e *Evidence) Merge(o *Evidence) {
	sb, cb := len(e.Snapshots), len(e.CounterSets)
	e.Snapshots = append(e.Snapshots, o.Snapshots...)
	// One copy of a large socket table, not one per slice growth.
	n := len(e.Sockets)
	e.Sockets = append(e.Sockets, o.Sockets...)
	for i := range e.Sockets[n:] {
		e.Sockets[n+i].Snapshot += sb
	}
	e.CounterSets = append(e.CounterSets, o.CounterSets...)
	for _, c := range o.Counters {
		if c.Snapshot >= 0 {
			c.Snapshot += cb
		}
		e.Counters = append(e.Counters, c)
	}
	e.Limits = append(e.Limits, o.Limits...)
	e.Sysctls = append(e.Sysctls, o.Sysctls...)
	e.Processes = append(e.Processes, o.Processes...)
	e.Logs = append(e.Logs, o.Logs...)
	e.Clocks = append(e.Clocks, o.Clocks...)
	e.Flows = append(e.Flows, o.Flows...)
	e.Packets = append(e.Packets, o.Packets...)
}

// EachMeta calls fn with the metadata of every record of e, so that
// stamping a host or re-basing a file touches every kind at once.
func (e *Evidence) EachMeta(fn func(*Meta)) {
	for i := range e.Snapshots {
		fn(&e.Snapshots[i].Meta)
	}
	for i := range e.Sockets {
		fn(&e.Sockets[i].Meta)
	}
	for i := range e.Limits {
		fn(&e.Limits[i].Meta)
	}
	for i := range e.Sysctls {
		fn(&e.Sysctls[i].Meta)
	}
	for i := range e.CounterSets {
		fn(&e.CounterSets[i].Meta)
	}
	for i := range e.Counters {
		fn(&e.Counters[i].Meta)
	}
	for i := range e.Processes {
		fn(&e.Processes[i].Meta)
	}
	for i := range e.Logs {
		fn(&e.Logs[i].Meta)
	}
	for i := range e.Clocks {
		fn(&e.Clocks[i].Meta)
	}
	for i := range e.Flows {
		fn(&e.Flows[i].Meta)
	}
	for i := range e.Packets {
		fn(&e.Packets[i].Meta)
	}
}

// SetHost stamps every record of e with host.
func (e *Evidence) SetHost(host string) { e.EachMeta(func(m *Meta) { m.Host = host }) }

// ParseError is a positioned parse error: file:line: message (or
// file#frame=N, or file@offset for binary inputs).
type ParseError struct {
	File   string
	Line   int
	Frame  int
	Offset int64 // byte offset, for binary formats; -1 when not used
	Err    error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.Frame > 0:
		return fmt.Sprintf("%s#frame=%d: %v", e.File, e.Frame, e.Err)
	case e.Offset > 0:
		return fmt.Sprintf("%s@%d: %v", e.File, e.Offset, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
}

func (e *ParseError) Unwrap() error { return e.Err }
