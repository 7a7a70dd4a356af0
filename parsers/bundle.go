package parsers

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"

	"github.com/netmortem/netmortem/parsers/event"
)

// Limits bound what a bundle may make netmortem read. Archives from a sick
// box are untrusted input: an entry or a total over a cap is refused with a
// warning (decompression bombs), and so is anything past MaxEntries.
type Limits struct {
	MaxEntries   int   // files per bundle
	MaxEntrySize int64 // bytes of one archive entry, uncompressed
	MaxTotalSize int64 // bytes of all archive entries, uncompressed
	MaxStdin     int64 // bytes buffered from a zip on stdin
}

// DefaultLimits are generous for real bundles and small for bombs.
var DefaultLimits = Limits{
	MaxEntries:   20000,
	MaxEntrySize: 512 << 20,
	MaxTotalSize: 4 << 30,
	MaxStdin:     1 << 30,
}

// LoadOptions configure Load.
type LoadOptions struct {
	Options
	Limits Limits
	Stdin  io.Reader // read for the path "-"
	// Progress, when set, is told about each file as it is parsed.
	Progress func(path string, size int64)
}

// File is what the walker learnt about one file of the bundle.
type File struct {
	Path    string // slash-separated, inside the bundle
	Host    string
	Kind    string // a parser kind, or "unknown"
	Size    int64
	Header  Header
	Records int
	Errors  []error
	Dropped int // errors past MaxErrorsPerFile

	out *event.Evidence
}

// Bundle is everything read from the paths given to Load.
type Bundle struct {
	Files    []*File // sorted by path
	Evidence *event.Evidence
	Warnings []string
}

// Parsed counts the files of a known kind.
func (b *Bundle) Parsed() int {
	n := 0
	for _, f := range b.Files {
		if f.Kind != KindUnknown && f.Kind != KindEmpty && f.Kind != kindHostname {
			n++
		}
	}
	return n
}

// KindUnknown marks a file no parser recognised; KindEmpty a collected
// file whose command printed nothing.
const (
	KindUnknown = "unknown"
	KindEmpty   = "empty"
)

// kindHostname is the file that names a bundle's host.
const kindHostname = "hostname"

// isHostnameFile reports whether a file names its directory's host: one
// short line, in a file called hostname or captured from the hostname
// command (the collection header says so).
func isHostnameFile(name string, h Header, body []byte) bool {
	cmd, _, _ := strings.Cut(h.Command, " ")
	if path.Base(name) != kindHostname && cmd != "hostname" && h.Command != "uname -n" {
		return false
	}
	line := bytes.TrimSpace(body)
	return len(line) > 0 && len(line) < 256 && bytes.IndexAny(line, "\n\x00 \t") < 0
}

// ErrNoInput is returned by Load when nothing at all could be read.
var ErrNoInput = errors.New("no input could be read")

// loader holds the state of one Load.
type loader struct {
	opts     LoadOptions
	mu       sync.Mutex
	files    []*File
	warnings []string
	total    int64
	entries  int
	jobs     chan func()
	wg       sync.WaitGroup
}

// Load reads every path (directories, archives, single files, "-" for
// stdin), parses each file by its detected kind, and returns the merged
// evidence with hosts and times resolved. Unreadable paths and refused
// archive entries become warnings; Load fails only when nothing was read.
func Load(paths []string, opts LoadOptions) (*Bundle, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	l := &loader{opts: opts, jobs: make(chan func())}
	workers := runtime.GOMAXPROCS(0)
	for i := 0; i < workers; i++ {
		go func() {
			for job := range l.jobs {
				job()
			}
		}()
	}
	read := 0
	var failed *multierror.Error
	for _, p := range paths {
		prefix := ""
		if len(paths) > 1 {
			prefix = path.Base(filepath.ToSlash(p))
			if p == "-" {
				prefix = "stdin"
			}
		}
		if err := l.loadPath(p, prefix); err != nil {
			l.warn("%v", err)
			failed = multierror.Append(failed, err)
			continue
		}
		read++
	}
	l.wg.Wait()
	close(l.jobs)
	if read == 0 {
		// Every path failed: ErrNoInput, with each path's reason.
		failed = multierror.Append(ErrNoInput, failed.WrappedErrors()...)
		failed.ErrorFormat = func(errs []error) string {
			msgs := make([]string, 0, len(errs)-1)
			for _, e := range errs[1:] {
				msgs = append(msgs, e.Error())
			}
			return fmt.Sprintf("%v: %s", errs[0], strings.Join(msgs, "; "))
		}
		return &Bundle{Evidence: &event.Evidence{}, Warnings: l.warnings}, failed
	}
	return l.finish(), nil
}

func (l *loader) warn(format string, args ...any) {
	l.mu.Lock()
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *loader) loadPath(p, prefix string) error {
	if p == "-" {
		if l.opts.Stdin == nil {
			return errors.New("-: no standard input")
		}
		return l.loadStream(l.opts.Stdin, "-", join(prefix, "stdin"), prefix)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err // *PathError names the path
	}
	if fi.IsDir() {
		return l.loadDir(p, prefix)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	name := join(prefix, filepath.Base(p))
	if fi.Mode().IsRegular() {
		if kind := archiveKind(f); kind == "zip" {
			zr, err := zip.NewReader(f, fi.Size())
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			l.loadZip(zr, p, prefix)
			return nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	// Pipes and devices (/dev/null, <(cmd)) are read as streams.
	return l.loadStream(f, p, name, prefix)
}

// archiveKind sniffs a regular file's magic: zip needs random access.
func archiveKind(f *os.File) string {
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	if n == 4 && bytes.Equal(head[:], []byte("PK\x03\x04")) {
		return "zip"
	}
	return ""
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// loadStream reads a stream that may be a tar, a gzip (of a tar or of a
// single file), a zip (buffered, bounded) or one plain file named name.
func (l *loader) loadStream(r io.Reader, src, name, prefix string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		buf, err := io.ReadAll(io.LimitReader(br, l.opts.Limits.MaxStdin+1))
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if int64(len(buf)) > l.opts.Limits.MaxStdin {
			return fmt.Errorf("%s: zip stream over %d bytes; pass it as a file", src, l.opts.Limits.MaxStdin)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf), int64(len(buf)))
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		l.loadZip(zr, src, prefix)
		return nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		if !isTar(gunzipHead(br)) {
			// A single gzipped file (a capture): its parser reads gzip.
			l.parseStream(br, name, -1)
			return nil
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		l.loadTar(tar.NewReader(zr), src, prefix)
		if err := zr.Close(); err != nil {
			l.warn("%s: %v", src, err)
		}
		return nil
	case isTar(head):
		l.loadTar(tar.NewReader(br), src, prefix)
		return nil
	}
	l.parseStream(br, name, -1)
	return nil
}

// gunzipHead decompresses the start of a gzip stream without consuming it.
func gunzipHead(br *bufio.Reader) []byte {
	peek, _ := br.Peek(64 << 10)
	zr, err := gzip.NewReader(bytes.NewReader(peek))
	if err != nil {
		return nil
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(zr, head)
	return head[:n]
}

// isTar reports whether head starts a tar archive (ustar or GNU magic).
func isTar(head []byte) bool {
	return len(head) >= 262 && (bytes.Equal(head[257:262], []byte("ustar")))
}

func (l *loader) loadDir(root, prefix string) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.warn("%v", err)
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			l.warn("%s: symlink skipped (a bundle's links may point anywhere)", join(prefix, rel))
			return nil
		case !d.Type().IsRegular():
			l.warn("%s: not a regular file, skipped", join(prefix, rel))
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		name := join(prefix, filepath.ToSlash(rel))
		if !l.admit(name, 0) {
			break
		}
		p := p
		l.dispatch(func() {
			f, err := os.Open(p)
			if err != nil {
				l.warn("%v", err)
				return
			}
			defer f.Close()
			var size int64 = -1
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
			l.parseStream(f, name, size)
		})
	}
	return nil
}

// admit counts an entry against the caps; false means stop reading.
func (l *loader) admit(name string, size int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries++
	if l.entries == l.opts.Limits.MaxEntries+1 {
		l.warnings = append(l.warnings, fmt.Sprintf("%s: more than %d files in the bundle; the rest is not read", name, l.opts.Limits.MaxEntries))
	}
	if l.entries > l.opts.Limits.MaxEntries {
		return false
	}
	l.total += size
	return true
}

func (l *loader) dispatch(job func()) {
	l.wg.Add(1)
	l.jobs <- func() {
		defer l.wg.Done()
		job()
	}
}

// entryName validates an archive entry name and returns it cleaned, or a
// reason to refuse it.
func entryName(name string) (string, string) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return "", "absolute path"
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", "path escapes the bundle"
		}
	}
	n = path.Clean(n)
	if n == "." || n == "" {
		return "", "empty name"
	}
	return n, ""
}

func (l *loader) loadTar(tr *tar.Reader, src, prefix string) {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			l.warn("%s: %v; the rest of the archive is not read", src, err)
			return
		}
		name, why := entryName(h.Name)
		if why != "" {
			l.warn("%s: entry %q refused: %s", src, h.Name, why)
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeSymlink, tar.TypeLink:
			l.warn("%s: entry %q refused: link to %q", src, h.Name, h.Linkname)
			continue
		default:
			l.warn("%s: entry %q refused: not a regular file (type %q)", src, h.Name, h.Typeflag)
			continue
		}
		if !l.checkSize(src, h.Name, h.Size) {
			continue
		}
		name = join(prefix, name)
		if !l.admit(name, h.Size) {
			return
		}
		l.parseStream(l.capped(tr, src, h.Name), name, h.Size)
	}
}

// checkSize refuses an entry whose declared size is over a cap.
func (l *loader) checkSize(src, entry string, size int64) bool {
	lim := l.opts.Limits
	if size > lim.MaxEntrySize {
		l.warn("%s: entry %q refused: %d bytes uncompressed, over the %d byte cap (decompression bomb?)", src, entry, size, lim.MaxEntrySize)
		return false
	}
	l.mu.Lock()
	over := l.total+size > lim.MaxTotalSize
	l.mu.Unlock()
	if over {
		l.warn("%s: entry %q refused: the bundle would exceed %d bytes uncompressed", src, entry, lim.MaxTotalSize)
		return false
	}
	return true
}

// capped limits a reader to the entry cap, whatever the archive declared.
func (l *loader) capped(r io.Reader, src, entry string) io.Reader {
	return &capReader{r: r, left: l.opts.Limits.MaxEntrySize, onCap: func() {
		l.warn("%s: entry %q cut at the %d byte cap", src, entry, l.opts.Limits.MaxEntrySize)
	}}
}

type capReader struct {
	r     io.Reader
	left  int64
	onCap func()
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if c.onCap != nil {
			c.onCap()
			c.onCap = nil
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (l *loader) loadZip(zr *zip.Reader, src, prefix string) {
	for _, zf := range zr.File {
		name, why := entryName(zf.Name)
		if why != "" {
			l.warn("%s: entry %q refused: %s", src, zf.Name, why)
			continue
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			continue
		case mode&fs.ModeSymlink != 0:
			l.warn("%s: entry %q refused: symlink", src, zf.Name)
			continue
		case !mode.IsRegular():
			l.warn("%s: entry %q refused: not a regular file", src, zf.Name)
			continue
		}
		size := int64(zf.UncompressedSize64)
		if zf.UncompressedSize64 > 1<<62 || !l.checkSize(src, zf.Name, size) {
			continue
		}
		name = join(prefix, name)
		if !l.admit(name, size) {
			return
		}
		zf := zf
		l.dispatch(func() {
			rc, err := zf.Open()
			if err != nil {
				l.warn("%s: entry %q: %v", src, zf.Name, err)
				return
			}
			defer rc.Close()
			l.parseStream(l.capped(rc, src, zf.Name), name, size)
		})
	}
	l.wg.Wait() // the archive's file is closed when we return
}

// parseStream detects and parses one file.
func (l *loader) parseStream(r io.Reader, name string, size int64) {
	if l.opts.Progress != nil {
		l.opts.Progress(name, size)
	}
	f := &File{Path: name, Size: size, Kind: KindUnknown}
	br := bufio.NewReaderSize(r, 64<<10)
	peek, _ := br.Peek(8 << 10)
	f.Header = ParseHeader(peek)
	hdrBytes := 0
	for i := 0; i < f.Header.Lines; i++ {
		hdrBytes += bytes.IndexByte(peek[hdrBytes:], '\n') + 1
	}
	body := peek[hdrBytes:]
	if isHostnameFile(name, f.Header, body) {
		f.Kind = kindHostname
		f.Host = string(bytes.TrimSpace(body))
		l.add(f)
		return
	}
	p := DetectFile(name, f.Header, body)
	if p == nil {
		if len(bytes.TrimSpace(body)) == 0 && f.Header.Lines > 0 {
			// The collector ran the command and it printed nothing (or
			// failed): say so rather than "unknown".
			f.Kind = KindEmpty
		}
		l.add(f)
		return
	}
	f.Kind = p.Kind
	in := NewInput(name)
	in.Header = f.Header
	in.FirstLine = f.Header.Lines + 1
	if _, err := br.Discard(hdrBytes); err != nil {
		in.Errorf(0, "read: %w", err)
	}
	RunParser(p, in, br)
	if c, ok := HeaderClock(in); ok {
		in.Out.Clocks = append(in.Out.Clocks, c)
	}
	f.out = in.Out
	f.Records = in.Out.Records()
	f.Errors, f.Dropped = in.Errors()
	l.add(f)
}

func (l *loader) add(f *File) {
	l.mu.Lock()
	l.files = append(l.files, f)
	l.mu.Unlock()
}

// finish strips a single archive top directory, assigns hosts, merges the
// evidence in path order and resolves times.
func (l *loader) finish() *Bundle {
	files := l.files
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	stripTop(files)
	assignHosts(files)
	ev := &event.Evidence{}
	for _, f := range files {
		if f.out == nil {
			continue
		}
		f.out.SetHost(f.Host)
		ev.Merge(f.out)
		f.out = nil
	}
	warnings := append(l.warnings, ResolveTimes(ev, l.opts.Options)...)
	sort.Strings(warnings)
	return &Bundle{Files: files, Evidence: ev, Warnings: slices.Compact(warnings)}
}

// stripTop removes a directory that holds the whole bundle (tar czf
// b.tgz bundle/), so that a directory, its .tar.gz and its .zip give the
// same paths. A top directory that names a host (holds a hostname file)
// is kept.
func stripTop(files []*File) {
	if len(files) == 0 {
		return
	}
	top, _, ok := strings.Cut(files[0].Path, "/")
	if !ok {
		return
	}
	for _, f := range files {
		t, rest, ok := strings.Cut(f.Path, "/")
		if !ok || t != top {
			return
		}
		if f.Kind == kindHostname && !strings.Contains(rest, "/") {
			return
		}
	}
	for _, f := range files {
		f.Path = f.Path[len(top)+1:]
		if f.out != nil {
			f.out.EachMeta(func(m *event.Meta) { m.Ref.File = f.Path })
		}
		for i, e := range f.Errors {
			var pe *event.ParseError
			if errors.As(e, &pe) {
				c := *pe
				c.File = f.Path
				f.Errors[i] = &c
			}
		}
	}
}

// assignHosts gives every file its host: the hostname file of its nearest
// directory, else the host its collection header names, else the top-level
// directory when the bundle has several, else "".
func assignHosts(files []*File) {
	named := map[string]string{} // dir -> host
	tops := map[string]bool{}
	for _, f := range files {
		if f.Kind == kindHostname {
			named[path.Dir(f.Path)] = f.Host
		}
		if t, _, ok := strings.Cut(f.Path, "/"); ok {
			tops[t] = true
		}
	}
	for _, f := range files {
		if f.Kind == kindHostname {
			continue
		}
		f.Host = ""
		for d := path.Dir(f.Path); ; d = path.Dir(d) {
			if h, ok := named[d]; ok {
				f.Host = h
				break
			}
			if d == "." || d == "/" {
				break
			}
		}
		if f.Host == "" {
			f.Host = f.Header.Host
		}
		if t, _, ok := strings.Cut(f.Path, "/"); f.Host == "" && ok && len(tops) > 1 {
			f.Host = t
		}
	}
}
