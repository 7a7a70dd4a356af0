package capture

import (
	"encoding/binary"
	"net/netip"
)

// Link types (LINKTYPE_ values of pcap and pcapng) the decoder reads.
const (
	linkNull     = 0   // BSD loopback: 4-byte address family in host order
	linkEthernet = 1   // Ethernet II, 802.1Q/802.1ad tags, MPLS
	linkRawOld   = 12  // raw IP on most BSDs
	linkRawBSD   = 14  // raw IP on OpenBSD
	linkRaw      = 101 // raw IPv4 or IPv6
	linkLoop     = 108 // OpenBSD loopback: family in network order
	linkSLL      = 113 // Linux cooked capture (tcpdump -i any)
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276 // Linux cooked capture v2 (tcpdump -i any, libpcap >= 1.10)
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// addr16 is an IP address as two big-endian halves (IPv4 IPv4-mapped),
// so that keys compare and hash as plain integers.
type addr16 struct{ hi, lo uint64 }

func (a addr16) bytes() (b [16]byte) {
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

func (a addr16) addr() netip.Addr {
	if a.hi == 0 && a.lo>>32 == 0xffff {
		// IPv4-mapped: what AddrFrom16(...).Unmap() gives, without the bytes.
		v := uint32(a.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return netip.AddrFrom16(a.bytes())
}

// flowKey is a connection's 4-tuple, ordered so that both directions give
// the same key: (a, pa) is the smaller endpoint.
type flowKey struct {
	a, b   addr16
	pa, pb uint16
}

// hash mixes the key into the flow table's map key.
func (k *flowKey) hash() uint64 {
	h := k.a.hi*0x9e3779b97f4a7c15 ^ k.a.lo*0xc2b2ae3d27d4eb4f ^
		k.b.hi*0x165667b19e3779f9 ^ k.b.lo*0xd6e8feb86659fd93 ^
		(uint64(k.pa)<<16|uint64(k.pb))*0xff51afd7ed558ccd
	return h ^ h>>29
}

// eq is k == o as a few integer compares (== on the struct is a call
// to the runtime's memory comparison).
func (k *flowKey) eq(o *flowKey) bool {
	return k.a == o.a && k.b == o.b && k.pa == o.pa && k.pb == o.pb
}

// less orders endpoints: address, then port.
func less(a, b addr16, pa, pb uint16) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return pa <= pb
}

// packet is what the flow table needs of one TCP segment.
// Fields are ordered to leave no padding: batches of packets are written
// by the reader's core and read by the table's, and their size shows.
type packet struct {
	key       flowKey
	frame     int
	ts        int64
	payload   int    // TCP payload length from the IP and TCP header lengths
	vlan      uint32 // 802.1Q tags: (outer+1)<<12 | inner (0 when single); 0 untagged
	seq, ack  uint32
	win       uint16
	flags     uint8
	hasTS     bool
	fwd       bool // the segment goes from (a, pa) to (b, pb)
	truncated bool
	fragment  bool // first fragment of a fragmented IP datagram
}

// decodeStatus says what a frame turned out to be.
type decodeStatus uint8

const (
	decTCP         decodeStatus = iota
	decOther                    // a well-formed frame that is not TCP
	decFragment                 // a non-first IP fragment: no TCP header to read
	decMalformed                // headers cut by the snaplen or inconsistent
	decUnsupported              // a link type the decoder does not read
)

// vlanTagged reports whether ethertype e is a VLAN tag (802.1Q, 802.1ad,
// and the pre-standard QinQ value).
func vlanTagged(e uint16) bool { return e == 0x8100 || e == 0x88a8 || e == 0x9100 }

// decode reads the headers of one frame into p. It never reads past data
// and never trusts a length field without checking it against data.
func decode(link uint32, data []byte, origLen int, p *packet) decodeStatus {
	var et uint16 // ethertype of the network layer, or 0 to read the IP version
	off := 0
	p.vlan = 0
	switch link {
	case linkEthernet:
		if len(data) < 14 {
			return decMalformed
		}
		et, off = binary.BigEndian.Uint16(data[12:]), 14
	case linkSLL:
		if len(data) < 16 {
			return decMalformed
		}
		et, off = binary.BigEndian.Uint16(data[14:]), 16
	case linkSLL2:
		if len(data) < 20 {
			return decMalformed
		}
		et, off = binary.BigEndian.Uint16(data), 20
	case linkNull, linkLoop:
		if len(data) < 4 {
			return decMalformed
		}
		fam := binary.LittleEndian.Uint32(data)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data)
		}
		switch fam {
		case 2:
			et = 0x0800
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			et = 0x86dd
		default:
			return decOther
		}
		off = 4
	case linkRaw, linkRawOld, linkRawBSD, linkIPv4, linkIPv6:
	default:
		return decUnsupported
	}
	// VLAN tags: keep up to two IDs (QinQ); VID 0 only carries a priority.
	for vlanTagged(et) {
		if off+4 > len(data) {
			return decMalformed
		}
		if vid := uint32(binary.BigEndian.Uint16(data[off:]) & 0xfff); vid != 0 {
			switch {
			case p.vlan == 0:
				p.vlan = (vid + 1) << 12
			case p.vlan&0xfff == 0:
				p.vlan |= vid
			}
		}
		et = binary.BigEndian.Uint16(data[off+2:])
		off += 4
	}
	if et == 0x8847 { // MPLS unicast: skip the label stack
		for {
			if off+4 > len(data) {
				return decMalformed
			}
			bos := data[off+2]&1 != 0
			off += 4
			if bos {
				break
			}
		}
		et = 0
	}
	l3 := data[off:]
	wire := origLen - off // bytes of the network layer on the wire
	if et == 0 {
		if len(l3) < 1 {
			return decMalformed
		}
		switch l3[0] >> 4 {
		case 4:
			et = 0x0800
		case 6:
			et = 0x86dd
		default:
			return decOther
		}
	}
	p.truncated = len(data) < origLen
	switch et {
	case 0x0800:
		return decodeIPv4(l3, wire, p)
	case 0x86dd:
		return decodeIPv6(l3, wire, p)
	}
	return decOther
}

func decodeIPv4(b []byte, wire int, p *packet) decodeStatus {
	if len(b) < 20 || b[0]>>4 != 4 {
		return decMalformed
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return decMalformed
	}
	if b[9] != 6 {
		return decOther
	}
	frag := binary.BigEndian.Uint16(b[6:])
	if frag&0x1fff != 0 {
		return decFragment
	}
	p.fragment = frag&0x2000 != 0
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total == 0 || total > wire {
		// A zero total length is a TSO/GSO segment captured before the
		// NIC split it: its length is the frame's.
		total = wire
	}
	if total < ihl {
		return decMalformed
	}
	src := addr16{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[12:]))}
	dst := addr16{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[16:]))}
	return decodeTCP(b[ihl:], total-ihl, src, dst, p)
}

func decodeIPv6(b []byte, wire int, p *packet) decodeStatus {
	if len(b) < 40 || b[0]>>4 != 6 {
		return decMalformed
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	if plen == 0 || plen > wire-40 {
		plen = wire - 40 // jumbogram or TSO
	}
	next := b[6]
	off := 40
	p.fragment = false
	// Walk the extension headers to TCP.
	for range 16 {
		switch next {
		case 6:
			if off > len(b) || plen < off-40 {
				return decMalformed
			}
			src := addr16{binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])}
			dst := addr16{binary.BigEndian.Uint64(b[24:]), binary.BigEndian.Uint64(b[32:])}
			return decodeTCP(b[off:], plen-(off-40), src, dst, p)
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if off+2 > len(b) {
				return decMalformed
			}
			next, off = b[off], off+(int(b[off+1])+1)*8
		case 44: // fragment
			if off+8 > len(b) {
				return decMalformed
			}
			fo := binary.BigEndian.Uint16(b[off+2:])
			if fo&0xfff8 != 0 {
				return decFragment
			}
			p.fragment = fo&1 != 0
			next, off = b[off], off+8
		case 51: // authentication header
			if off+2 > len(b) {
				return decMalformed
			}
			next, off = b[off], off+(int(b[off+1])+2)*4
		default:
			return decOther
		}
	}
	return decMalformed
}

// decodeTCP reads the TCP header in b; seglen is the TCP segment's length
// (header and payload) according to the IP header, which stays right when
// the snaplen cut the payload.
func decodeTCP(b []byte, seglen int, src, dst addr16, p *packet) decodeStatus {
	// Ports, sequence, acknowledgment, offset, flags and window are the
	// first 16 bytes; options and checksum are not needed.
	if len(b) < 16 {
		return decMalformed
	}
	doff := int(b[12]>>4) * 4
	if doff < 20 || seglen < doff {
		return decMalformed
	}
	sp, dp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	p.seq = binary.BigEndian.Uint32(b[4:])
	p.ack = binary.BigEndian.Uint32(b[8:])
	p.flags = b[13]
	p.win = binary.BigEndian.Uint16(b[14:])
	p.payload = seglen - doff
	if less(src, dst, sp, dp) {
		p.key = flowKey{a: src, b: dst, pa: sp, pb: dp}
		p.fwd = true
	} else {
		p.key = flowKey{a: dst, b: src, pa: dp, pb: sp}
		p.fwd = false
	}
	return decTCP
}
