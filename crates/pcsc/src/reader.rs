//! Listing readers and choosing one.

use std::ffi::CString;

use pcsc::{Context, Error, Scope};
use safeid_transport::TransportError;

use crate::error::map_error;

/// Which reader to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReaderChoice {
    /// The only reader present (an error when there are several).
    #[default]
    Auto,
    /// The reader at this 0-based position in [`list_readers`].
    Index(usize),
    /// A reader name: the exact name, else a unique case-insensitive part of one, else
    /// (when it is a number) an index.
    Name(String),
}

impl From<&ReaderChoice> for ReaderChoice {
    fn from(value: &ReaderChoice) -> Self {
        value.clone()
    }
}

impl From<&str> for ReaderChoice {
    /// A name (or part of one, or an index): [`ReaderChoice::Name`].
    fn from(value: &str) -> Self {
        Self::Name(value.to_owned())
    }
}

impl From<String> for ReaderChoice {
    /// A name (or part of one, or an index): [`ReaderChoice::Name`].
    fn from(value: String) -> Self {
        Self::Name(value)
    }
}

impl From<Option<String>> for ReaderChoice {
    /// `None` (no `--reader` given) is [`ReaderChoice::Auto`], `Some(text)` a name.
    fn from(value: Option<String>) -> Self {
        value.map_or(Self::Auto, Self::Name)
    }
}

/// Names of the readers pcscd knows, in its order (empty when none is plugged in).
///
/// Errors: [`TransportError::NoService`] when pcscd is not reachable. Honours
/// `PCSCLITE_CSOCK_NAME` (libpcsclite reads it once per process).
pub fn list_readers() -> Result<Vec<String>, TransportError> {
    let context = establish()?;
    Ok(reader_names(&context)?
        .iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect())
}

pub(crate) fn establish() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(map_error)
}

/// The raw reader names. A reader plugged in between the two calls inside
/// `list_readers_owned` makes the buffer too small: ask again a few times.
pub(crate) fn reader_names(context: &Context) -> Result<Vec<CString>, TransportError> {
    let mut attempts = 0;
    loop {
        match context.list_readers_owned() {
            Err(Error::InsufficientBuffer) if attempts < 3 => attempts += 1,
            other => return other.map_err(map_error),
        }
    }
}

/// Lists the readers and chooses one: its name, and the exact bytes pcscd knows it by
/// (a name that is not UTF-8 would not survive a round trip through `String`).
pub(crate) fn resolve(
    context: &Context,
    choice: &ReaderChoice,
) -> Result<(String, CString), TransportError> {
    let names = reader_names(context)?;
    let readable: Vec<String> = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let reader = select_reader(&readable, choice)?;
    let raw = readable
        .iter()
        .position(|r| *r == reader)
        .and_then(|i| names.get(i).cloned())
        .ok_or(TransportError::ReaderUnavailable)?;
    Ok((reader, raw))
}

/// Chooses a reader from `readers` (pure; see [`ReaderChoice`] for the rules).
///
/// Errors: [`TransportError::NoReader`] when `readers` is empty;
/// [`TransportError::AmbiguousReader`] (listing them, numbered) when several readers fit;
/// [`TransportError::ReaderNotFound`] when none does.
pub fn select_reader(readers: &[String], choice: &ReaderChoice) -> Result<String, TransportError> {
    if readers.is_empty() {
        return Err(TransportError::NoReader);
    }
    let not_found = |wanted: String| TransportError::ReaderNotFound {
        wanted,
        available: numbered(readers.iter()),
    };
    match choice {
        ReaderChoice::Auto => match readers {
            [only] => Ok(only.clone()),
            _ => Err(TransportError::AmbiguousReader {
                available: numbered(readers.iter()),
            }),
        },
        ReaderChoice::Index(index) => readers
            .get(*index)
            .cloned()
            .ok_or_else(|| not_found(index.to_string())),
        ReaderChoice::Name(wanted) => {
            if let Some(exact) = readers.iter().find(|r| *r == wanted) {
                return Ok(exact.clone());
            }
            let needle = wanted.to_lowercase();
            let matches: Vec<&String> = readers
                .iter()
                .filter(|r| r.to_lowercase().contains(&needle))
                .collect();
            match matches.as_slice() {
                [one] => Ok((*one).clone()),
                [] => match wanted.trim().parse::<usize>() {
                    Ok(index) if index < readers.len() => Ok(readers[index].clone()),
                    _ => Err(not_found(wanted.clone())),
                },
                _ => Err(TransportError::AmbiguousReader {
                    available: numbered(readers.iter()),
                }),
            }
        }
    }
}

/// `[0] first, [1] second`: the numbering that [`ReaderChoice::Index`] uses.
fn numbered<'a>(readers: impl Iterator<Item = &'a String>) -> String {
    readers
        .enumerate()
        .map(|(i, name)| format!("[{i}] {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn readers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn name(text: &str) -> ReaderChoice {
        ReaderChoice::Name(text.to_owned())
    }

    const TWO: [&str; 2] = ["Virtual PCD 00 00", "Virtual PCD 00 01"];
    const MIXED: [&str; 3] = [
        "ACS ACR122U PICC Interface 00 00",
        "Identiv uTrust 3700 F CL Reader [uTrust 3700 F CL Reader] (55041802617654) 01 00",
        "Virtual PCD 00 00",
    ];

    #[test]
    fn auto_takes_the_only_reader() {
        let one = readers(&["ACS ACR122U PICC Interface 00 00"]);
        assert_eq!(select_reader(&one, &ReaderChoice::Auto).unwrap(), one[0]);
    }

    #[test]
    fn auto_with_several_lists_them_numbered() {
        let err = select_reader(&readers(&TWO), &ReaderChoice::Auto).unwrap_err();
        assert_eq!(
            err,
            TransportError::AmbiguousReader {
                available: "[0] Virtual PCD 00 00, [1] Virtual PCD 00 01".into()
            }
        );
        // The library's message names no front end's flag; it says how to choose.
        assert!(
            err.to_string()
                .contains("choose one by name, part of a name, or index")
        );
        assert!(!err.to_string().contains("--"));
    }

    #[test]
    fn no_reader_at_all() {
        for choice in [ReaderChoice::Auto, ReaderChoice::Index(0), name("acs")] {
            assert_eq!(select_reader(&[], &choice), Err(TransportError::NoReader));
        }
    }

    #[test]
    fn exact_name_wins_over_substring() {
        // "Virtual PCD 00 00" is also a substring of nothing else here, but "Reader 1"
        // is a substring of "Reader 10": the exact name must win.
        let list = readers(&["Reader 10", "Reader 1"]);
        assert_eq!(select_reader(&list, &name("Reader 1")).unwrap(), "Reader 1");
        assert_eq!(
            select_reader(&readers(&TWO), &name("Virtual PCD 00 01")).unwrap(),
            "Virtual PCD 00 01"
        );
    }

    #[test]
    fn unique_case_insensitive_substring() {
        let list = readers(&MIXED);
        assert_eq!(select_reader(&list, &name("acr122")).unwrap(), MIXED[0]);
        assert_eq!(select_reader(&list, &name("UTRUST")).unwrap(), MIXED[1]);
        assert_eq!(select_reader(&list, &name("virtual")).unwrap(), MIXED[2]);
    }

    #[test]
    fn substring_of_several_is_ambiguous() {
        let err = select_reader(&readers(&MIXED), &name("00 00")).unwrap_err();
        assert!(
            matches!(err, TransportError::AmbiguousReader { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_number_is_an_index_when_no_name_contains_it() {
        let list = readers(&[
            "Gemalto PC Twin Reader",
            "SCM Microsystems SCR3310",
            "Virtual PCD 00 00",
        ]);
        assert_eq!(select_reader(&list, &name("2")).unwrap(), list[2]);
        assert_eq!(select_reader(&list, &name(" 2 ")).unwrap(), list[2]);
        // "1" is part of one name: the name wins over the index
        assert_eq!(select_reader(&list, &name("1")).unwrap(), list[1]);
        // "0" is part of two names: ambiguous, not index 0
        assert!(matches!(
            select_reader(&list, &name("0")),
            Err(TransportError::AmbiguousReader { .. })
        ));
        assert_eq!(
            select_reader(&list, &ReaderChoice::Index(0)).unwrap(),
            list[0]
        );
    }

    #[test]
    fn no_match_names_what_was_asked_and_what_exists() {
        let list = readers(&TWO);
        assert_eq!(
            select_reader(&list, &name("omnikey")),
            Err(TransportError::ReaderNotFound {
                wanted: "omnikey".into(),
                available: "[0] Virtual PCD 00 00, [1] Virtual PCD 00 01".into()
            })
        );
        assert_eq!(
            select_reader(&list, &ReaderChoice::Index(2)),
            Err(TransportError::ReaderNotFound {
                wanted: "2".into(),
                available: "[0] Virtual PCD 00 00, [1] Virtual PCD 00 01".into()
            })
        );
        assert!(matches!(
            select_reader(&list, &name("7")),
            Err(TransportError::ReaderNotFound { .. })
        ));
    }

    #[test]
    fn choice_from_an_optional_flag() {
        assert_eq!(ReaderChoice::from(None), ReaderChoice::Auto);
        assert_eq!(ReaderChoice::from(Some("acs".to_owned())), name("acs"));
        assert_eq!(ReaderChoice::from("acs"), name("acs"));
        assert_eq!(
            ReaderChoice::from(&ReaderChoice::Index(1)),
            ReaderChoice::Index(1)
        );
    }
}
