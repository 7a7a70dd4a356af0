package parsers

import (
	"bytes"
	"io"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// ssSummaryParser reads `ss -s`: socket totals per transport and the TCP
// states the kernel counts, as gauges (they are not cumulative):
//
//	Total: 34
//	TCP:   30 (estab 14, closed 12, orphaned 0, timewait 12)
//
//	Transport Total     IP        IPv6
//	TCP	  18        13        5
//
// Older iproute2 printed "Total: 190 (kernel 220)", "synrecv 0, timewait
// 12/0), ports 0" and a "*" transport row with "-" cells. The TCP line gives
// tcp_total, tcp_estab, tcp_closed, tcp_orphaned, tcp_timewait...; the
// table gives transport_tcp_total, transport_tcp_ip, transport_tcp_ipv6...
var ssSummaryParser = &Parser{
	Kind:    "ss-summary",
	Title:   "socket summary (ss -s)",
	Command: "ss -s",
	Detect:  detectSSSummary,
	Parse:   parseSSSummary,
}

func detectSSSummary(head []byte) bool {
	line, rest := firstLine(head)
	if !bytes.HasPrefix(line, []byte("Total: ")) {
		return false
	}
	f, _, _ := nextField(line, len("Total: "))
	if !isDigits(f) {
		return false
	}
	line, _ = firstLine(rest)
	return len(line) == 0 || bytes.HasPrefix(line, []byte("TCP:"))
}

type ssSummary struct {
	in  *Input
	set int // current counter set, -1 before the first Total line
}

func parseSSSummary(in *Input, r io.Reader) {
	s := &ssSummary{in: in, set: -1}
	in.Lines(r, s.line)
}

func (s *ssSummary) add(n int, name string, v []byte) bool {
	val, ok := parseInt(v)
	if !ok {
		s.in.Errorf(n, "bad value %.20q for %s", v, name)
		return false
	}
	if s.set < 0 {
		s.set = s.in.Out.AddCounterSet(event.CounterSet{Meta: s.in.Meta(n), Source: "ss-s"})
	}
	s.in.Out.Counters = append(s.in.Out.Counters, event.Counter{
		Meta: s.in.Meta(n), Group: "ss-s", Name: name, Value: val, Snapshot: s.set,
	})
	return true
}

func (s *ssSummary) line(n int, line []byte) {
	if isBlank(line) {
		return
	}
	fields := splitFields(nil, line)
	switch first := string(fields[0]); {
	case first == "Total:":
		s.set = s.in.Out.AddCounterSet(event.CounterSet{Meta: s.in.Meta(n), Source: "ss-s"})
		if len(fields) < 2 {
			s.in.Errorf(n, "total without a value")
			return
		}
		s.add(n, "total", fields[1])
		// (kernel 220)
		if len(fields) >= 4 && string(fields[2]) == "(kernel" {
			s.add(n, "total_kernel", bytes.TrimSuffix(fields[3], []byte(")")))
		}
	case first == "TCP:":
		s.tcpLine(n, line[bytes.Index(line, []byte("TCP:"))+4:])
	case first == "Transport":
		// the table header
	case len(fields) == 4 && (first == "*" || first == strings.ToUpper(first)):
		name := "transport_" + strings.ToLower(first)
		if first == "*" {
			name = "transport_all"
		}
		for i, col := range []string{"total", "ip", "ipv6"} {
			if string(fields[i+1]) == "-" {
				continue // old ss printed "-" where it had no figure
			}
			s.add(n, name+"_"+col, fields[i+1])
		}
	default:
		s.in.Errorf(n, "unexpected line in ss -s output: %.80q", line)
	}
}

// tcpLine reads "   30 (estab 14, closed 12, orphaned 0, synrecv 0,
// timewait 12/0), ports 0".
func (s *ssSummary) tcpLine(n int, b []byte) {
	total, rest, _ := bytes.Cut(bytes.TrimSpace(b), []byte{' '})
	s.add(n, "tcp_total", total)
	rest = bytes.TrimSpace(rest)
	inner, after, ok := bytes.Cut(bytes.TrimPrefix(rest, []byte("(")), []byte(")"))
	if !ok {
		if len(rest) > 0 {
			s.in.Errorf(n, "unreadable TCP summary %.80q", b)
		}
		return
	}
	for _, part := range bytes.Split(inner, []byte(",")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(part), []byte{' '})
		if !ok {
			s.in.Errorf(n, "unreadable TCP summary item %.40q", part)
			continue
		}
		name := "tcp_" + string(k)
		if a, b, two := bytes.Cut(v, []byte{'/'}); two {
			s.add(n, name, a)
			s.add(n, name+"_kernel", b) // old ss: the slab's count
			continue
		}
		s.add(n, name, v)
	}
	// ", ports 0"
	after = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(after), []byte(",")))
	if k, v, ok := bytes.Cut(after, []byte{' '}); ok && string(k) == "ports" {
		s.add(n, "tcp_ports", bytes.TrimSpace(v))
	}
}
