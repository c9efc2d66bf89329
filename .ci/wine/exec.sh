#!/usr/bin/env bash
# go test -exec wrapper: runs a Windows test binary under Wine 8 in the
# prefix setup.sh prepared. With --which, prints the wine64 it would use.
set -euo pipefail
wine=""
for w in wine64 /usr/lib/wine/wine64 wine; do
	if command -v "$w" >/dev/null 2>&1; then
		wine=$(command -v "$w")
		break
	fi
done
if [ "${1:-}" = --which ]; then
	[ -n "$wine" ] && echo "$wine" && exit 0
	exit 1
fi
if [ -z "$wine" ]; then
	echo "wine exec: no wine64 found (run .ci/wine/setup.sh)" >&2
	exit 1
fi
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-iobench}
export WINEDEBUG=${WINEDEBUG:--all}
exec "$wine" "$@"
