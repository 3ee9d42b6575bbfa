//! The schema-drift guard through the binary: the committed schema locks of the rules the tests
//! run (rules/shop, rules/bench*, tests/fixtures/pg/trade and club) match their sources
//! (`DOPPEL_BLESS=1 cargo test --test it drift::` rewrites them; the locks of the rules for the
//! public sample databases are checked by the corpus tests); a column added,
//! renamed or retyped and a table added in the source stop `check` and `run` (exit 3, nothing
//! written) with a report naming each change and a suggested rule line, and no value; the
//! same for a Parquet source that lost a table; `check --lock` records the new schema; without
//! a lock, `check` says so and an unruled column's problem carries scan's suggestion.

use crate::common;

use std::path::{Path, PathBuf};

use common::pg::cluster;
use common::{doppel, doppel_run, root, stderr};

/// `<folder>/<name>.toml` and its lock copied into a new directory (so a test can rewrite the
/// lock); `folder` is relative to the repository.
fn copy_rules(folder: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join(format!("{name}.toml"));
    std::fs::copy(root().join(format!("{folder}/{name}.toml")), &rules).unwrap();
    let lock = root().join(format!("{folder}/{name}.schema.lock"));
    if lock.exists() {
        std::fs::copy(&lock, dir.path().join(format!("{name}.schema.lock"))).unwrap();
    }
    (dir, rules)
}

fn check(rules: &Path, from: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", "--rules", rules.to_str().unwrap(), "--from", from];
    args.extend_from_slice(extra);
    doppel(&args, None)
}

/// `doppel run --quiet` with the test key.
fn run(rules: &Path, from: &str, to: &str) -> std::process::Output {
    doppel_run(rules, from, to, &[])
}

/// A new database loaded with the benchmark fixture (small).
fn bench_fixture() -> String {
    cluster().bench("drift_bench", 10, 10, "1")
}

#[test]
fn committed_locks_match_their_sources() {
    let c = cluster();
    const FIXTURES: &str = "tests/fixtures/pg";
    let sources = [
        (FIXTURES, "trade", c.url(&c.trade())),
        (FIXTURES, "club", c.url(&c.club())),
        ("rules", "shop", common::fixture_dir().to_str().unwrap().to_string()),
        ("rules", "bench", c.url(&bench_fixture())),
        ("rules", "bench_keep", c.url(&bench_fixture())),
    ];
    let bless = std::env::var_os("DOPPEL_BLESS").is_some();
    for (folder, name, from) in sources {
        let (dir, rules) = copy_rules(folder, name);
        let out = check(&rules, &from, &["--lock"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let written = std::fs::read_to_string(dir.path().join(format!("{name}.schema.lock"))).unwrap();
        let committed_path = root().join(format!("{folder}/{name}.schema.lock"));
        if bless {
            std::fs::write(&committed_path, &written).unwrap();
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        assert_eq!(
            committed, written,
            "{name}: {folder}/{name}.schema.lock is out of date; rewrite it with DOPPEL_BLESS=1 cargo test --test it drift::"
        );
        let out = check(&root().join(format!("{folder}/{name}.toml")), &from, &[]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("the source schema matches"), "{name}: {}", stderr(&out));
    }
}

#[test]
fn added_renamed_and_retyped_columns_and_a_new_table_stop_check_and_run() {
    let c = cluster();
    let db = c.club();
    let rules = root().join("tests/fixtures/pg/club.toml");
    let out = check(&rules, &c.url(&db), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Values that must never appear in a message.
    let values: Vec<String> = c
        .psql(&db, "SELECT surname FROM cd.members WHERE memid > 0 ORDER BY memid LIMIT 3")
        .lines()
        .map(str::to_string)
        .collect();
    c.psql(
        &db,
        "ALTER TABLE cd.members ADD COLUMN email text;
         ALTER TABLE cd.members RENAME COLUMN telephone TO phone_number;
         ALTER TABLE cd.facilities ALTER COLUMN monthlymaintenance TYPE bigint;
         CREATE TABLE cd.guests (id integer PRIMARY KEY, first_name text, birth_date date);
         ALTER TABLE cd.bookings ADD COLUMN paid_by integer REFERENCES cd.members (memid);",
    );

    let out = check(&rules, &c.url(&db), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    for expected in [
        "the source schema changed since the rules were reviewed (5 change(s) against",
        // Scan's suggestion, corrected by the rules: the key it references is hashed in `memid`.
        "cd.bookings.paid_by: column has no rule: it is new in the source (integer); suggested:\n        \
         paid_by = { action = \"hash\", domain = \"memid\" }  # foreign key to cd.members.memid",
        "club.schema.lock",
        "cd.members.email: column has no rule: it is new in the source (text); suggested:",
        "cd.members.telephone: renamed to phone_number? (a dropped and a new column, both character varying(20))",
        "its rule `mask` at ",
        "cd.facilities.monthlymaintenance: retyped from numeric to bigint; its rule `keep` at ",
        "new table cd.guests (3 column(s)); suggested rules:",
        "[tables.\"cd.guests\"]\n        keep = [\n          \"id\",  # primary key",
        "[tables.\"cd.guests\".columns]",
        "first_name = { action = \"fake\", generator = \"first_name\"",
        "doppel check --lock",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // A suggested rule line for the new, the renamed and the retyped column.
    for column in ["email", "phone_number", "monthlymaintenance", "paid_by"] {
        let suggested = err.lines().any(|l| {
            let l = l.trim_start();
            (l.starts_with(&format!("{column} = {{ action = "))
                || l.starts_with("keep = [..., \"") && l.contains(column))
                && l.contains('#')
        });
        assert!(suggested, "no suggested rule for {column} in:\n{err}");
    }
    for v in &values {
        assert!(!err.contains(v.as_str()), "a value appears in the report:\n{err}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&rules, &c.url(&db), out_dir.to_str().unwrap());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("the source schema changed since the rules were reviewed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("retyped from numeric to bigint"), "{}", stderr(&out));
    assert!(!out_dir.exists(), "the run wrote output");
    let target = format!("{db}_out");
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(c.scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")), "0");
}

#[test]
fn check_lock_records_the_new_schema_once_the_rules_cover_it() {
    let c = cluster();
    let db = c.club();
    let (dir, rules) = copy_rules("tests/fixtures/pg", "club");
    c.psql(&db, "ALTER TABLE cd.members ADD COLUMN email text");
    // The rules do not cover the new column: --lock refuses, the lock stays as it was.
    let before = std::fs::read_to_string(dir.path().join("club.schema.lock")).unwrap();
    let out = check(&rules, &c.url(&db), &["--lock"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cd.members.email: column has no rule"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("club.schema.lock")).unwrap(), before);
    // Covered, but not yet recorded: still drift, naming the rule.
    let text =
        std::fs::read_to_string(&rules).unwrap().replace("keep = [\"joindate\"]", "keep = [\"joindate\", \"email\"]");
    std::fs::write(&rules, text).unwrap();
    let out = check(&rules, &c.url(&db), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cd.members.email: new in the source since the lock; its rule `keep` at"),
        "{}",
        stderr(&out)
    );
    // Recorded: check passes.
    let out = check(&rules, &c.url(&db), &["--lock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 change(s) since the previous lock"), "{}", stderr(&out));
    let after = std::fs::read_to_string(dir.path().join("club.schema.lock")).unwrap();
    assert!(after.contains("email         = \"text\"") || after.contains("email = \"text\""), "{after}");
    let out = check(&rules, &c.url(&db), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_parquet_source_that_lost_a_table_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(common::fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        if !path.ends_with("public.support_tickets.parquet") {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out_dir = dir.path().join("out");
    let out = run(&common::shop_rules(), data.to_str().unwrap(), out_dir.to_str().unwrap());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("dropped table public.support_tickets: remove its rules at "), "{err}");
    assert!(!out_dir.exists());
}

#[test]
fn without_a_lock_check_notes_it_and_suggests_rules_for_unruled_columns() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("shop.toml");
    std::fs::copy(common::shop_rules(), &rules).unwrap();
    let out = check(&rules, common::fixture_dir().to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("note: no schema lock at"), "{}", stderr(&out));
    assert!(stderr(&out).contains("doppel check --lock"), "{}", stderr(&out));
    // A column without a rule is listed as before, with scan's suggestion on its line.
    let text = std::fs::read_to_string(&rules).unwrap().replace(", \"country\"]", "]");
    std::fs::write(&rules, text).unwrap();
    let out = check(&rules, common::fixture_dir().to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "public.customers.country: column has no rule (type Utf8); add it to `keep` or give it a rule under \
             [tables.\"public.customers\".columns]; `doppel scan` suggests:\n        keep = [..., \"country\"]  # "
        ),
        "{}",
        stderr(&out)
    );
}
