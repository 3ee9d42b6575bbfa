//! The PostgreSQL source against a real throwaway server: the catalog (what is a table and
//! what is not), the Arrow types and `pg.type` metadata, every value read back exactly
//! (checked against PostgreSQL's own rendering through psql, never against our decoder),
//! batch sizes, the consistent snapshot, early drop, and the errors users see.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use common::pg::{Cluster, cluster};
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;

const SESSION: &str = "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; \
                       SET timezone = 'UTC'; SET bytea_output = 'hex';";

const SETUP: &str = r#"
CREATE EXTENSION citext;
CREATE EXTENSION file_fdw;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN amount AS numeric(12,2) CHECK (VALUE >= 0);
CREATE DOMAIN short_text AS varchar(10);
CREATE DOMAIN positive_amount AS amount CHECK (VALUE > 0);

CREATE TABLE ints (id int4 NOT NULL, s int2, b int8);
INSERT INTO ints VALUES (1, -32768, -9223372036854775808), (2, 32767, 9223372036854775807), (3, 0, 0), (4, NULL, NULL);

CREATE TABLE floats (id int, f4 real, f8 double precision);
INSERT INTO floats VALUES (1, 'NaN', 'NaN'), (2, 'Infinity', 'Infinity'), (3, '-Infinity', '-Infinity'),
  (4, 0.1, 0.1), (5, '-0', '-0'), (6, 1e-45, 5e-324), (7, 3.4028235e38, 1.7976931348623157e308),
  (8, 1.0/3, 1.0/3), (9, NULL, NULL);

CREATE TABLE money (id int, amount numeric(12,2) NOT NULL, tiny numeric(3,3), wide numeric(38,0));
INSERT INTO money VALUES (1, 0, 0.001, 0), (2, -0.01, -0.999, -99999999999999999999999999999999999999),
  (3, 9999999999.99, NULL, 99999999999999999999999999999999999999), (4, 123.4, 0.5, 1);

CREATE TABLE big_numbers (id int, n numeric, n50 numeric(50,10), neg numeric(5,-2));
INSERT INTO big_numbers VALUES (1, 'NaN', 12345678901234567890123456789012345678.9012345678, 12300),
  (2, 'Infinity', 0, -99900), (3, '-Infinity', NULL, NULL), (4, 1e-100, 1, 0),
  (5, 123456789012345678901234567890.123456789, -1, 100), (6, 0.000, NULL, NULL), (7, NULL, NULL, NULL);

CREATE TABLE texts (id int, t text, v varchar(40), c char(5), nm name, ci citext, st short_text);
INSERT INTO texts VALUES
  (1, E'tab\there', 'new' || chr(10) || 'line', 'abc', 'name', 'MiXeD', 'short'),
  (2, E'back\\slash \\N', E'cr\rlf\r\n', 'a', 'x', 'ci', ''),
  (3, '', '', '', '', '', ''),
  (4, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '\N', E'\\x41', 'é€😀', 'ünïcødé', 'ÄÖÜ', '日本語'),
  (6, E'ctl \b\f\v\x01 end', repeat('x', 40), '12345', repeat('n', 63), ' padded ', '  ');

CREATE TABLE flags (id int, b bool);
INSERT INTO flags VALUES (1, true), (2, false), (3, NULL);

CREATE TABLE dates (id int, d date);
INSERT INTO dates VALUES (1, '2024-02-29'), (2, '1970-01-01'), (3, '0044-03-15 BC'), (4, '4714-11-24 BC'),
  (5, '5874897-12-31'), (6, '0001-01-01'), (7, '1969-12-31'), (8, NULL);

CREATE TABLE stamps (id int, ts timestamp, tstz timestamptz, ts0 timestamp(0));
INSERT INTO stamps VALUES
  (1, '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+05:30', '2024-02-29 12:34:56'),
  (2, '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '1970-01-01'),
  (3, '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC', '1900-01-01'),
  (4, '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999-08', '2000-01-01'),
  (5, '200000-01-01 00:00:00', '200000-01-01 00:00:00+00', '2000-01-01'),
  (6, NULL, NULL, NULL);

CREATE TABLE blobs (id int, b bytea);
INSERT INTO blobs VALUES (1, '\x00ff10'), (2, ''), (3, NULL), (4, convert_to(E'tab\t\\ nl\n', 'UTF8'));

CREATE TABLE ids (u uuid PRIMARY KEY, label text);
INSERT INTO ids VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a'), ('00000000-0000-0000-0000-000000000000', 'zero'),
  ('ffffffff-ffff-ffff-ffff-ffffffffffff', 'max');

CREATE TABLE docs (id int, j jsonb, js json, x xml);
INSERT INTO docs VALUES
  (1, '{"b": 1, "a": "x\ty", "n": null, "u": "é\u00e9"}', '{"b":1,  "a" : "keep spacing"}', '<a href="x">t&amp;</a>'),
  (2, '[1, 2.50, "\\"]', '"str"', NULL), (3, 'null', 'null', '<e/>'), (4, NULL, NULL, NULL);

CREATE TABLE misc (id int, iv interval, ip inet, net cidr, mac macaddr, m mood, arr int[], tarr text[],
  r int4range, tm time, tz timetz, mon money, tsv tsvector, amt amount, pamt positive_amount, ch "char", o oid,
  pt point, bits bit varying(8));
INSERT INTO misc VALUES
  (1, '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 'happy',
   '{1,NULL,3}', ARRAY['a b', 'c"d', E'e\\f', NULL, ''], '[1,10)', '12:34:56.789', '12:34:56+05:30', 1234.56,
   'the quick brown fox', 12.5, 0.01, 'x', 42, '(1.5,-2)', B'1010'),
  (2, '-1 days -00:00:01', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'sad', '{}', '{}', 'empty', '00:00',
   '00:00+00', -0.01, '', 0, 99.99, E'\\', 0, '(0,0)', B''),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE gen (id int, price numeric(10,2), qty int, total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED);
INSERT INTO gen (id, price, qty) VALUES (1, 2.50, 4), (2, NULL, 1);

CREATE TABLE events (id int NOT NULL, at date NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO events VALUES (1, '2023-05-01', 'a'), (2, '2024-05-01', 'b'), (3, '2024-06-01', 'c');

CREATE TABLE parent (id int, name text);
CREATE TABLE child (extra text) INHERITS (parent);
INSERT INTO parent VALUES (1, 'parent row');
INSERT INTO child VALUES (2, 'child row', 'extra');

CREATE VIEW v_ints AS SELECT * FROM ints;
CREATE MATERIALIZED VIEW mv_ints AS SELECT * FROM ints;
CREATE SEQUENCE a_sequence;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE outside (a int) SERVER files OPTIONS (filename '/dev/null');
CREATE TEMP TABLE not_visible (a int);

CREATE TABLE dropped_col (a int, gone text, b text);
ALTER TABLE dropped_col DROP COLUMN gone;
INSERT INTO dropped_col VALUES (1, 'one');

CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;

CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Mixed Case" ("Full Name" text NOT NULL, "we""ird" int, "UPPER" int, "select" text);
INSERT INTO "Sales Data"."Mixed Case" VALUES ('Ada Lovelace', 1, 2, 'kw'), ('x', NULL, NULL, NULL);
"#;

fn types_db() -> (&'static Cluster, String) {
    use std::sync::OnceLock;
    static DB: OnceLock<String> = OnceLock::new();
    let c = cluster();
    let db = DB.get_or_init(|| {
        let db = c.create_database("pg_source_types");
        c.psql(&db, SETUP);
        db
    });
    (c, db.clone())
}

fn read_all(src: &PostgresSource, table: &str, batch_rows: usize) -> Vec<RecordBatch> {
    src.read(table, batch_rows).unwrap().collect::<Result<Vec<_>, _>>().unwrap_or_else(|e| panic!("{table}: {e}"))
}

fn concat(src: &PostgresSource, table: &str) -> RecordBatch {
    let schema = src.tables().iter().find(|t| t.name == table).unwrap().schema.clone();
    arrow_select::concat::concat_batches(&schema, &read_all(src, table, 3)).unwrap()
}

fn qi(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(table: &str) -> String {
    let (schema, name) = table.split_once('.').unwrap();
    format!("{}.{}", qi(schema), qi(name))
}

/// How PostgreSQL's COPY text format writes a text value (its escaping rules, written out
/// here independently of the source's decoder).
fn copy_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (SQL expression rendering a column canonically in psql, Rust rendering of the Arrow value).
fn oracle(column: &str, data_type: &DataType) -> String {
    let c = qi(column);
    match data_type {
        DataType::Float32 => format!("encode(float4send({c}), 'hex')"),
        DataType::Float64 => format!("encode(float8send({c}), 'hex')"),
        DataType::Date32 => format!("({c} - DATE '1970-01-01')::text"),
        DataType::Timestamp(..) | DataType::Time64(_) => {
            format!("(extract(epoch from {c}) * 1000000)::numeric(30,0)::text")
        }
        DataType::Decimal128(_, s) => format!("({c} * power(10::numeric, {s}))::numeric(60,0)::text"),
        DataType::Binary => format!("encode({c}, 'hex')"),
        DataType::FixedSizeBinary(16) => format!("replace({c}::text, '-', '')"),
        _ => format!("{c}::text"),
    }
}

fn render(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return "<null>".into();
    }
    match array.data_type() {
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float32 => format!("{:08x}", array.as_primitive::<Float32Type>().value(row).to_bits()),
        DataType::Float64 => format!("{:016x}", array.as_primitive::<Float64Type>().value(row).to_bits()),
        DataType::Boolean => if array.as_boolean().value(row) { "true" } else { "false" }.into(),
        DataType::Date32 => array.as_primitive::<Date32Type>().value(row).to_string(),
        DataType::Timestamp(..) => array.as_primitive::<TimestampMicrosecondType>().value(row).to_string(),
        DataType::Time64(_) => array.as_primitive::<Time64MicrosecondType>().value(row).to_string(),
        DataType::Decimal128(..) => array.as_primitive::<Decimal128Type>().value(row).to_string(),
        DataType::Binary => hex(array.as_binary::<i32>().value(row)),
        DataType::FixedSizeBinary(_) => hex(array.as_fixed_size_binary().value(row)),
        DataType::Utf8 => copy_escape(array.as_string::<i32>().value(row)),
        other => panic!("unexpected type {other}"),
    }
}

/// Every value of `table` as read by the source equals PostgreSQL's own rendering: text
/// columns byte for byte against psql's COPY output, other types against exact SQL
/// renderings (float bits, days and microseconds since the epoch, scaled decimals, hex).
fn assert_table_matches_psql(c: &Cluster, db: &str, src: &PostgresSource, table: &str, partitioned: bool) {
    let batch = concat(src, table);
    let schema = batch.schema();
    if schema.fields().is_empty() {
        return;
    }
    let from = format!("{}{}", if partitioned { "" } else { "ONLY " }, qualified(table));

    let text_cols: Vec<usize> =
        (0..schema.fields().len()).filter(|&i| schema.field(i).data_type() == &DataType::Utf8).collect();
    if !text_cols.is_empty() {
        let cols: Vec<String> = text_cols.iter().map(|&i| qi(schema.field(i).name())).collect();
        let out = c.psql(db, &format!("{SESSION} COPY (SELECT {} FROM {from}) TO STDOUT", cols.join(", ")));
        let lines: Vec<&str> = out.strip_suffix('\n').map(|o| o.split('\n').collect()).unwrap_or_default();
        assert_eq!(lines.len(), batch.num_rows(), "{table}: row count");
        for (row, line) in lines.iter().enumerate() {
            for (field, &i) in line.split('\t').zip(&text_cols) {
                let ours = if batch.column(i).is_null(row) { "\\N".to_string() } else { render(batch.column(i), row) };
                assert_eq!(ours, field, "{table}.{}, row {}", schema.field(i).name(), row + 1);
            }
        }
    }

    let exprs: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            // Checked byte for byte above; their text may hold '|' or newlines.
            DataType::Utf8 => "'-'".to_string(),
            t => format!("coalesce({}, '<null>')", oracle(f.name(), t)),
        })
        .collect();
    let out = c.psql(db, &format!("{SESSION} SELECT {} FROM {from}", exprs.join(" || '|' || ")));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), batch.num_rows(), "{table}: row count");
    for (row, line) in lines.iter().enumerate() {
        for (i, expected) in line.split('|').enumerate() {
            if schema.field(i).data_type() == &DataType::Utf8 {
                continue;
            }
            assert_eq!(render(batch.column(i), row), expected, "{table}.{}, row {}", schema.field(i).name(), row + 1);
        }
    }
}

#[test]
fn catalog_lists_tables_only_with_their_types() {
    let (c, db) = types_db();
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    let names: Vec<&str> = src.tables().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Sales Data.Mixed Case",
            "public.big_numbers",
            "public.blobs",
            "public.child",
            "public.dates",
            "public.docs",
            "public.dropped_col",
            "public.events",
            "public.flags",
            "public.floats",
            "public.gen",
            "public.ids",
            "public.ints",
            "public.misc",
            "public.money",
            "public.no_columns",
            "public.parent",
            "public.stamps",
            "public.texts",
        ],
        "partitions, views, materialized views, sequences, foreign and temp tables are not tables"
    );

    type FieldInfo = (DataType, String, bool, HashMap<String, String>);
    let fields: HashMap<(String, String), FieldInfo> = src
        .tables()
        .iter()
        .flat_map(|t| {
            t.schema.fields().iter().map(|f| {
                (
                    (t.name.clone(), f.name().clone()),
                    (
                        f.data_type().clone(),
                        f.metadata().get("pg.type").cloned().unwrap_or_default(),
                        f.is_nullable(),
                        f.metadata().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                    ),
                )
            })
        })
        .collect();
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let naive = DataType::Timestamp(TimeUnit::Microsecond, None);
    let expected: Vec<(&str, &str, DataType, &str, bool)> = vec![
        ("public.ints", "id", DataType::Int32, "integer", false),
        ("public.ints", "s", DataType::Int16, "smallint", true),
        ("public.ints", "b", DataType::Int64, "bigint", true),
        ("public.floats", "f4", DataType::Float32, "real", true),
        ("public.floats", "f8", DataType::Float64, "double precision", true),
        ("public.money", "amount", DataType::Decimal128(12, 2), "numeric(12,2)", false),
        ("public.money", "tiny", DataType::Decimal128(3, 3), "numeric(3,3)", true),
        ("public.money", "wide", DataType::Decimal128(38, 0), "numeric(38,0)", true),
        ("public.big_numbers", "n", DataType::Utf8, "numeric", true),
        ("public.big_numbers", "n50", DataType::Utf8, "numeric(50,10)", true),
        ("public.big_numbers", "neg", DataType::Utf8, "numeric(5,-2)", true),
        ("public.texts", "t", DataType::Utf8, "text", true),
        ("public.texts", "v", DataType::Utf8, "character varying(40)", true),
        ("public.texts", "c", DataType::Utf8, "character(5)", true),
        ("public.texts", "nm", DataType::Utf8, "name", true),
        ("public.texts", "ci", DataType::Utf8, "citext", true),
        ("public.texts", "st", DataType::Utf8, "short_text", true),
        ("public.flags", "b", DataType::Boolean, "boolean", true),
        ("public.dates", "d", DataType::Date32, "date", true),
        ("public.stamps", "ts", naive.clone(), "timestamp without time zone", true),
        ("public.stamps", "tstz", utc.clone(), "timestamp with time zone", true),
        ("public.stamps", "ts0", naive, "timestamp(0) without time zone", true),
        ("public.blobs", "b", DataType::Binary, "bytea", true),
        ("public.ids", "u", DataType::FixedSizeBinary(16), "uuid", false),
        ("public.docs", "j", DataType::Utf8, "jsonb", true),
        ("public.docs", "js", DataType::Utf8, "json", true),
        ("public.docs", "x", DataType::Utf8, "xml", true),
        ("public.misc", "iv", DataType::Utf8, "interval", true),
        ("public.misc", "ip", DataType::Utf8, "inet", true),
        ("public.misc", "net", DataType::Utf8, "cidr", true),
        ("public.misc", "mac", DataType::Utf8, "macaddr", true),
        ("public.misc", "m", DataType::Utf8, "mood", true),
        ("public.misc", "arr", DataType::Utf8, "integer[]", true),
        ("public.misc", "tarr", DataType::Utf8, "text[]", true),
        ("public.misc", "r", DataType::Utf8, "int4range", true),
        ("public.misc", "tm", DataType::Time64(TimeUnit::Microsecond), "time without time zone", true),
        ("public.misc", "tz", DataType::Utf8, "time with time zone", true),
        ("public.misc", "mon", DataType::Utf8, "money", true),
        ("public.misc", "tsv", DataType::Utf8, "tsvector", true),
        ("public.misc", "amt", DataType::Decimal128(12, 2), "amount", true),
        ("public.misc", "pamt", DataType::Decimal128(12, 2), "positive_amount", true),
        ("public.misc", "ch", DataType::Utf8, "\"char\"", true),
        ("public.misc", "bits", DataType::Utf8, "bit varying(8)", true),
        ("public.gen", "total", DataType::Decimal128(12, 2), "numeric(12,2)", true),
        ("public.events", "at", DataType::Date32, "date", false),
        ("Sales Data.Mixed Case", "Full Name", DataType::Utf8, "text", false),
        ("Sales Data.Mixed Case", "we\"ird", DataType::Int32, "integer", true),
    ];
    for (table, column, data_type, pg_type, nullable) in expected {
        let (dt, pt, n, _) =
            fields.get(&(table.to_string(), column.to_string())).unwrap_or_else(|| panic!("{table}.{column}"));
        assert_eq!((dt, pt.as_str(), *n), (&data_type, pg_type, nullable), "{table}.{column}");
    }
    let uuid_meta = &fields[&("public.ids".to_string(), "u".to_string())].3;
    assert_eq!(uuid_meta.get("ARROW:extension:name").map(String::as_str), Some("arrow.uuid"));
    let total_meta = &fields[&("public.gen".to_string(), "total".to_string())].3;
    assert_eq!(total_meta.get("pg.generated").map(String::as_str), Some("stored"));
    assert!(!fields[&("public.gen".to_string(), "price".to_string())].3.contains_key("pg.generated"));

    // Columns in attnum order; dropped columns gone; the parent has no child column.
    let cols = |t: &str| -> Vec<String> {
        src.tables().iter().find(|x| x.name == t).unwrap().schema.fields().iter().map(|f| f.name().clone()).collect()
    };
    assert_eq!(cols("public.dropped_col"), vec!["a", "b"]);
    assert_eq!(cols("public.parent"), vec!["id", "name"]);
    assert_eq!(cols("public.child"), vec!["id", "name", "extra"]);
    assert_eq!(cols("Sales Data.Mixed Case"), vec!["Full Name", "we\"ird", "UPPER", "select"]);
    assert!(cols("public.no_columns").is_empty());
}

#[test]
fn every_value_reads_back_exactly() {
    let (c, db) = types_db();
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    for t in src.tables() {
        assert_table_matches_psql(c, &db, &src, &t.name, t.name == "public.events");
    }

    // A few values spelled out, so a shared misunderstanding of a format cannot hide.
    let floats = concat(&src, "public.floats");
    let f4 = floats.column(1).as_primitive::<Float32Type>();
    let f8 = floats.column(2).as_primitive::<Float64Type>();
    assert!(f4.value(0).is_nan() && f8.value(0).is_nan());
    assert_eq!((f4.value(1), f8.value(1)), (f32::INFINITY, f64::INFINITY));
    assert_eq!((f4.value(2), f8.value(2)), (f32::NEG_INFINITY, f64::NEG_INFINITY));
    assert_eq!((f4.value(3), f8.value(3)), (0.1f32, 0.1f64));
    assert_eq!((f4.value(4).to_bits(), f8.value(4).to_bits()), ((-0.0f32).to_bits(), (-0.0f64).to_bits()));
    assert_eq!((f4.value(5), f8.value(5)), (f32::from_bits(1), f64::from_bits(1)));
    assert_eq!((f4.value(6), f8.value(6)), (f32::MAX, f64::MAX));
    assert!(f4.is_null(8) && f8.is_null(8));

    let texts = concat(&src, "public.texts");
    let t = texts.column(1).as_string::<i32>();
    assert_eq!(t.value(0), "tab\there");
    assert_eq!(t.value(1), "back\\slash \\N");
    assert_eq!((t.value(2), t.is_null(2), t.is_null(3)), ("", false, true));
    assert_eq!(t.value(4), "\\N", "the text \\N is not NULL");
    assert_eq!(texts.column(2).as_string::<i32>().value(1), "cr\rlf\r\n");
    let ch = texts.column(3).as_string::<i32>();
    assert_eq!((ch.value(0), ch.value(1), ch.value(2), ch.value(4)), ("abc  ", "a    ", "     ", "é€😀  "));

    let money = concat(&src, "public.money");
    let amount = money.column(1).as_primitive::<Decimal128Type>();
    assert_eq!(amount.values().to_vec(), vec![0, -1, 999_999_999_999, 12_340]);

    let dates = concat(&src, "public.dates");
    let d = dates.column(1).as_primitive::<Date32Type>();
    assert_eq!((d.value(0), d.value(1), d.value(3), d.value(4)), (19_782, 0, -2_440_588, 2_145_042_905));

    let stamps = concat(&src, "public.stamps");
    let ts = stamps.column(1).as_primitive::<TimestampMicrosecondType>();
    let tstz = stamps.column(2).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_709_210_096_789_012);
    assert_eq!(tstz.value(0), 1_709_210_096_789_012 - 5 * 3_600_000_000 - 30 * 60_000_000);
    assert_eq!(tstz.value(3), -1 + 8 * 3_600_000_000);

    let blobs = concat(&src, "public.blobs");
    let b = blobs.column(1).as_binary::<i32>();
    assert_eq!((b.value(0), b.value(1), b.is_null(1), b.is_null(2)), (&[0u8, 255, 16][..], &[][..], false, true));
    assert_eq!(b.value(3), b"tab\t\\ nl\n");

    // Partitions through their parent, once; inheritance parent without its children.
    assert_eq!(concat(&src, "public.events").num_rows(), 3);
    assert_eq!(concat(&src, "public.parent").num_rows(), 1);
    assert_eq!(concat(&src, "public.child").num_rows(), 1);
    assert_eq!(concat(&src, "public.no_columns").num_rows(), 2);
    let gen_total = concat(&src, "public.gen");
    assert_eq!(gen_total.column(3).as_primitive::<Decimal128Type>().value(0), 1000);
    let mixed = concat(&src, "Sales Data.Mixed Case");
    assert_eq!(mixed.column(0).as_string::<i32>().value(0), "Ada Lovelace");
}

#[test]
fn batches_hold_at_most_batch_rows_rows() {
    let c = cluster();
    let db = c.create_database("pg_source_batches");
    c.psql(
        &db,
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 10) g; CREATE TABLE e (a int);",
    );
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    let sizes = |n: usize| read_all(&src, "public.t", n).iter().map(RecordBatch::num_rows).collect::<Vec<_>>();
    assert_eq!(sizes(3), vec![3, 3, 3, 1]);
    assert_eq!(sizes(5), vec![5, 5]);
    assert_eq!(sizes(1), vec![1; 10]);
    assert_eq!(sizes(8192), vec![10]);
    assert!(read_all(&src, "public.e", 10).is_empty());
    let ids: Vec<i32> = read_all(&src, "public.t", 4)
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(ids, (1..=10).collect::<Vec<_>>(), "row order is the table's order");
}

#[test]
fn reads_see_the_snapshot_taken_at_open() {
    let c = cluster();
    let db = c.create_database("pg_source_snapshot");
    c.psql(&db, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g; CREATE TABLE u (id int);");
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    // Another connection changes everything after open.
    c.psql(
        &db,
        "INSERT INTO t SELECT g FROM generate_series(1001, 1500) g; DELETE FROM t WHERE id <= 10; \
         INSERT INTO u VALUES (1); CREATE TABLE later (a int);",
    );
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM t"), "1490");
    assert!(!src.tables().iter().any(|t| t.name == "public.later"));
    // Several reads at once, from different threads, all see the snapshot.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let src = &src;
                s.spawn(move || {
                    let rows: usize = read_all(src, "public.t", 100 + i).iter().map(RecordBatch::num_rows).sum();
                    let min = read_all(src, "public.t", 1000)[0].column(0).as_primitive::<Int32Type>().value(0);
                    (rows, min)
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), (1000, 1));
        }
    });
    assert!(read_all(&src, "public.u", 10).is_empty());
}

fn sessions(c: &Cluster, app: &str) -> usize {
    c.scalar("postgres", &format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'"))
        .parse()
        .unwrap()
}

#[test]
fn dropping_a_stream_early_stops_its_reader() {
    let c = cluster();
    let db = c.create_database("pg_source_drop");
    c.psql(&db, "CREATE TABLE drop_me AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 300000) g;");
    let src = PostgresSource::open(&format!("{}?application_name=doppel_drop_test", c.url(&db))).unwrap();
    let mut stream = src.read("public.drop_me", 1000).unwrap();
    assert_eq!(stream.next().unwrap().unwrap().num_rows(), 1000);
    assert_eq!(sessions(c, "doppel_drop_test"), 2, "coordinator and reader");
    let started = Instant::now();
    drop(stream);
    while sessions(c, "doppel_drop_test") > 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "the reader's session did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The COPY was cancelled on the server, not drained to its end.
    let log = c.log();
    let lines: Vec<&str> = log.lines().collect();
    let copy = "STATEMENT:  COPY (SELECT \"id\", \"s\" FROM ONLY \"public\".\"drop_me\") TO STDOUT";
    assert!(
        lines.windows(2).any(|w| w[0].contains("canceling statement due to user request") && w[1].contains(copy)),
        "no cancelled COPY in the server log"
    );
    // The source still works.
    assert_eq!(read_all(&src, "public.drop_me", 100_000).len(), 3);
    drop(src);
    let started = Instant::now();
    while sessions(c, "doppel_drop_test") > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the coordinator's session did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_connection_lost_mid_copy_is_an_error_not_a_short_table() {
    let c = cluster();
    let db = c.create_database("pg_source_lost");
    c.psql(&db, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 300000) g;");
    let src = PostgresSource::open(&format!("{}?application_name=doppel_lost_test", c.url(&db))).unwrap();
    let mut stream = src.read("public.big", 1000).unwrap();
    let mut rows = stream.next().unwrap().unwrap().num_rows();
    c.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'doppel_lost_test' AND query LIKE 'COPY%'",
    );
    let mut error = None;
    for item in stream {
        match item {
            Ok(b) => rows += b.num_rows(),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let error = error.unwrap_or_else(|| panic!("no error after {rows} rows"));
    assert!(rows < 300_000);
    assert!(error.contains("public.big") && error.contains("connection was lost"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{}", c.port)) && error.contains(&db), "{error}");
}

#[test]
fn values_arrow_cannot_hold_are_errors_with_row_numbers() {
    let c = cluster();
    let db = c.create_database("pg_source_unrepresentable");
    c.psql(
        &db,
        "CREATE TABLE far (id int, at timestamp); INSERT INTO far VALUES (1, '2024-01-01'), (2, '294276-12-31 23:59:59');
         CREATE TABLE n (id int, amount numeric(12,2)); INSERT INTO n VALUES (1, 1), (2, 2), (3, 3), (4, 'NaN');",
    );
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    let err = |table: &str, batch_rows: usize| -> String {
        let result: Result<Vec<_>, _> = src.read(table, batch_rows).unwrap().collect();
        result.unwrap_err().to_string()
    };
    // (±infinity dates and timestamps are read as the Arrow type's extremes: see
    // tests/it/pg/type_fidelity.rs.)
    let e = err("public.far", 10);
    assert!(e.contains("public.far") && e.contains("column at, row 2") && e.contains("outside the range"), "{e}");
    assert!(!e.contains("294276"), "{e}");
    let e = err("public.n", 2);
    assert!(e.contains("column amount, row 4") && e.contains("Decimal128(12, 2) cannot hold"), "{e}");
}

#[test]
fn connection_errors_say_what_is_wrong_and_never_the_password() {
    let c = cluster();
    let msg = |url: &str| PostgresSource::open(url).unwrap_err().to_string();

    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = msg(&format!("postgres://postgres:hunter2@127.0.0.1:{closed}/x"));
    assert!(e.contains("connection refused") && e.contains(&format!("127.0.0.1:{closed}/x")), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    let e = msg(&c.url("no_such_database"));
    assert!(e.contains("database \"no_such_database\" does not exist"), "{e}");

    // Password authentication for one role only (the rest of the cluster keeps trust).
    let hba = c.data_dir.join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    if !old.contains("doppel_pw") {
        std::fs::write(&hba, format!("host all doppel_pw 127.0.0.1/32 scram-sha-256\n{old}")).unwrap();
        c.psql("postgres", "CREATE ROLE doppel_pw LOGIN PASSWORD 'right-pw'; SELECT pg_reload_conf();");
    }
    let base = format!("127.0.0.1:{}/postgres", c.port);
    // The reload is asynchronous (and slower on a busy machine): wait until it takes effect.
    let started = Instant::now();
    while PostgresSource::open(&format!("postgres://doppel_pw:wrong-pw@{base}")).is_ok() {
        assert!(started.elapsed() < Duration::from_secs(20), "the pg_hba.conf reload did not take effect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let e = msg(&format!("postgres://doppel_pw:wrong-pw@{base}"));
    assert!(e.contains("authentication failed for user \"doppel_pw\""), "{e}");
    assert!(!e.contains("wrong-pw") && !e.contains("right-pw"), "{e}");
    let e = msg(&format!("postgres://doppel_pw@{base}"));
    assert!(e.contains("asks for a password") && e.contains("PGPASSWORD"), "{e}");
    PostgresSource::open(&format!("postgres://doppel_pw:right-pw@{base}")).unwrap();

    // verify-full without a root certificate file is refused before connecting (TLS itself
    // is covered by tests/it/pg/tls.rs).
    let e = msg(&format!("{}?sslmode=verify-full&sslrootcert=/no/such/ca.crt", c.url("postgres")));
    assert!(e.contains("root certificate file /no/such/ca.crt") && e.contains("set sslrootcert"), "{e}");
}

#[test]
fn a_table_without_select_permission_is_named() {
    let c = cluster();
    let db = c.create_database("pg_source_perm");
    c.psql(
        &db,
        "CREATE TABLE open_t (a int); CREATE TABLE secret (card text); INSERT INTO secret VALUES ('4111111111111111');
         DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'doppel_reader') THEN
           CREATE ROLE doppel_reader LOGIN; END IF; END $$;
         GRANT SELECT ON open_t TO doppel_reader;",
    );
    let url = format!("postgres://doppel_reader@127.0.0.1:{}/{db}", c.port);
    let src = PostgresSource::open(&url).unwrap();
    // Listed (the rules may skip it), readable tables still read.
    assert!(src.tables().iter().any(|t| t.name == "public.secret"));
    assert!(read_all(&src, "public.open_t", 10).is_empty());
    let e = src.read("public.secret", 10).unwrap().next().unwrap().unwrap_err().to_string();
    assert!(e.contains("public.secret") && e.contains("permission denied") && e.contains("doppel_reader"), "{e}");
    assert!(!e.contains("4111"), "{e}");
    let e = src.read("public.nope", 10).err().unwrap().to_string();
    assert!(e.contains("no table public.nope"), "{e}");
}

#[test]
fn trade_reads_completely() {
    let c = cluster();
    let db = c.trade();
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    assert_eq!(src.tables().len(), 14);
    for t in src.tables() {
        let rows: usize = read_all(&src, &t.name, 50).iter().map(RecordBatch::num_rows).sum();
        let expected: usize =
            c.scalar(&db, &format!("SELECT count(*) FROM ONLY {}", qualified(&t.name))).parse().unwrap();
        assert_eq!(rows, expected, "{}", t.name);
        assert_table_matches_psql(c, &db, &src, &t.name, false);
    }
}

/// `cargo test --release --test it -- --ignored --nocapture pg::source::read_throughput`
#[test]
#[ignore = "benchmark: cargo test --release --test it -- --ignored --nocapture pg::source::read_throughput"]
fn read_throughput() {
    let c = cluster();
    let db = c.create_database("pg_source_throughput");
    c.psql(
        &db,
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS s, now() AS ts FROM generate_series(1, 1000000) g; \
         VACUUM ANALYZE t;",
    );
    let src = PostgresSource::open(&c.url(&db)).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let rows: usize = src.read("public.t", 8192).unwrap().map(|b| b.unwrap().num_rows()).sum();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(rows, 1_000_000);
        eprintln!("read 1M rows (int4, text, timestamptz) in {secs:.3} s: {:.0} rows/s", rows as f64 / secs);
    }
}

/// A session of its own on `db`, outside doppel.
fn other_session(c: &Cluster, db: &str) -> postgres::Client {
    postgres::Client::connect(&c.url(db), postgres::NoTls).expect("connect the other session")
}

/// Waits until some session waits for a lock on `table` (in `db`).
fn wait_for_a_lock_waiter(c: &Cluster, db: &str, table: &str) {
    let started = Instant::now();
    let sql = format!("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '{table}'::regclass");
    while c.scalar(db, &sql) == "0" {
        assert!(started.elapsed() < Duration::from_secs(20), "nobody waits for a lock on {table}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ddl` (a TRUNCATE or a table rewrite of `public.t`, 10 rows) from another session after the
/// source is open: with a short lock_timeout it gives up, because the source holds a lock, and
/// the source still reads the snapshot's 10 rows; without one it waits, the source's read of
/// the table fails naming it (never a short table), and the DDL goes ahead once the source is
/// dropped.
fn assert_a_concurrent_rewrite_never_shortens_the_table(ddl: &str) {
    let c = cluster();
    let db = c.create_database("pg_source_rewrite");
    c.psql(&db, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g; CREATE TABLE u (id int);");
    let src = PostgresSource::open(&format!("{}?options=-c%20lock_timeout%3D1s", c.url(&db))).unwrap();

    let mut other = other_session(c, &db);
    other.batch_execute("SET lock_timeout = '300ms'").unwrap();
    assert!(other.batch_execute(ddl).is_err(), "{ddl} did not wait for the source's lock");
    let rows: usize = read_all(&src, "public.t", 3).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 10, "after {ddl}");

    std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            let mut other = other_session(c, &db);
            other.batch_execute(ddl)
        });
        wait_for_a_lock_waiter(c, &db, "t");
        let e = src.read("public.t", 3).and_then(|stream| stream.collect::<Result<Vec<_>, _>>()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("public.t") && msg.contains("lock_timeout"), "{msg}");
        // Other tables are still read.
        assert!(read_all(&src, "public.u", 3).is_empty());
        drop(src);
        waiting.join().unwrap().unwrap_or_else(|e| panic!("{ddl} after the source ended: {e}"));
    });
}

#[test]
fn a_truncate_during_the_run_never_yields_a_short_table() {
    assert_a_concurrent_rewrite_never_shortens_the_table("TRUNCATE t");
}

#[test]
fn a_table_rewrite_during_the_run_never_yields_a_short_table() {
    assert_a_concurrent_rewrite_never_shortens_the_table("ALTER TABLE t ALTER COLUMN id TYPE bigint");
}

#[test]
fn a_table_another_session_holds_locked_fails_the_run_naming_it() {
    let c = cluster();
    let db = c.create_database("pg_source_locked");
    c.psql(&db, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g;");
    let mut other = other_session(c, &db);
    other.batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "version = 1\n\n[tables.\"public.t\"]\nkeep = [\"id\"]\n").unwrap();
    let out = dir.path().join("out");
    let from = format!("{}?options=-c%20lock_timeout%3D1s", c.url(&db));
    let run = common::doppel_run(&rules, &from, out.to_str().unwrap(), &[]);
    let err = common::stderr(&run);
    assert_eq!(run.status.code(), Some(4), "{err}");
    assert!(err.contains("table public.t: cannot lock it for reading") && err.contains("lock_timeout (1s)"), "{err}");
    assert!(!out.exists(), "nothing is published");
    other.batch_execute("ROLLBACK").unwrap();
}

#[test]
fn a_truncate_during_a_run_leaves_the_snapshots_rows_in_the_output() {
    let c = cluster();
    let db = c.create_database("pg_source_run_truncate");
    // `a_big` is read first (one table at a time, in name order) and slowly (small batches);
    // `t` is truncated meanwhile, after the snapshot was taken and before it is read.
    c.psql(
        &db,
        "CREATE TABLE a_big AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 300000) g; \
         CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "version = 1\n\n[tables.\"public.a_big\"]\nkeep = [\"id\", \"s\"]\n\n[tables.\"public.t\"]\nkeep = [\"id\"]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let from = format!("{}?application_name=doppel_run_truncate", c.url(&db));
    let slow = ["--jobs", "1", "--batch-rows", "100"];
    let mut run =
        common::doppel_command(&common::run_args(&rules, &from, out.to_str().unwrap(), &slow), Some(common::TEST_KEY))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let started = Instant::now();
    // The reader's last query stays visible once the server has sent everything.
    let copying = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'doppel_run_truncate' \
                   AND query LIKE 'COPY%a_big%'";
    while c.scalar("postgres", copying) == "0" {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started reading");
        assert!(run.try_wait().unwrap().is_none(), "the run ended before it read a_big");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut other = other_session(c, &db);
    other.batch_execute("SET lock_timeout = '300ms'").unwrap();
    let truncated = other.batch_execute("TRUNCATE t").is_ok();
    let status = run.wait().unwrap();
    assert!(status.success(), "the run failed");
    assert_eq!(common::concat(&common::read_table(&out, "public.t")).num_rows(), 10, "the snapshot's rows");
    assert!(!truncated, "the TRUNCATE did not wait for the run");
}

#[test]
fn a_truncate_of_a_table_doppel_cannot_lock_fails_the_read_instead_of_shortening_it() {
    let c = cluster();
    let db = c.create_database("pg_source_column_grant");
    // The role may read every column, but holds no table-level SELECT: LOCK TABLE is refused
    // to it, so the source cannot keep a TRUNCATE out and must notice it.
    let role = format!("reader_{db}");
    c.psql(
        &db,
        &format!(
            "CREATE TABLE t AS SELECT g AS id, g::text AS s FROM generate_series(1, 10) g; \
             CREATE ROLE \"{role}\" LOGIN; GRANT SELECT (id, s) ON t TO \"{role}\";"
        ),
    );
    let url = c.url(&db).replace("postgres://postgres@", &format!("postgres://{role}@"));
    let src = PostgresSource::open(&url).unwrap();
    let rows: usize = read_all(&src, "public.t", 3).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 10, "readable without the lock");

    other_session(c, &db).batch_execute("TRUNCATE t").unwrap();
    let e = src.read("public.t", 3).and_then(|stream| stream.collect::<Result<Vec<_>, _>>()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("public.t") && msg.contains("emptied or rewrote the table"), "{msg}");
    drop(src);
    c.psql(&db, &format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\";"));
}
