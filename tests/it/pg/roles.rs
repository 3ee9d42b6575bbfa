//! `--role-map`: owners and privileges of mapped roles are restored under the target's role
//! names; without a map nothing names a production role, so roles missing on the target never
//! break a load.

use crate::common;

use common::pg::cluster;
use common::{doppel_run_saying, stderr};

const RULES: &str = "version = 1\n[tables.\"app.accounts\"]\nkeep = [\"id\", \"name\"]\n";

/// A source database whose table belongs to `rm_prod_owner`, readable by `rm_prod_reader` and
/// `rm_prod_only`; the target server also has `rm_stage_owner` and `rm_stage_reader`.
fn source_with_roles() -> String {
    static ROLES: std::sync::Once = std::sync::Once::new();
    let c = cluster();
    ROLES.call_once(|| {
        c.psql(
            "postgres",
            "CREATE ROLE rm_prod_owner; CREATE ROLE rm_prod_reader; CREATE ROLE rm_prod_only; \
             CREATE ROLE rm_stage_owner; CREATE ROLE \"rm stage reader\";",
        );
    });
    let db = c.create_database("roles_src");
    c.psql(
        &db,
        "CREATE SCHEMA app AUTHORIZATION rm_prod_owner;
         CREATE TABLE app.accounts (id serial PRIMARY KEY, name text);
         INSERT INTO app.accounts (name) VALUES ('a'), ('b');
         ALTER TABLE app.accounts OWNER TO rm_prod_owner;
         GRANT SELECT ON app.accounts TO rm_prod_reader;
         GRANT SELECT, UPDATE ON app.accounts TO rm_prod_only;
         GRANT USAGE ON SCHEMA app TO rm_prod_reader;",
    );
    db
}

fn run(source: &str, to: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    // Not quiet: the roles left out are logged.
    doppel_run_saying(&rules, &cluster().url(source), to, extra)
}

#[test]
fn mapped_roles_own_and_read_on_the_target_and_unmapped_ones_are_left_out() {
    let c = cluster();
    let source = source_with_roles();
    let target = format!("{source}_mapped");
    let map = ["--role-map", "rm_prod_owner=rm_stage_owner", "--role-map", "rm_prod_reader=rm stage reader"];
    let out = run(&source, &c.url(&target), &map);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("rm_prod_only"), "the left-out role is logged: {}", stderr(&out));
    let owner = |db: &str| c.scalar(db, "SELECT tableowner FROM pg_tables WHERE schemaname = 'app'");
    assert_eq!(owner(&target), "rm_stage_owner");
    assert_eq!(
        c.scalar(&target, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'app'"),
        "rm_stage_owner"
    );
    let can = |db: &str, role: &str, privilege: &str| {
        c.scalar(db, &format!("SELECT has_table_privilege('{role}', 'app.accounts', '{privilege}')"))
    };
    assert_eq!(can(&target, "rm stage reader", "SELECT"), "t");
    assert_eq!(can(&target, "rm stage reader", "UPDATE"), "f");
    assert_eq!(can(&target, "rm_prod_reader", "SELECT"), "f");
    assert_eq!(can(&target, "rm_prod_only", "SELECT"), "f");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM app.accounts"), "2");

    // Without a map: owned by the connecting role, no grants at all.
    let plain = format!("{source}_plain");
    let out = run(&source, &c.url(&plain), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(owner(&plain), c.scalar("postgres", "SELECT current_user"));
    assert_eq!(can(&plain, "rm_prod_reader", "SELECT"), "f");

    // The same map in a SQL dump.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.sql");
    let out = run(&source, file.to_str().unwrap(), &map);
    assert!(out.status.success(), "{}", stderr(&out));
    let sql = std::fs::read_to_string(&file).unwrap();
    assert!(sql.contains("ALTER TABLE app.accounts OWNER TO \"rm_stage_owner\";"), "{sql}");
    assert!(sql.contains("TO \"rm stage reader\";"), "{sql}");
    // Only pg_dump's own comment headers (`-- Name: …; Owner: rm_prod_owner`) still name them.
    let statements: Vec<&str> = sql.lines().filter(|l| !l.starts_with("--")).collect();
    assert!(!statements.iter().any(|l| l.contains("rm_prod_")), "{sql}");
}

#[test]
fn a_target_role_missing_on_the_server_is_refused_before_anything_is_created() {
    let c = cluster();
    let source = source_with_roles();
    let target = format!("{source}_missing");
    let out = run(&source, &c.url(&target), &["--role-map", "rm_prod_owner=rm_nobody"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("role rm_nobody, named by --role-map, does not exist"), "{}", stderr(&out));
    assert_eq!(c.scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")), "0");
    let out = run(&source, &c.url(&target), &["--role-map", "no-equals-sign"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_post_data_owner_is_mapped_too_when_post_data_runs_over_several_connections() {
    // A publication's owner is a post-data statement (`ALTER PUBLICATION … OWNER TO`), which
    // pg_restore --jobs cannot rename: the mapped script runs on one connection instead.
    let c = cluster();
    let source = source_with_roles();
    c.psql(
        &source,
        "CREATE PUBLICATION rm_pub FOR TABLE app.accounts; ALTER PUBLICATION rm_pub OWNER TO rm_prod_owner;",
    );
    let publication_owner = |db: &str| c.scalar(db, "SELECT pubowner::regrole::text FROM pg_publication");
    let target = format!("{source}_pub");
    let map = ["--role-map", "rm_prod_owner=rm_stage_owner", "--jobs", "4"];
    let out = run(&source, &c.url(&target), &map);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(publication_owner(&target), "rm_stage_owner");
    assert_eq!(c.scalar(&target, "SELECT tableowner FROM pg_tables WHERE schemaname = 'app'"), "rm_stage_owner");
    // Without a map, the connecting role owns it.
    let plain = format!("{source}_pub_plain");
    let out = run(&source, &c.url(&plain), &["--jobs", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(publication_owner(&plain), c.scalar("postgres", "SELECT current_user"));
}
