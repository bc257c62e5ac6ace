# Sourced by the end-to-end tests: the lab, the agent under test, a capture, and assertions.
set -u
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$E2E_DIR/../../scripts/lab.sh"

PROBESCOPE=${1:?usage: $0 PATH_TO_PROBESCOPE}
WORK=$(mktemp -d /tmp/probescope-e2e.XXXXXX)
AGENT_PID=
CAPTURE_PID=
FAILED=0

e2e_cleanup() {
	[ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$CAPTURE_PID" ] && kill -TERM "$CAPTURE_PID" 2>/dev/null && wait "$CAPTURE_PID" 2>/dev/null
	lab_down
	umount "$WORK/bpffs" 2>/dev/null
	rm -rf "$WORK"
}
trap e2e_cleanup EXIT

# Starts the agent on the target's veth; extra arguments go to `probescope run`, and
# PROBESCOPE_PRE (an array) to probescope itself, before `run` (e.g. --config FILE).
PROBESCOPE_PRE=()
AGENT_INTERVAL=0.5
start_agent() {
	# Emptied here, not by the redirection below: that happens in the child, after the fork,
	# and wait_for could still read the previous agent's "attached to".
	: >"$WORK/agent.err"
	nsenter --net="/run/netns/$LAB_TGT" "${AGENT_WRAP[@]}" "$PROBESCOPE" "${PROBESCOPE_PRE[@]}" run --iface "$LAB_TGT_IF" \
		--pin-root "$WORK/bpffs/probescope" --interval "$AGENT_INTERVAL" --output "$WORK/out.json" "$@" \
		2>"$WORK/agent.err" &
	AGENT_PID=$!
	wait_for "$WORK/agent.err" 10 "attached to"
}

# Ends the agent with SIGNAL (default TERM) and waits at most SECONDS (default 30) for it: an
# agent still running then fails the test (and is killed) rather than hanging it. Returns the
# agent's exit status.
stop_agent() {
	local sig=${1:-TERM} secs=${2:-30} i rc
	kill -"$sig" "$AGENT_PID"
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$AGENT_PID" 2>/dev/null; then
		echo "FAIL the agent still runs $secs s after SIG$sig"
		FAILED=1
		kill -KILL "$AGENT_PID"
	fi
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	return $rc
}

# Captures everything arriving on the target's veth into $WORK/cap.pcap.
start_capture() {
	nsenter --net="/run/netns/$LAB_TGT" tcpdump -i "$LAB_TGT_IF" -n -U -w "$WORK/cap.pcap" \
		2>"$WORK/tcpdump.err" &
	CAPTURE_PID=$!
	wait_for "$WORK/tcpdump.err" 10 "listening on"
}

stop_capture() {
	sleep 0.5
	kill -INT "$CAPTURE_PID"
	wait "$CAPTURE_PID"
	CAPTURE_PID=
}

# Packets in the capture that match a pcap filter.
cap_count() { tcpdump -n -r "$WORK/cap.pcap" "$1" 2>/dev/null | wc -l; }

# Sum of a jq expression over the agent's records that match a jq selector.
json_sum() { jq -s "[.[] | select($1) | $2] | add // 0" "$WORK/out.json"; }

expect_eq() {
	local what=$1 got=$2 want=$3
	if [ "$got" = "$want" ]; then
		echo "ok   $what: $got"
	else
		echo "FAIL $what: got $got, want $want"
		FAILED=1
	fi
}

# bpffs outside /sys, so pins survive nsenter (see shared/ENVIRONMENT.md).
mount_private_bpffs() {
	mkdir -p "$WORK/bpffs"
	mount -t bpf bpf "$WORK/bpffs"
}

umount_private_bpffs() { umount "$WORK/bpffs" 2>/dev/null || true; }

# send_syns N SEED: N SYNs to the target's port 443 from random 240.0.0.0/4 sources (the
# project's generator, seeded: the same N frames every time).
send_syns() {
	in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode syn-flood --src 240.0.0.0/4 \
		--dst "$LAB_TGT_IP" --dport 443 --count "$1" --seed "$2" >/dev/null
}
