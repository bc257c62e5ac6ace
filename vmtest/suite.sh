#!/bin/sh
# The vmtest suite, the same on the host and inside every guest kernel: verifier load check,
# the BPF_PROG_TEST_RUN tests, and a veth attach-and-count test with exact counts.
#
# Usage: suite.sh BIN_DIR [verifier|quick]
#   BIN_DIR holds probescope.bpf.o, probescope, probescope_bpf_tests and probescope-gen.
#   "verifier": only the load check (--verifier-only, --unsafe-check);
#   "quick": the load check and the attach-and-count test, without the BPF_PROG_TEST_RUN
#   cases (the bulk of the time under emulation).
# POSIX sh: it runs under busybox ash in the guest. It prints "vmtest-step NAME ok|FAIL ..."
# lines that vmtest/run.sh parses, and "vmtest-verifier-rejected" when the kernel refuses the
# program (after the verifier log). Exit status: 0 when every step passed.
BIN=${1:?usage: suite.sh BIN_DIR [verifier|quick]}
ONLY=${2:-}
BPFFS=${VMTEST_BPFFS:-/sys/fs/bpf}
# iproute2's ip by path: busybox's sh runs its own ip applet, which cannot make veth pairs.
IP=${VMTEST_IP:-ip}
WORK=$(mktemp -d /tmp/vmtest-suite.XXXXXX)
FAILED=0

step() { # NAME ok|FAIL DETAIL
	echo "vmtest-step $1 $2 $3"
	[ "$2" = ok ] || FAILED=1
}

# 1. Load the object as shipped, outside any test harness: bpftool prints the whole verifier
# log when the kernel refuses it, once, before the tests would repeat it for every case.
verifier_check() {
	pin=$BPFFS/vmtest-check-$$
	if bpftool prog load "$BIN/probescope.bpf.o" "$pin" type xdp >"$WORK/load.log" 2>&1; then
		rm -f "$pin"
		step verifier ok "loaded on $(uname -r)"
		return 0
	fi
	cat "$WORK/load.log"
	echo "vmtest-verifier-rejected $(uname -r)"
	step verifier FAIL "the verifier on $(uname -r) rejected probescope.bpf.o"
	return 1
}

# 2. The BPF_PROG_TEST_RUN cases (tests/bpf), on this kernel's verifier and helpers.
# The output goes to the console as it comes: a guest that runs out of time shows how far it got.
bpf_tests() {
	{
		"$BIN/probescope_bpf_tests" 2>&1
		echo $? >"$WORK/gtest.rc"
	} | tee "$WORK/gtest.log"
	rc=$(cat "$WORK/gtest.rc")
	passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$WORK/gtest.log")
	if [ "$rc" -eq 0 ] && [ -n "$passed" ] && ! grep -q '^\[  SKIPPED \]' "$WORK/gtest.log"; then
		step bpf_tests ok "$passed tests passed"
	else
		step bpf_tests FAIL "probescope_bpf_tests exited $rc (output above)"
	fi
}

# 3. probescope run on a veth in a namespace, traffic from probescope-gen in another; the
# agent's JSON must count every frame exactly once, in the right class and source.
NS_SCAN=vmt-scan-$$
NS_TGT=vmt-tgt-$$
IF_SCAN=vms$$
IF_TGT=vmt$$
AGENT_PID=
FLOOD=400 # spoofed SYNs from 240.0.0.0/4
MIRAI=60  # Mirai-shaped SYNs from the scanner's own address, over 20 destinations

cleanup() {
	[ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID"
	"$IP" netns del "$NS_SCAN" 2>/dev/null
	"$IP" netns del "$NS_TGT" 2>/dev/null
	rm -rf "$WORK" "$BPFFS/vmtest-$$"
}
trap cleanup EXIT

in_ns() { # NS CMD...
	ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# Two namespaces joined by a veth, IPv6 off so that no router solicitation or DAD frame adds
# to the counts: the target sees only what probescope-gen sends.
lab_up() {
	for ns in "$NS_SCAN" "$NS_TGT"; do
		"$IP" netns add "$ns" || return 1
		in_ns "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 &&
			echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6' || return 1
	done
	"$IP" link add "$IF_SCAN" netns "$NS_SCAN" type veth peer name "$IF_TGT" netns "$NS_TGT" ||
		return 1
	"$IP" -n "$NS_SCAN" addr add 198.51.100.1/24 dev "$IF_SCAN" &&
		"$IP" -n "$NS_TGT" addr add 198.51.100.2/24 dev "$IF_TGT" &&
		"$IP" -n "$NS_SCAN" link set "$IF_SCAN" up && "$IP" -n "$NS_TGT" link set "$IF_TGT" up
}

# Waits (up to 120 s: TCG is slow) for the agent to report its attachment.
wait_attached() {
	i=0
	while [ $i -lt 1200 ]; do
		grep -q 'attached to' "$WORK/agent.err" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

json_sum() { # SELECTOR EXPR
	jq -s "[.[] | select($1) | $2] | add // 0" "$WORK/out.json"
}

expect_eq() { # WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		echo "  ok   $1: $2"
	else
		echo "  FAIL $1: got $2, want $3"
		ATTACH_FAILED=1
	fi
}

attach_count() {
	ATTACH_FAILED=0
	if ! lab_up; then
		step attach_count FAIL "could not build the veth lab"
		return
	fi
	mkdir -p "$BPFFS/vmtest-$$"
	# One long interval: everything lands in the drain that SIGTERM triggers, so the spoofed
	# sources form one flood however slowly the emulated CPU sends them. nsenter execs the
	# agent, so $! is the agent itself.
	nsenter --net="/run/netns/$NS_TGT" "$BIN/probescope" run --iface "$IF_TGT" --interval 600 \
		--no-rdns --socket none --max-sources 1024 --pin-root "$BPFFS/vmtest-$$" \
		--output "$WORK/out.json" 2>"$WORK/agent.err" &
	AGENT_PID=$!
	if ! wait_attached; then
		cat "$WORK/agent.err"
		step attach_count FAIL "probescope run did not attach to $IF_TGT"
		return
	fi
	mode=$(sed -n 's/.*attached to .* (\([a-z]*\) XDP).*/\1/p' "$WORK/agent.err")
	mac=$("$IP" -n "$NS_TGT" -br link show "$IF_TGT" | awk '{print $3}')
	in_ns "$NS_SCAN" "$BIN/probescope-gen" --iface "$IF_SCAN" --dst-mac "$mac" \
		--mode syn-flood --src 240.0.0.0/4 --dst 198.51.100.2 --dport 443 --count $FLOOD \
		--rate 4000 --seed 7 >"$WORK/gen.out" 2>&1 || ATTACH_FAILED=1
	in_ns "$NS_SCAN" "$BIN/probescope-gen" --iface "$IF_SCAN" --dst-mac "$mac" \
		--mode mirai --src 198.51.100.1 --dst 198.51.100.2 --dst-count 20 --dport 23 \
		--count $MIRAI --rate 4000 >>"$WORK/gen.out" 2>&1 || ATTACH_FAILED=1
	# A moment for the target's NAPI to run, then SIGTERM: the agent drains, then exits.
	sleep 1
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	agent_rc=$?
	AGENT_PID=
	total=$((FLOOD + MIRAI))
	expect_eq "probescope-gen sent every frame" "$(grep -c '"sent"' "$WORK/gen.out")" 2
	expect_eq "agent exit status" "$agent_rc" 0
	expect_eq "stats.packets" "$(json_sum '.type=="stats"' .packets)" $total
	expect_eq "stats.classes.tcp_syn" "$(json_sum '.type=="stats"' .classes.tcp_syn)" $total
	expect_eq "Mirai source's tcp_syn" \
		"$(json_sum '.type=="source" and .src=="198.51.100.1"' .packets.tcp_syn)" $MIRAI
	expect_eq "no other source record (the spoofed ones are one flood)" \
		"$(json_sum '.type=="source"' .packets.tcp_syn)" $MIRAI
	expect_eq "flood start records on tcp/443" \
		"$(json_sum '.type=="flood" and .phase=="start" and .port==443' 1)" 1
	expect_eq "flood packets" \
		"$(json_sum '.type=="flood" and .phase=="start" and .port==443' .packets)" $FLOOD
	expect_eq "LRU evictions" \
		"$(jq -s '[.[] | select(.type=="stats")] | last | .maps.src_stats.evictions' \
			"$WORK/out.json")" 0
	if [ "$ATTACH_FAILED" -eq 0 ]; then
		step attach_count ok "$total frames counted exactly ($mode XDP on veth)"
	else
		cat "$WORK/gen.out" "$WORK/agent.err"
		step attach_count FAIL "counts differ (lines above)"
	fi
}

echo "vmtest-kernel $(uname -r)"
if verifier_check && [ "$ONLY" != verifier ]; then
	[ "$ONLY" = quick ] || bpf_tests
	attach_count
fi
exit $FAILED
