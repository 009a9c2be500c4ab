//! Live tail in the app: while a writer adds to the open file, new sessions and new events of
//! the open session appear, and the user's selection and collapsed nodes stay.

use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use egui_kittest::Harness;
use trace_inspector::app::{Command, Screen, State, TraceApp};
use trace_inspector::cli::OpenArgs;
use trace_inspector::writer::{NewTrace, TraceWriter};

fn trace(id: &str, session: &str, kind: &str, second: i64, parent: Option<&str>) -> NewTrace {
    NewTrace {
        id: id.to_owned(),
        session_id: session.to_owned(),
        kind: kind.to_owned(),
        timestamp: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("time")
            + chrono::Duration::seconds(second),
        duration_ms: None,
        parent_id: parent.map(str::to_owned),
        data: serde_json::json!({"step_id": format!("s{second}")}),
        input_tokens: None,
        output_tokens: None,
        model: None,
        provider: None,
        cost_usd: None,
        raw_input: None,
        raw_output: None,
    }
}

fn wait_until(h: &mut Harness<'_, TraceApp>, what: &str, done: impl Fn(&TraceApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn new_events_appear_and_the_users_place_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.db");
    let writer = TraceWriter::create(&path).expect("create");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("time");
    writer.start_session("live-1", "Live task", t0).expect("session");
    writer.save_trace(&trace("root", "live-1", "trace_started", 0, None)).expect("trace");
    writer.save_trace(&trace("a", "live-1", "step_started", 1, Some("root"))).expect("trace");
    writer.save_trace(&trace("a1", "live-1", "state_change", 2, Some("a"))).expect("trace");

    let mut h = Harness::builder()
        .with_size([1200.0, 800.0])
        .build_eframe(|cc| TraceApp::with_state(&cc.egui_ctx, State::default(), OpenArgs::default()));
    h.ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    h.state_mut().command(Command::Open(path.clone()));
    wait_until(&mut h, "the list", |app| app.file.is_some() && app.is_idle());
    h.state_mut().command(Command::OpenSession("live-1".to_owned()));
    wait_until(&mut h, "the session", |app| app.screen == Screen::Session && app.is_idle());
    // Select the step and collapse it.
    let step = h.state().session.as_ref().and_then(|v| v.span_of_id("a")).expect("step span");
    h.state_mut().command(Command::SelectSpan { span: step, scroll: true, zoom: false });
    h.state_mut().command(Command::ToggleCollapse(step));
    h.run_steps(2);
    assert_eq!(h.state().session.as_ref().map(|v| v.session.data.events.len()), Some(3));

    // The agent goes on: an earlier event (so span indices shift), more under the step, and a
    // new session.
    writer.save_trace(&trace("b0", "live-1", "model_selected", 0, Some("root"))).expect("trace");
    writer.save_trace(&trace("a2", "live-1", "state_change", 3, Some("a"))).expect("trace");
    writer.end_session("live-1", "completed", t0 + chrono::Duration::seconds(4)).expect("end");
    writer.start_session("live-2", "Second task", t0 + chrono::Duration::seconds(60)).expect("session");
    writer.save_trace(&trace("x", "live-2", "trace_started", 60, None)).expect("trace");

    wait_until(&mut h, "the new events", |app| {
        app.session.as_ref().is_some_and(|v| v.session.data.events.len() == 5)
            && app.file.as_ref().is_some_and(|f| f.list.sessions.len() == 2)
            && app.is_idle()
    });
    let app = h.state();
    let view = app.session.as_ref().expect("session");
    let step_now = view.span_of_id("a").expect("step span");
    assert_ne!(step_now, step, "the new earlier event moved the step's index");
    assert_eq!(view.selected, Some(step_now), "selection follows the trace, not the index");
    assert!(view.collapsed[step_now], "the collapsed node stays collapsed");
    assert!(app.file.as_ref().is_some_and(|f| f.changed_at.is_some()), "the status bar knows when it changed");
    assert_eq!(app.screen, Screen::Session);
    // The session's own row is read again: it has ended since it was opened.
    assert_eq!(view.session.data.row.status, "completed");
    assert_eq!(view.session.summary.total_duration_ms, Some(4000.0));
}
