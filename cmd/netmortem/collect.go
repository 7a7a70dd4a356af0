package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netmortem/netmortem/parsers/collect"
)

// collectOptions are the flags of `netmortem collect`.
type collectOptions struct {
	output    string
	pids      []int
	ports     []int
	snapshots int
	interval  time.Duration
	timeout   time.Duration
	cmdTO     time.Duration
	logs      []string
	logMax    sizeValue
	lsofAll   bool
	since     string
	pcap      bool
	duration  time.Duration
	snaplen   int
	maxSize   sizeValue
	iface     string
	anonymize bool
	netns     string
	quiet     bool

	// exec and readFile replace the real ones in tests.
	exec     collect.ExecFunc
	readFile collect.ReadFileFunc
}

// sizeValue is a byte-count flag: 5MB, 512KiB, 1048576.
type sizeValue int64

func (s *sizeValue) String() string { return collect.FormatSize(int64(*s)) }
func (s *sizeValue) Type() string   { return "size" }
func (s *sizeValue) Set(v string) error {
	n, err := collect.ParseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

var _ pflag.Value = (*sizeValue)(nil)

func newCollectCmd(ios *IOStreams) *cobra.Command {
	opts := &collectOptions{
		logMax:  collect.DefaultLogMaxBytes,
		maxSize: collect.DefaultPcapMaxBytes,
	}
	cmd := &cobra.Command{
		Use:   "collect -o FILE.tar.gz",
		Short: "Gather an incident bundle on this box (sockets, counters, limits, kernel log, capture)",
		Long: `Gather what netmortem analyze needs from a live Linux box into one .tar.gz:
socket views (ss, /proc/net/tcp) taken several times, kernel counters, limits,
sysctls, kernel logs, the application's log tail and optionally a short packet
capture. Every file starts with a header recording its command, time and exit
status; a missing or forbidden tool is recorded, never fatal. --timeout bounds
the whole run. No environment, command lines or payloads beyond the snap length
are collected; --anonymize pseudonymises IP addresses in every file.`,
		Example: `  netmortem collect -o bundle.tar.gz
  netmortem collect -o bundle.tar.gz --port 8080 --log /var/log/app.log
  netmortem collect -o - --pid 4242 --snapshots 5 --interval 2s > bundle.tar.gz
  sudo netmortem collect -o bundle.tar.gz --port 443 --pcap --duration 20s --anonymize`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return collectRun(c.Context(), opts, c.Flags(), ios)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "write the bundle to `FILE` (.tar.gz); - for stdout")
	f.IntSliceVar(&opts.pids, "pid", nil, "focus on process `PID` (repeatable): fd listing, limits, lsof")
	f.IntSliceVar(&opts.ports, "port", nil, "focus on TCP/UDP `PORT` (repeatable): filters ss, finds its listeners")
	f.IntVar(&opts.snapshots, "snapshots", collect.DefaultSnapshots, "take the socket views `N` times")
	f.DurationVar(&opts.interval, "interval", collect.DefaultInterval, "time between two snapshots")
	f.DurationVar(&opts.timeout, "timeout", collect.DefaultTimeout, "bound the whole collection")
	f.DurationVar(&opts.cmdTO, "cmd-timeout", collect.DefaultCmdTimeout, "bound each command")
	f.StringArrayVar(&opts.logs, "log", nil, "copy the tail of application log `FILE` (repeatable)")
	f.Var(&opts.logMax, "log-max-bytes", "keep at most this much of the end of each --log")
	f.BoolVar(&opts.lsofAll, "lsof-all", false, "run lsof on the whole host (can take minutes on big boxes)")
	f.StringVar(&opts.since, "journal-since", collect.DefaultJournalSince, "journalctl -k --since value")
	f.BoolVar(&opts.pcap, "pcap", false, "add a bounded packet capture (tcpdump, needs privileges)")
	f.DurationVar(&opts.duration, "duration", collect.DefaultPcapDuration, "length of the --pcap capture")
	f.IntVar(&opts.snaplen, "snaplen", collect.DefaultSnaplen, "bytes kept of each captured packet")
	f.Var(&opts.maxSize, "max-size", "stop the --pcap capture at this size")
	f.StringVar(&opts.iface, "iface", collect.DefaultIface, "interface of the --pcap capture")
	f.BoolVar(&opts.anonymize, "anonymize", false, "pseudonymise IP addresses in every file and the capture")
	f.StringVar(&opts.netns, "netns", "auto", "network namespace of the network views: auto (the --pid's), host, an ip-netns `NAME` or a path")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

func collectRun(ctx context.Context, opts *collectOptions, flags *pflag.FlagSet, ios *IOStreams) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.output == "" {
		return usageErr(errors.New("collect needs -o FILE.tar.gz (or -o - for stdout)"))
	}
	if opts.snapshots < 1 {
		return usageErr(fmt.Errorf("--snapshots must be at least 1, not %d", opts.snapshots))
	}
	if opts.timeout <= 0 || opts.cmdTO <= 0 || opts.interval < 0 {
		return usageErr(errors.New("--timeout and --cmd-timeout must be positive, --interval not negative"))
	}
	if !opts.pcap {
		for _, name := range []string{"duration", "snaplen", "max-size", "iface"} {
			if flags != nil && flags.Changed(name) {
				return usageErr(fmt.Errorf("--%s only makes sense with --pcap", name))
			}
		}
	}
	if opts.pcap && opts.duration <= 0 {
		return usageErr(errors.New("--duration must be positive"))
	}
	if opts.pcap && opts.maxSize <= 0 {
		return usageErr(errors.New("--max-size must be positive"))
	}
	o := collect.Options{
		PIDs: opts.pids, Ports: opts.ports,
		Snapshots: opts.snapshots, Interval: opts.interval,
		Timeout: opts.timeout, CmdTimeout: opts.cmdTO,
		Logs: opts.logs, LogMaxBytes: int64(opts.logMax),
		LsofAll: opts.lsofAll, JournalSince: opts.since,
		Pcap: opts.pcap, PcapDuration: opts.duration, Snaplen: opts.snaplen,
		PcapMaxBytes: int64(opts.maxSize), Iface: opts.iface,
		Anonymize: opts.anonymize,
		Command:   commandLine(flags),
		Exec:      opts.exec, ReadFile: opts.readFile,
	}
	if err := o.Validate(); err != nil {
		return usageErr(err)
	}
	for _, pid := range opts.pids {
		// A process that died is still worth a bundle: warn and go on.
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			fmt.Fprintf(ios.ErrOut, "netmortem: warning: pid %d: no such process; collecting the rest\n", pid)
		}
	}
	netns, note, err := collect.ResolveNetNS(opts.netns, opts.pids)
	if err != nil {
		return usageErr(err)
	}
	o.NetNS = netns
	if note != "" && !opts.quiet {
		fmt.Fprintf(ios.ErrOut, "netmortem: collect: %s\n", note)
	}

	var w io.Writer
	var tmp *os.File
	if opts.output == "-" {
		if f, ok := ios.Out.(*os.File); ok && isTerminal(f) {
			return usageErr(errors.New("refusing to write a gzip archive to a terminal; redirect stdout or use -o FILE"))
		}
		w = ios.Out
	} else {
		// Write next to the target and rename at the end, so that an
		// interrupted run never leaves a truncated bundle under the name.
		var err error
		tmp, err = os.CreateTemp(filepath.Dir(opts.output), "."+filepath.Base(opts.output)+".*.partial")
		if err != nil {
			return &exitError{exitFindings, fmt.Errorf("create output: %w", err)}
		}
		defer os.Remove(tmp.Name())
		w = tmp
	}

	// Ctrl-C ends the collection like the timeout does: what was gathered
	// is still written.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !opts.quiet {
		o.Progress = newCollectProgress(ios)
	}
	res, err := collect.Run(ctx, w, o)
	if !opts.quiet && ios.ErrIsTTY {
		fmt.Fprint(ios.ErrOut, "\r\033[K")
	}
	if err == nil && tmp != nil {
		err = tmp.Close()
		if err == nil {
			err = os.Rename(tmp.Name(), opts.output)
		}
	}
	if err != nil {
		if tmp != nil {
			tmp.Close()
		}
		return &exitError{exitFindings, fmt.Errorf("collect: %w", err)}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(ios.ErrOut, "netmortem: warning: %s\n", w)
	}
	if !opts.quiet {
		where := opts.output
		if where == "-" {
			where = "stdout"
		}
		fmt.Fprintf(ios.ErrOut, "netmortem: wrote %s: %d files, %.1f MB uncompressed, in %v\n",
			where, res.Files, float64(res.Bytes)/1e6, res.Elapsed.Round(time.Millisecond))
	}
	return nil
}

// newCollectProgress shows one live line on a terminal; elsewhere it prints
// a line only when the phase changes, to keep logs short.
func newCollectProgress(ios *IOStreams) func(collect.Step) {
	last := ""
	return func(s collect.Step) {
		if ios.ErrIsTTY {
			line := fmt.Sprintf("[%d/%d] %s: %s", s.N, s.Total, s.Phase, s.Command)
			if len(line) > 78 {
				line = line[:77] + "…"
			}
			fmt.Fprintf(ios.ErrOut, "\r\033[K%s", line)
			return
		}
		phase := s.Phase
		if strings.HasPrefix(phase, "process ") {
			phase = "processes"
		}
		if phase != last {
			last = phase
			fmt.Fprintf(ios.ErrOut, "netmortem: collect: %s\n", s.Phase)
		}
	}
}

// commandLine is the collector's own command line for the manifest, made
// from the flags that were set (in name order), whatever the binary was
// called; the flags hold no secrets by construction.
func commandLine(flags *pflag.FlagSet) string {
	out := []string{"netmortem", "collect"}
	if flags == nil {
		return strings.Join(out, " ")
	}
	flags.Visit(func(f *pflag.Flag) {
		var vals []string
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
		} else {
			vals = []string{f.Value.String()}
		}
		for _, v := range vals {
			if f.Value.Type() == "bool" {
				out = append(out, "--"+f.Name)
				continue
			}
			if v == "" || strings.ContainsAny(v, " \t'\"$\\;&|<>()*?[]{}~`") {
				v = "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
			}
			out = append(out, "--"+f.Name, v)
		}
	})
	return strings.Join(out, " ")
}
