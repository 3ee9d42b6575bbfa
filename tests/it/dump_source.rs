//! Dump files as a source (`--from FILE_OR_DIR`, `--from -`): the project's fixtures dumped by
//! pg_dump in its four formats give the same outputs as the live database with the same rules
//! and key; `check` accepts the committed schema locks; hostile dumps are refused naming the
//! file, table and row, and publish nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::pg::cluster;
use common::*;

/// pg_dump's four formats, by the flag that makes them and a file name.
const FORMATS: [(&str, &str); 4] = [("p", "dump.sql"), ("c", "dump.custom"), ("d", "dump.dir"), ("t", "dump.tar")];

/// `pg_dump -F<format> -f <dir>/<name> <db>`; returns the path.
fn pg_dump(db: &str, format: &str, dir: &Path, name: &str) -> PathBuf {
    let c = cluster();
    let path = dir.join(name);
    let out = c
        .client("pg_dump")
        .arg(format!("-F{format}"))
        .arg("-f")
        .arg(&path)
        .arg("-d")
        .arg(c.url(db))
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump -F{format}: {}", String::from_utf8_lossy(&out.stderr));
    path
}

/// Every format of `db`'s dump in `dir`.
fn dumps(db: &str, dir: &Path) -> Vec<PathBuf> {
    FORMATS.iter().map(|(f, name)| pg_dump(db, f, dir, name)).collect()
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", stderr(out));
}

fn fixture_rules(name: &str) -> PathBuf {
    root().join(format!("tests/fixtures/pg/{name}.toml"))
}

/// The tables of a Parquet output directory, each as its batches concatenated.
fn parquet_tables(dir: &Path) -> Vec<(String, arrow_array::RecordBatch)> {
    visible_entries(dir)
        .into_iter()
        .filter_map(|f| f.strip_suffix(".parquet").map(str::to_string))
        .map(|t| {
            let batch = concat(&read_table(dir, &t));
            (t, batch)
        })
        .collect()
}

#[test]
fn every_dump_format_gives_the_live_sources_parquet_output() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        let rules = fixture_rules(fixture);
        let live = dir.path().join("live");
        ok(&doppel_run(&rules, &c.url(&db), live.to_str().unwrap(), &[]), "live run");
        let expected = parquet_tables(&live);
        assert!(!expected.is_empty());
        for dump in dumps(&db, dir.path()) {
            let out_dir = dir.path().join(format!("from-{}", dump.extension().unwrap().to_string_lossy()));
            ok(
                &doppel_run(&rules, dump.to_str().unwrap(), out_dir.to_str().unwrap(), &[]),
                &dump.display().to_string(),
            );
            let got = parquet_tables(&out_dir);
            assert_eq!(got.len(), expected.len(), "{}", dump.display());
            for ((t, a), (u, b)) in expected.iter().zip(&got) {
                assert_eq!(t, u);
                assert_eq!(a.schema(), b.schema(), "{fixture} {t} from {}", dump.display());
                assert_eq!(a, b, "{fixture} {t} from {}", dump.display());
            }
        }
    }
}

#[test]
fn check_accepts_the_committed_schema_locks_for_every_format() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        for dump in dumps(&db, dir.path()) {
            let rules = fixture_rules(fixture);
            let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", dump.to_str().unwrap()], None);
            ok(&out, &format!("check {fixture} from {}", dump.display()));
        }
    }
}

#[test]
fn a_plain_dump_on_stdin_gives_the_same_output_and_leaves_no_spool() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let rules = fixture_rules("club");
    let live = dir.path().join("live");
    ok(&doppel_run(&rules, &c.url(&db), live.to_str().unwrap(), &[]), "live run");
    let plain = pg_dump(&db, "p", dir.path(), "dump.sql");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out_dir = dir.path().join("stdin");
    let args = run_args(&rules, "-", out_dir.to_str().unwrap(), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = doppel_command(&args, Some(TEST_KEY));
    cmd.env("TMPDIR", &tmp).stdin(Stdio::from(std::fs::File::open(&plain).unwrap()));
    ok(&cmd.output().unwrap(), "run --from -");
    assert_eq!(parquet_tables(&live), parquet_tables(&out_dir));
    assert!(visible_entries(&tmp).is_empty(), "the spool is removed: {:?}", visible_entries(&tmp));
}
