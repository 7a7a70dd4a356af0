package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// FuzzReadCapture feeds arbitrary bytes to the readers, the decoder and
// the flow table. Properties: no panic; every flow and event points at a
// frame that was read; each TCP segment lands in exactly one flow; the
// same bytes give the same output.
func FuzzReadCapture(f *testing.F) {
	b := sampleConn(f)
	f.Add(b.pcap())
	f.Add(b.pcapOf(binary.BigEndian, true))
	f.Add(b.pcapng())
	f.Add(b.pcapngOf(binary.BigEndian))
	f.Add(gz(f, b.pcap()))
	v := newBuilder(f)
	for _, tags := range [][]uint16{nil, {42}, {10, 20}} {
		v.vlans = tags
		c := v.conn("[2001:db8::1]:40000", "[2001:db8::2]:443", 1000, 5000)
		c.handshake()
		c.c(fPA, 10)
		c.s(fRA, 0)
	}
	f.Add(v.pcap())
	s := newBuilder(f)
	s.link, s.snap = linkSLL2, 40
	c := s.conn(cli, srv, 1000, 5000)
	c.handshake()
	s.now += time.Minute
	c.s(fPA, 3000)
	c.c(fRA, 0)
	f.Add(s.pcapng())
	for _, path := range findCorpus() {
		if data, err := os.ReadFile(path); err == nil && len(data) <= 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxFlows: 64, Settle: time.Second}
		res := analyze(t, data, opt)
		checkFlows(t, res)
		again := analyze(t, data, opt)
		j1, _ := json.Marshal(res)
		j2, _ := json.Marshal(again)
		if !bytes.Equal(j1, j2) {
			t.Fatal("two runs over the same bytes differ")
		}
		// Reading in place (a mapped file) gives the same as streaming.
		j3, _ := json.Marshal(analyzeBytes(data, opt))
		if !bytes.Equal(j1, j3) {
			t.Fatalf("AnalyzeBytes differs from Analyze:\n%s\n%s", j3, j1)
		}
	})
}
