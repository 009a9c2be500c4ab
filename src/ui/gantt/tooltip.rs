//! The Gantt chart's hover card: a span's types, label, times, tokens, cost, model and notes.

use egui::Ui;

use crate::format::{format_cost, format_count, format_duration_ms, format_slow_reason};
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
    let label = input.label(span);
    if !label.is_empty() {
        ui.label(egui::RichText::new(one_line(label)).strong());
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
        // The flag and its reason follow one rule; a flag without a reason (no rule given)
        // still says what a slow flag means.
        let text = match input.slow_reason(index) {
            Some(r) => format!("Slow: {}", one_line(&format_slow_reason(&r))),
            None => "slow: above p95".to_owned(),
        };
        ui.colored_label(theme.slow, text);
    }
    if span.open {
        ui.colored_label(theme.running, "open: no end logged");
    }
    if !span.timed {
        ui.colored_label(theme.muted, "no time: its timestamp could not be read");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    use super::*;
    use crate::analysis::SlowIndex;
    use crate::analysis::fixtures::sample_session;
    use crate::ui::rows::tests::Host;
    use crate::ui::theme::Theme;

    #[test]
    fn a_slow_calls_card_says_why_in_the_shared_sentence() {
        let mut session = sample_session();
        session.data.events[2].info.tool = Some("browser_navigate".into());
        let theme = Theme::new(true);
        let mut host = Host::new((), 6);
        host.slow[2] = true;
        host.slow_index = Some(SlowIndex {
            p95_by_tool: HashMap::from([("browser_navigate".to_owned(), 800.0)]),
            calls_by_tool: HashMap::from([("browser_navigate".to_owned(), 214)]),
            ..SlowIndex::default()
        });
        let input = host.input(&session, &theme);
        let mut harness = Harness::new_ui(|ui| tooltip_ui(ui, &input, 2));
        harness.run();
        let sentence = "Slow: 1.00 s — above browser_navigate's p95 of 800 ms across this file (214 calls)";
        assert!(harness.query_by_label(sentence).is_some());
        assert!(harness.query_by_label("slow: above p95").is_none());
    }
}
