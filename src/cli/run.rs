//! `doppel run`: load rules and key, resolve the flags ([`super::config`]), open the source
//! and bind the plan, open the sink, stream source → transform → sink, write the report.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use arrow_schema::SchemaRef;

use crate::audit::{self, AuditReport, Identity, RunContext, identity};
use crate::error::{Error, Result};
use crate::pipeline::{self, RunReport};
use crate::plan::Plan;
use crate::progress;
use crate::rules::{RuleSet, TableAction, load_rules};
use crate::scan;
use crate::schema::SourceTable;
use crate::secret::Key;
use crate::sink::postgres::dump;
use crate::sink::staging::StagedFile;
use crate::sink::{self, Sink, SinkOptions, TargetSchema};
use crate::source::postgres::PostgresSource;
use crate::source::{self, Location, Source};
use crate::subset::{self, SubsetReport};
use crate::transform::Transformer;
use crate::verify::{self, DEFAULT_MAX_SAME_RATE, VerifyOptions};

use serde_json::json;

use super::RunArgs;
use super::config::{RunConfig, resolve_run};
use super::opened::OpenedSource;
use super::output::{is_stdout, print_json, write_stdout};

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.run/1";

/// Where `--report` goes: a file staged before anything is published, or stdout (`-`).
pub(super) enum ReportOut {
    File(StagedFile),
    Stdout,
}

impl ReportOut {
    /// `--report`'s file, staged, or stdout.
    pub(super) fn open(path: Option<&std::path::Path>, inputs: &[std::path::PathBuf]) -> Result<Option<ReportOut>> {
        Ok(match path {
            None => None,
            Some(path) if is_stdout(path) => Some(ReportOut::Stdout),
            Some(path) => Some(ReportOut::File(StagedFile::open(path, inputs)?)),
        })
    }
}

pub fn run(args: RunArgs, cancel: &AtomicBool) -> Result<()> {
    let rules = load_rules(&args.rules)?;
    let key = args.key.load()?;
    let config = resolve_run(args, rules.subset.is_some())?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (opened, plan, subset_report) = open_source(&config, &rules, &key)?;
    let sink = open_sink(&config, &opened, &plan, &key)?;
    if config.verify && sink.staged_location().is_none() {
        return Err(Error::Usage(format!(
            "{}: this target cannot be read before it is published (an existing database is loaded in one \
             transaction); run without --verify and run doppel verify on it afterwards, or load into a new database",
            config.to.display()
        )));
    }
    // Opened before anything is published: an unwritable report stops the run first.
    let report_file = ReportOut::open(config.report.as_deref(), &config.inputs())?;
    let page_file = config.report_html.as_deref().map(|path| StagedFile::open(path, &config.inputs())).transpose()?;
    let transformer = Transformer::new(&plan, &key);
    // The verification's outcome, for the audit report.
    let verified: Mutex<Option<verify::Report>> = Mutex::new(None);
    let verify_staged = |staged: &Location| verify_staged(&config, &plan, &opened, staged, &verified, cancel);
    let before_publish: Option<pipeline::BeforePublish> = if config.verify { Some(&verify_staged) } else { None };
    let report = pipeline::run_checked(
        &plan,
        &transformer,
        opened.source(),
        sink,
        &config.options,
        cancel,
        key.fingerprint(),
        before_publish,
    )?;
    // For people (hidden by --quiet); scripts read --json or --report.
    progress::say(format_args!(
        "done: {} rows in {:.2}s ({:.0} rows/s) → {}\n{}",
        report.total_rows,
        report.seconds,
        report.total_rows as f64 / report.seconds.max(1e-9),
        config.to.display(),
        audit::summary(&plan, &report, &config.rules, &key.fingerprint())
    ));
    if report_file.is_some() || page_file.is_some() {
        let context = RunContext {
            rules_path: &config.rules,
            rules: &rules,
            key_fingerprint: key.fingerprint(),
            started_at,
            source: opened.identity(&config.from),
            target: target_identity(&config.to)?,
            verify: verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(),
            subset: subset_report,
        };
        write_report(report_file, page_file, &plan, &report, context, "the run's report")?;
    }
    if config.json {
        print_json(&summary_json(&config, &report))?;
    }
    Ok(())
}

/// `run --json` (schema [`SCHEMA`], fields in docs/machine-output.md).
fn summary_json(config: &RunConfig, report: &RunReport) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = report
        .tables
        .iter()
        .map(|t| json!({"name": t.table, "action": t.action, "rows": t.rows, "bytes_written": t.bytes_written, "seconds": t.seconds}))
        .collect();
    json!({
        "schema": SCHEMA,
        "ok": true,
        "source": config.from.display(),
        "target": config.to.display(),
        "rows": report.total_rows,
        "seconds": report.seconds,
        "tables": tables,
        "verified": config.verify,
        "report": config.report.as_ref().map(|p| p.display().to_string()),
        "report_html": config.report_html.as_ref().map(|p| p.display().to_string()),
        "rules_blake3": report.rules_blake3,
        "key_fingerprint": report.key_fingerprint,
    })
}

/// Opens the source and binds the plan to it. A PostgreSQL source is bound before it is
/// boxed: its subset (the rules' `[subset]`) needs the plan, and is read in its snapshot.
fn open_source(config: &RunConfig, rules: &RuleSet, key: &Key) -> Result<(OpenedSource, Plan, Option<SubsetReport>)> {
    match &config.from {
        Location::Postgres(url) => {
            let mut source = PostgresSource::open(url)?;
            let plan = scan::bind(rules, source.tables())?;
            super::constants::check_constants(&plan, &source)?;
            let subset = rules
                .subset
                .as_ref()
                .map(|spec| {
                    subset::apply(
                        spec,
                        &mut source,
                        &plan,
                        key,
                        config.report.is_some() || config.report_html.is_some(),
                    )
                })
                .transpose()?;
            Ok((OpenedSource::postgres(source, url), plan, subset))
        }
        // Input files are hashed for the report before they are read.
        from => {
            let opened = OpenedSource::open(from, config.report.is_some())?;
            let tables = with_target_keys(opened.source().tables(), &config.to);
            let plan = scan::bind(rules, &tables)?;
            super::constants::check_constants(&plan, opened.source())?;
            Ok((opened, plan, None))
        }
    }
}

/// A source without keys (Parquet) loaded into existing PostgreSQL tables: the tables with
/// the target's unique keys, so the plan refuses rules that would break them (and keeps
/// `citext` ones case-insensitive) before anything is loaded. When the target cannot be read
/// here, the tables as they are: opening the target reports why.
fn with_target_keys(tables: &[SourceTable], to: &Location) -> Vec<SourceTable> {
    let mut tables = tables.to_vec();
    let Location::Postgres(url) = to else { return tables };
    if tables.iter().any(|t| !t.unique_keys.is_empty()) {
        return tables;
    }
    match crate::sink::postgres::existing::unique_keys(url) {
        Ok(mut keys) => {
            for t in &mut tables {
                t.unique_keys = keys.remove(&t.name).unwrap_or_default();
            }
        }
        Err(e) => tracing::debug!(error = %e, "the target's unique keys could not be read before the plan"),
    }
    tables
}

/// Opens the target: a PostgreSQL source's snapshot gives a database or dump target its
/// schema; without one, a database target's existing, empty tables are loaded.
fn open_sink(config: &RunConfig, opened: &OpenedSource, plan: &Plan, key: &Key) -> Result<Box<dyn Sink>> {
    let existing: Vec<(String, SchemaRef)> = plan
        .tables
        .iter()
        .filter(|t| t.action == TableAction::Copy)
        .map(|t| (t.name.clone(), t.schema.clone()))
        .collect();
    let schema = opened.snapshot().unwrap_or(TargetSchema::Existing(&existing));
    let options = SinkOptions {
        files: config.existing.files(config.inputs()),
        database: config.existing.database(config.role_map.clone(), config.options.jobs),
        metadata: vec![
            ("doppel.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("doppel.rules_blake3".to_string(), plan.rules_fingerprint.clone()),
        ],
        file_rows: None,
        archive: config.archive,
        restrict_key: dump::restrict_key(key, &plan.rules_fingerprint),
        rules_fingerprint: plan.rules_fingerprint.clone(),
    };
    sink::open(&config.to, schema, &options)
}

/// `--verify`: checks the staged output against the source; any finding stops the run before
/// anything is published. The outcome is kept in `verified` for the report.
fn verify_staged(
    config: &RunConfig,
    plan: &Plan,
    opened: &OpenedSource,
    staged: &Location,
    verified: &Mutex<Option<verify::Report>>,
    cancel: &AtomicBool,
) -> Result<()> {
    let output = source::open(staged)?;
    // The source object reads the subset's rows too: pairing by position holds.
    let options = VerifyOptions {
        cancel,
        max_same_rate: DEFAULT_MAX_SAME_RATE,
        batch_rows: config.options.batch_rows,
        pair_by_position: true,
    };
    let report = verify::verify(plan, opened.source(), output.as_ref(), &options)?;
    super::verify::say_report(&report);
    let findings = report.findings.len();
    *verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(report);
    match findings {
        0 => Ok(()),
        count => Err(Error::Findings { location: format!("{} (not published)", config.to.display()), count }),
    }
}

/// Publishes the audit report and its page, after the target. The page is drawn from the
/// report's JSON, as `doppel report` draws it.
pub(super) fn write_report(
    out: Option<ReportOut>,
    page_file: Option<StagedFile>,
    plan: &Plan,
    report: &RunReport,
    context: RunContext<'_>,
    what: &str,
) -> Result<()> {
    let audit = AuditReport::new(plan, report, context)?;
    let json = serde_json::to_string_pretty(&audit).map_err(|e| Error::target("the report", e))? + "\n";
    match out {
        Some(ReportOut::File(file)) => file.publish(json.as_bytes())?,
        Some(ReportOut::Stdout) => write_stdout(json.as_bytes(), "the report")?,
        None => {}
    }
    if let Some(page_file) = page_file {
        page_file.publish(super::report::page(&json, what)?.as_bytes())?;
    }
    Ok(())
}

/// What the run published, for the report: the database, or the files with their hashes.
pub(super) fn target_identity(to: &Location) -> Result<Identity> {
    Ok(match to {
        Location::Postgres(url) => Identity::database(url)?,
        Location::Parquet(dir) => Identity::Parquet { path: to.display(), files: identity::parquet_files(dir)? },
        Location::Store(url) => Identity::Parquet { path: to.display(), files: identity::store_files(url)? },
        Location::Dump(path) if path.as_os_str() == "-" => Identity::SqlDump { path: "-".into(), file: None },
        Location::Dump(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Identity::SqlDump { path: to.display(), file: Some(identity::hash_file(path, name)?) }
        }
    })
}
