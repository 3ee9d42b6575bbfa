//! The per-table collector: one [`ColumnCollector`] per column (profiles of both sides,
//! paired bins, hashed category counts) and one [`Comoment`] pair per correlated pair of
//! columns, fed a source batch and its output batch at a time.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use rayon::prelude::*;

use super::bins::{PairedBins, Side};
use super::distinct::{ByHash, Distinct};
use super::expected::{Category, Expected};
use super::{ColumnUtility, Correlation, Distance, Kind, Metric, Options, Profile, Utility};
use crate::pg::carried;
use crate::pg::types::ColumnKind;
use crate::plan::{Strategy, TablePlan};

/// Distinct values per side whose counts are kept (by hash) for categories and their distance.
const CATEGORY_CAP: usize = 1024;
/// Categories named per column, at most.
const SHOWN_CATEGORIES: usize = 20;
/// Characters of a category's value kept for the page.
const CATEGORY_CHARS: usize = 100;
/// Correlated pairs per table, at most.
const MAX_PAIRS: usize = 16;

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reading {
    /// As numbers, multiplied by the factor (dates to days, timestamps to seconds).
    Number {
        temporal: bool,
        scale: f64,
    },
    Bool,
    Text,
    Other,
}

impl Reading {
    fn of(data_type: &DataType) -> Reading {
        let temporal = |scale| Reading::Number { temporal: true, scale };
        match data_type {
            t if t.is_numeric() => Reading::Number { temporal: false, scale: 1.0 },
            DataType::Date32 => temporal(1.0),
            DataType::Date64 => temporal(1.0 / 86_400_000.0),
            DataType::Timestamp(unit, _) => temporal(match unit {
                TimeUnit::Second => 1.0,
                TimeUnit::Millisecond => 1e-3,
                TimeUnit::Microsecond => 1e-6,
                TimeUnit::Nanosecond => 1e-9,
            }),
            DataType::Boolean => Reading::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Reading::Text,
            _ => Reading::Other,
        }
    }
}

/// One side's values of one batch, read once for the column and its correlations.
enum Values {
    Numbers(Float64Array),
    Bool(arrow_array::BooleanArray),
    Text(arrow_array::StringArray),
    Other(ArrayRef),
}

impl Values {
    fn read(array: &ArrayRef, reading: Reading) -> Values {
        let cast = |to: &DataType| arrow_cast::cast(array, to).ok();
        match reading {
            Reading::Number { scale, .. } => {
                // Dates and timestamps as their stored integers, numbers as floats.
                let numbers = match array.data_type() {
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
                        cast(&DataType::Int64).and_then(|a| arrow_cast::cast(&a, &DataType::Float64).ok())
                    }
                    _ => cast(&DataType::Float64),
                };
                match numbers {
                    Some(a) => {
                        Values::Numbers(a.as_primitive::<arrow_array::types::Float64Type>().unary(|v| v * scale))
                    }
                    None => Values::Other(array.clone()),
                }
            }
            Reading::Bool => Values::Bool(array.as_boolean().clone()),
            Reading::Text => match cast(&DataType::Utf8) {
                Some(a) => Values::Text(a.as_string::<i32>().clone()),
                None => Values::Other(array.clone()),
            },
            Reading::Other => Values::Other(array.clone()),
        }
    }

    fn numbers(&self) -> Option<&Float64Array> {
        match self {
            Values::Numbers(a) => Some(a),
            _ => None,
        }
    }
}

fn hash(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// Counts per distinct value (by hash), with the values themselves only where they may be
/// shown; gives up (and forgets them) past [`CATEGORY_CAP`] distinct values.
#[derive(Debug, Clone, Default)]
struct Categories {
    counts: HashMap<u64, u64, ByHash>,
    names: HashMap<u64, String, ByHash>,
    overflowed: bool,
}

impl Categories {
    fn add(&mut self, hash: u64, value: Option<&str>) {
        if self.overflowed {
            return;
        }
        if let Some(count) = self.counts.get_mut(&hash) {
            *count += 1;
            return;
        }
        if self.counts.len() == CATEGORY_CAP {
            // The caller moves the distinct values on (see [`SideStats::add_category`]).
            self.overflowed = true;
            return;
        }
        self.counts.insert(hash, 1);
        if let Some(value) = value {
            self.names.insert(hash, value.chars().take(CATEGORY_CHARS).collect());
        }
    }

    /// Total variation between two sides' shares, in whole numbers until the last division
    /// (so that it does not depend on the maps' order); `None` when either gave up or is empty.
    fn tv(&self, other: &Categories) -> Option<f64> {
        let (n, m) = (self.counts.values().sum::<u64>() as u128, other.counts.values().sum::<u64>() as u128);
        if self.overflowed || other.overflowed || n == 0 || m == 0 {
            return None;
        }
        let count = |c: &Categories, h: &u64| c.counts.get(h).copied().unwrap_or(0) as u128;
        let mut sum: u128 = self.counts.iter().map(|(h, c)| (*c as u128 * m).abs_diff(count(other, h) * n)).sum();
        sum += other
            .counts
            .iter()
            .filter(|(h, _)| !self.counts.contains_key(h))
            .map(|(_, c)| *c as u128 * n)
            .sum::<u128>();
        Some(sum as f64 / (2 * n * m) as f64)
    }

    /// The named values with at least `min_count` rows, most frequent first (then by value),
    /// at most [`SHOWN_CATEGORIES`]; and the non-null rows not among them.
    fn shown(&self, min_count: u64) -> (Vec<super::Category>, u64) {
        let mut shown: Vec<super::Category> = self
            .counts
            .iter()
            .filter(|(_, c)| **c >= min_count)
            .filter_map(|(h, c)| self.names.get(h).map(|v| super::Category { value: v.clone(), count: *c }))
            .collect();
        shown.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        shown.truncate(SHOWN_CATEGORIES);
        let total: u64 = self.counts.values().sum();
        let named: u64 = shown.iter().map(|c| c.count).sum();
        (shown, total - named)
    }
}

/// One side of one column.
#[derive(Debug, Clone, Default)]
struct SideStats {
    rows: u64,
    nulls: u64,
    /// Distinct values; of text and booleans, only those past the categories' cap (the
    /// categories count the others: one lookup per value, not two).
    distinct: Distinct,
    categories: Categories,
}

impl SideStats {
    fn add_category(&mut self, hash: u64, value: Option<&str>) {
        if self.categories.overflowed {
            self.distinct.add(hash);
            return;
        }
        self.categories.add(hash, value);
        if self.categories.overflowed {
            self.settle();
            self.categories.counts = HashMap::default();
            self.categories.names = HashMap::default();
            self.distinct.add(hash);
        }
    }

    /// Counts the categories' values as distinct values (once, at the end or at the cap).
    fn settle(&mut self) {
        for h in self.categories.counts.keys() {
            self.distinct.add(*h);
        }
    }
}

struct ColumnCollector {
    index: usize,
    name: String,
    reading: Reading,
    /// How the source decodes it: for a column it carries undecoded.
    kind: Option<ColumnKind>,
    personal: bool,
    /// Kept: the output is the source, so only the source side is read.
    kept: bool,
    /// Noised (or kept): a candidate for correlations.
    numeric_rule: bool,
    /// Its output side is read from the second half of a deferred table's run only
    /// ([`TableCollector::defer_outputs`]).
    output_later: bool,
    before: SideStats,
    after: SideStats,
    bins: PairedBins,
    lengths: PairedBins,
}

impl ColumnCollector {
    /// The column's values in `batch`: decoded here when the source carried its bytes
    /// ([`crate::pg::carried`]); as they stand (read as "other" values) if that fails.
    fn decoded(&self, batch: &RecordBatch) -> ArrayRef {
        let array = batch.column(self.index);
        let field = batch.schema_ref().field(self.index);
        let (Some(format), Some(kind), Some(pg_type)) =
            (carried::carried_format(field), self.kind, field.metadata().get(crate::schema::PG_TYPE))
        else {
            return array.clone();
        };
        match carried::decode(array.as_binary::<i32>(), format, kind, pg_type) {
            Ok(decoded) => decoded,
            Err(e) => {
                tracing::warn!(column = %self.name, problem = %e, "the report cannot read this column's values");
                array.clone()
            }
        }
    }

    fn observe(&mut self, before: &Values, after: Option<&Values>) {
        observe_side(&mut self.before, &mut self.bins, &mut self.lengths, Side::Before, before, !self.personal);
        if let Some(after) = after {
            observe_side(&mut self.after, &mut self.bins, &mut self.lengths, Side::After, after, !self.personal);
        }
    }

    fn finish(mut self, options: &Options) -> ColumnUtility {
        self.before.settle();
        self.after.settle();
        if self.kept {
            self.after = self.before.clone();
            self.bins.mirror(Side::Before);
            self.lengths.mirror(Side::Before);
        }
        let categorical = match self.reading {
            Reading::Bool => true,
            Reading::Text => !self.before.categories.overflowed,
            _ => false,
        };
        let kind = match self.reading {
            Reading::Number { temporal: false, .. } => Kind::Numeric,
            Reading::Number { temporal: true, .. } => Kind::Temporal,
            _ if categorical => Kind::Categorical,
            Reading::Text => Kind::Text,
            _ => Kind::Other,
        };
        let distance = match self.reading {
            Reading::Number { .. } => self.bins.ks().map(|value| Distance { metric: Metric::Ks, value }),
            Reading::Bool | Reading::Text => match self.before.categories.tv(&self.after.categories) {
                Some(value) => Some(Distance { metric: Metric::Tv, value }),
                None => self.lengths.ks().map(|value| Distance { metric: Metric::Ks, value }),
            },
            Reading::Other => None,
        };
        let histograms = self.bins.shown();
        let lengths = self.lengths.shown();
        let profile = |stats: &SideStats, histogram, length| {
            let (distinct, distinct_exact) = stats.distinct.count();
            let (categories, other) = match (self.personal || stats.categories.overflowed, categorical) {
                (false, true) => {
                    let (shown, other) = stats.categories.shown(options.min_count);
                    (Some(shown), other)
                }
                _ => (None, 0),
            };
            Profile {
                rows: stats.rows,
                nulls: stats.nulls,
                distinct,
                distinct_exact,
                histogram,
                categories,
                other,
                length,
            }
        };
        let before =
            profile(&self.before, histograms.as_ref().map(|h| h.0.clone()), lengths.as_ref().map(|h| h.0.clone()));
        let after = profile(&self.after, histograms.map(|h| h.1), lengths.map(|h| h.1));
        ColumnUtility { column: self.name, kind, personal: self.personal, before, after, distance }
    }
}

/// Counts one side's values: rows, nulls, distinct, and by reading bins, categories or
/// lengths. `named`: the values of categories may be kept for the page.
fn observe_side(
    stats: &mut SideStats,
    bins: &mut PairedBins,
    lengths: &mut PairedBins,
    side: Side,
    values: &Values,
    named: bool,
) {
    let array: &dyn Array = match values {
        Values::Numbers(a) => a,
        Values::Bool(a) => a,
        Values::Text(a) => a,
        Values::Other(a) => a.as_ref(),
    };
    stats.rows += array.len() as u64;
    stats.nulls += array.null_count() as u64;
    match values {
        Values::Numbers(a) => {
            for v in a.iter().flatten() {
                // -0.0 and 0.0 are one value.
                stats.distinct.add(hash(&(v + 0.0).to_bits().to_le_bytes()));
            }
            bins.add_all(side, a.iter().flatten());
        }
        Values::Bool(a) => {
            for v in a.iter().flatten() {
                stats.add_category(hash(&[v as u8]), Some(if v { "true" } else { "false" }));
            }
        }
        Values::Text(a) => {
            for v in a.iter().flatten() {
                stats.add_category(hash(v.as_bytes()), named.then_some(v));
            }
            // Characters: bytes when the whole batch is ASCII (one pass over its buffer).
            let ascii = a.value_data().is_ascii();
            let length = |v: &str| if ascii { v.len() } else { v.chars().count() } as f64;
            lengths.add_all(side, a.iter().flatten().map(length));
        }
        Values::Other(a) => {
            let options = arrow_cast::display::FormatOptions::default();
            if let Ok(formatter) = arrow_cast::display::ArrayFormatter::try_new(a.as_ref(), &options) {
                for i in (0..a.len()).filter(|i| a.is_valid(*i)) {
                    stats.distinct.add(hash(formatter.value(i).to_string().as_bytes()));
                }
            }
        }
    }
}

/// A running Pearson co-moment (Welford), over the rows where both values are finite.
#[derive(Debug, Clone, Default)]
struct Comoment {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    m2_x: f64,
    m2_y: f64,
    c_xy: f64,
}

impl Comoment {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let dx = x - self.mean_x;
        self.mean_x += dx / self.n;
        let dy = y - self.mean_y;
        self.mean_y += dy / self.n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        self.c_xy += dx * (y - self.mean_y);
    }

    fn add_all(&mut self, x: &Float64Array, y: &Float64Array) {
        for (x, y) in x.iter().zip(y.iter()) {
            if let (Some(x), Some(y)) = (x, y)
                && x.is_finite()
                && y.is_finite()
            {
                self.add(x, y);
            }
        }
    }

    fn r(&self) -> Option<f64> {
        let denominator = (self.m2_x * self.m2_y).sqrt();
        (self.n >= 2.0 && denominator > 0.0).then(|| (self.c_xy / denominator).clamp(-1.0, 1.0))
    }
}

struct Pair {
    /// Positions in the collector's columns.
    columns: (usize, usize),
    before: Comoment,
    after: Comoment,
}

/// Everything one table's figures are built from.
pub struct TableCollector {
    options: Options,
    columns: Vec<ColumnCollector>,
    pairs: Vec<Pair>,
    /// See [`Self::second_half`].
    second_half: bool,
}

impl TableCollector {
    pub fn new(table: &TablePlan, options: Options) -> TableCollector {
        let columns: Vec<ColumnCollector> = table
            .columns
            .iter()
            .map(|c| ColumnCollector {
                index: c.index,
                name: c.name.clone(),
                reading: Reading::of(table.schema.field(c.index).data_type()),
                kind: ColumnKind::of_data_type(table.schema.field(c.index).data_type()),
                personal: c.is_personal(),
                kept: matches!(c.strategy, Strategy::Keep),
                numeric_rule: matches!(c.strategy, Strategy::Keep | Strategy::Noise(_)),
                output_later: false,
                before: SideStats::default(),
                after: SideStats::default(),
                bins: PairedBins::default(),
                lengths: PairedBins::counting(),
            })
            .collect();
        let correlated = |c: &ColumnCollector| matches!(c.reading, Reading::Number { .. }) && c.numeric_rule;
        let mut pairs = Vec::new();
        for (i, a) in columns.iter().enumerate().filter(|(_, c)| correlated(c)) {
            for (j, b) in columns.iter().enumerate().skip(i + 1).filter(|(_, c)| correlated(c)) {
                if (!a.kept || !b.kept) && pairs.len() < MAX_PAIRS {
                    pairs.push(Pair { columns: (i, j), before: Comoment::default(), after: Comoment::default() });
                }
            }
        }
        TableCollector { options, columns, pairs, second_half: false }
    }

    /// For a table run in two halves (`crate::pipeline::deferred`): the output side of the
    /// columns at `indexes` (its unique templates, final only in the second half) is read from
    /// the second half's batches; [`Self::second_half`] marks where it begins.
    pub fn defer_outputs(&mut self, indexes: &[usize]) {
        self.columns.iter_mut().filter(|c| indexes.contains(&c.index)).for_each(|c| c.output_later = true);
    }

    /// From now on, [`Self::observe`] reads only the output side of the columns given to
    /// [`Self::defer_outputs`].
    pub fn second_half(&mut self) {
        self.second_half = true;
    }

    /// A collector of the output alone (`generate`: there is no source batch; the caller
    /// fills the source side from the profile's statistics).
    pub fn for_output(table: &TablePlan, options: Options) -> TableCollector {
        let mut collector = TableCollector::new(table, options);
        collector.columns.iter_mut().for_each(|c| c.kept = false);
        collector.pairs.clear();
        collector
    }

    /// Counts one output batch (see [`Self::for_output`]).
    pub fn observe_output(&mut self, after: &RecordBatch) {
        self.columns.par_iter_mut().for_each(|c| {
            let values = Values::read(after.column(c.index), c.reading);
            observe_side(&mut c.after, &mut c.bins, &mut c.lengths, Side::After, &values, !c.personal);
        });
    }

    /// Fills `column`'s source side from statistics (`generate`: see [`super::expected`]) as
    /// `non_null` values: a histogram over the output's bins for numbers and dates,
    /// categories for text and booleans. Call after the output's batches, before
    /// [`Self::finish`].
    pub fn expect(&mut self, column: &str, expected: &Expected, non_null: u64) {
        let Some(c) = self.columns.iter_mut().find(|c| c.name == column) else { return };
        match (c.reading, expected) {
            (Reading::Number { scale, .. }, Expected::Numbers { .. }) => {
                let (Some(cdf), Some((lo, hi))) = (expected.cdf(), expected.ends()) else { return };
                c.bins.cover(lo * scale);
                c.bins.cover(hi * scale);
                c.bins.expect(Side::Before, &|x| cdf(x / scale), non_null);
            }
            (Reading::Text | Reading::Bool, Expected::Categories(values)) => {
                let total: f64 = values.iter().map(|(_, f)| f.max(0.0)).sum();
                if total <= 0.0 {
                    return;
                }
                let categories = &mut c.before.categories;
                for (value, share) in values {
                    let count = (share.max(0.0) / total * non_null as f64).round() as u64;
                    let (h, name) = match value {
                        Category::Text(v) => (hash(v.as_bytes()), v.as_str()),
                        Category::Bool(b) => (hash(&[*b as u8]), if *b { "true" } else { "false" }),
                    };
                    if count > 0 && categories.counts.len() < CATEGORY_CAP {
                        *categories.counts.entry(h).or_default() += count;
                        if !c.personal {
                            categories.names.insert(h, name.chars().take(CATEGORY_CHARS).collect());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Counts one source batch and the output batch made from it (same rows, same order).
    /// Runs on the caller's rayon pool, a column per task.
    pub fn observe(&mut self, before: &RecordBatch, after: &RecordBatch) {
        if self.second_half {
            self.columns.par_iter_mut().filter(|c| c.output_later).for_each(|c| {
                let values = Values::read(after.column(c.index), c.reading);
                observe_side(&mut c.after, &mut c.bins, &mut c.lengths, Side::After, &values, !c.personal);
            });
            return;
        }
        let values: Vec<(Values, Option<Values>)> = self
            .columns
            .par_iter()
            .map(|c| {
                let read = |batch: &RecordBatch| Values::read(&c.decoded(batch), c.reading);
                (read(before), (!c.kept && !c.output_later).then(|| read(after)))
            })
            .collect();
        self.columns.par_iter_mut().zip(values.par_iter()).for_each(|(c, (b, a))| c.observe(b, a.as_ref()));
        for pair in &mut self.pairs {
            let (x, y) = (&values[pair.columns.0], &values[pair.columns.1]);
            let after = |v: &(Values, Option<Values>)| v.1.as_ref().unwrap_or(&v.0).numbers().cloned();
            if let (Some(bx), Some(by)) = (x.0.numbers(), y.0.numbers()) {
                pair.before.add_all(bx, by);
            }
            if let (Some(ax), Some(ay)) = (after(x), after(y)) {
                pair.after.add_all(&ax, &ay);
            }
        }
    }

    pub fn finish(self) -> Utility {
        let correlations = self
            .pairs
            .iter()
            .map(|p| Correlation {
                columns: [self.columns[p.columns.0].name.clone(), self.columns[p.columns.1].name.clone()],
                before: p.before.r(),
                after: p.after.r(),
            })
            .collect();
        let options = self.options;
        Utility {
            columns: self.columns.into_iter().map(|c| c.finish(&options)).collect(),
            correlations,
            fan_out: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};

    use super::TableCollector;
    use crate::utility::Options;

    #[test]
    fn a_table_run_in_two_halves_gets_the_figures_of_one_pass() {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..500));
        let emails: ArrayRef = Arc::new(StringArray::from_iter_values((0..500).map(|i| format!("p{i}@corp.example"))));
        let source = RecordBatch::try_from_iter([("id", ids.clone()), ("email", emails)]).unwrap();
        let rules = "[tables.\"public.t\"]\nkeep = [\"id\"]\ncolumns.email = { action = \"template\", \
                     template = \"{id}@example.com\", unique = true }\n";
        let plan = crate::transform::tests::plan_for(rules, &[("public.t", &source)]);
        let table = &plan.tables[0];
        let output = |tag: &str| {
            let emails: ArrayRef =
                Arc::new(StringArray::from_iter_values((0..500).map(|i| format!("{}{tag}@x", i % 7))));
            RecordBatch::try_from_iter([("id", ids.clone()), ("email", emails)]).unwrap()
        };
        let (candidates, last) = (output(""), output(".2"));
        let options = Options { min_count: 1 };
        let mut one_pass = TableCollector::new(table, options);
        one_pass.observe(&source, &last);
        let mut halves = TableCollector::new(table, options);
        halves.defer_outputs(&[1]);
        halves.observe(&source, &candidates);
        halves.second_half();
        halves.observe(&candidates, &last);
        assert_eq!(halves.finish(), one_pass.finish());
    }
}
