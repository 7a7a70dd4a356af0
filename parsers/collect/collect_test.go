package collect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/netmortem/netmortem/parsers"
)

// fakeTool is how a fake command behaves.
type fakeTool struct {
	out   string
	exit  int
	sleep time.Duration // honours ctx, like the real Exec
	hang  bool          // runs until ctx ends
	write func(ctx context.Context, w io.Writer)
}

func fakeExec(tools map[string]fakeTool) ExecFunc {
	return func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		t, ok := tools[argv[0]]
		if !ok {
			return 127, &exec.Error{Name: argv[0], Err: exec.ErrNotFound}
		}
		if t.write != nil {
			t.write(ctx, stdout)
		}
		io.WriteString(stdout, t.out)
		if t.hang {
			<-ctx.Done()
			return -1, ctx.Err()
		}
		if t.sleep > 0 {
			select {
			case <-time.After(t.sleep):
			case <-ctx.Done():
				return -1, ctx.Err()
			}
		}
		return t.exit, nil
	}
}

func fakeRead(files map[string]string) ReadFileFunc {
	return func(p string, max int64) ([]byte, error) {
		s, ok := files[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	}
}

// A box with everything but lsof and journalctl.
func fakeBox() (map[string]fakeTool, map[string]string) {
	tools := map[string]fakeTool{
		"date":   {out: "Sat, 21 Nov 2026 21:54:54 +0800\n"},
		"uname":  {out: "Linux web-1 5.4.0-42-generic #46-Ubuntu SMP x86_64 GNU/Linux\n"},
		"uptime": {out: " 21:54:54 up 3 days,  2:01,  1 user,  load average: 0.52, 0.58, 0.59\n"},
		"ss": {out: "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n" +
			"CLOSE-WAIT 1      0      10.0.0.1:8080        100.109.3.4:51234 users:((\"app\",pid=4242,fd=9)) ino:123 sk:1\n"},
		"netstat": {out: "Tcp:\n    12 active connection openings\n"},
		"nstat":   {out: "#kernel\nTcpExtListenOverflows           3                  0.0\n"},
		"ls":      {out: "total 0\nlrwx------ 1 app app 64 Nov 21 21:50 9 -> socket:[123]\n"},
		"sh":      {out: "open files                      (-n) 1024\n"},
		"sysctl":  {out: "kernel.pid_max = 4194304\nnet.ipv4.tcp_max_tw_buckets = 5000\nfs.file-max = 9223372036854775807\nvm.swappiness = 60\n"},
		"dmesg":   {out: "[  123.456789] TCP: time wait bucket table overflow\n"},
	}
	files := map[string]string{
		"/proc/sys/kernel/hostname": "web-1\n",
		"/proc/uptime":              "350.12 600.00\n",
		"/proc/stat":                "cpu  1 2 3 4\nbtime 1795290000\nprocesses 4242\n",
		"/proc/net/sockstat":        "TCP: inuse 5 orphan 0 tw 0 alloc 6 mem 1\n",
		"/proc/net/netstat":         "TcpExt: ListenOverflows\nTcpExt: 3\n",
		"/proc/net/snmp":            "Tcp: ActiveOpens\nTcp: 12\n",
		"/proc/net/tcp":             "  sl  local_address rem_address   st\n   0: " + procHex(netip.MustParseAddr("10.0.0.1")) + ":1F90 " + procHex(netip.MustParseAddr("100.109.3.4")) + ":C822 08\n",
		"/proc/net/tcp6":            "  sl  local_address rem_address   st\n",
		"/proc/4242/status":         "Name:\tapp\nPid:\t4242\n",
		"/proc/4242/limits":         "Max open files            1024                 4096                 files\n",
		"/proc/sys/fs/file-nr":      "1024\t0\t9223372036854775807\n",
	}
	return tools, files
}

// tarFile is one entry of a bundle.
type tarFile struct {
	name string
	mode int64
	typ  byte
	data string
}

func readBundle(t *testing.T, data []byte) []tarFile {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("bundle is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var files []tarFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("bundle tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, tarFile{h.Name, h.Mode, h.Typeflag, string(b)})
	}
	return files
}

func fileMap(files []tarFile) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		if f.typ == tar.TypeReg {
			m[f.name] = f.data
		}
	}
	return m
}

func runFake(t *testing.T, o Options) (Result, []tarFile) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Run(context.Background(), &buf, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, readBundle(t, buf.Bytes())
}

var zone8 = time.FixedZone("CST", 8*3600)

func TestCollectFakeBoxHeadersAndNotes(t *testing.T) {
	tools, files := fakeBox()
	now := time.Date(2026, 11, 21, 21, 54, 54, 123456789, zone8)
	res, bundle := runFake(t, Options{
		PIDs: []int{4242}, Snapshots: 2, Interval: time.Millisecond,
		Exec: fakeExec(tools), ReadFile: fakeRead(files),
		Now: func() time.Time { return now },
	})
	got := fileMap(bundle)

	// One top directory named after the host; sane entries.
	for _, f := range bundle {
		if !strings.HasPrefix(f.name, "web-1/") {
			t.Errorf("entry %q outside the host directory", f.name)
		}
		switch f.typ {
		case tar.TypeReg:
			if f.mode != 0o644 {
				t.Errorf("%s: mode %o", f.name, f.mode)
			}
		case tar.TypeDir:
			if f.mode != 0o755 {
				t.Errorf("%s: mode %o", f.name, f.mode)
			}
		default:
			t.Errorf("%s: entry type %q", f.name, f.typ)
		}
	}
	for _, name := range []string{"hostname", "ss-tanpoei.1.txt", "ss-tanpoei.2.txt", "ss-s.2.txt", "nstat-saz.1.txt",
		"proc-net-tcp6.2.txt", "pid-4242/limits.txt", "pid-4242/status.txt", "pid-4242/fd.txt", "pid-4242/lsof.txt",
		"ulimit-a.txt", "sysctl.txt", "dmesg-T.txt", "dmesg.txt", "proc-stat-btime.txt", "manifest.txt"} {
		if _, ok := got["web-1/"+name]; !ok {
			t.Errorf("missing %s", name)
		}
	}

	// Every text file starts with a header the parsers read back.
	for name, data := range got {
		h := parsers.ParseHeader([]byte(data))
		if h.Command == "" || h.Exit == -1 || h.Date.IsZero() {
			t.Errorf("%s: header not understood: %+v\n%s", name, h, data)
			continue
		}
		if !h.Date.Equal(now) || h.Zone != "+08:00" {
			t.Errorf("%s: date %v zone %s, want %v", name, h.Date, h.Zone, now)
		}
	}
	h := parsers.ParseHeader([]byte(got["web-1/ss-tanpoei.1.txt"]))
	if h.Command != "ss -tanpoei" || h.Exit != 0 {
		t.Errorf("ss header = %+v", h)
	}

	// A missing tool is a note, not a failure; an optional one is only a
	// manifest line.
	lsof := parsers.ParseHeader([]byte(got["web-1/pid-4242/lsof.txt"]))
	if lsof.Exit != 127 || lsof.Note != "not found: lsof" {
		t.Errorf("lsof header = %+v", lsof)
	}
	if _, ok := got["web-1/journalctl-k.txt"]; ok {
		t.Error("journalctl-k.txt written although journalctl is missing")
	}
	if !strings.Contains(got["web-1/manifest.txt"], "journalctl-k.txt\t127\t") {
		t.Errorf("manifest does not record journalctl:\n%s", got["web-1/manifest.txt"])
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "lsof") || !strings.Contains(res.Warnings[0], "journalctl") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if res.TimedOut {
		t.Error("TimedOut on a fast box")
	}

	// Filters keep what they say and say so.
	sysctl := got["web-1/sysctl.txt"]
	if strings.Contains(sysctl, "kernel.pid_max") || strings.Contains(sysctl, "vm.swappiness") ||
		!strings.Contains(sysctl, "net.ipv4.tcp_max_tw_buckets = 5000") || !strings.Contains(sysctl, "fs.file-max") {
		t.Errorf("sysctl.txt filtered wrongly:\n%s", sysctl)
	}
	if h := parsers.ParseHeader([]byte(sysctl)); !strings.Contains(h.Note, "net.* and fs.*") {
		t.Errorf("sysctl.txt note = %q", h.Note)
	}
	if b := got["web-1/proc-stat-btime.txt"]; !strings.HasSuffix(b, "\nbtime 1795290000\n") || strings.Contains(b, "cpu") {
		t.Errorf("proc-stat-btime.txt = %q", b)
	}
	if !strings.Contains(got["web-1/ulimit-a.txt"], "not of the service") {
		t.Error("ulimit-a.txt does not say whose limits these are")
	}

	// Deterministic order: the same plan gives the same entries.
	_, again := runFake(t, Options{
		PIDs: []int{4242}, Snapshots: 2, Interval: time.Millisecond,
		Exec: fakeExec(tools), ReadFile: fakeRead(files), Now: func() time.Time { return now },
	})
	if len(again) != len(bundle) {
		t.Fatalf("second run: %d entries, first %d", len(again), len(bundle))
	}
	for i := range bundle {
		if bundle[i].name != again[i].name {
			t.Errorf("entry %d: %s then %s", i, bundle[i].name, again[i].name)
		}
	}
}

func TestCollectPortFocus(t *testing.T) {
	tools, files := fakeBox()
	var seen [][]string
	inner := fakeExec(tools)
	ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		seen = append(seen, argv)
		if argv[0] == "ss" && argv[1] == "-tulnp" {
			io.WriteString(stdout, "tcp LISTEN 0 128 0.0.0.0:8080 0.0.0.0:* users:((\"app\",pid=4242,fd=3),(\"app\",pid=4243,fd=3))\n")
			return 0, nil
		}
		return inner(ctx, argv, stdout, stderr)
	}
	_, bundle := runFake(t, Options{Ports: []int{8080}, Snapshots: 1, Exec: ex, ReadFile: fakeRead(files)})
	got := fileMap(bundle)
	for _, want := range []string{"web-1/ss-listen.txt", "web-1/pid-4242/limits.txt", "web-1/pid-4243/fd.txt"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	h := parsers.ParseHeader([]byte(got["web-1/ss-tanpoei.1.txt"]))
	if want := "ss -tanpoei '(' sport = :8080 or dport = :8080 ')'"; h.Command != want {
		t.Errorf("ss command = %q, want %q", h.Command, want)
	}
	for _, argv := range seen {
		if argv[0] == "lsof" && !strings.Contains(strings.Join(argv, " "), "-p 424") {
			t.Errorf("lsof ran without -p: %q", argv)
		}
	}
}

func TestCollectNeverLsofWholeHostByDefault(t *testing.T) {
	tools, files := fakeBox()
	tools["lsof"] = fakeTool{out: "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n"}
	var lsofs []string
	inner := fakeExec(tools)
	ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		if argv[0] == "lsof" {
			lsofs = append(lsofs, strings.Join(argv, " "))
		}
		return inner(ctx, argv, stdout, stderr)
	}
	runFake(t, Options{Snapshots: 1, Exec: ex, ReadFile: fakeRead(files)})
	if len(lsofs) != 0 {
		t.Errorf("lsof ran without --pid/--port/--lsof-all: %q", lsofs)
	}
	_, bundle := runFake(t, Options{Snapshots: 1, LsofAll: true, Exec: ex, ReadFile: fakeRead(files)})
	if _, ok := fileMap(bundle)["web-1/lsof-all.txt"]; !ok || len(lsofs) != 1 || lsofs[0] != "lsof -n -P" {
		t.Errorf("--lsof-all: lsof runs %q", lsofs)
	}
}

func TestCollectCommandTimeout(t *testing.T) {
	tools, files := fakeBox()
	tools["dmesg"] = fakeTool{out: "[    1.000000] partial line\n", hang: true}
	start := time.Now()
	_, bundle := runFake(t, Options{Snapshots: 1, CmdTimeout: 150 * time.Millisecond, Timeout: 20 * time.Second,
		Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	elapsed := time.Since(start)
	got := fileMap(bundle)
	for _, name := range []string{"web-1/dmesg-T.txt", "web-1/dmesg.txt"} {
		h := parsers.ParseHeader([]byte(got[name]))
		if h.Exit != 124 || !strings.Contains(h.Note, "timed out after 150ms") {
			t.Errorf("%s header = %+v", name, h)
		}
		if !strings.Contains(got[name], "partial line") {
			t.Errorf("%s lost the output gathered before the timeout", name)
		}
	}
	if _, ok := got["web-1/manifest.txt"]; !ok {
		t.Error("no manifest after a command timed out")
	}
	// Two hung commands at 150ms each, everything else instant.
	if elapsed > 5*time.Second {
		t.Errorf("took %v with a 150ms command timeout", elapsed)
	}
}

func TestCollectReadTimeout(t *testing.T) {
	tools, files := fakeBox()
	block := make(chan struct{})
	defer close(block)
	read := func(p string, max int64) ([]byte, error) {
		if p == "/proc/net/tcp" {
			<-block // a read that never ends
		}
		return fakeRead(files)(p, max)
	}
	_, bundle := runFake(t, Options{Snapshots: 1, CmdTimeout: 100 * time.Millisecond, Exec: fakeExec(tools), ReadFile: read})
	h := parsers.ParseHeader([]byte(fileMap(bundle)["web-1/proc-net-tcp.1.txt"]))
	if h.Exit != 124 || !strings.Contains(h.Note, "timed out") {
		t.Errorf("blocked read header = %+v", h)
	}
}

func TestCollectTotalTimeoutBound(t *testing.T) {
	tools, files := fakeBox()
	for name, tool := range tools {
		tool.sleep = 300 * time.Millisecond
		tools[name] = tool
	}
	tools["tcpdump"] = fakeTool{hang: true}
	const timeout = time.Second
	start := time.Now()
	var buf bytes.Buffer
	res, err := Run(context.Background(), &buf, Options{
		PIDs: []int{4242}, Snapshots: 5, Interval: 100 * time.Millisecond,
		Timeout: timeout, CmdTimeout: 10 * time.Second,
		Pcap: true, PcapDuration: time.Minute,
		Exec: fakeExec(tools), ReadFile: fakeRead(files),
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The bound is behavioural: the run stops at its timeout, plus the time
	// to write what it has.
	if elapsed > timeout+700*time.Millisecond {
		t.Errorf("run took %v with --timeout %v", elapsed, timeout)
	}
	if !res.TimedOut || len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "partial") {
		t.Errorf("result = %+v, want TimedOut and a warning", res)
	}
	got := fileMap(readBundle(t, buf.Bytes()))
	manifest := got["web-1/manifest.txt"]
	if !strings.Contains(manifest, "skipped: the total --timeout 1s ran out") {
		t.Errorf("manifest does not list the skipped steps:\n%s", manifest)
	}
	if h := parsers.ParseHeader([]byte(manifest)); !strings.Contains(h.Note, "partial") {
		t.Errorf("manifest note = %q", h.Note)
	}
	stopped := 0
	for name, data := range got {
		if strings.Contains(parsers.ParseHeader([]byte(data)).Note, "stopped: the total --timeout") {
			stopped++
		}
		if strings.Contains(name, ".5.txt") {
			t.Errorf("%s: the fifth snapshot cannot fit in the timeout", name)
		}
	}
	if stopped == 0 {
		t.Error("no file says the total timeout stopped it")
	}
	if _, ok := got["web-1/capture.txt"]; !ok {
		t.Error("the capture started but capture.txt is missing")
	}
}

func TestCollectCancelWritesWhatItHas(t *testing.T) {
	tools, files := fakeBox()
	tools["dmesg"] = fakeTool{hang: true}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	res, err := Run(ctx, &buf, Options{Snapshots: 1, Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	if err != nil || !res.TimedOut {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "interrupted") {
		t.Errorf("warnings = %q, want an interruption", res.Warnings)
	}
	if _, ok := fileMap(readBundle(t, buf.Bytes()))["web-1/manifest.txt"]; !ok {
		t.Error("no manifest after cancel")
	}
}

func TestCollectPcapMaxSize(t *testing.T) {
	tools, files := fakeBox()
	frame := testPacket(t, layers.LinkTypeEthernet, "10.0.0.1", "100.109.3.4", "tcp", []byte("ping"))
	one := writePcap(t, layers.LinkTypeEthernet, 128, frame)
	record := one[pcapGlobalLen:]
	tools["tcpdump"] = fakeTool{hang: true, write: func(ctx context.Context, w io.Writer) {
		w.Write(one[:pcapGlobalLen])
		for ctx.Err() == nil {
			w.Write(record)
		}
	}}
	const max = 1000
	an := NewAnonymizerKey(testKey)
	_, bundle := runFake(t, Options{Snapshots: 1, Pcap: true, PcapMaxBytes: max, PcapDuration: 10 * time.Second,
		Anonymize: true, anon: an, Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	got := fileMap(bundle)
	pcap := got["web-1/capture.pcap"]
	if len(pcap) == 0 || len(pcap) > max {
		t.Fatalf("capture.pcap has %d bytes, limit %d", len(pcap), max)
	}
	if (len(pcap)-pcapGlobalLen)%len(record) != 0 {
		t.Errorf("capture.pcap ends inside a record")
	}
	_, frames := readFrames(t, []byte(pcap))
	if len(frames) != (len(pcap)-pcapGlobalLen)/len(record) {
		t.Errorf("gopacket read %d frames", len(frames))
	}
	s, d := addrsOf(t, layers.LinkTypeEthernet, frames[0])
	ps, pd := an.Addr(netip.MustParseAddr("10.0.0.1")), an.Addr(netip.MustParseAddr("100.109.3.4"))
	if s != ps || d != pd {
		t.Errorf("pcap addresses %v %v, want %v %v", s, d, ps, pd)
	}
	// The same pseudonyms in the text files.
	ss := got["web-1/ss-tanpoei.1.txt"]
	if !strings.Contains(ss, ps.String()+":8080") || !strings.Contains(ss, pd.String()+":51234") {
		t.Errorf("ss-tanpoei.1.txt does not use the pcap's pseudonyms %v %v:\n%s", ps, pd, ss)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/capture.txt"])); !strings.Contains(h.Note, "--max-size") {
		t.Errorf("capture.txt note = %q", h.Note)
	}
}

func TestCollectAnonymizeEveryTextFile(t *testing.T) {
	tools, files := fakeBox()
	tools["lsof"] = fakeTool{out: "app 4242 app 9u IPv4 123 0t0 TCP 10.0.0.1:8080->100.109.3.4:51234 (CLOSE_WAIT)\n"}
	an := NewAnonymizerKey(testKey)
	_, bundle := runFake(t, Options{PIDs: []int{4242}, Snapshots: 2, Anonymize: true, anon: an,
		Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	got := fileMap(bundle)
	real1, real2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("100.109.3.4")
	p1, p2 := an.Addr(real1), an.Addr(real2)
	if p1 == p2 || p1 == real1 || !p1.Is4() || !p2.Is4() {
		t.Fatalf("pseudonyms %v %v", p1, p2)
	}
	for name, data := range got {
		for _, leak := range []string{real1.String(), real2.String(), procHex(real1), procHex(real2)} {
			if strings.Contains(data, leak) {
				t.Errorf("%s still holds %s", name, leak)
			}
		}
	}
	for _, name := range []string{"web-1/ss-tanpoei.1.txt", "web-1/ss-tanpoei.2.txt", "web-1/pid-4242/lsof.txt"} {
		if !strings.Contains(got[name], p1.String()+":8080") || !strings.Contains(got[name], p2.String()+":51234") {
			t.Errorf("%s does not hold the pseudonyms %v and %v:\n%s", name, p1, p2, got[name])
		}
	}
	if !strings.Contains(got["web-1/proc-net-tcp.1.txt"], procHex(p1)+":1F90 "+procHex(p2)+":C822") {
		t.Errorf("proc-net-tcp.1.txt does not hold the pseudonyms:\n%s", got["web-1/proc-net-tcp.1.txt"])
	}
}

func TestCollectLogTail(t *testing.T) {
	tools, files := fakeBox()
	dir := t.TempDir()
	log := dir + "/app.log"
	var content strings.Builder
	for i := 0; i < 100; i++ {
		content.WriteString("2026-11-21 21:54:54 ERROR accept: too many open files\n")
	}
	if err := os.WriteFile(log, []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, bundle := runFake(t, Options{Snapshots: 1, Logs: []string{log, dir + "/missing.log"}, LogMaxBytes: 200,
		Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	got := fileMap(bundle)
	tail := got["web-1/logs/app.log"]
	h := parsers.ParseHeader([]byte(tail))
	body := strings.Join(strings.Split(tail, "\n")[h.Lines:], "\n")
	if len(body) > 200 || !strings.HasPrefix(body, "2026-11-21") || !strings.HasSuffix(body, "files\n") {
		t.Errorf("log tail body (%d bytes) = %q", len(body), body)
	}
	if !strings.HasPrefix(h.Command, "tail -c 200 ") || !strings.Contains(h.Note, "last") {
		t.Errorf("log tail header = %+v", h)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/logs/missing.log"])); h.Exit != 1 || !strings.Contains(h.Note, "no such file") {
		t.Errorf("missing log header = %+v", h)
	}
}

func TestCollectParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"5MB", 5_000_000, false},
		{"50mb", 50_000_000, false},
		{"512KiB", 512 << 10, false},
		{"1.5G", 1_500_000_000, false},
		{"1048576", 1048576, false},
		{"10 kB", 10_000, false},
		{"", 0, true},
		{"-1MB", 0, true},
		{"NaN", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	if s := FormatSize(5_000_000); s != "5MB" {
		t.Errorf("FormatSize = %q", s)
	}
}

func TestCollectExecRealMissingAndTimeout(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep(1) on this box")
	}
	_, err := Exec(context.Background(), []string{"netmortem-no-such-tool"}, io.Discard, io.Discard)
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing tool: err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Exec(ctx, []string{"sh", "-c", "sleep 30 & sleep 30"}, io.Discard, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a timed-out command with a background child took %v to stop", d)
	}
}

func TestCollectRedactKernelLog(t *testing.T) {
	in := "[    0.000000] Linux version 6.1.0 (gcc 12)\n" +
		"[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1 iscsi_password=hunter2\n" +
		"[    0.012000] Kernel command line: BOOT_IMAGE=/vmlinuz iscsi_password=hunter2\n" +
		"[    0.170330] Run /init as init process\n" +
		"[    0.170331]   with arguments:\n" +
		"[    0.170331]     /init\n" +
		"[    0.170338]   with environment:\n" +
		"[    0.170338]     HOME=/\n" +
		"[    0.170338]     SEED=https://user:token@example.net/\n" +
		"[    0.174296] TCP: time wait bucket table overflow\n" +
		"Nov 21 21:54:54 web-1 kernel:     indented but not after an init block\n"
	want := "[    0.000000] Linux version 6.1.0 (gcc 12)\n" +
		"[    0.000000] Command line: [not collected]\n" +
		"[    0.012000] Kernel command line: [not collected]\n" +
		"[    0.170330] Run /init as init process\n" +
		"[    0.170331]   with arguments:\n" +
		"[    0.170331]    [not collected]\n" +
		"[    0.170338]   with environment:\n" +
		"[    0.170338]    [not collected]\n" +
		"[    0.170338]    [not collected]\n" +
		"[    0.174296] TCP: time wait bucket table overflow\n" +
		"Nov 21 21:54:54 web-1 kernel:     indented but not after an init block\n"
	got, n := redactKernelLog([]byte(in))
	if string(got) != want || n != 5 {
		t.Errorf("redactKernelLog replaced %d lines:\n%s\nwant:\n%s", n, got, want)
	}
}

func TestCollectNetNS(t *testing.T) {
	tools, files := fakeBox()
	files["/proc/4242/net/tcp"] = files["/proc/net/tcp"]
	delete(files, "/proc/net/tcp")
	inner := fakeExec(tools)
	ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		if argv[0] == "nsenter" {
			if _, ok := tools[argv[2]]; !ok {
				io.WriteString(stderr, "nsenter: failed to execute "+argv[2]+": No such file or directory\n")
				return 127, nil
			}
			return inner(ctx, argv[2:], stdout, stderr)
		}
		return inner(ctx, argv, stdout, stderr)
	}
	res, bundle := runFake(t, Options{PIDs: []int{4242}, Snapshots: 1, NetNS: "/proc/4242/ns/net", Pcap: true,
		PcapDuration: 50 * time.Millisecond, Exec: ex, ReadFile: fakeRead(files)})
	got := fileMap(bundle)
	if h := parsers.ParseHeader([]byte(got["web-1/ss-tanpoei.1.txt"])); h.Command != "nsenter --net=/proc/4242/ns/net ss -tanpoei" {
		t.Errorf("ss command = %q", h.Command)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/proc-net-tcp.1.txt"])); h.Command != "cat /proc/4242/net/tcp" || h.Exit != 0 {
		t.Errorf("proc-net-tcp header = %+v", h)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/sysctl.txt"])); !strings.HasPrefix(h.Command, "nsenter --net=/proc/4242/ns/net sysctl") {
		t.Errorf("sysctl command = %q", h.Command)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/capture.txt"])); h.Exit != 127 || !strings.Contains(h.Note, "not found: tcpdump") {
		t.Errorf("capture.txt header = %+v", h)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/dmesg.txt"])); h.Command != "dmesg" {
		t.Errorf("dmesg is not per namespace, yet ran as %q", h.Command)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "tcpdump") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if !strings.Contains(got["web-1/manifest.txt"], "network namespace /proc/4242/ns/net") {
		t.Error("manifest does not name the network namespace")
	}
}

func TestCollectPermissionDenied(t *testing.T) {
	tools, files := fakeBox()
	ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		switch argv[0] {
		case "dmesg":
			io.WriteString(stderr, "dmesg: read kernel buffer failed: Operation not permitted\n")
			return 1, nil
		case "tcpdump":
			io.WriteString(stderr, "tcpdump: any: You don't have permission to capture on that device\n")
			return 1, nil
		}
		return fakeExec(tools)(ctx, argv, stdout, stderr)
	}
	files["/proc/4242/limits"] = ""
	read := func(p string, max int64) ([]byte, error) {
		if p == "/proc/4242/status" {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
		return fakeRead(files)(p, max)
	}
	_, bundle := runFake(t, Options{PIDs: []int{4242}, Snapshots: 1, Pcap: true, PcapDuration: time.Second, Exec: ex, ReadFile: read})
	got := fileMap(bundle)
	tests := []struct {
		file string
		exit int
		note string
	}{
		{"web-1/dmesg.txt", 1, "permission denied (run as root"},
		{"web-1/dmesg.txt", 1, "stderr: dmesg: read kernel buffer failed: Operation not permitted"},
		{"web-1/capture.txt", 1, "permission denied: capturing needs root"},
		{"web-1/pid-4242/status.txt", 126, "permission denied: /proc/4242/status"},
	}
	for _, tt := range tests {
		h := parsers.ParseHeader([]byte(got[tt.file]))
		if h.Exit != tt.exit || !strings.Contains(h.Note, tt.note) {
			t.Errorf("%s: exit %d note %q; want %d and %q", tt.file, h.Exit, h.Note, tt.exit, tt.note)
		}
	}
	if _, ok := got["web-1/capture.pcap"]; ok {
		t.Error("capture.pcap written although tcpdump wrote nothing")
	}
}

// TestCollectLogsReadLast: the kernel and application logs are read after
// the last snapshot and after the capture stopped, so lines written during
// the collection are in the bundle.
func TestCollectLogsReadLast(t *testing.T) {
	tools, files := fakeBox()
	log := t.TempDir() + "/app.log"
	if err := os.WriteFile(log, []byte("2026-11-21 21:54:50 INFO started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	appendLog := func(line string) {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString(line + "\n")
		f.Close()
	}
	var mu sync.Mutex
	var events []string
	kernel := "[  100.000000] before the collection\n"
	note := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	inner := fakeExec(tools)
	ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		switch argv[0] {
		case "ss":
			if argv[1] == "-tanpoei" {
				note("ss")
				appendLog("2026-11-21 21:54:55 ERROR during snapshot")
			}
		case "tcpdump":
			<-ctx.Done()
			mu.Lock()
			kernel += "[  101.000000] TCP: during the capture\n"
			mu.Unlock()
			appendLog("2026-11-21 21:54:56 ERROR during the capture")
			note("tcpdump stopped")
			return -1, ctx.Err()
		case "dmesg":
			note("dmesg")
			mu.Lock()
			io.WriteString(stdout, kernel)
			mu.Unlock()
			return 0, nil
		}
		return inner(ctx, argv, stdout, stderr)
	}
	_, bundle := runFake(t, Options{Snapshots: 2, Interval: 50 * time.Millisecond, Pcap: true,
		PcapDuration: 300 * time.Millisecond, Logs: []string{log}, Exec: ex, ReadFile: fakeRead(files)})
	got := fileMap(bundle)

	mu.Lock()
	seq := slices.Clone(events)
	mu.Unlock()
	// The capture may stop before or after the second snapshot (timing);
	// the kernel logs come after both.
	first := slices.Index(seq, "dmesg")
	if first < 0 || slices.Contains(seq[first:], "ss") || slices.Contains(seq[first:], "tcpdump stopped") ||
		!slices.Contains(seq, "tcpdump stopped") || len(seq) != 5 {
		t.Errorf("order of events %q: want both ss runs and the capture's end before dmesg", seq)
	}
	for _, name := range []string{"web-1/dmesg.txt", "web-1/dmesg-T.txt"} {
		if !strings.Contains(got[name], "during the capture") {
			t.Errorf("%s lacks the kernel line logged during the capture:\n%s", name, got[name])
		}
	}
	if app := got["web-1/logs/app.log"]; strings.Count(app, "during snapshot") != 2 || !strings.Contains(app, "during the capture") {
		t.Errorf("logs/app.log lacks lines written during the collection:\n%s", app)
	}
	// The bundle lists them in the order they were read.
	var names []string
	for _, f := range bundle {
		names = append(names, strings.TrimPrefix(f.name, "web-1/"))
	}
	idx := func(name string) int { return slices.Index(names, name) }
	if !(idx("ss-tanpoei.2.txt") < idx("dmesg-T.txt") && idx("dmesg-T.txt") < idx("logs/app.log")) {
		t.Errorf("bundle order: %q", names)
	}
}

// TestCollectLogsKeepTheirReserve: snapshots that do not fit in the
// timeout are skipped early enough for the logs to be read in full.
func TestCollectLogsKeepTheirReserve(t *testing.T) {
	tools, files := fakeBox()
	tools["tcpdump"] = fakeTool{hang: true}
	tools["dmesg"] = fakeTool{out: "[  100.000000] TCP: time wait bucket table overflow\n", sleep: 100 * time.Millisecond}
	log := t.TempDir() + "/app.log"
	if err := os.WriteFile(log, []byte("2026-11-21 21:54:50 INFO started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const timeout = 2 * time.Second
	start := time.Now()
	res, bundle := runFake(t, Options{Snapshots: 10, Interval: 500 * time.Millisecond, Timeout: timeout,
		Pcap: true, PcapDuration: time.Minute, Logs: []string{log}, Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	elapsed := time.Since(start)
	if elapsed > timeout+500*time.Millisecond {
		t.Errorf("run took %v with --timeout %v", elapsed, timeout)
	}
	got := fileMap(bundle)
	for _, name := range []string{"web-1/dmesg-T.txt", "web-1/dmesg.txt", "web-1/logs/app.log"} {
		h := parsers.ParseHeader([]byte(got[name]))
		if h.Exit != 0 || h.Note != "" && !strings.Contains(h.Note, "last") {
			t.Errorf("%s: exit %d note %q, want read in full", name, h.Exit, h.Note)
		}
	}
	if !strings.Contains(got["web-1/logs/app.log"], "INFO started") {
		t.Error("logs/app.log is empty")
	}
	if _, ok := got["web-1/ss-tanpoei.2.txt"]; !ok {
		t.Error("the second snapshot fits in the timeout but is missing")
	}
	if _, ok := got["web-1/ss-tanpoei.5.txt"]; ok {
		t.Error("the fifth snapshot (2 s after the first) cannot fit in the timeout")
	}
	manifest := got["web-1/manifest.txt"]
	if !strings.Contains(manifest, "ss-tanpoei.10.txt\t-\t") || !strings.Contains(manifest, "skipped: the total --timeout 2s ran out (less 500ms kept for the logs)") {
		t.Errorf("manifest does not list the skipped snapshots:\n%s", manifest)
	}
	h := parsers.ParseHeader([]byte(got["web-1/capture.txt"]))
	if !strings.Contains(h.Note, "instead of 1m0s to end within the total timeout") {
		t.Errorf("capture.txt note = %q", h.Note)
	}
	if !res.TimedOut {
		t.Error("snapshots were skipped but TimedOut is false")
	}
}

// TestCollectInterruptStillReadsLogs: an interrupt ends the snapshots and
// the capture, and the logs are still read.
func TestCollectInterruptStillReadsLogs(t *testing.T) {
	tools, files := fakeBox()
	tools["tcpdump"] = fakeTool{hang: true}
	// As signal.NotifyContext does on Ctrl-C.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	var buf bytes.Buffer
	res, err := Run(ctx, &buf, Options{Snapshots: 3, Interval: 10 * time.Second, Pcap: true,
		Exec: fakeExec(tools), ReadFile: fakeRead(files)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("an interrupted run took %v", d)
	}
	got := fileMap(readBundle(t, buf.Bytes()))
	if h := parsers.ParseHeader([]byte(got["web-1/dmesg.txt"])); h.Exit != 0 || !strings.Contains(got["web-1/dmesg.txt"], "bucket table overflow") {
		t.Errorf("dmesg.txt after an interrupt: %+v\n%s", h, got["web-1/dmesg.txt"])
	}
	if _, ok := got["web-1/ss-tanpoei.2.txt"]; ok {
		t.Error("the second snapshot was taken after the interrupt")
	}
	if !res.TimedOut || len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "interrupted") {
		t.Errorf("result = %+v", res)
	}
	if h := parsers.ParseHeader([]byte(got["web-1/capture.txt"])); !strings.Contains(h.Note, "interrupted") {
		t.Errorf("capture.txt note = %q", h.Note)
	}
}

func TestCollectConntrackStats(t *testing.T) {
	const stats = "cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=0 drop=1021 early_drop=0 error=0 search_restart=0\n"
	tests := []struct {
		name     string
		loaded   bool
		tool     bool
		wantFile bool
		wantExit int
		note     string
	}{
		{"loaded", true, true, true, 0, ""},
		{"tool missing", true, false, true, 127, "not found: conntrack"},
		{"module not loaded", false, true, false, 0, "nf_conntrack is not loaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, files := fakeBox()
			if tt.tool {
				tools["conntrack"] = fakeTool{out: stats}
			}
			if tt.loaded {
				files[conntrackStatsProbe] = "262144\n"
			}
			ran := false
			inner := fakeExec(tools)
			ex := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
				if argv[0] == "conntrack" {
					ran = true
				}
				return inner(ctx, argv, stdout, stderr)
			}
			res, bundle := runFake(t, Options{Snapshots: 1, Exec: ex, ReadFile: fakeRead(files)})
			got := fileMap(bundle)
			data, ok := got["web-1/conntrack-S.txt"]
			if ok != tt.wantFile || ran != tt.wantFile {
				t.Fatalf("conntrack-S.txt written %v, conntrack ran %v; want %v", ok, ran, tt.wantFile)
			}
			if ok {
				h := parsers.ParseHeader([]byte(data))
				if h.Command != "conntrack -S" || h.Exit != tt.wantExit || !strings.Contains(h.Note, tt.note) {
					t.Errorf("header = %+v", h)
				}
				if tt.tool && !strings.Contains(data, "drop=1021") {
					t.Errorf("conntrack-S.txt = %q", data)
				}
				return
			}
			if !strings.Contains(got["web-1/manifest.txt"], "conntrack-S.txt\t-\t") || !strings.Contains(got["web-1/manifest.txt"], tt.note) {
				t.Errorf("manifest does not say why conntrack -S did not run:\n%s", got["web-1/manifest.txt"])
			}
			if res.TimedOut {
				t.Error("a step not run for a reason counts as a timeout")
			}
		})
	}
}
