//! The page's layout: one HTML document with its CSS inline, sections in the order a
//! reviewer reads them (the run, the tables, verify's findings, the subset, then per table
//! its columns with their rules, utility figures and risk). Every string from the report is
//! escaped here or in [`super::svg`]; numbers are formatted here.

use std::fmt::Write;

use super::escape::esc;
use super::model::{Column, Report, Risk, Table, Verify};
use super::svg;
use crate::utility::fan_out::{Children, FanOut};
use crate::utility::{ColumnUtility, Histogram, Kind, Metric, Profile};

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
.sub{color:#59636e;margin:0 0 12px}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:6px 0 12px}
th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;overflow-wrap:anywhere}
.kv th{width:220px}
.tag{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;background:#ddf4ff;color:#0550ae}
.tag.keep{background:#eef1f4;color:#424a53}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
.warning{border:2px solid #cf222e;background:#ffebe9;border-radius:6px;padding:10px 14px;margin:10px 0}
.warning b{color:#cf222e}
.note{border-left:4px solid #d0d7de;padding:4px 10px;color:#59636e;margin:8px 0}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin:0 4px 0 10px}
.chart{display:block;max-width:100%;height:auto}
.chart .axis,svg .axis{font-size:10px;fill:#59636e}
svg .node{font-size:12px;font-weight:600;fill:#1f2328}
.cats{margin:4px 0 0;padding:0;list-style:none;font-size:12px}
.cats li{display:flex;gap:6px}.cats li span:first-child{flex:1;overflow-wrap:anywhere}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
"#;

pub fn page(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        out,
        "<title>doppel assessment: {}</title><style>{CSS}</style></head><body><main>",
        esc(&identity_line(&report.target))
    );
    let _ = write!(
        out,
        "<h1>Assessment report</h1><p class=\"sub\">doppel {} · started {} · {:.2} s · {} rows written</p>",
        esc(&report.doppel_version),
        esc(&report.started_at),
        report.seconds,
        report.total_rows
    );
    run_section(&mut out, report);
    tables_section(&mut out, report);
    if let Some(verify) = &report.verify {
        verify_section(&mut out, verify);
    }
    if let Some(subset) = &report.subset {
        out.push_str("<h2 id=\"subset\">Subset</h2><p class=\"sub\">Tables with the rows the subset selected; an arrow per foreign key, from the referencing table to the referenced one.</p>");
        out.push_str(&svg::subset_graph(subset));
    }
    for table in report.tables.iter().filter(|t| t.action != "skip") {
        table_section(&mut out, table);
    }
    out.push_str(
        "<h2>What this page contains</h2><p class=\"note\">Names, counts, hashes and shapes. No value of a transformed \
         column appears: its charts show only distributions (of numbers, dates, text lengths) and null counts. Values \
         of kept columns are named only when at least the report's minimum count of rows hold them. The key never \
         appears; its fingerprint tells keys apart without revealing it.</p>",
    );
    out.push_str("</main></body></html>\n");
    out
}

/// `kind: place database` of an identity, for the title.
fn identity_line(identity: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let field = |k: &str| identity.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match field("kind") {
        "postgres" => format!("{} {}", field("location"), field("database")),
        _ => field("path").to_string(),
    }
}

fn run_section(out: &mut String, r: &Report) {
    out.push_str("<h2 id=\"run\">The run</h2><table class=\"kv\">");
    let mut pair = |k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    pair("Rules", format!("<code>{}</code>", esc(&r.rules.path)));
    pair("Rules hash (blake3)", format!("<code>{}</code>", esc(&r.rules_blake3)));
    if let Some(git) = &r.rules.git {
        pair(
            "Rules commit",
            format!(
                "<code>{}</code> by {}, {}{}",
                esc(&git.commit),
                esc(&git.author),
                esc(&git.date),
                if git.modified { " · <span class=\"bad\">modified since</span>" } else { "" }
            ),
        );
    }
    pair("Key fingerprint", format!("<code>{}</code>", esc(&r.key_fingerprint)));
    pair("Source", identity(&r.source));
    pair("Target", identity(&r.target));
    pair("Duration", format!("{:.2} s", r.seconds));
    out.push_str("</table>");
    if !r.rules.files.is_empty() {
        out.push_str(
            "<table><tr><th>Rules file</th><th class=\"n\" style=\"width:110px\">bytes</th><th>blake3</th></tr>",
        );
        for f in &r.rules.files {
            row(out, &[Cell::Code(&f.name), Cell::Num(f.bytes.to_string()), Cell::Code(&f.blake3)]);
        }
        out.push_str("</table>");
    }
}

/// An identity's fields (kind, place, snapshot, files), each escaped.
fn identity(fields: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let mut s = String::new();
    for (k, v) in fields {
        let shown = match v {
            serde_json::Value::String(t) => esc(t),
            serde_json::Value::Array(items) => format!("{} files", items.len()),
            serde_json::Value::Object(o) => esc(o.get("name").and_then(|n| n.as_str()).unwrap_or("")),
            other => esc(&other.to_string()),
        };
        let _ = write!(s, "<div><span class=\"sub\">{}:</span> <code>{shown}</code></div>", esc(k));
    }
    s
}

fn tables_section(out: &mut String, r: &Report) {
    let with_risk = r.tables.iter().any(|t| t.risk.is_some());
    out.push_str("<h2 id=\"tables\">Tables</h2><table><tr><th>Table</th><th style=\"width:80px\">action</th><th class=\"n\">rows read</th><th class=\"n\">rows written</th><th class=\"n\">seconds</th><th class=\"n\">columns transformed</th><th class=\"n\">kept</th>");
    out.push_str(if with_risk { "<th>risk (k-anonymity)</th></tr>" } else { "</tr>" });
    for t in &r.tables {
        let transformed = t.columns.iter().filter(|c| !is_keep(c)).count();
        let risk = match &t.risk {
            Some(risk) if risk.unique_rows > 0 => format!("<td><span class=\"bad\">k = {}</span></td>", risk.k),
            Some(risk) => format!("<td><span class=\"ok\">k = {}</span></td>", risk.k),
            None if with_risk => "<td></td>".to_string(),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr><td><a href=\"#t-{id}\"><code>{name}</code></a></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{transformed}</td><td class=\"n\">{}</td>{risk}</tr>",
            esc(&t.action),
            t.rows_read,
            t.rows_written,
            t.seconds,
            t.columns.len() - transformed,
            id = anchor(&t.table),
            name = esc(&t.table),
        );
    }
    out.push_str("</table>");
}

fn verify_section(out: &mut String, v: &Verify) {
    let verdict = if v.findings.is_empty() {
        "<span class=\"ok\">no finding</span>".to_string()
    } else {
        format!("<span class=\"bad\">{} findings</span>", v.findings.len())
    };
    let _ = write!(
        out,
        "<h2 id=\"verify\">Verification</h2><p>{verdict}: {} tables, {} personal columns checked, {} distinctive values searched for (small-space limit {:.2}%).</p>",
        v.tables_checked,
        v.personal_columns,
        v.values_searched,
        v.max_same_rate * 100.0
    );
    for (title, list) in
        [("Findings", &v.findings), ("Kept columns publishing a personal column's values", &v.published)]
    {
        if list.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<h3>{title}</h3><table><tr><th>table</th><th>column</th><th>kind</th><th class=\"n\">count</th><th>rule</th></tr>"
        );
        for f in list {
            let rule = f.rule.as_deref().unwrap_or("");
            let count = Cell::Num(f.count.to_string());
            row(out, &[Cell::Code(&f.table), Cell::Code(&f.column), Cell::Text(&f.kind), count, Cell::Code(rule)]);
        }
        out.push_str("</table>");
    }
    let same: Vec<_> = v.same.iter().filter(|s| s.same > 0).collect();
    if !same.is_empty() {
        out.push_str("<h3>Rows keeping their own value</h3><table><tr><th>table</th><th>column</th><th class=\"n\">compared</th><th class=\"n\">same</th><th class=\"n\">rate</th></tr>");
        for s in same {
            let rate = format!("{:.2}%", s.rate * 100.0);
            let (compared, same) = (s.compared.to_string(), s.same.to_string());
            row(
                out,
                &[Cell::Code(&s.table), Cell::Code(&s.column), Cell::Num(compared), Cell::Num(same), Cell::Num(rate)],
            );
        }
        out.push_str("</table>");
    }
}

fn table_section(out: &mut String, t: &Table) {
    let _ = write!(out, "<h2 id=\"t-{}\">{}</h2>", anchor(&t.table), esc(&t.table));
    if let Some(risk) = &t.risk {
        risk_section(out, risk);
    }
    match &t.utility {
        Some(u) if !u.columns.is_empty() => out.push_str(
            "<p class=\"legend sub\">Charts: <span style=\"background:#9aa5b1\"></span>source <span style=\"border:1.5px solid #1f6feb\"></span>output (shares of the non-null values). Distance: KS (largest gap between the cumulative distributions) or TV (total variation of the category shares), 0 = unchanged, 1 = disjoint.</p>",
        ),
        _ if t.columns.iter().all(is_keep) => out.push_str(
            "<p class=\"note\">Every column kept: the output is the source, copied unchanged (not profiled).</p>",
        ),
        _ => out.push_str("<p class=\"note\">No utility figures in this report for this table.</p>"),
    }
    out.push_str("<table><tr><th style=\"width:15%\">column</th><th style=\"width:22%\">rule</th><th style=\"width:24%\">source → output</th><th style=\"width:9%\">distance</th><th style=\"width:30%\">distribution</th></tr>");
    for c in &t.columns {
        let utility = t.utility.as_ref().and_then(|u| u.columns.iter().find(|x| x.column == c.column));
        column_row(out, c, utility);
    }
    out.push_str("</table>");
    if let Some(u) = &t.utility
        && !u.correlations.is_empty()
    {
        out.push_str("<h3>Correlations (Pearson) between kept and noised numeric columns</h3><table><tr><th>columns</th><th class=\"n\">source</th><th class=\"n\">output</th></tr>");
        for c in &u.correlations {
            let r = |r: Option<f64>| Cell::Num(r.map_or("–".into(), |r| format!("{r:.3}")));
            let pair = format!("<code>{}</code> · <code>{}</code>", esc(&c.columns[0]), esc(&c.columns[1]));
            row(out, &[Cell::Html(pair), r(c.before), r(c.after)]);
        }
        out.push_str("</table>");
    }
    if let Some(u) = &t.utility
        && !u.fan_out.is_empty()
    {
        fan_out_section(out, &u.fan_out);
    }
}

/// Children per parent of each foreign key: the figures of both sides and their bins.
fn fan_out_section(out: &mut String, fan_out: &[FanOut]) {
    out.push_str("<h3>Foreign-key fan-out (rows referencing each parent row)</h3><table><tr><th style=\"width:25%\">foreign key</th><th style=\"width:22%\">source</th><th style=\"width:22%\">output</th><th style=\"width:31%\">children per parent</th></tr>");
    let side = |c: &Children| {
        let parents = match c.parent_rows {
            Some(rows) => format!("{} of {rows} parents referenced", c.parents),
            None => format!("{} parents referenced", c.parents),
        };
        format!("<div>{} children</div><div>{parents}</div><div>mean {:.2}, max {}</div>", c.children, c.mean, c.max)
    };
    for f in fan_out {
        let columns: Vec<String> = f.columns.iter().map(|c| format!("<code>{}</code>", esc(c))).collect();
        let key = format!(
            "<code>{}</code><div class=\"sub\">({}) → <code>{}</code></div>",
            esc(&f.foreign_key),
            columns.join(", "),
            esc(&f.parent)
        );
        // Both sides over the bins either uses, labelled by their lower ends.
        let mut bins: Vec<[u64; 2]> = f.before.bins.iter().chain(&f.after.bins).map(|b| [b[0], b[1]]).collect();
        bins.sort();
        bins.dedup();
        let counts = |c: &Children| -> Vec<u64> {
            bins.iter().map(|b| c.bins.iter().find(|x| x[0] == b[0]).map_or(0, |x| x[2])).collect()
        };
        let edges: Vec<f64> = (0..=bins.len()).map(|i| i as f64).collect();
        let label = |v: f64| match bins.get(v as usize) {
            Some(b) => format!("{} children", b[0]),
            None => format!("{} children", bins.last().map_or(0, |b| b[1])),
        };
        let chart = svg::histogram(
            &Histogram { edges: edges.clone(), counts: counts(&f.before) },
            &Histogram { edges, counts: counts(&f.after) },
            &label,
        );
        row(out, &[Cell::Html(key), Cell::Html(side(&f.before)), Cell::Html(side(&f.after)), Cell::Html(chart)]);
    }
    out.push_str("</table>");
}

fn is_keep(c: &Column) -> bool {
    c.action == "keep"
}

fn column_row(out: &mut String, c: &Column, u: Option<&ColumnUtility>) {
    let rule_class = if is_keep(c) { "tag keep" } else { "tag" };
    let mut rule = format!("<span class=\"{rule_class}\">{}</span>", esc(&c.action));
    if let Some(domain) = &c.domain {
        let _ = write!(rule, " <span class=\"sub\">domain <code>{}</code></span>", esc(domain));
    }
    if c.unique {
        rule.push_str(" <span class=\"sub\">unique</span>");
    }
    let (figures, distance, chart) = match u {
        Some(u) => (figures(u), distance(u), chart(u, &c.data_type)),
        None => (String::new(), String::new(), String::new()),
    };
    let _ = write!(
        out,
        "<tr><td><code>{}</code><div class=\"sub\">{}</div></td><td>{rule}</td><td>{figures}</td><td>{distance}</td><td>{chart}</td></tr>",
        esc(&c.column),
        esc(&c.data_type)
    );
}

fn figures(u: &ColumnUtility) -> String {
    let nulls = |p: &Profile| if p.rows == 0 { 0.0 } else { p.nulls as f64 / p.rows as f64 * 100.0 };
    let distinct = |p: &Profile| format!("{}{}", if p.distinct_exact { "" } else { "≈" }, p.distinct);
    let mut s = format!(
        "<div>nulls {:.1}% → {:.1}%</div><div>distinct {} → {}</div>",
        nulls(&u.before),
        nulls(&u.after),
        distinct(&u.before),
        distinct(&u.after)
    );
    if u.personal {
        s.push_str("<div class=\"sub\">transformed: shape only</div>");
    }
    if let Some(categories) = &u.after.categories {
        s.push_str("<ul class=\"cats\">");
        for c in categories {
            let _ = write!(
                s,
                "<li><span><code>{}</code></span><span>{}</span></li>",
                esc(&svg::shorten(&c.value, 40)),
                c.count
            );
        }
        if u.after.other > 0 {
            let _ = write!(s, "<li><span class=\"sub\">other values</span><span>{}</span></li>", u.after.other);
        }
        s.push_str("</ul>");
    }
    s
}

fn distance(u: &ColumnUtility) -> String {
    match &u.distance {
        Some(d) => {
            let metric = match d.metric {
                Metric::Ks => "KS",
                Metric::Tv => "TV",
            };
            let class = if d.value < 0.05 {
                "ok"
            } else if d.value < 0.2 {
                ""
            } else {
                "bad"
            };
            format!("<span class=\"{class}\">{:.3}</span> <span class=\"sub\">{metric}</span>", d.value)
        }
        None => "–".to_string(),
    }
}

fn chart(u: &ColumnUtility, data_type: &str) -> String {
    let days = |v: f64| date_label(v * 86_400.0, false);
    let seconds = |v: f64| date_label(v, true);
    let number = |v: f64| number_label(v);
    let lengths = |v: f64| format!("{v:.0} chars");
    let temporal_seconds = data_type.to_lowercase().contains("timestamp");
    // A side without a histogram (generate's source side: statistics only) is drawn empty.
    let pair = |b: &Option<Histogram>, a: &Option<Histogram>| match (b, a) {
        (Some(b), Some(a)) => Some((b.clone(), a.clone())),
        (None, Some(a)) => Some((Histogram { edges: a.edges.clone(), counts: vec![0; a.counts.len()] }, a.clone())),
        _ => None,
    };
    if let Some((b, a)) = pair(&u.before.histogram, &u.after.histogram) {
        let label: &dyn Fn(f64) -> String = match (u.kind, temporal_seconds) {
            (Kind::Temporal, true) => &seconds,
            (Kind::Temporal, false) => &days,
            _ => &number,
        };
        return svg::histogram(&b, &a, label);
    }
    if let Some((b, a)) = pair(&u.before.length, &u.after.length) {
        return format!("<div class=\"sub\">text length</div>{}", svg::histogram(&b, &a, &lengths));
    }
    String::new()
}

fn date_label(seconds: f64, time: bool) -> String {
    match chrono::DateTime::from_timestamp(seconds.floor() as i64, 0) {
        Some(t) if time => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => number_label(seconds),
    }
}

fn number_label(v: f64) -> String {
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn risk_section(out: &mut String, r: &Risk) {
    let qi: Vec<String> = r.quasi_identifiers.iter().map(|q| format!("<code>{}</code>", esc(q))).collect();
    let _ = write!(
        out,
        "<h3>Re-identification risk</h3><div class=\"grid2\"><div><table class=\"kv\"><tr><th>Quasi-identifiers</th><td>{}</td></tr><tr><th>k-anonymity (smallest class)</th><td class=\"{}\">k = {}</td></tr><tr><th>Unique rows</th><td>{} of {} ({:.2}%)</td></tr><tr><th>Figures</th><td>{}</td></tr></table></div><div>{}</div></div>",
        qi.join(", "),
        if r.k <= 1 { "bad" } else { "ok" },
        r.k,
        r.unique_rows,
        r.rows,
        r.unique_share * 100.0,
        match (r.exact, r.error_bound) {
            (true, _) => "exact".to_string(),
            (false, Some(bound)) => format!("estimated (sketch), error bound ±{:.2}%", bound * 100.0),
            (false, None) => "estimated (sketch)".to_string(),
        },
        svg::classes(&r.classes)
    );
    if r.warning.is_some() || r.suggestion.is_some() {
        out.push_str("<div class=\"warning\" role=\"alert\">");
        if let Some(w) = &r.warning {
            let _ = write!(out, "<div><b>Warning:</b> {}</div>", esc(w));
        }
        if let Some(s) = &r.suggestion {
            let _ = write!(out, "<div><b>Suggested rule change:</b> <code>{}</code></div>", esc(s));
        }
        out.push_str("</div>");
    }
}

/// A cell of a data table.
enum Cell<'a> {
    /// A name, escaped, in `<code>`.
    Code(&'a str),
    /// Words, escaped.
    Text(&'a str),
    /// A figure, right-aligned.
    Num(String),
    /// Markup made here (its strings escaped already).
    Html(String),
}

fn row(out: &mut String, cells: &[Cell<'_>]) {
    out.push_str("<tr>");
    for cell in cells {
        let _ = match cell {
            Cell::Code(s) => write!(out, "<td><code>{}</code></td>", esc(s)),
            Cell::Text(s) => write!(out, "<td>{}</td>", esc(s)),
            Cell::Num(s) => write!(out, "<td class=\"n\">{s}</td>"),
            Cell::Html(s) => write!(out, "<td>{s}</td>"),
        };
    }
    out.push_str("</tr>");
}

/// An id for a table's section: letters, digits, `-` and `_` kept, others as `_`.
fn anchor(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}
