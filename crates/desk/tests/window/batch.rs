//! The batch view: several virtual tokens, one removed mid-burn, the batch resumed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use egui_kittest::kittest::Queryable;
use safeid_desk::SimBench;
use safeid_sim::{Faults, TokenSpec};

use crate::common::*;

#[test]
fn batch_with_a_token_removed_mid_burn_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("batch.journal");
    let bench = Arc::new(SimBench::new(SERIAL));
    // The third token leaves the reader after its config write, before its seed (first
    // placement only; placed again on resume, it stays).
    let removed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&removed);
    bench.set_batch_tokens(
        "8659622",
        Arc::new(move |serial: &str| {
            let faults = if serial == "8659622000003" && !flag.swap(true, Ordering::SeqCst) {
                Faults {
                    remove_after: Some(5),
                    ..Faults::default()
                }
            } else {
                Faults::default()
            };
            (TokenSpec::token2(serial), faults)
        }),
    );
    let mut h = tall(&bench);
    click(&mut h, "Batch");
    type_into(&mut h, "Journal file", journal.to_str().unwrap());
    h.get_by_label("Virtual tokens to place").focus();
    h.step();
    h.key_press_modifiers(eframe::egui::Modifiers::COMMAND, eframe::egui::Key::A);
    h.get_by_label("Virtual tokens to place").type_text("4");
    h.key_press(eframe::egui::Key::Enter);
    h.step();
    click(&mut h, "Start batch");
    assert!(removed.load(Ordering::SeqCst));
    assert_shown(
        &h,
        "Batch ended: 3 burned, 0 already done, 0 not touched, 1 failed",
    );
    assert_shown(&h, "FAILED: writing the seed failed");
    assert_shown(&h, "4 of 4 tokens");

    click(&mut h, "Resume batch");
    assert_shown(
        &h,
        "Batch ended: 1 burned, 3 already done, 0 not touched, 0 failed",
    );
    assert_shown(&h, "Every token is done.");

    // Every serial's one token that holds a seed holds the seed the journal recorded
    // for it. (Placing a serial again puts a token in factory state at the station; the
    // removed token was blank anyway: its model erases the seed on the config write.)
    let (state, _) = safeid::journal::JournalState::load(&journal).unwrap();
    let records = state.records();
    assert_eq!(records.len(), 4);
    let tokens: Vec<_> = bench
        .batch_placed()
        .iter()
        .map(|t| t.lock().unwrap().state())
        .collect();
    for r in &records {
        let seeded: Vec<_> = tokens
            .iter()
            .filter(|t| t.serial == r.serial && t.seed_hex.is_some())
            .collect();
        assert_eq!(seeded.len(), 1, "{}", r.serial);
        let hex: String = r
            .secret
            .expose()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(
            seeded[0].seed_hex.as_deref(),
            Some(hex.as_str()),
            "{}",
            r.serial
        );
    }
    assert!(h.query_by_label("Resume batch").is_none());
}

#[test]
fn cancelled_batch_stops_between_tokens_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cancel.journal");
    let bench = Arc::new(SimBench::new(SERIAL));
    // The second token answers its first command late: time to press Cancel.
    bench.set_batch_tokens(
        "8659612",
        Arc::new(|serial: &str| {
            let faults = if serial == "8659612000002" {
                Faults {
                    stall_at: Some((0, std::time::Duration::from_millis(700))),
                    ..Faults::default()
                }
            } else {
                Faults::default()
            };
            (TokenSpec::token2(serial), faults)
        }),
    );
    let mut h = tall(&bench);
    click(&mut h, "Batch");
    type_into(&mut h, "Journal file", journal.to_str().unwrap());
    h.get_by_label("Start batch").click();
    h.step();
    h.step();
    h.get_by_label("Cancel batch").click();
    settle(&mut h);
    assert_shown(&h, "cancelled");
    assert_shown(
        &h,
        "Place the remaining tokens again and press Resume batch.",
    );
    let (first, _) = safeid::journal::JournalState::load(&journal).unwrap();
    assert!(
        first.records().len() < 5,
        "{} burned before the cancel",
        first.records().len()
    );
    click(&mut h, "Resume batch");
    assert_shown(&h, "Every token is done.");
    let (state, _) = safeid::journal::JournalState::load(&journal).unwrap();
    assert_eq!(state.records().len(), 5);
}
