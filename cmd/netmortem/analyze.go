package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/analyzers/report"
	"github.com/netmortem/netmortem/parsers"
)

// analyzeOptions are the flags of `netmortem analyze`.
type analyzeOptions struct {
	io *IOStreams

	Paths       []string
	Format      string
	Output      string
	FailOn      string
	Year        int
	TZ          string
	Set         []string
	Healthcheck []string
	Quiet       bool
	Title       string
	Author      string
	IncidentID  string
	Limits      parsers.Limits
}

func newAnalyzeCmd(ios *IOStreams) *cobra.Command {
	opts := &analyzeOptions{io: ios, Limits: parsers.DefaultLimits}
	cmd := &cobra.Command{
		Use:   "analyze PATH...",
		Short: "Find the root cause in a bundle of artifacts",
		Long: `Analyze reads a bundle (a directory, .tar, .tar.gz/.tgz, .zip, single files,
or - for standard input), detects each file's kind by its content, parses
it into one evidence model, runs every analyzer and prints the report.

Exit codes: 0 done and nothing at or above --fail-on; 1 a finding at or
above --fail-on; 2 usage error; 3 no input could be read or parsed.`,
		Example: `  netmortem analyze bundle.tar.gz
  netmortem analyze --format markdown -o postmortem.md web-1/
  netmortem analyze --format json --fail-on high bundle/ > report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("analyze needs at least one PATH (a directory, archive, file, or -)"))
			}
			opts.Paths = args
			return analyzeRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "", "output format: table, markdown or json (default: table on a terminal, else table)")
	f.StringVarP(&opts.Output, "output", "o", "", "write the report to FILE instead of standard output")
	f.StringVar(&opts.FailOn, "fail-on", "", "exit 1 when a finding reaches this severity: critical, high, medium, low or info")
	f.IntVar(&opts.Year, "year", 0, "year for log stamps printed without one (default: from the bundle's clock)")
	f.StringVar(&opts.TZ, "tz", "", "zone for log stamps printed without one, e.g. Asia/Shanghai or +08:00 (default: from the bundle)")
	f.StringArrayVar(&opts.Set, "set", nil, "override a threshold, name=value (see 'netmortem formats --thresholds')")
	f.StringArrayVar(&opts.Healthcheck, "healthcheck-cidr", nil, "add a load-balancer health-check source range (CIDR)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress or warnings on standard error")
	f.StringVar(&opts.Title, "title", "", "postmortem title (markdown)")
	f.StringVar(&opts.Author, "author", "", "postmortem author (markdown)")
	f.StringVar(&opts.IncidentID, "incident-id", "", "incident id (markdown)")
	f.Int64Var(&opts.Limits.MaxEntrySize, "max-entry-size", parsers.DefaultLimits.MaxEntrySize, "largest archive entry read, in bytes (uncompressed)")
	f.Int64Var(&opts.Limits.MaxTotalSize, "max-total-size", parsers.DefaultLimits.MaxTotalSize, "most bytes read from archives in all (uncompressed)")
	f.IntVar(&opts.Limits.MaxEntries, "max-entries", parsers.DefaultLimits.MaxEntries, "most files read from a bundle")
	return cmd
}

// analyzeBundle loads the bundle, runs the suite and builds the report.
func analyzeBundle(opts *analyzeOptions) (*report.Report, error) {
	b, res, err := analyzeFindings(opts)
	if err != nil {
		return nil, err
	}
	return report.Build(b, res, report.Meta{Title: opts.Title, Author: opts.Author, IncidentID: opts.IncidentID}), nil
}

// analyzeFindings loads the bundle and runs the suite.
func analyzeFindings(opts *analyzeOptions) (*parsers.Bundle, analyzers.Result, error) {
	var none analyzers.Result
	cfg := analyzers.DefaultConfig()
	if err := cfg.Set(opts.Set); err != nil {
		return nil, none, usageErr(err)
	}
	for _, c := range opts.Healthcheck {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, none, usageErr(fmt.Errorf("--healthcheck-cidr %q: %w", c, err))
		}
		cfg.HealthcheckCIDRs = append(cfg.HealthcheckCIDRs, p.Masked())
	}
	lo := parsers.LoadOptions{
		Options: parsers.Options{Year: opts.Year, TZ: opts.TZ},
		Limits:  opts.Limits,
		Stdin:   opts.io.In,
	}
	if opts.io.ErrIsTTY && !opts.Quiet {
		lo.Progress = func(path string, size int64) {
			if size > 4<<20 {
				fmt.Fprintf(opts.io.ErrOut, "\rreading %s (%d MB)\x1b[K", path, size>>20)
			}
		}
	}
	b, err := parsers.Load(opts.Paths, lo)
	if lo.Progress != nil {
		fmt.Fprint(opts.io.ErrOut, "\r\x1b[K")
	}
	if err != nil {
		return nil, none, inputErr(err)
	}
	if b.Parsed() == 0 {
		kinds := map[string]int{}
		for _, f := range b.Files {
			kinds[f.Kind]++
		}
		msg := fmt.Sprintf("no recognised artifact among %d file(s)", len(b.Files))
		if len(b.Files) > 0 {
			names := []string{}
			for _, f := range b.Files {
				names = append(names, f.Path)
			}
			sort.Strings(names)
			if len(names) > 5 {
				names = append(names[:5], "...")
			}
			msg += " (" + strings.Join(names, ", ") + ")"
		}
		msg += "; run 'netmortem formats' to see what is understood"
		for _, w := range b.Warnings {
			msg += "\n  warning: " + w
		}
		return nil, none, inputErr(errors.New(msg))
	}
	return b, analyzers.Run(analyzers.Suite, b.Evidence, cfg), nil
}

func analyzeRun(opts *analyzeOptions) error {
	format := opts.Format
	if format == "" {
		format = "table"
	}
	renderer, ok := report.Formats[format]
	if !ok {
		return usageErr(fmt.Errorf("--format %q: want table, markdown or json", format))
	}
	var failOn *analyzers.Severity
	if opts.FailOn != "" {
		s, err := analyzers.ParseSeverity(opts.FailOn)
		if err != nil {
			return usageErr(fmt.Errorf("--fail-on: %w", err))
		}
		failOn = &s
	}
	r, err := analyzeBundle(opts)
	if err != nil {
		return err
	}
	if !opts.Quiet {
		for _, w := range r.Warnings {
			fmt.Fprintf(opts.io.ErrOut, "warning: %s\n", w)
		}
	}
	var out io.Writer = opts.io.Out
	if opts.Output != "" && opts.Output != "-" {
		f, err := os.Create(opts.Output)
		if err != nil {
			return inputErr(err)
		}
		defer f.Close()
		out = f
	}
	if err := renderer.Render(out, r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if failOn != nil {
		if max, any := r.MaxSeverity(); any && max >= *failOn {
			return silentExit(exitFindings)
		}
	}
	return nil
}
