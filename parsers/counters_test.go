package parsers

import "testing"

// netstatS160 is netstat -s of net-tools 1.60 (RHEL 6/7 wording).
const netstatS160 = `Ip:
    3405107 total packets received
    0 forwarded
    2886201 requests sent out
Icmp:
    114 ICMP messages received
    0 input ICMP message failed.
    ICMP input histogram:
        destination unreachable: 107
        echo requests: 4
    261 ICMP messages sent
    ICMP output histogram:
        destination unreachable: 254
        echo request: 3
IcmpMsg:
        InType3: 107
Tcp:
    1648 active connections openings
    69 connection resets received
    139 connections established
    428 segments retransmited
    0 bad segments received.
UdpLite:
TcpExt:
    1239 TCP sockets finished time wait in fast timer
    Quick ack mode was activated 9 times
    9107 times the listen queue of a socket overflowed
    9107 SYNs to LISTEN sockets dropped
    TCPTimeWaitOverflow: 1201
    42 brand new sentences nobody mapped
IpExt:
    InOctets: 865450302
`

func TestParseNetstatS(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "net-tools 1.60",
			text: netstatS160,
			want: []string{
				"2 set netstat-s",
				"2 counter Ip/InReceives=3405107",
				"3 counter Ip/ForwDatagrams=0",
				"4 counter Ip/OutRequests=2886201",
				"6 counter Icmp/InMsgs=114",
				"7 counter Icmp/InErrors=0",
				"9 counter Icmp/InDestUnreachs=107",
				"10 counter Icmp/InEchos=4",
				"11 counter Icmp/OutMsgs=261",
				"13 counter Icmp/OutDestUnreachs=254",
				"14 counter Icmp/OutEchos=3",
				"16 counter IcmpMsg/InType3=107",
				"18 counter Tcp/ActiveOpens=1648",
				"19 counter Tcp/EstabResets=69",
				"20 counter Tcp/CurrEstab=139 gauge",
				"21 counter Tcp/RetransSegs=428",
				"22 counter Tcp/InErrs=0",
				"25 counter TcpExt/TW=1239",
				"26 counter TcpExt/DelayedACKLost=9",
				"27 counter TcpExt/ListenOverflows=9107",
				"28 counter TcpExt/ListenDrops=9107",
				"29 counter TcpExt/TCPTimeWaitOverflow=1201",
				"30 counter TcpExt/brand new sentences nobody mapped=42",
				"32 counter IpExt/InOctets=865450302",
			},
		},
		{
			name: "net-tools 2.10: new wordings, misplaced names, -6 sections",
			text: "Ip:\n    Forwarding: 2\n    2887 total packets received\n    OutTransmits: 2899\n" +
				"Tcp:\n    32 active connection openings\n    2869 segments sent out\n    0 segments retransmitted\n" +
				"Ip6:\n    10 total packets received\n    4 forwarded\n    Ip6InOctets: 1040\n" +
				"Icmp6:\n    ICMP input histogram:\n        neighbour solicits: 2\n" +
				"Tcp6:\n    5 resets sent\n",
			want: []string{
				"2 set netstat-s",
				"2 counter Ip/Forwarding=2 gauge",
				"3 counter Ip/InReceives=2887",
				"4 counter Ip/OutTransmits=2899",
				"6 counter Tcp/ActiveOpens=32",
				"7 counter Tcp/OutSegs=2869",
				"8 counter Tcp/RetransSegs=0",
				"10 counter Ip6/InReceives=10",
				"11 counter Ip6/OutForwDatagrams=4",
				"12 counter Ip6/InOctets=1040",
				"15 counter Icmp6/InNeighborSolicits=2",
				"17 counter Tcp/OutRsts=5",
			},
		},
		{
			name: "print_static lines and defects",
			text: "Ip:\n    Forwarding is disabled\n    Default TTL is 64\nTcp:\n    RTO algorithm is other\n" +
				"    connections established\nnot a section\n",
			want: []string{
				"2 set netstat-s",
				"2 counter Ip/Forwarding=1 gauge",
				"3 counter Ip/DefaultTTL=64 gauge",
				"test:6: netstat -s line has no number",
				"test:7: not a netstat -s section title",
			},
		},
		{
			name: "a counter before any section",
			text: "    12 resets sent\n",
			want: []string{"test:1: counter line before any section title"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, netstatSParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseProcNetSNMP(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "snmp pairs; gauges; -1",
			text: "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 265887\n" +
				"Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab\nTcp: 1 -1 2872 141\n",
			want: []string{
				"2 set proc-net-snmp",
				"2 counter Ip/Forwarding=1 gauge",
				"2 counter Ip/DefaultTTL=64 gauge",
				"2 counter Ip/InReceives=265887",
				"4 counter Tcp/RtoAlgorithm=1 gauge",
				"4 counter Tcp/MaxConn=-1 gauge",
				"4 counter Tcp/ActiveOpens=2872",
				"4 counter Tcp/CurrEstab=141 gauge",
			},
		},
		{
			name: "netstat: a mismatched pair is an error on the value line, the next pair still counts",
			text: "\nTcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 12 12 7\n" +
				"IpExt: InNoRoutes InOctets \nIpExt: 0 57734503 \n" +
				"MPTcpExt: MPCapableSYNRX\nMPTcpExt: x\n",
			want: []string{
				"5 set proc-net-netstat",
				"5 counter IpExt/InNoRoutes=0",
				"5 counter IpExt/InOctets=57734503",
				"test:3: TcpExt has 3 names on line 2 but 4 values",
				`test:7: MPTcpExt MPCapableSYNRX value "x" is not a number`,
			},
		},
		{
			name: "unpaired lines",
			text: "Udp: 1 2\nIcmp: InMsgs InErrors\nTcp: ActiveOpens\nTcp: 5\nnonsense line\n",
			want: []string{
				"4 set proc-net-snmp",
				"4 counter Tcp/ActiveOpens=5",
				"test:1: Udp value line has no header line before it",
				"test:2: Icmp header line has no value line after it",
				`test:5: not a "Group: ..." line`,
			},
		},
		{
			name: "a header at the end",
			text: "Udp: InDatagrams\n",
			want: []string{"test:1: Udp header line has no value line after it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, procNetSNMPParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseNstat(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "nstat -asz",
			text: "# cmd: nstat -asz\n#kernel\nIpInReceives                    265936             0.0\n" +
				"TcpCurrEstab                    141                0.0\n" +
				"TcpExtListenOverflows           12                 0.0\n" +
				"IpExtInOctets                   57734503           0.0\n" +
				"Ip6InReceives                   10                 0.0\n" +
				"IcmpMsgInType3                  101                0.0\n" +
				"MPTcpExtMPCapableSYNRX          0                  0.0\n" +
				"WeirdNewCounter                 3                  0.0\n",
			want: []string{
				"3 set nstat",
				"3 counter Ip/InReceives=265936",
				"4 counter Tcp/CurrEstab=141 gauge",
				"5 counter TcpExt/ListenOverflows=12",
				"6 counter IpExt/InOctets=57734503",
				"7 counter Ip6/InReceives=10",
				"8 counter IcmpMsg/InType3=101",
				"9 counter MPTcpExt/MPCapableSYNRX=0",
				"10 counter /WeirdNewCounter=3",
			},
		},
		{
			name: "nstat without -a prints increments",
			text: "# cmd: nstat\n#kernel\nTcpExtListenOverflows           3                  0.5\n",
			want: []string{"3 set nstat", "3 counter TcpExt/ListenOverflows=3 gauge"},
		},
		{
			name: "/proc/net/snmp6",
			text: "Ip6InReceives                   \t10\nUdp6InDatagrams                 \t0\n",
			want: []string{"1 set proc-net-snmp6", "1 counter Ip6/InReceives=10", "2 counter Udp6/InDatagrams=0"},
		},
		{
			name: "defects",
			text: "#kernel\nTcpExtListenDrops  lots  0.0\nTcpExtTW 1 fast\nTcpExtTW\nIpInReceives 5 0.0 extra\nTcpActiveOpens 7\n",
			want: []string{
				"3 set nstat",
				"3 counter TcpExt/TW=1",
				"6 counter Tcp/ActiveOpens=7",
				`test:2: counter TcpExtListenDrops value "lots" is not a number`,
				`test:3: counter TcpExtTW rate "fast" is not a number`,
				"test:4: nstat line has 1 fields, want name value [rate]",
				"test:5: nstat line has 4 fields, want name value [rate]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, nstatParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseSockstat(t *testing.T) {
	sysCheckRecs(t, parseText(t, sockstatParser, "test",
		"sockets: used 3037\nTCP: inuse 1365 orphan 17 tw 2030 alloc 2788 mem 4109\nFRAG: inuse 0 memory 10\n"+
			"TCP6: inuse 17\nUDP: inuse\nRAW: inuse x\nnonsense\n"), []string{
		"1 set sockstat",
		"1 counter sockstat sockets/used=3037 gauge",
		"2 counter sockstat TCP/inuse=1365 gauge",
		"2 counter sockstat TCP/orphan=17 gauge",
		"2 counter sockstat TCP/tw=2030 gauge",
		"2 counter sockstat TCP/alloc=2788 gauge",
		"2 counter sockstat TCP/mem=4109 gauge",
		"3 counter sockstat FRAG/inuse=0 gauge",
		"3 counter sockstat FRAG/memory=10 gauge",
		"4 counter sockstat6 TCP6/inuse=17 gauge",
		`test:5: sockstat line is not "PROTO: name value ..."`,
		`test:6: RAW inuse value "x" is not a number`,
		`test:7: sockstat line is not "PROTO: name value ..."`,
	})
	sysCheckRecs(t, parseText(t, sockstatParser, "test", "TCP6: inuse 17\nUDP6: inuse 9\n"), []string{
		"1 set sockstat6",
		"1 counter sockstat6 TCP6/inuse=17 gauge",
		"2 counter sockstat6 UDP6/inuse=9 gauge",
	})
}

func TestDetectCounters(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Ip:\n    Forwarding: 2\n", "netstat-s"},
		{"IcmpMsg:\n        InType3: 1\n", "netstat-s"},
		{"TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPr", "proc-net-snmp"},
		{"Ip: Forwarding DefaultTTL\nIp: 1 64\n", "proc-net-snmp"},
		{"#kernel\nIpInReceives 1 0.0\n", "nstat"},
		{"Ip6InReceives \t10\nIp6InHdrErrors \t0\n", "nstat"},
		{"sockets: used 229\nTCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1\n", "sockstat"},
		{"TCP6: inuse 17\nUDP6: inuse 9\n", "sockstat"},
	}
	for _, tt := range tests {
		if got := sysKindOf(Detect([]byte(tt.text))); got != tt.want {
			t.Errorf("Detect(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
	for _, text := range []string{
		"Ip: Forwarding DefaultTTL\nTcp: 1 64\n", // pair of different groups
		"Foo:\n    1 thing\n",                    // unknown section
		"Ip6InReceives 10\n",                     // one snmp6 line proves little
		"TCP:   12 (estab 3, closed 0, orphaned 0, timewait 0)\n",
		"sockets: many\n",
	} {
		for _, p := range []*Parser{netstatSParser, procNetSNMPParser, nstatParser, sockstatParser} {
			if p.Detect([]byte(text)) {
				t.Errorf("%s claims %q", p.Kind, text)
			}
		}
	}
}

func FuzzParseNetstatS(f *testing.F) {
	fuzzSystem(f, netstatSParser, "netstat-s.txt", netstatS160)
}

func FuzzParseProcNetSNMP(f *testing.F) {
	fuzzSystem(f, procNetSNMPParser, "snmp", "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcpExt: A B\nTcpExt: 1 2 3\n")
}

func FuzzParseNstat(f *testing.F) {
	fuzzSystem(f, nstatParser, "nstat.txt", "#kernel\nTcpExtListenOverflows 12 0.0\n", "# cmd: nstat\n#kernel\nIpInReceives 1 0.0\n")
}

func FuzzParseSockstat(f *testing.F) {
	fuzzSystem(f, sockstatParser, "sockstat", "sockets: used 229\nTCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1\n")
}
