#!/usr/bin/env bash
# soak.sh: replay a capture through a veth pair between two private network
# namespaces for a while, with orchard capturing live on the far end, and
# sample orchard's resident memory. Memory must stay flat.
#
# Run as root from the repository (not part of go test):
#   internal/lab/soak.sh [-d SECONDS] [-m MBPS] [-u] [-s SAMPLE_SECONDS] [-o OUTDIR] [-c 0|1] [-a ARGS] [CAPTURE]
#
#   -d  how long tcpreplay sends (default 300)
#   -m  replay rate in Mbit/s (default 50)
#   -u  --unique-ip: tcpreplay shifts the addresses on every loop, so every
#       loop brings new flows and new devices (flow-table churn)
#   -s  RSS sampling interval (default 5)
#   -o  output directory (default: a new one under ${TMPDIR:-/tmp})
#   -c  CGO_ENABLED for the orchard build (default 1; 0 builds it static)
#   -a  more orchard flags, e.g. "--capture afpacket --workers 2"
#   CAPTURE  an Ethernet pcap (default: the shared bench mix, unpacked to
#            ${TMPDIR:-/tmp}/ndpi-mix.pcap)
#
# Needs ip, tcpreplay and a Go toolchain (with cgo unless -c 0; orchard is
# built here).
# Output: OUTDIR/rss.tsv (seconds, VmRSS kB), report.json, orchard.stderr
# (with the --report-every 30s tables), tcpreplay.txt and a summary.
set -euo pipefail

duration=300 mbps=50 unique=0 every=5 out="" cgo=1 extra=""
while getopts "d:m:us:o:c:a:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	m) mbps=$OPTARG ;;
	u) unique=1 ;;
	s) every=$OPTARG ;;
	o) out=$OPTARG ;;
	c) cgo=$OPTARG ;;
	a) extra=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

[ "$(id -u)" = 0 ] || { echo "soak: run as root (network namespaces)" >&2; exit 1; }
for t in ip tcpreplay go; do
	command -v $t >/dev/null || { echo "soak: $t is not installed" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=${TMPDIR:-/tmp}
pcap=${1:-}
if [ -z "$pcap" ]; then
	pcap=$tmp/ndpi-mix.pcap
	if [ ! -s "$pcap" ]; then
		gz=""
		for d in "${ORCHARD_SHARED:-}" "$repo/../shared" "$repo/../../shared"; do
			[ -n "$d" ] && [ -f "$d/bench/ndpi-mix.pcap.gz" ] && gz=$d/bench/ndpi-mix.pcap.gz && break
		done
		[ -n "$gz" ] || { echo "soak: no capture given and the shared bench mix was not found (set ORCHARD_SHARED)" >&2; exit 1; }
		gunzip -c "$gz" >"$pcap.part" && mv "$pcap.part" "$pcap"
	fi
fi
[ -n "$out" ] || out=$(mktemp -d "$tmp/orchard-soak.XXXXXX")
mkdir -p "$out"

# tcpreplay stops at a record whose original length is absurd (the bench mix
# has one, 4 GB, from one of its source captures): leave such records out.
if command -v tshark >/dev/null && command -v editcap >/dev/null; then
	bad=$(tshark -r "$pcap" -Y 'frame.len > 262144' -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
	if [ -n "${bad// /}" ]; then
		echo "soak: leaving out frames with impossible lengths: $bad"
		# shellcheck disable=SC2086
		editcap -F pcap "$pcap" "$out/replay.pcap" $bad
		pcap=$out/replay.pcap
	fi
fi

echo "soak: building orchard"
(cd "$repo" && CGO_ENABLED=$cgo go build -o "$out/orchard" ./cmd/orchard)

tag=orchard-soak-$$
replay=$tag-replay sensor=$tag-sensor
orchard_pid="" replay_pid=""
cleanup() {
	[ -n "$replay_pid" ] && kill "$replay_pid" 2>/dev/null || true
	[ -n "$orchard_pid" ] && kill "$orchard_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$replay" 2>/dev/null || true
	ip netns del "$sensor" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$replay"
ip netns add "$sensor"
# The veth pair is created inside the namespaces: no name on the host.
ip -n "$replay" link add soak-r0 mtu 65535 type veth peer name soak-s0 mtu 65535 netns "$sensor"
ip -n "$replay" link set soak-r0 up
ip -n "$sensor" link set soak-s0 up
ip -n "$sensor" link set lo up # for --metrics 127.0.0.1:PORT

# shellcheck disable=SC2086
ip netns exec "$sensor" "$out/orchard" -i soak-s0 --report-every 30s --format json -o "$out/report.json" $extra 2>"$out/orchard.stderr" &
orchard_pid=$!
for _ in $(seq 50); do
	grep -q "capturing on" "$out/orchard.stderr" 2>/dev/null && break
	sleep 0.1
done
grep -q "capturing on" "$out/orchard.stderr" || { cat "$out/orchard.stderr" >&2; exit 1; }

uflag=()
[ "$unique" = 1 ] && uflag=(--unique-ip)
echo "soak: replaying $pcap at $mbps Mbit/s for ${duration}s (loop forever${uflag:+, unique IPs}); orchard pid $orchard_pid; output in $out"
ip netns exec "$replay" tcpreplay -i soak-r0 --loop=0 --mbps="$mbps" --duration="$duration" "${uflag[@]}" --no-flow-stats "$pcap" >"$out/tcpreplay.txt" 2>&1 &
replay_pid=$!

start=$(date +%s)
printf 'seconds\tvmrss_kb\n' >"$out/rss.tsv"
while kill -0 "$replay_pid" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$orchard_pid/status" 2>/dev/null || true)
	[ -n "$rss" ] || { echo "soak: orchard died" >&2; cat "$out/orchard.stderr" >&2; exit 1; }
	printf '%s\t%s\n' $(($(date +%s) - start)) "$rss" >>"$out/rss.tsv"
	sleep "$every"
done
wait "$replay_pid" || true
replay_pid=""
sleep 2
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$orchard_pid/status")
printf '%s\t%s\n' $(($(date +%s) - start)) "$rss" >>"$out/rss.tsv"
# The peak the kernel saw (between samples too), and what of the resident
# memory is the capture rings and the binary (file-backed) rather than the heap.
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$orchard_pid/status")
rssfile=$(awk '/^RssFile:/ {print $2}' "/proc/$orchard_pid/status")
kill -INT "$orchard_pid"
stop=$(date +%s%N)
rc=0
wait "$orchard_pid" || rc=$?
orchard_pid=""
stopped_ms=$((($(date +%s%N) - stop) / 1000000))

{
	echo "== soak summary =="
	echo "capture: $pcap ($mbps Mbit/s, ${duration}s, unique IPs: $unique)"
	grep -E "^(Actual|Rated|Statistics|Successful|Failed|Truncated|Retried)" "$out/tcpreplay.txt" | sed 's/^/tcpreplay: /'
	awk -F'\t' 'NR > 1 { n++; v[n] = $2; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
		$1 <= 60 { at60 = $2 }
		END { printf "orchard VmRSS: %d samples, min %d kB, max %d kB, first %d kB, at 1 min %d kB, last %d kB\n", n, min, max, v[1], at60, v[n] }' "$out/rss.tsv"
	echo "orchard VmHWM (peak resident): $hwm kB; of the last sample, file-backed (AF_PACKET rings, binary): $rssfile kB"
	echo "orchard exit status $rc, stopped ${stopped_ms} ms after SIGINT"
	if command -v jq >/dev/null; then
		jq -r '.capture | "orchard: \(.packets) packets analysed, \(.flows) flows, peak \(.stats.peak_flows) open, \(.stats.flows_evicted) evicted, \(.devices) devices; live: \(.live.received) received, \(.live.dropped_kernel) dropped by the kernel, \(.live.dropped_interface) by the interface"' "$out/report.json"
		jq -r '.capture.warnings[]? | "orchard warning: " + .' "$out/report.json"
	else
		grep -A4 '"live"' "$out/report.json"
	fi
	echo "periodic reports: $(grep -c 'report so far' "$out/orchard.stderr")"
} | tee "$out/summary.txt"
