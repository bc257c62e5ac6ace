#!/usr/bin/env bash
# A throwaway lab: real nmap and hping3 scans against probescope, JSON lines printed, lab removed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/demo.sh: run as root (sudo scripts/demo.sh): it creates network namespaces" >&2
	exit 1
fi
scripts/deps.sh >&2
scripts/build.sh >&2
. scripts/lab.sh

OUT=$(mktemp /tmp/probescope-demo.XXXXXX.json)
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill -TERM "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	lab_down
	rm -f "$OUT"
}
trap cleanup EXIT

lab_up
echo "lab: scanner $LAB_SCAN_IP ($LAB_SCAN) -> target $LAB_TGT_IP ($LAB_TGT, $LAB_TGT_IF)" >&2
nsenter --net="/run/netns/$LAB_TGT" "${BUILD_DIR:-build}"/user/probescope run --iface "$LAB_TGT_IF" --interval 1 \
	--pin-root /sys/fs/bpf/probescope-demo --output "$OUT" &
AGENT=$!
sleep 1.5

scan() { echo "scan: $*" >&2; in_scan "$@" >/dev/null 2>&1 || true; }
scan nmap -sS -T5 -n -Pn -p 1-100 "$LAB_TGT_IP"
scan nmap -sF -T5 -n -Pn -p 20-30 "$LAB_TGT_IP"
scan nmap -sX -T5 -n -Pn -p 20-30 "$LAB_TGT_IP"
scan nmap -sN -T5 -n -Pn -p 20-30 "$LAB_TGT_IP"
scan nmap -sU -T5 -n -Pn -p 53,123,161,1900,11211 "$LAB_TGT_IP"
scan hping3 -c 3 -i u10000 -S -F -p 80 "$LAB_TGT_IP"      # SYN+FIN
scan hping3 -c 3 -i u10000 -S -R -p 80 "$LAB_TGT_IP"      # SYN+RST
scan hping3 -c 3 -i u10000 -F -S -R -P -A -U -p 80 "$LAB_TGT_IP"  # all six flags
scan hping3 -c 3 -i u10000 -F -P -U -p 81 "$LAB_TGT_IP"   # Xmas
sleep 2
kill -TERM "$AGENT"
wait "$AGENT" || true
AGENT=
cat "$OUT"
