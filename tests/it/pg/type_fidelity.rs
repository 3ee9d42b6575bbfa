//! Type fidelity end to end: one table holding every PostgreSQL type doppel carries, with the edge values of each (NULL next to the empty string, NaN, ±Infinity,
//! -0, a 1000-digit numeric, ±infinity dates and timestamps, BC dates, 24:00:00, time zones
//! with odd offsets, intervals mixing months, days and microseconds, bytea with NUL and high
//! bytes, duplicate JSON keys, arrays with NULLs and non-default lower bounds, arrays of
//! enums and of composites, tsvector positions and weights, text with escapes and a
//! character outside the BMP), taken through the `doppel` binary:
//!
//! - kept, PostgreSQL → PostgreSQL: `COPY … TO STDOUT` of source and target byte-identical,
//!   and the binary COPY of the columns whose binary form carries no type OID too (float
//!   bits, numeric digits, timestamps, …); money renders under `lc_monetary`, which both
//!   databases share since they live in the one test cluster (initdb `--locale=C`);
//! - kept, PostgreSQL → SQL dump restored with psql: the same;
//! - kept, PostgreSQL → Parquet → PostgreSQL (existing tables from a schema-only dump): the
//!   same;
//! - kept, PostgreSQL → Parquet: each column arrives as the Arrow type
//!   `src/source/postgres/types.rs` chooses, with the PostgreSQL type in `pg.type`, and the
//!   values read back by the crate's Parquet reader equal PostgreSQL's own renderings;
//! - transformed, PostgreSQL → PostgreSQL: one column of each transformable type gets a rule
//!   (hash, mask, fake, noise, null, constant); the target accepts every value, transformed
//!   columns differ, kept ones are byte-identical.

use crate::common;

use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float32Type, Float64Type, Time64MicrosecondType, TimestampMicrosecondType};
use arrow_schema::{DataType, TimeUnit};
use common::pg::{Cluster, cluster};
use common::*;

/// The fixture: one table, five rows (ordinary values, edge values, all NULL, empty values,
/// the other edge values).
const FIXTURE: &str = r#"
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'très "content"');
CREATE DOMAIN code AS text CHECK (VALUE ~ '^[A-Z]{2}-[0-9]+$');
CREATE TYPE point3 AS (x float8, y numeric, label text);

CREATE TABLE every_type (
  id int PRIMARY KEY,
  i2 int2, i4 int4, i8 int8,
  f4 float4, f8 float8,
  n numeric, n_p numeric(12,2), n_wide numeric(50,10),
  t text, vc varchar(20), ch char(6), ci citext,
  b bool,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid,
  js json, jsb jsonb, x xml,
  by bytea,
  ip inet, net cidr, mac macaddr,
  m money,
  mo mood, cd code, pt point3,
  r4 int4range, rts tsrange, rn numrange,
  a1 int[], a2 text[], a0 int[], am mood[], ap point3[],
  tv tsvector
);

INSERT INTO every_type VALUES
(1, 1, 2, 3, 1.5, 0.1, 123.456, 12.34, 1.5, 'plain', 'varchar', 'ab', 'MiXeD', true,
 '2024-02-29', '12:34:56.789012', '12:34:56+02', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+05:30',
 '1 year 2 mons 3 days 04:05:06.789012',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '{"a": 1, "b": [true, null], "u": "x"}', '{"a": 1, "b": [true, null]}', '<a x="1">text &amp; more</a>',
 '\x0102', '192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03', 1234.56,
 'happy', 'AB-12', ROW(1.5, 2.25, 'one'),
 '[1,10)', '[2024-01-01 00:00,2024-12-31 23:59:59.5)', '(0.5,1.5]',
 '{1,2,3}', '{{a,b},{c,d}}', '[0:1]={1,2}', '{sad,happy}', ARRAY[ROW(1, 2, 'a')::point3, ROW(3, 4, 'b c')::point3],
 'a fat cat sat on a mat'),
(2, -32768, -2147483648, 9223372036854775807, 'NaN', '-0', repeat('9', 1000)::numeric, -0.01, 'NaN',
 E'back\\slash\ttab\nnewline\rcr \\N 😀 \u00e9', E'tab\there', 'é😀', 'ÄÖÜ 😀', false,
 '4714-11-24 BC', '24:00:00', '23:59:59.999999-15:59', '-infinity', 'infinity',
 '-1 year +2 mons -3 days +00:00:00.000001',
 '00000000-0000-0000-0000-000000000000',
 E'{"a": 1, "a": 2, "u": "\\u00e9\\ud83d\\ude00", "s": "tab\\tquote\\"" }\n',
 E'{"a": 1, "a": 2, "u": "\\u00e9\\ud83d\\ude00", "s": "tab\\tquote\\"" }',
 '<!-- c --><b>é 😀</b>tail', '\x005c0a09ff80', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
 '-92233720368547758.08',
 'très "content"', 'ZZ-0', ROW('NaN', 'Infinity', E'q"uote,\\ (paren)'),
 'empty', '(,2024-01-01 00:00:00]', '[-Infinity,)',
 '{1,NULL,3}', '[0:1][1:2]={{a,NULL},{"d e","{x}"}}', '[-2:-1]={NULL,7}', '{NULL,"très \"content\"",ok}',
 ARRAY[ROW(NULL, NULL, NULL)::point3, ROW('-Infinity', 'NaN', '')::point3, NULL],
 $$'a b':1A 'it''s':2B,4C cat:5D rat \\back:3$$),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL),
(4, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', false,
 '1970-01-01', '00:00:00', '00:00:00+00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '0',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '""', '{}', '', '', '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', 0,
 'sad', 'XY-9', ROW(NULL, NULL, ''), 'empty', 'empty', 'empty', '{}', '{}', '{}', '{}', '{}', ''),
(5, 32767, 2147483647, -9223372036854775808, '-Infinity', 'Infinity', '-Infinity', 9999999999.99, '-0.0000000001',
 '\N', repeat('x', 20), 'abcdef', '', true,
 'infinity', '00:00:00.000001', '00:00:00+15:59', 'infinity', '-infinity',
 '178000000 years 11 mons 30 days 2562047788:00:54.775807',
 '123e4567-e89b-12d3-a456-426614174000', 'null', '[1.0, 1e400, -0]', '<?xml version="1.0"?><r/>',
 '\xdeadbeef', '2001:db8::1/128', '192.168.0.0/16', '01:23:45:67:89:ab', '92233720368547758.07',
 'ok', 'QQ-123456789', ROW('-0', '-0.000', 'x'),
 '(,)', '[-infinity,infinity]', '[0,0]',
 '[1:1]={42}', '{{"\\\\","\""}}', '[0:1]={1,2}', '[5:5]={ok}', '[0:0]={"(7,8,\"x\")"}',
 $$'\\\\' 'x y':1,2,3$$),
(6, 1, 1, 1, 1e-45, 5e-324, 1e-100, 0.5, 12345678901234567890123456789012345678.9012345678,
 '\\N', 'x', ' a ', ' b ', NULL,
 '5874897-12-31', '23:59:59.999999', '12:00:00-00:00:36', '0001-01-01 00:00:00 BC', '200000-01-01 00:00:00+00',
 '-178000000 years', NULL, '[]', '[]', NULL, '\x', NULL, NULL, NULL, -0.01,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

/// Every column of the fixture, in table order.
const COLUMNS: &[&str] = &[
    "id", "i2", "i4", "i8", "f4", "f8", "n", "n_p", "n_wide", "t", "vc", "ch", "ci", "b", "d", "tm", "ttz", "ts",
    "tstz", "iv", "u", "js", "jsb", "x", "by", "ip", "net", "mac", "m", "mo", "cd", "pt", "r4", "rts", "rn", "a1",
    "a2", "a0", "am", "ap", "tv",
];

/// Columns whose binary COPY form holds no type OID (arrays, composites and enums embed the
/// OIDs of their element types, which differ between two databases).
const BINARY_COMPARABLE: &[&str] = &[
    "id", "i2", "i4", "i8", "f4", "f8", "n", "n_p", "n_wide", "t", "vc", "ch", "ci", "b", "d", "tm", "ttz", "ts",
    "tstz", "iv", "u", "js", "jsb", "x", "by", "ip", "net", "mac", "m", "cd", "r4", "rts", "rn", "tv",
];

/// The cluster, a new database holding the fixture, and a scratch directory.
fn fixture() -> (&'static Cluster, String, tempfile::TempDir) {
    let c = cluster();
    let db = c.create_database("fidelity");
    c.psql(&db, FIXTURE);
    (c, db, tempfile::tempdir().unwrap())
}

/// Rules file keeping every column, plus `columns` (TOML lines of column rules) in place of
/// the columns they name.
fn rules(dir: &Path, columns: &[(&str, &str)]) -> std::path::PathBuf {
    let keep: Vec<String> =
        COLUMNS.iter().filter(|c| !columns.iter().any(|(n, _)| n == *c)).map(|c| format!("\"{c}\"")).collect();
    let mut text = format!("version = 1\n\n[tables.\"public.every_type\"]\nkeep = [{}]\n", keep.join(", "));
    if !columns.is_empty() {
        text.push_str("\n[tables.\"public.every_type\".columns]\n");
        for (name, rule) in columns {
            text.push_str(&format!("{name} = {rule}\n"));
        }
    }
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `doppel run` from `from` to `to`; panics with stderr on failure.
fn run(rules: &Path, from: &str, to: &str) {
    let out = doppel_run(rules, from, to, &[]);
    assert!(out.status.success(), "doppel run failed ({}):\n{}", out.status, stderr(&out));
}

/// The raw bytes psql writes for `COPY (SELECT columns FROM every_type ORDER BY id) TO STDOUT`
/// with `options`.
fn copy_out(db: &str, columns: &[&str], options: &str) -> Vec<u8> {
    let c = cluster();
    let sql = format!("COPY (SELECT {} FROM every_type ORDER BY id) TO STDOUT {options}", columns.join(", "));
    let out =
        c.client("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &c.url(db), "-c", &sql]).output().unwrap();
    assert!(out.status.success(), "psql on {db}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Asserts `columns` are equal in both databases, in text and (for the comparable ones) in
/// binary COPY; names the first differing column.
fn assert_same(source_db: &str, target_db: &str, columns: &[&str]) {
    for column in columns {
        let (src, dst) = (copy_out(source_db, &[column], ""), copy_out(target_db, &[column], ""));
        assert!(
            src == dst,
            "column {column} differs:\nsource: {}\ntarget: {}",
            String::from_utf8_lossy(&src),
            String::from_utf8_lossy(&dst)
        );
        if BINARY_COMPARABLE.contains(column) {
            let binary = "(FORMAT binary)";
            assert!(
                copy_out(source_db, &[column], binary) == copy_out(target_db, &[column], binary),
                "column {column}: binary COPY differs"
            );
        }
    }
}

#[test]
fn every_type_kept_arrives_byte_for_byte_in_a_new_database() {
    let (c, source_db, dir) = fixture();
    let target_db = format!("{source_db}_kept");
    run(&rules(dir.path(), &[]), &c.url(&source_db), &c.url(&target_db));
    // The whole table at once, then column by column (to name a difference).
    let all = copy_out(&source_db, &["*"], "");
    assert_eq!(String::from_utf8_lossy(&all).lines().count(), 6);
    if all != copy_out(&target_db, &["*"], "") {
        assert_same(&source_db, &target_db, COLUMNS);
        panic!("the tables differ (row order?) although every column is equal on its own");
    }
    assert_same(&source_db, &target_db, BINARY_COMPARABLE);
    // The server renders floats shortest-exact by default (extra_float_digits = 1), so the
    // text comparison already tells floats apart; the binary one checks the bits, -0 included.
    assert_eq!(c.scalar(&source_db, "SHOW extra_float_digits"), "1");
    assert_eq!(c.scalar(&target_db, "SELECT f8::text FROM every_type WHERE id = 2"), "-0");
}

#[test]
fn every_type_kept_restores_byte_for_byte_from_a_sql_dump() {
    let (c, source_db, dir) = fixture();
    let dump = dir.path().join("every_type.sql");
    run(&rules(dir.path(), &[]), &c.url(&source_db), dump.to_str().unwrap());
    let restored = c.create_database("fidelity_restored");
    c.load_file(&restored, &dump);
    assert_eq!(copy_out(&source_db, &["*"], ""), copy_out(&restored, &["*"], ""), "restored rows differ");
    assert_same(&source_db, &restored, BINARY_COMPARABLE);
}

#[test]
fn every_type_kept_comes_back_from_parquet_into_existing_tables() {
    let (c, source_db, dir) = fixture();
    let out_dir = dir.path().join("out");
    let rules = rules(dir.path(), &[]);
    run(&rules, &c.url(&source_db), out_dir.to_str().unwrap());
    let schema = dir.path().join("schema.sql");
    let out = c.client("pg_dump").args(["--schema-only", "-f"]).arg(&schema).arg(c.url(&source_db)).output().unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let target_db = c.create_database("fidelity_from_parquet");
    c.load_file(&target_db, &schema);
    run(&rules, out_dir.to_str().unwrap(), &c.url(&target_db));
    assert_same(&source_db, &target_db, COLUMNS);
}

/// The Arrow type `src/source/postgres/types.rs` gives each fixture column, and its `pg.type`.
fn expected_types() -> Vec<(&'static str, DataType, &'static str)> {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    vec![
        ("id", DataType::Int32, "integer"),
        ("i2", DataType::Int16, "smallint"),
        ("i4", DataType::Int32, "integer"),
        ("i8", DataType::Int64, "bigint"),
        ("f4", DataType::Float32, "real"),
        ("f8", DataType::Float64, "double precision"),
        ("n", DataType::Utf8, "numeric"),
        ("n_p", DataType::Decimal128(12, 2), "numeric(12,2)"),
        ("n_wide", DataType::Utf8, "numeric(50,10)"),
        ("t", DataType::Utf8, "text"),
        ("vc", DataType::Utf8, "character varying(20)"),
        ("ch", DataType::Utf8, "character(6)"),
        ("ci", DataType::Utf8, "citext"),
        ("b", DataType::Boolean, "boolean"),
        ("d", DataType::Date32, "date"),
        ("tm", DataType::Time64(TimeUnit::Microsecond), "time without time zone"),
        ("ttz", DataType::Utf8, "time with time zone"),
        ("ts", DataType::Timestamp(TimeUnit::Microsecond, None), "timestamp without time zone"),
        ("tstz", utc, "timestamp with time zone"),
        ("iv", DataType::Utf8, "interval"),
        ("u", DataType::FixedSizeBinary(16), "uuid"),
        ("js", DataType::Utf8, "json"),
        ("jsb", DataType::Utf8, "jsonb"),
        ("x", DataType::Utf8, "xml"),
        ("by", DataType::Binary, "bytea"),
        ("ip", DataType::Utf8, "inet"),
        ("net", DataType::Utf8, "cidr"),
        ("mac", DataType::Utf8, "macaddr"),
        ("m", DataType::Utf8, "money"),
        ("mo", DataType::Utf8, "mood"),
        ("cd", DataType::Utf8, "code"),
        ("pt", DataType::Utf8, "point3"),
        ("r4", DataType::Utf8, "int4range"),
        ("rts", DataType::Utf8, "tsrange"),
        ("rn", DataType::Utf8, "numrange"),
        ("a1", DataType::Utf8, "integer[]"),
        ("a2", DataType::Utf8, "text[]"),
        ("a0", DataType::Utf8, "integer[]"),
        ("am", DataType::Utf8, "mood[]"),
        ("ap", DataType::Utf8, "point3[]"),
        ("tv", DataType::Utf8, "tsvector"),
    ]
}

#[test]
fn every_type_kept_reaches_parquet_as_its_arrow_type_with_its_postgres_type() {
    let (c, source_db, dir) = fixture();
    let out_dir = dir.path().join("out");
    run(&rules(dir.path(), &[]), &c.url(&source_db), out_dir.to_str().unwrap());
    let batch = concat(&read_table(&out_dir, "public.every_type"));
    assert_eq!(batch.num_rows(), 6);
    let schema = batch.schema();
    let expected = expected_types();
    assert_eq!(expected.len(), COLUMNS.len());
    for (i, (name, data_type, pg_type)) in expected.iter().enumerate() {
        let field = schema.field(i);
        assert_eq!(field.name(), name);
        assert_eq!(field.data_type(), data_type, "Arrow type of {name}");
        assert_eq!(field.metadata().get("pg.type").map(String::as_str), Some(*pg_type), "pg.type of {name}");
    }
    // Text columns hold PostgreSQL's own rendering, exactly (NULL and '' told apart).
    let session = "SET intervalstyle = 'postgres'; SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3; \
                   SET timezone = 'UTC'; SET bytea_output = 'hex';";
    for (i, (name, data_type, _)) in expected.iter().enumerate() {
        if *data_type != DataType::Utf8 {
            continue;
        }
        let sql = format!(
            "{session} SELECT CASE WHEN {name} IS NULL THEN 'NULL' ELSE 'v:' || \
             replace(replace(format('%s', {name}), E'\\\\', E'\\\\\\\\'), E'\\n', E'\\\\n') END FROM every_type ORDER BY id"
        );
        let rendered: Vec<String> = c.psql(&source_db, &sql).lines().map(str::to_string).collect();
        let column = batch.column(i).as_string::<i32>();
        let ours: Vec<String> = (0..column.len())
            .map(|r| {
                if column.is_null(r) {
                    "NULL".to_string()
                } else {
                    format!("v:{}", column.value(r).replace('\\', "\\\\").replace('\n', "\\n"))
                }
            })
            .collect();
        assert_eq!(ours, rendered, "values of {name}");
    }
    // Float bits, -0 and NaN included.
    let f8 = batch.column(5).as_primitive::<Float64Type>();
    assert_eq!(f8.value(1).to_bits(), (-0.0f64).to_bits());
    assert_eq!(f8.value(5).to_bits(), f64::from_bits(1).to_bits());
    assert_eq!(f8.value(4), f64::INFINITY);
    assert!(batch.column(4).as_primitive::<Float32Type>().value(1).is_nan());
    // ±infinity dates and timestamps: PostgreSQL's own encoding, the extreme values.
    let d = batch.column(14).as_primitive::<Date32Type>();
    assert_eq!((d.value(1), d.value(4)), (-2_440_588, i32::MAX));
    let ts = batch.column(17).as_primitive::<TimestampMicrosecondType>();
    assert_eq!((ts.value(1), ts.value(4)), (i64::MIN, i64::MAX));
    // time: microseconds since midnight, 24:00:00 as a whole day (as PostgreSQL stores it).
    let tm = batch.column(15).as_primitive::<Time64MicrosecondType>();
    assert_eq!((tm.value(0), tm.value(1), tm.value(4)), (45_296_789_012, 86_400_000_000, 1));
    // An independent reader agrees on the types.
    if let Some(python) = python() {
        let script = "import sys, pyarrow.parquet as pq\n\
                      s = pq.read_schema(sys.argv[1])\n\
                      print('\\n'.join(f'{f.name} {f.type} {f.metadata[b\"pg.type\"].decode()}' for f in s))";
        let out = std::process::Command::new(python)
            .args(["-c", script])
            .arg(out_dir.join("public.every_type.parquet"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pyarrow_types = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = pyarrow_types.lines().collect();
        let pyarrow_name = |t: &DataType| match t {
            DataType::Int16 => "int16".to_string(),
            DataType::Int32 => "int32".to_string(),
            DataType::Int64 => "int64".to_string(),
            DataType::Float32 => "float".to_string(),
            DataType::Float64 => "double".to_string(),
            DataType::Decimal128(p, s) => format!("decimal128({p}, {s})"),
            DataType::Utf8 => "string".to_string(),
            DataType::Boolean => "bool".to_string(),
            DataType::Date32 => "date32[day]".to_string(),
            DataType::Timestamp(_, None) => "timestamp[us]".to_string(),
            DataType::Timestamp(_, Some(_)) => "timestamp[us, tz=UTC]".to_string(),
            DataType::FixedSizeBinary(16) => "extension<arrow.uuid>".to_string(),
            DataType::Binary => "binary".to_string(),
            DataType::Time64(_) => "time64[us]".to_string(),
            other => panic!("no pyarrow name for {other}"),
        };
        for (line, (name, data_type, pg_type)) in lines.iter().zip(&expected) {
            let wanted = format!("{name} {} {pg_type}", pyarrow_name(data_type));
            assert_eq!(*line, wanted);
        }
        assert_eq!(lines.len(), expected.len());
    }
}

/// One rule per transformable type (the other columns are kept), and the ids of the rows
/// whose non-NULL value must come out unchanged (NaN and ±Infinity pass through noise, ±infinity
/// dates and timestamps too, JSON documents without the path are not touched); every other
/// non-NULL value must change.
const TRANSFORMS: &[(&str, &str, &[i32])] = &[
    ("i2", r#"{ action = "noise", absolute = 5 }"#, &[]),
    ("i4", r#"{ action = "hash" }"#, &[]),
    ("i8", r#"{ action = "noise", absolute = 1000 }"#, &[]),
    ("f4", r#"{ action = "noise", absolute = 1 }"#, &[2, 5]),
    ("f8", r#"{ action = "noise", absolute = 0.5 }"#, &[5]),
    ("n_p", r#"{ action = "noise", absolute = 3 }"#, &[]),
    ("t", r#"{ action = "hash", format = "hex", length = 16 }"#, &[]),
    ("vc", r#"{ action = "fake", generator = "first_name" }"#, &[]),
    ("ch", r#"{ action = "mask", keep_first = 1 }"#, &[]),
    ("ci", r#"{ action = "fake", generator = "word" }"#, &[]),
    ("d", r#"{ action = "noise", duration = "30d" }"#, &[5]),
    ("tm", r#"{ action = "constant", value = "08:30:00" }"#, &[]),
    ("tstz", r#"{ action = "noise", duration = "12h" }"#, &[2, 5]),
    ("u", r#"{ action = "hash" }"#, &[]),
    ("js", r#"{ action = "json", paths = { "u" = { action = "mask" } } }"#, &[4, 5, 6]),
    ("by", r#"{ action = "null" }"#, &[]),
    ("mo", r#"{ action = "null" }"#, &[]),
    ("cd", r#"{ action = "constant", value = "NO-1" }"#, &[]),
    ("pt", r#"{ action = "null" }"#, &[]),
    ("a1", r#"{ action = "null" }"#, &[]),
    ("ap", r#"{ action = "null" }"#, &[]),
];

#[test]
fn every_type_transformed_loads_with_changed_and_kept_columns() {
    let (c, source_db, dir) = fixture();
    let target_db = format!("{source_db}_anon");
    let rule_lines: Vec<(&str, &str)> = TRANSFORMS.iter().map(|(column, rule, _)| (*column, *rule)).collect();
    run(&rules(dir.path(), &rule_lines), &c.url(&source_db), &c.url(&target_db));
    let kept: Vec<&str> = COLUMNS.iter().copied().filter(|c| !rule_lines.iter().any(|(n, _)| n == c)).collect();
    assert_same(&source_db, &target_db, &kept);
    let ids = String::from_utf8(copy_out(&source_db, &["id"], "")).unwrap();
    for (column, rule, same) in TRANSFORMS {
        let src = String::from_utf8(copy_out(&source_db, &[column], "")).unwrap();
        let dst = String::from_utf8(copy_out(&target_db, &[column], "")).unwrap();
        if rule.contains("\"null\"") {
            assert!(dst.lines().all(|l| l == "\\N"), "{column} is not NULL everywhere");
            continue;
        }
        if rule.contains("constant") {
            let value = rule.split('"').nth(3).unwrap();
            assert!(dst.lines().all(|l| l == value), "{column} is not the constant everywhere");
            continue;
        }
        for ((id, s), d) in ids.lines().zip(src.lines()).zip(dst.lines()) {
            let id: i32 = id.parse().unwrap();
            if s == "\\N" || d == "\\N" {
                assert_eq!(s, d, "{column}, id {id}: NULL must stay NULL and only NULL");
            } else if same.contains(&id) {
                assert_eq!(s, d, "{column}, id {id}: the value should pass through");
            } else {
                assert_ne!(s, d, "{column}, id {id}: the value did not change");
            }
        }
    }
    assert_eq!(c.scalar(&target_db, "SELECT count(*) FROM every_type"), "6");
}

/// The columns whose every type has a binary COPY form in doppel's target
/// (`src/sink/postgres/copy_binary.rs`).
const BINARY_LOADED: &[&str] =
    &["id", "i2", "i4", "i8", "f4", "f8", "n_p", "t", "vc", "ch", "b", "d", "tm", "ts", "tstz", "u", "js", "jsb", "by"];

#[test]
fn a_table_of_binary_capable_types_is_loaded_with_binary_copy_byte_for_byte() {
    let (c, source_db, dir) = fixture();
    let dropped: Vec<String> =
        COLUMNS.iter().filter(|col| !BINARY_LOADED.contains(col)).map(|col| format!("DROP COLUMN {col}")).collect();
    c.psql(&source_db, &format!("ALTER TABLE every_type {}", dropped.join(", ")));
    let keep: Vec<String> = BINARY_LOADED.iter().map(|col| format!("\"{col}\"")).collect();
    let rules = dir.path().join("binary.toml");
    std::fs::write(&rules, format!("version = 1\n[tables.\"public.every_type\"]\nkeep = [{}]\n", keep.join(", ")))
        .unwrap();
    let target_db = format!("{source_db}_binary");
    let (from, to) = (c.url(&source_db), c.url(&target_db));
    let mut args = common::run_args(&rules, &from, &to, &[]);
    args.retain(|a| a != "--quiet");
    let mut cmd = common::doppel_command(&args, Some(TEST_KEY));
    cmd.env("DOPPEL_LOG", "debug");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("binary=true"), "the table was not loaded in binary: {}", stderr(&out));
    assert_eq!(copy_out(&source_db, &["*"], ""), copy_out(&target_db, &["*"], ""));
    assert_same(&source_db, &target_db, BINARY_LOADED);
}
