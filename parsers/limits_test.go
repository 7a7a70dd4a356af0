package parsers

import "testing"

const procLimitsSample = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             15592                15592                processes 
Max open files            1024                 524288               files     
Max locked memory         18446744073708503040 18446744073708503040 bytes     
Max nice priority         0                    0                    
Max realtime timeout      unlimited            unlimited            us        
`

func TestParseProcLimits(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "pid from the header, units, no units, huge value saturates",
			text: "# cmd: cat /proc/4242/limits\n# date: 2026-11-21T21:54:54Z\n" + procLimitsSample,
			want: []string{
				"4 limit cpu soft=-1 hard=-1 pid=4242 scope=process unit=seconds domain=",
				"5 limit nproc soft=15592 hard=15592 pid=4242 scope=process unit=processes domain=",
				"6 limit nofile soft=1024 hard=524288 pid=4242 scope=process unit=files domain=",
				"7 limit memlock soft=9223372036854775807 hard=9223372036854775807 pid=4242 scope=process unit=bytes domain=",
				"8 limit nice soft=0 hard=0 pid=4242 scope=process unit= domain=",
				"9 limit rttime soft=-1 hard=-1 pid=4242 scope=process unit=us domain=",
			},
		},
		{
			name: "no header: pid unknown; bad rows reported, the rest kept",
			text: "Limit                     Soft Limit           Hard Limit           Units\n" +
				"Max open files            lots                 4096                 files\n" +
				"Max\n" +
				"Max processes             9                    99                   processes\r\n",
			want: []string{
				"4 limit nproc soft=9 hard=99 pid=0 scope=process unit=processes domain=",
				`test:2: limit values "lots" "4096" are not numbers or unlimited`,
				"test:3: limit line has 1 fields, want a name, a soft and a hard value",
			},
		},
		{
			name: "/proc/self is the reader, not a pid",
			text: "# cmd: cat /proc/self/limits\n" + procLimitsSample[:len(procLimitsSample)-1],
			want: []string{
				"3 limit cpu soft=-1 hard=-1 pid=0 scope=process unit=seconds domain=",
				"4 limit nproc soft=15592 hard=15592 pid=0 scope=process unit=processes domain=",
				"5 limit nofile soft=1024 hard=524288 pid=0 scope=process unit=files domain=",
				"6 limit memlock soft=9223372036854775807 hard=9223372036854775807 pid=0 scope=process unit=bytes domain=",
				"7 limit nice soft=0 hard=0 pid=0 scope=process unit= domain=",
				"8 limit rttime soft=-1 hard=-1 pid=0 scope=process unit=us domain=",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, procLimitsParser, "test", tt.text), tt.want)
		})
	}
}

func TestParsePrlimit(t *testing.T) {
	text := "# cmd: prlimit --pid 1234\n" +
		"RESOURCE   DESCRIPTION                             SOFT      HARD UNITS\n" +
		"NICE       max nice prio allowed to raise             0         0 \n" +
		"NOFILE     max number of open files                1024   1048576 files\n" +
		"RTTIME     timeout for real-time tasks        unlimited unlimited microsecs\n"
	sysCheckRecs(t, parseText(t, prlimitParser, "test", text), []string{
		"3 limit nice soft=0 hard=0 pid=1234 scope=process unit= domain=",
		"4 limit nofile soft=1024 hard=1048576 pid=1234 scope=process unit=files domain=",
		"5 limit rttime soft=-1 hard=-1 pid=1234 scope=process unit=microsecs domain=",
	})
	sysCheckRecs(t, parseText(t, prlimitParser, "test", "RESOURCE DESCRIPTION SOFT HARD UNITS\nNOFILE max number of open files 20000 20000 files\n"),
		[]string{"2 limit nofile soft=20000 hard=20000 pid=0 scope=shell unit=files domain="})
}

func TestParseUlimit(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "bash 4",
			text: "core file size          (blocks, -c) 0\n" +
				"open files                      (-n) 1024\n" +
				"pipe size            (512 bytes, -p) 8\n" +
				"max user processes              (-u) 4096\n",
			want: []string{
				"1 limit core soft=0 hard=-2 pid=0 scope=shell unit=blocks domain=",
				"2 limit nofile soft=1024 hard=-2 pid=0 scope=shell unit= domain=",
				"3 limit pipe soft=8 hard=-2 pid=0 scope=shell unit=512 bytes domain=",
				"4 limit nproc soft=4096 hard=-2 pid=0 scope=shell unit= domain=",
			},
		},
		{
			name: "bash -Ha gives hard limits",
			text: "# cmd: bash -c 'ulimit -Ha'\n" +
				"real-time non-blocking time  (microseconds, -R) unlimited\n" +
				"open files                          (-n) 524288\n",
			want: []string{
				"2 limit rttime soft=-2 hard=-1 pid=0 scope=shell unit=microseconds domain=",
				"3 limit nofile soft=-2 hard=524288 pid=0 scope=shell unit= domain=",
			},
		},
		{
			name: "dash",
			text: "time(seconds)        unlimited\n" +
				"locked memory(kbytes) 8192\n" +
				"process              96551\n" +
				"nofiles              20000\n",
			want: []string{
				"1 limit cpu soft=-1 hard=-2 pid=0 scope=shell unit=seconds domain=",
				"2 limit memlock soft=8192 hard=-2 pid=0 scope=shell unit=kbytes domain=",
				"3 limit nproc soft=96551 hard=-2 pid=0 scope=shell unit= domain=",
				"4 limit nofile soft=20000 hard=-2 pid=0 scope=shell unit= domain=",
			},
		},
		{
			name: "zsh, with the old unnamed -N 15",
			text: "-n: file descriptors                1024\n" +
				"-l: locked-in-memory size (kbytes)  64\n" +
				"-N 15:                              unlimited\n",
			want: []string{
				"1 limit nofile soft=1024 hard=-2 pid=0 scope=shell unit= domain=",
				"2 limit memlock soft=64 hard=-2 pid=0 scope=shell unit=kbytes domain=",
				"3 limit rttime soft=-1 hard=-2 pid=0 scope=shell unit= domain=",
			},
		},
		{
			name: "busybox 1.35 and ksh93",
			text: "max locked memory (kb)          (-l) 8192\n" +
				"open files                      (-n) 20000\n" +
				"nofile                         (-n)  1024\n" +
				"address space limit (Kibytes)  (-M)  unlimited\n",
			want: []string{
				"1 limit memlock soft=8192 hard=-2 pid=0 scope=shell unit=kb domain=",
				"2 limit nofile soft=20000 hard=-2 pid=0 scope=shell unit= domain=",
				"3 limit nofile soft=1024 hard=-2 pid=0 scope=shell unit= domain=",
				"4 limit as soft=-1 hard=-2 pid=0 scope=shell unit=Kibytes domain=",
			},
		},
		{
			name: "a bad value and a stray line are reported",
			text: "open files                      (-n) many\n" +
				"bash: ulimit: cannot modify limit: Operation not permitted\n" +
				"stack size              (kbytes, -s) 8192\n",
			want: []string{
				"3 limit stack soft=8192 hard=-2 pid=0 scope=shell unit=kbytes domain=",
				`test:1: ulimit value "many" is not a number or unlimited`,
				"test:2: not a ulimit line",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, ulimitParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseUlimitValue(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"ulimit -n", "# cmd: ulimit -n\n10240\n", []string{"2 limit nofile soft=10240 hard=-2 pid=0 scope=shell unit= domain="}},
		{"ulimit -Hn", "# cmd: ulimit -Hn\nunlimited\n", []string{"2 limit nofile soft=-2 hard=-1 pid=0 scope=shell unit= domain="}},
		{"ulimit -H -u", "# cmd: sh -c \"ulimit -H -u\"\n4096\n", []string{"2 limit nproc soft=-2 hard=4096 pid=0 scope=shell unit= domain="}},
		{"ulimit alone is -f", "# cmd: ulimit\nunlimited\n", []string{"2 limit fsize soft=-1 hard=-2 pid=0 scope=shell unit= domain="}},
		{"two values", "# cmd: ulimit -n\n1024\n2048\n", []string{
			"2 limit nofile soft=1024 hard=-2 pid=0 scope=shell unit= domain=",
			"test:3: more than one value in ulimit output",
		}},
		{"garbage", "# cmd: ulimit -n\nbash: ulimit: bad\n", []string{`test:2: ulimit value "bash: ulimit: bad" is not a number or unlimited`}},
		{"no command", "1024\n", []string{"test: the collection header's command does not name one ulimit resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, ulimitValueParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseLimitsConf(t *testing.T) {
	// RHEL's /etc/security/limits.d/20-nproc.conf, and the lines people add.
	text := "# Default limit for number of user's processes to prevent\n" +
		"# accidental fork bombs.\n" +
		"# See rhbz #432903 for reasoning.\n" +
		"\n" +
		"*          soft    nproc     4096\n" +
		"root       soft    nproc     unlimited\n" +
		"nginx      -       nofile    65535   # both\n" +
		"@dev       hard    nice      -5\n" +
		"app        hard    nofile    -1\n" +
		"app        soft    nofiles   1024\n" +
		"app        both    nofile    1024\n" +
		"app        soft    nofile\n" +
		"app        soft    nofile    lots\n"
	sysCheckRecs(t, parseText(t, limitsConfParser, "test", text), []string{
		"5 limit nproc soft=4096 hard=-2 pid=0 scope=config unit=processes domain=*",
		"6 limit nproc soft=-1 hard=-2 pid=0 scope=config unit=processes domain=root",
		"7 limit nofile soft=65535 hard=65535 pid=0 scope=config unit=files domain=nginx",
		"8 limit nice soft=-2 hard=-5 pid=0 scope=config unit= domain=@dev",
		"9 limit nofile soft=-2 hard=-1 pid=0 scope=config unit=files domain=app",
		`test:10: unknown limit item "nofiles"`,
		`test:11: limit type "both" is not soft, hard or -`,
		"test:12: limits.conf line has 3 fields, want domain type item value",
		`test:13: limit value "lots" of nofile is not a number or unlimited`,
	})
	if !detectLimitsConf([]byte(text)) {
		t.Errorf("20-nproc.conf not detected")
	}
}

func TestParseSystemd(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "systemctl show: hard and soft lines make one record",
			text: "Type=simple\nMainPID=812\nLimitNOFILE=524288\nLimitNOFILESoft=1024\nLimitCPU=infinity\nLimitCPUSoft=infinity\nId=nginx.service\n",
			want: []string{
				"3 limit nofile soft=1024 hard=524288 pid=0 scope=systemd unit=files domain=nginx.service",
				"5 limit cpu soft=-1 hard=-1 pid=0 scope=systemd unit=seconds domain=nginx.service",
			},
		},
		{
			name: "old systemd prints one value",
			text: "LimitNOFILE=4096\n",
			want: []string{"1 limit nofile soft=-2 hard=4096 pid=0 scope=systemd unit=files domain="},
		},
		{
			name: "manager defaults",
			text: "DefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=1024\n",
			want: []string{"1 limit nofile soft=1024 hard=524288 pid=0 scope=systemd unit=files domain=(manager default)"},
		},
		{
			name: "systemctl cat: unit file and drop-in, soft:hard, sizes, spans",
			text: "# /lib/systemd/system/redis-server.service\n[Service]\nLimitNOFILE=65535\n\n" +
				"# /etc/systemd/system/redis-server.service.d/override.conf\n[Service]\n" +
				"LimitNOFILE=1024:524288\nLimitMEMLOCK=64M\nLimitCPU=30min\nLimitRTTIME=500ms\nLimitNPROC=lots\n",
			want: []string{
				"7 limit nofile soft=1024 hard=524288 pid=0 scope=systemd unit=files domain=redis-server.service",
				"8 limit memlock soft=67108864 hard=67108864 pid=0 scope=systemd unit=bytes domain=redis-server.service",
				"9 limit cpu soft=1800 hard=1800 pid=0 scope=systemd unit=seconds domain=redis-server.service",
				"10 limit rttime soft=500000 hard=500000 pid=0 scope=systemd unit=us domain=redis-server.service",
				"11 limit nproc soft=-2 hard=-2 pid=0 scope=systemd unit=processes domain=redis-server.service",
				`test:11: systemd limit "lots" is not a number, a size or infinity`,
			},
		},
		{
			name: "a line that is not Key=Value",
			text: "LimitNOFILE=1024\nthis is not systemd\n",
			want: []string{
				"1 limit nofile soft=-2 hard=1024 pid=0 scope=systemd unit=files domain=",
				"test:2: not a Key=Value line",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, systemdLimitsParser, "test", tt.text), tt.want)
		})
	}
}

func TestDetectLimits(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \n", "proc-limits"},
		{"RESOURCE DESCRIPTION SOFT HARD UNITS\nNOFILE max number of open files 20000 20000 files\n", "prlimit"},
		{"open files                      (-n) 1024\n", "ulimit"},
		{"pipe size            (512 bytes, -p) 8\nopen files                      (-n) 1024\n", "ulimit"},
		{"-n: file descriptors 1024\n", "ulimit"},
		{"nofiles 1024\nprocess 4096\n", "ulimit"},
		{"*  soft  nofile  65535\n*  hard  nofile  65535\n", "limits-conf"},
		{"#<domain>      <type>  <item>         <value>\n#\n", "limits-conf"},
		{"LimitNOFILE=65535\n", "systemd-limits"},
		{"Type=notify\nRestart=always\nNotifyAccess=main\nRestartUSec=100ms\n", "systemd-limits"},
		{"[Service]\nExecStart=/usr/bin/app\nLimitNOFILE=65535\n", "systemd-limits"},
	}
	for _, tt := range tests {
		if got := sysKindOf(Detect([]byte(tt.text))); got != tt.want {
			t.Errorf("Detect(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
	for _, text := range []string{
		"nofiles 1024\n",                          // one loose dash line proves nothing
		"[Service]\nExecStart=/usr/bin/app\n",     // a unit file with no limits
		"hello world\n",                           // prose
		"Name=x\nValue=y\n",                       // two Key=Value lines
		"user soft nofile\n",                      // three fields
		"Limit of the service is 10\n",            // prose starting with Limit
		"RESOURCE usage report\nNOFILE 10\n",      // not prlimit's header
		"open files are many (-n) not a number\n", // bash shape, no value
	} {
		for _, p := range []*Parser{procLimitsParser, prlimitParser, ulimitParser, limitsConfParser, systemdLimitsParser} {
			if p.Detect([]byte(text)) {
				t.Errorf("%s claims %q", p.Kind, text)
			}
		}
	}
}

func FuzzParseProcLimits(f *testing.F) {
	fuzzSystem(f, procLimitsParser, "proc/1/limits", procLimitsSample, "# cmd: cat /proc/77/limits\n"+procLimitsSample)
}

func FuzzParsePrlimit(f *testing.F) {
	fuzzSystem(f, prlimitParser, "prlimit.txt", "RESOURCE DESCRIPTION SOFT HARD UNITS\nNOFILE max number of open files 20000 20000 files\n")
}

func FuzzParseUlimit(f *testing.F) {
	fuzzSystem(f, ulimitParser, "ulimit.txt",
		"core file size          (blocks, -c) 0\nopen files                      (-n) 1024\n",
		"# cmd: ulimit -Ha\n-n: file descriptors 1024\n-N 15:      unlimited\n",
		"nofiles 1024\nlocked memory(kbytes) 64\n")
}

func FuzzParseUlimitValue(f *testing.F) {
	fuzzSystem(f, ulimitValueParser, "ulimit-n.txt", "# cmd: ulimit -n\n1024\n", "# cmd: ulimit -Hu\nunlimited\n")
}

func FuzzParseLimitsConf(f *testing.F) {
	fuzzSystem(f, limitsConfParser, "limits.conf", "*  soft  nofile  65535\n@dev hard nice -5 # x\n")
}

func FuzzParseSystemdLimits(f *testing.F) {
	fuzzSystem(f, systemdLimitsParser, "show.txt",
		"LimitNOFILE=524288\nLimitNOFILESoft=1024\nId=x.service\n",
		"# /etc/systemd/system/x.service.d/o.conf\n[Service]\nLimitNOFILE=1:2\nLimitCPU=1h 30min\nLimitAS=8G\n")
}
