#!/usr/bin/env bash
# Misuse of `probescope run`: each case ends with one clear message, a non-zero exit, and
# nothing attached or pinned afterwards.
. "$(dirname "$0")/common.sh"
BPFGEN=${2:?usage: $0 PROBESCOPE BPFGEN_DIR}

lab_up
mount_private_bpffs
PIN_ROOT=$WORK/bpffs/probescope

# expect_refusal NAME PATTERN COMMAND...: non-zero exit, PATTERN on stderr, nothing left.
expect_refusal() {
	local name=$1 pattern=$2
	shift 2
	# A refusal is immediate; a run that is not refused is stopped, and fails the case.
	timeout 20 "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	local rc=$?
	if [ $rc -ne 0 ] && grep -qi -- "$pattern" "$WORK/stderr"; then
		echo "ok   $name: exit $rc, $(head -1 "$WORK/stderr")"
	else
		echo "FAIL $name: exit $rc, stderr:"; cat "$WORK/stderr"; FAILED=1
	fi
	if [ -e "$PIN_ROOT" ]; then
		echo "FAIL $name left pins: $(find "$PIN_ROOT")"; FAILED=1
		rm -rf "$PIN_ROOT"
	fi
}

RUN_TGT=(nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --pin-root "$PIN_ROOT")

expect_refusal "missing interface" "no such network interface" "${RUN_TGT[@]}" --iface nosuch0
expect_refusal "interval 0" "interval must be more than 0" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval 0
expect_refusal "negative interval" "interval must be more than 0" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval -1
expect_refusal "interval not a number" "could not be converted\|invalid\|interval" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval soon
expect_refusal "unknown flag" "--bogus\|not expected\|extra" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --bogus
expect_refusal "unknown mode" "unknown XDP mode" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --mode turbo
expect_refusal "map size 0" "max-sources must be at least 1" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources 0
expect_refusal "map size beyond memory" "kernel memory" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources 4000000000
expect_refusal "no iface at all" "iface is required\|--iface" "$PROBESCOPE" run
expect_refusal "bpffs not mounted" "bpffs is not mounted" \
	nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --iface "$LAB_TGT_IF" --pin-root "$WORK/plain/probescope"
expect_refusal "not root" "not enough privilege" \
	nsenter --net="/run/netns/$LAB_TGT" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all "$PROBESCOPE" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"

# Someone else's XDP program: refused without --force, and left in place.
if ! in_tgt ip link set dev "$LAB_TGT_IF" xdpdrv obj "$BPFGEN/xdp_pass.bpf.o" sec xdp; then
	echo "FAIL could not attach $BPFGEN/xdp_pass.bpf.o as the foreign program"
	exit 1
fi
expect_refusal "foreign XDP program" "already has an XDP program attached" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF"
expect_eq "foreign program still attached" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -o 'name xdp_pass\|prog/xdp id [0-9]*' | head -1 | cut -c1-12)" "prog/xdp id "
# With --force it is replaced, and at exit nothing is left.
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --pin-root "$PIN_ROOT" --iface "$LAB_TGT_IF" \
	--force --output "$WORK/force.json" 2>"$WORK/force.err" &
AGENT_PID=$!
wait_for "$WORK/force.err" 10 "attached to"
grep -q "replaced the XDP program" "$WORK/force.err" && echo "ok   --force warns that it replaced" || { echo "FAIL no replace warning"; FAILED=1; }
stop_agent
expect_eq "nothing attached after --force run" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'prog/xdp')" 0
expect_eq "no pins after --force run" "$(find "$PIN_ROOT" 2>/dev/null | wc -l)" 0

umount_private_bpffs
exit $FAILED
