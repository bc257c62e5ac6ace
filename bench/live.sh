#!/usr/bin/env bash
# Suite part "live" (issue 6 item 3): live frames into a lab veth, probescope attached on the
# target side next to two libpcap/raw-socket peers (tcpdump with a SYN filter, scanlogd).
# Usage: bench/live.sh BUILD_DIR BENCH_OUT   (as root; writes BENCH_OUT/live.md and live.json)
# Two configurations: frames to the target's MAC (the stack takes them), and to another MAC
# (a monitor port); then a control, the mix's scan alone to the target's MAC, which says what
# the peers report without the flood. Knobs: LIVE_FRAMES (3000000) frames offered in each,
# LIVE_SCAN_SHARE (0.05), LIVE_V6_SHARE (0.1), LIVE_MAX_SOURCES (262144), LIVE_SPLIT_FRAMES
# (1000000) frames per run of the rate split, LIVE_CONTROL_FRAMES (the mix's scan frames),
# BLAST_SENDER (auto: live XDP frames, or AF_PACKET where the kernel refuses them; live; packet).
set -euo pipefail
[ $# -eq 2 ] || {
	echo "usage: bench/live.sh BUILD_DIR BENCH_OUT" >&2
	exit 2
}
BUILD_DIR=$(cd "$1" && pwd) OUT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PS=$BUILD_DIR/user/probescope
BLAST=$BUILD_DIR/tests/tools/probescope-blast
FRAMES=${LIVE_FRAMES:-3000000}
SCAN_SHARE=${LIVE_SCAN_SHARE:-0.05}
V6_SHARE=${LIVE_V6_SHARE:-0.1}
MAX_SOURCES=${LIVE_MAX_SOURCES:-262144}

LAB_ID=bl$$
. "$ROOT/scripts/lab.sh"
require_built bench/live.sh "$PS" "$BLAST"
require_cmds bench/live.sh tcpdump scanlogd busybox jq nsenter unshare bpftool
TMP=$(mktemp -d /tmp/probescope-bench-live.XXXXXX)
agent_pid= tcpdump_pid= syslogd_pid= scanlogd_pid=
cleanup() {
	local p
	rm -f "/sys/fs/bpf/probescope-bench-live-$$"
	for p in $scanlogd_pid $syslogd_pid $tcpdump_pid $agent_pid; do
		kill -TERM "$p" 2>/dev/null || true
	done
	[ -z "$agent_pid" ] || wait "$agent_pid" 2>/dev/null || true
	lab_down || true # set -e would stop the clean-up at a namespace already gone
	umount "$TMP/bpffs" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# CPU seconds (user + system) a process has used, from /proc/PID/stat.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# Softirq and whole-machine busy seconds, from /proc/stat (XDP and the stack run in softirq,
# charged to no process).
softirq_s() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{ printf "%.2f", ($7 + $8) / hz }' /proc/stat; }
busy_s() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{ printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

# One configuration: probescope, tcpdump and scanlogd on the target veth, then the offer.
# $1 names it (files under $TMP/$1), $2 is the destination MAC the frames carry; $3 and $4, if
# given, the frames offered and the scan's share of them, $5 the IPv6 flood's (default: FRAMES,
# SCAN_SHARE, V6_SHARE).
run_config() {
	local name=$1 mac=$2 frames=${3:-$FRAMES} share=${4:-$SCAN_SHARE} v6=${5:-$V6_SHARE} D=$TMP/$1 p
	mkdir -p "$D"
	# nsenter execs, so $! is the process itself (a function would put a subshell between).
	nsenter --net="/run/netns/$LAB_TGT" "$PS" run --iface "$LAB_TGT_IF" --mode native --interval 1 \
		--max-sources "$MAX_SOURCES" --no-rdns --socket none --pin-root "$TMP/bpffs/$name" \
		--output "$D/ps.json" 2>"$D/agent.err" &
	agent_pid=$!
	wait_for "$D/agent.err" 10 "attached to"

	# tcpdump: SYN without ACK, IPv4 and IPv6 (no extension headers), written to /dev/null.
	nsenter --net="/run/netns/$LAB_TGT" tcpdump -i "$LAB_TGT_IF" -n -w /dev/null \
		'(tcp[tcpflags] & (tcp-syn|tcp-ack)) == tcp-syn or (ip6 and ip6[6] == 6 and (ip6[53] & 0x12) == 0x02)' \
		2>"$D/tcpdump.err" &
	tcpdump_pid=$!
	wait_for "$D/tcpdump.err" 10 "listening on"

	# scanlogd in its own mount namespace: a private /dev/log served by busybox syslogd
	# (shared/ENVIRONMENT.md). scanlogd forks into the background; its PID is found through
	# that mount namespace, which only it and syslogd share.
	in_tgt unshare -m --propagation private sh -c '
		mount -t tmpfs none /dev && mount -t tmpfs none /run &&
		mknod -m 666 /dev/null c 1 3 && mkdir -p /run/scanlogd/empty &&
		readlink /proc/self/ns/mnt >"$1/mntns" &&
		{ busybox syslogd -n -O "$1/scanlogd.log" & echo $! >"$1/syslogd.pid"; } &&
		sleep 0.5 && scanlogd' sh "$D"
	syslogd_pid=$(cat "$D/syslogd.pid")
	for p in $(pgrep -x scanlogd); do
		[ "$(readlink "/proc/$p/ns/mnt")" = "$(cat "$D/mntns")" ] && scanlogd_pid=$p
	done
	[ -n "$scanlogd_pid" ] || {
		echo "bench/live.sh: scanlogd did not start" >&2
		exit 1
	}
	sleep 1.5 # one quiet interval first

	local agent_cpu0 tcpdump_cpu0 scanlogd_cpu0 gen_cpu0 soft0 busy0
	local agent_cpu1 tcpdump_cpu1 scanlogd_cpu1 gen_cpu1 soft1 busy1 scans
	agent_cpu0=$(cpu_s "$agent_pid") tcpdump_cpu0=$(cpu_s "$tcpdump_pid")
	scanlogd_cpu0=$(cpu_s "$scanlogd_pid") gen_cpu0=$(child_cpu_s)
	soft0=$(softirq_s) busy0=$(busy_s)
	in_scan "$BLAST" --sender "${BLAST_SENDER:-auto}" --iface "$LAB_SCAN_IF" --dst-mac "$mac" --dst "$LAB_TGT_IP" \
		--dst6 "$LAB_TGT_IP6" --scan-src 198.51.100.11 --scan-sources 30 --scan-ports 1024 \
		--scan-share "$share" --v6-share "$v6" --count "$frames" >"$D/gen.json"
	gen_cpu1=$(child_cpu_s) soft1=$(softirq_s) busy1=$(busy_s)
	sleep 2 # let every peer catch up
	agent_cpu1=$(cpu_s "$agent_pid") tcpdump_cpu1=$(cpu_s "$tcpdump_pid")
	scanlogd_cpu1=$(cpu_s "$scanlogd_pid")

	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
	kill -TERM "$agent_pid"
	wait "$agent_pid" || true
	agent_pid=
	kill -TERM "$scanlogd_pid" "$syslogd_pid" 2>/dev/null || true
	scanlogd_pid= syslogd_pid=

	sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$D/tcpdump.err" >"$D/cap"
	sed -n 's/^\([0-9]*\) packets received by filter.*/\1/p' "$D/tcpdump.err" >"$D/recv"
	sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$D/tcpdump.err" >"$D/drop"
	scans=$(grep -c ' ports ' "$D/scanlogd.log" 2>/dev/null || true)

	# The scan's 30 sources (198.51.100.11 and up) that probescope named in a scanner record.
	jq -s '[.[] | select(.type == "scanner") | .src | select(startswith("198.51.100."))] | unique | length' \
		"$D/ps.json" >"$D/named"
	jq -n --slurpfile gen "$D/gen.json" --slurpfile ps <(jq -c 'select(.type == "stats")' "$D/ps.json") \
		--argjson named "$(cat "$D/named")" \
		--argjson cap "$(cat "$D/cap")" --argjson recv "$(cat "$D/recv")" \
		--argjson drop "$(cat "$D/drop")" --argjson scans "${scans:-0}" \
		--argjson agent_cpu "$(sub "$agent_cpu1" "$agent_cpu0")" \
		--argjson tcpdump_cpu "$(sub "$tcpdump_cpu1" "$tcpdump_cpu0")" \
		--argjson scanlogd_cpu "$(sub "$scanlogd_cpu1" "$scanlogd_cpu0")" \
		--argjson gen_cpu "$(sub "$gen_cpu1" "$gen_cpu0")" \
		--argjson softirq "$(sub "$soft1" "$soft0")" --argjson busy "$(sub "$busy1" "$busy0")" \
		--arg mode "$(grep -o '([a-z]* XDP)' "$D/agent.err" | head -1)" --arg mac "$mac" '
		$gen[0] as $g | ([$ps[].classes.tcp_syn // 0] | add) as $syn |
		{
			dst_mac: $mac,
			generator: $g.generator,
			xdp_mode: $mode,
			frames_redirected: $g.redirected,
			offered: $g.offered,
			offered_mix: {flood_v4: $g.flood_v4, scan_v4: $g.scan_v4, flood_v6: $g.flood_v6},
			ring_full_refused: $g.ring_full,
			offered_seconds: $g.seconds,
			offered_pps: $g.offered_pps,
			device_busy: ($g.device_busy // null),
			probescope: {
				packets: ([$ps[].packets] | add),
				tcp_syn: $syn,
				missed: ($g.offered - $syn),
				evictions: ([$ps[].maps.src_stats.evictions] | max),
				scanners_named: $named,
				cpu_s: $agent_cpu
			},
			tcpdump: {captured: $cap, received_by_filter: $recv, dropped_by_kernel: $drop,
				missed: ($g.offered - $cap), cpu_s: $tcpdump_cpu},
			scanlogd: {scans_logged: $scans, scanners_in_mix: 30, cpu_s: $scanlogd_cpu},
			generator_cpu_s: $gen_cpu,
			softirq_cpu_s: $softirq,
			machine_busy_cpu_s: $busy,
			target_met: ($g.offered == $syn)
		}' >"$TMP/$name.json"
}

lab_up
lab_add_addrs # the scanner addresses answer ARP, as real scanners would
mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs"
run_config delivered "$LAB_TGT_MAC"
# A monitor port: the same frames to a MAC that is not the target's, as a SPAN copy arrives.
# XDP and promiscuous tcpdump see them; the stack drops them (PACKET_OTHERHOST) before IP,
# so the receive path is cheaper, the offer faster, and scanlogd sees nothing.
run_config monitor 02:00:00:00:00:99
# The control: the same scanners' frames with no flood, delivered, the same peers watching.
control_frames=${LIVE_CONTROL_FRAMES:-$(awk -v f="$FRAMES" -v s="$SCAN_SHARE" 'BEGIN { printf "%d", f * s }')}
run_config control "$LAB_TGT_MAC" "$control_frames" 1 0

# Where the offered rate goes: the same monitor-port frames with no peers, into an empty
# XDP_PASS program and into probescope, for the scan alone (30 sources, known after their
# first frame) and the flood alone (a new source nearly every frame).
split_frames=${LIVE_SPLIT_FRAMES:-1000000}
offer() {
	in_scan "$BLAST" --sender "${BLAST_SENDER:-auto}" --iface "$LAB_SCAN_IF" --dst-mac 02:00:00:00:00:99 --dst "$LAB_TGT_IP" \
		--dst6 "$LAB_TGT_IP6" --scan-src 198.51.100.11 --scan-sources 30 --scan-ports 1024 \
		--count "$split_frames" "$@" | jq '{offered, seconds, offered_pps}'
}
PASS_PIN=/sys/fs/bpf/probescope-bench-live-$$
bpftool prog load "$BUILD_DIR/bpfgen/xdp_pass.bpf.o" "$PASS_PIN"
in_tgt bpftool net attach xdpdrv pinned "$PASS_PIN" dev "$LAB_TGT_IF"
offer --scan-share 1 >"$TMP/pass_scan.json"
offer --scan-share 0 >"$TMP/pass_flood.json"
in_tgt bpftool net detach xdpdrv dev "$LAB_TGT_IF"
rm -f "$PASS_PIN"
nsenter --net="/run/netns/$LAB_TGT" "$PS" run --iface "$LAB_TGT_IF" --mode native --interval 1 \
	--max-sources "$MAX_SOURCES" --no-rdns --socket none --pin-root "$TMP/bpffs/split" \
	--output /dev/null 2>"$TMP/split.err" &
agent_pid=$!
wait_for "$TMP/split.err" 10 "attached to"
offer --scan-share 1 >"$TMP/ps_scan.json"
offer --scan-share 0 >"$TMP/ps_flood.json"
kill -TERM "$agent_pid"
wait "$agent_pid" || true
agent_pid=

jq -n --slurpfile d "$TMP/delivered.json" --slurpfile m "$TMP/monitor.json" \
	--slurpfile k "$TMP/control.json" \
	--slurpfile a "$TMP/pass_scan.json" --slurpfile b "$TMP/pass_flood.json" \
	--slurpfile c "$TMP/ps_scan.json" --slurpfile e "$TMP/ps_flood.json" \
	'{delivered: $d[0], monitor: $m[0], control: $k[0],
	  offer_split: {xdp_pass: {scan: $a[0], flood: $b[0]}, probescope: {scan: $c[0], flood: $e[0]}}}' \
	>"$OUT/live.json"

jq -r '
	def table(t):
		"| \(t) | packets | missed | CPU s |",
		"|---|---|---|---|",
		"| offered (generator) | \(.offered) in \(.offered_seconds) s = \(.offered_pps) pps; \(.ring_full_refused) refused, ring full | | \(.generator_cpu_s) |",
		"| probescope (tcp_syn class; all frames \(.probescope.packets)) | \(.probescope.tcp_syn) | \(.probescope.missed) | \(.probescope.cpu_s) (agent; XDP runs in softirq) |",
		"| tcpdump (SYN filter): captured | \(.tcpdump.captured) (received by filter \(.tcpdump.received_by_filter), dropped by kernel \(.tcpdump.dropped_by_kernel)) | \(.tcpdump.missed) | \(.tcpdump.cpu_s) |",
		"| scanlogd: scans logged | \(.scanlogd.scans_logged) (of \(.scanlogd.scanners_in_mix) scanners) | | \(.scanlogd.cpu_s) |",
		"| probescope: scanners named (scanner records) | \(.probescope.scanners_named) (of \(.scanlogd.scanners_in_mix)) | | |",
		"",
		"Softirq CPU during the offer: \(.softirq_cpu_s) s; whole machine busy: \(.machine_busy_cpu_s) s. Target (probescope counts every frame offered): **\(if .target_met then "met" else "not met" end)**.",
		"";
	"## Live end to end (item 3)\n",
	"Generator: `probescope-blast` (\(.delivered.generator)): \(if (.delivered.generator | startswith("AF_PACKET")) then "this kernel refuses BPF_F_TEST_XDP_LIVE_FRAMES, so it writes each frame (bpf/gen_frame.h) in user space and sends it through an AF_PACKET socket bound to the scanner-side veth, the qdisc bypassed, into the target" else "bpf/gen_redirect.bpf.c writes each frame (bpf/gen_frame.h) into a live XDP frame and `bpf_redirect`s it out of the scanner-side veth into the target" end)",
	"namespace, where probescope is attached \(.delivered.xdp_mode). Mix: \(.delivered.offered_mix.flood_v4)",
	"spoofed IPv4 SYNs from 240.0.0.0/4 to port 80, \(.delivered.offered_mix.flood_v6) spoofed IPv6 SYNs from",
	"2001:db8::/32, and \(.delivered.offered_mix.scan_v4) nmap-shaped SYNs from 30 TEST-NET scanners walking",
	"ports 1-1024, all with valid checksums. \(if (.delivered.generator | startswith("AF_PACKET")) then "*Offered* is the frames the socket took: when the veth stops its queue because the target'\''s receive ring is full, the sender waits and sends the frame again (\(.delivered.device_busy // 0) times in the delivered run), so a veth that applies backpressure refuses none; one that does not drops them, and its `tx_dropped` is counted apart as refused" else "*Offered* is the veth'\''s own count of frames it put into the target'\''s receive ring (ethtool `tx_queue_*_xdp_xmit`); frames refused because that ring was full are counted apart" end). The target'\''s receive path (XDP, then the stack for XDP_PASS)",
	"runs in softirq on the generator'\''s CPU, so the offered rate is bounded by the target'\''s cost",
	"per frame, not by the generator. CPU: /proc/PID/stat utime+stime over the offer (the",
	"generator'\''s includes that softirq work), machine-wide softirq from /proc/stat. scanlogd",
	"logs at most 5 scans in 20 s (scanlogd(8): more stop its logging for a while), so its count is of",
	"log lines, at most 5 per 20 s; probescope'\''s is of the 30 scanners'\'' addresses in its `scanner`",
	"records.\n",
	"### Delivered to the target'\''s address (the stack takes every frame)\n",
	(.delivered | table("delivered")),
	"### Monitor port (frames to another MAC: XDP and promiscuous tcpdump see them, the stack drops them)\n",
	(.monitor | table("monitor")),
	"### Control: the scan alone, delivered (no flood)\n",
	"The same 30 scanners'"'"' frames (\(.control.offered_mix.scan_v4) generated, as many as in the mix; \(.control.offered) offered, \(.control.ring_full_refused) refused by the full ring), no flood, to the target'"'"'s address, with probescope, tcpdump and scanlogd as above: what the peers report when nothing crowds the scans out.\n",
	(.control | table("control")),
	"scanlogd logged \(.control.scanlogd.scans_logged) scan lines with the scan alone\(if .control.scanlogd.scans_logged >= 5 then " (its log'"'"'s limit)" else "" end) and \(.delivered.scanlogd.scans_logged) with the flood beside it; probescope named \(.control.probescope.scanners_named) and \(.delivered.probescope.scanners_named) of the 30 scanners, and counted every SYN offered: \(if .control.target_met and .delivered.target_met then "yes, in both" else "no" end).\n",
	(.delivered.offered_mix | (.scan_v4 + .flood_v6 + .flood_v4) as $n | (.scan_v4 * 1000 / $n | round) as $s | (.flood_v6 * 1000 / $n | round) as $v6 | (.flood_v4 * 1000 / $n | round) as $v4 |
		"What scanlogd can log beside the flood (from its source, openwall/scanlogd: scanlogd.c, params.h, in_linux.c): Debian'"'"'s build reads a raw AF_INET TCP socket, so it sees only the IPv4 TCP the host'"'"'s stack takes (none in the monitor run, no IPv6 ever). It keeps 256 source entries (LIST_SIZE) in a ring: each new address takes the entry created longest ago, used or not. It logs a source once the new ports it probed, at most 3 s apart, weigh 21 (3 for a port below 1024: 7 ports), within that entry'"'"'s life. The generator lays its frames out in blocks of 1000 (gen_redirect.bpf.c): \($s) scan frames round robin over the 30 scanners, then \($v6) IPv6 and \($v4) IPv4 flood frames, each IPv4 one from a new address. " +
		(if $v4 > 0 then ((($s / 30) * 256 / $v4 * 10 | round) / 10) as $ports | "A scanner'"'"'s entry lives for 256 new addresses, \(256 / $v4 * 100 | round / 100) blocks, in which the scanner sends about \($ports) ports: \(if $ports < 7 then "fewer than 7, so no scanner can be logged while the flood runs, however fast scanlogd reads (what it drops thins scanners and flood alike)" else "7 or more, so the scanners can be logged beside the flood" end). A one-off check with `LIVE_V6_SHARE` (same scan, the flood moved to IPv6): 200 IPv4 flood frames per block (2.1 ports per entry) still gave 0 logged scans, 50 per block (8.5 ports) gave 5 (its log'"'"'s limit)." else "No IPv4 flood frame takes a scanner'"'"'s entry." end) + "\n"),
	"### Where the offered rate goes\n",
	"The monitor-port frames again with no peers: one run each of the scan alone (30 sources, known after their first frame) and the IPv4 flood alone (a new source nearly every frame), into an empty XDP_PASS program and into probescope (agent running). Microseconds per frame are wall time on the generating CPU, the target'\''s receive path included.\n",
	"| target | scan: pps | scan: µs/frame | flood: pps | flood: µs/frame |",
	"|---|---|---|---|---|",
	(.offer_split | to_entries[] | "| \(.key) | \(.value.scan.offered_pps) | \(.value.scan.seconds / .value.scan.offered * 1e6 * 100 | round / 100) | \(.value.flood.offered_pps) | \(.value.flood.seconds / .value.flood.offered * 1e6 * 100 | round / 100) |"),
	""' "$OUT/live.json" >"$OUT/live.md"
cat "$OUT/live.md"
