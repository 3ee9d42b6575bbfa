//! Per-column value generators driven by a column's statistics. Every value is a pure
//! function of (key, seed, table, column, row index): no state is carried from row to row,
//! so any row can be generated alone (shards, parallel chunks).
//!
//! A column's rows are laid out in *bands* after a keyed permutation of the row indexes
//! ([`Perm`], an affine bijection of `0..rows`): the first `null_frac · rows` permuted
//! positions are NULL, then one band per most common value (`freq · rows` positions each),
//! then the rest, spread evenly over `distinct` slots. So the null fraction and the frequent
//! values' frequencies come out as the profile says (to a row), and the rest has exactly the
//! profile's distinct count (scaled when `n_distinct` < 0) unless the type's range is too
//! small to hold it. A rest slot becomes a value:
//!
//! - kept numbers, dates, times, timestamps: a point of the histogram, slots spread evenly
//!   over the buckets (equal population) and uniformly within each bucket;
//! - kept text: a histogram bound, with ` 2`, ` 3`, … appended for the slots beyond the bounds
//!   (plain text types only, cut to the declared length); other text-held types (enums, json,
//!   inet, …) take the bounds as they are;
//! - personal `fake` columns: the rules' generator, seeded with a ChaCha8 rng from the keyed
//!   hash of (seed, table, column, slot);
//! - other personal columns: a value of the column's kind from the keyed hash of the slot
//!   (letters of the column's average width, numbers, dates from 1940 to 2010, …).

use std::fmt::Write as _;

use ::fake::rand::SeedableRng;
use ::fake::rand::rngs::ChaCha8Rng;

use crate::pg::decode::ColumnBuilder;
use crate::pg::text_forms::{self, ValueError};
use crate::pg::types::ColumnKind;
use crate::secret::DomainKey;
use crate::transform::fake::{self, FakeSpec, FakeValue};

/// One generated cell, in the most direct form for its column's Arrow builder.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    /// PostgreSQL's text form (decoded like a COPY field).
    Text(String),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Days(i64),
    /// Microseconds (since 1970 for timestamps, since midnight for times).
    Micros(i64),
    Bool(bool),
    Uuid([u8; 16]),
    Bytes(Vec<u8>),
}

/// Appends `cell` to `b`; a value the column's type cannot hold is an error (never changed).
pub fn append(b: &mut ColumnBuilder, cell: &Cell) -> Result<(), ValueError> {
    let range = |what| ValueError::OutOfRange(what);
    match (b, cell) {
        (b, Cell::Null) => b.append_null(),
        (ColumnBuilder::Int16(b), Cell::Int(v)) => b.append_value(i16::try_from(*v).map_err(|_| range("Int16"))?),
        (ColumnBuilder::Int32(b), Cell::Int(v)) => b.append_value(i32::try_from(*v).map_err(|_| range("Int32"))?),
        (ColumnBuilder::Int64(b), Cell::Int(v)) => b.append_value(*v),
        (ColumnBuilder::Float32(b), Cell::Float(v)) => b.append_value(*v as f32),
        (ColumnBuilder::Float64(b), Cell::Float(v)) => b.append_value(*v),
        (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(*v),
        (ColumnBuilder::Text(b), Cell::Text(v)) => b.append_value(v),
        (ColumnBuilder::Date(b), Cell::Days(v)) => b.append_value(
            i32::try_from(*v)
                .ok()
                .filter(|d| !matches!(*d, text_forms::DATE_INFINITY | text_forms::DATE_NEG_INFINITY))
                .ok_or(range("Date32"))?,
        ),
        (ColumnBuilder::Time(b), Cell::Micros(v)) => b.append_value(*v),
        (ColumnBuilder::Timestamp(b, _), Cell::Micros(v)) => b.append_value(*v),
        (ColumnBuilder::Uuid(b), Cell::Uuid(v)) => b.append_value(v).expect("a uuid is 16 bytes"),
        (ColumnBuilder::Bytea(b, _), Cell::Bytes(v)) => b.append_value(v),
        (b, Cell::Text(v)) => b.append(v.as_bytes())?,
        (b, other) => b.append(text_of(other).as_bytes())?,
    }
    Ok(())
}

/// The text form of a typed cell (for a column of another kind, e.g. a number in a text column).
pub fn text_of(cell: &Cell) -> String {
    let mut s = String::new();
    match cell {
        Cell::Null => {}
        Cell::Text(t) => s.push_str(t),
        Cell::Int(v) => s.push_str(itoa::Buffer::new().format(*v)),
        Cell::Float(v) => {
            let _ = write!(s, "{v}");
        }
        Cell::Days(d) => {
            let (y, m, d) = text_forms::civil_from_days(*d);
            let _ = write!(s, "{:04}-{m:02}-{d:02}", y.max(1));
        }
        Cell::Micros(v) => {
            let (days, in_day) = (v.div_euclid(86_400_000_000), v.rem_euclid(86_400_000_000));
            let (y, m, d) = text_forms::civil_from_days(days);
            let secs = in_day / 1_000_000;
            let _ = write!(
                s,
                "{:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
                y.max(1),
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                in_day % 1_000_000
            );
        }
        Cell::Bool(b) => s.push(if *b { 't' } else { 'f' }),
        Cell::Uuid(u) => crate::transform::hash::format_uuid(u, &mut s),
        Cell::Bytes(b) => {
            s.push_str("\\x");
            for byte in b {
                let _ = write!(s, "{byte:02x}");
            }
        }
    }
    s
}

/// A keyed bijection of `0..n`: `i ↦ (a·i + b) mod n` with `a` coprime to `n`.
#[derive(Debug, Clone, Copy)]
pub struct Perm {
    n: u64,
    a: u64,
    b: u64,
}

impl Perm {
    pub fn new(n: u64, h1: u64, h2: u64) -> Perm {
        if n <= 1 {
            return Perm { n: n.max(1), a: 1, b: 0 };
        }
        let mut a = h1 % n;
        if a == 0 {
            a = 1;
        }
        while gcd(a, n) != 1 {
            a = a % (n - 1) + 1;
        }
        Perm { n, a, b: h2 % n }
    }

    pub fn apply(&self, i: u64) -> u64 {
        ((self.a as u128 * (i % self.n) as u128 + self.b as u128) % self.n as u128) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Where a row falls among a column's bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Null,
    /// The k-th most common value.
    Common(usize),
    /// One of the other values: slot in `0..distinct`.
    Rest(u64),
}

/// The bands of one column over `rows` rows (see the module docs).
#[derive(Debug, Clone)]
pub struct Bands {
    perm: Perm,
    null_rows: u64,
    /// Cumulative end positions of the most common values' bands.
    common_ends: Vec<u64>,
    rest_distinct: u64,
}

impl Bands {
    /// `freqs` are fractions of all rows; `distinct` counts the non-NULL distinct values,
    /// frequent ones included.
    pub fn new(rows: u64, null_frac: f64, freqs: &[f64], distinct: u64, perm: Perm) -> Bands {
        let null_rows = ((null_frac.clamp(0.0, 1.0) * rows as f64).round() as u64).min(rows);
        let mut end = null_rows;
        let mut common_ends = Vec::with_capacity(freqs.len());
        for f in freqs {
            end = (end + (f.clamp(0.0, 1.0) * rows as f64).round() as u64).min(rows);
            common_ends.push(end);
        }
        let rest_rows = rows - end;
        let rest_distinct = distinct.saturating_sub(freqs.len() as u64).clamp(1, rest_rows.max(1));
        Bands { perm, null_rows, common_ends, rest_distinct }
    }

    /// Every non-NULL row among the frequent values, in proportion to their frequencies (when
    /// the statistics list no other value: no histogram).
    pub fn common_only(rows: u64, null_frac: f64, freqs: &[f64], perm: Perm) -> Bands {
        let total: f64 = freqs.iter().sum();
        let scale = if total > 0.0 { (1.0 - null_frac.clamp(0.0, 1.0)) / total } else { 0.0 };
        let scaled: Vec<f64> = freqs.iter().map(|f| f * scale).collect();
        let mut bands = Bands::new(rows, null_frac, &scaled, freqs.len() as u64, perm);
        // Rounding may leave a few rows: they go to the last frequent value.
        if let Some(last) = bands.common_ends.last_mut() {
            *last = rows;
        }
        bands
    }

    /// The number of frequent values' bands.
    pub fn common_count(&self) -> usize {
        self.common_ends.len()
    }

    pub fn rest_distinct(&self) -> u64 {
        self.rest_distinct
    }

    pub fn locate(&self, row: u64) -> Band {
        let r = self.perm.apply(row);
        if r < self.null_rows {
            return Band::Null;
        }
        let k = self.common_ends.partition_point(|&end| end <= r);
        if k < self.common_ends.len() {
            return Band::Common(k);
        }
        let start = self.common_ends.last().copied().unwrap_or(self.null_rows);
        Band::Rest((r - start) % self.rest_distinct)
    }
}

/// How the slots of the rest band become values.
#[derive(Debug, Clone)]
pub enum Rest {
    /// Histogram bounds as numbers in the kind's unit; slots spread over the buckets.
    Numeric { bounds: Vec<f64>, kind: ColumnKind },
    /// Histogram bounds as text; `suffix`: slots beyond the bounds append a number (plain
    /// text types), cut to `limit` characters.
    Text { bounds: Vec<String>, suffix: bool, limit: Option<usize> },
    /// A personal column's rule generator.
    Fake(Box<FakeSpec>),
    /// A value of the column's kind from the keyed hash of the slot.
    Synthetic { kind: ColumnKind, pg_type: String, width: usize, limit: Option<usize> },
}

/// One non-key column's generator.
#[derive(Debug, Clone)]
pub struct ColumnValues {
    pub bands: Bands,
    /// Text forms of the frequent values.
    pub common: Vec<String>,
    pub rest: Rest,
    /// Hashes and seeds for this column: purpose bytes `table.column`.
    pub purpose: Vec<u8>,
    pub limit: Option<usize>,
    /// A simple CHECK the values are folded into (personal and synthetic columns).
    pub check: Option<super::checks::SimpleCheck>,
}

impl ColumnValues {
    pub fn value(&self, key: &DomainKey, row: u64) -> Cell {
        let (cell, slot) = match self.bands.locate(row) {
            Band::Null => return Cell::Null,
            Band::Common(k) => (Cell::Text(self.common[k].clone()), k as u64),
            Band::Rest(slot) => (self.rest_value(key, slot), slot),
        };
        match &self.check {
            Some(check) => check.apply(cell, slot),
            None => cell,
        }
    }

    fn rest_value(&self, key: &DomainKey, slot: u64) -> Cell {
        let distinct = self.bands.rest_distinct();
        match &self.rest {
            Rest::Numeric { bounds, kind } => numeric(bounds, *kind, slot, distinct),
            Rest::Text { bounds, suffix, limit } => {
                // Slots are spread over the bounds; the first slot of a bound is the bound itself.
                let len = bounds.len() as u64;
                let (j, o) = if *suffix && distinct > len {
                    let per = distinct.div_ceil(len);
                    ((slot / per) as usize, slot % per)
                } else {
                    ((slot * len / distinct) as usize, 0)
                };
                let base = &bounds[j.min(bounds.len() - 1)];
                if o == 0 {
                    return Cell::Text(base.clone());
                }
                Cell::Text(with_number(base, o, slot, *limit))
            }
            Rest::Fake(spec) => {
                let mut input = Vec::with_capacity(self.purpose.len() + 8);
                input.extend_from_slice(&self.purpose);
                input.extend_from_slice(&slot.to_le_bytes());
                let mut rng = key.rng(b"generate fake", &input, 0);
                fake_cell(&fake::generate(spec, &mut rng, 0), spec, self.limit)
            }
            Rest::Synthetic { kind, pg_type, width, limit } => {
                synthetic(key, &self.purpose, slot, *kind, pg_type, *width, *limit)
            }
        }
    }
}

/// `base` with occurrence `o` (≥ 1) appended: ` 2`, ` 3`, … or, in a column too short for
/// that, the slot in base 36, as wide as the column.
fn with_number(base: &str, o: u64, slot: u64, limit: Option<usize>) -> String {
    let spaced = format!(" {}", o + 1);
    match limit {
        Some(l) if l < spaced.len() + 1 => base36(slot, l.max(1)),
        _ => fit_with_tail(base, &spaced, limit),
    }
}

/// `v` in base 36 (`0`–`9`, `A`–`Z`), `width` digits (the lowest ones when it has more).
pub fn base36(mut v: u64, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut digits = vec![b'0'; width];
    for d in digits.iter_mut().rev() {
        *d = DIGITS[(v % 36) as usize];
        v /= 36;
    }
    String::from_utf8(digits).expect("ASCII digits")
}

/// `base` followed by `tail`, `base` cut so the whole fits `limit` characters.
fn fit_with_tail(base: &str, tail: &str, limit: Option<usize>) -> String {
    let keep = match limit {
        Some(l) => l.saturating_sub(tail.chars().count()),
        None => usize::MAX,
    };
    let mut s: String = base.chars().take(keep).collect();
    s.push_str(tail);
    s
}

/// Cuts `s` to `limit` characters.
fn cut(mut s: String, limit: Option<usize>) -> String {
    if let Some(l) = limit
        && let Some((i, _)) = s.char_indices().nth(l)
    {
        s.truncate(i);
    }
    s
}

/// The point of the histogram for `slot` of `distinct`, rounded to the kind.
fn numeric(bounds: &[f64], kind: ColumnKind, slot: u64, distinct: u64) -> Cell {
    let buckets = bounds.len().saturating_sub(1).max(1);
    let q = (slot as f64 + 0.5) / distinct as f64 * buckets as f64;
    let b = (q.floor() as usize).min(buckets - 1);
    let (lo, hi) = (bounds[b.min(bounds.len() - 1)], bounds[(b + 1).min(bounds.len() - 1)]);
    let v = lo + (hi - lo) * (q - b as f64).clamp(0.0, 1.0);
    match kind {
        ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => Cell::Int(v.round() as i64),
        ColumnKind::Float32 | ColumnKind::Float64 => Cell::Float(v),
        ColumnKind::Date => Cell::Days(v.round() as i64),
        ColumnKind::Time | ColumnKind::Timestamp | ColumnKind::TimestampTz => Cell::Micros(v.round() as i64),
        ColumnKind::Decimal { scale, .. } => Cell::Text(format!("{v:.*}", scale.max(0) as usize)),
        _ => Cell::Text(format!("{v}")),
    }
}

/// A histogram bound as a number of the kind's unit, `None` for infinities and other kinds.
pub fn bound_number(text: &str, kind: ColumnKind) -> Option<f64> {
    let b = text.as_bytes();
    let v = match kind {
        ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => text_forms::parse_i64(b).ok()? as f64,
        ColumnKind::Float32 | ColumnKind::Float64 | ColumnKind::Decimal { .. } => text_forms::parse_f64(b).ok()?,
        ColumnKind::Date => text_forms::parse_date(b).ok()? as f64,
        ColumnKind::Time => text_forms::parse_time(b).ok()? as f64,
        ColumnKind::Timestamp => text_forms::parse_timestamp(b, false).ok()? as f64,
        ColumnKind::TimestampTz => text_forms::parse_timestamp(b, true).ok()? as f64,
        _ => return None,
    };
    v.is_finite().then_some(v).filter(|v| v.abs() < 9.0e18)
}

/// A generated value as a cell of a column of `spec`'s generator; text cut to `limit`.
pub fn fake_cell(v: &FakeValue, spec: &FakeSpec, limit: Option<usize>) -> Cell {
    match v {
        FakeValue::Text(s) => Cell::Text(cut(s.clone(), limit)),
        FakeValue::Date(d) => Cell::Days(i64::from(*d)),
        FakeValue::DateTime(us) => Cell::Micros(*us),
        FakeValue::Integer(i) => Cell::Int(*i),
        FakeValue::Decimal(f) => {
            let scale = spec.scale.unwrap_or(2) as usize;
            Cell::Text(format!("{f:.scale$}"))
        }
        FakeValue::Boolean(b) => Cell::Bool(*b),
        FakeValue::Uuid(u) => Cell::Uuid(*u),
    }
}

/// Whether a column of this PostgreSQL type holds plain text (to which a suffix may be added).
pub fn is_plain_text(pg_type: &str) -> bool {
    ["text", "character varying", "character", "citext", "name", "varchar", "bpchar"]
        .iter()
        .any(|t| pg_type == *t || pg_type.starts_with(&format!("{t}(")))
}

/// Whether [`synthetic`] can make values of this column (plain text, json, or a non-text kind).
pub fn synthetic_supported(kind: ColumnKind, pg_type: &str) -> bool {
    kind != ColumnKind::Text || is_plain_text(pg_type) || matches!(pg_type, "json" | "jsonb")
}

/// A value of the column's kind from the keyed hash of `slot` (see the module docs).
pub fn synthetic(
    key: &DomainKey,
    purpose: &[u8],
    slot: u64,
    kind: ColumnKind,
    pg_type: &str,
    width: usize,
    limit: Option<usize>,
) -> Cell {
    let h = key.round(purpose, 0, slot as u128) as u64;
    match kind {
        ColumnKind::Int16 => Cell::Int((h % 32_000) as i64),
        ColumnKind::Int32 | ColumnKind::Int64 => Cell::Int((h % 1_000_000) as i64),
        ColumnKind::Float32 | ColumnKind::Float64 => Cell::Float((h % 1_000_000) as f64 / 100.0),
        ColumnKind::Decimal { precision, scale } => {
            let digits = (precision as i32 - scale as i32).clamp(0, 6) as u32;
            let whole = h % 10u64.pow(digits);
            let frac = (h >> 32) % 10u64.pow(scale.clamp(0, 6) as u32);
            Cell::Text(if scale > 0 {
                format!("{whole}.{frac:0w$}", w = scale.min(6) as usize)
            } else {
                whole.to_string()
            })
        }
        ColumnKind::Bool => Cell::Bool(h & 1 == 1),
        // 1940-01-01 ..= 2010-12-31, like the `date` generator's default.
        ColumnKind::Date => Cell::Days(-10_957 + (h % 25_932) as i64),
        ColumnKind::Time => Cell::Micros((h % 86_400) as i64 * 1_000_000),
        // 2015-01-01 ..= 2025-12-31, like `datetime`.
        ColumnKind::Timestamp | ColumnKind::TimestampTz => {
            Cell::Micros(1_420_070_400_000_000 + (h % 347_155_200) as i64 * 1_000_000)
        }
        ColumnKind::Uuid => {
            let mut u: [u8; 16] = key.hash(purpose, &slot.to_le_bytes()).as_bytes()[..16].try_into().expect("16 bytes");
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
            Cell::Uuid(u)
        }
        ColumnKind::Bytea => {
            Cell::Bytes(key.hash(purpose, &slot.to_le_bytes()).as_bytes()[..width.clamp(1, 32)].to_vec())
        }
        ColumnKind::Text if matches!(pg_type, "json" | "jsonb") => Cell::Text(format!("{{\"n\": {}}}", h % 1_000_000)),
        ColumnKind::Text => {
            let mut rng = ChaCha8Rng::seed_from_u64(h);
            let len = width.clamp(1, limit.unwrap_or(usize::MAX).max(1));
            Cell::Text(letters(&mut rng, len))
        }
    }
}

/// `len` lower-case letters, a capital first.
fn letters(rng: &mut ChaCha8Rng, len: usize) -> String {
    use ::fake::rand::RngExt;
    (0..len)
        .map(|i| {
            let c = (b'a' + rng.random_range(0..26u8)) as char;
            if i == 0 { c.to_ascii_uppercase() } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections() {
        for n in [1u64, 2, 7, 10, 830, 1024] {
            let p = Perm::new(n, 0x9e37_79b9_7f4a_7c15, 12345);
            let mut seen: Vec<u64> = (0..n).map(|i| p.apply(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }

    #[test]
    fn bands_give_the_null_fraction_frequencies_and_distinct_count_exactly() {
        let rows = 10_000;
        let bands = Bands::new(rows, 0.1, &[0.3, 0.2], 502, Perm::new(rows, 77, 5));
        let mut nulls = 0;
        let mut common = [0u64; 2];
        let mut slots = std::collections::BTreeSet::new();
        for i in 0..rows {
            match bands.locate(i) {
                Band::Null => nulls += 1,
                Band::Common(k) => common[k] += 1,
                Band::Rest(s) => {
                    slots.insert(s);
                }
            }
        }
        assert_eq!((nulls, common), (1000, [3000, 2000]));
        assert_eq!(slots.len(), 500);
    }

    #[test]
    fn histogram_points_stay_within_the_bounds_and_spread_over_them() {
        let bounds = [0.0, 10.0, 1000.0];
        let values: Vec<Cell> = (0..10).map(|s| numeric(&bounds, ColumnKind::Int32, s, 10)).collect();
        assert_eq!(values[0], Cell::Int(1));
        assert_eq!(values[9], Cell::Int(901));
        assert!(values.iter().all(|v| matches!(v, Cell::Int(x) if (0..=1000).contains(x))));
    }

    #[test]
    fn cells_fill_typed_builders_and_refuse_what_does_not_fit() {
        let mut b = ColumnBuilder::new(ColumnKind::Int16, 4);
        append(&mut b, &Cell::Int(7)).unwrap();
        append(&mut b, &Cell::Text("8".into())).unwrap();
        assert!(append(&mut b, &Cell::Int(40_000)).is_err());
        let mut d = ColumnBuilder::new(ColumnKind::Decimal { precision: 6, scale: 2 }, 2);
        append(&mut d, &Cell::Text("12.50".into())).unwrap();
        let mut t = ColumnBuilder::new(ColumnKind::Timestamp, 2);
        append(&mut t, &Cell::Text(text_of(&Cell::Micros(1_420_070_400_000_001)))).unwrap();
        assert_eq!(text_of(&Cell::Days(0)), "1970-01-01");
        assert_eq!(fit_with_tail("Chocolade", " 12", Some(8)), "Choco 12");
        assert_eq!(with_number("WA", 1, 37, Some(2)), "11");
        assert_eq!(with_number("Tofu", 2, 9, Some(40)), "Tofu 3");
    }
}
