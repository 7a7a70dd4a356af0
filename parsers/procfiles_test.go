package parsers

import "testing"

const procStatusSample = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nNgid:\t0\nPid:\t812\nPPid:\t1\n" +
	"FDSize:\t16384\nGroups:\t \nVmRSS:\t   12000 kB\nThreads:\t4\nSigQ:\t0/63459\n"

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"one process", "# cmd: cat /proc/812/status\n" + procStatusSample,
			[]string{"2 process pid=812 name=nginx threads=4 fdsize=16384 fds=-1"}},
		{"cat /proc/*/status: one record per Name line",
			procStatusSample + "Name:\tkworker/0:1-events\nState:\tI (idle)\nPid:\t33\nThreads:\t1\n",
			[]string{
				"1 process pid=812 name=nginx threads=4 fdsize=16384 fds=-1",
				"13 process pid=33 name=kworker/0:1-events threads=1 fdsize=-1 fds=-1",
			}},
		{"bad values are reported, the record kept",
			"Name:\tapp\nState:\tR (running)\nPid:\t-4\nThreads:\tmany\nFDSize:\t64\nno colon here\n",
			[]string{
				"1 process pid=0 name=app threads=-1 fdsize=64 fds=-1",
				`test:3: Pid "-4" is not a count`,
				`test:4: Threads "many" is not a count`,
				`test:6: not a "Key:	value" line`,
			}},
		{"counts before any Name", "Pid:\t5\nName:\tx\n",
			[]string{"2 process pid=0 name=x threads=-1 fdsize=-1 fds=-1", "test:1: Pid line before any Name line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, procStatusParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseProcStat(t *testing.T) {
	text := "cpu  4335 0 1213 57105 293 0 59 3 0 0\ncpu0 1951 0 609 28708 208 0 29 1 0 0\n" +
		"intr 1 2 3\nctxt 1990473\nbtime 1795298060\nprocesses 30263\n"
	sysCheckRecs(t, parseText(t, procStatParser, "test", text), []string{"5 clock boot 2026-11-21T21:54:20Z"})
	sysCheckRecs(t, parseText(t, procStatParser, "test", "cpu  1 2 3 4\nbtime soon\nbtime 1 2\n"), []string{
		`test:2: btime "soon" is not seconds since the epoch`,
		"test:3: btime line has 3 fields, want 2",
	})
}

func TestParseFileNr(t *testing.T) {
	sysCheckRecs(t, parseText(t, fileNrParser, "test", "# cmd: cat /proc/sys/fs/file-nr\n1632\t0\t9223372036854775807\n"), []string{
		"2 set file-nr",
		"2 counter file-nr/allocated=1632 gauge",
		"2 counter file-nr/unused=0 gauge",
		"2 counter file-nr/max=9223372036854775807 gauge",
	})
	sysCheckRecs(t, parseText(t, fileNrParser, "test", "1632 x\n1 2 3\n"), []string{
		"test:1: file-nr has 2 numbers, want 3 (allocated, unused, max)",
		"test:2: file-nr has more than one line",
	})
}

func TestDetectProcFiles(t *testing.T) {
	if got := sysKindOf(Detect([]byte(procStatusSample))); got != "proc-status" {
		t.Errorf("status detected as %s", got)
	}
	if got := sysKindOf(Detect([]byte("cpu  4335 0 1213 57105 293 0 59 3 0 0\ncpu0 1951 0 609 28708 208 0 29 1 0 0\n"))); got != "proc-stat" {
		t.Errorf("/proc/stat detected as %s", got)
	}
	for _, text := range []string{
		"Name:\tnginx\nVersion: 1.2\n", // a Name line alone
		"cpu usage is high\n",
		"cpu  a b c d\n",
	} {
		for _, p := range []*Parser{procStatusParser, procStatParser} {
			if p.Detect([]byte(text)) {
				t.Errorf("%s claims %q", p.Kind, text)
			}
		}
	}
}

func FuzzParseProcStatus(f *testing.F) {
	fuzzSystem(f, procStatusParser, "status", procStatusSample)
}

func FuzzParseProcStat(f *testing.F) {
	fuzzSystem(f, procStatParser, "stat", "cpu  1 2 3 4 5\nbtime 1795298060\n")
}

func FuzzParseFileNr(f *testing.F) {
	fuzzSystem(f, fileNrParser, "proc/sys/fs/file-nr", "1632\t0\t9223372036854775807\n")
}
