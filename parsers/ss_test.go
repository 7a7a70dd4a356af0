package parsers

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

var ssTests = []sockTest{
	{
		name: "tanpoe with owners timers and extended info",
		in: "# cmd: ss -tanpoe\n# date: 2026-11-21T13:54:54+08:00\n" +
			"State      Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process\n" +
			"LISTEN     0      100               0.0.0.0:587              0.0.0.0:*     users:((\"master\",pid=1978854,fd=86),(\"smtpd\",pid=320188,fd=6)) ino:815320090 sk:2005 cgroup:/system.slice/postfix.service <->\n" +
			"ESTAB      0      0        10.171.20.131:9455    100.109.225.0:45587 users:((\"python\",pid=28719,fd=5)) timer:(keepalive,115min,0) uid:1000 ino:261328458 sk:3e <->\n" +
			"CLOSE-WAIT 1      0        10.171.20.131:9455    10.44.155.227:24038 users:((\"python\",pid=28719,fd=827)) uid:1000 ino:261722045 sk:40 -->\n" +
			"TIME-WAIT  0      0               192.0.2.2:58504       203.0.113.80:80    timer:(timewait,3.604ms,0) ino:0 sk:4\n" +
			"SYN-SENT   0      1      [::ffff:10.0.0.5]:40000 [::ffff:10.0.0.9]:6379 users:((\"Web Content\",pid=77,fd=41)) timer:(on,1.2ms,3) uid:1000 ino:5 sk:9 <->\n" +
			"LISTEN     0      128     [fe80::1]%eth0:22                  [::]:*     users:((\"sshd\",1234,3))\n",
		want: []string{
			`snapshot 3 ss n=6 filtered=false cmd="ss -tanpoe"`,
			`4 s0 tcp LISTEN 0.0.0.0:587 0.0.0.0:* q=0/100 owners=master/1978854/86,smtpd/320188/6 uid=0 ino=815320090 info=cgroup=/system.slice/postfix.service sk=2005`,
			`5 s0 tcp ESTABLISHED 10.171.20.131:9455 100.109.225.0:45587 q=0/0 owners=python/28719/5 uid=1000 ino=261328458 timer=keepalive/1h55m0s/0 info=sk=3e`,
			`6 s0 tcp CLOSE_WAIT 10.171.20.131:9455 10.44.155.227:24038 q=1/0 owners=python/28719/827 uid=1000 ino=261722045 info=sk=40`,
			`7 s0 tcp TIME_WAIT 192.0.2.2:58504 203.0.113.80:80 q=0/0 timer=timewait/3.604s/0 info=sk=4`,
			`8 s0 tcp SYN_SENT [::ffff:10.0.0.5]:40000 [::ffff:10.0.0.9]:6379 q=0/1 owners=Web Content/77/41 uid=1000 ino=5 timer=on/1.2s/3 info=sk=9`,
			`9 s0 tcp LISTEN [fe80::1]%eth0:22 [::]:* q=0/128 owners=sshd/1234/3`,
		},
	},
	{
		name: "wrapped lines join their socket",
		in: "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port\n" +
			"ESTAB  0      0      10.0.0.1:22    10.0.0.2:51000\n" +
			"\t users:((\"sshd\",pid=900,fd=4)) timer:(keepalive,1min30sec,0) uid:0 ino:4242 sk:ffff9f\n" +
			"ESTAB  0      36     10.0.0.1:22    10.0.0.3:51001\n" +
			"\t cubic wscale:7,7 rto:204 rtt:0.5/0.25 ato:40 mss:1448 cwnd:10 retrans:0/3 send 231.7Mbps lastsnd:8 lastrcv:12 lastack:8 pacing_rate 463.4Mbps app_limited bbr:(bw:1Mbps,mrtt:0.1)\n" +
			"TIME-WAIT 0   0      10.0.0.1:22    10.0.0.4:51002\n" +
			"\t                 \n" +
			"LISTEN 0      128    0.0.0.0:22     0.0.0.0:*\n" +
			"\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d12)\n",
		want: []string{
			`snapshot 1 ss n=4 filtered=false cmd=""`,
			`2 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:51000 q=0/0 owners=sshd/900/4 uid=0 ino=4242 timer=keepalive/1m30s/0 info=sk=ffff9f`,
			`4 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.3:51001 q=0/36 info=ato=40 cwnd=10 lastack=8 lastrcv=12 lastsnd=8 mss=1448 retrans=0/3 rto=204 rtt=0.5/0.25 wscale=7,7`,
			`6 s0 tcp TIME_WAIT 10.0.0.1:22 10.0.0.4:51002 q=0/0`,
			`8 s0 tcp LISTEN 0.0.0.0:22 0.0.0.0:* q=0/128 info=skmem=r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d12`,
		},
	},
	{
		name: "state filter has no State column",
		in: "# cmd: ss -tn state established '( dport = :6379 )'\n" +
			"Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n" +
			"0      0           10.0.0.1:40000     10.0.0.9:6379\n",
		want: []string{
			`snapshot 2 ss n=1 filtered=true cmd="ss -tn state established '( dport = :6379 )'"`,
			`3 s0 tcp ESTABLISHED 10.0.0.1:40000 10.0.0.9:6379 q=0/0`,
		},
	},
	{
		name: "state filter over all types keeps Netid",
		in: "# cmd: ss state time-wait\n" +
			"Netid Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process\n" +
			"tcp   0      0               192.0.2.2:58504       203.0.113.80:http\n",
		want: []string{
			`snapshot 2 ss n=1 filtered=true cmd="ss state time-wait"`,
			`3 s0 tcp TIME_WAIT 192.0.2.2:58504 203.0.113.80:80(http) q=0/0`,
		},
	},
	{
		name: "rows kept by grep",
		in: "# cmd: ss -tna | grep 9455 | grep CLOSE\n" +
			"CLOSE-WAIT 1      0      10.171.20.131:9455  10.44.155.227:24038\n" +
			"CLOSE-WAIT 1      0      10.171.20.131:9455  10.172.224.17:35876\n",
		want: []string{
			`snapshot 2 ss n=2 filtered=true cmd="ss -tna | grep 9455 | grep CLOSE"`,
			`2 s0 tcp CLOSE_WAIT 10.171.20.131:9455 10.44.155.227:24038 q=1/0`,
			`3 s0 tcp CLOSE_WAIT 10.171.20.131:9455 10.172.224.17:35876 q=1/0`,
		},
	},
	{
		name: "netid rows of every family",
		in: "Netid  State      Recv-Q Send-Q Local Address:Port                 Peer Address:Port\n" +
			"nl     UNCONN     768    0      rtnl:dockerd-current/1220   *\n" +
			"p_raw  UNCONN     0      0       *:ens33                  *\n" +
			"u_str  ESTAB      0      0       * 22630                 * 22631\n" +
			"u_dgr  UNCONN     0      0      /run/systemd/notify 8971                  * 0\n" +
			"udp    UNCONN     0      0      127.0.0.53%lo:domain         0.0.0.0:*\n" +
			"icmp6  UNCONN     0      0      *%ens33:ipv6-icmp              *:*\n" +
			"tcp    LISTEN     0      128     *:ssh                   *:*\n",
		want: []string{
			`snapshot 1 ss n=7 filtered=false cmd=""`,
			`2 s0 nl CLOSE rtnl:dockerd-current/1220:0 *:0 q=768/0`,
			`3 s0 p_raw CLOSE *:ens33:0 *:0 q=0/0`,
			`4 s0 unix ESTABLISHED *:0 *:0 q=0/0 ino=22630 info=type=stream`,
			`5 s0 unix CLOSE /run/systemd/notify:0 *:0 q=0/0 ino=8971 info=type=dgram`,
			`6 s0 udp CLOSE 127.0.0.53%lo:53(domain) 0.0.0.0:* q=0/0`,
			`7 s0 icmp6 CLOSE *%ens33:0(ipv6-icmp) *:* q=0/0`,
			`8 s0 tcp LISTEN *:22(ssh) *:* q=0/128`,
		},
	},
	{
		name: "a repeated header starts a new snapshot",
		in: "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" +
			"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n" +
			"State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" +
			"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n" +
			"CLOSE-WAIT 1 0 10.0.0.1:22 10.0.0.3:5000\n",
		want: []string{
			`snapshot 1 ss n=1 filtered=false cmd=""`,
			`snapshot 3 ss n=2 filtered=false cmd=""`,
			`2 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5000 q=0/0`,
			`4 s1 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5000 q=0/0`,
			`5 s1 tcp CLOSE_WAIT 10.0.0.1:22 10.0.0.3:5000 q=1/0`,
		},
	},
	{
		name: "bad lines are reported and skipped",
		in: "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" +
			"ESTAB x 0 10.0.0.1:22 10.0.0.2:5000\n" +
			"WAITING 0 0 10.0.0.1:22 10.0.0.2:5001\n" +
			"ESTAB 0 0 10.0.0.1 10.0.0.2:5002\n" +
			"ESTAB 0 0 10.0.0.1:22\n" +
			"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5003 users:((\"a\",pid=1,fd=3) timer:(keepalive,soon,0) ino:x\n" +
			"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5004\n",
		want: []string{
			`snapshot 1 ss n=3 filtered=false cmd=""`,
			`3 s0 tcp UNKNOWN 10.0.0.1:22 10.0.0.2:5001 q=0/0`,
			// the unclosed users:( swallows the rest of the line
			`6 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5003 q=0/0 owners=a/1/3`,
			`7 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5004 q=0/0`,
		},
		errs: []string{
			`2: bad queue sizes "x" "0"`,
			`3: unknown socket state "WAITING"`,
			`4: bad local address "10.0.0.1"`,
			`5: missing peer address`,
			`6: bad users field "users:((\"a\",pid=1,fd=3) timer:(keepalive,soon,0) ino:x"`,
		},
	},
	{
		name: "stderr noise and continuation before any socket",
		in: "RTNETLINK answers: Invalid argument\n" +
			"\t cubic rto:204\n" +
			"State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" +
			"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000 timer:(on,soon,0)\n",
		want: []string{
			`snapshot 3 ss n=1 filtered=false cmd=""`,
			`4 s0 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5000 q=0/0 timer=on/0s/0`,
		},
		errs: []string{
			`2: continuation line before any socket`,
			`4: bad timer "timer:(on,soon,0)"`,
		},
	},
}

func TestParseSS(t *testing.T) { runSockTests(t, ssParser, ssTests) }

func TestDetectSS(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{"State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n", true},
		{"Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess   \n", true},
		{"Recv-Q Send-Q Local Address:Port Peer Address:Port\n", true},
		{"RTNETLINK answers: Invalid argument\nState Recv-Q Send-Q Local Address:Port Peer Address:Port\n", true},
		{"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n", true},
		{"tcp ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n", true},
		{"tcp 0 0 10.0.0.1:22 10.0.0.2:5000 ESTABLISHED\n", false}, // netstat
		{"State of the union\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := detectSS([]byte(tt.head)); got != tt.want {
			t.Errorf("detectSS(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func FuzzParseSS(f *testing.F) {
	var seeds []string
	for _, tt := range ssTests {
		seeds = append(seeds, tt.in)
	}
	for _, name := range []string{"ss-tanpoe.txt", "ss-tanpi.txt", "ss-state-time-wait.txt"} {
		seeds = append(seeds, socketSample(f, name))
	}
	fuzzSocketParser(f, ssParser, seeds)
}

// ssDump generates an `ss -tanpoe` dump of n sockets line by line, as a
// reader, written out without ever holding the text.
type ssDump struct {
	n, i int
	buf  []byte
	off  int
}

var ssDumpStates = []string{"ESTAB", "ESTAB", "ESTAB", "TIME-WAIT", "CLOSE-WAIT", "LISTEN", "SYN-RECV", "FIN-WAIT-2"}

func (d *ssDump) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if d.off == len(d.buf) {
			if d.i > d.n {
				break
			}
			d.buf, d.off = d.buf[:0], 0
			for len(d.buf) < 32<<10 && d.i <= d.n { // a batch of lines
				if d.i == 0 {
					d.buf = append(d.buf, "State      Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process\n"...)
				} else {
					d.buf = ssDumpLine(d.buf, d.i)
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

// ssDumpLine appends the i-th socket row, built without fmt so that the
// generator costs little next to the parser.
func ssDumpLine(b []byte, i int) []byte {
	st := ssDumpStates[i%len(ssDumpStates)]
	b = append(b, st...)
	b = append(b, "           "[:11-len(st)]...)
	num := func(v int) { b = appendDec(b, v) }
	peer := func() {
		b = append(b, "10."...)
		num(i >> 16 & 255)
		b = append(b, '.')
		num(i >> 8 & 255)
		b = append(b, '.')
		num(i & 255)
		b = append(b, ':')
		num(1024 + i%60000)
	}
	switch st {
	case "TIME-WAIT", "FIN-WAIT-2":
		b = append(b, "0      0           10.171.20.131:"...)
		num(32768 + i%28000)
		b = append(b, "   "...)
		peer()
		b = append(b, " timer:(timewait,"...)
		num(i % 60)
		b = append(b, "sec,0) ino:0 sk:"...)
		b = strconv.AppendInt(b, int64(i), 16)
	case "LISTEN":
		b = append(b, "0      128         10.171.20.131:"...)
		num(8000 + i%100)
		b = append(b, "   0.0.0.0:* users:((\"nginx\",pid="...)
		num(1000 + i%50)
		b = append(b, ",fd="...)
		num(6 + i%10)
		b = append(b, ")) uid:33 ino:"...)
		num(100000 + i)
		b = append(b, " sk:"...)
		b = strconv.AppendInt(b, int64(i), 16)
		b = append(b, " cgroup:/system.slice/nginx.service <->"...)
	default:
		num(i % 3)
		b = append(b, "      0           10.171.20.131:9455  "...)
		peer()
		b = append(b, " users:((\"python\",pid="...)
		num(28000 + i%16)
		b = append(b, ",fd="...)
		num(5 + i%60000)
		b = append(b, ")) timer:(keepalive,"...)
		num(1 + i%120)
		b = append(b, "min,0) uid:1000 ino:"...)
		num(200000000 + i)
		b = append(b, " sk:"...)
		b = strconv.AppendInt(b, int64(i), 16)
		b = append(b, " cgroup:/system.slice/app.service <->"...)
	}
	return append(b, '\n')
}

// BenchmarkParseSS parses a generated 1,000,000-socket `ss -tanpoe` dump
// from a file and reports lines per second.
func BenchmarkParseSS(b *testing.B) {
	const sockets = 1_000_000
	benchTable(b, ssParser, sockets+1, &ssDump{n: sockets}, func(in *Input) {
		if len(in.Out.Sockets) != sockets {
			errs, _ := in.Errors()
			b.Fatalf("parsed %d sockets, want %d (%v)", len(in.Out.Sockets), sockets, errs)
		}
	})
}

// TestSSDumpParses checks the benchmark's generated lines are real-looking
// enough to parse without errors, on a small dump.
func TestSSDumpParses(t *testing.T) {
	in := NewInput("ss.txt")
	RunParser(ssParser, in, &ssDump{n: 1000})
	if errs := errorStrings(in); len(errs) > 0 || len(in.Out.Sockets) != 1000 {
		t.Fatalf("%d sockets, errors: %v", len(in.Out.Sockets), errs)
	}
}

// TestSSTokens checks the one-pass tokenizer of ss's extra fields against
// the obvious definition: cut at blanks, then glue pieces back until the
// quotes and parentheses balance.
func TestSSTokens(t *testing.T) {
	balanced := func(tok []byte) bool {
		depth, quoted := 0, false
		for _, c := range tok {
			switch {
			case quoted:
				quoted = c != '"'
			case c == '"':
				quoted = true
			case c == '(':
				depth++
			case c == ')' && depth > 0:
				depth--
			}
		}
		return depth == 0 && !quoted
	}
	pieceEnd := func(b []byte) int {
		if i := bytes.IndexAny(b, " \t"); i >= 0 {
			return i
		}
		return len(b)
	}
	want := func(b []byte) (toks []string) {
		pos := 0
		for {
			for pos < len(b) && isSpace(b[pos]) {
				pos++
			}
			if pos >= len(b) {
				return toks
			}
			start := pos
			pos += pieceEnd(b[pos:])
			for pos < len(b) && !balanced(b[start:pos]) {
				pos++
				pos += pieceEnd(b[pos:])
			}
			tok := b[start:pos]
			toks = append(toks, fmt.Sprintf("%s|%d", tok, bytes.IndexByte(tok, ':')))
		}
	}
	got := func(b []byte) (toks []string) {
		pos := 0
		for {
			start, colon, end := nextSSToken(b, pos)
			if start == end {
				return toks
			}
			k := -1
			if colon >= 0 {
				k = colon - start
			}
			toks = append(toks, fmt.Sprintf("%s|%d", b[start:end], k))
			pos = end
		}
	}
	cases := []string{
		`users:(("Web Content",pid=77,fd=41)) timer:(on,1.2ms,3) uid:1000 ino:5 sk:9 <->`,
		`skmem:(r0,rb131072,t0,tb87040,f0,w0,o0,bl0,d0) cubic wscale:7,7 rto:204`,
		"a\t(b c)d  \"x y\" e:\"f:g\" ) ((",
		`bbr:(bw:1Mbps,mrtt:0.1) "unclosed quote`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = " \t\r()\":ab"
	for range 20000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if g, w := got([]byte(c)), want([]byte(c)); !slices.Equal(g, w) {
			t.Fatalf("%q: tokens %q, want %q", c, g, w)
		}
	}
}
