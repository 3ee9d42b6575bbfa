//! The comment that marks a branch database, and what a database's comment says about it as a
//! template.
//!
//! A branch carries `doppel <version>: branch of "<template>" (created <UTC time>, by "<role>")`,
//! e.g. `doppel 0.1.0: branch of "staging_anon" (created 2026-11-26T10:54:55Z, by "ci")`. The
//! names are quoted like SQL identifiers (a `"` doubled), so any database or role name reads
//! back unambiguously; the time is RFC 3339 in UTC, whole seconds. The comment is doppel's
//! marker ([`crate::pg::marker::is_doppel_marker`] accepts it), so a branch may be
//! the template of another branch and `run --replace` may rebuild it; only this comment makes
//! `branch drop` and `branch prune` touch a database.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::pg::ident::quote_ident;
use crate::pg::marker::COMMENT_PREFIX;
use crate::pg::marker::is_doppel_marker;

/// What a branch's comment records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchMarker {
    /// The doppel version that created the branch.
    pub version: String,
    /// The database it was cloned from.
    pub template: String,
    /// When it was created (the server's clock).
    pub created_at: DateTime<Utc>,
    /// The role that created it.
    pub created_by: String,
}

impl BranchMarker {
    /// A marker for a branch of `template` created now by this doppel version.
    pub fn new(template: &str, created_at: DateTime<Utc>, created_by: &str) -> BranchMarker {
        BranchMarker {
            version: env!("CARGO_PKG_VERSION").to_string(),
            template: template.to_string(),
            created_at,
            created_by: created_by.to_string(),
        }
    }

    /// The comment text.
    pub fn comment(&self) -> String {
        format!(
            "{COMMENT_PREFIX} {}: branch of {} (created {}, by {})",
            self.version,
            quote_ident(&self.template),
            self.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            quote_ident(&self.created_by)
        )
    }

    /// Reads a branch's comment; `None` for any other comment.
    pub fn parse(comment: &str) -> Option<BranchMarker> {
        let rest = comment.strip_prefix(COMMENT_PREFIX)?.strip_prefix(' ')?;
        let (version, state) = rest.split_once(": ")?;
        if version.is_empty() || version.contains(' ') {
            return None;
        }
        let (template, rest) = quoted(state.strip_prefix("branch of ")?)?;
        let (created, rest) = rest.strip_prefix(" (created ")?.split_once(", by ")?;
        let created_at = DateTime::parse_from_rfc3339(created).ok()?.with_timezone(&Utc);
        let (created_by, rest) = quoted(rest)?;
        if rest != ")" {
            return None;
        }
        Some(BranchMarker { version: version.to_string(), template, created_at, created_by })
    }
}

/// A `"`-quoted identifier at the start of `s` (`""` inside stands for `"`), and what follows.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut name = String::new();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        let after = &s[1 + i + 1..];
        if after.starts_with('"') {
            chars.next();
            name.push('"');
        } else {
            return Some((name, after));
        }
    }
    None
}

/// What a database's comment makes it as the template of a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateKind {
    /// A database a `doppel run` finished (`doppel V: complete`).
    Complete,
    /// Another branch.
    Branch,
    /// Marked by doppel but not finished: being loaded or swapped by a run, or left by a killed one.
    Unfinished,
    /// No comment, or one doppel did not write.
    Unmarked,
}

impl TemplateKind {
    pub fn of(comment: Option<&str>) -> TemplateKind {
        let Some(c) = comment else { return TemplateKind::Unmarked };
        if BranchMarker::parse(c).is_some() {
            TemplateKind::Branch
        } else if !is_doppel_marker(Some(c)) {
            TemplateKind::Unmarked
        } else if c.ends_with(": complete") {
            TemplateKind::Complete
        } else {
            TemplateKind::Unfinished
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_branch_marker_reads_back_whatever_the_names() {
        for (template, user) in [
            ("staging_anon", "ci"),
            ("Staging \"anon\"", "o'brien"),
            ("x (created 2020-01-01T00:00:00Z, by \"y\")", "a, by \"b\")"),
            ("ünïcødé", ""),
        ] {
            let m = BranchMarker::new(template, at("2026-11-26T10:54:55Z"), user);
            let comment = m.comment();
            assert_eq!(BranchMarker::parse(&comment), Some(m), "{comment}");
            assert!(is_doppel_marker(Some(&comment)), "{comment}");
        }
        let m = BranchMarker::new("staging_anon", at("2026-11-26T10:54:55.123Z"), "ci");
        assert_eq!(
            m.comment(),
            format!(
                "doppel {}: branch of \"staging_anon\" (created 2026-11-26T10:54:55Z, by \"ci\")",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn other_comments_are_not_branch_markers() {
        for c in [
            "doppel 0.1.0: complete",
            "doppel 0.1.0: loading (pid 1, host h, snapshot s)",
            "doppel 0.1.0: branch of staging (created 2026-11-26T10:54:55Z, by \"ci\")",
            "doppel 0.1.0: branch of \"staging\" (created yesterday, by \"ci\")",
            "doppel 0.1.0: branch of \"staging\" (created 2026-11-26T10:54:55Z, by \"ci\") ",
            "doppel 0.1.0: branch of \"staging (created 2026-11-26T10:54:55Z, by \"ci\")",
            "doppelganger 0.1.0: branch of \"s\" (created 2026-11-26T10:54:55Z, by \"ci\")",
            "production, do not touch",
            "",
        ] {
            assert_eq!(BranchMarker::parse(c), None, "{c}");
        }
    }

    #[test]
    fn templates_are_judged_by_their_comment() {
        let branch = BranchMarker::new("t", at("2026-11-26T10:54:55Z"), "ci").comment();
        assert_eq!(TemplateKind::of(Some("doppel 0.1.0: complete")), TemplateKind::Complete);
        assert_eq!(TemplateKind::of(Some(&branch)), TemplateKind::Branch);
        assert_eq!(
            TemplateKind::of(Some("doppel 0.1.0: loading (pid 7, host h, snapshot s)")),
            TemplateKind::Unfinished
        );
        assert_eq!(TemplateKind::of(Some("doppel 0.1.0: replaced (pid 7, host h)")), TemplateKind::Unfinished);
        assert_eq!(TemplateKind::of(Some("our production database")), TemplateKind::Unmarked);
        assert_eq!(TemplateKind::of(Some("doppel: complete")), TemplateKind::Unmarked);
        assert_eq!(TemplateKind::of(None), TemplateKind::Unmarked);
    }
}
