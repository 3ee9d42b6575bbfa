//! Dump files as a source (`--from FILE_OR_DIR`, `--from -`): the project's fixtures dumped by
//! pg_dump in its four formats give the same outputs as the live database with the same rules
//! and key; `check` accepts the committed schema locks; hostile dumps are refused naming the
//! file, table and row, and publish nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::pg::cluster;
use common::*;

/// pg_dump's four formats, by the flag that makes them and a file name.
const FORMATS: [(&str, &str); 4] = [("p", "dump.sql"), ("c", "dump.custom"), ("d", "dump.dir"), ("t", "dump.tar")];

/// `pg_dump -F<format> -f <dir>/<name> <db>`; returns the path.
pub(crate) fn pg_dump(db: &str, format: &str, dir: &Path, name: &str) -> PathBuf {
    let c = cluster();
    let path = dir.join(name);
    let out = c
        .client("pg_dump")
        .arg(format!("-F{format}"))
        .arg("-f")
        .arg(&path)
        .arg("-d")
        .arg(c.url(db))
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump -F{format}: {}", String::from_utf8_lossy(&out.stderr));
    path
}

/// Every format of `db`'s dump in `dir`.
pub(crate) fn dumps(db: &str, dir: &Path) -> Vec<PathBuf> {
    FORMATS.iter().map(|(f, name)| pg_dump(db, f, dir, name)).collect()
}

pub(crate) fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", stderr(out));
}

pub(crate) fn fixture_rules(name: &str) -> PathBuf {
    root().join(format!("tests/fixtures/pg/{name}.toml"))
}

/// The tables of a Parquet output directory, each as its batches concatenated.
fn parquet_tables(dir: &Path) -> Vec<(String, arrow_array::RecordBatch)> {
    visible_entries(dir)
        .into_iter()
        .filter_map(|f| f.strip_suffix(".parquet").map(str::to_string))
        .map(|t| {
            let batch = concat(&read_table(dir, &t));
            (t, batch)
        })
        .collect()
}

#[test]
fn every_dump_format_gives_the_live_sources_parquet_output() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        let rules = fixture_rules(fixture);
        let live = dir.path().join("live");
        ok(&doppel_run(&rules, &c.url(&db), live.to_str().unwrap(), &[]), "live run");
        let expected = parquet_tables(&live);
        assert!(!expected.is_empty());
        for dump in dumps(&db, dir.path()) {
            let out_dir = dir.path().join(format!("from-{}", dump.extension().unwrap().to_string_lossy()));
            ok(
                &doppel_run(&rules, dump.to_str().unwrap(), out_dir.to_str().unwrap(), &[]),
                &dump.display().to_string(),
            );
            let got = parquet_tables(&out_dir);
            assert_eq!(got.len(), expected.len(), "{}", dump.display());
            for ((t, a), (u, b)) in expected.iter().zip(&got) {
                assert_eq!(t, u);
                assert_eq!(a.schema(), b.schema(), "{fixture} {t} from {}", dump.display());
                assert_eq!(a, b, "{fixture} {t} from {}", dump.display());
            }
        }
    }
}

#[test]
fn check_accepts_the_committed_schema_locks_for_every_format() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        for dump in dumps(&db, dir.path()) {
            let rules = fixture_rules(fixture);
            let out = doppel(&["check", "--rules", rules.to_str().unwrap(), "--from", dump.to_str().unwrap()], None);
            ok(&out, &format!("check {fixture} from {}", dump.display()));
        }
    }
}

#[test]
fn a_plain_dump_on_stdin_gives_the_same_output_and_leaves_no_spool() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let rules = fixture_rules("club");
    let live = dir.path().join("live");
    ok(&doppel_run(&rules, &c.url(&db), live.to_str().unwrap(), &[]), "live run");
    let plain = pg_dump(&db, "p", dir.path(), "dump.sql");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out_dir = dir.path().join("stdin");
    let args = run_args(&rules, "-", out_dir.to_str().unwrap(), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = doppel_command(&args, Some(TEST_KEY));
    cmd.env("TMPDIR", &tmp).stdin(Stdio::from(std::fs::File::open(&plain).unwrap()));
    ok(&cmd.output().unwrap(), "run --from -");
    assert_eq!(parquet_tables(&live), parquet_tables(&out_dir));
    assert!(visible_entries(&tmp).is_empty(), "the spool is removed: {:?}", visible_entries(&tmp));
}

/// A SQL script without its comment lines.
pub(crate) fn without_comments(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.starts_with("--")).map(|l| format!("{l}\n")).collect()
}

/// The first line where `a` and `b` differ, with a few lines around it.
pub(crate) fn first_difference(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let around = |v: &[&str]| v[i.saturating_sub(3)..(i + 4).min(v.len())].join("\n");
    format!("line {}:\n--- live\n{}\n--- dump\n{}", i + 1, around(&a), around(&b))
}

#[test]
fn every_dump_format_gives_the_live_sources_sql_dump_comment_lines_aside() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        let rules = fixture_rules(fixture);
        let live = dir.path().join("live.sql");
        ok(&doppel_run(&rules, &c.url(&db), live.to_str().unwrap(), &[]), "live run");
        let expected = without_comments(&live);
        for dump in dumps(&db, dir.path()) {
            let out = dir.path().join(format!("from-{}.sql", dump.extension().unwrap().to_string_lossy()));
            ok(&doppel_run(&rules, dump.to_str().unwrap(), out.to_str().unwrap(), &[]), &dump.display().to_string());
            let got = without_comments(&out);
            assert!(got == expected, "{fixture} from {}: {}", dump.display(), first_difference(&expected, &got));
        }
    }
}

/// Every user table's rows in `db`, each table's in column order, as COPY text.
pub(crate) fn database_rows(db: &str) -> Vec<(String, String)> {
    let c = cluster();
    let tables = c.psql(
        db,
        "SELECT format('%I.%I', n.nspname, c.relname), c.relnatts FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    tables
        .lines()
        .map(|l| {
            let (t, n) = l.split_once('|').unwrap();
            let order: Vec<String> = (1..=n.parse::<usize>().unwrap()).map(|i| i.to_string()).collect();
            (t.to_string(), c.psql(db, &format!("COPY (SELECT * FROM {t} ORDER BY {}) TO STDOUT", order.join(", "))))
        })
        .collect()
}

/// A database name no test uses, for doppel to create.
fn new_database_name(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{prefix}_{}_{n}", std::process::id())
}

#[test]
fn every_dump_format_gives_the_live_sources_database() {
    let c = cluster();
    for (fixture, db) in [("club", c.club()), ("trade", c.trade())] {
        let dir = tempfile::tempdir().unwrap();
        let rules = fixture_rules(fixture);
        let live = new_database_name(&format!("{fixture}_live"));
        ok(&doppel_run(&rules, &c.url(&db), &c.url(&live), &[]), "live run");
        let (schema, rows, values) = (schema_dump(&live), database_rows(&live), sequences(&live));
        assert!(!rows.is_empty());
        for dump in dumps(&db, dir.path()) {
            let target = new_database_name(&format!("{fixture}_from_dump"));
            ok(&doppel_run(&rules, dump.to_str().unwrap(), &c.url(&target), &[]), &dump.display().to_string());
            assert_eq!(schema_dump(&target), schema, "{fixture} from {}: schema", dump.display());
            assert_eq!(database_rows(&target), rows, "{fixture} from {}: rows", dump.display());
            assert_eq!(sequences(&target), values, "{fixture} from {}: sequences", dump.display());
        }
    }
}

#[test]
fn rules_with_a_subset_are_refused_from_a_dump() {
    let c = cluster();
    let db = c.trade();
    let dir = tempfile::tempdir().unwrap();
    let dump = pg_dump(&db, "c", dir.path(), "dump.custom");
    let rules = root().join("rules/northwind_subset");
    let out_dir = dir.path().join("out");
    let out = doppel_run(&rules, dump.to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("[subset] section, which is not available from a dump file"), "{}", stderr(&out));
    assert!(!out_dir.exists());
}

/// The club fixture's plain dump, changed by `edit`, run with the club rules into a Parquet
/// directory: the run must fail as a source problem (exit 4) naming the dump, publish
/// nothing, and never print `secret`; returns its stderr.
fn refused(edit: impl FnOnce(Vec<u8>) -> Vec<u8>, secret: &str) -> String {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let plain = pg_dump(&db, "p", dir.path(), "club.sql");
    let hostile = dir.path().join("hostile.sql");
    std::fs::write(&hostile, edit(std::fs::read(&plain).unwrap())).unwrap();
    let out_dir = dir.path().join("out");
    let out = doppel_run(&fixture_rules("club"), hostile.to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(hostile.to_str().unwrap()), "the message names the file: {err}");
    assert!(!out_dir.exists(), "nothing is published");
    assert!(secret.is_empty() || !err.contains(secret), "no value in the message: {err}");
    err
}

/// `text` with the first line starting with `start` passed to `edit`.
pub(crate) fn edit_line(text: Vec<u8>, start: &str, edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(text).unwrap();
    let at = text.find(&format!("\n{start}")).expect("the line is in the dump") + 1;
    let end = at + text[at..].find('\n').unwrap();
    let line = edit(&text[at..end]);
    format!("{}{line}{}", &text[..at], &text[end..]).into_bytes()
}

/// The `n`th row (1-based) of the COPY block of `table` in `text`.
pub(crate) fn row_of(text: &[u8], table: &str, n: usize) -> String {
    let text = std::str::from_utf8(text).unwrap();
    let block = &text[text.find(&format!("\nCOPY {table} ")).unwrap() + 1..];
    block.lines().nth(n).unwrap().to_string()
}

#[test]
fn a_truncated_dump_is_refused_naming_the_table_and_row() {
    let err = refused(
        |text| {
            let row = row_of(&text, "cd.bookings", 40);
            let at = String::from_utf8_lossy(&text).find(&row).unwrap() + row.len() / 2;
            text[..at].to_vec()
        },
        "",
    );
    assert!(err.contains("table cd.bookings, row 40: the dump ends inside this row"), "{err}");
}

#[test]
fn a_row_with_an_extra_field_is_refused_naming_the_table_and_row() {
    let err = refused(
        |text| {
            let row = row_of(&text, "cd.members", 3);
            edit_line(text, &row, |l| format!("{l}\tEXTRA_FIELD"))
        },
        "EXTRA_FIELD",
    );
    assert!(err.contains("table cd.members, row 3 ("), "{err}");
    assert!(err.contains("the row has 9 fields, the table has 8 columns"), "{err}");
}

#[test]
fn data_for_a_table_the_ddl_does_not_define_is_refused() {
    let err = refused(|text| edit_line(text, "COPY cd.facilities ", |l| l.replace("cd.facilities", "cd.ghost")), "");
    assert!(err.contains("the dump holds data for table cd.ghost, which its DDL does not define"), "{err}");
}

#[test]
fn text_that_is_not_utf8_is_refused_in_decoded_and_in_raw_tables() {
    // cd.members is transformed (decoded), cd.facilities kept whole (its COPY text passed on).
    for (table, column) in [("cd.members", "column surname: "), ("cd.facilities", "")] {
        let err = refused(
            |text| {
                let row = row_of(&text, table, 2);
                // A byte 0xff (never in UTF-8) at the end of the row's second field.
                let mut fields: Vec<String> = row.split('\t').map(str::to_string).collect();
                fields[1].push('\u{1}');
                let edited = edit_line(text, &row, |_| fields.join("\t"));
                edited.into_iter().map(|b| if b == 1 { 0xff } else { b }).collect()
            },
            "",
        );
        assert!(err.contains(&format!("table {table}, row 2 (")), "{err}");
        assert!(err.contains(column) && err.contains("UTF-8"), "{err}");
    }
}

#[test]
fn a_dump_that_switches_databases_is_refused() {
    let err = refused(|text| edit_line(text, "CREATE SCHEMA cd;", |l| format!("\\connect other\n{l}")), "");
    assert!(err.contains("the dump switches databases (\\connect)"), "{err}");
}

#[test]
fn copy_from_program_is_refused() {
    let err = refused(
        |text| {
            edit_line(text, "COPY cd.facilities ", |l| {
                l.replace("FROM stdin;", "FROM PROGRAM 'touch /tmp/doppel-pwned';")
            })
        },
        "",
    );
    assert!(err.contains("COPY cd.facilities FROM PROGRAM runs a shell command: refused"), "{err}");
    assert!(!Path::new("/tmp/doppel-pwned").exists());
}

#[test]
fn an_archive_newer_than_pg_restore_is_refused_naming_both_versions() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let archive = pg_dump(&db, "c", dir.path(), "club.custom");
    let mut bytes = std::fs::read(&archive).unwrap();
    // The header: "PGDMP", then the archive format's major, minor and revision bytes.
    bytes[6] = 99;
    std::fs::write(&archive, bytes).unwrap();
    let out_dir = dir.path().join("out");
    let out = doppel_run(&fixture_rules("club"), archive.to_str().unwrap(), out_dir.to_str().unwrap(), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(archive.to_str().unwrap()) && err.contains("archive format 1.99"), "{err}");
    assert!(err.contains("newer than the installed pg_restore (PostgreSQL 1"), "{err}");
    assert!(!out_dir.exists());
}

/// `pg_dump -d SRC | tee >(wc -c > SIZE) | time doppel run … --from - --to - | psql -d DST`,
/// the one-line stream of docs/backup-files.md; returns doppel's peak RSS (KiB, GNU time)
/// and the dump's size (bytes).
pub(crate) fn stream(src: &str, rules: &Path, extra: &str, dst: &str, dir: &Path) -> (u64, u64) {
    let c = cluster();
    let (rss, size) = (dir.join("rss"), dir.join("size"));
    let script = format!(
        "set -o pipefail; pg_dump -d '{src}' | tee >(wc -c > '{size}') \
         | /usr/bin/time -f %M -o '{rss}' '{doppel}' run --quiet {extra} --rules '{rules}' --from - --to - \
         | psql -X -q -v ON_ERROR_STOP=1 -d '{dst}'",
        src = c.url(src),
        size = size.display(),
        rss = rss.display(),
        doppel = env!("CARGO_BIN_EXE_doppel"),
        rules = rules.display(),
        dst = c.url(dst),
    );
    let out = c.client("bash").arg("-c").arg(&script).env("DOPPEL_KEY", TEST_KEY).env("NO_COLOR", "1").output();
    ok(&out.unwrap(), "the stream");
    let number = |p: &Path| std::fs::read_to_string(p).unwrap().trim().parse::<u64>().unwrap();
    (number(&rss), number(&size))
}

#[test]
fn the_one_line_stream_restores_the_live_sources_database() {
    let c = cluster();
    let db = c.bench("dump_stream", 5_000, 15_000, "1");
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("rules/bench.toml");
    let live = new_database_name("stream_live");
    ok(&doppel_run(&rules, &c.url(&db), &c.url(&live), &[]), "live run");
    let streamed = c.create_database("stream_restored");
    stream(&db, &rules, "", &streamed, dir.path());
    assert_eq!(schema_dump(&streamed), schema_dump(&live));
    assert_eq!(database_rows(&streamed), database_rows(&live));
    assert_eq!(sequences(&streamed), sequences(&live));
}

/// doppel's peak RSS on the stream is capped at this whatever the dump's size (with batches
/// of 1,000 rows of 1.2 kB).
const STREAM_RSS_CAP_KIB: u64 = 80 * 1024;

/// The stream's memory does not grow with the dump: dumps of 30 MB and 240 MB (25,000 and
/// 200,000 rows of 1.2 kB), the larger well above the cap, pass through doppel at a peak RSS
/// under [`STREAM_RSS_CAP_KIB`], the larger at about the smaller's.
#[test]
fn the_one_line_stream_keeps_memory_below_the_dumps_size() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("pages.toml");
    std::fs::write(
        &rules,
        "version = 1\n[tables.\"public.pages\"]\nkeep = [\"id\", \"body\"]\n\
         [tables.\"public.pages\".columns]\nauthor = { action = \"fake\", generator = \"full_name\" }\n",
    )
    .unwrap();
    let mut peaks = Vec::new();
    for rows in [25_000, 200_000] {
        let db = c.create_database("stream_large");
        c.psql(
            &db,
            &format!(
                "CREATE TABLE public.pages (id integer PRIMARY KEY, body text NOT NULL, author text NOT NULL); \
                 INSERT INTO public.pages SELECT i, repeat(md5(i::text), 38), 'author ' || i \
                 FROM generate_series(1, {rows}) i;"
            ),
        );
        let streamed = c.create_database("stream_large_restored");
        // Memory follows the batch size (rows in flight), not the dump's size.
        let (rss_kib, dump_bytes) = stream(&db, &rules, "--batch-rows 1000", &streamed, dir.path());
        let digest = "SELECT count(*) || ' ' || md5(string_agg(body, '' ORDER BY id)) FROM public.pages";
        assert_eq!(c.scalar(&streamed, digest), c.scalar(&db, digest));
        assert_eq!(c.scalar(&streamed, "SELECT count(*) FROM public.pages WHERE author LIKE 'author %'"), "0");
        println!(
            "stream: dump {} KiB, doppel peak RSS {rss_kib} KiB (cap {STREAM_RSS_CAP_KIB} KiB)",
            dump_bytes / 1024
        );
        assert!(rss_kib < STREAM_RSS_CAP_KIB, "peak RSS {rss_kib} KiB over the cap, dump {dump_bytes} bytes");
        c.psql("postgres", &format!("DROP DATABASE \"{db}\"; DROP DATABASE \"{streamed}\""));
        peaks.push((rss_kib, dump_bytes));
    }
    let ((small, _), (large, large_dump)) = (peaks[0], peaks[1]);
    assert!(large_dump > 2 * STREAM_RSS_CAP_KIB * 1024, "the larger dump is well above the cap");
    assert!(
        large < small + small / 4 + 8 * 1024,
        "8× the dump, peak RSS {small} → {large} KiB: it grows with the dump"
    );
}

#[test]
fn a_stream_that_fails_halfway_ends_without_its_commit() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(pg_dump(&db, "p", dir.path(), "club.sql")).unwrap();
    let row = row_of(&plain, "cd.members", 3);
    let hostile = dir.path().join("hostile.sql");
    std::fs::write(&hostile, edit_line(plain, &row, |l| format!("{l}\textra"))).unwrap();
    let out = doppel_run(&fixture_rules("club"), hostile.to_str().unwrap(), "-", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("BEGIN;") && !script.contains("COMMIT;"), "{script}");
}

#[test]
fn replace_rebuilds_a_database_from_a_dump_and_verify_reads_a_dump() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let rules = fixture_rules("club");
    let dump = pg_dump(&db, "d", dir.path(), "club.dir");
    let target = new_database_name("club_replaced");
    ok(&doppel_run(&rules, dump.to_str().unwrap(), &c.url(&target), &[]), "first run");
    c.psql(&target, "DELETE FROM cd.bookings");
    ok(&doppel_run(&rules, dump.to_str().unwrap(), &c.url(&target), &["--replace"]), "--replace");
    assert_eq!(
        c.scalar(&target, "SELECT count(*) FROM cd.bookings"),
        c.scalar(&db, "SELECT count(*) FROM cd.bookings")
    );
    let out = doppel(
        &["verify", "--rules", rules.to_str().unwrap(), "--from", dump.to_str().unwrap(), "--to", &c.url(&target)],
        Some(TEST_KEY),
    );
    ok(&out, "verify from the dump");
}

#[test]
fn the_report_names_the_dump_by_its_size_and_blake3() {
    let c = cluster();
    let db = c.club();
    let dir = tempfile::tempdir().unwrap();
    let dump = pg_dump(&db, "c", dir.path(), "club.custom");
    let report = dir.path().join("report.json");
    let out_dir = dir.path().join("out");
    let out = doppel_run(
        &fixture_rules("club"),
        dump.to_str().unwrap(),
        out_dir.to_str().unwrap(),
        &["--report", report.to_str().unwrap()],
    );
    ok(&out, "run with --report");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let source = &report["source"];
    assert_eq!(source["kind"], "sql_dump", "{source}");
    assert_eq!(source["path"], dump.to_str().unwrap());
    assert_eq!(source["file"]["bytes"], std::fs::metadata(&dump).unwrap().len());
    assert_eq!(source["file"]["blake3"].as_str().unwrap().len(), 64);
}
