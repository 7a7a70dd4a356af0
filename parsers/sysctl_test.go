package parsers

import "testing"

func TestParseSysctl(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "sysctl -a: spaces folded, empty values kept",
			text: "net.ipv4.tcp_max_tw_buckets = 5000\n" +
				"net.ipv4.tcp_mem = 45588\t60787\t91176\n" +
				"kernel.domainname = (none)\n" +
				"dev.cdrom.info = \n" +
				"net.ipv4.conf.eth0/100.rp_filter = 1\n",
			want: []string{
				`1 sysctl net.ipv4.tcp_max_tw_buckets="5000"`,
				`2 sysctl net.ipv4.tcp_mem="45588 60787 91176"`,
				`3 sysctl kernel.domainname="(none)"`,
				`4 sysctl dev.cdrom.info=""`,
				`5 sysctl net.ipv4.conf.eth0/100.rp_filter="1"`,
			},
		},
		{
			name: "sysctl.d: comments, slashes, ignore-errors prefix, no spaces",
			text: "# /etc/sysctl.d/99-tuning.conf\n" +
				"; old style comment\n" +
				"net/ipv4/ip_forward = 1\n" +
				"net/ipv4/conf/eth0.100/rp_filter=2\n" +
				"-net.netfilter.nf_conntrack_max=262144\n" +
				"net.core.somaxconn=4096\n",
			want: []string{
				`3 sysctl net.ipv4.ip_forward="1"`,
				`4 sysctl net.ipv4.conf.eth0/100.rp_filter="2"`,
				`5 sysctl net.netfilter.nf_conntrack_max="262144"`,
				`6 sysctl net.core.somaxconn="4096"`,
			},
		},
		{
			name: "sysctl --system with 2>&1, BSD colons, grep -r dumps",
			text: "* Applying /etc/sysctl.d/10-network-security.conf ...\n" +
				"net.ipv4.conf.default.rp_filter = 2\n" +
				"sysctl: permission denied on key \"fs.protected_regular\", ignoring\n" +
				"kern.ipc.somaxconn: 128\n" +
				"/proc/sys/net/ipv4/tcp_fin_timeout:60\n",
			want: []string{
				`2 sysctl net.ipv4.conf.default.rp_filter="2"`,
				`4 sysctl kern.ipc.somaxconn="128"`,
				`5 sysctl net.ipv4.tcp_fin_timeout="60"`,
			},
		},
		{
			name: "bad lines are reported and skipped",
			text: "net.core.somaxconn = 128\n" +
				"this is not a setting\n" +
				"= 5\n" +
				"vm.swappiness = 60\r\n",
			want: []string{
				`1 sysctl net.core.somaxconn="128"`,
				`4 sysctl vm.swappiness="60"`,
				"test:2: not a sysctl setting (key = value)",
				"test:3: not a sysctl setting (key = value)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, sysctlParser, "test", tt.text), tt.want)
		})
	}
}

func TestParseProcSysValue(t *testing.T) {
	tests := []struct {
		name, path, text string
		want             []string
	}{
		{"by command", "x", "# cmd: cat /proc/sys/net/ipv4/tcp_max_tw_buckets\n5000\n",
			[]string{`2 sysctl net.ipv4.tcp_max_tw_buckets="5000"`}},
		{"sysctl -n", "x", "# cmd: sysctl -n net.ipv4.tcp_rmem\n4096\t131072\t6291456\n",
			[]string{`2 sysctl net.ipv4.tcp_rmem="4096 131072 6291456"`}},
		{"by path", "web-1/proc/sys/net/core/somaxconn", "4096\n",
			[]string{`1 sysctl net.core.somaxconn="4096"`}},
		{"key unknown", "x", "4096\n",
			[]string{"x: neither the file's path nor its command names a /proc/sys key"}},
		{"empty", "web-1/proc/sys/kernel/domainname", "\n\n",
			[]string{"web-1/proc/sys/kernel/domainname: empty /proc/sys value file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sysCheckRecs(t, parseText(t, procSysValueParser, tt.path, tt.text), tt.want)
		})
	}
}

func TestSysctlKey(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.ip_forward":                 "net.ipv4.ip_forward",
		"net/ipv4/ip_forward":                 "net.ipv4.ip_forward",
		"net/ipv4/conf/enp3s0.200/forwarding": "net.ipv4.conf.enp3s0/200.forwarding",
		"-kernel.yama.ptrace_scope":           "kernel.yama.ptrace_scope",
		"net.ipv4.conf.*.rp_filter":           "net.ipv4.conf.*.rp_filter",
	} {
		if got := sysctlKey(in); got != want {
			t.Errorf("sysctlKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectSysctl(t *testing.T) {
	yes := []string{
		"abi.vsyscall32 = 1\ndebug.exception-trace = 1\n",
		"#\n# /etc/sysctl.conf - Configuration file for setting system variables\n#\n",
		"* Applying /etc/sysctl.d/10-console-messages.conf ...\nkernel.printk = 4 4 1 7\n",
		"/proc/sys/net/ipv4/tcp_fin_timeout:60\n",
		"kern.ostype: Darwin\nkern.osrelease: 23.1.0\n",
	}
	for _, text := range yes {
		if !detectSysctl([]byte(text)) {
			t.Errorf("sysctl does not claim %q", text)
		}
	}
	no := []string{
		"spring.datasource.url=jdbc:mysql://db/app\n",
		"# just a comment\n",
		"net.core.somaxconn = 128\nand then prose\n",
		"LimitNOFILE=1024\n",
		"Ip: Forwarding DefaultTTL\nIp: 1 64\n",
		"",
	}
	for _, text := range no {
		if detectSysctl([]byte(text)) {
			t.Errorf("sysctl claims %q", text)
		}
	}
}

func FuzzParseSysctl(f *testing.F) {
	fuzzSystem(f, sysctlParser, "sysctl.txt",
		"net.ipv4.tcp_mem = 45588\t60787\t91176\n-net/ipv4/conf/eth0.100/rp_filter=2\n",
		"kern.ipc.somaxconn: 128\n/proc/sys/net/core/somaxconn:4096\n* Applying x ...\n")
}

func FuzzParseProcSysValue(f *testing.F) {
	fuzzSystem(f, procSysValueParser, "web-1/proc/sys/net/ipv4/tcp_mem",
		"45588\t60787\t91176\n", "# cmd: sysctl -n net.core.somaxconn\n4096\n")
}
