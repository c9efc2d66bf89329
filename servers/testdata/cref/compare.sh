#!/usr/bin/env bash
# Compares iobench server models with minimal C servers of the same
# techniques: the C epoll server (echo_server.c) and, where liburing is
# installed, the C io_uring server (echo_uring_server.c: multishot recv into
# a buffer ring, DEFER_TASKRUN). Each server is pinned to CPU 0, the minimal
# C epoll client to CPU 1, 64-byte ping-pong; all servers are interleaved
# ROUNDS times at each connection count.
# Usage: [MODELS="epoll iouring"] servers/testdata/cref/compare.sh [SECONDS] [ROUNDS] [CONNS...]
# MODELS entries are iobench models, optionally with serve flags joined by
# commas ("iouring,--recv,single"). Every round prints each server's round
# trips/s and CPU per round trip (utime+stime from /proc over the client's
# measured seconds, in µs); the end prints medians and each server's ratios
# to both C servers (rt = throughput, cpu = CPU per round trip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-3}; rounds=${2:-3}; shift 2 || true
conns=("$@"); [ ${#conns[@]} -eq 0 ] && conns=(100 1000)
read -r -a models <<<"${MODELS:-epoll iouring}"
mkdir -p "$here/bin"
gcc -O2 -o "$here/bin/echo_server" "$here/echo_server.c"
gcc -O2 -o "$here/bin/echo_client" "$here/echo_client.c"
refs=(c-epoll)
if [ ! -f /usr/include/liburing.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y -qq liburing-dev >/dev/null 2>&1 || true
fi
if gcc -O2 -o "$here/bin/echo_uring_server" "$here/echo_uring_server.c" -luring 2>/dev/null; then
	refs+=(c-iouring)
else
	echo "SKIPPED: the C io_uring reference: it does not build here (needs liburing-dev >= 2.3: apt-get install liburing-dev)" >&2
fi
(cd "$top" && go build -o "$here/bin/iobench" ./cmd/iobench)

# cpu PID: the process's utime+stime in clock ticks (USER_HZ = 100).
cpu() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# measure CONNS CMD... : starts a server on CPU 0, waits for its listening
# line, runs the client on CPU 1, prints "round-trips/s cpu-µs-per-rt".
measure() {
	local conns=$1; shift
	local out; out=$(mktemp)
	taskset -c 0 "$@" >"$out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
	local port; port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
	local rtf; rtf=$(mktemp)
	taskset -c 1 "$here/bin/echo_client" "$port" "$conns" 64 "$secs" >"$rtf" &
	local cl=$!
	sleep 1 # the client's warmup
	local c0; c0=$(cpu "$pid")
	sleep "$secs"
	local c1; c1=$(cpu "$pid")
	wait "$cl"
	local rt; rt=$(cat "$rtf")
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -f "$out" "$rtf"
	echo "$rt $(echo "($c1 - $c0) * 10000 / ($rt * $secs)" | bc -l)"
}

# command NAME: how to start server NAME on a free port (the C servers
# take a port: one per round keeps TIME_WAIT out of the way).
port=7100
command() {
	port=$((port + 1))
	case $1 in
	c-epoll) echo "$here/bin/echo_server $port" ;;
	c-iouring) echo "$here/bin/echo_uring_server $port" ;;
	*) echo "$here/bin/iobench serve --model ${1//,/ } --addr 127.0.0.1:0" ;;
	esac
}

raw=$(mktemp)
servers=("${refs[@]}" "${models[@]}")
printf '%-6s %-5s' conns round
for s in "${servers[@]}"; do printf ' %24s' "$s rt/s cpu-µs"; done
echo
for n in "${conns[@]}"; do
	for r in $(seq "$rounds"); do
		printf '%-6s %-5s' "$n" "$r"
		for s in "${servers[@]}"; do
			# shellcheck disable=SC2046
			read -r rt c <<<"$(measure "$n" $(command "$s"))"
			printf ' %14s %9.3f' "$rt" "$c"
			echo "$n $s $rt $c" >>"$raw"
		done
		echo
	done
done

echo
echo "medians over $rounds rounds of ${secs}s (rt = round trips/s, cpu = server CPU µs per round trip)"
printf '%-6s %-28s %10s %8s' conns server rt cpu
for ref in "${refs[@]}"; do printf ' %14s %14s' "rt ÷ $ref" "cpu ÷ $ref"; done
echo
med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for n in "${conns[@]}"; do
	declare -A mrt=() mcpu=()
	for s in "${servers[@]}"; do
		mrt[$s]=$(awk -v n="$n" -v s="$s" '$1 == n && $2 == s { print $3 }' "$raw" | med)
		mcpu[$s]=$(awk -v n="$n" -v s="$s" '$1 == n && $2 == s { print $4 }' "$raw" | med)
	done
	for s in "${servers[@]}"; do
		printf '%-6s %-28s %10.0f %8.3f' "$n" "$s" "${mrt[$s]}" "${mcpu[$s]}"
		for ref in "${refs[@]}"; do
			printf ' %14.3f %14.3f' "$(echo "${mrt[$s]} / ${mrt[$ref]}" | bc -l)" "$(echo "${mcpu[$s]} / ${mcpu[$ref]}" | bc -l)"
		done
		echo
	done
done
rm -f "$raw"
