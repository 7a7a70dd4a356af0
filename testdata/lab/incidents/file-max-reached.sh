#!/bin/bash
# file-max-reached: the order API (ordersvc, run as the unprivileged user
# nobody like a packaged service) serves 50 requests/s, each on a new
# connection and with a new connection to its database; the system-wide
# file table (fs.file-max) fills up: accept4() and the database dial's
# socket() fail with ENFILE, "too many open files in system", although the
# service holds a few dozen descriptors of its own limit (not
# fd-exhaustion), and the kernel logs "VFS: file-max limit N reached".
#
# fs.file-max is host-wide (no namespace has its own), but the kernel only
# applies it to processes without CAP_SYS_ADMIN (alloc_empty_file(): nr_files
# >= max_files && !capable(CAP_SYS_ADMIN)): processes running as root go on
# opening files. So the lab refuses to run while any process of the host
# other than its own runs as another user, lowers fs.file-max to just above
# the number of files allocated (global-sysctl.sh: at most 5 s, the exact
# value put back on every exit, a watchdog after 7 s), and lets the root
# processes of the run (the load generator's sockets, the collector) take
# the table over the maximum. The collector (root) starts right after the
# lowering: its sysctls and /proc/sys/fs/file-nr are read while it holds.
#
# The kernel prints its line only when the number of allocated files is above
# the highest number it was printed at before since boot (old_max in
# alloc_empty_file()). A root helper outside the namespaces holds enough
# descriptors of /dev/null that this run's count is above every earlier
# run's; it is part of the lab, not of the incident.
# See testdata/bundles/file-max-reached/GROUND_TRUTH.md.
. "$(dirname "$0")/../lib.sh"
command -v setpriv >/dev/null || die "missing tool: setpriv (util-linux)"
lab_init file-max-reached
GLOBAL_MAX=7
. "$LAB_SRC/global-sysctl.sh"

NOBODY=65534
lab_switch
lab_host server 10.200.1.10/24
lab_host client 10.200.2.80/24

hbg server "$BIN/fakedb" -listen 127.0.0.1:5432 -delay 5ms -duration 60s -log "$RUN/server/fakedb.log"
wait_port server 127.0.0.1:5432
# The service writes its log as nobody.
install -o $NOBODY -g $NOBODY -m 644 /dev/null "$RUN/server/ordersvc.log"
hbg server setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all -- \
	"$BIN/ordersvc" -listen :8080 -db 127.0.0.1:5432 -max-open 16 -max-idle 0 -duration 60s \
	-log "$RUN/server/ordersvc.log"
SVC=$BGPID
wait_port server :8080
hbg client "$BIN/loadgen" -url 'http://10.200.1.10:8080/api/order?id=%d' -rate 50 -duration 30s \
	-timeout 1s -log "$RUN/client/gateway.log"
served() { [ "$(grep -c '" 200 ' "$RUN/server/ordersvc.log")" -ge 100 ]; }
wait_until 20 served || die "the service does not serve"

files() { awk '{print $1}' /proc/sys/fs/file-nr; }
# The kernel line needs a count above the last one it was printed at.
last=$(dmesg | sed -n 's/.*VFS: file-max limit \([0-9]*\) reached.*/\1/p' | tail -1)
need=$((${last:-0} + 400 - $(files)))
if [ "$need" -gt 0 ]; then
	(
		ulimit -n $((need + 64))
		for _ in $(seq "$need"); do exec {fd}</dev/null; done
		exec sleep 30
	) &
	LAB_PIDS+=($!)
	sleep 1
	log "holding $need files of /dev/null as root (last kernel line at a max of ${last:-none})"
fi

# Unprivileged processes of others would fail too: refuse a shared host
# that runs any.
others=$(ps -eo pid=,user= | awk -v svc="$SVC" '$2 != "root" && $1 != svc' | head -3)
[ -z "$others" ] || die "processes of other users run on this host, not lowering fs.file-max: $others"
[ "$(stat -c %u "/proc/$SVC")" = $NOBODY ] || die "ordersvc does not run as nobody"

LINES0=$(dmesg | grep -c 'VFS: file-max limit' || true)
global_lower fs.file-max $(($(files) + 30))
lab_collect server --pid "$SVC" --snapshots 2 --interval 1s --pcap --duration 4s --snaplen 128 \
	--max-size 2MB --log "$RUN/server/ordersvc.log" --log "$RUN/server/fakedb.log"
COL=$BGPID
# Restore once the collector has read the sysctls and file-nr (its second
# snapshot starts after them), the service has failed and the kernel has
# said so.
seen() {
	grep -q 'snapshot 2/2' "$RUN/server/stdout.txt" &&
		grep -q 'too many open files in system' "$RUN/server/ordersvc.log" &&
		[ "$(dmesg | grep -c 'VFS: file-max limit' || true)" -gt "$LINES0" ]
}
wait_until "$(global_left)" seen || true
log "files allocated: $(files) of $(sysctl -n fs.file-max)"
global_restore
log "ENFILE lines of the service: $(grep -c 'too many open files in system' "$RUN/server/ordersvc.log" || true)"
wait "$COL" || true
lab_unpack
