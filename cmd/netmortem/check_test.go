package main

import (
	"encoding/xml"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies a bundle so a test can break it.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckCatchesBrokenDetections breaks the fd-exhaustion bundle two
// ways (an evidence file removed, an expectation flipped) and checks that
// `check` fails naming the bundle and the finding, with JUnit XML in the
// testsuites/testsuite/testcase/failure shape.
func TestCheckCatchesBrokenDetections(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "bundles", "fd-exhaustion")
	if _, err := os.Stat(filepath.Join(src, "expect.yaml")); err != nil {
		t.Skip("fd-exhaustion bundle not present")
	}
	lib := t.TempDir()
	good := filepath.Join(lib, "intact")
	copyDir(t, src, good)

	noLog := filepath.Join(lib, "no-app-log")
	copyDir(t, src, noLog)
	if err := os.RemoveAll(filepath.Join(noLog, "server", "logs")); err != nil {
		t.Fatal(err)
	}

	flipped := filepath.Join(lib, "flipped")
	copyDir(t, src, flipped)
	os.WriteFile(filepath.Join(flipped, "expect.yaml"), []byte("must: []\nmust_not:\n  - id: fd-exhaustion\n"), 0o644)

	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, errOut, code := runCmd(t, "", "check", "--junit", junit, lib)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFindings, out, errOut)
	}
	for _, want := range []string{
		"PASS intact",
		"FAIL no-app-log",
		"finding fd-exhaustion: severity high, want critical",
		"FAIL flipped",
		"unexpected finding fd-exhaustion",
		"1 passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Tests != 3 || doc.Suites[0].Failures != 2 {
		t.Fatalf("junit suite = %+v", doc.Suites)
	}
	failed := map[string]string{}
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "" || c.Classname == "" || c.Time == "" {
			t.Errorf("testcase lacks name, classname or time: %+v", c)
		}
		if c.Failure != nil {
			failed[c.Name] = c.Failure.Message + "\n" + c.Failure.Text
		}
	}
	if !strings.Contains(failed["no-app-log"], "fd-exhaustion") || !strings.Contains(failed["flipped"], "fd-exhaustion") {
		t.Errorf("junit failures = %q", failed)
	}
}

func TestCheckUsage(t *testing.T) {
	_, _, code := runCmd(t, "", "check")
	if code != exitUsage {
		t.Errorf("no args: exit %d, want %d", code, exitUsage)
	}
	_, errOut, code := runCmd(t, "", "check", t.TempDir())
	if code != exitInput || !strings.Contains(errOut, "no bundle") {
		t.Errorf("empty library: exit %d (%s), want %d", code, errOut, exitInput)
	}
}
