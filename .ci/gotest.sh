#!/usr/bin/env bash
# Runs go test -v with the given arguments and prints what a person needs:
# each package's result line, every failing test's output, and at the end
# every skipped test with the reason it gave (a test that skips says why;
# this makes sure nobody has to run -v to find out).
# Usage: .ci/gotest.sh [go test flags and packages]
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Each package's line (and each failing test's name) as it comes: a run
# of several minutes is never silent for all of them.
go test -v "$@" 2>&1 | tee "$log" | grep --line-buffered -E '^(ok|FAIL|\?) |^ *--- FAIL: '
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	# Everything but the run/pass chatter: the failures with their logs.
	echo "--- the failures in full:"
	grep -vE '^ *(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP):)' "$log"
fi
awk '
	/^=== (RUN|CONT|NAME)/ { cur = $3; next }
	/^ +[A-Za-z0-9_]+\.go:[0-9]+: / { if (cur != "") last[cur] = $0; next }
	/--- SKIP: / {
		name = $3; reason = last[name]; sub(/^ +/, "", reason)
		skipped[++n] = "  " name ": " reason
	}
	END {
		if (n == 0) { print "skipped: none"; exit }
		print "skipped (" n "):"
		for (i = 1; i <= n; i++) print skipped[i]
	}' "$log"
exit $rc
