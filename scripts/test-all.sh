#!/usr/bin/env bash
# The project's whole test suite, from a fresh machine: installs what the tests need,
# then runs formatting, lints, docs, every unit/property/integration test, the end-to-end
# tests through a real pcscd + vpcd stack (in a private network namespace), and a short
# run of every fuzz target. `.ci/run` calls this script; so does a developer.
#
# Environment knobs:
#   SAFEID_FUZZ_SECONDS  seconds per fuzz target (default 5; 0 skips fuzzing)
#   SAFEID_SKIP_INSTALL  1: do not apt-get/cargo-install anything (fail if missing)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${SAFEID_FUZZ_SECONDS:-5}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# --- 1. What the tests need -------------------------------------------------------------
APT_PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pkg-config xvfb)
need_apt=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { echo "missing packages: ${need_apt[*]}" >&2; exit 1; }
    step "installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if [ "$FUZZ_SECONDS" != 0 ] && ! cargo fuzz --version >/dev/null 2>&1; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { echo "cargo-fuzz missing" >&2; exit 1; }
    step "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

# --- 2. Static checks -------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "cargo clippy (workspace, all targets and features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

# --- 3. Tests without any service -------------------------------------------------------
step "cargo test (workspace, all features)"
cargo test --workspace --all-features

# --- 4. End-to-end through pcscd + vpcd ---------------------------------------------------
step "end-to-end tests through pcscd + vpcd"
# Build outside the namespace (it has no network); run inside it.
cargo test -p safeid-cli --all-features --test e2e_pcsc --no-run --quiet
cargo test -p safeid-pcsc --test live_pcscd --no-run --quiet
bash scripts/pcsc-stack.sh cargo test -p safeid-pcsc --test live_pcscd -- --ignored --test-threads=1
bash scripts/pcsc-stack.sh cargo test -p safeid-cli --all-features --test e2e_pcsc -- --ignored --test-threads=1

# --- 5. A short run of every fuzz target ------------------------------------------------
if [ "$FUZZ_SECONDS" != 0 ]; then
    step "fuzz targets, ${FUZZ_SECONDS}s each"
    cd "$ROOT/fuzz"
    targets=$(cargo fuzz list)
    # One build for all targets; no sanitizer keeps the build short (the long fuzzing
    # command in docs/testing.md uses AddressSanitizer).
    RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer none
    for t in $targets; do
        mkdir -p "corpus/$t"
        log="$ROOT/target/fuzz-$t.log"
        if ! RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
            -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            echo "fuzz target $t failed (log: $log)" >&2
            exit 1
        fi
        printf '  %-20s %s\n' "$t" "$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second\(s\)' "$log" | tail -n 1)"
    done
    echo "fuzz: every target ran ${FUZZ_SECONDS}s without a crash"
fi

step "all tests passed"
