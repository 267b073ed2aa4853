//! Everything a batch checks before the journal is created or a token is touched.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use safeid_secret::SecretBytes;

use super::assign::{CredentialList, Source, credential_record};
use super::{BatchConfig, BatchError, BatchSeeds, ExportKind, PreparedBatch};
use crate::error::Hint;
use crate::journal::{JournalError, JournalState, Recovery};
use crate::plan::{Acceptance, BurnPlan, MIN_STRONG_SEED_BYTES, PlanError, PlanOptions, Risk};
use crate::record::TokenSeed;
use crate::sources::SourceError;

/// Checks a batch: the journal path (and its seal), every seed of the source, every
/// export (format and path), and last the enrollment server if any ([`Enroller::check`]:
/// reachable, credentials taken). Nothing is created or written.
///
/// [`Enroller::check`]: crate::enroll::Enroller::check
pub fn prepare(mut config: BatchConfig) -> Result<PreparedBatch, BatchError> {
    let mut notices = Vec::new();
    if config.enroller.is_some() && config.journal_seal.is_none() {
        return Err(BatchError::EnrollNeedsSeal);
    }
    let previous = check_journal(&config, &mut notices)?;
    let templates = templates(&config.seeds, &config.plan)?;
    if let (Some((state, _)), BatchSeeds::Credentials(_)) = (&previous, &config.seeds) {
        let given = templates
            .iter()
            .filter(|t| state.holder_of(&t.secret).is_some())
            .count();
        if given > 0 {
            notices.push(format!(
                "{given} of the {} credentials were already given to tokens of this journal; the others follow in order",
                templates.len()
            ));
        }
    }
    check_exports(&config, &templates)?;
    if let Some(enroller) = config.enroller.as_mut() {
        enroller.check().map_err(BatchError::Enroll)?;
        if let Some((state, _)) = &previous {
            let target = enroller.target();
            let missing = state.not_enrolled(&target).count();
            if missing > 0 {
                notices.push(format!(
                    "{missing} burned token(s) of this journal are not enrolled in {target} yet: they are enrolled first, without touching them"
                ));
            }
        }
    }
    Ok(PreparedBatch {
        config,
        previous,
        notices,
    })
}

/// The journal: a new path, or an existing journal when resuming (read, not changed).
fn check_journal(
    config: &BatchConfig,
    notices: &mut Vec<String>,
) -> Result<Option<(JournalState, Recovery)>, BatchError> {
    let path = &config.journal;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(JournalError::Io {
                path: path.clone(),
                source,
            }
            .into());
        }
    };
    match meta {
        None if config.resume => Err(BatchError::JournalMissing(path.clone())),
        None => Ok(None),
        Some(m) if m.file_type().is_symlink() => Err(JournalError::Symlink(path.clone()).into()),
        Some(m) if !m.is_file() => Err(JournalError::NotAFile(path.clone()).into()),
        Some(m) if m.len() == 0 => {
            notices.push(format!(
                "the journal {} exists and is empty: it is taken over as a new journal",
                path.display()
            ));
            Ok(None)
        }
        Some(_) if !config.resume => Err(BatchError::JournalExists(path.clone())),
        Some(_) => {
            let seal = config.journal_seal.as_ref();
            let (state, recovery) = JournalState::load_with(path, seal.map(|s| &s.passphrase))?;
            // (A journal with no entry at all may be a torn header; opening decides.)
            if seal.is_some() && !recovery.sealed && recovery.entries > 0 {
                return Err(JournalError::NotSealed(path.clone()).into());
            }
            let uncertain: Vec<&str> = state.uncertain().map(|s| s.seed.serial.as_str()).collect();
            if !uncertain.is_empty() {
                notices.push(format!(
                    "{} token(s) in an uncertain state will be burned again with their recorded seed when placed: {}",
                    uncertain.len(),
                    uncertain.join(", ")
                ));
            }
            Ok(Some((state, recovery)))
        }
    }
}

/// Every seed the source can give, as records without a serial (random sources: one
/// record of the right length, filled with zeros), each checked against the token.
fn templates(seeds: &BatchSeeds, opts: &PlanOptions) -> Result<Vec<TokenSeed>, BatchError> {
    let records = match seeds {
        BatchSeeds::Random {
            bytes,
            hash,
            period,
        } => {
            check_random_length(*bytes, opts)?;
            let mut r = TokenSeed::new("", SecretBytes::new(vec![0; *bytes]));
            (r.hash, r.period) = (*hash, *period);
            let what = || format!("random seeds of {bytes} bytes");
            BurnPlan::from_record(&r, opts).map_err(|source| BatchError::Seed {
                what: what(),
                source,
            })?;
            return Ok(vec![r]);
        }
        BatchSeeds::File(file) => file
            .records()
            .map(|r| {
                BurnPlan::from_record(r, opts)
                    .map(|_| r.clone())
                    .map_err(|source| BatchError::Seed {
                        what: format!("the seed file's row for serial {}", r.serial),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
        BatchSeeds::Credentials(creds) => creds
            .iter()
            .enumerate()
            .map(|(i, c)| {
                credential_record(c, opts).map_err(|source| BatchError::Seed {
                    what: credential_name(i, c),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if records.is_empty() {
        return Err(BatchError::NoSeeds);
    }
    check_unique_secrets(seeds, &records)?;
    Ok(records)
}

fn credential_name(i: usize, c: &safeid_otpauth::Credential) -> String {
    let label = crate::content::label(c);
    if label.is_empty() {
        format!("credential {}", i + 1)
    } else {
        format!("credential {} ({label})", i + 1)
    }
}

fn check_random_length(bytes: usize, opts: &PlanOptions) -> Result<(), BatchError> {
    if bytes == 0 || bytes > crate::plan::MAX_SEED_BYTES {
        return Err(SourceError::RandomLength(bytes).into());
    }
    if bytes < MIN_STRONG_SEED_BYTES && !opts.accepts(Acceptance::Risk(Risk::ShortRandomSeed)) {
        return Err(BatchError::Seed {
            what: format!("random seeds of {bytes} bytes"),
            source: PlanError::ShortRandomSeed(bytes),
        });
    }
    Ok(())
}

/// A secret goes into one token only: two rows or credentials with the same secret are
/// refused before anything starts.
fn check_unique_secrets(seeds: &BatchSeeds, records: &[TokenSeed]) -> Result<(), BatchError> {
    let name = |i: usize| match seeds {
        BatchSeeds::Credentials(c) => credential_name(i, &c[i]),
        _ => format!("the seed file's row for serial {}", records[i].serial),
    };
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(&first) = seen.get(r.secret.expose()) {
            return Err(BatchError::DuplicateSecret {
                first: name(first),
                second: name(i),
            });
        }
        seen.insert(r.secret.expose(), i);
    }
    Ok(())
}

/// The seed source a run draws from (after [`prepare`] checked it).
pub(super) fn source_of(seeds: BatchSeeds, opts: &PlanOptions) -> Result<Source, BatchError> {
    Ok(match seeds {
        BatchSeeds::File(f) => Source::File(f),
        BatchSeeds::Random {
            bytes,
            hash,
            period,
        } => Source::Random {
            bytes,
            hash,
            period,
        },
        BatchSeeds::Credentials(creds) => Source::Credentials(CredentialList::new(
            creds
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    credential_record(c, opts).map_err(|source| BatchError::Seed {
                        what: credential_name(i, c),
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        )),
    })
}

/// Every export can carry the seeds' parameters and can be written where asked.
fn check_exports(config: &BatchConfig, templates: &[TokenSeed]) -> Result<(), BatchError> {
    for target in &config.exports {
        if let ExportKind::File(f) = target.kind {
            check_format(f, templates)?;
        }
        // Direct enrollment writes no seed in clear: an export must be encrypted PSKC.
        let encrypted = target.kind == ExportKind::File(crate::export::Format::Pskc)
            && config.export_options.pskc_encryption.is_some();
        if config.enroller.is_some() && !encrypted {
            return Err(BatchError::ExportFormat {
                format: target.kind.name(),
                reason: "direct enrollment writes no seed in clear; only an encrypted PSKC export (with a key or a password) can go with it".into(),
            });
        }
    }
    check_export_targets(
        &config.exports,
        config.overwrite_exports,
        Some(&config.journal),
    )
}

/// Checks a set of exports before anything is written: none names the journal or the same
/// file as another (however the paths are spelled), and each can be written where asked
/// ([`check_export`]).
pub fn check_export_targets(
    targets: &[super::ExportTarget],
    overwrite: bool,
    journal: Option<&Path>,
) -> Result<(), BatchError> {
    let journal = journal.map(identity);
    let mut paths: Vec<PathBuf> = Vec::new();
    for target in targets {
        let path_error = |reason: &str| BatchError::ExportPath {
            format: target.kind.name(),
            path: target.path.clone(),
            reason: reason.into(),
            hint: None,
        };
        let same = identity(&target.path);
        if journal.as_ref() == Some(&same) {
            return Err(path_error("it is the journal itself"));
        }
        if paths.contains(&same) {
            return Err(path_error("the same path is given twice"));
        }
        paths.push(same);
        check_export(target, overwrite)?;
    }
    Ok(())
}

/// What a path names, however it is spelled: its folder resolved (links, `..`) plus its
/// file name; the absolute spelling when the folder does not exist.
pub(crate) fn identity(path: &Path) -> PathBuf {
    let name = path.file_name();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (fs::canonicalize(parent), name) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// The format can carry every seed's parameters (its limits as data, before any token is
/// burned); the error names the formats that can.
fn check_format(format: crate::export::Format, templates: &[TokenSeed]) -> Result<(), BatchError> {
    for t in templates {
        format
            .check(&crate::export::TokenParams::of(t))
            .map_err(|e| BatchError::ExportFormat {
                format: format.name(),
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

/// Checks that one export can be written where asked: its folder exists and takes new
/// files, a file export does not name a folder, and an existing file is only replaced when
/// `overwrite` allows it. Front ends call it before a single-token export too.
pub fn check_export(target: &super::ExportTarget, overwrite: bool) -> Result<(), BatchError> {
    check_export_path(&target.kind, &target.path, overwrite).map_err(|(reason, hint)| {
        BatchError::ExportPath {
            format: target.kind.name(),
            path: target.path.clone(),
            reason,
            hint,
        }
    })
}

/// The export's folder exists and takes new files; an existing file is only replaced when
/// allowed.
fn check_export_path(
    kind: &ExportKind,
    path: &Path,
    overwrite: bool,
) -> Result<(), (String, Option<Hint>)> {
    let folder = match kind {
        ExportKind::QrPngs if path.is_dir() => path.to_path_buf(),
        ExportKind::QrPngs if path.exists() => {
            return Err(("it exists and is not a folder".into(), None));
        }
        ExportKind::File(_) if path.is_dir() => {
            return Err(("it is a folder; name a file".into(), None));
        }
        ExportKind::File(_) if path.exists() && !overwrite => {
            return Err(("the file exists".into(), Some(Hint::Overwrite)));
        }
        _ => match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    if !folder.is_dir() {
        return Err((
            format!("the folder {} does not exist", folder.display()),
            None,
        ));
    }
    probe_writable(&folder).map_err(|e| {
        (
            format!("cannot create files in {}: {e}", folder.display()),
            None,
        )
    })
}

/// Creates and removes a file in `folder`, as the atomic export will.
fn probe_writable(folder: &Path) -> io::Result<()> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| io::Error::other(e.to_string()))?;
    let probe = folder.join(format!(
        ".safeid-probe-{}",
        data_encoding::HEXLOWER.encode(&tag)
    ));
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}
