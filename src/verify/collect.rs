//! The source side of `verify`: one pass over every copied table, gathering what the output
//! is then checked against.
//!
//! - per personal column whose rule replaces the whole value, a 64-bit fingerprint of every
//!   row's value (for the own-row comparison), with the row's primary key fingerprint when
//!   the key is kept;
//! - the distinctive personal values (see [`super::text`]), counted, in normal form: whole
//!   values of text and integer columns, their tokens of 8+ characters, and in free text (`redact`) and JSON (`json`)
//!   columns only the parts that are personal (what the redact detectors find; the values
//!   at the rule's JSON paths), since the rest of such a text is kept by design;
//! - the unkeyed digests of every distinct personal value, as it is and lowercased/trimmed;
//! - single words from the `fake` crate's lists are not searched for (see [`super::text`]);
//! - the "public vocabulary": whole values and tokens of the columns the rules keep. A
//!   value that the rules publish anyway (a city in a kept `ship_city`) is not searched for,
//!   unless it is strong (an email or a long number). Kept generated columns (`pg.generated`)
//!   are left out of it: they are computed from other columns, perhaps personal ones, and
//!   would otherwise hide the personal values they repeat from the search;
//! - per kept text column, the fingerprints of its cells (normal form), so pass 2 can tell a
//!   cell the rules kept as it was from one a value was put into.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

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

use super::matcher::{Algorithm, Matcher};
use super::text::{MIN_CHARS, is_common_word, is_distinctive, is_strong, normalise_into, tokens};

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
    /// The kept primary key's columns and key fingerprint → row, when rows are matched by key.
    pub key: Option<(Vec<String>, HashMap<u64, u32>)>,
    /// (column name, one fingerprint per row).
    pub columns: Vec<(String, Vec<u64>)>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    rows: u32,
    column: u32,
}

/// Everything pass 1 gathers.
pub struct Collected {
    /// `schema.table.column` of every personal column, indexed by `Hit::Value`.
    pub columns: Vec<String>,
    pub tables: HashMap<String, TableRows>,
    /// Per table and kept text column: the sorted fingerprints ([`cell_text_fingerprint`])
    /// of its cells of [`MIN_CHARS`] bytes or more. A value found in such a cell of the output
    /// that the source's column holds too is published by the rules, not leaked.
    pub kept_cells: HashMap<String, HashMap<String, Vec<u64>>>,
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

fn str_fp(s: &str) -> u64 {
    fingerprint(s.as_bytes())
}

/// The fingerprint of a cell's text in normal form, as [`Collected::kept_cells`] holds it.
pub fn cell_text_fingerprint(normalised: &str) -> u64 {
    str_fp(normalised)
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
    candidates: HashMap<Box<str>, u32, Fast>,
    hashed: HashSet<u64, Fast>,
    pending: Vec<String>,
    digests: [Vec<u64>; 4],
    /// Own-row fingerprints, for columns whose rule replaces the whole value.
    fps: Option<Vec<u64>>,
    norm: String,
    text: String,
    buf: Vec<u8>,
}

impl ColumnState {
    fn absorb(&mut self, array: &dyn Array, detectors: &Detectors) {
        let n = array.len();
        self.rows += n as u64;
        if let Some(fps) = &mut self.fps {
            fps.extend((0..n).map(|row| cell_fingerprint(array, row, &mut self.buf)));
        }
        let cells = CellText::new(array);
        let mut text = std::mem::take(&mut self.text);
        for row in 0..n {
            if !cells.get(row, &mut text) {
                continue;
            }
            self.queue_digests(&text);
            match &self.parts {
                Parts::Whole if self.searched => self.personal(&text, true),
                Parts::Whole => {}
                Parts::FreeText => self.free_text(&text, detectors),
                Parts::Json(paths) => {
                    let Ok(doc) = serde_json::from_str::<Value>(&text) else { continue };
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
                            self.free_text(&leaf, detectors);
                        } else {
                            self.queue_digests(&leaf);
                            self.personal(&leaf, true);
                        }
                    }
                }
            }
        }
        self.text = text;
        self.digest();
    }

    /// The personal parts of a free text: what the detectors find, each also hashed.
    fn free_text(&mut self, text: &str, detectors: &Detectors) {
        for (start, end) in detectors.spans(text) {
            self.queue_digests(&text[start..end]);
            self.personal(&text[start..end], false);
        }
    }

    /// Counts a personal part (raw text) as a candidate value, with its tokens.
    fn personal(&mut self, raw: &str, with_tokens: bool) {
        let mut norm = std::mem::take(&mut self.norm);
        normalise_into(raw, &mut norm);
        self.candidate(&norm);
        if with_tokens && norm.contains(' ') {
            for t in tokens(&norm) {
                self.candidate(t);
            }
        }
        self.norm = norm;
    }

    fn candidate(&mut self, norm: &str) {
        if !is_distinctive(norm) {
            return;
        }
        match self.candidates.get_mut(norm) {
            Some(rows) => *rows = rows.saturating_add(1),
            None => {
                self.candidates.insert(norm.into(), 1);
            }
        }
    }

    /// Queues `raw` for digests when not seen before.
    fn queue_digests(&mut self, raw: &str) {
        if self.hashed.insert(str_fp(raw)) {
            self.pending.push(raw.to_string());
        }
    }

    fn digest(&mut self) {
        for raw in self.pending.drain(..) {
            let variant = raw.trim().to_lowercase();
            for (a, d) in Algorithm::ALL.iter().zip(&mut self.digests) {
                d.push(a.prefix(raw.as_bytes()));
                if variant != raw {
                    d.push(a.prefix(variant.as_bytes()));
                }
            }
        }
    }
}

/// What one kept text column gathers: its whole values and words (the public vocabulary),
/// and the fingerprints of its cells long enough to hold a searched value.
#[derive(Default)]
struct KeptColumn {
    words: HashSet<u64, Fast>,
    cells: Vec<u64>,
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
            kept.cells.push(str_fp(&norm));
        }
        if is_distinctive(&norm) {
            set.insert(str_fp(&norm));
        }
        if norm.contains(' ') {
            for t in tokens(&norm) {
                if is_distinctive(t) {
                    set.insert(str_fp(t));
                }
            }
        }
    }
}

/// Reads every copied table of the source once.
pub fn collect(tables: &[TablePlan], source: &dyn Source, batch_rows: usize) -> Result<Collected> {
    let detectors = Detectors::new(Detector::ALL).map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    let mut columns: Vec<String> = Vec::new();
    let mut column_rows: Vec<u64> = Vec::new();
    let mut candidates: HashMap<Box<str>, Seen, Fast> = HashMap::default();
    let mut digests: [Vec<u64>; 4] = Default::default();
    let mut public: HashSet<u64, Fast> = HashSet::default();
    let mut rows_by_table = HashMap::new();
    let mut kept_cells = HashMap::new();
    let mut buf = Vec::new();
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let source_table = source.tables().iter().find(|t| t.name == table.name);
        let mut states: Vec<ColumnState> = table
            .columns
            .iter()
            .filter(|col| col.is_personal())
            .map(|col| {
                columns.push(format!("{}.{}", table.name, col.name));
                column_rows.push(0);
                let parts = parts(&col.strategy);
                ColumnState {
                    index: col.index,
                    id: (columns.len() - 1) as u32,
                    searched: super::is_text_type(&col.data_type) || col.data_type.is_integer(),
                    fps: matches!(parts, Parts::Whole).then(Vec::new),
                    parts,
                    rows: 0,
                    candidates: HashMap::default(),
                    hashed: HashSet::default(),
                    pending: Vec::new(),
                    digests: Default::default(),
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
            .map(|k| (k.iter().map(|&i| table.columns[i].name.clone()).collect::<Vec<_>>(), HashMap::new()));
        let mut rows: u64 = 0;
        for batch in source.read(&table.name, batch_rows)? {
            let batch: RecordBatch = batch?;
            let n = batch.num_rows();
            if let (Some(key_cols), Some((_, map))) = (&key_columns, &mut key) {
                for row in 0..n {
                    map.insert(key_fingerprint(&batch, key_cols, row, &mut buf), (rows + row as u64) as u32);
                }
            }
            rayon::join(
                || states.par_iter_mut().for_each(|s| s.absorb(batch.column(s.index).as_ref(), &detectors)),
                || kept_text.par_iter_mut().for_each(|(i, kept)| public_words(batch.column(*i).as_ref(), kept)),
            );
            rows += n as u64;
        }
        let mut fingerprints = Vec::new();
        for s in states {
            column_rows[s.id as usize] = s.rows;
            if let Some(fps) = s.fps {
                fingerprints.push((table.columns[s.index].name.clone(), fps));
            }
            for (d, mut more) in digests.iter_mut().zip(s.digests) {
                d.append(&mut more);
            }
            for (v, n) in s.candidates {
                match candidates.get_mut(&v) {
                    Some(seen) => seen.rows = seen.rows.saturating_add(n),
                    None => {
                        candidates.insert(v, Seen { rows: n, column: s.id });
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
            cells_by_column.insert(table.columns[index].name.clone(), cells);
        }
        kept_cells.insert(table.name.clone(), cells_by_column);
        rows_by_table.insert(table.name.clone(), TableRows { rows, key, columns: fingerprints });
    }
    let started = std::time::Instant::now();
    let values: Vec<(Box<str>, u32)> = candidates
        .into_iter()
        .filter(|(v, seen)| {
            let rows = column_rows[seen.column as usize] as f64;
            let common = seen.rows > 3 && f64::from(seen.rows) > rows * 0.01;
            is_strong(v) || (!common && !public.contains(&str_fp(v)) && !is_common_word(v))
        })
        .map(|(v, seen)| (v, seen.column))
        .collect();
    drop(public);
    tracing::debug!("verify: {} values chosen in {:.2}s", values.len(), started.elapsed().as_secs_f64());
    let matcher = Matcher::build(values, digests)?;
    tracing::debug!("verify: search built in {:.2}s", started.elapsed().as_secs_f64());
    Ok(Collected { columns, tables: rows_by_table, kept_cells, matcher })
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
