#!/usr/bin/env bash
# Benchmark safeid-qr against plain rqrr, zbarimg (Debian zbar-tools) and zxing-cpp (the
# C++ reference decoder, through its PyPI binding) on the synthetic screenshot corpus, all
# four in one run on the same files.
# Usage: crates/qr/bench.sh [--per N] [--seed S] [--only CONDITION] [--verbose] [--keep --out DIR]
# Installs what is missing: zbar-tools (apt), and a venv with zxing-cpp + Pillow under
# ${XDG_CACHE_HOME:-~/.cache}/safeid/qrbench-venv (pip, versions pinned below).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v zbarimg >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=300 zbar-tools >/dev/null
fi
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/safeid/qrbench-venv"
if ! "$VENV/bin/python" -c 'import zxingcpp, PIL' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'zxing-cpp==3.1.1' 'pillow==13.0.0' 'numpy==2.4.6'
fi
cargo build --release -p safeid-qr --example corpus_bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/examples/corpus_bench" --zxing "$VENV/bin/python" "$@"
