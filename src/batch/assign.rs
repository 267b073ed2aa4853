//! Which seed a token gets: the rules that keep a seed with its serial across runs.
//!
//! - A serial the journal knows keeps what the journal gave it: an uncertain token is
//!   re-burned with its recorded seed (it may already hold it), and a token re-burned on
//!   request gets its recorded seed again. Only a seed file may give a known, certain
//!   serial a new seed (its row for that serial changed).
//! - A new serial gets the next seed of the source: its row of the seed file, a fresh
//!   random seed, or the next credential of the list that the journal has not given to
//!   any serial yet (so a resumed list continues where it stopped, whatever the order
//!   of tokens).
//! - A secret the journal gave to one serial is never given to another.

use std::collections::VecDeque;

use safeid_otpauth::Credential;
use safeid_secret::SecretBytes;

use super::TokenError;
use crate::journal::JournalState;
use crate::record::{TOKEN_DIGITS, TokenSeed};
use crate::report::TokenStatus;
use crate::sources::random_seed;

/// The seed source while a batch runs.
pub(super) enum Source {
    File(crate::sources::SeedFile),
    Random {
        bytes: usize,
        hash: safeid_proto::HmacAlgorithm,
        period: u32,
    },
    /// The records the credentials become (serial not yet set), in list order; their
    /// secret is what the token will hold (after any accepted conversion).
    Credentials(CredentialList),
}

/// A credential list: every record, and those not handed out yet in this run.
pub(super) struct CredentialList {
    pub(super) all: Vec<TokenSeed>,
    pub(super) queue: VecDeque<TokenSeed>,
}

impl CredentialList {
    /// A list handing out `records` in order.
    pub(super) fn new(records: Vec<TokenSeed>) -> Self {
        Self {
            queue: records.iter().cloned().collect(),
            all: records,
        }
    }
}

/// The choice for one token.
pub(super) enum Choice {
    /// Burn this seed.
    Seed(TokenSeed),
    /// The journal has it done and no re-burn was asked for.
    AlreadyDone,
    /// Every credential of the list has been given out.
    Exhausted,
}

impl Source {
    /// Credentials of the list not burned yet: never given to a serial, or given to one
    /// whose burn is not done (it failed, or is uncertain). `None` for other sources.
    pub(super) fn credentials_left(&self, journal: &JournalState) -> Option<usize> {
        match self {
            Source::Credentials(list) => Some(
                list.all
                    .iter()
                    .filter(|r| {
                        journal
                            .holder_of(&r.secret)
                            .and_then(|serial| journal.get(serial))
                            .is_none_or(|s| !s.is_done())
                    })
                    .count(),
            ),
            _ => None,
        }
    }

    /// Picks the seed for the token `status` per the module rules.
    pub(super) fn choose(
        &mut self,
        journal: &JournalState,
        status: &TokenStatus,
        reburn: bool,
    ) -> Result<Choice, TokenError> {
        let serial = status.serial.as_str();
        if let Some(known) = journal.get(serial) {
            if known.is_done() && !reburn {
                return Ok(Choice::AlreadyDone);
            }
            let keeps_recorded = known.is_uncertain() || !matches!(self, Source::File(_));
            if keeps_recorded {
                return Ok(Choice::Seed(known.seed.clone()));
            }
        }
        let record = match self {
            Source::File(file) => {
                let row = file
                    .seed_for(serial)
                    .cloned()
                    .ok_or_else(|| TokenError::NoSeedForSerial(serial.to_owned()))?;
                if let Some(holder) = journal.holder_of(&row.secret).filter(|h| *h != serial) {
                    return Err(TokenError::SecretGivenElsewhere {
                        serial: serial.to_owned(),
                        holder: holder.to_owned(),
                    });
                }
                row
            }
            Source::Random {
                bytes,
                hash,
                period,
            } => {
                let mut seed = TokenSeed::new(serial, random_seed(*bytes)?);
                seed.hash = *hash;
                seed.period = *period;
                seed
            }
            Source::Credentials(list) => match next_unused(&mut list.queue, journal) {
                Some(record) => record,
                None => return Ok(Choice::Exhausted),
            },
        };
        Ok(Choice::Seed(with_token(record, status)))
    }
}

/// Pops credentials until one that no serial of the journal holds.
fn next_unused(queue: &mut VecDeque<TokenSeed>, journal: &JournalState) -> Option<TokenSeed> {
    while let Some(record) = queue.pop_front() {
        if journal.holder_of(&record.secret).is_none() {
            return Some(record);
        }
    }
    None
}

/// The record for `serial`, with the model names from the token where the source had none.
fn with_token(mut record: TokenSeed, status: &TokenStatus) -> TokenSeed {
    record.serial = status.serial.clone();
    if record.manufacturer.is_none() {
        record.manufacturer = status.manufacturer.clone();
    }
    if record.model.is_none() {
        record.model = status.model.clone();
    }
    record
}

/// A credential as the record of the token it will go to: what its plan writes (the seed
/// after any accepted conversion, the algorithm and step the token is configured with).
pub(super) fn credential_record(
    cred: &Credential,
    opts: &crate::plan::PlanOptions,
) -> Result<TokenSeed, crate::plan::PlanError> {
    let plan = crate::plan::BurnPlan::from_credential(cred, opts)?;
    let mut record = TokenSeed::new("", SecretBytes::from_slice(plan.seed().expose()));
    record.hash = plan.hmac();
    record.period = plan.step().seconds();
    // The token shows 6 digits whatever the credential said (a 7/8-digit credential only
    // gets here with the six-digits conversion accepted).
    record.digits = TOKEN_DIGITS;
    record.display_name = plan.label().map(str::to_owned);
    Ok(record)
}
