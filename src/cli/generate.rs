//! `doppel generate`: a synthetic dataset shaped like a profile (a saved one, or read from
//! the source on the spot), through the Parquet or PostgreSQL sink.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::audit::{Identity, RunContext};
use crate::error::{Error, Result};
use crate::generate::model::{Dataset, Options};
use crate::generate::profile::Profile;
use crate::generate::report::{Observer, generated_tables};
use crate::generate::rows::write_dataset;
use crate::generate::stats::read_profile;
use crate::pg::roles::RoleMap;
use crate::pipeline::RunReport;
use crate::rules::{RuleSet, load_rules};
use crate::scan;
use crate::sink::postgres::dump;
use crate::sink::staging::StagedFile;
use crate::sink::{self, SinkOptions, TargetSchema};
use crate::source::Source;
use crate::source::postgres::PostgresSource;

use super::GenerateArgs;
use super::config::{GenerateConfig, Shape, resolve_generate};
use super::opened::OpenedSource;
use super::output::{is_stdout, print_json, stdout_taken};
use super::run::{ReportOut, write_report};

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.generate/1";

pub fn generate(args: GenerateArgs, cancel: &AtomicBool) -> Result<()> {
    let json = args.json;
    if json && matches!(crate::source::Location::parse(&args.to), crate::source::Location::Dump(p) if is_stdout(&p)) {
        return Err(stdout_taken("--json", "the SQL dump (--to -)", "write the dump to a file (--to FILE.sql)"));
    }
    let rules = load_rules(&args.rules)?;
    let key = args.key.load()?;
    let config = resolve_generate(args)?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // The source, if any, stays open (and its snapshot valid) until the target has its schema.
    let (profile, live) = load_profile(&config.shape, &rules)?;
    let plan = scan::bind(&rules, &profile.source_tables())?;
    let options = Options { scale: config.scale, rows: config.rows.clone(), seed: config.seed };
    let dataset = Dataset::build(&profile, &plan, &key, &options)?;

    let schema = live
        .as_ref()
        .and_then(OpenedSource::snapshot)
        .unwrap_or(TargetSchema::Ddl { pre_data: &profile.schema.pre_data, post_data: &profile.schema.post_data });
    let sink_options = SinkOptions {
        files: config.existing.files(config.inputs()),
        // `--replace --force` also replaces a database doppel did not write, as `--help` says.
        database: config.existing.database(RoleMap::default(), config.threads.min(4)),
        metadata: vec![
            ("doppel.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("doppel.rules_blake3".to_string(), plan.rules_fingerprint.clone()),
            (
                "doppel.generated".to_string(),
                format!(
                    "seed {}, scale {}, shard {}/{}",
                    config.seed, config.scale, config.shard.index, config.shard.count
                ),
            ),
        ],
        archive: false,
        file_rows: Some(config.file_rows),
        restrict_key: dump::restrict_key(&key, &plan.rules_fingerprint),
        rules_fingerprint: plan.rules_fingerprint.clone(),
    };
    // Opened before anything is written: an unwritable place stops the generation first.
    let report_file = ReportOut::open(config.report.as_deref(), &config.inputs())?;
    let page_file = config.report_html.as_deref().map(|p| StagedFile::open(p, &config.inputs())).transpose()?;
    let mut observers = match report_file.is_some() || page_file.is_some() {
        true => Some(table_observers(&dataset, &plan, config.report_min_count)?),
        false => None,
    };
    let sink = sink::open(&config.to, schema, &sink_options)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", config.threads)))?;
    let started = Instant::now();
    let total = write_dataset(&dataset, config.shard, sink, &pool, cancel, observers.as_deref_mut())?;
    drop(live);
    let seconds = report(&config, &dataset, total, started);
    if let Some(observers) = observers {
        let run = RunReport {
            doppel_version: env!("CARGO_PKG_VERSION"),
            rules_blake3: plan.rules_fingerprint.clone(),
            key_fingerprint: key.fingerprint(),
            tables: generated_tables(&dataset, &profile, config.shard, observers)?,
            total_rows: total,
            seconds,
        };
        let context = RunContext {
            rules_path: &config.rules,
            rules: &rules,
            key_fingerprint: key.fingerprint(),
            started_at,
            source: shape_identity(&config.shape)?,
            target: super::run::target_identity(&config.to)?,
            verify: None,
            subset: None,
        };
        write_report(report_file, page_file, &plan, &run, context, "the generation's report")?;
    }
    if json {
        print_json(&serde_json::json!({
            "schema": SCHEMA,
            "target": config.to.display(),
            "tables": dataset.tables.len(),
            "rows": total,
            "seconds": seconds,
            "seed": config.seed,
            "scale": config.scale,
            "shard": {"index": config.shard.index, "count": config.shard.count},
        }))?;
    }
    Ok(())
}

/// The profile: a file, or the source's statistics now (then with the source, open).
fn load_profile(shape: &Shape, rules: &RuleSet) -> Result<(Profile, Option<OpenedSource>)> {
    match shape {
        Shape::Profile(path) => {
            // A FIFO or a device would block the read or never end: regular files only.
            let meta = std::fs::metadata(path)
                .map_err(|e| Error::source(path.display(), format!("cannot read the profile: {e}")))?;
            if !meta.is_file() {
                return Err(Error::source(
                    path.display(),
                    "is not a regular file: give the profile file written by `doppel profile --out FILE`",
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::source(path.display(), format!("cannot read the profile: {e}")))?;
            let profile =
                Profile::from_toml(&text, &path.display().to_string()).map_err(|m| Error::source(path.display(), m))?;
            Ok((profile, None))
        }
        Shape::Live(url) => {
            let source = PostgresSource::open(url)?;
            let plan = scan::bind(rules, source.tables())?;
            let profile = read_profile(&source, url, &plan)?;
            Ok((profile, Some(OpenedSource::postgres(source, url))))
        }
    }
}

/// One observer per generated table, in the dataset's order.
fn table_observers(dataset: &Dataset, plan: &crate::plan::Plan, min_count: u64) -> Result<Vec<Observer>> {
    let options = crate::utility::Options { min_count };
    dataset
        .tables
        .iter()
        .map(|t| {
            let table = plan.tables.iter().find(|p| p.name == t.name).ok_or_else(|| {
                Error::Usage(format!("{}: generated, but not in the plan; the report cannot describe it", t.name))
            })?;
            Observer::new(table, options)
        })
        .collect()
}

/// Where the shape came from: the profile file, or the database read now.
fn shape_identity(shape: &Shape) -> Result<Identity> {
    Ok(match shape {
        Shape::Profile(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Identity::Profile { path: path.display().to_string(), file: crate::audit::identity::hash_file(path, name)? }
        }
        Shape::Live(url) => Identity::database(url)?,
    })
}

/// Says what was generated on stderr; returns the seconds it took.
fn report(config: &GenerateConfig, dataset: &Dataset, total: u64, started: Instant) -> f64 {
    let seconds = started.elapsed().as_secs_f64();
    crate::progress::say(format_args!(
        "done: {total} rows generated in {seconds:.2}s ({:.0} rows/s) in {} tables → {}",
        total as f64 / seconds.max(1e-9),
        dataset.tables.len(),
        config.to.display()
    ));
    seconds
}
