package capture

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// flowView is the part of a Flow the scenario tests state in full.
type flowView struct {
	Src, Dst                       string
	Packets                        int
	Initiated, SynAck, Established bool
	SynRetrans, SynAckRetx         int
	BytesSrc, BytesDst             int64
	FinSrc, FinDst, RstSrc, RstDst int
	Retrans, ZeroWindow, KeepAlive int
	StateSrc, StateDst             event.State
	Anomalies                      []string // kind@frame
	Truncated                      bool
	VLAN                           string
}

func view(f *event.Flow) flowView {
	v := flowView{
		Src: f.Src.String(), Dst: f.Dst.String(), Packets: f.Packets,
		Initiated: f.Initiated, SynAck: f.SynAck, Established: f.Established,
		SynRetrans: f.SynRetrans, SynAckRetx: f.SynAckRetx,
		BytesSrc: f.BytesSrc, BytesDst: f.BytesDst,
		FinSrc: f.FinSrc, FinDst: f.FinDst, RstSrc: f.RstSrc, RstDst: f.RstDst,
		Retrans: f.Retrans, ZeroWindow: f.ZeroWindow, KeepAlive: f.KeepAlives,
		StateSrc: f.StateSrc, StateDst: f.StateDst, Truncated: f.Truncated, VLAN: f.VLAN,
	}
	for _, a := range f.Anomalies {
		v.Anomalies = append(v.Anomalies, fmt.Sprintf("%s@%d", a.Kind, a.Frame))
	}
	return v
}

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"
)

func TestFlowScenarios(t *testing.T) {
	est := flowView{Src: cli, Dst: srv, Initiated: true, SynAck: true, Established: true}
	with := func(v flowView, f func(*flowView)) flowView { f(&v); return v }
	tests := []struct {
		name  string
		build func(b *capBuilder)
		want  flowView
		note  string // a substring of the first anomaly's note
	}{
		{"fin close, client first: client TIME_WAIT",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				c.s(fPA, 200)
				c.c(fFA, 0)
				c.s(fFA, 0)
				c.c(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.BytesDst, v.FinSrc, v.FinDst = 8, 100, 200, 6, 7
				v.StateSrc, v.StateDst = event.StateTimeWait, event.StateClose
			}), ""},
		{"client FIN only: server left in CLOSE_WAIT",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				c.s(fPA, 50)
				c.c(fFA, 0)
				c.s(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.BytesDst, v.FinSrc = 7, 100, 50, 6
				v.StateSrc, v.StateDst = event.StateFinWait2, event.StateCloseWait
			}), ""},
		{"server FIN not acknowledged: FIN_WAIT1",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.s(fFA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.FinDst = 4, 4
				v.StateSrc, v.StateDst = event.StateCloseWait, event.StateFinWait1
				v.Anomalies = []string{"connect-then-rst@4"}
			}), "server FIN"},
		{"passive closer waiting for the last ACK: LAST_ACK",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fFA, 0)
				c.s(fFA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.FinSrc, v.FinDst = 5, 4, 5
				v.StateSrc, v.StateDst = event.StateTimeWait, event.StateLastAck
				v.Anomalies = []string{"connect-then-rst@4"}
			}), "client FIN 2ms after the SYN"},
		{"simultaneous close: both TIME_WAIT",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				b.tcp(c.cli, c.srv, fFA, 1001, 5001, 100, 0)
				b.tcp(c.srv, c.cli, fFA, 5001, 1001, 100, 0) // does not ack the client's FIN
				b.tcp(c.cli, c.srv, fA, 1002, 5002, 100, 0)
				b.tcp(c.srv, c.cli, fA, 5002, 1002, 100, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.FinSrc, v.FinDst = 7, 4, 5
				v.StateSrc, v.StateDst = event.StateTimeWait, event.StateTimeWait
				v.Anomalies = []string{"connect-then-rst@4"}
			}), ""},
		{"refused: RST answers the SYN",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 0)
				c.c(fS, 0)
				c.s(fRA, 0)
			},
			flowView{Src: cli, Dst: srv, Packets: 2, Initiated: true, RstDst: 2,
				StateSrc: event.StateClose, StateDst: event.StateClose, Anomalies: []string{"refused@2"}}, "RST answered the SYN (frame 1)"},
		{"SYN never answered, retransmitted twice",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 0)
				for _, at := range []time.Duration{0, time.Second, 3 * time.Second} {
					b.at(at).tcp(c.cli, c.srv, fS, 1000, 0, 64240, 0)
				}
			},
			flowView{Src: cli, Dst: srv, Packets: 3, Initiated: true, SynRetrans: 2,
				StateSrc: event.StateSynSent, StateDst: event.StateUnknown, Anomalies: []string{"syn-unanswered@1"}}, "3 SYN(s)"},
		{"handshake then RST on the first request: accept failed",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				b.now += time.Millisecond
				c.c(fPA, 120)
				b.now += 400 * time.Microsecond
				c.s(fRA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.RstDst = 5, 120, 5
				v.StateSrc, v.StateDst = event.StateClose, event.StateClose
				v.Anomalies = []string{"handshake-then-rst@5"}
			}), "server reset 400µs after the client's first data (frame 4)"},
		{"connect then RST without payload: a health check",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fRA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.RstSrc = 4, 4
				v.StateSrc, v.StateDst = event.StateClose, event.StateClose
				v.Anomalies = []string{"connect-then-rst@4"}
			}), "client RST 2ms after the SYN, no payload either way"},
		{"request with no response before the client gave up",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				c.s(fA, 0)
				b.now += 30 * time.Second
				c.c(fFA, 0)
				c.s(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.FinSrc = 7, 100, 6
				v.StateSrc, v.StateDst = event.StateFinWait2, event.StateCloseWait
				v.Anomalies = []string{"no-response@6"}
			}), "request at frame 4, client FIN 30s later with no response"},
		{"the answer comes after the client gave up: still no response",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				c.s(fA, 0)
				b.now += 3 * time.Second
				c.c(fFA, 0)
				c.s(fA, 0)
				b.now += 2 * time.Second
				c.s(fPA, 17)
				c.c(fRST, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.BytesDst, v.FinSrc, v.RstSrc = 9, 100, 17, 6, 9
				v.StateSrc, v.StateDst = event.StateClose, event.StateClose
				v.Anomalies = []string{"no-response@6"}
			}), "client FIN 3s later with no response; the server answered at frame 8, 2s after"},
		{"connected, then silence to the end of the capture",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				b.now += 8 * time.Second
				b.udp() // the capture goes on
			},
			with(est, func(v *flowView) {
				v.Packets = 3
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
				v.Anomalies = []string{"connect-then-idle@3"}
			}), "no payload and no close for 8s until the capture ended"},
		{"SYN-ACK retransmitted after the client's ACK: accept queue full",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				b.now += time.Second
				b.tcp(c.srv, c.cli, fSA, 5000, 1001, 64240, 0)
				b.tcp(c.cli, c.srv, fA, 1101, 5001, 64240, 0)
				b.now += 2 * time.Second
				b.tcp(c.srv, c.cli, fSA, 5000, 1001, 64240, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.SynAckRetx = 7, 100, 2
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
				v.Anomalies = []string{"synack-retrans@5"}
			}), "client's ACK came at frame 3: the listener dropped it"},
		{"zero window advertised by a stalled reader",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.s(fPA, 1000)
				c.win = 0
				c.c(fA, 0)
				c.c(fA, 0)
				c.c(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesDst, v.ZeroWindow = 7, 1000, 3
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
				v.Anomalies = []string{"zero-window@5"}
			}), "client advertised a zero window 3 time(s)"},
		{"keep-alive probes are not retransmissions",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 10)
				c.s(fA, 0)
				b.now += 75 * time.Second
				b.tcp(c.cli, c.srv, fA, c.cseq-1, c.sseq, 64240, 0)
				c.s(fA, 0)
				b.now += 75 * time.Second
				b.tcp(c.cli, c.srv, fA, c.cseq-1, c.sseq, 64240, 1)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.KeepAlive = 8, 10, 2
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"retransmitted data and FIN",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fPA, 100)
				b.tcp(c.cli, c.srv, fPA, 1001, 5001, 64240, 100)
				c.c(fFA, 0)
				b.tcp(c.cli, c.srv, fFA, 1101, 5001, 64240, 0)
				c.s(fFA, 0)
				c.c(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc, v.Retrans, v.FinSrc, v.FinDst = 9, 100, 2, 6, 8
				v.StateSrc, v.StateDst = event.StateTimeWait, event.StateClose
				v.Anomalies = []string{"no-response@6"}
			}), ""},
		{"snaplen-cut segments counted from the IP length",
			func(b *capBuilder) {
				b.snap = 64
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				for range 3 {
					c.s(fA, 1400)
				}
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesDst, v.Truncated = 6, 4200, true
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"sequence numbers wrap",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 0xffffff00, 5000)
				c.handshake()
				for range 3 {
					c.c(fPA, 200)
				}
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesSrc = 6, 600
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"a transfer over 4 GiB",
			func(b *capBuilder) {
				b.snap = 64
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				for range 72000 {
					c.s(fA, 60000)
				}
			},
			with(est, func(v *flowView) {
				v.Packets, v.BytesDst, v.Truncated = 72003, 72000*60000, true
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"only the client's direction captured",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.c(fS, 0)
				c.sseq++ // the SYN-ACK we do not see
				c.c(fA, 0)
				c.c(fPA, 100)
				c.c(fFA, 0)
			},
			flowView{Src: cli, Dst: srv, Packets: 4, Initiated: true, BytesSrc: 100, FinSrc: 4,
				StateSrc: event.StateUnknown, StateDst: event.StateUnknown, Anomalies: []string{"one-sided@1"}}, ""},
		{"capture starts mid-connection",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.c(fPA, 100)
				c.s(fPA, 200)
			},
			flowView{Src: cli, Dst: srv, Packets: 2, BytesSrc: 100, BytesDst: 200,
				StateSrc: event.StateEstablished, StateDst: event.StateEstablished}, ""},
		{"first packet seen is the SYN-ACK: its receiver initiated",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.cseq++
				c.s(fSA, 0)
				c.c(fA, 0)
				c.c(fPA, 10)
				c.s(fPA, 10)
			},
			flowView{Src: cli, Dst: srv, Packets: 4, SynAck: true, Established: true, BytesSrc: 10, BytesDst: 10,
				StateSrc: event.StateEstablished, StateDst: event.StateEstablished}, ""},
		{"timestamps going backwards",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				b.at(time.Millisecond)
				c.c(fS, 0)
				b.at(time.Millisecond - 5*time.Microsecond)
				c.s(fSA, 0)
				b.at(2 * time.Millisecond)
				c.c(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets = 3
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"asymmetric VLANs: one connection routed between two tags",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				b.vlans = []uint16{81}
				c.c(fS, 0)
				b.vlans = []uint16{80}
				c.s(fSA, 0)
				b.vlans = []uint16{81}
				c.c(fA, 0)
			},
			with(est, func(v *flowView) {
				v.Packets, v.VLAN = 3, "81/80"
				v.StateSrc, v.StateDst = event.StateEstablished, event.StateEstablished
			}), ""},
		{"IPv6 over Linux cooked v2",
			func(b *capBuilder) {
				b.link = linkSLL2
				c := b.conn("[2001:db8::1]:40000", "[2001:db8::2]:443", 1000, 5000)
				c.handshake()
				c.c(fPA, 300)
			},
			flowView{Src: "[2001:db8::1]:40000", Dst: "[2001:db8::2]:443", Packets: 4, Initiated: true, SynAck: true, Established: true,
				BytesSrc: 300, StateSrc: event.StateEstablished, StateDst: event.StateEstablished}, ""},
		{"BSD loopback",
			func(b *capBuilder) {
				b.link = linkNull
				c := b.conn("127.0.0.1:40000", "127.0.0.1:6379", 1000, 5000)
				c.handshake()
			},
			flowView{Src: "127.0.0.1:40000", Dst: "127.0.0.1:6379", Packets: 3, Initiated: true, SynAck: true, Established: true,
				StateSrc: event.StateEstablished, StateDst: event.StateEstablished}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t)
			tt.build(b)
			res := analyze(t, b.pcap(), Options{})
			if len(res.Errors) > 0 {
				t.Errorf("errors: %q", res.Errors)
			}
			if len(res.Flows) != 1 {
				for _, f := range res.Flows {
					t.Logf("%+v", view(f))
				}
				t.Fatalf("got %d flows, want 1", len(res.Flows))
			}
			got := view(res.Flows[0])
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("flow differs\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.note != "" {
				if a := res.Flows[0].Anomalies; len(a) == 0 || !strings.Contains(a[0].Note, tt.note) {
					t.Errorf("anomalies %+v: want a note with %q", a, tt.note)
				}
			}
			checkFlows(t, res)
		})
	}
}

// checkFlows asserts what holds for every capture: each TCP segment
// belongs to exactly one flow, flows come in first-frame order, and every
// frame a flow or anomaly names lies within it.
func checkFlows(t *testing.T, res *result) {
	t.Helper()
	pk := 0
	for i, f := range res.Flows {
		pk += f.Packets
		if i > 0 && f.FirstFrame < res.Flows[i-1].FirstFrame {
			t.Errorf("flow %d starts at frame %d, before flow %d (%d)", i, f.FirstFrame, i-1, res.Flows[i-1].FirstFrame)
		}
		if f.Ref.Frame != f.FirstFrame || f.FirstFrame < 1 || f.LastFrame < f.FirstFrame || f.LastFrame > res.Stats.Frames {
			t.Errorf("flow %s: bad frames ref=%d first=%d last=%d of %d", f.Src, f.Ref.Frame, f.FirstFrame, f.LastFrame, res.Stats.Frames)
		}
		if !f.Start.IsZero() && (f.End.Before(f.Start) || f.Time != f.Start || f.Start.Location() != time.UTC) {
			t.Errorf("flow %s: times start=%v end=%v meta=%v", f.Src, f.Start, f.End, f.Time)
		}
		for _, a := range f.Anomalies {
			if a.Frame < f.FirstFrame || a.Frame > f.LastFrame {
				t.Errorf("flow %s: anomaly %s at frame %d outside frames %d-%d", f.Src, a.Kind, a.Frame, f.FirstFrame, f.LastFrame)
			}
		}
		for _, fr := range []int{f.FinSrc, f.FinDst, f.RstSrc, f.RstDst} {
			if fr != 0 && (fr < f.FirstFrame || fr > f.LastFrame) {
				t.Errorf("flow %s: FIN/RST frame %d outside frames %d-%d", f.Src, fr, f.FirstFrame, f.LastFrame)
			}
		}
	}
	if pk != res.Stats.TCP {
		t.Errorf("flows hold %d packets, the capture %d TCP segments", pk, res.Stats.TCP)
	}
	if len(res.Flows) != res.Stats.Flows {
		t.Errorf("%d flows reported, stats say %d", len(res.Flows), res.Stats.Flows)
	}
	for _, e := range res.Events {
		if e.Ref.Frame < 1 || e.Ref.Frame > res.Stats.Frames {
			t.Errorf("event %s at frame %d of %d", e.Kind, e.Ref.Frame, res.Stats.Frames)
		}
	}
}

func TestFlowReuse(t *testing.T) {
	tests := []struct {
		name   string
		build  func(b *capBuilder)
		frames [][2]int // first and last frame of each flow
		opt    Options
	}{
		{"new SYN with another ISN after a FIN close",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fFA, 0)
				c.s(fFA, 0)
				c.c(fA, 0)
				c2 := b.conn(cli, srv, 90000, 70000)
				c2.handshake()
			},
			[][2]int{{1, 6}, {7, 9}}, Options{}},
		{"new SYN with the same ISN after a RST",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fRA, 0)
				c2 := b.conn(cli, srv, 1000, 5000)
				c2.handshake()
			},
			[][2]int{{1, 4}, {5, 7}}, Options{}},
		{"SYN retransmitted with the same ISN is the same flow",
			func(b *capBuilder) {
				b.tcp(mustAP(cli), mustAP(srv), fS, 1000, 0, 100, 0)
				b.at(time.Second).tcp(mustAP(cli), mustAP(srv), fS, 1000, 0, 100, 0)
				b.tcp(mustAP(srv), mustAP(cli), fSA, 5000, 1001, 100, 0)
			},
			[][2]int{{1, 3}}, Options{}},
		{"new SYN with another ISN on a live flow",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c2 := b.conn(cli, srv, 777777, 5000)
				c2.c(fS, 0)
			},
			[][2]int{{1, 3}, {4, 4}}, Options{}},
		{"the same 4-tuple on three VLANs",
			func(b *capBuilder) {
				for _, v := range [][]uint16{nil, {42}, {10, 20}} {
					b.vlans = v
					c := b.conn(cli, srv, 1000, 5000)
					c.handshake()
				}
			},
			[][2]int{{1, 3}, {4, 6}, {7, 9}}, Options{}},
		{"the same 4-tuple on three VLANs, VLANs ignored",
			func(b *capBuilder) {
				for _, v := range [][]uint16{nil, {42}, {10, 20}} {
					b.vlans = v
					c := b.conn(cli, srv, 1000, 5000)
					c.handshake()
				}
			},
			[][2]int{{1, 9}}, Options{IgnoreVLAN: true}},
		{"a stray ACK long after the close starts a headless flow",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fRA, 0)
				b.now += time.Minute
				c.s(fA, 0)
			},
			[][2]int{{1, 4}, {5, 5}}, Options{}},
		{"a late ACK within the settle time stays with its flow",
			func(b *capBuilder) {
				c := b.conn(cli, srv, 1000, 5000)
				c.handshake()
				c.c(fRA, 0)
				b.now += 5 * time.Second
				c.s(fA, 0)
			},
			[][2]int{{1, 5}}, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t)
			tt.build(b)
			res := analyze(t, b.pcap(), tt.opt)
			var got [][2]int
			for _, f := range res.Flows {
				got = append(got, [2]int{f.FirstFrame, f.LastFrame})
			}
			if !reflect.DeepEqual(got, tt.frames) {
				t.Errorf("flows (first, last frame) = %v, want %v", got, tt.frames)
			}
			checkFlows(t, res)
		})
	}
}

func TestVLANTags(t *testing.T) {
	b := newBuilder(t)
	for _, v := range [][]uint16{nil, {42}, {10, 20}} {
		b.vlans = v
		b.conn(cli, srv, 1000, 5000).handshake()
	}
	res := analyze(t, b.pcap(), Options{})
	var got []string
	for _, f := range res.Flows {
		got = append(got, f.VLAN)
	}
	if want := []string{"", "42", "10.20"}; !reflect.DeepEqual(got, want) {
		t.Errorf("VLANs = %q, want %q", got, want)
	}
}

// Flows come out in first-frame order although they end in another.
func TestFlowOrder(t *testing.T) {
	b := newBuilder(t)
	long := b.conn("10.0.0.1:1", srv, 1000, 5000)
	long.handshake()
	for i := range 5 {
		c := b.conn(fmt.Sprintf("10.0.0.%d:2", 10+i), srv, 1000, 5000)
		c.handshake()
		c.c(fRA, 0)
		b.now += time.Minute // well past the settle time: each is released
	}
	long.c(fFA, 0)
	res := analyze(t, b.pcap(), Options{})
	if len(res.Flows) != 6 || res.Flows[0].Src.String() != "10.0.0.1:1" {
		t.Fatalf("flows %v", res.Flows)
	}
	checkFlows(t, res)
}

func TestEviction(t *testing.T) {
	b := newBuilder(t)
	for i := range 40 {
		b.conn(fmt.Sprintf("10.0.1.%d:1000", i), srv, 1000, 5000).handshake()
	}
	res := analyze(t, b.pcap(), Options{MaxFlows: 16})
	if res.Stats.Evicted == 0 || len(res.anomalies("evicted")) != res.Stats.Evicted {
		t.Errorf("evicted %d, anomalies %d", res.Stats.Evicted, len(res.anomalies("evicted")))
	}
	if len(res.Flows) != 40 {
		t.Errorf("got %d flows, want 40", len(res.Flows))
	}
	checkFlows(t, res)
}

func TestHealthCheckPattern(t *testing.T) {
	b := newBuilder(t)
	// Three checkers in one /24 every 2 s, and one elsewhere at random.
	at := map[string][]time.Duration{}
	for i, src := range []string{"100.109.1.10", "100.109.1.11", "100.109.1.12"} {
		for k := range 8 {
			at[src] = append(at[src], time.Duration(k)*2*time.Second+time.Duration(i)*300*time.Millisecond+time.Duration(k%3)*20*time.Millisecond)
		}
	}
	at["100.109.7.5"] = []time.Duration{0, time.Second, 8 * time.Second, 9 * time.Second, 21 * time.Second}
	type start struct {
		src string
		at  time.Duration
	}
	var all []start
	for src, ts := range at {
		for _, d := range ts {
			all = append(all, start{src, d})
		}
	}
	// Connections in time order, each on its own port.
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[j].at < all[i].at || all[j].at == all[i].at && all[j].src < all[i].src {
				all[i], all[j] = all[j], all[i]
			}
		}
	}
	for i, s := range all {
		b.at(s.at)
		c := b.conn(fmt.Sprintf("%s:%d", s.src, 20000+i), "10.0.0.5:9090", uint32(1000+i), 5000)
		c.handshake()
		c.c(fRA, 0)
	}
	res := analyze(t, b.pcap(), Options{})
	if len(res.Events) != 1 {
		t.Fatalf("events %+v", res.Events)
	}
	e := res.Events[0]
	if e.Kind != "healthcheck-periodic" || e.Src.String() != "100.109.1.0/24:*" || e.Dst.String() != "10.0.0.5:9090" {
		t.Errorf("event %+v", e)
	}
	for _, want := range []string{"24 connect-then-close", "(3 source(s))", "every 2s"} {
		if !strings.Contains(e.Note, want) {
			t.Errorf("note %q lacks %q", e.Note, want)
		}
	}
	if e.Ref.Frame != 4 {
		t.Errorf("event points at frame %d, want 4 (the first checker's RST)", e.Ref.Frame)
	}
	checkFlows(t, res)
}

func TestActiveCloserPattern(t *testing.T) {
	b := newBuilder(t)
	for i := range 60 { // the server closes first: TIME_WAIT on the server
		c := b.conn(fmt.Sprintf("10.0.2.%d:%d", i%7+1, 30000+i), "10.0.0.9:6379", 1000, 5000)
		c.handshake()
		c.c(fPA, 20)
		c.s(fPA, 20)
		c.s(fFA, 0)
		c.c(fFA, 0)
		c.s(fA, 0)
		b.now += 10 * time.Millisecond
	}
	for i := range 30 { // too few to matter
		c := b.conn(fmt.Sprintf("10.0.3.1:%d", 30000+i), "10.0.0.10:80", 1000, 5000)
		c.handshake()
		c.c(fFA, 0)
		c.s(fFA, 0)
		c.c(fA, 0)
	}
	res := analyze(t, b.pcap(), Options{})
	var got []string
	for _, e := range res.Events {
		got = append(got, fmt.Sprintf("%s %s@%d", e.Kind, e.Src, e.Ref.Frame))
	}
	if want := []string{"active-closer 10.0.0.9:6379@6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if len(res.Events) == 1 && !strings.Contains(res.Events[0].Note, "60 connections closed first by the server 10.0.0.9") {
		t.Errorf("note %q", res.Events[0].Note)
	}
	checkFlows(t, res)
}
