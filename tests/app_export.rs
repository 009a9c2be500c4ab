//! Exporting the open session from the app: the file written off the UI thread is the same
//! OTLP JSON or Chrome trace the CLI writes, and the app says where it went.

#[path = "common/app.rs"]
mod app_support;

use app_support::{fixture, opened_file, settle};
use trace_inspector::app::{Command, Screen};
use trace_inspector::jobs::ExportFormat;

#[test]
fn the_open_session_exports_as_otlp_json_and_as_a_chrome_trace() {
    let mut h = opened_file(&fixture());
    let id = h.state().file.as_ref().map(|f| f.list.sessions[1].id.clone()).expect("a session");
    h.state_mut().command(Command::OpenSession(id.clone()));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    let dir = tempfile::tempdir().expect("temp dir");

    let otlp = dir.path().join("session.jsonl");
    h.state_mut().command(Command::ExportTo(ExportFormat::OtlpJson, otlp.clone()));
    settle(&mut h);
    let text = std::fs::read_to_string(&otlp).expect("the OTLP file");
    assert_eq!(text.lines().count(), 1, "one TracesData line for one session");
    let doc: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
    let spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().expect("spans").len();
    let timed = h.state().session.as_ref().expect("session").session.timeline.spans.iter().filter(|s| s.timed).count();
    assert_eq!(spans, timed, "every timed span, once");
    assert!(h.state().toasts.iter().any(|t| t.text.contains(&format!("Exported {spans} spans"))), "the app says so");

    let chrome = dir.path().join("session.json");
    h.state_mut().command(Command::ExportTo(ExportFormat::Chrome, chrome.clone()));
    settle(&mut h);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&chrome).expect("the Chrome file")).expect("JSON");
    let complete = doc["traceEvents"].as_array().expect("events").iter().filter(|e| e["ph"] == "X").count();
    assert!(complete > 0 && complete <= timed, "{complete} complete events for {timed} timed spans");
    assert!(h.state().error.is_none(), "{:?}", h.state().error);
}
