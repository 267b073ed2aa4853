//! Writing a secret-bearing file so that it is never seen half-written or world-readable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The mode of every file this crate writes that holds seeds: owner read/write only.
pub const SECRET_FILE_MODE: u32 = 0o600;

/// Writes `contents` to `path` atomically with mode 0600.
///
/// A temporary file is created in the same directory with mode 0600 *at creation* (before
/// any byte is written, `O_CREAT|O_EXCL`), written, flushed to disk (`fsync`), renamed over
/// `path`, and the directory is flushed so that the rename itself survives a crash. On any
/// error the temporary file is removed: `path` then holds either its old contents or
/// nothing, never a partial export.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the export path names no file")
    })?;
    let (tmp_path, mut file) = create_temp(&dir, &name.to_string_lossy())?;
    let result = (|| {
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        // Best effort: the temporary may already be renamed or never written.
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// Creates `.<name>.<random>.tmp` in `dir`, exclusively, with mode 0600.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for _ in 0..16 {
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = dir.join(format!(
            ".{name}.{}.tmp",
            data_encoding::HEXLOWER.encode(&tag)
        ));
        match open_new(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique temporary file",
    ))
}

/// Opens a new file exclusively with mode 0600 (on Unix; elsewhere the platform default).
pub(crate) fn open_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(SECRET_FILE_MODE);
    }
    options.open(path)
}

/// Flushes the directory holding `path` to disk, so that a newly created entry survives.
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => sync_dir(d),
        _ => sync_dir(Path::new(".")),
    }
}

/// Flushes a directory's entries to disk (Unix); a no-op elsewhere.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
