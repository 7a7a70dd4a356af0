package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// goBuf is the size of the bufio.Reader handed to pcapgo. pcapgo's pcap
// reader reads from it directly, and its pcapng reader wraps it in
// bufio.NewReader, which returns a *bufio.Reader of at least 4096 bytes
// as it is: owning it tells how many bytes pcapgo has used (what was
// handed to it, less what it still buffers), so every record's offset is
// exact. Larger buffers (256 KiB, 1 MiB) measured no faster.
const goBuf = 64 << 10

// errPanic marks an error made from a panic inside pcapgo.
var errPanic = errors.New("pcapgo reader panicked")

// panicError turns a panic inside pcapgo into the error that ends the
// file. pcapgo panics on some malformed input (an if_tsresol of 2^-64
// makes it divide by zero); where it stopped is only known as the bytes
// it had consumed.
func panicError(v any, frame int, consumed int64) error {
	return &readError{frame: frame, offset: consumed, err: fmt.Errorf("%w: %v (offset approximate: the bytes it had consumed)", errPanic, v)}
}

// goPcapReader reads the classic libpcap format with pcapgo.Reader.
type goPcapReader struct {
	src    *source
	br     *bufio.Reader
	r      *pcapgo.Reader
	link   uint32
	maxCap int
	frame  int
	snap   uint32 // the snaplen pcapgo checks
	buf    []byte // a record pcapgo rejects but tcpdump reads (see failed)
	dead   bool   // pcapgo panicked: its state is unknown
}

// pcapgoTakes reports whether pcapgo.NewReader accepts a pcap file
// header. It is checked before calling it, as its failure would consume
// the start of the stream.
func pcapgoTakes(h []byte) bool {
	var bo binary.ByteOrder = binary.LittleEndian
	switch m := binary.LittleEndian.Uint32(h); {
	case m == magicMicro || m == magicNano:
	case binary.BigEndian.Uint32(h) == magicMicro || binary.BigEndian.Uint32(h) == magicNano:
		bo = binary.BigEndian
	default:
		return false
	}
	return bo.Uint16(h[4:]) == 2 && bo.Uint16(h[6:]) == 4
}

// newPcap opens a pcap with pcapgo, or with pcapReader for what pcapgo
// rejects: the "modified" format with 24-byte record headers, and
// versions other than 2.4.
func newPcap(src *source) (recordReader, error) {
	if !src.fill(24) {
		return nil, &readError{err: src.shortErr("file header", 24)}
	}
	h := src.buf[src.pos : src.pos+24]
	if !pcapgoTakes(h) {
		return newPcapReader(src)
	}
	g := &goPcapReader{src: src, br: bufio.NewReaderSize(&sourceReader{src}, goBuf)}
	bo := binary.ByteOrder(binary.LittleEndian)
	if m := binary.LittleEndian.Uint32(h); m != magicMicro && m != magicNano {
		bo = binary.BigEndian
	}
	// pcapgo's LinkType is a uint8 (gopacket v1.1.19): Linux cooked v2
	// (276) would come out as 20. The upper bits carry FCS information.
	g.link = bo.Uint32(h[20:]) & 0xffff
	g.maxCap = maxPcapRecord
	if s := int64(bo.Uint32(h[16:])); s > int64(g.maxCap) {
		g.maxCap = int(min(s, maxBlock))
	}
	if err := g.open(); err != nil {
		return nil, err
	}
	// pcapgo rejects records over the snaplen and allocates its packet
	// buffer at the snaplen, which a header can set to gigabytes: start
	// it at most at tcpdump's maximum, and raise it to a longer record
	// (up to maxCap, the bound of garbage lengths) when one comes.
	g.snap = min(bo.Uint32(h[16:]), maxPcapRecord)
	g.r.SetSnaplen(g.snap)
	return g, nil
}

func (g *goPcapReader) open() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v, 0, g.pos())
		}
	}()
	g.r, err = pcapgo.NewReader(g.br)
	if err != nil {
		return &readError{err: fmt.Errorf("pcapgo: %w", err)}
	}
	return nil
}

// pos is how many bytes of the stream pcapgo has used.
func (g *goPcapReader) pos() int64 { return g.src.off - int64(g.br.Buffered()) }

func (g *goPcapReader) next(rec *record) (err error) {
	if g.dead {
		return io.EOF
	}
	start := g.pos()
	defer func() {
		if v := recover(); v != nil {
			g.dead = true
			err = panicError(v, g.frame+1, g.pos())
		}
	}()
	data, ci, err := g.r.ZeroCopyReadPacketData()
	if err != nil {
		if data, err = g.failed(err, start, ci.CaptureLength, ci.Length); err != nil {
			return err
		}
		ci.Length = ci.CaptureLength
	}
	g.frame++
	rec.frame = g.frame
	rec.offset = start
	rec.ts = ci.Timestamp.UnixNano()
	rec.hasTS = true
	rec.data = data
	rec.origLen = max(ci.Length, ci.CaptureLength)
	rec.link = g.link
	return nil
}

// failed explains an error of pcapgo's with the record's frame and
// offset, or reads the records pcapgo rejects after their header and
// tcpdump reads: a captured length over the length on the wire, or over
// the snaplen pcapgo was given (which is then raised for the next).
func (g *goPcapReader) failed(err error, start int64, capLen, wire int) ([]byte, error) {
	used := g.pos() - start
	if err == io.EOF && used == 0 {
		return nil, io.EOF
	}
	pe := &readError{frame: g.frame + 1, offset: start}
	switch {
	case g.src.err != nil && g.src.err != io.EOF:
		// The stream failed (a cut gzip says io.ErrUnexpectedEOF too).
		pe.err = fmt.Errorf("read: %w", g.src.err)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// At the end of the stream pcapgo has used every byte left.
		if used < 16 {
			pe.err = fmt.Errorf("%w: record header needs 16 bytes, %d left", ErrTruncated, used)
		} else {
			pe.err = fmt.Errorf("%w: record needs %d bytes, %d left", ErrTruncated, 16+capLen, used)
		}
	case used == 16 && capLen > g.maxCap:
		pe.err = fmt.Errorf("record length %d exceeds the maximum of %d: garbage length field", capLen, g.maxCap)
	case used == 16 && (capLen > wire || capLen > int(g.snap)):
		if capLen > int(g.snap) {
			g.snap = uint32(capLen)
			g.r.SetSnaplen(g.snap)
		}
		if cap(g.buf) < capLen {
			g.buf = make([]byte, capLen)
		}
		data := g.buf[:capLen]
		if n, err := io.ReadFull(g.br, data); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				pe.err = fmt.Errorf("%w: record needs %d bytes, %d left", ErrTruncated, 16+capLen, 16+n)
			} else {
				pe.err = fmt.Errorf("read: %w", err)
			}
			return nil, pe
		}
		return data, nil
	default:
		pe.err = fmt.Errorf("read: %w", err)
	}
	return nil, pe
}

// goNgReader reads pcapng with pcapgo.NgReader over an ngFramer.
type goNgReader struct {
	fr    *ngFramer
	br    *bufio.Reader
	r     *pcapgo.NgReader
	frame int
	dead  bool
}

func newPcapNG(src *source) (recordReader, error) {
	fr := &ngFramer{src: src}
	g := &goNgReader{fr: fr, br: bufio.NewReaderSize(fr, goBuf)}
	if err := g.open(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *goNgReader) open() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v, 0, g.pos())
		}
	}()
	// Mixed link types: each packet is read whatever its interface.
	g.r, err = pcapgo.NewNgReader(g.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return re
		}
		return &readError{err: fmt.Errorf("pcapgo: %w", err)}
	}
	return nil
}

func (g *goNgReader) pos() int64 {
	return g.fr.delivered - int64(g.br.Buffered())
}

func (g *goNgReader) next(rec *record) (err error) {
	if g.dead {
		return io.EOF
	}
	start := g.pos()
	defer func() {
		if v := recover(); v != nil {
			g.dead = true
			err = panicError(v, g.frame+1, g.pos())
		}
	}()
	data, ci, err := g.r.ZeroCopyReadPacketData()
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return re // the framer's: exact
		}
		if err == io.EOF && g.fr.qhead == len(g.fr.queue) {
			return io.EOF
		}
		g.dead = true
		pe := &readError{frame: g.frame + 1, offset: start, err: fmt.Errorf("pcapgo: %w", err)}
		if q, ok := g.fr.pop(); ok {
			pe.offset = q.offset
		}
		return pe
	}
	q, ok := g.fr.pop()
	// pcapgo returns every packet block the framer handed it, in order,
	// and ends each read at the end of its block; anything else means
	// the two disagree about the file, which must not pass unnoticed.
	var link layers.LinkType
	if len(ci.AncillaryData) > 0 {
		link, _ = ci.AncillaryData[0].(layers.LinkType)
	}
	if !ok || g.pos() != q.end || link != layers.LinkType(q.link) {
		g.dead = true
		return &readError{frame: g.frame + 1, offset: start, err: errors.New("pcapgo and the block framing disagree here")}
	}
	g.frame++
	rec.frame = g.frame
	rec.offset = q.offset
	rec.hasTS = !ci.Timestamp.IsZero() // a simple packet block has no time
	rec.ts = 0
	if rec.hasTS {
		rec.ts = ci.Timestamp.UnixNano()
	}
	rec.data = data
	rec.origLen = max(ci.Length, ci.CaptureLength)
	// The framer's link type: pcapgo's has only the low byte.
	rec.link = q.link
	return nil
}
