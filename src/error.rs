//! Typed errors for the whole library, and the exit code each maps to.
//!
//! Errors name the file, table, column and row number; they never carry a cell value, a
//! key or a password. `main.rs` turns them into messages and exit codes; the library never
//! exits the process.

use std::fmt;
use std::path::PathBuf;

use crate::secret::KeyError;

/// Exit codes, documented in docs/commands.md and `--help`.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const RULES: i32 = 3;
    pub const SOURCE: i32 = 4;
    pub const TARGET: i32 = 5;
    pub const VERIFY: i32 = 6;
    pub const INTERRUPTED: i32 = 130;
}

/// One problem found in the rules or while binding them to the source schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rules file and 1-based line the problem points at, when known.
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    /// `schema.table`, when the problem is about a table.
    pub table: Option<String>,
    /// Column name, when the problem is about a column.
    pub column: Option<String>,
    /// What is wrong and what to do; never contains a cell value.
    pub message: String,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem { file: None, line: None, table: None, column: None, message: message.into() }
    }
    pub fn at(mut self, file: &std::path::Path, line: Option<usize>) -> Problem {
        self.file = Some(file.to_path_buf());
        self.line = line;
        self
    }
    pub fn table(mut self, table: &str) -> Problem {
        self.table = Some(table.to_string());
        self
    }
    pub fn column(mut self, column: &str) -> Problem {
        self.column = Some(column.to_string());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        }
        match (&self.table, &self.column) {
            (Some(t), Some(c)) => write!(f, "{t}.{c}: ")?,
            (Some(t), None) => write!(f, "{t}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// A list of problems, displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the rules:", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// Where a transform failed: table, column and 1-based row number, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}.{column}, row {row}: {reason}")]
pub struct RowError {
    pub table: String,
    pub column: String,
    pub row: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Rules(Problems),
    /// The source schema differs from the schema lock the rules were reviewed with: the
    /// report lists every change (see `plan::drift`).
    #[error("{0}")]
    Drift(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("source {location}: {message}")]
    Source { location: String, message: String },
    #[error("target {location}: {message}")]
    Target { location: String, message: String },
    #[error("{0}")]
    Transform(#[from] RowError),
    #[error("interrupted; nothing was published")]
    Interrupted,
    /// `verify` found personal data of the source in the output (the counts were printed).
    #[error("verify: {count} finding(s) of personal data from the source in {location}; see the counts above")]
    Findings { location: String, count: usize },
}

impl Error {
    pub fn source(location: impl fmt::Display, message: impl fmt::Display) -> Error {
        Error::Source { location: location.to_string(), message: message.to_string() }
    }
    pub fn target(location: impl fmt::Display, message: impl fmt::Display) -> Error {
        Error::Target { location: location.to_string(), message: message.to_string() }
    }
    pub fn problems(problems: Vec<Problem>) -> Error {
        Error::Rules(Problems(problems))
    }

    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Rules(_) | Error::Drift(_) | Error::Key(_) => exit::RULES,
            Error::Source { .. } => exit::SOURCE,
            Error::Transform(_) => exit::RULES,
            Error::Target { .. } => exit::TARGET,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Findings { .. } => exit::VERIFY,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
