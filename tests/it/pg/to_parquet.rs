//! PostgreSQL → Parquet through the binary, on the project's trade and club fixtures: their
//! rules cover them exactly, every row arrives, kept columns are equal, transformed ones
//! changed, keys hashed in one domain still join, and a column added to the source stops
//! the run (schema drift).

use crate::common;

use std::collections::{HashMap, HashSet};

use arrow_array::Array;
use arrow_cast::display::ArrayFormatter;
use common::pg::cluster;
use common::*;

fn column(dir: &std::path::Path, table: &str, column: &str) -> Vec<Option<String>> {
    let batch = concat(&read_table(dir, table));
    let array = batch.column(batch.schema().index_of(column).unwrap());
    let f = ArrayFormatter::try_new(array.as_ref(), &Default::default()).unwrap();
    (0..array.len()).map(|i| array.is_valid(i).then(|| f.value(i).to_string())).collect()
}

fn psql_column(db: &str, sql: &str) -> Vec<String> {
    cluster().psql(db, sql).lines().map(str::to_string).collect()
}

#[test]
fn check_accepts_the_fixtures_rules() {
    let c = cluster();
    for (rules, db) in [("tests/fixtures/pg/trade.toml", c.trade()), ("tests/fixtures/pg/club.toml", c.club())] {
        let rules = root().join(rules);
        let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db)], None);
        assert!(out.status.success(), "{}: {}", rules.display(), stderr(&out));
    }
}

#[test]
fn trade_to_parquet_keeps_rows_and_kept_values_and_changes_personal_ones() {
    let c = cluster();
    let db = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let out = doppel(
        &[
            "run",
            "--quiet",
            "--rules",
            rules.to_str().unwrap(),
            "--from",
            &c.url(&db),
            "--to",
            out_dir.to_str().unwrap(),
        ],
        Some(TEST_KEY),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Every table, every row.
    let counts: HashMap<String, usize> = psql_column(
        &db,
        "SELECT relname || '=' || (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM public.' || quote_ident(relname), false, true, '')))[1]::text FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    )
    .into_iter()
    .map(|l| {
        let (t, n) = l.split_once('=').unwrap();
        (format!("public.{t}"), n.parse().unwrap())
    })
    .collect();
    assert_eq!(counts.len(), 14);
    for (table, n) in &counts {
        assert_eq!(concat(&read_table(&out_dir, table)).num_rows(), *n, "{table}");
    }
    // Kept columns equal the source, in the source's order.
    let freight = column(&out_dir, "public.orders", "freight");
    let source_freight = psql_column(&db, "SELECT coalesce(freight::text, 'NULL') FROM ONLY public.orders");
    assert_eq!(freight.len(), source_freight.len());
    let as_f32 = |v: &str| v.parse::<f32>().ok();
    let differing =
        freight.iter().zip(&source_freight).filter(|(out, src)| out.as_deref().and_then(as_f32) != as_f32(src)).count();
    assert_eq!(differing, 0, "kept freight values differ from the source");
    // Personal columns changed in (nearly) every row.
    for (table, col, sql) in [
        ("public.customers", "company_name", "SELECT company_name FROM ONLY public.customers"),
        ("public.employees", "last_name", "SELECT last_name FROM ONLY public.employees"),
        ("public.customers", "customer_id", "SELECT customer_id FROM ONLY public.customers"),
    ] {
        let before = psql_column(&db, sql);
        let after = column(&out_dir, table, col);
        let same = before.iter().zip(&after).filter(|(b, a)| a.as_deref() == Some(b.as_str())).count();
        assert!(same * 50 <= before.len(), "{table}.{col}: {same} of {} unchanged", before.len());
    }
    // Hashed keys still join: every order's customer exists.
    let customers: HashSet<String> =
        column(&out_dir, "public.customers", "customer_id").into_iter().flatten().collect();
    assert_eq!(customers.len(), 90);
    for id in column(&out_dir, "public.orders", "customer_id").into_iter().flatten() {
        assert!(customers.contains(&id), "an order lost its customer");
    }
}

#[test]
fn a_column_added_to_the_source_stops_the_run_naming_it() {
    let c = cluster();
    let db = c.club();
    c.psql(&db, "ALTER TABLE cd.members ADD COLUMN email text");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let rules = root().join("tests/fixtures/pg/club.toml");
    let out = doppel(
        &["run", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db), "--to", out_dir.to_str().unwrap()],
        Some(TEST_KEY),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cd.members.email: column has no rule"), "{}", stderr(&out));
    assert!(!out_dir.exists());
}

#[test]
fn an_unreachable_database_is_a_source_error_naming_it_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let rules = root().join("tests/fixtures/pg/club.toml");
    let url = "postgres://someone:hunter2secret@127.0.0.1:1/nowhere";
    let out = doppel(
        &["run", "--rules", rules.to_str().unwrap(), "--from", url, "--to", out_dir.to_str().unwrap()],
        Some(TEST_KEY),
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("127.0.0.1:1"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2secret"));
    assert!(!out_dir.exists());
}
