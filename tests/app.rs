//! The real app struct driven by egui_kittest on the fixture: open, sort, open a session, select,
//! collapse, search, copy, and the error screen. A few image snapshots of the main screens.

#[path = "common/app.rs"]
mod app_support;

use std::path::PathBuf;

use app_support::{copied_text, fixture, settle_then};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use trace_inspector::analysis::SpanKind;
use trace_inspector::app::{Command, Screen, State, TraceApp};
use trace_inspector::format::{format_cost, format_count};
use trace_inspector::ui::sessions_table::SortColumn;

fn harness() -> Harness<'static, TraceApp> {
    app_support::harness([1400.0, 900.0], State::default())
}

fn settle(h: &mut Harness<'_, TraceApp>) {
    settle_then(h, 3);
}

fn opened() -> Harness<'static, TraceApp> {
    let mut h = harness();
    h.state_mut().command(Command::Open(fixture()));
    settle(&mut h);
    h
}

#[test]
fn opening_a_file_lists_its_sessions() {
    let h = opened();
    let app = h.state();
    assert_eq!(app.screen, Screen::Sessions);
    let file = app.file.as_ref().expect("file open");
    assert_eq!(file.list.sessions.len(), 40);
    assert_eq!(file.list.file.trace_count, 1582);
    assert_eq!(app.table.order().len(), 40);
    assert!(app.state.recent.first().is_some_and(|p| p.ends_with("skynette-40.db")));
    assert!(h.get_all_by_label("Research vector databases").count() >= 2);
    assert!(h.query_by_label("40 of 40 sessions shown").is_some(), "the count is right from the first frame");
}

#[test]
fn the_totals_line_sums_the_sessions_shown() {
    let mut h = opened();
    let line = |h: &Harness<'_, TraceApp>| {
        let rows = &h.state().file.as_ref().expect("file open").list.sessions;
        let shown: Vec<_> = h.state().table.order().iter().map(|&i| &rows[i]).collect();
        let events: u64 = shown.iter().map(|r| r.event_count).sum();
        let tokens_in: i64 = shown.iter().map(|r| r.total_input_tokens).sum();
        let tokens_out: i64 = shown.iter().map(|r| r.total_output_tokens).sum();
        let cost: f64 = shown.iter().map(|r| r.total_cost_usd).sum();
        let errors: u64 = shown.iter().map(|r| r.error_count).sum();
        (
            shown.len(),
            format!(
                "{} events · {} in / {} out tokens · {} · {errors} errors",
                format_count(i64::try_from(events).expect("fits")),
                format_count(tokens_in),
                format_count(tokens_out),
                format_cost(cost)
            ),
        )
    };
    let (count, all) = line(&h);
    assert_eq!(count, 40);
    assert!(all.starts_with("1,582 events · "), "{all}");
    h.get_by_label(&all);
    // A filter narrows the rows and the sums with them.
    h.state_mut().table.filter = "Research vector databases".to_owned();
    h.run_steps(3);
    let (count, some) = line(&h);
    assert!((2..40).contains(&count), "{count}");
    assert_ne!(some, all);
    h.get_by_label(&some);
}

#[test]
fn the_models_panel_shows_the_files_models_and_hides_on_its_toggle() {
    let mut h = opened();
    let models = trace_inspector::store::Store::open(&fixture()).expect("open").model_usage().expect("models");
    assert!(models.len() >= 2);
    assert_eq!(h.state().file.as_ref().and_then(|f| f.models.as_deref()), Some(models.as_slice()));
    h.get_by_label("Models in this file");
    for m in &models {
        h.get_by_label(&m.model);
        assert!(h.query_all_by_label(&format_cost(m.cost_usd)).count() >= 1, "{}", m.model);
    }
    h.get_by_label("Models").click();
    h.run_steps(3);
    assert!(!h.state().state.show_models);
    assert!(h.query_by_label("Models in this file").is_none());
    assert!(h.query_by_label(&models[0].model).is_none());
}

#[test]
fn every_column_sorts_by_click_and_reverses_on_the_second() {
    let mut h = opened();
    for column in SortColumn::ALL {
        let mut first_direction = None;
        for click in 0..2 {
            let header = h
                .get_all_by_role(egui::accesskit::Role::Button)
                .find(|n| n.accesskit_node().label().is_some_and(|l| l.starts_with(column.title())))
                .expect("a header button");
            header.click();
            h.run_steps(2);
            let app = h.state();
            let sort = app.state.sort;
            assert_eq!(sort.column, column);
            let rows = &app.file.as_ref().expect("file").list.sessions;
            let slow = app.file.as_ref().and_then(|f| f.slow.as_ref());
            let key = |i: usize| -> f64 {
                let r = &rows[i];
                match column {
                    SortColumn::Started => r.started.map_or(f64::MIN, |t| t.0 as f64),
                    SortColumn::Task | SortColumn::Status => 0.0,
                    SortColumn::Events => r.event_count as f64,
                    SortColumn::Duration => r.duration_ms.unwrap_or(-1.0),
                    SortColumn::TokensIn => r.total_input_tokens as f64,
                    SortColumn::TokensOut => r.total_output_tokens as f64,
                    SortColumn::Cost => r.total_cost_usd,
                    SortColumn::Errors => r.error_count as f64,
                    SortColumn::Slow => {
                        slow.and_then(|s| s.slow_by_session.get(r.id.as_str())).copied().unwrap_or(0) as f64
                    }
                    SortColumn::Loops => {
                        let loops = app.file.as_ref().and_then(|f| f.loops.get(&r.id)).expect("counted");
                        f64::from(loops.loops)
                    }
                }
            };
            let order = app.table.order();
            let text = |i: usize| {
                if column == SortColumn::Task { rows[i].task.to_lowercase() } else { rows[i].status.clone() }
            };
            // Running sessions have no duration yet: they come last whichever way it sorts.
            let order: Vec<usize> = if column == SortColumn::Duration {
                let running = order.iter().position(|&i| rows[i].duration_ms.is_none()).unwrap_or(order.len());
                assert!(order[running..].iter().all(|&i| rows[i].duration_ms.is_none()), "running sessions last");
                order[..running].to_vec()
            } else {
                order.to_vec()
            };
            for w in order.windows(2) {
                if matches!(column, SortColumn::Task | SortColumn::Status) {
                    let (a, b) = (text(w[0]), text(w[1]));
                    assert!(if sort.ascending { a <= b } else { a >= b }, "{column:?} click {click}: {a} / {b}");
                } else {
                    let (a, b) = (key(w[0]), key(w[1]));
                    assert!(if sort.ascending { a <= b } else { a >= b }, "{column:?} click {click}: {a} / {b}");
                }
            }
            // The second click reverses the first.
            match first_direction {
                None => first_direction = Some(sort.ascending),
                Some(first) => assert_ne!(first, sort.ascending, "{column:?}"),
            }
        }
    }
}

#[test]
fn keyboard_opens_a_session_and_escape_goes_back() {
    let mut h = opened();
    h.key_press(egui::Key::ArrowDown);
    h.key_press(egui::Key::ArrowDown);
    h.step();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let app = h.state();
    assert_eq!(app.screen, Screen::Session);
    let view = app.session.as_ref().expect("session");
    // Newest first: the second row is the second newest session.
    assert_eq!(view.session.data.row.id, "22d3da9a-c9ea-58a3-0f83-aadd22173b94");
    assert_eq!(view.session.data.events.len(), 52);
    assert!(h.query_all_by_label("Refactor the payment module").count() >= 1);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Sessions);
}

fn open_session(h: &mut Harness<'_, TraceApp>, task: &str) {
    h.get_all_by_label(task).next().expect("a row with this task").click();
    settle(h);
    assert_eq!(h.state().screen, Screen::Session);
}

#[test]
fn selecting_a_tree_row_shows_its_detail_with_raw_io() {
    let mut h = opened();
    open_session(&mut h, "Answer the support ticket #4411");
    let view = h.state().session.as_ref().expect("session");
    // The first LLM call of the session.
    let span = view.session.timeline.spans.iter().position(|s| s.kind == SpanKind::Llm).expect("an llm call");
    let event = &view.session.data.events[view.session.timeline.spans[span].event];
    let (id, raw_io) = (event.id.clone(), event.info.raw_io);
    assert!(raw_io, "fixture messages have raw input");
    let title = h
        .get_all_by_role(egui::accesskit::Role::TreeItem)
        .find(|n| n.accesskit_node().label().is_some_and(|l| l.starts_with("message")))
        .map(|n| n.accesskit_node().label().unwrap_or_default())
        .expect("a message row in the tree");
    h.get_by_label(&title).click();
    settle(&mut h);
    let view = h.state().session.as_ref().expect("session");
    assert_eq!(view.selected, Some(span));
    let detail = view.detail.as_ref().expect("detail loaded");
    assert_eq!(detail.id, id);
    let raw = detail.field("raw_input").expect("raw_input column");
    assert_eq!(raw.storage, "text");
    assert_eq!(raw.size_bytes, raw.value.as_ref().map_or(0, |v| v.len() as u64), "small enough to load whole");
    assert!(raw.size_bytes > 0);
    h.get_by_label(&id.to_string());
    // `data` comes with the detail and shows as a JSON tree: a message's role.
    assert!(detail.field("data").and_then(|f| f.value.as_deref()).is_some_and(|d| d.contains("\"role\"")));
    h.get_by_label("role: ");
}

#[test]
fn collapsing_a_node_hides_its_subtree() {
    let mut h = opened();
    open_session(&mut h, "Answer the support ticket #4411");
    let before = h.state().session.as_ref().expect("session").rows.len();
    let toggle = h
        .get_all_by_role(egui::accesskit::Role::DisclosureTriangle)
        .find(|n| n.accesskit_node().label().is_some_and(|l| l.starts_with("Collapse step_started")))
        .map(|n| n.accesskit_node().label().unwrap_or_default())
        .expect("a step toggle");
    h.get_all_by_label(&toggle).next().expect("toggle").click();
    h.run_steps(2);
    let view = h.state().session.as_ref().expect("session");
    let collapsed = view.collapsed.iter().position(|c| *c).expect("one collapsed span");
    let hidden = view.session.timeline.spans[collapsed].descendants(collapsed);
    assert!(hidden > 0);
    assert_eq!(view.rows.len(), before - hidden);
    assert!(view.rows.iter().all(|&r| r <= collapsed || r >= view.session.timeline.spans[collapsed].subtree_end()));
}

#[test]
fn search_highlights_hits_and_only_matches_filters() {
    let mut h = opened();
    open_session(&mut h, "Refactor the payment module");
    h.state_mut().session.as_mut().expect("session").search.text = "http_request".to_owned();
    h.get_by_label("Search").click();
    settle(&mut h);
    let view = h.state().session.as_ref().expect("session");
    // Events whose type or data name the word, counted by SQLite itself.
    let uri = format!("file:{}?immutable=1", fixture().display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let db = rusqlite::Connection::open_with_flags(uri, flags).expect("fixture opens");
    let expected: usize = db
        .query_row(
            "SELECT count(*) FROM agent_traces WHERE session_id = ?1 \
             AND (type LIKE '%http_request%' OR data LIKE '%http_request%')",
            [&view.session.data.row.id],
            |r| r.get(0),
        )
        .expect("count");
    assert!(expected > 0);
    assert!(view.search.hit_count >= expected, "{} < {expected}", view.search.hit_count);
    let hit_spans = view.search.hits.iter().filter(|h| **h).count();
    assert!(hit_spans > 0);
    // The first hit is selected.
    assert!(view.selected.is_some_and(|s| view.search.hits[s]));
    h.get_by_label("Only matches").click();
    h.run_steps(2);
    let view = h.state().session.as_ref().expect("session");
    // Only hits and their ancestors remain.
    assert!(view.rows.len() < view.session.timeline.spans.len());
    for &r in &view.rows {
        let span_end = view.session.timeline.spans[r].subtree_end();
        assert!((r..span_end).any(|d| view.search.hits[d]), "row {r} neither a hit nor above one");
    }
}

#[test]
fn copy_summary_puts_the_markdown_on_the_clipboard() {
    let mut h = opened();
    open_session(&mut h, "Refactor the payment module");
    h.get_by_label("Copy summary").click();
    h.step();
    let text = copied_text(&h).expect("a copy command");
    assert!(text.starts_with("## Agent session: Refactor the payment module"), "{text}");
    assert!(text.contains("| Status | completed |"));
    assert!(text.contains("| Tokens | 18,405 (16,124 in / 2,281 out) |"));
    assert!(text.contains("### Tools"));
    assert!(text.contains("### Slowest calls"));
    // The shortcut does the same.
    h.run_steps(2);
    // One event, so the step is one frame and its output is the frame that copied.
    let modifiers = egui::Modifiers { ctrl: true, shift: true, command: true, ..Default::default() };
    h.event(egui::Event::Key { key: egui::Key::C, physical_key: None, pressed: true, repeat: false, modifiers });
    h.step();
    assert_eq!(copied_text(&h).as_deref(), Some(text.as_str()));
}

#[test]
fn a_file_that_is_not_sqlite_shows_one_error_line_and_keeps_the_open_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("notes.db");
    std::fs::write(&bad, "hello, this is text\n").expect("write");
    let mut h = harness();
    h.state_mut().command(Command::Open(bad.clone()));
    settle(&mut h);
    let error = h.state().error.clone().expect("an error");
    assert!(error.contains("notes.db") && error.contains("not an SQLite database"), "{error}");
    h.get_by_label_contains("not an SQLite database");
    // With a file open, a failed open keeps it.
    h.state_mut().command(Command::Open(fixture()));
    settle(&mut h);
    h.state_mut().command(Command::Open(bad));
    settle(&mut h);
    assert!(h.state().file.as_ref().is_some_and(|f| f.path.ends_with("skynette-40.db")));
    assert!(h.state().error.as_deref().is_some_and(|e| e.contains("not an SQLite database")));
}

#[test]
fn snapshots_of_the_main_screens() {
    let mut h = harness();
    // The status bar shows load times and the path, which vary from run to run. A mask covers
    // the frame drawn last only, so it goes right before each picture.
    let status_bar = egui::Rect::from_min_max(egui::pos2(0.0, 860.0), egui::pos2(1400.0, 900.0));
    // A few hundred pixels of slack: text anti-aliasing may differ between GPU drivers.
    let options = egui_kittest::SnapshotOptions::new().max_failed_pixels(400);
    h.run_steps(10);
    h.mask(status_bar);
    h.snapshot_options("welcome", &options);
    h.state_mut().command(Command::Open(PathBuf::from("tests/data/skynette-40.db")));
    settle(&mut h);
    h.run_steps(10);
    h.mask(status_bar);
    h.snapshot_options("sessions", &options);
    open_session(&mut h, "Refactor the payment module");
    h.run_steps(10);
    h.mask(status_bar);
    h.snapshot_options("session", &options);
}

#[test]
fn clicking_a_gantt_bar_selects_it_and_shows_its_detail() {
    let mut h = opened();
    open_session(&mut h, "Refactor the payment module");
    h.run_steps(3);
    let (pos, span, id) = {
        let view = h.state().session.as_ref().expect("session");
        let spans = &view.session.timeline.spans;
        // The first tool call shown: a bar wide enough to hit.
        let (row, &span) = view
            .rows
            .iter()
            .enumerate()
            .find(|(_, s)| spans[**s].kind == SpanKind::Tool && spans[**s].duration_ms() > 500.0)
            .expect("a tool call row");
        let pos = view.gantt.bar_center(&spans[span], row, 20.0).expect("the bar is on screen");
        // The detail shows the call's result, which carries the raw output.
        let result = spans[span].end_event.get().expect("a tool call has a result");
        (pos, span, view.session.data.events[result].id.clone())
    };
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    settle(&mut h);
    let view = h.state().session.as_ref().expect("session");
    assert_eq!(view.selected, Some(span));
    assert_eq!(view.detail.as_ref().map(|d| d.id.as_str()), Some(&*id.as_str()));
    // The detail panel shows the trace's id and its raw output size.
    h.get_by_label(&id.to_string());
    assert!(h.query_all_by_label_contains("bytes").count() >= 1);
    // The click gave the chart keyboard focus; the app's keys still work: down moves the
    // selection to the next row, and / goes to the search box.
    let next = {
        let view = h.state().session.as_ref().expect("session");
        let row = view.rows.iter().position(|&r| r == span).expect("selected row");
        view.rows[row + 1]
    };
    h.key_press(egui::Key::ArrowDown);
    settle(&mut h);
    assert_eq!(h.state().session.as_ref().and_then(|v| v.selected), Some(next));
    h.key_press(egui::Key::Slash);
    h.run_steps(2);
    assert!(h.ctx.memory(|m| m.has_focus(egui::Id::unique("session-search"))));
}

#[test]
fn slash_focuses_the_search_box_and_enter_searches() {
    let mut h = opened();
    open_session(&mut h, "Refactor the payment module");
    // A real key press brings the key and its text in one frame.
    h.event(egui::Event::Key {
        key: egui::Key::Slash,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.input_mut().events.push(egui::Event::Text("/".to_owned()));
    h.step();
    h.run_steps(2);
    assert!(h.ctx.memory(|m| m.has_focus(egui::Id::unique("session-search"))), "search box focused");
    h.event(egui::Event::Text("timeout".to_owned()));
    h.step();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let view = h.state().session.as_ref().expect("session");
    assert_eq!(view.search.searched.as_deref(), Some("timeout"));
    assert!(view.search.hit_count >= 2, "{}", view.search.hit_count);
}

/// The slow threshold has one home, the saved state: its box shows it in every session opened,
/// after a restart too, and what is typed there changes it and the slow flags at once.
#[test]
fn the_slow_threshold_box_shows_the_saved_threshold_in_every_session() {
    let state = State { slow_threshold_ms: Some(2500.0), ..State::default() };
    let mut h = app_support::harness([1400.0, 900.0], state);
    h.state_mut().command(Command::Open(fixture()));
    settle(&mut h);
    let sessions: Vec<String> =
        h.state().file.as_ref().expect("file").list.sessions.iter().take(2).map(|s| s.id.clone()).collect();
    for id in &sessions {
        h.state_mut().command(Command::OpenSession(id.clone()));
        settle(&mut h);
        let view = h.state().session.as_ref().expect("session");
        assert_eq!(&view.session.data.row.id, id);
        assert_eq!(view.threshold_text, "2500", "the box shows the saved threshold");
        // Every finished tool call longer than the threshold is flagged.
        let events = &view.session.data.events;
        for (i, span) in view.session.timeline.spans.iter().enumerate() {
            let tool_call = trace_inspector::analysis::filter::is_slow_span(
                span,
                events,
                &trace_inspector::analysis::SlowIndex::default(),
                Some(2500.0),
            );
            if tool_call {
                assert!(view.slow[i], "span {i} is over the threshold but not flagged");
            }
        }
        h.state_mut().command(Command::Back);
        settle(&mut h);
    }
    // Typed: the state and the flags follow.
    h.state_mut().command(Command::OpenSession(sessions[0].clone()));
    settle(&mut h);
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Slow above ms:");
    assert_eq!(field.value().as_deref(), Some("2500"));
    field.focus();
    h.step();
    for _ in 0..4 {
        h.key_press(egui::Key::Backspace);
    }
    settle(&mut h);
    assert_eq!(h.state().state.slow_threshold_ms, None);
    let view = h.state().session.as_ref().expect("session");
    let index = h.state().file.as_ref().and_then(|f| f.slow.as_ref()).cloned().unwrap_or_default();
    for (i, span) in view.session.timeline.spans.iter().enumerate() {
        let slow = trace_inspector::analysis::filter::is_slow_span(span, &view.session.data.events, &index, None);
        assert_eq!(view.slow[i], slow, "span {i}: the flags follow the cleared threshold");
    }
}
