//! The app on a file with huge values on one line (a 2 MB task, a 100 KB model name, a 1 MB
//! tool name, a 1 MB event type, a 1 MB raw output): every line of the window stays one line
//! and bounded, the tree, chart and summary keep their room, and the whole values are a copy
//! or the detail view away.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone as _, Utc};
use egui::OutputCommand;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use trace_inspector::app::{Command, Screen, State, TraceApp};
use trace_inspector::cli::OpenArgs;
use trace_inspector::writer::{TraceWriter, format_timestamp};

const WIDTH: f32 = 1400.0;
const HEIGHT: f32 = 900.0;
/// The most characters any label of the window may hold: a cut line (300 and "…") with a few
/// words around it.
const LABEL_MAX_CHARS: usize = 400;

/// The huge values, built once per test.
struct Huge {
    task: String,
    model: String,
    tool: String,
    kind: String,
    raw_output: String,
}

impl Huge {
    fn new() -> Self {
        let repeat = |word: &str, bytes: usize| word.repeat(bytes / word.len());
        Self {
            task: format!("Huge task {}", repeat("lorem ipsum dolor sit amet ", 2 << 20)),
            model: format!("model-{}", "x".repeat(100 << 10)),
            tool: format!("tool-{}", repeat("name", 1 << 20)),
            kind: format!("kind_{}", "y".repeat(1 << 20)),
            raw_output: repeat("output ", 1 << 20),
        }
    }
}

/// id, session, type, seconds from the start, duration, parent, data, model, raw output.
type Row<'a> =
    (&'a str, &'a str, &'a str, i64, Option<f64>, Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

/// A file with one huge session and one ordinary one.
fn huge_file(dir: &Path, huge: &Huge) -> PathBuf {
    let path = dir.join("huge.db");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("time");
    let at = |s: i64| format_timestamp(t0 + TimeDelta::seconds(s));
    {
        let w = TraceWriter::create(&path).expect("create");
        w.start_session("s-huge", &huge.task, t0).expect("session");
        w.end_session("s-huge", "completed", t0 + TimeDelta::seconds(10)).expect("end");
        w.start_session("s-plain", "Ordinary task", t0 - TimeDelta::seconds(60)).expect("session");
        w.end_session("s-plain", "completed", t0 - TimeDelta::seconds(50)).expect("end");
    }
    // Straight SQL: the writer cuts raw I/O to 4,096 characters, as the reference does; other
    // writers do not.
    let conn = rusqlite::Connection::open(&path).expect("open");
    let tool_data = serde_json::json!({ "tool": huge.tool, "params": {} }).to_string();
    let result_data = serde_json::json!({ "tool": huge.tool, "success": true }).to_string();
    let rows: [Row<'_>; 7] = [
        ("t0", "s-huge", "trace_started", 0, None, None, "{}", None, None),
        ("t1", "s-huge", "message", 2, Some(1500.0), Some("t0"), "{}", Some(&huge.model), None),
        ("t2", "s-huge", "tool_called", 3, None, Some("t0"), &tool_data, None, None),
        ("t3", "s-huge", "tool_result", 5, Some(2000.0), Some("t2"), &result_data, None, Some(&huge.raw_output)),
        ("t4", "s-huge", &huge.kind, 6, Some(500.0), Some("t0"), "{}", None, None),
        ("p0", "s-plain", "trace_started", -60, None, None, "{}", None, None),
        ("p1", "s-plain", "message", -58, Some(900.0), Some("p0"), "{}", Some("gpt-4o"), None),
    ];
    for (id, session, kind, s, duration, parent, data, model, raw_output) in rows {
        let tokens = model.map(|_| 100i64);
        conn.execute(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data,
                 input_tokens, output_tokens, model_used, provider_used, cost_usd, raw_output, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?4)",
            rusqlite::params![
                id,
                session,
                kind,
                at(s),
                duration,
                parent,
                data,
                tokens,
                model,
                model.map(|_| "openai"),
                model.map(|_| 0.01),
                raw_output
            ],
        )
        .expect("insert");
    }
    path
}

fn harness() -> Harness<'static, TraceApp> {
    let h = Harness::builder()
        .with_size([WIDTH, HEIGHT])
        .with_max_steps(10_000)
        .build_eframe(|cc| TraceApp::with_state(&cc.egui_ctx, State::default(), OpenArgs::default()));
    h.ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    h
}

fn settle(h: &mut Harness<'_, TraceApp>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        h.step();
        if h.state().is_idle() {
            break;
        }
        assert!(Instant::now() < deadline, "background work did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(3);
}

fn copied_text(h: &Harness<'_, TraceApp>) -> Option<String> {
    h.output().platform_output.commands.iter().find_map(|c| match c {
        OutputCommand::CopyText(t) => Some(t.clone()),
        _ => None,
    })
}

/// What a node is called (a label's text is its value in AccessKit).
fn name(node: &egui_kittest::kittest::AccessKitNode<'_>) -> Option<String> {
    if node.role() == Role::Label { node.value() } else { node.label() }
}

/// The longest label in the window, in characters, and its start.
fn longest_label(h: &Harness<'_, TraceApp>) -> (usize, String) {
    longest_label_where(h, |_| true)
}

/// The longest label of the nodes whose rectangle passes `keep`.
fn longest_label_where(h: &Harness<'_, TraceApp>, keep: impl Fn(egui::Rect) -> bool) -> (usize, String) {
    h.query_all_by(|n| n.bounding_box().is_some())
        .filter(|n| keep(n.rect()))
        .filter_map(|n| name(&n.accesskit_node()))
        .map(|l| (l.chars().count(), l.chars().take(40).collect()))
        .max()
        .unwrap_or_default()
}

/// The one node whose label starts with `prefix` and has `role`.
fn node_rect(h: &Harness<'_, TraceApp>, role: Role, prefix: &str) -> egui::Rect {
    let mut found = h
        .get_all_by_role(role)
        .filter(|n| name(&n.accesskit_node()).is_some_and(|l| l.starts_with(prefix)))
        .map(|n| n.rect());
    found.next().unwrap_or_else(|| {
        let near: Vec<String> = h
            .query_all_by(|_| true)
            .filter_map(|n| {
                let node = n.accesskit_node();
                name(&node).map(|l| format!("{:?} {}", node.role(), l.chars().take(40).collect::<String>()))
            })
            .filter(|l| !l.is_empty())
            .collect();
        panic!("no {role:?} starting with {prefix:?}; there are {near:?}")
    })
}

/// Clicks the "Copy" button on the same line as `rect`, after it.
fn click_copy_beside(h: &mut Harness<'_, TraceApp>, rect: egui::Rect) {
    h.get_all_by_role_and_label(Role::Button, "Copy")
        .find(|n| {
            let r = n.rect();
            r.left() >= rect.right() - 1.0 && (r.center().y - rect.center().y).abs() < rect.height()
        })
        .expect("a Copy button beside the value")
        .click_accesskit();
    // One step: its output is the frame that copied.
    h.step();
}

#[test]
fn huge_values_stay_one_bounded_line_and_the_views_keep_their_room() {
    let huge = Huge::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = huge_file(dir.path(), &huge);
    assert!(std::fs::metadata(&path).expect("size").len() > 5 << 20);
    let mut h = harness();
    h.state_mut().command(Command::Open(path));
    settle(&mut h);
    // The model table is counted after the list.
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().file.as_ref().is_none_or(|f| f.models.is_none()) {
        assert!(Instant::now() < deadline, "the models were never counted");
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.run_steps(3);
    assert_eq!(h.state().screen, Screen::Sessions);
    assert!(h.state().file.as_ref().is_some_and(|f| f.models.as_ref().is_some_and(|m| m.len() == 2)));

    // The sessions table: the huge task is one row high, its text cut; the other row is whole.
    let (longest, start) = longest_label(&h);
    assert!(longest <= LABEL_MAX_CHARS, "a label of {longest} characters: {start}…");
    let task_cell = node_rect(&h, Role::Label, "Huge task lorem ipsum");
    assert!(task_cell.height() <= 24.0, "task cell {task_cell:?}");
    assert!(task_cell.right() <= WIDTH, "task cell {task_cell:?}");
    h.get_by_label("Ordinary task");

    // The models panel keeps its width: the name is elided, the numbers stay in the window.
    let heading = h.get_by_label("Models in this file").rect();
    assert!(heading.left() > WIDTH - 420.0 && heading.left() < WIDTH - 340.0, "models panel at {heading:?}");
    let name = node_rect(&h, Role::Label, "model-xxxx");
    assert!(name.left() >= heading.left() - 1.0 && name.width() < 200.0, "model name {name:?}");
    assert!(name.height() <= 24.0, "model name {name:?}");
    for column in ["Calls", "In", "Out", "Cost"] {
        let r = h.get_by_role_and_label(Role::Label, column).rect();
        assert!(r.right() <= WIDTH && r.left() > name.left(), "{column} header at {r:?}");
    }
    let cost = h.get_all_by_label("$0.0100").map(|n| n.rect()).find(|r| r.left() > heading.left()).expect("cost cell");
    assert!(cost.right() <= WIDTH, "cost cell {cost:?}");
    // The whole name is one click away.
    click_copy_beside(&mut h, name);
    assert_eq!(copied_text(&h).map(|t| t.len()), Some(huge.model.len()));
    assert_eq!(copied_text(&h).as_deref(), Some(huge.model.as_str()));
    h.run_steps(2);

    // The session: the title is one line; tree, chart and summary keep the window.
    h.get_by_label_contains("Huge task lorem ipsum").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    let title = node_rect(&h, Role::Label, "Huge task lorem ipsum");
    assert!(title.height() <= 36.0 && title.top() < 60.0, "title {title:?}");
    assert!(title.right() <= WIDTH - 300.0, "the title leaves the summary panel alone: {title:?}");
    let status = h.get_by_label("completed").rect();
    assert!((status.center().y - title.center().y).abs() < 8.0, "status beside the title: {status:?}");
    h.get_by_label("s-huge");
    let (longest, start) = longest_label(&h);
    assert!(longest <= LABEL_MAX_CHARS, "a label of {longest} characters: {start}…");

    let first_row = node_rect(&h, Role::TreeItem, "trace_started");
    // Under the title, the toolbar (two lines at this width), the overview and the axis.
    assert!(first_row.top() < 190.0 && first_row.height() <= 21.0, "first tree row {first_row:?}");
    let tree_rows: Vec<egui::Rect> = h.get_all_by_role(Role::TreeItem).map(|n| n.rect()).collect();
    assert_eq!(tree_rows.len(), 4, "root, message, tool call (a pair) and the 1 MB type");
    assert!(tree_rows.iter().all(|r| r.height() <= 21.0 && r.bottom() < HEIGHT), "{tree_rows:?}");
    let kind_row = node_rect(&h, Role::TreeItem, "kind_yyyy");
    assert!(kind_row.width() < WIDTH / 2.0, "the 1 MB type's row {kind_row:?}");
    let chart = h.get_by_label("Gantt chart").rect();
    assert!(chart.top() < 120.0 && chart.height() > 200.0 && chart.width() > 500.0, "chart {chart:?}");
    // The summary panel starts narrower than its tables (the chart needs the room) and
    // scrolls sideways to their numbers.
    let totals = h.get_by_label("Totals").rect();
    assert!(totals.top() < 80.0 && totals.left() > WIDTH - 340.0, "summary {totals:?}");
    let tools = h.get_by_label("Tools").rect();
    let tool = node_rect(&h, Role::Label, "tool-namename");
    assert!(tool.top() > tools.top() && tool.height() <= 24.0 && tool.right() < WIDTH, "tool name {tool:?}");
    h.hover_at(tools.center());
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(-250.0, 0.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(30);
    let p95 = h.get_all_by_label_contains("p95").next().expect("a p95 column").rect();
    assert!(p95.left() > totals.left() && p95.right() < WIDTH, "the tools table's numbers are reachable: {p95:?}");

    // The whole task is one click away.
    click_copy_beside(&mut h, title);
    assert_eq!(copied_text(&h).map(|t| t.len()), Some(huge.task.len()));

    // The detail view shows a cut start of the raw output, says its real size, copies it all.
    let result_span = {
        let view = h.state().session.as_ref().expect("session");
        view.session
            .timeline
            .spans
            .iter()
            .position(|s| s.end_event.get().is_some() && s.label(&view.session.data.events).starts_with("tool-"))
            .expect("tool span")
    };
    h.state_mut().command(Command::SelectSpan { span: result_span, scroll: true, zoom: false });
    settle(&mut h);
    h.get_by_label_contains("showing 64.0 KiB of 1.0 MiB");
    // The detail heading: the type and the label, one line.
    let heading = node_rect(&h, Role::Label, "tool_result");
    assert!(heading.height() <= 36.0 && heading.top() > HEIGHT / 2.0, "detail heading {heading:?}");
    // Above the detail panel every label is one bounded line; in it, values wrap, and a string
    // of `data` shows its first 2,000 characters.
    let (longest, start) = longest_label_where(&h, |r| r.bottom() < heading.top());
    assert!(longest <= LABEL_MAX_CHARS, "a label of {longest} characters: {start}…");
    let (longest, start) = longest_label(&h);
    assert!(longest <= 2_010, "a label of {longest} characters: {start}…");
    let detail = h.state().session.as_ref().and_then(|v| v.detail.as_ref()).expect("detail loaded");
    let raw = detail.field("raw_output").and_then(|f| f.value.clone()).expect("raw output");
    assert_eq!(raw.len(), huge.raw_output.len());
    // The last copy button of the detail panel is the raw output's (it may be scrolled away).
    h.get_all_by_role_and_label(Role::Button, "Copy")
        .rfind(|n| n.rect().top() > HEIGHT / 2.0)
        .expect("the raw output's copy button")
        .click_accesskit();
    h.step();
    assert_eq!(copied_text(&h).map(|t| t.len()), Some(huge.raw_output.len()));
}
