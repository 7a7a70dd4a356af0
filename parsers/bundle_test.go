package parsers

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type entry struct {
	name, link string
	typ        byte
	body       string
	size       int64 // when > 0: that many zero bytes instead of body
}

func writeTarGz(t testing.TB, path string, entries []entry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if e.size > 0 {
			h.Size = e.size
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.size > 0 {
			if _, err := io.CopyN(tw, zeros{}, e.size); err != nil {
				t.Fatal(err)
			}
		} else if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	tw.Close()
	gz.Close()
}

func writeZip(t testing.TB, path string, entries []entry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch e.typ {
		case tar.TypeSymlink:
			h.SetMode(os.ModeSymlink | 0o777)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.size > 0:
			io.CopyN(w, zeros{}, e.size)
		case e.typ == tar.TypeSymlink:
			io.WriteString(w, e.link)
		default:
			io.WriteString(w, e.body)
		}
	}
	zw.Close()
}

const sampleLimits = `Limit                     Soft Limit           Hard Limit           Units
Max open files            64                   64                   files
`

// TestLoadHostileArchive feeds archives with path escapes, absolute names,
// links and a 1 GiB decompression bomb: each bad entry gets one warning
// naming it, the good entry is still read, nothing is written, and memory
// stays bounded.
func TestLoadHostileArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1 GiB archives")
	}
	dir := t.TempDir()
	bomb := int64(1 << 30)
	entries := []entry{
		{name: "../evil", body: "x"},
		{name: "/etc/x", body: "x"},
		{name: "root-link", typ: tar.TypeSymlink, link: "/"},
		{name: "zeros.bin", size: bomb},
		{name: "limits.txt", body: sampleLimits},
	}
	for _, form := range []string{"tar.gz", "zip"} {
		t.Run(form, func(t *testing.T) {
			path := filepath.Join(dir, "hostile."+form)
			if form == "zip" {
				writeZip(t, path, entries)
			} else {
				writeTarGz(t, path, entries)
			}
			before, _ := os.ReadDir(dir)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			b, err := Load([]string{path}, LoadOptions{})
			runtime.ReadMemStats(&ms1)
			if err != nil {
				t.Fatal(err)
			}
			if grown := ms1.TotalAlloc - ms0.TotalAlloc; grown > 200<<20 {
				t.Errorf("allocated %d MB reading the archive, want < 200 MB", grown>>20)
			}
			for _, bad := range []string{"../evil", "/etc/x", "root-link", "zeros.bin"} {
				n := 0
				for _, w := range b.Warnings {
					if strings.Contains(w, `"`+bad+`"`) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d warnings name %q, want 1; warnings: %q", n, bad, b.Warnings)
				}
			}
			if len(b.Warnings) != 4 {
				t.Errorf("got %d warnings, want 4: %q", len(b.Warnings), b.Warnings)
			}
			if len(b.Files) != 1 || b.Files[0].Path != "limits.txt" {
				t.Fatalf("files read: %+v, want only limits.txt", b.Files)
			}
			after, _ := os.ReadDir(dir)
			if len(after) != len(before) {
				t.Errorf("the temp dir changed from %d to %d entries: something was written", len(before), len(after))
			}
			if _, err := os.Stat(filepath.Join(dir, "..", "evil")); err == nil {
				t.Error("../evil was written")
			}
		})
	}
}

// TestLoadForms checks that a directory, its .tar.gz and its .zip give the
// same files, hosts and records.
func TestLoadForms(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "incident")
	files := map[string]string{
		"web-1/hostname":    "web-1\n",
		"web-1/limits.txt":  sampleLimits,
		"web-2/hostname":    "web-2\n",
		"web-2/limits.txt":  sampleLimits,
		"web-2/random.bin":  "\x00\x01\x02garbage",
		"notes/README.text": "collected by hand\n",
	}
	var entries []entry
	for name, body := range files {
		p := filepath.Join(bundle, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{name: "incident/" + name, body: body})
	}
	writeTarGz(t, filepath.Join(dir, "b.tgz"), entries)
	writeZip(t, filepath.Join(dir, "b.zip"), entries)

	summary := func(path string) string {
		b, err := Load([]string{path}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var s strings.Builder
		for _, f := range b.Files {
			s.WriteString(f.Path + " host=" + f.Host + " kind=" + f.Kind + "\n")
		}
		s.Write(dumpEvidence(b))
		return s.String()
	}
	want := summary(bundle)
	for _, name := range []string{"b.tgz", "b.zip"} {
		if got := summary(filepath.Join(dir, name)); got != want {
			t.Errorf("%s differs from the directory:\n%s", name, firstDiff(want, got))
		}
	}
	if !strings.Contains(want, "web-1/limits.txt host=web-1") || !strings.Contains(want, "web-2/limits.txt host=web-2") {
		t.Errorf("hosts not taken from hostname files:\n%s", want)
	}
	if !strings.Contains(want, "web-2/random.bin host=web-2 kind=unknown") {
		t.Errorf("binary file not listed as unknown:\n%s", want)
	}
}

func dumpEvidence(b *Bundle) []byte {
	in := &Input{Out: b.Evidence}
	return dump(in)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		paths []string
		stdin io.Reader
		want  string // in the error or warnings
		err   bool
	}{
		{"missing", []string{filepath.Join(dir, "nope")}, nil, "no such file", true},
		{"missing and present", []string{filepath.Join(dir, "nope"), filepath.Join(dir, "l.txt")}, nil, "no such file", false},
		{"stdin", []string{"-"}, strings.NewReader(sampleLimits), "", false},
		{"truncated gzip", []string{filepath.Join(dir, "cut.tgz")}, nil, "unexpected EOF", false},
	}
	os.WriteFile(filepath.Join(dir, "l.txt"), []byte(sampleLimits), 0o644)
	writeTarGz(t, filepath.Join(dir, "full.tgz"), []entry{{name: "a/l.txt", body: sampleLimits}, {name: "a/m.txt", body: strings.Repeat("x", 100000)}})
	full, _ := os.ReadFile(filepath.Join(dir, "full.tgz"))
	os.WriteFile(filepath.Join(dir, "cut.tgz"), full[:len(full)*2/3], 0o644)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Load(tt.paths, LoadOptions{Stdin: tt.stdin})
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			all := strings.Join(b.Warnings, "\n")
			if err != nil {
				all += err.Error()
			}
			if !strings.Contains(all, tt.want) {
				t.Errorf("want %q in %q", tt.want, all)
			}
		})
	}
}

func TestStripTopKeepsHostDir(t *testing.T) {
	dir := t.TempDir()
	writeTarGz(t, filepath.Join(dir, "h.tgz"), []entry{{name: "db-1/hostname", body: "db-1\n"}, {name: "db-1/limits.txt", body: sampleLimits}})
	b, err := Load([]string{filepath.Join(dir, "h.tgz")}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range b.Files {
		paths = append(paths, f.Path+"@"+f.Host)
	}
	if got := strings.Join(paths, ","); got != "db-1/hostname@db-1,db-1/limits.txt@db-1" {
		t.Errorf("paths = %s", got)
	}
}
