//! `doppel generate` against a real PostgreSQL: the trade fixture's profile at `--scale 10`
//! into a new database (every constraint created and valid, per-column shape like the
//! source's), `--scale 100` refused at plan time naming the smallint keys, Parquet runs
//! byte-identical for one seed, and the union of `--shard 1/3..3/3` equal to the single run
//! (also as folders of files per table with `--file-rows`).

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::pg::cluster;
use common::*;
use doppel::generate::profile::Profile;

/// An analysed trade fixture and its profile file (in `dir`).
pub fn trade_profile(dir: &Path) -> (String, PathBuf) {
    let c = cluster();
    let db = c.trade();
    c.psql(&db, "ANALYZE");
    let file = dir.join("trade.profile.toml");
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let out = doppel(
        &["profile", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db), "--out", file.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (db, file)
}

pub fn generate(profile: &Path, to: &str, extra: &[&str]) -> std::process::Output {
    generate_with(&root().join("tests/fixtures/pg/trade.toml"), profile, to, extra)
}

/// `doppel generate --rules RULES --profile PROFILE --to TO EXTRA…` with the test key.
pub fn generate_with(rules: &Path, profile: &Path, to: &str, extra: &[&str]) -> std::process::Output {
    let args = [
        &["generate", "--rules", rules.to_str().unwrap(), "--profile", profile.to_str().unwrap(), "--to", to][..],
        extra,
    ]
    .concat();
    doppel(&args, Some(TEST_KEY))
}

fn constraints(db: &str) -> Vec<String> {
    let mut v: Vec<String> = cluster()
        .psql(
            db,
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || contype::text || ' ' || convalidated::text FROM pg_constraint \
             WHERE connamespace = 'public'::regnamespace",
        )
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn number(db: &str, sql: &str) -> f64 {
    cluster().scalar(db, sql).parse().unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn trade_at_scale_10_has_valid_constraints_and_the_source_shape() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (source, profile_file) = trade_profile(dir.path());
    let profile = Profile::from_toml(&std::fs::read_to_string(&profile_file).unwrap(), "profile").unwrap();
    let target = format!("{source}_gen10");
    let out = generate(&profile_file, &c.url(&target), &["--scale", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Every constraint of the source, created and valid.
    let expected = constraints(&source);
    assert!(expected.len() > 25, "{expected:?}");
    assert!(expected.iter().all(|c| c.ends_with(" true")));
    assert_eq!(constraints(&target), expected);

    let mut checked = (0, 0, 0);
    for t in &profile.tables {
        let table = quoted(&t.name);
        let rows = number(&target, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(rows as u64, t.rows * 10, "{}", t.name);
        if rows == 0.0 {
            continue;
        }
        let in_key = |c: &str| t.primary_key.as_ref().is_some_and(|k| k.iter().any(|x| x == c));
        let in_fk = |c: &str| t.foreign_keys.iter().any(|f| f.columns.iter().any(|x| x == c));
        for col in &t.columns {
            let name = format!("\"{}\"", col.name);
            let what = format!("{}.{}", t.name, col.name);
            // Keys are unique by construction; a `null` rule makes NULLs, as in `run`.
            if in_key(&col.name) || col.rule == "null" {
                continue;
            }
            // Null fraction: every column.
            let nulls = number(
                &target,
                &format!("SELECT count(*) FILTER (WHERE {name} IS NULL) / {rows}::float8 FROM {table}"),
            );
            if let Some(f) = col.null_frac {
                assert!((nulls - f).abs() <= 0.02, "{what}: null fraction {nulls} vs {f}");
                checked.0 += 1;
            }
            if col.is_personal() && !in_fk(&col.name) {
                continue;
            }
            // Distinct count: scaled when n_distinct < 0; bounded by the parent's rows for a
            // reference, and by the range of the source's values for integers and dates.
            let Some(nd) = col.n_distinct else { continue };
            let mut want = if nd < 0.0 { -nd * rows } else { nd };
            // The frequent values keep their frequencies: what grows is the rest, at most a
            // value per remaining row.
            let common: f64 = col.most_common_freqs.iter().sum();
            let rest_rows = (rows * (1.0 - col.null_frac.unwrap_or(0.0) - common)).round();
            want = want.min(col.most_common_vals.len() as f64 + rest_rows.max(0.0));
            // No histogram (fewer than two bounds) beside the frequent values: PostgreSQL saw
            // nothing of the rest, and only the frequent values are made.
            if col.histogram_bounds.len() < 2 && !col.most_common_vals.is_empty() && !in_fk(&col.name) {
                want = col.most_common_vals.len() as f64;
            }
            if let Some(fk) = t.foreign_keys.iter().find(|f| f.columns[0] == col.name) {
                want = want.min(profile.table(&fk.references_table).unwrap().rows as f64 * 10.0);
            } else if matches!(col.kind.as_str(), "int16" | "int32" | "int64" | "date") {
                let span =
                    number(&source, &format!("SELECT coalesce(max({name}) - min({name}) + 1, 0)::float8 FROM {table}"));
                want = want.min(span);
            }
            let got = number(&target, &format!("SELECT count(DISTINCT {name}) FROM {table}"));
            assert!((got - want).abs() <= 0.1 * want, "{what}: {got} distinct values vs {want}");
            checked.1 += 1;
            if in_fk(&col.name) {
                // Fan-out: the heaviest parents take the source's most common frequencies.
                let top = cluster()
                    .psql(
                        &target,
                        &format!(
                            "SELECT count(*) / {rows}::float8 FROM {table} WHERE {name} IS NOT NULL GROUP BY {name} \
                             ORDER BY 1 DESC LIMIT {}",
                            col.most_common_freqs.len()
                        ),
                    )
                    .lines()
                    .map(|l| l.parse::<f64>().unwrap())
                    .collect::<Vec<_>>();
                let mut want = col.most_common_freqs.clone();
                want.sort_by(|a, b| b.total_cmp(a));
                for (got, f) in top.iter().zip(&want) {
                    assert!((got - f).abs() <= 0.02, "{what}: a heavy parent's share {got} vs {f}");
                    checked.2 += 1;
                }
                continue;
            }
            // Most common values: their frequencies.
            for (v, f) in col.most_common_vals.iter().zip(&col.most_common_freqs) {
                let got = number(
                    &target,
                    &format!(
                        "SELECT count(*) FILTER (WHERE {name}::text = '{}') / {rows}::float8 FROM {table}",
                        v.replace('\'', "''")
                    ),
                );
                assert!((got - f).abs() <= 0.02, "{what}: a frequent value's frequency {got} vs {f}");
                checked.2 += 1;
            }
        }
    }
    assert!(checked.0 > 60 && checked.1 > 20 && checked.2 > 50, "{checked:?}");
    // No personal value of the source's came through a kept statistic: spot-check one.
    let real = c.scalar(&source, "SELECT company_name FROM public.customers ORDER BY customer_id LIMIT 1");
    let found = number(
        &target,
        &format!("SELECT count(*) FROM public.customers WHERE company_name = '{}'", real.replace('\'', "''")),
    );
    assert_eq!(found, 0.0);
}

#[test]
fn scale_100_is_refused_before_anything_is_generated_naming_the_smallint_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (_, profile_file) = trade_profile(dir.path());
    let out_dir = dir.path().join("out");
    let out = generate(&profile_file, out_dir.to_str().unwrap(), &["--scale", "100"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("public.orders.order_id") && err.contains("smallint"), "{err}");
    assert!(err.contains("public.order_details.order_id"), "{err}");
    assert!(!out_dir.exists());
    // A per-table override makes it fit.
    let out = generate(&profile_file, out_dir.to_str().unwrap(), &["--scale", "100", "--rows", "public.orders=30000"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The tables' files of a Parquet output (without doppel's hidden marker).
fn files(dir: &Path) -> HashMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn one_seed_gives_identical_bytes_and_shards_union_to_the_single_run() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (source, profile_file) = trade_profile(dir.path());
    let run = |name: &str, extra: &[&str]| {
        let path = dir.path().join(name);
        let out = generate(&profile_file, path.to_str().unwrap(), &[&["--scale", "3"][..], extra].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        path
    };
    let a = run("a", &["--seed", "7"]);
    let b = run("b", &["--seed", "7", "--threads", "1"]);
    let other = run("other", &["--seed", "8"]);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 14);
    assert!(fa == fb, "two runs with one seed differ");
    assert_ne!(fa, files(&other));

    // Straight from the source, the same dataset as from its profile.
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let live = dir.path().join("live");
    let out = doppel(
        &[
            "generate",
            "--rules",
            rules.to_str().unwrap(),
            "--from",
            &c.url(&source),
            "--to",
            live.to_str().unwrap(),
            "--scale",
            "3",
            "--seed",
            "7",
        ],
        Some(TEST_KEY),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(files(&live) == fa, "--from and --profile give different datasets");

    let shards: Vec<PathBuf> =
        (1..=3).map(|k| run(&format!("shard{k}"), &["--seed", "7", "--shard", &format!("{k}/3")])).collect();
    for name in fa.keys() {
        let table = name.strip_suffix(".parquet").unwrap();
        let whole = concat(&read_table(&a, table));
        let parts: Vec<_> = shards.iter().flat_map(|s| read_table(s, table)).collect();
        let union = if parts.is_empty() { whole.slice(0, 0) } else { concat(&parts) };
        assert_eq!(union.num_rows(), whole.num_rows(), "{table}");
        assert!(union.columns() == whole.columns(), "{table}: the shards differ from the single run");
    }

    // A table above --file-rows is a folder of files named by their first row: the shards'
    // folders merge into one, which reads as the single run's table.
    let merged = dir.path().join("merged").join("public.orders");
    std::fs::create_dir_all(&merged).unwrap();
    let mut files_written = 0;
    for k in 1..=3 {
        let shard = run(&format!("split{k}"), &["--seed", "7", "--shard", &format!("{k}/3"), "--file-rows", "500"]);
        assert!(shard.join("public.region.parquet").is_file(), "a small table stays one file");
        for entry in std::fs::read_dir(shard.join("public.orders")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), merged.join(entry.file_name())).unwrap();
            files_written += 1;
        }
    }
    let whole = concat(&read_table(&a, "public.orders"));
    assert!(files_written >= whole.num_rows() / 500, "{files_written} files for {} rows", whole.num_rows());
    let reader = doppel::source::parquet::ParquetSource::open(&dir.path().join("merged")).unwrap();
    let batches: Vec<_> =
        doppel::source::Source::read(&reader, "public.orders", 8192).unwrap().map(|b| b.unwrap()).collect();
    let union = concat(&batches);
    assert_eq!(union.num_rows(), whole.num_rows());
    assert!(union.columns() == whole.columns(), "the merged files differ from the single run");
}

#[test]
fn from_a_live_source_into_a_database_with_sequences_set_above_the_generated_keys() {
    let c = cluster();
    let db = c.create_database("generate_live");
    c.psql(
        &db,
        "CREATE TABLE public.accounts (id serial PRIMARY KEY, email text NOT NULL UNIQUE, plan text NOT NULL \
           CHECK (plan IN ('free', 'pro')), opened date, \
           age int CHECK (age BETWEEN 18 AND 99), tier text NOT NULL CHECK (tier IN ('gold', 'silver'))); \
         CREATE TABLE public.events (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES public.accounts, \
           kind text, at timestamptz); \
         INSERT INTO public.accounts (email, plan, opened, age, tier) SELECT 'user' || g || '@corp.example', \
           CASE WHEN g % 4 = 0 THEN 'pro' ELSE 'free' END, DATE '2020-01-01' + g, 18 + g % 70, \
           CASE WHEN g % 5 = 0 THEN 'gold' ELSE 'silver' END FROM generate_series(1, 200) g; \
         INSERT INTO public.events (account_id, kind, at) SELECT 1 + (g * 7) % 200, \
           CASE WHEN g % 3 = 0 THEN 'login' ELSE 'view' END, TIMESTAMPTZ '2024-01-01' + g * interval '1 hour' \
           FROM generate_series(1, 1000) g; ANALYZE;",
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "version = 1\n[tables.\"public.accounts\"]\nkeep = [\"id\", \"plan\", \"opened\"]\n\
         [tables.\"public.accounts\".columns]\nemail = { action = \"fake\", generator = \"email\", unique = true }\n\
         age = { action = \"hash\" }\ntier = { action = \"mask\" }\n\
         [tables.\"public.events\"]\nkeep = [\"id\", \"account_id\", \"kind\", \"at\"]\n",
    )
    .unwrap();
    let target = format!("{db}_gen");
    let args = ["generate", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db), "--to", &c.url(&target)];
    let out = doppel(&[&args[..], &["--scale", "2.5"]].concat(), Some(TEST_KEY));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.accounts"), "500");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.events"), "2500");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
    assert_eq!(
        c.scalar(&target, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace"),
        "7"
    );
    // Unique emails from the rule's generator, none of the source's; the next ids follow the
    // generated ones.
    assert_eq!(
        c.scalar(
            &target,
            "SELECT count(*) FROM public.accounts WHERE email ~ '^[a-z0-9._]+\\.[0-9a-z]{2}@example\\.com$'"
        ),
        "500"
    );
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.accounts WHERE email LIKE '%corp.example'"), "0");
    assert_eq!(
        c.scalar(
            &target,
            "INSERT INTO public.accounts (email, plan, tier) VALUES ('new@example.com', 'free', 'gold') RETURNING id"
        ),
        "501"
    );
    // Simple CHECKs on personal columns hold (the target validated them); the values spread.
    assert!(c.scalar(&target, "SELECT count(DISTINCT age) FROM public.accounts").parse::<u32>().unwrap() > 30);
    assert_eq!(c.scalar(&target, "SELECT count(DISTINCT tier) FROM public.accounts"), "2");
    // Frequent values keep their frequencies.
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.accounts WHERE plan = 'pro'"), "125");

    // The same dataset as a SQL dump, restored elsewhere.
    let file = dir.path().join("generated.sql");
    let out = doppel(&[&args[..5], &["--to", file.to_str().unwrap(), "--scale", "2.5"]].concat(), Some(TEST_KEY));
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = c.create_database("generate_restored");
    c.load_file(&restored, &file);
    let digest = "SELECT md5(string_agg(a::text, ',' ORDER BY a.id)) FROM public.accounts a \
                  WHERE a.id <= 500";
    assert_eq!(c.scalar(&restored, digest), c.scalar(&target, digest));
    assert_eq!(c.scalar(&restored, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
    assert_eq!(c.scalar(&restored, "SELECT nextval('public.events_id_seq')"), "2501");
    // Without the source, a dump has no schema and sequences to take: refused.
    let profile = dir.path().join("p.toml");
    let out = doppel(
        &["profile", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db), "--out", profile.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = generate_with(&rules, &profile, dir.path().join("x.sql").to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn replace_takes_a_database_doppel_did_not_write_only_with_force() {
    let c = cluster();
    let db = c.create_database("generate_force_src");
    c.psql(
        &db,
        "CREATE TABLE public.items (id serial PRIMARY KEY, label text NOT NULL); \
         INSERT INTO public.items (label) SELECT 'item ' || g FROM generate_series(1, 50) g; ANALYZE;",
    );
    let target = c.create_database("generate_force_dst");
    c.psql(&target, "CREATE TABLE public.precious (x int); INSERT INTO public.precious VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "version = 1\n[tables.\"public.items\"]\nkeep = [\"id\", \"label\"]\n").unwrap();
    let args = ["generate", "--rules", rules.to_str().unwrap(), "--from", &c.url(&db), "--to", &c.url(&target)];

    let refused = doppel(&[&args[..], &["--replace"]].concat(), Some(TEST_KEY));
    assert!(!refused.status.success(), "an unmarked database is not replaced without --force");
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.precious"), "1");

    let forced = doppel(&[&args[..], &["--replace", "--force"]].concat(), Some(TEST_KEY));
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM public.items"), "50");
    assert_eq!(c.scalar(&target, "SELECT count(*) FROM pg_tables WHERE tablename = 'precious'"), "0");
}
