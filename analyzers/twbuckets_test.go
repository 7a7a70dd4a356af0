package analyzers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// flows adds n short connections captured on b.host, one every gap,
// closed first by the initiator (clientFirst) or by the server.
func (b *kb) flows(n int, client, server string, gap time.Duration, clientFirst bool) {
	for i := 0; i < n; i++ {
		src := kbEndpoint(client)
		src.Port += uint16(i)
		start := kbT0.Add(time.Duration(i) * gap)
		frame := 1 + 6*i
		fl := event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: frame}, Time: start, Host: b.host},
			Src: src, Dst: kbEndpoint(server), Start: start, End: start.Add(5 * time.Millisecond),
			FirstFrame: frame, LastFrame: frame + 5, Packets: 6, Initiated: true, SynAck: true, Established: true}
		if clientFirst {
			fl.FinSrc, fl.FinDst = frame+3, frame+4
		} else {
			fl.FinDst, fl.FinSrc = frame+3, frame+4
		}
		b.ev.Flows = append(b.ev.Flows, fl)
	}
}

func TestTWBucketOverflow(t *testing.T) {
	overflowLine := "Nov 24 13:45:11 xxxx kernel: TCP: time wait bucket table overflow"
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		conf     Confidence
		sources  []string
		ruledOut string // substring of the rule-out when no finding
	}{
		{
			name: "seed story: kernel lines with ratelimit, table at the cloud default",
			build: func(b *kb) {
				b.log("messages", "tw-bucket-overflow", "Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow", kbT0, 1)
				b.log("messages", "tw-bucket-overflow", overflowLine, kbT0.Add(7*time.Minute), 30)
				b.log("messages", "tw-bucket-overflow", overflowLine, kbT0.Add(7*time.Minute+5*time.Second), 468)
				b.sysctl("net.ipv4.tcp_max_tw_buckets", "5000")
				b.counters("sockstat.txt", "sockstat", kbT0.Add(8*time.Minute), map[string]int64{"sockstat TCP tw": 5000, "sockstat TCP inuse": 900})
			},
			want:    map[string]Severity{"tw-bucket-overflow": High},
			conf:    HighConfidence,
			sources: []string{"kernel log", "TIME_WAIT count vs limit"},
		},
		{
			name: "new kernel: only TCPTimeWaitOverflow rises",
			build: func(b *kb) {
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{"TcpExt TCPTimeWaitOverflow": 120})
				b.counters("nstat.2.txt", "nstat", kbT0.Add(10*time.Second), map[string]int64{"TcpExt TCPTimeWaitOverflow": 2120})
			},
			want:    map[string]Severity{"tw-bucket-overflow": High},
			conf:    MediumConfidence,
			sources: []string{"TcpExt counters"},
		},
		{
			name: "TIME_WAIT at the limit, no line, no counter",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_tw_buckets", "5000")
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 4800, event.StateTimeWait, 0, 0, "10.0.0.5:32768", "10.0.0.9:6379")
			},
			want:    map[string]Severity{"tw-bucket-overflow": Medium},
			conf:    LowConfidence,
			sources: []string{"TIME_WAIT count vs limit"},
		},
		{
			name: "capture: this host closes first fast enough to fill the table",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_tw_buckets", "5000")
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 4900, event.StateTimeWait, 0, 0, "10.0.0.5:6379", "10.0.0.9:0")
				b.socks(s, 1, event.StateListen, 0, 511, "10.0.0.5:6379", "0.0.0.0:*")
				b.flows(300, "10.0.0.9:40000", "10.0.0.5:6379", 10*time.Millisecond, false) // 100/s closed by the server
			},
			want:    map[string]Severity{"tw-bucket-overflow": Medium},
			conf:    MediumConfidence,
			sources: []string{"TIME_WAIT count vs limit", "capture"},
		},
		{
			name: "consequence: a client's reset lines in the window are cited",
			build: func(b *kb) {
				b.log("dmesg", "tw-bucket-overflow", "TCP: time wait bucket table overflow", kbT0, 1)
				c := &kb{ev: event.Evidence{}, host: "client", lines: map[string]int{}}
				c.log("agent.log", "closed-by-server", "2017-11-24 13:46:54,760 - 8 - ERROR: - Error while reading from socket: ('Connection closed by server.',)", kbT0.Add(20*time.Second), 1)
				c.log("agent.log", "closed-by-server", "2017-11-24 15:46:54,760 - 8 - ERROR: - Error while reading from socket: ('Connection closed by server.',)", kbT0.Add(2*time.Hour), 1)
				b.ev.Merge(&c.ev)
			},
			want:    map[string]Severity{"tw-bucket-overflow": High},
			conf:    MediumConfidence,
			sources: []string{"kernel log", "resets seen by peers"},
		},
		{
			name: "healthy: TIME_WAIT-heavy but far under the limit",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_tw_buckets", "262144")
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP tw": 105})
				s := b.snap("tcp.txt", "proc-net-tcp", kbT0)
				b.socks(s, 105, event.StateTimeWait, 0, 0, "10.0.0.121:40000", "10.0.0.119:3306")
			},
			ruledOut: "is 0.0% of net.ipv4.tcp_max_tw_buckets 262144",
		},
		{
			name: "healthy: busy, counter flat across sets",
			build: func(b *kb) {
				b.sysctl("net.ipv4.tcp_max_tw_buckets", "262144")
				b.counters("nstat.1.txt", "nstat", kbT0, map[string]int64{"TcpExt TCPTimeWaitOverflow": 42})
				b.counters("nstat.2.txt", "nstat", kbT0.Add(10*time.Second), map[string]int64{"TcpExt TCPTimeWaitOverflow": 42})
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP tw": 30000})
			},
			ruledOut: "TCPTimeWaitOverflow unchanged at 42 across 2 nstat sets",
		},
		{
			name: "healthy: limit not in bundle, count far below any default",
			build: func(b *kb) {
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP tw": 105})
			},
			ruledOut: "far below any default",
		},
		{
			name: "an absolute counter alone is not an overflow",
			build: func(b *kb) {
				b.counters("nstat.txt", "nstat", kbT0, map[string]int64{"TcpExt TCPTimeWaitOverflow": 123456})
				b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP tw": 50})
			},
			ruledOut: "50 TIME_WAIT sockets",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "tw-bucket-overflow"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			f := above["tw-bucket-overflow"]
			if f.Confidence != c.conf {
				t.Errorf("confidence %s, want %s (sources %v)", f.Confidence, c.conf, f.Sources)
			}
			if fmt.Sprint(f.Sources) != fmt.Sprint(c.sources) {
				t.Errorf("sources %v, want %v", f.Sources, c.sources)
			}
			if !f.RootCause || f.Host != "server" {
				t.Errorf("root %v host %q, want a root cause on server", f.RootCause, f.Host)
			}
			if c.name == "consequence: a client's reset lines in the window are cited" {
				n := 0
				for _, e := range f.Evidence {
					if strings.Contains(e.Note, "(seen on client)") {
						n++
						if !strings.Contains(e.Text, "13:46:54") {
							t.Errorf("cited a line outside the window: %s", e.Text)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d consequence lines cited, want 1", n)
				}
			}
			if len(f.Remediation) == 0 || !strings.Contains(strings.Join(f.Remediation, " "), "tcp_tw_recycle") {
				t.Errorf("remediation must name tcp_max_tw_buckets and warn off tcp_tw_recycle: %v", f.Remediation)
			}
		})
	}
}

func TestTWBucketOverflowDetails(t *testing.T) {
	b := newKB("server")
	b.log("messages", "tw-bucket-overflow", "TCP: time wait bucket table overflow", kbT0, 1)
	b.log("messages", "tw-bucket-overflow", "TCP: time wait bucket table overflow", kbT0.Add(time.Second), 30)
	b.sysctl("net.ipv4.tcp_max_tw_buckets", "5000")
	s := b.snap("ss.txt", "ss", kbT0)
	b.socks(s, 5, event.StateTimeWait, 0, 0, "10.0.0.5:6379", "10.0.0.9:0")
	b.socks(s, 1, event.StateListen, 0, 511, "10.0.0.5:6379", "0.0.0.0:*")
	b.flows(200, "10.0.0.9:40000", "10.0.0.5:6379", 10*time.Millisecond, false)
	_, above := b.run(t)
	f, ok := above["tw-bucket-overflow"]
	if !ok {
		t.Fatal("no finding")
	}
	// 31 overflows: one printed line, and one standing for 29 suppressed ones.
	if !strings.Contains(f.Summary, "31 times (2 printed, 29 suppressed by ratelimit)") {
		t.Errorf("summary does not count suppressed lines: %s", f.Summary)
	}
	if !strings.Contains(f.Summary, "10.0.0.5 (this host) closes first") {
		t.Errorf("summary does not name the active closer: %s", f.Summary)
	}
	var frame bool
	for _, e := range f.Evidence {
		if e.Ref.Frame > 0 && strings.Contains(e.Note, "closed 200 of 200 connections first") {
			frame = true
		}
	}
	if !frame {
		t.Errorf("no capture evidence with the close count: %+v", f.Evidence)
	}
	// The closing rate (about 100/s over 2 s) needs about 6000 TIME_WAIT
	// sockets, so the advice sizes the limit above 262144 only when needed.
	if !strings.Contains(f.Remediation[0], "net.ipv4.tcp_max_tw_buckets=262144") || !strings.Contains(f.Remediation[0], "current 5000") {
		t.Errorf("remediation: %s", f.Remediation[0])
	}
}
