//! Tests of the reference-compatible writer and the demo generator, asserting stored values.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Timelike as _, Utc};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use trace_inspector::demo::{DemoConfig, DemoStats, generate};
use trace_inspector::writer::{
    DEFAULT_RETENTION_DAYS, NewTrace, RAW_IO_MAX_CHARS, TraceWriter, WriterError, format_timestamp, python_json,
};

type TestResult = Result<(), Box<dyn Error>>;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

fn temp_db() -> Result<(tempfile::TempDir, PathBuf), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agent_traces.db");
    Ok((dir, path))
}

fn time(text: &str) -> Result<DateTime<Utc>, Box<dyn Error>> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

fn trace(id: &str, session: &str, kind: &str, timestamp: DateTime<Utc>) -> NewTrace {
    NewTrace {
        id: id.to_owned(),
        session_id: session.to_owned(),
        kind: kind.to_owned(),
        timestamp,
        duration_ms: None,
        parent_id: None,
        data: json!({}),
        input_tokens: None,
        output_tokens: None,
        model: None,
        provider: None,
        cost_usd: None,
        raw_input: None,
        raw_output: None,
    }
}

fn read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
}

fn count(conn: &Connection, sql: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [], |row| row.get(0))
}

/// A `PRAGMA table_info` row: `(name, type, notnull, default, pk)`.
type Column = (String, String, i64, Option<String>, i64);
/// A `sqlite_master` row: `(type, name, tbl_name, sql)`.
type SchemaRow = (String, String, String, Option<String>);
/// LLM columns of a message: `(input_tokens, output_tokens, model_used, provider_used, cost_usd)`.
type LlmColumns = (Option<i64>, Option<i64>, Option<String>, Option<String>, Option<f64>);

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Column>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    stmt.query_map([], |row| Ok((row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)))?.collect()
}

fn schema_rows(conn: &Connection) -> rusqlite::Result<Vec<SchemaRow>> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")?;
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?.collect()
}

#[test]
fn schema_matches_reference_writer() -> TestResult {
    let (_dir, path) = temp_db()?;
    drop(TraceWriter::create(&path)?);
    let conn = read_only(&path)?;

    let s = |text: &str| text.to_owned();
    assert_eq!(
        columns(&conn, "agent_trace_sessions")?,
        vec![
            (s("id"), s("TEXT"), 0, None, 1),
            (s("task"), s("TEXT"), 1, None, 0),
            (s("started_at"), s("TEXT"), 1, None, 0),
            (s("completed_at"), s("TEXT"), 0, None, 0),
            (s("status"), s("TEXT"), 1, Some(s("'running'")), 0),
        ]
    );
    let trace_columns: Vec<(String, String)> =
        columns(&conn, "agent_traces")?.into_iter().map(|(name, ty, ..)| (name, ty)).collect();
    let expected = [
        ("id", "TEXT"),
        ("session_id", "TEXT"),
        ("type", "TEXT"),
        ("timestamp", "TEXT"),
        ("duration_ms", "REAL"),
        ("parent_trace_id", "TEXT"),
        ("data", "TEXT"),
        ("input_tokens", "INTEGER"),
        ("output_tokens", "INTEGER"),
        ("model_used", "TEXT"),
        ("provider_used", "TEXT"),
        ("cost_usd", "REAL"),
        ("raw_input", "TEXT"),
        ("raw_output", "TEXT"),
        ("created_at", "TEXT"),
    ];
    assert_eq!(trace_columns, expected.map(|(n, t)| (s(n), s(t))).to_vec());
    assert_eq!(
        columns(&conn, "trace_settings")?,
        vec![(s("key"), s("TEXT"), 0, None, 1), (s("value"), s("TEXT"), 1, None, 0)]
    );
    let value: String =
        conn.query_row("SELECT value FROM trace_settings WHERE key = 'retention_days'", [], |r| r.get(0))?;
    assert_eq!(value, "30");

    // Same tables, indexes and even the same CREATE text as a file the reference wrote.
    // A private copy: a plain read-only open of a WAL file creates -wal/-shm beside it.
    let copy_dir = tempfile::tempdir()?;
    let copy = copy_dir.path().join("reference.db");
    std::fs::copy(fixture(), &copy)?;
    let reference = read_only(&copy)?;
    assert_eq!(schema_rows(&conn)?, schema_rows(&reference)?);
    let names: Vec<String> = schema_rows(&conn)?.into_iter().map(|row| row.1).collect();
    for index in ["idx_traces_session", "idx_traces_timestamp", "idx_traces_type"] {
        assert!(names.iter().any(|n| n == index), "{index} missing in {names:?}");
    }
    Ok(())
}

#[test]
fn reopening_keeps_data_and_settings() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    writer.start_session("s1", "task", time("2026-11-20T09:00:00+00:00")?)?;
    writer.set_retention_days(7)?;
    drop(writer);
    let writer = TraceWriter::create(&path)?;
    assert_eq!(writer.retention_days()?, 7);
    drop(writer);
    assert_eq!(count(&read_only(&path)?, "SELECT count(*) FROM agent_trace_sessions")?, 1);
    Ok(())
}

#[test]
fn journal_mode_is_wal() -> TestResult {
    let (_dir, path) = temp_db()?;
    let _writer = TraceWriter::create(&path)?;
    let conn = Connection::open(&path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    assert_eq!(mode, "wal");
    Ok(())
}

#[test]
fn sessions_start_running_and_end_with_status() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    writer.start_session("s1", "Fix the build — naïve", time("2026-11-20T09:00:00.5+00:00")?)?;
    let conn = read_only(&path)?;
    let row: (String, String, Option<String>, String) = conn.query_row(
        "SELECT task, started_at, completed_at, status FROM agent_trace_sessions WHERE id = 's1'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    assert_eq!(
        row,
        ("Fix the build — naïve".into(), "2026-11-20T09:00:00.500000+00:00".into(), None, "running".into())
    );

    writer.end_session("s1", "failed", time("2026-11-20T09:01:00+00:00")?)?;
    let row: (Option<String>, String) =
        conn.query_row("SELECT completed_at, status FROM agent_trace_sessions WHERE id = 's1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    assert_eq!(row, (Some("2026-11-20T09:01:00+00:00".into()), "failed".into()));
    assert!(matches!(
        writer.end_session("nope", "completed", Utc::now()),
        Err(WriterError::NoSuchSession(id)) if id == "nope"
    ));
    Ok(())
}

#[test]
fn save_trace_stores_every_column() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    writer.start_session("s1", "task", time("2026-11-20T09:00:00+00:00")?)?;
    let before = Utc::now();
    writer.save_trace(&NewTrace {
        duration_ms: Some(1684.98440592172),
        parent_id: Some("root".into()),
        data: json!({"role": "assistant", "content": "naïve 🙂 \"q\"\n", "n": 3, "x": 0.5, "ok": true, "none": null}),
        input_tokens: Some(2243),
        output_tokens: Some(104),
        model: Some("gpt-4o".into()),
        provider: Some("openai".into()),
        cost_usd: Some(0.0066475),
        raw_input: Some("prompt".into()),
        raw_output: Some("answer".into()),
        ..trace("t1", "s1", "message", time("2026-11-20T09:00:21.121069+00:00")?)
    })?;
    let conn = read_only(&path)?;
    type Row = (
        String,
        String,
        String,
        String,
        Option<f64>,
        Option<String>,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<String>,
        Option<String>,
        String,
    );
    let row: Row = conn.query_row("SELECT * FROM agent_traces", [], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
        ))
    })?;
    assert_eq!(row.0, "t1");
    assert_eq!(row.1, "s1");
    assert_eq!(row.2, "message");
    assert_eq!(row.3, "2026-11-20T09:00:21.121069+00:00");
    assert_eq!(row.4, Some(1684.98440592172));
    assert_eq!(row.5.as_deref(), Some("root"));
    // json.dumps(..., sort_keys not set) on a dict built in this (sorted) order.
    assert_eq!(
        row.6,
        r#"{"content": "na\u00efve \ud83d\ude42 \"q\"\n", "n": 3, "none": null, "ok": true, "role": "assistant", "x": 0.5}"#
    );
    assert_eq!((row.7, row.8), (Some(2243), Some(104)));
    assert_eq!((row.9.as_deref(), row.10.as_deref()), (Some("gpt-4o"), Some("openai")));
    assert_eq!(row.11, Some(0.0066475));
    assert_eq!((row.12.as_deref(), row.13.as_deref()), (Some("prompt"), Some("answer")));
    let created = time(&row.14)?;
    assert!(created >= before - chrono::TimeDelta::seconds(1) && created <= Utc::now(), "created_at {}", row.14);
    assert!(row.14.ends_with("+00:00"));
    Ok(())
}

#[test]
fn raw_io_is_cut_to_4096_characters() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    writer.start_session("s1", "task", Utc::now())?;
    let cases: [(&str, String, usize); 6] = [
        ("ascii", "a".repeat(5000), 4096),
        ("two-byte", "é".repeat(5000), 4096),
        ("emoji", "🙂".repeat(4097), 4096),
        ("mixed", "日本語 naïve ".repeat(600), 4096),
        ("exact", "ü".repeat(4096), 4096),
        ("short", "日本".repeat(100), 200),
    ];
    for (id, text, _) in &cases {
        writer.save_trace(&NewTrace {
            raw_input: Some(text.clone()),
            raw_output: Some(text.clone()),
            ..trace(id, "s1", "message", Utc::now())
        })?;
    }
    writer.save_trace(&trace("none", "s1", "message", Utc::now()))?;
    let conn = read_only(&path)?;
    for (id, text, chars) in &cases {
        let (input, output): (String, String) =
            conn.query_row("SELECT raw_input, raw_output FROM agent_traces WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        assert_eq!(input.chars().count(), *chars, "{id}");
        assert_eq!(output, input, "{id}");
        assert!(text.starts_with(&input), "{id}: a prefix of the original");
    }
    assert_eq!(RAW_IO_MAX_CHARS, 4096);
    let nulls = count(
        &conn,
        "SELECT count(*) FROM agent_traces WHERE id = 'none' AND raw_input IS NULL AND raw_output IS NULL",
    )?;
    assert_eq!(nulls, 1);
    Ok(())
}

#[test]
fn timestamps_use_python_isoformat() -> TestResult {
    let base = Utc.with_ymd_and_hms(2026, 11, 20, 9, 59, 7).single().ok_or("bad test time")?;
    let at = |micros: u32, extra_nanos: u32| base.with_nanosecond(micros * 1000 + extra_nanos);
    let cases = [
        (at(754_847, 0), "2026-11-20T09:59:07.754847+00:00"),
        (at(0, 0), "2026-11-20T09:59:07+00:00"),
        (at(1, 0), "2026-11-20T09:59:07.000001+00:00"),
        (at(500_000, 0), "2026-11-20T09:59:07.500000+00:00"),
        // Python has microseconds only: the nanoseconds are dropped, not rounded.
        (at(123_456, 999), "2026-11-20T09:59:07.123456+00:00"),
        (at(0, 999), "2026-11-20T09:59:07+00:00"),
    ];
    for (t, expected) in cases {
        let t = t.ok_or("bad test time")?;
        assert_eq!(format_timestamp(t), expected);
    }
    let early = Utc.with_ymd_and_hms(999, 1, 2, 3, 4, 5).single().ok_or("bad test time")?;
    assert_eq!(format_timestamp(early), "0999-01-02T03:04:05+00:00");
    Ok(())
}

#[test]
fn data_is_python_json_dumps() -> TestResult {
    let value = json!({
        "a": [1, 2.5, -3, 1e-05, 1e16, 100.0],
        "b": {"nested": "tab\there", "q": "\"quoted\" \\ /"},
        "c": "日本語 🙂 \u{7f}\u{1}",
        "d": null,
        "e": false,
        "f": [],
        "g": {}
    });
    assert_eq!(
        python_json(&value)?,
        r#"{"a": [1, 2.5, -3, 1e-05, 1e+16, 100.0], "b": {"nested": "tab\there", "q": "\"quoted\" \\ /"}, "c": "\u65e5\u672c\u8a9e \ud83d\ude42 \u007f\u0001", "d": null, "e": false, "f": [], "g": {}}"#
    );
    Ok(())
}

#[test]
fn retention_defaults_to_30_and_can_be_set() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    assert_eq!(writer.retention_days()?, 30);
    assert_eq!(DEFAULT_RETENTION_DAYS, 30);
    writer.set_retention_days(7)?;
    assert_eq!(writer.retention_days()?, 7);
    let stored: String =
        read_only(&path)?
            .query_row("SELECT value FROM trace_settings WHERE key = 'retention_days'", [], |r| r.get(0))?;
    assert_eq!(stored, "7");

    let conn = Connection::open(&path)?;
    conn.execute("UPDATE trace_settings SET value = 'soon' WHERE key = 'retention_days'", [])?;
    assert!(matches!(writer.retention_days(), Err(WriterError::BadRetention(v)) if v == "soon"));
    conn.execute("DELETE FROM trace_settings", [])?;
    assert_eq!(writer.retention_days()?, 30);
    Ok(())
}

#[test]
fn cleanup_removes_old_traces_and_empty_old_sessions() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    let now = time("2026-11-30T12:00:00+00:00")?;
    let old = time("2026-10-01T08:00:00+00:00")?;
    let recent = time("2026-11-29T08:00:00+00:00")?;
    // Exactly 30 days before now (whole second, no fraction) is not older: kept.
    let boundary = time("2026-10-31T12:00:00+00:00")?;
    let just_older = time("2026-10-31T11:59:59.999999+00:00")?;

    writer.start_session("old-only", "a", old)?; // all traces old → session goes too
    writer.save_trace(&trace("o1", "old-only", "trace_started", old))?;
    writer.save_trace(&trace("o2", "old-only", "trace_ended", just_older))?;
    writer.start_session("old-mixed", "b", old)?; // keeps a recent trace → session stays
    writer.save_trace(&trace("m1", "old-mixed", "trace_started", old))?;
    writer.save_trace(&trace("m2", "old-mixed", "trace_ended", recent))?;
    writer.start_session("old-empty", "c", old)?; // no traces at all, old → removed
    writer.start_session("recent-empty", "d", recent)?; // no traces, recent → kept
    writer.start_session("recent", "e", recent)?;
    writer.save_trace(&trace("r1", "recent", "trace_started", recent))?;
    writer.save_trace(&trace("r2", "recent", "message", boundary))?;

    assert_eq!(writer.cleanup_older_than(30, now)?, (3, 2));

    let conn = read_only(&path)?;
    let ids = |sql: &str| -> rusqlite::Result<BTreeSet<String>> {
        let mut stmt = conn.prepare(sql)?;
        stmt.query_map([], |r| r.get(0))?.collect()
    };
    assert_eq!(ids("SELECT id FROM agent_traces")?, BTreeSet::from(["m2".into(), "r1".into(), "r2".into()]));
    assert_eq!(
        ids("SELECT id FROM agent_trace_sessions")?,
        BTreeSet::from(["old-mixed".into(), "recent".into(), "recent-empty".into()])
    );
    // Nothing more to do the second time; a huge retention keeps everything.
    assert_eq!(writer.cleanup_older_than(30, now)?, (0, 0));
    assert_eq!(writer.cleanup_older_than(u32::MAX, now)?, (0, 0));
    assert_eq!(writer.cleanup_older_than(0, now)?, (3, 3));
    Ok(())
}

#[test]
fn transaction_commits_or_rolls_back() -> TestResult {
    let (_dir, path) = temp_db()?;
    let mut writer = TraceWriter::create(&path)?;
    let started = Utc::now();
    let n = writer.in_transaction(|w| {
        w.start_session("kept", "task", started)?;
        w.save_trace(&trace("t1", "kept", "trace_started", started))?;
        Ok(2)
    })?;
    assert_eq!(n, 2);
    let failed = writer.in_transaction(|w| {
        w.start_session("dropped", "task", started)?;
        w.save_trace(&trace("t1", "dropped", "trace_started", started))?; // duplicate id
        Ok(())
    });
    assert!(matches!(failed, Err(WriterError::Sqlite(_))), "{failed:?}");
    let conn = read_only(&path)?;
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_trace_sessions")?, 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_traces")?, 1);
    // The writer is usable again after the rollback.
    writer.in_transaction(|w| w.start_session("later", "task", started))?;
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_trace_sessions")?, 2);
    Ok(())
}

#[test]
fn writer_waits_for_a_concurrent_lock_instead_of_failing() -> TestResult {
    let (_dir, path) = temp_db()?;
    let writer = TraceWriter::create(&path)?;
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let other_path = path.clone();
    let other = std::thread::spawn(move || -> rusqlite::Result<()> {
        let conn = Connection::open(other_path)?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let _ = locked_tx.send(());
        std::thread::sleep(Duration::from_millis(400));
        conn.execute_batch("COMMIT")
    });
    locked_rx.recv()?;
    let start = Instant::now();
    writer.start_session("s1", "task", Utc::now())?;
    assert!(start.elapsed() >= Duration::from_millis(200), "the lock was held; the write must have waited");
    other.join().map_err(|_| "locking thread panicked")??;
    Ok(())
}

// ---- demo generator ----

fn demo(config: &DemoConfig) -> Result<(tempfile::TempDir, PathBuf, DemoStats), Box<dyn Error>> {
    let (dir, path) = temp_db()?;
    let stats = generate(&path, config)?;
    Ok((dir, path, stats))
}

/// Every stored value except `created_at` (the write time), as text.
fn dump(path: &Path) -> Result<String, Box<dyn Error>> {
    let conn = read_only(path)?;
    let mut out = String::new();
    let mut stmt =
        conn.prepare("SELECT id, task, started_at, completed_at, status FROM agent_trace_sessions ORDER BY rowid")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        for i in 0..5 {
            out.push_str(&format!("{:?}|", row.get_ref(i)?));
        }
        out.push('\n');
    }
    let mut stmt = conn.prepare(
        "SELECT id, session_id, type, timestamp, duration_ms, parent_trace_id, data, input_tokens, output_tokens, \
         model_used, provider_used, cost_usd, raw_input, raw_output FROM agent_traces ORDER BY rowid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        for i in 0..14 {
            out.push_str(&format!("{:?}|", row.get_ref(i)?));
        }
        out.push('\n');
    }
    Ok(out)
}

#[test]
fn demo_is_deterministic_by_seed() -> TestResult {
    let config = DemoConfig { sessions: 12, ..DemoConfig::default() };
    let (_a, first, stats_a) = demo(&config)?;
    let (_b, second, stats_b) = demo(&config)?;
    let (_c, other, _) = demo(&DemoConfig { seed: 43, ..config.clone() })?;
    assert_eq!(stats_a, stats_b);
    let dump_a = dump(&first)?;
    assert!(dump_a.len() > 10_000);
    assert_eq!(dump_a, dump(&second)?);
    assert_ne!(dump_a, dump(&other)?);
    Ok(())
}

#[test]
fn demo_default_config_matches_the_brief() {
    let config = DemoConfig::default();
    assert_eq!(config.sessions, 40);
    assert_eq!(config.events_per_session, None);
    assert_eq!(config.seed, 42);
    assert_eq!(format_timestamp(config.start), "2026-11-20T09:00:00+00:00");
    assert!(config.raw_io);
    assert_eq!(config.spread_days, 28);
}

#[test]
fn demo_exact_event_counts() -> TestResult {
    for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 13, 100, 257] {
        let (_dir, path, stats) =
            demo(&DemoConfig { sessions: 6, events_per_session: Some(n), seed: n as u64, ..DemoConfig::default() })?;
        assert_eq!(stats, DemoStats { sessions: 6, traces: 6 * n }, "n = {n}");
        let conn = read_only(&path)?;
        let mut stmt = conn.prepare(
            "SELECT s.id, s.status, count(t.id) FROM agent_trace_sessions s LEFT JOIN agent_traces t ON t.session_id = s.id GROUP BY s.id",
        )?;
        let counts: Vec<(String, String, i64)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        assert_eq!(counts.len(), 6);
        for (id, status, events) in counts {
            assert_eq!(events, n as i64, "session {id} with n = {n}");
            let first: Option<String> = conn
                .query_row("SELECT type FROM agent_traces WHERE session_id = ?1 ORDER BY rowid LIMIT 1", [&id], |r| {
                    r.get(0)
                })
                .ok();
            let last: Option<String> = conn
                .query_row(
                    "SELECT type FROM agent_traces WHERE session_id = ?1 ORDER BY rowid DESC LIMIT 1",
                    [&id],
                    |r| r.get(0),
                )
                .ok();
            if n >= 1 {
                assert_eq!(first.as_deref(), Some("trace_started"));
            }
            if n >= 2 && status != "running" {
                assert_eq!(last.as_deref(), Some("trace_ended"), "n = {n}");
            }
        }
    }
    Ok(())
}

#[test]
fn demo_has_exactly_one_running_session_the_newest() -> TestResult {
    let (_dir, path, stats) = demo(&DemoConfig::default())?;
    assert_eq!(stats.sessions, 40);
    let conn = read_only(&path)?;
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_trace_sessions")?, 40);
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_traces")? as usize, stats.traces);
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_trace_sessions WHERE status = 'running'")?, 1);
    let (newest, status, completed_at): (String, String, Option<String>) = conn.query_row(
        "SELECT id, status, completed_at FROM agent_trace_sessions ORDER BY started_at DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    assert_eq!((status.as_str(), completed_at), ("running", None));
    assert_eq!(
        count(
            &conn,
            &format!("SELECT count(*) FROM agent_traces WHERE session_id = '{newest}' AND type = 'trace_ended'")
        )?,
        0
    );

    // Every finished session: completed_at = its trace_ended time, which says the same status,
    // right after the matching final event.
    let mut stmt = conn.prepare(
        "SELECT s.status, s.completed_at, e.timestamp, json_extract(e.data, '$.status'), \
         (SELECT type FROM agent_traces f WHERE f.session_id = s.id AND f.rowid < e.rowid ORDER BY f.rowid DESC LIMIT 1) \
         FROM agent_trace_sessions s JOIN agent_traces e ON e.session_id = s.id AND e.type = 'trace_ended'",
    )?;
    let rows: Vec<(String, Option<String>, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 39);
    let mut statuses = BTreeSet::new();
    for (status, completed_at, ended_at, ended_status, final_kind) in rows {
        assert_eq!(completed_at.as_deref(), Some(ended_at.as_str()));
        assert_eq!(status, ended_status);
        let allowed: &[&str] = match status.as_str() {
            "completed" => &["completed"],
            "cancelled" => &["cancelled"],
            "failed" => &["error", "budget_exceeded", "iteration_limit"],
            other => return Err(format!("unexpected status {other}").into()),
        };
        assert!(allowed.contains(&final_kind.as_str()), "{status} ended by {final_kind}");
        statuses.insert(status);
    }
    assert_eq!(statuses, BTreeSet::from(["cancelled".into(), "completed".into(), "failed".into()]));

    // Sessions follow each other in time.
    let mut stmt = conn.prepare("SELECT started_at, completed_at FROM agent_trace_sessions ORDER BY rowid")?;
    let spans: Vec<(String, Option<String>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for pair in spans.windows(2) {
        let (end, next_start) = (pair[0].1.as_deref().ok_or("finished session without end")?, &pair[1].0);
        assert!(time(end)? < time(next_start)?, "{end} !< {next_start}");
    }
    Ok(())
}

#[test]
fn demo_has_all_event_types_in_the_reference_structure() -> TestResult {
    let (_dir, path, _) = demo(&DemoConfig { sessions: 120, ..DemoConfig::default() })?;
    let conn = read_only(&path)?;
    let mut stmt = conn.prepare(
        "SELECT t.type, p.type, count(*) FROM agent_traces t \
         LEFT JOIN agent_traces p ON p.id = t.parent_trace_id AND p.session_id = t.session_id GROUP BY 1, 2",
    )?;
    let pairs: Vec<(String, Option<String>, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    let allowed = |kind: &str, parent: Option<&str>| match kind {
        "trace_started" => parent.is_none(),
        "message" | "error" => matches!(parent, Some("trace_started" | "step_started")),
        "tool_called" | "model_switched" | "step_completed" => parent == Some("step_started"),
        "tool_result" => parent == Some("tool_called"),
        _ => parent == Some("trace_started"),
    };
    let mut kinds = BTreeSet::new();
    for (kind, parent, n) in &pairs {
        assert!(allowed(kind, parent.as_deref()), "{n} × {kind} under {parent:?}");
        kinds.insert(kind.as_str());
    }
    let expected = [
        "budget_exceeded",
        "budget_warning",
        "cancelled",
        "completed",
        "error",
        "iteration_limit",
        "message",
        "model_selected",
        "model_switched",
        "plan_created",
        "state_change",
        "step_completed",
        "step_started",
        "tool_called",
        "tool_result",
        "trace_ended",
        "trace_started",
    ];
    assert_eq!(kinds, BTreeSet::from(expected));

    // Pairs agree on what they are about.
    let mismatched = count(
        &conn,
        "SELECT count(*) FROM agent_traces c JOIN agent_traces p ON p.id = c.parent_trace_id \
         WHERE c.type = 'step_completed' AND json_extract(c.data, '$.step_id') IS NOT json_extract(p.data, '$.step_id')",
    )?;
    assert_eq!(mismatched, 0);
    let mismatched = count(
        &conn,
        "SELECT count(*) FROM agent_traces c JOIN agent_traces p ON p.id = c.parent_trace_id \
         WHERE c.type = 'tool_result' AND json_extract(c.data, '$.tool') IS NOT json_extract(p.data, '$.tool')",
    )?;
    assert_eq!(mismatched, 0);
    // Columns are used where the reference uses them.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE model_used IS NOT NULL AND type NOT IN ('message', 'model_selected', 'model_switched')"
        )?,
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE type IN ('model_selected', 'model_switched') AND (model_used IS NULL OR provider_used IS NULL)"
        )?,
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE model_used IS NOT json_extract(data, '$.to_model') AND type = 'model_switched'"
        )?,
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE (duration_ms IS NOT NULL) != (type IN ('message', 'tool_result', 'step_completed', 'trace_ended'))"
        )?,
        0
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM agent_traces WHERE json_valid(data) = 0 OR json_type(data) != 'object'")?,
        0
    );
    Ok(())
}

#[test]
fn demo_timestamps_are_python_isoformat_and_stamped_at_the_end() -> TestResult {
    let (_dir, path, _) = demo(&DemoConfig { sessions: 20, ..DemoConfig::default() })?;
    let conn = read_only(&path)?;
    let mut stmt = conn.prepare("SELECT timestamp, created_at FROM agent_traces UNION ALL SELECT started_at, coalesce(completed_at, started_at) FROM agent_trace_sessions")?;
    let texts: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut whole_seconds = 0;
    for (a, b) in &texts {
        for text in [a, b] {
            assert_eq!(&format_timestamp(time(text)?), text);
        }
        whole_seconds += usize::from(a.len() == 25);
    }
    assert!(texts.len() > 500);
    assert!(whole_seconds < texts.len() / 100, "a fraction is almost always present");

    // A span's end minus its duration is where it started.
    let mut stmt = conn.prepare(
        "SELECT c.type, c.timestamp, c.duration_ms, p.timestamp FROM agent_traces c JOIN agent_traces p ON p.id = c.parent_trace_id \
         WHERE c.type IN ('tool_result', 'step_completed', 'trace_ended')",
    )?;
    let spans: Vec<(String, String, f64, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    assert!(spans.len() > 200);
    for (kind, end, duration_ms, start) in spans {
        let elapsed_ms = (time(&end)? - time(&start)?).num_microseconds().ok_or("overflow")? as f64 / 1000.0;
        let tolerance = if kind == "tool_result" { 0.001 } else { 1e-9 };
        assert!((elapsed_ms - duration_ms).abs() <= tolerance, "{kind}: {start} → {end} vs {duration_ms} ms");
    }
    // Events of a session never go back in time (rowid = write order).
    let backwards = count(
        &conn,
        "SELECT count(*) FROM agent_traces a JOIN agent_traces b ON b.rowid = a.rowid + 1 AND b.session_id = a.session_id \
         WHERE b.timestamp < a.timestamp",
    )?;
    assert_eq!(backwards, 0);
    Ok(())
}

#[test]
fn demo_tools_have_outliers_and_failures() -> TestResult {
    let (_dir, path, _) = demo(&DemoConfig { sessions: 400, raw_io: false, ..DemoConfig::default() })?;
    let conn = read_only(&path)?;
    let mut stmt = conn.prepare(
        "SELECT json_extract(data, '$.tool'), duration_ms, json_extract(data, '$.success') FROM agent_traces WHERE type = 'tool_result'",
    )?;
    let results: Vec<(String, f64, bool)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    assert!(results.len() > 2000, "{}", results.len());
    let mut by_tool: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (tool, duration, _) in &results {
        by_tool.entry(tool.as_str()).or_default().push(*duration);
    }
    let expected_tools = [
        "browser_navigate",
        "github_search",
        "http_request",
        "read_file",
        "run_code",
        "sql_query",
        "web_search",
        "write_file",
    ];
    assert_eq!(by_tool.keys().copied().collect::<Vec<_>>(), expected_tools);
    let mut medians = HashMap::new();
    let mut outliers = 0;
    for (tool, durations) in &mut by_tool {
        durations.sort_by(f64::total_cmp);
        let median = durations[durations.len() / 2];
        medians.insert(*tool, median);
        outliers += durations.iter().filter(|&&d| d > 25.0 * median).count();
    }
    // Each tool has its own latency: file access is fast, browsing slow.
    assert!(medians["read_file"] < 50.0 && medians["browser_navigate"] > 2000.0, "{medians:?}");
    assert!(medians["web_search"] > 10.0 * medians["write_file"], "{medians:?}");
    // A 25× excursion is all but impossible for the log-normal spread: these are the outliers.
    let share = outliers as f64 / results.len() as f64;
    assert!(outliers >= 3 && share < 0.01, "{outliers} outliers of {}", results.len());

    let failures = results.iter().filter(|r| !r.2).count();
    let rate = failures as f64 / results.len() as f64;
    assert!((0.015..0.05).contains(&rate), "failure rate {rate}");
    // Each failure is followed by an error in the same step, at the same time, naming the tool.
    let followed = count(
        &conn,
        "SELECT count(*) FROM agent_traces r JOIN agent_traces c ON c.id = r.parent_trace_id \
         JOIN agent_traces e ON e.rowid = r.rowid + 1 AND e.type = 'error' AND e.parent_trace_id = c.parent_trace_id \
         AND e.timestamp = r.timestamp \
         AND json_extract(e.data, '$.error') LIKE json_extract(r.data, '$.tool') || ' failed: %' \
         WHERE r.type = 'tool_result' AND json_extract(r.data, '$.success') = 0",
    )?;
    let running_failures = count(
        &conn,
        "SELECT count(*) FROM agent_traces r JOIN agent_trace_sessions s ON s.id = r.session_id \
         WHERE s.status = 'running' AND r.type = 'tool_result' AND json_extract(r.data, '$.success') = 0",
    )?;
    assert!(followed as usize >= failures - running_failures as usize, "{followed} of {failures}");
    Ok(())
}

#[test]
fn demo_messages_carry_tokens_and_cost_from_the_price_table() -> TestResult {
    let (_dir, path, _) = demo(&DemoConfig { sessions: 150, raw_io: false, ..DemoConfig::default() })?;
    let conn = read_only(&path)?;
    // USD per million input / output tokens.
    let prices: HashMap<&str, (&str, f64, f64)> = HashMap::from([
        ("claude-sonnet-4", ("anthropic", 3.0, 15.0)),
        ("gpt-4o", ("openai", 2.5, 10.0)),
        ("gpt-4o-mini", ("openai", 0.15, 0.6)),
        ("gemini-2.0-flash", ("google", 0.1, 0.4)),
        ("llama3.1:8b", ("ollama", 0.0, 0.0)),
    ]);
    let mut stmt = conn.prepare(
        "SELECT input_tokens, output_tokens, model_used, provider_used, cost_usd FROM agent_traces WHERE type = 'message'",
    )?;
    let rows: Vec<LlmColumns> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    assert!(rows.len() > 1000);
    let mut models = BTreeSet::new();
    for (input, output, model, provider, cost) in rows {
        let (input, output, model, provider, cost) = (
            input.ok_or("input_tokens")?,
            output.ok_or("output_tokens")?,
            model.ok_or("model_used")?,
            provider.ok_or("provider_used")?,
            cost.ok_or("cost_usd")?,
        );
        let &(expected_provider, per_m_in, per_m_out) = prices.get(model.as_str()).ok_or("unknown model")?;
        assert_eq!(provider, expected_provider);
        assert!(input > 0 && output > 0);
        let expected = input as f64 * per_m_in / 1e6 + output as f64 * per_m_out / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{model}: {input}/{output} → {cost}, expected {expected}");
        models.insert(model);
    }
    assert_eq!(models.len(), 5, "{models:?}");
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE type != 'message' AND (input_tokens IS NOT NULL OR cost_usd IS NOT NULL)"
        )?,
        0
    );
    Ok(())
}

#[test]
fn demo_raw_io_is_realistic_and_optional() -> TestResult {
    let (_dir, path, _) = demo(&DemoConfig { sessions: 100, ..DemoConfig::default() })?;
    let conn = read_only(&path)?;
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE type = 'message' AND (raw_input IS NULL OR raw_output IS NULL)"
        )?,
        0
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_traces WHERE type = 'tool_result' AND raw_output IS NULL")?, 0);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM agent_traces WHERE type NOT IN ('message', 'tool_result') AND (raw_input IS NOT NULL OR raw_output IS NOT NULL)"
        )?,
        0
    );
    // SQLite's length() counts characters for text.
    assert_eq!(count(&conn, "SELECT max(max(length(raw_input)), max(length(raw_output))) FROM agent_traces")?, 4096);
    assert!(
        count(&conn, "SELECT count(*) FROM agent_traces WHERE length(raw_input) = 4096 OR length(raw_output) = 4096")?
            > 5
    );
    assert!(count(&conn, "SELECT count(*) FROM agent_traces WHERE length(raw_output) < 200")? > 5);
    assert!(
        count(&conn, "SELECT count(*) FROM agent_traces WHERE length(CAST(raw_output AS BLOB)) > length(raw_output)")?
            > 100,
        "non-ASCII text"
    );
    let average_bytes: f64 = conn.query_row(
        "SELECT avg(coalesce(length(CAST(raw_input AS BLOB)), 0) + coalesce(length(CAST(raw_output AS BLOB)), 0)) \
         FROM agent_traces WHERE raw_input IS NOT NULL OR raw_output IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    assert!((1300.0..1900.0).contains(&average_bytes), "average raw I/O {average_bytes} bytes");

    let (_dir2, bare, _) = demo(&DemoConfig { sessions: 10, raw_io: false, ..DemoConfig::default() })?;
    let conn = read_only(&bare)?;
    assert_eq!(
        count(&conn, "SELECT count(*) FROM agent_traces WHERE raw_input IS NOT NULL OR raw_output IS NOT NULL")?,
        0
    );
    Ok(())
}

#[test]
fn demo_single_long_session_is_broad_and_spans_hours() -> TestResult {
    let (_dir, path, stats) =
        demo(&DemoConfig { sessions: 1, events_per_session: Some(20_000), raw_io: false, ..DemoConfig::default() })?;
    assert_eq!(stats, DemoStats { sessions: 1, traces: 20_000 });
    let conn = read_only(&path)?;
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_trace_sessions WHERE status = 'running'")?, 1);
    let root_children = count(
        &conn,
        "SELECT count(*) FROM agent_traces c JOIN agent_traces r ON r.id = c.parent_trace_id AND r.type = 'trace_started'",
    )?;
    assert!(root_children > 2_000, "{root_children}");
    assert!(count(&conn, "SELECT count(*) FROM agent_traces WHERE type = 'step_started'")? > 2_000);
    let (first, last): (String, String) =
        conn.query_row("SELECT min(timestamp), max(timestamp) FROM agent_traces", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let hours = (time(&last)? - time(&first)?).num_minutes() as f64 / 60.0;
    assert!((1.0..48.0).contains(&hours), "{hours} h");
    // The plan stays small however long the run.
    let longest_plan = count(&conn, "SELECT max(length(data)) FROM agent_traces WHERE type = 'plan_created'")?;
    assert!(longest_plan < 2_000, "{longest_plan}");
    Ok(())
}

#[test]
fn demo_refuses_a_file_with_sessions() -> TestResult {
    let (_dir, path) = temp_db()?;
    let config = DemoConfig { sessions: 2, ..DemoConfig::default() };
    generate(&path, &config)?;
    let again = generate(&path, &config);
    assert!(matches!(again, Err(WriterError::NotEmpty { sessions: 2, .. })), "{again:?}");
    assert_eq!(count(&read_only(&path)?, "SELECT count(*) FROM agent_trace_sessions")?, 2);
    // The file was left as a clean single file: WAL folded in.
    let wal = path.with_file_name("agent_traces.db-wal");
    assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0);
    Ok(())
}

/// The 1M-trace speed check (release build):
/// `cargo test --release --test writer_demo -- --ignored --nocapture`.
#[test]
#[ignore = "slow: generates about 1 GB"]
fn demo_one_million_traces_speed() -> TestResult {
    let (_dir, path) = temp_db()?;
    let config = DemoConfig { sessions: 10_000, events_per_session: Some(100), ..DemoConfig::default() };
    let start = Instant::now();
    let stats = generate(&path, &config)?;
    let elapsed = start.elapsed();
    let bytes = std::fs::metadata(&path)?.len();
    println!(
        "generated {} traces in {} sessions in {:.1} s ({:.0} traces/s), file {:.1} MB",
        stats.traces,
        stats.sessions,
        elapsed.as_secs_f64(),
        stats.traces as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6
    );
    assert_eq!(stats.traces, 1_000_000);
    assert_eq!(count(&read_only(&path)?, "SELECT count(*) FROM agent_traces")?, 1_000_000);
    Ok(())
}
