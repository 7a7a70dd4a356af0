package parsers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// detectHead returns what Detect sees of a file: the body after the
// collection header, cut to DetectBytes.
func logHead(data []byte) []byte {
	h := ParseHeader(data)
	body := data
	for i := 0; i < h.Lines; i++ {
		body = body[bytes.IndexByte(body, '\n')+1:]
	}
	if len(body) > DetectBytes {
		body = body[:DetectBytes]
	}
	return body
}

// logSummary is the golden form of a log file too long to keep whole: the
// counts, every event with a signature or a suppression, the first and last
// events, the clocks and the errors.
func logSummary(in *Input) []byte {
	type summary struct {
		Events      int
		Counted     int
		BySignature map[string]int
		BySource    map[string]int
		ByLevel     map[string]int
		Uptime      int
		NoYear      int
		NoZone      int
		Signed      []event.LogEvent
		First       []event.LogEvent
		Last        []event.LogEvent
		Clocks      []event.Clock
	}
	s := summary{BySignature: map[string]int{}, BySource: map[string]int{}, ByLevel: map[string]int{}}
	logs := in.Out.Logs
	for _, e := range logs {
		s.Events++
		s.Counted += e.Count
		s.BySource[e.Source]++
		if e.Level != "" {
			s.ByLevel[e.Level]++
		}
		if e.Signature != "" {
			s.BySignature[e.Signature] += e.Count
		}
		if e.HasUptime {
			s.Uptime++
		}
		if e.NoYear {
			s.NoYear++
		}
		if e.NoZone {
			s.NoZone++
		}
		if e.Signature != "" || e.Fields["suppressed"] != "" || e.Fields["marker"] != "" {
			s.Signed = append(s.Signed, e)
		}
	}
	s.First = logs[:min(10, len(logs))]
	s.Last = logs[max(len(logs)-3, 0):]
	s.Clocks = in.Out.Clocks
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	b.WriteString("errors:\n")
	for _, e := range errorStrings(in) {
		b.WriteString("  " + e + "\n")
	}
	return b.Bytes()
}

// goldenLog writes the whole dump for small files, a summary for big ones.
func goldenLog(t *testing.T, name string, in *Input) {
	t.Helper()
	if len(in.Out.Logs) <= 60 {
		golden(t, name, dump(in))
		return
	}
	golden(t, name, logSummary(in))
}

// TestKernelLogCorpus: every real kernel log in the shared corpus is
// detected as its kind, parses without errors, and matches its golden file.
func TestKernelLogCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "kernel-log")
	want := map[string]struct {
		kind   string
		events int // lower bound: every kernel line is an event
		sigs   map[string]int
	}{
		"hotsos-k8s-ubuntu2004-dmesg.txt":                  {"dmesg", 800, nil},
		"hotsos-k8s-ubuntu2004-kern.log":                   {"syslog", 750, nil},
		"hotsos-kernlog-nf-conntrack-table-full.log":       {"syslog", 1, map[string]int{"conntrack-full": 1}},
		"hotsos-openstack-compute-journalctl-no-pager.log": {"journal", 2800, nil},
		"hotsos-openstack-compute-kern-two-boots.log":      {"syslog", 2800, nil},
		"insights-dmesg-rhel75-boot.txt":                   {"dmesg", 15, nil},
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: corpus file not in this table; add it", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			p := Detect(logHead(data))
			if p == nil || p.Kind != w.kind {
				t.Fatalf("Detect = %v, want %s", logKind(p), w.kind)
			}
			in := ParseBytes(p, "kernel-log/"+name, data)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Errorf("errors:\n%s", strings.Join(errs, "\n"))
			}
			if len(in.Out.Logs) < w.events {
				t.Errorf("%d events, want at least %d", len(in.Out.Logs), w.events)
			}
			got := map[string]int{}
			for _, ev := range in.Out.Logs {
				if ev.Signature != "" {
					got[ev.Signature] += ev.Count
				}
			}
			for id, n := range w.sigs {
				if got[id] != n {
					t.Errorf("%s counted %d, want %d", id, got[id], n)
				}
			}
			checkRefs(t, in)
			goldenLog(t, "kernel-log/"+name+".json", in)
		})
	}
}

func logKind(p *Parser) string {
	if p == nil {
		return "unknown"
	}
	return p.Kind
}

// TestLogSamples: the samples generated for variants the corpus lacks (see
// testdata/logs/README.md) are detected and parsed without errors.
func TestLogSamples(t *testing.T) {
	want := map[string]string{
		"kernel/dmesg-6.18.txt":                     "dmesg",
		"kernel/dmesg-T-6.18.txt":                   "dmesg",
		"kernel/dmesg-r-6.18.txt":                   "dmesg",
		"kernel/dmesg-x-6.18.txt":                   "dmesg",
		"kernel/dmesg-time-format-iso-6.18.txt":     "dmesg",
		"kernel/journalctl-k-json.txt":              "journal",
		"kernel/journalctl-k-short-monotonic.txt":   "journal",
		"kernel/journalctl-k-short.txt":             "syslog",
		"kernel/journalctl-k-short-iso.txt":         "syslog",
		"kernel/journalctl-k-short-precise.txt":     "syslog",
		"kernel/journalctl-k-short-iso-precise.txt": "syslog",
		"clock/date.txt":                            "date",
		"clock/date-R.txt":                          "date",
		"clock/date-Iseconds.txt":                   "date",
		"clock/date-s.txt":                          "date",
		"clock/uptime-s.txt":                        "uptime-since",
		"clock/proc-uptime.txt":                     "proc-uptime",
		"app/go-log-emfile.log":                     "app-log",
		"app/go-log-net.log":                        "app-log",
		"app/go-slog.log":                           "app-log",
		"app/python-logging.log":                    "app-log",
		"app/python-basicconfig.log":                "app-log",
		"app/java-jul.log":                          "app-log",
		"app/nginx-error.log":                       "app-log",
		"app/nginx-access.log":                      "app-log",
		"app/haproxy-rfc3164.log":                   "syslog",
		"syslog/logger-wire.log":                    "syslog",
	}
	root := filepath.Join("testdata", "logs")
	var seen []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		seen = append(seen, rel)
		kind, ok := want[rel]
		if !ok {
			t.Errorf("%s: sample not in this table; add it", rel)
			return nil
		}
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p := Detect(logHead(data))
			if logKind(p) != kind {
				t.Fatalf("Detect = %s, want %s", logKind(p), kind)
			}
			in := ParseBytes(p, rel, data)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Errorf("errors:\n%s", strings.Join(errs, "\n"))
			}
			if len(in.Out.Logs)+len(in.Out.Clocks) == 0 && !strings.Contains(rel, "access") {
				t.Errorf("no records")
			}
			checkRefs(t, in)
			goldenLog(t, "logs/"+rel+".json", in)
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(seen)
	if len(seen) != len(want) {
		t.Errorf("found %d samples, table has %d: %v", len(seen), len(want), seen)
	}
}

func firstLogEvent(t *testing.T, in *Input) event.LogEvent {
	t.Helper()
	if len(in.Out.Logs) == 0 {
		t.Fatalf("no events; errors %v", errorStrings(in))
	}
	return in.Out.Logs[0]
}

func TestKernelLines(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name   string
		parser *Parser
		line   string
		sig    string
		fields map[string]string
		time   time.Time
		uptime time.Duration
		noYear bool
		noZone bool
		level  string
	}{
		{
			name: "raw dmesg syn flood 6.x", parser: dmesgParser,
			line:   "[  414.105327] TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:8080. Sending cookies.",
			sig:    "syn-flood",
			fields: map[string]string{"proto": "request_sock_TCP", "addr": "127.0.0.1", "port": "8080", "action": "Sending cookies"},
			uptime: 414105327 * time.Microsecond,
		},
		{
			name: "dmesg -r ipv6 dropping", parser: dmesgParser,
			line:   "<6>[  417.391643] TCP: request_sock_TCPv6: Possible SYN flooding on port [::1]:8081. Dropping request.",
			sig:    "syn-flood",
			fields: map[string]string{"proto": "request_sock_TCPv6", "addr": "[::1]", "port": "8081", "action": "Dropping request"},
			uptime: 417391643 * time.Microsecond, level: "info",
		},
		{
			name: "2.6 lowercase syn flood", parser: dmesgParser,
			line:   "[1697692.076962] possible SYN flooding on port 80. Sending cookies.",
			sig:    "syn-flood",
			fields: map[string]string{"port": "80", "action": "Sending cookies"},
			uptime: 1697692076962 * time.Microsecond,
		},
		{
			name: "3.x check snmp counters", parser: dmesgParser,
			line:   "[ 5.000001] TCP: TCPv6: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters.",
			sig:    "syn-flood",
			fields: map[string]string{"proto": "TCPv6", "port": "443", "action": "Sending cookies"},
			uptime: 5000001 * time.Microsecond,
		},
		{
			name: "dmesg -T file-max", parser: dmesgParser,
			line: "[Sun Dec  1 14:54:40 2024] VFS: file-max limit 1000000 reached",
			sig:  "file-max-reached", fields: map[string]string{"limit": "1000000"},
			time: ts("2024-12-01T14:54:40Z"), noZone: true,
		},
		{
			name: "dmesg -x conntrack netns", parser: dmesgParser,
			line: "kern  :warn  : [  441.888322] nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet",
			sig:  "conntrack-full", fields: map[string]string{"table": "nf_conntrack", "netns": "4026532177"},
			uptime: 441888322 * time.Microsecond, level: "warning",
		},
		{
			name: "dmesg iso oom", parser: dmesgParser,
			line: "2026-11-21T22:01:55,027330+00:00 Memory cgroup out of memory: Killed process 12998 (python3) total-vm:75160kB, anon-rss:64896kB",
			sig:  "oom-kill", fields: map[string]string{"stage": "Killed", "pid": "12998", "process": "python3"},
			time: ts("2026-11-21T22:01:55.02733Z"),
		},
		{
			name: "dmesg caller id", parser: dmesgParser,
			line: "[  455.027160] [  T12998] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
			sig:  "oom-kill", fields: map[string]string{"caller": "T12998", "stage": "invoked"},
			uptime: 455027160 * time.Microsecond,
		},
		{
			name: "kern.log tw bucket", parser: syslogParser,
			line: "Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow",
			sig:  "tw-bucket-overflow", fields: map[string]string{"host": "xxxx"},
			time: time.Date(0, 11, 24, 13, 37, 53, 0, time.UTC), noYear: true, noZone: true,
		},
		{
			name: "openvz tw bucket", parser: syslogParser,
			line: "May 23 10:00:00 server kernel: TCP: time wait bucket table overflow (CT0)",
			sig:  "tw-bucket-overflow", fields: map[string]string{"host": "server", "container": "0"},
			time: time.Date(0, 5, 23, 10, 0, 0, 0, time.UTC), noYear: true, noZone: true,
		},
		{
			name: "busybox syslog without host", parser: syslogParser,
			line: "Apr 20 22:02:55 kernel: TCP: time wait bucket table overflow",
			sig:  "tw-bucket-overflow",
			time: time.Date(0, 4, 20, 22, 2, 55, 0, time.UTC), noYear: true, noZone: true,
		},
		{
			name: "rsyslog rfc3339 with uptime", parser: syslogParser,
			line: "2019-02-25T03:45:03.778502+00:00 hostname kernel: [20763743.334180] nf_conntrack: table full, dropping packet",
			sig:  "conntrack-full", fields: map[string]string{"host": "hostname", "table": "nf_conntrack"},
			time: ts("2019-02-25T03:45:03.778502Z"), uptime: 20763743334180 * time.Microsecond,
		},
		{
			name: "logread", parser: syslogParser,
			line: "Wed Feb 24 00:35:21 2021 kern.info kernel: [16300.998425] neighbour: arp_cache: neighbor table overflow!",
			sig:  "neighbor-overflow", fields: map[string]string{"table": "arp_cache"},
			time: ts("2021-02-24T00:35:21Z"), noZone: true, uptime: 16300998425 * time.Microsecond, level: "info",
		},
		{
			name: "old neighbour wording", parser: dmesgParser,
			line: "[250066.491572] ipv4: Neighbour table overflow.",
			sig:  "neighbor-overflow", fields: map[string]string{"table": "ipv4"},
			uptime: 250066491572 * time.Microsecond,
		},
		{
			name: "orphans 2.6", parser: syslogParser,
			line: "Jan 22 15:05:39 ztm-n08 kernel: TCP: too many of orphaned sockets",
			sig:  "orphan-sockets", fields: map[string]string{"host": "ztm-n08"},
			time: time.Date(0, 1, 22, 15, 5, 39, 0, time.UTC), noYear: true, noZone: true,
		},
		{
			name: "out of socket memory", parser: syslogParser,
			line: "Jan 22 15:05:39 ztm-n08 kernel: [12624150.315458] Out of socket memory",
			sig:  "tcp-memory-pressure", fields: map[string]string{"host": "ztm-n08"},
			time: time.Date(0, 1, 22, 15, 5, 39, 0, time.UTC), noYear: true, noZone: true, uptime: 12624150315458 * time.Microsecond,
		},
		{
			name: "tcp_mem", parser: dmesgParser,
			line: "[ 1.5] TCP: out of memory -- consider tuning tcp_mem",
			sig:  "tcp-memory-pressure", uptime: 1500 * time.Millisecond,
		},
		{
			name: "rfc5424 with structured data", parser: syslogParser,
			line:   `<4>1 2026-11-21T22:01:14.105327+08:00 web1 kernel - - [meta sequenceId="1"] TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies.`,
			sig:    "syn-flood",
			fields: map[string]string{"host": "web1", "proto": "request_sock_TCP", "addr": "0.0.0.0", "port": "80", "action": "Sending cookies"},
			time:   ts("2026-11-21T14:01:14.105327Z"), level: "warning",
		},
		{
			name: "journal short-monotonic", parser: journalParser,
			line: "[  441.888322] vm kernel: nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet",
			sig:  "conntrack-full", fields: map[string]string{"host": "vm", "table": "nf_conntrack", "netns": "4026532177"},
			uptime: 441888322 * time.Microsecond,
		},
		{
			name: "ip_conntrack openvz", parser: syslogParser,
			line: "Mar  3 06:34:27 host kernel: ip_conntrack: VPS 101 table full, dropping packet.",
			sig:  "conntrack-full", fields: map[string]string{"host": "host", "table": "ip_conntrack", "container": "101"},
			time: time.Date(0, 3, 3, 6, 34, 27, 0, time.UTC), noYear: true, noZone: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := parseText(t, tc.parser, "k.log", tc.line+"\n")
			if errs := errorStrings(in); len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			// One short-monotonic line looks like dmesg; the detector wants two.
			if tc.parser != journalParser && !tc.parser.Detect([]byte(tc.line+"\n")) {
				t.Errorf("%s does not detect its own line", tc.parser.Kind)
			}
			e := firstLogEvent(t, in)
			if e.Signature != tc.sig {
				t.Errorf("signature %q, want %q", e.Signature, tc.sig)
			}
			for k, v := range tc.fields {
				if e.Fields[k] != v {
					t.Errorf("field %s = %q, want %q (all %v)", k, e.Fields[k], v, e.Fields)
				}
			}
			if !e.Time.Equal(tc.time) {
				t.Errorf("time %v, want %v", e.Time, tc.time)
			}
			if e.HasUptime != (tc.uptime != 0) || e.Uptime != tc.uptime {
				t.Errorf("uptime %v (%v), want %v", e.Uptime, e.HasUptime, tc.uptime)
			}
			if e.NoYear != tc.noYear || e.NoZone != tc.noZone {
				t.Errorf("noYear %v noZone %v, want %v %v", e.NoYear, e.NoZone, tc.noYear, tc.noZone)
			}
			if e.Level != tc.level {
				t.Errorf("level %q, want %q", e.Level, tc.level)
			}
			if e.Text != strings.TrimSpace(tc.line) && tc.parser != journalParser {
				t.Errorf("text %q", e.Text)
			}
		})
	}
}

// TestRatelimitCredit: suppressed callbacks are added to the event they
// stand for (the rule in kernlog.go).
func TestRatelimitCredit(t *testing.T) {
	// From the tw-bucket-overflow seed (a CentOS /var/log/messages): the
	// suppression line precedes the burst that passed the limiter.
	const seed = `Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow
Nov 24 13:45:11 xxxx kernel: __ratelimit: 29 callbacks suppressed
Nov 24 13:45:11 xxxx kernel: TCP: time wait bucket table overflow
Nov 24 13:45:11 xxxx kernel: TCP: time wait bucket table overflow
Nov 24 13:45:16 xxxx kernel: __ratelimit: 467 callbacks suppressed
Nov 24 13:45:16 xxxx kernel: TCP: time wait bucket table overflow
Nov 24 13:45:16 xxxx sshd[123]: Accepted publickey for root
Nov 24 13:45:17 xxxx kernel: kauditd_printk_skb: 21 callbacks suppressed
Nov 24 13:45:18 xxxx kernel: TCP: time wait bucket table overflow
Nov 24 13:45:18 xxxx last message repeated 4 times
`
	in := parseText(t, syslogParser, "messages", seed)
	if errs := errorStrings(in); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	type row struct {
		line  int
		sig   string
		count int
		cred  string
	}
	var got []row
	for _, e := range in.Out.Logs {
		got = append(got, row{e.Ref.Line, e.Signature, e.Count, e.Fields["credited"]})
	}
	want := []row{
		{1, "tw-bucket-overflow", 30, ""},
		{2, "", 1, "1"},
		{3, "tw-bucket-overflow", 1, ""},
		{4, "tw-bucket-overflow", 468, ""},
		{5, "", 1, "4"},
		{6, "tw-bucket-overflow", 1, ""},
		{8, "", 1, ""}, // names a function no event names: credited to none
		{9, "tw-bucket-overflow", 5, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	total := 0
	for _, e := range in.Out.Logs {
		if e.Signature == "tw-bucket-overflow" {
			total += e.Count
		}
	}
	if total != 1+29+2+467+1+1+4 {
		t.Errorf("tw-bucket-overflow counted %d", total)
	}
}

func TestRsyslogRepeated(t *testing.T) {
	in := parseText(t, syslogParser, "syslog",
		"Nov 24 13:45:11 h kernel: TCP: time wait bucket table overflow\n"+
			"Nov 24 13:45:41 h kernel: message repeated 12 times: [ TCP: time wait bucket table overflow]\n")
	if len(in.Out.Logs) != 2 || in.Out.Logs[1].Count != 12 || in.Out.Logs[1].Signature != "tw-bucket-overflow" {
		t.Fatalf("got %+v", in.Out.Logs)
	}
}

func TestKernelContinuation(t *testing.T) {
	in := parseText(t, dmesgParser, "dmesg",
		"[    1.000000] first record\n"+
			"               second line of the same record\n"+
			"[    2.000000] Out of memory: Killed process 1234 (java)\n")
	if len(in.Out.Logs) != 2 {
		t.Fatalf("events %d, errors %v", len(in.Out.Logs), errorStrings(in))
	}
	if in.Out.Logs[0].Text != "[    1.000000] first record\nsecond line of the same record" {
		t.Errorf("joined text %q", in.Out.Logs[0].Text)
	}
	if f := in.Out.Logs[1].Fields; f["pid"] != "1234" || f["process"] != "java" {
		t.Errorf("fields %v", f)
	}
}

func TestKernelMalformed(t *testing.T) {
	in := parseText(t, dmesgParser, "dmesg",
		"[    1.000000] ok\nnot a dmesg line\n[ 2.0] TCP: out of memory -- consider tuning tcp_mem\n\x00\xff\xfe\n")
	errs := errorStrings(in)
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "dmesg:2: not a dmesg line") || !strings.HasPrefix(errs[1], "dmesg:4: ") {
		t.Errorf("errors %q", errs)
	}
	if len(in.Out.Logs) != 2 || in.Out.Logs[1].Signature != "tcp-memory-pressure" {
		t.Errorf("events %+v", in.Out.Logs)
	}
	in = parseText(t, journalParser, "j.json", `{"MESSAGE":[84,67,80,58,32,255],"__REALTIME_TIMESTAMP":"1795298525029994","_TRANSPORT":"kernel","PRIORITY":"4"}`+"\n{broken\n")
	if errs := errorStrings(in); len(errs) != 1 || !strings.Contains(errs[0], "j.json:2: bad journal json") {
		t.Errorf("errors %q", errs)
	}
	if e := firstLogEvent(t, in); e.Text != "TCP: \ufffd" || e.Level != "warning" || !e.Time.Equal(time.UnixMicro(1795298525029994)) {
		t.Errorf("event %+v", e)
	}
}

// TestDetectStrict: kernel-log and clock detectors refuse text of other
// kinds and noise.
func TestDetectStrict(t *testing.T) {
	mine := map[string]bool{}
	for _, p := range logParsers {
		mine[p.Kind] = true
	}
	noise := []string{
		"",
		"hello world\nthis is a text file\n",
		"\x00\x01\x02\x03binary\xff\xfe",
		"State      Recv-Q Send-Q Local Address:Port   Peer Address:Port\nLISTEN     0      128    *:22   *:*\n",
		"Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State\n",
		"COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\nsystemd     1 root  cwd    DIR  253,1     4096    2 /\n",
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
		"Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n",
		"net.ipv4.tcp_max_tw_buckets = 5000\nnet.core.somaxconn = 128\n",
		"sockets: used 229\nTCP: inuse 7 orphan 0 tw 4 alloc 10 mem 1\n",
		"1024\n",
		"2147483647\n",
		"[section]\nkey = value\n",
		"[1] first item\n[2] second item\n",
		"12:00:01 AM  CPU  %user\n",
	}
	for _, s := range noise {
		head := []byte(s)
		for _, p := range logParsers {
			if p.Detect(head) {
				t.Errorf("%s claims %q", p.Kind, s)
			}
		}
	}
	// The other kinds of the shared corpus are not claimed by log parsers.
	root := corpusDir(t)
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Dir(path) == root || filepath.Base(filepath.Dir(path)) == "kernel-log" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		head := logHead(data)
		for _, p := range logParsers {
			if p.Detect(head) {
				t.Errorf("%s claims %s", p.Kind, path)
			}
		}
		return nil
	})
}
