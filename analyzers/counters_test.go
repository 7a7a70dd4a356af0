package analyzers

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// kb builds a small synthetic bundle for the kernel-side analyzers: every
// record gets the next line of its file, so refs are distinct and ordered.
type kb struct {
	ev    event.Evidence
	host  string
	lines map[string]int
}

var kbT0 = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

func newKB(host string) *kb { return &kb{host: host, lines: map[string]int{}} }

func (b *kb) meta(file string, at time.Time) event.Meta {
	b.lines[file]++
	return event.Meta{Ref: event.Ref{File: file, Line: b.lines[file]}, Time: at, Host: b.host}
}

// counters adds one counter set: name is "Group Name" (MIB) or a sockstat
// group with its name ("sockstat TCP tw").
func (b *kb) counters(file, source string, at time.Time, kv map[string]int64) {
	set := b.ev.AddCounterSet(event.CounterSet{Meta: b.meta(file, at), Source: source})
	b.lines[file] = 0
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := strings.LastIndex(k, " ")
		group, name := k[:i], k[i+1:]
		cum := !strings.HasPrefix(group, "sockstat") && group != "file-nr" && group != "ss-s"
		if source == "nstat-delta" {
			cum = false
			b.ev.CounterSets[set].Source = "nstat"
		}
		b.ev.Counters = append(b.ev.Counters, event.Counter{Meta: b.meta(file, at), Group: group, Name: name,
			Value: kv[k], Cumulative: cum, Snapshot: set})
	}
}

func (b *kb) sysctl(key, value string) {
	b.ev.Sysctls = append(b.ev.Sysctls, event.Sysctl{Meta: b.meta("sysctl.txt", time.Time{}), Key: key, Value: value,
		Text: key + " = " + value})
}

func (b *kb) log(file, sig, text string, at time.Time, count int) {
	b.ev.Logs = append(b.ev.Logs, event.LogEvent{Meta: b.meta(file, at), Source: "syslog", Signature: sig, Text: text, Count: count})
}

func (b *kb) snap(file, source string, at time.Time) int {
	b.lines[file] = 0
	return b.ev.AddSnapshot(event.Snapshot{Meta: b.meta(file, at), Source: source})
}

func kbEndpoint(s string) event.Endpoint {
	if h, ok := strings.CutSuffix(s, ":*"); ok {
		a, _ := netip.ParseAddr(strings.Trim(h, "[]"))
		return event.Endpoint{Addr: a, Host: h, Wildcard: true}
	}
	if port, ok := strings.CutPrefix(s, "*:"); ok {
		n, _ := strconv.Atoi(port)
		return event.Endpoint{Host: "*", Port: uint16(n)}
	}
	ap := netip.MustParseAddrPort(s)
	return event.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

// socks adds n sockets of one state from local to remote; a remote port
// of 0 gives each socket its own local port from base upwards.
func (b *kb) socks(snap int, n int, state event.State, recvQ, sendQ int64, local, remote string) {
	file := b.ev.Snapshots[snap].Ref.File
	at := b.ev.Snapshots[snap].Time
	for i := 0; i < n; i++ {
		l := kbEndpoint(local)
		if n > 1 && !l.Wildcard {
			l.Port += uint16(i)
		}
		b.ev.Sockets = append(b.ev.Sockets, event.Socket{Meta: b.meta(file, at), Snapshot: snap, Proto: "tcp",
			State: state, Local: l, Remote: kbEndpoint(remote), RecvQ: recvQ, SendQ: sendQ, UID: -1})
	}
	b.ev.Snapshots[snap].Sockets += n
}

// run runs the whole suite and returns the findings above info by id.
func (b *kb) run(t *testing.T) (Result, map[string]Finding) {
	t.Helper()
	res := Run(Suite, &b.ev, nil)
	for _, e := range res.Errors {
		t.Errorf("analyzer failed: %s", e)
	}
	above := map[string]Finding{}
	for _, f := range res.Findings {
		if f.Severity > Info {
			above[f.ID] = f
		}
	}
	return res, above
}

func kbRuledOut(res Result, id string) string {
	var out []string
	for _, r := range res.RuledOut {
		if r.ID == id {
			out = append(out, r.Reason)
		}
	}
	return strings.Join(out, "\n")
}

// kbCheck asserts the findings above info are exactly want (id →
// severity, "" for any), and that every evidence entry has a place.
func kbCheck(t *testing.T, above map[string]Finding, want map[string]Severity) {
	t.Helper()
	for id, f := range above {
		sev, ok := want[id]
		if !ok {
			t.Errorf("unexpected finding %s (%s): %s", id, f.Severity, f.Summary)
			continue
		}
		if sev != Info && f.Severity != sev {
			t.Errorf("%s: severity %s, want %s (%s)", id, f.Severity, sev, f.Summary)
		}
		for _, e := range f.Evidence {
			if e.Ref.File == "" || (e.Ref.Line == 0 && e.Ref.Frame == 0) {
				t.Errorf("%s: evidence without a line or frame: %+v", id, e)
			}
		}
	}
	for id := range want {
		if _, ok := above[id]; !ok {
			t.Errorf("missing finding %s", id)
		}
	}
}

func TestMibKey(t *testing.T) {
	for _, c := range []struct{ group, name, want string }{
		{"TcpExt", "ListenOverflows", "TcpExt ListenOverflows"},
		{"", "TcpExtListenOverflows", "TcpExt ListenOverflows"},
		{"", "TcpActiveOpens", "Tcp ActiveOpens"},
		{"Tcp6", "ActiveOpens", "Tcp ActiveOpens"},
		{"", "Ip6InReceives", "Ip6 InReceives"},
		{"", "Tcpfoo", " Tcpfoo"}, // no capital after the group: not a split
		{"sockstat TCP", "tw", "sockstat TCP tw"},
	} {
		if got := mibKey(c.group, c.name); got != c.want {
			t.Errorf("mibKey(%q, %q) = %q, want %q", c.group, c.name, got, c.want)
		}
	}
}

func TestCounterDeltas(t *testing.T) {
	const key = "TcpExt ListenOverflows"
	cases := []struct {
		name      string
		build     func(b *kb)
		wantSrc   string
		wantDelta int64
		wantSpan  time.Duration
		resets    int
		increment bool
		none      bool
	}{
		{
			name: "rise over three sets",
			build: func(b *kb) {
				for i, v := range []int64{100, 130, 190} {
					b.counters("netstat.txt", "proc-net-netstat", kbT0.Add(time.Duration(i)*10*time.Second), map[string]int64{key: v})
				}
			},
			wantSrc: "proc-net-netstat", wantDelta: 90, wantSpan: 20 * time.Second,
		},
		{
			name: "ordered by time, not by file",
			build: func(b *kb) {
				b.counters("a.txt", "nstat", kbT0.Add(10*time.Second), map[string]int64{key: 50})
				b.counters("b.txt", "nstat", kbT0, map[string]int64{key: 20})
			},
			wantSrc: "nstat", wantDelta: 30, wantSpan: 10 * time.Second,
		},
		{
			name: "ordered by file when times are unknown",
			build: func(b *kb) {
				b.counters("netstat-s.1.txt", "netstat-s", time.Time{}, map[string]int64{key: 7})
				b.counters("netstat-s.2.txt", "netstat-s", time.Time{}, map[string]int64{key: 9})
			},
			wantSrc: "netstat-s", wantDelta: 2,
		},
		{
			name: "a reset is not a rise",
			build: func(b *kb) {
				for i, v := range []int64{500, 10, 40} {
					b.counters("n.txt", "nstat", kbT0.Add(time.Duration(i)*10*time.Second), map[string]int64{key: v})
				}
			},
			wantSrc: "nstat", wantDelta: 30, wantSpan: 10 * time.Second, resets: 1,
		},
		{
			name: "another counter going down marks the pair: not the same machine's sets",
			build: func(b *kb) {
				b.counters("a/netstat", "proc-net-netstat", time.Time{}, map[string]int64{key: 10, "TcpExt EmbryonicRsts": 1})
				b.counters("b/netstat", "proc-net-netstat", time.Time{}, map[string]int64{key: 13, "TcpExt EmbryonicRsts": 0})
			},
			wantSrc: "proc-net-netstat", wantDelta: 0, resets: 1,
		},
		{
			name: "flat counter",
			build: func(b *kb) {
				b.counters("1.txt", "nstat", kbT0, map[string]int64{key: 351})
				b.counters("2.txt", "nstat", kbT0.Add(5*time.Second), map[string]int64{key: 351})
			},
			wantSrc: "nstat", wantDelta: 0, wantSpan: 5 * time.Second,
		},
		{
			name: "one set is no delta",
			build: func(b *kb) {
				b.counters("1.txt", "nstat", kbT0, map[string]int64{key: 351})
			},
			none: true,
		},
		{
			name: "sets of different sources are never compared",
			build: func(b *kb) {
				b.counters("1.txt", "nstat", kbT0, map[string]int64{key: 1})
				b.counters("2.txt", "netstat-s", kbT0.Add(5*time.Second), map[string]int64{key: 900})
			},
			none: true,
		},
		{
			name: "nstat without -a prints increments",
			build: func(b *kb) {
				b.counters("nstat.txt", "nstat-delta", kbT0, map[string]int64{key: 12})
			},
			wantSrc: "nstat", wantDelta: 12, increment: true,
		},
		{
			name: "the larger rise wins between sources",
			build: func(b *kb) {
				b.counters("n1", "nstat", kbT0, map[string]int64{key: 1})
				b.counters("n2", "nstat", kbT0.Add(time.Second), map[string]int64{key: 2})
				b.counters("p1", "proc-net-netstat", kbT0, map[string]int64{key: 1})
				b.counters("p2", "proc-net-netstat", kbT0.Add(time.Second), map[string]int64{key: 5})
			},
			wantSrc: "proc-net-netstat", wantDelta: 4, wantSpan: time.Second,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newKB("h")
			c.build(b)
			d, ok := bestDelta(&b.ev, "h", key)
			if c.none {
				if ok {
					t.Fatalf("got a delta %+v, want none", d)
				}
				return
			}
			if !ok {
				t.Fatal("no delta")
			}
			if d.Source != c.wantSrc || d.Delta != c.wantDelta || d.Span != c.wantSpan || len(d.Resets) != c.resets || d.Increment != c.increment {
				t.Errorf("got source %s delta %d span %s resets %d increment %v; want %s %d %s %d %v",
					d.Source, d.Delta, d.Span, len(d.Resets), d.Increment, c.wantSrc, c.wantDelta, c.wantSpan, c.resets, c.increment)
			}
			if c.resets > 0 && resetNote(d) == "" {
				t.Error("a reset must be said")
			}
		})
	}
}

func TestCounterText(t *testing.T) {
	b := newKB("h")
	b.counters("nstat.txt", "nstat", kbT0, map[string]int64{"TcpExt ListenOverflows": 351})
	b.counters("netstat.txt", "proc-net-netstat", kbT0, map[string]int64{"TcpExt ListenOverflows": 351})
	b.counters("sockstat.txt", "sockstat", kbT0, map[string]int64{"sockstat TCP tw": 13})
	b.counters("netstat-s.txt", "netstat-s", kbT0, map[string]int64{"TcpExt ListenOverflows": 351})
	lines := []string{
		"TcpExtListenOverflows           351                0.0",
		"TcpExt: 0 0 0 351 0",
		"TCP: inuse 5 orphan 0 tw 13 alloc 230 mem 102",
		"    351 times the listen queue of a socket overflowed",
	}
	for i, c := range b.ev.Counters {
		got := counterText(&b.ev, c)
		for _, tok := range strings.Fields(got) {
			if !strings.Contains(lines[i], tok) {
				t.Errorf("%s: token %q of %q is not in %q", counterSource(&b.ev, c), tok, got, lines[i])
			}
		}
	}
}

func TestCiteSocketProc(t *testing.T) {
	// A TIME_WAIT row of /proc/net/tcp and one of /proc/net/tcp6.
	s4 := event.Socket{State: event.StateTimeWait, Local: kbEndpoint("10.0.0.121:35100"), Remote: kbEndpoint("10.0.0.119:3306")}
	line4 := "   8: 7900000A:891C 7700000A:0CEA 06 00000000:00000000 03:0000040C 00000000     0        0 0 3 0000000000000000"
	s6 := event.Socket{State: event.StateListen, Local: kbEndpoint("[::1]:8080"), Remote: event.Endpoint{Addr: netip.IPv6Unspecified()}}
	line6 := "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 232083 1"
	for _, c := range []struct {
		s    event.Socket
		line string
	}{{s4, line4}, {s6, line6}} {
		got := citeSocket(c.s, "proc-net-tcp")
		for _, tok := range strings.Fields(got) {
			if !strings.Contains(c.line, tok) {
				t.Errorf("token %q of %q is not in %q", tok, got, c.line)
			}
		}
	}
}

func TestDedupKernelLogs(t *testing.T) {
	b := newKB("h")
	line := "TCP: time wait bucket table overflow"
	// The same three messages in dmesg, dmesg -T and the journal, one of
	// them standing for 29 suppressed ones.
	for _, f := range []string{"dmesg.txt", "dmesg-T.txt", "journalctl-k.txt"} {
		b.log(f, "tw-bucket-overflow", line, kbT0, 1)
		b.log(f, "tw-bucket-overflow", line, kbT0.Add(time.Second), 30)
		b.log(f, "tw-bucket-overflow", line, kbT0.Add(2*time.Second), 1)
	}
	// A rotated log from the day before adds its own.
	b.log("messages.1", "tw-bucket-overflow", line, kbT0.Add(-24*time.Hour), 1)
	// Application lines are never copies.
	b.log("app.log", "tw-bucket-overflow", line, kbT0, 1)
	b.ev.Logs[len(b.ev.Logs)-1].Source = "app"
	for i := range b.ev.Logs[:len(b.ev.Logs)-1] {
		b.ev.Logs[i].Source = "dmesg"
	}
	got := sigLogs(&b.ev, "h", "tw-bucket-overflow")
	if n := countLogs(got); n != 32+1+1 {
		t.Errorf("counted %d overflows, want 34 (32 in one ring copy, 1 rotated, 1 app line)", n)
	}
	if got[0].Ref.File != "messages.1" {
		t.Errorf("not in time order: first is %s", got[0].Ref)
	}
}

// Odd but possible evidence never makes a kernel-side analyzer fail.
func TestKernelAnalyzersOddEvidence(t *testing.T) {
	b := newKB("h")
	for _, kv := range [][2]string{
		{"net.ipv4.tcp_max_tw_buckets", "0"}, {"net.ipv4.tcp_mem", "1 2"}, {"net.ipv4.ip_local_port_range", "60999 32768"},
		{"net.netfilter.nf_conntrack_max", "-1"}, {"net.netfilter.nf_conntrack_count", "abc"}, {"net.ipv4.tcp_max_orphans", ""},
		{"fs.file-nr", "1 2"}, {"net.core.somaxconn", "0"},
	} {
		b.sysctl(kv[0], kv[1])
	}
	b.counters("s", "sockstat", time.Time{}, map[string]int64{"sockstat TCP tw": -5, "sockstat TCP orphan": -1, "sockstat TCP mem": 1 << 62})
	b.counters("n1", "nstat", time.Time{}, map[string]int64{"TcpExt ListenOverflows": 1 << 62, "TcpExt TCPTimeWaitOverflow": 0})
	b.counters("n2", "nstat", time.Time{}, map[string]int64{"TcpExt ListenOverflows": -3, "TcpExt TCPTimeWaitOverflow": 5})
	b.counters("f", "file-nr", time.Time{}, map[string]int64{"file-nr allocated": 10, "file-nr max": 0})
	s := b.snap("ss.txt", "ss", time.Time{})
	b.ev.Sockets = append(b.ev.Sockets,
		event.Socket{Meta: b.meta("ss.txt", time.Time{}), Snapshot: s, State: event.StateListen, RecvQ: 5, SendQ: 0},
		event.Socket{Meta: b.meta("ss.txt", time.Time{}), Snapshot: s, State: event.StateSynRecv},
		event.Socket{Meta: b.meta("ss.txt", time.Time{}), Snapshot: s, State: event.StateTimeWait, Proto: "tcp6"})
	b.ev.Snapshots = append(b.ev.Snapshots, event.Snapshot{Meta: event.Meta{Host: "h"}, Source: "proc-net-tcp"})
	b.ev.Flows = append(b.ev.Flows, event.Flow{Meta: event.Meta{Host: "h"}, FinSrc: 3, FinDst: 3, SynAckRetx: 1, Initiated: true, SynAck: true})
	b.log("d", "syn-flood", "Possible SYN flooding on port ", time.Time{}, 0)
	b.log("d", "tw-bucket-overflow", "", time.Time{}, -4)
	res := Run(Suite, &b.ev, nil)
	for _, e := range res.Errors {
		t.Error(e)
	}
}
