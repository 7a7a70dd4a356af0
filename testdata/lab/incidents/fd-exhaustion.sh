#!/bin/bash
# fd-exhaustion: an HTTP service with a 2-connection DB pool and
# RLIMIT_NOFILE 64; impatient clients time out and close while their
# requests wait for the pool, sockets pile up in CLOSE_WAIT, the process
# runs out of descriptors, accept4 fails with EMFILE and the accept queue
# overflows. See testdata/bundles/fd-exhaustion/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init fd-exhaustion

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.10/24 10.200.2.11/24
# An older kernel's default accept backlog (net.core.somaxconn was 128 until
# Linux 5.4) and a common "tuning" of SYN-ACK retries.
hsysctl server net.core.somaxconn=128 net.ipv4.tcp_synack_retries=2

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 250ms -duration 60s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server prlimit --nofile=64:64 -- "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 2 -max-idle 2 \
	-conn-max-lifetime 3s -duration 60s -log "$RUN/server/ordersvc.log"
SVC=$BGPID
wait_port server :8080

# The API gateway: 20 requests/s (the pool serves about 8/s), gives up
# after 1 s.
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 20 -duration 45s \
	-timeout 1s -log "$RUN/client/gateway.log"
GW=$BGPID
# An on-call engineer's probe: one request every 2 s, gives up after 5 s.
sleep 3
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/healthz' -rate 0.5 -duration 30s \
	-timeout 5s -max-inflight 20 -log "$RUN/client/probe.log"
PROBE=$BGPID
# Collect once the accept queue is nearly full (about 15 s on an idle host).
queue_filling() { [ "$(listen_q server 8080)" -ge 100 ]; }
wait_until 40 queue_filling || true

lab_collect server --pid "$SVC" --snapshots 3 --interval 3s --pcap --duration 12s --snaplen 128 \
	--log "$RUN/server/ordersvc.log" --log "$RUN/server/fakedb.log"
wait "$BGPID" || true
# The client side, while it still suffers; most probes have ended by now.
lab_collect client --pid "$GW" --snapshots 1 --log "$RUN/client/gateway.log" --log "$RUN/client/probe.log"
wait "$BGPID" || true
lab_unpack
