package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// pcapFile writes little-endian pcap (Ethernet, microsecond stamps).
type pcapFile struct {
	buf bytes.Buffer
	now time.Time
}

func newPcapFile() *pcapFile {
	p := &pcapFile{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1)
	p.buf.Write(h)
	return p
}

// seg appends one TCP segment and advances the clock by 1 ms.
func (p *pcapFile) seg(src, dst string, flags byte, seq, ack uint32, payload int) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	f := make([]byte, 54+payload)
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0})
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+payload))
	ip[8], ip[9] = 64, 6
	a4, b4 := s.Addr().As4(), d.Addr().As4()
	copy(ip[12:], a4[:])
	copy(ip[16:], b4[:])
	t := ip[20:]
	binary.BigEndian.PutUint16(t, s.Port())
	binary.BigEndian.PutUint16(t[2:], d.Port())
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12], t[13] = 5<<4, flags
	binary.BigEndian.PutUint16(t[14:], 64240)
	r := make([]byte, 16)
	binary.LittleEndian.PutUint32(r, uint32(p.now.Unix()))
	binary.LittleEndian.PutUint32(r[4:], uint32(p.now.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(r[8:], uint32(len(f)))
	binary.LittleEndian.PutUint32(r[12:], uint32(len(f)))
	p.buf.Write(r)
	p.buf.Write(f)
	p.now = p.now.Add(time.Millisecond)
}

const (
	tFIN = 0x01
	tSYN = 0x02
	tRST = 0x04
	tACK = 0x10
	tPSH = 0x08
)

// sample writes three connections: a client that closes while the server
// never does (server CLOSE_WAIT), a refused SYN, and a connect-then-RST.
func samplePcap(t *testing.T) []byte {
	p := newPcapFile()
	c, s := "10.0.0.1:40000", "10.0.0.2:80"
	p.seg(c, s, tSYN, 100, 0, 0)
	p.seg(s, c, tSYN|tACK, 500, 101, 0)
	p.seg(c, s, tACK, 101, 501, 0)
	p.seg(c, s, tPSH|tACK, 101, 501, 20)
	p.seg(s, c, tPSH|tACK, 501, 121, 30)
	p.seg(c, s, tFIN|tACK, 121, 531, 0)
	p.seg(s, c, tACK, 531, 122, 0)
	p.seg("10.0.0.3:40001", "10.0.0.2:81", tSYN, 7, 0, 0)
	p.seg("10.0.0.2:81", "10.0.0.3:40001", tRST|tACK, 0, 8, 0)
	h, hs := "100.109.1.10:50000", "10.0.0.2:8080"
	p.seg(h, hs, tSYN, 1, 0, 0)
	p.seg(hs, h, tSYN|tACK, 9, 2, 0)
	p.seg(h, hs, tACK, 2, 10, 0)
	p.seg(h, hs, tRST|tACK, 2, 10, 0)
	return p.buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type flowsDoc struct {
	SchemaVersion int `json:"schema_version"`
	Flows         []struct {
		File        string `json:"file"`
		Src         string `json:"src"`
		Dst         string `json:"dst"`
		VLAN        string `json:"vlan"`
		Start       string `json:"start"`
		FirstFrame  int    `json:"first_frame"`
		Packets     int    `json:"packets"`
		Initiated   bool   `json:"initiated"`
		Established bool   `json:"established"`
		BytesSrc    int64  `json:"bytes_src"`
		BytesDst    int64  `json:"bytes_dst"`
		FinSrc      int    `json:"fin_src"`
		RstDst      int    `json:"rst_dst"`
		StateSrc    string `json:"state_src"`
		StateDst    string `json:"state_dst"`
		Anomalies   []struct {
			Kind  string `json:"kind"`
			Frame int    `json:"frame"`
			Note  string `json:"note"`
		} `json:"anomalies"`
	} `json:"flows"`
	Events []json.RawMessage `json:"events"`
}

func TestFlowsJSON(t *testing.T) {
	path := writeFile(t, "cap.pcap", samplePcap(t))
	out, errOut, code := runCmd(t, "", "flows", "--format", "json", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc flowsDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.SchemaVersion != 1 || len(doc.Flows) != 3 || doc.Events == nil {
		t.Fatalf("doc %+v", doc)
	}
	f := doc.Flows[0]
	if f.File != path || f.Src != "10.0.0.1:40000" || f.Dst != "10.0.0.2:80" || f.Start != "2025-01-02T03:04:05Z" ||
		f.Packets != 7 || !f.Established || f.BytesSrc != 20 || f.BytesDst != 30 || f.FinSrc != 6 ||
		f.StateSrc != "FIN_WAIT2" || f.StateDst != "CLOSE_WAIT" || f.Anomalies == nil || len(f.Anomalies) != 0 {
		t.Errorf("flow 0: %+v", f)
	}
	var kinds []string
	for _, f := range doc.Flows {
		for _, a := range f.Anomalies {
			kinds = append(kinds, a.Kind)
		}
	}
	if want := []string{"refused", "connect-then-rst"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("anomalies %q, want %q", kinds, want)
	}
	if !strings.Contains(out, `"events":[]`) || !strings.Contains(out, `"anomalies":[]`) {
		t.Errorf("empty lists must be [], not null:\n%s", out)
	}
	// The same bytes every time, whatever the reader (gzip, stdin).
	gz := writeFile(t, "cap.pcap.gz", gzipBytes(t, samplePcap(t)))
	out2, _, code := runCmd(t, "", "flows", "--format", "json", gz)
	if code != exitOK || strings.ReplaceAll(out2, gz, path) != out {
		t.Errorf("gzip capture: exit %d, output differs:\n%s", code, out2)
	}
	out3, _, code := runCmd(t, string(samplePcap(t)), "flows", "--format", "json", "-")
	if code != exitOK || strings.ReplaceAll(out3, `"stdin"`, `"`+path+`"`) != out {
		t.Errorf("stdin: exit %d, output differs:\n%s", code, out3)
	}
}

func gzipBytes(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFlowsTable(t *testing.T) {
	path := writeFile(t, "cap.pcap", samplePcap(t))
	out, errOut, code := runCmd(t, "", "flows", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Src (initiator)", "State src/dst", "10.0.0.1:40000", "FIN_WAIT2/CLOSE_WAIT", "FIN src #6", "refused #9", "connect-then-rst #13", "2025-01-02 03:04:05.000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if again, _, _ := runCmd(t, "", "flows", path); again != out {
		t.Error("two runs differ")
	}
	// Several captures: a File column.
	out, _, _ = runCmd(t, "", "flows", path, path)
	if !strings.Contains(out, "| File") || strings.Count(out, "10.0.0.1:40000") != 2 {
		t.Errorf("two captures:\n%s", out)
	}
	// Nothing matches.
	out, _, code = runCmd(t, "", "flows", "--filter", "port 9", path)
	if code != exitOK || strings.TrimSpace(out) != "no TCP connections" {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestFlowsFilter(t *testing.T) {
	path := writeFile(t, "cap.pcap", samplePcap(t))
	tests := []struct {
		filter string
		srcs   []string
	}{
		{"", []string{"10.0.0.1:40000", "10.0.0.3:40001", "100.109.1.10:50000"}},
		{"host 10.0.0.3", []string{"10.0.0.3:40001"}},
		{"net 100.64.0.0/10", []string{"100.109.1.10:50000"}},
		{"port 80", []string{"10.0.0.1:40000"}},
		{"state CLOSE-WAIT", []string{"10.0.0.1:40000"}},
		{"state close_wait", []string{"10.0.0.1:40000"}},
		{"anomaly connect-then-rst", []string{"100.109.1.10:50000"}},
		{"not anomaly refused and host 10.0.0.2", []string{"10.0.0.1:40000", "100.109.1.10:50000"}},
		{"port 80 state ESTABLISHED", nil},
		{"vlan 10", nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			out, errOut, code := runCmd(t, "", "flows", "--format", "json", "--filter", tt.filter, path)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc flowsDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			var srcs []string
			for _, f := range doc.Flows {
				srcs = append(srcs, f.Src)
			}
			if !reflect.DeepEqual(srcs, tt.srcs) {
				t.Errorf("got %q, want %q", srcs, tt.srcs)
			}
		})
	}
	for _, bad := range []string{"port", "port http", "host 10.0.0", "net 10.0.0.0/33", "state WAITING", "color red", "not"} {
		_, errOut, code := runCmd(t, "", "flows", "--filter", bad, path)
		if code != exitUsage || !strings.Contains(errOut, "--filter") {
			t.Errorf("--filter %q: exit %d, stderr %q", bad, code, errOut)
		}
	}
}

func TestFlowsExitCodes(t *testing.T) {
	good := writeFile(t, "cap.pcap", samplePcap(t))
	data := samplePcap(t)
	cut := writeFile(t, "cut.pcap", data[:len(data)-10])
	text := writeFile(t, "ss.txt", []byte("State Recv-Q Send-Q\n"))
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string
		flows   int // in the JSON on stdout; -1 for none
		noPrint bool
	}{
		{"no capture named", []string{"flows"}, exitUsage, "needs at least one CAPTURE", -1, true},
		{"bad format", []string{"flows", "--format", "xml", good}, exitUsage, "--format", -1, true},
		{"missing file", []string{"flows", "--format", "json", filepath.Join(t.TempDir(), "nope.pcap")}, exitInput, "no such file", -1, true},
		{"not a capture", []string{"flows", "--format", "json", text}, exitInput, "not a pcap or pcapng capture", -1, true},
		{"damaged capture: what was read, and a warning", []string{"flows", "--format", "json", cut}, exitOK, "cut.pcap#frame=13: offset", 3, false},
		{"damaged, quiet", []string{"flows", "-q", "--format", "json", cut}, exitOK, "", 3, false},
		{"one good of two", []string{"flows", "--format", "json", text, good}, exitOK, "not a pcap", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) || (tt.stderr == "" && errOut != "") {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut, tt.code, tt.stderr)
			}
			if tt.noPrint && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if tt.flows >= 0 {
				var doc flowsDoc
				if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Flows) != tt.flows {
					t.Errorf("%d flows (%v), want %d", len(doc.Flows), err, tt.flows)
				}
			}
		})
	}
}

func TestFlowsProgress(t *testing.T) {
	// Over 4 MB: 40 000 connections.
	p := newPcapFile()
	for i := range 40000 {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 40000).String()
		p.seg(c, "10.0.0.2:80", tSYN, 1, 0, 60)
		p.seg("10.0.0.2:80", c, tSYN|tACK, 1, 2, 0)
	}
	path := writeFile(t, "big.pcap", p.buf.Bytes())
	for _, tty := range []bool{false, true} {
		var out, errOut bytes.Buffer
		code := run([]string{"flows", "--format", "json", path}, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, ErrIsTTY: tty})
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		shown := strings.Contains(errOut.String(), "packets/s") && strings.HasSuffix(errOut.String(), "\r\x1b[K")
		if shown != tty {
			t.Errorf("tty %v: stderr %q", tty, errOut.String())
		}
		if !json.Valid(out.Bytes()) || strings.Contains(out.String(), "packets/s") {
			t.Error("progress must not reach stdout")
		}
	}
}

// The hand-written JSON quotes strings exactly as encoding/json does.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnewline\nreturn\r", "\x00\x01\x1f\x7f",
		"<html> & 'x'", "µs ünïcode 漢字", "bad \xff utf-8 \xc3", "line\u2028sep\u2029", "emoji 🙂"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := string(appendJSONString(nil, s)); got != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("%q: got %s, want %s", s, got, want.String())
		}
	}
}

func TestAppendTime(t *testing.T) {
	times := []time.Time{{}, time.Unix(0, 1).UTC(), time.Date(2026, 11, 21, 22, 10, 16, 353330000, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), time.Date(12000, 1, 1, 0, 0, 0, 5, time.UTC)}
	for i := range 1000 {
		times = append(times, time.Unix(int64(i)*7919*104729, int64(i)*999983%1e9))
	}
	for _, tm := range times {
		want := `"unknown"`
		if !tm.IsZero() {
			want = `"` + tm.UTC().Format(time.RFC3339Nano) + `"`
		}
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

// Every field of a flow reaches the JSON with the value it has.
func TestFlowJSONFields(t *testing.T) {
	f := &event.Flow{
		Src: event.Endpoint{Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}, Dst: event.Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
		Start: time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC), FirstFrame: 1, LastFrame: 2, Packets: 3, Initiated: true, SynAck: true,
		SynRetrans: 4, SynAckRetx: 5, BytesSrc: 6, BytesDst: 7, FinSrc: 8, FinDst: 9, RstSrc: 10, RstDst: 11, Retrans: 12,
		ZeroWindow: 13, KeepAlives: 14, StateSrc: event.StateTimeWait, StateDst: event.StateClose, Truncated: true, VLAN: "10.20",
		Anomalies: []event.Anomaly{{Kind: "zero-window", Frame: 2, Note: `a "note"`}},
	}
	var out bytes.Buffer
	j := &flowsJSON{out: &out}
	if err := j.flow("a.pcap", f); err != nil {
		t.Fatal(err)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got, _ := json.Marshal(doc["flows"].([]any)[0])
	want := `{"anomalies":[{"frame":2,"kind":"zero-window","note":"a \"note\""}],"bytes_dst":7,"bytes_src":6,"dst":"10.0.0.1:80","end":"unknown","established":false,"file":"a.pcap","fin_dst":9,"fin_src":8,"first_frame":1,"initiated":true,"keepalives":14,"last_frame":2,"packets":3,"retrans":12,"rst_dst":11,"rst_src":10,"src":"[2001:db8::1]:443","start":"2025-01-02T03:04:05.0000006Z","state_dst":"CLOSE","state_src":"TIME_WAIT","syn_ack":true,"syn_retrans":4,"synack_retrans":5,"truncated":true,"vlan":"10.20","zero_window":13}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The real captures of the corpus, when present: valid JSON, connections
// in first-frame order.
func TestFlowsCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "pcap", "*"))
	if len(files) == 0 {
		t.Skip("corpus captures not present beside the module")
	}
	out, errOut, code := runCmd(t, "", append([]string{"flows", "--format", "json"}, files...)...)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc flowsDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	for _, f := range doc.Flows {
		if f.FirstFrame < last[f.File] {
			t.Errorf("%s: flow at frame %d after one at %d", f.File, f.FirstFrame, last[f.File])
		}
		last[f.File] = f.FirstFrame
	}
	if len(last) != len(files) {
		t.Errorf("flows from %d of %d captures", len(last), len(files))
	}
}
