#!/usr/bin/env bash
# The benchmark suite (scripts/bench.sh, every part) run small, so that CI notices when a part
# breaks. Nothing here is timed: it checks what the suite's results must say whatever the
# machine's speed. Every part ran and wrote its fragment; the XDP part measured every packet type
# at both table fills and classed every frame of its cache-cold mix; live, probescope counted
# every SYN offered and named the 30 scanners, delivered, as a monitor port and in the control;
# the agent drained every source of every interval, wrote one `scanner` record per source whose
# verdict changed and none for verdicts that held, and its floors read every source; replay read
# the whole capture. The committed bench/results.* are left alone (BENCH_RESULTS_DIR).
. "$(dirname "$0")/common.sh"
BUILD_DIR=${4:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN BUILD_DIR}
ROOT=$(cd "$E2E_DIR/../.." && pwd)
OUT=$WORK/results
committed=$(cat "$ROOT/bench/results.md" "$ROOT/bench/results.json" 2>/dev/null | sha256sum)

LIVE_FRAMES=40000 SPLIT=10000 MIX=5000 REPLAY=20000
if ! env BUILD_DIR="$BUILD_DIR" BENCH_RESULTS_DIR="$OUT" ROUNDS=1 \
	XDP_REPEAT=20000 XDP_SOURCES=20000 XDP_NEW_SOURCES=2000 XDP_MIX=$MIX XDP_PROFILE_SECONDS=1 \
	PRIM_ROUNDS=1 LIVE_FRAMES=$LIVE_FRAMES LIVE_SPLIT_FRAMES=$SPLIT LIVE_MAX_SOURCES=65536 \
	AGENT_SOURCES=2000,20000 AGENT_BARE_SOURCES=20000 AGENT_SINGLE_SOURCES=20000 \
	AGENT_NOTHP_SOURCES=20000 AGENT_THIRD_MAX=20000 REPLAY_FRAMES=$REPLAY REPLAY_ROUNDS=1 \
	"$ROOT/scripts/bench.sh" >"$WORK/bench.log" 2>&1; then
	echo "FAIL scripts/bench.sh exit status"
	tail -40 "$WORK/bench.log"
	FAILED=1
fi
R=$OUT/results.json
q() { jq -r "$1" "$R" 2>/dev/null; }
expect_eq "results.md written" "$([ -s "$OUT/results.md" ] && echo yes)" yes
expect_eq "parts run" "$(q '.meta.parts | join(" ")')" "xdp live agent replay"
expect_eq "parts failed" "$(q '.meta.failed | length')" 0
expect_eq "the committed results left alone" \
	"$(cat "$ROOT/bench/results.md" "$ROOT/bench/results.json" 2>/dev/null | sha256sum)" "$committed"

# XDP: 11 packet types at each fill, each measured against the empty program.
expect_eq "xdp: packet types at the empty fill" "$(q '[.xdp.packets[] | select(.fill == "empty")] | length')" 11
expect_eq "xdp: packet types at the other fill" "$(q '[.xdp.packets[] | select(.fill != "empty")] | length')" 11
expect_eq "xdp: rows without both figures" \
	"$(q '[.xdp.packets[] | select((.pass_ns > 0 and .probescope_ns > 0 and .ratio > 0) | not)] | length')" 0
expect_eq "xdp: the cold mix's frames" "$(q '.xdp.cold_mix.frames')" $MIX
expect_eq "xdp: every mix frame in a kind" "$(q '[.xdp.cold_mix.by_kind[].frames] | add')" $MIX
expect_eq "xdp: primitives measured" "$(q '[.xdp.primitives[] | select(.ns > 0)] | length')" 12

# Live: every SYN offered counted, the 30 scanners named, in all three runs.
for run in delivered monitor control; do
	want=$LIVE_FRAMES
	[ $run = control ] && want=$(q ".live.control.offered_mix.scan_v4")
	expect_eq "live $run: offered" "$(q ".live.$run.offered")" "$want"
	expect_eq "live $run: offered mix adds up" "$(q ".live.$run.offered_mix | add")" "$want"
	expect_eq "live $run: counted by probescope (tcp_syn)" "$(q ".live.$run.probescope.tcp_syn")" "$want"
	expect_eq "live $run: missed" "$(q ".live.$run.probescope.missed")" 0
	expect_eq "live $run: scanners named" "$(q ".live.$run.probescope.scanners_named")" 30
	expect_eq "live $run: target met" "$(q ".live.$run.target_met")" true
done
expect_eq "live: the control is the mix's scan" "$(q '.live.control.offered')" \
	"$(q '.live.delivered.offered_mix.scan_v4')"
expect_eq "live: the rate split's four runs offered" \
	"$(q '[.live.offer_split[][] | select(.offered == '$SPLIT' and .offered_pps > 0)] | length')" 4

# Agent: every source drained in every interval; a verdict that changes is one scanner record,
# one that holds is none.
expect_eq "agent: runs (2k, 20k, 20k without records, 20k one probe)" "$(q '.agent.runs | length')" 4
expect_eq "agent: runs without THP" "$(q '.agent.no_thp_runs | length')" 1
expect_eq "agent: intervals that did not drain every source" \
	"$(q '[(.agent.runs + .agent.no_thp_runs)[] | .sources as $n |
		(.first_interval, .steady_interval) | select(.drained != $n)] | length')" 0
expect_eq "agent: records of the first and steady intervals differ" \
	"$(q '[.agent.runs[] | select(.first_interval.records != .steady_interval.records)] | length')" 0
# Beside the source records (at most --source-records): 50 port records (the default top_ports)
# and one stats record, in every run.
expect_eq "agent: records beside the source records, per run" \
	"$(q '[.agent.runs[] | .steady_interval.records - ([.sources, .source_records] | min)] | join(" ")')" "51 51 51 51"
expect_eq "agent: third intervals timed" "$(q '[.agent.runs[] | select(.third_interval)] | length')" 2
expect_eq "agent: third interval, one scanner record per source" \
	"$(q '[.agent.runs[] | select(.third_interval) |
		select(.third_interval.records - .steady_interval.records != .sources)] | length')" 0
expect_eq "agent: fourth interval, no scanner record" \
	"$(q '[.agent.runs[] | select(.fourth_interval) |
		select(.fourth_interval.records != .steady_interval.records)] | length')" 0
# The floors under any drain read every source of the table: in place, with a 64-byte history,
# and folded into a record of the entry's shape, hashed and aligned.
expect_eq "agent: floors that did not read every source" \
	"$(q '[(.agent.runs + .agent.no_thp_runs)[] | .sources as $n |
		(.read_floor, .history_floor, .fold_floor, .aligned_fold_floor) | select(.read != $n)] | length')" 0
expect_eq "agent: fold record size" "$(q '[.agent.runs[].fold_record_bytes] | unique | join(" ")')" 704
expect_eq "agent: one probe per source, some first probes from src_pending" \
	"$(q '[.agent.runs[] | select(.probes_per_source == 1 and .first_interval.drained_from_src_pending > 0)] | length')" 1

# Replay: the whole capture, against tcpdump's read of it.
expect_eq "replay: capture records" "$(q '.replay.records')" $REPLAY
expect_eq "replay: both rates measured" \
	"$(q '[.replay.probescope.pps, .replay.tcpdump.pps, .replay.probescope_jobs1.pps] | map(select(. > 0)) | length')" 3
[ $FAILED -eq 0 ] || { echo "--- bench log (tail)"; tail -30 "$WORK/bench.log"; }
exit $FAILED
