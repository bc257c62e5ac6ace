#!/usr/bin/env bash
# Installs, from Debian 12's packages, everything probescope's build, tests and demo need.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config clang llvm
	libclang-rt-14-dev # clang 14's libFuzzer and sanitizer runtimes (only recommended by clang)
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libcli11-dev libgtest-dev nlohmann-json3-dev libpcap-dev libncurses-dev
	robin-map-dev # tsl::robin_map: the agent's per-source index (user/source_table.h)
	iproute2 util-linux procps nmap hping3 zmap masscan tcpdump ncat jq tmux
	logrotate # tests/e2e/sighup_reload.sh rotates the output with a real logrotate config
	systemd # systemd-analyze verify and security, for the unit in packaging/systemd
	scanlogd busybox-static # the peer detector in bench/live.sh, and its private syslogd
	qemu-system-x86 xz-utils # vmtest/: LTS kernels under qemu (busybox-static, above: their initramfs)
	linux-perf # bench/xdp.sh: cpu-clock profile of the XDP program (no PMU needed)
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpffs is not mounted on a fresh machine (shared/ENVIRONMENT.md).
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mount -t bpf bpf /sys/fs/bpf
fi
