#!/usr/bin/env bash
# Holds iobench's blocking model against a minimal C pthread-per-connection
# echo server (echo_threads.c): each server pinned to CPU 0, `iobench load`
# pinned to CPU 1 (so fairness and connections without a reply are
# counted the same way for both), 64-byte ping-pong, the servers
# interleaved ROUNDS times at each connection count.
# Usage: servers/testdata/cref/compare-blocking.sh [SECONDS] [ROUNDS] [WARMUP] [CONNS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-3}; rounds=${2:-3}; warmup=${3:-3}; shift 3 || true
conns=("$@"); [ ${#conns[@]} -eq 0 ] && conns=(1000)
mkdir -p "$here/bin"
gcc -O2 -pthread -o "$here/bin/echo_threads" "$here/echo_threads.c"
(cd "$top" && go build -o "$here/bin/iobench" ./cmd/iobench)

# measure CONNS CMD...: starts a server on CPU 0, waits for its listening
# line, loads it from CPU 1, prints "replies/s jain zero-reply-conns p50".
measure() {
	local conns=$1; shift
	local out json; out=$(mktemp); json=$(mktemp)
	taskset -c 0 "$@" >"$out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
	local addr; addr=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$out")
	taskset -c 1 "$here/bin/iobench" load --addr "$addr" --conns "$conns" --duration "${secs}s" \
		--warmup "${warmup}s" --quiet --json "$json" >/dev/null 2>&1 || true
	kill "$pid"; wait "$pid" 2>/dev/null || true
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f %.3f %d %.2fms" % (r["throughput_per_sec"], r["fairness"]["jain"], r["fairness"]["zero_reply_conns"], r["latency_ns"]["p50"]/1e6))' "$json"
	rm -f "$out" "$json"
}

printf '%-6s %-6s %-36s %-36s\n' conns round "c-threads: tput jain zero p50" "blocking: tput jain zero p50"
for n in "${conns[@]}"; do
	for r in $(seq "$rounds"); do
		c=$(measure "$n" "$here/bin/echo_threads" 0)
		g=$(measure "$n" "$here/bin/iobench" serve --model blocking --addr 127.0.0.1:0)
		printf '%-6s %-6s %-36s %-36s\n' "$n" "$r" "$c" "$g"
	done
done
