//! Golden test: the main job's output on the shop fixture, first rows of every table,
//! compared with fixtures/shop/golden/. Any change to generators, seeding, hashing or the
//! rules changes these files; review the diff, then regenerate with
//! `DOPPEL_BLESS=1 cargo test --test it golden::`.

use crate::common;

use arrow_array::Array;
use arrow_cast::display::ArrayFormatter;
use common::*;

const ROWS: usize = 8;

fn render(batch: &arrow_array::RecordBatch) -> String {
    let mut out = String::new();
    for row in 0..ROWS.min(batch.num_rows()) {
        out.push_str(&format!("-- row {}\n", row + 1));
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let value = if column.is_null(row) {
                "NULL".to_string()
            } else {
                ArrayFormatter::try_new(column.as_ref(), &Default::default()).unwrap().value(row).to_string()
            };
            out.push_str(&format!("{}: {}\n", field.name(), value));
        }
    }
    out
}

#[test]
fn main_job_output_matches_the_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let run = run_shop(&out_dir, TEST_KEY, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let bless = std::env::var_os("DOPPEL_BLESS").is_some();
    let mut mismatches = Vec::new();
    for table in ["public.customers", "public.orders", "public.order_items", "public.support_tickets"] {
        let actual = render(&concat(&read_table(&out_dir, table)));
        let path = root().join(format!("fixtures/shop/golden/{table}.txt"));
        if bless {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("{} is missing; run DOPPEL_BLESS=1 cargo test --test it golden::", path.display())
        });
        if expected != actual {
            mismatches.push(table);
        }
    }
    assert!(
        mismatches.is_empty(),
        "output differs from the golden files for {mismatches:?}; if the change is intended, review it and run \
         DOPPEL_BLESS=1 cargo test --test it golden::"
    );
}
