//! Where the rules come from in git: the commit that last changed them, its author and date,
//! and whether the working tree differs from it — the "reviewed by whom" of an audit.
//!
//! Read with the `git` command (absent git, or rules outside a repository, give `None`).
//! Only commit metadata is read; nothing is written to the repository.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesCommit {
    /// The last commit that changed the rules path.
    pub commit: String,
    /// `Name <email>` of its author.
    pub author: String,
    /// Its author date, ISO 8601.
    pub date: String,
    /// True when the rules in the working tree differ from that commit (edited, staged or
    /// untracked files under the rules path).
    pub modified: bool,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove(crate::secret::KEY_ENV)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// The git identity of the rules file or directory `rules`, if it is inside a repository and
/// has been committed.
pub fn rules_commit(rules: &Path) -> Option<RulesCommit> {
    let rules = rules.canonicalize().ok()?;
    let dir = if rules.is_dir() { rules.clone() } else { rules.parent()?.to_path_buf() };
    let path = rules.to_str()?;
    let log = git(&dir, &["log", "-1", "--format=%H%x00%an <%ae>%x00%aI", "--", path])?;
    let mut parts = log.split('\0');
    let (commit, author, date) = (parts.next()?, parts.next()?, parts.next()?);
    if commit.is_empty() {
        return None;
    }
    let status = git(&dir, &["status", "--porcelain", "--untracked-files=all", "--", path])?;
    Some(RulesCommit {
        commit: commit.to_string(),
        author: author.to_string(),
        date: date.to_string(),
        modified: !status.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn the_last_commit_of_the_rules_and_whether_they_changed_since() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).unwrap();
        std::fs::write(rules.join("a.toml"), "version = 1\n").unwrap();
        assert_eq!(rules_commit(&rules), None, "not a repository yet");
        run(dir.path(), &["init", "-q"]);
        assert_eq!(rules_commit(&rules), None, "nothing committed yet");
        run(dir.path(), &["add", "."]);
        run(
            dir.path(),
            &["-c", "user.name=Rita Reviewer", "-c", "user.email=rita@example.com", "commit", "-q", "-m", "rules"],
        );
        let c = rules_commit(&rules).unwrap();
        assert_eq!(c.commit.len(), 40);
        assert_eq!(c.author, "Rita Reviewer <rita@example.com>");
        assert!(!c.modified);
        assert_eq!(rules_commit(&rules.join("a.toml")), Some(c.clone()));
        std::fs::write(rules.join("b.toml"), "version = 1\n").unwrap();
        assert!(rules_commit(&rules).unwrap().modified, "an untracked rules file counts");
        assert!(!rules_commit(&rules.join("a.toml")).unwrap().modified);
    }
}
