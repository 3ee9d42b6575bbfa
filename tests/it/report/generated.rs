//! `generate --report-html`: the page of a synthetic dataset, each column's generated values
//! against the source's statistics from the profile.

use crate::common::*;
use crate::generate::into_postgres::{generate, generate_with, trade_profile};

#[test]
fn generate_writes_a_page_of_the_generated_data_against_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (_, profile) = trade_profile(dir.path());
    let page = dir.path().join("generated.html");
    let out_dir = dir.path().join("out");
    let out = generate(&profile, out_dir.to_str().unwrap(), &["--scale", "2", "--report-html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let parsed =
        doppel::generate::profile::Profile::from_toml(&std::fs::read_to_string(&profile).unwrap(), "p").unwrap();
    for t in &parsed.tables {
        assert!(html.contains(&format!(">{}</h2>", t.name)), "no section for {}", t.name);
        // Rows generated at scale 2, as the tables' summary says.
        assert!(html.contains(&format!("<td class=\"n\">{}</td>", t.rows * 2)), "{}: rows", t.name);
    }
    assert!(html.contains(">generate<"), "the tables' action");
    assert!(html.contains("kind:</span> <code>profile</code>"), "the source is the profile file");
    let charts = html.matches("aria-label=\"histogram, source and output\"").count();
    assert!(charts > 10, "{charts} charts");
    if let Some(browser) = super::browser::chromium() {
        super::browser::check_page(&browser, &page, 10);
    }
}

/// A profile written by hand, so that the source side is known exactly: `x` is 10% NULL, 30%
/// the value 5, the rest in three equal buckets [0, 10), [10, 30), [30, 100); `d` in two
/// half-year buckets; `band` and `flag` have every value named.
const PROFILE: &str = r#"version = 1
source = "written by hand"
skipped = []
schema = { pre_data = "", post_data = "" }

[[tables]]
name = "public.m"
rows = 4000
primary_key = ["id"]
columns = [
  { name = "id", type = "integer", kind = "int32", not_null = true, rule = "keep", null_frac = 0.0, n_distinct = -1.0 },
  { name = "x", type = "double precision", kind = "float64", rule = "keep", null_frac = 0.1, n_distinct = -0.8,
    most_common_vals = ["5"], most_common_freqs = [0.3], histogram_bounds = ["0", "10", "30", "100"] },
  { name = "d", type = "date", kind = "date", rule = "keep", null_frac = 0.0, n_distinct = 366.0,
    histogram_bounds = ["2020-01-01", "2020-07-01", "2021-01-01"] },
  { name = "band", type = "text", kind = "text", rule = "keep", null_frac = 0.0, n_distinct = 3.0,
    most_common_vals = ["north", "south", "east"], most_common_freqs = [0.5, 0.3, 0.2] },
  { name = "flag", type = "boolean", kind = "bool", rule = "keep", null_frac = 0.0, n_distinct = 2.0,
    most_common_vals = ["t", "f"], most_common_freqs = [0.25, 0.75] },
]
"#;

const PROFILE_RULES: &str = r#"version = 1

[tables."public.m"]
keep = ["id", "x", "d", "band", "flag"]
quasi_identifiers = ["d", "band"]
"#;

/// Reads the generated Parquet file and prints, as JSON, the exact KS distance of `x` and `d`
/// from the distributions the hand-made profile describes, the TV distance of `band` and
/// `flag` from its shares, the profile's share of non-null `x` between the edges given, and the
/// equivalence classes on (`d`, `band`).
const PROFILE_PYTHON: &str = r#"
import bisect, datetime, json, sys
from collections import Counter
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).to_pydict()
edges = json.loads(sys.argv[2])
def buckets(bounds, x):
    if x <= bounds[0]: return 0.0
    if x >= bounds[-1]: return 1.0
    i = bisect.bisect_right(bounds, x) - 1
    return (i + (x - bounds[i]) / (bounds[i + 1] - bounds[i])) / (len(bounds) - 1)
def x_cdf(x):  # the share of non-null values below x (the 5s at 5 itself)
    return (0.3 * (x > 5) + 0.6 * buckets([0, 10, 30, 100], x)) / 0.9
def x_cdf_right(x):  # ... at or below x
    return (0.3 * (x >= 5) + 0.6 * buckets([0, 10, 30, 100], x)) / 0.9
def ks(values, below, at_or_below):
    v = sorted(values); n = len(v); d = 0.0
    for i, x in enumerate(v):
        # The sample's CDF just below x is i/n (or less for ties), at x it is (i+1)/n at least.
        lo = bisect.bisect_left(v, x) / n; hi = bisect.bisect_right(v, x) / n
        d = max(d, abs(lo - below(x)), abs(hi - at_or_below(x)))
    return d
xs = [x for x in t["x"] if x is not None]
day = lambda s: (datetime.date.fromisoformat(s) - datetime.date(1970, 1, 1)).days
d_bounds = [day("2020-01-01"), day("2020-07-01"), day("2021-01-01")]
ds = [(x - datetime.date(1970, 1, 1)).days for x in t["d"]]
def tv(values, shares):
    n = len(values)
    keys = set(values) | set(shares)
    return sum(abs(values.count(k) / n - shares.get(k, 0.0)) for k in keys) / 2
print(json.dumps({
    "rows": len(t["x"]),
    "x_ks": ks(xs, x_cdf, x_cdf_right),
    "d_ks": ks(ds, lambda x: buckets(d_bounds, x), lambda x: buckets(d_bounds, x + 1)),
    "band_tv": tv(t["band"], {"north": 0.5, "south": 0.3, "east": 0.2}),
    "flag_tv": tv(t["flag"], {True: 0.25, False: 0.75}),
    "x_shares": [x_cdf(b) - x_cdf(a) for a, b in zip(edges, edges[1:])],
    # Equivalence classes on the quasi-identifiers (d, band): [size, classes of that size].
    "classes": sorted(Counter(Counter(zip(ds, t["band"])).values()).items()),
}))
"#;

#[test]
fn generate_measures_the_generated_data_against_the_distribution_its_profile_describes() {
    let Some(python) = python() else {
        eprintln!("skipped: DOPPEL_PYTHON (a Python with pyarrow) is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (profile, rules) = (dir.path().join("m.profile.toml"), dir.path().join("m.toml"));
    std::fs::write(&profile, PROFILE).unwrap();
    std::fs::write(&rules, PROFILE_RULES).unwrap();
    let (out_dir, report) = (dir.path().join("out"), dir.path().join("report.json"));
    let out = generate_with(&rules, &profile, out_dir.to_str().unwrap(), &["--report", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let columns = report["tables"][0]["utility"]["columns"].as_array().unwrap().clone();
    let column = |name: &str| columns.iter().find(|c| c["column"] == name).unwrap().clone();
    let x = column("x");
    let edges = x["before"]["histogram"]["edges"].clone();
    assert_eq!(edges, x["after"]["histogram"]["edges"], "both sides over the same bins");

    let script = dir.path().join("profile.py");
    std::fs::write(&script, PROFILE_PYTHON).unwrap();
    let parquet = out_dir.join("public.m.parquet");
    let computed =
        std::process::Command::new(python).arg(&script).arg(&parquet).arg(edges.to_string()).output().unwrap();
    assert!(computed.status.success(), "{}", String::from_utf8_lossy(&computed.stderr));
    let want: serde_json::Value = serde_json::from_slice(&computed.stdout).unwrap();
    assert_eq!(want["rows"], 4000);
    let value = |c: &serde_json::Value, metric: &str| {
        assert_eq!(c["distance"]["metric"], metric, "{}", c["column"]);
        c["distance"]["value"].as_f64().unwrap()
    };
    // KS is read at the bins' edges (within one bin's share of the profile's: at most 0.005
    // here), of the profile's rows rounded (never more than half a row above the exact value).
    for (name, key) in [("x", "x_ks"), ("d", "d_ks")] {
        let (got, exact) = (value(&column(name), "ks"), want[key].as_f64().unwrap());
        assert!((got - exact).abs() <= 0.01 && got <= exact + 0.5 / 3600.0, "{name}: report {got}, python {exact}");
    }
    // Categories: the profile's shares of 4000 rows are whole, so TV is exact.
    for (name, key) in [("band", "band_tv"), ("flag", "flag_tv")] {
        let (got, exact) = (value(&column(name), "tv"), want[key].as_f64().unwrap());
        assert!((got - exact).abs() < 1e-9, "{name}: report {got}, python {exact}");
    }
    // The source side's histogram: the profile's 3600 non-null rows, in the profile's shares.
    let counts: Vec<u64> =
        x["before"]["histogram"]["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 3600);
    for (i, (count, share)) in counts.iter().zip(want["x_shares"].as_array().unwrap()).enumerate() {
        let share = share.as_f64().unwrap();
        assert!((*count as f64 / 3600.0 - share).abs() <= 1.0 / 3600.0, "bin {i}: {count} rows, python {share}");
    }
    assert_eq!(x["before"]["nulls"], 400);
    let band = column("band");
    let shown: Vec<(String, u64)> = band["before"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["value"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(shown, [("north".to_string(), 2000), ("south".into(), 1200), ("east".into(), 800)]);

    // The risk on the quasi-identifiers, counted on the generated rows as Python counts them.
    let risk = &report["tables"][0]["risk"];
    assert_eq!(risk["quasi_identifiers"], serde_json::json!(["d", "band"]));
    assert_eq!(risk["classes"], want["classes"]);
    let singles = want["classes"].as_array().unwrap().iter().find(|c| c[0] == 1).map_or(0, |c| c[1].as_u64().unwrap());
    assert_eq!((risk["rows"].as_u64(), risk["unique_rows"].as_u64()), (Some(4000), Some(singles)));
    assert_eq!(risk["k"], want["classes"][0][0]);
}
