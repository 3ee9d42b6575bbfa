//! What goes to stdout: machine output (`--json`, `--report -`, completions, the man page)
//! and data (rules, profiles, dumps); people's messages go to stderr. `-` names stdout
//! wherever a flag names a file to write.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Whether a file flag's value is `-`, stdout.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes `bytes` to stdout and flushes; `what` names them in the error.
pub fn write_stdout(bytes: &[u8], what: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::Usage(format!("cannot write {what} to stdout ({e})")))
}

/// `value` as pretty JSON and a newline on stdout: one document per command.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Usage(format!("cannot write JSON ({e})")))?;
    write_stdout((text + "\n").as_bytes(), "the JSON output")
}

/// The usage error for a flag that would write to stdout where another output is already
/// written there; `instead` says what to do.
pub fn stdout_taken(flag: &str, by: &str, instead: &str) -> Error {
    Error::Usage(format!("{flag}: stdout already carries {by}; {instead}"))
}

/// `--out FILE` of a command whose output is data (`scan`'s rules, `profile`): the file, or
/// `None` for stdout (no `--out`, or `--out -`). With `--json` the data must go to a file, as
/// the summary takes stdout; `what` names the data in the refusal.
pub fn data_out<'a>(out: Option<&'a Path>, json: bool, what: &str) -> Result<Option<&'a Path>> {
    let out = out.filter(|p| !is_stdout(p));
    if json && out.is_none() {
        return Err(stdout_taken(
            "--json",
            &format!("the {what} (without --out FILE)"),
            &format!("write the {what} to a file with --out FILE and the summary comes on stdout"),
        ));
    }
    Ok(out)
}
