//! Micro-benchmarks: every strategy per value and per 8192-row batch, and every fake
//! generator per value, so a regression shows where it comes from.
//!
//! `cargo bench --bench strategies` (add a filter, e.g. `-- fake/`, to run a subset).
//! The end-to-end figure (rows/s of the main job on a 1M-customer input) comes from
//! `scripts/bench_e2e.sh`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use doppel::plan::{SourceTable, bind};
use doppel::rules::parse_rules;
use doppel::secret::Key;
use doppel::transform::Transformer;
use doppel::transform::fake::{FakeSpec, Generator, generate};
use doppel::transform::hash::{hash_hex, permute_int, permute_uuid};
use doppel::transform::mask::{MaskSpec, mask};
use doppel::transform::redact::{Detector, Redactor, Replacement};

const ROWS: usize = 8192;

fn key() -> Key {
    Key::from_text("bench-key-0123456789abcdef0123456789").expect("key")
}

fn input() -> RecordBatch {
    let text: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| format!("person.{i}@mail.example.net"))));
    let note: ArrayRef = Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| {
        format!(
            "Called on Monday, asked to send the invoice to p{i}@corp.example, call back on +44 20 7946 {:04}.",
            i % 10_000
        )
    })));
    let json: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..ROWS).map(|i| format!(r#"{{"newsletter":true,"contact":{{"email":"p{i}@x.org","phone":"0612{i:06}"}}}}"#)),
    ));
    let ints: ArrayRef = Arc::new(Int64Array::from_iter_values(0..ROWS as i64));
    let dates: ArrayRef = Arc::new(Date32Array::from_iter_values((0..ROWS as i32).map(|i| 5000 + i)));
    let money: ArrayRef = Arc::new(
        Decimal128Array::from_iter_values((0..ROWS as i128).map(|i| i * 37))
            .with_precision_and_scale(12, 2)
            .expect("decimal"),
    );
    let columns = [("text", text), ("note", note), ("json", json), ("int", ints), ("day", dates), ("money", money)];
    let schema =
        Schema::new(columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), false)).collect::<Vec<_>>());
    RecordBatch::try_new(Arc::new(schema), columns.into_iter().map(|(_, a)| a).collect()).expect("batch")
}

/// Benchmarks one rule on one column (the others kept), per 8192-row batch.
fn batch_bench(c: &mut Criterion, name: &str, column: &str, rule: &str) {
    let batch = input();
    let mut rules = String::from("version = 1\n[tables.\"public.t\"]\nkeep = [");
    let keep: Vec<String> =
        batch.schema().fields().iter().filter(|f| f.name() != column).map(|f| format!("\"{}\"", f.name())).collect();
    rules.push_str(&keep.join(", "));
    rules.push_str(&format!("]\n[tables.\"public.t\".columns]\n{column} = {rule}\n"));
    let set = parse_rules(&[(PathBuf::from("bench.toml"), rules)]).expect("rules");
    let plan = bind(&set, &[SourceTable::new("public.t", batch.schema())]).expect("plan");
    let transformer = Transformer::new(&plan, &key());
    // `unique` decisions are made before the batches run, as the pipeline's pass 1 does.
    transformer.resolve_unique_from(&[("public.t", &batch)], 0).expect("unique");
    let table = transformer.table("public.t").expect("table");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function(name, |b| b.iter(|| pool.install(|| table.apply(black_box(&batch), 0).expect("apply"))));
    group.finish();
}

fn batches(c: &mut Criterion) {
    batch_bench(c, "keep", "text", r#"{ action = "keep" }"#);
    batch_bench(c, "null", "text", r#"{ action = "constant", value = "x" }"#);
    batch_bench(c, "mask", "text", r#"{ action = "mask", keep_last = 4 }"#);
    batch_bench(c, "mask_format_preserving", "text", r#"{ action = "mask", format_preserving = true }"#);
    batch_bench(c, "hash_hex", "text", r#"{ action = "hash" }"#);
    batch_bench(c, "hash_int", "int", r#"{ action = "hash" }"#);
    batch_bench(c, "fake_email", "text", r#"{ action = "fake", generator = "email" }"#);
    batch_bench(c, "fake_email_unique", "text", r#"{ action = "fake", generator = "email", unique = true }"#);
    batch_bench(c, "fake_date", "day", r#"{ action = "fake", generator = "date" }"#);
    batch_bench(c, "noise_decimal", "money", r#"{ action = "noise", relative = 0.1 }"#);
    batch_bench(c, "noise_date", "day", r#"{ action = "noise", duration = "30d" }"#);
    batch_bench(c, "template", "text", r#"{ action = "template", template = "{int}.{day}@example.com" }"#);
    batch_bench(c, "redact", "note", r#"{ action = "redact" }"#);
    batch_bench(
        c,
        "json",
        "json",
        r#"{ action = "json", paths = { "contact.email" = { action = "fake", generator = "email" } } }"#,
    );
}

fn values(c: &mut Criterion) {
    let k = key().domain("bench");
    let mut group = c.benchmark_group("value");
    let mut out = String::new();
    group.bench_function("hash_hex", |b| {
        b.iter(|| {
            out.clear();
            hash_hex(&k, black_box(b"person.1@mail.example.net"), 32, &mut out)
        })
    });
    group.bench_function("permute_int64", |b| b.iter(|| permute_int(&k, black_box(123_456_789), 64)));
    group.bench_function("permute_uuid", |b| b.iter(|| permute_uuid(&k, black_box([7u8; 16]))));
    let spec = MaskSpec { keep_first: 0, keep_last: 4, mask_char: '*', format_preserving: true };
    group.bench_function("mask_format_preserving", |b| {
        b.iter(|| {
            let mut rng = k.rng(b"mask", b"+44 20 7946 0958", 0);
            out.clear();
            mask(&spec, black_box("+44 20 7946 0958"), &mut rng, &mut out)
        })
    });
    let redactor = Redactor::new(Detector::ALL, &[], Replacement::Tag).expect("redactor");
    let text = "Hi, this is Siobhan Lewis. Please call me back on +34 602 336 679 or mail s.lewis@example.org.";
    group.bench_function("redact", |b| {
        b.iter(|| {
            out.clear();
            redactor.redact(black_box(text), &mut out)
        })
    });
    for &generator in Generator::ALL {
        let spec = FakeSpec::new(generator);
        group.bench_function(format!("fake/{}", generator.name()), |b| {
            b.iter(|| {
                let mut rng = k.rng(b"fake", black_box(b"input"), 0);
                generate(&spec, &mut rng, 0)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batches, values);
criterion_main!(benches);
