//! A text field buffer for secrets: zeroized when dropped or cleared, and never grown past
//! its capacity, so the text is not copied around by reallocation (and a paste cannot make
//! it use unbounded memory).

use std::any::TypeId;
use std::ops::Range;

use eframe::egui::{self, TextBuffer, text::CharIndex};
use safeid::secret::SecretString;
use zeroize::Zeroizing;

/// The text of a secret field (an otpauth URI, a base32 or hex seed, an access key).
pub struct SecretField {
    text: Zeroizing<String>,
    limit: usize,
}

impl SecretField {
    /// An empty field that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            text: Zeroizing::new(String::with_capacity(limit)),
            limit,
        }
    }

    /// The text.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// True when empty (after trimming).
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// A copy of the text as a library secret.
    pub fn secret(&self) -> SecretString {
        SecretString::new(self.text.trim().to_owned())
    }

    /// Wipes the text, and the undo history egui keeps for the field `id` (it holds
    /// copies of earlier text).
    pub fn wipe(&mut self, ctx: &egui::Context, id: egui::Id) {
        zeroize::Zeroize::zeroize(&mut *self.text);
        if let Some(mut state) = egui::TextEdit::load_state(ctx, id) {
            state.clear_undoer();
            state.store(ctx, id);
        }
    }
}

impl TextBuffer for SecretField {
    fn is_mutable(&self) -> bool {
        true
    }

    fn as_str(&self) -> &str {
        &self.text
    }

    fn insert_text(&mut self, text: &str, char_index: CharIndex) -> usize {
        let room = self.limit.saturating_sub(self.text.len());
        let mut end = 0;
        let mut chars = 0;
        for (i, c) in text.char_indices() {
            if i + c.len_utf8() > room {
                break;
            }
            end = i + c.len_utf8();
            chars += 1;
        }
        let at = self.byte_index_from_char_index(char_index).0;
        self.text.insert_str(at, &text[..end]);
        chars
    }

    fn delete_char_range(&mut self, char_range: Range<CharIndex>) {
        let start = self.byte_index_from_char_index(char_range.start).0;
        let end = self.byte_index_from_char_index(char_range.end).0;
        if start < end {
            // Shifts the tail left in place (no reallocation), then wipes the freed bytes.
            let len = self.text.len();
            let mut bytes = std::mem::take(&mut *self.text).into_bytes();
            bytes.copy_within(end..len, start);
            let new_len = len - (end - start);
            zeroize::Zeroize::zeroize(&mut bytes[new_len..]);
            bytes.truncate(new_len);
            // The bytes were valid UTF-8 with whole characters removed.
            *self.text = String::from_utf8(bytes).unwrap_or_default();
        }
    }

    fn type_id(&self) -> TypeId {
        TypeId::of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_bounds_inserts_and_deletes_keep_text() {
        let mut f = SecretField::new(8);
        assert_eq!(f.insert_text("JBSWY3DPEH", CharIndex(0)), 8);
        assert_eq!(f.expose(), "JBSWY3DP");
        assert_eq!(f.insert_text("X", CharIndex(2)), 0);
        f.delete_char_range(CharIndex(1)..CharIndex(3));
        assert_eq!(f.expose(), "JWY3DP");
        assert_eq!(f.insert_text("é", CharIndex(6)), 1);
        assert_eq!(f.expose(), "JWY3DPé");
    }
}
