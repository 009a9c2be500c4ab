//! What frames every screen: the top bar (navigation, copy, panels, theme), the status bar
//! (file, counts, liveness, progress), the error line and the toasts.

use std::path::Path;
use std::time::Duration;

use egui::RichText;

use super::command::{Command, CopyWhat};
use super::state::{Panel, ThemeChoice};
use super::{Screen, TraceApp};
use crate::analysis::Anchor;
use crate::format::{format_count, format_duration_ms};
use crate::jobs::ExportFormat;
use crate::ui::text::{line_label, one_line};
use crate::ui::theme::Theme;

/// How long a toast stays.
const TOAST_SECONDS: f64 = 3.0;

/// A short message that fades.
#[derive(Clone, Debug)]
pub struct Toast {
    pub text: String,
    pub until: f64,
}

/// A toggle button for a saved setting: shows the setting, asks for its change.
fn toggle(ui: &mut egui::Ui, on: bool, label: &str) -> Option<bool> {
    let mut value = on;
    ui.toggle_value(&mut value, label).changed().then_some(value)
}

impl TraceApp {
    pub(super) fn toast(&mut self, ctx: &egui::Context, text: impl Into<String>) {
        let now = ctx.input(|i| i.time);
        self.toasts.push(Toast { text: text.into(), until: now + TOAST_SECONDS });
        ctx.request_repaint_after(Duration::from_secs_f64(TOAST_SECONDS));
    }

    /// The top bar: navigation, copy and panels on the left; settings and help on the right,
    /// on the same line when they fit beside the rest and on a line of their own when not,
    /// so that nothing is drawn over anything else at any width.
    pub(super) fn top_bar(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::Panel::top("top-bar").show(ui, |ui| {
            // The settings' width, measured on a line of their own (beside the rest they may be
            // squeezed); unknown at first, when they take a line. Each screen has its own.
            let width_id = egui::Id::unique("top-bar-settings-width").with(self.screen == Screen::Session);
            let settings_width = ui.data(|d| d.get_temp::<f32>(width_id)).unwrap_or(f32::INFINITY);
            let mut beside = false;
            ui.horizontal_wrapped(|ui| {
                self.actions_ui(ui, &mut commands);
                // (In a wrapping layout `available_width` is a whole line's: ask for the rest of this one.)
                let rest = ui.available_rect_before_wrap().width();
                if rest >= settings_width + 2.0 * ui.spacing().item_spacing.x {
                    self.settings_ui(ui, &mut commands);
                    beside = true;
                }
            });
            if !beside {
                let width = ui.horizontal(|ui| self.settings_ui(ui, &mut commands)).inner;
                ui.data_mut(|d| d.insert_temp(width_id, width));
            }
        });
        commands
    }

    /// The left of the top bar: back, open, reload, and on a session copy, panels and follow.
    fn actions_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        if self.screen != Screen::Welcome && ui.button("← Back").on_hover_text("Esc").clicked() {
            commands.push(Command::Back);
        }
        if ui.button("Open…").on_hover_text("Ctrl+O").clicked() {
            commands.push(Command::OpenDialog);
        }
        ui.add_enabled_ui(self.file.is_some(), |ui| {
            if ui.button("Reload").on_hover_text("F5").clicked() {
                commands.push(Command::Reload);
            }
        });
        if self.screen == Screen::Sessions {
            ui.separator();
            let mut models = self.state.show_models;
            if ui
                .toggle_value(&mut models, "Models")
                .on_hover_text("Calls, tokens and cost per model across the whole file")
                .changed()
            {
                commands.push(Command::ShowPanel(Panel::Models, models));
            }
            if ui
                .button("Trends")
                .on_hover_text("The whole file over time: sessions, cost, tool times, tasks")
                .clicked()
            {
                commands.push(Command::Trends(None));
            }
        }
        if self.screen == Screen::Session {
            ui.separator();
            self.copy_menu(ui, commands);
            ui.separator();
            for (panel, label) in [(Panel::Summary, "Summary"), (Panel::Detail, "Detail")] {
                if let Some(on) = toggle(ui, self.state.shows(panel), label) {
                    commands.push(Command::ShowPanel(panel, on));
                }
            }
            let running = self.session.as_ref().is_some_and(|v| v.session.data.row.status == "running");
            let mut follow = self.state.follow;
            if ui
                .toggle_value(&mut follow, if running { "Follow (running)" } else { "Follow" })
                .on_hover_text("Keep the newest events in view as the file grows; selecting a trace pauses it")
                .changed()
            {
                commands.push(Command::SetFollow(follow));
            }
        }
    }

    /// The right of the top bar, drawn from the right edge: help, theme and the timestamp
    /// reading. Returns the width it took.
    fn settings_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) -> f32 {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("?").on_hover_text("Keys (? or F1)").clicked() {
                commands.push(Command::ToggleHelp);
            }
            let mut theme = self.state.theme;
            egui::ComboBox::new("theme", "Theme")
                .selected_text(match theme {
                    ThemeChoice::System => "system",
                    ThemeChoice::Dark => "dark",
                    ThemeChoice::Light => "light",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut theme, ThemeChoice::System, "System theme");
                    ui.selectable_value(&mut theme, ThemeChoice::Dark, "Dark");
                    ui.selectable_value(&mut theme, ThemeChoice::Light, "Light");
                });
            if theme != self.state.theme {
                commands.push(Command::SetTheme(theme));
            }
            if self.screen == Screen::Session {
                let mut anchor = self.state.anchor;
                // "auto" says what it chose for this session; the summary does not repeat it.
                let chosen = self.session.as_ref().map(|v| v.session.summary.anchor);
                let shown = match (anchor, chosen) {
                    (Anchor::Auto, Some(c)) => format!("auto: {c} of work"),
                    (Anchor::Auto, None) => "auto".to_owned(),
                    (Anchor::Start, _) => "start of work".to_owned(),
                    (Anchor::End, _) => "end of work".to_owned(),
                };
                egui::ComboBox::new("anchor", "Timestamps mark").selected_text(shown).show_ui(ui, |ui| {
                    ui.selectable_value(&mut anchor, Anchor::Auto, "auto (decide from the data)");
                    ui.selectable_value(&mut anchor, Anchor::Start, "start of work");
                    ui.selectable_value(&mut anchor, Anchor::End, "end of work");
                });
                if anchor != self.state.anchor {
                    commands.push(Command::SetAnchor(anchor));
                }
            }
            ui.min_rect().width()
        })
        .inner
    }

    fn copy_menu(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.menu_button("Copy", |ui| {
            let items = [
                ("Copy summary (Markdown)", CopyWhat::SummaryMarkdown),
                ("Copy as JSON", CopyWhat::SummaryJson),
                ("Copy timeline as text", CopyWhat::TimelineText),
                ("Copy tree as text", CopyWhat::TreeText),
            ];
            for (label, what) in items {
                if ui.button(label).clicked() {
                    commands.push(Command::Copy(what));
                    ui.close();
                }
            }
        });
        if ui.button("Copy summary").on_hover_text("Markdown for an issue or a chat (Ctrl+Shift+C)").clicked() {
            commands.push(Command::Copy(CopyWhat::SummaryMarkdown));
        }
        ui.menu_button("Export", |ui| {
            let items = [
                ("OTLP JSON (OpenTelemetry)…", ExportFormat::OtlpJson, "For Phoenix, Jaeger, Tempo, Langfuse"),
                ("Chrome trace JSON (Perfetto)…", ExportFormat::Chrome, "For ui.perfetto.dev and chrome://tracing"),
            ];
            for (label, format, hint) in items {
                if ui.button(label).on_hover_text(hint).clicked() {
                    commands.push(Command::Export(format));
                    ui.close();
                }
            }
            ui.separator();
            let hint = "Send the session to Phoenix, Jaeger, Tempo, Langfuse or a collector over OTLP/HTTP";
            if ui.button("Push to…").on_hover_text(hint).clicked() {
                commands.push(Command::Push);
                ui.close();
            }
        });
    }

    pub(super) fn status_bar(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let theme = &self.theme;
        let mut commands = Vec::new();
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(f) = &self.file {
                    ui.label(RichText::new(f.path.display().to_string()).monospace());
                    ui.separator();
                    ui.label(format!(
                        "{} sessions · {} traces · listed in {}",
                        format_count(f.list.sessions.len() as i64),
                        format_count(f.list.file.trace_count as i64),
                        format_duration_ms(f.load_time.as_secs_f64() * 1000.0)
                    ));
                    if !f.list.warnings.is_empty() {
                        ui.separator();
                        ui.label(
                            RichText::new(format!("{} file warnings", f.list.warnings.len())).color(theme.warning),
                        )
                        .on_hover_text(
                            f.list
                                .warnings
                                .iter()
                                .take(20)
                                .map(|w| one_line(&w.message))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        );
                    }
                    ui.separator();
                    let live = match &f.changed_at {
                        Some(t) => format!("live · changed {}", t.format("%H:%M:%S")),
                        None => "live".to_owned(),
                    };
                    ui.label(RichText::new(live).color(theme.completed))
                        .on_hover_text("The file is watched; changes appear without losing your place");
                    if let Some(v) = &self.session {
                        ui.separator();
                        ui.label(format!(
                            "session: {} events in {}",
                            format_count(v.session.data.events.len() as i64),
                            format_duration_ms(v.loaded_in.as_secs_f64() * 1000.0)
                        ));
                        let warnings = v.session.warnings().count();
                        if warnings > 0 {
                            ui.label(RichText::new(format!("{warnings} data warnings")).color(theme.warning));
                        }
                    }
                } else {
                    ui.label("No file open");
                }
                if self.jobs.is_busy() {
                    ui.separator();
                    crate::ui::busy::spinner(ui);
                    if let Some(started) = self.load_started {
                        ui.label(format!("{:.1} s", started.elapsed().as_secs_f64()));
                    }
                    if ui.small_button("Cancel").clicked() {
                        commands.push(Command::CancelLoad);
                    }
                }
                if let Some(p) = &self.progress {
                    line_label(ui, RichText::new(one_line(p)).color(theme.muted), f32::INFINITY);
                }
            });
        });
        commands
    }

    /// While a file is dragged over the window: what dropping it will do.
    pub(super) fn drop_hint_ui(&self, ctx: &egui::Context) {
        let hovered: Vec<String> = ctx.input(|i| {
            i.raw
                .hovered_files
                .iter()
                .map(|f| f.path.as_ref().map_or_else(|| f.mime.clone(), |p| p.display().to_string()))
                .collect()
        });
        let Some(first) = hovered.first() else { return };
        let screen = ctx.content_rect();
        let shade = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("drop-shade")));
        shade.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(170));
        let text = if hovered.len() > 1 {
            format!("Drop to open {} (the first of {} files)", one_line(first), hovered.len())
        } else {
            format!("Drop to open {}", one_line(first))
        };
        egui::Area::new(egui::Id::unique("drop-hint"))
            .order(egui::Order::Tooltip)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(RichText::new(text).size(20.0));
                });
            });
    }

    /// The "Push to…" dialog, while it is open.
    pub(super) fn push_ui(&mut self, ctx: &egui::Context) {
        let Some(dialog) = self.push.as_mut() else { return };
        let mut open = true;
        let commands = dialog.ui(ctx, &mut open);
        self.commands.extend(commands);
        if !open {
            self.push = None;
        }
    }

    /// The keys overlay.
    pub(super) fn help_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.show_help;
        egui::Window::new("Keys").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            egui::Grid::new("keys-grid").num_columns(2).striped(true).show(ui, |ui| {
                for (keys, what) in super::input::KEYS {
                    ui.label(RichText::new(keys).monospace());
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
        self.show_help = open;
    }

    pub(super) fn toasts_ui(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        self.toasts.retain(|t| t.until > now);
        if self.toasts.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::unique("toasts")).anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -40.0)).show(
            ctx,
            |ui| {
                for t in &self.toasts {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.label(one_line(&t.text));
                    });
                }
            },
        );
    }
}

/// The last error and the file being opened, above a screen's content.
pub(super) fn error_line(ui: &mut egui::Ui, error: Option<&str>, opening: Option<&Path>, theme: &Theme) {
    if let Some(e) = error {
        // An error may quote the file: bounded, so it wraps over a few lines at most.
        ui.label(RichText::new(format!("Error: {}", one_line(e))).color(theme.error));
    }
    if let Some(p) = opening {
        ui.horizontal(|ui| {
            crate::ui::busy::spinner(ui);
            ui.label(format!("Opening {}…", p.display()));
        });
    }
}
