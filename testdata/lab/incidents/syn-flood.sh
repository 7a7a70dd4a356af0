#!/bin/bash
# syn-flood: a web API (listen backlog 128: net.core.somaxconn=128 and
# net.ipv4.tcp_max_syn_backlog=128 in its namespace, tcp_syncookies=1) hit
# by a spoofed SYN flood: about 6000 bare SYNs in 5 s from random addresses
# of 10.200.128.0/20. That range is routed from the server to the attacker's
# namespace, which drops the SYN-ACKs (blackhole, forwarding off): no ACK,
# no RST, every half-open connection stays in SYN_RECV until its SYN-ACK
# retries run out. The SYN queue fills, the kernel logs "Possible SYN
# flooding on port ... Sending cookies." and answers with SYN cookies; a
# real client making 20 requests/s keeps being served.
# See testdata/bundles/syn-flood/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init syn-flood

SPOOF=10.200.128.0/20
lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.80/24
lab_host attacker 10.200.4.66/24
hsysctl server net.core.somaxconn=128 net.ipv4.tcp_max_syn_backlog=128 net.ipv4.tcp_syncookies=1
ip -n "${NSP}server" route add "$SPOOF" via 10.200.4.66
hsysctl attacker net.ipv4.ip_forward=0
ip -n "${NSP}attacker" route add blackhole "$SPOOF"

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 2ms -duration 60s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 16 -max-idle 16 -conn-max-lifetime 5m \
	-duration 60s -log "$RUN/server/ordersvc.log"
SVC=$BGPID
wait_port server :8080
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 20 -duration 25s \
	-timeout 2s -log "$RUN/client/web.log"
CLI=$BGPID
sleep 3
# The first snapshot sees the listener before the flood; the flood starts
# a second later and lasts through the second snapshot.
lab_collect server --pid "$SVC" --snapshots 3 --interval 3s --pcap --duration 8s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/ordersvc.log"
COL=$BGPID
sleep 1
hbg attacker "$BIN/synflood" -target 10.200.1.10:8080 -sources "$SPOOF" -rate 1200 -count 6000 \
	-duration 5s -log "$RUN/attacker/synflood.log"
syn_recv() { [ "$(ip netns exec "${NSP}server" ss -Htn state syn-recv | wc -l)" -ge 120 ]; }
wait_until 10 syn_recv || true
wait "$COL" || true
lab_collect client --pid "$CLI" --snapshots 1 --log "$RUN/client/web.log"
wait "$BGPID" || true
lab_unpack
