//! Read-only access to an `agent_traces.db` file: schema discovery, the session list with
//! aggregates, one session's events, search, and one trace's every column.
//!
//! The file is untrusted and belongs to the user: it is opened read-only, in defensive mode,
//! with views, triggers and untrusted schema functions off, and `query_only` set. Columns are
//! discovered with `PRAGMA table_info`; only `id`, `session_id`, `type` and `timestamp` are
//! required. Every value is read through lenient converters that turn a bad value into a
//! warning on its trace instead of an error.
//!
//! The pieces: `open` (opening and hardening a connection, the private copy, errors),
//! `registry` (the files this process reads), `schema` (which columns exist),
//! `values` (lenient conversion of one value), `list` (the session list and the models),
//! `events` (one session's events), `queries` (ids, search, detail, tool durations),
//! `sums` (SQLite's SUM and TOTAL, summed while a session is read) and `stats` (what the
//! file-wide statistics and task groups are counted from).

mod cache;
mod events;
mod incremental;
mod list;
mod models;
mod open;
mod queries;
mod registry;
mod schema;
mod stats;
mod sums;
mod values;

pub use cache::{CACHE_FORMAT, CACHE_LIMIT_BYTES, CacheUse, ListCache};
pub use incremental::{FileIdentity, Live, Mark, Refresh, TableMark};
pub use values::MAX_DURATION_MS;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;
use crate::model::{FileInfo, TRACE_COLUMNS};

use open::{PrivateCopy, map_sqlite, open_read_only, resolve};
use registry::Held;
use schema::Schema;
use values::lossy;

/// How long a query waits for a writer's lock before reporting [`StoreError::Locked`].
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(1500);

/// The most of one raw value loaded for the detail view; longer values are cut (and say so).
/// `data` is never cut: it is the JSON the detail view shows as a tree.
pub const DETAIL_VALUE_LIMIT: usize = 1 << 20;

/// An open trace database.
pub struct Store {
    conn: Connection,
    /// The path as the user gave it, for messages.
    path: PathBuf,
    /// The file itself, symlinks resolved as SQLite resolves them: its `-wal` and `-shm` sit
    /// beside this path, not beside a link.
    real_path: PathBuf,
    /// What SQLite reads: `real_path`, or the private copy. A second connection for a split
    /// read opens this.
    db_path: PathBuf,
    schema: Schema,
    /// The private copy read instead of the file, when there is one. Declared after `conn`
    /// so the connection closes before the copy is removed.
    _copy: Option<PrivateCopy>,
    read_mode: ReadMode,
    /// This store's place in the list of files the process reads. Declared last: it is
    /// given up only once every connection of the store has closed.
    _held: Held,
}

/// How [`Store::load_session`] reads a big session: a trade between time and peak memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Shortest time: a big session is read in two halves on two connections at once, when
    /// both see the same rows of it. The later half is read in chunks, moved into the result
    /// one at a time by the thread that read them, so no half is ever held twice.
    #[default]
    Fastest,
    /// Lowest peak: one connection reads into a vector sized once, while a second thread
    /// reads `data` for labels. For a process that stays up with the session open.
    Leanest,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

/// A handle that stops the store's running query from another thread.
pub type Interrupt = rusqlite::InterruptHandle;

/// See [`Store::change_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeToken {
    data_version: Option<i64>,
    file: Option<(u64, Option<std::time::SystemTime>)>,
    wal: Option<(u64, Option<std::time::SystemTime>)>,
}

/// The `-wal` file beside a database.
#[must_use]
pub fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

impl Store {
    /// Opens `path` read-only and discovers its schema.
    ///
    /// # Errors
    /// One [`StoreError`] naming the file and the problem: missing, empty, not SQLite, corrupt,
    /// locked, or without an `agent_traces` table or one of its required columns.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let real_path = resolve(path)?;
        let held = Held::take(path, &real_path)?;
        let (conn, copy) = open_read_only(path, &real_path)?;
        let db_path = copy.as_ref().map_or_else(|| real_path.clone(), |c| c.db.clone());
        let mut store = Store {
            conn,
            path: path.to_owned(),
            real_path,
            db_path,
            schema: Schema::default(),
            _copy: copy,
            read_mode: ReadMode::default(),
            _held: held,
        };
        store.schema = store.discover()?;
        Ok(store)
    }

    /// Chooses how big sessions are read (see [`ReadMode`]).
    pub fn set_read_mode(&mut self, mode: ReadMode) {
        self.read_mode = mode;
    }

    /// Keeps SQLite's page cache small on this store's connection: for a store that only
    /// scans the file once per query (the list, file-wide statistics), where cached pages are
    /// never read again and only add to the process's memory while another store loads a
    /// session.
    pub fn use_small_cache(&self) {
        // A smaller cache only costs speed when pages are read twice; failing to set it is
        // harmless, so the error is ignored.
        let _ = self.conn.pragma_update(None, "cache_size", -256);
    }

    /// True when this store reads a private copy of the file (taken when it was opened), so
    /// it never sees a later change: a file read again must be opened again.
    #[must_use]
    pub fn is_private_copy(&self) -> bool {
        self._copy.is_some()
    }

    /// The file this store reads.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle to cancel a running query from another thread.
    #[must_use]
    pub fn interrupt_handle(&self) -> Interrupt {
        self.conn.get_interrupt_handle()
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        map_sqlite(&self.path, e)
    }

    fn file_info_with(&self, trace_count: u64) -> FileInfo {
        let size_bytes = std::fs::metadata(&self.real_path).map(|m| m.len()).unwrap_or(0);
        let wal_bytes = std::fs::metadata(wal_path(&self.real_path)).map(|m| m.len()).ok();
        let missing_columns =
            TRACE_COLUMNS.iter().filter(|c| !self.schema.traces.contains_key(*c)).map(|c| (*c).to_owned()).collect();
        let retention_days = if self.schema.has_settings {
            self.conn
                .query_row("SELECT value FROM trace_settings WHERE key = 'retention_days'", [], |r| {
                    Ok(lossy(r.get_ref(0)?))
                })
                .ok()
        } else {
            None
        };
        FileInfo {
            path: self.path.display().to_string(),
            size_bytes,
            wal_bytes,
            has_sessions_table: self.schema.sessions.is_some(),
            missing_columns,
            extra_columns: self.schema.extra_trace_columns.clone(),
            trace_count,
            retention_days,
        }
    }

    /// SQLite's `data_version`: changes whenever another connection commits to the file.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// A value that changes when the file's content may have changed: `data_version` plus the
    /// sizes and modification times of the file and its `-wal` (a file replaced under the same
    /// path, or a private copy, never sees `data_version` move).
    #[must_use]
    pub fn change_token(&self) -> ChangeToken {
        let stat = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.len(), m.modified().ok()));
        ChangeToken {
            data_version: self.data_version().ok(),
            file: stat(&self.real_path),
            wal: stat(&wal_path(&self.real_path)),
        }
    }

    /// Runs `read` inside one read transaction, so that all its queries see one state of the
    /// file however a writer commits meanwhile. A nested call joins the outer transaction.
    fn snapshot<T>(&self, read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return read();
        }
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        let out = read();
        // Ending a read transaction changes nothing; should COMMIT fail, ROLLBACK ends it.
        if self.conn.execute_batch("COMMIT").is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        out
    }
}

/// A generated database in a temporary folder, for the unit tests below.
#[cfg(test)]
fn demo_file(sessions: usize, events: Option<usize>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("agent_traces.db");
    let config = crate::demo::DemoConfig {
        sessions,
        events_per_session: events,
        seed: 11,
        ..crate::demo::DemoConfig::default()
    };
    crate::demo::generate(&path, &config).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_scanning_store_keeps_a_small_page_cache_and_answers_the_same() {
        let (_dir, path) = demo_file(8, None);
        let cache = |s: &Store| s.conn.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0)).unwrap_or(0);
        let normal = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let small = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        small.use_small_cache();
        assert_eq!(cache(&small), -256);
        assert!(cache(&normal) < -256, "SQLite's default is 2 MB: {}", cache(&normal));
        let list = |s: &Store| s.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions;
        assert_eq!(list(&small), list(&normal));
        let models = |s: &Store| s.model_usage().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(models(&small), models(&normal));
    }
}
