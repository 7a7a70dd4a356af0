package collect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// The classic pcap file format (what tcpdump -w writes): a 24-byte global
// header whose magic gives the byte order and time resolution, then records
// of a 16-byte header (seconds, fraction, captured length, original length)
// and the captured bytes.
const (
	pcapGlobalLen = 24
	pcapRecordLen = 16
)

// Link types whose network layer we can find.
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkRawOld   = 12
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

var errNotPcap = errors.New("not a pcap file")

// pcapInfo reads the global header.
func pcapInfo(data []byte) (binary.ByteOrder, uint32, error) {
	if len(data) < pcapGlobalLen {
		return nil, 0, errNotPcap
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, 0, errNotPcap
	}
	return order, order.Uint32(data[20:]) & 0x0fffffff, nil
}

// pcapWhole returns how many leading bytes of data form whole records, at
// most limit bytes, and how many records that is. A capture stopped mid-write
// or cut at the size limit loses only its last, partial record.
func pcapWhole(data []byte, limit int64) (int, int) {
	order, _, err := pcapInfo(data)
	if err != nil {
		return 0, 0
	}
	off, n := pcapGlobalLen, 0
	for off+pcapRecordLen <= len(data) {
		incl := int(order.Uint32(data[off+8:]))
		end := off + pcapRecordLen + incl
		if incl < 0 || end > len(data) || int64(end) > limit {
			break
		}
		off = end
		n++
	}
	return off, n
}

// AnonymizePcap rewrites, in place, every IPv4 and IPv6 address in the
// network headers of a classic pcap (and the addresses of ARP packets and
// of the packet quoted in an ICMP error), with the same pseudonyms as the
// text files. Checksums are updated incrementally (RFC 1624): the IPv4
// header checksum and the TCP, UDP and ICMPv6 checksums stay exactly as
// valid as they were, even though the snap length cut the payload they
// cover. It returns how many packets were changed.
func (an *Anonymizer) AnonymizePcap(data []byte) (int, error) {
	order, link, err := pcapInfo(data)
	if err != nil {
		return 0, err
	}
	changed := 0
	off := pcapGlobalLen
	for off+pcapRecordLen <= len(data) {
		incl := int(order.Uint32(data[off+8:]))
		start := off + pcapRecordLen
		if incl < 0 || start+incl > len(data) {
			return changed, fmt.Errorf("record at byte %d: truncated", off)
		}
		if an.packet(link, data[start:start+incl]) {
			changed++
		}
		off = start + incl
	}
	return changed, nil
}

// packet rewrites one captured frame; it reports whether anything changed.
func (an *Anonymizer) packet(link uint32, p []byte) bool {
	var etype uint16
	var off int
	switch link {
	case linkEthernet:
		if len(p) < 14 {
			return false
		}
		off, etype = 14, binary.BigEndian.Uint16(p[12:])
		for (etype == 0x8100 || etype == 0x88a8) && len(p) >= off+4 {
			etype = binary.BigEndian.Uint16(p[off+2:])
			off += 4
		}
	case linkSLL:
		if len(p) < 16 {
			return false
		}
		off, etype = 16, binary.BigEndian.Uint16(p[14:])
	case linkSLL2:
		if len(p) < 20 {
			return false
		}
		off, etype = 20, binary.BigEndian.Uint16(p[0:])
	case linkNull:
		if len(p) < 4 {
			return false
		}
		// The family is in the byte order of the capturing host; both
		// orders are tried.
		fam := binary.LittleEndian.Uint32(p)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(p)
		}
		off = 4
		switch fam {
		case 2:
			etype = 0x0800
		case 10, 24, 28, 30:
			etype = 0x86dd
		}
	case linkRaw, linkRawOld, linkIPv4, linkIPv6:
		if len(p) < 1 {
			return false
		}
		switch p[0] >> 4 {
		case 4:
			etype = 0x0800
		case 6:
			etype = 0x86dd
		}
	default:
		return false
	}
	switch etype {
	case 0x0800:
		return an.ipv4(p[off:], 0)
	case 0x86dd:
		return an.ipv6(p[off:], 0)
	case 0x0806:
		return an.arp(p[off:])
	}
	return false
}

// rewriteAddr replaces the address at b (4 or 16 bytes) and returns the
// old bytes.
func (an *Anonymizer) rewriteAddr(b []byte) []byte {
	old := append([]byte(nil), b...)
	var a netip.Addr
	if len(b) == 4 {
		a = netip.AddrFrom4([4]byte(b))
		n := an.Addr(a).As4()
		copy(b, n[:])
	} else {
		a = netip.AddrFrom16([16]byte(b))
		n := an.Addr(a).As16()
		copy(b, n[:])
	}
	return old
}

// csumAdjust updates a ones' complement checksum for the replacement of
// old by new (RFC 1624, equation 3). old and new have the same even length.
func csumAdjust(sum uint16, old, new []byte) uint16 {
	s := uint32(^sum)
	for i := 0; i+1 < len(old); i += 2 {
		s += uint32(^binary.BigEndian.Uint16(old[i:]))
		s += uint32(binary.BigEndian.Uint16(new[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// fixSum adjusts the 16-bit checksum at b[at:] if it was captured.
func fixSum(b []byte, at int, old, new []byte, udp bool) {
	if at+2 > len(b) || bytes.Equal(old, new) {
		return // not captured, or nothing changed (keep 0xffff as it is)
	}
	sum := binary.BigEndian.Uint16(b[at:])
	if udp && sum == 0 {
		return // IPv4 UDP without a checksum
	}
	n := csumAdjust(sum, old, new)
	if udp && n == 0 {
		n = 0xffff
	}
	binary.BigEndian.PutUint16(b[at:], n)
}

// l4Sum is where the transport checksum of a protocol sits, and whether
// it covers the pseudo-header with the addresses.
func l4Sum(proto byte) (at int, pseudo, udp bool) {
	switch proto {
	case 6:
		return 16, true, false
	case 17, 136: // UDP, UDP-Lite
		return 6, true, proto == 17
	case 58:
		return 2, true, false
	case 1:
		return 2, false, false
	}
	return -1, false, false
}

// ipv4 rewrites an IPv4 packet; depth > 0 is a packet quoted inside an ICMP
// error, whose transport checksum is not touched.
func (an *Anonymizer) ipv4(p []byte, depth int) bool {
	if len(p) < 20 || p[0]>>4 != 4 {
		return false
	}
	ihl := int(p[0]&0x0f) * 4
	oldSrc := an.rewriteAddr(p[12:16])
	oldDst := an.rewriteAddr(p[16:20])
	old := append(oldSrc, oldDst...)
	changed := !bytes.Equal(old, p[12:20])
	fixSum(p, 10, old, p[12:20], false)
	if depth > 0 || ihl < 20 || len(p) < ihl {
		return changed
	}
	if binary.BigEndian.Uint16(p[6:])&0x1fff != 0 {
		return changed // a later fragment: no transport header
	}
	proto, l4 := p[9], p[ihl:]
	if at, pseudo, udp := l4Sum(proto); at >= 0 && pseudo {
		fixSum(l4, at, old, p[12:20], udp)
	}
	if proto == 1 && len(l4) >= 8 {
		switch l4[0] {
		case 3, 4, 5, 11, 12: // errors quote the offending packet
			inner := l4[8:]
			before := append([]byte(nil), inner[:min(len(inner), 20)]...)
			if an.ipv4(inner, depth+1) && len(before) >= 20 {
				fixSum(l4, 2, before, inner[:20], false)
				changed = true
			}
		}
	}
	return changed
}

// ipv6 rewrites an IPv6 packet, walking the extension headers to the
// transport header.
func (an *Anonymizer) ipv6(p []byte, depth int) bool {
	if len(p) < 40 || p[0]>>4 != 6 {
		return false
	}
	oldSrc := an.rewriteAddr(p[8:24])
	oldDst := an.rewriteAddr(p[24:40])
	old := append(oldSrc, oldDst...)
	changed := !bytes.Equal(old, p[8:40])
	if depth > 0 {
		return changed
	}
	next, off := p[6], 40
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if off+2 > len(p) {
				return changed
			}
			next, off = p[off], off+(int(p[off+1])+1)*8
			continue
		case 51: // authentication header
			if off+2 > len(p) {
				return changed
			}
			next, off = p[off], off+(int(p[off+1])+2)*4
			continue
		case 44: // fragment
			if off+8 > len(p) || binary.BigEndian.Uint16(p[off+2:])&0xfff8 != 0 {
				return changed
			}
			next, off = p[off], off+8
			continue
		}
		break
	}
	if off > len(p) {
		return changed
	}
	l4 := p[off:]
	if at, pseudo, udp := l4Sum(next); at >= 0 && pseudo {
		fixSum(l4, at, old, p[8:40], udp)
	}
	if next == 58 && len(l4) >= 8 && l4[0] >= 1 && l4[0] <= 4 {
		inner := l4[8:]
		if len(inner) >= 40 {
			before := append([]byte(nil), inner[8:40]...)
			if an.ipv6(inner, depth+1) {
				fixSum(l4, 2, before, inner[8:40], false)
				changed = true
			}
		}
	}
	return changed
}

// arp rewrites the protocol addresses of an ARP packet for IPv4.
func (an *Anonymizer) arp(p []byte) bool {
	if len(p) < 8 || binary.BigEndian.Uint16(p[2:]) != 0x0800 || p[5] != 4 {
		return false
	}
	hl := int(p[4])
	spa := 8 + hl
	tpa := spa + 4 + hl
	if len(p) < tpa+4 {
		return false
	}
	old := append(an.rewriteAddr(p[spa:spa+4]), an.rewriteAddr(p[tpa:tpa+4])...)
	return !bytes.Equal(old[:4], p[spa:spa+4]) || !bytes.Equal(old[4:], p[tpa:tpa+4])
}
