package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the CLI with args and returns stdout, stderr and the code.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "binaries")
	os.Mkdir(bin, 0o755)
	for i := 0; i < 5; i++ {
		b := make([]byte, 4096)
		rand.Read(b)
		os.WriteFile(filepath.Join(bin, "blob"+string(rune('a'+i))), b, 0o644)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no args", []string{"analyze"}, exitUsage, "needs at least one PATH"},
		{"bad flag", []string{"analyze", "--nope", "x"}, exitUsage, "unknown flag"},
		{"bad format", []string{"analyze", "--format", "xml", dir}, exitUsage, "--format"},
		{"bad fail-on", []string{"analyze", "--fail-on", "severe", dir}, exitUsage, "--fail-on"},
		{"bad set", []string{"analyze", "--set", "nope=1", dir}, exitUsage, "unknown threshold"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"missing path", []string{"analyze", filepath.Join(dir, "missing")}, exitInput, "no such file"},
		{"dev null", []string{"analyze", os.DevNull}, exitInput, "no recognised artifact"},
		{"random binaries", []string{"analyze", bin}, exitInput, "no recognised artifact"},
		{"version", []string{"version"}, exitOK, ""},
		{"formats", []string{"formats"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCmd(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
			if strings.Count(errOut, "netmortem:") > 1 {
				t.Errorf("error printed more than once: %q", errOut)
			}
		})
	}
}

// bundles returns the incident bundles under testdata, skipping when none.
func bundles(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bundles", "*", "expect.yaml"))
	if len(dirs) == 0 {
		t.Skip("no incident bundles under testdata/bundles")
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	return dirs
}

// TestArchiveFormsSameJSON packs each bundle as .tar.gz and .zip and
// checks the JSON report is byte-identical to the directory's.
func TestArchiveFormsSameJSON(t *testing.T) {
	for _, b := range bundles(t) {
		t.Run(filepath.Base(b), func(t *testing.T) {
			tmp := t.TempDir()
			tgz, zipf := filepath.Join(tmp, "b.tar.gz"), filepath.Join(tmp, "b.zip")
			pack(t, b, tgz, zipf)
			want, errOut, code := runCmd(t, "", "analyze", "--format", "json", b)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, a := range []string{tgz, zipf} {
				got, _, _ := runCmd(t, "", "analyze", "--format", "json", a)
				if got != want {
					t.Errorf("%s: JSON differs from the directory's", filepath.Base(a))
				}
			}
			// And from standard input.
			data, _ := os.ReadFile(tgz)
			got, _, _ := runCmd(t, string(data), "analyze", "--format", "json", "-")
			if got != want {
				t.Error("stdin .tar.gz: JSON differs from the directory's")
			}
			again, _, _ := runCmd(t, "", "analyze", "--format", "json", b)
			if again != want {
				t.Error("two runs over the same bundle differ")
			}
		})
	}
}

// pack writes dir as a .tar.gz and a .zip with one top directory.
func pack(t *testing.T, dir, tgz, zipf string) {
	t.Helper()
	tf, _ := os.Create(tgz)
	defer tf.Close()
	gz := gzip.NewWriter(tf)
	tw := tar.NewWriter(gz)
	zf, _ := os.Create(zipf)
	defer zf.Close()
	zw := zip.NewWriter(zf)
	top := filepath.Base(dir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := top + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
		w, _ := zw.Create(name)
		_, err = io.Copy(w, bytes.NewReader(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	gz.Close()
	zw.Close()
}
