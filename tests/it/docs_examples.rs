//! Every example in the documentation works: the code blocks of README.md and docs/*.md,
//! taken from the files as they are, by the convention docs/testing.md describes
//! ("Examples in the documentation"):
//!
//! - ```` ```sh ```` runs: each chapter's blocks in order (a reader follows a chapter from its
//!   top), with bash `-e -o pipefail`, in a fresh directory holding a copy of `rules/` and
//!   links to `fixtures/` and `tests/`, against a private throwaway PostgreSQL server. The
//!   environment: `doppel` on PATH (this build), PostgreSQL's client programs on PATH, `PGHOST`,
//!   `PGPORT`, `PGUSER`, `PGDATABASE` pointing at that server, `SOURCE_URL` the database
//!   `northwind` holding the trade fixture (tests/fixtures/pg/trade.sql, whose schema is Northwind's, so
//!   `rules/northwind.toml` and `rules/northwind_subset` apply), `SERVER_URL` the server
//!   without a database (examples append `/name`), and `DOPPEL_KEY` a test key. Every chapter
//!   starts with a server holding nothing else.
//! - ```` ```sh illustrative ```` (cron jobs, scripts for other machines, cluster set-ups) and
//!   the two blocks of README.md's "Set-up" (building doppel and running this very suite):
//!   `bash -n` only.
//! - ```` ```yaml ````: parsed as YAML (PyYAML, from `$DOPPEL_PYTHON` or `python3`).
//! - ```` ```toml ````: parsed by doppel's own parsers: a rules file (a `version` line is
//!   added when a fragment has none), a fragment of column rules (placed under a table), or a
//!   schema lock; its column rules must decode without a problem.
//! - ```` ```text ```` or no info string: output, messages and synopses; not checked.
//! - Any other info string fails the test, so that no block escapes the convention.
//!
//! Every failure names the file and line of the block.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::pg::Cluster;
use crate::common::*;

/// How long one runnable block may take before it counts as hung.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// One fenced code block of a Markdown file.
struct Block {
    file: String,
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's words (`sh illustrative` → `["sh", "illustrative"]`).
    info: Vec<String>,
    /// The `##`-level section the block is in (`## Set-up`), or empty.
    section: String,
    text: String,
}

impl Block {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The fenced blocks of `text` (` ``` ` or `~~~`, indented or not, as inside list items).
fn blocks(file: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut section = String::new();
    // The open block: its fence, the fence's indentation, and the block so far.
    let mut open: Option<(String, usize, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let fence: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
        let is_fence = fence.len() >= 3 && fence.chars().all(|c| fence.starts_with(c));
        match open.take() {
            Some((opening, _, block))
                if is_fence && fence.starts_with(opening.as_str()) && trimmed[fence.len()..].trim().is_empty() =>
            {
                out.push(block);
            }
            Some((opening, indent0, mut block)) => {
                block.text.push_str(&line[indent.min(indent0)..]);
                block.text.push('\n');
                open = Some((opening, indent0, block));
            }
            None if is_fence => {
                let info = trimmed[fence.len()..].split_whitespace().map(str::to_string).collect();
                let block =
                    Block { file: file.to_string(), line: i + 1, info, section: section.clone(), text: String::new() };
                open = Some((fence, indent, block));
            }
            None => {
                if line.starts_with("## ") {
                    section = line.trim_end().to_string();
                }
            }
        }
    }
    if let Some((_, _, block)) = open {
        panic!("{}: a code block is never closed", block.at());
    }
    out
}

/// README.md and every docs/*.md, in name order.
fn documents() -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    files.extend(chapters);
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap().display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

enum Kind {
    Run,
    ShellSyntax,
    Yaml,
    Toml,
    Prose,
}

fn kind(block: &Block) -> Result<Kind, String> {
    let words: Vec<&str> = block.info.iter().map(String::as_str).collect();
    let setup = block.file == "README.md" && block.section == "## Set-up";
    Ok(match words.as_slice() {
        ["sh"] if setup => Kind::ShellSyntax,
        ["sh"] => Kind::Run,
        ["sh", "illustrative"] => Kind::ShellSyntax,
        ["yaml"] | ["yaml", "illustrative"] => Kind::Yaml,
        ["toml"] => Kind::Toml,
        [] | ["text"] => Kind::Prose,
        _ => {
            return Err(format!(
                "{}: unknown info string `{}`: use sh, sh illustrative, yaml, toml or text (docs/testing.md)",
                block.at(),
                block.info.join(" ")
            ));
        }
    })
}

/// `bash -n`: the block parses as shell.
fn check_shell_syntax(block: &Block) -> Result<(), String> {
    let out = Command::new("bash").args(["--norc", "--noprofile", "-n", "-c", &block.text]).output().expect("bash");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}: not valid shell (bash -n):\n{}", block.at(), stderr(&out)))
    }
}

/// An interpreter that has PyYAML: `$DOPPEL_PYTHON` (scripts/test.sh's venv) or `python3`.
fn python_with_yaml() -> Option<String> {
    let candidates = std::env::var("DOPPEL_PYTHON").ok().into_iter().chain(["python3".to_string()]);
    candidates
        .into_iter()
        .find(|p| Command::new(p).args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success()))
}

/// Parses stdin as YAML; on failure prints only PyYAML's message (lines counted in the block).
const YAML_CHECK: &str = "import sys, yaml
try:
    yaml.safe_load(sys.stdin.read())
except yaml.YAMLError as e:
    sys.exit(str(e))";

fn check_yaml(block: &Block, python: Option<&str>) -> Result<(), String> {
    let python = python.ok_or_else(|| {
        format!(
            "{}: no Python with PyYAML to check this YAML block (scripts/test.sh installs it into target/pyenv; \
             or set DOPPEL_PYTHON)",
            block.at()
        )
    })?;
    let mut child = Command::new(python)
        .args(["-c", YAML_CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), block.text.as_bytes()).expect("write yaml");
    let out = child.wait_with_output().expect("python");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}: not valid YAML (lines counted from the block's first):\n{}", block.at(), stderr(&out)))
    }
}

/// Rules (whole or a fragment), or a schema lock, through doppel's own parsers.
fn check_toml(block: &Block) -> Result<(), String> {
    let at = block.at();
    let value: toml::Table = toml::from_str(&block.text).map_err(|e| format!("{at}: not valid TOML: {e}"))?;
    let name = PathBuf::from(format!("{at}.toml"));
    let is_lock = value.get("tables").and_then(|t| t.as_table()).is_some_and(|tables| {
        tables.values().all(|t| t.as_table().is_some_and(|cols| cols.values().all(|c| c.is_str())))
    }) && !value.contains_key("subset");
    if is_lock {
        return doppel::rules::lock::parse_lock(&name, &block.text)
            .map(|_| ())
            .map_err(|e| format!("{at}: not a valid schema lock: {e}"));
    }
    let version = if value.contains_key("version") { "" } else { "version = 1\n" };
    let text = if value.contains_key("tables") || value.contains_key("subset") {
        format!("{version}{}", block.text)
    } else if value.values().all(|v| v.as_table().is_some_and(|t| t.contains_key("action"))) {
        format!("version = 1\n[tables.\"docs.example\".columns]\n{}", block.text)
    } else {
        return Err(format!("{at}: a toml block must be rules, column rules or a schema lock"));
    };
    let rules = doppel::rules::parse_rules(&[(name, text)]).map_err(|e| format!("{at}: rules refused: {e}"))?;
    if rules.problems.is_empty() {
        Ok(())
    } else {
        let problems: Vec<String> = rules.problems.iter().map(|p| p.to_string()).collect();
        Err(format!("{at}: rules refused:\n{}", problems.join("\n")))
    }
}

/// What a chapter's runnable blocks run in: a directory and the server's databases.
struct Workspace<'a> {
    cluster: &'a Cluster,
    dir: tempfile::TempDir,
    source_url: String,
}

impl<'a> Workspace<'a> {
    /// A fresh directory and a server holding only the source database.
    fn new(cluster: &'a Cluster) -> Workspace<'a> {
        let leftovers = cluster.psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') \
             AND datname NOT LIKE 'template\\_%'",
        );
        for db in leftovers.lines().filter(|l| !l.is_empty()) {
            cluster.psql("postgres", &format!("DROP DATABASE \"{db}\" WITH (FORCE)"));
        }
        let source = cluster.trade();
        cluster.psql("postgres", &format!("ALTER DATABASE \"{source}\" RENAME TO northwind"));
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&root().join("rules"), &dir.path().join("rules"));
        for link in ["fixtures", "tests"] {
            std::os::unix::fs::symlink(root().join(link), dir.path().join(link)).expect("symlink");
        }
        Workspace { cluster, dir, source_url: cluster.url("northwind") }
    }

    fn run(&self, block: &Block) -> Result<(), String> {
        let doppel_dir = Path::new(env!("CARGO_BIN_EXE_doppel")).parent().unwrap();
        let path = std::env::join_paths(
            [doppel_dir.to_path_buf(), self.cluster.bin_dir.clone()]
                .into_iter()
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .unwrap();
        let mut cmd = Command::new("bash");
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("PG") || key_text.starts_with("DOPPEL_") {
                cmd.env_remove(&key);
            }
        }
        cmd.args(["--norc", "--noprofile", "-e", "-o", "pipefail", "-c", &block.text])
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("PGHOST", &self.cluster.host)
            .env("PGPORT", self.cluster.port.to_string())
            .env("PGUSER", "postgres")
            .env("PGDATABASE", "postgres")
            .env("PGCONNECT_TIMEOUT", "10")
            .env("SOURCE_URL", &self.source_url)
            .env("SERVER_URL", format!("postgres://postgres@{}:{}", self.cluster.host, self.cluster.port))
            .env("DOPPEL_KEY", TEST_KEY)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let begin = Instant::now();
        let mut child = cmd.spawn().expect("bash");
        while child.try_wait().expect("wait for bash").is_none() {
            if begin.elapsed() > BLOCK_TIMEOUT {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("bash output");
        if out.status.success() {
            return Ok(());
        }
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        Err(format!(
            "{}: the example failed ({}, after {:.1} s):\n{}--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
            block.at(),
            out.status,
            begin.elapsed().as_secs_f64(),
            block.text,
            tail(&out.stdout),
            tail(&out.stderr)
        ))
    }
}

/// Copies `from` into `to`, keeping symbolic links as links (rules/northwind_subset links to
/// ../northwind.toml).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[test]
fn every_documented_example_works() {
    let documents = documents();
    assert!(documents.len() > 10, "docs/ holds the book's chapters");
    let python = python_with_yaml();
    let cluster = Cluster::start();
    let mut failures = Vec::new();
    let (mut ran, mut checked) = (0, 0);
    for (file, text) in &documents {
        let mut workspace: Option<Workspace> = None;
        for block in blocks(file, text) {
            let result = match kind(&block) {
                Err(e) => Err(e),
                Ok(Kind::Prose) => continue,
                Ok(Kind::ShellSyntax) => check_shell_syntax(&block),
                Ok(Kind::Yaml) => check_yaml(&block, python.as_deref()),
                Ok(Kind::Toml) => check_toml(&block),
                Ok(Kind::Run) => {
                    ran += 1;
                    let begin = Instant::now();
                    let result = workspace.get_or_insert_with(|| Workspace::new(&cluster)).run(&block);
                    eprintln!("{}: ran in {:.1} s", block.at(), begin.elapsed().as_secs_f64());
                    result
                }
            };
            checked += 1;
            if let Err(e) = result {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} documented examples fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran >= 15, "only {ran} runnable examples found: is the block parser broken?");
}

#[test]
fn blocks_are_found_with_their_lines_sections_and_info_strings() {
    let text =
        "# T\n\n## Set-up\n\n```sh\necho a\n```\n\n- item:\n\n  ```toml\n  x = 1\n  ```\n\n````text\n```sh\n````\n";
    let found = blocks("f.md", text);
    let summary: Vec<(usize, String, &str, &str)> =
        found.iter().map(|b| (b.line, b.info.join(" "), b.section.as_str(), b.text.as_str())).collect();
    assert_eq!(
        summary,
        [
            (5, "sh".to_string(), "## Set-up", "echo a\n"),
            (11, "toml".to_string(), "## Set-up", "x = 1\n"),
            (15, "text".to_string(), "## Set-up", "```sh\n"),
        ]
    );
    let bad =
        Block { file: "f.md".into(), line: 3, info: vec!["bash".into()], section: String::new(), text: String::new() };
    let err = kind(&bad).err().expect("an unknown info string is refused");
    assert!(err.starts_with("f.md:3: unknown info string `bash`"), "{err}");
}
