//! The Gantt chart: one bar per shown span on a shared time axis, with an overview strip of
//! the whole session, idle gaps, zoom and pan.
//!
//! Drawing touches only what the pixels can show: the rows in the vertical window (a slice of
//! the app's row list), bars overlapping the time window, gaps found by binary search. What
//! depends on the whole session (idle gaps, the overview's density) is computed once per
//! session and cached. Time is `f64` milliseconds from the session origin until the last step,
//! where it becomes an `f32` screen position.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat, TextWrapping};
use egui::{
    Align2, Color32, CornerRadius, CursorIcon, FontId, Galley, Key, Painter, Pos2, Rangef, Rect, Response, Role, Sense,
    Shape, Stroke, StrokeKind, Ui, Vec2, WidgetInfo, pos2, vec2,
};

use crate::analysis::{AnalyzedSession, Span, SpanKind, Timeline};
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::ui::text::{one_line, one_line_max};
use crate::ui::theme::Theme;

/// What the Gantt chart and the tree view draw: the rows the app chose, and how to mark them.
#[derive(Clone, Copy, Debug)]
pub struct RowsInput<'a> {
    /// The session whose spans the rows index.
    pub session: &'a AnalyzedSession,
    /// Span indices, in display order (tree order, collapsed subtrees and filtered spans removed).
    pub rows: &'a [usize],
    /// Per span: its children are hidden.
    pub collapsed: &'a [bool],
    /// Span index.
    pub selected: Option<usize>,
    /// Per span: matches the search (empty = no search).
    pub hits: &'a [bool],
    /// Per span: a slow call (empty = none).
    pub slow: &'a [bool],
    /// For a running session: open spans extend to this time (ms from the origin).
    pub now_ms: Option<f64>,
    /// Colours and the row height shared by both views.
    pub theme: &'a Theme,
}

/// What the user asked for in a view; the app applies it after drawing.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
    /// Select this span.
    Select(usize),
    /// Collapse or expand this span's children.
    ToggleCollapse(usize),
    /// Zoom the chart to this span (the app calls [`GanttView::zoom_to_span`]).
    ZoomTo(usize),
}

impl RowsInput<'_> {
    /// The span at this index of the timeline.
    #[must_use]
    pub fn span(&self, index: usize) -> Option<&Span> {
        self.session.timeline.spans.get(index)
    }

    /// The span matches the search.
    #[must_use]
    pub fn is_hit(&self, index: usize) -> bool {
        self.hits.get(index).copied().unwrap_or(false)
    }

    /// The span is a slow call.
    #[must_use]
    pub fn is_slow(&self, index: usize) -> bool {
        self.slow.get(index).copied().unwrap_or(false)
    }

    /// The span's children are hidden.
    #[must_use]
    pub fn is_collapsed(&self, index: usize) -> bool {
        self.collapsed.get(index).copied().unwrap_or(false)
    }

    /// The span has children (spans are in depth-first order, so they follow it).
    #[must_use]
    pub fn has_children(&self, index: usize) -> bool {
        self.span(index).is_some_and(|s| s.subtree_end > index + 1)
    }

    /// Where a span's bar ends: an open span runs to `now_ms` while the session runs.
    #[must_use]
    pub fn drawn_end_ms(&self, span: &Span) -> f64 {
        match self.now_ms {
            Some(now) if span.open => span.end_ms.max(now),
            _ => span.end_ms,
        }
    }

    /// The length of the session as drawn (at least 1 ms, so the axis never collapses).
    #[must_use]
    pub fn extent_ms(&self) -> f64 {
        let end = self.session.timeline.end_ms.max(self.now_ms.unwrap_or(0.0));
        if end.is_finite() { end.max(1.0) } else { 1.0 }
    }

    /// The type of the span's first event (`tool_called`, `message`…), as one line cut for
    /// display: a type is file text and may be megabytes.
    #[must_use]
    pub fn event_type(&self, span: &Span) -> Cow<'_, str> {
        one_line(self.session.data.events.get(span.event).map_or("", |e| &*e.kind))
    }

    /// The type of the event completing a pair, if any, cut like [`Self::event_type`].
    #[must_use]
    pub fn end_event_type(&self, span: &Span) -> Option<Cow<'_, str>> {
        span.end_event.and_then(|e| self.session.data.events.get(e)).map(|e| one_line(&e.kind))
    }

    /// "type label", the name a row is known by (tooltips, accessibility).
    #[must_use]
    pub fn title(&self, span: &Span) -> String {
        let kind = self.event_type(span);
        if span.label.is_empty() { kind.into_owned() } else { format!("{kind} {}", one_line_max(&span.label, 120)) }
    }

    /// Input and output tokens over the span's events, `None` when neither event reports any.
    #[must_use]
    pub fn tokens(&self, span: &Span) -> Option<(i64, i64)> {
        let mut any = false;
        let (mut input, mut output) = (0i64, 0i64);
        for e in self.events_of(span) {
            any |= e.input_tokens.is_some() || e.output_tokens.is_some();
            input = input.saturating_add(e.input_tokens.unwrap_or(0));
            output = output.saturating_add(e.output_tokens.unwrap_or(0));
        }
        any.then_some((input, output))
    }

    /// Cost over the span's events, `None` when neither reports one.
    #[must_use]
    pub fn cost_usd(&self, span: &Span) -> Option<f64> {
        self.events_of(span).filter_map(|e| e.cost_usd).reduce(|a, b| a + b)
    }

    /// The model of the span's first event that names one.
    #[must_use]
    pub fn model(&self, span: &Span) -> Option<&str> {
        self.events_of(span).find_map(|e| e.model_used.as_deref())
    }

    fn events_of(&self, span: &Span) -> impl Iterator<Item = &crate::model::TraceEvent> {
        let events = &self.session.data.events;
        events.get(span.event).into_iter().chain(span.end_event.and_then(|e| events.get(e)))
    }
}

/// One line of text cut with "…" to `max_width`.
pub(crate) fn elided_job(job: &mut LayoutJob, max_width: f32) {
    job.wrap = TextWrapping::truncate_at_width(max_width.max(0.0));
    job.break_on_newline = false;
}

/// Text that is shown in one line at most `max_width` wide.
pub(crate) fn elided_galley(
    painter: &Painter,
    text: &str,
    font: FontId,
    color: Color32,
    max_width: f32,
) -> Arc<Galley> {
    let mut job = LayoutJob::simple_singleline(one_line_max(text, 200).into_owned(), font, color);
    elided_job(&mut job, max_width);
    painter.layout_job(job)
}

/// Indent levels drawn before the indent stops growing (a 200,000-deep chain stays readable).
pub(crate) const MAX_INDENT_LEVELS: u32 = 30;
/// Points of indent per tree level.
pub(crate) const INDENT: f32 = 10.0;
/// Width of the ▶/▼ toggle.
pub(crate) const TOGGLE_WIDTH: f32 = 14.0;

/// Paints a collapse toggle: ▶ when collapsed, ▼ when expanded.
pub(crate) fn paint_toggle(painter: &Painter, rect: Rect, collapsed: bool, color: Color32) {
    let side = rect.width().min(rect.height()).min(9.0);
    let r = Rect::from_center_size(rect.center(), Vec2::splat(side));
    let points = if collapsed {
        vec![r.left_top(), r.right_center(), r.left_bottom()]
    } else {
        vec![r.left_top(), r.right_top(), r.center_bottom()]
    };
    painter.add(Shape::convex_polygon(points, color, Stroke::NONE));
}

/// The colour of a span's type as text: its kind's colour (the error colour when it failed),
/// pulled towards the strong text colour so the muted kinds (session, step) stay readable.
pub(crate) fn kind_text_colour(theme: &Theme, span: &Span, strong_text: Color32) -> Color32 {
    let colour = if span.failed { theme.error } else { theme.kind(span.kind) };
    colour.lerp_to_gamma(strong_text, 0.3)
}

/// Font sizes that fit a row of this height.
pub(crate) fn row_fonts(row_height: f32) -> (FontId, FontId) {
    let size = (row_height * 0.62).clamp(8.0, 16.0);
    (FontId::proportional(size), FontId::monospace(size * 0.95))
}

// ---------------------------------------------------------------------------------------------
// Pure mapping: time ↔ x, zoom, ticks.

/// The narrowest time window (1 µs).
const MIN_WINDOW_MS: f64 = 0.001;
/// The widest window, as a multiple of the session length.
const MAX_WINDOW_FACTOR: f64 = 1.2;
/// Blank space left and right of the session when it is fitted, as a fraction of its length.
const FIT_MARGIN: f64 = 0.02;
/// Ticks are at least this many points apart.
const MIN_TICK_SPACING: f32 = 80.0;

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

/// The whole session with a little margin.
fn fit_view(extent_ms: f64) -> (f64, f64) {
    (-extent_ms * FIT_MARGIN, extent_ms * (1.0 + FIT_MARGIN))
}

/// Keeps a window between 1 µs and 1.2× the session wide, and overlapping the session.
fn clamp_view(view: (f64, f64), extent_ms: f64) -> (f64, f64) {
    let extent = if extent_ms.is_finite() { extent_ms.max(MIN_WINDOW_MS) } else { 1.0 };
    let width = view.1 - view.0;
    if !width.is_finite() || !view.0.is_finite() || width <= 0.0 {
        return fit_view(extent);
    }
    let max_width = extent * MAX_WINDOW_FACTOR;
    let width = width.clamp(MIN_WINDOW_MS, max_width);
    let margin = (max_width - extent) / 2.0;
    let start = view.0.clamp(-margin, extent + margin - width);
    (start, start + width)
}

/// Zooms `view` by `factor` (> 1 zooms in) around `anchor_ms`, which keeps its screen position.
/// The width is limited to what [`clamp_view`] allows, so the anchor stays put even at a limit.
fn zoom_view(view: (f64, f64), factor: f64, anchor_ms: f64, extent_ms: f64) -> (f64, f64) {
    let width = view.1 - view.0;
    if !(factor.is_finite() && factor > 0.0 && width > 0.0 && anchor_ms.is_finite()) {
        return view;
    }
    let max_width = extent_ms.max(MIN_WINDOW_MS) * MAX_WINDOW_FACTOR;
    let new_width = (width / factor).clamp(MIN_WINDOW_MS, max_width.max(MIN_WINDOW_MS));
    let scale = new_width / width;
    (anchor_ms - (anchor_ms - view.0) * scale, anchor_ms + (view.1 - anchor_ms) * scale)
}

const SECOND_MS: f64 = 1000.0;
const MINUTE_MS: f64 = 60.0 * SECOND_MS;
const HOUR_MS: f64 = 60.0 * MINUTE_MS;

/// The tick step: the smallest "nice" step at least `min_spacing_px` apart at this scale.
///
/// Nice is 1, 2 or 5 times a power of ten of a millisecond below a minute (1 µs … 50 s), then
/// 1, 2, 5, 10, 20 minutes, then 1, 2, 5 times a power of ten of an hour, so labels stay round
/// in the unit they are read in.
fn tick_step_ms(ms_per_point: f64, min_spacing_px: f32) -> f64 {
    let min_step = ms_per_point * f64::from(min_spacing_px);
    if !min_step.is_finite() || min_step <= 0.0 {
        return SECOND_MS;
    }
    if min_step <= 50.0 * SECOND_MS {
        let power = 10f64.powf(min_step.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|&s| s >= min_step * (1.0 - 1e-9));
        return step.unwrap_or(power * 10.0).max(MIN_WINDOW_MS);
    }
    for minutes in [1.0, 2.0, 5.0, 10.0, 20.0] {
        if minutes * MINUTE_MS >= min_step {
            return minutes * MINUTE_MS;
        }
    }
    let hours = min_step / HOUR_MS;
    let power = 10f64.powf(hours.log10().floor().max(0.0));
    let m = [1.0, 2.0, 5.0, 10.0].into_iter().find(|&m| m * power >= hours).unwrap_or(10.0);
    m * power * HOUR_MS
}

/// Decimals needed to tell apart values `step` apart.
fn decimals(step: f64) -> usize {
    if !step.is_finite() || step >= 1.0 {
        return 0;
    }
    ((-step.log10() - 1e-9).ceil().max(0.0) as usize).min(9)
}

/// A tick label: the offset from the session start, `0`, `+250 µs`, `+1.5 s`, `+2 m 30 s`,
/// `+1 h 05 m`, with as many decimals as the tick step needs.
fn format_offset(ms: f64, step_ms: f64) -> String {
    // Ticks are multiples of the step; snapping removes float noise (59 999.999… is 1 m).
    let ms = if step_ms > 0.0 && step_ms.is_finite() { (ms / step_ms).round() * step_ms } else { ms };
    if ms == 0.0 || !ms.is_finite() {
        return "0".to_owned();
    }
    let sign = if ms < 0.0 { "-" } else { "+" };
    let a = ms.abs();
    let body = if a < 1.0 {
        let d = decimals(step_ms * 1000.0);
        format!("{:.d$} µs", a * 1000.0)
    } else if a < SECOND_MS {
        let d = decimals(step_ms);
        format!("{a:.d$} ms")
    } else if a < MINUTE_MS {
        let d = decimals(step_ms / SECOND_MS);
        format!("{:.d$} s", a / SECOND_MS)
    } else {
        clock_offset(a, step_ms)
    };
    format!("{sign}{body}")
}

/// `2 m 30 s`, `2 m 05.5 s`, `2 m`, `1 h 05 m`, `1 h`, `1 h 05 m 30 s`: seconds (with the
/// step's decimals) only while ticks are closer than a minute.
fn clock_offset(a: f64, step_ms: f64) -> String {
    let d = decimals(step_ms / SECOND_MS);
    // Integer units of the last decimal, so a carry never shows as "60 s".
    let scale = 10u64.pow(d as u32);
    let units = (a / SECOND_MS * scale as f64).round() as u64;
    let minutes_total = units / (60 * scale);
    let seconds = (units % (60 * scale)) as f64 / scale as f64;
    let (hours, minutes) = (minutes_total / 60, minutes_total % 60);
    let width = if d > 0 { d + 3 } else { 2 };
    if step_ms >= MINUTE_MS || seconds == 0.0 {
        // Minute ticks: round to the minute.
        let minutes_total = (a / MINUTE_MS).round() as u64;
        let (hours, minutes) = (minutes_total / 60, minutes_total % 60);
        return match (hours, minutes) {
            (0, m) => format!("{m} m"),
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m:02} m"),
        };
    }
    if hours == 0 {
        format!("{minutes} m {seconds:0width$.d$} s")
    } else {
        format!("{hours} h {minutes:02} m {seconds:0width$.d$} s")
    }
}

/// The tick times in `view` for this step.
fn ticks(view: (f64, f64), step_ms: f64) -> impl Iterator<Item = f64> {
    let first = (view.0 / step_ms).ceil();
    let count = if step_ms > 0.0 && (view.1 - view.0) / step_ms < 10_000.0 {
        ((view.1 / step_ms).floor() - first + 1.0).max(0.0) as usize
    } else {
        0
    };
    (0..count).map(move |k| (first + k as f64) * step_ms)
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

// ---------------------------------------------------------------------------------------------
// Per-session analysis, cached.

/// Intervals (start, end ms) in which no timed span other than the session root is active,
/// longer than max(1 s, 5 % of the session). Instants count as activity at their moment.
fn idle_gaps(timeline: &Timeline) -> Vec<(f64, f64)> {
    let session_ms = timeline.end_ms;
    if !session_ms.is_finite() || session_ms <= 0.0 {
        return Vec::new();
    }
    let min_gap = (0.05 * session_ms).max(SECOND_MS);
    let mut active: Vec<(f64, f64)> = timeline
        .spans
        .iter()
        .filter(|s| s.timed && !(s.kind == SpanKind::Session && s.parent.is_none()))
        .map(|s| (s.start_ms, s.end_ms.max(s.start_ms)))
        .filter(|(s, e)| s.is_finite() && e.is_finite())
        .collect();
    active.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut gaps = Vec::new();
    let mut busy_until = 0.0f64;
    for (start, end) in active {
        if start - busy_until > min_gap {
            gaps.push((busy_until, start));
        }
        busy_until = busy_until.max(end);
    }
    if session_ms - busy_until > min_gap {
        gaps.push((busy_until, session_ms));
    }
    gaps
}

/// Kinds in the order that wins a tie for "dominant" (the rarer, more telling kinds first).
const KINDS: [SpanKind; 6] =
    [SpanKind::Error, SpanKind::Llm, SpanKind::Tool, SpanKind::Other, SpanKind::Step, SpanKind::Session];

fn kind_slot(kind: SpanKind) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

/// One column of the overview.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DensityBin {
    /// Timed spans starting in this column.
    count: u32,
    /// Of those, failures.
    failed: u32,
    /// The most common kind among them.
    dominant: Option<SpanKind>,
}

/// Bins every timed span by its start into `columns` equal slices of `[0, range_ms]` (spans
/// outside go to the first or last column, so the counts add up to the timed spans).
fn density_bins(spans: &[Span], range_ms: f64, columns: usize) -> Vec<DensityBin> {
    if columns == 0 {
        return Vec::new();
    }
    let range = if range_ms.is_finite() && range_ms > 0.0 { range_ms } else { 1.0 };
    let mut by_kind = vec![[0u32; KINDS.len()]; columns];
    let mut bins = vec![DensityBin::default(); columns];
    for s in spans.iter().filter(|s| s.timed) {
        // `as usize` saturates: negative and NaN go to 0.
        let col = ((s.start_ms / range * columns as f64).floor() as usize).min(columns - 1);
        bins[col].count += 1;
        bins[col].failed += u32::from(s.failed);
        by_kind[col][kind_slot(s.kind)] += 1;
    }
    for (bin, counts) in bins.iter_mut().zip(&by_kind) {
        let mut best: Option<(usize, u32)> = None;
        for (slot, &n) in counts.iter().enumerate() {
            if n > 0 && best.is_none_or(|(_, b)| n > b) {
                best = Some((slot, n));
            }
        }
        bin.dominant = best.map(|(slot, _)| KINDS[slot]);
    }
    bins
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
        chart_layout(Rect::ZERO)
    }
}

impl ChartLayout {
    /// Labels and bars together.
    fn rows(&self) -> Rect {
        self.labels.union(self.bars)
    }
}

fn chart_layout(rect: Rect) -> ChartLayout {
    let label_width = (rect.width() * 0.3).clamp(100.0, 320.0).min(rect.width() * 0.5);
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
    view: (f64, f64),
    extent_ms: f64,
    now_ms: Option<f64>,
    layout: ChartLayout,
    /// Rows (indices into the row list) drawn.
    drawn: Range<usize>,
    session_id: String,
    origin: Option<i64>,
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
    drag: Option<DragTarget>,
    /// The app set the window since the last frame: a new session keeps it instead of fitting.
    view_set_by_app: bool,
    last: LastFrame,
    gaps: Option<(SessionKey, Vec<(f64, f64)>)>,
    density: Option<(SessionKey, usize, Vec<DensityBin>)>,
}

/// Everything one frame's drawing reads, worked out once.
struct Frame<'i, 'a> {
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
}

impl Frame<'_, '_> {
    fn x(&self, ms: f64) -> f32 {
        time_to_x(ms, self.view, self.layout.bars.x_range())
    }

    fn time_at(&self, x: f32) -> f64 {
        x_to_time(x, self.view, self.layout.bars.x_range())
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

/// The indent levels drawn for a depth.
pub(crate) fn indent_levels(depth: u32) -> u32 {
    depth.min(MAX_INDENT_LEVELS)
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

    /// Centres `span` with a margin of a tenth of its length each side. An instant or zero-length
    /// span is centred at the current zoom; an untimed span changes nothing.
    pub fn zoom_to_span(&mut self, span: &Span) {
        if !span.timed {
            return;
        }
        let end = match self.last.now_ms {
            Some(now) if span.open => span.end_ms.max(now),
            _ => span.end_ms,
        };
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
        let view = zoom_view(self.view_range_ms(), factor, anchor_ms, extent);
        self.view_ms = Some(self.clamped(view));
        self.view_set_by_app = true;
    }

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
        let x = time_to_x((span.start_ms + span.end_ms) / 2.0, self.last.view, self.last.layout.bars.x_range());
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
        let extent_ms = input.extent_ms();
        let view = clamp_view(self.view_ms.unwrap_or_else(|| fit_view(extent_ms)), extent_ms);
        if self.view_ms.is_some() {
            self.view_ms = Some(view);
        }
        let (font, mono) = row_fonts(input.theme.row_height);
        let mut frame = Frame {
            input,
            layout: chart_layout(response.rect),
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
        };
        self.apply_pending_row(&mut frame);

        // Clicks are judged against what was on screen, before this frame's zoom and pan.
        self.clicks(&response, &mut frame, &mut actions);
        self.navigate(ui, &response, &mut frame);
        frame.scroll_y =
            frame.scroll_y.clamp(0.0, max_scroll(input.rows.len(), frame.row_height, frame.layout.bars.height()));
        self.scroll_y = frame.scroll_y;

        self.paint(ui, &painter, &response, &frame, &mut actions);

        self.last.view = frame.view;
        self.last.extent_ms = extent_ms;
        self.last.now_ms = input.now_ms;
        self.last.layout = frame.layout;
        self.last.drawn = frame.visible_rows();
        self.view_set_by_app = false;
        actions
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

    fn apply_pending_row(&mut self, frame: &mut Frame) {
        let Some(row) = self.pending_row.take() else { return };
        if row >= frame.input.rows.len() {
            return;
        }
        let height = frame.layout.bars.height();
        let top = row as f32 * frame.row_height;
        if top < frame.scroll_y {
            frame.scroll_y = (top - frame.row_height).max(0.0);
        } else if top + frame.row_height > frame.scroll_y + height {
            frame.scroll_y = top + 2.0 * frame.row_height - height;
        }
        let span = frame.input.rows.get(row).and_then(|&i| frame.input.span(i));
        if let Some(span) = span.filter(|s| s.timed) {
            let end = frame.input.drawn_end_ms(span);
            if end < frame.view.0 || span.start_ms > frame.view.1 {
                let half = (frame.view.1 - frame.view.0) / 2.0;
                let centre = if end - span.start_ms < 2.0 * half {
                    (span.start_ms + end) / 2.0
                } else {
                    span.start_ms + half * 0.8
                };
                frame.view = clamp_view((centre - half, centre + half), frame.extent_ms);
                self.view_ms = Some(frame.view);
            }
        }
    }

    /// Clicks and double-clicks: select, toggle, zoom to, fit, jump in the overview.
    fn clicks(&mut self, response: &Response, frame: &mut Frame, actions: &mut Vec<RowAction>) {
        let Some(pos) = response.interact_pointer_pos() else { return };
        if response.clicked() {
            response.request_focus();
            if frame.layout.overview.contains(pos) {
                let t = x_to_time(pos.x, (0.0, frame.extent_ms), frame.layout.overview.x_range());
                let half = (frame.view.1 - frame.view.0) / 2.0;
                frame.view = clamp_view((t - half, t + half), frame.extent_ms);
                self.view_ms = Some(frame.view);
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
    fn navigate(&mut self, ui: &Ui, response: &Response, frame: &mut Frame) {
        let mut view = frame.view;
        let pointer = response.hover_pos();
        // Zoom keeps the time under the pointer in place; over the overview (another time
        // scale) or the labels, the window's centre.
        let anchor = pointer
            .filter(|p| frame.layout.bars.x_range().contains(p.x) && !frame.layout.overview.contains(*p))
            .map_or((view.0 + view.1) / 2.0, |p| frame.time_at(p.x));
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
            self.view_ms = Some(frame.view);
        }
    }

    fn paint(&mut self, ui: &Ui, painter: &Painter, response: &Response, frame: &Frame, actions: &mut Vec<RowAction>) {
        let layout = &frame.layout;
        let theme = frame.input.theme;
        let visuals = ui.visuals();
        painter.rect_filled(response.rect, CornerRadius::ZERO, visuals.extreme_bg_color);
        painter.rect_filled(
            Rect::from_min_max(response.rect.left_top(), pos2(response.rect.right(), layout.axis.bottom())),
            CornerRadius::ZERO,
            visuals.faint_bg_color,
        );

        let pointer = response.hover_pos();
        let hovered = if response.dragged() { None } else { pointer.and_then(|p| frame.span_at(p)) };
        let hovered_row = pointer.and_then(|p| frame.row_at(p));

        // Rows' backgrounds first, so grid lines and gaps show on top of them.
        let rows = frame.visible_rows();
        for row in rows.clone() {
            let Some(&index) = frame.input.rows.get(row) else { continue };
            let rect = frame.row_rect(row);
            let fill = if frame.input.selected == Some(index) {
                theme.selected.gamma_multiply(0.22)
            } else if frame.input.is_hit(index) {
                theme.hit.gamma_multiply(0.14)
            } else if hovered_row == Some(row) {
                visuals.widgets.hovered.weak_bg_fill.gamma_multiply(0.6)
            } else if row % 2 == 1 {
                visuals.faint_bg_color
            } else {
                Color32::TRANSPARENT
            };
            if fill != Color32::TRANSPARENT {
                painter.rect_filled(rect.intersect(layout.rows()), CornerRadius::ZERO, fill);
            }
        }

        self.paint_gaps(painter, frame);
        paint_axis(painter, frame);
        self.paint_overview(painter, frame);

        let bars_painter = painter.with_clip_rect(layout.bars.intersect(painter.clip_rect()));
        let labels_painter = painter.with_clip_rect(layout.labels.intersect(painter.clip_rect()));
        for row in rows {
            let Some(&index) = frame.input.rows.get(row) else { continue };
            let Some(span) = frame.input.span(index) else { continue };
            paint_label(&labels_painter, frame, row, index, span);
            paint_bar(&bars_painter, frame, row, index, span);
            if frame.input.has_children(index) {
                let rect = frame.toggle_rect(row, span).intersect(layout.labels);
                if rect.height() > 0.0 {
                    let toggle = ui.interact(rect, response.id.with(("toggle", index)), Sense::click());
                    let collapsed = frame.input.is_collapsed(index);
                    let title = frame.input.title(span);
                    toggle.widget_info(|| {
                        let verb = if collapsed { "Expand" } else { "Collapse" };
                        WidgetInfo::labeled(Role::DisclosureTriangle, true, format!("{verb} {title}"))
                    });
                    if toggle.clicked() {
                        actions.push(RowAction::ToggleCollapse(index));
                    }
                }
            }
        }

        if let Some(now) = frame.input.now_ms {
            let x = frame.x(now);
            if layout.bars.x_range().contains(x) {
                let y = Rangef::new(layout.axis.top(), layout.bars.bottom());
                painter.vline(x, y, Stroke::new(1.0, theme.running));
            }
        }
        if frame.input.rows.is_empty() {
            painter.text(
                layout.rows().center(),
                Align2::CENTER_CENTER,
                "No spans to show",
                frame.font.clone(),
                frame.weak,
            );
        }
        paint_scrollbar(painter, frame, ui.visuals());

        if let Some(index) = hovered {
            if pointer.and_then(|p| frame.bar_at(p)).is_some() {
                ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
            }
            egui::Tooltip::for_widget(response).at_pointer().gap(12.0).show(|ui| tooltip_ui(ui, frame.input, index));
        }
    }

    /// Shades the idle gaps over the rows and the axis, and labels their length on the axis.
    fn paint_gaps(&self, painter: &Painter, frame: &Frame) {
        let Some((_, gaps)) = &self.gaps else { return };
        let layout = &frame.layout;
        let theme = frame.input.theme;
        // Gaps are sorted and disjoint: the first that ends after the window's start onwards.
        let first = gaps.partition_point(|g| g.1 < frame.view.0);
        for &(start, end) in gaps.get(first..).unwrap_or_default().iter().take_while(|g| g.0 <= frame.view.1) {
            let x0 = frame.x(start).max(layout.bars.left());
            let x1 = frame.x(end).min(layout.bars.right());
            if x1 <= x0 {
                continue;
            }
            let rect = Rect::from_x_y_ranges(x0..=x1, layout.axis.top()..=layout.bars.bottom());
            painter.rect_filled(rect, CornerRadius::ZERO, theme.idle_gap);
            let text = format!("idle {}", format_duration_ms(end - start));
            let galley = painter.layout_no_wrap(text, frame.small.clone(), theme.muted);
            if galley.size().x + 8.0 <= x1 - x0 {
                let pos = pos2((x0 + x1 - galley.size().x) / 2.0, layout.axis.bottom() - galley.size().y - 2.0);
                painter.galley(pos, galley, theme.muted);
            }
        }
    }

    /// The whole session compressed to the strip's width, with the view window on top.
    fn paint_overview(&mut self, painter: &Painter, frame: &Frame) {
        let rect = frame.layout.overview.shrink2(vec2(0.0, 3.0));
        if rect.width() < 2.0 || rect.height() < 2.0 {
            return;
        }
        let theme = frame.input.theme;
        let timeline = &frame.input.session.timeline;
        let key = SessionKey::of(timeline);
        let columns = rect.width().round() as usize;
        // Binned over the spans' own range: `now_ms` moves every frame, the spans do not.
        let range_ms = timeline.end_ms.max(1.0);
        if self.density.as_ref().is_none_or(|(k, c, _)| *k != key || *c != columns) {
            self.density = Some((key, columns, density_bins(&timeline.spans, range_ms, columns)));
        }
        let whole = (0.0, frame.extent_ms);
        painter.rect_filled(rect, CornerRadius::same(2), frame.input.theme.idle_gap);
        if let Some((_, gaps)) = &self.gaps {
            for &(start, end) in gaps {
                let x0 = time_to_x(start, whole, rect.x_range());
                let x1 = time_to_x(end, whole, rect.x_range());
                painter.rect_filled(Rect::from_x_y_ranges(x0..=x1, rect.y_range()), CornerRadius::ZERO, theme.idle_gap);
            }
        }
        if let Some((_, _, bins)) = &self.density {
            let max = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
            let log_max = f64::from(max).ln_1p();
            let column_ms = range_ms / bins.len().max(1) as f64;
            for (i, bin) in bins.iter().enumerate() {
                let Some(kind) = bin.dominant else { continue };
                let x0 = time_to_x(i as f64 * column_ms, whole, rect.x_range());
                // Two points at least: a lone span in a long session must still show.
                let x1 = time_to_x((i + 1) as f64 * column_ms, whole, rect.x_range()).max(x0 + 2.0);
                let share = (f64::from(bin.count).ln_1p() / log_max) as f32;
                let height = (rect.height() * share).max(2.0);
                let bar = Rect::from_x_y_ranges(x0..=x1, (rect.bottom() - height)..=rect.bottom());
                painter.rect_filled(bar, CornerRadius::ZERO, theme.kind(kind));
                if bin.failed > 0 {
                    let tick = Rect::from_x_y_ranges(x0..=x1, rect.top()..=(rect.top() + 3.0));
                    painter.rect_filled(tick, CornerRadius::ZERO, theme.error);
                }
            }
        }
        let x0 = time_to_x(frame.view.0, whole, rect.x_range()).max(rect.left());
        let x1 = time_to_x(frame.view.1, whole, rect.x_range()).min(rect.right());
        let window = Rect::from_x_y_ranges(x0..=x1.max(x0 + 4.0), frame.layout.overview.y_range());
        painter.rect(
            window,
            CornerRadius::same(2),
            theme.selected.gamma_multiply(0.15),
            Stroke::new(1.5, theme.selected),
            StrokeKind::Inside,
        );
        let label_pos = pos2(frame.layout.labels.left() + 6.0, frame.layout.overview.center().y);
        painter.text(label_pos, Align2::LEFT_CENTER, "Overview", frame.small.clone(), frame.weak);
    }
}

/// The scroll offset that puts the scrollbar thumb's centre at `y`.
fn scroll_for_thumb(frame: &Frame, y: f32) -> f32 {
    let (track, thumb) = scrollbar_geometry(frame);
    let free = (track.height() - thumb.height()).max(1.0);
    let t = ((y - track.top() - thumb.height() / 2.0) / free).clamp(0.0, 1.0);
    t * max_scroll(frame.input.rows.len(), frame.row_height, frame.layout.bars.height())
}

/// The scrollbar's track and thumb.
fn scrollbar_geometry(frame: &Frame) -> (Rect, Rect) {
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

fn paint_scrollbar(painter: &Painter, frame: &Frame, visuals: &egui::Visuals) {
    let content = frame.input.rows.len() as f32 * frame.row_height;
    if content <= frame.layout.bars.height() {
        return;
    }
    let (track, thumb) = scrollbar_geometry(frame);
    painter.rect_filled(track, CornerRadius::same(3), visuals.faint_bg_color);
    painter.rect_filled(thumb, CornerRadius::same(3), visuals.widgets.inactive.bg_fill);
}

/// Ticks with offset labels, grid lines down the rows, and the window's length at the left.
fn paint_axis(painter: &Painter, frame: &Frame) {
    let layout = &frame.layout;
    let theme = frame.input.theme;
    let step = tick_step_ms(frame.ms_per_point(), MIN_TICK_SPACING);
    for t in ticks(frame.view, step) {
        let x = frame.x(t);
        if !layout.bars.x_range().contains(x) {
            continue;
        }
        painter.vline(x, Rangef::new(layout.axis.top(), layout.bars.bottom()), Stroke::new(1.0, theme.grid));
        painter.vline(x, Rangef::new(layout.axis.top(), layout.axis.top() + 5.0), Stroke::new(1.0, frame.weak));
        let label_pos = pos2(x + 3.0, layout.axis.top() + 2.0);
        painter.text(label_pos, Align2::LEFT_TOP, format_offset(t, step), frame.small.clone(), frame.text);
    }
    painter.hline(layout.axis.x_range(), layout.axis.bottom(), Stroke::new(1.0, theme.grid));
    let window = format!("window {}", format_duration_ms(frame.view.1 - frame.view.0));
    let pos = pos2(layout.labels.left() + 6.0, layout.axis.center().y);
    painter.text(pos, Align2::LEFT_CENTER, window, frame.small.clone(), frame.weak);
}

/// The label column of one row: indent, toggle, type (monospace, kind colour) and label.
fn paint_label(painter: &Painter, frame: &Frame, row: usize, index: usize, span: &Span) {
    let theme = frame.input.theme;
    let top = frame.row_top(row);
    let mid = top + frame.row_height / 2.0;
    let mut x = frame.layout.labels.left() + 4.0 + indent_levels(span.depth) as f32 * INDENT;
    if frame.input.has_children(index) {
        paint_toggle(painter, frame.toggle_rect(row, span), frame.input.is_collapsed(index), frame.weak);
    }
    x += TOGGLE_WIDTH;
    let mut job = LayoutJob::default();
    if span.depth > MAX_INDENT_LEVELS {
        job.append(&format!("[depth {}] ", span.depth), 0.0, TextFormat::simple(frame.small.clone(), frame.weak));
    }
    let kind_colour = kind_text_colour(theme, span, frame.strong);
    job.append(&frame.input.event_type(span), 0.0, TextFormat::simple(frame.mono.clone(), kind_colour));
    if !span.label.is_empty() {
        job.append(&one_line_max(&span.label, 200), 6.0, TextFormat::simple(frame.font.clone(), frame.text));
    }
    elided_job(&mut job, frame.layout.labels.right() - x - 4.0);
    let galley = painter.layout_job(job);
    painter.galley(pos2(x, mid - galley.size().y / 2.0), galley, frame.text);
}

/// One span's bar (or instant marker), its marks and its label.
fn paint_bar(painter: &Painter, frame: &Frame, row: usize, index: usize, span: &Span) {
    let theme = frame.input.theme;
    let bars = frame.layout.bars;
    let top = frame.row_top(row);
    let mid = top + frame.row_height / 2.0;
    if !span.timed {
        painter.text(pos2(bars.left() + 6.0, mid), Align2::LEFT_CENTER, "no time", frame.small.clone(), theme.muted);
        return;
    }
    let (x0, x1) = frame.bar_x(span);
    if x1 < bars.left() || x0 > bars.right() {
        return;
    }
    let selected = frame.input.selected == Some(index);
    let slow = frame.input.is_slow(index);
    let outline = if selected {
        Stroke::new(2.0, theme.selected)
    } else if frame.input.is_hit(index) {
        Stroke::new(1.5, theme.hit)
    } else if slow {
        Stroke::new(1.5, theme.slow)
    } else {
        Stroke::NONE
    };
    let fill = if span.failed { theme.error } else { theme.kind(span.kind) };

    if span.instant {
        let x = frame.x(span.start_ms);
        let s = frame.marker_half();
        let points = vec![pos2(x, mid - s), pos2(x + s, mid), pos2(x, mid + s), pos2(x - s, mid)];
        painter.add(Shape::convex_polygon(points, fill, outline));
        paint_bar_text(painter, frame, span, (x + s, x + s), mid);
        return;
    }

    // Far-off ends are pulled in to just outside the view, so geometry stays small.
    let visible = Rangef::new(bars.left() - 4.0, bars.right() + 4.0);
    let (c0, c1) = (x0.max(visible.min), x1.min(visible.max));
    let bar = Rect::from_x_y_ranges(c0..=c1, (top + 3.0)..=(top + frame.row_height - 3.0));
    if span.open {
        // What the data knows (up to the last logged time) is solid; the rest is a hatched tail.
        let known = match frame.input.now_ms {
            Some(_) => frame.x(span.end_ms),
            None => x1 - (0.4 * (x1 - x0)).min(24.0),
        }
        .clamp(c0, c1);
        painter.rect_filled(Rect::from_x_y_ranges(c0..=known, bar.y_range()), CornerRadius::same(2), fill);
        let tail = Rect::from_x_y_ranges(known..=c1, bar.y_range());
        painter.rect_filled(tail, CornerRadius::same(2), fill.gamma_multiply(0.35));
        paint_hatch(painter, tail, fill);
    } else {
        painter.rect_filled(bar, CornerRadius::same(2), fill);
    }
    if slow {
        let accent = Rect::from_x_y_ranges(bar.x_range(), (bar.bottom() - 3.0)..=bar.bottom());
        painter.rect_filled(accent, CornerRadius::ZERO, theme.slow);
    }
    if outline != Stroke::NONE {
        painter.rect_stroke(bar, CornerRadius::same(2), outline, StrokeKind::Outside);
    }
    paint_bar_text(painter, frame, span, (c0.max(bars.left()), c1.min(bars.right())), mid);
}

/// Diagonal lines across `rect`, clipped to it: an open span's unknown end.
fn paint_hatch(painter: &Painter, rect: Rect, colour: Color32) {
    let clip = rect.intersect(painter.clip_rect());
    if clip.width() <= 0.0 || clip.height() <= 0.0 {
        return;
    }
    let hatch = painter.with_clip_rect(clip);
    let stroke = Stroke::new(1.0, colour);
    let h = rect.height();
    let mut x = clip.left() - h;
    while x < clip.right() {
        hatch.line_segment([pos2(x, rect.bottom()), pos2(x + h, rect.top())], stroke);
        x += 6.0;
    }
}

/// The span's label inside its bar when it fits, else right of it when there is room.
fn paint_bar_text(painter: &Painter, frame: &Frame, span: &Span, (x0, x1): (f32, f32), mid: f32) {
    let theme = frame.input.theme;
    let name = if span.label.is_empty() { frame.input.event_type(span) } else { one_line_max(&span.label, 200) };
    if name.is_empty() {
        return;
    }
    let duration = (!span.instant).then(|| format_duration_ms(frame.input.drawn_end_ms(span) - span.start_ms));
    let inside = x1 - x0 - 8.0;
    if inside > 20.0 {
        let text = duration.as_ref().map_or_else(|| name.to_string(), |d| format!("{name}  {d}"));
        let galley = painter.layout_no_wrap(text, frame.small.clone(), theme.text_on_bar);
        let galley = if galley.size().x <= inside {
            galley
        } else {
            painter.layout_no_wrap(name.to_string(), frame.small.clone(), theme.text_on_bar)
        };
        if galley.size().x <= inside {
            painter.galley(pos2(x0 + 4.0, mid - galley.size().y / 2.0), galley, theme.text_on_bar);
            return;
        }
    }
    let room = frame.layout.bars.right() - x1 - 6.0;
    if room >= 30.0 {
        let text = duration.map_or_else(|| name.to_string(), |d| format!("{name}  {d}"));
        let galley = elided_galley(painter, &text, frame.small.clone(), frame.text, room);
        painter.galley(pos2(x1 + 4.0, mid - galley.size().y / 2.0), galley, frame.text);
    }
}

/// The hover card of a span: types, label, times, tokens, cost, model, notes.
fn tooltip_ui(ui: &mut Ui, input: &RowsInput, index: usize) {
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
        if let Some((tokens_in, tokens_out)) = input.tokens(span) {
            ui.label("Tokens");
            ui.label(format!("{} in / {} out", format_count(tokens_in), format_count(tokens_out)));
            ui.end_row();
        }
        if let Some(cost) = input.cost_usd(span) {
            ui.label("Cost");
            ui.label(format_cost(cost));
            ui.end_row();
        }
        if let Some(model) = input.model(span) {
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

#[cfg(test)]
pub(crate) mod tests {
    use egui::accesskit::Role as AkRole;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT as _, Queryable as _};

    use super::*;
    use crate::model::{SessionData, SessionRow, TraceEvent};
    use crate::time::Timestamp;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    pub(crate) fn span(
        kind: SpanKind,
        label: &str,
        (start_ms, end_ms): (f64, f64),
        depth: u32,
        parent: Option<usize>,
        subtree_end: usize,
    ) -> Span {
        Span {
            event: 0,
            end_event: None,
            kind,
            label: label.into(),
            start_ms,
            end_ms,
            timed: true,
            instant: false,
            open: false,
            failed: false,
            depth,
            parent,
            subtree_end,
        }
    }

    /// 0 run (session, 0–10 s) ─ 1 plan (step, 1–5 s) ─ 2 read_file (tool, 2–3 s, a pair)
    ///                         ├ 3 gpt call (llm, 6–9 s, tokens, cost, model)
    ///                         └ 4 boom (error instant at 9.5 s)
    /// 5 lost (untimed root)
    pub(crate) fn sample_session() -> AnalyzedSession {
        let mut spans = vec![
            span(SpanKind::Session, "run", (0.0, 10_000.0), 0, None, 5),
            span(SpanKind::Step, "plan", (1000.0, 5000.0), 1, Some(0), 3),
            span(SpanKind::Tool, "read_file", (2000.0, 3000.0), 2, Some(1), 3),
            span(SpanKind::Llm, "gpt call", (6000.0, 9000.0), 1, Some(0), 4),
            span(SpanKind::Error, "boom", (9500.0, 9500.0), 1, Some(0), 5),
            span(SpanKind::Other, "lost", (0.0, 0.0), 0, None, 6),
        ];
        for (i, s) in spans.iter_mut().enumerate() {
            s.event = i;
        }
        spans[2].end_event = Some(6);
        spans[4].instant = true;
        spans[4].failed = true;
        spans[5].timed = false;
        let kinds = ["trace_started", "step_started", "tool_called", "message", "error", "note", "tool_result"];
        let mut events: Vec<TraceEvent> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| TraceEvent { id: format!("e{i}"), kind: (*k).into(), ..TraceEvent::default() })
            .collect();
        events[3].input_tokens = Some(1200);
        events[3].output_tokens = Some(345);
        events[3].cost_usd = Some(0.0123);
        events[3].model_used = Some("gpt-x".into());
        let row = SessionRow { id: "session-1".to_owned(), ..SessionRow::default() };
        let timeline = Timeline { origin: Some(Timestamp(1_000_000)), spans, end_ms: 10_000.0, ..Timeline::default() };
        AnalyzedSession { data: SessionData { row, events, warnings: vec![] }, timeline, ..AnalyzedSession::default() }
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
    fn views_are_clamped_to_the_session() {
        assert_eq!(clamp_view((0.0, 1e9), 10_000.0), (-1000.0, 11_000.0));
        let (a, b) = clamp_view((5000.0, 5000.0 + 1e-9), 10_000.0);
        assert!(close(b - a, MIN_WINDOW_MS) && close(a, 5000.0));
        // Panned far right: pulled back so the window still overlaps the session.
        assert_eq!(clamp_view((50_000.0, 51_000.0), 10_000.0), (10_000.0, 11_000.0));
        assert_eq!(clamp_view((f64::NAN, 1.0), 10_000.0), fit_view(10_000.0));
        assert_eq!(fit_view(10_000.0), (-200.0, 10_200.0));
    }

    /// A step is nice when it is 1, 2 or 5 × 10^k of a millisecond (below a minute), or 1, 2, 5,
    /// 10, 20 minutes, or 1, 2, 5 × 10^k hours.
    fn is_nice(step: f64) -> bool {
        let mantissa_ok = |v: f64| {
            let p = 10f64.powf(v.log10().floor());
            [1.0, 2.0, 5.0].iter().any(|m| close(v, m * p))
        };
        if step < MINUTE_MS {
            mantissa_ok(step)
        } else if step < HOUR_MS {
            [1.0, 2.0, 5.0, 10.0, 20.0].iter().any(|m| close(step, m * MINUTE_MS))
        } else {
            mantissa_ok(step / HOUR_MS)
        }
    }

    #[test]
    fn tick_steps_are_nice_and_at_least_80_px_apart() {
        let mut ms_per_point = 1e-6;
        while ms_per_point < 1e6 {
            let step = tick_step_ms(ms_per_point, MIN_TICK_SPACING);
            let px = step / ms_per_point;
            assert!(is_nice(step), "step {step} at {ms_per_point} ms/pt");
            assert!(px >= 80.0 * (1.0 - 1e-9), "step {step} only {px} px apart at {ms_per_point} ms/pt");
            ms_per_point *= 1.37;
        }
        // The smallest nice step that fits, not a bigger one.
        assert!(close(tick_step_ms(1.0, 80.0), 100.0));
        assert!(close(tick_step_ms(1.3, 80.0), 200.0));
        assert!(close(tick_step_ms(0.01, 80.0), 1.0));
        assert!(close(tick_step_ms(100.0, 80.0), 10_000.0));
        assert!(close(tick_step_ms(700.0, 80.0), MINUTE_MS));
        // 26.7 minutes needed: past 20 minutes comes the hour.
        assert!(close(tick_step_ms(20_000.0, 80.0), HOUR_MS));
        assert!(close(tick_step_ms(200_000.0, 80.0), 5.0 * HOUR_MS));
    }

    #[test]
    fn tick_labels_are_human_offsets() {
        assert_eq!(format_offset(0.0, 500.0), "0");
        assert_eq!(format_offset(1500.0, 500.0), "+1.5 s");
        assert_eq!(format_offset(2000.0, 1000.0), "+2 s");
        assert_eq!(format_offset(150_000.0, 10_000.0), "+2 m 30 s");
        assert_eq!(format_offset(120_000.0, 10_000.0), "+2 m");
        assert_eq!(format_offset(125_500.0, 500.0), "+2 m 05.5 s");
        assert_eq!(format_offset(0.25, 0.05), "+250 µs");
        assert_eq!(format_offset(12.0, 2.0), "+12 ms");
        assert_eq!(format_offset(1.25, 0.05), "+1.25 ms");
        assert_eq!(format_offset(3_900_000.0, 5.0 * MINUTE_MS), "+1 h 05 m");
        assert_eq!(format_offset(7_200_000.0, HOUR_MS), "+2 h");
        assert_eq!(format_offset(3_930_000.0, 10_000.0), "+1 h 05 m 30 s");
        assert_eq!(format_offset(-1500.0, 500.0), "-1.5 s");
        // Float noise in a tick's time does not leak into its label.
        assert_eq!(format_offset(59_999.999_999, 10_000.0), "+1 m");
        assert_eq!(format_offset(0.1 + 0.2, 0.1), "+300 µs");
        // Zoomed in at an hour's offset, the seconds get the step's decimals.
        assert_eq!(format_offset(3_930_020.0, 20.0), "+1 h 05 m 30.02 s");
        assert_eq!(format_offset(3_959_999.9, 100.0), "+1 h 06 m", "a round tick stays short");
        let t: Vec<f64> = ticks((-150.0, 1000.0), 200.0).collect();
        assert_eq!(t, vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
    }

    #[test]
    fn idle_gaps_are_long_stretches_without_work() {
        let mut spans = vec![
            span(SpanKind::Session, "root", (0.0, 100_000.0), 0, None, 8),
            span(SpanKind::Step, "a", (0.0, 10_000.0), 1, Some(0), 2),
            // 2 s after a: shorter than max(1 s, 5 % of 100 s) = 5 s, not a gap.
            span(SpanKind::Step, "b", (12_000.0, 20_000.0), 1, Some(0), 3),
            span(SpanKind::Tool, "c", (50_000.0, 60_000.0), 1, Some(0), 4),
            // An instant is work at its moment: it splits 60–80 s.
            span(SpanKind::Other, "mark", (70_000.0, 70_000.0), 1, Some(0), 5),
            span(SpanKind::Step, "d", (71_000.0, 80_000.0), 1, Some(0), 7),
            span(SpanKind::Llm, "e", (72_000.0, 90_000.0), 2, Some(5), 7),
            // Untimed spans are not work anywhere.
            span(SpanKind::Other, "untimed", (0.0, 0.0), 1, Some(0), 8),
        ];
        spans[4].instant = true;
        spans[7].timed = false;
        let timeline = Timeline { spans, end_ms: 100_000.0, ..Timeline::default() };
        assert_eq!(idle_gaps(&timeline), vec![(20_000.0, 50_000.0), (60_000.0, 70_000.0), (90_000.0, 100_000.0)]);
        // Short sessions: the 1 s floor applies.
        assert!(idle_gaps(&sample_session().timeline).is_empty());
    }

    #[test]
    fn density_bins_count_every_timed_span_once() {
        let session = sample_session();
        let spans = &session.timeline.spans;
        let timed = spans.iter().filter(|s| s.timed).count();
        for columns in [1, 3, 10, 997] {
            let bins = density_bins(spans, 10_000.0, columns);
            assert_eq!(bins.len(), columns);
            assert_eq!(bins.iter().map(|b| b.count as usize).sum::<usize>(), timed, "{columns} columns");
        }
        let bins = density_bins(spans, 10_000.0, 10);
        // Starts at 0, 1, 2, 6 and 9.5 s.
        let counts: Vec<u32> = bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![1, 1, 1, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(bins[2].dominant, Some(SpanKind::Tool));
        assert_eq!(bins[9].dominant, Some(SpanKind::Error));
        assert_eq!(bins[9].failed, 1);
        assert_eq!(bins[3].dominant, None);
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

    /// What the test app holds: the chart, the rows it is given, the actions it returned.
    pub(crate) struct Host<V> {
        pub view: V,
        pub rows: Vec<usize>,
        pub collapsed: Vec<bool>,
        pub slow: Vec<bool>,
        pub selected: Option<usize>,
        pub actions: Vec<RowAction>,
    }

    impl<V> Host<V> {
        pub(crate) fn new(view: V, spans: usize) -> Self {
            Self {
                view,
                rows: (0..spans).collect(),
                collapsed: vec![false; spans],
                slow: vec![false; spans],
                selected: None,
                actions: Vec::new(),
            }
        }

        pub(crate) fn input<'a>(&'a self, session: &'a AnalyzedSession, theme: &'a Theme) -> RowsInput<'a> {
            RowsInput {
                session,
                rows: &self.rows,
                collapsed: &self.collapsed,
                selected: self.selected,
                hits: &[],
                slow: &self.slow,
                now_ms: None,
                theme,
            }
        }
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
            .map(|i| {
                span(SpanKind::Tool, &format!("call {i}"), (i as f64 * 10.0, i as f64 * 10.0 + 25.0), 1, Some(0), i + 1)
            })
            .collect();
        spans[0] = span(SpanKind::Session, "root", (0.0, n as f64 * 10.0 + 25.0), 0, None, n);
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
        let spans: Vec<Span> = (0..n)
            .map(|i| {
                span(SpanKind::Tool, &format!("c{i}"), (i as f64 * 100.0, i as f64 * 100.0 + 50.0), 0, None, i + 1)
            })
            .collect();
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
