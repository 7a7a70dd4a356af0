package parsers

import (
	"io"
	"testing"
)

var lsofTests = []sockTest{
	{
		name: "full listing with warnings, pseudo fds, sockets and a leaked socket",
		in: "# cmd: lsof -n -P\n" +
			"lsof: WARNING: can't stat() fuse.gvfsd-fuse file system /run/user/1000/gvfs\n" +
			"      Output information may be incomplete.\n" +
			"COMMAND     PID   USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n" +
			"python    28719    www  cwd       DIR              253,1      4096        128 /srv/app\n" +
			"python    28719    www  txt       REG              253,1   1230920    1440410 /usr/bin/python2.7\n" +
			"python    28719    www  mem       REG              253,1     37152  135529970 /usr/lib64/libnss_sss.so.2\n" +
			"python    28719    www  DEL       REG                0,4               45678 /dev/zero\n" +
			"python    28719    www    0r      CHR                1,3       0t0       1028 /dev/null\n" +
			"python    28719    www    4u     IPv4          261027973       0t0        TCP *:9455 (LISTEN)\n" +
			"python    28719    www    5u     IPv4          261328458       0t0        TCP 10.171.20.131:9455->100.109.225.0:45587 (ESTABLISHED)\n" +
			"python    28719    www  827u     IPv4          261722045       0t0        TCP 10.171.20.131:9455->10.44.155.227:24038 (CLOSE_WAIT)\n" +
			"python    28719    www  900u     sock                0,9       0t0  261800000 can't identify protocol\n" +
			"python    28719    www  901u     sock                0,9       0t0  261800001 protocol: NETLINK\n" +
			"python    28719    www  902u     IPv6          261800002       0t0        UDP [fe80::1%eth0]:5353\n" +
			"python    28719    www  903u     IPv6          261800003       0t0        TCP [::ffff:10.0.0.5]:9455->[::ffff:10.0.0.9]:40000 (SYN_RECV)\n" +
			"nginx      1001   root  NOFD                                                 /proc/1001/fd (opendir: Permission denied)\n",
		want: []string{
			`snapshot 4 lsof n=6 filtered=false cmd="lsof -n -P"`,
			`10 s0 tcp LISTEN *:9455 *:0 q=0/0 owners=python/28719/4 ino=261027973`,
			`11 s0 tcp ESTABLISHED 10.171.20.131:9455 100.109.225.0:45587 q=0/0 owners=python/28719/5 ino=261328458`,
			`12 s0 tcp CLOSE_WAIT 10.171.20.131:9455 10.44.155.227:24038 q=0/0 owners=python/28719/827 ino=261722045`,
			`13 s0 sock UNKNOWN *:0 *:0 q=0/0 owners=python/28719/900 ino=261800000 info=lsof=can't identify protocol`,
			`15 s0 udp6 CLOSE [fe80::1]%eth0:5353 *:0 q=0/0 owners=python/28719/902 ino=261800002`,
			`16 s0 tcp6 SYN_RECV [::ffff:10.0.0.5]:9455 [::ffff:10.0.0.9]:40000 q=0/0 owners=python/28719/903 ino=261800003`,
			`process 5 pid=28719 name="python" fds=8 threads=-1 fdsize=-1`,
			`process 17 pid=1001 name="nginx" fds=-1 threads=-1 fdsize=-1`,
		},
	},
	{
		name: "thread rows with TID and TASKCMD count once",
		in: "COMMAND    PID  TID TASKCMD  USER   FD      TYPE DEVICE SIZE/OFF    NODE NAME\n" +
			"python3   8828                root  cwd    DIR  254,0     4096 763378 /srv/nm\n" +
			"python3   8828                root    3u  IPv4  13376      0t0    TCP 127.0.0.1:47000 (LISTEN)\n" +
			"python3   8828                root    4u  IPv4  13377      0t0    TCP 127.0.0.1:47000->127.0.0.1:5000 (CLOSE_WAIT)\n" +
			"python3   8828 8870 python3   root  cwd    DIR  254,0     4096 763378 /srv/nm\n" +
			"python3   8828 8870 python3   root    3u  IPv4  13376      0t0    TCP 127.0.0.1:47000 (LISTEN)\n" +
			"python3   8828 8870 python3   root    4u  IPv4  13377      0t0    TCP 127.0.0.1:47000->127.0.0.1:5000 (CLOSE_WAIT)\n" +
			"python3   8828 8871 worker    root    4u  IPv4  13377      0t0    TCP 127.0.0.1:47000->127.0.0.1:5000 (CLOSE_WAIT)\n",
		want: []string{
			`snapshot 1 lsof n=2 filtered=false cmd=""`,
			`3 s0 tcp LISTEN 127.0.0.1:47000 *:0 q=0/0 owners=python3/8828/3 ino=13376`,
			`4 s0 tcp CLOSE_WAIT 127.0.0.1:47000 127.0.0.1:5000 q=0/0 owners=python3/8828/4 ino=13377`,
			`process 2 pid=8828 name="python3" fds=2 threads=3 fdsize=-1`,
		},
	},
	{
		name: "numeric users and mode-locked pseudo fds (lsof -b +M -n -l -P)",
		in: "                                COMMAND     PID   TID TASKCMD       USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n" +
			"systemd       1                        0  cwd       DIR              252,1      4096          2 /\n" +
			"systemd       1                        0   19u     IPv4              19720       0t0        UDP 10.6.3.201:68\n" +
			"container 32062                        0  mem-W     REG              252,1    26           3 /var/lib/x.db\n" +
			"container 32062 32064 container        0    7u     IPv4              37913       0t0        TCP 10.6.3.201:47524->10.5.0.126:17070 (ESTABLISHED)\n",
		want: []string{
			`snapshot 1 lsof n=2 filtered=false cmd=""`,
			`3 s0 udp CLOSE 10.6.3.201:68 *:0 q=0/0 owners=systemd/1/19 uid=0 ino=19720`,
			`5 s0 tcp ESTABLISHED 10.6.3.201:47524 10.5.0.126:17070 q=0/0 owners=container/32062/7 uid=0 ino=37913`,
			`process 2 pid=1 name="systemd" fds=1 threads=1 fdsize=-1`,
			`process 4 pid=32062 name="container" fds=1 threads=2 fdsize=-1`,
		},
	},
	{
		name: "rows kept by grep, names resolved, +M registration",
		in: "# cmd: lsof -i -P | grep 28719\n" +
			"python  28719  www    4u  IPv4 261027973      0t0  TCP *:9455 (LISTEN)\n" +
			"python  28719  www 1309u  IPv4 261724582      0t0  TCP localhost:9455->db.internal:5432 (ESTABLISHED)\n" +
			"rpcbind   812  rpc    8u  IPv4     15011      0t0  TCP *:111[portmapper] (LISTEN)\n",
		want: []string{
			`snapshot 2 lsof n=3 filtered=true cmd="lsof -i -P | grep 28719"`,
			`2 s0 tcp LISTEN *:9455 *:0 q=0/0 owners=python/28719/4 ino=261027973`,
			`3 s0 tcp ESTABLISHED localhost:9455 db.internal:5432 q=0/0 owners=python/28719/1309 ino=261724582`,
			`4 s0 tcp LISTEN *:111 *:0 q=0/0 owners=rpcbind/812/8 ino=15011`,
		},
	},
	{
		name: "field output with queues and states",
		in: "# cmd: lsof -F pcfnPtT -p 8828\n" +
			"p8828\ncpython3\nfcwd\ntDIR\nn/srv/nm\n" +
			"f3\ntIPv4\nPTCP\nnlocalhost:47000\nTST=LISTEN\nTQR=1\nTQS=0\n" +
			"f7\ntIPv4\nPTCP\nn127.0.0.1:47000->127.0.0.1:37434\nTST=CLOSE_WAIT\nTQR=1\nTQS=0\n" +
			"f20\ntIPv4\nPUDP\nn127.0.0.1:47003\nTQR=0\nTQS=0\n" +
			"f21\ntsock\nnprotocol: TCP\n" +
			"f251\ntFIFO\nnpipe\n" +
			"fx9\n",
		want: []string{
			`snapshot 2 lsof n=4 filtered=true cmd="lsof -F pcfnPtT -p 8828"`,
			`7 s0 tcp LISTEN localhost:47000 *:0 q=1/0 owners=python3/8828/3`,
			`14 s0 tcp CLOSE_WAIT 127.0.0.1:47000 127.0.0.1:37434 q=1/0 owners=python3/8828/7`,
			`21 s0 udp CLOSE 127.0.0.1:47003 *:0 q=0/0 owners=python3/8828/20`,
			`27 s0 sock UNKNOWN *:0 *:0 q=0/0 owners=python3/8828/21 info=lsof=protocol: TCP`,
			`process 2 pid=8828 name="python3" fds=5 threads=-1 fdsize=-1`,
		},
		errs: []string{`33: bad FD field "x9"`},
	},
	{
		name: "field output with NUL terminators (-F0)",
		in:   "p42\x00cnginx\x00\nf6\x00tIPv6\x00PTCP\x00n[::]:80\x00TST=LISTEN\x00\nfcwd\x00tDIR\x00n/\x00\n",
		want: []string{
			`snapshot 1 lsof n=1 filtered=false cmd=""`,
			`2 s0 tcp6 LISTEN [::]:80 *:0 q=0/0 owners=nginx/42/6`,
			`process 1 pid=42 name="nginx" fds=1 threads=-1 fdsize=-1`,
		},
	},
	{
		name: "bad rows",
		in: "COMMAND     PID   USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n" +
			"python    28719    www  5u     IPv4          261328458       0t0        TCP 10.171.20.131:9455->100.109.225.0 (ESTABLISHED)\n" +
			"python    28719    www  6u     IPv4          261328459       0t0        TCP 10.171.20.131:9455->10.0.0.1:80 (WEIRD)\n" +
			"python      pid    www  7u     IPv4          261328459       0t0        TCP 10.171.20.131:9455\n" +
			"   indented garbage\n" +
			"python    28719    www  8u     IPv4          261328460       0t0        TCP 10.171.20.131:9455->10.0.0.1:80 (ESTABLISHED)\n",
		want: []string{
			`snapshot 1 lsof n=1 filtered=false cmd=""`,
			`6 s0 tcp ESTABLISHED 10.171.20.131:9455 10.0.0.1:80 q=0/0 owners=python/28719/8 ino=261328460`,
		},
		errs: []string{
			`2: bad remote address "100.109.225.0"`,
			`3: unknown socket state "WEIRD"`,
			`4: not an lsof row: "python      pid    www  7u     IPv4          261328459       0t0        TCP 10.1"`,
			`5: not an lsof row: "   indented garbage"`,
		},
	},
}

func TestParseLsof(t *testing.T) { runSockTests(t, lsofParser, lsofTests) }

func TestDetectLsof(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{"COMMAND     PID   TID TASKCMD       USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n", true},
		{"lsof: avoiding stat(/): -b was specified.\nCOMMAND     PID  TID           USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n", true},
		{"                    COMMAND     PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n", true},
		{"p8828\ncpython3\nfcwd\n", true},
		{"p42\x00cnginx\x00\n", true},
		{"python  28719  www    4u  IPv4 261027973      0t0  TCP *:9455 (LISTEN)\n", true},
		{"p8828\nnot a field\n", false},
		{"COMMAND not found\n", false},
		{"tcp        0      0 10.0.0.1:22      10.0.0.2:5000     ESTABLISHED\n", false},
	}
	for _, tt := range tests {
		if got := detectLsof([]byte(tt.head)); got != tt.want {
			t.Errorf("detectLsof(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func FuzzParseLsof(f *testing.F) {
	var seeds []string
	for _, tt := range lsofTests {
		seeds = append(seeds, tt.in)
	}
	for _, name := range []string{"lsof-p-K-threads.txt", "lsof-F-pcfnPtT.txt", "lsof-p-unhashed.txt"} {
		seeds = append(seeds, socketSample(f, name))
	}
	fuzzSocketParser(f, lsofParser, seeds)
}

// lsofDump generates a default `lsof -n -P` listing of n rows as a reader:
// processes of 1000 rows each (cwd, txt, mem maps, then descriptors, a
// third of them sockets), written out without ever holding the text.
type lsofDump struct {
	n, i int
	buf  []byte
	off  int
}

func (d *lsofDump) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if d.off == len(d.buf) {
			if d.i > d.n {
				break
			}
			d.buf, d.off = d.buf[:0], 0
			for len(d.buf) < 32<<10 && d.i <= d.n {
				if d.i == 0 {
					d.buf = append(d.buf, "COMMAND     PID   USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME\n"...)
				} else {
					d.buf = lsofDumpLine(d.buf, d.i)
				}
				d.i++
			}
		}
		n := copy(p[total:], d.buf[d.off:])
		d.off += n
		total += n
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

func lsofDumpLine(b []byte, i int) []byte {
	pid, row := 1000+i/1000, i%1000
	num := func(v int) { b = appendDec(b, v) }
	b = append(b, "java      "...)
	num(pid)
	b = append(b, "   app  "...)
	switch {
	case row == 0:
		return append(b, "cwd       DIR              253,1      4096        128 /srv/app\n"...)
	case row == 1:
		return append(b, "txt       REG              253,1     14320    1440410 /usr/lib/jvm/bin/java\n"...)
	case row < 40:
		b = append(b, "mem       REG              253,1   1230920  "...)
		num(135529970 + row)
		return append(b, " /usr/lib/jvm/lib/libjvm.so\n"...)
	}
	fd := row - 40
	num(fd)
	switch fd % 3 {
	case 0:
		b = append(b, "u     IPv4          "...)
		num(261000000 + i)
		b = append(b, "       0t0        TCP 10.171.20.131:9455->10."...)
		num(i >> 8 & 255)
		b = append(b, '.')
		num(i & 255)
		b = append(b, ".7:"...)
		num(1024 + i%60000)
		if i%5 == 0 {
			return append(b, " (CLOSE_WAIT)\n"...)
		}
		return append(b, " (ESTABLISHED)\n"...)
	case 1:
		b = append(b, "r      REG              253,1    "...)
		num(i % 100000)
		b = append(b, "    1440411 /var/log/app/app.log\n"...)
		return b
	default:
		return append(b, "u     unix 0xffff9f0a2c3b4400       0t0      24082 /run/app.sock type=STREAM\n"...)
	}
}

// BenchmarkParseLsof parses a generated 1,000,000-line lsof listing from a
// file and reports lines per second.
func BenchmarkParseLsof(b *testing.B) {
	const lines = 1_000_000
	benchTable(b, lsofParser, lines+1, &lsofDump{n: lines}, func(in *Input) {
		if errs := errorStrings(in); len(errs) > 0 || len(in.Out.Processes) != lines/1000+1 {
			b.Fatalf("%d processes, errors: %v", len(in.Out.Processes), errs)
		}
	})
}

// TestLsofDumpParses checks the benchmark's generated listing on a small
// scale: every process counted, a third of the descriptors as sockets.
func TestLsofDumpParses(t *testing.T) {
	in := NewInput("lsof.txt")
	RunParser(lsofParser, in, &lsofDump{n: 2999})
	if errs := errorStrings(in); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(in.Out.Processes) != 3 || in.Out.Processes[1].FDs != 960 {
		t.Fatalf("processes %+v", in.Out.Processes)
	}
	if len(in.Out.Sockets) != 3*320 {
		t.Fatalf("%d sockets", len(in.Out.Sockets))
	}
}
