#!/usr/bin/env bash
# What the interoperability tests (tests/interop_*.rs) need, installed idempotently:
#   - Debian: oathtool, pskctool (OATH Toolkit), python3-venv
#   - a virtualenv with privacyIDEA and the `pskc` package, pinned, under the cache dir
# Prints the virtualenv's directory on stdout (the tests take it from SAFEID_INTEROP_VENV).
#
# Environment:
#   SAFEID_INTEROP_VENV   where the venv goes (default ${XDG_CACHE_HOME:-$HOME/.cache}/safeid/venv)
#   SAFEID_PYTHON         the Python to build it with (default python3)
#   SAFEID_SKIP_INSTALL   1: install nothing, fail if something is missing
set -euo pipefail

PRIVACYIDEA_VERSION=3.14
PSKC_VERSION=1.4
VENV=${SAFEID_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/safeid/venv}
PYTHON=${SAFEID_PYTHON:-python3}
STAMP="privacyidea==$PRIVACYIDEA_VERSION python-pskc==$PSKC_VERSION"

log() { printf '%s\n' "$*" >&2; }

need=()
command -v oathtool >/dev/null || need+=(oathtool)
command -v pskctool >/dev/null || need+=(pskctool)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { log "missing: ${need[*]}"; exit 1; }
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    log "installing ${need[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${need[@]}" >&2
fi

if [ "$(cat "$VENV/.safeid-stamp" 2>/dev/null)" != "$STAMP" ]; then
    [ "${SAFEID_SKIP_INSTALL:-0}" = 1 ] && { log "no venv with $STAMP at $VENV"; exit 1; }
    log "creating $VENV with $STAMP"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "privacyidea==$PRIVACYIDEA_VERSION" "python-pskc==$PSKC_VERSION" >&2
    echo "$STAMP" >"$VENV/.safeid-stamp"
fi
"$VENV/bin/python" -c 'import privacyidea, pskc' >&2
echo "$VENV"
