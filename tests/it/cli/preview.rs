//! `doppel preview` (docs/preview.md): its before and after values are the source's and what
//! `run` writes for the same rows, from Parquet and from PostgreSQL; it refuses a stdout that
//! is not a terminal unless --force, warns on stderr, prints a hostile value inert, and
//! refuses what `check` refuses and tables the rules do not name.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use arrow_array::Array;
use arrow_cast::display::ArrayFormatter;

use crate::common::pg::cluster;
use crate::common::*;

/// One column of one previewed row: (before, after) as printed.
type Shown = BTreeMap<String, (String, String)>;

/// `doppel preview --force` (stdout a pipe) of `table`'s first `rows` rows, all columns, wide
/// enough that nothing is cut.
fn preview(rules: &Path, from: &str, table: &str, rows: &str, extra: &[&str]) -> Output {
    let mut args = vec!["preview", "--rules", rules.to_str().unwrap(), "--from", from, "--table", table];
    args.extend(["--rows", rows, "--all-columns", "--force"]);
    args.extend(extra);
    doppel_command(&args, Some(TEST_KEY)).env("COLUMNS", "1000").output().unwrap()
}

/// `doppel preview` of the shop fixture's `table` with `extra` flags.
fn shop_args(table: &str, extra: &[&str]) -> Vec<String> {
    let (rules, from) = (shop_rules(), fixture_dir());
    let mut args = vec!["preview", "--rules", rules.to_str().unwrap(), "--from", from.to_str().unwrap()];
    args.extend(["--table", table]);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

/// The rows of a preview, each its columns' printed (before, after).
fn parse(text: &str) -> Vec<Shown> {
    let mut rows: Vec<Shown> = Vec::new();
    for line in text.lines() {
        if line.starts_with("row ") {
            rows.push(Shown::new());
        } else if let (Some(row), Some(cells)) = (rows.last_mut(), line.strip_prefix("  ")) {
            let parts: Vec<&str> = cells.split(" │ ").collect();
            assert_eq!(parts.len(), 3, "{line}");
            let name = parts[0].trim_end().trim_end_matches(" *").to_string();
            row.insert(name, (parts[1].trim_end().to_string(), parts[2].to_string()));
        }
    }
    rows
}

/// Column `column` of the first `n` rows of `table` in the Parquet directory `dir`, as the
/// preview prints plain values (NULL as NULL).
fn values(dir: &Path, table: &str, column: &str, n: usize) -> Vec<String> {
    let batch = concat(&read_table(dir, table));
    let array = batch.column(batch.schema().index_of(column).unwrap());
    let f = ArrayFormatter::try_new(array.as_ref(), &Default::default()).unwrap();
    (0..n).map(|i| if array.is_valid(i) { f.value(i).to_string() } else { "NULL".to_string() }).collect()
}

/// Asserts that the preview of `table` shows the source's values of `source` (a Parquet
/// directory holding the same rows) before and `run`'s output `out` after, row by row.
fn assert_matches_run(shown: &[Shown], source: &Path, out: &Path, table: &str, n: usize) {
    assert_eq!(shown.len(), n);
    let batch = concat(&read_table(out, table));
    let mut changed = 0;
    for field in batch.schema().fields() {
        let column = field.name();
        let (before, after) = (values(source, table, column, n), values(out, table, column, n));
        for (row, shown) in shown.iter().enumerate() {
            let (b, a) = shown.get(column).unwrap_or_else(|| panic!("{column} not shown"));
            assert_eq!(b, &before[row], "{table}.{column} row {}: before", row + 1);
            match a.as_str() {
                "(kept)" => assert_eq!(before[row], after[row], "{column}: kept but changed by run"),
                a => {
                    assert_eq!(a, after[row], "{table}.{column} row {}: after", row + 1);
                    changed += 1;
                }
            }
        }
    }
    assert!(changed > 0, "no changed column compared");
}

#[test]
fn parquet_preview_shows_the_source_before_and_what_run_writes_after() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    assert!(run_shop(&out_dir, TEST_KEY, &[]).status.success());
    let out = preview(&shop_rules(), fixture_dir().to_str().unwrap(), "public.customers", "7", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.starts_with("public.customers: rows 1 to 7 in the source's order; 13 of 16 columns change"), "{text}");
    assert!(text.contains("  email *"), "the unique column is marked: {text}");
    assert_matches_run(&parse(&text), &fixture_dir(), &out_dir, "public.customers", 7);
    // On stderr: the warning, and no value.
    let err = stderr(&out);
    assert!(err.starts_with("warning: the preview below prints real values of "), "{err}");
    assert!(!err.contains(&values(&fixture_dir(), "public.customers", "email", 1)[0]), "{err}");
}

#[test]
fn changed_columns_only_by_default_and_long_values_cut_to_the_width() {
    let args = shop_args("public.customers", &["--rows", "2", "--force"]);
    let out = doppel_command(&args, Some(TEST_KEY)).env("COLUMNS", "60").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("(kept, not shown: country, created_at, loyalty_points; --all-columns shows them)"),
        "{text}"
    );
    let rows = parse(&text);
    assert_eq!(rows.len(), 2);
    assert!(!rows[0].contains_key("country") && rows[0].contains_key("first_name"), "{text}");
    assert!(rows[0]["preferences"].0.ends_with('…'), "{text}");
    for line in text.lines().filter(|l| l.starts_with("  ")) {
        assert!(unicode_columns(line) <= 60, "wider than 60 columns: {line}");
    }
}

/// Characters of `line` (every character here takes one column).
fn unicode_columns(line: &str) -> usize {
    line.chars().count()
}

#[test]
fn a_pipe_is_refused_without_force_and_nothing_is_printed() {
    let args = shop_args("public.customers", &[]);
    let out = doppel(&args, Some(TEST_KEY));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("stdout is not a terminal") && err.contains("--force"), "{err}");
}

#[test]
fn a_terminal_gets_the_preview_without_force() {
    let out = doppel_on_terminal(&shop_args("public.orders", &["--rows", "3"]), TEST_KEY).output().unwrap();
    // Under `script`, doppel's stdout and stderr (the terminal) arrive on script's stdout.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("warning: the preview below prints real values"), "{text}");
    assert!(text.contains("public.orders: rows 1 to 3 in the source's order"), "{text}");
    assert_eq!(text.matches("\nrow ").count(), 3, "{text}");
    assert!(!text.contains("\x1b["), "NO_COLOR: no colours: {text:?}");
}

#[test]
fn unknown_and_skipped_tables_and_rules_check_refuses_are_refused() {
    let (rules, from) = (shop_rules(), fixture_dir());
    let (rules, from) = (rules.to_str().unwrap(), from.to_str().unwrap());
    let out = doppel(&["preview", "--rules", rules, "--from", from, "--table", "customers", "--force"], Some(TEST_KEY));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("--table customers:") && err.contains("schema.table") && err.contains("public.customers"),
        "{err}"
    );

    // A rules file that `check` refuses (a column without a rule) is refused the same way.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(shop_rules()).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("first_name ")).collect();
    let broken = dir.path().join("rules.toml");
    std::fs::write(&broken, kept.join("\n")).unwrap();
    let broken = broken.to_str().unwrap();
    let out =
        doppel(&["preview", "--rules", broken, "--from", from, "--table", "public.orders", "--force"], Some(TEST_KEY));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains(".first_name: column has no rule"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn postgres_preview_matches_run_and_prints_a_hostile_value_inert() {
    let c = cluster();
    let db = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("tests/fixtures/pg/trade.toml");
    // The source's rows and run's output, both as Parquet.
    let plain = dir.path().join("plain.toml");
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(&plain, keep_everything(&text)).unwrap();
    let (source_dir, out_dir) = (dir.path().join("source"), dir.path().join("out"));
    for (rules, to) in [(&plain, &source_dir), (&rules, &out_dir)] {
        let out = doppel_run(rules, &c.url(&db), to.to_str().unwrap(), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = preview(&rules, &c.url(&db), "public.customers", "5", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  customer_id *"), "{text}");
    assert_matches_run(&parse(&text), &source_dir, &out_dir, "public.customers", 5);

    // A value that would turn the terminal red, clear it and ring its bell.
    let hostile = c.create_database("preview_hostile");
    c.psql(
        &hostile,
        "CREATE TABLE public.notes (id int PRIMARY KEY, body text);
         INSERT INTO public.notes VALUES (1, E'\\x1b[31mred\\x1b[2J\\x07'), (2, ''), (3, NULL), (4, 'NULL');",
    );
    let rules = dir.path().join("notes.toml");
    std::fs::write(
        &rules,
        "version = 1\n[tables.\"public.notes\"]\nkeep = [\"id\"]\n[tables.\"public.notes\".columns]\nbody = { action = \"redact\" }\n",
    )
    .unwrap();
    let out = preview(&rules, &c.url(&hostile), "public.notes", "10", &["--color", "never"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains("rows 1 to 4 in the source's order (all the table has)"), "{text}");
    let rows = parse(&text);
    let bodies: Vec<&str> = rows.iter().map(|r| r["body"].0.as_str()).collect();
    assert_eq!(bodies, ["\\u{1b}[31mred\\u{1b}[2J\\u{7}", "\"\"", "NULL", "\"NULL\""], "{text}");
}

/// The rules `text` with every column rule (one line each in a `.columns]` table) replaced
/// by `keep`: a run that copies the source as it is.
fn keep_everything(text: &str) -> String {
    let mut out = String::new();
    let mut in_columns = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_columns = line.ends_with(".columns]");
        }
        match line.split_once(" = {") {
            Some((name, _)) if in_columns && !line.starts_with('#') => {
                out.push_str(&format!("{name} = {{ action = \"keep\" }}\n"))
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    out
}
