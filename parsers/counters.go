package parsers

// Kernel network counters: netstat -s, nstat -az / -asz, /proc/net/snmp6,
// /proc/net/netstat and /proc/net/snmp, /proc/net/sockstat and sockstat6.
//
// Every source names counters the kernel's way, so that one counter read
// from three files compares: Group is the MIB group (Ip, Icmp, IcmpMsg, Tcp,
// Udp, UdpLite, TcpExt, IpExt, MPTcpExt, Ip6, Icmp6, Udp6, UdpLite6) and
// Name the MIB name (ListenOverflows, TCPTimeWaitOverflow). netstat -s
// prints most counters as English sentences; netstatPhrases turns them back
// into MIB names. A sentence it does not know keeps its words as the name
// (number left out, lowercase): a name with spaces is never a MIB name, so
// such counters are easy to tell apart.
//
// sockstat lines are gauges (Cumulative false) in groups "sockstat sockets",
// "sockstat TCP", "sockstat UDP", "sockstat UDPLITE", "sockstat RAW",
// "sockstat FRAG" and, for /proc/net/sockstat6, "sockstat6 TCP6",
// "sockstat6 UDP6", ...; the names are the file's (inuse, orphan, tw, alloc,
// mem, memory, used). The few MIB values that are states rather than counts
// (Tcp CurrEstab, Ip Forwarding, ...) are not Cumulative either.
//
// procfs reads these files only from a mounted /proc, into fixed structs
// that drop counters it does not know, without line numbers and stopping at
// the first bad line, so the parsers are our own.

import (
	"io"
	"strconv"
	"strings"
)

// counterGauges are the MIB values that are states, not running totals.
var counterGauges = map[string]bool{
	"Ip Forwarding": true, "Ip DefaultTTL": true, "Tcp RtoAlgorithm": true, "Tcp RtoMin": true,
	"Tcp RtoMax": true, "Tcp MaxConn": true, "Tcp CurrEstab": true,
}

func counterCumulative(group, name string) bool { return !counterGauges[group+" "+name] }

// counterGroups are the MIB groups, longest first, to split nstat's and
// /proc/net/snmp6's joined names (TcpExtListenOverflows, Ip6InReceives).
var counterGroups = []string{
	"MPTcpExt", "UdpLite6", "IcmpMsg", "UdpLite", "XfrmExt", "TcpExt", "Icmp6", "IpExt",
	"Icmp", "Sctp", "Udp6", "Ip6", "Tcp", "Udp", "Ip",
}

// splitCounterName splits a joined name at its MIB group. A name under no
// known group keeps it whole, with an empty group.
func splitCounterName(s string) (group, name string) {
	for _, g := range counterGroups {
		if rest, ok := strings.CutPrefix(s, g); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			return g, rest
		}
	}
	return "", s
}

func isCounterIdent(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// --- netstat -s ---------------------------------------------------------

var netstatSParser = &Parser{
	Kind:    "netstat-s",
	Title:   "netstat -s: protocol statistics in words (net-tools)",
	Command: "LC_ALL=C netstat -s",
	Detect:  detectNetstatS,
	Parse:   parseNetstatS,
}

// netstatPhrases maps, per section, the sentences of net-tools' statistics.c
// to MIB names. A sentence is matched lowercase, its number replaced by #
// and a final period dropped. Both the wordings of net-tools 1.60 (RHEL
// 5-7: "segments retransmited", "active connections openings") and of 2.10
// ("segments retransmitted", "active connection openings") are here.
// net-tools has no sentence for newer counters (TCPTimeWaitOverflow,
// TCPLossProbes, every IpExt one): it prints them as "Name: value", which
// needs no table.
var netstatPhrases = map[string]map[string]string{
	"Ip": {
		"# total packets received":                "InReceives",
		"# with invalid headers":                  "InHdrErrors",
		"# with invalid addresses":                "InAddrErrors",
		"# forwarded":                             "ForwDatagrams",
		"# with unknown protocol":                 "InUnknownProtos",
		"# incoming packets discarded":            "InDiscards",
		"# incoming packets delivered":            "InDelivers",
		"# requests sent out":                     "OutRequests",
		"# outgoing packets dropped":              "OutDiscards",
		"# dropped because of missing route":      "OutNoRoutes",
		"# fragments dropped after timeout":       "ReasmTimeout",
		"# reassemblies required":                 "ReasmReqds",
		"# packets reassembled ok":                "ReasmOKs",
		"# packet reassembles failed":             "ReasmFails",
		"# packet reassemblies failed":            "ReasmFails",
		"# fragments received ok":                 "FragOKs", // 1.60's words for FragOKs
		"# outgoing packets fragmented ok":        "FragOKs",
		"# fragments failed":                      "FragFails",
		"# outgoing packets failed fragmentation": "FragFails",
		"# fragments created":                     "FragCreates",
		"default ttl is #":                        "DefaultTTL",
	},
	"Ip6": {
		"# total packets received":                "InReceives",
		"# with invalid headers":                  "InHdrErrors",
		"# with packets too big":                  "InTooBigErrors",
		"# incoming packets with no route":        "InNoRoutes",
		"# with invalid addresses":                "InAddrErrors",
		"# with unknown protocol":                 "InUnknownProtos",
		"# with truncated packets":                "InTruncatedPkts",
		"# incoming packets discarded":            "InDiscards",
		"# incoming packets delivered":            "InDelivers",
		"# forwarded":                             "OutForwDatagrams",
		"# requests sent out":                     "OutRequests",
		"# outgoing packets dropped":              "OutDiscards",
		"# dropped because of missing route":      "OutNoRoutes",
		"# fragments dropped after timeout":       "ReasmTimeout",
		"# reassemblies required":                 "ReasmReqds",
		"# packets reassembled ok":                "ReasmOKs",
		"# packet reassembles failed":             "ReasmFails",
		"# packet reassemblies failed":            "ReasmFails",
		"# fragments received ok":                 "FragOKs",
		"# outgoing packets fragmented ok":        "FragOKs",
		"# fragments failed":                      "FragFails",
		"# outgoing packets failed fragmentation": "FragFails",
		"# fragments created":                     "FragCreates",
		"# incoming multicast packets":            "InMcastPkts",
		"# outgoing multicast packets":            "OutMcastPkts",
	},
	"Icmp": {
		"# icmp messages received":    "InMsgs",
		"# input icmp message failed": "InErrors",
		"# icmp messages sent":        "OutMsgs",
		"# icmp messages failed":      "OutErrors",
	},
	"Icmp6": {
		"# icmp messages received":    "InMsgs",
		"# input icmp message failed": "InErrors",
		"# icmp messages sent":        "OutMsgs",
		"# icmp messages failed":      "OutErrors",
	},
	"Tcp": {
		"# active connections openings":   "ActiveOpens",
		"# active connection openings":    "ActiveOpens",
		"# active opens":                  "ActiveOpens",
		"# passive connection openings":   "PassiveOpens",
		"# passive opens":                 "PassiveOpens",
		"# failed connection attempts":    "AttemptFails",
		"# connection resets received":    "EstabResets",
		"# connections established":       "CurrEstab",
		"# segments received":             "InSegs",
		"# segments send out":             "OutSegs",
		"# segments sent out":             "OutSegs",
		"# segments retransmited":         "RetransSegs",
		"# segments retransmitted":        "RetransSegs",
		"# bad segments received":         "InErrs",
		"# resets sent":                   "OutRsts",
		"# segments received with errors": "InErrs",
	},
	"Udp": {
		"# packets received":                 "InDatagrams",
		"# packets to unknown port received": "NoPorts",
		"# packet receive errors":            "InErrors",
		"# packets sent":                     "OutDatagrams",
		"# packets send":                     "OutDatagrams",
		"# receive buffer errors":            "RcvbufErrors",
		"# send buffer errors":               "SndbufErrors",
	},
	"TcpExt": {
		"# syn cookies sent":                                                         "SyncookiesSent",
		"# syn cookies received":                                                     "SyncookiesRecv",
		"# invalid syn cookies received":                                             "SyncookiesFailed",
		"# resets received for embryonic syn_recv sockets":                           "EmbryonicRsts",
		"# packets pruned from receive queue because of socket buffer overrun":       "PruneCalled",
		"# packets pruned from receive queue":                                        "RcvPruned",
		"# packets dropped from out-of-order queue because of socket buffer overrun": "OfoPruned",
		"# icmp packets dropped because they were out-of-window":                     "OutOfWindowIcmps",
		"# icmp packets dropped because socket was locked":                           "LockDroppedIcmps",
		"# tcp sockets finished time wait in fast timer":                             "TW",
		"# time wait sockets recycled by time stamp":                                 "TWRecycled",
		"# tcp sockets finished time wait in slow timer":                             "TWKilled",
		"# passive connections rejected because of time stamp":                       "PAWSPassive",
		"# active connections rejected because of time stamp":                        "PAWSActive",
		"# packets rejects in established connections because of timestamp":          "PAWSEstab",
		"# packets rejected in established connections because of timestamp":         "PAWSEstab",
		"# delayed acks sent":                                                        "DelayedACKs",
		"# delayed acks further delayed because of locked socket":                    "DelayedACKLocked",
		"quick ack mode was activated # times":                                       "DelayedACKLost",
		"# times the listen queue of a socket overflowed":                            "ListenOverflows",
		"# syns to listen sockets dropped":                                           "ListenDrops",
		"# syns to listen sockets ignored":                                           "ListenDrops",
		"# packets directly queued to recvmsg prequeue":                              "TCPPrequeued",
		"# bytes directly in process context from backlog":                           "TCPDirectCopyFromBacklog",
		"# bytes directly received in process context from prequeue":                 "TCPDirectCopyFromPrequeue",
		"# packets dropped from prequeue":                                            "TCPPrequeueDropped",
		"# packet headers predicted":                                                 "TCPHPHits",
		"# packets header predicted and directly queued to user":                     "TCPHPHitsToUser",
		"# packet headers predicted and directly queued to user":                     "TCPHPHitsToUser",
		"ran # times out of system memory during packet sending":                     "SockMallocOOM",
		"# acknowledgments not containing data payload received":                     "TCPPureAcks",
		"# acknowledgments not containing data received":                             "TCPPureAcks",
		"# predicted acknowledgments":                                                "TCPHPAcks",
		"# times recovered from packet loss due to fast retransmit":                  "TCPRenoRecovery",
		"# times recovered from packet loss by selective acknowledgements":           "TCPSackRecovery",
		"# times recovered from packet loss due to sack data":                        "TCPSackRecovery",
		"# bad sack blocks received":                                                 "TCPSACKReneging",
		"detected reordering # times using fack":                                     "TCPFACKReorder",
		"detected reordering # times using sack":                                     "TCPSACKReorder",
		"detected reordering # times using time stamp":                               "TCPTSReorder",
		"detected reordering # times using reno fast retransmit":                     "TCPRenoReorder",
		"# congestion windows fully recovered without slow start":                    "TCPFullUndo",
		"# congestion windows fully recovered":                                       "TCPFullUndo",
		"# congestion windows partially recovered using hoe heuristic":               "TCPPartialUndo",
		"# congestion window recovered without slow start using dsack":               "TCPDSACKUndo",
		"# congestion window recovered using dsack":                                  "TCPDSACKUndo",
		"# congestion windows recovered without slow start by dsack":                 "TCPDSACKUndo",
		"# congestion windows recovered without slow start after partial ack":        "TCPLossUndo",
		"# congestion windows recovered after partial ack":                           "TCPLossUndo",
		"# retransmits lost":                                                         "TCPLostRetransmits",
		"# timeouts after reno fast retransmit":                                      "TCPRenoFailures",
		"# timeouts after sack recovery":                                             "TCPSackFailures",
		"# timeouts in loss state":                                                   "TCPLossFailures",
		"# fast retransmits":                                                         "TCPFastRetrans",
		"# forward retransmits":                                                      "TCPForwardRetrans",
		"# retransmits in slow start":                                                "TCPSlowStartRetrans",
		"# other tcp timeouts":                                                       "TCPTimeouts",
		"# reno fast retransmits failed":                                             "TCPRenoRecoveryFail",
		"# classic reno fast retransmits failed":                                     "TCPRenoRecoveryFail",
		"# sack retransmits failed":                                                  "TCPSackRecoveryFail",
		"# times receiver scheduled too late for direct processing":                  "TCPSchedulerFailed",
		"# packets collapsed in receive queue due to low socket buffer":              "TCPRcvCollapsed",
		"# dsacks sent for old packets":                                              "TCPDSACKOldSent",
		"# dsacks sent for out of order packets":                                     "TCPDSACKOfoSent",
		"# dsacks received":                                                          "TCPDSACKRecv",
		"# dsacks for out of order packets received":                                 "TCPDSACKOfoRecv",
		"# connections reset due to unexpected syn":                                  "TCPAbortOnSyn",
		"# connections reset due to unexpected data":                                 "TCPAbortOnData",
		"# connections reset due to early user close":                                "TCPAbortOnClose",
		"# connections aborted due to memory pressure":                               "TCPAbortOnMemory",
		"# connections aborted due to timeout":                                       "TCPAbortOnTimeout",
		"# connections aborted after user close in linger timeout":                   "TCPAbortOnLinger",
		"# times unabled to send rst due to no memory":                               "TCPAbortFailed",
		"# times unable to send rst due to no memory":                                "TCPAbortFailed",
		"tcp ran low on memory # times":                                              "TCPMemoryPressures",
		"# tcp data loss events":                                                     "TCPLoss",
	},
}

// netstatHistogram maps the ICMP histogram lines ("destination
// unreachable: 107") under "ICMP input histogram:" (in) and "ICMP output
// histogram:" (out) to MIB names.
var netstatHistogram = map[string]map[string]string{
	"Icmp in": {
		"destination unreachable": "InDestUnreachs", "timeout in transit": "InTimeExcds",
		"wrong parameters": "InParmProbs", "source quenchs": "InSrcQuenchs",
		"source quenches": "InSrcQuenchs", "redirects": "InRedirects", "echo requests": "InEchos",
		"echo replies": "InEchoReps", "timestamp request": "InTimestamps",
		"timestamp reply": "InTimestampReps", "address mask request": "InAddrMasks",
		"address mask replies": "InAddrMaskReps",
	},
	"Icmp out": {
		"destination unreachable": "OutDestUnreachs", "time exceeded": "OutTimeExcds",
		"wrong parameters": "OutParmProbs", "source quench": "OutSrcQuenchs",
		"redirect": "OutRedirects", "echo request": "OutEchos", "echo requests": "OutEchos",
		"echo replies": "OutEchoReps", "timestamp requests": "OutTimestamps",
		"timestamp replies": "OutTimestampReps", "address mask requests": "OutAddrMasks",
		"address mask replies": "OutAddrMaskReps",
	},
	"Icmp6 in": {
		"destination unreachable": "InDestUnreachs", "packets too big": "InPktTooBigs",
		"received icmpv6 time exceeded": "InTimeExcds", "parameter problem": "InParmProblems",
		"echo requests": "InEchos", "echo replies": "InEchoReplies",
		"group member queries": "InGroupMembQueries", "group member responses": "InGroupMembResponses",
		"group member reductions": "InGroupMembReductions", "router solicits": "InRouterSolicits",
		"router advertisement": "InRouterAdvertisements", "neighbour solicits": "InNeighborSolicits",
		"neighbour advertisement": "InNeighborAdvertisements", "redirects": "InRedirects",
	},
	"Icmp6 out": {
		"destination unreachable": "OutDestUnreachs", "packets too big": "OutPktTooBigs",
		"sent icmpv6 time exceeded": "OutTimeExcds", "parameter problem": "OutParmProblems",
		"echo requests": "OutEchos", "echo replies": "OutEchoReplies",
		"group member queries": "OutGroupMembQueries", "group member responses": "OutGroupMembResponses",
		"group member reductions": "OutGroupMembReductions", "router solicits": "OutRouterSolicits",
		"router advertisement": "OutRouterAdvertisements", "neighbor solicits": "OutNeighborSolicits",
		"neighbor advertisements": "OutNeighborAdvertisements", "redirects": "OutRedirects",
	},
}

// netstatSections are the sections net-tools prints; Tcp6 (netstat -s -6)
// shows the Tcp MIB, which IPv4 and IPv6 share, and UdpLite counts what
// Udp does.
var netstatSections = map[string]string{
	"Ip": "Ip", "Icmp": "Icmp", "IcmpMsg": "IcmpMsg", "Tcp": "Tcp", "Udp": "Udp",
	"UdpLite": "UdpLite", "TcpExt": "TcpExt", "IpExt": "IpExt", "MPTcpExt": "MPTcpExt",
	"Ip6": "Ip6", "Icmp6": "Icmp6", "Udp6": "Udp6", "UdpLite6": "UdpLite6", "Tcp6": "Tcp",
	"Sctp": "Sctp",
}

// netstatPhraseTable is the sentence table of a group (UdpLite and the
// IPv6 UDP groups read as Udp).
func netstatPhraseTable(group string) map[string]string {
	switch group {
	case "UdpLite", "Udp6", "UdpLite6":
		return netstatPhrases["Udp"]
	}
	return netstatPhrases[group]
}

func detectNetstatS(head []byte) bool {
	lines := sysFirstLines(head, 2, "")
	if len(lines) == 0 {
		return false
	}
	sec, ok := strings.CutSuffix(lines[0], ":")
	if _, known := netstatSections[sec]; !ok || !known {
		return false
	}
	return len(lines) == 1 || lines[1][0] == ' ' || lines[1][0] == '\t' ||
		strings.HasSuffix(lines[1], ":") // an empty section (UdpLite:) before the next
}

// netstatPhrase splits a sentence line into its number and its key:
// lowercase words with the number as #, no final period. ok is false when
// no word is a number.
func netstatPhrase(s string) (key string, v int64, ok bool) {
	f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(s), "."))
	at := -1
	for i, w := range f {
		if n, err := sysValue(w); err == nil {
			at, v = i, n
			break
		}
	}
	if at < 0 {
		return "", 0, false
	}
	f[at] = "#"
	return strings.ToLower(strings.Join(f, " ")), v, true
}

func parseNetstatS(in *Input, r io.Reader) {
	c := newSysCounters(in, "netstat-s")
	group, hist := "", ""
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimRight(string(line), " \t")
		t := strings.TrimSpace(s)
		if t == "" {
			return
		}
		if s[0] != ' ' && s[0] != '\t' {
			sec, ok := strings.CutSuffix(t, ":")
			if !ok || strings.ContainsAny(sec, " \t") {
				in.Errorf(n, "not a netstat -s section title")
				return
			}
			group, hist = sec, ""
			if g, known := netstatSections[sec]; known {
				group = g
			}
			return
		}
		if group == "" {
			in.Errorf(n, "counter line before any section title")
			return
		}
		switch strings.ToLower(t) {
		case "icmp input histogram:":
			hist = "in"
			return
		case "icmp output histogram:":
			hist = "out"
			return
		case "forwarding is enabled":
			c.add(n, t, group, "Forwarding", 2, false)
			return
		case "forwarding is disabled":
			c.add(n, t, group, "Forwarding", 1, false)
			return
		}
		if k, vs, ok := strings.Cut(t, ":"); ok {
			k = strings.TrimSpace(k)
			if v, err := sysValue(strings.TrimSpace(vs)); err == nil {
				name := ""
				if hist != "" {
					name = netstatHistogram[group+" "+hist][strings.ToLower(k)]
				}
				switch {
				case name != "":
				case isCounterIdent(k):
					name = k
					// snmp6 names carry their group: Ip6InOctets
					if rest, cut := strings.CutPrefix(k, group); cut && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
						name = rest
					}
				case hist != "":
					name = hist + " " + strings.ToLower(k)
				default:
					name = strings.ToLower(k)
				}
				c.add(n, t, group, name, v, counterCumulative(group, name))
				return
			}
		}
		key, v, ok := netstatPhrase(t)
		if !ok {
			if strings.HasPrefix(strings.ToLower(t), "rto algorithm is") {
				return // a setting in words, no number to keep
			}
			in.Errorf(n, "netstat -s line has no number")
			return
		}
		hist = ""
		name := netstatPhraseTable(group)[key]
		if name == "" {
			name = strings.Join(strings.Fields(strings.ReplaceAll(key, "#", "")), " ")
		}
		c.add(n, t, group, name, v, counterCumulative(group, name))
	})
}

// --- /proc/net/snmp and /proc/net/netstat --------------------------------

var procNetSNMPParser = &Parser{
	Kind:    "proc-net-snmp",
	Title:   "/proc/net/snmp and /proc/net/netstat: header and value line pairs",
	Command: "cat /proc/net/snmp /proc/net/netstat",
	Detect:  detectProcNetSNMP,
	Parse:   parseProcNetSNMP,
}

// detectProcNetSNMP wants "Group: Name Name ..." with a known group and
// then, when the head holds it (TcpExt's header alone is longer than the
// head), "Group: 1 2 ..." with the same group.
func detectProcNetSNMP(head []byte) bool {
	lines := strings.SplitN(string(head), "\n", 3)
	g, rest, ok := strings.Cut(strings.TrimRight(lines[0], "\r"), ": ")
	if _, known := netstatSections[g]; !ok || !known || g == "Tcp6" {
		return false
	}
	f := strings.Fields(rest)
	if len(f) < 2 {
		return false
	}
	for _, w := range f[:len(f)-1] { // the last may be cut
		if !isCounterIdent(w) {
			return false
		}
	}
	if len(lines) < 3 {
		return true
	}
	g2, rest2, ok := strings.Cut(lines[1], ": ")
	if !ok || g2 != g {
		return false
	}
	_, err := sysValue(strings.Fields(rest2 + " x")[0])
	return err == nil
}

func parseProcNetSNMP(in *Input, r io.Reader) {
	c := newSysCounters(in, "")
	type header struct {
		group string
		names []string
		line  int
	}
	var pending *header
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			return // 2.6 kernels start with an empty line
		}
		group, rest, ok := strings.Cut(s, ":")
		if !ok || strings.ContainsAny(group, " \t") {
			in.Errorf(n, "not a \"Group: ...\" line")
			return
		}
		f := strings.Fields(rest)
		if pending == nil || pending.group != group {
			if pending != nil {
				in.Errorf(pending.line, "%s header line has no value line after it", sysClip(pending.group))
			}
			if len(f) > 0 {
				if _, err := sysValue(f[0]); err == nil {
					in.Errorf(n, "%s value line has no header line before it", sysClip(group))
					pending = nil
					return
				}
			}
			pending = &header{group: group, names: f, line: n}
			if c.source == "" {
				c.source = "proc-net-snmp"
				if strings.HasSuffix(group, "Ext") {
					c.source = "proc-net-netstat"
				}
			}
			return
		}
		h := pending
		pending = nil
		if len(f) != len(h.names) {
			in.Errorf(n, "%s has %d names on line %d but %d values", sysClip(group), len(h.names), h.line, len(f))
			return
		}
		for i, w := range f {
			v, err := sysValue(w)
			if err != nil {
				in.Errorf(n, "%s %s value %q is not a number", sysClip(group), sysClip(h.names[i]), sysClip(w))
				continue
			}
			// The value line is hundreds of numbers: the excerpt pairs
			// the one value with its name instead.
			c.add(n, group+": "+h.names[i]+" "+w, group, h.names[i], v, counterCumulative(group, h.names[i]))
		}
	})
	if pending != nil {
		in.Errorf(pending.line, "%s header line has no value line after it", sysClip(pending.group))
	}
}

// --- nstat and /proc/net/snmp6 -----------------------------------------

var nstatParser = &Parser{
	Kind:    "nstat",
	Title:   "nstat -az / nstat -asz (iproute2) and /proc/net/snmp6: one counter a line",
	Command: "nstat -asz",
	Detect:  detectNstat,
	Parse:   parseNstat,
}

func detectNstat(head []byte) bool {
	lines := sysFirstLines(head, 2, "")
	if len(lines) == 0 {
		return false
	}
	if strings.TrimSpace(lines[0]) == "#kernel" {
		return true
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || len(f) > 3 {
			return false
		}
		if g, _ := splitCounterName(f[0]); g == "" || !isCounterIdent(f[0]) {
			return false
		}
		if _, err := sysValue(f[1]); err != nil {
			return false
		}
	}
	return len(lines) == 2
}

// nstatCumulative says whether nstat printed running totals. With -a it
// prints them; without, increments since its last run. Without a
// collection header the file is taken as totals: that is what
// collectors ask for (nstat -az) and what /proc/net/snmp6 holds.
func nstatCumulative(command string) bool {
	for _, t := range strings.Fields(command) {
		if strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.ContainsRune(t, 'a') {
			return true
		}
		if t == "--ignore" || t == "--absolute" {
			return true
		}
	}
	return command == "" || !strings.Contains(command, "nstat")
}

// parseNstat reads "Name value [rate]" lines. nstat's "#kernel" (and any
// other '#' line) is a comment.
func parseNstat(in *Input, r io.Reader) {
	cumulative := nstatCumulative(in.Header.Command)
	var c *sysCounters
	in.Lines(r, func(n int, line []byte) {
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			if c == nil && s == "#kernel" {
				c = newSysCounters(in, "nstat")
			}
			return
		}
		if c == nil {
			c = newSysCounters(in, "proc-net-snmp6")
		}
		f := strings.Fields(s)
		if len(f) < 2 || len(f) > 3 {
			in.Errorf(n, "nstat line has %d fields, want name value [rate]", len(f))
			return
		}
		v, err := sysValue(f[1])
		if err != nil {
			in.Errorf(n, "counter %s value %q is not a number", sysClip(f[0]), sysClip(f[1]))
			return
		}
		if len(f) == 3 {
			if _, err := strconv.ParseFloat(f[2], 64); err != nil {
				in.Errorf(n, "counter %s rate %q is not a number", sysClip(f[0]), sysClip(f[2]))
			}
		}
		g, name := splitCounterName(f[0])
		c.add(n, s, g, name, v, cumulative && counterCumulative(g, name))
	})
}

// --- /proc/net/sockstat and sockstat6 -----------------------------------

var sockstatParser = &Parser{
	Kind:    "sockstat",
	Title:   "/proc/net/sockstat and /proc/net/sockstat6: socket counts by protocol",
	Command: "cat /proc/net/sockstat /proc/net/sockstat6",
	Detect:  detectSockstat,
	Parse:   parseSockstat,
}

func detectSockstat(head []byte) bool {
	lines := sysFirstLines(head, 1, "")
	if len(lines) == 0 {
		return false
	}
	f := strings.Fields(lines[0])
	if len(f) < 3 {
		return false
	}
	switch {
	case f[0] == "sockets:" && f[1] == "used":
	case (f[0] == "TCP:" || f[0] == "TCP6:" || f[0] == "UDP6:") && f[1] == "inuse":
	default:
		return false
	}
	_, err := sysValue(f[2])
	return err == nil
}

func parseSockstat(in *Input, r io.Reader) {
	var c *sysCounters
	in.Lines(r, func(n int, line []byte) {
		text := strings.TrimSpace(string(line))
		f := strings.Fields(text)
		if len(f) == 0 {
			return
		}
		proto, ok := strings.CutSuffix(f[0], ":")
		if !ok || len(f)%2 != 1 {
			in.Errorf(n, "sockstat line is not \"PROTO: name value ...\"")
			return
		}
		group := "sockstat " + proto
		if strings.HasSuffix(proto, "6") {
			group = "sockstat6 " + proto
		}
		if c == nil {
			c = newSysCounters(in, strings.Fields(group)[0])
		}
		for i := 1; i+1 < len(f); i += 2 {
			v, err := sysValue(f[i+1])
			if err != nil {
				in.Errorf(n, "%s %s value %q is not a number", sysClip(proto), sysClip(f[i]), sysClip(f[i+1]))
				continue
			}
			c.add(n, text, group, f[i], v, false)
		}
	})
}
