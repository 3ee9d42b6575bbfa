//! The end-to-end benchmark's source database (scripts/bench/fixture.sql) and its rules
//! (rules/bench.toml, rules/bench_keep.toml), at a small size: the fixture has the columns
//! the benchmark needs, is the same for the same seed and different for another, has unique emails,
//! valid IBANs and notes of about 100 characters; both rules files cover it exactly; the
//! anonymising rules copy every row into a new database and change the personal columns.

use crate::common;

use std::path::PathBuf;

use common::pg::cluster;

const CUSTOMERS: usize = 300;
const ORDERS: usize = 900;

/// A new database loaded with the fixture of `seed`.
fn fixture(seed: &str) -> String {
    cluster().bench("bench_fixture", CUSTOMERS, ORDERS, seed)
}

/// One md5 over every row of both tables, in id order.
fn content(db: &str) -> String {
    cluster().scalar(
        db,
        "SELECT md5((SELECT string_agg(c::text, '|' ORDER BY id) FROM public.customers c) \
         || (SELECT string_agg(o::text, '|' ORDER BY id) FROM public.orders o))",
    )
}

fn rules(name: &str) -> PathBuf {
    common::root().join("rules").join(name)
}

#[test]
fn the_fixture_has_the_benchmark_columns_and_is_reproducible() {
    let c = cluster();
    let db = fixture("doppel-bench-1");
    let columns = c.psql(
        &db,
        "SELECT table_name, column_name, data_type FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    let expected = "\
customers|id|bigint
customers|first_name|text
customers|last_name|text
customers|email|text
customers|phone|text
customers|date_of_birth|date
customers|street|text
customers|city|text
customers|postcode|text
customers|country|text
customers|iban|text
customers|created_at|timestamp with time zone
customers|notes|text
customers|loyalty_points|integer
orders|id|bigint
orders|customer_id|bigint
orders|amount|numeric
orders|status|text
orders|shipping_address|text
orders|created_at|timestamp with time zone
";
    assert_eq!(columns, expected);
    assert_eq!(
        c.scalar(
            &db,
            "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM pg_constraint \
             WHERE conrelid IN ('public.customers'::regclass, 'public.orders'::regclass)"
        ),
        "customers_email_key:u,customers_pkey:p,orders_customer_id_fkey:f,orders_pkey:p"
    );
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM public.customers"), CUSTOMERS.to_string());
    assert_eq!(c.scalar(&db, "SELECT count(*) FROM public.orders"), ORDERS.to_string());
    assert_eq!(
        c.scalar(&db, "SELECT numeric_precision || ',' || numeric_scale FROM information_schema.columns WHERE column_name = 'amount'"),
        "12,2"
    );

    // Realistic enough: names from word lists, notes of about 100 characters, six countries.
    let avg_notes: f64 = c.scalar(&db, "SELECT avg(length(notes)) FROM public.customers").parse().unwrap();
    assert!((85.0..=115.0).contains(&avg_notes), "average notes length {avg_notes}");
    let countries: usize = c.scalar(&db, "SELECT count(DISTINCT country) FROM public.customers").parse().unwrap();
    assert_eq!(countries, 6);
    let names: usize = c.scalar(&db, "SELECT count(DISTINCT first_name) FROM public.customers").parse().unwrap();
    assert!(names > 30, "{names} distinct first names");

    // Every IBAN passes the mod-97 check.
    let ibans = c.psql(&db, "SELECT iban FROM public.customers WHERE iban IS NOT NULL");
    assert!(ibans.lines().count() > CUSTOMERS / 2);
    for iban in ibans.lines() {
        let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
        let remainder = rearranged.chars().fold(0u32, |acc, ch| {
            let digits = ch.to_digit(36).expect("IBAN characters are alphanumeric");
            if digits < 10 { (acc * 10 + digits) % 97 } else { (acc * 100 + digits) % 97 }
        });
        assert_eq!(remainder, 1, "an IBAN of the fixture fails the mod-97 check");
    }

    // Same seed, same rows; another seed, other rows.
    assert_eq!(content(&db), content(&fixture("doppel-bench-1")));
    assert_ne!(content(&db), content(&fixture("another-seed")));
}

#[test]
fn the_bench_rules_cover_the_fixture_and_anonymise_it() {
    let c = cluster();
    let db = fixture("doppel-bench-1");
    for name in ["bench.toml", "bench_keep.toml"] {
        let out = common::doppel(&["check", "--rules", rules(name).to_str().unwrap(), "--from", &c.url(&db)], None);
        assert!(out.status.success(), "check {name}: {}", common::stderr(&out));
    }

    let target = format!("{db}_anon");
    let out = common::doppel_run(&rules("bench.toml"), &c.url(&db), &c.url(&target), &[]);
    assert!(out.status.success(), "run: {}", common::stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.customers"), CUSTOMERS.to_string());
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.orders"), ORDERS.to_string());
    // No source email, IBAN, phone or shipping address survives; emails stay unique.
    let source_values = c.psql(&db, "SELECT email, coalesce(iban, ''), phone FROM public.customers ORDER BY id");
    let target_values = c.psql(&target, "SELECT email, coalesce(iban, ''), phone FROM public.customers ORDER BY id");
    for (s, t) in source_values.lines().zip(target_values.lines()) {
        for (before, after) in s.split('|').zip(t.split('|')) {
            if !before.is_empty() {
                assert_ne!(before, after, "a personal value was kept");
            }
        }
    }
    assert_eq!(c.scalar(&target, "SELECT count(DISTINCT email) FROM public.customers"), CUSTOMERS.to_string());
    let same_address = c.scalar(
        &target,
        &format!(
            "SELECT count(*) FROM public.orders WHERE shipping_address IN ({})",
            c.psql(&db, "SELECT quote_literal(shipping_address) FROM public.orders")
                .lines()
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    assert_eq!(same_address, "0");
    // Kept columns are equal, the foreign key holds (post-data ran).
    assert_eq!(
        c.scalar(&target, "SELECT md5(string_agg(concat_ws(',', id, city, postcode, country, created_at, loyalty_points), '|' ORDER BY id)) FROM public.customers"),
        c.scalar(&db, "SELECT md5(string_agg(concat_ws(',', id, city, postcode, country, created_at, loyalty_points), '|' ORDER BY id)) FROM public.customers"),
    );
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'"), "1");
}
