//! `generalise` and the re-identification risk of the audit report, PostgreSQL → PostgreSQL:
//! generalised values equal what PostgreSQL computes from the source (`date_trunc`, `left`,
//! `floor`) in the source's own column types; the report's equivalence classes equal what
//! Python counts on the published rows, and do not depend on threads, batch size or the
//! memory cap (past which classes spill to disk).

use crate::common;

use common::pg::cluster;
use common::{TEST_KEY, doppel_command, doppel_run, python, run_args, stderr};

/// A `public.people` table of `rows` rows: every column derived from `id`, some NULLs.
fn people(rows: u32) -> String {
    let c = cluster();
    let db = c.create_database("risk");
    c.psql(
        &db,
        &format!(
            "CREATE TABLE people (id int PRIMARY KEY, date_of_birth date, seen_at timestamptz, \
               postcode varchar(10), salary numeric(8,2), age smallint, gender text);
             INSERT INTO people SELECT i,
               CASE WHEN i % 17 = 0 THEN NULL ELSE date '1970-01-01' + (i * 7919) % 3650 END,
               timestamptz '2020-01-01 00:00:00+00' + i * interval '7 hours 13 minutes 5.25 seconds',
               CASE WHEN i % 13 = 0 THEN NULL ELSE chr(65 + i % 3) || chr(65 + i % 5) || (i % 7)::text || ' ' || (i % 11)::text || 'ZZ' END,
               (i * 37.77) % 100000 - 500,
               (i * 7) % 100 - 3,
               CASE WHEN i % 2 = 0 THEN 'f' ELSE 'm' END
             FROM generate_series(1, {rows}) i;"
        ),
    );
    db
}

fn rules(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const GENERALISED: &str = r#"version = 1
[tables."public.people"]
keep = ["id", "gender"]
[tables."public.people".columns]
date_of_birth = { action = "generalise", to = "year" }
seen_at = { action = "generalise", to = "month" }
postcode = { action = "generalise", prefix = 2 }
salary = { action = "generalise", band = 2.5 }
age = { action = "generalise", band = 10 }
"#;

#[test]
fn generalised_columns_equal_what_postgresql_computes_and_keep_their_types() {
    let c = cluster();
    let source = people(500);
    let target = format!("{source}_out");
    let dir = tempfile::tempdir().unwrap();
    let rules = rules(dir.path(), GENERALISED);
    let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &["--batch-rows", "64"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = c.psql(
        &source,
        "SET TIME ZONE 'UTC'; SELECT id, date_trunc('year', date_of_birth)::date, date_trunc('month', seen_at), \
         left(postcode, 2), (floor(salary / 2.5) * 2.5)::numeric(8,2), (floor(age / 10.0) * 10)::smallint, gender \
         FROM people ORDER BY id",
    );
    let written = c.psql(
        &target,
        "SET TIME ZONE 'UTC'; SELECT id, date_of_birth, seen_at, postcode, salary, age, gender FROM people ORDER BY id",
    );
    assert_eq!(written.lines().count(), 500);
    assert_eq!(written, expected);
    assert!(written.contains("|1987-01-01|") || written.contains("-01-01|"), "dates are the first of a year");
    let types = "SELECT string_agg(column_name || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) \
                 FROM information_schema.columns JOIN pg_attribute ON attrelid = 'people'::regclass \
                 AND attname = column_name WHERE table_name = 'people'";
    assert_eq!(c.scalar(&target, types), c.scalar(&source, types));
}

/// Runs `rules` from `source` into a new database with `--report` and `extra` arguments (and
/// `DOPPEL_RISK_CLASSES` when `cap` is given); returns the target's name and the `risk`
/// section of `public.people`.
fn run_with_report(
    source: &str,
    rules: &std::path::Path,
    extra: &[&str],
    cap: Option<usize>,
) -> (String, serde_json::Value) {
    let c = cluster();
    let target = format!("{source}_{}", extra.join("").replace(['-', ' '], ""));
    let report = rules.with_file_name(format!("{target}.json"));
    let mut args = run_args(rules, &c.url(source), &c.url(&target), &["--report", report.to_str().unwrap()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut command = doppel_command(&args, Some(TEST_KEY));
    if let Some(cap) = cap {
        command.env("DOPPEL_RISK_CLASSES", cap.to_string());
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let people = json["tables"].as_array().unwrap().iter().find(|t| t["table"] == "public.people").unwrap();
    (target, people["risk"].clone())
}

/// What plain Python counts on `lines` (one line per row: the tuple of quasi-identifiers).
fn python_classes(lines: &str) -> serde_json::Value {
    let python = python().expect("DOPPEL_PYTHON is not set: run the tests with `bash scripts/test.sh`");
    let script = "import sys, json, collections\n\
                  rows = sys.stdin.read().splitlines()\n\
                  sizes = collections.Counter(collections.Counter(rows).values())\n\
                  print(json.dumps({'rows': len(rows), 'unique_rows': sizes.get(1, 0), 'k': min(sizes) if sizes else 0,\n\
                                    'classes': sorted([s, n] for s, n in sizes.items())}))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The published rows' quasi-identifiers, one line per row, NULL written as `<NULL>`.
fn published(db: &str) -> String {
    cluster()
        .psql(db, "SELECT coalesce(date_of_birth::text, '<NULL>') || '|' || coalesce(postcode, '<NULL>') FROM people")
}

fn assert_same_figures(risk: &serde_json::Value, python: &serde_json::Value) {
    for key in ["rows", "unique_rows", "k", "classes"] {
        assert_eq!(risk[key], python[key], "{key}: {risk} against Python's {python}");
    }
    let share = python["unique_rows"].as_f64().unwrap() / python["rows"].as_f64().unwrap();
    assert!((risk["unique_share"].as_f64().unwrap() - share).abs() < 1e-12);
    assert_eq!(risk["exact"], true);
    assert_eq!(risk["error_bound"], serde_json::Value::Null);
}

#[test]
fn a_table_where_every_row_is_unique_on_its_quasi_identifiers_reports_k_1() {
    let c = cluster();
    let db = c.create_database("risk");
    c.psql(
        &db,
        "CREATE TABLE people (id int PRIMARY KEY, date_of_birth date, postcode text, email text);
         INSERT INTO people SELECT i, date '1950-01-01' + i, 'P' || (i % 7), 'secret' || i || '@example.com'
         FROM generate_series(1, 300) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = rules(
        dir.path(),
        "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\", \"date_of_birth\", \"postcode\"]\n\
         quasi_identifiers = [\"date_of_birth\", \"postcode\"]\n\
         [tables.\"public.people\".columns]\nemail = { action = \"hash\" }\n",
    );
    let (_, risk) = run_with_report(&db, &rules, &[], None);
    assert_eq!(risk["quasi_identifiers"], serde_json::json!(["date_of_birth", "postcode"]));
    assert_eq!(
        (risk["rows"].as_u64(), risk["unique_rows"].as_u64(), risk["k"].as_u64()),
        (Some(300), Some(300), Some(1))
    );
    assert_eq!(risk["unique_share"], 1.0);
    assert_eq!(risk["classes"], serde_json::json!([[1, 300]]));
    assert_eq!(risk["warning"], "300 rows (100.0%) are unique on (date_of_birth, postcode)");
    assert_eq!(
        risk["suggestion"], "generalise date_of_birth to year: { action = \"generalise\", to = \"year\" }",
        "the birth date has the most distinct values"
    );
    // Only names and counts: no value of the table reaches the section.
    let text = risk.to_string();
    for value in ["1950-", "P3", "secret", "example.com"] {
        assert!(!text.contains(value), "{text}");
    }
    // `check --explain` lists them.
    let out = common::doppel(&["check", "--explain", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db)], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let explained = String::from_utf8_lossy(&out.stdout);
    assert!(explained.contains("quasi-identifiers: date_of_birth, postcode"), "{explained}");
}

#[test]
fn classes_equal_what_python_counts_on_the_output_and_generalising_raises_k() {
    let source = people(2000);
    let dir = tempfile::tempdir().unwrap();
    let kept = rules(
        dir.path(),
        "version = 1\n[tables.\"public.people\"]\n\
         keep = [\"id\", \"gender\", \"date_of_birth\", \"postcode\", \"seen_at\", \"salary\", \"age\"]\n\
         quasi_identifiers = [\"date_of_birth\", \"postcode\"]\n",
    );
    let (target, before) = run_with_report(&source, &kept, &[], None);
    assert_same_figures(&before, &python_classes(&published(&target)));
    assert_eq!(before["k"], 1);

    let generalised = rules(
        dir.path(),
        &GENERALISED.replace(
            "keep = [\"id\", \"gender\"]",
            "keep = [\"id\", \"gender\"]\nquasi_identifiers = [\"date_of_birth\", \"postcode\"]",
        ),
    );
    let (target, after) = run_with_report(&source, &generalised, &["--threads", "1", "--batch-rows", "7"], None);
    let python = python_classes(&published(&target));
    assert_same_figures(&after, &python);
    assert!(after["k"].as_u64().unwrap() > 1, "generalising raises k: {after}");
    assert_eq!(after["warning"], serde_json::Value::Null);
    assert_eq!(after["suggestion"], serde_json::Value::Null);

    // The same figures whatever the threads, jobs, batch size, and with classes spilled to disk.
    let (_, parallel) =
        run_with_report(&source, &generalised, &["--threads", "2", "--jobs", "2", "--batch-rows", "500"], None);
    assert_eq!(parallel, after);
    let (_, spilled) = run_with_report(&source, &generalised, &["--batch-rows", "64"], Some(5));
    assert_eq!(spilled, after);
}

#[test]
fn scan_suggests_the_quasi_identifiers_and_its_rules_measure_them() {
    let c = cluster();
    let source = people(200);
    let out = common::doppel(&["scan", "--from", &c.url(&source)], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let scanned = String::from_utf8(out.stdout).unwrap();
    // The birth date and the age are noised, the gender kept; the postcode is masked.
    assert!(scanned.contains("quasi_identifiers = [\"date_of_birth\", \"age\", \"gender\"]"), "{scanned}");
    let dir = tempfile::tempdir().unwrap();
    let rules = rules(dir.path(), &scanned);
    let (_, risk) = run_with_report(&source, &rules, &[], None);
    assert_eq!(risk["quasi_identifiers"], serde_json::json!(["date_of_birth", "age", "gender"]));
    assert_eq!(risk["rows"], 200);
}
