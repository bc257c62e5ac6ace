#!/usr/bin/env bash
# End to end: real nmap SYN and UDP scans across a veth; the JSON must match a capture exactly.
. "$(dirname "$0")/common.sh"

lab_up
mount_private_bpffs
start_capture
start_agent
# An open port, so that the scanner's kernel answers the SYN-ACK with a RST.
nsenter --net="/run/netns/$LAB_TGT" ncat -l -k "$LAB_TGT_IP" 80 >/dev/null 2>&1 &
LISTENER_PID=$!
sleep 0.3

TCP_PORTS=20-60,80,443,8080
UDP_PORTS=53,123,161,1900,11211
in_scan nmap -sS -T5 -n -Pn -p "$TCP_PORTS" "$LAB_TGT_IP" >"$WORK/nmap-sS.txt"
in_scan nmap -sU -T5 -n -Pn -p "$UDP_PORTS" "$LAB_TGT_IP" >"$WORK/nmap-sU.txt"
in_scan nmap -6 -sS -T5 -n -Pn -p 22,80 "$LAB_TGT_IP6" >"$WORK/nmap-6.txt"
sleep 1
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null
stop_capture
stop_agent || { echo "FAIL agent exit status"; FAILED=1; }
umount_private_bpffs

SRC='.type=="source" and .src=="'$LAB_SCAN_IP'"'
SRC6='.type=="source" and .src=="'$LAB_SCAN_IP6'"'
SYN_FILTER="src host $LAB_SCAN_IP and tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst|tcp-fin) == tcp-syn"
cap_syn=$(cap_count "$SYN_FILTER")
cap_udp=$(cap_count "src host $LAB_SCAN_IP and udp")
cap_rst=$(cap_count "src host $LAB_SCAN_IP and tcp[tcpflags] & (tcp-rst|tcp-syn|tcp-fin) == tcp-rst")
cap_syn6=$(cap_count "src host $LAB_SCAN_IP6 and ip6[6] == 6 and ip6[53] & 0x17 == 0x02")

[ "$cap_syn" -ge 44 ] || { echo "FAIL the capture holds only $cap_syn SYNs"; FAILED=1; }
[ "$cap_rst" -ge 1 ] || { echo "FAIL the capture holds no RST from the scanner"; FAILED=1; }
expect_eq "SYNs from nmap -sS (JSON vs capture)" "$(json_sum "$SRC" .packets.tcp_syn)" "$cap_syn"
expect_eq "UDP probes from nmap -sU (JSON vs capture)" "$(json_sum "$SRC" .packets.udp)" "$cap_udp"
expect_eq "RSTs from the scanner's kernel (JSON vs capture)" "$(json_sum "$SRC" .packets.tcp_rst)" "$cap_rst"
expect_eq "IPv6 SYNs (JSON vs capture)" "$(json_sum "$SRC6" .packets.tcp_syn)" "$cap_syn6"
expect_eq "stats tcp_syn total (JSON vs capture)" \
	"$(json_sum '.type=="stats"' .classes.tcp_syn)" "$((cap_syn + cap_syn6))"
expect_eq "stats SYN flag row (JSON vs capture)" \
	"$(json_sum '.type=="stats"' '(.tcp_flags[] | select(.value==2) | .packets)')" "$((cap_syn + cap_syn6))"

# Per port: every scanned port's packets equal the capture's count for that port (v4 + v6).
for spec in tcp/22 tcp/23 tcp/80 tcp/443 tcp/8080 udp/53 udp/1900; do
	proto=${spec%/*} port=${spec#*/}
	if [ "$proto" = tcp ]; then
		want=$(( $(cap_count "src host $LAB_SCAN_IP and tcp dst port $port and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn") +
			$(cap_count "src host $LAB_SCAN_IP6 and ip6[6] == 6 and ip6[42:2] == $port and ip6[53] & 0x12 == 0x02") ))
	else
		want=$(cap_count "src host $LAB_SCAN_IP and udp dst port $port")
	fi
	expect_eq "$spec packets (JSON vs capture)" \
		"$(json_sum '.type=="port" and .proto=="'$proto'" and .port=='$port'' .packets)" "$want"
done

# Distinct ports: 44 TCP + 5 UDP, more than the 16 exact slots, so an estimate within 10%.
ports=$(jq -s '[.[] | select('"$SRC"')] | last | .distinct_ports.value' "$WORK/out.json")
if [ "$ports" -ge 44 ] && [ "$ports" -le 54 ]; then echo "ok   distinct ports: $ports (true 49)"; else
	echo "FAIL distinct ports: $ports, want 49 +-10%"; FAILED=1; fi
expect_eq "distinct destinations" "$(jq -s '[.[] | select('"$SRC"')] | last | .distinct_dsts.value' "$WORK/out.json")" 1
expect_eq "no XDP program left on the target" \
	"$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 0
expect_eq "no pins left" "$(ls "$WORK/bpffs" 2>/dev/null | wc -l)" 0
exit $FAILED
