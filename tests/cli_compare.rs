//! `trace-inspector compare`: two runs of one task in one file and in two files, by id
//! prefixes; the JSON checked field by field, the text and Markdown outputs, and errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use serde_json::{Value, json};
use trace_inspector::writer::{NewTrace, TraceWriter};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn stdout_json(args: &[&str]) -> (Value, String) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (serde_json::from_slice(&out.stdout).expect("valid JSON"), stderr)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("a time")
}

/// One event stamped `end_ms` after the session's start (when its work ended).
struct Ev {
    id: &'static str,
    kind: &'static str,
    end_ms: i64,
    duration_ms: Option<f64>,
    parent: Option<&'static str>,
    data: Value,
    llm: Option<(&'static str, i64, i64, f64)>,
}

fn ev(
    id: &'static str,
    kind: &'static str,
    end_ms: i64,
    duration_ms: Option<f64>,
    parent: Option<&'static str>,
    data: Value,
) -> Ev {
    Ev { id, kind, end_ms, duration_ms, parent, data, llm: None }
}

fn llm(
    id: &'static str,
    end_ms: i64,
    duration_ms: f64,
    parent: &'static str,
    usage: (&'static str, i64, i64, f64),
) -> Ev {
    Ev { llm: Some(usage), ..ev(id, "message", end_ms, Some(duration_ms), Some(parent), json!({"role": "assistant"})) }
}

fn write_session(w: &TraceWriter, session: &str, task: &str, events: &[Ev]) {
    w.start_session(session, task, t0()).expect("session");
    let mut last = 0;
    for e in events {
        let (model, input_tokens, output_tokens, cost_usd) = match e.llm {
            Some((m, i, o, c)) => (Some(m.to_owned()), Some(i), Some(o), Some(c)),
            None => (None, None, None, None),
        };
        w.save_trace(&NewTrace {
            id: e.id.to_owned(),
            session_id: session.to_owned(),
            kind: e.kind.to_owned(),
            timestamp: t0() + TimeDelta::milliseconds(e.end_ms),
            duration_ms: e.duration_ms,
            parent_id: e.parent.map(str::to_owned),
            data: e.data.clone(),
            input_tokens,
            output_tokens,
            model,
            provider: None,
            cost_usd,
            raw_input: None,
            raw_output: None,
        })
        .expect("trace");
        last = last.max(e.end_ms);
    }
    w.end_session(session, "completed", t0() + TimeDelta::milliseconds(last)).expect("end");
}

/// The good run: read the code, run the tests.
fn good() -> Vec<Ev> {
    vec![
        ev("a-root", "trace_started", 0, None, None, json!({"task": "Fix the bug"})),
        ev("a-s1", "step_started", 0, None, Some("a-root"), json!({"step_id": "s1", "description": "read the code"})),
        ev("a-t1", "tool_called", 10, None, Some("a-s1"), json!({"tool": "read_file"})),
        ev("a-t1r", "tool_result", 60, Some(50.0), Some("a-t1"), json!({"tool": "read_file", "success": true})),
        llm("a-m1", 1060, 1000.0, "a-s1", ("gpt-4o", 1000, 100, 0.004)),
        ev("a-s1e", "step_completed", 1100, Some(1100.0), Some("a-s1"), json!({"step_id": "s1"})),
        ev(
            "a-s2",
            "step_started",
            1100,
            None,
            Some("a-root"),
            json!({"step_id": "s2", "description": "run the tests"}),
        ),
        ev("a-t2", "tool_called", 1110, None, Some("a-s2"), json!({"tool": "run_code"})),
        ev("a-t2r", "tool_result", 3110, Some(2000.0), Some("a-t2"), json!({"tool": "run_code", "success": true})),
        ev("a-s2e", "step_completed", 3200, Some(2100.0), Some("a-s2"), json!({"step_id": "s2"})),
        ev("a-end", "trace_ended", 3300, Some(3300.0), Some("a-root"), json!({"status": "completed"})),
    ]
}

/// The bad run: the read failed once and was retried, the tests ran slower, and a new step
/// on another model. Step ids are numbered on from an earlier attempt.
fn bad() -> Vec<Ev> {
    vec![
        ev("b-root", "trace_started", 0, None, None, json!({"task": "Fix the bug"})),
        ev("b-s1", "step_started", 0, None, Some("b-root"), json!({"step_id": "s4", "description": "read the code"})),
        ev("b-t1", "tool_called", 10, None, Some("b-s1"), json!({"tool": "read_file"})),
        ev(
            "b-t1r",
            "tool_result",
            60,
            Some(50.0),
            Some("b-t1"),
            json!({"tool": "read_file", "success": false, "error": "timeout"}),
        ),
        ev("b-err", "error", 60, None, Some("b-s1"), json!({"error": "read_file failed: timeout"})),
        ev("b-t3", "tool_called", 70, None, Some("b-s1"), json!({"tool": "read_file"})),
        ev("b-t3r", "tool_result", 120, Some(50.0), Some("b-t3"), json!({"tool": "read_file", "success": true})),
        llm("b-m1", 1120, 1000.0, "b-s1", ("gpt-4o", 1000, 100, 0.004)),
        ev("b-s1e", "step_completed", 1200, Some(1200.0), Some("b-s1"), json!({"step_id": "s4"})),
        ev(
            "b-s2",
            "step_started",
            1200,
            None,
            Some("b-root"),
            json!({"step_id": "s5", "description": "run the tests"}),
        ),
        ev("b-t2", "tool_called", 1210, None, Some("b-s2"), json!({"tool": "run_code"})),
        ev("b-t2r", "tool_result", 6210, Some(5000.0), Some("b-t2"), json!({"tool": "run_code", "success": true})),
        ev("b-s2e", "step_completed", 6300, Some(5100.0), Some("b-s2"), json!({"step_id": "s5"})),
        ev(
            "b-s3",
            "step_started",
            6300,
            None,
            Some("b-root"),
            json!({"step_id": "s6", "description": "write the fix"}),
        ),
        llm("b-m3", 8300, 2000.0, "b-s3", ("claude-sonnet-4", 3000, 200, 0.012)),
        ev("b-s3e", "step_completed", 8400, Some(2100.0), Some("b-s3"), json!({"step_id": "s6"})),
        ev("b-end", "trace_ended", 8500, Some(8500.0), Some("b-root"), json!({"status": "completed"})),
    ]
}

/// A file with the good run, the bad run and a second bad run (so `run-b` is ambiguous).
fn one_file(dir: &Path) -> PathBuf {
    let path = dir.join("runs.db");
    let w = TraceWriter::create(&path).expect("create");
    write_session(&w, "run-a-3f9c", "Fix the bug", &good());
    write_session(&w, "run-b-81d2", "Fix the bug\u{1b}[2J", &bad());
    // Another run with ids of its own.
    let again: Vec<Ev> = good()
        .into_iter()
        .map(|e| Ev {
            id: e.id.strip_prefix("a-").map_or(e.id, |_| leak(format!("c-{}", e.id))),
            parent: e.parent.map(|p| leak(format!("c-{p}"))),
            ..e
        })
        .collect();
    write_session(&w, "run-b-99ee", "Fix the bug", &again);
    path
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `[a_id, b_id, signature, status]` of each pair.
fn layout(doc: &Value) -> Vec<[Value; 4]> {
    doc["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| [p["a_id"].clone(), p["b_id"].clone(), p["signature"].clone(), p["status"].clone()])
        .collect()
}

fn close(v: &Value, x: f64) -> bool {
    v.as_f64().is_some_and(|y| (x - y).abs() < 1e-6)
}

#[test]
fn compare_in_one_file_by_prefixes_json_field_by_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = one_file(dir.path());
    let f = file.to_str().expect("utf-8 path");
    let (doc, stderr) = stdout_json(&["compare", f, "run-a", "run-b-8", "--json"]);
    assert_eq!(stderr, "", "no warnings");
    assert_eq!(
        doc["a"],
        json!({"file": null, "session_id": "run-a-3f9c", "task": "Fix the bug", "status": "completed", "started_at": "2026-11-20T09:00:00+00:00"})
    );
    assert_eq!(doc["b"]["session_id"], "run-b-81d2");
    assert_eq!(doc["b"]["task"], "Fix the bug\u{1b}[2J", "JSON keeps the exact text");
    assert_eq!(doc["options"], json!({"min_ratio": 0.1, "min_ms": 100.0, "top": 10}));
    assert_eq!(
        layout(&doc),
        [
            [json!("a-root"), json!("b-root"), json!("session"), json!("slower")],
            [json!("a-s1"), json!("b-s1"), json!("step s#: read the code"), json!("same")],
            [json!("a-t1"), json!("b-t1"), json!("tool read_file"), json!("same")],
            [Value::Null, json!("b-err"), json!("error read_file failed: timeout"), json!("only_b")],
            [Value::Null, json!("b-t3"), json!("tool read_file"), json!("only_b")],
            [json!("a-m1"), json!("b-m1"), json!("llm gpt-4o"), json!("same")],
            [json!("a-s2"), json!("b-s2"), json!("step s#: run the tests"), json!("slower")],
            [json!("a-t2"), json!("b-t2"), json!("tool run_code"), json!("slower")],
            [Value::Null, json!("b-s3"), json!("step s#: write the fix"), json!("only_b")],
            [Value::Null, json!("b-m3"), json!("llm claude-sonnet-4"), json!("only_b")],
        ]
    );
    let pairs = doc["pairs"].as_array().expect("pairs");
    // Every field of one pair and of one added call.
    let keys = [
        "row",
        "parent",
        "depth",
        "a_id",
        "b_id",
        "kind",
        "signature",
        "label",
        "status",
        "a_ms",
        "b_ms",
        "delta_ms",
        "delta_input_tokens",
        "delta_output_tokens",
        "delta_cost_usd",
    ];
    for p in pairs {
        let object = p.as_object().expect("object");
        assert_eq!(object.len(), keys.len(), "{p}");
        for k in keys {
            assert!(object.contains_key(k), "{k} in {p}");
        }
    }
    let run_code = &pairs[7];
    assert_eq!(
        (run_code["row"].clone(), run_code["parent"].clone(), run_code["depth"].clone()),
        (json!(7), json!(6), json!(2))
    );
    assert_eq!((run_code["kind"].clone(), run_code["label"].clone()), (json!("tool"), json!("run_code")));
    assert!(
        close(&run_code["a_ms"], 2000.0) && close(&run_code["b_ms"], 5000.0) && close(&run_code["delta_ms"], 3000.0)
    );
    assert_eq!(run_code["delta_input_tokens"], Value::Null, "a tool call reports no tokens");
    assert_eq!(run_code["delta_cost_usd"], Value::Null);
    let same_llm = &pairs[5];
    assert_eq!((same_llm["delta_input_tokens"].clone(), same_llm["delta_output_tokens"].clone()), (json!(0), json!(0)));
    assert!(close(&same_llm["delta_cost_usd"], 0.0) && close(&same_llm["delta_ms"], 0.0));
    let added = &pairs[9];
    assert_eq!((added["a_ms"].clone(), added["parent"].clone()), (Value::Null, json!(8)));
    assert!(close(&added["b_ms"], 2000.0) && close(&added["delta_ms"], 2000.0));
    assert_eq!((added["delta_input_tokens"].clone(), added["delta_output_tokens"].clone()), (json!(3000), json!(200)));
    assert!(close(&added["delta_cost_usd"], 0.012));
    // s1: 1.1 s against 1.2 s is 100 ms but under 10 %: the same.
    assert!(close(&pairs[1]["delta_ms"], 100.0));

    assert_eq!(doc["counts"], json!({"pairs": 6, "same": 3, "slower": 3, "faster": 0, "only_a": 0, "only_b": 4}));
    let totals = doc["totals"].as_array().expect("totals");
    let figure = |name: &str| totals.iter().find(|t| t["name"] == name).cloned().unwrap_or_else(|| panic!("{name}"));
    let wall = figure("wall_time_ms");
    assert!(close(&wall["a"], 3300.0) && close(&wall["b"], 8500.0) && close(&wall["delta"], 5200.0));
    assert!(close(&wall["percent"], 5200.0 / 3300.0 * 100.0));
    assert_eq!((figure("events")["a"].clone(), figure("events")["b"].clone()), (json!(11.0), json!(17.0)));
    assert_eq!(figure("tool_calls")["delta"], json!(1.0));
    assert_eq!(figure("failed_spans")["b"], json!(2.0), "the failed read and the error");
    assert_eq!(figure("input_tokens")["delta"], json!(3000.0));
    let cost = figure("cost_usd");
    assert!(close(&cost["a"], 0.004) && close(&cost["b"], 0.016) && close(&cost["percent"], 300.0));

    let time: Vec<(Value, Value)> = doc["contributors"]["wall_time_ms"]
        .as_array()
        .expect("contributors")
        .iter()
        .map(|c| (c["row"].clone(), c["status"].clone()))
        .collect();
    assert_eq!(
        time,
        [
            (json!(6), json!("slower")),
            (json!(7), json!("slower")),
            (json!(8), json!("only_b")),
            (json!(1), json!("same")),
            (json!(4), json!("only_b"))
        ]
    );
    let first = &doc["contributors"]["wall_time_ms"][0];
    assert_eq!(
        (first["a_id"].clone(), first["b_id"].clone(), first["signature"].clone()),
        (json!("a-s2"), json!("b-s2"), json!("step s#: run the tests"))
    );
    assert!(close(&first["delta"], 3000.0));
    let cost = &doc["contributors"]["cost_usd"];
    assert_eq!(cost.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (cost[0]["row"].clone(), cost[0]["a_id"].clone(), cost[0]["b_id"].clone()),
        (json!(8), Value::Null, json!("b-s3"))
    );
    assert!(close(&cost[0]["delta"], 0.012));
    assert_eq!(doc["warnings"], json!([]));
}

#[test]
fn compare_text_and_markdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = one_file(dir.path());
    let f = file.to_str().expect("utf-8 path");
    let out = run(&["compare", f, "run-a", "run-b-81"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!text.contains('\u{1b}'), "the escaper ran: {text}");
    assert!(text.contains("B  run-b-81d2  Fix the bug\\x1b[2J  (completed)\n"), "{text}");
    // Columns are aligned by width; compare with runs of spaces squashed.
    let squashed: Vec<String> = text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let has = |line: &str| squashed.iter().any(|l| l == line);
    assert!(has("Wall time 3.30 s 8.50 s +5.20 s +157.6 %"), "{text}");
    assert!(has("Cost $0.004000 $0.0160 +$0.0120 +300.0 %"), "{text}");
    assert!(has("+3.00 s slower step s5: run the tests"), "{text}");
    assert!(has("slower 2.00 s 5.00 s +3.00 s tool run_code"), "{text}");
    assert!(has("only_b — 2.00 s +2.00 s llm claude-sonnet-4"), "{text}");
    let header = text.lines().find(|l| l.starts_with("status")).unwrap_or_default();
    let row = text.lines().rev().find(|l| l.ends_with("tool run_code")).unwrap_or_default();
    let column = |line: &str, what: &str| line.find(what).map(|i| line[..i].chars().count());
    assert_eq!(
        column(header, "span"),
        column(row, "tool run_code").map(|i| i - 4),
        "the tree starts under 'span', indented"
    );

    let out = run(&["compare", f, "run-a", "run-b-81", "--markdown"]);
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).expect("utf-8");
    assert!(md.starts_with("## Comparing two runs: Fix the bug / Fix the bug\\x1b[2J\n"), "{md}");
    assert!(md.contains("| Wall time | 3.30 s | 8.50 s | +5.20 s | +157.6 % |\n"), "{md}");
    assert!(md.contains("| Cost | $0.004000 | $0.0160 | +$0.0120 | +300.0 % |\n"), "{md}");
    assert!(md.contains("1. +3.00 s `step` s5: run the tests — 2.10 s → 5.10 s (`a-s2` ↔ `b-s2`)\n"), "{md}");
    assert!(md.contains("\n### Only in B (new)\n\n- `error` read_file failed: timeout 0 µs (`b-err`) — **failed**\n- `tool` read_file 50.0 ms (`b-t3`)\n- `step` s6: write the fix 2.10 s (`b-s3`, 1 spans inside)\n"), "{md}");
    assert!(!md.contains("### Only in A"), "{md}");
}

#[test]
fn compare_sessions_of_two_files_with_different_columns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = one_file(dir.path());
    // The bad run in a file of an older writer: no cost, model or provider columns, no
    // sessions table.
    let other = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&other).expect("open");
        conn.execute_batch(
            "CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT, type TEXT, timestamp TEXT, duration_ms REAL, parent_trace_id TEXT, data TEXT, input_tokens INTEGER, output_tokens INTEGER);",
        )
        .expect("schema");
        for e in bad() {
            let (input, output) = e.llm.map_or((None, None), |(_, i, o, _)| (Some(i), Some(o)));
            let time = (t0() + TimeDelta::milliseconds(e.end_ms)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            conn.execute(
                "INSERT INTO agent_traces VALUES (?1, 'old-run-1', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![e.id, e.kind, time, e.duration_ms, e.parent, e.data.to_string(), input, output],
            )
            .expect("insert");
        }
    }
    let (f, o) = (file.to_str().expect("path"), other.to_str().expect("path"));
    let (doc, stderr) = stdout_json(&["compare", f, "run-a-3", "--with", o, "old", "--json"]);
    assert_eq!((doc["a"]["file"].clone(), doc["b"]["file"].clone()), (json!(f), json!(o)));
    assert_eq!(doc["b"]["session_id"], "old-run-1");
    let totals = doc["totals"].as_array().expect("totals");
    let cost = totals.iter().find(|t| t["name"] == "cost_usd").expect("cost");
    assert_eq!(
        (cost["b"].clone(), cost["delta"].clone(), cost["percent"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );
    assert!(close(&cost["a"], 0.004));
    assert_eq!(totals.iter().find(|t| t["name"] == "input_tokens").map(|t| t["delta"].clone()), Some(json!(3000.0)));
    // No model: the calls pair by their label (the role) instead, and their cost is not compared.
    let pairs = doc["pairs"].as_array().expect("pairs");
    let statuses: Vec<&str> = pairs.iter().filter_map(|p| p["status"].as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "only_a").count(), 1, "A's gpt-4o call: {statuses:?}");
    assert!(pairs.iter().all(|p| p["delta_cost_usd"].is_null() || p["status"] == "only_a"));
    assert_eq!(doc["warnings"], json!(["run B reports no cost (run A does): cost are not compared"]));
    assert!(stderr.contains("warning: run B reports no cost (run A does): cost are not compared\n"), "{stderr}");
    // The text names both files.
    let out = run(&["compare", f, "run-a", "--with", o, "old-run"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains(&format!("A  run-a-3f9c  Fix the bug  (completed)  {f}\n")), "{text}");
}

#[test]
fn compare_errors_exit_1_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = one_file(dir.path());
    let f = file.to_str().expect("utf-8 path");
    let out = run(&["compare", f, "run-a", "run-b"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: session B"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = run(&["compare", f, "nothing-like-it", "run-a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: session A"));
    let missing = dir.path().join("missing.db");
    let out = run(&["compare", f, "run-a", "--with", missing.to_str().expect("path"), "x"]);
    assert_eq!(out.status.code(), Some(1));
    // Usage: B is needed, once.
    assert_eq!(run(&["compare", f, "run-a"]).status.code(), Some(2));
    assert_eq!(run(&["compare", f, "run-a", "run-b-8", "--with", f, "run-b-9"]).status.code(), Some(2));
    assert_eq!(run(&["compare", f, "run-a", "run-b-8", "--json", "--markdown"]).status.code(), Some(2));
    assert_eq!(run(&["compare", f, "run-a", "run-b-8", "--min-ms=-5"]).status.code(), Some(1));
}

#[test]
fn a_session_compared_with_itself_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = one_file(dir.path());
    let f = file.to_str().expect("utf-8 path");
    let (doc, _) = stdout_json(&["compare", f, "run-b-8", "run-b-8", "--json"]);
    let pairs = doc["pairs"].as_array().expect("pairs");
    assert!(pairs.iter().all(|p| p["status"] == "same" && p["a_id"] == p["b_id"]));
    assert!(pairs.iter().all(|p| p["delta_ms"].as_f64().is_none_or(|d| d == 0.0)));
    assert_eq!(doc["contributors"], json!({"wall_time_ms": [], "cost_usd": []}));
    // Two runs of the same work with other ids pair completely.
    let (doc, _) = stdout_json(&["compare", f, "run-a", "run-b-9", "--json"]);
    assert_eq!(doc["counts"]["pairs"], json!(doc["pairs"].as_array().map_or(0, Vec::len)));
}

/// The demo's retakes (every fifth session runs the task before it again with one change)
/// compare as that change, and nothing else.
#[test]
fn the_demo_pairs_runs_that_differ_in_telling_ways() {
    use trace_inspector::analysis::compare::{CompareOptions, Comparison, Status, compare};
    use trace_inspector::analysis::{AnalyzedSession, Anchor, SpanKind, analyze};
    use trace_inspector::demo::{DemoConfig, generate};
    use trace_inspector::store::Store;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("demo.db");
    generate(&path, &DemoConfig { raw_io: false, ..DemoConfig::default() }).expect("demo");
    let store = Store::open(&path).expect("open");
    let mut rows = store.list_sessions().expect("list").sessions;
    rows.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let load = |i: usize| analyze(store.load_session(&rows[i].id, None).expect("load"), Anchor::Auto);
    let tops = |c: &Comparison, run: &AnalyzedSession, status: Status| -> Vec<SpanKind> {
        c.unpaired_tops()
            .filter_map(|i| c.rows.get(i))
            .filter(|r| r.status == status)
            .filter_map(|r| r.a.or(r.b).and_then(|s| run.timeline.spans.get(s)).map(|s| s.kind))
            .collect()
    };
    let figure = |c: &Comparison, name: &str| c.figure(name).and_then(|f| f.delta).unwrap_or(f64::NAN);
    let pair = |i: usize| {
        let (a, b) = (load(i - 1), load(i));
        assert_eq!(a.summary.task, b.summary.task, "session {i} retakes the task of {}", i - 1);
        let c = compare(&a, &b, &CompareOptions::default());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        (a, b, c)
    };

    // 4: a tool call fails once and is retried: the failed call pairs with A's call, the
    // error and the retry are new.
    let (_, b, c) = pair(4);
    assert_eq!(tops(&c, &b, Status::OnlyB), [SpanKind::Error, SpanKind::Tool]);
    assert_eq!((c.counts.only_a, c.counts.only_b), (0, 2));
    assert_eq!(figure(&c, "tool_calls"), 1.0);
    // The failed call's result joins the context: later prompts are longer, never shorter.
    assert!(figure(&c, "input_tokens") >= 0.0 && figure(&c, "output_tokens") == 0.0);
    // 9: the model answers 2.2 times slower: the same spans, every LLM call slower.
    let (a, _, c) = pair(9);
    assert_eq!((c.counts.only_a, c.counts.only_b), (0, 0));
    let llm: Vec<Status> = c
        .rows
        .iter()
        .filter(|r| r.a.and_then(|s| a.timeline.spans.get(s)).is_some_and(|s| s.kind == SpanKind::Llm))
        .map(|r| r.status)
        .collect();
    assert!(!llm.is_empty() && llm.iter().all(|s| *s == Status::Slower), "{llm:?}");
    assert!(figure(&c, "wall_time_ms") > 0.0);
    assert_eq!(figure(&c, "cost_usd"), 0.0);
    // 14: one step more.
    let (_, b, c) = pair(14);
    assert_eq!(tops(&c, &b, Status::OnlyB), [SpanKind::Step]);
    assert_eq!(c.counts.only_a, 0);
    // 19: half the work, then a failure: A's later steps are missing, B ends failed.
    let (a, b, c) = pair(19);
    assert_eq!(b.summary.status, "failed");
    assert!(tops(&c, &a, Status::OnlyA).iter().filter(|k| **k == SpanKind::Step).count() >= 1);
    assert!(tops(&c, &b, Status::OnlyB).contains(&SpanKind::Error), "the failure is new");
    assert!(c.counts.pairs >= 8, "the first half is the same work: {:?}", c.counts);
}

/// Nothing from the files acts on the terminal: control, C1 and bidi characters in session
/// ids, tasks, tool names and error texts are escaped in the text and Markdown, kept exact in
/// the JSON.
#[test]
fn hostile_text_in_both_runs_is_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hostile.db");
    let evil = "\u{1b}]0;title\u{7}\r\u{85}\u{202e}dcba\u{2028}";
    let w = TraceWriter::create(&path).expect("create");
    for (session, retried) in [("evil-a\u{1b}[2J", false), ("evil-b\u{202e}", true)] {
        let mut events = vec![
            ev("root", "trace_started", 0, None, None, json!({"task": evil})),
            ev("call", "tool_called", 10, None, Some("root"), json!({"tool": format!("tool{evil}")})),
            ev(
                "res",
                "tool_result",
                60,
                Some(50.0),
                Some("call"),
                json!({"tool": format!("tool{evil}"), "success": !retried}),
            ),
        ];
        if retried {
            events.push(ev("err", "error", 61, None, Some("root"), json!({"error": format!("failed{evil}")})));
        }
        let prefixed: Vec<Ev> = events
            .into_iter()
            .map(|e| Ev {
                id: leak(format!("{}{}", &session[..6], e.id)),
                parent: e.parent.map(|p| leak(format!("{}{p}", &session[..6]))),
                ..e
            })
            .collect();
        write_session(&w, session, &format!("task{evil}"), &prefixed);
    }
    let f = path.to_str().expect("utf-8 path");
    for args in [&["compare", f, "evil-a", "evil-b"][..], &["compare", f, "evil-a", "evil-b", "--markdown"]] {
        let out = run(args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let hidden = |c: char| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}')
        };
        assert!(!text.chars().any(hidden), "{args:?}: {text:?}");
        assert!(text.contains("\\u202edcba"), "{args:?}: {text}");
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            assert!(line.starts_with("warning: "), "{line}");
        }
    }
    let (doc, _) = stdout_json(&["compare", f, "evil-a", "evil-b", "--json"]);
    // Ids in their one printed form (README: Ids), other text exact.
    assert_eq!(
        (doc["a"]["session_id"].clone(), doc["b"]["session_id"].clone()),
        (json!("evil-a\\x1b[2J"), json!("evil-b\\u202e"))
    );
    assert_eq!(doc["b"]["task"], format!("task{evil}"));
    let only_b: Vec<&Value> =
        doc["pairs"].as_array().expect("pairs").iter().filter(|p| p["status"] == "only_b").collect();
    assert_eq!(only_b.len(), 1);
    // Labels are one line from loading on (controls as spaces); the tool name is exact.
    let one_line: String = evil.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    assert_eq!(only_b[0]["label"], format!("failed{one_line}"));
    assert_eq!(doc["pairs"][1]["signature"], format!("tool tool{evil}"));
}
