//! Tables whose every column is kept pass from a PostgreSQL source to a PostgreSQL target or a
//! SQL dump as raw COPY data, never decoded (`doppel::pg::raw_copy`): binary between built-in
//! types of servers of the same major version, text otherwise. The rows must come out exactly
//! as they went in, escapes, NULLs and every kind of type included, and a dump's sequences
//! must still follow the rows.

use crate::common;

use common::pg::cluster;
use common::{doppel_run_saying, stderr};

const SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 40);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE plain (
    id bigserial PRIMARY KEY,
    label text,
    tiny smallint,
    amount numeric(12, 2),
    ratio double precision,
    flag boolean,
    born date,
    seen timestamptz,
    local timestamp,
    at_time time,
    token uuid,
    raw bytea,
    doc jsonb,
    doubled bigint GENERATED ALWAYS AS (tiny * 2) STORED
);
INSERT INTO plain (label, tiny, amount, ratio, flag, born, seen, local, at_time, token, raw, doc)
SELECT CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN E'tab\there' WHEN 2 THEN E'line\nbreak \\ back' WHEN 3 THEN '\N'
            ELSE 'plain ' || i END,
       (i % 300)::smallint, i * 1.25, CASE i % 7 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-Infinity' ELSE i / 3.0 END,
       i % 2 = 0, DATE '2000-01-01' + i, TIMESTAMPTZ '2020-02-29 12:00:00+05' + i * INTERVAL '1 minute',
       TIMESTAMP '1999-12-31 23:59:59.999999' + i * INTERVAL '1 second', TIME '10:00' + i * INTERVAL '1 second',
       md5(i::text)::uuid, decode(lpad(to_hex(i), 8, '0'), 'hex'),
       jsonb_build_object('n', i, 's', E'quote " tab \t')
FROM generate_series(1, 20000) i;
CREATE TABLE fancy (
    id serial PRIMARY KEY,
    feeling mood,
    note short_text,
    numbers int[],
    words text[],
    duo pair,
    span int4range,
    wait interval
);
INSERT INTO fancy (feeling, note, numbers, words, duo, span, wait)
SELECT (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, CASE WHEN i % 4 = 0 THEN NULL ELSE E'n\\' || i END,
       ARRAY[i, NULL, -i], ARRAY['a b', E'c\td', NULL, '"q"'], ROW(i, E'x\ny')::pair, int4range(i, i + 10),
       i * INTERVAL '1 hour 3 seconds'
FROM generate_series(1, 3000) i;
CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL, plain_id bigint REFERENCES plain (id));
INSERT INTO people (name, plain_id) SELECT 'Person ' || i, i FROM generate_series(1, 500) i;
"#;

const RULES: &str = r#"version = 1
[tables."public.plain"]
keep = ["id", "label", "tiny", "amount", "ratio", "flag", "born", "seen", "local", "at_time", "token", "raw", "doc",
    "doubled"]
[tables."public.fancy"]
keep = ["id", "feeling", "note", "numbers", "words", "duo", "span", "wait"]
[tables."public.people"]
keep = ["id", "plain_id"]
[tables."public.people".columns]
name = { action = "fake", generator = "full_name" }
"#;

/// Every row of `table` in `db`, in id order, as PostgreSQL's own text.
fn rows(db: &str, table: &str) -> String {
    cluster().psql(db, &format!("COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT"))
}

/// Whether the run's debug log says `table` was copied unchanged in `format`.
fn passed(log: &str, table: &str, format: &str) -> bool {
    log.lines().any(|l| l.contains("copied unchanged") && l.contains(&format!("table={table} ")) && l.contains(format))
}

#[test]
fn kept_tables_pass_unchanged_into_a_database_and_a_dump_with_their_sequences() {
    let c = cluster();
    let source = c.create_database("unchanged");
    c.psql(&source, SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();

    let target = format!("{source}_copy");
    let out = doppel_run_saying(&rules, &c.url(&source), &c.url(&target), &["--log", "debug"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(passed(&log, "public.plain", "Binary"), "{log}");
    assert!(passed(&log, "public.fancy", "Text"), "arrays, enums and composites go as text: {log}");
    assert!(!log.lines().any(|l| l.contains("copied unchanged") && l.contains("public.people")), "{log}");
    for table in ["plain", "fancy"] {
        assert!(rows(&source, table) == rows(&target, table), "{table} differs in the database");
    }
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE name LIKE 'Person %'"), "0");

    let dump = dir.path().join("copy.sql");
    let out = doppel_run_saying(&rules, &c.url(&source), dump.to_str().unwrap(), &["--log", "debug"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(passed(&log, "public.plain", "Text") && passed(&log, "public.fancy", "Text"), "{log}");
    let restored = c.create_database("unchanged_restored");
    c.load_file(&restored, &dump);
    for table in ["plain", "fancy"] {
        assert!(rows(&source, table) == rows(&restored, table), "{table} differs in the restored dump");
    }
    // The sequences follow the rows: the next id is past the largest one.
    for (table, largest) in [("plain", "20000"), ("fancy", "3000")] {
        assert_eq!(c.scalar(&restored, &format!("SELECT max(id) FROM {table}")), largest);
        let next = c.scalar(&restored, &format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"));
        assert_eq!(next.parse::<u64>().unwrap(), largest.parse::<u64>().unwrap() + 1, "{table}");
    }
}

/// The kept columns of `table` (every column but `changed`), in id order, as PostgreSQL's text.
fn kept_rows(db: &str, table: &str, changed: &str) -> String {
    let columns = cluster().scalar(
        db,
        &format!(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute \
             WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '{changed}'"
        ),
    );
    cluster().psql(db, &format!("COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT"))
}

/// Whether the run's debug log says the kept columns of `table` were carried in `format`.
fn carried(log: &str, table: &str, format: &str) -> bool {
    log.lines()
        .any(|l| l.contains("kept columns carried") && l.contains(&format!("table={table} ")) && l.contains(format))
}

#[test]
fn kept_columns_of_transformed_tables_are_carried_undecoded_into_a_database_and_a_dump() {
    let c = cluster();
    let source = c.create_database("carried");
    c.psql(&source, SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        r#"version = 1
[tables."public.plain"]
keep = ["id", "tiny", "amount", "ratio", "flag", "born", "seen", "local", "at_time", "token", "raw", "doc", "doubled"]
[tables."public.plain".columns]
# Reads columns of many types: decoded from binary COPY into the database, from text into the dump.
label = { action = "template", template = "{tiny} {ratio} {flag} {born} {seen} {local} {at_time} {token}" }
[tables."public.fancy"]
keep = ["id", "feeling", "numbers", "words", "duo", "span", "wait"]
[tables."public.fancy".columns]
note = { action = "null" }
[tables."public.people"]
keep = ["id", "plain_id"]
[tables."public.people".columns]
name = { action = "template", template = "person-{plain_id}" }
"#,
    )
    .unwrap();

    let target = format!("{source}_copy");
    let out = doppel_run_saying(&rules, &c.url(&source), &c.url(&target), &["--log", "debug"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(carried(&log, "public.plain", "Binary"), "{log}");
    assert!(carried(&log, "public.fancy", "Text"), "arrays, enums and composites go as text: {log}");
    assert!(
        log.lines().any(|l| l.contains("kept columns carried") && l.contains("table=public.people carried=1 ")),
        "a template reads plain_id: only id is carried: {log}"
    );
    for (table, changed) in [("plain", "label"), ("fancy", "note")] {
        assert!(kept_rows(&source, table, changed) == kept_rows(&target, table, changed), "{table} differs");
        assert_eq!(c.scalar(&target, &format!("SELECT count(*) FROM {table} s WHERE {changed} LIKE 'plain %'")), "0");
    }
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE name = 'person-' || plain_id"), "500");

    let dump = dir.path().join("copy.sql");
    let out = doppel_run_saying(&rules, &c.url(&source), dump.to_str().unwrap(), &["--log", "debug"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(carried(&log, "public.plain", "Text") && carried(&log, "public.fancy", "Text"), "{log}");
    let restored = c.create_database("carried_restored");
    c.load_file(&restored, &dump);
    for (table, changed) in [("plain", "label"), ("fancy", "note")] {
        assert!(kept_rows(&source, table, changed) == kept_rows(&restored, table, changed), "{table} differs");
    }
    // Values decoded from binary (the database) and from text (the dump) are the same values.
    let labels = |db: &str| c.psql(db, "COPY (SELECT label FROM plain ORDER BY id) TO STDOUT");
    assert!(labels(&target) == labels(&restored), "the template saw other values in binary than in text");
    // Every label but the NULL ones (one row in five) was built from the eight columns.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM plain WHERE label LIKE '% % % % % % % %'"), "16000");
    // The sequences follow the carried id columns: the next id is past the largest one.
    for (table, largest) in [("plain", "20000"), ("fancy", "3000")] {
        let next = c.scalar(&restored, &format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"));
        assert_eq!(next.parse::<u64>().unwrap(), largest.parse::<u64>().unwrap() + 1, "{table}");
    }
}
