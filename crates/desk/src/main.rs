//! `safeid-desk`: the desk app. `--sim` runs it on virtual tokens; without it, on the
//! PC/SC readers (when built with the `pcsc` feature, the default).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use safeid_desk::{Bench, DeskApp, SimBench};

const USAGE: &str = "usage: safeid-desk [--sim] [--sim-serial SERIAL] [--scale FACTOR]

  --sim                use virtual tokens instead of PC/SC readers
  --sim-serial SERIAL  serial of the virtual tokens (default 8659622000001, a Token2 OTPC-P2-i)
  --scale FACTOR       zoom the whole window (1 = 100 %, 2 = 200 %)
  --uri URI            start with this otpauth URI as the seed (other users can
                       read a command line: for demonstrations and test secrets)
  --connect            connect to the first reader at start";

fn main() -> ExitCode {
    let mut sim = false;
    let mut serial = "8659622000001".to_owned();
    let mut scale: Option<f32> = None;
    let mut uri: Option<String> = None;
    let mut connect = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sim" => sim = true,
            "--sim-serial" => match args.next() {
                Some(s) => serial = s,
                None => return usage("--sim-serial needs a serial"),
            },
            "--scale" => match args.next().and_then(|s| s.parse().ok()) {
                Some(f) if (0.5..=4.0).contains(&f) => scale = Some(f),
                _ => return usage("--scale needs a factor from 0.5 to 4"),
            },
            "--uri" => match args.next() {
                Some(u) => uri = Some(u),
                None => return usage("--uri needs an otpauth URI"),
            },
            "--connect" => connect = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("safeid-desk {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let bench: Arc<dyn Bench> = if sim {
        Arc::new(SimBench::new(&serial))
    } else {
        match pcsc_bench() {
            Some(b) => b,
            None => {
                return usage("this build has no PC/SC reader support (feature pcsc): use --sim");
            }
        }
    };
    let result = eframe::run_native(
        safeid_desk::TITLE,
        safeid_desk::native_options(),
        Box::new(move |cc| {
            if let Some(f) = scale {
                cc.egui_ctx.set_zoom_factor(f);
            }
            let mut app = DeskApp::new(bench);
            if let Some(u) = uri.take() {
                app = app.with_uri(&u);
            }
            if connect {
                app = app.connect_at_start();
            }
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("safeid-desk: the window could not be opened: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "pcsc")]
fn pcsc_bench() -> Option<Arc<dyn Bench>> {
    Some(Arc::new(safeid_desk::bench::PcscBench {
        wait: std::time::Duration::from_secs(60),
    }))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_bench() -> Option<Arc<dyn Bench>> {
    None
}

fn usage(message: &str) -> ExitCode {
    eprintln!("safeid-desk: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
