#!/usr/bin/env bash
# Thresholds from a config file take effect (and the command line overrides them); a bad
# config file is refused with a clear message before anything is attached.
. "$(dirname "$0")/common.sh"

lab_up
mount_private_bpffs
# 30 ports: a vertical scan at the default 15 (and by scanlogd weight), not with the config file.
printf '[run]\nvertical-ports = 40\nscanlogd-weight = 1000\nno-rdns = true\n' >"$WORK/high.toml"
scan_30() { in_scan nmap -sS -T5 -n -Pn -p 1-30 "$LAB_TGT_IP" >/dev/null 2>&1; }
scanners() { jq -s '[.[] | select(.type=="scanner")] | length' "$WORK/out.json"; }

PROBESCOPE_PRE=(--config "$WORK/high.toml")
start_agent
scan_30
sleep 1
stop_agent
expect_eq "config vertical-ports = 40: 30 ports are no vertical scan" "$(scanners)" 0

rm -f "$WORK/out.json"
start_agent --vertical-ports 25 --scanlogd-weight 1000
scan_30
sleep 1
stop_agent
expect_eq "--vertical-ports 25 on the command line overrides the file" "$(scanners)" 1

PROBESCOPE_PRE=()
printf '[run]\nvertical-ports = "many"\n' >"$WORK/bad.toml"
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" --config "$WORK/bad.toml" run --iface "$LAB_TGT_IF" \
	--pin-root "$WORK/bpffs/probescope" >/dev/null 2>"$WORK/bad.err"
rc=$?
expect_eq "bad config value refused" "$rc:$(grep -c 'vertical-ports' "$WORK/bad.err")" "104:1"
expect_eq "nothing attached after a bad config" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'prog/xdp')" 0
umount_private_bpffs
exit $FAILED
