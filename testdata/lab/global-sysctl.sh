# global-sysctl.sh: lowering a host-wide sysctl for a few seconds, for the
# incidents whose limit no network namespace has (net.ipv4.tcp_max_orphans,
# net.ipv4.tcp_mem: they do not even exist under /proc/sys inside one).
# Sourced after lib.sh and lab_init. The lab host may be shared: a lowered
# value is restored exactly on every exit of the script (trap, also on
# errors and signals), and by a detached watchdog after GLOBAL_MAX seconds
# should the script be killed outright.

GLOBAL_KEY=
GLOBAL_ORIG=
GLOBAL_LOW=
GLOBAL_AT=0
GLOBAL_MAX=${GLOBAL_MAX:-15}

# norm prints a sysctl value with its fields separated by single spaces.
norm() { echo $*; }

# global_lower KEY VALUE: saves KEY's value and sets VALUE.
global_lower() {
	[ -z "$GLOBAL_KEY" ] || die "global_lower: $GLOBAL_KEY is already lowered"
	GLOBAL_KEY=$1
	GLOBAL_ORIG=$(norm "$(sysctl -n "$1")")
	GLOBAL_LOW=$(norm "$2")
	trap 'global_rc=$?; global_restore; (exit $global_rc); lab_cleanup' EXIT
	# The watchdog restores only a value that is still ours.
	setsid bash -c 'sleep "$1"; [ "$(echo $(sysctl -n "$2"))" = "$3" ] && sysctl -q -w "$2=$4"' \
		_ "$GLOBAL_MAX" "$GLOBAL_KEY" "$GLOBAL_LOW" "$GLOBAL_ORIG" </dev/null >/dev/null 2>&1 &
	GLOBAL_AT=$SECONDS
	sysctl -q -w "$GLOBAL_KEY=$GLOBAL_LOW"
	log "lowered $GLOBAL_KEY (host-wide) from '$GLOBAL_ORIG' to '$GLOBAL_LOW' for at most ${GLOBAL_MAX}s"
}

# global_restore puts the saved value back; safe to call twice.
global_restore() {
	[ -n "$GLOBAL_KEY" ] || return 0
	sysctl -q -w "$GLOBAL_KEY=$GLOBAL_ORIG" || log "error: could not restore $GLOBAL_KEY to '$GLOBAL_ORIG'"
	log "restored $GLOBAL_KEY to '$(norm "$(sysctl -n "$GLOBAL_KEY")")' after $((SECONDS - GLOBAL_AT))s"
	GLOBAL_KEY=
}

# global_left: seconds left before the value must be restored.
global_left() { echo $((GLOBAL_MAX - 2 - (SECONDS - GLOBAL_AT))); }
