//! The Trends screen on the fixture: counted off the UI thread, every session in a bucket, the
//! bucket width switchable, Back to the table; a range brushed on a chart narrowing the sessions
//! table and its models panel until it is cleared.

#[path = "common/app.rs"]
mod app_support;

use app_support::{fixture, opened_file, settle};
use egui::{Pos2, pos2};
use egui_kittest::kittest::Queryable as _;
use trace_inspector::analysis::trends::Bucket;
use trace_inspector::app::{Command, Screen};

#[test]
fn trends_count_every_session_and_switch_bucket_width() {
    let mut h = opened_file(&fixture());
    let sessions = h.state().file.as_ref().map_or(0, |f| f.list.sessions.len()) as u64;
    h.get_by_label("Trends").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
    let started = |h: &egui_kittest::Harness<'_, trace_inspector::app::TraceApp>| {
        let t = &h.state().trends.as_ref().expect("trends").trends;
        (
            t.buckets.iter().map(|b| b.sessions.started).sum::<u64>() + t.bad.sessions_without_start,
            t.buckets.len(),
            t.by,
        )
    };
    // The fixture's 40 runs span about an hour: hourly buckets, every session in one of them.
    let (count, buckets, by) = started(&h);
    assert_eq!((count, by), (sessions, Bucket::Hour));
    assert!(buckets >= 1);
    h.get_by_label("Sessions started, by outcome");
    h.get_by_label("Cost, by model");
    h.get_by_label("Tokens in and out");
    h.get_by_label("Errors per session started");
    h.get_by_label("p95 call duration of the busiest tools (ms)");
    h.get_by_label(&format!("Tasks ({})", h.state().trends.as_ref().map_or(0, |t| t.tasks.len())));
    // By day: one bucket, the same sessions.
    h.get_by_label("day").click();
    settle(&mut h);
    let (count, buckets, by) = started(&h);
    assert_eq!((count, buckets, by), (sessions, 1, Bucket::Day));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Sessions);
    h.state_mut().command(Command::Trends(None));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
}

/// The ids of the sessions the table shows, sorted.
fn shown_ids(h: &egui_kittest::Harness<'_, trace_inspector::app::TraceApp>) -> Vec<String> {
    let app = h.state();
    let rows = &app.file.as_ref().expect("file").list.sessions;
    let mut ids: Vec<String> = app.table.order().iter().map(|&i| rows[i].id.clone()).collect();
    ids.sort();
    ids
}

/// Drags across the first chart from `from` to `to` (shares of its width), at mid-height.
fn brush(h: &mut egui_kittest::Harness<'_, trace_inspector::app::TraceApp>, from: f32, to: f32) {
    let rect = h.state().trends.as_ref().expect("trends").chart_rects[0];
    let at = |share: f32| -> Pos2 { pos2(rect.left() + rect.width() * share, rect.center().y) };
    h.hover_at(at(from));
    h.run_steps(1);
    h.drag_at(at(from));
    h.run_steps(1);
    for k in 1..=5 {
        h.hover_at(at(from + (to - from) * k as f32 / 5.0));
        h.run_steps(1);
    }
    h.drop_at(at(to));
    h.run_steps(2);
}

#[test]
fn a_brushed_range_narrows_the_table_and_its_models_until_cleared() {
    let mut h = opened_file(&fixture());
    h.state_mut().state.show_models = true;
    h.get_by_label("Trends").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
    // Two hourly buckets, 09:00 (37 sessions) and 10:00 (3): the bars stand at x = 0 and 1, the
    // chart spans −0.5 to 1.5 and a little more. The right quarter is the 10:00 bucket.
    brush(&mut h, 0.78, 0.95);
    let range = h.state().table.range().expect("a range was brushed");
    assert_eq!(range.since.rfc3339_micros(), "2026-11-20T10:00:00.000000Z");
    assert_eq!(range.until.rfc3339_micros(), "2026-11-20T11:00:00.000000Z");
    h.get_by_label("3 sessions started");
    h.get_by_label("Show in the table").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Sessions);
    // The three sessions started at 10:00:27, 10:02:21 and 10:03:32 (sqlite3 on the fixture).
    assert_eq!(
        shown_ids(&h),
        [
            "22d3da9a-c9ea-58a3-0f83-aadd22173b94",
            "d061f492-b704-77cd-43fa-9d31e5f34a65",
            "d8d2767f-d7f1-0a66-5c3b-4203547107a6"
        ]
    );
    h.get_by_label("3 of 40 sessions shown");
    // The models panel sums those three sessions' traces: gemini-2.0-flash in all three (15
    // calls), llama3.1:8b in one (5), claude-sonnet-4 in one (1 call, $0.007707).
    h.get_by_label("Models in the 3 sessions shown");
    let models = h.state().file.as_ref().and_then(|f| f.shown_models.clone()).expect("shown models").1;
    let by_name: Vec<(&str, u64, u64)> = models.iter().map(|m| (m.model.as_str(), m.calls, m.sessions)).collect();
    assert_eq!(by_name, [("claude-sonnet-4", 1, 1), ("gemini-2.0-flash", 15, 3), ("llama3.1:8b", 5, 1)]);
    assert!((models[0].cost_usd - 0.007707).abs() < 5e-7, "{}", models[0].cost_usd);
    // Esc clears the range: every session and the file's models again.
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert_eq!(h.state().table.range(), None);
    assert_eq!(h.state().screen, Screen::Sessions);
    assert_eq!(shown_ids(&h).len(), 40);
    h.get_by_label("Models in this file");

    // Across the whole chart: both buckets, every session; "Clear range" on Trends clears it.
    h.get_by_label("Trends").click();
    settle(&mut h);
    brush(&mut h, 0.05, 0.95);
    let range = h.state().table.range().expect("a range was brushed");
    assert_eq!(range.since.rfc3339_micros(), "2026-11-20T09:00:00.000000Z");
    assert_eq!(range.until.rfc3339_micros(), "2026-11-20T11:00:00.000000Z");
    h.get_by_label("40 sessions started");
    h.get_by_label("Clear range").click();
    h.run_steps(2);
    assert_eq!(h.state().table.range(), None);
}

#[test]
fn a_task_opens_its_runs_in_the_table_until_cleared() {
    let mut h = opened_file(&fixture());
    h.get_by_label("Trends").click();
    settle(&mut h);
    h.get_by_label("Summarize the open pull requests").click();
    h.run_steps(3);
    assert_eq!(h.state().screen, Screen::Sessions);
    // Its seven runs (sqlite3: SELECT id … WHERE task = 'Summarize the open pull requests').
    assert_eq!(
        shown_ids(&h),
        [
            "0a75442e-d2e5-be70-5148-651462bd5789",
            "12ef1e13-7e07-9526-bac1-4dae56253d55",
            "1c49883a-1fb9-2b6b-0bab-e939d68f996f",
            "97ae77bf-0db1-e50b-8873-13b7696604ab",
            "bbfcbb92-4f1e-45b4-fd59-1ad34ca99d8a",
            "cf45e5e2-6dd6-771b-57bd-3f5dd899795a",
            "d8d2767f-d7f1-0a66-5c3b-4203547107a6"
        ]
    );
    h.get_by_label("Runs of: Summarize the open pull requests");
    h.get_by_label("7 of 40 sessions shown");
    h.get_by_label("✕ runs").click();
    h.run_steps(3);
    assert_eq!(h.state().table.only(), None);
    assert_eq!(shown_ids(&h).len(), 40);
}

#[test]
fn two_runs_of_a_task_open_in_compare_and_its_sparkline_is_its_cost_per_run() {
    let mut h = opened_file(&fixture());
    h.get_by_label("Trends").click();
    settle(&mut h);
    let task = "Draft release notes";
    let (k, trend) = {
        let tasks = &h.state().trends.as_ref().expect("trends").tasks;
        let k = tasks.iter().filter(|g| g.runs >= 2).position(|g| g.task == task).expect("the task");
        let group = tasks.iter().find(|g| g.task == task).expect("the task");
        (k, group.cost_trend.iter().map(|p| p.cost_usd).collect::<Vec<f64>>())
    };
    // Its four runs' costs in time order (sqlite3: the sum of each run's trace costs).
    let want = [0.050165, 0.02478, 0.038949, 0.001617];
    assert_eq!(trend.len(), 4);
    for (got, want) in trend.iter().zip(want) {
        assert!((got - want).abs() < 5e-7, "{trend:?}");
    }
    h.get_all_by_label("Compare…").nth(k).expect("its Compare… button").click();
    h.run_steps(3);
    h.get_by_label(&format!("Compare two runs of: {task}"));
    // The newest run first, then the oldest: A is the older all the same.
    h.get_by_label("2026-11-20 09:57:22").click();
    h.run_steps(1);
    h.get_by_label("1 of 2 picked");
    h.get_by_label("2026-11-20 09:02:09").click();
    h.run_steps(1);
    h.get_by_label("Compare").click();
    settle(&mut h);

    assert_eq!(h.state().screen, Screen::Compare);
    let m = &h.state().compare.as_ref().expect("a comparison").model;
    assert_eq!(m.a.session.data.row.id, "9dd8baa9-bb93-1097-7bbe-c0b2b76eada8");
    assert_eq!(m.b.session.data.row.id, "9159bfe3-9002-5dad-4dcc-4a742fe8fe34");
    // Back returns to Trends.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Trends);
}

#[test]
fn snapshot_of_the_trends_screen_with_a_brushed_range() {
    let mut h = opened_file(&fixture());
    h.get_by_label("Trends").click();
    settle(&mut h);
    brush(&mut h, 0.78, 0.95);
    // Away from the charts: no hover tooltip in the picture.
    h.hover_at(pos2(700.0, 880.0));
    h.run_steps(10);
    // The status bar shows the path and load time, which vary from run to run.
    h.mask(egui::Rect::from_min_max(pos2(0.0, 860.0), pos2(1400.0, 900.0)));
    h.snapshot_options("trends", &egui_kittest::SnapshotOptions::new().max_failed_pixels(400));
}

/// Twelve hourly runs of three tickets costing $1 each but one costing $500, a run with no
/// usable start and no traces, and a trace with a negative cost.
fn file_with_an_outlier(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("outlier.db");
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch(
        "CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL,
           completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
         CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
           timestamp TEXT NOT NULL, duration_ms REAL, parent_trace_id TEXT, data TEXT NOT NULL,
           input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL,
           raw_input TEXT, raw_output TEXT, created_at TEXT NOT NULL);",
    )
    .expect("schema");
    for hour in 0..12 {
        let id = format!("s{hour:02}");
        let at = format!("2026-11-20T{hour:02}:00:00+00:00");
        let cost = if hour == 7 { 500.0 } else { 1.0 };
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES (?1, ?2, ?3, ?3, 'completed')",
            rusqlite::params![id, format!("answer ticket {}", 100 + hour % 3), at],
        )
        .expect("session");
        conn.execute(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, data, input_tokens, output_tokens,
               model_used, cost_usd, created_at) VALUES (?1, ?2, 'message', ?3, 900, '{}', 100, 10, 'gpt-4o', ?4, ?3)",
            rusqlite::params![format!("t{hour}"), id, at, cost],
        )
        .expect("trace");
    }
    conn.execute_batch(
        "INSERT INTO agent_trace_sessions VALUES ('nostart', 'summarise the inbox', 'nonsense', NULL, 'completed');
         INSERT INTO agent_traces (id, session_id, type, timestamp, data, model_used, cost_usd, created_at)
           VALUES ('neg', 's03', 'message', '2026-11-20T03:00:01+00:00', '{}', 'gpt-4o', -1, 'x');",
    )
    .expect("odd rows");
    path
}

#[test]
fn bad_values_are_counted_apart_and_an_outlier_leaves_the_axis_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = opened_file(&file_with_an_outlier(dir.path()));
    h.state_mut().command(Command::Trends(None));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
    let t = &h.state().trends.as_ref().expect("trends").trends;
    assert_eq!((t.by, t.buckets.len()), (Bucket::Hour, 12));
    assert_eq!((t.bad.sessions_without_start, t.bad.absurd_costs), (1, 1));
    let total: f64 = t.buckets.iter().map(|b| b.cost_usd).sum();
    assert!((total - 511.0).abs() < 1e-9, "the negative cost is left out of the sums: {total}");
    h.get_by_label("Counted apart: 1 sessions without a usable start time, 1 absurd costs");
    // The $500 hour is far above the others' $1: the cost axis stops short of it, and says so.
    h.get_by_label("▲ 1 far above the rest, off the axis");
    h.get_by_label("Fit axes to the usual values").click();
    h.run_steps(3);
    assert!(!h.state().trends.as_ref().expect("trends").usual_axes);
    assert!(h.query_by_label_contains("far above the rest").is_none(), "unticked, the axis takes every value");
}

#[test]
fn the_tools_chart_switches_to_p50_and_draws_the_tools_picked() {
    let mut h = opened_file(&fixture());
    h.state_mut().command(Command::Trends(None));
    settle(&mut h);
    let title = h.get_by_label("p95 call duration of the busiest tools (ms)");
    title.scroll_to_me();
    h.run_steps(3);
    h.get_by_label("p50").click();
    h.run_steps(3);
    assert!(h.state().trends.as_ref().expect("trends").tools_p50);
    h.get_by_label("p50 call duration of the busiest tools (ms)");
    // The fixture's tools, busiest first, as the stats count them.
    let tools: Vec<String> = {
        let t = &h.state().trends.as_ref().expect("trends").trends;
        let mut calls: Vec<(String, u64)> = Vec::new();
        for tool in t.buckets.iter().flat_map(|b| &b.tools) {
            match calls.iter_mut().find(|(n, _)| *n == tool.tool) {
                Some(c) => c.1 += tool.calls,
                None => calls.push((tool.tool.clone(), tool.calls)),
            }
        }
        calls.sort_by_key(|c| std::cmp::Reverse(c.1));
        calls.into_iter().map(|(n, _)| n).collect()
    };
    assert!(tools.len() >= 2, "{tools:?}");
    let shown = tools.len().min(5);
    h.get_by_label_contains(&format!("Tools ({shown} of {})", tools.len())).click();
    h.run_steps(3);
    // Untick the busiest: the others stay, and the title says they were picked.
    h.get_by_label_contains(&format!("{}  (", tools[0])).click();
    h.run_steps(3);
    assert_eq!(h.state().trends.as_ref().expect("trends").tools_shown.as_deref(), Some(&tools[1..shown][..]));
    h.get_by_label("p50 call duration of the tools picked (ms)");
}

#[test]
fn tasks_group_with_numbers_and_ids_stripped_on_request_and_the_tools_choice_stays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = file_with_an_outlier(dir.path());
    let data = trace_inspector::store::Store::open(&path).expect("open").trend_data().expect("trend data");
    let exact = trace_inspector::analysis::tasks::task_groups(&data.sessions, false);
    let stripped = trace_inspector::analysis::tasks::task_groups(&data.sessions, true);
    assert_eq!((exact.len(), stripped.len()), (4, 2), "three tickets and the inbox; a ticket and the inbox");
    let mut h = opened_file(&path);
    h.state_mut().command(Command::Trends(None));
    settle(&mut h);
    h.get_by_label(&format!("Tasks ({})", exact.len()));
    h.get_by_label("p50").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("p50").click();
    h.run_steps(2);
    assert!(h.state().trends.as_ref().expect("trends").tools_p50);
    h.get_by_label("Strip numbers and ids").click();
    settle(&mut h);
    let screen = h.state().trends.as_ref().expect("trends");
    assert!(screen.tasks_normalized);
    let groups: Vec<(&str, u64)> = screen.tasks.iter().map(|g| (g.task.as_str(), g.runs)).collect();
    let expected: Vec<(&str, u64)> = stripped.iter().map(|g| (g.task.as_str(), g.runs)).collect();
    assert_eq!(groups, expected);
    assert!(screen.tools_p50, "a new count keeps the tools chart's choice");
    h.get_by_label(&format!("Tasks ({})", stripped.len()));
}
