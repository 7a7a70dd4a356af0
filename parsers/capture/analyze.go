package capture

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

// Defaults of Options.
const (
	// DefaultMaxFlows caps the connections held open at once (about
	// 400 bytes each); past it the least recently active are summarised
	// early, marked "evicted".
	DefaultMaxFlows = 1 << 19
	// DefaultSettle is how long, in capture time, an ended connection is
	// kept for its last ACKs and retransmitted FINs or RSTs.
	DefaultSettle = 10 * time.Second
)

// Options tune Analyze.
type Options struct {
	File string // the capture's path inside the bundle: Refs and errors name it
	// IgnoreVLAN keys connections by their 4-tuple alone, as tshark's
	// conversation table does. By default the same 4-tuple seen with
	// different 802.1Q tags is different connections.
	IgnoreVLAN bool
	MaxFlows   int           // 0: DefaultMaxFlows
	Settle     time.Duration // 0: DefaultSettle
	// Progress, when set, is called every 65536 frames with the frames
	// read and the bytes consumed from the reader (compressed bytes for a
	// gzip capture).
	Progress func(frames int, bytes int64)
}

// Handler receives what Analyze finds. Nil functions drop their records.
type Handler struct {
	// Flow gets each connection when it has ended and settled, in the
	// order of first frames (see emitter for the one exception).
	Flow func(*event.Flow)
	// Event gets the cross-connection patterns, at the end, in frame order.
	Event func(*event.PacketEvent)
	// Error gets positioned problems: at most one that ends the file,
	// plus one per undecodable link type and one count of damaged frames.
	Error func(*event.ParseError)
}

// Stats count what a capture held.
type Stats struct {
	Format      Format
	Gzip        bool
	Frames      int   // all frames, TCP or not
	TCP         int   // TCP segments decoded
	Other       int   // frames of other protocols
	Fragments   int   // non-first IP fragments (not attributed to a flow)
	Malformed   int   // frames whose headers were cut or inconsistent
	Unsupported int   // frames of link types not decoded
	Flows       int   // connections reported
	Evicted     int   // connections summarised early because the table was full
	Bytes       int64 // bytes consumed from the reader
}

// Analyze reads one capture from r (pcap or pcapng, plain or gzip) and
// reports its connections, pattern events and errors to h. It returns
// when r is exhausted or the capture is damaged beyond reading; everything
// before the damage is still reported.
func Analyze(r io.Reader, opt Options, h Handler) Stats {
	var st Stats
	src := newSource(r)
	report := func(frame int, offset int64, err error) {
		if h.Error == nil {
			return
		}
		pe := &event.ParseError{File: opt.File, Frame: frame, Offset: offset, Err: err}
		if frame > 0 && offset > 0 {
			// ParseError prints the frame; the offset goes in the message.
			pe.Err = fmt.Errorf("offset %d: %w", offset, err)
		}
		if st.Gzip && offset > 0 {
			pe.Err = fmt.Errorf("%w (offset in the decompressed stream)", pe.Err)
		}
		h.Error(pe)
	}
	st.Gzip = isGzip(peek(src))
	rr, format, err := openReader(src)
	st.Format = format
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			report(re.frame, re.offset, re.err)
		} else {
			report(0, 0, err)
		}
		st.Bytes = src.read
		return st
	}
	t := newTable(opt, h, &st)
	var (
		rec        record
		p          packet
		badLinks   map[uint32]bool
		firstBad   int
		firstFrag  int
		readFailed error
	)
	for {
		if err := rr.next(&rec); err != nil {
			if err != io.EOF {
				readFailed = err
			}
			break
		}
		st.Frames++
		p.frame, p.ts, p.hasTS = rec.frame, rec.ts, rec.hasTS
		switch decode(rec.link, rec.data, rec.origLen, &p) {
		case decTCP:
			st.TCP++
			t.add(&p)
		case decOther:
			st.Other++
		case decFragment:
			st.Fragments++
			if firstFrag == 0 {
				firstFrag = rec.frame
			}
		case decMalformed:
			st.Malformed++
			if firstBad == 0 {
				firstBad = rec.frame
			}
		case decUnsupported:
			st.Unsupported++
			if !badLinks[rec.link] {
				if badLinks == nil {
					badLinks = map[uint32]bool{}
				}
				badLinks[rec.link] = true
				report(rec.frame, rec.offset, fmt.Errorf("link type %d is not decoded: its frames are skipped", rec.link))
			}
		}
		if opt.Progress != nil && st.Frames&0xffff == 0 {
			opt.Progress(st.Frames, src.read)
		}
	}
	t.flush()
	if h.Event != nil {
		for _, ev := range t.pat.events() {
			h.Event(&ev)
		}
	}
	if st.Malformed > 0 {
		report(firstBad, 0, fmt.Errorf("%d frame(s) with cut or inconsistent IP/TCP headers skipped, the first here", st.Malformed))
	}
	if st.Fragments > 0 {
		report(firstFrag, 0, fmt.Errorf("%d non-first IP fragment(s) not attributed to a connection (no reassembly), the first here", st.Fragments))
	}
	if readFailed != nil {
		var re *readError
		if errors.As(readFailed, &re) {
			report(re.frame, re.offset, fmt.Errorf("%w; frames before it were used", re.err))
		} else {
			report(0, 0, readFailed)
		}
	}
	if opt.Progress != nil {
		opt.Progress(st.Frames, src.read)
	}
	st.Bytes = src.read
	return st
}

func peek(s *source) []byte {
	s.fill(3)
	return s.buf[s.pos:s.end]
}
