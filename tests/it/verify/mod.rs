//! `doppel verify` through the binary: clean outputs pass (exit 0); leaks planted into an
//! output are found (exit 6) and named by table, column and kind, without the planted values
//! appearing anywhere in what verify prints; small-space chance collisions pass under
//! `--max-same-rate`. Parquet outputs from the shop fixture, PostgreSQL outputs from
//! the trade fixture and from a small database made here.

use crate::common;

mod planted;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use common::pg::cluster;
use common::{TEST_KEY, concat, doppel, doppel_run, doppel_run_saying, fixture_dir, read_table};

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn verify(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "--rules", rules.to_str().unwrap(), "--from", from, "--to", to];
    args.extend_from_slice(extra);
    doppel(&args, None)
}

fn assert_clean(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    // The summary is for people: on stderr; stdout stays for --json and --report -.
    assert!(String::from_utf8_lossy(&o.stderr).contains("no findings"), "{}", text(o));
    assert!(o.stdout.is_empty(), "{}", text(o));
}

fn assert_findings(o: &Output, expected: &[&str], planted: &[&str]) {
    let all = text(o);
    assert_eq!(o.status.code(), Some(6), "{all}");
    for e in expected {
        assert!(all.contains(e), "missing `{e}` in:\n{all}");
    }
    for p in planted {
        assert!(!all.to_lowercase().contains(&p.to_lowercase()), "a planted value was printed:\n{all}");
    }
}

/// The shop rules with the `name` detector left out of `customers.notes`' redact rule: the
/// names of people the fixture's notes mention stay in the output.
fn shop_rules_leaving_names_in_notes(dir: &Path) -> std::path::PathBuf {
    let rules = std::fs::read_to_string(common::shop_rules()).unwrap();
    let changed = rules.replace(
        "notes         = { action = \"redact\" }",
        "notes         = { action = \"redact\", detect = [\"email\", \"phone\", \"iban\", \"card\", \"ip\"] }",
    );
    assert_ne!(rules, changed);
    let path = dir.join("shop.toml");
    std::fs::write(&path, changed).unwrap();
    path
}

fn run(rules: &Path, from: &str, to: &str) {
    let o = doppel_run(rules, from, to, &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Replaces one text column of `table` in a Parquet output directory with `f(row, old)`.
fn rewrite_parquet(dir: &Path, table: &str, column: &str, f: impl Fn(usize, Option<&str>) -> Option<String>) {
    let batch = concat(&read_table(dir, table));
    let index = batch.schema().index_of(column).unwrap();
    let old = batch.column(index).as_string::<i32>();
    let new: StringArray = (0..batch.num_rows()).map(|i| f(i, old.is_valid(i).then(|| old.value(i)))).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[index] = Arc::new(new);
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let file = std::fs::File::create(dir.join(format!("{table}.parquet"))).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn md5_hex(s: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn shop_parquet_clean_output_passes_and_planted_leaks_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let rules = common::shop_rules();
    let out = dir.path().join("out");
    let (from, to) = (fixture_dir().to_str().unwrap().to_string(), out.to_str().unwrap().to_string());
    run(&rules, &from, &to);
    let report = dir.path().join("report.json");
    let o = verify(&rules, &from, &to, &["--report", report.to_str().unwrap()]);
    assert_clean(&o);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 0);
    assert_eq!(json["matching"]["public.customers"], "position");

    let source = concat(&read_table(&fixture_dir(), "public.customers"));
    let emails = source.column(source.schema().index_of("email").unwrap()).as_string::<i32>();
    let (own, other, hashed) = (emails.value(5).to_string(), emails.value(7).to_string(), emails.value(9).to_string());
    // One email back into its own row; another inside a free text of another table; the md5
    // of a third in a third table.
    rewrite_parquet(
        &out,
        "public.customers",
        "email",
        |i, v| if i == 5 { Some(own.clone()) } else { v.map(String::from) },
    );
    rewrite_parquet(&out, "public.support_tickets", "body", |i, v| {
        if i == 3 { Some(format!("Please write to {} about it.", other.to_uppercase())) } else { v.map(String::from) }
    });
    let md5 = md5_hex(&hashed);
    rewrite_parquet(&out, "public.orders", "shipping_address", |i, v| {
        if i == 0 { Some(format!("ref {md5}")) } else { v.map(String::from) }
    });
    let o = verify(&rules, &from, &to, &["--report", report.to_str().unwrap()]);
    assert_findings(
        &o,
        &[
            "FINDING [own-value] public.customers.email: 1 row(s)",
            "FINDING [value] public.customers.email: 1 cell(s) contain a value of public.customers.email",
            "FINDING [value] public.support_tickets.body: 1 cell(s) contain a value of public.customers.email",
            "FINDING [md5] public.orders.shipping_address: 1 cell(s)",
        ],
        &[&own, &other, &hashed, &md5, &md5[..16]],
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 4, "{json:#}");
    let json = json.to_string();
    for p in [&own, &other, &hashed, &md5] {
        assert!(!json.contains(p.as_str()));
    }
}

#[test]
fn names_left_in_free_text_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let rules = shop_rules_leaving_names_in_notes(dir.path());
    let out = dir.path().join("out");
    let (from, to) = (fixture_dir().to_str().unwrap().to_string(), out.to_str().unwrap().to_string());
    run(&rules, &from, &to);
    let o = verify(&rules, &from, &to, &[]);
    assert_findings(&o, &["FINDING [value] public.customers.notes:"], &[]);
}

#[test]
fn trade_postgres_clean_output_passes_and_a_value_copied_back_is_found() {
    let c = cluster();
    let source = c.trade();
    let target = format!("{source}_verified");
    let rules = common::root().join("tests/fixtures/pg/trade.toml");
    run(&rules, &c.url(&source), &c.url(&target));
    let o = verify(&rules, &c.url(&source), &c.url(&target), &[]);
    assert_clean(&o);
    // orders keeps its primary key, so rows are matched by it even after an UPDATE moved one.
    // A ship name of few orders: one shared by many rows is a small-space value (a rate).
    let (order, name) = c
        .scalar(
            &source,
            "SELECT order_id || '|' || ship_name FROM orders WHERE ship_name IN \
             (SELECT ship_name FROM orders GROUP BY 1 HAVING count(*) <= 2) ORDER BY order_id LIMIT 1",
        )
        .split_once('|')
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .unwrap();
    c.psql(&target, &format!("UPDATE orders SET ship_name = '{}' WHERE order_id = {order}", name.replace('\'', "''")));
    let o = verify(&rules, &c.url(&source), &c.url(&target), &[]);
    assert_findings(&o, &["FINDING [own-value] public.orders.ship_name: 1 row(s)"], &[&name]);
}

const PEOPLE: &str = r#"
CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, full_name text, country text, note text);
INSERT INTO people
SELECT g, 'person' || g || '.verify@example.org', 'Zebulon Quixley' || g,
       CASE WHEN g % 200 < 3 THEN 'Germany' WHEN g % 2 = 0 THEN 'France' ELSE 'Portugal' END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'no remarks' END
FROM generate_series(1, 1000) g;
CREATE TABLE tickets (id int PRIMARY KEY, person_id int REFERENCES people, body text, meta jsonb);
INSERT INTO tickets SELECT g, g, 'ticket number ' || g || ' about shipping', '{"channel": "mail"}' FROM generate_series(1, 200) g;
"#;

const PEOPLE_RULES: &str = r#"
version = 1

[tables."public.people"]
keep = ["id"]

[tables."public.people".columns]
email     = { action = "fake", generator = "email" }
full_name = { action = "fake", generator = "full_name" }
# 1.5% of the rows are Germany: the constant keeps exactly those rows' own value.
country   = { action = "constant", value = "Germany" }
note      = { action = "redact" }

[tables."public.tickets"]
keep = ["id", "person_id", "body", "meta"]
"#;

/// A database made with `sql`, the rules `rules` written to a file, and a run of them into
/// `<source>_out`: (source database, its URL, the output's URL, the rules file and its directory).
fn run_on(prefix: &str, sql: &str, rules: &str) -> (String, String, String, PathBuf, tempfile::TempDir) {
    let c = cluster();
    let source = c.create_database(prefix);
    c.psql(&source, sql);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(&file, rules).unwrap();
    let (from, to) = (c.url(&source), c.url(&format!("{source}_out")));
    run(&file, &from, &to);
    (source, from, to, file, dir)
}

#[test]
fn postgres_planted_email_md5_and_the_small_space_threshold() {
    let c = cluster();
    let (source, from, to, rules, _dir) = run_on("verify_people", PEOPLE, PEOPLE_RULES);
    let target = format!("{source}_out");
    // 15 of 1000 rows keep "Germany" by construction: under 2%, over 1%.
    let o = verify(&rules, &from, &to, &[]);
    assert_clean(&o);
    assert!(text(&o).contains("public.people.country: 15 of 1000 rows keep their own value"), "{}", text(&o));
    let o = verify(&rules, &from, &to, &["--max-same-rate", "0.01"]);
    assert_findings(&o, &["FINDING [same-rate] public.people.country"], &[]);

    let sha1: String = {
        use sha1::Digest;
        sha1::Sha1::digest(b"Zebulon Quixley44").iter().map(|b| format!("{b:02x}")).collect()
    };
    c.psql(
        &target,
        &format!(
            "UPDATE people SET email = 'person17.verify@example.org' WHERE id = 17;
         UPDATE tickets SET body = body || ' (cc PERSON42.verify@example.org)' WHERE id = 5;
         UPDATE tickets SET meta = jsonb_build_object('fp', md5('person43.verify@example.org')) WHERE id = 6;
         UPDATE tickets SET body = 'by {sha1}' WHERE id = 7;"
        ),
    );
    let o = verify(&rules, &from, &to, &[]);
    assert_findings(
        &o,
        &[
            "FINDING [own-value] public.people.email: 1 row(s)",
            "FINDING [value] public.tickets.body: 1 cell(s) contain a value of public.people.email",
            "FINDING [md5] public.tickets.meta: 1 cell(s)",
            "FINDING [sha1] public.tickets.body: 1 cell(s)",
        ],
        &["person17.verify", "person42.verify", "person43.verify"],
    );
    let o = verify(&rules, &from, &to, &["--max-same-rate", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn run_verify_publishes_a_clean_output_and_nothing_with_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture_dir().to_str().unwrap().to_string();
    let clean_rules = common::shop_rules();
    let leaky_rules = shop_rules_leaving_names_in_notes(dir.path());
    let out = dir.path().join("clean");
    let o = doppel(
        &[
            "run",
            "--quiet",
            "--verify",
            "--rules",
            leaky_rules.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            out.to_str().unwrap(),
        ],
        Some(TEST_KEY),
    );
    // Names left in customers.notes: the run stops, nothing is published and the staging
    // folder is gone.
    assert_findings(&o, &["FINDING [value] public.customers.notes:", "(not published)"], &[]);
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains("doppel-partial")), "{leftovers:?}");
    let to = out.to_str().unwrap();
    let o = doppel_run_saying(&clean_rules, &from, to, &["--verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no findings"), "{}", text(&o));
    assert!(out.join("public.customers.parquet").exists());
    let o = doppel(
        &["run", "--verify", "--rules", clean_rules.to_str().unwrap(), "--from", &from, "--to", "-"],
        Some(TEST_KEY),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("stdout"), "{}", text(&o));
}

#[test]
fn run_verify_checks_a_database_before_it_is_finished_or_swapped_in() {
    let c = cluster();
    let source = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let clean_rules = common::root().join("tests/fixtures/pg/trade.toml");
    // The same rules, but customers' contact names only lose their e-mail addresses.
    let text_rules = std::fs::read_to_string(&clean_rules).unwrap();
    let leaky = text_rules.replacen(
        r#"contact_name  = { action = "fake", generator = "full_name", domain = "contact_name" }"#,
        r#"contact_name  = { action = "redact", detect = ["email"] }"#,
        1,
    );
    assert_ne!(leaky, text_rules);
    let leaky_rules = dir.path().join("trade.toml");
    std::fs::write(&leaky_rules, leaky).unwrap();
    let lock = common::root().join("tests/fixtures/pg/trade.schema.lock");
    if lock.exists() {
        std::fs::copy(&lock, dir.path().join("trade.schema.lock")).unwrap();
    }
    let run_verify = |rules: &Path, target: &str, extra: &[&str]| {
        doppel_run_saying(rules, &c.url(&source), &c.url(target), &[&["--verify"], extra].concat())
    };
    let exists = |db: &str| c.scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"));

    // A new database with a finding is dropped; a clean one is finished and published.
    let target = format!("{source}_verified");
    let o = run_verify(&leaky_rules, &target, &[]);
    assert_findings(&o, &["public.customers.contact_name", "(not published)"], &[]);
    assert_eq!(exists(&target), "0", "{}", text(&o));
    let o = run_verify(&clean_rules, &target, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no findings"), "{}", text(&o));
    let comment = format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{target}'");
    assert!(c.scalar("postgres", &comment).ends_with("complete"));

    // With --replace, a finding leaves the database that was there serving, untouched.
    let before = c.scalar(&target, "SELECT string_agg(contact_name, ',' ORDER BY customer_id) FROM customers");
    let o = run_verify(&leaky_rules, &target, &["--replace"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    let after = c.scalar(&target, "SELECT string_agg(contact_name, ',' ORDER BY customer_id) FROM customers");
    assert_eq!(before, after);
    let leftovers = c
        .scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname LIKE '{target}\\_\\_doppel\\_%'"));
    assert_eq!(leftovers, "0");
}

/// `verify` with `DOPPEL_VERIFY_RUN_RECORDS` set to `runs` (none: the default) and `TMPDIR`
/// set to `tmp`: the report's JSON, and the outcome.
fn verify_with_runs(rules: &Path, from: &str, to: &str, tmp: &Path, runs: Option<&str>) -> (String, Output) {
    let report = tmp.join("report.json");
    let spill = tmp.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let args = ["verify", "--rules", rules.to_str().unwrap(), "--from", from, "--to", to];
    let mut cmd = common::doppel_command(&args, None);
    cmd.args(["--report", report.to_str().unwrap()]).env("TMPDIR", &spill);
    match runs {
        Some(n) => cmd.env("DOPPEL_VERIFY_RUN_RECORDS", n),
        None => cmd.env_remove("DOPPEL_VERIFY_RUN_RECORDS"),
    };
    let o = cmd.output().unwrap();
    let left: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}\n{}", text(&o));
    (std::fs::read_to_string(&report).unwrap_or_default(), o)
}

/// Runs of 3 records make verify write and merge runs on disk for every table (rows matched by
/// primary key in PostgreSQL, by position in Parquet): its report is the same as with the
/// default runs (held in memory for outputs this small), and its temporary directory is gone
/// afterwards, also when it stops with an error.
#[test]
fn tiny_runs_on_disk_give_the_same_findings_and_leave_no_temporary_file() {
    let c = cluster();
    let (source, pg_from, pg_to, pg_rules, _pg_dir) = run_on("verify_spill", PEOPLE, PEOPLE_RULES);
    c.psql(
        &format!("{source}_out"),
        "UPDATE people SET email = 'person17.verify@example.org' WHERE id = 17;
         UPDATE tickets SET body = body || ' (cc PERSON42.verify@example.org)' WHERE id = 5;",
    );
    let dir = tempfile::tempdir().unwrap();
    let shop_rules = shop_rules_leaving_names_in_notes(dir.path());
    let out = dir.path().join("out");
    let (from, to) = (fixture_dir().to_str().unwrap().to_string(), out.to_str().unwrap().to_string());
    run(&shop_rules, &from, &to);
    for (rules, from, to, expected) in [
        (&pg_rules, &pg_from, &pg_to, "FINDING [own-value] public.people.email: 1 row(s)"),
        (&shop_rules, &from, &to, "FINDING [value] public.customers.notes:"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let (in_memory, o) = verify_with_runs(rules, from, to, tmp.path(), None);
        assert_findings(&o, &[expected], &[]);
        let (on_disk, o) = verify_with_runs(rules, from, to, tmp.path(), Some("3"));
        assert_findings(&o, &[expected], &[]);
        assert_eq!(in_memory, on_disk);
    }
    // An output table without one of its columns: an error once the source is read.
    let batch = concat(&read_table(&out, "public.customers"));
    let batch = batch.project(&(1..batch.num_columns()).collect::<Vec<_>>()).unwrap();
    let file = std::fs::File::create(out.join("public.customers.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (_, o) = verify_with_runs(&shop_rules, &from, &to, tmp.path(), Some("3"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("has no column id"), "{}", text(&o));
}

/// SIGTERM (like Ctrl-C) stops a verify while it reads: it ends with the interrupted exit
/// code and removes its temporary files, instead of running to the end.
#[test]
fn an_interrupted_verify_stops_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let rules = common::shop_rules();
    let o = common::run_shop(&out, TEST_KEY, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let spill = dir.path().join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let data = fixture_dir();
    let args = ["verify", "--rules", rules.to_str().unwrap(), "--from", data.to_str().unwrap()];
    let mut cmd = common::doppel_command(&args, None);
    // Runs of 3 records and batches of 50 rows: slow enough to be stopped in the middle.
    cmd.args(["--to", out.to_str().unwrap(), "--batch-rows", "50"])
        .env("TMPDIR", &spill)
        .env("DOPPEL_VERIFY_RUN_RECORDS", "3")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_dir(&spill).unwrap().next().is_none() {
        assert!(child.try_wait().unwrap().is_none(), "verify ended before it could be interrupted");
        assert!(started.elapsed().as_secs() < 60, "verify made no temporary directory");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(text(&o).contains("interrupted"), "{}", text(&o));
    let left: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
