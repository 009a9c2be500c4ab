//! Keys as people expect them: Esc in a text field or an open dropdown only leaves the field or
//! closes the popup; Enter in the search box steps through the hits; Ctrl+plus/minus zoom the
//! chart, not the interface; `?` shows the keys.

#[path = "common/app.rs"]
mod app_support;

use app_support::{fixture, settle_then};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use trace_inspector::app::{Command, Screen, State, TraceApp};

fn settle(h: &mut Harness<'_, TraceApp>) {
    settle_then(h, 3);
}

fn opened() -> Harness<'static, TraceApp> {
    let mut h = app_support::harness([1400.0, 900.0], State::default());
    h.state_mut().command(Command::Open(fixture()));
    settle(&mut h);
    h
}

fn in_session(task: &str) -> Harness<'static, TraceApp> {
    let mut h = opened();
    let id = h
        .state()
        .file
        .as_ref()
        .and_then(|f| f.list.sessions.iter().find(|s| s.task == task))
        .map(|s| s.id.clone())
        .expect("the session");
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    h
}

/// Focuses the session's search box as `/` does.
fn focus_search(h: &mut Harness<'_, TraceApp>) {
    h.ctx.memory_mut(|m| m.request_focus(egui::Id::unique("session-search")));
    h.run_steps(2);
    assert!(h.ctx.text_edit_focused(), "the search box has the focus");
}

#[test]
fn escape_in_the_table_filter_leaves_the_field_not_the_screen() {
    let mut h = opened();
    // The table's filter is the sessions screen's one text field.
    h.get_by_role(Role::TextInput).click();
    h.step();
    h.get_by_role(Role::TextInput).type_text("payment");
    h.run_steps(2);
    assert!(h.ctx.text_edit_focused());
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Sessions, "Esc in the filter went back");
    assert!(!h.ctx.text_edit_focused(), "the field keeps the focus");
    // With nothing focused, Esc goes back.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Welcome);
}

#[test]
fn escape_in_an_open_dropdown_closes_it_and_stays() {
    let mut h = opened();
    h.get_by_role_and_label(Role::ComboBox, "Status").click();
    h.run_steps(2);
    assert!(egui::Popup::is_any_open(&h.ctx), "the dropdown opened");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!egui::Popup::is_any_open(&h.ctx), "Esc closes the dropdown");
    assert_eq!(h.state().screen, Screen::Sessions, "and leaves the screen as it was");
}

#[test]
fn escape_in_the_session_search_stays_in_the_session() {
    let mut h = in_session("Refactor the payment module");
    focus_search(&mut h);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Session);
}

#[test]
fn enter_in_the_search_box_searches_then_steps_through_the_hits() {
    let mut h = in_session("Refactor the payment module");
    focus_search(&mut h);
    h.event(egui::Event::Text("tool".to_owned()));
    h.step();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let view = h.state().session.as_ref().expect("session");
    assert_eq!(view.search.searched.as_deref(), Some("tool"));
    let hits = view.search.hit_spans.clone();
    assert!(hits.len() >= 3, "{hits:?}");
    assert_eq!(view.selected, Some(hits[0]), "the first hit is selected");
    assert!(h.ctx.text_edit_focused(), "the box keeps the focus");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(h.state().session.as_ref().and_then(|v| v.selected), Some(hits[1]), "Enter: next hit");
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    settle(&mut h);
    assert_eq!(h.state().session.as_ref().and_then(|v| v.selected), Some(hits[0]), "Shift+Enter: previous hit");
}

#[test]
fn ctrl_plus_and_minus_zoom_the_chart_not_the_interface() {
    let mut h = in_session("Refactor the payment module");
    let range = |h: &Harness<'_, TraceApp>| {
        let (a, b) = h.state().session.as_ref().expect("session").gantt.view_range_ms();
        b - a
    };
    let before = range(&h);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Plus);
    h.run_steps(2);
    let zoomed = range(&h);
    assert!(zoomed < before * 0.8, "{zoomed} after {before}");
    assert!((h.ctx.zoom_factor() - 1.0).abs() < f32::EPSILON, "the interface kept its size");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Minus);
    h.run_steps(2);
    assert!((range(&h) - before).abs() < before * 0.01, "zoomed back out");
    // The interface's size has its own keys, and is saved.
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::ALT, egui::Key::Plus);
    h.run_steps(2);
    assert!((h.state().state.ui_scale - 1.1).abs() < 1e-4, "{}", h.state().state.ui_scale);
}

#[test]
fn question_mark_shows_the_keys_and_escape_hides_them() {
    let mut h = opened();
    h.key_press(egui::Key::Questionmark);
    h.run_steps(2);
    assert!(h.state().show_help);
    assert!(h.query_by_label("zoom the chart in / out").is_some(), "the overlay lists the chart's zoom keys");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().show_help);
    assert_eq!(h.state().screen, Screen::Sessions, "Esc closed the overlay first");
}

#[test]
fn a_file_dragged_over_the_window_says_a_drop_opens_it() {
    let mut h = opened();
    assert!(h.query_by_label_contains("Drop to open").is_none());
    h.input_mut().hovered_files.push(egui::HoveredFile { path: Some(fixture()), mime: String::new() });
    h.run_steps(2);
    let hint = format!("Drop to open {}", fixture().display());
    assert!(h.query_by_label(&hint).is_some(), "the hint names the file");
    h.input_mut().hovered_files.clear();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Drop to open").is_none(), "the hint goes with the file");
}

#[test]
fn an_error_on_the_welcome_screen_moves_nothing_under_the_pointer() {
    let mut h = app_support::harness([1400.0, 900.0], State::default());
    h.run_steps(2);
    let demo_button = |h: &Harness<'_, TraceApp>| h.get_by_label("Open demo database").rect();
    let before = demo_button(&h);
    h.state_mut().command(Command::Open("/nonexistent/agent_traces.db".into()));
    settle(&mut h);
    assert!(h.state().error.is_some(), "the open failed");
    assert!(h.query_by_label_contains("Error:").is_some(), "and says so");
    assert_eq!(demo_button(&h), before, "the buttons stayed where they were");
}
