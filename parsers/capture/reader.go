package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format is a capture file format.
type Format int

// Capture formats Sniff recognises.
const (
	FormatUnknown Format = iota
	FormatPcap
	FormatPcapNG
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

const (
	magicMicro     = 0xa1b2c3d4 // pcap, microsecond stamps
	magicNano      = 0xa1b23c4d // pcap, nanosecond stamps
	magicKuznetzov = 0xa1b2cd34 // "modified" pcap with 24-byte record headers
	ngBlockSHB     = 0x0a0d0d0a // pcapng section header block (a palindrome)
	ngByteOrder    = 0x1a2b3c4d
)

// sniffRaw identifies an uncompressed capture by its first bytes.
func sniffRaw(head []byte) Format {
	if len(head) < 4 {
		return FormatUnknown
	}
	le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
	for _, m := range []uint32{magicMicro, magicNano, magicKuznetzov} {
		if le == m || be == m {
			if len(head) >= 6 {
				// Version 2.x: both byte orders of the major version field.
				major := binary.LittleEndian.Uint16(head[4:])
				if le != m {
					major = binary.BigEndian.Uint16(head[4:])
				}
				if major != 2 {
					return FormatUnknown
				}
			}
			return FormatPcap
		}
	}
	if le == ngBlockSHB && len(head) >= 12 {
		bom := head[8:12]
		if binary.LittleEndian.Uint32(bom) == ngByteOrder || binary.BigEndian.Uint32(bom) == ngByteOrder {
			return FormatPcapNG
		}
	}
	return FormatUnknown
}

func isGzip(head []byte) bool {
	return len(head) >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8
}

// Sniff reports the format of a capture from its first bytes, and whether
// it is gzip-compressed. A gzip stream is a capture only if what its head
// decompresses to starts like one (a .tar.gz is not).
func Sniff(head []byte) (f Format, gz bool) {
	if !isGzip(head) {
		return sniffRaw(head), false
	}
	zr, err := gzip.NewReader(bytes.NewReader(head))
	if err != nil {
		return FormatUnknown, true
	}
	var buf [16]byte
	// The head is usually cut mid-stream: flate hands out what it decoded
	// before the cut, which is all we need.
	n, _ := io.ReadFull(zr, buf[:])
	return sniffRaw(buf[:n]), true
}

// source is a reader with one large buffer that records are sliced out of
// without copying. off is the stream offset of buf[pos].
type source struct {
	r    io.Reader
	buf  []byte
	pos  int
	end  int
	off  int64
	err  error // sticky; io.EOF at the end of the stream
	read int64 // bytes read from r
}

// The buffer starts small, for the many small files of a bundle, and
// grows to sourceBuf once a file has filled it, for fewer, larger reads.
const (
	sourceStart = 64 << 10
	sourceBuf   = 1 << 20
)

func newSource(r io.Reader) *source {
	return &source{r: r, buf: make([]byte, sourceStart)}
}

// fill makes n bytes available at pos. It returns false when the stream
// ends (or fails) first; s.err then says why. The buffer grows as data
// arrives, so a length field that lies costs no more memory than the file
// has left.
func (s *source) fill(n int) bool {
	if s.end-s.pos >= n {
		return true
	}
	if s.pos > 0 && s.pos+n > len(s.buf) {
		if len(s.buf) < sourceBuf {
			nb := make([]byte, sourceBuf)
			s.end = copy(nb, s.buf[s.pos:s.end])
			s.buf = nb
		} else {
			s.end = copy(s.buf, s.buf[s.pos:s.end])
		}
		s.pos = 0
	}
	for empty := 0; s.end-s.pos < n && s.err == nil; {
		if s.end == len(s.buf) {
			nb := make([]byte, min(2*len(s.buf), max(n, len(s.buf)+sourceBuf)))
			s.end = copy(nb, s.buf[s.pos:s.end])
			s.pos, s.buf = 0, nb
		}
		m, err := s.r.Read(s.buf[s.end:])
		s.end += m
		s.read += int64(m)
		if err != nil {
			s.err = err
		} else if m == 0 {
			if empty++; empty > 100 {
				s.err = io.ErrNoProgress
			}
		}
	}
	return s.end-s.pos >= n
}

func (s *source) avail() int { return s.end - s.pos }

// consumed is how many bytes of the underlying stream were used: what
// was read, less what waits in the buffer.
func (s *source) consumed() int64 { return s.read - int64(s.end-s.pos) }

func (s *source) skip(n int) {
	s.pos += n
	s.off += int64(n)
}

// shortErr explains why fill(need) failed at the current offset.
func (s *source) shortErr(what string, need int) error {
	if s.err != nil && s.err != io.EOF {
		return fmt.Errorf("%s: read: %w", what, s.err)
	}
	return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrTruncated, what, need, s.avail())
}

// ErrTruncated is reported when the file ends inside a record or block.
var ErrTruncated = errors.New("truncated capture")

// ErrEmpty is reported for a zero-length file.
var ErrEmpty = errors.New("empty capture file")

// record is one captured packet. data is valid until the next read.
type record struct {
	frame   int   // 1-based, as Wireshark numbers frames
	offset  int64 // of the record (pcap) or block (pcapng) in the stream
	ts      int64 // Unix nanoseconds
	hasTS   bool
	data    []byte
	origLen int    // length on the wire
	link    uint32 // LINKTYPE_ value
}

// recordReader returns records in file order, io.EOF at a clean end, or a
// *readError that ends the file.
type recordReader interface {
	next(rec *record) error
}

// readError positions a structural error in the file. frame is 0 when the
// error is not inside a packet record (a pcapng block, the file header).
type readError struct {
	frame  int
	offset int64
	err    error
}

func (e *readError) Error() string {
	if e.frame > 0 {
		return fmt.Sprintf("frame %d at offset %d: %v", e.frame, e.offset, e.err)
	}
	return fmt.Sprintf("offset %d: %v", e.offset, e.err)
}

func (e *readError) Unwrap() error { return e.err }

// maxPcapRecord bounds a pcap record's captured length: tcpdump's
// MAXIMUM_SNAPLEN, raised to the file's snaplen when that is larger (up to
// maxBlock). A larger length is garbage, not a packet.
const maxPcapRecord = 262144

// maxBlock bounds a pcapng block, as Wireshark does.
const maxBlock = 16 << 20

// openReader sniffs the stream, unwraps gzip, and returns the reader of
// its format.
func openReader(src *source) (recordReader, Format, error) {
	if !src.fill(16) && src.avail() == 0 {
		if src.err != nil && src.err != io.EOF {
			return nil, FormatUnknown, &readError{err: fmt.Errorf("read: %w", src.err)}
		}
		return nil, FormatUnknown, &readError{err: ErrEmpty}
	}
	head := src.buf[src.pos:src.end]
	if isGzip(head) {
		zr, err := gzip.NewReader(&sourceReader{src})
		if err != nil {
			return nil, FormatUnknown, &readError{err: fmt.Errorf("gzip: %w", err)}
		}
		inner := newSource(zr)
		rr, f, err := openReader(inner)
		if err != nil {
			return nil, f, err
		}
		return rr, f, nil
	}
	switch f := sniffRaw(head); f {
	case FormatPcap:
		rr, err := newPcap(src)
		return rr, f, err
	case FormatPcapNG:
		rr, err := newPcapNG(src)
		return rr, f, err
	}
	return nil, FormatUnknown, &readError{err: fmt.Errorf("not a pcap or pcapng capture (first bytes % x)", head[:min(len(head), 4)])}
}

// sourceReader reads a source's remaining bytes as a plain io.Reader
// (under gzip and pcapgo), counting them in the source's offset.
type sourceReader struct{ s *source }

// direct is the read size from which sourceReader reads straight into
// the caller's buffer rather than through the source's.
const direct = 4096

func (r *sourceReader) Read(p []byte) (int, error) {
	s := r.s
	if s.avail() == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if len(p) >= direct {
			// Once the head is used up, large reads (bufio's, flate's)
			// skip the copy through s.buf.
			n, err := s.r.Read(p)
			s.read += int64(n)
			s.off += int64(n)
			if err != nil {
				s.err = err
				if n == 0 {
					return 0, err
				}
			}
			return n, nil
		}
		s.fill(1)
		if s.avail() == 0 {
			return 0, s.err
		}
	}
	n := copy(p, s.buf[s.pos:s.end])
	s.skip(n)
	return n, nil
}

// pcapReader reads the classic libpcap format. It is only the fallback
// for what pcapgo.NewReader rejects (see pcapgoTakes): the "modified"
// format with 24-byte record headers (magic a1b2cd34), and version 2.x
// files other than 2.4; pcapgo reads every other pcap.
type pcapReader struct {
	src     *source
	be      bool
	nano    bool
	hdrLen  int // 16, or 24 for the modified format
	link    uint32
	maxCap  int
	frame   int
	snaplen uint32
}

func newPcapReader(src *source) (*pcapReader, error) {
	if !src.fill(24) {
		return nil, &readError{err: src.shortErr("file header", 24)}
	}
	h := src.buf[src.pos : src.pos+24]
	r := &pcapReader{src: src, hdrLen: 16}
	m := binary.LittleEndian.Uint32(h)
	if m != magicMicro && m != magicNano && m != magicKuznetzov {
		r.be = true
		m = binary.BigEndian.Uint32(h)
	}
	r.nano = m == magicNano
	if m == magicKuznetzov {
		r.hdrLen = 24
	}
	r.snaplen = r.u32(h[16:])
	// The upper bits of the link type field carry FCS information.
	r.link = r.u32(h[20:]) & 0xffff
	r.maxCap = maxPcapRecord
	if s := int64(r.snaplen); s > int64(r.maxCap) {
		r.maxCap = int(min(s, maxBlock))
	}
	src.skip(24)
	return r, nil
}

func (r *pcapReader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *pcapReader) next(rec *record) error {
	s := r.src
	if !s.fill(r.hdrLen) {
		if s.avail() == 0 && (s.err == io.EOF || s.err == nil) {
			return io.EOF
		}
		return &readError{frame: r.frame + 1, offset: s.off, err: s.shortErr("record header", r.hdrLen)}
	}
	h := s.buf[s.pos : s.pos+r.hdrLen]
	sec, frac := r.u32(h), r.u32(h[4:])
	capLen, origLen := r.u32(h[8:]), r.u32(h[12:])
	r.frame++
	if int64(capLen) > int64(r.maxCap) {
		return &readError{frame: r.frame, offset: s.off, err: fmt.Errorf("record length %d exceeds the maximum of %d: garbage length field", capLen, r.maxCap)}
	}
	n := r.hdrLen + int(capLen)
	if !s.fill(n) {
		return &readError{frame: r.frame, offset: s.off, err: s.shortErr("record", n)}
	}
	rec.frame = r.frame
	rec.offset = s.off
	if r.nano {
		rec.ts = int64(sec)*1e9 + int64(frac)
	} else {
		rec.ts = int64(sec)*1e9 + int64(frac)*1e3
	}
	rec.hasTS = true
	rec.data = s.buf[s.pos+r.hdrLen : s.pos+n]
	rec.origLen = int(origLen)
	if rec.origLen < int(capLen) {
		rec.origLen = int(capLen)
	}
	rec.link = r.link
	s.skip(n)
	return nil
}
