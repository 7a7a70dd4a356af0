// Package analyzers names root causes. Each Analyzer is a value that reads
// the evidence model (package event) through a Pass and reports Findings:
// one mechanism, the lines and frames that prove it, how confident it is,
// what it causes or is caused by, and what to do about it. Analyzers never
// read files; the Suite is an explicit ordered list.
package analyzers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Severity of a finding, most severe first.
type Severity int

// Severities. Info is for context that explains, never for a problem.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == strings.ToLower(name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, high, medium, low or info)", name)
}

// Confidence in a finding.
type Confidence int

// Confidences rise with independent sources agreeing.
const (
	LowConfidence Confidence = iota
	MediumConfidence
	HighConfidence
)

func (c Confidence) String() string {
	switch c {
	case HighConfidence:
		return "high"
	case MediumConfidence:
		return "medium"
	}
	return "low"
}

// Evidence is one cited line or frame with what it shows.
type Evidence struct {
	Ref  event.Ref
	Time time.Time
	Text string // the excerpt: the line as it was, or a frame summary
	Note string // what it shows
}

// Window is the time span a finding covers; zero ends are unknown.
type Window struct {
	Start, End time.Time
}

// Finding names one mechanism on one host.
type Finding struct {
	ID          string // the mechanism: fd-exhaustion, close-wait-leak, ...
	Host        string
	Title       string
	Severity    Severity
	Confidence  Confidence
	RootCause   bool     // set by the suite: nothing it links to causes it
	CausedBy    []string // mechanism ids on the same host
	Summary     string
	Window      Window
	Evidence    []Evidence
	Remediation []string
	// Sources lists the kinds of evidence that agreed; Missing the kinds
	// whose absence limited the confidence ("no capture in bundle: ...").
	Sources []string
	Missing []string
}

// RuledOut records a mechanism whose symptoms partly matched and why it was
// excluded: the differential diagnosis.
type RuledOut struct {
	ID     string
	Host   string
	Reason string
}

// Analyzer is one mechanism's detector.
type Analyzer struct {
	Name string // the finding id it reports
	// Doc: first line a lowercase title, then what it looks at.
	Doc string
	Run func(*Pass) error
}

// Pass is what an analyzer sees: the evidence, the thresholds, and the
// findings of analyzers that ran before it.
type Pass struct {
	Analyzer *Analyzer
	Evidence *event.Evidence
	Config   *Config
	prior    []Finding
	found    []Finding
	ruled    []RuledOut
}

// Report adds a finding. The analyzer's name is its id when it sets none.
func (p *Pass) Report(f Finding) {
	if f.ID == "" {
		f.ID = p.Analyzer.Name
	}
	p.found = append(p.found, f)
}

// RuleOut records why the mechanism was excluded on host.
func (p *Pass) RuleOut(host, format string, args ...any) {
	p.ruled = append(p.ruled, RuledOut{ID: p.Analyzer.Name, Host: host, Reason: fmt.Sprintf(format, args...)})
}

// Prior returns the findings of earlier analyzers with this id on host.
func (p *Pass) Prior(id, host string) *Finding {
	for i := range p.prior {
		if p.prior[i].ID == id && p.prior[i].Host == host {
			return &p.prior[i]
		}
	}
	return nil
}

// Result is the outcome of running the suite.
type Result struct {
	Findings []Finding
	RuledOut []RuledOut
	Errors   []string // analyzers that failed; the others still ran
}

// Run runs every analyzer of suite in order over ev. A failing or
// panicking analyzer becomes an error entry; the rest still run.
func Run(suite []*Analyzer, ev *event.Evidence, cfg *Config) Result {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	var res Result
	for _, a := range suite {
		pass := &Pass{Analyzer: a, Evidence: ev, Config: cfg, prior: res.Findings}
		if err := runOne(a, pass); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", a.Name, err))
			continue
		}
		res.Findings = append(res.Findings, pass.found...)
		res.RuledOut = append(res.RuledOut, pass.ruled...)
	}
	link(res.Findings)
	SortFindings(res.Findings)
	sort.SliceStable(res.RuledOut, func(i, j int) bool {
		a, b := res.RuledOut[i], res.RuledOut[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.ID < b.ID
	})
	return res
}

func runOne(a *Analyzer, p *Pass) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error: %v", v)
		}
	}()
	return a.Run(p)
}

// link keeps only causal links to findings that exist on the same host and
// marks roots: a finding with no surviving cause.
func link(fs []Finding) {
	have := map[string]bool{}
	for _, f := range fs {
		have[f.Host+"\x00"+f.ID] = true
	}
	for i := range fs {
		var kept []string
		for _, c := range fs[i].CausedBy {
			if have[fs[i].Host+"\x00"+c] && c != fs[i].ID {
				kept = append(kept, c)
			}
		}
		sort.Strings(kept)
		fs[i].CausedBy = kept
		fs[i].RootCause = len(kept) == 0 && fs[i].Severity > Info
	}
}

// SortFindings orders root causes first, then by severity, host and id.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.RootCause != b.RootCause {
			return a.RootCause
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.ID < b.ID
	})
}
