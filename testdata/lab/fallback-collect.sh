#!/bin/bash
# fallback-collect.sh: a small stand-in for `netmortem collect`, used by the
# lab only when the CLI's collector does not build. Same flags (a subset),
# same file header (# cmd / # date / # exit), one top folder named after
# the host. Usage:
#   fallback-collect.sh [--pid PID] [--snapshots N] [--interval 1s]
#       [--pcap] [--duration 10s] [--snaplen 128] [--log FILE]... -o OUT.tar.gz
set -u
pid= snaps=1 interval=1 pcap=0 duration=10 snaplen=128 out= logs=()
secs() { local v=${1%s}; echo "${v%.*}"; }
while [ $# -gt 0 ]; do
	case $1 in
	--pid) pid=$2; shift ;;
	--snapshots) snaps=$2; shift ;;
	--interval) interval=$(secs "$2"); shift ;;
	--pcap) pcap=1 ;;
	--duration) duration=$(secs "$2"); shift ;;
	--snaplen) snaplen=$2; shift ;;
	--log) logs+=("$2"); shift ;;
	-o) out=$2; shift ;;
	*) ;;
	esac
	shift
done
[ -n "$out" ] || { echo "fallback-collect: -o is required" >&2; exit 2; }
host=$(hostname)
work=$(mktemp -d)
dir=$work/$host
mkdir -p "$dir"

now() { date --rfc-3339=ns | sed 's/ /T/'; }

# run NAME CMD...: one command, its output under the header.
run() {
	local name=$1 d rc
	shift
	d=$(now)
	timeout 20 "$@" >"$dir/$name.body" 2>&1
	rc=$?
	{ printf '# cmd: %s\n# date: %s\n# exit: %s\n' "$*" "$d" "$rc"; cat "$dir/$name.body"; } >"$dir/$name"
	rm -f "$dir/$name.body"
}

# file NAME PATH: a copy of a file under the header.
file() {
	local name=$1 p=$2 d rc=0
	d=$(now)
	cat "$p" >"$dir/$name.body" 2>&1 || rc=$?
	{ printf '# cmd: cat %s\n# date: %s\n# exit: %s\n' "$p" "$d" "$rc"; cat "$dir/$name.body"; } >"$dir/$name"
	rm -f "$dir/$name.body"
}

cap_pid=
if [ "$pcap" = 1 ]; then
	d=$(now)
	timeout "$duration" tcpdump -i any -n -s "$snaplen" -w "$dir/capture.pcap" >"$dir/tcpdump.stderr" 2>&1 &
	cap_pid=$!
fi

run date.txt date
run hostname.txt hostname
run uptime.txt uptime
file proc-uptime.txt /proc/uptime
for i in $(seq 1 "$snaps"); do
	run "ss-tanpoei.$i.txt" ss -tanpoei
	run "ss-s.$i.txt" ss -s
	file "proc-net-sockstat.$i.txt" /proc/net/sockstat
	file "proc-net-netstat.$i.txt" /proc/net/netstat
	file "proc-net-snmp.$i.txt" /proc/net/snmp
	[ "$i" -lt "$snaps" ] && sleep "$interval"
done
run nstat.txt nstat -az
run netstat-s.txt netstat -s
file proc-net-tcp.txt /proc/net/tcp
file proc-net-tcp6.txt /proc/net/tcp6
if [ -n "$pid" ]; then
	run lsof-p.txt lsof -n -P -p "$pid"
	run proc-pid-fd.txt ls -l "/proc/$pid/fd"
	file proc-pid-limits.txt "/proc/$pid/limits"
	file proc-pid-status.txt "/proc/$pid/status"
fi
run ulimit-a.txt sh -c 'ulimit -a'
run sysctl-net.txt sysctl net fs
file file-nr.txt /proc/sys/fs/file-nr
run dmesg-T.txt dmesg -T
run dmesg.txt dmesg
for l in "${logs[@]}"; do
	mkdir -p "$dir/logs"
	cp "$l" "$dir/logs/$(basename "$l")"
done
if [ -n "$cap_pid" ]; then
	wait "$cap_pid"
	rc=$?
	[ "$rc" = 124 ] && rc=0
	{ printf '# cmd: tcpdump -i any -n -s %s -w capture.pcap\n# date: %s\n# exit: %s\n' "$snaplen" "$d" "$rc"; cat "$dir/tcpdump.stderr"; } >"$dir/tcpdump.txt"
	rm -f "$dir/tcpdump.stderr"
fi
tar -czf "$out" -C "$work" "$host"
rm -rf "$work"
