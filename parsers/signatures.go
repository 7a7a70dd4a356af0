package parsers

import (
	"regexp"
	"strings"
)

// Signature is one log message netmortem recognises: an id the analyzers
// use, the wordings every known version printed (as regular expressions
// whose named groups become LogEvent.Fields), and what it means.
//
// The tables below are data: adding a wording is adding a pattern, and the
// tests read the same tables. Patterns are tried in table order and the
// first signature that matches a line names it, so narrower signatures come
// before the ones whose words they contain (pool exhaustion before timeout).
type Signature struct {
	ID      string
	Meaning string
	// Needles are lowercase literals of which a matching line contains at
	// least one; they spare the regular expressions the many lines that
	// cannot match.
	Needles  []string
	Patterns []string

	res []*regexp.Regexp
}

// KernelSignatures are the kernel messages that matter to TCP incidents.
var KernelSignatures = compileSignatures([]Signature{
	{
		ID:      "tw-bucket-overflow",
		Meaning: "the kernel destroyed a closing connection instead of keeping it in TIME_WAIT: net.ipv4.tcp_max_tw_buckets is reached (kernels since 4.x only count TCPTimeWaitOverflow)",
		Needles: []string{"bucket table overflow"},
		// 2.6 to 3.x print "TCP: time wait bucket table overflow"; OpenVZ
		// kernels add the container, "(CT101)".
		Patterns: []string{`(?:TCP: )?time wait bucket table overflow(?: \(CT(?P<container>\d+)\))?`},
	},
	{
		ID:      "syn-flood",
		Meaning: "a listener's SYN queue is full: the kernel answers with SYN cookies or drops new connection requests (backlog too small, or a SYN flood)",
		Needles: []string{"syn flooding"},
		// 2.6: "possible SYN flooding on port 80. Sending cookies."
		// 3.x: "TCP: TCPv6: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters."
		// 4.x: "TCP: request_sock_TCP: Possible SYN flooding on port 80. Dropping request.  Check SNMP counters."
		// 5.x+: "TCP: request_sock_TCPv6: Possible SYN flooding on port [::1]:8080. Sending cookies."
		Patterns: []string{`(?i)(?:\b(?P<proto>(?:request_sock_)?TCP(?:v6)?): )?possible SYN flooding on port (?:(?P<addr>\[[0-9A-Fa-f:.%\w]*\]|\d{1,3}(?:\.\d{1,3}){3}):)?(?P<port>\d+)\.(?: +(?P<action>Sending cookies|Dropping request))?`},
	},
	{
		ID:      "conntrack-full",
		Meaning: "the netfilter connection-tracking table is full (net.netfilter.nf_conntrack_max): new connections are dropped",
		Needles: []string{"table full"},
		// "ip_conntrack: table full, dropping packet." (2.6),
		// "ip_conntrack: VPS 101 table full, dropping packet." (OpenVZ),
		// "nf_conntrack: nf_conntrack: table full, dropping packet" (4.x+),
		// "nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet" (6.x).
		Patterns: []string{`(?P<table>nf_conntrack|ip_conntrack): (?:nf_conntrack: )?(?:VPS (?P<container>\S+) )?table full(?: in netns (?P<netns>\d+))?, dropping packet`},
	},
	{
		ID:       "orphan-sockets",
		Meaning:  "more orphaned sockets (closed by the application, still in the kernel) than net.ipv4.tcp_max_orphans: the kernel resets them",
		Needles:  []string{"orphaned sockets"},
		Patterns: []string{`too many (?:of )?orphaned sockets`},
	},
	{
		ID:      "tcp-memory-pressure",
		Meaning: "TCP ran out of the memory net.ipv4.tcp_mem allows: the kernel drops data and resets connections",
		Needles: []string{"consider tuning tcp_mem", "out of socket memory"},
		// "Out of socket memory" is the 2.6 wording of the same check.
		Patterns: []string{`out of memory -- consider tuning tcp_mem`, `Out of socket memory`},
	},
	{
		ID:       "file-max-reached",
		Meaning:  "the system-wide file table is full (fs.file-max): every process gets ENFILE",
		Needles:  []string{"file-max limit"},
		Patterns: []string{`VFS: file-max limit (?P<limit>\d+) reached`},
	},
	{
		ID:      "neighbor-overflow",
		Meaning: "the ARP/NDP neighbour table is full (net.ipv4.neigh.default.gc_thresh3): packets to new neighbours are dropped",
		Needles: []string{"table overflow"},
		// "neighbour: arp_cache: neighbor table overflow!" (4.x+),
		// "ipv4: Neighbour table overflow." and "Neighbour table overflow." (2.6).
		Patterns: []string{`(?i)(?:\b(?P<table>arp_cache|ndisc_cache|ipv4|ipv6): )?neighbou?r table overflow`},
	},
	{
		ID:      "oom-kill",
		Meaning: "the kernel's OOM killer killed a process (the whole system or its memory cgroup ran out of memory)",
		Needles: []string{"out of memory", "oom-kill", "killed process"},
		Patterns: []string{
			`(?P<stage>invoked) oom-killer:`,
			`oom-kill:.*\btask=(?P<process>[^,]*),pid=(?P<pid>\d+)`,
			`(?i)out of memory: (?P<stage>Kill(?:ed)?) process (?P<pid>\d+) \((?P<process>[^)]*)\)`,
			`(?P<stage>Killed) process (?P<pid>\d+)(?:, UID \d+,)? \((?P<process>[^)]*)\)`,
		},
	},
})

// AppSignatures are the errors applications print when the network or the
// descriptor table fails them, in the wordings of the Go, Java, Python,
// nginx, HAProxy, Thrift and Redis clients.
var AppSignatures = compileSignatures([]Signature{
	{
		ID:      "enfile",
		Meaning: "the system-wide file table is full (ENFILE, fs.file-max), not the process's own limit",
		Needles: []string{"too many open files in system", "enfile"},
		// "Too many open files in system" (strerror(ENFILE)).
		Patterns: []string{`(?i)too many open files in system`, `\bENFILE\b`},
	},
	{
		ID:      "emfile",
		Meaning: "the process reached its descriptor limit (EMFILE, ulimit -n / LimitNOFILE): accept() and connect() fail",
		Needles: []string{"too many open files", "emfile"},
		// Go: "accept tcp [::]:8080: accept4: too many open files; retrying in 5ms",
		// nginx: "accept4() failed (24: Too many open files)",
		// Python: "[Errno 24] Too many open files", Java: "java.net.SocketException: Too many open files".
		Patterns: []string{`(?i)(?:\b(?P<op>accept4?|socket|open|dial|pipe|epoll_create1?)\b\(?\)?(?: failed)?[: (]+(?:\d+: )?)?too many open files`, `\bEMFILE\b`},
	},
	{
		ID:       "eaddrnotavail",
		Meaning:  "no local address/port could be bound (EADDRNOTAVAIL): ephemeral ports exhausted, often by TIME_WAIT, or a bind to a foreign address",
		Needles:  []string{"cannot assign requested address", "eaddrnotavail"},
		Patterns: []string{`(?i)cannot assign requested address`, `\bEADDRNOTAVAIL\b`},
	},
	{
		ID:      "pool-exhausted",
		Meaning: "a client connection pool had no free connection: requests wait or fail",
		Needles: []string{"pool", "idle object"},
		Patterns: []string{
			`(?i)connection pool exhausted`,                                            // psycopg2 PoolError
			`(?i)timeout waiting for connection from pool`,                             // Apache HttpClient
			`(?i)timeout waiting for idle object`,                                      // commons-pool / DBCP
			`Connection is not available, request timed out after (?P<wait_ms>\d+)ms`,  // HikariCP
			`QueuePool limit of size (?P<size>\d+) overflow (?P<overflow>\d+) reached`, // SQLAlchemy
			`redis: connection pool timeout`,                                           // go-redis
			`Could not get a resource (?:from the pool|since the pool is exhausted)`,   // Jedis
			`(?i)timeout waiting for connection`,
		},
	},
	{
		ID:      "short-read",
		Meaning: "the peer closed before a whole frame arrived (Thrift): typically the server dropped the connection",
		Needles: []string{"tsocket", "bytes"},
		// Python Thrift: "TSocket read 0 bytes"; C++/PHP Thrift:
		// "TSocket: Could not read 4 bytes from host:9090".
		Patterns: []string{`TSocket read (?P<bytes>\d+) bytes`, `Could(?: not)? read (?P<bytes>\d+) bytes`},
	},
	{
		ID:       "closed-by-server",
		Meaning:  "the server closed the connection while the client waited for a reply (redis-py): the request may have run without its reply",
		Needles:  []string{"closed by server"},
		Patterns: []string{`(?i)connection closed by server`},
	},
	{
		ID:      "conn-reset",
		Meaning: "the peer reset the connection (ECONNRESET)",
		Needles: []string{"connection reset", "econnreset"},
		// Go/Python/nginx: "connection reset by peer"; Java: "java.net.SocketException: Connection reset".
		Patterns: []string{`(?i)connection reset(?: by peer)?\b`, `\bECONNRESET\b`},
	},
	{
		ID:       "broken-pipe",
		Meaning:  "the process wrote to a connection the peer had already closed or reset (EPIPE)",
		Needles:  []string{"broken pipe", "epipe"},
		Patterns: []string{`(?i)broken pipe`, `\bEPIPE\b`},
	},
	{
		ID:       "conn-refused",
		Meaning:  "nothing listened at the address, or its backlog rejected the connection (ECONNREFUSED)",
		Needles:  []string{"connection refused", "econnrefused"},
		Patterns: []string{`(?i)connection refused`, `\bECONNREFUSED\b`},
	},
	{
		ID:      "timeout",
		Meaning: "a connect, read or request timed out",
		Needles: []string{"timeout", "timed out", "deadline exceeded", "etimedout"},
		// Go: "i/o timeout", "context deadline exceeded (Client.Timeout exceeded ...)";
		// Java: "Read timed out"; Python: "timed out"; nginx: "upstream timed out (110: Connection timed out)".
		Patterns: []string{`(?i)i/o timeout`, `(?i)timed out`, `context deadline exceeded`, `Client\.Timeout exceeded`, `\bETIMEDOUT\b`, `Layer[4-7] timeout`},
	},
})

func compileSignatures(sigs []Signature) []Signature {
	for i := range sigs {
		for _, p := range sigs[i].Patterns {
			sigs[i].res = append(sigs[i].res, regexp.MustCompile(p))
		}
	}
	return sigs
}

// matchSignature returns the first signature of table that matches text,
// with its named groups. lower is strings.ToLower(text), passed in so that
// a caller matching two tables lowers once.
func matchSignature(table []Signature, text, lower string) (*Signature, map[string]string) {
	for i := range table {
		s := &table[i]
		hit := false
		for _, n := range s.Needles {
			if strings.Contains(lower, n) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		for _, re := range s.res {
			m := re.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			var fields map[string]string
			for j, name := range re.SubexpNames() {
				if name == "" || m[j] == "" {
					continue
				}
				if fields == nil {
					fields = map[string]string{}
				}
				fields[name] = m[j]
			}
			return s, fields
		}
	}
	return nil, nil
}

// SignatureByID looks a signature up in both tables.
func SignatureByID(id string) *Signature {
	for _, t := range [][]Signature{KernelSignatures, AppSignatures} {
		for i := range t {
			if t[i].ID == id {
				return &t[i]
			}
		}
	}
	return nil
}
