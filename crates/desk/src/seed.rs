//! Step 1, Obtain seed: every `safeid::sources` input, with what was found explained the
//! way `safeid scan` explains it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eframe::egui::{self, TextBuffer as _};
use safeid::sources::{self, Found, Secret, SecretEncoding, SeedFile, SeedInput, SourceError};

use crate::app::{DeskApp, Msg, attention};
use crate::problem::{Control, Problem};
use crate::secret_field::SecretField;

/// Where the seed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Every monitor.
    Screen,
    /// An image file (opened or dropped).
    Image,
    /// A pasted otpauth URI.
    Uri,
    /// Typed base32 or hex.
    Text,
    /// A seed file, matched by the token's serial.
    File,
    /// Generated here.
    Random,
}

/// What a seed worker sends back.
pub(crate) enum SeedMsg {
    Found(Result<Found, SourceError>),
    /// The watch ended without a code (timeout or stopped).
    WatchEnded,
    File(Result<(PathBuf, SeedFile), SourceError>),
}

/// Step 1's state. The secrets it holds are in zeroizing types and are wiped after a burn.
pub(crate) struct SeedPanel {
    pub source: Source,
    pub image_path: String,
    pub uri: SecretField,
    pub text: SecretField,
    pub encoding: Option<SecretEncoding>,
    pub reveal: bool,
    pub file_path: String,
    pub file: Option<(PathBuf, SeedFile)>,
    pub random_bytes: usize,
    pub found: Option<Found>,
    pub account: usize,
    pub problem: Option<Problem>,
    pub scanning: bool,
    pub watch: Option<Arc<AtomicBool>>,
    pub note: Option<String>,
}

impl Default for SeedPanel {
    fn default() -> Self {
        Self {
            source: Source::Screen,
            image_path: String::new(),
            uri: SecretField::new(safeid::otpauth::MAX_URI_LEN),
            text: SecretField::new(sources::MAX_SECRET_TEXT_BYTES as usize),
            encoding: None,
            reveal: false,
            file_path: String::new(),
            file: None,
            random_bytes: sources::DEFAULT_RANDOM_BYTES,
            found: None,
            account: 0,
            problem: None,
            scanning: false,
            watch: None,
            note: None,
        }
    }
}

fn uri_id() -> egui::Id {
    egui::Id::unique("seed uri")
}

fn text_id() -> egui::Id {
    egui::Id::unique("seed text")
}

impl SeedPanel {
    pub fn busy(&self) -> bool {
        self.scanning || self.watch.is_some()
    }

    pub fn handle(&mut self, msg: SeedMsg) {
        match msg {
            SeedMsg::Found(result) => {
                self.scanning = false;
                self.watch = None;
                self.set_found(result);
            }
            SeedMsg::WatchEnded => {
                self.watch = None;
                self.note = Some("No QR code appeared on the screens".into());
            }
            SeedMsg::File(result) => {
                self.scanning = false;
                match result {
                    Ok(file) => {
                        self.note = Some(format!(
                            "{}: {} rows; the row of the token's serial is used",
                            file.0.display(),
                            file.1.len()
                        ));
                        self.file = Some(file);
                        self.problem = None;
                    }
                    Err(e) => {
                        self.file = None;
                        self.problem = Some(e.into());
                    }
                }
            }
        }
    }

    fn set_found(&mut self, result: Result<Found, SourceError>) {
        self.account = 0;
        self.note = None;
        match result {
            Ok(found) => {
                self.problem = None;
                self.found = Some(found);
            }
            Err(e) => {
                self.found = None;
                self.problem = Some(e.into());
            }
        }
    }

    /// The secret to burn into the token with `serial`.
    pub fn secret(&self, serial: &str) -> Result<Secret, Problem> {
        if self.source == Source::File {
            let (_, file) = self
                .file
                .as_ref()
                .ok_or_else(|| Problem::new("no_seed", "Load a seed file first"))?;
            return Ok(sources::from_seed_file(file, serial)?);
        }
        let found = self
            .found
            .as_ref()
            .ok_or_else(|| Problem::new("no_seed", "Obtain a seed first (step 1)"))?;
        let choice = (found.secrets.len() > 1).then(|| (self.account + 1).to_string());
        Ok(found.pick(choice.as_deref())?)
    }

    /// True when a seed is ready (a seed file counts once loaded).
    pub fn ready(&self) -> bool {
        match self.source {
            Source::File => self.file.is_some(),
            _ => self.found.as_ref().is_some_and(|f| !f.secrets.is_empty()),
        }
    }

    /// Drops every secret held: after a burn.
    pub fn wipe(&mut self, ctx: &egui::Context) {
        self.uri.wipe(ctx, uri_id());
        self.text.wipe(ctx, text_id());
        self.found = None;
        self.file = None;
        self.reveal = false;
        self.note = Some("The seed was burned and dropped from this window".into());
    }

    fn read_now(&mut self, input: SeedInput) {
        let models = safeid::proto::ModelTable::builtin();
        self.set_found(sources::read(input, &models));
    }
}

/// Fills the URI field with `uri` and reads it.
pub(crate) fn preset_uri(seed: &mut SeedPanel, uri: &str) {
    seed.source = Source::Uri;
    seed.uri.insert_text(uri, egui::text::CharIndex(0));
    let input = SeedInput::Uri(seed.uri.secret());
    seed.read_now(input);
}

/// Image files dropped on the window are scanned.
pub(crate) fn take_dropped_files(app: &mut DeskApp, ctx: &egui::Context) {
    let dropped = ctx.input_mut(|i| std::mem::take(&mut i.raw.dropped_files));
    let Some(file) = dropped.into_iter().next() else {
        return;
    };
    app.seed.source = Source::Image;
    let path = file.path().to_path_buf();
    app.seed.image_path = path.display().to_string();
    scan(app, SeedInput::QrFile(path));
}

/// Reads `input` on a worker thread.
fn scan(app: &mut DeskApp, input: SeedInput) {
    app.seed.scanning = true;
    app.seed.problem = None;
    app.seed.found = None;
    app.seed.note = None;
    app.spawn(move || {
        let models = safeid::proto::ModelTable::builtin();
        Msg::Seed(SeedMsg::Found(sources::read(input, &models)))
    });
}

/// Draws step 1.
pub(crate) fn show(app: &mut DeskApp, ui: &mut egui::Ui) {
    let before = app.seed.source;
    ui.horizontal_wrapped(|ui| {
        let s = &mut app.seed.source;
        ui.selectable_value(s, Source::Screen, "Scan screen");
        ui.selectable_value(s, Source::Image, "Image file");
        ui.selectable_value(s, Source::Uri, "otpauth URI");
        ui.selectable_value(s, Source::Text, "Type secret");
        ui.selectable_value(s, Source::File, "Seed file");
        ui.selectable_value(s, Source::Random, "Random");
    });
    if app.seed.source != before {
        app.seed.found = None;
        app.seed.problem = None;
        app.seed.note = None;
    }
    match app.seed.source {
        Source::Screen => screen(app, ui),
        Source::Image => image(app, ui),
        Source::Uri => uri(app, ui),
        Source::Text => text(app, ui),
        Source::File => file(app, ui),
        Source::Random => random(app, ui),
    }
    found(app, ui);
}

fn screen(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.label("Show the service's QR code on any monitor, then scan.");
    if sources::screen_may_ask_permission() {
        ui.label("Your desktop may ask you to allow a screenshot: answer its dialog.");
    }
    ui.horizontal_wrapped(|ui| {
        let idle = !app.seed.busy();
        if ui
            .add_enabled(idle, egui::Button::new("Scan screen now"))
            .clicked()
        {
            scan(app, SeedInput::Screen);
        }
        if let Some(stop) = &app.seed.watch {
            ui.spinner();
            ui.label("Watching the screens for a QR code");
            if ui.button("Stop watching").clicked() {
                stop.store(true, Ordering::SeqCst);
            }
        } else if ui
            .add_enabled(idle, egui::Button::new("Watch the screens"))
            .clicked()
        {
            let stop = Arc::new(AtomicBool::new(false));
            app.seed.watch = Some(Arc::clone(&stop));
            app.seed.found = None;
            app.spawn(move || {
                let models = safeid::proto::ModelTable::builtin();
                let cancelled = || stop.load(Ordering::SeqCst);
                match sources::watch_screens(&models, sources::WatchOptions::default(), &cancelled)
                {
                    Ok(Some(found)) => Msg::Seed(SeedMsg::Found(Ok(found))),
                    Ok(None) => Msg::Seed(SeedMsg::WatchEnded),
                    Err(e) => Msg::Seed(SeedMsg::Found(Err(e))),
                }
            });
        }
        if app.seed.scanning {
            ui.spinner();
        }
    });
}

fn image(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.label("Open an image file holding the QR code, or drop one on the window.");
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Image path");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut app.seed.image_path)
                .hint_text("/path/to/qr.png")
                .desired_width(320.0),
        );
        let edit = edit.labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let can = !app.seed.image_path.trim().is_empty() && !app.seed.busy();
        if ui
            .add_enabled(can, egui::Button::new("Open image"))
            .clicked()
            || (enter && can)
        {
            let path = PathBuf::from(app.seed.image_path.trim());
            scan(app, SeedInput::QrFile(path));
        }
        if app.seed.scanning {
            ui.spinner();
        }
    });
}

fn uri(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("URI");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut app.seed.uri)
                .id(uri_id())
                .password(!app.seed.reveal)
                .hint_text("otpauth://totp/...")
                .desired_width(360.0),
        );
        edit.labelled_by(label.id);
        ui.checkbox(&mut app.seed.reveal, "Reveal");
        if ui
            .add_enabled(!app.seed.uri.is_blank(), egui::Button::new("Read URI"))
            .clicked()
        {
            let input = SeedInput::Uri(app.seed.uri.secret());
            app.seed.read_now(input);
        }
    });
}

fn text(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Secret");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut app.seed.text)
                .id(text_id())
                .password(!app.seed.reveal)
                .hint_text("base32 or hex")
                .desired_width(300.0),
        );
        edit.labelled_by(label.id);
        ui.checkbox(&mut app.seed.reveal, "Reveal");
    });
    ui.horizontal_wrapped(|ui| {
        attention(app.attention, Control::Encoding, ui, |ui| {
            encoding(ui, &mut app.seed.encoding);
        });
        if ui
            .add_enabled(!app.seed.text.is_blank(), egui::Button::new("Use secret"))
            .clicked()
        {
            let input = SeedInput::Text {
                text: app.seed.text.secret(),
                encoding: app.seed.encoding,
            };
            app.seed.read_now(input);
        }
    });
}

fn encoding(ui: &mut egui::Ui, value: &mut Option<SecretEncoding>) {
    ui.label("Encoding");
    ui.radio_value(value, None, "Detect");
    ui.radio_value(value, Some(SecretEncoding::Base32), "base32");
    ui.radio_value(value, Some(SecretEncoding::Hex), "hex");
}

fn file(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.label("A CSV seed file (vendor serial,secret or the Entra ID layout): the token gets the row of its serial.");
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Seed file path");
        ui.add(egui::TextEdit::singleline(&mut app.seed.file_path).desired_width(320.0))
            .labelled_by(label.id);
        attention(app.attention, Control::Encoding, ui, |ui| {
            encoding(ui, &mut app.seed.encoding);
        });
        let can = !app.seed.file_path.trim().is_empty() && !app.seed.busy();
        if ui
            .add_enabled(can, egui::Button::new("Load seed file"))
            .clicked()
        {
            let path = PathBuf::from(app.seed.file_path.trim());
            let options = sources::SeedFileOptions {
                encoding: app.seed.encoding,
                ..Default::default()
            };
            app.seed.scanning = true;
            app.spawn(move || {
                let result =
                    sources::read_text_file(&path, sources::MAX_SEED_FILE_BYTES, "seed file")
                        .and_then(|text| Ok(SeedFile::parse_with(text.expose(), &options)?))
                        .map(|f| (path, f));
                Msg::Seed(SeedMsg::File(result))
            });
        }
    });
}

fn random(app: &mut DeskApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Length");
        ui.radio_value(
            &mut app.seed.random_bytes,
            20,
            "20 bytes (32 base32 characters)",
        );
        ui.radio_value(&mut app.seed.random_bytes, 40, "40 bytes (64 characters)");
        if ui.button("Generate").clicked() {
            let bytes = app.seed.random_bytes;
            app.seed.read_now(SeedInput::Random { bytes });
        }
    });
    ui.label("A random seed exists only in this window: export it after the burn.");
}

fn found(app: &mut DeskApp, ui: &mut egui::Ui) {
    let seed = &mut app.seed;
    if let Some(note) = &seed.note {
        ui.label(note);
    }
    if let Some(p) = &seed.problem {
        p.show(ui);
    }
    let Some(found) = &seed.found else {
        return;
    };
    if !found.scanned.is_empty() {
        ui.label(format!("Found: {}", found.describe()));
    }
    match found.secrets.len() {
        0 => {}
        1 => {
            let s = &found.secrets[0];
            ui.label(format!("Seed ready: {}", describe(s)));
        }
        n => {
            attention(app.attention, Control::Account, ui, |ui| {
                ui.label(format!("{n} accounts: choose the one to burn"));
                for (i, s) in found.secrets.iter().enumerate() {
                    ui.radio_value(&mut seed.account, i, describe(s));
                }
            });
        }
    }
}

/// One line on a secret, without the secret.
fn describe(s: &Secret) -> String {
    let what = s.label().unwrap_or_else(|| match s.origin {
        sources::Origin::Random => "random seed".into(),
        sources::Origin::Text(e) => format!("typed {e} secret"),
        _ => "secret".into(),
    });
    format!("{what} ({} bytes, hidden)", s.credential.secret.len())
}
