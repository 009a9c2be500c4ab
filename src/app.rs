//! The desktop app: wires the background jobs, the saved state and the views together.
//!
//! Views never change app state while drawing: they return actions that become [`Command`]s,
//! applied after the frame's panels are drawn. All SQLite work runs in [`crate::jobs`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Key, KeyboardShortcut, Modifiers, RichText};
use serde::{Deserialize, Serialize};

use crate::analysis::filter::{is_slow_span, span_tool};
use crate::analysis::{AnalyzedSession, Anchor, SlowIndex, SpanFilter};
use crate::cli::OpenArgs;
use crate::export::{Export as _, json::SummaryJson, markdown::SummaryMarkdown, text};
use crate::format::{format_count, format_duration_ms};
use crate::jobs::{JobKind, Jobs, Reply};
use crate::model::{ModelUsage, SearchQuery, SessionList, TraceDetail};
use crate::ui::aggregates::{self, AggregateAction};
use crate::ui::detail::{DetailAction, DetailInput, DetailView};
use crate::ui::session_header::{self, HeaderAction};
use crate::ui::sessions_table::{SessionsTable, Sort, TableAction};
use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;
use crate::ui::timeline::{GanttView, RowAction, RowsInput};
use crate::ui::tree::{TreeView, visible_rows};
use crate::ui::welcome::{Welcome, WelcomeAction};

/// Key under which [`State`] is saved in eframe storage.
pub const STATE_KEY: &str = "trace-inspector-state";
/// Recent files kept.
const RECENT_KEPT: usize = 10;
/// How long a toast stays.
const TOAST_SECONDS: f64 = 3.0;

/// Copy the Markdown summary.
pub const COPY_SUMMARY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::C);

/// Light, dark, or whatever the system says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    System,
    Dark,
    Light,
}

/// What survives a restart. Never database contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub recent: Vec<PathBuf>,
    pub sort: Sort,
    pub theme: ThemeChoice,
    pub anchor: Anchor,
    /// A call slower than this is slow whatever its tool's p95.
    pub slow_threshold_ms: Option<f64>,
    pub show_tree: bool,
    pub show_summary: bool,
    pub show_detail: bool,
    /// The file-wide model table beside the sessions.
    pub show_models: bool,
    /// Keep the newest events in view while the file grows.
    pub follow: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            sort: Sort::default(),
            theme: ThemeChoice::System,
            anchor: Anchor::Auto,
            slow_threshold_ms: None,
            show_tree: true,
            show_summary: true,
            show_detail: true,
            show_models: true,
            follow: false,
        }
    }
}

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
    SetSort(Sort),
    SetAnchor(Anchor),
    ForgetRecent(PathBuf),
    CancelLoad,
}

/// Which screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Sessions,
    Session,
}

/// The open file and its session list.
#[derive(Debug)]
pub struct OpenFile {
    pub path: PathBuf,
    pub list: SessionList,
    pub slow: Option<SlowIndex>,
    /// The file-wide model table, once counted.
    pub models: Option<Vec<ModelUsage>>,
    pub load_time: Duration,
    /// When a change on disk was last seen.
    pub changed_at: Option<chrono::DateTime<chrono::Local>>,
}

/// Search state of the open session.
#[derive(Debug, Default)]
pub struct SearchState {
    pub text: String,
    /// The query the hits are for.
    pub searched: Option<String>,
    /// Per span.
    pub hits: Vec<bool>,
    /// Hit spans in row order.
    pub hit_spans: Vec<usize>,
    pub hit_count: usize,
    pub only_matches: bool,
}

/// An open session and how it is being looked at.
pub struct SessionView {
    pub session: AnalyzedSession,
    pub collapsed: Vec<bool>,
    /// Span indices shown, in order (collapse, filters and "only matches" applied).
    pub rows: Vec<usize>,
    pub selected: Option<usize>,
    /// The event whose detail is shown (the selected span's first event, or its partner).
    pub detail_event: Option<usize>,
    pub detail: Option<TraceDetail>,
    pub gantt: GanttView,
    pub tree: TreeView,
    pub detail_view: DetailView,
    pub filter: SpanFilter,
    pub min_duration_text: String,
    pub threshold_text: String,
    pub search: SearchState,
    pub slow: Vec<bool>,
    pub loaded_in: Duration,
}

impl SessionView {
    fn new(session: AnalyzedSession, loaded_in: Duration) -> Self {
        let n = session.timeline.spans.len();
        let mut view = Self {
            session,
            collapsed: vec![false; n],
            rows: Vec::new(),
            selected: None,
            detail_event: None,
            detail: None,
            gantt: GanttView::new(),
            tree: TreeView::new(),
            detail_view: DetailView::default(),
            filter: SpanFilter::default(),
            min_duration_text: String::new(),
            threshold_text: String::new(),
            search: SearchState::default(),
            slow: Vec::new(),
            loaded_in,
        };
        view.refresh_rows();
        view
    }

    /// The span holding the (first) event with this id. A scan: for many ids use [`Self::spans_by_id`].
    #[must_use]
    pub fn span_of_id(&self, id: &str) -> Option<usize> {
        let event = self.session.data.events.iter().position(|e| e.id == id)?;
        self.session.timeline.span_for_event(event)
    }

    /// Span of each event id, built on demand (not kept: 100,000 ids would cost megabytes).
    fn spans_by_id(&self) -> HashMap<&str, usize> {
        let t = &self.session.timeline;
        let mut map = HashMap::with_capacity(self.session.data.events.len());
        for (i, e) in self.session.data.events.iter().enumerate() {
            if let Some(span) = t.span_for_event(i) {
                map.entry(e.id.as_str()).or_insert(span);
            }
        }
        map
    }

    fn recompute_slow(&mut self, slow: Option<&SlowIndex>, threshold_ms: Option<f64>) {
        let empty = SlowIndex::default();
        let index = slow.unwrap_or(&empty);
        let events = &self.session.data.events;
        self.slow = self.session.timeline.spans.iter().map(|s| is_slow_span(s, events, index, threshold_ms)).collect();
    }

    /// Recomputes the visible rows after a collapse, filter or search change.
    pub fn refresh_rows(&mut self) {
        let t = &self.session.timeline;
        let filtering = !self.filter.is_empty() || (self.search.only_matches && self.search.searched.is_some());
        let keep: Option<Vec<bool>> = filtering.then(|| {
            let events = &self.session.data.events;
            // The core filter decides everything but "slow", which the view has worked out
            // already (file-wide p95 and the user's threshold) in `self.slow`.
            let filter = SpanFilter { slow_only: false, ..self.filter.clone() };
            let no_index = SlowIndex::default();
            (0..t.spans.len())
                .map(|i| {
                    let passes_filter = filter.keeps(&t.spans[i], events, &no_index)
                        && (!self.filter.slow_only || self.slow.get(i).copied().unwrap_or(false));
                    let passes_search = !self.search.only_matches || self.search.hits.get(i).copied().unwrap_or(false);
                    passes_filter && passes_search
                })
                .collect()
        });
        self.rows = visible_rows(t, &self.collapsed, keep.as_deref());
        let mut hit_spans: Vec<usize> =
            self.search.hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i).collect();
        if !hit_spans.is_empty() {
            let mut row_of = vec![usize::MAX; t.spans.len()];
            for (r, &s) in self.rows.iter().enumerate() {
                if let Some(slot) = row_of.get_mut(s) {
                    *slot = r;
                }
            }
            hit_spans.sort_by_key(|&s| row_of.get(s).copied().unwrap_or(usize::MAX));
        }
        self.search.hit_spans = hit_spans;
    }

    /// The row index of a span, expanding its collapsed ancestors first.
    fn reveal(&mut self, span: usize) -> Option<usize> {
        let ancestors: Vec<usize> = self.session.timeline.ancestors(span).collect();
        let mut changed = false;
        for a in ancestors {
            if self.collapsed.get(a).copied().unwrap_or(false) {
                self.collapsed[a] = false;
                changed = true;
            }
        }
        if changed {
            self.refresh_rows();
        }
        self.rows.iter().position(|&s| s == span)
    }
}

/// A short message that fades.
#[derive(Clone, Debug)]
pub struct Toast {
    pub text: String,
    pub until: f64,
}

/// The app.
pub struct TraceApp {
    pub state: State,
    pub screen: Screen,
    pub file: Option<OpenFile>,
    pub session: Option<SessionView>,
    pub table: SessionsTable,
    pub welcome: Welcome,
    /// The last error, one line, shown in the window until the next success.
    pub error: Option<String>,
    pub toasts: Vec<Toast>,
    /// What a running job is doing.
    pub progress: Option<String>,
    pub dialog_failed: bool,
    /// The file being opened (the open file stays until it succeeds).
    pub opening: Option<PathBuf>,
    /// A session to open once the list arrives (`--session`).
    pending_session: Option<String>,
    jobs: Jobs,
    commands: Vec<Command>,
    title: String,
    demo_path: PathBuf,
    load_started: Option<Instant>,
    theme: Theme,
}

impl TraceApp {
    /// Creates the app in an eframe window (restores saved state).
    #[must_use]
    pub fn new(cc: &eframe::CreationContext<'_>, args: OpenArgs) -> Self {
        let state = cc.storage.and_then(|s| eframe::get_value(s, STATE_KEY)).unwrap_or_default();
        Self::with_state(&cc.egui_ctx, state, args)
    }

    /// Creates the app with the given saved state (tests use this).
    #[must_use]
    pub fn with_state(ctx: &egui::Context, state: State, args: OpenArgs) -> Self {
        let wake_ctx = ctx.clone();
        let jobs = Jobs::new(Arc::new(move || wake_ctx.request_repaint()));
        let mut app = Self {
            state,
            screen: Screen::Welcome,
            file: None,
            session: None,
            table: SessionsTable::default(),
            welcome: Welcome::default(),
            error: None,
            toasts: Vec::new(),
            progress: None,
            dialog_failed: false,
            opening: None,
            pending_session: args.session,
            jobs,
            commands: Vec::new(),
            title: String::new(),
            demo_path: std::env::temp_dir().join("trace-inspector-demo").join("agent_traces.db"),
            load_started: None,
            theme: Theme::new(true),
        };
        app.apply_theme(ctx);
        setup_fonts(ctx);
        if args.demo {
            app.commands.push(Command::OpenDemo);
        } else if let Some(file) = args.file {
            app.commands.push(Command::Open(file));
        }
        app
    }

    /// Queues a command, as a click would.
    pub fn command(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// True when no background job runs and no command waits.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.jobs.is_idle() && self.commands.is_empty()
    }

    /// Where `Open demo database` writes its file.
    pub fn set_demo_path(&mut self, path: PathBuf) {
        self.demo_path = path;
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        // Rows are clickable as a whole; selectable text would swallow the click. The detail
        // panel turns selection back on for its own text.
        ctx.all_styles_mut(|s| s.interaction.selectable_labels = false);
        ctx.set_theme(match self.state.theme {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
            ThemeChoice::Light => egui::ThemePreference::Light,
        });
    }

    fn toast(&mut self, ctx: &egui::Context, text: impl Into<String>) {
        let now = ctx.input(|i| i.time);
        self.toasts.push(Toast { text: text.into(), until: now + TOAST_SECONDS });
        ctx.request_repaint_after(Duration::from_secs_f64(TOAST_SECONDS));
    }

    fn remember(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        self.state.recent.retain(|p| p != &path);
        self.state.recent.insert(0, path);
        self.state.recent.truncate(RECENT_KEPT);
    }

    // ---- replies from background jobs -------------------------------------------------------

    fn apply_replies(&mut self, ctx: &egui::Context) {
        for reply in self.jobs.poll() {
            match reply {
                Reply::Progress { message, .. } => self.progress = Some(message),
                Reply::Opened { path, list, elapsed, reload } => self.opened(ctx, path, list, elapsed, reload),
                Reply::Slow { path, index } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        f.slow = Some(index);
                        self.table.invalidate();
                    }
                    let threshold = self.state.slow_threshold_ms;
                    if let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) {
                        view.recompute_slow(f.slow.as_ref(), threshold);
                    }
                    self.progress = None;
                }
                Reply::Models { path, models } => {
                    if let Some(f) = self.file.as_mut().filter(|f| f.path == path) {
                        f.models = Some(models);
                    }
                }
                Reply::Session { session, elapsed, reload } => self.session_loaded(*session, elapsed, reload),
                Reply::Hits { hits, done } => {
                    if let Some(view) = self.session.as_mut() {
                        view.search.hit_count += hits.len();
                        let spans: Vec<usize> = {
                            let by_id = view.spans_by_id();
                            hits.iter().filter_map(|h| by_id.get(h.id.as_str()).copied()).collect()
                        };
                        for span in spans {
                            if let Some(flag) = view.search.hits.get_mut(span) {
                                *flag = true;
                            }
                        }
                        view.refresh_rows();
                        if done {
                            let n = view.search.hit_count;
                            self.progress = Some(if n == 1 {
                                "1 matching trace".to_owned()
                            } else {
                                format!("{n} matching traces")
                            });
                            if n > 0 && view.selected.is_none() {
                                self.commands.push(Command::NextHit);
                            }
                        }
                    }
                }
                Reply::Detail { detail } => {
                    if let Some(view) = self.session.as_mut() {
                        view.detail = Some(*detail);
                    }
                }
                Reply::DemoReady { path } => self.commands.push(Command::Open(path)),
                Reply::Changed { path } => self.file_changed(&path),
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
        self.opening = None;
        self.error = None;
        self.progress = None;
        let keep_slow = reload.then(|| self.file.as_mut().and_then(|f| f.slow.take())).flatten();
        let keep_models = reload.then(|| self.file.as_mut().and_then(|f| f.models.take())).flatten();
        let changed_at = if reload { Some(chrono::Local::now()) } else { None };
        if !reload {
            self.remember(&path);
            self.session = None;
            self.table = SessionsTable::default();
            self.screen = Screen::Sessions;
            self.jobs.watch(path.clone());
        }
        self.table.invalidate();
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        self.title = format!("{name} — trace-inspector");
        ctx.send_viewport_cmd(egui::ViewportCommand::Title(self.title.clone()));
        self.file = Some(OpenFile { path, list, slow: keep_slow, models: keep_models, load_time: elapsed, changed_at });
        if let Some(query) = self.pending_session.take() {
            let found = self.file.as_ref().and_then(|f| {
                f.list.sessions.iter().find(|s| s.id == query).or_else(|| {
                    let mut m = f.list.sessions.iter().filter(|s| s.id.starts_with(&query));
                    let first = m.next();
                    if m.next().is_some() { None } else { first }
                })
            });
            match found {
                Some(s) => self.commands.push(Command::OpenSession(s.id.clone())),
                None => self.error = Some(format!("no single session matches '{query}'")),
            }
        }
    }

    fn session_loaded(&mut self, session: AnalyzedSession, elapsed: Duration, reload: bool) {
        self.progress = None;
        self.load_started = None;
        let threshold = self.state.slow_threshold_ms;
        match (reload, self.session.take()) {
            (true, Some(old)) if old.session.data.row.id == session.data.row.id => {
                // Keep the user's place: selection and collapsed nodes by event id, zoom, scroll.
                let id_of = |v: &SessionView, span: usize| {
                    v.session
                        .timeline
                        .spans
                        .get(span)
                        .and_then(|s| v.session.data.events.get(s.event))
                        .map(|e| e.id.clone())
                };
                let selected_id = old.selected.and_then(|s| id_of(&old, s));
                let collapsed_ids: Vec<String> =
                    old.collapsed.iter().enumerate().filter(|(_, c)| **c).filter_map(|(i, _)| id_of(&old, i)).collect();
                let mut view = SessionView::new(session, elapsed);
                view.gantt = old.gantt;
                view.tree = old.tree;
                view.filter = old.filter;
                view.min_duration_text = old.min_duration_text;
                view.threshold_text = old.threshold_text;
                view.search.text = old.search.text;
                view.search.only_matches = old.search.only_matches;
                let (collapsed, selected) = {
                    let by_id = view.spans_by_id();
                    let collapsed: Vec<usize> =
                        collapsed_ids.iter().filter_map(|id| by_id.get(id.as_str()).copied()).collect();
                    (collapsed, selected_id.as_deref().and_then(|id| by_id.get(id).copied()))
                };
                for s in collapsed {
                    view.collapsed[s] = true;
                }
                view.selected = selected;
                view.detail_event = view.selected.and_then(|s| view.session.timeline.spans.get(s)).map(|s| s.event);
                view.detail = old.detail;
                view.recompute_slow(self.file.as_ref().and_then(|f| f.slow.as_ref()), threshold);
                view.refresh_rows();
                if self.state.follow && view.selected.is_none() {
                    view.gantt.fit();
                    if let Some(last) = view.rows.len().checked_sub(1) {
                        view.gantt.scroll_to_row(last);
                        view.tree.scroll_to_row(last);
                    }
                }
                let rerun_search = view.search.text.clone();
                self.session = Some(view);
                if !rerun_search.is_empty() {
                    self.commands.push(Command::Search);
                }
            }
            _ => {
                let mut view = SessionView::new(session, elapsed);
                view.recompute_slow(self.file.as_ref().and_then(|f| f.slow.as_ref()), threshold);
                view.refresh_rows();
                self.session = Some(view);
                self.screen = Screen::Session;
            }
        }
    }

    fn file_changed(&mut self, path: &Path) {
        let Some(file) = self.file.as_ref().filter(|f| f.path == path) else { return };
        let path = file.path.clone();
        self.jobs.open(path.clone(), true);
        if let Some(view) = self.session.as_ref() {
            self.jobs.load_session(path, view.session.data.row.clone(), self.state.anchor, true);
        }
    }

    // ---- commands ---------------------------------------------------------------------------

    fn run_commands(&mut self, ctx: &egui::Context) {
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
            Command::OpenDialog => {
                let started = Instant::now();
                let picked = rfd::FileDialog::new()
                    .set_title("Open a trace database")
                    .add_filter("SQLite databases", &["db", "sqlite", "sqlite3"])
                    .add_filter("All files", &["*"])
                    .pick_file();
                match picked {
                    Some(p) => self.commands.push(Command::Open(p)),
                    // No dialog shows and None comes back at once when neither a desktop
                    // portal nor zenity is there; a person cannot cancel that fast.
                    None if started.elapsed() < Duration::from_millis(250) => {
                        self.dialog_failed = true;
                        self.screen = if self.file.is_some() { self.screen } else { Screen::Welcome };
                        self.error = Some(
                            "the file dialog is not available here; type a path, drop a file, or pick a recent one"
                                .to_owned(),
                        );
                    }
                    None => {}
                }
            }
            Command::OpenDemo => {
                self.error = None;
                self.jobs.demo(self.demo_path.clone());
            }
            Command::Reload => {
                if let Some(f) = &self.file {
                    let path = f.path.clone();
                    self.jobs.open(path.clone(), true);
                    if let Some(v) = &self.session {
                        self.jobs.load_session(path, v.session.data.row.clone(), self.state.anchor, true);
                    }
                    self.toast(ctx, "Reloading…");
                }
            }
            Command::Back => match self.screen {
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
                self.jobs.load_session(f.path.clone(), row.clone(), self.state.anchor, false);
            }
            Command::SelectSpan { span, scroll, zoom } => self.select(span, scroll, zoom),
            Command::ShowEvent(event) => {
                if let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) {
                    view.detail_event = Some(event);
                    view.detail = None;
                    if let Some(e) = view.session.data.events.get(event) {
                        self.jobs.detail(f.path.clone(), e.rowid, e.id.clone());
                    }
                }
            }
            Command::ToggleCollapse(span) => {
                if let Some(view) = self.session.as_mut() {
                    if let Some(c) = view.collapsed.get_mut(span) {
                        *c = !*c;
                    }
                    view.refresh_rows();
                }
            }
            Command::ExpandAll | Command::CollapseAll => {
                if let Some(view) = self.session.as_mut() {
                    let collapse = command == Command::CollapseAll;
                    for (i, s) in view.session.timeline.spans.iter().enumerate() {
                        view.collapsed[i] = collapse && s.subtree_end > i + 1;
                    }
                    view.refresh_rows();
                }
            }
            Command::ZoomTo(span) => {
                if let Some(view) = self.session.as_mut()
                    && let Some(s) = view.session.timeline.spans.get(span)
                {
                    view.gantt.zoom_to_span(s);
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
                        CopyWhat::SummaryMarkdown => (SummaryMarkdown.export(&view.session), "Markdown summary"),
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
                let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) else { return };
                let text = view.search.text.trim().to_owned();
                let n = view.session.timeline.spans.len();
                view.search.hits = vec![false; n];
                view.search.hit_count = 0;
                if text.is_empty() {
                    view.search.searched = None;
                    self.jobs.cancel(JobKind::Search);
                } else {
                    view.search.searched = Some(text.clone());
                    let query = SearchQuery { text, session_id: Some(view.session.data.row.id.clone()), kind: None };
                    self.progress = Some("Searching…".to_owned());
                    self.jobs.search(f.path.clone(), query);
                }
                view.refresh_rows();
            }
            Command::NextHit | Command::PrevHit => {
                let Some(view) = self.session.as_mut() else { return };
                let n = view.search.hit_spans.len();
                if n == 0 {
                    return;
                }
                let current = view.selected.and_then(|s| view.search.hit_spans.iter().position(|&h| h == s));
                let next = match (current, command == Command::NextHit) {
                    (Some(c), true) => (c + 1) % n,
                    (Some(c), false) => (c + n - 1) % n,
                    (None, true) => 0,
                    (None, false) => n - 1,
                };
                let span = view.search.hit_spans[next];
                self.select(span, true, false);
            }
            Command::SetSort(sort) => self.state.sort = sort,
            Command::SetAnchor(anchor) => {
                self.state.anchor = anchor;
                if let (Some(view), Some(f)) = (&self.session, &self.file) {
                    self.jobs.load_session(f.path.clone(), view.session.data.row.clone(), anchor, true);
                }
            }
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

    fn select(&mut self, span: usize, scroll: bool, zoom: bool) {
        let (Some(view), Some(f)) = (self.session.as_mut(), self.file.as_ref()) else { return };
        let Some(s) = view.session.timeline.spans.get(span) else { return };
        // A pair's result (a tool's output, a step's result) is what people open a call for.
        let events = &view.session.data.events;
        let result = s
            .end_event
            .filter(|&e| events.get(e).is_some_and(|e| e.raw_output_bytes.is_some() || e.raw_input_bytes.is_some()));
        let (event, s) = (result.unwrap_or(s.event), s.clone());
        view.selected = Some(span);
        view.detail_event = Some(event);
        view.detail = None;
        // Inspecting a trace pauses following.
        self.state.follow = false;
        if let Some(e) = view.session.data.events.get(event) {
            self.jobs.detail(f.path.clone(), e.rowid, e.id.clone());
        }
        if scroll && let Some(row) = view.reveal(span) {
            view.gantt.scroll_to_row(row);
            view.tree.scroll_to_row(row);
        }
        if zoom {
            view.gantt.zoom_to_span(&s);
        }
    }

    // ---- input ------------------------------------------------------------------------------

    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_owned()).collect());
        if let Some(p) = dropped.into_iter().next() {
            self.commands.push(Command::Open(p));
        }
        if ctx.input_mut(|i| i.consume_shortcut(&COPY_SUMMARY)) {
            self.commands.push(Command::Copy(CopyWhat::SummaryMarkdown));
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::O)) {
            self.commands.push(Command::OpenDialog);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F5)) {
            self.commands.push(Command::Reload);
        }
        let typing = ctx.text_edit_focused();
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            if typing {
                ctx.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                });
            } else {
                self.commands.push(Command::Back);
            }
        }
        if typing {
            return;
        }
        if self.screen == Screen::Session {
            if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Slash)) {
                // The same key press also arrives as the text "/": it must not land in the box.
                ctx.input_mut(|i| i.events.retain(|e| !matches!(e, egui::Event::Text(t) if t == "/")));
                ctx.memory_mut(|m| m.request_focus(egui::Id::unique("session-search")));
            }
            let (down, up, left, right, enter) = ctx.input(|i| {
                (
                    i.key_pressed(Key::ArrowDown) || i.key_pressed(Key::J),
                    i.key_pressed(Key::ArrowUp) || i.key_pressed(Key::K),
                    i.key_pressed(Key::ArrowLeft),
                    i.key_pressed(Key::ArrowRight),
                    i.key_pressed(Key::Enter),
                )
            });
            let Some(view) = self.session.as_ref() else { return };
            let row = view.selected.and_then(|s| view.rows.iter().position(|&r| r == s));
            let target = if down {
                Some(row.map_or(0, |r| (r + 1).min(view.rows.len().saturating_sub(1))))
            } else if up {
                Some(row.map_or(0, |r| r.saturating_sub(1)))
            } else {
                None
            };
            if let Some(span) = target.and_then(|r| view.rows.get(r)) {
                self.commands.push(Command::SelectSpan { span: *span, scroll: true, zoom: false });
            }
            if let Some(sel) = view.selected {
                let collapsed = view.collapsed.get(sel).copied().unwrap_or(false);
                let has_children = view.session.timeline.spans.get(sel).is_some_and(|s| s.subtree_end > sel + 1);
                if has_children && ((left && !collapsed) || (right && collapsed)) {
                    self.commands.push(Command::ToggleCollapse(sel));
                }
                if enter {
                    self.commands.push(Command::ZoomTo(sel));
                }
            }
        }
    }

    // ---- drawing ----------------------------------------------------------------------------

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                if self.screen != Screen::Welcome && ui.button("← Back").on_hover_text("Esc").clicked() {
                    self.commands.push(Command::Back);
                }
                if ui.button("Open…").on_hover_text("Ctrl+O").clicked() {
                    self.commands.push(Command::OpenDialog);
                }
                ui.add_enabled_ui(self.file.is_some(), |ui| {
                    if ui.button("Reload").on_hover_text("F5").clicked() {
                        self.commands.push(Command::Reload);
                    }
                });
                if self.screen == Screen::Sessions {
                    ui.separator();
                    ui.toggle_value(&mut self.state.show_models, "Models")
                        .on_hover_text("Calls, tokens and cost per model across the whole file");
                }
                if self.screen == Screen::Session {
                    ui.separator();
                    ui.menu_button("Copy", |ui| {
                        let items = [
                            ("Copy summary (Markdown)", CopyWhat::SummaryMarkdown),
                            ("Copy as JSON", CopyWhat::SummaryJson),
                            ("Copy timeline as text", CopyWhat::TimelineText),
                            ("Copy tree as text", CopyWhat::TreeText),
                        ];
                        for (label, what) in items {
                            if ui.button(label).clicked() {
                                self.commands.push(Command::Copy(what));
                                ui.close();
                            }
                        }
                    });
                    if ui
                        .button("Copy summary")
                        .on_hover_text("Markdown for an issue or a chat (Ctrl+Shift+C)")
                        .clicked()
                    {
                        self.commands.push(Command::Copy(CopyWhat::SummaryMarkdown));
                    }
                    ui.separator();
                    ui.toggle_value(&mut self.state.show_tree, "Tree");
                    ui.toggle_value(&mut self.state.show_summary, "Summary");
                    ui.toggle_value(&mut self.state.show_detail, "Detail");
                    let running = self.session.as_ref().is_some_and(|v| v.session.data.row.status == "running");
                    ui.toggle_value(&mut self.state.follow, if running { "Follow (running)" } else { "Follow" })
                        .on_hover_text("Keep the newest events in view as the file grows; selecting a trace pauses it");
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let before = self.state.theme;
                    egui::ComboBox::new("theme", "Theme")
                        .selected_text(match self.state.theme {
                            ThemeChoice::System => "system",
                            ThemeChoice::Dark => "dark",
                            ThemeChoice::Light => "light",
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.state.theme, ThemeChoice::System, "System theme");
                            ui.selectable_value(&mut self.state.theme, ThemeChoice::Dark, "Dark");
                            ui.selectable_value(&mut self.state.theme, ThemeChoice::Light, "Light");
                        });
                    if before != self.state.theme {
                        let ctx = ui.ctx().clone();
                        self.apply_theme(&ctx);
                    }
                    if self.screen == Screen::Session {
                        let mut anchor = self.state.anchor;
                        egui::ComboBox::new("anchor", "Timestamps").selected_text(anchor.name()).show_ui(ui, |ui| {
                            ui.selectable_value(&mut anchor, Anchor::Auto, "auto (decide from the data)");
                            ui.selectable_value(&mut anchor, Anchor::Start, "start of work");
                            ui.selectable_value(&mut anchor, Anchor::End, "end of work");
                        });
                        if anchor != self.state.anchor {
                            self.commands.push(Command::SetAnchor(anchor));
                        }
                    }
                });
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let theme = self.theme.clone();
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(f) = &self.file {
                    ui.label(RichText::new(f.path.display().to_string()).monospace());
                    ui.separator();
                    ui.label(format!(
                        "{} sessions · {} traces · listed in {}",
                        format_count(f.list.sessions.len() as i64),
                        format_count(f.list.file.trace_count as i64),
                        format_duration_ms(f.load_time.as_secs_f64() * 1000.0)
                    ));
                    if !f.list.warnings.is_empty() {
                        ui.separator();
                        ui.label(
                            RichText::new(format!("{} file warnings", f.list.warnings.len())).color(theme.warning),
                        )
                        .on_hover_text(
                            f.list
                                .warnings
                                .iter()
                                .take(20)
                                .map(|w| one_line(&w.message))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        );
                    }
                    ui.separator();
                    let live = match &f.changed_at {
                        Some(t) => format!("live · changed {}", t.format("%H:%M:%S")),
                        None => "live".to_owned(),
                    };
                    ui.label(RichText::new(live).color(theme.completed))
                        .on_hover_text("The file is watched; changes appear without losing your place");
                    if let Some(v) = &self.session {
                        ui.separator();
                        ui.label(format!(
                            "session: {} events in {}",
                            format_count(v.session.data.events.len() as i64),
                            format_duration_ms(v.loaded_in.as_secs_f64() * 1000.0)
                        ));
                        let warnings = v.session.warnings().count();
                        if warnings > 0 {
                            ui.label(RichText::new(format!("{warnings} data warnings")).color(theme.warning));
                        }
                    }
                } else {
                    ui.label("No file open");
                }
                let busy = !self.jobs.is_idle();
                if busy {
                    ui.separator();
                    ui.spinner();
                    if let Some(started) = self.load_started {
                        ui.label(format!("{:.1} s", started.elapsed().as_secs_f64()));
                    }
                    if ui.small_button("Cancel").clicked() {
                        self.commands.push(Command::CancelLoad);
                    }
                }
                if let Some(p) = &self.progress {
                    line_label(ui, RichText::new(one_line(p)).color(theme.muted), f32::INFINITY);
                }
            });
        });
    }

    fn error_line(&self, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.label(RichText::new(format!("Error: {}", one_line(e))).color(self.theme.error));
        }
        if let Some(p) = &self.opening {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Opening {}…", p.display()));
            });
        }
    }

    fn sessions_screen(&mut self, ui: &mut egui::Ui) {
        if let Some(f) = self.file.as_ref().filter(|_| self.state.show_models) {
            egui::Panel::right("file-models").default_size(380.0).resizable(true).show(ui, |ui| {
                // A panel takes its content's width. It keeps the width it has (the default or
                // the user's) whatever it shows: not the narrow "Counting…" of a big file for
                // good, nor wider than its table, which would push the sessions table over.
                ui.set_min_width(ui.available_width());
                egui::ScrollArea::both().id_salt("file-models-scroll").show(ui, |ui| {
                    for a in aggregates::file_models_ui(ui, f.models.as_deref(), &self.theme) {
                        match a {
                            AggregateAction::Copy { text, what } => {
                                self.commands.push(Command::CopyText { text, what })
                            }
                            AggregateAction::Focus(_) => {}
                        }
                    }
                });
            });
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            self.error_line(ui);
            let Some(f) = &self.file else { return };
            if f.list.sessions.is_empty() {
                ui.label(RichText::new("This file has no sessions and no traces yet.").color(self.theme.warning));
            }
            for w in f.list.warnings.iter().take(3) {
                let text = RichText::new(format!("Warning: {}", one_line(&w.message))).color(self.theme.warning);
                line_label(ui, text, f32::INFINITY);
            }
            let actions = self.table.ui(ui, &f.list.sessions, f.slow.as_ref(), self.state.sort, &self.theme);
            for a in actions {
                match a {
                    TableAction::Open(id) => self.commands.push(Command::OpenSession(id)),
                    TableAction::Sort(s) => self.commands.push(Command::SetSort(s)),
                }
            }
            if self.jobs.is_running(JobKind::Session) {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(self.progress.clone().unwrap_or_default());
                });
            }
        });
    }

    fn session_screen(&mut self, ui: &mut egui::Ui) {
        let theme = self.theme.clone();
        let now_ms = self.session.as_ref().and_then(|v| {
            let running = v.session.data.row.status == "running";
            let origin = v.session.timeline.origin?;
            let now = crate::time::Timestamp::from_chrono(chrono::Utc::now())?;
            let now_ms = now.ms_since(origin);
            // A "running" session silent for an hour is stale, not live: don't stretch it to now.
            let fresh = now_ms - v.session.timeline.end_ms < 3_600_000.0;
            (running && fresh).then_some(now_ms)
        });
        if now_ms.is_some() {
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        let Some(view) = self.session.as_mut() else { return };
        let mut commands = Vec::new();

        if self.state.show_summary {
            egui::Panel::right("summary-panel").default_size(360.0).resizable(true).show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("summary-scroll").show(ui, |ui| {
                    for a in aggregates::ui(ui, &view.session, &theme, now_ms) {
                        match a {
                            AggregateAction::Focus(span) => {
                                commands.push(Command::SelectSpan { span, scroll: true, zoom: true })
                            }
                            AggregateAction::Copy { text, what } => commands.push(Command::CopyText { text, what }),
                        }
                    }
                });
            });
        }
        if self.state.show_detail {
            egui::Panel::bottom("detail-panel").default_size(260.0).min_size(120.0).resizable(true).show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("detail-scroll").auto_shrink(false).show(ui, |ui| {
                    ui.style_mut().interaction.selectable_labels = true;
                    match view.detail_event.and_then(|e| view.session.data.events.get(e).map(|ev| (e, ev))) {
                        None => {
                            ui.label(RichText::new("Select a bar or a tree row to see its trace.").color(theme.muted));
                        }
                        Some((index, event)) => {
                            let span = view
                                .session
                                .timeline
                                .span_for_event(index)
                                .and_then(|s| view.session.timeline.spans.get(s));
                            let partner = span.and_then(|s| {
                                let other = if s.event == index { s.end_event? } else { s.event };
                                view.session.data.events.get(other).map(|e| (other, e))
                            });
                            let slow_note = view
                                .session
                                .timeline
                                .span_for_event(index)
                                .filter(|&s| view.slow.get(s).copied().unwrap_or(false))
                                .and_then(|s| view.session.timeline.spans.get(s))
                                .map(|s| {
                                    let tool = span_tool(s, &view.session.data.events).unwrap_or("tool");
                                    let p95 = self
                                        .file
                                        .as_ref()
                                        .and_then(|f| f.slow.as_ref())
                                        .and_then(|i| i.p95_by_tool.get(tool));
                                    match p95 {
                                        Some(p) => format!(
                                            "Slow: {} for {}, above its p95 of {} across the file",
                                            format_duration_ms(s.duration_ms()),
                                            one_line(tool),
                                            format_duration_ms(*p)
                                        ),
                                        None => format!("Slow: {}", format_duration_ms(s.duration_ms())),
                                    }
                                });
                            let loading = self.jobs.is_running(JobKind::Detail);
                            let input = DetailInput {
                                event_index: index,
                                event,
                                partner,
                                detail: view.detail.as_ref().filter(|d| d.id == event.id),
                                loading,
                                slow_note,
                                theme: &theme,
                            };
                            for a in view.detail_view.ui(ui, &input) {
                                match a {
                                    DetailAction::Copy { text, what } => {
                                        commands.push(Command::CopyText { text, what })
                                    }
                                    DetailAction::ShowEvent(e) => commands.push(Command::ShowEvent(e)),
                                }
                            }
                        }
                    }
                });
            });
        }
        egui::Panel::top("session-toolbar").show(ui, |ui| {
            let row = &view.session.data.row;
            if session_header::ui(ui, row, &theme) == Some(HeaderAction::CopyTask) {
                commands.push(Command::CopyText { text: row.task.clone(), what: "the task".to_owned() });
            }
            ui.horizontal_wrapped(|ui| {
                let search = ui.add(
                    egui::TextEdit::singleline(&mut view.search.text)
                        .id(egui::Id::unique("session-search"))
                        .hint_text("Search type, data, raw I/O ( / )")
                        .desired_width(220.0),
                );
                if search.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                    commands.push(Command::Search);
                }
                if ui.button("Search").clicked() {
                    commands.push(Command::Search);
                }
                if view.search.searched.is_some() {
                    let n = view.search.hit_count;
                    ui.label(if n == 1 { "1 hit".to_owned() } else { format!("{n} hits") });
                    if ui.small_button("▲").on_hover_text("Previous hit").clicked() {
                        commands.push(Command::PrevHit);
                    }
                    if ui.small_button("▼").on_hover_text("Next hit").clicked() {
                        commands.push(Command::NextHit);
                    }
                    if ui.checkbox(&mut view.search.only_matches, "Only matches").changed() {
                        view.refresh_rows();
                    }
                }
                ui.separator();
                let mut changed = false;
                ui.menu_button(
                    if view.filter.kinds.is_empty() {
                        "All types".to_owned()
                    } else {
                        format!("{} types", view.filter.kinds.len())
                    },
                    |ui| {
                        if ui.button("All types").clicked() {
                            view.filter.kinds.clear();
                            changed = true;
                        }
                        for kind in view.session.summary.event_counts.keys() {
                            let mut on = view.filter.kinds.contains(kind);
                            if ui.checkbox(&mut on, one_line(kind)).changed() {
                                if on {
                                    view.filter.kinds.insert(kind.clone());
                                } else {
                                    view.filter.kinds.remove(kind);
                                }
                                changed = true;
                            }
                        }
                    },
                );
                changed |= ui.checkbox(&mut view.filter.errors_only, "Errors only").changed();
                changed |= ui.checkbox(&mut view.filter.slow_only, "Slow only").changed();
                let min_label = ui.label("Min ms:");
                let min_edit = ui.add(egui::TextEdit::singleline(&mut view.min_duration_text).desired_width(50.0));
                if min_edit.labelled_by(min_label.id).changed() {
                    view.filter.min_duration_ms =
                        view.min_duration_text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                    changed = true;
                }
                let slow_label =
                    ui.label("Slow above ms:").on_hover_text("Also count as slow any call longer than this");
                let slow_edit = ui.add(egui::TextEdit::singleline(&mut view.threshold_text).desired_width(50.0));
                if slow_edit.labelled_by(slow_label.id).changed() {
                    self.state.slow_threshold_ms =
                        view.threshold_text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
                    view.recompute_slow(self.file.as_ref().and_then(|f| f.slow.as_ref()), self.state.slow_threshold_ms);
                    changed = true;
                }
                if changed {
                    view.refresh_rows();
                }
                ui.separator();
                if ui.button("Fit").on_hover_text("Show the whole session (double-click the chart)").clicked() {
                    commands.push(Command::Fit);
                }
                if let Some(sel) = view.selected
                    && ui.button("Zoom to selection").clicked()
                {
                    commands.push(Command::ZoomTo(sel));
                }
                if ui.button("Expand all").clicked() {
                    commands.push(Command::ExpandAll);
                }
                if ui.button("Collapse all").clicked() {
                    commands.push(Command::CollapseAll);
                }
                ui.label(
                    RichText::new(format!("{} of {} rows", view.rows.len(), view.session.timeline.spans.len()))
                        .color(theme.muted),
                );
            });
        });
        let input = RowsInput {
            session: &view.session,
            rows: &view.rows,
            collapsed: &view.collapsed,
            selected: view.selected,
            hits: &view.search.hits,
            slow: &view.slow,
            now_ms,
            theme: &theme,
        };
        let mut row_actions = Vec::new();
        if self.state.show_tree {
            egui::Panel::left("tree-panel").default_size(340.0).resizable(true).show(ui, |ui| {
                row_actions.extend(view.tree.ui(ui, &input));
            });
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            if let Some(e) = &self.error {
                // An error may quote the file: bounded, so it wraps over a few lines at most.
                ui.label(RichText::new(format!("Error: {}", one_line(e))).color(theme.error));
            }
            row_actions.extend(view.gantt.ui(ui, &input));
        });
        for a in row_actions {
            commands.push(match a {
                RowAction::Select(span) => Command::SelectSpan { span, scroll: true, zoom: false },
                RowAction::ToggleCollapse(span) => Command::ToggleCollapse(span),
                RowAction::ZoomTo(span) => Command::ZoomTo(span),
            });
        }
        self.commands.extend(commands);
    }

    fn toasts_ui(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        self.toasts.retain(|t| t.until > now);
        if self.toasts.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::unique("toasts")).anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -40.0)).show(
            ctx,
            |ui| {
                for t in &self.toasts {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.label(one_line(&t.text));
                    });
                }
            },
        );
    }

    /// One frame: replies, input, panels, then the commands they produced.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.theme = Theme::new(ui.visuals().dark_mode);
        self.apply_replies(&ctx);
        self.run_commands(&ctx);
        self.handle_input(&ctx);
        self.top_bar(ui);
        self.status_bar(ui);
        match self.screen {
            Screen::Welcome => {
                egui::CentralPanel::default_margins().show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        if let Some(p) = &self.opening {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label(format!("Opening {}…", p.display()));
                            });
                        }
                        let actions = self.welcome.ui(
                            ui,
                            &self.state.recent,
                            self.dialog_failed,
                            self.error.as_deref(),
                            &self.theme,
                        );
                        for a in actions {
                            self.commands.push(match a {
                                WelcomeAction::OpenDialog => Command::OpenDialog,
                                WelcomeAction::OpenDemo => Command::OpenDemo,
                                WelcomeAction::Open(p) => Command::Open(p),
                                WelcomeAction::ForgetRecent(p) => Command::ForgetRecent(p),
                            });
                        }
                    });
                });
            }
            Screen::Sessions => self.sessions_screen(ui),
            Screen::Session => self.session_screen(ui),
        }
        self.toasts_ui(&ctx);
        self.run_commands(&ctx);
        if !self.jobs.is_idle() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}

impl eframe::App for TraceApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STATE_KEY, &self.state);
    }
}

/// Fonts: the built-in ones, with the monospace font's arrows and symbols as a fallback for
/// proportional text. Trace data may hold any script: what no font draws shows as a box
/// instead of stopping the app.
pub fn setup_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        family.push("Hack".to_owned());
    }
    ctx.set_fonts(fonts);
    ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
}

/// Starts the desktop app.
///
/// # Errors
/// When the window cannot be created (no display, no OpenGL).
pub fn run(args: OpenArgs) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")).ok();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("trace-inspector")
        .with_inner_size([1400.0, 900.0])
        .with_min_inner_size([640.0, 400.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions { viewport, ..eframe::NativeOptions::default() };
    eframe::run_native("trace-inspector", options, Box::new(move |cc| Ok(Box::new(TraceApp::new(cc, args)))))
        .map_err(|e| anyhow::anyhow!("cannot start the window: {e}"))
}
