package analyzers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	fdNearRatio = threshold("fd-exhaustion.near-ratio", 0.9,
		"open fds / nofile soft limit at or above which a process is near exhaustion; accept() fails with EMFILE at 1.0, and bursts cover the last 10%")
	fdAtRatio = threshold("fd-exhaustion.at-ratio", 0.98,
		"open fds / nofile soft limit at or above which a process is at its limit (a few fds are always in flight)")
	fdMinEMFILE = threshold("fd-exhaustion.min-emfile-lines", 1,
		"EMFILE log lines that alone show exhaustion happened: the kernel only returns EMFILE at the limit")
)

// FDExhaustion finds processes that ran out of file descriptors.
var FDExhaustion = &Analyzer{
	Name: "fd-exhaustion",
	Doc: `process ran out of file descriptors

Compares each process's open fd count (lsof numbered fds, /proc/PID/fd) with
its own nofile soft limit (/proc/PID/limits beats the shell's ulimit), and
looks for EMFILE in application and kernel logs, CLOSE_WAIT sockets holding
fds, and in captures the handshake completing then the first data answered
with RST (accept failed) or SYNs left unanswered.`,
	Run: runFDExhaustion,
}

// fdProc is one process's fd use against its limit.
type fdProc struct {
	proc  event.Process
	limit *event.Limit
	ratio float64
}

func runFDExhaustion(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		procs := fdUse(ev, host)
		emfile := Logs(ev, host, "emfile")
		var worst *fdProc
		for i := range procs {
			if procs[i].limit != nil && (worst == nil || procs[i].ratio > worst.ratio) {
				worst = &procs[i]
			}
		}
		near := worst != nil && worst.ratio >= p.Config.Get(fdNearRatio)
		emfileN := countLogs(emfile)
		if !near && float64(emfileN) < p.Config.Get(fdMinEMFILE) {
			switch {
			case worst != nil:
				p.RuleOut(host, "%s (pid %d) holds %d fds of its %d limit (%.0f%%) and no log line reports EMFILE",
					procName(worst.proc), worst.proc.PID, worst.proc.FDs, worst.limit.Soft, 100*worst.ratio)
			case len(procs) > 0 || hasNofile(ev, host):
				p.RuleOut(host, "no process's fd count could be set against its nofile limit, and no log line reports EMFILE")
			}
			continue
		}
		p.Report(fdFinding(p, host, worst, emfile, emfileN))
	}
	return nil
}

// fdUse pairs each process's highest fd count with its nofile limit.
func fdUse(ev *event.Evidence, host string) []fdProc {
	best := map[int]event.Process{}
	for _, pr := range ev.Processes {
		if pr.Host != host || pr.FDs < 0 {
			continue
		}
		if cur, ok := best[pr.PID]; !ok || pr.FDs > cur.FDs {
			best[pr.PID] = pr
		}
	}
	var byPID = map[int]*event.Limit{}
	var anonProc, shell *event.Limit
	for i := range ev.Limits {
		l := &ev.Limits[i]
		if l.Host != host || l.Resource != "nofile" || l.Soft < 0 {
			continue
		}
		switch {
		case l.Scope == "process" && l.PID > 0:
			byPID[l.PID] = l
		case l.Scope == "process":
			anonProc = l
		case l.Scope == "shell":
			shell = l
		}
	}
	// The fd count's source (a /proc/PID/fd listing) may not name the
	// process; /proc/PID/status or lsof does.
	for _, pr := range ev.Processes {
		if b, ok := best[pr.PID]; ok && pr.Host == host && b.Name == "" && pr.Name != "" {
			b.Name = pr.Name
			best[pr.PID] = b
		}
	}
	var out []fdProc
	for _, pr := range best {
		l := byPID[pr.PID]
		if l == nil && len(best) == 1 {
			// One process in the bundle: a /proc/PID/limits whose pid the
			// file did not say, or else the shell's ulimit, is its limit.
			l = anonProc
			if l == nil {
				l = shell
			}
		}
		fp := fdProc{proc: pr, limit: l}
		if l != nil && l.Soft > 0 {
			fp.ratio = float64(pr.FDs) / float64(l.Soft)
		}
		out = append(out, fp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].proc.PID < out[j].proc.PID })
	return out
}

func hasNofile(ev *event.Evidence, host string) bool {
	for _, l := range ev.Limits {
		if l.Host == host && l.Resource == "nofile" {
			return true
		}
	}
	return false
}

func procName(pr event.Process) string {
	if pr.Name == "" {
		return "process"
	}
	return pr.Name
}

func fdFinding(p *Pass, host string, worst *fdProc, emfile []event.LogEvent, emfileN int) Finding {
	ev := p.Evidence
	f := Finding{
		Host:     host,
		Title:    "file descriptors exhausted",
		CausedBy: []string{"close-wait-leak", "pool-saturation", "healthcheck-starvation"},
	}
	var times []event.LogEvent
	at := false
	pid := 0
	if worst != nil && worst.ratio >= p.Config.Get(fdNearRatio) {
		pr, l := worst.proc, worst.limit
		pid = pr.PID
		at = worst.ratio >= p.Config.Get(fdAtRatio)
		f.Sources = append(f.Sources, "fd count vs limit")
		f.Evidence = append(f.Evidence,
			Evidence{Ref: pr.Ref, Time: pr.Time, Text: pr.Text,
				Note: fmt.Sprintf("%s (pid %d) holds %d open fds", procName(pr), pr.PID, pr.FDs)},
			Evidence{Ref: l.Ref, Time: l.Time, Text: l.Text,
				Note: fmt.Sprintf("its nofile soft limit is %d (%s)", l.Soft, limitSource(l))})
		if l.Scope == "shell" {
			f.Missing = append(f.Missing, fmt.Sprintf("no /proc/%d/limits: the shell's ulimit was used, which the service may not share (collect: cat /proc/%d/limits)", pr.PID, pr.PID))
		}
	} else {
		f.Missing = append(f.Missing, "no fd count set against the process's own limit (collect: ls -l /proc/PID/fd and cat /proc/PID/limits)")
	}
	if emfileN > 0 {
		f.Sources = append(f.Sources, "log EMFILE")
		f.Evidence = append(f.Evidence, logEvidence(emfile, 4, "the process got EMFILE (too many open files)")...)
		times = emfile
	}
	// CLOSE_WAIT sockets are fds the application still holds.
	if v := hostSockView(ev, host); len(v.Snaps) > 0 {
		snap, socks := v.last()
		var cw []event.Socket
		for _, s := range socks {
			if s.State == event.StateCloseWait && (pid == 0 || ownedBy(s, pid)) {
				cw = append(cw, s)
			}
		}
		if len(cw) > 0 {
			f.Sources = append(f.Sources, "CLOSE_WAIT sockets")
			f.Evidence = append(f.Evidence, Evidence{Ref: cw[0].Ref, Time: cw[0].Time, Text: citeSocket(cw[0], v.Source),
				Note: fmt.Sprintf("one of %d CLOSE_WAIT sockets still holding an fd in %s", len(cw), snap.Ref.File)})
		}
	}
	// In a capture: the kernel completed the handshake but accept() failed
	// (reset on first data), or the full accept queue made the listener drop
	// SYNs. Only connections to the process's own listeners count when the
	// socket tables say which ports those are.
	ports := listenPorts(ev, host, pid)
	var resets, unanswered []event.Flow
	for _, fl := range ev.Flows {
		if fl.Host != host || (len(ports) > 0 && !ports[fl.Dst.Port]) {
			continue
		}
		switch {
		case hasAnomaly(fl, "handshake-then-rst"):
			resets = append(resets, fl)
		case hasAnomaly(fl, "syn-unanswered"):
			unanswered = append(unanswered, fl)
		}
	}
	var effect []string
	for _, g := range []struct {
		flows []event.Flow
		kind  string
		note  string
	}{
		{resets, "handshake-then-rst", "connection(s) completed the handshake and were reset on their first data: accept() failed"},
		{unanswered, "syn-unanswered", "connection(s) sent SYNs that were never answered: the listener dropped them"},
	} {
		if len(g.flows) == 0 {
			continue
		}
		a := firstAnomaly(g.flows[0], g.kind)
		f.Evidence = append(f.Evidence, Evidence{Ref: event.Ref{File: g.flows[0].Ref.File, Frame: a.Frame}, Time: g.flows[0].Start,
			Text: fmt.Sprintf("%s -> %s %s", g.flows[0].Src, g.flows[0].Dst, a.Kind),
			Note: fmt.Sprintf("%d %s", len(g.flows), g.note)})
		effect = append(effect, fmt.Sprintf("%d %s", len(g.flows), g.note))
	}
	if len(effect) > 0 {
		f.Sources = append(f.Sources, "capture")
	} else if len(ev.Flows) == 0 {
		f.Missing = append(f.Missing, "no capture in bundle: could not confirm what new connections saw (collect: tcpdump -i any -s 128 -w cap.pcap port PORT)")
	}

	switch {
	case at && emfileN > 0:
		f.Severity = Critical
	case at || emfileN > 0:
		f.Severity = High
	default:
		f.Severity = Medium
	}
	switch {
	case len(f.Sources) >= 3 || (len(f.Sources) >= 2 && (at || emfileN > 0)):
		f.Confidence = HighConfidence
	case at || emfileN > 0:
		f.Confidence = MediumConfidence
	default:
		f.Confidence = LowConfidence
	}
	var ts []event.Meta
	for _, l := range times {
		ts = append(ts, l.Meta)
	}
	for _, e := range f.Evidence {
		ts = append(ts, event.Meta{Time: e.Time})
	}
	f.Window = metaWindow(ts)
	if worst != nil && worst.limit != nil && worst.ratio >= p.Config.Get(fdNearRatio) {
		f.Summary = fmt.Sprintf("%s (pid %d) holds %d of its %d file descriptors (%.0f%%)",
			procName(worst.proc), worst.proc.PID, worst.proc.FDs, worst.limit.Soft, 100*worst.ratio)
	} else {
		f.Summary = "the application reports running out of file descriptors"
	}
	if emfileN > 0 {
		f.Summary += fmt.Sprintf("; %d log line(s) report EMFILE (too many open files)", emfileN)
	}
	if len(effect) > 0 {
		f.Summary += "; in the capture " + strings.Join(effect, ", and ")
	}
	f.Summary += "."
	f.Remediation = []string{
		"Immediate: restart the service or raise its limit live (prlimit --pid PID --nofile=N:N); a raise only buys time if something leaks.",
		"Find what holds the fds: group lsof -p PID by type and TCP state; CLOSE_WAIT means the code never closes sockets its peer closed.",
		"Durable: set LimitNOFILE= in the systemd unit (or limits.conf) to a value sized for peak connections, and bound every pool and queue so that waiting requests time out before the limit is reached.",
	}
	return f
}

func limitSource(l *event.Limit) string {
	switch l.Scope {
	case "process":
		return "the process's own limits"
	case "shell":
		return "a shell's ulimit"
	}
	return l.Scope
}

func ownedBy(s event.Socket, pid int) bool {
	for _, o := range s.Owners {
		if o.PID == pid {
			return true
		}
	}
	return len(s.Owners) == 0
}

// socketText renders a socket as ss would print its main columns.
func socketText(s event.Socket) string {
	return fmt.Sprintf("%s %d %d %s %s", s.State, s.RecvQ, s.SendQ, s.Local, s.Remote)
}

func hasAnomaly(f event.Flow, kinds ...string) bool {
	_, ok := findAnomaly(f, kinds...)
	return ok
}

func firstAnomaly(f event.Flow, kinds ...string) event.Anomaly {
	a, _ := findAnomaly(f, kinds...)
	return a
}

func findAnomaly(f event.Flow, kinds ...string) (event.Anomaly, bool) {
	for _, a := range f.Anomalies {
		for _, k := range kinds {
			if a.Kind == k {
				return a, true
			}
		}
	}
	return event.Anomaly{}, false
}

func metaWindow(ms []event.Meta) Window {
	ts := make([]time.Time, 0, len(ms))
	for _, m := range ms {
		ts = append(ts, m.Time)
	}
	return window(ts...)
}

// listenPorts returns the ports pid listens on in host's best socket view
// (all listeners when pid is 0); empty when the tables don't say.
func listenPorts(ev *event.Evidence, host string, pid int) map[uint16]bool {
	ports := map[uint16]bool{}
	v := hostSockView(ev, host)
	for _, socks := range v.Socks {
		for _, s := range socks {
			if s.State == event.StateListen && (pid == 0 || ownedBy(s, pid)) {
				ports[s.Local.Port] = true
			}
		}
	}
	return ports
}
