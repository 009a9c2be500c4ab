//! The diagnosis in the app, driven by egui_kittest on a generated demo file: a session with a
//! loop opens with the loop folded to its first call (and unfolds on request), the critical
//! path toggle dims what is off the path, the summary lists the path, the loops and the context
//! growth, and a loop in the summary selects its first call. With "Collapse idle" on, the
//! stalls are cut from the chart's time axis (a snapshot), and the stall threshold is saved.
//! A context window typed in the summary is saved and measures that model's calls.

#[path = "common/app.rs"]
mod app_support;

use app_support::{opened_file, settle};
use egui_kittest::kittest::Queryable as _;
use trace_inspector::analysis::axis::{CutAxis, fit_view};
use trace_inspector::analysis::context::model_key;
use trace_inspector::analysis::diagnosis::{DiagnosisParams, diagnose};
use trace_inspector::analysis::stalls::StallParams;
use trace_inspector::analysis::{self, Anchor};
use trace_inspector::app::{Command, Screen};
use trace_inspector::demo::{self, DemoConfig};
use trace_inspector::store::Store;

#[test]
fn a_looping_session_folds_its_loop_and_shows_its_path_and_context() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("agent_traces.db");
    demo::generate(&path, &DemoConfig { sessions: 40, seed: 7, ..DemoConfig::default() }).expect("demo");
    // A session with a loop, found as the app will find it.
    let store = Store::open(&path).expect("open");
    let list = store.list_sessions().expect("list");
    let (id, loops) = list
        .sessions
        .iter()
        .find_map(|row| {
            let data = store.load_session(&row.id, Some(row.as_ref().clone())).ok()?;
            let session = analysis::analyze(data, Anchor::Auto);
            let d = diagnose(&session, &DiagnosisParams::default());
            (!d.loops.loops.is_empty()).then(|| (row.id.clone(), d.loops.loops.len()))
        })
        .expect("the demo has a session with a loop");
    drop(store);

    let mut h = opened_file(&path);
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);

    let (repeats, first, shown_before) = {
        let m = &h.state().session.as_ref().expect("session").model;
        assert_eq!(m.diagnosis.loops.loops.len(), loops);
        let repeats: Vec<usize> = (0..m.loop_repeat.len()).filter(|&s| m.loop_repeat[s]).collect();
        let first = m.diagnosis.loops.loops[0].calls[0];
        assert!(!repeats.is_empty());
        // Folded: the first call shows with its count, no repeat is a row.
        assert!(m.rows.contains(&first) && m.loop_calls[first] >= 3);
        assert!(repeats.iter().all(|r| !m.rows.contains(r)), "a repeat shows while folded");
        (repeats, first, m.rows.len())
    };
    let fold = if loops == 1 { "Fold the loop".to_owned() } else { format!("Fold {loops} loops") };
    h.get_by_label(&fold).click();
    h.run_steps(3);
    {
        let m = &h.state().session.as_ref().expect("session").model;
        assert!(!m.fold_loops);
        assert!(repeats.iter().all(|r| m.rows.contains(r)), "unfolded, every repeat is a row");
        assert_eq!(m.rows.len(), shown_before + repeats.len());
    }

    // The summary names the path, the loops and the context; a loop there selects its first call.
    assert_eq!(h.get_all_by_label("Critical path").count(), 2, "the toggle and the summary heading");
    h.get_by_label(&format!("Loops ({loops})"));
    h.get_by_label("Context growth");
    h.get_all_by_label_contains("repeat").next().expect("a loop in the summary").scroll_to_me();
    h.run_steps(3);
    h.get_all_by_label_contains("repeat").next().expect("a loop in the summary").click();
    h.run_steps(3);
    assert_eq!(h.state().session.as_ref().and_then(|s| s.model.selected), Some(first));

    // The critical path toggle: the path shows, the rest dims.
    assert!(!h.state().session.as_ref().expect("session").show_path);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Critical path").click();
    h.run_steps(3);
    let s = h.state().session.as_ref().expect("session");
    assert!(s.show_path);
    let on_path = s.model.on_path.iter().filter(|&&p| p).count();
    // The model marks every span of the path and keeps only the ones it lists.
    let path = trace_inspector::analysis::critical_path::critical_path(&s.model.session);
    assert_eq!(on_path, path.spans.len());
    assert!(path.spans.iter().all(|p| s.model.on_path[p.span]));
    let listed = &s.model.diagnosis.critical_path;
    assert!(listed.only_ranked && listed.spans.len() <= trace_inspector::analysis::critical_path::RANKED);
    assert_eq!(listed.top(5), path.top(5));
    assert!(on_path > 0 && on_path < s.model.on_path.len());
}

/// The demo file of these tests (the fixture's runs have no stall by the default rule).
fn demo_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("agent_traces.db");
    demo::generate(&path, &DemoConfig { sessions: 40, seed: 7, ..DemoConfig::default() }).expect("demo");
    path
}

/// The first finished session of `path` with a stall that more work follows, by the default
/// rule: (session id, stall start, end).
fn session_with_a_stall(path: &std::path::Path) -> Option<(String, f64, f64)> {
    let store = Store::open(path).expect("open");
    let list = store.list_sessions().expect("list");
    list.sessions.iter().filter(|row| row.status != "running").find_map(|row| {
        let data = store.load_session(&row.id, Some(row.as_ref().clone())).ok()?;
        let session = analysis::analyze(data, Anchor::Auto);
        let d = diagnose(&session, &DiagnosisParams::default());
        let stall = d.stalls.iter().find(|s| !s.at_end)?;
        Some((row.id.clone(), stall.start_ms, stall.end_ms))
    })
}

#[test]
fn collapsing_idle_cuts_the_stalls_from_the_axis_and_the_threshold_is_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = demo_file(&dir);
    let (id, stall_start, stall_end) = session_with_a_stall(&path).expect("the demo has a session with a stall");
    let mut h = opened_file(&path);
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    assert!(!h.state().state.collapse_idle, "off by default");

    // A span starting after the stall, brought on screen, and where its bar's middle is drawn.
    let (span, row) = {
        let m = &h.state().session.as_ref().expect("session").model;
        let spans = &m.session.timeline.spans;
        m.rows
            .iter()
            .enumerate()
            .find(|&(_, &s)| spans[s].timed && spans[s].start_ms >= stall_end)
            .map(|(row, &s)| (s, row))
            .expect("a span after the stall")
    };
    let centre = |h: &egui_kittest::Harness<'_, trace_inspector::app::TraceApp>| {
        let v = h.state().session.as_ref().expect("session");
        let s = &v.model.session.timeline.spans[span];
        v.gantt.bar_center(s, row, 20.0).expect("the bar is on screen").x
    };
    h.state_mut().session.as_mut().expect("session").gantt.scroll_to_row(row);
    h.run_steps(3);
    let off = centre(&h);

    h.get_by_label("Collapse idle").click();
    h.run_steps(3);
    assert!(h.state().state.collapse_idle);
    let on = centre(&h);

    // Expected: the whole session fitted either way; with the cuts, on the shorter axis.
    let (x_off, x_on) = {
        let v = h.state().session.as_ref().expect("session");
        let t = &v.model.session.timeline;
        let s = &t.spans[span];
        let middle = (s.start_ms + s.end_ms) / 2.0;
        let stalls = &v.model.diagnosis.stalls;
        assert!(stalls.iter().any(|st| st.start_ms == stall_start && st.end_ms == stall_end));
        let cuts = CutAxis::new(stalls.iter().map(|st| (st.start_ms, st.end_ms)), t.end_ms);
        let fraction = |at: f64, (a, b): (f64, f64)| ((at - a) / (b - a)) as f32;
        let bars = h.get_by_role_and_label(egui::accesskit::Role::Splitter, "Label column width").rect().center().x;
        let width = h.get_by_label("Gantt chart").rect().right() - 8.0 - bars;
        (
            bars + width * fraction(middle, fit_view(t.end_ms)),
            bars + width * fraction(cuts.to_axis(middle), fit_view(cuts.to_axis(t.end_ms))),
        )
    };
    assert!(on < off - 50.0, "drawn further left: {off} → {on}");
    assert!((off - x_off).abs() < 1.0 && (on - x_on).abs() < 1.0, "off {off} (expected {x_off}), on {on} ({x_on})");

    // The stall threshold: raised past the stall, the stall and its cut go; saved in the state.
    let length_s = (stall_end - stall_start) / 1000.0;
    let params = StallParams { min_ms: (length_s + 1.0) * 1000.0, ..StallParams::default() };
    h.state_mut().command(Command::SetStallParams(params));
    h.run_steps(3);
    assert_eq!(h.state().state.stalls, params);
    let v = h.state().session.as_ref().expect("session");
    assert!(v.model.diagnosis.stalls.iter().all(|st| st.duration_ms() > params.min_ms));
    assert!(!v.model.diagnosis.stalls.iter().any(|st| st.start_ms == stall_start));
}

#[test]
fn snapshot_of_a_session_with_its_stall_collapsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = demo_file(&dir);
    let (id, _, _) = session_with_a_stall(&path).expect("the demo has a session with a stall");
    let state = trace_inspector::app::State { collapse_idle: true, show_summary: false, ..Default::default() };
    let mut h = app_support::harness([1400.0, 900.0], state);
    h.state_mut().command(Command::Open(path));
    settle(&mut h);
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    h.hover_at(egui::pos2(1395.0, 895.0));
    h.run_steps(10);
    h.mask(egui::Rect::from_min_max(egui::pos2(0.0, 860.0), egui::pos2(1400.0, 900.0)));
    h.snapshot_options("session_collapsed_idle", &egui_kittest::SnapshotOptions::new().max_failed_pixels(400));
}

#[test]
fn the_sessions_table_counts_each_sessions_loops_as_the_cli_does_and_sorts_by_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = demo_file(&dir);
    let mut h = opened_file(&path);
    // The counts arrive after the list, off the UI thread; settled, every session has one.
    let (ids, counts): (Vec<String>, Vec<u32>) = {
        let f = h.state().file.as_ref().expect("file");
        f.list.sessions.iter().map(|r| (r.id.clone(), f.loops.get(&r.id).expect("counted").loops)).unzip()
    };
    assert!(counts.iter().any(|&n| n > 0), "the demo has loops");
    for (id, n) in ids.iter().zip(&counts) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
            .args(["loops", path.to_str().expect("path"), id, "--json"])
            .output()
            .expect("run the binary");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let cli = json["loops"].as_array().expect("loops").len();
        assert_eq!(cli, *n as usize, "session {id}");
    }

    // Sorted by the column, most loops first.
    let sort = trace_inspector::ui::sessions_table::Sort {
        column: trace_inspector::ui::sessions_table::SortColumn::Loops,
        ascending: false,
    };
    h.state_mut().command(Command::SetSort(sort));
    h.run_steps(3);
    let app = h.state();
    let f = app.file.as_ref().expect("file");
    let shown: Vec<u32> =
        app.table.order().iter().map(|&i| f.loops.get(&f.list.sessions[i].id).expect("counted").loops).collect();
    let mut expected = counts.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(shown, expected);
}

#[test]
fn a_big_file_counts_its_loops_when_the_table_sorts_by_them() {
    // Over 250,000 traces: listing must not start reading every session by itself.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.db");
    let config = DemoConfig { sessions: 130, events_per_session: Some(2_000), seed: 3, ..DemoConfig::default() };
    demo::generate(&path, &config).expect("demo");
    let mut h = opened_file(&path);
    {
        let f = h.state().file.as_ref().expect("file");
        assert!(f.list.file.trace_count > 250_000, "{} traces", f.list.file.trace_count);
        assert!(f.loops.by_session.is_empty(), "counted without being asked");
        assert!(f.loops.on_request);
        assert_eq!(f.loops_waiting.len(), f.list.sessions.len());
    }
    let sort = trace_inspector::ui::sessions_table::Sort {
        column: trace_inspector::ui::sessions_table::SortColumn::Loops,
        ascending: false,
    };
    h.state_mut().command(Command::SetSort(sort));
    settle(&mut h);
    let f = h.state().file.as_ref().expect("file");
    assert!(f.loops_waiting.is_empty());
    assert!(!f.loops.on_request);
    assert_eq!(f.loops.by_session.len(), f.list.sessions.len(), "every session counted once asked");
}

#[test]
fn a_context_window_set_in_the_summary_changes_the_share_and_is_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = demo_file(&dir);
    // A session whose LLM calls report input tokens, and the model of its first call.
    let store = Store::open(&path).expect("open");
    let list = store.list_sessions().expect("list");
    let (id, model, other) = {
        let mut found = list.sessions.iter().filter_map(|row| {
            let data = store.load_session(&row.id, Some(row.as_ref().clone())).ok()?;
            let session = analysis::analyze(data, Anchor::Auto);
            let d = diagnose(&session, &DiagnosisParams::default());
            let model = d.context.points.first()?.model.as_deref()?.to_owned();
            Some((row.id.clone(), model))
        });
        let (id, model) = found.next().expect("the demo has LLM calls with input tokens");
        let other = found.find(|(_, m)| *m == model).map(|(id, _)| id).expect("two sessions with that model");
        (id, model, other)
    };
    drop(store);
    let key = model_key(&model);

    let mut h = opened_file(&path);
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    let built_in = {
        let v = h.state().session.as_ref().expect("session");
        v.model
            .diagnosis
            .context
            .points
            .iter()
            .find(|p| p.model.as_deref() == Some(&*model))
            .and_then(|p| p.window_tokens())
    };
    h.get_by_label("Context windows").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Context windows").click();
    h.run_steps(10);
    type_window(&mut h, &model, "64k", None);

    // Saved, and every call of that model is measured against it.
    assert_eq!(h.state().state.context_windows.get(&key), Some(&64_000));
    let check = |h: &egui_kittest::Harness<'_, trace_inspector::app::TraceApp>, window: Option<u64>| {
        let points = &h.state().session.as_ref().expect("session").model.diagnosis.context.points;
        let of_model: Vec<_> = points.iter().filter(|p| p.model.as_deref() == Some(&*model)).collect();
        assert!(!of_model.is_empty());
        for p in of_model {
            assert_eq!(p.window_tokens(), window);
            assert_eq!(p.window_share.get(), window.map(|w| p.input_tokens as f64 / w as f64));
        }
    };
    check(&h, Some(64_000));
    h.get_by_label("set by you");

    // Another session of the same model opens with the user's window.
    h.state_mut().command(Command::OpenSession(other));
    settle(&mut h);
    check(&h, Some(64_000));

    // Something that is not a number of tokens is refused and said so.
    type_window(&mut h, &model, "x", Some("not a number of tokens"));
    assert_eq!(h.state().state.context_windows.get(&key), Some(&64_000));
    check(&h, Some(64_000));

    // Without the user's window, the built-in one again.
    h.state_mut().command(Command::SetContextWindows(Default::default()));
    h.run_steps(3);
    assert!(h.state().state.context_windows.is_empty());
    check(&h, built_in);
}

/// Types `text` after what `model`'s window field holds, checks that `says` shows (when
/// given), and presses Set.
fn type_window(
    h: &mut egui_kittest::Harness<'_, trace_inspector::app::TraceApp>,
    model: &str,
    text: &str,
    says: Option<&str>,
) {
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, model);
    field.scroll_to_me();
    field.click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, model).type_text(text);
    h.run_steps(2);
    if let Some(says) = says {
        h.get_by_label(says);
    }
    h.get_all_by_label("Set").next().expect("the Set button").scroll_to_me();
    h.run_steps(3);
    h.get_all_by_label("Set").next().expect("the Set button").click();
    h.run_steps(3);
}
