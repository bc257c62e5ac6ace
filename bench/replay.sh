#!/usr/bin/env bash
# Suite part "replay" (issue 6 item 5): `probescope replay` throughput against
# `tcpdump -r FILE -w /dev/null` (the floor for reading) on the same capture.
# Usage: bench/replay.sh BUILD_DIR BENCH_OUT   (as root; writes BENCH_OUT/replay.md and replay.json)
# Knobs: REPLAY_FRAMES (300000) frames generated into the capture, REPLAY_ROUNDS (ROUNDS, else
# 3; the best is kept), REPLAY_CAPTURE (an existing capture to use instead), BLAST_SENDER
# (probescope-blast --sender: auto, live, packet).
set -euo pipefail
[ $# -eq 2 ] || {
	echo "usage: bench/replay.sh BUILD_DIR BENCH_OUT" >&2
	exit 2
}
BUILD_DIR=$(cd "$1" && pwd) OUT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PS=$BUILD_DIR/user/probescope
BLAST=$BUILD_DIR/tests/tools/probescope-blast
PASS_OBJ=$BUILD_DIR/bpfgen/xdp_pass.bpf.o
FRAMES=${REPLAY_FRAMES:-300000}
ROUNDS=${REPLAY_ROUNDS:-${ROUNDS:-3}}

LAB_ID=br$$
. "$ROOT/scripts/lab.sh"
require_built bench/replay.sh "$PS" "$BLAST" "$PASS_OBJ"
require_cmds bench/replay.sh tcpdump jq bpftool nsenter
TMP=$(mktemp -d /tmp/probescope-bench-replay.XXXXXX)
PIN=/sys/fs/bpf/probescope-bench-replay-$$
tcpdump_pid=
cleanup() {
	[ -z "$tcpdump_pid" ] || kill -TERM "$tcpdump_pid" 2>/dev/null || true
	lab_down || true # set -e would stop the clean-up at a namespace already gone
	rm -f "$PIN"
	rm -rf "$TMP"
}
trap cleanup EXIT

# The capture: the live part's mix (spoofed v4 and v6 SYN flood, a 30-source SYN scan), taken
# by tcpdump on the target veth. The target runs XDP_PASS: native XDP on a veth needs a
# program on the receiving side.
make_capture() {
	local cap=$1 i
	lab_up
	bpftool prog load "$PASS_OBJ" "$PIN"
	in_tgt bpftool net attach xdpdrv pinned "$PIN" dev "$LAB_TGT_IF"
	nsenter --net="/run/netns/$LAB_TGT" tcpdump -i "$LAB_TGT_IF" -n -B 65536 -w "$cap" tcp \
		2>"$TMP/tcpdump.err" &
	tcpdump_pid=$!
	wait_for "$TMP/tcpdump.err" 10 "listening on" || exit 1
	in_scan "$BLAST" --sender "${BLAST_SENDER:-auto}" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --dst "$LAB_TGT_IP" \
		--dst6 "$LAB_TGT_IP6" --scan-share 0.05 --v6-share 0.1 --count "$FRAMES" >"$TMP/gen.json"
	sleep 1
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
	lab_down
}

CAP=${REPLAY_CAPTURE:-$TMP/mix.pcap}
[ -n "${REPLAY_CAPTURE:-}" ] || make_capture "$CAP"
records=$(tcpdump -n -r "$CAP" 2>/dev/null | wc -l)
bytes=$(stat -c %s "$CAP")

# Best wall time of ROUNDS runs, with the CPU seconds of that run.
best() {
	local out=$1 r t0 t1 c0 c1 best_wall=999999 best_cpu=0
	shift
	for ((r = 0; r < ROUNDS; r++)); do
		c0=$(child_cpu_s)
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>"$TMP/err" || {
			echo "bench/replay.sh: '$*' failed:" >&2
			cat "$TMP/err" >&2
			exit 1
		}
		t1=$(date +%s.%N)
		c1=$(child_cpu_s)
		read -r best_wall best_cpu < <(awk -v w="$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" \
			-v c="$(awk -v a="$c1" -v b="$c0" 'BEGIN { print a - b }')" -v bw="$best_wall" -v bc="$best_cpu" \
			'BEGIN { if (w < bw) print w, c; else print bw, bc }')
	done
	echo "$best_wall $best_cpu" >"$out"
}
JOBS=$(nproc)
best "$TMP/ps" "$PS" replay --max-sources 524288 --output /dev/null "$CAP"
# The same on one worker (the calling thread, unpinned): what the workers buy, in this run.
best "$TMP/ps_j1" "$PS" replay --jobs 1 --max-sources 524288 --output /dev/null "$CAP"
best "$TMP/td" tcpdump -n -r "$CAP" -w /dev/null
# What every replay pays before its first packet (the verifier's walk of the program, the maps'
# allocation) and after its last: the same command over the capture's first packet alone.
tcpdump -n -r "$CAP" -c 1 -w "$TMP/one.pcap" 2>/dev/null
best "$TMP/ps1" "$PS" replay --max-sources 524288 --output /dev/null "$TMP/one.pcap"
read -r ps_wall ps_cpu <"$TMP/ps"
read -r td_wall td_cpu <"$TMP/td"
read -r one_wall one_cpu <"$TMP/ps1"
read -r j1_wall j1_cpu <"$TMP/ps_j1"

# What the generator said it sent (none for a capture given in REPLAY_CAPTURE).
gen=null
[ -n "${REPLAY_CAPTURE:-}" ] || gen=$(cat "$TMP/gen.json")
jq -n --argjson records "$records" --argjson bytes "$bytes" --arg cap "${REPLAY_CAPTURE:-generated}" \
	--argjson gen "$gen" \
	--argjson ps_wall "$ps_wall" --argjson ps_cpu "$ps_cpu" \
	--argjson td_wall "$td_wall" --argjson td_cpu "$td_cpu" --argjson rounds "$ROUNDS" \
	--argjson one_wall "$one_wall" --argjson one_cpu "$one_cpu" \
	--argjson j1_wall "$j1_wall" --argjson j1_cpu "$j1_cpu" --argjson jobs "$JOBS" '{
	capture: $cap, records: $records, bytes: $bytes, rounds: $rounds, jobs: $jobs, generator: $gen,
	probescope: {wall_s: $ps_wall, cpu_s: $ps_cpu, pps: ($records / $ps_wall | round),
		pps_per_cpu_s: (if $ps_cpu > 0 then $records / $ps_cpu | round else null end)},
	probescope_jobs1: {wall_s: $j1_wall, cpu_s: $j1_cpu, pps: ($records / $j1_wall | round),
		pps_per_cpu_s: (if $j1_cpu > 0 then $records / $j1_cpu | round else null end),
		after_startup_pps: ($records / ($j1_wall - $one_wall) | round)},
	workers_speedup_after_startup: (($j1_wall - $one_wall) / ($ps_wall - $one_wall) * 100 | round / 100),
	tcpdump: {wall_s: $td_wall, cpu_s: $td_cpu, pps: ($records / $td_wall | round),
		pps_per_cpu_s: (if $td_cpu > 0 then $records / $td_cpu | round else null end)},
	ratio_to_tcpdump: ($td_wall / $ps_wall * 1000 | round / 1000),
	startup: {wall_s: $one_wall, cpu_s: $one_cpu},
	after_startup: {wall_s: ($ps_wall - $one_wall), pps: ($records / ($ps_wall - $one_wall) | round),
		us_per_packet: (($ps_wall - $one_wall) / $records * 1e6 * 100 | round / 100),
		ratio_to_tcpdump: ($td_wall / ($ps_wall - $one_wall) * 1000 | round / 1000)}
}' >"$OUT/replay.json"

jq -r '
	"## Replay throughput (item 5)\n",
	"Capture: \(if .capture == "generated" then "the live part'\''s mix (spoofed IPv4/IPv6 SYN flood and a 30-source SYN scan), taken by tcpdump (filter `tcp`) on a lab veth" else .capture end): \(.records) packets, \(.bytes) bytes\(if .generator then " (the generator, `probescope-blast` (\(.generator.generator)), wrote \(.generator.redirected) frames, offered \(.generator.offered) and had \(.generator.ring_full) refused; the capture also holds what the target sent back)" else "" end). Best wall time of \(.rounds) runs; CPU is user + system of that run. `probescope replay --max-sources 524288 --output /dev/null FILE` runs every packet through the XDP program (BPF_PROG_TEST_RUN) and classifies each interval; `tcpdump -n -r FILE -w /dev/null` only reads and writes.\n",
	"| reader | wall s | CPU s | packets/s (wall) | packets per CPU second |",
	"|---|---|---|---|---|",
	"| probescope replay (\(.jobs) workers, the default here) | \(.probescope.wall_s) | \(.probescope.cpu_s) | \(.probescope.pps) | \(.probescope.pps_per_cpu_s) |",
	"| probescope replay --jobs 1 | \(.probescope_jobs1.wall_s) | \(.probescope_jobs1.cpu_s) | \(.probescope_jobs1.pps) | \(.probescope_jobs1.pps_per_cpu_s) |",
	"| tcpdump -r -w /dev/null (floor) | \(.tcpdump.wall_s) | \(.tcpdump.cpu_s) | \(.tcpdump.pps) | \(.tcpdump.pps_per_cpu_s) |",
	"| probescope replay of the first packet alone (startup) | \(.startup.wall_s) | \(.startup.cpu_s) | | |",
	"",
	"probescope replay runs at \(.ratio_to_tcpdump)x tcpdump'\''s reading rate. \(.startup.wall_s) s of its wall time is startup, paid once per replay whatever the capture holds (loading the program: the verifier walks it; allocating src_pending for 524288 sources and the port maps; src_stats is allocated as sources arrive under replay): past it, \(.after_startup.pps) packets/s, \(.after_startup.us_per_packet) µs per packet (one BPF_PROG_TEST_RUN syscall each, the frame copied in; a new source'\''s path for nearly every packet of this flood), \(.after_startup.ratio_to_tcpdump)x tcpdump. Past startup, \(.jobs) workers (each pinned to a CPU, each source'\''s frames on one) run \(.workers_speedup_after_startup)x as fast as one (\(.probescope_jobs1.after_startup_pps) packets/s with --jobs 1).",
	""' "$OUT/replay.json" >"$OUT/replay.md"
cat "$OUT/replay.md"
