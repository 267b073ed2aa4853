//! `safeid virtual-token`: serve the virtual token to a real pcscd through vpcd.

use std::io::BufRead;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use safeid_sim::vpcd::{self, ServeOptions};
use safeid_sim::{SystemClock, TokenSpec, VirtualToken};

use crate::Out;
use crate::error::{CliError, CliResult, Exit};

/// Serve the virtual token on a vpcd virtual reader, so any PC/SC program (this one with
/// --reader, or the vendor's) sees a token placed on "Virtual PCD 00 00".
///
/// Needs pcscd with the vsmartcard vpcd driver (see docs/testing.md). Commands on standard
/// input, one per line: `state` prints the token's state as JSON (it holds the seed),
/// `remove` takes the token off the reader, `insert` puts it back, `quit` stops. At the
/// end (quit, or end of input) the state is written to --state-file if given (mode 0600).
#[derive(Debug, Args)]
pub struct VirtualTokenArgs {
    /// vpcd's TCP port: 35963 is reader "Virtual PCD 00 00", 35964 "Virtual PCD 00 01".
    #[arg(long, default_value_t = vpcd::DEFAULT_PORT)]
    port: u16,
    /// vpcd's host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The token's serial; its prefix decides the model and whether config erases the seed.
    #[arg(long, default_value = "8659622000001")]
    serial: String,
    /// The token's access key, 32 hex digits [default: the Token2 public key].
    #[arg(long)]
    key: Option<String>,
    /// Override whether a config write erases the seed [default: from the serial prefix].
    #[arg(long)]
    restricted: Option<bool>,
    /// The token clock's offset from the host's, seconds.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset: i64,
    /// Lock the token for good after this many failed authentications.
    #[arg(long)]
    lockout: Option<u32>,
    /// Answer 6D00 until SELECT B0 00 00 00 00 23 (to test the fallback).
    #[arg(long)]
    require_select: bool,
    /// Write the final state as JSON here (holds the seed: mode 0600).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Give up if vpcd does not accept the connection within this many seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
}

pub fn run(args: &VirtualTokenArgs, out: Out) -> CliResult {
    let mut spec = match &args.key {
        Some(hex) => {
            let compact: String = hex.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let bytes: [u8; 16] = data_encoding::HEXLOWER_PERMISSIVE
                .decode(compact.as_bytes())
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| CliError::usage("--key must be 32 hex digits"))?;
            TokenSpec::new(args.serial.clone(), bytes)
        }
        None => TokenSpec::token2(args.serial.clone()),
    };
    if let Some(r) = args.restricted {
        spec.restricted = r;
    }
    spec.clock_offset = args.clock_offset;
    spec.lockout_after = args.lockout;
    spec.require_select = args.require_select;

    let addr: SocketAddr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| CliError::usage(format!("the host {} does not resolve", args.host)))?;
    let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(SystemClock))));
    let options = ServeOptions {
        connect_deadline: Some(Duration::from_secs(args.connect_timeout)),
        ..ServeOptions::default()
    };
    let vpcd_error = |e: vpcd::VpcdError| {
        let text = e.to_string();
        let message = if text.contains(&addr.to_string()) {
            text
        } else {
            format!("vpcd at {addr}: {text}")
        };
        CliError::new("vpcd", message)
    };
    let handle = vpcd::serve(addr, Arc::clone(&token), options).map_err(vpcd_error)?;
    if !handle.wait_connected(Duration::from_secs(args.connect_timeout)) {
        let result = handle.stop();
        return Err(match result {
            Err(e) => vpcd_error(e),
            Ok(()) => CliError::new(
                "vpcd",
                format!(
                    "vpcd did not accept the connection at {addr} within {} s: is pcscd running with the vpcd driver?",
                    args.connect_timeout
                ),
            ),
        });
    }
    out.note(format!(
        "virtual token {} is on the reader at {addr}",
        args.serial
    ));

    let control = handle.control();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "state" => outln!("{}", handle.state().to_json().replace('\n', "")),
            "remove" => control.remove_card(),
            "insert" => control.insert_card(),
            "quit" => break,
            "" => {}
            other => errln!("unknown command \"{other}\": state, remove, insert or quit"),
        }
        if handle.is_finished() {
            break;
        }
    }
    let state = handle.state();
    let result = handle.stop();
    if let Some(path) = &args.state_file {
        safeid::export::write_atomic(path, state.to_json().as_bytes())
            .map_err(|e| crate::error::io_error(path, e))?;
    }
    result.map_err(vpcd_error)?;
    Ok(Exit::Success)
}
