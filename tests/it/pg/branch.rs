//! `doppel branch create|drop|list|prune` against a real server: a branch is a fast, full copy
//! of a database doppel wrote, listed with its template, time and size; unmarked and protected
//! templates are refused (unmarked ones accepted with --force); drop and prune touch only
//! branches, never protected ones, and end sessions only with --terminate-connections.

use crate::common;

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::pg::cluster;
use common::{doppel, doppel_run, root, stderr};

/// A database name no other test uses (not created).
fn fresh(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// `doppel run` of trade's rules from database `from` into database `to`, with `extra` flags.
fn run_trade(from: &str, to: &str, extra: &[&str]) {
    let c = cluster();
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let out = doppel_run(&rules, &c.url(from), &c.url(to), extra);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A new database written by `doppel run` from trade (comment `doppel V: complete`).
fn anonymised() -> String {
    let target = fresh("anon");
    run_trade(&cluster().trade(), &target, &[]);
    target
}

/// `doppel branch <args> --url <postgres database>`.
fn branch(args: &[&str]) -> Output {
    let url = cluster().url("postgres");
    let mut all = vec!["branch"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--url", &url]);
    doppel(&all, None)
}

/// Asserts that `out` failed with exit code `code` and a message containing `needle`.
fn fails(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
    assert!(stderr(out).contains(needle), "expected {needle:?} in: {}", stderr(out));
}

fn exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

fn comment(db: &str) -> String {
    cluster().scalar(
        "postgres",
        &format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{db}'"),
    )
}

fn connect(db: &str) -> postgres::Client {
    postgres::Client::connect(&cluster().url(db), postgres::NoTls).expect("connect")
}

const ORDERS_DIGEST: &str = "SELECT md5(string_agg(o::text, '|' ORDER BY order_id)) FROM orders o";
const CUSTOMERS_DIGEST: &str = "SELECT md5(string_agg(c::text, '|' ORDER BY customer_id)) FROM customers c";

#[test]
fn a_branch_is_a_fast_full_copy_listed_with_template_time_and_size() {
    let c = cluster();
    let template = anonymised();
    let name = fresh("feature_x");
    let started = Instant::now();
    let out = branch(&["create", &name, "--template", &template]);
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("created branch {name} from {template}")), "{}", stderr(&out));
    eprintln!("branch create took {seconds:.2} s");
    assert!(seconds < 20.0, "branch create took {seconds:.2} s");

    // The same rows, byte for byte, as the template.
    for digest in [ORDERS_DIGEST, CUSTOMERS_DIGEST] {
        assert_eq!(c.scalar(&name, digest), c.scalar(&template, digest));
    }
    assert_eq!(
        c.scalar(&name, "SELECT count(*) FROM order_details"),
        c.scalar(&template, "SELECT count(*) FROM order_details")
    );
    assert!(comment(&name).contains(&format!("branch of \"{template}\" (created ")), "{}", comment(&name));

    // list: a table on stdout, with the template and a size.
    let out = branch(&["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    eprintln!("{table}");
    assert!(table.starts_with("NAME"), "{table}");
    let line = table.lines().find(|l| l.starts_with(&format!("{name} "))).expect("branch listed");
    assert!(line.contains(&template) && (line.contains("kB") || line.contains("MB")), "{line}");
    assert!(!table.lines().any(|l| l.starts_with(&format!("{template} "))), "the template is not a branch:\n{table}");

    // list --json: name, template, created_at, size_bytes.
    let out = branch(&["list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(listed["schema"], "doppel.branch.list/1");
    assert!(listed["server"].is_string(), "{listed}");
    let items = &listed["branches"];
    let item = items.as_array().unwrap().iter().find(|i| i["name"] == name.as_str()).expect("branch in JSON");
    assert_eq!(item["template"], template.as_str());
    let size = item["size_bytes"].as_i64().unwrap();
    let server_size: i64 = c.scalar("postgres", &format!("SELECT pg_database_size('{name}')")).parse().unwrap();
    assert_eq!(size, server_size);
    let created = chrono::DateTime::parse_from_rfc3339(item["created_at"].as_str().unwrap()).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(created);
    assert!(age.num_seconds().abs() < 300, "created_at {created}");
    let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "name", "size_bytes", "template"]);

    // A branch may be the template of another branch.
    let child = fresh("feature_x_child");
    let out = branch(&["create", &child, "--template", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&child, ORDERS_DIGEST), c.scalar(&template, ORDERS_DIGEST));

    // Dropped: gone from the server and from the list.
    for db in [&child, &name] {
        let out = branch(&["drop", db]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(&format!("dropped branch {db}")), "{}", stderr(&out));
        assert!(!exists(db));
    }
    let out = branch(&["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(!listed["branches"].as_array().unwrap().iter().any(|i| i["name"] == name.as_str()));
    assert!(exists(&template), "the template stays");
}

#[test]
fn unmarked_unfinished_busy_and_protected_templates_are_refused() {
    let c = cluster();
    // The trade source: no doppel marker, so possibly production.
    let production = c.trade();
    let name = fresh("from_prod");
    let out = branch(&["create", &name, "--template", &production]);
    fails(&out, 5, "was not written by doppel");
    assert!(stderr(&out).contains(&production), "{}", stderr(&out));
    assert!(!exists(&name));

    // --force accepts an unmarked template.
    let out = branch(&["create", &name, "--template", &production, "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&name, ORDERS_DIGEST), c.scalar(&production, ORDERS_DIGEST));
    let out = branch(&["drop", &name]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A protected database is refused even with --force, marked by doppel or not.
    let anon = anonymised();
    for template in [&production, &anon] {
        let out = doppel(&["protect", template, "--url", &c.url("postgres")], None);
        assert!(out.status.success(), "{}", stderr(&out));
        for flags in [&[][..], &["--force"][..]] {
            let mut args = vec!["create", &name, "--template", template];
            args.extend_from_slice(flags);
            let out = branch(&args);
            fails(&out, 5, "is protected");
            assert!(!exists(&name));
        }
    }
    let out = doppel(&["protect", &anon, "--url", &c.url("postgres"), "--remove"], None);
    assert!(out.status.success(), "{}", stderr(&out));

    // Another session on the template: a clear error naming it, nothing created.
    let session = connect(&anon);
    let out = branch(&["create", &name, "--template", &anon]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("(database {anon})")) && err.contains("1 session(s) open"), "{err}");
    assert!(err.contains("ALLOW_CONNECTIONS false"), "{err}");
    assert!(!exists(&name));
    drop(session);

    // The remedy the message gives: a template nobody may connect to is still refreshed by
    // `run --replace` (which keeps the setting) and cloned.
    c.psql("postgres", &format!("ALTER DATABASE {anon} WITH ALLOW_CONNECTIONS false"));
    run_trade(&production, &anon, &["--replace"]);
    assert_eq!(c.scalar("postgres", &format!("SELECT datallowconn FROM pg_database WHERE datname = '{anon}'")), "f");
    let out = branch(&["create", &name, "--template", &anon]);
    assert!(out.status.success(), "{}", stderr(&out));
    let orders = "SELECT count(*) FROM orders";
    assert_eq!(c.scalar(&name, orders), c.scalar(&production, orders));
    assert!(branch(&["drop", &name]).status.success());

    // A database a doppel run is still loading (or a killed one left) is refused, even with --force.
    let loading = fresh("loading");
    c.psql("postgres", &format!("CREATE DATABASE {loading}"));
    c.psql(
        "postgres",
        &format!("COMMENT ON DATABASE {loading} IS 'doppel 0.1.0: loading (pid 1, host h, snapshot s)'"),
    );
    for flags in [&[][..], &["--force"][..]] {
        let mut args = vec!["create", &name, "--template", &loading];
        args.extend_from_slice(flags);
        let out = branch(&args);
        fails(&out, 5, "has not finished");
    }

    // A missing template, and a branch name that exists already.
    let out = branch(&["create", &name, "--template", "no_such_template_db"]);
    fails(&out, 5, "no such database");
    let out = branch(&["create", &production, "--template", &anon]);
    fails(&out, 5, "already exists");
}

#[test]
fn drop_refuses_what_is_not_a_branch_and_missing_ones_need_if_exists() {
    let c = cluster();
    let production = c.trade();
    let out = branch(&["drop", &production, "--terminate-connections"]);
    fails(&out, 5, "was not created by `doppel branch create`");
    assert!(exists(&production));

    // A `doppel run` output is doppel's, but not a branch: not dropped either.
    let anon = anonymised();
    let out = branch(&["drop", &anon]);
    fails(&out, 5, "was written by `doppel run`");
    assert!(exists(&anon));

    // A protected branch is not dropped.
    let name = fresh("protected_branch");
    assert!(branch(&["create", &name, "--template", &anon]).status.success());
    assert!(doppel(&["protect", &name, "--url", &c.url("postgres")], None).status.success());
    let out = branch(&["drop", &name, "--terminate-connections"]);
    fails(&out, 5, "is protected");
    assert!(exists(&name));

    // `run --replace` may rebuild a branch without --force; it is then a run's output, not a branch.
    assert!(doppel(&["protect", &name, "--url", &c.url("postgres"), "--remove"], None).status.success());
    run_trade(&production, &name, &["--replace"]);
    assert!(comment(&name).ends_with(": complete"), "{}", comment(&name));
    let out = branch(&["drop", &name]);
    fails(&out, 5, "was written by `doppel run`");

    // A missing branch: an error, or nothing to do with --if-exists.
    let missing = fresh("never_created");
    let out = branch(&["drop", &missing]);
    fails(&out, 5, "no such database");
    assert!(stderr(&out).contains("--if-exists"), "{}", stderr(&out));
    let out = branch(&["drop", &missing, "--if-exists", "--terminate-connections"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
}

#[test]
fn open_sessions_stop_a_drop_unless_terminate_connections() {
    let template = anonymised();
    let name = fresh("busy_branch");
    assert!(branch(&["create", &name, "--template", &template]).status.success());
    let mut session = connect(&name);
    let out = branch(&["drop", &name]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1 other session(s)") && err.contains("--terminate-connections"), "{err}");
    assert!(exists(&name));
    assert!(session.simple_query("SELECT 1").is_ok(), "the session was left alone");

    let out = branch(&["drop", &name, "--terminate-connections"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!exists(&name));
    assert!(session.simple_query("SELECT 1").is_err(), "the session was ended");
}

/// The JSON document on `out`'s stdout, checked against the documented fields of `schema`.
fn json_of(out: &Output, schema: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    crate::cli::shell::assert_documented(schema, &doc);
    doc
}

/// The `name`s of a JSON array of branches, sorted.
fn names_in(branches: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> =
        branches.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

fn sorted<const N: usize>(names: [&String; N]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    names.sort();
    names
}

#[test]
fn create_and_drop_print_their_documented_json_on_stdout_and_are_silent_with_quiet() {
    let template = anonymised();
    let name = fresh("json");
    let out = branch(&["create", &name, "--template", &template, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("created branch {name} from {template}")), "{}", stderr(&out));
    let doc = json_of(&out, "doppel.branch.create/1");
    assert_eq!((doc["name"].as_str(), doc["template"].as_str()), (Some(name.as_str()), Some(template.as_str())));
    assert!(doc["size_bytes"].as_i64().unwrap() > 0 && doc["seconds"].as_f64().unwrap() >= 0.0, "{doc}");
    assert!(doc["created_at"].as_str().unwrap().ends_with('Z'), "{doc}");
    assert!(doc["server"].as_str().unwrap().contains("postgres"), "{doc}");

    let out = branch(&["drop", &name, "--json", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "--quiet");
    let doc = json_of(&out, "doppel.branch.drop/1");
    assert_eq!((doc["name"].as_str(), doc["dropped"].as_bool()), (Some(name.as_str()), Some(true)), "{doc}");
    assert_eq!(doc["template"], template.as_str());
    assert!(!exists(&name));

    // A missing branch with --if-exists: dropped false, the branch's fields null.
    let out = branch(&["drop", &name, "--if-exists", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out, "doppel.branch.drop/1");
    assert_eq!(doc["dropped"], false);
    assert!(doc["template"].is_null() && doc["created_at"].is_null() && doc["size_bytes"].is_null(), "{doc}");
    // Without it: exit 5 and nothing on stdout.
    let out = branch(&["drop", &name, "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let out = branch(&["create", &name, "--template", &template, "-q"]);
    assert!(out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(), "{}", stderr(&out));
    assert!(branch(&["drop", &name, "-q"]).status.success());
}

#[test]
fn prune_drops_only_branches_older_than_the_limit() {
    let c = cluster();
    let template = anonymised();
    let names: Vec<String> =
        ["old", "old_protected", "old_busy", "young"].iter().map(|n| fresh(&format!("prune_{n}"))).collect();
    for name in &names {
        let out = branch(&["create", name, "--template", &template]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let [old, old_protected, old_busy, young] = [&names[0], &names[1], &names[2], &names[3]];
    // Ten days old, as far as their markers say.
    for name in [old, old_protected, old_busy] {
        let marker = comment(name);
        let start = marker.find("(created ").unwrap() + "(created ".len();
        let end = start + marker[start..].find(',').unwrap();
        let backdated = format!("{}2000-01-01T00:00:00Z{}", &marker[..start], &marker[end..]);
        c.psql("postgres", &format!("COMMENT ON DATABASE {name} IS '{}'", backdated.replace('\'', "''")));
    }
    assert!(doppel(&["protect", old_protected, "--url", &c.url("postgres")], None).status.success());
    let session = connect(old_busy);

    // --dry-run: says what would go, drops nothing.
    let out = branch(&["prune", "--older-than", "7d", "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out, "doppel.branch.prune/1");
    assert_eq!((doc["dry_run"].as_bool(), doc["older_than"].as_str()), (Some(true), Some("7d")), "{doc}");
    assert_eq!(names_in(&doc["dropped"]), sorted([old, old_busy]), "{doc}");
    assert_eq!(names_in(&doc["protected"]), sorted([old_protected]), "{doc}");
    assert_eq!(doc["dropped"][0]["created_at"], "2000-01-01T00:00:00Z", "{doc}");
    assert!(doc["kept_younger"].as_u64().unwrap() >= 1, "{doc}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("would drop branch {old} ")) && err.contains(&format!("would drop branch {old_busy} ")),
        "{err}"
    );
    assert!(err.contains(&format!("kept branch {old_protected} ")), "{err}");
    assert!(!err.contains(&format!("branch {young} ")), "{err}");
    assert!(names.iter().all(|n| exists(n)));

    // Without --terminate-connections the busy one stays (exit 5), the others go; the JSON
    // says which, and why.
    let out = branch(&["prune", "--older-than", "7d", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let doc = json_of(&out, "doppel.branch.prune/1");
    assert_eq!(names_in(&doc["dropped"]), sorted([old]), "{doc}");
    assert_eq!(names_in(&doc["failed"]), sorted([old_busy]), "{doc}");
    assert!(doc["failed"][0]["error"].as_str().unwrap().contains("--terminate-connections"), "{doc}");
    let err = stderr(&out);
    assert!(err.contains(&format!("dropped branch {old} ")), "{err}");
    assert!(
        err.contains(&format!("could not drop branch {old_busy}: ")) && err.contains("--terminate-connections"),
        "{err}"
    );
    assert!(!exists(old) && exists(old_busy) && exists(old_protected) && exists(young));

    let out = branch(&["prune", "--older-than", "1w", "--terminate-connections"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("dropped branch {old_busy} ")), "{}", stderr(&out));
    assert!(!exists(old_busy) && exists(old_protected) && exists(young));
    drop(session);

    // A bad duration is a usage error.
    let out = branch(&["prune", "--older-than", "7 days"]);
    fails(&out, 2, "--older-than");

    assert!(doppel(&["protect", old_protected, "--url", &c.url("postgres"), "--remove"], None).status.success());
    for name in [old_protected, young] {
        assert!(branch(&["drop", name]).status.success());
    }
    assert!(exists(&template), "the template stays");
}

#[test]
fn invalid_names_and_urls_naming_the_database_itself_are_usage_errors() {
    let c = cluster();
    let long = "b".repeat(64);
    for (name, reason) in [
        ("", "is empty"),
        ("postgres", "server's own"),
        ("template1", "server's own"),
        (long.as_str(), "64 bytes"),
        ("app__doppel_12", "__doppel_"),
        ("app\nx", "control character"),
    ] {
        for args in [&["create", name, "--template", "whatever"][..], &["drop", name][..]] {
            let out = branch(args);
            fails(&out, 2, reason);
        }
    }
    assert!(!exists(&long[..63]));

    // --url on the template itself: CREATE DATABASE … TEMPLATE could never work.
    let template = c.create_database("busy_template");
    let out = doppel(&["branch", "create", "x_branch", "--template", &template, "--url", &c.url(&template)], None);
    fails(&out, 2, "--url connects to");
}

#[test]
fn a_branch_is_neither_created_nor_dropped_while_a_run_holds_its_name() {
    let template = anonymised();
    let name = fresh("br_locked");
    // What a doppel run building or replacing NAME holds for its whole life.
    let mut holder = connect("postgres");
    let key = doppel::pg::lock::lock_key(&name);
    holder.execute("SELECT pg_advisory_lock($1)", &[&key]).unwrap();
    fails(&branch(&["create", &name, "--template", &template]), 5, "another doppel run is building or replacing");
    assert!(!exists(&name));
    holder.execute("SELECT pg_advisory_unlock($1)", &[&key]).unwrap();
    assert!(branch(&["create", &name, "--template", &template]).status.success());

    holder.execute("SELECT pg_advisory_lock($1)", &[&key]).unwrap();
    fails(&branch(&["drop", &name]), 5, "another doppel run is building or replacing");
    assert!(exists(&name));
    drop(holder);
    assert!(branch(&["drop", &name]).status.success());
    assert!(!exists(&name));
}
