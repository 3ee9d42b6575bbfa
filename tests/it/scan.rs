//! `doppel scan` on the project's PostgreSQL fixtures (tests/fixtures/pg) and the Parquet
//! fixture: the printed rules pass `doppel check`, match the committed classification
//! (`fixtures/scan/*.expected`), run, and never contain a sampled value. The classification of
//! the public sample databases (`northwind.expected`, `clubdata.expected`) is checked by the
//! corpus tests with the helpers here.
//!
//! Regenerate the expected classification after a deliberate change with
//! `DOPPEL_SCAN_BLESS=1 cargo test --test it scan::`, then review the diff line by line.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use common::{doppel, doppel_run, fixture_dir, pg, root, stderr};
use doppel::source::{self, Location};

/// Runs `doppel scan --from src` and returns the rules it printed.
pub(crate) fn scan(src: &str, extra: &[&str]) -> String {
    let mut args = vec!["scan", "--from", src];
    args.extend_from_slice(extra);
    let out = doppel(&args, None);
    assert!(out.status.success(), "scan failed: {}", stderr(&out));
    String::from_utf8(out.stdout).expect("utf-8 rules")
}

/// Writes `rules` to a file in `dir` and runs `doppel check` on it.
pub(crate) fn check(dir: &Path, rules: &str, src: &str) -> PathBuf {
    let file = dir.join("scanned.toml");
    // A copy to read when a test fails: target/scan-<test>.toml.
    let name = std::thread::current().name().unwrap_or("scan").replace("::", "-");
    let _ = std::fs::write(root().join(format!("target/scan-{name}.toml")), rules);
    std::fs::write(&file, rules).unwrap();
    let out = doppel(&["check", "--rules", file.to_str().unwrap(), "--from", src], None);
    assert!(out.status.success(), "the scanned rules do not pass check:\n{}\n{rules}", stderr(&out));
    file
}

/// `schema.table.column<TAB>keep|transform`, in the source's table and column order.
pub(crate) fn classification(rules: &Path, src: &str) -> String {
    let rules = doppel::rules::load_rules(rules).unwrap();
    let source = source::open(&Location::parse(src)).unwrap();
    let plan = doppel::plan::bind(&rules, source.tables()).unwrap();
    let mut out = String::new();
    for t in &plan.tables {
        for c in &t.columns {
            let class = if c.is_personal() { "transform" } else { "keep" };
            out.push_str(&format!("{}.{}\t{class}\n", t.name, c.name));
        }
    }
    out
}

pub(crate) fn expect_classification(name: &str, actual: &str) {
    let file = root().join(format!("fixtures/scan/{name}.expected"));
    if std::env::var_os("DOPPEL_SCAN_BLESS").is_some() {
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    if expected != actual {
        let exp: BTreeSet<&str> = expected.lines().collect();
        let act: BTreeSet<&str> = actual.lines().collect();
        let missing: Vec<&&str> = exp.difference(&act).collect();
        let extra: Vec<&&str> = act.difference(&exp).collect();
        panic!(
            "{name}: classification differs from {}\nexpected, not produced: {missing:#?}\nproduced, not expected: {extra:#?}",
            file.display()
        );
    }
}

/// Every text value of every table of `src` (all rows).
fn text_values(src: &str) -> Vec<String> {
    let source = source::open(&Location::parse(src)).unwrap();
    let mut values = Vec::new();
    for t in source.tables() {
        for batch in source.read(&t.name, 4096).unwrap() {
            let batch = batch.unwrap();
            for (i, f) in t.schema.fields().iter().enumerate() {
                if f.data_type() == &DataType::Utf8 {
                    values.extend(batch.column(i).as_string::<i32>().iter().flatten().map(str::to_string));
                }
            }
        }
    }
    values
}

/// Values that could only be in the output if scan printed them: emails, phone numbers
/// and IBANs anywhere in the data, long enough not to be words of the rules' own comments.
fn identifying(values: &[String]) -> BTreeSet<String> {
    let email = regex::Regex::new(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").unwrap();
    let phone = regex::Regex::new(r"\(?\+?[0-9][0-9 ()./-]{6,}[0-9]").unwrap();
    let iban = regex::Regex::new(r"\b[A-Z]{2}[0-9]{2}[A-Z0-9 ]{11,30}\b").unwrap();
    let mut out = BTreeSet::new();
    for v in values {
        for re in [&email, &phone, &iban] {
            out.extend(re.find_iter(v).map(|m| m.as_str().trim().to_string()).filter(|s| s.len() >= 7));
        }
    }
    out
}

/// The rows `sql` returns on `db`, those of at least `min_len` bytes.
fn query_values(db: &str, sql: &str, min_len: usize) -> Vec<String> {
    pg::cluster().psql(db, sql).lines().filter(|l| l.len() >= min_len).map(str::to_string).collect()
}

fn assert_no_values(rules: &str, secrets: &BTreeSet<String>, also: &[&str]) {
    assert!(secrets.len() > 10, "the test needs values to look for, found {}", secrets.len());
    for s in secrets.iter().map(String::as_str).chain(also.iter().copied()) {
        assert!(!rules.contains(s), "the scanned rules contain a sampled value of {} characters", s.len());
    }
}

#[test]
fn trade_rules_pass_check_match_the_expected_classification_and_run() {
    let cluster = pg::cluster();
    let db = cluster.trade();
    let url = cluster.url(&db);
    let rules = scan(&url, &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = check(dir.path(), &rules, &url);
    expect_classification("trade", &classification(&file, &url));
    // Runs as printed: every generated value fits its column.
    let out_dir = dir.path().join("out");
    let run = doppel_run(&file, &url, out_dir.to_str().unwrap(), &[]);
    assert!(run.status.success(), "run with the scanned rules failed: {}", stderr(&run));
    // No sampled value in the rules: phones, faxes, and the people's names and streets.
    let values = text_values(&url);
    let names = query_values(
        &db,
        "SELECT first_name || ' ' || last_name FROM employees UNION SELECT address FROM employees UNION SELECT contact_name FROM customers",
        8,
    );
    assert!(names.len() > 50);
    assert_no_values(&rules, &identifying(&values), &names.iter().map(String::as_str).collect::<Vec<_>>());
    // A header naming the source and the sample size.
    assert!(rules.starts_with("# Rules suggested by `doppel scan` for postgres"), "{rules}");
    assert!(rules.contains("from at most 1000 sampled rows per table"));
}

#[test]
fn club_rules_pass_check_and_match_the_expected_classification() {
    let cluster = pg::cluster();
    let db = cluster.club();
    let url = cluster.url(&db);
    let rules = scan(&url, &["--sample-rows", "500"]);
    let dir = tempfile::tempdir().unwrap();
    let file = check(dir.path(), &rules, &url);
    expect_classification("club", &classification(&file, &url));
    assert!(rules.contains("from at most 500 sampled rows per table"));
    let values = text_values(&url);
    let people = query_values(
        &db,
        "SELECT firstname || ' ' || surname FROM cd.members UNION SELECT address FROM cd.members UNION SELECT zipcode::text FROM cd.members WHERE zipcode > 999",
        4,
    );
    assert_no_values(&rules, &identifying(&values), &people.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn parquet_source_rules_pass_check_run_and_hide_values() {
    let src = fixture_dir();
    let src = src.to_str().unwrap();
    let rules = scan(src, &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = check(dir.path(), &rules, src);
    let class = classification(&file, src);
    for line in [
        "public.customers.first_name\ttransform",
        "public.customers.email\ttransform",
        "public.customers.phone\ttransform",
        "public.customers.date_of_birth\ttransform",
        "public.customers.iban\ttransform",
        "public.customers.notes\ttransform",
        "public.customers.preferences\ttransform",
        "public.orders.ip_address\ttransform",
        "public.orders.card_last4\ttransform",
        "public.support_tickets.body\ttransform",
        "public.customers.id\tkeep",
        "public.order_items.product_name\tkeep",
        "public.order_items.unit_price\tkeep",
        "public.orders.amount\tkeep",
        "public.orders.status\tkeep",
    ] {
        assert!(class.lines().any(|l| l == line), "expected `{line}` in:\n{class}");
    }
    // Emails are built from the row's fake names; the JSON column gets path rules.
    assert!(rules.contains(r#"template = "{first_name|slug}.{last_name|slug}@example.com""#), "{rules}");
    assert!(rules.contains(r#""contact.email" = { action = "fake", generator = "email""#), "{rules}");
    let out_dir = dir.path().join("out");
    let run = doppel_run(&file, src, out_dir.to_str().unwrap(), &[]);
    assert!(run.status.success(), "run with the scanned rules failed: {}", stderr(&run));
    let values = text_values(src);
    assert_no_values(&rules, &identifying(&values), &[]);
}

#[test]
fn out_writes_a_new_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suggested.toml");
    let src = fixture_dir();
    let args = ["scan", "--from", src.to_str().unwrap(), "--sample-rows", "50", "--out", file.to_str().unwrap()];
    let out = doppel(&args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("scanned 4 tables"), "{}", stderr(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("from at most 50 sampled rows per table"));
    std::fs::write(&file, "reviewed").unwrap();
    let again = doppel(&args, None);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("never overwrites"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "reviewed");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no staging file left behind");
}

#[test]
fn names_only_scan_still_covers_everything_and_keeps_nothing_unjudged() {
    let src = fixture_dir();
    let src = src.to_str().unwrap();
    let rules = scan(src, &["--sample-rows", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let file = check(dir.path(), &rules, src);
    let class = classification(&file, src);
    // Without values, text whose name says nothing certain is transformed, never kept.
    assert!(class.contains("public.support_tickets.subject\ttransform"), "{class}");
    assert!(class.contains("public.customers.email\ttransform"), "{class}");
    assert!(rules.contains("0 rows sampled"), "{rules}");
}

#[test]
fn sampling_stops_reading_early_and_ends_the_copy() {
    let cluster = pg::cluster();
    let db = cluster.create_database("scan_big");
    cluster.psql(
        &db,
        "CREATE TABLE public.events (id bigint PRIMARY KEY, note text NOT NULL);
         INSERT INTO public.events SELECT g, 'event number ' || g FROM generate_series(1, 2000000) g;",
    );
    let url = cluster.url(&db);
    let source = source::open(&Location::parse(&url)).unwrap();
    let started = Instant::now();
    let result = doppel::scan::scan(source.as_ref(), "test", 10).unwrap();
    let scan_time = started.elapsed();
    assert_eq!(result.tables[0].sampled, 10);
    // The reader cancels its COPY when the stream is dropped: no COPY stays on the server.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let copying = cluster.scalar(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE 'COPY%' AND state = 'active'"),
        );
        if copying == "0" {
            break;
        }
        assert!(Instant::now() < deadline, "a COPY is still running on the source after the scan");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Reading the whole table takes much longer than a 10-row sample.
    let started = Instant::now();
    let rows: usize = source.read("public.events", 8192).unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2_000_000);
    assert!(scan_time * 3 < started.elapsed(), "sampling took {scan_time:?}, a full read {:?}", started.elapsed());
}
