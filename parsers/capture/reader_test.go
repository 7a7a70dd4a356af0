package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"github.com/netmortem/netmortem/parsers/event"
)

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sample builds a small capture: one connection with a FIN close.
func sampleConn(t testing.TB) *capBuilder {
	b := newBuilder(t)
	c := b.conn(cli, srv, 1000, 5000)
	c.handshake()
	b.now += 1234567 * time.Nanosecond
	c.c(fPA, 100)
	c.s(fPA, 200)
	c.c(fFA, 0)
	c.s(fFA, 0)
	c.c(fA, 0)
	return b
}

func TestSniff(t *testing.T) {
	b := sampleConn(t)
	pcapLE, pcapBE := b.pcapOf(binary.LittleEndian, false), b.pcapOf(binary.BigEndian, false)
	nsLE, nsBE := b.pcapOf(binary.LittleEndian, true), b.pcapOf(binary.BigEndian, true)
	ngLE, ngBE := b.pcapngOf(binary.LittleEndian), b.pcapngOf(binary.BigEndian)
	tests := []struct {
		name string
		head []byte
		want Format
		gz   bool
	}{
		{"pcap little-endian µs", pcapLE, FormatPcap, false},
		{"pcap big-endian µs", pcapBE, FormatPcap, false},
		{"pcap little-endian ns", nsLE, FormatPcap, false},
		{"pcap big-endian ns", nsBE, FormatPcap, false},
		{"pcapng little-endian", ngLE, FormatPcapNG, false},
		{"pcapng big-endian", ngBE, FormatPcapNG, false},
		{"gzip pcap", gz(t, pcapLE), FormatPcap, true},
		{"gzip pcapng", gz(t, ngBE), FormatPcapNG, true},
		{"gzip pcap, head cut at 40 bytes", gz(t, pcapLE)[:40], FormatPcap, true},
		{"gzip of text", gz(t, []byte("# cmd: ss -tan\nState Recv-Q\n")), FormatUnknown, true},
		{"text", []byte("State  Recv-Q Send-Q Local Address:Port\n"), FormatUnknown, false},
		{"pcap magic with version 9", []byte{0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0}, FormatUnknown, false},
		{"pcapng block type without byte-order magic", []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4}, FormatUnknown, false},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, FormatUnknown, false},
		{"empty", nil, FormatUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.head[:min(len(tt.head), 1024)]
			f, isGz := Sniff(head)
			if f != tt.want || isGz != tt.gz {
				t.Errorf("Sniff = %v, gzip %v; want %v, gzip %v", f, isGz, tt.want, tt.gz)
			}
		})
	}
}

// Every encoding of the same packets gives the same flows, and the same
// times to the resolution of the format.
func TestFormatsAgree(t *testing.T) {
	b := sampleConn(t)
	want := analyze(t, b.pcapOf(binary.LittleEndian, true), Options{})
	if len(want.Flows) != 1 || len(want.Errors) > 0 {
		t.Fatalf("reference: %d flows, errors %q", len(want.Flows), want.Errors)
	}
	inputs := map[string][]byte{
		"pcap LE µs":    b.pcapOf(binary.LittleEndian, false),
		"pcap BE µs":    b.pcapOf(binary.BigEndian, false),
		"pcap BE ns":    b.pcapOf(binary.BigEndian, true),
		"pcapng LE":     b.pcapngOf(binary.LittleEndian),
		"pcapng BE":     b.pcapngOf(binary.BigEndian),
		"gzip pcap":     gz(t, b.pcapOf(binary.LittleEndian, false)),
		"gzip pcapng":   gz(t, b.pcapngOf(binary.BigEndian)),
		"pcapgo writer": pcapgoWrite(t, b),
		"modified pcap": kuznetzov(b.pcapOf(binary.LittleEndian, false)),
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			got := analyze(t, data, Options{})
			if len(got.Errors) > 0 || len(got.Flows) != 1 {
				t.Fatalf("%d flows, errors %q", len(got.Flows), got.Errors)
			}
			if g, w := view(got.Flows[0]), view(want.Flows[0]); !reflect.DeepEqual(g, w) {
				t.Errorf("flow differs\n got %+v\nwant %+v", g, w)
			}
			prec := time.Nanosecond
			if strings.Contains(name, "µs") || strings.Contains(name, "pcapgo") || name == "gzip pcap" || name == "modified pcap" {
				prec = time.Microsecond
			}
			if g, w := got.Flows[0].End, want.Flows[0].End.Truncate(prec); !g.Equal(w) {
				t.Errorf("end %v, want %v", g, w)
			}
			if g, w := got.Stats.Gzip, strings.HasPrefix(name, "gzip"); g != w {
				t.Errorf("Stats.Gzip = %v", g)
			}
		})
	}
}

// kuznetzov rewrites a little-endian microsecond pcap in the "modified"
// format (magic a1b2cd34, 24-byte record headers with ifindex, protocol
// and packet type).
func kuznetzov(p []byte) []byte {
	out := append([]byte(nil), p[:24]...)
	binary.LittleEndian.PutUint32(out, magicKuznetzov)
	for p = p[24:]; len(p) >= 16; {
		n := int(binary.LittleEndian.Uint32(p[8:]))
		out = append(out, p[:16]...)
		out = append(out, 2, 0, 0, 0, 0x08, 0x00, 0, 0)
		out = append(out, p[16:16+n]...)
		p = p[16+n:]
	}
	return out
}

// pcapgoWrite writes the builder's frames with gopacket's own writer.
func pcapgoWrite(t testing.TB, b *capBuilder) []byte {
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, 1); err != nil {
		t.Fatal(err)
	}
	for _, f := range b.frames {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: f.wire}, f.data); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// readAll reads every record as the analysis does (openReader).
func readAll(t testing.TB, data []byte) ([]record, error) {
	t.Helper()
	rr, _, err := openReader(newSource(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	var out []record
	for {
		var rec record
		if err := rr.next(&rec); err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		rec.data = bytes.Clone(rec.data)
		out = append(out, rec)
	}
}

// The records the analysis reads (pcapgo behind the framer, the offsets
// and the link types kept here) are exactly what plain pcapgo readers
// return, on every real capture of the corpus.
func TestReaderMatchesPcapgo(t *testing.T) {
	for _, path := range corpusPcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := readAll(t, data)
			if err != nil {
				t.Fatal(err)
			}
			var next func() ([]byte, gopacket.CaptureInfo, error)
			if f, _ := Sniff(data); f == FormatPcapNG {
				r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
				if err != nil {
					t.Fatal(err)
				}
				next = r.ReadPacketData
			} else {
				r, err := pcapgo.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				next = r.ReadPacketData
			}
			n := 0
			for ; ; n++ {
				pd, ci, err := next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("pcapgo frame %d: %v", n+1, err)
				}
				if n >= len(ours) {
					t.Fatalf("pcapgo has frame %d, we stopped at %d", n+1, len(ours))
				}
				r := ours[n]
				if r.frame != n+1 || !bytes.Equal(r.data, pd) || r.origLen != ci.Length || !r.hasTS || r.ts != ci.Timestamp.UnixNano() {
					t.Fatalf("frame %d differs: ours frame=%d len=%d/%d ts=%d, pcapgo len=%d/%d ts=%d",
						n+1, r.frame, len(r.data), r.origLen, r.ts, len(pd), ci.Length, ci.Timestamp.UnixNano())
				}
			}
			if n != len(ours) {
				t.Errorf("we read %d frames, pcapgo %d", len(ours), n)
			}
		})
	}
}

// order is a byte order that can also append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock renders one pcapng block in byte order bo.
func ngBlock(bo order, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := make([]byte, 8, 12+len(body))
	bo.PutUint32(b, typ)
	bo.PutUint32(b[4:], uint32(12+len(body)))
	b = append(b, body...)
	return bo.AppendUint32(b, uint32(12+len(body)))
}

func ngSHB(bo order) []byte {
	body := bo.AppendUint32(nil, ngByteOrder)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, ^uint64(0))
	return ngBlock(bo, ngBlockSHB, body)
}

// ngIDB renders an interface with optional if_tsresol and if_tsoffset.
func ngIDB(bo order, link uint16, tsresol byte, tsoffset int64) []byte {
	body := bo.AppendUint16(nil, link)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint32(body, 0)
	// A comment option first: options the reader does not use are skipped.
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 5)
	body = append(body, "hello"...)
	body = append(body, 0, 0, 0)
	if tsresol != 0 {
		body = bo.AppendUint16(body, 9)
		body = bo.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
	}
	if tsoffset != 0 {
		body = bo.AppendUint16(body, 14)
		body = bo.AppendUint16(body, 8)
		body = bo.AppendUint64(body, uint64(tsoffset))
	}
	body = append(body, 0, 0, 0, 0)
	return ngBlock(bo, ngBlockIDB, body)
}

func ngEPB(bo order, ifid uint32, ts uint64, data []byte, wire int) []byte {
	body := bo.AppendUint32(nil, ifid)
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, uint32(wire))
	return ngBlock(bo, ngBlockEPB, append(body, data...))
}

// Several sections, byte orders, interfaces, link types and timestamp
// resolutions in one pcapng; blocks the reader does not know are skipped.
func TestPcapngInterfaces(t *testing.T) {
	eth := newBuilder(t)
	eth.conn(cli, srv, 1000, 5000).handshake()
	sll2 := newBuilder(t)
	sll2.link = linkSLL2
	sll2.conn("10.9.9.9:5555", "10.9.9.8:443", 7, 9).handshake()
	le, be := binary.LittleEndian, binary.BigEndian
	var f []byte
	f = append(f, ngSHB(le)...)
	f = append(f, ngIDB(le, linkEthernet, 0, 0)...)             // µs by default
	f = append(f, ngIDB(le, linkSLL2, 3, 0)...)                 // ms
	f = append(f, ngBlock(le, 0x40000bad, []byte("custom"))...) // skipped
	f = append(f, ngBlock(le, 4, make([]byte, 8))...)           // name resolution: skipped
	f = append(f, ngEPB(le, 0, 1714557600_000001, eth.frames[0].data, eth.frames[0].wire)...)
	f = append(f, ngEPB(le, 1, 1714557600_002, sll2.frames[0].data, sll2.frames[0].wire)...)
	// A simple packet block: no time.
	spb := le.AppendUint32(nil, uint32(eth.frames[1].wire))
	f = append(f, ngBlock(le, ngBlockSPB, append(spb, eth.frames[1].data...))...)
	// A second section, big-endian, with 2^-10 s units and a 100 s offset.
	f = append(f, ngSHB(be)...)
	f = append(f, ngIDB(be, linkSLL2, 0x80|10, 100)...)
	f = append(f, ngEPB(be, 0, 1024*1714557500+512, sll2.frames[1].data, sll2.frames[1].wire)...)

	recs, err := readAll(t, f)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Frame int
		Link  uint32
		TS    time.Time
		HasTS bool
	}
	var g []got
	for _, r := range recs {
		g = append(g, got{r.frame, r.link, time.Unix(0, r.ts).UTC(), r.hasTS})
	}
	want := []got{
		{1, linkEthernet, time.Date(2024, 5, 1, 10, 0, 0, 1000, time.UTC), true},
		{2, linkSLL2, time.Date(2024, 5, 1, 10, 0, 0, 2e6, time.UTC), true},
		{3, linkEthernet, time.Unix(0, 0).UTC(), false},
		// pcapgo scales 2^-10 s units by 976562 ns (1e9/1024 in integers).
		{4, linkSLL2, time.Date(2024, 5, 1, 10, 0, 0, 512*976562, time.UTC), true},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("records\n got %+v\nwant %+v", g, want)
	}
	res := analyze(t, f, Options{})
	if len(res.Flows) != 2 || res.Stats.TCP != 4 || len(res.Errors) > 0 {
		t.Errorf("%d flows, %+v, errors %q", len(res.Flows), res.Stats, res.Errors)
	}
}

// Damaged captures: everything before the damage is used, and one error
// says where it is.
func TestDamagedCaptures(t *testing.T) {
	b := sampleConn(t) // 8 frames
	good := b.pcap()
	ng := b.pcapng()
	le := binary.LittleEndian
	// Frames 1-3 and 6-8 are 60 bytes (padded), 4 is 154 and 5 is 254:
	// pcap record 8 starts at 24 + 3*76 + 170 + 270 + 2*76 = 844; in the
	// pcapng the SHB takes 28 bytes, the IDB 32, a 60-byte EPB 92.
	// offset of pcap record n (1-based)
	recOff := func(n int) int {
		off := 24
		for i := 0; i < n-1; i++ {
			off += 16 + len(b.frames[i].data)
		}
		return off
	}
	setLE32 := func(data []byte, off int, v uint32) []byte {
		d := bytes.Clone(data)
		le.PutUint32(d[off:], v)
		return d
	}
	// offset of pcapng block k (0-based: SHB, IDB, EPB 1, ...)
	blockOff := func(k int) int {
		off := 0
		for i := 0; i < k; i++ {
			off += int(le.Uint32(ng[off+4:]))
		}
		return off
	}
	tests := []struct {
		name   string
		data   []byte
		frames int    // frames read before the error
		flows  int    // flows reported
		err    string // the error, exactly
	}{
		{"zero-length file", nil, 0, 0, "test.pcap: empty capture file"},
		{"cut inside the file header", good[:10], 0, 0, "test.pcap: truncated capture: file header needs 24 bytes, 10 left"},
		{"not a capture", []byte("hello world, this is text\n"), 0, 0, "test.pcap: not a pcap or pcapng capture (first bytes 68 65 6c 6c)"},
		{"last record cut in its data", good[:len(good)-10], 7, 1,
			"test.pcap#frame=8: offset 844: truncated capture: record needs 76 bytes, 66 left; frames before it were used"},
		{"last record cut in its header", good[:recOff(8)+7], 7, 1,
			"test.pcap#frame=8: offset 844: truncated capture: record header needs 16 bytes, 7 left; frames before it were used"},
		{"garbage record length", setLE32(good, recOff(5)+8, 0x7fff0000), 4, 1,
			"test.pcap#frame=5: offset 422: record length 2147418112 exceeds the maximum of 262144: garbage length field; frames before it were used"},
		{"pcapng block length not a multiple of 4", setLE32(ng, blockOff(4)+4, 97), 2, 1,
			"test.pcap#frame=3: offset 244: bad block length 97 in block type 0x6; frames before it were used"},
		{"pcapng block length below the minimum", setLE32(ng, blockOff(4)+4, 8), 2, 1,
			"test.pcap#frame=3: offset 244: bad block length 8 in block type 0x6; frames before it were used"},
		{"pcapng trailing length disagrees", setLE32(ng, blockOff(5)-4, 200), 2, 1,
			"test.pcap#frame=3: offset 244: bad block length: block type 0x6 starts with length 92 and ends with 200; frames before it were used"},
		{"pcapng block overruns the file", ng[:len(ng)-20], 7, 1,
			"test.pcap#frame=8: offset 996: truncated capture: block type 0x6 needs 92 bytes, 72 left; frames before it were used"},
		{"pcapng packet on an undescribed interface", setLE32(ng, blockOff(2)+8, 7), 0, 0,
			"test.pcap#frame=1: offset 60: packet on interface 7, but the section describes 1; frames before it were used"},
		{"pcapng interface option overruns its block", setLE32(ng, blockOff(1)+16, 9|40<<16), 0, 0,
			"test.pcap@28: interface option 9 of 40 bytes overruns its block; frames before it were used"},
		{"pcapng block of 1 GiB", setLE32(ng, blockOff(2)+4, 1<<30), 0, 0,
			"test.pcap#frame=1: offset 60: bad block length 1073741824 in block type 0x6; frames before it were used"},
		{"pcapng timestamp resolution of 2^-64 (pcapgo divides by zero)",
			append(append(ngSHB(le), ngIDB(le, linkEthernet, 0x80|64, 0)...), ngEPB(le, 0, 1, b.frames[0].data, 60)...), 0, 0,
			"test.pcap#frame=1: offset 72: pcapgo reader panicked: runtime error: integer divide by zero (offset approximate: the bytes it had consumed); frames before it were used"},
		{"gzip cut short", gz(t, good)[:200], -1, -1, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyze(t, tt.data, Options{})
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], tt.err) || (tt.frames >= 0 && res.Errors[0] != tt.err) {
				t.Errorf("errors %q\nwant [%q]", res.Errors, tt.err)
			}
			if tt.frames >= 0 && (res.Stats.Frames != tt.frames || len(res.Flows) != tt.flows) {
				t.Errorf("read %d frames and %d flows, want %d and %d", res.Stats.Frames, len(res.Flows), tt.frames, tt.flows)
			}
			checkFlows(t, res)
		})
	}
}

func TestSourceGrowsForLargeRecords(t *testing.T) {
	// A 3 MiB pcapng block (over the 1 MiB buffer) is read whole.
	data := make([]byte, 3<<20)
	le := binary.LittleEndian
	f := append(ngSHB(le), ngIDB(le, linkEthernet, 0, 0)...)
	f = append(f, ngEPB(le, 0, 1, data, len(data))...)
	recs, err := readAll(t, f)
	if err != nil || len(recs) != 1 || len(recs[0].data) != 3<<20 {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
}

func TestReaderStopsOnReadError(t *testing.T) {
	b := sampleConn(t)
	data := b.pcap()
	r := io.MultiReader(bytes.NewReader(data[:300]), errReader{})
	res := &result{}
	Analyze(r, Options{File: "x.pcap"}, Handler{Error: func(e *event.ParseError) { res.Errors = append(res.Errors, e.Error()) }})
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "read: disk on fire") {
		t.Errorf("errors %q", res.Errors)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// Reading in place gives what streaming gives, damaged or not.
func TestAnalyzeBytes(t *testing.T) {
	b := sampleConn(t)
	for name, data := range map[string][]byte{"whole": b.pcapng(), "cut": b.pcap()[:500], "gzip": gz(t, b.pcap()), "empty": nil} {
		got, _ := json.Marshal(analyzeBytes(data, Options{}))
		want, _ := json.Marshal(analyze(t, data, Options{}))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: in place\n%s\nstreamed\n%s", name, got, want)
		}
	}
}

// What pcapgo rejects or would misread, and what is done instead.
func TestPcapgoEdges(t *testing.T) {
	b := sampleConn(t) // 8 frames, one flow
	le := binary.LittleEndian
	good := b.pcap()
	set32 := func(data []byte, off int, v uint32) []byte {
		d := bytes.Clone(data)
		le.PutUint32(d[off:], v)
		return d
	}
	v22 := bytes.Clone(good)
	le.PutUint16(v22[6:], 2)
	// A pcapng whose interface claims a 4 GiB snaplen (pcapgo would
	// allocate it), then a simple packet block longer than its data.
	ng := append(ngSHB(le), ngIDB(le, linkEthernet, 0, 0)...)
	for _, f := range b.frames {
		ng = append(ng, ngEPB(le, 0, uint64(f.ts.UnixMicro()), f.data, f.wire)...)
	}
	hugeSnap := set32(ng, 28+12, 0xffffffff)
	spb := le.AppendUint32(nil, 1000)
	spbCut := append(bytes.Clone(ng), ngBlock(le, ngBlockSPB, append(spb, b.frames[0].data...))...)
	epbOver := bytes.Clone(ng)
	le.PutUint32(epbOver[28+36+20:], 61) // frame 1's captured length: 61 of 60 bytes
	tests := []struct {
		name   string
		data   []byte
		frames int
		err    string
	}{
		{"captured length over the wire length (pcapgo rejects; tcpdump reads)", set32(good, 24+12, 10), 8, ""},
		{"pcap version 2.2 (pcapgo rejects: the fallback reader)", v22, 8, ""},
		{"records over the header's snaplen (pcapgo rejects; tcpdump reads)", set32(good, 16, 100), 8, ""},
		{"snaplen of 0", set32(good, 16, 0), 8, ""},
		{"pcapng snaplen of 4 GiB", hugeSnap, 8, ""},
		{"pcapng simple packet longer than its block", spbCut, 8,
			"test.pcap#frame=9: offset 1092: simple packet block: packet length 1000 overruns its block (60 bytes of data); frames before it were used"},
		{"pcapng captured length overruns its block", epbOver, 0,
			"test.pcap#frame=1: offset 64: captured length 61 overruns its block (60 bytes of data); frames before it were used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyze(t, tt.data, Options{})
			if tt.err == "" && len(res.Errors) > 0 || tt.err != "" && (len(res.Errors) != 1 || res.Errors[0] != tt.err) {
				t.Errorf("errors %q\nwant %q", res.Errors, tt.err)
			}
			if res.Stats.Frames != tt.frames {
				t.Errorf("read %d frames, want %d", res.Stats.Frames, tt.frames)
			}
			checkFlows(t, res)
		})
	}
}
