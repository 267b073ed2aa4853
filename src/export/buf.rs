//! The buffer every export is written into: a byte vector that is wiped when dropped and
//! that wipes its old storage each time it grows.
//!
//! A plain `String` or `Vec<u8>` built by pushing leaves a copy of its contents behind at
//! every reallocation (the allocator frees the old block without clearing it). An export
//! holds every seed of a batch, so [`SecretBuf`] grows by allocating a new block, copying,
//! and zeroing the old one before it is freed. The CSV writers (`csv-core`, which writes
//! into caller-owned slices), `serde_json` and the hand-built XML all write straight into
//! it; the finished text moves (without a copy) into the [`SecretString`] the writers
//! return.

use std::fmt;
use std::io;

use safeid_secret::SecretString;
use zeroize::{Zeroize, Zeroizing};

/// A growable byte buffer for secret text: wiped on drop and on every reallocation.
#[derive(Default)]
pub struct SecretBuf(Zeroizing<Vec<u8>>);

impl SecretBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The number of bytes written.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Makes room for `extra` more bytes, moving to a larger block (and wiping the old
    /// one) when the current block is too small.
    pub fn reserve(&mut self, extra: usize) {
        let needed = self.0.len().saturating_add(extra);
        if needed <= self.0.capacity() {
            return;
        }
        let capacity = needed.max(self.0.capacity().saturating_mul(2)).max(64);
        let mut bigger = Vec::with_capacity(capacity);
        bigger.extend_from_slice(&self.0);
        // `Zeroizing` wipes the old vector (its whole capacity) when it is replaced.
        let mut old = std::mem::replace(&mut *self.0, bigger);
        old.zeroize();
    }

    /// Appends bytes.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// Appends text.
    pub fn push_str(&mut self, text: &str) {
        self.push_bytes(text.as_bytes());
    }

    /// Appends `extra` zero bytes and returns them, for writers that fill a caller-owned
    /// slice (`csv-core`); [`SecretBuf::truncate`] gives back what they did not use.
    pub(crate) fn spare(&mut self, extra: usize) -> &mut [u8] {
        self.reserve(extra);
        let start = self.0.len();
        self.0.resize(start + extra, 0);
        &mut self.0[start..]
    }

    /// Cuts the buffer to `len` bytes (the cut bytes are zeroed first).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.0.len() {
            self.0[len..].zeroize();
            self.0.truncate(len);
        }
    }

    /// The bytes as a buffer that is wiped on drop.
    pub fn into_bytes(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut *self.0))
    }

    /// The text, moved into a [`SecretString`]; `None` (and the bytes wiped) when it is
    /// not UTF-8, which the writers never produce.
    pub fn into_secret_string(mut self) -> Option<SecretString> {
        match String::from_utf8(std::mem::take(&mut *self.0)) {
            Ok(text) => Some(SecretString::from(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                None
            }
        }
    }
}

impl fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretBuf({} bytes, {})",
            self.len(),
            safeid_secret::REDACTED
        )
    }
}

impl io::Write for SecretBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push_bytes(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for SecretBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// A CSV writer over `csv-core` that writes every byte straight into a [`SecretBuf`]
/// (the `csv` crate's `Writer` keeps an internal buffer that is never wiped).
pub(crate) struct CsvOut {
    core: csv_core::Writer,
    fields_in_row: usize,
}

impl CsvOut {
    /// A writer with `csv`'s defaults: `,`, quotes only where necessary, LF row ends.
    pub(crate) fn new() -> Self {
        let core = csv_core::WriterBuilder::new()
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        Self {
            core,
            fields_in_row: 0,
        }
    }

    /// Writes one field (quoted when it needs to be), preceded by a delimiter when it is
    /// not the first of its row.
    pub(crate) fn field(&mut self, out: &mut SecretBuf, value: &str) {
        if self.fields_in_row > 0 {
            self.drive(out, |w, o| {
                let (r, n) = w.delimiter(o);
                (r, 0, n)
            });
        }
        let mut input = value.as_bytes();
        loop {
            let start = out.len();
            let slot = out.spare(2 * input.len() + 4);
            let (result, read, written) = self.core.field(input, slot);
            out.truncate(start + written);
            input = &input[read..];
            if matches!(result, csv_core::WriteResult::InputEmpty) {
                break;
            }
        }
        self.fields_in_row += 1;
    }

    /// Ends the row (`csv-core` closes a pending quote first).
    pub(crate) fn end_row(&mut self, out: &mut SecretBuf) {
        self.drive(out, |w, o| {
            let (r, n) = w.terminator(o);
            (r, 0, n)
        });
        self.fields_in_row = 0;
    }

    /// Writes a whole row.
    pub(crate) fn row<'a>(
        &mut self,
        out: &mut SecretBuf,
        fields: impl IntoIterator<Item = &'a str>,
    ) {
        for f in fields {
            self.field(out, f);
        }
        self.end_row(out);
    }

    fn drive(
        &mut self,
        out: &mut SecretBuf,
        mut step: impl FnMut(&mut csv_core::Writer, &mut [u8]) -> (csv_core::WriteResult, usize, usize),
    ) {
        loop {
            let start = out.len();
            let slot = out.spare(16);
            let (result, _, written) = step(&mut self.core, slot);
            out.truncate(start + written);
            if matches!(result, csv_core::WriteResult::InputEmpty) {
                break;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_contents() {
        let mut b = SecretBuf::with_capacity(1);
        for i in 0..1000u32 {
            b.push_str(&i.to_string());
        }
        let expected: String = (0..1000u32).map(|i| i.to_string()).collect();
        assert_eq!(b.as_bytes(), expected.as_bytes());
        assert_eq!(b.into_secret_string().unwrap().expose(), expected);
    }

    #[test]
    fn csv_quotes_like_the_csv_crate() {
        // RFC 4180: fields with the delimiter, quotes or line ends are quoted, quotes doubled.
        let mut b = SecretBuf::default();
        let mut w = CsvOut::new();
        w.row(&mut b, ["a", "b,c", "say \"hi\"", ""]);
        w.row(&mut b, ["x\ny"]);
        assert_eq!(
            std::str::from_utf8(b.as_bytes()).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\n\"x\ny\"\n"
        );
    }

    #[test]
    fn csv_handles_fields_longer_than_one_slot() {
        let long = "\"".repeat(300);
        let mut b = SecretBuf::default();
        let mut w = CsvOut::new();
        w.row(&mut b, [long.as_str()]);
        let want = format!("\"{}\"\n", "\"\"".repeat(300));
        assert_eq!(std::str::from_utf8(b.as_bytes()).unwrap(), want);
    }

    #[test]
    fn debug_never_shows_contents() {
        let mut b = SecretBuf::default();
        b.push_str("GEZDGNBV");
        assert!(!format!("{b:?}").contains("GEZ"));
    }
}
