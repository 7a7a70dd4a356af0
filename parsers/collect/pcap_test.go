package collect

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// testPacket builds one frame with correct checksums.
func testPacket(t testing.TB, link layers.LinkType, src, dst string, l4 string, payload []byte) []byte {
	t.Helper()
	s, d := net.ParseIP(src), net.ParseIP(dst)
	var ls []gopacket.SerializableLayer
	var netLayer gopacket.NetworkLayer
	v4 := s.To4() != nil
	etype := layers.EthernetTypeIPv6
	if v4 {
		etype = layers.EthernetTypeIPv4
	}
	switch link {
	case layers.LinkTypeEthernet:
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: etype})
	}
	proto := layers.IPProtocolTCP
	if l4 == "udp" {
		proto = layers.IPProtocolUDP
	}
	if v4 {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: s, DstIP: d, Id: 7}
		ls, netLayer = append(ls, ip), ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: s, DstIP: d}
		ls, netLayer = append(ls, ip), ip
	}
	switch l4 {
	case "tcp":
		tcp := &layers.TCP{SrcPort: 51234, DstPort: 8080, Seq: 1000, Ack: 2000, PSH: true, ACK: true, Window: 512}
		if err := tcp.SetNetworkLayerForChecksum(netLayer); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, tcp)
	case "udp":
		udp := &layers.UDP{SrcPort: 40000, DstPort: 9999}
		if err := udp.SetNetworkLayerForChecksum(netLayer); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, udp)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	if link == layers.LinkTypeLinuxSLL {
		// gopacket cannot serialize the cooked header: packet type
		// (host), ARPHRD_ETHER, address length, address, protocol.
		sll := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
		sll = binary.BigEndian.AppendUint16(sll, uint16(etype))
		return append(sll, buf.Bytes()...)
	}
	return buf.Bytes()
}

// writePcap writes frames cut at snaplen.
func writePcap(t testing.TB, link layers.LinkType, snaplen int, frames ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(uint32(snaplen), link); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1795300000+int64(i), 0), Length: len(f), CaptureLength: min(len(f), snaplen)}
		if err := w.WritePacket(ci, f[:ci.CaptureLength]); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// readFrames decodes a pcap back with gopacket.
func readFrames(t *testing.T, data []byte) (layers.LinkType, [][]byte) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		d, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		frames = append(frames, d)
	}
	return r.LinkType(), frames
}

// checksums recomputes the IPv4 header and transport checksums of a whole
// frame with gopacket and returns (stored, recomputed) pairs.
func checksums(t *testing.T, link layers.LinkType, frame []byte) [][2]uint16 {
	t.Helper()
	pkt := gopacket.NewPacket(frame, link, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		t.Fatalf("decode: %v", el.Error())
	}
	var out [][2]uint16
	opts := gopacket.SerializeOptions{ComputeChecksums: true}
	nl := pkt.NetworkLayer()
	if ip, ok := nl.(*layers.IPv4); ok {
		stored := ip.Checksum
		buf := gopacket.NewSerializeBuffer()
		if err := ip.SerializeTo(buf, opts); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]uint16{stored, binary.BigEndian.Uint16(buf.Bytes()[10:])})
	}
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		stored := l.Checksum
		if err := l.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, l, gopacket.Payload(l.Payload)); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]uint16{stored, binary.BigEndian.Uint16(buf.Bytes()[16:])})
	case *layers.UDP:
		stored := l.Checksum
		if err := l.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, l, gopacket.Payload(l.Payload)); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]uint16{stored, binary.BigEndian.Uint16(buf.Bytes()[6:])})
	}
	return out
}

func addrsOf(t *testing.T, link layers.LinkType, frame []byte) (netip.Addr, netip.Addr) {
	t.Helper()
	pkt := gopacket.NewPacket(frame, link, gopacket.Default)
	src, dst := pkt.NetworkLayer().NetworkFlow().Endpoints()
	s, _ := netip.AddrFromSlice(src.Raw())
	d, _ := netip.AddrFromSlice(dst.Raw())
	return s, d
}

func TestCollectAnonymizePcapChecksumsStayValid(t *testing.T) {
	payload := []byte("GET / HTTP/1.1\r\nHost: svc\r\n\r\n")
	tests := []struct {
		name     string
		link     layers.LinkType
		src, dst string
		l4       string
	}{
		{"ethernet v4 tcp", layers.LinkTypeEthernet, "10.0.0.1", "10.0.0.2", "tcp"},
		{"ethernet v4 udp", layers.LinkTypeEthernet, "192.168.1.5", "100.109.4.4", "udp"},
		{"ethernet v6 tcp", layers.LinkTypeEthernet, "2001:db8::1", "2001:db8::2", "tcp"},
		{"sll v6 udp", layers.LinkTypeLinuxSLL, "2001:db8::a", "fd00::b", "udp"},
		{"sll v4 loopback kept", layers.LinkTypeLinuxSLL, "127.0.0.1", "10.3.3.3", "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := NewAnonymizerKey(testKey)
			frame := testPacket(t, tt.link, tt.src, tt.dst, tt.l4, payload)
			data := writePcap(t, tt.link, 65535, frame)
			n, err := an.AnonymizePcap(data)
			if err != nil || n != 1 {
				t.Fatalf("AnonymizePcap = %d, %v; want 1, nil", n, err)
			}
			_, frames := readFrames(t, data)
			if len(frames) != 1 {
				t.Fatalf("%d frames after rewrite", len(frames))
			}
			s, d := addrsOf(t, tt.link, frames[0])
			if want := an.Addr(netip.MustParseAddr(tt.src)); s != want {
				t.Errorf("src = %v, want %v (the text pseudonym)", s, want)
			}
			if want := an.Addr(netip.MustParseAddr(tt.dst)); d != want {
				t.Errorf("dst = %v, want %v", d, want)
			}
			if s.String() == tt.src && !netip.MustParseAddr(tt.src).IsLoopback() {
				t.Errorf("src %v not rewritten", s)
			}
			sums := checksums(t, tt.link, frames[0])
			if len(sums) == 0 {
				t.Fatal("no checksum found")
			}
			for i, c := range sums {
				if c[0] != c[1] {
					t.Errorf("checksum %d: stored %#04x, recomputed %#04x", i, c[0], c[1])
				}
			}
			if !bytes.HasSuffix(frames[0], payload) {
				t.Error("payload changed")
			}
		})
	}
}

// A frame cut by the snap length cannot be checksummed from scratch; the
// incremental update must give what a full recomputation over the
// rewritten full packet gives.
func TestCollectAnonymizePcapTruncatedFrames(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	payload := bytes.Repeat([]byte("x"), 400)
	for _, src := range []string{"10.0.0.1", "2001:db8::1"} {
		dst := "10.9.9.9"
		if src[0] == '2' {
			dst = "2001:db8::9"
		}
		full := testPacket(t, layers.LinkTypeEthernet, src, dst, "tcp", payload)
		data := writePcap(t, layers.LinkTypeEthernet, 96, full)
		if _, err := an.AnonymizePcap(data); err != nil {
			t.Fatal(err)
		}
		_, frames := readFrames(t, data)
		if len(frames) != 1 || len(frames[0]) != 96 {
			t.Fatalf("want one 96-byte frame, got %d", len(frames))
		}
		// Rebuild the full packet with the pseudonyms and compare its
		// checksums with the rewritten truncated frame.
		ps, pd := an.Addr(netip.MustParseAddr(src)), an.Addr(netip.MustParseAddr(dst))
		ref := testPacket(t, layers.LinkTypeEthernet, ps.String(), pd.String(), "tcp", payload)
		if !bytes.Equal(frames[0], ref[:96]) {
			t.Errorf("%s: rewritten frame differs from the frame built with the pseudonyms\n got %x\nwant %x", src, frames[0], ref[:96])
		}
	}
}

func TestCollectPcapWholeRecords(t *testing.T) {
	frame := testPacket(t, layers.LinkTypeEthernet, "10.0.0.1", "10.0.0.2", "tcp", []byte("hello"))
	data := writePcap(t, layers.LinkTypeEthernet, 65535, frame, frame, frame)
	rec := pcapRecordLen + len(frame)
	tests := []struct {
		name      string
		data      []byte
		limit     int64
		keep, pkt int
	}{
		{"all", data, 1 << 20, len(data), 3},
		{"limit inside the third", data, int64(pcapGlobalLen + 2*rec + 5), pcapGlobalLen + 2*rec, 2},
		{"cut mid-record", data[:len(data)-3], 1 << 20, pcapGlobalLen + 2*rec, 2},
		{"header only", data[:pcapGlobalLen], 1 << 20, pcapGlobalLen, 0},
		{"not pcap", []byte("tcpdump: permission denied"), 1 << 20, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, n := pcapWhole(tt.data, tt.limit)
			if keep != tt.keep || n != tt.pkt {
				t.Errorf("pcapWhole = %d, %d; want %d, %d", keep, n, tt.keep, tt.pkt)
			}
		})
	}
}

func FuzzAnonymizePcap(f *testing.F) {
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw} {
		f.Add(writePcap(f, link, 96,
			testPacket(f, link, "10.0.0.1", "10.0.0.2", "tcp", []byte("hello")),
			testPacket(f, link, "2001:db8::1", "2001:db8::2", "udp", bytes.Repeat([]byte("x"), 200))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		an := NewAnonymizerKey(testKey)
		in := append([]byte(nil), data...)
		_, _ = an.AnonymizePcap(data)
		if len(data) != len(in) {
			t.Fatal("length changed")
		}
		if keep, _ := pcapWhole(data, 1<<20); keep > len(data) {
			t.Fatalf("pcapWhole kept %d of %d bytes", keep, len(data))
		}
		if len(in) >= pcapGlobalLen && !bytes.Equal(in[:pcapGlobalLen], data[:pcapGlobalLen]) {
			t.Fatal("global header changed")
		}
	})
}

// An ICMP error quotes the packet that caused it; its addresses are
// rewritten too and the ICMP checksum, which covers them, stays valid. ARP
// carries IPv4 addresses as well.
func TestCollectAnonymizePcapICMPErrorAndARP(t *testing.T) {
	an := NewAnonymizerKey(testKey)
	quoted := testPacket(t, layers.LinkTypeRaw, "10.0.0.1", "10.0.0.2", "udp", nil)[:28]
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.0.0.2"), DstIP: net.ParseIP("10.0.0.1")}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, icmp, gopacket.Payload(quoted)); err != nil {
		t.Fatal(err)
	}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: []byte{2, 0, 0, 0, 0, 1}, SourceProtAddress: []byte{10, 0, 0, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}}
	abuf := gopacket.NewSerializeBuffer()
	eth2 := *eth
	eth2.EthernetType = layers.EthernetTypeARP
	if err := gopacket.SerializeLayers(abuf, gopacket.SerializeOptions{FixLengths: true}, &eth2, arp); err != nil {
		t.Fatal(err)
	}
	data := writePcap(t, layers.LinkTypeEthernet, 65535, buf.Bytes(), abuf.Bytes())
	if n, err := an.AnonymizePcap(data); n != 2 || err != nil {
		t.Fatalf("AnonymizePcap = %d, %v", n, err)
	}
	_, frames := readFrames(t, data)
	p1, p2 := an.Addr(netip.MustParseAddr("10.0.0.1")), an.Addr(netip.MustParseAddr("10.0.0.2"))

	pkt := gopacket.NewPacket(frames[0], layers.LinkTypeEthernet, gopacket.Default)
	ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !ok {
		t.Fatal("no ICMPv4 layer after rewrite")
	}
	inner := ic.Payload
	if got := netip.AddrFrom4([4]byte(inner[12:16])); got != p1 {
		t.Errorf("quoted source %v, want %v", got, p1)
	}
	if got := netip.AddrFrom4([4]byte(inner[16:20])); got != p2 {
		t.Errorf("quoted destination %v, want %v", got, p2)
	}
	stored := ic.Checksum
	rb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(rb, gopacket.SerializeOptions{ComputeChecksums: true}, ic, gopacket.Payload(inner)); err != nil {
		t.Fatal(err)
	}
	if re := binary.BigEndian.Uint16(rb.Bytes()[2:]); re != stored {
		t.Errorf("ICMP checksum stored %#04x, recomputed %#04x", stored, re)
	}
	// The quoted IPv4 header's own checksum is still valid.
	qb := gopacket.NewPacket(inner, layers.LayerTypeIPv4, gopacket.Default)
	if qip, ok := qb.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		want := qip.Checksum
		hb := gopacket.NewSerializeBuffer()
		if err := qip.SerializeTo(hb, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint16(hb.Bytes()[10:]); got != want {
			t.Errorf("quoted IPv4 checksum stored %#04x, recomputed %#04x", want, got)
		}
	} else {
		t.Error("quoted packet does not decode as IPv4")
	}

	apkt := gopacket.NewPacket(frames[1], layers.LinkTypeEthernet, gopacket.Default)
	a, ok := apkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok {
		t.Fatal("no ARP layer after rewrite")
	}
	if s, d := netip.AddrFrom4([4]byte(a.SourceProtAddress)), netip.AddrFrom4([4]byte(a.DstProtAddress)); s != p1 || d != p2 {
		t.Errorf("ARP addresses %v %v, want %v %v", s, d, p1, p2)
	}
}
