//! The side panel: totals, per-model and per-tool tables (the tool's p95 in the session and
//! across the file, tokens, cost and a small duration histogram), the slowest calls (the slow
//! ones marked and explained), events, tokens and cost by type, and the data's warnings.

use egui::{CollapsingHeader, Grid, RichText, Sense, Stroke, vec2};

use crate::analysis::AnalyzedSession;
use crate::analysis::slow::SlowRule;
use crate::analysis::summary::ToolStats;
use crate::format::{format_cost, format_count, format_duration_ms, format_slow_reason};
use crate::model::ModelUsage;
use crate::ui::text::{ValueLine, cell_label, one_line, value_line};
use crate::ui::theme::Theme;

/// What the side panel asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum AggregateAction {
    /// Select this span, scroll to it and zoom to it.
    Focus(usize),
    /// Put this text on the clipboard; the string names what was copied.
    Copy { text: String, what: String },
}

/// Warnings listed before "… N more".
const WARNINGS_SHOWN: usize = 100;

/// The widest a name (model, tool, event type) in the session panel's tables gets: enough for
/// ordinary names, and a 100 KB name cannot widen the panel over the chart. The panel takes
/// its tables' width, so the bound is fixed rather than a share of it.
const SESSION_NAME_WIDTH: f32 = 130.0;
/// The share of the file's models panel its model names may take (that panel keeps its width
/// and scrolls).
const FILE_NAME_SHARE: f32 = 0.45;

/// Which sessions a model table sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelsScope {
    /// The whole file.
    File,
    /// The sessions the table shows, this many (its filters applied).
    Shown(usize),
}

/// The sessions screen's side panel: every model's calls, tokens and cost across the file or
/// the sessions shown (`scope`); `None` while they are being counted.
pub fn file_models_ui(
    ui: &mut egui::Ui,
    models: Option<&[ModelUsage]>,
    scope: ModelsScope,
    theme: &Theme,
) -> Vec<AggregateAction> {
    let mut actions = Vec::new();
    match scope {
        ModelsScope::File => ui.heading("Models in this file"),
        ModelsScope::Shown(n) => ui.heading(format!("Models in the {} sessions shown", format_count(n as i64))),
    };
    let Some(models) = models else {
        ui.horizontal(|ui| {
            crate::ui::busy::spinner(ui);
            ui.label(RichText::new("Counting…").color(theme.muted));
        });
        return actions;
    };
    if models.is_empty() {
        ui.label(RichText::new("No trace names a model with tokens or a cost.").color(theme.muted));
        return actions;
    }
    let total_cost: f64 = models.iter().map(|m| m.cost_usd).sum();
    let name_width = (ui.available_width() * FILE_NAME_SHARE).max(SESSION_NAME_WIDTH);
    Grid::new("file-models").num_columns(5).striped(true).show(ui, |ui| {
        for h in ["Model", "Calls", "In", "Out", "Cost"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for m in models {
            let name = model_name_ui(ui, &m.model, m.provider.as_deref(), name_width, &mut actions);
            name.response.on_hover_text(format!(
                "{}{} · {} sessions",
                if name.shortened { format!("{}\n", one_line(&m.model)) } else { String::new() },
                one_line(m.provider.as_deref().unwrap_or("unknown provider")),
                format_count(i64::try_from(m.sessions).unwrap_or(i64::MAX))
            ));
            ui.label(format_count(i64::try_from(m.calls).unwrap_or(i64::MAX)));
            ui.label(format_count(m.input_tokens));
            ui.label(format_count(m.output_tokens));
            let share = if total_cost > 0.0 { m.cost_usd / total_cost * 100.0 } else { 0.0 };
            let of = if scope == ModelsScope::File { "the file's cost" } else { "the cost shown" };
            ui.label(format_cost(m.cost_usd)).on_hover_text(format!("{share:.1}% of {of}"));
            ui.end_row();
        }
    });
    let note = match scope {
        ModelsScope::File => {
            "A call is a trace naming the model with tokens or a cost. Filter the table to count its sessions only."
        }
        ModelsScope::Shown(_) => {
            "A call is a trace naming the model with tokens or a cost. The table's filters apply here."
        }
    };
    ui.label(RichText::new(note).color(theme.muted));
    actions
}

/// A model's name in a table, with a copy button when it does not fit.
fn model_name_ui(
    ui: &mut egui::Ui,
    model: &str,
    provider: Option<&str>,
    max_width: f32,
    actions: &mut Vec<AggregateAction>,
) -> ValueLine {
    let name = value_line(ui, model, |t| t, max_width);
    if name.copy {
        let what = match provider {
            Some(p) => format!("the model name ({})", one_line(p)),
            None => "the model name".to_owned(),
        };
        actions.push(AggregateAction::Copy { text: model.to_owned(), what });
    }
    name
}

/// Draws the panel for a session. `slow_rule` (the file-wide p95s and the threshold) says
/// which calls are slow and why; `now_ms` (from the origin) is given while it is running.
pub fn ui(
    ui: &mut egui::Ui,
    session: &AnalyzedSession,
    slow_rule: SlowRule<'_>,
    theme: &Theme,
    now_ms: Option<f64>,
) -> Vec<AggregateAction> {
    let mut actions = Vec::new();
    let s = &session.summary;
    ui.heading("Totals");
    Grid::new("totals").num_columns(2).show(ui, |ui| {
        let mut row = |name: &str, value: String| {
            ui.label(RichText::new(name).color(theme.muted));
            ui.label(value);
            ui.end_row();
        };
        row(
            "Duration",
            match s.total_duration_ms {
                Some(d) => format_duration_ms(d),
                None => format!("{} so far", format_duration_ms(now_ms.unwrap_or(s.timeline_ms))),
            },
        );
        row("Events", format_count(s.total_events as i64));
        row("Steps", format_count(s.step_count as i64));
        row("Error events", format_count(i64::try_from(s.error_count).unwrap_or(i64::MAX)));
        row("Failed traces", format_count(i64::try_from(s.failure_count).unwrap_or(i64::MAX)));
        row("Tokens in", format_count(s.total_input_tokens));
        row("Tokens out", format_count(s.total_output_tokens));
        row("Tokens", format_count(s.total_tokens));
        row("Cost", format_cost(s.total_cost_usd));
    });

    let name_width = SESSION_NAME_WIDTH;
    if !s.models.is_empty() {
        ui.separator();
        ui.heading("Models");
        Grid::new("models").num_columns(5).striped(true).show(ui, |ui| {
            for h in ["Model", "Calls", "In", "Out", "Cost"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for m in &s.models {
                let name = model_name_ui(ui, &m.model, m.provider.as_deref(), name_width, &mut actions);
                let provider = one_line(m.provider.as_deref().unwrap_or("unknown provider"));
                name.response.on_hover_text(if name.shortened {
                    format!("{}\n{provider}", one_line(&m.model))
                } else {
                    provider.into_owned()
                });
                ui.label(m.calls.to_string());
                ui.label(format_count(m.input_tokens));
                ui.label(format_count(m.output_tokens));
                ui.label(format_cost(m.cost_usd));
                ui.end_row();
            }
        });
    }

    if !s.tools.is_empty() {
        ui.separator();
        ui.heading("Tools");
        Grid::new("tools").num_columns(10).striped(true).show(ui, |ui| {
            let headers = [
                ("Tool", ""),
                ("Calls", ""),
                ("Err", "Failed calls"),
                ("p50", "Median duration in this session"),
                ("p95 session", "95th percentile of the tool's durations in this session"),
                ("p95 file", "95th percentile of the tool's durations across this file: calls above it are slow"),
                ("Max", ""),
                ("Tokens", "Tokens in and out over the tool's calls"),
                ("Cost", ""),
                ("Spread", ""),
            ];
            for (h, hover) in headers {
                let r = ui.label(RichText::new(h).strong());
                if !hover.is_empty() {
                    r.on_hover_text(hover);
                }
            }
            ui.end_row();
            let index = slow_rule.index;
            for t in &s.tools {
                if value_line(ui, &t.tool, |t| t, name_width).copy {
                    actions.push(AggregateAction::Copy { text: t.tool.clone(), what: "the tool name".to_owned() });
                }
                ui.label(t.calls.to_string());
                let err = RichText::new(t.errors.to_string());
                ui.label(if t.errors > 0 { err.color(theme.error) } else { err });
                ui.label(format_duration_ms(t.p50_ms));
                ui.label(format_duration_ms(t.p95_ms));
                match index.and_then(|i| Some((*i.p95_by_tool.get(&t.tool)?, i.calls_by_tool.get(&t.tool)?))) {
                    Some((p95, calls)) => {
                        ui.label(format_duration_ms(p95)).on_hover_text(format!(
                            "Over {} calls in this file",
                            format_count(i64::try_from(*calls).unwrap_or(i64::MAX))
                        ));
                    }
                    None => {
                        let why = if index.is_some() { "No finished call in this file" } else { "Being counted" };
                        ui.label(RichText::new("—").color(theme.muted)).on_hover_text(why);
                    }
                }
                ui.label(format_duration_ms(t.max_ms));
                ui.label(format_count(t.input_tokens.saturating_add(t.output_tokens))).on_hover_text(format!(
                    "{} in / {} out",
                    format_count(t.input_tokens),
                    format_count(t.output_tokens)
                ));
                ui.label(format_cost(t.cost_usd));
                histogram_ui(ui, t, theme);
                ui.end_row();
            }
        });
    }

    if !s.slowest.is_empty() {
        ui.separator();
        ui.heading("Slowest calls");
        for c in &s.slowest {
            let reason = session.timeline.spans.get(c.span).and_then(|sp| slow_rule.explain(sp, &session.data.events));
            // Kind and label are file text; the full values are in the detail view a click away.
            let mut text =
                format!("{}  {}  {}", format_duration_ms(c.duration_ms), one_line(&c.kind), one_line(&c.label));
            let hover = match &reason {
                Some(r) => {
                    text.insert_str(0, "slow  ");
                    format!("Slow: {}\nSelect, scroll and zoom to this call", one_line(&format_slow_reason(r)))
                }
                None => "Select, scroll and zoom to this call".to_owned(),
            };
            let text = if reason.is_some() { RichText::new(text).color(theme.slow) } else { RichText::new(text) };
            if ui.add(egui::Button::new(text).frame(false).truncate()).on_hover_text(hover).clicked() {
                actions.push(AggregateAction::Focus(c.span));
            }
        }
    }

    if !s.errors.is_empty() {
        ui.separator();
        CollapsingHeader::new(RichText::new(format!("Errors ({})", s.errors.len())).color(theme.error))
            .default_open(true)
            .show(ui, |ui| {
                for c in s.errors.iter().take(WARNINGS_SHOWN) {
                    let text = format!("{}  {}", one_line(&c.kind), one_line(&c.label));
                    if ui.add(egui::Button::new(text).frame(false).truncate()).clicked() {
                        actions.push(AggregateAction::Focus(c.span));
                    }
                }
            });
    }

    ui.separator();
    CollapsingHeader::new("Events by type").default_open(false).show(ui, |ui| {
        Grid::new("event-counts").num_columns(5).striped(true).show(ui, |ui| {
            for h in ["Type", "Count", "In", "Out", "Cost"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            let mut counts: Vec<(&String, &u64)> = s.event_counts.iter().collect();
            counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (kind, n) in counts {
                cell_label(ui, RichText::new(one_line(kind)).monospace(), name_width);
                ui.label(format_count(i64::try_from(*n).unwrap_or(i64::MAX)));
                let usage = s.event_usage.get(kind).copied().unwrap_or_default();
                ui.label(format_count(usage.input_tokens));
                ui.label(format_count(usage.output_tokens));
                ui.label(format_cost(usage.cost_usd));
                ui.end_row();
            }
        });
    });

    let warnings: Vec<&crate::model::Warning> = session.warnings().collect();
    if !warnings.is_empty() {
        ui.separator();
        CollapsingHeader::new(RichText::new(format!("Data warnings ({})", warnings.len())).color(theme.warning))
            .default_open(false)
            .show(ui, |ui| {
                for w in warnings.iter().take(WARNINGS_SHOWN) {
                    // Warnings may quote the file: bounded, and wrapped over a few lines at most.
                    let text = match &w.trace_id {
                        Some(id) => format!("{}: {}", one_line(id), one_line(&w.message)),
                        None => one_line(&w.message).into_owned(),
                    };
                    ui.label(RichText::new(text).small());
                }
                if warnings.len() > WARNINGS_SHOWN {
                    ui.label(format!("… and {} more", warnings.len() - WARNINGS_SHOWN));
                }
            });
    }
    actions
}

/// A tiny histogram of one tool's durations (bins computed with the summary, not per frame).
fn histogram_ui(ui: &mut egui::Ui, tool: &ToolStats, theme: &Theme) {
    let (rect, response) = ui.allocate_exact_size(vec2(96.0, 14.0), Sense::hover());
    let bins = &tool.histogram;
    if bins.is_empty() || tool.durations_ms.is_empty() {
        return;
    }
    let most = f32::from(u16::try_from(*bins.iter().max().unwrap_or(&1)).unwrap_or(u16::MAX)).max(1.0);
    let painter = ui.painter_at(rect);
    let w = rect.width() / bins.len() as f32;
    for (i, &n) in bins.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = (f32::from(u16::try_from(n).unwrap_or(u16::MAX)) / most).max(0.15) * rect.height();
        let x = rect.left() + i as f32 * w;
        let bar = egui::Rect::from_min_max(egui::pos2(x, rect.bottom() - h), egui::pos2(x + w - 1.0, rect.bottom()));
        painter.rect_filled(bar, 0.0, theme.tool);
    }
    painter.line_segment([rect.left_bottom(), rect.right_bottom()], Stroke::new(1.0, theme.grid));
    response.on_hover_text(format!(
        "{} calls; mean {}, p50 {}, p95 {}, max {} (log scale to the slowest call of any tool)",
        tool.durations_ms.len(),
        format_duration_ms(tool.mean_ms),
        format_duration_ms(tool.p50_ms),
        format_duration_ms(tool.p95_ms),
        format_duration_ms(tool.max_ms)
    ));
}
