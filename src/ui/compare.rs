//! The Compare screen's rows: the merged tree of two runs, one row per pair (or per span of
//! one run only), with its status and Δ columns, and both runs' bars on one relative time axis
//! (0 = each run's start): A's in the upper half of the row, B's in the lower half.
//!
//! One row list, one scroll, one selection: selecting a row selects both sides of the pair.
//! Only the rows in view are laid out and painted.

use egui::text::{LayoutJob, TextFormat};
use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rangef, Rect, Response, Role, Sense, Stroke, StrokeKind, Ui,
    WidgetInfo, pos2, vec2,
};

use crate::analysis::Span;
use crate::analysis::axis::{tick_step_ms, ticks};
use crate::analysis::compare::{Row, Status};
use crate::compare_model::{CompareModel, Run};
use crate::export::compare::signed;
use crate::format::{format_cost, format_count, format_duration_ms, format_offset_ms};
use crate::ui::rows::{INDENT, TOGGLE_WIDTH, elided_galley, elided_job, indent_levels, paint_toggle, row_fonts};
use crate::ui::text::one_line_max;
use crate::ui::theme::Theme;

/// What the user asked of the rows.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareAction {
    /// Select this row of the merged tree.
    Select(usize),
    /// Collapse or expand this row's children.
    Toggle(usize),
}

/// The rows' own state: where to scroll next.
#[derive(Debug, Default)]
pub struct CompareView {
    /// A row (index into the merged tree) to bring into view on the next frame.
    pending: Option<usize>,
    /// The shown rows' positions drawn last frame.
    drawn: std::ops::Range<usize>,
}

/// Widths of the fixed columns, left to right after the name.
const STATUS_WIDTH: f32 = 64.0;
const DELTA_WIDTH: f32 = 78.0;
const TOKENS_WIDTH: f32 = 104.0;
const COST_WIDTH: f32 = 84.0;
const HEADER_HEIGHT: f32 = 24.0;

/// Where each column of a row sits.
struct Columns {
    name: Rangef,
    status: Rangef,
    delta: Rangef,
    tokens: Rangef,
    cost: Rangef,
    chart: Rangef,
}

fn columns(x: Rangef) -> Columns {
    let fixed = STATUS_WIDTH + DELTA_WIDTH + TOKENS_WIDTH + COST_WIDTH;
    let name_width = (x.span() * 0.26).clamp(160.0, 340.0);
    let mut left = x.min;
    let mut take = |w: f32| {
        let r = Rangef::new(left, left + w);
        left += w;
        r
    };
    let name = take(name_width);
    let status = take(STATUS_WIDTH);
    let delta = take(DELTA_WIDTH);
    let tokens = take(TOKENS_WIDTH);
    let cost = take(COST_WIDTH);
    let chart = Rangef::new(left + 8.0, (x.max - 8.0).max(left + 8.0 + (x.span() - name_width - fixed).min(40.0)));
    Columns { name, status, delta, tokens, cost, chart }
}

/// The colour of a row's status.
#[must_use]
pub fn status_colour(theme: &Theme, status: Status) -> Color32 {
    match status {
        Status::Same => theme.muted,
        Status::Slower => theme.slow,
        Status::Faster => theme.completed,
        Status::OnlyA => theme.cancelled,
        Status::OnlyB => theme.running,
    }
}

/// How a status reads in the table.
#[must_use]
pub fn status_text(status: Status) -> &'static str {
    match status {
        Status::Same => "same",
        Status::Slower => "slower",
        Status::Faster => "faster",
        Status::OnlyA => "only A",
        Status::OnlyB => "only B",
    }
}

impl CompareView {
    /// Brings a row into view on the next frame.
    pub fn scroll_to(&mut self, row: usize) {
        self.pending = Some(row);
    }

    /// Draws the header and the rows in all the space `ui` has.
    pub fn ui(&mut self, ui: &mut Ui, model: &CompareModel, theme: &Theme) -> Vec<CompareAction> {
        let mut actions = Vec::new();
        let row_height = theme.row_height.max(8.0) + 6.0;
        let full = ui.available_rect_before_wrap();
        let cols = columns(full.x_range());
        let extent = model.extent_ms();
        let (header, _) = ui.allocate_exact_size(vec2(full.width(), HEADER_HEIGHT), Sense::hover());
        paint_header(ui, header, &cols, extent, theme);

        let mut area = egui::ScrollArea::vertical().id_salt("compare-rows").auto_shrink(false);
        // A row already in view stays where it is; another comes to the middle.
        let pending = self.pending.take().and_then(|r| model.position_of(r));
        if let Some(pos) = pending.filter(|p| !self.drawn.contains(p) || *p + 1 >= self.drawn.end) {
            let viewport = (ui.available_height() - row_height).max(row_height);
            area = area.vertical_scroll_offset((pos as f32 * row_height - viewport / 2.0).max(0.0));
        }
        let drawn = &mut self.drawn;
        area.show_rows(ui, row_height, model.rows.len(), |ui, range| {
            drawn.clone_from(&range);
            for pos in range {
                let Some(&index) = model.rows.get(pos) else { continue };
                row_ui(ui, model, index, pos, &cols, extent, row_height, theme, &mut actions);
            }
        });
        actions
    }
}

/// Column titles, and the relative time axis over the chart column.
fn paint_header(ui: &Ui, rect: Rect, cols: &Columns, extent: f64, theme: &Theme) {
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, CornerRadius::ZERO, visuals.faint_bg_color);
    let font = FontId::proportional(12.0);
    let weak = visuals.weak_text_color();
    let mid = rect.center().y;
    for (range, title, right) in [
        (cols.name, "Step · bars: A above, B below", false),
        (cols.status, "Status", false),
        (cols.delta, "Δ time", true),
        (cols.tokens, "Δ tokens in / out", true),
        (cols.cost, "Δ cost", true),
    ] {
        let (x, align) =
            if right { (range.max - 6.0, Align2::RIGHT_CENTER) } else { (range.min + 4.0, Align2::LEFT_CENTER) };
        painter.text(pos2(x, mid), align, title, font.clone(), weak);
    }
    let ms_per_point = extent / f64::from(cols.chart.span().max(1.0));
    let step = tick_step_ms(ms_per_point, 90.0);
    for t in ticks((0.0, extent), step) {
        let x = time_x(t, extent, cols.chart);
        painter.vline(x, rect.y_range(), Stroke::new(1.0, theme.grid));
        painter.text(pos2(x + 3.0, mid), Align2::LEFT_CENTER, format_offset_ms(t, step), font.clone(), weak);
    }
}

/// The x of `ms` on the shared relative axis.
fn time_x(ms: f64, extent: f64, chart: Rangef) -> f32 {
    chart.min + (ms / extent.max(1e-9)) as f32 * chart.span()
}

#[allow(clippy::too_many_arguments)]
fn row_ui(
    ui: &mut Ui,
    model: &CompareModel,
    index: usize,
    pos: usize,
    cols: &Columns,
    extent: f64,
    row_height: f32,
    theme: &Theme,
    actions: &mut Vec<CompareAction>,
) {
    let Some(row) = model.row(index) else { return };
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(vec2(width, row_height), Sense::click());
    let selected = model.selected == Some(index);
    let title = row_title(model, row);
    response.widget_info(|| {
        WidgetInfo::selected(Role::TreeItem, true, selected, format!("{title} {}", status_text(row.status)))
    });
    if response.clicked() {
        actions.push(CompareAction::Select(index));
    }
    let has_children = model.has_children(index);
    let toggle_rect = Rect::from_min_size(
        pos2(cols.name.min + 4.0 + indent_levels(row.depth) as f32 * INDENT, rect.top()),
        vec2(TOGGLE_WIDTH, row_height),
    );
    if has_children {
        let toggle = ui.interact(toggle_rect, response.id.with("toggle"), Sense::click());
        let collapsed = model.collapsed.get(index).copied().unwrap_or(false);
        toggle.widget_info(|| {
            let verb = if collapsed { "Expand" } else { "Collapse" };
            WidgetInfo::labeled(Role::DisclosureTriangle, true, format!("{verb} {title}"))
        });
        if toggle.clicked() {
            actions.push(CompareAction::Toggle(index));
        }
    }
    if !ui.is_rect_visible(rect) {
        return;
    }
    let response = response.on_hover_ui_at_pointer(|ui| tooltip_ui(ui, model, row, theme));
    paint_row(ui, &response, model, row, index, pos, cols, extent, theme, has_children.then_some(toggle_rect));
}

/// "type label" of the span a row stands for (A's, else B's).
#[must_use]
pub fn row_title(model: &CompareModel, row: &Row) -> String {
    let (run, span) = model.side_of(row);
    let kind = run.event(span).map_or("", |e| &*e.kind);
    let label = run.span(span).map_or("", |s| &**s.label(&run.session.data.events));
    let kind = one_line_max(kind, 80);
    if label.is_empty() { kind.into_owned() } else { format!("{kind} {}", one_line_max(label, 120)) }
}

#[allow(clippy::too_many_arguments)]
fn paint_row(
    ui: &Ui,
    response: &Response,
    model: &CompareModel,
    row: &Row,
    index: usize,
    pos: usize,
    cols: &Columns,
    extent: f64,
    theme: &Theme,
    toggle: Option<Rect>,
) {
    let rect = response.rect;
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let fill = if model.selected == Some(index) {
        theme.selected.gamma_multiply(0.22)
    } else if response.hovered() {
        visuals.widgets.hovered.weak_bg_fill.gamma_multiply(0.6)
    } else if pos % 2 == 1 {
        visuals.faint_bg_color
    } else {
        Color32::TRANSPARENT
    };
    painter.rect_filled(rect, CornerRadius::ZERO, fill);
    let (font, mono) = row_fonts(theme.row_height);
    let small = FontId::proportional(font.size * 0.92);
    let text = visuals.text_color();
    let weak = visuals.weak_text_color();
    let mid = rect.center().y;

    if let Some(t) = toggle {
        let collapsed = model.collapsed.get(index).copied().unwrap_or(false);
        paint_toggle(&painter, t, collapsed, weak);
    }
    let x = cols.name.min + 4.0 + indent_levels(row.depth) as f32 * INDENT + TOGGLE_WIDTH;
    let span = model.span_of(row);
    let (run, side) = model.side_of(row);
    let mut job = LayoutJob::default();
    let kind_colour = span.map_or(text, |s| theme.kind(s.kind).lerp_to_gamma(visuals.strong_text_color(), 0.3));
    let kind = run.event(side).map_or("", |e| &*e.kind);
    job.append(&one_line_max(kind, 80), 0.0, TextFormat::simple(mono, kind_colour));
    let label = run.span(side).map_or("", |s| &**s.label(&run.session.data.events));
    if !label.is_empty() {
        job.append(&one_line_max(label, 200), 6.0, TextFormat::simple(font.clone(), text));
    }
    elided_job(&mut job, cols.name.max - x - 4.0);
    let galley = painter.layout_job(job);
    painter.galley(pos2(x, mid - galley.size().y / 2.0), galley, text);

    painter.text(
        pos2(cols.status.min + 4.0, mid),
        Align2::LEFT_CENTER,
        status_text(row.status),
        small.clone(),
        status_colour(theme, row.status),
    );
    let delta_colour = |d: Option<f64>| match d {
        Some(d) if d > 0.0 => theme.slow,
        Some(d) if d < 0.0 => theme.completed,
        _ => weak,
    };
    let right = |range: Rangef, s: String, c: Color32| {
        let galley = elided_galley(&painter, &s, small.clone(), c, range.span() - 8.0);
        painter.galley(pos2(range.max - 6.0 - galley.size().x, mid - galley.size().y / 2.0), galley, c);
    };
    right(cols.delta, signed("wall_time_ms", row.delta_ms), delta_colour(row.delta_ms));
    let tokens = match (row.delta_input_tokens, row.delta_output_tokens) {
        (None, None) => "—".to_owned(),
        (i, o) => format!("{} / {}", signed_count(i), signed_count(o)),
    };
    let token_sum = row.delta_input_tokens.unwrap_or(0).saturating_add(row.delta_output_tokens.unwrap_or(0));
    right(cols.tokens, tokens, delta_colour(Some(token_sum as f64)));
    right(cols.cost, signed("cost_usd", row.delta_cost_usd), delta_colour(row.delta_cost_usd));

    // Bars: A above, B below, on the shared relative axis.
    let chart = Rect::from_x_y_ranges(cols.chart, rect.y_range());
    let bars = painter.with_clip_rect(chart.expand2(vec2(6.0, 0.0)));
    let upper = Rangef::new(rect.top() + 2.0, mid - 0.5);
    let lower = Rangef::new(mid + 0.5, rect.bottom() - 2.0);
    let outline = match row.status {
        Status::Slower | Status::Faster | Status::OnlyB | Status::OnlyA => {
            Some(Stroke::new(1.5, status_colour(theme, row.status)))
        }
        Status::Same => None,
    };
    // The side that changed carries the status colour: B's, or A's for a span B lost.
    let (outline_a, outline_b) = if row.status == Status::OnlyA { (outline, None) } else { (None, outline) };
    paint_side(&bars, &model.a, row.a, upper, extent, cols.chart, theme, outline_a);
    paint_side(&bars, &model.b, row.b, lower, extent, cols.chart, theme, outline_b);
}

/// One run's bar (or marker) in its half of a row.
#[allow(clippy::too_many_arguments)]
fn paint_side(
    painter: &egui::Painter,
    run: &Run,
    span: Option<usize>,
    y: Rangef,
    extent: f64,
    chart: Rangef,
    theme: &Theme,
    outline: Option<Stroke>,
) {
    let Some(s) = run.span(span).filter(|s| s.timed) else { return };
    let fill = if s.failed { theme.error } else { theme.kind(s.kind) };
    let x0 = time_x(s.start_ms, extent, chart);
    if s.instant {
        let h = y.span() / 2.0;
        let c = Pos2::new(x0, y.center());
        let points = vec![pos2(c.x, c.y - h), pos2(c.x + h, c.y), pos2(c.x, c.y + h), pos2(c.x - h, c.y)];
        painter.add(egui::Shape::convex_polygon(points, fill, outline.unwrap_or(Stroke::NONE)));
        return;
    }
    let x1 = time_x(s.end_ms, extent, chart).max(x0 + theme.min_bar_width);
    let bar = Rect::from_x_y_ranges(x0..=x1, y);
    painter.rect_filled(bar, CornerRadius::same(1), fill);
    if let Some(stroke) = outline {
        painter.rect_stroke(bar, CornerRadius::same(1), stroke, StrokeKind::Outside);
    }
}

fn signed_count(d: Option<i64>) -> String {
    signed("tokens", d.map(|d| d as f64))
}

/// The hover card of a row: both sides' figures and the Δ.
fn tooltip_ui(ui: &mut Ui, model: &CompareModel, row: &Row, theme: &Theme) {
    ui.label(egui::RichText::new(row_title(model, row)).strong());
    ui.label(egui::RichText::new(status_text(row.status)).color(status_colour(theme, row.status)));
    egui::Grid::new("compare-tooltip").num_columns(3).spacing([14.0, 2.0]).show(ui, |ui| {
        ui.label("");
        ui.label("A");
        ui.label("B");
        ui.end_row();
        let (sa, sb) = (model.a.span(row.a), model.b.span(row.b));
        let dur = |s: Option<&Span>| {
            s.filter(|s| s.timed && !s.instant).map_or("—".to_owned(), |s| format_duration_ms(s.duration_ms()))
        };
        let start = |s: Option<&Span>| {
            s.filter(|s| s.timed).map_or("—".to_owned(), |s| format!("+{}", format_duration_ms(s.start_ms)))
        };
        let tokens = |run: &Run, s: Option<&Span>| {
            s.and_then(|s| s.tokens(&run.session.data.events))
                .map_or("—".to_owned(), |(i, o)| format!("{} / {}", format_count(i), format_count(o)))
        };
        let cost = |run: &Run, s: Option<&Span>| {
            s.and_then(|s| s.cost_usd(&run.session.data.events)).map_or("—".to_owned(), format_cost)
        };
        ui.label("Start");
        ui.label(start(sa));
        ui.label(start(sb));
        ui.end_row();
        ui.label("Duration");
        ui.label(dur(sa));
        ui.label(dur(sb));
        ui.end_row();
        ui.label("Tokens in / out");
        ui.label(tokens(&model.a, sa));
        ui.label(tokens(&model.b, sb));
        ui.end_row();
        ui.label("Cost");
        ui.label(cost(&model.a, sa));
        ui.label(cost(&model.b, sb));
        ui.end_row();
    });
    ui.label(format!("Δ time {}", signed("wall_time_ms", row.delta_ms)));
}
