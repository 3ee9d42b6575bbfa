//! Re-identification risk: how many output rows share each combination of a table's
//! `quasi_identifiers` values (its equivalence classes), shown in the audit report as
//! k-anonymity with the share of rows singled out, and the rule change that would help.
//!
//! ```text
//! output batch ──▶ ClassCounter::add (XXH3 of the tuple of output values) ──▶ count per fingerprint
//!                    │ past `cap` distinct classes: sorted runs of (fingerprint, count) on disk
//!                    ▼
//! ClassCounter::finish ──▶ ClassCounts (class size → number of classes) ──▶ RiskSection (the report)
//! ```
//!
//! Counted in the run's one pass over the output ([`crate::pipeline`] calls [`ClassCounter::add`]
//! with every transformed batch of the table), so the figures describe what was published, not
//! the source. Exact: each value is fingerprinted (XXH3-64 of its canonical bytes, see
//! [`crate::strategy::values::value_key`]; NULL is a value of its own), and each class is
//! counted by the XXH3-64 of its values' fingerprints. Two distinct tuples share a fingerprint
//! with probability about n²/2⁶⁵ for n classes or values of a column (below 3·10⁻⁶ for ten
//! million), which could only merge two classes, never split one.
//!
//! Memory: a hash map of fingerprint → count, 16 bytes per class plus the map's slack (at most
//! about 37 bytes per class; about 110 MB at the default cap while the map grows or is written
//! out). Past [`DEFAULT_CAP`] classes (`DOPPEL_RISK_CLASSES` sets another)
//! the map is written to disk as a sorted run (16 bytes per class) and emptied; the runs are
//! merged when the table ends ([`crate::verify::spill`], in a temporary directory removed
//! afterwards). The figures stay exact; only the time grows. Besides, each quasi-identifier's
//! distinct values are estimated by a sketch of [`DISTINCT_SKETCH`] fingerprints to choose which one to
//! suggest generalising.
//!
//! Nothing of a value reaches the report: only column names and counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{Strategy, TablePlan};
use crate::rules::suggestion::Rule;
use crate::strategy::generalise::{GeneraliseSpec, Period};
use crate::strategy::values::value_key;
use crate::verify::collect::FastHasher;
use crate::verify::spill::{Record, Runs, SpillDir};

/// Maps keyed by fingerprints (already well mixed): a cheap hasher is enough.
type Fast = BuildHasherDefault<FastHasher>;

/// Classes held in memory before they are written to disk.
pub const DEFAULT_CAP: usize = 1 << 21;

/// Fingerprints a quasi-identifier's distinct-value sketch keeps (for the suggestion only).
pub const DISTINCT_SKETCH: usize = 1024;

/// The fixed seed of the tuple fingerprints (the same in every run).
const SEED: u64 = 0x646f_7070_656c_2d6b; // "doppel-k"

/// Counts the equivalence classes of one table's output on its quasi-identifiers.
pub struct ClassCounter {
    /// Schema indexes of the quasi-identifiers.
    columns: Vec<usize>,
    classes: HashMap<u64, u64, Fast>,
    cap: usize,
    spilled: Option<(SpillDir, Runs<Class>)>,
    /// Distinct values per quasi-identifier.
    distinct: Vec<Distinct>,
    rows: u64,
    buf: Vec<u8>,
}

/// What a counter found: rows, class sizes, distinct values per quasi-identifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassCounts {
    pub rows: u64,
    /// Class size → number of classes of that size.
    pub sizes: BTreeMap<u64, u64>,
    /// Distinct values per quasi-identifier, in the rules' order: exact up to
    /// [`DISTINCT_SKETCH`], estimated beyond (see [`Distinct`]).
    pub distinct: Vec<u64>,
}

impl ClassCounter {
    /// A counter over the schema indexes `columns`, holding at most `DOPPEL_RISK_CLASSES`
    /// (default [`DEFAULT_CAP`]) classes in memory.
    pub fn new(columns: Vec<usize>) -> Result<ClassCounter> {
        let cap =
            match std::env::var("DOPPEL_RISK_CLASSES") {
                Ok(v) => v.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    Error::Usage("DOPPEL_RISK_CLASSES must be a whole number of 1 or more".to_string())
                })?,
                Err(_) => DEFAULT_CAP,
            };
        Ok(ClassCounter::with_cap(columns, cap))
    }

    pub fn with_cap(columns: Vec<usize>, cap: usize) -> ClassCounter {
        let distinct = columns.iter().map(|_| Distinct::default()).collect();
        ClassCounter {
            columns,
            classes: HashMap::default(),
            cap: cap.max(1),
            spilled: None,
            distinct,
            rows: 0,
            buf: Vec::new(),
        }
    }

    /// Counts every row of an output batch (in the table's schema order). Each column's
    /// value fingerprints are computed side by side (on the rayon pool the caller runs in),
    /// then each row's tuple is the fingerprint of its values' fingerprints.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        use rayon::prelude::*;
        let hashes: Vec<Vec<u64>> =
            self.columns.par_iter().map(|&i| value_fingerprints(batch.column(i).as_ref())).collect();
        for (seen, column) in self.distinct.iter_mut().zip(&hashes) {
            column.iter().for_each(|&h| seen.add(h));
        }
        for row in 0..batch.num_rows() {
            self.buf.clear();
            for column in &hashes {
                self.buf.extend_from_slice(&column[row].to_le_bytes());
            }
            *self.classes.entry(twox_hash::XxHash3_64::oneshot_with_seed(SEED, &self.buf)).or_default() += 1;
            if self.classes.len() >= self.cap {
                self.spill()?;
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes the classes held in memory as one sorted run and empties the map.
    fn spill(&mut self) -> Result<()> {
        if self.spilled.is_none() {
            let dir = SpillDir::with_run_records(self.cap)?;
            let runs = Runs::new(&dir);
            self.spilled = Some((dir, runs));
        }
        let Some((dir, runs)) = &mut self.spilled else { return Ok(()) };
        runs.add_run(dir, self.classes.drain().map(|(fp, n)| Class(fp, n)).collect())?;
        Ok(())
    }

    /// The class sizes (merging the runs on disk, if any).
    pub fn finish(mut self) -> Result<ClassCounts> {
        let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
        match self.spilled.take() {
            None => {
                for n in self.classes.values() {
                    *sizes.entry(*n).or_default() += 1;
                }
            }
            Some((dir, mut runs)) => {
                runs.add_run(&dir, self.classes.drain().map(|(fp, n)| Class(fp, n)).collect())?;
                for class in runs.into_sorted(&dir)? {
                    *sizes.entry(class?.1).or_default() += 1;
                }
            }
        }
        let distinct = self.distinct.iter().map(Distinct::estimate).collect();
        Ok(ClassCounts { rows: self.rows, sizes, distinct })
    }
}

/// A column's distinct values, estimated from the [`DISTINCT_SKETCH`] smallest fingerprints
/// (a k-minimum-values sketch): exact up to that many, within about 3% (one standard error)
/// beyond. Most rows cost one comparison.
#[derive(Default)]
struct Distinct(BTreeSet<u64>);

impl Distinct {
    fn add(&mut self, h: u64) {
        if self.0.len() < DISTINCT_SKETCH {
            self.0.insert(h);
        } else if self.0.last().is_some_and(|&max| h < max) && self.0.insert(h) {
            self.0.pop_last();
        }
    }

    fn estimate(&self) -> u64 {
        match self.0.last() {
            Some(&max) if self.0.len() == DISTINCT_SKETCH => {
                ((DISTINCT_SKETCH - 1) as f64 * (u64::MAX as f64 / max.max(1) as f64)) as u64
            }
            _ => self.0.len() as u64,
        }
    }
}

/// The fingerprint of every value of `array`: XXH3 of its canonical bytes, 0 for NULL.
fn value_fingerprints(array: &dyn Array) -> Vec<u64> {
    let mut value = Vec::new();
    (0..array.len())
        .map(|row| {
            if array.is_null(row) {
                return 0;
            }
            value.clear();
            value_key(array, row, &mut value);
            twox_hash::XxHash3_64::oneshot_with_seed(SEED, &value)
        })
        .collect()
}

/// A class on disk: its fingerprint and how many rows it has so far; equal fingerprints fold
/// by adding their counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Class(u64, u64);

impl Record for Class {
    const SIZE: usize = 16;
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.0.to_ne_bytes());
        out[8..16].copy_from_slice(&self.1.to_ne_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        Class(
            u64::from_ne_bytes(b[..8].try_into().expect("8 bytes")),
            u64::from_ne_bytes(b[8..16].try_into().expect("8 bytes")),
        )
    }
    fn fold(&mut self, next: &Self) -> bool {
        if self.0 != next.0 {
            return false;
        }
        self.1 += next.1;
        true
    }
}

/// The `risk` section of a table in the audit report: names and counts only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskSection {
    pub quasi_identifiers: Vec<String>,
    pub rows: u64,
    /// Rows alone in their class (k = 1).
    pub unique_rows: u64,
    /// `unique_rows / rows` (0 without rows).
    pub unique_share: f64,
    /// The smallest class (0 without rows): the table is k-anonymous on its quasi-identifiers.
    pub k: u64,
    /// `[class size, number of classes of that size]`, by size.
    pub classes: Vec<[u64; 2]>,
    /// Counted class by class (always, since classes spill to disk rather than being sketched).
    pub exact: bool,
    /// The error bound of a sketch; `null` when exact.
    pub error_bound: Option<f64>,
    /// Set when some row is alone in its class.
    pub warning: Option<String>,
    /// The rule change that would merge classes, in the rules' words; with the warning.
    pub suggestion: Option<String>,
}

impl RiskSection {
    pub fn new(table: &TablePlan, counts: &ClassCounts) -> RiskSection {
        let names: Vec<String> =
            table.quasi_identifiers.iter().map(|&i| table.schema.field(i).name().clone()).collect();
        let unique_rows = counts.sizes.get(&1).copied().unwrap_or(0);
        let unique_share = if counts.rows == 0 { 0.0 } else { unique_rows as f64 / counts.rows as f64 };
        let k = counts.sizes.keys().next().copied().unwrap_or(0);
        let warning = (k == 1).then(|| {
            let (rows, are) =
                if unique_rows == 1 { ("1 row".to_string(), "is") } else { (format!("{unique_rows} rows"), "are") };
            format!("{rows} ({:.1}%) {are} unique on ({})", unique_share * 100.0, names.join(", "))
        });
        let suggestion = warning.as_ref().and_then(|_| suggestion(table, counts));
        RiskSection {
            quasi_identifiers: names,
            rows: counts.rows,
            unique_rows,
            unique_share,
            k,
            classes: counts.sizes.iter().map(|(&size, &n)| [size, n]).collect(),
            exact: true,
            error_bound: None,
            warning,
            suggestion,
        }
    }
}

/// The rule change for the quasi-identifier with the most distinct output values that can
/// still be made coarser: `generalise <column> to year: { action = "generalise", to = "year" }`.
fn suggestion(table: &TablePlan, counts: &ClassCounts) -> Option<String> {
    let mut order: Vec<(usize, u64)> = table.quasi_identifiers.iter().copied().zip(counts.distinct.clone()).collect();
    order.sort_by_key(|&(_, distinct)| std::cmp::Reverse(distinct));
    order.into_iter().find_map(|(index, _)| {
        let field = table.schema.field(index);
        let current = table.columns.iter().find(|c| c.index == index).map(|c| &c.strategy);
        let (what, rule) = coarser(field, current)?;
        Some(format!("generalise {} {what}: {}", field.name(), rule.render()))
    })
}

/// A coarser rule than `current` for a column like `field`, with words saying what it does;
/// `None` when `generalise` cannot make it coarser.
fn coarser(field: &Field, current: Option<&Strategy>) -> Option<(String, Rule)> {
    let generalise = Rule::new("generalise");
    let now = match current {
        Some(Strategy::Generalise(spec)) => Some(*spec),
        _ => None,
    };
    match field.data_type() {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => match now {
            Some(GeneraliseSpec::Period(Period::Year)) => None,
            _ => Some(("to year".into(), generalise.opt("to", "year"))),
        },
        dt if crate::strategy::types::is_text(dt) => match now {
            Some(GeneraliseSpec::Prefix(1)) => None,
            Some(GeneraliseSpec::Prefix(n)) => {
                Some((format!("to its first {} characters", n - 1), generalise.opt("prefix", (n - 1) as i64)))
            }
            _ => Some(("to its first 3 characters".into(), generalise.opt("prefix", 3))),
        },
        dt if crate::strategy::types::int_range(dt).is_some()
            || matches!(dt, DataType::Decimal128(..) | DataType::Float32 | DataType::Float64) =>
        {
            let band = match now {
                Some(GeneraliseSpec::Band { band, .. }) => band * 10.0,
                _ => 10.0,
            };
            let band = crate::strategy::words::number(band);
            Some((format!("to bands of {band}"), generalise.opt("band", band)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Int32Array, StringArray};
    use arrow_schema::Schema;

    use super::*;

    fn batch(dates: Vec<Option<i32>>, codes: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("date_of_birth", DataType::Date32, true),
            Field::new("postcode", DataType::Utf8, true),
        ]));
        let ids: ArrayRef = Arc::new(Int32Array::from((0..dates.len() as i32).collect::<Vec<_>>()));
        RecordBatch::try_new(schema, vec![ids, Arc::new(Date32Array::from(dates)), Arc::new(StringArray::from(codes))])
            .unwrap()
    }

    /// Classes: (1, "A") × 3, (1, NULL) × 2, (NULL, "A") × 1, (2, "A") × 1, (2, "B") × 1.
    fn fixture() -> Vec<RecordBatch> {
        vec![
            batch(vec![Some(1), Some(1), None, Some(2)], vec![Some("A"), Some("A"), Some("A"), Some("A")]),
            batch(vec![Some(1), Some(1), Some(1), Some(2)], vec![None, Some("A"), None, Some("B")]),
        ]
    }

    fn count(cap: usize, batches: &[RecordBatch]) -> ClassCounts {
        let mut counter = ClassCounter::with_cap(vec![1, 2], cap);
        for b in batches {
            counter.add(b).unwrap();
        }
        counter.finish().unwrap()
    }

    #[test]
    fn classes_are_counted_exactly_with_null_as_a_value_in_memory_and_spilled() {
        let expected = ClassCounts { rows: 8, sizes: BTreeMap::from([(1, 3), (2, 1), (3, 1)]), distinct: vec![3, 3] };
        assert_eq!(count(DEFAULT_CAP, &fixture()), expected);
        for cap in [1, 2, 3] {
            assert_eq!(count(cap, &fixture()), expected, "cap {cap}");
        }
        // The order of rows and batches does not matter.
        let mut reversed = fixture();
        reversed.reverse();
        assert_eq!(count(2, &reversed), expected);
    }

    #[test]
    fn distinct_values_are_exact_when_few_and_estimated_within_a_few_percent_beyond() {
        let mut few = Distinct::default();
        (0..1000u64).chain(0..1000).for_each(|v| few.add(twox_hash::XxHash3_64::oneshot(&v.to_le_bytes())));
        assert_eq!(few.estimate(), 1000);
        let mut many = Distinct::default();
        (0..200_000u64).for_each(|v| many.add(twox_hash::XxHash3_64::oneshot(&v.to_le_bytes())));
        let estimate = many.estimate() as f64;
        assert!((estimate / 200_000.0 - 1.0).abs() < 0.1, "{estimate}");
    }

    #[test]
    fn a_tuple_is_not_confused_with_another_split_differently() {
        // ("ab", "c") and ("a", "bc") are different tuples.
        let schema =
            Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true), Field::new("b", DataType::Utf8, true)]));
        let b = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec!["ab", "a"])), Arc::new(StringArray::from(vec!["c", "bc"]))],
        )
        .unwrap();
        let mut counter = ClassCounter::with_cap(vec![0, 1], 10);
        counter.add(&b).unwrap();
        assert_eq!(counter.finish().unwrap().sizes, BTreeMap::from([(1, 2)]));
    }

    fn plan(strategy: Strategy) -> TablePlan {
        let schema = fixture()[0].schema();
        let column = |name: &str, index: usize, strategy: Strategy| crate::plan::ColumnPlan {
            name: name.into(),
            index,
            data_type: schema.field(index).data_type().clone(),
            nullable: true,
            strategy,
            domain: String::new(),
            unique: false,
            fold_case: false,
            checks: Vec::new(),
            length_limit: None,
            origin: crate::plan::Origin { file: "r.toml".into(), line: 1 },
        };
        TablePlan {
            name: "public.people".into(),
            schema: schema.clone(),
            action: crate::rules::TableAction::Copy,
            columns: vec![
                column("id", 0, Strategy::Keep),
                column("date_of_birth", 1, strategy),
                column("postcode", 2, Strategy::Keep),
            ],
            eval_order: vec![0, 1, 2],
            quasi_identifiers: vec![1, 2],
            origin: crate::plan::Origin { file: "r.toml".into(), line: 1 },
        }
    }

    #[test]
    fn the_section_warns_when_rows_are_singled_out_and_names_the_rule_that_helps() {
        let counts = count(DEFAULT_CAP, &fixture());
        let section = RiskSection::new(&plan(Strategy::Keep), &counts);
        assert_eq!(section.quasi_identifiers, ["date_of_birth", "postcode"]);
        assert_eq!((section.rows, section.unique_rows, section.k), (8, 3, 1));
        assert_eq!(section.unique_share, 3.0 / 8.0);
        assert_eq!(section.classes, vec![[1, 3], [2, 1], [3, 1]]);
        assert_eq!(section.warning.as_deref(), Some("3 rows (37.5%) are unique on (date_of_birth, postcode)"));
        assert_eq!(
            section.suggestion.as_deref(),
            Some("generalise date_of_birth to year: { action = \"generalise\", to = \"year\" }")
        );
        // Dates already by year: the next column with as many distinct values, the postcode.
        let by_year = RiskSection::new(&plan(Strategy::Generalise(GeneraliseSpec::Period(Period::Year))), &counts);
        assert_eq!(
            by_year.suggestion.as_deref(),
            Some("generalise postcode to its first 3 characters: { action = \"generalise\", prefix = 3 }")
        );
        // No row alone: neither warning nor suggestion.
        let pairs = ClassCounts { rows: 4, sizes: BTreeMap::from([(2, 2)]), distinct: vec![2, 2] };
        let safe = RiskSection::new(&plan(Strategy::Keep), &pairs);
        assert_eq!((safe.k, safe.warning, safe.suggestion), (2, None, None));
        let empty = RiskSection::new(&plan(Strategy::Keep), &ClassCounts::default());
        assert_eq!((empty.k, empty.unique_share), (0, 0.0));
        let json = serde_json::to_value(&section).unwrap();
        assert_eq!(json["classes"], serde_json::json!([[1, 3], [2, 1], [3, 1]]));
        assert_eq!(json["error_bound"], serde_json::Value::Null);
    }
}
