//! A batch of five virtual tokens with random seeds and a journal, interrupted after two
//! tokens and resumed: no seed is lost or given twice, and the export lists all five.
//!
//! `cargo run --example batch_journal`
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use safeid::batch::{
    self, BatchConfig, BatchEvent, BatchSeeds, Cancel, ExportKind, ExportTarget, TokenOutcome,
};
use safeid::export::Format;
use safeid::proto::HmacAlgorithm;
use safeid::transport::Station;
use safeid_sim::{SimStation, SystemClock, serial_queue};

fn config(dir: &std::path::Path, resume: bool) -> BatchConfig {
    let seeds = BatchSeeds::Random {
        bytes: 20,
        hash: HmacAlgorithm::Sha1,
        period: 30,
    };
    let mut config = BatchConfig::new(dir.join("journal"), seeds);
    config.resume = resume;
    if resume {
        config.exports.push(ExportTarget {
            kind: ExportKind::File(Format::Pskc),
            path: dir.join("tokens.pskcxml"),
        });
    }
    config
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // The same five virtual tokens are presented to both runs, in order.
    let stations = || -> Vec<Box<dyn Station>> {
        let serials = serial_queue("8659622", 1, 5, 6);
        vec![Box::new(SimStation::new(
            "virtual reader",
            serials,
            Arc::new(SystemClock),
        ))]
    };
    let show = |e: &BatchEvent| {
        if let BatchEvent::Finished(t) = e {
            let what = match &t.outcome {
                TokenOutcome::Burned(r) => format!("burned, shows {}", r.expected.current),
                TokenOutcome::AlreadyDone => "already done".into(),
                TokenOutcome::NotTouched(why) => format!("not touched: {why}"),
                TokenOutcome::Failed(e) => format!("failed: {e}"),
            };
            println!("{}: {what}", t.serial.as_deref().unwrap_or("?"));
        }
    };

    // First run: cancelled after the second token (as Ctrl-C would).
    let cancel = Cancel::new();
    let finished = AtomicUsize::new(0);
    let first = batch::prepare(config(dir.path(), false))?.run(stations(), &cancel, &|e| {
        show(e);
        if matches!(e, BatchEvent::Finished(_)) && finished.fetch_add(1, Ordering::SeqCst) == 1 {
            cancel.cancel();
        }
    })?;
    println!(
        "first run: {} burned, resume needed: {}",
        first.summary.burned,
        first.summary.resume_needed()
    );

    // Second run: resumes; the two done tokens are skipped, the rest burned, all exported.
    let second =
        batch::prepare(config(dir.path(), true))?.run(stations(), &Cancel::new(), &show)?;
    println!(
        "second run: {} burned, {} already done",
        second.summary.burned, second.summary.already_done
    );
    let exported = second.exports[0]
        .result
        .as_ref()
        .map_err(|e| e.to_string())?;
    println!(
        "exported {exported} tokens to {}",
        second.exports[0].target.path.display()
    );
    if *exported == 5 {
        Ok(())
    } else {
        Err("expected five tokens".into())
    }
}
