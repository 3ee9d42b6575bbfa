//! `doppel generate`: a synthetic dataset shaped like a profile (a saved one, or read from
//! the source on the spot), through the Parquet or PostgreSQL sink.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::generate::model::{Dataset, Options};
use crate::generate::profile::Profile;
use crate::generate::rows::{Shard, write_table};
use crate::generate::stats::read_profile;
use crate::plan;
use crate::rules::load_rules;
use crate::secret::Key;
use crate::sink::postgres::dump;
use crate::sink::postgres::replace::TargetOptions;
use crate::sink::staging::FileTarget;
use crate::sink::{self, SinkOptions, TargetSchema};
use crate::source::postgres::PostgresSource;
use crate::source::{Location, Source};

use super::GenerateArgs;
use super::opened::OpenedSource;

pub fn generate(args: GenerateArgs, cancel: &AtomicBool) -> Result<()> {
    let rules = load_rules(&args.rules)?;
    let key = Key::from_environment(args.key_file.as_deref())?;
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let rows: BTreeMap<String, u64> = args.rows.iter().cloned().collect();
    let to = Location::parse(&args.to);

    // The profile: a file, or the source's statistics now (the source stays open, and its
    // snapshot valid, until the target has its schema).
    let mut live: Option<OpenedSource> = None;
    let profile = match (&args.profile, &args.from) {
        (Some(path), None) => {
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
            Profile::from_toml(&text, &path.display().to_string()).map_err(|m| Error::source(path.display(), m))?
        }
        (None, Some(from)) => match Location::parse(from) {
            Location::Postgres(url) => {
                let source = PostgresSource::open(&url)?;
                let plan = plan::bind(&rules, source.tables())?;
                let profile = read_profile(&source, &url, &plan)?;
                live = Some(OpenedSource::postgres(source, &url));
                profile
            }
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
    let plan = plan::bind(&rules, &profile.source_tables())?;
    let options = Options { scale: args.scale, rows, seed: args.seed };
    let dataset = Dataset::build(&profile, &plan, &key, &options)?;

    let metadata = vec![
        ("doppel.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("doppel.rules_blake3".to_string(), plan.rules_fingerprint.clone()),
        (
            "doppel.generated".to_string(),
            format!("seed {}, scale {}, shard {}/{}", args.seed, args.scale, shard.index, shard.count),
        ),
    ];
    let mut inputs = vec![args.rules.clone()];
    inputs.extend(args.profile.clone());
    inputs.extend(args.key_file.clone());
    let schema = match (&to, live.as_ref().and_then(OpenedSource::snapshot)) {
        (Location::Postgres(_), _) if shard != Shard::WHOLE => {
            return Err(Error::Usage(
                "--shard writes a part of the dataset, which a new database cannot take; write shards to Parquet"
                    .into(),
            ));
        }
        (Location::Dump(_), _) if shard != Shard::WHOLE => {
            return Err(Error::Usage(
                "--shard writes a part of the dataset, which a SQL dump cannot restore alone; write shards to \
                 Parquet"
                    .into(),
            ));
        }
        (_, Some(schema)) => schema,
        (Location::Dump(_), None) => {
            return Err(Error::Usage(format!(
                "{}: a SQL dump target takes its schema and sequences from the source: generate with --from \
                 postgres://… instead of --profile, or into a new PostgreSQL database or Parquet",
                to.display()
            )));
        }
        (_, None) => TargetSchema::Ddl { pre_data: &profile.schema.pre_data, post_data: &profile.schema.post_data },
    };
    let sink_options = SinkOptions {
        files: FileTarget { replace: args.replace, force: args.force, inputs },
        database: TargetOptions { replace: args.replace, ..TargetOptions::default() },
        metadata,
        file_rows: Some(args.file_rows),
        restrict_key: dump::restrict_key(&key, &plan.rules_fingerprint),
        rules_fingerprint: plan.rules_fingerprint.clone(),
    };
    let mut sink = sink::open(&to, schema, &sink_options)?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = args.threads.map(usize::from).unwrap_or(cores);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;
    let started = Instant::now();
    let mut total = 0u64;
    for (t, table) in dataset.tables.iter().enumerate() {
        let range = shard.range(table.rows);
        let mut table_sink = sink.open_table_rows(&table.name, table.schema.clone(), table.rows, range.start)?;
        total += write_table(&dataset, t, range, &pool, table_sink.as_mut(), cancel)?;
        table_sink.finish()?;
    }
    sink.commit()?;
    drop(live);
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "done: {total} rows generated in {seconds:.2}s ({:.0} rows/s) in {} tables → {}",
        total as f64 / seconds.max(1e-9),
        dataset.tables.len(),
        to.display()
    );
    Ok(())
}
