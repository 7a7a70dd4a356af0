package collect

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// captureRun is a tcpdump running beside the other steps.
type captureRun struct {
	step     *step
	stopped  chan struct{} // tcpdump has ended
	done     chan struct{} // and its output is prepared
	stdout   *pcapBuffer
	stderr   capBuffer
	date     time.Time
	dur      time.Duration
	exit     int
	err      error
	asked    time.Duration // the capture length asked for
	got      time.Duration // the capture length the timeout allowed
	outerEnd bool          // an interrupt or the timeout ended it

	// Prepared as soon as tcpdump stops, beside the other steps, so that a
	// big capture does not have to be compressed after the timeout.
	keep, packets int    // whole-record bytes and packets kept
	anonNote      string // what anonymization did
	member        []byte // capture.pcap as a tar entry in its own gzip member
	memberErr     error
}

// pcapBuffer keeps the capture in memory up to its size limit and stops
// tcpdump once the limit is passed.
type pcapBuffer struct {
	mu   sync.Mutex
	buf  []byte
	max  int64
	full bool
	stop func()
}

func (b *pcapBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full {
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	if int64(len(b.buf)) > b.max {
		b.full = true
		b.stop()
	}
	return len(p), nil
}

// bpfFilter is tcpdump's filter for the focus ports.
func bpfFilter(ports []int) string {
	var f []string
	for _, p := range ports {
		f = append(f, "port "+strconv.Itoa(p))
	}
	return strings.Join(f, " or ")
}

// startCapture starts tcpdump for the asked duration, cut short so that it
// ends with the snapshots' share of the timeout: preparing it takes a
// moment, which it shares with reading the logs.
func (c *collector) startCapture() *captureRun {
	o := &c.o
	argv := []string{"tcpdump", "-i", o.Iface, "-n", "-s", strconv.Itoa(o.Snaplen), "-U", "-w", "-"}
	if f := bpfFilter(o.Ports); f != "" {
		argv = append(argv, f)
	}
	argv = c.netArgv(argv)
	r := &captureRun{
		step:    &step{file: "capture.txt", phase: "capture", argv: argv},
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
		asked:   o.PcapDuration,
	}
	now := time.Now()
	end := now.Add(o.PcapDuration)
	if d, ok := c.ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	r.got = end.Sub(now)
	cctx, cancel := context.WithDeadline(c.ctx, end)
	r.stdout = &pcapBuffer{max: o.PcapMaxBytes, stop: cancel}
	r.stderr.max = 4096
	c.n++
	if o.Progress != nil {
		o.Progress(Step{N: c.n, Total: c.total, Phase: "capture", File: "capture.pcap", Command: r.step.command()})
	}
	r.date = o.Now()
	top := c.b.top
	go func() {
		defer close(r.done)
		defer cancel()
		t0 := time.Now()
		r.exit, r.err = o.Exec(cctx, argv, r.stdout, &r.stderr)
		r.dur = time.Since(t0)
		// Its own deadline is within the timeout's; only an interrupt, or a
		// timeout that had already run out, stops it early.
		r.outerEnd = c.parent.Err() != nil || r.got <= 0
		close(r.stopped)
		r.prepare(c.anon, o.PcapMaxBytes, top)
	}()
	return r
}

// prepare trims the capture to whole packets, pseudonymises it and
// compresses it as a tar entry.
func (r *captureRun) prepare(anon *Anonymizer, limit int64, top string) {
	data := r.stdout.buf
	r.keep, r.packets = pcapWhole(data, limit)
	if r.keep == 0 {
		return
	}
	pcap := data[:r.keep]
	if anon != nil {
		n, err := anon.AnonymizePcap(pcap)
		r.anonNote = fmt.Sprintf("addresses pseudonymised in %d of %d packets", n, r.packets)
		if err != nil {
			r.anonNote += "; anonymize: " + err.Error()
		}
	}
	r.member, r.memberErr = gzipEntry(path.Join(top, "capture.pcap"), pcap, r.date)
}

// finishCapture waits for tcpdump and writes capture.pcap and capture.txt
// (tcpdump's own report: packets captured, dropped by the kernel).
func (c *collector) finishCapture(r *captureRun) error {
	<-r.done
	c.n++
	var notes []string
	data := r.stdout.buf
	keep, packets := r.keep, r.packets
	switch {
	case errors.Is(r.err, exec.ErrNotFound):
		r.exit = 127
		notes = append(notes, "not found: "+r.step.argv[0])
		c.addMissing(r.step.argv[0])
	case r.err == nil && r.exit == 127 && c.o.NetNS != "":
		notes = append(notes, "not found: tcpdump") // nsenter could not run it
		c.addMissing("tcpdump")
	case r.stdout.full:
		notes = append(notes, fmt.Sprintf("stopped at --max-size %d bytes", c.o.PcapMaxBytes))
	case r.outerEnd:
		c.timedOut = true
		notes = append(notes, "stopped: "+c.stopReason())
	case r.err != nil && errors.Is(r.err, context.DeadlineExceeded):
		if r.got < r.asked {
			notes = append(notes, fmt.Sprintf("stopped after %v instead of %v to end within the total timeout", r.got.Round(time.Millisecond), r.asked))
		} else {
			notes = append(notes, fmt.Sprintf("stopped after %v as asked", r.asked))
		}
	case r.err != nil:
		notes = append(notes, errText(r.err))
	case deniedRx.Match(r.stderr.bytes()):
		notes = append(notes, "permission denied: capturing needs root or CAP_NET_RAW")
	default:
		notes = append(notes, "tcpdump ended by itself")
	}
	if keep > 0 {
		if r.anonNote != "" {
			notes = append(notes, r.anonNote)
		}
		if r.memberErr != nil {
			return r.memberErr
		}
		if err := c.b.addMember(r.member, int64(keep)); err != nil {
			return err
		}
		c.entries = append(c.entries, entry{file: "capture.pcap", cmd: r.step.command(), exit: r.exit,
			dur: r.dur, bytes: keep, note: fmt.Sprintf("%d packets", packets)})
		if keep < len(data) {
			notes = append(notes, fmt.Sprintf("dropped %d bytes after the last whole packet", len(data)-keep))
		}
	} else if len(data) > 0 {
		notes = append(notes, fmt.Sprintf("%d bytes of output that are not a pcap file were dropped", len(data)))
	}
	if keep > 0 {
		notes = append([]string{fmt.Sprintf("packets in capture.pcap (snap length %d); below is tcpdump's own report", c.o.Snaplen)}, notes...)
	}
	body := r.stderr.bytes()
	file := append(formatHeader(r.step.command(), r.date, r.exit, notes), body...)
	if err := c.b.add(r.step.file, file, r.date); err != nil {
		return err
	}
	c.entries = append(c.entries, entry{file: r.step.file, cmd: r.step.command(), exit: r.exit, dur: r.dur,
		bytes: len(file), note: strings.Join(notes, "; ")})
	return nil
}
