#!/usr/bin/env bash
# packaging/systemd/probescope@.service: systemd accepts it, every option in its ExecStart exists,
# and its exposure (systemd-analyze security) stays at the reviewed score or below.
set -u
PROBESCOPE=${1:?usage: $0 PATH_TO_PROBESCOPE}
UNIT=$(cd "$(dirname "$0")/../.." && pwd)/packaging/systemd/probescope@.service
# The exposure of the reviewed unit, in tenths (README.md, Running as a service, lists what is
# left and why). Tightening the unit may lower it; any new exposure fails here.
MAX_EXPOSURE_TENTHS=28
FAILED=0
WORK=$(mktemp -d /tmp/probescope-unit.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

command -v systemd-analyze >/dev/null || { echo "FAIL systemd-analyze missing (scripts/deps.sh)"; exit 1; }

# An instance whose ExecStart names the binary under test, so that verify checks a real one.
INSTANCE=$WORK/probescope@lo.service
sed "s#/usr/local/bin/probescope#$PROBESCOPE#" "$UNIT" >"$INSTANCE"

if systemd-analyze verify "$INSTANCE" >"$WORK/verify" 2>&1 && [ ! -s "$WORK/verify" ]; then
	echo "ok   systemd-analyze verify: no complaint"
else
	echo "FAIL systemd-analyze verify:"; cat "$WORK/verify"; FAILED=1
fi

# Every option ExecStart passes must be one `probescope run` knows.
for opt in $(grep '^ExecStart=' "$UNIT" | grep -o ' --[a-z-]*'); do
	if "$PROBESCOPE" run --help | grep -q -- "$opt\b"; then
		echo "ok   ExecStart option $opt exists"
	else
		echo "FAIL ExecStart passes $opt, which 'probescope run' does not know"; FAILED=1
	fi
done

systemd-analyze security --offline=true "$INSTANCE" >"$WORK/security" 2>&1
cat "$WORK/security"
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$WORK/security")
if [ -z "$score" ]; then
	echo "FAIL no exposure score in the output above"; FAILED=1
elif systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE_TENTHS" "$INSTANCE" >/dev/null 2>&1; then
	echo "ok   exposure $score is at most $((MAX_EXPOSURE_TENTHS / 10)).$((MAX_EXPOSURE_TENTHS % 10))"
else
	echo "FAIL exposure $score is above $((MAX_EXPOSURE_TENTHS / 10)).$((MAX_EXPOSURE_TENTHS % 10))"; FAILED=1
fi
exit $FAILED
