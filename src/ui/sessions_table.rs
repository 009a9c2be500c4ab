//! The session list: a sortable, filterable, virtualized table (egui_extras).

use egui::{Key, RichText, Sense};
use egui_extras::{Column, TableBuilder};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::analysis::SlowIndex;
use crate::analysis::loops::LoopCounts;
use crate::analysis::sessions::{self, ListFilter, Only, SessionKey, SessionSort, TimeRange};
use crate::format::{format_cost, format_count, format_duration_ms, format_running_stall, format_waste};
use crate::ids;
use crate::model::SessionRow;
use crate::ui::text::{line, line_label, one_line, one_line_max};
use crate::ui::theme::Theme;

/// Columns of the table; every one sorts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortColumn {
    #[default]
    Started,
    Task,
    Status,
    Events,
    Duration,
    TokensIn,
    TokensOut,
    Cost,
    Errors,
    Slow,
    Loops,
}

impl SortColumn {
    /// All columns in display order.
    pub const ALL: [SortColumn; 11] = [
        SortColumn::Started,
        SortColumn::Task,
        SortColumn::Status,
        SortColumn::Events,
        SortColumn::Duration,
        SortColumn::TokensIn,
        SortColumn::TokensOut,
        SortColumn::Cost,
        SortColumn::Errors,
        SortColumn::Slow,
        SortColumn::Loops,
    ];

    /// Header text.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Started => "Started",
            SortColumn::Task => "Task",
            SortColumn::Status => "Status",
            SortColumn::Events => "Events",
            SortColumn::Duration => "Duration",
            SortColumn::TokensIn => "Tokens in",
            SortColumn::TokensOut => "Tokens out",
            SortColumn::Cost => "Cost",
            SortColumn::Errors => "Errors",
            SortColumn::Slow => "Slow calls",
            SortColumn::Loops => "Loops",
        }
    }
}

/// Sort order, persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub column: SortColumn,
    pub ascending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self { column: SortColumn::Started, ascending: false }
    }
}

/// Characters shown of a value in a column that sizes to its content (start, status).
const SHORT_CHARS: usize = 24;

/// Status filter choices.
pub const STATUSES: [&str; 5] = ["running", "completed", "failed", "cancelled", "unknown"];

/// What the table asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum TableAction {
    Open(String),
    Sort(Sort),
    /// Ctrl+click or Shift+click: mark (or unmark) a session to compare.
    Mark(String),
}

/// Sums over the sessions the table shows (its filters applied).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ShownTotals {
    pub events: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub errors: u64,
}

impl ShownTotals {
    /// The sums over `rows[i]` for every `i` in `order`.
    #[must_use]
    pub fn of(rows: &[Arc<SessionRow>], order: &[usize]) -> Self {
        order.iter().filter_map(|&i| rows.get(i)).fold(Self::default(), |t, r| Self {
            events: t.events.saturating_add(r.event_count),
            input_tokens: t.input_tokens.saturating_add(r.total_input_tokens),
            output_tokens: t.output_tokens.saturating_add(r.total_output_tokens),
            cost_usd: t.cost_usd + r.total_cost_usd,
            errors: t.errors.saturating_add(r.error_count),
        })
    }

    /// One line for the filter bar.
    #[must_use]
    pub fn line(&self) -> String {
        format!(
            "{} events · {} in / {} out tokens · {} · {} errors",
            format_count(i64::try_from(self.events).unwrap_or(i64::MAX)),
            format_count(self.input_tokens),
            format_count(self.output_tokens),
            format_cost(self.cost_usd),
            self.errors
        )
    }
}

/// What a prepared order was computed for: rows, first id, sort, filter, status, slow calls,
/// and the revision of the range and set filters.
type OrderKey = (usize, Option<String>, Sort, String, Option<String>, usize, u64, u64);

/// View state of the table: filter text, status filter, cursor and the prepared row order.
#[derive(Debug, Default)]
pub struct SessionsTable {
    pub filter: String,
    /// Empty = all statuses.
    pub status: Option<String>,
    /// Row under the keyboard cursor (index into `order`).
    pub cursor: Option<usize>,
    /// Sessions marked to compare (Ctrl+click), the first marked first; at most two.
    pub marked: Vec<String>,
    /// Sessions started in this range (brushed on the Trends screen).
    range: Option<TimeRange>,
    /// Only these sessions (a task group's runs).
    only: Option<Only>,
    /// Counts changes of `range` and `only`.
    narrowed: u64,
    /// Counts the orders prepared: what depends on the rows shown compares it.
    generation: u64,
    order: Vec<usize>,
    totals: ShownTotals,
    /// What `order` was computed for: (rows len, first id, sort, filter, status, slow calls).
    key: Option<OrderKey>,
    scroll_to_cursor: bool,
}

impl SortColumn {
    /// The core's sort key for this column.
    #[must_use]
    pub fn key(self) -> SessionKey {
        match self {
            SortColumn::Started => SessionKey::Started,
            SortColumn::Task => SessionKey::Task,
            SortColumn::Status => SessionKey::Status,
            SortColumn::Events => SessionKey::Events,
            SortColumn::Duration => SessionKey::Duration,
            SortColumn::TokensIn => SessionKey::TokensIn,
            SortColumn::TokensOut => SessionKey::TokensOut,
            SortColumn::Cost => SessionKey::Cost,
            SortColumn::Errors => SessionKey::Errors,
            SortColumn::Slow => SessionKey::Slow,
            SortColumn::Loops => SessionKey::Loops,
        }
    }
}

/// The sessions shown, in the table's order: the list's one rule ([`sessions::sorted_indices`]).
#[must_use]
pub fn sorted_indices(
    rows: &[Arc<SessionRow>],
    slow: Option<&SlowIndex>,
    sort: Sort,
    filter: &str,
    status: Option<&str>,
) -> Vec<usize> {
    sessions::sorted_indices(
        rows,
        slow,
        SessionSort { key: sort.column.key(), ascending: sort.ascending },
        filter,
        status,
    )
}

impl SessionsTable {
    /// Marks a session to compare, or unmarks it; a third mark drops the oldest.
    pub fn toggle_mark(&mut self, id: &str) {
        if let Some(at) = self.marked.iter().position(|m| m == id) {
            self.marked.remove(at);
        } else {
            if self.marked.len() == 2 {
                self.marked.remove(0);
            }
            self.marked.push(id.to_owned());
        }
    }

    /// The row order shown (indices into the session list).
    #[must_use]
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Sums over the rows shown.
    #[must_use]
    pub fn totals(&self) -> ShownTotals {
        self.totals
    }

    /// The time range the list is narrowed to.
    #[must_use]
    pub fn range(&self) -> Option<TimeRange> {
        self.range
    }

    /// Narrows the list to sessions started in `range` (or stops).
    pub fn set_range(&mut self, range: Option<TimeRange>) {
        self.range = range;
        self.narrowed += 1;
    }

    /// The set of sessions the list is narrowed to.
    #[must_use]
    pub fn only(&self) -> Option<&Only> {
        self.only.as_ref()
    }

    /// Narrows the list to these sessions (or stops).
    pub fn set_only(&mut self, only: Option<Only>) {
        self.only = only;
        self.narrowed += 1;
    }

    /// Every filter of the table, as the core applies it.
    #[must_use]
    pub fn list_filter(&self) -> ListFilter {
        ListFilter {
            text: self.filter.clone(),
            status: self.status.clone(),
            range: self.range,
            only: self.only.clone(),
        }
    }

    /// Whether any filter narrows the list.
    #[must_use]
    pub fn is_filtered(&self) -> bool {
        !self.filter.trim().is_empty() || self.status.is_some() || self.range.is_some() || self.only.is_some()
    }

    /// Changes whenever the order shown is prepared again.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Recomputes the order when the data, sort or filters changed.
    pub fn prepare(
        &mut self,
        rows: &[Arc<SessionRow>],
        slow: Option<&SlowIndex>,
        loops: Option<&LoopCounts>,
        sort: Sort,
    ) {
        let key = (
            rows.len(),
            rows.first().map(|r| r.id.clone()),
            sort,
            self.filter.clone(),
            self.status.clone(),
            slow.map_or(0, |s| s.calls),
            self.narrowed,
            // New loop counts re-sort only a list sorted by them.
            if sort.column == SortColumn::Loops { loops.map_or(0, |l| l.generation) } else { 0 },
        );
        if self.key.as_ref() != Some(&key) {
            let filter = self.list_filter();
            let by = SessionSort { key: sort.column.key(), ascending: sort.ascending };
            self.order = sessions::sorted_indices_where(rows, slow, loops, by, &filter);
            self.totals = ShownTotals::of(rows, &self.order);
            self.key = Some(key);
            self.generation += 1;
            if self.cursor.is_some_and(|c| c >= self.order.len()) {
                self.cursor = self.order.len().checked_sub(1);
            }
        }
    }

    /// Forces a re-sort on the next frame (after a reload with the same length).
    pub fn invalidate(&mut self) {
        self.key = None;
    }

    /// Draws the filter bar and the table.
    /// `loops` holds the sessions' loop counts as far as they are counted ("…" for the rest).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        rows: &[Arc<SessionRow>],
        slow: Option<&SlowIndex>,
        loops: Option<&LoopCounts>,
        sort: Sort,
        theme: &Theme,
    ) -> Vec<TableAction> {
        let mut actions = Vec::new();
        // The order is ready before the count above it is drawn (a list that just arrived is
        // not "0 of 6,000"); edits below prepare it again, when they change it.
        self.prepare(rows, slow, loops, sort);
        // Wraps in a narrow window: a brushed range or a task's runs add to it.
        ui.horizontal_wrapped(|ui| {
            ui.label("Filter:");
            let edit = egui::TextEdit::singleline(&mut self.filter).hint_text("task or id").desired_width(220.0);
            ui.add(edit).on_hover_text("Show sessions whose task or id contains this text");
            egui::ComboBox::new("status-filter", "Status")
                .selected_text(self.status.as_deref().unwrap_or("any status"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.status, None, "any status");
                    for s in STATUSES {
                        ui.selectable_value(&mut self.status, Some(s.to_owned()), s);
                    }
                });
            ui.separator();
            self.narrowing_ui(ui, theme);
            let shown = format!(
                "{} of {} sessions shown",
                format_count(self.order.len() as i64),
                format_count(rows.len() as i64)
            );
            ui.label(RichText::new(shown).color(theme.muted));
        });
        self.prepare(rows, slow, loops, sort);
        ui.label(RichText::new(self.totals.line()).color(theme.muted))
            .on_hover_text("Totals of the sessions shown: the filters apply");
        self.keyboard(ui, &mut actions, rows);

        // Narrower than its columns, the table scrolls sideways: every column stays reachable.
        egui::ScrollArea::horizontal().id_salt("sessions-hscroll").show(ui, |ui| {
            self.table_ui(ui, rows, (slow, loops), sort, theme, &mut actions);
        });
        actions
    }

    /// The range and set filters, each with a button that clears it.
    fn narrowing_ui(&mut self, ui: &mut egui::Ui, theme: &Theme) {
        if let Some(r) = self.range {
            let text = format!("Started {} to {}", r.since.short(), r.until.short());
            ui.label(RichText::new(text).color(theme.selected))
                .on_hover_text("Brushed on the Trends screen: sessions that started in this range (the end excluded)");
            if ui.small_button("✕ range").on_hover_text("Show every start time again").clicked() {
                self.set_range(None);
            }
            ui.separator();
        }
        if let Some(o) = &self.only {
            let text = RichText::new(format!("Runs of: {}", one_line(&o.label))).color(theme.selected);
            line_label(ui, text, 260.0);
            if ui.small_button("✕ runs").on_hover_text("Show every task again").clicked() {
                self.set_only(None);
            }
            ui.separator();
        }
    }

    /// The table itself: a header of sort buttons over the rows in the prepared order.
    fn table_ui(
        &mut self,
        ui: &mut egui::Ui,
        rows: &[Arc<SessionRow>],
        (slow, loops): (Option<&SlowIndex>, Option<&LoopCounts>),
        sort: Sort,
        theme: &Theme,
        actions: &mut Vec<TableAction>,
    ) {
        let row_height = theme.row_height;
        let mut table = TableBuilder::new(ui)
            .id_salt("sessions")
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::initial(140.0).at_least(90.0))
            .column(Column::remainder().at_least(120.0).clip(true))
            .column(Column::initial(80.0))
            .columns(Column::initial(72.0).at_least(50.0), 8)
            .min_scrolled_height(0.0);
        if self.scroll_to_cursor {
            if let Some(c) = self.cursor {
                table = table.scroll_to_row(c, None);
            }
            self.scroll_to_cursor = false;
        }
        table
            .header(row_height + 4.0, |mut header| {
                for column in SortColumn::ALL {
                    header.col(|ui| {
                        let arrow =
                            if sort.column == column { if sort.ascending { " ▲" } else { " ▼" } } else { "" };
                        let clicked = ui
                            .add(
                                egui::Button::new(RichText::new(format!("{}{arrow}", column.title())).strong())
                                    .frame(false),
                            )
                            .on_hover_text("Sort by this column; click again to reverse")
                            .clicked();
                        if clicked {
                            let ascending = if sort.column == column {
                                !sort.ascending
                            } else {
                                matches!(column, SortColumn::Task | SortColumn::Status)
                            };
                            actions.push(TableAction::Sort(Sort { column, ascending }));
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, self.order.len(), |mut row| {
                    let i = row.index();
                    let Some(r) = self.order.get(i).and_then(|&k| rows.get(k)) else { return };
                    row.set_selected(self.cursor == Some(i) || self.marked.contains(&r.id));
                    // Task, id, status and an unread start are file text: cut before layout.
                    // The short columns size to their content: a few characters at most, so
                    // a freak value cannot push the others away.
                    row.col(|ui| {
                        let started = r.started.map_or_else(
                            || one_line_max(r.started_at.as_deref().unwrap_or_default(), SHORT_CHARS).into_owned(),
                            |t| t.short(),
                        );
                        ui.label(RichText::new(started).monospace());
                    });
                    row.col(|ui| {
                        let id = one_line(ids::shown(&r.id));
                        let task = if r.task.is_empty() { id.clone() } else { one_line(&r.task) };
                        let label = line(ui, task, f32::INFINITY).show_tooltip_when_elided(false);
                        ui.add(label).on_hover_text(format!("{}\n{id}", one_line(&r.task)));
                    });
                    row.col(|ui| {
                        let status = one_line_max(&r.status, SHORT_CHARS);
                        match running_stall(r) {
                            // A running session silent for over 5 minutes is stalled, not running.
                            Some(stall) => {
                                ui.label(RichText::new(format!("{status} · stalled")).color(theme.warning))
                                    .on_hover_text(format_running_stall(&stall));
                            }
                            None => {
                                ui.label(RichText::new(status).color(theme.status(&r.status)));
                            }
                        }
                    });
                    row.col(|ui| {
                        ui.label(format_count(r.event_count as i64));
                    });
                    row.col(|ui| {
                        ui.label(r.duration_ms.map_or_else(|| "—".to_owned(), format_duration_ms));
                    });
                    row.col(|ui| {
                        ui.label(format_count(r.total_input_tokens));
                    });
                    row.col(|ui| {
                        ui.label(format_count(r.total_output_tokens));
                    });
                    row.col(|ui| {
                        ui.label(format_cost(r.total_cost_usd));
                    });
                    row.col(|ui| {
                        let t = RichText::new(r.error_count.to_string());
                        ui.label(if r.error_count > 0 { t.color(theme.error) } else { t });
                    });
                    row.col(|ui| {
                        match slow.map(|s| s.slow_by_session.get(r.id.as_str()).copied().unwrap_or(0)) {
                            Some(n) if n > 0 => ui.label(RichText::new(n.to_string()).color(theme.slow)),
                            Some(_) => ui.label("0"),
                            None => ui.label(RichText::new("…").color(theme.muted)),
                        };
                    });
                    row.col(|ui| match loops.and_then(|l| l.get(&r.id)) {
                        Some(c) if c.loops > 0 => {
                            ui.label(RichText::new(c.loops.to_string()).color(theme.warning)).on_hover_text(format!(
                                "Wasted after each loop's first call: {}",
                                format_waste(&c.waste)
                            ));
                        }
                        Some(_) => {
                            ui.label("0");
                        }
                        None => {
                            let why = if loops.is_some_and(|l| l.on_request) {
                                "Sort by Loops to count them: in a file this big, counting reads every session"
                            } else {
                                "Counting loops…"
                            };
                            ui.label(RichText::new("…").color(theme.muted)).on_hover_text(why);
                        }
                    });
                    let response = row.response();
                    if response.clicked() {
                        self.cursor = Some(i);
                        let (command, shift) = response.ctx.input(|i| (i.modifiers.command, i.modifiers.shift));
                        if command || shift {
                            actions.push(TableAction::Mark(r.id.clone()));
                        }
                    }
                    if response.double_clicked() || (response.clicked() && !response.ctx.input(|i| i.modifiers.any())) {
                        actions.push(TableAction::Open(r.id.clone()));
                    }
                });
            });
    }

    fn keyboard(&mut self, ui: &egui::Ui, actions: &mut Vec<TableAction>, rows: &[Arc<SessionRow>]) {
        if ui.ctx().text_edit_focused() {
            return;
        }
        let n = self.order.len();
        if n == 0 {
            return;
        }
        let (down, up, enter, home, end, page_down, page_up) = ui.input(|i| {
            (
                i.key_pressed(Key::ArrowDown) || i.key_pressed(Key::J),
                i.key_pressed(Key::ArrowUp) || i.key_pressed(Key::K),
                i.key_pressed(Key::Enter),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
                i.key_pressed(Key::PageDown),
                i.key_pressed(Key::PageUp),
            )
        });
        let current = self.cursor.unwrap_or(0);
        let next = if down {
            Some(if self.cursor.is_none() { 0 } else { (current + 1).min(n - 1) })
        } else if up {
            Some(current.saturating_sub(1))
        } else if home {
            Some(0)
        } else if end {
            Some(n - 1)
        } else if page_down {
            Some((current + 20).min(n - 1))
        } else if page_up {
            Some(current.saturating_sub(20))
        } else {
            None
        };
        if let Some(next) = next {
            self.cursor = Some(next);
            self.scroll_to_cursor = true;
        }
        if enter && let Some(r) = self.cursor.and_then(|c| self.order.get(c)).and_then(|&k| rows.get(k)) {
            actions.push(TableAction::Open(r.id.clone()));
        }
    }
}

/// A running session's stall by the list's figures alone: its last event over 5 minutes ago
/// (the session's own rhythm is known only once it is opened).
fn running_stall(r: &SessionRow) -> Option<crate::analysis::stalls::RunningStall> {
    if r.status != "running" {
        return None;
    }
    let last = crate::time::parse_text(r.last_event_at.as_deref()?).ok()?.time;
    let now = crate::time::Timestamp::from_chrono(chrono::Utc::now())?;
    crate::analysis::stalls::stall_at(last, None, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn a_running_session_silent_for_over_five_minutes_is_stalled() {
        let ago = |minutes: i64| {
            let t = chrono::Utc::now() - chrono::Duration::minutes(minutes);
            Some(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false))
        };
        let running =
            |minutes| SessionRow { status: "running".into(), last_event_at: ago(minutes), ..SessionRow::default() };
        let stall = running_stall(&running(12)).expect("12 minutes of silence");
        assert!((stall.silent_ms - 12.0 * 60_000.0).abs() < 5_000.0, "{}", stall.silent_ms);
        assert!(running_stall(&running(1)).is_none(), "a minute is not a stall");
        let done = SessionRow { status: "completed".into(), ..running(60) };
        assert!(running_stall(&done).is_none(), "only running sessions stall");
        let unreadable = SessionRow { last_event_at: Some("yesterday-ish".into()), ..running(0) };
        assert!(running_stall(&unreadable).is_none());
    }

    fn row(id: &str, started: i64, events: u64, cost: f64, status: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            task: format!("task {id}"),
            status: status.into(),
            started: Some(Timestamp(started)),
            event_count: events,
            total_cost_usd: cost,
            ..SessionRow::default()
        }
    }

    #[test]
    fn sorts_filters_and_reverses() {
        let rows: Vec<Arc<SessionRow>> =
            [row("a", 1, 30, 0.5, "completed"), row("b", 3, 10, 0.1, "running"), row("c", 2, 20, 0.9, "completed")]
                .into_iter()
                .map(Arc::new)
                .collect();
        let by = |column, ascending| sorted_indices(&rows, None, Sort { column, ascending }, "", None);
        assert_eq!(by(SortColumn::Started, false), vec![1, 2, 0]);
        assert_eq!(by(SortColumn::Started, true), vec![0, 2, 1]);
        assert_eq!(by(SortColumn::Events, false), vec![0, 2, 1]);
        assert_eq!(by(SortColumn::Cost, true), vec![1, 0, 2]);
        let filtered = sorted_indices(&rows, None, Sort::default(), "TASK C", None);
        assert_eq!(filtered, vec![2]);
        let status = sorted_indices(&rows, None, Sort::default(), "", Some("completed"));
        assert_eq!(status, vec![2, 0]);
    }
}
