package analyzers_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
)

// TestBundles runs the suite over every incident bundle under
// testdata/bundles and checks, as go/analysis's analysistest does, both
// that the expected findings are reported and that nothing else above info
// is: a finding not named in expect.yaml's must list fails the test.
func TestBundles(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "bundles", "*", "expect.yaml"))
	if len(dirs) == 0 {
		t.Skip("no incident bundles under testdata/bundles")
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := analyzers.ReadExpectation(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, err := parsers.Load([]string{dir}, parsers.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res := analyzers.Run(analyzers.Suite, b.Evidence, nil)
			for _, e := range res.Errors {
				t.Errorf("analyzer failed: %s", e)
			}
			for _, f := range want.Compare(res.Findings) {
				t.Error(f)
			}
			allowed := map[string]bool{}
			for _, m := range want.Must {
				allowed[m.ID] = true
			}
			for _, f := range res.Findings {
				if f.Severity > analyzers.Info && !allowed[f.ID] {
					t.Errorf("finding %s (%s) on %q is not in expect.yaml's must list: %s", f.ID, f.Severity, f.Host, f.Summary)
				}
				checkEvidence(t, dir, f)
			}
		})
	}
}

// checkEvidence opens every cited line and checks that it holds what the
// excerpt says: each token of the excerpt appears in the line (socket
// excerpts are rebuilt from parsed fields, so state spellings are folded).
func checkEvidence(t *testing.T, dir string, f analyzers.Finding) {
	t.Helper()
	for _, e := range f.Evidence {
		if e.Ref.Line == 0 {
			if e.Ref.Frame == 0 {
				t.Errorf("%s: evidence %q has neither line nor frame", f.ID, e.Ref.File)
			}
			continue
		}
		line, err := readLine(filepath.Join(dir, filepath.FromSlash(e.Ref.File)), e.Ref.Line)
		if err != nil {
			t.Errorf("%s: evidence %s: %v", f.ID, e.Ref, err)
			continue
		}
		norm := fold(line)
		for _, tok := range strings.Fields(e.Text) {
			if !strings.Contains(norm, fold(tok)) {
				t.Errorf("%s: evidence %s: %q is not in the line %q", f.ID, e.Ref, tok, line)
				break
			}
		}
	}
}

func fold(s string) string {
	s = strings.NewReplacer("-", "_", "ESTAB ", "ESTABLISHED ", "[", "", "]", "").Replace(s)
	// ss prints FIN-WAIT-1, netstat and the model FIN_WAIT1.
	s = strings.NewReplacer("FIN_WAIT_1", "FIN_WAIT1", "FIN_WAIT_2", "FIN_WAIT2").Replace(s)
	return s
}

func readLine(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			return sc.Text(), nil
		}
	}
	return "", os.ErrNotExist
}
