package parsers

// Registry is every parser, in detection order: binary formats first, then
// text formats with strong signatures, loose text formats (application
// logs) last. The groups live beside their parsers.
var Registry = concat(
	captureParsers, // pcap, pcapng (capture.go)
	systemParsers,  // limits, sysctl, counters, /proc files (system.go)
	socketParsers,  // ss, netstat, /proc/net/tcp, lsof, fd listings (sockets.go)
	logParsers,     // kernel logs, syslog, journald, app logs, date/uptime (logs.go)
)

func concat(groups ...[]*Parser) []*Parser {
	var all []*Parser
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// Lookup returns the parser of a kind, or nil.
func Lookup(kind string) *Parser {
	for _, p := range Registry {
		if p.Kind == kind {
			return p
		}
	}
	return nil
}

// Detect returns the first parser in Registry whose detector accepts head.
func Detect(head []byte) *Parser {
	if len(head) > DetectBytes {
		head = head[:DetectBytes]
	}
	for _, p := range Registry {
		if p.Detect(head) {
			return p
		}
	}
	return nil
}
