package analyzers

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestSYNFlood(t *testing.T) {
	cases := []struct {
		name     string
		build    func(b *kb)
		want     map[string]Severity
		summary  string
		ruledOut string
	}{
		{
			name: "kernel line, cookies sent",
			build: func(b *kb) {
				b.log("dmesg.txt", "syn-flood", "[ 1234.5] TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.", kbT0, 1)
			},
			want:    map[string]Severity{"syn-flood": Medium},
			summary: "on port 8080",
		},
		{
			name: "kernel line, dropping requests",
			build: func(b *kb) {
				b.ev.Logs = append(b.ev.Logs, event.LogEvent{Meta: b.meta("dmesg.txt", kbT0), Signature: "syn-flood", Count: 3,
					Text:   "TCP: request_sock_TCP: Possible SYN flooding on port 80. Dropping request.  Check SNMP counters.",
					Fields: map[string]string{"port": "80", "action": "Dropping request"}})
			},
			want:    map[string]Severity{"syn-flood": High},
			summary: "SYNs are being dropped",
		},
		{
			name: "counters only: TCPReqQFullDrop rises",
			build: func(b *kb) {
				b.counters("n1", "nstat", kbT0, map[string]int64{"TcpExt TCPReqQFullDrop": 5, "TcpExt TCPReqQFullDoCookies": 0})
				b.counters("n2", "nstat", kbT0.Add(10*time.Second), map[string]int64{"TcpExt TCPReqQFullDrop": 905, "TcpExt TCPReqQFullDoCookies": 0})
			},
			want:    map[string]Severity{"syn-flood": High},
			summary: "TCPReqQFullDrop rose by 900",
		},
		{
			name: "SYN_RECV pile at the listener's backlog, many sources in the capture",
			build: func(b *kb) {
				s := b.snap("ss.txt", "ss", kbT0)
				b.socks(s, 1, event.StateListen, 0, 128, "*:80", "*:*")
				for i := 0; i < 128; i++ {
					b.socks(s, 1, event.StateSynRecv, 0, 0, "10.0.0.5:80", "198.51.100."+strconv.Itoa(i%250+1)+":4000")
				}
				for i := 0; i < 150; i++ {
					b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: 1 + 2*i}, Host: "server"},
						Src: kbEndpoint("203.0.113." + strconv.Itoa(i%250+1) + ":5555"), Dst: kbEndpoint("10.0.0.5:80"), Initiated: true, SynAck: true})
				}
			},
			want:    map[string]Severity{"syn-flood": Medium},
			summary: "128 SYN_RECV sockets on port 80 (backlog 128, the listener's Send-Q)",
		},
		{
			name: "corpus shape: one SYN_RECV in netstat is normal",
			build: func(b *kb) {
				s := b.snap("netstat.txt", "netstat", kbT0)
				b.socks(s, 1, event.StateListen, 0, 0, "0.0.0.0:5672", "0.0.0.0:*")
				b.socks(s, 1, event.StateSynRecv, 0, 0, "10.24.1.245:80", "10.24.36.145:32790")
			},
			ruledOut: "at most 1 SYN_RECV sockets on port 80 (backlog unknown)",
		},
		{
			name: "healthy: cookie counters flat",
			build: func(b *kb) {
				b.counters("n1", "nstat", kbT0, map[string]int64{"TcpExt SyncookiesSent": 7})
				b.counters("n2", "nstat", kbT0.Add(10*time.Second), map[string]int64{"TcpExt SyncookiesSent": 7})
			},
			ruledOut: "TcpExt SyncookiesSent unchanged at 7",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			c.build(b)
			res, above := b.run(t)
			kbCheck(t, above, c.want)
			if c.want == nil {
				if got := kbRuledOut(res, "syn-flood"); !strings.Contains(got, c.ruledOut) {
					t.Errorf("rule-out %q does not say %q", got, c.ruledOut)
				}
				return
			}
			f := above["syn-flood"]
			if !strings.Contains(f.Summary, c.summary) {
				t.Errorf("summary %q does not say %q", f.Summary, c.summary)
			}
			if len(b.ev.Flows) > 0 {
				var said bool
				for _, e := range f.Evidence {
					said = said || strings.Contains(e.Note, "150 half-open connection(s) (SYN answered, no ACK) from 150 source address(es), from many sources")
				}
				if !said {
					t.Errorf("capture evidence does not count the sources: %+v", f.Evidence)
				}
			}
		})
	}
}

// A stalled accept queue fills the SYN queue too: the SYN flood message is
// then its consequence (info, linked), unless the SYNs look like a flood.
func TestSYNFloodBehindAcceptQueue(t *testing.T) {
	for _, c := range []struct {
		name    string
		sources int
		sev     Severity
	}{{"the usual clients: a consequence", 1, Info}, {"many sources: a flood as well", 150, Medium}} {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("server")
			b.log("dmesg.txt", "syn-flood", "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.", kbT0, 1)
			s := b.snap("ss.txt", "ss", kbT0)
			b.socks(s, 1, event.StateListen, 9, 8, "0.0.0.0:8080", "0.0.0.0:*")
			for i := 0; i < 150; i++ {
				b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Ref: event.Ref{File: "cap.pcap", Frame: 1 + 2*i}, Host: "server"},
					Src: kbEndpoint("203.0.113." + strconv.Itoa(i%c.sources+1) + ":5555"), Dst: kbEndpoint("10.0.0.5:8080"), Initiated: true, SynAck: true})
			}
			res, above := b.run(t)
			want := map[string]Severity{"accept-queue-overflow": Medium}
			if c.sev > Info {
				want["syn-flood"] = c.sev
			}
			kbCheck(t, above, want)
			var f *Finding
			for i := range res.Findings {
				if res.Findings[i].ID == "syn-flood" {
					f = &res.Findings[i]
				}
			}
			if f == nil || f.Severity != c.sev || f.RootCause || strings.Join(f.CausedBy, ",") != "accept-queue-overflow" {
				t.Fatalf("syn-flood = %+v, want %s caused by accept-queue-overflow", f, c.sev)
			}
			if c.sev == Info && !strings.Contains(f.Summary, "not a flood") {
				t.Errorf("summary %q", f.Summary)
			}
		})
	}
}

// The kernel log is shared by the namespaces of one kernel: a line that
// names a port this host does not listen on is not this host's.
func TestSYNFloodForeignLine(t *testing.T) {
	b := newKB("client")
	b.log("dmesg.txt", "syn-flood", "[ 1490.433067] TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.", kbT0, 1)
	s := b.snap("ss.txt", "ss", kbT0)
	b.ev.Snapshots[s].Command = "ss -tanpoei"
	b.socks(s, 1, event.StateTimeWait, 0, 0, "10.200.2.70:38362", "10.200.1.10:8080")
	res, above := b.run(t)
	kbCheck(t, above, nil)
	if got := kbRuledOut(res, "syn-flood"); !strings.Contains(got, "port 8080, where this host has no listener") {
		t.Errorf("rule-out %q", got)
	}
	// Without -a the table does not list listeners: the line stands.
	b.ev.Snapshots[s].Command = "ss -tnpoei"
	_, above = b.run(t)
	kbCheck(t, above, map[string]Severity{"syn-flood": Medium})
}

// A SYN flood on another port than the full accept queue is not its
// symptom.
func TestSYNFloodOtherPortUnlinked(t *testing.T) {
	b := newKB("server")
	b.log("dmesg.txt", "syn-flood", "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.", kbT0, 1)
	s := b.snap("ss.txt", "ss", kbT0)
	b.socks(s, 1, event.StateListen, 129, 128, "*:8080", "*:*")
	_, above := b.run(t)
	kbCheck(t, above, map[string]Severity{"syn-flood": Medium, "accept-queue-overflow": Medium})
	if f := above["syn-flood"]; !f.RootCause || len(f.CausedBy) != 0 {
		t.Errorf("syn-flood on 443 root %v caused by %v, want an unlinked root", f.RootCause, f.CausedBy)
	}
}
