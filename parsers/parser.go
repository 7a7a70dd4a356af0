// Package parsers turns the artifacts copied off a box into netmortem's
// evidence model (package event): it walks bundles safely, detects each
// file's kind by its content, and runs one parser per format.
//
// A parser is a value in the ordered Registry. It returns everything it could
// decode and reports every line it could not, with its position; it never
// stops at the first odd line and never reads the clock, the zone or the
// host name of the machine it runs on.
package parsers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-multierror"

	"github.com/netmortem/netmortem/parsers/event"
)

// Parser reads one artifact kind.
type Parser struct {
	Kind    string // stable id, shown in reports: ss, netstat, lsof, ...
	Title   string // one line for `netmortem formats`
	Command string // the command(s) that produce it
	// Detect reports whether head (the first bytes of the file, after any
	// collection header, at most DetectBytes) looks like this kind.
	// Detectors are tried in Registry order; the first that says yes wins.
	Detect func(head []byte) bool
	// Parse reads the whole body and writes records to in.Out, reporting
	// problems with in.Errorf. It must not panic on any input.
	Parse func(in *Input, r io.Reader)
}

// DetectBytes is how much of a file detection may look at.
const DetectBytes = 1024

// MaxErrorsPerFile caps the errors kept for one file; the rest are counted.
const MaxErrorsPerFile = 50

// MaxLineBytes is the longest line a parser is handed. A longer line is
// reported once and skipped; the file goes on.
const MaxLineBytes = 1 << 20

// Options carry what the user told us about time.
type Options struct {
	Year int    // year for stamps printed without one (0: from the bundle)
	TZ   string // zone for stamps printed without one ("": from the bundle)
}

// Input is one file being parsed: where it is, what its collection header
// said, where records go, and the errors found so far.
type Input struct {
	Path   string // slash-separated path inside the bundle
	Host   string
	Header Header
	Out    *event.Evidence
	// FirstLine is the line number of the first body line (after the
	// collection header); Lines numbers from it.
	FirstLine int

	errs    multierror.Error // positioned errors, at most MaxErrorsPerFile
	dropped int
}

// NewInput returns an Input for path with an empty evidence set.
func NewInput(path string) *Input {
	return &Input{Path: path, Out: &event.Evidence{}, FirstLine: 1}
}

// Ref returns a reference to line n of this file.
func (in *Input) Ref(line int) event.Ref { return event.Ref{File: in.Path, Line: line} }

// Meta returns record metadata for line n: the file's header time (if the
// collector wrote one) stands for records that carry no time of their own.
func (in *Input) Meta(line int) event.Meta {
	return event.Meta{Ref: in.Ref(line), Time: in.Header.Date, Host: in.Host}
}

// Errorf records a positioned error. line 0 means the whole file.
func (in *Input) Errorf(line int, format string, args ...any) {
	in.Error(line, fmt.Errorf(format, args...))
}

// Error records a positioned error.
func (in *Input) Error(line int, err error) {
	in.ErrorAt(&event.ParseError{File: in.Path, Line: line, Err: err})
}

// ErrorAt records an error that already carries its position (a frame or
// a byte offset of a binary file), under the same cap as Error.
func (in *Input) ErrorAt(pe *event.ParseError) {
	if len(in.errs.Errors) >= MaxErrorsPerFile {
		in.dropped++
		return
	}
	if pe.File == "" {
		pe.File = in.Path
	}
	in.errs.Errors = append(in.errs.Errors, pe)
}

// Errors returns the errors recorded, and how many more were dropped.
func (in *Input) Errors() ([]error, int) { return in.errs.Errors, in.dropped }

// ErrLineTooLong is reported for a line longer than MaxLineBytes.
var ErrLineTooLong = errors.New("line too long")

// Lines calls fn for every line of r with its number (starting at
// in.FirstLine), without the line ending (\n or \r\n). The slice is only
// valid during the call. A line over MaxLineBytes is reported and skipped;
// a read error is reported and ends the file. A last line without a newline
// is still delivered.
func (in *Input) Lines(r io.Reader, fn func(n int, line []byte)) {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	n := in.FirstLine - 1
	var long []byte // accumulates a line longer than the buffer
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !tooLong {
				long = append(long, chunk...)
				if len(long) > MaxLineBytes {
					tooLong, long = true, long[:0]
				}
			}
			continue
		}
		if len(chunk) > 0 || long != nil || tooLong {
			n++
			line := chunk
			if long != nil && !tooLong {
				long = append(long, chunk...)
				line = long
			}
			if tooLong || len(line) > MaxLineBytes {
				in.Errorf(n, "%w (over %d bytes), skipped", ErrLineTooLong, MaxLineBytes)
			} else {
				line = bytes.TrimSuffix(line, []byte{'\n'})
				line = bytes.TrimSuffix(line, []byte{'\r'})
				fn(n, line)
			}
			long, tooLong = nil, false
		}
		if err != nil {
			if err != io.EOF {
				in.Errorf(n+1, "read: %w", err)
			}
			return
		}
	}
}
