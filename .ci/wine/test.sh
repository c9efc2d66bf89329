#!/usr/bin/env bash
# Runs the Windows tests of PACKAGES under Wine with an outer bound that
# Wine can't defeat. Once in a few runs the Go runtime inside Wine froze
# (go test's own 10-minute panic never fired, so there was no stack): a
# hang of the whole Wine process is outside what the test binary can see.
# Here each run gets BUDGET seconds (default 300); past it the script
# records which test was running (the last "=== RUN" line), Wine's state
# (every Wine process's threads and where each sleeps in the kernel),
# kills the prefix's processes (wineserver -k) and runs the packages once
# more. A second hang fails, naming the test both times.
# Usage: .ci/wine/test.sh [PACKAGES...]   (default ./servers/...)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
budget=${BUDGET:-300}
[ $# -eq 0 ] && set -- ./servers/...
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-iobench}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# wine_state prints, for every process of the prefix, each thread's state
# and kernel wait channel: where a frozen Wine sleeps.
wine_state() {
	for pid in $(pgrep -f 'wine|\.exe' 2>/dev/null); do
		[ -r "/proc/$pid/cmdline" ] || continue
		echo "  process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)"
		for task in /proc/"$pid"/task/*; do
			echo "    thread ${task##*/}: $(awk '/^State/ {print $2, $3}' "$task/status" 2>/dev/null) wchan=$(cat "$task/wchan" 2>/dev/null)"
		done
	done
}

for attempt in 1 2; do
	GOOS=windows timeout --kill-after=10 "$budget" go test -count=1 -v -exec "$here/exec.sh" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 124 ] && [ $rc -ne 137 ]; then
		grep -E '^(--- FAIL|FAIL|ok|panic|SKIP|--- SKIP)' "$log"
		[ $rc -ne 0 ] && cat "$log"
		exit $rc
	fi
	hung=$(grep '^=== RUN' "$log" | tail -1 | sed 's/^=== RUN *//')
	echo "wine test: attempt $attempt hung past ${budget}s in ${hung:-an unknown test}; Wine's state:"
	wine_state
	wineserver -k 2>/dev/null || pkill -9 -f 'wine|\.exe' 2>/dev/null || true
	sleep 2
	if [ $attempt -eq 1 ]; then
		echo "wine test: running the packages once more"
	fi
done
echo "wine test: FAILED: hung twice (last in ${hung:-an unknown test})"
exit 1
