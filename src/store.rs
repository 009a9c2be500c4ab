//! Read-only access to an `agent_traces.db` file: schema discovery, the session list with
//! aggregates, one session's events, search, and one trace's every column.
//!
//! The file is untrusted and belongs to the user: it is opened read-only, in defensive mode,
//! with views, triggers and untrusted schema functions off, and `query_only` set. Columns are
//! discovered with `PRAGMA table_info`; only `id`, `session_id`, `type` and `timestamp` are
//! required. Every value is read through lenient converters that turn a bad value into a
//! warning on its trace instead of an error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::ScopedJoinHandle;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, params_from_iter};
use serde::Deserialize;

use crate::error::StoreError;
use crate::ids;
use crate::model::{
    EventInfo, Field, FileInfo, ModelUsage, SearchHit, SearchQuery, SessionData, SessionList, SessionRow, TraceDetail,
    TraceEvent, Warning, is_error_kind,
};
use crate::time::{self, Timestamp};

/// How long a query waits for a writer's lock before reporting [`StoreError::Locked`].
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(1500);

/// The most of one raw value loaded for the detail view; longer values are cut (and say so).
/// `data` is never cut: it is the JSON the detail view shows as a tree.
pub const DETAIL_VALUE_LIMIT: usize = 1 << 20;

/// Columns of `agent_traces` this reader understands, in schema order.
pub const TRACE_COLUMNS: [&str; 15] = [
    "id",
    "session_id",
    "type",
    "timestamp",
    "duration_ms",
    "parent_trace_id",
    "data",
    "input_tokens",
    "output_tokens",
    "model_used",
    "provider_used",
    "cost_usd",
    "raw_input",
    "raw_output",
    "created_at",
];
const REQUIRED_TRACE_COLUMNS: [&str; 4] = ["id", "session_id", "type", "timestamp"];
/// Columns holding ids, shown in their printed form (see [`ids`]).
const ID_COLUMNS: [&str; 3] = ["id", "session_id", "parent_trace_id"];
/// SQLite's names for a table's row id, each usable unless a column takes it.
const ROW_ID_NAMES: [&str; 3] = ["_rowid_", "rowid", "oid"];

/// Which known columns exist, under the spelling the file uses.
#[derive(Clone, Debug, Default)]
struct Schema {
    traces: HashMap<&'static str, String>,
    extra_trace_columns: Vec<String>,
    /// Columns of `agent_trace_sessions` (by known name), when the table exists with an id.
    sessions: Option<HashMap<&'static str, String>>,
    has_settings: bool,
    /// A name for the row id that no column shadows (`_rowid_`, `rowid` or `oid`); none for a
    /// WITHOUT ROWID table or one with columns of all three names.
    row_id: Option<&'static str>,
    /// `agent_traces` declares no collation: text compares byte by byte, as Rust does.
    binary_text: bool,
}

impl Schema {
    /// A select expression for a trace column: the quoted column, or NULL when absent.
    fn trace_col(&self, name: &str) -> String {
        self.traces.get(name).map_or_else(|| "NULL".to_owned(), |c| quote_ident(c))
    }
    fn session_col(&self, name: &str) -> String {
        self.sessions.as_ref().and_then(|s| s.get(name)).map_or_else(|| "NULL".to_owned(), |c| quote_ident(c))
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

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
    /// both see the same rows of it. Joining the halves holds the later one twice for a moment, so
    /// the peak is about half the session's events above what the loaded session keeps.
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

    fn discover(&self) -> Result<Schema, StoreError> {
        let mut objects: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('table','view')")
                .map_err(|e| self.err(e))?;
            let rows =
                stmt.query_map([], |r| Ok((lossy(r.get_ref(0)?), lossy(r.get_ref(1)?)))).map_err(|e| self.err(e))?;
            for row in rows {
                objects.push(row.map_err(|e| self.err(e))?);
            }
        }
        let find = |name: &str| objects.iter().find(|(_, n)| n.eq_ignore_ascii_case(name));
        match find("agent_traces") {
            None => {
                let mut tables: Vec<&str> =
                    objects.iter().filter(|(t, _)| t == "table").map(|(_, n)| n.as_str()).collect();
                tables.sort_unstable();
                let tables = if tables.is_empty() { "none".to_owned() } else { tables.join(", ") };
                return Err(StoreError::NoTracesTable { path: self.path.clone(), tables });
            }
            Some((kind, _)) if kind != "table" => {
                return Err(StoreError::NotATable { path: self.path.clone(), kind: kind.clone() });
            }
            Some(_) => {}
        }
        let mut schema = Schema::default();
        for column in self.table_columns("agent_traces")? {
            match TRACE_COLUMNS.iter().find(|k| k.eq_ignore_ascii_case(&column)) {
                Some(known) if !schema.traces.contains_key(known) => {
                    schema.traces.insert(known, column);
                }
                _ => schema.extra_trace_columns.push(column),
            }
        }
        for required in REQUIRED_TRACE_COLUMNS {
            if !schema.traces.contains_key(required) {
                return Err(StoreError::MissingColumn { path: self.path.clone(), column: required });
            }
        }
        if matches!(find("agent_trace_sessions"), Some((kind, _)) if kind == "table") {
            let mut cols = HashMap::new();
            for column in self.table_columns("agent_trace_sessions")? {
                for known in ["id", "task", "status", "started_at", "completed_at"] {
                    if known.eq_ignore_ascii_case(&column) && !cols.contains_key(known) {
                        cols.insert(known, column.clone());
                    }
                }
            }
            if cols.contains_key("id") {
                schema.sessions = Some(cols);
            }
        }
        schema.has_settings = matches!(find("trace_settings"), Some((kind, _)) if kind == "table");
        // A column may be named like the row id, and then hides that name: take one it leaves
        // free. WITHOUT ROWID tables have none; then traces are told apart by id alone.
        schema.row_id = ROW_ID_NAMES.into_iter().find(|name| {
            let shadowed =
                schema.traces.values().chain(&schema.extra_trace_columns).any(|c| c.eq_ignore_ascii_case(name));
            !shadowed && self.conn.prepare(&format!("SELECT {name} FROM agent_traces LIMIT 0")).is_ok()
        });
        schema.binary_text = self
            .conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'agent_traces' COLLATE NOCASE",
                [],
                |r| Ok(lossy(r.get_ref(0)?)),
            )
            .is_ok_and(|sql| !sql.to_ascii_lowercase().contains("collate"));
        Ok(schema)
    }

    fn table_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = format!("PRAGMA table_info({})", quote_ident(table));
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| Ok(lossy(r.get_ref(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Facts about the file: size, schema differences, trace count, retention setting.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn file_info(&self) -> Result<FileInfo, StoreError> {
        let trace_count: i64 =
            self.conn.query_row("SELECT COUNT(*) FROM agent_traces", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(self.file_info_with(u64::try_from(trace_count).unwrap_or(0)))
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

    /// All sessions with their aggregates, newest first. Sessions named only by traces (no
    /// session row, or no sessions table at all) are listed too. Raw I/O is never read.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn list_sessions(&self) -> Result<SessionList, StoreError> {
        self.snapshot(|| self.sessions_where(None))
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

    /// The session list, or with `only` just the rows (and aggregates) of that session id.
    fn sessions_where(&self, only: Option<&str>) -> Result<SessionList, StoreError> {
        self.sessions_with(only, None)
    }

    /// [`Store::sessions_where`], with the trace aggregates already computed when given.
    fn sessions_with(&self, only: Option<&str>, known: Option<Vec<TraceAggregate>>) -> Result<SessionList, StoreError> {
        let mut warnings = Vec::new();
        let aggregates = match known.map_or_else(|| self.trace_aggregates("SUM", only), Ok) {
            Ok(a) => a,
            Err(StoreError::Sqlite { cause, .. }) if cause.to_string().contains("integer overflow") => {
                warnings.push(Warning::general("token sums exceed the 64-bit integer range; totals are approximate"));
                self.trace_aggregates("TOTAL", only)?
            }
            Err(e) => return Err(e),
        };
        let mut sessions: Vec<SessionRow> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        if self.schema.sessions.is_some() {
            let (filter, params) = match only {
                Some(id) => (format!("WHERE {}", key_filter(&self.schema.session_col("id"), id)), vec![key_param(id)]),
                None => (String::new(), Vec::new()),
            };
            let sql = format!(
                "SELECT {}, {}, {}, {}, {}, typeof({}) FROM agent_trace_sessions {filter}",
                self.schema.session_col("id"),
                self.schema.session_col("task"),
                self.schema.session_col("status"),
                self.schema.session_col("started_at"),
                self.schema.session_col("completed_at"),
                self.schema.session_col("id"),
            );
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let mut notes = Vec::new();
                let Some(id) = key_value(r, 0, "id", &mut notes) else {
                    warnings.push(Warning::general("a session row has a NULL id; skipped"));
                    continue;
                };
                if index.contains_key(&id) {
                    warnings.push(Warning::general(format!("session id '{id}' appears twice; the first row is shown")));
                    continue;
                }
                let task = text_value(r, 1, "task", &mut notes).unwrap_or_default();
                let status = text_value(r, 2, "status", &mut notes).unwrap_or_else(|| "unknown".to_owned());
                let started_at = text_value(r, 3, "started_at", &mut notes);
                let completed_at = text_value(r, 4, "completed_at", &mut notes);
                let started = time_of(r, 3, "started_at", &mut notes);
                let completed = time_of(r, 4, "completed_at", &mut notes);
                let duration_ms = match (started, completed) {
                    (Some(s), Some(c)) => Some(c.ms_since(s)),
                    _ => None,
                };
                index.insert(id.clone(), sessions.len());
                sessions.push(SessionRow {
                    id,
                    task,
                    status,
                    started_at,
                    completed_at,
                    started,
                    completed,
                    duration_ms,
                    has_session_row: true,
                    warnings: notes,
                    ..SessionRow::default()
                });
            }
        } else {
            warnings.push(Warning::general("no agent_trace_sessions table: sessions are derived from their traces"));
        }
        for agg in aggregates {
            let i = match index.get(&agg.session_id) {
                Some(&i) => i,
                None => {
                    let started = agg.first_event_at.as_deref().and_then(|t| time::parse_text(t).ok()).map(|p| p.time);
                    if self.schema.sessions.is_some() {
                        warnings.push(Warning::general(format!(
                            "{} traces name session '{}', which has no session row",
                            agg.event_count,
                            display_session_id(&agg.session_id)
                        )));
                    }
                    index.insert(agg.session_id.clone(), sessions.len());
                    sessions.push(SessionRow {
                        id: agg.session_id.clone(),
                        status: "unknown".to_owned(),
                        started_at: agg.first_event_at.clone(),
                        started,
                        ..SessionRow::default()
                    });
                    sessions.len() - 1
                }
            };
            if let Some(row) = sessions.get_mut(i) {
                row.event_count = agg.event_count;
                row.total_input_tokens = agg.input_tokens;
                row.total_output_tokens = agg.output_tokens;
                row.total_tokens = agg.input_tokens.saturating_add(agg.output_tokens);
                row.total_cost_usd = agg.cost_usd;
                row.error_count = agg.error_count;
                row.first_event_at = agg.first_event_at;
                row.last_event_at = agg.last_event_at;
            }
        }
        // Newest first, as the reference list; sessions without a readable start go last.
        sessions.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.started_at.cmp(&a.started_at)));
        let trace_count = sessions.iter().map(|s| s.event_count).sum();
        Ok(SessionList { file: self.file_info_with(trace_count), sessions, warnings })
    }

    fn trace_aggregates(&self, sum: &str, only: Option<&str>) -> Result<Vec<TraceAggregate>, StoreError> {
        let s = &self.schema;
        // One session: its traces by the session index (NULL and '' both list as "").
        let (filter, params) = match only {
            Some("") => {
                let col = s.trace_col("session_id");
                (format!("WHERE ({col} IS NULL OR {col} = '')"), Vec::new())
            }
            Some(id) => (format!("WHERE {}", key_filter(&s.trace_col("session_id"), id)), vec![key_param(id)]),
            None => (String::new(), Vec::new()),
        };
        // The sums count what the per-trace converters accept.
        let (whole, finite) = (whole_number_sql, finite_sql);
        let sql = format!(
            "SELECT {sid}, typeof({sid}), COUNT(*), {sum}({tin}), {sum}({tout}), TOTAL({cost}), \
             SUM({ty} = 'error'), MIN({ts}), MAX({ts}) FROM agent_traces {filter} GROUP BY {sid}",
            sid = s.trace_col("session_id"),
            tin = whole(s.trace_col("input_tokens")),
            tout = whole(s.trace_col("output_tokens")),
            cost = finite(s.trace_col("cost_usd")),
            ty = s.trace_col("type"),
            ts = s.trace_col("timestamp"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let session_id = key_value(r, 0, "session_id", &mut notes).unwrap_or_default();
            out.push(TraceAggregate {
                session_id,
                event_count: count_value(r, 2),
                input_tokens: sum_value(r, 3),
                output_tokens: sum_value(r, 4),
                cost_usd: float_value(r, 5, "cost_usd", &mut notes).unwrap_or(0.0),
                error_count: count_value(r, 6),
                first_event_at: text_value(r, 7, "timestamp", &mut notes),
                last_event_at: text_value(r, 8, "timestamp", &mut notes),
            });
        }
        Ok(out)
    }

    /// Every model's calls, tokens and cost across the file, costliest first. Counted as a
    /// session's summary counts them, so the file's figures are the sums of the sessions'.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn model_usage(&self) -> Result<Vec<ModelUsage>, StoreError> {
        match self.model_usage_with("SUM") {
            Err(StoreError::Sqlite { cause, .. }) if cause.to_string().contains("integer overflow") => {
                self.model_usage_with("TOTAL")
            }
            other => other,
        }
    }

    fn model_usage_with(&self, sum: &str) -> Result<Vec<ModelUsage>, StoreError> {
        let s = &self.schema;
        if !s.traces.contains_key("model_used") {
            return Ok(Vec::new());
        }
        let column = |name: &str| if s.traces.contains_key(name) { s.trace_col(name) } else { "NULL".to_owned() };
        let (tin, tout, cost) = (
            whole_number_sql(column("input_tokens")),
            whole_number_sql(column("output_tokens")),
            finite_sql(column("cost_usd")),
        );
        let sql = format!(
            "SELECT {model}, MIN({provider}), COUNT(*), COUNT(DISTINCT {sid}), {sum}({tin}), {sum}({tout}), TOTAL({cost}) \
             FROM agent_traces WHERE {model} IS NOT NULL AND {model} != '' \
             AND ({tin} IS NOT NULL OR {tout} IS NOT NULL OR {cost} IS NOT NULL) GROUP BY {model}",
            model = s.trace_col("model_used"),
            provider = column("provider_used"),
            sid = s.trace_col("session_id"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<ModelUsage> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let Some(model) = text_value(r, 0, "model_used", &mut notes).filter(|m| !m.is_empty()) else {
                continue;
            };
            let usage = ModelUsage {
                provider: text_value(r, 1, "provider_used", &mut notes).filter(|p| !p.is_empty()),
                calls: count_value(r, 2),
                sessions: count_value(r, 3),
                input_tokens: sum_value(r, 4),
                output_tokens: sum_value(r, 5),
                cost_usd: float_value(r, 6, "cost_usd", &mut notes).unwrap_or(0.0),
                model,
            };
            // Values SQLite keeps apart (the number 5 and the text '5') read as one name.
            match out.iter_mut().find(|m| m.model == usage.model) {
                Some(m) => {
                    m.calls += usage.calls;
                    m.sessions += usage.sessions;
                    m.input_tokens = m.input_tokens.saturating_add(usage.input_tokens);
                    m.output_tokens = m.output_tokens.saturating_add(usage.output_tokens);
                    m.cost_usd += usage.cost_usd;
                    m.provider = m.provider.take().or(usage.provider);
                }
                None => out.push(usage),
            }
        }
        out.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.calls.cmp(&a.calls)));
        Ok(out)
    }

    /// Finds the session whose id is `query` or starts with it. `query` is an id as this
    /// program prints it (see [`ids`]) or a prefix of one; the answer is the id so printed.
    ///
    /// # Errors
    /// [`StoreError::NoSuchSession`] or [`StoreError::AmbiguousSession`], or a SQLite failure.
    pub fn resolve_session(&self, query: &str) -> Result<String, StoreError> {
        self.snapshot(|| self.resolve_session_now(query))
    }

    fn resolve_session_now(&self, query: &str) -> Result<String, StoreError> {
        if let Some(id) = self.exact_session_id(query)? {
            return Ok(id);
        }
        let mut ids: Vec<String> = Vec::new();
        let mut collect = |sql: String, params: &[&dyn rusqlite::ToSql]| -> Result<(), StoreError> {
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query(params).map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                if let Some(id) = key_value(r, 0, "id", &mut Vec::new())
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            Ok(())
        };
        let sessions_id = self.schema.sessions.is_some().then(|| self.schema.session_col("id"));
        let traces_id = self.schema.trace_col("session_id");
        if let ids::StoredId::Text(prefix) = ids::parse(query) {
            // Byte prefixes of text ids (blobs print as x'..', which a text prefix is not).
            let starts = |id: &str| {
                format!(
                    "typeof({id}) = 'text' AND substr(CAST({id} AS BLOB), 1, length(CAST(?1 AS BLOB))) = CAST(?1 AS BLOB)"
                )
            };
            let low = IdParam(ids::StoredId::Text(prefix.clone()));
            if let Some(id) = &sessions_id {
                collect(format!("SELECT {id} FROM agent_trace_sessions WHERE {} LIMIT 50", starts(id)), &[&low])?;
            }
            // The index range of the prefix, then the exact test.
            match prefix_end(&prefix) {
                Some(end) => collect(
                    format!(
                        "SELECT DISTINCT {id} FROM agent_traces WHERE {id} >= ?1 AND {id} < ?2 AND {} LIMIT 50",
                        starts(&traces_id),
                        id = traces_id
                    ),
                    &[&low, &IdParam(ids::StoredId::Text(end))],
                )?,
                None => collect(
                    format!(
                        "SELECT DISTINCT {id} FROM agent_traces WHERE {id} >= ?1 AND {} LIMIT 50",
                        starts(&traces_id),
                        id = traces_id
                    ),
                    &[&low],
                )?,
            }
        }
        // A blob id's printed form, cut short: `x'7E4`.
        if let Some(hex) = query.strip_prefix("x'").map(|h| h.trim_end_matches('\''))
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let hex = IdParam::text(hex.to_ascii_uppercase());
            let starts = |id: &str| format!("typeof({id}) = 'blob' AND substr(hex({id}), 1, length(?1)) = ?1");
            if let Some(id) = &sessions_id {
                collect(format!("SELECT {id} FROM agent_trace_sessions WHERE {} LIMIT 50", starts(id)), &[&hex])?;
            }
            collect(
                format!("SELECT DISTINCT {id} FROM agent_traces WHERE {} LIMIT 50", starts(&traces_id), id = traces_id),
                &[&hex],
            )?;
        }
        if let Some(exact) = ids.iter().find(|id| *id == query) {
            return Ok(exact.clone());
        }
        // A prefix of an id as printed wins over one of the stored bytes (`x'7` is the start of
        // the blob id x'74', even if a text id starts with those three characters).
        if ids.iter().any(|id| id.starts_with(query)) {
            ids.retain(|id| id.starts_with(query));
        }
        match ids.len() {
            0 => Err(StoreError::NoSuchSession { path: self.path.clone(), query: query.to_owned() }),
            1 => Ok(ids.remove(0)),
            count => Err(StoreError::AmbiguousSession { path: self.path.clone(), query: query.to_owned(), count }),
        }
    }

    /// The session id exactly `query` names, as this program prints it, when a session row or
    /// a trace has it (the common case of [`Store::resolve_session`]: one index probe).
    fn exact_session_id(&self, query: &str) -> Result<Option<String>, StoreError> {
        if query.is_empty() {
            return Ok(None);
        }
        let param = key_param(query);
        // The binary comparison keeps a NOCASE column from matching another spelling.
        let probe = |table: &str, col: String| -> Result<Option<String>, StoreError> {
            let sql = format!(
                "SELECT {col} FROM {table} WHERE {} AND CAST({col} AS BLOB) = CAST(?1 AS BLOB) LIMIT 1",
                key_filter(&col, query)
            );
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([&param]).map_err(|e| self.err(e))?;
            Ok(rows.next().map_err(|e| self.err(e))?.and_then(|r| key_value(r, 0, "id", &mut Vec::new())))
        };
        if self.schema.sessions.is_some()
            && let Some(id) = probe("agent_trace_sessions", self.schema.session_col("id"))?
        {
            return Ok(Some(id));
        }
        probe("agent_traces", self.schema.trace_col("session_id"))
    }

    /// The list row of one session (aggregates included).
    ///
    /// # Errors
    /// [`StoreError::NoSuchSession`] when neither table knows it, or a SQLite failure.
    pub fn session_row(&self, session_id: &str) -> Result<SessionRow, StoreError> {
        // Only this session's rows: a whole-file aggregate would read every trace of the file.
        let find = |list: SessionList| list.sessions.into_iter().find(|s| s.id == session_id);
        if let Some(row) = find(self.sessions_where(Some(session_id))?) {
            return Ok(row);
        }
        // An id that only matches as the list spells it (numbers stored in an untyped
        // column, say): take it from the whole list.
        find(self.list_sessions()?)
            .ok_or_else(|| StoreError::NoSuchSession { path: self.path.clone(), query: session_id.to_owned() })
    }

    /// Loads one session's events (no raw I/O), sorted by time (unreadable times last, in
    /// stored order). `row` is the session's list row when the caller has it already.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails or the query is interrupted.
    pub fn load_session(&self, session_id: &str, row: Option<SessionRow>) -> Result<SessionData, StoreError> {
        self.snapshot(|| self.load_session_now(session_id, row))
    }

    fn load_session_now(&self, session_id: &str, row: Option<SessionRow>) -> Result<SessionData, StoreError> {
        let (filter, param) = session_filter(&self.schema, session_id);
        // A plain id filters with `session_id = ?1` (numbers and the NULL session do not).
        let splittable = is_plain_key(session_id);
        let no_progress = &mut |_| ControlFlow::Continue(());
        let (row, mut events) = match row {
            Some(row) => {
                // The row's count sizes the vector once (a hint: the file may have changed since).
                let capacity = usize::try_from(row.event_count).unwrap_or(0).min(MAX_RESERVED_EVENTS);
                let events = self.query_events(&filter, &param, capacity, splittable, None, no_progress)?;
                (row, events)
            }
            None => {
                // The row's aggregates are summed while the events are read: one pass over the
                // session's traces instead of two. Values SQLite would have to convert (or a
                // declared collation) send the aggregates back to SQL, so they always match
                // the session list's.
                let mut sums = (self.schema.binary_text && is_plain_key(session_id)).then(RowSums::default);
                let events = self.query_events(&filter, &param, 0, splittable, sums.as_mut(), no_progress)?;
                let known = sums.and_then(|s| s.aggregates(session_id));
                let row = match known {
                    Some(a) => {
                        self.sessions_with(Some(session_id), Some(a))?.sessions.into_iter().find(|s| s.id == session_id)
                    }
                    None => None,
                };
                let row = match row {
                    Some(r) => r,
                    None => self.session_row(session_id)?,
                };
                (row, events)
            }
        };
        sort_events(&mut events);
        let mut warnings = Vec::new();
        for e in &events {
            for w in &e.warnings {
                warnings.push(Warning::trace(&e.id, w.clone()));
            }
        }
        warnings.extend(row.warnings.iter().map(|w| Warning::general(w.clone())));
        Ok(SessionData { row, events, warnings })
    }

    /// Reads events matching `filter` (a WHERE clause over `agent_traces` with one parameter).
    /// `progress` sees the count read so far every 4,096 rows and may stop the read. With
    /// `splittable` (the filter is a plain `column = ?1`) a big read is split by row id between
    /// this connection and a second one.
    fn query_events(
        &self,
        filter: &str,
        param: &IdParam,
        capacity: usize,
        splittable: bool,
        sums: Option<&mut RowSums>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<TraceEvent>, StoreError> {
        let s = &self.schema;
        let rowid = s.row_id.unwrap_or("NULL");
        let raw_len = |c: &str| match s.traces.get(c) {
            Some(name) => format!("octet_length({})", quote_ident(name)),
            None => "NULL".to_owned(),
        };
        let sql = format!(
            "SELECT {rowid}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM agent_traces WHERE {filter}",
            s.trace_col("id"),
            s.trace_col("session_id"),
            s.trace_col("type"),
            s.trace_col("timestamp"),
            s.trace_col("duration_ms"),
            s.trace_col("parent_trace_id"),
            s.trace_col("data"),
            s.trace_col("input_tokens"),
            s.trace_col("output_tokens"),
            s.trace_col("model_used"),
            s.trace_col("provider_used"),
            s.trace_col("cost_usd"),
            raw_len("raw_input"),
            raw_len("raw_output"),
        );
        if splittable
            && self.read_mode == ReadMode::Fastest
            && let Some(split) = self.split_point(filter, param)?
        {
            return self.query_events_split(&sql, param, split, sums, progress);
        }
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut sums = sums;
        let mut interner = Interner::default();
        // Reading `data` for labels is a third of the work per row and needs nothing from
        // SQLite: a second thread does it for full batches while this one keeps stepping.
        std::thread::scope(|scope| {
            let mut batch: Unlabelled = Vec::with_capacity(LABEL_BATCH.min(capacity.max(64)));
            let mut labeller: Option<Labeller<'_>> = None;
            let mut read = 0usize;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                if let Some(sums) = sums.as_deref_mut() {
                    sums.add(r);
                }
                let (event, data) = event_from_row(r, read, &mut interner);
                batch.push((event, data.into_owned()));
                read += 1;
                if batch.len() == LABEL_BATCH {
                    let (tx, _) = labeller.get_or_insert_with(|| {
                        let (tx, rx) = std::sync::mpsc::sync_channel::<Unlabelled>(4);
                        let handle = scope.spawn(move || {
                            let mut out = Vec::with_capacity(capacity);
                            let mut names = Interner::default();
                            for batch in rx {
                                label_batch(batch, &mut out, &mut names);
                            }
                            out
                        });
                        (tx, handle)
                    });
                    // A send fails only when the labeller died; its join below says why.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(LABEL_BATCH)));
                }
                if read.is_multiple_of(4096) && progress(read).is_break() {
                    return Err(StoreError::Cancelled { path: self.path.clone() });
                }
            }
            let mut out = match labeller {
                None => Vec::with_capacity(batch.len()),
                Some((tx, handle)) => {
                    drop(tx);
                    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }
            };
            label_batch(batch, &mut out, &mut interner);
            Ok(out)
        })
    }

    /// For a read worth splitting (rows spread over many row ids): where to split it, how many
    /// rows each half holds, and a second connection that sees the same rows. Called inside
    /// [`Store::snapshot`].
    fn split_point(&self, filter: &str, param: &IdParam) -> Result<Option<Split>, StoreError> {
        let Some(alias) = self.schema.row_id else { return Ok(None) };
        // Each is one index probe.
        let bound = |f: &str| -> Result<Option<i64>, StoreError> {
            self.conn
                .query_row(&format!("SELECT {f}({alias}) FROM agent_traces WHERE {filter}"), [param], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        let (Some(lo), Some(hi)) = (bound("MIN")?, bound("MAX")?) else { return Ok(None) };
        if hi.saturating_sub(lo) < SPLIT_MIN_ROWS {
            return Ok(None);
        }
        let middle = lo + (hi - lo) / 2 + 1;
        // Counted on the index alone: each half's vector is sized once instead of growing
        // (and copying) its way up to a few hundred megabytes.
        let counts = |conn: &Connection| -> rusqlite::Result<(i64, i64)> {
            let count = |range: &str| {
                conn.query_row(
                    &format!("SELECT count(*) FROM agent_traces WHERE {filter} AND {alias} {range} ?2"),
                    rusqlite::params![param, middle],
                    |r| r.get::<_, i64>(0),
                )
            };
            Ok((count("<")?, count(">=")?))
        };
        let here = counts(&self.conn).map_err(|e| self.err(e))?;
        // A writer may commit between the two connections' first reads. The second one is
        // used only when it sees as many of the session's rows on both sides of the middle as
        // this one (a writer appends: equal counts are equal rows); else one connection reads.
        let second = open_connection(&self.db_path).and_then(|conn| {
            conn.execute_batch("BEGIN")?;
            let there = counts(&conn)?;
            Ok((conn, there))
        });
        match second {
            Ok((conn, there)) if there == here => {
                let size = |n: i64| usize::try_from(n).unwrap_or(0).min(MAX_RESERVED_EVENTS);
                Ok(Some(Split { conn, alias, middle, lower_rows: size(here.0), upper_rows: size(here.1) }))
            }
            Ok(_) => Ok(None),
            Err(e) => {
                log::debug!("{}: no second connection for a split read: {e}", self.path.display());
                Ok(None)
            }
        }
    }

    /// [`Store::query_events`] in two row id ranges at once: below `middle` here, from `middle`
    /// on the split's second connection; the halves join in row id order, so the result (and
    /// the sums) are those of one read.
    fn query_events_split(
        &self,
        sql: &str,
        param: &IdParam,
        split: Split,
        sums: Option<&mut RowSums>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<TraceEvent>, StoreError> {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let path = self.path.as_path();
        let want_sums = sums.is_some();
        let Split { conn: upper_conn, alias, middle, lower_rows, upper_rows } = split;
        let mut sums = sums;
        // Each half labels its events as it reads them: both threads are busy already.
        let read_half = |conn: &Connection,
                         range: &str,
                         capacity: usize,
                         mut sums: Option<&mut RowSums>,
                         step: &mut dyn FnMut(usize) -> bool|
         -> rusqlite::Result<Option<Vec<TraceEvent>>> {
            let mut stmt = conn.prepare(&format!("{sql} AND {alias} {range}"))?;
            let mut rows = stmt.query(rusqlite::params![param, middle])?;
            let mut out = Vec::with_capacity(capacity);
            let mut interner = Interner::default();
            while let Some(r) = rows.next()? {
                if let Some(sums) = sums.as_deref_mut() {
                    sums.add(r);
                }
                let (mut event, data) = event_from_row(r, out.len(), &mut interner);
                label_event(&mut event, &data, &mut interner);
                out.push(event);
                if out.len().is_multiple_of(4096) && !step(out.len()) {
                    return Ok(None);
                }
            }
            Ok(Some(out))
        };
        let cancelled = || StoreError::Cancelled { path: path.to_owned() };
        let (read_half, stop_flag) = (&read_half, &stop);
        std::thread::scope(|scope| {
            // The second connection moves to the thread that reads with it, and closes there.
            let upper = scope.spawn(move || -> Result<(Vec<TraceEvent>, Option<RowSums>), StoreError> {
                let mut sums = want_sums.then(RowSums::default);
                let out = read_half(&upper_conn, ">= ?2", upper_rows, sums.as_mut(), &mut |_| {
                    !stop_flag.load(std::sync::atomic::Ordering::Relaxed)
                })
                .map_err(|e| map_sqlite(path, e))?
                .ok_or_else(cancelled)?;
                Ok((out, sums))
            });
            // The halves are read at the same pace: report twice this half's count.
            // Room for both halves: the upper one is appended without growing.
            let both = lower_rows.saturating_add(upper_rows).min(MAX_RESERVED_EVENTS);
            let lower =
                read_half(&self.conn, "< ?2", both, sums.as_deref_mut(), &mut |n| progress(n * 2).is_continue())
                    .map_err(|e| self.err(e))
                    .and_then(|out| out.ok_or_else(cancelled));
            if lower.is_err() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let upper = upper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let mut events = lower?;
            let (mut upper_events, upper_sums) = upper?;
            events.append(&mut upper_events);
            if let (Some(sums), Some(later)) = (sums, upper_sums) {
                sums.merge(later);
            }
            Ok(events)
        })
    }

    /// Finds traces whose type, data, raw input or raw output contain `query.text`, calling
    /// `on_hit` for each as it is found (return `Break` to stop). Returns the number of hits.
    /// The text is always a bound parameter; `%`, `_` and `\` match literally.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn search(
        &self,
        query: &SearchQuery,
        on_hit: &mut dyn FnMut(SearchHit) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let s = &self.schema;
        let pattern = format!("%{}%", escape_like(&query.text));
        let searchable: Vec<(&str, String)> = ["type", "data", "raw_input", "raw_output"]
            .into_iter()
            .filter_map(|c| s.traces.get(c).map(|n| (c, quote_ident(n))))
            .collect();
        let any = searchable.iter().map(|(_, c)| format!("{c} LIKE ?1 ESCAPE '\\'")).collect::<Vec<_>>().join(" OR ");
        let which = searchable
            .iter()
            .map(|(name, c)| format!("WHEN {c} LIKE ?1 ESCAPE '\\' THEN '{name}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let snippet = searchable
            .iter()
            .map(|(_, c)| {
                format!(
                    "WHEN {c} LIKE ?1 ESCAPE '\\' THEN substr(CAST({c} AS TEXT), max(1, instr(lower(CAST({c} AS TEXT)), lower(?2)) - 40), 160)"
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut params: Vec<IdParam> = vec![IdParam::text(pattern), IdParam::text(query.text.clone())];
        let mut filter = format!("({any})");
        if let Some(session) = &query.session_id {
            let (f, p) = session_filter(s, session);
            filter = format!("{filter} AND {}", f.replace("?1", &format!("?{}", params.len() + 1)));
            params.push(p);
        }
        if let Some(kind) = &query.kind {
            filter = format!("{filter} AND {} = ?{}", s.trace_col("type"), params.len() + 1);
            params.push(IdParam::text(kind.clone()));
        }
        let sql = format!(
            "SELECT {}, {}, {}, {}, CASE {which} END, CASE {snippet} END FROM agent_traces WHERE {filter}",
            s.trace_col("id"),
            s.trace_col("session_id"),
            s.trace_col("type"),
            s.trace_col("timestamp"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
        let mut count = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let hit = SearchHit {
                id: key_value(r, 0, "id", &mut notes).unwrap_or_default(),
                session_id: key_value(r, 1, "session_id", &mut notes).unwrap_or_default(),
                kind: text_value(r, 2, "type", &mut notes).unwrap_or_default(),
                timestamp: text_value(r, 3, "timestamp", &mut notes).unwrap_or_default(),
                field: text_value(r, 4, "field", &mut notes).unwrap_or_default(),
                snippet: text_value(r, 5, "snippet", &mut notes).map(|t| one_line(&t)).unwrap_or_default(),
            };
            count += 1;
            if on_hit(hit).is_break() {
                break;
            }
        }
        Ok(count)
    }

    /// Every column of the trace with this id (the first when several share it).
    ///
    /// # Errors
    /// [`StoreError::NoSuchTrace`] or a SQLite failure.
    pub fn trace_detail(&self, id: &str) -> Result<TraceDetail, StoreError> {
        let filter = key_filter(&self.schema.trace_col("id"), id);
        self.detail_where(&filter, &key_param(id), id)
    }

    /// Every column of the trace in this row (exact even when ids repeat).
    ///
    /// # Errors
    /// [`StoreError::NoSuchTrace`] or a SQLite failure.
    pub fn trace_detail_by_row(&self, rowid: i64, id: &str) -> Result<TraceDetail, StoreError> {
        let Some(alias) = self.schema.row_id else {
            return self.trace_detail(id);
        };
        self.detail_where(&format!("{alias} = ?1"), &rowid, id)
    }

    fn detail_where(&self, filter: &str, param: &dyn rusqlite::ToSql, id: &str) -> Result<TraceDetail, StoreError> {
        self.snapshot(|| self.detail_now(filter, param, id))
    }

    fn detail_now(&self, filter: &str, param: &dyn rusqlite::ToSql, id: &str) -> Result<TraceDetail, StoreError> {
        let columns = self.table_columns("agent_traces")?;
        let limit = DETAIL_VALUE_LIMIT;
        let select = columns
            .iter()
            .map(|c| {
                let q = quote_ident(c);
                // `data` comes whole: the detail view reads it as a JSON tree.
                let text = if c.eq_ignore_ascii_case("data") { q.clone() } else { format!("substr({q}, 1, {limit})") };
                format!(
                    "typeof({q}), CASE WHEN typeof({q}) = 'blob' THEN substr({q}, 1, 256) ELSE {text} END, octet_length({q})"
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {select} FROM agent_traces WHERE {filter} LIMIT 2");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut detail: Option<TraceDetail> = None;
        let mut count = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            count += 1;
            if detail.is_some() {
                continue;
            }
            let mut d = TraceDetail { id: id.to_owned(), ..TraceDetail::default() };
            for (i, name) in columns.iter().enumerate() {
                let storage = match r.get_ref(i * 3).map_err(|e| self.err(e))? {
                    ValueRef::Text(t) => match t {
                        b"integer" => "integer",
                        b"real" => "real",
                        b"text" => "text",
                        b"blob" => "blob",
                        _ => "null",
                    },
                    _ => "null",
                };
                let size = r.get_ref(i * 3 + 2).ok().and_then(|v| match v {
                    ValueRef::Integer(n) => u64::try_from(n).ok(),
                    _ => None,
                });
                let value = match r.get_ref(i * 3 + 1).map_err(|e| self.err(e))? {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(f) => Some(f.to_string()),
                    // Ids show as everywhere else, so that they can be given back.
                    ValueRef::Text(t) if ID_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) => {
                        Some(ids::text_id(t))
                    }
                    ValueRef::Text(t) => {
                        if std::str::from_utf8(t).is_err() {
                            d.warnings.push(format!("{name} is not valid UTF-8; shown with replacement characters"));
                        }
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Blob(b) => Some(ids::blob_id(b)),
                };
                let size_bytes = size.unwrap_or(0);
                let shown = value.as_ref().map_or(0, |v| if storage == "blob" { (v.len() - 3) / 2 } else { v.len() });
                let cut = matches!(storage, "text" | "blob") && (shown as u64) < size_bytes;
                if cut {
                    d.warnings.push(format!("{name} is {size_bytes} bytes; only the first {shown} are shown"));
                }
                d.fields.push(Field { name: name.clone(), storage, value, size_bytes, cut });
            }
            detail = Some(d);
        }
        let mut d = detail.ok_or_else(|| StoreError::NoSuchTrace { path: self.path.clone(), id: id.to_owned() })?;
        d.duplicates = count;
        if count > 1 {
            d.warnings.push(format!("more than one trace has the id '{id}'; the first is shown"));
        }
        Ok(d)
    }

    /// Durations of every tool call in the file, with the tool's name and session, for the
    /// file-wide percentiles that decide which calls are slow. Raw I/O is not read.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn tool_durations(&self) -> Result<Vec<ToolDuration>, StoreError> {
        let s = &self.schema;
        if !s.traces.contains_key("duration_ms") {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {}, {}, {} FROM agent_traces WHERE {} = 'tool_result' AND {} IS NOT NULL",
            s.trace_col("session_id"),
            s.trace_col("data"),
            s.trace_col("duration_ms"),
            s.trace_col("type"),
            s.trace_col("duration_ms"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let (mut sessions, mut tools) = (Interner::default(), Interner::default());
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let Some(duration_ms) = float_value(r, 2, "duration_ms", &mut notes).filter(|d| valid_duration(*d)) else {
                continue;
            };
            let data = row_text(r, 1, "data", &mut notes).unwrap_or_default();
            let tool = serde_json::from_str::<DataFields>(&data)
                .ok()
                .and_then(|f| f.tool.or(f.tool_name).or(f.name))
                .and_then(|v| scalar_text(&v));
            out.push(ToolDuration {
                session_id: shared_key(r, 0, "session_id", &mut notes, &mut sessions).unwrap_or_default(),
                tool: tools.get(tool.as_deref().unwrap_or("(unnamed tool)")),
                duration_ms,
            });
        }
        Ok(out)
    }
}

/// See [`Store::change_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeToken {
    data_version: Option<i64>,
    file: Option<(u64, Option<std::time::SystemTime>)>,
    wal: Option<(u64, Option<std::time::SystemTime>)>,
}

/// One tool call's duration, as [`Store::tool_durations`] gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDuration {
    /// Shared by the session's other calls.
    pub session_id: Arc<str>,
    /// Shared by the tool's other calls.
    pub tool: Arc<str>,
    pub duration_ms: f64,
}

/// The aggregates of [`Store::trace_aggregates`] for one session, summed in Rust over the rows
/// of its events with SQLite's own arithmetic (`SUM`, `TOTAL` with Kahan–Babuška–Neumaier
/// compensation, `MIN`/`MAX` of text by bytes). Only plain values are taken: the first value
/// SQLite would convert (text numbers, blobs, a non-text id, type or timestamp) or an integer
/// overflow marks the sums unusable, and the caller asks SQL instead.
struct RowSums {
    usable: bool,
    count: u64,
    input: i64,
    output: i64,
    /// `cost_usd` values in row order: `TOTAL` is summed at the end, so sums of parts read
    /// in parallel still add up in SQLite's order.
    costs: Vec<Cost>,
    errors: u64,
    first: Option<String>,
    last: Option<String>,
}

#[derive(Clone, Copy)]
enum Cost {
    Int(i64),
    Real(f64),
}

impl Default for RowSums {
    fn default() -> Self {
        Self { usable: true, count: 0, input: 0, output: 0, costs: Vec::new(), errors: 0, first: None, last: None }
    }
}

impl RowSums {
    /// Adds one row of the events query (columns as [`Store::query_events`] selects them).
    fn add(&mut self, r: &Row<'_>) {
        if !self.usable {
            return;
        }
        self.count += 1;
        let ok = matches!(get(r, 2), ValueRef::Text(_))
            && add_int(&mut self.input, get(r, 8))
            && add_int(&mut self.output, get(r, 9))
            && match get(r, 12) {
                ValueRef::Null => true,
                ValueRef::Integer(n) => {
                    self.costs.push(Cost::Int(n));
                    true
                }
                // As the SQL total: an infinite cost is left out (it is a warning on its trace).
                ValueRef::Real(f) if !f.is_finite() => true,
                ValueRef::Real(f) => {
                    self.costs.push(Cost::Real(f));
                    true
                }
                _ => false,
            }
            && match get(r, 3) {
                ValueRef::Null => true,
                ValueRef::Text(t) => {
                    self.errors += u64::from(t == b"error");
                    true
                }
                _ => false,
            }
            && match get(r, 4) {
                ValueRef::Null => true,
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(t) => {
                        keep_extreme(&mut self.first, t, std::cmp::Ordering::Less);
                        keep_extreme(&mut self.last, t, std::cmp::Ordering::Greater);
                        true
                    }
                    Err(_) => false,
                },
                _ => false,
            };
        self.usable = ok;
    }

    /// Appends the sums of the rows that follow these.
    fn merge(&mut self, later: RowSums) {
        self.usable &= later.usable;
        self.count += later.count;
        match (self.input.checked_add(later.input), self.output.checked_add(later.output)) {
            (Some(i), Some(o)) => (self.input, self.output) = (i, o),
            // Only a near-overflowing total gets here; SQL then sums it exactly.
            _ => self.usable = false,
        }
        self.costs.extend(later.costs);
        self.errors += later.errors;
        if let Some(t) = later.first.as_deref() {
            keep_extreme(&mut self.first, t, std::cmp::Ordering::Less);
        }
        if let Some(t) = later.last.as_deref() {
            keep_extreme(&mut self.last, t, std::cmp::Ordering::Greater);
        }
    }

    /// The session's aggregates as `trace_aggregates` gives them; `None` when unusable.
    fn aggregates(self, session_id: &str) -> Option<Vec<TraceAggregate>> {
        if !self.usable || self.count > MAX_SUMMED_ROWS {
            return None;
        }
        if self.count == 0 {
            return Some(Vec::new());
        }
        let mut sum = SqlSum::default();
        for c in &self.costs {
            match *c {
                Cost::Int(n) => sum.step_int(n),
                Cost::Real(f) => sum.step_real(f),
            }
        }
        let cost = sum.total();
        Some(vec![TraceAggregate {
            session_id: session_id.to_owned(),
            event_count: self.count,
            input_tokens: self.input,
            output_tokens: self.output,
            cost_usd: if cost.is_finite() { cost } else { 0.0 },
            error_count: self.errors,
            first_event_at: self.first,
            last_event_at: self.last,
        }])
    }
}

/// `MIN` (with `Less`) or `MAX` of text by bytes, reusing the kept string's buffer.
fn keep_extreme(kept: &mut Option<String>, t: &str, want: std::cmp::Ordering) {
    match kept {
        Some(k) if t.cmp(k.as_str()) == want => {
            k.clear();
            k.push_str(t);
        }
        Some(_) => {}
        None => *kept = Some(t.to_owned()),
    }
}

/// Token counts up to this size are summed here; with fewer than `MAX_SUMMED_ROWS` rows no
/// running total (in any order or split) can overflow, so SQLite's overflow error cannot be
/// missed. Anything larger is left to SQL.
const MAX_SUMMED_TOKENS: i64 = 1 << 40;
const MAX_SUMMED_ROWS: u64 = 1 << 22;

/// `SUM` of an integer column: plain integers of a sane size only.
fn add_int(sum: &mut i64, v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Null => true,
        ValueRef::Integer(n) if n.abs() <= MAX_SUMMED_TOKENS => match sum.checked_add(n) {
            Some(s) => {
                *sum = s;
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// SQLite's `SumCtx` for integer and real inputs (`sumStep` and `totalFinalize`).
#[derive(Default)]
struct SqlSum {
    r_sum: f64,
    r_err: f64,
    i_sum: i64,
    approx: bool,
}

impl SqlSum {
    const BIG: i64 = 4_503_599_627_370_496;

    fn kbn(&mut self, r: f64) {
        let s = self.r_sum;
        let t = s + r;
        if s.abs() > r.abs() {
            self.r_err += (s - t) + r;
        } else {
            self.r_err += (r - t) + s;
        }
        self.r_sum = t;
    }

    fn kbn_int(&mut self, v: i64) {
        if v <= -Self::BIG || v >= Self::BIG {
            let small = v % 16384;
            self.kbn((v - small) as f64);
            self.kbn(small as f64);
        } else {
            self.kbn(v as f64);
        }
    }

    fn init(&mut self, v: i64) {
        if v <= -Self::BIG || v >= Self::BIG {
            let small = v % 16384;
            self.r_sum = (v - small) as f64;
            self.r_err = small as f64;
        } else {
            self.r_sum = v as f64;
            self.r_err = 0.0;
        }
    }

    fn step_int(&mut self, v: i64) {
        if self.approx {
            self.kbn_int(v);
        } else if let Some(x) = self.i_sum.checked_add(v) {
            self.i_sum = x;
        } else {
            self.init(self.i_sum);
            self.approx = true;
            self.kbn_int(v);
        }
    }

    fn step_real(&mut self, v: f64) {
        if !self.approx {
            self.init(self.i_sum);
            self.approx = true;
        }
        self.kbn(v);
    }

    /// `TOTAL(x)`.
    fn total(&self) -> f64 {
        if !self.approx {
            return self.i_sum as f64;
        }
        if self.r_err.is_finite() { self.r_sum + self.r_err } else { self.r_sum }
    }
}

#[derive(Debug, PartialEq)]
struct TraceAggregate {
    session_id: String,
    event_count: u64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    error_count: u64,
    first_event_at: Option<String>,
    last_event_at: Option<String>,
}

/// How the lists show the session id "" (traces with a NULL session id).
#[must_use]
pub fn display_session_id(id: &str) -> &str {
    if id.is_empty() { "(no session id)" } else { id }
}

/// A WHERE clause (with `?1`) and its parameter selecting one session's traces.
fn session_filter(schema: &Schema, session_id: &str) -> (String, IdParam) {
    let col = schema.trace_col("session_id");
    if session_id.is_empty() {
        // Traces with a NULL session id are listed under the empty id.
        (format!("({col} IS NULL AND ?1 = '')"), IdParam::text(String::new()))
    } else {
        (key_filter(&col, session_id), key_param(session_id))
    }
}

/// A WHERE clause (with `?1`, bound to [`key_param`]) matching a column to an id in its
/// printed form. Each is one index probe.
fn key_filter(col: &str, key: &str) -> String {
    // A number stored in a column without text affinity prints as its digits.
    if key.parse::<i64>().is_ok_and(|n| n.to_string() == key) {
        format!("{col} IN (?1, CAST(?1 AS INTEGER))")
    } else {
        format!("{col} = ?1")
    }
}

/// The stored value an id in its printed form stands for, to bind.
fn key_param(key: &str) -> IdParam {
    IdParam(ids::parse(key))
}

/// True when the id filters with `column = ?1` alone (see [`key_filter`]).
fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key_filter("c", key) == "c = ?1"
}

/// The least byte string above every string that starts with `prefix` (none when the prefix
/// is all 0xFF bytes).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A bound value: text (as bytes, which need not be UTF-8) or a blob.
struct IdParam(ids::StoredId);

impl IdParam {
    fn text(text: String) -> IdParam {
        IdParam(ids::StoredId::Text(text.into_bytes()))
    }
}

impl rusqlite::ToSql for IdParam {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match &self.0 {
            ids::StoredId::Text(b) => ValueRef::Text(b),
            ids::StoredId::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Sorts events by parsed time; events without one keep their stored order after the rest.
pub fn sort_events(events: &mut [TraceEvent]) {
    // Rows usually come in time order already; checking is far cheaper than moving them.
    if events.is_sorted_by_key(|e| (e.time.is_none(), e.time)) {
        return;
    }
    events.sort_by_key(|e| (e.time.is_none(), e.time));
}

/// The `-wal` file beside a database.
#[must_use]
pub fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// A token column as the per-trace converters accept it: whole numbers (integers, whole
/// reals, numeric text), else NULL. One real among the tokens would otherwise turn SUM into a
/// float. NULL (most traces) is told by the cheapest test, and `CASE typeof(c) WHEN` reads the
/// other values' type once.
fn whole_number_sql(c: String) -> String {
    format!(
        "CASE WHEN {c} IS NULL THEN NULL ELSE CASE typeof({c}) WHEN 'integer' THEN {c} \
         WHEN 'real' THEN CASE WHEN {c} = CAST({c} AS INTEGER) THEN CAST({c} AS INTEGER) END \
         WHEN 'text' THEN CAST(trim({c}) AS INTEGER) END END"
    )
}

/// A cost column without infinities (one would make a whole total infinite), else NULL.
fn finite_sql(c: String) -> String {
    format!("CASE WHEN {c} IS NULL THEN NULL WHEN abs({c}) <= 1.7976931348623157e308 THEN {c} END")
}

// ---- files this process reads ------------------------------------------------------------

/// A file by identity, so that two paths to one file are one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_key(meta: &std::fs::Metadata) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt as _;
    Some(FileKey { dev: meta.dev(), ino: meta.ino() })
}

/// Elsewhere closing a handle does not drop another's locks: no entry is needed.
#[cfg(not(unix))]
fn file_key(_meta: &std::fs::Metadata) -> Option<FileKey> {
    None
}

/// A file some store of this process reads.
struct HeldFile {
    key: FileKey,
    stores: usize,
}

/// Every file a live [`Store`] reads. POSIX locks belong to the process, and closing any
/// descriptor of a file drops all of them: reading a header through a descriptor of our own
/// while another store of this process is inside a read would let a writer commit under it.
/// So a file's header is read only when no store of this process holds the file.
static HELD_FILES: std::sync::Mutex<Vec<HeldFile>> = std::sync::Mutex::new(Vec::new());

fn held_files() -> std::sync::MutexGuard<'static, Vec<HeldFile>> {
    // The list is consistent between statements; a panic elsewhere cannot leave it half-made.
    HELD_FILES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A store's entry in [`HELD_FILES`], given up on drop.
struct Held {
    key: Option<FileKey>,
}

impl Held {
    /// Checks that `real` (the resolved `path`) is a non-empty SQLite file and enters it in
    /// the list.
    fn take(path: &Path, real: &Path) -> Result<Held, StoreError> {
        let meta = std::fs::metadata(real).map_err(|e| io_error(path, e))?;
        if meta.is_dir() {
            return Err(StoreError::NotAFile { path: path.to_owned(), what: "is a directory, not a database file" });
        }
        if !meta.is_file() {
            // A FIFO would block the open; a device or socket is no database either.
            return Err(StoreError::NotAFile {
                path: path.to_owned(),
                what: "not a regular file (a pipe, socket or device), not a database",
            });
        }
        if meta.len() == 0 {
            return Err(StoreError::Empty { path: path.to_owned() });
        }
        let Some(key) = file_key(&meta) else {
            read_header(path, real)?;
            return Ok(Held { key: None });
        };
        let mut files = held_files();
        if let Some(file) = files.iter_mut().find(|f| f.key == key) {
            file.stores += 1;
            return Ok(Held { key: Some(key) });
        }
        // Read under the lock: no other store of this process can be reading the file now.
        read_header(path, real)?;
        files.push(HeldFile { key, stores: 1 });
        Ok(Held { key: Some(key) })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut files = held_files();
        if let Some(i) = files.iter().position(|f| f.key == key) {
            files[i].stores -= 1;
            if files[i].stores == 0 {
                files.swap_remove(i);
            }
        }
    }
}

/// The error for a failed file operation on `path`: "not found" on its own, else the system's
/// own words once.
fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound { path: path.to_owned() },
        _ => StoreError::Io { path: path.to_owned(), cause: e },
    }
}

/// The file a path names, symlinks resolved, as SQLite resolves it before it looks for the
/// `-wal` and `-shm` beside it.
fn resolve(path: &Path) -> Result<PathBuf, StoreError> {
    std::fs::canonicalize(path).map_err(|e| io_error(path, e))
}

/// Checks the magic string at the start of the file.
fn read_header(path: &Path, real: &Path) -> Result<(), StoreError> {
    let mut header = Vec::with_capacity(16);
    File::open(real).and_then(|f| f.take(16).read_to_end(&mut header)).map_err(|e| io_error(path, e))?;
    if header != b"SQLite format 3\0" {
        return Err(StoreError::NotSqlite { path: path.to_owned() });
    }
    Ok(())
}

fn harden(conn: &Connection) -> rusqlite::Result<()> {
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
fn open_connection(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    harden(&conn)?;
    Ok(conn)
}

/// Opens the file read-only, or a private copy of it when it cannot be read in place.
fn open_read_only(path: &Path, real: &Path) -> Result<(Connection, Option<PrivateCopy>), StoreError> {
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
struct PrivateCopy {
    dir: PathBuf,
    /// The copied database in `dir`.
    db: PathBuf,
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
fn open_wal_copy(path: &Path, real: &Path) -> Result<(Connection, PrivateCopy), StoreError> {
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

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn map_sqlite(path: &Path, e: rusqlite::Error) -> StoreError {
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
fn one_line_message(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let joined = one_line(&joined);
    if joined.chars().count() > 300 { format!("{}…", joined.chars().take(300).collect::<String>()) } else { joined }
}

// ---- lenient value conversion -------------------------------------------------------------

fn lossy(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => ids::blob_id(b),
    }
}

fn get<'r>(r: &'r Row<'_>, i: usize) -> ValueRef<'r> {
    r.get_ref(i).unwrap_or(ValueRef::Null)
}

/// Text of a column; invalid UTF-8 is replaced and noted; numbers become text.
fn text_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<String> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                notes.push(format!("{name} is not valid UTF-8; shown with replacement characters"));
                String::from_utf8_lossy(t).into_owned()
            }
        }),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not text", b.len()));
            Some(String::from_utf8_lossy(b).into_owned())
        }
    }
}

/// An identifier column in its printed form (see [`ids`]), which finds the same row when it
/// is given back: plain text as is, other text escaped, blobs as `x'HEX'`.
fn key_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<String> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Text(t) => {
            if std::str::from_utf8(t).is_err() {
                notes.push(format!("{name} is not valid UTF-8; its bytes are shown as \\xNN"));
            }
            Some(ids::text_id(t))
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob; shown as hex"));
            Some(ids::blob_id(b))
        }
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
    }
}

fn count_value(r: &Row<'_>, i: usize) -> u64 {
    match get(r, i) {
        ValueRef::Integer(n) => u64::try_from(n).unwrap_or(0),
        ValueRef::Real(f) if f.is_finite() && f >= 0.0 => f as u64,
        _ => 0,
    }
}

/// A token sum: exact from SUM, or TOTAL's float saturated to the `i64` range on overflow.
fn sum_value(r: &Row<'_>, i: usize) -> i64 {
    match get(r, i) {
        ValueRef::Integer(n) => n,
        // `as` saturates: 2^63 becomes i64::MAX.
        ValueRef::Real(f) if f.is_finite() => f as i64,
        _ => 0,
    }
}

fn int_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<i64> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
        ValueRef::Real(f) => {
            notes.push(format!("{name} is {f}, not a whole number; ignored"));
            None
        }
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match s.trim().parse::<i64>() {
                Ok(n) => {
                    notes.push(format!("{name} is stored as text ('{}')", clip(&s)));
                    Some(n)
                }
                Err(_) => {
                    notes.push(format!("{name} is '{}', not a number; ignored", clip(&s)));
                    None
                }
            }
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not a number; ignored", b.len()));
            None
        }
    }
}

fn float_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<f64> {
    let v = match get(r, i) {
        ValueRef::Null => return None,
        ValueRef::Integer(n) => n as f64,
        ValueRef::Real(f) => f,
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match s.trim().parse::<f64>() {
                Ok(f) => {
                    notes.push(format!("{name} is stored as text ('{}')", clip(&s)));
                    f
                }
                Err(_) => {
                    notes.push(format!("{name} is '{}', not a number; ignored", clip(&s)));
                    return None;
                }
            }
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not a number; ignored", b.len()));
            return None;
        }
    };
    if v.is_finite() {
        Some(v)
    } else {
        notes.push(format!("{name} is {v}; ignored"));
        None
    }
}

/// The longest duration taken at face value: ten years. Longer ones are data errors.
pub const MAX_DURATION_MS: f64 = 10.0 * 365.25 * 24.0 * 3600.0 * 1000.0;

fn valid_duration(d: f64) -> bool {
    d.is_finite() && (0.0..=MAX_DURATION_MS).contains(&d)
}

fn time_of(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<Timestamp> {
    let parsed = match get(r, i) {
        ValueRef::Null => return None,
        ValueRef::Integer(n) => time::parse_number(n as f64),
        ValueRef::Real(f) => time::parse_number(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(text) => time::parse_text(text),
            Err(_) => time::parse_text(&String::from_utf8_lossy(t)),
        },
        ValueRef::Blob(_) => {
            notes.push(format!("{name} is a blob, not a time; left off the timeline"));
            return None;
        }
    };
    match parsed {
        Ok(p) => {
            if p.naive {
                notes.push(format!("{name} has no UTC offset; read as UTC"));
            }
            Some(p.time)
        }
        Err(e) => {
            notes.push(format!("{name}: {e}; left off the timeline"));
            None
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s.to_owned() }
}

/// Hands out one shared copy of each short text a session repeats (event types, models,
/// providers, tool names, call labels), so a big session holds a handful of these strings,
/// not one per event. Up to [`Interner::KEPT`] distinct values are kept (a hostile file's
/// endless distinct values get their own copies past that), and the last one asked for.
#[derive(Default)]
struct Interner {
    kept: std::collections::HashSet<Arc<str>, crate::hash::IdHashBuilder>,
    last: Option<Arc<str>>,
}

impl Interner {
    const KEPT: usize = 4096;

    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(last) = self.last.as_ref().filter(|l| ***l == *text) {
            return Arc::clone(last);
        }
        let shared = match self.kept.get(text) {
            Some(found) => Arc::clone(found),
            None => {
                let shared: Arc<str> = Arc::from(text);
                if self.kept.len() < Self::KEPT {
                    self.kept.insert(Arc::clone(&shared));
                }
                shared
            }
        };
        self.last = Some(Arc::clone(&shared));
        shared
    }
}

/// Text of a column as [`text_value`] reads it, shared through `interner` when it is valid
/// UTF-8 text (the common case needs no copy at all once the value has been seen).
fn shared_text(
    r: &Row<'_>,
    i: usize,
    name: &str,
    notes: &mut Vec<String>,
    interner: &mut Interner,
) -> Option<Arc<str>> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
    {
        return Some(interner.get(text));
    }
    text_value(r, i, name, notes).map(|t| interner.get(&t))
}

/// [`key_value`], shared through `interner`.
fn shared_key(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>, interner: &mut Interner) -> Option<Arc<str>> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
        && ids::is_plain(text)
    {
        return Some(interner.get(text));
    }
    key_value(r, i, name, notes).map(|t| interner.get(&t))
}

/// [`text_value`], borrowed from the row when the value is valid UTF-8 text.
fn row_text<'r>(r: &'r Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<Cow<'r, str>> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
    {
        return Some(Cow::Borrowed(text));
    }
    text_value(r, i, name, notes).map(Cow::Owned)
}

/// Where `data` sits in the rows [`Store::query_events`] selects.
const DATA_COLUMN: usize = 7;

/// Turns a row into an event, and gives its `data` text for [`label_event`] (the event does
/// not keep it: the detail view reads it again).
fn event_from_row<'r>(r: &'r Row<'_>, position: usize, interner: &mut Interner) -> (TraceEvent, Cow<'r, str>) {
    let mut notes = Vec::new();
    let rowid = match get(r, 0) {
        ValueRef::Integer(n) => Some(n),
        _ => None,
    };
    let id = key_value(r, 1, "id", &mut notes).unwrap_or_else(|| {
        notes.push("id is NULL".to_owned());
        format!("(no id #{})", rowid.map_or(position as i64, |n| n))
    });
    // Every event of a load has the session's id: only an odd value's note is kept.
    if !matches!(get(r, 2), ValueRef::Text(t) if std::str::from_utf8(t).is_ok()) {
        let _ = key_value(r, 2, "session_id", &mut notes);
    }
    let kind = shared_text(r, 3, "type", &mut notes, interner).unwrap_or_else(|| {
        notes.push("type is NULL".to_owned());
        interner.get("(no type)")
    });
    let timestamp = row_text(r, 4, "timestamp", &mut notes);
    let time = time_of(r, 4, "timestamp", &mut notes);
    // Only NULL reads as no text at all.
    if timestamp.is_none() {
        notes.push("timestamp is NULL; left off the timeline".to_owned());
    }
    let timestamp = timestamp.unwrap_or_default();
    let duration_ms = float_value(r, 5, "duration_ms", &mut notes).and_then(|d| {
        if valid_duration(d) {
            Some(d)
        } else {
            notes.push(format!("duration_ms {d} is negative or implausibly long; treated as an instant"));
            None
        }
    });
    let parent_trace_id = key_value(r, 6, "parent_trace_id", &mut notes).filter(|p| !p.is_empty());
    let data = row_text(r, DATA_COLUMN, "data", &mut notes).unwrap_or_default();
    let input_tokens = int_value(r, 8, "input_tokens", &mut notes);
    let output_tokens = int_value(r, 9, "output_tokens", &mut notes);
    let model_used = shared_text(r, 10, "model_used", &mut notes, interner).filter(|m| !m.is_empty());
    let provider_used = shared_text(r, 11, "provider_used", &mut notes, interner).filter(|p| !p.is_empty());
    let cost_usd = float_value(r, 12, "cost_usd", &mut notes);
    let size = |i| match get(r, i) {
        ValueRef::Integer(n) => u32::try_from(n).ok(),
        _ => None,
    };
    let raw_input_bytes = size(13);
    let raw_output_bytes = size(14);
    // `info` (and its notes, which come last) is read from `data` by `label_event`.
    let mut event = TraceEvent {
        rowid,
        id,
        kind,
        stored_timestamp: None,
        time,
        duration_ms,
        parent_trace_id,
        input_tokens,
        output_tokens,
        model_used,
        provider_used,
        cost_usd,
        raw_input_bytes,
        raw_output_bytes,
        info: EventInfo::default(),
        warnings: notes,
    };
    event.set_timestamp_text(&timestamp);
    (event, data)
}

/// How a big read is split between two connections.
struct Split {
    /// The second connection, inside a read transaction that sees the session's rows as the
    /// first connection does.
    conn: Connection,
    /// The name of the row id (see [`Schema::row_id`]).
    alias: &'static str,
    /// The first row id of the upper half.
    middle: i64,
    /// Rows below and from `middle`, as both connections count them.
    lower_rows: usize,
    upper_rows: usize,
}

/// The most events a vector is sized for ahead of reading them.
const MAX_RESERVED_EVENTS: usize = 1 << 22;

/// Rowids a session's traces must span before reading them is split between two threads.
const SPLIT_MIN_ROWS: i64 = 16_384;

/// Events with their `data` text, waiting to be labelled.
type Unlabelled = Vec<(TraceEvent, String)>;

/// The labelling thread: where to send batches, and its handle.
type Labeller<'scope> = (SyncSender<Unlabelled>, ScopedJoinHandle<'scope, Vec<TraceEvent>>);

/// Events per batch handed to the labelling thread (a few batches are in flight at once).
const LABEL_BATCH: usize = 512;

/// Reads each event's label, tool, step id and failure flag from its `data` (the last step of
/// turning a row into an event; its notes follow the row's own).
/// Tool names, and the labels of calls (a tool's name, a model, a state), repeat across a
/// session: `names` hands out one shared copy of each.
fn label_event(e: &mut TraceEvent, data: &str, names: &mut Interner) {
    e.info = event_info(&e.kind, data, e.model_used.as_deref(), &mut e.warnings, names);
}

/// [`label_event`] for a batch, moving the events to `out`.
fn label_batch(batch: Unlabelled, out: &mut Vec<TraceEvent>, names: &mut Interner) {
    out.extend(batch.into_iter().map(|(mut e, data)| {
        label_event(&mut e, &data, names);
        e
    }));
}

/// The few `data` keys the views use. Everything else is skipped unparsed into values.
#[derive(Deserialize, Default)]
struct DataFields<'a> {
    #[serde(borrow)]
    tool: Option<Scalar<'a>>,
    #[serde(borrow)]
    tool_name: Option<Scalar<'a>>,
    #[serde(borrow)]
    name: Option<Scalar<'a>>,
    #[serde(borrow)]
    step_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    description: Option<Scalar<'a>>,
    #[serde(borrow)]
    success: Option<Scalar<'a>>,
    #[serde(borrow)]
    error: Option<Scalar<'a>>,
    #[serde(borrow)]
    state: Option<Scalar<'a>>,
    #[serde(borrow)]
    model: Option<Scalar<'a>>,
    #[serde(borrow)]
    from_model: Option<Scalar<'a>>,
    #[serde(borrow)]
    to_model: Option<Scalar<'a>>,
    #[serde(borrow)]
    task: Option<Scalar<'a>>,
    #[serde(borrow)]
    role: Option<Scalar<'a>>,
    #[serde(borrow)]
    status: Option<Scalar<'a>>,
    #[serde(borrow)]
    reason: Option<Scalar<'a>>,
    #[serde(borrow)]
    used: Option<Scalar<'a>>,
    #[serde(borrow)]
    max: Option<Scalar<'a>>,
    #[serde(borrow)]
    message: Option<Scalar<'a>>,
}

/// One `data` value as the labels use it. Strings without escapes are borrowed from the JSON
/// text, so reading the few keys costs no allocation; objects and arrays keep their value
/// (a label shows them as JSON text).
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(serde_json::Number),
    Bool(bool),
    Null,
    Other(serde_json::Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Scalar::Null, Scalar::Num))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Scalar::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn scalar_text(v: &Scalar<'_>) -> Option<String> {
    match v {
        Scalar::Str(s) => Some(s.as_ref().to_owned()),
        Scalar::Num(n) => Some(n.to_string()),
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Null | Scalar::Other(serde_json::Value::Null) => None,
        Scalar::Other(serde_json::Value::String(s)) => Some(s.clone()),
        Scalar::Other(other) => Some(clip(&other.to_string())),
    }
}

const LABEL_CHARS: usize = 120;

/// Reads the label, tool, step id and failure flag of an event from its `data`.
#[must_use]
pub fn event_info_of(kind: &str, data: &str, model: Option<&str>) -> (EventInfo, Vec<String>) {
    let mut notes = Vec::new();
    let info = event_info(kind, data, model, &mut notes, &mut Interner::default());
    (info, notes)
}

fn event_info(kind: &str, data: &str, model: Option<&str>, notes: &mut Vec<String>, names: &mut Interner) -> EventInfo {
    // `data` rewritten without repeated keys, when it has some; the fields borrow from it.
    let deduplicated: String;
    let (fields, data_is_object) = if data.trim().is_empty() {
        (DataFields::default(), false)
    } else {
        match serde_json::from_str::<DataFields>(data) {
            // serde also reads a struct from an array of its fields in order: an array of
            // exactly 18 values would pass as an object whose `tool` is the first.
            Ok(_) if !data.trim_start().starts_with('{') => {
                notes.push("data is JSON but not an object".to_owned());
                (DataFields::default(), false)
            }
            Ok(f) => (f, true),
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                // An object can still fail here: a key read above appears twice. Read it as a
                // map then (the last value of a repeated key wins), and say so.
                deduplicated = match serde_json::from_str::<serde_json::Value>(data) {
                    Ok(object @ serde_json::Value::Object(_)) => object.to_string(),
                    _ => String::new(),
                };
                match serde_json::from_str::<DataFields>(&deduplicated) {
                    Ok(f) => {
                        notes.push(format!("data repeats a key ({e}); the last value is used"));
                        (f, true)
                    }
                    Err(_) => {
                        notes.push("data is JSON but not an object".to_owned());
                        (DataFields::default(), false)
                    }
                }
            }
            Err(e) => {
                notes.push(format!("data is not valid JSON ({e})"));
                (DataFields::default(), false)
            }
        }
    };
    let s = |v: &Option<Scalar<'_>>| v.as_ref().and_then(scalar_text);
    let tool = s(&fields.tool)
        .or_else(|| s(&fields.tool_name))
        .or_else(|| if kind.contains("tool") { s(&fields.name) } else { None });
    let step_id = s(&fields.step_id);
    let error_text = s(&fields.error);
    let failed = matches!(fields.success, Some(Scalar::Bool(false)))
        || (error_text.is_some() && kind != "error" && !matches!(fields.success, Some(Scalar::Bool(true))));
    let label = match kind {
        "message" => model.map(str::to_owned).or_else(|| s(&fields.role)).unwrap_or_default(),
        "tool_called" | "tool_result" => tool.clone().unwrap_or_default(),
        "step_started" | "step_completed" => match (&step_id, s(&fields.description)) {
            (Some(id), Some(d)) => format!("{id}: {d}"),
            (Some(id), None) => id.clone(),
            (None, Some(d)) => d,
            (None, None) => String::new(),
        },
        "error" => error_text.clone().or_else(|| s(&fields.message)).unwrap_or_default(),
        "state_change" => s(&fields.state).unwrap_or_default(),
        "model_selected" => s(&fields.model).or_else(|| model.map(str::to_owned)).unwrap_or_default(),
        "model_switched" => match (s(&fields.from_model), s(&fields.to_model)) {
            (Some(a), Some(b)) => format!("{a} → {b}"),
            (None, Some(b)) => format!("→ {b}"),
            _ => model.map(str::to_owned).unwrap_or_default(),
        },
        "trace_started" => s(&fields.task).unwrap_or_default(),
        "trace_ended" | "completed" | "cancelled" => {
            s(&fields.status).or_else(|| s(&fields.reason)).unwrap_or_default()
        }
        "budget_warning" | "budget_exceeded" => match (s(&fields.used), s(&fields.max)) {
            (Some(u), Some(m)) => format!("{u} / {m}"),
            _ => String::new(),
        },
        _ => tool
            .clone()
            .or_else(|| s(&fields.message))
            .or_else(|| s(&fields.description))
            .or_else(|| error_text.clone())
            .or_else(|| model.map(str::to_owned))
            .unwrap_or_default(),
    };
    let label = if is_error_kind(kind) || !failed {
        label
    } else {
        match &error_text {
            Some(err) if !label.is_empty() => format!("{label}: {err}"),
            _ => label,
        }
    };
    let label = if label.chars().any(char::is_control) { one_line(&label) } else { label };
    // A string of at most LABEL_CHARS bytes has at most that many characters.
    let label = if label.len() > LABEL_CHARS && label.chars().count() > LABEL_CHARS {
        format!("{}…", label.chars().take(LABEL_CHARS).collect::<String>())
    } else {
        label
    };
    // Labels drawn from a small set are shared; step descriptions and errors are not worth
    // looking up.
    let repeats = matches!(kind, "tool_called" | "tool_result" | "message" | "state_change" | "model_selected");
    let label = if repeats { names.get(&label) } else { label.into() };
    EventInfo { label, tool: tool.map(|t| names.get(&t)), step_id: step_id.map(Into::into), failed, data_is_object }
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
mod speed_path_tests {
    //! The fast paths of a session load (sums in Rust, two-thread reads) give what the plain
    //! paths give.
    use super::*;

    #[test]
    fn split_read_and_rust_sums_match_one_read_and_sql() {
        let (_dir, path) = demo_file(1, Some(30_000));
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let id = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions[0].id.clone();
        let (filter, param) = session_filter(&store.schema, &id);
        let read = |split: bool| {
            let mut sums = RowSums::default();
            let events = store
                .query_events(&filter, &param, 0, split, Some(&mut sums), &mut |_| ControlFlow::Continue(()))
                .unwrap_or_else(|e| panic!("{e}"));
            (events, sums.aggregates(&id))
        };
        assert!(store.split_point(&filter, &param).unwrap_or_else(|e| panic!("{e}")).is_some());
        let mut lean = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        lean.set_read_mode(ReadMode::Leanest);
        assert!(
            lean.load_session(&id, None).unwrap_or_else(|e| panic!("{e}"))
                == store.load_session(&id, None).unwrap_or_else(|e| panic!("{e}")),
            "both read modes load the same session"
        );
        let (one, one_sums) = read(false);
        let (two, two_sums) = read(true);
        assert_eq!(one.len(), 30_000);
        assert!(one == two, "the split read differs from the single read");
        let sql = store.trace_aggregates("SUM", Some(&id)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one_sums.as_ref(), Some(&sql));
        assert_eq!(two_sums.as_ref(), Some(&sql));
        let loaded = store.load_session(&id, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(&loaded.row), store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions.first());
        let mut sorted = one;
        sort_events(&mut sorted);
        assert!(loaded.events == sorted, "load_session gives the events of one read, sorted");
    }

    #[test]
    fn timestamps_read_back_exactly_as_stored() {
        let (dir, demo) = demo_file(3, None);
        // Odd spellings beside the demo's: each must come back as written.
        let odd = dir.path().join("odd.db");
        std::fs::copy(&demo, &odd).unwrap_or_else(|e| panic!("{e}"));
        let conn = Connection::open(&odd).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(
            "PRAGMA journal_mode=DELETE;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07.000000+00:00' WHERE rowid = 1;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07Z' WHERE rowid = 2;
             UPDATE agent_traces SET timestamp = 1763632747 WHERE rowid = 3;
             UPDATE agent_traces SET timestamp = 'yesterday' WHERE rowid = 4;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07.123456789+00:00' WHERE rowid = 5;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        for path in [&demo, &odd] {
            let store = Store::open(path).unwrap_or_else(|e| panic!("{e}"));
            let stored: HashMap<String, String> = {
                let mut stmt = store
                    .conn
                    .prepare("SELECT id, CAST(timestamp AS TEXT) FROM agent_traces")
                    .unwrap_or_else(|e| panic!("{e}"));
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .collect::<rusqlite::Result<_>>()
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let mut kept = 0;
            for row in store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions {
                for e in store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}")).events {
                    assert_eq!(e.timestamp(), stored[&e.id], "{}", e.id);
                    kept += usize::from(e.stored_timestamp.is_some());
                }
            }
            // The demo writes the reference form: no event keeps a copy; the odd file keeps five.
            assert_eq!(kept, if path == &odd { 5 } else { 0 });
        }
    }

    #[test]
    fn loaded_rows_equal_list_rows() {
        let (_dir, path) = demo_file(30, None);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        for row in store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions {
            let loaded = store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(loaded.row, row);
            assert_eq!(loaded.events.len() as u64, row.event_count);
        }
    }
}

#[cfg(all(test, unix))]
mod held_file_tests {
    //! The list of files this process reads: one entry per file, however it is reached, kept
    //! while any store reads it.
    use super::*;

    fn stores_of(path: &Path) -> Option<usize> {
        let key = std::fs::metadata(path).ok().as_ref().and_then(file_key)?;
        held_files().iter().find(|f| f.key == key).map(|f| f.stores)
    }

    #[test]
    fn two_paths_to_one_file_share_an_entry_that_ends_with_the_last_store() {
        let (dir, path) = demo_file(1, None);
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&path, &link).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), None);
        let first = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), Some(1));
        let second = Store::open(&link).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), Some(2));
        assert_eq!(second.real_path, first.real_path, "the link resolves to the file");
        drop(first);
        assert_eq!(stores_of(&path), Some(1));
        drop(second);
        assert_eq!(stores_of(&path), None);
        // A store that fails to open gives its entry back too.
        std::fs::write(dir.path().join("text.db"), "not a database at all").unwrap_or_else(|e| panic!("{e}"));
        assert!(Store::open(&dir.path().join("text.db")).is_err());
        assert_eq!(stores_of(&dir.path().join("text.db")), None);
    }
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
