//! PostgreSQL → SQL dump (`--to file.sql`, `--to -`): the script restores with psql into an
//! empty database with the same rows, schema and sequences as the database target; two runs
//! give the same bytes; a truncated script restores no rows; an existing file is refused
//! without --replace; a failed run leaves no file.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::pg::cluster;
use common::{schema_dump, sequences, visible_entries};
use doppel::sink::Sink;
use doppel::sink::postgres::dump::{DumpSink, Prepared};
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;

fn run(rules: &Path, source_db: &str, to: &str, extra: &[&str]) -> Output {
    common::doppel_run(rules, &cluster().url(source_db), to, extra)
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", common::stderr(out));
}

/// `psql -X -v ON_ERROR_STOP=1 -d db -f file`, as docs/sql-dump.md says to restore.
fn restore(db: &str, file: &Path) -> Output {
    let c = cluster();
    c.client("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(c.url(db))
        .arg("-f")
        .arg(file)
        .output()
        .expect("run psql")
}

/// Every user table as `schema.table` with its column count.
fn tables(db: &str) -> Vec<(String, usize)> {
    cluster()
        .psql(
            db,
            "SELECT format('%I.%I', n.nspname, c.relname), (SELECT count(*) FROM pg_attribute a \
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        )
        .lines()
        .map(|l| {
            let (t, n) = l.split_once('|').unwrap();
            (t.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// Asserts that `a` and `b` hold the same schema, rows and sequences.
fn assert_same_database(a: &str, b: &str) {
    let c = cluster();
    assert_eq!(schema_dump(a), schema_dump(b), "schemas differ");
    let list = tables(a);
    assert_eq!(list, tables(b));
    assert!(!list.is_empty());
    for (t, n) in &list {
        let order: Vec<String> = (1..=*n).map(|i| i.to_string()).collect();
        let copy = format!("COPY (SELECT * FROM {t} ORDER BY {}) TO STDOUT", order.join(", "));
        let (x, y) = (c.psql(a, &copy), c.psql(b, &copy));
        assert!(x == y, "rows of {t} differ");
    }
    assert_eq!(sequences(a), sequences(b), "sequences differ");
    assert_eq!(c.scalar(b, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
}

fn total_rows(db: &str) -> u64 {
    let c = cluster();
    tables(db).iter().map(|(t, _)| c.scalar(db, &format!("SELECT count(*) FROM {t}")).parse::<u64>().unwrap()).sum()
}

#[test]
fn a_trade_dump_restores_like_the_database_target_and_is_byte_identical_across_runs() {
    let c = cluster();
    let source = c.trade();
    let rules = common::root().join("tests/fixtures/pg/trade.toml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trade.sql");
    ok(&run(&rules, &source, file.to_str().unwrap(), &[]));
    let target = format!("{source}_db");
    ok(&run(&rules, &source, &c.url(&target), &[]));

    let restored = c.create_database("dump_restored");
    let out = restore(&restored, &file);
    assert!(out.status.success(), "restore: {}", common::stderr(&out));
    assert_same_database(&target, &restored);
    assert!(total_rows(&restored) > 1000);

    // The same input, rules and key: the same bytes, and no leftovers beside the file.
    let again = dir.path().join("again.sql");
    ok(&run(&rules, &source, again.to_str().unwrap(), &[]));
    let (a, b) = (std::fs::read(&file).unwrap(), std::fs::read(&again).unwrap());
    assert!(a == b, "two runs gave different dumps");
    let text = String::from_utf8(a).unwrap();
    assert!(text.contains("\\restrict doppel"), "a fixed restrict key");
    assert!(text.trim_end().ends_with("COMMIT;"), "COMMIT is the last statement");
    let names = visible_entries(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");

    // `--to -` writes the same script to stdout.
    let out = run(&rules, &source, "-", &[]);
    ok(&out);
    assert!(out.stdout == text.as_bytes(), "stdout differs from the file");
}

#[test]
fn a_truncated_dump_restores_no_rows() {
    let c = cluster();
    let source = c.club();
    let rules = common::root().join("tests/fixtures/pg/club.toml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("club.sql");
    ok(&run(&rules, &source, file.to_str().unwrap(), &[]));
    let text = std::fs::read_to_string(&file).unwrap();
    let begin = text.find("\nBEGIN;\n").unwrap();
    let commit = text.rfind("COMMIT;").unwrap();
    // Cut in the middle of the data (mid-row), at the end of a COPY block, and just before COMMIT.
    let end_of_block = begin + text[begin..].find("\\.\n").unwrap() + 3;
    for cut in [begin + (commit - begin) / 2, end_of_block, commit] {
        let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap();
        let truncated = dir.path().join("truncated.sql");
        std::fs::write(&truncated, &text[..cut]).unwrap();
        let db = c.create_database("dump_truncated");
        let _ = restore(&db, &truncated);
        assert_eq!(total_rows(&db), 0, "cut at {cut} of {}", text.len());
        assert!(!tables(&db).is_empty(), "the schema itself was restored");
    }
    // The whole file restores the rows.
    let db = c.create_database("dump_whole");
    let out = restore(&db, &file);
    assert!(out.status.success(), "restore: {}", common::stderr(&out));
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM cd.members"), "31");
}

#[test]
fn an_existing_file_is_refused_without_replace_and_replaced_with_it() {
    let c = cluster();
    let source = c.club();
    let rules = common::root().join("tests/fixtures/pg/club.toml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("club.sql");
    std::fs::write(&file, "precious").unwrap();
    let out = run(&rules, &source, file.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("--replace"), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    // Not a dump doppel wrote: --replace alone refuses it, --force replaces it.
    let out = run(&rules, &source, file.to_str().unwrap(), &["--replace"]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("not a SQL dump doppel wrote"), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    ok(&run(&rules, &source, file.to_str().unwrap(), &["--replace", "--force"]));
    assert!(std::fs::read_to_string(&file).unwrap().contains("COPY \"cd\".\"members\""));
    // doppel's own dump: --replace alone replaces it.
    ok(&run(&rules, &source, file.to_str().unwrap(), &["--replace"]));
    assert_eq!(visible_entries(dir.path()), ["club.sql"], "no partial file left");
}

#[test]
fn a_failed_run_leaves_no_file_and_leftovers_of_dead_runs_are_removed() {
    let c = cluster();
    let source_db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("club.sql");
    // A partial file of a process that no longer exists.
    let dead = dir.path().join(".club.sql.doppel-partial-4000000");
    std::fs::write(&dead, "half").unwrap();
    let source = PostgresSource::open(&c.url(&source_db)).unwrap();
    let prepared = Prepared::from_source(
        &file,
        &Default::default(),
        &c.url(&source_db),
        source.snapshot(),
        "doppeltest",
        &Default::default(),
    )
    .unwrap();
    let mut sink = DumpSink::create(&file, &Default::default(), prepared, "abc").unwrap();
    assert!(!dead.exists(), "the dead run's partial file was removed");
    let table = &source.tables()[0];
    let mut t = sink.open_table(&table.name, table.schema.clone()).unwrap();
    let batch = source.read(&table.name, 10).unwrap().next().unwrap().unwrap();
    t.write(&batch).unwrap();
    drop(t);
    let partial = dir.path().join(format!(".club.sql.doppel-partial-{}", std::process::id()));
    assert!(partial.exists(), "written beside the target while running");
    drop(sink);
    assert!(!file.exists() && !partial.exists(), "a sink dropped without commit leaves nothing");

    // Through the binary: a source that is not there fails before anything is written.
    let rules = common::root().join("tests/fixtures/pg/club.toml");
    let out = run(&rules, "no_such_database", file.to_str().unwrap(), &[]);
    assert!(!out.status.success());
    assert!(visible_entries(dir.path()).is_empty(), "{:?}", visible_entries(dir.path()));
}

const RULES: &str = r#"
version = 1

[tables."public.items"]
keep = ["qty", "total", "ref"]

[tables."public.items".columns]
name = { action = "fake", generator = "first_name" }
id = { action = "hash", domain = "item" }

[tables."Odd Schema.Mixed Case"]
keep = ["k", "Note"]
columns = { item = { action = "hash", domain = "item" } }
"#;

#[test]
fn identity_generated_columns_and_pseudonymised_sequences_match_the_database_target() {
    let c = cluster();
    let source = c.create_database("dump_fixture");
    c.psql(&source, common::pg::SEQUENCES_FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let file = dir.path().join("fixture.sql");
    ok(&run(&rules, &source, file.to_str().unwrap(), &[]));
    let target = format!("{source}_db");
    ok(&run(&rules, &source, &c.url(&target), &[]));
    let restored = c.create_database("dump_fixture_restored");
    let out = restore(&restored, &file);
    assert!(out.status.success(), "restore: {}", common::stderr(&out));
    assert_same_database(&target, &restored);
    let max: i64 = c.scalar(&restored, "SELECT max(id) FROM public.items").parse().unwrap();
    assert!(max > 250, "ids were pseudonymised");
    assert_eq!(
        c.scalar(&restored, "SELECT last_value || '/' || is_called FROM public.items_id_seq"),
        format!("{max}/true")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("COPY \"public\".\"items\" (\"id\", \"name\", \"qty\", \"ref\") FROM stdin;"),
        "generated columns are left out"
    );
}
