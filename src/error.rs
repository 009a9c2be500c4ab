//! Errors of the core: one line each, naming the file and the problem.

use std::path::PathBuf;

/// Why a trace database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    // The cause is part of this one line, not a source: `{:#}` would print it twice.
    #[error("{path}: cannot read file: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {what}")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{path}: file is empty (0 bytes), not an SQLite database")]
    Empty { path: PathBuf },
    #[error("{path}: not an SQLite database (the header is not 'SQLite format 3')")]
    NotSqlite { path: PathBuf },
    #[error("{path}: the SQLite file is corrupt or truncated: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: no agent_traces table: this is not an agent trace database (tables: {tables})")]
    NoTracesTable { path: PathBuf, tables: String },
    #[error("{path}: agent_traces is a {kind}, not a table; only tables are read")]
    NotATable { path: PathBuf, kind: String },
    #[error("{path}: agent_traces has no '{column}' column")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: the database is locked by another process (an exclusive transaction); try again")]
    Locked { path: PathBuf },
    #[error("{path}: no session matches '{query}'")]
    NoSuchSession { path: PathBuf, query: String },
    #[error("{path}: '{query}' matches {count} sessions; give more of the id")]
    AmbiguousSession { path: PathBuf, query: String, count: usize },
    #[error("{path}: no trace with id '{id}'")]
    NoSuchTrace { path: PathBuf, id: String },
    #[error("{path}: cancelled")]
    Cancelled { path: PathBuf },
    #[error("{path}: SQLite error: {cause}")]
    Sqlite { path: PathBuf, cause: rusqlite::Error },
}

impl StoreError {
    /// True when retrying later may succeed (a writer holds a lock).
    #[must_use]
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }
}
