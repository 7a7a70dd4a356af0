#!/bin/bash
# accept-queue-overflow: a single-threaded server (listen backlog 8, 20 ms
# per request, so about 50 requests/s) hit by a burst of 300 new
# connections/s for 6 s. The accept queue overflows: SYNs and handshake ACKs
# are dropped (ListenOverflows/ListenDrops), SYN and SYN-ACK retransmits.
# See testdata/bundles/accept-queue-overflow/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init accept-queue-overflow

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.70/24

hbg server "$BIN/slowaccept" -port 8080 -backlog 8 -work 20ms -duration 60s -log "$RUN/server/slowaccept.log"
SRV=$BGPID
wait_port server :8080
# Steady light traffic, then the burst while the collector runs.
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/item/%d' -rate 10 -duration 25s -timeout 3s \
	-log "$RUN/client/steady.log"
sleep 3
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/item/%d' -rate 300 -duration 6s -timeout 3s \
	-log "$RUN/client/burst.log"
# The collector reads the kernel log and the application log when it
# starts: start it once the burst is on.
sleep 1.5
lab_collect server --pid "$SRV" --snapshots 3 --interval 2s --pcap --duration 8s --snaplen 128 \
	--log "$RUN/server/slowaccept.log"
wait "$BGPID" || true
sleep 1
lab_collect client --snapshots 1 --log "$RUN/client/burst.log" --log "$RUN/client/steady.log"
wait "$BGPID" || true
lab_unpack
