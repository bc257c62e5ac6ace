#!/usr/bin/env bash
# Flood stress (issue 8; opt-in, not in CI): a randomly spoofed SYN flood from ~10 million
# distinct sources (240.0.0.0/4 and 2001:db8::/32) into a lab veth with `probescope run`
# attached, while a real `nmap -sS -T4 -n -Pn` scans from a TEST-NET lab address. Checks that
# kernel map memory stays at its bound, agent RSS stays bounded, stats records keep flowing
# every interval with evictions counted, and the nmap source is still detected as nmap.
# It fails when memlock moved, nmap was not named, or a stats record came more than two
# intervals (2 s) after the previous one.
# Usage: scripts/stress.sh   (as root, after scripts/build.sh; BUILD_DIR env, default build)
# Knobs: STRESS_FRAMES (10000000), STRESS_MAX_SOURCES (65536), STRESS_V6_SHARE (0.5),
# BLAST_SENDER (probescope-blast --sender: auto, live, packet).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${BUILD_DIR:-$ROOT/build}" && pwd)
PS=$BUILD_DIR/user/probescope
BLAST=$BUILD_DIR/tests/tools/probescope-blast
FRAMES=${STRESS_FRAMES:-10000000}
MAX_SOURCES=${STRESS_MAX_SOURCES:-65536}
V6_SHARE=${STRESS_V6_SHARE:-0.5}

LAB_ID=st$$
. "$ROOT/scripts/lab.sh"
require_built stress.sh "$PS" "$BLAST"
require_cmds stress.sh nmap bpftool jq nsenter
TMP=$(mktemp -d /tmp/probescope-stress.XXXXXX)
agent_pid= nmap_pid= sampler_pid=
cleanup() {
	local p
	for p in $sampler_pid $nmap_pid $agent_pid; do kill -TERM "$p" 2>/dev/null || true; done
	[ -z "$agent_pid" ] || wait "$agent_pid" 2>/dev/null || true
	lab_down || true # set -e would stop the clean-up at a namespace already gone
	umount "$TMP/bpffs" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

lab_up
mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs"
PIN=$TMP/bpffs/probescope/$LAB_TGT_IF

nsenter --net="/run/netns/$LAB_TGT" "$PS" run --iface "$LAB_TGT_IF" --interval 1 \
	--max-sources "$MAX_SOURCES" --no-rdns --socket none --pin-root "$TMP/bpffs/probescope" \
	--output "$TMP/out.json" 2>"$TMP/agent.err" &
agent_pid=$!
wait_for "$TMP/agent.err" 10 "attached to" || {
	echo "stress.sh: the agent did not attach" >&2
	exit 1
}
memlock() { bpftool -j map show pinned "$PIN/src_stats" | jq '.bytes_memlock'; }
memlock0=$(memlock)

# The agent's resident memory, once a second.
(while kill -0 "$agent_pid" 2>/dev/null; do
	awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status" 2>/dev/null
	sleep 1
done) >"$TMP/rss" &
sampler_pid=$!

start=$(date +%s.%N)
in_scan nmap -sS -T4 -n -Pn -p 1-1000 "$LAB_TGT_IP" >"$TMP/nmap.out" 2>&1 &
nmap_pid=$!
in_scan "$BLAST" --sender "${BLAST_SENDER:-auto}" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --dst "$LAB_TGT_IP" \
	--dst6 "$LAB_TGT_IP6" --scan-share 0 --v6-share "$V6_SHARE" --count "$FRAMES" >"$TMP/gen.json"
end=$(date +%s.%N)
wait "$nmap_pid" || true
nmap_pid=
sleep 2
memlock1=$(memlock)
kill -TERM "$agent_pid"
wait "$agent_pid" || true
agent_pid=
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=

seconds=$(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
jq -n --slurpfile gen "$TMP/gen.json" --slurpfile recs "$TMP/out.json" \
	--argjson rss "$(jq -s . "$TMP/rss")" --argjson m0 "$memlock0" --argjson m1 "$memlock1" \
	--argjson seconds "$seconds" --arg scanner "$LAB_SCAN_IP" '
	[$recs[] | select(.type == "stats")] as $stats |
	([$recs[] | select(.type == "scanner" and .src == $scanner)] | first) as $nmap |
	{
		flood_offered: $gen[0].offered,
		flood_v4: $gen[0].flood_v4, flood_v6: $gen[0].flood_v6,
		flood_pps: $gen[0].offered_pps,
		offer_seconds: $seconds,
		counted_tcp_syn: ([$stats[].classes.tcp_syn // 0] | add),
		stats_records: ($stats | length),
		longest_gap_s: ([$stats[].interval_s] | max),
		evictions: ([$stats[].maps.src_stats.evictions] | max),
		inserts: ([$stats[].maps.src_stats.inserts] | add),
		kernel_memlock_before: $m0, kernel_memlock_after: $m1,
		agent_rss_kb_first: $rss[0], agent_rss_kb_max: ($rss | max),
		agent_rss_kb_last: $rss[-1],
		nmap_detected: ($nmap != null),
		nmap_tool: ($nmap.tool.name // null),
		nmap_detect_s: ($nmap.detect_s // null)
	}' | tee "$TMP/summary.json"

jq -r '
	"flood offered: \(.flood_offered) frames (\(.flood_v4) IPv4, \(.flood_v6) IPv6) in \(.offer_seconds) s: \(.flood_pps) pps",
	"counted (tcp_syn, includes nmap): \(.counted_tcp_syn)",
	"stats records: \(.stats_records), longest interval \(.longest_gap_s) s; inserts \(.inserts), evictions \(.evictions)",
	"kernel src_stats memlock: \(.kernel_memlock_before) -> \(.kernel_memlock_after) bytes",
	"agent RSS: first \(.agent_rss_kb_first) kB, max \(.agent_rss_kb_max) kB, last \(.agent_rss_kb_last) kB",
	"nmap scan detected: \(if .nmap_detected then "yes" else "no" end), tool \(.nmap_tool), latency \(.nmap_detect_s) s (its first probe to its scanner record)"' \
	"$TMP/summary.json"
jq -e '.kernel_memlock_before == .kernel_memlock_after and .nmap_detected and .nmap_tool == "nmap"
	and .longest_gap_s <= 2' "$TMP/summary.json" >/dev/null || {
	echo "stress.sh: FAIL (see the figures above)" >&2
	exit 1
}
echo "stress.sh: ok"
