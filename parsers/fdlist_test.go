package parsers

import "testing"

var fdListTests = []sockTest{
	{
		name: "ls -l /proc/PID/fd named by the header",
		in: "# cmd: ls -l /proc/8445/fd\n" +
			"total 0\n" +
			"lr-x------ 1 root root 64 Nov 21 21:59 0 -> /dev/null\n" +
			"l-wx------ 1 root root 64 Nov 21 21:59 1 -> /srv/nm/pid.txt\n" +
			"lrwx------ 1 root root 64 Nov 21 21:59 11 -> socket:[12377]\n" +
			"lrwx------ 1 root root 64 Nov 21 21:59 12 -> anon_inode:[eventpoll]\n",
		want: []string{`process 2 pid=8445 name="" fds=4 threads=-1 fdsize=-1`},
	},
	{
		name: "ls -la of several processes, a process gone",
		in: "/proc/1/fd:\n" +
			"total 0\n" +
			"dr-x------ 2 root root  0 Nov 21 21:59 .\n" +
			"dr-xr-xr-x 9 root root  0 Nov 21 21:59 ..\n" +
			"lrwx------ 1 root root 64 Nov 21 21:59 0 -> /dev/null\n" +
			"\n" +
			"ls: cannot open directory '/proc/77/fd': No such file or directory\n" +
			"/proc/28719/fd:\n" +
			"total 0\n" +
			"lrwx------    1 www      www             64 Jan  1 00:00 3 -> socket:[261027973]\n" +
			"lrwx------    1 www      www             64 Jan  1 00:00 4 -> socket:[261328458]\n" +
			"-rw-r--r-- 1 root root 12 Nov 21 21:59 notes\n",
		want: []string{
			`process 1 pid=1 name="" fds=1 threads=-1 fdsize=-1`,
			`process 8 pid=28719 name="" fds=2 threads=-1 fdsize=-1`,
		},
		errs: []string{`12: not a /proc/PID/fd entry: "-rw-r--r-- 1 root root 12 Nov 21 21:59 notes"`},
	},
	{
		name: "no header: pid unknown",
		in:   "lrwx------ 1 root root 64 Nov 21 21:59 3 -> socket:[1]\n",
		want: []string{`process 1 pid=0 name="" fds=1 threads=-1 fdsize=-1`},
	},
}

func TestParseFDList(t *testing.T) { runSockTests(t, fdListParser, fdListTests) }

var fdCountTests = []sockTest{
	{
		name: "ls | wc -l",
		in:   "# cmd: ls /proc/28719/fd | wc -l\n10240\n",
		want: []string{`process 2 pid=28719 name="" fds=10240 threads=-1 fdsize=-1`},
	},
	{
		name: "ls -l | wc -l counts the total line",
		in:   "# cmd: ls -l /proc/28719/fd/ | wc -l\n23\n",
		want: []string{`process 2 pid=28719 name="" fds=22 threads=-1 fdsize=-1`},
	},
	{
		name: "bare ls lists the descriptors",
		in:   "# cmd: ls /proc/8445/fd\n0  1  10  11\n12\n2\n",
		want: []string{`process 2 pid=8445 name="" fds=6 threads=-1 fdsize=-1`},
	},
	{
		name: "wc with two numbers",
		in:   "# cmd: ls /proc/1/fd | wc -l\n3\n4 x\n",
		errs: []string{`3: not a number: "x"`, `2: expected one count from wc, found 2 numbers`},
	},
}

func TestParseFDCount(t *testing.T) { runSockTests(t, fdCountParser, fdCountTests) }

func TestDetectFDFiles(t *testing.T) {
	for head, want := range map[string]bool{
		"total 0\nlr-x------ 1 root root 64 Nov 21 21:59 0 -> /dev/null\n":                                                                                                   true,
		"/proc/1/fd:\ntotal 0\ndr-x------ 2 root root  0 Nov 21 21:59 .\ndr-xr-xr-x 9 root root  0 Nov 21 21:59 ..\nlrwx------ 1 root root 64 Nov 21 21:59 0 -> /dev/null\n": true,
		"total 4\nlrwxrwxrwx 1 root root 7 Nov 21 21:59 lib -> usr/lib\n":                                                                                                    false,
		"10240\n": false, // a bare number says nothing by itself
	} {
		if got := detectFDList([]byte(head)); got != want {
			t.Errorf("detectFDList(%q) = %v, want %v", head, got, want)
		}
		if fdCountParser.Detect([]byte(head)) {
			t.Errorf("fd-count claims %q by content", head)
		}
	}
	for _, tt := range []struct {
		cmd, body string
		want      bool
	}{
		{"ls /proc/28719/fd | wc -l", "10240\n", true},
		{"ls -l /proc/$(pidof app)/fd | wc -l", "10240\n", true},
		{"ls /proc/28719/fd", "0 1 2\n", true},
		{"cat /proc/sys/fs/file-max", "10240\n", false},
		{"ulimit -n", "10240\n", false},
		{"", "10240\n", false},
		{"ls /proc/28719/fd | wc -l", "ten\n", false},
	} {
		got := detectFDCountFile(Header{Command: tt.cmd}, []byte(tt.body)) != nil
		if got != tt.want {
			t.Errorf("detectFDCountFile(%q, %q) = %v, want %v", tt.cmd, tt.body, got, tt.want)
		}
	}
}

func FuzzParseFDList(f *testing.F) {
	var seeds []string
	for _, tt := range fdListTests {
		seeds = append(seeds, tt.in)
	}
	fuzzSocketParser(f, fdListParser, append(seeds, socketSample(f, "ls-l-proc-fd.txt")))
}

func FuzzParseFDCount(f *testing.F) {
	var seeds []string
	for _, tt := range fdCountTests {
		seeds = append(seeds, tt.in)
	}
	fuzzSocketParser(f, fdCountParser, seeds)
}
