//! The Compare screen: two runs, their merged tree with both runs' bars on one relative time
//! axis, the totals with Δ and where the difference comes from, and the selected pair's detail.

use egui::RichText;

use crate::analysis::compare::{Contributor, DiffLine, JsonChange, JsonChangeKind, LineTag, Status};
use crate::app::command::{Command, CompareCommand};
use crate::compare_model::{CompareModel, DiffBody, Run};
use crate::export::compare::{figure_title, figure_value, percent, signed};
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::ids;
use crate::ui::compare::{CompareAction, CompareView, row_title, status_colour, status_text};
use crate::ui::text::{line_label, one_line, one_line_max};
use crate::ui::theme::Theme;

/// How many contributors each list shows.
const CONTRIBUTORS_SHOWN: usize = 8;

/// Two runs compared and the state of the widgets that show them.
pub struct CompareScreen {
    pub model: CompareModel,
    pub view: CompareView,
}

impl CompareScreen {
    /// A fresh comparison.
    #[must_use]
    pub fn new(model: CompareModel) -> Self {
        Self { model, view: CompareView::default() }
    }
}

/// Draws the Compare screen.
pub fn ui(ui: &mut egui::Ui, screen: &mut CompareScreen, theme: &Theme) -> Vec<Command> {
    let mut commands = Vec::new();
    let CompareScreen { model, view } = screen;
    let width = ui.available_width();
    let height = ui.available_height();
    egui::Panel::right("compare-summary")
        .default_size((width * 0.22).clamp(240.0, 360.0))
        .min_size(180.0)
        .max_size(width * 0.4)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::both().id_salt("compare-summary-scroll").show(ui, |ui| {
                commands.extend(summary_ui(ui, model, theme));
            });
        });
    let mut detail_open = model.selected.is_some();
    egui::Panel::bottom("compare-detail")
        .default_size((height * 0.32).max(140.0))
        .min_size(100.0)
        .max_size(height * 0.7)
        .resizable(true)
        .show_collapsible(ui, &mut detail_open, |ui| {
            egui::ScrollArea::vertical().id_salt("compare-detail-scroll").auto_shrink(false).show(ui, |ui| {
                ui.style_mut().interaction.selectable_labels = true;
                detail_ui(ui, model, theme);
            });
        });
    egui::Panel::top("compare-toolbar").show(ui, |ui| {
        run_line(ui, "A", &model.a, theme);
        run_line(ui, "B", &model.b, theme);
        ui.horizontal_wrapped(|ui| {
            if ui.button("Copy comparison").on_hover_text("Markdown for an issue or a chat (Ctrl+Shift+C)").clicked() {
                commands.push(Command::Compare(CompareCommand::Copy));
            }
            if ui.button("Swap A and B").clicked() {
                commands.push(Command::Compare(CompareCommand::Swap));
            }
            let mut only = model.only_changes;
            if ui.checkbox(&mut only, "Only changes").changed() {
                commands.push(Command::Compare(CompareCommand::OnlyChanges(only)));
            }
            let c = model.comparison.counts;
            ui.label(
                RichText::new(format!(
                    "{} pairs: {} same, {} slower, {} faster · {} only in A · {} only in B",
                    c.pairs, c.same, c.slower, c.faster, c.only_a, c.only_b
                ))
                .color(theme.muted),
            );
        });
    });
    egui::CentralPanel::default_margins().show(ui, |ui| {
        for a in view.ui(ui, model, theme) {
            commands.push(match a {
                CompareAction::Select(row) => Command::Compare(CompareCommand::Select { row, scroll: false }),
                CompareAction::Toggle(row) => Command::Compare(CompareCommand::Toggle(row)),
            });
        }
    });
    commands
}

/// One run's line: its letter, task, status, id, start and length, and its file when the two
/// runs come from two files.
fn run_line(ui: &mut egui::Ui, letter: &str, run: &Run, theme: &Theme) {
    let row = &run.session.data.row;
    ui.horizontal(|ui| {
        ui.label(RichText::new(letter).strong().monospace());
        let task = if row.task.is_empty() { "(no task)".to_owned() } else { one_line(&row.task).into_owned() };
        let rest = format!(
            "{} · {} · {} · {}",
            row.started.map_or_else(|| "no start".to_owned(), |t| t.short()),
            one_line_max(&row.status, 20),
            format_duration_ms(run.session.timeline.end_ms),
            one_line(ids::shown(&row.id)),
        );
        let file = run.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let room = ui.available_width();
        line_label(ui, RichText::new(task).strong(), room * 0.5);
        line_label(ui, RichText::new(rest).color(theme.muted), room * 0.35);
        line_label(ui, RichText::new(one_line(&file)).color(theme.muted).monospace(), room * 0.15);
    });
}

/// Totals with Δ and %, the biggest changes (clickable), the one-sided steps and warnings.
fn summary_ui(ui: &mut egui::Ui, model: &CompareModel, theme: &Theme) -> Vec<Command> {
    let mut commands = Vec::new();
    let c = &model.comparison;
    ui.heading("Totals");
    egui::Grid::new("compare-totals").num_columns(5).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
        for h in ["", "A", "B", "Δ", "%"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for f in &c.totals {
            ui.label(figure_title(f.name));
            ui.label(figure_value(f.name, f.a));
            ui.label(figure_value(f.name, f.b));
            let colour = delta_colour(theme, f.delta, ui.visuals().text_color());
            ui.label(RichText::new(signed(f.name, f.delta)).color(colour));
            ui.label(RichText::new(percent(f.percent)).color(colour));
            ui.end_row();
        }
    });
    let lists = [
        ("Where the time went (Δ wall time)", "wall_time_ms", &c.contributors.wall_time_ms),
        ("Where the money went (Δ cost)", "cost_usd", &c.contributors.cost_usd),
    ];
    for (title, unit, list) in lists {
        ui.add_space(8.0);
        ui.heading(title);
        if list.is_empty() {
            ui.label(RichText::new("No difference.").color(theme.muted));
        }
        for x in list.iter().take(CONTRIBUTORS_SHOWN) {
            if let Some(cmd) = contributor_ui(ui, model, x, unit, theme) {
                commands.push(cmd);
            }
        }
    }
    let tops: Vec<usize> = c.unpaired_tops().collect();
    if !tops.is_empty() {
        ui.add_space(8.0);
        ui.heading("Steps in one run only");
        for &i in tops.iter().take(30) {
            let Some(row) = c.rows.get(i) else { continue };
            let text = format!("{}  {}", status_text(row.status), row_title(model, row));
            let response = ui.add(
                egui::Label::new(RichText::new(one_line_max(&text, 120)).color(status_colour(theme, row.status)))
                    .sense(egui::Sense::click())
                    .truncate(),
            );
            if response.clicked() {
                commands.push(Command::Compare(CompareCommand::Select { row: i, scroll: true }));
            }
        }
        if tops.len() > 30 {
            ui.label(RichText::new(format!("and {} more", tops.len() - 30)).color(theme.muted));
        }
    }
    if !c.warnings.is_empty() {
        ui.add_space(8.0);
        ui.heading("Warnings");
        for w in &c.warnings {
            line_label(ui, RichText::new(one_line(w)).color(theme.warning), f32::INFINITY);
        }
    }
    commands
}

/// One contributor: its Δ and its step, clicked to select it.
fn contributor_ui(
    ui: &mut egui::Ui,
    model: &CompareModel,
    x: &Contributor,
    unit: &str,
    theme: &Theme,
) -> Option<Command> {
    let row = model.comparison.rows.get(x.row)?;
    let text = format!("{}  {}  {}", signed(unit, Some(x.delta)), status_text(row.status), row_title(model, row));
    let colour = delta_colour(theme, Some(x.delta), ui.visuals().text_color());
    let response = ui.add(
        egui::Label::new(RichText::new(one_line_max(&text, 160)).color(colour)).sense(egui::Sense::click()).truncate(),
    );
    let response = response.on_hover_text("Select it in the rows");
    response.clicked().then_some(Command::Compare(CompareCommand::Select { row: x.row, scroll: true }))
}

/// Slower, costlier (positive Δ) in the slow colour, less in green.
fn delta_colour(theme: &Theme, delta: Option<f64>, neutral: egui::Color32) -> egui::Color32 {
    match delta {
        Some(d) if d > 0.0 => theme.slow,
        Some(d) if d < 0.0 => theme.completed,
        _ => neutral,
    }
}

/// The selected pair: both traces' figures side by side.
fn detail_ui(ui: &mut egui::Ui, model: &CompareModel, theme: &Theme) {
    let Some(row) = model.selected.and_then(|i| model.row(i)) else {
        ui.label(RichText::new("Select a row to see both runs' traces side by side.").color(theme.muted));
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(row_title(model, row)).strong());
        ui.label(RichText::new(status_text(row.status)).color(status_colour(theme, row.status)));
        ui.label(format!("Δ time {}", signed("wall_time_ms", row.delta_ms)));
        ui.label(format!("Δ cost {}", signed("cost_usd", row.delta_cost_usd)));
    });
    ui.separator();
    ui.columns(2, |cols| {
        side_ui(&mut cols[0], "A", &model.a, row.a, theme);
        side_ui(&mut cols[1], "B", &model.b, row.b, theme);
    });
    if row.status == Status::Same {
        ui.label(RichText::new("Same signature and time within the threshold.").color(theme.muted));
    }
    ui.separator();
    match model.detail.as_ref().filter(|d| model.selected == Some(d.row)) {
        None => {
            ui.horizontal(|ui| {
                crate::ui::busy::spinner(ui);
                ui.label(RichText::new("Reading both traces…").color(theme.muted));
            });
        }
        Some(d) if d.diffs.is_empty() => {
            ui.label(RichText::new("No data or raw input/output to compare.").color(theme.muted));
        }
        Some(d) => {
            columns_ui(ui, d, theme);
            for (i, diff) in d.diffs.iter().enumerate() {
                ui.label(RichText::new(&diff.title).strong());
                match &diff.diff {
                    DiffBody::Note(note) => {
                        ui.label(RichText::new(note).color(theme.muted));
                    }
                    DiffBody::Json(changes) => json_changes_ui(ui, i, changes, theme),
                    DiffBody::Lines(lines) => lines_ui(ui, lines, theme),
                }
                ui.add_space(6.0);
            }
        }
    }
}

/// Every stored column of the two sides' first traces, side by side (raw input and output and
/// `data` are compared below), the differing ones marked.
fn columns_ui(ui: &mut egui::Ui, d: &crate::compare_model::PairDetail, theme: &Theme) {
    let (a, b) = (d.a.first(), d.b.first());
    let mut names: Vec<&str> = Vec::new();
    for f in a.into_iter().chain(b).flat_map(|t| t.fields.iter()) {
        if !names.contains(&f.name.as_str()) && !matches!(f.name.as_str(), "data" | "raw_input" | "raw_output") {
            names.push(&f.name);
        }
    }
    if names.is_empty() {
        return;
    }
    let value = |t: Option<&crate::model::TraceDetail>, name: &str| {
        t.and_then(|t| t.field(name))
            .map_or_else(|| "—".to_owned(), |f| f.value.clone().unwrap_or_else(|| "NULL".to_owned()))
    };
    ui.collapsing("Every column of both traces", |ui| {
        egui::Grid::new("compare-columns").num_columns(3).striped(true).spacing([12.0, 2.0]).show(ui, |ui| {
            for h in ["Column", "A", "B"] {
                ui.label(RichText::new(h).color(theme.muted));
            }
            ui.end_row();
            for name in names {
                let (va, vb) = (value(a, name), value(b, name));
                let colour = if va == vb { ui.visuals().text_color() } else { theme.slow };
                ui.label(RichText::new(name).monospace().color(colour));
                line_label(ui, RichText::new(one_line(&va).into_owned()).monospace(), 320.0);
                line_label(ui, RichText::new(one_line(&vb).into_owned()).monospace(), 320.0);
                ui.end_row();
            }
        });
    });
}

/// How many changed keys or lines a diff lists before "and N more".
const DIFF_SHOWN: usize = 200;

/// Keys added, removed or changed, with both values on one line each.
fn json_changes_ui(ui: &mut egui::Ui, salt: usize, changes: &[JsonChange], theme: &Theme) {
    if changes.is_empty() {
        ui.label(RichText::new("Same JSON.").color(theme.muted));
        return;
    }
    let value = |v: &Option<serde_json::Value>| v.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string);
    egui::Grid::new(("compare-json", salt)).num_columns(4).striped(true).spacing([10.0, 2.0]).show(ui, |ui| {
        for h in ["Key", "", "A", "B"] {
            ui.label(RichText::new(h).color(theme.muted));
        }
        ui.end_row();
        for c in changes.iter().take(DIFF_SHOWN) {
            let (word, colour) = match c.kind {
                JsonChangeKind::Added => ("added", theme.completed),
                JsonChangeKind::Removed => ("removed", theme.error),
                JsonChangeKind::Changed => ("changed", theme.slow),
            };
            line_label(ui, RichText::new(one_line(&c.path).into_owned()).monospace(), 220.0);
            ui.label(RichText::new(word).color(colour));
            line_label(ui, RichText::new(one_line(&value(&c.a)).into_owned()).monospace(), 300.0);
            line_label(ui, RichText::new(one_line(&value(&c.b)).into_owned()).monospace(), 300.0);
            ui.end_row();
        }
    });
    if changes.len() > DIFF_SHOWN {
        ui.label(RichText::new(format!("and {} more", changes.len() - DIFF_SHOWN)).color(theme.muted));
    }
}

/// The changed lines of two texts, each with a line of context around it.
fn lines_ui(ui: &mut egui::Ui, lines: &[DiffLine], theme: &Theme) {
    if lines.iter().all(|l| l.tag == LineTag::Same) {
        ui.label(RichText::new("Same text.").color(theme.muted));
        return;
    }
    let near_change = |i: usize| {
        let lo = i.saturating_sub(1);
        lines[lo..lines.len().min(i + 2)].iter().any(|l| l.tag != LineTag::Same)
    };
    let mut shown = 0;
    let mut gap = false;
    for (i, line) in lines.iter().enumerate() {
        if !near_change(i) {
            gap = true;
            continue;
        }
        if shown == DIFF_SHOWN {
            ui.label(RichText::new("…").color(theme.muted));
            break;
        }
        if std::mem::take(&mut gap) && shown > 0 {
            ui.label(RichText::new("⋯").color(theme.muted));
        }
        let (mark, colour) = match line.tag {
            LineTag::Same => (' ', theme.muted),
            LineTag::Removed => ('-', theme.error),
            LineTag::Added => ('+', theme.completed),
        };
        let text = format!("{mark} {}", one_line(&line.text));
        line_label(ui, RichText::new(text).monospace().color(colour), f32::INFINITY);
        shown += 1;
    }
}

/// One side of the selected pair.
fn side_ui(ui: &mut egui::Ui, letter: &str, run: &Run, span: Option<usize>, theme: &Theme) {
    ui.label(RichText::new(letter).strong().monospace());
    let (Some(s), Some(e)) = (run.span(span), run.event(span)) else {
        ui.label(RichText::new("Not in this run.").color(theme.muted));
        return;
    };
    let events = &run.session.data.events;
    egui::Grid::new(("compare-side", letter)).num_columns(2).spacing([10.0, 2.0]).show(ui, |ui| {
        let mut line = |k: &str, v: String| {
            ui.label(RichText::new(k).color(theme.muted));
            line_label(ui, RichText::new(one_line(&v).into_owned()), 420.0);
            ui.end_row();
        };
        line("Type", e.kind.to_string());
        line("Label", s.label(events).to_string());
        line("Id", e.id.to_string());
        if s.timed {
            line("Start", format!("+{}", format_duration_ms(s.start_ms)));
            if !s.instant {
                line("Duration", format_duration_ms(s.duration_ms()));
            }
        }
        if let Some((i, o)) = s.tokens(events) {
            line("Tokens in / out", format!("{} / {}", format_count(i), format_count(o)));
        }
        if let Some(c) = s.cost_usd(events) {
            line("Cost", format_cost(c));
        }
        if let Some(m) = s.model(events) {
            line("Model", m.to_string());
        }
        if s.failed {
            line("Outcome", "failed".to_owned());
        }
    });
}
