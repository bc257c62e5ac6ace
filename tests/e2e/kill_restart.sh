#!/usr/bin/env bash
# kill -9 and restart: with --persist the pinned link keeps the program counting while no agent
# runs, and the restarted agent takes over the pins and goes on from the last written stats
# record, so the stats records of both runs add up to exactly the packets sent. Without
# --persist the program dies with the agent (its bpf_link goes with the process): the packets
# sent while it is dead are not counted, and the rest still add up exactly.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}

lab_up
# No IPv6 on the scanner's side: its neighbour discovery and MLD reports would reach the target
# before the agent attaches, in the capture but not in the counts.
in_scan sysctl -qw "net.ipv6.conf.$LAB_SCAN_IF.disable_ipv6=1"
mount_private_bpffs
PIN_DIR=$WORK/bpffs/probescope/$LAB_TGT_IF
AGENT_INTERVAL=0.5

# $1 SYNs from random 240.0.0.0/4 sources (seed $2) to the target.
kill_agent() {
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}
xdp_attached() { in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'prog/xdp'; }
# Frames that reached the target (not from its own MAC: the capture also holds the target's
# own); XDP passes every frame to the capture, the program only counts.
syn_on_wire() { cap_count "not ether src $LAB_TGT_MAC and tcp[tcpflags] == tcp-syn"; }
all_on_wire() { cap_count "not ether src $LAB_TGT_MAC"; }

# --- pinned: before the kill, while dead, after the restart --------------------------------------
start_capture
start_agent --persist --no-rdns
send_syns 1000 1
sleep 1 # the agent writes some intervals, then dies between two
kill_agent
expect_eq "after kill -9 the pinned link keeps the program attached" "$(xdp_attached)" 1
send_syns 700 2
start_agent --no-rdns
expect_eq "the restarted agent took over the pinned link" \
	"$(grep -c 'took over the pinned link' "$WORK/agent.err")" 1
# It says what waited for it: at least the 700 SYNs counted while no agent ran.
resumed=$(sed -n "s/.*resuming on $LAB_TGT_IF: \([0-9]*\) packets counted since the last written stats record.*/\1/p" "$WORK/agent.err")
[ -n "$resumed" ] && [ "$resumed" -ge 700 ] && echo "ok   resuming line: $resumed packets waited (>= 700)" ||
	{ echo "FAIL resuming line missing or short: '${resumed}'"; FAILED=1; }
send_syns 300 3
sleep 1
stop_agent
stop_capture
expect_eq "the agent without --persist removed the link at exit" "$(xdp_attached)" 0
expect_eq "... and the pins" "$(ls -A "$PIN_DIR" 2>/dev/null | wc -l)" 0
wire_syn=$(syn_on_wire)
wire_all=$(all_on_wire)
expect_eq "SYNs on the wire" "$wire_syn" 2000
expect_eq "sum of stats.classes.tcp_syn over both runs = SYNs sent" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" "$wire_syn"
expect_eq "sum of stats.packets over both runs = frames on the wire" \
	"$(json_sum '.type=="stats"' .packets)" "$wire_all"
expect_eq "sum of stats.packets = the program's own total (last total_packets)" \
	"$(json_sum '.type=="stats"' .packets)" \
	"$(jq -s '[.[] | select(.type=="stats")] | last | .total_packets' "$WORK/out.json")"
expect_eq "the classes of both runs add up to their packets" \
	"$(jq -s '[.[] | select(.type=="stats") | .classes[]] | add' "$WORK/out.json")" \
	"$(json_sum '.type=="stats"' .packets)"

# --- not pinned: the program stops with the agent -------------------------------------------------
rm -f "$WORK/out.json"
start_capture
start_agent --no-rdns
send_syns 400 4
sleep 1
kill_agent
expect_eq "after kill -9 without --persist nothing is attached" "$(xdp_attached)" 0
expect_eq "... but the maps stay pinned" "$(ls "$PIN_DIR" | grep -c 'src_stats')" 1
send_syns 500 5
start_agent --no-rdns
expect_eq "the restarted agent reuses the pins" "$(grep -c '(reused)' "$WORK/agent.err")" 1
send_syns 600 6
sleep 1
stop_agent
stop_capture
expect_eq "SYNs counted = those sent while an agent ran (400 + 600; the 500 in between are lost)" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" 1000

# --- a second agent on the same interface is refused ----------------------------------------------
start_agent --no-rdns
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --iface "$LAB_TGT_IF" \
	--pin-root "$WORK/bpffs/probescope" --output "$WORK/second.json" 2>"$WORK/second.err"
expect_eq "a second agent is refused while the first runs" \
	"$?:$(grep -c 'another probescope is draining' "$WORK/second.err")" "1:1"
stop_agent
umount_private_bpffs
exit $FAILED
