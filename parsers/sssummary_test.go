package parsers

import "testing"

var ssSummaryTests = []sockTest{
	{
		name: "current iproute2",
		in: "# cmd: ss -s\n" +
			"Total: 34\n" +
			"TCP:   30 (estab 14, closed 12, orphaned 0, timewait 12)\n" +
			"\n" +
			"Transport Total     IP        IPv6\n" +
			"RAW\t  0         0         0        \n" +
			"TCP\t  18        13        5        \n",
		want: []string{
			`counter 2 ss-s total=34 set=0`,
			`counter 3 ss-s tcp_total=30 set=0`,
			`counter 3 ss-s tcp_estab=14 set=0`,
			`counter 3 ss-s tcp_closed=12 set=0`,
			`counter 3 ss-s tcp_orphaned=0 set=0`,
			`counter 3 ss-s tcp_timewait=12 set=0`,
			`counter 6 ss-s transport_raw_total=0 set=0`,
			`counter 6 ss-s transport_raw_ip=0 set=0`,
			`counter 6 ss-s transport_raw_ipv6=0 set=0`,
			`counter 7 ss-s transport_tcp_total=18 set=0`,
			`counter 7 ss-s transport_tcp_ip=13 set=0`,
			`counter 7 ss-s transport_tcp_ipv6=5 set=0`,
		},
	},
	{
		name: "old iproute2 with kernel and slab figures, twice",
		in: "Total: 1396 (kernel 1421)\n" +
			"TCP:   1204 (estab 1052, closed 89, orphaned 17, synrecv 0, timewait 2030/0), ports 0\n" +
			"\n" +
			"Transport Total     IP        IPv6\n" +
			"*\t  1421      -         -        \n" +
			"Total: 1400 (kernel 1425)\n" +
			"TCP:   1208 (estab 1056, closed 89, orphaned 17, synrecv 0, timewait 2030/0), ports 0\n" +
			"bogus line\n",
		want: []string{
			`counter 1 ss-s total=1396 set=0`,
			`counter 1 ss-s total_kernel=1421 set=0`,
			`counter 2 ss-s tcp_total=1204 set=0`,
			`counter 2 ss-s tcp_estab=1052 set=0`,
			`counter 2 ss-s tcp_closed=89 set=0`,
			`counter 2 ss-s tcp_orphaned=17 set=0`,
			`counter 2 ss-s tcp_synrecv=0 set=0`,
			`counter 2 ss-s tcp_timewait=2030 set=0`,
			`counter 2 ss-s tcp_timewait_kernel=0 set=0`,
			`counter 2 ss-s tcp_ports=0 set=0`,
			`counter 5 ss-s transport_all_total=1421 set=0`,
			`counter 6 ss-s total=1400 set=1`,
			`counter 6 ss-s total_kernel=1425 set=1`,
			`counter 7 ss-s tcp_total=1208 set=1`,
			`counter 7 ss-s tcp_estab=1056 set=1`,
			`counter 7 ss-s tcp_closed=89 set=1`,
			`counter 7 ss-s tcp_orphaned=17 set=1`,
			`counter 7 ss-s tcp_synrecv=0 set=1`,
			`counter 7 ss-s tcp_timewait=2030 set=1`,
			`counter 7 ss-s tcp_timewait_kernel=0 set=1`,
			`counter 7 ss-s tcp_ports=0 set=1`,
		},
		errs: []string{`8: unexpected line in ss -s output: "bogus line"`},
	},
}

func TestParseSSSummary(t *testing.T) {
	runSockTests(t, ssSummaryParser, ssSummaryTests)
	in := parseText(t, ssSummaryParser, "x.txt", ssSummaryTests[1].in)
	if len(in.Out.CounterSets) != 2 || in.Out.CounterSets[1].Source != "ss-s" || in.Out.Counters[0].Cumulative {
		t.Errorf("counter sets %+v, first counter %+v", in.Out.CounterSets, in.Out.Counters[0])
	}
}

func TestDetectSSSummary(t *testing.T) {
	for head, want := range map[string]bool{
		"Total: 34\nTCP:   30 (estab 14, closed 12, orphaned 0, timewait 12)\n": true,
		"Total: 1396 (kernel 1421)\n":                                           true,
		"Total: lots\nTCP: 1\n":                                                 false,
		"Total: 34\nMemory: 12\n":                                               false,
	} {
		if got := detectSSSummary([]byte(head)); got != want {
			t.Errorf("detectSSSummary(%q) = %v, want %v", head, got, want)
		}
	}
}

func FuzzParseSSSummary(f *testing.F) {
	var seeds []string
	for _, tt := range ssSummaryTests {
		seeds = append(seeds, tt.in)
	}
	fuzzSocketParser(f, ssSummaryParser, append(seeds, socketSample(f, "ss-s.txt")))
}
