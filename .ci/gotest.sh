#!/usr/bin/env bash
# Runs go test -v with the given arguments and prints what a person needs:
# each package's result line, every failing test's output, and at the end
# every skipped test with the reason it gave (a test that skips says why;
# this makes sure nobody has to run -v to find out).
# Usage: .ci/gotest.sh [go test flags and packages]
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -v "$@" >"$log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	grep -E '^(ok|FAIL|\?) ' "$log"
else
	# Everything but the run/pass chatter: the failures with their logs.
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
