//! Fault tests: a run that dies or fails half-way publishes nothing that
//! looks complete, and the next run succeeds with output identical to an undisturbed run.
//!
//! Here: `kill -9` during a Parquet write and during COPY into a new database; the source
//! connection ended by `pg_terminate_backend` in the middle of its COPY (Parquet and
//! database targets); a full output file system (a 1 MiB tmpfs) and a read-only one (a
//! read-only bind mount). The last two need root for `mount`; without it they say so on
//! stderr and check nothing.
//!
//! Elsewhere: SIGINT and SIGTERM during a Parquet run (tests/it/cli.rs
//! `interrupt_and_terminate_exit_130_and_publish_nothing`); kill during a `--replace` load and
//! a target connection lost mid-COPY (tests/it/pg/replace.rs); a load into existing tables
//! dropped without commit (tests/it/pg/from_parquet.rs).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::pg::cluster;
use common::*;

/// 200,000 rows of poorly compressible text: several MiB of Parquet, a few seconds to read
/// with small batches.
const SEED: &str = "CREATE TABLE big (id int PRIMARY KEY, name text NOT NULL, token text NOT NULL, at timestamptz NOT NULL);
INSERT INTO big SELECT g, 'name ' || g, md5(g::text) || md5((g * 7)::text), TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, 200000) g;
CREATE TABLE small (id int PRIMARY KEY, big_id int REFERENCES big (id));
INSERT INTO small SELECT g, g FROM generate_series(1, 100) g;
";

const RULES: &str = r#"version = 1
[tables."public.big"]
keep = ["id", "at"]
[tables."public.big".columns]
name = { action = "hash" }
token = { action = "mask", format_preserving = true }
[tables."public.small"]
keep = ["id", "big_id"]
"#;

/// A new database holding [`SEED`] (loaded once per test binary, cloned per call).
fn source_db() -> String {
    // In the cluster's own directory, which the harness removes when the tests end; written
    // once, so that no test loads it while another is still writing it.
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        let path = cluster().dir.join("faults-seed.sql");
        std::fs::write(&path, SEED).unwrap();
        path
    });
    cluster().dataset("faults_big", path)
}

/// A source database, a scratch directory and [`RULES`] written into it.
fn setup() -> (String, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    (source_db(), dir, rules)
}

/// Small batches, one job, one thread: a run slow enough to be caught half-way.
const SLOW: [&str; 6] = ["--batch-rows", "1000", "--jobs", "1", "--threads", "1"];

fn run(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    // Not quiet: what a rerun cleans up is logged.
    doppel_run_saying(rules, from, to, &[&SLOW[..], extra].concat())
}

fn spawn(rules: &Path, from: &str, to: &str) -> Child {
    doppel_command(&run_args(rules, from, to, &SLOW), Some(TEST_KEY))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

/// Name and bytes of every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The Parquet output of an undisturbed run (name and bytes of every file). Made once for all
/// tests here: every source database is a clone of the same seed, and the output is a pure
/// function of input, rules and key.
fn reference() -> &'static [(String, Vec<u8>)] {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let (db, dir, rules) = setup();
        let out_dir = dir.path().join("reference");
        ok(&run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]));
        files(&out_dir)
    })
}

/// [`table_copy`] of a new database loaded by an undisturbed run, made once for all tests
/// here (see [`reference`]).
fn reference_copy() -> &'static str {
    static COPY: OnceLock<String> = OnceLock::new();
    COPY.get_or_init(|| {
        let (db, _dir, rules) = setup();
        let reference_db = format!("{db}_ref");
        ok(&run(&rules, &cluster().url(&db), &cluster().url(&reference_db), &[]));
        table_copy(&reference_db)
    })
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until doppel's COPY out of `db` runs, then ends that backend.
fn terminate_source_copy(db: &str) {
    let c = cluster();
    let active = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE 'COPY%TO STDOUT%' AND state = 'active'"
    );
    wait_for("the source COPY", || c.scalar("postgres", &active) != "0");
    std::thread::sleep(Duration::from_millis(200));
    let ended = c.scalar(
        "postgres",
        &format!(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = '{db}' AND query LIKE 'COPY%TO STDOUT%'"
        ),
    );
    assert_ne!(ended, "0", "no source COPY to end");
}

fn database_exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

fn table_copy(db: &str) -> String {
    cluster().psql(db, "COPY (SELECT * FROM big ORDER BY id) TO STDOUT")
}

#[test]
fn kill_9_during_a_parquet_write_publishes_nothing_and_the_rerun_is_identical() {
    let (db, dir, rules) = setup();
    let expected = reference();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out_dir = work.join("out");
    let mut child = spawn(&rules, &cluster().url(&db), out_dir.to_str().unwrap());
    // Killed once the staging folder holds a file being written.
    wait_for("a staged Parquet file", || {
        visible_entries(&work).iter().any(|e| e.contains("doppel-partial"))
            && std::fs::read_dir(&work)
                .unwrap()
                .flatten()
                .any(|e| std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().code(), None, "doppel finished before it was killed");
    assert!(!out_dir.exists(), "a killed run published output");
    let left = visible_entries(&work);
    assert!(left.iter().all(|e| e.contains("doppel-partial")), "unexpected files: {left:?}");

    ok(&run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]));
    assert_eq!(visible_entries(&work), ["out"], "the dead run's staging was not cleaned");
    assert!(files(&out_dir) == expected, "the rerun's output differs from an undisturbed run");
}

#[test]
fn kill_9_during_copy_into_a_new_database_leaves_it_marked_loading_and_the_rerun_rebuilds_it() {
    let c = cluster();
    let (db, _dir, rules) = setup();
    let target = format!("{db}_out");
    let mut child = spawn(&rules, &c.url(&db), &c.url(&target));
    let copying =
        format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{target}' AND query ILIKE 'COPY%FROM STDIN%'");
    wait_for("the target COPY", || c.scalar("postgres", &copying) != "0");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // What is left never claims to be complete: its comment says a run was loading it.
    let comment = c.scalar(
        "postgres",
        &format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{target}'"),
    );
    assert!(comment.is_empty() || (comment.contains("loading") && !comment.contains("complete")), "{comment}");
    // A plain rerun recognises the half-built database of the dead run, drops it and builds
    // the target again.
    let out = run(&rules, &c.url(&db), &c.url(&target), &[]);
    ok(&out);
    if !comment.is_empty() {
        assert!(stderr(&out).contains("removed the half-built database of a killed run"), "{}", stderr(&out));
    }
    assert!(table_copy(&target) == reference_copy(), "the rebuilt database differs from an undisturbed run");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM small"), "100");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
}

/// What a database holds outside the system schemas: schemas, relations, types, functions.
fn user_objects(db: &str) -> String {
    cluster().psql(
        db,
        "SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
         UNION ALL SELECT 'relation ' || oid::regclass::text FROM pg_class WHERE relnamespace NOT IN
           (SELECT oid FROM pg_namespace WHERE nspname LIKE 'pg\\_%' OR nspname = 'information_schema')
         UNION ALL SELECT 'type ' || oid::regtype::text FROM pg_type WHERE typnamespace NOT IN
           (SELECT oid FROM pg_namespace WHERE nspname LIKE 'pg\\_%' OR nspname = 'information_schema')
         UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE pronamespace NOT IN
           (SELECT oid FROM pg_namespace WHERE nspname LIKE 'pg\\_%' OR nspname = 'information_schema')
         ORDER BY 1",
    )
}

#[test]
fn a_load_into_an_existing_empty_database_killed_or_failed_at_any_step_leaves_it_exactly_as_empty() {
    let c = cluster();
    let (db, dir, rules) = setup();
    let target = c.create_database("faults_existing_empty");
    let empty = user_objects(&target);

    // Killed (SIGKILL: nothing of doppel runs after it) and stopped (SIGTERM) mid-COPY.
    for signal in ["-KILL", "-TERM"] {
        let child = spawn(&rules, &c.url(&db), &c.url(&target));
        let copying = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{target}' AND query ILIKE 'COPY%FROM STDIN%'"
        );
        wait_for("the target COPY", || c.scalar("postgres", &copying) != "0");
        std::thread::sleep(Duration::from_millis(300));
        assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "{signal}");
        // The server may take a moment to see the connection gone and roll back.
        wait_for("the rollback", || {
            c.scalar("postgres", &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{target}'")) == "0"
        });
        assert_eq!(user_objects(&target), empty, "{signal} left the database half-loaded");
    }

    // Failed in post-data: the foreign key from small to big cannot be added.
    let failing = dir.path().join("failing.toml");
    std::fs::write(
        &failing,
        std::fs::read_to_string(&rules).unwrap().replace(
            r#"keep = ["id", "big_id"]"#,
            "keep = [\"id\"]\ncolumns = { big_id = { action = \"constant\", value = 987654 } }",
        ),
    )
    .unwrap();
    let out = run(&failing, &c.url(&db), &c.url(&target), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("post-data") && stderr(&out).contains("23503"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("987654"), "a value leaked: {}", stderr(&out));
    assert_eq!(user_objects(&target), empty, "a post-data failure left the database half-loaded");

    // The database is still empty, so the next run takes it, and loads what an undisturbed run loads.
    ok(&run(&rules, &c.url(&db), &c.url(&target), &[]));
    assert!(table_copy(&target) == reference_copy(), "the load differs from an undisturbed run");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM small"), "100");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), "1");
}

#[test]
fn the_source_connection_ended_mid_read_fails_the_parquet_run_and_the_rerun_is_identical() {
    let (db, dir, rules) = setup();
    let expected = reference();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out_dir = work.join("out");
    let child = spawn(&rules, &cluster().url(&db), out_dir.to_str().unwrap());
    terminate_source_copy(&db);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("public.big"), "{}", stderr(&out));
    assert!(!out_dir.exists(), "a failed run published output");
    assert!(visible_entries(&work).is_empty(), "a failed run left {:?}", visible_entries(&work));

    ok(&run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]));
    assert!(files(&out_dir) == expected, "the rerun's output differs from an undisturbed run");
}

#[test]
fn the_source_connection_ended_mid_read_leaves_no_target_database_and_the_rerun_loads_it() {
    let c = cluster();
    let (db, _dir, rules) = setup();
    let target = format!("{db}_out");
    let child = spawn(&rules, &c.url(&db), &c.url(&target));
    terminate_source_copy(&db);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(!database_exists(&target), "the half-built target was left behind");

    ok(&run(&rules, &c.url(&db), &c.url(&target), &[]));
    assert!(table_copy(&target) == reference_copy());
}

/// Whether `mount` works here (root, and a kernel that lets this container mount).
fn mount(args: &[&str]) -> bool {
    Command::new("mount").args(args).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn umount(dir: &Path) {
    let _ = Command::new("umount").arg(dir).status();
}

#[test]
fn a_full_output_file_system_fails_the_run_without_leftovers_and_the_rerun_is_identical() {
    let (db, dir, rules) = setup();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    if !mount(&["-t", "tmpfs", "-o", "size=1m", "tmpfs", small.to_str().unwrap()]) {
        eprintln!("SKIPPED: cannot mount a 1 MiB tmpfs here (needs root and mount rights)");
        return;
    }
    let expected = reference();
    assert!(expected.iter().map(|(_, b)| b.len()).sum::<usize>() > 2 << 20, "the output would fit in 1 MiB");
    let out_dir = small.join("out");
    let out = run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]);
    let left = visible_entries(&small);
    umount(&small);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("No space left on device") || err.contains("space"), "{err}");
    assert!(left.is_empty(), "a failed run left {left:?} on the full file system");

    ok(&run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]));
    assert!(files(&out_dir) == expected);
}

#[test]
fn a_read_only_output_directory_fails_naming_it_and_the_run_goes_through_once_writable() {
    let (db, dir, rules) = setup();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let ro_str = ro.to_str().unwrap();
    if !(mount(&["--bind", ro_str, ro_str]) && mount(&["-o", "remount,bind,ro", ro_str])) {
        umount(&ro);
        eprintln!("SKIPPED: cannot make a read-only bind mount here (needs root and mount rights)");
        return;
    }
    let out_dir = ro.join("out");
    let out = run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]);
    let left = visible_entries(&ro);
    umount(&ro);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains(ro_str), "{}", stderr(&out));
    assert!(stderr(&out).contains("Read-only file system"), "{}", stderr(&out));
    assert!(left.is_empty());
    // Writable again: the same run goes through.
    ok(&run(&rules, &cluster().url(&db), out_dir.to_str().unwrap(), &[]));
}
