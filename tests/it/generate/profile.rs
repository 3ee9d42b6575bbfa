//! `doppel profile` against a real PostgreSQL: the profile of the trade fixture holds no
//! value of a personal column, kept columns carry their most common values and histograms,
//! row counts are the tables' own, and a never-analysed table is refused with what to do.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::pg::cluster;
use common::*;
use doppel::generate::profile::Profile;

fn analysed_trade() -> String {
    let c = cluster();
    let db = c.trade();
    c.psql(&db, "ANALYZE");
    db
}

fn profile_text(db: &str) -> String {
    let c = cluster();
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let out = doppel(&["profile", "--rules", rules.to_str().unwrap(), "--from", &c.url(db)], None);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Every string value of a TOML document, recursively.
fn strings(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn distinct_values(db: &str, table: &str, column: &str) -> BTreeSet<String> {
    let sql = format!(
        "SELECT DISTINCT replace(replace(\"{column}\"::text, E'\\n', '\\n'), E'\\r', '\\r') FROM {} WHERE \"{column}\" IS NOT NULL",
        quoted(table)
    );
    cluster().psql(db, &sql).lines().map(str::to_string).collect()
}

#[test]
fn the_trade_profile_holds_no_personal_value_and_kept_columns_carry_their_statistics() {
    let c = cluster();
    let db = analysed_trade();
    let text = profile_text(&db);
    let profile = Profile::from_toml(&text, "profile").unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let mut in_profile = Vec::new();
    strings(doc.get("tables").unwrap(), &mut in_profile);
    let in_profile: BTreeSet<String> = in_profile.into_iter().collect();

    // Values of kept columns may equal a personal value by chance (an id 3 is also a quantity 3).
    let mut kept = BTreeSet::new();
    let mut personal: Vec<(String, String)> = Vec::new();
    for t in &profile.tables {
        for col in &t.columns {
            if col.is_personal() {
                personal.push((t.name.clone(), col.name.clone()));
            } else {
                kept.extend(distinct_values(&db, &t.name, &col.name));
            }
        }
    }
    assert!(personal.len() > 40, "{personal:?}");
    let mut checked = 0;
    for (table, column) in &personal {
        for value in distinct_values(&db, table, column) {
            if kept.contains(&value) {
                continue;
            }
            checked += 1;
            assert!(!in_profile.contains(&value), "a value of personal column {table}.{column} is in the profile");
            if value.len() >= 8 {
                assert!(
                    !profile.schema.pre_data.contains(&value) && !profile.schema.post_data.contains(&value),
                    "a value of personal column {table}.{column} is in the profile's DDL"
                );
            }
        }
        let p = profile.table(table).unwrap().column(column).unwrap();
        assert!(p.most_common_vals.is_empty() && p.histogram_bounds.is_empty() && p.most_common_freqs.is_empty());
        // An empty table has no statistics.
        let has_rows = profile.table(table).unwrap().rows > 0;
        assert_eq!(
            p.null_frac.is_some() && p.n_distinct.is_some() && p.avg_width.is_some(),
            has_rows,
            "{table}.{column}"
        );
    }
    assert!(checked > 500, "only {checked} personal values checked");

    // Rules are recorded: fake with its generator.
    let company = profile.table("public.customers").unwrap().column("company_name").unwrap();
    assert_eq!((company.rule.as_str(), company.generator.as_deref()), ("fake", Some("company")));

    // Kept columns carry their statistics.
    let country = profile.table("public.orders").unwrap().column("ship_country").unwrap();
    assert!(country.most_common_vals.contains(&"USA".to_string()), "{country:?}");
    assert_eq!(country.most_common_vals.len(), country.most_common_freqs.len());
    let price = profile.table("public.products").unwrap().column("unit_price").unwrap();
    assert!(price.histogram_bounds.len() > 10, "{price:?}");
    assert_eq!(price.pg_type, "real");
    let id = profile.table("public.orders").unwrap().column("order_id").unwrap();
    assert_eq!((id.pg_type.as_str(), id.kind.as_str(), id.n_distinct), ("smallint", "int16", Some(-1.0)));

    // Row counts, keys and the DDL.
    let counts: HashMap<String, u64> = c
        .psql(
            &db,
            "SELECT 'public.' || relname || '|' || (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM public.' || quote_ident(relname), false, true, '')))[1]::text FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
        )
        .lines()
        .map(|l| {
            let (t, n) = l.split_once('|').unwrap();
            (t.to_string(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(profile.tables.len(), counts.len());
    for t in &profile.tables {
        assert_eq!(t.rows, counts[&t.name], "{}", t.name);
    }
    let details = profile.table("public.order_details").unwrap();
    assert_eq!(details.primary_key.as_deref(), Some(&["order_id".to_string(), "product_id".to_string()][..]));
    assert_eq!(details.foreign_keys.len(), 2);
    assert!(profile.schema.pre_data.contains("CREATE TABLE public.orders"));
    assert!(profile.schema.post_data.contains("ADD CONSTRAINT pk_orders PRIMARY KEY"));
}

#[test]
fn unique_and_check_constraints_are_recorded_and_a_never_analysed_table_is_refused() {
    let c = cluster();
    let db = c.create_database("profile_checks");
    c.psql(
        &db,
        "CREATE TABLE public.items (id int PRIMARY KEY, code text UNIQUE, qty int CHECK (qty BETWEEN 1 AND 9)) \
         WITH (autovacuum_enabled = false); \
         INSERT INTO public.items SELECT g, 'c' || g, 1 + g % 9 FROM generate_series(1, 100) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "version = 1\n[tables.\"public.items\"]\nkeep = [\"id\", \"qty\"]\n[tables.\"public.items\".columns]\ncode = { action = \"mask\", format_preserving = true, unique = true }\n").unwrap();
    let args = ["profile", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db)];
    let out = doppel(&args, None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("public.items") && stderr(&out).contains("ANALYZE"), "{}", stderr(&out));

    c.psql(&db, "ANALYZE public.items");
    let file = dir.path().join("items.profile.toml");
    let out = doppel(&[&args[..], &["--out", file.to_str().unwrap()]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let profile = Profile::from_toml(&std::fs::read_to_string(&file).unwrap(), "items").unwrap();
    let t = profile.table("public.items").unwrap();
    assert_eq!(t.rows, 100);
    assert_eq!(t.unique.len(), 1);
    assert_eq!(t.unique[0].columns, ["code"]);
    assert_eq!(t.checks.len(), 1);
    assert!(t.checks[0].definition.contains("qty >= 1"), "{:?}", t.checks);
    let qty = t.column("qty").unwrap();
    assert_eq!(qty.most_common_vals.len(), 9);
    assert!(t.column("code").unwrap().most_common_vals.is_empty());
    // --out never overwrites.
    let again = doppel(&[&args[..], &["--out", file.to_str().unwrap()]].concat(), None);
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
}
