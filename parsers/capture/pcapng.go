package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block types checked here; every other block is passed through
// for pcapgo to skip.
const (
	ngBlockIDB = 1 // interface description
	ngBlockOPB = 2 // obsolete packet block
	ngBlockSPB = 3 // simple packet block
	ngBlockISB = 5 // interface statistics
	ngBlockEPB = 6 // enhanced packet block
)

// ngIface is what the framer needs of an interface description.
type ngIface struct {
	link    uint32
	snaplen uint32
}

// ngPacket is a packet block the framer has handed to pcapgo and pcapgo
// has not returned yet.
type ngPacket struct {
	offset, end int64 // the block's place in the stream
	link        uint32
}

// ngFramer sits under pcapgo's pcapng reader and hands it only whole,
// checked blocks. pcapgo trusts a file's block and option lengths: a
// length that lies makes it read the next block as the rest of this one,
// or Discard gigabytes. The framer checks each block's leading and
// trailing lengths, the option lengths of the blocks pcapgo parses
// options of, and the captured length of packet blocks before pcapgo sees
// a byte of the block, so that a damaged block ends the file with an
// exact frame and offset and everything before it is read.
//
// It also keeps each section's link types: pcapgo's layers.LinkType is a
// uint8 (gopacket v1.1.19), so Linux cooked v2 (276) and every link type
// above 255 reach pcapgo's callers truncated.
type ngFramer struct {
	src       *source
	be        bool
	shb       bool // a section header has been read
	ifaces    []ngIface
	frames    int    // packet blocks handed on
	remain    int    // bytes of the current block still to hand on from src
	pending   []byte // a patched copy of the current block, handed on instead
	delivered int64  // bytes handed on
	err       error  // sticky: io.EOF or a *readError
	queue     []ngPacket
	qhead     int
}

func (f *ngFramer) u16(b []byte) uint16 {
	if f.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *ngFramer) u32(b []byte) uint32 {
	if f.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// Read hands on as many whole checked blocks as fit, then the error that
// stopped it once everything before it has been read.
func (f *ngFramer) Read(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		switch {
		case len(f.pending) > 0:
			m := copy(p, f.pending)
			f.pending = f.pending[m:]
			p, n = p[m:], n+m
		case f.remain > 0:
			// The whole block is in the buffer: fill(blen) checked it.
			m := copy(p[:min(len(p), f.remain)], f.src.buf[f.src.pos:])
			f.src.skip(m)
			f.remain -= m
			p, n = p[m:], n+m
		case f.err != nil:
			if n > 0 {
				f.delivered += int64(n)
				return n, nil
			}
			return 0, f.err
		default:
			f.err = f.block()
		}
	}
	f.delivered += int64(n)
	return n, nil
}

// pop returns the oldest packet block handed on and not yet returned.
func (f *ngFramer) pop() (ngPacket, bool) {
	if f.qhead == len(f.queue) {
		return ngPacket{}, false
	}
	q := f.queue[f.qhead]
	f.qhead++
	if f.qhead == len(f.queue) {
		f.queue, f.qhead = f.queue[:0], 0
	}
	return q, true
}

var errNgBadLength = errors.New("bad block length")

// block checks the next block and makes it the one Read hands on. It
// returns io.EOF at a clean end, a *readError at damage.
func (f *ngFramer) block() error {
	s := f.src
	if !s.fill(12) {
		if s.avail() == 0 && (s.err == io.EOF || s.err == nil) {
			return io.EOF
		}
		return &readError{offset: s.off, err: s.shortErr("block header", 12)}
	}
	b := s.buf[s.pos:s.end]
	typ := binary.LittleEndian.Uint32(b) // SHB's type reads the same either way
	if typ == ngBlockSHB {
		switch uint32(ngByteOrder) {
		case binary.LittleEndian.Uint32(b[8:]):
			f.be = false
		case binary.BigEndian.Uint32(b[8:]):
			f.be = true
		default:
			return &readError{offset: s.off, err: fmt.Errorf("section header with a bad byte-order magic % x", b[8:12])}
		}
	} else {
		typ = f.u32(b)
	}
	blen := f.u32(b[4:])
	if blen < 12 || blen%4 != 0 || blen > maxBlock || (typ == ngBlockSHB && blen < 28) {
		return &readError{frame: f.packetFrame(typ), offset: s.off, err: fmt.Errorf("%w %d in block type %#x", errNgBadLength, blen, typ)}
	}
	n := int(blen)
	if !s.fill(n) {
		return &readError{frame: f.packetFrame(typ), offset: s.off, err: s.shortErr(fmt.Sprintf("block type %#x", typ), n)}
	}
	b = s.buf[s.pos : s.pos+n]
	if tail := f.u32(b[n-4:]); tail != blen {
		return &readError{frame: f.packetFrame(typ), offset: s.off, err: fmt.Errorf("%w: block type %#x starts with length %d and ends with %d", errNgBadLength, typ, blen, tail)}
	}
	body := b[8 : n-4]
	off := s.off
	if typ != ngBlockSHB && !f.shb {
		return &readError{offset: off, err: errors.New("pcapng block before the first section header")}
	}
	var err error
	patched := false
	switch typ {
	case ngBlockSHB:
		// body: byte-order magic, major, minor, section length, options.
		if major := f.u16(body[4:]); major != 1 {
			err = fmt.Errorf("unsupported pcapng version %d.%d", major, f.u16(body[6:]))
			break
		}
		f.shb = true
		f.ifaces = f.ifaces[:0]
		err = f.options("section header", body[16:])
	case ngBlockIDB:
		if len(body) < 8 {
			err = fmt.Errorf("%w: interface description of %d bytes", errNgBadLength, len(body))
			break
		}
		ifc := ngIface{link: uint32(f.u16(body)), snaplen: f.u32(body[4:])}
		if err = f.options("interface", body[8:]); err != nil {
			break
		}
		f.ifaces = append(f.ifaces, ifc)
		if ifc.snaplen > maxBlock {
			// pcapgo allocates its packet buffer at the snaplen: hand it
			// a copy that says maxBlock (no packet block is larger).
			f.pending, patched = append([]byte(nil), b...), true
			if f.be {
				binary.BigEndian.PutUint32(f.pending[12:], maxBlock)
			} else {
				binary.LittleEndian.PutUint32(f.pending[12:], maxBlock)
			}
		}
	case ngBlockISB:
		if len(body) < 12 {
			err = fmt.Errorf("%w: interface statistics of %d bytes", errNgBadLength, len(body))
			break
		}
		err = f.options("interface statistics", body[12:])
	case ngBlockEPB, ngBlockOPB, ngBlockSPB:
		if err = f.packet(typ, body, off, off+int64(n)); err != nil {
			return &readError{frame: f.frames + 1, offset: off, err: err}
		}
		f.frames++
	}
	if err != nil {
		return &readError{offset: off, err: err}
	}
	if patched {
		s.skip(n)
	} else {
		f.remain = n
	}
	return nil
}

// packetFrame is the frame number a damaged block would have had, when it
// is a packet block.
func (f *ngFramer) packetFrame(typ uint32) int {
	switch typ {
	case ngBlockEPB, ngBlockOPB, ngBlockSPB:
		return f.frames + 1
	}
	return 0
}

// options checks that every option of a block pcapgo parses options of
// fits in the block.
func (f *ngFramer) options(what string, opts []byte) error {
	for len(opts) >= 4 {
		code, olen := f.u16(opts), int(f.u16(opts[2:]))
		if code == 0 { // opt_endofopt
			return nil
		}
		if 4+(olen+3)&^3 > len(opts) {
			return fmt.Errorf("%s option %d of %d bytes overruns its block", what, code, olen)
		}
		opts = opts[4+(olen+3)&^3:]
	}
	return nil
}

// packet checks a packet block and queues its link type.
func (f *ngFramer) packet(typ uint32, body []byte, off, end int64) error {
	var ifid uint32
	switch typ {
	case ngBlockEPB, ngBlockOPB:
		if len(body) < 20 {
			return fmt.Errorf("%w: packet block of %d bytes", errNgBadLength, len(body))
		}
		if typ == ngBlockEPB {
			ifid = f.u32(body)
		} else {
			ifid = uint32(f.u16(body))
		}
		if capLen := f.u32(body[12:]); int64(capLen) > int64(len(body)-20) {
			return fmt.Errorf("captured length %d overruns its block (%d bytes of data)", capLen, len(body)-20)
		}
	case ngBlockSPB:
		if len(body) < 4 {
			return fmt.Errorf("%w: simple packet block of %d bytes", errNgBadLength, len(body))
		}
	}
	if int(ifid) >= len(f.ifaces) {
		return fmt.Errorf("packet on interface %d, but the section describes %d", ifid, len(f.ifaces))
	}
	if typ == ngBlockSPB {
		// pcapgo reads the packet length, cut to the snaplen, as the
		// captured length.
		capLen := f.u32(body)
		if s := f.ifaces[0].snaplen; s != 0 {
			capLen = min(capLen, s)
		}
		if int64(capLen) > int64(len(body)-4) {
			return fmt.Errorf("simple packet block: packet length %d overruns its block (%d bytes of data)", capLen, len(body)-4)
		}
	}
	f.queue = append(f.queue, ngPacket{offset: off, end: end, link: f.ifaces[ifid].link})
	return nil
}
