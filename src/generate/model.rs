//! The plan of a generation: how many rows each table gets, and how each column's value is
//! computed from the row index, with every key and reference decided before a row is made.
//!
//! - **Row counts**: `round(rows · scale)`, or `--rows schema.table=N`.
//! - **Keys** (the primary key, then each unique constraint not already implied by it): a
//!   key's row index `j` is split in mixed radix over its columns ("components"). A column
//!   that is also a foreign key is a bounded component (radix: the parent's row count; the
//!   digit picks a parent through a keyed permutation); any other column is a counter (the
//!   last digit, unbounded): integers `1, 2, …`, text in base 36 (`0`–`9`, `A`–`Z`) padded to
//!   the column's width (a personal text column with a `fake` rule: the generator's value with
//!   the counter added, `maude.schaden.0k3@example.com`), uuids with the counter in their last bytes, dates and timestamps
//!   counted from 2000-01-01. Digits after the first are shifted by a keyed hash of the first,
//!   so composite keys do not line up. Distinct `j` give distinct keys by construction.
//! - **Foreign keys** outside keys: row `i` falls in a band of the first column's
//!   statistics ([`Bands`]): NULL, one of the "heavy" parents (one per most common value of
//!   the source, with its frequency), or one of the other referenced parents, evenly. The
//!   number of parents referenced is the column's distinct count (scaled when `n_distinct` <
//!   0, at most the parent's rows). Parent slot `s` is parent row `perm(s)`, whose key
//!   columns are computed from that index alone: no parent row is generated or looked up.
//! - **Fit**: a key whose counter cannot hold the table's rows in its type (`smallint` holds
//!   32767, `varchar(5)` in base 36 holds 36^5), a composite key with more rows than its
//!   components can combine, a NOT NULL reference to a table without rows: plan errors
//!   before anything is generated, every one named.
//! - **CHECK constraints**: kept columns take values from the source's own statistics (within
//!   its ranges and enumerations); on a column generated otherwise, a simple range or
//!   enumeration is respected ([`super::checks`]) and any other CHECK is logged as a warning
//!   naming it.

mod build;

use std::collections::BTreeMap;

use arrow_schema::SchemaRef;

use crate::error::{Error, Result};
use crate::pg::types::ColumnKind;
use crate::plan::{Plan, Strategy, fit::declared_chars};
use crate::secret::{DomainKey, Key};
use crate::transform::fake::{self, FakeSpec, FakeValue, OutputKind};

use super::profile::{ColumnProfile, Profile};
use super::values::{
    Band, Bands, Cell, ColumnValues, Perm, Rest, base36, bound_number, is_plain_text, synthetic_supported,
};

/// The most rows one generated table may have (`--rows`, or `--scale` times the source's rows).
pub const MAX_TABLE_ROWS: u64 = 1_000_000_000_000;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows per source row (may be fractional).
    pub scale: f64,
    /// Row counts for some tables (`schema.table`), instead of the scale.
    pub rows: BTreeMap<String, u64>,
    /// Picks one of many datasets for one key.
    pub seed: u64,
}

/// Everything needed to compute any row of any table.
pub struct Dataset {
    pub tables: Vec<TableGen>,
    key: DomainKey,
}

pub struct TableGen {
    pub name: String,
    pub schema: SchemaRef,
    pub kinds: Vec<ColumnKind>,
    pub rows: u64,
    pub columns: Vec<ColumnGen>,
    keys: Vec<KeyLayout>,
    fks: Vec<FkGen>,
}

/// How one column's values are made.
pub enum ColumnGen {
    Null,
    Values(Box<ColumnValues>),
    /// Column of key `layout`: component `component`, at `position` within it (a foreign key
    /// component covers several columns).
    Key {
        layout: usize,
        component: usize,
        position: usize,
    },
    /// Column `position` of foreign key `fk`, outside any key.
    Foreign {
        fk: usize,
        position: usize,
    },
}

struct KeyLayout {
    components: Vec<Component>,
    purpose: Vec<u8>,
}

struct Component {
    /// `None` for the unbounded counter (always last).
    radix: Option<u64>,
    source: ComponentSource,
}

enum ComponentSource {
    Counter(Counter),
    Foreign(usize),
}

enum Counter {
    Int,
    Decimal,
    Text {
        width: usize,
    },
    /// A personal text column with a `fake` rule: the generator's value for the counter, made
    /// unique by the counter in base 36 (`maude.schaden.0k3@example.com`, `Kuhn LLC 0k3`).
    Fake {
        spec: Box<FakeSpec>,
        digits: usize,
        limit: Option<usize>,
    },
    Uuid,
    Date,
    Timestamp,
}

struct FkGen {
    parent: usize,
    /// The referenced columns' indexes in the parent.
    parent_columns: Vec<usize>,
    perm: Perm,
    /// For a reference outside a key: which parent slot a row takes.
    bands: Option<Bands>,
}

/// Distinct non-NULL values for `rows` rows, from PostgreSQL's `n_distinct`.
pub fn distinct_for(n_distinct: Option<f64>, rows: u64, null_frac: f64) -> u64 {
    let non_null = ((1.0 - null_frac.clamp(0.0, 1.0)) * rows as f64).round() as u64;
    let d = match n_distinct {
        Some(n) if n > 0.0 => n.round() as u64,
        Some(n) if n < 0.0 => (-n * rows as f64).round() as u64,
        _ => non_null,
    };
    d.clamp(1, non_null.max(1))
}

impl Dataset {
    /// Decides rows, keys and column generators; every problem found is reported at once
    /// (the steps are in `model::build`).
    pub fn build(profile: &Profile, plan: &Plan, key: &Key, options: &Options) -> Result<Dataset> {
        let key = key.domain(&format!("doppel generate, seed {}", options.seed));
        let mut problems = Vec::new();
        let rows = build::row_counts(profile, options, &mut problems)?;
        let index = profile.tables.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let mut builder = build::Builder { profile, plan, key: &key, rows, index, problems };
        let tables: Vec<TableGen> = (0..profile.tables.len()).filter_map(|ti| builder.table(ti)).collect();
        builder.check_references(&tables);
        if !builder.problems.is_empty() {
            return Err(Error::problems(builder.problems));
        }
        Ok(Dataset { tables, key })
    }

    /// The value of column `c` of table `t` in row `row`.
    pub fn cell(&self, t: usize, c: usize, row: u64) -> Cell {
        let table = &self.tables[t];
        match &table.columns[c] {
            ColumnGen::Null => Cell::Null,
            ColumnGen::Values(v) => v.value(&self.key, row),
            ColumnGen::Key { .. } => self.key_cell(t, c, row, 0),
            ColumnGen::Foreign { fk, position } => {
                let f = &table.fks[*fk];
                let Some(bands) = &f.bands else { return Cell::Null };
                let slot = match bands.locate(row) {
                    Band::Null => return Cell::Null,
                    Band::Common(k) => k as u64,
                    Band::Rest(s) => bands.common_count() as u64 + s,
                };
                self.key_cell(f.parent, f.parent_columns[*position], f.perm.apply(slot), 0)
            }
        }
    }

    /// A key column's value for row `row`, computed from the index alone.
    fn key_cell(&self, t: usize, c: usize, row: u64, depth: usize) -> Cell {
        let table = &self.tables[t];
        let ColumnGen::Key { layout, component, position } = &table.columns[c] else {
            // Referenced columns outside a key (the plan reported them); a column of a
            // table referencing itself through its key is bounded by `depth`.
            return Cell::Null;
        };
        let layout = &table.keys[*layout];
        let digit = self.digit(layout, row, *component);
        match &layout.components[*component].source {
            ComponentSource::Counter(counter) => counter_cell(counter, digit, &self.key, &layout.purpose),
            ComponentSource::Foreign(fi) if depth < 16 => {
                let f = &table.fks[*fi];
                self.key_cell(f.parent, f.parent_columns[*position], f.perm.apply(digit), depth + 1)
            }
            ComponentSource::Foreign(_) => Cell::Null,
        }
    }

    /// Digit `k` of `row` in the layout's mixed radix, shifted by the first digit.
    fn digit(&self, layout: &KeyLayout, row: u64, k: usize) -> u64 {
        let mut rest = row;
        let mut first = 0;
        for (i, comp) in layout.components.iter().enumerate() {
            let d = match comp.radix {
                Some(r) if r > 0 => {
                    let d = rest % r;
                    rest /= r;
                    if i == 0 { d } else { (d + self.key.round(&layout.purpose, 3, first as u128) as u64 % r) % r }
                }
                _ => rest,
            };
            if i == 0 {
                first = d;
            }
            if i == k {
                return d;
            }
        }
        rest
    }
}

/// The counter for a key column of this type, or why there is none.
fn counter_for(col: &ColumnProfile, strategy: Option<&Strategy>, rows: u64) -> Result<Counter, String> {
    let kind = super::profile::kind_of(col);
    let limit = declared_chars(&col.pg_type);
    let digits = base36_digits(rows);
    let counter = match (kind, strategy) {
        (ColumnKind::Text, Some(Strategy::Fake(spec)))
            if spec.generator.output() == OutputKind::Text && limit.is_none_or(|l| l >= digits + 6) =>
        {
            Counter::Fake { spec: Box::new(spec.clone()), digits, limit }
        }
        _ => counter_of_kind(col, kind, rows)?,
    };
    let capacity = counter_capacity(&counter, col);
    if rows > capacity {
        return Err(format!(
            "{rows} rows need {rows} distinct keys, and {} holds {capacity} at most; lower --scale or set --rows \
             for this table",
            col.pg_type
        ));
    }
    Ok(counter)
}

fn counter_of_kind(col: &ColumnProfile, kind: ColumnKind, rows: u64) -> Result<Counter, String> {
    Ok(match kind {
        ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 | ColumnKind::Float32 | ColumnKind::Float64 => {
            Counter::Int
        }
        ColumnKind::Decimal { .. } => Counter::Decimal,
        ColumnKind::Uuid => Counter::Uuid,
        ColumnKind::Date => Counter::Date,
        ColumnKind::Timestamp | ColumnKind::TimestampTz => Counter::Timestamp,
        ColumnKind::Text if is_plain_text(&col.pg_type) => {
            // As wide as the source's values (avg_width counts a 1-byte header), at most the
            // declared length.
            let desired = base36_digits(rows).max(col.avg_width.unwrap_or(9).max(2) as usize - 1);
            Counter::Text { width: desired.min(declared_chars(&col.pg_type).unwrap_or(16)) }
        }
        _ => {
            return Err(format!(
                "doppel cannot generate unique keys of type {} (integers, numerics, plain text, uuids, dates and \
                 timestamps can be)",
                col.pg_type
            ));
        }
    })
}

/// How many distinct counter values the column's type holds.
fn counter_capacity(counter: &Counter, col: &ColumnProfile) -> u64 {
    match (counter, super::profile::kind_of(col)) {
        (Counter::Int, ColumnKind::Int16) => i16::MAX as u64,
        (Counter::Int, ColumnKind::Int32) => i32::MAX as u64,
        (Counter::Int, ColumnKind::Float32) => 1 << 24,
        (Counter::Int, _) => 1 << 53,
        (Counter::Decimal, ColumnKind::Decimal { precision, scale }) => {
            10u64.saturating_pow((precision as i32 - scale as i32).clamp(0, 19) as u32).saturating_sub(1)
        }
        (Counter::Text { width }, _) => 36u64.saturating_pow(*width as u32),
        (Counter::Fake { digits, .. }, _) => 36u64.saturating_pow(*digits as u32),
        (Counter::Date, _) => 2_000_000,
        _ => 1 << 56,
    }
}

/// Base-36 digits needed to count `n` values.
fn base36_digits(n: u64) -> usize {
    let (mut digits, mut capacity) = (1, 36u128);
    while capacity < n as u128 {
        capacity *= 36;
        digits += 1;
    }
    digits
}

/// The counter's value for digit `d` (0-based).
fn counter_cell(counter: &Counter, d: u64, key: &DomainKey, purpose: &[u8]) -> Cell {
    match counter {
        Counter::Int => Cell::Int(d as i64 + 1),
        Counter::Decimal => Cell::Text((d + 1).to_string()),
        Counter::Text { width } => Cell::Text(base36(d, *width)),
        Counter::Fake { spec, digits, limit } => {
            let mut rng = key.rng(b"generate unique fake", &[purpose, &d.to_le_bytes()[..]].concat(), 0);
            let FakeValue::Text(text) = fake::generate(spec, &mut rng, 0) else {
                return Cell::Text(base36(d, *digits));
            };
            Cell::Text(unique_text(&text, &base36(d, *digits).to_ascii_lowercase(), *limit))
        }
        Counter::Uuid => {
            let mut u: [u8; 16] = key.hash(purpose, b"uuid").as_bytes()[..16].try_into().expect("16 bytes");
            u[8..].copy_from_slice(&d.to_be_bytes());
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
            Cell::Uuid(u)
        }
        // From 2000-01-01.
        Counter::Date => Cell::Days(10_957 + d as i64),
        Counter::Timestamp => Cell::Micros(946_684_800_000_000 + d as i64 * 1_000_000),
    }
}

/// `text` made unique by `suffix`: before the `@` of an email (`local.suffix@domain`), else
/// after a space; the text is cut so the whole fits `limit` characters.
fn unique_text(text: &str, suffix: &str, limit: Option<usize>) -> String {
    let room = |taken: usize| limit.map_or(usize::MAX, |l| l.saturating_sub(taken));
    match text.split_once('@') {
        Some((local, domain)) => {
            let local: String = local.chars().take(room(domain.chars().count() + suffix.len() + 2)).collect();
            format!("{local}.{suffix}@{domain}")
        }
        None => {
            let base: String = text.chars().take(room(suffix.len() + 1)).collect();
            format!("{} {suffix}", base.trim_end())
        }
    }
}

/// The generator of a column outside keys: statistics for kept columns, the rule for
/// personal ones.
fn column_values(
    col: &ColumnProfile,
    strategy: Option<&Strategy>,
    rows: u64,
    purpose: Vec<u8>,
    perm: &Perm,
) -> Result<ColumnGen, String> {
    let kind = super::profile::kind_of(col);
    let limit = declared_chars(&col.pg_type);
    let null_frac = col.null_frac.unwrap_or(0.0);
    let distinct = distinct_for(col.n_distinct, rows, null_frac);
    let width = col.avg_width.unwrap_or(8).max(1) as usize;
    let synthetic = || -> Result<Rest, String> {
        if synthetic_supported(kind, &col.pg_type) {
            Ok(Rest::Synthetic { kind, pg_type: col.pg_type.clone(), width, limit })
        } else {
            Err(format!(
                "no statistics to generate values of type {} from, and no rule generator: keep the column with \
                 analysed statistics, give it a fake rule, or null",
                col.pg_type
            ))
        }
    };
    let values = |bands: Bands, common: Vec<String>, rest: Rest| {
        ColumnGen::Values(Box::new(ColumnValues { bands, common, rest, purpose: purpose.clone(), limit, check: None }))
    };
    match strategy {
        Some(Strategy::Null) => Ok(ColumnGen::Null),
        Some(Strategy::Fake(spec)) => Ok(values(
            Bands::new(rows, null_frac, &[], distinct, *perm),
            Vec::new(),
            Rest::Fake(Box::new(spec.clone())),
        )),
        Some(Strategy::Keep) | None if !col.is_personal() => {
            let common = col.most_common_vals.clone();
            let freqs = &col.most_common_freqs;
            if col.histogram_bounds.len() < 2 && !common.is_empty() {
                return Ok(values(
                    Bands::common_only(rows, null_frac, freqs, *perm),
                    common,
                    synthetic().unwrap_or(Rest::Text { bounds: col.most_common_vals.clone(), suffix: false, limit }),
                ));
            }
            let bands = Bands::new(rows, null_frac, freqs, distinct, *perm);
            let numbers: Vec<f64> = col.histogram_bounds.iter().filter_map(|b| bound_number(b, kind)).collect();
            let rest = if numbers.len() >= 2 {
                Rest::Numeric { bounds: numbers, kind }
            } else if !col.histogram_bounds.is_empty() && kind == ColumnKind::Text {
                Rest::Text { bounds: col.histogram_bounds.clone(), suffix: is_plain_text(&col.pg_type), limit }
            } else {
                synthetic()?
            };
            Ok(values(bands, common, rest))
        }
        _ => Ok(values(Bands::new(rows, null_frac, &[], distinct, *perm), Vec::new(), synthetic()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_fakes_keep_their_shape_and_fit() {
        assert_eq!(unique_text("maude.schaden@example.com", "0k3", None), "maude.schaden.0k3@example.com");
        assert_eq!(unique_text("maude.schaden@example.com", "0k3", Some(20)), "maud.0k3@example.com");
        assert_eq!(unique_text("Kuhn and Sons", "01", Some(8)), "Kuhn 01");
        assert_eq!(base36_digits(36), 1);
        assert_eq!(base36_digits(37), 2);
    }
}
