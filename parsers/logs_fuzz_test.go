package parsers

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLogSeeds adds the samples under testdata/logs whose names start
// with prefix (dir/prefix), cut to their first 2 KiB so that the fuzzer
// mutates short inputs, and the inline inputs to f.
func fuzzLogSeeds(f *testing.F, prefix string, inline ...string) {
	dir, name := filepath.Split(prefix)
	entries, _ := os.ReadDir(filepath.Join("testdata", "logs", dir))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), name) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("testdata", "logs", dir, e.Name())); err == nil {
			f.Add(b[:min(len(b), 2048)])
		}
	}
	for _, s := range inline {
		f.Add([]byte(s))
	}
}

// fuzzLogParser checks the properties every parser keeps: no panic (the
// parse runs without RunParser's recover), valid refs, every event counted
// at least once, and the same dump for the same bytes.
func fuzzLogParser(t *testing.T, p *Parser, data []byte) {
	parse := func() *Input {
		in := NewInput("fuzz.log")
		in.Header = ParseHeader(data)
		body := data
		for i := 0; i < in.Header.Lines; i++ {
			body = body[bytes.IndexByte(body, '\n')+1:]
		}
		in.FirstLine = in.Header.Lines + 1
		p.Parse(in, bytes.NewReader(body))
		return in
	}
	in := parse()
	checkRefs(t, in)
	for _, e := range in.Out.Logs {
		if e.Count < 1 {
			t.Errorf("event with count %d: %+v", e.Count, e)
		}
		if len(e.Text) > maxEventText {
			t.Errorf("text of %d bytes", len(e.Text))
		}
	}
	for _, c := range in.Out.Clocks {
		if c.Ref.File != in.Path || c.Ref.Line < 1 {
			t.Errorf("clock with ref %+v", c.Ref)
		}
	}
	if a, b := dump(in), dump(parse()); !bytes.Equal(a, b) {
		t.Errorf("re-parse differs")
	}
	ResolveTimes(in.Out, Options{Year: 2026, TZ: "+08:00"})
}

func FuzzParseDmesg(f *testing.F) {
	fuzzLogSeeds(f, "kernel/dmesg", rawDmesg, ctimeDmesg,
		"[    1.000000] first\n   continued\n<4>[ 2.5] x\nkern  :warn  : [ 3.0] TCP: out of memory -- consider tuning tcp_mem\n",
		"[  455.027160] [  T12998] python3 invoked oom-killer: gfp_mask=0xcc0\n[ 5.0] net_ratelimit: 3 callbacks suppressed\n")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLogParser(t, dmesgParser, data) })
}

func FuzzParseJournal(f *testing.F) {
	fuzzLogSeeds(f, "kernel/journalctl",
		"-- Logs begin at Fri 2022-02-04 09:34:04 UTC, end at Thu 2022-02-10 16:19:19 UTC. --\nFeb 04 09:34:04 ubuntu kernel: Linux version 5.4.0\n  continuation\n-- Reboot --\n",
		`{"MESSAGE":[84,67,80],"__REALTIME_TIMESTAMP":"1","_TRANSPORT":"kernel","_SOURCE_MONOTONIC_TIMESTAMP":"5"}`+"\n\x1e{\"MESSAGE\":null}\n")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLogParser(t, journalParser, data) })
}

func FuzzParseSyslog(f *testing.F) {
	fuzzLogSeeds(f, "app/haproxy",
		"Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow\nNov 24 13:45:11 xxxx kernel: __ratelimit: 29 callbacks suppressed\nNov 24 13:45:18 xxxx last message repeated 4 times\n",
		`<4>1 2026-11-21T22:01:14.105327+08:00 web1 kernel - - [meta sequenceId="1\]"] msg`+"\n<34>1 - - - - - -\n",
		"Wed Feb 24 00:35:21 2021 kern.info kernel: [16300.998425] neighbour: arp_cache: neighbor table overflow!\n",
		"2019-02-25T03:45:03.778502+00:00 hostname kernel: [20763743.334180] nf_conntrack: table full, dropping packet\n")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLogParser(t, syslogParser, data) })
}

func FuzzParseAppLog(f *testing.F) {
	fuzzLogSeeds(f, "app/",
		"E1121 22:03:53.123456   12345 proxier.go:42] dial tcp 10.0.0.1:443: connect: connection refused\n",
		`{"level":"error","ts":1795298618.5,"msg":"connection refused"}`+"\n",
		"Nov 21, 2026 10:03:53 PM App main\nSEVERE: backend call failed\njava.net.ConnectException: Connection refused\n",
		"1234:M 21 Nov 2026 22:03:53.123 # accept: Too many open files\n")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLogParser(t, appLogParser, data) })
}

func FuzzParseClockFiles(f *testing.F) {
	fuzzLogSeeds(f, "clock/", "Sat Nov 21 22:02:23 CST 2026\n", "1795298543.5\n", "# date: 2026-11-21T22:02:23+00:00\n483.01 855.79\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []*Parser{dateParser, uptimeSinceParser, procUptimeParser} {
			fuzzLogParser(t, p, data)
		}
	})
}

// TestLogsHostile: the inputs the issue names (a huge line, NUL bytes,
// CRLF, invalid UTF-8, a file cut mid-line) are handled by every log
// parser: the rest of the file is still read.
func TestLogsHostile(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+10)
	inputs := map[*Parser]string{
		dmesgParser:   "[ 1.0] a\r\n[ 2.0] " + long + "\n[ 3.0] b\x00\xff\n[ 4.0] TCP: out of memory -- consider tuning tcp_mem",
		syslogParser:  "Nov 24 13:37:53 h kernel: a\r\nNov 24 13:37:53 h kernel: " + long + "\nNov 24 13:37:54 h kernel: \xff\x00\nNov 24 13:37:55 h kernel: TCP: out of memory -- consider tuning tcp_mem",
		journalParser: "-- Logs begin at x --\r\nNov 24 13:37:53 h kernel: " + long + "\nNov 24 13:37:54 h kernel: \xff\x00\nNov 24 13:37:55 h kernel: TCP: out of memory -- consider tuning tcp_mem",
		appLogParser:  "2026/11/21 22:03:41 a\r\n2026/11/21 22:03:41 " + long + "\n2026/11/21 22:03:42 \xff\x00\n2026/11/21 22:03:43 accept4: too many open files",
	}
	for p, text := range inputs {
		t.Run(p.Kind, func(t *testing.T) {
			in := parseText(t, p, "hostile", text)
			errs := errorStrings(in)
			if len(errs) != 1 || !strings.Contains(errs[0], "hostile:2: line too long") {
				t.Errorf("errors %q", errs)
			}
			if len(in.Out.Logs) == 0 {
				t.Fatal("no events")
			}
			last := in.Out.Logs[len(in.Out.Logs)-1]
			if last.Signature == "" || last.Ref.Line != 4 {
				t.Errorf("last line (cut, no newline) not read: %+v", last)
			}
			for _, e := range in.Out.Logs {
				if strings.ContainsRune(e.Text, '\r') {
					t.Errorf("CR kept in %q", e.Text)
				}
			}
		})
	}
}
