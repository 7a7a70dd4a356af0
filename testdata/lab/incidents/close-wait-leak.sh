#!/bin/bash
# close-wait-leak: a client with 12 workers, each keeping its own connection
# to every backend instance the name service lists; instances are replaced
# one by one; the client never closes connections to departed instances and
# has keepalive off, so each departure leaves exactly 12 CLOSE_WAIT sockets.
# See testdata/bundles/close-wait-leak/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
lab_init close-wait-leak

lab_switch
lab_host client 10.200.2.20/24
NS=$RUN/client/b-service.instances
: >"$NS"

# backend N: start instance bN at 10.200.3.(10+N):9000 in its own host.
start_backend() {
	local n=$1
	lab_host "b$n" "10.200.3.$((10 + n))/24"
	hbg "b$n" "$BIN/backend" -listen :9000 -quiet -duration 90s -log "$RUN/b$n/backend.log"
	eval "B$n=$BGPID"
	wait_port "b$n" :9000
}
# publish N...: the name service now lists exactly these instances.
publish() {
	local n
	for n in "$@"; do echo "10.200.3.$((10 + n)):9000"; done >"$NS.new"
	mv "$NS.new" "$NS"
}
# replace OLD NEW: the nightly job: add NEW, delete OLD, stop OLD.
replace() {
	start_backend "$2"
	LIVE=("${LIVE[@]/$1/}")
	LIVE+=("$2")
	publish ${LIVE[@]}
	sleep 1.5 # the client re-reads the name service every second
	eval "kill \$B$1"
	log "instance b$1 replaced by b$2"
}

for n in 1 2 3; do start_backend $n; done
LIVE=(1 2 3)
publish 1 2 3
hbg client "$BIN/sdkclient" -workers 12 -instances "$NS" -interval 100ms -duration 90s -log "$RUN/client/sdkclient.log"
CLI=$BGPID
sleep 2
# Two replacements happen before anyone looks...
replace 1 4
sleep 1
replace 2 5
sleep 1
# ...and three more while the bundle is collected (snapshots every 4 s).
lab_collect client --pid "$CLI" --snapshots 4 --interval 4s --pcap --duration 15s --snaplen 128 \
	--log "$RUN/client/sdkclient.log"
COL=$BGPID
for r in "3 6" "4 7" "5 8"; do
	sleep 1
	replace $r
done
wait "$COL" || true
lab_unpack
