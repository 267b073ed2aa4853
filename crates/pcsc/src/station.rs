//! [`PcscStation`]: a real reader as a batch [`Station`], where an operator takes each
//! token off and puts the next one on.

use std::ffi::CString;
use std::time::Duration;

use pcsc::Context;
use safeid_transport::{Station, Transport, TransportError};

use crate::reader::{establish, resolve};
use crate::wait::{card_gone, card_ready, wait_for_state};
use crate::{PcscTransport, ReaderChoice};

/// How often a waiting station asks its caller whether to stop.
pub const STATION_POLL: Duration = Duration::from_millis(500);

/// A PC/SC reader at which tokens are presented one after another.
///
/// [`next_token`](Station::next_token) first waits for the previous token to leave the
/// reader (then disconnects with a reset), then for the next token, checking `stop`
/// every [`STATION_POLL`]. A token that vanishes while it is being connected is waited
/// for again; a missing service or reader is an error.
pub struct PcscStation {
    reader: String,
    reader_c: CString,
    context: Context,
    current: Option<PcscTransport>,
}

impl PcscStation {
    /// Chooses the reader now, so that a wrong `--reader` fails before the batch starts.
    ///
    /// Errors: as [`list_readers`](crate::list_readers) and
    /// [`select_reader`](crate::select_reader).
    pub fn new(choice: impl Into<ReaderChoice>) -> Result<Self, TransportError> {
        let context = establish()?;
        let (reader, reader_c) = resolve(&context, &choice.into())?;
        Ok(Self {
            reader,
            reader_c,
            context,
            current: None,
        })
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Station for PcscStation {
    fn name(&self) -> String {
        self.reader.clone()
    }

    fn next_token(
        &mut self,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<&mut dyn Transport>, TransportError> {
        if let Some(previous) = self.current.take() {
            while !previous.wait_for_removal(STATION_POLL)? {
                if stop() {
                    return Ok(None);
                }
            }
        }
        loop {
            if stop() {
                return Ok(None);
            }
            if !wait_for_state(
                &self.context,
                &self.reader_c,
                STATION_POLL,
                card_ready,
                || {},
            )? {
                continue;
            }
            match PcscTransport::connect(
                self.context.clone(),
                self.reader.clone(),
                self.reader_c.clone(),
            ) {
                Ok(transport) => return Ok(Some(self.current.insert(transport))),
                // Gone again before we could talk to it (a token brushed past the reader):
                // wait for it to settle.
                Err(
                    TransportError::NoCard
                    | TransportError::CardRemoved
                    | TransportError::CardReset,
                ) => {
                    while !wait_for_state(
                        &self.context,
                        &self.reader_c,
                        STATION_POLL,
                        card_gone,
                        || {},
                    )? {
                        if stop() {
                            return Ok(None);
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stations_and_transports_can_move_to_worker_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<PcscStation>();
        assert_send::<PcscTransport>();
    }
}
