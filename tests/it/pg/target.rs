//! PostgreSQL → PostgreSQL through the library (source, plan, transform, pipeline and
//! `PostgresSink`): the fixtures arrive with the same rows, schema and kept values and every
//! constraint valid; sequences, identity and generated columns come out right; a non-empty
//! target and the source itself are refused; a failed load leaves no database behind.

use crate::common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use common::pg::cluster;
use common::{TEST_KEY, schema_dump};
use doppel::error::{Error, Result};
use doppel::pipeline::{self, RunOptions, RunReport};
use doppel::plan::{self, Plan};
use doppel::rules::load_rules;
use doppel::secret::Key;
use doppel::sink::Sink;
use doppel::sink::postgres::database::PostgresSink;
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;
use doppel::transform::Transformer;

/// Runs the whole pipeline from `source_db` into `target_db` with the rules at `rules`.
fn run_into(source_db: &str, rules: &Path, target_db: &str) -> (Plan, Result<RunReport>) {
    let c = cluster();
    let rules = load_rules(rules).expect("rules load");
    let key = Key::from_text(TEST_KEY).unwrap();
    let source = PostgresSource::open(&c.url(source_db)).expect("source opens");
    let plan = plan::bind(&rules, source.tables()).expect("plan binds");
    let result = (|| {
        // A password in the URLs (the test cluster trusts local connections and ignores it)
        // takes the PGPASSWORD path into pg_dump and psql.
        let with_password = |db: &str| c.url(db).replace("postgres@", "postgres:s3cret@");
        let sink = PostgresSink::create(&with_password(target_db), &with_password(source_db), source.snapshot())?;
        let transformer = Transformer::new(&plan, &key);
        let options = RunOptions { threads: 2, jobs: 2, batch_rows: 100, collect_risk: false, utility: None };
        pipeline::run(
            &plan,
            &transformer,
            &source,
            Box::new(sink),
            &options,
            &AtomicBool::new(false),
            key.fingerprint(),
        )
    })();
    (plan, result)
}

fn database_exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

/// Asserts that the target is faithful: the same schema as the source, every constraint valid,
/// the same row counts, and the kept columns equal.
fn assert_faithful(plan: &Plan, source_db: &str, target_db: &str) {
    let c = cluster();
    assert_eq!(schema_dump(source_db), schema_dump(target_db), "schemas differ");
    assert_eq!(c.scalar(target_db, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
    common::assert_rows_and_kept_values(plan, source_db, target_db);
}

#[test]
fn trade_and_club_arrive_with_rows_schema_and_kept_values() {
    let c = cluster();
    for (rules, source_db) in [("tests/fixtures/pg/trade.toml", c.trade()), ("tests/fixtures/pg/club.toml", c.club())] {
        let target_db = format!("{source_db}_out");
        let (plan, result) = run_into(&source_db, &common::root().join(rules), &target_db);
        let report = result.unwrap_or_else(|e| panic!("{rules}: {e}\n{}", c.log()));
        assert!(report.total_rows > 0);
        assert_faithful(&plan, &source_db, &target_db);
        let comment = c.scalar(
            "postgres",
            &format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{target_db}'"),
        );
        assert!(comment.starts_with("doppel") && comment.ends_with("complete"), "{comment}");
    }
}

const FIXTURE_RULES: &str = r#"
version = 1

[tables."public.items"]
keep = ["id", "qty", "total", "ref"]

[tables."public.items".columns]
name = { action = "fake", generator = "first_name" }

[tables."Odd Schema.Mixed Case"]
keep = ["k", "item", "Note"]
"#;

fn fixture(rules_text: &str) -> (String, tempfile::TempDir) {
    let c = cluster();
    let db = c.create_database("pg_target_fixture");
    c.psql(&db, common::pg::SEQUENCES_FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), rules_text).unwrap();
    (db, dir)
}

#[test]
fn sequences_identity_and_generated_columns_come_out_right() {
    let c = cluster();
    let (db, dir) = fixture(FIXTURE_RULES);
    let target = format!("{db}_out");
    let (plan, result) = run_into(&db, &dir.path().join("rules.toml"), &target);
    result.unwrap_or_else(|e| panic!("{e}\n{}", c.log()));
    assert_faithful(&plan, &db, &target);
    for seq in ["public.counter", "public.unused", "public.items_id_seq", "\"Odd Schema\".\"Mixed Case_k_seq\""] {
        let q = format!("SELECT last_value || '/' || is_called FROM {seq}");
        assert_eq!(c.scalar(&db, &q), c.scalar(&target, &q), "sequence {seq}");
    }
    // Identity values are the source's; the next identity is the source's next one.
    let ids = "COPY (SELECT id, qty, total, ref FROM public.items ORDER BY id) TO STDOUT";
    assert_eq!(c.psql(&db, ids), c.psql(&target, ids));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.items WHERE total IS DISTINCT FROM qty * 2"), "0");
    let next = "INSERT INTO public.items (name, qty) VALUES ('n', 3) RETURNING id, total, ref";
    assert_eq!(c.scalar(&db, next), c.scalar(&target, next));
    // Names were replaced.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.items WHERE name LIKE 'name %'"), "0");
}

#[test]
fn a_sequence_whose_column_was_pseudonymised_ends_above_the_loaded_values() {
    let c = cluster();
    let rules = FIXTURE_RULES
        .replace(r#"keep = ["id", "qty", "total", "ref"]"#, r#"keep = ["qty", "total", "ref"]"#)
        .replace(
            r#"name = { action = "fake", generator = "first_name" }"#,
            "name = { action = \"fake\", generator = \"first_name\" }\nid = { action = \"hash\", domain = \"item\" }",
        )
        .replace(
            r#"keep = ["k", "item", "Note"]"#,
            "keep = [\"k\", \"Note\"]\ncolumns = { item = { action = \"hash\", domain = \"item\" } }",
        );
    let (db, dir) = fixture(&rules);
    let target = format!("{db}_out");
    let (plan, result) = run_into(&db, &dir.path().join("rules.toml"), &target);
    result.unwrap_or_else(|e| panic!("{e}\n{}", c.log()));
    assert_faithful(&plan, &db, &target);
    let max: i64 = c.scalar(&target, "SELECT max(id) FROM public.items").parse().unwrap();
    assert!(max > 250, "ids were pseudonymised");
    assert_eq!(
        c.scalar(&target, "SELECT last_value || '/' || is_called FROM public.items_id_seq"),
        format!("{max}/true")
    );
    // The next identity does not collide; the kept serial of the other table is the source's.
    let next: i64 =
        c.scalar(&target, "INSERT INTO public.items (name, qty) VALUES ('n', 3) RETURNING id").parse().unwrap();
    assert_eq!(next, max + 1);
    let seq = "SELECT last_value || '/' || is_called FROM \"Odd Schema\".\"Mixed Case_k_seq\"";
    assert_eq!(c.scalar(&db, seq), c.scalar(&target, seq));
}

#[test]
fn a_target_that_exists_and_is_not_empty_is_refused_and_untouched() {
    let c = cluster();
    let (db, _dir) = fixture(FIXTURE_RULES);
    let target = c.create_database("pg_target_busy");
    c.psql(&target, "CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me');");
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let e = PostgresSink::create(&c.url(&target), &c.url(&db), source.snapshot()).unwrap_err();
    assert!(matches!(e, Error::Target { .. }), "{e}");
    assert!(e.to_string().contains("not empty"), "{e}");
    assert!(database_exists(&target));
    assert_eq!(c.scalar(&target, "SELECT v FROM precious"), "keep me");

    // An existing empty database is used, in one transaction: nothing shows before the
    // commit, and a sink dropped without it leaves the database there and empty.
    let empty = c.create_database("pg_target_empty");
    let sink = PostgresSink::create(&c.url(&empty), &c.url(&db), source.snapshot()).unwrap();
    assert_eq!(c.scalar(&empty, "SELECT count(*) FROM pg_class WHERE relname = 'items'"), "0");
    drop(sink);
    assert!(database_exists(&empty), "a database doppel did not create was dropped");
    assert_eq!(c.scalar(&empty, "SELECT count(*) FROM pg_namespace WHERE nspname = 'Odd Schema'"), "0");
}

#[test]
fn writing_into_the_source_database_is_refused() {
    let c = cluster();
    let (db, _dir) = fixture(FIXTURE_RULES);
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let other_spelling = c.url(&db).replace("127.0.0.1", "localhost");
    let with_password = c.url(&db).replace("postgres@", "postgres:hunter2@");
    for target in [c.url(&db), other_spelling, with_password] {
        let e = PostgresSink::create(&target, &c.url(&db), source.snapshot()).unwrap_err();
        assert!(matches!(e, Error::Target { .. }), "{e}");
        assert!(e.to_string().contains("source database itself"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    assert!(database_exists(&db));
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM public.items"), "215");
}

#[test]
fn a_constraint_violated_during_copy_leaves_no_database() {
    // qty has CHECK (qty > 0), part of the pre-data schema: the COPY of public.items fails.
    let rules = FIXTURE_RULES.replace(r#"keep = ["id", "qty", "total", "ref"]"#, r#"keep = ["id", "ref"]"#).replace(
        r#"name = { action = "fake", generator = "first_name" }"#,
        "name = { action = \"fake\", generator = \"first_name\" }\nqty = { action = \"constant\", value = -1 }\n\
             total = { action = \"null\" }",
    );
    let (db, dir) = fixture(&rules);
    let target = format!("{db}_out");
    let (_, result) = run_into(&db, &dir.path().join("rules.toml"), &target);
    let e = result.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Target { .. }) && msg.contains("public.items") && msg.contains("23514"), "{msg}");
    assert!(!database_exists(&target), "the half-built target was left behind");
}

#[test]
fn a_failure_after_the_load_leaves_no_database() {
    // Every item reference points at a missing item: the foreign key, added in post-data, fails.
    let (db, dir) = fixture(&FIXTURE_RULES.replace(
        r#"keep = ["k", "item", "Note"]"#,
        "keep = [\"k\", \"Note\"]\ncolumns = { item = { action = \"constant\", value = 987654 } }",
    ));
    let target = format!("{db}_out");
    let (_, result) = run_into(&db, &dir.path().join("rules.toml"), &target);
    let e = result.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Target { .. }) && msg.contains("post-data") && msg.contains("23503"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
    assert!(msg.contains("FOREIGN KEY"), "the failing statement is named: {msg}");
    assert!(!msg.contains("987654"), "a value leaked: {msg}");
    assert!(!database_exists(&target), "the half-built target was left behind");
}

#[test]
fn a_copy_failure_or_a_sink_dropped_without_commit_leaves_no_database() {
    let c = cluster();
    let (db, _dir) = fixture(FIXTURE_RULES);
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let table = source.tables().iter().find(|t| t.name == "public.items").unwrap().clone();

    // A value the target refuses (CHECK qty > 0): COPY fails with the row, not the value.
    let target = format!("{db}_copyfail");
    let mut sink = Box::new(PostgresSink::create(&c.url(&target), &c.url(&db), source.snapshot()).unwrap());
    assert!(database_exists(&target));
    let mut rows = source.read("public.items", 1000).unwrap();
    let batch = rows.next().unwrap().unwrap();
    let qty = batch.schema().index_of("qty").unwrap();
    let mut columns = batch.columns().to_vec();
    let negative: Vec<i32> = (0..batch.num_rows() as i32).map(|i| if i == 3 { -12345 } else { i + 1 }).collect();
    columns[qty] = std::sync::Arc::new(arrow_array::Int32Array::from(negative));
    let bad = arrow_array::RecordBatch::try_new(batch.schema(), columns).unwrap();
    let mut t = sink.open_table("public.items", table.schema.clone()).unwrap();
    let written = t.write(&bad).and_then(|_| t.finish());
    let e = written.unwrap_err().to_string();
    assert!(e.contains("23514") && e.contains("row 4") && !e.contains("12345"), "{e}");
    drop(sink);
    assert!(!database_exists(&target), "the half-built target was left behind");

    // Everything loaded, but no commit: dropped.
    let target = format!("{db}_nocommit");
    let mut sink = Box::new(PostgresSink::create(&c.url(&target), &c.url(&db), source.snapshot()).unwrap());
    let mut t = sink.open_table("public.items", table.schema.clone()).unwrap();
    t.write(&batch).unwrap();
    t.finish().unwrap();
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.items"), "215");
    drop(sink);
    assert!(!database_exists(&target));

    // A table sink dropped mid-COPY, then the sink: nothing left either.
    let target = format!("{db}_midcopy");
    let mut sink = Box::new(PostgresSink::create(&c.url(&target), &c.url(&db), source.snapshot()).unwrap());
    let mut t = sink.open_table("public.items", table.schema.clone()).unwrap();
    t.write(&batch).unwrap();
    drop(t);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.items"), "0");
    drop(sink);
    assert!(!database_exists(&target));
}

#[test]
fn the_binary_copies_club_into_a_new_database_and_refuses_a_busy_target_or_the_source() {
    let c = cluster();
    let source = c.club();
    let target = format!("{source}_cli_copy");
    let rules = common::root().join("tests/fixtures/pg/club.toml");
    let source_url = c.url(&source);
    let run = |to: &str, extra: &[&str]| common::doppel_run(&rules, &source_url, to, extra);
    let out = run(&c.url(&target), &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    for table in ["cd.bookings", "cd.facilities", "cd.members"] {
        let count = |db: &str| c.psql(db, &format!("SELECT count(*) FROM {table}")).trim().to_string();
        assert_eq!(count(&source), count(&target), "{table}");
    }
    // The target now exists and is not empty: refused, exit 5, untouched.
    let out = run(&c.url(&target), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert_eq!(c.psql(&target, "SELECT count(*) FROM cd.members").trim(), "31");
    // --replace rebuilds it (doppel created it) and swaps the new copy in.
    let out = run(&c.url(&target), &["--replace"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(c.psql(&target, "SELECT count(*) FROM cd.members").trim(), "31");
    // Writing into the source itself is refused.
    let out = run(&c.url(&source), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
}

/// The issue this pins: a pseudonymised `integer` serial key used to be spread over the whole
/// int4 range, the sequence was set above the largest pseudonym, and a refreshed database took
/// only a few thousand new rows before `nextval` overflowed. Pseudonyms now keep the key's
/// magnitude (see `doppel::transform::hash`), so the sequence stays near the source's.
#[test]
fn a_refreshed_database_with_a_pseudonymised_int4_serial_key_takes_a_million_new_rows() {
    let c = cluster();
    let db = c.create_database("pg_target_keyspace");
    c.psql(
        &db,
        "CREATE TABLE public.accounts (id serial PRIMARY KEY, balance integer NOT NULL);
         CREATE TABLE public.transfers (id bigserial PRIMARY KEY,
             account_id integer NOT NULL REFERENCES public.accounts (id), amount integer NOT NULL);
         INSERT INTO public.accounts (balance) SELECT g % 977 FROM generate_series(1, 100000) g;
         INSERT INTO public.transfers (account_id, amount)
             SELECT 1 + (g * 7919) % 100000, g FROM generate_series(1, 100000) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        r#"version = 1

[tables."public.accounts"]
keep = ["balance"]
columns = { id = { action = "hash", format = "preserve", domain = "account" } }

[tables."public.transfers"]
keep = ["id", "amount"]
columns = { account_id = { action = "hash", format = "preserve", domain = "account" } }
"#,
    )
    .unwrap();
    let target = format!("{db}_out");
    // A first copy, then the refresh that replaces it.
    for extra in [&[][..], &["--replace"][..]] {
        let out = common::doppel_run(&rules, &c.url(&db), &c.url(&target), extra);
        assert!(out.status.success(), "{}\n{}", common::stderr(&out), c.log());
    }
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.accounts"), "100000");
    let bounds = c.scalar(&target, "SELECT min(id) || ' ' || max(id) FROM public.accounts");
    let last = c.scalar(&target, "SELECT last_value FROM public.accounts_id_seq");
    let (min, max) = bounds.split_once(' ').unwrap();
    let (min, max, last): (i64, i64, i64) = (min.parse().unwrap(), max.parse().unwrap(), last.parse().unwrap());
    // The source's largest id (100000) has 17 bits: every pseudonym stays below 2^17.
    assert!(min >= 0 && max < 1 << 17 && last < 1 << 17, "ids {min}..={max}, sequence at {last}");
    assert!(last >= max, "the sequence is above every loaded id: {last} < {max}");
    assert!(
        c.scalar(&target, "SELECT count(*) FROM public.accounts WHERE id > 100000") != "0",
        "ids were pseudonymised"
    );
    // Every transfer still joins its (pseudonymous) account.
    let joined = "SELECT count(*) FROM public.transfers t JOIN public.accounts a ON a.id = t.account_id";
    assert_eq!(c.scalar(&target, joined), "100000");
    assert_eq!(c.scalar(&db, joined), "100000");

    // A million new rows through the sequence default, as the application would insert them.
    c.psql(&target, "INSERT INTO public.accounts (balance) SELECT g % 977 FROM generate_series(1, 1000000) g");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.accounts"), "1100000");
    assert_eq!(c.scalar(&target, "SELECT last_value FROM public.accounts_id_seq"), (last + 1_000_000).to_string());
    c.psql(&target, "INSERT INTO public.transfers (account_id, amount) SELECT max(id), 1 FROM public.accounts");
    assert_eq!(c.scalar(&target, joined), "100001");
}
