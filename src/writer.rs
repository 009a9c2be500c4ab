//! Writes `agent_traces.db` files the way the reference writer (Skynette's `TraceStore`) does.
//!
//! The reader never needs this module; it exists so that tests, benchmarks and the `demo`
//! command can produce files indistinguishable from real ones: the same schema text, WAL
//! journal, Python `isoformat()` timestamps, `json.dumps` data (`", "` / `": "` separators,
//! non-ASCII as `\uXXXX`) and raw I/O cut to [`RAW_IO_MAX_CHARS`] characters.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Datelike as _, TimeDelta, Timelike as _, Utc};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize as _;

/// Raw LLM / tool input and output are cut to this many characters (Unicode scalar values,
/// as Python's `s[:4096]` counts them), never bytes.
pub const RAW_IO_MAX_CHARS: usize = 4096;

/// Retention the reference writer stores in a new file.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// How long a write waits for a reader's lock before giving up. A viewer polling the file
/// must never make the agent lose traces.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, statement by statement, with the reference writer's exact whitespace: SQLite
/// keeps the text in `sqlite_master`, so files made here match real ones byte for byte there.
const SCHEMA: &str = "
            CREATE TABLE IF NOT EXISTS agent_trace_sessions (
                id TEXT PRIMARY KEY,
                task TEXT NOT NULL,
                started_at TEXT NOT NULL,
                completed_at TEXT,
                status TEXT NOT NULL DEFAULT 'running'
            );
            CREATE TABLE IF NOT EXISTS agent_traces (
                id TEXT PRIMARY KEY,
                session_id TEXT NOT NULL,
                type TEXT NOT NULL,
                timestamp TEXT NOT NULL,
                duration_ms REAL,
                parent_trace_id TEXT,
                data TEXT NOT NULL,
                input_tokens INTEGER,
                output_tokens INTEGER,
                model_used TEXT,
                provider_used TEXT,
                cost_usd REAL,
                raw_input TEXT,
                raw_output TEXT,
                created_at TEXT NOT NULL,
                FOREIGN KEY (session_id) REFERENCES agent_trace_sessions(id) ON DELETE CASCADE
            );
            CREATE TABLE IF NOT EXISTS trace_settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS idx_traces_session
            ON agent_traces(session_id)
        ;
            CREATE INDEX IF NOT EXISTS idx_traces_timestamp
            ON agent_traces(timestamp)
        ;
            CREATE INDEX IF NOT EXISTS idx_traces_type
            ON agent_traces(type)
        ;
            INSERT OR IGNORE INTO trace_settings (key, value) VALUES ('retention_days', '30');
";

const INSERT_TRACE: &str = "INSERT INTO agent_traces (id, session_id, type, timestamp, \
    duration_ms, parent_trace_id, data, input_tokens, output_tokens, model_used, provider_used, \
    cost_usd, raw_input, raw_output, created_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot serialize trace data as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no session with id '{0}'")]
    NoSuchSession(String),
    #[error("trace_settings.retention_days is '{0}', not a whole number of days")]
    BadRetention(String),
    #[error("{path}: already holds {sessions} sessions and {traces} traces; refusing to add demo data to it")]
    NotEmpty { path: PathBuf, sessions: i64, traces: i64 },
}

/// One event to store, as the reference agent hands it to `TraceStore.save_trace()`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTrace {
    pub id: String,
    pub session_id: String,
    /// The event type (`type` column): `tool_called`, `message`, …
    pub kind: String,
    /// When the event happened; for events with a duration, when the work ended.
    pub timestamp: DateTime<Utc>,
    pub duration_ms: Option<f64>,
    pub parent_id: Option<String>,
    /// Stored as Python's `json.dumps(data)` would write it.
    pub data: serde_json::Value,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    /// `model_used` column.
    pub model: Option<String>,
    /// `provider_used` column.
    pub provider: Option<String>,
    pub cost_usd: Option<f64>,
    /// Cut to [`RAW_IO_MAX_CHARS`] characters when stored.
    pub raw_input: Option<String>,
    /// Cut to [`RAW_IO_MAX_CHARS`] characters when stored.
    pub raw_output: Option<String>,
}

/// One `agent_traces` row with every text already in its stored form, borrowed so the demo
/// generator can reuse its buffers instead of allocating a [`NewTrace`] per event.
pub(crate) struct TraceRow<'a> {
    pub id: &'a str,
    pub session_id: &'a str,
    pub kind: &'a str,
    pub timestamp: &'a str,
    pub duration_ms: Option<f64>,
    pub parent_id: Option<&'a str>,
    /// Already serialized JSON.
    pub data: &'a str,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub model: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub cost_usd: Option<f64>,
    /// Cut by [`TraceWriter::insert_row`].
    pub raw_input: Option<&'a str>,
    /// Cut by [`TraceWriter::insert_row`].
    pub raw_output: Option<&'a str>,
    pub created_at: &'a str,
}

/// An open, writable trace database.
pub struct TraceWriter {
    conn: Connection,
}

impl TraceWriter {
    /// Opens or creates the file, sets `journal_mode=WAL` and a 5 s busy timeout, and creates
    /// the schema exactly as the reference writer does (tables, indexes, and
    /// `trace_settings.retention_days = '30'` when absent). An existing file keeps its data.
    ///
    /// # Errors
    /// [`WriterError::Sqlite`] when the file cannot be opened or is not an SQLite database.
    pub fn create(path: &Path) -> Result<Self, WriterError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Like the reference, the answer is not checked: WAL is impossible only for in-memory
        // databases, and those still work in their own journal mode.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// The underlying connection, for the demo generator's speed pragmas.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Adds a session with status `running` and no `completed_at`.
    ///
    /// # Errors
    /// [`WriterError::Sqlite`], e.g. when the id already exists.
    pub fn start_session(&self, id: &str, task: &str, started_at: DateTime<Utc>) -> Result<(), WriterError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO agent_trace_sessions (id, task, started_at, status) VALUES (?1, ?2, ?3, 'running')",
        )?;
        stmt.execute(params![id, task, format_timestamp(started_at)])?;
        Ok(())
    }

    /// Sets a session's final `status` (`completed`, `failed`, `cancelled`) and `completed_at`.
    ///
    /// # Errors
    /// [`WriterError::NoSuchSession`] when no session has that id; [`WriterError::Sqlite`].
    pub fn end_session(&self, id: &str, status: &str, completed_at: DateTime<Utc>) -> Result<(), WriterError> {
        let mut stmt =
            self.conn.prepare_cached("UPDATE agent_trace_sessions SET status = ?2, completed_at = ?3 WHERE id = ?1")?;
        let changed = stmt.execute(params![id, status, format_timestamp(completed_at)])?;
        if changed == 0 {
            return Err(WriterError::NoSuchSession(id.to_owned()));
        }
        Ok(())
    }

    /// Stores one event; `created_at` is the current time, raw I/O is cut to
    /// [`RAW_IO_MAX_CHARS`] characters and `data` is written as Python's `json.dumps` would.
    ///
    /// # Errors
    /// [`WriterError::Sqlite`] (e.g. a duplicate id); [`WriterError::Json`].
    pub fn save_trace(&self, trace: &NewTrace) -> Result<(), WriterError> {
        let data = python_json(&trace.data)?;
        let timestamp = format_timestamp(trace.timestamp);
        let created_at = format_timestamp(Utc::now());
        self.insert_row(&TraceRow {
            id: &trace.id,
            session_id: &trace.session_id,
            kind: &trace.kind,
            timestamp: &timestamp,
            duration_ms: trace.duration_ms,
            parent_id: trace.parent_id.as_deref(),
            data: &data,
            input_tokens: trace.input_tokens,
            output_tokens: trace.output_tokens,
            model: trace.model.as_deref(),
            provider: trace.provider.as_deref(),
            cost_usd: trace.cost_usd,
            raw_input: trace.raw_input.as_deref(),
            raw_output: trace.raw_output.as_deref(),
            created_at: &created_at,
        })
    }

    /// Inserts a row whose texts are ready, cutting raw I/O on the way.
    pub(crate) fn insert_row(&self, row: &TraceRow<'_>) -> Result<(), WriterError> {
        let mut stmt = self.conn.prepare_cached(INSERT_TRACE)?;
        stmt.execute(params![
            row.id,
            row.session_id,
            row.kind,
            row.timestamp,
            row.duration_ms,
            row.parent_id,
            row.data,
            row.input_tokens,
            row.output_tokens,
            row.model,
            row.provider,
            row.cost_usd,
            row.raw_input.map(truncate_chars),
            row.raw_output.map(truncate_chars),
            row.created_at,
        ])?;
        Ok(())
    }

    /// The `retention_days` setting; [`DEFAULT_RETENTION_DAYS`] when the row is missing.
    ///
    /// # Errors
    /// [`WriterError::BadRetention`] when the stored value is not a whole number;
    /// [`WriterError::Sqlite`].
    pub fn retention_days(&self) -> Result<u32, WriterError> {
        let mut stmt = self.conn.prepare_cached("SELECT value FROM trace_settings WHERE key = 'retention_days'")?;
        let value: Option<String> = stmt.query_row([], |row| row.get(0)).optional()?;
        match value {
            None => Ok(DEFAULT_RETENTION_DAYS),
            Some(text) => text.trim().parse().map_err(|_| WriterError::BadRetention(text)),
        }
    }

    /// Stores the `retention_days` setting (as text, like the reference).
    ///
    /// # Errors
    /// [`WriterError::Sqlite`].
    pub fn set_retention_days(&self, days: u32) -> Result<(), WriterError> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR REPLACE INTO trace_settings (key, value) VALUES ('retention_days', ?1)")?;
        stmt.execute([days.to_string()])?;
        Ok(())
    }

    /// Deletes traces whose timestamp is older than `now - days`, then sessions left with no
    /// traces whose `started_at` is older too; returns `(traces_deleted, sessions_deleted)`.
    ///
    /// Times are compared as text, as the reference does: its `isoformat()` strings sort in
    /// time order (a whole second, `…:07+00:00`, sorts before `…:07.5+00:00`).
    ///
    /// # Errors
    /// [`WriterError::Sqlite`]; nothing is deleted then.
    pub fn cleanup_older_than(&self, days: u32, now: DateTime<Utc>) -> Result<(usize, usize), WriterError> {
        // A retention longer than chrono's calendar keeps everything.
        let cutoff = TimeDelta::try_days(i64::from(days))
            .and_then(|age| now.checked_sub_signed(age))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let cutoff = format_timestamp(cutoff);
        // A savepoint rather than BEGIN so this also works inside `in_transaction`.
        self.conn.execute_batch("SAVEPOINT cleanup")?;
        let result = (|| {
            let traces = self.conn.execute("DELETE FROM agent_traces WHERE timestamp < ?1", [&cutoff])?;
            let sessions = self.conn.execute(
                "DELETE FROM agent_trace_sessions WHERE started_at < ?1 AND NOT EXISTS \
                 (SELECT 1 FROM agent_traces t WHERE t.session_id = agent_trace_sessions.id)",
                [&cutoff],
            )?;
            Ok::<_, rusqlite::Error>((traces, sessions))
        })();
        match result {
            Ok(counts) => {
                self.conn.execute_batch("RELEASE cleanup")?;
                Ok(counts)
            }
            Err(err) => {
                // The original error matters more than a failed rollback.
                let _ = self.conn.execute_batch("ROLLBACK TO cleanup; RELEASE cleanup");
                Err(err.into())
            }
        }
    }

    /// Runs `f` inside one transaction: committed when `f` returns `Ok`, rolled back when it
    /// returns `Err` (or panics). One transaction per batch makes bulk writes many times
    /// faster than one per row.
    ///
    /// # Errors
    /// `f`'s error, or [`WriterError::Sqlite`] when the transaction cannot begin or commit.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&Self) -> Result<T, WriterError>) -> Result<T, WriterError> {
        // IMMEDIATE takes the write lock now (waiting up to the busy timeout) instead of
        // failing halfway through when a reader holds the file.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let guard = RollbackGuard { conn: &self.conn, armed: true };
        let value = f(self)?;
        guard.commit()?;
        Ok(value)
    }
}

/// Rolls back the open transaction when dropped before [`RollbackGuard::commit`] succeeded.
struct RollbackGuard<'c> {
    conn: &'c Connection,
    armed: bool,
}

impl RollbackGuard<'_> {
    fn commit(mut self) -> Result<(), WriterError> {
        // On failure `self` drops still armed and rolls back, so no transaction stays open.
        self.conn.execute_batch("COMMIT")?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for RollbackGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Nothing better to do with a failed rollback while already failing.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Cuts `text` to at most [`RAW_IO_MAX_CHARS`] characters.
fn truncate_chars(text: &str) -> &str {
    // A text of at most N bytes has at most N characters: skip the scan for most values.
    if text.len() <= RAW_IO_MAX_CHARS {
        return text;
    }
    match text.char_indices().nth(RAW_IO_MAX_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Formats a time as Python's `datetime.isoformat()` does for a UTC-aware value:
/// `2026-11-20T09:59:07.754847+00:00`, or `2026-11-20T09:59:07+00:00` when the microseconds
/// are zero. Nanoseconds below a microsecond are dropped (Python has none).
#[must_use]
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(32);
    push_timestamp(&mut out, t);
    out
}

/// Appends [`format_timestamp`]'s text to `out` without allocating.
pub(crate) fn push_timestamp(out: &mut String, t: DateTime<Utc>) {
    // chrono keeps a leap second as nanoseconds ≥ 1e9; Python cannot express it, so it folds
    // into the second before.
    let micros = (t.nanosecond() % 1_000_000_000) / 1_000;
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
    out.push_str("+00:00");
}

/// Serializes `value` as Python's `json.dumps(value)` does with default arguments: `", "` and
/// `": "` separators, non-ASCII and DEL as `\uXXXX` (surrogate pairs above U+FFFF), floats in
/// `repr()` form (`1.0`, `1e-05`, `1e+16`). Object keys come out in `serde_json`'s order (sorted).
///
/// # Errors
/// [`WriterError::Json`]; not expected for a `Value`, whose keys are always strings.
pub fn python_json(value: &serde_json::Value) -> Result<String, WriterError> {
    let mut buf = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut buf, PythonFormatter);
    value.serialize(&mut serializer)?;
    // Every non-ASCII character was escaped, so this never replaces anything.
    Ok(match String::from_utf8_lossy(&buf) {
        Cow::Borrowed(text) => text.to_owned(),
        Cow::Owned(text) => text,
    })
}

/// Appends `text` as a quoted JSON string in Python's `ensure_ascii=True` form, for callers
/// that build `data` by hand (the demo generator does, for speed).
pub(crate) fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => push_unicode_escape(out, ch),
        }
    }
    out.push('"');
}

/// Appends `ch` as `\uXXXX` (lowercase hex, like Python), or a surrogate pair above U+FFFF.
fn push_unicode_escape(out: &mut String, ch: char) {
    let mut units = [0u16; 2];
    for unit in ch.encode_utf16(&mut units) {
        let _ = write!(out, "\\u{unit:04x}");
    }
}

/// Python's `repr(float)`: the shortest text that reads back the same value, in fixed
/// notation for exponents -4..16 and as `1.5e+16` / `1e-05` outside.
fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` is also shortest-round-trip: "1.5e16", "-1e-5", "0e0".
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let mut fixed = format!("{value}");
        if !fixed.contains('.') {
            fixed.push_str(".0");
        }
        fixed
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// `serde_json` formatting with Python's separators, escapes and float forms.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    // serde_json escapes quotes, backslashes and control characters itself (same forms as
    // Python, lowercase hex) and hands over the rest here.
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if fragment.bytes().all(|b| b != 0x7f && b.is_ascii()) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut escaped = String::with_capacity(fragment.len() * 2);
        for ch in fragment.chars() {
            if ch.is_ascii() && ch != '\u{7f}' {
                escaped.push(ch);
            } else {
                push_unicode_escape(&mut escaped, ch);
            }
        }
        writer.write_all(escaped.as_bytes())
    }
}

/// Removes a database file and its `-wal`, `-shm` and `-journal` companions (those that exist).
///
/// # Errors
/// When the main file cannot be removed.
pub fn remove_database(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1_684.984_405_921_72, "1684.98440592172"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (-2.5e-7, "-2.5e-07"),
            (1.234e-100, "1.234e-100"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "{value:?}");
        }
    }

    #[test]
    fn hand_built_strings_match_serializer() -> Result<(), WriterError> {
        let texts =
            ["plain", "quote \" and \\ back", "tab\tnew\nline\r\u{8}\u{c}", "\u{1}\u{1f}\u{7f}", "naïve 日本語 🙂", ""];
        for text in texts {
            let mut by_hand = String::new();
            push_json_str(&mut by_hand, text);
            assert_eq!(by_hand, python_json(&json!(text))?, "{text:?}");
        }
        Ok(())
    }

    #[test]
    fn truncation_counts_characters() {
        let ascii = "a".repeat(5000);
        assert_eq!(truncate_chars(&ascii).len(), RAW_IO_MAX_CHARS);
        let wide = "é".repeat(4097);
        assert_eq!(truncate_chars(&wide).chars().count(), RAW_IO_MAX_CHARS);
        let exact = "🙂".repeat(RAW_IO_MAX_CHARS);
        assert_eq!(truncate_chars(&exact), exact);
    }
}
