//! The live tail read incrementally (`Store::read_live`, `Store::refresh_live`): after every
//! kind of change a writer makes, the list, the slow-call index and the models equal a fresh
//! full read of the same file state. Appends are read on their own; deletes, a replaced file
//! and schema changes are read in full.

use std::path::{Path, PathBuf};

use chrono::{TimeZone as _, Utc};
use rusqlite::{Connection, params};
use trace_inspector::analysis::SlowIndex;
use trace_inspector::demo::{DemoConfig, generate};
use trace_inspector::store::{Live, Refresh, Store};
use trace_inspector::writer::format_timestamp;

const INSERT_TRACE: &str = "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, \
    parent_trace_id, data, input_tokens, output_tokens, model_used, provider_used, cost_usd, raw_input, \
    raw_output, created_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL, ?4)";

fn demo(dir: &Path, name: &str, sessions: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let config = DemoConfig { sessions, seed, raw_io: false, ..DemoConfig::default() };
    generate(&path, &config).expect("demo");
    path
}

/// One call of the reference writer: a connection of its own, WAL, one statement, commit, close.
fn per_call(path: &Path, sql: &str, p: impl rusqlite::Params) {
    let conn = Connection::open(path).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5)).expect("timeout");
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).expect("wal");
    // Python's sqlite3 leaves foreign keys off.
    conn.execute_batch("PRAGMA foreign_keys = OFF").expect("foreign keys");
    conn.execute_batch("BEGIN").expect("begin");
    conn.execute(sql, p).expect("statement");
    conn.execute_batch("COMMIT").expect("commit");
    conn.close().map_err(|(_, e)| e).expect("close");
}

/// A time after every demo trace, as a live agent's are.
fn ts(second: i64) -> String {
    format_timestamp(Utc.timestamp_opt(1_900_000_000 + second, 123_456_000).single().expect("time"))
}

/// A trace as the reference agent writes them: tool results with a duration, LLM calls with
/// tokens, a model and a cost, now and then an error.
fn add_trace(path: &Path, n: u64, session: &str) {
    let (kind, duration, data, tin, tout, model, cost) = match n % 4 {
        0 => ("tool_result", Some(100.0 + (n * 37 % 900) as f64), r#"{"tool": "read_file"}"#, None, None, None, None),
        1 => ("message", Some(900.5), "{}", Some(100 + n as i64), Some(7), Some("gpt-test"), Some(0.000_1 * n as f64)),
        2 => ("error", None, r#"{"error": "boom"}"#, None, None, None, None),
        _ => ("message", Some(10.0), "{}", Some(3), Some(n as i64), Some("claude-test"), Some(0.3)),
    };
    per_call(
        path,
        INSERT_TRACE,
        params![format!("live-{n}"), session, kind, ts(n as i64), duration, data, tin, tout, model, Some("prov"), cost],
    );
}

fn start_session(path: &Path, id: &str, at: i64) {
    per_call(
        path,
        "INSERT INTO agent_trace_sessions (id, task, started_at, status) VALUES (?1, 'a live task', ?2, 'running')",
        params![id, ts(at)],
    );
}

fn end_session(path: &Path, id: &str, at: i64) {
    per_call(
        path,
        "UPDATE agent_trace_sessions SET status = 'completed', completed_at = ?2 WHERE id = ?1",
        params![id, ts(at)],
    );
}

/// The live state equals a fresh full read of the file as it is now.
fn assert_fresh(path: &Path, live: &Live) {
    let store = Store::open(path).expect("open");
    let list = store.list_sessions().expect("list");
    assert_eq!(live.list(), &list, "the incremental list equals a fresh list_sessions()");
    assert_eq!(live.models(), store.model_usage().expect("models"), "models");
    let slow = SlowIndex::from_durations(&store.tool_durations().expect("durations"));
    assert_eq!(live.slow_index(), slow, "slow-call index");
    let again = store.read_live(&mut |_| {}).expect("read");
    assert_eq!(again.mark(), live.mark(), "the mark equals a fresh read's");
}

fn refresh(path: &Path, live: &mut Live, deep: bool) -> Refresh {
    Store::open(path).expect("open").refresh_live(live, deep).expect("refresh")
}

fn read(path: &Path) -> Live {
    Store::open(path).expect("open").read_live(&mut |_| {}).expect("read")
}

#[test]
fn appends_by_a_per_call_writer_are_read_on_their_own_and_equal_a_fresh_read() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "live.db", 12, 5);
    let mut live = read(&path);
    assert!(live.is_incremental(), "a reference file is read incrementally");
    assert_eq!(refresh(&path, &mut live, true), Refresh::Unchanged);
    let running: Vec<String> =
        live.list().sessions.iter().filter(|s| s.status == "running").map(|s| s.id.clone()).collect();
    assert_eq!(running.len(), 1, "the demo leaves its newest session running");
    let old = &running[0];
    // Traces to the session that was running at the read, the new sessions below, one ending.
    for n in 0..9 {
        add_trace(&path, n, old);
    }
    assert_eq!(refresh(&path, &mut live, false), Refresh::Appended { traces: 9, sessions: 0 });
    assert_fresh(&path, &live);
    start_session(&path, "new-a", 100);
    for n in 9..20 {
        add_trace(&path, n, "new-a");
    }
    end_session(&path, old, 101);
    assert_eq!(refresh(&path, &mut live, true), Refresh::Appended { traces: 11, sessions: 1 });
    assert_fresh(&path, &live);
    // More to the same sessions, a second new one, traces naming a session with no row yet.
    start_session(&path, "new-b", 200);
    for n in 20..40 {
        add_trace(&path, n, if n % 3 == 0 { "new-b" } else { "new-a" });
    }
    add_trace(&path, 40, "orphan");
    end_session(&path, "new-a", 300);
    assert_eq!(refresh(&path, &mut live, false), Refresh::Appended { traces: 21, sessions: 1 });
    assert_fresh(&path, &live);
    let row = live.list().sessions.iter().find(|s| s.id == "new-a").expect("new-a listed");
    assert_eq!(row.status, "completed", "a session that ended shows it");
    assert!(live.list().sessions.iter().any(|s| s.id == "orphan" && !s.has_session_row));
    // The orphan's row arrives later.
    start_session(&path, "orphan", 400);
    assert_eq!(refresh(&path, &mut live, true), Refresh::Appended { traces: 0, sessions: 1 });
    assert_fresh(&path, &live);
    assert_eq!(refresh(&path, &mut live, true), Refresh::Unchanged);
}

#[test]
fn retention_cleanup_while_listed_is_read_in_full_and_the_deleted_sessions_disappear() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "cleanup.db", 10, 6);
    let mut live = read(&path);
    let before = live.list().sessions.len();
    // The reference cleanup: old traces, then the sessions left without traces.
    let writer = trace_inspector::writer::TraceWriter::create(&path).expect("writer");
    let oldest = live.list().sessions.iter().filter_map(|s| s.started).min().expect("a start");
    let cutoff = Utc.timestamp_nanos(oldest.0) + chrono::Duration::hours(2);
    let now = cutoff + chrono::Duration::days(30);
    let (traces, sessions) = writer.cleanup_older_than(30, now).expect("cleanup");
    drop(writer);
    assert!(traces > 0 && sessions > 0, "the cleanup deleted something: {traces} traces, {sessions} sessions");
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)), "no deep check needed for a cleanup");
    assert_eq!(live.list().sessions.len(), before - sessions);
    assert_fresh(&path, &live);
}

#[test]
fn deletes_elsewhere_are_seen_by_the_checks() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "deletes.db", 10, 7);
    let mut live = read(&path);
    let middle = live.list().sessions.get(4).expect("a middle session").id.clone();
    // A session and its traces deleted in the middle: the session count sees it.
    per_call(&path, "DELETE FROM agent_traces WHERE session_id = ?1", params![middle]);
    per_call(&path, "DELETE FROM agent_trace_sessions WHERE id = ?1", params![middle]);
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert!(live.list().sessions.iter().all(|s| s.id != middle));
    assert_fresh(&path, &live);
    // Only traces deleted in the middle: the deep check sees it.
    let other = live.list().sessions.get(3).expect("another").id.clone();
    per_call(&path, "DELETE FROM agent_traces WHERE session_id = ?1", params![other]);
    assert!(matches!(refresh(&path, &mut live, true), Refresh::Reread(_)));
    assert_fresh(&path, &live);
    // The last trace deleted and another appended in its row id.
    per_call(&path, "DELETE FROM agent_traces WHERE rowid = (SELECT MAX(rowid) FROM agent_traces)", []);
    add_trace(&path, 1, &other);
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert_fresh(&path, &live);
}

#[test]
fn a_replaced_file_or_a_schema_change_is_read_in_full() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "replaced.db", 8, 8);
    let other = demo(dir.path(), "other.db", 8, 9);
    let mut live = read(&path);
    // Renamed over the path: another inode.
    std::fs::rename(&other, &path).expect("rename");
    assert_eq!(refresh(&path, &mut live, false), Refresh::Reread("the file was replaced".to_owned()));
    assert_fresh(&path, &live);
    // Copied over in place: the same inode, other content.
    let third = demo(dir.path(), "third.db", 8, 10);
    std::fs::copy(&third, &path).expect("copy");
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert_fresh(&path, &live);
    // A schema change.
    per_call(&path, "CREATE INDEX IF NOT EXISTS idx_model ON agent_traces(model_used)", []);
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert_fresh(&path, &live);
    // A vacuum.
    Connection::open(&path).expect("open").execute_batch("VACUUM").expect("vacuum");
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert_fresh(&path, &live);
}

#[test]
fn values_sums_cannot_take_are_read_in_full() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "odd.db", 6, 11);
    let mut live = read(&path);
    let id = live.list().sessions.first().expect("a session").id.clone();
    per_call(
        &path,
        "INSERT INTO agent_traces (id, session_id, type, timestamp, data, cost_usd, model_used, input_tokens, created_at) \
         VALUES ('odd', ?1, 'message', ?2, '{}', 'n/a', 'gpt-test', 5, ?2)",
        params![id, ts(1)],
    );
    assert!(matches!(refresh(&path, &mut live, false), Refresh::Reread(_)));
    assert_fresh(&path, &live);
}
