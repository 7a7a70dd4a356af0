package parsers

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// corpusDir returns the shared corpus of real artifacts (../shared/corpus
// beside the module root), skipping the test when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("corpus not present beside the module (%v)", err)
	}
	return c
}

// parseText runs p over text as file path and returns the input with its
// records and errors. The collection header, if any, is handled as the
// bundle walker does.
func parseText(t testing.TB, p *Parser, path, text string) *Input {
	t.Helper()
	return ParseBytes(p, path, []byte(text))
}

// errorStrings renders an input's errors one per line.
func errorStrings(in *Input) []string {
	errs, dropped := in.Errors()
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	if dropped > 0 {
		out = append(out, fmt.Sprintf("and %d more errors", dropped))
	}
	return out
}

// dump renders an input's records and errors deterministically for golden
// files.
func dump(in *Input) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in.Out); err != nil {
		panic(err)
	}
	b.WriteString("errors:\n")
	for _, e := range errorStrings(in) {
		b.WriteString("  " + e + "\n")
	}
	return b.Bytes()
}

// golden compares got with testdata/golden/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from golden (run go test -update and review the diff):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n-want %q\n+got  %q", i+1, w, g)
		}
	}
	return ""
}

// checkRefs asserts the fuzz/golden property that every record points into
// the file it came from.
func checkRefs(t testing.TB, in *Input) {
	t.Helper()
	bad := func(kind string, r event.Ref) {
		if r.File != in.Path || (r.Line < 0) || (r.Line == 0 && r.Frame == 0) {
			t.Errorf("%s record with invalid ref %+v", kind, r)
		}
	}
	for _, s := range in.Out.Sockets {
		bad("socket", s.Ref)
	}
	for _, s := range in.Out.Limits {
		bad("limit", s.Ref)
	}
	for _, s := range in.Out.Sysctls {
		bad("sysctl", s.Ref)
	}
	for _, s := range in.Out.Counters {
		bad("counter", s.Ref)
	}
	for _, s := range in.Out.Logs {
		bad("log", s.Ref)
	}
	for _, s := range in.Out.Processes {
		bad("process", s.Ref)
	}
}
