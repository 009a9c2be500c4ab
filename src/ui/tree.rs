//! The span tree: one row per shown span with indent, toggle, type, label, duration and
//! tokens, drawn virtualized so only the rows on screen cost anything.
//!
//! [`crate::analysis::rows::visible_rows`] flattens the tree into the row list the app passes
//! to this view and to the Gantt chart, so both draw the same rows at the same height.

use egui::text::{LayoutJob, TextFormat};
use egui::{Align2, CornerRadius, Role, ScrollArea, Sense, Ui, WidgetInfo, pos2, vec2};

use crate::format::{format_count, format_duration_ms, format_slow_reason};
use crate::ui::rows::{
    INDENT, MAX_INDENT_LEVELS, RowAction, RowsInput, TOGGLE_WIDTH, elided_job, indent_levels, kind_text_colour,
    paint_toggle, row_fonts,
};
use crate::ui::text::{one_line, one_line_max};

/// Width of the duration column.
const DURATION_WIDTH: f32 = 72.0;
/// Width of the tokens column.
const TOKENS_WIDTH: f32 = 84.0;

/// The tree view's own state; the app keeps one.
#[derive(Debug, Default)]
pub struct TreeView {
    /// A row (index into the row list) to bring into view on the next frame.
    pending_row: Option<usize>,
    /// The scroll offset and viewport height of the last frame.
    offset_y: f32,
    viewport_height: f32,
}

/// The scroll offset that brings `row` into view with one row of context, or `None` when it
/// is already fully visible.
fn offset_to_show(row: usize, row_height: f32, offset_y: f32, viewport_height: f32) -> Option<f32> {
    let top = row as f32 * row_height;
    if top < offset_y {
        Some((top - row_height).max(0.0))
    } else if top + row_height > offset_y + viewport_height {
        Some((top + 2.0 * row_height - viewport_height).max(0.0))
    } else {
        None
    }
}

impl TreeView {
    /// An empty tree view.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Scrolls this row (index into the row list) into view on the next frame.
    pub fn scroll_to_row(&mut self, row: usize) {
        self.pending_row = Some(row);
    }

    /// Draws the rows, virtualized, and returns what the user asked for.
    #[must_use]
    pub fn ui(&mut self, ui: &mut Ui, input: &RowsInput) -> Vec<RowAction> {
        let mut actions = Vec::new();
        if input.rows.is_empty() {
            ui.weak("No spans to show");
            return actions;
        }
        let row_height = input.theme.row_height.max(4.0);
        let mut area = ScrollArea::vertical().id_salt("span_tree").auto_shrink([false, false]);
        if let Some(row) = self.pending_row.take()
            && let Some(offset) = offset_to_show(row, row_height, self.offset_y, self.viewport_height)
        {
            area = area.vertical_scroll_offset(offset);
        }
        let output = ui
            .scope(|ui| {
                // Rows touch: the Gantt chart draws them at exactly `row_height` too.
                ui.spacing_mut().item_spacing.y = 0.0;
                area.show_rows(ui, row_height, input.rows.len(), |ui, range| {
                    for row in range {
                        if let Some(&index) = input.rows.get(row) {
                            row_ui(ui, input, index, row_height, &mut actions);
                        }
                    }
                })
            })
            .inner;
        self.offset_y = output.state.clamped_offset().y;
        self.viewport_height = output.inner_rect.height();
        actions
    }
}

/// One row: background, indent, toggle, type, label, markers, tokens, duration.
fn row_ui(ui: &mut Ui, input: &RowsInput, index: usize, row_height: f32, actions: &mut Vec<RowAction>) {
    let theme = input.theme;
    let width = ui.available_width().max(TOKENS_WIDTH + DURATION_WIDTH + 60.0);
    let (rect, response) = ui.allocate_exact_size(vec2(width, row_height), Sense::click());
    let Some(span) = input.span(index) else { return };
    let selected = input.selected == Some(index);
    let title = input.title(span);
    response.widget_info(|| WidgetInfo::selected(Role::TreeItem, true, selected, &title));
    if response.clicked() {
        actions.push(RowAction::Select(index));
    }
    if response.double_clicked() {
        actions.push(RowAction::ZoomTo(index));
    }
    if !ui.is_rect_visible(rect) {
        return;
    }
    if response.hovered()
        && let Some(reason) = input.slow_reason(index)
    {
        response.clone().on_hover_text(format!("Slow: {}", one_line(&format_slow_reason(&reason))));
    }

    let visuals = ui.visuals();
    let painter = ui.painter_at(rect);
    let fill = if selected {
        Some(theme.selected.gamma_multiply(0.25))
    } else if input.is_hit(index) {
        Some(theme.hit.gamma_multiply(0.16))
    } else if response.hovered() {
        Some(visuals.widgets.hovered.weak_bg_fill)
    } else {
        None
    };
    if let Some(fill) = fill {
        painter.rect_filled(rect, CornerRadius::ZERO, fill);
    }

    let (font, mono) = row_fonts(row_height);
    let small = egui::FontId::proportional(font.size * 0.9);
    let text = visuals.text_color();
    let weak = visuals.weak_text_color();
    let mid = rect.center().y;
    let mut x = rect.left() + 4.0 + indent_levels(span.depth) as f32 * INDENT;

    if input.has_children(index) {
        let collapsed = input.is_collapsed(index);
        let toggle_rect = egui::Rect::from_min_size(pos2(x, rect.top()), vec2(TOGGLE_WIDTH, row_height));
        let toggle = ui.interact(toggle_rect, response.id.with("toggle"), Sense::click());
        toggle.widget_info(|| {
            let verb = if collapsed { "Expand" } else { "Collapse" };
            WidgetInfo::labeled(Role::DisclosureTriangle, true, format!("{verb} {title}"))
        });
        if toggle.clicked() {
            actions.push(RowAction::ToggleCollapse(index));
        }
        let colour = if toggle.hovered() { text } else { weak };
        paint_toggle(&painter, toggle_rect, collapsed, colour);
    }
    x += TOGGLE_WIDTH;

    // Right-aligned columns: duration, then tokens to its left.
    let duration_right = rect.right() - 6.0;
    let (duration, duration_colour) = if !span.timed {
        ("no time".to_owned(), theme.muted)
    } else if span.instant {
        (String::new(), weak)
    } else if span.open {
        (format!("{}…", format_duration_ms(input.drawn_end_ms(span) - span.start_ms)), theme.running)
    } else {
        (format_duration_ms(span.duration_ms()), text)
    };
    painter.text(pos2(duration_right, mid), Align2::RIGHT_CENTER, duration, font.clone(), duration_colour);
    let tokens_right = duration_right - DURATION_WIDTH;
    if let Some((tokens_in, tokens_out)) = span.tokens(input.events()) {
        let tokens = format!("{} tok", format_count(tokens_in.saturating_add(tokens_out)));
        painter.text(pos2(tokens_right, mid), Align2::RIGHT_CENTER, tokens, small.clone(), weak);
    }

    // Markers just left of the columns, so the label gives way to them.
    let mut right = tokens_right - TOKENS_WIDTH;
    for (on, word, colour) in [(span.failed, "failed", theme.error), (input.is_slow(index), "slow", theme.slow)] {
        if on {
            let r = painter.text(pos2(right, mid), Align2::RIGHT_CENTER, word, small.clone(), colour);
            right = r.left() - 6.0;
        }
    }

    let mut job = LayoutJob::default();
    if span.depth > MAX_INDENT_LEVELS {
        job.append(&format!("[depth {}] ", span.depth), 0.0, TextFormat::simple(small.clone(), weak));
    }
    let kind_colour = kind_text_colour(theme, span, visuals.strong_text_color());
    job.append(&input.event_type(span), 0.0, TextFormat::simple(mono, kind_colour));
    if !span.label.is_empty() {
        job.append(&one_line_max(&span.label, 200), 6.0, TextFormat::simple(font.clone(), text));
    }
    elided_job(&mut job, right - x - 4.0);
    let galley = painter.layout_job(job);
    painter.galley(pos2(x, mid - galley.size().y / 2.0), galley, text);
}

#[cfg(test)]
mod tests {
    use egui::accesskit::Toggled;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT as _, Queryable as _};

    use super::*;
    use crate::analysis::fixtures::sample_session;
    use crate::analysis::rows::tests::span;
    use crate::analysis::{AnalyzedSession, Span};
    use crate::ui::rows::tests::Host;
    use crate::ui::theme::Theme;

    #[test]
    fn scrolling_to_a_row_moves_only_when_needed() {
        // Viewport of 10 rows of 20 pt, scrolled to row 5.
        assert_eq!(offset_to_show(7, 20.0, 100.0, 200.0), None);
        assert_eq!(offset_to_show(2, 20.0, 100.0, 200.0), Some(20.0));
        assert_eq!(offset_to_show(20, 20.0, 100.0, 200.0), Some(420.0 - 200.0 + 20.0));
        assert_eq!(offset_to_show(0, 20.0, 100.0, 200.0), Some(0.0));
    }

    fn tree_harness<'a>(
        session: &'a AnalyzedSession,
        theme: &'a Theme,
        host: Host<TreeView>,
    ) -> Harness<'a, Host<TreeView>> {
        Harness::builder().with_size(egui::vec2(600.0, 300.0)).build_ui_state(
            move |ui, host: &mut Host<TreeView>| {
                let mut view = std::mem::take(&mut host.view);
                let actions = view.ui(ui, &host.input(session, theme));
                host.view = view;
                host.actions.extend(actions);
            },
            host,
        )
    }

    #[test]
    fn clicking_a_row_selects_it_and_a_toggle_toggles() {
        let session = sample_session();
        let theme = Theme::new(false);
        let mut harness = tree_harness(&session, &theme, Host::new(TreeView::new(), 6));
        harness.run();
        harness.get_by_label("tool_called read_file").click();
        harness.run();
        assert_eq!(harness.state().actions, vec![RowAction::Select(2)]);

        harness.state_mut().actions.clear();
        harness.state_mut().selected = Some(2);
        harness.get_by_label("Collapse step_started plan").click();
        harness.run();
        assert_eq!(harness.state().actions, vec![RowAction::ToggleCollapse(1)]);
        // The selected row says so to assistive technology (egui reports "selected" as toggled).
        let state = |label: &str| harness.get_by_label(label).accesskit_node().toggled();
        assert_eq!(state("tool_called read_file"), Some(Toggled::True));
        assert_eq!(state("message gpt call"), Some(Toggled::False));
        // Leaves have no toggle; the untimed root is still a row.
        assert!(harness.query_by_label("Collapse message gpt call").is_none());
        assert!(harness.query_by_label("note lost").is_some());
    }

    #[test]
    fn scroll_to_row_brings_a_far_row_into_view() {
        let n = 1000;
        let spans =
            (0..n).map(|i| Span { event: 0, label: format!("call {i}").into(), ..span(i, 0, None, i + 1) }).collect();
        let session = crate::ui::synthetic_session(spans, n as f64 + 1.0);
        let theme = Theme::new(true);
        let mut harness = tree_harness(&session, &theme, Host::new(TreeView::new(), n));
        harness.run();
        // Virtualized: only rows on screen exist.
        assert!(harness.query_by_label("tool_called call 3").is_some());
        assert!(harness.query_by_label("tool_called call 900").is_none());
        harness.state_mut().view.scroll_to_row(900);
        harness.run();
        assert!(harness.query_by_label("tool_called call 900").is_some());
        assert!(harness.query_by_label("tool_called call 3").is_none());
        harness.get_by_label("tool_called call 900").click();
        harness.run();
        assert_eq!(harness.state().actions, vec![RowAction::Select(900)]);
    }
}
