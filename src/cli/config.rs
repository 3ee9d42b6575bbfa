//! Argument resolution: the parsed flags of `run` and `generate` → a validated configuration,
//! before anything is opened (ripgrep's low-level → high-level arguments).
//!
//! ```text
//! RunArgs      ──resolve_run──────▶ RunConfig      ──▶ run: open source, bind, open sink, pipeline
//! GenerateArgs ──resolve_generate─▶ GenerateConfig ──▶ generate: profile, dataset, open sink, write
//! ```
//!
//! Every check of a combination of flags lives here (opening a database or a file does not
//! look at flags): `--verify` against the target, `--report` inside a file target, `--replace`
//! / `--role-map` / `--terminate-connections` against the kind of target, a rules `[subset]`
//! from a source without foreign keys, `--shard` into a database or a dump. What only the
//! opened target can tell stays after opening it: `--verify` into an existing, empty database
//! (loaded in one transaction, so unreadable before it is published) is refused by `run` once
//! the sink says it has no staged location. Options that exclude each other are enums
//! ([`Existing`], [`Shape`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::generate::rows::Shard;
use crate::pg::roles::RoleMap;
use crate::pipeline::RunOptions;
use crate::sink::postgres::replace::TargetOptions;
use crate::sink::staging::{FileTarget, overlap};
use crate::source::Location;

use super::output::{is_stdout, stdout_taken};
use super::{GenerateArgs, RunArgs};

/// What a run may do to a target that already holds something.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    /// Refuse it (an empty target, or a new one, is written).
    Refuse,
    /// `--replace`: build beside it and swap it in on success; only one doppel wrote, unless
    /// `force`.
    Replace {
        /// `--force`.
        force: bool,
        /// `--terminate-connections`: end the other sessions on a database at the swap.
        terminate_connections: bool,
        /// `--swap-timeout`: how long the swap waits for other sessions to leave.
        swap_timeout: Duration,
    },
}

impl Existing {
    fn from_flags(replace: bool, force: bool, terminate_connections: bool, swap_timeout: Duration) -> Existing {
        match replace {
            false => Existing::Refuse,
            true => Existing::Replace { force, terminate_connections, swap_timeout },
        }
    }

    /// Whether an existing target is replaced (`--replace`).
    pub fn replaces(&self) -> bool {
        matches!(self, Existing::Replace { .. })
    }

    /// What a file target (Parquet, SQL dump) may do, never touching `inputs`.
    pub fn files(&self, inputs: Vec<PathBuf>) -> FileTarget {
        let force = matches!(self, Existing::Replace { force: true, .. });
        FileTarget { replace: self.replaces(), force, inputs }
    }

    /// What a database target may do, restoring owners and privileges by `role_map`, building
    /// post-data over `jobs` connections.
    pub fn database(&self, role_map: RoleMap, jobs: usize) -> TargetOptions {
        match self {
            Existing::Refuse => TargetOptions { role_map, jobs, ..TargetOptions::default() },
            Existing::Replace { force, terminate_connections, swap_timeout } => TargetOptions {
                replace: true,
                force: *force,
                terminate_connections: *terminate_connections,
                swap_timeout: *swap_timeout,
                role_map,
                jobs,
            },
        }
    }
}

/// `doppel run`, resolved.
#[derive(Debug)]
pub struct RunConfig {
    pub rules: PathBuf,
    pub key_file: Option<PathBuf>,
    pub from: Location,
    pub to: Location,
    pub existing: Existing,
    pub role_map: RoleMap,
    /// `--verify`: check the staged output before publishing it.
    pub verify: bool,
    /// `--report FILE`, never in or over a file target.
    pub report: Option<PathBuf>,
    /// `--report-html FILE`, never in or over a file target.
    pub report_html: Option<PathBuf>,
    /// `--json`: the final summary as JSON on stdout.
    pub json: bool,
    /// `--format custom`: the SQL dump target is a custom-format archive.
    pub archive: bool,
    pub options: RunOptions,
}

impl RunConfig {
    /// The files and folders the run reads, which no file target may touch: a Parquet source,
    /// the rules, the key file.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.rules.clone()];
        if let Location::Parquet(path) | Location::Dump(path) = &self.from
            && path.as_os_str() != "-"
        {
            paths.push(path.clone());
        }
        paths.extend(self.key_file.clone());
        paths
    }
}

/// Resolves `run`'s flags; `subset` says whether the rules have a `[subset]` section.
pub fn resolve_run(args: RunArgs, subset: bool) -> Result<RunConfig> {
    let from = Location::parse_source(&args.from);
    let to = match (args.format, Location::parse(&args.to)) {
        (super::DumpFormat::Plain, to) => to,
        (super::DumpFormat::Custom, Location::Postgres(_)) => {
            return Err(Error::Usage("--format custom writes a file: --to names a file, not a database".into()));
        }
        (super::DumpFormat::Custom, _) if is_stdout(Path::new(&args.to)) => {
            return Err(Error::Usage(
                "--format custom writes a file pg_restore can seek in: --to names a file, not - (stdout)".into(),
            ));
        }
        (super::DumpFormat::Custom, _) => Location::Dump(PathBuf::from(&args.to)),
    };
    let dump_to_stdout = matches!(&to, Location::Dump(p) if is_stdout(p));
    if args.json && dump_to_stdout {
        return Err(stdout_taken(
            "--json",
            "the SQL dump (--to -)",
            "write the dump to a file (--to FILE.sql), or read the run's figures from --report FILE",
        ));
    }
    check_reports(args.report.as_deref(), args.report_html.as_deref(), &to, args.json)?;
    check_verify_target(args.verify, &from, &to)?;
    let from_postgres = matches!(from, Location::Postgres(_));
    // A PostgreSQL source or a dump file gives a database or SQL dump target its schema.
    let has_schema = from_postgres || matches!(from, Location::Dump(_));
    if subset && matches!(from, Location::Dump(_)) {
        return Err(Error::Usage(format!(
            "{}: the rules have a [subset] section, which is not available from a dump file: restore the dump into \
             a database and read that, or run with rules without [subset]",
            from.display()
        )));
    }
    if subset && !from_postgres {
        return Err(Error::Usage(format!(
            "{}: the rules have a [subset] section, which follows foreign keys: it needs a PostgreSQL source",
            from.display()
        )));
    }
    let role_map = RoleMap::parse(&args.role_map)?;
    if let (Location::Store(input), Location::Store(target)) = (&from, &to)
        && let Some(relation) = target.overlap(input)
    {
        return Err(Error::Usage(format!(
            "{}: {relation} {}, which this run reads; doppel never writes over, into or around its own input: name \
             another prefix",
            to.display(),
            from.display()
        )));
    }
    if !role_map.is_empty() && matches!(to, Location::Parquet(_) | Location::Store(_)) {
        return Err(Error::Usage(format!("{}: --role-map applies to a PostgreSQL or SQL dump target", to.display())));
    }
    if args.terminate_connections && !matches!(to, Location::Postgres(_)) {
        return Err(Error::Usage(format!(
            "{}: --terminate-connections applies to a PostgreSQL target only",
            to.display()
        )));
    }
    match &to {
        // Without a schema to restore, the target's existing, empty tables are loaded.
        Location::Postgres(_) if !has_schema && (args.replace || !role_map.is_empty()) => {
            return Err(Error::Usage(format!(
                "{}: --replace and --role-map rebuild a database from a PostgreSQL source's schema; from {} \
                 doppel loads the target's existing, empty tables in one transaction: empty them (TRUNCATE) or \
                 restore the schema into a new database, then run again without these flags",
                to.display(),
                from.display()
            )));
        }
        Location::Dump(_) if !has_schema => {
            return Err(Error::Usage(format!(
                "{}: a SQL dump target needs a PostgreSQL source or a dump file",
                to.display()
            )));
        }
        _ => {}
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let options = RunOptions {
        threads: args.threads.map(usize::from).unwrap_or(cores),
        jobs: args.jobs.map(usize::from).unwrap_or(cores.min(4)),
        batch_rows: args.batch_rows as usize,
        collect_risk: args.report.is_some() || args.report_html.is_some(),
        utility: (args.report.is_some() || args.report_html.is_some())
            .then_some(crate::utility::Options { min_count: args.report_min_count }),
    };
    Ok(RunConfig {
        existing: Existing::from_flags(args.replace, args.force, args.terminate_connections, args.swap_timeout),
        rules: args.rules,
        key_file: args.key.key_file,
        from,
        to,
        role_map,
        verify: args.verify,
        report: args.report,
        report_html: args.report_html,
        json: args.json,
        archive: args.format == super::DumpFormat::Custom,
        options,
    })
}

/// `--verify` checks a staged output before publishing it: a Parquet directory, or a database
/// built from a PostgreSQL source (before its swap or its mark as complete).
fn check_verify_target(verify: bool, from: &Location, to: &Location) -> Result<()> {
    match to {
        _ if !verify => Ok(()),
        Location::Parquet(_) | Location::Store(_) => Ok(()),
        Location::Postgres(_) if matches!(from, Location::Postgres(_)) => Ok(()),
        Location::Dump(p) if p.as_os_str() == "-" => Err(Error::Usage(
            "--to -: --verify checks the output before it is published, and a stream to stdout is read as it is \
             written; write to a Parquet directory, or restore the dump and run doppel verify on it"
                .to_string(),
        )),
        _ => Err(Error::Usage(format!(
            "{}: --verify before publishing is available for Parquet targets and databases built from a PostgreSQL \
             source in this version; for a SQL dump or tables loaded from Parquet, run doppel verify on the output \
             after the run",
            to.display()
        ))),
    }
}

/// `--report` and `--report-html` (of `run` and `generate`): stdout for one thing at a time,
/// the page in a file of its own, neither in or over a file target.
fn check_reports(report: Option<&Path>, page: Option<&Path>, to: &Location, json: bool) -> Result<()> {
    let dump_to_stdout = matches!(to, Location::Dump(p) if is_stdout(p));
    if let Some(report) = report {
        if is_stdout(report) && dump_to_stdout {
            return Err(stdout_taken(
                "--report -",
                "the SQL dump (--to -)",
                "write the report to a file (--report FILE)",
            ));
        }
        if is_stdout(report) && json {
            return Err(stdout_taken(
                "--report -",
                "the --json summary",
                "write the report to a file (--report FILE), or leave out --json",
            ));
        }
        check_report_outside("--report", report, to)?;
    }
    if let Some(page) = page {
        if is_stdout(page) {
            return Err(Error::Usage(
                "--report-html -: the page is written to a file; name one (--report-html FILE), or write the JSON \
                 report (--report FILE) and turn it into a page with doppel report"
                    .to_string(),
            ));
        }
        if report == Some(page) {
            return Err(Error::Usage(format!(
                "--report-html {}: the same file as --report; give the page and the JSON report different names",
                page.display()
            )));
        }
        check_report_outside("--report-html", page, to)?;
    }
    Ok(())
}

/// The report is published after the target: never in or over a file target, which the
/// publish replaces.
fn check_report_outside(flag: &str, report: &Path, to: &Location) -> Result<()> {
    if !is_stdout(report)
        && let Location::Parquet(target) | Location::Dump(target) = to
        && target.as_os_str() != "-"
        && let Some(relation) = overlap(report, target)
    {
        return Err(Error::Usage(format!(
            "{flag} {}: {relation} the target {}, which the run replaces when it publishes; write the report \
             beside the target instead",
            report.display(),
            target.display()
        )));
    }
    Ok(())
}

/// Where `generate` learns the dataset's shape: `--profile` and `--from` exclude each other.
#[derive(Debug, Clone)]
pub enum Shape {
    /// `--profile FILE`: a profile written by `doppel profile`.
    Profile(PathBuf),
    /// `--from postgres://…`: the source's statistics, read now under its snapshot.
    Live(String),
}

/// `doppel generate`, resolved.
#[derive(Debug)]
pub struct GenerateConfig {
    pub rules: PathBuf,
    pub key_file: Option<PathBuf>,
    pub shape: Shape,
    pub to: Location,
    pub existing: Existing,
    pub shard: Shard,
    pub rows: std::collections::BTreeMap<String, u64>,
    pub scale: f64,
    pub seed: u64,
    pub file_rows: u64,
    pub threads: usize,
    /// `--report FILE` (or `-`), never in or over a file target.
    pub report: Option<PathBuf>,
    /// `--report-html FILE`, never in or over a file target.
    pub report_html: Option<PathBuf>,
    /// `--report-min-count`.
    pub report_min_count: u64,
}

impl GenerateConfig {
    /// What the run reads, which no file target may touch: the rules, the profile, the key file.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut inputs = vec![self.rules.clone()];
        if let Shape::Profile(path) = &self.shape {
            inputs.push(path.clone());
        }
        inputs.extend(self.key_file.clone());
        inputs
    }
}

/// Resolves `generate`'s flags.
pub fn resolve_generate(args: GenerateArgs) -> Result<GenerateConfig> {
    let to = Location::parse(&args.to);
    let shape = match (args.profile, args.from) {
        (Some(path), None) => Shape::Profile(path),
        (None, Some(from)) => match Location::parse(&from) {
            Location::Postgres(url) => Shape::Live(url),
            other => {
                return Err(Error::Usage(format!(
                    "{}: generate learns the shape from a PostgreSQL database's statistics; give --from postgres://… \
                     or --profile FILE",
                    other.display()
                )));
            }
        },
        _ => return Err(Error::Usage("give exactly one of --profile FILE and --from postgres://…".into())),
    };
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    match &to {
        Location::Postgres(_) if shard != Shard::WHOLE => {
            return Err(Error::Usage(
                "--shard writes a part of the dataset, which a new database cannot take; write shards to Parquet"
                    .into(),
            ));
        }
        Location::Dump(_) if shard != Shard::WHOLE => {
            return Err(Error::Usage(
                "--shard writes a part of the dataset, which a SQL dump cannot restore alone; write shards to \
                 Parquet"
                    .into(),
            ));
        }
        Location::Dump(_) if matches!(shape, Shape::Profile(_)) => {
            return Err(Error::Usage(format!(
                "{}: a SQL dump target takes its schema and sequences from the source: generate with --from \
                 postgres://… instead of --profile, or into a new PostgreSQL database or Parquet",
                to.display()
            )));
        }
        _ => {}
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    check_reports(args.report.as_deref(), args.report_html.as_deref(), &to, args.json)?;
    Ok(GenerateConfig {
        report: args.report,
        report_html: args.report_html,
        report_min_count: args.report_min_count,
        rules: args.rules,
        key_file: args.key.key_file,
        shape,
        to,
        existing: Existing::from_flags(args.replace, args.force, false, TargetOptions::default().swap_timeout),
        shard,
        rows: args.rows.into_iter().collect(),
        scale: args.scale,
        seed: args.seed,
        file_rows: args.file_rows,
        threads: args.threads.map(usize::from).unwrap_or(cores),
    })
}
