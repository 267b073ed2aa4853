//! Step 2, Reader and token: the reader list (it follows plugging and unplugging),
//! Connect, and what the token says (serial, model, clock and drift), with the read-only
//! probe for unknown models and the access key field.

use eframe::egui;
use safeid::report::{describe_offset, utc_date};

use crate::app::{DeskApp, Msg, attention};
use crate::bench::SharedToken;
use crate::problem::{Control, Problem};

/// Draws step 2.
pub(crate) fn show(app: &mut DeskApp, ui: &mut egui::Ui) {
    let idle = app.token.busy.is_none();
    ui.horizontal_wrapped(|ui| {
        attention(app.attention, Control::Reader, ui, |ui| {
            egui::ComboBox::new("reader", "Reader")
                .selected_text(app.token.reader.as_deref().unwrap_or("(no reader)"))
                .show_ui(ui, |ui| {
                    for r in &app.token.readers {
                        ui.selectable_value(&mut app.token.reader, Some(r.clone()), r);
                    }
                });
        });
        let can = idle && app.token.reader.is_some();
        if ui.add_enabled(can, egui::Button::new("Connect")).clicked() {
            connect(app);
        }
        let has = app.token.conn.is_some();
        if ui
            .add_enabled(idle && has, egui::Button::new("Read again"))
            .clicked()
        {
            with_token(app, "reading", |p, mut conn| {
                let read = p.read(conn.transport.as_mut());
                Msg::Read(conn, read)
            });
        }
        if let Some(what) = app.token.busy {
            ui.spinner();
            ui.label(format!("{what}…"));
        }
    });
    if let Some(p) = &app.token.reader_problem {
        p.show(ui);
    }
    if app.token.readers.is_empty() && app.token.reader_problem.is_none() {
        ui.label("No reader: plug one in (the list follows plugging and unplugging)");
    }
    if let Some(s) = &app.token.status {
        egui::Grid::new("token").num_columns(2).show(ui, |ui| {
            ui.label("Serial");
            ui.strong(&s.serial);
            ui.end_row();
            ui.label("Model");
            ui.label(s.model_name().unwrap_or_else(|| "unknown".into()));
            ui.end_row();
            ui.label("Token clock");
            ui.label(utc_date(u64::from(s.token_time)));
            ui.end_row();
            ui.label("Drift");
            ui.label(format!("{} this computer's", describe_offset(s.drift)));
            ui.end_row();
        });
        if let Some(w) = s.clock_warning(app.options.period.unwrap_or(30)) {
            ui.colored_label(ui.visuals().warn_fg_color, w);
        }
        // The library's own checks for a token just placed, in its words.
        if let Ok(p) = app.provisioner() {
            let period = app.options.period.unwrap_or(30);
            match p.check_token(s, period, &app.options.burn_options()) {
                Ok(warnings) => {
                    for w in warnings {
                        ui.colored_label(ui.visuals().warn_fg_color, w.to_string());
                    }
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
                }
            }
        }
    }
    ui.horizontal_wrapped(|ui| {
        attention(app.attention, Control::Key, ui, |ui| {
            let label = ui.label("Access key (unknown models only)");
            ui.add(
                egui::TextEdit::singleline(&mut app.token.key)
                    .password(true)
                    .hint_text("32 hex digits")
                    .desired_width(260.0),
            )
            .labelled_by(label.id);
        });
        let has = app.token.conn.is_some();
        if ui
            .add_enabled(idle && has, egui::Button::new("Probe (read-only)"))
            .clicked()
        {
            with_token(app, "probing", |p, mut conn| {
                let report = safeid::probe::probe(conn.transport.as_mut(), p.models(), p.now());
                Msg::Probed(conn, report)
            });
        }
    });
    if let Some(note) = &app.token.note {
        ui.label(note);
    }
    if let Some(p) = &app.token.problem {
        p.show(ui);
    }
    if let Some(r) = &app.token.probe {
        probe_report(ui, r);
    }
}

fn probe_report(ui: &mut egui::Ui, r: &safeid::probe::ProbeReport) {
    ui.label(format!("Probe of {}", r.reader));
    if let Some(serial) = &r.serial {
        ui.label(format!("Serial {serial}"));
    }
    if let Some(date) = &r.token_date {
        ui.label(format!("Token clock {date}"));
    }
    ui.label(format!("Model: {}", r.model_reason));
    if let Some(p) = &r.problem {
        ui.colored_label(ui.visuals().error_fg_color, p);
    }
    if !r.needs.is_empty() {
        ui.label("To burn this token the tool needs:");
        for n in &r.needs {
            ui.label(format!("• {n}"));
        }
    }
    egui::CollapsingHeader::new("Commands sent (none secret)").show(ui, |ui| {
        for e in &r.exchanges {
            ui.monospace(format!("{}: {} -> {}", e.command, e.sent, e.reply));
        }
    });
}

/// Connects to the token on the chosen reader and reads it.
pub(crate) fn connect(app: &mut DeskApp) {
    let Some(reader) = app.token.reader.clone() else {
        return;
    };
    let provisioner = match app.provisioner() {
        Ok(p) => p,
        Err(e) => return app.set_problem_token(e),
    };
    app.token.busy = Some(if app.bench.is_virtual() {
        "placing a virtual token"
    } else {
        "waiting for a token on the reader"
    });
    app.token.conn = None;
    app.token.status = None;
    app.token.probe = None;
    app.token.problem = None;
    app.token.note = None;
    app.test = Default::default();
    let bench = std::sync::Arc::clone(&app.bench);
    app.spawn(move || {
        Msg::Connected(
            bench
                .connect(&reader)
                .map(|mut conn| {
                    let read = provisioner.read(conn.transport.as_mut());
                    (conn, read)
                })
                .map_err(Problem::from),
        )
    });
}

/// Moves the connection into a worker running `job`; the job hands it back in its message.
pub(crate) fn with_token(
    app: &mut DeskApp,
    what: &'static str,
    job: impl FnOnce(safeid::Provisioner, crate::bench::Connection) -> Msg + Send + 'static,
) {
    let provisioner = match app.provisioner() {
        Ok(p) => p,
        Err(e) => return app.set_problem_token(e),
    };
    let Some(conn) = app.token.conn.take() else {
        return;
    };
    app.token.busy = Some(what);
    app.token.problem = None;
    app.token.note = None;
    app.spawn(move || job(provisioner, conn));
}

/// The virtual token's display, as the token would show it.
pub(crate) fn virtual_display(ui: &mut egui::Ui, token: &SharedToken) {
    let (serial, code) = {
        let t = token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (t.serial().to_owned(), t.display_code())
    };
    ui.heading("Virtual token");
    ui.label(format!("Serial {serial}"));
    let blank = code.is_none();
    let shown = code.unwrap_or_else(|| "------".into());
    ui.label("Its display shows");
    ui.add(
        egui::Label::new(
            egui::RichText::new(format!("Display: {shown}"))
                .monospace()
                .size(20.0),
        )
        .extend(),
    );
    if blank {
        ui.label("(no seed: dashes)");
    }
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(1));
}
