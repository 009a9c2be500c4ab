//! The detail of the selected trace: every field, `data` as a JSON tree, raw input and output
//! (loaded on demand) with copy buttons, and the trace's warnings.

use egui::RichText;

use crate::format::{format_cost, format_count, format_duration_ms};
use crate::model::{TraceDetail, TraceEvent};
use crate::ui::json_tree;
use crate::ui::text::{cell_label, format_bytes, head_bytes, line_galley, line_label, one_line};
use crate::ui::theme::Theme;

/// The most of one value the panel lays out: past this, a value shows its start, its real
/// size, and a copy button for the whole (laying out megabytes costs seconds and hundreds of
/// megabytes of glyphs, and nobody reads them in a panel).
pub const VALUE_SHOWN: usize = 64 * 1024;
/// The most of a field in the table of columns: a cell wraps, so a shorter start reads better.
const FIELD_SHOWN: usize = 4 * 1024;
/// The widest a column's name gets (an extra column may have any name).
const NAME_WIDTH: f32 = 200.0;

/// What the detail panel asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum DetailAction {
    /// Put this text on the clipboard; the string names what was copied.
    Copy { text: String, what: String },
    /// Show this event (the other half of a pair).
    ShowEvent(usize),
}

/// View state: the parsed `data` of the shown event, cached.
#[derive(Debug, Default)]
pub struct DetailView {
    /// The event index and the length of the `data` parsed (`None` before it is loaded).
    parsed_for: Option<(usize, Option<usize>)>,
    parsed: Option<serde_json::Value>,
}

/// Everything the panel shows for one event.
pub struct DetailInput<'a> {
    pub event_index: usize,
    pub event: &'a TraceEvent,
    /// The event's parent id, as stored.
    pub parent_id: Option<&'a crate::model::TraceId>,
    /// The span's other event (start ↔ end of a pair), with its index.
    pub partner: Option<(usize, &'a TraceEvent)>,
    /// Every column, once loaded.
    pub detail: Option<&'a TraceDetail>,
    pub loading: bool,
    pub slow_note: Option<String>,
    pub theme: &'a Theme,
}

impl DetailView {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, input: &DetailInput<'_>) -> Vec<DetailAction> {
        let mut actions = Vec::new();
        let e = input.event;
        let theme = input.theme;
        // One row: the type (at most half of it) and the label, both file text, cut and elided.
        ui.horizontal(|ui| {
            let kind =
                line_galley(ui, RichText::new(one_line(&e.kind)).heading().monospace(), ui.available_width() / 2.0);
            ui.add(egui::Label::new(kind));
            line_label(ui, one_line(&e.info.label), f32::INFINITY);
        });
        if let Some((pi, partner)) = input.partner {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Pair:").color(theme.muted));
                if ui.button(format!("Show {}", partner.kind)).clicked() {
                    actions.push(DetailAction::ShowEvent(pi));
                }
            });
        }
        if let Some(note) = &input.slow_note {
            ui.label(RichText::new(note).color(theme.slow));
        }
        egui::Grid::new("detail-fields").num_columns(2).striped(true).show(ui, |ui| {
            let mut field = |ui: &mut egui::Ui, name: &str, value: String| {
                cell_label(ui, RichText::new(one_line(name)).color(theme.muted), NAME_WIDTH);
                if value.len() <= FIELD_SHOWN {
                    ui.add(egui::Label::new(RichText::new(value).monospace()).wrap());
                } else {
                    // A long value shows its start, its size and a copy button for all of it.
                    ui.vertical(|ui| {
                        let head = head_bytes(&value, FIELD_SHOWN);
                        ui.add(egui::Label::new(RichText::new(head).monospace()).wrap());
                        ui.horizontal(|ui| {
                            ui.label(
                                RichText::new(format!(
                                    "showing {} of {}",
                                    format_bytes(head.len() as u64),
                                    format_bytes(value.len() as u64)
                                ))
                                .color(theme.warning),
                            );
                            if ui.small_button("Copy").on_hover_text(format!("Copy all of {name}")).clicked() {
                                actions.push(DetailAction::Copy { text: value.clone(), what: name.to_owned() });
                            }
                        });
                    });
                }
                ui.end_row();
            };
            field(ui, "id", e.id.to_string());
            // The event list does not repeat the session's id on every event.
            if let Some(session) = input.detail.and_then(|d| d.field("session_id")).and_then(|f| f.value.clone()) {
                field(ui, "session_id", session);
            }
            field(ui, "timestamp", e.timestamp().into_owned());
            if let Some(d) = e.duration_ms.get() {
                field(ui, "duration_ms", format!("{d} ({})", format_duration_ms(d)));
            }
            if let Some(p) = input.parent_id {
                field(ui, "parent_trace_id", p.to_string());
            }
            if e.input_tokens().is_some() || e.output_tokens().is_some() {
                field(
                    ui,
                    "tokens",
                    format!(
                        "{} in / {} out",
                        e.input_tokens().map_or_else(|| "—".to_owned(), format_count),
                        e.output_tokens().map_or_else(|| "—".to_owned(), format_count)
                    ),
                );
            }
            if let Some(m) = &e.model_used() {
                field(ui, "model_used", m.to_string());
            }
            if let Some(p) = &e.provider_used() {
                field(ui, "provider_used", p.to_string());
            }
            if let Some(c) = e.cost_usd() {
                field(ui, "cost_usd", format!("{c} ({})", format_cost(c)));
            }
            if let Some(d) = input.detail {
                // Columns the event list does not carry (created_at, extra columns).
                for f in &d.fields {
                    // created_at and any extra columns: the rest is shown above or below.
                    let shown_elsewhere = crate::model::TRACE_COLUMNS
                        .iter()
                        .any(|k| *k != "created_at" && k.eq_ignore_ascii_case(&f.name));
                    if shown_elsewhere {
                        continue;
                    }
                    field(ui, &f.name, f.value.clone().unwrap_or_else(|| "NULL".to_owned()));
                }
            }
        });

        // `data` comes with the rest of the row's columns (the event list does not keep it).
        ui.separator();
        let data = input.detail.and_then(|d| d.field("data"));
        let text = data.and_then(|f| f.value.as_deref());
        ui.horizontal(|ui| {
            ui.strong("data");
            match (data, text) {
                (Some(f), Some(text)) => {
                    if f.cut {
                        ui.label(
                            RichText::new(format!(
                                "{} bytes, first {} loaded",
                                format_count(f.size_bytes as i64),
                                format_count(text.len() as i64)
                            ))
                            .color(theme.warning),
                        );
                    }
                    if ui.small_button("Copy").on_hover_text("Copy data as stored").clicked() {
                        actions.push(DetailAction::Copy { text: text.to_owned(), what: "data".to_owned() });
                    }
                }
                (Some(_), None) => {
                    ui.label(RichText::new("NULL").color(theme.muted));
                }
                (None, _) if input.loading => {
                    crate::ui::busy::spinner(ui);
                }
                (None, _) => {
                    ui.label(RichText::new("not loaded").color(theme.muted));
                }
            }
        });
        let key = (input.event_index, text.map(str::len));
        if self.parsed_for != Some(key) {
            self.parsed = text.and_then(|t| serde_json::from_str(t).ok());
            self.parsed_for = Some(key);
        }
        match (&self.parsed, text) {
            (Some(v), _) => json_tree::ui(ui, v, theme),
            (None, Some(text)) => {
                ui.label(RichText::new("not JSON; shown as stored").color(theme.warning));
                raw_text_ui(ui, "data-raw", text, data.map_or(0, |f| f.size_bytes));
            }
            (None, None) => {}
        }

        for column in ["raw_input", "raw_output"] {
            ui.separator();
            let field = input.detail.and_then(|d| d.field(column));
            // Sizes come with the detail; until then the event says whether there is any.
            let size = match field {
                Some(f) => (f.storage != "null").then_some(f.size_bytes),
                None => e.info.raw_io.then_some(0),
            };
            ui.horizontal(|ui| {
                ui.strong(column);
                match (size, field) {
                    (None, _) => {
                        ui.label(RichText::new("NULL").color(theme.muted));
                    }
                    (Some(bytes), Some(f)) => {
                        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
                        let note = if f.cut {
                            format!(
                                "{} bytes, first {} loaded",
                                format_count(bytes),
                                format_count(f.value.as_ref().map_or(0, String::len) as i64)
                            )
                        } else {
                            format!("{} bytes", format_count(bytes))
                        };
                        ui.label(RichText::new(note).color(if f.cut { theme.warning } else { theme.muted }));
                        if let Some(v) = &f.value
                            && ui.small_button("Copy").on_hover_text(format!("Copy {column}")).clicked()
                        {
                            actions.push(DetailAction::Copy { text: v.clone(), what: column.to_owned() });
                        }
                    }
                    (Some(_), None) => {
                        if input.loading {
                            crate::ui::busy::spinner(ui);
                        }
                    }
                }
            });
            if let Some(f) = field
                && let Some(v) = f.value.as_deref()
            {
                raw_text_ui(ui, column, v, f.size_bytes);
            }
        }

        let warnings: Vec<&String> =
            e.notes().iter().chain(input.detail.map(|d| d.warnings.iter()).into_iter().flatten()).collect();
        if !warnings.is_empty() {
            ui.separator();
            ui.strong(RichText::new(format!("{} warnings", warnings.len())).color(theme.warning));
            for w in warnings {
                ui.label(RichText::new(format!("! {}", one_line(w))).color(theme.warning));
            }
        }
        actions
    }
}

/// Monospace, selectable, read-only text at its full height: the panel has the one scroll
/// bar. A value longer than [`VALUE_SHOWN`] shows its start and says how much of its
/// `size_bytes` that is (the copy button above takes all that was loaded).
fn raw_text_ui(ui: &mut egui::Ui, id: &str, text: &str, size_bytes: u64) {
    let shown = head_bytes(text, VALUE_SHOWN);
    let mut view = shown;
    ui.add(egui::TextEdit::multiline(&mut view).id_salt(id).code_editor().desired_width(f32::INFINITY).desired_rows(1));
    if shown.len() < text.len() {
        let size = size_bytes.max(text.len() as u64);
        let copy = if size > text.len() as u64 {
            format!("Copy takes the first {}", format_bytes(text.len() as u64))
        } else {
            "Copy takes all".to_owned()
        };
        ui.label(
            RichText::new(format!("showing {} of {}; {copy}", format_bytes(shown.len() as u64), format_bytes(size)))
                .small(),
        );
    }
}
