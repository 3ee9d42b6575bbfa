//! `doppel protect`: a protected database is never written into, replaced or dropped,
//! whatever the flags; the mark can be lifted.

mod common;

use common::pg::cluster;
use common::{TEST_KEY, doppel, root, stderr};

#[test]
fn a_protected_database_is_never_replaced_whatever_the_flags() {
    let c = cluster();
    let source = c.clubdata();
    let production = c.clubdata();
    let server = c.url("postgres");
    let out = doppel(&["protect", &production, "--url", &server], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("protected"));

    let rules = root().join("rules/clubdata.toml");
    let target = c.url(&production);
    let run = |extra: &[&str]| {
        let source_url = c.url(&source);
        let mut args =
            vec!["run", "--quiet", "--rules", rules.to_str().unwrap(), "--from", &source_url, "--to", &target];
        args.extend_from_slice(extra);
        doppel(&args, Some(TEST_KEY))
    };
    for flags in [&[][..], &["--replace"][..], &["--replace", "--force", "--terminate-connections"][..]] {
        let out = run(flags);
        assert_eq!(out.status.code(), Some(5), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is protected"), "{flags:?}: {}", stderr(&out));
    }
    // Untouched: still the original data, and no doppel leftovers beside it.
    let first_member = "SELECT string_agg(surname, ',' ORDER BY surname) FROM cd.members";
    assert_eq!(c.psql(&production, first_member).trim(), c.psql(&source, first_member).trim());
    let leftovers = c.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '%__doppel_%'");
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
