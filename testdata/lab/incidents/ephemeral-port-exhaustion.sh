#!/bin/bash
# ephemeral-port-exhaustion: a client namespace whose
# net.ipv4.ip_local_port_range is narrowed to 40000-40100 (101 ports) makes
# short HTTP calls to one server and closes first, so each call leaves a
# TIME_WAIT on the client for 60 s; after ~100 calls connect() fails with
# EADDRNOTAVAIL ("cannot assign requested address").
# See testdata/bundles/ephemeral-port-exhaustion/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init ephemeral-port-exhaustion

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.80/24
hsysctl client net.ipv4.ip_local_port_range="40000 40100"

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 2ms -duration 60s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 16 -max-idle 16 -conn-max-lifetime 5m \
	-duration 60s -log "$RUN/server/ordersvc.log"
wait_port server :8080
# The client speaks HTTP/1.1 by hand and closes after each response.
hbg client "$BIN/loadgen" -mode raw -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 40 -duration 25s \
	-timeout 2s -log "$RUN/client/sync-job.log"
CLI=$BGPID
sleep 6
lab_collect client --pid "$CLI" --snapshots 3 --interval 3s --pcap --duration 8s --snaplen 128 \
	--log "$RUN/client/sync-job.log"
wait "$BGPID" || true
lab_unpack
