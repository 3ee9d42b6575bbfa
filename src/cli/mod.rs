//! Command-line interface: argument definitions and the subcommands. No logic beyond
//! resolving arguments and calling the library.

mod bounds;
mod branch;
mod check;
mod completions;
mod config;
mod constants;
mod generate;
mod opened;
mod preview;
mod profile;
mod protect;
mod report;
mod run;
mod scan;
mod verify;

mod output;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::{Args, Parser, Subcommand};

use crate::error::Result;

// The help's shared sections, one text each: the top-level help has them all, and every
// command's own --help the ones it needs, so that it stands alone.
macro_rules! locations {
    () => {
        "\
Locations (--from / --to):
  postgres:// or postgresql:// URL  a PostgreSQL database: a source read under one snapshot, or a
                                    new target database built from a PostgreSQL source or a dump
                                    (PG* environment variables fill the gaps); or a libpq
                                    key=value string ('host=db dbname=shop', 'service=prod',
                                    PGSERVICE too); with --replace
                                    an existing one is rebuilt beside it and swapped in.
                                    From Parquet: the target's existing, empty tables (schema
                                    made beforehand) are loaded in one transaction
  a path ending in .sql, or -       a SQL dump target (- is stdout) from a PostgreSQL source
                                    or a dump: a plain script for psql -v ON_ERROR_STOP=1 -f;
                                    from a dump, - is the dump's own script with only its
                                    table data anonymised (a filter); with --format custom
                                    any file is a pg_dump -Fc archive for pg_restore --jobs
  --from a file, pg_dump -Fd dir, - a pg_dump output as the source, without a database: plain
                                    SQL, custom, directory or tar format (told from its
                                    content); - is a plain dump on stdin
  any other path                    a directory of Parquet files, one <schema>.<table>.parquet
                                    file (or <schema>.<table>/ folder of parts) per table
                                    (file:///path is the same as /path)
  s3://, gs://, az://BUCKET/PREFIX  the same Parquet layout in object storage (S3 and
                                    S3-compatible servers, Google Cloud Storage, Azure Blob);
                                    credentials from the environment only (AWS_ACCESS_KEY_ID,
                                    AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL,
                                    AWS_ALLOW_HTTP; GOOGLE_*; AZURE_STORAGE_*), never in the
                                    URL. A target is staged under PREFIX/.doppel-partial-*
                                    and copied into place when the run succeeds
"
    };
}

macro_rules! key {
    () => {
        "\
The key (run, preview, generate): the DOPPEL_KEY environment variable or --key-file FILE (a
regular file, mode 600, at most 4096 bytes): at least 32 characters of UTF-8 text. Both are read
the same way: one trailing line ending (a newline, or CR LF) is ignored, nothing else is trimmed.
It is never printed.
"
    };
}

macro_rules! conventions {
    () => {
        "\
Output: what a program reads (--json, --report -, rules, profiles, a dump to -) goes to stdout;
messages for people go to stderr. - names stdout wherever a flag names a file to write.
Progress: a bar per table on a terminal, else a log line per table every 10 s
(DOPPEL_PROGRESS_INTERVAL_MS); --quiet leaves only errors on stderr.
"
    };
}

macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0 success   2 usage   3 rules, plan, key or a value the rules cannot transform
  4 source    5 target  6 verification finding   130 interrupted (Ctrl-C, SIGTERM)
"
    };
}

/// `--help` of the commands that read or write locations.
const LOCATIONS_HELP: &str = concat!(locations!(), "\n", conventions!(), "\n", exit_codes!());
/// `--help` of the commands that also need the key.
const KEYED_HELP: &str = concat!(locations!(), "\n", key!(), "\n", conventions!(), "\n", exit_codes!());
/// `--help` of the other commands.
const EXIT_HELP: &str = concat!(conventions!(), "\n", exit_codes!());

const AFTER_HELP: &str = concat!(
    locations!(),
    "\n",
    key!(),
    "
Numbers and durations in flags are bounded (the ranges are in each command's --help); a value
outside its range is a usage error (exit 2).

",
    conventions!(),
    "\n",
    exit_codes!(),
    "
Example:
  doppel check --rules rules/shop.toml --from fixtures/shop/data --explain
  doppel run --rules rules/shop.toml --from fixtures/shop/data --to out/shop --key-file my.key",
);

/// doppel: a production-shaped double of your data, without its personal data.
///
/// Reads a snapshot (a PostgreSQL database or Parquet files), applies per-column rules from TOML files (keep, null,
/// constant, mask, hash, fake, noise, template, redact, json), and writes the result
/// atomically. Every column needs a rule: anything unconfigured stops the run.
#[derive(Debug, Parser)]
#[command(name = "doppel", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log level (also DOPPEL_LOG; default info): messages of this level and above go to
    /// stderr.
    #[arg(long, global = true, value_enum, env = "DOPPEL_LOG")]
    pub log: Option<LogLevel>,
    /// Colours on stderr (and on the stdout of preview): auto (on a terminal, unless NO_COLOR is
    /// set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Only errors on stderr: no progress, summaries, notes, warnings or log lines, whatever
    /// --log says. What goes to stdout (--json, --report -, data) is unchanged.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// `--log`: how much doppel says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level's name in a tracing filter.
    pub fn filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// `run --format`: how a SQL dump target is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DumpFormat {
    Plain,
    Custom,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stderr: `auto` means a terminal and no NO_COLOR (any non-empty value,
    /// as no-color.org says).
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stderr())
            }
        }
    }
}

impl Cli {
    /// The log level in effect: error with `--quiet`, else `--log` (or DOPPEL_LOG) when
    /// given, else info.
    pub fn log_level(&self) -> LogLevel {
        match self.quiet {
            true => LogLevel::Error,
            false => self.log.unwrap_or(LogLevel::Info),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Anonymise SRC into DST with the rules (every row, or the referentially complete subset of the
    /// rules' `[subset]` section); nothing is published unless the whole run succeeds.
    #[command(after_help = KEYED_HELP)]
    Run(RunArgs),
    /// Check that the rules cover the source exactly (every table, every column), without a key.
    #[command(after_help = LOCATIONS_HELP)]
    Check(CheckArgs),
    /// Show the first rows of one table before and after the rules, side by side, for a reviewer
    /// who may read the source: real values, so only on a terminal (or with --force). Unique
    /// columns show their first-choice values, marked with *.
    #[command(after_help = KEYED_HELP)]
    Preview(PreviewArgs),
    /// Mark a PostgreSQL database (production, say) so that doppel never writes into, replaces
    /// or drops it, whatever the flags. The mark is the setting doppel.protected, read as
    /// PostgreSQL reads booleans (on, true, yes, 1, any case); it counts on the database, on a
    /// role in that database, or on the role doppel connects as, and an odd value counts as on.
    #[command(after_help = EXIT_HELP)]
    Protect(ProtectArgs),
    /// Check a finished output (database or Parquet directory) against its source: no row keeps
    /// its own personal value, no personal value or unkeyed hash of one appears anywhere. Prints
    /// counts, never values; exits 6 on any finding. No key needed.
    #[command(after_help = LOCATIONS_HELP)]
    Verify(VerifyArgs),
    /// Suggest a complete rules file for SRC from its names and a bounded sample of its values
    /// (never printed), with a reason per column; `# review` marks the guesses.
    #[command(after_help = LOCATIONS_HELP)]
    Scan(ScanArgs),
    /// Branch databases for CI: create one as a server-side copy of a database doppel wrote
    /// (CREATE DATABASE … TEMPLATE), drop it, list them, prune the old ones.
    #[command(after_help = EXIT_HELP)]
    Branch(branch::BranchArgs),
    /// Write the shape of a PostgreSQL source (row counts, per-column planner statistics,
    /// constraints, schema DDL) as a TOML profile for `generate`; personal columns carry no values.
    #[command(after_help = EXIT_HELP)]
    Profile(ProfileArgs),
    /// Generate a synthetic dataset shaped like a profile (or a PostgreSQL source's statistics):
    /// row counts times --scale, per-column distributions, keys and references that hold;
    /// personal columns from the rules' generators. Deterministic for a key and --seed.
    #[command(after_help = KEYED_HELP)]
    Generate(GenerateArgs),
    /// Turn a JSON report written by `run --report` into the assessment page: one self-contained
    /// HTML file (no network, works from file://) showing the run, every column's rule, the
    /// utility figures and, where present, verify's findings, the subset and the risk figures.
    #[command(after_help = EXIT_HELP)]
    Report(ReportArgs),
    /// Print a completion script for SHELL on stdout, generated from these definitions.
    /// bash: `doppel completions bash > ~/.local/share/bash-completion/completions/doppel`;
    /// zsh: into a directory of $fpath as `_doppel`; fish: `~/.config/fish/completions/doppel.fish`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, generated from these definitions:
    /// `doppel man | man -l -`, or `doppel man run > doppel-run.1` for one command's page.
    Man(ManArgs),
}

/// Where the key comes from: `--key-file`, else DOPPEL_KEY (the commands that need one).
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Read the key from this file (a regular file, mode 600; one trailing newline is ignored, as
    /// in DOPPEL_KEY) instead of DOPPEL_KEY.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

impl KeyArgs {
    /// Loads the key (see [`crate::secret::Key::from_environment`]).
    pub fn load(&self) -> Result<crate::secret::Key> {
        Ok(crate::secret::Key::from_environment(self.key_file.as_deref())?)
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command's own page (`run`, or `branch create`) instead of doppel(1).
    #[arg(value_name = "COMMAND", num_args = 0..)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Rules: a .toml file or a directory of them (personal columns take their fake generators).
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// A profile written by `doppel profile`.
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    pub profile: Option<PathBuf>,
    /// A PostgreSQL source (postgres://…; see "Locations" below) to profile now, instead of --profile.
    #[arg(long, value_name = "SRC")]
    pub from: Option<String>,
    /// Target: a Parquet directory (local, or s3://, gs://, az://BUCKET/PREFIX), a new PostgreSQL
    /// database, or a SQL dump file (with --from; see "Locations" below).
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Rows per source row, for every table (may be fractional), from 0 to 1000000; a table
    /// may have 1000000000000 rows at most.
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = bounds::number(bounds::SCALE))]
    pub scale: f64,
    /// Row counts of some tables instead of the scale: schema.table=N with N from 0 to
    /// 1000000000000, comma-separated or repeated.
    #[arg(long, value_name = "TABLE=N", value_delimiter = ',', value_parser = bounds::table_rows)]
    pub rows: Vec<(String, u64)>,
    /// Picks one of many datasets for one key: any whole number from 0 to 18446744073709551615.
    #[arg(long, value_name = "S", default_value_t = 0, value_parser = bounds::whole::<u64>(bounds::SEED))]
    pub seed: u64,
    /// Generate the K-th of N disjoint parts (contiguous row ranges of every table); the N
    /// parts together are the whole dataset, row for row. N from 1 to 1000000. Parquet targets only.
    #[arg(long, value_name = "K/N", value_parser = bounds::shard)]
    pub shard: Option<crate::generate::rows::Shard>,
    /// Parquet target: a table of more rows than this is written as a folder
    /// `<schema>.<table>/` of files `part-<first row>.parquet` of at most this many rows (the
    /// shards' folders of one table merge into one without clashes); from 1 to 1000000000000.
    #[arg(long, value_name = "ROWS", default_value_t = 10_000_000, value_parser = bounds::whole::<u64>(bounds::FILE_ROWS))]
    pub file_rows: u64,
    /// Replace an existing non-empty target (swapped in only when the run succeeds); it must be
    /// one doppel wrote (or --force).
    #[arg(long)]
    pub replace: bool,
    /// With --replace: also replace a target doppel did not write (never one of the run's inputs).
    #[arg(long, requires = "replace")]
    pub force: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Generating threads (default: all cores), from 1 to 1024. Output is identical for any value.
    #[arg(long, value_name = "N", value_parser = bounds::whole::<u16>(bounds::THREADS))]
    pub threads: Option<u16>,
    /// Print the final summary as JSON (schema doppel.generate/1, fields in
    /// docs/machine-output.md) on stdout (not with --to -, whose dump is on stdout).
    #[arg(long)]
    pub json: bool,
    /// Write a JSON report (per-table rows, rules hash, key fingerprint, the generated data's
    /// figures against the profile, and k-anonymity of tables with quasi_identifiers) to FILE
    /// when the generation succeeds; - is stdout (not with --to - or --json).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the assessment page to FILE when the generation succeeds: every table and column
    /// with its rule and the generated data's profile against the source's statistics.
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// With --report or --report-html: a kept column's value is named only when at least this
    /// many generated rows hold it, from 1 to 1000000000.
    #[arg(long, value_name = "N", default_value_t = crate::utility::DEFAULT_MIN_COUNT, value_parser = bounds::whole::<u64>(bounds::MIN_COUNT))]
    pub report_min_count: u64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The JSON report (`doppel run --report FILE`); - is stdin.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The HTML page to write (written whole, then renamed into place; an existing file is
    /// replaced); - is stdout.
    #[arg(long = "to", value_name = "FILE")]
    pub to_html: PathBuf,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Rules: a .toml file or a directory of them (they decide which columns are personal).
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// The PostgreSQL source (postgres://…), analysed (ANALYZE) beforehand.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Write the profile to FILE (which must not exist yet) instead of stdout (- is stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print a summary as JSON (schema doppel.profile/1, fields in docs/machine-output.md)
    /// on stdout; needs --out FILE, as the profile is on stdout otherwise.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Source location (see "Locations" below).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Rows read per table to judge the values by (0: names and types only), from 0 to 1000000.
    #[arg(long, value_name = "N", default_value_t = crate::scan::DEFAULT_SAMPLE_ROWS, value_parser = bounds::whole::<usize>(bounds::SAMPLE_ROWS))]
    pub sample_rows: usize,
    /// Write the rules to FILE (which must not exist yet) instead of stdout (- is stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print a summary of the scan as JSON (schema doppel.scan/1, fields in
    /// docs/machine-output.md) on stdout; needs --out FILE, as the rules are on stdout
    /// otherwise.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Rules the output was made with: a .toml file or a directory of them.
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// Source location the output was made from (see "Locations" below).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// The output to check: a PostgreSQL database or a Parquet directory, local or in object
    /// storage (see "Locations" below).
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Highest share of rows (a number from 0 to 1; 0.02 is 2%) that may keep their own value of
    /// a small value space (country, first name, date) by chance.
    #[arg(long, value_name = "RATE", default_value_t = crate::verify::DEFAULT_MAX_SAME_RATE, value_parser = bounds::number(bounds::SAME_RATE))]
    pub max_same_rate: f64,
    /// Rows per batch read from either side, from 1 to 1048576.
    #[arg(long, value_name = "N", default_value_t = 8192, value_parser = bounds::whole::<u32>(bounds::BATCH_ROWS))]
    pub batch_rows: u32,
    /// Also write the counts as JSON to FILE (- is stdout, without --json).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the outcome as JSON (schema doppel.verify/1, fields in docs/machine-output.md)
    /// on stdout; the human summary still goes to stderr.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// The database to protect.
    #[arg(value_name = "DB")]
    pub database: String,
    /// Any database on the same server, to connect through (default: the PG* environment
    /// variables, e.g. PGHOST, PGPORT, PGUSER). Needs the right to ALTER DATABASE DB.
    #[arg(long, value_name = "URL", default_value = "postgres://")]
    pub url: String,
    /// Lift the mark on the database instead (exit 5, naming each, while another mark, on a
    /// role, still protects it).
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Rules: a .toml file or a directory of them.
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// Source location (see "Locations" below).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Target location (see "Locations" below).
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// The SQL dump's format: plain (a psql script) or custom (pg_dump -Fc's archive, which
    /// pg_restore --jobs loads in parallel; then --to names any file, not -).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "plain")]
    pub format: DumpFormat,
    /// Replace an existing non-empty target (swapped in only when the run succeeds); it must be
    /// one doppel wrote (or --force). A PostgreSQL target is rebuilt in a new database beside it
    /// and renamed into place at the end, keeping the old one's owner, settings and grants.
    #[arg(long)]
    pub replace: bool,
    /// With --replace: also replace a database, Parquet folder or SQL dump that doppel did not
    /// write (never one of the run's inputs, never a protected database).
    #[arg(long, requires = "replace")]
    pub force: bool,
    /// With --replace: end the other sessions on the PostgreSQL target at the swap, instead of
    /// waiting for them to disconnect.
    #[arg(long, requires = "replace")]
    pub terminate_connections: bool,
    /// With --replace: how long the swap waits for other sessions to leave the PostgreSQL target
    /// before giving up (the old database then stays as it was): seconds as a bare number, or a
    /// duration such as 30s or 2m (units w, d, h, m, s), from 0 to 86400 seconds.
    #[arg(long, value_name = "DURATION", default_value = "30", requires = "replace", value_parser = bounds::swap_timeout)]
    pub swap_timeout: std::time::Duration,
    /// PostgreSQL or SQL dump target: restore owners and privileges of the source role FROM as
    /// the target role TO (repeat for more roles). Without it every object belongs to the
    /// role doppel connects as and no GRANT is restored; with it, statements naming roles
    /// that are not mapped are left out. Not with a dump filtered to stdout, which keeps the
    /// dump's own.
    #[arg(long, value_name = "FROM=TO")]
    pub role_map: Vec<String>,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Transform threads (default: all cores), from 1 to 1024. Output is identical for any value.
    #[arg(long, value_name = "N", value_parser = bounds::whole::<u16>(bounds::THREADS))]
    pub threads: Option<u16>,
    /// Tables processed at the same time, each with its own source and target connection, and
    /// the connections that build a new database's indexes and constraints (pg_restore --jobs)
    /// and run ANALYZE (default: the number of cores, at most 4), from 1 to 64. Output is
    /// identical for any value; a SQL dump target takes one table at a time.
    #[arg(long, value_name = "N", value_parser = bounds::whole::<u16>(bounds::JOBS))]
    pub jobs: Option<u16>,
    /// Rows per batch read from the source, from 1 to 1048576. Output is identical for any value.
    #[arg(long, value_name = "N", default_value_t = 8192, value_parser = bounds::whole::<u32>(bounds::BATCH_ROWS))]
    pub batch_rows: u32,
    /// Write a JSON report (per-table counts, rules hash, key fingerprint, utility figures, and
    /// k-anonymity of tables with quasi_identifiers) to FILE; - is stdout (not with --to - or
    /// --json, which use stdout already).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the assessment page (one self-contained HTML file: what was done to every column,
    /// how the data's distributions survived) to FILE, when the run succeeds.
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// With --report or --report-html: a kept column's value is named in the report only when
    /// at least this many rows hold it (transformed columns never show a value), from 1 to
    /// 1000000000.
    #[arg(long, value_name = "N", default_value_t = crate::utility::DEFAULT_MIN_COUNT, value_parser = bounds::whole::<u64>(bounds::MIN_COUNT))]
    pub report_min_count: u64,
    /// Print the final summary as JSON (schema doppel.run/1, fields in docs/machine-output.md)
    /// on stdout (not with --to -, whose dump is on stdout).
    #[arg(long)]
    pub json: bool,
    /// Check the finished output like `doppel verify` (default --max-same-rate) before publishing
    /// it; any finding stops the run with exit code 6 and nothing is published. Parquet targets
    /// and databases built from a PostgreSQL source.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Rules: a .toml file or a directory of them.
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// Source location (see "Locations" below).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// The table to preview, as the rules name it: schema.table.
    #[arg(long, value_name = "TABLE")]
    pub table: String,
    /// How many of the table's first rows (in the source's order) to show, from 1 to 1000;
    /// only these are read.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = bounds::whole::<usize>(bounds::PREVIEW_ROWS))]
    pub rows: usize,
    /// Also show the columns the rules keep (their value once); by default only the columns
    /// the rules change are shown.
    #[arg(long)]
    pub all_columns: bool,
    /// Write the real values even when stdout is not a terminal (a pipe or a file).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rules: a .toml file or a directory of them.
    #[arg(long, value_name = "PATH")]
    pub rules: PathBuf,
    /// Source location whose schema the rules must cover (see "Locations" below).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Print the bound plan, table by table and column by column, each rule in the rules file's
    /// words with the defaults it takes (`noise duration="180d"`, `hash format="hex" length=32`).
    #[arg(long)]
    pub explain: bool,
    /// Print the outcome as JSON (schema doppel.check/1, fields in docs/machine-output.md)
    /// on stdout: the summary, or the problems found in the rules.
    #[arg(long, conflicts_with = "explain")]
    pub json: bool,
    /// Record the source schema the rules now cover in the schema lock beside them
    /// (`<rules>.schema.lock`, or `schema.lock` in a rules directory), after they bind.
    /// Review and commit it with the rules: check and run stop when the source differs from it.
    #[arg(long)]
    pub lock: bool,
}

impl Cli {
    /// Whether the command watches `cancel` and stops cleanly on its own (removing what it
    /// staged); the others are ended by the signal at once, as without a handler.
    pub fn stops_on_cancel(&self) -> bool {
        matches!(self.command, Command::Run(_) | Command::Generate(_) | Command::Verify(_))
    }
}

/// Runs the parsed command. `cancel` is set when the user interrupts.
pub fn dispatch(cli: Cli, cancel: &AtomicBool) -> Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args, cancel),
        Command::Preview(args) => preview::preview(args, cli.color),
        Command::Check(args) => check::check(args),
        Command::Protect(args) => protect::protect(args),
        Command::Verify(args) => verify::verify(args, cancel),
        Command::Scan(args) => scan::scan(args),
        Command::Profile(args) => profile::profile(args),
        Command::Generate(args) => generate::generate(args, cancel),
        Command::Branch(args) => branch::branch(args),
        Command::Report(args) => report::report(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command's --help stands alone: what it points to ("Locations" below, the key,
    /// exit codes) is in its own text, not only in the top-level help.
    #[test]
    fn every_commands_help_holds_the_sections_it_refers_to() {
        fn walk(cmd: &mut clap::Command, path: String) {
            let help = cmd.render_long_help().to_string();
            if help.contains("\"Locations\" below") {
                assert!(help.contains("Locations (--from / --to):"), "{path}: refers to Locations without them");
            }
            if help.contains("DOPPEL_KEY") {
                assert!(help.contains("The key (run, preview, generate)"), "{path}: the key's rules are missing");
            }
            if path.split(' ').count() == 2
                && !["doppel completions", "doppel man", "doppel help"].contains(&path.as_str())
            {
                assert!(help.contains("Exit codes:"), "{path}: no exit codes");
            }
            for sub in cmd.get_subcommands_mut() {
                let name = format!("{path} {}", sub.get_name());
                walk(sub, name);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        walk(&mut cmd, "doppel".to_string());
    }
}
