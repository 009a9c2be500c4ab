//! The open session's title line: its task, status and id, one row whatever the file holds.

use egui::{Label, RichText};

use crate::ids;
use crate::model::SessionRow;
use crate::ui::text::{line_galley, one_line, value_line};
use crate::ui::theme::Theme;

/// What the title line asks the app to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum HeaderAction {
    /// Put the whole task on the clipboard.
    CopyTask,
}

/// The status and the id each get at most this share of the row; the task the rest.
const SIDE_SHARE: f32 = 0.25;

/// Draws the task as a heading, then the status and the id, in one row: a task of megabytes
/// is cut and elided (with a copy button) instead of wrapping over the window.
pub fn ui(ui: &mut egui::Ui, row: &SessionRow, theme: &Theme) -> Option<HeaderAction> {
    ui.horizontal(|ui| {
        let total = ui.available_width();
        let spacing = ui.spacing().item_spacing.x;
        // Status and id first, so the task knows the room they leave it.
        let status =
            line_galley(ui, RichText::new(one_line(&row.status)).color(theme.status(&row.status)), total * SIDE_SHARE);
        let id = line_galley(
            ui,
            RichText::new(one_line(ids::shown(&row.id))).monospace().color(theme.muted),
            total * SIDE_SHARE,
        );
        let task_width = total - status.size().x - id.size().x - 2.0 * spacing;
        let copy = if row.task.is_empty() {
            ui.heading("(no task)");
            false
        } else {
            value_line(ui, &row.task, RichText::heading, task_width).copy
        };
        ui.add(Label::new(status));
        ui.add(Label::new(id));
        copy.then_some(HeaderAction::CopyTask)
    })
    .inner
}
