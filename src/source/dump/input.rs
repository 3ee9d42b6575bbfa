//! Getting a dump as a plain SQL script that can be read twice (once for its DDL and the
//! place of each table's rows, then each table's rows): a plain file on disk is read where it
//! is; stdin and archives (custom, directory, tar; turned into a script by the installed
//! `pg_restore -f -`) are copied to a spool file in the temporary directory as they are
//! scanned, which is removed when the source is dropped. Memory stays flat either way.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::detect::Format;
use super::script::{self, Script};
use crate::error::{Error, Result};

/// A scanned dump and the file its rows are read from.
pub struct Scanned {
    pub script: Script,
    /// The plain script on disk: the dump itself, or the spool.
    pub file: PathBuf,
    /// Removes the spool when dropped.
    pub spool: Option<tempfile::TempPath>,
}

const BUFFER: usize = 1 << 20;

/// Scans the dump at `path` of `format`.
pub fn scan(path: &Path, format: Format) -> Result<Scanned> {
    let location = path.display().to_string();
    match format {
        Format::Plain if path.as_os_str() == "-" => spooled(&location, std::io::stdin().lock()),
        Format::Plain => {
            let file = File::open(path).map_err(|e| Error::source(&location, format!("cannot read the dump ({e})")))?;
            let script = script::scan(BufReader::with_capacity(BUFFER, file), None::<std::io::Sink>, &location)?;
            Ok(Scanned { script, file: path.to_path_buf(), spool: None })
        }
        Format::Custom | Format::Directory | Format::Tar => restored(path, format, &location),
    }
}

/// Scans `input`, copying it to a new spool file.
fn spooled(location: &str, input: impl Read) -> Result<Scanned> {
    let spool = tempfile::Builder::new()
        .prefix("doppel-dump-")
        .tempfile()
        .map_err(|e| Error::source(location, format!("cannot create a spool file in the temporary directory ({e})")))?;
    let (file, path) = spool.into_parts();
    let mut writer = BufWriter::with_capacity(BUFFER, file);
    let script = script::scan(BufReader::with_capacity(BUFFER, input), Some(&mut writer), location)?;
    let file = writer.into_inner().map_err(|e| Error::source(location, format!("writing the spool file: {e}")))?;
    drop(file);
    Ok(Scanned { script, file: path.to_path_buf(), spool: Some(path) })
}

/// `pg_restore -f - <archive>`, scanned and spooled.
fn restored(path: &Path, format: Format, location: &str) -> Result<Scanned> {
    let mut child = Command::new("pg_restore")
        .arg("--file=-")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove(crate::secret::KEY_ENV)
        .spawn()
        .map_err(|e| {
            Error::source(
                location,
                format!("cannot run pg_restore ({e}) to read this {}; install the PostgreSQL client", format.name()),
            )
        })?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let scanned = spooled(location, stdout);
    let status = child.wait().map_err(|e| Error::source(location, format!("waiting for pg_restore: {e}")))?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(restore_failure(location, format, &stderr));
    }
    scanned
}

/// pg_restore's failure, worded for the user: an archive from a newer pg_dump names both versions.
fn restore_failure(location: &str, format: Format, stderr: &str) -> Error {
    if let Some(at) = stderr.find("unsupported version (") {
        let archive = stderr[at + 21..].split(')').next().unwrap_or("?");
        let installed = pg_restore_version().unwrap_or_else(|| "unknown".to_string());
        return Error::source(
            location,
            format!(
                "this {} is in archive format {archive}, newer than the installed pg_restore (PostgreSQL {installed}) \
                 can read: it was made by a newer pg_dump; install a PostgreSQL client at least as new as that pg_dump",
                format.name()
            ),
        );
    }
    Error::source(
        location,
        format!("pg_restore cannot read this {}: {}", format.name(), crate::pg::child::tail(stderr.trim(), 2000)),
    )
}

/// `15.18` from `pg_restore (PostgreSQL) 15.18 (Debian …)`.
fn pg_restore_version() -> Option<String> {
    let out = Command::new("pg_restore").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(')').nth(1)?.split_whitespace().next().map(str::to_string)
}
