//! Batch throughput: 1000 virtual tokens on 2 virtual readers, journal with and without
//! fsync, measured side by side in one run (rounds interleaved so that machine load hits
//! both alike).
//!
//! `cargo bench --bench batch -- [TOKENS] [ROUNDS]` (defaults 1000, 5).
//! The batch is checked (`safeid::batch::prepare`) before the clock starts; the run is timed.
//! Prints tokens per second (median over rounds) for each mode and their ratio.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use safeid::batch::{self, BatchConfig, BatchSeeds, Cancel};
use safeid::journal::JournalOptions;
use safeid::transport::Station;
use safeid_sim::{SimStation, SystemClock, serial_queue};

fn one_run(tokens: u64, fsync: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = BatchConfig::new(
        dir.path().join("journal"),
        BatchSeeds::Random {
            bytes: 20,
            hash: Default::default(),
            period: 30,
        },
    );
    config.journal_options = JournalOptions { fsync };
    let prepared = batch::prepare(config).expect("batch checks");
    let queue = serial_queue("8659612", 0, tokens, 6);
    let stations: Vec<Box<dyn Station>> = (0..2)
        .map(|i| {
            Box::new(SimStation::new(
                format!("virtual {i}"),
                queue.clone(),
                Arc::new(SystemClock),
            )) as Box<dyn Station>
        })
        .collect();
    let start = Instant::now();
    let report = prepared
        .run(stations, &Cancel::new(), &|_| {})
        .expect("batch");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.summary.burned as u64, tokens, "{:?}", report.summary);
    tokens as f64 / secs
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` adds `--bench`: only the positional arguments count.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let tokens: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        with.push(one_run(tokens, true));
        without.push(one_run(tokens, false));
    }
    let (w, wo) = (median(&mut with), median(&mut without));
    println!("batch of {tokens} virtual tokens on 2 virtual readers, {rounds} rounds (median):");
    println!("  journal with fsync     {w:>9.0} tokens/s");
    println!("  journal without fsync  {wo:>9.0} tokens/s");
    println!("  fsync costs            {:>9.2}x", wo / w);
}
