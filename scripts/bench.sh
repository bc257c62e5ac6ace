#!/usr/bin/env bash
# XDP cost per packet: probescope against an empty XDP_PASS program, same packets, same run.
# Uses BPF_PROG_TEST_RUN (bpftool prog run ... repeat N); prints ns and the ratio to the floor.
# Usage: scripts/bench.sh [REPEAT] [ROUNDS]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${1:-5000000}
ROUNDS=${2:-3}
GEN=${BUILD_DIR:-build}/bpfgen
PIN=/sys/fs/bpf/probescope-bench-$$
TMP=$(mktemp -d)
cleanup() { rm -rf "$PIN" "$TMP"; }
trap cleanup EXIT
mkdir -p "$PIN"
bpftool prog load "$GEN/probescope.bpf.o" "$PIN/probescope"
bpftool prog load "$GEN/xdp_pass.bpf.o" "$PIN/pass"

eth='\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00'
src_dst='\xc6\x33\x64\x01\xc6\x33\x64\x02'
# Established ACK as Linux sends it: DF set, NOP NOP timestamps.
printf "$eth"'\x45\x00\x00\x34\x00\x01\x40\x00\x40\x06\x00\x00'"$src_dst"'\x30\x39\x00\x16\x00\x00\x00\x01\x00\x00\x00\x01\x80\x10\x04\x00\x00\x00\x00\x00\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02' >"$TMP/ack"
# nmap-shaped SYN (window 1024, MSS 1460): the same source every run, so a known source.
printf "$eth"'\x45\x00\x00\x2c\x00\x01\x00\x00\x40\x06\x00\x00'"$src_dst"'\x30\x39\x00\x16\x00\x00\x00\x01\x00\x00\x00\x00\x60\x02\x04\x00\x00\x00\x00\x00\x02\x04\x05\xb4' >"$TMP/syn"
# Xmas probe and a UDP probe.
printf "$eth"'\x45\x00\x00\x28\x00\x01\x00\x00\x40\x06\x00\x00'"$src_dst"'\x30\x39\x00\x16\x00\x00\x00\x01\x00\x00\x00\x00\x50\x29\x04\x00\x00\x00\x00\x00' >"$TMP/xmas"
printf "$eth"'\x45\x00\x00\x20\x00\x01\x00\x00\x40\x11\x00\x00'"$src_dst"'\x30\x39\x00\x35\x00\x0c\x00\x00\xab\xcd\xef\x01' >"$TMP/udp"

run() { bpftool prog run pinned "$PIN/$1" data_in "$TMP/$2" repeat "$REPEAT" | sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'; }
printf '| packet | XDP_PASS ns | probescope ns | ratio |\n|---|---|---|---|\n'
for pkt in ack syn xmas udp; do
	best_pass=999999 best_ps=999999
	for ((r = 0; r < ROUNDS; r++)); do
		p=$(run pass "$pkt"); s=$(run probescope "$pkt")
		((p < best_pass)) && best_pass=$p
		((s < best_ps)) && best_ps=$s
	done
	printf '| %s | %d | %d | %s |\n' "$pkt" "$best_pass" "$best_ps" "$(awk "BEGIN{printf \"%.2f\", $best_ps/$best_pass}")"
done
