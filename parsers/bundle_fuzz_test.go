package parsers

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadStream feeds arbitrary bytes as a bundle on standard input (tar,
// gzip, zip or a plain file): Load must never panic, and every file it
// reports must have a clean relative path.
func FuzzLoadStream(f *testing.F) {
	dir := f.TempDir()
	writeTarGz(f, filepath.Join(dir, "a.tgz"), []entry{{name: "b/hostname", body: "h\n"}, {name: "b/l.txt", body: sampleLimits}, {name: "../x", body: "x"}})
	writeZip(f, filepath.Join(dir, "a.zip"), []entry{{name: "b/l.txt", body: sampleLimits}, {name: "/abs", body: "x"}})
	for _, n := range []string{"a.tgz", "a.zip"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(sampleLimits))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Load([]string{"-"}, LoadOptions{Stdin: bytes.NewReader(data), Limits: Limits{MaxEntries: 50, MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxStdin: 4 << 20}})
		if err != nil {
			return
		}
		for _, fl := range b.Files {
			if fl.Path == "" || fl.Path[0] == '/' || filepath.Clean(fl.Path) != filepath.FromSlash(fl.Path) {
				t.Errorf("unclean path %q", fl.Path)
			}
		}
	})
}
