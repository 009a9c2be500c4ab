//! Hostile files: the ways an `agent_traces.db` can be broken, read through the core and the
//! `trace-inspector` binary.
//!
//! Each case builds its file in a temporary folder. The outcome is either one clear `error:`
//! line naming the file and the problem (exit code 1, no panic, no backtrace) or a partial
//! view whose warnings say what was wrong while the good rows keep their values. Every case
//! also checks that the file and its `-wal` are byte-identical afterwards and that nothing but
//! an allowed `-shm` (only where a `-wal` already was) appeared beside it. Every CLI run is
//! timed and killed after [`CLI_TIMEOUT`], so a stall fails instead of hanging CI.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use std::time::{Duration, Instant};

use chrono::DateTime;
use rusqlite::Connection;
use serde_json::Value;
use trace_inspector::analysis::{self, Anchor};
use trace_inspector::error::StoreError;
use trace_inspector::model::{SearchQuery, SessionData, SessionList, SessionRow};
use trace_inspector::store::{self, Store};

/// A CLI run that takes longer than this has stalled.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// The reference schema (`shared/schema.sql`).
const SCHEMA: &str = "
CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL,
    completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
    timestamp TEXT NOT NULL, duration_ms REAL, parent_trace_id TEXT, data TEXT NOT NULL,
    input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL,
    raw_input TEXT, raw_output TEXT, created_at TEXT NOT NULL);
CREATE TABLE trace_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX idx_traces_session ON agent_traces(session_id);
CREATE INDEX idx_traces_timestamp ON agent_traces(timestamp);
CREATE INDEX idx_traces_type ON agent_traces(type);
INSERT INTO trace_settings VALUES ('retention_days', '30');
";

/// The same columns without types or constraints: any value of any type, NULLs, duplicates.
const LOOSE_SCHEMA: &str = "
CREATE TABLE agent_trace_sessions (id, task, started_at, completed_at, status);
CREATE TABLE agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data,
    input_tokens, output_tokens, model_used, provider_used, cost_usd, raw_input, raw_output, created_at);
";

/// One healthy session, `good`, present in most cases: its values must survive the bad rows.
const GOOD_ROWS: &str = r#"
INSERT INTO agent_trace_sessions (id, task, started_at, completed_at, status) VALUES
    ('good', 'Good task', '2026-11-20T09:00:00+00:00', '2026-11-20T09:00:02+00:00', 'completed');
INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data,
    input_tokens, output_tokens, model_used, provider_used, cost_usd, raw_input, raw_output, created_at) VALUES
    ('g1', 'good', 'trace_started', '2026-11-20T09:00:00+00:00', NULL, NULL, '{"task": "Good task"}',
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-20T09:00:00+00:00'),
    ('g2', 'good', 'message', '2026-11-20T09:00:01.500000+00:00', 1500.0, 'g1', '{"role": "assistant"}',
        100, 20, 'gpt-4o', 'openai', 0.01, 'the prompt', 'the answer', '2026-11-20T09:00:01.500000+00:00'),
    ('g3', 'good', 'trace_ended', '2026-11-20T09:00:02+00:00', NULL, 'g1', '{"status": "completed"}',
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-20T09:00:02+00:00');
"#;

// ---- the case folder ----------------------------------------------------------------------

/// A temporary folder holding `agent_traces.db` (and whatever the case puts beside it).
struct Case {
    _root: tempfile::TempDir,
    dir: PathBuf,
    path: PathBuf,
}

impl Case {
    fn new() -> Case {
        let root = tempfile::tempdir().expect("temporary folder");
        let dir = root.path().to_owned();
        let path = dir.join("agent_traces.db");
        Case { _root: root, dir, path }
    }

    /// A rollback-journal database made by running `sql`.
    fn sql(sql: &str) -> Case {
        let case = Case::new();
        let conn = Connection::open(&case.path).expect("create");
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        drop(conn);
        case
    }

    fn bytes(bytes: &[u8]) -> Case {
        let case = Case::new();
        std::fs::write(&case.path, bytes).expect("write");
        case
    }

    fn file(&self) -> &str {
        self.path.to_str().expect("UTF-8 temp path")
    }

    /// Every file in the folder with its content.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        files_in(&self.dir)
    }

    /// Runs `f`, then asserts the folder is as before: every file byte-identical, no new
    /// file, except that an `-shm` may appear or change when a `-wal` was there before.
    fn untouched<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = self.files();
        let result = f();
        assert_same_files(&before, &self.files());
        result
    }

    fn open(&self) -> Store {
        Store::open(&self.path).unwrap_or_else(|e| panic!("open: {e}"))
    }

    fn list(&self) -> SessionList {
        self.open().list_sessions().unwrap_or_else(|e| panic!("list: {e}"))
    }

    fn load(&self, session: &str) -> SessionData {
        self.open().load_session(session, None).unwrap_or_else(|e| panic!("load {session}: {e}"))
    }

    fn run(&self, args: &[&str]) -> Run {
        let (command, rest) = args.split_first().expect("a subcommand");
        let mut full = vec![*command, self.file()];
        full.extend_from_slice(rest);
        cli(&full)
    }

    /// `sessions FILE --json`, parsed.
    fn sessions_json(&self) -> Vec<Value> {
        let run = self.run(&["sessions", "--json"]);
        run.ok();
        match serde_json::from_str(&run.stdout) {
            Ok(Value::Array(a)) => a,
            other => panic!("sessions --json is not an array: {other:?}\n{}", run.stdout),
        }
    }

    /// The list's warnings, which `sessions FILE` writes to stderr beside the table, and
    /// `sessions FILE --json` beside the JSON, alike.
    fn sessions_warnings(&self) -> Vec<String> {
        let warnings = |run: Run| {
            run.ok();
            run.stderr.lines().filter_map(|l| l.strip_prefix("warning: ")).map(str::to_owned).collect::<Vec<_>>()
        };
        let table = warnings(self.run(&["sessions"]));
        assert_eq!(table, warnings(self.run(&["sessions", "--json"])), "the table and the JSON warn alike");
        table
    }

    fn summary_json(&self, session: &str) -> Value {
        let run = self.run(&["summary", session, "--json"]);
        run.ok();
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("summary --json: {e}\n{}", run.stdout))
    }

    fn timeline_json(&self, session: &str) -> Vec<Value> {
        let run = self.run(&["timeline", session, "--json"]);
        run.ok();
        match serde_json::from_str(&run.stdout) {
            Ok(Value::Array(a)) => a,
            other => panic!("timeline --json is not an array: {other:?}"),
        }
    }

    /// Asserts that the core and five CLI commands fail with one error naming the file
    /// and containing `problem`.
    fn fails_everywhere(&self, problem: &str) {
        self.untouched(|| {
            let started = Instant::now();
            match Store::open(&self.path).and_then(|s| s.list_sessions()) {
                Ok(list) => panic!("expected '{problem}', got {} sessions", list.sessions.len()),
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.starts_with(self.file()), "{message}");
                    assert!(message.contains(problem), "'{message}' does not say '{problem}'");
                    assert!(!message.contains('\n'), "{message}");
                }
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the core took {:?}", started.elapsed());
            for args in [
                &["sessions", "--json"][..],
                &["summary", "good"],
                &["timeline", "good", "--json"],
                &["show", "g1"],
                &["models"],
            ] {
                self.run(args).error(&self.path, problem);
            }
        });
    }
}

fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read folder")
        .map(|entry| {
            let entry = entry.expect("folder entry");
            let content = std::fs::read(entry.path()).unwrap_or_default();
            (entry.file_name().to_string_lossy().into_owned(), content)
        })
        .collect()
}

fn assert_same_files(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let had_wal = before.keys().any(|n| n.ends_with("-wal"));
    for (name, content) in before {
        if name.ends_with("-shm") {
            continue;
        }
        match after.get(name) {
            Some(now) => assert!(now == content, "{name} changed ({} → {} bytes)", content.len(), now.len()),
            None => panic!("{name} disappeared"),
        }
    }
    // A WAL-mode file is read as any reader reads it: SQLite may make its working files, an
    // empty -wal and the -shm index, beside it. Nothing else may appear.
    let wal_mode = before.get("agent_traces.db").is_some_and(|db| db.get(18..20).is_some_and(|v| v.contains(&2)));
    for (name, content) in after {
        if !before.contains_key(name) {
            let working_file = (had_wal || wal_mode) && name.ends_with("-shm") || wal_mode && name.ends_with("-wal");
            assert!(working_file, "{name} appeared beside the database");
            if name.ends_with("-wal") {
                assert!(content.is_empty(), "{name} appeared with {} bytes", content.len());
            }
        }
    }
}

// ---- the CLI ------------------------------------------------------------------------------

/// One finished run of the binary.
struct Run {
    args: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn no_panic(&self) {
        for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE", "internal error"] {
            assert!(!self.stderr.contains(bad), "{}: stderr has '{bad}':\n{}", self.args, self.stderr);
        }
    }

    /// Exit code 0, no panic.
    fn ok(&self) {
        self.no_panic();
        assert_eq!(self.code, Some(0), "{}: exit code; stderr:\n{}", self.args, self.stderr);
    }

    /// Exit code 1 and exactly one stderr line: `error: FILE: …problem…`.
    fn error(&self, path: &Path, problem: &str) {
        self.no_panic();
        assert_eq!(self.code, Some(1), "{}: exit code; stderr:\n{}", self.args, self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}: one stderr line, got:\n{}", self.args, self.stderr);
        let line = lines[0];
        assert!(line.starts_with(&format!("error: {}", path.display())), "{}: {line}", self.args);
        assert!(line.contains(problem), "{}: '{line}' does not say '{problem}'", self.args);
        assert!(self.stdout.is_empty(), "{}: stdout on error: {}", self.args, self.stdout);
    }
}

fn cli(args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trace-inspector"));
    command.args(args);
    run_command(&mut command)
}

/// Runs the binary with a deadline: past [`CLI_TIMEOUT`] it is killed and the test fails.
fn run_command(command: &mut Command) -> Run {
    let args = format!("{:?}", command.get_args().collect::<Vec<&OsStr>>());
    command
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{args}: cannot start: {e}"));
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > CLI_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args}: still running after {CLI_TIMEOUT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = |h: std::thread::JoinHandle<Vec<u8>>| String::from_utf8_lossy(&h.join().expect("reader")).into_owned();
    Run { args, code: status.code(), stdout: text(stdout), stderr: text(stderr) }
}

// ---- the good session ---------------------------------------------------------------------

fn session<'a>(list: &'a SessionList, id: &str) -> &'a SessionRow {
    list.sessions.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no session '{id}' in the list"))
}

fn json_session<'a>(sessions: &'a [Value], id: &str) -> &'a Value {
    sessions.iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no session '{id}' in sessions --json"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The `good` session has its values, through the core and every CLI command.
fn good_is_intact(case: &Case) {
    let list = case.list();
    let row = session(&list, "good");
    assert_eq!(
        (row.event_count, row.total_input_tokens, row.total_output_tokens, row.total_tokens, row.error_count),
        (3, 100, 20, 120, 0)
    );
    assert!(close(row.total_cost_usd, 0.01), "{}", row.total_cost_usd);
    assert_eq!(row.duration_ms, Some(2000.0));
    assert_eq!((row.task.as_str(), row.status.as_str()), ("Good task", "completed"));
    assert!(row.warnings.is_empty(), "{:?}", row.warnings);

    let data = case.load("good");
    assert!(data.warnings.is_empty(), "{:?}", data.warnings);
    let analyzed = analysis::analyze(data, Anchor::Auto);
    assert_eq!(analyzed.timeline.spans.len(), 2);
    assert_eq!(analyzed.summary.total_tokens, 120);

    let sessions = case.sessions_json();
    let good = json_session(&sessions, "good");
    assert_eq!((&good["event_count"], &good["total_tokens"]), (&Value::from(3), &Value::from(120)));
    assert_eq!(good["duration_ms"], 2000.0);

    // The file-wide model table reads every trace, odd ones included, and keeps the good call.
    let models = case.run(&["models", "--json"]);
    models.ok();
    let models: Vec<Value> = serde_json::from_str(&models.stdout).expect("models --json is an array");
    assert!(models.iter().any(|m| m["model"] == "gpt-4o" && m["calls"].as_u64() >= Some(1)), "{models:?}");

    let summary = case.summary_json("good");
    assert_eq!(summary["total_events"], 3);
    assert_eq!(summary["total_tokens"], 120);
    assert_eq!(summary["models_used"], serde_json::json!(["gpt-4o"]));
    assert_eq!(summary["warning_count"], 0);

    let spans = case.timeline_json("good");
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!((&spans[0]["id"], &spans[0]["end_id"]), (&Value::from("g1"), &Value::from("g3")));
    assert_eq!(
        (&spans[1]["id"], &spans[1]["parent_id"], &spans[1]["duration_ms"]),
        (&Value::from("g2"), &Value::from("g1"), &Value::from(1500.0))
    );

    let show = case.run(&["show", "g2"]);
    show.ok();
    assert!(show.stdout.contains("raw_input: the prompt"), "{}", show.stdout);
    assert!(show.stdout.contains("input_tokens: 100"), "{}", show.stdout);
}

/// The messages of a loaded session's warnings, `trace id: message` when about one trace.
fn warning_texts(data: &SessionData) -> Vec<String> {
    data.warnings
        .iter()
        .map(|w| match &w.trace_id {
            Some(id) => format!("{id}: {}", w.message),
            None => w.message.clone(),
        })
        .collect()
}

fn has(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

macro_rules! assert_has {
    ($texts:expr, $needle:expr) => {{
        let texts = &$texts;
        assert!(has(texts, $needle), "no warning with '{}' in {:#?}", $needle, texts);
    }};
}

// ---- files that are not trace databases: one clear error ----------------------------------

#[test]
fn not_sqlite_binary() {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    Case::bytes(&bytes).fails_everywhere("not an SQLite database");
}

#[test]
fn empty_file() {
    Case::bytes(b"").fails_everywhere("file is empty (0 bytes)");
}

#[test]
fn text_file() {
    Case::bytes(b"id,session_id,type\n1,a,message\n").fails_everywhere("not an SQLite database");
}

#[test]
fn shorter_than_the_header() {
    Case::bytes(b"SQLite form").fails_everywhere("not an SQLite database");
}

#[test]
fn missing_file_and_folder() {
    let case = Case::new();
    case.fails_everywhere("file not found");
    let folder = Case::new();
    std::fs::create_dir(&folder.path).expect("mkdir");
    folder.fails_everywhere("is a directory");
}

#[test]
fn sqlite_with_other_tables_only() {
    Case::sql("CREATE TABLE users (id, name); CREATE TABLE notes (body); INSERT INTO notes VALUES ('hi');")
        .fails_everywhere("no agent_traces table: this is not an agent trace database (tables: notes, users)");
}

#[test]
fn sqlite_with_no_tables() {
    // A zero-page file is an empty database to SQLite; make one with a header and no tables.
    Case::sql("PRAGMA user_version = 7;")
        .fails_everywhere("no agent_traces table: this is not an agent trace database (tables: none)");
}

#[test]
fn required_column_missing() {
    Case::sql("CREATE TABLE agent_traces (id, session_id, type, data);")
        .fails_everywhere("agent_traces has no 'timestamp' column");
}

/// A database of `sessions` × `per_session` reference-shaped traces, with raw I/O so it spans
/// many pages.
fn big_db_sql(sessions: usize, per_session: usize) -> String {
    let mut sql = format!("PRAGMA page_size = 1024; {SCHEMA} {GOOD_ROWS} BEGIN;");
    for s in 0..sessions {
        sql.push_str(&format!(
            "INSERT INTO agent_trace_sessions VALUES ('s{s}', 'task {s}', '2026-11-20T10:00:00+00:00', NULL, 'running');"
        ));
        for t in 0..per_session {
            sql.push_str(&format!(
                "INSERT INTO agent_traces VALUES ('s{s}-t{t}', 's{s}', 'tool_result', '2026-11-20T10:00:{:02}+00:00', \
                 12.5, NULL, '{{\"tool\": \"read_file\", \"success\": true}}', NULL, NULL, NULL, NULL, NULL, \
                 printf('%.*c', 300, 'i'), printf('%.*c', 300, 'o'), '2026-11-20T10:00:00+00:00');",
                t % 60
            ));
        }
    }
    sql.push_str("COMMIT;");
    sql
}

#[test]
fn truncated_file() {
    let source = Case::sql(&big_db_sql(20, 20));
    let bytes = std::fs::read(&source.path).expect("read");
    assert!(bytes.len() > 200 * 1024, "the source spans many pages: {}", bytes.len());
    // The first 8 pages: the schema is readable, the traces are not.
    let case = Case::bytes(&bytes[..8 * 1024]);
    case.fails_everywhere("the SQLite file is corrupt or truncated");
}

#[test]
fn truncated_mid_page() {
    let source = Case::sql(&big_db_sql(20, 20));
    let bytes = std::fs::read(&source.path).expect("read");
    let case = Case::bytes(&bytes[..bytes.len() / 2 + 100]);
    case.fails_everywhere("the SQLite file is corrupt or truncated");
}

#[test]
fn garbage_over_pages() {
    let source = Case::sql(&big_db_sql(20, 20));
    let mut bytes = std::fs::read(&source.path).expect("read");
    // Pages 20..40 of 1 KiB: table and index pages, overwritten with a fixed noise.
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut bytes[20 * 1024..40 * 1024] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let case = Case::bytes(&bytes);
    // The session list reads the whole table and meets the damage: one clear error.
    case.untouched(|| {
        match Store::open(&case.path).and_then(|s| s.list_sessions()) {
            Err(StoreError::Corrupt { detail, .. }) => assert_eq!(detail, "database disk image is malformed"),
            other => panic!("expected a corrupt-file error, got {other:?}"),
        }
        case.run(&["sessions", "--json"])
            .error(&case.path, "the SQLite file is corrupt or truncated: database disk image is malformed");
        // One session is read through the session index, on pages the noise missed: shown.
        let data = case.load("good");
        assert_eq!(data.row.total_tokens, 120);
        assert_eq!(case.summary_json("good")["total_tokens"], 120);
        assert_eq!(case.timeline_json("good").len(), 2);
        // One trace is found through the id index, on pages the noise missed: it is shown.
        let detail = case.open().trace_detail("g2").expect("an intact row");
        assert_eq!(detail.field("input_tokens").and_then(|f| f.value.as_deref()), Some("100"));
        let show = case.run(&["show", "s3-t1"]);
        show.ok();
        assert!(show.stdout.contains("session_id: s3\n"), "{}", show.stdout);
    });
}

#[test]
fn broken_header() {
    let source = Case::sql(&format!("{SCHEMA}{GOOD_ROWS}"));
    let mut bytes = std::fs::read(&source.path).expect("read");
    // The magic is right; the page size (bytes 16..18) is 3, which no database has.
    bytes[16] = 0;
    bytes[17] = 3;
    let case = Case::bytes(&bytes);
    case.fails_everywhere("the SQLite file is corrupt or truncated");
}

#[test]
fn agent_traces_is_an_endless_view() {
    let case = Case::sql(
        "CREATE VIEW agent_traces AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) \
         SELECT x AS id, x AS session_id, 'message' AS type, '2026-11-20' AS timestamp FROM c;",
    );
    case.fails_everywhere("agent_traces is a view, not a table; only tables are read");
}

// ---- partial views: warnings, and the good rows keep their values -------------------------

#[test]
fn empty_tables() {
    let case = Case::sql(SCHEMA);
    case.untouched(|| {
        let list = case.list();
        assert!(list.sessions.is_empty());
        assert!(list.warnings.is_empty(), "{:?}", list.warnings);
        assert_eq!(list.file.trace_count, 0);
        assert_eq!(list.file.retention_days.as_deref(), Some("30"));
        assert!(case.sessions_json().is_empty());
        case.run(&["summary", "x"]).error(&case.path, "no session matches 'x'");
        case.run(&["timeline", "x", "--json"]).error(&case.path, "no session matches 'x'");
        case.run(&["show", "x"]).error(&case.path, "no trace with id 'x'");
    });
}

#[test]
fn sessions_without_traces() {
    let case = Case::sql(&format!(
        "{SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('lonely', 'Nothing logged', '2026-11-21T08:00:00+00:00', NULL, 'running');"
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let lonely = session(&list, "lonely");
        assert_eq!((lonely.event_count, lonely.total_tokens, lonely.duration_ms), (0, 0, None));
        assert_eq!(list.sessions[0].id, "lonely", "newest first");
        let data = case.load("lonely");
        assert!(data.events.is_empty());
        let analyzed = analysis::analyze(data, Anchor::Auto);
        assert!(analyzed.timeline.spans.is_empty());
        let summary = case.summary_json("lonely");
        assert_eq!((&summary["total_events"], &summary["status"]), (&Value::from(0), &Value::from("running")));
        assert!(case.timeline_json("lonely").is_empty());
    });
}

#[test]
fn no_sessions_table() {
    let case = Case::sql(&format!("{SCHEMA}{GOOD_ROWS} DROP TABLE agent_trace_sessions;"));
    case.untouched(|| {
        let list = case.list();
        let messages: Vec<String> = list.warnings.iter().map(|w| w.message.clone()).collect();
        assert_has!(messages, "no agent_trace_sessions table: sessions are derived from their traces");
        let good = session(&list, "good");
        assert_eq!((good.event_count, good.total_tokens, good.status.as_str()), (3, 120, "unknown"));
        assert!(!good.has_session_row);
        assert_eq!(good.started_at.as_deref(), Some("2026-11-20T09:00:00+00:00"), "from its first trace");
        assert_has!(case.sessions_warnings(), "no agent_trace_sessions table");
        let summary = case.summary_json("good");
        assert_eq!((&summary["total_events"], &summary["total_tokens"]), (&Value::from(3), &Value::from(120)));
        assert_eq!(case.timeline_json("good").len(), 2);
        let show = case.run(&["show", "g2"]);
        show.ok();
        assert!(show.stdout.contains("session_id: good\n"), "{}", show.stdout);
    });
}

#[test]
fn traces_naming_unknown_sessions() {
    let case = Case::sql(&format!(
        r#"{SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_traces VALUES
            ('o1', 'ghost', 'tool_called', '2026-11-22T10:00:00+00:00', NULL, NULL, '{{"tool": "grep"}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''),
            ('o2', 'ghost', 'tool_result', '2026-11-22T10:00:01+00:00', 1000, 'o1', '{{"tool": "grep", "success": true}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '');"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let messages: Vec<String> = list.warnings.iter().map(|w| w.message.clone()).collect();
        assert_has!(messages, "2 traces name session 'ghost', which has no session row");
        let ghost = session(&list, "ghost");
        assert_eq!((ghost.event_count, ghost.has_session_row), (2, false));
        assert_has!(case.sessions_warnings(), "2 traces name session 'ghost'");
        let spans = case.timeline_json("ghost");
        assert_eq!(spans.len(), 1, "a call/result pair is one span");
        assert_eq!((&spans[0]["label"], &spans[0]["duration_ms"]), (&Value::from("grep"), &Value::from(1000.0)));
    });
}

#[test]
fn old_schema_without_tokens_cost_model_raw() {
    let case = Case::sql(
        r#"CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT, started_at TEXT, completed_at TEXT, status TEXT);
        CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT, type TEXT, timestamp TEXT,
            duration_ms REAL, parent_trace_id TEXT, data TEXT, created_at TEXT);
        INSERT INTO agent_trace_sessions VALUES ('old', 'Old run', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:05+00:00', 'completed');
        INSERT INTO agent_traces VALUES
            ('a', 'old', 'tool_called', '2025-01-01T00:00:01+00:00', NULL, NULL, '{"tool": "ls"}', ''),
            ('b', 'old', 'tool_result', '2025-01-01T00:00:03+00:00', 2000, 'a', '{"tool": "ls", "success": true}', '');"#,
    );
    case.untouched(|| {
        let list = case.list();
        let mut missing = list.file.missing_columns.clone();
        missing.sort();
        assert_eq!(
            missing,
            ["cost_usd", "input_tokens", "model_used", "output_tokens", "provider_used", "raw_input", "raw_output"]
        );
        let old = session(&list, "old");
        assert_eq!((old.event_count, old.total_tokens, old.total_cost_usd), (2, 0, 0.0));
        assert_eq!(old.duration_ms, Some(5000.0));
        let analyzed = analysis::analyze(case.load("old"), Anchor::Auto);
        assert_eq!(analyzed.summary.tools.len(), 1);
        assert_eq!((analyzed.summary.tools[0].tool.as_str(), analyzed.summary.tools[0].max_ms), ("ls", 2000.0));
        let summary = case.summary_json("old");
        assert_eq!((&summary["total_events"], &summary["total_tokens"]), (&Value::from(2), &Value::from(0)));
        assert_eq!(case.timeline_json("old")[0]["duration_ms"], 2000.0);
        let show = case.run(&["show", "b", "--json"]);
        show.ok();
        let detail: Value = serde_json::from_str(&show.stdout).expect("show --json");
        let names: Vec<&str> =
            detail["fields"].as_array().expect("fields").iter().filter_map(|f| f["name"].as_str()).collect();
        assert_eq!(
            names,
            ["id", "session_id", "type", "timestamp", "duration_ms", "parent_trace_id", "data", "created_at"]
        );
    });
}

#[test]
fn extra_columns() {
    let case = Case::sql(&format!(
        "{SCHEMA}
        ALTER TABLE agent_traces ADD COLUMN span_kind TEXT;
        ALTER TABLE agent_traces ADD COLUMN \"Weird \"\"name\"\"\" BLOB;
        {GOOD_ROWS}
        UPDATE agent_traces SET span_kind = 'llm', \"Weird \"\"name\"\"\" = x'0102' WHERE id = 'g2';"
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        assert_eq!(list.file.extra_columns, ["span_kind", "Weird \"name\""]);
        assert!(list.file.missing_columns.is_empty());
        let detail = case.open().trace_detail("g2").expect("detail");
        assert_eq!(detail.field("span_kind").and_then(|f| f.value.as_deref()), Some("llm"));
        assert_eq!(
            detail.field("Weird \"name\"").map(|f| (f.storage, f.value.as_deref())),
            Some(("blob", Some("x'0102'")))
        );
        let show = case.run(&["show", "g2"]);
        show.ok();
        assert!(show.stdout.contains("span_kind: llm"), "{}", show.stdout);
    });
}

#[test]
fn null_blob_and_duplicate_ids() {
    let case = Case::sql(&format!(
        r#"{LOOSE_SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES (NULL, 'no id', '2026-11-20T11:00:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('ids', 'First', '2026-11-20T12:00:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('ids', 'Second', '2026-11-20T12:00:00Z', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, data) VALUES
            (NULL, 'ids', 'state_change', '2026-11-20T12:00:01Z', '{{"state": "nameless"}}'),
            (x'00FF', 'ids', 'state_change', '2026-11-20T12:00:02Z', '{{"state": "blob id"}}'),
            ('dup', 'ids', 'state_change', '2026-11-20T12:00:03Z', '{{"state": "first dup"}}'),
            ('dup', 'ids', 'state_change', '2026-11-20T12:00:04Z', '{{"state": "second dup"}}'),
            ('n1', NULL, 'state_change', '2026-11-20T13:00:00Z', '{{"state": "no session"}}'),
            ('b1', x'AB', 'state_change', '2026-11-20T14:00:00Z', '{{"state": "blob session"}}');"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let messages: Vec<String> = list.warnings.iter().map(|w| w.message.clone()).collect();
        assert_has!(messages, "a session row has a NULL id; skipped");
        assert_has!(messages, "session id 'ids' appears twice; the first row is shown");
        assert_eq!(session(&list, "ids").task, "First");
        assert_eq!(session(&list, "ids").event_count, 4);
        assert_eq!(session(&list, "").event_count, 1, "NULL session ids are listed under ''");
        assert_eq!(session(&list, "x'AB'").event_count, 1);

        let data = case.load("ids");
        let ids: Vec<String> = data.events.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(ids, ["(no id #4)", "x'00FF'", "dup", "dup"]);
        let texts = warning_texts(&data);
        assert_has!(texts, "(no id #4): id is NULL");
        assert_has!(texts, "x'00FF': id is a blob; shown as hex");
        let timeline = analysis::analyze(data, Anchor::Auto).timeline;
        assert!(timeline.warnings.iter().any(|w| w.message.contains("repeat an id")), "{:?}", timeline.warnings);
        assert_eq!(&*case.load("x'AB'").events[0].info.label, "blob session");
        assert_eq!(case.load("").events[0].id, "n1");

        let store = case.open();
        let blob = store.trace_detail("x'00FF'").expect("blob id detail");
        assert_eq!(blob.field("data").and_then(|f| f.value.as_deref()), Some(r#"{"state": "blob id"}"#));
        let dup = store.trace_detail("dup").expect("dup detail");
        assert_eq!(dup.duplicates, 2);
        assert_has!(dup.warnings, "more than one trace has the id 'dup'; the first is shown");

        let sessions = case.sessions_json();
        assert_eq!(json_session(&sessions, "ids")["event_count"], 4);
        assert_has!(case.sessions_warnings(), "session id 'ids' appears twice");
        let spans = case.timeline_json("ids");
        assert_eq!(spans.len(), 4);
        assert_eq!(case.summary_json("ids")["total_events"], 4);
        let show = case.run(&["show", "dup"]);
        show.ok();
        assert!(show.stdout.contains("data: {\"state\": \"first dup\"}"), "{}", show.stdout);
        assert!(show.stderr.contains("warning: more than one trace has the id 'dup'"), "{}", show.stderr);
        let show = case.run(&["show", "x'00FF'"]);
        show.ok();
        assert!(show.stdout.contains("blob id"), "{}", show.stdout);
    });
}

#[test]
fn invalid_utf8() {
    let case = Case::sql(&format!(
        r#"{LOOSE_SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('utf8', CAST(x'4f6b20fffe' AS TEXT), '2026-11-20T12:00:00Z', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, data) VALUES
            ('u1', 'utf8', 'tool_called', '2026-11-20T12:00:01Z', CAST(x'7b22746f6f6c223a2022ff6c73227d' AS TEXT)),
            ('u2', 'utf8', CAST(x'fffe' AS TEXT), '2026-11-20T12:00:02Z', '{{}}');"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let row = session(&list, "utf8");
        assert_eq!(row.task, "Ok \u{fffd}\u{fffd}");
        assert_has!(row.warnings, "task is not valid UTF-8; shown with replacement characters");
        let data = case.load("utf8");
        let texts = warning_texts(&data);
        assert_has!(texts, "u1: data is not valid UTF-8; shown with replacement characters");
        assert_has!(texts, "u2: type is not valid UTF-8");
        assert_eq!(data.events[0].info.tool.as_deref(), Some("\u{fffd}ls"));
        assert_eq!(&*data.events[1].kind, "\u{fffd}\u{fffd}");
        let sessions = case.sessions_json();
        let utf8 = json_session(&sessions, "utf8");
        assert_eq!(utf8["task"], "Ok \u{fffd}\u{fffd}");
        assert_eq!(utf8["warnings"][0], "task is not valid UTF-8; shown with replacement characters");
        assert_eq!(case.timeline_json("utf8")[0]["label"], "\u{fffd}ls");
        let show = case.run(&["show", "u1"]);
        show.ok();
        assert!(show.stderr.contains("warning: data is not valid UTF-8"), "{}", show.stderr);
    });
}

#[test]
fn wrong_value_types() {
    let big = 1_i64 << 62;
    let case = Case::sql(&format!(
        r#"{LOOSE_SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('types', 'Odd values', '2026-11-20T12:00:00Z', '2026-11-20T12:01:00Z', 'completed');
        INSERT INTO agent_trace_sessions VALUES ('big', 'Huge counts', '2026-11-20T13:00:00Z', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, data, input_tokens, output_tokens, cost_usd) VALUES
            ('w1', 'types', 'message', '2026-11-20T12:00:01Z', 'fast', '{{}}', '12', 3, '0.25'),
            ('w2', 'types', 'tool_result', '2026-11-20T12:00:02Z', -5, '{{"tool": "t"}}', NULL, NULL, 'cheap'),
            ('w3', 'types', 'tool_result', '2026-11-20T12:00:03Z', 1e308, '{{"tool": "t"}}', NULL, NULL, x'01'),
            ('w4', 'types', 'message', '2026-11-20T12:00:04Z', 250.5, '{{}}', 1.5, 'many', 1e999),
            ('b1', 'big', 'message', '2026-11-20T13:00:01Z', 250, '{{}}', {big}, 0, 0.5),
            ('b2', 'big', 'message', '2026-11-20T13:00:02Z', 250, '{{}}', {big}, 0, 0.5),
            ('m1', 'lowest', 'message', '2026-11-20T14:00:01Z', 250, '{{}}', -9223372036854775808, 7, NULL);"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let messages: Vec<String> = list.warnings.iter().map(|w| w.message.clone()).collect();
        assert_has!(messages, "token sums exceed the 64-bit integer range; totals are approximate");
        let types = session(&list, "types");
        assert_eq!((types.event_count, types.total_input_tokens, types.total_output_tokens), (4, 12, 3));
        assert!(
            close(types.total_cost_usd, 0.25),
            "'0.25' as text counts, infinity does not: {}",
            types.total_cost_usd
        );
        let big = session(&list, "big");
        assert_eq!((big.total_input_tokens, big.total_tokens), (i64::MAX, i64::MAX), "an overflowing sum saturates");
        assert!(close(big.total_cost_usd, 1.0));

        let lowest = case.load("lowest");
        assert_has!(warning_texts(&lowest), "m1: input_tokens is -9223372036854775808, out of range; ignored");
        let m1 = lowest.events.first().expect("m1 is loaded");
        assert_eq!(
            (m1.input_tokens(), m1.output_tokens()),
            (None, Some(7)),
            "the lowest i64 is said, not read as none silently"
        );

        let data = case.load("types");
        let texts = warning_texts(&data);
        assert_has!(texts, "w1: duration_ms is 'fast', not a number; ignored");
        assert_has!(texts, "w1: input_tokens is stored as text ('12')");
        assert_has!(texts, "w1: cost_usd is stored as text ('0.25')");
        assert_has!(texts, "w2: duration_ms -5 is negative or implausibly long; treated as an instant");
        assert_has!(texts, "w2: cost_usd is 'cheap', not a number; ignored");
        assert_has!(texts, "w3: duration_ms 1000000000000000");
        assert_has!(texts, "w3: cost_usd is a blob of 1 bytes, not a number; ignored");
        assert_has!(texts, "w4: input_tokens is 1.5, not a whole number; ignored");
        assert_has!(texts, "w4: output_tokens is 'many', not a number; ignored");
        assert_has!(texts, "w4: cost_usd is inf; ignored");
        assert_eq!(texts.len(), 10, "{texts:#?}");
        let by_id = |id: &str| data.events.iter().find(|e| e.id == id).expect("event");
        assert_eq!(
            (by_id("w1").duration_ms.get(), by_id("w1").input_tokens(), by_id("w1").cost_usd()),
            (None, Some(12), Some(0.25))
        );
        assert_eq!((by_id("w2").duration_ms.get(), by_id("w3").duration_ms.get()), (None, None));
        assert_eq!(by_id("w4").duration_ms.get(), Some(250.5));
        let analyzed = analysis::analyze(data, Anchor::Auto);
        assert_eq!((analyzed.summary.total_input_tokens, analyzed.summary.total_output_tokens), (12, 3));
        assert!(close(analyzed.summary.total_cost_usd, 0.25), "the list and the summary agree");
        let analyzed = analysis::analyze(case.load("big"), Anchor::Auto);
        assert_eq!(analyzed.summary.total_input_tokens, i64::MAX);

        let sessions = case.sessions_json();
        assert_eq!(json_session(&sessions, "big")["total_input_tokens"], i64::MAX);
        assert_eq!(json_session(&sessions, "types")["total_input_tokens"], 12);
        assert_has!(case.sessions_warnings(), "token sums exceed the 64-bit integer range");
        assert_eq!(case.summary_json("big")["total_input_tokens"], i64::MAX);
        let summary = case.summary_json("types");
        assert_eq!((&summary["total_input_tokens"], &summary["warning_count"]), (&Value::from(12), &Value::from(10)));
        let spans = case.timeline_json("types");
        let w4 = spans.iter().find(|s| s["id"] == "w4").expect("w4 span");
        assert_eq!(w4["duration_ms"], 250.5);
        let w2 = spans.iter().find(|s| s["id"] == "w2").expect("w2 span");
        assert_eq!(w2["instant"], true);
    });
}

#[test]
fn broken_deep_and_wide_json() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_in_object = format!(r#"{{"tool": "deep", "x": {}1{}}}"#, "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let mut wide = String::from(r#"{"tool": "wide""#);
    for i in 0..200_000 {
        wide.push_str(&format!(r#", "k{i}": {i}"#));
    }
    wide.push('}');
    let case = Case::new();
    {
        let conn = Connection::open(&case.path).expect("create");
        conn.execute_batch(&format!("{SCHEMA}{GOOD_ROWS}")).expect("schema");
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES ('json', 'JSON', '2026-11-20T12:00:00Z', NULL, 'running')",
            [],
        )
        .expect("session");
        let mut insert = conn
            .prepare("INSERT INTO agent_traces (id, session_id, type, timestamp, data, created_at) VALUES (?1, 'json', ?2, ?3, ?4, '')")
            .expect("prepare");
        for (id, kind, ts, data) in [
            ("j1", "message", "2026-11-20T12:00:01Z", "{broken"),
            ("j2", "message", "2026-11-20T12:00:02Z", deep.as_str()),
            ("j3", "tool_called", "2026-11-20T12:00:03Z", deep_in_object.as_str()),
            ("j4", "tool_called", "2026-11-20T12:00:04Z", wide.as_str()),
            ("j5", "message", "2026-11-20T12:00:05Z", "[1, 2]"),
            ("j6", "tool_called", "2026-11-20T12:00:06Z", r#"{"tool": "first", "tool": "second"}"#),
            // Found by fuzzing: serde reads a struct from an array of exactly its 18 fields.
            (
                "j7",
                "tool_called",
                "2026-11-20T12:00:07Z",
                r#"["grep", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]"#,
            ),
        ] {
            insert.execute([id, kind, ts, data]).expect("insert");
        }
    }
    case.untouched(|| {
        good_is_intact(&case);
        let started = Instant::now();
        let data = case.load("json");
        assert!(started.elapsed() < Duration::from_secs(20), "load took {:?}", started.elapsed());
        let texts = warning_texts(&data);
        assert_has!(texts, "j1: data is not valid JSON (");
        assert_has!(texts, "j2: data is not valid JSON (recursion limit exceeded");
        assert!(!texts.iter().any(|t| t.starts_with("j3")), "deep nesting under an unread key is skipped: {texts:?}");
        assert_has!(texts, "j5: data is JSON but not an object");
        assert_has!(
            texts,
            "j6: data repeats a key (duplicate field `tool` at line 1 column 24); the last value is used"
        );
        assert_has!(texts, "j7: data is JSON but not an object");
        let j7 = data.events.iter().find(|e| e.id == "j7").expect("j7");
        assert_eq!((j7.info.tool.as_deref(), j7.info.data_is_object), (None, false));
        let j6 = data.events.iter().find(|e| e.id == "j6").expect("j6");
        assert_eq!((j6.info.tool.as_deref(), j6.info.data_is_object), (Some("second"), true));
        assert!(!texts.iter().any(|t| t.starts_with("j4")), "the wide object is fine: {texts:?}");
        let j3 = data.events.iter().find(|e| e.id == "j3").expect("j3");
        assert_eq!((j3.info.tool.as_deref(), j3.info.data_is_object), (Some("deep"), true));
        let j4 = data.events.iter().find(|e| e.id == "j4").expect("j4");
        assert_eq!((j4.info.tool.as_deref(), j4.info.data_is_object), (Some("wide"), true));
        let j4_detail = Store::open(&case.path).and_then(|s| s.trace_detail("j4")).expect("j4 detail");
        let j4_data = j4_detail.field("data").expect("data field");
        assert_eq!(
            (j4_data.size_bytes, j4_data.value.as_ref().map(String::len)),
            (wide.len() as u64, Some(wide.len()))
        );
        let analyzed = analysis::analyze(data, Anchor::Auto);
        assert_eq!(analyzed.summary.total_events, 7);
        let spans = case.timeline_json("json");
        assert_eq!(spans.len(), 7);
        assert!(spans.iter().any(|s| s["label"] == "wide"));
        assert_eq!(case.summary_json("json")["warning_count"], 5);
        case.run(&["show", "j2", "--json"]).ok();
    });
}

#[test]
fn raw_input_of_64_mib() {
    let size: u64 = 64 << 20;
    let case = Case::sql(&format!(
        "{SCHEMA}{GOOD_ROWS}
        UPDATE agent_traces SET raw_input = hex(zeroblob({})), raw_output = zeroblob(3000000) WHERE id = 'g2';",
        size / 2
    ));
    case.untouched(|| {
        let started = Instant::now();
        // The list, the load and the timeline never read raw I/O: they stay fast.
        let store = case.open();
        let data = store.load_session("good", None).expect("load");
        let g2 = data.events.iter().find(|e| e.id == "g2").expect("g2");
        assert!(g2.info.raw_io);
        assert!(data.events.iter().filter(|e| e.id != "g2").all(|e| !e.info.raw_io), "only g2 has raw I/O");
        assert!(started.elapsed() < Duration::from_secs(10), "load took {:?}", started.elapsed());

        let detail = store.trace_detail("g2").expect("detail");
        let raw = detail.field("raw_input").expect("raw_input field");
        assert!(raw.cut);
        assert_eq!(raw.size_bytes, size);
        assert_eq!(detail.field("raw_output").map(|f| (f.storage, f.size_bytes)), Some(("blob", 3_000_000)));
        assert_eq!(raw.size_bytes, size);
        assert_eq!(raw.storage, "text");
        assert_eq!(raw.value.as_ref().map(String::len), Some(store::DETAIL_VALUE_LIMIT));
        assert!(raw.value.as_deref().is_some_and(|v| v.bytes().all(|b| b == b'0')));
        let out = detail.field("raw_output").expect("raw_output field");
        assert_eq!((out.storage, out.cut, out.size_bytes), ("blob", true, 3_000_000));
        assert_has!(detail.warnings, &format!("raw_input is {size} bytes; only the first 1048576 are shown"));
        assert_eq!(detail.field("input_tokens").and_then(|f| f.value.as_deref()), Some("100"));

        let hits = store.search(&SearchQuery { text: "prompt".into(), ..SearchQuery::default() }, &mut |_| {
            std::ops::ControlFlow::Continue(())
        });
        assert_eq!(hits.expect("search"), 0, "the raw input no longer holds 'prompt'");

        let show = case.run(&["show", "g2", "--json"]);
        show.ok();
        let json: Value = serde_json::from_str(&show.stdout).expect("show --json");
        let field =
            json["fields"].as_array().expect("fields").iter().find(|f| f["name"] == "raw_input").expect("raw_input");
        assert_eq!((&field["cut"], &field["size_bytes"]), (&Value::from(true), &Value::from(size)));
        assert_eq!(field["value"].as_str().map(str::len), Some(store::DETAIL_VALUE_LIMIT));
        let show = case.run(&["show", "g2"]);
        show.ok();
        assert!(show.stdout.contains(&format!("raw_input (text, {size} bytes):")), "{}", &show.stdout[..200]);
        assert!(show.stderr.contains(&format!("warning: raw_input is {size} bytes; only the first 1048576 are shown")));
        let sessions = case.sessions_json();
        assert_eq!(json_session(&sessions, "good")["total_tokens"], 120);
        assert_eq!(case.timeline_json("good").len(), 2);
    });
}

#[test]
fn timestamps_unknown_and_impossible() {
    let case = Case::sql(&format!(
        r#"{LOOSE_SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('times', 'Times', 'soon', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, data) VALUES
            ('t1', 'times', 'state_change', 'yesterday', '{{"state": "a"}}'),
            ('t2', 'times', 'state_change', '0001-01-01T00:00:00Z', '{{"state": "b"}}'),
            ('t3', 'times', 'state_change', '9999-12-31T23:59:59Z', '{{"state": "c"}}'),
            ('t4', 'times', 'state_change', '2026-02-30T10:00:00Z', '{{"state": "d"}}'),
            ('t5', 'times', 'state_change', NULL, '{{"state": "e"}}'),
            ('t6', 'times', 'state_change', '2026-11-20 09:00:00', '{{"state": "f"}}'),
            ('t7', 'times', 'state_change', 1795165201, '{{"state": "g"}}'),
            ('t8', 'times', 'state_change', x'00', '{{"state": "h"}}');"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        let row = session(&list, "times");
        assert_has!(row.warnings, "started_at: timestamp 'soon' is not in a known form; left off the timeline");
        assert_eq!(row.event_count, 8);
        let data = case.load("times");
        let texts = warning_texts(&data);
        assert_has!(texts, "t1: timestamp: timestamp 'yesterday' is not in a known form; left off the timeline");
        assert_has!(texts, "t2: timestamp: timestamp '0001-01-01T00:00:00Z' is outside the years 1900..=2200");
        assert_has!(texts, "t3: timestamp: timestamp '9999-12-31T23:59:59Z' is outside the years 1900..=2200");
        assert_has!(texts, "t4: timestamp: timestamp '2026-02-30T10:00:00Z' is not a real date or time");
        assert_has!(texts, "t5: timestamp is NULL; left off the timeline");
        assert_has!(texts, "t6: timestamp has no UTC offset; read as UTC");
        assert_has!(texts, "t8: timestamp is a blob, not a time; left off the timeline");
        assert_has!(texts, "t8: timestamp is a blob of 1 bytes, not text");
        // The readable ones come first, in time order; the rest keep their stored order.
        let order: Vec<String> = data.events.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(order, ["t6", "t7", "t1", "t2", "t3", "t4", "t5", "t8"]);
        let analyzed = analysis::analyze(data, Anchor::Auto);
        let timed: Vec<bool> = analyzed.timeline.spans.iter().map(|s| s.timed).collect();
        assert_eq!(timed, [true, true, false, false, false, false, false, false]);
        assert!(close(analyzed.timeline.spans[1].start_ms, 1000.0), "t7 is one second after t6");

        let spans = case.timeline_json("times");
        assert_eq!(spans.len(), 8);
        assert_eq!(spans[0]["start"], "2026-11-20T09:00:00.000000Z");
        assert_eq!(spans[1]["start"], "2026-11-20T09:00:01.000000Z");
        assert!(spans[2..].iter().all(|s| s["start"].is_null()));
        let sessions = case.sessions_json();
        assert_eq!(
            json_session(&sessions, "times")["warnings"][0],
            "started_at: timestamp 'soon' is not in a known form; left off the timeline"
        );
        assert_eq!(case.summary_json("times")["warning_count"], 9);
    });
}

#[test]
fn timestamps_at_both_ends_of_the_accepted_years() {
    let (first, last) = ("1900-01-01T00:00:00Z", "2200-12-31T23:59:59Z");
    let case = Case::sql(&format!(
        r#"{SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('span', 'Three centuries', '{first}', '{last}', 'completed');
        INSERT INTO agent_traces VALUES
            ('e1', 'span', 'trace_started', '{first}', NULL, NULL, '{{}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''),
            ('e2', 'span', 'trace_ended', '{last}', NULL, 'e1', '{{}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '');"#
    ));
    let want_ms = (DateTime::parse_from_rfc3339(last).expect("last")
        - DateTime::parse_from_rfc3339(first).expect("first"))
    .num_milliseconds() as f64;
    case.untouched(|| {
        good_is_intact(&case);
        let list = case.list();
        assert_eq!(session(&list, "span").duration_ms, Some(want_ms));
        let analyzed = analysis::analyze(case.load("span"), Anchor::Auto);
        assert_eq!(analyzed.timeline.spans.len(), 1);
        assert_eq!(analyzed.timeline.spans[0].duration_ms(), want_ms);
        let spans = case.timeline_json("span");
        assert_eq!(
            (&spans[0]["start"], &spans[0]["end"]),
            (&Value::from("1900-01-01T00:00:00.000000Z"), &Value::from("2200-12-31T23:59:59.000000Z"))
        );
        assert_eq!(case.summary_json("span")["total_duration_ms"], want_ms);
    });
}

#[test]
fn parent_cycles_and_self_parents() {
    let case = Case::sql(&format!(
        r#"{SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES ('tree', 'Tangled', '2026-11-20T12:00:00Z', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, parent_trace_id, data, created_at) VALUES
            ('p1', 'tree', 'state_change', '2026-11-20T12:00:01Z', 'p1', '{{}}', ''),
            ('p2', 'tree', 'state_change', '2026-11-20T12:00:02Z', 'p3', '{{}}', ''),
            ('p3', 'tree', 'state_change', '2026-11-20T12:00:03Z', 'p4', '{{}}', ''),
            ('p4', 'tree', 'state_change', '2026-11-20T12:00:04Z', 'p2', '{{}}', ''),
            ('p5', 'tree', 'state_change', '2026-11-20T12:00:05Z', 'nowhere', '{{}}', ''),
            ('p6', 'tree', 'state_change', '2026-11-20T12:00:06Z', 'p5', '{{}}', '');"#
    ));
    case.untouched(|| {
        good_is_intact(&case);
        let analyzed = analysis::analyze(case.load("tree"), Anchor::Auto);
        let t = &analyzed.timeline;
        let warnings: Vec<String> =
            t.warnings.iter().map(|w| format!("{}: {}", w.trace_id.as_deref().unwrap_or(""), w.message)).collect();
        assert_has!(warnings, "p1: is its own parent; shown as a root");
        assert_has!(warnings, "p4: parent chain loops back to it; cut here and shown as a root");
        assert_has!(warnings, "p5: parent 'nowhere' is not in this session; shown as a root");
        assert_eq!(t.spans.len(), 6);
        let roots = t.spans.iter().filter(|s| s.parent.get().is_none()).count();
        assert_eq!(roots, 3, "p1, one of the p2/p3/p4 loop, p5");
        let spans = case.timeline_json("tree");
        let p6 = spans.iter().find(|s| s["id"] == "p6").expect("p6");
        assert_eq!((&p6["parent_id"], &p6["depth"]), (&Value::from("p5"), &Value::from(1)));
        let depths: Vec<u64> = spans.iter().filter_map(|s| s["depth"].as_u64()).collect();
        assert_eq!(depths.iter().filter(|&&d| d == 2).count(), 1, "the cut loop is a chain of three");
        assert_eq!(case.summary_json("tree")["warning_count"], 3);
        // The CLI reports them on stderr, whatever the output format.
        for args in [&["timeline", "tree", "--json"][..], &["tree", "tree"], &["summary", "tree", "--json"]] {
            let run = case.run(args);
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert_eq!(
                lines,
                [
                    "warning: trace p1: is its own parent; shown as a root",
                    "warning: trace p5: parent 'nowhere' is not in this session; shown as a root",
                    "warning: trace p4: parent chain loops back to it; cut here and shown as a root",
                ],
                "{args:?}"
            );
            run.ok();
        }
    });
}

#[test]
fn parent_chain_200000_deep() {
    const DEPTH: usize = 200_000;
    let case = Case::new();
    {
        let mut conn = Connection::open(&case.path).expect("create");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES ('deep', 'Deep', '2026-11-20T12:00:00Z', NULL, 'running')",
            [],
        )
        .expect("session");
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare("INSERT INTO agent_traces (id, session_id, type, timestamp, parent_trace_id, data, created_at) VALUES (?1, 'deep', 'step', ?2, ?3, '{}', '')")
                .expect("prepare");
            for i in 0..DEPTH {
                let parent = (i > 0).then(|| format!("d{}", i - 1));
                let ts =
                    format!("2026-11-20T12:{:02}:{:02}.{:06}Z", (i / 60_000) % 60, (i / 1000) % 60, (i % 1000) * 1000);
                insert.execute(rusqlite::params![format!("d{i}"), ts, parent]).expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    case.untouched(|| {
        let analyzed = analysis::analyze(case.load("deep"), Anchor::Auto);
        let spans = &analyzed.timeline.spans;
        assert_eq!(spans.len(), DEPTH);
        assert_eq!(spans[DEPTH - 1].depth as usize, DEPTH - 1);
        assert_eq!(spans[0].subtree_end(), DEPTH);
        assert_eq!(analyzed.summary.total_events, DEPTH as u64);
        let spans = case.timeline_json("deep");
        assert_eq!(spans.len(), DEPTH);
        assert_eq!(
            (&spans[DEPTH - 1]["id"], &spans[DEPTH - 1]["depth"]),
            (&Value::from(format!("d{}", DEPTH - 1)), &Value::from(DEPTH - 1))
        );
        let tree = case.run(&["tree", "deep"]);
        tree.ok();
        assert!(tree.stdout.lines().last().is_some_and(|l| l.contains(&format!("[depth {}]", DEPTH - 1))));
        assert_eq!(case.summary_json("deep")["total_events"], DEPTH);
        let show = case.run(&["show", &format!("d{}", DEPTH - 1)]);
        show.ok();
        assert!(show.stdout.contains(&format!("parent_trace_id: d{}\n", DEPTH - 2)), "{}", show.stdout);
    });
}

#[test]
fn many_events_with_one_timestamp() {
    const COUNT: usize = 100_000;
    let case = Case::new();
    {
        let mut conn = Connection::open(&case.path).expect("create");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES ('same', 'Same time', '2026-11-20T12:00:00Z', NULL, 'running')",
            [],
        )
        .expect("session");
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare("INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, data, input_tokens, created_at) VALUES (?1, 'same', 'tool_result', '2026-11-20T12:00:00+00:00', 5, '{\"tool\": \"t\"}', 1, '')")
                .expect("prepare");
            for i in 0..COUNT {
                insert.execute([format!("e{i:06}")]).expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    case.untouched(|| {
        let list = case.list();
        let row = session(&list, "same");
        assert_eq!((row.event_count, row.total_input_tokens), (COUNT as u64, COUNT as i64));
        let data = case.load("same");
        let ids_in_order = data.events.windows(2).all(|w| w[0].id < w[1].id);
        assert!(ids_in_order, "ties keep the stored order");
        let analyzed = analysis::analyze(data, Anchor::Auto);
        assert_eq!(analyzed.timeline.spans.len(), COUNT);
        assert_eq!(analyzed.summary.tools.len(), 1);
        assert_eq!((analyzed.summary.tools[0].calls, analyzed.summary.tools[0].p95_ms), (COUNT as u64, 5.0));
        let summary = case.summary_json("same");
        assert_eq!(
            (&summary["total_events"], &summary["total_input_tokens"]),
            (&Value::from(COUNT), &Value::from(COUNT))
        );
        assert_eq!(case.timeline_json("same").len(), COUNT);
        let show = case.run(&["show", "e099999"]);
        show.ok();
        assert!(show.stdout.contains("timestamp: 2026-11-20T12:00:00+00:00\n"), "{}", show.stdout);
    });
}

#[test]
fn trigger_and_endless_views() {
    let case = Case::sql(&format!(
        "{SCHEMA}{GOOD_ROWS}
        CREATE TABLE audit (what);
        CREATE TRIGGER log_reads AFTER INSERT ON agent_traces BEGIN INSERT INTO audit VALUES (new.id); END;
        CREATE VIEW v AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c;
        DROP TABLE agent_trace_sessions;
        CREATE VIEW agent_trace_sessions AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)
            SELECT 'good' AS id, 'loop' AS task, '2026-11-20' AS started_at, NULL AS completed_at, 'running' AS status FROM c;
        DROP TABLE trace_settings;
        CREATE VIEW trace_settings AS SELECT 'retention_days' AS key, x AS value FROM v;"
    ));
    case.untouched(|| {
        let started = Instant::now();
        let list = case.list();
        assert!(started.elapsed() < Duration::from_secs(5), "list took {:?}", started.elapsed());
        let messages: Vec<String> = list.warnings.iter().map(|w| w.message.clone()).collect();
        assert_has!(messages, "no agent_trace_sessions table: sessions are derived from their traces");
        assert_eq!(list.file.retention_days, None, "a view is not read, even one named trace_settings");
        let good = session(&list, "good");
        assert_eq!((good.event_count, good.total_tokens, good.task.as_str()), (3, 120, ""));
        assert_has!(case.sessions_warnings(), "no agent_trace_sessions table");
        assert_eq!(json_session(&case.sessions_json(), "good")["event_count"], 3);
        assert_eq!(case.summary_json("good")["total_tokens"], 120);
        assert_eq!(case.timeline_json("good").len(), 2);
        case.run(&["show", "g2"]).ok();
    });
}

// ---- WAL files ------------------------------------------------------------------------------

/// A WAL database whose writer stays open with checkpoints off: the rows are only in `-wal`.
fn wal_with_open_writer(case: &Case) -> Connection {
    let conn = Connection::open(&case.path).expect("create");
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).expect("wal");
    conn.execute_batch("PRAGMA wal_autocheckpoint=0;").expect("no checkpoints");
    conn.execute_batch(&format!("{SCHEMA}{GOOD_ROWS}")).expect("rows");
    conn
}

#[test]
fn wal_commits_not_yet_checkpointed() {
    let case = Case::new();
    let writer = wal_with_open_writer(&case);
    let wal = store::wal_path(&case.path);
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).expect("-wal exists");
    assert!(wal_bytes > 0);
    // The main file holds no table yet: everything is in the -wal.
    let main = Connection::open_with_flags(
        format!("file:{}?immutable=1", case.file()),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .expect("immutable");
    let tables: i64 = main.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0)).expect("count");
    assert_eq!(tables, 0, "nothing checkpointed");
    drop(main);
    case.untouched(|| {
        good_is_intact(&case);
        assert_eq!(case.list().file.wal_bytes, Some(wal_bytes));
    });
    // The writer goes on and the reader sees it.
    writer
        .execute_batch(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, data, created_at) VALUES ('g4', 'good', 'state_change', '2026-11-20T09:00:01Z', '{}', '');",
        )
        .expect("more");
    assert_eq!(session(&case.list(), "good").event_count, 4);
    assert_eq!(json_session(&case.sessions_json(), "good")["event_count"], 4);
    drop(writer);
}

#[test]
fn wal_file_left_without_writer_in_a_read_only_folder() {
    let source = Case::new();
    let writer = wal_with_open_writer(&source);
    let make_copy = || {
        let case = Case::new();
        std::fs::copy(&source.path, &case.path).expect("copy db");
        std::fs::copy(store::wal_path(&source.path), store::wal_path(&case.path)).expect("copy wal");
        for name in [case.path.clone(), store::wal_path(&case.path)] {
            std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o444)).expect("chmod file");
        }
        std::fs::set_permissions(&case.dir, std::fs::Permissions::from_mode(0o555)).expect("chmod folder");
        case
    };
    let (for_cli, for_core) = (make_copy(), make_copy());
    drop(writer);
    // Permission bits do not stop root: find out whether they stop us.
    let probe = for_cli.dir.join("probe");
    let bits_bind = std::fs::write(&probe, b"x").is_err();
    let _ = std::fs::remove_file(&probe);

    // The CLI: as an ordinary user when we are root, so the folder really is read-only to it.
    let copies_before = private_copies();
    // `nobody` may not reach the build folder (under /root, say): it runs a copy from /tmp.
    let bin_dir = tempfile::tempdir().expect("temporary folder");
    let bin = bin_dir.path().join("trace-inspector");
    if !bits_bind {
        std::fs::copy(env!("CARGO_BIN_EXE_trace-inspector"), &bin).expect("copy the binary");
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for_cli.untouched(|| {
        let mut command = Command::new(if bits_bind { Path::new(env!("CARGO_BIN_EXE_trace-inspector")) } else { &bin });
        command.args(["sessions", for_cli.file(), "--json"]);
        if !bits_bind {
            use std::os::unix::process::CommandExt as _;
            // `nobody`: the folder (0555) and files (0444) are readable, not writable, to it.
            // Its private copy goes to /tmp, which anyone may write.
            command.uid(65_534).gid(65_534).env_remove("TMPDIR").current_dir("/tmp");
        }
        let run = run_command(&mut command);
        run.ok();
        let sessions: Vec<Value> = serde_json::from_str(&run.stdout).expect("json");
        assert_eq!(json_session(&sessions, "good")["event_count"], 3, "the -wal's commits are read");
    });
    let names: Vec<String> = for_cli.files().into_keys().collect();
    assert_eq!(names, ["agent_traces.db", "agent_traces.db-wal"], "no -shm was made in the read-only folder");
    let left = private_copies();
    assert!(left.is_subset(&copies_before), "private copies left behind: {:?}", left.difference(&copies_before));

    // The core: in this process. As root it may open in place (a -shm beside a -wal is allowed).
    for_core.untouched(|| {
        let list = for_core.list();
        assert_eq!(session(&list, "good").event_count, 3);
        let data = for_core.load("good");
        assert_eq!(data.events.len(), 3);
    });
    if bits_bind {
        let names: Vec<String> = for_core.files().into_keys().collect();
        assert_eq!(names, ["agent_traces.db", "agent_traces.db-wal"]);
    }
    for case in [&for_cli, &for_core] {
        std::fs::set_permissions(&case.dir, std::fs::Permissions::from_mode(0o755)).expect("restore");
    }
}

#[test]
fn header_with_only_the_read_version_saying_wal() {
    // Found by fuzzing: SQLite opens the WAL when byte 19 (read version) is 2, whatever byte
    // 18 says, and would create -wal and -shm beside the file.
    let source = Case::sql(&format!("{SCHEMA}{GOOD_ROWS}"));
    let mut bytes = std::fs::read(&source.path).expect("read");
    assert_eq!((bytes[18], bytes[19]), (1, 1));
    bytes[19] = 2;
    let case = Case::bytes(&bytes);
    case.untouched(|| good_is_intact(&case));
}

/// The store's private copies in the system temp folder (`trace-inspector-PID-N`).
fn private_copies() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/tmp")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.strip_prefix("trace-inspector-")
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// No -wal beside a WAL-mode file says nothing of writers (one that opens a connection per
/// call deletes it at every close): the file is read as any reader reads it, never immutable.
/// SQLite's working files may appear; the database's bytes stay as they were.
#[test]
fn wal_mode_file_without_wal_is_read_as_any_reader_reads_it() {
    let case = Case::new();
    {
        let writer = wal_with_open_writer(&case);
        drop(writer);
    }
    assert!(!store::wal_path(&case.path).exists(), "a clean close checkpoints and removes the -wal");
    case.untouched(|| good_is_intact(&case));
    // A writer that attaches now, and closes, is seen by a store opened before it.
    let store = case.open();
    let writer = Connection::open(&case.path).expect("writer");
    writer
        .execute_batch(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, data, created_at) VALUES ('g4', 'good', 'state_change', '2026-11-20T09:00:01Z', '{}', '');",
        )
        .expect("insert");
    drop(writer);
    assert_eq!(session(&store.list_sessions().expect("list"), "good").event_count, 4);
}

// ---- what the store must not assume ------------------------------------------------------

/// A column named `rowid` hides SQLite's row id under that name. Rows whose `rowid` column is
/// NULL must still be read (a session big enough to be read in two halves), and summaries work.
#[test]
fn a_column_named_rowid_hides_nothing() {
    let case = Case::new();
    let conn = Connection::open(&case.path).expect("create");
    conn.execute_batch(&SCHEMA.replace("raw_output TEXT,", "raw_output TEXT, rowid TEXT,")).expect("schema");
    conn.execute_batch(&format!(
        "{GOOD_ROWS}
        INSERT INTO agent_trace_sessions (id, task, started_at, status)
            VALUES ('big', 'Many rows', '2026-11-20T10:00:00+00:00', 'running');
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
        INSERT INTO agent_traces (id, session_id, type, timestamp, data, input_tokens, created_at, rowid)
            SELECT printf('r%05d', i), 'big', 'message',
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-11-20T10:00:00', '+' || i || ' seconds'),
                   '{{}}', 1, '', CASE WHEN i % 10 = 3 THEN NULL ELSE 'user value ' || i END FROM n;"
    ))
    .expect("rows");
    drop(conn);
    case.untouched(|| {
        good_is_intact(&case);
        assert_eq!(session(&case.list(), "big").event_count, 20_000);
        let data = case.load("big");
        assert_eq!(data.events.len(), 20_000, "every row is read, whatever its rowid column holds");
        assert_eq!(data.row.total_input_tokens, 20_000);
        assert_eq!(json_session(&case.sessions_json(), "big")["event_count"], 20_000);
        assert_eq!(case.summary_json("big")["total_events"], 20_000);
        assert_eq!(case.timeline_json("big").len(), 20_000);
        // The detail of one trace is found by its row, not by the user's column.
        let event = &data.events[3];
        let detail =
            case.open().trace_detail_by_row(event.rowid.get().expect("a row id"), &event.id.as_str()).expect("detail");
        assert_eq!(detail.field("id").and_then(|f| f.value.as_deref()), Some(&*event.id.as_str()));
    });
}

/// Row ids at both ends of SQLite's range: the lowest stands for none in memory, so that
/// trace's detail is found by its id; the highest by its row. Both are read and counted.
#[test]
fn row_ids_at_the_ends_of_the_range() {
    let case = Case::sql(&format!(
        "{SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_traces (rowid, id, session_id, type, timestamp, data, created_at) VALUES
            (-9223372036854775808, 'lowest', 'good', 'note', '2026-11-20T09:00:01+00:00', '{{}}', ''),
            (9223372036854775807, 'highest', 'good', 'note', '2026-11-20T09:00:01.200000+00:00', '{{}}', '');"
    ));
    case.untouched(|| {
        let data = case.load("good");
        assert_eq!(data.events.len(), 5, "every row is read");
        let event = |id: &str| data.events.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(event("lowest").rowid.get(), None, "i64::MIN reads as no row id");
        assert_eq!(event("highest").rowid.get(), Some(i64::MAX));
        let store = case.open();
        let by_id = store.trace_detail("lowest").expect("detail by id");
        assert_eq!(by_id.field("id").and_then(|f| f.value.as_deref()), Some("lowest"));
        let by_row = store.trace_detail_by_row(i64::MAX, "highest").expect("detail by row");
        assert_eq!(by_row.field("id").and_then(|f| f.value.as_deref()), Some("highest"));
        assert_eq!(session(&case.list(), "good").event_count, 5);
    });
}

/// Columns named `_rowid_`, `rowid` and `oid` leave no name for the row id: traces are told
/// apart by id, and nothing is lost.
#[test]
fn columns_taking_every_row_id_name() {
    let case = Case::new();
    let conn = Connection::open(&case.path).expect("create");
    conn.execute_batch(&SCHEMA.replace("raw_output TEXT,", "raw_output TEXT, rowid TEXT, _rowid_ TEXT, oid TEXT,"))
        .expect("schema");
    conn.execute_batch(GOOD_ROWS).expect("rows");
    drop(conn);
    case.untouched(|| {
        good_is_intact(&case);
        assert!(case.load("good").events.iter().all(|e| e.rowid.get().is_none()));
    });
}

/// A symlink to a database whose `-wal` sits beside the target: the `-wal`'s commits are read
/// through the link as through the file.
#[test]
fn symlink_to_a_wal_file_reads_the_targets_wal() {
    let target = Case::new();
    let writer = wal_with_open_writer(&target);
    writer
        .execute_batch(
            "INSERT INTO agent_trace_sessions (id, task, started_at, status) VALUES
                ('s2', 'two', '2026-11-20T10:00:00Z', 'running'),
                ('s3', 'three', '2026-11-20T11:00:00Z', 'running'),
                ('s4', 'four', '2026-11-20T12:00:00Z', 'running');",
        )
        .expect("more sessions");
    assert!(std::fs::metadata(store::wal_path(&target.path)).expect("-wal").len() > 0);
    let links = Case::new();
    let link = links.dir.join("agent_traces.db");
    std::os::unix::fs::symlink(&target.path, &link).expect("symlink");
    let link_case = Case { _root: links._root, dir: links.dir.clone(), path: link.clone() };
    assert_eq!(case_ids(&link_case.list()), ["good", "s2", "s3", "s4"]);
    let sessions = link_case.sessions_json();
    assert_eq!(sessions.len(), 4, "{sessions:?}");
    // Nothing was made beside the link: SQLite's files belong beside the target.
    let names: Vec<String> = files_in(&link_case.dir).into_keys().collect();
    assert_eq!(names, ["agent_traces.db"]);
    drop(writer);
}

fn case_ids(list: &SessionList) -> Vec<String> {
    let mut ids: Vec<String> = list.sessions.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    ids
}

/// Every id the CLI prints (text and JSON) finds the same thing when given back: blob ids,
/// ids that are not UTF-8, ids with control, bidi and backslash characters, a text id that
/// reads like a blob id; as a whole and as a unique prefix.
#[test]
fn printed_ids_find_what_they_name() {
    let case = Case::sql(&format!(
        r#"{LOOSE_SCHEMA}{GOOD_ROWS}
        INSERT INTO agent_trace_sessions VALUES (x'74', 'blob id', '2026-11-20T10:00:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES (CAST(x'61ff31' AS TEXT), 'not UTF-8', '2026-11-20T10:01:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('c' || char(27) || '[2J' || char(13), 'controls', '2026-11-20T10:02:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('b' || char(8238) || 'lr', 'bidi', '2026-11-20T10:03:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('C:\runs\5', 'backslashes', '2026-11-20T10:04:00Z', NULL, 'running');
        INSERT INTO agent_trace_sessions VALUES ('x''74''', 'looks like a blob', '2026-11-20T10:05:00Z', NULL, 'running');
        INSERT INTO agent_traces (id, session_id, type, timestamp, parent_trace_id, data) VALUES
            (x'0102', x'74', 'message', '2026-11-20T10:00:01Z', NULL, '{{}}'),
            ('t' || char(27), x'74', 'message', '2026-11-20T10:00:02Z', x'0102', '{{}}'),
            (CAST(x'ff' AS TEXT), CAST(x'61ff31' AS TEXT), 'message', '2026-11-20T10:01:01Z', NULL, '{{}}'),
            (CAST(x'fe' AS TEXT), CAST(x'61ff31' AS TEXT), 'message', '2026-11-20T10:01:02Z', CAST(x'ff' AS TEXT), '{{}}'),
            ('c1', 'c' || char(27) || '[2J' || char(13), 'message', '2026-11-20T10:02:01Z', NULL, '{{}}'),
            ('c2', 'c' || char(27) || '[2J' || char(13), 'message', '2026-11-20T10:02:02Z', NULL, '{{}}'),
            ('b' || char(8238), 'b' || char(8238) || 'lr', 'message', '2026-11-20T10:03:01Z', NULL, '{{}}'),
            ('b2', 'b' || char(8238) || 'lr', 'message', '2026-11-20T10:03:02Z', NULL, '{{}}'),
            ('C:\t\1', 'C:\runs\5', 'message', '2026-11-20T10:04:01Z', NULL, '{{}}'),
            ('C:\t\2', 'C:\runs\5', 'message', '2026-11-20T10:04:02Z', NULL, '{{}}'),
            ('x''00''', 'x''74''', 'message', '2026-11-20T10:05:01Z', NULL, '{{}}'),
            ('x''01''', 'x''74''', 'message', '2026-11-20T10:05:02Z', NULL, '{{}}');"#
    ));
    case.untouched(|| {
        let sessions = case.sessions_json();
        let table = case.run(&["sessions"]);
        table.ok();
        let odd = ["blob id", "not UTF-8", "controls", "bidi", "backslashes", "looks like a blob"];
        let hidden = |c: char| c.is_control() || ('\u{2066}'..='\u{2069}').contains(&c) || c == '\u{202e}';
        for s in sessions.iter().filter(|s| odd.contains(&s["task"].as_str().unwrap_or(""))) {
            let id = s["id"].as_str().expect("id");
            let task = s["task"].as_str().expect("task");
            assert!(!id.contains(hidden), "{id:?}");
            assert!(!id.contains('\u{fffd}'), "{id:?} lost bytes");
            assert!(table.stdout.contains(id), "the table prints {id:?} as the JSON does");
            assert_eq!(s["event_count"], 2, "{task}: {s}");
            assert_eq!(case.summary_json(id)["total_events"], 2, "{task}: summary of {id:?}");
            let spans = case.timeline_json(id);
            assert_eq!(spans.len(), 2, "{task}: timeline of {id:?}");
            for span in &spans {
                let trace = span["id"].as_str().expect("span id");
                let show = case.run(&["show", trace, "--json"]);
                show.ok();
                let detail: Value = serde_json::from_str(&show.stdout).expect("show --json");
                let field = |name: &str| {
                    detail["fields"]
                        .as_array()
                        .and_then(|f| f.iter().find(|f| f["name"] == name))
                        .map(|f| f["value"].clone())
                };
                assert_eq!(field("id"), Some(Value::from(trace)), "{task}: show {trace:?}");
                assert_eq!(field("session_id"), Some(Value::from(id)), "{task}: show {trace:?}");
            }
            case.run(&["tree", id]).ok();
            // Parent links between odd ids hold.
            if task == "blob id" || task == "not UTF-8" {
                assert_eq!(spans.iter().filter(|s| s["parent_id"].is_string()).count(), 1, "{task}: {spans:?}");
            }
        }
        assert_eq!(sessions.iter().filter(|s| odd.contains(&s["task"].as_str().unwrap_or(""))).count(), odd.len());
        // The printed forms, and prefixes of them.
        let printed: Vec<&str> = sessions.iter().filter_map(|s| s["id"].as_str()).collect();
        for expected in ["x'74'", "a\\xff1", "c\\x1b[2J\\x0d", "b\\u202elr", "C:\\\\runs\\\\5", "\\x78'74'"] {
            assert!(printed.contains(&expected), "{expected} not among {printed:?}");
        }
        for (prefix, task) in
            [("a\\xff", "not UTF-8"), ("c\\x1b", "controls"), ("b\\u202e", "bidi"), ("x'7", "blob id")]
        {
            assert_eq!(case.summary_json(prefix)["total_events"], 2, "{task}: prefix {prefix}");
        }
        let store = case.open();
        assert_eq!(store.resolve_session("C:\\runs").expect("a typed backslash stands for itself"), "C:\\\\runs\\\\5");
        assert_eq!(store.load_session("a\\xff1", None).expect("load").events.len(), 2);
    });
}

/// A pipe, a folder: one error line each, saying what the path is, at once.
#[test]
fn paths_that_are_no_files() {
    let case = Case::new();
    let fifo = case.dir.join("pipe.db");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let started = Instant::now();
    let run = cli(&["sessions", fifo.to_str().expect("path")]);
    run.error(&fifo, "not a regular file");
    assert!(started.elapsed() < Duration::from_secs(5), "a FIFO blocked the open");
    let run = cli(&["summary", case.dir.to_str().expect("path"), "x"]);
    run.error(&case.dir, "is a directory");
    assert_eq!(run.stderr.matches("directory").count(), 1, "said once: {}", run.stderr);
    match Store::open(&fifo) {
        Err(StoreError::NotAFile { .. }) => {}
        other => panic!("a FIFO: {other:?}"),
    }
}

// ---- a writer holding the lock ------------------------------------------------------------

/// Run as a child process by [`exclusive_writer_lock_reports_locked_then_reads`] (with
/// `HOSTILE_LOCK_HOLDER` naming the file; otherwise it does nothing): holds an exclusive lock
/// with a pending write until a line arrives on stdin, then commits. The writer must be
/// another process: POSIX locks belong to a process, so an in-process writer's lock would not
/// stop the CLI, and closing any descriptor of the file in this process drops it.
#[test]
fn lock_holder_child() {
    common::hold_lock_when_asked(
        "HOSTILE_LOCK_HOLDER",
        "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE;
         INSERT INTO agent_traces (id, session_id, type, timestamp, data, created_at)
             VALUES ('g4', 'good', 'state_change', '2026-11-20T09:00:01Z', '{}', '');",
    );
}

/// The body of a writer child test: when `env` names a database, runs `sql` once without
/// waiting for locks and says `writer: wrote`, `writer: busy` or `writer: failed: …`.
/// Otherwise it returns at once.
pub fn write_when_asked(env: &str, sql: &str) {
    let Some(path) = std::env::var_os(env) else { return };
    let conn = rusqlite::Connection::open(path).expect("writer");
    conn.busy_timeout(Duration::ZERO).expect("no waiting for locks");
    match conn.execute_batch(sql) {
        Ok(()) => println!("\nwriter: wrote"),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => println!("\nwriter: busy"),
        Err(e) => println!("\nwriter: failed: {e}"),
    }
}

/// Runs `child_test` (a test of the same binary calling [`write_when_asked`]) on `path` in
/// another process, and returns the line it said.
pub fn try_write(child_test: &str, env: &str, path: &Path) -> String {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([child_test, "--exact", "--nocapture", "--test-threads=1"])
        .env(env, path)
        .output()
        .expect("writer");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("writer: "))
        .unwrap_or("writer: said nothing")
        .to_owned()
}

/// Child of [`a_second_open_keeps_the_first_readers_lock`]: a write from another process.
#[test]
fn writer_child() {
    write_when_asked(
        "HOSTILE_WRITER",
        "INSERT INTO agent_traces (id, session_id, type, timestamp, data, created_at)
             VALUES ('g5', 'good', 'state_change', '2026-11-20T09:00:02Z', '{}', '');",
    );
}

/// A read holds a shared lock on a rollback-journal file, so no writer can commit under it.
/// POSIX locks belong to the process and closing any descriptor of the file drops them all:
/// a second store opening the same file in the same process (the app does, for a search
/// while a session loads) must not read it through a descriptor of its own.
#[test]
fn a_second_open_keeps_the_first_readers_lock() {
    let case = Case::sql(&format!("{SCHEMA}{GOOD_ROWS}"));
    let store = Store::open(&case.path).expect("open");
    let query = SearchQuery { text: "assistant".into(), session_id: None, kind: None };
    let mut writer = None;
    store
        .search(&query, &mut |_hit| {
            drop(Store::open(&case.path).expect("a second open of the same file"));
            writer = Some(try_write("writer_child", "HOSTILE_WRITER", &case.path));
            std::ops::ControlFlow::Break(())
        })
        .expect("search");
    assert_eq!(writer.as_deref(), Some("writer: busy"), "the reader's lock was dropped");
    // Once the read is over, the same write goes through: the child does write when it can.
    assert_eq!(try_write("writer_child", "HOSTILE_WRITER", &case.path), "writer: wrote");
}

#[test]
fn exclusive_writer_lock_reports_locked_then_reads() {
    let case = Case::sql(&format!("{SCHEMA}{GOOD_ROWS}"));
    let holder = common::LockHolder::start("lock_holder_child", "HOSTILE_LOCK_HOLDER", &case.path);
    assert!(case.files().contains_key("agent_traces.db-journal"), "the pending write has a journal");
    case.untouched(|| {
        let started = Instant::now();
        let result = Store::open(&case.path).and_then(|s| s.list_sessions());
        let took = started.elapsed();
        match result {
            Err(e) => {
                assert!(e.is_locked(), "{e}");
                assert!(matches!(e, StoreError::Locked { .. }));
                assert!(e.to_string().contains("the database is locked by another process"), "{e}");
            }
            Ok(_) => panic!("read past an exclusive lock"),
        }
        assert!(took >= store::BUSY_TIMEOUT / 2, "gave up at once ({took:?}) instead of waiting");
        assert!(took < store::BUSY_TIMEOUT + Duration::from_secs(3), "waited {took:?}");
        let started = Instant::now();
        for args in [&["sessions", "--json"][..], &["summary", "good"], &["show", "g1"]] {
            case.run(args).error(&case.path, "the database is locked by another process");
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    });
    holder.commit();
    let list = case.list();
    assert_eq!(session(&list, "good").event_count, 4, "after the commit the new row is read");
    assert_eq!(json_session(&case.sessions_json(), "good")["event_count"], 4);
}
