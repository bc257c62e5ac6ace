#!/usr/bin/env bash
# A blocked or full output never stalls the counting: records wait in a bounded queue, past it
# they are dropped and counted in the next stats record, and the packet counts survive whole
# (a dropped stats record's counts go into the next one). Cases: a pipe nobody reads, then read
# again; a named pipe whose reader goes away, then a new one and SIGHUP; a full disk (a small
# tmpfs), then space again; SIGTERM while the pipe is blocked.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}

lab_up
in_scan sysctl -qw "net.ipv6.conf.$LAB_SCAN_IF.disable_ipv6=1"
mount_private_bpffs

# The agent with its records going to $1 (a path or '-' for stdout, redirected to $2).
start_to() {
	rm -f "$WORK/agent.err" # so that the wait below cannot see an earlier agent's lines
	nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --iface "$LAB_TGT_IF" \
		--pin-root "$WORK/bpffs/probescope" --interval 0.1 --output-buffer 16KiB --no-rdns \
		--output "$1" >"$2" 2>"$WORK/agent.err" 3>&- &
	AGENT_PID=$!
	wait_for "$WORK/agent.err" 10 "attached to"
}
all_json() { jq -c . "$1" >/dev/null 2>&1 && echo yes || echo no; }
summary() { sed -n 's/.*output: \([0-9]*\) records written, \([0-9]*\) dropped.*/\1 \2/p' "$WORK/agent.err"; }

# --- a pipe nobody reads -----------------------------------------------------------------------
mkfifo "$WORK/pipe"
exec 3<>"$WORK/pipe" # holds the pipe open, never reads: it fills (64 KiB), then the queue
start_to - "$WORK/pipe"
wait_for "$WORK/agent.err" 120 "is not keeping up" || FAILED=1
send_syns 1500 1 # counted while the output is blocked
sleep 1
# Said once for the whole time the pipe stayed blocked. (Once the reader below empties the queue
# the episode ends; a later burst that outruns the reader would be a new one, said again.)
said_blocked=$(grep -c 'is not keeping up' "$WORK/agent.err")
# The reader's end is opened here, before the fork, so that the pipe never has no reader
# (the agent would see EPIPE: "its reader has gone").
exec 4<"$WORK/pipe"
cat <&4 >"$WORK/out.json" 3>&- 4<&- &
reader=$!
exec 3>&- 4<&- # the reader takes over
send_syns 500 2
sleep 1
stop_agent
wait "$reader"
read -r written dropped <<<"$(summary)"
expect_eq "every record that reached the pipe is whole JSON" "$(all_json "$WORK/out.json")" yes
expect_eq "records read = records the agent says it wrote" "$(wc -l <"$WORK/out.json")" "$written"
[ "${dropped:-0}" -gt 0 ] && echo "ok   records dropped while blocked: $dropped" ||
	{ echo "FAIL no records dropped behind a blocked pipe"; FAILED=1; }
expect_eq "the stats records report every drop (sum of output.dropped)" \
	"$(json_sum '.type=="stats"' .output.dropped)" "$dropped"
# Each written stats record's dropped_total is the drops reported up to it, its own included
# (here every drop happens on the agent's thread, as it offers a record to the full queue).
expect_eq "output.dropped_total = the running sum of output.dropped, at every stats record" \
	"$(jq -s '[.[] | select(.type=="stats") | .output] | reduce .[] as $o ({sum: 0, bad: 0};
		.sum += $o.dropped | .bad += (if $o.dropped_total == .sum then 0 else 1 end)) | .bad' "$WORK/out.json")" 0
[ "$(jq -s '[.[] | select(.type=="stats") | .output.queued] | max' "$WORK/out.json")" -gt 0 ] &&
	echo "ok   output.queued shows records waiting behind the blocked pipe" ||
	{ echo "FAIL output.queued never above 0 behind a blocked pipe"; FAILED=1; }
expect_eq "said once on stderr while the pipe was blocked" "$said_blocked" 1
expect_eq "no count lost: sum of stats.classes.tcp_syn = SYNs sent" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" 2000
expect_eq "sum of stats.packets = the program's total" "$(json_sum '.type=="stats"' .packets)" \
	"$(jq -s '[.[] | select(.type=="stats")] | last | .total_packets' "$WORK/out.json")"

# --- a named pipe whose reader goes away, then a new reader and SIGHUP -------------------------
mkfifo "$WORK/pipe2"
cat "$WORK/pipe2" >"$WORK/first.json" &
reader=$!
start_to "$WORK/pipe2" /dev/null
sleep 0.5
kill "$reader"
wait "$reader" 2>/dev/null
wait_for "$WORK/agent.err" 10 "its reader has gone" || FAILED=1
cat "$WORK/pipe2" >"$WORK/second.json" &
reader=$!
kill -HUP "$AGENT_PID"
wait_for "$WORK/agent.err" 10 "configuration reloaded" || FAILED=1
send_syns 100 5
sleep 1
stop_agent
wait "$reader"
expect_eq "after SIGHUP the new reader gets the records again (SYNs sent since)" \
	"$(jq -s '[.[] | select(.type=="stats") | .classes.tcp_syn] | add' "$WORK/second.json")" 100

# --- a full disk ------------------------------------------------------------------------------
mkdir "$WORK/disk"
mount -t tmpfs -o size=256k tmpfs "$WORK/disk"
start_to "$WORK/disk/out.json" /dev/null
dd if=/dev/zero of="$WORK/disk/fill" bs=4k 2>/dev/null # until ENOSPC
wait_for "$WORK/agent.err" 30 "No space left on device" || FAILED=1
send_syns 800 3 # counted while nothing can be written
sleep 2
rm "$WORK/disk/fill"
wait_for "$WORK/agent.err" 30 "writable again" || FAILED=1
send_syns 200 4
sleep 1
stop_agent
expect_eq "the agent kept running and exited cleanly" "$?" 0
cp "$WORK/disk/out.json" "$WORK/out.json"
umount "$WORK/disk"
read -r written dropped <<<"$(summary)"
expect_eq "the full disk said once on stderr" "$(grep -c 'No space left on device' "$WORK/agent.err")" 1
expect_eq "every record in the file is whole JSON" "$(all_json "$WORK/out.json")" yes
expect_eq "records in the file = records the agent says it wrote" "$(wc -l <"$WORK/out.json")" "$written"
[ "$(jq -s '[.[] | select(.type=="stats")] | last | .output.write_errors' "$WORK/out.json")" -gt 0 ] &&
	echo "ok   write errors counted in the stats record" ||
	{ echo "FAIL no write errors in the stats record"; FAILED=1; }
expect_eq "the stats records report every drop" "$(json_sum '.type=="stats"' .output.dropped)" "$dropped"
expect_eq "no count lost: sum of stats.classes.tcp_syn = SYNs sent" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" 1000

# --- SIGTERM while nobody reads: the agent gives up on the output (5 s without progress) and
# still detaches, instead of hanging in the blocked pipe ------------------------------------------
mkfifo "$WORK/pipe3"
exec 5<>"$WORK/pipe3" # held open, never read
start_to - "$WORK/pipe3"
wait_for "$WORK/agent.err" 120 "is not keeping up" || FAILED=1
stop_agent TERM 30
expect_eq "exit status after SIGTERM behind a blocked pipe" "$?" 0
exec 5>&-
expect_eq "it says the output stopped taking records" \
	"$(grep -c 'the output stopped taking records at exit' "$WORK/agent.err")" 1
expect_eq "it detached" "$(grep -c "detached from $LAB_TGT_IF" "$WORK/agent.err")" 1
expect_eq "no XDP left on the link" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'xdp')" 0
umount_private_bpffs
exit $FAILED
