//! The diagnosis in the summary panel: where the wall time went (the critical path and the
//! self time by kind), the stalls, the loops with their waste, and the context growth chart.
//! Each item is clickable: it selects (and zooms to) what it names.

use std::collections::BTreeMap;

use egui::{Color32, Id, RichText, Sense, Ui};
use egui_plot::{AxisHints, HPlacement, Line, Plot, PlotPoints, Points};

use crate::analysis::AnalyzedSession;
use crate::analysis::context::{ContextPoint, model_key, parse_tokens};
use crate::analysis::diagnosis::Diagnosis;
use crate::analysis::stalls::StallParams;
use crate::format::{
    format_context_tokens, format_cost, format_count, format_duration_ms, format_loop, format_stall, format_waste,
};
use crate::ui::text::one_line_max;
use crate::ui::theme::Theme;

/// What the user asked of the diagnosis.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DiagnosisAction {
    /// Select this span, scroll to it and zoom to it.
    Focus(usize),
    /// Zoom the chart to this time range (ms from the origin).
    Zoom(f64, f64),
}

/// How many of the path's spans and of the loops and stalls are listed.
const LISTED: usize = 8;

/// What the diagnosis' controls edit (saved settings).
pub struct DiagnosisSettings<'a> {
    /// What counts as a stall.
    pub stalls: &'a mut StallParams,
    /// Context windows the user set, by model key (see [`model_key`]).
    pub windows: &'a mut BTreeMap<String, u64>,
    /// The context chart's x axis: time (else call number).
    pub by_time: &'a mut bool,
}

/// The diagnosis sections; their controls edit `settings`.
pub fn ui(
    ui: &mut Ui,
    session: &AnalyzedSession,
    diagnosis: &Diagnosis,
    settings: DiagnosisSettings<'_>,
    theme: &Theme,
) -> Vec<DiagnosisAction> {
    let mut actions = Vec::new();
    path_ui(ui, session, diagnosis, theme, &mut actions);
    stalls_ui(ui, diagnosis, settings.stalls, theme, &mut actions);
    loops_ui(ui, session, diagnosis, theme, &mut actions);
    context_ui(ui, diagnosis, settings.by_time, settings.windows, theme, &mut actions);
    actions
}

/// A clickable line of the summary.
fn item(ui: &mut Ui, text: String, colour: Color32, hover: &str) -> bool {
    ui.add(egui::Label::new(RichText::new(text).color(colour)).sense(Sense::click()).truncate())
        .on_hover_text(hover)
        .clicked()
}

/// The span's type and label, cut for one line.
fn span_name(session: &AnalyzedSession, span: usize) -> String {
    let Some(s) = session.timeline.spans.get(span) else { return String::new() };
    let kind = session.data.events.get(s.event).map_or("", |e| &*e.kind);
    format!("{} {}", one_line_max(kind, 40), one_line_max(s.label(&session.data.events), 80))
}

fn path_ui(ui: &mut Ui, session: &AnalyzedSession, d: &Diagnosis, theme: &Theme, actions: &mut Vec<DiagnosisAction>) {
    let path = &d.critical_path;
    ui.add_space(6.0);
    ui.heading("Critical path");
    if let Some(why) = path.missing {
        ui.label(RichText::new(format!("None: {}", why.reason())).color(theme.muted));
        return;
    }
    let wall = path.wall_ms.max(1e-9);
    let k = &path.by_kind;
    egui::Grid::new("critical-path-kinds").num_columns(3).spacing([12.0, 2.0]).show(ui, |ui| {
        for (name, ms) in [
            ("In LLM calls", k.llm_ms),
            ("In tool calls", k.tool_ms),
            ("In steps", k.step_ms),
            ("In other spans", k.other_ms),
            ("Idle", k.idle_ms),
        ] {
            if ms <= 0.0 {
                continue;
            }
            ui.label(name);
            ui.label(format_duration_ms(ms));
            ui.label(RichText::new(format!("{:.0} %", ms / wall * 100.0)).color(theme.muted));
            ui.end_row();
        }
    });
    ui.label(RichText::new("Self time on the path, largest first:").color(theme.muted));
    for p in path.top(LISTED) {
        let text =
            format!("{}  {:.0} %  {}", format_duration_ms(p.self_ms), p.share * 100.0, span_name(session, p.span));
        if item(ui, text, ui.visuals().text_color(), "Select it in the chart") {
            actions.push(DiagnosisAction::Focus(p.span));
        }
    }
}

fn stalls_ui(ui: &mut Ui, d: &Diagnosis, params: &mut StallParams, theme: &Theme, actions: &mut Vec<DiagnosisAction>) {
    ui.add_space(6.0);
    ui.heading(format!("Stalls ({})", d.stalls.len()));
    // The threshold, shown even without stalls: lowering it is how shorter ones are found.
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let label = ui.label("Idle over");
        let mut seconds = params.min_ms / 1000.0;
        let secs = egui::DragValue::new(&mut seconds).range(0.0..=86_400.0).speed(0.5).suffix(" s").max_decimals(1);
        if ui.add(secs).labelled_by(label.id).on_hover_text("The shortest stall").changed() {
            params.min_ms = seconds * 1000.0;
        }
        ui.label("and");
        let mut percent = params.min_share * 100.0;
        let share = egui::DragValue::new(&mut percent).range(0.0..=100.0).speed(0.5).suffix(" %").max_decimals(1);
        if ui.add(share).on_hover_text("The least share of the run's wall time a stall takes").changed() {
            params.min_share = percent / 100.0;
        }
        ui.label("of the run");
    });
    if d.stalls.is_empty() {
        ui.label(RichText::new("None over the threshold").color(theme.muted));
        return;
    }
    for s in d.stalls.iter().take(LISTED) {
        if item(ui, one_line_max(&format_stall(s), 160).into_owned(), theme.warning, "Zoom the chart to it") {
            let pad = (s.end_ms - s.start_ms) * 0.1;
            actions.push(DiagnosisAction::Zoom(s.start_ms - pad, s.end_ms + pad));
        }
    }
    if d.stalls.len() > LISTED {
        ui.label(RichText::new(format!("and {} more", d.stalls.len() - LISTED)).color(theme.muted));
    }
}

fn loops_ui(ui: &mut Ui, session: &AnalyzedSession, d: &Diagnosis, theme: &Theme, actions: &mut Vec<DiagnosisAction>) {
    let loops = &d.loops;
    if loops.loops.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.heading(format!("Loops ({})", loops.loops.len()));
    ui.label(
        RichText::new(format!("Wasted after the first call: {}", format_waste(&loops.total_waste())))
            .color(theme.muted),
    );
    for l in loops.loops.iter().take(LISTED) {
        let text = one_line_max(&format_loop(l), 200).into_owned();
        if item(ui, text, theme.warning, "Select its first call")
            && let Some(&first) = l.calls.first()
        {
            actions.push(DiagnosisAction::Focus(first));
        }
    }
    if loops.loops.len() > LISTED {
        ui.label(RichText::new(format!("and {} more", loops.loops.len() - LISTED)).color(theme.muted));
    }
    let _ = session;
}

fn context_ui(
    ui: &mut Ui,
    d: &Diagnosis,
    by_time: &mut bool,
    windows: &mut BTreeMap<String, u64>,
    theme: &Theme,
    actions: &mut Vec<DiagnosisAction>,
) {
    let c = &d.context;
    if c.points.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.heading("Context growth");
    if let Some(peak) = c.peak_point() {
        ui.label(format!("Peak {} at call {}", format_context_tokens(peak), peak.call + 1));
    }
    for &i in c.drops.iter().take(3) {
        if let Some(p) = c.points.get(i) {
            let from = p.dropped_from.get().map_or_else(String::new, |f| format!(" from {}", format_count(f)));
            let text = format!("Dropped{from} to {} at call {}", format_count(p.input_tokens), p.call + 1);
            if item(ui, text, theme.running, "Select that call") {
                actions.push(DiagnosisAction::Focus(p.span));
            }
        }
    }
    windows_ui(ui, d, windows, theme);
    ui.horizontal(|ui| {
        ui.label(RichText::new("x:").color(theme.muted));
        ui.selectable_value(by_time, false, "call");
        ui.selectable_value(by_time, true, "time");
    });
    let by = *by_time;
    // A line of more points than the plot has pixels is drawn as its envelope (every bucket's
    // lowest and highest point, in order): the same picture, peaks included, at any size.
    let tokens = envelope(
        c.points.iter().filter_map(|p| Some([x_of(p, by)?, p.input_tokens as f64])),
        c.points.len(),
        LINE_POINTS,
    );
    // The running cost shares the plot, scaled to the tokens' range; the right axis reads it back.
    let max_tokens = c.points.iter().map(|p| p.input_tokens).max().unwrap_or(0).max(1) as f64;
    let max_cost = c.points.iter().map(|p| p.running_cost_usd).fold(0.0, f64::max);
    let scale = if max_cost > 0.0 { max_tokens / max_cost } else { 1.0 };
    let cost = envelope(
        c.points.iter().filter_map(|p| Some([x_of(p, by)?, p.running_cost_usd * scale])),
        c.points.len(),
        LINE_POINTS,
    );
    // Drop markers likewise: a circle is a few dozen vertices, and a long session's tens of
    // thousands of drops made a mesh of tens of megabytes every frame.
    let drops = envelope(
        c.drops.iter().filter_map(|&i| c.points.get(i)).filter_map(|p| Some([x_of(p, by)?, p.input_tokens as f64])),
        c.drops.len(),
        MARKS,
    );
    let x_label = if by { "seconds from the start" } else { "LLM call" };
    let points = &c.points;
    let response = Plot::new("context-growth")
        .height(170.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .custom_x_axes(vec![AxisHints::new_x().label(x_label)])
        .custom_y_axes(vec![
            AxisHints::new_y().label("tokens in").formatter(|m, _| format_count(m.value as i64)),
            AxisHints::new_y()
                .label("cost so far")
                .placement(HPlacement::Right)
                .formatter(move |m, _| format_cost(m.value / scale)),
        ])
        .label_formatter(move |pos| {
            let x = match pos {
                egui_plot::HoverPosition::NearDataPoint { position, .. } => position.x,
                egui_plot::HoverPosition::Elsewhere { position } => position.x,
            };
            let p = nearest(points, by, x)?;
            Some(format!(
                "call {}: {}\ncost so far {}",
                p.call + 1,
                format_context_tokens(p),
                format_cost(p.running_cost_usd)
            ))
        })
        .show(ui, |plot| {
            plot.line(Line::new("tokens in", PlotPoints::from(tokens)).color(theme.llm).width(2.0));
            plot.line(Line::new("cost so far", PlotPoints::from(cost)).color(theme.slow).width(1.5));
            plot.points(Points::new("drops", PlotPoints::from(drops)).color(theme.running).radius(4.0));
            plot.pointer_coordinate()
        });
    // A click on the chart selects the call nearest to it.
    if response.response.clicked()
        && let Some(p) = response.inner.and_then(|at| nearest(points, by, at.x))
    {
        actions.push(DiagnosisAction::Focus(p.span));
    }
}

/// The context window of each model the chart shows: the built-in one or the user's, which
/// the user can set ("128000", "128k", "1M"; empty goes back to the built-in window).
fn windows_ui(ui: &mut Ui, d: &Diagnosis, windows: &mut BTreeMap<String, u64>, theme: &Theme) {
    // Each model once, in the order of its first call, with the window its calls were given.
    let models = &d.context.models;
    if models.is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Context windows").id_salt("context-windows").show(ui, |ui| {
        for (model, window) in models.iter().take(LISTED) {
            let key = model_key(model);
            let set_by_user = windows.contains_key(&key);
            let id = Id::unique("context-window").with(&key);
            ui.horizontal_wrapped(|ui| {
                let name = ui.label(one_line_max(model, 40));
                let mut draft: String = ui
                    .data_mut(|m| m.get_temp(id))
                    .unwrap_or_else(|| windows.get(&key).map_or_else(String::new, |t| t.to_string()));
                let built_in = if set_by_user { None } else { *window };
                let hint = built_in.map_or_else(|| "unknown".to_owned(), |w| format_count(w as i64));
                let hover = built_in.map_or_else(
                    || "No built-in window for this model: type one to see each call's share of it".to_owned(),
                    |w| format!("Built-in window: {} tokens", format_count(w as i64)),
                );
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut draft)
                            .hint_text(hint)
                            .desired_width(100.0)
                            .id_salt(("context-window-edit", &key)),
                    )
                    .labelled_by(name.id)
                    .on_hover_text(hover);
                let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                let set = ui.button("Set").on_hover_text("Use this window for the model (saved)").clicked();
                if entered || set {
                    match draft.trim() {
                        "" => {
                            windows.remove(&key);
                        }
                        typed => {
                            if let Some(tokens) = parse_tokens(typed) {
                                windows.insert(key.clone(), tokens);
                            }
                        }
                    }
                }
                let bad = !draft.trim().is_empty() && parse_tokens(&draft).is_none();
                if bad {
                    ui.label(RichText::new("not a number of tokens").color(theme.error));
                } else if set_by_user {
                    ui.label(RichText::new("set by you").color(theme.muted));
                }
                ui.data_mut(|m| m.insert_temp(id, draft));
            });
        }
        ui.label(
            RichText::new("Tokens, e.g. 128000, 128k or 1M; empty goes back to the built-in window. Saved.")
                .color(theme.muted),
        );
    });
}

/// A point's x: its call number (from 1) or its offset in seconds.
/// The most points a line of the context chart is drawn with: four a pixel of a wide panel.
const LINE_POINTS: usize = 4096;

/// The most drop markers the context chart draws: about one a pixel of a wide panel, each
/// bucket's lowest and highest when there are more.
const MARKS: usize = 1024;

/// `points` (at most `n` of them) as at most `max` points: all of them when `n` is no more,
/// else, for each run of consecutive points, its lowest and highest (by y), in their order.
fn envelope(points: impl Iterator<Item = [f64; 2]>, n: usize, max: usize) -> Vec<[f64; 2]> {
    if n <= max {
        return points.collect();
    }
    let per_bucket = n.div_ceil(max / 2).max(1);
    let mut out = Vec::with_capacity(2 * n.div_ceil(per_bucket));
    let mut bucket: Vec<[f64; 2]> = Vec::with_capacity(per_bucket);
    let mut flush = |bucket: &mut Vec<[f64; 2]>| {
        let by_y = |a: &&[f64; 2], b: &&[f64; 2]| a[1].total_cmp(&b[1]);
        let (Some(lo), Some(hi)) = (
            bucket.iter().enumerate().min_by(|a, b| by_y(&a.1, &b.1)),
            bucket.iter().enumerate().max_by(|a, b| by_y(&a.1, &b.1)),
        ) else {
            return;
        };
        let (first, second) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        out.push(*first.1);
        if first.0 != second.0 {
            out.push(*second.1);
        }
        bucket.clear();
    };
    for p in points {
        bucket.push(p);
        if bucket.len() == per_bucket {
            flush(&mut bucket);
        }
    }
    flush(&mut bucket);
    out
}

fn x_of(p: &ContextPoint, by_time: bool) -> Option<f64> {
    if by_time { p.offset_ms.get().map(|ms| ms / 1000.0) } else { Some((p.call + 1) as f64) }
}

/// The point nearest to `x` on the chart's axis.
fn nearest(points: &[ContextPoint], by_time: bool, x: f64) -> Option<&ContextPoint> {
    points
        .iter()
        .filter_map(|p| Some((p, (x_of(p, by_time)? - x).abs())))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_drawn_as_its_envelope() {
        let few: Vec<[f64; 2]> = (0..10).map(|i| [f64::from(i), f64::from(i % 3)]).collect();
        assert_eq!(envelope(few.iter().copied(), few.len(), 100), few, "short lines are kept whole");

        // 100,000 points with one spike and one dip: both survive the thinning.
        let n = 100_000;
        let y = |i: usize| match i {
            31_337 => 1e9,
            77_777 => -5.0,
            _ => (i % 100) as f64,
        };
        let line = envelope((0..n).map(|i| [i as f64, y(i)]), n, 1000);
        assert!(line.len() <= 1000 && line.len() >= 900, "{} points", line.len());
        assert!(line.contains(&[31_337.0, 1e9]) && line.contains(&[77_777.0, -5.0]));
        assert!(line.windows(2).all(|w| w[0][0] < w[1][0]), "in x order");
        let (lo, hi) = line.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
        assert_eq!((lo, hi), (-5.0, 1e9), "the same range as the whole line");
    }
}
