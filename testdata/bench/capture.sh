#!/usr/bin/env bash
# Side-by-side capture benchmark (issue 7). Generates a large synthetic
# capture (testdata/bench/gencap: many short connections, FIN and RST
# closes, health checks, half-closes, bulk transfers, reused 4-tuples) and
# times, on the same file, in one run:
#
#   cat                        the cost of reading the file at all
#   pcapread                   gopacket's pcapgo reader, records only: the floor for a Go reader
#   netmortem flows            the full analysis, every connection as JSON
#   tcpdump -nn -S -r          what a user would reach for
#   tcpdump -nn -r
#   tshark -q -z conv,tcp      the conversation table netmortem's flows replace
#
# It prints packets/s, MB/s and peak RSS for each, the ratios the issue sets
# as targets, and netmortem's peak RSS on a quarter of the file (memory must
# not grow with the file).
#
#   testdata/bench/capture.sh                 # 1.5 GB capture in $TMPDIR
#   SIZE=200M testdata/bench/capture.sh       # a quicker run
#   BENCH_CAPTURE=/data/big.pcap testdata/bench/capture.sh
#   REPEAT=1 testdata/bench/capture.sh        # each tool once (default: best of 3)
#
# The capture is kept between runs (it is never committed); delete it to
# regenerate. Tools that are not installed are skipped.
set -euo pipefail

cd "$(dirname "$0")/../.."
SIZE=${SIZE:-1500M}
TMP=${TMPDIR:-/tmp}
CAP=${BENCH_CAPTURE:-$TMP/netmortem-bench-$SIZE.pcap}
work=$(mktemp -d "$TMP/netmortem-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

GO=${GO:-go}
echo "building netmortem, gencap and pcapread..." >&2
$GO build -o "$work/netmortem" ./cmd/netmortem
$GO build -o "$work/gencap" ./testdata/bench/gencap
$GO build -o "$work/pcapread" ./testdata/bench/pcapread

if [ ! -s "$CAP" ]; then
	echo "generating $CAP ($SIZE)..." >&2
	"$work/gencap" -o "$CAP" -size "$SIZE" >&2
fi
bytes=$(stat -c %s "$CAP")
packets=$("$work/pcapread" "$CAP" | awk '{print $1}')
quarter="$work/quarter.pcap"
head -c $((bytes / 4)) "$CAP" >"$quarter"

TIME=/usr/bin/time
if ! "$TIME" -f %M true >/dev/null 2>&1; then
	TIME=""
	echo "GNU time (/usr/bin/time) not found: no peak RSS" >&2
fi

# measure NAME COMMAND: runs COMMAND (a shell string, output discarded)
# REPEAT times and records its best wall time and its largest peak RSS
# (the machine may be shared: the best time is the tool's own).
REPEAT=${REPEAT:-3}
declare -A WALL RSS CMD
ORDER=()
measure() {
	local name=$1 cmd=$2 out="$work/time.$RANDOM" t0 t1 w i
	echo "running $name ($REPEAT×)..." >&2
	WALL[$name]="" RSS[$name]=0
	for ((i = 0; i < REPEAT; i++)); do
		t0=$(date +%s.%N)
		if [ -n "$TIME" ]; then
			"$TIME" -f %M -o "$out" sh -c "$cmd" >/dev/null 2>"$work/stderr" || { echo "$name failed:" >&2; cat "$work/stderr" >&2; }
		else
			sh -c "$cmd" >/dev/null 2>"$work/stderr" || true
		fi
		t1=$(date +%s.%N)
		w=$(echo "$t1 - $t0" | bc -l)
		if [ -z "${WALL[$name]}" ] || [ "$(echo "$w < ${WALL[$name]}" | bc -l)" = 1 ]; then WALL[$name]=$w; fi
		if [ -n "$TIME" ]; then
			RSS[$name]=$(awk -v m="${RSS[$name]}" 'END {r = $1/1024; printf "%.0f", (r > m ? r : m)}' "$out")
		else
			RSS[$name]=n/a
		fi
	done
	CMD[$name]=$cmd
	ORDER+=("$name")
}

cat "$CAP" >/dev/null # the same page cache for everyone
have() { command -v "$1" >/dev/null 2>&1; }
measure cat "cat '$CAP'"
measure pcapread "'$work/pcapread' '$CAP'"
measure netmortem "'$work/netmortem' flows -q --format json '$CAP'"
have tcpdump && measure "tcpdump -S" "tcpdump -nn -S -r '$CAP'"
have tcpdump && measure tcpdump "tcpdump -nn -r '$CAP'"
have tshark && measure tshark "tshark -q -z conv,tcp -r '$CAP'"
measure "netmortem (¼ file)" "'$work/netmortem' flows -q --format json '$quarter'"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo
echo "Capture: $(basename "$CAP"), $((bytes / 1000000)) MB, $packets packets"
echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Versions: $($GO version | cut -d' ' -f3-4)$(have tcpdump && tcpdump --version 2>&1 | head -1 | sed 's/^/, /')$(have tshark && tshark --version 2>/dev/null | head -1 | sed 's/ (Git.*//; s/^/, /')"
echo
echo "Best of $REPEAT runs per tool."
echo
echo "| Tool | Wall (s) | Packets/s | MB/s | Peak RSS (MB) | Time ÷ netmortem |"
echo "|---|---:|---:|---:|---:|---:|"
nm=${WALL[netmortem]}
for name in "${ORDER[@]}"; do
	w=${WALL[$name]}
	n=$packets b=$bytes
	if [ "$name" = "netmortem (¼ file)" ]; then n=$((packets / 4)) b=$((bytes / 4)); fi
	printf '| %s | %.2f | %s | %.0f | %s | %.2f |\n' "$name" "$w" \
		"$(echo "$n / $w" | bc -l | xargs printf '%.0f' | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" \
		"$(echo "$b / 1000000 / $w" | bc -l)" "${RSS[$name]}" "$(echo "$w / $nm" | bc -l)"
done
echo
echo "Commands:"
for name in "${ORDER[@]}"; do
	c=${CMD[$name]//\'$CAP\'/CAPTURE}
	c=${c//\'$quarter\'/QUARTER}
	c=${c//\'$work\//}
	echo "  $name: ${c//\'/}"
done
echo "  (QUARTER is the first quarter of CAPTURE, cut mid-record: netmortem reads up to the cut)"

# The targets of issue 7, as ratios from this one run.
status=0
check() { # DESCRIPTION EXPRESSION
	if [ "$(echo "$2" | bc -l)" = 1 ]; then echo "PASS  $1"; else echo "FAIL  $1"; status=1; fi
}
echo
echo "Targets:"
check "netmortem ≤ 3× the pcapgo read-only loop ($(printf %.2f "$(echo "$nm / ${WALL[pcapread]}" | bc -l)")×)" "$nm <= 3 * ${WALL[pcapread]}"
[ -n "${WALL[tshark]:-}" ] && check "netmortem ≥ 40× faster than tshark conv ($(printf %.0f "$(echo "${WALL[tshark]} / $nm" | bc -l)")×)" "${WALL[tshark]} >= 40 * $nm"
[ -n "${WALL[tcpdump -S]:-}" ] && check "netmortem ≥ 10× faster than tcpdump -nn -S -r ($(printf %.0f "$(echo "${WALL["tcpdump -S"]} / $nm" | bc -l)")×)" "${WALL["tcpdump -S"]} >= 10 * $nm"
if [ -n "$TIME" ]; then
	check "netmortem peak RSS under 200 MB (${RSS[netmortem]} MB)" "${RSS[netmortem]} < 200"
	check "peak RSS flat as the file grows (¼ file ${RSS["netmortem (¼ file)"]} MB, whole ${RSS[netmortem]} MB)" "${RSS[netmortem]} <= 1.5 * ${RSS["netmortem (¼ file)"]}"
fi
exit $status
