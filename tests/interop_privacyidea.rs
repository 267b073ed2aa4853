//! Every export checked by the software that reads it (issue 11):
//!
//! - privacyIDEA (3.14 from PyPI, SQLite, in-process through its Flask test client) loads
//!   the privacyIDEA CSV and the PSKC exports (plain, pre-shared key, password) through
//!   `/token/load`; `/validate/check` must accept the code each burned virtual token
//!   displays. The CSV cases safeid refuses are also written by hand and loaded, to show
//!   that privacyIDEA would indeed reject their codes.
//! - `pskctool --validate` on every PSKC file.
//! - For every format, the secrets are read back without safeid (Python's csv/json/urllib,
//!   the `pskc` package for PSKC) and `oathtool` computes the codes: they must equal the
//!   virtual token's display.
//!
//! Cases: every seed length in `SEED_LENGTHS` x SHA-1/SHA-256 x 30/60 s. Each virtual token
//! is burned through `Session` with the host clock, as privacyIDEA validates against its
//! own (host) clock. Needs scripts/interop/setup.sh; run with
//! `SAFEID_INTEROP_VENV=$(bash scripts/interop/setup.sh) cargo test --test interop_privacyidea -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use interop_common::{
    Burned, Driver, HASHES, PERIODS, SEED_LENGTHS, burn, now, oathtool, pskctool_validates,
    random_hex,
};
use safeid::export::{
    self, ExportOptions, Format, PskcEncryption, PskcKey, SecretBuf, TokenParams,
};
use safeid::record::HmacAlgorithm;
use safeid::secret::SecretString;

/// Every (seed length, hash, period) case.
fn cases() -> Vec<(usize, HmacAlgorithm, u32)> {
    let mut v = Vec::new();
    for &len in &SEED_LENGTHS {
        for hash in HASHES {
            for period in PERIODS {
                v.push((len, hash, period));
            }
        }
    }
    v
}

/// Burns one virtual token per case, serials `8659612` + `group` + case number.
fn burn_group(group: u32, cases: &[(usize, HmacAlgorithm, u32)]) -> Vec<Burned> {
    cases
        .iter()
        .enumerate()
        .map(|(i, &(len, hash, period))| burn(&format!("8659612{group}{i:05}"), len, hash, period))
        .collect()
}

/// The key or password a PSKC file needs, if any.
#[derive(Clone, Copy, Default)]
struct Keys<'a> {
    psk: Option<&'a str>,
    password: Option<&'a str>,
}

/// One table row: format, checker, cases run, cases accepted.
struct Tally {
    rows: BTreeMap<(String, String), (usize, usize)>,
}

impl Tally {
    fn add(&mut self, format: &str, checker: &str, ok: bool) {
        let e = self
            .rows
            .entry((format.to_owned(), checker.to_owned()))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 += usize::from(ok);
    }
}

/// Reads the file back without safeid and has oathtool compute each token's code; every
/// code must equal the virtual token's display.
fn oathtool_check(
    d: &mut Driver,
    tally: &mut Tally,
    label: &str,
    reader: &str,
    path: &Path,
    keys: Keys<'_>,
    tokens: &[&Burned],
) {
    let read = d.secrets(reader, path, keys.psk, keys.password);
    assert_eq!(read.len(), tokens.len(), "{label}: tokens read back");
    for (entry, b) in read.iter().zip(tokens) {
        assert_eq!(entry["serial"], b.record.serial.as_str(), "{label}");
        // Formats without a hash or period column leave them to the importer's settings.
        let hash = entry["hash"].as_str().unwrap_or(b.record.hash.name());
        let period = entry["period"]
            .as_u64()
            .map_or(b.record.period, |p| u32::try_from(p).unwrap());
        let t = now();
        let code = oathtool(entry["secret_hex"].as_str().unwrap(), hash, period, t);
        let ok = code == b.display_at(t);
        tally.add(label, "oathtool", ok);
        assert!(
            ok,
            "{label}: oathtool's code differs from the display of {}",
            b.record.serial
        );
    }
}

/// Loads a file into privacyIDEA and checks every token's displayed code.
fn privacyidea_check(
    d: &mut Driver,
    tally: &mut Tally,
    label: &str,
    kind: &str,
    path: &Path,
    keys: Keys<'_>,
    tokens: &[&Burned],
) {
    let r = d.load(kind, path, keys.psk, keys.password);
    assert_eq!(r["n_imported"], tokens.len(), "{label}: {r}");
    assert_eq!(r["n_not_imported"], 0, "{label}: {r}");
    for b in tokens {
        let info = d.token(&b.record.serial);
        let stored_hash = info["hashlib"].as_str().unwrap_or("?").to_owned();
        let ok = d.check(&b.record.serial, &b.display_at(now()));
        tally.add(label, "privacyIDEA /validate/check", ok);
        assert!(
            ok,
            "{label}: privacyIDEA rejected the code of {} ({}), stored as {stored_hash}/{}s",
            b.record.serial,
            TokenParams::of(&b.record),
            info["timeStep"]
        );
        assert_eq!(
            stored_hash,
            b.record.hash.name().to_ascii_lowercase(),
            "{label}"
        );
    }
}

fn write(dir: &Path, name: &str, text: &SecretString) -> std::path::PathBuf {
    let path = dir.join(name);
    export::write_atomic(&path, text.expose().as_bytes()).unwrap();
    path
}

#[test]
#[ignore = "needs privacyIDEA, pskctool and oathtool: see scripts/interop/setup.sh"]
fn exports_are_read_by_privacyidea_pskctool_pskc_and_oathtool() {
    let t_start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let password = random_hex(16);
    let mut d = Driver::start(&dir.path().join("pi"), &password);
    println!(
        "privacyIDEA driver started in {:.2} s",
        d.started_in.as_secs_f64()
    );
    let mut tally = Tally {
        rows: BTreeMap::new(),
    };
    let all = cases();
    let options = ExportOptions::default();

    // 1. privacyIDEA CSV: the cases safeid writes must validate...
    let csv_cases: Vec<_> = all
        .iter()
        .copied()
        .filter(|&(len, hash, period)| {
            Format::PrivacyIdeaCsv
                .check(&TokenParams {
                    hash,
                    period,
                    digits: 6,
                    seed_len: len,
                })
                .is_ok()
        })
        .collect();
    let csv_tokens = burn_group(1, &csv_cases);
    let records: Vec<_> = csv_tokens.iter().map(|b| b.record.clone()).collect();
    let path = write(
        dir.path(),
        "privacyidea.csv",
        &export::write_privacyidea_csv(&records).unwrap(),
    );
    let refs: Vec<&Burned> = csv_tokens.iter().collect();
    privacyidea_check(
        &mut d,
        &mut tally,
        "privacyidea CSV",
        "oathcsv",
        &path,
        Keys::default(),
        &refs,
    );
    oathtool_check(
        &mut d,
        &mut tally,
        "privacyidea CSV",
        "privacyidea",
        &path,
        Keys::default(),
        &refs,
    );

    // ...and the cases it refuses must be ones privacyIDEA gets wrong: written by hand in
    // the documented layout, loaded, and their displayed codes rejected.
    let refused: Vec<_> = all
        .iter()
        .copied()
        .filter(|c| !csv_cases.contains(c))
        .collect();
    assert!(!refused.is_empty());
    let refused_tokens = burn_group(2, &refused);
    let mut by_hand = SecretBuf::default();
    for b in &refused_tokens {
        assert!(export::write_privacyidea_csv(std::slice::from_ref(&b.record)).is_err());
        let hex: String = b
            .record
            .secret
            .expose()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        by_hand.push_str(&format!(
            "{}, {hex}, totp, 6, {}\n",
            b.record.serial, b.record.period
        ));
    }
    let path = dir.path().join("refused.csv");
    export::write_atomic(&path, by_hand.as_bytes()).unwrap();
    let r = d.load("oathcsv", &path, None, None);
    assert_eq!(r["n_imported"], refused_tokens.len(), "{r}");
    for b in &refused_tokens {
        let rejected = !d.check(&b.record.serial, &b.display_at(now()));
        tally.add(
            "privacyidea CSV, refused by safeid (hand-written)",
            "privacyIDEA rejects",
            rejected,
        );
        assert!(
            rejected,
            "privacyIDEA accepted {} ({}): the refusal is not needed",
            b.record.serial,
            TokenParams::of(&b.record)
        );
    }

    // 2. PSKC: plain, pre-shared key (RFC 6030 6.1), password (6.2). Every case.
    let key = PskcKey::generate().unwrap();
    let key_hex = key.to_hex();
    let pskc_password = random_hex(12);
    let variants: [(&str, Option<PskcEncryption>, Keys<'_>); 3] = [
        ("PSKC plain", None, Keys::default()),
        (
            "PSKC pre-shared key (6.1)",
            Some(PskcEncryption::pre_shared(key)),
            Keys {
                psk: Some(key_hex.expose()),
                password: None,
            },
        ),
        (
            "PSKC password (6.2)",
            Some(PskcEncryption::password(SecretString::new(
                pskc_password.clone(),
            ))),
            Keys {
                psk: None,
                password: Some(pskc_password.as_str()),
            },
        ),
    ];
    for (group, (label, encryption, keys)) in (3..).zip(variants) {
        let tokens = burn_group(group, &all);
        let records: Vec<_> = tokens.iter().map(|b| b.record.clone()).collect();
        let o = ExportOptions {
            pskc_encryption: encryption,
            ..ExportOptions::default()
        };
        let t = Instant::now();
        let text = export::write_pskc(&records, &o).unwrap();
        println!(
            "{label}: {} tokens written in {:.3} s",
            records.len(),
            t.elapsed().as_secs_f64()
        );
        let path = write(dir.path(), &format!("export-{group}.pskcxml"), &text);
        let valid = pskctool_validates(&path);
        tally.add(label, "pskctool --validate", valid);
        assert!(valid, "{label}: pskctool --validate failed");
        let refs: Vec<&Burned> = tokens.iter().collect();
        oathtool_check(&mut d, &mut tally, label, "pskc", &path, keys, &refs);
        privacyidea_check(&mut d, &mut tally, label, "pskc", &path, keys, &refs);
    }

    // 3. The other formats: read back without safeid, codes by oathtool. Nothing here can
    // import them (Entra ID, Graph, Duo are cloud services; LinOTP 3 is not on PyPI).
    let offline = burn_group(6, &all);
    for (format, reader) in [
        (Format::EntraCsv, "entra"),
        (Format::GraphJson, "graph"),
        (Format::OtpauthUris, "otpauth"),
        (Format::LinotpCsv, "linotp"),
        (Format::DuoCsv, "duo"),
    ] {
        for period in PERIODS {
            // One file per period: the Duo import dialog sets one time step for a file.
            let tokens: Vec<&Burned> = offline
                .iter()
                .filter(|b| {
                    b.record.period == period && format.check(&TokenParams::of(&b.record)).is_ok()
                })
                .collect();
            let records: Vec<_> = tokens.iter().map(|b| b.record.clone()).collect();
            let text = format.render(&records, &options).unwrap();
            let path = write(
                dir.path(),
                &format!("export-{}-{period}.{}", format.name(), format.extension()),
                &text,
            );
            oathtool_check(
                &mut d,
                &mut tally,
                format.title(),
                reader,
                &path,
                Keys::default(),
                &tokens,
            );
        }
    }

    println!("\ninterop results (format | checked by | cases | accepted):");
    for ((format, checker), (run, ok)) in &tally.rows {
        println!("INTEROP | {format} | {checker} | {run} | {ok}");
    }
    println!(
        "interop test ran in {:.1} s",
        t_start.elapsed().as_secs_f64()
    );
}
