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
	DefaultSettle = 5 * time.Second
	// closedCap bounds the ended connections kept to settle: at high
	// connection rates it, not DefaultSettle, sets how long they stay.
	closedCap = 16384
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
	// order of first frames (see emitter for the one exception). The
	// Flow is reused once the call returns: copy it to keep it (its
	// Anomalies slice is the receiver's).
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
//
// Reading and decoding run in a goroutine of their own, a batch of
// segments ahead of the flow table; the handler is only ever called from
// the caller's goroutine.
func Analyze(r io.Reader, opt Options, h Handler) Stats {
	return analyzeSource(newSource(r), opt, h)
}

// AnalyzeBytes is Analyze over a capture held in memory: records are read
// in place, without a copy.
func AnalyzeBytes(data []byte, opt Options, h Handler) Stats {
	return analyzeSource(&source{buf: data, end: len(data), err: io.EOF, read: int64(len(data))}, opt, h)
}

func analyzeSource(src *source, opt Options, h Handler) Stats {
	var st Stats
	var errs []posError
	st.Gzip = isGzip(peek(src))
	rr, format, err := openReader(src)
	st.Format = format
	if err != nil {
		errs = append(errs, asPosError(err, ""))
		reportErrors(opt.File, st.Gzip, errs, h)
		st.Bytes = src.consumed()
		return st
	}
	t := newTable(opt, h, &st)
	full := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for range cap(free) {
		free <- &batch{} // grown on demand: small captures stay small
	}
	stop := make(chan struct{})
	var rd reading
	go rd.run(rr, src, full, free, stop)
	func() {
		// A panic in the table (RunParser recovers it) must not leave the
		// reader blocked for ever.
		defer close(stop)
		for b := range full {
			for i := range b.pk {
				t.add(&b.pk[i])
			}
			// Frames of other protocols still move the capture's clock.
			if b.maxTS > t.now {
				t.now = b.maxTS
			}
			if opt.Progress != nil && b.frames>>16 != (b.frames-b.span)>>16 {
				opt.Progress(b.frames, b.bytes)
			}
			free <- b
		}
	}()
	// full is closed: rd is complete.
	st.Frames, st.TCP, st.Other, st.Fragments, st.Malformed, st.Unsupported =
		rd.frames, rd.tcp, rd.other, rd.fragments, rd.malformed, rd.unsupported
	t.flush()
	if h.Event != nil {
		for _, ev := range t.pat.events() {
			h.Event(&ev)
		}
	}
	errs = append(errs, rd.errs...)
	if st.Malformed > 0 {
		errs = append(errs, posError{frame: rd.firstBad, err: fmt.Errorf("%d frame(s) with cut or inconsistent IP/TCP headers skipped, the first here", st.Malformed)})
	}
	if st.Fragments > 0 {
		errs = append(errs, posError{frame: rd.firstFrag, err: fmt.Errorf("%d non-first IP fragment(s) not attributed to a connection (no reassembly), the first here", st.Fragments)})
	}
	if rd.failed != nil {
		errs = append(errs, asPosError(rd.failed, "; frames before it were used"))
	}
	reportErrors(opt.File, st.Gzip, errs, h)
	st.Bytes = src.consumed()
	if opt.Progress != nil {
		opt.Progress(st.Frames, st.Bytes)
	}
	return st
}

// batchSize is how many TCP segments the reader hands the table at once.
const batchSize = 4096

type batch struct {
	pk     []packet
	frames int   // frames read up to the end of this batch
	span   int   // frames read for this batch
	bytes  int64 // bytes consumed from the reader by then
	maxTS  int64 // the latest time of any frame so far
}

// reading is the reader goroutine's state; the caller reads it once the
// batches channel is closed.
type reading struct {
	frames, tcp, other, fragments, malformed, unsupported int
	firstBad, firstFrag                                   int
	maxTS                                                 int64
	badLinks                                              map[uint32]bool
	errs                                                  []posError
	failed                                                error
}

func (rd *reading) run(rr recordReader, src *source, full, free chan *batch, stop chan struct{}) {
	defer close(full)
	// A panic here could not be recovered by the caller (RunParser): make
	// it the error that ends the file.
	defer func() {
		if v := recover(); v != nil {
			rd.failed = fmt.Errorf("internal error at frame %d: %v", rd.frames+1, v)
		}
	}()
	var rec record
	for done := false; !done; {
		var b *batch
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.pk = b.pk[:0]
		start := rd.frames
		for len(b.pk) < batchSize {
			if err := rr.next(&rec); err != nil {
				if err != io.EOF {
					rd.failed = err
				}
				done = true
				break
			}
			rd.frames++
			if rec.hasTS && rec.ts > rd.maxTS {
				rd.maxTS = rec.ts
			}
			n := len(b.pk)
			if n < cap(b.pk) {
				b.pk = b.pk[:n+1]
			} else {
				b.pk = append(b.pk, packet{})
			}
			p := &b.pk[n]
			p.frame, p.ts, p.hasTS = rec.frame, rec.ts, rec.hasTS
			switch decode(rec.link, rec.data, rec.origLen, p) {
			case decTCP:
				rd.tcp++
				continue
			case decOther:
				rd.other++
			case decFragment:
				rd.fragments++
				if rd.firstFrag == 0 {
					rd.firstFrag = rec.frame
				}
			case decMalformed:
				rd.malformed++
				if rd.firstBad == 0 {
					rd.firstBad = rec.frame
				}
			case decUnsupported:
				rd.unsupported++
				if !rd.badLinks[rec.link] {
					if rd.badLinks == nil {
						rd.badLinks = map[uint32]bool{}
					}
					rd.badLinks[rec.link] = true
					rd.errs = append(rd.errs, posError{rec.frame, rec.offset, fmt.Errorf("link type %d is not decoded: its frames are skipped", rec.link)})
				}
			}
			b.pk = b.pk[:n]
		}
		b.frames, b.span, b.bytes, b.maxTS = rd.frames, rd.frames-start, src.consumed(), rd.maxTS
		select {
		case full <- b:
		case <-stop:
			return
		}
	}
}

// posError is an error with its place in the file.
type posError struct {
	frame  int
	offset int64
	err    error
}

func asPosError(err error, suffix string) posError {
	var re *readError
	if errors.As(err, &re) {
		if suffix != "" {
			return posError{re.frame, re.offset, fmt.Errorf("%w%s", re.err, suffix)}
		}
		return posError{re.frame, re.offset, re.err}
	}
	return posError{err: err}
}

func reportErrors(file string, gz bool, errs []posError, h Handler) {
	if h.Error == nil {
		return
	}
	for _, e := range errs {
		pe := &event.ParseError{File: file, Frame: e.frame, Offset: e.offset, Err: e.err}
		if e.frame > 0 && e.offset > 0 {
			// ParseError prints the frame; the offset goes in the message.
			pe.Err = fmt.Errorf("offset %d: %w", e.offset, e.err)
		}
		if gz && e.offset > 0 {
			pe.Err = fmt.Errorf("%w (offset in the decompressed stream)", pe.Err)
		}
		h.Error(pe)
	}
}

func peek(s *source) []byte {
	s.fill(3)
	return s.buf[s.pos:s.end]
}
