package parsers

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// Header is the collection header the collector writes at the top of every
// file it gathers:
//
//	# cmd: ss -tanpoei
//	# date: 2026-11-21T21:54:54.123456789+00:00
//	# exit: 0
//
// Any run of leading "# key: value" lines with known keys is a header. A
// file without one has a zero Header.
type Header struct {
	Command string
	Date    time.Time // UTC; zero when absent or unreadable
	Zone    string    // the offset the date was printed with, e.g. +08:00
	Exit    int       // exit status of the command; -1 when not recorded
	Host    string
	Note    string
	Lines   int // how many lines the header took
}

var headerKeys = map[string]bool{
	"cmd": true, "command": true, "date": true, "exit": true, "host": true,
	"hostname": true, "note": true, "pid": true, "netmortem-collect": true,
	"duration": true, "timeout": true,
}

// ParseHeader reads a collection header from the start of data. It never
// fails: lines that are not header lines end the header.
func ParseHeader(data []byte) Header {
	h := Header{Exit: -1}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // a header line always ends with a newline
		}
		line := strings.TrimRight(string(data[:i]), "\r")
		if !strings.HasPrefix(line, "# ") {
			break
		}
		key, val, ok := strings.Cut(line[2:], ":")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || !headerKeys[key] {
			break
		}
		val = strings.TrimSpace(val)
		switch key {
		case "cmd", "command":
			h.Command = val
		case "date":
			// A date JSON cannot carry (year 0, 10000) is no clock.
			if t, err := time.Parse(time.RFC3339Nano, val); err == nil && t.Year() >= 1970 && t.Year() < 2200 {
				h.Date = t.UTC()
				h.Zone = t.Format("-07:00")
			}
		case "exit":
			if n, err := strconv.Atoi(val); err == nil {
				h.Exit = n
			}
		case "host", "hostname":
			h.Host = val
		case "note":
			h.Note = val
		}
		h.Lines++
		data = data[i+1:]
	}
	return h
}
