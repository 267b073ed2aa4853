#!/usr/bin/env bash
# Runs a command against a private, real PC/SC stack:
#   pcscd (Debian's) + the vsmartcard vpcd driver, in a private network namespace
#   (loopback only: vpcd listens on 0.0.0.0 and cannot be told otherwise) and a private
#   mount namespace (its socket lives in a temp dir, never in the system's /run/pcscd).
# A second pcscd with no reader at all is started the same way, for the "no reader" test.
#
# The command runs inside the first pcscd's network namespace, so a virtual token in it
# reaches vpcd on 127.0.0.1:35963/35964. Environment given to the command:
#   PCSCLITE_CSOCK_NAME                  the stack's socket (libpcsclite reads it)
#   SAFEID_TEST_PCSC_SOCKET              the same path
#   SAFEID_TEST_PCSC_EMPTY_SOCKET        socket of the pcscd that has no reader
#   SAFEID_TEST_PCSC_ABSENT_SOCKET       a path where no pcscd listens
# Everything started here is stopped by PID on exit, also when the command fails.
# Needs root (namespaces, bind mount), pcscd and vsmartcard-vpcd. See docs/testing.md.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
command -v pcscd >/dev/null || { echo "pcscd is not installed (apt-get install pcscd)" >&2; exit 1; }
[ -f "$VPCD_LIB" ] || { echo "vpcd is not installed (apt-get install vsmartcard-vpcd)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/safeid-pcsc.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# $1: name, $2: reader config (file or empty folder). Prints the PID.
start_pcscd() {
    local name=$1 conf=$2
    mkdir -p "$DIR/$name/run"
    # unshare execs sh, which execs pcscd: $! is pcscd's own PID.
    unshare --net --mount sh -c \
        "mount --bind '$DIR/$name/run' /run/pcscd 2>/dev/null || { mkdir -p /run/pcscd && mount --bind '$DIR/$name/run' /run/pcscd; }
         ip link set lo up && exec pcscd -f -c '$conf'" \
        >"$DIR/$name/pcscd.log" 2>&1 </dev/null &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do
        [ -S "$DIR/$name/run/pcscd.comm" ] && { echo "$pid" > "$DIR/$name/pid"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "pcscd ($name) did not start:" >&2
    cat "$DIR/$name/pcscd.log" >&2
    exit 1
}

cat >"$DIR/reader.conf" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME /dev/null:0x8C7B
LIBPATH $VPCD_LIB
CHANNELID 0x8C7B
EOF
mkdir -p "$DIR/no-readers.d"

start_pcscd main "$DIR/reader.conf"
start_pcscd empty "$DIR/no-readers.d"
MAIN_PID=$(cat "$DIR/main/pid")

export PCSCLITE_CSOCK_NAME="$DIR/main/run/pcscd.comm"
export SAFEID_TEST_PCSC_SOCKET="$PCSCLITE_CSOCK_NAME"
export SAFEID_TEST_PCSC_EMPTY_SOCKET="$DIR/empty/run/pcscd.comm"
export SAFEID_TEST_PCSC_ABSENT_SOCKET="$DIR/absent/pcscd.comm"

set +e
nsenter --net="/proc/$MAIN_PID/ns/net" "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    echo "--- pcscd log (last 30 lines) ---" >&2
    tail -n 30 "$DIR/main/pcscd.log" >&2
fi
exit "$status"
