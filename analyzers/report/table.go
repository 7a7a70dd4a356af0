package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Table renders the terminal report: findings first, each with its chain,
// evidence and remediation, then what was ruled out, the inputs and the
// warnings.
type Table struct{}

// excerptWidth caps excerpts in the terminal; JSON and markdown keep them whole.
const excerptWidth = 90

// Render writes r as text tables.
func (Table) Render(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	parsed, unknown, perrs := 0, 0, 0
	for _, in := range r.Inputs {
		if in.Kind == "unknown" {
			unknown++
		} else {
			parsed++
		}
		perrs += len(in.Errors) + in.ErrorsDropped
	}
	ew.printf("netmortem: %d finding(s) from %d input(s) (%d parsed, %d unknown, %d parse error(s))\n\n",
		len(r.Findings), len(r.Inputs), parsed, unknown, perrs)

	if len(r.Findings) == 0 {
		ew.printf("No findings: nothing in this bundle points at a known failure mechanism.\n\n")
	} else {
		rows := [][]string{}
		for i, f := range r.Findings {
			role := "caused by " + strings.Join(f.CausedBy, ", ")
			if f.RootCause {
				role = "ROOT CAUSE"
			} else if len(f.CausedBy) == 0 {
				role = "-"
			}
			rows = append(rows, []string{strconv.Itoa(i + 1), f.Severity, f.Confidence, f.ID, hostName(f.Host), role})
		}
		ew.table([]string{"#", "Severity", "Confidence", "Finding", "Host", "Role"}, rows)
		for i, f := range r.Findings {
			ew.printf("\n[%d] %s: %s\n", i+1, f.ID, f.Title)
			ew.printf("    %s\n", f.Summary)
			ew.printf("    window: %s .. %s\n", f.Window.Start, f.Window.End)
			if len(f.Sources) > 0 {
				ew.printf("    sources: %s\n", strings.Join(f.Sources, ", "))
			}
			for _, m := range f.Missing {
				ew.printf("    missing: %s\n", m)
			}
			rows := [][]string{}
			for _, e := range f.Evidence {
				rows = append(rows, []string{e.Ref(), e.Time, clip(e.Text, excerptWidth), e.Note})
			}
			if len(rows) > 0 {
				ew.table([]string{"Evidence", "Time", "Excerpt", "Shows"}, rows)
			}
			for _, rem := range f.Remediation {
				ew.printf("    fix: %s\n", rem)
			}
		}
		ew.printf("\n")
	}
	if len(r.RuledOut) > 0 {
		ew.printf("Ruled out:\n")
		for _, o := range r.RuledOut {
			ew.printf("  - %s (%s): %s\n", o.ID, hostName(o.Host), o.Reason)
		}
		ew.printf("\n")
	}
	rows := [][]string{}
	for _, in := range r.Inputs {
		errs := strconv.Itoa(len(in.Errors) + in.ErrorsDropped)
		rows = append(rows, []string{in.Path, hostName(in.Host), in.Kind, strconv.Itoa(in.Records), errs})
	}
	ew.printf("Inputs:\n")
	ew.table([]string{"File", "Host", "Kind", "Records", "Errors"}, rows)
	for _, in := range r.Inputs {
		for _, e := range in.Errors {
			ew.printf("  %s:%d: %s\n", in.Path, e.Line, e.Message)
		}
		if in.ErrorsDropped > 0 {
			ew.printf("  %s: and %d more errors\n", in.Path, in.ErrorsDropped)
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, wn := range r.Warnings {
			ew.printf("  - %s\n", wn)
		}
	}
	return ew.err
}

func hostName(h string) string {
	if h == "" {
		return "-"
	}
	return h
}

// clip shortens s to n runes for the terminal, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) table(header []string, rows [][]string) {
	if e.err != nil {
		return
	}
	t := tablewriter.NewTable(e.w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		e.err = err
		return
	}
	e.err = t.Render()
}
