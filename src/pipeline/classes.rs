//! Equivalence classes of a table's output on its `quasi_identifiers`: how many rows share
//! each combination of their values, counted as the run passes the output batches by
//! ([`crate::audit::risk`] turns the counts into the report's k-anonymity section).
//!
//! ```text
//! output batch ──▶ ClassCounter::add (XXH3 of the values' fingerprints) ──▶ count per fingerprint
//!                    │ past `cap` distinct classes: sorted runs of (fingerprint, count) on disk
//!                    ▼
//! ClassCounter::finish ──▶ ClassCounts (class size → number of classes, distinct values per column)
//! ```
//!
//! Exact: each value is fingerprinted (XXH3-64 of its canonical bytes, see
//! [`crate::strategy::values::value_key`]; NULL is a value of its own), and each class is
//! counted by the XXH3-64 of its values' fingerprints. Two distinct tuples share a fingerprint
//! with probability about n²/2⁶⁵ for n classes or values of a column (below 3·10⁻⁶ for ten
//! million), which could only merge two classes, never split one.
//!
//! Memory: a hash map of fingerprint → count, 16 bytes per class plus the map's slack (at most
//! about 37 bytes per class; about 110 MB at the default cap while the map grows or is written
//! out). Past [`DEFAULT_CAP`] classes (`DOPPEL_RISK_CLASSES` sets another) the map is written to
//! disk as a sorted run (16 bytes per class) and emptied; the runs are merged when the table
//! ends ([`crate::verify::spill`], in a temporary directory `doppel-classes-*` removed afterwards). The figures
//! stay exact; only the time grows. Besides, each quasi-identifier's distinct values are
//! estimated by a sketch of [`DISTINCT_SKETCH`] fingerprints (8 KB), to choose which one the
//! report suggests generalising.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use arrow_array::{Array, RecordBatch};

use crate::error::{Error, Result};
use crate::strategy::values::value_key;
use crate::verify::collect::FastHasher;
use crate::verify::spill::{Part, Record, Runs, SpillDir};

/// Maps keyed by fingerprints (already well mixed): a cheap hasher is enough.
type Fast = BuildHasherDefault<FastHasher>;

/// Classes held in memory before they are written to disk.
pub const DEFAULT_CAP: usize = 1 << 21;

/// Classes a foreign key's counter holds in memory before it writes them to disk (about 10 MB
/// at the most: a table may have several foreign keys, each counted before and after).
pub const REFERENCE_CAP: usize = 1 << 18;

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
    /// Distinct values per quasi-identifier (none for a foreign key).
    distinct: Vec<Distinct>,
    /// A foreign key's references: rows with a NULL in any column reference nothing and are
    /// not counted.
    references: bool,
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
    /// [`DISTINCT_SKETCH`], estimated beyond by a k-minimum-values sketch (within about 3%).
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
            references: false,
            rows: 0,
            buf: Vec::new(),
        }
    }

    /// A counter of the rows referencing each key of a foreign key over `columns`: its classes
    /// are the referenced keys, their sizes the children per parent. Rows with a NULL in the
    /// key reference nothing and are not counted; no distinct-value sketch. At most
    /// [`REFERENCE_CAP`] classes in memory, the rest on disk.
    pub fn references(columns: Vec<usize>) -> ClassCounter {
        ClassCounter { references: true, distinct: Vec::new(), ..ClassCounter::with_cap(columns, REFERENCE_CAP) }
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
        let referencing = |row: usize| self.columns.iter().all(|&i| batch.column(i).is_valid(row));
        let rows: Vec<usize> = match self.references {
            true => (0..batch.num_rows()).filter(|&row| referencing(row)).collect(),
            false => (0..batch.num_rows()).collect(),
        };
        for &row in &rows {
            self.buf.clear();
            for column in &hashes {
                self.buf.extend_from_slice(&column[row].to_le_bytes());
            }
            *self.classes.entry(twox_hash::XxHash3_64::oneshot_with_seed(SEED, &self.buf)).or_default() += 1;
            if self.classes.len() >= self.cap {
                self.spill()?;
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Writes the classes held in memory as one sorted run and empties the map.
    fn spill(&mut self) -> Result<()> {
        if self.spilled.is_none() {
            let dir = SpillDir::with_run_records(Part::Classes, self.cap)?;
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Int32Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

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
    pub(crate) fn fixture() -> Vec<RecordBatch> {
        vec![
            batch(vec![Some(1), Some(1), None, Some(2)], vec![Some("A"), Some("A"), Some("A"), Some("A")]),
            batch(vec![Some(1), Some(1), Some(1), Some(2)], vec![None, Some("A"), None, Some("B")]),
        ]
    }

    pub(crate) fn count(cap: usize, batches: &[RecordBatch]) -> ClassCounts {
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
    fn references_count_children_per_key_and_skip_rows_with_a_null() {
        // (date, code): (1, "A") × 3 and (2, "A"), (2, "B") once; rows with a NULL are not counted.
        let mut counter = ClassCounter::references(vec![1, 2]);
        for b in fixture() {
            counter.add(&b).unwrap();
        }
        let counts = counter.finish().unwrap();
        assert_eq!((counts.rows, counts.sizes), (5, BTreeMap::from([(1, 2), (3, 1)])));
        assert!(counts.distinct.is_empty());
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
}
