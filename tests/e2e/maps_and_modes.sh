#!/usr/bin/env bash
# Generic XDP on request, maps pinned per interface while running, and LRU evictions reported
# exactly: every inserted source is either drained or counted as evicted. Then SIGINT, as
# SIGTERM: a last interval, detached, unpinned.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}

lab_up
mount_private_bpffs
PIN_DIR=$WORK/bpffs/probescope/$LAB_TGT_IF

# A map far smaller than one interval's spoofed sources, and a long interval.
AGENT_INTERVAL=3
start_agent --mode generic --max-sources 128 --no-rdns
expect_eq "attached in generic mode as asked" "$(grep -c 'attached to .* (generic XDP)' "$WORK/agent.err")" 1
expect_eq "generic XDP on the link" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'xdpgeneric')" 1
expect_eq "maps pinned under the interface's directory" "$(ls "$PIN_DIR" | sort | tr '\n' ' ')" "agent_state port_pkts port_stats src_pending src_stats totals "
expect_eq "pins are 0600" "$(stat -c %a "$PIN_DIR/src_stats")" 600
# What the kernel charges for the program's five counting maps, as bpftool reads it.
memlock=0
for m in totals src_stats src_pending port_stats port_pkts; do
	memlock=$((memlock + $(bpftool -j map show pinned "$PIN_DIR/$m" | jq .bytes_memlock)))
done
in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode syn-flood --src 240.0.0.0/4 \
	--dst "$LAB_TGT_IP" --dport 443 --count 2000 --seed 7 >/dev/null
sleep 4
stop_agent

inserts=$(json_sum '.type=="stats"' .maps.src_stats.inserts)
drained=$(json_sum '.type=="stats"' .maps.src_stats.drained)
evicted=$(jq -s '[.[] | select(.type=="stats")] | last | .maps.src_stats.evictions' "$WORK/out.json")
syns=$(json_sum '.type=="stats"' .classes.tcp_syn)
expect_eq "every SYN counted in the totals" "$syns" 2000
[ "$evicted" -gt 0 ] && echo "ok   evictions reported: $evicted" || { echo "FAIL no evictions reported"; FAILED=1; }
expect_eq "inserts = drained + evicted" "$inserts" "$((drained + evicted))"
expect_eq "stats.maps.memlock_bytes is bpftool's bytes_memlock of the five maps" \
	"$(jq -s '[.[] | select(.type=="stats")] | last | .maps.memlock_bytes' "$WORK/out.json")" "$memlock"
expect_eq "every stats record has the agent's resident memory" \
	"$(jq -s '[.[] | select(.type=="stats") | select(.agent.rss_bytes > 0)] | length' "$WORK/out.json")" \
	"$(jq -s '[.[] | select(.type=="stats")] | length' "$WORK/out.json")"
[ "$(jq -s '[.[] | select(.type=="stats") | .agent.cpu_ms] | add > 0' "$WORK/out.json")" = true ] &&
	echo "ok   the agent's CPU time reported" || { echo "FAIL no agent CPU time in the stats records"; FAILED=1; }
[ "$drained" -le 128 ] && echo "ok   drained within the map size: $drained" || { echo "FAIL drained $drained > 128"; FAILED=1; }
expect_eq "pins removed at exit" "$(ls -A "$WORK/bpffs/probescope" 2>/dev/null | wc -l)" 0
expect_eq "no XDP left on the link" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'xdp')" 0

# SIGINT (Ctrl-C) does what SIGTERM does: the SYNs sent since the last drain are in a last
# interval, the exit status is 0, the program is detached and the pins are gone.
mv "$WORK/out.json" "$WORK/out-sigterm.json"
AGENT_INTERVAL=60
start_agent --no-rdns
in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode syn-flood --src 240.0.0.0/4 \
	--dst "$LAB_TGT_IP" --dport 443 --count 500 --seed 8 >/dev/null
# (A script's background job starts with SIGINT ignored; the agent blocks it and waits for it
# with sigtimedwait, which Linux delivers ignored or not.)
stop_agent INT 10
expect_eq "exit status after SIGINT" "$?" 0
expect_eq "SYNs counted in the last interval, drained at SIGINT" "$(json_sum '.type=="stats"' .classes.tcp_syn)" 500
expect_eq "no XDP left on the link after SIGINT" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'xdp')" 0
expect_eq "pins removed after SIGINT" "$(ls -A "$WORK/bpffs/probescope" 2>/dev/null | wc -l)" 0
umount_private_bpffs
exit $FAILED
