#!/usr/bin/env bash
# Benchmark safeid-qr against plain rqrr and zbarimg (Debian zbar-tools) on the synthetic
# screenshot corpus. Usage: crates/qr/bench.sh [--per N] [--seed S] [--verbose] [--keep --out DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v zbarimg >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 zbar-tools
    else
        sudo apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 zbar-tools
    fi
fi
cargo build --release -p safeid-qr --example corpus_bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/examples/corpus_bench" "$@"
