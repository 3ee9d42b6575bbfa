//! Parquet → PostgreSQL (`ExistingTablesSink`), through the binary: the target's schema is made
//! beforehand (here with `pg_dump --schema-only | psql`), doppel loads its empty tables in one
//! transaction. A round trip PostgreSQL → Parquet → PostgreSQL of the trade fixture keeps rows and kept
//! values; tables that do not fit, a non-empty table, a failure in the middle of the load and a
//! protected database leave every table empty; foreign keys hold whatever the load order.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::pg::cluster;
use common::{assert_rows_and_kept_values, doppel, doppel_run, quoted, root, schema_dump, stderr};
use doppel::plan;
use doppel::rules::load_rules;
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;

fn trade_rules() -> PathBuf {
    root().join("tests/fixtures/pg/trade.toml")
}

/// `doppel run --from <from> --to <to>` with the test key.
fn run(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    doppel_run(rules, from, to, extra)
}

/// The tables of database `db` (PostgreSQL → Parquet) written into a new directory.
fn to_parquet(db: &str, rules: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("pq");
    let out = run(rules, &cluster().url(db), out_dir.to_str().unwrap(), &[]);
    assert!(out.status.success(), "to Parquet: {}", stderr(&out));
    dir
}

/// A new database with the schema (no rows) of `db`.
fn empty_copy_of(db: &str) -> String {
    let c = cluster();
    let target = c.create_database(&format!("{db}_schema"));
    c.psql(&target, &schema_dump(db));
    target
}

fn trade_tables() -> Vec<String> {
    let c = cluster();
    c.psql(
        &c.trade(),
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn total_rows(db: &str, tables: &[String]) -> i64 {
    tables
        .iter()
        .map(|t| cluster().scalar(db, &format!("SELECT count(*) FROM {}", quoted(t))).parse::<i64>().unwrap())
        .sum()
}

#[test]
fn trade_round_trip_keeps_rows_kept_values_and_foreign_keys() {
    let c = cluster();
    let source = c.trade();
    let parquet = to_parquet(&source, &trade_rules());
    let target = empty_copy_of(&source);
    // Several tables at once: their COPYs take the one connection in turn, in no set order.
    let out = run(&trade_rules(), parquet.path().join("pq").to_str().unwrap(), &c.url(&target), &["--jobs", "3"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());

    let rules = load_rules(&trade_rules()).unwrap();
    let pg = PostgresSource::open(&c.url(&source)).unwrap();
    let plan = plan::bind(&rules, pg.tables()).unwrap();
    assert_rows_and_kept_values(&plan, &source, &target);
    // Every foreign key is back, validated, with the same definition.
    let keys = "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated \
                FROM pg_constraint WHERE contype = 'f' ORDER BY 1";
    let (source_keys, target_keys) = (c.psql(&source, keys), c.psql(&target, keys));
    assert!(source_keys.lines().count() >= 10, "{source_keys}");
    assert_eq!(source_keys, target_keys);
}

#[test]
fn tables_that_do_not_fit_are_all_named_and_nothing_is_loaded() {
    let c = cluster();
    let source = c.trade();
    let parquet = to_parquet(&source, &trade_rules());
    let target = empty_copy_of(&source);
    c.psql(
        &target,
        "DROP TABLE public.us_states; \
         ALTER TABLE public.categories DROP COLUMN description; \
         ALTER TABLE public.region ALTER COLUMN region_description TYPE integer USING 0; \
         ALTER TABLE public.shippers ADD COLUMN rating integer NOT NULL; \
         INSERT INTO public.customer_demographics VALUES ('X', 'a row already there')",
    );
    let out = run(&trade_rules(), parquet.path().join("pq").to_str().unwrap(), &c.url(&target), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    for expected in [
        "5 problem(s)",
        "public.us_states: the table is not in the target",
        "public.categories.description: the input has this column and the target table does not",
        "public.region.region_description: the input column is Utf8 and the target column is integer",
        "public.shippers.rating: the target column is NOT NULL without a default",
        "public.customer_demographics: the target table is not empty",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let mut tables = trade_tables();
    tables.retain(|t| t != "public.us_states" && t != "public.customer_demographics");
    assert_eq!(total_rows(&target, &tables), 0);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.customer_demographics"), "1");
}

#[test]
fn a_failure_in_the_middle_of_the_load_leaves_every_table_empty() {
    let c = cluster();
    let source = c.trade();
    let parquet = to_parquet(&source, &trade_rules());
    let target = empty_copy_of(&source);
    // The other tables load fine; products breaks this index.
    c.psql(&target, "CREATE UNIQUE INDEX one_product_per_category ON public.products (category_id)");
    // Several tables at once: whichever reports first, the message names the table that failed.
    let out = run(&trade_rules(), parquet.path().join("pq").to_str().unwrap(), &c.url(&target), &["--jobs", "3"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("table public.products") && err.contains("one_product_per_category"), "{err}");
    assert!(err.contains("SQLSTATE 23505") && !err.contains("Key ("), "no value in the message: {err}");
    assert_eq!(total_rows(&target, &trade_tables()), 0);
    // The foreign keys set aside for the load are back.
    let keys = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'";
    assert_eq!(c.scalar(&target, keys), c.scalar(&source, keys));
}

const FAMILY_SCHEMA: &str = "\
    CREATE TABLE public.b_parent (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, \
        boss integer REFERENCES public.b_parent (id)); \
    CREATE TABLE public.a_child (id bigserial PRIMARY KEY, \
        parent_id integer NOT NULL CONSTRAINT child_parent REFERENCES public.b_parent (id) ON DELETE CASCADE, \
        qty integer NOT NULL, double_qty integer GENERATED ALWAYS AS (qty * 2) STORED); \
    COMMENT ON CONSTRAINT child_parent ON public.a_child IS 'every child has a parent';";

const FAMILY_RULES: &str = r#"
version = 1
[tables."public.b_parent"]
keep = ["id", "name", "boss"]
[tables."public.a_child"]
keep = ["id", "parent_id", "qty", "double_qty"]
"#;

/// A source database with the parent/child pair and its Parquet copy; the rules file.
fn family() -> (String, tempfile::TempDir, PathBuf) {
    let c = cluster();
    let source = c.create_database("family");
    c.psql(&source, FAMILY_SCHEMA);
    c.psql(
        &source,
        "INSERT INTO public.b_parent (name, boss) SELECT 'p' || i, CASE WHEN i > 1 THEN i - 1 END \
         FROM generate_series(1, 50) i; \
         INSERT INTO public.a_child (parent_id, qty) SELECT 1 + i % 50, i FROM generate_series(1, 500) i",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("family.toml");
    std::fs::write(&rules, FAMILY_RULES).unwrap();
    let out = run(&rules, &c.url(&source), dir.path().join("pq").to_str().unwrap(), &[]);
    assert!(out.status.success(), "to Parquet: {}", stderr(&out));
    (source, dir, rules)
}

/// A new database with the parent/child schema, empty.
fn family_target() -> String {
    let c = cluster();
    let target = c.create_database("family_target");
    c.psql(&target, FAMILY_SCHEMA);
    target
}

#[test]
fn a_child_sorting_before_its_parent_loads_and_identity_and_sequences_continue() {
    let c = cluster();
    let (source, dir, rules) = family();
    // The target's own schema: one more column, with a default, that the input lacks.
    let target = family_target();
    c.psql(&target, "ALTER TABLE public.a_child ADD COLUMN note text NOT NULL DEFAULT 'loaded'");
    // --jobs 1: tables in name order, the child first.
    let out = run(&rules, dir.path().join("pq").to_str().unwrap(), &c.url(&target), &["--jobs", "1"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());

    let rows = "COPY (SELECT c.id, c.parent_id, c.qty, c.double_qty, p.name, p.boss FROM public.a_child c \
                JOIN public.b_parent p ON p.id = c.parent_id ORDER BY c.id) TO STDOUT";
    assert!(c.psql(&source, rows) == c.psql(&target, rows), "rows differ");
    assert_eq!(c.scalar(&target, "SELECT string_agg(DISTINCT note, ',') FROM public.a_child"), "loaded");
    // The foreign keys are back, valid, with their comment.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"), "2");
    assert_eq!(
        c.scalar(
            &target,
            "SELECT obj_description(oid, 'pg_constraint') FROM pg_constraint WHERE conname = 'child_parent'"
        ),
        "every child has a parent"
    );
    // Identity and serial continue above the loaded values.
    assert_eq!(c.scalar(&target, "INSERT INTO public.b_parent (name) VALUES ('new') RETURNING id"), "51");
    assert_eq!(c.scalar(&target, "INSERT INTO public.a_child (parent_id, qty) VALUES (51, 1) RETURNING id"), "501");
}

#[test]
fn protected_targets_and_replace_are_refused() {
    let c = cluster();
    let (_source, dir, rules) = family();
    let target = family_target();
    let pq = dir.path().join("pq");
    let out = run(&rules, pq.to_str().unwrap(), &c.url(&target), &["--replace"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));

    let out = doppel(&["protect", &target, "--url", &c.url("postgres")], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&rules, pq.to_str().unwrap(), &c.url(&target), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("is protected"), "{}", stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.b_parent"), "0");
}

#[test]
fn a_load_dropped_without_commit_like_ctrl_c_leaves_the_tables_empty_and_their_keys_in_place() {
    use std::sync::Arc;

    use arrow_array::{Int32Array, RecordBatch, StringArray};
    use doppel::sink::Sink;
    use doppel::sink::postgres::existing::ExistingTablesSink;

    let c = cluster();
    let target = family_target();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as _),
        ("name", Arc::new(StringArray::from(vec!["a", "b"])) as _),
        ("boss", Arc::new(Int32Array::from(vec![None, Some(1)])) as _),
    ])
    .unwrap();
    let tables = vec![("public.b_parent".to_string(), batch.schema())];
    let mut sink = ExistingTablesSink::open(&c.url(&target), &tables).unwrap();
    let mut table = sink.open_table("public.b_parent", batch.schema()).unwrap();
    table.write(&batch).unwrap();
    table.finish().unwrap();
    // The self-referencing key is set aside while the load runs, invisibly to other sessions.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), "2");
    drop(sink);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.b_parent"), "0");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), "2");
}
