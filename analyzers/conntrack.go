package analyzers

import (
	"fmt"
	"strings"
)

var (
	ctNearRatio = threshold("conntrack-full.near-ratio", 0.9,
		"nf_conntrack_count / nf_conntrack_max at or above which the table is nearly full: at 1.0 every new flow's first packet is dropped, and a burst covers the last 10%")
	ctMinLines = threshold("conntrack-full.min-log-lines", 1,
		"'nf_conntrack: table full, dropping packet' kernel lines that alone show the table filled: the kernel prints it only when it dropped a packet")
)

// ConntrackFull finds hosts whose connection tracking table filled up.
var ConntrackFull = &Analyzer{
	Name: "conntrack-full",
	Doc: `connection tracking table full

With netfilter connection tracking loaded (iptables NAT or state rules,
Docker, kube-proxy), every flow takes an entry in a table of
net.netfilter.nf_conntrack_max entries. When it is full the kernel drops
the first packet of every new flow and prints "nf_conntrack: table full,
dropping packet" (ip_conntrack on old kernels): new connections stall on
SYN retransmissions while established ones keep working.

Evidence: the kernel line in its wordings (the modern one doubles the
"nf_conntrack:" prefix; ratelimit-suppressed lines are counted), and
net.netfilter.nf_conntrack_count against nf_conntrack_max (also
net.nf_conntrack_max and the old net.ipv4.netfilter.ip_conntrack_* keys).
The count is a gauge read at collection time: a low count with kernel
lines means the table has drained since.

A kernel line is high (packets were dropped); a count at the limit without
one is high, near it medium. Needs a kernel log or the two sysctls.`,
	Run: runConntrackFull,
}

func runConntrackFull(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := sigLogs(ev, host, "conntrack-full")
		lines := countLogs(logs)
		count, countSys, hasCount := sysctlInt(ev, host, "net.netfilter.nf_conntrack_count", "net.ipv4.netfilter.ip_conntrack_count")
		max, maxSys, hasMax := sysctlInt(ev, host, "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", "net.ipv4.netfilter.ip_conntrack_max")
		both := hasCount && hasMax && max > 0
		ratio := 0.0
		if both {
			ratio = float64(count) / float64(max)
		}
		byLog := lines > 0 && float64(lines) >= p.Config.Get(ctMinLines)
		near := both && ratio >= p.Config.Get(ctNearRatio)
		if !byLog && !near {
			if both {
				p.RuleOut(host, "nf_conntrack_count %d of nf_conntrack_max %d (%.1f%%), and no kernel line reports the table full", count, max, 100*ratio)
			}
			continue
		}
		f := Finding{Host: host, Title: "connection tracking table full"}
		var parts []string
		mech := 0
		if byLog {
			mech++
			f.Sources = append(f.Sources, "kernel log")
			f.Evidence = append(f.Evidence, logEvidence(logs, 4, "netfilter dropped a new flow's packet: the conntrack table was full")...)
			s := fmt.Sprintf("the kernel dropped packets because the conntrack table was full (%d lines", lines)
			if sup := lines - len(logs); sup > 0 {
				s += fmt.Sprintf(", %d of them suppressed by ratelimit", sup)
			}
			parts = append(parts, s+")")
		}
		switch {
		case both:
			f.Evidence = append(f.Evidence,
				sysctlEvidence(countSys, fmt.Sprintf("%s entries tracked when collected", fmt.Sprint(count))),
				sysctlEvidence(maxSys, fmt.Sprintf("of a maximum of %d (%.1f%%)", max, 100*ratio)))
			if near {
				mech++
				f.Sources = append(f.Sources, "conntrack count vs max")
				parts = append(parts, fmt.Sprintf("%d of %d entries in use (%.0f%%)", count, max, 100*ratio))
			} else {
				parts = append(parts, fmt.Sprintf("by collection the table had drained to %d of %d entries", count, max))
			}
		case hasMax:
			f.Evidence = append(f.Evidence, sysctlEvidence(maxSys, fmt.Sprintf("nf_conntrack_max is %d", max)))
			f.Missing = append(f.Missing, "nf_conntrack_count not in bundle: could not tell how full the table is (collect: sysctl net.netfilter.nf_conntrack_count)")
		default:
			f.Missing = append(f.Missing, "nf_conntrack_count and nf_conntrack_max not in bundle: could not tell how full the table is nor its size (collect: sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max; conntrack -S)")
		}
		if !byLog {
			f.Missing = append(f.Missing, "no kernel line reports the table full: packets may not have been dropped yet (collect: dmesg -T | grep conntrack)")
		}
		switch {
		case byLog, ratio >= 1:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || ratio >= 1, false)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". While the table is full the first packet of every new flow is dropped: new connections stall on SYN retransmissions, established ones keep working."
		size := "net.netfilter.nf_conntrack_max (double it)"
		if hasMax {
			size = fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_max=%d (twice the current %d)", max*2, max)
		}
		f.Remediation = []string{
			fmt.Sprintf("Immediate: raise the table: %s (about 300 bytes of kernel memory per entry) and set the hash size to a quarter of it (/sys/module/nf_conntrack/parameters/hashsize); persist both.", size),
			"Find what fills it: conntrack -L | awk '{print $3, $4, $5}' | sort | uniq -c | sort -rn | head; long-idle entries point at net.netfilter.nf_conntrack_tcp_timeout_established (432000 s by default), which can be lowered to hours.",
			"Durable: exempt high-volume stateless traffic from tracking (iptables -t raw -A PREROUTING ... -j CT --notrack, e.g. DNS or a local proxy), or drop the rules that load conntrack on hosts that need none.",
		}
		p.Report(f)
	}
	return nil
}
