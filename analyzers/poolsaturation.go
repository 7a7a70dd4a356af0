package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

var (
	poolMinLines = threshold("pool-saturation.min-lines", 1,
		"log lines saying a connection pool ran dry (exhausted, timed out waiting for a connection) that show saturation: pools log it only when a caller could not get a connection")
	poolMinStats = threshold("pool-saturation.min-stats-lines", 2,
		"pool statistics lines showing every connection in use with callers waiting needed to call the pool saturated: one sample can be a momentary peak")
	poolLatencyGrowth = threshold("pool-saturation.latency-growth", 3,
		"ratio of the median request duration in the last third of the access log to the first third that counts as latency growth (requests queueing for the pool)")
	poolMinLatencyLines = threshold("pool-saturation.min-latency-lines", 9,
		"request lines with a duration needed before latency growth is computed (three per third)")
	poolMinWaiting = threshold("pool-saturation.min-waiting", 10,
		"handlers holding a request whose client left (CLOSE_WAIT, Recv-Q 0, on a listening port) needed to infer a saturated pool from the sockets when the log names none")
)

// Log signatures this analyzer reads. Pool exhaustion is the pool's own
// word; timeouts are what callers see.
var (
	poolSignatures    = []string{"pool-exhausted", "pool-timeout"}
	timeoutSignatures = []string{"timeout", "io-timeout", "read-timeout", "connect-timeout", "deadline-exceeded", "client-timeout"}
)

// PoolSaturation finds an application connection pool that ran dry.
var PoolSaturation = &Analyzer{
	Name: "pool-saturation",
	Doc: `application connection pool exhausted

An application whose requests each need a connection from a bounded pool
(a database pool, an HTTP client pool) queues requests when every
connection is in use. Requests slow down, callers time out and close their
connections while the handlers still wait (CLOSE_WAIT on the server's
listening port), and each waiting request keeps its descriptor: the trigger
of the fd-exhaustion chain (pool-saturation, client timeouts, CLOSE_WAIT,
fd-exhaustion, resets after the handshake).

Evidence: application log lines with the pool-exhausted signature
("connection pool exhausted", "timeout waiting for connection", at least
pool-saturation.min-lines), and pool statistics lines (a line mentioning a
pool with key=value counts such as Go's sql.DBStats max_open/in_use/idle/
wait_count or HikariCP's total/active/idle/waiting) that show every
connection in use with callers waiting: a waiting gauge above zero or a
cumulative wait count that rose since the previous line (at least
pool-saturation.min-stats-lines). When the log names no pool, the sockets
can: across two or more snapshots the service holds exactly the same number
of ESTABLISHED connections to one backend while at least
pool-saturation.min-waiting of its handlers hold requests whose clients
already left (CLOSE_WAIT, Recv-Q 0, on its listening port), at least twice
as many as the backend connections, and those held sockets turn over
between snapshots (a queue that moves; sockets that stay are a leak); with a
timeout line on the host or naming it this is reported, at low or medium
confidence. Timeouts alone do not say which resource ran out, and are ruled
out with that reason.

Supporting evidence: timeout lines on the host, timeout lines on other
hosts of the bundle that name this host's address (the clients giving up),
latency growth in the access log (median duration of the last third over
the first, at least pool-saturation.latency-growth, from at least
pool-saturation.min-latency-lines lines), and the handlers' CLOSE_WAIT
sockets. It is a root cause; fd-exhaustion names it as a cause;
close-wait-leak leaves the CLOSE_WAIT on its listening ports to it. A bundle
needs the application's log (ideally with the pool's statistics), or
several ss -tanpoe snapshots and a log with the callers' timeouts.`,
	Run: runPoolSaturation,
}

// poolStat is one pool statistics line.
type poolStat struct {
	log                       event.LogEvent
	max, inUse, idle, waiting int64 // -1 when absent
	waitCount                 int64 // cumulative; -1 when absent
}

// poolKeys are the names pools print their counts under, folded to lower
// case without separators.
var poolKeys = map[string]string{
	"maxopen": "max", "maxopenconnections": "max", "maxactive": "max", "maxtotal": "max",
	"maximumpoolsize": "max", "poolsize": "max", "maxsize": "max", "maxconnections": "max", "maxconns": "max",
	"inuse": "inuse", "active": "inuse", "busy": "inuse", "checkedout": "inuse", "numactive": "inuse", "leased": "inuse", "used": "inuse",
	"idle": "idle", "numidle": "idle", "available": "idle",
	"waiting": "waiting", "waiters": "waiting", "pending": "waiting", "threadsawaitingconnection": "waiting", "queued": "waiting",
	"waitcount": "waitcount",
}

// parsePoolStat reads the key=value (or key: value) counts of a line that
// mentions a pool.
func parsePoolStat(l event.LogEvent) (poolStat, bool) {
	st := poolStat{log: l, max: -1, inUse: -1, idle: -1, waiting: -1, waitCount: -1}
	if !strings.Contains(strings.ToLower(l.Text), "pool") {
		return st, false
	}
	found := 0
	text := l.Text
	for i := 0; i < len(text); i++ {
		if text[i] != '=' && text[i] != ':' {
			continue
		}
		k := i
		for k > 0 && (isKeyChar(text[k-1])) {
			k--
		}
		key := foldKey(text[k:i])
		j := i + 1
		for j < len(text) && text[j] == ' ' {
			j++
		}
		e := j
		for e < len(text) && isDigit(text[e]) {
			e++
		}
		if key == "" || e == j || (e < len(text) && (text[e] == '.' || isKeyChar(text[e]))) {
			continue
		}
		n, err := strconv.ParseInt(text[j:e], 10, 64)
		if err != nil {
			continue
		}
		switch poolKeys[key] {
		case "max":
			st.max = n
		case "inuse":
			st.inUse = n
		case "idle":
			st.idle = n
		case "waiting":
			st.waiting = n
		case "waitcount":
			st.waitCount = n
		default:
			continue
		}
		found++
	}
	return st, found >= 2 && (st.inUse >= 0 || st.idle >= 0)
}

func isKeyChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func foldKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:] // db.pool.in_use
	}
	k = strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
	return k
}

// full says every connection is in use.
func (s poolStat) full() bool {
	switch {
	case s.max > 0 && s.inUse >= s.max:
		return true
	case s.idle == 0 && s.inUse > 0:
		return true
	}
	return false
}

// saturatedStats returns the pool statistics lines of logs that show the
// pool full with callers waiting, and how many pool lines there were.
func saturatedStats(logs []event.LogEvent) (sat []poolStat, waits []int64, all []poolStat) {
	var prev *poolStat
	for _, l := range logs {
		st, ok := parsePoolStat(l)
		if !ok {
			continue
		}
		all = append(all, st)
		waited := int64(-1)
		switch {
		case st.waiting > 0:
			waited = st.waiting
		case st.waitCount >= 0 && prev != nil && prev.waitCount >= 0 && st.waitCount > prev.waitCount:
			// A count that went down means a restart: no delta across it.
			waited = st.waitCount - prev.waitCount
		}
		if st.full() && waited > 0 {
			sat = append(sat, st)
			waits = append(waits, waited)
		}
		cp := st
		prev = &cp
	}
	return sat, waits, all
}

// hostLogs returns host's log events in time order (unknown last).
func hostLogs(ev *event.Evidence, host string) []event.LogEvent {
	var out []event.LogEvent
	for _, l := range ev.Logs {
		if l.Host == host {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Ref.File != b.Ref.File {
			return a.Ref.File < b.Ref.File
		}
		return a.Ref.Line < b.Ref.Line
	})
	return out
}

// requestDuration reads a request's duration from an access-log line: a
// field the parser recognised, else a last token such as 0.251s or 35ms on
// a line that carries an HTTP status.
func requestDuration(l event.LogEvent) (time.Duration, bool) {
	for _, k := range []string{"duration", "latency", "request_time", "elapsed"} {
		if v, ok := l.Fields[k]; ok {
			if d, ok := parseLogDuration(v); ok {
				return d, true
			}
		}
	}
	fs := strings.Fields(l.Text)
	if len(fs) < 3 || !hasStatus(fs[:len(fs)-1]) {
		return 0, false
	}
	return parseLogDuration(fs[len(fs)-1])
}

func hasStatus(fs []string) bool {
	for _, f := range fs {
		if len(f) == 3 && f[0] >= '1' && f[0] <= '5' && isDigit(f[1]) && isDigit(f[2]) {
			return true
		}
	}
	return false
}

func parseLogDuration(s string) (time.Duration, bool) {
	if s == "" || !isDigit(s[0]) {
		return 0, false
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, true
	}
	return 0, false
}

// latencyGrowth compares the median duration of the last third of the
// request lines with the first third.
func latencyGrowth(logs []event.LogEvent, minLines int) (early, late time.Duration, first, last event.LogEvent, ok bool) {
	var ls []event.LogEvent
	var ds []float64
	for _, l := range logs {
		if d, has := requestDuration(l); has {
			ls = append(ls, l)
			ds = append(ds, d.Seconds())
		}
	}
	if len(ds) < minLines || len(ds) < 3 {
		return 0, 0, first, last, false
	}
	third := len(ds) / 3
	e := median(append([]float64{}, ds[:third]...))
	z := median(append([]float64{}, ds[len(ds)-third:]...))
	// The cited lines: the slowest of each third's neighbourhood is noise;
	// cite the first and the last request lines.
	return time.Duration(e * float64(time.Second)), time.Duration(z * float64(time.Second)), ls[0], ls[len(ls)-1], true
}

// remoteTimeouts returns other hosts' timeout lines that name one of addrs.
func remoteTimeouts(ev *event.Evidence, host string, addrs []netip.Addr) map[string][]event.LogEvent {
	return remoteLogs(ev, host, addrs, timeoutSignatures)
}

// remoteLogs returns other hosts' log lines with one of sigs that name one
// of addrs, by host.
func remoteLogs(ev *event.Evidence, host string, addrs []netip.Addr, sigs []string) map[string][]event.LogEvent {
	out := map[string][]event.LogEvent{}
	if len(addrs) == 0 {
		return out
	}
	for _, h := range Hosts(ev) {
		if h == host {
			continue
		}
		for _, l := range Logs(ev, h, sigs...) {
			for _, a := range addrs {
				if mentionsAddr(l.Text, a) {
					out[h] = append(out[h], l)
					break
				}
			}
		}
	}
	return out
}

// poolGuess is a bounded pool seen from the sockets alone: in every
// snapshot the service holds the same number of connections to one
// backend, while many more of its handlers hold requests whose clients
// already left.
type poolGuess struct {
	pid      int
	name     string
	backend  string
	size     int
	sample   event.Socket
	snaps    int
	held     []event.Socket // CLOSE_WAIT, Recv-Q 0, on a listening port
	replaced float64        // share of the first snapshot's held sockets gone by the last
}

// heldHandlers returns the CLOSE_WAIT sockets with Recv-Q 0 on one of the
// listening ports of socks: requests read, clients gone, handler still
// holding the connection.
func heldHandlers(socks []event.Socket) []event.Socket {
	listen := listenerPorts(socks)
	detailed := detailedSnap(socks)
	var held []event.Socket
	for _, s := range socks {
		if _, on := listen[s.Local.Port]; on && s.State == event.StateCloseWait && s.RecvQ == 0 && !unaccepted(s, detailed) && tcpSock(s) {
			held = append(held, s)
		}
	}
	return held
}

// inferPool looks for a poolGuess in v. The held sockets must turn over
// between snapshots (handlers do finish: a leak keeps them) and outnumber
// the backend connections at least twice.
func inferPool(p *Pass, v sockView) (poolGuess, bool) {
	var g poolGuess
	if len(v.Snaps) < 2 || !queuesKnown(v.Source) {
		return g, false
	}
	_, last := v.last()
	g.held = heldHandlers(last)
	if float64(len(g.held)) < p.Config.Get(poolMinWaiting) {
		return g, false
	}
	g.pid, g.name = mainOwner(g.held)
	if g.pid == 0 {
		return g, false
	}
	first := heldHandlers(v.Socks[0])
	if len(first) > 0 {
		now := map[string]bool{}
		for _, s := range g.held {
			now[sockKey(s)] = true
		}
		gone := 0
		for _, s := range first {
			if !now[sockKey(s)] {
				gone++
			}
		}
		g.replaced = float64(gone) / float64(len(first))
		if 1-g.replaced >= p.Config.Get(cwMinPersist) {
			return g, false // the same sockets stay: a leak, not a queue
		}
	}
	// Outbound connections of pid per backend, in every snapshot.
	counts := map[string][]int{}
	samples := map[string]event.Socket{}
	for i, socks := range v.Socks {
		listen := listenerPorts(socks)
		for _, s := range socks {
			if s.State != event.StateEstablished || !tcpSock(s) || !ownedByPID(s, g.pid) {
				continue
			}
			if _, in := listen[s.Local.Port]; in {
				continue
			}
			k := epKey(s.Remote)
			if counts[k] == nil {
				counts[k] = make([]int, len(v.Socks))
			}
			counts[k][i]++
			if i == len(v.Socks)-1 {
				samples[k] = s
			}
		}
	}
	for _, k := range sortedKeys(counts) {
		c := counts[k]
		constant := c[0] > 0
		for _, n := range c {
			if n != c[0] {
				constant = false
			}
		}
		if constant && 2*c[0] <= len(g.held) && c[0] > g.size {
			g.backend, g.size, g.sample = k, c[0], samples[k]
		}
	}
	g.snaps = len(v.Socks)
	return g, g.size > 0
}

func ownedByPID(s event.Socket, pid int) bool {
	for _, o := range s.Owners {
		if o.PID == pid {
			return true
		}
	}
	return false
}

func runPoolSaturation(p *Pass) error {
	ev := p.Evidence
	for _, host := range Hosts(ev) {
		logs := hostLogs(ev, host)
		exhausted := Logs(ev, host, poolSignatures...)
		sat, waits, stats := saturatedStats(logs)
		statLines := len(stats)
		timeouts := Logs(ev, host, timeoutSignatures...)
		v := hostSockView(ev, host)
		remote := remoteTimeouts(ev, host, hostAddrs(v))
		early, late, firstReq, lastReq, haveLat := latencyGrowth(logs, int(p.Config.Get(poolMinLatencyLines)))
		grew := haveLat && early > 0 && float64(late) >= p.Config.Get(poolLatencyGrowth)*float64(early)
		guess, guessed := inferPool(p, v)
		timedOut := countLogs(timeouts) > 0 || len(remote) > 0

		exhaustedN := countLogs(exhausted)
		poolLog := float64(exhaustedN) >= p.Config.Get(poolMinLines)
		poolStats := float64(len(sat)) >= p.Config.Get(poolMinStats)
		inferred := !poolLog && !poolStats && guessed && timedOut
		if !poolLog && !poolStats && !inferred {
			var seen []string
			if n := countLogs(timeouts); n > 0 {
				seen = append(seen, plural(n, "timeout line"))
			}
			for _, h := range sortedKeys(remote) {
				seen = append(seen, fmt.Sprintf("%d timeout lines on %s naming this host", len(remote[h]), h))
			}
			if grew {
				seen = append(seen, fmt.Sprintf("request latency grew from %s to %s", early, late))
			}
			if len(seen) > 0 {
				reason := strings.Join(seen, ", ") + ", but no log line says a connection pool ran dry, "
				if statLines > 0 {
					reason += fmt.Sprintf("none of the %d pool statistics lines shows it full with callers waiting", statLines)
				} else {
					reason += "no pool statistics were logged"
				}
				reason += ", and the sockets show no fixed set of backend connections with requests queued behind it"
				p.RuleOut(host, "%s: timeouts alone do not name the resource that ran out", reason)
			} else if statLines > 0 {
				p.RuleOut(host, "%d pool statistics lines, none with every connection in use and callers waiting", statLines)
			}
			continue
		}

		f := Finding{Host: host, Title: "application connection pool exhausted: requests queue for a connection"}
		var sum []string
		var ts []time.Time
		if poolLog {
			f.Sources = append(f.Sources, "log pool exhaustion")
			f.Evidence = append(f.Evidence, logEvidence(exhausted, 3, "the pool had no connection to give")...)
			sum = append(sum, fmt.Sprintf("%s say the application's connection pool ran dry", plural(exhaustedN, "log line")))
			for _, l := range exhausted {
				ts = append(ts, l.Time)
			}
		}
		if len(sat) > 0 {
			if poolStats {
				f.Sources = append(f.Sources, "pool statistics")
			}
			a, z := sat[0], sat[len(sat)-1]
			f.Evidence = append(f.Evidence, Evidence{Ref: a.log.Ref, Time: a.log.Time, Text: a.log.Text, Note: poolStatNote(a, waits[0])})
			if len(sat) > 1 {
				f.Evidence = append(f.Evidence, Evidence{Ref: z.log.Ref, Time: z.log.Time, Text: z.log.Text, Note: poolStatNote(z, waits[len(waits)-1])})
			}
			line := fmt.Sprintf("%d of %d pool statistics lines show every connection in use with callers waiting", len(sat), statLines)
			if a.max > 0 {
				line += fmt.Sprintf(" (%d of %d in use)", z.inUse, z.max)
			}
			if s0 := stats[0]; s0.waitCount >= 0 && z.waitCount > s0.waitCount {
				line += fmt.Sprintf("; the wait count rose from %d to %d", s0.waitCount, z.waitCount)
			}
			sum = append(sum, line)
			for _, s := range sat {
				ts = append(ts, s.log.Time)
			}
		}
		if guessed {
			f.Sources = append(f.Sources, "fixed backend connections")
			who := fmt.Sprintf("%s (pid %d)", orText(guess.name, "the service"), guess.pid)
			f.Evidence = append(f.Evidence, Evidence{Ref: guess.sample.Ref, Time: guess.sample.Time, Text: citeSocket(guess.sample, v.Source),
				Note: fmt.Sprintf("one of the %d connections %s holds to %s in each of %s", guess.size, who, guess.backend, plural(guess.snaps, "snapshot"))})
			line := fmt.Sprintf("in each of %s %s holds exactly %d connections to %s while %d of its handlers hold requests whose clients already left: a pool of %d at its maximum with requests queued behind it",
				plural(guess.snaps, "snapshot"), who, guess.size, guess.backend, len(guess.held), guess.size)
			if inferred {
				line = "no log line or statistics name the pool, but " + line
			}
			sum = append(sum, line)
		}
		if grew {
			f.Sources = append(f.Sources, "latency growth")
			f.Evidence = append(f.Evidence,
				Evidence{Ref: firstReq.Ref, Time: firstReq.Time, Text: firstReq.Text, Note: fmt.Sprintf("early requests took about %s (median of the first third)", early)},
				Evidence{Ref: lastReq.Ref, Time: lastReq.Time, Text: lastReq.Text, Note: fmt.Sprintf("late requests took about %s (median of the last third)", late)})
			sum = append(sum, fmt.Sprintf("the median served request took %s early and %s late (%.1f×)", early, late, float64(late)/float64(early)))
		}
		if n := countLogs(timeouts); n > 0 {
			f.Sources = append(f.Sources, "log timeouts")
			f.Evidence = append(f.Evidence, logEvidence(timeouts, 2, "a caller timed out")...)
			sum = append(sum, fmt.Sprintf("%s on this host", plural(n, "timeout line")))
		}
		for _, h := range sortedKeys(remote) {
			ls := remote[h]
			f.Sources = append(f.Sources, "client timeouts on "+h)
			f.Evidence = append(f.Evidence, logEvidence(ls, 2, fmt.Sprintf("a client on %s timed out waiting for this host", h))...)
			sum = append(sum, fmt.Sprintf("clients on %s timed out %d times waiting for it", h, countLogs(ls)))
			for _, l := range ls {
				ts = append(ts, l.Time)
			}
		}
		// Handlers still holding the connections of clients that left.
		if len(v.Snaps) > 0 && queuesKnown(v.Source) {
			snap, socks := v.last()
			if held := heldHandlers(socks); len(held) > 0 {
				f.Sources = append(f.Sources, "CLOSE_WAIT held by handlers")
				f.Evidence = append(f.Evidence, Evidence{Ref: held[0].Ref, Time: held[0].Time, Text: citeSocket(held[0], v.Source),
					Note: fmt.Sprintf("one of %d requests whose client closed while the handler still waited (CLOSE_WAIT, request read)", len(held))})
				line := fmt.Sprintf("%d handlers still hold connections their clients already closed (CLOSE_WAIT, Recv-Q 0, in %s), each keeping a file descriptor", len(held), snap.Ref.File)
				if guessed && guess.replaced > 0 {
					line += fmt.Sprintf("; %.0f%% of those in the first snapshot were gone by the last: a queue that moves, slowly", 100*guess.replaced)
				}
				sum = append(sum, line)
			}
		}
		impact := timedOut || grew || len(f.Sources) > 1
		switch {
		case impact:
			f.Severity = High
		default:
			f.Severity = Medium
		}
		n := len(f.Sources)
		switch {
		case inferred:
			// Without the pool's own word the pool is inferred: never high.
			f.Confidence = LowConfidence
			if n >= 3 {
				f.Confidence = MediumConfidence
			}
			f.Missing = append(f.Missing, "no pool statistics or pool errors in the application log: the pool is inferred from the sockets (log the pool's counts, e.g. Go sql.DBStats or HikariCP pool stats)")
		case n >= 3:
			f.Confidence = HighConfidence
		case n == 2:
			f.Confidence = MediumConfidence
		default:
			f.Confidence = LowConfidence
		}
		if len(remote) == 0 && countLogs(timeouts) == 0 {
			f.Missing = append(f.Missing, "no timeout in any log of the bundle: could not confirm that callers gave up (collect the callers' or the gateway's log)")
		}
		if len(v.Snaps) == 0 {
			f.Missing = append(f.Missing, "no socket snapshot: could not see handlers holding connections their clients closed (collect: ss -tanpoe)")
		}
		if len(ts) == 0 {
			for _, s := range v.Snaps {
				ts = append(ts, s.Time)
			}
		}
		f.Window = window(ts...)
		f.Summary = strings.Join(sum, "; ") + "."
		f.Remediation = []string{
			"Immediate: raise the pool's maximum (Go db.SetMaxOpenConns, HikariCP maximumPoolSize) within what the database accepts, and restart to drain the queue.",
			"Bound the wait: give pool acquisition a timeout shorter than the callers' own (QueryContext with a deadline, HikariCP connectionTimeout) so a request fails fast instead of holding its socket and descriptor.",
			"Stop work for callers that left: propagate the request context so a handler whose client closed gives up its place in the queue; cap in-flight requests so waiters cannot consume every descriptor.",
			"Export the pool's statistics (sql.DBStats WaitCount/WaitDuration/InUse, HikariCP metrics) and alert when waits rise.",
		}
		p.Report(f)
	}
	return nil
}

func poolStatNote(s poolStat, waited int64) string {
	var parts []string
	if s.max > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d connections in use", s.inUse, s.max))
	} else if s.inUse >= 0 {
		parts = append(parts, fmt.Sprintf("%d in use, %d idle", s.inUse, s.idle))
	}
	if s.waiting > 0 {
		parts = append(parts, fmt.Sprintf("%d callers waiting", s.waiting))
	} else {
		parts = append(parts, fmt.Sprintf("%d more callers had to wait since the previous line", waited))
	}
	return "pool full: " + strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
