package capture

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// side is what one end of a connection sent. Sequence numbers are kept
// relative to base (the first payload byte) and unwrapped to 64 bits, so
// that bulk transfers over 4 GB still count right.
type side struct {
	seen     bool
	vlan     uint32
	firstSeq uint32 // sequence number of this side's first segment
	isn      uint32
	hasISN   bool // a SYN from this side was seen
	synFrame int
	synTS    int64
	base     uint32
	hasBase  bool
	hi       int64 // end of the highest payload byte seen, relative to base

	dataFrame int // first segment carrying new payload
	dataTS    int64
	ackSent   bool // sent a segment with ACK set (other than a bare SYN)

	finFrame    int
	finSeq      uint32 // the sequence number the FIN occupies
	finTS       int64
	finAcked    bool // the peer acknowledged the FIN
	finAcksPeer bool // the FIN itself acknowledged the peer's FIN: a passive close
	rstFrame    int
	rstTS       int64

	retrans, keepalives, zeroWin int
	zeroWinFrame                 int
}

// flow is one connection being rebuilt. Side 0 is the initiator (Src), side
// 1 the responder (Dst).
type flow struct {
	key    flowKey
	hash   uint64
	next   *flow // another flow in the same table slot (see table.flows)
	id     uint64
	srcIsA bool // Src is key.a
	s      [2]side

	firstFrame, lastFrame int
	minTS, maxTS          int64
	hasTS                 bool
	packets               int

	initiated       bool // a bare SYN from Src was seen
	synAckFrame     int  // first SYN-ACK from Dst
	synAckTS        int64
	synRetrans      int
	synAckRetx      int
	synAckRetxFrame int // first retransmitted SYN-ACK
	handshakeAck    int // Src's ACK of the SYN-ACK
	handshakeTS     int64

	captureEnd int64 // the capture's latest time when the flow was summarised

	ended     bool // a RST, or FINs both ways
	endTS     int64
	done      bool // summarised and released
	truncated bool
	fragFrame int
	evicted   bool
	reused    bool // a new SYN on the 4-tuple ended it
}

// dir returns the side that sent p.
func (f *flow) dir(p *packet) int {
	if p.fwd == f.srcIsA {
		return 0
	}
	return 1
}

// idleAfterConnect is how long a connection must stay silent after its
// handshake, to the end of the capture, to be connect-then-idle.
const idleAfterConnect = time.Second

// seqGE reports a >= b in sequence space.
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// add accounts one segment sent by side d.
func (f *flow) add(p *packet, d int) {
	s, o := &f.s[d], &f.s[1-d]
	f.packets++
	f.lastFrame = p.frame
	if p.hasTS {
		if !f.hasTS || p.ts < f.minTS {
			f.minTS = p.ts
		}
		if !f.hasTS || p.ts > f.maxTS {
			f.maxTS = p.ts
		}
		f.hasTS = true
	}
	if p.truncated {
		f.truncated = true
	}
	if p.fragment && f.fragFrame == 0 {
		f.fragFrame = p.frame
	}
	if !s.seen {
		s.seen, s.firstSeq, s.vlan = true, p.seq, p.vlan
	}
	syn, ack := p.flags&flagSYN != 0, p.flags&flagACK != 0
	fin, rst := p.flags&flagFIN != 0, p.flags&flagRST != 0
	start := p.seq // first sequence number of the payload
	if syn {
		start++
		switch {
		case !s.hasISN:
			s.hasISN, s.isn, s.synFrame, s.synTS = true, p.seq, p.frame, p.ts
			s.base, s.hasBase, s.hi = start, true, 0
			if ack && d == 1 {
				f.synAckFrame, f.synAckTS = p.frame, p.ts
			}
			if !ack && d == 0 {
				f.initiated = true
			}
		case p.seq == s.isn && ack && d == 1:
			f.synAckRetx++
			if f.synAckRetxFrame == 0 {
				f.synAckRetxFrame = p.frame
			}
		case p.seq == s.isn && !ack:
			f.synRetrans++
		}
	}
	if !s.hasBase {
		s.base, s.hasBase = start, true
	}
	rel := s.hi + int64(int32(start-(s.base+uint32(s.hi))))
	end := rel + int64(p.payload)
	// A keep-alive probe repeats the last byte sent (or none) one below the
	// next sequence number.
	probe := !syn && !fin && !rst && rel == s.hi-1 && p.payload <= 1
	switch {
	case probe && (p.payload == 1 || ack):
		s.keepalives++
	case p.payload == 0:
	case end <= s.hi:
		s.retrans++
	default:
		if rel < s.hi {
			s.retrans++ // partly old data
		}
		s.hi = end
		if s.dataFrame == 0 {
			s.dataFrame, s.dataTS = p.frame, p.ts
		}
	}
	if fin {
		fs := start + uint32(p.payload)
		if s.finFrame == 0 {
			s.finFrame, s.finSeq, s.finTS = p.frame, fs, p.ts
			s.finAcksPeer = ack && o.finFrame != 0 && seqGE(p.ack, o.finSeq+1)
		} else if fs == s.finSeq && p.payload == 0 {
			s.retrans++
		}
	}
	if rst && s.rstFrame == 0 {
		s.rstFrame, s.rstTS = p.frame, p.ts
	}
	if ack {
		if !syn || d == 1 {
			s.ackSent = true
		}
		if o.finFrame != 0 && !o.finAcked && seqGE(p.ack, o.finSeq+1) {
			o.finAcked = true
		}
		if d == 0 && !syn && !rst && f.handshakeAck == 0 && f.synAckFrame != 0 && seqGE(p.ack, f.s[1].isn+1) {
			f.handshakeAck, f.handshakeTS = p.frame, p.ts
		}
		if p.win == 0 && !syn && !fin && !rst {
			s.zeroWin++
			if s.zeroWinFrame == 0 {
				s.zeroWinFrame = p.frame
			}
		}
	}
	if rst || s.finFrame != 0 && o.finFrame != 0 {
		f.ended = true
	}
}

// oneSided reports a capture that holds only one direction of the
// connection: one side acknowledges things the capture never saw.
func (f *flow) oneSided() bool {
	return !f.s[1].seen && f.s[0].ackSent || !f.s[0].seen && f.s[1].ackSent && f.synAckFrame == 0
}

// state infers side i's Linux TCP state at the end of the capture.
func (f *flow) state(i int) event.State {
	me, peer := &f.s[i], &f.s[1-i]
	if me.rstFrame != 0 || peer.rstFrame != 0 {
		return event.StateClose
	}
	if f.oneSided() {
		return event.StateUnknown
	}
	if f.initiated && f.synAckFrame == 0 && !f.s[0].ackSent {
		if i == 0 {
			return event.StateSynSent
		}
		return event.StateUnknown // the SYN may never have reached it
	}
	if f.synAckFrame != 0 && f.handshakeAck == 0 && !f.s[0].ackSent {
		// Linux answers a SYN-ACK at once: no ACK means the SYN-ACK
		// did not arrive (or the ACK was lost).
		if i == 0 {
			return event.StateSynSent
		}
		return event.StateSynRecv
	}
	mf, pf := me.finFrame, peer.finFrame
	switch {
	case mf == 0 && pf == 0:
		return event.StateEstablished
	case pf == 0:
		if me.finAcked {
			return event.StateFinWait2
		}
		return event.StateFinWait1
	case mf == 0:
		return event.StateCloseWait
	}
	passive := mf > pf && me.finAcksPeer
	switch {
	case passive && me.finAcked:
		return event.StateClose
	case passive:
		return event.StateLastAck
	case me.finAcked:
		return event.StateTimeWait
	}
	return event.StateClosing
}

// closeOf returns a side's first FIN or RST frame and whether it was a RST.
func closeOf(s *side) (frame int, ts int64, rst bool) {
	switch {
	case s.rstFrame != 0 && (s.finFrame == 0 || s.rstFrame < s.finFrame):
		return s.rstFrame, s.rstTS, true
	case s.finFrame != 0:
		return s.finFrame, s.finTS, false
	}
	return 0, 0, false
}

// before reports whether frame a happened and before frame b (0 = never).
func before(a, b int) bool { return a != 0 && (b == 0 || a < b) }

// since renders the time from a to b, or "" when the capture has no times.
func (f *flow) since(a, b int64) string {
	if !f.hasTS {
		return ""
	}
	d := time.Duration(b - a)
	switch {
	case d < 0:
		d = 0
	case d < time.Millisecond:
		d = d.Round(time.Microsecond)
	case d < time.Second:
		d = d.Round(10 * time.Microsecond)
	default:
		d = d.Round(time.Millisecond)
	}
	return " " + d.String()
}

func flagName(rst bool) string {
	if rst {
		return "RST"
	}
	return "FIN"
}

// anomalies names the patterns of the flow, each with the frame that shows
// it, in frame order.
func (f *flow) anomalies() []event.Anomaly {
	s, d := &f.s[0], &f.s[1]
	cli, srv := "client", "server"
	if !f.initiated {
		cli, srv = "src", "dst"
	}
	var out []event.Anomaly
	add := func(kind string, frame int, format string, args ...any) {
		out = append(out, event.Anomaly{Kind: kind, Frame: frame, Note: fmt.Sprintf(format, args...)})
	}
	if f.initiated && f.synAckFrame == 0 {
		switch {
		case d.rstFrame != 0 && s.dataFrame == 0:
			add("refused", d.rstFrame, "RST answered the SYN (frame %d)", s.synFrame)
		case !d.seen && !s.ackSent:
			add("syn-unanswered", s.synFrame, "%d SYN(s), no answer in the capture", 1+f.synRetrans)
		}
	}
	if f.synAckRetx > 0 {
		note := fmt.Sprintf("SYN-ACK sent %d times", f.synAckRetx+1)
		switch {
		case before(f.handshakeAck, f.synAckRetxFrame):
			note += fmt.Sprintf(" although the client's ACK came at frame %d: the listener dropped it (accept queue full?)", f.handshakeAck)
		case f.handshakeAck == 0:
			note += "; no ACK from the client"
		}
		add("synack-retrans", f.synAckRetxFrame, "%s", note)
	}
	sc, sts, srst := closeOf(s)
	dc, dts, drst := closeOf(d)
	if f.synAckFrame != 0 && f.handshakeAck != 0 && s.dataFrame == 0 && d.dataFrame == 0 && (sc != 0 || dc != 0) {
		from, what := f.synAckTS, "the SYN-ACK"
		if f.initiated {
			from, what = s.synTS, "the SYN"
		}
		// The commonest notes (health checks, timeouts) are concatenated:
		// fmt's reflection showed in the profile.
		if before(sc, dc) {
			out = append(out, event.Anomaly{Kind: "connect-then-rst", Frame: sc, Note: cli + " " + flagName(srst) + f.since(from, sts) + " after " + what + ", no payload either way"})
		} else {
			out = append(out, event.Anomaly{Kind: "connect-then-rst", Frame: dc, Note: srv + " " + flagName(drst) + f.since(from, dts) + " after " + what + ", no payload either way"})
		}
	}
	// Only a connection whose handshake was captured says who asked and
	// who should have answered. The server's data counts as an answer
	// only if it came before the close (a late answer is what a timed-out
	// client's kernel resets).
	if f.synAckFrame != 0 && s.dataFrame != 0 && !before(d.dataFrame, s.dataFrame) {
		switch {
		case d.rstFrame > s.dataFrame && before(d.rstFrame, sc) && !before(d.dataFrame, d.rstFrame):
			add("handshake-then-rst", d.rstFrame, "%s reset%s after the %s's first data (frame %d) without sending any", srv, f.since(s.dataTS, d.rstTS), cli, s.dataFrame)
		case sc > s.dataFrame && before(sc, dc) && !before(d.dataFrame, sc):
			note := "request at frame " + strconv.Itoa(s.dataFrame) + ", " + cli + " " + flagName(srst) + f.since(s.dataTS, sts) + " later with no response"
			if d.dataFrame != 0 {
				note += "; the " + srv + " answered at frame " + strconv.Itoa(d.dataFrame) + "," + f.since(sts, d.dataTS) + " after"
			}
			out = append(out, event.Anomaly{Kind: "no-response", Frame: sc, Note: note})
		}
	}
	// Connected, then silence: no payload, no close, until the capture
	// ended (a checker whose RST was lost, a client that never sends).
	if end := f.captureEnd; !f.evicted && !f.reused && f.handshakeAck != 0 && s.dataFrame == 0 && d.dataFrame == 0 && sc == 0 && dc == 0 &&
		f.hasTS && end-f.handshakeTS >= int64(idleAfterConnect) {
		add("connect-then-idle", f.handshakeAck, "connected, then no payload and no close for%s until the capture ended", f.since(f.handshakeTS, end))
	}
	for i, who := range []string{cli, srv} {
		if z := &f.s[i]; z.zeroWin > 0 {
			add("zero-window", z.zeroWinFrame, "%s advertised a zero window %d time(s)", who, z.zeroWin)
		}
	}
	if f.oneSided() {
		add("one-sided", f.firstFrame, "only one direction of the connection was captured")
	}
	if f.fragFrame != 0 {
		add("fragmented", f.fragFrame, "IP fragments: payload counted from the first fragment only")
	}
	if f.evicted {
		add("evicted", f.lastFrame, "flow table full: summarised before the connection ended")
	}
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b event.Anomaly) int { return a.Frame - b.Frame })
	}
	return out
}

func stamp(ts int64, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, ts).UTC()
}

func (f *flow) endpoint(i int) event.Endpoint {
	a, port := f.key.a, f.key.pa
	if (i == 0) != f.srcIsA {
		a, port = f.key.b, f.key.pb
	}
	return event.Endpoint{Addr: a.addr(), Port: port}
}

// vlanString renders a tag stack as "outer.inner".
func vlanString(v uint32) string {
	if v == 0 {
		return ""
	}
	s := strconv.Itoa(int(v>>12) - 1)
	if in := v & 0xfff; in != 0 {
		s += "." + strconv.Itoa(int(in))
	}
	return s
}

func (f *flow) vlanString() string {
	a, b := &f.s[0], &f.s[1]
	switch {
	case !a.seen:
		return vlanString(b.vlan)
	case !b.seen || a.vlan == b.vlan:
		return vlanString(a.vlan)
	}
	return vlanString(a.vlan) + "/" + vlanString(b.vlan)
}

// summary renders the flow as evidence into out.
func (f *flow) summary(file string, out *event.Flow) {
	s, d := &f.s[0], &f.s[1]
	start := stamp(f.minTS, f.hasTS)
	*out = event.Flow{
		Meta:        event.Meta{Ref: event.Ref{File: file, Frame: f.firstFrame}, Time: start},
		Src:         f.endpoint(0),
		Dst:         f.endpoint(1),
		Start:       start,
		End:         stamp(f.maxTS, f.hasTS),
		FirstFrame:  f.firstFrame,
		LastFrame:   f.lastFrame,
		Packets:     f.packets,
		Initiated:   f.initiated,
		SynAck:      f.synAckFrame != 0,
		Established: f.handshakeAck != 0,
		SynRetrans:  f.synRetrans,
		SynAckRetx:  f.synAckRetx,
		BytesSrc:    s.hi,
		BytesDst:    d.hi,
		FinSrc:      s.finFrame,
		FinDst:      d.finFrame,
		RstSrc:      s.rstFrame,
		RstDst:      d.rstFrame,
		Retrans:     s.retrans + d.retrans,
		ZeroWindow:  s.zeroWin + d.zeroWin,
		KeepAlives:  s.keepalives + d.keepalives,
		StateSrc:    f.state(0),
		StateDst:    f.state(1),
		Anomalies:   f.anomalies(),
		Truncated:   f.truncated,
		VLAN:        f.vlanString(),
	}
}
