#!/usr/bin/env bash
# End to end: real scanners, one lab source address each, must come out with the right
# technique, pattern and tool; a real client, a spoofed flood and backscatter must not be scanners.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}

lab_up
lab_add_addrs
mount_private_bpffs
NET=198.51.100
SWEEP=$NET.96/27
# A research-scanner list in the MISP warninglist format, written by the test.
cat >"$WORK/research.json" <<JSON
{"description": "test list", "name": "Shodan", "type": "cidr", "list": ["$NET.28/32"]}
JSON
start_capture
start_agent --no-rdns --research-list "$WORK/research.json"
nsenter --net="/run/netns/$LAB_TGT" ncat -l -k "$LAB_TGT_IP" 80 -c 'printf "HTTP/1.0 200 OK\r\n\r\nhello\n"' \
	>/dev/null 2>&1 &
LISTENER_PID=$!
sleep 0.3

nm() { in_scan nmap "$@" -T5 -n -Pn --max-retries 1 -e "$LAB_SCAN_IF" >/dev/null 2>&1; }
nm -sS -S $NET.11 -p 1-30 "$LAB_TGT_IP"
nm -sF -S $NET.12 -p 1-30 "$LAB_TGT_IP"
nm -sN -S $NET.13 -p 1-30 "$LAB_TGT_IP"
nm -sX -S $NET.14 -p 1-30 "$LAB_TGT_IP"
nm -sM -S $NET.15 -p 1-30 "$LAB_TGT_IP"
nm -sA -S $NET.16 -p 1-30 "$LAB_TGT_IP"
nm -sU -S $NET.17 -p 1-20 "$LAB_TGT_IP"
nm -sS -S $NET.28 -p 1-30 "$LAB_TGT_IP"
echo >"$WORK/empty.conf"
in_scan zmap -q -i "$LAB_SCAN_IF" -S $NET.21 -G "$LAB_TGT_MAC" -b "$WORK/empty.conf" -p 80 -r 2000 \
	-c 1 "$SWEEP" >/dev/null 2>&1
in_scan timeout 20 masscan --adapter "$LAB_SCAN_IF" --adapter-ip $NET.22 --router-mac "$LAB_TGT_MAC" \
	-p 22,80,443 "$SWEEP" --rate 2000 --wait 1 >/dev/null 2>&1
in_scan timeout 20 masscan --adapter "$LAB_SCAN_IF" --adapter-ip $NET.23 --router-mac "$LAB_TGT_MAC" \
	-pU:53,U:123,U:161,U:1900,U:11211 "$SWEEP" --rate 2000 --wait 1 >/dev/null 2>&1
in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode mirai --src $NET.25 \
	--dst $NET.96 --dst-count 32 --dport 23 --count 32 >/dev/null
in_scan hping3 -q -a $NET.24 -S -F -p 80 -c 4 -i u100000 "$LAB_TGT_IP" >/dev/null 2>&1
in_scan hping3 -q -a $NET.26 -S -A -p ++4000 -c 6 -i u100000 "$LAB_TGT_IP" >/dev/null 2>&1
for i in 1 2 3 4 5; do
	in_scan ncat -s $NET.27 "$LAB_TGT_IP" 80 </dev/null >/dev/null 2>&1
done
in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode syn-flood --src 240.0.0.0/4 \
	--dst "$LAB_TGT_IP" --dport 8080 --count 3000 >/dev/null
sleep 1.5
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null
stop_agent || { echo "FAIL agent exit status"; FAILED=1; }
stop_capture
umount_private_bpffs

# expect_scanner SRC TECHNIQUE PATTERN TOOL [LABEL]: the first scanner record of SRC.
first() { jq -sc "[.[] | select(.type==\"scanner\" and .src==\"$1\")] | first // {}" "$WORK/out.json"; }
expect_scanner() {
	local src=$1 tech=$2 pattern=$3 tool=$4 label=${5:-} rec
	rec=$(first "$src")
	local got
	got="$(jq -r '[(.techniques // [])[0], .pattern, (.tool.name // "none")] | join(" ")' <<<"$rec")"
	expect_eq "$src: technique pattern tool" "$got" "$tech $pattern $tool"
	[ -n "$label" ] && expect_eq "$src: label $label" "$(jq -r "(.labels // []) | index(\"$label\") != null" <<<"$rec")" true
	printf '| %s | %s | %s | %s | %s | %.2f s |\n' "$src" "$(jq -r '.techniques | join(",")' <<<"$rec")" \
		"$(jq -r .pattern <<<"$rec")" "$(jq -r '.tool.name + " " + (.tool.confidence|tostring)' <<<"$rec")" \
		"$(jq -r '.labels | join(",")' <<<"$rec")" "$(jq -r '.detect_s // 0' <<<"$rec")" >>"$WORK/table.md"
}
expect_scanner $NET.11 syn vertical nmap
expect_scanner $NET.12 fin vertical nmap
expect_scanner $NET.13 null vertical nmap
expect_scanner $NET.14 xmas vertical nmap
expect_scanner $NET.15 maimon vertical nmap
expect_scanner $NET.16 ack vertical nmap
expect_scanner $NET.17 udp vertical nmap
expect_scanner $NET.28 syn vertical nmap research:Shodan
expect_scanner $NET.21 syn horizontal zmap
expect_scanner $NET.22 syn strobe masscan
expect_scanner $NET.23 udp strobe masscan reflector:dns_version_bind
expect_scanner $NET.25 syn horizontal mirai
expect_scanner $NET.24 syn_fin repeated unknown

# Negatives.
expect_eq "real client $NET.27 is no scanner" \
	"$(jq -s "[.[] | select(.type==\"scanner\" and .src==\"$NET.27\")] | length" "$WORK/out.json")" 0
expect_eq "real client $NET.27 was seen" \
	"$(json_sum ".type==\"source\" and .src==\"$NET.27\"" .packets.tcp_syn)" 5
expect_eq "SYN-ACKs from $NET.26 are backscatter, not a scanner" \
	"$(jq -s "[.[] | select(.type==\"scanner\" and .src==\"$NET.26\")] | length" "$WORK/out.json")" 0
expect_eq "backscatter record names $NET.26" \
	"$(jq -s "[.[] | select(.type==\"backscatter\") | .top_victims[] | select(.src==\"$NET.26\")] | length > 0" "$WORK/out.json")" true
expect_eq "the spoofed flood is one flood record" \
	"$(jq -s '[.[] | select(.type=="flood" and .phase=="start" and .port==8080)] | length' "$WORK/out.json")" 1
expect_eq "no scanner from the spoofed range" \
	"$(jq -s '[.[] | select(.type=="scanner" and (.src | startswith("24") or startswith("25")))] | length' "$WORK/out.json")" 0
flood_src=$(jq -s '[.[] | select(.type=="flood" and .phase=="end")] | first | .sources // 0' "$WORK/out.json")
[ "$flood_src" -ge 2500 ] && echo "ok   flood sources counted: $flood_src" || { echo "FAIL flood sources: $flood_src"; FAILED=1; }

# Replay of the same run's capture (the target's veth, both directions) through the same XDP
# program: --dst keeps only what came toward the target, and the verdicts must be the live ones.
"$PROBESCOPE" replay "$WORK/cap.pcap" --dst "$LAB_TGT_IP" --dst "$SWEEP" --interval 0.5 \
	--research-list "$WORK/research.json" -o "$WORK/replay.json" 2>"$WORK/replay.err" ||
	{ echo "FAIL replay exit status: $(cat "$WORK/replay.err")"; FAILED=1; }
verdicts() {
	jq -sr '[.[] | select(.type=="scanner")] | group_by(.src) | map(last) | .[] |
		"\(.src) \(.techniques[0]) \(.pattern) \(.tool.name // "none") \(.labels | join(","))"' "$1" | sort
}
verdicts "$WORK/out.json" >"$WORK/live.txt"
verdicts "$WORK/replay.json" >"$WORK/replayed.txt"
if diff -u "$WORK/live.txt" "$WORK/replayed.txt" >"$WORK/verdicts.diff"; then
	echo "ok   replay gives the live verdicts for all $(wc -l <"$WORK/live.txt") scanners"
else
	echo "FAIL replay verdicts differ from live:"; cat "$WORK/verdicts.diff"; FAILED=1
fi
expect_eq "replay: the flood is one flood" \
	"$(jq -s '[.[] | select(.type=="flood" and .phase=="start")] | length' "$WORK/replay.json")" 1

echo "| source | techniques | pattern | tool | labels | first packet to record |"
echo "|---|---|---|---|---|---|"
cat "$WORK/table.md"
exit $FAILED
