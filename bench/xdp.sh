#!/usr/bin/env bash
# Suite part "xdp" (issue 6 items 1 and 2): XDP cost per packet and a cache-cold mix against an
# empty XDP_PASS program, plus the program's size (xlated and JITed) and bpftool prog profile.
# Usage: bench/xdp.sh BUILD_DIR BENCH_OUT   (as root; writes BENCH_OUT/xdp.md and xdp.json)
# Knobs: ROUNDS (3), XDP_REPEAT (2000000), XDP_SOURCES (1048576), XDP_NEW_SOURCES (20000),
# XDP_MIX (100000), XDP_PROFILE_SECONDS (3).
set -euo pipefail
[ $# -eq 2 ] || {
	echo "usage: bench/xdp.sh BUILD_DIR BENCH_OUT" >&2
	exit 2
}
BUILD_DIR=$1 OUT=$2
TOOL=$BUILD_DIR/bench/probescope-xdp-bench
[ -x "$TOOL" ] || {
	echo "bench/xdp.sh: no $TOOL: build it (cmake --build $BUILD_DIR --target probescope-xdp-bench)" >&2
	exit 1
}
command -v objdump >/dev/null || {
	echo "bench/xdp.sh: objdump is missing (binutils): run scripts/deps.sh" >&2
	exit 1
}
TMP=$(mktemp -d /tmp/probescope-bench-xdp.XXXXXX)
spin_pid=
cleanup() {
	[ -z "$spin_pid" ] || kill "$spin_pid" 2>/dev/null || true
	rm -rf "$TMP" "/sys/fs/bpf/probescope-bench-prim-$$"
}
trap cleanup EXIT

# Items 1 and 2: the tool writes the tables and their JSON.
"$TOOL" --rounds "${ROUNDS:-3}" --repeat "${XDP_REPEAT:-2000000}" --sources "${XDP_SOURCES:-1048576}" \
	--new-sources "${XDP_NEW_SOURCES:-20000}" --mix "${XDP_MIX:-100000}" \
	--json "$TMP/cost.json" --md "$TMP/cost.md" >/dev/null

# Program size per function: xlated slots from func_info, JITed instructions by objdump
# (Debian's bpftool is built without libbfd, so `bpftool prog dump jited` cannot disassemble).
mkdir "$TMP/jit"
"$TOOL" --jit-dump "$TMP/jit" >"$TMP/funcs.json"
for img in $(jq -r '.[].image' "$TMP/funcs.json"); do
	# --wide keeps each instruction on one line: address, bytes, mnemonic (three tab fields).
	objdump -D --wide -b binary -m i386:x86-64 "$img" |
		awk -F'\t' 'NF >= 3 && $1 ~ /^ *[0-9a-f]+:$/ { n++ } END { print n + 0 }' >"$img.insns"
done
funcs=$(jq -c '.[]' "$TMP/funcs.json" | while read -r f; do
	n=$(cat "$(jq -r '.image' <<<"$f").insns")
	jq -c --argjson n "$n" 'del(.image) + {jited_insns: $n}' <<<"$f"
done | jq -s '.')

# bpftool prog profile needs a bpftool built with BPF skeletons and hardware counters (a PMU);
# where either is missing it refuses, and the results say why.
profile_secs=${XDP_PROFILE_SECONDS:-3}
"$TOOL" --profile-spin $((profile_secs + 3)) >"$TMP/spin.out" 2>"$TMP/spin.err" &
spin_pid=$!
for _ in $(seq 50); do
	[ -s "$TMP/spin.out" ] && break
	sleep 0.1
done
prog_id=$(head -1 "$TMP/spin.out")
if [ -n "$prog_id" ] && bpftool -j prog profile id "$prog_id" duration "$profile_secs" cycles instructions \
	>"$TMP/profile.json" 2>"$TMP/profile.err" && jq -e 'has("error") | not' "$TMP/profile.json" >/dev/null 2>&1; then
	profile=$(jq -c '{available: true, metrics: .}' "$TMP/profile.json")
else
	# bpftool -j reports its refusal as {"error": ...} on stdout, with status 0.
	why=$( (jq -r '.error? // empty' "$TMP/profile.json" 2>/dev/null; cat "$TMP/profile.err") | tr '\n' ' ' | sed 's/ *$//')
	[ -e /sys/bus/event_source/devices/cpu ] ||
		why="$why; this machine exposes no hardware PMU (no /sys/bus/event_source/devices/cpu)"
	[ -n "$prog_id" ] || why="could not load the program to profile: $(cat "$TMP/spin.err")"
	profile=$(jq -cn --arg why "$why" '{available: false, error: $why}')
fi
kill "$spin_pid" 2>/dev/null || true
wait "$spin_pid" 2>/dev/null || true
spin_pid=

# What a probe path is made of (bench/primitives.bpf.c): each primitive alone, in a program of
# its own, against the floor on the same frame, best of ROUNDS, interleaved.
PRIM_PIN=/sys/fs/bpf/probescope-bench-prim-$$
mkdir -p "$PRIM_PIN"
bpftool prog loadall "$BUILD_DIR/bpfgen/bench_primitives.bpf.o" "$PRIM_PIN"
bpftool prog load "$BUILD_DIR/bpfgen/xdp_pass.bpf.o" "$PRIM_PIN/floor"
head -c 64 /dev/zero >"$TMP/frame" # the primitives never parse it
prim_run() {
	bpftool prog run pinned "$PRIM_PIN/$1" data_in "$TMP/frame" repeat "$2" |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'
}
prims='[]'
for p in lru_lookup lru_lookup_4_atomics lru_lookup_4_plain_adds coarse_clock percpu_4_adds lru_insert; do
	# An insert is a new source per run: fewer runs, so the map (1M entries) is not filled.
	n=${XDP_REPEAT:-2000000}
	[ "$p" = lru_insert ] && n=200000
	best_f=999999 best_p=999999
	for ((r = 0; r < ${ROUNDS:-3}; r++)); do
		f=$(prim_run floor "$n") && v=$(prim_run "$p" "$n")
		((f < best_f)) && best_f=$f
		((v < best_p)) && best_p=$v
	done
	prims=$(jq -c --arg p "$p" --argjson f "$best_f" --argjson v "$best_p" --argjson n "$n" \
		'. + [{primitive: $p, repeat: $n, floor_ns: $f, ns: $v, added_ns: ($v - $f)}]' <<<"$prims")
done
rm -rf "$PRIM_PIN"

jq --argjson funcs "$funcs" --argjson profile "$profile" --argjson prims "$prims" \
	'. + {primitives: $prims, program: {functions: $funcs,
	                xlated_insn_slots: ($funcs | map(.xlated_insn_slots) | add),
	                jited_insns: ($funcs | map(.jited_insns) | add),
	                jited_bytes: ($funcs | map(.jited_bytes) | add)},
	      profile: $profile}' "$TMP/cost.json" >"$OUT/xdp.json"

{
	cat "$TMP/cost.md"
	echo
	echo "### Program size (probescope_xdp and its global subprograms)"
	echo
	echo "Xlated: 8-byte instruction slots from the kernel's func_info; JITed: x86-64 instructions"
	echo "(objdump over each function's JITed image) and bytes."
	echo
	echo "| function | xlated slots | JITed insns | JITed bytes |"
	echo "|---|---|---|---|"
	jq -r '.program.functions[] | "| \(.name) | \(.xlated_insn_slots) | \(.jited_insns) | \(.jited_bytes) |"' "$OUT/xdp.json"
	jq -r '.program | "| **total** | \(.xlated_insn_slots) | \(.jited_insns) | \(.jited_bytes) |"' "$OUT/xdp.json"
	echo
	echo "### What a probe path is made of (bench/primitives.bpf.c)"
	echo
	echo "Each primitive alone in a program of its own, on the same 64-byte frame, best of the rounds,"
	echo "against the empty program. The source map has probescope's key (16 B) and value sizes."
	echo
	echo "| primitive | repeat | XDP_PASS ns | ns | added ns |"
	echo "|---|---|---|---|---|"
	jq -r '.primitives[] | "| \(.primitive) | \(.repeat) | \(.floor_ns) | \(.ns) | \(.added_ns) |"' "$OUT/xdp.json"
	echo
	echo "### bpftool prog profile (cycles, instructions) over a known-source SYN test_run loop"
	echo
	jq -r 'if .profile.available then
	         (.profile.metrics | tostring)
	       else "Not available here: `bpftool prog profile` failed (\(.profile.error))." end' "$OUT/xdp.json"
	echo
} >"$OUT/xdp.md"
