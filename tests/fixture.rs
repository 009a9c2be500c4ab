//! The reference fixture: our session list and summaries equal the reference viewer's answers.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trace_inspector::analysis::{self, Anchor};
use trace_inspector::store::Store;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(data("skynette-40.expected.json")).expect("fixture json");
    serde_json::from_str(&text).expect("valid json")
}

/// Compares one key: numbers to 1e-9 relative, `models_used` as a set (the reference builds
/// it from a Python set, so its order is arbitrary), the rest exactly.
fn assert_same(key: &str, ours: &Value, theirs: &Value, context: &str) {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            let tol = 1e-9 * a.abs().max(b.abs()).max(1e-12);
            assert!((a - b).abs() <= tol, "{context}: {key}: ours {a} vs reference {b}");
        }
        (Value::Array(a), Value::Array(b)) if key == "models_used" => {
            let mut a: Vec<_> = a.iter().map(ToString::to_string).collect();
            let mut b: Vec<_> = b.iter().map(ToString::to_string).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{context}: {key}");
        }
        _ => assert_eq!(ours, theirs, "{context}: {key}"),
    }
}

#[test]
fn session_list_matches_reference() {
    let store = Store::open(&data("skynette-40.db")).expect("open");
    let list = store.list_sessions().expect("list");
    let ours = serde_json::to_value(&list.sessions).expect("json");
    let theirs = expected()["sessions"].clone();
    let (ours, theirs) = (ours.as_array().expect("array"), theirs.as_array().expect("array"));
    assert_eq!(ours.len(), 40);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(theirs) {
        let context = format!("session {}", t["id"]);
        for (key, value) in t.as_object().expect("object") {
            assert_same(key, &o[key], value, &context);
        }
    }
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
}

#[test]
fn every_summary_matches_reference() {
    let store = Store::open(&data("skynette-40.db")).expect("open");
    let expected = expected();
    let summaries = expected["summaries"].as_object().expect("object");
    assert_eq!(summaries.len(), 40);
    for (id, theirs) in summaries {
        let session = store.load_session(id, None).expect("load");
        let analyzed = analysis::analyze(session, Anchor::Auto);
        let ours = serde_json::to_value(&analyzed.summary).expect("json");
        for (key, value) in theirs.as_object().expect("object") {
            assert_same(key, &ours[key], value, &format!("summary {id}"));
        }
        assert_eq!(analyzed.timeline.anchor, Anchor::End, "{id}: the fixture is stamped at the end");
    }
}

#[test]
fn opening_changes_nothing() {
    // A private copy, so nothing else touching tests/data can blur what this test sees.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("skynette-40.db");
    std::fs::copy(data("skynette-40.db"), &path).expect("copy");
    let before = std::fs::read(&path).expect("read");
    {
        let store = Store::open(&path).expect("open");
        let list = store.list_sessions().expect("list");
        for s in &list.sessions {
            let _ = store.load_session(&s.id, None).expect("load");
        }
        let _ = store.trace_detail("a7e9bec0-a11b-464f-b4e3-f96fce6390f0").expect("detail");
    }
    assert_eq!(std::fs::read(&path).expect("read"), before);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    // A WAL file without a -wal is read as any reader reads it (a writer may attach at any
    // moment): SQLite makes its empty -wal and its -shm index beside it, nothing else.
    let mut names = names;
    names.sort();
    assert_eq!(names, ["skynette-40.db", "skynette-40.db-shm", "skynette-40.db-wal"]);
    assert_eq!(std::fs::metadata(path.with_extension("db-wal")).expect("wal").len(), 0, "the -wal stays empty");
}

/// The file-wide model table equals the sum of every session's own model table, on the
/// reference fixture and on a generated file.
#[test]
fn model_usage_across_the_file_is_the_sum_of_the_session_summaries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = dir.path().join("demo.db");
    let config = trace_inspector::demo::DemoConfig { sessions: 60, seed: 5, ..Default::default() };
    trace_inspector::demo::generate(&demo, &config).expect("demo");
    for path in [data("skynette-40.db"), demo] {
        let store = Store::open(&path).expect("open");
        let file = store.model_usage().expect("model usage");
        // model -> (calls, sessions, tokens in, tokens out, cost)
        let mut merged: std::collections::BTreeMap<String, (u64, u64, i64, i64, f64)> = Default::default();
        for row in store.list_sessions().expect("list").sessions {
            let analyzed = analysis::analyze(store.load_session(&row.id, None).expect("load"), Anchor::Auto);
            for m in analyzed.summary.models {
                let e = merged.entry(m.model).or_default();
                *e = (e.0 + m.calls, e.1 + 1, e.2 + m.input_tokens, e.3 + m.output_tokens, e.4 + m.cost_usd);
            }
        }
        assert!(merged.len() >= 2, "{}: several models", path.display());
        assert_eq!(file.len(), merged.len(), "{}", path.display());
        for m in &file {
            let (calls, sessions, tin, tout, cost) = merged[&m.model];
            assert_eq!(
                (m.calls, m.sessions, m.input_tokens, m.output_tokens),
                (calls, sessions, tin, tout),
                "{}",
                m.model
            );
            assert!((m.cost_usd - cost).abs() <= 1e-9 * cost.abs().max(1e-12), "{}: {} vs {cost}", m.model, m.cost_usd);
            assert!(m.provider.is_some(), "{}: the generated traces name a provider", m.model);
        }
        assert!(file.windows(2).all(|w| w[0].cost_usd >= w[1].cost_usd), "costliest first");
    }
}
