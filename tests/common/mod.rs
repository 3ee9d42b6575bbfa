//! Helpers shared by the integration tests: paths to the fixtures, a key file, running the
//! binary, reading Parquet output.
#![allow(dead_code)]

pub mod pg;

use std::path::{Path, PathBuf};
use std::process::Output;

use arrow_array::RecordBatch;
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

/// Runs `doppel` with `args` and DOPPEL_KEY set to `key` (or unset).
pub fn doppel(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_doppel"));
    cmd.args(args).env_remove("DOPPEL_KEY").env("NO_COLOR", "1");
    if let Some(k) = key {
        cmd.env("DOPPEL_KEY", k);
    }
    cmd.output().expect("run doppel")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the main job on the fixtures into `out` with extra args.
pub fn run_shop(out: &Path, key: &str, extra: &[&str]) -> Output {
    let (rules, fixtures) = (shop_rules(), fixture_dir());
    let mut args = vec![
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--from",
        fixtures.to_str().unwrap(),
        "--to",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    doppel(&args, Some(key))
}

/// The batches of one table; a table without rows gives one empty batch with its schema.
pub fn read_table(dir: &Path, table: &str) -> Vec<RecordBatch> {
    let file = std::fs::File::open(dir.join(format!("{table}.parquet"))).expect("open parquet");
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
