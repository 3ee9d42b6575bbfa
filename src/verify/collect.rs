//! The source side of `verify`: one pass over every copied table, gathering what the output
//! is then checked against.
//!
//! - per personal column whose rule replaces the whole value, a 64-bit fingerprint of every
//!   row's value (for the own-row comparison), with the row's primary key fingerprint when
//!   the key is kept;
//! - the distinctive personal values (see [`super::text`]), counted, in normal form: whole
//!   values, their tokens of 8+ characters, and in free text (`redact`) and JSON (`json`)
//!   columns only the parts that are personal (what the redact detectors find; the values
//!   at the rule's JSON paths), since the rest of such a text is kept by design;
//! - the unkeyed digests of every distinct personal value, as it is and lowercased/trimmed;
//! - single words from the `fake` crate's lists are not searched for (see [`super::text`]);
//! - the "public vocabulary": whole values and tokens of the columns the rules keep. A
//!   value that the rules publish anyway (a city in a kept `ship_city`) is not searched for,
//!   unless it is strong (an email or a long number).

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use rayon::prelude::*;
use serde_json::Value;

use crate::error::Result;
use crate::plan::{JsonStep, Strategy, TablePlan};
use crate::source::Source;
use crate::transform::redact::{Detector, Redactor, Replacement};
use crate::transform::values::value_key;

use super::matcher::{Algorithm, Matcher};
use super::text::{is_common_word, is_distinctive, is_strong, normalise_into, tokens};

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
            Parts::Json(paths.iter().map(|p| (p.steps.clone(), matches!(p.strategy, Strategy::Redact(_)))).collect())
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
    pub matcher: Matcher,
}

struct Collector {
    columns: Vec<String>,
    column_rows: Vec<u64>,
    candidates: HashMap<Box<str>, Seen>,
    public: HashSet<u64>,
    hashed: HashSet<u64>,
    digests: [Vec<u64>; 4],
    detectors: Redactor,
    norm: String,
}

fn str_fp(s: &str) -> u64 {
    fingerprint(s.as_bytes())
}

impl Collector {
    /// Counts a personal part (raw text) as a candidate value, with its tokens.
    fn personal(&mut self, raw: &str, column: u32, with_tokens: bool) {
        normalise_into(raw, &mut self.norm);
        let norm = std::mem::take(&mut self.norm);
        self.candidate(&norm, column);
        if with_tokens && norm.contains(' ') {
            for t in tokens(&norm) {
                self.candidate(t, column);
            }
        }
        self.norm = norm;
    }

    fn candidate(&mut self, norm: &str, column: u32) {
        if !is_distinctive(norm) {
            return;
        }
        match self.candidates.get_mut(norm) {
            Some(seen) => seen.rows = seen.rows.saturating_add(1),
            None => {
                self.candidates.insert(norm.into(), Seen { rows: 1, column });
            }
        }
    }

    /// Records a value of a kept text column as public vocabulary.
    fn public(&mut self, raw: &str) {
        normalise_into(raw, &mut self.norm);
        if is_distinctive(&self.norm) {
            self.public.insert(str_fp(&self.norm));
        }
        if self.norm.contains(' ') {
            for t in tokens(&self.norm) {
                if is_distinctive(t) {
                    self.public.insert(str_fp(t));
                }
            }
        }
    }

    /// Queues `raw` for digests when not seen before.
    fn queue_digests(&mut self, raw: &str, pending: &mut Vec<String>) {
        if self.hashed.insert(str_fp(raw)) {
            pending.push(raw.to_string());
        }
    }

    fn digest(&mut self, pending: &mut Vec<String>) {
        let prefixes: Vec<[u64; 8]> = pending
            .par_iter()
            .map(|raw| {
                let variant = raw.trim().to_lowercase();
                let mut out = [0u64; 8];
                for (i, a) in Algorithm::ALL.iter().enumerate() {
                    out[i] = a.prefix(raw.as_bytes());
                    out[4 + i] = if variant == *raw { out[i] } else { a.prefix(variant.as_bytes()) };
                }
                out
            })
            .collect();
        for p in prefixes {
            for i in 0..4 {
                self.digests[i].push(p[i]);
                if p[4 + i] != p[i] {
                    self.digests[i].push(p[4 + i]);
                }
            }
        }
        pending.clear();
    }

    fn finish(self) -> Result<(Vec<String>, Matcher)> {
        let Collector { columns, column_rows, candidates, public, digests, .. } = self;
        let values: Vec<(Box<str>, u32)> = candidates
            .into_iter()
            .filter(|(v, seen)| {
                let rows = column_rows[seen.column as usize] as f64;
                let common = seen.rows > 3 && f64::from(seen.rows) > rows * 0.01;
                is_strong(v) || (!common && !public.contains(&str_fp(v)) && !is_common_word(v))
            })
            .map(|(v, seen)| (v, seen.column))
            .collect();
        Ok((columns, Matcher::build(values, digests)?))
    }
}

/// Reads every copied table of the source once.
pub fn collect(tables: &[TablePlan], source: &dyn Source, batch_rows: usize) -> Result<Collected> {
    let detectors = Redactor::new(Detector::ALL, &[], Replacement::Tag)
        .map_err(|e| crate::error::Error::Usage(format!("verify: {e}")))?;
    let mut c = Collector {
        columns: Vec::new(),
        column_rows: Vec::new(),
        candidates: HashMap::new(),
        public: HashSet::new(),
        hashed: HashSet::new(),
        digests: Default::default(),
        detectors,
        norm: String::new(),
    };
    let mut rows_by_table = HashMap::new();
    let mut pending = Vec::new();
    let mut buf = Vec::new();
    let mut text = String::new();
    for table in tables.iter().filter(|t| !t.columns.is_empty()) {
        let source_table = source.tables().iter().find(|t| t.name == table.name);
        let personal: Vec<(usize, u32, Parts)> = table
            .columns
            .iter()
            .filter(|col| col.is_personal())
            .map(|col| {
                c.columns.push(format!("{}.{}", table.name, col.name));
                c.column_rows.push(0);
                (col.index, (c.columns.len() - 1) as u32, parts(&col.strategy))
            })
            .collect();
        let kept_text: Vec<usize> = table
            .columns
            .iter()
            .filter(|col| !col.is_personal() && super::is_text_type(&col.data_type))
            .map(|col| col.index)
            .collect();
        // Rows are matched by primary key when every key column is kept.
        let key_columns: Option<Vec<usize>> = source_table.and_then(|t| t.primary_key.as_ref()).and_then(|pk| {
            pk.iter()
                .map(|name| {
                    table.columns.iter().find(|col| &col.name == name && !col.is_personal()).map(|col| col.index)
                })
                .collect()
        });
        let mut rows = TableRows {
            rows: 0,
            key: key_columns
                .as_ref()
                .map(|k| (k.iter().map(|&i| table.columns[i].name.clone()).collect(), HashMap::new())),
            columns: personal
                .iter()
                .filter(|(_, _, p)| matches!(p, Parts::Whole))
                .map(|(i, _, _)| (table.columns[*i].name.clone(), Vec::new()))
                .collect(),
        };
        for batch in source.read(&table.name, batch_rows)? {
            let batch: RecordBatch = batch?;
            let n = batch.num_rows();
            if let (Some(key_cols), Some((_, map))) = (&key_columns, &mut rows.key) {
                for row in 0..n {
                    map.insert(key_fingerprint(&batch, key_cols, row, &mut buf), (rows.rows + row as u64) as u32);
                }
            }
            let mut whole = 0;
            for (index, column, how) in &personal {
                let array = batch.column(*index).as_ref();
                c.column_rows[*column as usize] += n as u64;
                if let Parts::Whole = how {
                    let fps = &mut rows.columns[whole].1;
                    whole += 1;
                    fps.extend((0..n).map(|row| cell_fingerprint(array, row, &mut buf)));
                }
                let cells = CellText::new(array);
                for row in 0..n {
                    if !cells.get(row, &mut text) {
                        continue;
                    }
                    c.queue_digests(&text, &mut pending);
                    match how {
                        Parts::Whole => c.personal(&text, *column, true),
                        Parts::FreeText => free_text_parts(&mut c, &text, *column, &mut pending),
                        Parts::Json(paths) => {
                            let Ok(doc) = serde_json::from_str::<Value>(&text) else { continue };
                            for (steps, free) in paths {
                                json_leaves(&doc, steps, &mut |leaf| {
                                    let leaf = match leaf {
                                        Value::String(s) => s.clone(),
                                        Value::Null => return,
                                        other => other.to_string(),
                                    };
                                    if *free {
                                        free_text_parts(&mut c, &leaf, *column, &mut pending);
                                    } else {
                                        c.queue_digests(&leaf, &mut pending);
                                        c.personal(&leaf, *column, true);
                                    }
                                });
                            }
                        }
                    }
                }
            }
            for &index in &kept_text {
                let cells = CellText::new(batch.column(index).as_ref());
                for row in 0..n {
                    if cells.get(row, &mut text) {
                        c.public(&text);
                    }
                }
            }
            rows.rows += n as u64;
            if pending.len() >= 4096 {
                c.digest(&mut pending);
            }
        }
        rows_by_table.insert(table.name.clone(), rows);
    }
    c.digest(&mut pending);
    let (columns, matcher) = c.finish()?;
    Ok(Collected { columns, tables: rows_by_table, matcher })
}

/// The personal parts of a free text: what the detectors find, each also hashed.
fn free_text_parts(c: &mut Collector, text: &str, column: u32, pending: &mut Vec<String>) {
    for (start, end) in c.detectors.spans(text) {
        let part = &text[start..end];
        c.queue_digests(part, pending);
        c.personal(part, column, false);
    }
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
