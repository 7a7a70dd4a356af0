#!/bin/bash
# healthy-idle (control): a quiet backend with two clients' worth of
# long-lived connections, keepalive on at both ends, a request every 2 s per
# connection. Nothing is wrong; an analyzer must stay quiet.
# See testdata/bundles/healthy-idle/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init healthy-idle

lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.60/24
lab_host client2 10.200.2.61/24
echo "10.200.1.10:9000" >"$RUN/client/instances"
echo "10.200.1.10:9000" >"$RUN/client2/instances"

hbg server "$BIN/backend" -listen :9000 -keepalive 60s -duration 60s -log "$RUN/server/backend.log"
SRV=$BGPID
wait_port server :9000
hbg client "$BIN/sdkclient" -workers 3 -instances "$RUN/client/instances" -interval 2s -keepalive 30s \
	-duration 60s -log "$RUN/client/sdkclient.log"
hbg client2 "$BIN/sdkclient" -workers 2 -instances "$RUN/client2/instances" -interval 2s -keepalive 30s \
	-duration 60s -log "$RUN/client2/sdkclient.log"
sleep 5
lab_collect server --pid "$SRV" --snapshots 3 --interval 3s --pcap --duration 8s --snaplen 128 \
	--log "$RUN/server/backend.log"
wait "$BGPID" || true
lab_unpack
