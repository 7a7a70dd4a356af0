package parsers

import "testing"

var procNetTCPTests = []sockTest{
	{
		name: "tcp rows, timers, retransmits, a second table",
		in: "# cmd: cat /proc/net/tcp\n" +
			"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 0100007F:B798 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 12370 2 00000000369e8b9c 100 0 0 10 0\n" +
			"   1: 0100007F:B1E6 0100007F:B798 01 00000000:00000000 02:000AFBE6 00000000  1000        0 12373 2 000000008e5f3c1a 20 4 30 10 -1\n" +
			"   2: 1C00000A:A462 6C000C40:0050 04 00000001:00000000 01:00000015 00000003     0        0 0 3 ffff8c7a0de930c0 21 4 30 10 -1\n" +
			"   3: 1C00000A:97D0 412AF468:0050 06 00000000:00000000 03:000007C5 00000000     0        0 0 3 ffff8c7a12d31aa0\n" +
			"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23459 1 ffff8c7a0de93a80 100 0 0 10 0\n",
		want: []string{
			`snapshot 2 proc-net-tcp n=4 filtered=false cmd="cat /proc/net/tcp"`,
			`snapshot 7 proc-net-tcp n=1 filtered=false cmd="cat /proc/net/tcp"`,
			`3 s0 tcp LISTEN 127.0.0.1:47000 0.0.0.0:* q=1/0 uid=0 ino=12370`,
			`4 s0 tcp ESTABLISHED 127.0.0.1:45542 127.0.0.1:47000 q=0/0 uid=1000 ino=12373 timer=keepalive/1h59m58.46s/0`,
			`5 s0 tcp FIN_WAIT1 10.0.0.28:42082 64.12.0.108:80 q=0/1 uid=0 timer=on/210ms/3`,
			`6 s0 tcp TIME_WAIT 10.0.0.28:38864 104.244.42.65:80 q=0/0 timer=timewait/19.89s/0`,
			`7 s1 tcp LISTEN 0.0.0.0:22 0.0.0.0:* q=0/0 uid=0 ino=23459`,
		},
	},
	{
		name: "tcp6 with v4-mapped and link-local addresses",
		in: "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 0000000000000000FFFF00000100007F:B79A 0000000000000000FFFF00000100007F:CD58 01 00000000:00000000 00:00000000 00000000     0        0 12390 1 0000000000000000 20 4 29 10 -1\n" +
			"   1: 000080FE00000000FFADE15609667CFE:C781 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11337031 1 0000000000000000 100 0 0 10 0\n",
		want: []string{
			`snapshot 1 proc-net-tcp n=2 filtered=false cmd=""`,
			`2 s0 tcp6 ESTABLISHED [::ffff:127.0.0.1]:47002 [::ffff:127.0.0.1]:52568 q=0/0 uid=0 ino=12390`,
			`3 s0 tcp6 LISTEN [fe80::56e1:adff:fe7c:6609]:51073 [::]:* q=0/0 uid=1000 ino=11337031`,
		},
	},
	{
		name: "udp6 layout with drops",
		in: "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
			" 1315: 00000000000000000000000000000000:14EB 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   981        0 21040 2 0000000013726323 4\n",
		want: []string{
			`snapshot 1 proc-net-tcp n=1 filtered=false cmd=""`,
			`2 s0 udp6 CLOSE [::]:5355 [::]:* q=0/0 uid=981 ino=21040 info=drops=4`,
		},
	},
	{
		name: "bad rows",
		in: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 0100007F:B798 00000000:0000 0A\n" +
			"   1: 0100007G:B798 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 12370\n" +
			"   2: 0100007F:B798 00000000:0000 0D 00000000:00000001 00:00000000 00000000     0        0 12370\n" +
			"   3 0100007F:B798 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 12370\n" +
			"   4: 0100007F:B798 00000000:0000 0A 00000000:0000000Z 00:00000000 00000000     0        0 12370\n" +
			"   5: 0100007F:B798 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 12370\n",
		want: []string{
			`snapshot 1 proc-net-tcp n=1 filtered=false cmd=""`,
			`7 s0 tcp LISTEN 127.0.0.1:47000 0.0.0.0:* q=1/0 uid=0 ino=12370`,
		},
		errs: []string{
			`2: short /proc/net/tcp row: "   0: 0100007F:B798 00000000:0000 0A"`,
			`3: bad address "0100007G:B798" "00000000:0000"`,
			`4: bad state "0D"`,
			`5: bad slot "3"`,
			`6: bad numeric field in "   4: 0100007F:B798 00000000:0000 0A 00000000:0000000Z 00:00000000 00000000     0        0 12370"`,
		},
	},
}

func TestParseProcNetTCP(t *testing.T) { runSockTests(t, procNetTCPParser, procNetTCPTests) }

func FuzzParseProcNetTCP(f *testing.F) {
	var seeds []string
	for _, tt := range procNetTCPTests {
		seeds = append(seeds, tt.in)
	}
	seeds = append(seeds, socketSample(f, "proc-net-tcp.txt"), socketSample(f, "proc-net-tcp6.txt"))
	fuzzSocketParser(f, procNetTCPParser, seeds)
}
