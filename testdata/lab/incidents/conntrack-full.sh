#!/bin/bash
# conntrack-full: a web server behind a stateful nftables firewall (so
# connection tracking is on in its namespace) also answers a UDP service; a
# misbehaving batch fleet queries it from a fresh socket per flow and
# queries again 2 s later, which makes every flow an "assured" UDP stream
# for conntrack (120 s, never evicted early). The table reaches
# nf_conntrack_max and the kernel drops new flows, web clients included:
# "nf_conntrack: table full, dropping packet".
#
# nf_conntrack_max is global (read-only inside a network namespace), so the
# lab does not lower it: it fills the namespace's table up to the host's
# limit (262144 here), which only affects this namespace (the count is per
# namespace). See testdata/bundles/conntrack-full/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
command -v nft >/dev/null || die "missing tool: nft (package nftables)"
lab_init conntrack-full

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.90/24
FLEET=()
for i in $(seq 10 73); do FLEET+=("10.200.4.$i"); done
lab_host batch $(printf '%s/24 ' "${FLEET[@]}")
ip netns exec "${NSP}server" nft -f - <<'NFT'
table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif lo accept
		tcp dport { 22, 8080 } accept
		udp dport 53 accept
		icmp type echo-request accept
		meta nfproto ipv6 accept
	}
}
NFT
MAX=$(sysctl -n net.netfilter.nf_conntrack_max)
log "nf_conntrack_max (global) = $MAX"
[ "$MAX" -le 600000 ] || die "nf_conntrack_max=$MAX is too large to fill in a bounded run"

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 2ms -duration 90s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 16 -max-idle 16 -conn-max-lifetime 5m \
	-duration 90s -log "$RUN/server/ordersvc.log"
SVC=$BGPID
wait_port server :8080
hbg server "$BIN/udpecho" -listen :53 -duration 90s -log "$RUN/server/udpecho.log"
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 20 -duration 60s \
	-timeout 2s -log "$RUN/client/web.log"
CLI=$BGPID
sleep 2
hbg batch "$BIN/connflood" -proto udp -hold 2100ms -batch 1100 \
	-target 10.200.1.10:53 -sources "$(IFS=,; echo "${FLEET[*]}")" -workers 16 -count $((MAX + MAX / 3)) \
	-duration 55s -wait 300ms -log "$RUN/batch/connflood.log"
ct_full() { [ "$(ip netns exec "${NSP}server" sysctl -n net.netfilter.nf_conntrack_count)" -ge "$MAX" ]; }
wait_until 60 ct_full || true
sleep 3
lab_collect server --pid "$SVC" --snapshots 3 --interval 2s --pcap --duration 6s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/ordersvc.log" --log "$RUN/server/udpecho.log"
wait "$BGPID" || true
lab_collect client --pid "$CLI" --snapshots 1 --log "$RUN/client/web.log"
wait "$BGPID" || true
lab_unpack
