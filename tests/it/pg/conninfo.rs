//! libpq's other connection forms for `--from` and `--to`, against the throwaway server:
//! `key=value` strings (source and new target database, so pg_dump and psql get the same
//! connection), and connection services from `PGSERVICEFILE` with libpq's precedence: explicit
//! keys, then the service, then the PG* environment. A service no file defines is an error
//! naming the service and the files searched, never a password.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::pg::{Cluster, cluster};
use common::{TEST_KEY, doppel_command, root, run_args, stderr};

fn club_rules() -> PathBuf {
    root().join("tests/fixtures/pg/club.toml")
}

/// `host=… port=… user=postgres dbname='db'`.
fn conninfo(c: &Cluster, db: &str) -> String {
    format!("host={} port={} user=postgres dbname='{db}'", c.host, c.port)
}

/// `doppel check` of the club rules against `from`, with `env` set and every other PG*
/// variable of the test's own environment removed.
fn check(from: &str, env: &[(&str, &str)]) -> Output {
    let rules = club_rules();
    let args = ["check", "--rules", rules.to_str().unwrap(), "--from", from];
    let mut cmd = doppel_command(&args, None);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied()).env("HOME", "/nonexistent");
    cmd.output().expect("run doppel")
}

#[test]
fn key_value_strings_name_the_source_and_a_new_target_database() {
    let c = cluster();
    let source = c.club();
    let target = c.create_database("conninfo_target");
    c.psql("postgres", &format!("DROP DATABASE \"{target}\""));
    let args = run_args(&club_rules(), &conninfo(c, &source), &conninfo(c, &target), &[]);
    let out = doppel_command(&args, Some(TEST_KEY)).output().expect("run doppel");
    assert!(out.status.success(), "{}", stderr(&out));
    // The schema came through pg_dump and psql, the rows through doppel's own connections.
    for table in ["cd.members", "cd.facilities", "cd.bookings"] {
        let count = format!("SELECT count(*) FROM {table}");
        assert_eq!(c.scalar(&source, &count), c.scalar(&target, &count), "{table}");
    }
    let foreign_keys = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'";
    assert_eq!(c.scalar(&source, foreign_keys), c.scalar(&target, foreign_keys));
}

fn service_file(dir: &Path, c: &Cluster, dbname: &str) -> String {
    let file = dir.join("services.conf");
    let text = format!(
        "# doppel's test services\n[other]\nhost=nowhere.invalid\n\n[club]\nhost={}\nport={}\nuser=postgres\n\
         password=hunter2\ndbname={dbname}\n",
        c.host, c.port
    );
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn services_come_between_explicit_keys_and_the_environment() {
    let c = cluster();
    let source = c.club();
    let dir = tempfile::tempdir().unwrap();
    let file = service_file(dir.path(), c, "no_such_db_of_the_service");
    // PGPORT names no server: the service's port wins over it.
    let env = [("PGSERVICEFILE", file.as_str()), ("PGPORT", "1"), ("PGHOST", "127.0.0.2")];

    // An explicit dbname beats the service's.
    let out = check(&format!("service=club dbname='{source}'"), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // PGSERVICE names it too, under a URL that gives the database.
    let with_pgservice = [env[0], env[1], env[2], ("PGSERVICE", "club")];
    let out = check(&format!("postgres:///{source}"), &with_pgservice);
    assert!(out.status.success(), "{}", stderr(&out));
    // Without one, the service's database is the one asked for.
    let out = check("service=club", &env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no_such_db_of_the_service"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
}

#[test]
fn an_undefined_service_names_the_service_and_the_files_searched() {
    let dir = tempfile::tempdir().unwrap();
    let file = service_file(dir.path(), cluster(), "x");
    let sysconf = dir.path().join("sysconf");
    std::fs::create_dir(&sysconf).unwrap();
    let env = [("PGSERVICEFILE", file.as_str()), ("PGSYSCONFDIR", sysconf.to_str().unwrap())];
    let out = check("service=nope dbname=x", &env);
    assert_eq!(out.status.code(), Some(4), "a source error: {}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("definition of service \"nope\" not found in"), "{e}");
    assert!(e.contains(&file) && e.contains("sysconf/pg_service.conf (absent)"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}
