//! Shared helpers of the desk tests: a headless window on virtual tokens, stepped until
//! its workers are done.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use safeid_desk::{DeskApp, SimBench};

/// The serial of the default virtual token (a Token2 OTPC-P2-i, a restricted model).
pub const SERIAL: &str = "8659622000001";

/// RFC 4648's example secret `JBSWY3DPEHPK3PXP` is the bytes "Hello!" 0xDE 0xAD 0xBE 0xEF.
pub const URI: &str =
    "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example";
pub const URI_SEED_HEX: &str = "48656C6C6F21DEADBEEF";
/// What the token stores for it: seeds under 20 bytes are zero-extended to 20
/// (docs/protocol.md, "write seed"; HMAC zero-pads keys anyway, so the codes are the same).
pub const URI_SEED_ON_TOKEN_HEX: &str = "48656C6C6F21DEADBEEF00000000000000000000";

/// A window on `bench`, `width` x `height` points, at `scale` pixels per point.
pub fn window(
    bench: &Arc<SimBench>,
    width: f32,
    height: f32,
    scale: f32,
) -> Harness<'static, DeskApp> {
    let app = DeskApp::new(Arc::clone(bench) as Arc<dyn safeid_desk::Bench>);
    let mut h = Harness::builder()
        .with_size([width, height])
        .with_pixels_per_point(scale)
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui), app);
    settle(&mut h);
    h
}

/// A tall window at 100 %, where every control is on screen.
pub fn tall(bench: &Arc<SimBench>) -> Harness<'static, DeskApp> {
    window(bench, 1100.0, 2600.0, 1.0)
}

/// Steps the window until no worker runs (at most 30 s), then a few frames more.
pub fn settle(h: &mut Harness<'static, DeskApp>) {
    let start = Instant::now();
    h.step();
    while h.state().busy() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the window stayed busy"
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    for _ in 0..3 {
        h.step();
    }
}

/// Steps until a node whose label contains `text` exists (at most 10 s).
pub fn wait_for(h: &mut Harness<'static, DeskApp>, text: &str) {
    let start = Instant::now();
    while !shown(h, text) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{text:?} never appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
}

/// Opens the combo box labelled `label` and picks `option`.
pub fn choose(h: &mut Harness<'static, DeskApp>, label: &str, option: &str) {
    h.get_by_label(label).click();
    h.step();
    h.step();
    click(h, option);
}

/// Clicks the node labelled exactly `label`, then settles.
pub fn click(h: &mut Harness<'static, DeskApp>, label: &str) {
    h.get_by_label(label).click();
    settle(h);
}

/// Types `text` into the field labelled `label`.
pub fn type_into(h: &mut Harness<'static, DeskApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
}

/// Every label in the window, one per line (for failure messages).
pub fn labels(h: &Harness<'static, DeskApp>) -> String {
    let mut out = Vec::new();
    for n in h.query_all(egui_kittest::kittest::By::new()) {
        if let Some(l) = n.accesskit_node().label() {
            out.push(l.to_owned());
        }
    }
    out.join("\n")
}

/// True when a label containing `text` is shown.
pub fn shown(h: &Harness<'static, DeskApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// Asserts that a label containing `text` is shown.
pub fn assert_shown(h: &Harness<'static, DeskApp>, text: &str) {
    assert!(
        shown(h, text),
        "{text:?} not shown; the window shows:\n{}",
        labels(h)
    );
}

/// Seed from a URI, connect to the virtual token, and confirm the burn.
pub fn burn_uri(h: &mut Harness<'static, DeskApp>, uri: &str) {
    click(h, "otpauth URI");
    type_into(h, "URI", uri);
    click(h, "Read URI");
    click(h, "Connect");
    click(h, "Burn…");
}

/// How many APDUs with instruction `ins` the token received.
pub fn count_ins(state: &safeid_sim::TokenState, ins: u8) -> usize {
    state.apdu_log.iter().filter(|e| e.ins == Some(ins)).count()
}

/// The state of the `i`th token placed on the single-token reader.
pub fn placed(bench: &SimBench, i: usize) -> safeid_sim::TokenState {
    bench.placed()[i].lock().unwrap().state()
}
