#!/usr/bin/env python3
"""Independent known answers for safeid-totp, from Python's standard library only.

Run:  python3 crates/totp/tests/data/gen_extra.py > crates/totp/tests/data/extra.csv

This is a separate implementation of RFC 4226 section 5.3 (hmac + hashlib + struct), so
the Rust tests that read extra.csv can fail if the crate computes a different value.
"""
import hashlib
import hmac
import struct

ALGS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}

SEED20 = b"12345678901234567890"
SEED32 = (SEED20 * 2)[:32]
SEED64 = (SEED20 * 4)[:64]
KEY100 = bytes(range(100))             # longer than the SHA-1/SHA-256 block (64)
KEY200 = bytes(i * 7 % 256 for i in range(200))  # longer than the SHA-512 block (128)
KEY1 = b"\x01"
U64_MAX = 2**64 - 1
Y9999 = 253402300799                   # 9999-12-31T23:59:59Z


def hotp(key, alg, digits, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), ALGS[alg]).digest()
    off = mac[-1] & 0x0F
    bin_code = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(bin_code % 10**digits).zfill(digits)


rows = []


def add_hotp(alg, key, digits, counter, note):
    rows.append(("hotp", alg, key.hex(), digits, "", counter, hotp(key, alg, digits, counter), note))


def add_totp(alg, key, digits, period, unix, note):
    code = hotp(key, alg, digits, unix // period)
    rows.append(("totp", alg, key.hex(), digits, period, unix, code, note))


RFC = {"SHA1": SEED20, "SHA256": SEED32, "SHA512": SEED64}
for alg, seed in RFC.items():
    for t in (59, 1111111109, 1234567890, 20000000000):
        add_totp(alg, seed, 10, 30, t, "10 digits")
    for t in (0, 59, 1234567890, Y9999):
        add_totp(alg, seed, 6, 1, t, "period 1")
    for t in (59, 1234567890, Y9999):
        add_totp(alg, seed, 8, 60, t, "period 60")
    add_totp(alg, seed, 7, 7, 1234567890, "period 7; 7 digits")
    add_totp(alg, seed, 9, 30, 1234567890, "9 digits")
    add_totp(alg, seed, 6, 30, Y9999, "year 9999")
    add_totp(alg, seed, 8, 30, U64_MAX, "time u64::MAX")
    add_totp(alg, seed, 6, 1, U64_MAX, "time u64::MAX; period 1 (step u64::MAX)")
    add_totp(alg, seed, 6, U64_MAX, U64_MAX, "period u64::MAX")
    add_hotp(alg, seed, 6, U64_MAX, "counter u64::MAX")
    add_hotp(alg, seed, 10, U64_MAX, "counter u64::MAX; 10 digits")
    add_hotp(alg, seed, 8, 2**32, "counter 2^32")
    for key, name in ((KEY100, "100-byte key"), (KEY200, "200-byte key"), (KEY1, "1-byte key")):
        add_totp(alg, key, 6, 30, 1234567890, name)
        add_totp(alg, key, 8, 30, Y9999, name + "; year 9999")
        add_hotp(alg, key, 10, 0, name + "; counter 0")
    # Key lengths around the SHA-1/SHA-256 block (64) and the SHA-512 block (128).
    for n in (63, 64, 65, 127, 128, 129):
        key = bytes((i * 31 + 5) % 256 for i in range(n))
        add_hotp(alg, key, 8, 1234567, "%d-byte key" % n)

print("# Independent known answers computed by crates/totp/tests/data/gen_extra.py")
print("# (python3 hmac/hashlib/struct; regenerate with:")
print("#   python3 crates/totp/tests/data/gen_extra.py > crates/totp/tests/data/extra.csv)")
print("# kind,algorithm,key_hex,digits,period,input(counter or unix seconds),code,note")
for r in rows:
    assert all("," not in str(x) for x in r)
    print(",".join(str(x) for x in r))
