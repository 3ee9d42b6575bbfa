//! The utility figures of `run --report` against the same figures computed by plain Python
//! (no pyarrow) from the source and output rows read back with psql, on a table built so
//! that every answer is exact: whole numbers and dates within a span of fewer than 512
//! values (each in its own bin), few categories (counted exactly), a rare kept value below
//! the report's minimum count.

use crate::common::pg::cluster;
use crate::common::*;

const SEED: &str = "
CREATE TABLE people (
    id integer PRIMARY KEY,
    score integer,
    band text NOT NULL,
    city text NOT NULL,
    born date NOT NULL
);
INSERT INTO people
SELECT i,
       CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 301 END,
       CASE WHEN i <= 5 THEN 'rare' ELSE (ARRAY['north', 'south', 'east', 'west'])[1 + i % 4] END,
       'town ' || (i % 37),
       date '1990-01-01' + (i * 37) % 400
FROM generate_series(1, 3000) AS i;
";

const RULES: &str = r#"version = 1

[tables."public.people"]
keep = ["id", "band"]

[tables."public.people".columns]
score = { action = "noise", absolute = 3 }
city  = { action = "fake", generator = "city" }
born  = { action = "noise", duration = "20d" }
"#;

/// Reads `source` and `output` CSV rows (id, score, band, city, born as days since 1970) and
/// prints the expected figures as JSON.
const PYTHON: &str = r#"
import csv, json, sys
def rows(path):
    with open(path) as f:
        return {int(r[0]): r for r in csv.reader(f)}
src, out = rows(sys.argv[1]), rows(sys.argv[2])
def column(rows, i, kind):
    vals = [r[i] for r in rows.values()]
    return [None if v == "" else kind(v) for v in vals]
def ks(a, b):
    a, b = sorted(x for x in a if x is not None), sorted(x for x in b if x is not None)
    points = sorted(set(a) | set(b))
    import bisect
    return max(abs(bisect.bisect_right(a, p) / len(a) - bisect.bisect_right(b, p) / len(b)) for p in points)
def tv(a, b):
    from collections import Counter
    ca, cb = Counter(a), Counter(b)
    return sum(abs(ca[k] / len(a) - cb[k] / len(b)) for k in set(ca) | set(cb)) / 2
def pearson(xs, ys):
    pairs = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    n = len(pairs)
    mx, my = sum(p[0] for p in pairs) / n, sum(p[1] for p in pairs) / n
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    return sxy / (sxx * syy) ** 0.5
ids = sorted(src)
src = [src[i] for i in ids]; out = [out[i] for i in ids]
def col(rows, i, kind):
    return [None if r[i] == "" else kind(r[i]) for r in rows]
from collections import Counter
bands = Counter(col(src, 2, str))
print(json.dumps({
    "score_ks": ks(col(src, 1, int), col(out, 1, int)),
    "born_ks": ks(col(src, 4, int), col(out, 4, int)),
    "city_tv": tv(col(src, 3, str), col(out, 3, str)),
    "score_nulls": col(src, 1, int).count(None),
    "distinct": {name: [len(set(col(src, i, str)) - {None}), len(set(col(out, i, str)) - {None})]
                 for name, i in [("score", 1), ("city", 3), ("born", 4)]},
    "bands": sorted([[v, c] for v, c in bands.items() if c >= 10], key=lambda x: (-x[1], x[0])),
    "band_other": sum(c for c in bands.values() if c < 10),
    "corr": [pearson(col(src, 0, int), col(src, 1, int)), pearson(col(out, 0, int), col(out, 1, int))],
}))
"#;

fn csv(db: &str) -> String {
    cluster().psql(
        db,
        "COPY (SELECT id, score, band, city, born - date '1970-01-01' FROM people ORDER BY id) TO STDOUT WITH (FORMAT csv)",
    )
}

#[test]
fn utility_figures_match_python_on_the_same_rows_and_a_kept_column_is_at_distance_zero() {
    let c = cluster();
    let db = c.create_database("figures");
    c.psql(&db, SEED);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let target = format!("{db}_out");
    let report = dir.path().join("report.json");
    let out = doppel_run(&rules, &c.url(&db), &c.url(&target), &["--report", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let (source_csv, output_csv) = (dir.path().join("source.csv"), dir.path().join("output.csv"));
    std::fs::write(&source_csv, csv(&db)).unwrap();
    std::fs::write(&output_csv, csv(&target)).unwrap();
    let python = python().unwrap_or_else(|| "python3".to_string());
    let script = dir.path().join("figures.py");
    std::fs::write(&script, PYTHON).unwrap();
    let computed = std::process::Command::new(python).arg(&script).arg(&source_csv).arg(&output_csv).output().unwrap();
    assert!(computed.status.success(), "{}", String::from_utf8_lossy(&computed.stderr));
    let expected: serde_json::Value = serde_json::from_slice(&computed.stdout).unwrap();

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let table = &report["tables"][0];
    let utility = &table["utility"];
    let column =
        |name: &str| utility["columns"].as_array().unwrap().iter().find(|c| c["column"] == name).unwrap().clone();
    let close = |got: &serde_json::Value, want: &serde_json::Value, what: &str| {
        let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
        assert!((g - w).abs() < 1e-9, "{what}: report {g}, python {w}");
    };

    // Kept columns: the output is the source.
    for kept in ["id", "band"] {
        assert_eq!(column(kept)["distance"]["value"], 0.0, "{kept}");
        assert_eq!(column(kept)["personal"], false);
    }
    let score = column("score");
    assert_eq!(score["kind"], "numeric");
    assert_eq!(score["distance"]["metric"], "ks");
    close(&score["distance"]["value"], &expected["score_ks"], "KS of score");
    assert!(score["distance"]["value"].as_f64().unwrap() > 0.0, "noise moved nothing");
    assert_eq!(score["before"]["nulls"], expected["score_nulls"]);
    assert_eq!(score["before"]["rows"], 3000);
    let born = column("born");
    assert_eq!(born["kind"], "temporal");
    close(&born["distance"]["value"], &expected["born_ks"], "KS of born");
    let city = column("city");
    assert_eq!(city["distance"]["metric"], "tv");
    close(&city["distance"]["value"], &expected["city_tv"], "TV of city");
    for name in ["score", "city", "born"] {
        let want = &expected["distinct"][name];
        let c = column(name);
        assert_eq!([&c["before"]["distinct"], &c["after"]["distinct"]], [&want[0], &want[1]], "distinct {name}");
        assert_eq!(c["before"]["distinct_exact"], true);
    }
    // Histograms hold every non-null value; a transformed column shows no category.
    let counted: u64 =
        score["before"]["histogram"]["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(counted, 3000 - expected["score_nulls"].as_u64().unwrap());
    assert_eq!(city["before"]["categories"], serde_json::Value::Null);
    assert_eq!(city["after"]["categories"], serde_json::Value::Null);

    // The kept band: the values of at least 10 rows, most frequent first; the rare one in `other`.
    let band = column("band");
    let shown: Vec<serde_json::Value> = band["before"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::json!([c["value"], c["count"]]))
        .collect();
    assert_eq!(serde_json::Value::Array(shown), expected["bands"]);
    assert_eq!(band["before"]["other"], expected["band_other"]);
    assert!(!std::fs::read_to_string(dir.path().join("report.json")).unwrap().contains("\"rare\""));

    // id (kept) and score (noised): their correlation before and after.
    let corr = &utility["correlations"][0];
    assert_eq!(corr["columns"], serde_json::json!(["id", "score"]));
    close(&corr["before"], &expected["corr"][0], "correlation before");
    close(&corr["after"], &expected["corr"][1], "correlation after");
}
