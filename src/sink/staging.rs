//! Staging beside a file-system target: output is written under a hidden sibling name
//! (`.<name>.doppel-<kind>-<pid>`) and renamed into place only when the run succeeded; what a
//! killed run left is recognised by the dead pid in that name and removed by the next run.

use std::path::{Path, PathBuf};

/// The hidden sibling of `target` for this `kind` (`partial`, `old`) and process id.
pub fn sibling(target: &Path, kind: &str, pid: u32) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}.doppel-{kind}-{pid}"))
}

/// Removes the siblings of `target` of the given kinds whose process is gone (files or
/// folders), logging each.
pub fn clean_leftovers(target: &Path, kinds: &[&str]) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = kinds.iter().find_map(|kind| file_name.strip_prefix(&format!(".{name}.doppel-{kind}-"))) else {
            continue;
        };
        let alive = pid.parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        tracing::info!("removing {} left by an earlier run that did not finish", entry.path().display());
        let path = entry.path();
        let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_runs_leftovers_of_this_target_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.sql");
        let dead = sibling(&target, "partial", 99_999_999);
        let alive = sibling(&target, "partial", std::process::id());
        let other = dir.path().join(".other.sql.doppel-partial-99999999");
        let folder = sibling(&target, "old", 99_999_998);
        for f in [&dead, &alive, &other] {
            std::fs::write(f, "x").unwrap();
        }
        std::fs::create_dir(&folder).unwrap();
        clean_leftovers(&target, &["partial", "old"]);
        assert!(!dead.exists() && !folder.exists());
        assert!(alive.exists() && other.exists());
    }
}
