#!/usr/bin/env bash
# rates.sh: replay a capture into a veth pair at rising packet rates and
# see which capture keeps up: orchard through AF_PACKET (static build, two
# workers), orchard through libpcap, and tcpdump -w /dev/null. Then compare
# orchard's CPU time per packet live with file mode on the same packets.
#
# Run as root from the repository (not part of go test):
#   internal/lab/rates.sh [-t SECONDS] [-o OUTDIR] [-r ROUNDS] [-C] [RATE...]
#
#   -t  seconds per run (default 8)
#   -r  rounds of the CPU comparison per rate (default 2)
#   -C  only the CPU comparison
#   RATE  packets per second for tcpreplay (default: 25000 50000 100000
#         200000 max; max is --topspeed)
#
# Needs ip, tcpreplay, tcpdump, jq and a Go toolchain with cgo. Output:
# OUTDIR/rates.tsv (rate, tool, packets sent, sent/s, received, dropped,
# CPU seconds) and cpu.tsv (live against file mode, at every rate: each
# rate's traffic is recorded once, then replayed live and read from the
# file in alternating rounds, so the modes share the machine's load).
set -euo pipefail

secs=8 out="" cpuonly=0 rounds=2
while getopts "t:o:r:Ch" opt; do
	case $opt in
	t) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	o) out=$OPTARG ;;
	C) cpuonly=1 ;;
	*) sed -n '2,21p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
rates=("$@")
[ "${#rates[@]}" -gt 0 ] || rates=(25000 50000 100000 200000 max)

[ "$(id -u)" = 0 ] || { echo "rates: run as root (network namespaces)" >&2; exit 1; }
for t in ip tcpreplay tcpdump jq go; do
	command -v $t >/dev/null || { echo "rates: $t is not installed" >&2; exit 1; }
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=${TMPDIR:-/tmp}
[ -n "$out" ] || out=$(mktemp -d "$tmp/orchard-rates.XXXXXX")
mkdir -p "$out"

pcap=$tmp/ndpi-mix.pcap
if [ ! -s "$pcap" ]; then
	gz=""
	for d in "${ORCHARD_SHARED:-}" "$repo/../shared" "$repo/../../shared"; do
		[ -n "$d" ] && [ -f "$d/bench/ndpi-mix.pcap.gz" ] && gz=$d/bench/ndpi-mix.pcap.gz && break
	done
	[ -n "$gz" ] || { echo "rates: the shared bench mix was not found (set ORCHARD_SHARED)" >&2; exit 1; }
	gunzip -c "$gz" >"$pcap.part" && mv "$pcap.part" "$pcap"
fi
# Frames with impossible lengths stop tcpreplay: leave them out.
if command -v tshark >/dev/null && command -v editcap >/dev/null; then
	bad=$(tshark -r "$pcap" -Y 'frame.len > 262144' -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
	if [ -n "${bad// /}" ]; then
		# shellcheck disable=SC2086
		editcap -F pcap "$pcap" "$out/replay.pcap" $bad
		pcap=$out/replay.pcap
	fi
fi

echo "rates: building orchard (static and cgo)"
(cd "$repo" && CGO_ENABLED=0 go build -o "$out/orchard-static" ./cmd/orchard && CGO_ENABLED=1 go build -o "$out/orchard-cgo" ./cmd/orchard)

tag=orchard-rates-$$
replay=$tag-r sensor=$tag-s
cap_pid=""
cleanup() {
	[ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$replay" 2>/dev/null || true
	ip netns del "$sensor" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$replay"
ip netns add "$sensor"
ip -n "$replay" link add rt-r0 mtu 65535 type veth peer name rt-s0 mtu 65535 netns "$sensor"
ip -n "$replay" link set rt-r0 up
ip -n "$sensor" link set rt-s0 up

# cpu PID: user+system seconds the process used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# usys PID: user and system seconds so far.
usys() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f %.2f\n", $14 / hz, $15 / hz }' "/proc/$1/stat"; }

# send RATE: replay for $secs seconds; prints "packets rate".
send() {
	local speed=(--pps="$1")
	[ "$1" = max ] && speed=(--topspeed)
	ip netns exec "$replay" tcpreplay -i rt-r0 --loop=0 --duration="$secs" "${speed[@]}" --no-flow-stats "$pcap" >"$out/tcpreplay.txt" 2>&1 || true
	awk '/Actual:/ { p = $2 } /Rated:/ { for (i = 1; i <= NF; i++) if ($i == "pps,") r = $(i - 1) } END { print p, r }' "$out/tcpreplay.txt"
}

printf 'rate\ttool\tsent\tsent_pps\treceived\tdropped\tcpu_s\n' >"$out/rates.tsv"
for rate in "${rates[@]}"; do
	[ "$cpuonly" = 1 ] && break
	for tool in afpacket pcap tcpdump; do
		log=$out/$tool-$rate
		case $tool in
		afpacket) ip netns exec "$sensor" "$out/orchard-static" -i rt-s0 --capture afpacket --workers 2 --format json -o "$log.json" 2>"$log.err" & ;;
		pcap) ip netns exec "$sensor" "$out/orchard-cgo" -i rt-s0 --capture pcap --workers 2 --format json -o "$log.json" 2>"$log.err" & ;;
		tcpdump) ip netns exec "$sensor" tcpdump -i rt-s0 -w /dev/null -B 32768 2>"$log.err" & ;;
		esac
		cap_pid=$!
		for _ in $(seq 100); do grep -qE "capturing on|listening on" "$log.err" 2>/dev/null && break; sleep 0.1; done
		c0=$(cpu "$cap_pid")
		read -r sent pps < <(send "$rate")
		sleep 1
		used=$(awk -v a="$c0" -v b="$(cpu "$cap_pid")" 'BEGIN { printf "%.2f", b - a }')
		kill -INT "$cap_pid"
		wait "$cap_pid" || true
		cap_pid=""
		if [ "$tool" = tcpdump ]; then
			recv=$(awk '/packets received by filter/ { print $1 }' "$log.err")
			drop=$(awk '/packets dropped by kernel/ { print $1 }' "$log.err")
		else
			recv=$(jq -r '.capture.live.received' "$log.json")
			drop=$(jq -r '.capture.live.dropped_kernel + .capture.live.dropped_interface' "$log.json")
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$tool" "$sent" "$pps" "$recv" "$drop" "$used" | tee -a "$out/rates.tsv"
	done
done

# CPU per packet, live against file mode, on the same packets: record a
# run at each rate, then replay it again live and read the file, in
# alternating rounds. Live CPU is the process' threads' time on the CPU
# (schedstat, in ns) from just before the replay to a second after it (not
# the rings' setup); file mode is the whole run (getrusage of the child,
# to the microsecond).
oncpu() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }
filecpu() { # BIN WORKERS FILE: seconds of CPU of a file run
	(
		"$1" --workers "$2" --format json -o "$out/file.json" "$3" 2>/dev/null
		times
	) | awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.4f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}
printf 'rate\tmode\tworkers\tround\tpackets\tcpu_s\tus_per_packet\n' >"$out/cpu.tsv"
line() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$(awk -v c="$6" -v n="$5" 'BEGIN { printf "%.3f", c * 1e6 / n }')" | tee -a "$out/cpu.tsv"; }
for rate in "${rates[@]}"; do
	ip netns exec "$sensor" tcpdump -i rt-s0 -w "$out/same.pcap" -B 65536 2>"$out/record.err" &
	cap_pid=$!
	for _ in $(seq 100); do grep -q "listening on" "$out/record.err" 2>/dev/null && break; sleep 0.1; done
	send "$rate" >/dev/null
	sleep 1
	kill -INT "$cap_pid"; wait "$cap_pid" || true; cap_pid=""
	for round in $(seq "$rounds"); do
		for w in 1 2; do
			c=$(filecpu "$out/orchard-static" "$w" "$out/same.pcap")
			line "$rate" file "$w" "$round" "$(jq -r '.capture.packets' "$out/file.json")" "$c"
			ip netns exec "$sensor" "$out/orchard-static" -i rt-s0 --capture afpacket --workers "$w" --format json -o "$out/live.json" 2>"$out/live.err" &
			cap_pid=$!
			for _ in $(seq 100); do grep -q "capturing on" "$out/live.err" 2>/dev/null && break; sleep 0.1; done
			c0=$(oncpu "$cap_pid")
			send "$rate" >/dev/null
			sleep 1
			c1=$(oncpu "$cap_pid")
			kill -INT "$cap_pid"; wait "$cap_pid" || true; cap_pid=""
			line "$rate" afpacket "$w" "$round" "$(jq -r '.capture.packets' "$out/live.json")" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
		done
	done
done
# The ratio per rate and worker count, as the range over the rounds
# (each live round against the file round just before it).
awk -F'\t' 'NR > 1 { k = $1 "\t" $3; if ($2 == "file") f[k] = $7; else { r = $7 / f[k]; if (!(k in lo) || r < lo[k]) lo[k] = r; if (r > hi[k]) hi[k] = r; order[k] = 1 } }
	END { print "rate\tworkers\tlive/file"; for (k in order) printf "%s\t%.2f-%.2f\n", k, lo[k], hi[k] }' "$out/cpu.tsv" | sort -n | tee "$out/ratio.tsv"
echo "rates: results in $out"
