//! Shell and pipeline conventions: completions and the man page generated from the argument
//! definitions, `--json` against the schemas documented in docs/machine-output.md (read here with serde_json's
//! untyped `Value`, independent of doppel's own structs), and `-` as stdout.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::*;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// What bash's completion function offers for the words typed so far (the last one being
/// completed), as a user's <TAB> would.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' || exit 9\n\
         complete -p doppel >/dev/null || exit 8\n\
         COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n\
         _doppel doppel \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" 2>/dev/null\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.join(" "),
        words.len() - 1
    );
    let out = Command::new("bash").args(["--norc", "--noprofile", "-c", &program]).output().expect("bash");
    assert!(out.status.success(), "bash: {:?}\n{}", out.status, stderr(&out));
    stdout(&out).lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[test]
fn completions_are_generated_for_every_shell_and_bash_completes_commands_and_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = doppel(&["completions", shell], None);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for needle in ["doppel", "verify", "rules", "json"] {
            assert!(script.contains(needle), "{shell}: `{needle}` missing");
        }
        assert_eq!(stderr(&out), "", "{shell}");
    }
    let out = doppel(&["completions", "tcsh"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash, elvish, fish, powershell, zsh"), "{}", stderr(&out));
    // Where the shells are installed, their own parsers accept the scripts.
    for (shell, check) in [("zsh", "zsh -n"), ("fish", "fish --no-execute")] {
        if have(shell) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(shell);
            std::fs::write(&file, doppel(&["completions", shell], None).stdout).unwrap();
            let o = Command::new("sh").args(["-c", &format!("{check} '{}'", file.display())]).output().unwrap();
            assert!(o.status.success(), "{shell}: {}", stderr(&o));
        }
    }

    if !have("bash") {
        eprintln!("note: bash is not installed; the bash completion was generated but not exercised");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("doppel.bash");
    std::fs::write(&script, doppel(&["completions", "bash"], None).stdout).unwrap();
    assert_eq!(bash_complete(&script, &["doppel", "ru"]), ["run"]);
    let commands = bash_complete(&script, &["doppel", ""]);
    for c in ["run", "check", "verify", "scan", "branch", "profile", "generate", "completions", "man"] {
        assert!(commands.iter().any(|w| w == c), "`doppel <TAB>` lacks {c}: {commands:?}");
    }
    assert_eq!(bash_complete(&script, &["doppel", "run", "--ru"]), ["--rules"]);
    let flags = bash_complete(&script, &["doppel", "verify", "--"]);
    for f in ["--rules", "--from", "--to", "--json", "--report", "--log", "--color"] {
        assert!(flags.iter().any(|w| w == f), "`doppel verify --<TAB>` lacks {f}: {flags:?}");
    }
    assert_eq!(bash_complete(&script, &["doppel", "branch", "cr"]), ["create"]);
    let levels = bash_complete(&script, &["doppel", "check", "--log", ""]);
    assert_eq!(levels, ["error", "warn", "info", "debug", "trace"]);
}

#[test]
fn the_man_page_is_roff_that_renders_and_names_every_command() {
    let out = doppel(&["man"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let roff = stdout(&out);
    assert!(roff.contains(".TH doppel 1"), "{roff}");
    let commands = ["run", "check", "protect", "verify", "scan", "branch", "profile", "generate", "completions", "man"];
    for c in commands {
        assert!(roff.contains(&format!("doppel\\-{c}(1)")), "the page lacks {c}");
    }
    let out = doppel(&["man", "branch", "prune"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(".TH doppel-branch-prune 1"), "{}", stdout(&out));
    let out = doppel(&["man", "nope"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("choose one of: run, check"), "{}", stderr(&out));

    if !have("groff") {
        eprintln!("note: groff is not installed; the man page's roff was checked by its header only");
        return;
    }
    for page in [vec!["man"], vec!["man", "run"]] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doppel.1");
        std::fs::write(&file, doppel(&page, None).stdout).unwrap();
        // -ww: every warning; -z: no output, only the parse; then the text as a reader sees it.
        let o = Command::new("groff").args(["-man", "-ww", "-z"]).arg(&file).output().unwrap();
        assert!(o.status.success() && o.stderr.is_empty(), "{page:?}: groff: {}", stderr(&o));
        let o = Command::new("groff").args(["-man", "-ww", "-Tascii", "-P-cbou"]).arg(&file).output().unwrap();
        let text = stdout(&o);
        assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
        assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
        if page.len() == 1 {
            for c in commands {
                assert!(text.contains(&format!("doppel-{c}(1)")), "rendered page lacks {c}:\n{text}");
            }
            assert!(text.contains("Exit codes"), "{text}");
        } else {
            assert!(text.contains("--rules") && text.contains("--json"), "{text}");
        }
    }
}

/// The rows of the table for `schema` in the README or a page of docs/: (field path, type).
fn documented(schema: &str) -> Vec<(String, String)> {
    let heading = format!("# `{schema}`");
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "md")).collect()
        })
        .unwrap_or_default();
    docs.sort();
    pages.extend(docs);
    let readme = pages
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|text| text.contains(&heading))
        .unwrap_or_else(|| panic!("README.md, docs/*.md: no section #{heading}"));
    let at = readme.find(&heading).unwrap();
    let rows: Vec<(String, String)> = readme[at..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    assert!(rows.len() > 3, "{schema}: no table");
    rows
}

fn type_ok(value: &Value, ty: &str) -> bool {
    ty.split(" or ").any(|t| match t {
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        other => panic!("docs/machine-output.md: unknown type `{other}`"),
    })
}

/// The values at `path` (`a[].b.c`) in `doc`: none when an array on the way is empty or an
/// object on the way is null, or a field is missing where `partial`.
fn values_at<'a>(doc: &'a Value, path: &str, partial: bool) -> Vec<&'a Value> {
    let mut at = vec![doc];
    for part in path.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for v in at {
            if v.is_null() {
                continue;
            }
            let obj = v.as_object().unwrap_or_else(|| panic!("{path}: {v} is not an object"));
            let Some(field) = obj.get(name) else {
                assert!(partial, "{path}: `{name}` missing in {v}");
                continue;
            };
            if each {
                next.extend(field.as_array().unwrap_or_else(|| panic!("{path}: not an array")).iter());
            } else {
                next.push(field);
            }
        }
        at = next;
    }
    at
}

/// Every field in `doc` is documented for `schema` with its type, and every documented field
/// present in `doc` has that type; all of them are present unless `ok` is false (the
/// documented short form of a failure). Returns the fields seen, to show the test reached them.
pub(crate) fn assert_documented(schema: &str, doc: &Value) -> Vec<String> {
    let partial = doc.get("ok") == Some(&Value::Bool(false));
    assert_eq!(doc["schema"], schema, "{doc}");
    let rows = documented(schema);
    let mut seen = Vec::new();
    for (path, ty) in &rows {
        for v in values_at(doc, path, partial) {
            assert!(type_ok(v, ty), "{schema} {path}: {v} is not {ty}");
            seen.push(path.clone());
        }
    }
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    out.push(p.clone());
                    walk(x, &p, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, &format!("{prefix}[]"), out)),
            _ => {}
        }
    }
    let mut present = Vec::new();
    walk(doc, "", &mut present);
    for p in present {
        assert!(
            rows.iter().any(|(path, _)| *path == p),
            "{schema}: `{p}` is printed but not documented in docs/machine-output.md"
        );
    }
    seen
}

/// Python's own JSON reader, through scripts/check_json.py, finds the document `o` printed
/// fits the schema documented in docs/machine-output.md: an independent reading of it.
fn python_agrees(schema: &str, o: &Output) {
    use std::io::Write;
    let python = python().unwrap_or_else(|| "python3".to_string());
    let mut child = Command::new(python)
        .arg(root().join("scripts/check_json.py"))
        .arg(root().join("docs/machine-output.md"))
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3 scripts/check_json.py");
    child.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    let checked = child.wait_with_output().unwrap();
    assert!(checked.status.success(), "scripts/check_json.py {schema}:\n{}", stderr(&checked));
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", stdout(o)))
}

#[test]
fn machine_output_matches_the_documented_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, data) = (shop_rules(), fixture_dir());
    let (rules_s, data_s) = (rules.to_str().unwrap(), data.to_str().unwrap());

    // check: the summary on stdout, the human lines on stderr.
    let out = doppel(&["check", "--json", "--rules", rules_s, "--from", data_s], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("ok: the rules cover all"), "{}", stderr(&out));
    let doc = json_of(&out);
    let seen = assert_documented("doppel.check/1", &doc);
    python_agrees("doppel.check/1", &out);
    assert!(seen.contains(&"lock.status".to_string()), "{doc}");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert!(doc["tables"].as_u64().unwrap() >= 2 && doc["transformed_columns"].as_u64().unwrap() > 0, "{doc}");
    let out = doppel(&["check", "--json", "--explain", "--rules", rules_s, "--from", data_s], None);
    assert_eq!(out.status.code(), Some(2), "--json with --explain: {}", stderr(&out));

    // check with problems: exit 3 and the problems, with file and line, in the JSON.
    let broken = std::fs::read_to_string(&rules).unwrap().replace("email         = {", "emial         = {");
    let broken_path = dir.path().join("broken.toml");
    std::fs::write(&broken_path, broken).unwrap();
    let out = doppel(&["check", "--json", "--rules", broken_path.to_str().unwrap(), "--from", data_s], None);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json_of(&out);
    let seen = assert_documented("doppel.check/1", &doc);
    python_agrees("doppel.check/1", &out);
    assert!(seen.contains(&"problems[].line".to_string()));
    assert_eq!(doc["ok"], false);
    let problems = doc["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["column"] == "emial" && p["line"].is_u64()), "{doc}");
    assert!(problems.iter().any(|p| p["column"] == "email"), "{doc}");

    // scan: the summary, with the rules in the --out file.
    let scanned = dir.path().join("scanned.toml");
    let out = doppel(&["scan", "--json", "--from", data_s, "--out", scanned.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_documented("doppel.scan/1", &doc);
    python_agrees("doppel.scan/1", &out);
    assert_eq!(doc["out"], scanned.to_str().unwrap());
    let columns = doc["columns"].as_u64().unwrap();
    assert_eq!(columns, doc["kept_columns"].as_u64().unwrap() + doc["transformed_columns"].as_u64().unwrap());
    assert!(std::fs::read_to_string(&scanned).unwrap().contains("[tables."));

    // run: the final summary; --quiet hides the people's summary, not this.
    let target = dir.path().join("out");
    let report = dir.path().join("report.json");
    let out = run_shop(&target, TEST_KEY, &["--json", "--report", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out);
    let seen = assert_documented("doppel.run/1", &doc);
    python_agrees("doppel.run/1", &out);
    assert!(seen.contains(&"tables[].rows".to_string()));
    let tables = doc["tables"].as_array().unwrap();
    let sum: u64 = tables.iter().map(|t| t["rows"].as_u64().unwrap()).sum();
    assert_eq!(doc["rows"].as_u64(), Some(sum));
    assert!(sum > 0);
    assert_eq!(doc["report"], report.to_str().unwrap());
    assert_eq!(doc["report_html"], serde_json::Value::Null);
    assert_eq!(doc["target"], target.to_str().unwrap());
    assert!(!stdout(&out).contains(TEST_KEY));

    // verify: clean, the summary on stderr only.
    let verify = |rules: &str, extra: &[&str]| {
        let mut args = vec!["verify", "--rules", rules, "--from", data_s, "--to", target.to_str().unwrap()];
        args.extend_from_slice(extra);
        doppel(&args, None)
    };
    let out = verify(rules_s, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no findings"), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_documented("doppel.verify/1", &doc);
    python_agrees("doppel.verify/1", &out);
    assert_eq!(doc["outcome"], "clean");
    assert_eq!(doc["findings"], serde_json::json!([]));

    // verify with findings: an output made with the emails kept, checked against the rules
    // that transform them.
    let keeping = std::fs::read_to_string(&rules).unwrap().replace(
        "email         = { action = \"template\", template = \"{first_name|slug}.{last_name|slug}@example.com\", unique = true, domain = \"email\" }",
        "email         = { action = \"keep\" }",
    );
    let keeping_path = dir.path().join("keeping.toml");
    std::fs::write(&keeping_path, keeping).unwrap();
    let leaky = dir.path().join("leaky");
    let out = doppel_run(&keeping_path, data_s, leaky.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out =
        doppel(&["verify", "--json", "--rules", rules_s, "--from", data_s, "--to", leaky.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let doc = json_of(&out);
    let seen = assert_documented("doppel.verify/1", &doc);
    python_agrees("doppel.verify/1", &out);
    assert!(seen.contains(&"findings[].rule".to_string()));
    assert_eq!(doc["outcome"], "findings");
    let email = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["column"] == "email" && f["kind"] == "own-value")
        .unwrap_or_else(|| panic!("no own-value finding on email: {doc}"));
    assert!(email["count"].as_u64().unwrap() > 0);
    assert!(email["rule"].as_str().unwrap().contains("shop.toml:"), "{email}");
    // Counts and names only: no email address of the source in the JSON.
    assert!(!stdout(&out).contains('@'), "{}", stdout(&out));
}

#[test]
fn a_dash_means_stdout_for_every_file_written_and_is_refused_where_stdout_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, data) = (shop_rules(), fixture_dir());
    let (rules_s, data_s) = (rules.to_str().unwrap(), data.to_str().unwrap());
    let target = dir.path().join("out");
    let cwd = tempfile::tempdir().unwrap();

    // run --report -: the audit report on stdout, no file named `-`.
    let out = doppel_command(&run_args(&rules, data_s, target.to_str().unwrap(), &["--report", "-"]), Some(TEST_KEY))
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    assert!(report["doppel_version"].is_string() && report["total_rows"].as_u64().unwrap() > 0, "{report}");
    assert!(!cwd.path().join("-").exists());

    // verify --report -: the counts on stdout, the human summary on stderr.
    let out = doppel_command(
        &["verify", "--rules", rules_s, "--from", data_s, "--to", target.to_str().unwrap(), "--report", "-"],
        None,
    )
    .current_dir(cwd.path())
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json_of(&out)["findings"].is_array());
    assert!(stderr(&out).contains("no findings") && !stdout(&out).contains("no findings"));
    assert!(!cwd.path().join("-").exists());

    // scan --out -: the rules on stdout, as without --out.
    let out = doppel_command(&["scan", "--from", data_s, "--out", "-"], None).current_dir(cwd.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("[tables."), "{}", stdout(&out));
    assert!(!cwd.path().join("-").exists());

    // Two outputs on stdout: refused before anything is read or written (exit 2), naming both.
    let other = dir.path().join("other");
    let other_s = other.to_str().unwrap();
    let refused: [(Vec<&str>, &str); 6] = [
        (vec!["scan", "--from", data_s, "--json"], "the rules (without --out FILE)"),
        (vec!["scan", "--from", data_s, "--json", "--out", "-"], "the rules (without --out FILE)"),
        (
            vec!["run", "--rules", rules_s, "--from", data_s, "--to", other_s, "--report", "-", "--json"],
            "the --json summary",
        ),
        (vec!["run", "--rules", rules_s, "--from", data_s, "--to", "-", "--report", "-"], "the SQL dump (--to -)"),
        (vec!["run", "--rules", rules_s, "--from", data_s, "--to", "-", "--json"], "the SQL dump (--to -)"),
        (
            vec![
                "verify",
                "--rules",
                rules_s,
                "--from",
                data_s,
                "--to",
                target.to_str().unwrap(),
                "--report",
                "-",
                "--json",
            ],
            "the --json output",
        ),
    ];
    for (args, taken) in refused {
        let out = doppel_command(&args, Some(TEST_KEY)).current_dir(cwd.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("stdout already carries {taken}")), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
        assert!(!other.exists() && !cwd.path().join("-").exists(), "{args:?}");
    }
}

#[test]
fn profile_and_generate_print_their_documented_summaries() {
    let c = crate::common::pg::cluster();
    let db = c.trade();
    c.psql(&db, "ANALYZE");
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let rules_s = rules.to_str().unwrap();
    let url = c.url(&db);

    // profile: the profile on stdout leaves no room for JSON there.
    let out = doppel(&["profile", "--json", "--rules", rules_s, "--from", &url], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("stdout already carries the profile"), "{}", stderr(&out));
    let file = dir.path().join("trade.profile.toml");
    let out = doppel(&["profile", "--json", "--rules", rules_s, "--from", &url, "--out", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_documented("doppel.profile/1", &doc);
    python_agrees("doppel.profile/1", &out);
    assert_eq!(doc["out"], file.to_str().unwrap());
    assert!(doc["personal_columns"].as_u64().unwrap() > 0 && doc["tables"].as_u64().unwrap() > 5, "{doc}");
    assert!(!stdout(&out).contains("password"), "{doc}");

    // generate: the summary of what was written.
    let target = dir.path().join("generated");
    let args = ["generate", "--json", "--rules", rules_s, "--profile", file.to_str().unwrap(), "--scale", "0.5"];
    let out = doppel(&[&args[..], &["--to", target.to_str().unwrap(), "--shard", "1/2"]].concat(), Some(TEST_KEY));
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_documented("doppel.generate/1", &doc);
    python_agrees("doppel.generate/1", &out);
    assert_eq!(doc["tables"], doc_tables(&file));
    assert!(doc["rows"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(doc["shard"], serde_json::json!({"index": 1, "count": 2}));
    assert_eq!(doc["scale"].as_f64(), Some(0.5));
    let out = doppel(&[&args[..], &["--to", "-"]].concat(), Some(TEST_KEY));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("stdout already carries the SQL dump"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

/// The number of tables in a profile file.
fn doc_tables(profile: &Path) -> Value {
    let text = std::fs::read_to_string(profile).unwrap();
    let profile = doppel::generate::profile::Profile::from_toml(&text, "profile").unwrap();
    Value::from(profile.tables.len())
}
