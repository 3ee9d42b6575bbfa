//! The page's charts, as inline SVG (no script): a before/after histogram, a bar chart of
//! equivalence class sizes, and the subset's tables as a graph. Every chart scales to its
//! box (`viewBox`, width 100%), so none makes the page scroll sideways.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::escape::esc;
use super::model::Subset;
use crate::utility::Histogram;

const BEFORE: &str = "#9aa5b1";
const AFTER: &str = "#1f6feb";
const PANEL: &str = "#f6f8fa";
const LINE: &str = "#57606a";

/// The source's bars in grey, the output's as blue outlines over them, the range's ends
/// labelled by `label`. Shares, not counts: both sides have the same scale whatever their rows.
pub fn histogram(before: &Histogram, after: &Histogram, label: &dyn Fn(f64) -> String) -> String {
    let (w, h, top, bottom) = (300.0, 110.0, 6.0, 18.0);
    let share = |hist: &Histogram| -> Vec<f64> {
        let total = hist.counts.iter().sum::<u64>().max(1) as f64;
        hist.counts.iter().map(|c| *c as f64 / total).collect()
    };
    let (b, a) = (share(before), share(after));
    let max = b.iter().chain(&a).cloned().fold(0.0, f64::max).max(1e-12);
    let n = b.len().max(a.len()).max(1);
    let bar = w / n as f64;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="histogram, source and output"><rect x="0" y="{top}" width="{w}" height="{}" fill="{PANEL}"/>"#,
        h - top - bottom
    );
    let plot = h - top - bottom;
    for (i, v) in b.iter().enumerate() {
        let bh = v / max * plot;
        let _ = write!(
            svg,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}" fill="{BEFORE}"/>"#,
            i as f64 * bar + 0.5,
            top + plot - bh,
            (bar - 1.0).max(0.5)
        );
    }
    for (i, v) in a.iter().enumerate() {
        let bh = v / max * plot;
        let _ = write!(
            svg,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}" fill="none" stroke="{AFTER}" stroke-width="1.2"/>"#,
            i as f64 * bar + 0.5,
            top + plot - bh,
            (bar - 1.0).max(0.5)
        );
    }
    let (lo, hi) = (before.edges.first().copied().unwrap_or(0.0), before.edges.last().copied().unwrap_or(0.0));
    let _ = write!(
        svg,
        r#"<text x="0" y="{}" class="axis">{}</text><text x="{w}" y="{}" class="axis" text-anchor="end">{}</text></svg>"#,
        h - 4.0,
        esc(&label(lo)),
        h - 4.0,
        esc(&label(hi))
    );
    svg
}

/// Rows per equivalence class size: a bar per size (sizes above 20 together), the bars of
/// sizes below `k_warn` red.
pub fn classes(classes: &[(u64, u64)]) -> String {
    let mut bins: BTreeMap<u64, u64> = BTreeMap::new();
    for &(size, count) in classes {
        *bins.entry(size.min(21)).or_default() += size.saturating_mul(count);
    }
    let (w, h, top, bottom) = (420.0, 140.0, 8.0, 30.0);
    let plot = h - top - bottom;
    let max = bins.values().copied().max().unwrap_or(1).max(1) as f64;
    let bar = w / 21.0;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="rows by equivalence class size"><rect x="0" y="{top}" width="{w}" height="{plot}" fill="{PANEL}"/>"#
    );
    for size in 1..=21u64 {
        let x = (size - 1) as f64 * bar;
        let rows = bins.get(&size).copied().unwrap_or(0);
        let bh = rows as f64 / max * plot;
        let colour = if size == 1 {
            "#cf222e"
        } else if size < 5 {
            "#d4a72c"
        } else {
            "#2da44e"
        };
        let _ = write!(
            svg,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}" fill="{colour}"><title>{rows} rows</title></rect>"#,
            x + 1.0,
            top + plot - bh,
            bar - 2.0
        );
        let name = if size == 21 { "21+".to_string() } else { size.to_string() };
        let _ = write!(
            svg,
            r#"<text x="{:.2}" y="{}" class="axis" text-anchor="middle">{name}</text>"#,
            x + bar / 2.0,
            h - 16.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" class="axis" text-anchor="middle">class size (rows sharing the same quasi-identifiers)</text></svg>"#,
        w / 2.0,
        h - 2.0
    );
    svg
}

/// The subset's tables as boxes (name, rows selected) in layers, parents above the tables
/// that reference them, and a line per foreign key from the child up to its parent.
pub fn subset_graph(subset: &Subset) -> String {
    let names: Vec<&str> = subset.tables.iter().map(|t| t.table.as_str()).collect();
    let index = |name: &str| names.iter().position(|n| *n == name);
    // Layer = the longest chain of parents above a table (cycles stop at the table count).
    let mut layer = vec![0usize; names.len()];
    for _ in 0..names.len() {
        let mut changed = false;
        for e in &subset.edges {
            if let (Some(c), Some(p)) = (index(&e.child), index(&e.parent))
                && c != p
                && layer[c] < layer[p] + 1
                && layer[p] < names.len()
            {
                layer[c] = layer[p] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let layers: BTreeSet<usize> = layer.iter().copied().collect();
    let mut rows_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, l) in layer.iter().enumerate() {
        rows_of.entry(*l).or_default().push(i);
    }
    let (bw, bh, gap_x, gap_y) = (190.0, 46.0, 24.0, 44.0);
    let widest = rows_of.values().map(Vec::len).max().unwrap_or(1) as f64;
    let w = (widest * (bw + gap_x)).max(bw + gap_x);
    let h = layers.len() as f64 * (bh + gap_y);
    let mut at = vec![(0.0, 0.0); names.len()];
    for (row, (_, members)) in rows_of.iter().enumerate() {
        let offset = (w - members.len() as f64 * (bw + gap_x)) / 2.0;
        for (k, &i) in members.iter().enumerate() {
            at[i] = (offset + k as f64 * (bw + gap_x) + gap_x / 2.0, row as f64 * (bh + gap_y) + gap_y / 2.0);
        }
    }
    let mut svg = format!(
        r##"<svg class="chart graph" viewBox="0 0 {w} {h}" width="100%" style="max-width:{w}px" role="img" aria-label="subset: tables and foreign keys"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>"##
    );
    for e in &subset.edges {
        if let (Some(c), Some(p)) = (index(&e.child), index(&e.parent)) {
            let (cx, cy) = (at[c].0 + bw / 2.0, at[c].1);
            let (px, py) = (at[p].0 + bw / 2.0, at[p].1 + bh);
            let _ = write!(
                svg,
                r#"<line x1="{cx:.1}" y1="{cy:.1}" x2="{px:.1}" y2="{py:.1}" stroke="{LINE}" stroke-width="1.2" marker-end="url(#arrow)"><title>{}</title></line>"#,
                esc(&e.name)
            );
        }
    }
    for (i, t) in subset.tables.iter().enumerate() {
        let (x, y) = at[i];
        let rows = if t.all_rows { "all rows".to_string() } else { format!("{} rows", t.keyed_rows) };
        let _ = write!(
            svg,
            r#"<g><rect x="{x:.1}" y="{y:.1}" width="{bw}" height="{bh}" rx="6" fill="white" stroke="{AFTER}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" class="node">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text></g>"#,
            x + bw / 2.0,
            y + 19.0,
            esc(&shorten(&t.table, 26)),
            x + bw / 2.0,
            y + 36.0,
            esc(&rows)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// At most `n` characters, the cut marked with `…`.
pub fn shorten(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}
