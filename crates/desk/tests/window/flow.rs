//! The single-token flow: seed (QR image file, URI, random), burn, the codes, a typed code
//! verified, the export written and read back.

use std::sync::Arc;

use eframe::egui;

use egui_kittest::kittest::Queryable;
use safeid::export::{read_entra_csv, read_pskc, read_vendor_csv};
use safeid::sources::SeedFileOptions;
use safeid_desk::SimBench;

use crate::common::*;

#[test]
fn qr_image_burn_codes_verify_and_entra_export() {
    let dir = tempfile::tempdir().unwrap();
    let qr = dir.path().join("enrol.png");
    std::fs::write(&qr, safeid::qr::generate::png(URI, 6).unwrap()).unwrap();
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);

    click(&mut h, "Image file");
    type_into(&mut h, "Image path", qr.to_str().unwrap());
    click(&mut h, "Open image");
    assert_shown(
        &h,
        "otpauth credential Example:alice@example.com: TOTP, 30 s",
    );
    assert_shown(
        &h,
        "Seed ready: Example:alice@example.com (10 bytes, hidden)",
    );

    click(&mut h, "Connect");
    assert_shown(&h, SERIAL);
    assert_shown(&h, "Token2 OTPC-P2-i");
    click(&mut h, "Burn…");
    // The question names the serial; only that token is burned.
    assert_shown(&h, &format!("Burn token {SERIAL} (Token2 OTPC-P2-i)?"));
    click(&mut h, &format!("Burn token {SERIAL}"));

    let token = placed(&bench, 0);
    assert_eq!(token.seed_hex.as_deref(), Some(URI_SEED_ON_TOKEN_HEX));
    assert_eq!((token.seed_writes, token.config_writes), (1, 1));
    // The seed left the seed step once burned.
    assert_shown(&h, "The seed was burned and dropped from this window");
    assert!(!shown(&h, "Seed ready"));

    // The codes shown include what the virtual display shows (computed by the simulator,
    // which shares no code with the library).
    assert_shown(&h, "Switch the token off and on");
    let display = bench.placed()[0].lock().unwrap().display_code().unwrap();
    assert!(
        h.query_by_label(&display).is_some(),
        "{display} not among the codes:\n{}",
        labels(&h)
    );
    assert_shown(&h, &format!("Display: {display}"));

    type_into(&mut h, "Code on the display", &display);
    click(&mut h, "Verify");
    assert_shown(&h, &format!("Verified: {display} matches"));

    let out = dir.path().join("entra.csv");
    type_into(&mut h, "Export path", out.to_str().unwrap());
    type_into(&mut h, "UPN (Entra ID user)", "alice@example.com");
    click(&mut h, "Export seed data");
    assert_shown(&h, "Exported 1 token(s) as entra");
    let records = read_entra_csv(
        &std::fs::read_to_string(&out).unwrap(),
        &SeedFileOptions::default(),
    )
    .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].serial, SERIAL);
    assert_eq!(records[0].upn.as_deref(), Some("alice@example.com"));
    assert_eq!(data_hex(records[0].secret.expose()), URI_SEED_HEX);
    // Verified and exported: the seed is gone from the window.
    assert_shown(&h, "the seed was dropped from memory");
    assert!(h.query_by_label("Export seed data").is_some());
}

#[test]
fn uri_is_masked_and_keyboard_reaches_every_step() {
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    click(&mut h, "otpauth URI");
    type_into(&mut h, "URI", URI);
    // Masked by default: the field's accessible value is not the URI.
    let value = h.get_by_label("URI").value().unwrap_or_default();
    assert!(
        !value.contains("JBSWY3DP") && !value.is_empty(),
        "{value:?}"
    );
    // Tab to the Reveal box, Tab to Read URI, Enter presses it.
    h.key_press(egui::Key::Tab);
    h.step();
    assert!(h.get_by_label("Reveal").is_focused());
    h.key_press(egui::Key::Tab);
    h.step();
    assert!(h.get_by_label("Read URI").is_focused());
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_shown(&h, "Seed ready: Example:alice@example.com");
    // Focus on Connect, Enter.
    h.get_by_label("Connect").focus();
    h.step();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_shown(&h, SERIAL);
    h.get_by_label("Burn…").focus();
    h.step();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    // Escape closes the confirmation without burning.
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    assert!(h.query_by_label(&format!("Burn token {SERIAL}")).is_none());
    assert_eq!(placed(&bench, 0).seed_writes, 0);
}

#[test]
fn random_seed_burned_and_exported_as_pskc_and_vendor() {
    let dir = tempfile::tempdir().unwrap();
    let bench = Arc::new(SimBench::new("8659612000007"));
    let mut h = tall(&bench);
    click(&mut h, "Random");
    click(&mut h, "40 bytes (64 characters)");
    click(&mut h, "Generate");
    assert_shown(&h, "Seed ready: random seed (40 bytes, hidden)");
    click(&mut h, "Connect");
    click(&mut h, "Burn…");
    click(&mut h, "Burn token 8659612000007");
    let token = placed(&bench, 0);
    let on_token = token.seed_hex.unwrap();
    assert_eq!(on_token.len(), 80);

    // PSKC, chosen in the format list.
    choose(&mut h, "Format", "PSKC");
    let pskc = dir.path().join("seed.pskcxml");
    type_into(&mut h, "Export path", pskc.to_str().unwrap());
    click(&mut h, "Export seed data");
    assert_shown(&h, "Exported 1 token(s) as pskc");
    let records = read_pskc(&std::fs::read_to_string(&pskc).unwrap()).unwrap();
    assert_eq!(records[0].serial, "8659612000007");
    assert_eq!(data_hex(records[0].secret.expose()), on_token);

    // Not verified yet, so the seed is still held: a second export is possible. An
    // existing file is refused until replacing is ticked.
    choose(&mut h, "Format", "vendor CSV");
    h.get_by_label("Export path").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Export path")
        .type_text(pskc.to_str().unwrap());
    h.step();
    click(&mut h, "Export seed data");
    assert_shown(&h, "exists");
    assert_shown(&h, "Tick \"Replace an existing file\"");
    let vendor = dir.path().join("seed.csv");
    h.get_by_label("Export path").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Export path")
        .type_text(vendor.to_str().unwrap());
    h.step();
    click(&mut h, "Export seed data");
    let records = read_vendor_csv(
        &std::fs::read_to_string(&vendor).unwrap(),
        &SeedFileOptions::default(),
    )
    .unwrap();
    assert_eq!(data_hex(records[0].secret.expose()), on_token);
}

#[test]
fn dropped_image_file_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let qr = dir.path().join("dropped.png");
    std::fs::write(&qr, safeid::qr::generate::png(URI, 6).unwrap()).unwrap();
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    h.input_mut().dropped_files.push(Arc::new(Dropped(qr)));
    settle(&mut h);
    assert_shown(&h, "Seed ready: Example:alice@example.com");
}

/// A file dropped on the window, as egui-winit hands it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn data_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A Google Authenticator export with two accounts, encoded by hand from the export's
/// protobuf layout (field 1: repeated OtpParameters {1 secret, 2 name, 3 issuer,
/// 4 algorithm 1 = SHA1, 5 digits 1 = six, 6 type 2 = TOTP}).
fn migration_uri() -> String {
    fn param(secret: &[u8], name: &str, issuer: &str) -> Vec<u8> {
        let mut p = vec![0x0A, secret.len() as u8];
        p.extend_from_slice(secret);
        p.extend([0x12, name.len() as u8]);
        p.extend_from_slice(name.as_bytes());
        p.extend([0x1A, issuer.len() as u8]);
        p.extend_from_slice(issuer.as_bytes());
        p.extend([0x20, 0x01, 0x28, 0x01, 0x30, 0x02]);
        p
    }
    let bob: Vec<u8> = (1..=20).collect();
    let mut payload = Vec::new();
    for p in [
        param(b"Hello!\xDE\xAD\xBE\xEF", "alice", "GitHub"),
        param(&bob, "bob", "Google"),
    ] {
        payload.extend([0x0A, p.len() as u8]);
        payload.extend(p);
    }
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(payload);
    let data = data
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("otpauth-migration://offline?data={data}")
}

#[test]
fn migration_export_offers_an_account_picker() {
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    click(&mut h, "otpauth URI");
    type_into(&mut h, "URI", &migration_uri());
    click(&mut h, "Read URI");
    assert_shown(&h, "2 accounts: choose the one to burn");
    click(&mut h, "Google:bob (20 bytes, hidden)");
    click(&mut h, "Connect");
    click(&mut h, "Burn…");
    click(&mut h, &format!("Burn token {SERIAL}"));
    let expected: String = (1..=20u8).map(|b| format!("{b:02X}")).collect();
    assert_eq!(placed(&bench, 0).seed_hex, Some(expected));
}

#[test]
fn seed_file_row_is_matched_by_the_serial() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seeds.csv");
    std::fs::write(
        &file,
        "8659622000009,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n8659622000001,JBSWY3DPEHPK3PXP\n",
    )
    .unwrap();
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    click(&mut h, "Seed file");
    type_into(&mut h, "Seed file path", file.to_str().unwrap());
    click(&mut h, "Load seed file");
    assert_shown(&h, "2 rows; the row of the token's serial is used");
    click(&mut h, "Connect");
    click(&mut h, "Burn…");
    click(&mut h, &format!("Burn token {SERIAL}"));
    assert_eq!(
        placed(&bench, 0).seed_hex.as_deref(),
        Some(URI_SEED_ON_TOKEN_HEX)
    );
}

#[test]
fn clock_far_off_without_sync_needs_acceptance_and_verifies_on_the_token_clock() {
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut spec = safeid_sim::TokenSpec::token2(SERIAL);
    spec.clock_offset = -900;
    bench.place_next(spec, safeid_sim::Faults::default());
    let mut h = tall(&bench);
    click(&mut h, "Sync token clock");
    burn_uri(&mut h, URI);
    assert_shown(&h, "15m behind this computer's");
    assert_shown(
        &h,
        "the token's clock is 15m behind the host's and would not be set",
    );
    assert_shown(&h, "What to do: Tick \"Accept clock-drift\" under Options");
    click(&mut h, "Accept clock-drift");
    click(&mut h, "Burn…");
    assert_shown(
        &h,
        "Warning: the token's clock is 15m behind the host's and will not be set",
    );
    click(&mut h, &format!("Burn token {SERIAL}"));
    let token = placed(&bench, 0);
    // The config write re-sent the token's own time: still 15 minutes behind.
    let host = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (host - token.clock).abs_diff(900) <= 5,
        "token clock {}",
        token.clock
    );
    let display = bench.placed()[0].lock().unwrap().display_code().unwrap();
    type_into(&mut h, "Code on the display", &display);
    click(&mut h, "Verify");
    assert_shown(
        &h,
        &format!(
            "Burned, clock off: {display} matches on the token's own clock, which is 15m behind the host's"
        ),
    );
}
