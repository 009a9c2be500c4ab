//! Nothing from a file acts on a terminal: a database whose every text column holds ESC
//! sequences, CR, NUL, C1 and bidi controls, run through every subcommand of the binary.
//! Text output shows them escaped (`\x1b`, `\u202e`), JSON output parses back to the exact
//! strings, and an `error:` naming a hostile file or table is exactly one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rusqlite::{Connection, params};
use serde_json::Value;

/// Retitles the terminal, clears it, overwrites the line, a NUL, two C1 controls (NEL and
/// CSI), bidi overrides and isolates, a line separator.
const EVIL: &str = "A\u{1b}]0;pwned\u{7}\u{1b}[2J\r\0\u{85}\u{9b}31m\u{202e}dcba\u{2066}x\u{2069}\u{2028}Z";
/// The same without NUL, which a command-line argument cannot hold (and at which the store
/// cuts the values it shows).
const EVIL_ARG: &str = "A\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{85}\u{9b}31m\u{202e}dcba\u{2066}x\u{2069}\u{2028}Z";

const SCHEMA: &str = "
CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL,
    completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
    timestamp TEXT NOT NULL, duration_ms REAL, parent_trace_id TEXT, data TEXT NOT NULL,
    input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL,
    raw_input TEXT, raw_output TEXT, created_at TEXT NOT NULL);
";

fn session_id() -> String {
    format!("sess-{EVIL_ARG}")
}

fn call_id() -> String {
    format!("call-{EVIL_ARG}")
}

fn custom_type() -> String {
    format!("custom-{EVIL}")
}

fn raw_input() -> String {
    format!("prompt line one\nline two {EVIL_ARG}\r\nend")
}

/// A trace row: id, type, timestamp, duration, parent, data.
type Row = (String, String, String, Option<f64>, Option<String>, String);

/// A temporary folder with one hostile database.
struct Hostile {
    _root: tempfile::TempDir,
    path: PathBuf,
}

impl Hostile {
    fn new() -> Hostile {
        let root = tempfile::tempdir().expect("temporary folder");
        let path = root.path().join("agent_traces.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(SCHEMA).expect("schema");
        let sid = session_id();
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES (?1, ?2, '2026-11-20T09:00:00+00:00', '2026-11-20T09:00:05+00:00', ?3)",
            params![sid, format!("task {EVIL}"), format!("done {EVIL}")],
        )
        .expect("session");
        let evil_json = |key: &str| serde_json::json!({ key: EVIL, "args": { "path": EVIL } }).to_string();
        let rows: Vec<Row> = vec![
            ("root".into(), "trace_started".into(), "2026-11-20T09:00:00+00:00".into(), None, None, evil_json("task")),
            (
                "llm".into(),
                "message".into(),
                "2026-11-20T09:00:01+00:00".into(),
                Some(900.0),
                Some("root".into()),
                evil_json("role"),
            ),
            (
                call_id(),
                "tool_called".into(),
                "2026-11-20T09:00:02+00:00".into(),
                None,
                Some("root".into()),
                evil_json("tool"),
            ),
            (
                "res".into(),
                "tool_result".into(),
                "2026-11-20T09:00:03+00:00".into(),
                Some(1000.0),
                Some(call_id()),
                evil_json("tool"),
            ),
            (
                "odd".into(),
                custom_type(),
                "2026-11-20T09:00:04+00:00".into(),
                None,
                Some("root".into()),
                evil_json("x"),
            ),
            (
                "badts".into(),
                "note".into(),
                format!("not a time {EVIL}"),
                None,
                Some("root".into()),
                format!("{{broken {EVIL}"),
            ),
            (
                "end".into(),
                "trace_ended".into(),
                "2026-11-20T09:00:05+00:00".into(),
                None,
                Some("root".into()),
                r#"{"status": "completed"}"#.into(),
            ),
        ];
        for (id, kind, ts, duration, parent, data) in rows {
            let llm = id == "llm";
            conn.execute(
                "INSERT INTO agent_traces VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?4)",
                params![
                    id,
                    sid,
                    kind,
                    ts,
                    duration,
                    parent,
                    data,
                    llm.then_some(100),
                    llm.then_some(20),
                    llm.then(|| format!("model-{EVIL_ARG}")),
                    llm.then(|| format!("prov-{EVIL_ARG}")),
                    llm.then_some(0.01),
                    llm.then(raw_input),
                    llm.then(|| format!("answer {EVIL_ARG}")),
                ],
            )
            .expect("trace");
        }
        drop(conn);
        Hostile { _root: root, path }
    }

    fn file(&self) -> &str {
        self.path.to_str().expect("UTF-8 temp path")
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
}

/// Asserts that `bytes` holds no C0 control but `\n` and `\t`, no DEL, and (as UTF-8) no C1,
/// bidi control or line/paragraph separator.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    if let Some(b) = bytes.iter().find(|&&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f) {
        panic!("{what}: control byte {b:#04x} in:\n{}", String::from_utf8_lossy(bytes));
    }
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let hidden = |c: char| matches!(c, '\u{80}'..='\u{9f}' | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if let Some(c) = text.chars().find(|&c| hidden(c)) {
        panic!("{what}: raw U+{:04X} in:\n{text}", u32::from(c));
    }
}

/// Runs a command that must succeed; checks both streams; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    let what = format!("{:?}", &args[..1]);
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    assert_terminal_safe(&format!("{what} stdout"), &out.stdout);
    assert_terminal_safe(&format!("{what} stderr"), &out.stderr);
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: invalid JSON: {e}\n{text}"))
}

/// True when some string inside `v` equals `want`.
fn holds(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        Value::Array(a) => a.iter().any(|x| holds(x, want)),
        Value::Object(o) => o.values().any(|x| holds(x, want)),
        _ => false,
    }
}

/// The escaped form of [`EVIL`]'s first part, as text output must show it.
const SEEN: &str = "\\x1b]0;pwned\\x07\\x1b[2J\\r";
/// The part every printed form shows alike: in an id (which the store may print in a
/// reversible form of its own) and in Markdown (which folds `\r` to a space).
const SEEN_CORE: &str = "\\x1b]0;pwned\\x07\\x1b[2J";

/// True when `printed` is the id `raw` as the program prints it: the id itself, or a
/// printable form of it with the escapes of [`SEEN_CORE`].
fn is_id(printed: &str, raw: &str) -> bool {
    let head = raw.split('\u{1b}').next().unwrap_or_default();
    printed == raw
        || (printed.starts_with(&format!("{head}{SEEN_CORE}"))
            && printed.ends_with('Z')
            && !printed.chars().any(|c| c.is_control() || ('\u{2000}'..='\u{206f}').contains(&c)))
}

/// True when some string inside `v` is the id `raw` as printed (see [`is_id`]).
fn holds_id(v: &Value, raw: &str) -> bool {
    match v {
        Value::String(s) => is_id(s, raw),
        Value::Array(a) => a.iter().any(|x| holds_id(x, raw)),
        Value::Object(o) => o.values().any(|x| holds_id(x, raw)),
        _ => false,
    }
}

#[test]
fn text_output_shows_controls_escaped() {
    let h = Hostile::new();
    let f = h.file();
    let sessions = ok(&["sessions", f]);
    assert!(sessions.contains(&format!("task A{SEEN}\\x00\\u0085\\u009b31m\\u202edcba")), "{sessions}");
    assert_eq!(sessions.lines().count(), 2, "a header and one row:\n{sessions}");
    let models = ok(&["models", f]);
    assert!(models.contains(&format!("model-A{SEEN}")) && models.contains(&format!("prov-A{SEEN}")), "{models}");
    assert_eq!(models.lines().count(), 2, "{models}");
    for args in [&["summary", f, "sess-"][..], &["summary", f, "sess-", "--markdown"]] {
        let md = ok(args);
        assert!(md.starts_with(&format!("## Agent session: task A{SEEN_CORE} \\x00")), "{md}");
        assert!(md.contains("\\u202edcba\\u2066x\\u2069\\u2028Z"), "{md}");
    }
    let timeline = ok(&["timeline", f, "sess-"]);
    assert!(timeline.contains(&format!("custom-A{SEEN}")), "{timeline}");
    assert!(timeline.lines().next().is_some_and(|l| l.contains(&format!("sess-A{SEEN_CORE}"))), "{timeline}");
    let tree = ok(&["tree", f, "sess-"]);
    assert!(tree.contains(&format!("custom-A{SEEN}")), "{tree}");
    let search = ok(&["search", f, "dcba"]);
    assert!(search.contains("\\u202edcba"), "{search}");
    assert!(search.contains(&format!("call-A{SEEN_CORE}")), "{search}");
    let show = ok(&["show", f, "llm"]);
    assert!(show.contains(&format!("prompt line one\nline two A{SEEN}\\u0085\\u009b31m\\u202e")), "{show}");
    assert!(show.contains("\\r\nend"), "a CR before a line break is shown, the break kept:\n{show}");
    // The result's parent is the call, whose id is hostile.
    let show = ok(&["show", f, "res"]);
    assert!(show.contains(&format!("call-A{SEEN_CORE}")), "{show}");
}

#[test]
fn warnings_are_escaped_one_line_each() {
    let h = Hostile::new();
    let out = run(&["timeline", h.file(), "sess-"]);
    assert!(out.status.success());
    assert_terminal_safe("timeline stderr", &out.stderr);
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    assert!(!stderr.is_empty(), "the broken row warns");
    for line in stderr.lines() {
        assert!(line.starts_with("warning: "), "every stderr line is a warning of its own: {line:?}");
    }
}

#[test]
fn json_output_is_safe_and_exact() {
    let h = Hostile::new();
    let f = h.file();
    let sessions = ok(&["sessions", f, "--json"]);
    assert!(sessions.contains("\\u202e") && sessions.contains("\\u0085"), "{sessions}");
    let sessions = parse("sessions", &sessions);
    let id = sessions[0]["id"].as_str().expect("an id");
    assert!(is_id(id, &session_id()), "{id:?}");
    assert_eq!(sessions[0]["task"], format!("task {EVIL}"));
    // The id printed is one the program reads back.
    let by_id = parse("summary", &ok(&["summary", f, id, "--json"]));
    assert!(holds(&by_id, &format!("task {EVIL}")), "{by_id}");
    let models = parse("models", &ok(&["models", f, "--json"]));
    assert!(holds(&models, &format!("model-{EVIL_ARG}")) && holds(&models, &format!("prov-{EVIL_ARG}")), "{models}");
    let summary = parse("summary", &ok(&["summary", f, "sess-", "--json"]));
    assert!(holds(&summary, &format!("task {EVIL}")), "{summary}");
    for command in ["timeline", "tree"] {
        let spans = parse(command, &ok(&[command, f, "sess-", "--json"]));
        assert!(holds(&spans, &custom_type()), "{command}: {spans}");
        assert!(holds_id(&spans, &call_id()), "{command}: {spans}");
    }
    let hits = parse("search", &ok(&["search", f, "dcba", "--json"]));
    assert!(holds_id(&hits, &call_id()) && holds_id(&hits, &session_id()), "{hits}");
    let detail = parse("show", &ok(&["show", f, "llm", "--json"]));
    assert!(holds(&detail, &raw_input()) && holds(&detail, &format!("answer {EVIL_ARG}")), "{detail}");
}

/// Exactly one `error:` line on stderr, nothing on stdout.
fn one_error_line(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_terminal_safe("error", &out.stderr);
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.ends_with('\n'), "{stderr}");
    stderr
}

#[test]
fn an_error_naming_a_hostile_file_is_one_line() {
    let root = tempfile::tempdir().expect("temporary folder");
    let name = "bad\nerror: fake\r\u{1b}]0;t\u{7}\u{202e}.db";
    let missing = root.path().join(name);
    let missing = missing.to_str().expect("UTF-8");
    for command in ["sessions", "models"] {
        let line = one_error_line(&[command, missing]);
        assert!(line.contains("bad\\nerror: fake\\r\\x1b]0;t\\x07\\u202e.db"), "{line}");
    }
    // An existing file with that name, and a trace id with a line break.
    let h = Hostile::new();
    let evil_path = root.path().join(name);
    std::fs::copy(&h.path, &evil_path).expect("copy");
    let line = one_error_line(&["show", evil_path.to_str().expect("UTF-8"), "no\nsuch\u{1b}[2J"]);
    assert!(line.contains("no\\nsuch\\x1b[2J"), "{line}");
    one_error_line(&["summary", evil_path.to_str().expect("UTF-8"), "nothing\nhere"]);
}

#[test]
fn an_error_quoting_a_hostile_table_name_is_one_line() {
    let root = tempfile::tempdir().expect("temporary folder");
    let path: &Path = &root.path().join("tables.db");
    let conn = Connection::open(path).expect("create");
    conn.execute_batch("CREATE TABLE \"x\nerror: also fake\u{1b}[2J\u{202e}\r\" (a);").expect("table");
    drop(conn);
    let line = one_error_line(&["sessions", path.to_str().expect("UTF-8")]);
    assert!(line.contains("x\\nerror: also fake\\x1b[2J\\u202e\\r"), "{line}");
}
