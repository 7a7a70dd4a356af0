package capture

import (
	"bytes"
	"encoding/binary"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/netmortem/netmortem/parsers/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// corpusPcaps returns the real captures of the shared corpus
// (../shared/corpus/pcap beside the module root), skipping when absent.
func corpusPcaps(t testing.TB) []string {
	t.Helper()
	files := findCorpus()
	if len(files) == 0 {
		t.Skip("corpus captures not present beside the module")
	}
	return files
}

func findCorpus() []string {
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "shared", "corpus", "pcap", "*"))
	return files
}

// result is everything Analyze reported for one capture.
type result struct {
	Flows  []*event.Flow
	Events []*event.PacketEvent
	Errors []string
	Stats  Stats
}

func analyze(t testing.TB, data []byte, opt Options) *result {
	t.Helper()
	if opt.File == "" {
		opt.File = "test.pcap"
	}
	res := &result{}
	res.Stats = Analyze(bytes.NewReader(data), opt, res.handler())
	return res
}

// analyzeBytes is analyze through AnalyzeBytes.
func analyzeBytes(data []byte, opt Options) *result {
	if opt.File == "" {
		opt.File = "test.pcap"
	}
	res := &result{}
	res.Stats = AnalyzeBytes(data, opt, res.handler())
	return res
}

func (res *result) handler() Handler {
	return Handler{
		Flow:  func(f *event.Flow) { cp := *f; res.Flows = append(res.Flows, &cp) },
		Event: func(e *event.PacketEvent) { res.Events = append(res.Events, e) },
		Error: func(e *event.ParseError) { res.Errors = append(res.Errors, e.Error()) },
	}
}

func (r *result) anomalies(kind string) []event.Anomaly {
	var out []event.Anomaly
	for _, f := range r.Flows {
		for _, a := range f.Anomalies {
			if a.Kind == kind {
				out = append(out, a)
			}
		}
	}
	return out
}

// base is the time of the first packet of the built captures.
var base = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// frame is one packet to write: the bytes captured and the length on the
// wire.
type frame struct {
	ts   time.Time
	data []byte
	wire int
	link uint32
}

// capBuilder builds captures packet by packet, serialising headers with
// gopacket so that the decoder is checked against another encoder.
type capBuilder struct {
	t      testing.TB
	frames []frame
	now    time.Duration
	link   uint32
	vlans  []uint16
	snap   int // cut frames to this many bytes (0: keep whole)
}

func newBuilder(t testing.TB) *capBuilder { return &capBuilder{t: t, link: linkEthernet} }

func (b *capBuilder) at(d time.Duration) *capBuilder { b.now = d; return b }

// tcp appends one TCP segment from src to dst.
func (b *capBuilder) tcp(src, dst netip.AddrPort, flags uint8, seq, ack uint32, win uint16, payload int) {
	b.t.Helper()
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: ack, Window: win,
		FIN: flags&flagFIN != 0, SYN: flags&flagSYN != 0, RST: flags&flagRST != 0,
		PSH: flags&flagPSH != 0, ACK: flags&flagACK != 0,
	}
	var ip gopacket.SerializableLayer
	et := layers.EthernetTypeIPv4
	if src.Addr().Is4() {
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice())}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice())}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
		et = layers.EthernetTypeIPv6
	}
	var ls []gopacket.SerializableLayer
	var prefix []byte
	switch b.link {
	case linkEthernet:
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et}
		ls = append(ls, eth)
		for i, v := range b.vlans {
			tag := &layers.Dot1Q{VLANIdentifier: v, Type: et}
			if i == 0 {
				eth.EthernetType = layers.EthernetTypeDot1Q
			}
			if i < len(b.vlans)-1 {
				tag.Type = layers.EthernetTypeDot1Q
			}
			ls = append(ls, tag)
		}
	case linkSLL:
		prefix = make([]byte, 16)
		binary.BigEndian.PutUint16(prefix[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(prefix[4:], 6)
		binary.BigEndian.PutUint16(prefix[14:], uint16(et))
	case linkSLL2:
		prefix = make([]byte, 20)
		binary.BigEndian.PutUint16(prefix, uint16(et))
		binary.BigEndian.PutUint32(prefix[4:], 3) // ifindex
		binary.BigEndian.PutUint16(prefix[8:], 1)
		prefix[11] = 6
	case linkNull:
		prefix = make([]byte, 4)
		fam := uint32(2)
		if et == layers.EthernetTypeIPv6 {
			fam = 30
		}
		binary.LittleEndian.PutUint32(prefix, fam)
	case linkRaw:
	default:
		b.t.Fatalf("builder: link type %v", b.link)
	}
	// With a snaplen, the payload is never built: the IP length says
	// how long it was, as in a capture cut by tcpdump -s.
	built := payload
	if b.snap > 0 {
		built = 0
	}
	ls = append(ls, ip, tcp, gopacket.Payload(bytes.Repeat([]byte{'x'}, built)))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		b.t.Fatal(err)
	}
	data := append(prefix, buf.Bytes()...)
	wire := len(data) + payload - built
	if payload != built {
		l3 := len(prefix)
		if b.link == linkEthernet {
			l3 = 14 + 4*len(b.vlans)
		}
		data = data[:l3+ipHeaderLen(src)+20] // no Ethernet padding
		wire = len(data) + payload
		if src.Addr().Is4() {
			binary.BigEndian.PutUint16(data[l3+2:], uint16(20+20+payload))
		} else {
			binary.BigEndian.PutUint16(data[l3+4:], uint16(20+payload))
		}
	}
	if b.snap > 0 && len(data) > b.snap {
		data = data[:b.snap]
	}
	b.frames = append(b.frames, frame{ts: base.Add(b.now), data: data, wire: wire, link: b.link})
}

// udp appends a DNS-like UDP datagram (Ethernet).
func (b *capBuilder) udp() {
	b.t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 9, 9, 9}, DstIP: net.IP{10, 9, 9, 53}}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload("hello")); err != nil {
		b.t.Fatal(err)
	}
	b.raw(buf.Bytes())
}

func ipHeaderLen(a netip.AddrPort) int {
	if a.Addr().Is4() {
		return 20
	}
	return 40
}

// raw appends a frame as given.
func (b *capBuilder) raw(data []byte) {
	b.frames = append(b.frames, frame{ts: base.Add(b.now), data: data, wire: len(data), link: b.link})
}

// pcap writes the frames as a little-endian pcap file with microsecond
// stamps.
func (b *capBuilder) pcap() []byte { return b.pcapOf(binary.LittleEndian, false) }

// pcapOf writes the frames as pcap in the given byte order and resolution.
func (b *capBuilder) pcapOf(bo binary.ByteOrder, nano bool) []byte {
	var out bytes.Buffer
	h := make([]byte, 24)
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	bo.PutUint32(h, magic)
	bo.PutUint16(h[4:], 2)
	bo.PutUint16(h[6:], 4)
	bo.PutUint32(h[16:], 262144)
	bo.PutUint32(h[20:], b.link)
	out.Write(h)
	for _, f := range b.frames {
		r := make([]byte, 16)
		bo.PutUint32(r, uint32(f.ts.Unix()))
		if nano {
			bo.PutUint32(r[4:], uint32(f.ts.Nanosecond()))
		} else {
			bo.PutUint32(r[4:], uint32(f.ts.Nanosecond()/1000))
		}
		bo.PutUint32(r[8:], uint32(len(f.data)))
		bo.PutUint32(r[12:], uint32(f.wire))
		out.Write(r)
		out.Write(f.data)
	}
	return out.Bytes()
}

// pcapng writes the frames as little-endian pcapng with nanosecond stamps,
// one interface per link type in order of first use.
func (b *capBuilder) pcapng() []byte { return b.pcapngOf(binary.LittleEndian) }

func (b *capBuilder) pcapngOf(bo binary.ByteOrder) []byte {
	var out bytes.Buffer
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		h := make([]byte, 8)
		bo.PutUint32(h, typ)
		bo.PutUint32(h[4:], uint32(12+len(body)))
		out.Write(h)
		out.Write(body)
		out.Write(h[4:8])
	}
	shb := make([]byte, 16)
	bo.PutUint32(shb, ngByteOrder)
	bo.PutUint16(shb[4:], 1)
	bo.PutUint64(shb[8:], ^uint64(0))
	block(ngBlockSHB, shb)
	ids := map[uint32]uint32{}
	for _, f := range b.frames {
		id, ok := ids[f.link]
		if !ok {
			id = uint32(len(ids))
			ids[f.link] = id
			idb := make([]byte, 8, 20)
			bo.PutUint16(idb, uint16(f.link))
			// if_tsresol = 9 (nanoseconds), then the end of options.
			opt := make([]byte, 8)
			bo.PutUint16(opt, 9)
			bo.PutUint16(opt[2:], 1)
			opt[4] = 9
			idb = append(idb, opt...)
			idb = append(idb, 0, 0, 0, 0)
			block(ngBlockIDB, idb)
		}
		epb := make([]byte, 20)
		ts := uint64(f.ts.UnixNano())
		bo.PutUint32(epb, id)
		bo.PutUint32(epb[4:], uint32(ts>>32))
		bo.PutUint32(epb[8:], uint32(ts))
		bo.PutUint32(epb[12:], uint32(len(f.data)))
		bo.PutUint32(epb[16:], uint32(f.wire))
		block(ngBlockEPB, append(epb, f.data...))
	}
	return out.Bytes()
}

// conn drives one connection, keeping both sides' sequence numbers.
type conn struct {
	b        *capBuilder
	cli, srv netip.AddrPort
	cseq     uint32 // client's next sequence number
	sseq     uint32
	win      uint16
}

func (b *capBuilder) conn(cli, srv string, cisn, sisn uint32) *conn {
	return &conn{b: b, cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv), cseq: cisn, sseq: sisn, win: 64240}
}

// c and s send a segment from the client or the server; SYN and FIN take
// a sequence number, payload takes its length.
func (c *conn) c(flags uint8, payload int) { c.send(true, flags, payload) }
func (c *conn) s(flags uint8, payload int) { c.send(false, flags, payload) }

func (c *conn) send(fromClient bool, flags uint8, payload int) {
	src, dst, seq, ack := c.cli, c.srv, &c.cseq, c.sseq
	if !fromClient {
		src, dst, seq, ack = c.srv, c.cli, &c.sseq, c.cseq
	}
	if flags&flagACK == 0 {
		ack = 0
	}
	c.b.tcp(src, dst, flags, *seq, ack, c.win, payload)
	*seq += uint32(payload)
	if flags&(flagSYN|flagFIN) != 0 {
		*seq++
	}
}

// handshake sends SYN, SYN-ACK, ACK, 1 ms apart from the builder's time.
func (c *conn) handshake() {
	c.c(flagSYN, 0)
	c.b.now += time.Millisecond
	c.s(flagSYN|flagACK, 0)
	c.b.now += time.Millisecond
	c.c(flagACK, 0)
}

const (
	fA   = flagACK
	fPA  = flagPSH | flagACK
	fFA  = flagFIN | flagACK
	fRA  = flagRST | flagACK
	fS   = flagSYN
	fSA  = flagSYN | flagACK
	fRST = flagRST
)

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
