#!/bin/bash
# healthcheck-starvation: a 10-worker thread-pool server reading 4-byte
# frames; a load balancer's TCP health check from 8 nodes (100.64.1.10-17)
# connects and resets every 2 s; the resets of two nodes are lost on the
# way (dropped in the balancer's namespace), so those connections stay
# ESTABLISHED on the server and each holds a worker forever; real clients
# queue, time out and leave CLOSE_WAIT behind.
# See testdata/bundles/healthcheck-starvation/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
command -v nft >/dev/null || die "missing tool: nft (package nftables)"
lab_init healthcheck-starvation

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.30/24 10.200.2.31/24 10.200.2.32/24
HC=()
for i in $(seq 10 17); do HC+=("100.64.1.$i"); done
lab_host lb $(printf '%s/24 ' "${HC[@]}")
# The path from two balancer nodes loses their RSTs.
ip netns exec "${NSP}lb" nft -f - <<'NFT'
table inet lossy {
	chain out {
		type filter hook output priority 0; policy accept;
		ip saddr { 100.64.1.16, 100.64.1.17 } tcp flags & rst == rst drop
	}
}
NFT

hbg server /usr/bin/python3 "$BIN/thriftsrv.py" --port 9455 --workers 10 --duration 90 --log "$RUN/server/thriftsrv.log"
SRV=$BGPID
wait_port server :9455
hbg client "$BIN/framecli" -target 10.200.1.10:9455 -sources 10.200.2.30,10.200.2.31,10.200.2.32 \
	-rate 0.5 -timeout 3s -duration 60s -log "$RUN/client/avatar-client.log"
CLI=$BGPID
sleep 3
hbg lb "$BIN/healthcheck" -target 10.200.1.10:9455 -sources "$(IFS=,; echo "${HC[*]}")" \
	-interval 2s -duration 60s -log "$RUN/lb/healthcheck.log"

# Wait until the ten workers hold silent health-check connections, then let
# a few client calls fail before collecting.
hc_estab() { [ "$(ip netns exec "${NSP}server" ss -Htn state established '( sport = :9455 )' | grep -c ' 100\.64\.')" -ge 10 ]; }
wait_until 60 hc_estab || true
sleep 8
lab_collect server --pid "$SRV" --snapshots 3 --interval 3s --pcap --duration 10s --snaplen 128 \
	--log "$RUN/server/thriftsrv.log"
C1=$BGPID
lab_collect client --pid "$CLI" --snapshots 1 --log "$RUN/client/avatar-client.log"
wait "$C1" "$BGPID" || true
lab_unpack
