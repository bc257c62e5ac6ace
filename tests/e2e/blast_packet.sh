#!/usr/bin/env bash
# The benchmarks' generator, probescope-blast, through its AF_PACKET sender (the one bench/live.sh
# falls back to where the kernel refuses live XDP frames): the mix it reports is the mix it
# sent, every frame it says it offered reached the target, each a SYN whose checksums a capture
# finds correct, and probescope counted every one of them and named the 30 scanners.
. "$(dirname "$0")/common.sh"
BLAST=${4:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN PROBESCOPE_BLAST}
FRAMES=20000

lab_up
mount_private_bpffs
start_capture
start_agent --no-rdns
in_scan "$BLAST" --sender packet --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" \
	--dst "$LAB_TGT_IP" --dst6 "$LAB_TGT_IP6" --scan-src 198.51.100.11 --scan-sources 30 \
	--scan-ports 1024 --scan-share 0.05 --v6-share 0.1 --count "$FRAMES" --seed 3 >"$WORK/gen.json"
sleep 1
stop_capture
stop_agent || { echo "FAIL agent exit status"; FAILED=1; }
umount_private_bpffs

gen() { jq -r ".$1" "$WORK/gen.json"; }
expect_eq "the sender named" "$(gen generator)" "AF_PACKET sendmmsg, batch 256, qdisc bypassed"
expect_eq "frames written" "$(gen redirected)" "$FRAMES"
expect_eq "the mix: IPv4 flood, scan, IPv6 flood" "$(gen flood_v4) $(gen scan_v4) $(gen flood_v6)" \
	"17000 1000 2000"
offered=$(gen offered)
expect_eq "offered and refused add up to the frames written" "$((offered + $(gen ring_full)))" "$FRAMES"
[ "$offered" -gt $((FRAMES * 9 / 10)) ] && echo "ok   offered: $offered" ||
	{ echo "FAIL offered only $offered of $FRAMES"; FAILED=1; }

# The capture, on the target's veth: the generator's SYNs, and their checksums as tcpdump
# verifies them (-vv).
SYN_FILTER="(tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02))"
expect_eq "SYNs captured = offered" "$(cap_count "$SYN_FILTER")" "$offered"
cap_v4=$(cap_count "src net 240.0.0.0/4 and tcp dst port 80 and $SYN_FILTER")
cap_scan=$(cap_count "src net 198.51.100.0/24 and tcp dst portrange 1-1024 and $SYN_FILTER")
cap_v6=$(cap_count "ip6 and src net 2001:db8::/32 and not src host $LAB_SCAN_IP6 and tcp dst port 80")
expect_eq "captured: IPv4 flood + scan + IPv6 flood = offered" "$((cap_v4 + cap_scan + cap_v6))" "$offered"
[ "$cap_v4" -le 17000 ] && [ "$cap_scan" -le 1000 ] && [ "$cap_v6" -le 2000 ] &&
	[ "$cap_scan" -gt 900 ] && echo "ok   captured per mode: $cap_v4 $cap_scan $cap_v6" ||
	{ echo "FAIL captured per mode: $cap_v4 $cap_scan $cap_v6"; FAILED=1; }
expect_eq "checksums tcpdump finds wrong" \
	"$(tcpdump -n -vv -r "$WORK/cap.pcap" "$SYN_FILTER" 2>/dev/null | grep -cE 'incorrect|bad cksum')" 0
expect_eq "checksums tcpdump finds right (IPv4 header and TCP, IPv6 TCP)" \
	"$(tcpdump -n -vv -r "$WORK/cap.pcap" "$SYN_FILTER" 2>/dev/null | grep -c 'cksum 0x[0-9a-f]* (correct)')" \
	"$offered"

# probescope: every offered SYN in its totals, and the 30 scanners named.
expect_eq "SYNs counted by probescope = offered" "$(json_sum '.type=="stats"' .classes.tcp_syn)" "$offered"
expect_eq "scanners named" "$(jq -s '[.[] | select(.type=="scanner") | .src | select(startswith("198.51.100."))] | unique | length' "$WORK/out.json")" 30
exit $FAILED
