//! The welcome screen: every way to get a file in, side by side, so the one that works on this
//! machine is always in sight (the file dialog needs a desktop portal or zenity).

use std::path::{Path, PathBuf};

use egui::RichText;

use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;

/// What the welcome screen asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum WelcomeAction {
    OpenDialog,
    OpenDemo,
    Open(PathBuf),
    ForgetRecent(PathBuf),
}

/// View state: the path being typed.
#[derive(Debug, Default)]
pub struct Welcome {
    pub path: String,
    /// What the file system said about the recent files and the default database, asked once
    /// per change of the recent list rather than every frame.
    checked: Option<Checked>,
}

#[derive(Debug)]
struct Checked {
    recent: Vec<PathBuf>,
    exists: Vec<bool>,
    default_database: Option<PathBuf>,
}

/// The trace database agents write by default, when it exists.
#[must_use]
pub fn default_database() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".skynette").join("agent_traces.db");
    p.is_file().then_some(p)
}

impl Welcome {
    /// Draws the screen. `dialog_failed` says the file dialog could not open last time;
    /// `opening` is the file being opened, `error` why the last request failed.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        recent: &[PathBuf],
        dialog_failed: bool,
        error: Option<&str>,
        opening: Option<&Path>,
        theme: &Theme,
    ) -> Vec<WelcomeAction> {
        let mut actions = Vec::new();
        if self.checked.as_ref().is_none_or(|c| c.recent != recent) {
            self.checked = Some(Checked {
                recent: recent.to_vec(),
                exists: recent.iter().map(|p| p.is_file()).collect(),
                default_database: default_database(),
            });
        }
        let checked = self.checked.as_ref();
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            ui.heading(RichText::new("trace-inspector").size(28.0));
            ui.label("See what your agent did: runs, time, tool calls, tokens, cost and failures.");
        });
        ui.add_space(16.0);
        // One line is always kept for what happens to the last request (opening, or why it
        // failed), so that nothing under the pointer moves when it appears.
        ui.horizontal(|ui| {
            ui.set_min_height(theme.row_height);
            if let Some(p) = opening {
                crate::ui::busy::spinner(ui);
                line_label(ui, format!("Opening {}…", one_line(&p.display().to_string())), f32::INFINITY);
            } else if let Some(e) = error {
                let text = RichText::new(format!("Error: {}", one_line(e))).color(theme.error);
                line_label(ui, text, f32::INFINITY).on_hover_text(one_line(e));
            }
        });
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button("Open…").on_hover_text("Choose an agent_traces.db file (Ctrl+O)").clicked() {
                actions.push(WelcomeAction::OpenDialog);
            }
            if ui.button("Open demo database").on_hover_text("Generate 40 realistic agent runs and open them").clicked()
            {
                actions.push(WelcomeAction::OpenDemo);
            }
            if let Some(p) = checked.and_then(|c| c.default_database.clone())
                && ui.button(format!("Open {}", p.display())).clicked()
            {
                actions.push(WelcomeAction::Open(p));
            }
        });
        if dialog_failed {
            ui.label(
                RichText::new(
                    "The file dialog is not available on this system (no desktop portal and no zenity). \
                     Type a path below, drop a file onto the window, pick a recent file, \
                     or start with `trace-inspector FILE`.",
                )
                .color(theme.warning),
            );
        }
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            ui.label("Path:");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.path).hint_text("/path/to/agent_traces.db").desired_width(420.0),
            );
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open path").clicked() || enter) && !self.path.trim().is_empty() {
                actions.push(WelcomeAction::Open(PathBuf::from(expand_home(self.path.trim()))));
            }
        });
        ui.label(RichText::new("…or drop a trace database anywhere on this window.").color(theme.muted));
        ui.add_space(12.0);
        ui.strong("Recent files");
        if recent.is_empty() {
            ui.label(RichText::new("none yet").color(theme.muted));
        }
        for (i, p) in recent.iter().enumerate() {
            ui.horizontal(|ui| {
                let exists = checked.and_then(|c| c.exists.get(i)).copied().unwrap_or(true);
                let text = RichText::new(p.display().to_string());
                let text = if exists { text } else { text.color(theme.muted).strikethrough() };
                if ui.add(egui::Button::new(text).frame(false)).clicked() {
                    actions.push(WelcomeAction::Open(p.clone()));
                }
                if ui.small_button("×").on_hover_text("Forget this file").clicked() {
                    actions.push(WelcomeAction::ForgetRecent(p.clone()));
                }
            });
        }
        actions
    }
}

/// `~/x` → `$HOME/x`.
#[must_use]
pub fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}
