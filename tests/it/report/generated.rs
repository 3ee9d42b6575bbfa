//! `generate --report-html`: the page of a synthetic dataset, each column's generated values
//! against the source's statistics from the profile.

use crate::common::*;
use crate::generate::into_postgres::{generate, trade_profile};

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
