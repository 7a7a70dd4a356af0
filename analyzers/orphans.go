package analyzers

import (
	"fmt"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	orphanNearRatio = threshold("orphan-sockets.near-ratio", 0.25,
		"orphaned sockets / net.ipv4.tcp_max_orphans at or above which the kernel may already kill orphans: its check shifts the count left by up to 2 for sockets that retransmit or got soft errors, so trouble starts at a quarter of the limit")
	orphanAtRatio = threshold("orphan-sockets.at-ratio", 1,
		"orphaned sockets / net.ipv4.tcp_max_orphans at or above which every closing socket is reset")
	orphanMinLines = threshold("orphan-sockets.min-log-lines", 1,
		"'too many orphaned sockets' kernel lines that alone show the kernel reset orphans")
)

// OrphanSockets finds hosts with more orphaned sockets than the kernel
// keeps.
var OrphanSockets = &Analyzer{
	Name: "orphan-sockets",
	Doc: `too many orphaned sockets

A socket the application closed while data or the FIN handshake was still
in flight lives on, owned by no file (FIN_WAIT1, FIN_WAIT2, LAST_ACK,
CLOSING): an orphan. Past net.ipv4.tcp_max_orphans (and, for sockets that
retransmit or got soft errors, past a half or a quarter of it) the kernel
resets them instead, prints "too many orphaned sockets", and the data they
still held is lost.

Evidence: the kernel line (ratelimit-suppressed lines counted), the
sockstat TCP orphan count (ss -s orphaned) against net.ipv4.tcp_max_orphans,
and the FIN_WAIT1/LAST_ACK sockets in a socket table as context.

A kernel line or the count at the limit is high, at a quarter of it
medium. Needs a kernel log or /proc/net/sockstat with the sysctl.`,
	Run: runOrphanSockets,
}

func runOrphanSockets(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := sigLogs(ev, host, "orphan-sockets")
		lines := countLogs(logs)
		orph, hasOrph := gaugePeak(ev, host, "sockstat TCP", "orphan")
		if o2, ok := gaugePeak(ev, host, "ss-s", "tcp_orphaned"); ok && (!hasOrph || o2.Value > orph.Value) {
			orph, hasOrph = o2, true
		}
		max, maxSys, hasMax := sysctlInt(ev, host, "net.ipv4.tcp_max_orphans")
		ratio := 0.0
		if hasOrph && hasMax && max > 0 {
			ratio = float64(orph.Value) / float64(max)
		}
		byLog := lines > 0 && float64(lines) >= p.Config.Get(orphanMinLines)
		near := ratio > 0 && ratio >= p.Config.Get(orphanNearRatio)
		if !byLog && !near {
			if hasOrph && hasMax {
				p.RuleOut(host, "%d orphaned sockets of net.ipv4.tcp_max_orphans %d (%.2f%%), and no kernel line reports too many orphaned sockets", orph.Value, max, 100*ratio)
			}
			continue
		}
		f := Finding{Host: host, Title: "too many orphaned sockets"}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "kernel log")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "the kernel reset orphaned sockets")...)
			parts = append(parts, fmt.Sprintf("the kernel reported too many orphaned sockets %d times", lines))
		}
		if hasOrph {
			note := fmt.Sprintf("%d orphaned sockets", orph.Value)
			if hasMax {
				note += fmt.Sprintf(", %.0f%% of net.ipv4.tcp_max_orphans %d", 100*ratio, max)
			}
			f.Evidence = append(f.Evidence, Evidence{Ref: orph.Ref, Time: orph.Time, Text: counterText(ev, orph), Note: note})
			parts = append(parts, note)
			if near {
				mech++
				f.Sources = append(f.Sources, "sockstat orphan vs limit")
			}
		} else {
			f.Missing = append(f.Missing, "no orphan count: could not tell how many orphans there are (collect: cat /proc/net/sockstat)")
		}
		if hasMax {
			f.Evidence = append(f.Evidence, sysctlEvidence(maxSys, fmt.Sprintf("net.ipv4.tcp_max_orphans is %d", max)))
		} else {
			f.Missing = append(f.Missing, "net.ipv4.tcp_max_orphans not in bundle (collect: sysctl net.ipv4.tcp_max_orphans)")
		}
		if c, ok := peakState(ev, host, event.StateFinWait1); ok && c.N > 0 {
			f.Evidence = append(f.Evidence, stateEvidence(c, fmt.Sprintf("one of %d FIN_WAIT1 sockets in %s: closed with data or a FIN not yet acknowledged", c.N, c.Snap.Ref.File)))
		}
		switch {
		case byLog, ratio >= p.Config.Get(orphanAtRatio):
			f.Severity = High
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || ratio >= p.Config.Get(orphanAtRatio), false)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". Past the limit the kernel resets orphaned sockets: data the application wrote before close() is lost and peers see resets."
		f.Remediation = []string{
			"Immediate: find whose orphans they are: ss -tan state fin-wait-1 state last-ack | awk '{print $5}' | sort | uniq -c | sort -rn | head (peers that stopped reading or went away).",
			"Shorten their life: lower net.ipv4.tcp_orphan_retries (FIN retransmissions of orphans) and net.ipv4.tcp_fin_timeout (FIN_WAIT2).",
			"Durable: raise net.ipv4.tcp_max_orphans only with memory to match (each orphan can hold up to its send buffer), and check net.ipv4.tcp_mem.",
		}
		p.Report(f)
	}
	return nil
}
