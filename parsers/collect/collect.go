// Package collect gathers an incident bundle on a live Linux box: socket
// views taken several times, counters, limits, sysctls, kernel logs, the
// application's log tail and optionally a short packet capture, written as
// one gzip tar that `netmortem analyze` reads.
//
// Every text file starts with the collection header that package parsers
// strips and reads (# cmd, # date, # exit, # note). A tool that is missing,
// not permitted or too slow leaves a file with a note, never a failure; the
// whole collection is bounded by Options.Timeout. Nothing secret is
// gathered: no environment, no command lines, no payload beyond the
// capture's snap length; Options.Anonymize pseudonymises IP addresses.
package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultSnapshots    = 3
	DefaultInterval     = 5 * time.Second
	DefaultTimeout      = 2 * time.Minute
	DefaultCmdTimeout   = 10 * time.Second
	DefaultLogMaxBytes  = 5_000_000
	DefaultPcapDuration = 30 * time.Second
	DefaultSnaplen      = 128
	DefaultPcapMaxBytes = 50_000_000
	DefaultIface        = "any"
	DefaultJournalSince = "-1h"
)

// MaxFileBytes caps what one command may put in the bundle; the rest is
// dropped and the file says so.
const MaxFileBytes = 32 << 20

// Options say what to collect. The zero value of a field means its default.
type Options struct {
	PIDs  []int // focus: these processes (fd listings, limits, lsof)
	Ports []int // focus: ss filtered to these ports; their listeners become PIDs

	Snapshots  int           // how many times the socket views are taken
	Interval   time.Duration // between the starts of two snapshots
	Timeout    time.Duration // bounds the whole collection
	CmdTimeout time.Duration // bounds each command

	Logs         []string // application logs to copy (their tails)
	LogMaxBytes  int64
	LsofAll      bool   // lsof on the whole host (slow on big boxes)
	JournalSince string // journalctl --since value

	Pcap         bool
	PcapDuration time.Duration
	Snaplen      int
	PcapMaxBytes int64
	Iface        string

	Anonymize bool

	// NetNS is a network namespace file (/proc/PID/ns/net, /run/netns/NAME)
	// to take the network views in (ss, counters, /proc/net, net.* sysctls,
	// the capture), through nsenter; "" means the collector's own. See
	// ResolveNetNS.
	NetNS string

	// Command is the collector's own command line, recorded in the manifest.
	Command string

	// Injected for tests; nil means the real thing.
	Exec     ExecFunc
	ReadFile ReadFileFunc
	Now      func() time.Time // the clock of the # date headers
	Hostname string           // "" means read it from the kernel
	Progress func(Step)
	anon     *Anonymizer // tests fix the key
}

// Step is reported to Options.Progress before each step runs.
type Step struct {
	N, Total int
	Phase    string // "system", "snapshot 2/3", "process 1234", "capture", ...
	File     string
	Command  string
}

// Result tells what was written.
type Result struct {
	Files    int   // entries written, directories excluded
	Bytes    int64 // uncompressed
	TimedOut bool  // the total timeout ran out; the bundle is partial
	Warnings []string
	Elapsed  time.Duration
}

func (o *Options) setDefaults() {
	if o.Snapshots <= 0 {
		o.Snapshots = DefaultSnapshots
	}
	if o.Interval < 0 {
		o.Interval = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CmdTimeout <= 0 {
		o.CmdTimeout = DefaultCmdTimeout
	}
	if o.LogMaxBytes <= 0 {
		o.LogMaxBytes = DefaultLogMaxBytes
	}
	if o.JournalSince == "" {
		o.JournalSince = DefaultJournalSince
	}
	if o.PcapDuration <= 0 {
		o.PcapDuration = DefaultPcapDuration
	}
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.PcapMaxBytes <= 0 {
		o.PcapMaxBytes = DefaultPcapMaxBytes
	}
	if o.Iface == "" {
		o.Iface = DefaultIface
	}
	if o.Exec == nil {
		o.Exec = Exec
	}
	if o.ReadFile == nil {
		o.ReadFile = ReadFile
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Command == "" {
		o.Command = "netmortem collect"
	}
}

// Validate reports options that make no sense.
func (o *Options) Validate() error {
	for _, p := range o.PIDs {
		if p <= 0 {
			return fmt.Errorf("bad pid %d", p)
		}
	}
	for _, p := range o.Ports {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("bad port %d", p)
		}
	}
	if o.Snaplen < 0 || o.Snaplen > 262144 {
		return fmt.Errorf("bad snap length %d", o.Snaplen)
	}
	if strings.ContainsAny(o.Iface, " \t\n") {
		return fmt.Errorf("bad interface name %q", o.Iface)
	}
	return nil
}

// DateLayout is how the # date header is printed: RFC 3339 with nanoseconds
// and a numeric zone offset, the box's own zone.
const DateLayout = "2006-01-02T15:04:05.000000000-07:00"

// step is one file of the bundle and how to make it.
type step struct {
	file     string
	phase    string
	argv     []string // a command to run, or
	read     string   // a file to read
	cmd      string   // the # cmd header; derived from argv or read when ""
	note     string   // always recorded (what the file is and is not)
	filter   func([]byte) []byte
	procNet  bool   // hex addresses of /proc/net/tcp to anonymize
	optional bool   // a missing tool is a manifest line, not a file
	kernLog  bool   // a kernel log: command line and init environment are redacted
	tail     int64  // > 0: keep only the last tail bytes of read
	skip     string // not run: a manifest line with this note
}

func (s *step) command() string {
	switch {
	case s.cmd != "":
		return s.cmd
	case s.argv != nil:
		return shellJoin(s.argv)
	default:
		return "cat " + s.read
	}
}

// entry is one line of the manifest.
type entry struct {
	file, cmd string
	exit      int
	dur       time.Duration
	bytes     int
	note      string
	skipped   bool
}

type collector struct {
	o           Options
	ctx         context.Context // the current phase's; see Run
	all         context.Context // ends at the total timeout
	parent      context.Context // the caller's: ends on an interrupt
	reserve     time.Duration   // the end of the timeout kept for the logs
	b           *bundle
	anon        *Anonymizer
	entries     []entry
	timedOut    bool
	missing     []string // tools not found
	listenPIDs  []int    // processes listening on Options.Ports
	netPID      string   // Options.NetNS is /proc/netPID/ns/net: read /proc/netPID/net
	cancelFinal context.CancelFunc
	n, total    int
}

// Run collects a bundle and writes it to w as a gzip tar. It returns an
// error only when the bundle could not be written; everything that went
// wrong on the box is recorded inside the bundle and in Result.Warnings.
// It returns within o.Timeout plus the time to write what it has.
func Run(ctx context.Context, w io.Writer, o Options) (Result, error) {
	start := time.Now()
	o.setDefaults()
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	parent := ctx
	deadline := start.Add(o.Timeout)
	var cancel context.CancelFunc
	if d, ok := parent.Deadline(); ok && !d.After(deadline) {
		// The caller's is the timeout. No timer of our own: it could fire
		// before the caller's and tell the wrong reason.
		deadline = d
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	defer cancel()
	// The snapshots and the capture end early enough to leave the logs,
	// read last, their share of the timeout.
	reserve := logReserve(deadline.Sub(start))
	main, cancelMain := context.WithDeadline(ctx, deadline.Add(-reserve))
	defer cancelMain()
	c := &collector{o: o, ctx: main, all: ctx, parent: parent, reserve: reserve, anon: o.anon}
	if m := procNS.FindStringSubmatch(o.NetNS); m != nil {
		c.netPID = m[1]
	}
	if o.Anonymize && c.anon == nil {
		a, err := NewAnonymizer()
		if err != nil {
			return Result{}, fmt.Errorf("anonymizer key: %w", err)
		}
		c.anon = a
	}
	startDate := o.Now()
	host := o.Hostname
	if host == "" {
		if b, err := o.ReadFile("/proc/sys/kernel/hostname", 4096); err == nil {
			host = strings.TrimSpace(string(b))
		}
	}
	c.b = newBundle(w, hostDir(host))
	err := c.collect()
	if c.cancelFinal != nil {
		c.cancelFinal()
	}
	res := Result{TimedOut: c.timedOut}
	if err == nil {
		err = c.writeManifest(startDate)
	}
	if err == nil {
		err = c.b.close()
	}
	res.Files, res.Bytes = c.b.n, c.b.size
	res.Elapsed = time.Since(start)
	if c.timedOut {
		skipped := 0
		for _, e := range c.entries {
			if e.skipped {
				skipped++
			}
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: the bundle is partial (%d steps skipped)", c.stopReason(), skipped))
	}
	if len(c.missing) > 0 {
		res.Warnings = append(res.Warnings, "not found on this box: "+strings.Join(c.missing, ", "))
	}
	return res, err
}

func (c *collector) collect() error {
	o := &c.o
	if err := c.run(&step{file: "hostname", phase: "clock", read: "/proc/sys/kernel/hostname"}); err != nil {
		return err
	}
	system := []*step{
		{file: "date-R.txt", argv: []string{"date", "-R"}},
		{file: "date-epoch.txt", argv: []string{"date", "+%s"}},
		{file: "uname-a.txt", argv: []string{"uname", "-a"}},
		{file: "uptime.txt", argv: []string{"uptime"}},
		{file: "uptime-s.txt", argv: []string{"uptime", "-s"}},
		{file: "proc-uptime.txt", read: "/proc/uptime"},
		{file: "proc-stat-btime.txt", read: "/proc/stat", filter: keepLines(`^btime `), note: "kept only the btime line"},
	}
	var listen *step
	if len(o.Ports) > 0 {
		listen = &step{file: "ss-listen.txt", argv: c.netArgv(append([]string{"ss", "-tulnp"}, portFilter(o.Ports, true)...))}
		system = append(system, listen)
	}
	c.total = 1 + len(system) + 1 // a first estimate, refined below
	for _, s := range system {
		s.phase = "clock"
		if err := c.run(s); err != nil {
			return err
		}
	}
	pids := slices.Clone(o.PIDs)
	if listen != nil {
		pids = append(pids, c.listenPIDs...)
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)

	once := c.onceSteps(pids)
	final := c.finalSteps()
	c.total = c.n + len(once) + o.Snapshots*len(c.snapshotSteps(1)) + len(final)
	var capture *captureRun
	if o.Pcap {
		c.total += 2
		capture = c.startCapture()
	}

	var snapStart time.Time
	for i := 1; i <= o.Snapshots; i++ {
		if i > 1 {
			c.sleepUntil(snapStart.Add(time.Duration(i-1) * o.Interval))
		}
		if i == 1 {
			snapStart = time.Now()
		}
		for _, s := range c.snapshotSteps(i) {
			s.phase = fmt.Sprintf("snapshot %d/%d", i, o.Snapshots)
			if err := c.run(s); err != nil {
				return err
			}
		}
		if i == 1 {
			for _, s := range once {
				if err := c.run(s); err != nil {
					return err
				}
			}
		}
	}
	// The logs come last, once the capture has stopped, so that they hold
	// what happened while the snapshots and packets were taken. The
	// capture is trimmed and compressed meanwhile.
	if capture != nil {
		<-capture.stopped
	}
	c.enterFinal()
	for _, s := range final {
		if err := c.run(s); err != nil {
			return err
		}
	}
	if capture != nil {
		return c.finishCapture(capture)
	}
	return nil
}

// logReserve is the end of the total timeout kept for the steps that run
// last (kernel and application logs): reading them takes well under a
// second on a usual box, journalctl on a big journal a few seconds. The
// capture's own trimming and compression (about 1.5 s for 50 MB) runs
// beside them in the same time.
func logReserve(timeout time.Duration) time.Duration {
	return min(5*time.Second, timeout/4)
}

// enterFinal switches to the last phase, which may use the whole timeout.
// After an interrupt the logs are still read, within the reserve: they
// are what a bundle is least useful without.
func (c *collector) enterFinal() {
	if c.parent.Err() == nil {
		c.ctx = c.all
		return
	}
	end := time.Now().Add(c.reserve)
	if d, ok := c.all.Deadline(); ok && d.Before(end) {
		end = d
	}
	c.ctx, c.cancelFinal = context.WithDeadline(context.WithoutCancel(c.parent), end)
}

// sleepUntil waits for t or the end of the collection.
func (c *collector) sleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.ctx.Done():
	}
}

func (c *collector) snapshotSteps(i int) []*step {
	sfx := fmt.Sprintf(".%d.txt", i)
	ss := append([]string{"ss", "-tanpoei"}, portFilter(c.o.Ports, false)...)
	return []*step{
		{file: "ss-tanpoei" + sfx, argv: c.netArgv(ss)},
		{file: "ss-s" + sfx, argv: c.netArgv([]string{"ss", "-s"})},
		{file: "netstat-s" + sfx, argv: c.netArgv([]string{"netstat", "-s"})},
		// -s: do not touch nstat's history file on the box.
		{file: "nstat-saz" + sfx, argv: c.netArgv([]string{"nstat", "-saz"})},
		c.netRead("proc-net-sockstat"+sfx, "sockstat"),
		c.netRead("proc-net-netstat"+sfx, "netstat"),
		c.netRead("proc-net-snmp"+sfx, "snmp"),
		c.netRead("proc-net-tcp"+sfx, "tcp"),
		c.netRead("proc-net-tcp6"+sfx, "tcp6"),
	}
}

var procNS = regexp.MustCompile(`^/proc/(\d+)/ns/net$`)

// netArgv runs argv in Options.NetNS.
func (c *collector) netArgv(argv []string) []string {
	if c.o.NetNS == "" {
		return argv
	}
	return append([]string{"nsenter", "--net=" + c.o.NetNS}, argv...)
}

// netRead is the step reading /proc/net/name as seen in Options.NetNS:
// /proc/PID/net/name shows the network namespace of PID without entering
// it; a named namespace needs nsenter.
func (c *collector) netRead(file, name string) *step {
	s := &step{file: file, read: "/proc/net/" + name, procNet: name == "tcp" || name == "tcp6"}
	switch {
	case c.netPID != "":
		s.read = "/proc/" + c.netPID + "/net/" + name
	case c.o.NetNS != "":
		s.argv, s.read = c.netArgv([]string{"cat", "/proc/net/" + name}), ""
	}
	return s
}

func (c *collector) onceSteps(pids []int) []*step {
	var steps []*step
	for _, pid := range pids {
		dir := fmt.Sprintf("pid-%d/", pid)
		p := strconv.Itoa(pid)
		phase := "process " + p
		steps = append(steps,
			&step{file: dir + "status.txt", phase: phase, read: "/proc/" + p + "/status"},
			&step{file: dir + "limits.txt", phase: phase, read: "/proc/" + p + "/limits"},
			&step{file: dir + "fd.txt", phase: phase, argv: []string{"ls", "-l", "/proc/" + p + "/fd"}},
			&step{file: dir + "lsof.txt", phase: phase, argv: []string{"lsof", "-n", "-P", "-p", p}},
		)
	}
	if c.o.LsofAll {
		steps = append(steps, &step{file: "lsof-all.txt", phase: "lsof", argv: []string{"lsof", "-n", "-P"}})
	}
	steps = append(steps,
		&step{file: "ulimit-a.txt", argv: []string{"sh", "-c", "ulimit -a"},
			note: "limits of the collector's own shell, not of the service; see pid-*/limits.txt"},
		&step{file: "sysctl.txt", argv: c.netArgv([]string{"sysctl", "-a"}),
			filter: keepLines(`^(net|fs)\.`), note: "kept only net.* and fs.* keys"},
		&step{file: "proc-sys-fs-file-nr.txt", read: "/proc/sys/fs/file-nr"},
		c.conntrackStats(),
	)
	for _, s := range steps {
		if s.phase == "" {
			s.phase = "system"
		}
	}
	return steps
}

// conntrackStatsProbe exists only while the nf_conntrack module is loaded
// (in every network namespace).
const conntrackStatsProbe = "/proc/sys/net/netfilter/nf_conntrack_max"

// conntrackStats is `conntrack -S`, the per-CPU connection tracking
// counters (drop, early_drop, insert_failed), of Options.NetNS. Where
// nf_conntrack is not loaded there is nothing to count, and asking would
// make the kernel load it: the manifest says so instead.
func (c *collector) conntrackStats() *step {
	s := &step{file: "conntrack-S.txt", argv: c.netArgv([]string{"conntrack", "-S"})}
	if _, err := c.o.ReadFile(conntrackStatsProbe, 64); err != nil {
		s.skip = "not run: nf_conntrack is not loaded (no " + conntrackStatsProbe + "), and conntrack would load it"
	}
	return s
}

// finalSteps are read last: the kernel logs and the application logs.
func (c *collector) finalSteps() []*step {
	steps := []*step{
		{file: "dmesg-T.txt", phase: "kernel log", argv: []string{"dmesg", "-T"}, kernLog: true},
		{file: "dmesg.txt", phase: "kernel log", argv: []string{"dmesg"}, kernLog: true},
		{file: "journalctl-k.txt", phase: "kernel log", argv: []string{"journalctl", "-k", "--since=" + c.o.JournalSince, "--no-pager", "-o", "short-iso"},
			optional: true, kernLog: true},
	}
	seen := map[string]int{}
	for _, l := range c.o.Logs {
		base := hostDir(path.Base(strings.ReplaceAll(l, "\\", "/")))
		seen[base]++
		if seen[base] > 1 {
			base = fmt.Sprintf("%s.%d", base, seen[base])
		}
		steps = append(steps, &step{file: "logs/" + base, phase: "logs", read: l, tail: c.o.LogMaxBytes,
			cmd: fmt.Sprintf("tail -c %d %s", c.o.LogMaxBytes, shellQuote(l))})
	}
	return steps
}

// portFilter is the ss filter for ports: any socket with the port at either
// end, or (listen) only local ports.
func portFilter(ports []int, listen bool) []string {
	if len(ports) == 0 {
		return nil
	}
	f := []string{"("}
	for i, p := range ports {
		if i > 0 {
			f = append(f, "or")
		}
		f = append(f, "sport", "=", ":"+strconv.Itoa(p))
		if !listen {
			f = append(f, "or", "dport", "=", ":"+strconv.Itoa(p))
		}
	}
	return append(f, ")")
}

var ssPID = regexp.MustCompile(`pid=(\d+)`)

// keepLines returns a filter that keeps the lines matching re.
func keepLines(re string) func([]byte) []byte {
	rx := regexp.MustCompile(re)
	return func(b []byte) []byte {
		var out []byte
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line, b = b[:i+1], b[i+1:]
			} else {
				b = nil
			}
			if rx.Match(line) {
				out = append(out, line...)
			}
		}
		return out
	}
}

// outcome is what running one step gave.
type outcome struct {
	body  []byte
	exit  int
	notes []string
	date  time.Time
	dur   time.Duration
}

// run runs one step and writes its file. Only a failure to write the
// bundle is an error.
func (c *collector) run(s *step) error {
	c.n++
	if c.n > c.total {
		c.total = c.n
	}
	if c.ctx.Err() != nil {
		c.timedOut = true
		c.entries = append(c.entries, entry{file: s.file, cmd: s.command(), skipped: true, note: "skipped: " + c.stopReason()})
		return nil
	}
	if s.skip != "" {
		c.entries = append(c.entries, entry{file: s.file, cmd: s.command(), skipped: true, note: s.skip})
		return nil
	}
	if c.o.Progress != nil {
		c.o.Progress(Step{N: c.n, Total: c.total, Phase: s.phase, File: s.file, Command: s.command()})
	}
	out := c.execute(s)
	if out.exit == 127 && s.optional {
		c.entries = append(c.entries, entry{file: s.file, cmd: s.command(), exit: out.exit, dur: out.dur,
			skipped: true, note: strings.Join(out.notes, "; ")})
		return nil
	}
	if s.file == "ss-listen.txt" {
		for _, m := range ssPID.FindAllSubmatch(out.body, -1) {
			if pid, err := strconv.Atoi(string(m[1])); err == nil {
				c.listenPIDs = append(c.listenPIDs, pid)
			}
		}
	}
	body := out.body
	if c.anon != nil {
		if s.procNet {
			body = c.anon.ProcNet(body)
		}
		body = c.anon.Text(body)
	}
	notes := out.notes
	if s.note != "" {
		notes = append([]string{s.note}, notes...)
	}
	file := formatHeader(s.command(), out.date, out.exit, notes)
	file = append(file, body...)
	if err := c.b.add(s.file, file, out.date); err != nil {
		return err
	}
	c.entries = append(c.entries, entry{file: s.file, cmd: s.command(), exit: out.exit, dur: out.dur,
		bytes: len(file), note: strings.Join(out.notes, "; ")})
	return nil
}

// formatHeader renders the collection header.
func formatHeader(cmd string, date time.Time, exit int, notes []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# cmd: %s\n# date: %s\n# exit: %d\n", oneLine(cmd), date.Format(DateLayout), exit)
	if len(notes) > 0 {
		fmt.Fprintf(&b, "# note: %s\n", oneLine(strings.Join(notes, "; ")))
	}
	return b.Bytes()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// execute runs the command or reads the file of a step, within the
// per-command timeout.
func (c *collector) execute(s *step) outcome {
	cctx, cancel := context.WithTimeout(c.ctx, c.o.CmdTimeout)
	defer cancel()
	out := outcome{date: c.o.Now()}
	t0 := time.Now()
	var err error
	var stderr capBuffer
	stderr.max = 4096
	if s.argv != nil {
		stdout := capBuffer{max: MaxFileBytes}
		out.exit, err = c.o.Exec(cctx, s.argv, &stdout, &stderr)
		out.body = stdout.bytes()
		if stdout.dropped > 0 {
			out.notes = append(out.notes, fmt.Sprintf("output truncated at %d bytes (%d more dropped)", MaxFileBytes, stdout.dropped))
		}
	} else {
		var note string
		out.body, note, err = c.readFile(cctx, s)
		if note != "" {
			out.notes = append(out.notes, note)
		}
	}
	out.dur = time.Since(t0)
	if s.filter != nil && out.body != nil {
		out.body = s.filter(out.body)
	}
	if s.kernLog {
		var n int
		if out.body, n = redactKernelLog(out.body); n > 0 {
			out.notes = append(out.notes, fmt.Sprintf("%d lines of kernel command line or init arguments/environment not collected", n))
		}
	}
	switch {
	case err == nil && out.exit == 127 && len(s.argv) > 2 && s.argv[0] == "nsenter":
		// nsenter could not run the tool in the namespace.
		out.notes = append(out.notes, "not found: "+s.argv[2])
		c.addMissing(s.argv[2])
	case err == nil:
	case errors.Is(err, exec.ErrNotFound):
		out.exit = 127
		out.notes = append(out.notes, "not found: "+s.argv[0])
		c.addMissing(s.argv[0])
	case errors.Is(err, fs.ErrPermission):
		out.exit = 126
		out.notes = append(out.notes, "permission denied: "+errText(err))
	case errors.Is(err, fs.ErrNotExist):
		out.exit = 1
		out.notes = append(out.notes, "no such file: "+errText(err))
	case c.ctx.Err() != nil:
		c.timedOut = true
		out.exit = 124
		out.notes = append(out.notes, "stopped: "+c.stopReason()+"; output so far kept")
	case cctx.Err() != nil:
		out.exit = 124
		out.notes = append(out.notes, fmt.Sprintf("timed out after %v and was stopped; output so far kept", c.o.CmdTimeout))
	default:
		if out.exit == 0 {
			out.exit = 1
		}
		out.notes = append(out.notes, errText(err))
	}
	e := stderr.bytes()
	if err == nil && out.exit != 0 && deniedRx.Match(e) {
		// dmesg with dmesg_restrict, tcpdump without CAP_NET_RAW, ...
		out.notes = append(out.notes, "permission denied (run as root for this file)")
	}
	if len(bytes.TrimSpace(e)) > 0 {
		out.notes = append(out.notes, "stderr: "+excerpt(e, 300))
	}
	return out
}

// stopReason says why the collection ended early.
func (c *collector) stopReason() string {
	if c.parent.Err() != nil {
		return "the collection was interrupted"
	}
	if c.all.Err() == nil {
		// Only the snapshots' share ended.
		return fmt.Sprintf("the total --timeout %v ran out (less %v kept for the logs)", c.o.Timeout, c.reserve)
	}
	return fmt.Sprintf("the total --timeout %v ran out", c.o.Timeout)
}

func (c *collector) addMissing(tool string) {
	if !slices.Contains(c.missing, tool) {
		c.missing = append(c.missing, tool)
	}
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// excerpt flattens text into one line of at most n bytes.
func excerpt(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// readFile reads a step's file, giving up when ctx ends (a read of
// /proc/net/tcp on a huge box can take seconds).
func (c *collector) readFile(ctx context.Context, s *step) ([]byte, string, error) {
	type res struct {
		b    []byte
		note string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		var r res
		if s.tail > 0 {
			r.b, r.note, r.err = readTail(s.read, s.tail)
		} else {
			r.b, r.err = c.o.ReadFile(s.read, MaxFileBytes+1)
			if len(r.b) > MaxFileBytes {
				r.b = r.b[:MaxFileBytes]
				r.note = fmt.Sprintf("truncated at %d bytes", MaxFileBytes)
			}
		}
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.b, r.note, r.err
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

// readTail reads the last n bytes of a regular file, starting at a line
// boundary when it does not start at the beginning.
func readTail(name string, n int64) ([]byte, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: not a regular file", name)
	}
	size := fi.Size()
	if size <= n {
		b, err := io.ReadAll(io.LimitReader(f, n))
		return b, "", err
	}
	if _, err := f.Seek(size-n, io.SeekStart); err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, n))
	if err != nil {
		return nil, "", err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b, fmt.Sprintf("last %d bytes of %d, from the first whole line", len(b), size), nil
}

// deniedRx recognises a tool's own report that it was not allowed.
var deniedRx = regexp.MustCompile(`(?i)permission denied|operation not permitted|you don't have permission`)

// capBuffer keeps the first max bytes written and counts the rest.
type capBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int64
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	room := max(b.max-b.buf.Len(), 0)
	if room < len(p) {
		b.dropped += int64(len(p) - room)
		p = p[:room]
	}
	b.buf.Write(p)
	return n, nil
}

func (b *capBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

// shellJoin renders argv as a shell command line.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+:,./%@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeManifest writes manifest.txt: one tab-separated line per step, in
// bundle order, with its command, exit status, duration and size.
func (c *collector) writeManifest(start time.Time) error {
	var b bytes.Buffer
	var notes []string
	if c.timedOut {
		notes = append(notes, c.stopReason()+": the bundle is partial")
	}
	if c.anon != nil {
		notes = append(notes, "IP addresses are pseudonymised (prefix-preserving, key not kept)")
	}
	if c.o.NetNS != "" {
		notes = append(notes, "network views taken in the network namespace "+c.o.NetNS)
	}
	if uid := os.Geteuid(); uid != 0 {
		notes = append(notes, fmt.Sprintf("collected as uid %d, not root: ss -p, lsof and fd listings show only this user's processes", uid))
	}
	b.Write(formatHeader(c.o.Command, start, 0, notes))
	b.WriteString("file\texit\tseconds\tbytes\tcommand\tnote\n")
	for _, e := range c.entries {
		exit := strconv.Itoa(e.exit)
		if e.skipped && e.exit == 0 {
			exit = "-"
		}
		fmt.Fprintf(&b, "%s\t%s\t%.3f\t%d\t%s\t%s\n", e.file, exit, e.dur.Seconds(), e.bytes, oneLine(e.cmd), oneLine(e.note))
	}
	return c.b.add("manifest.txt", b.Bytes(), c.o.Now())
}
