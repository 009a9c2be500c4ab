//! `export` through the binary: OTLP JSON read back with the OpenTelemetry protocol types and
//! checked against the OTLP/JSON rules and our summaries; Chrome trace JSON checked for strict
//! nesting per thread, every span and our times; the same bytes on every run; hostile files
//! exported with warnings and no panic.

#[path = "common/analyzed.rs"]
mod analyzed;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use analyzed::sessions;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use rusqlite::Connection;
use serde_json::Value;
use trace_inspector::analysis;
use trace_inspector::store::Store;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn export(file: &Path, more: &[&str]) -> (Vec<u8>, String) {
    let mut args = vec!["export", file.to_str().expect("utf-8 path")];
    args.extend_from_slice(more);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.stdout, stderr)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

fn is_decimal(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok())
}

/// Checks one OTLP JSON line against the spec's rules field by field (what a lenient decoder
/// would let pass), then decodes it with the protocol types.
fn check_otlp_line(line: &str) -> TracesData {
    let doc: Value = serde_json::from_str(line).expect("a JSON object a line");
    let resource_spans = doc["resourceSpans"].as_array().expect("resourceSpans");
    assert_eq!(resource_spans.len(), 1);
    let rs = &resource_spans[0];
    let keys: BTreeSet<&str> = rs["resource"]["attributes"]
        .as_array()
        .expect("resource attributes")
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    assert!(keys.contains("service.name") && keys.contains("trace_inspector.file"), "{keys:?}");
    let spans = rs["scopeSpans"][0]["spans"].as_array().expect("spans");
    let mut ids = HashSet::new();
    let trace_ids: HashSet<&str> = spans.iter().filter_map(|s| s["traceId"].as_str()).collect();
    assert!(trace_ids.len() <= 1, "one trace per session");
    for s in spans {
        let obj = s.as_object().expect("span object");
        for key in obj.keys() {
            assert!(!key.contains('_'), "lowerCamelCase keys: {key}");
        }
        assert!(is_hex(s["traceId"].as_str().expect("traceId"), 32), "{}", s["traceId"]);
        let id = s["spanId"].as_str().expect("spanId");
        assert!(is_hex(id, 16), "{id}");
        assert!(ids.insert(id.to_owned()), "span ids are unique: {id}");
        assert!(matches!(s["kind"].as_u64(), Some(1 | 3)), "kind as an integer: {}", s["kind"]);
        assert!(is_decimal(&s["startTimeUnixNano"]) && is_decimal(&s["endTimeUnixNano"]), "{s}");
        let start: u64 = s["startTimeUnixNano"].as_str().and_then(|t| t.parse().ok()).expect("start");
        let end: u64 = s["endTimeUnixNano"].as_str().and_then(|t| t.parse().ok()).expect("end");
        assert!(end >= start);
        if let Some(status) = s.get("status") {
            assert_eq!(status["code"], 2);
            assert!(s["attributes"].as_array().expect("attributes").iter().any(|a| a["key"] == "error.type"));
        }
        for a in s["attributes"].as_array().expect("attributes") {
            let value = a["value"].as_object().expect("AnyValue");
            assert_eq!(value.len(), 1, "{a}");
            let (kind, v) = value.iter().next().expect("one key");
            match kind.as_str() {
                "stringValue" => assert!(v.is_string()),
                "intValue" => assert!(v.as_str().is_some_and(|s| s.parse::<i64>().is_ok()), "{a}"),
                "doubleValue" => assert!(v.as_f64().is_some_and(f64::is_finite), "{a}"),
                "boolValue" => assert!(v.is_boolean()),
                other => panic!("unexpected AnyValue {other}"),
            }
        }
    }
    for s in spans {
        if let Some(parent) = s.get("parentSpanId") {
            assert!(ids.contains(parent.as_str().expect("hex")), "the parent is in the trace: {parent}");
        }
    }
    serde_json::from_str(line).expect("decodes into opentelemetry-proto's TracesData")
}

fn int_attr(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<i64> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        Any::IntValue(i) => Some(*i),
        _ => None,
    })
}

fn double_attr(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<f64> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        Any::DoubleValue(d) => Some(*d),
        _ => None,
    })
}

fn string_attr<'s>(span: &'s opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<&'s str> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        Any::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

#[test]
fn otlp_json_decodes_with_the_protocol_types_and_matches_our_summaries() {
    let f = fixture();
    let (stdout, stderr) = export(&f, &["--format", "otlp-json"]);
    let text = String::from_utf8(stdout).expect("UTF-8");
    let ours = sessions(&f);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), ours.len(), "one line per session");
    assert!(stderr.contains(&format!("exported {} sessions", ours.len())), "{stderr}");
    let mut spans_total = 0;
    for (line, session) in lines.iter().zip(&ours) {
        let data = check_otlp_line(line);
        let spans = &data.resource_spans[0].scope_spans[0].spans;
        let summary = &session.summary;
        let timed = session.timeline.spans.iter().filter(|s| s.timed).count();
        assert_eq!(spans.len(), timed, "session {}", summary.session_id);
        spans_total += spans.len();
        let sum_i = |key: &str| spans.iter().filter_map(|s| int_attr(s, key)).sum::<i64>();
        assert_eq!(sum_i("gen_ai.usage.input_tokens"), summary.total_input_tokens);
        assert_eq!(sum_i("gen_ai.usage.output_tokens"), summary.total_output_tokens);
        assert_eq!(sum_i("llm.token_count.total"), summary.total_tokens);
        let cost: f64 = spans.iter().filter_map(|s| double_attr(s, "gen_ai.usage.cost")).sum();
        assert!((cost - summary.total_cost_usd).abs() <= 1e-9 * summary.total_cost_usd.max(1.0), "{cost}");
        // Models of the calls (spans with tokens or a cost), and of every span naming one.
        let used = |s: &&opentelemetry_proto::tonic::trace::v1::Span| {
            int_attr(s, "gen_ai.usage.input_tokens").is_some() || double_attr(s, "gen_ai.usage.cost").is_some()
        };
        let calls: BTreeSet<&str> =
            spans.iter().filter(used).filter_map(|s| string_attr(s, "gen_ai.request.model")).collect();
        let theirs: BTreeSet<&str> = summary.models.iter().map(|m| m.model.as_str()).collect();
        assert_eq!(calls, theirs);
        let named: BTreeSet<&str> = spans.iter().filter_map(|s| string_attr(s, "gen_ai.request.model")).collect();
        let theirs: BTreeSet<&str> = summary.models_used.iter().map(String::as_str).collect();
        assert_eq!(named, theirs);
        for s in spans {
            assert_eq!(s.trace_id.len(), 16);
            assert_eq!(s.span_id.len(), 8);
            assert_eq!(string_attr(s, "session.id"), Some(summary.session_id.as_str()));
            if s.kind == 3 {
                assert!(s.name.starts_with("chat"), "{}", s.name);
                assert_eq!(string_attr(s, "openinference.span.kind"), Some("LLM"));
            }
            assert!(string_attr(s, "input.value").is_none(), "no content without --content");
        }
        let chats = spans.iter().filter(|s| string_attr(s, "gen_ai.operation.name") == Some("chat")).count();
        let llm = session.timeline.spans.iter().filter(|s| s.timed && s.kind == analysis::SpanKind::Llm).count();
        assert!(chats >= llm);
    }
    assert!(spans_total > 500, "{spans_total}");
}

#[test]
fn content_is_exported_only_when_asked() {
    let f = fixture();
    let store = Store::open(&f).expect("open");
    let first = store.list_sessions().expect("list").sessions.first().map(|s| s.id.clone()).expect("a session");
    let (stdout, _) = export(&f, &[&first[..8], "--format", "otlp-json", "--content"]);
    let text = String::from_utf8(stdout).expect("UTF-8");
    assert_eq!(text.lines().count(), 1, "one session, picked by prefix");
    let data = check_otlp_line(text.lines().next().expect("a line"));
    let spans = &data.resource_spans[0].scope_spans[0].spans;
    assert!(spans.iter().any(|s| string_attr(s, "trace_inspector.data").is_some()));
    assert!(spans.iter().filter(|s| s.kind == 3).any(|s| string_attr(s, "input.value").is_some()));
}

/// Two spans on one thread either don't overlap or one holds the other.
fn nests(a: (i64, i64), b: (i64, i64)) -> bool {
    a.1 <= b.0 || b.1 <= a.0 || (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1)
}

#[test]
fn chrome_json_nests_per_thread_and_holds_every_span_at_our_times() {
    let f = fixture();
    let (stdout, _) = export(&f, &["--format", "chrome"]);
    let doc: Value = serde_json::from_slice(&stdout).expect("one JSON document");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let ours = sessions(&f);
    // Our times of every timed span, by session (pid) and first trace id.
    let mut expected: HashMap<(u64, String), (i64, i64, bool)> = HashMap::new();
    for (pid, s) in (1u64..).zip(&ours) {
        let origin = s.timeline.origin.expect("an origin");
        for span in s.timeline.spans.iter().filter(|sp| sp.timed) {
            let us = |ms: f64| (origin.add_ms(ms).0 + 500).div_euclid(1000);
            let id = s.data.events[span.event].id.to_string();
            let end = if span.instant { us(span.start_ms) } else { us(span.end_ms) };
            expected.insert((pid, id), (us(span.start_ms), end, span.instant));
        }
    }
    let mut seen = HashSet::new();
    let mut flows: HashMap<u64, u32> = HashMap::new();
    let mut threads: HashMap<(u64, u64), Vec<(i64, i64)>> = HashMap::new();
    for e in events {
        let pid = e["pid"].as_u64().expect("pid");
        match e["ph"].as_str().expect("ph") {
            "X" => {
                let (ts, dur) = (e["ts"].as_i64().expect("ts"), e["dur"].as_i64().expect("dur"));
                assert!(dur >= 0);
                let id = e["args"]["trace_id"].as_str().expect("trace id").to_owned();
                assert_eq!(expected.get(&(pid, id.clone())), Some(&(ts, ts + dur, false)), "{e}");
                assert!(seen.insert((pid, id)));
                threads.entry((pid, e["tid"].as_u64().expect("tid"))).or_default().push((ts, ts + dur));
            }
            "i" if e["args"]["trace_id"].is_string() => {
                let id = e["args"]["trace_id"].as_str().expect("trace id").to_owned();
                let ts = e["ts"].as_i64().expect("ts");
                if let Some(&(start, end, instant)) = expected.get(&(pid, id.clone())) {
                    if instant {
                        assert_eq!(ts, start);
                        assert!(seen.insert((pid, id)));
                    } else {
                        assert_eq!((ts, e["cat"].as_str()), (end, Some("error")), "the end of a failed span");
                    }
                }
            }
            "C" => assert!(e["args"].is_object()),
            "s" | "f" => *flows.entry(e["id"].as_u64().expect("flow id")).or_insert(0) += 1,
            "M" => assert!(e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64()),
            other => panic!("unexpected phase {other}"),
        }
    }
    assert_eq!(seen.len(), expected.len(), "every timed span is there once");
    assert!(flows.values().all(|&n| n == 2), "each flow starts and finishes");
    for (thread, mut spans) in threads {
        spans.sort_unstable();
        // Sorted by start, strict nesting needs each span to nest with every open one; a
        // stack check is exact and linear.
        let mut open: Vec<(i64, i64)> = Vec::new();
        for s in spans {
            while open.last().is_some_and(|o| o.1 <= s.0) {
                open.pop();
            }
            if let Some(&o) = open.last() {
                assert!(nests(o, s), "thread {thread:?}: {o:?} and {s:?} overlap");
            }
            open.push(s);
        }
    }
    // The counters end at the session totals.
    for (pid, s) in (1u64..).zip(&ours) {
        let last = events.iter().rfind(|e| e["ph"] == "C" && e["pid"] == pid && e["name"] == "tokens");
        let input = last.and_then(|e| e["args"]["input"].as_i64()).unwrap_or(0);
        assert_eq!(input, s.summary.total_input_tokens, "session {pid}");
    }
}

#[test]
fn exports_are_byte_identical_across_runs_and_files() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("temp dir");
    for format in ["otlp-json", "chrome"] {
        let (a, _) = export(&f, &["--format", format]);
        let (b, _) = export(&f, &["--format", format]);
        assert!(a == b, "{format}: two runs differ");
        let out = dir.path().join(format);
        let (empty, stderr) = export(&f, &["--format", format, "-o", out.to_str().expect("path")]);
        assert!(empty.is_empty());
        assert!(stderr.contains("exported 40 sessions"), "{stderr}");
        assert!(std::fs::read(&out).expect("written") == a, "{format}: the file holds what stdout did");
    }
}

#[test]
fn since_and_until_pick_sessions_by_start() {
    let f = fixture();
    let mut starts: Vec<_> = sessions(&f).iter().filter_map(|s| s.data.row.started).collect();
    starts.sort_unstable();
    let mid = starts[starts.len() / 2];
    let since = mid.rfc3339_micros();
    let (a, _) = export(&f, &["--format", "otlp-json", "--since", &since]);
    let (b, _) = export(&f, &["--format", "otlp-json", "--until", &since]);
    let count = |v: &[u8]| v.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(count(&a), starts.iter().filter(|&&t| t >= mid).count());
    assert_eq!(count(&a) + count(&b), starts.len());
    let out = run(&["export", f.to_str().expect("path"), "--format", "chrome", "--since", "yesterday-ish"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
}

/// id, session, type, timestamp, duration, parent, tokens (in and out), model.
type Row<'a> = (&'a str, &'a str, &'a str, String, Option<f64>, Option<&'a str>, Option<i64>, Option<&'a str>);

/// A file with what real files hold: odd ids (empty, control characters, a blob, repeated),
/// missing and absurd durations, a parent cycle, a self-parent, orphans, unreadable times,
/// non-UTF-8 text, a session of instants only and one with no readable time at all.
fn hostile_file(dir: &Path) -> PathBuf {
    let path = dir.join("hostile.db");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(
        "CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL,
            completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
         CREATE TABLE agent_traces (id TEXT, session_id TEXT NOT NULL, type TEXT NOT NULL,
            timestamp TEXT NOT NULL, duration_ms REAL, parent_trace_id TEXT, data TEXT NOT NULL,
            input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL,
            raw_input TEXT, raw_output TEXT, created_at TEXT NOT NULL);
         INSERT INTO agent_trace_sessions VALUES ('bad', 'a task' || char(27) || '[2J', '2026-11-20T10:00:00+00:00', NULL, 'failed');
         INSERT INTO agent_trace_sessions VALUES ('instants', 'only instants', '2026-11-20T11:00:00+00:00', NULL, 'running');
         INSERT INTO agent_trace_sessions VALUES ('untimed', 'no times', 'never', NULL, 'running');",
    )
    .expect("schema");
    let t = |s: &str| format!("2026-11-20T10:00:{s}+00:00");
    let rows: Vec<Row<'_>> = vec![
        ("root", "bad", "trace_started", t("00"), None, None, None, None),
        ("", "bad", "message", t("01"), Some(500.0), Some("root"), Some(100), Some("gpt-x")),
        ("esc\u{1b}[31m", "bad", "tool_result", t("02"), Some(200.0), Some("root"), None, None),
        ("cyc1", "bad", "message", t("03"), Some(100.0), Some("cyc2"), Some(5), Some("gpt-x")),
        ("cyc2", "bad", "message", t("04"), Some(100.0), Some("cyc1"), Some(7), Some("gpt-y")),
        ("self", "bad", "tool_result", t("05"), Some(10.0), Some("self"), None, None),
        ("orphan", "bad", "error", t("06"), None, Some("nowhere"), None, None),
        ("dup", "bad", "tool_result", t("07"), Some(-5.0), Some("root"), None, None),
        ("dup", "bad", "tool_result", t("08"), Some(1e300), Some("root"), None, None),
        ("late", "bad", "message", "not a time".to_owned(), Some(10.0), Some("root"), Some(3), Some("gpt-x")),
        ("huge", "bad", "message", t("09"), Some(1.0), None, Some(i64::MAX), Some("gpt-x")),
        ("i1", "instants", "state_change", "2026-11-20T11:00:00+00:00".to_owned(), None, None, None, None),
        ("i2", "instants", "plan_created", "2026-11-20T11:00:01+00:00".to_owned(), None, Some("i1"), None, None),
        ("u1", "untimed", "message", String::new(), Some(3.0), None, Some(1), Some("gpt-x")),
        ("u2", "untimed", "state_change", "garbage".to_owned(), None, Some("u1"), None, None),
    ];
    for (id, session, kind, ts, dur, parent, tokens, model) in rows {
        conn.execute(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data,
                input_tokens, output_tokens, model_used, cost_usd, raw_input, raw_output, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{\"tool\": \"grep\"}', ?7, ?7, ?8, 0.5, 'in', 'out', ?4)",
            rusqlite::params![id, session, kind, ts, dur, parent, tokens, model],
        )
        .expect("insert");
    }
    // A blob id, and text that is not UTF-8 in type, model, data and raw input.
    conn.execute_batch(
        "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data,
            model_used, input_tokens, raw_input, created_at)
         VALUES (x'ff00fe', 'bad', CAST(x'6d7367ff' AS TEXT), '2026-11-20T10:00:10+00:00', 20.0, 'root',
            CAST(x'7b22ff7d' AS TEXT), CAST(x'67707480' AS TEXT), 9, CAST(x'c328' AS TEXT), 'x');",
    )
    .expect("odd rows");
    path
}

#[test]
fn hostile_files_export_as_valid_documents_with_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = hostile_file(dir.path());
    let (stdout, stderr) = export(&f, &["--format", "otlp-json", "--content"]);
    let text = String::from_utf8(stdout).expect("UTF-8 output");
    assert!(!text.contains('\u{1b}'), "no raw escape reaches the terminal");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let decoded: Vec<TracesData> = lines.iter().map(|l| check_otlp_line(l)).collect();
    let counts: Vec<usize> = decoded.iter().map(|d| d.resource_spans[0].scope_spans[0].spans.len()).collect();
    // Sessions are listed newest first: instants (2 zero-length spans), bad, untimed (none).
    assert_eq!(counts[0], 2, "{counts:?}");
    assert_eq!(counts[2], 0, "{counts:?}");
    assert!(counts[1] >= 10, "{counts:?}");
    assert!(stderr.contains("warning: session bad:"), "{stderr}");
    assert!(stderr.contains("no readable time"), "{stderr}");
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(summary.starts_with("exported 3 sessions, "), "{summary}");
    assert!(summary.contains("left out: no readable time"), "{summary}");
    for s in &decoded[0].resource_spans[0].scope_spans[0].spans {
        assert_eq!(s.start_time_unix_nano, s.end_time_unix_nano, "instants are zero-length spans");
    }

    let (stdout, stderr) = export(&f, &["--format", "chrome", "--content"]);
    let doc: Value = serde_json::from_slice(&stdout).expect("one JSON document");
    let events = doc["traceEvents"].as_array().expect("events");
    assert!(events.iter().filter(|e| e["ph"] == "X").count() >= 8);
    assert!(events.iter().all(|e| e["ts"].as_i64().is_some_and(|t| t >= 0)));
    assert!(stderr.contains("exported 3 sessions"), "{stderr}");

    let (again, _) = export(&f, &["--format", "chrome", "--content"]);
    assert!(again == stdout, "the same bytes from a hostile file too");
}
