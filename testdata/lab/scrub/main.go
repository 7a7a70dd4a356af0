// Command scrub trims the kernel logs of a freshly collected lab bundle to
// the lab run: the lab host is shared and long-lived, so its kernel ring
// buffer and journal also hold its boot log and other people's messages,
// which are not part of the incident (and describe the build machine).
//
//	scrub -since-epoch 1763762760 -since-uptime 699.2 DIR
//
// Only files whose collection header says they came from dmesg or
// journalctl are touched; their header is kept, body lines logged before
// the run are dropped (a line without its own time stamp follows the line
// before it).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	rawRe  = regexp.MustCompile(`^\[\s*(\d+\.\d+)\]`)
	humRe  = regexp.MustCompile(`^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\]`)
	isoRe  = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d{4}|Z))`)
	margin = 2.0 // seconds: dmesg -T and raw stamps drift a little from the wall clock
)

func main() {
	sinceEpoch := flag.Float64("since-epoch", 0, "wall clock of the run's start (Unix seconds)")
	sinceUp := flag.Float64("since-uptime", 0, "uptime of the run's start (seconds)")
	flag.Parse()
	if flag.NArg() != 1 || *sinceEpoch == 0 {
		fmt.Fprintln(os.Stderr, "usage: scrub -since-epoch N -since-uptime F DIR")
		os.Exit(2)
	}
	err := filepath.WalkDir(flag.Arg(0), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".pcap") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		cmd := headerCmd(data)
		var keep func(string) (bool, bool)
		switch {
		case strings.HasPrefix(cmd, "dmesg") && strings.Contains(cmd, "-T"):
			keep = func(l string) (bool, bool) {
				m := humRe.FindStringSubmatch(l)
				if m == nil {
					return false, false
				}
				t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", m[1], time.Local)
				return err == nil && float64(t.Unix()) >= *sinceEpoch-margin, err == nil
			}
		case strings.HasPrefix(cmd, "dmesg"):
			keep = func(l string) (bool, bool) {
				m := rawRe.FindStringSubmatch(l)
				if m == nil {
					return false, false
				}
				v, err := strconv.ParseFloat(m[1], 64)
				return err == nil && v >= *sinceUp-margin, err == nil
			}
		case strings.HasPrefix(cmd, "journalctl"):
			keep = func(l string) (bool, bool) {
				m := isoRe.FindStringSubmatch(l)
				if m == nil {
					return false, false
				}
				t, err := time.Parse("2006-01-02T15:04:05-0700", strings.Replace(m[1], "Z", "+0000", 1))
				return err == nil && float64(t.Unix()) >= *sinceEpoch-margin, err == nil
			}
		default:
			return nil
		}
		out, dropped := filter(data, keep)
		if dropped > 0 {
			fmt.Fprintf(os.Stderr, "scrub: %s: %d kernel log lines from before the run dropped\n", p, dropped)
		}
		return os.WriteFile(p, out, 0o644)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scrub:", err)
		os.Exit(1)
	}
}

// headerCmd returns the "# cmd:" value of a collection header.
func headerCmd(data []byte) string {
	for _, l := range strings.SplitN(string(data), "\n", 8) {
		if v, ok := strings.CutPrefix(l, "# cmd: "); ok {
			return v
		}
		if !strings.HasPrefix(l, "# ") {
			break
		}
	}
	return ""
}

// filter keeps the header and the body lines keep accepts.
func filter(data []byte, keep func(string) (ok, stamped bool)) ([]byte, int) {
	var out bytes.Buffer
	lines := strings.SplitAfter(string(data), "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
		out.WriteString(lines[i])
	}
	cur, dropped := false, 0
	for _, l := range lines[i:] {
		if l == "" {
			continue
		}
		if ok, stamped := keep(strings.TrimRight(l, "\r\n")); stamped {
			cur = ok
		}
		if cur {
			out.WriteString(l)
		} else {
			dropped++
		}
	}
	return out.Bytes(), dropped
}
