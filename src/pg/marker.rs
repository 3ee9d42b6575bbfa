//! The comment doppel puts on the databases it creates (`COMMENT ON DATABASE`): how runs,
//! `--replace` and branches recognise a database as doppel's, and which state it is in.
//!
//! ```text
//! doppel V: loading (pid N, host H, snapshot S)   a run is building it
//! doppel V: swapping into oid O (pid N, host H)   a --replace run is swapping it in
//! doppel V: replaced (pid N, host H)              the old copy a swap put aside
//! doppel V: complete                              finished
//! doppel V: branch of "T" (…)                     a branch (see `doppel branch`)
//! ```

/// Prefix of the comment doppel puts on the databases it creates.
pub const COMMENT_PREFIX: &str = "doppel";

/// This machine's name, as written into markers (a pid means something only on its host).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace([',', '(', ')'], "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `doppel V: <state> (pid N, host H<extra>)`.
pub fn marker(state: &str, extra: &str) -> String {
    format!(
        "{COMMENT_PREFIX} {}: {state} (pid {}, host {}{extra})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        host_name()
    )
}

/// True when `comment` is one doppel writes on the databases it creates: a run's (loading,
/// swapping, replaced, complete) or a branch's (`branch of "T" (…)`, see `doppel branch`).
pub fn is_doppel_marker(comment: Option<&str>) -> bool {
    let Some(c) = comment else { return false };
    let Some(rest) = c.strip_prefix(&format!("{COMMENT_PREFIX} ")) else { return false };
    match rest.split_once(": ") {
        Some((version, state)) => {
            !version.is_empty()
                && !version.contains(' ')
                && (state == "complete"
                    || state.starts_with("loading (pid ")
                    || state.starts_with("swapping into oid ")
                    || state.starts_with("replaced (pid ")
                    || state.starts_with("branch of \""))
        }
        None => false,
    }
}

/// `doppel V: complete`, the comment of a finished database.
pub fn complete() -> String {
    format!("{COMMENT_PREFIX} {}: complete", env!("CARGO_PKG_VERSION"))
}
