//! APDU traces with redaction: [`Traced`] wraps any [`Transport`] and records every raw
//! exchange (after continuation, so `GET RESPONSE` rounds appear too) as text, passing
//! each command through a caller-provided redaction function so that secrets (the body
//! of authenticate and write seed) never reach the trace.
//!
//! ```
//! use safeid_transport::mock::{Exchange, ScriptedTransport};
//! use safeid_transport::trace::Traced;
//! use safeid_transport::{Transport, hex, transmit};
//!
//! // hide everything after the 5-byte header
//! fn header_only(command: &[u8]) -> String {
//!     match command.get(..5) {
//!         Some(header) if command.len() > 5 => format!("{} <{} bytes redacted>", hex(header), command.len() - 5),
//!         _ => hex(command),
//!     }
//! }
//!
//! let mock = ScriptedTransport::new(vec![Exchange::ok("80 44 00 00 02 AB CD", "90 00")]);
//! let mut traced = Traced::new(mock, header_only);
//! transmit(&mut *traced.begin().unwrap(), &[0x80, 0x44, 0, 0, 2, 0xAB, 0xCD]).unwrap();
//! assert_eq!(traced.entries()[0].command, "80 44 00 00 02 <2 bytes redacted>");
//! assert_eq!(traced.entries()[0].reply, "90 00");
//! ```

use std::fmt;

use crate::{Transaction, Transport, TransportError, hex};

/// Turns raw bytes into trace text, hiding whatever must stay secret.
pub type Redact = fn(&[u8]) -> String;

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// The command as the redaction function rendered it (`"RESET"` for a reset).
    pub command: String,
    /// The reply as hex (or as the reply redaction rendered it), or `error: <message>`.
    pub reply: String,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "> {}\n< {}", self.command, self.reply)
    }
}

/// A [`Transport`] wrapper that records every exchange; see the [module docs](self).
pub struct Traced<T: Transport> {
    inner: T,
    redact_command: Redact,
    redact_reply: Redact,
    entries: Vec<TraceEntry>,
}

impl<T: Transport> Traced<T> {
    /// Wraps `inner`; commands are rendered with `redact_command`, replies as plain hex.
    pub fn new(inner: T, redact_command: Redact) -> Self {
        Self {
            inner,
            redact_command,
            redact_reply: hex,
            entries: Vec::new(),
        }
    }

    /// Renders replies with `redact_reply` instead of plain hex.
    pub fn with_reply_redaction(mut self, redact_reply: Redact) -> Self {
        self.redact_reply = redact_reply;
        self
    }

    /// The exchanges recorded so far.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Removes and returns the exchanges recorded so far.
    pub fn take_entries(&mut self) -> Vec<TraceEntry> {
        std::mem::take(&mut self.entries)
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Unwraps the transport, dropping the trace.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

fn render_error(error: &TransportError) -> String {
    format!("error: {error}")
}

impl<T: Transport> Transport for Traced<T> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        let inner = self.inner.begin()?;
        Ok(Box::new(TracedTransaction {
            inner,
            redact_command: self.redact_command,
            redact_reply: self.redact_reply,
            entries: &mut self.entries,
        }))
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        let result = self.inner.reset();
        self.entries.push(TraceEntry {
            command: "RESET".to_owned(),
            reply: result
                .as_ref()
                .map_or_else(render_error, |()| "ok".to_owned()),
        });
        result
    }
}

struct TracedTransaction<'a> {
    inner: Box<dyn Transaction + 'a>,
    redact_command: Redact,
    redact_reply: Redact,
    entries: &'a mut Vec<TraceEntry>,
}

impl Transaction for TracedTransaction<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.transmit_raw(command);
        self.entries.push(TraceEntry {
            command: (self.redact_command)(command),
            reply: match &result {
                Ok(reply) => (self.redact_reply)(reply),
                Err(error) => render_error(error),
            },
        });
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::mock::{Exchange, ScriptedTransport};
    use crate::transmit;

    fn hidden(_: &[u8]) -> String {
        "<hidden>".to_owned()
    }

    #[test]
    fn records_raw_rounds_resets_and_errors() {
        let mock = ScriptedTransport::new(vec![
            Exchange::ok("80 41 00 00 00", "61 02"),
            Exchange::ok("00 C0 00 00 02", "01 02 90 00"),
            Exchange::reset(),
            Exchange::fail("80 41 00 00 00", TransportError::CardRemoved),
        ]);
        let mut traced = Traced::new(mock, hex).with_reply_redaction(hidden);
        transmit(&mut *traced.begin().unwrap(), &[0x80, 0x41, 0, 0, 0]).unwrap();
        traced.reset().unwrap();
        let err = transmit(&mut *traced.begin().unwrap(), &[0x80, 0x41, 0, 0, 0]);
        assert_eq!(err, Err(TransportError::CardRemoved));
        let text: Vec<String> = traced.entries().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "> 80 41 00 00 00\n< <hidden>",
                "> 00 C0 00 00 02\n< <hidden>",
                "> RESET\n< ok",
                "> 80 41 00 00 00\n< error: the token was removed from the reader",
            ]
        );
        assert_eq!(traced.take_entries().len(), 4);
        assert!(traced.entries().is_empty());
        traced.into_inner().finish();
    }
}
