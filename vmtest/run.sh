#!/usr/bin/env bash
# Boots Debian's LTS kernels under qemu and runs vmtest/suite.sh inside each; "host" runs the
# same suite on this machine's kernel. One result line per kernel; non-zero exit on any failure.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: vmtest/run.sh [--quick | --verifier-only | --unsafe-check] [--object FILE] [--build-dir DIR]
                     [--timeout SECS] [KERNEL...]

KERNEL is 6.1, 6.12 (the newest Debian cloud kernel of that series in the apt sources), an
exact package name (linux-image-6.1.0-56-cloud-amd64), or "host". Default: 6.1 6.12 host.

  --unsafe-check   build the BPF object with -DPROBESCOPE_BPF_UNSAFE=ON (a read past the packet
                   end) in build-vm-unsafe/ and pass only if every kernel's verifier rejects it
  --quick          the load check and the attach-and-count test, not the BPF_PROG_TEST_RUN cases
  --verifier-only  only load the object on each kernel (the first step of the suite)
  --object FILE    with --verifier-only or --unsafe-check: load this object, build nothing
  --build-dir DIR  build to test (default build-vm/; the needed targets are built there)
  --timeout SECS   bound on each guest (default 1200, or $VMTEST_TIMEOUT)

Environment: VMTEST_CACHE (default vmtest/.cache), VMTEST_BOOT_TIMEOUT (default 300: a guest
whose suite has not started by then hung booting, and is stopped and booted again, 3 boots at most), VMTEST_SMP (guest CPUs, default 2: the per-CPU port counters are summed across two),
VMTEST_ACCEL (kvm or tcg; default kvm when /dev/kvm and vmx/svm are there, else tcg),
VMTEST_KEEP_LOGS=1 (keep the serial logs in the cache's logs/).
EOF
}

VMTEST_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(dirname "$VMTEST_DIR")
CACHE=${VMTEST_CACHE:-$VMTEST_DIR/.cache}
TIMEOUT=${VMTEST_TIMEOUT:-1200}
BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-300}
SMP=${VMTEST_SMP:-2}
BUILD_DIR=$SRC_DIR/build-vm
UNSAFE=0
ONLY=      # "verifier": the load check alone; "quick": no BPF_PROG_TEST_RUN cases
OBJECT=
KERNELS=()

die() {
	echo "vmtest: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--unsafe-check) UNSAFE=1 && ONLY=verifier ;;
	--verifier-only) ONLY=verifier ;;
	--quick) ONLY=quick ;;
	--object) OBJECT=$(realpath -m "${2:?--object needs a file}") && shift ;;
	--build-dir) BUILD_DIR=$(realpath -m "${2:?--build-dir needs a directory}") && shift ;;
	--timeout) TIMEOUT=${2:?--timeout needs seconds} && shift ;;
	-h | --help) usage && exit 0 ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*) KERNELS+=("$1") ;;
	esac
	shift
done
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1 6.12 host)
[ -z "$OBJECT" ] || [ "$ONLY" = verifier ] || die "--object needs --verifier-only or --unsafe-check"
[ -z "$OBJECT" ] || [ -f "$OBJECT" ] || die "no such BPF object: $OBJECT"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, got '$TIMEOUT'"
[[ $BOOT_TIMEOUT =~ ^[0-9]+$ ]] || die "VMTEST_BOOT_TIMEOUT wants whole seconds, got '$BOOT_TIMEOUT'"
[ "$(id -u)" -eq 0 ] || die "run as root (it loads BPF programs and makes network namespaces)"
for tool in qemu-system-x86_64 busybox apt-get dpkg-deb xz bpftool jq ip nsenter; do
	command -v "$tool" >/dev/null || die "$tool is missing: run scripts/deps.sh"
done

WORK=$(mktemp -d /tmp/vmtest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CACHE/logs"

# The binaries and the object under test, built in their own build directory.
build() {
	[ -z "$OBJECT" ] || return 0
	if [ "$UNSAFE" -eq 1 ]; then
		BUILD_DIR=$SRC_DIR/build-vm-unsafe
		cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DPROBESCOPE_BPF_UNSAFE=ON -DPROBESCOPE_TESTS=OFF \
			>"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2 && die "cmake failed"; }
		cmake --build "$BUILD_DIR" --target probescope_skel_gen >"$WORK/build.log" 2>&1 ||
			{ tail -40 "$WORK/build.log" >&2 && die "building the unsafe object failed"; }
		return
	fi
	local targets=(probescope probescope_bpf_tests probescope-gen)
	[ "$ONLY" = quick ] && targets=(probescope probescope-gen)
	[ "$ONLY" = verifier ] && targets=(probescope_skel_gen)
	if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
		cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 ||
			{ cat "$WORK/cmake.log" >&2 && die "cmake failed"; }
	fi
	cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}" \
		>"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2 && die "build failed"; }
}

# BIN: what suite.sh runs, stripped (a smaller initramfs unpacks faster under emulation).
stage_binaries() {
	BIN=$WORK/bin
	mkdir -p "$BIN"
	cp "${OBJECT:-$BUILD_DIR/bpfgen/probescope.bpf.o}" "$BIN/probescope.bpf.o"
	[ "$ONLY" = verifier ] && return
	local f
	for f in user/probescope tests/bpf/probescope_bpf_tests tests/tools/probescope-gen; do
		[ "$ONLY" = quick ] && [[ $f == */probescope_bpf_tests ]] && continue
		[ -x "$BUILD_DIR/$f" ] || die "$BUILD_DIR/$f is missing"
		strip -o "$BIN/$(basename "$f")" "$BUILD_DIR/$f"
	done
}

# The package for a series: the newest linux-image-<series>...-cloud-amd64 apt knows of.
resolve_package() {
	local want=$1 re pkg
	case $want in
	linux-image-*) echo "$want" && return ;;
	[0-9]*.[0-9]*) ;;
	*) die "unknown kernel '$want': use 6.1, 6.12, host or a linux-image-*-cloud-amd64 name" ;;
	esac
	re="^linux-image-${want//./\\.}[.-][0-9][^ ]*-cloud-amd64\$"
	pkg=$(apt-cache pkgnames "linux-image-$want" | grep -E "$re" | sort -V | tail -1 || true)
	[ -n "$pkg" ] || die "no Debian cloud kernel $want in the apt sources (run apt-get update)"
	echo "$pkg"
}

# CACHE/PKG/{vmlinuz,veth.ko}: downloaded once, then reused.
fetch_kernel() {
	local pkg=$1 dir=$CACHE/$1 tmp veth
	[ -f "$dir/vmlinuz" ] && [ -f "$dir/veth.ko" ] && return
	tmp=$(mktemp -d "$WORK/deb.XXXXXX")
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >"$tmp/apt.log" 2>&1) ||
		{ cat "$tmp/apt.log" >&2 && die "apt-get download $pkg failed"; }
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	mkdir -p "$dir"
	cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
	veth=$(find "$tmp/x/lib/modules" -name 'veth.ko*' | head -1)
	[ -n "$veth" ] || die "$pkg has no veth module"
	case $veth in
	*.xz) xz -dc "$veth" >"$dir/veth.ko" ;;
	*) cp "$veth" "$dir/veth.ko" ;;
	esac
	rm -rf "$tmp"
}

# Copies every shared library ldd names for FILE to the same path under ROOTFS.
copy_libs() {
	local lib
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		[ -e "$ROOTFS$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$ROOTFS$lib"
	done
}

# The guest's root, shared by every kernel: busybox, ip (busybox's cannot make veth pairs),
# bpftool for the verifier check, jq for the counts, the suite and the binaries.
build_rootfs() {
	ROOTFS=$WORK/rootfs
	mkdir -p "$ROOTFS"/{bin,proc,sys,dev,run,tmp,etc,var} "$ROOTFS/vmtest/bin"
	ln -s ../run "$ROOTFS/var/run"
	cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
	ldd "$ROOTFS/bin/busybox" >/dev/null 2>&1 && die "busybox is not static: install busybox-static"
	ln -s busybox "$ROOTFS/bin/sh"
	local f
	for f in ip bpftool jq; do
		f=$(readlink -f "$(command -v "$f")")
		install -D -m 755 "$f" "$ROOTFS/usr/sbin/$(basename "$f")"
		copy_libs "$f"
	done
	for f in "$BIN"/*; do
		cp "$f" "$ROOTFS/vmtest/bin/"
		[[ $f == *.o ]] || copy_libs "$f"
	done
	[ -f /etc/services ] && cp /etc/services "$ROOTFS/etc/"
	cp "$VMTEST_DIR/suite.sh" "$ROOTFS/vmtest/"
	install -m 755 "$VMTEST_DIR/init" "$ROOTFS/init"
}

make_initrd() { # PKG OUT
	cp "$CACHE/$1/veth.ko" "$ROOTFS/vmtest/veth.ko"
	(cd "$ROOTFS" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$2"
}

# Boots PKG's kernel on the initramfs; the serial console goes to LOG. A guest whose suite has
# not started (no "vmtest-kernel" line) after BOOT_TIMEOUT seconds hung booting: it is stopped
# then, not at TIMEOUT, and the caller boots it again.
boot() { # PKG LOG
	local accel=(-accel "$ACCEL") extra='' raw=$WORK/serial.raw pid start booted=0
	[ -z "$ONLY" ] || extra=vmtest_only=$ONLY
	make_initrd "$1" "$WORK/initrd.gz"
	: >"$raw"
	: >"$WORK/qemu.out"
	start=$(date +%s)
	# no_timer_check: on a busy host, TCG can fail the IO-APIC timer check and panic at boot.
	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -nodefaults -display none \
		-serial "file:$raw" -m 768 -smp "$SMP" -kernel "$CACHE/$1/vmlinuz" -initrd "$WORK/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet no_timer_check $extra" -no-reboot \
		</dev/null >>"$WORK/qemu.out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$booted" -eq 0 ]; then
			if grep -q '^vmtest-kernel ' "$raw"; then
				booted=1
			elif [ $(($(date +%s) - start)) -ge "$BOOT_TIMEOUT" ]; then
				echo "vmtest: no suite after ${BOOT_TIMEOUT}s: the guest hung booting; stopping it" >>"$WORK/qemu.out"
				kill "$pid" 2>/dev/null || true
			fi
		fi
		sleep 1
	done
	wait "$pid" || true
	sed 's/\r$//' "$raw" "$WORK/qemu.out" >"$2"
}

# The same suite on this machine's kernel; its new kernel messages stand in for the guest's dmesg.
run_host() { # LOG
	local before rc=0
	before=$(dmesg | wc -l)
	timeout --kill-after=10 "$TIMEOUT" sh "$VMTEST_DIR/suite.sh" "$BIN" $ONLY >"$1" 2>&1 || rc=$?
	{
		echo "vmtest-dmesg-begin"
		dmesg | tail -n +"$((before + 1))"
		echo "vmtest-dmesg-end"
		[ "$rc" -eq 124 ] || echo "vmtest-exit $rc"
	} >>"$1"
}

# The verifier's output as the guest printed it: from the kernel line to the rejection marker.
print_rejection() { # LOG
	echo "---- verifier log ($(sed -n 's/^vmtest-verifier-rejected //p' "$1")) ----"
	sed -n '/^vmtest-kernel /,/^vmtest-verifier-rejected /p' "$1" | sed '1d;$d'
	echo "---- end of verifier log ----"
}

# Judges one log; prints the kernel's result line (and the evidence on failure).
evaluate() { # LABEL LOG SECONDS
	local label=$1 log=$2 secs=$3 release status problems=() splats exit_rc
	release=$(sed -n 's/^vmtest-kernel //p' "$log" | head -1)
	exit_rc=$(sed -n 's/^vmtest-exit \([0-9]*\)$/\1/p' "$log" | tail -1)
	splats=$(grep -nE 'WARNING:|BUG:|Oops|Call Trace|KASAN|UBSAN|Kernel panic' "$log" || true)
	local rejected=0
	grep -q '^vmtest-verifier-rejected ' "$log" && rejected=1

	[ -n "$exit_rc" ] ||
		problems+=("no vmtest-exit sentinel: the guest panicked, hung or ran past ${TIMEOUT}s")
	[ -z "$splats" ] || problems+=("the kernel logged a WARN/BUG/splat")
	if [ "$UNSAFE" -eq 1 ]; then
		if grep -q '^vmtest-step verifier ok' "$log"; then
			problems+=("the verifier ACCEPTED the unsafe program")
		elif [ "$rejected" -eq 0 ]; then
			problems+=("the load check never ran")
		elif ! grep -q 'invalid access to packet, off=14 size=1' "$log"; then
			# The planted read: 1 byte at offset 14, just past the checked Ethernet header.
			problems+=("rejected, but not at the planted read: the real program fails here too")
		fi
	else
		[ "$rejected" -eq 0 ] || problems+=("the verifier rejected probescope.bpf.o (log above)")
		while read -r line; do
			[ -n "$line" ] && problems+=("${line#vmtest-step }")
		done < <(grep '^vmtest-step .* FAIL' "$log" | grep -v '^vmtest-step verifier ' || true)
		[ -z "$exit_rc" ] || [ "$exit_rc" -eq 0 ] || [ ${#problems[@]} -gt 0 ] ||
			problems+=("the suite exited $exit_rc")
	fi

	local summary
	summary=$(sed -n 's/^vmtest-step [a-z_]* ok //p' "$log" | paste -sd';' | sed 's/;/; /g')
	if [ ${#problems[@]} -eq 0 ]; then
		status=PASS
		[ "$UNSAFE" -eq 1 ] && summary="rejected as it must be"
	else
		status=FAIL
		FAILURES=$((FAILURES + 1))
	fi
	[ "$UNSAFE" -eq 1 ] && [ "$rejected" -eq 1 ] && print_rejection "$log"
	if [ "$status" = FAIL ]; then
		[ "$UNSAFE" -eq 0 ] && [ "$rejected" -eq 1 ] && print_rejection "$log"
		[ -z "$splats" ] || { echo "---- kernel splat ----" && echo "$splats" | head -40; }
		if [ "$rejected" -eq 0 ] && grep -q '^vmtest-step .* FAIL' "$log"; then
			echo "---- suite output ----"
			sed -n '/^vmtest-kernel /,/^vmtest-dmesg-begin/p' "$log" | tail -150
		fi
		[ -n "$exit_rc" ] || { echo "---- last console lines ----" && tail -30 "$log"; }
		echo "(full log: $CACHE/logs/$label.log)"
		cp "$log" "$CACHE/logs/$label.log"
		summary=$(printf '%s; ' "${problems[@]}")
		summary=${summary%; }
	fi
	[ "${VMTEST_KEEP_LOGS:-0}" = 1 ] && cp "$log" "$CACHE/logs/$label.log"
	local how=$ACCEL
	[ "$label" = host ] && how=direct
	printf 'vmtest: %-5s %-32s %s  %s (%ss, %s)\n' "$label" "${release:-?}" "$status" "$summary" \
		"$secs" "$how"
}

# KVM only with hardware virtualisation: a /dev/kvm without vmx/svm (a paravirtual one, as on
# these VMs) takes the -accel but then hangs the guest.
ACCEL=${VMTEST_ACCEL:-tcg}
if [ -z "${VMTEST_ACCEL:-}" ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	ACCEL=kvm
fi

for k in "${KERNELS[@]}"; do # a misspelt kernel fails here, before any build or boot
	[ "$k" = host ] || resolve_package "$k" >/dev/null
done
build
stage_binaries
FAILURES=0
ROOTFS=
for k in "${KERNELS[@]}"; do
	log=$WORK/$k.log
	start=$(date +%s)
	if [ "$k" = host ]; then
		run_host "$log"
	else
		pkg=$(resolve_package "$k")
		fetch_kernel "$pkg"
		[ -n "$ROOTFS" ] || build_rootfs
		for attempt in 1 2 3; do
			boot "$pkg" "$log"
			# "vmtest-kernel" is the suite's first line, before any of probescope runs: a log
			# without it is a guest kernel that died or hung booting (under TCG, 6.12 once hit an
			# int3 in sched_clock_cpu while patching its text), so it is booted again, twice at most.
			grep -q '^vmtest-kernel ' "$log" || [ "$attempt" -eq 3 ] || {
				cp "$log" "$CACHE/logs/$k-boot$attempt.log"
				echo "vmtest: $k: the guest kernel died or hung booting, before the suite ran" \
					"(attempt $attempt of 3, log $CACHE/logs/$k-boot$attempt.log); booting again" >&2
				continue
			}
			break
		done
	fi
	evaluate "$k" "$log" "$(($(date +%s) - start))"
done
[ "$FAILURES" -eq 0 ]
