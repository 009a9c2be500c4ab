//! The sessions screen: the sortable table of the file's sessions, and the file's models.

use std::path::Path;

use egui::RichText;

use crate::app::OpenFile;
use crate::app::chrome::error_line;
use crate::app::command::Command;
use crate::ui::aggregates::{self, AggregateAction};
use crate::ui::sessions_table::{SessionsTable, Sort, TableAction};
use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;

/// What the sessions screen shows besides its own widgets.
pub struct SessionsInput<'a> {
    pub file: Option<&'a OpenFile>,
    pub sort: Sort,
    pub show_models: bool,
    pub error: Option<&'a str>,
    pub opening: Option<&'a Path>,
    /// A session is loading: the progress line to show under the table.
    pub loading: Option<&'a str>,
    pub theme: &'a Theme,
}

/// Draws the sessions screen.
pub fn ui(ui: &mut egui::Ui, table: &mut SessionsTable, input: &SessionsInput<'_>) -> Vec<Command> {
    let mut commands = Vec::new();
    let theme = input.theme;
    if let Some(f) = input.file.filter(|_| input.show_models) {
        // At most a fair share of a narrow window: the sessions table is the screen.
        let width = ui.available_width();
        egui::Panel::right("file-models")
            .default_size((width * 0.3).clamp(220.0, 380.0))
            .max_size(width * 0.45)
            .resizable(true)
            .show(ui, |ui| {
                // A panel takes its content's width. It keeps the width it has (the default or the
                // user's) whatever it shows: not the narrow "Counting…" of a big file for good, nor
                // wider than its table, which would push the sessions table over.
                ui.set_min_width(ui.available_width());
                egui::ScrollArea::both().id_salt("file-models-scroll").show(ui, |ui| {
                    for a in aggregates::file_models_ui(ui, f.models.as_deref(), theme) {
                        match a {
                            AggregateAction::Copy { text, what } => commands.push(Command::CopyText { text, what }),
                            AggregateAction::Focus(_) => {}
                        }
                    }
                });
            });
    }
    egui::CentralPanel::default_margins().show(ui, |ui| {
        error_line(ui, input.error, input.opening, theme);
        let Some(f) = input.file else { return };
        if f.list.sessions.is_empty() {
            ui.label(RichText::new("This file has no sessions and no traces yet.").color(theme.warning));
        }
        for w in f.list.warnings.iter().take(3) {
            let text = RichText::new(format!("Warning: {}", one_line(&w.message))).color(theme.warning);
            line_label(ui, text, f32::INFINITY);
        }
        for a in table.ui(ui, &f.list.sessions, f.slow.as_ref(), input.sort, theme) {
            commands.push(match a {
                TableAction::Open(id) => Command::OpenSession(id),
                TableAction::Sort(s) => Command::SetSort(s),
            });
        }
        if let Some(progress) = input.loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(progress);
            });
        }
    });
    commands
}
