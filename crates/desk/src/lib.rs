//! `safeid-desk`: the vendor tool's five steps in one window (obtain a seed, choose the
//! reader and read the token, options, burn, test), with the seed export and a batch view.
//!
//! The window holds views, state and an event loop; every rule is the `safeid` library's
//! workflow (`safeid::token`, `safeid::sources`, `safeid::batch`, `safeid::export`). Token
//! work, screen scans, files and batches run on worker threads, so the window never waits
//! on a token. `docs/desk.md` describes the app and how it is tested.
#![forbid(unsafe_code)]

mod app;
mod batch;
pub mod bench;
mod problem;
mod secret_field;
mod seed;
mod steps;
mod token;

pub use app::{DeskApp, TITLE, Tab};
pub use bench::{Bench, Connection, SimBench};
pub use problem::{Control, Problem};
pub use secret_field::SecretField;

/// The native window's options: title, a size that fits 1280x800 screens, OpenGL.
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_inner_size([1100.0, 760.0])
            .with_min_inner_size([480.0, 360.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    }
}
