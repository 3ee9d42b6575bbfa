//! `doppel run --to postgres://…/db --replace`: the atomic environment refresh, and
//! `--force`. The binary is run as the nightly job would run it; the old
//! database must keep serving its old data whenever a run fails or is killed, and no temporary
//! database may be left behind once the next run has cleaned up.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::TEST_KEY;
use common::pg::Cluster;

/// A cluster of these tests' own: [`lock_holder`] takes the advisory lock any doppel run holds
/// on the server, and other tests' runs on the shared cluster hold such locks too.
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// Every run cleans up the leftovers of killed runs on the whole server, including those a
/// test here is still looking at: the tests of this file run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn club_rules() -> PathBuf {
    common::root().join("tests/fixtures/pg/club.toml")
}

/// `doppel run --quiet --rules R --from SRC --to TARGET EXTRA…`.
fn args(rules: &Path, source_db: &str, target_db: &str, extra: &[&str]) -> Vec<String> {
    let c = cluster();
    common::run_args(rules, &c.url(source_db), &c.url(target_db), extra)
}

fn run(rules: &Path, source_db: &str, target_db: &str, extra: &[&str]) -> Output {
    common::doppel(&args(rules, source_db, target_db, extra), Some(TEST_KEY))
}

fn spawn(rules: &Path, source_db: &str, target_db: &str, extra: &[&str]) -> Child {
    common::doppel_command(&args(rules, source_db, target_db, extra), Some(TEST_KEY))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn doppel")
}

fn ok(out: &Output) {
    assert!(out.status.success(), "doppel failed ({}):\n{}", out.status, common::stderr(out));
}

/// Databases whose name starts with `<target>__doppel` (temporary or replaced ones).
fn leftovers(target: &str) -> Vec<String> {
    cluster()
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{target}\\_\\_doppel%' ORDER BY 1"),
        )
        .lines()
        .map(str::to_string)
        .collect()
}

fn comment(db: &str) -> String {
    cluster().scalar(
        "postgres",
        &format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{db}'"),
    )
}

fn allows_connections(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT datallowconn FROM pg_database WHERE datname = '{db}'")) == "t"
}

/// Owner, ACL, and settings (database-level and per role) of `db`, as comparable text.
fn properties(db: &str) -> String {
    cluster().psql(
        "postgres",
        &format!(
            "SELECT pg_get_userbyid(datdba) || ' ' || coalesce(datacl::text, 'default') || ' limit ' || datconnlimit FROM pg_database WHERE datname = '{db}';
             SELECT coalesce(r.rolname, '*') || ': ' || array_to_string(s.setconfig, '; ')
             FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole
             WHERE d.datname = '{db}' ORDER BY 1;"
        ),
    )
}

/// An existing "staging" database not made by doppel, holding `old_data`, with its own owner,
/// settings and grants. Returns its name.
fn unmarked_staging(prefix: &str) -> String {
    let c = cluster();
    let db = c.create_database(prefix);
    c.psql(
        "postgres",
        &format!(
            "CREATE ROLE {db}_owner; CREATE ROLE {db}_reader;
             ALTER DATABASE {db} OWNER TO {db}_owner;
             ALTER DATABASE {db} SET work_mem = '8MB';
             ALTER DATABASE {db} WITH CONNECTION LIMIT 40;
             ALTER DATABASE {db} SET search_path = \"$user\", cd, public;
             ALTER ROLE {db}_reader IN DATABASE {db} SET statement_timeout = '5s';
             REVOKE ALL ON DATABASE {db} FROM PUBLIC;
             GRANT CONNECT ON DATABASE {db} TO {db}_reader;
             GRANT CREATE ON DATABASE {db} TO {db}_reader WITH GRANT OPTION;"
        ),
    );
    c.psql(&db, "CREATE TABLE old_data (v text); INSERT INTO old_data VALUES ('old');");
    db
}

/// A staging database that a previous doppel run made (its comment is doppel's marker).
fn marked_staging(prefix: &str) -> String {
    let c = cluster();
    let db = c.create_database(prefix);
    let marker = format!("doppel {}: complete", env!("CARGO_PKG_VERSION"));
    c.psql("postgres", &format!("COMMENT ON DATABASE {db} IS '{marker}'"));
    c.psql(&db, "CREATE TABLE old_data (v text); INSERT INTO old_data VALUES ('old');");
    db
}

fn assert_old_serving(db: &str) {
    let c = cluster();
    assert!(allows_connections(db), "{db} no longer accepts connections");
    assert_eq!(c.scalar(db, "SELECT v FROM old_data"), "old", "{db} lost its old data");
}

fn assert_new_data(db: &str, members: &str) {
    let c = cluster();
    assert_eq!(c.scalar(db, "SELECT count(*) FROM cd.members"), members);
    assert_eq!(c.scalar(db, "SELECT count(*) FROM pg_class WHERE relname = 'old_data'"), "0");
    assert!(allows_connections(db));
    let comment = comment(db);
    assert!(comment.starts_with("doppel ") && comment.ends_with(": complete"), "{comment}");
    assert!(leftovers(db).is_empty(), "left behind: {:?}", leftovers(db));
}

#[test]
fn replace_refuses_an_unmarked_database_without_force_then_keeps_its_owner_settings_and_grants() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = unmarked_staging("replace_props");
    let before = properties(&target);
    assert!(before.contains("_owner") && before.contains("work_mem=8MB") && before.contains("limit 40"), "{before}");

    let out = run(&club_rules(), &source, &target, &["--replace"]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    let e = common::stderr(&out);
    assert!(e.contains("not created by doppel") && e.contains("--force"), "{e}");
    assert_old_serving(&target);
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));

    // --force alone (without --replace) is a usage error.
    let out = run(&club_rules(), &source, &target, &["--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));

    ok(&run(&club_rules(), &source, &target, &["--replace", "--force"]));
    assert_new_data(&target, "31");
    assert_eq!(properties(&target), before, "owner, grants or settings were not carried over");
    // The per-role setting and the list setting still work in the new database.
    let search_path = Command::new(c.bin_dir.join("psql"))
        .args(["-X", "-A", "-t", "-c", "SHOW search_path", "-d"])
        .arg(c.url(&target))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&search_path.stdout).trim(), "\"$user\", cd, public");

    // The target now carries doppel's marker: a second replace needs no --force.
    let out = run(&club_rules(), &source, &target, &["--replace"]);
    ok(&out);
    assert_new_data(&target, "31");
    assert_eq!(properties(&target), before);
}

#[test]
fn replace_creates_a_missing_target() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = format!("{source}_fresh");
    ok(&run(&club_rules(), &source, &target, &["--replace"]));
    assert_new_data(&target, "31");
}

#[test]
fn a_failing_replace_leaves_the_old_database_serving_and_nothing_behind() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = marked_staging("replace_fail");
    let dir = tempfile::tempdir().unwrap();
    let rules = std::fs::read_to_string(club_rules()).unwrap();

    // Every booking names the same member, whose id no member keeps (members' ids are
    // hashed): the foreign key, added after the load, fails. (A constant on the primary key
    // itself is refused by the plan.)
    let duplicate = dir.path().join("duplicate.toml");
    let booking_member = "memid = { action = \"hash\", domain = \"memid\" }";
    assert_eq!(rules.matches(booking_member).count(), 1);
    std::fs::write(&duplicate, rules.replace(booking_member, "memid = { action = \"constant\", value = 7 }")).unwrap();
    let out = run(&duplicate, &source, &target, &["--replace"]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("23503"), "{}", common::stderr(&out));
    assert_old_serving(&target);
    assert_eq!(comment(&target), format!("doppel {}: complete", env!("CARGO_PKG_VERSION")));
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));

    // Bad rules: stopped before anything is touched.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, rules.replace("\"joindate\"", "\"joined\"")).unwrap();
    let out = run(&bad, &source, &target, &["--replace"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    assert_old_serving(&target);
    assert!(leftovers(&target).is_empty());

    // The source itself is never a target, whatever the flags.
    let out = run(&club_rules(), &source, &source, &["--replace", "--force"]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("source database itself"));
    assert_eq!(c.scalar(&source, "SELECT count(*) FROM cd.members"), "31");
}

/// A source with one generated table big enough for a load that lasts a few seconds.
fn big_source() -> (String, tempfile::TempDir) {
    let c = cluster();
    let db = c.create_database("replace_big");
    c.psql(
        &db,
        "CREATE TABLE public.big (id int PRIMARY KEY, t text NOT NULL);
         INSERT INTO public.big SELECT i, md5(i::text) FROM generate_series(1, 400000) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), "version = 1\n[tables.\"public.big\"]\nkeep = [\"id\", \"t\"]\n")
        .unwrap();
    (db, dir)
}

/// Waits until the run `child` has created its temporary database beside `target` and is
/// loading it; returns the temporary database's name.
fn wait_for_temp(child: &mut Child, target: &str) -> String {
    let temp = format!("{target}__doppel_{}", child.id());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("doppel ended ({status}) before the test could interrupt it");
        }
        if leftovers(target).contains(&temp) {
            let loading = cluster().scalar(
                "postgres",
                &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{temp}' AND query LIKE 'COPY%'"),
            );
            if loading != "0" {
                return temp;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no temporary database appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_replace_killed_mid_load_leaves_the_old_database_and_the_next_run_cleans_up() {
    let _serial = serial();
    let c = cluster();
    let (source, dir) = big_source();
    let rules = dir.path().join("rules.toml");
    for sig in ["-KILL", "-TERM"] {
        let target = marked_staging("replace_killed");
        let mut child = spawn(&rules, &source, &target, &["--replace", "--batch-rows", "200", "--threads", "1"]);
        let temp = wait_for_temp(&mut child, &target);
        assert!(comment(&temp).starts_with(&format!(
            "doppel {}: loading (pid {}, host ",
            env!("CARGO_PKG_VERSION"),
            child.id()
        )));

        // A second run against the same target while the first holds the lock: refused at once.
        let out = run(&rules, &source, &target, &["--replace"]);
        assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
        assert!(common::stderr(&out).contains(&format!("another doppel run is building or replacing {target}")));

        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "{sig}: {}", out.status);
        assert_old_serving(&target);
        if sig == "-TERM" {
            // SIGTERM is caught like Ctrl-C: the run stops, drops its temporary database itself.
            assert_eq!(out.status.code(), Some(130), "{}", common::stderr(&out));
            assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
        } else {
            // SIGKILL leaves the temporary database for the next run to remove.
            assert_eq!(leftovers(&target), vec![temp.clone()]);
        }
        ok(&run(&rules, &source, &target, &["--replace"]));
        assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.big"), "400000");
        assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_class WHERE relname = 'old_data'"), "0");
        assert!(leftovers(&target).is_empty(), "{sig}: {:?}", leftovers(&target));
    }
}

/// An interactive psql session connected to `db`, idle until its stdin is closed.
fn open_session(db: &str) -> Child {
    let c = cluster();
    let mut child = c
        .client("psql")
        .args(["-X", "-q", "-d"])
        .arg(c.url(db))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql");
    child.stdin.as_mut().unwrap().write_all(b"SELECT 1;\n").unwrap();
    let start = Instant::now();
    while sessions(db) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the session did not connect");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn sessions(db: &str) -> usize {
    cluster()
        .scalar("postgres", &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"))
        .parse()
        .unwrap()
}

#[test]
fn a_connection_lost_mid_load_leaves_the_old_database_and_no_temporary_one() {
    let _serial = serial();
    let c = cluster();
    let (source, dir) = big_source();
    let rules = dir.path().join("rules.toml");
    let target = marked_staging("replace_lost");
    let child = {
        let mut child = spawn(&rules, &source, &target, &["--replace", "--batch-rows", "200", "--threads", "1"]);
        let temp = wait_for_temp(&mut child, &target);
        c.psql(
            "postgres",
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{temp}' AND query LIKE 'COPY%'"
            ),
        );
        child
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert_old_serving(&target);
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
}

#[test]
fn an_open_session_makes_the_swap_wait_then_time_out_and_terminate_connections_ends_it() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = marked_staging("replace_busy");
    let mut session = open_session(&target);

    let started = Instant::now();
    let out = run(&club_rules(), &source, &target, &["--replace", "--swap-timeout", "2"]);
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("still connected"), "{}", common::stderr(&out));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_old_serving(&target);
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
    assert_eq!(sessions(&target), 1, "the session was ended without --terminate-connections");

    ok(&run(&club_rules(), &source, &target, &["--replace", "--terminate-connections", "--swap-timeout", "20"]));
    assert_new_data(&target, "31");
    drop(session.stdin.take());
    let _ = session.wait();

    // A session that leaves within the timeout: the swap waits for it, then succeeds.
    let mut sleeper = c
        .client("psql")
        .args(["-X", "-q", "-c", "SELECT pg_sleep(3)", "-d"])
        .arg(c.url(&target))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while sessions(&target) == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    ok(&run(&club_rules(), &source, &target, &["--replace", "--swap-timeout", "30"]));
    assert!(sleeper.wait().unwrap().success(), "the waiting session was ended");
    assert_new_data(&target, "31");
}

/// A `--replace` run from `source` into `target` whose swap has closed the target and waits
/// for the open session it returns.
fn swap_waiting_for_a_session(source: &str, target: &str) -> (Child, Child) {
    let session = open_session(target);
    let mut child = spawn(&club_rules(), source, target, &["--replace", "--swap-timeout", "60"]);
    let start = Instant::now();
    while allows_connections(target) {
        assert!(child.try_wait().unwrap().is_none(), "doppel ended before the swap");
        assert!(start.elapsed() < Duration::from_secs(60), "the swap never closed the target");
        std::thread::sleep(Duration::from_millis(20));
    }
    (session, child)
}

#[test]
fn a_run_killed_while_waiting_for_sessions_gets_its_target_reopened_by_the_next_run() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = marked_staging("replace_kill_wait");
    let (mut session, mut child) = swap_waiting_for_a_session(&source, &target);
    signal(&child, "-KILL");
    let _ = child.wait();
    drop(session.stdin.take());
    let _ = session.wait();
    assert!(!allows_connections(&target), "expected the state a kill at this point leaves");
    assert_eq!(leftovers(&target).len(), 1);

    // A run into another database leaves this target's leftover alone (it holds only its own
    // target's lock); the next run on this target reopens it and cleans up.
    ok(&run(&club_rules(), &source, &format!("{source}_other"), &[]));
    assert_eq!(leftovers(&target).len(), 1);
    ok(&run(&club_rules(), &source, &target, &["--replace"]));
    assert!(allows_connections(&target));
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
}

/// The pid of the doppel session holding the advisory lock of a target (on `postgres`).
fn lock_holder() -> Option<String> {
    let pid = cluster().scalar(
        "postgres",
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = \
         (SELECT oid FROM pg_database WHERE datname = 'postgres') LIMIT 1",
    );
    (!pid.is_empty()).then_some(pid)
}

#[test]
fn a_run_building_a_new_database_is_never_taken_over_by_a_replacing_run() {
    let _serial = serial();
    let c = cluster();
    let (source, dir) = big_source();
    let rules = dir.path().join("rules.toml");
    let target = format!("{source}_new");
    // The first run creates the target itself (no --replace): its marker says "loading".
    let child = spawn(&rules, &source, &target, &["--batch-rows", "200", "--threads", "1"]);
    let start = Instant::now();
    while !comment(&target).contains(": loading (pid ") {
        assert!(start.elapsed() < Duration::from_secs(60), "the first run never created its target");
        std::thread::sleep(Duration::from_millis(20));
    }
    for extra in [&["--replace"][..], &["--replace", "--force"][..], &[][..]] {
        let out = run(&rules, &source, &target, extra);
        assert_eq!(out.status.code(), Some(5), "{extra:?}: {}", common::stderr(&out));
        assert!(
            common::stderr(&out).contains("another doppel run is building or replacing"),
            "{}",
            common::stderr(&out)
        );
    }
    let out = child.wait_with_output().unwrap();
    ok(&out);
    assert!(!common::stderr(&out).contains("removed the partly built target"), "{}", common::stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.big"), "400000");
    assert!(comment(&target).ends_with(": complete"));
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
}

#[test]
fn a_swap_whose_admin_connection_dies_leaves_the_target_accepting_connections() {
    let _serial = serial();
    let source = cluster().club();
    let target = marked_staging("replace_admin_dies");
    let (mut session, child) = swap_waiting_for_a_session(&source, &target);
    let holder = lock_holder().expect("the run holds the target's lock");
    cluster().psql("postgres", &format!("SELECT pg_terminate_backend({holder})"));
    let out = child.wait_with_output().unwrap();
    drop(session.stdin.take());
    let _ = session.wait();
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
    assert_old_serving(&target);
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
}

#[test]
fn a_target_left_closed_by_a_crashed_swap_is_reopened_before_the_next_swap_and_stays_open() {
    let _serial = serial();
    let c = cluster();
    let source = c.club();
    let target = marked_staging("replace_closed");
    // What a swap that lost its connection and could not reopen the target leaves: the target
    // closed, and the record of it, the new database marked "swapping into oid O".
    let oid = c.scalar("postgres", &format!("SELECT oid FROM pg_database WHERE datname = '{target}'"));
    let record = format!("{target}__doppel_4000000");
    c.psql("postgres", &format!("CREATE DATABASE {record}"));
    c.psql(
        "postgres",
        &format!(
            "COMMENT ON DATABASE {record} IS 'doppel {}: swapping into oid {oid} (pid 4000000, host elsewhere, snapshot x)';
             ALTER DATABASE {target} WITH ALLOW_CONNECTIONS false",
            env!("CARGO_PKG_VERSION")
        ),
    );
    ok(&run(&club_rules(), &source, &target, &["--replace"]));
    assert!(allows_connections(&target), "the refreshed database must accept connections");
    assert_new_data(&target, &c.scalar(&source, "SELECT count(*) FROM cd.members"));
}
