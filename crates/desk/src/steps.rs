//! Steps 3 to 5 and the export: options, burn (confirmed, serial pinned), the codes the
//! token must show and the check of a typed code, and the seed export.

use std::collections::BTreeSet;
use std::path::PathBuf;

use eframe::egui;
use safeid::batch::{ExportKind, ExportTarget};
use safeid::export::{ExportOptions, Format};
use safeid::plan::Acceptance;
use safeid::proto::{DisplayTimeout, HmacAlgorithm, TimeStep};
use safeid::token::{Burned, Verification};
use safeid::{BurnOptions, ClockSettings, PlanOptions, Risk};

use crate::app::{DeskApp, Msg, attention};
use crate::problem::{Control, Problem};

/// Step 3's state.
pub(crate) struct OptionsPanel {
    pub algorithm: Option<HmacAlgorithm>,
    pub period: Option<u64>,
    pub display_timeout: u32,
    pub sync_clock: bool,
    pub accept: BTreeSet<Acceptance>,
}

impl Default for OptionsPanel {
    fn default() -> Self {
        Self {
            algorithm: None,
            period: None,
            display_timeout: 30,
            sync_clock: true,
            accept: BTreeSet::new(),
        }
    }
}

impl OptionsPanel {
    fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            algorithm: self.algorithm,
            period: self.period,
            display_timeout: Some(self.display_timeout),
            accept: self.accept.clone(),
        }
    }

    pub(crate) fn burn_options(&self) -> BurnOptions {
        BurnOptions {
            sync_clock: self.sync_clock,
            accept_clock_drift: self.accept.contains(&Acceptance::Risk(Risk::ClockDrift)),
        }
    }
}

/// Draws step 3.
pub(crate) fn options(app: &mut DeskApp, ui: &mut egui::Ui) {
    let o = &mut app.options;
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::new("algorithm", "Algorithm")
            .selected_text(
                o.algorithm
                    .map_or("as the seed says".into(), |a| a.to_string()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut o.algorithm, None, "as the seed says");
                ui.selectable_value(&mut o.algorithm, Some(HmacAlgorithm::Sha1), "SHA1");
                ui.selectable_value(&mut o.algorithm, Some(HmacAlgorithm::Sha256), "SHA256");
            });
        egui::ComboBox::new("period", "Period")
            .selected_text(
                o.period
                    .map_or("as the seed says".into(), |p| format!("{p} s")),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut o.period, None, "as the seed says");
                ui.selectable_value(&mut o.period, Some(30), "30 s");
                ui.selectable_value(&mut o.period, Some(60), "60 s");
            });
        egui::ComboBox::new("display timeout", "Display timeout")
            .selected_text(format!("{} s", o.display_timeout))
            .show_ui(ui, |ui| {
                for s in [15, 30, 60, 120] {
                    ui.selectable_value(&mut o.display_timeout, s, format!("{s} s"));
                }
            });
    });
    ui.horizontal_wrapped(|ui| {
        attention(app.attention, Control::SyncClock, ui, |ui| {
            ui.checkbox(&mut app.options.sync_clock, "Sync token clock");
        });
        let restricted = app.token.status.as_ref().is_some_and(|s| s.restricted);
        let idle = app.token.busy.is_none() && app.token.conn.is_some();
        if ui
            .add_enabled(idle, egui::Button::new("Set clock only"))
            .clicked()
        {
            set_clock_only(app);
        }
        if restricted {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "This model erases its seed on every config write: setting the clock alone erases the seed (a burn sets the clock and writes the seed again).",
            );
            attention(app.attention, Control::ConfirmErase, ui, |ui| {
                ui.checkbox(
                    &mut app.token.confirm_erase,
                    "I know setting the clock erases the seed",
                );
            });
        }
    });
    ui.horizontal_wrapped(|ui| {
        for a in Acceptance::all() {
            attention(app.attention, Control::Accept(a), ui, |ui| {
                let mut on = app.options.accept.contains(&a);
                if ui
                    .checkbox(&mut on, format!("Accept {}", a.name()))
                    .on_hover_text(accept_help(a))
                    .changed()
                {
                    if on {
                        app.options.accept.insert(a);
                    } else {
                        app.options.accept.remove(&a);
                    }
                }
            });
        }
    });
}

fn accept_help(a: Acceptance) -> &'static str {
    match a {
        Acceptance::Conversion(c) => c.describe(),
        Acceptance::Risk(Risk::ShortRandomSeed) => "random seeds shorter than 16 bytes",
        Acceptance::Risk(_) => "burn without syncing a clock that is far off",
    }
}

fn set_clock_only(app: &mut DeskApp) {
    let o = &app.options;
    let step = o
        .period
        .and_then(|p| u32::try_from(p).ok())
        .and_then(TimeStep::from_seconds)
        .unwrap_or(TimeStep::S30);
    let settings = ClockSettings {
        hmac: o.algorithm.unwrap_or_default(),
        step,
        display_timeout: DisplayTimeout::from_seconds(o.display_timeout)
            .unwrap_or(DisplayTimeout::S30),
    };
    let erase = app.token.confirm_erase;
    crate::token::with_token(app, "setting the clock", move |p, mut conn| {
        let r = p.sync_clock(conn.transport.as_mut(), &settings, erase);
        Msg::ClockSet(conn, r)
    });
}

/// Draws step 4.
pub(crate) fn burn(app: &mut DeskApp, ui: &mut egui::Ui) {
    let ready = app.seed.ready()
        && app.token.status.is_some()
        && app.token.conn.is_some()
        && app.token.busy.is_none();
    ui.horizontal_wrapped(|ui| {
        if ui.add_enabled(ready, egui::Button::new("Burn…")).clicked() {
            prepare(app);
        }
        if !ready {
            ui.label("Needs a seed (step 1) and a token on the reader (step 2)");
        }
    });
}

/// Every check without a secure command; then the confirmation dialog.
fn prepare(app: &mut DeskApp) {
    app.attention = None;
    let result = (|| {
        let status = app
            .token
            .status
            .clone()
            .ok_or_else(|| Problem::new("no_token", "Connect to a token first"))?;
        let secret = app.seed.secret(&status.serial)?;
        let plan = secret.plan(&app.options.plan_options())?;
        let provisioner = app.provisioner()?;
        Ok::<_, Problem>(provisioner.prepare(status, plan, &app.options.burn_options())?)
    })();
    match result {
        Ok(pending) => app.confirm = Some(pending),
        Err(p) => app.set_problem_token(p),
    }
}

/// The confirmation, naming the serial, with the warnings.
pub(crate) fn confirm_dialog(app: &mut DeskApp, ctx: &egui::Context) {
    let Some(pending) = &app.confirm else {
        return;
    };
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("confirm burn")).show(ctx, |ui| {
        ui.heading("Confirm the burn");
        ui.label(pending.question());
        for w in pending.warnings() {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {w}"));
        }
        ui.horizontal(|ui| {
            let burn = ui.button(format!("Burn token {}", pending.serial()));
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                answer = Some(false);
            }
            if burn.clicked() {
                answer = Some(true);
            }
        });
    });
    match answer {
        Some(true) => {
            if let Some(pending) = app.confirm.take() {
                crate::token::with_token(app, "burning", move |p, mut conn| {
                    let r = pending.burn(&p, conn.transport.as_mut());
                    Msg::Burned(conn, Box::new(r))
                });
            }
        }
        Some(false) => app.confirm = None,
        None => {}
    }
}

/// Step 5's state: the burned token, until its seed is dropped.
#[derive(Default)]
pub(crate) struct TestPanel {
    pub burned: Option<Burned>,
    pub code: String,
    pub verification: Option<Verification>,
    pub exported: bool,
    pub dropped: bool,
}

impl TestPanel {
    pub fn after(burned: Burned) -> Self {
        Self {
            burned: Some(burned),
            ..Self::default()
        }
    }

    /// Once the code is verified and the seed exported, the seed leaves memory.
    pub fn drop_seed_when_done(&mut self) {
        if self.exported
            && self
                .verification
                .as_ref()
                .is_some_and(Verification::is_good)
        {
            self.burned = None;
            self.dropped = true;
        }
    }
}

/// Draws step 5.
pub(crate) fn test(app: &mut DeskApp, ui: &mut egui::Ui) {
    let t = &mut app.test;
    if t.dropped {
        ui.label(
            "Verified and exported: the seed was dropped from memory. Connect the next token.",
        );
    }
    let Some(burned) = &t.burned else {
        if !t.dropped {
            ui.label("After the burn, the codes the token must show appear here.");
        }
        show_verification(ui, t.verification.as_ref());
        return;
    };
    let r = burned.report();
    ui.label(format!(
        "Burned {}: {}, {} s step, display {} s{}",
        r.token.status.serial,
        r.hmac,
        r.step_seconds,
        r.display_timeout_seconds,
        r.label
            .as_ref()
            .map(|l| format!(", {l}"))
            .unwrap_or_default()
    ));
    for c in &r.conversions {
        ui.label(format!("Conversion: {}", c.describe()));
    }
    ui.strong("Switch the token off and on (take it off the reader): its display must show one of");
    let codes = burned.expected_now();
    egui::Grid::new("codes").num_columns(2).show(ui, |ui| {
        ui.label("Previous");
        ui.monospace(&codes.previous);
        ui.end_row();
        ui.label("Current");
        ui.monospace(egui::RichText::new(&codes.current).size(20.0).strong());
        ui.end_row();
        ui.label("Next");
        ui.monospace(&codes.next);
        ui.end_row();
    });
    ui.label(format!(
        "{} s left for the current code",
        codes.seconds_left
    ));
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Code on the display");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut t.code)
                .desired_width(100.0)
                .char_limit(16),
        );
        let edit = edit.labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Verify").clicked() || enter {
            t.verification = Some(burned.verify_now(&t.code));
        }
    });
    show_verification(ui, t.verification.as_ref());
    if t.verification.as_ref().is_some_and(Verification::is_good) {
        t.drop_seed_when_done();
    }
}

fn show_verification(ui: &mut egui::Ui, v: Option<&Verification>) {
    if let Some(v) = v {
        let color = if v.is_good() {
            egui::Color32::from_rgb(0x2e, 0x9d, 0x4c)
        } else {
            ui.visuals().warn_fg_color
        };
        let tag = if v.is_good() {
            "Verified"
        } else if v.holds_seed() {
            "Burned, clock off"
        } else {
            "Not verified"
        };
        ui.colored_label(color, format!("{tag}: {}", v.explanation()));
    }
}

/// The export's state.
pub(crate) struct ExportPanel {
    pub kind: ExportKind,
    pub path: String,
    pub upn: String,
    pub overwrite: bool,
    pub busy: bool,
    pub done: Option<String>,
    pub problem: Option<Problem>,
}

impl Default for ExportPanel {
    fn default() -> Self {
        Self {
            kind: ExportKind::File(Format::EntraCsv),
            path: String::new(),
            upn: String::new(),
            overwrite: false,
            busy: false,
            done: None,
            problem: None,
        }
    }
}

impl ExportPanel {
    pub fn reset_for_burn(&mut self) {
        self.done = None;
        self.problem = None;
    }
}

/// Every export the library writes, for the format list.
pub(crate) fn export_kinds() -> Vec<ExportKind> {
    ExportKind::names()
        .into_iter()
        .filter_map(ExportKind::from_name)
        .collect()
}

/// A format's name in the list.
pub(crate) fn kind_label(kind: &ExportKind) -> String {
    match kind {
        ExportKind::File(f) => f.title().into(),
        ExportKind::QrPngs => "QR code PNG (a folder)".into(),
    }
}

/// The format, path, UPN and replace controls (shared with the batch view).
pub(crate) fn export_fields(
    ui: &mut egui::Ui,
    e: &mut ExportPanel,
    attention_on: Option<Control>,
    salt: &str,
) {
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::new(format!("{salt} export format"), "Format")
            .selected_text(kind_label(&e.kind))
            .show_ui(ui, |ui| {
                for k in export_kinds() {
                    let label = kind_label(&k);
                    ui.selectable_value(&mut e.kind, k, label);
                }
            });
        let label = ui.label("Export path");
        ui.add(egui::TextEdit::singleline(&mut e.path).desired_width(280.0))
            .labelled_by(label.id);
    });
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("UPN (Entra ID user)");
        ui.add(
            egui::TextEdit::singleline(&mut e.upn)
                .hint_text("alice@example.com")
                .desired_width(220.0),
        )
        .labelled_by(label.id);
        attention(attention_on, Control::Overwrite, ui, |ui| {
            ui.checkbox(&mut e.overwrite, "Replace an existing file");
        });
    });
}

/// Draws the export step.
pub(crate) fn export(app: &mut DeskApp, ui: &mut egui::Ui) {
    export_fields(ui, &mut app.export, app.attention, "single");
    let can = app.test.burned.is_some() && !app.export.busy && !app.export.path.trim().is_empty();
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(can, egui::Button::new("Export seed data"))
            .clicked()
        {
            start_export(app);
        }
        if app.test.burned.is_none() && !app.test.dropped {
            ui.label("Available once a token is burned (the seed is kept until then)");
        }
    });
    if let Some(done) = &app.export.done {
        ui.label(done);
    }
    if let Some(p) = &app.export.problem {
        p.show(ui);
    }
}

fn start_export(app: &mut DeskApp) {
    let Some(burned) = &app.test.burned else {
        return;
    };
    let e = &app.export;
    let target = ExportTarget {
        kind: e.kind.clone(),
        path: PathBuf::from(e.path.trim()),
    };
    if let Err(err) = safeid::batch::check_export(&target, e.overwrite) {
        if err.hint() == Some(safeid::Hint::Overwrite) {
            app.attention = Some(Control::Overwrite);
        }
        app.export.problem = Some(Problem::from(err));
        return;
    }
    let options = ExportOptions {
        upn: Some(e.upn.trim().to_owned()).filter(|u| !u.is_empty()),
        ..ExportOptions::default()
    };
    let record = burned.record();
    app.export.busy = true;
    app.export.problem = None;
    app.spawn(move || {
        let result = safeid::batch::write_export(&target, std::slice::from_ref(&record), &options)
            .map(|n| {
                format!(
                    "Exported {n} token(s) as {} to {} (mode 0600: it holds the seed)",
                    target.kind.name(),
                    target.path.display()
                )
            })
            .map_err(Problem::from);
        drop(record);
        Msg::Exported(result)
    });
}
