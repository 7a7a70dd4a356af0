package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/netmortem/netmortem/parsers/capture"
	"github.com/netmortem/netmortem/parsers/event"
)

// flowsOptions are the flags of `netmortem flows`.
type flowsOptions struct {
	io *IOStreams

	Paths      []string
	Format     string
	Filter     string
	IgnoreVLAN bool
	Quiet      bool

	filter *flowFilter
}

func newFlowsCmd(ios *IOStreams) *cobra.Command {
	opts := &flowsOptions{io: ios}
	cmd := &cobra.Command{
		Use:   "flows CAPTURE...",
		Short: "List the TCP connections of packet captures, with their states and anomalies",
		Long: `Flows rebuilds every TCP connection of pcap or pcapng captures (plain or
gzip-compressed, - for standard input): who initiated it, its handshake,
bytes each way, who closed it and how, each side's inferred Linux state at
the end of the capture (a client FIN with no server FIN leaves the server
in CLOSE_WAIT), and the patterns the analyzers use, each with the frame
that shows it (frames numbered from 1, as in Wireshark).

Connections come in the order of their first frame. The same 4-tuple on
different VLANs is different connections (tshark's conversation table
merges them; --ignore-vlan does too). JSON is written as connections end,
in constant memory; the table is laid out once all are read, so prefer
JSON (or a --filter) for captures of millions of connections.

--filter keeps the connections for which every term holds ("and" between
terms is optional; "not" negates the next term):
  host ADDR      either end has this address
  net CIDR       either end is in this range
  port N         either end has this port
  state STATE    either side ended in this state (CLOSE_WAIT or CLOSE-WAIT, ...)
  anomaly KIND   the connection shows this pattern: handshake-then-rst,
                 connect-then-rst, connect-then-idle, syn-unanswered,
                 synack-retrans, refused, no-response, zero-window,
                 one-sided, fragmented, evicted
  vlan TAG       seen with this 802.1Q tag (10, or 10.20 for QinQ)
The patterns across connections (healthcheck-periodic, active-closer) are
listed after the connections; host, net, port and anomaly KIND filter
them too.

Exit codes: 0 done (damaged captures are read up to the damage, with a
warning); 2 usage error; 3 no capture could be read.`,
		Example: `  netmortem flows cap.pcap
  netmortem flows --filter 'port 8080 and anomaly handshake-then-rst' cap.pcapng.gz
  netmortem flows --format json --filter 'state CLOSE_WAIT' a.pcap b.pcap > flows.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("flows needs at least one CAPTURE (a pcap or pcapng file, or -)"))
			}
			opts.Paths = args
			return flowsRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "table", "output format: table or json")
	f.StringVar(&opts.Filter, "filter", "", "keep connections matching all terms, e.g. 'port 80 and state CLOSE_WAIT' (see above)")
	f.BoolVar(&opts.IgnoreVLAN, "ignore-vlan", false, "key connections by 4-tuple alone, as tshark does")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress or warnings on standard error")
	return cmd
}

// flowsWriter is one output format, fed connection by connection.
type flowsWriter interface {
	flow(file string, f *event.Flow) error
	events(file string, evs []event.PacketEvent) error
	close() error
}

func flowsRun(opts *flowsOptions) error {
	flt, err := parseFlowFilter(opts.Filter)
	if err != nil {
		return usageErr(fmt.Errorf("--filter: %w", err))
	}
	opts.filter = flt
	bw := bufio.NewWriterSize(opts.io.Out, 1<<20)
	var w flowsWriter
	switch opts.Format {
	case "table":
		w = &flowsTable{out: bw, multi: len(opts.Paths) > 1}
	case "json":
		w = &flowsJSON{out: bw}
	default:
		return usageErr(fmt.Errorf("--format %q: want table or json", opts.Format))
	}
	read := 0
	var failures []string
	for _, path := range opts.Paths {
		ok, err := flowsFile(opts, path, w)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if ok {
			read++
		} else {
			failures = append(failures, path)
		}
	}
	if read == 0 {
		// No report at all, rather than an empty one.
		return inputErr(fmt.Errorf("no capture could be read (%s)", strings.Join(failures, ", ")))
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// flowsFile analyses one capture into w. ok is false when nothing of it
// could be read; err is a write error.
func flowsFile(opts *flowsOptions, path string, w flowsWriter) (ok bool, err error) {
	warn := func(format string, args ...any) {
		if !opts.Quiet {
			fmt.Fprintf(opts.io.ErrOut, "warning: "+format+"\n", args...)
		}
	}
	var r io.Reader
	var size int64 = -1
	name := path
	if path == "-" {
		r, name = opts.io.In, "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			warn("%v", err)
			return false, nil
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		r = f
	}
	co := capture.Options{File: name, IgnoreVLAN: opts.IgnoreVLAN}
	var prog *flowsProgress
	if opts.io.ErrIsTTY && !opts.Quiet && (size < 0 || size > 4<<20) {
		prog = &flowsProgress{out: opts.io.ErrOut, name: name, size: size, start: time.Now()}
		co.Progress = prog.update
	}
	var events []event.PacketEvent
	sink := newFlowSink(w, name)
	st := capture.Analyze(r, co, capture.Handler{
		Flow: func(f *event.Flow) {
			if opts.filter.match(f) {
				sink.add(f)
			}
		},
		Event: func(e *event.PacketEvent) {
			if opts.filter.matchEvent(e) {
				events = append(events, *e)
			}
		},
		Error: func(e *event.ParseError) { warn("%v", e) },
	})
	werr := sink.wait()
	prog.clear()
	if werr != nil {
		return true, werr
	}
	if st.Format == capture.FormatUnknown {
		return false, nil
	}
	return true, w.events(name, events)
}

// flowSink formats connections on a goroutine of its own, a batch at a
// time, while the capture is still being read: on a large capture the
// output costs little more than the analysis.
type flowSink struct {
	w    flowsWriter
	file string
	cur  []event.Flow
	full chan []event.Flow
	free chan []event.Flow
	done chan struct{}
	err  error
}

const sinkBatch = 1024

func newFlowSink(w flowsWriter, file string) *flowSink {
	s := &flowSink{w: w, file: file, full: make(chan []event.Flow, 4), free: make(chan []event.Flow, 6), done: make(chan struct{})}
	for range cap(s.free) {
		s.free <- make([]event.Flow, 0, sinkBatch)
	}
	s.cur = <-s.free
	go func() {
		defer close(s.done)
		for b := range s.full {
			for i := range b {
				if s.err == nil {
					s.err = s.w.flow(s.file, &b[i])
				}
			}
			s.free <- b[:0]
		}
	}()
	return s
}

// add copies f (Analyze reuses it) into the current batch.
func (s *flowSink) add(f *event.Flow) {
	s.cur = append(s.cur, *f)
	if len(s.cur) == sinkBatch {
		s.full <- s.cur
		s.cur = <-s.free
	}
}

// wait writes what is left and returns the first write error.
func (s *flowSink) wait() error {
	if len(s.cur) > 0 {
		s.full <- s.cur
	}
	close(s.full)
	<-s.done
	return s.err
}

// flowsProgress shows bytes read and packets per second on a terminal.
type flowsProgress struct {
	out   io.Writer
	name  string
	size  int64
	start time.Time
	last  time.Time
	shown bool
}

func (p *flowsProgress) update(frames int, n int64) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	rate := float64(frames) / max(now.Sub(p.start).Seconds(), 1e-3)
	if p.size > 0 {
		fmt.Fprintf(p.out, "\r%s: %d of %d MB (%d%%), %d packets, %.0f packets/s\x1b[K",
			p.name, n>>20, p.size>>20, n*100/p.size, frames, rate)
	} else {
		fmt.Fprintf(p.out, "\r%s: %d MB, %d packets, %.0f packets/s\x1b[K", p.name, n>>20, frames, rate)
	}
}

func (p *flowsProgress) clear() {
	if p != nil && p.shown {
		fmt.Fprint(p.out, "\r\x1b[K")
	}
}

// flowFilter is a conjunction of terms.
type flowFilter struct {
	terms []filterTerm
}

type filterTerm struct {
	not   bool
	key   string
	addr  netip.Addr
	net   netip.Prefix
	port  uint16
	state event.State
	text  string
}

// parseFlowFilter reads the --filter language described in the help.
func parseFlowFilter(s string) (*flowFilter, error) {
	f := &flowFilter{}
	words := strings.Fields(s)
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		if w == "and" {
			continue
		}
		var t filterTerm
		if w == "not" {
			t.not = true
			if i++; i == len(words) {
				return nil, errors.New(`"not" at the end`)
			}
			w = strings.ToLower(words[i])
		}
		if i+1 == len(words) {
			return nil, fmt.Errorf("%q needs a value", w)
		}
		i++
		v := words[i]
		t.key = w
		switch w {
		case "host":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, fmt.Errorf("host %q: %w", v, err)
			}
			t.addr = a.Unmap()
		case "net":
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, fmt.Errorf("net %q: %w", v, err)
			}
			t.net = p.Masked()
		case "port":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("port %q: not a port number", v)
			}
			t.port = uint16(n)
		case "state":
			st, ok := event.ParseState(strings.ToUpper(v))
			if !ok {
				return nil, fmt.Errorf("state %q: not a TCP state", v)
			}
			t.state = st
		case "anomaly", "vlan":
			t.text = v
		default:
			return nil, fmt.Errorf("unknown term %q (want host, net, port, state, anomaly or vlan)", w)
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

func (t *filterTerm) endpoint(e event.Endpoint) bool {
	switch t.key {
	case "host":
		return e.Addr.IsValid() && e.IP() == t.addr
	case "net":
		if e.Addr.IsValid() {
			return t.net.Contains(e.IP())
		}
		// A source range of a pattern: it must lie inside the net.
		p, err := netip.ParsePrefix(e.Host)
		return err == nil && p.Bits() >= t.net.Bits() && t.net.Contains(p.Addr())
	case "port":
		return !e.Wildcard && e.Port == t.port
	}
	return false
}

func (f *flowFilter) match(fl *event.Flow) bool {
	for i := range f.terms {
		t := &f.terms[i]
		var ok bool
		switch t.key {
		case "host", "net", "port":
			ok = t.endpoint(fl.Src) || t.endpoint(fl.Dst)
		case "state":
			ok = fl.StateSrc == t.state || fl.StateDst == t.state
		case "anomaly":
			for _, a := range fl.Anomalies {
				ok = ok || a.Kind == t.text
			}
		case "vlan":
			src, dst, _ := strings.Cut(fl.VLAN, "/")
			ok = src == t.text || dst == t.text
		}
		if ok == t.not {
			return false
		}
	}
	return true
}

// matchEvent applies the filter to a pattern event: address terms to its
// endpoints, anomaly to its kind; state and vlan never hold for one.
func (f *flowFilter) matchEvent(e *event.PacketEvent) bool {
	for i := range f.terms {
		t := &f.terms[i]
		var ok bool
		switch t.key {
		case "host", "net", "port":
			ok = t.endpoint(e.Src) || t.endpoint(e.Dst)
		case "anomaly":
			ok = e.Kind == t.text
		}
		if ok == t.not {
			return false
		}
	}
	return true
}

// flowsTable renders the connections as a table once all are read.
type flowsTable struct {
	out      io.Writer
	multi    bool
	rows     [][]string
	patterns [][]string
}

func (t *flowsTable) flow(file string, f *event.Flow) error {
	var row []string
	if t.multi {
		row = append(row, file)
	}
	start, dur := "unknown", ""
	if !f.Start.IsZero() {
		start = f.Start.Format("2006-01-02 15:04:05.000000")
		dur = fmtDuration(f.End.Sub(f.Start))
	}
	var closed []string
	for _, c := range []struct {
		what  string
		frame int
	}{{"FIN src", f.FinSrc}, {"FIN dst", f.FinDst}, {"RST src", f.RstSrc}, {"RST dst", f.RstDst}} {
		if c.frame != 0 {
			closed = append(closed, fmt.Sprintf("%s #%d", c.what, c.frame))
		}
	}
	var anomalies []string
	for _, a := range f.Anomalies {
		anomalies = append(anomalies, fmt.Sprintf("%s #%d", a.Kind, a.Frame))
	}
	hs := "-"
	switch {
	case f.Established:
		hs = "done"
	case f.SynAck:
		hs = "syn-ack"
	case f.Initiated:
		hs = "syn"
	}
	if f.SynRetrans+f.SynAckRetx > 0 {
		hs += fmt.Sprintf(" (retx %d/%d)", f.SynRetrans, f.SynAckRetx)
	}
	src, dst := f.Src.String(), f.Dst.String()
	if f.VLAN != "" {
		src += " vlan " + f.VLAN
	}
	row = append(row, src, dst, start, dur, fmt.Sprintf("%d-%d", f.FirstFrame, f.LastFrame), strconv.Itoa(f.Packets), hs,
		fmt.Sprintf("%d/%d", f.BytesSrc, f.BytesDst), string(f.StateSrc)+"/"+string(f.StateDst),
		strings.Join(closed, ", "), strings.Join(anomalies, ", "))
	t.rows = append(t.rows, row)
	return nil
}

func (t *flowsTable) events(file string, evs []event.PacketEvent) error {
	for _, e := range evs {
		t.patterns = append(t.patterns, []string{e.Ref.String(), e.Kind, e.Src.String(), e.Dst.String(), e.Note})
	}
	_ = file
	return nil
}

func newTextTable(out io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(out,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
}

func (t *flowsTable) close() error {
	if len(t.rows) == 0 {
		if _, err := fmt.Fprintln(t.out, "no TCP connections"); err != nil {
			return err
		}
	} else {
		tbl := newTextTable(t.out)
		var hdr []string
		if t.multi {
			hdr = append(hdr, "File")
		}
		tbl.Header(append(hdr, "Src (initiator)", "Dst", "Start (UTC)", "Duration", "Frames", "Pkts", "Handshake", "Bytes src/dst", "State src/dst", "Closed by", "Anomalies"))
		if err := tbl.Bulk(t.rows); err != nil {
			return err
		}
		if err := tbl.Render(); err != nil {
			return err
		}
	}
	if len(t.patterns) > 0 {
		if _, err := fmt.Fprintln(t.out, "\nPatterns across connections:"); err != nil {
			return err
		}
		tbl := newTextTable(t.out)
		tbl.Header([]string{"Where", "Pattern", "Src", "Dst", "What"})
		if err := tbl.Bulk(t.patterns); err != nil {
			return err
		}
		return tbl.Render()
	}
	return nil
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Minute:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// flowsJSON streams {"schema_version":1,"flows":[...],"events":[...]}:
// each connection is written as it is handed on, so memory stays flat
// however many there are. Encoding is by hand for speed; the test checks
// it against encoding/json.
type flowsJSON struct {
	out  io.Writer
	buf  []byte
	n    int
	evs  []byte // the events, written at the end
	nevs int
}

const flowsSchemaVersion = 1

func (j *flowsJSON) flow(file string, f *event.Flow) error {
	b := j.buf[:0]
	if j.n == 0 {
		b = append(b, `{"schema_version":`...)
		b = strconv.AppendInt(b, flowsSchemaVersion, 10)
		b = append(b, `,"flows":[`...)
	} else {
		b = append(b, ',')
	}
	j.n++
	b = append(b, "\n"+`{"file":`...)
	b = appendJSONString(b, file)
	b = append(b, `,"src":`...)
	b = appendEndpoint(b, f.Src)
	b = append(b, `,"dst":`...)
	b = appendEndpoint(b, f.Dst)
	b = append(b, `,"vlan":`...)
	b = appendJSONString(b, f.VLAN)
	b = append(b, `,"start":`...)
	b = appendTime(b, f.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, f.End)
	for _, kv := range [...]struct {
		k string
		v int64
	}{
		{"first_frame", int64(f.FirstFrame)}, {"last_frame", int64(f.LastFrame)}, {"packets", int64(f.Packets)},
	} {
		b = appendInt(b, kv.k, kv.v)
	}
	b = appendBool(b, "initiated", f.Initiated)
	b = appendBool(b, "syn_ack", f.SynAck)
	b = appendBool(b, "established", f.Established)
	for _, kv := range [...]struct {
		k string
		v int64
	}{
		{"syn_retrans", int64(f.SynRetrans)}, {"synack_retrans", int64(f.SynAckRetx)},
		{"bytes_src", f.BytesSrc}, {"bytes_dst", f.BytesDst},
		{"fin_src", int64(f.FinSrc)}, {"fin_dst", int64(f.FinDst)}, {"rst_src", int64(f.RstSrc)}, {"rst_dst", int64(f.RstDst)},
		{"retrans", int64(f.Retrans)}, {"zero_window", int64(f.ZeroWindow)}, {"keepalives", int64(f.KeepAlives)},
	} {
		b = appendInt(b, kv.k, kv.v)
	}
	b = append(b, `,"state_src":`...)
	b = appendJSONString(b, string(f.StateSrc))
	b = append(b, `,"state_dst":`...)
	b = appendJSONString(b, string(f.StateDst))
	b = appendBool(b, "truncated", f.Truncated)
	b = append(b, `,"anomalies":[`...)
	for i, a := range f.Anomalies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendJSONString(b, a.Kind)
		b = appendInt(b, "frame", int64(a.Frame))
		b = append(b, `,"note":`...)
		b = appendJSONString(b, a.Note)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	j.buf = b
	_, err := j.out.Write(b)
	return err
}

func (j *flowsJSON) events(file string, evs []event.PacketEvent) error {
	for _, e := range evs {
		b := j.evs
		if j.nevs > 0 {
			b = append(b, ',')
		}
		j.nevs++
		b = append(b, "\n"+`{"file":`...)
		b = appendJSONString(b, file)
		b = append(b, `,"kind":`...)
		b = appendJSONString(b, e.Kind)
		b = appendInt(b, "frame", int64(e.Ref.Frame))
		b = append(b, `,"time":`...)
		b = appendTime(b, e.Time)
		b = append(b, `,"src":`...)
		b = appendJSONString(b, e.Src.String())
		b = append(b, `,"dst":`...)
		b = appendJSONString(b, e.Dst.String())
		b = append(b, `,"note":`...)
		b = appendJSONString(b, e.Note)
		j.evs = append(b, '}')
	}
	return nil
}

func (j *flowsJSON) close() error {
	var b []byte
	if j.n == 0 {
		b = append(b, `{"schema_version":`...)
		b = strconv.AppendInt(b, flowsSchemaVersion, 10)
		b = append(b, `,"flows":[`...)
	}
	b = append(b, `],"events":[`...)
	b = append(b, j.evs...)
	b = append(b, "]}\n"...)
	_, err := j.out.Write(b)
	return err
}

func appendInt(b []byte, k string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func appendBool(b []byte, k string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

// appendEndpoint writes "IP:port", IPv6 in brackets.
func appendEndpoint(b []byte, e event.Endpoint) []byte {
	if !e.Addr.IsValid() {
		return appendJSONString(b, e.String())
	}
	b = append(b, '"')
	b = netip.AddrPortFrom(e.Addr, e.Port).AppendTo(b)
	return append(b, '"')
}

// appendTime writes RFC 3339 in UTC with the precision the source had
// (time.RFC3339Nano), or "unknown". Formatting by hand halves the cost of
// a flow's JSON.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, `"unknown"`...)
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	h, mi, sec := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		b = appendDigits(b, ns, 9)
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return append(b, 'Z', '"')
}

// appendDigits writes v in exactly n decimal digits.
func appendDigits(b []byte, v, n int) []byte {
	start := len(b)
	b = append(b, "000000000"[:n]...)
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
