//! The diagnosis in the app, driven by egui_kittest on a generated demo file: a session with a
//! loop opens with the loop folded to its first call (and unfolds on request), the critical
//! path toggle dims what is off the path, the summary lists the path, the loops and the context
//! growth, and a loop in the summary selects its first call.

#[path = "common/app.rs"]
mod app_support;

use app_support::{opened_file, settle};
use egui_kittest::kittest::Queryable as _;
use trace_inspector::analysis::diagnosis::{DiagnosisParams, diagnose};
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
            let data = store.load_session(&row.id, Some(row.clone())).ok()?;
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
    assert_eq!(on_path, s.model.diagnosis.critical_path.spans.len());
    assert!(on_path > 0 && on_path < s.model.on_path.len());
}
