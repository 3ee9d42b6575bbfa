//! The `doppel` binary: parses arguments, runs the command, maps errors to exit codes.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use doppel::cli::{Cli, dispatch};

static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    // A file size limit (`ulimit -f`) would kill the process with SIGXFSZ, silently and with
    // staged files left behind; ignored, the write fails with EFBIG instead, which the sinks
    // report (naming the file) and clean up after like a full disk. Children (pg_dump, psql)
    // inherit it and fail the same way.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN, before any thread is started.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let interval = match doppel::progress::interval_from_env() {
        Ok(interval) => interval,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    doppel::progress::init(cli.quiet, cli.color.enabled(), interval);
    let filter = tracing_subscriber::EnvFilter::new(format!("doppel={}", cli.log_level().filter()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(doppel::progress::LogWriter)
        .with_target(false)
        .with_ansi(cli.color.enabled())
        .init();
    // Ctrl-C, SIGTERM and SIGHUP (the `termination` feature) all stop run, generate and verify
    // cleanly: nothing is published and what was staged (or spilled) is removed. The other
    // commands publish nothing on their own way and end at once, with the same exit code.
    let cooperative = cli.stops_on_cancel();
    let handler = move || {
        CANCEL.store(true, Ordering::SeqCst);
        if !cooperative {
            eprintln!("error: {}", doppel::error::Error::Interrupted);
            std::process::exit(doppel::error::Error::Interrupted.exit_code());
        }
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        tracing::warn!("cannot install the signal handler for Ctrl-C and SIGTERM: {e}");
    }
    match dispatch(cli, &CANCEL) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
