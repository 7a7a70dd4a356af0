package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/parsers/event"
)

// conv is one row of tshark's TCP conversation table: the two endpoints
// (sorted) and the frames between them.
type conv struct {
	A, B   string
	Frames int
}

func (c conv) String() string { return fmt.Sprintf("%s %s %d", c.A, c.B, c.Frames) }

func newConv(a, b string, frames int) conv {
	if b < a {
		a, b = b, a
	}
	return conv{a, b, frames}
}

// tsharkStyle renders an endpoint as tshark does: IPv6 without brackets.
func tsharkStyle(e event.Endpoint) string { return e.Addr.String() + ":" + strconv.Itoa(int(e.Port)) }

// parseConvTable reads the rows of `tshark -q -z conv,tcp`:
//
//	A <-> B  frames bytes unit  frames bytes unit  frames bytes unit  start duration
func parseConvTable(out []byte) ([]conv, error) {
	var rows []conv
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[1] != "<->" {
			continue
		}
		n, err := strconv.Atoi(f[9])
		if err != nil {
			return nil, fmt.Errorf("total frames in %q: %w", sc.Text(), err)
		}
		rows = append(rows, newConv(f[0], f[2], n))
	}
	slices.SortFunc(rows, func(a, b conv) int { return strings.Compare(a.String(), b.String()) })
	return rows, sc.Err()
}

const tsharkGolden = "testdata/tshark-conv.golden"

// readConvGolden reads the conversations recorded from tshark per file.
func readConvGolden(t *testing.T) map[string][]conv {
	data, err := os.ReadFile(tsharkGolden)
	if err != nil {
		t.Fatalf("%v (install tshark and run go test -update)", err)
	}
	out := map[string][]conv{}
	var file string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "#"):
		case !strings.HasPrefix(line, " ") && len(f) == 2:
			file = f[0]
			out[file] = []conv{}
		case len(f) == 3 && file != "":
			n, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("%s: %q: %v", tsharkGolden, line, err)
			}
			out[file] = append(out[file], conv{f[0], f[1], n})
		default:
			t.Fatalf("%s: bad line %q", tsharkGolden, line)
		}
	}
	return out
}

func writeConvGolden(t *testing.T, version string, all map[string][]conv) {
	var b strings.Builder
	fmt.Fprintf(&b, "# TCP conversations of the corpus captures: file and count, then\n# endpoint endpoint frames, from `tshark -q -z conv,tcp` (%s).\n# Rewritten by `go test -update` when tshark is installed.\n", version)
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d\n", n, len(all[n]))
		for _, c := range all[n] {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if err := os.MkdirAll(filepath.Dir(tsharkGolden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsharkGolden, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Acceptance: every real capture decodes into the connections tshark's
// conversation table lists, with the same frames in each. tshark keys
// conversations by address and port alone, so the comparison runs with
// IgnoreVLAN; by default netmortem also tells apart the same 4-tuple on
// different VLANs, which is the only difference allowed.
func TestConversationsMatchTshark(t *testing.T) {
	files := corpusPcaps(t)
	tshark, _ := exec.LookPath("tshark")
	var want map[string][]conv
	if tshark == "" {
		t.Log("tshark not installed: comparing with " + tsharkGolden)
		want = readConvGolden(t)
	} else {
		want = map[string][]conv{}
	}
	for _, path := range files {
		name := filepath.Base(path)
		if tshark != "" {
			out, err := exec.Command(tshark, "-n", "-q", "-z", "conv,tcp", "-r", path).Output()
			if err != nil {
				t.Fatalf("tshark %s: %v", name, err)
			}
			if want[name], err = parseConvTable(out); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("%s not in %s (run go test -update with tshark installed)", name, tsharkGolden)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := analyze(t, data, Options{File: name, IgnoreVLAN: true})
			var got []conv
			for _, f := range res.Flows {
				got = append(got, newConv(tsharkStyle(f.Src), tsharkStyle(f.Dst), f.Packets))
			}
			slices.SortFunc(got, func(a, b conv) int { return strings.Compare(a.String(), b.String()) })
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("conversations differ from tshark\n got %v\nwant %v", got, exp)
			}
			// VLAN-aware (the default): the extra flows are exactly those
			// that share a 4-tuple with a flow on another VLAN.
			def := analyze(t, data, Options{File: name})
			tuples := map[[2]string]map[string]bool{}
			for _, f := range def.Flows {
				k := [2]string{tsharkStyle(f.Src), tsharkStyle(f.Dst)}
				if tuples[k] == nil {
					tuples[k] = map[string]bool{}
				}
				tuples[k][f.VLAN] = true
			}
			extra := 0
			for _, v := range tuples {
				extra += len(v) - 1
			}
			if len(def.Flows) != len(exp)+extra {
				t.Errorf("VLAN-aware: %d flows, want %d (tshark) + %d (same 4-tuple on another VLAN)", len(def.Flows), len(exp), extra)
			}
		})
	}
	if *update && tshark != "" {
		v, _ := exec.Command(tshark, "--version").Output()
		version, _, _ := strings.Cut(string(v), "\n")
		version, _, _ = strings.Cut(version, " (Git")
		writeConvGolden(t, strings.TrimSpace(version), want)
	}
}

// The trace that made the choice: one HTTP connection replayed untagged,
// on VLAN 42 and on QinQ 10.20. tshark counts one conversation (and calls
// 18 frames retransmissions); these are three connections.
func TestVLANCollisionsCorpus(t *testing.T) {
	var path string
	for _, p := range corpusPcaps(t) {
		if strings.Contains(p, "vlan-collisions") {
			path = p
		}
	}
	if path == "" {
		t.Skip("vlan-collisions trace not in the corpus")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res := analyze(t, data, Options{})
	var got []string
	for _, f := range res.Flows {
		got = append(got, fmt.Sprintf("%q:%d:retrans=%d", f.VLAN, f.Packets, f.Retrans))
	}
	if want := []string{`"":14:retrans=0`, `"42":14:retrans=0`, `"10.20":14:retrans=0`}; !reflect.DeepEqual(got, want) {
		t.Errorf("flows %v, want %v", got, want)
	}
}

// Golden dumps of what every corpus capture yields, for review.
func TestCorpusGolden(t *testing.T) {
	for _, path := range corpusPcaps(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := analyze(t, data, Options{File: name})
			checkFlows(t, res)
			again := analyze(t, data, Options{File: name})
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if g2, _ := json.MarshalIndent(again, "", "  "); !bytes.Equal(got, g2) {
				t.Error("two runs differ")
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s differs (run go test -update and review the diff)", golden)
			}
		})
	}
}
