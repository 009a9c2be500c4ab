//! The Gantt chart: one bar per shown span on a shared time axis, with an overview strip of
//! the whole session, idle gaps, zoom and pan. Its label column is the session's tree (indent,
//! toggles, names, marks and durations; resizable), so tree and bars are one row list with one
//! scroll and one selection. This file holds the widget's state and input; `paint` draws it and
//! `tooltip` is the hover card of a span.
//!
//! Drawing touches only what the pixels can show: the rows in the vertical window (a slice of
//! the app's row list), bars overlapping the time window, gaps found by binary search. What
//! depends on the whole session (idle gaps, the overview's density) is computed once per
//! session and cached. Time is `f64` milliseconds from the session origin until the last step,
//! where it becomes an `f32` screen position.

mod paint;
mod tooltip;

use std::ops::Range;

use egui::{
    Color32, CursorIcon, FontId, Key, Pos2, Rangef, Rect, Response, Role, Sense, Stroke, Ui, Vec2, WidgetInfo, pos2,
    vec2,
};

use crate::analysis::axis::{CutAxis, MIN_WINDOW_MS, SECOND_MS, clamp_view, fit_view, zoom_view};
use crate::analysis::density::DensityBin;
use crate::analysis::gaps::idle_gaps;
use crate::analysis::{Span, Timeline};
use crate::ui::rows::{INDENT, RowAction, RowsInput, TOGGLE_WIDTH, indent_levels, row_fonts};

// ---------------------------------------------------------------------------------------------
// Screen mapping: time ↔ x, rows ↔ y.

/// The x position of time `ms` when `view` (start, end in ms) spans `x`.
fn time_to_x(ms: f64, view: (f64, f64), x: Rangef) -> f32 {
    let width_ms = view.1 - view.0;
    if width_ms <= 0.0 || !width_ms.is_finite() {
        return x.min;
    }
    let t = (ms - view.0) / width_ms;
    (f64::from(x.min) + t * f64::from(x.span())) as f32
}

/// The time at x position `px` when `view` spans `x` (inverse of [`time_to_x`]).
fn x_to_time(px: f32, view: (f64, f64), x: Rangef) -> f64 {
    let span = f64::from(x.span());
    if span <= 0.0 {
        return view.0;
    }
    view.0 + f64::from(px - x.min) / span * (view.1 - view.0)
}

/// The rows (indices into the row list) at least partly inside a vertical window.
fn visible_row_range(scroll_y: f32, height: f32, row_height: f32, rows: usize) -> Range<usize> {
    if row_height <= 0.0 || height <= 0.0 {
        return 0..0;
    }
    let first = ((scroll_y / row_height).floor().max(0.0) as usize).min(rows);
    let last = (((scroll_y + height) / row_height).ceil().max(0.0) as usize).min(rows);
    first..last.max(first)
}

/// The largest useful scroll offset.
fn max_scroll(rows: usize, row_height: f32, height: f32) -> f32 {
    (rows as f32 * row_height - height).max(0.0)
}

/// What identifies a version of a session's spans for the caches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SessionKey {
    spans: usize,
    origin: Option<i64>,
    end_bits: u64,
}

impl SessionKey {
    fn of(timeline: &Timeline) -> Self {
        Self { spans: timeline.spans.len(), origin: timeline.origin.map(|t| t.0), end_bits: timeline.end_ms.to_bits() }
    }
}

// ---------------------------------------------------------------------------------------------
// Layout.

const OVERVIEW_HEIGHT: f32 = 30.0;
/// Two lines: tick labels, then idle-gap labels.
const AXIS_HEIGHT: f32 = 30.0;
const SCROLLBAR_WIDTH: f32 = 8.0;

/// Where each part of the chart sits this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ChartLayout {
    /// The overview strip, above the bars.
    overview: Rect,
    /// The time axis, between the overview and the bars.
    axis: Rect,
    /// The label column of the rows.
    labels: Rect,
    /// The bars of the rows.
    bars: Rect,
    scrollbar: Rect,
}

impl Default for ChartLayout {
    fn default() -> Self {
        chart_layout(Rect::ZERO, None)
    }
}

impl ChartLayout {
    /// Labels and bars together.
    fn rows(&self) -> Rect {
        self.labels.union(self.bars)
    }
}

/// The label column's width when the user has not set one: room for the tree's indent, names
/// and durations, and well under half the chart.
fn default_label_width(chart_width: f32) -> f32 {
    (chart_width * 0.28).clamp(160.0, 360.0).min(chart_width * 0.45)
}

/// The label column's width for a chart this wide: the user's (kept between 80 points and
/// 70% of the chart) or the default.
fn label_width_for(chart_width: f32, set: Option<f32>) -> f32 {
    match set {
        Some(w) if w.is_finite() => w.clamp(80.0_f32.min(chart_width * 0.5), (chart_width * 0.7).max(80.0)),
        _ => default_label_width(chart_width),
    }
}

fn chart_layout(rect: Rect, label_width: Option<f32>) -> ChartLayout {
    let label_width = label_width_for(rect.width(), label_width);
    let bars_left = rect.left() + label_width;
    let bars_right = (rect.right() - SCROLLBAR_WIDTH).max(bars_left + 1.0);
    let overview_bottom = (rect.top() + OVERVIEW_HEIGHT).min(rect.bottom());
    let header_bottom = (overview_bottom + AXIS_HEIGHT).min(rect.bottom());
    ChartLayout {
        overview: Rect::from_min_max(pos2(bars_left, rect.top()), pos2(bars_right, overview_bottom)),
        axis: Rect::from_min_max(pos2(bars_left, overview_bottom), pos2(bars_right, header_bottom)),
        labels: Rect::from_min_max(pos2(rect.left(), header_bottom), pos2(bars_left, rect.bottom())),
        bars: Rect::from_min_max(pos2(bars_left, header_bottom), pos2(bars_right, rect.bottom())),
        scrollbar: Rect::from_min_max(pos2(bars_right, header_bottom), pos2(rect.right(), rect.bottom())),
    }
}

/// Which part a drag started on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DragTarget {
    /// Pans time and scrolls rows.
    Chart,
    /// Moves the view window over the whole session.
    Overview,
    Scrollbar,
}

/// What the last frame showed, for the methods the app calls between frames (and for tests).
#[derive(Clone, Debug, Default, PartialEq)]
struct LastFrame {
    /// The window in time.
    view: (f64, f64),
    /// The session's length in axis time.
    extent_ms: f64,
    now_ms: Option<f64>,
    layout: ChartLayout,
    /// Rows (indices into the row list) drawn.
    drawn: Range<usize>,
    session_id: String,
    origin: Option<i64>,
    /// The axis's cuts: the extent above is in its axis time.
    cuts: CutAxis,
}

// ---------------------------------------------------------------------------------------------
// The widget.

/// The Gantt chart's own state: time window, scroll, caches. The app keeps one per window.
#[derive(Debug, Default)]
pub struct GanttView {
    /// The time window (ms from the origin); `None` shows the whole session, following it as it
    /// grows while running.
    view_ms: Option<(f64, f64)>,
    /// Vertical scroll in points from the first row.
    scroll_y: f32,
    /// A row to bring into view on the next frame.
    pending_row: Option<usize>,
    /// The time window moved to a new range (zoom to a span, the overview): on the next frame,
    /// scroll the rows to the spans in it when none of them is on screen.
    reveal_window: bool,
    drag: Option<DragTarget>,
    /// The app set the window since the last frame: a new session keeps it instead of fitting.
    view_set_by_app: bool,
    /// The label column's width as the user dragged it; `None` follows the chart's width.
    label_width: Option<f32>,
    last: LastFrame,
    gaps: Option<(SessionKey, Vec<(f64, f64)>)>,
    density: Option<(SessionKey, usize, Vec<DensityBin>)>,
}

/// The chart as laid out this frame, with what its drawing reads (input, fonts, colours),
/// worked out once.
struct ChartGeometry<'i, 'a> {
    input: &'i RowsInput<'a>,
    layout: ChartLayout,
    view: (f64, f64),
    extent_ms: f64,
    row_height: f32,
    scroll_y: f32,
    font: FontId,
    mono: FontId,
    small: FontId,
    text: Color32,
    strong: Color32,
    weak: Color32,
    /// The chart's background, which separates a slow bar from its ring.
    background: Color32,
}

impl ChartGeometry<'_, '_> {
    /// The x of time `ms` (through the axis's cuts).
    fn x(&self, ms: f64) -> f32 {
        time_to_x(self.input.cuts.to_axis(ms), self.view, self.layout.bars.x_range())
    }

    /// The axis time at x (see [`CutAxis`]; time itself when nothing is cut).
    fn axis_at(&self, x: f32) -> f64 {
        x_to_time(x, self.view, self.layout.bars.x_range())
    }

    /// The time window shown, in time (the view is kept in axis time).
    fn real_view(&self) -> (f64, f64) {
        self.input.cuts.view_to_time(self.view)
    }

    fn ms_per_point(&self) -> f64 {
        (self.view.1 - self.view.0) / f64::from(self.layout.bars.width().max(1.0))
    }

    fn row_top(&self, row: usize) -> f32 {
        self.layout.bars.top() + row as f32 * self.row_height - self.scroll_y
    }

    fn row_rect(&self, row: usize) -> Rect {
        let top = self.row_top(row);
        Rect::from_min_max(pos2(self.layout.labels.left(), top), pos2(self.layout.bars.right(), top + self.row_height))
    }

    fn visible_rows(&self) -> Range<usize> {
        visible_row_range(self.scroll_y, self.layout.bars.height(), self.row_height, self.input.rows.len())
    }

    /// The row (index into the row list) under a point of the rows area.
    fn row_at(&self, pos: Pos2) -> Option<usize> {
        if !self.layout.rows().contains(pos) {
            return None;
        }
        let row = ((pos.y - self.layout.bars.top() + self.scroll_y) / self.row_height).floor();
        if row < 0.0 {
            return None;
        }
        let row = row as usize;
        (row < self.input.rows.len()).then_some(row)
    }

    /// The horizontal extent of a span's bar or marker, before clipping.
    fn bar_x(&self, span: &Span) -> (f32, f32) {
        let x0 = self.x(span.start_ms);
        if span.instant {
            let half = self.marker_half();
            return (x0 - half, x0 + half);
        }
        let x1 = self.x(self.input.drawn_end_ms(span));
        (x0, x1.max(x0 + self.input.theme.min_bar_width))
    }

    fn marker_half(&self) -> f32 {
        (self.row_height * 0.3).max(3.0)
    }

    /// The span whose bar (or marker) is under `pos`, with a little slack for thin bars.
    fn bar_at(&self, pos: Pos2) -> Option<usize> {
        if !self.layout.bars.contains(pos) {
            return None;
        }
        let index = *self.input.rows.get(self.row_at(pos)?)?;
        let span = self.input.span(index)?;
        if !span.timed {
            return None;
        }
        let (x0, x1) = self.bar_x(span);
        (pos.x >= x0 - 2.0 && pos.x <= x1 + 2.0).then_some(index)
    }

    /// The span of the row under `pos` anywhere in the rows area (label or bar).
    fn span_at(&self, pos: Pos2) -> Option<usize> {
        if self.layout.labels.contains(pos) {
            return self.input.rows.get(self.row_at(pos)?).copied();
        }
        self.bar_at(pos)
    }

    /// The rectangle of a row's toggle.
    fn toggle_rect(&self, row: usize, span: &Span) -> Rect {
        let top = self.row_top(row);
        let left = self.layout.labels.left() + 4.0 + indent_levels(span.depth) as f32 * INDENT;
        Rect::from_min_size(pos2(left, top), vec2(TOGGLE_WIDTH, self.row_height))
    }
}

impl GanttView {
    /// A chart that shows the whole session.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows the whole session (and keeps showing all of it as it grows).
    pub fn fit(&mut self) {
        self.view_ms = None;
    }

    /// Shows this time range (ms from the origin), scrolling the rows to its spans.
    pub fn zoom_to_range(&mut self, start_ms: f64, end_ms: f64) {
        if !(start_ms.is_finite() && end_ms.is_finite() && end_ms > start_ms) {
            return;
        }
        self.view_ms = Some((start_ms, end_ms));
        self.view_set_by_app = true;
        self.reveal_window = true;
    }

    /// Centres `span` with a margin of a tenth of its length each side. An instant or zero-length
    /// span is centred at the current zoom; an untimed span changes nothing.
    pub fn zoom_to_span(&mut self, span: &Span) {
        if !span.timed {
            return;
        }
        let end = span.end_ms_at(self.last.now_ms);
        let duration = end - span.start_ms;
        let view = if duration > 0.0 {
            let margin = (duration * 0.1).max(MIN_WINDOW_MS);
            (span.start_ms - margin, end + margin)
        } else {
            let current = self.view_range_ms();
            let width = if current.1 > current.0 { current.1 - current.0 } else { SECOND_MS };
            (span.start_ms - width / 2.0, span.start_ms + width / 2.0)
        };
        // Not clamped here: the span may belong to a session not drawn yet, and every frame
        // clamps the window to the session it shows.
        self.view_ms = Some(view);
        self.view_set_by_app = true;
        self.reveal_window = true;
    }

    /// Brings this row (index into the row list) into view on the next frame, and its bar too
    /// when it is outside the time window.
    pub fn scroll_to_row(&mut self, row: usize) {
        self.pending_row = Some(row);
    }

    /// The time window shown (ms from the origin), as of the last frame or the last call that
    /// changed it.
    #[must_use]
    pub fn view_range_ms(&self) -> (f64, f64) {
        self.view_ms.unwrap_or(self.last.view)
    }

    /// Zooms by `factor` (> 1 zooms in) keeping `anchor_ms` where it is on screen.
    pub fn zoom_by(&mut self, factor: f64, anchor_ms: f64) {
        // Before the first frame the session's length is unknown: limit nothing yet.
        let extent = if self.last.extent_ms > 0.0 { self.last.extent_ms } else { f64::INFINITY };
        let cuts = &self.last.cuts;
        let view = zoom_view(cuts.view_to_axis(self.view_range_ms()), factor, cuts.to_axis(anchor_ms), extent);
        self.view_ms = Some(self.last.cuts.view_to_time(self.clamped(view)));
        self.view_set_by_app = true;
    }

    /// A window in axis time kept to the last frame's session.
    fn clamped(&self, view: (f64, f64)) -> (f64, f64) {
        if self.last.extent_ms > 0.0 { clamp_view(view, self.last.extent_ms) } else { view }
    }

    /// Where the last frame drew the middle of `span`'s bar, shown in display row `row`, when
    /// that row was on screen. For automation and tests that click bars like a person would.
    #[must_use]
    pub fn bar_center(&self, span: &Span, row: usize, row_height: f32) -> Option<Pos2> {
        if !self.last.drawn.contains(&row) || !span.timed {
            return None;
        }
        let cuts = &self.last.cuts;
        let middle = cuts.to_axis((span.start_ms + span.end_ms) / 2.0);
        let x = time_to_x(middle, cuts.view_to_axis(self.last.view), self.last.layout.bars.x_range());
        let y = self.last.layout.bars.top() + (row as f32 + 0.5) * row_height - self.scroll_y;
        Some(pos2(x, y))
    }

    /// Draws the chart in all the space `ui` has and returns what the user asked for.
    #[must_use]
    pub fn ui(&mut self, ui: &mut Ui, input: &RowsInput) -> Vec<RowAction> {
        let mut actions = Vec::new();
        let available = ui.available_size();
        let size = vec2(
            if available.x.is_finite() { available.x.max(200.0) } else { 800.0 },
            if available.y.is_finite() { available.y.max(120.0) } else { 400.0 },
        );
        let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
        response.widget_info(|| WidgetInfo::labeled(Role::Canvas, true, "Gantt chart"));

        self.follow_session(input);
        // The chart works in axis time (time with the idle cuts narrowed); the window is kept
        // in time, so turning the cuts on or off keeps what is in view.
        let cuts = input.cuts;
        let extent_ms = cuts.to_axis(input.extent_ms());
        let stored = self.view_ms.map(|v| cuts.view_to_axis(v));
        let view = clamp_view(stored.unwrap_or_else(|| fit_view(extent_ms)), extent_ms);
        if self.view_ms.is_some() {
            self.view_ms = Some(cuts.view_to_time(view));
        }
        let divider = self.resize_labels(ui, &response);
        let (font, mono) = row_fonts(input.theme.row_height);
        let mut frame = ChartGeometry {
            input,
            layout: chart_layout(response.rect, self.label_width),
            view,
            extent_ms,
            row_height: input.theme.row_height.max(4.0),
            scroll_y: self.scroll_y,
            small: FontId::proportional(font.size * 0.9),
            font,
            mono,
            text: ui.visuals().text_color(),
            strong: ui.visuals().strong_text_color(),
            weak: ui.visuals().weak_text_color(),
            background: ui.visuals().extreme_bg_color,
        };
        self.apply_pending_row(&mut frame);
        // The rows' height changed (a panel opening or closing, often for the selection just
        // made): the selected row stays in view.
        if (frame.layout.bars.height() - self.last.layout.bars.height()).abs() > 0.5
            && let Some(row) = input.selected.and_then(|s| input.rows.iter().position(|&r| r == s))
        {
            keep_row_in_view(&mut frame, row);
        }

        // Clicks are judged against what was on screen, before this frame's zoom and pan.
        self.clicks(&response, &mut frame, &mut actions);
        self.navigate(ui, &response, &mut frame);
        if std::mem::take(&mut self.reveal_window) {
            reveal_window(&mut frame);
        }
        frame.scroll_y =
            frame.scroll_y.clamp(0.0, max_scroll(input.rows.len(), frame.row_height, frame.layout.bars.height()));
        self.scroll_y = frame.scroll_y;

        self.paint(ui, &painter, &response, &frame, &mut actions);
        let x = frame.layout.labels.right();
        let stroke = if divider.hovered() || divider.dragged() {
            Stroke::new(2.0, ui.visuals().widgets.hovered.fg_stroke.color)
        } else {
            Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
        };
        painter.vline(x, response.rect.y_range(), stroke);

        self.last.view = frame.real_view();
        self.last.extent_ms = extent_ms;
        if self.last.cuts != *cuts {
            self.last.cuts = cuts.clone();
        }
        self.last.now_ms = input.now_ms;
        self.last.layout = frame.layout;
        self.last.drawn = frame.visible_rows();
        self.view_set_by_app = false;
        actions
    }

    /// The label column's width as the user set it (`None`: the default share of the chart).
    #[must_use]
    pub fn label_width(&self) -> Option<f32> {
        self.label_width
    }

    /// Sets the label column's width (`None`: the default share of the chart).
    pub fn set_label_width(&mut self, width: Option<f32>) {
        self.label_width = width.filter(|w| w.is_finite() && *w > 0.0);
    }

    /// The handle between the labels and the bars: dragged, it sets the label column's width;
    /// double-clicked, it gives the column back its default width.
    fn resize_labels(&mut self, ui: &Ui, response: &Response) -> Response {
        let rect = response.rect;
        let width = label_width_for(rect.width(), self.label_width);
        let x = rect.left() + width;
        let handle = Rect::from_x_y_ranges((x - 3.0)..=(x + 3.0), rect.y_range());
        let divider = ui.interact(handle, response.id.with("label-divider"), Sense::click_and_drag());
        divider.widget_info(|| WidgetInfo::labeled(Role::Splitter, true, "Label column width"));
        if divider.hovered() || divider.dragged() {
            ui.ctx().set_cursor_icon(CursorIcon::ResizeColumn);
        }
        if divider.dragged() {
            self.label_width = Some(label_width_for(rect.width(), Some(width + divider.drag_delta().x)));
        }
        if divider.double_clicked() {
            self.label_width = None;
        }
        divider
    }

    /// A different session resets the view; the same one growing keeps it.
    fn follow_session(&mut self, input: &RowsInput) {
        let id = &input.session.data.row.id;
        let origin = input.session.timeline.origin.map(|t| t.0);
        if self.last.session_id != *id || self.last.origin != origin {
            if !self.view_set_by_app {
                self.view_ms = None;
            }
            self.scroll_y = 0.0;
            self.drag = None;
            self.last.session_id.clone_from(id);
            self.last.origin = origin;
        }
        let key = SessionKey::of(&input.session.timeline);
        if self.gaps.as_ref().is_none_or(|(k, _)| *k != key) {
            self.gaps = Some((key, idle_gaps(&input.session.timeline)));
        }
    }

    fn apply_pending_row(&mut self, frame: &mut ChartGeometry) {
        let Some(row) = self.pending_row.take() else { return };
        if row >= frame.input.rows.len() {
            return;
        }
        keep_row_in_view(frame, row);
        let span = frame.input.rows.get(row).and_then(|&i| frame.input.span(i));
        if let Some(span) = span.filter(|s| s.timed) {
            let cuts = frame.input.cuts;
            let (start, end) = (cuts.to_axis(span.start_ms), cuts.to_axis(frame.input.drawn_end_ms(span)));
            if end < frame.view.0 || start > frame.view.1 {
                let half = (frame.view.1 - frame.view.0) / 2.0;
                let centre = if end - start < 2.0 * half { (start + end) / 2.0 } else { start + half * 0.8 };
                frame.view = clamp_view((centre - half, centre + half), frame.extent_ms);
                self.view_ms = Some(frame.real_view());
            }
        }
    }

    /// Clicks and double-clicks: select, toggle, zoom to, fit, jump in the overview.
    fn clicks(&mut self, response: &Response, frame: &mut ChartGeometry, actions: &mut Vec<RowAction>) {
        let Some(pos) = response.interact_pointer_pos() else { return };
        if response.clicked() {
            response.request_focus();
            if frame.layout.overview.contains(pos) {
                let t = x_to_time(pos.x, (0.0, frame.extent_ms), frame.layout.overview.x_range());
                let half = (frame.view.1 - frame.view.0) / 2.0;
                frame.view = clamp_view((t - half, t + half), frame.extent_ms);
                self.view_ms = Some(frame.real_view());
                self.reveal_window = true;
            } else if frame.layout.scrollbar.contains(pos) {
                frame.scroll_y = scroll_for_thumb(frame, pos.y);
            } else if let Some(index) = frame.span_at(pos) {
                let on_toggle = frame.layout.labels.contains(pos)
                    && frame.input.has_children(index)
                    && frame
                        .row_at(pos)
                        .zip(frame.input.span(index))
                        .is_some_and(|(row, s)| frame.toggle_rect(row, s).contains(pos));
                actions.push(if on_toggle { RowAction::ToggleCollapse(index) } else { RowAction::Select(index) });
            }
        }
        if response.double_clicked() {
            match frame.bar_at(pos) {
                Some(index) => actions.push(RowAction::ZoomTo(index)),
                None if frame.layout.bars.contains(pos) || frame.layout.overview.contains(pos) => {
                    self.fit();
                    frame.view = fit_view(frame.extent_ms);
                }
                None => {}
            }
        }
    }

    /// Wheel, pinch, keys and drags: zoom and pan the time window, scroll the rows.
    fn navigate(&mut self, ui: &Ui, response: &Response, frame: &mut ChartGeometry) {
        let mut view = frame.view;
        let pointer = response.hover_pos();
        // Zoom keeps the time under the pointer in place; over the overview (another time
        // scale) or the labels, the window's centre.
        let anchor = pointer
            .filter(|p| frame.layout.bars.x_range().contains(p.x) && !frame.layout.overview.contains(*p))
            .map_or((view.0 + view.1) / 2.0, |p| frame.axis_at(p.x));
        let ms_per_point = frame.ms_per_point();

        if response.container_contains_pointer() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
            if zoom != 1.0 {
                view = zoom_view(view, f64::from(zoom), anchor, frame.extent_ms);
            }
            if scroll.x != 0.0 {
                let shift = -f64::from(scroll.x) * ms_per_point;
                view = (view.0 + shift, view.1 + shift);
            }
            frame.scroll_y -= scroll.y;
            if scroll != Vec2::ZERO {
                // The chart used the wheel; an enclosing scroll area must not scroll too.
                ui.ctx().input_mut(|i| i.smooth_scroll_delta = Vec2::ZERO);
            }
        }

        let focused_elsewhere = ui.memory(|m| m.focused().is_some_and(|id| id != response.id));
        if response.has_focus() || (response.hovered() && !focused_elsewhere) {
            // Plain keys only: Ctrl/Cmd with +/- is egui's zoom of the whole interface.
            let (zoom_in, zoom_out) = ui.input(|i| {
                let plain = !(i.modifiers.ctrl || i.modifiers.command || i.modifiers.alt);
                (plain && (i.key_pressed(Key::Plus) || i.key_pressed(Key::Equals)), plain && i.key_pressed(Key::Minus))
            });
            if zoom_in {
                view = zoom_view(view, 1.5, anchor, frame.extent_ms);
            }
            if zoom_out {
                view = zoom_view(view, 1.0 / 1.5, anchor, frame.extent_ms);
            }
        }

        if response.drag_started() {
            // Where the press began decides what the drag moves, not where it is now.
            let origin = ui.input(|i| i.pointer.press_origin()).or_else(|| response.interact_pointer_pos());
            self.drag = origin.map(|p| {
                if frame.layout.overview.contains(p) {
                    DragTarget::Overview
                } else if frame.layout.scrollbar.contains(p) {
                    DragTarget::Scrollbar
                } else {
                    DragTarget::Chart
                }
            });
        }
        if response.dragged() {
            let delta = response.drag_delta();
            match self.drag {
                Some(DragTarget::Chart) => {
                    let shift = -f64::from(delta.x) * ms_per_point;
                    view = (view.0 + shift, view.1 + shift);
                    frame.scroll_y -= delta.y;
                    ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
                }
                Some(DragTarget::Overview) => {
                    let shift =
                        f64::from(delta.x) * frame.extent_ms / f64::from(frame.layout.overview.width().max(1.0));
                    view = (view.0 + shift, view.1 + shift);
                    self.reveal_window = true;
                }
                Some(DragTarget::Scrollbar) => {
                    let (track, thumb) = scrollbar_geometry(frame);
                    let free = (track.height() - thumb.height()).max(1.0);
                    let max = max_scroll(frame.input.rows.len(), frame.row_height, frame.layout.bars.height());
                    frame.scroll_y += delta.y * max / free;
                }
                None => {}
            }
        }
        if response.drag_stopped() {
            self.drag = None;
        }

        if view != frame.view {
            frame.view = clamp_view(view, frame.extent_ms);
            self.view_ms = Some(frame.real_view());
        }
    }
}

/// Scrolls the rows, as little as needed, so that `row` shows with a row of room around it.
fn keep_row_in_view(frame: &mut ChartGeometry, row: usize) {
    let height = frame.layout.bars.height();
    let top = row as f32 * frame.row_height;
    if top < frame.scroll_y {
        frame.scroll_y = (top - frame.row_height).max(0.0);
    } else if top + frame.row_height > frame.scroll_y + height {
        frame.scroll_y = top + 2.0 * frame.row_height - height;
    }
}

/// Whether a span shows something of the time window without covering all of it: an ancestor
/// that spans the whole window (the session's root always does) says nothing about it.
fn in_window(span: &Span, end_ms: f64, view: (f64, f64)) -> bool {
    let overlaps = span.start_ms <= view.1 && end_ms >= view.0;
    let covers = span.start_ms < view.0 && end_ms > view.1;
    span.timed && overlaps && !covers
}

/// After the time window moved to a new range: when no row on screen has a span in it, scroll
/// the first row that has one to the top (one row of context above).
fn reveal_window(frame: &mut ChartGeometry) {
    let input = frame.input;
    let view = frame.real_view();
    let shows = |index: usize| input.span(index).is_some_and(|s| in_window(s, input.drawn_end_ms(s), view));
    if input.rows.get(frame.visible_rows()).is_some_and(|rows| rows.iter().any(|&i| shows(i))) {
        return;
    }
    if let Some(row) = input.rows.iter().position(|&i| shows(i)) {
        frame.scroll_y = (row.saturating_sub(1) as f32) * frame.row_height;
    }
}

/// The scroll offset that puts the scrollbar thumb's centre at `y`.
fn scroll_for_thumb(frame: &ChartGeometry, y: f32) -> f32 {
    let (track, thumb) = scrollbar_geometry(frame);
    let free = (track.height() - thumb.height()).max(1.0);
    let t = ((y - track.top() - thumb.height() / 2.0) / free).clamp(0.0, 1.0);
    t * max_scroll(frame.input.rows.len(), frame.row_height, frame.layout.bars.height())
}

/// The scrollbar's track and thumb.
fn scrollbar_geometry(frame: &ChartGeometry) -> (Rect, Rect) {
    let track = frame.layout.scrollbar.shrink2(vec2(1.5, 0.0));
    let content = frame.input.rows.len() as f32 * frame.row_height;
    let height = frame.layout.bars.height();
    if content <= height || content <= 0.0 {
        return (track, track);
    }
    let thumb_h = (height * height / content).clamp(16.0_f32.min(track.height()), track.height());
    let max = max_scroll(frame.input.rows.len(), frame.row_height, height).max(1.0);
    let top = track.top() + (frame.scroll_y / max).clamp(0.0, 1.0) * (track.height() - thumb_h);
    (track, Rect::from_x_y_ranges(track.x_range(), top..=top + thumb_h))
}

#[cfg(test)]
mod tests {
    use egui::accesskit::Role as AkRole;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT as _, Queryable as _};

    use super::*;
    use crate::analysis::fixtures::{sample_session, span};
    use crate::analysis::{AnalyzedSession, SpanKind, Timeline};
    use crate::ui::rows::tests::Host;
    use crate::ui::theme::Theme;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn time_and_x_round_trip() {
        let x = Rangef::new(100.0, 900.0);
        let view = (1000.0, 5000.0);
        assert!((time_to_x(1000.0, view, x) - 100.0).abs() < 1e-4);
        assert!((time_to_x(5000.0, view, x) - 900.0).abs() < 1e-4);
        assert!((time_to_x(3000.0, view, x) - 500.0).abs() < 1e-4);
        for ms in [1000.0, 1234.5, 4999.0, 7000.0] {
            assert!((x_to_time(time_to_x(ms, view, x), view, x) - ms).abs() < 1e-3, "{ms}");
        }
        // A microsecond window far into a long session keeps its precision.
        let view = (3_600_000.0, 3_600_000.001);
        let px = time_to_x(3_600_000.000_5, view, x);
        assert!((px - 500.0).abs() < 0.5, "{px}");
    }

    #[test]
    fn zoom_keeps_the_time_under_the_pointer() {
        let x = Rangef::new(0.0, 1000.0);
        let view = (0.0, 10_000.0);
        let pointer = 250.0;
        let anchor = x_to_time(pointer, view, x);
        for factor in [2.0, 0.5, 1.1, 7.0] {
            let zoomed = zoom_view(view, factor, anchor, 10_000.0);
            assert!(close(zoomed.1 - zoomed.0, (10_000.0 / factor).min(12_000.0)), "{factor}: {zoomed:?}");
            assert!((time_to_x(anchor, zoomed, x) - pointer).abs() < 1e-3, "{factor}: {zoomed:?}");
        }
        // At the limits the width stops, and the anchor still stays put.
        let tiny = zoom_view(view, 1e12, anchor, 10_000.0);
        assert!(close(tiny.1 - tiny.0, MIN_WINDOW_MS));
        assert!((time_to_x(anchor, tiny, x) - pointer).abs() < 1e-2);
        let wide = zoom_view(view, 1e-6, anchor, 10_000.0);
        assert!(close(wide.1 - wide.0, 12_000.0));
    }

    #[test]
    fn only_rows_in_the_vertical_window_are_visible() {
        assert_eq!(visible_row_range(0.0, 100.0, 20.0, 1000), 0..5);
        assert_eq!(visible_row_range(30.0, 100.0, 20.0, 1000), 1..7);
        assert_eq!(visible_row_range(19_990.0, 100.0, 20.0, 1000), 999..1000);
        assert_eq!(visible_row_range(0.0, 100.0, 20.0, 2), 0..2);
        assert_eq!(max_scroll(1000, 20.0, 100.0), 19_900.0);
        assert_eq!(max_scroll(2, 20.0, 100.0), 0.0);
    }

    fn gantt_harness<'a>(
        session: &'a AnalyzedSession,
        theme: &'a Theme,
        host: Host<GanttView>,
    ) -> Harness<'a, Host<GanttView>> {
        // The harness plays one queued event per frame: short frames keep two clicks a double-click.
        Harness::builder().with_size(vec2(900.0, 400.0)).with_step_dt(1.0 / 60.0).build_ui_state(
            move |ui, host: &mut Host<GanttView>| {
                let mut view = std::mem::take(&mut host.view);
                let actions = view.ui(ui, &host.input(session, theme));
                host.view = view;
                host.actions.extend(actions);
            },
            host,
        )
    }

    /// The middle of a span's bar on screen, from the layout the chart last drew.
    fn bar_centre(host: &Host<GanttView>, session: &AnalyzedSession, index: usize) -> Pos2 {
        let last = &host.view.last;
        let span = &session.timeline.spans[index];
        let row = host.rows.iter().position(|&r| r == index).unwrap_or(usize::MAX);
        let x = time_to_x((span.start_ms + span.end_ms) / 2.0, last.view, last.layout.bars.x_range());
        pos2(x, last.layout.bars.top() + (row as f32 + 0.5) * 20.0)
    }

    fn click_at(harness: &mut Harness<'_, Host<GanttView>>, pos: Pos2, clicks: usize) {
        // Let earlier clicks age (half a second), so this gesture is not part of a triple-click.
        harness.run_steps(30);
        harness.hover_at(pos);
        for _ in 0..clicks {
            for pressed in [true, false] {
                harness.event(egui::Event::PointerButton {
                    pos,
                    button: egui::PointerButton::Primary,
                    pressed,
                    modifiers: egui::Modifiers::NONE,
                });
            }
        }
        harness.run();
    }

    #[test]
    fn clicking_a_bar_selects_its_span_and_double_clicking_zooms_to_it() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), 6));
        harness.run();
        let fitted = harness.state().view.view_range_ms();
        assert_eq!(fitted, fit_view(10_000.0));

        let pos = bar_centre(harness.state(), &session, 2);
        click_at(&mut harness, pos, 1);
        assert_eq!(harness.state().actions, vec![RowAction::Select(2)]);

        // The LLM call, then a double-click on it.
        harness.state_mut().actions.clear();
        let pos = bar_centre(harness.state(), &session, 3);
        click_at(&mut harness, pos, 2);
        assert!(harness.state().actions.contains(&RowAction::ZoomTo(3)), "{:?}", harness.state().actions);

        // The app answers ZoomTo with zoom_to_span: 6–9 s with a tenth of margin each side.
        harness.state_mut().view.zoom_to_span(&session.timeline.spans[3]);
        harness.run();
        let (a, b) = harness.state().view.view_range_ms();
        assert!(close(a, 5700.0) && close(b, 9300.0), "{a} {b}");

        // An empty spot of the bar area (the untimed row) fits the whole session again.
        harness.state_mut().actions.clear();
        let last = harness.state().view.last.clone();
        let empty = pos2(last.layout.bars.center().x, last.layout.bars.top() + 5.5 * 20.0);
        click_at(&mut harness, empty, 2);
        assert_eq!(harness.state().view.view_range_ms(), fit_view(10_000.0));
        assert!(harness.state().actions.is_empty(), "{:?}", harness.state().actions);
    }

    #[test]
    fn clicking_a_toggle_or_a_label_returns_the_right_action() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), 6));
        harness.run();
        // Spans with children have a toggle; leaves do not.
        assert!(harness.query_by_label("Collapse trace_started run").is_some());
        assert!(harness.query_by_label("Collapse tool_called read_file").is_none());
        harness.get_by_label("Collapse step_started plan").click();
        harness.run();
        assert_eq!(harness.state().actions, vec![RowAction::ToggleCollapse(1)]);

        // The app collapses it: the toggle says so, and the row list shrinks.
        harness.state_mut().collapsed[1] = true;
        harness.state_mut().rows = vec![0, 1, 3, 4, 5];
        harness.state_mut().actions.clear();
        harness.run();
        let toggle = harness.get_by_label("Expand step_started plan");
        assert_eq!(toggle.accesskit_node().role(), AkRole::DisclosureTriangle);

        // A click on the label text (not the toggle) selects: row 2 is now the LLM call.
        let labels = harness.state().view.last.layout.labels;
        let pos = pos2(labels.right() - 20.0, labels.top() + 2.5 * 20.0);
        click_at(&mut harness, pos, 1);
        assert_eq!(harness.state().actions, vec![RowAction::Select(3)]);
    }

    #[test]
    fn the_label_column_is_the_tree_and_its_divider_resizes_it() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), 6));
        harness.run();
        let layout = harness.state().view.last.layout;
        let chart_width = layout.scrollbar.right() - layout.labels.left();
        assert!((layout.labels.width() - default_label_width(chart_width)).abs() < 0.5, "{layout:?}");

        // Each row's label is a tree item in the chart's own rows, marked selected with the span.
        let items: Vec<Rect> = harness.get_all_by_role(AkRole::TreeItem).map(|n| n.rect()).collect();
        assert_eq!(items.len(), 6);
        for (row, item) in items.iter().enumerate() {
            let top = layout.bars.top() + row as f32 * 20.0;
            assert!((item.top() - top).abs() < 0.5 && (item.right() - layout.labels.right()).abs() < 0.5, "{item:?}");
        }
        harness.get_by_label_contains("gpt call").click();
        harness.run();
        assert_eq!(harness.state().actions, vec![RowAction::Select(3)]);
        harness.state_mut().selected = Some(3);
        harness.run();
        assert_eq!(
            harness.get_by_label_contains("gpt call").accesskit_node().toggled(),
            Some(egui::accesskit::Toggled::True)
        );

        // Dragging the divider 120 pt right widens the labels by as much; the bars give way.
        let divider = harness.get_by_role_and_label(AkRole::Splitter, "Label column width").rect().center();
        drag(&mut harness, divider, divider + vec2(120.0, 0.0));
        let wide = harness.state().view.last.layout;
        assert!((wide.labels.width() - layout.labels.width() - 120.0).abs() < 1.0, "{wide:?}");
        assert!((wide.bars.left() - layout.bars.left() - 120.0).abs() < 1.0);
        assert_eq!(harness.state().view.label_width(), Some(wide.labels.width()));
        // Never past 70% of the chart, whatever the drag.
        let divider = harness.get_by_role_and_label(AkRole::Splitter, "Label column width").rect().center();
        drag(&mut harness, divider, pos2(890.0, divider.y));
        assert!(harness.state().view.last.layout.labels.width() <= chart_width * 0.7 + 0.5);
        // A double-click gives the default back.
        let divider = harness.get_by_role_and_label(AkRole::Splitter, "Label column width").rect().center();
        click_at(&mut harness, divider, 2);
        assert_eq!(harness.state().view.label_width(), None);
        assert_eq!(harness.state().view.last.layout.labels, layout.labels);
    }

    #[test]
    fn hovering_a_bar_shows_its_details() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut host = Host::new(GanttView::new(), 6);
        host.slow[2] = true;
        let mut harness = gantt_harness(&session, &theme, host);
        harness.run();
        let pos = bar_centre(harness.state(), &session, 2);
        harness.hover_at(pos);
        harness.run();
        assert!(harness.query_by_label("tool_called → tool_result").is_some());
        assert!(harness.query_by_label("slow: above p95").is_some());
        assert!(harness.query_by_label("1.00 s").is_some(), "duration");
        assert!(harness.query_by_label("+2.00 s").is_some(), "start offset");

        let pos = bar_centre(harness.state(), &session, 3);
        harness.hover_at(pos);
        harness.run();
        assert!(harness.query_by_label("1,200 in / 345 out").is_some());
        assert!(harness.query_by_label("$0.0123").is_some());
        assert!(harness.query_by_label("gpt-x").is_some());
        assert!(harness.query_by_label("slow: above p95").is_none());
    }

    #[test]
    fn wheel_and_keys_zoom_at_the_pointer() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), 6));
        harness.run();
        let last = harness.state().view.last.clone();
        let pointer = pos2(last.layout.bars.left() + last.layout.bars.width() * 0.25, last.layout.bars.top() + 10.0);
        let anchor = x_to_time(pointer.x, last.view, last.layout.bars.x_range());
        harness.hover_at(pointer);
        harness.event(egui::Event::Zoom(2.0));
        harness.run();
        let view = harness.state().view.view_range_ms();
        assert!(close(view.1 - view.0, (last.view.1 - last.view.0) / 2.0), "{view:?}");
        assert!((time_to_x(anchor, view, last.layout.bars.x_range()) - pointer.x).abs() < 0.01);

        harness.key_press(Key::Minus);
        harness.run();
        let out = harness.state().view.view_range_ms();
        assert!(close(out.1 - out.0, (view.1 - view.0) * 1.5), "{out:?}");

        // The app's own zoom, then fit.
        harness.state_mut().view.zoom_by(10.0, 2500.0);
        let zoomed = harness.state().view.view_range_ms();
        assert!(close(zoomed.1 - zoomed.0, (out.1 - out.0) / 10.0));
        harness.state_mut().view.fit();
        harness.run();
        assert_eq!(harness.state().view.view_range_ms(), fit_view(10_000.0));
    }

    #[test]
    fn a_hundred_thousand_rows_draw_only_the_visible_ones() {
        let n = 100_000;
        let mut spans: Vec<Span> = (0..n)
            .map(|i| span(SpanKind::Tool, (i as f64 * 10.0, i as f64 * 10.0 + 25.0), 1, Some(0), i + 1))
            .collect();
        spans[0] = span(SpanKind::Session, (0.0, n as f64 * 10.0 + 25.0), 0, None, n);
        let session = crate::ui::synthetic_session(spans, n as f64 * 10.0 + 25.0);
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), n));
        harness.run();
        let drawn = harness.state().view.last.drawn.clone();
        let visible = (harness.state().view.last.layout.bars.height() / 20.0).ceil() as usize;
        assert_eq!(drawn.start, 0);
        assert!(drawn.len() <= visible + 1, "{drawn:?}");

        // Bring a far row into view, as the app does when the selection comes from elsewhere.
        harness.state_mut().view.scroll_to_row(77_777);
        harness.state_mut().view.zoom_by(1000.0, 0.0);
        harness.run();
        let drawn = harness.state().view.last.drawn.clone();
        assert!(drawn.contains(&77_777) && drawn.len() <= visible + 1, "{drawn:?}");
        // Its bar was outside the zoomed window, so the window moved to it.
        let view = harness.state().view.view_range_ms();
        assert!(view.0 <= 777_770.0 && view.1 >= 777_795.0, "{view:?}");

        let started = std::time::Instant::now();
        harness.run_steps(20);
        let per_frame = started.elapsed() / 20;
        eprintln!("100k spans: {per_frame:?} per frame (debug build, whole egui pass)");
    }

    fn drag(harness: &mut Harness<'_, Host<GanttView>>, from: Pos2, to: Pos2) {
        harness.run_steps(30);
        harness.hover_at(from);
        let button = |pos, pressed| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        harness.event(button(from, true));
        for k in 1..=4 {
            harness.hover_at(from + (to - from) * (k as f32 / 4.0));
        }
        harness.event(button(to, false));
        harness.run();
    }

    #[test]
    fn dragging_pans_time_and_the_overview_moves_the_window() {
        let n = 60;
        let spans: Vec<Span> =
            (0..n).map(|i| span(SpanKind::Tool, (i as f64 * 100.0, i as f64 * 100.0 + 50.0), 0, None, i + 1)).collect();
        let timeline = Timeline { end_ms: 6000.0, spans, ..Timeline::default() };
        let session = AnalyzedSession { timeline, ..sample_session() };
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), n));
        harness.run();
        harness.state_mut().view.zoom_by(4.0, 3000.0);
        harness.run();
        let before = harness.state().view.view_range_ms();
        let layout = harness.state().view.last.layout;
        let ms_per_point = (before.1 - before.0) / f64::from(layout.bars.width());

        // Drag the bars 100 pt left and 40 pt up: later times come in, rows scroll down by 40.
        let from = layout.bars.center();
        drag(&mut harness, from, from - vec2(100.0, 40.0));
        let after = harness.state().view.view_range_ms();
        assert!(
            (after.0 - before.0 - 100.0 * ms_per_point).abs() < 1e-6 * after.0.abs().max(1.0) + 1e-3,
            "{before:?} → {after:?}"
        );
        assert!(close(after.1 - after.0, before.1 - before.0));
        assert!((harness.state().view.scroll_y - 40.0).abs() < 0.01, "{}", harness.state().view.scroll_y);

        // A click in the overview centres the window on that time.
        let overview = layout.overview.shrink2(vec2(0.0, 3.0));
        let x = time_to_x(1000.0, (0.0, 6000.0), overview.x_range());
        click_at(&mut harness, pos2(x, overview.center().y), 1);
        let view = harness.state().view.view_range_ms();
        assert!(((view.0 + view.1) / 2.0 - 1000.0).abs() < 6000.0 / f64::from(overview.width()), "{view:?}");
        assert!(harness.state().actions.is_empty());
    }

    #[test]
    fn zooming_to_a_range_scrolls_the_rows_to_its_spans() {
        // Sixty calls one after another, one a row: the row of a time is far down the list.
        let n = 60;
        let spans: Vec<Span> =
            (0..n).map(|i| span(SpanKind::Tool, (i as f64 * 100.0, i as f64 * 100.0 + 50.0), 0, None, i + 1)).collect();
        let timeline = Timeline { end_ms: 6000.0, spans, ..Timeline::default() };
        let session = AnalyzedSession { timeline, ..sample_session() };
        let theme = Theme::new(true);
        let mut harness = gantt_harness(&session, &theme, Host::new(GanttView::new(), n));
        harness.run();
        assert!(harness.state().view.last.drawn.contains(&0));
        assert!(!harness.state().view.last.drawn.contains(&30));

        // Zoom to a span (a slowest-call click, "Zoom to selection"): its row comes into view.
        harness.state_mut().view.zoom_to_span(&session.timeline.spans[30]);
        harness.run();
        let drawn = harness.state().view.last.drawn.clone();
        assert_eq!(drawn.start, 29, "the first row in the window at the top, one row of context");

        // A row already on screen in the window keeps the scroll where it is.
        harness.state_mut().view.zoom_by(1.5, 3025.0);
        harness.run();
        assert_eq!(harness.state().view.last.drawn, drawn);

        // Back at the top, a drag in the overview to the middle brings the middle's rows.
        harness.state_mut().view.scroll_y = 0.0;
        harness.state_mut().view.zoom_by(0.5, 3025.0);
        harness.run();
        assert_eq!(harness.state().view.last.drawn.start, 0);
        let (a, b) = harness.state().view.view_range_ms();
        let overview = harness.state().view.last.layout.overview.shrink2(vec2(0.0, 3.0));
        let from = pos2(time_to_x((a + b) / 2.0, (0.0, 6000.0), overview.x_range()), overview.center().y);
        let to = pos2(time_to_x(4500.0, (0.0, 6000.0), overview.x_range()), overview.center().y);
        drag(&mut harness, from, to);
        let (a, b) = harness.state().view.view_range_ms();
        assert!(a < 4500.0 && b > 4500.0, "{a} {b}");
        let drawn = harness.state().view.last.drawn.clone();
        let first = (a / 100.0).floor() as usize;
        assert!(drawn.contains(&first.max(1)) && !drawn.contains(&0), "window {a}–{b}, rows {drawn:?}");
    }

    #[test]
    fn open_spans_run_to_now_and_their_tail_is_clickable() {
        let mut session = sample_session();
        session.timeline.spans[3].open = true;
        let theme = Theme::new(true);
        let mut harness = Harness::builder().with_size(vec2(900.0, 400.0)).build_ui_state(
            |ui, host: &mut Host<GanttView>| {
                let mut view = std::mem::take(&mut host.view);
                let mut input = host.input(&session, &theme);
                input.now_ms = Some(12_000.0);
                assert_eq!(input.extent_ms(), 12_000.0);
                assert_eq!(input.drawn_end_ms(&session.timeline.spans[3]), 12_000.0);
                assert_eq!(input.drawn_end_ms(&session.timeline.spans[2]), 3000.0, "closed spans keep their end");
                let actions = view.ui(ui, &input);
                host.view = view;
                host.actions.extend(actions);
            },
            Host::new(GanttView::new(), 6),
        );
        harness.run();
        // The whole running session is in view: 0–12 s with the fit margin.
        assert_eq!(harness.state().view.view_range_ms(), fit_view(12_000.0));
        let last = harness.state().view.last.clone();
        let pos = pos2(time_to_x(11_000.0, last.view, last.layout.bars.x_range()), last.layout.bars.top() + 3.5 * 20.0);
        click_at(&mut harness, pos, 1);
        assert_eq!(harness.state().actions, vec![RowAction::Select(3)]);
        assert!(harness.query_by_label("open: no end logged").is_some());
        assert!(harness.query_by_label("6.00 s so far").is_some());
    }

    #[test]
    fn a_zoom_set_before_the_first_frame_survives_it() {
        let session = sample_session();
        let theme = Theme::new(true);
        let mut view = GanttView::new();
        view.zoom_to_span(&session.timeline.spans[3]);
        let mut harness = gantt_harness(&session, &theme, Host::new(view, 6));
        harness.run();
        let (a, b) = harness.state().view.view_range_ms();
        assert!(close(a, 5700.0) && close(b, 9300.0), "{a} {b}");
        // But a later frame of a different session starts from the whole of it.
        harness.state_mut().view.last.session_id = "another".to_owned();
        harness.run();
        assert_eq!(harness.state().view.view_range_ms(), fit_view(10_000.0));
    }
}
