//! Everything the user can ask for, and the one place where it is applied: after a frame's
//! panels are drawn, never while drawing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::{Key, KeyboardShortcut, Modifiers};

pub use super::compare::CompareCommand;
use super::state::{Panel, ThemeChoice};
use super::{Screen, TraceApp};
use crate::analysis::context::context_growth;
use crate::analysis::stalls::{StallParams, stalls};
use crate::analysis::{Anchor, SpanFilter};
use crate::export::{Export as _, json::SummaryJson, markdown::SummaryMarkdown, text};
use crate::format::format_count;
use crate::jobs::{ExportFormat, JobKind};
use crate::model::SearchQuery;
use crate::session_model::{SessionModel, SlowRule};
use crate::ui::sessions_table::Sort;

/// Copy the Markdown summary.
pub const COPY_SUMMARY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::C);

/// Exports that go to the clipboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyWhat {
    SummaryMarkdown,
    SummaryJson,
    TimelineText,
    TreeText,
}

/// Everything the user can ask for; applied after drawing.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Command {
    /// Open this file (the dialog, drag and drop, the path field and recent files all end here).
    Open(PathBuf),
    OpenDialog,
    OpenDemo,
    Reload,
    /// Back from a session to the list, or from the list to the welcome screen.
    Back,
    OpenSession(String),
    SelectSpan {
        span: usize,
        scroll: bool,
        zoom: bool,
    },
    ShowEvent(usize),
    ToggleCollapse(usize),
    ExpandAll,
    CollapseAll,
    ZoomTo(usize),
    /// Show this time range of the session (ms from its origin).
    ZoomRange(f64, f64),
    /// Zoom the chart about the middle of its view: above 1 in, below 1 out.
    ZoomChart(f64),
    Fit,
    Copy(CopyWhat),
    CopyText {
        text: String,
        what: String,
    },
    /// Run the session search with the text in the search box.
    Search,
    NextHit,
    PrevHit,
    /// Show only the search's hits (and their ancestors), or everything.
    SetOnlyMatches(bool),
    /// Show each loop as its first call, or every call.
    SetFoldLoops(bool),
    /// What counts as a stall (saved; the open session's stalls are found again).
    SetStallParams(StallParams),
    /// Cut the stalls out of the chart's time axis, or show them at their length.
    SetCollapseIdle(bool),
    /// The user's context windows, by model key (they win over the built-in table).
    SetContextWindows(std::collections::BTreeMap<String, u64>),
    /// The session's span filter: types, errors only, slow only, minimum duration.
    SetFilter(SpanFilter),
    /// A call slower than this is slow whatever its tool's p95 (`None`: the p95 alone).
    SetSlowThreshold(Option<f64>),
    SetSort(Sort),
    SetAnchor(Anchor),
    SetTheme(ThemeChoice),
    ShowPanel(Panel, bool),
    /// The chart's label column width (`None`: its default share).
    SetLabelWidth(Option<f32>),
    SetFollow(bool),
    /// The size of the whole interface, 0.5 to 3.
    SetUiScale(f32),
    ToggleHelp,
    ForgetRecent(PathBuf),
    CancelLoad,
    /// Everything about comparing two runs.
    Compare(CompareCommand),
    /// Count the open file's trends, bucketed by this width (`None`: automatic), and show them.
    Trends(Option<crate::analysis::trends::Bucket>),
    /// Group tasks with their numbers and ids taken out (else by their exact text); counts the
    /// trends again.
    SetTasksNormalized(bool),
    /// Narrow the sessions table (and its models panel) to sessions started in this range, or
    /// stop (`None`).
    SetRange(Option<crate::analysis::sessions::TimeRange>),
    /// Narrow the sessions table to these sessions (a task group's runs) and show it, or stop.
    ShowRuns(Option<crate::analysis::sessions::Only>),
    /// Write the open session to a file for other tools (the save dialog asks where).
    Export(ExportFormat),
    /// Write the open session to this file for other tools.
    ExportTo(ExportFormat, PathBuf),
    /// Ask where to push the open session (the "Push to…" dialog).
    Push,
    /// Send the open session to this OTLP/HTTP endpoint with these headers (one `NAME=VALUE`
    /// a line), keeping the headers in the settings only when `remember_headers`.
    PushTo {
        endpoint: String,
        headers: String,
        remember_headers: bool,
    },
}

impl TraceApp {
    /// Applies the queued commands, and those they queue in turn.
    pub(super) fn run_commands(&mut self, ctx: &egui::Context) {
        while !self.commands.is_empty() {
            let batch = std::mem::take(&mut self.commands);
            for c in batch {
                self.run(ctx, c);
            }
        }
    }

    fn run(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Open(path) => {
                self.error = None;
                self.opening = Some(path.clone());
                self.jobs.open(path, false);
            }
            Command::OpenDialog => self.open_dialog(),
            Command::OpenDemo => {
                self.error = None;
                self.jobs.demo(self.demo_path.clone());
            }
            Command::Reload => {
                if let Some(f) = &self.file {
                    let path = f.path.clone();
                    self.jobs.open(path.clone(), true);
                    if let Some(v) = &self.session {
                        self.jobs.load_session(
                            path,
                            v.session.data.row.clone(),
                            self.state.anchor,
                            self.state.diagnosis_params(),
                            true,
                        );
                    }
                    self.toast(ctx, "Reloading…");
                }
            }
            Command::Compare(c) => self.run_compare(ctx, c),
            Command::Export(format) => self.export(format),
            Command::Trends(by) => {
                if let Some(f) = &self.file {
                    self.trends_by = by;
                    self.jobs.trends(f.path.clone(), by, self.trends_normalized);
                }
            }
            Command::SetTasksNormalized(on) => {
                self.trends_normalized = on;
                if let Some(f) = &self.file {
                    self.jobs.trends(f.path.clone(), self.trends_by, on);
                }
            }
            Command::SetRange(range) => self.table.set_range(range),
            Command::ShowRuns(only) => {
                let show = only.is_some();
                self.table.set_only(only);
                if show && self.file.is_some() {
                    self.screen = Screen::Sessions;
                }
            }
            Command::ExportTo(format, out) => {
                if let (Some(view), Some(f)) = (self.session.as_ref(), self.file.as_ref()) {
                    let row = view.session.data.row.clone();
                    self.jobs.export(f.path.clone(), row, self.state.anchor, format, out);
                }
            }
            Command::Push => {
                if self.session.is_some() {
                    let saved = self.state.push_headers.as_ref();
                    self.push = Some(super::push::PushDialog {
                        endpoint: self.state.push_endpoint.clone(),
                        headers: saved.map(|h| h.0.clone()).unwrap_or_default(),
                        remember_headers: saved.is_some(),
                        show_values: false,
                    });
                }
            }
            Command::PushTo { endpoint, headers, remember_headers } => {
                self.push_to(&endpoint, &headers, remember_headers);
            }
            Command::Back => match self.screen {
                Screen::Compare => {
                    self.jobs.cancel(JobKind::Compare);
                    self.screen = self.compare_return;
                }
                Screen::Trends => {
                    self.jobs.cancel(JobKind::Trends);
                    self.screen = Screen::Sessions;
                }
                Screen::Session => {
                    self.screen = Screen::Sessions;
                    self.jobs.cancel(JobKind::Session);
                    self.jobs.cancel(JobKind::Search);
                }
                Screen::Sessions => self.screen = Screen::Welcome,
                Screen::Welcome => {
                    if self.file.is_some() {
                        self.screen = Screen::Sessions;
                    }
                }
            },
            Command::OpenSession(id) => {
                let Some(f) = &self.file else { return };
                let Some(row) = f.list.sessions.iter().find(|s| s.id == id) else { return };
                if self.session.as_ref().is_some_and(|v| v.session.data.row.id == id)
                    && !self.jobs.is_running(JobKind::Session)
                {
                    self.screen = Screen::Session;
                    return;
                }
                self.load_started = Some(Instant::now());
                self.jobs.load_session(
                    f.path.clone(),
                    crate::model::SessionRow::clone(row),
                    self.state.anchor,
                    self.state.diagnosis_params(),
                    false,
                );
            }
            Command::SelectSpan { span, scroll, zoom } => self.select(span, scroll, zoom),
            Command::ShowEvent(event) => {
                if let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) {
                    view.detail_event = Some(event);
                    view.detail = None;
                    if let Some(e) = view.session.data.events.get(event) {
                        self.jobs.detail(f.path.clone(), e.rowid.get(), e.id.to_string());
                    }
                }
            }
            Command::ToggleCollapse(span) => self.change_session(|m| {
                if let Some(c) = m.collapsed.get_mut(span) {
                    *c = !*c;
                }
            }),
            Command::ExpandAll => self.change_session(|m| m.set_all_collapsed(false)),
            Command::CollapseAll => self.change_session(|m| m.set_all_collapsed(true)),
            Command::ZoomTo(span) => {
                if let Some(view) = self.session.as_mut()
                    && let Some(s) = view.model.session.timeline.spans.get(span)
                {
                    view.gantt.zoom_to_span(s);
                }
            }
            Command::ZoomRange(start, end) => {
                if let Some(view) = self.session.as_mut() {
                    view.gantt.zoom_to_range(start, end);
                }
            }
            Command::ZoomChart(factor) => {
                if let Some(view) = self.session.as_mut() {
                    let (start, end) = view.gantt.view_range_ms();
                    view.gantt.zoom_by(factor, (start + end) / 2.0);
                }
            }
            Command::Fit => {
                if let Some(view) = self.session.as_mut() {
                    view.gantt.fit();
                }
            }
            Command::Copy(what) => {
                if let Some(view) = &self.session {
                    let (text, name) = match what {
                        CopyWhat::SummaryMarkdown => {
                            (SummaryMarkdown { slow_rule: self.slow_rule() }.export(&view.session), "Markdown summary")
                        }
                        CopyWhat::SummaryJson => (SummaryJson.export(&view.session), "JSON summary"),
                        CopyWhat::TimelineText => (text::TimelineText.export(&view.session), "timeline"),
                        CopyWhat::TreeText => (text::TreeText.export(&view.session), "tree"),
                    };
                    let n = text.chars().count();
                    ctx.copy_text(text);
                    self.toast(ctx, format!("Copied the {name} ({} characters)", format_count(n as i64)));
                } else {
                    self.toast(ctx, "Open a session to copy its summary");
                }
            }
            Command::CopyText { text, what } => {
                let n = text.chars().count();
                ctx.copy_text(text);
                self.toast(ctx, format!("Copied {what} ({} characters)", format_count(n as i64)));
            }
            Command::Search => {
                let mut query = None;
                self.change_session(|m| query = m.start_search());
                let (Some(view), Some(f)) = (self.session.as_ref(), self.file.as_ref()) else { return };
                match query {
                    Some(text) => {
                        let query =
                            SearchQuery { text, session_id: Some(view.session.data.row.id.clone()), kind: None };
                        self.progress = Some("Searching…".to_owned());
                        self.jobs.search(f.path.clone(), query);
                    }
                    None => self.jobs.cancel(JobKind::Search),
                }
            }
            Command::NextHit | Command::PrevHit => {
                let next = self.session.as_ref().and_then(|v| v.next_hit(command == Command::NextHit));
                if let Some(span) = next {
                    self.select(span, true, false);
                }
            }
            Command::SetOnlyMatches(on) => self.change_session(|m| m.search.only_matches = on),
            Command::SetFoldLoops(on) => self.change_session(|m| m.fold_loops = on),
            Command::SetStallParams(params) => {
                self.state.stalls = params;
                // One sort of the session's work: a few ms for 100,000 events.
                if let Some(view) = self.session.as_mut() {
                    view.model.diagnosis.stalls = stalls(&view.model.session, &params);
                }
            }
            Command::SetCollapseIdle(on) => self.state.collapse_idle = on,
            Command::SetContextWindows(windows) => {
                self.state.context_windows = windows;
                // One pass over the session's LLM calls.
                let params = self.state.diagnosis_params();
                if let Some(view) = self.session.as_mut() {
                    view.model.diagnosis.context =
                        context_growth(&view.model.session, &params.windows, &params.context);
                }
            }
            Command::SetFilter(filter) => self.change_session(|m| m.filter = filter),
            Command::SetSlowThreshold(threshold) => {
                self.state.slow_threshold_ms = threshold;
                self.change_session(|_| {});
            }
            Command::SetSort(sort) => self.state.sort = sort,
            Command::SetAnchor(anchor) => {
                self.state.anchor = anchor;
                if let (Some(view), Some(f)) = (&self.session, &self.file) {
                    self.jobs.load_session(
                        f.path.clone(),
                        view.session.data.row.clone(),
                        anchor,
                        self.state.diagnosis_params(),
                        true,
                    );
                }
            }
            Command::SetTheme(theme) => {
                self.state.theme = theme;
                self.apply_theme(ctx);
            }
            Command::ShowPanel(panel, shown) => self.state.set_shown(panel, shown),
            Command::SetLabelWidth(width) => self.state.label_width = width,
            Command::SetFollow(on) => self.state.follow = on,
            Command::SetUiScale(scale) => {
                self.state.ui_scale = scale.clamp(0.5, 3.0);
                ctx.set_zoom_factor(self.state.ui_scale);
            }
            Command::ToggleHelp => self.show_help = !self.show_help,
            Command::ForgetRecent(path) => self.state.recent.retain(|p| p != &path),
            Command::CancelLoad => {
                self.jobs.cancel(JobKind::Open);
                self.jobs.cancel(JobKind::Session);
                self.jobs.cancel(JobKind::Search);
                self.jobs.cancel(JobKind::Demo);
                self.opening = None;
                self.progress = Some("Cancelled".to_owned());
            }
        }
    }

    /// The slow rule: the file's p95s (once counted) and the saved threshold.
    fn slow_rule(&self) -> SlowRule<'_> {
        SlowRule { index: self.file.as_ref().and_then(|f| f.slow.as_ref()), threshold_ms: self.state.slow_threshold_ms }
    }

    /// Changes the open session's model, then rebuilds what derives from it under the current
    /// slow rule (the file's p95 and the saved threshold).
    pub(super) fn change_session(&mut self, change: impl FnOnce(&mut SessionModel)) {
        let Some(view) = self.session.as_mut() else { return };
        change(&mut view.model);
        let rule = SlowRule {
            index: self.file.as_ref().and_then(|f| f.slow.as_ref()),
            threshold_ms: self.state.slow_threshold_ms,
        };
        view.model.rebuild(rule);
    }

    fn open_dialog(&mut self) {
        let started = Instant::now();
        let picked = pick_database("Open a trace database");
        match picked {
            Some(p) => self.commands.push(Command::Open(p)),
            // No dialog shows and None comes back at once when neither a desktop portal nor
            // zenity is there; a person cannot cancel that fast.
            None if started.elapsed() < Duration::from_millis(250) => {
                self.dialog_failed = true;
                self.screen = if self.file.is_some() { self.screen } else { Screen::Welcome };
                self.error = Some(
                    "the file dialog is not available here; type a path, drop a file, or pick a recent one".to_owned(),
                );
            }
            None => {}
        }
    }

    /// Pushes the open session off the UI thread; a malformed endpoint or header is an error
    /// line naming the header, never its value.
    fn push_to(&mut self, endpoint: &str, headers: &str, remember_headers: bool) {
        self.state.push_endpoint = endpoint.to_owned();
        self.state.push_headers = remember_headers.then(|| super::state::SavedHeaders(headers.to_owned()));
        let (Some(view), Some(f)) = (self.session.as_ref(), self.file.as_ref()) else { return };
        let parsed: Result<Vec<(String, String)>, _> =
            headers.lines().filter(|l| !l.trim().is_empty()).map(crate::push::parse_header).collect();
        match parsed.and_then(|h| crate::push::Target::new(endpoint, &h)) {
            Ok(target) => {
                self.error = None;
                let row = view.session.data.row.clone();
                self.jobs.push(f.path.clone(), row, self.state.anchor, target);
            }
            Err(e) => self.error = Some(format!("push: {e}")),
        }
    }

    /// Asks where to write the open session and exports it there off the UI thread. Without
    /// a file dialog, says how to do it on the command line.
    fn export(&mut self, format: ExportFormat) {
        let (Some(view), Some(f)) = (self.session.as_ref(), self.file.as_ref()) else { return };
        let row = view.session.data.row.clone();
        let short: String = row.id.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
        let (extension, name, flag) = match format {
            ExportFormat::OtlpJson => ("jsonl", "OTLP JSON", "otlp-json"),
            ExportFormat::Chrome => ("json", "Chrome trace JSON", "chrome"),
        };
        let started = Instant::now();
        let picked = rfd::FileDialog::new()
            .set_title(format!("Export the session as {name}"))
            .set_file_name(format!("session-{short}.{extension}"))
            .save_file();
        match picked {
            Some(out) => self.commands.push(Command::ExportTo(format, out)),
            None if started.elapsed() < Duration::from_millis(250) => {
                self.error = Some(format!(
                    "the save dialog is not available here; on the command line: trace-inspector export {} '{}' --format {flag} -o FILE",
                    f.path.display(),
                    row.id
                ));
            }
            None => {}
        }
    }

    /// Selects a span: its detail is loaded, and the rows scroll (expanding its ancestors)
    /// and the chart zooms to it when asked.
    pub(super) fn select(&mut self, span: usize, scroll: bool, zoom: bool) {
        let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) else { return };
        let Some(s) = view.model.session.timeline.spans.get(span).cloned() else { return };
        view.model.select(span);
        // Inspecting a trace pauses following.
        self.state.follow = false;
        if let Some(e) = view.model.detail_event.and_then(|ev| view.model.session.data.events.get(ev)) {
            self.jobs.detail(f.path.clone(), e.rowid.get(), e.id.to_string());
        }
        if scroll {
            if view.model.expand_ancestors(span) {
                view.model.rebuild(SlowRule { index: f.slow.as_ref(), threshold_ms: self.state.slow_threshold_ms });
            }
            if let Some(row) = view.model.row_of(span) {
                view.gantt.scroll_to_row(row);
            }
        }
        if zoom {
            view.gantt.zoom_to_span(&s);
        }
    }
}

/// Asks for a trace database with the file dialog (`None`: cancelled, or no dialog here).
pub(super) fn pick_database(title: &str) -> Option<PathBuf> {
    rfd::FileDialog::new()
        .set_title(title)
        .add_filter("SQLite databases", &["db", "sqlite", "sqlite3"])
        .add_filter("All files", &["*"])
        .pick_file()
}
