#!/bin/bash
# tw-bucket-overflow: a Redis-like server that closes first (QUIT), a task
# agent making one short connection per task at 300/s, and
# net.ipv4.tcp_max_tw_buckets lowered to 64 in the server's namespace (the
# story's cloud image had 5000): the kernel cannot keep more sockets in
# TIME_WAIT and destroys the rest (TCPTimeWaitOverflow).
# See testdata/bundles/tw-bucket-overflow/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init tw-bucket-overflow

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.40/24
hsysctl server net.ipv4.tcp_max_tw_buckets=64

hbg server "$BIN/kvsrv" -listen :6379 -duration 60s -log "$RUN/server/redis.log"
SRV=$BGPID
wait_port server :6379
hbg client "$BIN/kvcli" -target 10.200.1.10:6379 -workers 8 -rate 300 -duration 25s -count 9000 \
	-log "$RUN/client/agent.log"
CLI=$BGPID
sleep 3
lab_collect server --pid "$SRV" --snapshots 3 --interval 3s --pcap --duration 6s --snaplen 128 \
	--max-size 3MB --log "$RUN/server/redis.log"
wait "$BGPID" || true
lab_collect client --pid "$CLI" --snapshots 1 --log "$RUN/client/agent.log"
wait "$BGPID" || true
lab_unpack
