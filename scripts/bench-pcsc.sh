#!/usr/bin/env bash
# Burn latency through the real PC/SC stack against its floor (docs/benchmarks.md,
# "PC/SC burn latency"): builds crates/cli/benches/pcsc.rs in release mode with the `pcsc`
# feature (outside the namespace, so the build does not run in it), then runs it inside
# the private pcscd + vpcd stack of scripts/pcsc-stack.sh.
#
# Usage: scripts/bench-pcsc.sh [--warmup N] [--rounds N] [--strict]
# (arguments go to the benchmark; see `--help`). Needs root for the namespaces; installs
# pcscd, vsmartcard-vpcd, libpcsclite-dev and pkg-config with apt when missing.
set -euo pipefail

cd "$(dirname "$0")/.."

missing=()
command -v pcscd >/dev/null || missing+=(pcscd)
[ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || missing+=(vsmartcard-vpcd)
pkg-config --exists libpcsclite 2>/dev/null || missing+=(libpcsclite-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${missing[@]}"
fi

# Built outside the namespace (it has no network), run inside it.
cargo bench -p safeid-cli --features pcsc --bench pcsc --no-run
exec bash scripts/pcsc-stack.sh cargo bench -p safeid-cli --features pcsc --bench pcsc -- "$@"
