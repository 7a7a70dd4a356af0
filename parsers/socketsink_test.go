package parsers

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// TestSocketSinkRoundTrip checks that what goes into the sink comes out of
// flush unchanged (as JSON sees it, so nil and empty lists stay apart),
// including sockets it cannot pack (a zoned address, another file), and
// that it keeps nothing the caller reuses.
func TestSocketSinkRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 21, 13, 54, 54, 0, time.UTC)
	meta := func(line int) event.Meta {
		return event.Meta{Ref: event.Ref{File: "ss.txt", Line: line}, Time: at, Host: "web1"}
	}
	ep := func(s string) event.Endpoint {
		e, ok := parseEndpoint([]byte(s), &interner{})
		if !ok {
			t.Fatalf("bad endpoint %q", s)
		}
		return e
	}
	zoned := event.Endpoint{Addr: netip.MustParseAddr("fe80::1%eth0"), Port: 22}
	in := []event.Socket{
		{Meta: meta(2), Snapshot: 0, Proto: "tcp", State: event.StateEstablished, Local: ep("10.0.0.1:80"), Remote: ep("10.0.0.2:40000"),
			RecvQ: 1, SendQ: 1 << 40, UID: 1000, Inode: 1 << 33,
			Owners: []event.Owner{{Name: "nginx", PID: 10, FD: 6}, {Name: "nginx", PID: 11, FD: -1}},
			Timer:  &event.Timer{Name: "keepalive", Expires: 115 * time.Minute, Raw: "(keepalive,115min,0)"},
			Info:   event.NewSocketInfo("sk", "3e", "cgroup", "/system.slice/nginx.service")},
		{Meta: meta(3), Snapshot: 1, Proto: "tcp6", State: event.StateListen, Local: ep("[::ffff:10.0.0.1]:443"), Remote: ep("[::]:*"),
			Owners: []event.Owner{}, UID: -1, Info: event.NewSocketInfo()},
		{Meta: meta(4), Proto: "udp", State: "WEIRD", Local: ep("localhost:ssh"), Remote: ep("*:*"), UID: -1,
			Timer: &event.Timer{Name: "keepalive", Expires: 115 * time.Minute, Raw: "(keepalive,115min,0)"}},
		{Meta: meta(5), Proto: "tcp", State: event.StateSynSent, Local: ep("0.0.0.0%eth0:67"), Remote: ep("[fe80::1]%eth0:123"), UID: -1},
		{Meta: meta(6), Proto: "tcp6", State: event.StateEstablished, Local: zoned, Remote: ep("[::1]:22"), UID: -1,
			Owners: []event.Owner{{Name: "sshd", PID: 1, FD: 3}}, Info: event.NewSocketInfo("lsof", "x")},
		{Meta: event.Meta{Ref: event.Ref{File: "other.txt", Line: 7}}, Proto: "tcp", State: event.StateClose, UID: -1},
		{Meta: meta(8), Proto: "unix", State: event.StateUnknown, Local: event.Endpoint{Host: "/run/x.sock"}, Remote: event.Endpoint{Host: "*"}, UID: -1},
	}
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var k socketSink
	owners := make([]event.Owner, 2)
	for _, s := range in {
		// Hand the sink reused owner storage and timer, then spoil them.
		if s.Owners != nil {
			owners = append(owners[:0], s.Owners...)
			s.Owners = owners
		}
		var tm event.Timer
		if s.Timer != nil {
			tm = *s.Timer
			s.Timer = &tm
		}
		k.add(s)
		for i := range owners {
			owners[i] = event.Owner{Name: "spoilt"}
		}
		tm = event.Timer{Name: "spoilt"}
	}
	out := &event.Evidence{}
	k.flush(out)
	got, err := json.Marshal(out.Sockets)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("flushed sockets differ:\n got %s\nwant %s", got, want)
	}
	if out.Sockets[0].Timer != out.Sockets[2].Timer {
		t.Error("equal timers are not shared")
	}
	// An append to one socket's owners must not write over the next's.
	if o := out.Sockets[0].Owners; cap(o) != len(o) {
		t.Errorf("owners of socket 0: len %d, cap %d", len(o), cap(o))
	}
}
