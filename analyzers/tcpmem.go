package analyzers

import (
	"fmt"
	"strings"
)

var (
	tcpMemMinLines = threshold("tcp-memory-pressure.min-log-lines", 1,
		"'out of memory -- consider tuning tcp_mem' kernel lines that alone show TCP ran out of memory")
	tcpMemMinDelta = threshold("tcp-memory-pressure.min-pressure-delta", 1,
		"rise of TcpExt TCPMemoryPressures (entries into pressure) or TCPAbortOnMemory between two counter sets of one source that shows pressure")
)

// TCPMemoryPressure finds hosts where TCP as a whole ran short of memory.
var TCPMemoryPressure = &Analyzer{
	Name: "tcp-memory-pressure",
	Doc: `TCP memory pressure

All TCP sockets of a host share a memory budget, net.ipv4.tcp_mem, three
numbers in pages: below the first nothing happens; above the second the
kernel is under pressure and shrinks every socket's buffers (throughput
drops, receive queues are pruned); above the third new allocations fail,
sockets are aborted and the kernel prints "out of memory -- consider tuning
tcp_mem" (older kernels: "Out of socket memory").

Evidence: the kernel line, the sockstat TCP mem figure (pages) against
tcp_mem's second and third values, and rises of TcpExt TCPMemoryPressures
and TCPAbortOnMemory between two counter sets of one source.

Above the third value, a kernel line or aborts are high; above the second
value or a pressure counter rise alone is medium. Needs /proc/net/sockstat
with net.ipv4.tcp_mem, a kernel log, or two counter sets.`,
	Run: runTCPMemoryPressure,
}

func runTCPMemoryPressure(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := sigLogs(ev, host, "tcp-memory-pressure")
		lines := countLogs(logs)
		mem, hasMem := gaugePeak(ev, host, "sockstat TCP", "mem")
		var lim []int64
		limSys, hasLim := sysctlAny(ev, host, "net.ipv4.tcp_mem")
		if hasLim {
			if v, ok := sysctlInts(limSys); ok && len(v) == 3 {
				lim = v
			} else {
				hasLim = false
			}
		}
		press, hasPress := bestDelta(ev, host, "TcpExt TCPMemoryPressures")
		abort, _ := bestDelta(ev, host, "TcpExt TCPAbortOnMemory")

		byLog := lines > 0 && float64(lines) >= p.Config.Get(tcpMemMinLines)
		minDelta := p.Config.Get(tcpMemMinDelta)
		byPress := press.Delta > 0 && float64(press.Delta) >= minDelta
		above := hasMem && hasLim && mem.Value > lim[1]
		overMax := hasMem && hasLim && mem.Value >= lim[2]
		// The kernel also counts TCPAbortOnMemory for sockets aborted when
		// there are too many orphans, so aborts alone do not show memory
		// pressure: another memory signal must agree.
		abortRose := abort.Delta > 0 && float64(abort.Delta) >= minDelta
		byAbort := abortRose && (byLog || byPress || above)
		if !byLog && !byPress && !byAbort && !above {
			if abortRose {
				p.RuleOut(host, "TcpExt TCPAbortOnMemory rose by %d %s, but no kernel line reports TCP out of memory and TCPMemoryPressures did not rise: the kernel counts aborts for too many orphaned sockets there too", abort.Delta, abort.Over())
				continue
			}
			if hasMem && hasLim {
				why := fmt.Sprintf("TCP uses %d pages, under the pressure threshold %d of net.ipv4.tcp_mem (%s)", mem.Value, lim[1], limSys.Value)
				if t := flatText(press); hasPress && t != "" {
					why += "; " + t
				}
				p.RuleOut(host, "%s, and no kernel line reports TCP out of memory", why)
			}
			continue
		}
		f := Finding{Host: host, Title: "TCP memory pressure"}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "kernel log")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "TCP ran out of memory: sockets were aborted")...)
			parts = append(parts, fmt.Sprintf("the kernel reported TCP out of memory %d times", lines))
		}
		if byPress || byAbort {
			mech++
			f.Sources = append(f.Sources, "TcpExt counters")
			if byPress {
				f.Evidence = append(f.Evidence, counterEvidence(ev, press, "times TCP entered memory pressure")...)
				parts = append(parts, fmt.Sprintf("TCP entered memory pressure %d times %s", press.Delta, press.Over()))
			}
			if byAbort {
				f.Evidence = append(f.Evidence, counterEvidence(ev, abort, "connections aborted for lack of memory")...)
				parts = append(parts, fmt.Sprintf("%d connections aborted for lack of memory %s", abort.Delta, abort.Over()))
			}
		}
		switch {
		case hasMem && hasLim:
			note := fmt.Sprintf("TCP uses %d pages; pressure starts above %d and allocations fail at %d", mem.Value, lim[1], lim[2])
			f.Evidence = append(f.Evidence,
				Evidence{Ref: mem.Ref, Time: mem.Time, Text: counterText(ev, mem), Note: note},
				sysctlEvidence(limSys, fmt.Sprintf("net.ipv4.tcp_mem is %s pages (min, pressure, max)", limSys.Value)))
			if above {
				mech++
				f.Sources = append(f.Sources, "sockstat mem vs tcp_mem")
			}
			parts = append(parts, fmt.Sprintf("%d pages in use against tcp_mem %s", mem.Value, limSys.Value))
		case hasMem:
			f.Missing = append(f.Missing, "net.ipv4.tcp_mem not in bundle: could not compare TCP's memory use with its limits (collect: sysctl net.ipv4.tcp_mem)")
		default:
			f.Missing = append(f.Missing, "no sockstat: could not read TCP's memory use (collect: cat /proc/net/sockstat)")
		}
		switch {
		case byLog, byAbort, overMax:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || byAbort || overMax || byPress, false)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". Under pressure the kernel shrinks every socket's buffers; past the maximum it aborts connections."
		f.Remediation = []string{
			"Immediate: find the sockets holding memory: ss -tmn | sort by skmem, large Recv-Q (an application not reading) or Send-Q (a peer not reading).",
			"Durable: raise net.ipv4.tcp_mem (pages; the default is sized from RAM at boot) if the host has memory to spare, and cap per-socket buffers (net.ipv4.tcp_rmem / tcp_wmem maxima) if a few sockets hold most of it.",
		}
		p.Report(f)
	}
	return nil
}
