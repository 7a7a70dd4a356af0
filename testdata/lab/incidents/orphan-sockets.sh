#!/bin/bash
# orphan-sockets: a push service with 500 subscribers publishes 4 KB to each
# every second and drops a subscriber it has not heard from for 3 s. The
# subscribers' host starts rejecting the service (its firewall answers
# every segment from the server with ICMP admin-prohibited and drops the
# heartbeats): the service's last messages are never acknowledged, the
# ICMP errors are recorded on its sockets as soft errors, and after 3 s it
# close()s all 500 connections: 500 orphaned sockets in FIN_WAIT1, still
# retransmitting data nobody will acknowledge.
#
# net.ipv4.tcp_max_orphans is host-wide (no network namespace has it), and
# 131072 here (sized from this host's memory), so the lab lowers it to 800
# for a few seconds: at or under 800 orphans close() is never refused, so
# other processes of the host are not touched; but the kernel counts
# orphans twice against the limit for a socket that got a soft error, so
# on their retransmission timer the service's orphans are over it: the
# kernel logs "TCP: too many orphaned sockets", resets them
# (TCPAbortOnMemory) and the data they held is lost.
# See testdata/bundles/orphan-sockets/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
command -v nft >/dev/null || die "missing tool: nft (package nftables)"
lab_init orphan-sockets
. "$LAB_SRC/global-sysctl.sh"

N=500
LIMIT=800 # N <= LIMIT < 2*N
lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.60/24
# Every rejected segment gets its ICMP error (the rate limit would
# otherwise answer about one per second to one destination).
hsysctl client net.ipv4.icmp_ratemask=0

hbg server "$BIN/pushsrv" -listen :9100 -size 4096 -every 1s -dead 3s -duration 60s -log "$RUN/server/pushsrv.log"
SRV=$BGPID
wait_port server :9100
hbg client "$BIN/subscriber" -target 10.200.1.10:9100 -conns $N -heartbeat 1s -duration 45s \
	-log "$RUN/client/subscriber.log"
estab() { [ "$(ip netns exec "${NSP}server" ss -Htn state established '( sport = :9100 )' | wc -l)" -ge $N ]; }
wait_until 30 estab || die "the subscribers did not connect"
sleep 2

# Others' orphans count against the same limit: refuse a busy host.
others=$(awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "orphan") print $(i + 1)}' /proc/net/sockstat)
[ "$others" -lt 100 ] || die "$others orphaned sockets on the host already; not lowering tcp_max_orphans"

lab_collect server --pid "$SRV" --snapshots 5 --interval 2s --pcap --duration 10s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/pushsrv.log"
COL=$BGPID
sleep 1
global_lower net.ipv4.tcp_max_orphans $LIMIT
ip netns exec "${NSP}client" nft -f - <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.200.1.10 tcp sport 9100 reject with icmp type admin-prohibited
	}
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 10.200.1.10 tcp dport 9100 drop
	}
}
NFT
log "subscribers' host now rejects the service"
aborts() { ip netns exec "${NSP}server" nstat -saz TcpExtTCPAbortOnMemory | awk '/TCPAbortOnMemory/ {print $2}'; }
killed() { [ "$(aborts)" -gt 0 ]; }
wait_until "$(global_left)" killed || true
sleep 1
global_restore
log "orphans reset by the kernel (TCPAbortOnMemory): $(aborts)"
wait "$COL" || true
# The subscribers' host comes back: their own unsent heartbeats reach the
# server, which resets them, instead of lingering as orphans of the client
# (host-wide) for minutes after the run.
ip netns exec "${NSP}client" nft delete table inet fw
lab_unpack
