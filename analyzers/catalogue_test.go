package analyzers

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/analyzers.md)")

// TestCatalogue keeps docs/analyzers.md equal to the analyzers' own docs.
func TestCatalogue(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCatalogue(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "analyzers.md")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Error("docs/analyzers.md is out of date: run make golden and review the diff")
	}
}

// TestAnalyzerDocs checks each analyzer's shape: a lowercase title line,
// a unique name, thresholds named after it.
func TestAnalyzerDocs(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Suite {
		if seen[a.Name] {
			t.Errorf("duplicate analyzer %s", a.Name)
		}
		seen[a.Name] = true
		title, _, _ := strings.Cut(a.Doc, "\n")
		// Lowercase like go/analysis docs; an acronym (TCP, SYN) may lead.
		capitalised := len(title) > 1 && strings.ToUpper(title[:1]) == title[:1] && strings.ToLower(title[1:2]) == title[1:2]
		if title == "" || capitalised || strings.HasSuffix(title, ".") {
			t.Errorf("%s: Doc title %q: want a lowercase line without a final period", a.Name, title)
		}
		if a.Run == nil {
			t.Errorf("%s: no Run", a.Name)
		}
	}
	for n := range Thresholds {
		id, _, _ := strings.Cut(n, ".")
		if !seen[id] {
			t.Errorf("threshold %s names no analyzer", n)
		}
	}
}
