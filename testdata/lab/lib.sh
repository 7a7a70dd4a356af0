# lib.sh: shared helpers for the incident lab, sourced by every incident
# script under testdata/lab/incidents/. Needs root, iproute2 (ip netns, veth,
# bridge), util-linux (unshare, prlimit), tcpdump, ss, nstat, lsof, and Go to
# build the lab programs. Everything runs inside network namespaces named
# nml-* that the script creates and deletes; all addresses are the lab's own
# (10.200.0.0/16 for servers and clients, 100.64.0.0/10 for health checkers).

set -euo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_SRC/../.." && pwd)
BUNDLES=${BUNDLES:-$REPO/testdata/bundles}
# The lab runs from a neutral folder so that no path of the build machine
# ends up in a bundle (process paths, log paths, collector command lines).
LAB_ROOT=${LAB_ROOT:-/srv/lab}
BIN=$LAB_ROOT/bin
NSP=nml-

LAB_PIDS=()
LAB_NS=()
LAB_LINKS=()
INCIDENT=
RUN=
OUT=
T0_EPOCH=0
T0_UPTIME=0

log() { printf '%s lab[%s]: %s\n' "$(date +%H:%M:%S)" "${INCIDENT:-lab}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

lab_require() {
	[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, sysctls, tcpdump)"
	local t
	for t in ip unshare prlimit tcpdump ss nstat lsof go tar; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
}

# lab_build compiles every lab program (each testdata/lab/<name>/ with a
# main.go) and the netmortem CLI into $BIN. -trimpath keeps build paths out
# of panics and binaries.
lab_build() {
	rm -rf "$BIN"
	mkdir -p "$BIN"
	local d name
	for d in "$LAB_SRC"/*/; do
		name=$(basename "$d")
		[ -f "$d/main.go" ] || continue
		(cd "$REPO" && go build -trimpath -o "$BIN/$name" "./testdata/lab/$name") || die "build $name"
	done
	for d in "$LAB_SRC"/*/; do
		[ -f "$d/server.py" ] && cp "$d/server.py" "$BIN/$(basename "$d").py"
	done
	# The real collector, built from the last commit (not the work tree,
	# which may hold someone's half-done change); lab_collect falls back to
	# fallback-collect.sh when it does not build.
	rm -rf "$LAB_ROOT/src" "$BIN/netmortem"
	mkdir -p "$LAB_ROOT/src"
	if (cd "$REPO" && git archive HEAD) | tar -x -C "$LAB_ROOT/src" 2>/dev/null &&
		(cd "$LAB_ROOT/src" && go build -trimpath -o "$BIN/netmortem" ./cmd/netmortem) 2>/dev/null; then
		log "collector: netmortem $(cd "$REPO" && git rev-parse --short HEAD)"
	else
		log "netmortem does not build; using the fallback collector"
	fi
	return 0
}

# lab_init NAME: takes the lab lock, prepares the run folder, builds, and
# arranges cleanup on exit.
lab_init() {
	INCIDENT=$1
	lab_require
	mkdir -p "$LAB_ROOT"
	exec 9>"$LAB_ROOT/.lock"
	flock -w 600 9 || die "another lab run holds $LAB_ROOT/.lock"
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	lab_cleanup_stale
	RUN=$LAB_ROOT/run/$INCIDENT
	rm -rf "$RUN"
	mkdir -p "$RUN"
	OUT=$BUNDLES/$INCIDENT
	[ "${LAB_NOBUILD:-}" = 1 ] || lab_build
	# Kernel log lines from before this run are not part of the incident (the
	# lab host is shared, and its boot log describes the build machine).
	T0_EPOCH=$(date +%s)
	T0_UPTIME=$(cut -d' ' -f1 /proc/uptime)
}

lab_cleanup_stale() {
	local ns
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NSP" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

lab_cleanup() {
	local rc=$? p ns
	set +e
	for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${LAB_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ns in "${LAB_NS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	# A veth end still in the host namespace (a run interrupted between
	# creating and moving it); only the ones this run created.
	for l in "${LAB_LINKS[@]}"; do ip link del "$l" 2>/dev/null; done
	return $rc
}

# lab_switch creates the L2 segment every lab host plugs into: a bridge in
# its own namespace. All subnets are on-link, so no router is needed.
lab_switch() {
	local ns=${NSP}sw
	ip netns add "$ns"
	LAB_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set br0 up
}

# lab_host NAME ADDR/PREFIX...: a namespace with eth0 on the switch.
lab_host() {
	local name=$1 ns=${NSP}$1 a
	shift
	ip netns add "$ns"
	LAB_NS+=("$ns")
	LAB_LINKS+=("v-$name")
	ip link add "v-$name" type veth peer name eth0 netns "$ns"
	ip link set "v-$name" netns "${NSP}sw"
	ip -n "${NSP}sw" link set "v-$name" master br0 up
	ip -n "$ns" link set lo up
	for a in "$@"; do ip -n "$ns" addr add "$a" dev eth0; done
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 10.200.0.0/16 dev eth0 2>/dev/null || true
	ip -n "$ns" route add 100.64.0.0/10 dev eth0 2>/dev/null || true
	mkdir -p "$RUN/$name"
}

# hsysctl HOST key=value...: per-namespace sysctls.
hsysctl() {
	local h=$1
	shift
	ip netns exec "$NSP$h" sysctl -q -w "$@"
}

# HOSTSH makes a lab host look like a host to the tools: its own hostname,
# cgroup2 mounted where ss -e looks for it (ip netns exec remounts /sys in a
# private mount namespace, so nothing leaks out), and no descriptor of the
# lab script (its lock, pipes) inherited by the programs.
HOSTSH='for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null; hostname "$0" && exec "$@"'

# hrun HOST CMD...: run in the host's namespace with the host's name as
# hostname (own UTS namespace) and the host's run folder as cwd.
hrun() {
	local h=$1
	shift
	(cd "$RUN/$h" && ip netns exec "$NSP$h" unshare --uts -- /bin/bash -c "$HOSTSH" "$h" "$@")
}

# hbg HOST CMD...: like hrun, in the background. BGPID is the PID of CMD
# itself (every wrapper execs), recorded for cleanup.
BGPID=
hbg() {
	local h=$1
	shift
	pushd "$RUN/$h" >/dev/null
	ip netns exec "$NSP$h" unshare --uts -- /bin/bash -c "$HOSTSH" "$h" "$@" </dev/null >>"$RUN/$h/stdout.txt" 2>&1 &
	BGPID=$!
	popd >/dev/null
	LAB_PIDS+=("$BGPID")
}

# wait_port HOST ADDR:PORT: wait until something listens there.
wait_port() {
	local h=$1 port=${2##*:} i
	for i in $(seq 1 50); do
		ip netns exec "$NSP$h" ss -Htln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	die "nothing listens on $2 in $h"
}

# wait_until SECONDS CMD...: poll CMD every 0.5 s until it succeeds; the
# lab waits for an incident's state instead of sleeping a fixed time,
# because the build host is shared and its speed varies.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -lt $end ] || { log "warning: timed out waiting for: $*"; return 1; }
		sleep 0.5
	done
}

# listen_q HOST PORT: the Recv-Q (accept queue length) of a listener.
listen_q() {
	ip netns exec "$NSP$1" ss -Htln "sport = :$2" | awk '{print $2; exit}'
}

# collector_real reports whether the netmortem CLI has a working collect
# command (it replaced the lab's fallback when it landed).
collector_real() {
	[ -x "$BIN/netmortem" ] && "$BIN/netmortem" collect --help 2>/dev/null | grep -q -- '--snapshots'
}

# lab_collect HOST [collect flags...]: collects a bundle from inside the
# host's namespace, in the background (BGPID is the PID to wait for). The
# result is $RUN/HOST.tar.gz.
lab_collect() {
	local h=$1
	shift
	if collector_real; then
		hbg "$h" "$BIN/netmortem" collect "$@" -o "$RUN/$h.tar.gz"
	else
		hbg "$h" /bin/bash "$LAB_SRC/fallback-collect.sh" "$@" -o "$RUN/$h.tar.gz"
	fi
}

# lab_unpack: extracts every collected tarball, trims and checks the result
# (lab_scrub) in the run folder, then puts it in place of the old bundle,
# keeping the hand-written GROUND_TRUTH.md and expect.yaml.
lab_unpack() {
	local new=$RUN/bundle t
	rm -rf "$new"
	mkdir -p "$new"
	for t in "$RUN"/*.tar.gz; do
		[ -e "$t" ] || die "no bundle was collected"
		tar -xzf "$t" -C "$new"
	done
	lab_scrub "$new"
	mkdir -p "$OUT"
	for t in GROUND_TRUTH.md expect.yaml; do
		[ -f "$OUT/$t" ] && cp "$OUT/$t" "$new/$t"
	done
	rm -rf "$OUT"
	cp -r "$new" "$OUT"
	log "bundle: $OUT ($(du -sh "$OUT" | cut -f1))"
}

# lab_scrub DIR: drops kernel log lines older than this run from every
# collected dmesg/journalctl file, then refuses a bundle that names a path
# of the build machine or details of its boot, or that is too large.
lab_scrub() {
	local dir=$1 bad size
	"$BIN/scrub" -since-epoch "$T0_EPOCH" -since-uptime "$T0_UPTIME" "$dir"
	bad=$(grep -rlaE '/[w]ork/|/[t]mp/|process_api|firecracker|vsock|sandboxing' "$dir" || true)
	[ -z "$bad" ] || die "bundle names a path or detail of the build machine: $bad"
	size=$(du -sk "$dir" | cut -f1)
	[ "$size" -lt 6000 ] || die "bundle too large: ${size}K"
}
