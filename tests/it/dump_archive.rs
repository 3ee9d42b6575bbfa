//! The custom-format archive target (`--to FILE --format custom`): from a live source and
//! from a dump file, `pg_restore --jobs 2` loads the same schema, rows and sequence values as
//! psql loads from the plain SQL dump of the same run, and two runs give the same bytes.

use crate::common;
use crate::dump_source::{database_rows, ok, pg_dump};

use std::path::Path;

use common::pg::cluster;
use common::*;

/// `pg_restore --jobs 2 --exit-on-error -d <new database> archive`; returns the database.
fn restore(archive: &Path) -> String {
    let c = cluster();
    let db = c.create_database("archive_restored");
    let out = c
        .client("pg_restore")
        .args(["--jobs", "2", "--exit-on-error", "-d"])
        .arg(c.url(&db))
        .arg(archive)
        .output()
        .unwrap();
    ok(&out, "pg_restore --jobs 2");
    db
}

#[test]
fn pg_restore_jobs_loads_the_archive_as_psql_loads_the_plain_dump() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        let rules = root().join(format!("tests/fixtures/pg/{fixture}.toml"));
        let plain_dump = pg_dump(&db, "p", dir.path(), "source.sql");
        for (from, what) in [(c.url(&db), "live"), (plain_dump.display().to_string(), "dump")] {
            let sql = dir.path().join(format!("{what}.sql"));
            ok(&doppel_run(&rules, &from, sql.to_str().unwrap(), &[]), "--to FILE.sql");
            let plain = c.create_database("archive_plain");
            c.load_file(&plain, &sql);
            let archive = dir.path().join(format!("{what}.dump"));
            ok(&doppel_run(&rules, &from, archive.to_str().unwrap(), &["--format", "custom"]), "--format custom");
            let listed = c.client("pg_restore").arg("-l").arg(&archive).output().unwrap();
            ok(&listed, "pg_restore -l");
            let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
            if fixture == "club" {
                // Each table's data and each post-data statement on its own, for --jobs.
                for entry in ["TABLE DATA cd members", "TABLE DATA cd bookings", "CONSTRAINT", "INDEX", "FK CONSTRAINT"]
                {
                    assert!(listed.contains(&format!(" {entry} ")), "{entry} not listed:\n{listed}");
                }
            }
            let restored = restore(&archive);
            assert_eq!(schema_dump(&restored), schema_dump(&plain), "{fixture} from {what}: schema");
            assert!(database_rows(&restored) == database_rows(&plain), "{fixture} from {what}: rows");
            assert_eq!(sequences(&restored), sequences(&plain), "{fixture} from {what}: sequences");
            let again = dir.path().join(format!("{what}-again.dump"));
            ok(&doppel_run(&rules, &from, again.to_str().unwrap(), &["--format", "custom"]), "second run");
            assert!(
                std::fs::read(&archive).unwrap() == std::fs::read(&again).unwrap(),
                "{fixture} from {what}: same bytes"
            );
        }
    }
}

#[test]
fn a_custom_archive_is_not_written_to_stdout_or_a_database() {
    let c = cluster();
    let rules = root().join("tests/fixtures/pg/club.toml");
    for to in ["-".to_string(), c.url("x")] {
        let out = doppel_run(&rules, &c.url(&c.club()), &to, &["--format", "custom"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("--format custom writes a file"), "{}", stderr(&out));
    }
}

/// Seconds `f` takes.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = std::time::Instant::now();
    let value = f();
    (value, started.elapsed().as_secs_f64())
}

/// A measurement, not a check of speed (run it by name with `--ignored --nocapture`): the
/// benchmark fixture (200,000 customers, 600,000 orders) to a plain SQL dump and to a custom
/// archive, and the times of psql, `pg_restore --jobs 1` and `--jobs 2` loading them; the
/// loaded rows must be equal.
#[test]
#[ignore = "a measurement: run by name"]
fn measure_the_archive_against_the_plain_dump() {
    let c = cluster();
    let db = c.bench("archive_measure", 200_000, 600_000, "1");
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("rules/bench.toml");
    let (sql, archive) = (dir.path().join("bench.sql"), dir.path().join("bench.dump"));
    let (_, plain_write) = timed(|| ok(&doppel_run(&rules, &c.url(&db), sql.to_str().unwrap(), &[]), "plain"));
    let (_, custom_write) =
        timed(|| ok(&doppel_run(&rules, &c.url(&db), archive.to_str().unwrap(), &["--format", "custom"]), "custom"));
    let plain = c.create_database("archive_measure_plain");
    let (_, psql) = timed(|| c.load_file(&plain, &sql));
    let mut restores = Vec::new();
    for jobs in ["1", "2"] {
        let target = c.create_database("archive_measure_restored");
        let (out, seconds) = timed(|| {
            c.client("pg_restore")
                .args(["--jobs", jobs, "--exit-on-error", "-d"])
                .arg(c.url(&target))
                .arg(&archive)
                .output()
                .unwrap()
        });
        ok(&out, "pg_restore");
        assert!(database_rows(&target) == database_rows(&plain), "pg_restore --jobs {jobs}: rows");
        restores.push(seconds);
    }
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() / 1024;
    println!(
        "write: plain {plain_write:.2} s ({} KiB), custom {custom_write:.2} s ({} KiB); load: psql {psql:.2} s, \
         pg_restore --jobs 1 {:.2} s, --jobs 2 {:.2} s",
        size(&sql),
        size(&archive),
        restores[0],
        restores[1]
    );
}
