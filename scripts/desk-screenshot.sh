#!/usr/bin/env bash
# Runs the desk app's real-window test: starts Xvfb (1280x800x24), starts the real
# `safeid-desk --sim` binary in it (software OpenGL from Mesa's llvmpipe), finds its window
# by title over X11 and saves a screenshot of it. By default the picture goes to
# docs/images/desk.png, the one the README and docs/desk.md show.
#
#   bash scripts/desk-screenshot.sh [OUTPUT.png]
#
# Needs (Debian): xvfb libgl1-mesa-dri libegl1 libgl1 libxkbcommon-x11-0 libxcursor1
# libxrandr2 libxi6; installed here when missing (as root, or with sudo), unless
# SAFEID_SKIP_INSTALL=1. CI runs this script (the test is #[ignore]d in plain `cargo test`).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-docs/images/desk.png}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
mkdir -p "$(dirname "$OUT")"

APT_PACKAGES=(xvfb libgl1-mesa-dri libegl1 libgl1 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6)
need=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { echo "missing packages: ${need[*]}" >&2; exit 1; }
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
fi

# The workspace's all-features test build, the one `cargo test --workspace --all-features`
# makes: in CI (scripts/test-all.sh) this compiles nothing new (per package, Cargo would
# resolve other features and rebuild the whole egui stack, 2.5 minutes on 2 cores).
SAFEID_DESK_SCREENSHOT="$OUT" cargo test --workspace --all-features --test screenshot -- --ignored --nocapture
echo "screenshot: $OUT"
