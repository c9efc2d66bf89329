#!/usr/bin/env bash
# Compares iobench's load generator with the minimal single-thread C epoll
# client: the C echo server pinned to CPU 0, the client on CPU 1, closed
# loop, 64-byte ping-pong, the two clients interleaved ROUNDS times.
# Usage: servers/testdata/cref/compare-client.sh [SECONDS] [ROUNDS] [CONNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-3}; rounds=${2:-3}; conns=${3:-100}
mkdir -p "$here/bin"
gcc -O2 -o "$here/bin/echo_server" "$here/echo_server.c"
gcc -O2 -o "$here/bin/echo_client" "$here/echo_client.c"
(cd "$top" && go build -o "$here/bin/iobench" ./cmd/iobench)

port=7012
taskset -c 0 "$here/bin/echo_server" "$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.3
printf '%-6s %12s %12s %7s\n' round c-client iobench-load ratio
for r in $(seq "$rounds"); do
	c=$(taskset -c 1 "$here/bin/echo_client" "$port" "$conns" 64 "$secs")
	g=$(taskset -c 1 "$here/bin/iobench" load --addr 127.0.0.1:$port --conns "$conns" --size 64 \
		--duration "${secs}s" --warmup 1s --quiet --json "$here/bin/run.json" >/dev/null && cat "$here/bin/run.json" |
		sed -n 's/^ *"throughput_per_sec": \([0-9.]*\),*/\1/p' | head -1)
	printf '%-6s %12s %12.0f %7.3f\n' "$r" "$c" "$g" "$(echo "$g / $c" | bc -l)"
done
