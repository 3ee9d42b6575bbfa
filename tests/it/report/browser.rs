//! The page in headless Chromium (Debian's `chromium`; scripts/test.sh installs it): it loads
//! without a console message, its charts are in the DOM, and at a 1280-pixel-wide window
//! nothing is wider than the window (no sideways scrolling). Without Chromium the tests say
//! so and pass, so that a machine without it can still run the suite.
//!
//! `DOPPEL_UPDATE_SCREENSHOT=1` also writes the sample page's screenshot to
//! docs/img/report.png (the one docs/report.md shows).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The browser, or `None` (with a notice) when it is not installed.
pub(super) fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "NOTICE: chromium is not installed; the browser checks of the report page are skipped (scripts/test.sh installs it)"
        );
    }
    found
}

/// What Chromium made of a page: its DOM after loading, and the console messages it logged.
struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Loads `page` at a 1280 × `height` window; `extra`: more flags (`--screenshot=FILE`).
fn load(browser: &Path, page: &Path, height: u32, extra: &[String]) -> Loaded {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size=1280,{height}"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(out.status.success(), "chromium failed on {}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    let console =
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect();
    Loaded { dom: String::from_utf8_lossy(&out.stdout).into_owned(), console }
}

/// `page` with a script appended that writes the document's width into the title (a copy:
/// the page itself holds no script), loaded at 1280 pixels: the width it needs.
fn needed_width(browser: &Path, page: &Path) -> u32 {
    let measured = page.with_extension("measure.html");
    let html = std::fs::read_to_string(page).unwrap().replace(
        "</body>",
        "<script>document.title = 'width=' + document.documentElement.scrollWidth;</script></body>",
    );
    std::fs::write(&measured, html).unwrap();
    let dom = load(browser, &measured, 900, &[]).dom;
    let title = dom.split("<title>width=").nth(1).and_then(|t| t.split('<').next()).expect("the measured width");
    title.parse().unwrap()
}

/// Checks one page: no console message, `charts` SVG charts at least, no sideways scrolling.
pub(super) fn check_page(browser: &Path, page: &Path, charts: usize) {
    let loaded = load(browser, page, 900, &[]);
    assert!(loaded.console.is_empty(), "console messages on {}: {:?}", page.display(), loaded.console);
    let drawn = loaded.dom.matches("<svg class=\"chart").count();
    assert!(drawn >= charts, "{}: {drawn} charts in the DOM, expected {charts} at least", page.display());
    assert!(loaded.dom.contains("<rect"), "{}: no bars drawn", page.display());
    let width = needed_width(browser, page);
    assert!(width <= 1280, "{} needs {width} pixels: it scrolls sideways at 1280", page.display());
}

#[test]
fn the_console_check_catches_a_message() {
    // The check below is only worth something if a console message is seen.
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("noisy.html");
    std::fs::write(&page, "<html><body><script>console.error('planted')</script></body></html>").unwrap();
    let loaded = load(&browser, &page, 600, &[]);
    assert!(loaded.console.iter().any(|l| l.contains("planted")), "{:?}", loaded.console);
}

#[test]
fn the_page_of_a_shop_run_loads_cleanly_draws_its_charts_and_fits_1280_pixels() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("shop.html");
    let out = run_shop(&dir.path().join("out"), TEST_KEY, &["--report-html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 40 columns in 4 tables, each with a histogram (numbers, dates or text lengths), but the uuid.
    check_page(&browser, &page, 39);
}

#[test]
fn the_sample_page_with_every_section_loads_cleanly_and_is_the_documented_screenshot() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sample.html");
    let sample = root().join("fixtures/report/sample.json");
    let out = doppel(&["report", "--from", sample.to_str().unwrap(), "--to", page.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    // Five histograms, the class sizes, the subset graph.
    check_page(&browser, &page, 7);
    let shot = dir.path().join("report.png");
    load(&browser, &page, 2300, &[format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1280, "screenshot width");
    if std::env::var_os("DOPPEL_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(&shot, root().join("docs/img/report.png")).unwrap();
    }
}

#[test]
fn the_page_of_a_northwind_subset_run_into_postgres_draws_the_closure_and_fits_1280_pixels() {
    let c = crate::common::pg::cluster();
    let source = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("subset.html");
    let rules = root().join("tests/fixtures/pg/trade_subset");
    let target = format!("{source}_subset");
    let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &["--report-html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("aria-label=\"subset: tables and foreign keys\""), "no subset graph");
    assert!(html.contains("<h3>Foreign-key fan-out"), "no fan-out");
    assert!(html.contains("<code>fk_orders_customers</code>"), "no fan-out of orders → customers");
    // Every table of the closure is a box with its rows selected.
    for t in c.psql(&target, "SELECT schemaname || '.' || relname FROM pg_stat_user_tables").lines() {
        assert!(html.contains(&format!(">{t}</text>")) || html.contains(&format!(">{t}</h2>")), "{t} missing");
    }
    let Some(browser) = chromium() else { return };
    check_page(&browser, &page, 10);
}

#[test]
fn the_page_of_a_benchmark_shaped_run_fits_1280_pixels() {
    // scripts/bench/fixture.sql at a small size (the benchmark's tables, columns and foreign
    // key), anonymised by the benchmark's rules into PostgreSQL as anon-pg-report runs it.
    let c = crate::common::pg::cluster();
    let source = c.bench("report_bench", 2_000, 6_000, "1");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bench.html");
    let rules = root().join("rules/bench.toml");
    let target = format!("{source}_out");
    let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &["--report-html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    for table in ["public.customers", "public.orders"] {
        assert!(html.contains(&format!(">{table}</h2>")), "no section for {table}");
    }
    assert!(html.contains("<code>orders_customer_id_fkey</code>"), "no fan-out of orders → customers");
    let Some(browser) = chromium() else { return };
    // 20 columns, each with a histogram (numbers, dates or text lengths), and the fan-out's.
    check_page(&browser, &page, 21);
}
