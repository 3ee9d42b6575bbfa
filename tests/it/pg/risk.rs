//! `generalise` and the re-identification risk of the audit report, PostgreSQL → PostgreSQL:
//! generalised values equal what PostgreSQL computes from the source (`date_trunc`, `left`,
//! `floor`) in the source's own column types.

use crate::common;

use common::pg::cluster;
use common::{doppel_run, stderr};

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
               CASE WHEN i % 17 = 0 THEN NULL ELSE date '1940-01-01' + (i * 7919) % 25000 END,
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
