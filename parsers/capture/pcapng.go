package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// pcapng block types read here; every other block is skipped.
const (
	ngBlockIDB = 1 // interface description
	ngBlockOPB = 2 // obsolete packet block
	ngBlockSPB = 3 // simple packet block
	ngBlockEPB = 6 // enhanced packet block
)

// ngIface is what an interface description block says about packets
// captured on that interface.
type ngIface struct {
	link    uint32
	snaplen uint32
	units   uint64 // timestamp units per second
	offset  int64  // seconds added to every timestamp (if_tsoffset)
}

// ngReader reads pcapng: several sections, each with its own byte order
// and interfaces, each interface with its own link type and timestamp
// resolution.
type ngReader struct {
	src    *source
	be     bool
	ifaces []ngIface
	frame  int
	shb    bool // a section header has been read
}

var errNgBadLength = errors.New("bad block length")

func (r *ngReader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *ngReader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *ngReader) next(rec *record) error {
	s := r.src
	for {
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
				r.be = false
			case binary.BigEndian.Uint32(b[8:]):
				r.be = true
			default:
				return &readError{offset: s.off, err: fmt.Errorf("section header with a bad byte-order magic % x", b[8:12])}
			}
		} else {
			typ = r.u32(b)
		}
		blen := r.u32(b[4:])
		if blen < 12 || blen%4 != 0 || blen > maxBlock || (typ == ngBlockSHB && blen < 28) {
			return &readError{frame: r.packetFrame(typ), offset: s.off, err: fmt.Errorf("%w %d in block type %#x", errNgBadLength, blen, typ)}
		}
		n := int(blen)
		if !s.fill(n) {
			return &readError{frame: r.packetFrame(typ), offset: s.off, err: s.shortErr(fmt.Sprintf("block type %#x", typ), n)}
		}
		b = s.buf[s.pos : s.pos+n]
		if tail := r.u32(b[n-4:]); tail != blen {
			return &readError{frame: r.packetFrame(typ), offset: s.off, err: fmt.Errorf("%w: block type %#x starts with length %d and ends with %d", errNgBadLength, typ, blen, tail)}
		}
		body := b[8 : n-4]
		off := s.off
		if typ != ngBlockSHB && !r.shb {
			return &readError{offset: off, err: errors.New("pcapng block before the first section header")}
		}
		switch typ {
		case ngBlockSHB:
			if err := r.section(body); err != nil {
				return &readError{offset: off, err: err}
			}
		case ngBlockIDB:
			if err := r.iface(body); err != nil {
				return &readError{offset: off, err: err}
			}
		case ngBlockEPB, ngBlockOPB, ngBlockSPB:
			r.frame++
			if err := r.packet(typ, body, rec); err != nil {
				return &readError{frame: r.frame, offset: off, err: err}
			}
			rec.frame = r.frame
			rec.offset = off
			s.skip(n)
			return nil
		}
		s.skip(n)
	}
}

// packetFrame is the frame number a damaged block would have had, when it
// is a packet block.
func (r *ngReader) packetFrame(typ uint32) int {
	switch typ {
	case ngBlockEPB, ngBlockOPB, ngBlockSPB:
		return r.frame + 1
	}
	return 0
}

func (r *ngReader) section(body []byte) error {
	// body: byte-order magic, major, minor, section length, options.
	if major := r.u16(body[4:]); major != 1 {
		return fmt.Errorf("unsupported pcapng version %d.%d", major, r.u16(body[6:]))
	}
	r.shb = true
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *ngReader) iface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: interface description of %d bytes", errNgBadLength, len(body))
	}
	ifc := ngIface{link: uint32(r.u16(body)), snaplen: r.u32(body[4:]), units: 1e6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, olen := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 { // opt_endofopt
			break
		}
		if 4+olen > len(opts) {
			return fmt.Errorf("interface option %d of %d bytes overruns its block", code, olen)
		}
		v := opts[4 : 4+olen]
		switch code {
		case 9: // if_tsresol
			if olen >= 1 {
				units, ok := tsUnits(v[0])
				if !ok {
					return fmt.Errorf("interface timestamp resolution %#x out of range", v[0])
				}
				ifc.units = units
			}
		case 14: // if_tsoffset
			if olen >= 8 {
				if r.be {
					ifc.offset = int64(binary.BigEndian.Uint64(v))
				} else {
					ifc.offset = int64(binary.LittleEndian.Uint64(v))
				}
			}
		}
		opts = opts[4+(olen+3)&^3:]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// tsUnits decodes if_tsresol: a power of ten, or of two when the top bit
// is set.
func tsUnits(v byte) (uint64, bool) {
	if v&0x80 != 0 {
		e := v & 0x7f
		if e > 63 {
			return 0, false
		}
		return 1 << e, true
	}
	if v > 19 {
		return 0, false
	}
	u := uint64(1)
	for range v {
		u *= 10
	}
	return u, true
}

func (r *ngReader) packet(typ uint32, body []byte, rec *record) error {
	var ifid, capLen, origLen uint32
	var hi, lo uint32
	var data []byte
	hasTS := true
	switch typ {
	case ngBlockEPB, ngBlockOPB:
		if len(body) < 20 {
			return fmt.Errorf("%w: packet block of %d bytes", errNgBadLength, len(body))
		}
		if typ == ngBlockEPB {
			ifid = r.u32(body)
		} else {
			ifid = uint32(r.u16(body))
		}
		hi, lo = r.u32(body[4:]), r.u32(body[8:])
		capLen, origLen = r.u32(body[12:]), r.u32(body[16:])
		if int64(capLen) > int64(len(body)-20) {
			return fmt.Errorf("captured length %d overruns its block (%d bytes of data)", capLen, len(body)-20)
		}
		data = body[20 : 20+capLen]
	case ngBlockSPB:
		if len(body) < 4 {
			return fmt.Errorf("%w: simple packet block of %d bytes", errNgBadLength, len(body))
		}
		origLen = r.u32(body)
		capLen = min(origLen, uint32(len(body)-4))
		hasTS = false
	}
	if int(ifid) >= len(r.ifaces) {
		return fmt.Errorf("packet on interface %d, but the section describes %d", ifid, len(r.ifaces))
	}
	ifc := &r.ifaces[ifid]
	if typ == ngBlockSPB {
		if ifc.snaplen != 0 {
			capLen = min(capLen, ifc.snaplen)
		}
		data = body[4 : 4+capLen]
	}
	rec.data = data
	rec.origLen = max(int(origLen), int(capLen))
	rec.link = ifc.link
	rec.hasTS = hasTS
	rec.ts = 0
	if hasTS {
		t := uint64(hi)<<32 | uint64(lo)
		switch ifc.units {
		case 1e6:
			rec.ts = int64(t * 1e3)
		case 1e9:
			rec.ts = int64(t)
		default:
			// (t % units) * 1e9 may not fit 64 bits: multiply wide.
			h, l := bits.Mul64(t%ifc.units, 1e9)
			frac, _ := bits.Div64(h, l, ifc.units)
			rec.ts = int64(t/ifc.units)*1e9 + int64(frac)
		}
		rec.ts += ifc.offset * 1e9
	}
	return nil
}
