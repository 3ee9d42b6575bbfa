//! Subsets (`[subset]` in the rules) end to end, through the binary against the test cluster:
//! the trade fixture's 10% of customers arrives with every foreign key valid, every selected
//! customer's orders and order lines, and the same rows on a second run; the same subset goes
//! to a SQL dump and to Parquet; a small schema with a cycle, self-references, a multi-column
//! key, a table without a primary key, `parents = "null"`, `max_children`, and unreached
//! tables taken whole, filtered or not at all gives exactly the rows the semantics say;
//! mistakes are reported with the rules' line, never a value.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::pg::cluster;
use common::{doppel, doppel_run, doppel_run_saying, stderr};

/// A rules folder keeping every column of every `public` table of `db`, plus `subset`.
fn keep_all_rules(db: &str, subset: &str) -> tempfile::TempDir {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let listing = c.psql(
        db,
        "SELECT c.relname, string_agg('\"' || a.attname || '\"', ', ' ORDER BY a.attnum) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 \
         AND NOT a.attisdropped GROUP BY c.relname ORDER BY 1",
    );
    let mut rules = String::from("version = 1\n");
    for line in listing.lines() {
        let (table, columns) = line.split_once('|').unwrap();
        rules.push_str(&format!("[tables.\"public.{table}\"]\nkeep = [{columns}]\n"));
    }
    std::fs::write(dir.path().join("keep.toml"), rules).unwrap();
    std::fs::write(dir.path().join("subset.toml"), format!("version = 1\n{subset}")).unwrap();
    dir
}

fn run(rules: &Path, from: &str, to: &str) -> std::process::Output {
    run_with(rules, from, to, &[])
}

fn run_with(rules: &Path, from: &str, to: &str, extra: &[&str]) -> std::process::Output {
    // Not quiet: the subset's report is read.
    doppel_run_saying(rules, from, to, &[&["--jobs", "2"], extra].concat())
}

fn run_ok(rules: &Path, from: &str, to: &str) -> String {
    run_ok_with(rules, from, to, &[])
}

fn run_ok_with(rules: &Path, from: &str, to: &str, extra: &[&str]) -> String {
    let out = run_with(rules, from, to, extra);
    assert!(out.status.success(), "doppel run failed:\n{}\n{}", stderr(&out), cluster().log());
    stderr(&out)
}

fn lines(db: &str, sql: &str) -> BTreeSet<String> {
    cluster().psql(db, sql).lines().map(str::to_string).collect()
}

fn count(db: &str, table: &str) -> usize {
    cluster().scalar(db, &format!("SELECT count(*) FROM {table}")).parse().unwrap()
}

/// Every table's rows, as one text per table, for comparing two databases.
fn contents(db: &str) -> Vec<String> {
    let tables = cluster().psql(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    tables.lines().map(|t| cluster().psql(db, &format!("SELECT x::text FROM public.\"{t}\" x ORDER BY 1"))).collect()
}

fn assert_foreign_keys_valid(source: &str, target: &str) {
    let c = cluster();
    let fks = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'";
    assert_eq!(c.scalar(target, fks), c.scalar(source, fks), "every foreign key is created");
    assert_eq!(c.scalar(target, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
}

const TRADE_SUBSET: &str = "[subset]\n[[subset.roots]]\ntable = \"public.customers\"\nfraction = 0.1\n";

#[test]
fn ten_percent_of_trade_customers_come_with_their_orders_and_everything_they_reference() {
    let c = cluster();
    let source = c.trade();
    let rules = keep_all_rules(&source, TRADE_SUBSET);
    let target = format!("{source}_sub");
    let printed = run_ok(rules.path(), &c.url(&source), &c.url(&target));
    assert!(printed.contains("subset:") && printed.contains("children of public.customers"), "{printed}");
    assert_foreign_keys_valid(&source, &target);

    let customers = count(&target, "customers");
    assert!((3..=20).contains(&customers), "about 10% of 90 customers: {customers}");
    let chosen = lines(&target, "SELECT customer_id FROM customers");
    let in_list = chosen.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    // Every order of a selected customer, and only those: no other order is reached.
    let expected_orders = lines(&source, &format!("SELECT order_id FROM orders WHERE customer_id IN ({in_list})"));
    assert!(!expected_orders.is_empty());
    assert_eq!(lines(&target, "SELECT order_id FROM orders"), expected_orders);
    let expected_lines = lines(
        &source,
        &format!(
            "SELECT order_id || '/' || product_id FROM order_details WHERE order_id IN \
             (SELECT order_id FROM orders WHERE customer_id IN ({in_list}))"
        ),
    );
    assert_eq!(lines(&target, "SELECT order_id || '/' || product_id FROM order_details"), expected_lines);
    // Referenced rows: the lines' products, the orders' employees with their whole reports_to
    // chain (the foreign key is valid), shippers; tables no customer reaches come whole.
    let products = lines(&target, "SELECT DISTINCT product_id FROM order_details");
    assert!(products.is_subset(&lines(&target, "SELECT product_id FROM products")));
    assert_eq!(
        c.scalar(
            &target,
            "SELECT count(*) FROM employees e WHERE reports_to IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM employees b WHERE b.employee_id = e.reports_to)"
        ),
        "0"
    );
    for whole in ["us_states", "region", "territories", "employee_territories"] {
        assert_eq!(count(&target, whole), count(&source, whole), "{whole} is copied whole");
    }
    assert!(count(&target, "products") < count(&source, "products") || count(&target, "orders") < 830);

    // The same command twice: the same rows.
    let again = format!("{source}_sub2");
    run_ok(rules.path(), &c.url(&source), &c.url(&again));
    assert_eq!(contents(&target), contents(&again));

    // The fixture's subset folder (trade's anonymisation rules plus the same subset) picks the
    // same customers: the selection is keyed on the source's keys, not on the output.
    let example = format!("{source}_example");
    run_ok(&common::root().join("tests/fixtures/pg/trade_subset"), &c.url(&source), &c.url(&example));
    assert_foreign_keys_valid(&source, &example);
    for table in ["customers", "orders", "order_details", "employees", "products"] {
        assert_eq!(count(&example, table), count(&target, table), "{table}");
    }

    // doppel verify (no key) on the subset: tables paired by a kept primary key are compared
    // row by row, the others cannot be paired and get the value and digest checks only.
    let rules = common::root().join("tests/fixtures/pg/trade_subset");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("verify.json");
    let (from, to) = (c.url(&source), c.url(&example));
    let args = ["verify", "--rules", rules.to_str().unwrap(), "--from", &from, "--to", &to, "--report"];
    let out = doppel(&[&args[..], &[report.to_str().unwrap()]].concat(), None);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let matching = &report["matching"];
    assert!(matching["public.orders"].as_str().unwrap().starts_with("primary key"), "{matching}");
    assert!(matching["public.customers"].as_str().unwrap().starts_with("not row by row"), "{matching}");
}

#[test]
fn a_subset_goes_to_a_sql_dump_and_to_parquet_with_the_same_rows() {
    let c = cluster();
    let source = c.trade();
    let rules = common::root().join("tests/fixtures/pg/trade_subset");
    let target = format!("{source}_db");
    run_ok(&rules, &c.url(&source), &c.url(&target));

    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("subset.sql");
    run_ok(&rules, &c.url(&source), dump.to_str().unwrap());
    let restored = c.create_database("subset_restored");
    c.load_file(&restored, &dump);
    assert_foreign_keys_valid(&source, &restored);
    assert_eq!(contents(&restored), contents(&target));

    // Parquet, checked by verify against the same rows of the source before publishing, with
    // the selection in the audit report.
    let parquet = dir.path().join("parquet");
    let report = dir.path().join("report.json");
    let printed = run_ok_with(
        &rules,
        &c.url(&source),
        parquet.to_str().unwrap(),
        &["--verify", "--report", report.to_str().unwrap()],
    );
    assert!(printed.contains("verify"), "{printed}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let customers =
        report["subset"]["tables"].as_array().unwrap().iter().find(|t| t["table"] == "public.customers").unwrap();
    assert_eq!(customers["keyed_rows"].as_u64().unwrap() as usize, count(&target, "customers"));
    assert!(customers["reasons"][0][0].as_str().unwrap().starts_with("root (fraction 0.1)"), "{customers}");
    for table in ["customers", "orders", "order_details", "employees", "us_states"] {
        let rows: usize = common::read_table(&parquet, &format!("public.{table}")).iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, count(&target, table), "{table}");
    }
}

const SMALL_SCHEMA: &str = r#"
CREATE TABLE dept (id int PRIMARY KEY, name text NOT NULL, head_id int);
CREATE TABLE emp (id int PRIMARY KEY, dept_id int NOT NULL REFERENCES dept, boss_id int REFERENCES emp,
                  mentor_id int REFERENCES emp, name text NOT NULL);
ALTER TABLE dept ADD CONSTRAINT dept_head FOREIGN KEY (head_id) REFERENCES emp DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE proj (org text, code int, title text NOT NULL, PRIMARY KEY (org, code));
CREATE TABLE assignment (emp_id int NOT NULL REFERENCES emp, org text NOT NULL, code int NOT NULL,
                         hours int NOT NULL, FOREIGN KEY (org, code) REFERENCES proj);
CREATE TABLE audit_log (id int PRIMARY KEY, emp_id int REFERENCES emp, at date NOT NULL);
CREATE TABLE colour (name text PRIMARY KEY);
CREATE TABLE note (id int PRIMARY KEY, body text);
ALTER TABLE emp ADD CONSTRAINT emp_name_key UNIQUE (name);
CREATE TABLE desk (id int PRIMARY KEY, owner_name text NOT NULL REFERENCES emp (name));
CREATE TABLE event (id int, at date, emp_id int NOT NULL REFERENCES emp, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE event_2020 PARTITION OF event FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE event_2021 PARTITION OF event FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
BEGIN;
INSERT INTO dept VALUES (1, 'sales', 11), (2, 'ops', 21), (3, 'lab', 31);
INSERT INTO emp VALUES (11, 1, NULL, NULL, 'a'), (12, 1, 11, 21, 'b'), (13, 1, 12, NULL, 'c'), (14, 1, 11, 31, 'd'),
                       (21, 2, NULL, NULL, 'e'), (22, 2, 21, 12, 'f'), (31, 3, 21, NULL, 'g'), (32, 3, 31, NULL, 'h');
COMMIT;
INSERT INTO proj VALUES ('a', 1, 'x'), ('a', 2, 'y'), ('b', 1, 'z');
INSERT INTO assignment VALUES (12, 'a', 1, 5), (12, 'a', 1, 5), (13, 'b', 1, 3), (22, 'a', 2, 4), (32, 'a', 2, 1);
INSERT INTO audit_log VALUES (1, 32, '2020-01-01'), (2, 22, '2020-01-02'), (3, NULL, '2020-01-03');
INSERT INTO colour VALUES ('red'), ('green');
INSERT INTO note VALUES (1, 'one'), (2, 'two');
INSERT INTO desk VALUES (1, 'a'), (2, 'd'), (3, 'f'), (4, 'h');
INSERT INTO event VALUES (1, '2020-03-01', 12), (2, '2021-06-01', 13), (3, '2021-06-01', 22), (4, '2020-05-01', 32);
ANALYZE;
"#;

fn small_source() -> String {
    let c = cluster();
    let db = c.create_database("subset_small");
    c.psql(&db, SMALL_SCHEMA);
    db
}

#[test]
fn cycles_self_references_composite_keys_nulls_and_unreached_tables_follow_the_semantics() {
    let c = cluster();
    let source = small_source();
    let rules = keep_all_rules(
        &source,
        r#"
[subset]
unreached = "all"
[[subset.roots]]
table = "public.dept"
where = "name = 'sales'"
[[subset.relations]]
table = "public.emp"
columns = ["mentor_id"]
children = "ignore"
parents = "null"
[[subset.relations]]
table = "public.audit_log"
columns = ["emp_id"]
children = "ignore"
[subset.tables."public.audit_log"]
where = "id >= 2"
[subset.tables."public.note"]
unreached = "none"
"#,
    );
    let target = format!("{source}_out");
    let printed = run_ok(rules.path(), &c.url(&source), &c.url(&target));
    assert_foreign_keys_valid(&source, &target);
    // dept 1 (root) brings its employees 11-14 and their assignments; employees bring their
    // bosses; audit_log rows 2 and 3 (its own where) bring employee 22, who brings boss 21
    // and dept 2 — but not 22's assignment (22 came in as a parent only).
    assert_eq!(lines(&target, "SELECT id FROM dept"), set(&["1", "2"]));
    assert_eq!(lines(&target, "SELECT id FROM emp"), set(&["11", "12", "13", "14", "21", "22"]));
    // mentor_id: 21 and 12 are selected anyway and kept; 31 is not, so 14's mentor is NULL.
    assert_eq!(
        lines(&target, "SELECT id || ':' || coalesce(mentor_id::text, '-') FROM emp"),
        set(&["11:-", "12:21", "13:-", "14:-", "21:-", "22:12"])
    );
    // A table without a primary key (two identical rows stay two) and a two-column key.
    assert_eq!(
        c.psql(&target, "SELECT emp_id, org, code FROM assignment ORDER BY 1, 2, 3"),
        "12|a|1\n12|a|1\n13|b|1\n"
    );
    assert_eq!(lines(&target, "SELECT org || code FROM proj"), set(&["a1", "b1"]));
    assert_eq!(lines(&target, "SELECT id FROM audit_log"), set(&["2", "3"]));
    assert_eq!(count(&target, "colour"), 2);
    assert_eq!(count(&target, "note"), 0);
    // A foreign key to a unique column other than the primary key, and a partitioned table
    // (read with its partitions): the rows of the employees selected downwards.
    assert_eq!(lines(&target, "SELECT id FROM desk"), set(&["1", "2"]));
    assert_eq!(lines(&target, "SELECT id FROM event"), set(&["1", "2"]));
    assert!(printed.contains("parents of public.audit_log"), "{printed}");
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn max_children_takes_that_many_per_parent_by_keyed_hash_the_same_each_time() {
    let c = cluster();
    let source = small_source();
    let subset = r#"
[subset]
unreached = "none"
[[subset.roots]]
table = "public.emp"
where = "id = 11"
[[subset.relations]]
table = "public.emp"
columns = ["boss_id"]
max_children = 1
[[subset.relations]]
table = "public.dept"
columns = ["head_id"]
children = "ignore"
[[subset.relations]]
table = "public.emp"
columns = ["dept_id"]
children = "ignore"
"#;
    let rules = keep_all_rules(&source, subset);
    let first = format!("{source}_a");
    run_ok(rules.path(), &c.url(&source), &c.url(&first));
    assert_foreign_keys_valid(&source, &first);
    let emps = lines(&first, "SELECT id FROM emp");
    // 11's direct reports are 12 and 14: exactly one comes. 12 brings its own report 13, its
    // mentee 22 (mentor_id children are followed) and, upwards, its mentor 21; 14 brings its
    // mentor 31, whose boss is 21.
    let with_12 = set(&["11", "12", "13", "21", "22"]);
    let with_14 = set(&["11", "14", "21", "31"]);
    assert!(emps == with_12 || emps == with_14, "{emps:?}");
    let second = format!("{source}_b");
    run_ok(rules.path(), &c.url(&source), &c.url(&second));
    assert_eq!(contents(&first), contents(&second));
}

#[test]
fn mistakes_in_a_subset_are_reported_with_the_line_and_never_a_value() {
    let c = cluster();
    let source = small_source();
    let url = c.url(&source);
    let check = |subset: &str| {
        let rules = keep_all_rules(&source, subset);
        let out = doppel(&["check", "--rules", rules.path().to_str().unwrap(), "--from", &url], None);
        (out.status.code(), stderr(&out))
    };
    let (code, msg) = check(
        "[subset]\n[[subset.roots]]\ntable = \"public.emp\"\n[[subset.relations]]\ntable = \"public.emp\"\ncolumns = [\"boss\"]\n",
    );
    assert_eq!(code, Some(3), "{msg}");
    assert!(msg.contains("subset.toml:5") && msg.contains("[\"boss_id\"] → public.emp"), "{msg}");
    let (code, msg) = check("[subset]\n[[subset.roots]]\ntable = \"public.assignment\"\nfraction = 0.5\n");
    assert_eq!(code, Some(3), "{msg}");
    assert!(msg.contains("has none") && msg.contains("public.assignment"), "{msg}");
    let (code, msg) = check(
        "[subset]\n[[subset.roots]]\ntable = \"public.dept\"\n[[subset.relations]]\ntable = \"public.emp\"\ncolumns = [\"dept_id\"]\nparents = \"null\"\n[subset.tables.\"public.emp\"]\nunreached = \"none\"\n",
    );
    assert_eq!(code, Some(3), "{msg}");
    assert!(msg.contains("NOT NULL") && msg.contains("would never apply"), "{msg}");

    // Run time: a where PostgreSQL cannot parse names the root and the SQLSTATE; a where that
    // fails on a value says only the SQLSTATE.
    let target = format!("{source}_never");
    let rules = keep_all_rules(&source, "[subset]\n[[subset.roots]]\ntable = \"public.dept\"\nwhere = \"name ==\"\n");
    let out = run(rules.path(), &url, &c.url(&target));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("subset root public.dept") && stderr(&out).contains("42601"), "{}", stderr(&out));
    let rules =
        keep_all_rules(&source, "[subset]\n[[subset.roots]]\ntable = \"public.emp\"\nwhere = \"name::int > 0\"\n");
    let out = run(rules.path(), &url, &c.url(&target));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("22P02") && !stderr(&out).contains("\"a\""), "{}", stderr(&out));
    assert_eq!(c.scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")), "0");

    // A subset needs foreign keys: a Parquet source is refused.
    let dir = tempfile::tempdir().unwrap();
    let rules = keep_all_rules(&source, TRADE_SUBSET);
    let out =
        doppel_run(rules.path(), common::fixture_dir().to_str().unwrap(), dir.path().join("x").to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs a PostgreSQL source"), "{}", stderr(&out));
}
