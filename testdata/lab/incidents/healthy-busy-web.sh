#!/bin/bash
# healthy-busy-web (control): an HTTP service with a DB pool large enough
# for its load, 80 short requests/s (Connection: close, the server closes
# first: thousands of TIME_WAIT, far below every limit) plus 30/s over
# keep-alive connections. Nothing is wrong; an analyzer must stay quiet.
# See testdata/bundles/healthy-busy-web/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init healthy-busy-web

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.50/24 10.200.2.51/24

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 5ms -duration 60s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
hbg server prlimit --nofile=4096:4096 -- "$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 32 -max-idle 32 \
	-conn-max-lifetime 5m -duration 60s -log "$RUN/server/ordersvc.log"
SVC=$BGPID
wait_port server :8080
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 80 -duration 40s \
	-timeout 2s -log "$RUN/client/web-frontend.log"
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 30 -duration 40s \
	-timeout 2s -keepalive -log "$RUN/client/batch-worker.log"
sleep 10
lab_collect server --pid "$SVC" --snapshots 3 --interval 3s --pcap --duration 6s --snaplen 128 \
	--log "$RUN/server/ordersvc.log"
wait "$BGPID" || true
lab_unpack
