//! The session list, slow-call tally and model counts of a file that grows, kept up to date by
//! reading only what was appended since the last read.
//!
//! A [`Live`] holds what a full read of the file found, plus a [`Mark`]: how far each table was
//! read (its highest row id and the id stored there), how many rows it had, its lowest row id
//! (and id), the oldest trace timestamp, and the schema. [`Store::refresh_live`] first checks
//! the mark against the file, then reads the traces and sessions above it, re-reads the
//! session rows that may have changed (still running, or given new traces), and adds them in.
//! Anything but appends is answered with a full read.
//!
//! # What the checks see, and what they cost
//!
//! Measured on a 3.6 GB file of 2,847,326 traces and 60,000 sessions (2 cores): every check
//! but one is an index lookup (well under a millisecond). Counting the sessions takes 2–5 ms.
//! Counting the traces (`COUNT(*)`, a walk over the smallest index's 11,800 pages) takes
//! 25–40 ms after a writer's commit, because SQLite drops its page cache whenever another
//! connection has committed; so that count, the "deep" check, runs when the caller asks for
//! it: when a cached list is validated, and in the live tail every 10 s or, when the refresh
//! that counted took longer than 20 ms, 500 times that long after it (at most 0.2% of the
//! time, at most an hour apart).
//!
//! Every refresh sees:
//! - a file replaced under the path (another device or inode), a schema change or a VACUUM
//!   (`PRAGMA schema_version`, which VACUUM also moves), other columns;
//! - traces or sessions deleted at either end of a table (the lowest and highest row id and
//!   the id stored there), which covers the reference writer's retention cleanup (it deletes
//!   the oldest traces first: the oldest timestamp changes too) and a file cut back;
//! - any session deleted or added (their count), any change to a session that is running or
//!   that gets new traces (re-read);
//! - values a running sum cannot take as SQLite would (text numbers, non-text ids, overflow).
//!
//! The deep check adds: traces deleted anywhere (their count).
//!
//! # The file's state, for a cached list
//!
//! A [`Live`] also keeps a [`FileState`] taken just before its read: the size, inode and
//! modification time of the file and of its `-wal`, the file's change time (ctime, which the
//! kernel sets and no tool can set back), and the `-wal` header (its salts and checkpoint
//! sequence); not the file's own header, which would take a handle of our own to the file
//! (closing it drops the process's POSIX locks, see `state`). Every commit changes one of
//! these: in rollback-journal mode the file and its times; in WAL mode
//! the `-wal` grows (a new modification time), or starts again with new salts. A state is
//! only kept when neither file changed in the last [`SETTLED`](state::SETTLED) (so a commit in the same clock
//! tick as the look cannot go unseen), and never for a private copy. When the state is the
//! same at the next open, nothing was written since that read, and the cached list is used
//! after the cheap checks only ([`Store::mark_holds`], under a millisecond to a few), without
//! the deep count. Any other state (a writer's commit, a checkpoint, a copy over the file)
//! takes the full path: every check, the deep count included. What this trusts: that
//! whoever writes the `-wal` without SQLite does not also set its modification time back to
//! the nanosecond with its size and header unchanged.
//!
//! What no check sees: a trace updated in place (count and ends unchanged), and a finished
//! session's row edited in place without new traces. SQLite keeps no per-row change marker,
//! so only a scan of every row could see those, which is the cost this module exists to
//! avoid. The reference writer never does either (it inserts traces, updates a session once,
//! when it ends, while it is still running, and deletes old runs); a tool that edits rows in
//! place is seen at the next full read (opening the file again, or Reload). A delete in the
//! middle of the traces that leaves every session row and both ends in place is seen at the
//! next deep check.
//!
//! The pieces: `state` (the file's identity and state), `checks` (the mark and the cheap
//! look-ups that check it), `rows` (reading appended traces into running sums), `refresh`
//! (the full read, and a refresh: checks, then what was appended) and `mend` (applying a
//! refresh to the list, mending it in place when it can).

mod checks;
mod mend;
mod refresh;
mod rows;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::analysis::SlowIndex;
use crate::analysis::slow_tally::SlowTally;
use crate::model::{ModelUsage, SessionList, Warning};

use super::list::SessionRecord;
use super::models::ModelTally;
use super::sums::TraceAggregate;

pub(super) use rows::SessionSums;
pub(super) use state::FileState;

/// How far a [`Live`] has read a file, and what a file that only grew must still show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// `PRAGMA schema_version` (moved by any schema change and by VACUUM).
    pub schema_version: i64,
    /// The columns read and how, as discovered (see [`Store::schema_fingerprint`]).
    pub schema: String,
    pub traces: TableMark,
    /// `None` when the file has no sessions table.
    pub sessions: Option<TableMark>,
    /// The oldest trace timestamp, `quote()`d, when an index answers it cheaply.
    pub oldest_timestamp: Option<Vec<u8>>,
}

/// A row id and the `quote()`d id stored there.
pub type RowEnd = (i64, Vec<u8>);

/// One table's extent: its row count and its first and last rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableMark {
    pub count: u64,
    /// The lowest row id and its `quote(id)`.
    pub first: Option<(i64, Vec<u8>)>,
    /// The highest row id and its `quote(id)`: everything above it is new.
    pub last: Option<(i64, Vec<u8>)>,
}

impl TableMark {
    fn last_rowid(&self) -> i64 {
        self.last.as_ref().map_or(i64::MIN, |l| l.0)
    }
}

/// The file a [`Live`] was read from: its resolved path and its device and inode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileIdentity {
    pub real_path: PathBuf,
    pub dev: u64,
    pub ino: u64,
}

/// What [`Store::refresh_live`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Nothing changed.
    Unchanged,
    /// Appended rows were read.
    Appended { traces: u64, sessions: u64 },
    /// The whole file was read again, and why.
    Reread(String),
}

/// A file's session list, slow-call tally and model counts, as of its [`Mark`].
#[derive(Clone, Debug)]
pub struct Live {
    pub(super) identity: FileIdentity,
    pub(super) mark: Mark,
    /// Appends can be read on their own: the file's values and query plan let running sums
    /// come out as SQLite's. Otherwise every refresh is a full read.
    pub(super) exact: bool,
    /// Session rows in row id order.
    pub(super) rows: Vec<SessionRecord>,
    /// Trace aggregates by session id (the GROUP BY order for plain text ids).
    pub(super) aggregates: BTreeMap<String, TraceAggregate>,
    /// Running sums of the sessions that got traces since the full read.
    pub(super) sums: HashMap<String, SessionSums>,
    /// Warnings of the aggregate read (a SUM that overflowed).
    pub(super) read_warnings: Vec<Warning>,
    pub(super) slow: SlowTally,
    pub(super) models: ModelTally,
    /// The models as SQL counted them, when the tally could not.
    pub(super) models_sql: Option<Vec<ModelUsage>>,
    pub(super) list: SessionList,
    /// The hashes of the listed sessions' ids, once a refresh mended the list (dropped when
    /// the list is assembled anew).
    pub(super) listed: Option<std::collections::HashSet<u64>>,
    /// The file's state just before the read this reflects, when it could be kept.
    pub(super) state: Option<FileState>,
}

impl Live {
    /// The session list, as [`Store::list_sessions`] gives it for the file as of the mark.
    #[must_use]
    pub fn list(&self) -> &SessionList {
        &self.list
    }

    /// Takes the session list out (for a caller done with the rest; the next refresh reads
    /// the file in full).
    pub fn take_list(&mut self) -> SessionList {
        self.exact = false;
        self.listed = None;
        std::mem::take(&mut self.list)
    }

    /// The file-wide slow-call index.
    #[must_use]
    pub fn slow_index(&self) -> SlowIndex {
        self.slow.index()
    }

    /// The file's models, as [`Store::model_usage`] gives them.
    #[must_use]
    pub fn models(&self) -> Vec<ModelUsage> {
        self.models_sql.clone().unwrap_or_else(|| self.models.usage())
    }

    /// How far the file was read.
    #[must_use]
    pub fn mark(&self) -> &Mark {
        &self.mark
    }

    /// The file it was read from.
    #[must_use]
    pub fn identity(&self) -> &FileIdentity {
        &self.identity
    }

    /// True when appends can be read on their own (see the module's notes).
    #[must_use]
    pub fn is_incremental(&self) -> bool {
        self.exact
    }
}
