//! The corpus's datasets as pg_dump files: each dataset (the corpus's own hostile.sql
//! included) is dumped in pg_dump's four formats, and the rules scan writes for it are run from
//! the live database and from each dump. The SQL dump target must give the same file (comment
//! lines aside), the database target the same rows and schema; the stream filter (`--from -
//! --to -`) of the plain dump, restored with psql, the same rows too.

use std::path::Path;
use std::process::Stdio;

use super::{OWN, scanned};
use crate::common::pg::cluster;
use crate::common::*;
use crate::dump_source::{database_rows, dumps, first_difference, ok, without_comments};

/// `name`'s dataset through the live database and through its dumps (see the module docs).
fn dumps_give_the_live_outputs(name: &str) {
    let Some((source, from, dir, rules)) = scanned(name) else { return };
    let c = cluster();

    let live_sql = dir.path().join("live.sql");
    ok(&doppel_run(&rules, &from, live_sql.to_str().unwrap(), &[]), &format!("{name}: live run to a SQL dump"));
    let expected_sql = without_comments(&live_sql);
    let live_db = format!("{source}_live");
    ok(&doppel_run(&rules, &from, &c.url(&live_db), &[]), &format!("{name}: live run to a database"));
    let (schema, rows) = (schema_dump(&live_db), database_rows(&live_db));
    assert!(!rows.is_empty(), "{name}: no tables");

    let files = dumps(&source, dir.path());
    for (i, dump) in files.iter().enumerate() {
        let what = format!("{name} from {}", dump.file_name().unwrap().to_string_lossy());
        let sql = dir.path().join(format!("from-{i}.sql"));
        ok(&doppel_run(&rules, dump.to_str().unwrap(), sql.to_str().unwrap(), &[]), &what);
        let got = without_comments(&sql);
        assert!(got == expected_sql, "{what}: the SQL dump differs: {}", first_difference(&expected_sql, &got));
        let db = format!("{source}_dump{i}");
        ok(&doppel_run(&rules, dump.to_str().unwrap(), &c.url(&db), &[]), &what);
        assert_eq!(schema_dump(&db), schema, "{what}: the database's schema");
        assert!(database_rows(&db) == rows, "{what}: the database's rows differ from the live run's");
    }

    let filtered = c.create_database(&format!("{source}_filtered"));
    filter_into(&rules, &files[0], dir.path(), &filtered);
    assert!(database_rows(&filtered) == rows, "{name}: the stream filter's rows differ from the live run's");
}

/// `doppel run --from - --to - < plain`, the script restored into `db` with psql.
fn filter_into(rules: &Path, plain: &Path, dir: &Path, db: &str) {
    let args = run_args(rules, "-", "-", &[]);
    let mut cmd = doppel_command(&args, Some(TEST_KEY));
    let out = cmd.stdin(Stdio::from(std::fs::File::open(plain).unwrap())).output().unwrap();
    ok(&out, "the stream filter");
    let script = dir.join("filtered.sql");
    std::fs::write(&script, &out.stdout).unwrap();
    cluster().load_file(db, &script);
}

#[test]
fn hostile_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs(OWN);
}

#[test]
fn northwind_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs("northwind");
}

#[test]
fn clubdata_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs("clubdata");
}

#[test]
fn netflix_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs("netflix");
}

#[test]
fn periodic_table_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs("periodic_table");
}

#[test]
fn happiness_index_dumps_give_the_live_outputs() {
    dumps_give_the_live_outputs("happiness_index");
}
