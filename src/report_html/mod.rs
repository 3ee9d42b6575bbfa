//! The assessment page: one self-contained HTML file (CSS and SVG inline, no script, no
//! network, works from a file:// URL and as a CI artefact) drawn from the audit report's
//! JSON, for whoever approves a copy: what was done to each column, how much of the data's
//! usefulness survived, and (when the report has it) how easily a row is singled out.
//!
//! ```text
//! report JSON ──model::Report (serde; optional sections may be absent)──▶ page::page ──▶ HTML
//!                                                     svg (charts) ─┘   escape (every string)
//! ```
//!
//! `run --report-html` goes through the same JSON, so a page can always be rebuilt from the
//! report (`doppel report --from REPORT.json --to PAGE.html`).
//!
//! - [`model`]: the report as the page reads it.
//! - [`page`]: layout and CSS.
//! - [`svg`]: histograms, the class size chart, the subset graph.
//! - [`escape`]: HTML escaping.

mod escape;
pub mod model;
mod page;
mod svg;

/// Why a report could not be read; names the place in the file, never its text.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {what}")]
pub struct ReadError {
    pub line: usize,
    pub column: usize,
    pub what: &'static str,
}

/// The page for a report given as its JSON text.
pub fn render(json: &str) -> Result<String, ReadError> {
    let report: model::Report = serde_json::from_str(json).map_err(|e| ReadError {
        line: e.line(),
        column: e.column(),
        what: match e.classify() {
            serde_json::error::Category::Data => {
                "a field is missing or has the wrong type: not a report written by doppel run --report (or by an \
                 incompatible version)"
            }
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON (is the file complete?)"
            }
            serde_json::error::Category::Io => "the file could not be read",
        },
    })?;
    Ok(page::page(&report))
}

#[cfg(test)]
mod tests {
    use super::render;

    const SAMPLE: &str = include_str!("../../fixtures/report/sample.json");

    #[test]
    fn every_string_from_the_report_is_escaped() {
        let page = render(SAMPLE).unwrap();
        // The sample plants markup in a table name, a category and the risk warning.
        for planted in ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<b>odd</b>"] {
            assert!(!page.contains(planted), "{planted} is in the page unescaped");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(!page.contains("<script"), "the page holds a script");
    }

    #[test]
    fn the_sample_page_has_every_section_and_a_chart_each() {
        let page = render(SAMPLE).unwrap();
        for heading in ["The run", "Tables", "Verification", "Subset", "Re-identification risk", "k-anonymity"] {
            assert!(page.contains(heading), "no {heading}");
        }
        assert!(page.contains("class=\"warning\""), "no warning box");
        assert!(page.contains("aria-label=\"subset: tables and foreign keys\""));
        assert!(page.contains("aria-label=\"rows by equivalence class size\""));
        // date_of_birth, city, postcode, country, balance: one histogram each.
        assert_eq!(page.matches("aria-label=\"histogram, source and output\"").count(), 5);
        // Nothing the page loads from elsewhere.
        for outside in ["http://", "https://", "<img", "<link", "<iframe", "@import"] {
            assert!(!page.contains(outside), "the page holds {outside}");
        }
    }

    #[test]
    fn a_report_without_the_optional_sections_still_makes_a_page() {
        let minimal = r#"{"rules": {"path": "r.toml"}, "rules_blake3": "ab", "key_fingerprint": "cd",
            "source": {"kind": "parquet", "path": "in"}, "target": {"kind": "parquet", "path": "out"},
            "tables": [{"table": "public.t", "action": "copy", "columns": [{"column": "a", "type": "Int64", "action": "keep"}]}]}"#;
        let page = render(minimal).unwrap();
        assert!(page.contains("Every column kept"));
        assert!(!page.contains("Subset") && !page.contains("Verification"));
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused_by_place_without_its_text() {
        let err = render(r#"{"rules": {"path": "secret-value"}, "tables": "x"}"#).unwrap_err().to_string();
        assert!(err.starts_with("line 1, column "), "{err}");
        assert!(err.contains("not a report written by doppel run --report"), "{err}");
        assert!(!err.contains("secret-value") && !err.contains("\"x\""), "{err}");
        let err = render("{\"rules\": ").unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }
}
