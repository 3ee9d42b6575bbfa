//! Unique keys of a PostgreSQL source kept in every target: a primary key, a `citext NOT NULL
//! UNIQUE` column, a `lower(...)` unique expression index, a partial unique index, a
//! multi-column unique constraint, a domain with a CHECK, a domain declared NOT NULL and a
//! table CHECK. `doppel check` refuses rules
//! that could break a key (naming the key, never a value); `doppel scan`'s rules keep them all
//! into a new database, an SQL dump restored with psql, and Parquet loaded into PostgreSQL;
//! `unique = true` on a citext column resolves outputs that differ only in case.
//!
//! A Parquet source has no keys: loaded into existing PostgreSQL tables, the rules are checked
//! against the target's keys instead, before anything is loaded.

use crate::common;

use std::path::{Path, PathBuf};

use common::pg::cluster;
use common::{doppel, doppel_run, schema_dump, stderr};

const SCHEMA: &str = r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE DOMAIN postcode AS text CHECK (VALUE ~ '^[0-9]{5}$');
CREATE TABLE people (
    id integer PRIMARY KEY,
    email citext NOT NULL UNIQUE,
    login text NOT NULL,
    country text NOT NULL,
    phone text NOT NULL,
    postcode postcode,
    deleted boolean NOT NULL,
    badge text,
    CONSTRAINT people_country_phone UNIQUE (country, phone)
);
CREATE UNIQUE INDEX people_login_lower ON people (lower(login));
CREATE UNIQUE INDEX people_badge_active ON people (badge) WHERE NOT deleted;
INSERT INTO people
SELECT i, 'Person' || i || '@Example.org', 'Login' || i, CASE WHEN i % 2 = 0 THEN 'NL' ELSE 'BE' END,
       '+31 6 ' || lpad((i / 2)::text, 8, '0'), lpad((10000 + i)::text, 5, '0'), i > 150,
       'badge-' || CASE WHEN i <= 150 THEN i ELSE i - 150 END
FROM generate_series(1, 200) i;
CREATE TABLE codes (code citext PRIMARY KEY);
INSERT INTO codes SELECT CASE WHEN i % 2 = 0 THEN upper(chr(96 + i)) ELSE chr(96 + i) END FROM generate_series(1, 20) i;
CREATE DOMAIN label AS text NOT NULL;
CREATE TABLE tags (tag label, CONSTRAINT tag_not_empty CHECK (tag <> ''));
INSERT INTO tags SELECT 'Xq7-' || i FROM generate_series(1, 30) i;
"#;

/// The unique indexes every copy must have, valid.
const UNIQUE_INDEXES: &str =
    "codes_pkey people_badge_active people_country_phone people_email_key people_login_lower people_pkey";

fn source_db(prefix: &str) -> String {
    let c = cluster();
    let db = c.create_database(prefix);
    c.psql(&db, SCHEMA);
    db
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every key of `db` is there and valid, the rows are all there, and no two outputs of a
/// case-insensitive key differ only in case.
fn assert_keys_hold(db: &str) {
    let c = cluster();
    let unique = c.psql(
        db,
        "SELECT string_agg(i.indexrelid::regclass::text, ' ' ORDER BY i.indexrelid::regclass::text) \
         FROM pg_index i WHERE i.indisunique AND i.indisvalid AND i.indrelid IN ('people'::regclass, 'codes'::regclass)",
    );
    assert_eq!(unique.trim(), UNIQUE_INDEXES, "{db}");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM people"), "200");
    assert_eq!(c.scalar(db, "SELECT count(DISTINCT lower(email::text)) FROM people"), "200");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM codes"), "20");
    let domain_check = "SELECT count(*) FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid \
                        WHERE t.typname = 'postcode' AND k.contype = 'c' AND k.convalidated";
    assert_eq!(c.scalar(db, domain_check), "1");
    assert_eq!(c.scalar(db, "SELECT count(*) FROM tags WHERE tag <> ''"), "30");
}

#[test]
fn check_refuses_a_rule_that_could_break_each_kind_of_unique_key_or_a_not_null_domain() {
    let c = cluster();
    let db = source_db("constraints_check");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "bad.toml",
        r#"version = 1
[tables."public.people"]
keep = ["country", "postcode", "deleted"]
[tables."public.people".columns]
id = { action = "noise", absolute = 5 }
email = { action = "fake", generator = "email" }
login = { action = "fake", generator = "username" }
phone = { action = "mask", format_preserving = true }
badge = { action = "constant", value = "x" }
[tables."public.codes".columns]
code = { action = "hash", length = 4 }
[tables."public.tags".columns]
tag = { action = "null" }
"#,
    );
    let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db)], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    for expected in [
        "bad.toml:5: public.people.id: the primary key `people_pkey` needs this column's values to stay distinct, and \
         this rule can make two values equal; use `hash`",
        "bad.toml:6: public.people.email: the unique index `people_email_key` needs this column's values to stay \
         distinct (compared without regard to case), and two values may come out equal; add `unique = true`",
        "bad.toml:7: public.people.login: the unique index `people_login_lower` needs this column's values to stay \
         distinct (compared without regard to case), and",
        "bad.toml:8: public.people.phone: the unique index `people_country_phone` on (`country`, `phone`), with \
         `country` kept, needs this column's values to stay distinct, and two values may come out equal",
        "bad.toml:9: public.people.badge: the unique index `people_badge_active` needs this column's values to stay \
         distinct (partial: doppel keeps the column distinct in every row, which is stronger), and a constant gives \
         every row the same value",
        "bad.toml:11: public.codes.code: the primary key `codes_pkey` needs",
        // The type check words it (a NOT NULL domain takes no `null`), before the key check.
        "bad.toml:13: public.tags.tag: `null` cannot write valid values of type label (its domain is NOT NULL); for \
         this type use: keep, constant,",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    for value in ["Person1", "Example.org", "Login1", "+31", "badge-"] {
        assert!(!err.contains(value), "a value in a message:\n{err}");
    }
}

#[test]
fn scan_rules_keep_every_key_into_a_database_an_sql_dump_and_parquet_then_postgresql() {
    let c = cluster();
    let source = source_db("constraints_scan");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("scan.toml");
    let out = doppel(&["scan", "--from", &c.url(&source), "--out", rules.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&rules).unwrap();
    let out = doppel(&["check", "--explain", "--rules", rules.to_str().unwrap(), "--from", &c.url(&source)], None);
    let explained = String::from_utf8_lossy(&out.stdout);
    for column in ["email", "login"] {
        let line = explained.lines().find(|l| l.trim_start().starts_with(&format!("{column} "))).unwrap_or_default();
        assert!(line.contains("unique=true (case-insensitive)"), "{column}: {explained}");
    }
    let postcode = explained.lines().find(|l| l.trim_start().starts_with("postcode ")).unwrap_or_default();
    assert!(postcode.contains("[the target checks: postcode_check (domain public.postcode)]"), "{explained}");
    let tag = explained.lines().find(|l| l.trim_start().starts_with("tag ")).unwrap_or_default();
    assert!(tag.contains("[the target checks: tag_not_empty]") && !tag.contains("null"), "{explained}");
    let phone = explained.lines().find(|l| l.trim_start().starts_with("phone ")).unwrap_or_default();
    assert!(phone.contains(" unique=true") && !phone.contains("case-insensitive"), "{explained}");
    for column in ["email", "login", "phone", "badge"] {
        let line = text.lines().find(|l| l.split(" = ").next().map(str::trim) == Some(column)).unwrap_or_default();
        assert!(line.contains("unique = true"), "{column}: {line:?} in\n{text}");
    }

    // A new database.
    let target = format!("{source}_copy");
    let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &[]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());
    assert_keys_hold(&target);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people p WHERE p.email::text LIKE 'Person%'"), "0");

    // An SQL dump, restored with psql.
    let dump = dir.path().join("copy.sql");
    let out = doppel_run(&rules, &c.url(&source), dump.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = c.create_database("constraints_restored");
    let out = c
        .client("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(c.url(&restored))
        .arg("-f")
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_keys_hold(&restored);

    // Parquet, then loaded as it is into the source's schema.
    let parquet = dir.path().join("pq");
    let out = doppel_run(&rules, &c.url(&source), parquet.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let loaded = c.create_database("constraints_from_parquet");
    c.psql(&loaded, &schema_dump(&source));
    let keep_all = write(dir.path(), "keep.toml", KEEP_ALL);
    let out = doppel_run(&keep_all, parquet.to_str().unwrap(), &c.url(&loaded), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_keys_hold(&loaded);
}

/// One-letter codes, half upper case: a format-preserving mask keeps the case of each
/// letter, so without case folding an upper and a lower output of the same letter are
/// likely (as `text`, they do collide with the test key); the citext primary key refuses
/// them, and `unique = true` on the citext column re-generates until they differ.
#[test]
fn unique_on_a_citext_key_resolves_outputs_that_differ_only_in_case() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "codes.toml",
        r#"version = 1
[tables."public.codes".columns]
code = { action = "mask", format_preserving = true, unique = true, domain = "code" }
"#,
    );
    let citext = c.create_database("constraints_citext");
    c.psql(
        &citext,
        "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE codes (code citext PRIMARY KEY); \
         INSERT INTO codes SELECT CASE WHEN i % 2 = 0 THEN upper(chr(96 + i)) ELSE chr(96 + i) END FROM generate_series(1, 20) i;",
    );
    let text = c.create_database("constraints_text");
    c.psql(
        &text,
        "CREATE TABLE codes (code text PRIMARY KEY); \
         INSERT INTO codes SELECT CASE WHEN i % 2 = 0 THEN upper(chr(96 + i)) ELSE chr(96 + i) END FROM generate_series(1, 20) i;",
    );
    let (citext_copy, text_copy) = (format!("{citext}_copy"), format!("{text}_copy"));
    for (from, to) in [(&citext, &citext_copy), (&text, &text_copy)] {
        let out = doppel_run(&rules, &c.url(from), &c.url(to), &[]);
        assert!(out.status.success(), "{from}: {}", stderr(&out));
    }
    let distinct = "SELECT count(DISTINCT lower(code::text)) FROM codes";
    assert!(c.scalar(&text_copy, distinct).parse::<i64>().unwrap() < 20, "no case-only collision to resolve");
    assert_eq!(c.scalar(&citext_copy, distinct), "20");
    assert_eq!(c.scalar(&citext_copy, "SELECT count(*) FROM codes WHERE code::text = upper(code::text)"), "10");
}

const KEEP_ALL: &str = r#"version = 1
[tables."public.people"]
keep = ["id", "email", "login", "country", "phone", "postcode", "deleted", "badge"]
[tables."public.codes"]
keep = ["code"]
[tables."public.tags"]
keep = ["tag"]
"#;

/// Parquet files as they are (the source's rows) loaded into the source's schema: a rule
/// that would break one of the target's keys is refused before anything is loaded; rules
/// that keep them load, case-insensitive keys resolved.
#[test]
fn parquet_into_postgresql_checks_the_rules_against_the_target_keys() {
    let c = cluster();
    let source = source_db("constraints_raw_parquet");
    let dir = tempfile::tempdir().unwrap();
    let keep_all = write(dir.path(), "keep_all.toml", KEEP_ALL);
    let parquet = dir.path().join("pq");
    let out = doppel_run(&keep_all, &c.url(&source), parquet.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let target = c.create_database("constraints_parquet_target");
    c.psql(&target, &schema_dump(&source));

    let rules = |email: &str, code: &str| {
        format!(
            "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\", \"login\", \"country\", \"phone\", \"postcode\", \
             \"deleted\", \"badge\"]\n[tables.\"public.people\".columns]\nemail = {email}\n\
             [tables.\"public.codes\".columns]\ncode = {code}\n[tables.\"public.tags\"]\nkeep = [\"tag\"]\n"
        )
    };
    let bad = write(
        dir.path(),
        "bad.toml",
        &rules(r#"{ action = "fake", generator = "email" }"#, r#"{ action = "constant", value = "x" }"#),
    );
    let out = doppel_run(&bad, parquet.to_str().unwrap(), &c.url(&target), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("bad.toml:5: public.people.email: the unique index `people_email_key` needs"), "{err}");
    assert!(err.contains("bad.toml:7: public.codes.code: the primary key `codes_pkey` needs"), "{err}");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people"), "0");

    let good = write(
        dir.path(),
        "good.toml",
        &rules(
            r#"{ action = "fake", generator = "email", unique = true }"#,
            r#"{ action = "mask", format_preserving = true, unique = true, domain = "code" }"#,
        ),
    );
    let out = doppel_run(&good, parquet.to_str().unwrap(), &c.url(&target), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_keys_hold(&target);
}

/// A unique column under a nondeterministic (case-insensitive ICU) collation counts as
/// case-insensitive like citext: refused without `unique`, and case-only collisions
/// resolved with it. Skipped when the server has no ICU.
#[test]
fn a_nondeterministic_collation_makes_a_key_case_insensitive() {
    let c = cluster();
    let db = c.create_database("constraints_collation");
    if c.scalar(&db, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'") == "0" {
        eprintln!("skipped: the server has no ICU collations");
        return;
    }
    c.psql(
        &db,
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
         CREATE TABLE codes (code text COLLATE ci UNIQUE); \
         INSERT INTO codes SELECT CASE WHEN i % 2 = 0 THEN upper(chr(96 + i)) ELSE chr(96 + i) END FROM generate_series(1, 20) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = |rule: &str| format!("version = 1\n[tables.\"public.codes\".columns]\ncode = {rule}\n");
    let bad = write(dir.path(), "bad.toml", &rules(r#"{ action = "mask", format_preserving = true }"#));
    let out = doppel(&["check", "--rules", bad.to_str().unwrap(), "--from", &c.url(&db)], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("public.codes.code: the unique index `codes_code_key` needs this column's values to stay distinct (compared without regard to case)"), "{err}");
    let good = write(
        dir.path(),
        "good.toml",
        &rules(r#"{ action = "mask", format_preserving = true, unique = true, domain = "code" }"#),
    );
    let target = format!("{db}_copy");
    let out = doppel_run(&good, &c.url(&db), &c.url(&target), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(DISTINCT lower(code)) FROM codes"), "20");
}
