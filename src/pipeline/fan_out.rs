//! Foreign-key fan-out counted as the run passes: for each foreign key of a table, the rows
//! referencing each key (children per parent) in the source batches and in the output
//! batches, by a [`ClassCounter`] over the key's columns (bounded memory: it spills to disk).
//! When every column of the key is kept, the output's references are the source's and are
//! counted once. [`crate::audit`] turns the counts into the report's figures, with the
//! referenced tables' rows.

use arrow_array::RecordBatch;

use super::classes::{ClassCounter, ClassCounts};
use crate::error::Result;
use crate::plan::{Strategy, TablePlan};
use crate::schema::SourceTable;

/// A foreign key's counts of referencing rows per key.
#[derive(Debug, Clone)]
pub struct CountedFanOut {
    pub name: String,
    pub columns: Vec<String>,
    /// The referenced table.
    pub parent: String,
    /// The source's; `None` when the key's columns are kept (the same as `after`).
    pub before: Option<ClassCounts>,
    pub after: ClassCounts,
}

/// One foreign key's counters.
pub struct FanOutCounter {
    name: String,
    columns: Vec<String>,
    indexes: Vec<usize>,
    parent: String,
    before: Option<ClassCounter>,
    after: ClassCounter,
}

impl FanOutCounter {
    /// A counter per foreign key of `source` (the table as the source describes it) whose
    /// columns `table` has.
    pub fn for_table(table: &TablePlan, source: &SourceTable) -> Vec<FanOutCounter> {
        source
            .foreign_keys
            .iter()
            .filter_map(|fk| {
                let indexes: Vec<usize> =
                    fk.columns.iter().map(|c| table.schema.index_of(c).ok()).collect::<Option<_>>()?;
                let kept = indexes.iter().all(|i| {
                    table.columns.iter().find(|c| c.index == *i).is_some_and(|c| matches!(c.strategy, Strategy::Keep))
                });
                Some(FanOutCounter {
                    name: fk.name.clone(),
                    columns: fk.columns.clone(),
                    parent: fk.references_table.clone(),
                    before: (!kept).then(|| ClassCounter::references(indexes.clone())),
                    after: ClassCounter::references(indexes.clone()),
                    indexes,
                })
            })
            .collect()
    }

    /// The schema indexes of the key's columns (they must be decoded, not carried).
    pub fn columns(&self) -> &[usize] {
        &self.indexes
    }

    /// Counts a source batch and the output batch made from it.
    pub fn add(&mut self, source: &RecordBatch, output: &RecordBatch) -> Result<()> {
        if let Some(before) = &mut self.before {
            before.add(source)?;
        }
        self.after.add(output)
    }

    pub fn finish(self) -> Result<CountedFanOut> {
        Ok(CountedFanOut {
            name: self.name,
            columns: self.columns,
            parent: self.parent,
            before: self.before.map(ClassCounter::finish).transpose()?,
            after: self.after.finish()?,
        })
    }
}
