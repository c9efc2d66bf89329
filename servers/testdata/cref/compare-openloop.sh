#!/usr/bin/env bash
# The generator's cost per reply in open loop against its cost in closed
# loop, for iobench load and for a minimal C client of each technique
# (echo_client.c closed, openloop_client.c at a fixed rate with the same
# 100µs least gap between timed wake-ups as load's): the C epoll echo
# server pinned to CPU 0, each client to CPU 1, 64-byte messages, CONNS
# connections, RATE msg/s, ROUNDS interleaved rounds of SECONDS each.
# Prints a line per run (replies/s, client CPU µs per reply) and each
# client's open/closed ratio of medians.
# Usage: servers/testdata/cref/compare-openloop.sh [SECONDS] [ROUNDS] [CONNS] [RATE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
secs=${1:-2}; rounds=${2:-3}; conns=${3:-50}; rate=${4:-20000}
mkdir -p "$here/bin"
gcc -O2 -o "$here/bin/echo_server" "$here/echo_server.c"
gcc -O2 -o "$here/bin/echo_client" "$here/echo_client.c"
gcc -O2 -o "$here/bin/openloop_client" "$here/openloop_client.c"
(cd "$top" && go build -o "$here/bin/iobench" ./cmd/iobench)
port=7013
taskset -c 0 "$here/bin/echo_server" "$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.3
load() { # MODE...: replies/s and client µs per reply from load's JSON
	taskset -c 1 "$here/bin/iobench" load --addr "127.0.0.1:$port" --conns "$conns" --duration "${secs}s" --quiet --json - "$@" 2>/dev/null |
		python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["client"]; print("%.0f %.3f" % (r["throughput_per_sec"], (c["user_ns"]+c["sys_ns"])/1e3/max(r["replies"],1)))'
}
declare -A per
for ((k = 1; k <= rounds; k++)); do
	for client in c-closed c-open load-closed load-open; do
		case $client in
		c-closed) out=$(taskset -c 1 "$here/bin/echo_client" "$port" "$conns" 64 "$secs" cpu) ;;
		c-open) out=$(taskset -c 1 "$here/bin/openloop_client" "$port" "$conns" "$rate" "$secs" 100 | cut -d' ' -f1-2) ;;
		load-closed) out=$(load) ;;
		load-open) out=$(load --mode rate --rate "$rate") ;;
		esac
		echo "round $k $client: $out"
		per[$client]+="$(echo "$out" | cut -d' ' -f2) "
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for who in c load; do
	c=$(echo "${per[$who-closed]}" | median); o=$(echo "${per[$who-open]}" | median)
	echo "$who: closed $c µs/reply, open at $rate/s $o µs/reply: $(awk -v o="$o" -v c="$c" 'BEGIN {printf "%.2f", o/c}')x"
done
