//! `doppel protect`: a protected database is never written into, replaced or dropped,
//! whatever the flags; the mark can be lifted.

use crate::common;

use common::pg::cluster;
use common::{doppel, doppel_run, root, stderr};

#[test]
fn a_protected_database_is_never_replaced_whatever_the_flags() {
    let c = cluster();
    let source = c.club();
    let production = c.club();
    let server = c.url("postgres");
    let out = doppel(&["protect", &production, "--url", &server], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("protected"));

    let rules = root().join("tests/fixtures/pg/club.toml");
    let target = c.url(&production);
    let run = |extra: &[&str]| doppel_run(&rules, &c.url(&source), &target, extra);
    for flags in [&[][..], &["--replace"][..], &["--replace", "--force", "--terminate-connections"][..]] {
        let out = run(flags);
        assert_eq!(out.status.code(), Some(5), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is protected"), "{flags:?}: {}", stderr(&out));
    }
    // Untouched: still the original data, and no doppel leftovers beside it.
    let first_member = "SELECT string_agg(surname, ',' ORDER BY surname) FROM cd.members";
    assert_eq!(c.psql(&production, first_member).trim(), c.psql(&source, first_member).trim());
    // Only this target's: other tests replace their own targets at the same time.
    let leftovers = c.psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE starts_with(datname, '{production}__doppel_')"),
    );
    assert_eq!(leftovers.trim(), "0");

    // Lifting the mark makes --replace --force possible again.
    let out = doppel(&["protect", &production, "--url", &server, "--remove"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["--replace", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(c.psql(&production, first_member).trim(), c.psql(&source, first_member).trim());
}

#[test]
fn protecting_a_missing_database_is_an_error() {
    let c = cluster();
    let out = doppel(&["protect", "no_such_database_here", "--url", &c.url("postgres")], None);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("no such database"), "{}", stderr(&out));
}

/// A small source (`public.t`, 3 rows, kept whole) and its rules file, for runs that are
/// expected to be refused or to replace a target.
fn small_source(c: &common::pg::Cluster, dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let source = c.create_database("protect_src");
    c.psql(&source, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 3);");
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "version = 1\n\n[tables.\"public.t\"]\nkeep = [\"id\"]\n").unwrap();
    (source, rules)
}

/// A target database holding `public.keepsake` (1 row), which a replace would remove.
fn target_with_keepsake(c: &common::pg::Cluster) -> String {
    let target = c.create_database("protect_tgt");
    c.psql(&target, "CREATE TABLE keepsake (n int); INSERT INTO keepsake VALUES (42);");
    target
}

fn replace_force(c: &common::pg::Cluster, source: &str, rules: &std::path::Path, target: &str) -> std::process::Output {
    doppel_run(rules, &c.url(source), &c.url(target), &["--replace", "--force"])
}

fn assert_refused_and_intact(c: &common::pg::Cluster, out: &std::process::Output, target: &str, what: &str) {
    assert_eq!(out.status.code(), Some(5), "{what}: {}", stderr(out));
    assert!(stderr(out).contains("is protected"), "{what}: {}", stderr(out));
    assert_eq!(c.scalar(target, "SELECT n FROM keepsake"), "42", "{what}: the target was touched");
}

/// For each value: a fresh target marked `ALTER DATABASE … SET doppel.protected = 'value'`
/// refuses `run --replace --force` and keeps its data.
fn assert_each_value_protects(values: &[&str]) {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (source, rules) = small_source(c, dir.path());
    for value in values {
        let target = target_with_keepsake(c);
        c.psql("postgres", &format!("ALTER DATABASE \"{target}\" SET doppel.protected = '{value}'"));
        let out = replace_force(c, &source, &rules, &target);
        assert_refused_and_intact(c, &out, &target, value);
    }
}

#[test]
fn every_spelling_of_a_true_protect_setting_refuses_a_forced_replace() {
    assert_each_value_protects(&["true", "ON", "On", "1", "yes", "Y", "t", "tRuE", " on "]);
}

#[test]
fn a_protect_setting_on_a_role_in_the_database_refuses_a_forced_replace() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (source, rules) = small_source(c, dir.path());
    let target = target_with_keepsake(c);
    let role = format!("{target}_app");
    c.psql(
        "postgres",
        &format!("CREATE ROLE \"{role}\"; ALTER ROLE \"{role}\" IN DATABASE \"{target}\" SET doppel.protected = on"),
    );
    let out = replace_force(c, &source, &rules, &target);
    assert_refused_and_intact(c, &out, &target, "role in database");

    // `doppel protect --remove` lifts only its own mark, and says which one is left and how to lift it.
    let out = doppel(&["protect", &target, "--url", &c.url("postgres"), "--remove"], None);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("ALTER ROLE \"{role}\" IN DATABASE \"{target}\" RESET doppel.protected")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_odd_protect_value_counts_as_protected() {
    assert_each_value_protects(&["maybe", "o", "on, off", ""]);
}

#[test]
fn a_false_protect_setting_does_not_protect() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (source, rules) = small_source(c, dir.path());
    for value in ["off", "false", "0", "NO"] {
        let target = target_with_keepsake(c);
        c.psql("postgres", &format!("ALTER DATABASE \"{target}\" SET doppel.protected = '{value}'"));
        let out = replace_force(c, &source, &rules, &target);
        assert!(out.status.success(), "{value}: {}", stderr(&out));
        assert_eq!(c.scalar(&target, "SELECT count(*) FROM t"), "3", "{value}");
    }
}

#[test]
fn a_protect_setting_on_the_connecting_role_protects_every_database_and_another_roles_does_not() {
    use doppel::pg::protect::{Mark, is_protected, marks};
    let c = cluster();
    let target = c.create_database("protect_role");
    let (me, other) = (format!("me_{target}"), format!("other_{target}"));
    c.psql("postgres", &format!("CREATE ROLE \"{me}\" LOGIN; CREATE ROLE \"{other}\" LOGIN;"));
    let connect = |role: &str| {
        let url = c.url("postgres").replace("postgres://postgres@", &format!("postgres://{role}@"));
        postgres::Client::connect(&url, postgres::NoTls).unwrap()
    };
    c.psql("postgres", &format!("ALTER ROLE \"{other}\" SET doppel.protected = on"));
    assert!(!is_protected(&mut connect(&me), &target).unwrap(), "another role's setting says nothing about it");
    c.psql("postgres", &format!("ALTER ROLE \"{me}\" SET doppel.protected = 'Yes'"));
    assert_eq!(marks(&mut connect(&me), &target).unwrap(), vec![Mark::Role(me.clone())]);
    assert!(is_protected(&mut connect(&me), "postgres").unwrap(), "every database, for that role");
    c.psql("postgres", &format!("DROP ROLE \"{me}\"; DROP ROLE \"{other}\";"));
}
