//! Where the tokens are: virtual tokens (`--sim`, and the tests) or PC/SC readers. A
//! bench lists its readers, connects to the token placed on one, and gives the stations
//! of a batch. Every call may block (waiting for a token), so the app calls them from
//! worker threads only.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use safeid::transport::{Station, Transport, TransportError};
use safeid_sim::{Faults, SimStation, SimTransport, SystemClock, TokenFactory, TokenSpec};
use safeid_sim::{VirtualToken, serial_queue};

/// A virtual token shared with the window, which shows its display.
pub type SharedToken = Arc<Mutex<VirtualToken>>;

/// A token on a reader, ready to talk to.
pub struct Connection {
    /// The link to the token.
    pub transport: Box<dyn Transport + Send>,
    /// The virtual token behind it, when it is one (its display is shown).
    pub virtual_token: Option<SharedToken>,
}

/// Readers and tokens.
pub trait Bench: Send + Sync {
    /// True for virtual tokens.
    fn is_virtual(&self) -> bool;
    /// The readers present now.
    fn readers(&self) -> Result<Vec<String>, TransportError>;
    /// Waits for a token on `reader` and connects to it.
    fn connect(&self, reader: &str) -> Result<Connection, TransportError>;
    /// One batch station per reader in `readers`. Virtual benches place `count` tokens.
    fn stations(
        &self,
        readers: &[String],
        count: u64,
    ) -> Result<Vec<Box<dyn Station>>, TransportError>;
}

/// Virtual tokens on virtual readers. Tests set which token is placed next (its spec and
/// the faults of its link) and keep a handle on every token placed.
pub struct SimBench {
    readers: Mutex<Vec<String>>,
    serial: String,
    queued: Mutex<VecDeque<(TokenSpec, Faults)>>,
    batch_factory: Mutex<TokenFactory>,
    batch_prefix: Mutex<String>,
    placed: Arc<Mutex<Vec<SharedToken>>>,
    batch_placed: safeid_sim::Placed,
    connects: AtomicUsize,
}

impl SimBench {
    /// One virtual reader; every token placed on it is a Token2 with `serial` (a token
    /// placed again is a fresh one with the same serial, in factory state).
    pub fn new(serial: &str) -> Self {
        Self {
            readers: Mutex::new(vec!["Virtual reader".to_owned()]),
            serial: serial.to_owned(),
            queued: Mutex::default(),
            batch_factory: Mutex::new(Arc::new(|serial: &str| {
                (TokenSpec::token2(serial), Faults::default())
            })),
            batch_prefix: Mutex::new("8659622".to_owned()),
            placed: Arc::default(),
            batch_placed: Arc::default(),
            connects: AtomicUsize::new(0),
        }
    }

    /// The next token placed on a reader (once) has this spec and link faults; calls queue
    /// up, one token each.
    pub fn place_next(&self, spec: TokenSpec, faults: Faults) {
        lock(&self.queued).push_back((spec, faults));
    }

    /// Every token placed on a reader so far (for the single-token steps).
    pub fn placed(&self) -> Vec<SharedToken> {
        lock(&self.placed).clone()
    }

    /// Every token placed at a batch station so far.
    pub fn batch_placed(&self) -> Vec<SharedToken> {
        lock(&self.batch_placed).clone()
    }

    /// Batch tokens get serials `prefix` + a number from 1, built by `factory`.
    pub fn set_batch_tokens(&self, prefix: &str, factory: TokenFactory) {
        *lock(&self.batch_prefix) = prefix.to_owned();
        *lock(&self.batch_factory) = factory;
    }

    /// A reader is plugged in.
    pub fn plug(&self, name: &str) {
        lock(&self.readers).push(name.to_owned());
    }

    /// A reader is unplugged.
    pub fn unplug(&self, name: &str) {
        lock(&self.readers).retain(|r| r != name);
    }

    /// How many times a token was connected to.
    pub fn connects(&self) -> usize {
        self.connects.load(Ordering::SeqCst)
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Bench for SimBench {
    fn is_virtual(&self) -> bool {
        true
    }

    fn readers(&self) -> Result<Vec<String>, TransportError> {
        Ok(lock(&self.readers).clone())
    }

    fn connect(&self, reader: &str) -> Result<Connection, TransportError> {
        if !lock(&self.readers).iter().any(|r| r == reader) {
            return Err(TransportError::ReaderNotFound {
                wanted: reader.to_owned(),
                available: lock(&self.readers).join(", "),
            });
        }
        let (spec, faults) = lock(&self.queued)
            .pop_front()
            .unwrap_or_else(|| (TokenSpec::token2(self.serial.clone()), Faults::default()));
        let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(SystemClock))));
        lock(&self.placed).push(Arc::clone(&token));
        self.connects.fetch_add(1, Ordering::SeqCst);
        Ok(Connection {
            transport: Box::new(SimTransport::with_faults(Arc::clone(&token), faults)),
            virtual_token: Some(token),
        })
    }

    fn stations(
        &self,
        readers: &[String],
        count: u64,
    ) -> Result<Vec<Box<dyn Station>>, TransportError> {
        let prefix = lock(&self.batch_prefix).clone();
        let width = 13usize.saturating_sub(prefix.len()).max(1);
        let queue = serial_queue(&prefix, 1, count, width);
        let factory = Arc::clone(&lock(&self.batch_factory));
        Ok(readers
            .iter()
            .map(|name| {
                Box::new(
                    SimStation::with_factory(
                        name.clone(),
                        queue.clone(),
                        Arc::new(SystemClock),
                        Arc::clone(&factory),
                    )
                    .with_placed(Arc::clone(&self.batch_placed)),
                ) as Box<dyn Station>
            })
            .collect())
    }
}

/// PC/SC readers through pcscd.
#[cfg(feature = "pcsc")]
pub struct PcscBench {
    /// How long to wait for a token after Connect.
    pub wait: std::time::Duration,
}

#[cfg(feature = "pcsc")]
impl Bench for PcscBench {
    fn is_virtual(&self) -> bool {
        false
    }

    fn readers(&self) -> Result<Vec<String>, TransportError> {
        safeid_pcsc::list_readers()
    }

    fn connect(&self, reader: &str) -> Result<Connection, TransportError> {
        let choice = safeid_pcsc::ReaderChoice::Name(reader.to_owned());
        let transport =
            safeid_pcsc::PcscTransport::open(choice, safeid_pcsc::WaitPolicy::new(self.wait))?;
        Ok(Connection {
            transport: Box::new(transport),
            virtual_token: None,
        })
    }

    fn stations(
        &self,
        readers: &[String],
        _count: u64,
    ) -> Result<Vec<Box<dyn Station>>, TransportError> {
        readers
            .iter()
            .map(|r| {
                safeid_pcsc::PcscStation::new(safeid_pcsc::ReaderChoice::Name(r.clone()))
                    .map(|s| Box::new(s) as Box<dyn Station>)
            })
            .collect()
    }
}
