//! Plan-time checks and reports that need a real PostgreSQL source: keys read from the
//! catalog, a foreign key into a skipped table, generated values that do not fit the
//! declared `varchar(n)` (and templates, `redact` and `json` that fit it), row-level security hiding rows from the reading role, and what is
//! not copied (large objects, foreign tables) reported in the log.

use crate::common;

use std::path::{Path, PathBuf};

use common::pg::cluster;
use common::*;
use doppel::schema::ForeignKey;
use doppel::source::Source;
use doppel::source::postgres::PostgresSource;

/// customers ← orders ← order_lines (composite, deferrable), order_lines → itself, a
/// partitioned events table referencing customers and referenced through a partition.
const SCHEMA: &str = r#"
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
    id integer, no integer, customer_id integer REFERENCES customers (id),
    PRIMARY KEY (no, id)
);
CREATE TABLE order_lines (
    id integer PRIMARY KEY, order_id integer, order_no integer, parent_line integer,
    CONSTRAINT lines_order_fk FOREIGN KEY (order_no, order_id) REFERENCES orders (no, id)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT lines_parent_fk FOREIGN KEY (parent_line) REFERENCES order_lines (id) ON DELETE CASCADE
);
CREATE TABLE events (id integer, day date, customer_id integer, PRIMARY KEY (id, day),
    CONSTRAINT events_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id))
    PARTITION BY RANGE (day);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE event_notes (event_id integer, event_day date, note text,
    CONSTRAINT notes_event_fk FOREIGN KEY (event_id, event_day) REFERENCES events_2024 (id, day));
INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO orders VALUES (10, 1, 1), (11, 1, 2);
INSERT INTO order_lines VALUES (100, 10, 1, NULL), (101, 10, 1, 100);
INSERT INTO events VALUES (1, '2024-05-01', 1), (2, '2025-05-01', 2);
INSERT INTO event_notes VALUES (1, '2024-05-01', 'first');
"#;

const RULES: &str = r#"version = 1
[tables."public.customers"]
keep = ["id", "name"]
[tables."public.orders"]
keep = ["id", "no", "customer_id"]
[tables."public.order_lines"]
keep = ["id", "order_id", "order_no", "parent_line"]
[tables."public.events"]
keep = ["id", "day", "customer_id"]
[tables."public.event_notes"]
keep = ["event_id", "event_day", "note"]
"#;

fn shop_db() -> String {
    let c = cluster();
    let db = c.create_database("plan_checks");
    c.psql(&db, SCHEMA);
    db
}

fn write_rules(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn check(rules: &Path, url: &str) -> std::process::Output {
    doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", url], None)
}

fn run(rules: &Path, url: &str, to: &str) -> std::process::Output {
    doppel_run(rules, url, to, &[])
}

/// `check` accepts the rules and `run` loads `db` into `<db>_target`, which it returns.
fn check_and_load(rules: &Path, db: &str) -> String {
    let c = cluster();
    let out = check(rules, &c.url(db));
    assert!(out.status.success(), "{}", stderr(&out));
    let target = format!("{db}_target");
    let out = run(rules, &c.url(db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    target
}

fn database_exists(db: &str) -> bool {
    cluster().scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")) == "1"
}

fn fk(name: &str, columns: &[&str], references: &str, references_columns: &[&str], deferrable: bool) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        references_table: references.into(),
        references_columns: references_columns.iter().map(|c| c.to_string()).collect(),
        deferrable,
    }
}

#[test]
fn keys_come_from_the_catalog_in_constraint_order() {
    let c = cluster();
    let db = shop_db();
    let source = PostgresSource::open(&c.url(&db)).unwrap();
    let table = |name: &str| source.tables().iter().find(|t| t.name == name).unwrap().clone();
    let names: Vec<&str> = source.tables().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["public.customers", "public.event_notes", "public.events", "public.order_lines", "public.orders"]
    );

    assert_eq!(table("public.customers").primary_key, Some(vec!["id".to_string()]));
    assert!(table("public.customers").foreign_keys.is_empty());
    let orders = table("public.orders");
    assert_eq!(orders.primary_key, Some(vec!["no".to_string(), "id".to_string()]), "key order, not column order");
    assert_eq!(
        orders.foreign_keys,
        vec![fk("orders_customer_id_fkey", &["customer_id"], "public.customers", &["id"], false)]
    );
    let lines = table("public.order_lines");
    assert_eq!(
        lines.foreign_keys,
        vec![
            fk("lines_order_fk", &["order_no", "order_id"], "public.orders", &["no", "id"], true),
            fk("lines_parent_fk", &["parent_line"], "public.order_lines", &["id"], false),
        ]
    );
    // Declared once on the partitioned table (not once per partition).
    let events = table("public.events");
    assert_eq!(events.primary_key, Some(vec!["id".to_string(), "day".to_string()]));
    assert_eq!(
        events.foreign_keys,
        vec![fk("events_customer_fk", &["customer_id"], "public.customers", &["id"], false)]
    );
    // A reference to a partition names the table doppel reads it through.
    let notes = table("public.event_notes");
    assert_eq!(notes.primary_key, None);
    assert_eq!(
        notes.foreign_keys,
        vec![fk("notes_event_fk", &["event_id", "event_day"], "public.events", &["id", "day"], false)]
    );
    assert!(source.tables().iter().all(|t| !t.row_security));
}

#[test]
fn a_foreign_key_into_a_skipped_table_stops_check_and_run_unless_its_columns_are_nulled() {
    let c = cluster();
    let db = shop_db();
    let dir = tempfile::tempdir().unwrap();
    let skipped = RULES.replace("keep = [\"id\", \"name\"]", "action = \"skip\"");
    let rules = write_rules(dir.path(), &skipped);

    let out = check(&rules, &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for (table, constraint) in [("public.orders", "orders_customer_id_fkey"), ("public.events", "events_customer_fk")] {
        let line = err.lines().find(|l| l.contains(constraint)).unwrap_or_else(|| panic!("{constraint}: {err}"));
        assert!(line.contains(&format!("{table}: foreign key {constraint} (customer_id) references public.customers")));
        assert!(line.contains("Copy public.customers too") && line.contains(&format!("skip {table} as well")));
        assert!(line.contains("set customer_id to { action = \"null\" }"), "{line}");
    }
    assert_eq!(err.matches("foreign key").count(), 2, "{err}");

    // run stops before writing anything, into Parquet and into a database.
    let parquet = dir.path().join("out");
    let out = run(&rules, &c.url(&db), parquet.to_str().unwrap());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("orders_customer_id_fkey"));
    assert!(!parquet.exists());
    let target = format!("{db}_fk_target");
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!database_exists(&target));

    // Nulling the referencing columns makes the copy valid: the target's constraints hold.
    let nulled = skipped
        .replace(
            "keep = [\"id\", \"no\", \"customer_id\"]",
            "keep = [\"id\", \"no\"]\ncolumns = { customer_id = { action = \"null\" } }",
        )
        .replace(
            "keep = [\"id\", \"day\", \"customer_id\"]",
            "keep = [\"id\", \"day\"]\ncolumns = { customer_id = { action = \"null\" } }",
        );
    let rules = write_rules(dir.path(), &nulled);
    let out = check(&rules, &c.url(&db));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&rules, &c.url(&db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM orders WHERE customer_id IS NULL"), "2");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM customers"), "0");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"), "0");
}

#[test]
fn values_longer_than_the_declared_varchar_are_refused_at_plan_time() {
    let c = cluster();
    let db = c.create_database("plan_fit");
    c.psql(
        &db,
        "CREATE TABLE people (id integer PRIMARY KEY, email varchar(12), code char(2), token varchar(12), \
                              price numeric(5,2), qty smallint);
         INSERT INTO people SELECT i, 'p' || i || '@x.io', 'DE', 'tok' || i, i, i FROM generate_series(1, 49) i;
         INSERT INTO people VALUES (50, 'p50@x.io', 'DE', 'tok50', 999.99, 32767);",
    );
    let dir = tempfile::tempdir().unwrap();
    // Rules for the four columns, one line each (lines 5 to 8 of the file).
    let rules = |email: &str, code: &str, token: &str, price: &str| {
        write_rules(
            dir.path(),
            &format!(
                "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\"]\n[tables.\"public.people\".columns]\n\
                 email = {{ {email} }}\ncode = {{ {code} }}\ntoken = {{ {token} }}\nprice = {{ {price} }}\n\
                 qty = {{ action = \"noise\", absolute = 1000 }}\n"
            ),
        )
    };

    // Knowable at plan time: every problem at once, with file, line, table and column.
    let rules_file = rules(
        "action = \"fake\", generator = \"uuid\"",
        "action = \"constant\", value = \"DEU\"",
        "action = \"hash\", length = 16",
        "action = \"constant\", value = \"1000.00\"",
    );
    let out = check(&rules_file, &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rules.toml:5: public.people.email: generator `uuid` (locale en) at its longest makes values of 36 characters, and the column's type character varying(12) holds at most 12"), "{err}");
    assert!(err.contains("rules.toml:6: public.people.code: the constant is 3 characters long, and the column's type character(2) holds at most 2"), "{err}");
    assert!(
        err.contains("rules.toml:7: public.people.token: `hash` with length = 16 makes values of 16 characters")
            && err.contains("use `length = 12` or less"),
        "{err}"
    );
    assert!(err.contains("rules.toml:8: public.people.price: ") && err.contains("numeric(5,2)"), "{err}");
    assert!(!err.contains("DEU") && !err.contains("1000"), "{err}");

    // Fake emails have no longest value: measured, too few of them fit 12 characters, so the
    // plan refuses them (on a wider column they are made to fit, see strategy::fake).
    let code = "action = \"fake\", generator = \"country_code\"";
    let price = "action = \"noise\", absolute = 50";
    let rules_file = rules("action = \"fake\", generator = \"email\"", code, "action = \"hash\", length = 12", price);
    let out = check(&rules_file, &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rules.toml:5: public.people.email: generator `email` (locale en) makes values of up to")
    );
    assert!(stderr(&out).contains("(measured)"), "{}", stderr(&out));

    // A template's longest value is known too: its fixed text and the longest values of the
    // columns it reads after their rules. Too long: refused by check and run alike, naming
    // the longest value and the limit; nothing is left behind.
    let template = "action = \"template\", template = \"{token}-{token}\"";
    let rules_file = rules(template, code, "action = \"hash\", length = 12", price);
    let out = check(&rules_file, &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "rules.toml:5: public.people.email: the template makes values of up to 25 characters (1 of fixed text, \
             `{token}` up to 12, `{token}` up to 12), and the column's type character varying(12) holds at most 12; \
             shorten the template"
        ),
        "{err}"
    );
    let target = format!("{db}_target");
    let out = run(&rules_file, &c.url(&db), &c.url(&target));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("the template makes values of up to 25 characters"), "{}", stderr(&out));
    assert!(!database_exists(&target));
    let parquet = dir.path().join("out");
    let out = run(&rules_file, &c.url(&db), parquet.to_str().unwrap());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!parquet.exists());
    // A template reading a column without a longest value (kept `text`, an email generator on
    // `text`) is refused too, saying why.
    c.psql(&db, "ALTER TABLE people ADD COLUMN bio text; UPDATE people SET bio = 'likes tea';");
    let with_bio = |email: &str, bio: &str| {
        let text = std::fs::read_to_string(rules(email, code, "action = \"hash\", length = 12", price)).unwrap();
        write_rules(dir.path(), &format!("{text}bio = {{ {bio} }}\n"))
    };
    let out = check(&with_bio("action = \"template\", template = \"{bio}\"", "action = \"keep\""), &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "rules.toml:5: public.people.email: the template's values have no longest length: `bio` is kept, and its \
             type text has no length limit, so doppel cannot promise that every value fits the column's type \
             character varying(12), which holds at most 12;"
        ),
        "{}",
        stderr(&out)
    );
    let bio = "action = \"fake\", generator = \"email\"";
    let out = check(&with_bio("action = \"template\", template = \"{bio}\"", bio), &c.url(&db));
    assert!(
        stderr(&out).contains("`bio` gets generator `email` (locale en), which has no longest value, and its type text has no length limit"),
        "{}",
        stderr(&out)
    );
    // JSON text in a varchar(n): a document read may already fill it, so a path rule that can
    // lengthen a value is refused.
    let json = "action = \"json\", paths = { \"a\" = { action = \"fake\", generator = \"first_name\" } }";
    let out = check(&with_bio(json, "action = \"keep\""), &c.url(&db));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "rules.toml:5: public.people.email: the documents have no longest length within the column's type \
             character varying(12): a document read may already be 12 characters long"
        ) && stderr(&out)
            .contains("the rule at `a` (fake generator=\"first_name\" locale=\"en\") can make a value longer"),
        "{}",
        stderr(&out)
    );
    c.psql(&db, "ALTER TABLE people DROP COLUMN bio;");

    // A generated value that fits is loaded as it is.
    let rules_file = rules("action = \"hash\", length = 12", code, "action = \"mask\", keep_first = 3", price);
    let out = run(&rules_file, &c.url(&db), &c.url(&target));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people WHERE length(email) = 12 AND length(code) = 2"), "50");
    // Noise stays within smallint and numeric(5,2) at their limits (the target accepted them).
    assert_eq!(c.scalar(&target, "SELECT price <> 999.99 AND qty <> 32767 FROM people WHERE id = 50"), "t");
}

#[test]
fn row_level_security_that_would_hide_rows_is_refused_and_never_filters_silently() {
    let c = cluster();
    let db = c.create_database("plan_rls");
    let role = format!("{db}_reader");
    c.psql(
        &db,
        &format!(
            "CREATE ROLE {role} LOGIN;
             CREATE TABLE notes (id integer PRIMARY KEY, owner text);
             CREATE TABLE open_data (id integer PRIMARY KEY);
             INSERT INTO notes VALUES (1, 'a'), (2, 'b'), (3, 'b');
             INSERT INTO open_data VALUES (1);
             ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
             CREATE POLICY only_a ON notes FOR SELECT USING (owner = 'a');
             GRANT SELECT ON notes, open_data TO {role};"
        ),
    );
    let reader_url = c.url(&db).replace("postgres://postgres@", &format!("postgres://{role}@"));
    let dir = tempfile::tempdir().unwrap();
    let rules_text = "version = 1\n[tables.\"public.notes\"]\nkeep = [\"id\", \"owner\"]\n\
                      [tables.\"public.open_data\"]\nkeep = [\"id\"]\n";
    let rules = write_rules(dir.path(), rules_text);

    // As a role the policy applies to: a plan error naming the table and what to do.
    let out = check(&rules, &reader_url);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rules.toml:2: public.notes: row-level security policies"), "{err}");
    assert!(err.contains("BYPASSRLS") && err.contains("action = \"skip\""), "{err}");
    assert!(!err.contains("open_data"), "{err}");
    let parquet = dir.path().join("out");
    let out = run(&rules, &reader_url, parquet.to_str().unwrap());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!parquet.exists());

    // The reader itself refuses too (exit 4), rather than returning the policy's rows.
    let source = PostgresSource::open(&reader_url).unwrap();
    let e = source.read("public.notes", 100).err().expect("refused");
    assert!(e.to_string().contains("row-level security") && e.to_string().contains(&role), "{e}");
    assert_eq!(e.exit_code(), 4);
    drop(source);

    // Skipping the table is fine; so is reading as the owner, or as a BYPASSRLS role.
    let skip = write_rules(dir.path(), &rules_text.replace("keep = [\"id\", \"owner\"]", "action = \"skip\""));
    let out = check(&skip, &reader_url);
    assert!(out.status.success(), "{}", stderr(&out));
    let rules = write_rules(dir.path(), rules_text);
    assert!(check(&rules, &c.url(&db)).status.success());
    c.psql("postgres", &format!("ALTER ROLE {role} BYPASSRLS"));
    let out = run(&rules, &reader_url, parquet.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(concat(&read_table(&parquet, "public.notes")).num_rows(), 3, "every row, not the policy's");

    // FORCE ROW LEVEL SECURITY applies the policy to the owner as well.
    c.psql(&db, &format!("ALTER ROLE {role} NOBYPASSRLS; ALTER TABLE notes OWNER TO {role}"));
    assert!(check(&rules, &reader_url).status.success(), "the owner is not subject to the policy");
    c.psql(&db, "ALTER TABLE notes FORCE ROW LEVEL SECURITY");
    assert_eq!(check(&rules, &reader_url).status.code(), Some(3));
    c.psql(&db, &format!("DROP TABLE notes; DROP TABLE open_data; DROP OWNED BY {role}"));
    c.psql("postgres", &format!("DROP ROLE {role}"));
}

#[test]
fn large_objects_and_foreign_tables_are_reported_as_not_copied() {
    let c = cluster();
    let db = c.create_database("plan_report");
    c.psql(
        &db,
        "CREATE TABLE docs (id integer PRIMARY KEY, body oid);
         INSERT INTO docs SELECT 1, lo_from_bytea(0, 'one');
         INSERT INTO docs SELECT 2, lo_from_bytea(0, 'two');
         CREATE EXTENSION file_fdw;
         CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
         CREATE FOREIGN TABLE remote_lines (line text) SERVER files OPTIONS (filename '/dev/null');",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path(), "version = 1\n[tables.\"public.docs\"]\nkeep = [\"id\", \"body\"]\n");
    let out = check(&rules, &c.url(&db));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("WARN"), "{err}");
    assert!(err.contains("the database holds 2 large object(s) (pg_largeobject); they are not copied"), "{err}");
    assert!(err.contains("column of type oid or lo"), "{err}");
    assert!(err.contains("foreign table public.remote_lines is not copied"), "{err}");

    // The oid column is copied as the number it holds.
    let parquet = dir.path().join("out");
    let out = run(&rules, &c.url(&db), parquet.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(concat(&read_table(&parquet, "public.docs")).num_rows(), 2);
}

#[test]
fn generators_without_a_longest_value_make_values_that_fit_the_declared_varchar() {
    let c = cluster();
    let db = c.create_database("plan_fit_by_construction");
    c.psql(
        &db,
        "CREATE TABLE people (id integer PRIMARY KEY, email varchar(24) NOT NULL UNIQUE, full_name varchar(16), \
                              street varchar(22));
         INSERT INTO people SELECT i, 'person' || i || '@x.io', 'Ann Lee', i || ' High St' FROM generate_series(1, 3000) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules_file = write_rules(
        dir.path(),
        "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\"]\n[tables.\"public.people\".columns]\n\
         email = { action = \"fake\", generator = \"email\", unique = true }\n\
         full_name = { action = \"fake\", generator = \"full_name\" }\n\
         street = { action = \"fake\", generator = \"street_address\" }\n",
    );
    let target = check_and_load(&rules_file, &db);
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM people"), "3000");
    // Unbounded generators would make longer values (measured on the same rules without limits).
    let longest = c.scalar(
        &target,
        "SELECT max(length(email)) || ' ' || max(length(full_name)) || ' ' || max(length(street)) FROM people",
    );
    let parts: Vec<usize> = longest.split(' ').map(|n| n.parse().unwrap()).collect();
    assert!(parts[0] <= 24 && parts[1] <= 16 && parts[2] <= 22, "{longest}");
}

#[test]
fn templates_redact_and_json_accepted_on_a_declared_varchar_load_without_error() {
    let c = cluster();
    let db = c.create_database("plan_fit_text");
    // Each column as long as its type allows, so any rule making a longer value would fail.
    c.psql(
        &db,
        r#"CREATE TABLE people (id integer PRIMARY KEY, first varchar(10), last varchar(12),
                                email varchar(56) UNIQUE, note varchar(16), tags varchar(10)[], doc varchar(53));
         INSERT INTO people SELECT i, 'Zoë' || i, 'Groß' || i, 'x' || i, 'ip ::1 and ::2 x',
                                   '{"a@b.co ::1","ml a@b.co"}',
                                   '{"contact": {"email": "a@b.co", "phone": "555-0100"}}'
           FROM generate_series(1, 3000) i;
         INSERT INTO people VALUES (0, 'Zoë', 'Groß', 'x', 'mail a@b.co now', NULL, '{}');"#,
    );
    assert_eq!(c.scalar(&db, "SELECT max(length(doc)) FROM people"), "53");
    let dir = tempfile::tempdir().unwrap();
    // 20 (a masked first name of up to 10, slugged) + 1 + 12 (a hash) + 5 + 18 (`unique`'s
    // longest tag): 56.
    let rules_file = write_rules(
        dir.path(),
        "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\"]\n[tables.\"public.people\".columns]\n\
         first = { action = \"mask\", keep_first = 1 }\n\
         last = { action = \"hash\", length = 12 }\n\
         email = { action = \"template\", template = \"{first|slug}.{last|upper}@x.io\", unique = true }\n\
         note = { action = \"redact\" }\n\
         tags = { action = \"redact\" }\n\
         doc = { action = \"json\", paths = { \"contact.email\" = { action = \"redact\" }, \"contact.phone\" = { action = \"mask\", format_preserving = true } } }\n",
    );
    let target = check_and_load(&rules_file, &db);
    assert_eq!(c.scalar(&target, "SELECT count(DISTINCT email) FROM people"), "3001");
    // Tags that fit are kept; where they would not, the findings shorter than their tag are
    // masked: never longer than the text read.
    assert_eq!(c.scalar(&target, "SELECT note FROM people WHERE id = 0"), "mail [EMAIL] now");
    assert_eq!(c.scalar(&target, "SELECT DISTINCT note FROM people WHERE id > 0"), "ip ::0 and ::0 x");
    assert_eq!(c.scalar(&target, "SELECT DISTINCT tags::text FROM people"), r#"{"x@x.xx ::0","ml [EMAIL]"}"#);
    assert_eq!(c.scalar(&target, "SELECT DISTINCT doc::jsonb->'contact'->>'email' FROM people WHERE id > 0"), "x@x.xx");
    assert_eq!(c.scalar(&target, "SELECT max(length(doc)) FROM people"), "49");
}
