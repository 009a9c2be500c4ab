//! The CLI binary on the fixture: values, JSON shapes, exit codes; and `auto` anchoring on the
//! fixture and on a copy whose durations are stamped at the start of the work.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use trace_inspector::analysis::{self, Anchor};
use trace_inspector::store::Store;
use trace_inspector::time;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn expected() -> Value {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.expected.json"))
            .expect("expected json");
    serde_json::from_str(&text).expect("json")
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12),
        _ => a == b,
    }
}

#[test]
fn sessions_json_has_the_reference_keys_and_values() {
    let f = fixture();
    let ours = json(&["sessions", f.to_str().expect("utf-8 path"), "--json"]);
    let theirs = expected()["sessions"].clone();
    let (ours, theirs) = (ours.as_array().expect("array"), theirs.as_array().expect("array"));
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(theirs) {
        for (k, v) in t.as_object().expect("object") {
            assert!(close(&o[k], v), "{k}: {} vs {v}", o[k]);
        }
    }
}

#[test]
fn sessions_sort_and_limit() {
    let f = fixture();
    let by_cost = json(&["sessions", f.to_str().expect("path"), "--json", "--sort", "cost", "--limit", "5"]);
    let costs: Vec<f64> =
        by_cost.as_array().expect("array").iter().map(|s| s["total_cost_usd"].as_f64().unwrap_or(-1.0)).collect();
    assert_eq!(costs.len(), 5);
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    let asc = json(&["sessions", f.to_str().expect("path"), "--json", "--sort", "events", "--asc"]);
    let events: Vec<u64> =
        asc.as_array().expect("array").iter().map(|s| s["event_count"].as_u64().unwrap_or(0)).collect();
    assert!(events.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(events.len(), 40);
}

#[test]
fn summary_by_prefix_matches_the_reference_and_markdown_escapes() {
    let f = fixture();
    let id = "0a75442e-d2e5-be70-5148-651462bd5789";
    let ours = json(&["summary", f.to_str().expect("path"), &id[..8], "--json"]);
    let theirs = &expected()["summaries"][id];
    for key in [
        "total_events",
        "step_count",
        "error_count",
        "total_tokens",
        "total_cost_usd",
        "total_duration_ms",
        "event_counts",
    ] {
        assert!(close(&ours[key], &theirs[key]), "{key}");
    }
    // write_file, web_search, sql_query, run_code, browser_navigate.
    assert_eq!(ours["tools"].as_array().map(Vec::len), Some(5));
    let md = run(&["summary", f.to_str().expect("path"), &id[..8], "--markdown"]);
    let md = String::from_utf8(md.stdout).expect("utf-8");
    assert!(md.starts_with("## Agent session: Summarize the open pull requests\n"));
    assert!(md.contains("| Tokens | 11,286 (8,343 in / 2,943 out) |"));
    assert!(!md.contains("raw_input"));
}

#[test]
fn timeline_json_spans_have_the_documented_fields() {
    let f = fixture();
    let spans = json(&["timeline", f.to_str().expect("path"), "0a75442e", "--json"]);
    let spans = spans.as_array().expect("array");
    // 48 events: 8 step pairs, 8 tool pairs and the trace pair fold into one span each.
    assert_eq!(spans.len(), 48 - 17);
    let root = &spans[0];
    assert_eq!(root["type"], "trace_started");
    assert_eq!(root["id"], "3949e60d-c696-44be-9f19-b21bfe7caada");
    assert_eq!(root["end_id"], "9987ea11-c744-41f3-91e9-57342018e048");
    assert_eq!(root["start"], "2026-11-20T09:29:32.213535Z");
    assert_eq!(root["end"], "2026-11-20T09:30:29.152896Z");
    assert!(close(&root["end_ms"], &serde_json::json!(56939.361)));
    assert_eq!(root["depth"], 0);
    assert_eq!(root["parent_id"], Value::Null);
    for s in spans {
        for key in ["id", "end_id", "type", "label", "start", "end", "start_ms", "end_ms", "depth", "parent_id"] {
            assert!(s.get(key).is_some(), "missing {key}");
        }
        if let (Some(a), Some(b)) = (s["start_ms"].as_f64(), s["end_ms"].as_f64()) {
            assert!(a <= b);
        }
    }
    // A tool call: from the call to its result, the result's duration long.
    let tool = spans.iter().find(|s| s["id"] == "4bfd323c-6fbd-4854-8d46-610f5d9df1ba").expect("tool span");
    assert_eq!(tool["end_id"], "6d8e0f21-8c8e-4477-aeb5-f319322655eb");
    let d = tool["end_ms"].as_f64().unwrap_or(0.0) - tool["start_ms"].as_f64().unwrap_or(0.0);
    assert!((d - 69.1746112082866).abs() < 1e-3, "{d}");
}

#[test]
fn search_is_literal_and_finds_all_hits() {
    let f = fixture();
    let p = f.to_str().expect("path");
    let hits = json(&["search", p, "sql_query failed", "--json"]);
    let hits = hits.as_array().expect("array");
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["type"] == "error"));
    // `%` and `_` are literal: no data holds "%_%".
    assert_eq!(json(&["search", p, "%_%", "--json"]).as_array().map(Vec::len), Some(0));
    // Every tool_result: 260 in the file, more than any reference cap.
    let all = json(&["search", p, "tool_result", "--type", "tool_result", "--json"]);
    assert_eq!(all.as_array().map(Vec::len), Some(260));
}

#[test]
fn show_gives_every_column_with_raw_io() {
    let f = fixture();
    let detail = json(&["show", f.to_str().expect("path"), "a7e9bec0-a11b-464f-b4e3-f96fce6390f0", "--json"]);
    let fields = detail["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 15);
    let raw = fields.iter().find(|f| f["name"] == "raw_input").expect("raw_input");
    assert_eq!(raw["value"].as_str().map(|s| s.chars().count()), Some(4096));
}

#[test]
fn failures_are_one_line_with_exit_code_1_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database").expect("write");
    for args in [
        vec!["sessions".to_owned(), text.display().to_string()],
        vec!["sessions".to_owned(), dir.path().join("missing.db").display().to_string()],
        vec!["summary".to_owned(), fixture().display().to_string(), "zzzz".to_owned()],
        vec!["show".to_owned(), fixture().display().to_string(), "no-such-trace".to_owned()],
    ] {
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"));
    }
    let out = run(&["sessions"]);
    assert_eq!(out.status.code(), Some(2));
    // A prefix shared by several sessions is ambiguous, and says so.
    let out = run(&["summary", fixture().to_str().expect("path"), ""]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches 40 sessions"));
}

/// A copy of the fixture where every event with a duration is stamped when its work started.
fn start_stamped_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("start-stamped.db");
    std::fs::copy(fixture(), &copy).expect("copy");
    let conn = rusqlite::Connection::open(&copy).expect("open copy");
    let rows: Vec<(String, String, f64)> = {
        let mut stmt = conn
            .prepare("SELECT id, timestamp, duration_ms FROM agent_traces WHERE duration_ms IS NOT NULL")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query").map(|r| r.expect("row")).collect()
    };
    for (id, ts, d) in rows {
        let t = time::parse_text(&ts).expect("fixture timestamps parse").time.add_ms(-d);
        let text = trace_inspector::writer::format_timestamp(t.to_chrono());
        conn.execute("UPDATE agent_traces SET timestamp = ?1 WHERE id = ?2", (&text, &id)).expect("update");
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;").expect("checkpoint");
    copy
}

#[test]
fn auto_anchor_is_end_for_the_fixture_and_start_for_a_start_stamped_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = start_stamped_copy(dir.path());
    for (path, want) in [(fixture(), Anchor::End), (copy, Anchor::Start)] {
        let store = Store::open(&path).expect("open");
        let list = store.list_sessions().expect("list");
        for s in &list.sessions {
            let data = store.load_session(&s.id, Some(s.as_ref().clone())).expect("load");
            let t = analysis::timeline::build(&data, Anchor::Auto);
            assert_eq!(t.anchor, want, "{} in {}", s.id, path.display());
        }
    }
    // Both readings give the same spans: the copy read from the start equals the fixture read
    // from the end.
    let a = json(&["timeline", fixture().to_str().expect("path"), "0a75442e", "--json"]);
    let b = json(&["timeline", dir.path().join("start-stamped.db").to_str().expect("path"), "0a75442e", "--json"]);
    let (a, b) = (a.as_array().expect("array"), b.as_array().expect("array"));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["id"], y["id"]);
        if x["instant"] == false {
            let dx = x["end_ms"].as_f64().unwrap_or(0.0) - x["start_ms"].as_f64().unwrap_or(0.0);
            let dy = y["end_ms"].as_f64().unwrap_or(0.0) - y["start_ms"].as_f64().unwrap_or(0.0);
            assert!((dx - dy).abs() < 1e-3, "{}: {dx} vs {dy}", x["id"]);
        }
    }
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("agent_traces.db");
    let db = db.to_str().expect("utf-8 path");
    let made = run(&["demo", db, "--sessions", "1", "--events-per-session", "5000"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let session = Store::open(Path::new(db)).and_then(|s| s.list_sessions()).expect("list").sessions[0].id.clone();
    // Megabytes of spans, read like `| head -c 100` does: a few bytes, then the pipe closes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
        .args(["timeline", db, &session, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut start = [0u8; 100];
    child.stdout.take().expect("stdout").read_exact(&mut start).expect("first bytes");
    assert!(start.starts_with(b"[{\"id\":"));
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "exit {:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn models_lists_every_model_of_the_file_costliest_first() {
    let f = fixture();
    let models = json(&["models", f.to_str().expect("path"), "--json"]);
    let models = models.as_array().expect("array");
    assert!(models.len() >= 2);
    let costs: Vec<f64> = models.iter().map(|m| m["cost_usd"].as_f64().expect("cost")).collect();
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    // The calls add up to the model calls of the 40 reference summaries' token-bearing traces.
    let calls: u64 = models.iter().map(|m| m["calls"].as_u64().expect("calls")).sum();
    let store = Store::open(&f).expect("open");
    let mut expected_calls = 0;
    for row in store.list_sessions().expect("list").sessions {
        let analyzed = analysis::analyze(store.load_session(&row.id, None).expect("load"), Anchor::Auto);
        expected_calls += analyzed.summary.models.iter().map(|m| m.calls).sum::<u64>();
    }
    assert_eq!(calls, expected_calls);
    let table = run(&["models", f.to_str().expect("path")]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(text.lines().count(), models.len() + 1, "{text}");
    assert!(text.contains(models[0]["model"].as_str().expect("name")), "{text}");
}
