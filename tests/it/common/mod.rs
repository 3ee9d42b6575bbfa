//! Helpers shared by the integration tests: paths to the fixtures, a key file, running the
//! binary, reading Parquet output.
#![allow(dead_code)]

pub mod pg;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::RecordBatch;
use doppel::plan::{Plan, Strategy};
use doppel::rules::TableAction;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub const TEST_KEY: &str = "test-key-0123456789abcdef0123456789";
pub const OTHER_KEY: &str = "other-key-0123456789abcdef012345678";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_dir() -> PathBuf {
    root().join("fixtures/shop/data")
}

pub fn shop_rules() -> PathBuf {
    root().join("rules/shop.toml")
}

/// The `doppel` binary with `args` and DOPPEL_KEY set to `key` (or unset), not started yet.
pub fn doppel_command<S: AsRef<OsStr>>(args: &[S], key: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doppel"));
    cmd.args(args).env_remove("DOPPEL_KEY").env("NO_COLOR", "1");
    if let Some(k) = key {
        cmd.env("DOPPEL_KEY", k);
    }
    cmd
}

/// `doppel ARGS` under a pseudo-terminal (`script -qec` of util-linux), DOPPEL_KEY set to
/// `key`, NO_COLOR set, not started yet: doppel's stdout and stderr (the terminal) arrive on
/// the command's stdout.
pub fn doppel_on_terminal<S: AsRef<str>>(args: &[S], key: &str) -> Command {
    let script = Command::new("script").arg("--version").output();
    assert!(script.is_ok_and(|o| o.status.success()), "script (util-linux) runs doppel under a pseudo-terminal");
    let quote = |arg: &str| format!("'{}'", arg.replace('\'', r"'\''"));
    let mut command = vec![quote(env!("CARGO_BIN_EXE_doppel"))];
    command.extend(args.iter().map(|a| quote(a.as_ref())));
    let mut script = Command::new("script");
    script
        .args(["-qec", &command.join(" "), "/dev/null"])
        .env("DOPPEL_KEY", key)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    script
}

/// Runs `doppel` with `args` and DOPPEL_KEY set to `key` (or unset).
pub fn doppel<S: AsRef<OsStr>>(args: &[S], key: Option<&str>) -> Output {
    doppel_command(args, key).output().expect("run doppel")
}

/// The arguments of `doppel run --quiet --rules RULES --from FROM --to TO EXTRA…`.
pub fn run_args(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["run", "--quiet", "--rules"].map(String::from).into();
    args.push(rules.to_str().expect("rules path is UTF-8").to_string());
    args.extend(["--from", from, "--to", to].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs `doppel run --quiet --rules RULES --from FROM --to TO EXTRA…` with [`TEST_KEY`].
pub fn doppel_run(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    doppel(&run_args(rules, from, to, extra), Some(TEST_KEY))
}

/// [`doppel_run`] without `--quiet`, for tests that read what the run says to people.
pub fn doppel_run_saying(rules: &Path, from: &str, to: &str, extra: &[&str]) -> Output {
    let mut args = run_args(rules, from, to, extra);
    args.retain(|a| a != "--quiet");
    doppel(&args, Some(TEST_KEY))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the main job on the fixtures into `out` with extra args.
pub fn run_shop(out: &Path, key: &str, extra: &[&str]) -> Output {
    doppel(&run_args(&shop_rules(), fixture_dir().to_str().unwrap(), out.to_str().unwrap(), extra), Some(key))
}

/// Names in `dir`, sorted, without the targets' lock files (`.<name>.doppel-lock`: empty, and
/// kept on purpose, see `doppel::sink::staging`).
pub fn visible_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".doppel-lock"))
        .collect();
    names.sort();
    names
}

/// The batches of one table (its file name encoded as doppel writes it); a table without rows gives one empty batch with its schema.
pub fn read_table(dir: &Path, table: &str) -> Vec<RecordBatch> {
    let file_name = format!("{}.parquet", doppel::table_files::encode(table));
    let file = std::fs::File::open(dir.join(file_name)).expect("open parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    if batches.is_empty() { vec![RecordBatch::new_empty(schema)] } else { batches }
}

pub fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

/// The Python interpreter with pyarrow (set by scripts/test.sh), if any.
pub fn python() -> Option<String> {
    std::env::var("DOPPEL_PYTHON").ok().filter(|p| Path::new(p).exists())
}

/// Every file under `dir` (recursively, hidden ones included) with its bytes, keyed by the
/// path relative to `dir`.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, into: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, into);
            } else {
                into.insert(path.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = std::collections::BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// `"schema"."table"` for `schema.table`.
pub fn quoted(table: &str) -> String {
    let (s, t) = table.split_once('.').unwrap();
    format!("\"{s}\".\"{t}\"")
}

/// `pg_dump --schema-only` of test database `db` without ownership, privileges and the random
/// `\restrict` key.
pub fn schema_dump(db: &str) -> String {
    let c = pg::cluster();
    let out = c
        .client("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", "-d"])
        .arg(c.url(db))
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump {db}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every sequence of test database `db`, one per line: its name, `last_value/is_called`.
pub fn sequences(db: &str) -> String {
    let c = pg::cluster();
    let names = c.psql(
        db,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'S' ORDER BY 1",
    );
    names
        .lines()
        .map(|s| format!("{s} {}", c.scalar(db, &format!("SELECT last_value || '/' || is_called FROM {s}"))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that every table of `plan` has as many rows in `target_db` as in `source_db` (none
/// when the rules skip it) and the same values in the columns the rules keep.
pub fn assert_rows_and_kept_values(plan: &Plan, source_db: &str, target_db: &str) {
    let c = pg::cluster();
    for table in &plan.tables {
        let q = quoted(&table.name);
        let count = format!("SELECT count(*) FROM {q}");
        if table.action == TableAction::Skip {
            assert_eq!(c.scalar(target_db, &count), "0", "{}", table.name);
            continue;
        }
        assert_eq!(c.scalar(source_db, &count), c.scalar(target_db, &count), "row count of {}", table.name);
        let kept: Vec<String> = table
            .columns
            .iter()
            .filter(|col| matches!(col.strategy, Strategy::Keep))
            .map(|col| format!("\"{}\"", col.name))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let order: Vec<String> = (1..=kept.len()).map(|i| i.to_string()).collect();
        let copy = format!("COPY (SELECT {} FROM {q} ORDER BY {}) TO STDOUT", kept.join(", "), order.join(", "));
        let (src, dst) = (c.psql(source_db, &copy), c.psql(target_db, &copy));
        assert!(src == dst, "kept columns of {} differ", table.name);
    }
}
