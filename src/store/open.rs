//! Opening a file: resolving its path, checking its header, a hardened read-only connection,
//! the private copy for a file that cannot be read in place, and SQLite's errors as ours.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::StoreError;
use crate::model::labels::one_line;

use super::{BUSY_TIMEOUT, wal_path};

/// The error for a failed file operation on `path`: "not found" on its own, else the system's
/// own words once.
pub(super) fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound { path: path.to_owned() },
        _ => StoreError::Io { path: path.to_owned(), cause: e },
    }
}

/// The file a path names, symlinks resolved, as SQLite resolves it before it looks for the
/// `-wal` and `-shm` beside it.
pub(super) fn resolve(path: &Path) -> Result<PathBuf, StoreError> {
    std::fs::canonicalize(path).map_err(|e| io_error(path, e))
}

/// Checks the magic string at the start of the file.
pub(super) fn read_header(path: &Path, real: &Path) -> Result<(), StoreError> {
    let mut header = Vec::with_capacity(16);
    File::open(real).and_then(|f| f.take(16).read_to_end(&mut header)).map_err(|e| io_error(path, e))?;
    if header != b"SQLite format 3\0" {
        return Err(StoreError::NotSqlite { path: path.to_owned() });
    }
    Ok(())
}

pub(super) fn harden(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    // The last connection to close a WAL file checkpoints it into the database and deletes
    // the -wal. That is the writer's business: ours never writes to the user's file.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

/// A hardened read-only connection to the database at `db`.
///
/// The file is read as SQLite reads it for any reader, never as "immutable": a writer may
/// attach at any moment (one that opens a connection per call deletes the `-wal` each time its
/// last connection closes, so a missing `-wal` says nothing), and only SQLite's locks keep its
/// checkpoints from rewriting pages under our read. For a WAL file without a `-wal`, SQLite
/// creates its working files beside it (an empty `-wal` and the `-shm` index), as every reader
/// does; the database's bytes and a `-wal`'s frames are never changed.
pub(super) fn open_connection(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    harden(&conn)?;
    Ok(conn)
}

/// Opens the file read-only, or a private copy of it when it cannot be read in place.
pub(super) fn open_read_only(path: &Path, real: &Path) -> Result<(Connection, Option<PrivateCopy>), StoreError> {
    let conn = open_connection(real).map_err(|e| map_sqlite(path, e))?;
    // The first read is where SQLite meets the header, the WAL and its index.
    match conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok((conn, None)),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) => {
            drop(conn);
            let (conn, copy) = open_wal_copy(path, real)?;
            Ok((conn, Some(copy)))
        }
        Err(e) => Err(map_sqlite(path, e)),
    }
}

/// A folder under the system temp folder holding a private copy of a database; removed when
/// dropped (a copy can be as large as the user's file, so none may be left behind).
pub(super) struct PrivateCopy {
    pub(super) dir: PathBuf,
    /// The copied database in `dir`.
    pub(super) db: PathBuf,
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            log::warn!("{}: cannot remove the private copy: {e}", self.dir.display());
        }
    }
}

/// A WAL-mode file in a folder we cannot write to, whose `-shm` index is missing, cannot be
/// opened in place (SQLite has nowhere to put the index). Reading a private copy of the file
/// and its `-wal` keeps every committed transaction visible without touching the originals.
/// A copy taken while the file or its `-wal` changed is taken again.
pub(super) fn open_wal_copy(path: &Path, real: &Path) -> Result<(Connection, PrivateCopy), StoreError> {
    let io = |e| io_error(path, e);
    let dir = std::env::temp_dir().join(format!("trace-inspector-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    // From here on every return, early or not, removes the folder when `guard` drops.
    let guard = PrivateCopy { dir: dir.clone(), db: dir.join("copy.db") };
    let wal = wal_path(real);
    let state = || {
        let stat = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.len(), m.modified().ok()));
        (stat(real), stat(&wal))
    };
    let mut tries = 0;
    loop {
        let before = state();
        // Copying opens the file through descriptors of our own (see `HELD_FILES`). Any other
        // store of this process on this file failed to open it in place as this one did, and
        // reads a copy of its own: none holds locks on the original.
        std::fs::copy(real, &guard.db).map_err(io)?;
        let _ = std::fs::remove_file(wal_path(&guard.db));
        if wal.exists() {
            std::fs::copy(&wal, wal_path(&guard.db)).map_err(io)?;
        }
        if state() == before {
            break;
        }
        tries += 1;
        if tries == 5 {
            return Err(StoreError::Locked { path: path.to_owned() });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let conn = open_connection(&guard.db).map_err(|e| map_sqlite(path, e))?;
    conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))
        .map_err(|e| map_sqlite(path, e))?;
    Ok((conn, guard))
}

pub(super) fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(super) fn map_sqlite(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    // SQLite quotes schema text in some messages ("malformed database schema (…) - …"), line
    // breaks and all; an error is one line.
    let e = match e {
        rusqlite::Error::SqliteFailure(code, Some(message))
            if message.contains(char::is_control) || message.len() > 300 =>
        {
            rusqlite::Error::SqliteFailure(code, Some(one_line_message(&message)))
        }
        other => other,
    };
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        // The magic string was checked before SQLite saw the file: the rest of the header is bad.
        Some(ErrorCode::NotADatabase) => StoreError::Corrupt { path, detail: e.to_string() },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path, detail: e.to_string() },
        Some(ErrorCode::OperationInterrupted) => StoreError::Cancelled { path },
        _ => StoreError::Sqlite { path, cause: e },
    }
}

/// Whitespace runs (line breaks included) become one space; cut to 300 characters.
pub(super) fn one_line_message(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let joined = one_line(&joined);
    if joined.chars().count() > 300 { format!("{}…", joined.chars().take(300).collect::<String>()) } else { joined }
}
