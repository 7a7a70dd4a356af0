#!/bin/bash
# mixed: two independent problems on one box. The order API of
# fd-exhaustion (2-connection DB pool, RLIMIT_NOFILE 64, impatient clients)
# and, next to it, the Redis-like task queue of tw-bucket-overflow (short
# connections, server closes first) with net.ipv4.tcp_max_tw_buckets=64.
# See testdata/bundles/mixed/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init mixed

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.10/24
lab_host agents 10.200.2.40/24
hsysctl server net.core.somaxconn=128 net.ipv4.tcp_synack_retries=2 net.ipv4.tcp_max_tw_buckets=64

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 250ms -duration 70s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server prlimit --nofile=64:64 -- "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 2 -max-idle 2 \
	-conn-max-lifetime 3s -duration 70s -log "$RUN/server/ordersvc.log"
SVC=$BGPID
hbg server "$BIN/kvsrv" -listen :6379 -duration 70s -log "$RUN/server/redis.log"
KV=$BGPID
wait_port server :8080
wait_port server :6379

hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 20 -duration 45s \
	-timeout 1s -log "$RUN/client/gateway.log"
hbg agents "$BIN/kvcli" -target 10.200.1.10:6379 -workers 8 -rate 200 -duration 40s -count 8000 \
	-log "$RUN/agents/agent.log"
queue_filling() { [ "$(listen_q server 8080)" -ge 100 ]; }
wait_until 40 queue_filling || true
lab_collect server --pid "$SVC" --pid "$KV" --snapshots 3 --interval 3s --pcap --duration 8s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/ordersvc.log" --log "$RUN/server/redis.log"
wait "$BGPID" || true
lab_unpack
