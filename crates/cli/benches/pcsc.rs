//! Burn latency through the real PC/SC stack, against its floor, in one run.
//!
//! Run it through `scripts/bench-pcsc.sh` (it builds this benchmark and runs it inside the
//! private pcscd + vpcd stack of `scripts/pcsc-stack.sh`). It puts a virtual token
//! (`safeid::sim`, a Token2 model) on reader `Virtual PCD 00 00` through vpcd, then runs
//! warm-up and measured rounds. Every round measures each of the following once,
//! interleaved so that drift of the machine (other load, CPU frequency) hits all alike,
//! with the order of the PC/SC measurements rotated from round to round:
//!
//! - **burn**: one [`Session::burn`] over a [`PcscTransport`] opened once before the loop
//!   (as a user places a token once). Only `burn` is timed: transaction begin and end,
//!   the five APDUs (get info, get challenge, authenticate, write config, write seed)
//!   through the transport's worker thread, the crypto, reply parsing and the report.
//! - **raw**: the floor. The same five round trips sent with the `pcsc` crate directly,
//!   on a card handle of its own (same reader, shared mode, T=1), with no transaction
//!   and no thread hop. They are a genuine burn, not look-alikes: the secure commands'
//!   MACs do not depend on the challenge, so write config and write seed are built once
//!   before the loop, and the authenticate for each fresh challenge is built between two
//!   transmits, outside the timed part. Only the five SCardTransmit calls are timed (their
//!   sum), and every reply must be `90 00` with the expected data, so the token does the
//!   same work (SM4, MAC check, storing) as in a burn.
//! - **crypto**: building the authenticate, write config and write seed commands with
//!   `safeid_proto` (SM4 + MAC) in-process, as a burn does.
//!
//! Two more rows split the overhead of the burn over the floor (they are not part of the
//! target): **raw + transaction** (the raw round trips inside SCardBeginTransaction /
//! SCardEndTransaction on the raw handle, timed from begin to end) and **transport**
//! (`PcscTransport::begin` and the five APDUs through `safeid_transport::transmit`, the
//! Session's logic left out; the transport ends its transaction after returning, so that
//! end is not in this row or in the burn).
//!
//! It prints median, p95 and mean of each, the APDUs per burn (from the burn report; the
//! protocol minimum is 5), and `burn median / (raw median + crypto median)` against the
//! target of 1.2. With `--strict` it exits with status 1 when the target is missed.
//!
//! After every PC/SC measurement the benchmark pauses (`--settle-us`, untimed): the
//! transport ends its transaction asynchronously, and a raw transmit that meets that
//! transaction still open is held by libpcsclite for its 100 ms lock poll.
#![forbid(unsafe_code)]

use std::error::Error;
use std::ffi::CString;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use safeid::proto::{self, AccessKey, Challenge, Command, TokenConfig};
use safeid::secret::SecretBytes;
use safeid::transport::{self as transport, Transport};
use safeid::{BurnPlan, PlanOptions, Session};
use safeid_pcsc::pcsc::{self, Card, Context, Disposition, Protocols, Scope, ShareMode};
use safeid_pcsc::{PcscTransport, ReaderChoice, WaitPolicy};
use safeid_sim::vpcd::{self, ServeOptions};
use safeid_sim::{SystemClock, TokenSpec, VirtualToken};

/// The burn must cost at most this many times the raw round trips plus the crypto.
const TARGET: f64 = 1.2;
/// APDUs in a burn: info, challenge, authenticate, config, seed (docs/protocol.md section 3).
const PROTOCOL_MINIMUM: usize = 5;
/// A 20-byte seed (the RFC 6238 SHA-1 test key): its content does not matter here.
const SEED: &[u8] = b"12345678901234567890";

/// Burn latency through the real PC/SC stack against raw round trips plus the crypto.
#[derive(Parser, Debug)]
struct Args {
    /// Rounds run first and not counted.
    #[arg(long, default_value_t = 30)]
    warmup: usize,
    /// Rounds measured.
    #[arg(long, default_value_t = 300)]
    rounds: usize,
    /// The vpcd reader the virtual token is placed on (its first reader, TCP port 35963).
    #[arg(long, default_value = "Virtual PCD 00 00")]
    reader: String,
    /// Untimed pause after every PC/SC measurement, in microseconds.
    #[arg(long, default_value_t = 1000)]
    settle_us: u64,
    /// Exit with status 1 when the ratio misses the target or a burn is not 5 APDUs.
    #[arg(long)]
    strict: bool,
    /// Passed by `cargo bench` to every bench binary; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one round measures, in the order of [`Samples`].
#[derive(Clone, Copy)]
enum Kind {
    Burn,
    Raw,
    RawTransaction,
    Transport,
}

const PCSC_KINDS: [Kind; 4] = [Kind::Burn, Kind::Raw, Kind::RawTransaction, Kind::Transport];

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    if std::env::var_os("PCSCLITE_CSOCK_NAME").is_none() {
        eprintln!("note: PCSCLITE_CSOCK_NAME is not set; run this through scripts/bench-pcsc.sh");
    }
    let started = Instant::now();

    // The token, placed on the reader like a card on a real one.
    let token = Arc::new(Mutex::new(VirtualToken::new(
        TokenSpec::token2("8659622000001"),
        Arc::new(SystemClock),
    )));
    let handle = vpcd::serve(vpcd::default_addr(), token, ServeOptions::default())?;
    if !handle.wait_connected(Duration::from_secs(10)) {
        return Err(
            "vpcd did not accept the virtual token: run inside scripts/pcsc-stack.sh".into(),
        );
    }

    let plan = BurnPlan::from_seed(&SecretBytes::from_slice(SEED), &PlanOptions::default())?;
    let key = AccessKey::token2();
    let config = TokenConfig {
        display_timeout: plan.display_timeout(),
        unix_time: u32::try_from(unix_now())?,
        hmac: plan.hmac(),
        step: plan.step(),
    };
    let commands = Commands {
        info: proto::get_info(),
        challenge: proto::get_challenge(),
        config: proto::write_config(&key, &config),
        seed: proto::write_seed(&key, plan.seed()),
    };

    // The transport, opened once; the raw handle on a context of its own.
    let mut pcsc_transport = PcscTransport::open(
        ReaderChoice::Name(args.reader.clone()),
        WaitPolicy::new(Duration::from_secs(10)),
    )?;
    let raw_context = Context::establish(Scope::User)?;
    let mut card = raw_context.connect(
        &CString::new(args.reader.as_str())?,
        ShareMode::Shared,
        Protocols::T1,
    )?;
    // The size safeid-pcsc receives into.
    let mut buffer = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];

    let settle = Duration::from_micros(args.settle_us);
    let mut samples = Samples::default();
    let mut apdus_per_burn = Vec::new();
    for round in 0..args.warmup + args.rounds {
        let measured = round >= args.warmup;
        for i in 0..PCSC_KINDS.len() {
            let kind = PCSC_KINDS[(round + i) % PCSC_KINDS.len()];
            let elapsed = match kind {
                Kind::Burn => {
                    let mut session = Session::new(&mut pcsc_transport);
                    let start = Instant::now();
                    let report = session.burn(&plan)?;
                    let elapsed = start.elapsed();
                    if measured {
                        apdus_per_burn.push(report.apdus);
                    }
                    elapsed
                }
                Kind::Raw => raw_round(&card, &mut buffer, &commands, &key)?,
                Kind::RawTransaction => {
                    let start = Instant::now();
                    let tx = card.transaction()?;
                    raw_round(&tx, &mut buffer, &commands, &key)?;
                    tx.end(Disposition::LeaveCard).map_err(|(_, e)| e)?;
                    start.elapsed()
                }
                Kind::Transport => transport_round(&mut pcsc_transport, &commands, &key)?,
            };
            if measured {
                samples.pcsc[kind as usize].push(elapsed);
            }
            std::thread::sleep(settle);
        }
        let crypto = time_crypto(&key, &config, &plan);
        if measured {
            samples.crypto.push(crypto);
        }
    }
    drop(card);
    drop(pcsc_transport);
    handle.remove_card();

    print_report(&args, &samples, &apdus_per_burn, started.elapsed())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The commands that do not depend on the challenge, built once.
struct Commands {
    info: Command,
    challenge: Command,
    config: Command,
    seed: Command,
}

/// Times building the three commands a burn computes: authenticate (one SM4 block),
/// write config (MAC) and write seed (SM4 + MAC).
fn time_crypto(key: &AccessKey, config: &TokenConfig, plan: &BurnPlan) -> Duration {
    let challenge = Challenge(black_box([0x5A; 8]));
    let start = Instant::now();
    let auth = proto::authenticate(black_box(key), &challenge);
    let config = proto::write_config(black_box(key), black_box(config));
    let seed = proto::write_seed(black_box(key), black_box(plan.seed()));
    let elapsed = start.elapsed();
    black_box((auth, config, seed));
    elapsed
}

/// One timed SCardTransmit; the reply is copied out after the clock stopped.
fn transmit(
    card: &Card,
    buffer: &mut [u8],
    command: &Command,
) -> Result<(Duration, Vec<u8>), pcsc::Error> {
    let start = Instant::now();
    let reply = card.transmit(command.as_bytes(), buffer)?;
    let elapsed = start.elapsed();
    Ok((elapsed, reply.to_vec()))
}

/// The five round trips of a burn with the `pcsc` crate; returns the sum of their
/// times. Every reply is checked (outside the timed part), so the token did a real
/// burn's work.
fn raw_round(
    card: &Card,
    buffer: &mut [u8],
    commands: &Commands,
    key: &AccessKey,
) -> Result<Duration, Box<dyn Error>> {
    let (t_info, reply) = transmit(card, buffer, &commands.info)?;
    proto::parse_info(&reply)?;
    let (t_challenge, reply) = transmit(card, buffer, &commands.challenge)?;
    let auth = proto::authenticate(key, &proto::parse_challenge(&reply)?);
    let (t_auth, reply) = transmit(card, buffer, &auth)?;
    proto::parse_status("authenticate", &reply)?;
    let (t_config, reply) = transmit(card, buffer, &commands.config)?;
    proto::parse_status("write config", &reply)?;
    let (t_seed, reply) = transmit(card, buffer, &commands.seed)?;
    proto::parse_status("write seed", &reply)?;
    Ok(t_info + t_challenge + t_auth + t_config + t_seed)
}

/// The same five APDUs through `PcscTransport` (begin, then the continuation driver
/// the Session uses), without the Session; timed from begin to the last reply.
fn transport_round(
    pcsc_transport: &mut PcscTransport,
    commands: &Commands,
    key: &AccessKey,
) -> Result<Duration, Box<dyn Error>> {
    let start = Instant::now();
    let mut tx = pcsc_transport.begin()?;
    let reply = transport::transmit(&mut *tx, commands.info.as_bytes())?;
    proto::parse_info(&reply.into_bytes())?;
    let reply = transport::transmit(&mut *tx, commands.challenge.as_bytes())?;
    let auth = proto::authenticate(key, &proto::parse_challenge(&reply.into_bytes())?);
    for (name, command) in [
        ("authenticate", &auth),
        ("write config", &commands.config),
        ("write seed", &commands.seed),
    ] {
        let reply = transport::transmit(&mut *tx, command.as_bytes())?;
        proto::parse_status(name, &reply.into_bytes())?;
    }
    let elapsed = start.elapsed();
    drop(tx);
    Ok(elapsed)
}

/// The measured rounds: one row per [`Kind`], and the crypto.
#[derive(Default)]
struct Samples {
    pcsc: [Vec<Duration>; 4],
    crypto: Vec<Duration>,
}

/// Median, p95 and mean in microseconds.
struct Stats {
    median: f64,
    p95: f64,
    mean: f64,
}

impl Stats {
    fn of(samples: &[Duration]) -> Self {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let n = us.len();
        if n == 0 {
            return Self {
                median: f64::NAN,
                p95: f64::NAN,
                mean: f64::NAN,
            };
        }
        let median = if n % 2 == 1 {
            us[n / 2]
        } else {
            (us[n / 2 - 1] + us[n / 2]) / 2.0
        };
        // Nearest rank: the smallest sample with at least 95 % of them at or below it.
        let p95 = us[(n * 95).div_ceil(100).max(1) - 1];
        let mean = us.iter().sum::<f64>() / n as f64;
        Self { median, p95, mean }
    }
}

fn print_report(
    args: &Args,
    samples: &Samples,
    apdus: &[usize],
    wall: Duration,
) -> Result<(), Box<dyn Error>> {
    let burn = Stats::of(&samples.pcsc[Kind::Burn as usize]);
    let raw = Stats::of(&samples.pcsc[Kind::Raw as usize]);
    let raw_tx = Stats::of(&samples.pcsc[Kind::RawTransaction as usize]);
    let via_transport = Stats::of(&samples.pcsc[Kind::Transport as usize]);
    let crypto = Stats::of(&samples.crypto);
    println!(
        "PC/SC burn latency: reader {:?}, {} warm-up + {} measured rounds, interleaved",
        args.reader, args.warmup, args.rounds
    );
    println!(
        "{:<38} {:>9} {:>9} {:>9}",
        "(microseconds)", "median", "p95", "mean"
    );
    for (name, s) in [
        ("burn: Session over PcscTransport", &burn),
        ("raw: 5 round trips, pcsc crate", &raw),
        ("crypto: build auth, config, seed", &crypto),
        ("(split) raw + transaction begin/end", &raw_tx),
        ("(split) 5 APDUs through PcscTransport", &via_transport),
    ] {
        println!(
            "{name:<38} {:>9.1} {:>9.1} {:>9.1}",
            s.median, s.p95, s.mean
        );
    }
    let least = apdus.iter().copied().min().unwrap_or(0);
    let most = apdus.iter().copied().max().unwrap_or(0);
    if least == most {
        println!("APDUs per burn: {least} (protocol minimum {PROTOCOL_MINIMUM})");
    } else {
        println!("APDUs per burn: {least} to {most} (protocol minimum {PROTOCOL_MINIMUM})");
    }
    let floor = raw.median + crypto.median;
    let ratio = burn.median / floor;
    println!(
        "burn over the floor: {:+.1} us per burn, {:+.1} us per APDU",
        burn.median - floor,
        (burn.median - floor) / PROTOCOL_MINIMUM as f64
    );
    let verdict = if ratio <= TARGET { "met" } else { "MISSED" };
    println!("ratio burn / (raw + crypto), medians: {ratio:.3} (target <= {TARGET}: {verdict})");
    println!("wall time {:.1} s", wall.as_secs_f64());
    if args.strict && (ratio > TARGET || least != PROTOCOL_MINIMUM || most != PROTOCOL_MINIMUM) {
        return Err("target missed".into());
    }
    Ok(())
}
