package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeSample keeps README's sample true: every line of it (but the
// "..." elisions) appears, in order, in the real report of the bundle.
func TestReadmeSample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- sample:begin -->")
	block, _, ok2 := strings.Cut(block, "<!-- sample:end -->")
	_, block, ok3 := strings.Cut(block, "```\n")
	block, _, ok4 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatal("README has no sample block between the markers")
	}
	bundle := filepath.Join("..", "..", "testdata", "bundles", "fd-exhaustion")
	if _, err := os.Stat(bundle); err != nil {
		t.Skip("fd-exhaustion bundle not present")
	}
	out, errOut, code := runCmd(t, "", "analyze", bundle)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rest := out
	for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		if line == "..." {
			continue
		}
		i := strings.Index(rest, line+"\n")
		if i < 0 {
			t.Fatalf("README sample line not in the report (in this order); update README:\n%s", line)
		}
		rest = rest[i+len(line)+1:]
	}
}
