//! The window's state and event loop. Views are in `seed.rs`, `token.rs`, `steps.rs` and
//! `batch.rs`; every workflow rule is the library's (`safeid::token`, `safeid::sources`,
//! `safeid::batch`). Anything that may block (a token, a screen capture, a file, a batch)
//! runs on a worker thread that sends one [`Msg`] back and wakes the window.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use safeid::Provisioner;
use safeid::probe::ProbeReport;
use safeid::token::Burned;
use safeid::{SessionError, TokenStatus};

use crate::batch::BatchPanel;
use crate::bench::{Bench, Connection};
use crate::problem::{Control, Problem};
use crate::secret_field::SecretField;
use crate::seed::SeedPanel;
use crate::steps::{ExportPanel, OptionsPanel, TestPanel};

/// The window title (it starts with "safeid", which the screenshot test looks for).
pub const TITLE: &str = "safeid desk";

/// What a worker sends back.
pub(crate) enum Msg {
    Readers(Result<Vec<String>, Problem>),
    Connected(Result<(Connection, Result<TokenStatus, SessionError>), Problem>),
    Read(Connection, Result<TokenStatus, SessionError>),
    Probed(Connection, Result<ProbeReport, SessionError>),
    Burned(Connection, Box<Result<Burned, SessionError>>),
    ClockSet(Connection, Result<TokenStatus, SessionError>),
    Seed(crate::seed::SeedMsg),
    Exported(Result<String, Problem>),
    Batch(crate::batch::BatchMsg),
}

/// Which view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// One token: the vendor tool's five steps.
    Single,
    /// Many tokens with a journal.
    Batch,
}

/// The desk app.
pub struct DeskApp {
    pub(crate) bench: Arc<dyn Bench>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    pub(crate) ctx: Option<egui::Context>,
    pub(crate) tab: Tab,
    pub(crate) seed: SeedPanel,
    pub(crate) token: TokenPanel,
    pub(crate) options: OptionsPanel,
    pub(crate) test: TestPanel,
    pub(crate) export: ExportPanel,
    pub(crate) batch: BatchPanel,
    /// The burn waiting for the user's confirmation.
    pub(crate) confirm: Option<safeid::PendingBurn>,
    /// A control a hint pointed at.
    pub(crate) attention: Option<Control>,
    readers_listed: bool,
    connect_when_listed: bool,
}

/// Reader and token state.
pub(crate) struct TokenPanel {
    pub readers: Vec<String>,
    pub reader: Option<String>,
    pub reader_problem: Option<Problem>,
    pub conn: Option<Connection>,
    /// A job holds the connection; what it does.
    pub busy: Option<&'static str>,
    pub status: Option<TokenStatus>,
    pub probe: Option<ProbeReport>,
    pub problem: Option<Problem>,
    pub note: Option<String>,
    pub key: SecretField,
    pub confirm_erase: bool,
}

impl DeskApp {
    /// The app on `bench`. Starts the reader watcher.
    pub fn new(bench: Arc<dyn Bench>) -> Self {
        let (tx, rx) = channel();
        Self {
            bench,
            tx,
            rx,
            ctx: None,
            tab: Tab::Single,
            seed: SeedPanel::default(),
            token: TokenPanel {
                readers: Vec::new(),
                reader: None,
                reader_problem: None,
                conn: None,
                busy: None,
                status: None,
                probe: None,
                problem: None,
                note: None,
                key: SecretField::new(256),
                confirm_erase: false,
            },
            options: OptionsPanel::default(),
            test: TestPanel::default(),
            export: ExportPanel::default(),
            batch: BatchPanel::default(),
            confirm: None,
            attention: None,
            readers_listed: false,
            connect_when_listed: false,
        }
    }

    /// Starts with this otpauth URI read as the seed (as if pasted and read).
    pub fn with_uri(mut self, uri: &str) -> Self {
        crate::seed::preset_uri(&mut self.seed, uri);
        self
    }

    /// Connects to the first reader as soon as the reader list is known.
    pub fn connect_at_start(mut self) -> Self {
        self.connect_when_listed = true;
        self
    }

    /// True while a worker runs (or the reader list has not arrived yet): tests step the
    /// window until this is false.
    pub fn busy(&self) -> bool {
        !self.readers_listed
            || self.token.busy.is_some()
            || self.seed.busy()
            || self.export.busy
            || self.batch.running()
    }

    /// The provisioner for the settings in the window (the key field).
    pub(crate) fn provisioner(&self) -> Result<Provisioner, Problem> {
        let key = if self.token.key.is_blank() {
            None
        } else {
            Some(safeid::keys::parse_key_arg(self.token.key.expose().trim())?)
        };
        Ok(Provisioner::new().with_key(key))
    }

    /// Runs `job` on a worker thread; its message comes back through the channel.
    pub(crate) fn spawn(&self, job: impl FnOnce() -> Msg + Send + 'static) {
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        std::thread::spawn(move || {
            let msg = job();
            // The window may be gone; then nobody needs the answer.
            let _ = tx.send(msg);
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    /// A sender for workers that send several messages (batches, the reader watcher).
    pub(crate) fn sender(&self) -> (Sender<Msg>, Option<egui::Context>) {
        (self.tx.clone(), self.ctx.clone())
    }

    fn start_reader_watch(&self) {
        let bench = Arc::clone(&self.bench);
        let (tx, ctx) = self.sender();
        std::thread::spawn(move || {
            let mut last: Option<Result<Vec<String>, String>> = None;
            loop {
                let now = bench.readers();
                let key = match &now {
                    Ok(list) => Ok(list.clone()),
                    Err(e) => Err(e.to_string()),
                };
                if last.as_ref() != Some(&key) {
                    if tx.send(Msg::Readers(now.map_err(Problem::from))).is_err() {
                        return;
                    }
                    if let Some(ctx) = &ctx {
                        ctx.request_repaint();
                    }
                    last = Some(key);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Readers(result) => {
                self.readers_listed = true;
                match result {
                    Ok(list) => {
                        if self.token.reader.as_ref().is_none_or(|r| !list.contains(r)) {
                            self.token.reader = list.first().cloned();
                        }
                        self.token.readers = list;
                        self.token.reader_problem = None;
                    }
                    Err(p) => {
                        self.token.readers.clear();
                        self.token.reader = None;
                        self.token.reader_problem = Some(p);
                    }
                }
            }
            Msg::Connected(result) => {
                self.token.busy = None;
                match result {
                    Ok((conn, read)) => {
                        self.token.conn = Some(conn);
                        self.token_read(read);
                    }
                    Err(p) => self.token.problem = Some(p),
                }
            }
            Msg::Read(conn, read) => {
                self.token.busy = None;
                self.token.conn = Some(conn);
                self.token_read(read);
            }
            Msg::Probed(conn, result) => {
                self.token.busy = None;
                self.token.conn = Some(conn);
                match result {
                    Ok(report) => self.token.probe = Some(report),
                    Err(e) => self.token.problem = Some(e.into()),
                }
            }
            Msg::ClockSet(conn, result) => {
                self.token.busy = None;
                self.token.conn = Some(conn);
                match result {
                    Ok(status) => {
                        self.token.note = Some(if status.restricted {
                            "Clock set. The seed was erased (this model erases it on every config write): burn a seed before use".into()
                        } else {
                            "Clock set from this computer".into()
                        });
                        self.token.status = Some(status);
                    }
                    Err(e) => self.set_problem_token(e.into()),
                }
            }
            Msg::Burned(conn, result) => {
                self.token.busy = None;
                self.token.conn = Some(conn);
                match *result {
                    Ok(burned) => {
                        if let Some(ctx) = &self.ctx {
                            self.seed.wipe(ctx);
                        }
                        self.test = TestPanel::after(burned);
                        self.export.reset_for_burn();
                    }
                    Err(e) => self.set_problem_token(e.into()),
                }
            }
            Msg::Seed(m) => self.seed.handle(m),
            Msg::Exported(result) => {
                self.export.busy = false;
                match result {
                    Ok(text) => {
                        self.export.done = Some(text);
                        self.export.problem = None;
                        self.test.exported = true;
                        self.test.drop_seed_when_done();
                    }
                    Err(p) => self.export.problem = Some(p),
                }
            }
            Msg::Batch(m) => self.batch.handle(m),
        }
    }

    fn token_read(&mut self, read: Result<TokenStatus, SessionError>) {
        match read {
            Ok(status) => {
                self.token.status = Some(status);
                self.token.problem = None;
                self.token.probe = None;
            }
            Err(e) => {
                self.token.status = None;
                self.token.problem = Some(e.into());
            }
        }
    }

    pub(crate) fn set_problem_token(&mut self, p: Problem) {
        self.attention = p.control;
        self.token.problem = Some(p);
    }

    /// Draws the window (eframe and the tests call this every frame).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.ctx.is_none() {
            self.ctx = Some(ui.ctx().clone());
            self.start_reader_watch();
        }
        while let Ok(msg) = self.rx.try_recv() {
            self.handle(msg);
        }
        if self.connect_when_listed && self.readers_listed {
            self.connect_when_listed = false;
            crate::token::connect(self);
        }
        crate::seed::take_dropped_files(self, &ui.ctx().clone());
        egui::Panel::top("title").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.heading(TITLE);
                ui.label(if self.bench.is_virtual() {
                    "virtual tokens"
                } else {
                    "PC/SC readers"
                });
                ui.separator();
                ui.selectable_value(&mut self.tab, Tab::Single, "Single token");
                ui.selectable_value(&mut self.tab, Tab::Batch, "Batch");
            });
        });
        if let Some(token) = self
            .token
            .conn
            .as_ref()
            .and_then(|c| c.virtual_token.clone())
        {
            egui::Panel::right("virtual token")
                .resizable(false)
                .show(ui, |ui| crate::token::virtual_display(ui, &token));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| match self.tab {
                    Tab::Single => self.single(ui),
                    Tab::Batch => crate::batch::show(self, ui),
                });
        });
        crate::steps::confirm_dialog(self, ui.ctx());
        if self.test.burned.is_some() {
            // The countdown of the expected codes.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    fn single(&mut self, ui: &mut egui::Ui) {
        step(ui, "1  Obtain seed", |ui| crate::seed::show(self, ui));
        step(ui, "2  Reader and token", |ui| crate::token::show(self, ui));
        step(ui, "3  Options", |ui| crate::steps::options(self, ui));
        step(ui, "4  Burn", |ui| crate::steps::burn(self, ui));
        step(ui, "5  Test", |ui| crate::steps::test(self, ui));
        step(ui, "6  Export", |ui| crate::steps::export(self, ui));
    }
}

fn step(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.strong(title);
        body(ui);
    });
    ui.add_space(6.0);
}

impl eframe::App for DeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        DeskApp::ui(self, ui);
    }
}

/// Draws a frame around `ui` content when the hint points at `control`.
pub(crate) fn attention<R>(
    app_attention: Option<Control>,
    control: Control,
    ui: &mut egui::Ui,
    body: impl FnOnce(&mut egui::Ui) -> R,
) -> R {
    if app_attention == Some(control) {
        egui::Frame::new()
            .stroke(egui::Stroke::new(2.0, ui.visuals().warn_fg_color))
            .inner_margin(4.0)
            .show(ui, body)
            .inner
    } else {
        body(ui)
    }
}
