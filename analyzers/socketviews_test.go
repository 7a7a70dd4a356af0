package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// appBundle builds small synthetic evidence for the application-side
// analyzers' tests: socket snapshots as ss or lsof would have parsed them,
// processes, limits and log lines, each with a file:line Ref.
type appBundle struct {
	ev   event.Evidence
	host string
	line map[string]int
}

func newAppBundle(host string) *appBundle {
	return &appBundle{host: host, line: map[string]int{}}
}

func (b *appBundle) meta(file string, at time.Time) event.Meta {
	b.line[file]++
	return event.Meta{Ref: event.Ref{File: file, Line: b.line[file]}, Time: at, Host: b.host}
}

// snap opens a snapshot of source (ss, netstat, lsof) taken at at.
func (b *appBundle) snap(file, source, cmd string, at time.Time) int {
	return b.ev.AddSnapshot(event.Snapshot{Meta: b.meta(file, at), Source: source, Command: cmd})
}

func abEndpoint(s string) event.Endpoint {
	if s == "*:*" {
		return event.Endpoint{Wildcard: true}
	}
	if strings.HasPrefix(s, "*:") {
		ap := netip.MustParseAddrPort("0.0.0.0" + s[1:])
		return event.Endpoint{Port: ap.Port()}
	}
	ap := netip.MustParseAddrPort(s)
	return event.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

// abSockOpt adjusts a socket built by add.
type abSockOpt func(*event.Socket)

func abOwner(name string, pid, fd int) abSockOpt {
	return func(s *event.Socket) {
		s.Owners = append(s.Owners, event.Owner{Name: name, PID: pid, FD: fd})
		s.Inode = uint64(1000 + fd)
	}
}

func abTimer(name string) abSockOpt {
	return func(s *event.Socket) { s.Timer = &event.Timer{Name: name, Raw: "(" + name + ",1min,0)"} }
}

func abInode(n uint64) abSockOpt { return func(s *event.Socket) { s.Inode = n } }

func abInfo(k, v string) abSockOpt {
	return func(s *event.Socket) {
		if s.Info == nil {
			s.Info = &event.SocketInfo{}
		}
		s.Info.Set(k, v)
	}
}

// add appends one socket to snapshot snap.
func (b *appBundle) add(snap int, state event.State, recvQ, sendQ int64, local, remote string, opts ...abSockOpt) {
	sn := b.ev.Snapshots[snap]
	s := event.Socket{Meta: b.meta(sn.Ref.File, sn.Time), Snapshot: snap, Proto: "tcp", State: state,
		Local: abEndpoint(local), Remote: abEndpoint(remote), RecvQ: recvQ, SendQ: sendQ, UID: -1}
	for _, o := range opts {
		o(&s)
	}
	b.ev.Sockets = append(b.ev.Sockets, s)
	b.ev.Snapshots[snap].Sockets++
}

func (b *appBundle) process(file string, pid int, name string, fds, threads int) {
	b.ev.Processes = append(b.ev.Processes, event.Process{Meta: b.meta(file, time.Time{}), PID: pid, Name: name,
		FDs: fds, FDSize: -1, Threads: threads, Text: fmt.Sprintf("%s pid %d fds %d threads %d", name, pid, fds, threads)})
}

func (b *appBundle) nofile(file string, pid int, soft int64) {
	b.ev.Limits = append(b.ev.Limits, event.Limit{Meta: b.meta(file, time.Time{}), Resource: "nofile", Soft: soft, Hard: soft,
		PID: pid, Scope: "process", Text: "Max open files " + strconv.Itoa(int(soft)) + " " + strconv.Itoa(int(soft)) + " files"})
}

func (b *appBundle) log(file, sig, text string, at time.Time) {
	b.ev.Logs = append(b.ev.Logs, event.LogEvent{Meta: b.meta(file, at), Source: "app", Signature: sig, Text: text, Count: 1})
}

func (b *appBundle) sysctl(file, key, value string) {
	b.ev.Sysctls = append(b.ev.Sysctls, event.Sysctl{Meta: b.meta(file, time.Time{}), Key: key, Value: value, Text: key + " = " + value})
}

// merge adds another host's records.
func (b *appBundle) merge(o *appBundle) { b.ev.Merge(&o.ev) }

// above returns the ids of findings above info, sorted, and the findings
// by id.
func abAbove(res Result) ([]string, map[string]Finding) {
	var ids []string
	by := map[string]Finding{}
	for _, f := range res.Findings {
		by[f.ID] = f
		if f.Severity > Info {
			ids = append(ids, f.ID)
		}
	}
	sort.Strings(ids)
	return ids, by
}

func abRuledOut(res Result, id string) string {
	var rs []string
	for _, r := range res.RuledOut {
		if r.ID == id {
			rs = append(rs, r.Reason)
		}
	}
	return strings.Join(rs, " | ")
}

var abT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMentionsAddr(t *testing.T) {
	a := netip.MustParseAddr("10.200.1.10")
	for _, tc := range []struct {
		text string
		want bool
	}{
		{`Get "http://10.200.1.10:8080/api": context deadline exceeded`, true},
		{`dial tcp 10.200.1.10:8080: i/o timeout`, true},
		{`peer 10.200.1.10.`, true},
		{`dial tcp 10.200.1.100:8080: i/o timeout`, false},
		{`dial tcp 110.200.1.10:8080: i/o timeout`, false},
		{`host 10.200.1.10.5 is another`, false},
		{``, false},
	} {
		if got := mentionsAddr(tc.text, a); got != tc.want {
			t.Errorf("mentionsAddr(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestTimersShown(t *testing.T) {
	for _, tc := range []struct {
		source, cmd string
		timer       bool
		want        bool
	}{
		{"ss", "ss -tanpoe", false, true},
		{"ss", "ss -tanp", false, false},
		{"ss", "ss -tanp", true, true}, // a timer printed proves the column
		{"ss", "ss --options -tan", false, true},
		{"netstat", "netstat -antpo", false, true},
		{"netstat", "netstat -antpe", false, false},
		{"proc-net-tcp", "", false, true},
		{"lsof", "lsof -i -P -n", false, false},
	} {
		snap := event.Snapshot{Source: tc.source, Command: tc.cmd}
		var socks []event.Socket
		if tc.timer {
			socks = append(socks, event.Socket{Timer: &event.Timer{Name: "keepalive"}})
		}
		if got := timersShown(snap, socks); got != tc.want {
			t.Errorf("timersShown(%s %q, timer=%v) = %v, want %v", tc.source, tc.cmd, tc.timer, got, tc.want)
		}
	}
}

func TestHostSockViewPrefersSS(t *testing.T) {
	b := newAppBundle("h")
	l := b.snap("lsof.txt", "lsof", "lsof -p 1", abT0)
	s1 := b.snap("ss.2.txt", "ss", "ss -tanpoe", abT0.Add(time.Minute))
	s0 := b.snap("ss.1.txt", "ss", "ss -tanpoe", abT0)
	b.add(l, event.StateEstablished, 0, 0, "10.0.0.1:80", "10.0.0.2:5000")
	b.add(s0, event.StateEstablished, 0, 0, "10.0.0.1:80", "10.0.0.2:5000")
	b.add(s1, event.StateEstablished, 0, 0, "10.0.0.1:80", "10.0.0.2:5001")
	v := hostSockView(&b.ev, "h")
	if v.Source != "ss" || len(v.Snaps) != 2 || v.Snaps[0].Ref.File != "ss.1.txt" || v.Snaps[1].Ref.File != "ss.2.txt" {
		t.Fatalf("view: source %q, snapshots %v", v.Source, v.Snaps)
	}
}
