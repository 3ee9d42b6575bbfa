//! Adversarial input: hostile rules, keys, identifiers and values, each
//! answered by a clear error (exit code; a message naming file, line, table, column or row
//! and saying what to do) or by correct output, and never by a raw value in any message.
//!
//! Every source here holds planted values (`CANARY-…`, `leak.me@example.com`); every run's
//! stdout and stderr are searched for them ([`assert_no_leak`]), at `--log debug` where the
//! run gets that far.
//!
//! Cases already pinned by other tests (not repeated here):
//!
//! | case                                              | where                                                                  |
//! | ------------------------------------------------- | ---------------------------------------------------------------------- |
//! | malformed TOML (unclosed table header)            | tests/it/cli.rs `bad_rules_are_all_reported_with_file_line_and_choices`   |
//! | unknown table, column, strategy, generator        | tests/it/cli.rs `bad_rules_are_all_reported_with_file_line_and_choices`   |
//! | strategy that does not fit the column's type      | tests/it/cli.rs `bad_rules_are_all_reported_with_file_line_and_choices`   |
//! | key missing; key shorter than 32 characters       | tests/it/cli.rs `missing_and_short_keys_are_refused_without_output`       |
//! | key file others can read (mode 644)               | tests/it/cli.rs `key_file_must_be_private_and_not_combined_with_the_environment` |
//! | NULL next to '', NaN, ±Infinity, -0, 1000-digit numeric, arrays, jsonb, bytea kept bit for bit | tests/it/pg/type_fidelity.rs `every_type_kept_*` |
//! | arrays, bytea, uuid, … transformed and loadable   | tests/it/pg/type_fidelity.rs `every_type_transformed_loads_with_changed_and_kept_columns` |
//! | values Arrow cannot hold (numeric NaN in numeric(12,2), year 294276) | tests/it/pg/source.rs `values_arrow_cannot_hold_are_errors_with_row_numbers` |
//! | connection errors never print the password        | tests/it/pg/source.rs `connection_errors_say_what_is_wrong_and_never_the_password` |
//! | generated value longer than varchar(n)            | tests/it/pg/plan_checks.rs `values_longer_than_the_declared_varchar_are_refused_at_plan_time`, `templates_redact_and_json_accepted_on_a_declared_varchar_load_without_error` |
//! | corrupt or missing Parquet input                  | tests/it/cli.rs `corrupt_or_missing_parquet_is_a_source_error_without_output` |
//!
//! The cases below are new.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::pg::cluster;
use common::*;

/// Values planted in the sources; none may appear in any message.
const CANARIES: &[&str] = &["CANARY", "leak.me@example.com", "leak.me", "4111111111111111", TEST_KEY];

/// One table with a planted value in every kind of column, rows 1 to 5: ordinary values,
/// empty strings, NULLs, the other float edges, and one more ordinary row.
const PEOPLE: &str = r#"
CREATE TABLE people (
  id int PRIMARY KEY,
  name text, email text, note text,
  doc jsonb, raw text,
  score float8, wide numeric(50,10), amount numeric,
  seen timestamptz, local_ts timestamp,
  tags text[], photo bytea, code int
);
INSERT INTO people VALUES
 (1, 'CANARY-name-1', 'leak.me@example.com', 'CANARY-note-1, card 4111111111111111',
  '{"contact": {"email": "leak.me@example.com"}, "n": 1}', '{"a": "CANARY-raw-1"}',
  'NaN', 12345678901234567890123456789012345678.9012345678, 0.1,
  '2024-03-31 01:30:00.123456+00', '2024-03-31 01:30:00.123456', '{CANARY-tag-1,x}', '\xCAFE', 1),
 (2, '', '', '', '{}', '', 'Infinity', 0, 0, '1999-12-31 23:59:59.999999+00', '1999-12-31 23:59:59.999999',
  '{}', '\x', 2),
 (3, NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, 3),
 (4, 'CANARY-name-4', 'CANARY-4@example.org', 'CANARY-note-4', '{"contact": "leak.me@example.com"}',
  'not json CANARY-raw-4', '-0', -0.0000000001, 3.14159265358979323846264338327950288419716939937510,
  '2024-10-27 00:59:59+00', '2024-10-27 00:59:59', '{NULL,"CANARY tag 4"}', '\x00ff', 4),
 (5, 'CANARY-name-5', 'CANARY-5@example.org', 'plain', '[1, "CANARY-5"]', '{"a": 5}', 1e308,
  99999999999999999999999999999999999999.9999999999, -1e-30, 'infinity', '-infinity', '{a}', '\x5c', 5);
"#;

/// Every column of `people` kept, except the ones given rules in `columns` (TOML lines).
fn people_rules(columns: &str) -> String {
    let all = [
        "id", "name", "email", "note", "doc", "raw", "score", "wide", "amount", "seen", "local_ts", "tags", "photo",
        "code",
    ];
    let keep: Vec<String> = all
        .iter()
        .filter(|c| !columns.lines().any(|l| l.trim_start().starts_with(&format!("{c} "))))
        .map(|c| format!("\"{c}\""))
        .collect();
    format!(
        "version = 1\n[tables.\"public.people\"]\nkeep = [{}]\n[tables.\"public.people\".columns]\n{columns}\n",
        keep.join(", ")
    )
}

fn people_db() -> String {
    let c = cluster();
    let db = c.create_database("adversarial");
    c.psql(&db, PEOPLE);
    db
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// No planted value, and not the key, in stdout or stderr.
fn assert_no_leak(out: &Output) {
    let all = text(out);
    for canary in CANARIES {
        assert!(!all.contains(canary), "{canary:?} appears in the output of doppel:\n{all}");
    }
}

/// Exit code `code`, every needle in stderr, nothing planted anywhere.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
    assert_no_leak(out);
}

fn check(rules: &Path, from: &str) -> Output {
    doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", from, "--log", "debug"], None)
}

fn run(rules: &Path, from: &str, to: &str) -> Output {
    doppel_run_saying(rules, from, to, &["--log", "debug"])
}

fn database_exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

/// `check` of `columns` (rules for `people`) against a fresh `people` database.
fn check_people(columns: &str) -> Output {
    let db = people_db();
    let dir = tempfile::tempdir().unwrap();
    check(&write(dir.path(), "rules.toml", &people_rules(columns)), &cluster().url(&db))
}

/// A run of `columns` from a fresh `people` database into a new one; (output, source, target).
fn run_people(columns: &str) -> (Output, String, String) {
    let db = people_db();
    let target = format!("{db}_out");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", &people_rules(columns));
    let out = run(&rules, &cluster().url(&db), &cluster().url(&target));
    (out, db, target)
}

// ---------------------------------------------------------------------------------------
// Rules files

#[test]
fn a_duplicate_toml_key_names_the_file_and_line() {
    let out = check_people("name = { action = \"keep\" }\nname = { action = \"null\" }");
    assert_fails(&out, 3, &["rules.toml:6", "duplicate key"]);
}

#[test]
fn an_empty_rules_file_or_a_missing_version_asks_for_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = people_db();
    let out = check(&write(dir.path(), "rules.toml", ""), &cluster().url(&db));
    assert_fails(&out, 3, &["rules.toml:1", "missing field `version`"]);
    let out = check(&write(dir.path(), "rules.toml", "version = 2\n"), &cluster().url(&db));
    assert_fails(&out, 3, &["rules.toml:1", "unsupported rules version 2; this doppel reads version 1"]);
    let out = check(&dir.path().join("absent.toml"), &cluster().url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("absent.toml"), "{}", stderr(&out));
}

#[test]
fn a_misspelt_option_is_refused_with_the_valid_ones() {
    let out = check_people("name = { action = \"mask\", keep_frist = 2 }");
    assert_fails(&out, 3, &["rules.toml:5: public.people.name", "unknown field `keep_frist`", "`keep_first`"]);
    // At the table level too.
    let dir = tempfile::tempdir().unwrap();
    let rules =
        people_rules("").replace("[tables.\"public.people\"]\n", "[tables.\"public.people\"]\nacton = \"skip\"\n");
    let out = check(&write(dir.path(), "rules.toml", &rules), &cluster().url(&people_db()));
    assert_fails(&out, 3, &["rules.toml:3", "unknown field `acton`", "`action`"]);
}

#[test]
fn options_of_the_wrong_type_are_refused_with_file_line_and_column() {
    let out = check_people(
        "name = { action = \"mask\", keep_first = \"2\" }\n\
         email = { action = \"mask\", mask_char = \"ab\" }\n\
         code = { action = \"fake\", generator = \"integer\", min = \"one\" }\n\
         note = { action = \"redact\", detect = \"email\" }",
    );
    assert_fails(
        &out,
        3,
        &[
            "4 problem(s)",
            "rules.toml:5: public.people.name: invalid column rule: invalid type: string \"2\", expected usize",
            "rules.toml:6: public.people.email: invalid column rule: invalid value: string \"ab\", expected a character",
            "rules.toml:7: public.people.code: `min` does not fit generator `integer`: use a number",
            "rules.toml:8: public.people.note: invalid column rule: invalid type: string",
        ],
    );
}

#[test]
fn option_values_out_of_range_are_all_reported_at_once() {
    let out = check_people(
        "name = { action = \"hash\", length = 0 }\n\
         seen = { action = \"noise\", duration = \"30x\" }\n\
         note = { action = \"redact\", patterns = [\"(\"] }\n\
         local_ts = { action = \"fake\", generator = \"date\", min = \"2020-01-01\", max = \"2010-01-01\" }",
    );
    assert_fails(
        &out,
        3,
        &[
            "4 problem(s)",
            "public.people.name: `length` must be between 1 and 64",
            "public.people.seen: unknown unit in duration",
            "public.people.note: redact pattern #1 is not a valid regular expression",
            "public.people.local_ts: min must be <= max",
        ],
    );
}

#[test]
fn a_template_naming_a_missing_column_lists_the_columns() {
    let out = check_people("email = { action = \"template\", template = \"{nmae}@example.com\" }");
    assert_fails(&out, 3, &["public.people.email: the template refers to `nmae`", "columns: id, name, email"]);
}

#[test]
fn a_column_with_two_rules_points_at_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = people_db();
    let rules = people_rules("").replace("keep = [", "keep = [\"id\", ");
    let out = check(&write(dir.path(), "rules.toml", &rules), &cluster().url(&db));
    assert_fails(&out, 3, &["public.people.id: column has two rules; the first is on line 3"]);
}

#[test]
fn a_constant_that_does_not_fit_the_column_type_is_a_plan_error() {
    let out = check_people("seen = { action = \"constant\", value = \"CANARY-not-a-time\" }");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("public.people.seen: the constant is not a valid Timestamp"), "{}", stderr(&out));
    // The constant comes from the rules, not from a row; even so the message does not repeat it.
    assert!(!stderr(&out).contains("CANARY"), "{}", stderr(&out));
}

#[test]
fn rules_for_a_table_name_without_a_schema_say_which_tables_exist() {
    let dir = tempfile::tempdir().unwrap();
    let db = people_db();
    let rules = format!("{}\n[tables.\"people\"]\naction = \"skip\"\n", people_rules(""));
    let out = check(&write(dir.path(), "rules.toml", &rules), &cluster().url(&db));
    assert_fails(&out, 3, &["people: the source has no such table; its tables are: public.people"]);
}

// ---------------------------------------------------------------------------------------
// Keys

/// A run of the shop fixture with `--key-file FILE` (holding `content` at `mode`, unless
/// `content` is `None`: no such file) and no DOPPEL_KEY; (output, output directory).
fn run_shop_with_key_file(dir: &Path, content: Option<&[u8]>, mode: u32) -> (Output, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let key = dir.join("key");
    let _ = std::fs::remove_file(&key);
    if let Some(content) = content {
        std::fs::write(&key, content).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out_dir = dir.join("out");
    let (rules, from) = (shop_rules(), fixture_dir());
    let args = ["run", "--quiet", "--rules", rules.to_str().unwrap(), "--from", from.to_str().unwrap()];
    let out =
        doppel(&[&args[..], &["--to", out_dir.to_str().unwrap(), "--key-file", key.to_str().unwrap()]].concat(), None);
    (out, out_dir)
}

#[test]
fn an_empty_key_in_the_environment_is_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run_shop(&out_dir, "", &[]);
    assert_fails(&out, 3, &["no key: set DOPPEL_KEY or pass --key-file"]);
    assert!(!out_dir.exists());
}

#[test]
fn an_empty_blank_or_missing_key_file_is_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = run_shop_with_key_file(dir.path(), Some(b""), 0o600);
    assert_fails(&out, 3, &["the key is 0 characters long; it must be at least 32 characters"]);
    assert!(!out_dir.exists());
    let (out, out_dir) = run_shop_with_key_file(dir.path(), Some(b"   \n"), 0o600);
    assert_fails(&out, 3, &["it must be at least 32 characters"]);
    assert!(!out_dir.exists());
    // A key file readable by others is refused before its content is judged, and a key
    // written into it is never echoed.
    let (out, out_dir) = run_shop_with_key_file(dir.path(), Some(format!("{TEST_KEY}\n").as_bytes()), 0o640);
    assert_fails(&out, 3, &["can be read by other users (mode 640)", "chmod 600"]);
    assert!(!out_dir.exists());
    let (out, out_dir) = run_shop_with_key_file(dir.path(), None, 0o600);
    assert_fails(&out, 3, &["cannot read key file", "No such file"]);
    assert!(!out_dir.exists());
}

// ---------------------------------------------------------------------------------------
// Identifiers

/// Schema, table and column names with quotes, spaces, unicode, SQL keywords and a dash.
const WEIRD: &str = r#"
CREATE SCHEMA "Weird ""Schema""";
CREATE TABLE "Weird ""Schema"""."select" (
  "id" int PRIMARY KEY, "user name" text, "Ünïcødé ☃" text, "order" text, "a""b" int, "e-mail" text
);
CREATE INDEX "idx ""q""" ON "Weird ""Schema"""."select" ("order");
INSERT INTO "Weird ""Schema"""."select" VALUES
 (1, 'CANARY-user-1', 'kept ☃ value', 'CANARY-order-1', 5, 'leak.me@example.com'),
 (2, '', NULL, 'x', NULL, NULL);
"#;

const WEIRD_RULES: &str = r#"version = 1
[tables.'Weird "Schema".select']
keep = ["id", "Ünïcødé ☃", 'a"b']
[tables.'Weird "Schema".select'.columns]
"user name" = { action = "fake", generator = "username" }
order = { action = "mask", format_preserving = true }
e-mail = { action = "fake", generator = "email" }
"#;

#[test]
fn quoted_spaced_unicode_and_keyword_identifiers_arrive_in_postgres_and_parquet() {
    let c = cluster();
    let db = c.create_database("weird_names");
    c.psql(&db, WEIRD);
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", WEIRD_RULES);
    let out = check(&rules, &c.url(&db));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);

    let target = format!("{db}_out");
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
    let q = r#"SELECT "id", "user name" IS NULL, "Ünïcødé ☃", "order" <> '' , "a""b", "e-mail" FROM "Weird ""Schema"""."select" ORDER BY 1"#;
    let rows = c.psql(&target, q);
    let lines: Vec<&str> = rows.lines().collect();
    assert_eq!(lines.len(), 2, "{rows}");
    assert!(lines[0].starts_with("1|f|kept ☃ value|t|5|") && lines[0].ends_with("@example.com"), "{rows}");
    assert_eq!(lines[1], "2|f||t||", "{rows}");
    assert!(!rows.contains("CANARY") && !rows.contains("leak.me"), "{rows}");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx \"q\"'"), "1");

    let parquet = dir.path().join("pq");
    let out = run(&rules, &c.url(&db), parquet.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let batch = concat(&read_table(&parquet, "Weird \"Schema\".select"));
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["id", "user name", "Ünïcødé ☃", "order", "a\"b", "e-mail"]);
    assert_eq!(batch.num_rows(), 2);
}

#[test]
fn schema_and_table_names_that_collide_once_joined_by_a_dot_fail_closed() {
    // "a.b".c and a."b.c" are both `a.b.c` in a rules file: the source refuses them by name
    // (exit 4) rather than copy either table under rules written for the other.
    let c = cluster();
    let db = c.create_database("dotted_names");
    c.psql(
        &db,
        r#"CREATE SCHEMA "a.b"; CREATE SCHEMA a;
           CREATE TABLE "a.b".c (x text); CREATE TABLE a."b.c" (y int);
           INSERT INTO "a.b".c VALUES ('CANARY-dotted'); INSERT INTO a."b.c" VALUES (7);"#,
    );
    let dir = tempfile::tempdir().unwrap();
    for keep in ["x", "y"] {
        let rules = write(dir.path(), "rules.toml", &format!("version = 1\n[tables.\"a.b.c\"]\nkeep = [\"{keep}\"]\n"));
        let out_dir = dir.path().join("out");
        let out = run(&rules, &c.url(&db), out_dir.to_str().unwrap());
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(stderr(&out).contains("two tables are both named a.b.c"), "{}", stderr(&out));
        assert!(stderr(&out).contains("rename one"), "{}", stderr(&out));
        assert_no_leak(&out);
        assert!(!out_dir.exists());
    }
}

// ---------------------------------------------------------------------------------------
// Values

#[test]
fn null_stays_null_and_the_empty_string_stays_a_value_under_every_text_strategy() {
    let (out, source, target) = run_people(
        "name = { action = \"mask\" }\n\
         email = { action = \"hash\" }\n\
         note = { action = \"redact\" }\n\
         raw = { action = \"fake\", generator = \"first_name\" }\n\
         tags = { action = \"constant\", value = \"{}\" }",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
    let c = cluster();
    let nulls = "SELECT string_agg(format('%s:%s%s%s%s', id, name IS NULL, email IS NULL, note IS NULL, raw IS NULL), ' ' ORDER BY id) FROM people";
    assert_eq!(c.scalar(&source, nulls), c.scalar(&target, nulls));
    // Row 2's empty strings: mask and redact leave nothing to hide; hash and fake make a value.
    assert_eq!(c.scalar(&target, "SELECT format('%s|%s', name, note) FROM people WHERE id = 2"), "|");
    assert_eq!(c.scalar(&target, "SELECT length(email) > 0 AND length(raw) > 0 FROM people WHERE id = 2"), "t");
    // constant replaces NULLs too.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE tags = '{}'"), "5");
    let dump = c.psql(&target, "COPY people (name, email, note, raw) TO STDOUT");
    assert!(!dump.contains("CANARY-name") && !dump.contains("leak.me") && !dump.contains("4111111111111111"), "{dump}");
}

#[test]
fn noise_leaves_nan_and_infinities_alone_and_moves_finite_floats() {
    let (out, source, target) = run_people("score = { action = \"noise\", absolute = 1 }");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
    let c = cluster();
    let q = "SELECT string_agg(coalesce(score::text, 'NULL'), ' ' ORDER BY id) FROM people WHERE id <= 3";
    assert_eq!(c.scalar(&target, q), "NaN Infinity -Infinity");
    assert_eq!(c.scalar(&source, q), c.scalar(&target, q));
    let moved = "SELECT score FROM people WHERE id = 4";
    assert_ne!(c.scalar(&source, moved), c.scalar(&target, moved), "-0 was not moved");
    // 1e308 + noise stays finite.
    assert_eq!(c.scalar(&target, "SELECT score < 'Infinity' FROM people WHERE id = 5"), "t");
}

#[test]
fn numerics_beyond_arrow_decimals_are_kept_digit_for_digit_and_refuse_noise() {
    // numeric(50,10) and unconstrained numeric read as PostgreSQL's text form (no Arrow
    // decimal holds them): kept, they arrive digit for digit ...
    let (out, source, target) = run_people("");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
    let c = cluster();
    let numbers = "COPY (SELECT wide, amount FROM people ORDER BY id) TO STDOUT";
    assert_eq!(c.psql(&source, numbers), c.psql(&target, numbers));
    assert!(c.psql(&target, numbers).contains("3.14159265358979323846264338327950288419716939937510"));
    // ... and noise on them is a plan error naming each column, never a silent text rule.
    let out =
        check_people("wide = { action = \"noise\", absolute = 1 }\namount = { action = \"noise\", relative = 0.1 }");
    assert_fails(
        &out,
        3,
        &[
            "2 problem(s)",
            "public.people.wide: `noise` works on numbers, dates and timestamps, and this column is Utf8",
            "public.people.amount: `noise` works on numbers, dates and timestamps, and this column is Utf8",
        ],
    );
}

#[test]
fn timestamptz_values_arrive_as_the_same_instants_whatever_the_sessions_time_zones() {
    let c = cluster();
    let db = people_db();
    // The source database answers in +13:45 (+12:45 in winter); doppel's own environment
    // asks for Newfoundland time; the target database keeps the cluster default.
    c.psql("postgres", &format!("ALTER DATABASE \"{db}\" SET timezone = 'Pacific/Chatham'"));
    let target = format!("{db}_out");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", &people_rules(""));
    let parquet = dir.path().join("pq");
    for to in [c.url(&target), parquet.to_str().unwrap().to_string()] {
        let out = doppel_command(&run_args(&rules, &c.url(&db), &to, &[]), Some(TEST_KEY))
            .env("PGTZ", "America/St_Johns")
            .env("TZ", "Asia/Kolkata")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_no_leak(&out);
    }
    let instants = "SELECT string_agg(coalesce(extract(epoch FROM seen)::text, 'NULL') || '/' || coalesce(local_ts::text, 'NULL'), ' ' ORDER BY id) FROM people";
    let expected = "1711848600.123456/2024-03-31 01:30:00.123456 946684799.999999/1999-12-31 23:59:59.999999 NULL/NULL 1729990799.000000/2024-10-27 00:59:59 Infinity/-infinity";
    assert_eq!(c.scalar(&db, instants), expected);
    assert_eq!(c.scalar(&target, instants), expected);
    let batch = concat(&read_table(&parquet, "public.people"));
    let seen = batch.column_by_name("seen").unwrap();
    use arrow_array::Array;
    let seen = seen.as_any().downcast_ref::<arrow_array::TimestampMicrosecondArray>().expect("timestamp µs");
    assert_eq!(seen.value(0), 1_711_848_600_123_456);
    assert_eq!(seen.value(1), 946_684_799_999_999);
    assert!(seen.is_null(2));
    assert_eq!(seen.value(3), 1_729_990_799_000_000);
}

#[test]
fn a_json_rule_on_text_that_is_not_json_stops_the_run_naming_the_row() {
    let (out, _, target) = run_people("raw = { action = \"json\", paths = { a = { action = \"hash\" } } }");
    // Row 2 holds '' and row 4 'not json …': the first in table order is named.
    assert_fails(&out, 3, &["public.people.raw, row 2: the value is not valid JSON (line 1, column 0)"]);
    assert!(!database_exists(&target), "a half-built target was left behind");
}

#[test]
fn a_json_path_whose_parent_holds_a_string_stops_the_run_instead_of_passing_it_through() {
    // Row 4's doc is {"contact": "leak.me@example.com"}: the path contact.email cannot reach
    // into a string, and the address must not pass through unchanged.
    let (out, _, target) = run_people(
        "doc = { action = \"json\", paths = { \"contact.email\" = { action = \"fake\", generator = \"email\" } } }",
    );
    assert_fails(
        &out,
        3,
        &["public.people.doc, row 4: path `contact.email`: the value before key `email` holds a string"],
    );
    assert!(!database_exists(&target));
}

#[test]
fn a_json_path_holding_the_wrong_json_type_is_a_row_error() {
    let (out, _, _) = run_people("doc = { action = \"json\", paths = { n = { action = \"mask\" } } }");
    assert_fails(&out, 3, &["public.people.doc, row 1: path `n` holds a number, and its rule expects a string"]);
}

#[test]
fn jsonb_paths_arrays_and_bytea_are_transformed_and_load() {
    let c = cluster();
    let source = people_db();
    // Row 4's contact is a string and row 5's document an array (the cases above and below):
    // give them the shape the paths expect here.
    c.psql(
        &source,
        "UPDATE people SET doc = '{\"contact\": {\"email\": \"CANARY-6@example.org\"}}' WHERE id = 4;
         UPDATE people SET doc = '{\"list\": [{\"ip\": \"CANARY-ip\"}, {\"ip\": null}, {}]}' WHERE id = 5;",
    );
    let target = format!("{source}_out");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        &people_rules(
            "doc = { action = \"json\", paths = { \"contact.email\" = { action = \"fake\", generator = \"email\" }, \"list[*].ip\" = { action = \"fake\", generator = \"ipv4\" } } }\n\
             tags = { action = \"null\" }\n\
             photo = { action = \"null\" }",
        ),
    );
    let out = run(&rules, &c.url(&source), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
    let docs = c.psql(&target, "COPY (SELECT doc FROM people ORDER BY id) TO STDOUT");
    assert!(!docs.contains("CANARY") && !docs.contains("leak.me"), "{docs}");
    assert_eq!(
        c.scalar(&target, "SELECT doc->'list'->1->>'ip' IS NULL AND doc->'list'->>2 = '{}' FROM people WHERE id = 5"),
        "t"
    );
    assert_eq!(c.scalar(&target, "SELECT (doc->'list'->0->>'ip')::inet IS NOT NULL FROM people WHERE id = 5"), "t");
    assert_eq!(c.scalar(&target, "SELECT doc->>'n' FROM people WHERE id = 1"), "1", "unlisted parts kept");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE tags IS NOT NULL"), "0");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE photo IS NOT NULL"), "0");
    // bytea takes only `null` and `constant`: hash is a plan error naming the column.
    let out = check(&write(dir.path(), "hash.toml", &people_rules("photo = { action = \"hash\" }")), &c.url(&source));
    assert_fails(&out, 3, &["hash.toml:5: public.people.photo:", "this column is Binary"]);
}

#[test]
fn a_unique_generator_with_too_small_a_space_names_the_row() {
    let (out, _, target) =
        run_people("code = { action = \"fake\", generator = \"integer\", min = 1, max = 2, unique = true }");
    // Which row is named depends on the keyed order of the inputs, not on arrival.
    assert_fails(&out, 3, &["public.people.code, row "]);
    assert!(stderr(&out).contains("unique"), "{}", stderr(&out));
    assert!(!database_exists(&target), "a half-built target was left behind");
}

// ---------------------------------------------------------------------------------------
// Server messages that would echo row values

#[test]
fn a_check_constraint_broken_during_copy_is_reported_without_the_failing_row() {
    // PostgreSQL's DETAIL reads `Failing row contains (1, leak.me@example.com, -1)`.
    let c = cluster();
    let db = c.create_database("adversarial_check");
    c.psql(
        &db,
        "CREATE TABLE guarded (id int PRIMARY KEY, email text, qty int CHECK (qty > 0));
         INSERT INTO guarded VALUES (1, 'leak.me@example.com', 3), (2, 'CANARY-7@example.org', 4);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "version = 1\n[tables.\"public.guarded\"]\nkeep = [\"id\", \"email\"]\ncolumns = { qty = { action = \"constant\", value = -1 } }\n",
    );
    let target = format!("{db}_out");
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert_fails(&out, 5, &["public.guarded", "23514", "guarded_qty_check"]);
    assert!(!database_exists(&target));
}

#[test]
fn a_unique_index_broken_after_the_load_is_reported_without_the_duplicated_key() {
    // The plan refuses a constant on a column of a unique key before anything is written.
    let c = cluster();
    let table = "CREATE TABLE pairs (id int PRIMARY KEY, email text, code int, CONSTRAINT pairs_email_code UNIQUE (email, code));
         INSERT INTO pairs VALUES (1, 'leak.me@example.com', 1), (2, 'leak.me@example.com', 2);";
    let unique = c.create_database("adversarial_unique");
    c.psql(&unique, table);
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "version = 1\n[tables.\"public.pairs\"]\nkeep = [\"id\", \"email\"]\ncolumns = { code = { action = \"constant\", value = 0 } }\n",
    );
    let out = run(&rules, &c.url(&unique), &c.url(&format!("{unique}_out")));
    assert_fails(&out, 3, &["public.pairs.code: the unique index `pairs_email_code`"]);
    // An exclusion constraint is not a unique key the plan reads: post-data's ALTER TABLE …
    // ADD CONSTRAINT fails with `Key (email, code)=(leak.me@example.com, 0) conflicts …`.
    let db = c.create_database("adversarial_exclusion");
    c.psql(&db, &table.replace("UNIQUE (email, code)", "EXCLUDE USING btree (email WITH =, code WITH =)"));
    let target = format!("{db}_out");
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert_fails(&out, 5, &["post-data", "23P01"]);
    assert!(!database_exists(&target));
    // The same through a SQL dump: the dump is written, and restoring it fails in psql, not
    // in doppel; doppel's own output names nothing.
    let file = dir.path().join("out.sql");
    let out = run(&rules, &c.url(&db), file.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_leak(&out);
}

#[test]
fn a_check_constraint_broken_while_loading_parquet_into_existing_tables_names_no_value() {
    // Parquet → PostgreSQL takes another path (one transaction into existing tables); the
    // server's `Failing row contains (…)` must not come through it either.
    let c = cluster();
    let db = c.create_database("adversarial_existing");
    let schema = "CREATE TABLE guarded (id int PRIMARY KEY, email text, qty int CHECK (qty > 0));";
    c.psql(
        &db,
        &format!("{schema} INSERT INTO guarded VALUES (1, 'leak.me@example.com', 3), (2, 'CANARY-8@example.org', 4);"),
    );
    let dir = tempfile::tempdir().unwrap();
    let to_parquet = write(
        dir.path(),
        "to_parquet.toml",
        "version = 1\n[tables.\"public.guarded\"]\nkeep = [\"id\", \"email\"]\ncolumns = { qty = { action = \"constant\", value = -1 } }\n",
    );
    let parquet = dir.path().join("pq");
    let out = run(&to_parquet, &c.url(&db), parquet.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let target = c.create_database("adversarial_existing_target");
    c.psql(&target, schema);
    let keep_all = write(
        dir.path(),
        "keep.toml",
        "version = 1\n[tables.\"public.guarded\"]\nkeep = [\"id\", \"email\", \"qty\"]\n",
    );
    let out = run(&keep_all, parquet.to_str().unwrap(), &c.url(&target));
    assert_fails(&out, 5, &["public.guarded", "23514"]);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM guarded"), "0");
}

#[test]
fn a_successful_debug_run_logs_no_value() {
    let (out, _, target) = run_people(
        "name = { action = \"fake\", generator = \"first_name\" }\n\
         email = { action = \"fake\", generator = \"email\", unique = true }\n\
         note = { action = \"redact\" }\n\
         raw = { action = \"null\" }\n\
         doc = { action = \"null\" }\n\
         tags = { action = \"null\" }",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("DEBUG"), "not at debug level: {}", stderr(&out));
    assert_no_leak(&out);
    assert!(database_exists(&target));
}

// ---------------------------------------------------------------------------------------
// Leaks and rules that change nothing

#[test]
fn a_subset_where_that_makes_the_server_quote_a_cell_prints_only_our_words() {
    let c = cluster();
    let db = people_db();
    let dir = tempfile::tempdir().unwrap();
    // Casts to reg* types make PostgreSQL quote the cell: `role "CANARY-name-1" does not exist`
    // (42704), `cross-database references are not implemented: leak.me@example.com` (0A000).
    for filter in ["name::regrole IS NOT NULL", "email::regclass IS NOT NULL", "note::regtype IS NOT NULL"] {
        let rules = format!(
            "{}[subset]\n[[subset.roots]]\ntable = \"public.people\"\nwhere = \"{filter}\"\n",
            people_rules("")
        );
        let rules = write(dir.path(), "rules.toml", &rules);
        let target = c.create_database("adversarial_where_target");
        c.psql("postgres", &format!("DROP DATABASE \"{target}\""));
        let out = run(&rules, &c.url(&db), &c.url(&target));
        assert_fails(&out, 4, &["subset root public.people", filter, "SQLSTATE ", "[subset]"]);
        assert!(!database_exists(&target));
    }
}

#[test]
fn rules_that_cannot_change_any_value_are_plan_errors_reported_together() {
    let c = cluster();
    let db = c.create_database("adversarial_no_change");
    c.psql(
        &db,
        "CREATE TABLE accounts (id int PRIMARY KEY, price numeric(12,2), fee numeric(12,2), ratio float4, \
         born date, note text, doc jsonb, age int2);
         INSERT INTO accounts VALUES (1, 12.34, 5.00, 0.5, '1980-01-01', 'CANARY-note leak.me@example.com', \
         '{\"contact\": \"leak.me@example.com\"}', 40);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "version = 1\n[tables.\"public.accounts\"]\nkeep = [\"id\"]\n[tables.\"public.accounts\".columns]\n\
         price = { action = \"noise\", absolute = 0.001 }\n\
         fee = { action = \"noise\", relative = 1e-12 }\n\
         ratio = { action = \"noise\", relative = 1e-12 }\n\
         born = { action = \"noise\", duration = \"1us\" }\n\
         note = { action = \"redact\", detect = [] }\n\
         doc = { action = \"json\", paths = { \"contact\" = { action = \"redact\", detect = [] } } }\n\
         age = { action = \"noise\", relative = 0.00001 }\n",
    );
    let out = check(&rules, &c.url(&db));
    assert_fails(
        &out,
        3,
        &[
            "rules.toml:5: public.accounts.price: `absolute = 0.001` is smaller than one unit",
            "use `absolute` of at least 0.01",
            "rules.toml:6: public.accounts.fee: `relative = 0.000000000001`",
            "rules.toml:7: public.accounts.ratio: `relative = 0.000000000001` is below the precision",
            "rules.toml:8: public.accounts.born: `duration` is shorter than one unit",
            "rules.toml:9: public.accounts.note: `redact` with `detect = []` and no `patterns` looks for nothing",
            "rules.toml:10: public.accounts.doc: path `contact`: `redact` with `detect = []`",
            "rules.toml:11: public.accounts.age:",
            "7 problem(s)",
        ],
    );
}

#[test]
fn noise_moves_values_at_the_ends_of_their_types_and_never_clamps_them() {
    let c = cluster();
    let db = c.create_database("adversarial_far");
    c.psql(
        &db,
        "CREATE TABLE far (id int PRIMARY KEY, d date, ts timestamp, r float4, small int2);
         INSERT INTO far VALUES
          (1, '12000-01-01', '200000-01-01 00:00:00', 3e38, 1),
          (2, '5874897-12-31', '200001-01-01 00:00:00', -3e38, 2),
          (3, '9999-12-31', '294000-06-01 12:00:00', 1, 3);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = |small: &str| {
        format!(
            "version = 1\n[tables.\"public.far\"]\nkeep = [\"id\"{}]\n[tables.\"public.far\".columns]\n\
             d = {{ action = \"noise\", duration = \"1d\" }}\nts = {{ action = \"noise\", duration = \"1d\" }}\n\
             r = {{ action = \"noise\", absolute = 1e38 }}\n{small}",
            if small.is_empty() { ", \"small\"" } else { "" }
        )
    };
    let target = c.create_database("adversarial_far_target");
    c.psql("postgres", &format!("DROP DATABASE \"{target}\""));
    let out = run(&write(dir.path(), "rules.toml", &rules("")), &c.url(&db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    // Each date moved by exactly one day (12000-01-01 used to become 9999-12-31).
    let moved = c.scalar(
        &target,
        "SELECT count(*) FROM far f JOIN (VALUES (1, '12000-01-01'::date), (2, '5874897-12-31'), (3, '9999-12-31')) \
         s(id, d) USING (id) WHERE abs(f.d - s.d) = 1",
    );
    assert_eq!(moved, "3");
    // Far timestamps stay within a day of their own value (they used to collapse onto one).
    let near = c.scalar(
        &target,
        "SELECT count(DISTINCT f.ts) FILTER (WHERE abs(extract(epoch FROM f.ts - s.ts)) BETWEEN 1e-6 AND 86400) \
         FROM far f JOIN (VALUES (1, '200000-01-01'::timestamp), (2, '200001-01-01'), (3, '294000-06-01 12:00:00')) \
         s(id, ts) USING (id)",
    );
    assert_eq!(near, "3");
    // float4 noise of 1e38 near the type's top stays finite (it used to give Infinity).
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM far WHERE r IN ('Infinity', '-Infinity')"), "0");

    // An amount wider than the type's range cannot move the value: a row error, not a clamp.
    let target = c.create_database("adversarial_far_target");
    c.psql("postgres", &format!("DROP DATABASE \"{target}\""));
    let rules = rules("small = { action = \"noise\", absolute = 1000000 }\n");
    let out = run(&write(dir.path(), "rules.toml", &rules), &c.url(&db), &c.url(&target));
    assert_fails(&out, 3, &["public.far.small, row ", "cannot move this value within the range of Int16"]);
    assert!(!database_exists(&target));
}

#[test]
fn a_kept_generated_column_read_from_a_transformed_column_is_refused_and_computed_again_where_the_target_can() {
    let c = cluster();
    let db = c.create_database("adversarial_generated");
    c.psql(
        &db,
        "CREATE TABLE staff (id int PRIMARY KEY, name text, \
           shout text GENERATED ALWAYS AS (upper(name)) STORED, \
           tag text GENERATED ALWAYS AS ('staff-' || id) STORED);
         INSERT INTO staff (id, name) VALUES (1, 'CANARY-name-1'), (2, 'CANARY-name-2');",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = |shout: &str| {
        format!(
            "version = 1\n[tables.\"public.staff\"]\nkeep = [\"id\", \"tag\"]\n[tables.\"public.staff\".columns]\n\
             name = {{ action = \"fake\", generator = \"first_name\" }}\nshout = {{ action = \"{shout}\" }}\n"
        )
    };
    // Kept, `shout` would write upper(real name) into Parquet: refused before anything is written.
    let keep = write(dir.path(), "keep.toml", &rules("keep"));
    let out = check(&keep, &c.url(&db));
    assert_fails(&out, 3, &["keep.toml:6: public.staff.shout: a generated column computed from `name`", "`null`"]);
    assert!(!stderr(&out).contains("public.staff.tag"), "tag reads only id: {}", stderr(&out));
    let parquet = dir.path().join("out");
    let out = run(&keep, &c.url(&db), parquet.to_str().unwrap());
    assert_fails(&out, 3, &["public.staff.shout"]);
    assert!(!parquet.exists());

    // With `null`, PostgreSQL computes it again from the fake names; Parquet gets NULL.
    let null = write(dir.path(), "null.toml", &rules("null"));
    let out = doppel(&["check", "--rules", null.to_str().unwrap(), "--from", &c.url(&db), "--explain"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let explain = String::from_utf8_lossy(&out.stdout);
    assert!(explain.contains("null [generated from name: PostgreSQL targets compute it again]"), "{explain}");
    assert!(explain.contains("keep [generated from id: PostgreSQL targets compute it again]"), "{explain}");
    let target = c.create_database("adversarial_generated_target");
    c.psql("postgres", &format!("DROP DATABASE \"{target}\""));
    let out = run(&null, &c.url(&db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        c.scalar(&target, "SELECT count(*) FROM staff WHERE shout = upper(name) AND name NOT LIKE 'CANARY%'"),
        "2"
    );
    // A SQL dump leaves it out of COPY: the restore computes it again.
    let dump = dir.path().join("staff.sql");
    let out = run(&null, &c.url(&db), dump.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("COPY \"public\".\"staff\" (\"id\", \"name\") FROM stdin;"), "{text}");
    assert!(!text.contains("CANARY"));
    let out = run(&null, &c.url(&db), parquet.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let batch = concat(&read_table(&parquet, "public.staff"));
    assert_eq!(batch.column_by_name("shout").unwrap().null_count(), 2);
    assert_eq!(batch.column_by_name("tag").unwrap().null_count(), 0);
}
