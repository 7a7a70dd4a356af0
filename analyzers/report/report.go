// Package report turns analysis results into what people and CI read: a
// terminal table, a markdown postmortem draft, and versioned JSON. Every
// renderer reads the same Report, built once, so the formats never disagree.
package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
	"github.com/netmortem/netmortem/parsers/event"
)

// SchemaVersion is the JSON contract's version; bump it on any breaking
// change and say so in docs/json.md.
const SchemaVersion = 1

// MaxTimeline caps the merged timeline; the report says when it was cut.
const MaxTimeline = 500

// Report is the whole output of one analysis.
type Report struct {
	SchemaVersion int        `json:"schema_version"`
	Meta          Meta       `json:"meta"`
	Inputs        []Input    `json:"inputs"`
	Findings      []Finding  `json:"findings"`
	RuledOut      []RuledOut `json:"ruled_out"`
	Timeline      []Entry    `json:"timeline"`
	Warnings      []string   `json:"warnings"`

	// evidence is kept for renderers that draw charts; not serialised.
	evidence *event.Evidence
}

// Meta carries the postmortem placeholders the user passed.
type Meta struct {
	Title      string `json:"title,omitempty"`
	Author     string `json:"author,omitempty"`
	IncidentID string `json:"incident_id,omitempty"`
}

// Input is one file of the bundle.
type Input struct {
	Path    string       `json:"path"`
	Host    string       `json:"host"`
	Kind    string       `json:"kind"`
	Records int          `json:"records"`
	Errors  []InputError `json:"errors"`
	// ErrorsDropped counts errors past the per-file cap.
	ErrorsDropped int `json:"errors_dropped,omitempty"`
}

// InputError is a positioned parse error.
type InputError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Finding is a finding as the contract shows it.
type Finding struct {
	ID          string     `json:"id"`
	Host        string     `json:"host"`
	Title       string     `json:"title"`
	Severity    string     `json:"severity"`
	Confidence  string     `json:"confidence"`
	RootCause   bool       `json:"root_cause"`
	CausedBy    []string   `json:"caused_by"`
	Summary     string     `json:"summary"`
	Window      Window     `json:"window"`
	Evidence    []Evidence `json:"evidence"`
	Remediation []string   `json:"remediation"`
	Sources     []string   `json:"sources"`
	Missing     []string   `json:"missing"`

	severity analyzers.Severity
}

// Window is a time span; ends are RFC 3339 UTC or "unknown".
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Evidence is one cited line or frame.
type Evidence struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Frame int    `json:"frame,omitempty"`
	Time  string `json:"time"`
	Text  string `json:"text"`
	Note  string `json:"note"`
}

// Ref renders the evidence position as file:line or file#frame=N.
func (e Evidence) Ref() string {
	return event.Ref{File: e.File, Line: e.Line, Frame: e.Frame}.String()
}

// RuledOut is a mechanism considered and excluded.
type RuledOut struct {
	ID     string `json:"id"`
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// Entry is one timeline event.
type Entry struct {
	Time  string `json:"time"`
	Host  string `json:"host"`
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Frame int    `json:"frame,omitempty"`
	Text  string `json:"text"`

	at time.Time
}

// Build assembles the report from a loaded bundle and the suite's result.
func Build(b *parsers.Bundle, res analyzers.Result, meta Meta) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Meta:          meta,
		Inputs:        []Input{},
		Findings:      []Finding{},
		RuledOut:      []RuledOut{},
		Timeline:      []Entry{},
		Warnings:      []string{},
		evidence:      b.Evidence,
	}
	for _, f := range b.Files {
		in := Input{Path: f.Path, Host: f.Host, Kind: f.Kind, Records: f.Records, Errors: []InputError{}, ErrorsDropped: f.Dropped}
		for _, e := range f.Errors {
			ie := InputError{Message: e.Error()}
			var pe *event.ParseError
			if errors.As(e, &pe) {
				ie.Line = pe.Line
				ie.Message = pe.Err.Error()
				if pe.Frame > 0 {
					ie.Message = fmt.Sprintf("frame %d: %s", pe.Frame, ie.Message)
				} else if pe.Offset > 0 {
					ie.Message = fmt.Sprintf("offset %d: %s", pe.Offset, ie.Message)
				}
			}
			in.Errors = append(in.Errors, ie)
		}
		r.Inputs = append(r.Inputs, in)
	}
	fs := append([]analyzers.Finding(nil), res.Findings...)
	analyzers.SortFindings(fs)
	for _, f := range fs {
		r.Findings = append(r.Findings, convert(f))
	}
	for _, o := range res.RuledOut {
		r.RuledOut = append(r.RuledOut, RuledOut{ID: o.ID, Host: o.Host, Reason: o.Reason})
	}
	r.Warnings = append(r.Warnings, b.Warnings...)
	for _, e := range res.Errors {
		r.Warnings = append(r.Warnings, "analyzer "+e)
	}
	if tl := timeline(b.Evidence, res); tl != nil {
		r.Timeline = tl
	}
	if len(r.Timeline) > MaxTimeline {
		r.Warnings = append(r.Warnings, fmt.Sprintf("timeline cut to its first %d of %d events", MaxTimeline, len(r.Timeline)))
		r.Timeline = r.Timeline[:MaxTimeline]
	}
	return r
}

func convert(f analyzers.Finding) Finding {
	out := Finding{
		ID: f.ID, Host: f.Host, Title: f.Title,
		Severity: f.Severity.String(), Confidence: f.Confidence.String(),
		RootCause: f.RootCause, CausedBy: nonNil(f.CausedBy), Summary: f.Summary,
		Window:      Window{Start: event.FormatTime(f.Window.Start), End: event.FormatTime(f.Window.End)},
		Evidence:    []Evidence{},
		Remediation: nonNil(f.Remediation),
		Sources:     nonNil(f.Sources),
		Missing:     nonNil(f.Missing),
		severity:    f.Severity,
	}
	for _, e := range f.Evidence {
		out.Evidence = append(out.Evidence, Evidence{
			File: e.Ref.File, Line: e.Ref.Line, Frame: e.Ref.Frame,
			Time: event.FormatTime(e.Time), Text: e.Text, Note: e.Note,
		})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timeline merges the timed events every source gave: recognised log
// lines, socket snapshots, capture anomalies, and the evidence findings
// cite. Events with an unknown time are left out (they are in the
// evidence tables with "unknown").
func timeline(ev *event.Evidence, res analyzers.Result) []Entry {
	var out []Entry
	seen := map[event.Ref]bool{}
	add := func(t time.Time, host string, ref event.Ref, text string) {
		if t.IsZero() || seen[ref] {
			return
		}
		seen[ref] = true
		out = append(out, Entry{Time: event.FormatTime(t), Host: host, File: ref.File, Line: ref.Line, Frame: ref.Frame, Text: text, at: t})
	}
	// A burst of one signature in one file (229 EMFILE lines) is its
	// first and last line and one entry saying how many came between.
	runs := map[string][]int{}
	var order []string
	for i, l := range ev.Logs {
		if l.Signature == "" || l.Time.IsZero() {
			continue
		}
		k := l.Host + "\x00" + l.Ref.File + "\x00" + l.Signature
		if runs[k] == nil {
			order = append(order, k)
		}
		runs[k] = append(runs[k], i)
	}
	logText := func(l event.LogEvent) string {
		if l.Count > 1 {
			return fmt.Sprintf("%s (×%d)", l.Text, l.Count)
		}
		return l.Text
	}
	const burst = 3 // up to this many lines of a run are all shown
	for _, k := range order {
		idx := runs[k]
		if len(idx) <= burst {
			for _, i := range idx {
				add(ev.Logs[i].Time, ev.Logs[i].Host, ev.Logs[i].Ref, logText(ev.Logs[i]))
			}
			continue
		}
		first, last := ev.Logs[idx[0]], ev.Logs[idx[len(idx)-1]]
		add(first.Time, first.Host, first.Ref, logText(first))
		out = append(out, Entry{Time: event.FormatTime(first.Time), Host: first.Host, File: first.Ref.File,
			Text: fmt.Sprintf("%d more %s lines in %s until %s", len(idx)-2, first.Signature, first.Ref.File, event.FormatTime(last.Time)), at: first.Time})
		add(last.Time, last.Host, last.Ref, logText(last))
	}
	for _, s := range ev.Snapshots {
		add(s.Time, s.Host, s.Ref, fmt.Sprintf("%s snapshot: %d sockets", s.Source, s.Sockets))
	}
	for _, f := range res.Findings {
		for _, e := range f.Evidence {
			text := e.Text
			if text == "" {
				text = e.Note
			}
			add(e.Time, f.Host, e.Ref, text)
		}
	}
	// Equal times keep the order they were added in (deterministic: logs
	// in bundle order, a burst's summary right after its first line).
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// Renderer writes a report in one format.
type Renderer interface {
	Render(w io.Writer, r *Report) error
}

// Formats maps --format names to renderers.
var Formats = map[string]Renderer{
	"table":    Table{},
	"markdown": Markdown{},
	"json":     JSON{},
}

// MaxSeverity returns the highest severity among the findings, and false
// when there are none.
func (r *Report) MaxSeverity() (analyzers.Severity, bool) {
	var max analyzers.Severity
	any := false
	for _, f := range r.Findings {
		if !any || f.severity > max {
			max, any = f.severity, true
		}
	}
	return max, any
}
