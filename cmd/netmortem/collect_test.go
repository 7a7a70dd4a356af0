package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers"
	"github.com/netmortem/netmortem/parsers/collect"
)

// untar reads a bundle into name → content (regular files only) and
// checks that every entry is a plain file or directory under one top
// directory.
func untar(t *testing.T, data []byte) (top string, files map[string]string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files = map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		first, rest, _ := strings.Cut(h.Name, "/")
		if top == "" {
			top = first
		}
		if first != top {
			t.Errorf("entry %q outside %q", h.Name, top)
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[rest] = string(b)
		default:
			t.Errorf("entry %q has type %q", h.Name, h.Typeflag)
		}
	}
	return top, files
}

func TestCollectRealRunOnThisMachine(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed; the real collection needs it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot open a loopback listener: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	pid := strconv.Itoa(os.Getpid())
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")

	var stderr bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr}
	const timeout = 20 * time.Second
	start := time.Now()
	code := run([]string{"collect", "-o", out, "--snapshots", "2", "--interval", "200ms",
		"--timeout", timeout.String(), "--pid", pid, "--port", port}, ios)
	elapsed := time.Since(start)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if elapsed > timeout+2*time.Second {
		t.Errorf("collect took %v with --timeout %v", elapsed, timeout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	top, files := untar(t, data)
	host, _ := os.ReadFile("/proc/sys/kernel/hostname")
	if h := strings.TrimSpace(string(host)); h != "" && !strings.HasPrefix(top, h[:1]) {
		t.Errorf("top directory %q is not named after host %q", top, h)
	}
	for _, name := range []string{"hostname", "manifest.txt", "date-R.txt", "ss-listen.txt",
		"ss-tanpoei.1.txt", "ss-tanpoei.2.txt", "ss-s.1.txt", "proc-net-tcp.1.txt", "proc-net-tcp.2.txt",
		"pid-" + pid + "/limits.txt", "pid-" + pid + "/status.txt", "pid-" + pid + "/fd.txt",
		"ulimit-a.txt", "sysctl.txt", "proc-sys-fs-file-nr.txt", "proc-stat-btime.txt"} {
		if _, ok := files[name]; !ok {
			t.Errorf("bundle has no %s", name)
		}
	}
	for name, body := range files {
		h := parsers.ParseHeader([]byte(body))
		if h.Command == "" || h.Date.IsZero() || h.Exit == -1 {
			t.Errorf("%s: no collection header: %.200q", name, body)
		}
	}
	if ss := files["ss-tanpoei.1.txt"]; !strings.Contains(ss, ":"+port) {
		t.Errorf("ss-tanpoei.1.txt does not show the listener on port %s:\n%s", port, ss)
	}
	if fd := files["pid-"+pid+"/fd.txt"]; !strings.Contains(fd, "socket:[") {
		t.Errorf("fd listing shows no socket:\n%s", fd)
	}
	if lim := files["pid-"+pid+"/limits.txt"]; !strings.Contains(lim, "Max open files") {
		t.Errorf("limits.txt:\n%s", lim)
	}
	if !strings.Contains(files["sysctl.txt"], "net.") {
		t.Errorf("sysctl.txt has no net.* key")
	}
	for name, body := range files {
		if strings.Contains(body, "PATH=") || strings.Contains(body, "HOME=/") {
			t.Errorf("%s looks like it holds environment variables", name)
		}
	}
	if lines := strings.Count(stderr.String(), "\n"); lines > 10 {
		t.Errorf("%d progress lines on a non-terminal stderr:\n%s", lines, stderr.String())
	}
}

func TestCollectStdoutAndUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no output", []string{"collect"}, exitUsage, "needs -o"},
		{"pcap flag without pcap", []string{"collect", "-o", "-", "--duration", "5s"}, exitUsage, "--duration only makes sense with --pcap"},
		{"bad size", []string{"collect", "-o", "-", "--pcap", "--max-size", "lots"}, exitUsage, "bad size"},
		{"bad port", []string{"collect", "-o", "-", "--port", "70000"}, exitUsage, "bad port"},
		{"zero snapshots", []string{"collect", "-o", "-", "--snapshots", "0"}, exitUsage, "--snapshots"},
		{"extra argument", []string{"collect", "-o", "-", "stray"}, exitUsage, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
			if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tt.code, tt.msg)
			}
			if out.Len() != 0 {
				t.Errorf("usage error wrote %d bytes to stdout", out.Len())
			}
		})
	}
}

// The command wiring with a fake runner: -o - writes the archive to
// stdout, a timed-out collection still exits 0 with a warning.
func TestCollectCommandFakeTimeout(t *testing.T) {
	fake := func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
		io.WriteString(stdout, "output of "+argv[0]+"\n")
		<-ctx.Done() // every command hangs
		return -1, ctx.Err()
	}
	read := func(p string, max int64) ([]byte, error) { return []byte("x\n"), nil }
	var out, errb bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}
	opts := &collectOptions{output: "-", snapshots: 3, interval: time.Second, timeout: 500 * time.Millisecond,
		cmdTO: 100 * time.Millisecond, exec: fake, readFile: read, quiet: true,
		logMax: collect.DefaultLogMaxBytes, maxSize: collect.DefaultPcapMaxBytes}
	start := time.Now()
	err := collectRun(context.Background(), opts, nil, ios)
	if err != nil {
		t.Fatalf("collectRun: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond+time.Second {
		t.Errorf("took %v with --timeout 500ms", d)
	}
	if !strings.Contains(errb.String(), "warning: the total --timeout") {
		t.Errorf("stderr = %q, want a timeout warning", errb.String())
	}
	_, files := untar(t, out.Bytes())
	if h := parsers.ParseHeader([]byte(files["date-R.txt"])); h.Exit != 124 || !strings.Contains(h.Note, "timed out after 100ms") {
		t.Errorf("date-R.txt header = %+v", h)
	}
	if !strings.Contains(files["manifest.txt"], "skipped") {
		t.Error("manifest lists no skipped step")
	}
}

func TestCollectProgress(t *testing.T) {
	steps := []collect.Step{
		{N: 1, Total: 4, Phase: "clock", Command: "date -R"},
		{N: 2, Total: 4, Phase: "clock", Command: "uptime"},
		{N: 3, Total: 4, Phase: "process 1", Command: "cat /proc/1/limits"},
		{N: 4, Total: 4, Phase: "process 2", Command: "cat /proc/2/limits"},
	}
	var tty, plain bytes.Buffer
	live := newCollectProgress(&IOStreams{ErrOut: &tty, ErrIsTTY: true})
	lines := newCollectProgress(&IOStreams{ErrOut: &plain})
	for _, s := range steps {
		live(s)
		lines(s)
	}
	if got := tty.String(); strings.Contains(got, "\n") || !strings.Contains(got, "\r\033[K[4/4] process 2: cat /proc/2/limits") {
		t.Errorf("terminal progress = %q", got)
	}
	if got, want := plain.String(), "netmortem: collect: clock\nnetmortem: collect: process 1\n"; got != want {
		t.Errorf("plain progress = %q, want %q", got, want)
	}
}
