//! Drawing the Gantt chart: row backgrounds, idle gaps, the time axis, the overview strip,
//! labels, bars and the scrollbar, from the geometry [`super::ChartGeometry`] worked out.

use egui::text::{LayoutJob, TextFormat};
use egui::{
    Align2, Color32, CornerRadius, CursorIcon, Painter, Rangef, Rect, Response, Role, Sense, Shape, Stroke, StrokeKind,
    Ui, WidgetInfo, pos2, vec2,
};

use super::tooltip::tooltip_ui;
use super::{ChartGeometry, GanttView, SessionKey, scrollbar_geometry, time_to_x};
use crate::analysis::Span;
use crate::analysis::axis::{tick_step_ms, ticks};
use crate::analysis::density::density_bins;
use crate::format::{format_duration_ms, format_offset_ms};
use crate::ui::rows::{
    INDENT, MAX_INDENT_LEVELS, RowAction, TOGGLE_WIDTH, elided_galley, elided_job, indent_levels, kind_text_colour,
    paint_toggle,
};
use crate::ui::text::one_line_max;

/// Ticks are at least this many points apart.
const MIN_TICK_SPACING: f32 = 80.0;

impl GanttView {
    /// Draws the whole chart for this frame; toggles clicked are added to `actions`.
    pub(super) fn paint(
        &mut self,
        ui: &Ui,
        painter: &Painter,
        response: &Response,
        frame: &ChartGeometry,
        actions: &mut Vec<RowAction>,
    ) {
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
        // The label rows are widgets of their own on top of the chart: the row under the
        // pointer is found from the pointer itself.
        let over_chart = ui.ctx().pointer_hover_pos().filter(|p| response.rect.contains(*p));
        let hovered_row = over_chart.filter(|_| response.container_contains_pointer()).and_then(|p| frame.row_at(p));

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
        paint_cuts(painter, frame);
        self.paint_overview(painter, frame);

        let bars_painter = painter.with_clip_rect(layout.bars.intersect(painter.clip_rect()));
        let labels_painter = painter.with_clip_rect(layout.labels.intersect(painter.clip_rect()));
        for row in rows {
            let Some(&index) = frame.input.rows.get(row) else { continue };
            let Some(span) = frame.input.span(index) else { continue };
            label_row(ui, response, frame, row, index, span, actions);
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

        // Over a bar: its hover card (a label row shows its own).
        if let Some(index) = hovered.filter(|_| pointer.is_some_and(|p| frame.layout.bars.contains(p))) {
            ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
            egui::Tooltip::for_widget(response).at_pointer().gap(12.0).show(|ui| tooltip_ui(ui, frame.input, index));
        }
    }

    /// Shades the idle gaps over the rows and the axis, and labels their length on the axis.
    fn paint_gaps(&self, painter: &Painter, frame: &ChartGeometry) {
        let Some((_, gaps)) = &self.gaps else { return };
        let layout = &frame.layout;
        let theme = frame.input.theme;
        // Gaps are sorted and disjoint: the first that ends after the window's start onwards.
        let view = frame.real_view();
        let first = gaps.partition_point(|g| g.1 < view.0);
        for &(start, end) in gaps.get(first..).unwrap_or_default().iter().take_while(|g| g.0 <= view.1) {
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
    fn paint_overview(&mut self, painter: &Painter, frame: &ChartGeometry) {
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
        // The strip shares the chart's axis time: a cut is as narrow here.
        let whole = (0.0, frame.extent_ms);
        let cuts = frame.input.cuts;
        let x_of = |ms: f64| time_to_x(cuts.to_axis(ms), whole, rect.x_range());
        painter.rect_filled(rect, CornerRadius::same(2), frame.input.theme.idle_gap);
        if let Some((_, gaps)) = &self.gaps {
            for &(start, end) in gaps {
                let x0 = x_of(start);
                let x1 = x_of(end);
                painter.rect_filled(Rect::from_x_y_ranges(x0..=x1, rect.y_range()), CornerRadius::ZERO, theme.idle_gap);
            }
        }
        if let Some((_, _, bins)) = &self.density {
            let max = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
            let log_max = f64::from(max).ln_1p();
            let column_ms = range_ms / bins.len().max(1) as f64;
            for (i, bin) in bins.iter().enumerate() {
                let Some(kind) = bin.dominant else { continue };
                let x0 = x_of(i as f64 * column_ms);
                // Two points at least: a lone span in a long session must still show.
                let x1 = x_of((i + 1) as f64 * column_ms).max(x0 + 2.0);
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

fn paint_scrollbar(painter: &Painter, frame: &ChartGeometry, visuals: &egui::Visuals) {
    let content = frame.input.rows.len() as f32 * frame.row_height;
    if content <= frame.layout.bars.height() {
        return;
    }
    let (track, thumb) = scrollbar_geometry(frame);
    painter.rect_filled(track, CornerRadius::same(3), visuals.faint_bg_color);
    painter.rect_filled(thumb, CornerRadius::same(3), visuals.widgets.inactive.bg_fill);
}

/// Ticks with offset labels, grid lines down the rows, and the window's length at the left.
fn paint_axis(painter: &Painter, frame: &ChartGeometry) {
    let layout = &frame.layout;
    let theme = frame.input.theme;
    let step = tick_step_ms(frame.ms_per_point(), MIN_TICK_SPACING);
    // Between cuts the axis runs at the scale of time: each uncut part has its own ticks, in
    // time, kept apart where a part starts close after a cut.
    let mut last_x = f32::NEG_INFINITY;
    let parts = frame.input.cuts.uncut(frame.real_view());
    for t in parts.into_iter().flat_map(|part| ticks(part, step)) {
        let x = frame.x(t);
        if !layout.bars.x_range().contains(x) || x - last_x < MIN_TICK_SPACING * 0.75 {
            continue;
        }
        last_x = x;
        painter.vline(x, Rangef::new(layout.axis.top(), layout.bars.bottom()), Stroke::new(1.0, theme.grid));
        painter.vline(x, Rangef::new(layout.axis.top(), layout.axis.top() + 5.0), Stroke::new(1.0, frame.weak));
        let label_pos = pos2(x + 3.0, layout.axis.top() + 2.0);
        painter.text(label_pos, Align2::LEFT_TOP, format_offset_ms(t, step), frame.small.clone(), frame.text);
    }
    painter.hline(layout.axis.x_range(), layout.axis.bottom(), Stroke::new(1.0, theme.grid));
    let (start, end) = frame.real_view();
    let window = format!("window {}", format_duration_ms(end - start));
    let pos = pos2(layout.labels.left() + 6.0, layout.axis.center().y);
    painter.text(pos, Align2::LEFT_CENTER, window, frame.small.clone(), frame.weak);
}

/// The cuts of a collapsed axis: a band across the rows where the idle stretch was, a zig-zag
/// across the axis line, and the idle time above it.
fn paint_cuts(painter: &Painter, frame: &ChartGeometry) {
    let cuts = frame.input.cuts;
    if cuts.is_empty() {
        return;
    }
    let layout = &frame.layout;
    let theme = frame.input.theme;
    let view = frame.real_view();
    let clip = painter.with_clip_rect(layout.axis.union(layout.bars).intersect(painter.clip_rect()));
    let first = cuts.cuts().partition_point(|c| c.end_ms < view.0);
    let mut label_right = f32::NEG_INFINITY;
    for cut in cuts.cuts().get(first..).unwrap_or_default().iter().take_while(|c| c.start_ms <= view.1) {
        let (x0, x1) = (frame.x(cut.start_ms), frame.x(cut.end_ms));
        let (x0, x1) = (x0.min(x1 - CUT_MIN_WIDTH / 2.0), x1.max(x0 + CUT_MIN_WIDTH / 2.0));
        let band = Rect::from_x_y_ranges(x0..=x1, layout.axis.top()..=layout.bars.bottom());
        clip.rect_filled(band, CornerRadius::ZERO, theme.cut);
        let edge = Stroke::new(1.0, theme.cut_mark);
        for x in [x0, x1] {
            clip.vline(x, Rangef::new(layout.axis.bottom(), layout.bars.bottom()), edge);
        }
        // The zig-zag where the axis line crosses the cut, in the cut's colour behind it.
        let y = layout.axis.bottom();
        let (left, right) = (x0 - 2.0, x1 + 2.0);
        let mut points = Vec::new();
        let teeth = ((right - left) / 4.0).ceil().max(2.0) as usize;
        for k in 0..=teeth {
            let x = left + (right - left) * k as f32 / teeth as f32;
            points.push(pos2(x, if k % 2 == 0 { y - 4.0 } else { y + 4.0 }));
        }
        clip.add(Shape::line(points, Stroke::new(1.5, theme.cut_mark)));
        let text = format!("idle {}", format_duration_ms(cut.length_ms()));
        let galley = painter.layout_no_wrap(text, frame.small.clone(), theme.cut_mark);
        let x = ((x0 + x1) / 2.0 - galley.size().x / 2.0).max(layout.axis.left() + 2.0);
        if x > label_right + 6.0 && x + galley.size().x <= layout.axis.right() {
            let pos = pos2(x, layout.axis.bottom() - galley.size().y - 5.0);
            let back = Rect::from_min_size(pos, galley.size()).expand2(vec2(3.0, 0.0));
            clip.rect_filled(back, CornerRadius::same(2), frame.background);
            label_right = back.right();
            clip.galley(pos, galley, theme.cut_mark);
        }
    }
}

/// The least width a cut is drawn with, whatever the zoom.
const CUT_MIN_WIDTH: f32 = 6.0;

/// The label column of a row as a tree item: selected by a click, zoomed to by a double-click,
/// its hover card on hover. Drags fall through to the chart, which pans.
fn label_row(
    ui: &Ui,
    chart: &Response,
    frame: &ChartGeometry,
    row: usize,
    index: usize,
    span: &Span,
    actions: &mut Vec<RowAction>,
) {
    let rect = frame.row_rect(row).intersect(frame.layout.labels);
    if rect.height() <= 0.0 {
        return;
    }
    let item = ui.interact(rect, chart.id.with(("row", index)), Sense::click());
    let selected = frame.input.selected == Some(index);
    item.widget_info(|| WidgetInfo::selected(Role::TreeItem, true, selected, frame.input.title(span)));
    if item.clicked() {
        // The chart keeps the keyboard: its zoom keys work after a click on a label.
        chart.request_focus();
        actions.push(RowAction::Select(index));
    }
    if item.double_clicked() {
        actions.push(RowAction::ZoomTo(index));
    }
    item.on_hover_ui_at_pointer(|ui| tooltip_ui(ui, frame.input, index));
}

/// Width of the label column's duration, right-aligned.
const DURATION_WIDTH: f32 = 62.0;
/// The label column shows durations when it is at least this wide.
const DURATIONS_FROM: f32 = 260.0;
/// The least room kept for a row's name before the marks beside it give way.
const MIN_NAME_WIDTH: f32 = 130.0;

/// The label column of one row: indent, toggle, type (monospace, kind colour) and label, then
/// right-aligned the failed and slow marks and the duration (when the column has room).
fn paint_label(painter: &Painter, frame: &ChartGeometry, row: usize, index: usize, span: &Span) {
    let theme = frame.input.theme;
    let labels = frame.layout.labels;
    let top = frame.row_top(row);
    let mid = top + frame.row_height / 2.0;
    let mut x = labels.left() + 4.0 + indent_levels(span.depth) as f32 * INDENT;
    if frame.input.has_children(index) {
        paint_toggle(painter, frame.toggle_rect(row, span), frame.input.is_collapsed(index), frame.weak);
    }
    x += TOGGLE_WIDTH;

    let mut right = labels.right() - 6.0;
    if labels.width() >= DURATIONS_FROM {
        let (duration, colour) = if !span.timed {
            ("no time".to_owned(), theme.muted)
        } else if span.instant {
            (String::new(), frame.weak)
        } else if span.open {
            (format!("{}…", format_duration_ms(frame.input.drawn_end_ms(span) - span.start_ms)), theme.running)
        } else {
            (format_duration_ms(span.duration_ms()), frame.text)
        };
        painter.text(pos2(right, mid), Align2::RIGHT_CENTER, duration, frame.small.clone(), colour);
        right -= DURATION_WIDTH;
    }
    // The failed and slow marks, when the name keeps room beside them (the bar shows both).
    let marks: Vec<_> = [(span.failed, "failed", theme.error), (frame.input.is_slow(index), "slow", theme.slow)]
        .into_iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, word, colour)| painter.layout_no_wrap(word.to_owned(), frame.small.clone(), colour))
        .collect();
    let marks_width: f32 = marks.iter().map(|g| g.size().x + 6.0).sum();
    if right - marks_width - x >= MIN_NAME_WIDTH {
        for galley in marks {
            let width = galley.size().x;
            painter.galley(pos2(right - width, mid - galley.size().y / 2.0), galley, frame.text);
            right -= width + 6.0;
        }
    }

    let mut job = LayoutJob::default();
    if span.depth > MAX_INDENT_LEVELS {
        job.append(&format!("[depth {}] ", span.depth), 0.0, TextFormat::simple(frame.small.clone(), frame.weak));
    }
    let dimmed = frame.input.is_dimmed(index);
    let fade = |c: Color32| if dimmed { c.gamma_multiply(0.45) } else { c };
    let kind_colour = fade(kind_text_colour(theme, span, frame.strong));
    job.append(&frame.input.event_type(span), 0.0, TextFormat::simple(frame.mono.clone(), kind_colour));
    // A loop's first call says so before its label, which gives way first when room is short.
    let calls = frame.input.loop_calls(index);
    if calls > 0 {
        job.append(&format!("×{calls} loop"), 6.0, TextFormat::simple(frame.small.clone(), theme.warning));
    }
    let label = frame.input.label(span);
    if !label.is_empty() {
        job.append(&one_line_max(label, 200), 6.0, TextFormat::simple(frame.font.clone(), fade(frame.text)));
    }
    elided_job(&mut job, right - x - 4.0);
    let galley = painter.layout_job(job);
    painter.galley(pos2(x, mid - galley.size().y / 2.0), galley, frame.text);
}

/// One span's bar (or instant marker), its marks and its label.
fn paint_bar(painter: &Painter, frame: &ChartGeometry, row: usize, index: usize, span: &Span) {
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
    } else {
        Stroke::NONE
    };
    let fill = if span.failed { theme.error } else { theme.kind(span.kind) };
    // With the critical path shown, what is off it steps back.
    let dimmed = frame.input.is_dimmed(index);
    let fill = if dimmed { fill.gamma_multiply(0.22) } else { fill };
    let outline = if !dimmed && !frame.input.on_path.is_empty() && outline == Stroke::NONE {
        Stroke::new(1.5, frame.strong)
    } else {
        outline
    };

    if span.instant {
        let x = frame.x(span.start_ms);
        let s = frame.marker_half();
        let points = vec![pos2(x, mid - s), pos2(x + s, mid), pos2(x, mid + s), pos2(x - s, mid)];
        painter.add(Shape::convex_polygon(points, fill, outline));
        paint_bar_text(painter, frame, span, false, (x + s, x + s), mid);
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
        paint_slow_ring(painter, frame, bar);
    }
    if outline != Stroke::NONE {
        let ring = if slow { bar.expand(SLOW_RING) } else { bar };
        painter.rect_stroke(ring, CornerRadius::same(2), outline, StrokeKind::Outside);
    }
    paint_bar_text(painter, frame, span, slow, (c0.max(bars.left()), c1.min(bars.right())), mid);
}

/// How far a slow bar's ring reaches past the bar.
const SLOW_RING: f32 = 3.0;

/// A slow call's mark: a ring in the slow colour with a gap of the chart's background between
/// it and the bar, so it reads on every bar colour (a red failed call included) and in both
/// themes, and a notch on the ring's right edge where a thin bar's ring would be hard to see.
fn paint_slow_ring(painter: &Painter, frame: &ChartGeometry, bar: Rect) {
    let colour = frame.input.theme.slow;
    painter.rect_stroke(bar, CornerRadius::same(2), Stroke::new(1.0, frame.background), StrokeKind::Outside);
    painter.rect_stroke(bar.expand(1.0), CornerRadius::same(3), Stroke::new(2.0, colour), StrokeKind::Outside);
    let (x, mid) = (bar.right() + SLOW_RING, bar.center().y);
    let notch = vec![pos2(x, mid - 4.0), pos2(x + 5.0, mid), pos2(x, mid + 4.0)];
    painter.add(Shape::convex_polygon(notch, colour, Stroke::NONE));
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
fn paint_bar_text(painter: &Painter, frame: &ChartGeometry, span: &Span, slow: bool, (x0, x1): (f32, f32), mid: f32) {
    let theme = frame.input.theme;
    let label = frame.input.label(span);
    let name = if label.is_empty() { frame.input.event_type(span) } else { one_line_max(label, 200) };
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
    // Right of the bar, clear of a slow call's ring and notch, and stopping short of the next
    // cut of a collapsed axis (what follows a cut is drawn close after it).
    let x1 = if slow { x1 + SLOW_RING + 6.0 } else { x1 };
    let cuts = frame.input.cuts.cuts();
    let end_ms = frame.input.drawn_end_ms(span);
    let next_cut = cuts.get(cuts.partition_point(|c| c.start_ms < end_ms)).map(|c| frame.x(c.start_ms));
    let room = next_cut.map_or(frame.layout.bars.right(), |x| x.min(frame.layout.bars.right())) - x1 - 6.0;
    if room >= 30.0 {
        let text = duration.map_or_else(|| name.to_string(), |d| format!("{name}  {d}"));
        let galley = elided_galley(painter, &text, frame.small.clone(), frame.text, room);
        painter.galley(pos2(x1 + 4.0, mid - galley.size().y / 2.0), galley, frame.text);
    }
}
