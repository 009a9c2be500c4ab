//! The diagnosis subcommands (`critical-path`, `loops`, `context`, `stalls`) and the summary's
//! diagnosis sections, on a hand-written file whose answers are known to the millisecond.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use serde_json::{Value, json};
use trace_inspector::writer::{NewTrace, TraceWriter};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json_of(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(args)).expect("valid JSON")
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("time") + TimeDelta::seconds(seconds)
}

struct Event<'a> {
    id: &'a str,
    kind: &'a str,
    at_s: i64,
    duration_ms: Option<f64>,
    parent: Option<&'a str>,
    data: Value,
    llm: Option<(i64, i64, f64)>,
}

fn ev<'a>(id: &'a str, kind: &'a str, at_s: i64, parent: Option<&'a str>, data: Value) -> Event<'a> {
    Event { id, kind, at_s, duration_ms: None, parent, data, llm: None }
}

/// `run-1` (completed, 45 s), stamped at the end of the work like the reference writer:
///
/// ```text
/// 0 s  trace_started ─────────────────────────────────────────────────── 45 s
/// 1 s   step s1 ──────────── 12 s
/// 2-4    read_file /a    4-6 llm 1,000 in    6-8 read_file /a   8-10 llm 64,000 in
/// 10-12  read_file /a
///       … 30 s without work …                               42-44 llm 20,000 in
/// ```
///
/// and `run-2`, still running, six events a second apart, an hour later.
fn file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("agent_traces.db");
    let w = TraceWriter::create(&path).expect("create");
    let read = |id| ev(id, "tool_called", 0, Some("s1"), json!({"tool": "read_file", "params": {"path": "/a"}}));
    let result = |id, call, at_s| Event {
        duration_ms: Some(2000.0),
        ..ev(id, "tool_result", at_s, Some(call), json!({"tool": "read_file", "success": true}))
    };
    let llm = |id, parent, at_s, input| Event {
        duration_ms: Some(2000.0),
        llm: Some((input, 100, 0.25)),
        ..ev(id, "message", at_s, Some(parent), json!({"role": "assistant"}))
    };
    let events = vec![
        ev("root", "trace_started", 0, None, json!({"task": "fix the parser"})),
        ev("s1", "step_started", 1, Some("root"), json!({"step_id": "s1", "description": "read"})),
        Event { at_s: 2, ..read("c1") },
        result("r1", "c1", 4),
        llm("m1", "s1", 6, 1000),
        Event { at_s: 6, ..read("c2") },
        result("r2", "c2", 8),
        llm("m2", "s1", 10, 64_000),
        Event { at_s: 10, ..read("c3") },
        result("r3", "c3", 12),
        Event {
            duration_ms: Some(11_000.0),
            ..ev("s1-done", "step_completed", 12, Some("s1"), json!({"step_id": "s1"}))
        },
        llm("m3", "root", 44, 20_000),
        Event {
            duration_ms: Some(45_000.0),
            ..ev("end", "trace_ended", 45, Some("root"), json!({"status": "completed"}))
        },
    ];
    w.start_session("run-1", "fix the parser", at(0)).expect("session");
    save(&w, "run-1", &events);
    w.end_session("run-1", "completed", at(45)).expect("end");
    w.start_session("run-2", "watch the logs", at(3600)).expect("session");
    let quiet: Vec<Event<'_>> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .enumerate()
        .map(|(i, id)| ev(id, "state_change", 3600 + i as i64, None, json!({"state": "executing"})))
        .collect();
    save(&w, "run-2", &quiet);
    (dir, path)
}

fn save(w: &TraceWriter, session: &str, events: &[Event<'_>]) {
    for e in events {
        let (input, output, cost) = e.llm.map_or((None, None, None), |(i, o, c)| (Some(i), Some(o), Some(c)));
        w.save_trace(&NewTrace {
            id: format!("{session}:{}", e.id),
            session_id: session.to_owned(),
            kind: e.kind.to_owned(),
            timestamp: at(e.at_s),
            duration_ms: e.duration_ms,
            parent_id: e.parent.map(|p| format!("{session}:{p}")),
            data: e.data.clone(),
            input_tokens: input,
            output_tokens: output,
            model: e.llm.map(|_| "gpt-4o".to_owned()),
            provider: e.llm.map(|_| "openai".to_owned()),
            cost_usd: cost,
            raw_input: None,
            raw_output: None,
        })
        .expect("save");
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_critical_path_runs_through_the_last_finishing_children() {
    let (_dir, path) = file();
    let f = path_str(&path);
    let p = json_of(&["critical-path", f, "run-1", "--json"]);
    assert_eq!(p["session_id"], "run-1");
    assert_eq!(p["wall_ms"], 45_000.0);
    assert_eq!(p["missing"], Value::Null);
    assert_eq!(
        p["by_kind"],
        json!({"llm_ms": 6000.0, "tool_ms": 6000.0, "step_ms": 1000.0, "other_ms": 32_000.0, "idle_ms": 0.0})
    );
    let ids: Vec<&str> = p["span_ids"].as_array().expect("ids").iter().filter_map(Value::as_str).collect();
    assert_eq!(ids, ["run-1:root", "run-1:s1", "run-1:c1", "run-1:m1", "run-1:c2", "run-1:m2", "run-1:c3", "run-1:m3"]);
    let root = &p["spans"][0];
    assert_eq!((root["self_ms"].as_f64(), root["kind"].as_str()), (Some(32_000.0), Some("session")));
    let segments = p["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 10);
    let covered: f64 =
        segments.iter().map(|s| s["end_ms"].as_f64().unwrap_or(0.0) - s["start_ms"].as_f64().unwrap_or(0.0)).sum();
    assert_eq!(covered, 45_000.0);
    // The text names the wall time and the kinds; a prefix finds the session.
    let text = stdout(&["critical-path", f, "run-1"]);
    assert!(text.starts_with("Critical path of run-1: 45.00 s wall time\n"), "{text}");
    assert!(
        text.contains("LLM 6.00 s (13.3 %), tool 6.00 s (13.3 %), step 1.00 s (2.2 %), other 32.00 s (71.1 %)"),
        "{text}"
    );
    // The running session's events are instants: no path, and why.
    let none = json_of(&["critical-path", f, "run-2", "--json"]);
    assert_eq!(
        (none["missing"].as_str(), none["reason"].as_str()),
        (Some("no_durations"), Some("no span has a duration (only instants)"))
    );
}

#[test]
fn three_equal_reads_are_a_loop_with_the_tokens_spent_after_the_first() {
    let (_dir, path) = file();
    let f = path_str(&path);
    let l = json_of(&["loops", f, "run-1", "--json"]);
    assert_eq!((l["tool_calls"].as_u64(), l["calls_without_args"].as_u64()), (Some(3), Some(0)));
    let only = &l["loops"][0];
    assert_eq!(l["loops"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (only["kind"].as_str(), only["repeats"].as_u64(), only["period"].as_u64()),
        (Some("repeat"), Some(2), Some(1))
    );
    assert_eq!(
        only["waste"],
        json!({"wall_ms": 8000.0, "calls_ms": 4000.0, "input_tokens": 65_000, "output_tokens": 200, "cost_usd": 0.5})
    );
    assert_eq!(l["call_ids"][0], json!(["run-1:c1", "run-1:c2", "run-1:c3"]));
    let text = stdout(&["loops", f, "run-1"]);
    assert!(
        text.contains(
            "1. read_file ×3 with the same arguments in a row: 2 repeats wasted 8.00 s, 65,200 tokens, $0.5000\n"
        ),
        "{text}"
    );
    // The file: one loop in one of two sessions.
    let all = json_of(&["loops", f, "--json"]);
    assert_eq!(
        (all["sessions"].as_u64(), all["sessions_with_loops"].as_u64(), all["loops"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (all["by_tool"][0]["name"].as_str(), all["by_tool"][0]["repeats"].as_u64()),
        (Some("read_file"), Some(2))
    );
    assert_eq!(all["by_task"][0]["name"], "fix the parser");
    let text = stdout(&["loops", f]);
    assert!(text.starts_with("1 loop in 1 of 2 sessions\n"), "{text}");
}

#[test]
fn context_grows_peaks_at_half_the_window_and_drops() {
    let (_dir, path) = file();
    let f = path_str(&path);
    let c = json_of(&["context", f, "run-1", "--json"]);
    let points = c["points"].as_array().expect("points");
    let got: Vec<(i64, f64, f64, Option<i64>)> = points
        .iter()
        .map(|p| {
            (
                p["input_tokens"].as_i64().unwrap_or(-1),
                p["offset_ms"].as_f64().unwrap_or(-1.0),
                p["running_cost_usd"].as_f64().unwrap_or(-1.0),
                p["dropped_from"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(1000, 4000.0, 0.25, None), (64_000, 8000.0, 0.5, None), (20_000, 42_000.0, 0.75, Some(64_000))]
    );
    assert_eq!((c["peak"].as_u64(), c["drops"].clone()), (Some(1), json!([2])));
    assert_eq!((points[1]["window"].as_u64(), points[1]["window_share"].as_f64()), (Some(128_000), Some(0.5)));
    // A window given on the command line wins.
    let c = json_of(&["context", f, "run-1", "--json", "--window", "gpt-4o=256000"]);
    assert_eq!(c["points"][1]["window_share"].as_f64(), Some(0.25));
    let bad = run(&["context", f, "run-1", "--window", "gpt-4o"]);
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&["context", f, "run-1"]);
    assert!(text.contains("peak 64,000 tokens (50 % of 128,000) at call 2 (gpt-4o); 1 sharp drop"), "{text}");
}

#[test]
fn stalls_say_what_they_came_after_and_a_quiet_running_session_is_stalled() {
    let (_dir, path) = file();
    let f = path_str(&path);
    let s = json_of(&["stalls", f, "run-1", "--json"]);
    assert_eq!(s["stalls"].as_array().map(Vec::len), Some(1));
    let st = &s["stalls"][0];
    assert_eq!((st["start_ms"].as_f64(), st["end_ms"].as_f64()), (Some(12_000.0), Some(42_000.0)));
    assert_eq!((st["after_label"].as_str(), st["step"].as_str()), (Some("read_file"), Some("s1")));
    assert_eq!(s["running_stall"], Value::Null, "a completed session is never stalled");
    let text = stdout(&["stalls", f, "run-1"]);
    assert!(text.contains("+12.00 s  idle 30.00 s after read_file (step s1)\n"), "{text}");
    // The rule is the user's: the 30 s stall is 67 % of the 45 s run.
    let count = |args: &[&str]| {
        let s = json_of(&[&["stalls", f, "run-1", "--json"], args].concat());
        (s["stalls"].as_array().map_or(0, Vec::len), s["params"]["min_ms"].as_f64(), s["params"]["min_share"].as_f64())
    };
    assert_eq!(count(&["--min-idle", "31"]), (0, Some(31_000.0), Some(0.1)));
    assert_eq!(count(&["--min-idle", "29.5"]), (1, Some(29_500.0), Some(0.1)));
    assert_eq!(count(&["--min-share", "70"]), (0, Some(5_000.0), Some(0.7)));
    assert_eq!(count(&["--min-share", "60%"]), (1, Some(5_000.0), Some(0.6)));
    for bad in [["--min-idle", "-1"], ["--min-share", "101"], ["--min-idle", "soon"]] {
        let out = run(&[&["stalls", f, "run-1"], &bad[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("expected a"), "{bad:?}");
    }
    // run-2 logged its last event in 2026 at 10:00:05 and runs on: silent ever since.
    let r = json_of(&["stalls", f, "run-2", "--json"]);
    assert_eq!(r["running_stall"]["since"], "2026-11-20T10:00:05.000000Z");
    assert_eq!(
        (r["running_stall"]["usual_gap_ms"].as_f64(), r["running_stall"]["threshold_ms"].as_f64()),
        (Some(1000.0), Some(10_000.0))
    );
    assert!(stdout(&["stalls", f, "run-2"]).contains("Running and stalled since 2026-11-20 10:00 UTC"));
}

#[test]
fn the_summary_has_the_diagnosis_sections() {
    let (_dir, path) = file();
    let md = stdout(&["summary", path_str(&path), "run-1"]);
    assert!(md.contains("\n### Critical path\n\n_45.00 s wall time; self time on the path: LLM 13 %, tools 13 %, steps 2 %, other 71 %, idle 0 %._\n"), "{md}");
    assert!(md.contains("1. 71.1 % — 32.00 s `trace_started` fix the parser (`run-1:root`)\n"), "{md}");
    assert!(md.contains("\n### Stalls\n\n- +12.00 s: idle 30.00 s after read_file (step s1)\n"), "{md}");
    assert!(
        md.contains("\n### Loops\n\n- read_file ×3 with the same arguments in a row: 2 repeats wasted 8.00 s, 65,200 tokens, $0.5000 (first call `run-1:c1`)\n"),
        "{md}"
    );
    let running = stdout(&["summary", path_str(&path), "run-2"]);
    assert!(running.contains("**Running and stalled since 2026-11-20 10:00 UTC"), "{running}");
}
