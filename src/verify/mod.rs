//! `doppel verify`: proves that a finished output holds no personal data of its source.
//!
//! ```text
//! source ──pass 1 (collect)──▶ row fingerprints · keys of distinctive values (no text)
//!                                      │                    │
//!                                      ▼                 Matcher
//! output ──pass 2──▶ own-row comparison (by kept primary key, else by position)
//!                 └▶ every text cell of every table, normalised ──▶ Matcher ──▶ counts
//!                                                   └─▶ hex runs of 32/40/64 digits
//! source ──pass 3 (only if the output has hex runs)──▶ digests of personal values ∈ runs? ──▶ counts
//! ```
//!
//! Personal data is every column whose rule is not `keep` (the plan bound to the source).
//! Three checks, each counted per output table and column, never showing a value:
//!
//! 1. **own value** ([`Kind::OwnValue`], [`Kind::SameRate`]): a row of the output keeps its
//!    source row's value in a personal column. Rows are matched by the primary key when
//!    the source table has one and the rules keep all its columns, otherwise by position
//!    (doppel writes rows in the order it reads them; a PostgreSQL output read back right
//!    after the run returns them in that order, a table updated since may not). A kept
//!    distinctive value (see [`text`]) is always a finding; equal values from a small
//!    space (countries, first names, dates, booleans) are reported as a rate and are a
//!    finding only above `--max-same-rate`. NULL staying NULL is not counted. Columns whose
//!    rule keeps part of the value by design (`redact`, `json`) are left to check 2.
//! 2. **value** ([`Kind::Value`]): a distinctive personal value of the source (an email, a
//!    phone, an IBAN, a name, any token of 8+ characters) appears anywhere in the output's
//!    text: every text column of every table, kept columns and JSON included, at word
//!    boundaries, exactly or up to case and whitespace.
//! 3. **digest** ([`Kind::Md5`] …): the lowercase hex md5, sha1, sha256 or plain blake3 of a
//!    personal value (as it is, or lowercased and trimmed) appears in the output's text.
//!
//! Precision: what is not a finding.
//!
//! - In a column whose rule generates values (`fake`), a value made only of dictionary words
//!   ([`text::ValueClass::Dictionary`], e.g. `john smith`) is one the generator can make by
//!   chance: a fake name that a real person also has.
//! - In a column the rules keep, a cell that the source's same column holds too (the same
//!   text, up to case and spacing) publishes what the rules chose to publish: an album named
//!   after its artist, a synopsis naming an actor. Such cells are counted as notes
//!   ([`Report::published`]), not findings, unless the value is strong (an email, a long
//!   number): those are findings wherever they are.
//! - Values too short or too common to identify anyone are not searched (see [`text`]); own
//!   values of a small space are a rate (check 1).
//!
//! Every finding names the rule to change (`file:line` of the output column's rule).
//!
//! Any finding makes `doppel verify` exit with code 6 ([`crate::error::exit::VERIFY`]).
//!
//! ## Memory model
//!
//! Memory is bounded by construction: it depends on the number of columns and on the run
//! size, not on the number of rows or values. No value's text is held beyond the cell being
//! read; what grows with the data goes to sorted runs on disk ([`spill`]), in one temporary
//! directory under `TMPDIR`, removed at the end (also on an error):
//!
//! - **pass 1**, per personal column: a hash table counting its candidate values, written as a
//!   sorted run whenever it holds the run size (`DOPPEL_VERIFY_RUN_RECORDS`, default
//!   [`spill::DEFAULT_RUN_RECORDS`]), and run buffers of that size for its strong values and
//!   numbers; per kept text column, run buffers for its words and cells. On disk: 8 bytes per
//!   row per personal column compared row by row (in row order), for a kept primary key 12
//!   bytes per row sorted and 8 in row order; the runs (31 bytes per distinct candidate per
//!   run, 26 per strong value, 12 per number fingerprint, 21 per kept word or cell).
//! - **end of pass 1**: the runs are merged (k-way, 128 at a time) into the [`Matcher`]'s
//!   files: the values sorted by key (26 bytes each on disk) and the numbers (12 bytes).
//! - **pass 2**: the [`Matcher`]'s fixed 112 MiB (start table and Bloom filters) and one key in
//!   memory per 256 on disk; own-row fingerprints read back 8192 rows at a time; 16 bytes per
//!   hex run of a digest's length found in the output (none in most outputs: the one part still
//!   held in memory).
//! - **pass 3** (only when the output has hex runs): the runs' first 8 bytes and the digests
//!   among them; a 4096-entry cache per column. The source's digests are never held.
//!
//! A source small enough for every buffer to stay under the run size writes no run at all,
//! only the sorted files looked up in pass 2.
//!
//! ## Fingerprint collisions
//!
//! Which way each 64-bit fingerprint errs when two different texts share one (odds 2^-64 per
//! pair compared):
//!
//! - the search (an output text's key, its first 8 bytes, length and fingerprint, equals a
//!   searched value's), the distinctive own-value test ([`Matcher::is_value`]), numbers and
//!   digest prefixes: a finding too many; equal texts always have equal keys, so a value is
//!   never missed. The Bloom filters and the start table in front of the files on disk only
//!   answer "maybe" too often, which costs a lookup, never a miss;
//! - counting a value's rows, the public vocabulary and the kept cells could hide a value if
//!   two merged, so these compare whole [`matcher::ValueKey`]s: a collision needs the same
//!   first 8 bytes, the same length and the same 64 bits (odds 2^-64 per pair that already
//!   shares prefix and length: never in practice);
//! - own-row cell fingerprints: two different values colliding would count a changed cell as
//!   kept: a finding too many; a kept cell always compares equal;
//! - primary-key fingerprints: two keys colliding pair an output row with another source row,
//!   whose values then differ: it needs a second 64-bit collision to hide a kept value.
//!
//! | module        | what it does                                                  |
//! |---------------|---------------------------------------------------------------|
//! | [`text`]      | normal form, word boundaries, tokens, distinctive values, hex runs |
//! | [`collect`]   | pass 1 over the source                                        |
//! | [`matcher`]   | the search over the values and numbers on disk, the digest check |
//! | [`spill`]     | the temporary directory, sorted runs, their merge, sorted files looked up by key |

pub mod collect;
pub mod matcher;
pub mod spill;
pub mod text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{Plan, Strategy, TablePlan};
use crate::rules::TableAction;
use crate::source::Source;

use self::collect::RowReader;
use self::collect::{CellText, Collected, NULL_FP, cell_fingerprint, key_fingerprint};
use self::matcher::{Algorithm, DigestSearch, Hit, Matcher, ValueKey};
use self::spill::{SortedFile, SpillDir};
use self::text::ValueClass;
use self::text::{hex_runs, normalise_into};

/// The default `--max-same-rate`: 2% of a column's rows.
pub const DEFAULT_MAX_SAME_RATE: f64 = 0.02;

/// Options of one verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// Set when the user interrupts (Ctrl-C, SIGTERM): the reads stop at the next batch with
    /// [`Error::Interrupted`], and the temporary files are removed.
    pub cancel: &'a AtomicBool,
    /// Highest share of rows (0..1) that may keep their own low-entropy value by chance.
    pub max_same_rate: f64,
    pub batch_rows: usize,
    /// Rows of tables without a kept primary key are paired by position. False for the output
    /// of rules with a `[subset]` checked on its own (`doppel verify` has no key to select the
    /// same rows again): those tables get the value and digest checks only.
    pub pair_by_position: bool,
}

impl VerifyOptions<'_> {
    /// [`Error::Interrupted`] once the user asked to stop.
    pub(crate) fn stop_if_cancelled(&self) -> Result<()> {
        match self.cancel.load(Ordering::Relaxed) {
            true => Err(Error::Interrupted),
            false => Ok(()),
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Rows that keep their own distinctive value in a personal column.
    OwnValue,
    /// Rows that keep their own small-space value, more often than the threshold allows.
    SameRate,
    /// Cells that contain a distinctive personal value of the source.
    Value,
    Md5,
    Sha1,
    Sha256,
    Blake3,
    /// The output table has another number of rows than the source, so rows cannot be
    /// matched by position.
    RowCount,
}

impl Kind {
    fn of_digest(a: Algorithm) -> Kind {
        match a {
            Algorithm::Md5 => Kind::Md5,
            Algorithm::Sha1 => Kind::Sha1,
            Algorithm::Sha256 => Kind::Sha256,
            Algorithm::Blake3 => Kind::Blake3,
        }
    }
}

/// One count of findings: never a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Output table and column (`column` is empty for a table-level finding).
    pub table: String,
    pub column: String,
    pub kind: Kind,
    /// Rows or cells concerned.
    pub count: u64,
    /// For `value`: the source column (`schema.table.column`) the values came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The rule to change: `file:line` of the output column's rule (the table's for a
    /// table-level finding), when the plan has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The own-row comparison of one personal column, findings or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SameStat {
    pub table: String,
    pub column: String,
    /// Rows compared (source value not NULL).
    pub compared: u64,
    /// Rows whose output value equals their source value.
    pub same: u64,
    /// Of those, rows with a distinctive value (each a finding).
    pub distinctive: u64,
    /// `(same - distinctive) / compared`.
    pub rate: f64,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tables_checked: usize,
    pub personal_columns: usize,
    /// Distinctive values searched for.
    pub values_searched: usize,
    pub max_same_rate: f64,
    /// How each table's rows were matched: `primary key (cols)`, `position`, or why not.
    pub matching: BTreeMap<String, String>,
    pub same: Vec<SameStat>,
    pub findings: Vec<Finding>,
    /// Not findings: cells of kept columns holding a value of a personal column exactly as
    /// the source's same column does. The rules publish them; worth a look, not a leak.
    pub published: Vec<Finding>,
}

impl Report {
    /// Total findings (rows and cells).
    pub fn finding_count(&self) -> u64 {
        self.findings.iter().map(|f| f.count).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.same {
            if s.same > 0 {
                writeln!(
                    f,
                    "{}.{}: {} of {} rows keep their own value ({} distinctive; small-space rate {:.2}%, limit {:.2}%)",
                    s.table,
                    s.column,
                    s.same,
                    s.compared,
                    s.distinctive,
                    s.rate * 100.0,
                    self.max_same_rate * 100.0
                )?;
            }
        }
        for x in &self.findings {
            let place = if x.column.is_empty() { x.table.clone() } else { format!("{}.{}", x.table, x.column) };
            let what = match x.kind {
                Kind::OwnValue => format!("{} row(s) keep their own distinctive value", x.count),
                Kind::SameRate => format!("{} row(s) keep their own value, above the --max-same-rate limit", x.count),
                Kind::Value => format!(
                    "{} cell(s) contain a value of {}",
                    x.count,
                    x.from.as_deref().unwrap_or("a personal column")
                ),
                Kind::RowCount => "the output has another number of rows than the source; rows cannot be matched \
                                   by position"
                    .to_string(),
                k => format!("{} cell(s) contain an unkeyed {} of a personal value", x.count, kind_name(k)),
            };
            let rule = x.rule.as_deref().map(|r| format!("; the rule to change: {r}")).unwrap_or_default();
            writeln!(f, "FINDING [{}] {place}: {what}{rule}", kind_name(x.kind))?;
        }
        for x in &self.published {
            writeln!(
                f,
                "NOTE [kept] {}.{}: {} cell(s) hold a value of {} as the source's column does; the rules keep \
                 this column{} — give it a rule if those values are about people",
                x.table,
                x.column,
                x.count,
                x.from.as_deref().unwrap_or("a personal column"),
                x.rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            )?;
        }
        write!(
            f,
            "verify: {} table(s), {} personal column(s), {} distinctive value(s) searched: ",
            self.tables_checked, self.personal_columns, self.values_searched
        )?;
        match self.findings.len() {
            0 => write!(f, "no findings"),
            n => write!(f, "{n} finding(s)"),
        }
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::OwnValue => "own-value",
        Kind::SameRate => "same-rate",
        Kind::Value => "value",
        Kind::Md5 => "md5",
        Kind::Sha1 => "sha1",
        Kind::Sha256 => "sha256",
        Kind::Blake3 => "blake3",
        Kind::RowCount => "row-count",
    }
}

/// A type whose values are or contain text, so they are searched.
pub fn is_text_type(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text_type(v),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
            is_text_type(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| is_text_type(f.data_type())),
        DataType::Map(f, _) => is_text_type(f.data_type()),
        _ => false,
    }
}

/// Checks `output` against `source` with `plan` (the rules bound to the source).
pub fn verify(plan: &Plan, source: &dyn Source, output: &dyn Source, options: &VerifyOptions) -> Result<Report> {
    let copied: Vec<_> = plan.tables.iter().filter(|t| t.action == TableAction::Copy).cloned().collect();
    let output_names: HashSet<&str> = output.tables().iter().map(|t| t.name.as_str()).collect();
    let missing: Vec<&str> = copied.iter().map(|t| t.name.as_str()).filter(|n| !output_names.contains(n)).collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "verify: the output has no table {}; is it the output of these rules for this source?",
            missing.join(", ")
        )));
    }
    let started = std::time::Instant::now();
    // Every temporary file is in `dir`, removed when it is dropped (also on an error).
    let dir = SpillDir::new()?;
    let Collected { columns, mut tables, mut kept_cells, matcher } = collect::collect(&copied, source, options, &dir)?;
    tracing::debug!(
        "verify: source read in {:.2}s; the search takes about {} MiB",
        started.elapsed().as_secs_f64(),
        matcher.memory_bytes() >> 20
    );
    let started = std::time::Instant::now();
    let mut report = Report {
        tables_checked: output.tables().len(),
        personal_columns: columns.len(),
        values_searched: matcher.value_count(),
        max_same_rate: options.max_same_rate,
        matching: BTreeMap::new(),
        same: Vec::new(),
        findings: Vec::new(),
        published: Vec::new(),
    };
    let mut outcomes = Vec::new();
    for table in output.tables() {
        // Each table's own-row fingerprints and kept cells are dropped once it is checked.
        let rows = tables.remove(&table.name);
        let kept = kept_cells.remove(&table.name);
        let found = Found {
            rows: rows.as_ref(),
            kept_cells: kept.as_ref(),
            plan: copied.iter().find(|t| t.name == table.name),
        };
        outcomes.push(check_table(&table.name, output, found, &matcher, options, &mut report)?);
    }
    drop(matcher);
    tracing::debug!("verify: output checked in {:.2}s", started.elapsed().as_secs_f64());
    // The digest check: only when the output has hex runs of a digest's length.
    let mut digests = DigestSearch::new(outcomes.iter().flat_map(|o| o.hex_runs.iter().map(|r| r.0)).collect());
    if !digests.is_empty() {
        let started = std::time::Instant::now();
        collect::digests(&copied, source, options, &mut digests)?;
        tracing::debug!("verify: digests of the source checked in {:.2}s", started.elapsed().as_secs_f64());
    }
    for outcome in outcomes {
        outcome.finish(&digests, &columns, &mut report);
    }
    Ok(report)
}

/// What checking one output table leaves for the report, once the digests are known.
struct Outcome<'a> {
    name: String,
    schema: SchemaRef,
    plan: Option<&'a TablePlan>,
    /// Row-by-row findings ([`report_rows`]).
    row_findings: Vec<Finding>,
    hits: Counts,
    published: Counts,
    /// Every hex run of a digest's length in the table's text.
    hex_runs: HexRuns,
}

impl Outcome<'_> {
    fn finish(self, digests: &DigestSearch, columns: &[String], report: &mut Report) {
        let Outcome { name, schema, plan, row_findings, mut hits, published, mut hex_runs } = self;
        let found = Found { rows: None, kept_cells: None, plan };
        // A cell counts once per algorithm, however many of its runs match.
        let mut cells: Vec<(usize, Algorithm, u64)> = Vec::new();
        for (prefix, meta) in hex_runs.drain(..) {
            let (row, column, len) = (meta >> 24, ((meta >> 8) & 0xffff) as usize, (meta & 0xff) as usize);
            digests.hits(prefix, len, |a| cells.push((column, a, row)));
        }
        cells.sort_unstable();
        cells.dedup();
        for (column, a, _) in cells {
            *hits.entry((column, Kind::of_digest(a), None)).or_insert(0) += 1;
        }
        let first = report.findings.len();
        report.findings.extend(row_findings);
        let counted = |counts: Counts| {
            let mut counts: Vec<_> = counts.into_iter().collect();
            counts.sort();
            counts.into_iter().map(|((i, kind, from), count)| Finding {
                table: name.clone(),
                column: schema.field(i).name().clone(),
                kind,
                count,
                from: from.map(|c| columns[c as usize].clone()),
                rule: None,
            })
        };
        report.findings.extend(counted(hits));
        let first_published = report.published.len();
        report.published.extend(counted(published));
        for f in &mut report.findings[first..] {
            f.rule = found.rule(&f.column);
        }
        for f in &mut report.published[first_published..] {
            f.rule = found.rule(&f.column);
        }
    }
}

/// (first 8 bytes, `(row << 24) | (column << 8) | length`) of hex runs of a digest's length.
type HexRuns = Vec<(u64, u64)>;

/// Cells with findings per (output column, kind, source column).
type Counts = HashMap<(usize, Kind, Option<u32>), u64>;

/// Own-row state of one output column.
struct Compare<'r> {
    output_index: usize,
    /// The source column's fingerprints.
    source: RowReader<'r>,
    compared: u64,
    same: u64,
    distinctive: u64,
}

/// What pass 1 and the plan say about one output table.
struct Found<'r, 'p> {
    rows: Option<&'r collect::TableRows>,
    kept_cells: Option<&'r HashMap<String, SortedFile<ValueKey>>>,
    plan: Option<&'p TablePlan>,
}

/// How a hit in an output text column is judged.
#[derive(Clone, Copy, Default)]
struct ColumnRole<'a> {
    /// A kept column: the source's cells of it (sorted keys).
    kept_cells: Option<&'a SortedFile<ValueKey>>,
    /// The column's rule generates values (`fake`): it can make a dictionary value by chance.
    generates: bool,
}

impl Found<'_, '_> {
    fn role(&self, column: &str) -> ColumnRole<'_> {
        let plan = self.plan.and_then(|t| t.columns.iter().find(|c| c.name == column));
        ColumnRole {
            kept_cells: self.kept_cells.and_then(|k| k.get(column)),
            generates: plan.is_some_and(|c| matches!(c.strategy, Strategy::Fake(_))),
        }
    }

    /// `file:line` of the rule of `column` (of the table when empty).
    fn rule(&self, column: &str) -> Option<String> {
        let table = self.plan?;
        let origin = match table.columns.iter().find(|c| c.name == column) {
            Some(c) => &c.origin,
            None => &table.origin,
        };
        Some(format!("{}:{}", origin.file.display(), origin.line))
    }
}

fn check_table<'a>(
    name: &str,
    output: &dyn Source,
    found: Found<'_, 'a>,
    matcher: &Matcher,
    options: &VerifyOptions,
    report: &mut Report,
) -> Result<Outcome<'a>> {
    let schema = &output.tables().iter().find(|t| t.name == name).expect("listed table").schema;
    let rows = match found.rows {
        Some(r) if r.key.is_none() && !options.pair_by_position => {
            report.matching.insert(
                name.to_string(),
                "not row by row: the output is a subset and its rows cannot be paired with the source's without the \
                 key (values and digests are still checked)"
                    .to_string(),
            );
            None
        }
        other => other,
    };
    let find = |col: &str| {
        schema.index_of(col).map_err(|_| {
            Error::Usage(format!(
                "verify: output table {name} has no column {col}; is it the output of these rules for this source?"
            ))
        })
    };
    let mut compares = Vec::new();
    let mut key_columns = Vec::new();
    if let Some(rows) = rows {
        for (col, fps) in &rows.columns {
            compares.push(Compare {
                output_index: find(col)?,
                source: fps.reader(),
                compared: 0,
                same: 0,
                distinctive: 0,
            });
        }
        match &rows.key {
            Some((names, _)) => {
                key_columns = names.iter().map(|n| find(n)).collect::<Result<_>>()?;
                report.matching.insert(name.to_string(), format!("primary key ({})", names.join(", ")));
            }
            None => {
                report.matching.insert(name.to_string(), "position".to_string());
            }
        }
    }
    let text_columns: Vec<(usize, ColumnRole)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| is_text_type(f.data_type()))
        .map(|(i, f)| (i, found.role(f.name())))
        .collect();
    let mut hits: Counts = HashMap::new();
    let mut published: Counts = HashMap::new();
    let mut hex: HexRuns = Vec::new();
    let mut position: u64 = 0;
    let mut unmatched: u64 = 0;
    let mut scratch = Scratch::default();
    let mut in_order = rows.and_then(|r| r.key.as_ref()).map(|(_, index)| index.in_order().reader());
    let progress = crate::progress::track(format!("{name} (output)"), output.expected_rows(name));
    for batch in progress.count(output.read(name, options.batch_rows)?) {
        options.stop_if_cancelled()?;
        let batch = batch?;
        let n = batch.num_rows();
        if let Some(rows) = rows {
            let source_rows: Vec<Option<u64>> = (0..n)
                .map(|row| {
                    let at = position + row as u64;
                    match (&rows.key, &mut in_order) {
                        (Some((_, index)), Some(in_order)) => {
                            index.get(key_fingerprint(&batch, &key_columns, row, &mut scratch.buf), at, in_order)
                        }
                        _ => Ok((at < rows.rows).then_some(at)),
                    }
                })
                .collect::<Result<_>>()?;
            unmatched += source_rows.iter().filter(|r| r.is_none()).count() as u64;
            for cmp in &mut compares {
                cmp.add(&batch, &source_rows, matcher, &mut scratch)?;
            }
        }
        text_hits(&batch, position, &text_columns, matcher, &mut hits, &mut published, &mut hex)?;
        position += n as u64;
    }
    let first = report.findings.len();
    if let Some(rows) = rows {
        let seen = Seen { position, unmatched };
        report_rows(name, schema, rows, &compares, seen, options.max_same_rate, report);
    }
    let row_findings = report.findings.split_off(first);
    Ok(Outcome {
        name: name.to_string(),
        schema: schema.clone(),
        plan: found.plan,
        row_findings,
        hits,
        published,
        hex_runs: hex,
    })
}

/// Buffers reused across the rows of one table.
#[derive(Default)]
struct Scratch {
    buf: Vec<u8>,
    text: String,
    norm: String,
}

impl Compare<'_> {
    /// Compares one batch's output column with the source fingerprints of the paired rows
    /// (`source_rows[row]`, `None` when the output row has no source row).
    fn add(
        &mut self,
        batch: &RecordBatch,
        source_rows: &[Option<u64>],
        matcher: &Matcher,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let array = batch.column(self.output_index).as_ref();
        let cells = CellText::new(array);
        for (row, source_row) in source_rows.iter().enumerate() {
            let Some(r) = source_row else { continue };
            let before = self.source.get(*r)?;
            if before == NULL_FP {
                continue;
            }
            self.compared += 1;
            if cell_fingerprint(array, row, &mut scratch.buf) == before {
                self.same += 1;
                if cells.get(row, &mut scratch.text) {
                    normalise_into(&scratch.text, &mut scratch.norm);
                    self.distinctive += u64::from(matcher.is_value(&scratch.norm)?);
                }
            }
        }
        Ok(())
    }
}

/// Counts, per text column, the output cells in which the matcher finds a source value, into
/// `hits`; and into `published` the cells of kept columns that hold a value exactly as the
/// source's column does (see [`Report::published`]). In a column whose rule generates values, a
/// dictionary value ([`ValueClass::Dictionary`]) is the generator's own. Every hex run of a
/// digest's length goes into `hex` (see [`Outcome::hex_runs`]) for the digest check.
fn text_hits(
    batch: &RecordBatch,
    position: u64,
    text_columns: &[(usize, ColumnRole)],
    matcher: &Matcher,
    hits: &mut Counts,
    published: &mut Counts,
    hex: &mut HexRuns,
) -> Result<()> {
    let n = batch.num_rows();
    let per_column: Vec<(Counts, Counts, HexRuns)> = text_columns
        .par_iter()
        .map(|&(i, role)| {
            let (mut counts, mut kept, mut runs) = (HashMap::new(), HashMap::new(), Vec::new());
            let cells = CellText::new(batch.column(i).as_ref());
            let (mut text, mut norm, mut found) = (String::new(), String::new(), HashSet::new());
            for row in 0..n {
                if !cells.get(row, &mut text) {
                    continue;
                }
                normalise_into(&text, &mut norm);
                hex_runs(&norm, |prefix, len| {
                    runs.push((prefix, ((position + row as u64) << 24) | ((i as u64) << 8) | len as u64))
                });
                found.clear();
                matcher.scan(&norm, &mut found)?;
                if found.is_empty() {
                    continue;
                }
                let key = collect::cell_text_key(&norm);
                let as_in_source = match role.kept_cells {
                    Some(c) => c.get(|k| k.cmp(&key))?.is_some(),
                    None => false,
                };
                for hit in &found {
                    let (key, target) = match *hit {
                        Hit::Value(_, ValueClass::Dictionary) if role.generates => continue,
                        Hit::Value(col, class) if as_in_source && class != ValueClass::Strong => {
                            ((i, Kind::Value, Some(col)), &mut kept)
                        }
                        Hit::Value(col, _) => ((i, Kind::Value, Some(col)), &mut counts),
                        Hit::Digest(a) => ((i, Kind::of_digest(a), None), &mut counts),
                    };
                    *target.entry(key).or_insert(0) += 1;
                }
            }
            Ok((counts, kept, runs))
        })
        .collect::<Result<_>>()?;
    for (counts, kept, mut runs) in per_column {
        for (k, v) in counts {
            *hits.entry(k).or_insert(0) += v;
        }
        for (k, v) in kept {
            *published.entry(k).or_insert(0) += v;
        }
        hex.append(&mut runs);
    }
    Ok(())
}

/// Output rows read, and those without a source row.
#[derive(Clone, Copy)]
struct Seen {
    position: u64,
    unmatched: u64,
}

/// The row-by-row findings of one table: a row count that differs, own values kept, and
/// too many values left the same.
fn report_rows(
    name: &str,
    schema: &SchemaRef,
    rows: &collect::TableRows,
    compares: &[Compare],
    seen: Seen,
    max_same_rate: f64,
    report: &mut Report,
) {
    if rows.key.is_none() && seen.position != rows.rows {
        report.findings.push(Finding {
            table: name.to_string(),
            column: String::new(),
            kind: Kind::RowCount,
            count: 1,
            from: None,
            rule: None,
        });
    } else if seen.unmatched > 0 {
        tracing::warn!("verify: {name}: {} output row(s) have no source row with the same primary key", seen.unmatched);
    }
    for cmp in compares {
        let column = schema.field(cmp.output_index).name().clone();
        let small = cmp.same - cmp.distinctive;
        let rate = if cmp.compared == 0 { 0.0 } else { small as f64 / cmp.compared as f64 };
        if cmp.distinctive > 0 {
            report.findings.push(Finding {
                table: name.to_string(),
                column: column.clone(),
                kind: Kind::OwnValue,
                count: cmp.distinctive,
                from: None,
                rule: None,
            });
        }
        if rate > max_same_rate {
            report.findings.push(Finding {
                table: name.to_string(),
                column: column.clone(),
                kind: Kind::SameRate,
                count: small,
                from: None,
                rule: None,
            });
        }
        report.same.push(SameStat {
            table: name.to_string(),
            column,
            compared: cmp.compared,
            same: cmp.same,
            distinctive: cmp.distinctive,
            rate,
        });
    }
}
