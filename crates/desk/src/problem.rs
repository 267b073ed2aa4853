//! Errors as the window shows them: the library's message, its stable kind, and the
//! control that does what the library's [`Hint`] says (as `crates/cli/src/error.rs` maps
//! hints to flags).

use eframe::egui;
use safeid::Hint;
use safeid::plan::Acceptance;

/// A control a hint points at; the window highlights it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The access key field.
    Key,
    /// The "confirm the seed is erased" box next to Set clock only.
    ConfirmErase,
    /// The box that accepts a conversion or risk.
    Accept(Acceptance),
    /// The account picker.
    Account,
    /// The encoding choice of typed secrets and seed files.
    Encoding,
    /// The reader list.
    Reader,
    /// The batch's resume box.
    Resume,
    /// The batch's journal field.
    Journal,
    /// The replace-existing-file box of exports.
    Overwrite,
    /// The sync-clock box.
    SyncClock,
}

/// An error to show.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The library's stable kind.
    pub kind: &'static str,
    /// The message.
    pub text: String,
    /// The control to use, if any.
    pub control: Option<Control>,
}

impl Problem {
    /// A problem without a hint.
    pub fn new(kind: &'static str, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            control: None,
        }
    }

    /// Adds the control for a library hint.
    pub fn with_hint(mut self, hint: Option<Hint>) -> Self {
        self.control = hint.and_then(control_for);
        self
    }

    /// What to do, in the window's words.
    pub fn advice(&self) -> Option<String> {
        Some(match self.control? {
            Control::Key => "Enter the access key under Reader and token (or load a model file); the Probe button shows what the token reports".into(),
            Control::ConfirmErase => "Tick \"I know setting the clock erases the seed\", or burn the seed again (a burn sets the clock too)".into(),
            Control::Accept(a) => format!("Tick \"Accept {}\" under Options", a.name()),
            Control::Account => "Choose one of the accounts found".into(),
            Control::Encoding => "Say whether the secret is base32 or hex".into(),
            Control::Reader => "Choose a reader in the list".into(),
            Control::Resume => "Tick \"Resume the journal\", or name a new journal file".into(),
            Control::Journal => "Name a new journal file".into(),
            Control::Overwrite => "Tick \"Replace an existing file\", or choose another path".into(),
            Control::SyncClock => "Burn again with \"Sync token clock\" ticked".into(),
        })
    }

    /// Shows the problem in red with its advice.
    pub fn show(&self, ui: &mut egui::Ui) {
        ui.colored_label(ui.visuals().error_fg_color, &self.text);
        if let Some(a) = self.advice() {
            ui.label(format!("What to do: {a}"));
        }
    }
}

/// The control for a hint.
pub fn control_for(hint: Hint) -> Option<Control> {
    Some(match hint {
        Hint::GiveKey => Control::Key,
        Hint::ConfirmErase => Control::ConfirmErase,
        Hint::Accept(a) => Control::Accept(a),
        Hint::ChooseAccount => Control::Account,
        Hint::ChooseEncoding => Control::Encoding,
        Hint::ChooseReader => Control::Reader,
        Hint::Resume => Control::Resume,
        Hint::NewJournal => Control::Journal,
        Hint::Overwrite => Control::Overwrite,
        Hint::SyncClock => Control::SyncClock,
        _ => return None,
    })
}

macro_rules! from_library {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Problem {
            fn from(e: $ty) -> Self {
                Problem::new(e.kind(), e.to_string()).with_hint(e.hint())
            }
        }
        impl From<&$ty> for Problem {
            fn from(e: &$ty) -> Self {
                Problem::new(e.kind(), e.to_string()).with_hint(e.hint())
            }
        }
    )*};
}

from_library!(
    safeid::SessionError,
    safeid::PlanError,
    safeid::token::PrepareError,
    safeid::batch::BatchError,
    safeid::sources::SourceError,
);

impl From<safeid::transport::TransportError> for Problem {
    fn from(e: safeid::transport::TransportError) -> Self {
        safeid::SessionError::from(e).into()
    }
}

impl From<safeid::keys::KeyError> for Problem {
    fn from(e: safeid::keys::KeyError) -> Self {
        Problem::new(e.kind(), e.to_string())
    }
}

impl From<safeid::export::ExportError> for Problem {
    fn from(e: safeid::export::ExportError) -> Self {
        Problem::new(e.kind(), e.to_string())
    }
}

impl From<safeid::batch::TokenError> for Problem {
    fn from(e: safeid::batch::TokenError) -> Self {
        Problem::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds the CLI's JSON errors give for the same errors (crates/cli/tests/cli.rs
    /// checks `bad_secret_argument` there): the window invents none of its own.
    #[test]
    fn library_errors_keep_the_kinds_the_cli_reports() {
        let key = Problem::from(safeid::keys::KeyError::Env("SAFEID_KEY".into()));
        assert_eq!(key.kind, "bad_secret_argument");
        assert!(key.text.contains("SAFEID_KEY"), "{}", key.text);
        let unset = safeid::keys::parse_key_arg("env:SAFEID_TEST_KEY_THAT_IS_NOT_SET");
        assert_eq!(
            unset.map(|_| ()).map_err(|e| Problem::from(e).kind),
            Err("bad_secret_argument")
        );
    }
}
