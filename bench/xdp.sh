#!/usr/bin/env bash
# Suite part "xdp" (issue 6 items 1 and 2): XDP cost per packet and a cache-cold mix against an
# empty XDP_PASS program, plus the program's size (xlated and JITed), bpftool prog profile, and a
# perf cpu-clock profile per symbol and per JITed instruction.
# Usage: bench/xdp.sh BUILD_DIR BENCH_OUT   (as root; writes BENCH_OUT/xdp.md and xdp.json)
# Knobs: ROUNDS (3), XDP_REPEAT (2000000), XDP_SOURCES (1048576), XDP_NEW_SOURCES (20000),
# XDP_MIX (100000), XDP_PROFILE_SECONDS (3), XDP_PERF_FREQ (20000; capped at perf_event_max_sample_rate),
# PRIM_ROUNDS (10: rounds of each primitive).
set -euo pipefail
[ $# -eq 2 ] || {
	echo "usage: bench/xdp.sh BUILD_DIR BENCH_OUT" >&2
	exit 2
}
BUILD_DIR=$1 OUT=$2
TOOL=$BUILD_DIR/bench/probescope-xdp-bench
. "$(dirname "$0")/../scripts/lab.sh"
require_built bench/xdp.sh "$TOOL"
require_cmds bench/xdp.sh objdump jq bpftool
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
# The loop outlives both profilers (bpftool, then perf); it is killed when they are done.
"$TOOL" --profile-spin $((2 * profile_secs + 5)) >"$TMP/spin.out" 2>"$TMP/spin.err" &
spin_pid=$!
wait_for "$TMP/spin.out" 15 . >/dev/null 2>&1 || true # no id: the profile says why below
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

# perf over the same loop. With no PMU, perf still samples the software clock (cpu-clock, a timer
# interrupt), and it names the JITed functions bpf_prog_<tag>_<name> from the program's ksymbols
# (the program is loaded before perf starts, so perf reads them at start). Each sample is counted
# by `perf script` (ip, symbol+offset, with its call chain): per symbol, and per offset inside the
# hottest BPF function, matched to the instructions objdump finds in that function's JITed image
# (the --jit-dump above: the same object loaded the same way, so the same layout; the offsets
# landing on instruction starts is the check). Each test_run call also installs the program in
# the XDP dispatcher and removes it (text poking, IPIs) outside the timed loop: samples whose chain
# has no bpf_test_run are counted apart, and the rest share the known-source SYN figure (fill
# empty) above: ns per packet = samples / loop samples x that figure.
perf_profile() {
	local freq max data=$TMP/perf.data sym name img annot kcore=
	command -v perf >/dev/null || {
		echo "perf is not installed (Debian package linux-perf)"
		return 1
	}
	if [ -z "$prog_id" ] || ! kill -0 "$spin_pid" 2>/dev/null; then
		echo "the known-source SYN loop is not running: $(tr '\n' ' ' <"$TMP/spin.err")"
		return 1
	fi
	freq=${XDP_PERF_FREQ:-20000}
	max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo "$freq")
	((freq <= max)) || freq=$max
	# A large ring (-m) so that perf, sharing 2 CPUs with the loop, drops few samples.
	perf record -N -q -m 2048 -g -e cpu-clock -F "$freq" -p "$spin_pid" -o "$data" -- sleep "$profile_secs" \
		>"$TMP/perf-record.log" 2>&1 || {
		echo "perf record -e cpu-clock failed: $(tail -3 "$TMP/perf-record.log" | tr '\n' ' ')"
		return 1
	}
	# A sample is a paragraph of frames "ip symbol+0xoffset", the sampled one first (user-space
	# symbols may hold spaces). Out: symbol, offset, 1 if bpf_test_run is on the chain.
	perf script -i "$data" -F ip,sym,symoff 2>"$TMP/perf-script.err" |
		awk 'BEGIN { RS = "" }
		     { n = split($0, f, "\n"); leaf = ""; loop = 0
		       for (i = 1; i <= n; i++) {
		           if (f[i] ~ /^[ \t]*$/) continue
		           if (leaf == "") leaf = f[i]
		           if (f[i] ~ /[ \t]bpf_test_run\+0x/) loop = 1
		       }
		       sub(/^[ \t]*[^ \t]+[ \t]*/, "", leaf); off = ""
		       if (match(leaf, /\+0x[0-9a-f]+$/)) { off = substr(leaf, RSTART + 3); leaf = substr(leaf, 1, RSTART - 1) }
		       if (leaf == "") leaf = "[unknown]"
		       print leaf "\t" off "\t" loop }' >"$TMP/perf.samples" || true
	[ -s "$TMP/perf.samples" ] || {
		echo "perf recorded no samples: $(tr '\n' ' ' <"$TMP/perf-record.log") $(head -3 "$TMP/perf-script.err" | tr '\n' ' ')"
		return 1
	}
	# symbol, samples, samples with bpf_test_run on the chain
	awk -F'\t' '{ n[$1]++; l[$1] += $3 } END { for (s in n) print s "\t" n[s] "\t" l[s] }' "$TMP/perf.samples" |
		sort -t$'\t' -k2,2nr >"$TMP/perf.symbols"
	# The hottest JITed function, and the sample offsets inside it.
	sym=$(awk -F'\t' '$1 ~ /^bpf_prog_[0-9a-f]+_/ { print $1; exit }' "$TMP/perf.symbols")
	name=${sym#bpf_prog_*_}
	img=
	[ -z "$sym" ] || img=$(jq -r --arg n "$name" '.[] | select(.name == $n) | .image' "$TMP/funcs.json" | head -1)
	: >"$TMP/perf.insns"
	if [ -n "$img" ] && [ -e "$img" ]; then
		# offset (hex, as perf prints it), samples, instruction there, the instruction before it.
		objdump -D --wide -b binary -m i386:x86-64 "$img" |
			awk -F'\t' 'NF >= 3 && $1 ~ /^ *[0-9a-f]+:$/ { o = $1; gsub(/[ :]/, "", o); t = $3
			                                                for (i = 4; i <= NF; i++) t = t " " $i
			                                                gsub(/  +/, " ", t); print o "\t" t }' >"$TMP/perf.disasm"
		awk -F'\t' -v sym="$sym" '
			FNR == NR { txt[$1] = $2; prev[$1] = p; p = $2; next }
			$1 == sym { n[$2]++ }
			END { for (o in n) print o "\t" n[o] "\t" (o in txt ? txt[o] : "") "\t" (o in txt ? prev[o] : "") }' \
			"$TMP/perf.disasm" "$TMP/perf.samples" | sort -t$'\t' -k2,2nr >"$TMP/perf.insns"
	fi
	# perf's own per-instruction view of a JITed function needs a perf linked with libopcodes.
	annot=$(jq -cn '{available: false}')
	if [ -n "$sym" ]; then
		perf annotate -i "$data" --stdio -s "$sym" >"$TMP/perf-annotate.out" 2>"$TMP/perf-annotate.err" || true
		if grep -qE '^ *[0-9]+\.[0-9]+ +:' "$TMP/perf-annotate.out"; then
			annot=$(grep -E '^ *[0-9]+\.[0-9]+ +:' "$TMP/perf-annotate.out" | sort -rn | head -10 |
				jq -Rsc '{available: true, top_lines: (split("\n") | map(select(length > 0)))}')
		else
			[ -e /proc/kcore ] || kcore="; perf record --kcore cannot help either: this kernel has no /proc/kcore"
			annot=$(jq -cn --arg e "$( (cat "$TMP/perf-annotate.err" "$TMP/perf-annotate.out") | tr '\n' ' ' |
				sed 's/  */ /g; s/ *$//')$kcore" '{available: false, error: $e}')
		fi
	fi
	jq -n --rawfile syms "$TMP/perf.symbols" --rawfile insns "$TMP/perf.insns" --argjson annotate "$annot" \
		--arg sym "$sym" --arg name "$name" --argjson freq "$freq" --argjson secs "$profile_secs" \
		--arg warn "$(grep -ih 'warning' "$TMP/perf-record.log" "$TMP/perf-script.err" | tr '\n' ' ' | sed 's/ *$//')" \
		--slurpfile cost "$TMP/cost.json" '
		def rows($t): $t | split("\n") | map(select(length > 0) | split("\t"));
		def group:
			if test("^bpf_prog_[0-9a-f]+_") then "probescope BPF code"
			elif test("^(__)?htab_|^lookup_(nulls_)?elem_raw$|^memcmp$|^(__)?bpf_map_|^array_map_|^percpu_array_|^(__)?bpf_lru_|^(__)?pcpu_freelist_|^prealloc_lru_|^jhash|^alloc_htab_elem$|^free_htab_elem$")
			then "map helpers"
			elif test("^bpf_ktime_|^ktime_get|^set_normalized_timespec|^read_tsc$|^kvm_clock_|^pvclock_|^native_sched_clock$")
			then "clock helpers"
			elif test("^bpf_") and (test("^bpf_(test_|prog_test_|dispatcher_|trampoline_)") | not)
			then "other BPF helpers"
			else "test_run harness and other" end;
		def r3: . * 1000 | round / 1000;
		($cost[0].packets | map(select(.id == "tcp_syn_known" and .fill == "empty"))[0]) as $syn
		# The program and its helpers run only inside the loop (a sample at a function entry may
		# miss its caller on the chain); the rest needs bpf_test_run on the chain.
		| (rows($syms) | map({symbol: .[0], name: (.[0] | sub("^bpf_prog_[0-9a-f]+_"; "")), group: (.[0] | group),
		                       all: (.[1] | tonumber), chain: (.[2] | tonumber)})
		   | map(. + {samples: (if .group == "test_run harness and other" then .chain else .all end)}
		         | . + {outside: (.all - .samples)})) as $s
		| ($s | map(.all) | add) as $total
		| ($s | map(.samples) | add) as $loop
		| ($s | map(. + {share: (.samples / $loop | r3), ns_per_packet: (.samples / $loop * $syn.probescope_ns | r3)})
		   | sort_by(-.samples)) as $s
		| (rows($insns) | map({offset: ("0x" + .[0]), samples: (.[1] | tonumber), instruction: .[2],
		                       preceding_instruction: .[3]})) as $i
		| ($i | map(.samples) | add // 0) as $fn
		| {available: true,
		   method: "perf record -g -e cpu-clock -F \($freq) -p <loop> for \($secs) s over probescope-xdp-bench --profile-spin (BPF_PROG_TEST_RUN repeat 100000 of the known-source nmap SYN, fill empty); samples counted with perf script -F ip,sym,symoff; shares are of the samples inside bpf_test_run",
		   sample_frequency_hz: $freq, seconds: $secs, samples: $total, loop_samples: $loop,
		   perf_warnings: $warn,
		   ns_per_packet: $syn.probescope_ns,
		   ns_per_packet_source: "known-source TCP SYN, fill empty: the kernel-measured test_run duration per run (packets[] in this file), which covers the bpf_test_run loop",
		   xdp_pass_floor_ns: $syn.pass_ns,
		   groups: ($s | map(select(.samples > 0)) | group_by(.group)
		            | map({group: .[0].group, samples: (map(.samples) | add)})
		            | map(. + {share: (.samples / $loop | r3), ns_per_packet: (.samples / $loop * $syn.probescope_ns | r3)})
		            | sort_by(-.samples)),
		   symbols: ($s | map(select(.samples > 0) | {symbol, name, group, samples, share, ns_per_packet}) | .[:30]),
		   outside_loop: {samples: ($total - $loop), share_of_all_samples: (($total - $loop) / $total | r3),
		                  symbols: ($s | map(select(.outside > 0) | {name, samples: .outside}) | sort_by(-.samples) | .[:8])},
		   hottest_bpf_function: (if $sym == "" then null else
		     {name: $name, symbol: $sym, samples: $fn,
		      share_on_instruction_starts: (if $fn > 0 then (($i | map(select(.instruction != "") | .samples) | add // 0) / $fn | r3) else null end),
		      instructions: ($i | .[:20] | map(. + {share_of_function: (.samples / $fn | r3), share: (.samples / $loop | r3),
		                                       ns_per_packet: (.samples / $loop * $syn.probescope_ns | r3)}))} end),
		   perf_annotate: $annotate}'
}
if perf_json=$(perf_profile 2>"$TMP/perf-profile.err") && jq -e . >/dev/null 2>&1 <<<"$perf_json"; then
	perf_prof=$(jq -c . <<<"$perf_json")
else
	perf_prof=$(jq -cn --arg why "$perf_json $(cat "$TMP/perf-profile.err")" '{available: false, error: ($why | sub(" +$"; ""))}')
fi

kill "$spin_pid" 2>/dev/null || true
wait "$spin_pid" 2>/dev/null || true
spin_pid=

# What a probe path is made of (bench/primitives.bpf.c): each primitive alone, in a program of
# its own, against the floor on the same frame, best of PRIM_ROUNDS, interleaved.
PRIM_PIN=/sys/fs/bpf/probescope-bench-prim-$$
mkdir -p "$PRIM_PIN"
bpftool prog loadall "$BUILD_DIR/bpfgen/bench_primitives.bpf.o" "$PRIM_PIN"
bpftool prog load "$BUILD_DIR/bpfgen/xdp_pass.bpf.o" "$PRIM_PIN/floor"
# An established ACK, 64 bytes: Ethernet, IPv4 (IHL 5, DF), TCP (ACK), padding. Only
# parse_and_count reads it; the rest never parse their frame.
printf '\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00\x45\0\0\x28\0\x01\x40\0\x40\x06\0\0\xc0\x00\x02\x0a\xc6\x33\x64\x07\x9c\x40\x00\x16\0\0\0\x01\0\0\0\x01\x50\x10\x02\0\0\0\0\0' >"$TMP/frame"
head -c 10 /dev/zero >>"$TMP/frame"
prim_run() {
	bpftool prog run pinned "$PRIM_PIN/$1" data_in "$TMP/frame" repeat "$2" |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'
}
prims='[]'
prim_rounds=${PRIM_ROUNDS:-10}
for p in parse_and_count lru_lookup lru_lookup_1_atomic table_lookup_1_atomic lru_lookup_4_atomics lru_lookup_4_plain_adds coarse_clock jiffies_clock precise_clock percpu_4_adds lru_insert table_claim; do
	# An insert is a new source per run: fewer runs, 500,000 over all the rounds, so the map
	# (1M entries; an LRU evicts before it is full) stays under half full and no insert evicts;
	# 250,000 claims in the table's 2^19 slots, for the same reason.
	n=${XDP_REPEAT:-2000000}
	[ "$p" = lru_insert ] && n=$((500000 / prim_rounds))
	[ "$p" = table_claim ] && n=$((250000 / prim_rounds))
	# The round with the median ratio of program to floor, both from that round: each round is
	# tens of ms, and one primitive is a few ns on a floor that jumps by as much between rounds
	# (a minimum of either, or of the ratio, picks a lucky round).
	rounds=()
	for ((r = 0; r < prim_rounds; r++)); do
		f=$(prim_run floor "$n") && v=$(prim_run "$p" "$n")
		rounds+=("$((v * 1000000 / f)) $f $v")
	done
	read -r _ best_f best_p < <(printf '%s\n' "${rounds[@]}" | sort -n | sed -n "$((prim_rounds / 2 + 1))p")
	prims=$(jq -c --arg p "$p" --argjson f "$best_f" --argjson v "$best_p" --argjson n "$n" \
		'. + [{primitive: $p, repeat: $n, floor_ns: $f, ns: $v, added_ns: ($v - $f)}]' <<<"$prims")
done
rm -rf "$PRIM_PIN"

jq --argjson funcs "$funcs" --argjson profile "$profile" --argjson prims "$prims" --argjson perf "$perf_prof" \
	--argjson verified "$(cat "$TMP/jit/verified_insns")" \
	'. + {primitives: $prims, program: {functions: $funcs, verified_insns: $verified,
	                xlated_insn_slots: ($funcs | map(.xlated_insn_slots) | add),
	                jited_insns: ($funcs | map(.jited_insns) | add),
	                jited_bytes: ($funcs | map(.jited_bytes) | add)},
	      profile: $profile, perf_profile: $perf}' "$TMP/cost.json" >"$OUT/xdp.json"

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
	jq -r '.program | "The verifier walked \(.verified_insns) instructions to accept it (the agent'"'"'s load, src_pending on; its limit is 1,000,000)."' "$OUT/xdp.json"
	echo
	echo "### What the fast path and a probe path are made of (bench/primitives.bpf.c)"
	echo
	echo "Each primitive alone in a program of its own, on the same 64-byte frame (an established ACK): of ${PRIM_ROUNDS:-10} rounds, the one with the median ratio (program and floor from the same round),"
	echo "against the empty program. The source map has probescope's key (16 B) and value sizes."
	echo
	echo "| primitive | repeat | XDP_PASS ns | ns | added ns |"
	echo "|---|---|---|---|---|"
	jq -r '.primitives[] | "| \(.primitive) | \(.repeat) | \(.floor_ns) | \(.ns) | \(.added_ns) |"' "$OUT/xdp.json"
	echo
	echo "### The targets against their primitives (same run)"
	echo
	# What the least program doing a path's job costs against that path's target: where even
	# it misses, no program doing the job meets the target on this machine.
	jq -r 'def r2: . * 100 | round / 100;
	  (.primitives | map({key: .primitive, value: .}) | from_entries) as $p
	  | def ratio($n): ($p[$n].ns / $p[$n].floor_ns);
	  "| target | the least program doing the job | its ratio (median round) | within the target? |",
	  "|---|---|---|---|",
	  "| fast path <= 1.15x | parse_and_count: reach the TCP flags, count in per-CPU slots | \(ratio("parse_and_count") | r2) | \(if ratio("parse_and_count") > 1.15 then "no" else "yes" end) |",
	  "| probe path <= 2.0x | lru_lookup_1_atomic: find the source (one hash lookup), count the probe in its shared entry | \(ratio("lru_lookup_1_atomic") | r2) | \(if ratio("lru_lookup_1_atomic") > 2.0 then "no" else "yes" end) |",
	  "| new source <= 2.0x, inserting | lru_insert: one map insert | \(ratio("lru_insert") | r2) | \(if ratio("lru_insert") > 2.0 then "no" else "yes" end) |",
	  "| probe path <= 2.0x, another design | table_lookup_1_atomic: the same job on an mmapped array table (own hash, key compared in place; not built) | \(ratio("table_lookup_1_atomic") | r2) | \(if ratio("table_lookup_1_atomic") > 2.0 then "no" else "yes" end) |",
	  "| new source <= 2.0x, another design | table_claim: a new source claims an empty entry of that table by compare-and-swap | \(ratio("table_claim") | r2) | \(if ratio("table_claim") > 2.0 then "no" else "yes" end) |",
	  "",
	  "probescope does more than these on each path (VLAN tags, IPv6, the ACK-probe shape check and two counters on the fast path (bytes and the flags slot; packets and class tcp_other are derived at the drain); fingerprints, slot sets, the clock, two atomics and a per-CPU port counter on a probe path); a new source that does not insert (its first probe waits in src_pending) still pays the failed lookup first.",
	  "",
	  "The table rows measure a design src_stats could move to (bench/primitives.bpf.c): per-source entries in an mmapped ARRAY of 2^19 slots, picked by the program'"'"'s own hash of the address, claimed by compare-and-swap, found by comparing the 16-byte key in place, no hash-map helper. Finding a known source and counting its probe there costs \($p["table_lookup_1_atomic"].added_ns) ns over the floor against \($p["lru_lookup_1_atomic"].added_ns) for the LRU hash lookup. A new source costs \($p["table_claim"].added_ns) ns against lru_insert'"'"'s \($p["lru_insert"].added_ns): an entry at a random place in a table of hundreds of MB is a TLB and cache miss on this VM whatever claims it, so no design that keeps per-source state in such a table meets 2.0x for a new source here."' "$OUT/xdp.json"
	echo
	echo "### bpftool prog profile (cycles, instructions) over a known-source SYN test_run loop"
	echo
	jq -r 'if .profile.available then
	         (.profile.metrics | tostring)
	       else "Not available here: `bpftool prog profile` failed (\(.profile.error))." end' "$OUT/xdp.json"
	echo
	echo "### perf profile (cpu-clock) over a known-source SYN loop"
	echo
	jq -r '.perf_profile | def pct: . * 1000 | round / 10 | tostring + "%"; def ns: . * 10 | round / 10;
	  if .available | not then "Not available here: \(.error)." else
	  "Method: `perf record -g -e cpu-clock -F \(.sample_frequency_hz)` (software clock sampling: no PMU needed) on the spinning BPF_PROG_TEST_RUN loop of the known-source SYN for \(.seconds) s, each sample counted by its symbol (`perf script -F ip,sym,symoff`). Shares are of the \(.loop_samples) samples inside the timed loop (bpf_test_run on the call chain); ns per packet = share x \(.ns_per_packet) ns, the kernel-measured known-source SYN (fill empty) above, which covers that loop (the empty XDP_PASS program costs \(.xdp_pass_floor_ns) ns on it). The other \(.outside_loop.samples) samples (\(.outside_loop.share_of_all_samples | pct) of \(.samples)) fall outside the timed loop, mostly in each test_run call putting the program into the XDP dispatcher and out again (text poking, IPIs), the rest in the syscall and the user-space loop: \(.outside_loop.symbols | map("\(.name) \(.samples)") | join(", ")).\(if .perf_warnings != "" then " perf warned: \(.perf_warnings)" else "" end)",
	  "",
	  "| group | samples | share | ns per packet |",
	  "|---|---|---|---|",
	  (.groups[] | "| \(.group) | \(.samples) | \(.share | pct) | \(.ns_per_packet | ns) |"),
	  "",
	  "| symbol | group | samples | share | ns per packet |",
	  "|---|---|---|---|---|",
	  (.symbols[:15][] | "| \(.name) | \(.group) | \(.samples) | \(.share | pct) | \(.ns_per_packet | ns) |"),
	  "",
	  (.hottest_bpf_function as $h | if $h == null then "No sample fell in the JITed program." else
	   "Per instruction, in the hottest JITed function (\($h.name), \($h.samples) samples): the samples at each offset of its x86-64 image, with the instruction objdump finds there in the --jit-dump image (\(($h.share_on_instruction_starts // 0) | pct) of the samples land on an instruction start of it). A timer interrupt is taken between instructions, so a sample names the instruction about to run: the time is mostly that of the one before it, which stalled (a `lock`-prefixed atomic, a load that missed).",
	   "",
	   "| offset | sampled instruction | preceding instruction | share of \($h.name) | share of loop | ns per packet |",
	   "|---|---|---|---|---|---|",
	   ($h.instructions[:10][] | "| \(.offset) | `\(if .instruction == "" then "(not an instruction start)" else .instruction end)` | \(if .preceding_instruction == "" then "(function entry)" else "`\(.preceding_instruction)`" end) | \(.share_of_function | pct) | \(.share | pct) | \(.ns_per_packet | ns) |") end),
	  "",
	  (if .perf_annotate.available then
	     "`perf annotate --stdio` of the same function, hottest lines:", "", "```", .perf_annotate.top_lines[], "```"
	   else "`perf annotate` cannot do it here: \(.perf_annotate.error // "no JITed function sampled")." end)
	end' "$OUT/xdp.json"
	echo
} >"$OUT/xdp.md"
