package analyzers

import (
	"fmt"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
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
one is high, near it medium. Lines that name a namespace ("table full in
netns N") belong to the host of the bundle whose own table is full; the
other hosts sharing the kernel hold copies and rule it out. Needs a kernel
log or the two sysctls.`,
	Run: runConntrackFull,
}

// ctTable is one host's conntrack table as the bundle shows it.
type ctTable struct {
	count, max       int64
	countSys, maxSys event.Sysctl
	hasCount, hasMax bool
	both             bool
	ratio            float64
}

func conntrackTable(ev *event.Evidence, host string) ctTable {
	var t ctTable
	t.count, t.countSys, t.hasCount = sysctlInt(ev, host, "net.netfilter.nf_conntrack_count", "net.ipv4.netfilter.ip_conntrack_count")
	t.max, t.maxSys, t.hasMax = sysctlInt(ev, host, "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", "net.ipv4.netfilter.ip_conntrack_max")
	t.both = t.hasCount && t.hasMax && t.max > 0
	if t.both {
		t.ratio = float64(t.count) / float64(t.max)
	}
	return t
}

func runConntrackFull(p *Pass) error {
	ev := p.Evidence
	owners := conntrackNetnsOwners(ev, p.Config.Get(ctNearRatio))
	for _, host := range Hosts(ev) {
		logs, foreign := splitForeignConntrackLogs(sigLogs(ev, host, "conntrack-full"), host, owners)
		t := conntrackTable(ev, host)
		// A line naming a namespace no host of the bundle owns, on a host
		// whose own table is far from full, may be any namespace's: the
		// kernel log is shared. It is shown as ruled out, not reported.
		var unowned []event.LogEvent
		if t.both && t.ratio < p.Config.Get(ctNearRatio) {
			var kept []event.LogEvent
			for _, l := range logs {
				if logNetns(l) != "" {
					unowned = append(unowned, l)
				} else {
					kept = append(kept, l)
				}
			}
			logs = kept
		}
		lines := countLogs(logs)
		byLog := lines > 0 && float64(lines) >= p.Config.Get(ctMinLines)
		near := t.both && t.ratio >= p.Config.Get(ctNearRatio)
		if !byLog && !near {
			var why []string
			if len(foreign) > 0 {
				ns := logNetns(foreign[0])
				why = append(why, fmt.Sprintf("%d kernel line(s) report a full table in netns %s, the table of %s (%s): the kernel log is shared by every namespace of a kernel", countLogs(foreign), ns, owners[ns], foreign[0].Ref))
			}
			if len(unowned) > 0 {
				why = append(why, fmt.Sprintf("%d kernel line(s) report a full table in netns %s (%s), but this host's own table is far from full: the kernel log is shared by every namespace, and the line may be another's", countLogs(unowned), logNetns(unowned[0]), unowned[0].Ref))
			}
			if t.both {
				why = append(why, fmt.Sprintf("nf_conntrack_count %d of nf_conntrack_max %d (%.1f%%)", t.count, t.max, 100*t.ratio))
			}
			if len(why) > 0 {
				tail := ", and no kernel line reports the table full"
				if len(foreign) > 0 || len(unowned) > 0 {
					tail = " in this host's namespace"
				}
				p.RuleOut(host, "%s%s", strings.Join(why, "; "), tail)
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
		case t.both:
			f.Evidence = append(f.Evidence,
				sysctlEvidence(t.countSys, fmt.Sprintf("%s entries tracked when collected", fmt.Sprint(t.count))),
				sysctlEvidence(t.maxSys, fmt.Sprintf("of a maximum of %d (%.1f%%)", t.max, 100*t.ratio)))
			if near {
				mech++
				f.Sources = append(f.Sources, "conntrack count vs max")
				parts = append(parts, fmt.Sprintf("%d of %d entries in use (%.0f%%)", t.count, t.max, 100*t.ratio))
			} else {
				parts = append(parts, fmt.Sprintf("by collection the table had drained to %d of %d entries", t.count, t.max))
			}
		case t.hasMax:
			f.Evidence = append(f.Evidence, sysctlEvidence(t.maxSys, fmt.Sprintf("nf_conntrack_max is %d", t.max)))
			f.Missing = append(f.Missing, "nf_conntrack_count not in bundle: could not tell how full the table is (collect: sysctl net.netfilter.nf_conntrack_count)")
		default:
			f.Missing = append(f.Missing, "nf_conntrack_count and nf_conntrack_max not in bundle: could not tell how full the table is nor its size (collect: sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max; conntrack -S)")
		}
		if !byLog {
			f.Missing = append(f.Missing, "no kernel line reports the table full: packets may not have been dropped yet (collect: dmesg -T | grep conntrack)")
		}
		switch {
		case byLog, t.ratio >= 1:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		f.Confidence = confidenceOf(mech, byLog || t.ratio >= 1, false)
		f.Window = evidenceWindow(f.Evidence)
		f.Summary = strings.Join(parts, "; ") + ". While the table is full the first packet of every new flow is dropped: new connections stall on SYN retransmissions, established ones keep working."
		size := "net.netfilter.nf_conntrack_max (double it)"
		if t.hasMax {
			size = fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_max=%d (twice the current %d)", t.max*2, t.max)
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

// logNetns is the network namespace a "table full in netns N" line names;
// "" for the initial namespace, which the kernel does not name.
func logNetns(l event.LogEvent) string {
	if ns := l.Fields["netns"]; ns != "" {
		return ns
	}
	if _, rest, ok := strings.Cut(l.Text, " in netns "); ok {
		if f := strings.Fields(strings.TrimRight(rest, ",")); len(f) > 0 {
			return strings.TrimRight(f[0], ",")
		}
	}
	return ""
}

// conntrackNetnsOwners assigns each namespace named in "table full in
// netns N" lines to the host of the bundle whose own table is full (the
// fullest, at or above near): the other hosts that share the kernel hold
// copies of the same lines.
func conntrackNetnsOwners(ev *event.Evidence, near float64) map[string]string {
	best := map[string]float64{}
	owners := map[string]string{}
	for _, host := range Hosts(ev) {
		t := conntrackTable(ev, host)
		if !t.both || t.ratio < near {
			continue
		}
		for _, l := range sigLogs(ev, host, "conntrack-full") {
			if ns := logNetns(l); ns != "" && t.ratio > best[ns] {
				best[ns], owners[ns] = t.ratio, host
			}
		}
	}
	return owners
}

// splitForeignConntrackLogs sets aside the lines about a namespace that
// another host of the bundle owns.
func splitForeignConntrackLogs(logs []event.LogEvent, host string, owners map[string]string) (own, foreign []event.LogEvent) {
	for _, l := range logs {
		if o, ok := owners[logNetns(l)]; ok && o != host {
			foreign = append(foreign, l)
			continue
		}
		own = append(own, l)
	}
	return own, foreign
}
