//! Tests of whole-table transforms: every strategy through the engine (types, NULLs,
//! determinism, domains, uniqueness, templates, JSON), and the properties the engine
//! promises (thread count and batch size never change output; no row keeps its value).

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use proptest::prelude::*;

use crate::plan::{SourceTable, bind};
use crate::rules::parse_rules;
use crate::secret::Key;

use super::Transformer;

fn key() -> Key {
    Key::from_text("unit-test-key-0123456789abcdef0123456789").unwrap()
}

/// Binds `rules` (without the `version` line) to tables shaped like the given batches.
pub(crate) fn plan_for(rules: &str, tables: &[(&str, &RecordBatch)]) -> crate::plan::Plan {
    let set = parse_rules(&[(PathBuf::from("t.toml"), format!("version = 1\n{rules}"))]).unwrap();
    let sources: Vec<SourceTable> = tables.iter().map(|(n, b)| SourceTable::new(*n, b.schema())).collect();
    bind(&set, &sources).unwrap_or_else(|e| panic!("{e}"))
}

/// A transformer whose `unique` domains are resolved from `tables` (each one batch, its
/// first row numbered `first_row`).
pub(crate) fn resolved(
    plan: &crate::plan::Plan,
    key: &Key,
    tables: &[(&str, &RecordBatch)],
    first_row: u64,
) -> Result<Transformer, crate::error::RowError> {
    let transformer = Transformer::new(plan, key);
    transformer.resolve_unique_from(tables, first_row)?;
    Ok(transformer)
}

/// Transforms `batch` as table `name`, cutting it into batches of `batch_rows` rows, on a
/// pool of `threads` threads.
fn run(rules: &str, batch: &RecordBatch, threads: usize, batch_rows: usize) -> RecordBatch {
    let plan = plan_for(rules, &[("public.t", batch)]);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let transformer = pool.install(|| resolved(&plan, &key(), &[("public.t", batch)], 0)).unwrap();
    let t = transformer.table("public.t").unwrap();
    let mut outs = Vec::new();
    let mut offset = 0;
    while offset < batch.num_rows() {
        let n = batch_rows.min(batch.num_rows() - offset);
        outs.push(pool.install(|| t.apply(&batch.slice(offset, n), offset as u64)).unwrap());
        offset += n;
    }
    arrow_select::concat::concat_batches(&batch.schema(), &outs).unwrap()
}

fn batch(columns: Vec<(&str, ArrayRef, bool)>) -> RecordBatch {
    let fields: Vec<Field> = columns.iter().map(|(n, a, null)| Field::new(*n, a.data_type().clone(), *null)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a, _)| a).collect()).unwrap()
}

fn strings(a: &ArrayRef) -> Vec<Option<String>> {
    let a = a.as_string::<i32>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())).collect()
}

fn text_column(n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter((0..n).map(|i| (i % 7 != 3).then(|| format!("person{i}@mail.example.net")))))
}

#[test]
fn nulls_stay_null_and_types_stay_for_every_text_strategy() {
    let b = batch(vec![("v", text_column(50), true)]);
    for rule in [
        r#"{ action = "mask", keep_last = 2 }"#,
        r#"{ action = "mask", format_preserving = true }"#,
        r#"{ action = "hash" }"#,
        r#"{ action = "hash", length = 8 }"#,
        r#"{ action = "fake", generator = "email" }"#,
        r#"{ action = "redact" }"#,
    ] {
        let out = run(&format!("[tables.\"public.t\".columns]\nv = {rule}\n"), &b, 2, 16);
        assert_eq!(out.schema(), b.schema(), "{rule}");
        let (i, o) = (strings(b.column(0)), strings(out.column(0)));
        for (x, y) in i.iter().zip(&o) {
            assert_eq!(x.is_some(), y.is_some(), "{rule}: NULL changed");
        }
        assert!(i.iter().zip(&o).all(|(x, y)| x.is_none() || x != y), "{rule}: a value passed through");
    }
    let constant = run("[tables.\"public.t\".columns]\nv = { action = \"constant\", value = \"n/a\" }\n", &b, 1, 50);
    assert!(strings(constant.column(0)).iter().all(|v| v.as_deref() == Some("n/a")));
    let null = run("[tables.\"public.t\".columns]\nv = { action = \"null\" }\n", &b, 1, 50);
    assert_eq!(null.column(0).null_count(), 50);
}

#[test]
fn hex_hash_has_the_chosen_length_and_is_deterministic() {
    let b = batch(vec![("v", text_column(20), true)]);
    let rules = "[tables.\"public.t\".columns]\nv = { action = \"hash\", length = 12 }\n";
    let a = run(rules, &b, 1, 20);
    let c = run(rules, &b, 2, 3);
    assert_eq!(a, c);
    for v in strings(a.column(0)).into_iter().flatten() {
        assert_eq!(v.len(), 12);
        assert!(v.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}

#[test]
fn numbers_dates_and_uuids_keep_their_types_and_ranges() {
    let n = 300;
    let b = batch(vec![
        ("i8", Arc::new(Int8Array::from_iter((0..n).map(|i| Some((i % 100) as i8)))), false),
        ("i16", Arc::new(Int16Array::from_iter_values((0..n).map(|i| i as i16))), false),
        ("i32", Arc::new(Int32Array::from_iter_values((0..n).map(|i| i as i32 - 5))), false),
        (
            "dec",
            Arc::new(
                Decimal128Array::from_iter_values((0..n).map(|i| 9_999_900 + i as i128))
                    .with_precision_and_scale(7, 2)
                    .unwrap(),
            ),
            false,
        ),
        ("day", Arc::new(Date32Array::from_iter_values((0..n).map(|i| 10_000 + i as i32))), false),
        (
            "ts",
            Arc::new(
                TimestampMillisecondArray::from_iter_values((0..n).map(|i| 1_600_000_000_000 + i as i64))
                    .with_timezone("UTC"),
            ),
            false,
        ),
        (
            "u",
            Arc::new(
                FixedSizeBinaryArray::try_from_iter((0..n).map(|i| {
                    let mut u = [0u8; 16];
                    u[0] = i as u8;
                    u[1] = (i >> 8) as u8;
                    u[6] = 0x40;
                    u[8] = 0x80;
                    u
                }))
                .unwrap(),
            ),
            false,
        ),
        ("born", Arc::new(Date32Array::from_iter_values((0..n).map(|i| i as i32))), false),
        ("small", Arc::new(Int16Array::from_iter_values((0..n).map(|i| i as i16))), false),
    ]);
    let rules = r#"[tables."public.t".columns]
i8 = { action = "hash" }
i16 = { action = "hash" }
i32 = { action = "noise", absolute = 3 }
dec = { action = "noise", absolute = 1000 }
day = { action = "noise", duration = "10d" }
ts = { action = "noise", duration = "2s" }
u = { action = "hash" }
born = { action = "fake", generator = "date", min = "1990-01-01", max = "1990-12-31" }
small = { action = "fake", generator = "integer", min = -5, max = 5 }
"#;
    let out = run(rules, &b, 2, 64);
    assert_eq!(out.schema(), b.schema());
    let i8s = out.column(0).as_primitive::<Int8Type>();
    assert!(i8s.values().iter().all(|&v| v >= 0), "sign preserved");
    let i16s: std::collections::HashSet<i16> =
        out.column(1).as_primitive::<Int16Type>().values().iter().copied().collect();
    assert_eq!(i16s.len(), n, "permutation keeps values distinct");
    for (a, b) in
        b.column(2).as_primitive::<Int32Type>().values().iter().zip(out.column(2).as_primitive::<Int32Type>().values())
    {
        assert!(a != b && (a - b).abs() <= 3);
    }
    let dec = out.column(3).as_primitive::<Decimal128Type>();
    assert!(dec.values().iter().all(|v| (0..=9_999_999).contains(v)), "decimal stays within precision 7");
    for (a, b) in b
        .column(4)
        .as_primitive::<Date32Type>()
        .values()
        .iter()
        .zip(out.column(4).as_primitive::<Date32Type>().values())
    {
        assert!(a != b && (a - b).abs() <= 10);
    }
    for (a, b) in b
        .column(5)
        .as_primitive::<TimestampMillisecondType>()
        .values()
        .iter()
        .zip(out.column(5).as_primitive::<TimestampMillisecondType>().values())
    {
        assert!(a != b && (a - b).abs() <= 2000);
    }
    let uuids = out.column(6).as_fixed_size_binary();
    let distinct: std::collections::HashSet<&[u8]> = (0..n).map(|i| uuids.value(i)).collect();
    assert_eq!(distinct.len(), n);
    assert!((0..n).all(|i| uuids.value(i)[6] >> 4 == 4 && uuids.value(i)[8] >> 6 == 2), "still version-4 uuids");
    let born = out.column(7).as_primitive::<Date32Type>();
    assert!(born.values().iter().all(|&d| (7305..=7669).contains(&d)), "dates within 1990");
    let small = out.column(8).as_primitive::<Int16Type>();
    assert!(small.values().iter().all(|&v| (-5..=5).contains(&v)));
    assert_eq!(out.schema().field(5).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())));
}

#[test]
fn noise_leaves_infinite_dates_and_timestamps_alone() {
    // Regression: the PostgreSQL source reads ±infinity as the type's extremes; a shift used
    // to clamp them into finite values (and -infinity timestamps out of PostgreSQL's range).
    let b = batch(vec![
        ("day", Arc::new(Date32Array::from(vec![i32::MAX, i32::MIN, 0])), false),
        ("ts", Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX, i64::MIN, 0]).with_timezone("UTC")), false),
    ]);
    let rules = r#"[tables."public.t".columns]
day = { action = "noise", duration = "10d" }
ts = { action = "noise", duration = "2s" }
"#;
    let out = run(rules, &b, 1, 64);
    let days = out.column(0).as_primitive::<Date32Type>();
    assert_eq!((days.value(0), days.value(1)), (i32::MAX, i32::MIN));
    assert_ne!(days.value(2), 0);
    let ts = out.column(1).as_primitive::<TimestampMicrosecondType>();
    assert_eq!((ts.value(0), ts.value(1)), (i64::MAX, i64::MIN));
    assert_ne!(ts.value(2), 0);
}

#[test]
fn a_shared_domain_maps_equal_inputs_to_equal_outputs_across_tables() {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(1..=100));
    let parent = batch(vec![("id", ids, false)]);
    let refs: ArrayRef = Arc::new(Int64Array::from_iter_values((0..300).map(|i| i % 100 + 1)));
    let child64 = batch(vec![("parent_id", refs, false)]);
    let plan = plan_for(
        r#"[tables."public.p".columns]
id = { action = "hash", domain = "pid" }
[tables."public.c".columns]
parent_id = { action = "hash", domain = "pid" }
"#,
        &[("public.p", &parent), ("public.c", &child64)],
    );
    let t = Transformer::new(&plan, &key());
    let p = t.table("public.p").unwrap().apply(&parent, 0).unwrap();
    let c = t.table("public.c").unwrap().apply(&child64, 0).unwrap();
    let parent_ids: std::collections::HashSet<i64> =
        p.column(0).as_primitive::<Int64Type>().values().iter().copied().collect();
    assert!(
        c.column(0).as_primitive::<Int64Type>().values().iter().all(|v| parent_ids.contains(v)),
        "foreign keys join"
    );
}

#[test]
fn unique_columns_are_unique_and_independent_of_threads_and_batches() {
    let n = 2000;
    let names: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("in-{i}"))));
    let b = batch(vec![("v", names, false)]);
    let rules = "[tables.\"public.t\".columns]\nv = { action = \"fake\", generator = \"username\", unique = true }\n";
    let a = run(rules, &b, 1, n);
    let c = run(rules, &b, 4, 37);
    assert_eq!(a, c);
    let values: std::collections::HashSet<_> = strings(a.column(0)).into_iter().collect();
    assert_eq!(values.len(), n);
}

/// Each input's output in `out`, by input (column 0 of `b`).
fn by_input(b: &RecordBatch, out: &RecordBatch, column: usize) -> std::collections::BTreeMap<String, String> {
    let inputs = strings(b.column(0));
    let outputs: Vec<Option<String>> = match out.column(column).data_type() {
        DataType::Utf8 => strings(out.column(column)),
        _ => (0..out.num_rows())
            .map(|i| Some(arrow_cast::display::array_value_to_string(out.column(column), i).unwrap()))
            .collect(),
    };
    inputs.into_iter().zip(outputs).map(|(i, o)| (i.unwrap(), o.unwrap())).collect()
}

/// The rows of `b` in another order (a fixed permutation).
fn shuffled(b: &RecordBatch) -> RecordBatch {
    let n = b.num_rows() as u32;
    let order = UInt32Array::from_iter_values((0..n).map(|i| (i * 7919 + 13) % n));
    arrow_select::take::take_record_batch(b, &order).unwrap()
}

/// `n` distinct emails (column `email`) of people with one of 5 first names (`first`): most
/// values of a template over the name collide.
fn colliding_names(n: usize) -> RecordBatch {
    let email: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("in-{i}@corp.example"))));
    let first: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..n).map(|i| ["Ann", "Bob", "Cy", "Di", "Ed"][i % 5])));
    batch(vec![("email", email, false), ("first", first, false)])
}

#[test]
fn unique_templates_tag_the_values_of_lower_ranked_inputs_whatever_the_row_order() {
    let (n, b) = (600, colliding_names(600));
    let rules = r#"[tables."public.t"]
keep = ["first"]
columns.email = { action = "template", template = "{first|lower}@example.com", unique = true }
"#;
    let a = run(rules, &b, 1, n);
    let s = shuffled(&b);
    let c = run(rules, &s, 4, 37);
    assert_eq!(by_input(&b, &a, 0), by_input(&s, &c, 0), "the row order changed an input's value");
    let values: Vec<String> = strings(a.column(0)).into_iter().flatten().collect();
    assert_eq!(values.iter().collect::<std::collections::HashSet<_>>().len(), n);
    // Per name: one keeps the plain value, the others are numbered 2..=120 in a keyed order.
    for name in ["ann", "bob", "cy", "di", "ed"] {
        let mut tags: Vec<u32> = values
            .iter()
            .filter_map(|v| v.strip_prefix(&format!("{name}.")).and_then(|t| t.strip_suffix("@example.com")))
            .map(|t| t.parse().unwrap())
            .collect();
        tags.sort_unstable();
        assert_eq!(tags, (2..=120).collect::<Vec<u32>>(), "{name}");
        assert!(values.contains(&format!("{name}@example.com")));
    }
}

/// `batch` as table `public.t` run once with its unique domains deferred (apply_first over
/// batches of `batch_rows`, finish_deferred, apply_ranked), as the pipeline does.
fn run_deferred(rules: &str, batch: &RecordBatch, threads: usize, batch_rows: usize) -> RecordBatch {
    let plan = plan_for(rules, &[("public.t", batch)]);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let transformer = Transformer::new(&plan, &key());
    assert!(transformer.deferrable("public.t"));
    transformer.defer(&["public.t"]);
    assert!(transformer.runs_deferred("public.t") && transformer.unique_tables().is_empty());
    let t = transformer.table("public.t").unwrap();
    let mut firsts = Vec::new();
    let mut offset = 0;
    while offset < batch.num_rows() {
        let n = batch_rows.min(batch.num_rows() - offset);
        firsts.push((offset, pool.install(|| t.apply_first(&batch.slice(offset, n), offset as u64)).unwrap()));
        offset += n;
    }
    pool.install(|| t.finish_deferred());
    let outs: Vec<RecordBatch> =
        firsts.iter().map(|(offset, b)| pool.install(|| t.apply_ranked(b, *offset as u64)).unwrap()).collect();
    arrow_select::concat::concat_batches(&batch.schema(), &outs).unwrap()
}

#[test]
fn a_table_resolving_its_own_unique_templates_in_one_read_gets_the_values_of_pass_1() {
    let b = colliding_names(600);
    let rules = r#"[tables."public.t"]
columns.first = { action = "fake", generator = "first_name" }
columns.email = { action = "template", template = "{first|lower}.{first|lower}@example.com", unique = true }
"#;
    let classic = run(rules, &b, 2, 128);
    assert_eq!(run_deferred(rules, &b, 1, 600), classic);
    assert_eq!(run_deferred(rules, &b, 4, 37), classic);
    assert_eq!(classic.schema(), b.schema(), "the ranks are not part of the output");
}

#[test]
fn only_tables_alone_in_domains_of_unique_templates_are_deferrable() {
    let ids: ArrayRef = Arc::new(StringArray::from_iter_values((0..10).map(|i| format!("in-{i}"))));
    let b = batch(vec![("v", ids.clone(), false), ("w", ids, false)]);
    let deferrable = |rules: &str| {
        let plan = plan_for(rules, &[("public.t", &b), ("public.u", &b)]);
        let t = Transformer::new(&plan, &key());
        (t.deferrable("public.t"), t.deferrable("public.u"))
    };
    // A redrawn unique rule needs pass 1b: not deferrable.
    let fake = r#"[tables."public.t".columns]
v = { action = "fake", generator = "username", unique = true }
w = { action = "keep" }
[tables."public.u"]
keep = ["v", "w"]
"#;
    assert_eq!(deferrable(fake), (false, false));
    let template = r#"[tables."public.t".columns]
v = { action = "template", template = "{w}@x", unique = true }
w = { action = "keep" }
[tables."public.u"]
keep = ["v", "w"]
"#;
    assert_eq!(deferrable(template), (true, false));
    // Another table's column in the same domain needs the decisions before it runs.
    let shared = r#"[tables."public.t".columns]
v = { action = "template", template = "{w}@x", unique = true, domain = "people" }
w = { action = "keep" }
[tables."public.u".columns]
v = { action = "template", template = "{w}@x", domain = "people" }
w = { action = "keep" }
"#;
    assert_eq!(deferrable(shared), (false, false));
}

#[test]
fn unique_redraws_are_decided_by_a_keyed_order_not_by_the_row_order() {
    // 1000 inputs drawn from 1500 integers: about a quarter collide at the first draw.
    let n = 1000;
    let v: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("in-{i}"))));
    let code: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i * 3)));
    let b = batch(vec![("v", v, false), ("code", code, false)]);
    let rules = r#"[tables."public.t"]
keep = ["v"]
columns.code = { action = "fake", generator = "integer", min = 1, max = 1500, unique = true }
"#;
    let a = run(rules, &b, 1, n);
    let s = shuffled(&b);
    let c = run(rules, &s, 4, 33);
    assert_eq!(by_input(&b, &a, 1), by_input(&s, &c, 1), "the row order changed an input's value");
    let codes = a.column(1).as_primitive::<Int64Type>();
    assert_eq!(codes.values().iter().collect::<std::collections::HashSet<_>>().len(), n);
    assert!(codes.values().iter().all(|c| (1..=1500).contains(c)));
}

#[test]
fn a_value_space_too_small_for_unique_is_a_row_error_without_values() {
    let v: ArrayRef = Arc::new(StringArray::from_iter_values((0..100).map(|i| format!("secret-{i}"))));
    let b = batch(vec![("v", v, false)]);
    let plan = plan_for(
        "[tables.\"public.t\".columns]\nv = { action = \"fake\", generator = \"boolean\", unique = true }\n",
        &[("public.t", &b)],
    );
    let err = resolved(&plan, &key(), &[("public.t", &b)], 1000).err().unwrap();
    assert_eq!((err.table.as_str(), err.column.as_str()), ("public.t", "v"));
    assert!(err.row > 1000 && err.row <= 1100, "row {} counts from the batch offset", err.row);
    assert!(!err.to_string().contains("secret-"));
}

#[test]
fn templates_read_other_columns_outputs() {
    let first: ArrayRef = Arc::new(StringArray::from(vec!["Ann", "Bob"]));
    let last: ArrayRef = Arc::new(StringArray::from(vec!["Lee", "Ray"]));
    let email: ArrayRef = Arc::new(StringArray::from(vec![Some("ann.lee@corp.com"), None]));
    let b = batch(vec![("first", first, false), ("last", last, false), ("email", email, true)]);
    let out = run(
        r#"[tables."public.t".columns]
first = { action = "fake", generator = "first_name" }
last = { action = "keep" }
email = { action = "template", template = "{first|slug}.{last|lower}@example.com" }
"#,
        &b,
        1,
        2,
    );
    let first = strings(out.column(0));
    let email = strings(out.column(2));
    let slug: String =
        first[0].as_ref().unwrap().to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    assert_eq!(email[0].as_deref(), Some(format!("{slug}.lee@example.com").as_str()));
    assert_eq!(email[1], None, "a NULL stays NULL");
}

#[test]
fn json_paths_are_transformed_and_the_rest_kept() {
    let docs: ArrayRef = Arc::new(StringArray::from(vec![
        r#"{"keep":1.50,"contact":{"email":"a@b.org","n":7},"list":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}]}"#,
        r#"{"other":true}"#,
    ]));
    let b = batch(vec![("doc", docs, false)]);
    let out = run(
        r#"[tables."public.t".columns.doc]
action = "json"
paths = { "contact.email" = { action = "hash", length = 8 }, "contact.n" = { action = "null" }, "list[*].ip" = { action = "fake", generator = "ipv4" } }
"#,
        &b,
        1,
        2,
    );
    let out = strings(out.column(0));
    let doc: serde_json::Value = serde_json::from_str(out[0].as_deref().unwrap()).unwrap();
    assert!(out[0].as_deref().unwrap().starts_with(r#"{"keep":1.50,"#), "key order and number text kept");
    assert_eq!(doc["contact"]["email"].as_str().unwrap().len(), 8);
    assert!(doc["contact"]["n"].is_null());
    assert_ne!(doc["list"][0]["ip"], "10.0.0.1");
    assert_eq!(out[1].as_deref(), Some(r#"{"other":true}"#));
}

#[test]
fn invalid_json_is_a_row_error_naming_the_row_not_the_value() {
    let docs: ArrayRef = Arc::new(StringArray::from(vec![r#"{"a":"x"}"#, "not json secret-token"]));
    let b = batch(vec![("doc", docs, false)]);
    let plan = plan_for(
        "[tables.\"public.t\".columns.doc]\naction = \"json\"\npaths = { a = { action = \"null\" } }\n",
        &[("public.t", &b)],
    );
    let err = Transformer::new(&plan, &key()).table("public.t").unwrap().apply(&b, 0).unwrap_err();
    assert_eq!(err.row, 2);
    assert!(err.reason.contains("not valid JSON"));
    assert!(!err.to_string().contains("secret-token"));
}

#[test]
fn a_json_path_meeting_a_scalar_on_the_way_is_a_row_error_not_a_pass_through() {
    let docs: ArrayRef = Arc::new(StringArray::from(vec![
        r#"{"contact":{"email":"a@b.org"},"list":[{"ip":"10.0.0.1"}]}"#,
        r#"{"contact":null,"list":null}"#,
        r#"{"other":1}"#,
        r#"{"contact":"secret-token@example.com"}"#,
        r#"{"list":{"ip":"10.9.9.9"}}"#,
    ]));
    let b = batch(vec![("doc", docs, false)]);
    let rules = |paths: &str| format!("[tables.\"public.t\".columns.doc]\naction = \"json\"\npaths = {{ {paths} }}\n");
    let cases = [
        (
            r#""contact.email" = { action = "hash", length = 8 }"#,
            4,
            "path `contact.email`: the value before key `email` holds a string",
        ),
        (r#""list[*].ip" = { action = "fake", generator = "ipv4" }"#, 5, "the value before `[*]` holds an object"),
    ];
    for (paths, row, reason) in cases {
        let plan = plan_for(&rules(paths), &[("public.t", &b)]);
        let err = Transformer::new(&plan, &key()).table("public.t").unwrap().apply(&b, 0).unwrap_err();
        assert_eq!(err.row, row, "{err}");
        assert!(err.reason.contains(reason), "{err}");
        assert!(!err.to_string().contains("secret-token") && !err.to_string().contains("10.9.9.9"), "{err}");
    }
    // Rows 1 to 3 alone (an object on the way, a null on the way, the path absent) pass, and so
    // do documents that hold nothing: an empty string, a boolean.
    let head = b.slice(0, 3);
    let plan = plan_for(&rules(cases[0].0), &[("public.t", &head)]);
    let out = Transformer::new(&plan, &key()).table("public.t").unwrap().apply(&head, 0).unwrap();
    let out = strings(out.column(0));
    assert_eq!(out[1].as_deref(), Some(r#"{"contact":null,"list":null}"#));
    assert_eq!(out[2].as_deref(), Some(r#"{"other":1}"#));
    let empty: ArrayRef =
        Arc::new(StringArray::from(vec![r#""""#, "true", r#"{"contact":""}"#, "[]", r#"{"contact":[]}"#]));
    let e = batch(vec![("doc", empty, false)]);
    let plan = plan_for(&rules(cases[0].0), &[("public.t", &e)]);
    let out = Transformer::new(&plan, &key()).table("public.t").unwrap().apply(&e, 0).unwrap();
    let expected = [r#""""#, "true", r#"{"contact":""}"#, "[]", r#"{"contact":[]}"#];
    assert_eq!(strings(out.column(0)), expected.map(|s| Some(s.to_string())).to_vec());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Output bytes do not depend on the thread count or how rows are cut into batches.
    #[test]
    fn parallel_output_equals_sequential(
        values in proptest::collection::vec(proptest::option::of("[a-zA-Z0-9 @.+-]{0,24}"), 1..300),
        numbers in proptest::collection::vec(any::<i32>(), 300),
        batch_rows in 1usize..120,
    ) {
        let n = values.len();
        let b = batch(vec![
            ("s", Arc::new(StringArray::from(values)) as ArrayRef, true),
            ("i", Arc::new(Int32Array::from(numbers[..n].to_vec())) as ArrayRef, false),
            ("f", Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("k{}", i % 50)))) as ArrayRef, false),
        ]);
        let rules = r#"[tables."public.t".columns]
s = { action = "mask", format_preserving = true, keep_first = 1 }
i = { action = "hash" }
f = { action = "fake", generator = "full_name", unique = true }
"#;
        let sequential = run(rules, &b, 1, n);
        let parallel = run(rules, &b, 4, batch_rows);
        prop_assert_eq!(sequential, parallel);
    }

    /// No row keeps its own value in a keyed column (distinct inputs).
    #[test]
    fn no_row_keeps_its_own_value(seed in any::<u32>(), n in 1usize..200) {
        let ids: Vec<i64> = (0..n as i64).map(|i| i * 7919 + seed as i64).collect();
        let emails: Vec<String> = ids.iter().map(|i| format!("user{i}@corp.example")).collect();
        let b = batch(vec![
            ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef, false),
            ("email", Arc::new(StringArray::from(emails.clone())) as ArrayRef, false),
        ]);
        let out = run("[tables.\"public.t\".columns]\nid = { action = \"hash\" }\nemail = { action = \"fake\", generator = \"email\" }\n", &b, 2, 50);
        let out_ids = out.column(0).as_primitive::<Int64Type>();
        let out_emails = strings(out.column(1));
        for i in 0..n {
            prop_assert_ne!(out_ids.value(i), ids[i]);
            prop_assert_ne!(out_emails[i].as_deref(), Some(emails[i].as_str()));
        }
    }
}

#[test]
fn a_domain_shared_by_integer_columns_of_different_widths_is_a_plan_error() {
    let parent = batch(vec![("id", Arc::new(Int64Array::from_iter_values(1..=3)) as ArrayRef, false)]);
    let child = batch(vec![("pid", Arc::new(Int32Array::from_iter_values(1..=3)) as ArrayRef, false)]);
    let set = parse_rules(&[(
        PathBuf::from("t.toml"),
        "version = 1\n[tables.\"public.p\".columns]\nid = { action = \"hash\", domain = \"k\" }\n[tables.\"public.c\".columns]\npid = { action = \"hash\", domain = \"k\" }\n".into(),
    )])
    .unwrap();
    let sources = [SourceTable::new("public.p", parent.schema()), SourceTable::new("public.c", child.schema())];
    let err = bind(&set, &sources).unwrap_err().to_string();
    assert!(err.contains("domain `k` hashes 32-bit integers here and 64-bit integers in public.p.id"), "{err}");
}

#[test]
fn hash_on_a_column_it_cannot_hash_names_what_to_use_instead() {
    let bytes = batch(vec![("b", Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])) as ArrayRef, false)]);
    let bind_error = |rule: &str| {
        let set = parse_rules(&[(
            PathBuf::from("t.toml"),
            format!("version = 1\n[tables.\"public.t\".columns]\nb = {rule}\n"),
        )])
        .unwrap();
        bind(&set, &[SourceTable::new("public.t", bytes.schema())]).unwrap_err().to_string()
    };
    let err = bind_error(r#"{ action = "hash" }"#);
    assert!(err.contains("`hash` works on text, integer and uuid columns") && err.contains("`null`"), "{err}");
    assert!(!err.contains("format"), "the rule did not name a format: {err}");
    let err = bind_error(r#"{ action = "hash", format = "preserve" }"#);
    assert!(err.contains("format = \"preserve\" works on"), "{err}");
}

#[test]
fn json_integers_under_noise_always_move_stay_integers_and_are_never_clamped() {
    let docs: Vec<String> = (0..200).map(|i| format!(r#"{{"n":{i},"top":9223372036854775807}}"#)).collect();
    let docs: ArrayRef = Arc::new(StringArray::from(docs));
    let b = batch(vec![("doc", docs, false)]);
    let out = run(
        "[tables.\"public.t\".columns.doc]\naction = \"json\"\npaths = { n = { action = \"noise\", absolute = 3 }, \
         top = { action = \"noise\", absolute = 3 } }\n",
        &b,
        1,
        64,
    );
    for (i, text) in strings(out.column(0)).into_iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(text.as_deref().unwrap()).unwrap();
        let n = doc["n"].as_i64().expect("still an integer");
        assert!(n != i as i64 && (n - i as i64).abs() <= 3, "{n} from {i}");
        let top = doc["top"].as_i64().unwrap();
        assert!((i64::MAX - 3..i64::MAX).contains(&top), "{top}");
    }
    // An integer beyond i64 cannot move within it: a row error, not a clamp.
    let docs: ArrayRef = Arc::new(StringArray::from(vec![r#"{"n":18446744073709551615}"#]));
    let b = batch(vec![("doc", docs, false)]);
    let plan = plan_for(
        "[tables.\"public.t\".columns.doc]\naction = \"json\"\npaths = { n = { action = \"noise\", absolute = 3 } }\n",
        &[("public.t", &b)],
    );
    let err = Transformer::new(&plan, &key()).table("public.t").unwrap().apply(&b, 0).unwrap_err();
    assert!(err.reason.contains("path `n`: noise cannot move"), "{err}");
    assert!(!err.to_string().contains("18446744073709551615"));
}

#[test]
fn a_generated_value_too_long_stops_the_transform_naming_table_column_and_row() {
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("email", DataType::Utf8, true).with_metadata(std::collections::HashMap::from([(
            crate::schema::PG_TYPE.into(),
            "character varying(12)".into(),
        )])),
        Field::new("name", DataType::Utf8, true),
    ]));
    let ids: Vec<i32> = (0..40).collect();
    let emails: Vec<Option<String>> = ids.iter().map(|i| (i % 7 != 0).then(|| format!("p{i}@x.io"))).collect();
    let names: Vec<String> =
        ids.iter().map(|i| if i % 5 == 4 { format!("Name Number {i}") } else { "Ann".into() }).collect();
    let batch = arrow_array::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(arrow_array::Int32Array::from(ids)),
            Arc::new(StringArray::from(emails)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap();
    let try_bind = |rule: &str| {
        let text = format!(
            "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\", \"name\"]\n[tables.\"public.people\".columns]\nemail = {rule}\n"
        );
        let rules = crate::rules::parse_rules(&[(std::path::PathBuf::from("r.toml"), text)]).unwrap();
        bind(&rules, &[crate::schema::SourceTable::new("public.people", schema.clone())])
    };
    let bind = |rule: &str| try_bind(rule).unwrap();
    let key = crate::secret::Key::from_text("unit-test-key-0123456789abcdef0123456789").unwrap();

    // A template of a kept column without a declared length has no longest value: the plan
    // refuses it (see strategy::fit::templates).
    let template = "{ action = \"template\", template = \"{name}\" }";
    let e = try_bind(template).unwrap_err().to_string();
    assert!(
        e.contains("r.toml:5: public.people.email: the template's values have no longest length: `name` is kept"),
        "{e}"
    );
    // The run-time check is the last line of defence behind the plan: a value too long
    // (here from a template the plan was made to take) stops the run at the first one.
    let mut plan = bind("{ action = \"hash\", length = 12 }");
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    plan.tables[0].columns[1].strategy =
        crate::plan::Strategy::Template(crate::plan::Template::parse("{name}", &names, "email").unwrap());
    plan.tables[0].columns[1].length_limit = Some(12);
    let transform = Transformer::new(&plan, &key).table("public.people").unwrap();
    let e = transform.apply(&batch, 1000).unwrap_err();
    // The strategy alone (unchecked) shows which row is the first too long.
    let c = &plan.tables[0].columns[1];
    let unchecked = crate::strategy::apply::apply(&crate::strategy::apply::ColumnInput {
        strategy: &c.strategy,
        key: &key.domain(&c.domain),
        input: batch.column(1),
        columns: batch.columns(),
        json_keys: &[],
        attempt: 0,
    })
    .unwrap();
    let (row, length) =
        crate::strategy::fit::first_too_long(&unchecked, 12).expect("templated values longer than 12 characters");
    assert_eq!((e.table.as_str(), e.column.as_str()), ("public.people", "email"));
    assert_eq!(e.row, 1000 + row as u64 + 1, "1-based row of the whole table");
    assert!(e.reason.contains(&format!("a value of {length} characters")) && e.reason.contains("at most 12"));
    assert!(!e.reason.contains("Number"), "{}", e.reason);

    // Fake emails have no fixed length either, but are made to fit: on varchar(12) too few
    // of them fit (refused by the plan, see strategy::fake), on varchar(24) every one does.
    let mut schema24 = (*schema).clone();
    let mut fields: Vec<Field> = schema24.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[1] = fields[1].clone().with_metadata(std::collections::HashMap::from([(
        crate::schema::PG_TYPE.into(),
        "character varying(24)".into(),
    )]));
    schema24 = arrow_schema::Schema::new(fields);
    let text = "version = 1\n[tables.\"public.people\"]\nkeep = [\"id\", \"name\"]\n[tables.\"public.people\".columns]\nemail = { action = \"fake\", generator = \"email\" }\n";
    let rules = crate::rules::parse_rules(&[(std::path::PathBuf::from("r.toml"), text.to_string())]).unwrap();
    let plan24 =
        crate::plan::bind(&rules, &[crate::schema::SourceTable::new("public.people", Arc::new(schema24.clone()))])
            .unwrap();
    let batch24 = arrow_array::RecordBatch::try_new(Arc::new(schema24), batch.columns().to_vec()).unwrap();
    let out = Transformer::new(&plan24, &key).table("public.people").unwrap().apply(&batch24, 0).unwrap();
    assert_eq!(crate::strategy::fit::first_too_long(out.column(1), 24), None);

    // Proven to fit: no check at run time, and the output fits.
    let plan = bind("{ action = \"hash\", length = 12 }");
    assert_eq!(plan.tables[0].columns[1].length_limit, None);
    let out = Transformer::new(&plan, &key).table("public.people").unwrap().apply(&batch, 0).unwrap();
    assert_eq!(crate::strategy::fit::first_too_long(out.column(1), 12), None);
}
