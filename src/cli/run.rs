//! `doppel run`: load rules and key, bind the plan, stream source → transform → sink.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use arrow_schema::SchemaRef;

use crate::audit::{self, AuditReport, Identity, RunContext, identity};
use crate::error::{Error, Result};
use crate::pipeline::{self, RunOptions};
use crate::plan;
use crate::rules::{TableAction, load_rules};
use crate::secret::Key;
use crate::sink::postgres::dump;
use crate::sink::postgres::replace::TargetOptions;
use crate::sink::postgres::roles::RoleMap;
use crate::sink::staging::{FileTarget, StagedFile};
use crate::sink::{self, SinkOptions, TargetSchema};
use crate::source::postgres::PostgresSource;
use crate::source::{self, Location, Source};
use crate::subset;
use crate::transform::Transformer;
use crate::verify::{self, DEFAULT_MAX_SAME_RATE, VerifyOptions};

use super::RunArgs;
use super::opened::OpenedSource;

pub fn run(args: RunArgs, cancel: &AtomicBool) -> Result<()> {
    let rules = load_rules(&args.rules)?;
    let key = Key::from_environment(args.key_file.as_deref())?;
    let from = Location::parse(&args.from);
    let to = Location::parse(&args.to);
    check_verify_target(args.verify, &from, &to)?;
    // A PostgreSQL target restores the source's schema under the source's own snapshot.
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut pg_source = match &from {
        Location::Postgres(url) => Some(PostgresSource::open(url)?),
        _ => None,
    };
    // Bound here for a PostgreSQL source, whose subset needs the plan before it is boxed.
    let pg_plan = pg_source.as_ref().map(|s| plan::bind(&rules, s.tables())).transpose()?;
    let subset_report = match (&rules.subset, &mut pg_source, &pg_plan) {
        (None, _, _) => None,
        (Some(_), None, _) | (Some(_), _, None) => {
            return Err(Error::Usage(format!(
                "{}: the rules have a [subset] section, which follows foreign keys: it needs a PostgreSQL source",
                from.display()
            )));
        }
        (Some(spec), Some(s), Some(plan)) => Some(subset::apply(spec, s, plan, &key)?),
    };
    let opened = match pg_source {
        Some(s) => OpenedSource::postgres(s, &args.from),
        // Input files are hashed for the report before they are read.
        None => OpenedSource::open(&from, args.report.is_some())?,
    };
    let plan = match pg_plan {
        Some(plan) => plan,
        None => plan::bind(&rules, opened.source().tables())?,
    };
    let metadata = vec![
        ("doppel.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("doppel.rules_blake3".to_string(), plan.rules_fingerprint.clone()),
    ];
    let role_map = RoleMap::parse(&args.role_map)?;
    if !role_map.is_empty() && matches!(to, Location::Parquet(_)) {
        return Err(Error::Usage(format!("{}: --role-map applies to a PostgreSQL or SQL dump target", to.display())));
    }
    if args.terminate_connections && !matches!(to, Location::Postgres(_)) {
        return Err(Error::Usage(format!(
            "{}: --terminate-connections applies to a PostgreSQL target only",
            to.display()
        )));
    }
    let files = FileTarget {
        replace: args.replace,
        force: args.force,
        inputs: read_paths(&from, &args.rules, args.key_file.as_deref()),
    };
    // The tables loaded into an existing database (from a source without a schema to restore).
    let existing: Vec<(String, SchemaRef)> = plan
        .tables
        .iter()
        .filter(|t| t.action == TableAction::Copy)
        .map(|t| (t.name.clone(), t.schema.clone()))
        .collect();
    let schema = match (&to, opened.snapshot()) {
        (_, Some(schema)) => schema,
        // Without a schema to restore, the target's existing, empty tables are loaded.
        (Location::Postgres(_), None) if args.replace || !role_map.is_empty() => {
            return Err(Error::Usage(format!(
                "{}: --replace and --role-map rebuild a database from a PostgreSQL source's schema; from {} \
                 doppel loads the target's existing, empty tables in one transaction: empty them (TRUNCATE) or \
                 restore the schema into a new database, then run again without these flags",
                to.display(),
                from.display()
            )));
        }
        (Location::Dump(_), None) => {
            return Err(Error::Usage(format!(
                "{}: a SQL dump target needs a PostgreSQL source in this version of doppel",
                to.display()
            )));
        }
        (_, None) => TargetSchema::Existing(&existing),
    };
    let sink_options = SinkOptions {
        files,
        database: TargetOptions {
            replace: args.replace,
            force: args.force,
            terminate_connections: args.terminate_connections,
            swap_timeout: Duration::from_secs(args.swap_timeout),
            role_map,
        },
        metadata,
        file_rows: None,
        restrict_key: dump::restrict_key(&key, &plan.rules_fingerprint),
        rules_fingerprint: plan.rules_fingerprint.clone(),
    };
    let sink = sink::open(&to, schema, &sink_options)?;
    if args.verify && sink.staged_location().is_none() {
        return Err(Error::Usage(format!(
            "{}: this target cannot be read before it is published (an existing database is loaded in one \
             transaction); run without --verify and run doppel verify on it afterwards, or load into a new database",
            to.display()
        )));
    }
    // Opened before anything is published: an unwritable report stops the run first. Never in
    // or over a file target, which the publish replaces.
    if let (Some(report), Location::Parquet(target) | Location::Dump(target)) = (&args.report, &to)
        && target.as_os_str() != "-"
        && let Some(relation) = crate::sink::staging::overlap(report, target)
    {
        return Err(Error::Usage(format!(
            "--report {}: {relation} the target {}, which the run replaces when it publishes; write the report \
             beside the target instead",
            report.display(),
            target.display()
        )));
    }
    let report_file =
        args.report.as_deref().map(|path| StagedFile::open(path, &sink_options.files.inputs)).transpose()?;
    let transformer = Transformer::new(&plan, &key);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = args.threads.map(usize::from).unwrap_or(cores);
    let jobs = args.jobs.map(usize::from).unwrap_or(cores.min(4));
    let options = RunOptions { threads, jobs, batch_rows: args.batch_rows as usize, progress: !args.quiet };
    // The verification's outcome, for the audit report.
    let verified: std::sync::Mutex<Option<verify::Report>> = std::sync::Mutex::new(None);
    let verify_staged = |staged: &Location| -> Result<()> {
        let output = source::open(staged)?;
        // The source object reads the subset's rows too: pairing by position holds.
        let options = VerifyOptions {
            max_same_rate: DEFAULT_MAX_SAME_RATE,
            batch_rows: args.batch_rows as usize,
            pair_by_position: true,
        };
        let report = verify::verify(&plan, opened.source(), output.as_ref(), &options)?;
        eprintln!("{report}");
        let findings = report.findings.len();
        *verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(report);
        match findings {
            0 => Ok(()),
            count => Err(Error::Findings { location: format!("{} (not published)", to.display()), count }),
        }
    };
    let before_publish: Option<pipeline::BeforePublish> = if args.verify { Some(&verify_staged) } else { None };
    let report = pipeline::run_checked(
        &plan,
        &transformer,
        opened.source(),
        sink,
        &options,
        cancel,
        key.fingerprint(),
        before_publish,
    )?;
    eprintln!(
        "done: {} rows in {:.2}s ({:.0} rows/s) → {}\n{}",
        report.total_rows,
        report.seconds,
        report.total_rows as f64 / report.seconds.max(1e-9),
        to.display(),
        audit::summary(&plan, &report, &args.rules, &key.fingerprint())
    );
    if let Some(report_file) = report_file {
        let context = RunContext {
            rules_path: &args.rules,
            rules: &rules,
            key_fingerprint: key.fingerprint(),
            started_at,
            source: opened.identity(&from),
            target: target_identity(&to)?,
            verify: verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(),
            subset: subset_report,
        };
        let audit = AuditReport::new(&plan, &report, context)?;
        let json = serde_json::to_string_pretty(&audit).map_err(|e| Error::target("the report", e))?;
        report_file.publish((json + "\n").as_bytes())?;
    }
    Ok(())
}

/// `--verify` checks a staged output before publishing it: a Parquet directory, or a database
/// built from a PostgreSQL source (before its swap or its mark as complete).
fn check_verify_target(verify: bool, from: &Location, to: &Location) -> Result<()> {
    match to {
        _ if !verify => Ok(()),
        Location::Parquet(_) => Ok(()),
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

/// The files and folders a run reads, which no file target may touch: a Parquet source,
/// the rules, the key file.
pub(super) fn read_paths(
    from: &Location,
    rules: &std::path::Path,
    key_file: Option<&std::path::Path>,
) -> Vec<std::path::PathBuf> {
    let mut paths = vec![rules.to_path_buf()];
    if let Location::Parquet(dir) = from {
        paths.push(dir.clone());
    }
    paths.extend(key_file.map(std::path::Path::to_path_buf));
    paths
}

/// What the run published, for the report: the database, or the files with their hashes.
fn target_identity(to: &Location) -> Result<Identity> {
    Ok(match to {
        Location::Postgres(url) => {
            let params = crate::source::postgres::connect::ConnectParams::from_url(url)?;
            Identity::Postgres {
                location: params.location.clone(),
                database: params.dbname.clone(),
                server_version: None,
                snapshot: None,
                snapshot_taken_at: None,
            }
        }
        Location::Parquet(dir) => Identity::Parquet { path: to.display(), files: identity::parquet_files(dir)? },
        Location::Dump(path) if path.as_os_str() == "-" => Identity::SqlDump { path: "-".into(), file: None },
        Location::Dump(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Identity::SqlDump { path: to.display(), file: Some(identity::hash_file(path, name)?) }
        }
    })
}
