#!/bin/bash
# tcp-memory-pressure: a push service sends 16 KB to each of 220 subscribers
# every 100 ms; 200 of them (a batch consumer) get stuck and stop reading,
# while 20 (dashboards) keep up. The 200 connections fill both socket
# buffers, some 300 MB held by TCP; the service drops a subscriber whose
# write has been stuck for 5 s (warning at 4 s) by close()ing it with its
# send queue full.
#
# net.ipv4.tcp_mem is host-wide (no network namespace has it) and sized
# from this host's memory (about 2.2 GB before allocations fail), so when
# the service warns that it is about to drop them the lab lowers tcp_mem
# just below TCP's current use (max = use - 5% of the incident's share,
# pressure and min below it), and restores it as soon as resets have
# brought TCP's use back under that maximum (a second or two; never more
# than 15 s). TCP enters memory pressure (TCPMemoryPressures) and, above
# the maximum, a socket closed with more than a few KB queued is reset:
# "TCP: out of memory -- consider tuning tcp_mem", TCPAbortOnMemory.
# Sockets with less than tcp_rmem[0]/tcp_wmem[0] (4 KB) queued may still
# allocate above the maximum, so small exchanges of other processes keep
# working; the first resets free the service's send queues and bring TCP
# back under it.
# See testdata/bundles/tcp-memory-pressure/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init tcp-memory-pressure
. "$LAB_SRC/global-sysctl.sh"

STUCK=200
OK=20
lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.71/24 10.200.2.72/24

tcpmem() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
BASE=$(tcpmem)
hbg server "$BIN/pushsrv" -listen :9100 -size 16384 -every 100ms -slow 5s -duration 60s -log "$RUN/server/pushsrv.log"
SRV=$BGPID
wait_port server :9100
hbg client "$BIN/subscriber" -target 10.200.1.10:9100 -sources 10.200.2.72 -conns $OK -heartbeat 1s -duration 45s \
	-log "$RUN/client/dashboards.log"
hbg client "$BIN/subscriber" -target 10.200.1.10:9100 -sources 10.200.2.71 -conns $STUCK -heartbeat 1s \
	-stall-after 6s -duration 45s -log "$RUN/client/batch-consumer.log"
estab() { [ "$(ip netns exec "${NSP}server" ss -Htn state established '( sport = :9100 )' | wc -l)" -ge $((STUCK + OK)) ]; }
wait_until 30 estab || die "the subscribers did not connect"
# Wait for the stuck consumer's buffers to fill: TCP's memory use stops growing.
PREV=0
full() {
	local m
	m=$(tcpmem)
	[ "$m" -gt $((BASE + 4000)) ] && [ $((m - PREV)) -lt $((m / 50)) ] && return 0
	PREV=$m
	return 1
}
sleep 6
wait_until 20 full || die "TCP memory did not settle (base $BASE, now $(tcpmem) pages)"
log "TCP memory: $(tcpmem) pages (host before the run: $BASE)"
lab_collect server --pid "$SRV" --snapshots 5 --interval 2s --pcap --duration 10s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/pushsrv.log"
COL=$BGPID
warned() { grep -q 'write stuck' "$RUN/server/pushsrv.log"; }
wait_until 15 warned || die "the service did not warn about stuck writes"
USE=$(tcpmem)
M=$(((USE - BASE) / 20))
[ "$M" -ge 1024 ] || die "the incident holds too little TCP memory ($((USE - BASE)) pages) to lower tcp_mem safely"
global_lower net.ipv4.tcp_mem "$((USE - 3 * M)) $((USE - 2 * M)) $((USE - M))"
aborts() { ip netns exec "${NSP}server" nstat -saz TcpExtTCPAbortOnMemory | awk '/TCPAbortOnMemory/ {print $2}'; }
# Restore once resets have freed enough: no further close can be refused.
under() { [ "$(aborts)" -gt 0 ] && [ "$(tcpmem)" -lt $((USE - M)) ]; }
wait_until "$(global_left)" under || true
global_restore
log "connections reset for lack of memory (TCPAbortOnMemory): $(aborts); TCP memory now $(tcpmem) pages"
wait "$COL" || true
lab_unpack
