//! `run --report-html` and `doppel report` at the command line: what they refuse, and that a
//! failed run leaves no page.

use crate::common::*;

#[test]
fn report_html_is_refused_on_stdout_on_the_report_s_own_file_and_inside_a_file_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let json = dir.path().join("r.json");
    let inside = out.join("page.html");
    for (extra, says) in [
        (vec!["--report-html", "-"], "--report-html -: the page is written to a file"),
        (
            vec!["--report", json.to_str().unwrap(), "--report-html", json.to_str().unwrap()],
            "the same file as --report",
        ),
        (vec!["--report-html", inside.to_str().unwrap()], "which the run replaces when it publishes"),
    ] {
        let run = run_shop(&out, TEST_KEY, &extra);
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {}", stderr(&run));
        assert!(stderr(&run).contains(says), "{extra:?}: {}", stderr(&run));
        assert!(!out.exists(), "{extra:?}: something was written");
    }
}

#[test]
fn a_run_stopped_by_a_verify_finding_publishes_no_page() {
    let dir = tempfile::tempdir().unwrap();
    // The shop rules with the customers' email kept: verify finds every row's own value.
    let rules = dir.path().join("rules.toml");
    let text = std::fs::read_to_string(shop_rules()).unwrap();
    let email = text.lines().find(|l| l.starts_with("email ")).unwrap();
    std::fs::write(&rules, text.replace(email, "email = { action = \"keep\" }")).unwrap();
    let page = dir.path().join("page.html");
    let out = dir.path().join("out");
    let run = doppel_run(
        &rules,
        fixture_dir().to_str().unwrap(),
        out.to_str().unwrap(),
        &["--verify", "--report-html", page.to_str().unwrap()],
    );
    assert_eq!(run.status.code(), Some(6), "{}", stderr(&run));
    assert!(!page.exists(), "a page was published for a failed run");
    let left: Vec<String> = visible_entries(dir.path()).into_iter().filter(|n| n.contains("page")).collect();
    assert!(left.is_empty(), "staging leftovers: {left:?}");
}

#[test]
fn doppel_report_refuses_a_file_that_is_not_a_report_by_place_without_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"rules\": {\"path\": \"planted-secret\"},\n  \"tables\": 7\n}\n").unwrap();
    let page = dir.path().join("page.html");
    let out = doppel(&["report", "--from", bad.to_str().unwrap(), "--to", page.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("bad.json") && said.contains("line "), "{said}");
    assert!(!said.contains("planted-secret"), "{said}");
    assert!(!page.exists());
}
