//! The source side of `verify`: one pass over every copied table, gathering what the output
//! is then checked against, as fingerprints and keys, never as text.
//!
//! - per personal column whose rule replaces the whole value, a 64-bit fingerprint of every
//!   row's value (for the own-row comparison), with the row's primary key fingerprint when
//!   the key is kept (on disk: [`RowFile`], [`KeyIndex`]);
//! - the distinctive personal values (see [`super::text`]), counted, as [`ValueKey`]s of their
//!   normal form: whole values of text and integer columns, their tokens of 8+ characters, and
//!   in free text (`redact`) and JSON (`json`) columns only the parts that are personal (what
//!   the redact detectors find; the values at the rule's JSON paths), since the rest of such a
//!   text is kept by design. Strong values (emails, long numbers) are always searched, so they
//!   are listed, not counted (`Gathered`). All of them go to sorted runs on disk ([`super::spill`]);
//! - single words from the `fake` crate's lists are not searched for (see [`super::text`]);
//! - the "public vocabulary": keys of whole values and tokens of the columns the rules keep. A
//!   value that the rules publish anyway (a city in a kept `ship_city`) is not searched for,
//!   unless it is strong (an email or a long number). Kept generated columns (`pg.generated`)
//!   are left out of it: they are computed from other columns, perhaps personal ones, and
//!   would otherwise hide the personal values they repeat from the search;
//! - per kept text column, the keys of its cells (normal form), so pass 2 can tell a cell the
//!   rules kept as it was from one a value was put into.
//!
//! The unkeyed digests of the personal values are computed only by [`digests`], a second read
//! of the source made when the output has hex runs of a digest's length.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use rayon::prelude::*;
use serde_json::Value;

use crate::detect::{Detector, Detectors};
use crate::error::Result;
use crate::plan::{JsonStep, Strategy, TablePlan};
use crate::schema::generated_reads;
use crate::source::Source;
use crate::strategy::values::value_key;

use super::VerifyOptions;
use super::matcher::{DigestSearch, Matcher, Searched, ValueKey, class_bits, class_of_bits, number_fps};
use super::spill::{Pair, Record, Runs, SortedFile, SpillDir, io};
use super::text::{MIN_CHARS, ValueClass, is_common_word, is_distinctive, is_strong, normalise_into, tokens};

/// Fingerprint of a NULL cell.
pub const NULL_FP: u64 = 0;

/// A 64-bit fingerprint of `bytes` (never [`NULL_FP`]).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish().max(1)
}

/// The fingerprint of `array[row]`: equal for equal values of equal types.
pub fn cell_fingerprint(array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u64 {
    if array.is_null(row) {
        return NULL_FP;
    }
    buf.clear();
    value_key(array, row, buf);
    fingerprint(buf)
}

/// Renders cells as text: strings as they are, other types in their display form.
pub struct CellText<'a> {
    array: &'a dyn Array,
    formatter: Option<ArrayFormatter<'a>>,
}

impl<'a> CellText<'a> {
    pub fn new(array: &'a dyn Array) -> CellText<'a> {
        let formatter = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => None,
            _ => ArrayFormatter::try_new(array, &FormatOptions::default()).ok(),
        };
        CellText { array, formatter }
    }

    /// Writes `array[row]` into `out` (cleared first); false for NULL.
    pub fn get(&self, row: usize, out: &mut String) -> bool {
        out.clear();
        if self.array.is_null(row) {
            return false;
        }
        match self.array.data_type() {
            DataType::Utf8 => out.push_str(self.array.as_string::<i32>().value(row)),
            DataType::LargeUtf8 => out.push_str(self.array.as_string::<i64>().value(row)),
            DataType::Utf8View => out.push_str(self.array.as_string_view().value(row)),
            _ => match &self.formatter {
                Some(f) => {
                    use std::fmt::Write;
                    let _ = write!(out, "{}", f.value(row));
                }
                None => return false,
            },
        }
        true
    }
}

/// How the personal parts of a column are found.
enum Parts {
    /// The rule replaces the whole value: the value and its tokens.
    Whole,
    /// Free text the rule redacts: what the detectors find.
    FreeText,
    /// JSON: the values at these paths (`true`: a free text there, redacted).
    Json(Vec<(Vec<JsonStep>, bool)>),
}

fn parts(strategy: &Strategy) -> Parts {
    match strategy {
        Strategy::Redact(_) => Parts::FreeText,
        Strategy::Json(paths) => {
            Parts::Json(paths.0.iter().map(|p| (p.steps.clone(), matches!(p.strategy, Strategy::Redact(_)))).collect())
        }
        _ => Parts::Whole,
    }
}

/// One `u64` per row, in row order, on disk: the own-row fingerprints of a column, the key
/// fingerprints of a table (8 bytes per row).
pub struct RowFile {
    path: PathBuf,
    file: File,
    rows: u64,
}

struct RowWriter {
    path: PathBuf,
    out: BufWriter<File>,
    rows: u64,
}

impl RowWriter {
    fn new(dir: &SpillDir) -> Result<RowWriter> {
        let (path, file) = dir.new_file()?;
        Ok(RowWriter { path, out: BufWriter::with_capacity(1 << 16, file), rows: 0 })
    }

    fn push(&mut self, v: u64) -> Result<()> {
        self.rows += 1;
        self.out.write_all(&v.to_ne_bytes()).map_err(|e| io(&self.path, e))
    }

    fn finish(self) -> Result<RowFile> {
        let file = self.out.into_inner().map_err(|e| io(&self.path, e.into_error()))?;
        Ok(RowFile { path: self.path, file, rows: self.rows })
    }
}

/// Rows a [`RowReader`] reads at once.
const WINDOW: u64 = 8192;

/// Reads a [`RowFile`] by row, [`WINDOW`] rows at a time: in row order, one read per window.
pub struct RowReader<'a> {
    file: &'a RowFile,
    start: u64,
    buf: Vec<u64>,
    bytes: Vec<u8>,
}

impl RowFile {
    pub fn reader(&self) -> RowReader<'_> {
        RowReader { file: self, start: 0, buf: Vec::new(), bytes: Vec::new() }
    }
}

impl RowReader<'_> {
    /// The value of `row` (below the file's rows).
    pub fn get(&mut self, row: u64) -> Result<u64> {
        if row < self.start || row >= self.start + self.buf.len() as u64 {
            let count = WINDOW.min(self.file.rows.saturating_sub(row)) as usize;
            self.bytes.resize(count * 8, 0);
            self.file.file.read_exact_at(&mut self.bytes, row * 8).map_err(|e| io(&self.file.path, e))?;
            self.buf.clear();
            self.buf.extend(self.bytes.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes"))));
            self.start = row;
        }
        Ok(self.buf[(row - self.start) as usize])
    }
}

/// The own-row fingerprints of one table, on disk.
pub struct TableRows {
    pub rows: u64,
    /// The kept primary key's columns and their rows, when rows are matched by key.
    pub key: Option<(Vec<String>, KeyIndex)>,
    /// (column name, one fingerprint per row).
    pub columns: Vec<(String, RowFile)>,
}

/// Key fingerprint → source row: (fingerprint, row) sorted on disk, and the fingerprints in row
/// order. Two rows whose keys collide on 64 bits (odds 2^-64 per pair) pair an output row with
/// the first; a wrong pairing can only make the values differ (a missed own-row comparison for
/// that row needs the same 64-bit collision).
pub struct KeyIndex {
    sorted: SortedFile<Pair>,
    in_order: RowFile,
    /// No two rows share a key fingerprint.
    unique: bool,
}

impl KeyIndex {
    /// The key fingerprints in row order (for [`KeyIndex::get`]).
    pub fn in_order(&self) -> &RowFile {
        &self.in_order
    }

    /// The source row of a key fingerprint. `hint`: the row it is likely at (output rows mostly
    /// come in the source's order), checked first with `in_order` (a reader of
    /// [`KeyIndex::in_order`]) when keys are unique; else the sorted file is searched.
    pub fn get(&self, key: u64, hint: u64, in_order: &mut RowReader) -> Result<Option<u64>> {
        if self.unique && hint < self.in_order.rows && in_order.get(hint)? == key {
            return Ok(Some(hint));
        }
        Ok(self.sorted.get(|p| p.0.cmp(&key))?.map(|p| u64::from(p.1)))
    }
}

/// Everything pass 1 gathers.
pub struct Collected {
    /// `schema.table.column` of every personal column, indexed by `Hit::Value`.
    pub columns: Vec<String>,
    pub tables: HashMap<String, TableRows>,
    /// Per table and kept text column: the sorted keys ([`ValueKey`] of the normal form) of its
    /// cells of [`MIN_CHARS`] bytes or more. A value found in such a cell of the output that the
    /// source's column holds too is published by the rules, not leaked.
    pub kept_cells: HashMap<String, HashMap<String, SortedFile<ValueKey>>>,
    pub matcher: Matcher,
}

/// A fast, non-cryptographic hasher for the collector's sets (their keys come from the
/// source, and a slow lookup is the worst a crafted value can cause).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(last) ^ (bytes.len() as u64) << 56);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn finish(&self) -> u64 {
        // The multiply above mixes only upwards; hash tables index by the low bits, so mix
        // the high bits down (murmur3's finaliser).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type Fast = BuildHasherDefault<FastHasher>;

/// The key of a cell's text in normal form, as [`Collected::kept_cells`] holds it.
pub fn cell_text_key(normalised: &str) -> ValueKey {
    ValueKey::of(normalised)
}

/// A candidate value: its key, in how many cells it appears, the source column it was first
/// seen in (the lowest id), its class, and whether it is a single word of the `fake` crate's
/// lists (see [`super::text`]). Runs of them fold by key, adding the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    key: ValueKey,
    rows: u32,
    column: u32,
    class: ValueClass,
    common_word: bool,
}

impl Record for Candidate {
    const SIZE: usize = ValueKey::SIZE + 10;
    fn encode(&self, out: &mut [u8]) {
        self.key.encode(out);
        out[21..25].copy_from_slice(&self.rows.to_ne_bytes());
        out[25..29].copy_from_slice(&self.column.to_ne_bytes());
        out[29] = class_bits(self.class);
        out[30] = u8::from(self.common_word);
    }
    fn decode(b: &[u8]) -> Self {
        Candidate {
            key: ValueKey::decode(b),
            rows: u32::from_ne_bytes(b[21..25].try_into().expect("4 bytes")),
            column: u32::from_ne_bytes(b[25..29].try_into().expect("4 bytes")),
            class: class_of_bits(b[29]),
            common_word: b[30] != 0,
        }
    }
    fn fold(&mut self, next: &Self) -> bool {
        if self.key != next.key {
            return false;
        }
        self.rows = self.rows.saturating_add(next.rows);
        self.column = self.column.min(next.column);
        true
    }
}

/// A candidate counted in memory, before it is written in a run.
#[derive(Debug, Clone, Copy)]
struct Counted {
    rows: u32,
    class: ValueClass,
    common_word: bool,
}

/// The candidate values one column gathers: the distinct ones that are not strong counted in a
/// hash table of at most the run size (then written as a run), the strong ones (emails, long
/// numbers: always searched, whatever their count) and their number fingerprints in runs.
struct Gathered {
    counting: HashMap<ValueKey, Counted, Fast>,
    candidates: Runs<Candidate>,
    strong: Runs<Searched>,
    numbers: Runs<Pair>,
}

impl Gathered {
    fn new(dir: &SpillDir) -> Gathered {
        Gathered {
            counting: HashMap::default(),
            candidates: Runs::new(dir),
            strong: Runs::new(dir),
            numbers: Runs::new(dir),
        }
    }

    /// Writes the counted candidates of column `id` as a run.
    fn spill(&mut self, dir: &SpillDir, id: u32) -> Result<()> {
        let run = self
            .counting
            .drain()
            .map(|(key, c)| Candidate { key, rows: c.rows, column: id, class: c.class, common_word: c.common_word })
            .collect();
        self.candidates.add_run(dir, run)
    }
}

/// What one personal column of the current table gathers; columns run in parallel.
struct ColumnState {
    /// Index in the table's schema, and id in [`Collected::columns`].
    index: usize,
    id: u32,
    parts: Parts,
    /// Whether whole values are searched for (text and integers).
    searched: bool,
    rows: u64,
    gathered: Gathered,
    /// Own-row fingerprints, for columns whose rule replaces the whole value.
    fps: Option<RowWriter>,
    norm: String,
    text: String,
    buf: Vec<u8>,
}

/// Calls `digest` with every raw part of `text` whose unkeyed digests are looked for (the
/// whole cell, and the personal parts inside it), and `personal` with every personal part
/// that is searched for as a value (with whether its tokens are too).
fn each_part(
    parts: &Parts,
    searched: bool,
    text: &str,
    detectors: &Detectors,
    digest: &mut dyn FnMut(&str),
    personal: &mut dyn FnMut(&str, bool),
) {
    digest(text);
    let free_text = |t: &str, digest: &mut dyn FnMut(&str), personal: &mut dyn FnMut(&str, bool)| {
        for (start, end) in detectors.spans(t) {
            digest(&t[start..end]);
            personal(&t[start..end], false);
        }
    };
    match parts {
        Parts::Whole if searched => personal(text, true),
        Parts::Whole => {}
        Parts::FreeText => free_text(text, digest, personal),
        Parts::Json(paths) => {
            let Ok(doc) = serde_json::from_str::<Value>(text) else { return };
            let mut leaves = Vec::new();
            for (steps, free) in paths {
                json_leaves(&doc, steps, &mut |leaf| match leaf {
                    Value::String(s) => leaves.push((s.clone(), *free)),
                    Value::Null => {}
                    other => leaves.push((other.to_string(), *free)),
                });
            }
            for (leaf, free) in leaves {
                if free {
                    free_text(&leaf, digest, personal);
                } else {
                    digest(&leaf);
                    personal(&leaf, true);
                }
            }
        }
    }
}

impl ColumnState {
    fn absorb(&mut self, array: &dyn Array, detectors: &Detectors, dir: &SpillDir) -> Result<()> {
        let n = array.len();
        self.rows += n as u64;
        if let Some(fps) = &mut self.fps {
            for row in 0..n {
                fps.push(cell_fingerprint(array, row, &mut self.buf))?;
            }
        }
        if !self.searched && matches!(self.parts, Parts::Whole) {
            return Ok(());
        }
        let cells = CellText::new(array);
        let mut text = std::mem::take(&mut self.text);
        let mut failed = None;
        for row in 0..n {
            if !cells.get(row, &mut text) {
                continue;
            }
            let (parts, searched) = (&self.parts, self.searched);
            let mut personal = |raw: &str, with_tokens: bool| {
                if failed.is_none()
                    && let Err(e) = self_personal(&mut self.gathered, dir, &mut self.norm, self.id, raw, with_tokens)
                {
                    failed = Some(e);
                }
            };
            each_part(parts, searched, &text, detectors, &mut |_| {}, &mut personal);
            if let Some(e) = failed {
                return Err(e);
            }
        }
        self.text = text;
        Ok(())
    }
}

/// Counts a personal part (raw text) as a candidate value, with its tokens.
fn self_personal(
    gathered: &mut Gathered,
    dir: &SpillDir,
    norm: &mut String,
    id: u32,
    raw: &str,
    with_tokens: bool,
) -> Result<()> {
    normalise_into(raw, norm);
    candidate(gathered, dir, id, norm)?;
    if with_tokens && norm.contains(' ') {
        for t in tokens(norm) {
            candidate(gathered, dir, id, t)?;
        }
    }
    Ok(())
}

fn candidate(gathered: &mut Gathered, dir: &SpillDir, id: u32, norm: &str) -> Result<()> {
    if !is_distinctive(norm) {
        return Ok(());
    }
    if is_strong(norm) {
        let mut numbers = Vec::new();
        number_fps(norm, |fp| numbers.push(Pair(fp, id)));
        for n in numbers {
            gathered.numbers.push(dir, n)?;
        }
        return gathered.strong.push(dir, Searched { key: ValueKey::of(norm), column: id, class: ValueClass::Strong });
    }
    match gathered.counting.entry(ValueKey::of(norm)) {
        Entry::Occupied(mut e) => {
            let c = e.get_mut();
            c.rows = c.rows.saturating_add(1);
        }
        Entry::Vacant(e) => {
            e.insert(Counted { rows: 1, class: ValueClass::of(norm), common_word: is_common_word(norm) });
        }
    }
    if gathered.counting.len() >= dir.run_records() { gathered.spill(dir, id) } else { Ok(()) }
}

/// Slots of [`Recent`].
const RECENT: usize = 1024;

/// The keys seen lately (a direct-mapped cache): a kept column repeats its values (a city in
/// every row), and each is written to a run once per stay in the cache, not once per row.
struct Recent(Vec<ValueKey>);

impl Recent {
    fn new() -> Recent {
        Recent(vec![ValueKey { prefix: [0; 8], prefix_len: 0, fp: 0, len: 0 }; RECENT])
    }

    fn first_time(&mut self, key: ValueKey) -> bool {
        let slot = &mut self.0[(key.fp as usize) % RECENT];
        std::mem::replace(slot, key) != key
    }
}

/// What one kept text column gathers: its whole values and words (the public vocabulary),
/// and the keys of its cells long enough to hold a searched value.
struct KeptColumn {
    words: Runs<ValueKey>,
    cells: Runs<ValueKey>,
    recent_words: Recent,
    recent_cells: Recent,
}

/// Whole values and words of a kept text column, and its cells.
fn public_words(array: &dyn Array, kept: &mut KeptColumn, dir: &SpillDir) -> Result<()> {
    let cells = CellText::new(array);
    let (mut text, mut norm) = (String::new(), String::new());
    for row in 0..array.len() {
        if !cells.get(row, &mut text) {
            continue;
        }
        normalise_into(&text, &mut norm);
        if norm.len() >= MIN_CHARS {
            let key = cell_text_key(&norm);
            if kept.recent_cells.first_time(key) {
                kept.cells.push(dir, key)?;
            }
        }
        if is_distinctive(&norm) {
            let key = ValueKey::of(&norm);
            if kept.recent_words.first_time(key) {
                kept.words.push(dir, key)?;
            }
        }
        if norm.contains(' ') {
            for t in tokens(&norm) {
                if is_distinctive(t) {
                    let key = ValueKey::of(t);
                    if kept.recent_words.first_time(key) {
                        kept.words.push(dir, key)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The personal columns of `table`: (column plan index in `table.columns`, parts, searched).
fn personal_columns(table: &TablePlan) -> impl Iterator<Item = (&crate::plan::ColumnPlan, Parts, bool)> {
    table
        .columns
        .iter()
        .filter(|col| col.is_personal())
        .map(|col| (col, parts(&col.strategy), super::is_text_type(&col.data_type) || col.data_type.is_integer()))
}

/// Reads every copied table of the source once.
///
/// Memory while reading, per personal column: a hash table of at most the run size
/// ([`SpillDir::run_records`]) counting its candidate values, and run buffers of the same size
/// for its strong values and numbers; per kept text column, run buffers for its words and cells.
/// Everything else goes to `dir`: own-row fingerprints (8 bytes per row per column compared row
/// by row), the key index (12 bytes per row, twice, and 8 in row order), the runs. At the end,
/// the runs are merged into the [`Matcher`]'s files. No value's text is kept beyond its cell.
pub fn collect(
    tables: &[TablePlan],
    source: &dyn Source,
    options: &VerifyOptions,
    dir: &SpillDir,
) -> Result<Collected> {
    let detectors = Detectors::new(Detector::ALL).map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    let mut columns: Vec<String> = Vec::new();
    let mut column_rows: Vec<u64> = Vec::new();
    let mut all = Gathered::new(dir);
    let mut public: Runs<ValueKey> = Runs::new(dir);
    let mut rows_by_table = HashMap::new();
    let mut kept_cells = HashMap::new();
    let mut buf = Vec::new();
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let source_table = source.tables().iter().find(|t| t.name == table.name);
        let mut states: Vec<ColumnState> = personal_columns(table)
            .map(|(col, parts, searched)| {
                columns.push(format!("{}.{}", table.name, col.name));
                column_rows.push(0);
                Ok(ColumnState {
                    index: col.index,
                    id: (columns.len() - 1) as u32,
                    searched,
                    fps: if matches!(parts, Parts::Whole) { Some(RowWriter::new(dir)?) } else { None },
                    parts,
                    rows: 0,
                    gathered: Gathered::new(dir),
                    norm: String::new(),
                    text: String::new(),
                    buf: Vec::new(),
                })
            })
            .collect::<Result<_>>()?;
        // A kept generated column is computed from other columns, perhaps personal ones: its
        // values are not public vocabulary (they would hide the personal values they derive from).
        let mut kept_text: Vec<(usize, KeptColumn)> = table
            .columns
            .iter()
            .filter(|col| !col.is_personal() && super::is_text_type(&col.data_type))
            .filter(|col| generated_reads(table.schema.field(col.index)).is_none())
            .map(|col| {
                let kept = KeptColumn {
                    words: Runs::new(dir),
                    cells: Runs::new(dir),
                    recent_words: Recent::new(),
                    recent_cells: Recent::new(),
                };
                (col.index, kept)
            })
            .collect();
        // Rows are matched by primary key when every key column is kept.
        let key_columns: Option<Vec<usize>> = source_table.and_then(|t| t.primary_key.as_ref()).and_then(|pk| {
            pk.iter()
                .map(|name| {
                    table.columns.iter().find(|col| &col.name == name && !col.is_personal()).map(|col| col.index)
                })
                .collect()
        });
        let mut key = match &key_columns {
            Some(k) => {
                let names: Vec<String> = k.iter().map(|&i| table.columns[i].name.clone()).collect();
                Some((names, Runs::<Pair>::new(dir), RowWriter::new(dir)?))
            }
            None => None,
        };
        let mut rows: u64 = 0;
        let progress = crate::progress::track(format!("{} (source)", table.name), source.expected_rows(&table.name));
        for batch in progress.count(source.read(&table.name, options.batch_rows)?) {
            options.stop_if_cancelled()?;
            let batch: RecordBatch = batch?;
            let n = batch.num_rows();
            if let (Some(key_cols), Some((_, index, in_order))) = (&key_columns, &mut key) {
                for row in 0..n {
                    let fp = key_fingerprint(&batch, key_cols, row, &mut buf);
                    index.push(dir, Pair(fp, (rows + row as u64) as u32))?;
                    in_order.push(fp)?;
                }
            }
            let (personal, kept) = rayon::join(
                || states.par_iter_mut().try_for_each(|s| s.absorb(batch.column(s.index).as_ref(), &detectors, dir)),
                || {
                    kept_text
                        .par_iter_mut()
                        .try_for_each(|(i, kept)| public_words(batch.column(*i).as_ref(), kept, dir))
                },
            );
            personal?;
            kept?;
            rows += n as u64;
        }
        let key = match key {
            Some((names, index, in_order)) => {
                let sorted = SortedFile::write(dir, index.into_sorted(dir)?, |_| {})?;
                let unique = sorted.len() as u64 == rows;
                Some((names, KeyIndex { sorted, in_order: in_order.finish()?, unique }))
            }
            None => None,
        };
        let mut fingerprints = Vec::new();
        for mut s in states {
            column_rows[s.id as usize] = s.rows;
            if let Some(fps) = s.fps {
                fingerprints.push((table.columns[s.index].name.clone(), fps.finish()?));
            }
            s.gathered.spill(dir, s.id)?;
            all.candidates.append(dir, s.gathered.candidates)?;
            all.strong.append(dir, s.gathered.strong)?;
            all.numbers.append(dir, s.gathered.numbers)?;
        }
        let mut cells_by_column = HashMap::new();
        for (index, kept) in kept_text {
            public.append(dir, kept.words)?;
            let cells = SortedFile::write(dir, kept.cells.into_sorted(dir)?, |_| {})?;
            cells_by_column.insert(table.columns[index].name.clone(), cells);
        }
        tracing::debug!("verify: {}: {rows} rows read", table.name);
        kept_cells.insert(table.name.clone(), cells_by_column);
        rows_by_table.insert(table.name.clone(), TableRows { rows, key, columns: fingerprints });
    }
    let started = std::time::Instant::now();
    // The candidates that are not common, not public and not a single dictionary word join
    // the strong values (their keys differ: a value is strong or not by its text).
    let mut public = public.into_sorted(dir)?.peekable();
    let Gathered { candidates, mut strong, numbers, .. } = all;
    for c in candidates.into_sorted(dir)? {
        let c = c?;
        let is_public = loop {
            match public.peek() {
                Some(Ok(p)) if *p < c.key => {
                    public.next();
                }
                Some(Ok(p)) => break *p == c.key,
                Some(Err(_)) => return Err(public.next().and_then(|r| r.err()).expect("an error")),
                None => break false,
            }
        };
        let rows = column_rows[c.column as usize] as f64;
        let common = c.rows > 3 && f64::from(c.rows) > rows * 0.01;
        if !common && !is_public && !c.common_word {
            strong.push(dir, Searched { key: c.key, column: c.column, class: c.class })?;
        }
    }
    drop(public);
    let matcher = Matcher::build(dir, strong.into_sorted(dir)?, numbers.into_sorted(dir)?)?;
    tracing::debug!(
        "verify: {} values chosen and the search built in {:.2}s",
        matcher.value_count(),
        started.elapsed().as_secs_f64()
    );
    Ok(Collected { columns, tables: rows_by_table, kept_cells, matcher })
}

/// Reads the personal columns of every copied table again for the digest check (see
/// [`DigestSearch`]): only when the output has hex runs of a digest's length.
///
/// Memory: the output's hex runs (8 bytes each) and the digests found among them; a value
/// seen again in a column within its last 4096 distinct ones is not hashed twice (the cache
/// compares the text itself).
pub fn digests(
    tables: &[TablePlan],
    source: &dyn Source,
    options: &VerifyOptions,
    search: &mut DigestSearch,
) -> Result<()> {
    const CACHE: usize = 4096;
    let detectors = Detectors::new(Detector::ALL).map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let mut states: Vec<(usize, Parts, bool, DigestSearch, Vec<String>)> = personal_columns(table)
            .map(|(col, parts, searched)| (col.index, parts, searched, search.fork(), vec![String::new(); CACHE]))
            .collect();
        let progress =
            crate::progress::track(format!("{} (source digests)", table.name), source.expected_rows(&table.name));
        for batch in progress.count(source.read(&table.name, options.batch_rows)?) {
            options.stop_if_cancelled()?;
            let batch: RecordBatch = batch?;
            states.par_iter_mut().for_each(|(index, parts, searched, found, cache)| {
                let array = batch.column(*index).as_ref();
                let cells = CellText::new(array);
                let mut text = String::new();
                let mut digest = |raw: &str| {
                    let slot = &mut cache[(fingerprint(raw.as_bytes()) as usize) % CACHE];
                    if slot != raw {
                        found.add(raw);
                        slot.clear();
                        slot.push_str(raw);
                    }
                };
                for row in 0..array.len() {
                    if cells.get(row, &mut text) {
                        each_part(parts, *searched, &text, &detectors, &mut digest, &mut |_, _| {});
                    }
                }
            });
        }
        for (_, _, _, found, _) in states {
            search.merge(found);
        }
    }
    Ok(())
}

/// The fingerprint of a row's key columns.
pub fn key_fingerprint(batch: &RecordBatch, key_columns: &[usize], row: usize, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for &i in key_columns {
        let array = batch.column(i).as_ref();
        if array.is_null(row) {
            buf.push(0);
        } else {
            buf.push(1);
            value_key(array, row, buf);
        }
    }
    fingerprint(buf)
}

/// Calls `f` with every value at `steps` in `doc` (`[*]` steps into every element).
fn json_leaves(doc: &Value, steps: &[JsonStep], f: &mut dyn FnMut(&Value)) {
    let Some((step, rest)) = steps.split_first() else { return f(doc) };
    match (step, doc) {
        (JsonStep::Key(k), Value::Object(map)) => {
            if let Some(child) = map.get(k) {
                json_leaves(child, rest, f);
            }
        }
        (JsonStep::EveryElement, Value::Array(items)) => items.iter().for_each(|item| json_leaves(item, rest, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;
    use crate::plan::{ColumnPlan, Origin};
    use crate::rules::TableAction;
    use crate::schema::SourceTable;
    use crate::schema::{PG_GENERATED, PG_GENERATED_READS};
    use crate::source::BatchStream;

    struct OneTable(Vec<SourceTable>, RecordBatch);

    impl Source for OneTable {
        fn tables(&self) -> &[SourceTable] {
            &self.0
        }
        fn read(&self, _table: &str, _batch_rows: usize) -> Result<BatchStream> {
            Ok(Box::new(std::iter::once(Ok(self.1.clone()))))
        }
    }

    fn column(name: &str, index: usize, strategy: Strategy) -> ColumnPlan {
        ColumnPlan {
            name: name.into(),
            index,
            data_type: DataType::Utf8,
            nullable: true,
            strategy,
            domain: format!("public.t.{name}"),
            unique: false,
            fold_case: false,
            checks: Vec::new(),
            length_limit: None,
            origin: Origin { file: "rules.toml".into(), line: 1 },
        }
    }

    #[test]
    fn a_kept_generated_column_does_not_hide_the_personal_values_it_repeats() {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["Zebulon-Quartermaine-4417", "Ottoline-Vexworth-9021"]));
        for generated in [false, true] {
            let mut shout = Field::new("shout", DataType::Utf8, true);
            if generated {
                let metadata = [(PG_GENERATED, "stored"), (PG_GENERATED_READS, "[\"name\"]")];
                shout = shout.with_metadata(
                    metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>(),
                );
            }
            let schema = Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, true), shout]));
            let batch = RecordBatch::try_new(schema.clone(), vec![values.clone(), values.clone()]).unwrap();
            let plan = TablePlan {
                name: "public.t".into(),
                schema: schema.clone(),
                action: TableAction::Copy,
                columns: vec![column("name", 0, Strategy::Null), column("shout", 1, Strategy::Keep)],
                eval_order: vec![0, 1],
                quasi_identifiers: Vec::new(),
                origin: Origin { file: "rules.toml".into(), line: 1 },
            };
            let source = OneTable(vec![SourceTable::new("public.t".to_string(), schema)], batch);
            let dir = SpillDir::with_run_records(crate::verify::spill::Part::Verify, 1).unwrap();
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let options =
                VerifyOptions { cancel: &cancel, max_same_rate: 0.0, batch_rows: 100, pair_by_position: true };
            let collected = collect(&[plan], &source, &options, &dir).unwrap();
            let mut norm = String::new();
            normalise_into("Zebulon-Quartermaine-4417", &mut norm);
            // A kept ordinary column publishes the value; a kept generated one does not.
            assert_eq!(collected.matcher.is_value(&norm).unwrap(), generated, "generated: {generated}");
        }
    }
}
