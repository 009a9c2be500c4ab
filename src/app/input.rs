//! Keys and drops that act on the whole app, turned into commands. A focused text field keeps
//! its keys: Esc there only leaves the field.

use std::path::PathBuf;

use egui::{Key, Modifiers};

use super::command::{COPY_SUMMARY, Command, CompareCommand, CopyWhat};
use super::screens::session::SEARCH_ID;
use super::{Screen, TraceApp};

/// How much one Ctrl+plus zooms the chart in.
const CHART_ZOOM_STEP: f64 = 1.5;

/// The keys, as the help overlay lists them.
pub const KEYS: [(&str, &str); 16] = [
    ("↑ ↓  or  j k", "previous / next row"),
    ("← →", "collapse / expand the selected node"),
    ("Enter", "open the session; in a session, zoom to the selection"),
    ("Esc", "leave a text field or close a popup; else clear a brushed range or a task's runs; else go back"),
    ("/", "search this session"),
    ("Enter / Shift+Enter in search", "next / previous hit"),
    ("Ctrl + plus / minus", "zoom the chart in / out"),
    ("+  −  (over the chart)", "zoom the chart at the pointer"),
    ("Ctrl + wheel, pinch", "zoom the chart at the pointer"),
    ("Double-click the chart", "fit the whole session"),
    ("Ctrl+Shift+C", "copy the session summary (or the comparison) as Markdown"),
    ("Ctrl+O", "open a file"),
    ("F5", "reload"),
    ("Ctrl + Alt + plus / minus / 0", "interface size"),
    ("? or F1", "this help"),
    ("Drop a file", "open it"),
];

impl TraceApp {
    pub(super) fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_owned()).collect());
        if let Some(p) = dropped.into_iter().next() {
            self.commands.push(Command::Open(p));
        }
        if ctx.input_mut(|i| i.consume_shortcut(&COPY_SUMMARY)) {
            self.commands.push(if self.screen == Screen::Compare {
                Command::Compare(CompareCommand::Copy)
            } else {
                Command::Copy(CopyWhat::SummaryMarkdown)
            });
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::O)) {
            self.commands.push(Command::OpenDialog);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F5)) {
            self.commands.push(Command::Reload);
        }
        let scale = self.state.ui_scale;
        let ui_zoom = Modifiers::COMMAND | Modifiers::ALT;
        if ctx.input_mut(|i| i.consume_key(ui_zoom, Key::Plus) || i.consume_key(ui_zoom, Key::Equals)) {
            self.commands.push(Command::SetUiScale(scale + 0.1));
        }
        if ctx.input_mut(|i| i.consume_key(ui_zoom, Key::Minus)) {
            self.commands.push(Command::SetUiScale(scale - 0.1));
        }
        if ctx.input_mut(|i| i.consume_key(ui_zoom, Key::Num0)) {
            self.commands.push(Command::SetUiScale(1.0));
        }
        // egui drops a text field's focus on Esc when the pass begins, before this runs: a field
        // focused at the end of the last frame still counts as being typed in.
        let typing = ctx.text_edit_focused() || self.typing_last_frame;
        // An open popup (a dropdown, a menu) closes on Esc by itself: the key is left to it.
        if !egui::Popup::is_any_open(ctx) && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            if typing {
                ctx.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                });
            } else if self.show_help {
                self.show_help = false;
            } else if matches!(self.screen, Screen::Trends | Screen::Sessions) && self.table.range().is_some() {
                // A brushed range goes first, then the runs of a task, then the screen.
                self.commands.push(Command::SetRange(None));
            } else if self.screen == Screen::Sessions && self.table.only().is_some() {
                self.commands.push(Command::ShowRuns(None));
            } else {
                self.commands.push(Command::Back);
            }
        }
        if typing {
            return;
        }
        if ctx.input_mut(|i| {
            i.consume_key(Modifiers::SHIFT, Key::Questionmark)
                || i.consume_key(Modifiers::NONE, Key::Questionmark)
                || i.consume_key(Modifiers::NONE, Key::F1)
        }) {
            ctx.input_mut(|i| i.events.retain(|e| !matches!(e, egui::Event::Text(t) if t == "?")));
            self.commands.push(Command::ToggleHelp);
        }
        if self.screen == Screen::Compare {
            self.compare_keys(ctx);
        }
        if self.screen != Screen::Session {
            return;
        }
        // The chart's zoom keys are the ones people try first; the interface's size has its own.
        if ctx.input_mut(|i| {
            i.consume_key(Modifiers::COMMAND, Key::Plus) || i.consume_key(Modifiers::COMMAND, Key::Equals)
        }) {
            self.commands.push(Command::ZoomChart(CHART_ZOOM_STEP));
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::Minus)) {
            self.commands.push(Command::ZoomChart(1.0 / CHART_ZOOM_STEP));
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Slash)) {
            // The same key press also arrives as the text "/": it must not land in the box.
            ctx.input_mut(|i| i.events.retain(|e| !matches!(e, egui::Event::Text(t) if t == "/")));
            ctx.memory_mut(|m| m.request_focus(egui::Id::unique(SEARCH_ID)));
        }
        let (down, up, left, right, enter) = ctx.input(|i| {
            (
                i.key_pressed(Key::ArrowDown) || i.key_pressed(Key::J),
                i.key_pressed(Key::ArrowUp) || i.key_pressed(Key::K),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Enter),
            )
        });
        let Some(view) = self.session.as_ref() else { return };
        let row = view.selected.and_then(|s| view.row_of(s));
        let target = if down {
            Some(row.map_or(0, |r| (r + 1).min(view.rows.len().saturating_sub(1))))
        } else if up {
            Some(row.map_or(0, |r| r.saturating_sub(1)))
        } else {
            None
        };
        if let Some(span) = target.and_then(|r| view.rows.get(r)) {
            self.commands.push(Command::SelectSpan { span: *span, scroll: true, zoom: false });
        }
        if let Some(sel) = view.selected {
            let collapsed = view.collapsed.get(sel).copied().unwrap_or(false);
            let has_children = view.session.timeline.spans.get(sel).is_some_and(|s| s.subtree_end() > sel + 1);
            if has_children && ((left && !collapsed) || (right && collapsed)) {
                self.commands.push(Command::ToggleCollapse(sel));
            }
            if enter {
                self.commands.push(Command::ZoomTo(sel));
            }
        }
    }

    /// Arrows on the Compare screen: up and down move the selection, left and right fold.
    fn compare_keys(&mut self, ctx: &egui::Context) {
        let Some(c) = self.compare.as_ref() else { return };
        let (down, up, left, right) = ctx.input(|i| {
            (
                i.key_pressed(Key::ArrowDown) || i.key_pressed(Key::J),
                i.key_pressed(Key::ArrowUp) || i.key_pressed(Key::K),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
            )
        });
        if (down || up)
            && let Some(row) = c.model.step(down)
        {
            self.commands.push(Command::Compare(CompareCommand::Select { row, scroll: true }));
        }
        if let Some(sel) = c.model.selected.filter(|&s| c.model.has_children(s)) {
            let collapsed = c.model.collapsed.get(sel).copied().unwrap_or(false);
            if (left && !collapsed) || (right && collapsed) {
                self.commands.push(Command::Compare(CompareCommand::Toggle(sel)));
            }
        }
    }
}
