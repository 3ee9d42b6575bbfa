//! Adversarial inputs around the data: the key as the environment
//! and a key file give it, numbers and durations in flags, what sits in a rules folder, names
//! holding control characters in every file doppel writes, Parquet compressed by common
//! writers, a file size limit, and the loss of the connection holding the source's snapshot.
//! Each is answered by a clear error (exit code; a message naming the flag, file, entry or
//! table and saying what to do) or by correct output, never by a hang, an abort or a silent
//! difference.
//!
//! Sections: Keys, Flags, Rules files, Names in written files, Parquet codecs, Signals and
//! limits, Source connection. Unit tests pin the rest of each class next to the code:
//! `cli::bounds` (every numeric and duration flag of every subcommand), `secret` (key
//! reading), `rules::load` (rules folder entries), `rules::toml_text` (TOML escaping),
//! `source::parquet` (codecs compiled in).

use crate::common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::pg::cluster;
use common::*;

fn doppel_bin() -> Command {
    doppel_command::<&str>(&[], None)
}

/// Runs `cmd`, killing it after `limit`; the output, and whether it had to be killed.
fn output_within(mut cmd: Command, limit: Duration) -> (Output, bool) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), killed)
}

/// Exit code `code` and every needle in stderr, the key nowhere.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
    assert!(!err.contains(TEST_KEY) && !String::from_utf8_lossy(&out.stdout).contains(TEST_KEY));
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").args(["-m", "600"]).arg(path).status().unwrap();
    assert!(status.success());
}

fn private_file(path: &Path, content: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The shop fixture's run arguments into `out`.
fn shop_run_args(out: &Path) -> Vec<String> {
    run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out.to_str().unwrap(), &[])
}

/// Every file of a Parquet output directory, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------
// Keys

#[test]
fn doppel_key_and_key_file_ending_in_a_newline_give_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    private_file(&key_file, format!("{TEST_KEY}\n").as_bytes());
    let from_file = dir.path().join("from_file");
    let out = doppel_bin().args(shop_run_args(&from_file)).arg("--key-file").arg(&key_file).output().unwrap();
    assert_ok(&out);
    // `export DOPPEL_KEY="$(cat key)"` strips the newline; `DOPPEL_KEY=$(< key)$'\n'` and
    // env files keep it: both are the same key.
    for (name, value) in [("env_newline", format!("{TEST_KEY}\n")), ("env_crlf", format!("{TEST_KEY}\r\n"))] {
        let to = dir.path().join(name);
        let out = doppel_bin().args(shop_run_args(&to)).env("DOPPEL_KEY", value).output().unwrap();
        assert_ok(&out);
        assert!(files(&to) == files(&from_file), "{name}: other pseudonyms than the key file's");
    }
}

#[test]
fn a_non_utf8_doppel_key_is_reported_as_not_text_not_as_missing() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let mut key = TEST_KEY.as_bytes().to_vec();
    key.push(0xff);
    let out = doppel_bin().args(shop_run_args(&to)).env("DOPPEL_KEY", OsStr::from_bytes(&key)).output().unwrap();
    assert_fails(&out, 3, &["DOPPEL_KEY is not valid UTF-8 text"]);
    assert!(!stderr(&out).contains("no key"), "{}", stderr(&out));
    assert!(!to.exists());
}

#[test]
fn a_fifo_or_directory_as_key_file_is_refused_at_once_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("key.fifo");
    mkfifo(&fifo);
    let to = dir.path().join("out");
    for (path, what) in [(fifo.as_path(), "is a FIFO (named pipe), not a regular file"), (dir.path(), "is a directory")]
    {
        let mut cmd = doppel_bin();
        cmd.args(shop_run_args(&to)).arg("--key-file").arg(path);
        let (out, killed) = output_within(cmd, Duration::from_secs(20));
        assert!(!killed, "doppel waited on --key-file {}", path.display());
        assert_fails(&out, 3, &[&format!("key file {} {what}", path.display()), "regular file"]);
        assert!(!to.exists());
    }
}

// ---------------------------------------------------------------------------------------
// Flags

#[test]
fn numbers_and_durations_out_of_range_are_usage_errors_stating_the_range_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let run = shop_run_args(&to);
    let rules = shop_rules();
    let rules = rules.to_str().unwrap();
    let to_s = to.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--batch-rows", "4294967295"], "--batch-rows", "from 1 to 1048576"),
        (vec!["--threads", "65535"], "--threads", "from 1 to 1024"),
        (vec!["--jobs", "65535"], "--jobs", "from 1 to 64"),
        (vec!["--replace", "--swap-timeout", "18446744073709551615"], "--swap-timeout", "from 0 to 86400"),
    ];
    for (extra, flag, range) in cases {
        let mut cmd = doppel_bin();
        cmd.args(&run).args(&extra).env("DOPPEL_KEY", TEST_KEY);
        let (out, killed) = output_within(cmd, Duration::from_secs(60));
        assert!(!killed, "{extra:?} ran on");
        assert_fails(&out, 2, &[flag, range]);
        assert!(!to.exists(), "{extra:?} left {}", to.display());
    }
    let generate = ["generate", "--rules", rules, "--profile", "p.toml", "--to", to_s];
    let verify = ["verify", "--rules", rules, "--from", to_s, "--to", to_s];
    let scan = ["scan", "--from", to_s];
    let others: Vec<(&[&str], [&str; 2], &str)> = vec![
        (&generate, ["--scale", "1e300"], "from 0 to 1000000"),
        (&generate, ["--rows", "public.t=18446744073709551615"], "from 0 to 1000000000000"),
        (&generate, ["--shard", "1/18446744073709551615"], "from 1 to 1000000"),
        (&verify, ["--max-same-rate", "NaN"], "from 0 to 1"),
        (&scan, ["--sample-rows", "18446744073709551615"], "from 0 to 1000000"),
        (&["branch", "prune"], ["--older-than", "300000w"], "from 0s to 36500d"),
    ];
    for (command, [flag, value], range) in others {
        let args = [command, &[flag, value]].concat();
        let out = doppel_bin().args(&args).env("DOPPEL_KEY", TEST_KEY).output().unwrap();
        assert_fails(&out, 2, &[flag, range]);
        assert!(!to.exists(), "{args:?} left {}", to.display());
    }
}

// ---------------------------------------------------------------------------------------
// Rules files

/// A rules folder holding the shop rules and `entry` made by `make`.
fn rules_folder_with(dir: &Path, entry: &str, make: impl Fn(&Path)) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::copy(shop_rules(), rules.join("shop.toml")).unwrap();
    make(&rules.join(entry));
    rules
}

/// What a test expects to be said about an entry, and how it makes that entry at a path.
type Maker = Box<dyn Fn(&Path)>;

#[test]
fn a_broken_link_directory_or_fifo_named_toml_in_the_rules_folder_is_refused_not_skipped() {
    let makers: Vec<(&str, Maker)> = vec![
        ("a symbolic link that cannot be followed", Box::new(|p| std::os::unix::fs::symlink("gone.toml", p).unwrap())),
        ("a directory, not a regular file", Box::new(|p| std::fs::create_dir(p).unwrap())),
        ("a FIFO (named pipe), not a regular file", Box::new(mkfifo)),
    ];
    for (what, make) in makers {
        let dir = tempfile::tempdir().unwrap();
        let rules = rules_folder_with(dir.path(), "subset.toml", make);
        let to = dir.path().join("out");
        let from = fixture_dir();
        let check = ["check", "--rules", rules.to_str().unwrap(), "--from", from.to_str().unwrap()];
        let mut run: Vec<&str> = check.to_vec();
        run[0] = "run";
        run.extend(["--quiet", "--to", to.to_str().unwrap()]);
        for args in [&check[..], &run[..]] {
            let mut cmd = doppel_bin();
            cmd.args(args).env("DOPPEL_KEY", TEST_KEY);
            let (out, killed) = output_within(cmd, Duration::from_secs(30));
            assert!(!killed, "{what}: {args:?} waited");
            let entry = rules.join("subset.toml");
            assert_fails(&out, 3, &[&entry.display().to_string(), what, "move it out of the directory"]);
            assert!(!to.exists());
        }
    }
}

#[test]
fn a_schema_lock_that_is_a_fifo_or_a_broken_link_is_refused_not_ignored() {
    let makers: Vec<(&str, Maker)> = vec![
        ("cannot read the schema lock", Box::new(|p| std::os::unix::fs::symlink("gone.lock", p).unwrap())),
        ("a FIFO (named pipe), not a regular file", Box::new(mkfifo)),
    ];
    for (what, make) in makers {
        let dir = tempfile::tempdir().unwrap();
        let rules = rules_folder_with(dir.path(), "schema.lock", make);
        let from = fixture_dir();
        let mut cmd = doppel_bin();
        cmd.args(["check", "--rules", rules.to_str().unwrap(), "--from", from.to_str().unwrap()]);
        let (out, killed) = output_within(cmd, Duration::from_secs(30));
        assert!(!killed, "{what}: check waited on the lock");
        assert_fails(&out, 3, &[&rules.join("schema.lock").display().to_string(), what]);
    }
}

#[test]
fn a_fifo_as_generate_profile_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.toml");
    mkfifo(&fifo);
    let to = dir.path().join("out");
    let mut cmd = doppel_bin();
    cmd.args(["generate", "--rules", shop_rules().to_str().unwrap(), "--profile", fifo.to_str().unwrap()])
        .args(["--to", to.to_str().unwrap()])
        .env("DOPPEL_KEY", TEST_KEY);
    let (out, killed) = output_within(cmd, Duration::from_secs(30));
    assert!(!killed, "generate waited on the FIFO");
    assert_fails(&out, 4, &[&fifo.display().to_string(), "is not a regular file"]);
    assert!(!to.exists());
}

// ---------------------------------------------------------------------------------------
// Names in written files

/// Every character a PostgreSQL identifier may hold that a file format must escape.
fn control_characters() -> Vec<char> {
    (0x01u8..=0x1f).chain([0x7f]).map(char::from).collect()
}

fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[test]
fn names_with_every_control_character_go_through_scan_check_lock_run_and_profile() {
    let c = cluster();
    let db = c.create_database("ctlnames");
    let columns: Vec<String> = control_characters().iter().map(|ch| format!("c{ch}x")).collect();
    let (schema, table) = ("odd\nschema", "t\tab\r\nle\u{7f}");
    let mut sql = format!(
        "CREATE SCHEMA {s}; CREATE TABLE {s}.{t} (id int PRIMARY KEY, {cols}, \"e\nmail\" text);\n",
        s = sql_ident(schema),
        t = sql_ident(table),
        cols = columns.iter().map(|n| format!("{} int", sql_ident(n))).collect::<Vec<_>>().join(", ")
    );
    sql.push_str(&format!(
        "INSERT INTO {}.{} SELECT i, {}, 'person' || i || '@example.com' FROM generate_series(1, 20) i;\n",
        sql_ident(schema),
        sql_ident(table),
        columns.iter().map(|_| "i").collect::<Vec<_>>().join(", ")
    ));
    sql.push_str("ANALYZE;\n");
    c.psql(&db, &sql);
    let url = c.url(&db);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let rules_s = rules.to_str().unwrap();

    assert_ok(&doppel_bin().args(["scan", "--from", &url, "--out", rules_s]).output().unwrap());
    let text = std::fs::read_to_string(&rules).unwrap();
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("scan wrote invalid TOML: {e}\n{text}"));
    let tables = parsed["tables"].as_table().unwrap();
    let name = format!("{schema}.{table}");
    assert!(tables.contains_key(&name), "{:?}", tables.keys().collect::<Vec<_>>());

    let check = ["check", "--rules", rules_s, "--from", &url];
    assert_ok(&doppel_bin().args(check).output().unwrap());
    assert_ok(&doppel_bin().args(check).arg("--lock").output().unwrap());
    let lock = dir.path().join("rules.schema.lock");
    let lock_text = std::fs::read_to_string(&lock).unwrap();
    let lock_toml: toml::Table =
        toml::from_str(&lock_text).unwrap_or_else(|e| panic!("invalid lock: {e}\n{lock_text}"));
    let recorded = lock_toml["tables"][&name].as_table().unwrap();
    for column in &columns {
        assert_eq!(recorded[column].as_str(), Some("integer"), "{column:?}");
    }
    let out = doppel_bin().args(check).output().unwrap();
    assert_ok(&out);
    assert!(stderr(&out).contains("the source schema matches"), "{}", stderr(&out));

    let to = dir.path().join("out");
    let report = dir.path().join("report.json");
    let out = doppel_run(&rules, &url, to.to_str().unwrap(), &["--report", report.to_str().unwrap()]);
    assert_ok(&out);
    let batches = read_table(&to, &name);
    let out_batch = concat(&batches);
    assert_eq!(out_batch.num_rows(), 20);
    for column in &columns {
        assert!(out_batch.schema().field_with_name(column).is_ok(), "{column:?}");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(report.to_string().contains(&serde_json::to_string(&name).unwrap()), "{report}");

    let profile = dir.path().join("profile.toml");
    let out =
        doppel_bin().args(["profile", "--rules", rules_s, "--from", &url, "--out"]).arg(&profile).output().unwrap();
    assert_ok(&out);
    let profile_text = std::fs::read_to_string(&profile).unwrap();
    toml::from_str::<toml::Table>(&profile_text).unwrap_or_else(|e| panic!("invalid profile: {e}\n{profile_text}"));
    let generated = dir.path().join("generated");
    let out = doppel_bin()
        .args(["generate", "--rules", rules_s, "--profile", profile.to_str().unwrap(), "--to"])
        .arg(&generated)
        .env("DOPPEL_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(concat(&read_table(&generated, &name)).num_rows(), 20);
}

// ---------------------------------------------------------------------------------------
// Parquet codecs

#[test]
fn parquet_written_by_pyarrow_with_every_common_codec_is_read_by_scan_check_and_run() {
    let Some(python) = python() else {
        eprintln!("skipped: DOPPEL_PYTHON (pyarrow) is not set; run through scripts/test.sh");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("in");
    let script = root().join("scripts/write_codecs.py");
    let status = Command::new(python).arg(&script).arg(&from).status().unwrap();
    assert!(status.success());
    let codecs = ["none", "snappy", "gzip", "lz4", "zstd", "brotli"];
    let mut rules = String::from("version = 1\n");
    for codec in codecs {
        rules.push_str(&format!(
            "[tables.\"public.{codec}\"]\nkeep = [\"id\", \"note\"]\n[tables.\"public.{codec}\".columns]\nemail = {{ action = \"fake\", generator = \"email\" }}\n"
        ));
    }
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, rules).unwrap();
    let (rules_s, from_s) = (rules_path.to_str().unwrap(), from.to_str().unwrap());
    assert_ok(&doppel_bin().args(["scan", "--from", from_s]).output().unwrap());
    assert_ok(&doppel_bin().args(["check", "--rules", rules_s, "--from", from_s]).output().unwrap());
    let to = dir.path().join("out");
    let out = doppel_run(&rules_path, from_s, to.to_str().unwrap(), &[]);
    assert_ok(&out);
    let expected = concat(&read_table(&from, "public.none"));
    for codec in codecs {
        let output = concat(&read_table(&to, &format!("public.{codec}")));
        assert_eq!(output.num_rows(), 1000, "{codec}");
        for column in ["id", "note"] {
            assert_eq!(output.column_by_name(column), expected.column_by_name(column), "{codec}.{column}");
        }
        assert_ne!(output.column_by_name("email"), expected.column_by_name("email"), "{codec}.email");
    }
}

// ---------------------------------------------------------------------------------------
// Signals and limits

#[test]
fn a_file_size_limit_stops_the_run_with_a_message_naming_the_file_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let out = Command::new("bash")
        .args(["-c", "ulimit -f 1; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_doppel"))
        .args(shop_run_args(&to))
        .env_remove("DOPPEL_KEY")
        .env("DOPPEL_KEY", TEST_KEY)
        .output()
        .unwrap();
    // The first file to reach the limit is named: a table's Parquet file, or the temporary
    // file a table with unique templates keeps its output in (named by its directory).
    assert_fails(&out, 5, &["File too large"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(".parquet") || stderr.contains("(temporary file)"), "{stderr}");
    assert!(!to.exists(), "a partial output was published");
    // The target's lock file (empty, kept on purpose) is all that may stay.
    let left: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".doppel-lock"))
        .collect();
    assert!(left.is_empty(), "staged files left behind: {left:?}");
}

// ---------------------------------------------------------------------------------------
// Source connection

#[test]
fn losing_the_connection_that_holds_the_snapshot_is_a_source_error() {
    let c = cluster();
    let db = c.create_database("snaplost");
    c.psql(
        &db,
        "CREATE TABLE big (id bigserial PRIMARY KEY, v text);\n\
         INSERT INTO big (v) SELECT md5(i::text) FROM generate_series(1, 400000) i;\n\
         CREATE INDEX big_v ON big (v);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "version = 1\n[tables.\"public.big\"]\nkeep = [\"id\"]\n[tables.\"public.big\".columns]\nv = { action = \"hash\" }\n").unwrap();
    let target = format!("{db}_out");
    let slow = ["--threads", "1", "--batch-rows", "1000"];
    let mut child = doppel_command(&run_args(&rules, &c.url(&db), &c.url(&target), &slow), Some(TEST_KEY))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the rows are being read (under the imported snapshot), end the session that
    // exported it; the schema's post-data and the sequences still need the snapshot.
    let started = Instant::now();
    let copying = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND query ILIKE 'COPY%' AND state = 'active'"
    );
    while c.scalar("postgres", &copying) == "0" {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before copying");
        assert!(started.elapsed() < Duration::from_secs(120), "the copy never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = c.scalar(
        "postgres",
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}' \
             AND state = 'idle in transaction' AND query NOT ILIKE 'COPY%'"
        ),
    );
    assert_eq!(killed, "1", "the session holding the snapshot");
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("error: source ") && err.contains("snapshot"), "{err}");
    assert!(c.scalar("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")) == "0");
}
