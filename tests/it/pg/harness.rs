//! Tests of the throwaway PostgreSQL harness (tests/it/common/pg.rs): the cluster starts, the
//! project's fixtures (tests/fixtures/pg) load completely, databases made in parallel are distinct, psql errors are
//! loud, and the cluster is stopped and removed when the test process ends.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::{Cluster, cluster};

/// `table|rows` for every ordinary table of `schema`, sorted by name.
fn row_counts(c: &Cluster, db: &str, schema: &str) -> Vec<(String, u64)> {
    let tables = c.psql(
        db,
        &format!(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = '{schema}' AND c.relkind = 'r' ORDER BY c.relname"
        ),
    );
    let tables: Vec<&str> = tables.lines().filter(|l| !l.is_empty()).collect();
    let sql: Vec<String> =
        tables.iter().map(|t| format!("SELECT '{t}', count(*) FROM \"{schema}\".\"{t}\";")).collect();
    c.psql(db, &sql.join("\n"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (t, n) = l.split_once('|').expect("table|count");
            (t.to_string(), n.parse().expect("count"))
        })
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[test]
fn trade_loads_all_tables_and_rows() {
    let c = cluster();
    let db = c.trade();
    assert_eq!(
        row_counts(c, &db, "public"),
        expect(&[
            ("categories", 8),
            ("customer_customer_demo", 30),
            ("customer_demographics", 4),
            ("customers", 90),
            ("employee_territories", 49),
            ("employees", 9),
            ("order_details", 2070),
            ("orders", 830),
            ("products", 77),
            ("region", 4),
            ("shippers", 6),
            ("suppliers", 29),
            ("territories", 53),
            ("us_states", 51),
        ])
    );
    // Foreign keys came along: the data joins.
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM orders JOIN customers USING (customer_id)"), "830");
}

#[test]
fn club_loads_all_tables_and_rows() {
    let c = cluster();
    let db = c.club();
    assert_eq!(row_counts(c, &db, "cd"), expect(&[("bookings", 4000), ("facilities", 9), ("members", 31)]));
    assert!(row_counts(c, &db, "public").is_empty(), "club puts nothing in public");
}

#[test]
fn each_dataset_call_gives_an_independent_database() {
    let c = cluster();
    let (a, b) = (c.club(), c.club());
    assert_ne!(a, b);
    c.psql(&a, "DELETE FROM cd.bookings");
    assert_eq!(c.scalar(&a, "SELECT count(*) FROM cd.bookings"), "0");
    assert_eq!(c.scalar(&b, "SELECT count(*) FROM cd.bookings"), "4000");
}

#[test]
fn databases_created_in_parallel_are_distinct() {
    let c = cluster();
    let names: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| c.create_database("Parallel-Test!"))).collect();
        handles.into_iter().map(|h| h.join().expect("create_database panicked")).collect()
    });
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "names: {names:?}");
    for name in &names {
        assert!(name.starts_with("parallel_test__"), "{name}");
        assert_eq!(c.scalar(name, "SELECT current_database()"), *name);
    }
}

#[test]
fn psql_returns_unaligned_tuples_only() {
    let c = cluster();
    let db = c.create_database("psql_output");
    let out = c.psql(
        &db,
        "CREATE TABLE t (a int, b text);\nINSERT INTO t VALUES (1, 'x'), (2, NULL);\nSELECT a, b FROM t ORDER BY a;",
    );
    assert_eq!(out, "1|x\n2|\n");
}

#[test]
fn psql_errors_panic_with_psqls_message_and_stop_the_script() {
    let c = cluster();
    let db = c.create_database("psql_error");
    let payload =
        std::panic::catch_unwind(|| c.psql(&db, "SELECT * FROM no_such_table;\nCREATE TABLE after_the_error (a int);"))
            .expect_err("psql on a missing table must panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains("relation \"no_such_table\" does not exist"), "{message}");
    assert!(message.contains(&db), "the message names the database: {message}");
    // ON_ERROR_STOP: nothing after the failing statement ran.
    assert_eq!(c.scalar(&db, "SELECT to_regclass('after_the_error') IS NULL"), "t");

    let missing = Path::new("/nonexistent/file.sql");
    let payload = std::panic::catch_unwind(|| c.load_file(&db, missing)).expect_err("a missing file must panic");
    let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("/nonexistent/file.sql"), "{message}");
}

#[test]
fn the_url_works_for_the_rust_client() {
    let c = cluster();
    let db = c.trade();
    let url = c.url(&db);
    assert_eq!(url, format!("postgres://postgres@127.0.0.1:{}/{db}", c.port));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect with the postgres crate");
    let row = client.query_one("SELECT count(*) FROM orders", &[]).unwrap();
    assert_eq!(row.get::<_, i64>(0), 830);
}

/// Run in a child process by `the_cluster_is_stopped_and_removed_when_the_process_ends`:
/// starts the shared cluster, reports it, and dies by panic.
#[test]
#[ignore = "helper: run by the_cluster_is_stopped_and_removed_when_the_process_ends"]
fn child_starts_a_cluster_and_panics() {
    if std::env::var_os("DOPPEL_PG_CHILD").is_none() {
        return;
    }
    let c = cluster();
    let db = c.create_database("child");
    c.psql(&db, "SELECT 1");
    println!("CLUSTER pid={} dir={}", c.postmaster_pid().expect("postmaster.pid"), c.dir.display());
    panic!("the child test dies here on purpose");
}

#[test]
fn the_cluster_is_stopped_and_removed_when_the_process_ends() {
    // The test's path in this binary, without the crate name: `pg::harness::child_…`.
    let (_crate, module) = module_path!().split_once("::").unwrap();
    let child = format!("{module}::child_starts_a_cluster_and_panics");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &child, "--ignored", "--nocapture", "--test-threads=1"])
        .env("DOPPEL_PG_CHILD", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child panics on purpose:\n{stdout}");
    let line = stdout.lines().find_map(|l| l.split_once("CLUSTER ").map(|(_, rest)| rest)).unwrap_or_else(|| {
        panic!("child did not report its cluster:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    let (pid, dir) = line.split_once(' ').unwrap();
    let pid = pid.strip_prefix("pid=").unwrap();
    let dir = Path::new(dir.strip_prefix("dir=").unwrap());
    let alive = || Command::new("kill").args(["-0", pid]).stderr(Stdio::null()).status().unwrap().success();

    let deadline = Instant::now() + Duration::from_secs(20);
    while (alive() || dir.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(), "the child's postmaster {pid} still runs after the child exited");
    assert!(!dir.exists(), "the child's cluster directory {} still exists", dir.display());
}
