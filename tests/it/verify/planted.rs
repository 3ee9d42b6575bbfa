//! Verify is precise as well as thorough: on the output of correct rules it reports nothing,
//! and each of two dozen leaks of different kinds, planted one at a time into a copy of that
//! output, is found (exit 6) and named by the column it sits in, with the rule to change.
//!
//! The database is made here: customers with distinctive names, emails, phones, streets,
//! account numbers, free-text notes and JSON profiles, and orders that repeat some of it.

use super::{run_on, text, verify};
use crate::common::pg::{Cluster, cluster};

const SHOP: &str = r#"
CREATE TABLE customers (
    id int PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL UNIQUE,
    phone text, street text, city text, account_no text, notes text, profile jsonb);
INSERT INTO customers
SELECT g, f, l, lower(f) || '.' || lower(l) || '@mailbox.test', '+1 (503) 555-' || lpad(g::text, 4, '0'),
       g || ' ' || (ARRAY['Larkspur', 'Quenby', 'Ostler', 'Marrow'])[g % 4 + 1] || ' Lane',
       (ARRAY['Lisbon', 'Porto', 'Braga'])[g % 3 + 1],
       lpad((g * 104729)::text, 10, '7'),
       'Prefers calls after 6pm; reach ' || lower(f) || '.' || lower(l) || '@mailbox.test or +1 (503) 555-'
           || lpad(g::text, 4, '0'),
       jsonb_build_object('nickname', lower(l) || g, 'vip', g % 5 = 0)
FROM (SELECT g, (ARRAY['Anna', 'Bruno', 'Clara', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hugo'])[g % 8 + 1] AS f,
             initcap(translate(substr(md5(g::text), 1, 10), '0123456789', 'ghijklmnop')) AS l
      FROM generate_series(1, 300) g) people;
CREATE TABLE orders (
    id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, ship_name text, ship_address text,
    comment text, payload jsonb);
INSERT INTO orders
SELECT g, c.id, c.first_name || ' ' || c.last_name, c.street,
       (ARRAY['Leave at the door', 'Ring twice', 'Fragile, handle with care'])[g % 3 + 1],
       jsonb_build_object('items', g % 7 + 1)
FROM generate_series(1, 600) g JOIN customers c ON c.id = g % 300 + 1;
"#;

const RULES: &str = r#"
version = 1

[tables."public.customers"]
keep = ["id", "city"]

[tables."public.customers".columns]
first_name = { action = "fake", generator = "first_name" }
last_name  = { action = "fake", generator = "last_name" }
email      = { action = "fake", generator = "email", unique = true }
phone      = { action = "mask", format_preserving = true }
street     = { action = "fake", generator = "street_address" }
account_no = { action = "mask", format_preserving = true }
notes      = { action = "redact" }
profile    = { action = "json", paths = { "nickname" = { action = "fake", generator = "username" } } }

[tables."public.orders"]
keep = ["id", "customer_id", "comment", "payload"]

[tables."public.orders".columns]
ship_name    = { action = "fake", generator = "full_name" }
ship_address = { action = "fake", generator = "street_address" }
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One planted leak: what it is, the SQL that plants it, and the finding that must name it.
struct Plant {
    what: &'static str,
    sql: String,
    finding: &'static str,
}

fn plants(c: &Cluster, source: &str) -> Vec<Plant> {
    let get = |sql: &str| c.scalar(source, sql);
    let email5 = get("SELECT email FROM customers WHERE id = 5");
    let email6 = get("SELECT email FROM customers WHERE id = 6");
    let phone9 = get("SELECT phone FROM customers WHERE id = 9");
    let last11 = get("SELECT last_name FROM customers WHERE id = 11");
    let street12 = get("SELECT street FROM customers WHERE id = 12");
    let account13 = get("SELECT account_no FROM customers WHERE id = 13");
    let nick14 = get("SELECT profile->>'nickname' FROM customers WHERE id = 14");
    let ship15 = get("SELECT ship_name FROM orders WHERE id = 15");
    let md5 = {
        use md5::Digest;
        hex(&md5::Md5::digest(email5.as_bytes()))
    };
    let sha1 = {
        use sha1::Digest;
        hex(&sha1::Sha1::digest(email5.as_bytes()))
    };
    let sha256 = {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(phone9.as_bytes()))
    };
    let blake3 = blake3::hash(email6.as_bytes()).to_hex().to_string();
    let dotted_phone: String = phone9.replace("+1 (", "").replace(") ", ".").replace('-', ".");
    let spaced_account = format!("{} {} {}", &account13[..3], &account13[3..6], &account13[6..]);
    let p = |what, sql: String, finding| Plant { what, sql, finding };
    vec![
        p(
            "an email left in its own row",
            format!("UPDATE customers SET email = {} WHERE id = 5", sql_text(&email5)),
            "[own-value] public.customers.email: 1 row(s)",
        ),
        p(
            "an email moved to another row",
            format!("UPDATE customers SET email = {} WHERE id = 7", sql_text(&email6)),
            "[value] public.customers.email: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "an email embedded in a kept free text",
            format!("UPDATE orders SET comment = 'call back ' || {} || ' today' WHERE id = 3", sql_text(&email5)),
            "[value] public.orders.comment: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "an email inside a kept JSON document",
            format!("UPDATE orders SET payload = jsonb_build_object('contact', {}) WHERE id = 4", sql_text(&email6)),
            "[value] public.orders.payload: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "an email in capitals",
            format!("UPDATE orders SET comment = upper({}) WHERE id = 5", sql_text(&email5)),
            "[value] public.orders.comment: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "an email padded with whitespace inside a kept city",
            format!("UPDATE customers SET city = '  ' || {} || E'\\t' WHERE id = 8", sql_text(&email6)),
            "[value] public.customers.city: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "the unkeyed md5 of an email",
            format!("UPDATE orders SET comment = 'ref {md5}' WHERE id = 6"),
            "[md5] public.orders.comment: 1 cell(s)",
        ),
        p(
            "the unkeyed sha1 of an email",
            format!("UPDATE orders SET payload = jsonb_build_object('h', '{sha1}') WHERE id = 7"),
            "[sha1] public.orders.payload: 1 cell(s)",
        ),
        p(
            "the unkeyed sha256 of a phone",
            format!("UPDATE customers SET city = '{sha256}' WHERE id = 9"),
            "[sha256] public.customers.city: 1 cell(s)",
        ),
        p(
            "the unkeyed blake3 of an email",
            format!("UPDATE orders SET comment = '{blake3}' WHERE id = 8"),
            "[blake3] public.orders.comment: 1 cell(s)",
        ),
        p(
            "an md5 computed by PostgreSQL of a lowercased email",
            format!("UPDATE orders SET comment = md5(lower({})) WHERE id = 9", sql_text(&email6)),
            "[md5] public.orders.comment: 1 cell(s)",
        ),
        p(
            "a phone left in its own row",
            format!("UPDATE customers SET phone = {} WHERE id = 9", sql_text(&phone9)),
            "[own-value] public.customers.phone: 1 row(s)",
        ),
        p(
            "a phone with its separators changed",
            format!("UPDATE orders SET comment = 'tel ' || {} WHERE id = 10", sql_text(&dotted_phone)),
            "[value] public.orders.comment: 1 cell(s) contain a value of public.customers.phone",
        ),
        p(
            "a phone without separators in JSON",
            format!(
                "UPDATE orders SET payload = jsonb_build_object('tel', {}) WHERE id = 11",
                sql_text(&phone9.chars().filter(char::is_ascii_digit).collect::<String>())
            ),
            "[value] public.orders.payload: 1 cell(s) contain a value of public.customers.phone",
        ),
        p(
            "an account number written in groups",
            format!("UPDATE orders SET comment = 'paid from ' || {} WHERE id = 12", sql_text(&spaced_account)),
            "[value] public.orders.comment: 1 cell(s) contain a value of public.customers.account_no",
        ),
        p(
            "a last name moved to another row",
            format!("UPDATE customers SET last_name = {} WHERE id = 20", sql_text(&last11)),
            "[value] public.customers.last_name: 1 cell(s) contain a value of public.customers.last_name",
        ),
        p(
            "a last name left in its own row",
            format!("UPDATE customers SET last_name = {} WHERE id = 11", sql_text(&last11)),
            "[own-value] public.customers.last_name: 1 row(s)",
        ),
        p(
            "a street address with its spacing changed, in another table",
            format!(
                "UPDATE orders SET ship_address = replace(upper({}), ' ', '   ') WHERE id = 13",
                sql_text(&street12)
            ),
            "[value] public.orders.ship_address: 1 cell(s) contain a value of public.customers.street",
        ),
        p(
            "a full name left in its own row",
            format!("UPDATE orders SET ship_name = {} WHERE id = 15", sql_text(&ship15)),
            "[own-value] public.orders.ship_name: 1 row(s)",
        ),
        p(
            "a full name inside a redacted note",
            format!("UPDATE customers SET notes = 'spoke to ' || {} WHERE id = 16", sql_text(&ship15)),
            "[value] public.customers.notes: 1 cell(s) contain a value of public.orders.ship_name",
        ),
        p(
            "a JSON path value put back into another row's document",
            format!(
                "UPDATE customers SET profile = jsonb_build_object('nickname', {}) WHERE id = 17",
                sql_text(&nick14)
            ),
            "[value] public.customers.profile: 1 cell(s) contain a value of public.customers.profile",
        ),
        p(
            "an email inside a note, in another row",
            format!("UPDATE customers SET notes = 'forwarded from ' || {} WHERE id = 18", sql_text(&email6)),
            "[value] public.customers.notes: 1 cell(s) contain a value of public.customers.email",
        ),
        p(
            "a last name inside a kept comment",
            format!("UPDATE orders SET comment = 'for Mrs ' || {} || ', urgent' WHERE id = 14", sql_text(&last11)),
            "[value] public.orders.comment: 1 cell(s) contain a value of public.customers.last_name",
        ),
    ]
}

#[test]
fn every_planted_leak_is_found_and_the_clean_output_of_correct_rules_has_no_finding() {
    let c = cluster();
    let (source, from, to, rules, _dir) = run_on("verify_plants", SHOP, RULES);
    let clean = format!("{source}_out");
    let o = verify(&rules, &from, &to, &[]);
    assert_eq!(o.status.code(), Some(0), "the clean output has findings:\n{}", text(&o));
    assert!(!text(&o).contains("FINDING"), "{}", text(&o));
    // A template database may have no connections while it is copied.
    c.psql("postgres", &format!("ALTER DATABASE \"{clean}\" WITH ALLOW_CONNECTIONS false"));

    let plants = plants(c, &source);
    assert!(plants.len() >= 20);
    let mut missed = Vec::new();
    for (i, plant) in plants.iter().enumerate() {
        let copy = format!("{clean}_plant{i}");
        c.psql("postgres", &format!("CREATE DATABASE \"{copy}\" TEMPLATE \"{clean}\""));
        c.psql(&copy, &plant.sql);
        let o = verify(&rules, &from, &c.url(&copy), &[]);
        let all = text(&o);
        let line = all.lines().find(|l| l.starts_with(&format!("FINDING {}", plant.finding)));
        match line {
            Some(l) if o.status.code() == Some(6) && l.contains("the rule to change: ") => {}
            _ => missed.push(format!(
                "{}: expected `{}` (exit {:?}):\n{all}",
                plant.what,
                plant.finding,
                o.status.code()
            )),
        }
        c.psql("postgres", &format!("DROP DATABASE \"{copy}\""));
    }
    assert!(missed.is_empty(), "{} of {} plants not found:\n{}", missed.len(), plants.len(), missed.join("\n"));
}
