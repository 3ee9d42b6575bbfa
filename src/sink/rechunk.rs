//! Re-cuts a stream of batches into batches of exactly `rows` rows (the last may be
//! shorter), so what a writer sees — and so its output bytes — never depends on the batch
//! size the source or the user chose.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use arrow_select::concat::concat_batches;

pub struct Rechunker {
    rows: usize,
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl Rechunker {
    pub fn new(schema: SchemaRef, rows: usize) -> Rechunker {
        Rechunker { rows: rows.max(1), schema, pending: Vec::new(), pending_rows: 0 }
    }

    /// Adds a batch; returns the full chunks now available.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Vec<RecordBatch>, ArrowError> {
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.rows - self.pending_rows).min(batch.num_rows() - offset);
            self.pending.push(batch.slice(offset, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == self.rows {
                out.push(self.take_pending()?);
            }
        }
        Ok(out)
    }

    /// The last, possibly short, chunk.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.pending_rows == 0 { Ok(None) } else { self.take_pending().map(Some) }
    }

    fn take_pending(&mut self) -> Result<RecordBatch, ArrowError> {
        let batch = if self.pending.len() == 1 {
            self.pending.pop().unwrap_or_else(|| RecordBatch::new_empty(self.schema.clone()))
        } else {
            concat_batches(&self.schema, &self.pending)?
        };
        self.pending.clear();
        self.pending_rows = 0;
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn cuts_at_fixed_row_counts_whatever_the_input_batches() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        let batch = |r: std::ops::Range<i32>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from_iter_values(r))]).unwrap()
        };
        let mut r = Rechunker::new(schema.clone(), 4);
        let mut out = Vec::new();
        for range in [0..3, 3..4, 4..11] {
            out.extend(r.push(&batch(range)).unwrap());
        }
        out.extend(r.finish().unwrap());
        let sizes: Vec<usize> = out.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, vec![4, 4, 3]);
        let values: Vec<i32> = out
            .iter()
            .flat_map(|b| b.column(0).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec())
            .collect();
        assert_eq!(values, (0..11).collect::<Vec<_>>());
    }
}
