//! The app's layout at the window sizes people use, driven by egui_kittest on the fixture: the
//! chart's share of the width, a top bar whose widgets never overlap, a sessions table whose
//! last column can be reached, the detail panel that opens on a selection with one scroll
//! bar, and image snapshots at 1000×700, 1400×900 and 1920×1080 in both themes, slow calls
//! (a failed one among them) marked in both.

#[path = "common/app.rs"]
mod app_support;

use app_support::{fixture, harness, settle_then};
use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use trace_inspector::analysis::SpanKind;
use trace_inspector::app::{Command, Screen, State, ThemeChoice, TraceApp};

const SMALL: [f32; 2] = [1000.0, 700.0];
const LARGE: [f32; 2] = [1400.0, 900.0];
const FULL_HD: [f32; 2] = [1920.0, 1080.0];
const TASK: &str = "Refactor the payment module";

/// Runs frames until the app's background jobs are done; panels slide open over a few frames.
fn settle(h: &mut Harness<'_, TraceApp>) {
    settle_then(h, 20);
}

fn opened(size: [f32; 2], state: State) -> Harness<'static, TraceApp> {
    let mut h = harness(size, state);
    h.state_mut().command(Command::Open(fixture()));
    settle(&mut h);
    h
}

fn session(size: [f32; 2], state: State) -> Harness<'static, TraceApp> {
    let mut h = opened(size, state);
    h.get_all_by_label(TASK).next().expect("a row with this task").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    h
}

fn chart_rect(h: &Harness<'_, TraceApp>) -> Rect {
    h.get_by_role_and_label(Role::Canvas, "Gantt chart").rect()
}

/// Selects the session's first LLM call (it carries raw input and output).
fn select_a_call(h: &mut Harness<'_, TraceApp>) {
    let span = {
        let view = h.state().session.as_ref().expect("session");
        view.session.timeline.spans.iter().position(|s| s.kind == SpanKind::Llm).expect("an llm call")
    };
    h.state_mut().command(Command::SelectSpan { span, scroll: true, zoom: false });
    settle(h);
    assert!(h.state().session.as_ref().and_then(|v| v.detail.as_ref()).is_some(), "detail loaded");
}

/// The rectangles of the top bar's widgets: those above the session's title, or above the
/// filter box on the sessions screen.
fn top_bar_widgets(h: &Harness<'_, TraceApp>, below: f32) -> Vec<(String, Rect)> {
    let roles = [Role::Button, Role::ComboBox, Role::Label, Role::CheckBox];
    let mut widgets = Vec::new();
    for role in roles {
        for node in h.query_all_by_role(role) {
            let rect = node.rect();
            if rect.bottom() <= below && rect.width() > 0.0 {
                widgets.push((node.accesskit_node().label().unwrap_or_default(), rect));
            }
        }
    }
    widgets
}

fn assert_no_overlap(widgets: &[(String, Rect)], width: f32) {
    assert!(widgets.len() >= 6, "{widgets:?}");
    for (i, (a, ra)) in widgets.iter().enumerate() {
        assert!(ra.left() >= 0.0 && ra.right() <= width + 0.5, "{a} is cut off: {ra:?}");
        for (b, rb) in &widgets[i + 1..] {
            // Touching edges are fine, half a point of rounding too, and a widget within
            // another (a combo box's label) is part of it.
            let nested = ra.contains_rect(*rb) || rb.contains_rect(*ra);
            assert!(nested || !ra.shrink(0.5).intersects(rb.shrink(0.5)), "{a} {ra:?} overlaps {b} {rb:?}");
        }
    }
}

fn title_top(h: &Harness<'_, TraceApp>) -> f32 {
    h.get_all_by_label(TASK).map(|n| n.rect().top()).fold(f32::INFINITY, f32::min)
}

#[test]
fn the_chart_takes_most_of_the_width_and_the_top_bar_does_not_overlap() {
    for (size, share) in [(LARGE, 0.55), (SMALL, 0.5)] {
        let h = session(size, State::default());
        let chart = chart_rect(&h);
        // The bars are right of the label column's divider: over half the window.
        let divider = h.get_by_role_and_label(Role::Splitter, "Label column width").rect().center().x;
        let bars = chart.right() - divider;
        assert!(bars >= size[0] * share, "at {size:?} the bars are {bars} wide ({chart:?})");
        // The tree is the chart's label column, row for row; the summary is still there.
        let tree = h.get_all_by_role(Role::TreeItem).next().expect("a tree row").rect();
        assert!(tree.left() >= chart.left() - 0.5 && tree.right() <= divider + 0.5, "{tree:?} {chart:?}");
        assert!(divider - chart.left() >= 200.0, "a label column of {}", divider - chart.left());
        h.get_by_label("Totals");
        let widgets = top_bar_widgets(&h, title_top(&h));
        assert!(widgets.iter().any(|(l, _)| l.starts_with("Follow")), "{widgets:?}");
        assert!(widgets.iter().any(|(l, _)| l == "Timestamps mark"), "{widgets:?}");
        assert_no_overlap(&widgets, size[0]);
    }
}

#[test]
fn the_sessions_table_scrolls_to_its_last_column_in_a_small_window() {
    let h = opened(SMALL, State::default());
    let slow = |h: &Harness<'_, TraceApp>| {
        h.get_all_by_role(Role::Button)
            .find(|n| n.accesskit_node().label().is_some_and(|l| l.starts_with("Slow calls")))
            .map(|n| n.rect())
            .expect("the slow calls header")
    };
    let mut h = h;
    h.get_all_by_role(Role::Button)
        .find(|n| n.accesskit_node().label().is_some_and(|l| l.starts_with("Slow calls")))
        .expect("the slow calls header")
        .scroll_to_me();
    h.run_steps(5);
    let rect = slow(&h);
    assert!(rect.left() >= 0.0 && rect.right() <= SMALL[0], "{rect:?}");
    // The models panel leaves the table most of the window.
    let models = h.get_by_label("Models in this file").rect();
    assert!(models.left() >= SMALL[0] * 0.5, "{models:?}");
    let filter_top = h.get_by_label("Filter:").rect().top();
    assert_no_overlap(&top_bar_widgets(&h, filter_top), SMALL[0]);
}

#[test]
fn the_detail_panel_opens_on_selection_with_one_scroll_bar() {
    for size in [LARGE, SMALL] {
        let mut h = session(size, State::default());
        // Nothing selected: no detail panel, the chart runs down to the status bar.
        assert!(h.state().session.as_ref().is_some_and(|v| v.selected.is_none()));
        assert!(h.query_by_label_contains("Select a bar").is_none());
        let before = chart_rect(&h);
        assert!(before.bottom() > size[1] - 60.0, "at {size:?}: {before:?}");
        select_a_call(&mut h);
        let after = chart_rect(&h);
        assert!(after.bottom() < size[1] * 0.7, "at {size:?} the detail panel opened: {after:?}");
        let id = h.state().session.as_ref().and_then(|v| v.detail.as_ref()).map(|d| d.id.clone()).expect("detail");
        let id_rect = h.get_by_label(&id).rect();
        assert!(id_rect.top() > after.bottom(), "the detail shows below the chart");
        // The panel scrolls as one: the raw input and output have no scroll bars of their own.
        let bars: Vec<Rect> = h
            .query_all_by_role(Role::ScrollBar)
            .map(|n| n.rect())
            .filter(|r| r.top() > after.bottom() && r.left() < after.right())
            .collect();
        assert_eq!(bars.len(), 1, "at {size:?}: {bars:?}");
        assert!(h.query_all_by_role(Role::MultilineTextInput).count() >= 2, "raw input and output show");
    }
}

/// A few hundred pixels of slack: text anti-aliasing may differ between GPU drivers.
fn snapshot_options() -> egui_kittest::SnapshotOptions {
    egui_kittest::SnapshotOptions::new().max_failed_pixels(400)
}

/// The status bar shows load times and the path, which vary from run to run.
/// The pointer rests there first, so that it lights up no scroll bar or resize handle; the mask
/// covers the last frame only, so it comes right before the snapshot.
fn snapshot(h: &mut Harness<'_, TraceApp>, size: [f32; 2], name: &str) {
    h.hover_at(egui::pos2(size[0] - 5.0, size[1] - 5.0));
    h.run_steps(10);
    h.mask(Rect::from_min_max(egui::pos2(0.0, size[1] - 40.0), egui::pos2(size[0], size[1])));
    h.snapshot_options(name, &snapshot_options());
}

#[test]
fn snapshot_of_the_session_screen_small_and_dark() {
    let mut h = session(SMALL, State { theme: ThemeChoice::Dark, ..State::default() });
    snapshot(&mut h, SMALL, "session_small_dark");
}

#[test]
fn snapshot_of_the_session_screen_small_and_light_with_slow_calls() {
    // Above 5 s, the session's two failed calls (9 s and 14 s) are slow too: red bars ringed.
    let state = State { theme: ThemeChoice::Light, slow_threshold_ms: Some(5000.0), ..State::default() };
    let mut h = session(SMALL, state);
    let view = h.state().session.as_ref().expect("session");
    let failed_slow = (0..view.session.timeline.spans.len())
        .filter(|&i| view.slow.get(i).copied().unwrap_or(false) && view.session.timeline.spans[i].failed)
        .count();
    assert_eq!(failed_slow, 2, "both failed calls are slow");
    snapshot(&mut h, SMALL, "session_small_light_slow");
}

#[test]
fn snapshot_of_the_session_screen_full_hd_and_dark() {
    let mut h = session(FULL_HD, State { theme: ThemeChoice::Dark, ..State::default() });
    let divider = h.get_by_role_and_label(Role::Splitter, "Label column width").rect().center().x;
    let bars = chart_rect(&h).right() - divider;
    assert!(bars >= FULL_HD[0] * 0.6, "the bars are {bars} wide");
    snapshot(&mut h, FULL_HD, "session_full_hd_dark");
}

#[test]
fn snapshot_of_the_sessions_screen_small_and_light() {
    let mut h = opened(SMALL, State { theme: ThemeChoice::Light, ..State::default() });
    snapshot(&mut h, SMALL, "sessions_small_light");
}

#[test]
fn snapshot_of_the_session_screen_light_with_a_selection() {
    let mut h = session(LARGE, State { theme: ThemeChoice::Light, ..State::default() });
    select_a_call(&mut h);
    snapshot(&mut h, LARGE, "session_light_selected");
}

#[test]
fn a_row_chosen_far_down_stays_in_view_as_the_detail_panel_opens() {
    let mut h = session(SMALL, State::default());
    // The last timed row of the session, chosen as the summary's lists choose: select, scroll, zoom.
    let span = {
        let view = h.state().session.as_ref().expect("session");
        let spans = &view.session.timeline.spans;
        *view.rows.iter().rev().find(|&&s| spans[s].timed && !spans[s].instant).expect("a timed row")
    };
    h.state_mut().command(Command::SelectSpan { span, scroll: true, zoom: true });
    settle(&mut h);
    let chart = chart_rect(&h);
    assert!(chart.bottom() < SMALL[1] * 0.7, "the detail panel opened: {chart:?}");
    let selected: Vec<Rect> = h
        .get_all_by_role(Role::TreeItem)
        .filter(|n| n.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True))
        .map(|n| n.rect())
        .collect();
    assert_eq!(selected.len(), 1, "the selected row is drawn");
    assert!(chart.contains_rect(selected[0]), "{:?} within {chart:?}", selected[0]);
}
