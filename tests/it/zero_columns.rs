//! Tables without columns (`CREATE TABLE t ();`, rows from `INSERT … DEFAULT VALUES`): scan's
//! suggestion passes check, and every target keeps their number of rows.

use crate::common;

use std::path::{Path, PathBuf};

use common::pg::{Cluster, cluster};
use common::{doppel, doppel_run, stderr};

/// A source with `public.nocols` (no columns, 5 rows), `public.nocols_empty` (no columns, no
/// rows) and `public.n` (one column, 2 rows); and scan's rules for it, written to `dir`.
fn source_and_scanned_rules(c: &Cluster, dir: &Path) -> (String, PathBuf) {
    let db = c.create_database("zero_cols");
    c.psql(
        &db,
        "CREATE TABLE nocols (); INSERT INTO nocols SELECT FROM generate_series(1, 5); \
         CREATE TABLE nocols_empty (); \
         CREATE TABLE n (id int PRIMARY KEY); INSERT INTO n VALUES (1), (2);",
    );
    let out = doppel(&["scan", "--from", &c.url(&db)], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, &out.stdout).unwrap();
    (db, rules)
}

fn run(rules: &Path, from: &str, to: &str) {
    let out = doppel_run(rules, from, to, &[]);
    assert!(out.status.success(), "{from} → {to}: {}", stderr(&out));
}

/// The source copied with scan's rules to `name` in a temporary directory: the directory
/// (kept alive), the rules and the output's path.
fn copied_to(c: &Cluster, name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (db, rules) = source_and_scanned_rules(c, dir.path());
    let out = dir.path().join(name);
    run(&rules, &c.url(&db), out.to_str().unwrap());
    (dir, rules, out)
}

fn assert_counts(c: &Cluster, db: &str) {
    assert_eq!(c.scalar(db, "SELECT count(*) FROM nocols"), "5");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM nocols_empty"), "0");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM n"), "2");
}

#[test]
fn scans_suggestion_for_a_table_without_columns_passes_check_and_copies_its_rows() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (db, rules) = source_and_scanned_rules(c, dir.path());
    let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db)], None);
    assert!(out.status.success(), "{}", stderr(&out));

    let target = c.create_database("zero_cols_pg");
    run(&rules, &c.url(&db), &c.url(&target));
    assert_counts(c, &target);

    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(
        text.contains("[tables.\"public.nocols\"]\n# no columns: copying it copies only its number of rows"),
        "{text}"
    );
}

#[test]
fn a_table_without_columns_keeps_its_rows_in_a_sql_dump() {
    let c = cluster();
    let (_dir, _, dump) = copied_to(c, "out.sql");
    let sql = std::fs::read_to_string(&dump).unwrap();
    assert!(sql.contains("COPY \"public\".\"nocols\" FROM stdin;\n\n\n\n\n\n\\.\n"), "as pg_dump writes it");

    let restored = c.create_database("zero_cols_restored");
    c.load_file(&restored, &dump);
    assert_counts(c, &restored);
}

#[test]
fn a_table_without_columns_keeps_its_rows_through_parquet() {
    let c = cluster();
    let (_dir, rules, parquet) = copied_to(c, "out");
    // Any Parquet reader sees the rows (in a placeholder column).
    let file = std::fs::File::open(parquet.join("public.nocols.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 5);
    if let Some(python) = common::python() {
        // pyarrow (scripts/test.sh installs it) agrees.
        let script =
            "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print(t.num_rows, t.num_columns)";
        let out = std::process::Command::new(python)
            .args(["-c", script])
            .arg(parquet.join("public.nocols.parquet"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5 1", "{}", stderr(&out));
    }

    // Back into PostgreSQL (an existing database with the tables), and through check.
    let target = c.create_database("zero_cols_back");
    c.psql(&target, "CREATE TABLE nocols (); CREATE TABLE nocols_empty (); CREATE TABLE n (id int PRIMARY KEY);");
    let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", parquet.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    run(&rules, parquet.to_str().unwrap(), &c.url(&target));
    assert_counts(c, &target);

    // Into a table that has columns, rows without values are refused, naming the table.
    let other = c.create_database("zero_cols_cols");
    c.psql(&other, "CREATE TABLE nocols (a int); CREATE TABLE nocols_empty (); CREATE TABLE n (id int PRIMARY KEY);");
    let out = doppel_run(&rules, parquet.to_str().unwrap(), &c.url(&other), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("public.nocols: the input table has no columns and the target table has some"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.scalar(&other, "SELECT count(*) FROM n"), "0", "nothing was loaded");
}
