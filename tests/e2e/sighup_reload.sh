#!/usr/bin/env bash
# SIGHUP: a real logrotate rotation (rename, create, postrotate HUP) loses no record and the new
# records land in the new file; the config file is read again: a valid one takes effect, an
# invalid one or one changing a fixed option is refused in one line and the old one stays; a
# new --interval from the file changes how far apart the drains are.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}

lab_up
in_scan sysctl -qw "net.ipv6.conf.$LAB_SCAN_IF.disable_ipv6=1"
mount_private_bpffs

summary() { sed -n 's/.*output: \([0-9]*\) records written.*/\1/p' "$WORK/agent.err"; }
scan_30() { in_scan nmap -sS -T5 -n -Pn -p 1-30 "$LAB_TGT_IP" >/dev/null 2>&1; }
scanners() { cat "$WORK"/out.json* | jq -s '[.[] | select(.type=="scanner")] | length'; }
config() { printf '[run]\nvertical-ports = %s\nscanlogd-weight = 1000\nno-rdns = true\n%s' "$1" "${2:-}" >"$WORK/run.toml"; }
# Sends SIGHUP and waits for the agent's answer (the n-th reload line).
hup() {
	local n=$(($(grep -c 'configuration reload' "$WORK/agent.err") + 1)) i
	kill -HUP "$AGENT_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'configuration reload' "$WORK/agent.err")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "FAIL no answer to SIGHUP"
	FAILED=1
}

config 40
PROBESCOPE_PRE=(--config "$WORK/run.toml")
start_agent

# --- logrotate ---------------------------------------------------------------------------------
cat >"$WORK/logrotate.conf" <<CONF
$WORK/out.json {
	rotate 2
	nocompress
	create 0640 root root
	postrotate
		kill -HUP $AGENT_PID
	endscript
}
CONF
send_syns 600 1
sleep 1
logrotate -f -s "$WORK/logrotate.state" "$WORK/logrotate.conf"
wait_for "$WORK/agent.err" 10 "configuration reloaded" || FAILED=1
send_syns 400 2
sleep 1
before=$(wc -l <"$WORK/out.json.1")
[ "$before" -gt 0 ] && echo "ok   records before the rotation in out.json.1: $before" ||
	{ echo "FAIL out.json.1 is empty"; FAILED=1; }
[ "$(jq -s '[.[] | select(.type=="stats")] | length' "$WORK/out.json")" -gt 0 ] &&
	echo "ok   new stats records land in the new out.json" ||
	{ echo "FAIL nothing written to the new out.json"; FAILED=1; }
expect_eq "the new file is 0640" "$(stat -c %a "$WORK/out.json")" 640

# --- config reload ------------------------------------------------------------------------------
scan_30
sleep 1
expect_eq "vertical-ports = 40: 30 ports are no vertical scan" "$(scanners)" 0
config '"many"'
hup
expect_eq "an invalid config is refused in one line" \
	"$(grep 'configuration reload refused' "$WORK/agent.err" | grep -c 'vertical-ports')" 1
scan_30
sleep 1
expect_eq "... and the old one stays (40: still no vertical scan)" "$(scanners)" 0
config 40 'max-sources = 1024'
hup
expect_eq "a change of a fixed option is refused" \
	"$(grep -c 'refused: --max-sources cannot change while running' "$WORK/agent.err")" 1
config 25
hup
expect_eq "a valid config is taken" "$(grep -c 'configuration reloaded' "$WORK/agent.err")" 2
scan_30
sleep 1
expect_eq "vertical-ports = 25 now: the 30-port scan is a vertical scan" "$(scanners)" 1
# A change of the thresholds restarts the classification: the open scanner is ended first (a
# top that joins later must not be shown it for ever).
config 20
hup
sleep 1
expect_eq "a reload that restarts the classification ends the open scanner" \
	"$(cat "$WORK"/out.json* | jq -s -r '[.[] | select(.type=="scanner_end") | .src] | join(",")')" "$LAB_SCAN_IP"

stop_agent
expect_eq "records in both files = records the agent wrote" "$(cat "$WORK"/out.json* | wc -l)" "$(summary)"
all=$(cat "$WORK"/out.json.1 "$WORK"/out.json | jq -s '[.[] | select(.type=="stats")]')
expect_eq "no count lost across the rotation: stats.packets over both files = the program's total" \
	"$(jq '[.[].packets] | add' <<<"$all")" "$(jq 'last | .total_packets' <<<"$all")"

# --- --interval reloaded --------------------------------------------------------------------------
# Given in the config file only (the command line would win over it): 0.5 s intervals, then a
# reload to 2 s (with a new --output-buffer, which the reload must accept too). stats.interval_s
# says which interval each drain ran on.
printf '[run]\ninterval = 0.5\nno-rdns = true\n' >"$WORK/iv.toml"
: >"$WORK/agent.err"
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" --config "$WORK/iv.toml" run --iface "$LAB_TGT_IF" \
	--pin-root "$WORK/bpffs/probescope" --output "$WORK/iv.json" 2>"$WORK/agent.err" &
AGENT_PID=$!
wait_for "$WORK/agent.err" 10 "attached to" || FAILED=1
sleep 2.2
printf '[run]\ninterval = 2\noutput-buffer = 64\nno-rdns = true\n' >"$WORK/iv.toml"
hup
sleep 4.5
stop_agent
expect_eq "the new interval and output buffer are taken" "$(grep -c 'configuration reloaded' "$WORK/agent.err")" 1
intervals() { jq -s "[.[] | select(.type==\"stats\") | .interval_s | select($1)] | length" "$WORK/iv.json"; }
short=$(intervals '. > 0.4 and . < 0.7')
long=$(intervals '. > 1.7 and . < 2.6')
[ "$short" -ge 3 ] && echo "ok   drains 0.5 s apart before the reload: $short" ||
	{ echo "FAIL drains 0.5 s apart before the reload: $short (want at least 3)"; FAILED=1; }
[ "$long" -ge 1 ] && echo "ok   drains 2 s apart after it: $long" ||
	{ echo "FAIL drains 2 s apart after the reload: $long (want at least 1)"; FAILED=1; }
# The last stats record is the drain at SIGTERM, whose interval is however long the agent ran
# since the drain before it (0.4-0.7 s on a slow machine): it is left out.
expect_eq "no 0.5 s drain after the reload's first 2 s one (the drain at exit aside)" \
	"$(jq -s '[.[] | select(.type=="stats") | .interval_s] | (map(. > 1.7) | index(true)) as $i | .[$i + 1:-1] | map(select(. > 0.4 and . < 0.7)) | length' "$WORK/iv.json")" 0
umount_private_bpffs
exit $FAILED
