# Sourced by scripts and tests: a throwaway lab of two network namespaces joined by veth.
# Scanner 198.51.100.1 (and 2001:db8:100::1), target 198.51.100.2 (and 2001:db8:100::2).
# No default route is ever added; every name carries this shell's PID so labs never collide.

LAB_ID=${LAB_ID:-$$}
LAB_SCAN=ps-scan-$LAB_ID
LAB_TGT=ps-tgt-$LAB_ID
LAB_SCAN_IF=vs$LAB_ID
LAB_TGT_IF=vt$LAB_ID
LAB_SCAN_IP=198.51.100.1
LAB_TGT_IP=198.51.100.2
LAB_SCAN_IP6=2001:db8:100::1
LAB_TGT_IP6=2001:db8:100::2

lab_up() {
	ip netns add "$LAB_SCAN"
	ip netns add "$LAB_TGT"
	ip link add "$LAB_SCAN_IF" netns "$LAB_SCAN" type veth peer name "$LAB_TGT_IF" netns "$LAB_TGT"
	ip -n "$LAB_SCAN" addr add "$LAB_SCAN_IP/24" dev "$LAB_SCAN_IF"
	ip -n "$LAB_TGT" addr add "$LAB_TGT_IP/24" dev "$LAB_TGT_IF"
	ip -n "$LAB_SCAN" -6 addr add "$LAB_SCAN_IP6/64" dev "$LAB_SCAN_IF" nodad
	ip -n "$LAB_TGT" -6 addr add "$LAB_TGT_IP6/64" dev "$LAB_TGT_IF" nodad
	ip -n "$LAB_SCAN" link set lo up
	ip -n "$LAB_TGT" link set lo up
	ip -n "$LAB_SCAN" link set "$LAB_SCAN_IF" up
	ip -n "$LAB_TGT" link set "$LAB_TGT_IF" up
	# Native XDP on a veth needs the peer to have an XDP program or GRO; a pass-through
	# program is not needed on 6.x, but the peer must be up before traffic flows.
	LAB_TGT_MAC=$(ip -n "$LAB_TGT" -br link show "$LAB_TGT_IF" | awk '{print $3}')
	LAB_SCAN_MAC=$(ip -n "$LAB_SCAN" -br link show "$LAB_SCAN_IF" | awk '{print $3}')
}

# Runs a command in the target's network namespace only. Unlike `ip netns exec`, this
# keeps the host's mounts, so /sys/fs/bpf pins stay visible (see shared/ENVIRONMENT.md).
in_tgt() { nsenter --net="/run/netns/$LAB_TGT" "$@"; }
in_scan() { ip netns exec "$LAB_SCAN" "$@"; }

lab_down() {
	ip netns del "$LAB_SCAN" 2>/dev/null
	ip netns del "$LAB_TGT" 2>/dev/null
	return 0
}

# More lab addresses: scanners 198.51.100.11-40, targets 198.51.100.96-127 (a /27 to sweep).
lab_add_addrs() {
	local i
	for i in $(seq 11 40); do ip -n "$LAB_SCAN" addr add "198.51.100.$i/24" dev "$LAB_SCAN_IF"; done
	for i in $(seq 96 127); do ip -n "$LAB_TGT" addr add "198.51.100.$i/24" dev "$LAB_TGT_IF"; done
}

# child_cpu_s: CPU seconds (user + system) this shell's reaped children used, from /proc/$$/stat.
child_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' "/proc/$$/stat"; }

# wait_for FILE SECS PATTERN: polls FILE until PATTERN shows up; prints FILE on a time-out.
wait_for() {
	local file=$1 secs=$2 pattern=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$pattern' in $file:" >&2
	cat "$file" >&2
	return 1
}

# require_built WHO FILE...: stops unless every build output exists.
require_built() {
	local who=$1 f
	shift
	for f; do
		[ -e "$f" ] || { echo "$who: no $f: build it (scripts/build.sh)" >&2 && exit 1; }
	done
}

# require_cmds WHO COMMAND...: stops unless every command is installed.
require_cmds() {
	local who=$1 c
	shift
	for c; do
		command -v "$c" >/dev/null || { echo "$who: $c is missing: run scripts/deps.sh" >&2 && exit 1; }
	done
}
