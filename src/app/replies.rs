//! Replies from the background jobs, turned into app state: a listed file, a loaded session,
//! search hits, a trace's detail, a change on disk, a failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::command::Command;
use super::screens::session::SessionScreen;
use super::{OpenFile, Screen, TraceApp};
use crate::analysis::AnalyzedSession;
use crate::analysis::diagnosis::Diagnosis;
use crate::ids;
use crate::jobs::{JobKind, Reply};
use crate::model::{SessionList, SessionRow};
use crate::session_model::{SessionModel, SlowRule};
use crate::ui::sessions_table::SessionsTable;

/// Up to this many traces in the file, loops are counted as soon as the list shows (a few
/// seconds of one core); above it, when the user sorts by them.
const AUTO_LOOP_COUNT_TRACES: u64 = 250_000;

impl TraceApp {
    pub(super) fn apply_replies(&mut self, ctx: &egui::Context) {
        for reply in self.jobs.poll() {
            match reply {
                Reply::Progress { message, .. } => self.progress = Some(message),
                Reply::Opened { path, list, elapsed, reload } => self.opened(ctx, path, list, elapsed, reload),
                Reply::Slow { path, index } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        f.slow = Some(index);
                        self.table.invalidate();
                    }
                    self.change_session(|_| {});
                    self.progress = None;
                }
                Reply::Models { path, models } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        // The file changed (or was read anew): its sessions' models are read again
                        // when a filtered list needs them.
                        if f.models.as_ref().is_some_and(|m| *m != models) {
                            f.session_models = None;
                            f.shown_models = None;
                        }
                        f.models = Some(models);
                    }
                }
                Reply::SessionModels { path, rows } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        f.session_models = Some(rows);
                        f.shown_models = None;
                    }
                }
                Reply::LoopCounts { path, counts, .. } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        f.loops.by_session.extend(counts.into_iter().map(|(id, events, c)| (id, (events, c))));
                        f.loops.generation += 1;
                    }
                }
                Reply::Session { session, diagnosis, elapsed, reload } => {
                    self.session_loaded(*session, *diagnosis, elapsed, reload);
                }
                Reply::Hits { hits, done } => {
                    let mut found = 0;
                    self.change_session(|m| {
                        m.search.hit_count += hits.len();
                        m.add_hits(hits.iter().map(|h| h.id.as_str()));
                        found = m.search.hit_count;
                    });
                    if done && self.session.is_some() {
                        self.progress = Some(if found == 1 {
                            "1 matching trace".to_owned()
                        } else {
                            format!("{found} matching traces")
                        });
                        if found > 0 && self.session.as_ref().is_some_and(|v| v.selected.is_none()) {
                            self.commands.push(Command::NextHit);
                        }
                    }
                }
                Reply::Detail { detail } => {
                    if let Some(view) = self.session.as_mut() {
                        view.model.detail = Some(*detail);
                    }
                }
                Reply::DemoReady { path } => self.commands.push(Command::Open(path)),
                Reply::Compared { model } => self.compared(*model),
                Reply::Trends { path, trends, tasks, regressions } => {
                    if self.file.as_ref().is_some_and(|f| f.path == path) {
                        self.progress = None;
                        let by = self.trends_by;
                        let mut screen = super::screens::trends::TrendsScreen::new(*trends, tasks, regressions, by);
                        screen.tasks_normalized = self.trends_normalized;
                        // A new count (another bucket width, tasks grouped otherwise, a refresh)
                        // keeps what the user chose to see.
                        if let Some(old) = &self.trends {
                            screen.keep_choices(old);
                        }
                        self.trends = Some(screen);
                        self.screen = Screen::Trends;
                    }
                }
                Reply::Exported { out, spans, warnings } => {
                    self.progress = None;
                    let warned = if warnings == 0 { String::new() } else { format!(", {warnings} warnings") };
                    self.toast(ctx, format!("Exported {spans} spans to {}{warned}", out.display()));
                }
                Reply::Pushed { spans, bytes, seconds, url } => {
                    self.progress = None;
                    self.toast(
                        ctx,
                        format!(
                            "Pushed {} spans ({}) to {url} in {seconds:.1} s",
                            crate::format::format_count(i64::try_from(spans).unwrap_or(i64::MAX)),
                            crate::format::format_bytes(bytes)
                        ),
                    );
                }
                Reply::OtherList { path, sessions } => {
                    self.progress = Some(format!("{} runs in {}", sessions.len(), path.display()));
                    self.other_file = Some((path, sessions));
                }
                Reply::PairDetail { detail } => {
                    if let Some(c) = self.compare.as_mut().filter(|c| c.model.selected == Some(detail.row)) {
                        c.model.detail = Some(*detail);
                    }
                }
                Reply::Changed { path, refreshed } => self.file_changed(&path, refreshed),
                Reply::Failed { kind, error } => {
                    self.progress = None;
                    if kind == JobKind::Open {
                        self.opening = None;
                    }
                    self.error = Some(error);
                }
            }
        }
    }

    fn opened(&mut self, ctx: &egui::Context, path: PathBuf, list: SessionList, elapsed: Duration, reload: bool) {
        // A refresh of a file no longer open (the watcher's, just before another was opened).
        if reload && self.file.as_ref().is_some_and(|f| f.path != path) {
            return;
        }
        if !reload {
            // Read by scripts/bench.sh for the app's time to list a file.
            log::info!("list shown: {} sessions in {:.0} ms", list.sessions.len(), elapsed.as_secs_f64() * 1000.0);
        }
        self.opening = None;
        self.error = None;
        self.progress = None;
        let keep_slow = reload.then(|| self.file.as_mut().and_then(|f| f.slow.take())).flatten();
        let keep_models = reload.then(|| self.file.as_mut().and_then(|f| f.models.take())).flatten();
        // Loop counts stay for the sessions that did not change; the others are counted again.
        let keep_loops = if reload { self.file.as_mut().map(|f| std::mem::take(&mut f.loops)) } else { None };
        let mut loops = keep_loops.unwrap_or_default();
        let to_count: Vec<Arc<SessionRow>> = list
            .sessions
            .iter()
            .filter(|r| loops.by_session.get(&r.id).is_none_or(|(events, _)| *events != r.event_count))
            .cloned()
            .collect();
        // Counting reads every session: on a small file at once, on a big one when asked.
        let asked = self.state.sort.column == crate::ui::sessions_table::SortColumn::Loops;
        let mut loops_waiting = Vec::new();
        loops.on_request = false;
        if asked || list.file.trace_count <= AUTO_LOOP_COUNT_TRACES {
            if !to_count.is_empty() {
                self.jobs.loop_counts(path.clone(), to_count);
            }
        } else {
            loops.on_request = !to_count.is_empty();
            loops_waiting = to_count;
        }
        let changed_at = if reload { Some(chrono::Local::now()) } else { None };
        if !reload {
            self.state.remember(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
            self.session = None;
            self.table = SessionsTable::default();
            self.screen = Screen::Sessions;
            self.jobs.watch(path.clone());
        }
        self.table.invalidate();
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let title = format!("{name} — trace-inspector");
        // Only when it changes: a refresh a second would otherwise set it a second (a window
        // event, and with it another frame).
        if title != self.title {
            self.title = title;
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(self.title.clone()));
        }
        self.file = Some(OpenFile {
            path,
            list,
            slow: keep_slow,
            models: keep_models,
            session_models: None,
            shown_models: None,
            load_time: elapsed,
            loops,
            loops_waiting,
            changed_at,
        });
        if let Some(query) = self.pending_session.take()
            && let Some(f) = &self.file
        {
            let ids: Vec<&str> = f.list.sessions.iter().map(|s| s.id.as_str()).collect();
            match ids::pick(&ids, &query) {
                ids::Pick::One(id) => self.commands.push(Command::OpenSession(id.to_owned())),
                ids::Pick::Nothing => self.error = Some(format!("no session matches '{query}'")),
                ids::Pick::Many(n) => self.error = Some(format!("'{query}' matches {n} sessions; give more of the id")),
            }
        }
    }

    fn session_loaded(&mut self, session: AnalyzedSession, diagnosis: Diagnosis, elapsed: Duration, reload: bool) {
        let received = Instant::now();
        let (id, events) = (session.data.row.id.clone(), session.data.events.len());
        self.show_loaded(session, diagnosis, elapsed, reload);
        // Read by scripts/bench.sh for the app's load time: the job's time and the screen's
        // making (its rows and bars) after it.
        log::info!(
            "session {} shown: {events} events loaded in {:.0} ms",
            crate::terminal::one_line(&id),
            (elapsed + received.elapsed()).as_secs_f64() * 1000.0
        );
    }

    fn show_loaded(&mut self, session: AnalyzedSession, diagnosis: Diagnosis, elapsed: Duration, reload: bool) {
        self.progress = None;
        self.load_started = None;
        let rule = SlowRule {
            index: self.file.as_ref().and_then(|f| f.slow.as_ref()),
            threshold_ms: self.state.slow_threshold_ms,
        };
        match (reload, self.session.take()) {
            (true, Some(old)) if old.session.data.row.id == session.data.row.id => {
                // Keep the user's place: selection and collapsed nodes by event id, zoom, scroll.
                let model = SessionModel::with_diagnosis(session, diagnosis, elapsed, rule);
                let mut screen = old.reloaded(model, rule);
                if self.state.follow && screen.model.selected.is_none() {
                    screen.gantt.fit();
                    if let Some(last) = screen.model.rows.len().checked_sub(1) {
                        screen.gantt.scroll_to_row(last);
                    }
                }
                let rerun_search = !screen.model.search.text.is_empty();
                self.session = Some(screen);
                if rerun_search {
                    self.commands.push(Command::Search);
                }
            }
            _ => {
                let model = SessionModel::with_diagnosis(session, diagnosis, elapsed, rule);
                self.session = Some(SessionScreen::new(model, self.state.slow_threshold_ms));
                self.screen = Screen::Session;
            }
        }
    }

    fn file_changed(&mut self, path: &Path, refreshed: bool) {
        let Some(file) = self.file.as_ref().filter(|f| f.path == path) else { return };
        let path = file.path.clone();
        if !refreshed {
            self.jobs.refresh(path.clone());
        }
        if let Some(view) = self.session.as_ref() {
            self.jobs.load_session(
                path,
                view.session.data.row.clone(),
                self.state.anchor,
                self.state.diagnosis_params(),
                true,
            );
        }
    }
}
