#!/usr/bin/env bash
# The project's whole test suite, from a fresh machine: installs what the tests need,
# then runs formatting, lints, docs, the dependency policy, every unit/property/integration
# test, the examples, the end-to-end tests through a real pcscd + vpcd stack (in a private
# network namespace), the interoperability tests against privacyIDEA, pskctool and
# oathtool, the desk app in a real window under Xvfb, and a short run of every fuzz
# target. `.ci/run` calls this script; so does a developer. docs/testing.md explains each
# step; every slow end-to-end test runs once.
#
# Environment knobs:
#   SAFEID_FUZZ_SECONDS  seconds per fuzz target (default 5; 0 skips fuzzing)
#   SAFEID_SKIP_INSTALL  1: do not apt-get/cargo-install/pip-install anything (fail if missing)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${SAFEID_FUZZ_SECONDS:-5}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
START=$(date +%s)

step() { printf '\n==> %s (%s, +%ss)\n' "$*" "$(date -u +%H:%M:%S)" "$(( $(date +%s) - START ))"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

# --- 1. What the tests need -------------------------------------------------------------
# pcscd + vpcd (PC/SC end-to-end), libpcsclite-dev + pkg-config (the pcsc feature builds),
# xvfb and Mesa/X libraries (screen capture, the desk window), pskctool + oathtool +
# python3-venv (interop), zbar-tools (the QR baseline in crates/qr's tests and bench),
# and for the Wayland capture test (crates/qr/tests/wayland.rs): a headless sway with
# swaybg to show the code, xdg-desktop-portal + xdg-desktop-portal-wlr (which takes its
# screenshots with grim and will not start without pipewire) on a private dbus-daemon.
APT_PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pkg-config xvfb
    libgl1-mesa-dri libegl1 libgl1 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6
    pskctool oathtool python3-venv zbar-tools
    sway swaybg grim xdg-desktop-portal xdg-desktop-portal-wlr pipewire dbus)
need_apt=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { echo "missing packages: ${need_apt[*]}" >&2; exit 1; }
    step "installing ${need_apt[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${need_apt[@]}" >/dev/null
fi
need_cargo=()
if [ "$FUZZ_SECONDS" != 0 ] && ! cargo fuzz --version >/dev/null 2>&1; then need_cargo+=(cargo-fuzz); fi
cargo deny --version >/dev/null 2>&1 || need_cargo+=(cargo-deny)
if [ "${#need_cargo[@]}" -gt 0 ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { echo "missing: ${need_cargo[*]}" >&2; exit 1; }
    step "installing ${need_cargo[*]}"
    cargo install --locked --quiet "${need_cargo[@]}"
fi
step "privacyIDEA venv for the interop tests"
SAFEID_INTEROP_VENV=$(bash scripts/interop/setup.sh)
export SAFEID_INTEROP_VENV

# --- 2. Static checks -------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "dependency policy (cargo deny, offline: licenses, bans, sources)"
cargo fetch --locked --quiet
cargo deny --offline --locked --workspace check licenses bans sources

step "cargo clippy (workspace, all targets and features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

# --- 3. Tests without any service -------------------------------------------------------
step "cargo test (workspace, all features)"
cargo test --workspace --all-features

step "examples (built by cargo test above; each runs to its end on the virtual token)"
EXAMPLES="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples"
for e in burn_virtual batch_journal scan_qr; do
    echo "  example $e"
    (cd "$(mktemp -d)" && "$EXAMPLES/$e")
done
# burn_reader needs a PC/SC reader: e2e_pcsc runs it in step 4, inside the pcscd + vpcd stack.

# --- 4. End-to-end through pcscd + vpcd ---------------------------------------------------
step "end-to-end tests through pcscd + vpcd"
# Build outside the namespace (it has no network); run inside it.
cargo test -p safeid-cli --all-features --test e2e_pcsc --test batch_model_pcsc --no-run --quiet
cargo test -p safeid-pcsc --test live_pcscd --no-run --quiet
bash scripts/pcsc-stack.sh cargo test -p safeid-pcsc --test live_pcscd -- --ignored --test-threads=1
bash scripts/pcsc-stack.sh cargo test -p safeid-cli --all-features \
    --test e2e_pcsc --test batch_model_pcsc -- --ignored --test-threads=1

# --- 5. Interoperability: the systems that import the exports ------------------------------
step "interop: privacyIDEA (CSV, PSKC, encrypted PSKC, enrollment), pskctool, oathtool"
log="$ROOT/target/interop.log"
mkdir -p "$ROOT/target"
if ! cargo test -p safeid --all-features --test interop_privacyidea --test interop_enroll \
    -- --ignored --test-threads=1 --nocapture >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "interop tests failed (log: $log)" >&2
    exit 1
fi
# The figures docs/exports.md quotes (accepted codes, times), from this run.
grep -E '^(INTEROP|ENROLL|test result)' "$log" || true
cargo test -p safeid-cli --all-features --test interop_enroll_cli -- --ignored --test-threads=1 --nocapture

# --- 6. The desk app in a real window ---------------------------------------------------
step "desk app: real window under Xvfb, screenshot"
SHOT="$ROOT/target/desk-ci.png"
bash scripts/desk-screenshot.sh "$SHOT"

# --- 7. A short run of every fuzz target ------------------------------------------------
if [ "$FUZZ_SECONDS" != 0 ]; then
    step "fuzz targets, ${FUZZ_SECONDS}s each"
    cd "$ROOT/fuzz"
    targets=$(cargo fuzz list)
    # One build for all targets; no sanitizer keeps the build short (the long fuzzing
    # command in docs/testing.md uses the same build).
    RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer none
    for t in $targets; do
        mkdir -p "corpus/$t"
        # Hand-made seeds (fuzz/seeds/TARGET) start the corpus where there are any.
        if [ -d "seeds/$t" ]; then cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
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

step "all tests passed in $(( ($(date +%s) - START) / 60 )) min"
