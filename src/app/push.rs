//! The "Push to…" dialog: where to send the open session (an OTLP/HTTP endpoint, remembered)
//! and with which headers (typed here, one `NAME=VALUE` a line, kept only when asked).

use egui::RichText;

use super::command::Command;

/// What the dialog holds while it is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushDialog {
    pub endpoint: String,
    /// One `NAME=VALUE` (or `NAME: VALUE`) a line.
    pub headers: String,
    /// Save the headers with the settings.
    pub remember_headers: bool,
    /// Show the header values as typed (they are masked otherwise).
    pub show_values: bool,
}

impl PushDialog {
    /// The dialog's window; returns the push to run when the user asks for it. `open` turns
    /// false when the window is closed.
    pub fn ui(&mut self, ctx: &egui::Context, open: &mut bool) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut window_open = *open;
        egui::Window::new("Push to an OpenTelemetry backend")
            .open(&mut window_open)
            .collapsible(false)
            .resizable(false)
            .default_width(460.0)
            .show(ctx, |ui| {
                ui.label("Sends the open session over OTLP/HTTP (protobuf), as `trace-inspector push` does.");
                ui.add_space(4.0);
                egui::Grid::new("push-grid").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
                    ui.label("Endpoint");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.endpoint)
                            .hint_text("http://127.0.0.1:6006")
                            .desired_width(320.0),
                    )
                    .on_hover_text("The base URL: spans go to URL/v1/traces");
                    ui.end_row();
                    ui.label("Headers");
                    ui.vertical(|ui| {
                        ui.add(
                            egui::TextEdit::multiline(&mut self.headers)
                                .hint_text("Authorization=Bearer KEY")
                                .desired_rows(2)
                                .desired_width(320.0)
                                .password(!self.show_values),
                        );
                        ui.checkbox(&mut self.show_values, "Show values");
                        ui.checkbox(&mut self.remember_headers, "Remember headers").on_hover_text(
                            "Saved with the app's settings on this computer; otherwise forgotten on exit",
                        );
                    });
                    ui.end_row();
                });
                ui.add_space(6.0);
                let ready = !self.endpoint.trim().is_empty();
                ui.horizontal(|ui| {
                    if ui.add_enabled(ready, egui::Button::new("Push")).clicked() {
                        commands.push(Command::PushTo {
                            endpoint: self.endpoint.trim().to_owned(),
                            headers: self.headers.clone(),
                            remember_headers: self.remember_headers,
                        });
                        *open = false;
                    }
                    if ui.button("Cancel").clicked() {
                        *open = false;
                    }
                    ui.label(RichText::new("Header values are never shown in messages.").weak());
                });
            });
        if !window_open {
            *open = false;
        }
        commands
    }
}
