package parsers

import (
	"bufio"
	"bytes"

	"io"
)

// ParseBytes parses data (a whole file, collection header included) as path
// with p. Tests and fuzz targets use it; the bundle walker streams instead.
func ParseBytes(p *Parser, path string, data []byte) *Input {
	in := NewInput(path)
	in.Header = ParseHeader(data)
	body := data
	for i := 0; i < in.Header.Lines; i++ {
		body = body[bytes.IndexByte(body, '\n')+1:]
	}
	in.FirstLine = in.Header.Lines + 1
	RunParser(p, in, bytes.NewReader(body))
	return in
}

// RunParser runs p.Parse, turning a panic into a file error so that one bad
// parser or file never takes the whole analysis down.
func RunParser(p *Parser, in *Input, r io.Reader) {
	defer func() {
		if v := recover(); v != nil {
			in.Errorf(0, "internal error in %s parser: %v", p.Kind, v)
		}
	}()
	p.Parse(in, bufio.NewReaderSize(r, 64<<10))
}
