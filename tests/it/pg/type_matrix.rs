//! The strategy × PostgreSQL type matrix: a rule is accepted only if it can write valid values
//! of the column's type. One table has a column of every type that travels as text (strings,
//! JSON, XML, text search, network and MAC addresses, intervals, timetz, money, bit strings,
//! numeric as text, enums, arrays of text, enums and composites, ranges, multiranges,
//! composites, geometric types, a domain with a CHECK constraint, a NOT NULL domain, and a
//! type doppel does not know), with NOT NULL variants. For each strategy, `doppel check` on
//! a rules file giving that strategy to every column must accept exactly the expected
//! columns and refuse the others, naming the type and the actions that would work; then
//! `doppel run` with the accepted columns (the others kept) into a new PostgreSQL database
//! must load: the COPY succeeding is PostgreSQL saying every value is valid.

use crate::common;

use std::path::{Path, PathBuf};

use common::pg::cluster;
use common::*;

const SCHEMA: &str = r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (n int, label text);
CREATE DOMAIN code AS text CHECK (VALUE ~ '^[A-Z]{2}-[0-9]+$');
CREATE DOMAIN nn_text AS text NOT NULL;
CREATE TABLE matrix (
  id int PRIMARY KEY,
  t text, vc varchar(100), ci citext,
  js json, jsb jsonb, x xml,
  tv tsvector, tv_nn tsvector NOT NULL, tq tsquery,
  ip inet, ip_nn inet NOT NULL, net cidr, mac macaddr, mac8 macaddr8,
  iv interval, ttz timetz, m money, bt bit(4), vb varbit(8), n numeric,
  mo mood, mo_nn mood NOT NULL,
  a_t text[], a_e mood[], a_c pair[],
  r int4range, mr int4multirange, pc pair, pt point, bx box,
  cd code, dnn nn_text, lsn pg_lsn
);
INSERT INTO matrix VALUES
(1, '{"a": "Ann"}', '{"a": "Bob"}', '{"a": "Cy"}', '{"a": 1}', '{"a": "x"}', '<a>1</a>',
 'fat:1 cat:2', 'a:1', 'fat & cat',
 '192.168.1.5/24', '10.1.2.3', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
 '1 day 02:00:00', '12:00:00+02', 12.5, B'1010', B'101', 1.5,
 'happy', 'ok', '{a,b}', '{sad,happy}', '{"(1,one)"}',
 '[1,5)', '{[1,3),[5,7)}', '(2,two)', '(1,2)', '(1,1),(0,0)', 'AB-12', '{"a": "x"}', '0/16B3748'),
(2, '{"a": "Dee"}', '{"a": "Eve"}', '{"a": "Fay"}', '[]', '{}', '<b/>',
 '', 'b:1', 'dog',
 '2001:db8::1/64', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00:00:00',
 '-3 mons', '00:00:00-05', 0, B'0000', B'', -2,
 'sad', 'happy', '{}', '{}', '{}',
 'empty', '{}', '(,)', '(0,0)', '(2,2),(1,1)', 'ZZ-0', '{"a": "y"}', '0/0'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'c:3', NULL, NULL, '192.0.2.9/32', NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'sad', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL);
"#;

/// Every column but `id`, with a valid constant for it.
const COLUMNS: &[(&str, &str)] = &[
    ("t", "x"),
    ("vc", "x"),
    ("ci", "x"),
    ("js", "{}"),
    ("jsb", "{\\\"a\\\": 1}"),
    ("x", "<a/>"),
    ("tv", ""),
    ("tv_nn", "'a':1"),
    ("tq", "a & b"),
    ("ip", "192.0.2.1"),
    ("ip_nn", "192.0.2.1/24"),
    ("net", "192.0.2.0/24"),
    ("mac", "02:00:00:00:00:01"),
    ("mac8", "02:00:00:ff:fe:00:00:01"),
    ("iv", "1 day"),
    ("ttz", "12:00:00+02"),
    ("m", "1.50"),
    ("bt", "0101"),
    ("vb", "1"),
    ("n", "3.25"),
    ("mo", "ok"),
    ("mo_nn", "sad"),
    ("a_t", "{a,b}"),
    ("a_e", "{sad,ok}"),
    ("a_c", "{\\\"(1,x)\\\"}"),
    ("r", "[1,5)"),
    ("mr", "{[1,2)}"),
    ("pc", "(1,x)"),
    ("pt", "(1,2)"),
    ("bx", "(1,1),(0,0)"),
    ("cd", "AB-1"),
    ("dnn", "x"),
    ("lsn", "0/0"),
];

/// String columns (`dnn` a NOT NULL domain over text): their refusals come from the
/// strategies' own checks (a generator's Arrow type, `ip` and `enum` wanting their types).
const STRINGS: &[&str] = &["t", "vc", "ci", "dnn"];
const NOT_NULL: &[&str] = &["tv_nn", "ip_nn", "mo_nn", "dnn"];

/// `(name, rule, the columns check must accept)`; `constant` is per column (see [`COLUMNS`]).
fn strategies() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let all: Vec<&str> = COLUMNS.iter().map(|(c, _)| *c).collect();
    let with = |extra: &[&'static str]| -> Vec<&'static str> { STRINGS.iter().chain(extra).copied().collect() };
    // Rules that apply to each element of an array of strings too.
    let each = |extra: &[&'static str]| -> Vec<&'static str> { with(&[&["a_t"], extra].concat()) };
    vec![
        ("keep", "{ action = \"keep\" }", all.clone()),
        ("null", "{ action = \"null\" }", all.iter().copied().filter(|c| !NOT_NULL.contains(c)).collect()),
        ("constant", "", all),
        ("mask", "{ action = \"mask\" }", each(&[])),
        ("mask_fp", "{ action = \"mask\", format_preserving = true }", each(&[])),
        ("hash", "{ action = \"hash\", length = 16 }", each(&[])),
        ("fake_email", "{ action = \"fake\", generator = \"email\" }", each(&[])),
        ("fake_ipv4", "{ action = \"fake\", generator = \"ipv4\" }", each(&["ip", "ip_nn", "net"])),
        ("fake_ip", "{ action = \"fake\", generator = \"ip\" }", vec!["ip", "ip_nn", "net"]),
        ("fake_mac", "{ action = \"fake\", generator = \"mac_address\" }", each(&["mac", "mac8"])),
        ("fake_enum", "{ action = \"fake\", generator = \"enum\" }", vec!["mo", "mo_nn"]),
        ("fake_decimal", "{ action = \"fake\", generator = \"decimal\" }", each(&["m", "n"])),
        ("fake_integer", "{ action = \"fake\", generator = \"integer\" }", each(&["m", "n"])),
        ("noise", "{ action = \"noise\", relative = 0.1 }", vec![]),
        ("noise_duration", "{ action = \"noise\", duration = \"1h\" }", vec!["iv"]),
        ("redact", "{ action = \"redact\" }", each(&[])),
        ("template", "{ action = \"template\", template = \"row {id}\" }", with(&[])),
        // Not on varchar(100): `null` can make a document longer than the one read (see
        // strategy::json's fit), and one read may already hold 100 characters.
        ("json", "{ action = \"json\", paths = { \"a\" = { action = \"null\" } } }", {
            with(&["js", "jsb"]).into_iter().filter(|c| *c != "vc").collect()
        }),
    ]
}

/// A rules file for `matrix`: `id` kept, each of `columns` with its rule.
fn write_rules(dir: &Path, name: &str, columns: &[(&str, String)]) -> PathBuf {
    let mut text = String::from(
        "version = 1\n\n[tables.\"public.matrix\"]\nkeep = [\"id\"]\n\n[tables.\"public.matrix\".columns]\n",
    );
    for (column, rule) in columns {
        text.push_str(&format!("{column} = {rule}\n"));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `doppel check`'s problems, by column.
fn refused(rules: &Path, from: &str) -> Vec<(String, String)> {
    let args = ["check", "--rules", rules.to_str().unwrap(), "--from", from];
    let out = doppel(&args, Some(TEST_KEY));
    let text = stderr(&out);
    let problems: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("public.matrix.")?;
            let (column, message) = rest.split_once(": ")?;
            Some((column.to_string(), message.to_string()))
        })
        .collect();
    assert_eq!(out.status.success(), problems.is_empty(), "check's status and problems disagree:\n{text}");
    problems
}

fn rule_for(strategy: &str, rule: &str, constant: &str) -> String {
    if strategy == "constant" {
        format!("{{ action = \"constant\", value = \"{constant}\" }}")
    } else {
        rule.to_string()
    }
}

#[test]
fn check_accepts_exactly_the_strategies_that_write_valid_values_and_every_accepted_pair_loads() {
    let c = cluster();
    let source = c.create_database("type_matrix");
    c.psql(&source, SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let (mut accepted_pairs, mut refused_pairs) = (0, 0);
    for (strategy, rule, expected) in strategies() {
        let columns: Vec<(&str, String)> =
            COLUMNS.iter().map(|(column, constant)| (*column, rule_for(strategy, rule, constant))).collect();
        let rules = write_rules(dir.path(), strategy, &columns);
        let problems = refused(&rules, &c.url(&source));
        let mut accepted: Vec<&str> =
            COLUMNS.iter().map(|(c, _)| *c).filter(|c| !problems.iter().any(|(p, _)| p == c)).collect();
        accepted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(accepted, want, "{strategy}: check accepted other columns than expected; problems: {problems:#?}");
        for (column, message) in &problems {
            refused_pairs += 1;
            let own_check = STRINGS.contains(&column.as_str())
                || (strategy == "null" && NOT_NULL.contains(&column.as_str()))
                || (strategy == "noise" && column == "iv")
                || (strategy.starts_with("noise") && column == "n")
                || (strategy.starts_with("fake") && column == "a_t");
            if own_check {
                continue; // refused by the strategy's own checks (Arrow type, nullability, options)
            }
            assert!(
                message.contains("cannot write valid values of type") && message.contains("for this type use: keep"),
                "{strategy} on {column}: the refusal names no type or valid actions: {message}"
            );
            assert!(!message.contains("Ann") && !message.contains("happy,"), "{message}");
        }
        accepted_pairs += accepted.len();
        // Load what check accepts (the refused columns kept).
        let loaded: Vec<(&str, String)> = columns
            .iter()
            .map(|(column, r)| {
                (*column, if accepted.contains(column) { r.clone() } else { "{ action = \"keep\" }".to_string() })
            })
            .collect();
        let rules = write_rules(dir.path(), &format!("{strategy}_accepted"), &loaded);
        let target = format!("{source}_{strategy}");
        let out = doppel_run(&rules, &c.url(&source), &c.url(&target), &[]);
        assert!(out.status.success(), "{strategy}: the accepted rules did not load:\n{}", stderr(&out));
        assert_eq!(c.scalar(&target, "SELECT count(*) FROM matrix"), "3", "{strategy}");
        if strategy == "fake_ip" {
            // Family and prefix length kept, host bits of a network stay zero.
            let source_ips = c.psql(&source, "SELECT id, ip::text, net::text FROM matrix ORDER BY id");
            let target_ips = c.psql(&target, "SELECT id, ip::text, net::text FROM matrix ORDER BY id");
            assert_ne!(source_ips, target_ips);
            for (s, t) in source_ips.lines().zip(target_ips.lines()) {
                let (s, t): (Vec<&str>, Vec<&str>) = (s.split('|').collect(), t.split('|').collect());
                for i in 1..3 {
                    assert_eq!(s[i].contains(':'), t[i].contains(':'), "family: {s:?} {t:?}");
                    assert_eq!(s[i].split_once('/').map(|p| p.1), t[i].split_once('/').map(|p| p.1), "prefix");
                }
            }
        }
        if strategy == "mask" {
            // Each element masked; the shape and NULLs kept.
            let sql = "SELECT id, array_length(a_t, 1), a_t = '{a,b}' FROM matrix ORDER BY id";
            assert_eq!(c.psql(&target, sql), "1|2|f\n2||f\n3||\n");
        }
        if strategy == "noise_duration" {
            // Years, months and days kept; the time part moved by at most an hour.
            let sql = "SELECT id, date_part('month', iv), date_part('day', iv), \
                       extract(epoch FROM (iv - date_trunc('day', iv))) FROM matrix ORDER BY id";
            let (s, t) = (c.psql(&source, sql), c.psql(&target, sql));
            assert_ne!(s, t);
            for (s, t) in s.lines().zip(t.lines()) {
                let (s, t): (Vec<&str>, Vec<&str>) = (s.split('|').collect(), t.split('|').collect());
                assert_eq!(s[..3], t[..3], "calendar fields kept");
                if let (Ok(a), Ok(b)) = (s[3].parse::<f64>(), t[3].parse::<f64>()) {
                    assert!(a != b && (a - b).abs() <= 3600.0, "{s:?} {t:?}");
                }
            }
        }
        if strategy == "fake_enum" {
            let labels = c.psql(&target, "SELECT DISTINCT mo_nn::text FROM matrix ORDER BY 1");
            assert!(labels.lines().all(|l| ["sad", "ok", "happy"].contains(&l)), "{labels}");
        }
    }
    // `check --explain` names each text-carried column's type, kind and applicable actions.
    let keep_rules = dir.path().join("keep.toml");
    let args = ["check", "--explain", "--rules", keep_rules.to_str().unwrap(), "--from", &c.url(&source)];
    let explain = String::from_utf8(doppel(&args, None).stdout).unwrap();
    let line = |column: &str| explain.lines().find(|l| l.trim_start().starts_with(&format!("{column} "))).unwrap_or("");
    assert!(line("tv_nn").contains("[tsvector, tsvector: keep, constant]"), "{explain}");
    assert!(
        line("mo").contains("[mood, enum: keep, null, constant (one of its labels), fake (generator = \"enum\")]"),
        "{explain}"
    );
    assert!(line("cd").contains("[code, string: keep, null, constant]"), "{explain}");
    assert!(!line("t").contains('['), "string columns keep the old format: {explain}");
    // Constants that are not values of the type are refused before anything is written.
    let with_constants = |bad: &[(&str, &str)]| -> Vec<(&str, String)> {
        COLUMNS
            .iter()
            .map(|(column, _)| match bad.iter().find(|(c, _)| c == column) {
                Some((_, value)) => (*column, format!("{{ action = \"constant\", value = \"{value}\" }}")),
                None => (*column, "{ action = \"keep\" }".to_string()),
            })
            .collect()
    };
    // Judged without a database: JSON, enum labels, addresses, numbers, bit strings.
    let bad = with_constants(&[("mo", "angry"), ("jsb", "{"), ("net", "10.0.0.1/8"), ("bt", "01")]);
    let problems = refused(&write_rules(dir.path(), "bad_constants", &bad), &c.url(&source));
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems.iter().any(|(c, m)| c == "mo" && m.contains("labels are: sad, ok, happy") && !m.contains("angry"))
    );
    // Judged by the source database: the other text-carried types, and a domain's CHECK.
    let bad = with_constants(&[("tv", "'open"), ("iv", "soon"), ("r", "[5,1)"), ("cd", "lower-1"), ("pt", "(1")]);
    let problems = refused(&write_rules(dir.path(), "bad_constants_pg", &bad), &c.url(&source));
    let mut columns: Vec<&str> = problems.iter().map(|(c, _)| c.as_str()).collect();
    columns.sort();
    assert_eq!(columns, ["cd", "iv", "pt", "r", "tv"], "{problems:#?}");
    for (_, message) in &problems {
        assert!(message.contains("the source database refuses it") && !message.contains("soon"), "{message}");
    }
    eprintln!("type matrix: {accepted_pairs} pairs accepted and loaded, {refused_pairs} refused");
    assert!(accepted_pairs > 100 && refused_pairs > 300, "{accepted_pairs} accepted, {refused_pairs} refused");
}

/// What `doppel scan` suggests for these types is what `check` accepts and PostgreSQL loads,
/// the NOT NULL columns included (no format-preserving mask on a tsvector), and it never
/// needs its self-check to replace a first choice that does not bind.
#[test]
fn scan_suggests_rules_that_check_accepts_and_that_load_for_every_type() {
    let c = cluster();
    let source = c.create_database("type_matrix_scan");
    c.psql(&source, SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&["scan", "--from", &c.url(&source)], None);
    assert!(out.status.success(), "scan failed: {}", stderr(&out));
    let rules = String::from_utf8(out.stdout).unwrap();
    assert!(!rules.contains("does not fit here"), "a first suggestion did not bind:\n{rules}");
    let file = dir.path().join("scanned.toml");
    std::fs::write(&file, &rules).unwrap();
    let target = format!("{source}_scanned");
    let run = doppel_run(&file, &c.url(&source), &c.url(&target), &[]);
    assert!(run.status.success(), "scanned rules did not load:\n{}\n{rules}", stderr(&run));
    // JSON in varchar(100): its path masked, never lengthened (a `fake` path would not fit).
    let columns =
        [("tv_nn", "constant"), ("mo_nn", "\"enum\""), ("ip_nn", "\"ip\""), ("vc", "a = { action = \"mask\" }")];
    for (column, want) in columns {
        let line = rules.lines().find(|l| l.starts_with(&format!("{column} "))).unwrap_or_default();
        assert!(line.contains(want), "{column}: {line}\n{rules}");
    }
}
