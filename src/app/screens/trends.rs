//! The Trends screen: the whole file over time, bucketed by hour, day or week (automatic from
//! the span of the data, switchable): sessions by outcome, cost by model, and the p95 duration
//! of the busiest tools, as egui_plot charts whose hover gives a bucket's exact figures; beside
//! them, what rose in the last bucket and the task groups. Counted off the UI thread with the
//! CLI's `stats` and `tasks` rules.
//!
//! Dragging across any chart (or clicking a bucket) brushes a time range: the sessions table
//! and its models panel then show the sessions started in it, until the range is cleared.

use egui::{Color32, Rect, RichText};
use egui_plot::{AxisHints, Bar, BarChart, Legend, Line, Plot, PlotPoints, PlotUi, Span};

use crate::analysis::sessions::TimeRange;
use crate::analysis::tasks::TaskGroup;
use crate::analysis::trends::{Bucket, Metric, Regression, Stats};
use crate::app::command::Command;
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;

/// How many models and tools get a series of their own (the rest are "other").
const SERIES: usize = 5;
/// How many task groups the table lists.
const TASKS_LISTED: usize = 50;

/// The file's trends as counted, and the chosen bucket width.
pub struct TrendsScreen {
    pub trends: Stats,
    pub tasks: Vec<TaskGroup>,
    pub regressions: Vec<Regression>,
    /// `None`: automatic.
    pub by: Option<Bucket>,
    /// Where a brush began (in bucket numbers) while the pointer drags across a chart.
    brush_from: Option<f64>,
    /// Each chart's plot area as drawn last frame, top to bottom.
    pub chart_rects: Vec<Rect>,
}

impl TrendsScreen {
    /// The screen for these counts.
    #[must_use]
    pub fn new(trends: Stats, tasks: Vec<TaskGroup>, regressions: Vec<Regression>, by: Option<Bucket>) -> Self {
        Self { trends, tasks, regressions, by, brush_from: None, chart_rects: Vec::new() }
    }
}

/// Draws the Trends screen; `range` is the time range the sessions table is narrowed to.
pub fn ui(ui: &mut egui::Ui, screen: &mut TrendsScreen, range: Option<TimeRange>, theme: &Theme) -> Vec<Command> {
    let mut commands = Vec::new();
    let width = ui.available_width();
    egui::Panel::right("trends-side").default_size((width * 0.34).clamp(300.0, 520.0)).resizable(true).show(ui, |ui| {
        egui::ScrollArea::both().id_salt("trends-side-scroll").show(ui, |ui| {
            regressions_ui(ui, &screen.regressions, theme);
            ui.add_space(8.0);
            tasks_ui(ui, &screen.tasks, theme);
        });
    });
    egui::CentralPanel::default_margins().show(ui, |ui| {
        let t = &screen.trends;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Buckets:").color(theme.muted));
            for (choice, label) in
                [(None, "automatic"), (Some(Bucket::Hour), "hour"), (Some(Bucket::Day), "day"), (Some(Bucket::Week), "week")]
            {
                if ui.selectable_label(screen.by == choice, label).clicked() && screen.by != choice {
                    commands.push(Command::Trends(choice));
                }
            }
            ui.label(RichText::new(format!("{} buckets of one {}", t.buckets.len(), bucket_name(t.by))).color(theme.muted));
            let bad = &t.bad;
            let apart = bad.sessions_without_start + bad.traces_without_time + bad.absurd_costs + bad.absurd_tokens;
            if apart > 0 {
                ui.label(RichText::new(format!(
                    "counted apart: {} sessions without a usable start, {} traces without a readable time, {} absurd costs, {} absurd token counts",
                    bad.sessions_without_start, bad.traces_without_time, bad.absurd_costs, bad.absurd_tokens
                ))
                .color(theme.warning));
            }
        });
        if t.buckets.is_empty() {
            ui.label(RichText::new("No session or trace with a usable time: nothing to chart.").color(theme.warning));
            return;
        }
        range_ui(ui, t, range, theme, &mut commands);
        let mut brush = Brush { from: screen.brush_from, shown: range.and_then(|r| t.buckets_in(r)), done: None };
        let mut rects = Vec::new();
        egui::ScrollArea::vertical().id_salt("trends-charts").show(ui, |ui| {
            let height = ((ui.available_height() - 90.0) / 3.0).max(170.0);
            rects.push(sessions_chart(ui, t, theme, height, &mut brush));
            rects.push(cost_chart(ui, t, theme, height, &mut brush));
            rects.push(tools_chart(ui, t, theme, height, &mut brush));
        });
        screen.brush_from = brush.from;
        screen.chart_rects = rects;
        if let Some((first, last)) = brush.done
            && let Some(r) = t.range_of(first, last)
        {
            commands.push(Command::SetRange(Some(r)));
        }
    });
    commands
}

/// The brushed range above the charts, with what it holds and how to clear it; else a hint.
fn range_ui(ui: &mut egui::Ui, t: &Stats, range: Option<TimeRange>, theme: &Theme, commands: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        let Some(r) = range else {
            ui.label(
                RichText::new("Drag across a chart (or click a bar) to show that time's sessions in the table.")
                    .color(theme.muted),
            );
            return;
        };
        ui.label(RichText::new(format!("Range: {} to {}", r.since.short(), r.until.short())).color(theme.selected));
        let n = t.sessions_in(r);
        ui.label(format!("{} sessions started", format_count(i64::try_from(n).unwrap_or(i64::MAX))));
        if ui.button("Show in the table").on_hover_text("The sessions table, narrowed to this range").clicked() {
            commands.push(Command::Back);
        }
        if ui.button("Clear range").on_hover_text("Esc").clicked() {
            commands.push(Command::SetRange(None));
        }
    });
}

/// A brush across the charts: where a drag began, the buckets of the range shown, and the
/// buckets chosen when a drag (or a click) ends.
struct Brush {
    from: Option<f64>,
    shown: Option<(usize, usize)>,
    done: Option<(usize, usize)>,
}

/// The bucket nearest to `x` (bars sit on whole numbers).
fn bucket_at(x: f64, buckets: usize) -> usize {
    let last = buckets.saturating_sub(1);
    if x.is_nan() || x <= 0.0 { 0 } else { (x.round() as usize).min(last) }
}

/// Shows `plot` with the brushed range (or the drag in progress) shaded over `draw`'s items,
/// and turns a drag or a click on it into a chosen range. Returns the plot area.
fn brushed_chart<'a>(
    ui: &mut egui::Ui,
    plot: Plot<'a>,
    buckets: usize,
    theme: &Theme,
    brush: &mut Brush,
    draw: impl FnOnce(&mut PlotUi<'a>) + 'a,
) -> Rect {
    let fill = theme.selected.gamma_multiply(0.18);
    let from = brush.from;
    let shown = brush.shown;
    let plot = plot.include_x(-0.5).include_x(buckets as f64 - 0.5);
    let response = plot.show(ui, move |plot| {
        draw(plot);
        let dragging = plot.response().dragged();
        let span = match (from, plot.pointer_coordinate()) {
            (Some(a), Some(b)) if dragging => Some((a.min(b.x), a.max(b.x))),
            _ => shown.map(|(first, last)| (first as f64 - 0.5, last as f64 + 0.5)),
        };
        if let Some((lo, hi)) = span {
            plot.span(Span::new("", lo..=hi).fill(fill).border_color(fill.gamma_multiply(3.0)));
        }
    });
    let r = &response.response;
    let x_at = |pos: egui::Pos2| response.transform.value_from_position(pos).x;
    if r.drag_started() {
        let origin = ui.input(|i| i.pointer.press_origin()).or(r.interact_pointer_pos());
        brush.from = origin.map(x_at);
    }
    if r.drag_stopped() {
        if let (Some(a), Some(b)) = (brush.from.take(), r.interact_pointer_pos().map(x_at)) {
            brush.done = Some((bucket_at(a.min(b), buckets), bucket_at(a.max(b), buckets)));
        }
    } else if r.clicked()
        && let Some(x) = r.interact_pointer_pos().map(x_at)
    {
        let at = bucket_at(x, buckets);
        brush.done = Some((at, at));
    }
    *response.transform.frame()
}

fn bucket_name(b: Bucket) -> &'static str {
    match b {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week",
    }
}

/// The x axis: bucket numbers labelled with their start.
fn x_axis(t: &Stats) -> AxisHints<'_> {
    let by = t.by;
    AxisHints::new_x().formatter(move |mark, _| {
        let i = mark.value.round();
        if (mark.value - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        t.buckets.get(i as usize).map_or_else(String::new, |b| {
            let time = b.start.to_chrono();
            match by {
                Bucket::Hour => time.format("%m-%d %H:00").to_string(),
                Bucket::Day | Bucket::Week => time.format("%Y-%m-%d").to_string(),
            }
        })
    })
}

fn chart<'a>(id: &str, title: &str, t: &'a Stats, height: f32) -> Plot<'a> {
    Plot::new(id.to_owned())
        .height(height)
        .legend(Legend::default())
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .custom_x_axes(vec![x_axis(t)])
        .custom_y_axes(vec![AxisHints::new_y().label(title.to_owned())])
}

/// One outcome's count in a bucket.
type OutcomeCount = fn(&crate::analysis::trends::Outcomes) -> u64;

/// Sessions started per bucket, stacked by outcome.
fn sessions_chart(ui: &mut egui::Ui, t: &Stats, theme: &Theme, height: f32, brush: &mut Brush) -> Rect {
    ui.label(RichText::new("Sessions started, by outcome").strong());
    let series: [(&str, Color32, OutcomeCount); 5] = [
        ("completed", theme.completed, |o| o.completed),
        ("failed", theme.error, |o| o.failed),
        ("cancelled", theme.cancelled, |o| o.cancelled),
        ("running", theme.running, |o| o.running),
        ("other", theme.muted, |o| o.other),
    ];
    brushed_chart(ui, chart("trends-sessions", "sessions", t, height), t.buckets.len(), theme, brush, move |plot| {
        let mut below: Vec<BarChart> = Vec::new();
        for (name, colour, count) in series {
            let bars = t
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| Bar::new(i as f64, count(&b.sessions) as f64).name(bucket_label(t, i)))
                .collect();
            let refs: Vec<&BarChart> = below.iter().collect();
            let chart = BarChart::new(name, bars).color(colour).width(0.8).stack_on(&refs);
            below.push(chart);
        }
        for c in below {
            plot.bar_chart(c);
        }
    })
}

/// Cost per bucket, stacked by model (the costliest models, then the rest).
fn cost_chart(ui: &mut egui::Ui, t: &Stats, theme: &Theme, height: f32, brush: &mut Brush) -> Rect {
    ui.label(RichText::new("Cost, by model").strong());
    let mut totals: Vec<(String, f64)> = Vec::new();
    for b in &t.buckets {
        for m in &b.models {
            match totals.iter_mut().find(|(name, _)| *name == m.model) {
                Some(x) => x.1 += m.cost_usd,
                None => totals.push((m.model.clone(), m.cost_usd)),
            }
        }
    }
    totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = totals.iter().take(SERIES).map(|(m, _)| m.clone()).collect();
    let colours = [theme.llm, theme.tool, theme.slow, theme.running, theme.other, theme.muted];
    brushed_chart(ui, chart("trends-cost", "cost (USD)", t, height), t.buckets.len(), theme, brush, move |plot| {
        let mut below: Vec<BarChart> = Vec::new();
        for (k, name) in top.iter().map(String::as_str).chain(std::iter::once("other models")).enumerate() {
            let bars = t
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let cost: f64 = b
                        .models
                        .iter()
                        .filter(|m| if k < top.len() { m.model == name } else { !top.contains(&m.model) })
                        .map(|m| m.cost_usd)
                        .sum();
                    Bar::new(i as f64, cost).name(format!("{} {}", bucket_label(t, i), format_cost(cost)))
                })
                .collect();
            let refs: Vec<&BarChart> = below.iter().collect();
            let chart = BarChart::new(one_line(name).into_owned(), bars)
                .color(colours[k.min(colours.len() - 1)])
                .width(0.8)
                .stack_on(&refs);
            below.push(chart);
        }
        for c in below {
            plot.bar_chart(c);
        }
    })
}

/// The p95 call duration per bucket of the busiest tools.
fn tools_chart(ui: &mut egui::Ui, t: &Stats, theme: &Theme, height: f32, brush: &mut Brush) -> Rect {
    ui.label(RichText::new("p95 call duration of the busiest tools (ms)").strong());
    let mut calls: Vec<(String, u64)> = Vec::new();
    for b in &t.buckets {
        for tool in &b.tools {
            match calls.iter_mut().find(|(name, _)| *name == tool.tool) {
                Some(x) => x.1 += tool.calls,
                None => calls.push((tool.tool.clone(), tool.calls)),
            }
        }
    }
    calls.sort_by_key(|c| std::cmp::Reverse(c.1));
    brushed_chart(ui, chart("trends-tools", "p95 (ms)", t, height), t.buckets.len(), theme, brush, move |plot| {
        for (name, _) in calls.iter().take(SERIES) {
            let points: PlotPoints = t
                .buckets
                .iter()
                .enumerate()
                .filter_map(|(i, b)| b.tools.iter().find(|x| &x.tool == name).map(|x| [i as f64, x.p95_ms]))
                .collect();
            plot.line(Line::new(one_line(name).into_owned(), points).width(2.0));
        }
    })
}

fn bucket_label(t: &Stats, i: usize) -> String {
    t.buckets.get(i).map_or_else(String::new, |b| b.start.short())
}

/// What rose in the last bucket against the earlier ones, the rises first.
fn regressions_ui(ui: &mut egui::Ui, found: &[Regression], theme: &Theme) {
    ui.heading("Last bucket against the earlier ones");
    let rose: Vec<&Regression> = found.iter().filter(|r| r.rose).collect();
    if rose.is_empty() {
        ui.label(RichText::new("Nothing rose by more than 20 %.").color(theme.muted));
    }
    for r in rose.iter().take(20) {
        let show = |v: f64| match r.metric {
            Metric::TaskCostPerRunUsd => format_cost(v),
            Metric::ToolP95Ms | Metric::TaskP95DurationMs => format_duration_ms(v),
        };
        let what = match r.metric {
            Metric::ToolP95Ms => "p95",
            Metric::TaskP95DurationMs => "p95 run",
            Metric::TaskCostPerRunUsd => "cost per run",
        };
        let change = r.change.map_or_else(|| "up from zero".to_owned(), |c| format!("{:+.0} %", c * 100.0));
        let text =
            format!("{} {} {what}: {} → {} ({change})", r.kind, one_line(&r.name), show(r.earlier), show(r.last));
        line_label(ui, RichText::new(text).color(theme.slow), f32::INFINITY);
    }
}

/// The task groups, costliest first.
fn tasks_ui(ui: &mut egui::Ui, tasks: &[TaskGroup], theme: &Theme) {
    ui.heading(format!("Tasks ({})", tasks.len()));
    egui::Grid::new("trends-tasks").num_columns(6).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
        for h in ["Task", "Runs", "Success", "p50 time", "p95 time", "Cost"] {
            ui.label(RichText::new(h).color(theme.muted));
        }
        ui.end_row();
        for g in tasks.iter().take(TASKS_LISTED) {
            ui.scope(|ui| {
                ui.set_min_width(200.0);
                line_label(ui, one_line(&g.task).into_owned(), 200.0).on_hover_text(one_line(&g.task));
            });
            ui.label(format_count(i64::try_from(g.runs).unwrap_or(i64::MAX)));
            ui.label(g.success_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0)));
            ui.label(g.duration_p50_ms.map_or_else(|| "—".to_owned(), format_duration_ms));
            ui.label(g.duration_p95_ms.map_or_else(|| "—".to_owned(), format_duration_ms));
            ui.label(format_cost(g.total_cost_usd));
            ui.end_row();
        }
    });
    if tasks.len() > TASKS_LISTED {
        ui.label(
            RichText::new(format!("and {} more (trace-inspector tasks FILE)", tasks.len() - TASKS_LISTED))
                .color(theme.muted),
        );
    }
}
