//! The session screen: the summary panel, the detail panel, the toolbar (search, filters,
//! zoom), and the Gantt chart of one session, whose label column is the session's tree.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::Duration;

use egui::{Key, RichText};

use crate::analysis::axis::CutAxis;
use crate::analysis::stalls::StallParams;
use crate::app::chrome::error_line;
use crate::app::command::{Command, CompareCommand};
use crate::app::state::Panel;
use crate::format::format_slow_reason;
use crate::session_model::{SessionModel, SlowRule};
use crate::ui::aggregates::{self, AggregateAction};
use crate::ui::detail::{DetailAction, DetailInput, DetailView};
use crate::ui::diagnosis::{self, DiagnosisAction};
use crate::ui::gantt::GanttView;
use crate::ui::rows::{RowAction, RowsInput};
use crate::ui::session_header::{self, HeaderAction};
use crate::ui::text::one_line;
use crate::ui::theme::Theme;

/// The share of the window's width the summary panel starts at.
const SUMMARY_SHARE: f32 = 0.18;

/// The search box's id, which `/` focuses.
pub const SEARCH_ID: &str = "session-search";

/// An open session: its model and the state of the widgets that show it.
pub struct SessionScreen {
    pub model: SessionModel,
    pub gantt: GanttView,
    pub detail_view: DetailView,
    /// The text of the minimum-duration box, as typed.
    pub min_duration_text: String,
    /// The text of the slow-threshold box, as typed; the threshold itself is saved state.
    pub threshold_text: String,
    /// The chart draws the critical path and dims the rest.
    pub show_path: bool,
    /// The context chart's x axis is time (else the call number).
    pub context_by_time: bool,
    /// The path typed in "Compare with…" for a run of another file.
    pub other_file_text: String,
}

/// The screen reads as its model: `screen.rows`, `screen.selected`…
impl Deref for SessionScreen {
    type Target = SessionModel;
    fn deref(&self) -> &SessionModel {
        &self.model
    }
}

impl DerefMut for SessionScreen {
    fn deref_mut(&mut self) -> &mut SessionModel {
        &mut self.model
    }
}

/// How a threshold shows in its box.
fn threshold_text(threshold_ms: Option<f64>) -> String {
    threshold_ms.map(|t| t.to_string()).unwrap_or_default()
}

impl SessionScreen {
    /// A freshly opened session; the threshold box shows the saved threshold.
    #[must_use]
    pub fn new(model: SessionModel, threshold_ms: Option<f64>) -> Self {
        Self {
            model,
            gantt: GanttView::new(),
            detail_view: DetailView::default(),
            min_duration_text: String::new(),
            threshold_text: threshold_text(threshold_ms),
            show_path: false,
            context_by_time: false,
            other_file_text: String::new(),
        }
    }

    /// A reloaded copy of the same session in place of this one, keeping the user's place:
    /// zoom, scroll, filters, search text, and the selection and collapsed spans by event id.
    #[must_use]
    pub fn reloaded(mut self, mut model: SessionModel, rule: SlowRule<'_>) -> Self {
        // `model` becomes the old one, the screen holds the new one.
        std::mem::swap(&mut self.model, &mut model);
        self.model.keep_place_of(model);
        self.model.rebuild(rule);
        self
    }
}

/// What the session screen shows besides the session.
pub struct SessionInput<'a> {
    pub show_summary: bool,
    pub show_detail: bool,
    /// The label column's width as the user last dragged it (saved state).
    pub label_width: Option<f32>,
    /// The file's sessions, for "Compare with…".
    pub sessions: &'a [std::sync::Arc<crate::model::SessionRow>],
    /// Another file's sessions, once listed for "Compare with…".
    pub other_file: Option<(&'a Path, &'a [std::sync::Arc<crate::model::SessionRow>])>,
    /// The slow rule (the file-wide p95s and the threshold), to say why a call is slow.
    pub slow_rule: SlowRule<'a>,
    pub detail_loading: bool,
    /// What counts as a stall (saved state; the summary's Stalls section sets it).
    pub stall_params: StallParams,
    /// The chart cuts the stalls out of its time axis (saved state).
    pub collapse_idle: bool,
    /// Context windows the user set, by model key (saved state).
    pub context_windows: &'a std::collections::BTreeMap<String, u64>,
    pub error: Option<&'a str>,
    pub opening: Option<&'a Path>,
    pub theme: &'a Theme,
}

/// The time "now" on the session's axis, while the session runs (its open spans grow to it).
fn now_on_axis(model: &SessionModel) -> Option<f64> {
    let running = model.session.data.row.status == "running";
    let origin = model.session.timeline.origin?;
    let now = crate::time::Timestamp::from_chrono(chrono::Utc::now())?;
    let now_ms = now.ms_since(origin);
    // A "running" session silent for an hour is stale, not live: don't stretch it to now.
    let fresh = now_ms - model.session.timeline.end_ms < 3_600_000.0;
    (running && fresh).then_some(now_ms)
}

/// Draws the session screen.
pub fn ui(ui: &mut egui::Ui, screen: &mut SessionScreen, input: &SessionInput<'_>) -> Vec<Command> {
    let theme = input.theme;
    let now_ms = now_on_axis(&screen.model);
    if now_ms.is_some() {
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
    let mut commands = Vec::new();
    let SessionScreen {
        model,
        gantt,
        detail_view,
        min_duration_text,
        threshold_text,
        show_path,
        context_by_time,
        other_file_text,
    } = screen;
    // The chart is what this screen is for: the side panels start at a share of the window
    // (the user may widen them) and never take more than a fair one, their content scrolling.
    let width = ui.available_width();
    let height = ui.available_height();
    if input.show_summary {
        egui::Panel::right("summary-panel")
            .default_size((width * SUMMARY_SHARE).clamp(200.0, 320.0))
            .min_size(160.0)
            .max_size(width * 0.4)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::both().id_salt("summary-scroll").show(ui, |ui| {
                    for a in aggregates::ui(ui, &model.session, input.slow_rule, theme, now_ms) {
                        commands.push(match a {
                            AggregateAction::Focus(span) => Command::SelectSpan { span, scroll: true, zoom: true },
                            AggregateAction::Copy { text, what } => Command::CopyText { text, what },
                        });
                    }
                    let mut params = input.stall_params;
                    let mut windows = input.context_windows.clone();
                    let settings = diagnosis::DiagnosisSettings {
                        stalls: &mut params,
                        windows: &mut windows,
                        by_time: context_by_time,
                    };
                    // The tables above may be wider than the panel (they scroll sideways); the
                    // diagnosis wraps its lines and fits its chart to what the panel shows.
                    let visible = ui.clip_rect().width() - ui.spacing().item_spacing.x;
                    let actions = ui
                        .vertical(|ui| {
                            ui.set_max_width(visible);
                            diagnosis::ui(ui, &model.session, &model.diagnosis, settings, theme)
                        })
                        .inner;
                    for a in actions {
                        commands.push(match a {
                            DiagnosisAction::Focus(span) => Command::SelectSpan { span, scroll: true, zoom: true },
                            DiagnosisAction::Zoom(start, end) => Command::ZoomRange(start, end),
                        });
                    }
                    if params != input.stall_params {
                        commands.push(Command::SetStallParams(params));
                    }
                    if windows != *input.context_windows {
                        commands.push(Command::SetContextWindows(windows));
                    }
                });
            });
    }
    // The detail opens when a trace is selected and takes no room before; dragged shut, it
    // hides like its toggle in the top bar.
    let mut detail_open = input.show_detail && model.detail_event.is_some();
    let was_open = detail_open;
    egui::Panel::bottom("detail-panel")
        .default_size((height * 0.45).max(160.0))
        .min_size(120.0)
        .max_size(height * 0.8)
        .resizable(true)
        .show_collapsible(ui, &mut detail_open, |ui| {
            egui::ScrollArea::vertical().id_salt("detail-scroll").auto_shrink(false).show(ui, |ui| {
                ui.style_mut().interaction.selectable_labels = true;
                commands.extend(detail_ui(ui, model, detail_view, input));
            });
        });
    if was_open && !detail_open {
        commands.push(Command::ShowPanel(Panel::Detail, false));
    }
    egui::Panel::top("session-toolbar").show(ui, |ui| {
        let row = &model.session.data.row;
        if session_header::ui(ui, row, theme) == Some(HeaderAction::CopyTask) {
            commands.push(Command::CopyText { text: row.task.clone(), what: "the task".to_owned() });
        }
        // A running session gone quiet for longer than its own rhythm says so under its title.
        let now = crate::time::Timestamp::from_chrono(chrono::Utc::now());
        if let Some(stall) = now.and_then(|now| model.diagnosis.stall_at(now)) {
            let text = one_line(&crate::format::format_running_stall(&stall)).into_owned();
            ui.label(RichText::new(format!("⚠ {text}")).color(theme.warning));
        }
        ui.horizontal_wrapped(|ui| {
            let texts = (&mut *min_duration_text, &mut *threshold_text, &mut *other_file_text);
            commands.extend(toolbar_ui(ui, model, input, texts, show_path));
        });
    });
    // The stalls cut out of the axis: worked out each frame from a handful of stalls.
    let cuts = if input.collapse_idle {
        let extent = model.session.timeline.end_ms.max(now_ms.unwrap_or(0.0));
        CutAxis::new(model.diagnosis.stalls.iter().map(|s| (s.start_ms, s.end_ms)), extent)
    } else {
        CutAxis::NONE
    };
    let rows_input = RowsInput {
        session: &model.session,
        rows: &model.rows,
        collapsed: &model.collapsed,
        selected: model.selected,
        hits: &model.search.hits,
        slow: &model.slow,
        slow_rule: input.slow_rule,
        now_ms,
        on_path: if *show_path { &model.on_path } else { &[] },
        loop_calls: &model.loop_calls,
        cuts: &cuts,
        theme,
    };
    let mut row_actions = Vec::new();
    gantt.set_label_width(input.label_width);
    egui::CentralPanel::default_margins().show(ui, |ui| {
        error_line(ui, input.error, input.opening, theme);
        row_actions.extend(gantt.ui(ui, &rows_input));
    });
    if gantt.label_width() != input.label_width {
        commands.push(Command::SetLabelWidth(gantt.label_width()));
    }
    commands.extend(row_actions.into_iter().map(|a| match a {
        RowAction::Select(span) => Command::SelectSpan { span, scroll: true, zoom: false },
        RowAction::ToggleCollapse(span) => Command::ToggleCollapse(span),
        RowAction::ZoomTo(span) => Command::ZoomTo(span),
    }));
    commands
}

/// The detail panel: the selected trace, its partner, and why it is slow.
fn detail_ui(ui: &mut egui::Ui, model: &SessionModel, view: &mut DetailView, input: &SessionInput<'_>) -> Vec<Command> {
    let theme = input.theme;
    let Some((index, event)) = model.detail_event.and_then(|e| model.session.data.events.get(e).map(|ev| (e, ev)))
    else {
        ui.label(RichText::new("Select a row or a bar to see its trace.").color(theme.muted));
        return Vec::new();
    };
    let timeline = &model.session.timeline;
    let events = &model.session.data.events;
    let span = timeline.span_for_event(index).and_then(|s| timeline.spans.get(s));
    let partner = span.and_then(|s| {
        let other = if s.event == index { s.end_event.get()? } else { s.event };
        events.get(other).map(|e| (other, e))
    });
    let slow_note = timeline
        .span_for_event(index)
        .filter(|&s| model.slow.get(s).copied().unwrap_or(false))
        .and_then(|s| timeline.spans.get(s))
        .and_then(|s| input.slow_rule.explain(s, events))
        .map(|r| format!("Slow: {}", one_line(&format_slow_reason(&r))));
    let detail_input = DetailInput {
        event_index: index,
        event,
        parent_id: model.session.data.parent_id(index),
        partner,
        detail: model.detail.as_ref().filter(|d| d.id == event.id),
        loading: input.detail_loading,
        slow_note,
        theme,
    };
    view.ui(ui, &detail_input)
        .into_iter()
        .map(|a| match a {
            DetailAction::Copy { text, what } => Command::CopyText { text, what },
            DetailAction::ShowEvent(e) => Command::ShowEvent(e),
        })
        .collect()
}

/// The toolbar: search, filters, zoom, expand and collapse. Filter changes become commands;
/// only the text boxes' own text changes here.
fn toolbar_ui(
    ui: &mut egui::Ui,
    model: &mut SessionModel,
    input: &SessionInput<'_>,
    (min_duration_text, threshold_text, other_text): (&mut String, &mut String, &mut String),
    show_path: &mut bool,
) -> Vec<Command> {
    let theme = input.theme;
    let mut commands = Vec::new();
    let search = ui.add(
        egui::TextEdit::singleline(&mut model.search.text)
            .id(egui::Id::unique(SEARCH_ID))
            .hint_text("Search type, data, raw I/O ( / )")
            .desired_width(220.0),
    );
    if search.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
        // Enter runs a new search, then steps through its hits (Shift+Enter back), the box
        // keeping the focus as in a browser's find bar.
        let same = model.search.searched.as_deref() == Some(model.search.text.trim());
        let back = ui.input(|i| i.modifiers.shift);
        commands.push(match (same, back) {
            (true, false) => Command::NextHit,
            (true, true) => Command::PrevHit,
            (false, _) => Command::Search,
        });
        search.request_focus();
    }
    if ui.button("Search").clicked() {
        commands.push(Command::Search);
    }
    let model = &*model;
    commands.extend(compare_menu(ui, model, input, other_text));
    if model.search.searched.is_some() {
        let n = model.search.hit_count;
        ui.label(if n == 1 { "1 hit".to_owned() } else { format!("{n} hits") });
        if ui.small_button("▲").on_hover_text("Previous hit").clicked() {
            commands.push(Command::PrevHit);
        }
        if ui.small_button("▼").on_hover_text("Next hit").clicked() {
            commands.push(Command::NextHit);
        }
        let mut only = model.search.only_matches;
        if ui.checkbox(&mut only, "Only matches").changed() {
            commands.push(Command::SetOnlyMatches(only));
        }
    }
    ui.separator();
    let mut filter = model.filter.clone();
    let mut changed = false;
    let types = if filter.kinds.is_empty() { "All types".to_owned() } else { format!("{} types", filter.kinds.len()) };
    ui.menu_button(types, |ui| {
        if ui.button("All types").clicked() {
            filter.kinds.clear();
            changed = true;
        }
        for kind in model.session.summary.event_counts.keys() {
            let mut on = filter.kinds.contains(kind);
            if ui.checkbox(&mut on, one_line(kind)).changed() {
                if on {
                    filter.kinds.insert(kind.clone());
                } else {
                    filter.kinds.remove(kind);
                }
                changed = true;
            }
        }
    });
    changed |= ui.checkbox(&mut filter.errors_only, "Errors only").changed();
    changed |= ui.checkbox(&mut filter.slow_only, "Slow only").changed();
    let min_label = ui.label("Min ms:");
    let min_edit = ui.add(egui::TextEdit::singleline(min_duration_text).desired_width(50.0));
    if min_edit.labelled_by(min_label.id).changed() {
        filter.min_duration_ms = min_duration_text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        changed = true;
    }
    if changed {
        commands.push(Command::SetFilter(filter));
    }
    let slow_label = ui.label("Slow above ms:").on_hover_text("Also count as slow any call longer than this");
    let slow_edit = ui.add(egui::TextEdit::singleline(threshold_text).desired_width(50.0));
    if slow_edit.labelled_by(slow_label.id).changed() {
        let threshold = threshold_text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
        commands.push(Command::SetSlowThreshold(threshold));
    }
    ui.separator();
    if ui.button("Fit").on_hover_text("Show the whole session (double-click the chart)").clicked() {
        commands.push(Command::Fit);
    }
    if let Some(sel) = model.selected
        && ui.button("Zoom to selection").clicked()
    {
        commands.push(Command::ZoomTo(sel));
    }
    let path = &model.diagnosis.critical_path;
    let path_hint = match path.missing {
        Some(why) => format!("No critical path: {}", why.reason()),
        None => "Draw the chain of spans that set the session's wall time; dim the rest".to_owned(),
    };
    let toggle = ui
        .add_enabled(path.missing.is_none(), egui::Button::selectable(*show_path, "Critical path"))
        .on_hover_text(path_hint)
        .on_disabled_hover_text(path.missing.map_or("", |why| why.reason()));
    if toggle.clicked() {
        *show_path = !*show_path;
    }
    if !model.diagnosis.stalls.is_empty() {
        let mut collapse = input.collapse_idle;
        let n = model.diagnosis.stalls.len();
        let hint = format!(
            "Cut the {} from the time axis (a narrow band marked with the idle time), so a long run fits",
            if n == 1 { "stall".to_owned() } else { format!("{n} stalls") }
        );
        if ui.checkbox(&mut collapse, "Collapse idle").on_hover_text(hint).changed() {
            commands.push(Command::SetCollapseIdle(collapse));
        }
    }
    if !model.diagnosis.loops.loops.is_empty() {
        let mut fold = model.fold_loops;
        let n = model.diagnosis.loops.loops.len();
        let label = if n == 1 { "Fold the loop".to_owned() } else { format!("Fold {n} loops") };
        if ui.checkbox(&mut fold, label).on_hover_text("Show each loop as its first call with a count").changed() {
            commands.push(Command::SetFoldLoops(fold));
        }
    }
    if ui.button("Expand all").clicked() {
        commands.push(Command::ExpandAll);
    }
    if ui.button("Collapse all").clicked() {
        commands.push(Command::CollapseAll);
    }
    ui.label(
        RichText::new(format!("{} of {} rows", model.rows.len(), model.session.timeline.spans.len()))
            .color(theme.muted),
    );
    commands
}

/// "Compare with…": the other runs of the file, those of the same task first, newest first,
/// then those of another file once one is listed (typed path or Browse…); choosing one
/// compares this session (A) with it (B).
fn compare_menu(
    ui: &mut egui::Ui,
    model: &SessionModel,
    input: &SessionInput<'_>,
    other_text: &mut String,
) -> Vec<Command> {
    let theme = input.theme;
    let this = &model.session.data.row;
    let mut commands = Vec::new();
    let response = ui.menu_button("Compare with…", |ui| {
        ui.set_min_width(460.0);
        ui.horizontal(|ui| {
            let label = ui.label("Another file:");
            let field = ui.add(egui::TextEdit::singleline(other_text).hint_text("path to a .db").desired_width(220.0));
            let field = field.labelled_by(label.id);
            let typed = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (ui.button("List runs").clicked() || typed) && !other_text.trim().is_empty() {
                commands.push(Command::Compare(CompareCommand::ListOther(other_text.trim().into())));
            }
            if ui.button("Browse…").clicked() {
                commands.push(Command::Compare(CompareCommand::BrowseOther));
            }
        });
        // One list, headers included, drawn a screenful at a time: a file may hold many runs.
        let mut entries: Vec<Entry<'_>> = Vec::new();
        let here = input.sessions.iter().filter(|s| s.id != this.id);
        let (same, rest): (Vec<_>, Vec<_>) = here.partition(|s| s.task == this.task);
        section(&mut entries, "Same task".to_owned(), same, false);
        section(&mut entries, "Other runs".to_owned(), rest, false);
        if let Some((path, runs)) = input.other_file {
            let name =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            let name = one_line(&name).into_owned();
            let (same, rest): (Vec<_>, Vec<_>) = runs.iter().partition(|s| s.task == this.task);
            section(&mut entries, format!("Same task in {name}"), same, true);
            section(&mut entries, format!("Other runs in {name}"), rest, true);
        }
        let mut pick = None;
        let row_height = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
        egui::ScrollArea::vertical().max_height(420.0).show_rows(ui, row_height, entries.len(), |ui, range| {
            for entry in entries.get(range).unwrap_or_default() {
                match entry {
                    Entry::Header(text) => {
                        ui.label(RichText::new(text).strong());
                    }
                    Entry::Run(s, other) if compare_choice(ui, s, theme) => pick = Some((s.id.clone(), *other)),
                    Entry::Run(..) => {}
                }
            }
        });
        pick
    });
    response.response.on_hover_text("Compare this run (A) with another (B), step by step");
    match (response.inner.flatten(), input.other_file) {
        (Some((b, true)), Some((path, _))) => commands.push(Command::Compare(CompareCommand::StartWith {
            a: this.id.clone(),
            b_path: path.to_owned(),
            b,
        })),
        (Some((b, _)), _) => commands.push(Command::Compare(CompareCommand::Start { a: this.id.clone(), b })),
        (None, _) => {}
    }
    commands
}

/// Adds a section of runs to "Compare with…", under its title and count.
fn section<'a>(
    entries: &mut Vec<Entry<'a>>,
    title: String,
    runs: Vec<&'a std::sync::Arc<crate::model::SessionRow>>,
    other: bool,
) {
    let none = if runs.is_empty() { " — none" } else { "" };
    entries.push(Entry::Header(format!("{title} ({}){none}", runs.len())));
    entries.extend(runs.into_iter().map(|r| Entry::Run(r, other)));
}

/// A line of "Compare with…": a section's title, or a run (of another file when true).
enum Entry<'a> {
    Header(String),
    Run(&'a crate::model::SessionRow, bool),
}

/// One run in "Compare with…": its start, status, length and task; true when clicked.
fn compare_choice(ui: &mut egui::Ui, s: &crate::model::SessionRow, theme: &Theme) -> bool {
    let started = s.started.map_or_else(|| "no start".to_owned(), |t| t.short());
    let length = s.duration_ms.map_or_else(|| "running".to_owned(), crate::format::format_duration_ms);
    let text = format!("{started}  {}  {length}  {}", one_line(&s.status), crate::ui::text::one_line_max(&s.task, 60));
    let clicked = ui.add(egui::Button::new(RichText::new(text).color(theme.status(&s.status))).truncate()).clicked();
    if clicked {
        ui.close();
    }
    clicked
}
