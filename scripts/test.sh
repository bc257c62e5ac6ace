#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test through ctest (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/test.sh: run as root (the BPF and namespace tests load programs and make netns)" >&2
	exit 1
fi
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure "$@"
