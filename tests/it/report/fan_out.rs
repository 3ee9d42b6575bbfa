//! Foreign-key fan-out in the report of a subset run: the source side is the whole source
//! database's children per parent, the output side the subset's, each checked against the
//! same figures counted by PostgreSQL with SQL on the source and on the target.

use std::collections::BTreeMap;

use crate::common::pg::cluster;
use crate::common::*;

/// Children per parent of one foreign key in `db`, counted by SQL: (children per key → keys,
/// rows of the referenced table).
fn counted(db: &str, child: &str, columns: &str, parent: &str) -> (BTreeMap<u64, u64>, u64) {
    let c = cluster();
    let not_null: Vec<String> = columns.split(',').map(|c| format!("{c} IS NOT NULL")).collect();
    let sizes = c
        .psql(
            db,
            &format!(
                "SELECT n || ' ' || count(*) FROM (SELECT count(*) AS n FROM {child} WHERE {} GROUP BY {columns}) s GROUP BY n",
                not_null.join(" AND ")
            ),
        )
        .lines()
        .map(|l| {
            let (n, keys) = l.split_once(' ').unwrap();
            (n.parse().unwrap(), keys.parse().unwrap())
        })
        .collect();
    (sizes, c.scalar(db, &format!("SELECT count(*) FROM {parent}")).parse().unwrap())
}

/// What the report should say of one side, from SQL's counts: children, parents referenced,
/// parent rows, max, mean, and the bins (0 for childless parents, 1, 2, then (2^k, 2^(k+1)]).
fn expected(sizes: &BTreeMap<u64, u64>, parent_rows: u64) -> serde_json::Value {
    let children: u64 = sizes.iter().map(|(n, k)| n * k).sum();
    let parents: u64 = sizes.values().sum();
    let mut bins: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    if parent_rows > parents {
        bins.insert((0, 0), parent_rows - parents);
    }
    for (&n, &k) in sizes {
        let mut hi = 1;
        while hi < n {
            hi *= 2;
        }
        *bins.entry(if n <= 2 { (n, n) } else { (hi / 2 + 1, hi) }).or_default() += k;
    }
    serde_json::json!({
        "children": children,
        "parents": parents,
        "parent_rows": parent_rows,
        "max": sizes.keys().last().copied().unwrap_or(0),
        "mean": if parent_rows == 0 { 0.0 } else { children as f64 / parent_rows as f64 },
        "bins": bins.iter().map(|((lo, hi), n)| [*lo, *hi, *n]).collect::<Vec<_>>(),
    })
}

/// Runs `rules` (a file or folder under tests/fixtures/pg) from a trade database into a new
/// one with `--report`, and checks the report's fan-out of every foreign key of the source
/// against SQL's counts on the source (before) and the target (after); returns how many
/// differ between the two sides.
fn run_and_check_every_foreign_key(rules: &str) -> usize {
    let c = cluster();
    let source = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let target = format!("{source}_fan_out");
    let rules = root().join("tests/fixtures/pg").join(rules);
    let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &["--report", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    // Every foreign key of the source, as the catalog lists it.
    let keys = c.psql(
        &source,
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || confrelid::regclass::text || ' ' || \
         (SELECT string_agg(quote_ident(attname), ',' ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY AS k(n, i) \
          JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n) \
         FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    );
    let mut differ = 0;
    let mut checked = 0;
    for line in keys.lines() {
        let [child, name, parent, columns] = line.split(' ').collect::<Vec<_>>()[..] else { panic!("{line}") };
        let table = report["tables"].as_array().unwrap().iter().find(|t| t["table"] == format!("public.{child}"));
        let Some(fan_out) = table
            .and_then(|t| t["utility"]["fan_out"].as_array())
            .and_then(|f| f.iter().find(|f| f["foreign_key"] == name))
        else {
            panic!("{child}: no fan-out of {name} in the report");
        };
        assert_eq!(fan_out["parent"], format!("public.{parent}"), "{name}");
        for (side, db) in [("before", &source), ("after", &target)] {
            let (sizes, rows) = counted(db, child, columns, parent);
            let mut want = expected(&sizes, rows);
            let got = &fan_out[side];
            let (g, w) = (got["mean"].as_f64().unwrap(), want["mean"].as_f64().unwrap());
            assert!((g - w).abs() < 1e-9, "{name} {side}: mean {g}, SQL {w}");
            want["mean"] = got["mean"].clone();
            assert_eq!(got, &want, "{name} {side}");
        }
        differ += usize::from(fan_out["before"] != fan_out["after"]);
        checked += 1;
    }
    assert_eq!(checked, 13, "the trade fixture's foreign keys");
    differ
}

#[test]
fn a_subsets_fan_out_is_the_whole_sources_before_and_the_subsets_after_as_sql_counts_them() {
    let differ = run_and_check_every_foreign_key("trade_subset");
    assert!(differ >= 8, "only {differ} foreign keys fan out differently in the subset");
}

#[test]
fn a_whole_runs_fan_out_is_counted_in_its_pass_and_survives_hashed_keys() {
    // trade.toml hashes customer_id, employee_id, supplier_id and ship_via in one domain:
    // the references are counted on the source batches and on the output batches, and agree.
    assert_eq!(run_and_check_every_foreign_key("trade.toml"), 0);
}
