package analyzers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmortem/netmortem/analyzers"
	"github.com/netmortem/netmortem/parsers"
)

// kernelIDs are the mechanisms of the kernel-side analyzers.
var kernelIDs = map[string]bool{
	"tw-bucket-overflow": true, "accept-queue-overflow": true, "syn-flood": true, "conntrack-full": true,
	"ephemeral-port-exhaustion": true, "orphan-sockets": true, "tcp-memory-pressure": true, "file-max-reached": true,
}

// corpusDir finds the shared corpus beside the module, or skips.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("corpus not present beside the module (%v)", err)
	}
	return c
}

// TestKernelCorpus runs the suite over real artifacts put together as one
// host's bundle: TIME_WAIT-heavy tables with their sockstat are not an
// overflow, one SYN_RECV is not a flood, lone cumulative counters are
// never used, and the real nf_conntrack line is conntrack-full.
func TestKernelCorpus(t *testing.T) {
	corpus := corpusDir(t)
	cases := []struct {
		name     string
		files    []string
		want     map[string]string // id → severity of the kernel-side findings expected
		ruledOut map[string]string // id → substring of its rule-out
	}{
		{
			name:     "vault: 105 TIME_WAIT with sockstat tw 105",
			files:    []string{"proc-net-tcp/hotsos-vault-proc-net-tcp-timewait-heavy.txt", "sockstat/hotsos-vault-sockstat-tw105.txt"},
			ruledOut: map[string]string{"tw-bucket-overflow": "105 TIME_WAIT sockets", "ephemeral-port-exhaustion": "(95 TIME_WAIT, 1 ESTABLISHED)"},
		},
		{
			name:     "ceph-mon: TIME_WAIT-heavy table",
			files:    []string{"proc-net-tcp/hotsos-cephmon-proc-net-tcp-timewait-heavy.txt"},
			ruledOut: map[string]string{"tw-bucket-overflow": "far below any default"},
		},
		{
			name: "kubernetes worker: tables, sockstat, sysctl and counters of one host",
			files: []string{"proc-net-tcp/hotsos-k8s-proc-net-tcp.txt", "proc-net-tcp/hotsos-k8s-proc-net-tcp6-timewait.txt",
				"sockstat/hotsos-k8s-sockstat.txt", "sysctl/hotsos-k8s-ubuntu2004-sysctl-a.txt",
				"netstat-s/hotsos-k8s-nstat-zas.txt", "netstat-s/hotsos-k8s-proc-net-netstat.txt"},
			ruledOut: map[string]string{
				"tw-bucket-overflow":  "of net.ipv4.tcp_max_tw_buckets 16384",
				"tcp-memory-pressure": "TCP uses 7 pages, under the pressure threshold 60787",
				"orphan-sockets":      "0 orphaned sockets of net.ipv4.tcp_max_orphans 16384",
				"file-max-reached":    "of fs.file-max 9223372036854775807",
			},
		},
		{
			name:  "nf_conntrack table full kernel line",
			files: []string{"kernel-log/hotsos-kernlog-nf-conntrack-table-full.log"},
			want:  map[string]string{"conntrack-full": "high"},
		},
		{
			name:     "one SYN_RECV in netstat -neopa",
			files:    []string{"netstat/insights-netstat-neopa-synrecv.txt"},
			ruledOut: map[string]string{"syn-flood": "at most 1 SYN_RECV sockets on port 80"},
		},
		{
			name:  "busy sockstat: tw 2030, orphan 17, mem 4109 without limits",
			files: []string{"sockstat/insights-sockstat-tw2030-orphan17.txt"},
		},
		{
			name: "single counter sets say nothing alone",
			files: []string{"netstat-s/insights-netstat-s.txt", "netstat-s/procfs-proc-net-netstat.txt",
				"netstat-s/jc-proc-net-netstat-mptcp.txt", "netstat-s/node-exporter-proc-net-snmp.txt"},
		},
		{
			name:  "big kernel logs of healthy hosts",
			files: []string{"kernel-log/hotsos-k8s-ubuntu2004-kern.log", "kernel-log/hotsos-openstack-compute-kern-two-boots.log"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				data, err := os.ReadFile(filepath.Join(corpus, filepath.FromSlash(f)))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := parsers.Load([]string{dir}, parsers.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res := analyzers.Run(analyzers.Suite, b.Evidence, nil)
			for _, e := range res.Errors {
				t.Errorf("analyzer failed: %s", e)
			}
			seen := map[string]bool{}
			for _, f := range res.Findings {
				if !kernelIDs[f.ID] || f.Severity == analyzers.Info {
					continue
				}
				seen[f.ID] = true
				if want, ok := c.want[f.ID]; !ok {
					t.Errorf("unexpected %s (%s): %s", f.ID, f.Severity, f.Summary)
				} else if f.Severity.String() != want {
					t.Errorf("%s: severity %s, want %s", f.ID, f.Severity, want)
				}
				checkEvidence(t, dir, f)
			}
			for id := range c.want {
				if !seen[id] {
					t.Errorf("missing %s", id)
				}
			}
			for id, sub := range c.ruledOut {
				var reasons []string
				for _, r := range res.RuledOut {
					if r.ID == id {
						reasons = append(reasons, r.Reason)
					}
				}
				if got := strings.Join(reasons, "\n"); !strings.Contains(got, sub) {
					t.Errorf("%s rule-out %q does not say %q", id, got, sub)
				}
			}
		})
	}
}
