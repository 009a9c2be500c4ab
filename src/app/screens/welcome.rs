//! The welcome screen: the ways to open a file.

use std::path::Path;

use crate::app::command::Command;
use crate::ui::theme::Theme;
use crate::ui::welcome::{Welcome, WelcomeAction};

/// What the welcome screen shows besides its own widgets.
pub struct WelcomeInput<'a> {
    pub recent: &'a [std::path::PathBuf],
    pub opening: Option<&'a Path>,
    pub dialog_failed: bool,
    pub error: Option<&'a str>,
    pub theme: &'a Theme,
}

/// Draws the welcome screen.
pub fn ui(ui: &mut egui::Ui, welcome: &mut Welcome, input: &WelcomeInput<'_>) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::CentralPanel::default_margins().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            let actions = welcome.ui(ui, input.recent, input.dialog_failed, input.error, input.opening, input.theme);
            commands.extend(actions.into_iter().map(|a| match a {
                WelcomeAction::OpenDialog => Command::OpenDialog,
                WelcomeAction::OpenDemo => Command::OpenDemo,
                WelcomeAction::Open(p) => Command::Open(p),
                WelcomeAction::ForgetRecent(p) => Command::ForgetRecent(p),
            }));
        });
    });
    commands
}
