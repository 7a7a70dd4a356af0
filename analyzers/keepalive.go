package analyzers

import (
	"fmt"
	"strings"

	"github.com/netmortem/netmortem/parsers/event"
)

// KeepaliveMissing explains why leaked CLOSE_WAIT sockets are never reaped.
var KeepaliveMissing = &Analyzer{
	Name: "keepalive-missing",
	Doc: `leaked connections have no keepalive timer

Informational context for close-wait-leak, reported only on a host where
the leak was found and only when the snapshot shows socket timers (ss -o,
netstat -o, /proc/net/tcp): the leaked CLOSE_WAIT sockets that carry no
timer:(keepalive,...) were opened without SO_KEEPALIVE, so the kernel never
probes their peer and never resets them, whatever
net.ipv4.tcp_keepalive_time says (the sysctls are cited when the bundle has
them: they only apply to sockets that enabled keepalive). When timers were
not collected nothing is reported here; the leak's Missing list says so.
Severity is always info: keepalive would only reap the sockets after
tcp_keepalive_time, the missing close() is the defect.`,
	Run: runKeepaliveMissing,
}

func runKeepaliveMissing(p *Pass) error {
	for _, host := range Hosts(p.Evidence) {
		if p.Prior("close-wait-leak", host) == nil {
			continue
		}
		c, ok := scanCloseWait(p, host)
		if !ok || !c.timers || len(c.read) == 0 {
			continue
		}
		var bare []event.Socket
		for _, s := range c.read {
			if s.Timer == nil || s.Timer.Name != "keepalive" {
				bare = append(bare, s)
			}
		}
		if 2*len(bare) < len(c.read) {
			p.RuleOut(host, "%d of the %d leaked CLOSE_WAIT sockets have a keepalive timer", len(c.read)-len(bare), len(c.read))
			continue
		}
		f := Finding{
			Host:     host,
			Title:    "no TCP keepalive on the leaked connections",
			Severity: Info,
			Sources:  []string{"socket timers"},
		}
		// Cite one socket without a timer and, for contrast, one socket of
		// the same snapshot that shows the column (any timer).
		f.Evidence = append(f.Evidence, Evidence{Ref: bare[0].Ref, Time: bare[0].Time, Text: citeSocket(bare[0], c.view.Source),
			Note: fmt.Sprintf("no timer:(keepalive,...) on this one nor on %d of the %d leaked CLOSE_WAIT sockets", len(bare)-1, len(c.read))})
		_, socks := c.view.last()
		for _, s := range socks {
			if s.Timer != nil && c.view.Source != "proc-net-tcp" {
				f.Evidence = append(f.Evidence, Evidence{Ref: s.Ref, Time: s.Time, Text: citeSocket(s, c.view.Source),
					Note: fmt.Sprintf("the snapshot does print timers (this %s socket has timer:%s)", s.State, s.Timer.Raw)})
				break
			}
		}
		var sys []string
		for _, key := range []string{"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"} {
			if sc, ok := Sysctl(p.Evidence, host, key); ok {
				f.Evidence = append(f.Evidence, Evidence{Ref: sc.Ref, Time: sc.Time, Text: sc.Text,
					Note: "applies only to sockets that set SO_KEEPALIVE"})
				sys = append(sys, strings.TrimPrefix(key, "net.ipv4.")+"="+sc.Value)
			}
		}
		if len(sys) > 0 {
			f.Sources = append(f.Sources, "sysctl")
		}
		f.Confidence = HighConfidence
		f.Window = window(c.snap.Time)
		f.Summary = fmt.Sprintf("%d of the %d leaked CLOSE_WAIT sockets in %s carry no keepalive timer: the application did not set SO_KEEPALIVE, so the kernel never probes their peers and never resets them",
			len(bare), len(c.read), c.snap.Ref.File)
		if len(sys) > 0 {
			f.Summary += " (" + strings.Join(sys, ", ") + " would only apply to sockets that enable it)"
		}
		f.Summary += "."
		f.Remediation = []string{
			"setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1) on each connection, with TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT set per socket (e.g. 600/30/3) rather than relying on the 2-hour system default.",
			"Keepalive only resets the connection; the application must still close() the descriptor when the read fails.",
		}
		p.Report(f)
	}
	return nil
}
