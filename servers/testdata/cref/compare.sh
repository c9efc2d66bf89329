#!/usr/bin/env bash
# Compares iobench server models with the minimal C epoll echo server:
# each server pinned to CPU 0, the minimal C epoll client pinned to CPU 1,
# 64-byte ping-pong, all servers interleaved ROUNDS times at each count.
# Usage: [MODELS="epoll iouring"] servers/testdata/cref/compare.sh [SECONDS] [ROUNDS] [CONNS...]
# MODELS entries are iobench models, optionally with serve flags joined by
# commas ("iouring,--workers,1").
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

# measure CONNS CMD... : starts a server on CPU 0, waits for its listening
# line, runs the client on CPU 1, prints round trips/s.
measure() {
	local conns=$1; shift
	local out; out=$(mktemp)
	taskset -c 0 "$@" >"$out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
	local port; port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
	taskset -c 1 "$here/bin/echo_client" "$port" "$conns" 64 "$secs"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -f "$out"
}

printf '%-6s %-6s %12s' conns round c-epoll
for m in "${models[@]}"; do printf ' %14s %6s' "$m" ratio; done
echo
for n in "${conns[@]}"; do
	for r in $(seq "$rounds"); do
		c=$(measure "$n" "$here/bin/echo_server" 7011)
		printf '%-6s %-6s %12s' "$n" "$r" "$c"
		for m in "${models[@]}"; do
			IFS=, read -r -a argv <<<"$m"
			g=$(measure "$n" "$here/bin/iobench" serve --model "${argv[@]}" --addr 127.0.0.1:0)
			printf ' %14s %6.3f' "$g" "$(echo "$g / $c" | bc -l)"
		done
		echo
	done
done
