package main

import (
	"encoding/xml"

	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
)

// checkResult is the outcome for one bundle.
type checkResult struct {
	Bundle   string
	Failures []string
	Duration time.Duration
}

type checkOptions struct {
	io    *IOStreams
	Dir   string
	JUnit string
	Quiet bool
}

func newCheckCmd(ios *IOStreams) *cobra.Command {
	opts := &checkOptions{io: ios}
	cmd := &cobra.Command{
		Use:   "check LIBRARY_DIR",
		Short: "Run netmortem over a library of incident bundles and check each against its expect.yaml",
		Long: `Check analyzes every bundle directory under LIBRARY_DIR that holds an
expect.yaml (or expect.json) and compares the findings with it:

  must:        # findings that must be reported
    - id: fd-exhaustion
      root_cause: true   # optional
      severity: high     # optional
      host: server       # optional
  must_not:    # findings that must not be reported above info
    - id: tw-bucket-overflow

It prints PASS or FAIL per bundle, writes JUnit XML with --junit, and exits 1
when any bundle fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return checkRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.JUnit, "junit", "", "write JUnit XML results to FILE")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print failures only")
	return cmd
}

func checkRun(opts *checkOptions) error {
	bundles, err := findBundles(opts.Dir)
	if err != nil {
		return inputErr(err)
	}
	if len(bundles) == 0 {
		return inputErr(fmt.Errorf("%s: no bundle with an expect.yaml or expect.json", opts.Dir))
	}
	var results []checkResult
	failed := 0
	for _, b := range bundles {
		if opts.io.ErrIsTTY && !opts.Quiet {
			fmt.Fprintf(opts.io.ErrOut, "\rchecking %s\x1b[K", b)
		}
		start := time.Now()
		res := checkBundle(opts, b)
		res.Duration = time.Since(start)
		if opts.io.ErrIsTTY && !opts.Quiet {
			fmt.Fprint(opts.io.ErrOut, "\r\x1b[K")
		}
		results = append(results, res)
		rel, _ := filepath.Rel(opts.Dir, b)
		if len(res.Failures) == 0 {
			if !opts.Quiet {
				fmt.Fprintf(opts.io.Out, "PASS %s\n", filepath.ToSlash(rel))
			}
			continue
		}
		failed++
		fmt.Fprintf(opts.io.Out, "FAIL %s\n", filepath.ToSlash(rel))
		for _, f := range res.Failures {
			fmt.Fprintf(opts.io.Out, "     %s\n", f)
		}
	}
	fmt.Fprintf(opts.io.Out, "%d passed, %d failed\n", len(results)-failed, failed)
	if opts.JUnit != "" {
		if err := writeJUnit(opts.JUnit, opts.Dir, results); err != nil {
			return inputErr(err)
		}
	}
	if failed > 0 {
		return silentExit(exitFindings)
	}
	return nil
}

// findBundles returns the directories under dir holding an expectation,
// sorted; dir itself counts.
func findBundles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (d.Name() == "expect.yaml" || d.Name() == "expect.json") {
			out = append(out, filepath.Dir(p))
		}
		return nil
	})
	sort.Strings(out)
	return slices.Compact(out), err
}

func checkBundle(opts *checkOptions, dir string) checkResult {
	res := checkResult{Bundle: dir}
	exp, err := analyzers.ReadExpectation(dir)
	if err != nil {
		res.Failures = append(res.Failures, err.Error())
		return res
	}
	_, res2, err := analyzeFindings(&analyzeOptions{io: &IOStreams{ErrOut: opts.io.ErrOut}, Paths: []string{dir}, Limits: parsers.DefaultLimits})
	if err != nil {
		res.Failures = append(res.Failures, "analyze: "+err.Error())
		return res
	}
	res.Failures = exp.Compare(res2.Findings)
	return res
}

func hostName(h string) string {
	if h == "" {
		return "-"
	}
	return h
}

// JUnit XML in the shape every CI system reads.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(path, root string, results []checkResult) error {
	suite := junitSuite{Name: "netmortem check", Tests: len(results)}
	var total time.Duration
	for _, r := range results {
		rel, _ := filepath.Rel(root, r.Bundle)
		c := junitCase{Name: filepath.ToSlash(rel), Classname: "netmortem.check", Time: secs(r.Duration)}
		if len(r.Failures) > 0 {
			suite.Failures++
			c.Failure = &junitFailure{Message: r.Failures[0], Type: "expectation", Text: strings.Join(r.Failures, "\n")}
		}
		total += r.Duration
		suite.Cases = append(suite.Cases, c)
	}
	suite.Time = secs(total)
	data, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}}, "", "  ")
	if err != nil {
		return err
	}
	data = append([]byte(xml.Header), append(data, '\n')...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
