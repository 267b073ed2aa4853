//! The bridge that puts the virtual token on a real `pcscd` reader through vsmartcard's
//! `vpcd` driver (docs/testing.md, "vpcd wire protocol").
//!
//! vpcd listens (default `127.0.0.1:35963`); the token connects to it like a card placed
//! on the reader. Every frame, both ways, is a 2-byte big-endian length and the payload.
//! From vpcd, a 1-byte payload is a control code (`00` power off, `01` power on, `02`
//! reset, `04` get ATR); anything longer is a command APDU, answered with exactly one
//! frame written at once. Closing the socket removes the card.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{TokenState, VirtualToken};

/// vpcd's port for its first reader, `Virtual PCD 00 00`.
pub const DEFAULT_PORT: u16 = 35963;

/// The answer to reset: makes pcscd choose T=1, as a contactless reader does.
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// `127.0.0.1:35963`.
pub fn default_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))
}

/// How the bridge connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long each connection attempt phase may take before the bridge gives up with
    /// [`VpcdError::ConnectTimeout`]; `None` tries for ever. Applies to the first
    /// connection and to every reconnection (after vpcd closed the socket or after
    /// [`VpcdControl::insert_card`]).
    pub connect_deadline: Option<Duration>,
    /// First wait between attempts; doubled after each failure.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Fault injection for end-to-end tests: when a command APDU with this INS byte
    /// arrives, the card leaves the reader before running it (the socket closes, the token
    /// powers off and stays off until [`VpcdControl::insert_card`]).
    pub remove_at_ins: Option<u8>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            connect_deadline: Some(Duration::from_secs(10)),
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(500),
            remove_at_ins: None,
        }
    }
}

/// Why the bridge stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpcdError {
    /// The bridge thread could not be started.
    #[error("could not start the virtual token thread: {0}")]
    Spawn(String),
    /// vpcd never accepted the connection.
    #[error(
        "vpcd did not accept a connection at {addr} within {seconds} s: is pcscd running with the vpcd driver, in this network namespace?"
    )]
    ConnectTimeout {
        /// Where the bridge tried to connect.
        addr: SocketAddr,
        /// The deadline that passed, in whole seconds.
        seconds: u64,
    },
    /// The bridge thread panicked (a bug).
    #[error("the virtual token thread panicked")]
    Panicked,
}

#[derive(Debug, Default)]
struct Ctl {
    stop: bool,
    removed: bool,
    stream: Option<TcpStream>,
    connected: bool,
    connections: u64,
}

#[derive(Debug, Default)]
struct Shared {
    ctl: Mutex<Ctl>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Ctl> {
        self.ctl.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Ctl)) {
        let mut ctl = self.lock();
        f(&mut ctl);
        if let Some(s) = &ctl.stream
            && (ctl.stop || ctl.removed)
        {
            // Unblocks the bridge thread's read at once.
            let _ = s.shutdown(Shutdown::Both);
        }
        drop(ctl);
        self.changed.notify_all();
    }
}

/// A cloneable remote control for a running bridge (for example from a Ctrl-C handler).
#[derive(Debug, Clone)]
pub struct VpcdControl {
    shared: Arc<Shared>,
    token: Arc<Mutex<VirtualToken>>,
}

impl VpcdControl {
    /// Asks the bridge to stop (closes the connection; the token powers off).
    pub fn stop(&self) {
        self.shared.update(|c| c.stop = true);
    }

    /// Takes the card off the reader: closes the socket and powers the token off. It
    /// stays off until [`Self::insert_card`].
    pub fn remove_card(&self) {
        self.shared.update(|c| c.removed = true);
        lock_token(&self.token).power_off();
    }

    /// Puts the card back: the bridge reconnects to vpcd.
    pub fn insert_card(&self) {
        self.shared.update(|c| c.removed = false);
    }

    /// Whether the token is connected to vpcd right now.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// How many connections to vpcd were made so far.
    pub fn connections(&self) -> u64 {
        self.shared.lock().connections
    }

    /// Waits until the token is connected (true) or `timeout` passes (false).
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut ctl = self.shared.lock();
        while !ctl.connected {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            ctl = self
                .shared
                .changed
                .wait_timeout(ctl, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// A running bridge. Dropping it stops the bridge.
#[derive(Debug)]
pub struct VpcdHandle {
    control: VpcdControl,
    addr: SocketAddr,
    thread: Option<JoinHandle<Result<(), VpcdError>>>,
}

impl VpcdHandle {
    /// Where the bridge connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A remote control (stop, remove, insert) usable from other threads.
    pub fn control(&self) -> VpcdControl {
        self.control.clone()
    }

    /// The token being served.
    pub fn token(&self) -> Arc<Mutex<VirtualToken>> {
        Arc::clone(&self.control.token)
    }

    /// A snapshot of the token (holds the seed: see [`TokenState`]).
    pub fn state(&self) -> TokenState {
        lock_token(&self.control.token).state()
    }

    /// See [`VpcdControl::remove_card`].
    pub fn remove_card(&self) {
        self.control.remove_card();
    }

    /// See [`VpcdControl::insert_card`].
    pub fn insert_card(&self) {
        self.control.insert_card();
    }

    /// See [`VpcdControl::is_connected`].
    pub fn is_connected(&self) -> bool {
        self.control.is_connected()
    }

    /// See [`VpcdControl::wait_connected`].
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        self.control.wait_connected(timeout)
    }

    /// Whether the bridge thread has ended (stopped, or gave up connecting).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the bridge and returns how it ended.
    pub fn stop(mut self) -> Result<(), VpcdError> {
        self.control.stop();
        self.join()
    }

    /// Runs until the bridge ends by itself (connect deadline) or a [`VpcdControl`] stops it.
    pub fn wait(mut self) -> Result<(), VpcdError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), VpcdError> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or(Err(VpcdError::Panicked)),
            None => Ok(()),
        }
    }
}

impl Drop for VpcdHandle {
    fn drop(&mut self) {
        self.control.stop();
        let _ = self.join();
    }
}

/// Starts serving `token` to the vpcd listening at `addr`, on a thread of its own.
/// Connection attempts are retried with backoff within `options.connect_deadline`.
pub fn serve(
    addr: SocketAddr,
    token: Arc<Mutex<VirtualToken>>,
    options: ServeOptions,
) -> Result<VpcdHandle, VpcdError> {
    let shared = Arc::new(Shared::default());
    let control = VpcdControl {
        shared: Arc::clone(&shared),
        token: Arc::clone(&token),
    };
    let thread = std::thread::Builder::new()
        .name("safeid-vpcd".into())
        .spawn(move || run(addr, &token, &options, &shared))
        .map_err(|e| VpcdError::Spawn(e.to_string()))?;
    Ok(VpcdHandle {
        control,
        addr,
        thread: Some(thread),
    })
}

fn lock_token(token: &Mutex<VirtualToken>) -> MutexGuard<'_, VirtualToken> {
    token.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The bridge thread: connect, serve until the socket closes, repeat until stopped.
fn run(
    addr: SocketAddr,
    token: &Mutex<VirtualToken>,
    options: &ServeOptions,
    shared: &Shared,
) -> Result<(), VpcdError> {
    loop {
        {
            let mut ctl = shared.lock();
            while ctl.removed && !ctl.stop {
                ctl = shared
                    .changed
                    .wait(ctl)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if ctl.stop {
                return Ok(());
            }
        }
        let Some(stream) = connect(addr, options, shared)? else {
            continue;
        };
        let registered = {
            let mut ctl = shared.lock();
            match stream.try_clone() {
                Ok(clone) if !ctl.stop && !ctl.removed => {
                    ctl.stream = Some(clone);
                    ctl.connected = true;
                    ctl.connections = ctl.connections.saturating_add(1);
                    true
                }
                _ => false,
            }
        };
        shared.changed.notify_all();
        if registered && serve_connection(&stream, token, options.remove_at_ins) == Ended::Removed {
            shared.update(|c| c.removed = true);
        }
        let _ = stream.shutdown(Shutdown::Both);
        lock_token(token).power_off();
        shared.update(|c| {
            c.stream = None;
            c.connected = false;
        });
    }
}

/// Connects with exponential backoff. `Ok(None)` when stopped or removed meanwhile.
fn connect(
    addr: SocketAddr,
    options: &ServeOptions,
    shared: &Shared,
) -> Result<Option<TcpStream>, VpcdError> {
    let start = Instant::now();
    let mut backoff = options.initial_backoff;
    loop {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            return Ok(Some(stream));
        }
        let mut wait = backoff;
        if let Some(deadline) = options.connect_deadline {
            let left = deadline.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(VpcdError::ConnectTimeout {
                    addr,
                    seconds: deadline.as_secs(),
                });
            }
            wait = wait.min(left);
        }
        let ctl = shared.lock();
        let ctl = if ctl.stop || ctl.removed {
            ctl
        } else {
            shared
                .changed
                .wait_timeout(ctl, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        };
        if ctl.stop || ctl.removed {
            return Ok(None);
        }
        drop(ctl);
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The socket closed or failed.
    Closed,
    /// The injected fault took the card away.
    Removed,
}

/// Serves frames until the socket closes or fails.
fn serve_connection(
    stream: &TcpStream,
    token: &Mutex<VirtualToken>,
    remove_at_ins: Option<u8>,
) -> Ended {
    let _ = stream.set_nodelay(true);
    let mut reader = stream;
    let mut writer = stream;
    loop {
        let Some(payload) = read_frame(&mut reader, stream) else {
            return Ended::Closed;
        };
        if payload.len() >= 2 && remove_at_ins == Some(payload[1]) {
            return Ended::Removed;
        }
        let reply = match payload.as_slice() {
            [] => continue,
            [0x00] => {
                lock_token(token).power_off();
                continue;
            }
            [0x01 | 0x02] => {
                lock_token(token).reset();
                continue;
            }
            [0x04] => ATR.to_vec(),
            [_] => continue,
            apdu => lock_token(token).process(apdu),
        };
        if write_frame(&mut writer, &reply).is_err() {
            return Ended::Closed;
        }
    }
}

fn read_frame(reader: &mut impl Read, socket: &TcpStream) -> Option<Vec<u8>> {
    // Linux leaves quick-ack mode on its own: re-arm it before every read, or vpcd's
    // two-part frames stall on delayed ACKs (docs/testing.md, "Latency").
    quickack(socket);
    let mut len = [0u8; 2];
    reader.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    quickack(socket);
    reader.read_exact(&mut payload).ok()?;
    Some(payload)
}

/// Writes one frame in a single write call.
fn write_frame(writer: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mut frame = Vec::with_capacity(2 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    writer.write_all(&frame)?;
    writer.flush()
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn quickack(socket: &TcpStream) {
    let _ = socket2::SockRef::from(socket).set_tcp_quickack(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn quickack(_socket: &TcpStream) {}
