package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
)

// TestBundlePostmortems keeps a golden markdown draft for every incident
// bundle under testdata/bundles, and docs/sample-postmortem.md equal to the
// fd-exhaustion bundle's real draft.
func TestBundlePostmortems(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bundles", "*", "expect.yaml"))
	if len(dirs) == 0 {
		t.Skip("no incident bundles")
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			b, err := parsers.Load([]string{dir}, parsers.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res := analyzers.Run(analyzers.Suite, b.Evidence, nil)
			var buf bytes.Buffer
			if err := (Markdown{}).Render(&buf, Build(b, res, Meta{IncidentID: "LAB-" + name})); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("bundles", name+".md"), buf.Bytes())
			if name != "fd-exhaustion" {
				return
			}
			sample := filepath.Join("..", "..", "docs", "sample-postmortem.md")
			if *update {
				os.WriteFile(sample, buf.Bytes(), 0o644)
				return
			}
			if got, _ := os.ReadFile(sample); !bytes.Equal(got, buf.Bytes()) {
				t.Error("docs/sample-postmortem.md is not the fd-exhaustion bundle's draft: run make golden")
			}
		})
	}
}
