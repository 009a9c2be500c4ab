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
//! it: when a cached list is validated, and in the live tail at most every few seconds.
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
//! kernel sets and no tool can set back), the file header's change counter and page count,
//! and the `-wal` header (its salts and checkpoint sequence). Every commit changes one of
//! these: in rollback-journal mode the file, its times and its change counter; in WAL mode
//! the `-wal` grows (a new modification time), or starts again with new salts. A state is
//! only kept when neither file changed in the last [`SETTLED`] (so a commit in the same clock
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use rusqlite::types::ValueRef;

use crate::analysis::SlowIndex;
use crate::analysis::slow_tally::SlowTally;
use crate::error::StoreError;
use crate::model::{ModelUsage, SessionList, SessionRow, Warning};

use super::Store;
use super::list::{SessionRecord, is_overflow, overflow_warning};
use super::models::{ModelRow, ModelTally};
use super::sums::{SqlSum, TraceAggregate, finite_sql, whole_number_sql};
use super::values::get;

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

/// How long a file must have been left alone before its [`FileState`] is kept.
pub const SETTLED: std::time::Duration = std::time::Duration::from_secs(1);

/// The state of a file and its `-wal` as bytes (see the module's notes): equal states, taken
/// before two reads, mean nothing was written between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState(pub(super) Vec<u8>);

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

/// One session's running aggregates, stepped in row id order as SQLite's GROUP BY over the
/// session index steps them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct SessionSums {
    pub(super) count: u64,
    pub(super) input: i64,
    pub(super) output: i64,
    pub(super) cost: SqlSum,
    pub(super) errors: u64,
    pub(super) first: Option<String>,
    pub(super) last: Option<String>,
}

impl SessionSums {
    /// Adds one row; false when the sum would differ from SQLite's (an integer overflow).
    fn add(&mut self, row: &TraceRow) -> bool {
        let (Some(i), Some(o)) =
            (self.input.checked_add(row.input.unwrap_or(0)), self.output.checked_add(row.output.unwrap_or(0)))
        else {
            return false;
        };
        (self.input, self.output) = (i, o);
        self.count += 1;
        match row.cost {
            RowCost::Int(n) => self.cost.step_int(n),
            RowCost::Real(f) => self.cost.step_real(f),
            RowCost::Null => {}
        }
        self.errors += u64::from(row.error);
        if let Some(t) = &row.timestamp {
            if self.first.as_ref().is_none_or(|f| t < f) {
                self.first = Some(t.clone());
            }
            if self.last.as_ref().is_none_or(|l| t > l) {
                self.last = Some(t.clone());
            }
        }
        true
    }

    fn aggregate(&self, session_id: &str) -> TraceAggregate {
        let cost = self.cost.total();
        TraceAggregate {
            session_id: session_id.to_owned(),
            event_count: self.count,
            input_tokens: self.input,
            output_tokens: self.output,
            cost_usd: if cost.is_finite() { cost } else { 0.0 },
            error_count: self.errors,
            first_event_at: self.first.clone(),
            last_event_at: self.last.clone(),
        }
    }
}

/// One trace as the session aggregates take it.
struct TraceRow {
    rowid: i64,
    session: String,
    input: Option<i64>,
    output: Option<i64>,
    cost: RowCost,
    error: bool,
    timestamp: Option<String>,
}

enum RowCost {
    Null,
    Int(i64),
    Real(f64),
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

/// What a refresh read, before any of it is applied: applying cannot fail.
struct Delta {
    mark: Mark,
    records: Vec<SessionRecord>,
    sums: Vec<(String, SessionSums)>,
    durations: Vec<crate::model::ToolDuration>,
    /// New model rows, checked to add without overflow.
    models: Vec<ModelRow>,
    traces: u64,
    new_sessions: u64,
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Appends a file's size, inode, modification time (and with `ctime` its change time) and
/// its first `head` bytes to `out`; `None` when the file changed within [`SETTLED`] (or its
/// times are unknown).
#[cfg(unix)]
fn add_state(out: &mut Vec<u8>, path: &std::path::Path, head: usize, ctime: bool) -> Option<()> {
    use std::io::Read as _;
    use std::os::unix::fs::MetadataExt as _;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(0);
            return Some(());
        }
        Err(_) => return None,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let at =
        |secs: i64, nanos: i64| Some(std::time::Duration::new(u64::try_from(secs).ok()?, u32::try_from(nanos).ok()?));
    let mut times = vec![(meta.mtime(), meta.mtime_nsec())];
    if ctime {
        times.push((meta.ctime(), meta.ctime_nsec()));
    }
    out.push(1);
    for v in [meta.len(), meta.dev(), meta.ino()] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (secs, nanos) in times {
        if now.checked_sub(at(secs, nanos)?)? < SETTLED {
            return None;
        }
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&nanos.to_le_bytes());
    }
    let mut bytes = Vec::with_capacity(head);
    std::fs::File::open(path).ok()?.take(head as u64).read_to_end(&mut bytes).ok()?;
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&bytes);
    Some(())
}

#[cfg(not(unix))]
fn add_state(_out: &mut Vec<u8>, _path: &std::path::Path, _head: usize, _ctime: bool) -> Option<()> {
    None
}

impl Store {
    /// The file this store reads, by path, device and inode.
    ///
    /// # Errors
    /// When the file cannot be looked at.
    pub fn identity(&self) -> Result<FileIdentity, StoreError> {
        let meta = std::fs::metadata(&self.real_path).map_err(|e| super::open::io_error(&self.path, e))?;
        let (dev, ino) = file_id(&meta);
        Ok(FileIdentity { real_path: self.real_path.clone(), dev, ino })
    }

    /// The file's state now (see the module's notes), when it can be kept: not for a private
    /// copy, not inside a read transaction already begun (the state must come before the
    /// read), not for a file changed within [`SETTLED`].
    pub(super) fn file_state(&self) -> Option<FileState> {
        if self._copy.is_some() || !self.conn.is_autocommit() {
            return None;
        }
        let mut out = Vec::with_capacity(256);
        // The header's change counter (24) and page count (28); the whole -wal header. Not the
        // -wal's change time: SQLite running as root gives the -wal its owner again on every
        // open (fchown), which moves it with nothing written.
        add_state(&mut out, &self.real_path, 100, true)?;
        add_state(&mut out, &super::wal_path(&self.real_path), 32, false)?;
        Some(FileState(out))
    }

    /// The discovered schema as one line, sorted: two reads that agree on it read the same
    /// columns the same way.
    pub(super) fn schema_fingerprint(&self) -> String {
        let s = &self.schema;
        let mut traces: Vec<String> = s.traces.iter().map(|(k, v)| format!("{k}={v}")).collect();
        traces.sort();
        let mut sessions: Vec<String> =
            s.sessions.iter().flat_map(|m| m.iter().map(|(k, v)| format!("{k}={v}"))).collect();
        sessions.sort();
        format!(
            "traces[{}] extra[{}] sessions({})[{}] settings={} rowid={:?}/{:?} binary={}",
            traces.join(","),
            s.extra_trace_columns.join(","),
            s.sessions.is_some(),
            sessions.join(","),
            s.has_settings,
            s.row_id,
            s.session_row_id,
            s.binary_text
        )
    }

    /// Reads the whole file into a [`Live`] in one read transaction; `on_list` sees the
    /// session list as soon as it is read (the slow-call tally and the models follow).
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn read_live(&self, on_list: &mut dyn FnMut(&SessionList)) -> Result<Live, StoreError> {
        let state = self.file_state();
        self.snapshot(|| {
            let mut read_warnings = Vec::new();
            let (aggregates, summed) = match self.trace_aggregates_keyed("SUM", None) {
                Ok(a) => (a, true),
                Err(e) if is_overflow(&e) => {
                    read_warnings.push(overflow_warning());
                    (self.trace_aggregates_keyed("TOTAL", None)?, false)
                }
                Err(e) => return Err(e),
            };
            let rows = self.session_rows(None)?;
            let (sessions, warnings) = self.assemble(&rows, aggregates.iter().map(|(a, _)| a));
            let trace_count: u64 = sessions.iter().map(|s| s.event_count).sum();
            let mut list_warnings = read_warnings.clone();
            list_warnings.extend(warnings);
            let list = SessionList { file: self.file_info_with(trace_count), sessions, warnings: list_warnings };
            on_list(&list);
            let slow = SlowTally::new(&self.tool_durations()?);
            let tally = self.model_tally()?;
            let models_sql = if tally.is_none() { Some(self.model_usage_sql()?) } else { None };
            let all_plain = aggregates.iter().all(|(_, plain)| *plain);
            let count: u64 = aggregates.iter().map(|(a, _)| a.event_count).sum();
            let mark = self.mark_now(count, rows.len() as u64)?;
            let rows_in_order = rows.is_sorted_by_key(|r| r.rowid) && rows.iter().all(|r| r.rowid.is_some());
            let exact = summed
                && all_plain
                && tally.is_some()
                && rows_in_order
                && self.schema.row_id.is_some()
                && self.schema.binary_text
                && (self.schema.sessions.is_none() || self.schema.session_row_id.is_some())
                && self.uses_index(&self.trace_aggregates_sql("SUM", None));
            let mut by_id = BTreeMap::new();
            for (a, _) in aggregates {
                // Two groups printed alike (only in a file that is not `exact`): the later
                // overwrites, as in the list.
                by_id.insert(a.session_id.clone(), a);
            }
            Ok(Live {
                identity: self.identity()?,
                mark,
                exact,
                rows,
                aggregates: by_id,
                sums: HashMap::new(),
                read_warnings,
                slow,
                models: tally.unwrap_or_default(),
                models_sql,
                list,
                state,
            })
        })
    }

    /// Brings `live` up to date with the file: appended rows only when the checks (see the
    /// module's notes) find nothing else changed, else a full read. `deep` adds the count of
    /// every trace (tens of milliseconds on a file of millions).
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails; `live` is then as it was.
    pub fn refresh_live(&self, live: &mut Live, deep: bool) -> Result<Refresh, StoreError> {
        let why = match self.identity() {
            Ok(id) if id != live.identity => Some("the file was replaced".to_owned()),
            Ok(_) if !live.exact => Some("this file's values are read in full each time".to_owned()),
            // The state before the read transaction: a commit after it moves it.
            Ok(_) => match (self.file_state(), self.snapshot(|| self.delta(live, deep))?) {
                (state, Ok(Some(delta))) => {
                    let appended = Refresh::Appended { traces: delta.traces, sessions: delta.new_sessions };
                    self.apply(live, delta);
                    live.state = state;
                    return Ok(appended);
                }
                (state, Ok(None)) => {
                    live.state = state;
                    return Ok(Refresh::Unchanged);
                }
                (_, Err(why)) => Some(why),
            },
            Err(e) => return Err(e),
        };
        let why = why.unwrap_or_default();
        *live = self.read_live(&mut |_| {})?;
        Ok(Refresh::Reread(why))
    }

    /// The cheap checks of [`Store::refresh_live`] against `mark`, with nothing appended: the
    /// schema, both ends of each table and the ids stored there, the oldest timestamp and the
    /// session count. For a list whose [`FileState`] shows nothing was written since.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub(super) fn mark_holds(&self, mark: &Mark) -> Result<bool, StoreError> {
        self.snapshot(|| {
            let schema_version =
                self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
            if schema_version != mark.schema_version || self.schema_fingerprint() != mark.schema {
                return Ok(false);
            }
            let Some(rowid) = self.schema.row_id else { return Ok(false) };
            let (first, last) = self.ends("agent_traces", rowid, &self.schema.trace_col("id"))?;
            if first != mark.traces.first
                || last != mark.traces.last
                || self.oldest_timestamp()? != mark.oldest_timestamp
            {
                return Ok(false);
            }
            match (&mark.sessions, self.schema.sessions.is_some(), self.schema.session_row_id) {
                (None, false, _) => Ok(true),
                (Some(m), true, Some(srowid)) => {
                    let (first, last) = self.ends("agent_trace_sessions", srowid, &self.schema.session_col("id"))?;
                    Ok(first == m.first && last == m.last && self.count("agent_trace_sessions")? == m.count)
                }
                _ => Ok(false),
            }
        })
    }

    /// A row id's name on a table, quoted ids.
    fn ends(&self, table: &str, rowid: &str, id: &str) -> Result<(Option<RowEnd>, Option<RowEnd>), StoreError> {
        let end = |order: &str| -> Result<Option<RowEnd>, StoreError> {
            let sql = format!("SELECT {rowid}, quote({id}) FROM {table} ORDER BY {rowid} {order} LIMIT 1");
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
            match rows.next().map_err(|e| self.err(e))? {
                Some(r) => Ok(match (get(r, 0), get(r, 1)) {
                    (ValueRef::Integer(n), ValueRef::Text(t)) => Some((n, t.to_vec())),
                    _ => None,
                }),
                None => Ok(None),
            }
        };
        Ok((end("ASC")?, end("DESC")?))
    }

    /// `quote(id)` of the row with this row id, if there is one.
    fn id_at(&self, table: &str, rowid: &str, id: &str, at: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT quote({id}) FROM {table} WHERE {rowid} = ?1");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([at]).map_err(|e| self.err(e))?;
        Ok(match rows.next().map_err(|e| self.err(e))? {
            Some(r) => match get(r, 0) {
                ValueRef::Text(t) => Some(t.to_vec()),
                _ => None,
            },
            None => None,
        })
    }

    fn count(&self, table: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    fn oldest_timestamp(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT quote(MIN({ts})) FROM agent_traces", ts = self.schema.trace_col("timestamp"));
        if !self.uses_index(&sql) {
            return Ok(None);
        }
        self.conn
            .query_row(&sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    ValueRef::Text(t) => Some(t.to_vec()),
                    _ => None,
                })
            })
            .map_err(|e| self.err(e))
    }

    /// True when SQLite answers `sql` through an index, without a temporary B-tree.
    fn uses_index(&self, sql: &str) -> bool {
        let Ok(mut stmt) = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else { return false };
        let Ok(details) = stmt.query_map([], |r| r.get::<_, String>(3)) else { return false };
        let details: Vec<String> = details.filter_map(Result::ok).collect();
        details.iter().any(|d| d.contains("INDEX")) && !details.iter().any(|d| d.contains("TEMP B-TREE"))
    }

    fn mark_now(&self, traces: u64, sessions: u64) -> Result<Mark, StoreError> {
        let schema_version =
            self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
        let (first, last) = match self.schema.row_id {
            Some(rowid) => self.ends("agent_traces", rowid, &self.schema.trace_col("id"))?,
            None => (None, None),
        };
        let sessions = match (&self.schema.sessions, self.schema.session_row_id) {
            (Some(_), Some(rowid)) => {
                let (first, last) = self.ends("agent_trace_sessions", rowid, &self.schema.session_col("id"))?;
                Some(TableMark { count: sessions, first, last })
            }
            _ => None,
        };
        Ok(Mark {
            schema_version,
            schema: self.schema_fingerprint(),
            traces: TableMark { count: traces, first, last },
            sessions,
            oldest_timestamp: self.oldest_timestamp()?,
        })
    }

    /// Checks the mark and reads what was appended: `Ok(Ok(None))` when nothing changed,
    /// `Ok(Err(why))` when a full read is needed.
    #[expect(clippy::too_many_lines, reason = "one check after another, in the order they cost")]
    fn delta(&self, live: &Live, deep: bool) -> Result<Result<Option<Delta>, String>, StoreError> {
        let old = &live.mark;
        let schema_version =
            self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
        if schema_version != old.schema_version || self.schema_fingerprint() != old.schema {
            return Ok(Err("the schema changed (or the file was vacuumed)".to_owned()));
        }
        let Some(rowid) = self.schema.row_id else { return Ok(Err("no row id".to_owned())) };
        let id = self.schema.trace_col("id");
        let (first, last) = self.ends("agent_traces", rowid, &id)?;
        // The oldest rows must still be there: retention deletes them first.
        if old.traces.first.is_some() && first != old.traces.first {
            return Ok(Err("old traces were deleted".to_owned()));
        }
        if let Some((at, quoted)) = &old.traces.last
            && self.id_at("agent_traces", rowid, &id, *at)?.as_ref() != Some(quoted)
        {
            return Ok(Err("the last traces read were deleted or changed".to_owned()));
        }
        if self.oldest_timestamp()? != old.oldest_timestamp {
            return Ok(Err("the oldest trace changed".to_owned()));
        }
        // Sessions: ends and count.
        let mut session_ends = None;
        if let (Some(old_sessions), Some(srowid)) = (&old.sessions, self.schema.session_row_id) {
            let sid = self.schema.session_col("id");
            let (sfirst, slast) = self.ends("agent_trace_sessions", srowid, &sid)?;
            if old_sessions.first.is_some() && sfirst != old_sessions.first {
                return Ok(Err("old sessions were deleted".to_owned()));
            }
            if let Some((at, quoted)) = &old_sessions.last
                && self.id_at("agent_trace_sessions", srowid, &sid, *at)?.as_ref() != Some(quoted)
            {
                return Ok(Err("the last sessions read were deleted or changed".to_owned()));
            }
            session_ends = Some((sfirst, slast, self.count("agent_trace_sessions")?));
        }
        let after = old.traces.last_rowid();
        let trace_rows = match self.trace_rows_after(rowid, after)? {
            Some(rows) => rows,
            None => return Ok(Err("new traces hold values read in full".to_owned())),
        };
        let traces = trace_rows.len() as u64;
        if deep && self.count("agent_traces")? != old.traces.count + traces {
            return Ok(Err("traces were deleted".to_owned()));
        }
        // Session rows: new ones, running ones, and those with new traces.
        let mut records = Vec::new();
        let mut new_sessions = 0;
        let mut sessions_mark = None;
        if let (Some(old_sessions), Some((sfirst, slast, count)), Some(srowid)) =
            (&old.sessions, session_ends, self.schema.session_row_id)
        {
            let touched: HashSet<&str> = trace_rows.iter().map(|r| r.session.as_str()).collect();
            let again: Vec<i64> = live
                .rows
                .iter()
                .filter(|r| {
                    r.row.as_ref().is_none_or(|s| {
                        s.status == "running" || s.completed_at.is_none() || touched.contains(s.id.as_str())
                    })
                })
                .filter_map(|r| r.rowid)
                .collect();
            let old_last = old_sessions.last_rowid();
            let listed: Vec<String> = again.iter().map(i64::to_string).collect();
            let filter = format!("WHERE {srowid} > {old_last} OR {srowid} IN ({}) ORDER BY {srowid}", listed.join(","));
            records = self.session_rows_where(&filter, &[])?;
            new_sessions = records.iter().filter(|r| r.rowid.is_some_and(|n| n > old_last)).count() as u64;
            if records.len() as u64 - new_sessions != again.len() as u64 {
                return Ok(Err("sessions were deleted".to_owned()));
            }
            if count != old_sessions.count + new_sessions {
                return Ok(Err("sessions were deleted".to_owned()));
            }
            if !records.is_sorted_by_key(|r| r.rowid) {
                return Ok(Err("session rows out of order".to_owned()));
            }
            sessions_mark = Some(TableMark { count, first: sfirst, last: slast });
        } else if old.sessions.is_some() {
            return Ok(Err("the sessions table changed".to_owned()));
        }
        // Each touched session's sums: carried on, or read once in full.
        let mut sums: HashMap<String, SessionSums> = HashMap::new();
        for row in &trace_rows {
            if sums.contains_key(&row.session) {
                continue;
            }
            let start = match (live.sums.get(&row.session), live.aggregates.contains_key(&row.session)) {
                (Some(s), _) => s.clone(),
                (None, false) => SessionSums::default(),
                (None, true) => match self.session_sums(rowid, &row.session, after)? {
                    Some(s) => s,
                    None => return Ok(Err("a session's traces hold values read in full".to_owned())),
                },
            };
            sums.insert(row.session.clone(), start);
        }
        for row in &trace_rows {
            if let Some(s) = sums.get_mut(&row.session)
                && !s.add(row)
            {
                return Ok(Err("a token sum overflowed".to_owned()));
            }
        }
        let durations = if traces > 0 { self.tool_durations_after(after)? } else { Vec::new() };
        let models = if traces > 0 {
            match self.model_rows_after(after)? {
                Some(rows) if live.models.can_add(&rows) => rows,
                _ => return Ok(Err("new traces hold model values read in full".to_owned())),
            }
        } else {
            Vec::new()
        };
        let mark = Mark {
            schema_version,
            schema: old.schema.clone(),
            traces: TableMark { count: old.traces.count + traces, first, last },
            sessions: sessions_mark,
            oldest_timestamp: old.oldest_timestamp.clone(),
        };
        let same = |r: &SessionRecord| {
            live.rows.binary_search_by_key(&r.rowid, |l| l.rowid).ok().and_then(|i| live.rows.get(i)) == Some(r)
        };
        if traces == 0 && mark == *old && records.iter().all(same) {
            return Ok(Ok(None));
        }
        Ok(Ok(Some(Delta { mark, records, sums: sums.into_iter().collect(), durations, models, traces, new_sessions })))
    }

    /// The traces above row id `after`, in row id order; `None` when one holds a value the
    /// running sums cannot take as SQLite would.
    fn trace_rows_after(&self, rowid: &str, after: i64) -> Result<Option<Vec<TraceRow>>, StoreError> {
        self.trace_rows(rowid, &format!("{rowid} > ?1"), rusqlite::types::Value::Integer(after))
    }

    /// One session's sums over its traces up to row id `upto`, read in full.
    fn session_sums(&self, rowid: &str, session: &str, upto: i64) -> Result<Option<SessionSums>, StoreError> {
        let sid = self.schema.trace_col("session_id");
        let Some(rows) =
            self.trace_rows(rowid, &format!("{sid} = ?1"), rusqlite::types::Value::Text(session.to_owned()))?
        else {
            return Ok(None);
        };
        let mut sums = SessionSums::default();
        for row in rows.iter().filter(|r| r.rowid <= upto) {
            if !sums.add(row) {
                return Ok(None);
            }
        }
        Ok(Some(sums))
    }

    fn trace_rows(
        &self,
        rowid: &str,
        filter: &str,
        param: rusqlite::types::Value,
    ) -> Result<Option<Vec<TraceRow>>, StoreError> {
        let s = &self.schema;
        let sql = format!(
            "SELECT {rowid}, {sid}, {tin}, {tout}, {cost}, {ty}, {ts} FROM agent_traces WHERE {filter} ORDER BY {rowid}",
            sid = s.trace_col("session_id"),
            tin = whole_number_sql(s.trace_col("input_tokens")),
            tout = whole_number_sql(s.trace_col("output_tokens")),
            cost = finite_sql(s.trace_col("cost_usd")),
            ty = s.trace_col("type"),
            ts = s.trace_col("timestamp"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let whole = |i| match get(r, i) {
                ValueRef::Null => Some(None),
                ValueRef::Integer(n) => Some(Some(n)),
                _ => None,
            };
            let text = |i| match get(r, i) {
                ValueRef::Null => Some(None),
                ValueRef::Text(t) => std::str::from_utf8(t).ok().map(|s| Some(s.to_owned())),
                _ => None,
            };
            let session = match get(r, 1) {
                ValueRef::Text(t) if !t.is_empty() => match std::str::from_utf8(t) {
                    Ok(s) if crate::ids::is_plain(s) => s.to_owned(),
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            };
            let cost = match get(r, 4) {
                ValueRef::Null => RowCost::Null,
                ValueRef::Integer(n) => RowCost::Int(n),
                ValueRef::Real(f) => RowCost::Real(f),
                _ => return Ok(None),
            };
            let (Some(input), Some(output), Some(kind), Some(timestamp)) = (whole(2), whole(3), text(5), text(6))
            else {
                return Ok(None);
            };
            let ValueRef::Integer(rowid) = get(r, 0) else { return Ok(None) };
            out.push(TraceRow {
                rowid,
                session,
                input,
                output,
                cost,
                error: kind.as_deref() == Some("error"),
                timestamp,
            });
        }
        Ok(Some(out))
    }

    fn apply(&self, live: &mut Live, delta: Delta) {
        // The sessions whose list rows change, and whether the list can be mended in place.
        let old_last = live.mark.sessions.as_ref().map_or(i64::MIN, TableMark::last_rowid);
        let mut changed: Vec<Change> = Vec::new();
        let mut mendable = self.schema.sessions.is_some() && live.list.warnings.is_empty();
        for record in delta.records {
            let Some(at) = record.rowid else { continue };
            let new = match live.rows.binary_search_by_key(&Some(at), |r| r.rowid) {
                Ok(i) => {
                    let Some(slot) = live.rows.get_mut(i) else { continue };
                    // Rows read again unchanged (running sessions) change nothing.
                    if *slot == record {
                        continue;
                    }
                    mendable &= slot.row.as_ref().map(|r| &r.id) == record.row.as_ref().map(|r| &r.id);
                    *slot = record.clone();
                    false
                }
                Err(i) => {
                    mendable &= at > old_last;
                    live.rows.insert(i, record.clone());
                    true
                }
            };
            match record.row {
                Some(row) => changed.push(Change { id: row.id.clone(), row: Some(row), new }),
                None => mendable = false,
            }
        }
        for (session, sums) in delta.sums {
            live.aggregates.insert(session.clone(), sums.aggregate(&session));
            live.sums.insert(session.clone(), sums);
            changed.push(Change { id: session, row: None, new: false });
        }
        live.slow.add(&delta.durations);
        for row in delta.models {
            // Checked by `can_add` before.
            let _ = live.models.add(row);
        }
        live.mark = delta.mark;
        if !(mendable && mend_list(&mut live.list.sessions, changed, &live.aggregates)) {
            let (sessions, warnings) = self.assemble(&live.rows, live.aggregates.values());
            let mut all = live.read_warnings.clone();
            all.extend(warnings);
            live.list.sessions = sessions;
            live.list.warnings = all;
        }
        let trace_count = live.list.sessions.iter().map(|s| s.event_count).sum();
        live.list.file = self.file_info_with(trace_count);
    }
}

/// A session whose list row changes: its session row when that changed (`new` when the row
/// was added), else only its aggregates.
struct Change {
    id: String,
    row: Option<SessionRow>,
    new: bool,
}

/// Mends `list` (as [`Store::assemble`] left it, with no warnings) for the `changed` sessions:
/// each with its new session row (or its row as listed) and its aggregates now, moved to its
/// place in the newest-first order. Gives up (false, the list then half mended: the caller
/// assembles it again) on anything that would make `assemble` warn or whose place depends on
/// the order of the rows: a new row whose id is listed already (a duplicate), two changed rows
/// of one id, traces of a session without a row, a start equal to another session's.
fn mend_list(list: &mut Vec<SessionRow>, changed: Vec<Change>, aggregates: &BTreeMap<String, TraceAggregate>) -> bool {
    let key = |s: &SessionRow| (s.started, s.started_at.clone());
    let mut rows: HashMap<String, (SessionRow, bool)> = HashMap::new();
    for c in &changed {
        if let Some(row) = &c.row
            && rows.insert(c.id.clone(), (row.clone(), c.new)).is_some()
        {
            return false;
        }
    }
    let mut done: HashSet<String> = HashSet::new();
    for Change { id, .. } in changed {
        if !done.insert(id.clone()) {
            continue;
        }
        // Active sessions are among the newest: look from the front.
        let at = list.iter().position(|s| s.id == id);
        let mut row = match (rows.remove(&id), at) {
            (Some((_, true)), Some(_)) | (Some((_, false)), None) | (None, None) => return false,
            (Some((row, _)), _) => row,
            (None, Some(i)) => match list.get(i) {
                Some(listed) if listed.has_session_row => listed.clone(),
                _ => return false,
            },
        };
        if let Some(agg) = aggregates.get(&id) {
            row.event_count = agg.event_count;
            row.total_input_tokens = agg.input_tokens;
            row.total_output_tokens = agg.output_tokens;
            row.total_tokens = agg.input_tokens.saturating_add(agg.output_tokens);
            row.total_cost_usd = agg.cost_usd;
            row.error_count = agg.error_count;
            row.first_event_at.clone_from(&agg.first_event_at);
            row.last_event_at.clone_from(&agg.last_event_at);
        }
        if let Some(i) = at {
            let Some(slot) = list.get_mut(i) else { return false };
            if key(slot) == key(&row) {
                *slot = row;
                continue;
            }
            list.remove(i);
        }
        let new_key = key(&row);
        let i = list.partition_point(|s| key(s) > new_key);
        if list.get(i).is_some_and(|s| key(s) == new_key) {
            return false;
        }
        list.insert(i, row);
    }
    true
}
