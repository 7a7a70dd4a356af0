package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
	"github.com/netmortem/netmortem/parsers/event"
)

// chartFixture has three ss snapshots with CLOSE_WAIT rising, a TIME_WAIT
// limit, a process against its fd limit and timed log events.
func chartFixture() *Report {
	t0 := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	ev := &event.Evidence{}
	for i := 0; i < 3; i++ {
		m := event.Meta{Ref: event.Ref{File: "ss." + string(rune('1'+i)), Line: 1}, Time: t0.Add(time.Duration(i) * time.Minute)}
		k := ev.AddSnapshot(event.Snapshot{Meta: m, Source: "ss"})
		for j := 0; j <= i*10; j++ {
			ev.Sockets = append(ev.Sockets, event.Socket{Meta: m, Snapshot: k, Proto: "tcp", State: event.StateCloseWait})
		}
		ev.Sockets = append(ev.Sockets, event.Socket{Meta: m, Snapshot: k, Proto: "tcp", State: event.StateTimeWait})
	}
	ev.Sysctls = append(ev.Sysctls, event.Sysctl{Key: "net.ipv4.tcp_max_tw_buckets", Value: "64"})
	ev.Processes = append(ev.Processes, event.Process{PID: 7, Name: "app \"x\"", FDs: 60})
	ev.Limits = append(ev.Limits, event.Limit{Resource: "nofile", Soft: 64, Hard: 64, PID: 7, Scope: "process"})
	for i := 0; i < 5; i++ {
		ev.Logs = append(ev.Logs, event.LogEvent{Meta: event.Meta{Ref: event.Ref{File: "app.log", Line: i + 1}, Time: t0.Add(time.Duration(i) * 20 * time.Second)},
			Signature: "emfile", Text: "accept4: too many open files | pipe", Count: 1})
	}
	b := &parsers.Bundle{Evidence: ev, Files: []*parsers.File{{Path: "a|b.txt", Kind: "ss", Records: 3}}}
	return Build(b, analyzers.Result{Findings: []analyzers.Finding{{ID: "fd-exhaustion", Title: "fds | exhausted", Severity: analyzers.High,
		Summary: "a <b>bold</b> claim with *stars*", Evidence: []analyzers.Evidence{{Ref: event.Ref{File: "app.log", Line: 1}, Text: "x | y `z`", Note: "n|m"}}}}}, Meta{Title: "T"})
}

// TestMarkdownStructure parses the draft with a CommonMark+GFM parser and
// checks the structure survived escaping: every table row has as many
// cells as its header, the sections are headings, and each chart is a
// mermaid code block whose grammar holds.
func TestMarkdownStructure(t *testing.T) {
	for name, r := range map[string]*Report{"fixture": fixture(), "charts": chartFixture()} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := (Markdown{}).Render(&buf, r); err != nil {
				t.Fatal(err)
			}
			src := buf.Bytes()
			md := goldmark.New(goldmark.WithExtensions(extension.GFM))
			doc := md.Parser().Parse(text.NewReader(src))
			headings := map[string]bool{}
			mermaid := 0
			ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
				if !entering {
					return ast.WalkContinue, nil
				}
				switch n := n.(type) {
				case *ast.Heading:
					headings[string(n.Lines().Value(src))] = true
				case *east.Table:
					cols := -1
					for row := n.FirstChild(); row != nil; row = row.NextSibling() {
						c := row.ChildCount()
						if cols == -1 {
							cols = c
						} else if c != cols {
							t.Errorf("table row with %d cells under a %d-column header", c, cols)
						}
					}
				case *ast.FencedCodeBlock:
					if string(n.Language(src)) == "mermaid" {
						mermaid++
						var body strings.Builder
						for i := 0; i < n.Lines().Len(); i++ {
							seg := n.Lines().At(i)
							body.Write(seg.Value(src))
						}
						if err := checkXYChart(body.String()); err != nil {
							t.Errorf("mermaid block: %v\n%s", err, body.String())
						}
					}
				case *ast.RawHTML, *ast.HTMLBlock:
					t.Errorf("raw HTML reached the markdown: %q", n.Lines().Value(src))
				}
				return ast.WalkContinue, nil
			})
			for _, h := range []string{"Summary", "Impact", "Timeline (UTC)", "Root cause and causal chain", "Ruled out", "Action items", "Open questions and missing data", "Inputs"} {
				if !headings[h] {
					t.Errorf("no %q heading", h)
				}
			}
			if want := len(charts(r.evidence)); mermaid != want {
				t.Errorf("%d mermaid blocks, want %d", mermaid, want)
			}
			if name == "charts" && mermaid < 3 {
				t.Errorf("chart fixture drew %d charts, want state, TIME_WAIT, fds and events", mermaid)
			}
		})
	}
}

var (
	xyTitle = regexp.MustCompile(`^title "[^"]*"$`)
	xyXAxis = regexp.MustCompile(`^x-axis "[^"]*" \[("[^"]*")(, "[^"]*")*\]$`)
	xyYAxis = regexp.MustCompile(`^y-axis "[^"]*" -?\d+ --> -?\d+$`)
	xyData  = regexp.MustCompile(`^(line|bar) \[(-?\d+(\.\d+)?)(, -?\d+(\.\d+)?)*\]$`)
)

// checkXYChart checks the xychart-beta grammar netmortem emits: the
// header, one title, one x-axis of quoted labels, one y-axis range, and
// data series as long as the x-axis.
func checkXYChart(body string) error {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[0]) != "xychart-beta" {
		return errorf("want xychart-beta and at least title, axes and one series")
	}
	nx := -1
	for i, l := range lines[1:] {
		l = strings.TrimSpace(l)
		switch {
		case i == 0:
			if !xyTitle.MatchString(l) {
				return errorf("bad title %q", l)
			}
		case i == 1:
			if !xyXAxis.MatchString(l) {
				return errorf("bad x-axis %q", l)
			}
			nx = strings.Count(l, `"`)/2 - 1
		case i == 2:
			if !xyYAxis.MatchString(l) {
				return errorf("bad y-axis %q", l)
			}
		default:
			if !xyData.MatchString(l) {
				return errorf("bad series %q", l)
			}
			if n := strings.Count(l, ",") + 1; n != nx {
				return errorf("series of %d values on an x-axis of %d", n, nx)
			}
		}
	}
	return nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
