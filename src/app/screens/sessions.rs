//! The sessions screen: the sortable table of the file's sessions, and the file's models.

use std::path::Path;

use egui::RichText;

use crate::app::OpenFile;
use crate::app::chrome::error_line;
use crate::app::command::{Command, CompareCommand};
use crate::ui::aggregates::{self, AggregateAction, ModelsScope};
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
                    let (models, scope) = if table.is_filtered() {
                        let generation = table.generation();
                        let shown = f.shown_models.as_ref().filter(|(g, _)| *g == generation);
                        (shown.map(|(_, m)| m.as_slice()), ModelsScope::Shown(table.order().len()))
                    } else {
                        (f.models.as_deref(), ModelsScope::File)
                    };
                    for a in aggregates::file_models_ui(ui, models, scope, theme) {
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
        marks_ui(ui, table, &f.list.sessions, theme, &mut commands);
        for a in table.ui(ui, &f.list.sessions, f.slow.as_ref(), Some(&f.loops), input.sort, theme) {
            match a {
                TableAction::Open(id) => commands.push(Command::OpenSession(id)),
                TableAction::Sort(s) => commands.push(Command::SetSort(s)),
                TableAction::Mark(id) => table.toggle_mark(&id),
            }
        }
        if let Some(progress) = input.loading {
            ui.horizontal(|ui| {
                crate::ui::busy::spinner(ui);
                ui.label(progress);
            });
        }
    });
    commands
}

/// The sessions marked to compare (Ctrl+click), with Compare once there are two; else a hint.
fn marks_ui(
    ui: &mut egui::Ui,
    table: &mut SessionsTable,
    sessions: &[std::sync::Arc<crate::model::SessionRow>],
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    // Marks of sessions gone from the list (a reload) go too.
    table.marked.retain(|id| sessions.iter().any(|s| &s.id == id));
    ui.horizontal(|ui| {
        if table.marked.is_empty() {
            ui.label(RichText::new("Ctrl+click two sessions to compare them.").color(theme.muted));
            return;
        }
        for (letter, id) in ["A", "B"].iter().zip(&table.marked) {
            let row = sessions.iter().find(|s| &s.id == id);
            let task = row.map_or("", |s| s.task.as_str());
            let name = if task.is_empty() { crate::ids::shown(id) } else { task };
            let started = row.and_then(|s| s.started).map_or_else(String::new, |t| t.short());
            ui.label(RichText::new(*letter).strong().monospace());
            ui.label(RichText::new(started).monospace().color(theme.muted));
            line_label(ui, one_line(name).into_owned(), 240.0);
        }
        if let [a, b] = table.marked.as_slice() {
            if ui.button("Compare").clicked() {
                commands.push(Command::Compare(CompareCommand::Start { a: a.clone(), b: b.clone() }));
            }
        } else {
            ui.label(RichText::new("Ctrl+click one more.").color(theme.muted));
        }
        if ui.button("Clear").clicked() {
            table.marked.clear();
        }
    });
}
