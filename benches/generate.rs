//! `doppel generate` throughput on one core: a 10-column table (id, first and last names,
//! email, birth date, created_at, amount, status, country, quantity) from a profile, into
//! Arrow batches alone and into a Parquet file.
//!
//! `cargo bench --bench generate`; criterion reports elements/s = rows/s on one thread.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use doppel::generate::model::{Dataset, Options};
use doppel::generate::profile::Profile;
use doppel::generate::rows::{CHUNK_ROWS, batch, write_table};
use doppel::plan::bind;
use doppel::rules::parse_rules;
use doppel::secret::Key;
use doppel::sink::Sink;
use doppel::sink::parquet::ParquetSink;

const ROWS: u64 = 65_536;

const RULES: &str = r#"
version = 1
[tables."public.customers"]
keep = ["id", "birth_date", "created_at", "amount", "status", "country", "quantity"]
[tables."public.customers".columns]
first_name = { action = "fake", generator = "first_name" }
last_name  = { action = "fake", generator = "last_name" }
email      = { action = "fake", generator = "email" }
"#;

const PROFILE: &str = r#"
version = 1
source = "bench"
[schema]
pre_data = ""
post_data = ""
[[tables]]
name = "public.customers"
rows = 65536
primary_key = ["id"]
[[tables.columns]]
name = "id"
type = "bigint"
kind = "int64"
not_null = true
rule = "keep"
null_frac = 0.0
avg_width = 8
n_distinct = -1.0
[[tables.columns]]
name = "first_name"
type = "text"
kind = "text"
rule = "fake"
generator = "first_name"
null_frac = 0.0
avg_width = 7
n_distinct = 3000.0
[[tables.columns]]
name = "last_name"
type = "text"
kind = "text"
rule = "fake"
generator = "last_name"
null_frac = 0.0
avg_width = 8
n_distinct = 20000.0
[[tables.columns]]
name = "email"
type = "text"
kind = "text"
rule = "fake"
generator = "email"
null_frac = 0.02
avg_width = 24
n_distinct = -0.98
[[tables.columns]]
name = "birth_date"
type = "date"
kind = "date"
rule = "keep"
null_frac = 0.1
avg_width = 4
n_distinct = 18000.0
histogram_bounds = ["1940-01-01", "1960-05-01", "1975-03-12", "1985-07-30", "1995-01-01", "2006-12-31"]
[[tables.columns]]
name = "created_at"
type = "timestamp with time zone"
kind = "timestamptz"
rule = "keep"
null_frac = 0.0
avg_width = 8
n_distinct = -1.0
histogram_bounds = ["2019-01-01 00:00:00+00", "2021-06-01 12:00:00+00", "2023-01-01 00:00:00+00", "2025-11-30 23:59:59+00"]
[[tables.columns]]
name = "amount"
type = "numeric(12,2)"
kind = "decimal(12,2)"
rule = "keep"
null_frac = 0.0
avg_width = 6
n_distinct = -0.6
most_common_vals = ["0.00", "9.99"]
most_common_freqs = [0.1, 0.05]
histogram_bounds = ["0.01", "12.50", "40.00", "99.00", "250.00", "10000.00"]
[[tables.columns]]
name = "status"
type = "text"
kind = "text"
rule = "keep"
null_frac = 0.0
avg_width = 7
n_distinct = 3.0
most_common_vals = ["active", "closed", "pending"]
most_common_freqs = [0.7, 0.2, 0.1]
[[tables.columns]]
name = "country"
type = "character varying(40)"
kind = "text"
rule = "keep"
null_frac = 0.01
avg_width = 8
n_distinct = 60.0
most_common_vals = ["France", "Germany"]
most_common_freqs = [0.4, 0.3]
histogram_bounds = ["Austria", "Belgium", "Chile", "Denmark", "Italy", "Japan", "Spain", "Sweden"]
[[tables.columns]]
name = "quantity"
type = "integer"
kind = "int32"
rule = "keep"
null_frac = 0.0
avg_width = 4
n_distinct = 120.0
histogram_bounds = ["1", "2", "5", "10", "40", "500"]
"#;

fn dataset() -> Dataset {
    let profile = Profile::from_toml(PROFILE, "bench profile").expect("profile");
    let rules = parse_rules(&[(PathBuf::from("bench.toml"), RULES.to_string())]).expect("rules");
    let plan = bind(&rules, &profile.source_tables()).expect("plan");
    let key = Key::from_text("bench-key-0123456789abcdef0123456789").expect("key");
    Dataset::build(&profile, &plan, &key, &Options { scale: 1.0, rows: Default::default(), seed: 0 }).expect("dataset")
}

fn generate(c: &mut Criterion) {
    let ds = dataset();
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CHUNK_ROWS));
    group.bench_function("10 columns, one 8192-row batch", |b| b.iter(|| black_box(batch(&ds, 0, 0..CHUNK_ROWS))));
    group.throughput(Throughput::Elements(ROWS));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let cancel = AtomicBool::new(false);
    group.bench_function("10 columns to Parquet, 65536 rows, 1 thread", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut sink =
                Box::new(ParquetSink::create(&dir.path().join("out"), &Default::default(), Vec::new()).expect("sink"));
            let mut table = sink.open_table("public.customers", ds.tables[0].schema.clone()).expect("table");
            write_table(&ds, 0, 0..ROWS, &pool, table.as_mut(), &cancel, None).expect("rows");
            table.finish().expect("finish");
            sink.commit().expect("commit");
        })
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
