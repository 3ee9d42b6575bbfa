//! Staging beside a file-system target, and the guards every file target shares.
//!
//! ```text
//! claim()   ── never the input: the target is not a file doppel reads (--from, rules, key),
//!              nor inside one, nor a folder holding one (symbolic links resolved)
//!           ── lock: an exclusive OS lock (flock) on `.<name>.doppel-lock` beside the target,
//!              held until the run ends; a second run on the same target fails at once
//!           ── holding the lock, remove `.<name>.doppel-<kind>-<pid>` siblings: no live run
//!              can own them (they are left by killed runs, on this or another machine)
//! sink      ── writes under `.<name>.doppel-partial-<pid>`, renamed into place on success
//! ```
//!
//! Whether a staged output belongs to a live run is decided by the lock alone, never by looking
//! for `/proc/<pid>` (which not every Unix has, and which says nothing about a run on another
//! machine sharing the folder). The lock file is empty and stays (removing it would let two
//! runs lock two different files of the same name).

use std::fs::{File, TryLockError};
use std::path::{Component, Path, PathBuf};

use super::file::{AtomicFile, Overwrite};
use crate::error::{Error, Result};

/// The hidden sibling of `target` for this `kind` (`partial`, `old`, `lock`) and process id.
pub fn sibling(target: &Path, kind: &str, pid: u32) -> PathBuf {
    target.with_file_name(format!(".{}.doppel-{kind}-{pid}", file_name(target)))
}

fn file_name(target: &Path) -> String {
    target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into())
}

/// The folder holding `target` (`.` for a bare name).
fn parent(target: &Path) -> &Path {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What a run may do to an existing file-system target, and what it must never touch.
#[derive(Debug, Clone, Default)]
pub struct FileTarget {
    /// Replace an existing output (only one doppel wrote, unless `force`).
    pub replace: bool,
    /// With `replace`: also replace an output doppel did not write.
    pub force: bool,
    /// What the run reads (`--from`, the rules, the key file): never the target, inside it, or
    /// around it, whatever the flags.
    pub inputs: Vec<PathBuf>,
}

/// A file-system target held by this run: its lock is released when the claim is dropped
/// (or the process ends, however it ends).
#[derive(Debug)]
pub struct Claim {
    _lock: File,
}

/// Claims `target` for this run (see the module docs): refuses a target that overlaps one of
/// `inputs`, takes the target's lock, then removes what killed runs left beside it.
pub fn claim(target: &Path, inputs: &[PathBuf]) -> Result<Claim> {
    refuse_inputs(target, inputs)?;
    let folder = parent(target);
    std::fs::create_dir_all(folder).map_err(|e| Error::target(folder.display(), e))?;
    let lock_path = target.with_file_name(format!(".{}.doppel-lock", file_name(target)));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::target(lock_path.display(), format!("cannot open the target's lock file: {e}")))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::target(
                target.display(),
                format!(
                    "another doppel run is writing it (it holds the lock on {}); wait for it to finish, then run \
                     again",
                    lock_path.display()
                ),
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(Error::target(lock_path.display(), format!("cannot lock the target: {e}")));
        }
    }
    remove_leftovers(target);
    Ok(Claim { _lock: lock })
}

/// Removes the `partial` and `old` siblings of `target` (files or folders), logging each. Only
/// called with the target's lock held.
fn remove_leftovers(target: &Path) {
    let name = file_name(target);
    let Ok(entries) = std::fs::read_dir(parent(target)) else { return };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let left = ["partial", "old"].iter().any(|kind| {
            entry_name
                .strip_prefix(&format!(".{name}.doppel-{kind}-"))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if !left {
            continue;
        }
        let path = entry.path();
        tracing::info!("removing {} left by an earlier run that did not finish", path.display());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let _ = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

/// Refuses a target that is one of `inputs`, lies inside one, or holds one.
fn refuse_inputs(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    for input in inputs {
        let Some(relation) = overlap(target, input) else { continue };
        return Err(Error::target(
            target.display(),
            format!(
                "{relation} {}, which this run reads; doppel never writes over, into or around its own input, \
                 whatever the flags: name another target",
                input.display()
            ),
        ));
    }
    Ok(())
}

/// How `path` overlaps `other` ("is", "is inside", "contains"), symbolic links resolved; `None`
/// when neither holds the other.
pub fn overlap(path: &Path, other: &Path) -> Option<&'static str> {
    let (a, b) = (resolve(path), resolve(other));
    if a == b {
        Some("is")
    } else if a.starts_with(&b) {
        Some("is inside")
    } else if b.starts_with(&a) {
        Some("contains")
    } else {
        None
    }
}

/// `path` made absolute with symbolic links resolved, as far as it exists; the rest appended
/// (`.` and `..` taken lexically).
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    let mut base = loop {
        if let Ok(real) = existing.canonicalize() {
            break real;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(up), Some(name)) => {
                rest.push(name.to_os_string());
                existing = up;
            }
            _ => break existing.to_path_buf(),
        }
    };
    for part in rest.iter().rev() {
        match Path::new(part).components().next() {
            Some(Component::ParentDir) => {
                base.pop();
            }
            Some(Component::CurDir) | None => {}
            _ => base.push(part),
        }
    }
    base
}

/// A file written in one piece at the end of a run (`--report`), opened before anything is
/// published: its temporary sibling ([`super::file::AtomicFile`]) is created at
/// [`StagedFile::open`], so an unwritable place stops the run before its first irreversible
/// step; renamed into place at [`StagedFile::publish`]; removed when dropped unpublished.
#[derive(Debug)]
pub struct StagedFile {
    target: PathBuf,
    file: AtomicFile,
}

impl StagedFile {
    /// Opens the staging file for `target`, which must not overlap any of `inputs`.
    pub fn open(target: &Path, inputs: &[PathBuf]) -> Result<StagedFile> {
        refuse_inputs(target, inputs)?;
        if target.is_dir() {
            return Err(Error::target(target.display(), "is a directory; name a file to write"));
        }
        let file = AtomicFile::create(target, Overwrite::Replace)
            .map_err(|e| Error::target(target.display(), format!("cannot write here ({e}); name a writable place")))?;
        Ok(StagedFile { target: target.to_path_buf(), file })
    }

    /// Writes `bytes`, syncs them and renames the file into place.
    pub fn publish(self, bytes: &[u8]) -> Result<()> {
        self.file.publish(bytes).map_err(|e| Error::target(self.target.display(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_this_target_are_removed_once_its_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.sql");
        let dead = sibling(&target, "partial", 99_999_999);
        let other = dir.path().join(".other.sql.doppel-partial-99999999");
        let folder = sibling(&target, "old", 99_999_998);
        let unrelated = dir.path().join(".out.sql.doppel-partial-notes");
        for f in [&dead, &other, &unrelated] {
            std::fs::write(f, "x").unwrap();
        }
        std::fs::create_dir(&folder).unwrap();
        let held = claim(&target, &[]).unwrap();
        assert!(!dead.exists() && !folder.exists());
        assert!(other.exists() && unrelated.exists());
        drop(held);
    }

    #[test]
    fn a_second_claim_on_a_held_target_fails_and_succeeds_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let first = claim(&target, &[]).unwrap();
        let staged = sibling(&target, "partial", 1);
        std::fs::create_dir(&staged).unwrap();
        let second = claim(&target, &[]).unwrap_err().to_string();
        assert!(second.contains("another doppel run is writing it"), "{second}");
        assert!(staged.exists(), "a live run's staging is never removed");
        drop(first);
        claim(&target, &[]).unwrap();
        assert!(!staged.exists());
    }

    #[test]
    fn a_target_overlapping_an_input_is_refused_through_links_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("d");
        std::fs::create_dir_all(input.join("inner")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        for (target, relation) in [
            (input.clone(), "is "),
            (link.clone(), "is "),
            (input.join("inner/../inner"), "is inside"),
            (input.join("new/out"), "is inside"),
            (dir.path().to_path_buf(), "contains"),
        ] {
            let err = claim(&target, std::slice::from_ref(&input)).unwrap_err().to_string();
            assert!(err.contains(relation) && err.contains("never writes over"), "{target:?}: {err}");
        }
        let inner = input.join("inner");
        assert!(claim(&input, &[inner]).unwrap_err().to_string().contains("contains"));
        claim(&dir.path().join("elsewhere"), &[input]).unwrap();
    }

    #[test]
    fn a_staged_file_appears_only_when_published_and_never_over_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        let staged = StagedFile::open(&target, &[]).unwrap();
        assert!(!target.exists());
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
        StagedFile::open(&target, &[]).unwrap().publish(b"{}").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        let missing = dir.path().join("no/such/dir/report.json");
        assert!(StagedFile::open(&missing, &[]).unwrap_err().to_string().contains("cannot write here"));
        assert!(
            StagedFile::open(&target, std::slice::from_ref(&target)).unwrap_err().to_string().contains("never writes")
        );
    }
}
