//! What doppel says on stderr while it works: progress of long work, people's messages, and
//! `--quiet`. Set once by the binary ([`init`]); a library user that never calls it gets no
//! progress and its messages on stderr.
//!
//! ```text
//!                      ┌ stderr is a terminal ─▶ a bar per table: rows done / expected, %, ETA
//! track(label, total) ─┤ otherwise            ─▶ a log line per table every interval
//!   .add(rows) per batch                         (DOPPEL_PROGRESS_INTERVAL_MS, default 10 s)
//!   .finish()          └ --quiet              ─▶ nothing (only errors are printed)
//! ```
//!
//! Totals come from the catalog's estimates (`pg_class.reltuples`, shown as `~N`) or exact
//! counts (Parquet footers, a subset's selection, a generated table); without one, rows and
//! rate are shown. Lines name tables and count rows, never a value. A tracker costs one atomic
//! add per batch; the bars are drawn at most a few times a second and the log lines come from
//! one background thread.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The variable that sets the time between two log lines of one table, in milliseconds.
pub const INTERVAL_VARIABLE: &str = "DOPPEL_PROGRESS_INTERVAL_MS";
/// The time between two log lines of one table when [`INTERVAL_VARIABLE`] is not set.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// The longest interval [`INTERVAL_VARIABLE`] may give: a day.
const MAX_INTERVAL_MS: u64 = 86_400_000;

/// How many rows a table is expected to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Known exactly (Parquet metadata, a subset's selection, a generated table).
    Exact(u64),
    /// An estimate (the planner's `pg_class.reltuples`): shown as `~N`.
    About(u64),
}

impl Total {
    fn rows(self) -> u64 {
        match self {
            Total::Exact(n) | Total::About(n) => n,
        }
    }
}

/// How progress is shown, decided once by [`init`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No progress (`--quiet`, or a library user that never called [`init`]).
    Off,
    /// Bars on a terminal.
    Bars,
    /// Log lines every interval.
    Lines,
}

#[derive(Debug)]
struct Settings {
    quiet: bool,
    color: bool,
    mode: Mode,
    interval: Duration,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static BARS: OnceLock<MultiProgress> = OnceLock::new();

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings { quiet: false, color: false, mode: Mode::Off, interval: DEFAULT_INTERVAL })
}

/// Sets what stderr shows, once, before any work: `quiet` (only errors), `color` (the
/// `--color` choice), and the interval of log lines (`interval`, [`interval_from_env`]). Bars
/// when stderr is a terminal, log lines otherwise.
pub fn init(quiet: bool, color: bool, interval: Duration) {
    let mode = match quiet {
        true => Mode::Off,
        false if std::io::IsTerminal::is_terminal(&std::io::stderr()) => Mode::Bars,
        false => Mode::Lines,
    };
    let _ = SETTINGS.set(Settings { quiet, color, mode, interval });
}

/// The interval [`INTERVAL_VARIABLE`] gives (whole milliseconds, 1 to a day), or
/// [`DEFAULT_INTERVAL`]; the error names the variable and the range.
pub fn interval_from_env() -> Result<Duration, String> {
    parse_interval(std::env::var(INTERVAL_VARIABLE).ok().as_deref())
}

fn parse_interval(text: Option<&str>) -> Result<Duration, String> {
    let Some(text) = text else { return Ok(DEFAULT_INTERVAL) };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (1..=MAX_INTERVAL_MS).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!("{INTERVAL_VARIABLE}: expected whole milliseconds from 1 to {MAX_INTERVAL_MS}, got {text:?}")
        })
}

/// Whether `--quiet` is in effect: only errors go to stderr.
pub fn quiet() -> bool {
    settings().quiet
}

/// A message for people on stderr (a summary, a note), unless `--quiet`; above the bars when
/// they are shown.
pub fn say(text: impl Display) {
    let s = settings();
    if s.quiet {
        return;
    }
    let text = text.to_string();
    let text = text.strip_suffix('\n').unwrap_or(&text);
    match (s.mode, BARS.get()) {
        (Mode::Bars, Some(bars)) => {
            let _ = bars.println(text);
        }
        _ => eprintln!("{text}"),
    }
}

/// The log's writer (`tracing_subscriber`'s `with_writer`): stderr, each event written whole
/// above the bars when they are shown, so that log lines and bars do not tear each other.
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter(Vec::new())
    }
}

/// One log event, buffered until it is complete (dropped).
pub struct EventWriter(Vec<u8>);

impl std::io::Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        use std::io::Write;
        let write = || {
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        match BARS.get() {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

/// [`say`] with `format!`'s arguments: `say!("ok: {n} tables")`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::progress::say(format_args!($($arg)*))
    };
}

/// What one tracker has done; shared with the log-line thread.
struct State {
    label: String,
    total: Option<Total>,
    /// Rows done; `None` totals and no rows at all make a step ([`step`]).
    done: AtomicU64,
    counts_rows: bool,
    started: Instant,
    finished: AtomicBool,
}

impl State {
    fn status(&self) -> String {
        let elapsed = self.started.elapsed();
        match self.counts_rows {
            true => status(self.done.load(Ordering::Relaxed), self.total, elapsed),
            false => format!("running for {}", duration(elapsed)),
        }
    }
}

/// The progress of one table (or one step of work): [`Tracker::add`] per batch, then
/// [`Tracker::finish`]. Dropped without `finish` (an error), it disappears without a word.
pub struct Tracker {
    state: Arc<State>,
    bar: Option<ProgressBar>,
}

/// Starts tracking `label` (a table's name, perhaps with what is done to it), expecting
/// `total` rows when known.
pub fn track(label: impl Into<String>, total: Option<Total>) -> Tracker {
    start(label.into(), total, true)
}

/// Starts tracking a step that counts no rows (reading statistics, say): its time is shown.
pub fn step(label: impl Into<String>) -> Tracker {
    start(label.into(), None, false)
}

fn start(label: String, total: Option<Total>, counts_rows: bool) -> Tracker {
    let state = Arc::new(State {
        label,
        total,
        done: AtomicU64::new(0),
        counts_rows,
        started: Instant::now(),
        finished: AtomicBool::new(false),
    });
    let bar = match settings().mode {
        Mode::Off => None,
        Mode::Bars => Some(bar(&state)),
        Mode::Lines => {
            lines().register(&state);
            None
        }
    };
    Tracker { state, bar }
}

impl Tracker {
    /// Counts `rows` more rows done: one atomic add (and the bar's own, rate-limited drawing).
    pub fn add(&self, rows: u64) {
        self.state.done.fetch_add(rows, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    /// Rows counted so far.
    pub fn done(&self) -> u64 {
        self.state.done.load(Ordering::Relaxed)
    }

    /// Ends the tracker and says what it did: above the bars on a terminal, as a log line
    /// otherwise (a step says nothing).
    pub fn finish(self) {
        self.state.finished.store(true, Ordering::Relaxed);
        if !self.state.counts_rows {
            return;
        }
        let line = done_line(&self.state.label, self.done(), self.state.started.elapsed());
        match settings().mode {
            Mode::Off => {}
            Mode::Bars => say(format!("  {line}")),
            Mode::Lines => tracing::info!("{line}"),
        }
    }

    /// `batches`, counted batch by batch; finished when they end.
    pub fn count<I>(self, batches: I) -> impl Iterator<Item = crate::error::Result<RecordBatch>>
    where
        I: Iterator<Item = crate::error::Result<RecordBatch>>,
    {
        Counted { batches, tracker: Some(self) }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.state.finished.store(true, Ordering::Relaxed);
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(bars) = BARS.get() {
                bars.remove(&bar);
            }
        }
    }
}

/// [`Tracker::count`]'s iterator.
struct Counted<I> {
    batches: I,
    tracker: Option<Tracker>,
}

impl<I: Iterator<Item = crate::error::Result<RecordBatch>>> Iterator for Counted<I> {
    type Item = crate::error::Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.batches.next();
        match &next {
            Some(Ok(batch)) => {
                if let Some(t) = &self.tracker {
                    t.add(batch.num_rows() as u64);
                }
            }
            Some(Err(_)) => drop(self.tracker.take()),
            None => {
                if let Some(t) = self.tracker.take() {
                    t.finish();
                }
            }
        }
        next
    }
}

/// A bar for `state` in the shared [`MultiProgress`], drawn at most 4 times a second.
fn bar(state: &Arc<State>) -> ProgressBar {
    let bars = BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4)));
    let color = settings().color;
    let (template, chars) = match (state.counts_rows, state.total, color) {
        (true, Some(_), true) => ("{prefix:.cyan} {wide_bar:.cyan/blue} {status}", "█▉▊▋▌▍▎▏ "),
        (true, Some(_), false) => ("{prefix} [{wide_bar}] {status}", "=> "),
        (_, _, true) => ("{spinner:.cyan} {prefix:.cyan} {status}", "=> "),
        (_, _, false) => ("{spinner} {prefix} {status}", "=> "),
    };
    let shared = state.clone();
    let style = ProgressStyle::with_template(template)
        .map(|s| {
            s.progress_chars(chars).with_key("status", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&shared.status());
            })
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = match state.total {
        Some(total) if state.counts_rows => ProgressBar::new(total.rows().max(1)),
        _ => ProgressBar::no_length(),
    };
    let bar = bars.add(bar.with_style(style).with_prefix(state.label.clone()));
    if !state.counts_rows || state.total.is_none() {
        bar.enable_steady_tick(Duration::from_millis(250));
    }
    bar
}

/// The log-line thread's list of trackers, with when each last had its line.
struct Lines {
    entries: Mutex<Vec<(Weak<State>, Instant)>>,
}

fn lines() -> &'static Lines {
    static LINES: OnceLock<Lines> = OnceLock::new();
    LINES.get_or_init(|| {
        let interval = settings().interval;
        // Lives as long as the process; wakes a few times per interval.
        let _ = std::thread::Builder::new().name("doppel-progress".into()).spawn(move || {
            let tick = (interval / 4).clamp(Duration::from_millis(1), Duration::from_secs(1));
            loop {
                std::thread::sleep(tick);
                lines().tick(interval);
            }
        });
        Lines { entries: Mutex::new(Vec::new()) }
    })
}

impl Lines {
    fn register(&self, state: &Arc<State>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push((Arc::downgrade(state), state.started));
    }

    /// Logs a line for every running tracker whose last line is `interval` old.
    fn tick(&self, interval: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        entries.retain_mut(|(state, last)| {
            let Some(state) = state.upgrade() else { return false };
            if state.finished.load(Ordering::Relaxed) {
                return false;
            }
            if now.duration_since(*last) >= interval {
                tracing::info!("{}: {}", state.label, state.status());
                *last = now;
            }
            true
        });
    }
}

/// `420,000 of ~1,000,000 rows (42%), ETA 12 s`; without a total (or past an estimate),
/// `420,000 rows, 35,000 rows/s`. Counts only.
pub fn status(done: u64, total: Option<Total>, elapsed: Duration) -> String {
    let rate = rate(done, elapsed);
    match total {
        Some(total) if done < total.rows() => {
            let about = if matches!(total, Total::About(_)) { "~" } else { "" };
            let percent = done as u128 * 100 / total.rows() as u128;
            let mut text = format!("{} of {about}{} rows ({percent}%)", count(done), count(total.rows()));
            if let Some(rate) = rate.filter(|r| *r > 0.0) {
                let left = (total.rows() - done) as f64 / rate;
                text.push_str(&format!(", ETA {}", duration(Duration::from_secs_f64(left.min(1e9)))));
            }
            text
        }
        _ => match rate {
            Some(rate) => format!("{} rows, {} rows/s", count(done), count(rate.round() as u64)),
            None => format!("{} rows", count(done)),
        },
    }
}

/// Rows per second, once there is something to measure.
fn rate(done: u64, elapsed: Duration) -> Option<f64> {
    (done > 0 && elapsed >= Duration::from_millis(1)).then(|| done as f64 / elapsed.as_secs_f64())
}

/// `public.customers: 2,000 rows in 0.05 s (40,000 rows/s)`.
pub fn done_line(label: &str, rows: u64, elapsed: Duration) -> String {
    let rate = rows as f64 / elapsed.as_secs_f64().max(1e-9);
    format!("{label}: {} rows in {:.2} s ({} rows/s)", count(rows), elapsed.as_secs_f64(), count(rate.round() as u64))
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12 s`, `3 min 05 s`, `2 h 10 min`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(420_000), "420,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn durations_read_in_seconds_minutes_and_hours() {
        assert_eq!(duration(Duration::from_millis(12_900)), "12 s");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(duration(Duration::from_secs(2 * 3600 + 10 * 60 + 59)), "2 h 10 min");
    }

    #[test]
    fn a_status_with_an_estimate_has_percentage_and_eta() {
        let s = status(420_000, Some(Total::About(1_000_000)), Duration::from_secs(10));
        assert_eq!(s, "420,000 of ~1,000,000 rows (42%), ETA 13 s");
        let s = status(500, Some(Total::Exact(2_000)), Duration::from_secs(1));
        assert_eq!(s, "500 of 2,000 rows (25%), ETA 3 s");
        // Nothing done yet: no rate, so no ETA.
        assert_eq!(status(0, Some(Total::Exact(10)), Duration::ZERO), "0 of 10 rows (0%)");
    }

    #[test]
    fn a_status_without_a_total_or_past_the_estimate_has_the_rate() {
        assert_eq!(status(70_000, None, Duration::from_secs(2)), "70,000 rows, 35,000 rows/s");
        assert_eq!(status(1_200, Some(Total::About(1_000)), Duration::from_secs(1)), "1,200 rows, 1,200 rows/s");
        assert_eq!(status(0, None, Duration::ZERO), "0 rows");
    }

    #[test]
    fn the_done_line_names_rows_time_and_rate() {
        assert_eq!(
            done_line("public.customers", 2_000, Duration::from_millis(50)),
            "public.customers: 2,000 rows in 0.05 s (40,000 rows/s)"
        );
    }

    #[test]
    fn the_interval_variable_is_whole_milliseconds_from_1_to_a_day() {
        assert_eq!(parse_interval(None), Ok(DEFAULT_INTERVAL));
        assert_eq!(parse_interval(Some("250")), Ok(Duration::from_millis(250)));
        assert!(parse_interval(Some("0")).unwrap_err().contains("from 1 to 86400000"));
        assert!(parse_interval(Some("10s")).unwrap_err().contains(INTERVAL_VARIABLE));
        assert!(parse_interval(Some("86400001")).is_err());
    }
}
