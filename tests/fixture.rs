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
    assert_eq!(names, vec!["skynette-40.db".to_owned()], "no -wal or -shm created beside the file");
}
