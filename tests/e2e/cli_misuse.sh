#!/usr/bin/env bash
# Misuse of `probescope run`: each case ends with one clear message, a non-zero exit, and
# nothing attached or pinned afterwards.
. "$(dirname "$0")/common.sh"
BPFGEN=${2:?usage: $0 PROBESCOPE BPFGEN_DIR}

lab_up
mount_private_bpffs
PIN_ROOT=$WORK/bpffs/probescope

# expect_refusal NAME PATTERN COMMAND...: non-zero exit, PATTERN on stderr, nothing left.
expect_refusal() {
	local name=$1 pattern=$2
	shift 2
	# A refusal is immediate; a run that is not refused is stopped, and fails the case.
	timeout 20 "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	local rc=$?
	if [ $rc -ne 0 ] && grep -qi -- "$pattern" "$WORK/stderr"; then
		echo "ok   $name: exit $rc, $(head -1 "$WORK/stderr")"
	else
		echo "FAIL $name: exit $rc, stderr:"; cat "$WORK/stderr"; FAILED=1
	fi
	if [ -e "$PIN_ROOT" ]; then
		echo "FAIL $name left pins: $(find "$PIN_ROOT")"; FAILED=1
		rm -rf "$PIN_ROOT"
	fi
	# Nothing attached either, unless the case itself attached a foreign program first.
	if [ "${FOREIGN_XDP:-0}" = 0 ] && in_tgt ip -o link show dev "$LAB_TGT_IF" | grep -q 'xdp'; then
		echo "FAIL $name left XDP attached: $(in_tgt ip -o link show dev "$LAB_TGT_IF")"; FAILED=1
	fi
}

RUN_TGT=(nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --pin-root "$PIN_ROOT")

expect_refusal "missing interface" "no such network interface" "${RUN_TGT[@]}" --iface nosuch0
expect_refusal "interval 0" "interval must be more than 0" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval 0
expect_refusal "negative interval" "interval must be more than 0" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval -1
expect_refusal "interval not a number" "could not be converted\|invalid\|interval" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval soon
expect_refusal "unknown flag" "--bogus\|not expected\|extra" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --bogus
expect_refusal "unknown mode" "unknown XDP mode" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --mode turbo
expect_refusal "map size 0" "max-sources must be at least 1" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources 0
expect_refusal "map size beyond memory" "kernel memory" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources 4000000000
expect_refusal "no iface at all" "iface is required\|--iface" "$PROBESCOPE" run
expect_refusal "bpffs not mounted" "bpffs is not mounted" \
	nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --iface "$LAB_TGT_IF" --pin-root "$WORK/plain/probescope"
expect_refusal "not root" "not enough privilege" \
	nsenter --net="/run/netns/$LAB_TGT" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all "$PROBESCOPE" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
expect_refusal "map size beyond 32 bits" "Could not convert: --max-sources = 5000000000" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources 5000000000
expect_refusal "negative map size" "Could not convert: --max-sources = -1" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --max-sources -1
expect_refusal "interval NaN" "interval must be more than 0" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --interval nan
expect_refusal "negative source records" "Could not convert: --source-records = -5" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --source-records -5
expect_refusal "source records not a number" "Could not convert: --source-records = many" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --source-records many

# Malformed CIDRs, where a CIDR is a command-line value (replay --dst; it refuses before loading).
expect_refusal "CIDR prefix too long" "--dst '192.0.2.0/33' is not an address or CIDR" \
	"$PROBESCOPE" replay --dst 192.0.2.0/33 "$WORK/none.pcap"
expect_refusal "CIDR octet out of range" "--dst '300.1.2.3/8' is not an address or CIDR" \
	"$PROBESCOPE" replay --dst 300.1.2.3/8 "$WORK/none.pcap"
expect_refusal "CIDR v6 prefix too long" "--dst '2001:db8::/129' is not an address or CIDR" \
	"$PROBESCOPE" replay --dst 2001:db8::/129 "$WORK/none.pcap"
# Research lists (CIDRs in a file): a missing file, and JSON that does not parse.
expect_refusal "research list missing" "--research-list: File does not exist: $WORK/none.json" \
	"${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --research-list "$WORK/none.json"
printf '{"name": "x", "list": ["192.0.2.0/24",\n' >"$WORK/truncated.json"
expect_refusal "research list: broken JSON" "truncated.json:2:1: invalid JSON: " \
	"${RUN_TGT[@]}" --iface "$LAB_TGT_IF" --research-list "$WORK/truncated.json"

# Config files that cannot be read or do not parse: refused before anything is loaded. Root reads
# a mode 000 file, so that case runs as nobody (the read fails before the privilege check would).
CFG_TGT=(nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" --config)
expect_refusal "config missing" "$WORK/none.toml was not readable (missing?)" \
	"${CFG_TGT[@]}" "$WORK/none.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
expect_refusal "config is a directory" "$WORK was not readable (missing?)" \
	"${CFG_TGT[@]}" "$WORK" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
printf '[run]\ninterval = 1\n' >"$WORK/secret.toml"
chmod 000 "$WORK/secret.toml"
chmod 755 "$WORK"
expect_refusal "config unreadable (mode 000, not root)" "$WORK/secret.toml was not readable (missing?)" \
	nsenter --net="/run/netns/$LAB_TGT" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all "$PROBESCOPE" --config "$WORK/secret.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
printf '[run]\nintervall = 5\n' >"$WORK/typo.toml"
expect_refusal "config misspelt key" "INI was not able to parse run.intervall" \
	"${CFG_TGT[@]}" "$WORK/typo.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
printf '[run\ninterval = 5\n' >"$WORK/section.toml"
expect_refusal "config broken section" "INI was not able to parse \[run" \
	"${CFG_TGT[@]}" "$WORK/section.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
printf '[run]\ninterval = 0\n' >"$WORK/zero.toml"
expect_refusal "config interval 0" "interval must be more than 0" \
	"${CFG_TGT[@]}" "$WORK/zero.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"
printf '[run]\nmax-sources = 4000000000\n' >"$WORK/huge.toml"
expect_refusal "config map size beyond memory" "kernel memory" \
	"${CFG_TGT[@]}" "$WORK/huge.toml" run --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT"

# Someone else's XDP program: refused without --force, and left in place.
if ! in_tgt ip link set dev "$LAB_TGT_IF" xdpdrv obj "$BPFGEN/xdp_pass.bpf.o" sec xdp; then
	echo "FAIL could not attach $BPFGEN/xdp_pass.bpf.o as the foreign program"
	exit 1
fi
FOREIGN_XDP=1 expect_refusal "foreign XDP program" "already has an XDP program attached" "${RUN_TGT[@]}" --iface "$LAB_TGT_IF"
expect_eq "foreign program still attached" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -o 'name xdp_pass\|prog/xdp id [0-9]*' | head -1 | cut -c1-12)" "prog/xdp id "
# With --force it is replaced, and at exit nothing is left.
nsenter --net="/run/netns/$LAB_TGT" "$PROBESCOPE" run --pin-root "$PIN_ROOT" --iface "$LAB_TGT_IF" \
	--force --output "$WORK/force.json" 2>"$WORK/force.err" &
AGENT_PID=$!
wait_for "$WORK/force.err" 10 "attached to"
grep -q "replaced the XDP program" "$WORK/force.err" && echo "ok   --force warns that it replaced" || { echo "FAIL no replace warning"; FAILED=1; }
stop_agent
expect_eq "nothing attached after --force run" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c 'prog/xdp')" 0
expect_eq "no pins after --force run" "$(find "$PIN_ROOT" 2>/dev/null | wc -l)" 0

umount_private_bpffs
exit $FAILED
