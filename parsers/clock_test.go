package parsers

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netmortem/netmortem/parsers/event"
)

func TestClockFiles(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name   string
		parser *Parser
		text   string
		want   event.Clock
	}{
		{"date", dateParser, "Sat Nov 21 22:02:23 UTC 2026\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23Z"), Zone: "UTC"}},
		{"date one-digit day", dateParser, "Sun Nov  1 08:00:00 GMT 2026\n", event.Clock{Kind: "date", At: utc("2026-11-01T08:00:00Z"), Zone: "GMT"}},
		{"date numeric zone", dateParser, "Sat Nov 21 22:02:23 +08 2026\n", event.Clock{Kind: "date", At: utc("2026-11-21T14:02:23Z"), Zone: "+08"}},
		{"date ambiguous zone", dateParser, "Sat Nov 21 22:02:23 CST 2026\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23Z"), Zone: "CST", NoZone: true}},
		{"date -R", dateParser, "Sat, 21 Nov 2026 22:02:23 +0800\n", event.Clock{Kind: "date", At: utc("2026-11-21T14:02:23Z"), Zone: "+08:00"}},
		{"date -Iseconds", dateParser, "2026-11-21T22:02:23-05:00\n", event.Clock{Kind: "date", At: utc("2026-11-22T03:02:23Z"), Zone: "-05:00"}},
		{"date -Ins", dateParser, "2026-11-21T22:02:23,123456789+00:00\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23.123456789Z"), Zone: "+00:00"}},
		{"date --rfc-3339", dateParser, "2026-11-21 22:02:23+00:00\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23Z"), Zone: "+00:00"}},
		{"date +%s", dateParser, "1795298543\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23Z")}},
		{"date +%s.%N", dateParser, "1795298543.5\n", event.Clock{Kind: "date", At: utc("2026-11-21T22:02:23.5Z")}},
		{"uptime -s", uptimeSinceParser, "2026-11-21 21:54:21\n", event.Clock{Kind: "boot", At: utc("2026-11-21T21:54:21Z"), NoZone: true}},
		{"/proc/uptime", procUptimeParser, "483.01 855.79\n", event.Clock{Kind: "uptime", Uptime: 483010 * time.Millisecond}},
		{"/proc/uptime dated", procUptimeParser, "# cmd: cat /proc/uptime\n# date: 2026-11-21T22:02:23+00:00\n483.01 855.79\n",
			event.Clock{Kind: "uptime", Uptime: 483010 * time.Millisecond, At: utc("2026-11-21T21:54:19.99Z")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if p := Detect(logHead([]byte(tc.text))); p != tc.parser {
				t.Errorf("Detect = %s, want %s", logKind(p), tc.parser.Kind)
			}
			in := parseText(t, tc.parser, "clock.txt", tc.text)
			if errs := errorStrings(in); len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if len(in.Out.Clocks) != 1 {
				t.Fatalf("clocks %+v", in.Out.Clocks)
			}
			got := in.Out.Clocks[0]
			if got.Ref.Line == 0 {
				t.Errorf("no line in ref %+v", got.Ref)
			}
			got.Meta = event.Meta{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, s := range []string{"1024\n", "2147483647\n", "0.08 0.03 0.01 1/123 4567\n", "Sat Nov 21 22:02:23 UTC 2026\nsecond line\n", "2026-11-21\n", "12345\n"} {
		for _, p := range []*Parser{dateParser, uptimeSinceParser, procUptimeParser} {
			if p.Detect([]byte(s)) {
				t.Errorf("%s claims %q", p.Kind, s)
			}
		}
	}
	in := parseText(t, dateParser, "date.txt", "Sat Nov 21 22:02:23 UTC 2026\nextra\n")
	if errs := errorStrings(in); len(errs) != 1 || errs[0] != "date.txt:2: date prints one line; extra line ignored" {
		t.Errorf("errors %q", errs)
	}
}

// bundle builds the evidence of several files on one host, as the bundle
// walker would merge them.
func logBundle(t *testing.T, files map[string]string) *event.Evidence {
	t.Helper()
	ev := &event.Evidence{}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := []byte(files[name])
		p := Detect(logHead(data))
		if p == nil {
			t.Fatalf("%s: not detected", name)
		}
		in := ParseBytes(p, name, data)
		if errs := errorStrings(in); len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		if c, ok := HeaderClock(in); ok { // as the walker does
			in.Out.Clocks = append(in.Out.Clocks, c)
		}
		ev.Merge(in.Out)
	}
	return ev
}

func logTimes(ev *event.Evidence, file string) []string {
	var out []string
	for _, e := range ev.Logs {
		if e.Ref.File == file {
			out = append(out, event.FormatTime(e.Time))
		}
	}
	return out
}

const rawDmesg = `[  414.105327] TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:8080. Sending cookies.
[  441.888322] nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
`

const ctimeDmesg = `[Sat Nov 21 22:01:14 2026] TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:8080. Sending cookies.
[Sat Nov 21 22:01:41 2026] nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
`

func TestResolveTimes(t *testing.T) {
	btime := "2026-11-21T21:54:20Z"
	tests := []struct {
		name     string
		files    map[string]string
		opts     Options
		clocks   []event.Clock // added to the parsed evidence (another parser's records)
		want     map[string][]string
		warnings []string
	}{
		{
			name:   "raw dmesg placed by btime",
			files:  map[string]string{"dmesg.txt": rawDmesg},
			clocks: []event.Clock{{Kind: "boot", At: logTime(t, btime), Meta: event.Meta{Ref: event.Ref{File: "proc-stat.txt", Line: 7}}}},
			want:   map[string][]string{"dmesg.txt": {"2026-11-21T22:01:14.105327Z", "2026-11-21T22:01:41.888322Z"}},
		},
		{
			name:  "raw dmesg placed by dmesg -T, zone from date",
			files: map[string]string{"dmesg.txt": rawDmesg, "dmesg-T.txt": ctimeDmesg, "date.txt": "Sat Nov 21 22:02:23 UTC 2026\n"},
			want: map[string][]string{
				"dmesg-T.txt": {"2026-11-21T22:01:14Z", "2026-11-21T22:01:41Z"},
				// -T is cut to the second: boot is 21:54:19.894673 + uptime.
				"dmesg.txt": {"2026-11-21T22:01:14Z", "2026-11-21T22:01:41.782995Z"},
			},
		},
		{
			name:  "raw dmesg placed by /proc/uptime and date",
			files: map[string]string{"dmesg.txt": rawDmesg, "uptime.txt": "483.01 855.79\n", "date.txt": "1795298543\n"},
			want:  map[string][]string{"dmesg.txt": {"2026-11-21T22:01:14.095327Z", "2026-11-21T22:01:41.878322Z"}},
		},
		{
			name:  "raw dmesg placed by uptime -s and --tz",
			files: map[string]string{"dmesg.txt": rawDmesg, "uptime-s.txt": "2026-11-22 05:54:20\n"},
			opts:  Options{TZ: "+08:00"},
			want:  map[string][]string{"dmesg.txt": {"2026-11-21T22:01:14.105327Z", "2026-11-21T22:01:41.888322Z"}},
		},
		{
			name:  "uptime -s placed with the date's zone, dmesg -T preferred to it",
			files: map[string]string{"dmesg.txt": rawDmesg, "dmesg-T.txt": ctimeDmesg, "uptime-s.txt": "2026-11-22 05:54:10\n", "date.txt": "Sun, 22 Nov 2026 06:02:23 +0800\n"},
			want: map[string][]string{
				"dmesg-T.txt": {"2026-11-21T14:01:14Z", "2026-11-21T14:01:41Z"}, // -T printed local time: read as +08:00
				// uptime -s would have given boot 21:54:10Z, so 22:01:04.105327Z.
				"dmesg.txt": {"2026-11-21T14:01:14Z", "2026-11-21T14:01:41.782995Z"},
			},
		},
		{
			name:     "raw dmesg without a boot time",
			files:    map[string]string{"dmesg.txt": rawDmesg},
			want:     map[string][]string{"dmesg.txt": {"unknown", "unknown"}},
			warnings: []string{"dmesg.txt: 2 lines are seconds since boot and the boot time is unknown; add /proc/stat, uptime -s, or /proc/uptime with a date"},
		},
		{
			name:     "dmesg of a previous boot",
			files:    map[string]string{"dmesg.txt": rawDmesg + "[90000.000000] later than the clock\n", "date.txt": "Sat Nov 21 22:02:23 UTC 2026\n"},
			clocks:   []event.Clock{{Kind: "boot", At: logTime(t, btime), Meta: event.Meta{Ref: event.Ref{File: "proc-stat.txt", Line: 7}}}},
			want:     map[string][]string{"dmesg.txt": {"unknown", "unknown", "unknown"}},
			warnings: []string{"dmesg.txt: 3 lines are seconds since a boot later than the host's clock allows (a previous boot's dmesg?); left unplaced"},
		},
		{
			name: "syslog across new year, year and zone from date",
			files: map[string]string{
				"messages": "Dec 31 23:59:59 h kernel: TCP: time wait bucket table overflow\nJan  1 00:00:01 h kernel: TCP: time wait bucket table overflow\n",
				"date.txt": "Fri, 01 Jan 2027 08:30:00 +0800\n",
			},
			want: map[string][]string{"messages": {"2026-12-31T15:59:59Z", "2026-12-31T16:00:01Z"}},
		},
		{
			name: "syslog with --year and --tz, no clock",
			files: map[string]string{
				"messages": "Dec 31 23:59:59 h kernel: TCP: time wait bucket table overflow\nJan  1 00:00:01 h kernel: TCP: time wait bucket table overflow\n",
			},
			opts: Options{Year: 2027, TZ: "UTC"},
			want: map[string][]string{"messages": {"2026-12-31T23:59:59Z", "2027-01-01T00:00:01Z"}},
		},
		{
			name:  "syslog with nothing to place it",
			files: map[string]string{"kern.log": "Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow\nNov 24 13:37:54 xxxx kernel: TCP: time wait bucket table overflow\n"},
			want:  map[string][]string{"kern.log": {"unknown", "unknown"}},
			warnings: []string{
				"kern.log: 2 lines have no year; pass --year",
			},
		},
		{
			name:     "syslog with a year but no zone",
			files:    map[string]string{"kern.log": "Nov 24 13:37:53 xxxx kernel: TCP: time wait bucket table overflow\n"},
			opts:     Options{Year: 2017},
			want:     map[string][]string{"kern.log": {"unknown"}},
			warnings: []string{"kern.log: 1 line has no time zone; pass --tz"},
		},
		{
			name:     "february 29 in a common year",
			files:    map[string]string{"kern.log": "Feb 29 10:00:00 h kernel: x\n"},
			opts:     Options{Year: 2027, TZ: "Z"},
			want:     map[string][]string{"kern.log": {"unknown"}},
			warnings: []string{"kern.log: 1 line has a date that does not exist in the year found"},
		},
		{
			name:     "--tz Local is refused",
			files:    map[string]string{"app.log": "2026/11/21 22:03:37 dial tcp 127.0.0.1:1: connect: connection refused\n"},
			opts:     Options{TZ: "Local"},
			want:     map[string][]string{"app.log": {"unknown"}},
			warnings: []string{`--tz "Local": unknown zone; ignored`, "app.log: 1 line has no time zone; pass --tz"},
		},
		{
			name:  "app log zone from a collection header",
			files: map[string]string{"app.log": "# cmd: tail app.log\n# date: 2026-11-21T22:10:16+08:00\n2026/11/21 22:03:37 dial tcp 127.0.0.1:1: connect: connection refused\n"},
			want:  map[string][]string{"app.log": {"2026-11-21T14:03:37Z"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := logBundle(t, tc.files)
			ev.Clocks = append(ev.Clocks, tc.clocks...)
			warnings := ResolveTimes(ev, tc.opts)
			for file, want := range tc.want {
				if got := logTimes(ev, file); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: times %q, want %q", file, got, want)
				}
			}
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings\n%q\nwant\n%q", warnings, tc.warnings)
			}
		})
	}
}

func logTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// TestResolveTimesPerHost: one host's clock does not place another's lines.
func TestResolveTimesPerHost(t *testing.T) {
	a := logBundle(t, map[string]string{"a/dmesg.txt": rawDmesg})
	a.SetHost("client")
	b := logBundle(t, map[string]string{"b/dmesg.txt": rawDmesg})
	b.SetHost("server")
	b.Clocks = append(b.Clocks, event.Clock{Meta: event.Meta{Host: "server", Ref: event.Ref{File: "b/stat", Line: 1}}, Kind: "boot", At: logTime(t, "2026-11-21T21:54:20Z")})
	a.Merge(b)
	w := ResolveTimes(a, Options{})
	for _, c := range a.Clocks {
		if c.NoZone {
			t.Errorf("clock left without zone: %+v", c)
		}
	}
	if got := logTimes(a, "a/dmesg.txt"); got[0] != "unknown" {
		t.Errorf("client placed by the server's boot: %v", got)
	}
	if got := logTimes(a, "b/dmesg.txt"); got[0] != "2026-11-21T22:01:14.105327Z" {
		t.Errorf("server %v", got)
	}
	if len(w) != 1 || !strings.HasPrefix(w[0], "a/dmesg.txt: 2 lines are seconds since boot") {
		t.Errorf("warnings %q", w)
	}
}

// TestResolveTimesSamples: the journal's JSON export and the raw ring
// buffer of the same machine, with its /proc/stat btime, agree.
func TestResolveTimesSamples(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ev := logBundle(t, map[string]string{
		"dmesg.txt":   read("kernel/dmesg-6.18.txt"),
		"dmesg-T.txt": read("kernel/dmesg-T-6.18.txt"),
		"date.txt":    read("clock/date.txt"),
	})
	if w := ResolveTimes(ev, Options{}); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	raw, ctime := logTimes(ev, "dmesg.txt"), logTimes(ev, "dmesg-T.txt")
	if len(raw) != 104 || len(ctime) != 104 {
		t.Fatalf("events %d %d", len(raw), len(ctime))
	}
	btime := logTime(t, "2026-11-21T21:54:20Z")
	for i, e := range ev.Logs {
		if e.Ref.File != "dmesg.txt" {
			continue
		}
		// The boot found from -T lines is within a second of btime (both
		// are cut to the second, from different readings of the clock).
		if d := e.Time.Sub(btime.Add(e.Uptime)); d <= -time.Second || d >= time.Second {
			t.Errorf("line %d placed %v, btime gives %v", i, e.Time, btime.Add(e.Uptime))
		}
	}
}

// TestResolveTimesLabBundle: in a bundle the collector wrote (the lab's
// fd-exhaustion incident), the walker resolves every log time: raw dmesg
// through /proc/stat btime, zone-less app stamps through the headers' zone.
func TestResolveTimesLabBundle(t *testing.T) {
	dir := filepath.Join("..", "testdata", "bundles", "fd-exhaustion")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("lab bundle absent: %v", err)
	}
	b, err := Load([]string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range b.Warnings {
		if strings.Contains(w, "since boot") || strings.Contains(w, "no year") || strings.Contains(w, "no time zone") {
			t.Errorf("warning %q", w)
		}
	}
	n := 0
	for _, e := range b.Evidence.Logs {
		if e.Time.IsZero() || e.NoYear || e.NoZone {
			t.Errorf("%s: time not resolved: %+v", e.Ref, e)
		}
		if e.HasUptime && strings.HasSuffix(e.Ref.File, "/dmesg.txt") {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no raw dmesg lines in the bundle")
	}
}

// TestJournalJSONKernelTime: journald stamps a kernel record when it reads
// it; the record's own time is that minus how long it waited, which the two
// monotonic stamps give. The sample's journald started 7 minutes after boot.
func TestJournalJSONKernelTime(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "logs", "kernel", "journalctl-k-json.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in := parseText(t, journalParser, "j.json", string(b))
	btime := logTime(t, "2026-11-21T21:54:20Z")
	for _, e := range in.Out.Logs {
		// btime is cut to the second; the record times are exact.
		if d := e.Time.Sub(btime.Add(e.Uptime)); d < 0 || d >= time.Second {
			t.Errorf("line %d at %v, btime+uptime %v", e.Ref.Line, e.Time, btime.Add(e.Uptime))
		}
	}
}
