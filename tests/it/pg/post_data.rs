//! Post-data (indexes, constraints, foreign keys) of a new database built over several
//! connections with `pg_restore --jobs`: the same schema as one connection builds, and a
//! statement failing over loaded rows (a duplicate in a unique key) is reported by SQLSTATE and
//! constraint, never with the duplicated value pg_restore's own message quotes.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use common::pg::cluster;
use common::{TEST_KEY, schema_dump};
use doppel::pipeline::{self, RunOptions};
use doppel::plan;
use doppel::rules::load_rules;
use doppel::secret::Key;
use doppel::sink::Sink;
use doppel::sink::postgres::database::PostgresSink;
use doppel::sink::postgres::early;
use doppel::sink::postgres::replace::TargetOptions;
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;
use doppel::transform::Transformer;

fn database_exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

#[test]
fn post_data_over_several_connections_builds_the_schema_one_connection_builds() {
    let c = cluster();
    let source_db = c.trade();
    let rules = load_rules(&common::root().join("tests/fixtures/pg/trade.toml")).unwrap();
    let key = Key::from_text(TEST_KEY).unwrap();
    for jobs in [1, 4] {
        let source = PostgresSource::open(&c.url(&source_db)).unwrap();
        let plan = plan::bind(&rules, source.tables()).unwrap();
        let target = format!("{source_db}_post_data_jobs{jobs}");
        let options = TargetOptions { jobs, ..TargetOptions::default() };
        let sink = PostgresSink::create_with(&c.url(&target), &c.url(&source_db), source.snapshot(), &options)
            .unwrap_or_else(|e| panic!("{e}"));
        let run = RunOptions { threads: 2, jobs: 2, batch_rows: 100, collect_risk: false, utility: None };
        let transformer = Transformer::new(&plan, &key);
        pipeline::run(&plan, &transformer, &source, Box::new(sink), &run, &AtomicBool::new(false), key.fingerprint())
            .unwrap_or_else(|e| panic!("--jobs {jobs}: {e}\n{}", c.log()));
        assert_eq!(schema_dump(&source_db), schema_dump(&target), "--jobs {jobs}: schemas differ");
        assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
        // Every table has its statistics (ANALYZE, per table over several connections).
        let unanalyzed = "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NULL";
        assert_eq!(c.scalar(&target, unanalyzed), "0", "--jobs {jobs}");
    }
}

#[test]
fn the_indexes_of_a_large_table_are_built_while_others_load_and_the_schema_is_the_same() {
    let c = cluster();
    let db = c.create_database("pg_early_indexes");
    let rows = early::EARLY_ROWS + 1000;
    c.psql(
        &db,
        &format!(
            "CREATE TABLE public.big (id integer PRIMARY KEY, code text NOT NULL UNIQUE, n integer CHECK (n >= 0));
             CREATE INDEX big_n ON public.big (n) WHERE n > 10;
             CREATE TABLE public.small (id integer PRIMARY KEY, big integer REFERENCES public.big);
             CREATE INDEX small_big ON public.small (big);
             CREATE TABLE public.parted (id integer, at date) PARTITION BY RANGE (at);
             CREATE TABLE public.parted_2024 PARTITION OF public.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
             CREATE INDEX parted_at ON public.parted (at);
             INSERT INTO public.big SELECT g, 'c' || g, g % 1000 FROM generate_series(1, {rows}) g;
             INSERT INTO public.small SELECT g, g FROM generate_series(1, 100) g;
             INSERT INTO public.parted SELECT g, date '2024-01-01' + g % 300 FROM generate_series(1, {rows}) g;"
        ),
    );
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let target = format!("{db}_out");
    let options = TargetOptions { jobs: 2, ..TargetOptions::default() };
    let mut sink =
        Box::new(PostgresSink::create_with(&c.url(&target), &c.url(&db), source.snapshot(), &options).unwrap());
    let mut open: Vec<(String, Box<dyn doppel::sink::TableSink>)> =
        source.tables().iter().map(|t| (t.name.clone(), sink.open_table(&t.name, t.schema.clone()).unwrap())).collect();
    let big_indexes = "SELECT count(*) FROM pg_indexes WHERE tablename = 'big'";
    // `big` loaded while the others still load: its three indexes appear before they end.
    let load = |name: &str, t: &mut Box<dyn doppel::sink::TableSink>| {
        for batch in source.read(name, 10_000).unwrap() {
            t.write(&batch.unwrap()).unwrap();
        }
    };
    let (name, mut big) = open.remove(open.iter().position(|(n, _)| n == "public.big").unwrap());
    load(&name, &mut big);
    big.finish().unwrap();
    let waited = std::time::Instant::now();
    while c.scalar(&target, big_indexes) != "3" {
        assert!(waited.elapsed().as_secs() < 60, "big's indexes were not built while the others loaded");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_indexes WHERE tablename = 'small'"), "0");
    for (name, mut t) in open {
        load(&name, &mut t);
        t.finish().unwrap();
    }
    sink.commit().unwrap_or_else(|e| panic!("{e}\n{}", c.log()));
    assert_eq!(schema_dump(&db), schema_dump(&target));
    let partial = "SELECT count(*) FROM public.big WHERE n > 10";
    assert_eq!(c.scalar(&target, partial), c.scalar(&db, partial));
}

/// A source whose unique key is added in post-data (`people` rows in its table), and a sink
/// that loads its rows with every email the same: post-data fails over the loaded rows.
fn duplicate_emails_fail_post_data(jobs: usize, people: u64) -> String {
    let c = cluster();
    let db = c.create_database("pg_post_data_dup");
    c.psql(
        &db,
        &format!(
            "CREATE TABLE public.people (id integer PRIMARY KEY, email text NOT NULL UNIQUE);
             CREATE TABLE public.visits (id integer PRIMARY KEY, person integer REFERENCES public.people);
             CREATE INDEX visits_person ON public.visits (person);
             INSERT INTO public.people SELECT g, 'person' || g || '@example.org' FROM generate_series(1, {people}) g;
             INSERT INTO public.visits SELECT g, g % 50 + 1 FROM generate_series(1, 200) g;"
        ),
    );
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let target = format!("{db}_out");
    let options = TargetOptions { jobs, ..TargetOptions::default() };
    let mut sink =
        Box::new(PostgresSink::create_with(&c.url(&target), &c.url(&db), source.snapshot(), &options).unwrap());
    // Every table open before the first is loaded, as with --jobs: a large `people` has its
    // unique key built (and failing) as soon as it is loaded, while `visits` still loads.
    let open: Vec<_> = source
        .tables()
        .iter()
        .map(|table| (table.name.clone(), sink.open_table(&table.name, table.schema.clone()).unwrap()))
        .collect();
    for (name, mut t) in open {
        for batch in source.read(&name, 10_000).unwrap() {
            let mut batch = batch.unwrap();
            if name == "public.people" {
                let email = batch.schema().index_of("email").unwrap();
                let mut columns = batch.columns().to_vec();
                columns[email] =
                    Arc::new(arrow_array::StringArray::from(vec!["dup.value@example.org"; batch.num_rows()]));
                batch = arrow_array::RecordBatch::try_new(batch.schema(), columns).unwrap();
            }
            t.write(&batch).unwrap();
        }
        t.finish().unwrap();
    }
    let e = sink.commit().unwrap_err().to_string();
    assert!(!database_exists(&target), "the half-built target was left behind");
    assert!(e.contains("post-data") && e.contains("23505"), "{e}");
    assert!(e.contains("people_email_key"), "the constraint is named: {e}");
    assert!(!e.contains("dup.value") && !e.contains("Key ("), "a value leaked: {e}");
    e
}

#[test]
fn a_unique_key_failing_in_parallel_post_data_is_named_without_the_duplicated_value() {
    let e = duplicate_emails_fail_post_data(4, 50);
    assert!(e.contains("pg_restore failed") && e.contains("UNIQUE (email)"), "{e}");
}

#[test]
fn a_unique_key_failing_as_soon_as_its_table_is_loaded_is_named_without_the_duplicated_value() {
    let e = duplicate_emails_fail_post_data(4, early::EARLY_ROWS);
    assert!(e.contains("pg_restore failed") && e.contains("UNIQUE (email)"), "{e}");
}

#[test]
fn a_unique_key_failing_in_one_connections_post_data_is_named_without_the_duplicated_value() {
    let e = duplicate_emails_fail_post_data(1, 50);
    assert!(e.contains("psql failed"), "{e}");
}
