//! End-to-end tests of the `doppel` binary on the bundled shop fixture: the README's main
//! job, determinism across threads and batch sizes, key sensitivity, atomic output, and the
//! errors users see for bad input.

use crate::common;

use std::collections::HashSet;
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::ArrayFormatter;
use common::*;

fn files_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn column_strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch.column(batch.schema().index_of(column).unwrap());
    let f = ArrayFormatter::try_new(array.as_ref(), &Default::default()).unwrap();
    (0..array.len()).map(|i| array.is_valid(i).then(|| f.value(i).to_string())).collect()
}

#[test]
fn check_accepts_the_shop_rules() {
    let out = doppel(
        &["check", "--rules", shop_rules().to_str().unwrap(), "--from", fixture_dir().to_str().unwrap(), "--explain"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let explain = String::from_utf8_lossy(&out.stdout);
    assert!(explain.contains("public.customers"));
    assert!(explain.contains("email"));
    // Rules in the rules file's words: no Rust debug forms, no units the rules do not use.
    for words in [
        "noise duration=\"180d\" domain=\"public.customers.date_of_birth\"",
        "noise absolute=25 domain=",
        "noise relative=0.05 domain=",
        "mask keep_first=3 keep_last=0 format_preserving=true",
        "template template=\"{first_name|slug}.{last_name|slug}@example.com\" domain=\"email\" unique=true",
    ] {
        assert!(explain.contains(words), "{words}: {explain}");
    }
    for debug in ["Absolute(", "Relative(", "units", "Some(", "{ "] {
        assert!(!explain.replace("json paths={ ", "").contains(debug), "{debug}: {explain}");
    }
}

#[test]
fn check_names_every_column_whose_rule_was_removed() {
    let rules = std::fs::read_to_string(shop_rules()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for column in ["first_name", "notes", "ip_address", "ticket_uuid"] {
        let kept: Vec<&str> = rules.lines().filter(|l| !l.trim_start().starts_with(&format!("{column} "))).collect();
        assert!(kept.len() < rules.lines().count(), "no rule line for {column}");
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, kept.join("\n")).unwrap();
        let out =
            doppel(&["check", "--rules", path.to_str().unwrap(), "--from", fixture_dir().to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(3), "{column}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!(".{column}: column has no rule")), "{column}: {}", stderr(&out));
    }
}

#[test]
fn output_is_identical_for_any_thread_count_job_count_and_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let c = dir.path().join("c");
    assert!(run_shop(&a, TEST_KEY, &["--threads", "1", "--jobs", "1", "--batch-rows", "8192"]).status.success());
    assert!(run_shop(&b, TEST_KEY, &["--threads", "2", "--jobs", "4", "--batch-rows", "97"]).status.success());
    let out = run_shop(&c, TEST_KEY, &["--threads", "4", "--jobs", "2", "--batch-rows", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fa = files_bytes(&a);
    assert_eq!(fa.len(), 5, "four tables and doppel's marker: {:?}", fa.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert_eq!(fa, files_bytes(&b));
    assert_eq!(fa, files_bytes(&c));
}

#[test]
fn a_different_key_changes_nearly_every_keyed_value() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    assert!(run_shop(&a, TEST_KEY, &[]).status.success());
    assert!(run_shop(&b, OTHER_KEY, &[]).status.success());
    let keyed = [
        (
            "public.customers",
            vec!["id", "first_name", "last_name", "email", "phone", "date_of_birth", "street", "iban", "balance"],
        ),
        ("public.orders", vec!["id", "customer_id", "amount", "shipping_address", "ip_address"]),
        ("public.support_tickets", vec!["customer_id", "ticket_uuid"]),
    ];
    for (table, columns) in keyed {
        let ta = concat(&read_table(&a, table));
        let tb = concat(&read_table(&b, table));
        for column in columns {
            let va = column_strings(&ta, column);
            let vb = column_strings(&tb, column);
            let non_null = va.iter().filter(|v| v.is_some()).count();
            let same = va.iter().zip(&vb).filter(|(x, y)| x.is_some() && x == y).count();
            assert!(non_null > 0, "{table}.{column} has no values");
            assert!(
                (same as f64) < 0.01 * non_null as f64,
                "{table}.{column}: {same} of {non_null} values unchanged by a different key"
            );
        }
    }
}

#[test]
fn kept_columns_are_equal_and_transformed_columns_differ_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    assert!(run_shop(&out_dir, TEST_KEY, &[]).status.success());
    let input = concat(&read_table(&fixture_dir(), "public.customers"));
    let output = concat(&read_table(&out_dir, "public.customers"));
    assert_eq!(input.schema(), output.schema());
    for column in ["created_at", "loyalty_points", "country"] {
        assert_eq!(column_strings(&input, column), column_strings(&output, column), "{column}");
    }
    for column in ["id", "first_name", "last_name", "email", "phone", "street", "iban", "notes", "date_of_birth"] {
        let i = column_strings(&input, column);
        let o = column_strings(&output, column);
        let non_null = i.iter().filter(|v| v.is_some()).count();
        let same = i.iter().zip(&o).filter(|(x, y)| x.is_some() && x == y).count();
        let limit = if column == "notes" { 0.7 } else { 0.02 };
        assert!((same as f64) <= limit * non_null as f64, "{column}: {same} of {non_null} rows kept their value");
    }
    // NULLs stay NULL and values stay values.
    for column in ["phone", "iban", "date_of_birth", "notes"] {
        let i = column_strings(&input, column);
        let o = column_strings(&output, column);
        assert_eq!(
            i.iter().map(Option::is_some).collect::<Vec<_>>(),
            o.iter().map(Option::is_some).collect::<Vec<_>>(),
            "{column}"
        );
    }
    // Unique email stays unique; ids stay unique and foreign keys still join.
    let emails: Vec<_> = column_strings(&output, "email").into_iter().flatten().collect();
    assert_eq!(emails.iter().collect::<HashSet<_>>().len(), emails.len());
    let ids: HashSet<_> = column_strings(&output, "id").into_iter().flatten().collect();
    assert_eq!(ids.len(), output.num_rows());
    let orders = concat(&read_table(&out_dir, "public.orders"));
    for customer in column_strings(&orders, "customer_id").into_iter().flatten() {
        assert!(ids.contains(&customer), "an order lost its customer");
    }
}

#[test]
fn parquet_metadata_names_version_and_rules_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    assert!(run_shop(&out_dir, TEST_KEY, &[]).status.success());
    let file = std::fs::File::open(out_dir.join("public.orders.parquet")).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    let kv = reader.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
    assert_eq!(get("doppel.version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(get("doppel.rules_blake3").map(|h| h.len()), Some(64));
}

#[test]
fn existing_output_is_refused_without_replace_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("precious.txt"), "x").unwrap();
    let out = run_shop(&out_dir, TEST_KEY, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("--replace"));
    assert!(out_dir.join("precious.txt").exists());
    // Not doppel's output: --replace alone refuses it, --force replaces it.
    let out = run_shop(&out_dir, TEST_KEY, &["--replace"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("not written by doppel") && stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(out_dir.join("precious.txt").exists());
    let out = run_shop(&out_dir, TEST_KEY, &["--replace", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out_dir.join("precious.txt").exists());
    assert!(out_dir.join("public.customers.parquet").exists());
    // Now doppel's own output: --replace alone replaces it.
    let out = run_shop(&out_dir, TEST_KEY, &["--replace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(visible_entries(dir.path()), ["out"], "staging folders left behind");
}

#[test]
fn staging_left_by_a_killed_run_is_cleaned_and_never_looks_finished() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // A dead process's staging folder (pid far above pid_max).
    let stale = dir.path().join(".out.doppel-partial-99999999");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("public.customers.parquet"), "partial").unwrap();
    assert!(!out_dir.exists());
    let out = run_shop(&out_dir, TEST_KEY, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists());
}

fn assert_failed_without_output(out: &std::process::Output, code: i32, needles: &[&str], target: &Path) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!target.exists(), "output was published despite the error");
    let parent = target.parent().unwrap();
    let staged = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("doppel-"));
    assert!(!staged, "staging left behind");
}

#[test]
fn missing_and_short_keys_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let args = run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    assert_failed_without_output(&doppel(&args, None), 3, &["DOPPEL_KEY", "--key-file"], &out_dir);
    let short = doppel(&args, Some("short-secret-key"));
    assert_failed_without_output(&short, 3, &["at least 32"], &out_dir);
    assert!(!stderr(&short).contains("short-secret-key"));
}

#[test]
fn key_file_must_be_private_and_not_combined_with_the_environment() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{TEST_KEY}\n")).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let k = key.to_str().unwrap();
    let out = doppel(
        &run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out_dir.to_str().unwrap(), &["--key-file", k]),
        None,
    );
    assert_failed_without_output(&out, 3, &["chmod 600"], &out_dir);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run_shop(&out_dir, TEST_KEY, &["--key-file", k]);
    assert_failed_without_output(&out, 3, &["one way only"], &out_dir);
    // The same key from a file gives the same output as from the environment.
    let a = dir.path().join("a");
    let out = doppel(
        &run_args(&shop_rules(), fixture_dir().to_str().unwrap(), a.to_str().unwrap(), &["--key-file", k]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let b = dir.path().join("b");
    assert!(run_shop(&b, TEST_KEY, &[]).status.success());
    assert_eq!(files_bytes(&a), files_bytes(&b));
}

fn check_with_rules(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, text).unwrap();
    doppel(&["check", "--rules", path.to_str().unwrap(), "--from", fixture_dir().to_str().unwrap()], None)
}

#[test]
fn bad_rules_are_all_reported_with_file_line_and_choices() {
    let rules = std::fs::read_to_string(shop_rules()).unwrap();
    // Malformed TOML.
    let out = check_with_rules(&rules.replace("[tables.\"public.orders\"]", "[tables.\"public.orders\""));
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("rules.toml:"), "{}", stderr(&out));
    // Unknown table, unknown column, unknown strategy, unknown generator and a type mismatch, all at once.
    let bad = rules
        .replace("[tables.\"public.order_items\"]", "[tables.\"public.order_itemz\"]")
        .replace("[tables.\"public.order_items\".columns]", "[tables.\"public.order_itemz\".columns]")
        .replace("keep = [\"status\",", "keep = [\"statuz\",")
        .replace("city          = { action = \"fake\", generator = \"city\" }", "city = { action = \"scramble\" }")
        .replace("generator = \"postcode\"", "generator = \"postcod\"")
        .replace(
            "ip_address       = { action = \"fake\", generator = \"ipv4\" }",
            "ip_address = { action = \"noise\", relative = 0.1 }",
        );
    let out = check_with_rules(&bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    for needle in [
        "public.order_itemz: the source has no such table; its tables are: public.customers",
        "public.order_items: the source table has no rules",
        "public.orders.statuz: the source table has no such column",
        "public.orders.status: column has no rule",
        "public.customers.city: invalid column rule: unknown action `scramble`",
        "unknown generator `postcod`; valid generators:",
        "public.orders.ip_address: `noise` works on numbers, dates and timestamps",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    }
}

#[test]
fn corrupt_or_missing_parquet_is_a_source_error_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for e in std::fs::read_dir(fixture_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, input.join(p.file_name().unwrap())).unwrap();
    }
    let victim = input.join("public.orders.parquet");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let out_dir = dir.path().join("out");
    let out = doppel_run(&shop_rules(), input.to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    assert_failed_without_output(&out, 4, &["public.orders.parquet", "Parquet"], &out_dir);
    let missing = dir.path().join("nope");
    let out = doppel_run(&shop_rules(), missing.to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    assert_failed_without_output(&out, 4, &["nope"], &out_dir);
}

#[test]
fn help_documents_commands_locations_and_exit_codes() {
    let out = doppel(&["--help"], None);
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["run", "check", "Exit codes", "130 interrupted", "DOPPEL_KEY"] {
        assert!(help.contains(needle), "{needle}");
    }
    let out = doppel(&["run", "--rules"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn interrupt_and_terminate_exit_130_and_publish_nothing() {
    for signal in ["-INT", "-TERM"] {
        interrupted_run_publishes_nothing(signal);
    }
}

fn interrupted_run_publishes_nothing(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // One-row batches make the run slow enough to interrupt in the middle.
    let slow = ["--batch-rows", "1", "--threads", "1"];
    let child = doppel_command(
        &run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out_dir.to_str().unwrap(), &slow),
        Some(TEST_KEY),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Wait until the run is staging output, then interrupt it.
    let staging_started = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("doppel-partial"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !staging_started() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{signal}: {}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"));
    assert!(!out_dir.exists(), "an interrupted run published output");
    assert!(visible_entries(dir.path()).is_empty(), "an interrupted run left its staging folder");
}

#[test]
fn report_names_counts_rules_and_key_fingerprint_but_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let report_of = |name: &str| {
        let out_dir = dir.path().join(name);
        let report = dir.path().join(format!("{name}.json"));
        // Without --quiet: the summary on stderr.
        let args = run_args(
            &shop_rules(),
            fixture_dir().to_str().unwrap(),
            out_dir.to_str().unwrap(),
            &["--verify", "--report", report.to_str().unwrap()],
        );
        let args: Vec<&String> = args.iter().filter(|a| *a != "--quiet").collect();
        let out = doppel(&args, Some(TEST_KEY));
        assert!(out.status.success(), "{}", stderr(&out));
        // The summary on stderr: rules, key fingerprint, tables and columns.
        assert!(stderr(&out).contains("key fingerprint"), "{}", stderr(&out));
        assert!(stderr(&out).contains("columns transformed"), "{}", stderr(&out));
        std::fs::read_to_string(&report).unwrap()
    };
    let text = report_of("a");
    assert!(!text.contains(TEST_KEY));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["doppel_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["rules_blake3"].as_str().map(str::len), Some(64));
    assert_eq!(json["key_fingerprint"].as_str().map(str::len), Some(16));
    assert_eq!(json["rules"]["files"][0]["name"], "shop.toml");
    assert_eq!(json["rules"]["files"][1]["name"], "shop.schema.lock");
    assert_eq!(
        json["rules"]["git"]["commit"].as_str().map(str::len),
        Some(40),
        "the repository's own rules are committed"
    );
    let customers = json["tables"].as_array().unwrap().iter().find(|t| t["table"] == "public.customers").unwrap();
    assert_eq!(customers["rows_read"], 2000);
    assert_eq!(customers["rows_written"], 2000);
    let column =
        |name: &str| customers["columns"].as_array().unwrap().iter().find(|c| c["column"] == name).unwrap().clone();
    assert_eq!(column("country")["action"], "keep");
    assert!(column("email")["action"].as_str().unwrap().starts_with("template"));
    assert_eq!(column("email")["unique"], true);
    assert_eq!(json["total_rows"], 20538);
    assert_eq!(json["verify"]["findings"].as_array().map(Vec::len), Some(0), "{}", json["verify"]);
    assert_eq!(json["source"]["kind"], "parquet");
    assert_eq!(json["source"]["files"].as_array().unwrap().len(), 4);
    assert_eq!(json["target"]["files"].as_array().unwrap().len(), 4);
    assert_eq!(json["target"]["files"][0]["blake3"].as_str().map(str::len), Some(64));

    // A second run differs only in its times.
    let strip_times = |text: &str| {
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        for key in ["started_at", "seconds"] {
            v[key] = serde_json::Value::Null;
        }
        for t in v["tables"].as_array_mut().unwrap() {
            t["seconds"] = serde_json::Value::Null;
        }
        v["target"]["path"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip_times(&text), strip_times(&report_of("b")));
}

#[test]
fn a_table_given_as_a_folder_of_part_files_reads_like_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for e in std::fs::read_dir(fixture_dir()).unwrap() {
        let p = e.unwrap().path();
        if !p.ends_with("public.orders.parquet") {
            std::fs::copy(&p, input.join(p.file_name().unwrap())).unwrap();
        }
    }
    // Split orders into three part files.
    let orders = concat(&read_table(&fixture_dir(), "public.orders"));
    let parts = input.join("public.orders");
    std::fs::create_dir(&parts).unwrap();
    let n = orders.num_rows();
    for (i, (start, end)) in [(0, 1000), (1000, 4000), (4000, n)].into_iter().enumerate() {
        let file = std::fs::File::create(parts.join(format!("part-{i}.parquet"))).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, orders.schema(), None).unwrap();
        w.write(&orders.slice(start, end - start)).unwrap();
        w.close().unwrap();
    }
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let out = doppel_run(&shop_rules(), input.to_str().unwrap(), a.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run_shop(&b, TEST_KEY, &[]).status.success());
    assert_eq!(files_bytes(&a), files_bytes(&b));
}

#[test]
fn quiet_leaves_only_errors_log_levels_are_checked_and_unknown_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_shop(&dir.path().join("out"), TEST_KEY, &["--log", "error"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "--quiet --log error printed more than errors");
    // --quiet means only errors, whatever --log says.
    let out = run_shop(&dir.path().join("out2"), TEST_KEY, &["--log", "info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "--quiet --log info printed more than errors");
    let out3 = dir.path().join("out3");
    let mut args = vec!["--log".to_string(), "info".to_string()];
    args.extend(run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out3.to_str().unwrap(), &[]));
    args.retain(|a| a != "--quiet");
    let out = doppel(&args, Some(TEST_KEY));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(" INFO ") && stderr(&out).contains("key fingerprint"), "{}", stderr(&out));
    let out = run_shop(&dir.path().join("out"), TEST_KEY, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    let (rules, data) = (shop_rules(), fixture_dir());
    let check = ["check", "--rules", rules.to_str().unwrap(), "--from", data.to_str().unwrap()];
    let out = doppel(&[&["--log", "verbose"][..], &check[..]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: error, warn, info, debug, trace"), "{}", stderr(&out));
    let out = doppel_command(&check, None).env("DOPPEL_LOG", "verbose").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "DOPPEL_LOG is checked like --log");
    let out = doppel(&[&["--color", "sometimes"][..], &check[..]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
}

mod preview;
mod progress;
pub(crate) mod shell;
