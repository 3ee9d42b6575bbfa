//! Small files written whole and atomically: the rules `scan --out` writes, the profile
//! `profile --out` writes, the reports (`run --report`, `verify --report`). The big outputs
//! (Parquet directories, SQL dumps) are staged by [`super::staging`] instead.
//!
//! ```text
//! AtomicFile::create(target)  ── a temporary file `.<name>.doppel-partial-…` beside the target
//!                                (same folder, so the rename is atomic); an unwritable place fails here
//! publish(bytes)              ── write, fsync, rename into place (never over an existing file
//!                                with Overwrite::Never)
//! dropped unpublished         ── the temporary file is removed
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Whether a file may replace one already at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// An existing file is an error (`ErrorKind::AlreadyExists`) and stays as it was.
    Never,
    /// An existing file is replaced.
    Replace,
}

/// A file being written beside its target; see the module docs.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: NamedTempFile,
    overwrite: Overwrite,
}

impl AtomicFile {
    /// Creates the temporary file beside `target`.
    pub fn create(target: &Path, overwrite: Overwrite) -> std::io::Result<AtomicFile> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = tempfile::Builder::new().prefix(&format!(".{name}.doppel-partial-")).tempfile_in(dir)?;
        Ok(AtomicFile { target: target.to_path_buf(), temp, overwrite })
    }

    /// Writes `bytes`, syncs them and renames the file into place.
    pub fn publish(mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.temp.write_all(bytes)?;
        self.temp.as_file().sync_all()?;
        let persisted = match self.overwrite {
            Overwrite::Never => self.temp.persist_noclobber(&self.target),
            Overwrite::Replace => self.temp.persist(&self.target),
        };
        persisted.map(drop).map_err(|e| e.error)
    }
}

/// Writes `bytes` to a new file `path` atomically; an existing file is never replaced.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    AtomicFile::create(path, Overwrite::Never)?.publish(bytes)
}

/// Writes `bytes` to `path` atomically, replacing any file there.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    AtomicFile::create(path, Overwrite::Replace)?.publish(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_whole_or_not_at_all_and_never_over_one_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        let staged = AtomicFile::create(&path, Overwrite::Never).unwrap();
        assert!(!path.exists());
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
        write_new(&path, b"one").unwrap();
        let err = write_new(&path, b"two").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_replacing(&path, b"three").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_new(&dir.path().join("no/such/dir/x"), b"").is_err());
    }
}
