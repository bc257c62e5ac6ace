#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test through ctest (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/test.sh: run as root (the BPF and namespace tests load programs and make netns)" >&2
	exit 1
fi
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure "$@"

# Bounded fuzzing: every libFuzzer target (tests/fuzz) for FUZZ_SECONDS on a copy of its seed
# corpus, in a clang build of its own. A crash, a sanitizer report (UBSan too: halt_on_error) or
# a broken harness invariant fails the run. FUZZ_SECONDS=0 skips this step.
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_TARGETS=(research_lists capture_reader cli config)  # fuzz_<name>, seeds in tests/fuzz/corpus/<name>/
if [ "$FUZZ_SECONDS" -gt 0 ]; then
	CC=clang CXX=clang++ cmake -S . -B "$FUZZ_BUILD_DIR" -DPROBESCOPE_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$FUZZ_BUILD_DIR" -j"$(nproc)" --target "${FUZZ_TARGETS[@]/#/fuzz_}" >/dev/null
	fuzz_failed=0
	for t in "${FUZZ_TARGETS[@]}"; do
		corpus=$(mktemp -d "/tmp/probescope-fuzz-$t.XXXXXX")
		cp tests/fuzz/corpus/"$t"/* "$corpus"/
		log=$FUZZ_BUILD_DIR/fuzz_$t.log
		if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$t" \
			-max_total_time="$FUZZ_SECONDS" -artifact_prefix="$FUZZ_BUILD_DIR/fuzz_$t-" "$corpus" >"$log" 2>&1; then
			echo "fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log"), no crash"
		else
			echo "fuzz_$t: FAILED (log: $log; the input is the crash-/leak-/timeout- file it names):" >&2
			grep -v '^#\|^INFO:\|NEW_FUNC' "$log" | tail -40 >&2
			fuzz_failed=1
		fi
		rm -rf "$corpus"
	done
	[ "$fuzz_failed" -eq 0 ] || exit 1
fi

# ---- vmtest (issue 7): the program on Debian's 6.1 and 6.12 LTS kernels under qemu ----------
# VMTEST=full (default): in each guest (and on the host) the verifier load check, the 351
# BPF_PROG_TEST_RUN cases and the veth attach-and-count test: about 1 min per kernel under TCG
# here (the test binary loads the program once). Then the unsafe self-check: every verifier must
# refuse a read past the packet end. VMTEST=quick skips the test_run cases; VMTEST=0 skips all.
VMTEST=${VMTEST:-full}
vmtest_failed=0
case $VMTEST in
0) ;;
quick | full)
	mode=(--quick)
	[ "$VMTEST" = full ] && mode=(--timeout 600)
	vmtest/run.sh "${mode[@]}" --build-dir "${BUILD_DIR:-build}" 6.1 6.12 host || vmtest_failed=1
	vmtest/run.sh --unsafe-check 6.1 6.12 host || vmtest_failed=1
	;;
*)
	echo "scripts/test.sh: VMTEST must be quick, full or 0, not '$VMTEST'" >&2
	exit 2
	;;
esac
[ "$vmtest_failed" -eq 0 ] || exit 1
