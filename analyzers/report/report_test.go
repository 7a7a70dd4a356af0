package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
	"github.com/netmortem/netmortem/parsers/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture is a small report with every section filled, including text that
// needs escaping (a pipe, HTML-looking kernel levels, backticks).
func fixture() *Report {
	t0 := time.Date(2026, 11, 21, 21, 54, 54, 0, time.UTC)
	ev := &event.Evidence{
		Snapshots: []event.Snapshot{{Meta: event.Meta{Ref: event.Ref{File: "server/ss.1.txt", Line: 1}, Time: t0, Host: "server"}, Source: "ss", Sockets: 70}},
		Logs: []event.LogEvent{
			{Meta: event.Meta{Ref: event.Ref{File: "server/app.log", Line: 7}, Time: t0.Add(-time.Minute), Host: "server"}, Signature: "emfile", Text: "2026/11/21 21:53:54 http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 5ms", Count: 1},
			{Meta: event.Meta{Ref: event.Ref{File: "server/dmesg.txt", Line: 3}, Time: t0.Add(-30 * time.Second), Host: "server"}, Signature: "syn-flood", Text: "<4>TCP: request_sock_TCP: Possible SYN flooding on port 8080 | `x`", Count: 3},
		},
	}
	b := &parsers.Bundle{
		Files: []*parsers.File{
			{Path: "server/app.log", Host: "server", Kind: "applog", Records: 1},
			{Path: "server/limits.txt", Host: "server", Kind: "proc-limits", Records: 16,
				Errors: []error{&event.ParseError{File: "server/limits.txt", Line: 4, Err: errors.New("unknown limit \"Max foo\"")}}},
			{Path: "server/random.bin", Host: "server", Kind: "unknown"},
		},
		Evidence: ev,
		Warnings: []string{"server/dmesg.txt: 1 line has no boot time; its time is unknown"},
	}
	res := analyzers.Result{
		Findings: []analyzers.Finding{
			{ID: "fd-exhaustion", Host: "server", Title: "file descriptors exhausted", Severity: analyzers.Critical,
				Confidence: analyzers.HighConfidence, CausedBy: []string{"pool-saturation"},
				Summary: "app (pid 42) holds 64 of its 64 file descriptors (100%)",
				Window:  analyzers.Window{Start: t0.Add(-time.Minute), End: t0},
				Evidence: []analyzers.Evidence{
					{Ref: event.Ref{File: "server/limits.txt", Line: 9}, Text: "Max open files            64                   64                   files", Note: "nofile soft limit 64"},
					{Ref: ev.Logs[0].Ref, Time: ev.Logs[0].Time, Text: ev.Logs[0].Text, Note: "EMFILE"},
					{Ref: event.Ref{File: "server/cap.pcap", Frame: 17}, Time: t0, Text: "10.0.0.2:40000 -> 10.0.0.1:8080 handshake-then-rst", Note: "reset after handshake"},
				},
				Remediation: []string{"raise LimitNOFILE | and fix the leak"},
				Sources:     []string{"fd count vs limit", "log EMFILE", "capture"},
				Missing:     []string{},
			},
			{ID: "syn-flood", Host: "server", Title: "SYN flood", Severity: analyzers.Info, Summary: "unknown time evidence",
				Evidence: []analyzers.Evidence{{Ref: event.Ref{File: "server/dmesg.txt", Line: 4}, Text: "<4>[  12.5] TCP: drop", Note: "time unknown"}}},
			{ID: "pool-saturation", Host: "server", Title: "database pool saturated", Severity: analyzers.High,
				Confidence: analyzers.MediumConfidence, RootCause: true, Summary: "requests waited for a pool slot",
				Missing: []string{"no pool metrics in the bundle"}},
		},
		RuledOut: []analyzers.RuledOut{{ID: "tw-bucket-overflow", Host: "server", Reason: "TIME_WAIT 3 of 131072"}},
		Errors:   []string{"broken: internal error: boom"},
	}
	return Build(b, res, Meta{})
}

func TestRenderGolden(t *testing.T) {
	for name, r := range Formats {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.Render(&buf, fixture()); err != nil {
				t.Fatal(err)
			}
			golden(t, "fixture."+name, buf.Bytes())
			var again bytes.Buffer
			r.Render(&again, fixture())
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("two renders of the same report differ")
			}
		})
	}
}

// TestJSONContract checks the contract's shape: field names, [] not null.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	empty := Build(&parsers.Bundle{Evidence: &event.Evidence{}}, analyzers.Result{}, Meta{})
	if err := (JSON{}).Render(&buf, empty); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "null") {
		t.Errorf("empty report has null:\n%s", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "inputs", "findings", "timeline", "warnings", "ruled_out"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing top-level key %q", k)
		}
	}
	buf.Reset()
	(JSON{}).Render(&buf, fixture())
	var full struct {
		Findings []map[string]any `json:"findings"`
		Inputs   []map[string]any `json:"inputs"`
	}
	json.Unmarshal(buf.Bytes(), &full)
	for _, k := range []string{"id", "title", "severity", "confidence", "root_cause", "caused_by", "summary", "window", "evidence", "remediation"} {
		if _, ok := full.Findings[0][k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	for _, k := range []string{"path", "host", "kind", "records", "errors"} {
		if _, ok := full.Inputs[0][k]; !ok {
			t.Errorf("input lacks %q", k)
		}
	}
	if full.Findings[0]["id"] != "pool-saturation" {
		t.Errorf("root cause not first: %v", full.Findings[0]["id"])
	}
	if !strings.Contains(buf.String(), `"<4>TCP`) {
		t.Error("HTML escaping is on: kernel levels must stay readable")
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs; run go test -update and review the diff.\ngot:\n%s", path, got)
	}
}
