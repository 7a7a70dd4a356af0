package collect

import (
	"archive/tar"
	"bytes"
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
	w    io.Writer
	gz   *gzip.Writer
	tw   *tar.Writer
	top  string
	dirs map[string]bool
	n    int
	size int64
}

func newBundle(w io.Writer, top string) *bundle {
	gz := gzip.NewWriter(w)
	return &bundle{w: w, gz: gz, tw: tar.NewWriter(gz), top: top, dirs: map[string]bool{}}
}

// fileHeader is the tar header of a regular file.
func fileHeader(full string, size int64, mtime time.Time) *tar.Header {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     full,
		Mode:     0o644,
		Size:     size,
		ModTime:  mtime.Truncate(time.Second),
		Format:   tar.FormatUSTAR,
	}
	if len(full) > 100 {
		hdr.Format = tar.FormatPAX
	}
	return hdr
}

// gzipEntry renders one tar entry (header, data, padding) as a gzip member
// of its own. A gzip stream may hold several members one after another;
// readers (gzip -d, tar, Go's gzip.Reader) join them. This lets a big
// entry be compressed before it is its turn to be written.
func gzipEntry(full string, data []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(fileHeader(full, int64(len(data)), mtime)); err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	// Flush pads the entry; Close would end the archive.
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// addMember writes an entry made by gzipEntry: it ends the current gzip
// member at an entry boundary, copies the ready member, and starts anew.
func (b *bundle) addMember(member []byte, size int64) error {
	if err := b.tw.Flush(); err != nil {
		return err
	}
	if err := b.gz.Close(); err != nil {
		return err
	}
	if _, err := b.w.Write(member); err != nil {
		return err
	}
	b.gz = gzip.NewWriter(b.w)
	b.tw = tar.NewWriter(b.gz)
	b.n++
	b.size += size
	return nil
}

// add writes one file; name is slash-separated and relative to the top
// directory.
func (b *bundle) add(name string, data []byte, mtime time.Time) error {
	full := path.Join(b.top, name)
	if err := b.mkdir(path.Dir(full), mtime); err != nil {
		return err
	}
	if err := b.tw.WriteHeader(fileHeader(full, int64(len(data)), mtime)); err != nil {
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
