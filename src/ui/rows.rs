//! The rows of the Gantt chart and its tree column: what they draw ([`RowsInput`]), what
//! the user asks of them ([`RowAction`]), and the pieces of a row both paint the same way
//! (indent, toggle, type colour, fonts, elided text).

use std::borrow::Cow;
use std::sync::Arc;

use egui::text::{LayoutJob, TextWrapping};
use egui::{Color32, FontId, Galley, Painter, Rect, Shape, Stroke, Vec2};

use crate::analysis::axis::CutAxis;
use crate::analysis::slow::{SlowReason, SlowRule};
use crate::analysis::{AnalyzedSession, Span};
use crate::model::TraceEvent;
use crate::ui::text::{one_line, one_line_max};
use crate::ui::theme::Theme;

/// What the Gantt chart and its tree column draw: the rows the app chose, and how to mark them.
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
    /// The rule the slow flags follow, to say why a call is slow.
    pub slow_rule: SlowRule<'a>,
    /// Per span: on the critical path; empty when the path is not shown (else the rest dims).
    pub on_path: &'a [bool],
    /// Per span: the number of calls of the loop it starts (0 or empty: none).
    pub loop_calls: &'a [u32],
    /// Idle stretches the time axis draws narrowed (none: [`crate::analysis::axis::NO_CUTS`]).
    pub cuts: &'a CutAxis,
    /// For a running session: open spans extend to this time (ms from the origin).
    pub now_ms: Option<f64>,
    /// Colours and the row height.
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
    /// Zoom the chart to this span (the app calls [`crate::ui::gantt::GanttView::zoom_to_span`]).
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

    /// Why the span is slow, when it is flagged slow.
    #[must_use]
    pub fn slow_reason(&self, index: usize) -> Option<SlowReason> {
        let span = self.span(index).filter(|_| self.is_slow(index))?;
        self.slow_rule.explain(span, self.events())
    }

    /// The critical path is shown and this span is off it (drawn dimmed).
    #[must_use]
    pub fn is_dimmed(&self, index: usize) -> bool {
        !self.on_path.is_empty() && !self.on_path.get(index).copied().unwrap_or(false)
    }

    /// The number of calls of the loop this span starts (0: none).
    #[must_use]
    pub fn loop_calls(&self, index: usize) -> u32 {
        self.loop_calls.get(index).copied().unwrap_or(0)
    }

    /// The span's children are hidden.
    #[must_use]
    pub fn is_collapsed(&self, index: usize) -> bool {
        self.collapsed.get(index).copied().unwrap_or(false)
    }

    /// The span has children (spans are in depth-first order, so they follow it).
    #[must_use]
    pub fn has_children(&self, index: usize) -> bool {
        self.span(index).is_some_and(|s| s.subtree_end() > index + 1)
    }

    /// Where a span's bar ends: an open span runs to `now_ms` while the session runs.
    #[must_use]
    pub fn drawn_end_ms(&self, span: &Span) -> f64 {
        span.end_ms_at(self.now_ms)
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
        span.end_event.get().and_then(|e| self.session.data.events.get(e)).map(|e| one_line(&e.kind))
    }

    /// The span's label as the file has it (see [`Span::label`]).
    #[must_use]
    pub fn label(&self, span: &Span) -> &str {
        span.label(&self.session.data.events)
    }

    /// "type label", the name a row is known by (tooltips, accessibility).
    #[must_use]
    pub fn title(&self, span: &Span) -> String {
        let kind = self.event_type(span);
        let label = self.label(span);
        if label.is_empty() { kind.into_owned() } else { format!("{kind} {}", one_line_max(label, 120)) }
    }

    /// The session's events, which spans index.
    #[must_use]
    pub fn events(&self) -> &[TraceEvent] {
        &self.session.data.events
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

/// The indent levels drawn for a depth.
pub(crate) fn indent_levels(depth: u32) -> u32 {
    depth.min(MAX_INDENT_LEVELS)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::SlowIndex;

    /// What a view test's app holds: the view, the rows it is given, the actions it returned.
    pub(crate) struct Host<V> {
        pub view: V,
        pub rows: Vec<usize>,
        pub collapsed: Vec<bool>,
        pub slow: Vec<bool>,
        pub slow_index: Option<SlowIndex>,
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
                slow_index: None,
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
                slow_rule: SlowRule { index: self.slow_index.as_ref(), threshold_ms: None },
                on_path: &[],
                loop_calls: &[],
                cuts: &crate::analysis::axis::NO_CUTS,
                now_ms: None,
                theme,
            }
        }
    }

    #[test]
    fn indent_stops_growing_past_thirty_levels() {
        assert_eq!(indent_levels(3), 3);
        assert_eq!(indent_levels(MAX_INDENT_LEVELS), MAX_INDENT_LEVELS);
        assert_eq!(indent_levels(199_999), MAX_INDENT_LEVELS);
    }
}
