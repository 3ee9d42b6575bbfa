//! Nothing written outside the target, no target lost.
//!
//! End-to-end through the `doppel` binary, for the file targets (a Parquet folder, a SQL dump
//! file):
//!
//! - table names chosen by whoever owns the source (absolute paths, `..`, `/`, a leading `.`,
//!   `%`) become encoded file names inside the target, never paths, and read back as the same
//!   table names;
//! - `--replace` replaces only what doppel wrote (`--force` otherwise), and never an input of
//!   the run, whatever the flags;
//! - one run at a time per target (an OS lock beside it); what another run staged is left
//!   alone while it holds the lock, and removed by the next run after;
//! - `--report` to a place that cannot be written stops the run before it publishes.
//!
//! Each test fails on the code before the hardening (commit 90ba9da).

use crate::common;

use std::fs::File;
use std::path::Path;
use std::process::Output;

use common::pg::cluster;
use common::*;

/// The names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Asserts that `out` failed with exit `code` and a message holding every one of `needles`.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    }
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `doppel run --quiet --rules R --from SRC --to DST` with TEST_KEY and `extra`.
fn run(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    doppel_run(rules, from, to, extra)
}

// ---------------------------------------------------------------------------------------
// File names

#[test]
fn hostile_table_names_become_encoded_file_names_inside_the_target_and_read_back() {
    let c = cluster();
    let db = c.create_database("target_safety_names");
    // A directory the source names by its absolute path: the old code wrote into it.
    let abs = tempfile::Builder::new().prefix("ts").tempdir_in("/tmp").unwrap();
    let abs_schema = format!("{}/pwnd", abs.path().display());
    std::fs::create_dir(abs.path().join("pwnd")).unwrap();
    assert!(abs_schema.len() < 60, "{abs_schema}");
    let root = tempfile::tempdir().unwrap();
    // Two levels below `root`, so that `../../` from the staging folder stays inside it.
    let base = root.path().join("a/b");
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("out");

    let tables = [
        (abs_schema.clone(), "t".to_string()),
        ("../../escaped".to_string(), "t".to_string()),
        ("public".to_string(), "x/y".to_string()),
        (".hidden".to_string(), "t".to_string()),
        ("pct%41".to_string(), "t%2F".to_string()),
    ];
    let mut sql = String::new();
    let mut rules = String::from("version = 1\n");
    for (i, (schema, table)) in tables.iter().enumerate() {
        let q = format!("\"{schema}\".\"{table}\"");
        if schema != "public" {
            sql.push_str(&format!("CREATE SCHEMA \"{schema}\";\n"));
        }
        sql.push_str(&format!("CREATE TABLE {q} (id int PRIMARY KEY); INSERT INTO {q} VALUES ({i});\n"));
        rules.push_str(&format!("[tables.\"{schema}.{table}\"]\nkeep = [\"id\"]\n"));
    }
    c.psql(&db, &sql);
    let rules_file = root.path().join("rules.toml");
    std::fs::write(&rules_file, &rules).unwrap();

    ok(&run(&rules_file, &c.url(&db), s(&out), &[]));

    // The encoded names, and nothing else, inside the target.
    let abs_encoded = abs_schema.replace('/', "%2F");
    let mut expected: Vec<String> = vec![
        format!("{abs_encoded}.t.parquet"),
        "%2E.%2F..%2Fescaped.t.parquet".to_string(),
        "public.x%2Fy.parquet".to_string(),
        "%2Ehidden.t.parquet".to_string(),
        "pct%2541.t%252F.parquet".to_string(),
        ".doppel-output".to_string(),
    ];
    expected.sort();
    assert_eq!(entries(&out), expected);
    // Nothing outside it: the absolute-path directory is empty, `root` holds only a/b and the
    // rules, and beside the target only its lock file.
    assert!(entries(abs.path()) == ["pwnd"] && entries(&abs.path().join("pwnd")).is_empty());
    assert_eq!(entries(root.path()), ["a", "rules.toml"]);
    assert_eq!(entries(&root.path().join("a")), ["b"]);
    assert_eq!(entries(&base), [".out.doppel-lock", "out"]);

    // The output reads back through doppel under the original table names: the same rules bind
    // to it, and a second copy has the same files with the same rows.
    let again = base.join("again");
    ok(&run(&rules_file, s(&out), s(&again), &[]));
    assert_eq!(entries(&again), expected);
    for (i, (schema, table)) in tables.iter().enumerate() {
        let batch = concat(&read_table(&again, &format!("{schema}.{table}")));
        let ids = batch.column(0).as_any().downcast_ref::<arrow_array::Int32Array>().unwrap();
        assert_eq!(ids.values().to_vec(), [i as i32], "{schema}.{table}");
    }
    let scan = doppel(&["scan", "--from", s(&out), "--sample-rows", "0"], None);
    ok(&scan);
    let text = String::from_utf8_lossy(&scan.stdout);
    for (schema, table) in &tables {
        assert!(text.contains(&format!("{schema}.{table}")), "{schema}.{table} not in:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------
// --replace

#[test]
fn replace_refuses_a_folder_doppel_did_not_write_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious");
    std::fs::create_dir_all(precious.join("sub")).unwrap();
    std::fs::write(precious.join("thesis.txt"), "years of work\n").unwrap();
    std::fs::write(precious.join("sub/data.csv"), "a,b\n1,2\n").unwrap();
    let before = snapshot(&precious);

    let out = run_shop(&precious, TEST_KEY, &["--replace"]);
    assert_fails(&out, 5, &[s(&precious), "was not written by doppel", "--force"]);
    assert_eq!(snapshot(&precious), before, "the folder was touched");
    assert!(
        entries(dir.path()).iter().all(|e| !e.contains("partial") && !e.contains("old")),
        "{:?}",
        entries(dir.path())
    );

    ok(&run_shop(&precious, TEST_KEY, &["--replace", "--force"]));
    assert!(!precious.join("thesis.txt").exists() && !precious.join("sub").exists());
    assert!(precious.join(".doppel-output").is_file());
    assert!(precious.join("public.customers.parquet").is_file());
}

#[test]
fn a_run_never_replaces_its_own_source_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    ok(&run_shop(&d, TEST_KEY, &[]));
    let before = snapshot(&d);
    let rules = shop_rules();
    let refusal = format!("is {}, which this run reads", d.display());
    for extra in [&["--replace"][..], &["--replace", "--force"][..]] {
        let out = run(&rules, s(&d), s(&d), extra);
        assert_fails(&out, 5, &[s(&d), &refusal, "whatever the flags"]);
        assert_eq!(snapshot(&d), before, "the source changed ({extra:?})");
    }
    // The same through another spelling of the same folder.
    let spelled = format!("{}/../d/.", d.display());
    let out = run(&rules, s(&d), &spelled, &["--replace", "--force"]);
    assert_fails(&out, 5, &["which this run reads"]);
    assert_eq!(snapshot(&d), before);
}

#[test]
fn a_run_never_replaces_a_folder_holding_its_source_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    let inner = d.join("inner");
    ok(&run_shop(&inner, TEST_KEY, &[]));
    let before = snapshot(&d);
    let out = run(&shop_rules(), s(&inner), s(&d), &["--replace", "--force"]);
    let refusal = format!("contains {}, which this run reads", inner.display());
    assert_fails(&out, 5, &[s(&d), &refusal]);
    assert_eq!(snapshot(&d), before, "the source changed");
    // And the other way round: a target inside the source.
    let out = run(&shop_rules(), s(&inner), s(&inner.join("x")), &["--replace", "--force"]);
    let refusal = format!("is inside {}, which this run reads", inner.display());
    assert_fails(&out, 5, &[&refusal]);
    assert_eq!(snapshot(&d), before);
}

#[test]
fn replace_replaces_doppel_outputs_with_or_without_the_marker() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    ok(&run_shop(&out_dir, TEST_KEY, &[]));
    let marker = out_dir.join(".doppel-output");
    let text = std::fs::read_to_string(&marker).unwrap();
    assert!(text.contains("written by doppel"), "{text}");
    let first = snapshot(&out_dir);

    // Without --replace: refused, untouched.
    let out = run_shop(&out_dir, TEST_KEY, &[]);
    assert_fails(&out, 5, &[s(&out_dir), "--replace"]);
    assert_eq!(snapshot(&out_dir), first);

    // The documented flow: the same run again with --replace, another key so the bytes change.
    ok(&run_shop(&out_dir, OTHER_KEY, &["--replace"]));
    let second = snapshot(&out_dir);
    assert_ne!(second, first, "not replaced");
    assert!(marker.is_file());

    // An output written before the marker existed: only doppel's Parquet files.
    std::fs::remove_file(&marker).unwrap();
    ok(&run_shop(&out_dir, TEST_KEY, &["--replace"]));
    assert_eq!(snapshot(&out_dir), first, "replaced by the first run's bytes");
    assert!(
        entries(dir.path()).iter().all(|e| !e.contains("partial") && !e.contains("old")),
        "{:?}",
        entries(dir.path())
    );
}

#[test]
fn replace_of_a_sql_dump_only_over_a_dump_doppel_wrote() {
    let c = cluster();
    let db = c.create_database("target_safety_dump");
    c.psql(&db, "CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items VALUES (1, 'a'), (2, 'b');");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "version = 1\n[tables.\"public.items\"]\nkeep = [\"id\", \"label\"]\n").unwrap();
    let url = c.url(&db);

    let notes = dir.path().join("notes.sql");
    std::fs::write(&notes, "-- my hand-written migrations\nCREATE TABLE precious (id int);\n").unwrap();
    let out = run(&rules, &url, s(&notes), &["--replace"]);
    assert_fails(&out, 5, &[s(&notes), "is not a SQL dump doppel wrote", "--force"]);
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "-- my hand-written migrations\nCREATE TABLE precious (id int);\n"
    );

    let dump = dir.path().join("dump.sql");
    ok(&run(&rules, &url, s(&dump), &[]));
    let first = std::fs::read(&dump).unwrap();
    assert!(first.starts_with(b"--\n-- doppel "));
    c.psql(&db, "INSERT INTO items VALUES (3, 'c');");
    ok(&run(&rules, &url, s(&dump), &["--replace"]));
    let second = std::fs::read_to_string(&dump).unwrap();
    assert!(second.contains("3\tc"), "not replaced:\n{second}");

    ok(&run(&rules, &url, s(&notes), &["--replace", "--force"]));
    assert!(std::fs::read(&notes).unwrap().starts_with(b"--\n-- doppel "));
    assert!(
        entries(dir.path()).iter().all(|e| !e.contains("partial") && !e.contains("old")),
        "{:?}",
        entries(dir.path())
    );
}

// ---------------------------------------------------------------------------------------
// One run at a time

#[test]
fn a_second_run_on_a_locked_target_fails_at_once_and_leaves_the_other_runs_staging() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // "Another run": it holds the lock and is staging its output (pid no system has).
    let lock = File::create(dir.path().join(".out.doppel-lock")).unwrap();
    lock.lock().unwrap();
    let staged = dir.path().join(".out.doppel-partial-99999999");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("public.customers.parquet"), "being written").unwrap();

    let out = run_shop(&out_dir, TEST_KEY, &[]);
    assert_fails(&out, 5, &[s(&out_dir), "another doppel run is writing it"]);
    assert!(!out_dir.exists(), "published while another run held the lock");
    assert!(staged.join("public.customers.parquet").is_file(), "the live run's staging was removed");
    assert_eq!(entries(dir.path()), [".out.doppel-lock", ".out.doppel-partial-99999999"]);

    // Once it let go, the next run removes what it left and publishes.
    drop(lock);
    ok(&run_shop(&out_dir, TEST_KEY, &[]));
    assert!(!staged.exists(), "a dead run's staging stays");
    assert_eq!(entries(dir.path()), [".out.doppel-lock", "out"]);
}

// ---------------------------------------------------------------------------------------
// --report

#[test]
fn an_unwritable_report_stops_the_run_before_it_replaces_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    ok(&run_shop(&out_dir, TEST_KEY, &[]));
    let before = snapshot(&out_dir);
    let report = dir.path().join("nonexistent/dir/r.json");
    // Another key: had the run published, the files would differ.
    let out = run_shop(&out_dir, OTHER_KEY, &["--replace", "--report", s(&report)]);
    assert_fails(&out, 5, &[s(&report)]);
    assert_eq!(snapshot(&out_dir), before, "the output was replaced");
    assert_eq!(entries(dir.path()), [".out.doppel-lock", "out"]);

    // A report over an input of the run (the rules) is refused the same way.
    let rules_copy = dir.path().join("rules.toml");
    std::fs::copy(shop_rules(), &rules_copy).unwrap();
    let rules_bytes = std::fs::read(&rules_copy).unwrap();
    let fixtures = fixture_dir();
    let out = doppel(
        &run_args(&rules_copy, s(&fixtures), s(&out_dir), &["--replace", "--report", s(&rules_copy)]),
        Some(OTHER_KEY),
    );
    assert_fails(&out, 5, &[s(&rules_copy), "which this run reads"]);
    assert_eq!(std::fs::read(&rules_copy).unwrap(), rules_bytes);
    assert_eq!(snapshot(&out_dir), before, "the output was replaced");
}

#[test]
fn a_report_is_written_when_the_run_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let report = dir.path().join("report.json");
    ok(&run_shop(&out_dir, TEST_KEY, &["--report", s(&report)]));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json.is_object(), "{json}");
    assert!(out_dir.join("public.customers.parquet").is_file());
    assert_eq!(entries(dir.path()), [".out.doppel-lock", "out", "report.json"]);
}

#[test]
fn a_report_inside_the_target_is_refused_before_the_output_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    ok(&run_shop(&out_dir, TEST_KEY, &[]));
    let before = std::fs::read(out_dir.join("public.customers.parquet")).unwrap();
    let report = out_dir.join("report.json");
    let out = run_shop(&out_dir, OTHER_KEY, &["--replace", "--report", s(&report)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is inside the target"), "{}", stderr(&out));
    assert_eq!(std::fs::read(out_dir.join("public.customers.parquet")).unwrap(), before);
    assert!(!report.exists());
    assert_eq!(entries(dir.path()), [".out.doppel-lock", "out"]);
}
