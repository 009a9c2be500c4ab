//! The app on files it cannot fully read: one error line naming the file and the problem, or
//! the sessions it can read with the data's warnings in sight. The file is never changed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use trace_inspector::app::{Command, Screen, State, TraceApp};
use trace_inspector::cli::OpenArgs;

mod common;

fn harness() -> Harness<'static, TraceApp> {
    let h = Harness::builder()
        .with_size([1200.0, 800.0])
        .build_eframe(|cc| TraceApp::with_state(&cc.egui_ctx, State::default(), OpenArgs::default()));
    h.ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    h
}

fn open(h: &mut Harness<'_, TraceApp>, path: &Path) {
    h.state_mut().command(Command::Open(path.to_owned()));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        h.step();
        if h.state().is_idle() {
            break;
        }
        assert!(Instant::now() < deadline, "opening {} did not finish", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(3);
}

fn db(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch(sql).expect("schema");
    path
}

#[test]
fn unreadable_files_show_one_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").expect("write");
    let other = db(dir.path(), "other.db", "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);");
    let mut h = harness();
    for (path, says) in [(empty, "file is empty"), (other, "no agent_traces table")] {
        let before = std::fs::read(&path).expect("read");
        open(&mut h, &path);
        let error = h.state().error.clone().unwrap_or_default();
        assert!(
            error.contains(says) && error.contains(path.file_name().and_then(|n| n.to_str()).unwrap_or("?")),
            "{error}"
        );
        assert_eq!(error.lines().count(), 1);
        assert_eq!(h.state().screen, Screen::Welcome);
        h.get_by_label_contains(says);
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }
}

#[test]
fn bad_values_give_a_partial_view_with_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db(
        dir.path(),
        "odd.db",
        "CREATE TABLE agent_traces (id TEXT, session_id TEXT, type TEXT, timestamp TEXT, duration_ms REAL,
             parent_trace_id TEXT, data TEXT, input_tokens INTEGER);
         INSERT INTO agent_traces VALUES
           ('a', 's1', 'trace_started', '2026-11-20T09:00:00Z', NULL, NULL, '{}', NULL),
           ('b', 's1', 'message', '2026-11-20T09:00:02Z', 'fast', 'a', 'not json', 'many'),
           ('c', 's1', 'tool_result', '30 February', 5, 'zzz', '{\"tool\": \"x\"}', 7),
           ('d', 'ghost', 'error', '2026-11-20 09:00:03', NULL, NULL, '[1,2]', NULL);",
    );
    let before = std::fs::read(&path).expect("read");
    let mut h = harness();
    open(&mut h, &path);
    let app = h.state();
    assert_eq!(app.error, None);
    let file = app.file.as_ref().expect("open");
    assert_eq!(file.list.sessions.len(), 2, "sessions are derived from their traces");
    assert!(file.list.warnings.iter().any(|w| w.message.contains("no agent_trace_sessions table")));
    h.get_by_label_contains("Warning: no agent_trace_sessions table");
    h.state_mut().command(Command::OpenSession("s1".to_owned()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(h.state().screen == Screen::Session && h.state().is_idle()) {
        assert!(Instant::now() < deadline);
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(3);
    let view = h.state().session.as_ref().expect("session");
    assert_eq!(view.session.data.events.len(), 3);
    let warnings: Vec<String> = view.session.data.warnings.iter().map(|w| w.message.clone()).collect();
    for expected in [
        "duration_ms is 'fast'",
        "data is not valid JSON",
        "input_tokens is 'many'",
        "'30 February' is not in a known form",
    ] {
        assert!(warnings.iter().any(|w| w.contains(expected)), "no '{expected}' in {warnings:?}");
    }
    // The status bar counts them, and the good values still add up.
    h.get_by_label_contains("data warnings");
    assert_eq!(view.session.summary.total_input_tokens, 7);
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

/// Not a test on its own: holds an exclusive lock with a pending write on the file named by
/// `APP_LOCK_HOLDER` until told to commit. Another process, since POSIX locks are per process.
#[test]
fn app_lock_holder_child() {
    common::hold_lock_when_asked(
        "APP_LOCK_HOLDER",
        "BEGIN EXCLUSIVE;
         INSERT INTO agent_traces VALUES ('t2', 's1', 'message', '2026-11-20T09:00:01Z');",
    );
}

#[test]
fn a_locked_file_shows_a_visible_wait_and_opens_once_the_writer_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db(
        dir.path(),
        "locked.db",
        "PRAGMA journal_mode=DELETE;
         CREATE TABLE agent_traces (id TEXT, session_id TEXT, type TEXT, timestamp TEXT);
         INSERT INTO agent_traces VALUES ('t1', 's1', 'trace_started', '2026-11-20T09:00:00Z');",
    );
    let holder = common::LockHolder::start("app_lock_holder_child", "APP_LOCK_HOLDER", &path);

    let mut h = harness();
    h.state_mut().command(Command::Open(path.clone()));
    // The window keeps drawing frames while the open waits, and says why it waits.
    let started = Instant::now();
    let mut frames = 0;
    let mut saw_wait = false;
    while started.elapsed() < Duration::from_secs(4) {
        h.step();
        frames += 1;
        saw_wait |= h.state().progress.as_deref().is_some_and(|p| p.contains("locked by another process; retrying"));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_wait, "no visible wait: {:?}", h.state().progress);
    assert!(frames > 100, "the window stalled: {frames} frames in 4 s");
    assert!(h.state().file.is_none() && h.state().error.is_none());

    holder.commit();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(h.state().file.is_some() && h.state().is_idle()) {
        assert!(Instant::now() < deadline, "never opened after the commit");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().file.as_ref().map(|f| f.list.file.trace_count), Some(2));
}
