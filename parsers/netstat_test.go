package parsers

import "testing"

var netstatTests = []sockTest{
	{
		name: "neopa with timers users inodes and programs",
		in: "# cmd: netstat -neopa\n" +
			"Active Internet connections (servers and established)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer\n" +
			"tcp        0      0 0.0.0.0:5672            0.0.0.0:*               LISTEN      996        19422      1279/qpidd           off (0.00/0/0)\n" +
			"tcp        0      0 127.0.0.1:53644         0.0.0.0:*               LISTEN      995        1154674    12387/Passenger Rac  off (0.00/0/0)\n" +
			"tcp        0      0 10.24.1.245:80          10.24.36.145:32790      SYN_RECV    0          0          -                    on (0.79/0/0)\n" +
			"tcp        0      0 127.0.0.1:45542         127.0.0.1:47000         ESTABLISHED 0          12373      8445/python3         keepalive (7198.54/0/0)\n" +
			"tcp        1      0 127.0.0.1:47000         127.0.0.1:45570         CLOSE_WAIT  1000       12380      8445/python3         off (0.00/0/0)\n" +
			"tcp        0      0 127.0.0.1:58598         127.0.0.1:47000         TIME_WAIT   0          0          -                    timewait (50.28/0/0)\n" +
			"tcp6       0      0 ::ffff:10.0.0.5:443     ::ffff:10.0.0.9:51000   FIN_WAIT1   0          77         9/nginx: worker      on (0.20/3/0)\n" +
			"udp        0      0 0.0.0.0:68              0.0.0.0:*                           0          20830      1029/dhclient        off (0.00/0/0)\n" +
			"raw6       0      0 :::58                   :::*                    7           0          27015      874/systemd-network  off (0.00/0/0)\n" +
			"Active UNIX domain sockets (servers and established)\n" +
			"Proto RefCnt Flags       Type       State         I-Node   PID/Program name     Path\n" +
			"unix  2      [ ACC ]     STREAM     LISTENING     535      1/systemd            /run/lvm/lvmetad.socket\n" +
			"unix  3      [ ]         STREAM     CONNECTED     63129    6492/sshd: alice     \n" +
			"unix  2      [ ]         DGRAM                    44430    -                    @/org/kernel/udev\n",
		want: []string{
			`snapshot 2 netstat n=12 filtered=false cmd="netstat -neopa"`,
			`4 s0 tcp LISTEN 0.0.0.0:5672 0.0.0.0:* q=0/0 owners=qpidd/1279/-1 uid=996 ino=19422 timer=off/0s/0`,
			`5 s0 tcp LISTEN 127.0.0.1:53644 0.0.0.0:* q=0/0 owners=Passenger Rac/12387/-1 uid=995 ino=1154674 timer=off/0s/0`,
			`6 s0 tcp SYN_RECV 10.24.1.245:80 10.24.36.145:32790 q=0/0 uid=0 timer=on/790ms/0`,
			`7 s0 tcp ESTABLISHED 127.0.0.1:45542 127.0.0.1:47000 q=0/0 owners=python3/8445/-1 uid=0 ino=12373 timer=keepalive/1h59m58.54s/0`,
			`8 s0 tcp CLOSE_WAIT 127.0.0.1:47000 127.0.0.1:45570 q=1/0 owners=python3/8445/-1 uid=1000 ino=12380 timer=off/0s/0`,
			`9 s0 tcp TIME_WAIT 127.0.0.1:58598 127.0.0.1:47000 q=0/0 uid=0 timer=timewait/50.28s/0`,
			`10 s0 tcp6 FIN_WAIT1 [::ffff:10.0.0.5]:443 [::ffff:10.0.0.9]:51000 q=0/0 owners=nginx: worker/9/-1 uid=0 ino=77 timer=on/200ms/3`,
			`11 s0 udp CLOSE 0.0.0.0:68 0.0.0.0:* q=0/0 owners=dhclient/1029/-1 uid=0 ino=20830 timer=off/0s/0`,
			`12 s0 raw6 CLOSE [::]:58 [::]:* q=0/0 owners=systemd-network/874/-1 uid=0 ino=27015 timer=off/0s/0`,
			`15 s0 unix LISTEN /run/lvm/lvmetad.socket:0 *:0 q=0/0 owners=systemd/1/-1 ino=535 info=type=stream`,
			`16 s0 unix ESTABLISHED *:0 *:0 q=0/0 owners=sshd: alice/6492/-1 ino=63129 info=type=stream`,
			`17 s0 unix CLOSE @/org/kernel/udev:0 *:0 q=0/0 ino=44430 info=type=dgram`,
		},
	},
	{
		name: "resolved and truncated names without servers",
		in: "Active Internet connections (w/o servers)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n" +
			"tcp        0      0 localhost.localdo:35450 lb-192-30-255-112:https ESTABLISHED\n" +
			"tcp6       0      0 [::]:ssh                [::]:*                  LISTEN     \n",
		want: []string{
			`snapshot 1 netstat n=2 filtered=true cmd=""`,
			`3 s0 tcp ESTABLISHED localhost.localdo:35450 lb-192-30-255-112:443(https) q=0/0`,
			`4 s0 tcp6 LISTEN [::]:22(ssh) [::]:* q=0/0`,
		},
	},
	{
		name: "IPv6 addresses cut to the column are kept as text",
		in: "# cmd: netstat -ant\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State\n" +
			"tcp6       0      0 fe80::a00:27ff:fe4e::22 fe80::a00:27ff:fe4:5000 ESTABLISHED\n" +
			"tcp6       0      0 2001:db8::1:443         2001:db8::2:51000       ESTABLISHED\n",
		want: []string{
			`snapshot 2 netstat n=2 filtered=false cmd="netstat -ant"`,
			`3 s0 tcp6 ESTABLISHED fe80::a00:27ff:fe4e::22 fe80::a00:27ff:fe4:5000 q=0/0`,
			`4 s0 tcp6 ESTABLISHED [2001:db8::1]:443 [2001:db8::2]:51000 q=0/0`,
		},
	},
	{
		name: "wide output is never cut",
		in: "# cmd: netstat -W -ant\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State\n" +
			"tcp6       0      0 fe80::a00:27ff:fe4:5000 2001:db8::2:51000       ESTABLISHED\n",
		want: []string{
			`snapshot 2 netstat n=1 filtered=false cmd="netstat -W -ant"`,
			`3 s0 tcp6 ESTABLISHED [fe80::a00:27ff:fe4]:5000 [2001:db8::2]:51000 q=0/0`,
		},
	},
	{
		name: "user names wider than their column",
		in: "Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name    \n" +
			"tcp        0      0 localhost:domain        0.0.0.0:*               LISTEN      systemd-resolve 26985      893/systemd-resolve \n" +
			"udp        0      0 kbrazil-ubuntu:bootpc   0.0.0.0:*                           systemd-network 43856      874/systemd-network \n",
		want: []string{
			`snapshot 1 netstat n=2 filtered=false cmd=""`,
			`2 s0 tcp LISTEN localhost:53(domain) 0.0.0.0:* q=0/0 owners=systemd-resolve/893/-1 ino=26985 info=user=systemd-resolve`,
			`3 s0 udp CLOSE kbrazil-ubuntu:68(bootpc) 0.0.0.0:* q=0/0 owners=systemd-network/874/-1 ino=43856 info=user=systemd-network`,
		},
	},
	{
		name: "rows kept by grep, with -e and -p columns",
		in: "# cmd: netstat -antpe | grep 9455\n" +
			"tcp        1      0 10.171.20.131:9455      10.44.155.227:24038     CLOSE_WAIT  1000       261722045  28719/python        \n" +
			"tcp        0      0 10.171.20.131:9455      100.109.225.0:45587     ESTABLISHED 1000       261328458  28719/python        \n",
		want: []string{
			`snapshot 2 netstat n=2 filtered=true cmd="netstat -antpe | grep 9455"`,
			`2 s0 tcp CLOSE_WAIT 10.171.20.131:9455 10.44.155.227:24038 q=1/0 owners=python/28719/-1 uid=1000 ino=261722045`,
			`3 s0 tcp ESTABLISHED 10.171.20.131:9455 100.109.225.0:45587 q=0/0 owners=python/28719/-1 uid=1000 ino=261328458`,
		},
	},
	{
		name: "two runs in one file, noise, bad rows",
		in: "(Not all processes could be identified, non-owned process info\n" +
			" will not be shown, you would have to be root to see it all.)\n" +
			"Active Internet connections (servers and established)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n" +
			"tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN     \n" +
			"tcp        x      0 0.0.0.0:23              0.0.0.0:*               LISTEN     \n" +
			"tcp        0      0 0.0.0.0                 0.0.0.0:*               LISTEN     \n" +
			"tcp        0      0 0.0.0.0:25              0.0.0.0:*               WAITING    \n" +
			"Active Internet connections (servers and established)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n" +
			"tcp        0      0 10.0.0.1:22             10.0.0.2:5000           ESTABLISHED\n" +
			"Active Bluetooth connections (servers and established)\n" +
			"Proto  Destination       Source            State         PSM DCID   SCID      IMTU    OMTU Security\n" +
			"l2cap  00:00:00:00:00:00 11:22:33:44:55:66 LISTEN        1   0x0000 0x0000    672     0    low\n",
		want: []string{
			`snapshot 3 netstat n=2 filtered=false cmd=""`,
			`snapshot 9 netstat n=1 filtered=false cmd=""`,
			`5 s0 tcp LISTEN 0.0.0.0:22 0.0.0.0:* q=0/0`,
			`8 s0 tcp UNKNOWN 0.0.0.0:25 0.0.0.0:* q=0/0`,
			`11 s1 tcp ESTABLISHED 10.0.0.1:22 10.0.0.2:5000 q=0/0`,
		},
		errs: []string{
			`6: bad queue sizes "x" "0"`,
			`7: bad local address "0.0.0.0"`,
			`8: unexpected fields "WAITING"`,
			`8: missing socket state`,
		},
	},
}

func TestParseNetstat(t *testing.T) { runSockTests(t, netstatParser, netstatTests) }

func TestDetectNetstat(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{"Active Internet connections (servers and established)\n", true},
		{"Active UNIX domain sockets (only servers)\n", true},
		{"Proto Recv-Q Send-Q Local Address           Foreign Address         State\n", true},
		{"(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\nActive Internet connections (w/o servers)\n", true},
		{"tcp        0      0 10.0.0.1:22      10.0.0.2:5000     ESTABLISHED\n", true},
		{"Ip:\n    Forwarding: 1\n", false},
		{"ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n", false},
	}
	for _, tt := range tests {
		if got := detectNetstat([]byte(tt.head)); got != tt.want {
			t.Errorf("detectNetstat(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func FuzzParseNetstat(f *testing.F) {
	var seeds []string
	for _, tt := range netstatTests {
		seeds = append(seeds, tt.in)
	}
	seeds = append(seeds, socketSample(f, "netstat-neopa.txt"), socketSample(f, "netstat-an.txt"))
	fuzzSocketParser(f, netstatParser, seeds)
}
