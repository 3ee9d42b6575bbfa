//! Reads rules files and collects every structural problem at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Problem, Result};

use super::lock::{SchemaLock, lock_path, read_lock};
use super::model::{
    ColumnRule, RULES_VERSION, RawRulesFile, SubsetRelation, SubsetRoot, SubsetRules, SubsetTable, TableAction,
    Unreached,
};

/// All rules, merged from every file, each entry remembering where it was written.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub tables: BTreeMap<String, TableRules>,
    /// blake3 over every file's name and content, in name order (identifies the rules in
    /// output metadata and reports).
    pub fingerprint: String,
    pub files: Vec<PathBuf>,
    /// Problems in individual column rules. They are reported together with the problems
    /// found when binding to a schema, so a user sees everything at once.
    pub problems: Vec<Problem>,
    /// Where the schema lock of these rules lives (beside them; `None` for rules not read
    /// from files), and the lock itself when one exists (see [`super::lock`]).
    pub lock_path: Option<PathBuf>,
    pub lock: Option<SchemaLock>,
    /// The `[subset]` section, when one file has it (at most one may).
    pub subset: Option<SubsetSpec>,
}

/// The `[subset]` section with the file and lines it was written at (see [`crate::subset`]).
#[derive(Debug, Clone)]
pub struct SubsetSpec {
    pub file: PathBuf,
    pub line: usize,
    pub roots: Vec<Lined<SubsetRoot>>,
    pub relations: Vec<Lined<SubsetRelation>>,
    pub unreached: Unreached,
    pub tables: BTreeMap<String, Lined<SubsetTable>>,
}

/// An item of a rules file and its 1-based line.
#[derive(Debug, Clone)]
pub struct Lined<T> {
    pub item: T,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct TableRules {
    pub file: PathBuf,
    pub line: usize,
    pub action: TableAction,
    /// Column rules, `keep` list entries included (as [`ColumnRule::Keep`]).
    pub columns: Vec<ColumnEntry>,
    /// `quasi_identifiers`: column names, each with its line (checked against the schema
    /// when the plan binds).
    pub quasi_identifiers: Vec<Lined<String>>,
}

#[derive(Debug, Clone)]
pub struct ColumnEntry {
    pub name: String,
    pub line: usize,
    /// `None` when the rule could not be decoded (the problem is in [`RuleSet::problems`]).
    pub rule: Option<ColumnRule>,
}

/// Loads `path`: a `.toml` file, or a directory whose `*.toml` files are read in name order,
/// and the schema lock beside it when there is one.
pub fn load_rules(path: &Path) -> Result<RuleSet> {
    let files = rule_files(path)?;
    let mut texts = Vec::with_capacity(files.len());
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::problems(vec![Problem::new(format!("cannot read rules file: {e}")).at(file, None)]))?;
        texts.push((file.clone(), text));
    }
    let mut rules = parse_rules(&texts)?;
    let lock = lock_path(path);
    rules.lock = read_lock(&lock)?;
    rules.lock_path = Some(lock);
    Ok(rules)
}

/// Parses rules from `(file name, text)` pairs, as [`load_rules`] does after reading them.
pub fn parse_rules(texts: &[(PathBuf, String)]) -> Result<RuleSet> {
    let mut problems = Vec::new();
    let mut column_problems = Vec::new();
    let mut tables: BTreeMap<String, TableRules> = BTreeMap::new();
    let mut subset: Option<SubsetSpec> = None;
    let mut hasher = blake3::Hasher::new();
    for (file, text) in texts {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
        parse_file(file, text, &mut tables, &mut subset, &mut problems, &mut column_problems);
    }
    if !problems.is_empty() {
        problems.extend(column_problems);
        return Err(Error::problems(problems));
    }
    let files = texts.iter().map(|(f, _)| f.clone()).collect();
    Ok(RuleSet {
        tables,
        fingerprint: hasher.finalize().to_hex().to_string(),
        files,
        problems: column_problems,
        lock_path: None,
        lock: None,
        subset,
    })
}

/// The rules files of `path`: the file itself, or every entry of the directory that looks
/// like a rules file (its name ends in `.toml`, any case) and is a regular file or a link to
/// one. Such an entry that cannot be read as a file (a broken link, a directory, a FIFO, an
/// upper-case `.TOML`) is refused, never skipped: a rules file left out silently could turn
/// a subset into a full copy.
fn rule_files(path: &Path) -> Result<Vec<PathBuf>> {
    let problem = |msg: String| Error::problems(vec![Problem::new(msg).at(path, None)]);
    let meta = std::fs::metadata(path)
        .map_err(|e| problem(format!("cannot read rules: {e}; --rules takes a .toml file or a directory of them")))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        return Err(problem(format!(
            "{}, not a rules file: --rules takes a regular .toml file or a directory of them",
            file_kind(&meta.file_type())
        )));
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let entries = std::fs::read_dir(path).map_err(|e| problem(format!("cannot list rules directory: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| problem(format!("cannot list rules directory: {e}")))?;
        let file = entry.path();
        let Some(extension) = file.extension() else { continue };
        if !extension.eq_ignore_ascii_case("toml") {
            continue;
        }
        let refuse = |what: String| {
            Problem::new(format!(
                "{what}; every *.toml entry of a rules directory is read as rules: fix it, or move it out of the \
                 directory"
            ))
            .at(&file, None)
        };
        match std::fs::metadata(&file) {
            Err(e) if entry.file_type().is_ok_and(|t| t.is_symlink()) => {
                problems.push(refuse(format!("a symbolic link that cannot be followed ({e})")))
            }
            Err(e) => problems.push(refuse(format!("cannot read it ({e})"))),
            Ok(m) if !m.is_file() => {
                problems.push(refuse(format!("{}, not a regular file", file_kind(&m.file_type()))))
            }
            Ok(_) if extension != "toml" => {
                problems.push(refuse("named .TOML in other case; rules files end in lower-case .toml".into()))
            }
            Ok(_) => files.push(file),
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(problems));
    }
    files.sort();
    if files.is_empty() {
        return Err(problem("the rules directory holds no .toml files".into()));
    }
    Ok(files)
}

/// What a directory entry is, for messages: `a directory`, `a FIFO (named pipe)`, ...
pub(super) fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// 1-based line number of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

fn parse_file(
    file: &Path,
    text: &str,
    tables: &mut BTreeMap<String, TableRules>,
    subset: &mut Option<SubsetSpec>,
    problems: &mut Vec<Problem>,
    column_problems: &mut Vec<Problem>,
) {
    let raw: RawRulesFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            let message = e.message().trim_end().to_string();
            problems.push(Problem::new(format!("invalid rules: {message}")).at(file, line));
            return;
        }
    };
    if *raw.version.get_ref() != RULES_VERSION {
        problems.push(
            Problem::new(format!(
                "unsupported rules version {}; this doppel reads version {RULES_VERSION}",
                raw.version.get_ref()
            ))
            .at(file, Some(line_of(text, raw.version.span().start))),
        );
    }
    if let Some(spanned) = raw.subset {
        let line = line_of(text, spanned.span().start);
        match subset {
            Some(first) => problems.push(
                Problem::new(format!(
                    "a second [subset] section; the first is at {}:{}: keep one",
                    first.file.display(),
                    first.line
                ))
                .at(file, Some(line)),
            ),
            None => *subset = Some(subset_spec(file, text, line, spanned.into_inner())),
        }
    }
    for (table_name, spanned) in raw.tables {
        let table_line = line_of(text, spanned.span().start);
        let raw_table = spanned.into_inner();
        if let Some(existing) = tables.get(&table_name) {
            problems.push(
                Problem::new(format!("table defined twice; first at {}:{}", existing.file.display(), existing.line))
                    .at(file, Some(table_line))
                    .table(&table_name),
            );
            continue;
        }
        let mut columns: Vec<ColumnEntry> = Vec::new();
        let mut push = |entry: ColumnEntry, problems: &mut Vec<Problem>| {
            if let Some(first) = columns.iter().find(|c| c.name == entry.name) {
                problems.push(
                    Problem::new(format!("column has two rules; the first is on line {}", first.line))
                        .at(file, Some(entry.line))
                        .table(&table_name)
                        .column(&entry.name),
                );
            } else {
                columns.push(entry);
            }
        };
        for name in raw_table.keep {
            let line = line_of(text, name.span().start);
            push(ColumnEntry { name: name.into_inner(), line, rule: Some(ColumnRule::Keep) }, problems);
        }
        for (column, value) in raw_table.columns {
            let line = line_of(text, value.span().start);
            let rule = match value.into_inner().try_into::<ColumnRule>() {
                Ok(rule) => Some(rule),
                Err(e) => {
                    column_problems.push(
                        Problem::new(rule_error_message(&e)).at(file, Some(line)).table(&table_name).column(&column),
                    );
                    None
                }
            };
            push(ColumnEntry { name: column, line, rule }, problems);
        }
        let mut quasi_identifiers: Vec<Lined<String>> = Vec::new();
        for name in raw_table.quasi_identifiers {
            let line = line_of(text, name.span().start);
            let name = name.into_inner();
            if quasi_identifiers.iter().any(|q| q.item == name) {
                problems.push(
                    Problem::new("named twice in `quasi_identifiers`; name each column once")
                        .at(file, Some(line))
                        .table(&table_name)
                        .column(&name),
                );
                continue;
            }
            quasi_identifiers.push(Lined { item: name, line });
        }
        if raw_table.action == TableAction::Skip && !quasi_identifiers.is_empty() {
            problems.push(
                Problem::new(
                    "a skipped table has no output whose risk could be measured; remove `quasi_identifiers` or use \
                     action = \"copy\"",
                )
                .at(file, Some(table_line))
                .table(&table_name),
            );
        }
        if raw_table.action == TableAction::Skip && !columns.is_empty() {
            problems.push(
                Problem::new("a skipped table takes no column rules; remove them or use action = \"copy\"")
                    .at(file, Some(table_line))
                    .table(&table_name),
            );
        }
        tables.insert(
            table_name,
            TableRules {
                file: file.to_path_buf(),
                line: table_line,
                action: raw_table.action,
                columns,
                quasi_identifiers,
            },
        );
    }
}

fn subset_spec(file: &Path, text: &str, line: usize, raw: SubsetRules) -> SubsetSpec {
    fn lined<T>(text: &str, spanned: toml::Spanned<T>) -> Lined<T> {
        let line = line_of(text, spanned.span().start);
        Lined { item: spanned.into_inner(), line }
    }
    SubsetSpec {
        file: file.to_path_buf(),
        line,
        roots: raw.roots.into_iter().map(|r| lined(text, r)).collect(),
        relations: raw.relations.into_iter().map(|r| lined(text, r)).collect(),
        unreached: raw.unreached,
        tables: raw.tables.into_iter().map(|(name, t)| (name, lined(text, t))).collect(),
    }
}

fn rule_error_message(e: &toml::de::Error) -> String {
    let msg = e.message().trim_end();
    if msg.contains("missing field `action`") {
        return format!("column rule has no `action`; valid actions: {}", crate::strategy::ACTIONS.join(", "));
    }
    format!("invalid column rule: {}", msg.replace("variant", "action"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (BTreeMap<String, TableRules>, Vec<Problem>) {
        let mut tables = BTreeMap::new();
        let mut problems = Vec::new();
        let mut column_problems = Vec::new();
        parse_file(Path::new("r.toml"), text, &mut tables, &mut None, &mut problems, &mut column_problems);
        problems.extend(column_problems);
        (tables, problems)
    }

    #[test]
    fn rules_directory_refuses_every_toml_entry_it_cannot_read_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.toml"), "version = 1\n").unwrap();
        std::fs::write(d.join("notes.txt"), "not rules").unwrap();
        std::os::unix::fs::symlink(d.join("missing.toml"), d.join("subset.toml")).unwrap();
        std::fs::create_dir(d.join("folder.toml")).unwrap();
        let fifo = std::ffi::CString::new(d.join("pipe.toml").into_os_string().into_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(d.join("UPPER.TOML"), "version = 1\n").unwrap();
        let err = rule_files(d).unwrap_err();
        let Error::Rules(problems) = &err else { panic!("{err}") };
        assert_eq!(problems.0.len(), 4, "{err}");
        let text = err.to_string();
        for (entry, what) in [
            ("subset.toml", "symbolic link that cannot be followed"),
            ("folder.toml", "a directory, not a regular file"),
            ("pipe.toml", "a FIFO (named pipe), not a regular file"),
            ("UPPER.TOML", "lower-case .toml"),
        ] {
            let line = text.lines().find(|l| l.contains(entry)).unwrap_or_else(|| panic!("{entry}: {text}"));
            assert!(line.contains(what) && line.contains("move it out"), "{line}");
        }
        // A link to a rules file is read like the file.
        for name in ["subset.toml", "folder.toml", "pipe.toml", "UPPER.TOML"] {
            let p = d.join(name);
            let removed = if p.is_dir() { std::fs::remove_dir(&p) } else { std::fs::remove_file(&p) };
            removed.unwrap();
        }
        std::os::unix::fs::symlink(d.join("a.toml"), d.join("b.toml")).unwrap();
        assert_eq!(rule_files(d).unwrap(), vec![d.join("a.toml"), d.join("b.toml")]);
    }

    #[test]
    fn rules_path_that_is_a_fifo_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        let fifo = std::ffi::CString::new(path.clone().into_os_string().into_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = rule_files(&path).unwrap_err().to_string();
        assert!(err.contains("a FIFO (named pipe), not a rules file"), "{err}");
    }

    #[test]
    fn parses_keep_lists_and_column_rules_with_lines() {
        let (tables, problems) = parse(
            "version = 1\n[tables.\"public.t\"]\nkeep = [\"id\"]\n[tables.\"public.t\".columns]\nname = { action = \"fake\", generator = \"first_name\" }\n",
        );
        assert_eq!(problems, vec![]);
        let t = &tables["public.t"];
        assert_eq!(t.columns.len(), 2);
        assert_eq!((t.columns[0].name.as_str(), t.columns[0].line), ("id", 3));
        assert_eq!((t.columns[1].name.as_str(), t.columns[1].line), ("name", 5));
        assert!(matches!(t.columns[1].rule, Some(ColumnRule::Fake(_))));
    }

    #[test]
    fn reports_every_bad_column_at_once_with_line_and_choices() {
        let (_, problems) = parse(
            "version = 1\n[tables.\"public.t\".columns]\na = { action = \"fakee\" }\nb = { action = \"mask\", keep_frist = 1 }\nc = { generator = \"x\" }\n",
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0].line, Some(3));
        assert!(problems[0].message.contains("fakee") && problems[0].message.contains("template"));
        assert!(problems[1].message.contains("keep_frist") && problems[1].message.contains("keep_first"));
        assert!(problems[2].message.contains("no `action`"));
    }

    #[test]
    fn malformed_toml_and_wrong_version_are_reported_with_lines() {
        let (_, problems) = parse("version = 1\n[tables.\"public.t\"\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(2));
        let (_, problems) = parse("version = 7\n");
        assert!(problems[0].message.contains("unsupported rules version 7"));
    }

    #[test]
    fn duplicate_column_and_skip_with_columns_are_errors() {
        let (_, problems) = parse(
            "version = 1\n[tables.\"public.t\"]\nkeep = [\"a\"]\ncolumns = { a = { action = \"null\" } }\n[tables.\"public.u\"]\naction = \"skip\"\nkeep = [\"x\"]\n",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.message.contains("two rules")));
        assert!(problems.iter().any(|p| p.message.contains("skipped table")));
    }
}
