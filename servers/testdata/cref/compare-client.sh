#!/usr/bin/env bash
# Compares iobench's load generator with minimal single-thread C clients:
# the C epoll client (echo_client.c) and, where liburing is installed, the
# C io_uring client (echo_uring_client.c). The C epoll echo server is
# pinned to CPU 0, each client to CPU 1; closed loop, 64-byte ping-pong;
# the clients interleaved ROUNDS times. Each prints round trips/s and its
# own CPU per round trip (getrusage over the measured window; for iobench
# load, client user_ns + sys_ns from its JSON over its replies); the end
# prints medians and each client's ratios to the C epoll client.
# Usage: [ENGINES="epoll uring"] servers/testdata/cref/compare-client.sh [SECONDS] [ROUNDS] [CONNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-3}; rounds=${2:-3}; conns=${3:-100}
read -r -a engines <<<"${ENGINES:-epoll uring}"
mkdir -p "$here/bin"
gcc -O2 -o "$here/bin/echo_server" "$here/echo_server.c"
gcc -O2 -o "$here/bin/echo_client" "$here/echo_client.c"
clients=(c-epoll)
if [ ! -f /usr/include/liburing.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y -qq liburing-dev >/dev/null 2>&1 || true
fi
if gcc -O2 -o "$here/bin/echo_uring_client" "$here/echo_uring_client.c" -luring 2>/dev/null; then
	clients+=(c-iouring)
else
	echo "SKIPPED: the C io_uring client: it does not build here (needs liburing-dev >= 2.3)" >&2
fi
for e in "${engines[@]}"; do clients+=("load-$e"); done
(cd "$top" && go build -o "$here/bin/iobench" ./cmd/iobench)

port=7012
taskset -c 0 "$here/bin/echo_server" "$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.3

# measure CLIENT: prints "round-trips/s cpu-µs-per-round-trip".
measure() {
	case $1 in
	c-epoll) taskset -c 1 "$here/bin/echo_client" "$port" "$conns" 64 "$secs" cpu ;;
	c-iouring) taskset -c 1 "$here/bin/echo_uring_client" "$port" "$conns" 64 "$secs" cpu ;;
	load-*)
		taskset -c 1 "$here/bin/iobench" load --engine "${1#load-}" --addr 127.0.0.1:$port --conns "$conns" --size 64 \
			--duration "${secs}s" --warmup 1s --quiet --json "$here/bin/run.json" >/dev/null
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r["client"]; print("%.0f %.3f" % (r["throughput_per_sec"], (c["user_ns"]+c["sys_ns"])/1e3/r["replies"]))' "$here/bin/run.json"
		;;
	esac
}

raw=$(mktemp)
printf '%-6s' round
for c in "${clients[@]}"; do printf ' %24s' "$c rt/s cpu-µs"; done
echo
for r in $(seq "$rounds"); do
	printf '%-6s' "$r"
	for c in "${clients[@]}"; do
		read -r rt cpu <<<"$(measure "$c")"
		printf ' %14s %9.3f' "$rt" "$cpu"
		echo "$c $rt $cpu" >>"$raw"
	done
	echo
done
echo
echo "medians over $rounds rounds of ${secs}s at $conns connections (rt = round trips/s, cpu = the client's CPU µs per round trip)"
med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A mrt=() mcpu=()
for c in "${clients[@]}"; do
	mrt[$c]=$(awk -v c="$c" '$1 == c { print $2 }' "$raw" | med)
	mcpu[$c]=$(awk -v c="$c" '$1 == c { print $3 }' "$raw" | med)
done
printf '%-12s %10s %8s %14s %14s\n' client rt cpu "rt ÷ c-epoll" "cpu ÷ c-epoll"
for c in "${clients[@]}"; do
	printf '%-12s %10.0f %8.3f %14.3f %14.3f\n' "$c" "${mrt[$c]}" "${mcpu[$c]}" \
		"$(echo "${mrt[$c]} / ${mrt[c-epoll]}" | bc -l)" "$(echo "${mcpu[$c]} / ${mcpu[c-epoll]}" | bc -l)"
done
rm -f "$raw"
