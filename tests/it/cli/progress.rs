//! What stderr shows while commands work (docs/progress.md): log lines per table every
//! DOPPEL_PROGRESS_INTERVAL_MS when stderr is not a terminal, naming tables and counts and
//! never a value; a bar with its percentage and ETA under a pseudo-terminal; and nothing at
//! all with `--quiet` for a successful command.

use std::collections::HashMap;
use std::process::Output;

use arrow_cast::display::{ArrayFormatter, FormatOptions};
use regex::Regex;

use crate::common::*;

/// `doppel run` of the shop fixture into `out`, slowed down (small batches, one thread, one
/// table at a time) so that each table lasts many milliseconds; not quiet.
fn slow_run_args(out: &std::path::Path) -> Vec<String> {
    let extra = ["--batch-rows", "16", "--threads", "1", "--jobs", "1"];
    run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out.to_str().unwrap(), &extra)
        .into_iter()
        .filter(|a| a != "--quiet")
        .collect()
}

/// The shop fixture's rows per table.
fn shop_rows() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("public.customers", "2,000"),
        ("public.orders", "6,441"),
        ("public.order_items", "11,602"),
        ("public.support_tickets", "495"),
    ])
}

/// The values of personal customer columns at least 6 characters long.
fn personal_values() -> Vec<String> {
    let batch = concat(&read_table(&fixture_dir(), "public.customers"));
    let options = FormatOptions::default();
    let mut values = Vec::new();
    for column in ["email", "phone", "last_name", "street", "iban"] {
        let array = batch.column(batch.schema().index_of(column).unwrap());
        let formatter = ArrayFormatter::try_new(array.as_ref(), &options).unwrap();
        values.extend((0..array.len()).map(|i| formatter.value(i).to_string()).filter(|v| v.len() >= 6));
    }
    assert!(values.len() > 5000, "{}", values.len());
    values
}

#[test]
fn log_lines_come_every_interval_with_table_names_and_counts_and_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel_command(&slow_run_args(&dir.path().join("out")), Some(TEST_KEY))
        .env("DOPPEL_PROGRESS_INTERVAL_MS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    let line = Regex::new(r"(?m) INFO (public\.[a-z_]+)(?: \(unique values\))?: [0-9,]+ of ([0-9,]+) rows \([0-9]+%\)")
        .unwrap();
    let rows = shop_rows();
    let mut tables = std::collections::BTreeSet::new();
    for found in line.captures_iter(&text) {
        let table = found.get(1).unwrap().as_str();
        // Parquet footers give exact totals: no `~`.
        assert_eq!(Some(&&found[2]), rows.get(table), "{}", &found[0]);
        tables.insert(table.to_string());
    }
    assert!(tables.len() >= 3, "periodic lines for {tables:?} only:\n{text}");
    for (table, count) in &rows {
        assert!(text.contains(&format!("INFO {table}: {count} rows in ")), "no end line for {table}:\n{text}");
    }
    for value in personal_values() {
        assert!(!text.contains(&value), "a value of the source is on stderr");
    }
    assert!(!text.contains(TEST_KEY));

    // Without the variable, a run this short has no line but the tables' ends.
    let out = doppel(&slow_run_args(&dir.path().join("out2")), Some(TEST_KEY));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!line.is_match(&stderr(&out)), "{}", stderr(&out));

    // A bad interval is a usage error naming the variable.
    let out = doppel_command(&slow_run_args(&dir.path().join("out3")), Some(TEST_KEY))
        .env("DOPPEL_PROGRESS_INTERVAL_MS", "10s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("DOPPEL_PROGRESS_INTERVAL_MS"), "{}", stderr(&out));
    assert!(!dir.path().join("out3").exists());
}

#[test]
fn a_terminal_shows_a_bar_per_table_with_percentage_and_eta() {
    let dir = tempfile::tempdir().unwrap();
    let out: Output =
        doppel_on_terminal(&slow_run_args(&dir.path().join("out")), TEST_KEY).env("COLUMNS", "120").output().unwrap();
    // Under `script`, doppel's stderr (the terminal) arrives on script's stdout.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let bar = Regex::new(r"public\.orders \[[=> ]+\] [0-9,]+ of 6,441 rows \([0-9]+%\), ETA [0-9]+ s").unwrap();
    assert!(bar.is_match(&text), "no bar with a percentage for public.orders:\n{text}");
    assert!(text.contains("public.orders: 6,441 rows in "), "{text}");
    assert!(text.contains("done: 20538 rows"), "{text}");
    assert!(!text.contains("\x1b[36m"), "NO_COLOR: no colours");
    assert!(!text.contains(" INFO public."), "no progress log lines on a terminal:\n{text}");
}

#[test]
fn quiet_leaves_stderr_empty_for_successful_run_verify_scan_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, data) = (shop_rules(), fixture_dir());
    let (rules, data) = (rules.to_str().unwrap(), data.to_str().unwrap());
    let target = dir.path().join("out");
    let target = target.to_str().unwrap();
    let scanned = dir.path().join("scanned.toml");
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", "--rules", rules, "--from", data, "--to", target, "--verify"],
        vec!["verify", "--rules", rules, "--from", data, "--to", target],
        vec!["scan", "--from", data, "--out", scanned.to_str().unwrap()],
        vec!["check", "--rules", rules, "--from", data],
    ];
    for args in commands {
        // --quiet wins over --log and DOPPEL_LOG; the interval would otherwise add lines.
        let out = doppel_command(&[&["--quiet", "--log", "debug"][..], &args[..]].concat(), Some(TEST_KEY))
            .env("DOPPEL_PROGRESS_INTERVAL_MS", "1")
            .env("DOPPEL_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?} --quiet printed on stderr");
    }
    // An error is still printed.
    let out = doppel(&["-q", "check", "--rules", rules, "--from", "/nonexistent"], None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn quiet_leaves_stderr_empty_for_profile_and_generate_and_estimates_show_as_approximate() {
    let c = pg::cluster();
    let db = c.trade();
    c.psql(&db, "ANALYZE");
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let rules = rules.to_str().unwrap();
    let url = c.url(&db);
    let profile = dir.path().join("trade.profile.toml");
    let profile = profile.to_str().unwrap();
    let generated = dir.path().join("generated");
    let commands: Vec<Vec<&str>> = vec![
        vec!["profile", "--rules", rules, "--from", &url, "--out", profile],
        vec!["generate", "--rules", rules, "--profile", profile, "--to", generated.to_str().unwrap()],
        vec!["generate", "--rules", rules, "--from", &url, "--to", "-"],
    ];
    for args in commands {
        let out = doppel_command(&[&["--quiet"][..], &args[..]].concat(), Some(TEST_KEY))
            .env("DOPPEL_PROGRESS_INTERVAL_MS", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?} --quiet printed on stderr");
    }

    // From PostgreSQL, the expected rows are the planner's estimates: `~N`.
    let target = dir.path().join("anonymised");
    let out = doppel_command(
        &[
            "run",
            "--rules",
            rules,
            "--from",
            &url,
            "--to",
            target.to_str().unwrap(),
            "--batch-rows",
            "8",
            "--jobs",
            "1",
        ],
        Some(TEST_KEY),
    )
    .env("DOPPEL_PROGRESS_INTERVAL_MS", "1")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let estimated = Regex::new(r"INFO public\.orders: [0-9,]+ of ~830 rows \([0-9]+%\)").unwrap();
    assert!(estimated.is_match(&stderr(&out)), "{}", stderr(&out));
}
