//! The Gantt chart's hover card: a span's types, label, times, tokens, cost, model and notes.

use egui::Ui;

use crate::format::{format_cost, format_count, format_duration_ms};
use crate::ui::rows::{RowsInput, kind_text_colour};
use crate::ui::text::one_line;

/// The hover card of a span: types, label, times, tokens, cost, model, notes.
pub(super) fn tooltip_ui(ui: &mut Ui, input: &RowsInput, index: usize) {
    let Some(span) = input.span(index) else { return };
    let theme = input.theme;
    let mut types = input.event_type(span).into_owned();
    if let Some(end) = input.end_event_type(span) {
        types.push_str(" → ");
        types.push_str(&end);
    }
    let kind_colour = kind_text_colour(theme, span, ui.visuals().strong_text_color());
    ui.label(egui::RichText::new(types).monospace().color(kind_colour));
    if !span.label.is_empty() {
        ui.label(egui::RichText::new(one_line(&span.label)).strong());
    }
    egui::Grid::new("gantt_tooltip_grid").num_columns(2).spacing([12.0, 2.0]).show(ui, |ui| {
        if span.timed {
            ui.label("Start");
            ui.label(format!("+{}", format_duration_ms(span.start_ms)));
            ui.end_row();
            if !span.instant {
                ui.label("Duration");
                let mut d = format_duration_ms(input.drawn_end_ms(span) - span.start_ms);
                if span.open {
                    d.push_str(" so far");
                }
                ui.label(d);
                ui.end_row();
            }
        }
        if let Some((tokens_in, tokens_out)) = span.tokens(input.events()) {
            ui.label("Tokens");
            ui.label(format!("{} in / {} out", format_count(tokens_in), format_count(tokens_out)));
            ui.end_row();
        }
        if let Some(cost) = span.cost_usd(input.events()) {
            ui.label("Cost");
            ui.label(format_cost(cost));
            ui.end_row();
        }
        if let Some(model) = span.model(input.events()) {
            ui.label("Model");
            ui.label(one_line(model));
            ui.end_row();
        }
    });
    if span.failed {
        ui.colored_label(theme.error, "failed");
    }
    if input.is_slow(index) {
        ui.colored_label(theme.slow, "slow: above p95");
    }
    if span.open {
        ui.colored_label(theme.running, "open: no end logged");
    }
    if !span.timed {
        ui.colored_label(theme.muted, "no time: its timestamp could not be read");
    }
}
