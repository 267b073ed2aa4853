//! What the window refuses, and that the token saw exactly what the refusal promises.

use std::sync::Arc;

use safeid_desk::SimBench;
use safeid_sim::{Faults, TokenSpec};

use crate::common::*;

/// Instruction bytes of docs/protocol.md section 3.
const INS_INFO: u8 = 0x41;
const INS_AUTH: u8 = 0xCE;

#[test]
fn hotp_qr_code_is_named_and_refused_before_any_secure_command() {
    let dir = tempfile::tempdir().unwrap();
    let qr = dir.path().join("hotp.png");
    let hotp = "otpauth://hotp/Example:bob?secret=JBSWY3DPEHPK3PXP&counter=0";
    std::fs::write(&qr, safeid::qr::generate::png(hotp, 6).unwrap()).unwrap();
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    click(&mut h, "Image file");
    type_into(&mut h, "Image path", qr.to_str().unwrap());
    click(&mut h, "Open image");
    assert_shown(&h, "HOTP (counter-based: the tokens only do TOTP)");
    click(&mut h, "Connect");
    click(&mut h, "Burn…");
    assert_shown(&h, "the token only does TOTP");
    assert!(!shown(&h, "Burn token"));
    let token = placed(&bench, 0);
    assert_eq!(token.apdu_count, 1, "only the read");
    assert_eq!(count_ins(&token, INS_INFO), 1);
}

#[test]
fn wrong_key_is_tried_exactly_once() {
    let bench = Arc::new(SimBench::new(SERIAL));
    // A Token2 serial whose token has another key than Token2's published one.
    bench.place_next(
        TokenSpec::new("8659622000002", [0x11; 16]),
        Faults::default(),
    );
    let mut h = tall(&bench);
    burn_uri(&mut h, URI);
    click(&mut h, "Burn token 8659622000002");
    assert_shown(
        &h,
        "the token refused the access key (status 69 83): nothing was written",
    );
    let token = placed(&bench, 0);
    assert_eq!(count_ins(&token, INS_AUTH), 1);
    assert_eq!(token.failed_auths, 1);
    assert_eq!((token.seed_writes, token.config_writes), (0, 0));
    assert_eq!(token.seed_hex, None);
}

#[test]
fn token_removed_before_the_seed_write_says_what_was_written() {
    let bench = Arc::new(SimBench::new(SERIAL));
    // APDUs on this link: 0 the read at Connect; the burn reads again (1), gets a
    // challenge (2), authenticates (3), writes config (4), then the seed (5).
    let faults = Faults {
        remove_after: Some(5),
        ..Faults::default()
    };
    bench.place_next(TokenSpec::token2(SERIAL), faults);
    let mut h = tall(&bench);
    burn_uri(&mut h, URI);
    click(&mut h, &format!("Burn token {SERIAL}"));
    assert_shown(&h, "writing the seed failed");
    assert_shown(
        &h,
        "config written, seed not written: on this model writing config erases the seed, so the token is now blank; burn it again",
    );
    let token = placed(&bench, 0);
    assert_eq!((token.config_writes, token.seed_writes), (1, 0));
    // The seed is kept for the next try, and no codes are promised.
    assert_shown(&h, "Seed ready");
    assert!(!shown(&h, "Switch the token off and on"));
}

#[test]
fn unknown_model_says_what_is_missing_and_offers_the_probe() {
    let bench = Arc::new(SimBench::new(SERIAL));
    bench.place_next(TokenSpec::token2("4400000000123"), Faults::default());
    let mut h = tall(&bench);
    burn_uri(&mut h, URI);
    // The library's refusal, shown as soon as the token is read.
    assert_shown(&h, "unknown token model (serial");
    assert_shown(&h, "unknown token model (serial 4400000000123)");
    assert_shown(&h, "What to do: Enter the access key");
    assert!(!shown(&h, "Burn token"));
    click(&mut h, "Probe (read-only)");
    assert_shown(
        &h,
        "no model in the table has a prefix of serial 4400000000123",
    );
    assert_shown(&h, "To burn this token the tool needs:");
    let token = placed(&bench, 0);
    assert_eq!(
        token.apdu_count as usize,
        count_ins(&token, INS_INFO),
        "only get info was sent"
    );
    assert_eq!(token.failed_auths, 0);
}
