//! Known answers: the RFC 4226 and RFC 6238 tables and independently computed values,
//! all read from `tests/data/`.
#![allow(clippy::unwrap_used)]

mod common;

use safeid_totp::{Algorithm, Hotp, Totp, hotp, totp};

const RFC4226_SECRET: &[u8] = b"12345678901234567890";

#[test]
fn rfc4226_appendix_d() {
    let rows = common::rows("rfc4226.csv");
    assert_eq!(rows.len(), 10);
    let six = Hotp::new(RFC4226_SECRET, Algorithm::Sha1, 6).unwrap();
    let ten = Hotp::new(RFC4226_SECRET, Algorithm::Sha1, 10).unwrap();
    for row in rows {
        let [count, hex, decimal, code] = <[String; 4]>::try_from(row).unwrap();
        let count: u64 = count.parse().unwrap();
        let truncated: u32 = decimal.parse().unwrap();
        // The table's two columns agree with each other (guards against a typo in it).
        assert_eq!(u32::from_str_radix(&hex, 16).unwrap(), truncated);
        assert_eq!(six.code(count).to_string(), code, "counter {count}");
        assert_eq!(
            hotp(RFC4226_SECRET, Algorithm::Sha1, 6, count)
                .unwrap()
                .to_string(),
            code
        );
        // 10 digits = the whole 31-bit truncated value, zero-padded.
        assert_eq!(ten.code(count).value(), truncated, "counter {count}");
        assert_eq!(ten.code(count).to_string(), format!("{truncated:010}"));
    }
}

#[test]
fn rfc6238_appendix_b() {
    let rows = common::rows("rfc6238.csv");
    assert_eq!(rows.len(), 18);
    for row in rows {
        let [time, _utc, step_hex, code, mode] = <[String; 5]>::try_from(row).unwrap();
        let time: u64 = time.parse().unwrap();
        let algorithm = common::algorithm(&mode);
        let seed = common::rfc6238_seed(algorithm);
        let generator = Totp::new(&seed, algorithm, 8, 30).unwrap();
        assert_eq!(
            generator.step(time),
            u64::from_str_radix(&step_hex, 16).unwrap()
        );
        assert_eq!(
            generator.code_at(time).to_string(),
            code,
            "{mode} at {time}"
        );
        assert_eq!(
            totp(&seed, algorithm, 8, 30, time).unwrap().to_string(),
            code
        );
        assert_eq!(generator.verify(&code, time, 0), Some(0));
    }
}

#[test]
fn independent_python_values() {
    let rows = common::rows("extra.csv");
    assert!(rows.len() >= 100, "extra.csv has only {} rows", rows.len());
    for row in rows {
        let [kind, mode, key_hex, digits, period, input, code, note] =
            <[String; 8]>::try_from(row).unwrap();
        let algorithm = common::algorithm(&mode);
        let key = data_encoding::HEXLOWER.decode(key_hex.as_bytes()).unwrap();
        let digits: u8 = digits.parse().unwrap();
        let input: u64 = input.parse().unwrap();
        let got = match kind.as_str() {
            "hotp" => Hotp::new(&key, algorithm, digits).unwrap().code(input),
            "totp" => {
                let period: u64 = period.parse().unwrap();
                Totp::new(&key, algorithm, digits, period)
                    .unwrap()
                    .code_at(input)
            }
            other => panic!("unknown kind {other:?}"),
        };
        assert_eq!(got.to_string(), code, "{kind} {mode} {note} at {input}");
        assert_eq!(usize::from(got.digits()), code.len());
    }
}

#[test]
fn dynamic_truncation_example_of_rfc4226_section_5_4() {
    // HMAC-SHA-1 bytes from the RFC's worked example; offset 0xa picks 50ef7f19.
    let mac = [
        0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19, 0xda,
        0x8e, 0x94, 0x5b, 0x55, 0x5a,
    ];
    assert_eq!(safeid_totp::dynamic_truncate(&mac), 0x50ef_7f19);
    assert_eq!(0x50ef_7f19 % 1_000_000, 872_921);
    // Short or empty input gives 0 rather than a panic.
    assert_eq!(safeid_totp::dynamic_truncate(&[]), 0);
    assert_eq!(safeid_totp::dynamic_truncate(&[0x0f; 10]), 0);
}
