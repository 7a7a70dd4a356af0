package parsers

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCaptureDetect(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "pcap")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range map[string][]byte{"plain": data, "gzip": gzipped(t, data)} {
			if p := Detect(d); p == nil || p.Kind != "pcap" {
				t.Errorf("%s (%s) detected as %v", filepath.Base(path), name, p)
			}
		}
	}
	for _, text := range []string{"State Recv-Q Send-Q Local Address:Port Peer Address:Port\n", "\x1f\x8b not really gzip"} {
		if p := Detect([]byte(text)); p != nil && p.Kind == "pcap" {
			t.Errorf("%q detected as a capture", text)
		}
	}
	if p := Detect(gzipped(t, []byte("# cmd: ss -tan\nState Recv-Q\n"))); p != nil && p.Kind == "pcap" {
		t.Error("gzipped text detected as a capture")
	}
}

// The parser puts every flow and pattern of a capture in the evidence, in
// frame order, each pointing at a frame of the file.
func TestCaptureParse(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "pcap")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			in := ParseBytes(Lookup("pcap"), "caps/"+name, data)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Errorf("errors: %q", errs)
			}
			if len(in.Out.Flows) == 0 {
				t.Fatal("no flows")
			}
			for i, f := range in.Out.Flows {
				if f.Ref.File != in.Path || f.Ref.Frame != f.FirstFrame || f.FirstFrame < 1 {
					t.Errorf("flow %d: ref %+v, first frame %d", i, f.Ref, f.FirstFrame)
				}
				if i > 0 && f.FirstFrame < in.Out.Flows[i-1].FirstFrame {
					t.Errorf("flow %d out of frame order", i)
				}
			}
			for _, e := range in.Out.Packets {
				if e.Ref.File != in.Path || e.Ref.Frame < 1 {
					t.Errorf("event %s: ref %+v", e.Kind, e.Ref)
				}
			}
			if again := ParseBytes(Lookup("pcap"), "caps/"+name, data); !bytes.Equal(dump(again), dump(in)) {
				t.Error("re-parsing gives another dump")
			}
		})
	}
}

// A damaged capture keeps what was read and says where the damage is,
// with the frame and the byte offset.
func TestCaptureParseDamaged(t *testing.T) {
	path := filepath.Join(corpusDir(t), "pcap", "tcpdump-redis-benchmark-linux-sll.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	in := ParseBytes(Lookup("pcap"), "cap.pcap", data[:len(data)-40])
	errs := errorStrings(in)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "cap.pcap#frame=150: offset ") || !strings.Contains(errs[0], "truncated capture") {
		t.Errorf("errors %q", errs)
	}
	if n := len(in.Out.Flows); n != 15 {
		t.Errorf("%d flows before the damage, want 15", n)
	}
	in = ParseBytes(Lookup("pcap"), "empty.pcap", nil)
	if errs := errorStrings(in); len(errs) != 1 || errs[0] != "empty.pcap: empty capture file" {
		t.Errorf("errors %q", errs)
	}
}

func TestErrorAtCap(t *testing.T) {
	in := NewInput("x.pcap")
	for range MaxErrorsPerFile + 3 {
		in.ErrorAt(&event.ParseError{Frame: 1, Err: ErrLineTooLong})
	}
	errs, dropped := in.Errors()
	if len(errs) != MaxErrorsPerFile || dropped != 3 || !strings.HasPrefix(errs[0].Error(), "x.pcap#frame=1: ") {
		t.Errorf("%d errors, %d dropped, first %v", len(errs), dropped, errs[0])
	}
}
