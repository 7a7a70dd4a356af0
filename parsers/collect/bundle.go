package collect

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// bundle writes the gzip tar: every entry under one top directory named
// after the host, regular files 0644 and directories 0755 owned by root, in
// the order they are added (the collection plan's order, which does not
// depend on timing).
type bundle struct {
	gz   *gzip.Writer
	tw   *tar.Writer
	top  string
	dirs map[string]bool
	n    int
	size int64
}

func newBundle(w io.Writer, top string) *bundle {
	gz := gzip.NewWriter(w)
	return &bundle{gz: gz, tw: tar.NewWriter(gz), top: top, dirs: map[string]bool{}}
}

// add writes one file; name is slash-separated and relative to the top
// directory.
func (b *bundle) add(name string, data []byte, mtime time.Time) error {
	full := path.Join(b.top, name)
	if err := b.mkdir(path.Dir(full), mtime); err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     full,
		Mode:     0o644,
		Size:     int64(len(data)),
		ModTime:  mtime.Truncate(time.Second),
		Format:   tar.FormatUSTAR,
	}
	if len(full) > 100 {
		hdr.Format = tar.FormatPAX
	}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	if _, err := b.tw.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	b.n++
	b.size += int64(len(data))
	return nil
}

func (b *bundle) mkdir(dir string, mtime time.Time) error {
	if dir == "." || dir == "/" || b.dirs[dir] {
		return nil
	}
	if err := b.mkdir(path.Dir(dir), mtime); err != nil {
		return err
	}
	b.dirs[dir] = true
	hdr := &tar.Header{
		Typeflag: tar.TypeDir,
		Name:     dir + "/",
		Mode:     0o755,
		ModTime:  mtime.Truncate(time.Second),
	}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return nil
}

func (b *bundle) close() error {
	if err := b.tw.Close(); err != nil {
		return err
	}
	return b.gz.Close()
}

// hostDir makes a host name safe as a directory name.
func hostDir(h string) string {
	h = strings.TrimSpace(h)
	var sb strings.Builder
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			sb.WriteRune(c)
		case c == '.' && sb.Len() > 0:
			sb.WriteRune(c)
		default:
			sb.WriteRune('_')
		}
	}
	if sb.Len() == 0 {
		return "host"
	}
	return sb.String()
}
