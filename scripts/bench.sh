#!/usr/bin/env bash
# Benchmark suite (issue 6): runs bench/<part>.sh for each part, then writes bench/results.md and
# bench/results.json from the parts' fragments. Every ratio is taken in one run (floor included).
# Usage: scripts/bench.sh [PART...]   (as root, after scripts/build.sh; BUILD_DIR, default build)
# Parts, in report order: xdp (XDP cost, cache-cold mix), live (end to end against peers),
# agent (drain and classify cost), replay (capture throughput). No PART: all of them.
# Knobs: ROUNDS (best of, default 3), BENCH_RESULTS_DIR (where results.md and results.json go,
# default bench/: the committed results; the CI smoke run, tests/e2e/bench_smoke.sh, writes
# elsewhere) and each part's own (see the top of bench/<part>.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=$(realpath -m "${BUILD_DIR:-build}")
RESULTS_DIR=$(realpath -m "${BENCH_RESULTS_DIR:-bench}")
export ROUNDS=${ROUNDS:-3}
ALL_PARTS=(xdp live agent replay)

die() {
	echo "bench: $*" >&2
	exit 1
}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=("${ALL_PARTS[@]}")
for p in "${parts[@]}"; do
	[[ " ${ALL_PARTS[*]} " == *" $p "* ]] || die "unknown part '$p' (parts: ${ALL_PARTS[*]})"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$ROUNDS'"
[ "$(id -u)" -eq 0 ] || die "run as root: the parts load XDP programs and create namespaces"
. scripts/lab.sh
require_built bench "$BUILD_DIR/bpfgen/probescope.bpf.o"
require_cmds bench jq
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

BENCH_OUT=$(mktemp -d /tmp/probescope-bench.XXXXXX)
trap 'rm -rf "$BENCH_OUT"' EXIT

# Each part runs on its own; a failing part is reported and does not stop the others.
failed=()
for p in "${ALL_PARTS[@]}"; do
	[[ " ${parts[*]} " == *" $p "* ]] || continue
	echo "bench: part $p" >&2
	if [ ! -x "bench/$p.sh" ]; then
		echo "bench: bench/$p.sh does not exist yet" >&2
		failed+=("$p")
	elif ! "bench/$p.sh" "$BUILD_DIR" "$BENCH_OUT"; then
		echo "bench: part $p failed" >&2
		failed+=("$p")
	elif ! jq -e 'type == "object"' "$BENCH_OUT/$p.json" >/dev/null 2>&1 || [ ! -s "$BENCH_OUT/$p.md" ]; then
		echo "bench: part $p wrote no valid $p.json / $p.md" >&2
		failed+=("$p")
	fi
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit (with uncommitted changes)"
meta=$(jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
	--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	--argjson nproc "$(nproc)" --arg commit "$commit" --arg build "$BUILD_DIR" --argjson rounds "$ROUNDS" \
	--arg parts "${parts[*]}" --arg failed "${failed[*]}" \
	'{date: $date, kernel: $kernel, cpu: $cpu, nproc: $nproc, commit: $commit, build_dir: $build, rounds: $rounds,
	  parts: ($parts | split(" ")), failed: ($failed | split(" ") | map(select(. != "")))}')

mkdir -p "$RESULTS_DIR"
{
	echo "# probescope benchmark results"
	echo
	jq -r '"- date: \(.date)\n- kernel: \(.kernel)\n- CPU: \(.cpu), nproc \(.nproc)\n- commit: \(.commit)\n- rounds (best of): \(.rounds)\n- parts: \(.parts | join(", "))" +
		(if (.failed | length) > 0 then "\n- **failed parts: \(.failed | join(", "))** (see the run log)" else "" end)' <<<"$meta"
	for p in "${ALL_PARTS[@]}"; do
		if [ -s "$BENCH_OUT/$p.md" ]; then
			echo
			cat "$BENCH_OUT/$p.md"
		fi
	done
} >"$RESULTS_DIR/results.md"

json=$(jq -n --argjson meta "$meta" '{meta: $meta}')
for p in "${ALL_PARTS[@]}"; do
	if jq -e 'type == "object"' "$BENCH_OUT/$p.json" >/dev/null 2>&1; then
		json=$(jq --arg p "$p" --slurpfile frag "$BENCH_OUT/$p.json" '.[$p] = $frag[0]' <<<"$json")
	fi
done
echo "$json" >"$RESULTS_DIR/results.json"
echo "bench: wrote $RESULTS_DIR/results.md and results.json" >&2
[ ${#failed[@]} -eq 0 ] || die "failed parts: ${failed[*]}"
