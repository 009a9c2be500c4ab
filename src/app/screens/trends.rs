//! The Trends screen: the whole file over time, bucketed by hour, day or week (automatic from
//! the span of the data, switchable): sessions by outcome, cost by model, tokens in and out,
//! errors per session, and the p50 or p95 duration of the busiest tools (or the ones picked),
//! as egui_plot charts whose hover gives a bucket's exact figures; beside
//! them, what rose in the last bucket and the task groups. Counted off the UI thread with the
//! CLI's `stats` and `tasks` rules.
//!
//! Dragging across any chart (or clicking a bucket) brushes a time range: the sessions table
//! and its models panel then show the sessions started in it, until the range is cleared.

use std::sync::Arc;

use egui::{Color32, Rect, RichText};
use egui_plot::{AxisHints, Bar, BarChart, Corner, Legend, Line, Plot, PlotPoints, PlotUi, Span};

use crate::analysis::sessions::{self, Only, TimeRange};
use crate::analysis::tasks::{CostPoint, TaskGroup};
use crate::analysis::trends::{Bucket, Metric, Regression, Stats, usual_top, usual_top_of_series};
use crate::app::command::{Command, CompareCommand};
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::model::SessionRow;
use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;

/// How many models and tools get a series of their own (the rest are "other").
const SERIES: usize = 5;
/// How many task groups the table lists.
const TASKS_LISTED: usize = 50;
/// The width of a task's name in the task table, in points.
const TASK_NAME_WIDTH: f32 = 160.0;
/// How many runs of a task the compare picker lists.
const RUNS_LISTED: usize = 200;

/// The file's trends as counted, and the chosen bucket width.
pub struct TrendsScreen {
    pub trends: Stats,
    /// What the charts draw, worked out once from `trends` (not per frame).
    charts: Charts,
    pub tasks: Vec<TaskGroup>,
    pub regressions: Vec<Regression>,
    /// `None`: automatic.
    pub by: Option<Bucket>,
    /// Where a brush began (in bucket numbers) while the pointer drags across a chart.
    brush_from: Option<f64>,
    /// Each chart's plot area as drawn last frame, top to bottom.
    pub chart_rects: Vec<Rect>,
    /// The task group (index into `tasks`) two runs are being picked from to compare.
    pub picking: Option<usize>,
    /// The runs picked so far (session ids), at most two.
    pub picked: Vec<String>,
    /// Stop the axes short of values far above the rest (see [`usual_top`]).
    pub usual_axes: bool,
    /// The tools chart draws the p50 (else the p95) of each bucket's calls.
    pub tools_p50: bool,
    /// The tools the tools chart draws; `None`: the busiest few.
    pub tools_shown: Option<Vec<String>>,
    /// The task groups were made with numbers and ids taken out of the tasks.
    pub tasks_normalized: bool,
}

impl TrendsScreen {
    /// The screen for these counts.
    #[must_use]
    pub fn new(trends: Stats, tasks: Vec<TaskGroup>, regressions: Vec<Regression>, by: Option<Bucket>) -> Self {
        Self {
            charts: Charts::new(&trends),
            trends,
            tasks,
            regressions,
            by,
            brush_from: None,
            chart_rects: Vec::new(),
            picking: None,
            picked: Vec::new(),
            usual_axes: true,
            tools_p50: false,
            tools_shown: None,
            tasks_normalized: false,
        }
    }

    /// Takes over what the user chose on `old`: the axes' fit and the tools chart's choices.
    pub fn keep_choices(&mut self, old: &Self) {
        self.usual_axes = old.usual_axes;
        self.tools_p50 = old.tools_p50;
        self.tools_shown.clone_from(&old.tools_shown);
    }
}

/// Draws the Trends screen; `range` is the time range the sessions table is narrowed to and
/// `sessions` the file's list (for the runs of a task).
pub fn ui(
    ui: &mut egui::Ui,
    screen: &mut TrendsScreen,
    range: Option<TimeRange>,
    sessions: &[Arc<SessionRow>],
    theme: &Theme,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let width = ui.available_width();
    egui::Panel::right("trends-side").default_size((width * 0.36).clamp(300.0, 560.0)).resizable(true).show(ui, |ui| {
        // Filling the panel, its horizontal scroll bar sits at the panel's foot, not over the last row.
        egui::ScrollArea::both().id_salt("trends-side-scroll").auto_shrink(false).show(ui, |ui| {
            regressions_ui(ui, &screen.regressions, theme);
            ui.add_space(8.0);
            tasks_ui(ui, screen, sessions, theme, &mut commands);
        });
    });
    egui::CentralPanel::default_margins().show(ui, |ui| {
        let t = &screen.trends;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Buckets:").color(theme.muted));
            for (choice, label) in [
                (None, "automatic"),
                (Some(Bucket::Hour), "hour"),
                (Some(Bucket::Day), "day"),
                (Some(Bucket::Week), "week"),
            ] {
                if ui.selectable_label(screen.by == choice, label).clicked() && screen.by != choice {
                    commands.push(Command::Trends(choice));
                }
            }
            ui.label(
                RichText::new(format!("{} buckets of one {}", t.buckets.len(), bucket_name(t.by))).color(theme.muted),
            );
            let bad = &t.bad;
            let mut apart = Vec::new();
            for (n, what) in [
                (bad.sessions_without_start, "sessions without a usable start time"),
                (bad.traces_without_time, "traces without a readable time"),
                (bad.absurd_costs, "absurd costs"),
                (bad.absurd_tokens, "absurd token counts"),
            ] {
                if n > 0 {
                    apart.push(format!("{} {what}", format_count(i64::try_from(n).unwrap_or(i64::MAX))));
                }
            }
            if !apart.is_empty() {
                ui.label(RichText::new(format!("Counted apart: {}", apart.join(", "))).color(theme.warning))
                    .on_hover_text(
                        "Left out of every chart and sum: a cost over $100,000 or below zero, tokens over a billion \
                         or below zero, a time that does not read as one",
                    );
            }
        });
        ui.checkbox(&mut screen.usual_axes, "Fit axes to the usual values").on_hover_text(
            "A chart whose largest value is over five times the rest's 90th percentile stops its axis short of it",
        );
        if t.buckets.is_empty() {
            ui.label(RichText::new("No session or trace with a usable time: nothing to chart.").color(theme.warning));
            return;
        }
        range_ui(ui, t, range, theme, &mut commands);
        let mut brush = Brush { from: screen.brush_from, shown: range.and_then(|r| t.buckets_in(r)), done: None };
        let mut rects = Vec::new();
        egui::ScrollArea::vertical().id_salt("trends-charts").show(ui, |ui| {
            let height = ((ui.available_height() - 90.0) / 3.0).max(170.0);
            let set = ChartSet { t, charts: &screen.charts, theme, height, usual: screen.usual_axes };
            rects.push(sessions_chart(ui, &set, &mut brush));
            rects.push(cost_chart(ui, &set, &mut brush));
            rects.push(tokens_chart(ui, &set, &mut brush));
            rects.push(errors_chart(ui, &set, &mut brush));
            let tools = ToolsChoice { p50: &mut screen.tools_p50, shown: &mut screen.tools_shown };
            rects.push(tools_chart(ui, &set, tools, &mut brush));
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

/// A chart; with `top`, its y axis stops there (its id changes with it, as a plot keeps its
/// bounds by id).
fn chart<'a>(id: &str, title: &str, t: &'a Stats, height: f32, top: Option<f64>) -> Plot<'a> {
    let plot = Plot::new(if top.is_some() { format!("{id}-usual") } else { id.to_owned() });
    let plot = match top {
        Some(top) if top > 0.0 => plot.default_y_bounds(0.0, top),
        _ => plot,
    };
    plot.height(height)
        // The newest buckets, where a change shows, are on the right: the legend goes left.
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .custom_x_axes(vec![x_axis(t)])
        .custom_y_axes(vec![AxisHints::new_y().label(title.to_owned())])
}

/// Each name's sum, in the order the names first come (a handful of models or tools).
fn sum_by_name<'a, V: Copy + std::ops::AddAssign>(items: impl Iterator<Item = (&'a str, V)>) -> Vec<(String, V)> {
    let mut sums: Vec<(String, V)> = Vec::new();
    for (name, value) in items {
        match sums.iter_mut().find(|(n, _)| n == name) {
            Some(x) => x.1 += value,
            None => sums.push((name.to_owned(), value)),
        }
    }
    sums
}

/// A bar chart's hover text, made for the bar under the pointer.
type BarHover = Box<dyn Fn(&Bar, &BarChart) -> String>;

/// What the bar charts draw, worked out once per count: the buckets' labels and the cost of
/// each of the costliest models (and the rest) per bucket. A frame then builds its bars from
/// numbers, and formats a hover text only for the bar under the pointer.
struct Charts {
    labels: Arc<[String]>,
    /// (model or "other models", cost per bucket).
    cost: Vec<(String, Vec<f64>)>,
}

impl Charts {
    fn new(t: &Stats) -> Self {
        let labels: Arc<[String]> = t
            .buckets
            .iter()
            .map(|b| {
                let start = b.start.to_chrono();
                match t.by {
                    Bucket::Hour => start.format("%Y-%m-%d %H:00 UTC").to_string(),
                    Bucket::Day => start.format("%Y-%m-%d").to_string(),
                    Bucket::Week => start.format("week of %Y-%m-%d").to_string(),
                }
            })
            .collect();
        let mut totals = sum_by_name(t.buckets.iter().flat_map(|b| &b.models).map(|m| (&*m.model, m.cost_usd)));
        totals.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = totals.into_iter().take(SERIES).map(|(m, _)| m).collect();
        let mut cost: Vec<(String, Vec<f64>)> = top.iter().map(|m| (m.clone(), vec![0.0; t.buckets.len()])).collect();
        let mut other = vec![0.0; t.buckets.len()];
        for (i, b) in t.buckets.iter().enumerate() {
            for m in &b.models {
                match top.iter().position(|name| *name == m.model) {
                    Some(k) => cost[k].1[i] += m.cost_usd,
                    None => other[i] += m.cost_usd,
                }
            }
        }
        cost.push(("other models".to_owned(), other));
        Self { labels, cost }
    }

    /// The hover text of a bar of series `name`: the series, the bucket and `value` as `fmt`
    /// writes it.
    fn hover(&self, name: &str, fmt: fn(f64) -> String) -> BarHover {
        let labels = Arc::clone(&self.labels);
        let name = one_line(name).into_owned();
        Box::new(move |bar, _| {
            let at = labels.get(bucket_at(bar.argument, labels.len())).map_or("", String::as_str);
            format!("{name}\n{at}: {}", fmt(bar.value))
        })
    }
}

/// One outcome's count in a bucket.
type OutcomeCount = fn(&crate::analysis::trends::Outcomes) -> u64;

/// Sessions started per bucket, stacked by outcome.
fn sessions_chart(ui: &mut egui::Ui, set: &ChartSet<'_>, brush: &mut Brush) -> Rect {
    let ChartSet { t, charts, theme, height, .. } = *set;
    ui.label(RichText::new("Sessions started, by outcome").strong());
    let series: [(&str, Color32, OutcomeCount); 5] = [
        ("completed", theme.completed, |o| o.completed),
        ("failed", theme.error, |o| o.failed),
        ("cancelled", theme.cancelled, |o| o.cancelled),
        ("running", theme.running, |o| o.running),
        ("other", theme.muted, |o| o.other),
    ];
    brushed_chart(
        ui,
        chart("trends-sessions", "sessions", t, height, None),
        t.buckets.len(),
        theme,
        brush,
        move |plot| {
            let mut below: Vec<BarChart> = Vec::new();
            for (name, colour, count) in series {
                let bars =
                    t.buckets.iter().enumerate().map(|(i, b)| Bar::new(i as f64, count(&b.sessions) as f64)).collect();
                let refs: Vec<&BarChart> = below.iter().collect();
                let chart = BarChart::new(name, bars)
                    .color(colour)
                    .width(0.8)
                    .element_formatter(charts.hover(name, |v| format_count(v as i64)))
                    .stack_on(&refs);
                below.push(chart);
            }
            for c in below {
                plot.bar_chart(c);
            }
        },
    )
}

/// What every chart of the screen draws from: the counts, the charts' hover cache, the
/// colours, the height of one chart and whether axes fit the usual values.
#[derive(Clone, Copy)]
struct ChartSet<'a> {
    t: &'a Stats,
    charts: &'a Charts,
    theme: &'a Theme,
    height: f32,
    usual: bool,
}

/// Cost per bucket, stacked by model (the costliest models, then the rest).
fn cost_chart(ui: &mut egui::Ui, set: &ChartSet<'_>, brush: &mut Brush) -> Rect {
    let ChartSet { t, charts, theme, height, usual } = *set;
    let totals: Vec<f64> = t.buckets.iter().map(|b| b.cost_usd).collect();
    let axis_top = usual.then(|| usual_top(&totals)).flatten();
    title_ui(ui, "Cost, by model", &totals, axis_top, theme);
    let colours = [theme.llm, theme.tool, theme.slow, theme.running, theme.other, theme.muted];
    brushed_chart(
        ui,
        chart("trends-cost", "cost (USD)", t, height, axis_top),
        t.buckets.len(),
        theme,
        brush,
        move |plot| {
            let mut below: Vec<BarChart> = Vec::new();
            for (k, (name, cost)) in charts.cost.iter().enumerate() {
                let bars = cost.iter().enumerate().map(|(i, &c)| Bar::new(i as f64, c)).collect();
                let refs: Vec<&BarChart> = below.iter().collect();
                let chart = BarChart::new(one_line(name).into_owned(), bars)
                    .color(colours[k.min(colours.len() - 1)])
                    .width(0.8)
                    .element_formatter(charts.hover(name, format_cost))
                    .stack_on(&refs);
                below.push(chart);
            }
            for c in below {
                plot.bar_chart(c);
            }
        },
    )
}

/// What the tools chart shows: p50 or p95, and which tools.
struct ToolsChoice<'a> {
    p50: &'a mut bool,
    shown: &'a mut Option<Vec<String>>,
}

/// A line per series, each bucket's value as a point (buckets without a value left out); the
/// hover names the series, the bucket and the value as `fmt` writes it.
fn lines_chart<'a>(
    ui: &mut egui::Ui,
    plot: Plot<'a>,
    charts: &'a Charts,
    series: Vec<(String, Vec<Option<f64>>)>,
    fmt: fn(f64) -> String,
    theme: &Theme,
    brush: &mut Brush,
) -> Rect {
    let labels = &charts.labels;
    let plot = plot.label_formatter(move |pos| match pos {
        egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
            let at = labels.get(bucket_at(position.x, labels.len())).map_or("", String::as_str);
            Some(format!("{plot_name}\n{at}: {}", fmt(position.y)))
        }
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    });
    brushed_chart(ui, plot, labels.len(), theme, brush, move |plot| {
        for (name, values) in series {
            let points: PlotPoints = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| [i as f64, v])).collect();
            plot.line(Line::new(one_line(&name).into_owned(), points).width(2.0));
        }
    })
}

/// The axis top for `series` when fitting to the usual values, and the chart's title line.
fn fitted_title(
    ui: &mut egui::Ui,
    title: &str,
    series: &[(String, Vec<Option<f64>>)],
    usual: bool,
    theme: &Theme,
) -> Option<f64> {
    let values: Vec<Vec<f64>> = series.iter().map(|(_, v)| v.iter().flatten().copied().collect()).collect();
    let top = usual.then(|| usual_top_of_series(&values)).flatten();
    let all: Vec<f64> = values.into_iter().flatten().collect();
    title_ui(ui, title, &all, top, theme);
    top
}

/// Input and output tokens per bucket.
fn tokens_chart(ui: &mut egui::Ui, set: &ChartSet<'_>, brush: &mut Brush) -> Rect {
    let ChartSet { t, charts, theme, height, usual } = *set;
    let series = vec![
        ("tokens in".to_owned(), t.buckets.iter().map(|b| Some(b.input_tokens as f64)).collect()),
        ("tokens out".to_owned(), t.buckets.iter().map(|b| Some(b.output_tokens as f64)).collect()),
    ];
    let top = fitted_title(ui, "Tokens in and out", &series, usual, theme);
    let plot = chart("trends-tokens", "tokens", t, height, top);
    lines_chart(ui, plot, charts, series, |v| format_count(v as i64), theme, brush)
}

/// Error events per session started, per bucket (buckets where no session started left out).
fn errors_chart(ui: &mut egui::Ui, set: &ChartSet<'_>, brush: &mut Brush) -> Rect {
    let ChartSet { t, charts, theme, height, usual } = *set;
    let series = vec![("errors per session".to_owned(), errors_per_session(t))];
    let top = fitted_title(ui, "Errors per session started", &series, usual, theme);
    let plot = chart("trends-errors", "errors / session", t, height, top);
    lines_chart(ui, plot, charts, series, |v| format!("{v:.2}"), theme, brush)
}

/// Each bucket's error events over the sessions started in it; `None` where none started.
fn errors_per_session(t: &Stats) -> Vec<Option<f64>> {
    t.buckets
        .iter()
        .map(|b| (b.sessions.started > 0).then(|| b.error_events as f64 / b.sessions.started as f64))
        .collect()
}

/// The p50 or p95 call duration per bucket of the busiest tools, or of the ones picked.
fn tools_chart(ui: &mut egui::Ui, set: &ChartSet<'_>, choice: ToolsChoice<'_>, brush: &mut Brush) -> Rect {
    let ChartSet { t, charts, theme, height, usual } = *set;
    let mut calls = sum_by_name(t.buckets.iter().flat_map(|b| &b.tools).map(|x| (&*x.tool, x.calls)));
    calls.sort_by_key(|c| std::cmp::Reverse(c.1));
    let busiest: Vec<String> = calls.iter().take(SERIES).map(|(n, _)| n.clone()).collect();
    let shown: Vec<String> = choice.shown.clone().unwrap_or_else(|| busiest.clone());
    let p50 = *choice.p50;
    // Each tool against its own values: a tool that got slower stays on the axis.
    let series: Vec<(String, Vec<Option<f64>>)> = shown
        .iter()
        .map(|name| {
            let values = t
                .buckets
                .iter()
                .map(|b| b.tools.iter().find(|x| &x.tool == name).map(|x| if p50 { x.p50_ms } else { x.p95_ms }))
                .collect();
            (name.clone(), values)
        })
        .collect();
    let which = if p50 { "p50" } else { "p95" };
    let whose = if choice.shown.is_some() { "the tools picked" } else { "the busiest tools" };
    let top = fitted_title(ui, &format!("{which} call duration of {whose} (ms)"), &series, usual, theme);
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(choice.p50, true, "p50");
        ui.selectable_value(choice.p50, false, "p95");
        ui.menu_button(format!("Tools ({} of {})", shown.len(), calls.len()), |ui| {
            egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
                for (name, n) in &calls {
                    let mut on = shown.contains(name);
                    let text =
                        format!("{}  ({} calls)", one_line(name), format_count(i64::try_from(*n).unwrap_or(i64::MAX)));
                    if ui.checkbox(&mut on, text).changed() {
                        let mut picked: Vec<String> = shown.clone();
                        if on {
                            picked.push(name.clone());
                        } else {
                            picked.retain(|x| x != name);
                        }
                        // Kept in the busiest-first order.
                        picked.sort_by_key(|x| calls.iter().position(|(n, _)| n == x));
                        *choice.shown = Some(picked);
                    }
                }
            });
            if ui.button("The busiest five").clicked() {
                *choice.shown = None;
            }
        });
    });
    let plot = chart("trends-tools", &format!("{which} (ms)"), t, height, top);
    lines_chart(ui, plot, charts, series, format_duration_ms, theme, brush)
}

/// A chart's title, and when its axis stops short of some values, how many it leaves out.
fn title_ui(ui: &mut egui::Ui, title: &str, values: &[f64], top: Option<f64>, theme: &Theme) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).strong());
        if let Some(top) = top {
            let above = values.iter().filter(|v| **v > top).count();
            ui.label(RichText::new(format!("▲ {above} far above the rest, off the axis")).color(theme.warning))
                .on_hover_text("Their bars run off the top; hover them for their figures, or untick \"Fit axes to the usual values\"");
        }
    });
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

/// The task groups, costliest first: each with its cost per run as a sparkline; its name
/// opens its runs in the sessions table, and two of its runs can be picked to compare.
fn tasks_ui(
    ui: &mut egui::Ui,
    screen: &mut TrendsScreen,
    sessions: &[Arc<SessionRow>],
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let tasks = &screen.tasks;
    ui.heading(format!("Tasks ({})", tasks.len()));
    ui.label(
        RichText::new("Click a task to list its runs in the table; \"Compare…\" picks two of them.").color(theme.muted),
    );
    let mut normalized = screen.tasks_normalized;
    if ui
        .checkbox(&mut normalized, "Strip numbers and ids")
        .on_hover_text(
            "Group tasks that differ only in numbers, ids and hashes (\"fix ticket 12\" and \"fix ticket 13\")",
        )
        .changed()
    {
        commands.push(Command::SetTasksNormalized(normalized));
    }
    let mut pick = None;
    egui::Grid::new("trends-tasks").num_columns(8).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
        for h in ["Task", "Runs", "Cost", "Cost per run", "", "Success", "p50 time", "p95 time"] {
            ui.label(RichText::new(h).color(theme.muted));
        }
        ui.end_row();
        for (k, g) in tasks.iter().take(TASKS_LISTED).enumerate() {
            let name = one_line(&g.task).into_owned();
            // A grid cell offers last frame's column width: the name gets a fixed one.
            let label = egui::Label::new(RichText::new(name.clone()).color(theme.selected))
                .truncate()
                .sense(egui::Sense::click())
                .show_tooltip_when_elided(false);
            let size = egui::vec2(TASK_NAME_WIDTH, ui.spacing().interact_size.y);
            let layout = egui::Layout::left_to_right(egui::Align::Center);
            let clicked = ui
                .allocate_ui_with_layout(size, layout, |ui| {
                    ui.set_min_width(TASK_NAME_WIDTH);
                    ui.add(label).on_hover_text(format!("{name}\nShow its runs in the sessions table")).clicked()
                })
                .inner;
            if clicked {
                let only = Only { label: name, ids: g.session_ids.iter().cloned().collect() };
                commands.push(Command::ShowRuns(Some(only)));
            }
            ui.label(format_count(i64::try_from(g.runs).unwrap_or(i64::MAX)));
            ui.label(format_cost(g.total_cost_usd));
            sparkline_ui(ui, &g.cost_trend, theme);
            if g.runs >= 2 {
                if ui.small_button("Compare…").on_hover_text("Pick two of its runs to compare").clicked() {
                    pick = Some(k);
                }
            } else {
                ui.label("");
            }
            ui.label(g.success_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0)));
            ui.label(g.duration_p50_ms.map_or_else(|| "—".to_owned(), format_duration_ms));
            ui.label(g.duration_p95_ms.map_or_else(|| "—".to_owned(), format_duration_ms));
            ui.end_row();
        }
    });
    if tasks.len() > TASKS_LISTED {
        ui.label(
            RichText::new(format!("and {} more (trace-inspector tasks FILE)", tasks.len() - TASKS_LISTED))
                .color(theme.muted),
        );
    }
    if let Some(k) = pick {
        screen.picking = Some(k);
        screen.picked.clear();
    }
    picker_ui(ui, screen, sessions, theme, commands);
}

/// A task's cost per run, oldest run at the left, as a small line scaled to its own range; its
/// hover gives the first, last, least and most.
fn sparkline_ui(ui: &mut egui::Ui, trend: &[CostPoint], theme: &Theme) {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(SPARK_WIDTH, 16.0), egui::Sense::hover());
    let Some(line) = sparkline(trend) else {
        ui.painter().text(
            rect.left_center(),
            egui::Align2::LEFT_CENTER,
            "—",
            egui::TextStyle::Body.resolve(ui.style()),
            theme.muted,
        );
        return;
    };
    let to_screen = |(x, y): (f32, f32)| egui::pos2(rect.left() + x * rect.width(), rect.bottom() - y * rect.height());
    let points: Vec<egui::Pos2> = line.points.iter().copied().map(to_screen).collect();
    if let Some(last) = points.last() {
        ui.painter().add(egui::Shape::line(points.clone(), egui::Stroke::new(1.5, theme.llm)));
        ui.painter().circle_filled(*last, 2.5, theme.llm);
    }
    response.on_hover_text(format!(
        "Cost per run over {} runs, oldest first: first {}, last {}, least {}, most {}",
        trend.len(),
        format_cost(line.first),
        format_cost(line.last),
        format_cost(line.min),
        format_cost(line.max)
    ));
}

/// Width of a task's sparkline, in points.
const SPARK_WIDTH: f32 = 80.0;

/// A cost trend as points in the unit square (x by time, y by cost between the least and the
/// most), with the figures its hover gives.
struct Sparkline {
    points: Vec<(f32, f32)>,
    first: f64,
    last: f64,
    min: f64,
    max: f64,
}

/// `None` without a run to draw.
fn sparkline(trend: &[CostPoint]) -> Option<Sparkline> {
    let (first, last) = (trend.first()?, trend.last()?);
    let (t0, t1) = (first.start.0, last.start.0);
    let min = trend.iter().map(|p| p.cost_usd).fold(f64::INFINITY, f64::min);
    let max = trend.iter().map(|p| p.cost_usd).fold(f64::NEG_INFINITY, f64::max);
    let span = (t1.saturating_sub(t0)) as f64;
    let points = trend
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // By time; runs all at one instant spread evenly instead.
            let x = if span > 0.0 {
                p.start.0.saturating_sub(t0) as f64 / span
            } else if trend.len() > 1 {
                i as f64 / (trend.len() - 1) as f64
            } else {
                1.0
            };
            let y = if max > min { (p.cost_usd - min) / (max - min) } else { 0.5 };
            (x as f32, y as f32)
        })
        .collect();
    Some(Sparkline { points, first: first.cost_usd, last: last.cost_usd, min, max })
}

/// The runs of the task being picked from, two of them to compare (the older is A).
fn picker_ui(
    ui: &mut egui::Ui,
    screen: &mut TrendsScreen,
    sessions: &[Arc<SessionRow>],
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let Some(group) = screen.picking.and_then(|k| screen.tasks.get(k)) else { return };
    ui.add_space(8.0);
    ui.separator();
    line_label(ui, RichText::new(format!("Compare two runs of: {}", one_line(&group.task))).strong(), f32::INFINITY);
    let mut picked = screen.picked.clone();
    egui::Grid::new("trends-pick").num_columns(4).striped(true).spacing([10.0, 2.0]).show(ui, |ui| {
        for id in group.session_ids.iter().take(RUNS_LISTED) {
            let row = sessions.iter().find(|s| &s.id == id);
            let started =
                row.and_then(|r| sessions::start_of(r)).map_or_else(|| crate::ids::shown(id).to_owned(), |t| t.short());
            let mut on = picked.contains(id);
            if ui.checkbox(&mut on, started).changed() {
                if on {
                    if picked.len() == 2 {
                        picked.remove(0);
                    }
                    picked.push(id.clone());
                } else {
                    picked.retain(|p| p != id);
                }
            }
            ui.label(row.map_or("", |r| r.status.as_str()));
            ui.label(row.map_or_else(String::new, |r| format_cost(r.total_cost_usd)));
            ui.label(row.and_then(|r| r.duration_ms).map_or_else(|| "—".to_owned(), format_duration_ms));
            ui.end_row();
        }
    });
    if group.session_ids.len() > RUNS_LISTED {
        ui.label(
            RichText::new(format!("the first {RUNS_LISTED} runs of {}", group.session_ids.len())).color(theme.muted),
        );
    }
    ui.horizontal(|ui| {
        let ready = picked.len() == 2;
        if ui.add_enabled(ready, egui::Button::new("Compare")).clicked()
            && let [a, b] = picked.as_slice()
        {
            // The runs are listed oldest first: the older one is A.
            let order = |id: &String| group.session_ids.iter().position(|s| s == id);
            let (a, b) = if order(a) <= order(b) { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
            commands.push(Command::Compare(CompareCommand::Start { a, b }));
        }
        if !ready {
            ui.label(RichText::new(format!("{} of 2 picked", picked.len())).color(theme.muted));
        }
        if ui.button("Cancel").clicked() {
            screen.picking = None;
            picked.clear();
        }
    });
    screen.picked = picked;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::trends::{BucketStats, ModelStats};
    use crate::time::Timestamp;

    #[test]
    fn the_cost_series_are_the_five_costliest_models_and_the_rest_and_hover_names_the_bucket() {
        let model = |m: &str, cost: f64| ModelStats { model: m.to_owned(), cost_usd: cost, ..ModelStats::default() };
        let bucket = |day: i64, models: Vec<ModelStats>| BucketStats {
            cost_usd: models.iter().map(|m| m.cost_usd).sum(),
            models,
            ..BucketStats::empty(Timestamp((1_795_132_800 + day * 86_400) * 1_000_000_000))
        };
        // Seven models; "g" and "f" cost least over both days and share "other models".
        let t = Stats {
            by: Bucket::Day,
            since: None,
            until: None,
            buckets: vec![
                bucket(0, vec![model("a", 9.0), model("b", 1.0), model("g", 0.5)]),
                bucket(1, vec![model("c", 4.0), model("d", 3.0), model("e", 2.0), model("f", 0.25), model("b", 1.5)]),
            ],
            bad: crate::analysis::trends::BadInput::default(),
        };
        let charts = Charts::new(&t);
        let series: Vec<(&str, &[f64])> = charts.cost.iter().map(|(m, c)| (m.as_str(), c.as_slice())).collect();
        assert_eq!(
            series,
            [
                ("a", &[9.0, 0.0][..]),
                ("c", &[0.0, 4.0][..]),
                ("d", &[0.0, 3.0][..]),
                ("b", &[1.0, 1.5][..]),
                ("e", &[0.0, 2.0][..]),
                ("other models", &[0.5, 0.25][..]),
            ]
        );
        // Every bucket's series add up to its cost.
        for (i, b) in t.buckets.iter().enumerate() {
            assert_eq!(charts.cost.iter().map(|(_, c)| c[i]).sum::<f64>(), b.cost_usd);
        }
        assert_eq!(&*charts.labels, ["2026-11-20", "2026-11-21"]);
        let hover = charts.hover("a", format_cost);
        let bar = Bar::new(1.0, 4.0);
        assert_eq!(hover(&bar, &BarChart::new("a", Vec::new())), "a\n2026-11-21: $4.0000");
    }

    #[test]
    fn errors_per_session_leave_out_buckets_where_none_started() {
        let bucket = |started: u64, errors: u64| BucketStats {
            sessions: crate::analysis::trends::Outcomes { started, ..Default::default() },
            error_events: errors,
            ..BucketStats::empty(Timestamp(0))
        };
        let t = Stats {
            by: Bucket::Hour,
            since: None,
            until: None,
            buckets: vec![bucket(4, 2), bucket(0, 3), bucket(3, 0)],
            bad: crate::analysis::trends::BadInput::default(),
        };
        assert_eq!(errors_per_session(&t), [Some(0.5), None, Some(0.0)]);
    }

    #[test]
    fn a_sparkline_places_runs_by_time_and_scales_cost_to_its_range() {
        let at = |s: i64, cost: f64| CostPoint { start: Timestamp(s * 1_000_000_000), cost_usd: cost };
        let line = sparkline(&[at(0, 2.0), at(10, 1.0), at(40, 5.0)]).expect("a line");
        assert_eq!(line.points, [(0.0, 0.25), (0.25, 0.0), (1.0, 1.0)]);
        assert_eq!((line.first, line.last, line.min, line.max), (2.0, 5.0, 1.0, 5.0));
        let same = sparkline(&[at(3, 1.0), at(3, 1.0)]).expect("a line");
        assert_eq!(same.points, [(0.0, 0.5), (1.0, 0.5)]);
        assert!(sparkline(&[]).is_none());
    }
}
