#!/usr/bin/env bash
# Compares iobench server models with the minimal C epoll echo server:
# each server pinned to CPU 0, the minimal C epoll client pinned to CPU 1,
# 64-byte ping-pong, all servers interleaved ROUNDS times at each count.
# Usage: [MODELS="epoll iouring"] servers/testdata/cref/compare.sh [SECONDS] [ROUNDS] [CONNS...]
# MODELS entries are iobench models, optionally with serve flags joined by
# commas ("iouring,--workers,1"). Each cell prints round trips/s and the
# server's CPU per round trip (utime+stime from /proc over the client's
# measured seconds, in µs), and the ratio of each to the C server's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-3}; rounds=${2:-3}; shift 2 || true
conns=("$@"); [ ${#conns[@]} -eq 0 ] && conns=(100 1000)
read -r -a models <<<"${MODELS:-epoll}"
mkdir -p "$here/bin"
gcc -O2 -o "$here/bin/echo_server" "$here/echo_server.c"
gcc -O2 -o "$here/bin/echo_client" "$here/echo_client.c"
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

printf '%-6s %-6s %20s' conns round "c-epoll rt/s cpu-µs"
for m in "${models[@]}"; do printf ' %22s %13s' "$m rt/s cpu-µs" "ratio rt cpu"; done
echo
for n in "${conns[@]}"; do
	for r in $(seq "$rounds"); do
		read -r crt ccpu <<<"$(measure "$n" "$here/bin/echo_server" 7011)"
		printf '%-6s %-6s %12s %7.3f' "$n" "$r" "$crt" "$ccpu"
		for m in "${models[@]}"; do
			IFS=, read -r -a argv <<<"$m"
			read -r grt gcpu <<<"$(measure "$n" "$here/bin/iobench" serve --model "${argv[@]}" --addr 127.0.0.1:0)"
			printf ' %14s %7.3f %6.3f %6.3f' "$grt" "$gcpu" "$(echo "$grt / $crt" | bc -l)" "$(echo "$gcpu / $ccpu" | bc -l)"
		done
		echo
	done
done
