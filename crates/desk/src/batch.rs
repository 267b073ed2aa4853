//! The batch view: `safeid::batch` with a journal, one row per token with its state,
//! progress, cancel and resume.

use std::path::PathBuf;

use eframe::egui;
use safeid::batch::{
    self, BatchConfig, BatchEvent, BatchSeeds, BatchSummary, Cancel, ExportTarget, TokenOutcome,
};
use safeid::export::ExportOptions;
use safeid::sources::{self, SeedFile, SeedFileOptions};

use crate::app::{DeskApp, Msg, attention};
use crate::problem::{Control, Problem};
use crate::steps::{ExportPanel, export_fields};

/// Where the batch's seeds come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSource {
    /// A fresh random seed per token.
    Random,
    /// A seed file keyed by serial.
    SeedFile,
    /// One otpauth URI per line, in order.
    UriList,
}

/// One token's row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub station: String,
    pub serial: String,
    pub model: String,
    pub state: String,
    pub finished: bool,
    pub failed: bool,
}

/// What a batch worker sends back.
pub(crate) enum BatchMsg {
    Notices(Vec<String>),
    Started { station: String, serial: String },
    Finished(Row),
    Done(Result<(BatchSummary, Vec<String>), Problem>),
}

/// The batch view's state.
pub(crate) struct BatchPanel {
    pub source: BatchSource,
    pub random_bytes: usize,
    pub seed_path: String,
    pub journal: String,
    pub resume: bool,
    pub count: u64,
    pub stations: Vec<String>,
    pub export_on: bool,
    pub export: ExportPanel,
    pub rows: Vec<Row>,
    pub notices: Vec<String>,
    pub cancel: Option<Cancel>,
    pub summary: Option<BatchSummary>,
    pub exports: Vec<String>,
    pub problem: Option<Problem>,
}

impl Default for BatchPanel {
    fn default() -> Self {
        Self {
            source: BatchSource::Random,
            random_bytes: sources::DEFAULT_RANDOM_BYTES,
            seed_path: String::new(),
            journal: String::new(),
            resume: false,
            count: 5,
            stations: Vec::new(),
            export_on: false,
            export: ExportPanel::default(),
            rows: Vec::new(),
            notices: Vec::new(),
            cancel: None,
            summary: None,
            exports: Vec::new(),
            problem: None,
        }
    }
}

impl BatchPanel {
    pub fn running(&self) -> bool {
        self.cancel.is_some()
    }

    pub fn handle(&mut self, msg: BatchMsg) {
        match msg {
            BatchMsg::Notices(n) => self.notices = n,
            BatchMsg::Started { station, serial } => self.rows.push(Row {
                station,
                serial,
                model: String::new(),
                state: "burning".into(),
                finished: false,
                failed: false,
            }),
            BatchMsg::Finished(row) => {
                let open = self
                    .rows
                    .iter_mut()
                    .rev()
                    .find(|r| r.station == row.station && !r.finished);
                match open {
                    Some(r) => *r = row,
                    None => self.rows.push(row),
                }
            }
            BatchMsg::Done(result) => {
                self.cancel = None;
                match result {
                    Ok((summary, exports)) => {
                        self.summary = Some(summary);
                        self.exports = exports;
                    }
                    Err(p) => self.problem = Some(p),
                }
            }
        }
    }

    fn total(&self) -> Option<u64> {
        self.summary
            .as_ref()
            .map(|_| self.rows.len() as u64)
            .or((self.count > 0).then_some(self.count))
    }
}

fn row_of(e: &batch::TokenEvent) -> Row {
    let (state, failed) = match &e.outcome {
        TokenOutcome::Burned(r) => (
            format!("burned; the display must show {} now", r.expected.current),
            false,
        ),
        TokenOutcome::AlreadyDone => ("already burned (journal): not touched".into(), false),
        TokenOutcome::NotTouched(why) => (format!("not touched: {why}"), false),
        TokenOutcome::Failed(err) => (format!("FAILED: {err}"), true),
    };
    Row {
        station: e.station.clone(),
        serial: e.serial.clone().unwrap_or_else(|| "(serial unread)".into()),
        model: e.model.clone().unwrap_or_else(|| "unknown model".into()),
        state,
        finished: true,
        failed,
    }
}

/// Draws the batch view.
pub(crate) fn show(app: &mut DeskApp, ui: &mut egui::Ui) {
    let running = app.batch.running();
    ui.add_enabled_ui(!running, |ui| settings(app, ui));
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(!running, egui::Button::new("Start batch"))
            .clicked()
        {
            start(app);
        }
        if let Some(cancel) = &app.batch.cancel {
            ui.spinner();
            if ui.button("Cancel batch").clicked() {
                cancel.cancel();
            }
        }
        let resume = app
            .batch
            .summary
            .as_ref()
            .is_some_and(BatchSummary::resume_needed);
        if !running && resume && ui.button("Resume batch").clicked() {
            app.batch.resume = true;
            start(app);
        }
    });
    let b = &app.batch;
    if let Some(p) = &b.problem {
        p.show(ui);
    }
    for n in &b.notices {
        ui.label(n);
    }
    let finished = b.rows.iter().filter(|r| r.finished).count() as u64;
    if let Some(total) = b.total().filter(|t| *t > 0) {
        ui.add(
            egui::ProgressBar::new((finished as f32 / total as f32).min(1.0))
                .text(format!("{finished} of {total} tokens")),
        );
    }
    if !b.rows.is_empty() {
        egui::Grid::new("batch rows")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                ui.strong("Station");
                ui.strong("Serial");
                ui.strong("Model");
                ui.strong("State");
                ui.end_row();
                for r in &b.rows {
                    ui.label(&r.station);
                    ui.label(&r.serial);
                    ui.label(&r.model);
                    if r.failed {
                        ui.colored_label(ui.visuals().error_fg_color, &r.state);
                    } else {
                        ui.label(&r.state);
                    }
                    ui.end_row();
                }
            });
    }
    if let Some(s) = &b.summary {
        ui.label(format!(
            "Batch ended: {} burned, {} already done, {} not touched, {} failed{}{}",
            s.burned,
            s.already_done,
            s.not_touched,
            s.failed,
            if s.cancelled { ", cancelled" } else { "" },
            s.stopped
                .as_ref()
                .map(|w| format!("; stopped: {w}"))
                .unwrap_or_default()
        ));
        if !s.uncertain.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "Uncertain (burned again with their recorded seed on resume): {}",
                    s.uncertain.join(", ")
                ),
            );
        }
        if s.resume_needed() {
            ui.label("Place the remaining tokens again and press Resume batch.");
        } else {
            ui.label("Every token is done.");
        }
        for e in &b.exports {
            ui.label(e);
        }
    }
}

fn settings(app: &mut DeskApp, ui: &mut egui::Ui) {
    let b = &mut app.batch;
    ui.horizontal_wrapped(|ui| {
        ui.label("Seeds");
        ui.radio_value(&mut b.source, BatchSource::Random, "Random per token");
        ui.radio_value(
            &mut b.source,
            BatchSource::SeedFile,
            "Seed file (by serial)",
        );
        ui.radio_value(&mut b.source, BatchSource::UriList, "otpauth URI list");
    });
    match b.source {
        BatchSource::Random => {
            ui.horizontal_wrapped(|ui| {
                ui.radio_value(&mut b.random_bytes, 20, "20 bytes");
                ui.radio_value(&mut b.random_bytes, 40, "40 bytes");
            });
        }
        _ => {
            ui.horizontal_wrapped(|ui| {
                let label = ui.label("Seed or URI file");
                ui.add(egui::TextEdit::singleline(&mut b.seed_path).desired_width(300.0))
                    .labelled_by(label.id);
            });
        }
    }
    ui.horizontal_wrapped(|ui| {
        attention(app.attention, Control::Journal, ui, |ui| {
            let label = ui.label("Journal file");
            ui.add(egui::TextEdit::singleline(&mut b.journal).desired_width(300.0))
                .labelled_by(label.id);
        });
        attention(app.attention, Control::Resume, ui, |ui| {
            ui.checkbox(&mut b.resume, "Resume the journal");
        });
    });
    ui.colored_label(
        ui.visuals().warn_fg_color,
        "The journal holds every seed in clear (mode 0600): keep it like the seeds and delete it once they are imported.",
    );
    ui.horizontal_wrapped(|ui| {
        ui.label("Stations");
        for r in &app.token.readers {
            let mut on = b.stations.contains(r);
            if ui.checkbox(&mut on, r).changed() {
                if on {
                    b.stations.push(r.clone());
                } else {
                    b.stations.retain(|s| s != r);
                }
            }
        }
        if app.bench.is_virtual() {
            let label = ui.label("Virtual tokens to place");
            ui.add(egui::DragValue::new(&mut b.count).range(1..=1000))
                .labelled_by(label.id);
        }
    });
    ui.checkbox(&mut b.export_on, "Export the seeds when the batch ends");
    if b.export_on {
        export_fields(ui, &mut b.export, app.attention, "batch");
    }
}

fn start(app: &mut DeskApp) {
    app.attention = None;
    let b = &mut app.batch;
    b.problem = None;
    b.summary = None;
    b.exports.clear();
    b.notices.clear();
    if !b.resume {
        b.rows.clear();
    }
    if b.stations.is_empty() {
        b.stations = app.token.reader.iter().cloned().collect();
    }
    let config = match config(app) {
        Ok(c) => c,
        Err(p) => {
            app.attention = p.control;
            app.batch.problem = Some(p);
            return;
        }
    };
    // The batch stations open the readers themselves: let go of the single-token link.
    if app.token.busy.is_none() {
        app.token.conn = None;
        app.token.status = None;
    }
    let cancel = Cancel::new();
    app.batch.cancel = Some(cancel.clone());
    let bench = std::sync::Arc::clone(&app.bench);
    let stations = app.batch.stations.clone();
    let count = if app.bench.is_virtual() {
        app.batch.count
    } else {
        0
    };
    let (tx, ctx) = app.sender();
    let send = move |m: BatchMsg| {
        let _ = tx.send(Msg::Batch(m));
        if let Some(c) = &ctx {
            c.request_repaint();
        }
    };
    std::thread::spawn(move || {
        let result = (|| {
            let prepared = batch::prepare(config)?;
            send(BatchMsg::Notices(prepared.notices().to_vec()));
            let stations = bench.stations(&stations, count)?;
            let on_event = |e: &BatchEvent| match e {
                BatchEvent::Started { station, serial } => send(BatchMsg::Started {
                    station: station.clone(),
                    serial: serial.clone(),
                }),
                BatchEvent::Finished(t) => send(BatchMsg::Finished(row_of(t))),
            };
            let report = prepared.run(stations, &cancel, &on_event)?;
            let exports = report
                .exports
                .iter()
                .map(|e| match &e.result {
                    Ok(n) => format!(
                        "Exported {n} token(s) as {} to {}",
                        e.target.kind.name(),
                        e.target.path.display()
                    ),
                    Err(err) => format!("Export {} failed: {err}", e.target.kind.name()),
                })
                .collect();
            Ok::<_, Problem>((report.summary, exports))
        })();
        send(BatchMsg::Done(result));
    });
}

fn config(app: &DeskApp) -> Result<BatchConfig, Problem> {
    let b = &app.batch;
    if b.journal.trim().is_empty() {
        return Err(Problem::new("no_journal", "Name a journal file")
            .with_hint(Some(safeid::Hint::NewJournal)));
    }
    let hash = app.options.algorithm.unwrap_or_default();
    let period = app
        .options
        .period
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(safeid::record::DEFAULT_PERIOD);
    let path = PathBuf::from(b.seed_path.trim());
    let seeds = match b.source {
        BatchSource::Random => BatchSeeds::Random {
            bytes: b.random_bytes,
            hash,
            period,
        },
        BatchSource::SeedFile => {
            let text = sources::read_text_file(&path, sources::MAX_SEED_FILE_BYTES, "seed file")?;
            let options = SeedFileOptions {
                encoding: app.seed.encoding,
                hash,
                period,
            };
            BatchSeeds::File(
                SeedFile::parse_with(text.expose(), &options)
                    .map_err(sources::SourceError::from)?,
            )
        }
        BatchSource::UriList => {
            let text = sources::read_text_file(&path, sources::MAX_URI_LIST_BYTES, "URI list")?;
            BatchSeeds::Credentials(sources::parse_uri_list(text.expose(), &path)?)
        }
    };
    let mut config = BatchConfig::new(PathBuf::from(b.journal.trim()), seeds);
    config.resume = b.resume;
    config.provisioner = app.provisioner()?;
    config.plan = safeid::PlanOptions {
        display_timeout: Some(app.options.display_timeout),
        accept: app.options.accept.clone(),
        ..Default::default()
    };
    if b.export_on {
        config.exports = vec![ExportTarget {
            kind: b.export.kind.clone(),
            path: PathBuf::from(b.export.path.trim()),
        }];
        config.export_options = ExportOptions {
            upn: Some(b.export.upn.trim().to_owned()).filter(|u| !u.is_empty()),
            ..ExportOptions::default()
        };
        config.overwrite_exports = b.export.overwrite;
    }
    Ok(config)
}
