#!/usr/bin/env bash
# --user: once attached and pinned the agent runs as an unprivileged user with no capabilities
# left (Linux 6.5+: map operations on open fds need none), the pins are that user's (dir 0700,
# pins 0600) and so is the output (0640); it still drains exactly and removes what it must at
# exit. `probescope top` works for the pins' owner without privilege and tells anyone else why
# it cannot.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}
command -v tmux >/dev/null || { echo "FAIL tmux is not installed (scripts/deps.sh)"; exit 1; }

SVC=psfl$$
TM=(tmux -S "$WORK/tmux.sock" -f /dev/null)
priv_cleanup() {
	"${TM[@]}" kill-server 2>/dev/null
	e2e_cleanup
	userdel "$SVC" 2>/dev/null
}
trap priv_cleanup EXIT
useradd --system --no-create-home --shell /usr/sbin/nologin "$SVC"
SVC_UID=$(id -u "$SVC")

lab_up
in_scan sysctl -qw "net.ipv6.conf.$LAB_SCAN_IF.disable_ipv6=1"
mount_private_bpffs
chmod 0755 "$WORK" # the service user reaches its output and pins through it
PIN_DIR=$WORK/bpffs/probescope/$LAB_TGT_IF

status_of() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$AGENT_PID/status"; }
xdp_attached() { in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'prog/xdp'; }
# Runs probescope top as user $1 in a fresh tmux pane; its screen, or its error, on $WORK/top-$1.
top_as() {
	"${TM[@]}" new-session -d -s "$1" -x 120 -y 30 \
		"nsenter --net=/run/netns/$LAB_TGT runuser -u $1 -- env TERM=xterm $PROBESCOPE top \
		--iface $LAB_TGT_IF --pin-root $WORK/bpffs/probescope --socket none --no-rdns; \
		echo top-exit=\$?; sleep 60"
}
wait_screen() {
	local i
	for ((i = 0; i < 100; i++)); do
		"${TM[@]}" capture-pane -p -t "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$2/ on $1:" >&2
	"${TM[@]}" capture-pane -p -t "$1" >&2
	return 1
}

# Every start runs as systemd starts the unit: root inside its CapabilityBoundingSet.
UNIT=$(dirname "$0")/../../packaging/systemd/probescope@.service
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ -n "$unit_caps" ] || { echo "FAIL no CapabilityBoundingSet= in $UNIT"; exit 1; }
AGENT_WRAP=(setpriv --bounding-set "-all,$unit_caps")
start_agent --user "$SVC" --no-rdns --persist
wait_for "$WORK/agent.err" 10 "running as $SVC"
expect_eq "the agent runs as the service user (real, effective, saved, fs uid)" "$(status_of Uid)" \
	"$SVC_UID $SVC_UID $SVC_UID $SVC_UID"
expect_eq "no capability left (effective)" "$(status_of CapEff)" 0000000000000000
expect_eq "no capability left (permitted)" "$(status_of CapPrm)" 0000000000000000
expect_eq "no_new_privs set" "$(status_of NoNewPrivs)" 1
expect_eq "pin directory: the user's, 0700" "$(stat -c '%U %a' "$PIN_DIR")" "$SVC 700"
expect_eq "every pin: the user's, 0600" "$(stat -c '%U %a' "$PIN_DIR"/* | sort -u)" "$SVC 600"
expect_eq "pins: maps, agent state and the --persist link" "$(ls "$PIN_DIR" | tr '\n' ' ')" \
	"agent_state link port_pkts port_stats src_pending src_stats totals "
expect_eq "output: the user's, 0640" "$(stat -c '%U %a' "$WORK/out.json")" "$SVC 640"
send_syns 500 1
sleep 1
stop_agent
expect_eq "the unprivileged agent exits cleanly" "$?" 0
expect_eq "it drained every SYN" "$(json_sum '.type=="stats"' .classes.tcp_syn)" 500
expect_eq "--persist: the program stays attached" "$(xdp_attached)" 1

# probescope top over the persisted program's pins, as their owner and as someone else.
top_as "$SVC"
wait_screen "$SVC" "persistent" && echo "ok   top runs as the pins' owner, without privilege" ||
	{ echo "FAIL top as $SVC"; FAILED=1; }
expect_eq "... its XDP cost is n/a without CAP_SYS_ADMIN" \
	"$("${TM[@]}" capture-pane -p -t "$SVC" | grep -c 'XDP cost n/a (needs CAP_SYS_ADMIN)')" 1
"${TM[@]}" send-keys -t "$SVC" q
wait_screen "$SVC" "top-exit=0" && echo "ok   ... and quits cleanly" || FAILED=1
top_as nobody
wait_screen nobody "top-exit=1" || FAILED=1
expect_eq "top as another user: one clear message" \
	"$("${TM[@]}" capture-pane -p -t nobody | grep -c "error: no access to the pins under $PIN_DIR")" 1

# A restarted agent as the user takes the pinned link over; without --persist it removes it.
# It faces the pins and the output the previous run handed to the user (what the unit's
# Restart=on-failure meets).
: >"$WORK/out.json"
start_agent --user "$SVC" --no-rdns
send_syns 300 2
sleep 1
stop_agent
expect_eq "the taken-over program's SYNs (sent after the last record)" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" 300
expect_eq "the unprivileged agent detached at exit" "$(xdp_attached)" 0
expect_eq "... and removed its pins" "$(ls -A "$PIN_DIR" 2>/dev/null | wc -l)" 0

# --user needs root to start from, and an existing user.
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --iface "$LAB_TGT_IF" --user no-such-user-$$ \
	--pin-root "$WORK/bpffs/probescope" --output "$WORK/x.json" 2>"$WORK/nouser.err"
expect_eq "an unknown --user is refused before anything is attached" \
	"$?:$(grep -c "no such user 'no-such-user-$$'" "$WORK/nouser.err"):$(xdp_attached)" "1:1:0"
umount_private_bpffs
exit $FAILED
