package capture

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// tcpFields is what the decoder must get right in every TCP segment.
type tcpFields struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
	Win      uint16
	Payload  int
}

func oursFields(p *packet) tcpFields {
	a := netip.AddrPortFrom(p.key.a.addr(), p.key.pa)
	b := netip.AddrPortFrom(p.key.b.addr(), p.key.pb)
	if !p.fwd {
		a, b = b, a
	}
	return tcpFields{a, b, p.seq, p.ack, p.flags, p.win, p.payload}
}

// Every TCP segment of every corpus capture decodes as gopacket decodes
// it (for the link types gopacket v1.1.19 knows; it has no SLL2).
func TestDecodeMatchesGopacket(t *testing.T) {
	for _, path := range corpusPcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := readAll(t, data)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, r := range recs {
				if r.link > 255 {
					continue
				}
				gp := gopacket.NewPacket(r.data, layers.LinkType(r.link), gopacket.DecodeOptions{Lazy: false, NoCopy: true})
				tl, _ := gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
				var p packet
				st := decode(r.link, r.data, r.origLen, &p)
				if tl == nil {
					if st == decTCP {
						t.Errorf("frame %d: we decode TCP, gopacket does not", r.frame)
					}
					continue
				}
				if st != decTCP {
					t.Errorf("frame %d: gopacket decodes TCP, we say %d", r.frame, st)
					continue
				}
				var src, dst netip.Addr
				var iplen int // TCP header and payload, from the IP header
				switch ip := gp.NetworkLayer().(type) {
				case *layers.IPv4:
					src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
					dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
					iplen = int(ip.Length) - int(ip.IHL)*4
				case *layers.IPv6:
					src, _ = netip.AddrFromSlice(ip.SrcIP)
					dst, _ = netip.AddrFromSlice(ip.DstIP)
					iplen = int(ip.Length) // no extension headers in the corpus
				}
				var fl uint8
				for bit, on := range []bool{tl.FIN, tl.SYN, tl.RST, tl.PSH, tl.ACK, tl.URG, tl.ECE, tl.CWR} {
					if on {
						fl |= 1 << bit
					}
				}
				want := tcpFields{netip.AddrPortFrom(src, uint16(tl.SrcPort)), netip.AddrPortFrom(dst, uint16(tl.DstPort)),
					tl.Seq, tl.Ack, fl, tl.Window, iplen - int(tl.DataOffset)*4}
				if got := oursFields(&p); got != want {
					t.Errorf("frame %d:\n got %+v\nwant %+v", r.frame, got, want)
				}
				checked++
			}
			t.Logf("%d TCP segments checked", checked)
		})
	}
}

// frameBytes assembles a frame from pieces.
func frameBytes(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func ipv4Hdr(total int, proto byte, flagsFrag uint16) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[6:], flagsFrag)
	h[8], h[9] = 64, proto
	copy(h[12:], []byte{192, 0, 2, 1})
	copy(h[16:], []byte{192, 0, 2, 2})
	return h
}

func ipv6Hdr(plen int, next byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(plen))
	h[6], h[7] = next, 64
	h[8], h[9], h[23] = 0x20, 0x01, 1
	h[24], h[25], h[39] = 0x20, 0x01, 2
	return h
}

func tcpHdr(flags byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, 1234)
	binary.BigEndian.PutUint16(h[2:], 80)
	binary.BigEndian.PutUint32(h[4:], 100)
	binary.BigEndian.PutUint32(h[8:], 200)
	h[12], h[13] = 5<<4, flags
	binary.BigEndian.PutUint16(h[14:], 512)
	return h
}

func ethHdr(types ...uint16) []byte {
	h := make([]byte, 12)
	for i, ty := range types {
		if i > 0 {
			h = binary.BigEndian.AppendUint16(h, 0x2000|uint16(10*i)) // priority 1, VID 10, 20
		}
		h = binary.BigEndian.AppendUint16(h, ty)
	}
	return h
}

func TestDecode(t *testing.T) {
	tcp := tcpHdr(flagACK)
	payload := make([]byte, 30)
	v4 := frameBytes(ipv4Hdr(70, 6, 0), tcp, payload)
	v6 := frameBytes(ipv6Hdr(50, 6), tcp, payload)
	hop := []byte{6, 0, 0, 0, 0, 0, 0, 0}                          // hop-by-hop, next TCP
	fragFirst := []byte{6, 0, 0x00, 0x01, 0, 0, 0, 7}              // offset 0, more fragments
	fragLater := []byte{6, 0, 0x00, 0xb8, 0, 0, 0, 7}              // offset 23*8
	dstOpts := []byte{44, 0, 0, 0, 0, 0, 0, 0}                     // destination options, next fragment
	mpls := []byte{0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40} // two labels, bottom of stack on the second
	tests := []struct {
		name     string
		link     uint32
		data     []byte
		origLen  int // 0: len(data)
		want     decodeStatus
		payload  int
		vlan     uint32
		fragment bool
	}{
		{"ethernet IPv4", linkEthernet, frameBytes(ethHdr(0x0800), v4), 0, decTCP, 30, 0, false},
		{"802.1Q", linkEthernet, frameBytes(ethHdr(0x8100, 0x0800), v4), 0, decTCP, 30, 11 << 12, false},
		{"QinQ 802.1ad", linkEthernet, frameBytes(ethHdr(0x88a8, 0x8100, 0x0800), v4), 0, decTCP, 30, 11<<12 | 20, false},
		{"MPLS", linkEthernet, frameBytes(ethHdr(0x8847), mpls, v4), 0, decTCP, 30, 0, false},
		{"ethernet IPv6", linkEthernet, frameBytes(ethHdr(0x86dd), v6), 0, decTCP, 30, 0, false},
		{"IPv6 hop-by-hop", linkRaw, frameBytes(ipv6Hdr(58, 0), hop, tcp, payload), 0, decTCP, 30, 0, false},
		{"IPv6 options then first fragment", linkRaw, frameBytes(ipv6Hdr(66, 60), dstOpts, fragFirst, tcp, payload), 0, decTCP, 30, 0, true},
		{"IPv6 later fragment", linkRaw, frameBytes(ipv6Hdr(58, 44), fragLater, payload), 0, decFragment, 0, 0, false},
		{"IPv4 first fragment", linkRaw, frameBytes(ipv4Hdr(70, 6, 0x2000), tcp, payload), 0, decTCP, 30, 0, true},
		{"IPv4 later fragment", linkRaw, frameBytes(ipv4Hdr(70, 6, 0x2000|23), payload), 0, decFragment, 0, 0, false},
		{"snaplen cut: payload from the IP length", linkRaw, frameBytes(ipv4Hdr(1440, 6, 0), tcp), 1440, decTCP, 1400, 0, false},
		{"TSO: IPv4 total length 0", linkRaw, frameBytes(ipv4Hdr(0, 6, 0), tcp, payload), 0, decTCP, 30, 0, false},
		{"ethernet padding after a short segment", linkEthernet, frameBytes(ethHdr(0x0800), ipv4Hdr(40, 6, 0), tcp, make([]byte, 6)), 0, decTCP, 0, 0, false},
		{"Linux cooked", linkSLL, frameBytes(make([]byte, 14), []byte{0x08, 0x00}, v4), 0, decTCP, 30, 0, false},
		{"Linux cooked v2", linkSLL2, frameBytes([]byte{0x86, 0xdd}, make([]byte, 18), v6), 0, decTCP, 30, 0, false},
		{"BSD loopback, little-endian AF_INET", linkNull, frameBytes([]byte{2, 0, 0, 0}, v4), 0, decTCP, 30, 0, false},
		{"BSD loopback, big-endian AF_INET6 (Darwin)", linkNull, frameBytes([]byte{0, 0, 0, 30}, v6), 0, decTCP, 30, 0, false},
		{"OpenBSD loopback", linkLoop, frameBytes([]byte{0, 0, 0, 24}, v6), 0, decTCP, 30, 0, false},
		{"raw IPv6", linkIPv6, v6, 0, decTCP, 30, 0, false},
		{"UDP", linkRaw, frameBytes(ipv4Hdr(38, 17, 0), make([]byte, 18)), 0, decOther, 0, 0, false},
		{"ARP", linkEthernet, frameBytes(ethHdr(0x0806), make([]byte, 28)), 0, decOther, 0, 0, false},
		{"loopback of another family", linkNull, frameBytes([]byte{7, 0, 0, 0}, v4), 0, decOther, 0, 0, false},
		{"802.11 radiotap", 127, make([]byte, 60), 0, decUnsupported, 0, 0, false},
		{"TCP header cut before the window", linkRaw, frameBytes(ipv4Hdr(70, 6, 0), tcp[:14]), 70, decMalformed, 0, 0, false},
		{"TCP data offset below 5", linkRaw, frameBytes(ipv4Hdr(70, 6, 0), append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4 << 4, 0}, make([]byte, 36)...)), 0, decMalformed, 0, 0, false},
		{"IPv4 header length below 5", linkRaw, frameBytes([]byte{0x44}, v4[1:]), 0, decMalformed, 0, 0, false},
		{"IPv4 total length below its header", linkRaw, frameBytes(ipv4Hdr(12, 6, 0), tcp), 0, decMalformed, 0, 0, false},
		{"IPv6 extension header past the frame", linkRaw, frameBytes(ipv6Hdr(8, 0), []byte{6, 200}), 0, decMalformed, 0, 0, false},
		{"VLAN tag cut", linkEthernet, frameBytes(ethHdr(0x8100), []byte{0}), 0, decMalformed, 0, 0, false},
		{"empty ethernet", linkEthernet, nil, 0, decMalformed, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.origLen
			if orig == 0 {
				orig = len(tt.data)
			}
			var p packet
			st := decode(tt.link, tt.data, orig, &p)
			if st != tt.want {
				t.Fatalf("status %d, want %d", st, tt.want)
			}
			if st != decTCP {
				return
			}
			if p.payload != tt.payload || p.vlan != tt.vlan || p.fragment != tt.fragment || p.seq != 100 || p.ack != 200 || p.win != 512 || p.flags != flagACK {
				t.Errorf("decoded %+v", p)
			}
			if p.truncated != (orig > len(tt.data)) {
				t.Errorf("truncated = %v", p.truncated)
			}
		})
	}
}
