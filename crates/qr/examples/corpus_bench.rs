//! Benchmark: safeid-qr vs plain rqrr vs zbarimg vs zxing-cpp over the synthetic
//! screenshot corpus, all in one run on the same files.
//!
//! Run through `crates/qr/bench.sh` (installs zbar-tools and a venv with zxing-cpp, builds
//! in release mode). Options: `--per N` images per condition (default 25), `--seed S`
//! (default 1), `--out DIR` (default: a fresh temp dir, removed afterwards unless
//! `--keep`), `--no-zbar`, `--zxing PYTHON` (a Python with the `zxing-cpp` and `Pillow`
//! packages; `crates/qr/bench_zxing.py` runs in it as one long-lived worker), `--verbose`
//! (list every miss), `--only CONDITION`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use safeid_qr::Limits;
use safeid_qr::corpus::{self, Condition};

struct Row {
    condition: Condition,
    size: String,
    has_code: bool,
    ok: [bool; 4],
    extra: [bool; 4],
    decode: Duration,
    load_decode: Duration,
    rqrr: Duration,
    zbar: Option<Duration>,
    /// zxing-cpp decode and load+decode, as its worker timed them.
    zxing: Option<(Duration, Duration)>,
    decoders: Vec<&'static str>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let per: usize = opt("--per").map_or(25, |v| v.parse().unwrap());
    let seed: u64 = opt("--seed").map_or(1, |v| v.parse().unwrap());
    let keep = flag("--keep");
    let verbose = flag("--verbose");
    let only = opt("--only");
    let out = opt("--out").map_or_else(
        || std::env::temp_dir().join(format!("safeid-qr-corpus-{}", std::process::id())),
        PathBuf::from,
    );
    let zbar = !flag("--no-zbar") && Command::new("zbarimg").arg("--version").output().is_ok();
    let mut zxing = opt("--zxing").map(|python| Zxing::start(&python));
    std::fs::create_dir_all(&out).unwrap();
    let limits = Limits::default();

    let started = Instant::now();
    let mut rows = Vec::new();
    for condition in Condition::ALL {
        if only.as_deref().is_some_and(|o| o != condition.name()) {
            continue;
        }
        for index in 0..per {
            let s = corpus::sample(condition, seed, index);
            let path = out.join(&s.file_name);
            std::fs::write(&path, &s.bytes).unwrap();
            let expected: Vec<&str> = s.texts.iter().map(String::as_str).collect();

            let t0 = Instant::now();
            let bytes = std::fs::read(&path).unwrap();
            let luma = safeid_qr::load_luma(&bytes, &limits).unwrap();
            let t1 = Instant::now();
            let rqrr_input = luma.clone();
            let t1b = Instant::now();
            let found = safeid_qr::decode_luma(luma, &limits).unwrap_or_default();
            let t2 = Instant::now();
            let ours: Vec<String> = found.iter().map(|f| f.text.expose().to_owned()).collect();

            let t3 = Instant::now();
            let plain = plain_rqrr(rqrr_input);
            let rqrr_time = t3.elapsed();

            let (zbar_texts, zbar_time) = if zbar {
                let t = Instant::now();
                let o = Command::new("zbarimg")
                    .args(["-q", "--raw"])
                    .arg(&path)
                    .output()
                    .unwrap();
                let texts = String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
                (texts, Some(t.elapsed()))
            } else {
                (Vec::new(), None)
            };
            let (zxing_texts, zxing_times) = match zxing.as_mut() {
                Some(z) => {
                    let (texts, times) = z.decode(&path);
                    (texts, Some(times))
                }
                None => (Vec::new(), None),
            };
            let judge = |got: &[String]| {
                let all = expected.iter().all(|e| got.iter().any(|g| g == e));
                let extra = got.iter().any(|g| !expected.contains(&g.as_str()));
                (all && !(expected.is_empty() && extra), extra)
            };
            let (a, b, c) = (judge(&ours), judge(&plain), judge(&zbar_texts));
            let d = judge(&zxing_texts);
            if verbose && !a.0 {
                println!("miss: {} ({}) got {}", s.file_name, s.detail, ours.len());
            }
            rows.push(Row {
                condition,
                size: format!("{}x{}", s.width, s.height),
                has_code: !expected.is_empty(),
                ok: [a.0, b.0, c.0 || !zbar, d.0 || zxing_times.is_none()],
                extra: [a.1, b.1, c.1, d.1],
                decode: t2 - t1b,
                load_decode: (t1 - t0) + (t2 - t1b),
                rqrr: rqrr_time,
                zbar: zbar_time,
                zxing: zxing_times,
                decoders: found.iter().map(|f| f.decoder).collect(),
            });
        }
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&out);
    }
    let with_zxing = zxing.is_some();
    drop(zxing);
    report(&rows, (zbar, with_zxing), per, seed, started.elapsed());
}

/// The zxing-cpp worker (`bench_zxing.py`): one path per line in, one JSON line out.
struct Zxing {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Zxing {
    fn start(python: &str) -> Zxing {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench_zxing.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} {script}: {e}"));
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Zxing {
            child,
            input,
            output,
        }
    }

    /// Texts found, and (decode, load + decode) times.
    fn decode(&mut self, path: &std::path::Path) -> (Vec<String>, (Duration, Duration)) {
        writeln!(self.input, "{}", path.display()).unwrap();
        self.input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("zxing worker answered {line:?}: {e}"));
        let ms = |k: &str| Duration::from_secs_f64(v[k].as_f64().unwrap() / 1e3);
        let texts = v["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let decode = ms("decode_ms");
        (texts, (decode, decode + ms("load_ms")))
    }
}

impl Drop for Zxing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rqrr as its README shows it: prepare the luma image, detect, decode.
fn plain_rqrr(luma: image::GrayImage) -> Vec<String> {
    std::panic::catch_unwind(move || {
        let mut img = rqrr::PreparedImage::prepare(luma);
        img.detect_grids()
            .iter()
            .filter_map(|g| g.decode().ok().map(|(_, t)| t))
            .collect()
    })
    .unwrap_or_default()
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort();
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    format!("{:7.1} / {:7.1}", q(0.5), q(0.95))
}

fn report(rows: &[Row], (zbar, zxing): (bool, bool), per: usize, seed: u64, total: Duration) {
    println!(
        "corpus: {per} images per condition, seed {seed}; success = every encoded text found (no-code: nothing found)"
    );
    println!(
        "{:<14} {:>4} {:>9} {:>9} {:>9} {:>9}   {:>17}   false positives (safeid/rqrr/zbar/zxing)",
        "condition",
        "n",
        "safeid-qr",
        "rqrr",
        if zbar { "zbarimg" } else { "(no zbar)" },
        if zxing { "zxing-cpp" } else { "(no zxing)" },
        "safeid decode ms"
    );
    let mut totals = [0usize; 4];
    let mut n_code = 0;
    for c in Condition::ALL {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.condition == c).collect();
        let ok = |i: usize| rs.iter().filter(|r| r.ok[i]).count();
        let fp = |i: usize| rs.iter().filter(|r| r.extra[i]).count();
        if rs.is_empty() {
            continue;
        }
        println!(
            "{:<14} {:>4} {:>9} {:>9} {:>9} {:>9}   {:>17}   {}/{}/{}/{}",
            c.name(),
            rs.len(),
            pct(ok(0), rs.len()),
            pct(ok(1), rs.len()),
            pct(ok(2), rs.len()),
            pct(ok(3), rs.len()),
            stats(rs.iter().map(|r| r.decode).collect()),
            fp(0),
            fp(1),
            fp(2),
            fp(3)
        );
        if c != Condition::NoCode {
            n_code += rs.len();
            for (i, t) in totals.iter_mut().enumerate() {
                *t += ok(i);
            }
        }
    }
    println!(
        "{:<14} {:>4} {:>9} {:>9} {:>9} {:>9}",
        "all with code",
        n_code,
        pct(totals[0], n_code),
        pct(totals[1], n_code),
        pct(totals[2], n_code),
        pct(totals[3], n_code)
    );
    println!();
    println!(
        "time per image, median / p95 in ms (decode = after loading; load+decode = file bytes to texts)"
    );
    println!(
        "{:<10} {:>4} {:>17} {:>17} {:>17} {:>17} {:>17} {:>17}",
        "size",
        "n",
        "safeid decode",
        "safeid load+dec",
        "rqrr decode",
        "zbarimg process",
        "zxing decode",
        "zxing load+dec"
    );
    let mut sizes: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        sizes.entry(&r.size).or_default().push(r);
    }
    for (size, rs) in sizes {
        println!(
            "{:<10} {:>4} {:>17} {:>17} {:>17} {:>17} {:>17} {:>17}",
            size,
            rs.len(),
            stats(rs.iter().map(|r| r.decode).collect()),
            stats(rs.iter().map(|r| r.load_decode).collect()),
            stats(rs.iter().map(|r| r.rqrr).collect()),
            stats(rs.iter().filter_map(|r| r.zbar).collect()),
            stats(rs.iter().filter_map(|r| r.zxing.map(|z| z.0)).collect()),
            stats(rs.iter().filter_map(|r| r.zxing.map(|z| z.1)).collect())
        );
    }
    // The no-code judgement per size: the figure the "fast no-code answer" is held to.
    println!();
    println!("screens without a code, decode median / p95 in ms, by size:");
    let mut nocode: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.has_code) {
        nocode.entry(&r.size).or_default().push(r);
    }
    for (size, rs) in nocode {
        println!(
            "{:<10} {:>4}  safeid {}  zxing {}",
            size,
            rs.len(),
            stats(rs.iter().map(|r| r.decode).collect()),
            stats(rs.iter().filter_map(|r| r.zxing.map(|z| z.0)).collect())
        );
    }
    let mut passes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.has_code) {
        for d in &r.decoders {
            *passes.entry(d).or_default() += 1;
        }
    }
    println!();
    println!("codes found per pass: {passes:?}");
    println!("total wall time {:.1} s", total.as_secs_f64());
}
