//! The Compare screen driven by egui_kittest on the fixture: two runs marked in the sessions
//! table with Ctrl+click, compared, their rows selected (by a click, by a contributor, by the
//! keys), copied as Markdown, and Esc back to the table. A snapshot of the screen.

#[path = "common/app.rs"]
mod app_support;

use app_support::{copied_text, fixture, opened_file, settle};
use egui::Modifiers;
use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use trace_inspector::analysis::compare::Status;
use trace_inspector::app::{Command, Screen, TraceApp};

const TASK: &str = "Refactor the payment module";

/// The fixture open, two runs of the same task marked with Ctrl+click and compared.
fn compared() -> Harness<'static, TraceApp> {
    let mut h = opened_file(&fixture());
    let rows: Vec<_> = h.get_all_by_label(TASK).map(|n| n.rect().center()).collect();
    assert!(rows.len() >= 2, "two runs of the task");
    for pos in &rows[..2] {
        h.hover_at(*pos);
        h.run_steps(20);
        h.event(egui::Event::ModifiersChanged(Modifiers::COMMAND));
        for pressed in [true, false] {
            h.event(egui::Event::PointerButton {
                pos: *pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: Modifiers::COMMAND,
            });
        }
        h.event(egui::Event::ModifiersChanged(Modifiers::NONE));
        h.run_steps(2);
    }
    assert_eq!(h.state().screen, Screen::Sessions, "a Ctrl+click marks, it does not open");
    assert_eq!(h.state().table.marked.len(), 2);
    h.get_by_label("Compare").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Compare);
    h
}

#[test]
fn two_marked_runs_compare_row_by_row_and_esc_goes_back() {
    let mut h = compared();
    let (a_id, b_id, rows, slower) = {
        let c = h.state().compare.as_ref().expect("a comparison");
        let m = &c.model;
        let marked = h.state().table.marked.clone();
        assert_eq!(m.a.session.data.row.id, marked[0]);
        assert_eq!(m.b.session.data.row.id, marked[1]);
        // Every span of both runs is in exactly one row.
        let a_spans = m.comparison.rows.iter().filter(|r| r.a.is_some()).count();
        let b_spans = m.comparison.rows.iter().filter(|r| r.b.is_some()).count();
        assert_eq!(a_spans, m.a.session.timeline.spans.len());
        assert_eq!(b_spans, m.b.session.timeline.spans.len());
        let slower = m.comparison.rows.iter().position(|r| r.status == Status::Slower);
        (m.a.session.data.row.id.clone(), m.b.session.data.row.id.clone(), m.rows.len(), slower)
    };
    assert_ne!(a_id, b_id);
    // One tree item per shown row in view, the root first.
    let items: Vec<_> = h.get_all_by_role(Role::TreeItem).collect();
    assert!(!items.is_empty() && items.len() <= rows);
    // A click on a row selects it: both sides of the pair, and the detail shows A and B.
    let first = items[0].rect().center();
    h.hover_at(first);
    h.run_steps(20);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: first,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run_steps(10);
    let selected = h.state().compare.as_ref().and_then(|c| c.model.selected);
    assert_eq!(selected, h.state().compare.as_ref().and_then(|c| c.model.rows.first().copied()));
    let node = h.get_all_by_role(Role::TreeItem).next().expect("the first row");
    assert_eq!(node.accesskit_node().toggled(), Some(Toggled::True));
    // Down moves the selection to the next shown row.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    let (selected, second) = {
        let m = &h.state().compare.as_ref().expect("comparison").model;
        (m.selected, m.rows.get(1).copied())
    };
    assert_eq!(selected, second);
    // The pair's traces load off the UI thread; their data is compared key by key.
    settle(&mut h);
    let detail = h.state().compare.as_ref().and_then(|c| c.model.detail.as_ref()).expect("the pair's detail");
    assert_eq!(Some(detail.row), second);
    assert!(!detail.a.is_empty() || !detail.b.is_empty());
    h.get_by_label("data of the first event");
    h.get_by_label("Every column of both traces").click();
    h.run_steps(3);
    assert!(h.query_all_by_label("created_at").count() >= 1, "the stored columns side by side");
    // A contributor in the summary selects its row.
    if let Some(slower) = slower {
        h.state_mut().command(Command::Compare(trace_inspector::app::command::CompareCommand::Select {
            row: slower,
            scroll: true,
        }));
        h.run_steps(3);
        assert_eq!(h.state().compare.as_ref().and_then(|c| c.model.selected), Some(slower));
    }
    // Copy comparison puts the Markdown on the clipboard.
    h.get_by_label("Copy comparison").click();
    h.run_steps(1);
    let text = copied_text(&h).expect("a copy");
    assert!(text.contains("Wall time") && text.contains(&a_id[..8]) && text.contains(&b_id[..8]), "{text}");
    // Esc goes back to the table, with the marks kept.
    h.run_steps(5);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Sessions);
    assert_eq!(h.state().table.marked.len(), 2);
}

#[test]
fn only_changes_hides_the_unchanged_rows_and_a_snapshot() {
    let mut h = compared();
    let all = h.state().compare.as_ref().map_or(0, |c| c.model.rows.len());
    h.get_by_label("Only changes").click();
    h.run_steps(3);
    let m = &h.state().compare.as_ref().expect("comparison").model;
    assert!(m.only_changes);
    assert!(m.rows.len() <= all);
    // Every shown row changed, or is the ancestor of one that did.
    for &r in &m.rows {
        let row = &m.comparison.rows[r];
        let changed = (r..row.subtree_end).any(|i| m.comparison.rows[i].status != Status::Same);
        assert!(changed, "row {r} shows but nothing under it changed");
    }
    h.get_by_label("Only changes").click();
    h.run_steps(3);
    h.hover_at(egui::pos2(1395.0, 895.0));
    h.run_steps(10);
    h.mask(egui::Rect::from_min_max(egui::pos2(0.0, 860.0), egui::pos2(1400.0, 900.0)));
    h.snapshot_options("compare", &egui_kittest::SnapshotOptions::new().max_failed_pixels(400));
}

#[test]
fn a_run_compares_with_a_run_of_another_file() {
    let mut h = opened_file(&fixture());
    h.get_all_by_label(TASK).next().expect("a run of the task").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    // Another file: a copy of the fixture elsewhere, typed into "Compare with…".
    let dir = tempfile::tempdir().expect("temp dir");
    let other = dir.path().join("other.db");
    std::fs::copy(fixture(), &other).expect("copy");
    h.get_by_label("Compare with…").click();
    h.run_steps(3);
    let field = h.get_by_label("Another file:");
    field.focus();
    field.type_text(&other.display().to_string());
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let (path, count) =
        h.state().other_file.as_ref().map(|(p, l)| (p.clone(), l.len())).expect("the other file listed");
    assert_eq!((path.as_path(), count), (other.as_path(), 40));
    // The same run in the other file: every pair the same, Δ zero.
    let a = h.state().session.as_ref().expect("session").model.session.data.row.id.clone();
    h.state_mut().command(Command::Compare(trace_inspector::app::command::CompareCommand::StartWith {
        a: a.clone(),
        b_path: other.clone(),
        b: a,
    }));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Compare);
    let m = &h.state().compare.as_ref().expect("comparison").model;
    assert_eq!((m.a.path.as_path(), m.b.path.as_path()), (fixture().as_path(), other.as_path()));
    assert!(m.comparison.rows.iter().all(|r| r.status == Status::Same), "a run against its own copy");
    assert_eq!(m.comparison.figure("wall_time_ms").and_then(|f| f.delta), Some(0.0));
}
