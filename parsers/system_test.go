package parsers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// systemCorpus is what every real artifact of the corpus folders this
// group reads must be detected as. A file missing from the table fails the
// test, so a new corpus file gets looked at. wantErrs lists the errors a
// file is known to deserve, with the reason; none does today.
var systemCorpus = map[string]struct {
	kind     string
	wantErrs []string
}{
	"proc-limits/hotsos-k8s-flanneld-limits-655536.txt":        {kind: "proc-limits"},
	"proc-limits/hotsos-k8s-kube-proxy-limits-1024-524288.txt": {kind: "proc-limits"},
	"proc-limits/hotsos-k8s-pid1-systemd-limits.txt":           {kind: "proc-limits"},
	"proc-limits/insights-proc-limits.txt":                     {kind: "proc-limits"},
	"proc-limits/procfs-pid26231-limits.txt":                   {kind: "proc-limits"},
	"proc-limits/procfs-pid26232-limits-1024.txt":              {kind: "proc-limits"},
	"sysctl/hotsos-k8s-ubuntu2004-sysctl-a.txt":                {kind: "sysctl"},
	"sysctl/hotsos-openstack-compute-sysctl-a.txt":             {kind: "sysctl"},
	"sysctl/jc-centos77-sysctl-a.txt":                          {kind: "sysctl"},
	"sysctl/jc-ubuntu1804-sysctl-a.txt":                        {kind: "sysctl"},
	"netstat-s/hotsos-k8s-nstat-zas.txt":                       {kind: "nstat"},
	"netstat-s/hotsos-k8s-proc-net-netstat.txt":                {kind: "proc-net-snmp"},
	"netstat-s/hotsos-k8s-proc-net-snmp.txt":                   {kind: "proc-net-snmp"},
	"netstat-s/insights-netstat-s.txt":                         {kind: "netstat-s"},
	"netstat-s/jc-proc-net-netstat-mptcp.txt":                  {kind: "proc-net-snmp"},
	"netstat-s/node-exporter-proc-net-snmp.txt":                {kind: "proc-net-snmp"},
	"netstat-s/procfs-proc-net-netstat.txt":                    {kind: "proc-net-snmp"},
	"netstat-s/procfs-proc-net-snmp.txt":                       {kind: "proc-net-snmp"},
	"sockstat/hotsos-k8s-sockstat.txt":                         {kind: "sockstat"},
	"sockstat/hotsos-rabbitmq-sockstat-alloc-gt-inuse.txt":     {kind: "sockstat"},
	"sockstat/hotsos-vault-sockstat-tw105.txt":                 {kind: "sockstat"},
	"sockstat/insights-sockstat-tw2030-orphan17.txt":           {kind: "sockstat"},
	"sockstat/node-exporter-sockstat.txt":                      {kind: "sockstat"},
	"sockstat/procfs-sockstat.txt":                             {kind: "sockstat"},
	"sockstat/procfs-sockstat6.txt":                            {kind: "sockstat"},
}

// systemFixtures are the outputs captured for this group (see
// testdata/system/README.md): what DetectFile must call each.
var systemFixtures = map[string]string{
	"file-max.txt":               "proc-sys-value",
	"file-nr.txt":                "file-nr",
	"grep-proc-sys.txt":          "sysctl",
	"limits.conf":                "limits-conf",
	"netstat-s-nettools210.txt":  "netstat-s",
	"nstat-asz.txt":              "nstat",
	"nstat-az.txt":               "nstat",
	"prlimit-pid1.txt":           "prlimit",
	"proc-1-limits.txt":          "proc-limits",
	"proc-net-netstat.txt":       "proc-net-snmp",
	"proc-net-snmp.txt":          "proc-net-snmp",
	"proc-net-snmp6.txt":         "nstat",
	"proc-sleep-status.txt":      "proc-status",
	"proc-stat.txt":              "proc-stat",
	"redis-server.service":       "systemd-limits",
	"sockstat.txt":               "sockstat",
	"sockstat6.txt":              "sockstat",
	"sysctl-keys.txt":            "sysctl",
	"sysctl-p.txt":               "sysctl",
	"sysctl.conf":                "sysctl",
	"systemctl-show-manager.txt": "systemd-limits",
	"systemctl-show-service.txt": "systemd-limits",
	"tcp_mem.txt":                "proc-sys-value",
	"ulimit-Ha-bash.txt":         "ulimit",
	"ulimit-Hn.txt":              "ulimit-value",
	"ulimit-a-bash.txt":          "ulimit",
	"ulimit-a-busybox.txt":       "ulimit",
	"ulimit-a-dash.txt":          "ulimit",
	"ulimit-a-zsh.txt":           "ulimit",
	"ulimit-n.txt":               "ulimit-value",
	"README.md":                  "",
}

// systemFixturesEmpty are the fixtures with no settings in them, and why.
var systemFixturesEmpty = map[string]string{
	"limits.conf": "Debian's stock file: every setting is commented out",
	"sysctl.conf": "Debian's stock file: every setting is commented out",
}

// sysDetectHead returns what the walker hands DetectFile: the header and the
// first DetectBytes of the body.
func sysDetectHead(data []byte) (Header, []byte) {
	h := ParseHeader(data)
	body := data
	for i := 0; i < h.Lines; i++ {
		body = body[bytes.IndexByte(body, '\n')+1:]
	}
	if len(body) > DetectBytes {
		body = body[:DetectBytes]
	}
	return h, body
}

func TestSystemCorpus(t *testing.T) {
	root := corpusDir(t)
	seen := map[string]bool{}
	for _, dir := range []string{"proc-limits", "sysctl", "netstat-s", "sockstat"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			seen[name] = true
			t.Run(name, func(t *testing.T) {
				want, ok := systemCorpus[name]
				if !ok {
					t.Fatalf("corpus file not in systemCorpus: say what it must be detected as")
				}
				data, err := os.ReadFile(filepath.Join(root, dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				h, head := sysDetectHead(data)
				p := DetectFile(name, h, head)
				if p == nil || p.Kind != want.kind {
					t.Fatalf("detected as %v, want %s", sysKindOf(p), want.kind)
				}
				in := ParseBytes(p, name, data)
				checkRefs(t, in)
				if got := errorStrings(in); strings.Join(got, "\n") != strings.Join(want.wantErrs, "\n") {
					t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want.wantErrs, "\n"))
				}
				if in.Out.Records() == 0 {
					t.Errorf("no records")
				}
				golden(t, name+".golden", dump(in))
			})
		}
	}
	for name := range systemCorpus {
		if !seen[name] {
			t.Errorf("%s is in systemCorpus but not in the corpus", name)
		}
	}
}

func sysKindOf(p *Parser) string {
	if p == nil {
		return "nothing"
	}
	return p.Kind
}

func TestSystemFixtures(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "system"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := systemFixtures[name]
			if !ok {
				t.Fatalf("fixture not in systemFixtures")
			}
			data, err := os.ReadFile(filepath.Join("testdata", "system", name))
			if err != nil {
				t.Fatal(err)
			}
			h, head := sysDetectHead(data)
			p := DetectFile("system/"+name, h, head)
			if want == "" {
				if p != nil {
					t.Fatalf("detected as %s, want nothing", p.Kind)
				}
				return
			}
			if p == nil || p.Kind != want {
				t.Fatalf("detected as %v, want %s", sysKindOf(p), want)
			}
			in := ParseBytes(p, "system/"+name, data)
			checkRefs(t, in)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Errorf("errors on real output:\n%s", strings.Join(errs, "\n"))
			}
			if n := in.Out.Records(); n == 0 && systemFixturesEmpty[name] == "" {
				t.Errorf("no records")
			} else if n > 0 && systemFixturesEmpty[name] != "" {
				t.Errorf("%d records from a file said to hold none", n)
			}
			golden(t, "system/"+name+".golden", dump(in))
		})
	}
	for name := range systemFixtures {
		if !seen[name] {
			t.Errorf("%s is in systemFixtures but not in testdata/system", name)
		}
	}
}

// TestSystemDetectorsStayOut feeds the other groups' formats (and a few
// lookalikes) to this group's detectors: none may claim them.
func TestSystemDetectorsStayOut(t *testing.T) {
	others := map[string]string{
		"netstat -ant": "Active Internet connections (servers and established)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State\n" +
			"tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n",
		"netstat header only": "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n" +
			"tcp        0      0 10.0.0.5:22             10.0.0.9:51234          ESTABLISHED\n",
		"ss -tan": "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n" +
			"LISTEN 0      4096   0.0.0.0:22         0.0.0.0:*\n",
		"ss -s": "Total: 183\nTCP:   12 (estab 3, closed 0, orphaned 0, timewait 0)\n\n" +
			"Transport Total     IP        IPv6\nRAW\t  0         0         0\n",
		"/proc/net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20970 1 0000000000000000 100 0 0 10 0\n",
		"lsof": "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n" +
			"sshd    1021 root    3u  IPv4  20970      0t0  TCP *:ssh (LISTEN)\n",
		"dmesg": "[    0.000000] Linux version 5.4.0-91-generic (buildd@lcy01-amd64-017)\n" +
			"[12345.678901] TCP: time wait bucket table overflow\n",
		"kern.log": "Nov 21 21:54:54 web-1 kernel: [1694413.621694] nf_conntrack: table full, dropping packet\n" +
			"Nov 21 21:54:55 web-1 kernel: [1694414.621694] nf_conntrack: table full, dropping packet\n",
		"journal json": `{"__REALTIME_TIMESTAMP":"1700000000000000","MESSAGE":"TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies."}` + "\n",
		"go log": "2026/11/21 21:54:54 http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 5ms\n" +
			"2026/11/21 21:54:54 http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 10ms\n",
		"java properties": "spring.datasource.url=jdbc:mysql://db/app\nspring.datasource.username=app\n",
		"os-release":      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n",
		"date":            "Sat Nov 21 21:54:54 UTC 2026\n",
		"uptime":          " 21:54:54 up 12 days,  3:04,  2 users,  load average: 0.00, 0.01, 0.05\n",
		"bare number":     "1024\n",
		"tcp_mem":         "45588\t60787\t91176\n",
		"ls -l /proc/PID/fd": "total 0\n" +
			"lrwx------ 1 root root 64 Sep  6 21:01 4 -> 'socket:[68189]'\n",
	}
	for name, text := range others {
		for _, p := range systemParsers {
			if p.Detect([]byte(text)) {
				t.Errorf("%s claims %s", p.Kind, name)
			}
		}
		if p := DetectFile("bundle/"+strings.ReplaceAll(name, " ", "-"), Header{}, []byte(text)); p != nil && isSystemParser(p) {
			t.Errorf("DetectFile gives %s for %s", p.Kind, name)
		}
	}
}

func isSystemParser(p *Parser) bool {
	for _, q := range systemParsers {
		if q == p {
			return true
		}
	}
	return false
}

func TestDetectFileValueFiles(t *testing.T) {
	tests := []struct {
		name, path, cmd, body, want string
	}{
		{"ulimit -n by command", "host/ulimit-n.txt", "ulimit -n", "1024\n", "ulimit-value"},
		{"ulimit -Hn in bash -c", "host/x", "bash -c 'ulimit -Hn'", "unlimited\n", "ulimit-value"},
		{"ulimit -a is not a value", "host/x", "ulimit -a", "1024\n", ""},
		{"ulimit -n 4096 sets", "host/x", "ulimit -n 4096", "1024\n", ""},
		{"no command, no path", "host/nofile", "", "1024\n", ""},
		{"cat /proc/sys", "host/x", "cat /proc/sys/net/ipv4/tcp_max_tw_buckets", "5000\n", "proc-sys-value"},
		{"sysctl -n", "host/x", "sysctl -n net.core.somaxconn", "4096\n", "proc-sys-value"},
		{"path under proc/sys", "web-1/proc/sys/net/core/somaxconn", "", "4096\n", "proc-sys-value"},
		{"file-nr by path", "web-1/proc/sys/fs/file-nr", "", "1632\t0\t9223372036854775807\n", "file-nr"},
		{"file-nr by command", "x", "cat /proc/sys/fs/file-nr", "1632\t0\t9223372036854775807\n", "file-nr"},
		{"grep dump is content", "x", "grep -r . /proc/sys/net/ipv4/tcp_fin_timeout", "/proc/sys/net/ipv4/tcp_fin_timeout:60\n", "sysctl"},
		{"empty value file", "web-1/proc/sys/net/core/somaxconn", "", "\n", ""},
		{"content wins for non-values", "web-1/proc/sys-dump.txt", "", "net.core.somaxconn = 4096\n", "sysctl"},
		{"settings under a proc/sys path", "web-1/proc/sys/net.txt", "", "net.core.somaxconn = 4096\n", "sysctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DetectFile(tt.path, Header{Command: tt.cmd}, []byte(tt.body))
			if got := sysKindOf(p); (tt.want == "" && p != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("DetectFile = %s, want %q", got, tt.want)
			}
		})
	}
}

// fuzzSystem is the fuzz body every parser of this group shares: no panic,
// every record points into the file, parsing twice gives the same dump,
// detection does not panic either.
func fuzzSystem(f *testing.F, p *Parser, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// The captured fixtures of this kind seed it too, the small ones only:
	// the fuzzer minimises every new input it finds, and minimising a 20 KB
	// nstat dump stalls a run for a minute.
	entries, _ := os.ReadDir(filepath.Join("testdata", "system"))
	for _, e := range entries {
		if systemFixtures[e.Name()] == p.Kind {
			if data, err := os.ReadFile(filepath.Join("testdata", "system", e.Name())); err == nil && len(data) <= 4096 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := ParseBytes(p, path, data)
		checkRefs(t, in)
		if !bytes.Equal(dump(in), dump(ParseBytes(p, path, data))) {
			t.Fatal("parsing the same bytes twice gave different results")
		}
		for i := range in.Out.Counters {
			if s := in.Out.Counters[i].Snapshot; s < 0 || s >= len(in.Out.CounterSets) {
				t.Fatalf("counter %d has snapshot %d of %d sets", i, s, len(in.Out.CounterSets))
			}
		}
		h, head := sysDetectHead(data)
		DetectFile(path, h, head)
	})
}

// sysRecs renders records one a line for table tests.
func sysRecs(in *Input) []string {
	var out []string
	for _, l := range in.Out.Limits {
		out = append(out, fmt.Sprintf("%d limit %s soft=%d hard=%d pid=%d scope=%s unit=%s domain=%s",
			l.Ref.Line, l.Resource, l.Soft, l.Hard, l.PID, l.Scope, l.Unit, l.Domain))
	}
	for _, s := range in.Out.Sysctls {
		out = append(out, fmt.Sprintf("%d sysctl %s=%q", s.Ref.Line, s.Key, s.Value))
	}
	for _, s := range in.Out.CounterSets {
		out = append(out, fmt.Sprintf("%d set %s", s.Ref.Line, s.Source))
	}
	for _, c := range in.Out.Counters {
		cum := ""
		if !c.Cumulative {
			cum = " gauge"
		}
		out = append(out, fmt.Sprintf("%d counter %s/%s=%d%s", c.Ref.Line, c.Group, c.Name, c.Value, cum))
	}
	for _, p := range in.Out.Processes {
		out = append(out, fmt.Sprintf("%d process pid=%d name=%s threads=%d fdsize=%d fds=%d",
			p.Ref.Line, p.PID, p.Name, p.Threads, p.FDSize, p.FDs))
	}
	for _, c := range in.Out.Clocks {
		out = append(out, fmt.Sprintf("%d clock %s %s", c.Ref.Line, c.Kind, c.At.Format("2006-01-02T15:04:05Z07:00")))
	}
	return append(out, errorStrings(in)...)
}

// sysCheckRecs compares rendered records, printing both sides when they differ.
func sysCheckRecs(t *testing.T, in *Input, want []string) {
	t.Helper()
	got := sysRecs(in)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestSystemHostileInput puts a NUL-and-invalid-UTF-8 line, a 10 MB line,
// a 100 KB token and a line cut without its newline around good lines of
// each format: the
// good lines before and after still count, the bad ones are reported at
// their line.
func TestSystemHostileInput(t *testing.T) {
	good := map[string][2]string{
		"proc-limits":    {"Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n", "Max processes             9                    99                   processes\r\n"},
		"prlimit":        {"RESOURCE DESCRIPTION SOFT HARD UNITS\nNOFILE max number of open files 1024 4096 files\n", "NPROC max number of processes 9 99 processes\r\n"},
		"ulimit":         {"open files                      (-n) 1024\n", "max user processes              (-u) 4096\r\n"},
		"limits-conf":    {"*  soft  nofile  1024\n", "*  hard  nofile  4096\r\n"},
		"systemd-limits": {"LimitNOFILE=4096\n", "LimitNPROC=99\r\n"},
		"sysctl":         {"net.core.somaxconn = 128\n", "vm.swappiness = 60\r\n"},
		"netstat-s":      {"Tcp:\n    5 resets sent\n", "TcpExt:\n    3 times the listen queue of a socket overflowed\r\n"},
		"proc-net-snmp":  {"Tcp: OutRsts\nTcp: 5\n", "TcpExt: ListenOverflows\r\nTcpExt: 3\r\n"},
		"nstat":          {"#kernel\nTcpOutRsts 5 0.0\n", "TcpExtListenOverflows 3 0.0\r\n"},
		"sockstat":       {"TCP: inuse 1\n", "UDP: inuse 2\r\n"},
		"proc-status":    {"Name:\ta\nUmask:\t0022\nPid:\t1\n", "Name:\tb\r\nPid:\t2\r\n"},
		"proc-stat":      {"cpu  1 2 3 4\nbtime 1700000000\n", "btime 1700000001\r\n"},
	}
	long := strings.Repeat("9", 10<<20)
	for _, p := range systemParsers {
		t.Run(p.Kind, func(t *testing.T) {
			g, ok := good[p.Kind]
			text := g[0] + "\x00\xff\xfe \x80garbage\n" + long + "\n" + strings.Repeat("\xfe", 100<<10) + " x 1\n" + g[1] + "cut mid-li"
			in := parseText(t, p, "hostile.txt", text)
			checkRefs(t, in)
			errs := errorStrings(in)
			for _, e := range errs {
				if !strings.HasPrefix(e, "hostile.txt:") {
					t.Errorf("error without position: %.80s", e)
				}
				if len(e) > 300 {
					t.Errorf("error of %d bytes quotes too much of the file: %.80s", len(e), e)
				}
			}
			if !ok {
				return // bare value files: only no panic and positioned errors
			}
			if !strings.Contains(strings.Join(errs, "\n"), "line too long") {
				t.Errorf("10 MB line not reported: %q", errs)
			}
			if n := in.Out.Records() - len(in.Out.CounterSets); n < 2 {
				t.Errorf("%d records, want those of the good lines before and after the bad ones:\n%s", n, strings.Join(sysRecs(in), "\n"))
			}
		})
	}
}
