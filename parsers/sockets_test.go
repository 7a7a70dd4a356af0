package parsers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// socketCorpusDefects lists the errors the socket parsers report on corpus
// files, with the reason each is a defect of the file and not of netmortem.
// There are none. Two files are odd without being wrong, and the goldens
// show how they read: procfs-proc-net-tcp6-listen-drops.txt carries the
// header of /proc/net/udp6 ("ref pointer drops", hashed slot numbers), so
// its rows are udp6 sockets; jc-proc-net-tcp-two-snapshots.txt restarts at
// slot 0 without a header, and becomes two snapshots.
var socketCorpusDefects = map[string][]string{}

// TestSocketCorpus checks that every real socket table and lsof listing of
// the corpus is detected as its kind, parses without errors (beyond the
// listed defects), and gives the reviewed records of its golden file.
func TestSocketCorpus(t *testing.T) {
	corpus := corpusDir(t)
	for _, dir := range []struct{ sub, kind string }{
		{"ss", "ss"},
		{"netstat", "netstat"},
		{"proc-net-tcp", "proc-net-tcp"},
		{"lsof", "lsof"},
	} {
		entries, err := os.ReadDir(filepath.Join(corpus, dir.sub))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			t.Fatalf("no files in corpus/%s", dir.sub)
		}
		for _, e := range entries {
			name := e.Name()
			t.Run(dir.sub+"/"+name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(corpus, dir.sub, name))
				if err != nil {
					t.Fatal(err)
				}
				head := data[:min(len(data), DetectBytes)]
				p := Detect(head)
				if p == nil || p.Kind != dir.kind {
					t.Fatalf("detected as %v, want %s", sockKindOf(p), dir.kind)
				}
				in := ParseBytes(p, dir.sub+"/"+name, data)
				checkRefs(t, in)
				got := errorStrings(in)
				want := socketCorpusDefects[name]
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if len(in.Out.Snapshots) == 0 {
					t.Errorf("no snapshot")
				}
				golden(t, dir.kind+"--"+name+".golden", dump(in))
			})
		}
	}
}

func sockKindOf(p *Parser) string {
	if p == nil {
		return "nothing"
	}
	return p.Kind
}

// TestSocketDetectorsRefuseOthers feeds the socket detectors the first
// lines of the formats other parsers own: none may claim them.
func TestSocketDetectorsRefuseOthers(t *testing.T) {
	others := map[string]string{
		"netstat -s":         "Ip:\n    Forwarding: 2\n    1234 total packets received\nTcp:\n    69 connection resets received\n",
		"/proc/net/netstat":  "TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n",
		"/proc/net/snmp":     "Ip: Forwarding DefaultTTL\nIp: 1 64\n",
		"nstat":              "#kernel\nIpInReceives                    2185               0.0\n",
		"sockstat":           "sockets: used 229\nTCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1\n",
		"sysctl":             "net.ipv4.tcp_max_tw_buckets = 5000\nnet.core.somaxconn = 4096\n",
		"dmesg":              "[    0.000000] Linux version 5.4.0\n[12345.678901] TCP: time wait bucket table overflow\n",
		"limits":             "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n",
		"ulimit -a":          "core file size          (blocks, -c) 0\nopen files                      (-n) 1024\n",
		"bare value":         "5000\n",
		"syslog":             "Nov 21 21:54:54 web1 kernel: TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.\n",
		"proc status":        "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nFDSize:\t64\n",
		"date":               "Sat Nov 21 21:54:54 UTC 2026\n",
		"app log":            "2026/11/21 21:54:54 http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 5ms\n",
		"ls -l of a dir":     "total 4\n-rw-r--r-- 1 root root 12 Nov 21 21:59 notes.txt\n",
		"uptime":             " 21:54:54 up 10 days,  3:12,  1 user,  load average: 0.00, 0.01, 0.05\n",
		"journalctl -k json": `{"__REALTIME_TIMESTAMP":"1","MESSAGE":"TCP: out of memory -- consider tuning tcp_mem"}` + "\n",
	}
	for name, text := range others {
		for _, p := range socketParsers {
			if p.Detect([]byte(text)) {
				t.Errorf("%s detector claims %s", p.Kind, name)
			}
		}
	}
}

// socketSample reads a real capture kept under testdata/sockets.
func socketSample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sockets", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sampleCommands are the commands of testdata/sockets (README.md), given
// to the parsers as the collector's header would.
var sampleCommands = map[string]string{
	"ss-tan.txt":             "ss -tan",
	"ss-tanp.txt":            "ss -tanp",
	"ss-tanpoe.txt":          "ss -tanpoe",
	"ss-tanpi.txt":           "ss -tanpi",
	"ss-tanm.txt":            "ss -tanm",
	"ss-tln.txt":             "ss -tln",
	"ss-tnae.txt":            "ss -tnae",
	"ss-uan.txt":             "ss -uan",
	"ss-s.txt":               "ss -s",
	"ss-state-time-wait.txt": "ss state time-wait",
	"netstat-ant.txt":        "netstat -ant",
	"netstat-antp.txt":       "netstat -antp",
	"netstat-W-ant.txt":      "netstat -W -ant",
	"netstat-neopa.txt":      "netstat -neopa",
	"netstat-an.txt":         "netstat -an",
	"proc-net-tcp.txt":       "cat /proc/net/tcp",
	"proc-net-tcp6.txt":      "cat /proc/net/tcp6",
	"ls-l-proc-fd.txt":       "ls -l /proc/8445/fd",
	"lsof-i-P-n.txt":         "lsof -i -P -n",
	"lsof-i-P.txt":           "lsof -i -P",
	"lsof-M.txt":             "lsof +M -i -P -n",
	"lsof-p-python.txt":      "lsof -p 8828",
	"lsof-K-i-p-python.txt":  "lsof -K i -p 8828",
	"lsof-p-K-threads.txt":   "lsof -a -K -p 8828",
	"lsof-F-pcfnPtT.txt":     "lsof -F pcfnPtT -p 8828",
	"lsof-F-pcfn.txt":        "lsof -F pcfn -p 8879",
	"lsof-p-shell.txt":       "lsof -p 8879",
	"lsof-p-unhashed.txt":    "lsof -p 9015",
}

// TestSocketSamples parses the outputs captured on a test machine (see
// testdata/sockets/README.md) under a collection header naming their
// command, detects each, and compares with golden files.
func TestSocketSamples(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "sockets"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{
		"ss-":      "ss",
		"ss-s.":    "ss-summary",
		"netstat-": "netstat",
		"proc-":    "proc-net-tcp",
		"lsof-":    "lsof",
		"ls-l-":    "fd-list",
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" {
			continue
		}
		cmd, ok := sampleCommands[name]
		if !ok {
			t.Errorf("%s: no command recorded for it", name)
			continue
		}
		// the file name states the expected kind; detection reads content
		want, best := "", 0
		for prefix, kind := range kinds {
			if strings.HasPrefix(name, prefix) && len(prefix) > best {
				want, best = kind, len(prefix)
			}
		}
		if want == "" {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			body := socketSample(t, name)
			text := "# cmd: " + cmd + "\n# date: 2026-11-21T21:59:00Z\n" + body
			p := Detect([]byte(body))
			if p == nil || p.Kind != want {
				t.Fatalf("detected as %s, want %s", sockKindOf(p), want)
			}
			in := ParseBytes(p, "testdata/"+name, []byte(text))
			checkRefs(t, in)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Errorf("errors:\n%s", strings.Join(errs, "\n"))
			}
			golden(t, "sample--"+name+".golden", dump(in))
		})
	}
	if n != len(sampleCommands) {
		t.Errorf("%d samples found, %d commands recorded", n, len(sampleCommands))
	}
}

func TestParseEndpoint(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		in   string
		want event.Endpoint
		ok   bool
	}{
		{"10.0.0.1:80", event.Endpoint{Addr: a("10.0.0.1"), Port: 80}, true},
		{"0.0.0.0:*", event.Endpoint{Addr: a("0.0.0.0"), Wildcard: true}, true},
		{"*:*", event.Endpoint{Host: "*", Wildcard: true}, true},
		{"*:47002", event.Endpoint{Host: "*", Port: 47002}, true},
		{"[::]:22", event.Endpoint{Addr: a("::"), Port: 22}, true},
		{"[::ffff:127.0.0.1]:47002", event.Endpoint{Addr: a("::ffff:127.0.0.1"), Port: 47002}, true},
		{":::22", event.Endpoint{Addr: a("::"), Port: 22}, true},
		{"::1:631", event.Endpoint{Addr: a("::1"), Port: 631}, true},
		{":::*", event.Endpoint{Addr: a("::"), Wildcard: true}, true},
		{"0.0.0.0%virbr0:67", event.Endpoint{Addr: a("0.0.0.0"), Port: 67, Iface: "virbr0"}, true},
		{"127.0.0.53%lo:domain", event.Endpoint{Addr: a("127.0.0.53"), Port: 53, Iface: "lo", Service: "domain"}, true},
		{"[fe80::1]%eth0:123", event.Endpoint{Addr: a("fe80::1"), Port: 123, Iface: "eth0"}, true},
		{"[fe80::1%eth0]:123", event.Endpoint{Addr: a("fe80::1"), Port: 123, Iface: "eth0"}, true},
		{"*%ens33:ipv6-icmp", event.Endpoint{Host: "*", Iface: "ens33", Service: "ipv6-icmp"}, true},
		{"localhost.localdo:35450", event.Endpoint{Host: "localhost.localdo", Port: 35450}, true},
		{"lb-192-30-255-112:https", event.Endpoint{Host: "lb-192-30-255-112", Port: 443, Service: "https"}, true},
		{"localhost:2049[nfs]", event.Endpoint{Host: "localhost", Port: 2049}, true},
		{"10.0.0.1:65536", event.Endpoint{}, false},
		{"10.0.0.1", event.Endpoint{}, false},
		{"[::1", event.Endpoint{}, false},
		{":80", event.Endpoint{}, false},
		{"010.0.0.1:80", event.Endpoint{Host: "010.0.0.1", Port: 80}, true},
	}
	for _, tt := range tests {
		var it interner
		got, ok := parseEndpoint([]byte(tt.in), &it)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseSSDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"115min", 115 * time.Minute, true},
		{"1min30sec", 90 * time.Second, true},
		{"59sec", 59 * time.Second, true},
		{"200ms", 200 * time.Millisecond, true},
		{"3.604ms", 3604 * time.Millisecond, true},
		{"5.4ms", 5400 * time.Millisecond, true},
		{"", 0, false},
		{"12", 0, false},
		{"1h", 0, false},
		{"1.2sec", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSSDuration([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSSDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// sockInfoString renders a socket's Info for compact asserts.
func sockInfoString(info *event.SocketInfo) string {
	var kv []string
	for k, v := range info.All() {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

// sockEndpoint renders an endpoint for compact asserts, with its service name.
func sockEndpoint(e event.Endpoint) string {
	s := e.String()
	if e.Service != "" {
		s += "(" + e.Service + ")"
	}
	return s
}

// sockLine renders a socket on one line for table tests.
func sockLine(s event.Socket) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d s%d %s %s %s %s q=%d/%d", s.Ref.Line, s.Snapshot, s.Proto, s.State,
		sockEndpoint(s.Local), sockEndpoint(s.Remote), s.RecvQ, s.SendQ)
	if len(s.Owners) > 0 {
		var os []string
		for _, o := range s.Owners {
			os = append(os, fmt.Sprintf("%s/%d/%d", o.Name, o.PID, o.FD))
		}
		b.WriteString(" owners=" + strings.Join(os, ","))
	}
	if s.UID != -1 {
		fmt.Fprintf(&b, " uid=%d", s.UID)
	}
	if s.Inode != 0 {
		fmt.Fprintf(&b, " ino=%d", s.Inode)
	}
	if s.Timer != nil {
		fmt.Fprintf(&b, " timer=%s/%v/%d", s.Timer.Name, s.Timer.Expires, s.Timer.Retrans)
	}
	if s.Info.Len() > 0 {
		b.WriteString(" info=" + sockInfoString(s.Info))
	}
	return b.String()
}

// sockRecords renders an input's snapshots, sockets, processes and counters.
func sockRecords(in *Input) []string {
	var out []string
	for _, s := range in.Out.Snapshots {
		out = append(out, fmt.Sprintf("snapshot %d %s n=%d filtered=%v cmd=%q", s.Ref.Line, s.Source, s.Sockets, s.Filtered, s.Command))
	}
	for _, s := range in.Out.Sockets {
		out = append(out, sockLine(s))
	}
	for _, p := range in.Out.Processes {
		out = append(out, fmt.Sprintf("process %d pid=%d name=%q fds=%d threads=%d fdsize=%d", p.Ref.Line, p.PID, p.Name, p.FDs, p.Threads, p.FDSize))
	}
	for _, c := range in.Out.Counters {
		out = append(out, fmt.Sprintf("counter %d %s %s=%d set=%d", c.Ref.Line, c.Group, c.Name, c.Value, c.Snapshot))
	}
	return out
}

// sockTest is one table-test case of a socket parser.
type sockTest struct {
	name string
	in   string   // the file, collection header included when any
	want []string // sockRecords
	errs []string // errorStrings, without the "x.txt:" file prefix
}

func runSockTests(t *testing.T, p *Parser, tests []sockTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := parseText(t, p, "x.txt", tt.in)
			checkRefs(t, in)
			got := sockRecords(in)
			if d := sockDiff(tt.want, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
			var errs []string
			for _, e := range errorStrings(in) {
				errs = append(errs, strings.TrimPrefix(e, "x.txt:"))
			}
			if d := sockDiff(tt.errs, errs); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}

// sockDiff is a small line diff: lines only in want (-), only in got (+),
// and order changes reported as both.
func sockDiff(want, got []string) string {
	var b strings.Builder
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			if i < len(want) {
				fmt.Fprintf(&b, "-%s\n", w)
			}
			if i < len(got) {
				fmt.Fprintf(&b, "+%s\n", g)
			}
		}
	}
	return b.String()
}

// fuzzSocketParser is the fuzz property of every socket parser: no panic,
// every record points into the file, and parsing is deterministic.
func fuzzSocketParser(f *testing.F, p *Parser, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := ParseBytes(p, "f.txt", data)
		checkRefs(t, in)
		for _, s := range in.Out.Sockets {
			if s.Snapshot < 0 || s.Snapshot >= len(in.Out.Snapshots) {
				t.Fatalf("socket with snapshot %d of %d", s.Snapshot, len(in.Out.Snapshots))
			}
		}
		for _, s := range in.Out.Snapshots {
			if s.Ref.File != "f.txt" || s.Ref.Line <= 0 {
				t.Fatalf("snapshot with invalid ref %+v", s.Ref)
			}
		}
		again := ParseBytes(p, "f.txt", data)
		if !bytes.Equal(dump(in), dump(again)) {
			t.Fatalf("parsing the same bytes twice differs")
		}
	})
}

// TestSocketSamplesDamaged reads every sample with CRLF line endings, cut
// in the middle of its last line, and with a NUL byte and a 2 MB line
// inserted: CRLF changes nothing, a cut loses at most the cut row, and the
// inserted garbage costs one row and its error.
func TestSocketSamplesDamaged(t *testing.T) {
	for name, cmd := range sampleCommands {
		t.Run(name, func(t *testing.T) {
			body := socketSample(t, name)
			head := "# cmd: " + cmd + "\n"
			p := Detect([]byte(body))
			if p == nil {
				t.Fatal("not detected")
			}
			base := ParseBytes(p, "s.txt", []byte(head+body))
			want := strings.Join(sockRecords(base), "\n")

			crlf := ParseBytes(p, "s.txt", []byte(strings.ReplaceAll(head+body, "\n", "\r\n")))
			if got := strings.Join(sockRecords(crlf), "\n"); got != want {
				t.Errorf("CRLF changes the records:\n%s", sockDiff(sockRecords(base), sockRecords(crlf)))
			}

			trimmed := strings.TrimRight(body, "\n")
			cut := ParseBytes(p, "s.txt", []byte(head+trimmed[:len(trimmed)-3]))
			checkRefs(t, cut)
			if n, m := len(cut.Out.Sockets)+len(cut.Out.Processes)+len(cut.Out.Counters),
				len(base.Out.Sockets)+len(base.Out.Processes)+len(base.Out.Counters); n > m || n < m-1 {
				t.Errorf("cut file: %d records, the whole one %d", n, m)
			}

			lines := strings.SplitAfter(body, "\n")
			mid := len(lines) / 2
			junk := "bad\x00row\n" + strings.Repeat("x", 2<<20) + "\n"
			damaged := ParseBytes(p, "s.txt", []byte(head+strings.Join(lines[:mid], "")+junk+strings.Join(lines[mid:], "")))
			checkRefs(t, damaged)
			if len(damaged.Out.Sockets) != len(base.Out.Sockets) {
				t.Errorf("garbage lines changed the socket count: %d, want %d", len(damaged.Out.Sockets), len(base.Out.Sockets))
			}
			errs := errorStrings(damaged)
			if len(errs) > 2 {
				t.Errorf("errors for two bad lines:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// TestSocketInfo checks the pair list that replaced the map of a socket's
// extra fields: same lookups, and the same JSON as the map, so that the
// goldens and every JSON reader see no difference.
func TestSocketInfo(t *testing.T) {
	var none *event.SocketInfo
	if v, ok := none.Get("sk"); ok || v != "" || none.Len() != 0 {
		t.Errorf("nil info: Get = %q, %v; Len = %d", v, ok, none.Len())
	}
	for _, pairs := range [][]string{
		{"sk", "3e", "cgroup", "/system.slice/app.service"},
		{"skmem", "r0,rb131072,t0", "rtt", "0.05/0.025", "cwnd", "10", "lastack", "3712", "rtt", "1/2"},
		{"<->", "a&b", "bad", "\xff\xfe", "quote", `"x"`},
		{},
	} {
		info := event.NewSocketInfo(pairs...)
		want := map[string]string{}
		for j := 0; j+1 < len(pairs); j += 2 {
			want[pairs[j]] = pairs[j+1]
		}
		if info.Len() != len(want) {
			t.Errorf("%q: Len = %d, want %d", pairs, info.Len(), len(want))
		}
		for k, v := range want {
			if got, ok := info.Get(k); !ok || got != v {
				t.Errorf("%q: Get(%q) = %q, %v", pairs, k, got, ok)
			}
		}
		for _, html := range []bool{false, true} {
			enc := func(v any) string {
				var b bytes.Buffer
				e := json.NewEncoder(&b)
				e.SetEscapeHTML(html)
				e.SetIndent("", "  ")
				if err := e.Encode(v); err != nil {
					t.Fatal(err)
				}
				return b.String()
			}
			got := enc(struct{ Info *event.SocketInfo }{info})
			if w := enc(struct{ Info map[string]string }{want}); got != w {
				t.Errorf("%q html=%v: JSON\n%s\nwant\n%s", pairs, html, got, w)
			}
			// Decoding too reads as the map would (invalid UTF-8 comes
			// back as U+FFFD either way).
			var back struct{ Info *event.SocketInfo }
			var backMap struct{ Info map[string]string }
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(got), &backMap); err != nil {
				t.Fatal(err)
			}
			if again, w := enc(back), enc(backMap); again != w {
				t.Errorf("%q: decoded\n%s\nwant\n%s", pairs, again, w)
			}
		}
	}
	if b, _ := json.Marshal(struct{ Info *event.SocketInfo }{}); string(b) != `{"Info":null}` {
		t.Errorf("nil info JSON = %s", b)
	}
}

// TestSplitIPv4Port checks the one-pass path for 10.0.0.1:80 against the
// general one: where it answers, it answers the same.
func TestSplitIPv4Port(t *testing.T) {
	cases := []string{"10.0.0.1:80", "0.0.0.0:*", "1.2.3.4:65535", "1.2.3.4:65536", "01.2.3.4:1",
		"255.255.255.255:0", "256.1.1.1:1", "1.2.3:4", "1.2.3.4.5:6", "1.2.3.4:", "1.2.3.4:0080",
		"1.2.3.4%eth0:67", "[1.2.3.4]:5", "1.2.3.4:ssh", "1.2.3.4:2049[nfs]", "1234.1.1.1:1"}
	rng := rand.New(rand.NewPCG(3, 4))
	// Mostly well-formed, with one random byte changed now and then.
	const alphabet = "0123456789.:*%[]a"
	for range 50000 {
		var b []byte
		for part := range 4 {
			if rng.IntN(10) == 0 {
				b = append(b, '0')
			}
			b = strconv.AppendInt(b, int64(rng.IntN(300)), 10)
			if part < 3 {
				b = append(b, '.')
			}
		}
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(rng.IntN(70000)), 10)
		if rng.IntN(2) == 0 {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	accepted := 0
	for _, c := range cases {
		a, port, ok := splitIPv4Port([]byte(c))
		if !ok {
			continue
		}
		accepted++
		e, ok := splitAnyEndpoint([]byte(c))
		if !ok || e.addr != a || e.port != port || e.host != nil || e.iface != nil || e.service != nil || e.wildcard {
			t.Errorf("%q: fast path %v %d, general %+v %v", c, a, port, e, ok)
		}
	}
	if accepted < 10 {
		t.Errorf("the fast path took only %d inputs", accepted)
	}
}

func TestParseUint(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"0042", 42, true},
		{"9999999999999999999", 9999999999999999999, true}, // 19 digits
		{"18446744073709551615", 1<<64 - 1, true},          // 20 digits, the largest
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"000000000000000000001", 0, false}, // over 20 digits
		{"", 0, false}, {"-1", 0, false}, {"1a", 0, false}, {" 1", 0, false},
	} {
		got, ok := parseUint([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseUint(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
