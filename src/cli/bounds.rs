//! The ranges of the numeric and duration flags, and their value parsers.
//!
//! Every flag that takes a number or a duration is parsed here, at argument parsing, into a
//! bounded range, so that no value can make doppel allocate without limit, start thousands
//! of threads or overflow a clock (`Instant::now() + timeout`). A value outside its range is
//! a usage error (exit 2) naming the flag and the range; the ranges are also in `--help`.
//! The test below walks every flag of every subcommand: a new flag that takes a value must be
//! either text (a path, a URL, a name) or listed here with its range.

use std::ops::RangeInclusive;

/// `--threads` of `run` and `generate`: transform or generating threads.
pub const THREADS: RangeInclusive<u64> = 1..=1024;
/// `run --jobs`: tables at the same time, each with its own connections.
pub const JOBS: RangeInclusive<u64> = 1..=64;
/// `--batch-rows` of `run` and `verify`: rows per batch held in memory.
pub const BATCH_ROWS: RangeInclusive<u64> = 1..=1_048_576;
/// `scan --sample-rows`: rows read per table.
pub const SAMPLE_ROWS: RangeInclusive<u64> = 0..=1_000_000;
/// `preview --rows`: rows shown (and read) of one table.
pub const PREVIEW_ROWS: RangeInclusive<u64> = 1..=1_000;
/// `run --swap-timeout`, in seconds (one day at most; also written as a duration, `30s`).
pub const SWAP_TIMEOUT_SECONDS: RangeInclusive<u64> = 0..=86_400;
/// Rows of one generated table (`generate --rows`, `--file-rows`, and `--scale` times the
/// source's rows).
pub const GENERATED_ROWS: RangeInclusive<u64> = 0..=crate::generate::model::MAX_TABLE_ROWS;
/// `generate --file-rows`.
pub const FILE_ROWS: RangeInclusive<u64> = 1..=crate::generate::model::MAX_TABLE_ROWS;
/// `generate --shard K/N`: the number of parts N.
pub const SHARDS: RangeInclusive<u64> = 1..=1_000_000;
/// `generate --scale`.
pub const SCALE: RangeInclusive<f64> = 0.0..=1_000_000.0;
/// `generate --seed`: any 64-bit number.
pub const SEED: RangeInclusive<u64> = 0..=u64::MAX;
/// `verify --max-same-rate`.
pub const SAME_RATE: RangeInclusive<f64> = 0.0..=1.0;
/// `run --report-min-count`: rows a kept column's value needs to be named in the report.
pub const MIN_COUNT: RangeInclusive<u64> = 1..=1_000_000_000;
/// `branch prune --older-than`, in days (a century at most).
pub const AGE_DAYS: RangeInclusive<u64> = 0..=36_500;

/// `"from 1 to 1024"`, as `--help` and the errors say it.
pub fn describe<T: std::fmt::Display>(range: &RangeInclusive<T>) -> String {
    format!("from {} to {}", range.start(), range.end())
}

/// A whole number in `range`, as type `T`.
pub fn whole<T>(range: RangeInclusive<u64>) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let wrong = || format!("give a whole number {}", describe(&range));
        let n: u64 = text.trim().parse().map_err(|_| wrong())?;
        if !range.contains(&n) {
            return Err(wrong());
        }
        T::try_from(n).map_err(|_| wrong())
    }
}

/// A finite number in `range` (fractions allowed).
pub fn number(range: RangeInclusive<f64>) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let wrong = || format!("give a number {}", describe(&range));
        let x: f64 = text.trim().parse().map_err(|_| wrong())?;
        if !x.is_finite() || !range.contains(&x) {
            return Err(wrong());
        }
        Ok(x)
    }
}

/// `--older-than`: a duration as written (`7d`, `1d12h`) within [`AGE_DAYS`].
#[derive(Debug, Clone)]
pub struct Age {
    /// The text given, for messages.
    pub text: String,
    pub duration: chrono::Duration,
}

/// The one parser of every duration flag: whole numbers with units (`w`, `d`, `h`, `m`, `s`,
/// `ms`, `us`; `7d`, `1d12h`, `30s`), or, where `bare_seconds`, a bare whole number of
/// seconds; at most `max_seconds`. `range` says the range and the form in errors.
fn duration(text: &str, max_seconds: u64, bare_seconds: bool, range: &str) -> Result<std::time::Duration, String> {
    let micros = match text.trim().parse::<u64>() {
        Ok(seconds) if bare_seconds => seconds.checked_mul(1_000_000).and_then(|m| i64::try_from(m).ok()),
        _ => Some(crate::transform::noise::parse_duration_micros(text).map_err(|e| format!("{e}; {range}"))?),
    };
    let max_micros = i64::try_from(max_seconds.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    match micros {
        Some(micros) if (0..=max_micros).contains(&micros) => Ok(std::time::Duration::from_micros(micros as u64)),
        _ => Err(range.to_string()),
    }
}

pub fn age(text: &str) -> Result<Age, String> {
    let range = format!("give a duration from 0s to {}d (units w, d, h, m, s; e.g. 7d, 1d12h)", AGE_DAYS.end());
    let duration = duration(text, AGE_DAYS.end() * 86_400, false, &range)?;
    let duration = chrono::Duration::from_std(duration).map_err(|_| range)?;
    Ok(Age { text: text.to_string(), duration })
}

/// `run --swap-timeout`: seconds as a bare number, or a duration (`30s`, `2m`), within
/// [`SWAP_TIMEOUT_SECONDS`].
pub fn swap_timeout(text: &str) -> Result<std::time::Duration, String> {
    let range = format!(
        "give a duration {} seconds (a whole number of seconds, or units w, d, h, m, s; e.g. 30, 30s, 2m)",
        describe(&SWAP_TIMEOUT_SECONDS)
    );
    duration(text, *SWAP_TIMEOUT_SECONDS.end(), true, &range)
}

/// `--shard K/N`: 1 ≤ K ≤ N, N within [`SHARDS`].
pub fn shard(text: &str) -> Result<crate::generate::rows::Shard, String> {
    let wrong = || format!("expected K/N with 1 ≤ K ≤ N and N {}, e.g. 2/8", describe(&SHARDS));
    match crate::generate::rows::Shard::parse(text) {
        Ok(shard) if SHARDS.contains(&shard.count) => Ok(shard),
        _ => Err(wrong()),
    }
}

/// One `--rows` item: `schema.table=N` with N within [`GENERATED_ROWS`].
pub fn table_rows(text: &str) -> Result<(String, u64), String> {
    let wrong = || format!("expected schema.table=N with N {}, e.g. public.region=4", describe(&GENERATED_ROWS));
    let (table, n) = text.rsplit_once('=').ok_or_else(wrong)?;
    let n = whole::<u64>(GENERATED_ROWS)(n).map_err(|_| wrong())?;
    match table.trim() {
        "" => Err(wrong()),
        table => Ok((table.to_string(), n)),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;
    use crate::cli::Cli;

    /// Flags that take text (paths, URLs, names, lists of names), not a number or a duration.
    const TEXT_FLAGS: &[&str] = &[
        "log",
        "color",
        "format",
        "rules",
        "from",
        "to",
        "profile",
        "key_file",
        "report",
        "out",
        "role_map",
        "url",
        "template",
        "name",
        "database",
        "shell",
        "command",
        "table",
        "report_html",
        "to_html",
    ];

    /// Every flag that takes a number or a duration: subcommand, flag, values refused, the
    /// largest value accepted, and the range as `--help` states it.
    /// Subcommand, flag, values refused, the largest value accepted, the range as `--help` says.
    type Bounded = (&'static [&'static str], &'static str, Vec<&'static str>, &'static str, String);

    fn bounded() -> Vec<Bounded> {
        vec![
            (&["run"], "--threads", vec!["0", "1025", "65535"], "1024", describe(&THREADS)),
            (&["generate"], "--threads", vec!["0", "1025", "65535"], "1024", describe(&THREADS)),
            (&["run"], "--jobs", vec!["0", "65", "65535"], "64", describe(&JOBS)),
            (&["run"], "--batch-rows", vec!["0", "1048577", "4294967295"], "1048576", describe(&BATCH_ROWS)),
            (&["verify"], "--batch-rows", vec!["0", "1048577", "4294967295"], "1048576", describe(&BATCH_ROWS)),
            (
                &["scan"],
                "--sample-rows",
                vec!["-1", "1000001", "18446744073709551615"],
                "1000000",
                describe(&SAMPLE_ROWS),
            ),
            (
                &["run"],
                "--swap-timeout",
                vec!["86401", "18446744073709551615", "-1", "1d1s", "30x"],
                "86400",
                describe(&SWAP_TIMEOUT_SECONDS),
            ),
            (
                &["generate"],
                "--file-rows",
                vec!["0", "1000000000001", "18446744073709551615"],
                "1000000000000",
                describe(&FILE_ROWS),
            ),
            (&["generate"], "--scale", vec!["-1", "1e300", "NaN", "inf", "1000000.5"], "1000000", describe(&SCALE)),
            (
                &["generate"],
                "--rows",
                vec!["public.t=1000000000001", "public.t=-1", "=4"],
                "public.t=1000000000000",
                describe(&GENERATED_ROWS),
            ),
            (&["generate"], "--shard", vec!["1/1000001", "2/1", "0/0"], "1/1000000", describe(&SHARDS)),
            (&["generate"], "--seed", vec!["-1", "18446744073709551616"], "18446744073709551615", describe(&SEED)),
            (&["preview"], "--rows", vec!["0", "1001", "18446744073709551616"], "1000", describe(&PREVIEW_ROWS)),
            (
                &["run"],
                "--report-min-count",
                vec!["0", "1000000001", "18446744073709551616"],
                "1000000000",
                describe(&MIN_COUNT),
            ),
            (&["generate"], "--report-min-count", vec!["0", "1000000001"], "1000000000", describe(&MIN_COUNT)),
            (&["verify"], "--max-same-rate", vec!["-0.1", "1.5", "NaN", "inf"], "1", describe(&SAME_RATE)),
            (
                &["branch", "prune"],
                "--older-than",
                vec!["36501d", "100000000w", "-1d"],
                "36500d",
                "from 0s to 36500d".to_string(),
            ),
        ]
    }

    fn parse(path: &[&str], flag: &str, value: &str) -> Result<Cli, clap::Error> {
        let mut args = vec!["doppel"];
        args.extend_from_slice(path);
        let arg = format!("{flag}={value}");
        args.push(&arg);
        <Cli as clap::Parser>::try_parse_from(args)
    }

    #[test]
    fn durations_are_read_by_one_parser_and_a_bare_number_is_seconds_only_where_documented() {
        use std::time::Duration;
        for (text, seconds) in [("30", 30), ("30s", 30), ("2m", 120), ("1m30s", 90), ("1d", 86_400), ("0", 0)] {
            assert_eq!(swap_timeout(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
        assert_eq!(age("1w").map(|a| a.duration), Ok(chrono::Duration::days(7)));
        assert_eq!(age("1d12h").map(|a| a.duration), Ok(chrono::Duration::hours(36)));
        // `--older-than 7` is refused as before: a bare number of seconds would prune far more.
        assert!(age("7").is_err());
    }

    #[test]
    fn every_numeric_and_duration_flag_refuses_values_outside_its_range_and_says_the_range() {
        for (path, flag, refused, largest, range) in bounded() {
            for value in refused {
                let err = parse(path, flag, value).err().unwrap_or_else(|| panic!("{path:?} {flag} {value} accepted"));
                assert!(
                    matches!(err.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue),
                    "{path:?} {flag} {value}: {:?} {err}",
                    err.kind()
                );
                assert_eq!(err.exit_code(), 2);
                let text = err.to_string();
                assert!(text.contains(flag) && text.contains(&range), "{flag} {value}: {text}");
            }
            // The largest value passes the flag's own check (other arguments may be missing).
            if let Err(err) = parse(path, flag, largest) {
                assert!(
                    !matches!(err.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue),
                    "{path:?} {flag} {largest}: {err}"
                );
            }
        }
    }

    #[test]
    fn every_flag_that_takes_a_value_is_text_or_bounded_and_help_states_the_range() {
        let bounded = bounded();
        let mut seen = Vec::new();
        fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Arg)>) {
            for arg in cmd.get_arguments() {
                if arg.get_action().takes_values() {
                    out.push((path.clone(), arg.clone()));
                }
            }
            for sub in cmd.get_subcommands() {
                let mut p = path.clone();
                p.push(sub.get_name().to_string());
                walk(sub, p, out);
            }
        }
        walk(&Cli::command(), Vec::new(), &mut seen);
        for (path, arg) in seen {
            let id = arg.get_id().as_str();
            if TEXT_FLAGS.contains(&id) {
                continue;
            }
            let flag = format!("--{}", arg.get_long().unwrap_or(id));
            let entry = bounded
                .iter()
                .find(|(p, f, ..)| *f == flag && p.iter().copied().eq(path.iter().map(String::as_str)))
                .unwrap_or_else(|| {
                    panic!("{path:?} {flag}: a new flag taking a value: bound it here or list it as text")
                });
            let help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
            assert!(help.contains(&entry.4), "{path:?} {flag}: --help must state the range `{}`: {help}", entry.4);
        }
    }
}
