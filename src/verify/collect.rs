//! The source side of `verify`: one pass over every copied table, gathering what the output
//! is then checked against, as fingerprints and keys, never as text.
//!
//! - per personal column whose rule replaces the whole value, a 64-bit fingerprint of every
//!   row's value (for the own-row comparison), with the row's primary key fingerprint when
//!   the key is kept (sorted arrays: 12 bytes per row);
//! - the distinctive personal values (see [`super::text`]), counted, as [`ValueKey`]s of their
//!   normal form: whole values of text and integer columns, their tokens of 8+ characters, and
//!   in free text (`redact`) and JSON (`json`) columns only the parts that are personal (what
//!   the redact detectors find; the values at the rule's JSON paths), since the rest of such a
//!   text is kept by design. Strong values (emails, long numbers) are always searched, so they
//!   are listed, not counted (`StrongValues`);
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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use rayon::prelude::*;
use rayon::slice::ParallelSliceMut;
use serde_json::Value;

use crate::detect::{Detector, Detectors};
use crate::error::Result;
use crate::plan::{JsonStep, Strategy, TablePlan};
use crate::schema::generated_reads;
use crate::source::Source;
use crate::strategy::values::value_key;

use super::matcher::{DigestSearch, Matcher, ValueKey, number_fps};
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

/// The own-row fingerprints of one table.
pub struct TableRows {
    pub rows: u64,
    /// The kept primary key's columns and their rows, when rows are matched by key.
    pub key: Option<(Vec<String>, KeyIndex)>,
    /// (column name, one fingerprint per row).
    pub columns: Vec<(String, Vec<u64>)>,
}

/// Key fingerprint → source row: two parallel arrays sorted by fingerprint (12 bytes per row,
/// searched by bisection). Two rows whose keys collide on 64 bits (odds 2^-64 per pair) are
/// both kept; the output row is paired with the first, and a wrong pairing can only make the
/// values differ (a missed own-row comparison for that row needs the same 64-bit collision).
#[derive(Default)]
pub struct KeyIndex {
    keys: Vec<u64>,
    rows: Vec<u32>,
}

impl KeyIndex {
    fn push(&mut self, key: u64, row: u32) {
        self.keys.push(key);
        self.rows.push(row);
    }

    fn finish(&mut self) {
        let (keys, rows) = (std::mem::take(&mut self.keys), std::mem::take(&mut self.rows));
        let mut pairs: Vec<(u64, u32)> = keys.into_iter().zip(rows).collect();
        pairs.par_sort_unstable();
        self.keys = pairs.iter().map(|p| p.0).collect();
        self.rows = pairs.into_iter().map(|p| p.1).collect();
    }

    /// The source row of a key fingerprint.
    pub fn get(&self, key: u64) -> Option<u32> {
        let at = self.keys.partition_point(|&k| k < key);
        (self.keys.get(at) == Some(&key)).then(|| self.rows[at])
    }

    fn bytes(&self) -> usize {
        self.keys.capacity() * 8 + self.rows.capacity() * 4
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
    pub kept_cells: HashMap<String, HashMap<String, Vec<ValueKey>>>,
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

/// A candidate value of one column: in how many of its cells it appears, and its class.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    rows: u32,
    /// The source column it was first seen in.
    column: u32,
    class: ValueClass,
    /// A single word of the `fake` crate's lists (see [`super::text`]).
    common_word: bool,
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
    /// Distinct candidate values that are not strong, by key: about 40 bytes each in a hash
    /// table (no text is held).
    candidates: HashMap<ValueKey, Candidate, Fast>,
    /// The strong candidates (always searched, whatever their count): 32 bytes each.
    strong: StrongValues,
    /// Own-row fingerprints, for columns whose rule replaces the whole value.
    fps: Option<Vec<u64>>,
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
    fn absorb(&mut self, array: &dyn Array, detectors: &Detectors) {
        let n = array.len();
        self.rows += n as u64;
        if let Some(fps) = &mut self.fps {
            fps.extend((0..n).map(|row| cell_fingerprint(array, row, &mut self.buf)));
        }
        if !self.searched && matches!(self.parts, Parts::Whole) {
            return;
        }
        let cells = CellText::new(array);
        let mut text = std::mem::take(&mut self.text);
        for row in 0..n {
            if !cells.get(row, &mut text) {
                continue;
            }
            let (parts, searched) = (&self.parts, self.searched);
            let mut personal = |raw: &str, with_tokens: bool| {
                self_personal(&mut self.candidates, &mut self.strong, &mut self.norm, self.id, raw, with_tokens)
            };
            each_part(parts, searched, &text, detectors, &mut |_| {}, &mut personal);
        }
        self.text = text;
    }
}

/// Counts a personal part (raw text) as a candidate value, with its tokens.
fn self_personal(
    candidates: &mut HashMap<ValueKey, Candidate, Fast>,
    strong: &mut StrongValues,
    norm: &mut String,
    id: u32,
    raw: &str,
    with_tokens: bool,
) {
    normalise_into(raw, norm);
    candidate(candidates, strong, id, norm);
    if with_tokens && norm.contains(' ') {
        for t in tokens(norm) {
            candidate(candidates, strong, id, t);
        }
    }
}

fn candidate(candidates: &mut HashMap<ValueKey, Candidate, Fast>, strong: &mut StrongValues, id: u32, norm: &str) {
    if !is_distinctive(norm) {
        return;
    }
    if is_strong(norm) {
        return strong.push(norm, id);
    }
    match candidates.entry(ValueKey::of(norm)) {
        Entry::Occupied(mut e) => {
            let c = e.get_mut();
            c.rows = c.rows.saturating_add(1);
        }
        Entry::Vacant(e) => {
            e.insert(Candidate { rows: 1, column: id, class: ValueClass::of(norm), common_word: is_common_word(norm) });
        }
    }
}

/// Strong values (emails, long numbers: [`is_strong`]) are searched for whatever their count
/// and wherever the rules publish them, so they need no counting: they go into a list of
/// (key, first column) that is sorted and deduplicated whenever it doubles (so it holds at most
/// twice the distinct values), and their number fingerprints into another.
#[derive(Default)]
struct StrongValues {
    values: Vec<(ValueKey, u32)>,
    numbers: Vec<(u64, u32)>,
    /// `values.len()` after the last compaction.
    compacted: usize,
}

impl StrongValues {
    fn push(&mut self, norm: &str, id: u32) {
        self.values.push((ValueKey::of(norm), id));
        number_fps(norm, |fp| self.numbers.push((fp, id)));
        if self.values.len() >= 1 << 16 && self.values.len() >= 2 * self.compacted {
            self.compact();
        }
    }

    /// Sorts and deduplicates, keeping each value's first column (the lowest id).
    fn compact(&mut self) {
        self.values.sort_unstable();
        self.values.dedup_by_key(|v| v.0);
        self.numbers.sort_unstable();
        self.numbers.dedup_by_key(|n| n.0);
        self.compacted = self.values.len();
    }

    fn append(&mut self, mut other: StrongValues) {
        self.values.append(&mut other.values);
        self.numbers.append(&mut other.numbers);
        if self.values.len() >= 2 * self.compacted {
            self.compact();
        }
    }

    fn bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<(ValueKey, u32)>() + self.numbers.capacity() * 16
    }
}

/// What one kept text column gathers: its whole values and words (the public vocabulary),
/// and the keys of its cells long enough to hold a searched value.
#[derive(Default)]
struct KeptColumn {
    words: HashSet<ValueKey, Fast>,
    cells: Vec<ValueKey>,
    /// `cells.len()` after the last sort and deduplication.
    compacted: usize,
}

/// Whole values and words of a kept text column, and its cells.
fn public_words(array: &dyn Array, kept: &mut KeptColumn) {
    let set = &mut kept.words;
    let cells = CellText::new(array);
    let (mut text, mut norm) = (String::new(), String::new());
    for row in 0..array.len() {
        if !cells.get(row, &mut text) {
            continue;
        }
        normalise_into(&text, &mut norm);
        if norm.len() >= MIN_CHARS {
            kept.cells.push(cell_text_key(&norm));
        }
        if is_distinctive(&norm) {
            set.insert(ValueKey::of(&norm));
        }
        if norm.contains(' ') {
            for t in tokens(&norm) {
                if is_distinctive(t) {
                    set.insert(ValueKey::of(t));
                }
            }
        }
    }
    // Cells repeat (a city in every row): keep the list deduplicated as it grows.
    if kept.cells.len() >= 1 << 16 && kept.cells.len() >= 2 * kept.compacted {
        kept.cells.sort_unstable();
        kept.cells.dedup();
        kept.compacted = kept.cells.len();
    }
}

/// Rows and column of a value's first sighting, across tables.
#[derive(Debug, Clone, Copy)]
struct Seen {
    rows: u32,
    column: u32,
    class: ValueClass,
    common_word: bool,
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
/// Memory while reading: per distinct candidate value about 40 bytes (its [`ValueKey`], its
/// count, column and class in a hash table), per number among them 16 bytes, per row 8 bytes
/// per personal column with an own-row comparison and 12 bytes for a kept primary key, per
/// distinct kept cell 24 bytes. When all tables are read the candidates shrink to the
/// [`Matcher`]'s 12 bytes per searched value. No value's text is kept beyond its cell.
pub fn collect(tables: &[TablePlan], source: &dyn Source, batch_rows: usize) -> Result<Collected> {
    let detectors = Detectors::new(Detector::ALL).map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    let mut columns: Vec<String> = Vec::new();
    let mut column_rows: Vec<u64> = Vec::new();
    let mut candidates: HashMap<ValueKey, Seen, Fast> = HashMap::default();
    let mut strong = StrongValues::default();
    let mut public: HashSet<ValueKey, Fast> = HashSet::default();
    let mut rows_by_table = HashMap::new();
    let mut kept_cells = HashMap::new();
    let mut buf = Vec::new();
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let source_table = source.tables().iter().find(|t| t.name == table.name);
        let mut states: Vec<ColumnState> = personal_columns(table)
            .map(|(col, parts, searched)| {
                columns.push(format!("{}.{}", table.name, col.name));
                column_rows.push(0);
                ColumnState {
                    index: col.index,
                    id: (columns.len() - 1) as u32,
                    searched,
                    fps: matches!(parts, Parts::Whole).then(Vec::new),
                    parts,
                    rows: 0,
                    candidates: HashMap::default(),
                    strong: StrongValues::default(),
                    norm: String::new(),
                    text: String::new(),
                    buf: Vec::new(),
                }
            })
            .collect();
        // A kept generated column is computed from other columns, perhaps personal ones: its
        // values are not public vocabulary (they would hide the personal values they derive from).
        let mut kept_text: Vec<(usize, KeptColumn)> = table
            .columns
            .iter()
            .filter(|col| !col.is_personal() && super::is_text_type(&col.data_type))
            .filter(|col| generated_reads(table.schema.field(col.index)).is_none())
            .map(|col| (col.index, KeptColumn::default()))
            .collect();
        // Rows are matched by primary key when every key column is kept.
        let key_columns: Option<Vec<usize>> = source_table.and_then(|t| t.primary_key.as_ref()).and_then(|pk| {
            pk.iter()
                .map(|name| {
                    table.columns.iter().find(|col| &col.name == name && !col.is_personal()).map(|col| col.index)
                })
                .collect()
        });
        let mut key = key_columns
            .as_ref()
            .map(|k| (k.iter().map(|&i| table.columns[i].name.clone()).collect::<Vec<_>>(), KeyIndex::default()));
        let mut rows: u64 = 0;
        let progress = crate::progress::track(format!("{} (source)", table.name), source.expected_rows(&table.name));
        for batch in progress.count(source.read(&table.name, batch_rows)?) {
            let batch: RecordBatch = batch?;
            let n = batch.num_rows();
            if let (Some(key_cols), Some((_, index))) = (&key_columns, &mut key) {
                for row in 0..n {
                    index.push(key_fingerprint(&batch, key_cols, row, &mut buf), (rows + row as u64) as u32);
                }
            }
            rayon::join(
                || states.par_iter_mut().for_each(|s| s.absorb(batch.column(s.index).as_ref(), &detectors)),
                || kept_text.par_iter_mut().for_each(|(i, kept)| public_words(batch.column(*i).as_ref(), kept)),
            );
            rows += n as u64;
        }
        if let Some((_, index)) = &mut key {
            index.finish();
        }
        let mut fingerprints = Vec::new();
        let mut table_bytes = key.as_ref().map_or(0, |(_, k)| k.bytes());
        for s in states {
            column_rows[s.id as usize] = s.rows;
            if let Some(mut fps) = s.fps {
                fps.shrink_to_fit();
                table_bytes += fps.capacity() * 8;
                fingerprints.push((table.columns[s.index].name.clone(), fps));
            }
            strong.append(s.strong);
            candidates.reserve(s.candidates.len().saturating_sub(candidates.capacity() - candidates.len()));
            for (v, c) in s.candidates {
                match candidates.entry(v) {
                    Entry::Occupied(mut e) => {
                        let seen = e.get_mut();
                        seen.rows = seen.rows.saturating_add(c.rows);
                    }
                    Entry::Vacant(e) => {
                        e.insert(Seen { rows: c.rows, column: c.column, class: c.class, common_word: c.common_word });
                    }
                }
            }
        }
        let mut cells_by_column = HashMap::new();
        for (index, kept) in kept_text {
            public.extend(kept.words);
            let mut cells = kept.cells;
            cells.sort_unstable();
            cells.dedup();
            cells.shrink_to_fit();
            table_bytes += cells.capacity() * std::mem::size_of::<ValueKey>();
            cells_by_column.insert(table.columns[index].name.clone(), cells);
        }
        tracing::debug!(
            "verify: {}: {rows} rows; own-row fingerprints, key and kept cells take about {} MiB; {} candidate \
             values so far (about {} MiB), {} strong ones and {} numbers (about {} MiB)",
            table.name,
            table_bytes >> 20,
            candidates.len(),
            (candidates.capacity() * (std::mem::size_of::<(ValueKey, Seen)>() + 1)) >> 20,
            strong.values.len(),
            strong.numbers.len(),
            strong.bytes() >> 20
        );
        kept_cells.insert(table.name.clone(), cells_by_column);
        rows_by_table.insert(table.name.clone(), TableRows { rows, key, columns: fingerprints });
    }
    let started = std::time::Instant::now();
    strong.compact();
    strong.values.shrink_to_fit();
    strong.numbers.shrink_to_fit();
    let StrongValues { values: strong_values, numbers, .. } = strong;
    // Same size as the strong list's entries: collected in place, without a second copy.
    let mut values: Vec<(ValueKey, u32, ValueClass)> =
        strong_values.into_iter().map(|(v, column)| (v, column, ValueClass::Strong)).collect();
    values.reserve(candidates.len());
    values.extend(
        candidates
            .into_iter()
            .filter(|(v, seen)| {
                let rows = column_rows[seen.column as usize] as f64;
                let common = seen.rows > 3 && f64::from(seen.rows) > rows * 0.01;
                !common && !public.contains(v) && !seen.common_word
            })
            .map(|(v, seen)| (v, seen.column, seen.class)),
    );
    drop(public);
    tracing::debug!("verify: {} values chosen in {:.2}s", values.len(), started.elapsed().as_secs_f64());
    let matcher = Matcher::build(values, numbers)?;
    tracing::debug!("verify: search built in {:.2}s", started.elapsed().as_secs_f64());
    Ok(Collected { columns, tables: rows_by_table, kept_cells, matcher })
}

/// Reads the personal columns of every copied table again for the digest check (see
/// [`DigestSearch`]): only when the output has hex runs of a digest's length.
///
/// Memory: the output's hex runs (8 bytes each) and the digests found among them; a value
/// seen again in a column within its last 4096 distinct ones is not hashed twice (the cache
/// compares the text itself).
pub fn digests(tables: &[TablePlan], source: &dyn Source, batch_rows: usize, search: &mut DigestSearch) -> Result<()> {
    const CACHE: usize = 4096;
    let detectors = Detectors::new(Detector::ALL).map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let mut states: Vec<(usize, Parts, bool, DigestSearch, Vec<String>)> = personal_columns(table)
            .map(|(col, parts, searched)| (col.index, parts, searched, search.fork(), vec![String::new(); CACHE]))
            .collect();
        let progress =
            crate::progress::track(format!("{} (source digests)", table.name), source.expected_rows(&table.name));
        for batch in progress.count(source.read(&table.name, batch_rows)?) {
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
                origin: Origin { file: "rules.toml".into(), line: 1 },
            };
            let source = OneTable(vec![SourceTable::new("public.t".to_string(), schema)], batch);
            let collected = collect(&[plan], &source, 100).unwrap();
            let mut norm = String::new();
            normalise_into("Zebulon-Quartermaine-4417", &mut norm);
            // A kept ordinary column publishes the value; a kept generated one does not.
            assert_eq!(collected.matcher.is_value(&norm), generated, "generated: {generated}");
        }
    }
}
