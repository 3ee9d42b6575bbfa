//! Sorted runs on disk, so `verify` holds a fixed amount of memory whatever the table size.
//!
//! ```text
//! records ──▶ buffer of run_records ──full──▶ sorted, folded ──▶ run file (temp dir)
//! run files ──k-way merge (fan-in 128, folding equal keys)──▶ one sorted stream
//! sorted stream ──▶ SortedFile: records on disk + every 256th record in memory ──▶ lookups (pread)
//! ```
//!
//! Every file lives in one temporary directory ([`SpillDir`]: under `TMPDIR`, `/tmp` when it is
//! unset), named after the part of doppel that made it ([`Part`]: `doppel-verify-*` for verify,
//! `doppel-classes-*` for the report's class counts), removed when that part ends, also on an
//! error or an interruption. A run that was killed (SIGKILL, a crash) cannot remove its own:
//! each directory holds a lock file its run keeps locked (flock) while it lives, and the next
//! spill directory made removes every `doppel-verify-*` and `doppel-classes-*` directory whose
//! lock it can take. Liveness is decided by the lock alone, as for the file
//! targets' staging (`crate::sink::staging`), never by looking up a process id. Records have a fixed
//! size ([`Record`]) and are written in the machine's byte order: the files are read back by the
//! same process only.
//!
//! The run size is [`DEFAULT_RUN_RECORDS`] records; the environment variable
//! `DOPPEL_VERIFY_RUN_RECORDS` sets another (the tests set tiny runs, so the spill and merge
//! paths run on small fixtures). A buffer that never fills is never written: a small source is
//! checked without touching the disk, except for the [`SortedFile`]s the search looks values up in.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use rayon::slice::ParallelSliceMut;

use crate::error::{Error, Result};

/// Records per run, unless `DOPPEL_VERIFY_RUN_RECORDS` says otherwise.
pub const DEFAULT_RUN_RECORDS: usize = 1 << 19;

/// Runs merged at once; more are merged in rounds.
const FAN_IN: usize = 128;

/// Records per block of a [`SortedFile`] (one in-memory index entry each, one read per lookup).
const BLOCK: usize = 256;

/// A fixed-size record of a run. Sorting is by `Ord`; [`Record::fold`] merges a record into the
/// one before it when both have the same key.
pub trait Record: Copy + Ord + Send + Sync {
    const SIZE: usize;
    fn encode(&self, out: &mut [u8]);
    fn decode(bytes: &[u8]) -> Self;
    /// When `next` (sorted after `self`) has the same key: folds it into `self` and returns true.
    fn fold(&mut self, next: &Self) -> bool;
}

/// The name of the lock file in a spill directory, locked by its run while it lives.
const OWNER_LOCK: &str = "owner.lock";

/// The part of doppel a spill directory is for: its name says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `doppel verify` and `run --verify`: `doppel-verify-*`.
    Verify,
    /// The report's counts of equivalence classes and foreign-key fan-out
    /// ([`crate::pipeline::classes`]): `doppel-classes-*`.
    Classes,
}

impl Part {
    const ALL: [Part; 2] = [Part::Verify, Part::Classes];

    /// The prefix of its directories' names.
    fn prefix(self) -> &'static str {
        match self {
            Part::Verify => "doppel-verify-",
            Part::Classes => "doppel-classes-",
        }
    }
}

/// The temporary directory of one verification, removed when dropped.
pub struct SpillDir {
    /// Held locked while the directory is in use (see the module doc); declared before `dir`
    /// so it is closed first.
    _owner: File,
    dir: tempfile::TempDir,
    next: AtomicU64,
    run_records: usize,
}

/// Removes the spill directories in `tmp` that no live run owns: those whose lock file can
/// be locked. A directory without a lock file (being created, or not ours) is left alone.
fn remove_abandoned(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_dir || !Part::ALL.iter().any(|p| name.starts_with(p.prefix())) {
            continue;
        }
        let path = entry.path();
        let Ok(lock) = File::open(path.join(OWNER_LOCK)) else { continue };
        if lock.try_lock().is_ok() {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => tracing::info!(directory = %path.display(), "removed a killed doppel's temporary files"),
                Err(e) => {
                    tracing::warn!(directory = %path.display(), error = %e, "cannot remove a killed doppel's temporary files")
                }
            }
        }
    }
}

impl SpillDir {
    /// A new directory under `TMPDIR`; runs of `DOPPEL_VERIFY_RUN_RECORDS` records (when set).
    pub fn new() -> Result<SpillDir> {
        let run_records = match std::env::var("DOPPEL_VERIFY_RUN_RECORDS") {
            Ok(v) => v.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                Error::Usage("DOPPEL_VERIFY_RUN_RECORDS must be a whole number of 1 or more".to_string())
            })?,
            Err(_) => DEFAULT_RUN_RECORDS,
        };
        SpillDir::with_run_records(Part::Verify, run_records)
    }

    /// A new directory for `part` under `TMPDIR`, with runs of `run_records` records.
    pub fn with_run_records(part: Part, run_records: usize) -> Result<SpillDir> {
        let tmp = std::env::temp_dir();
        remove_abandoned(&tmp);
        let failed = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot create a temporary directory in {}: {e}; set TMPDIR to a writable directory",
                tmp.display()
            ))
        };
        let dir = tempfile::Builder::new().prefix(part.prefix()).tempdir().map_err(failed)?;
        // Locked under another name, then renamed: another run never sees it unlocked.
        let staged = dir.path().join(".owner.lock");
        let owner = File::create(&staged).map_err(failed)?;
        owner.try_lock().map_err(|e| failed(std::io::Error::other(e.to_string())))?;
        std::fs::rename(&staged, dir.path().join(OWNER_LOCK)).map_err(failed)?;
        Ok(SpillDir { _owner: owner, dir, next: AtomicU64::new(0), run_records })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run_records(&self) -> usize {
        self.run_records
    }

    /// A new empty file in the directory.
    pub fn new_file(&self) -> Result<(PathBuf, File)> {
        let path = self.dir.path().join(format!("{}.run", self.next.fetch_add(1, AtomicOrdering::Relaxed)));
        let file = File::options().read(true).write(true).create_new(true).open(&path).map_err(|e| io(&path, e))?;
        Ok((path, file))
    }
}

/// An I/O error on a temporary file, with what to do.
pub fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Usage(format!(
        "verify: temporary file {}: {e}; verify needs free disk space in TMPDIR (set TMPDIR to another directory)",
        path.display()
    ))
}

/// Sorts `records` and folds equal keys.
fn sort_fold<T: Record>(records: &mut Vec<T>) {
    records.par_sort_unstable();
    records.dedup_by(|next, kept| kept.fold(next));
}

/// Records gathered in memory up to the run size, then sorted and written as a run.
pub struct Runs<T: Record> {
    buf: Vec<T>,
    runs: Vec<PathBuf>,
    cap: usize,
}

impl<T: Record> Runs<T> {
    pub fn new(dir: &SpillDir) -> Runs<T> {
        Runs { buf: Vec::new(), runs: Vec::new(), cap: dir.run_records }
    }

    pub fn push(&mut self, dir: &SpillDir, record: T) -> Result<()> {
        self.buf.push(record);
        if self.buf.len() >= self.cap { self.spill(dir) } else { Ok(()) }
    }

    /// Sorts the buffer and writes it as a run.
    fn spill(&mut self, dir: &SpillDir) -> Result<()> {
        sort_fold(&mut self.buf);
        let (path, file) = dir.new_file()?;
        write_all(&path, file, self.buf.drain(..).map(Ok))?;
        self.runs.push(path);
        Ok(())
    }

    /// Adds `records` (any order) as one run.
    pub fn add_run(&mut self, dir: &SpillDir, records: Vec<T>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if self.runs.is_empty() && self.buf.len() + records.len() < self.cap {
            self.buf.extend(records);
            return Ok(());
        }
        let held = std::mem::replace(&mut self.buf, records);
        self.spill(dir)?;
        self.buf = held;
        Ok(())
    }

    /// Moves `other`'s records and runs into these.
    pub fn append(&mut self, dir: &SpillDir, other: Runs<T>) -> Result<()> {
        self.runs.extend(other.runs);
        for r in other.buf {
            self.push(dir, r)?;
        }
        Ok(())
    }

    /// Every record, sorted, equal keys folded. Runs are merged in rounds of [`FAN_IN`].
    pub fn into_sorted(mut self, dir: &SpillDir) -> Result<Merge<T>> {
        if self.runs.is_empty() {
            sort_fold(&mut self.buf);
            return Ok(Merge {
                memory: self.buf.into_iter(),
                heap: BinaryHeap::new(),
                readers: Vec::new(),
                last: None,
            });
        }
        if !self.buf.is_empty() {
            self.spill(dir)?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > FAN_IN {
            let mut merged = Vec::new();
            for group in runs.chunks(FAN_IN) {
                let (path, file) = dir.new_file()?;
                write_all(&path, file, Merge::<T>::of_runs(group)?)?;
                merged.push(path);
            }
            runs = merged;
        }
        Merge::of_runs(&runs)
    }
}

fn write_all<T: Record>(path: &Path, file: File, records: impl Iterator<Item = Result<T>>) -> Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut bytes = vec![0u8; T::SIZE];
    for r in records {
        r?.encode(&mut bytes);
        out.write_all(&bytes).map_err(|e| io(path, e))?;
    }
    out.flush().map_err(|e| io(path, e))
}

struct RunReader {
    path: PathBuf,
    file: BufReader<File>,
}

impl RunReader {
    fn next<T: Record>(&mut self, bytes: &mut [u8]) -> Result<Option<T>> {
        match self.file.read_exact(bytes) {
            Ok(()) => Ok(Some(T::decode(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // A run is consumed once: its disk space is given back as soon as it is.
                let _ = std::fs::remove_file(&self.path);
                Ok(None)
            }
            Err(e) => Err(io(&self.path, e)),
        }
    }
}

/// The sorted, folded records of several runs (an iterator of `Result<T>`).
pub struct Merge<T: Record> {
    memory: std::vec::IntoIter<T>,
    heap: BinaryHeap<std::cmp::Reverse<(T, usize)>>,
    readers: Vec<RunReader>,
    /// The record being folded, not yet returned.
    last: Option<T>,
}

impl<T: Record> Merge<T> {
    fn of_runs(paths: &[PathBuf]) -> Result<Merge<T>> {
        let mut heap = BinaryHeap::new();
        let mut readers = Vec::new();
        let mut bytes = vec![0u8; T::SIZE];
        for (i, path) in paths.iter().enumerate() {
            let file = File::open(path).map_err(|e| io(path, e))?;
            let mut reader = RunReader { path: path.clone(), file: BufReader::with_capacity(1 << 15, file) };
            if let Some(r) = reader.next::<T>(&mut bytes)? {
                heap.push(std::cmp::Reverse((r, i)));
            }
            readers.push(reader);
        }
        Ok(Merge { memory: Vec::new().into_iter(), heap, readers, last: None })
    }

    /// The next record of the runs, before folding.
    fn next_raw(&mut self) -> Result<Option<T>> {
        if self.readers.is_empty() {
            return Ok(self.memory.next());
        }
        let Some(std::cmp::Reverse((r, i))) = self.heap.pop() else { return Ok(None) };
        let mut bytes = vec![0u8; T::SIZE];
        if let Some(n) = self.readers[i].next::<T>(&mut bytes)? {
            self.heap.push(std::cmp::Reverse((n, i)));
        }
        Ok(Some(r))
    }
}

impl<T: Record> Iterator for Merge<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            match self.next_raw() {
                Err(e) => return Some(Err(e)),
                Ok(None) => return self.last.take().map(Ok),
                Ok(Some(r)) => match &mut self.last {
                    None => self.last = Some(r),
                    Some(last) => {
                        if !last.fold(&r) {
                            return Some(Ok(std::mem::replace(last, r)));
                        }
                    }
                },
            }
        }
    }
}

/// Sorted records on disk, looked up by key: every [`BLOCK`]th record is held in memory, and a
/// lookup reads one block (`pread`, safe from several threads at once).
pub struct SortedFile<T: Record> {
    path: PathBuf,
    file: File,
    index: Vec<T>,
    len: usize,
}

impl<T: Record> SortedFile<T> {
    /// Writes `records` (sorted, keys distinct) to a new file of `dir`, calling `each` with each.
    pub fn write(dir: &SpillDir, records: impl Iterator<Item = Result<T>>, mut each: impl FnMut(&T)) -> Result<Self> {
        let (path, file) = dir.new_file()?;
        let mut out = BufWriter::with_capacity(1 << 16, &file);
        let mut bytes = vec![0u8; T::SIZE];
        let (mut index, mut len) = (Vec::new(), 0usize);
        for r in records {
            let r = r?;
            if len % BLOCK == 0 {
                index.push(r);
            }
            each(&r);
            r.encode(&mut bytes);
            out.write_all(&bytes).map_err(|e| io(&path, e))?;
            len += 1;
        }
        out.flush().map_err(|e| io(&path, e))?;
        drop(out);
        index.shrink_to_fit();
        Ok(SortedFile { path, file, index, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The record for which `cmp` (the record's key against the one looked for) is `Equal`.
    pub fn get(&self, cmp: impl Fn(&T) -> Ordering) -> Result<Option<T>> {
        // The last block whose first record is not after the key.
        let block = self.index.partition_point(|r| cmp(r) != Ordering::Greater);
        if block == 0 {
            return Ok(None);
        }
        let start = (block - 1) * BLOCK;
        let count = BLOCK.min(self.len - start);
        let mut bytes = vec![0u8; count * T::SIZE];
        self.file.read_exact_at(&mut bytes, (start * T::SIZE) as u64).map_err(|e| io(&self.path, e))?;
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let r = T::decode(&bytes[mid * T::SIZE..(mid + 1) * T::SIZE]);
            match cmp(&r) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Some(r)),
            }
        }
        Ok(None)
    }

    /// Bytes held in memory.
    pub fn memory_bytes(&self) -> usize {
        self.index.capacity() * std::mem::size_of::<T>()
    }
}

/// A Bloom filter of a fixed size: "maybe" for every hash inserted, and for a few others
/// (which only cost a lookup on disk).
pub struct Bloom {
    bits: Vec<u64>,
    mask: u64,
}

impl Bloom {
    /// A filter of `2^log2_bits` bits.
    pub fn new(log2_bits: u32) -> Bloom {
        Bloom { bits: vec![0; 1 << (log2_bits - 6)], mask: (1 << log2_bits) - 1 }
    }

    fn positions(&self, hash: u64) -> [u64; 2] {
        let h = hash.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        [h & self.mask, (h.rotate_left(32) ^ hash) & self.mask]
    }

    pub fn insert(&mut self, hash: u64) {
        for p in self.positions(hash) {
            self.bits[(p >> 6) as usize] |= 1 << (p & 63);
        }
    }

    pub fn may_contain(&self, hash: u64) -> bool {
        self.positions(hash).iter().all(|&p| self.bits[(p >> 6) as usize] & (1 << (p & 63)) != 0)
    }

    pub fn memory_bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

/// A `(u64, u32)` record (a fingerprint and a column or row): sorted by both, one per fingerprint
/// (the lowest second field is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pair(pub u64, pub u32);

impl Record for Pair {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.0.to_ne_bytes());
        out[8..12].copy_from_slice(&self.1.to_ne_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        Pair(
            u64::from_ne_bytes(b[..8].try_into().expect("8 bytes")),
            u32::from_ne_bytes(b[8..12].try_into().expect("4 bytes")),
        )
    }
    fn fold(&mut self, next: &Self) -> bool {
        self.0 == next.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_spill_directories_are_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str, lock_file: bool| {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("0.run"), b"records").unwrap();
            if lock_file {
                File::create(dir.join(OWNER_LOCK)).unwrap();
            }
            dir
        };
        let dead = make("doppel-verify-dead", true);
        let live = make("doppel-verify-live", true);
        let held = File::open(live.join(OWNER_LOCK)).unwrap();
        held.try_lock().unwrap();
        let dead_classes = make("doppel-classes-dead", true);
        let unlocked = make("doppel-verify-nolock", false);
        let other = make("not-doppel", true);
        remove_abandoned(tmp.path());
        assert!(!dead.exists() && !dead_classes.exists(), "a directory nobody holds is removed");
        assert!(live.join("0.run").exists(), "a live run's directory is kept");
        assert!(unlocked.exists() && other.exists());
        // Our own directory is locked from its creation: another run keeps it. Its name says
        // which part of doppel made it.
        for part in Part::ALL {
            let ours = SpillDir::with_run_records(part, 3).unwrap();
            let name = ours.path().file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with(part.prefix()), "{name}");
            remove_abandoned(ours.path().parent().unwrap());
            assert!(ours.path().join(OWNER_LOCK).exists());
        }
        drop(held);
    }

    #[test]
    fn runs_merge_sorted_and_folded_in_rounds_and_leave_no_file() {
        let dir = SpillDir::with_run_records(Part::Verify, 3).unwrap();
        let mut a = Runs::new(&dir);
        let mut b = Runs::new(&dir);
        // 1000 records over 300 runs: more than one round of FAN_IN.
        for i in 0..1000u64 {
            let r = Pair((i * 7919) % 500, (i % 5) as u32);
            if i % 2 == 0 { a.push(&dir, r).unwrap() } else { b.push(&dir, r).unwrap() }
        }
        a.append(&dir, b).unwrap();
        let merged: Vec<Pair> = a.into_sorted(&dir).unwrap().collect::<Result<_>>().unwrap();
        let mut expected: Vec<Pair> = (0..1000u64).map(|i| Pair((i * 7919) % 500, (i % 5) as u32)).collect();
        expected.sort();
        expected.dedup_by_key(|p| p.0);
        assert_eq!(merged, expected);
        let file = SortedFile::write(&dir, merged.iter().map(|&p| Ok(p)), |_| {}).unwrap();
        for p in &expected {
            assert_eq!(file.get(|r| r.0.cmp(&p.0)).unwrap(), Some(*p));
        }
        assert_eq!(file.get(|r| r.0.cmp(&500)).unwrap(), None);
        let left = std::fs::read_dir(dir.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name() != OWNER_LOCK);
        assert_eq!(left.count(), 1, "only the sorted file is left (beside the owner's lock)");
        let path = dir.path().to_path_buf();
        drop(file);
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn a_bloom_filter_never_misses() {
        let mut b = Bloom::new(10);
        for h in 0..100u64 {
            b.insert(h.wrapping_mul(0x1234_5678_9abc_def1));
        }
        assert!((0..100u64).all(|h| b.may_contain(h.wrapping_mul(0x1234_5678_9abc_def1))));
    }
}
