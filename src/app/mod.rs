//! The desktop app: wires the background jobs, the saved state and the screens together.
//!
//! One frame: the jobs' replies become state (`replies`), global keys become commands
//! (`input`), the chrome and the current screen draw and return commands ([`chrome`],
//! [`screens`]), and [`command`] applies them, the only place where app state changes in
//! answer to the user. The open session's model ([`crate::session_model`]) has no egui in it;
//! its screen adds the widgets' own state. All SQLite work runs in [`crate::jobs`].

pub mod chrome;
pub mod command;
mod compare;
mod input;
pub mod push;
mod replies;
pub mod screens;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::SlowIndex;
use crate::analysis::slow::SlowRule;
use crate::cli::OpenArgs;
use crate::jobs::{JobKind, Jobs};
use crate::model::{ModelUsage, SessionList};
use crate::ui::sessions_table::SessionsTable;
use crate::ui::theme::Theme;
use crate::ui::welcome::Welcome;

pub use chrome::Toast;
pub use command::{COPY_SUMMARY, Command, CopyWhat};
use screens::session::{SessionInput, SessionScreen};
use screens::sessions::SessionsInput;
use screens::welcome::WelcomeInput;
pub use state::{Panel, STATE_KEY, State, ThemeChoice};

/// Which screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Sessions,
    Session,
    /// Two runs compared.
    Compare,
    /// The whole file over time.
    Trends,
}

/// The open file and its session list.
#[derive(Debug)]
pub struct OpenFile {
    pub path: PathBuf,
    pub list: SessionList,
    pub slow: Option<SlowIndex>,
    /// The file-wide model table, once counted.
    pub models: Option<Vec<ModelUsage>>,
    /// Each session's models, read when the list is first filtered with the models shown.
    pub session_models: Option<Vec<crate::model::SessionModelUsage>>,
    /// The models of the sessions the table shows, and the table generation they were summed for.
    pub shown_models: Option<(u64, Vec<ModelUsage>)>,
    pub load_time: Duration,
    /// The sessions' loop counts, filled by a job after the list shows.
    pub loops: crate::analysis::loops::LoopCounts,
    /// Sessions whose loops are counted once the user sorts by them (a big file).
    pub loops_waiting: Vec<std::sync::Arc<crate::model::SessionRow>>,
    /// When a change on disk was last seen.
    pub changed_at: Option<chrono::DateTime<chrono::Local>>,
}

/// The app.
pub struct TraceApp {
    pub state: State,
    pub screen: Screen,
    pub file: Option<OpenFile>,
    pub session: Option<SessionScreen>,
    /// The last comparison, while its screen may be returned to.
    pub compare: Option<screens::compare::CompareScreen>,
    /// Where Back leaves the Compare screen for.
    compare_return: Screen,
    /// The open file's trends, once counted.
    pub trends: Option<screens::trends::TrendsScreen>,
    /// The bucket width asked for the trends (`None`: automatic).
    trends_by: Option<crate::analysis::trends::Bucket>,
    /// The Trends screen groups tasks with numbers and ids taken out.
    trends_normalized: bool,
    /// Another file's sessions, listed to compare a run with.
    pub other_file: Option<(PathBuf, Vec<std::sync::Arc<crate::model::SessionRow>>)>,
    pub table: SessionsTable,
    pub welcome: Welcome,
    /// The last error, one line, shown in the window until the next success.
    pub error: Option<String>,
    pub toasts: Vec<Toast>,
    /// What a running job is doing.
    pub progress: Option<String>,
    /// The file dialog could not open (no portal, no zenity).
    pub dialog_failed: bool,
    /// The file being opened (the open file stays until it succeeds).
    pub opening: Option<PathBuf>,
    /// A session to open once the list arrives (`--session`).
    pending_session: Option<String>,
    jobs: Jobs,
    commands: Vec<Command>,
    title: String,
    demo_path: PathBuf,
    load_started: Option<Instant>,
    theme: Theme,
    /// The keys overlay (`?`).
    pub show_help: bool,
    /// The "Push to…" dialog, while open.
    pub push: Option<push::PushDialog>,
    /// A text field had the keyboard at the end of the last frame.
    typing_last_frame: bool,
    /// Paint the window's background as a shape: true unless eframe clears to it (see
    /// [`backdrop`]).
    paint_backdrop: bool,
}

/// The window's background. Panels are left unfilled and eframe clears the frame to this
/// colour instead: under software rendering (llvmpipe) a quad over the whole window doubled
/// the cost of each frame, where a clear is a plain fill. A host that does not clear (a test
/// harness) has it painted as one shape beneath everything.
#[must_use]
pub fn backdrop(dark_mode: bool) -> egui::Color32 {
    if dark_mode { egui::Visuals::dark().panel_fill } else { egui::Visuals::light().panel_fill }
}

impl TraceApp {
    /// Creates the app in an eframe window (restores saved state).
    #[must_use]
    pub fn new(cc: &eframe::CreationContext<'_>, args: OpenArgs) -> Self {
        let state = cc.storage.and_then(|s| eframe::get_value(s, STATE_KEY)).unwrap_or_default();
        let mut app = Self::with_state(&cc.egui_ctx, state, args);
        // eframe clears each frame to `clear_color`.
        app.paint_backdrop = false;
        app
    }

    /// Creates the app with the given saved state (tests use this).
    #[must_use]
    pub fn with_state(ctx: &egui::Context, state: State, args: OpenArgs) -> Self {
        let wake_ctx = ctx.clone();
        let quiet_ctx = ctx.clone();
        // egui answers a repaint asked for now with two frames, one after a delay with one: a
        // file that changes every second is shown in one frame a change (under software
        // rendering a frame of the full window is tens of milliseconds of CPU).
        let jobs = Jobs::new(Arc::new(move || wake_ctx.request_repaint()))
            .with_quiet_wake(Arc::new(move || quiet_ctx.request_repaint_after(Duration::from_millis(1))));
        let mut app = Self {
            state,
            screen: Screen::Welcome,
            file: None,
            session: None,
            compare: None,
            compare_return: Screen::Sessions,
            other_file: None,
            trends: None,
            trends_by: None,
            trends_normalized: false,
            table: SessionsTable::default(),
            welcome: Welcome::default(),
            error: None,
            toasts: Vec::new(),
            progress: None,
            dialog_failed: false,
            opening: None,
            pending_session: args.session,
            jobs,
            commands: Vec::new(),
            title: String::new(),
            demo_path: std::env::temp_dir().join("trace-inspector-demo").join("agent_traces.db"),
            load_started: None,
            theme: Theme::new(true),
            show_help: false,
            push: None,
            typing_last_frame: false,
            paint_backdrop: true,
        };
        // Ctrl+plus and Ctrl+minus zoom the chart; the interface's size has its own keys.
        ctx.options_mut(|o| o.zoom_with_keyboard = false);
        ctx.set_zoom_factor(app.state.ui_scale.clamp(0.5, 3.0));
        app.apply_theme(ctx);
        setup_fonts(ctx);
        // Panels show the backdrop rather than paint their own.
        ctx.all_styles_mut(|s| s.visuals.panel_fill = egui::Color32::TRANSPARENT);
        if args.demo {
            app.commands.push(Command::OpenDemo);
        } else if let Some(file) = args.file {
            app.commands.push(Command::Open(file));
        }
        app
    }

    /// Queues a command, as a click would.
    pub fn command(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// True when no background job runs and no command waits.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.jobs.is_idle() && self.commands.is_empty()
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        // Rows are clickable as a whole; selectable text would swallow the click. The detail
        // panel turns selection back on for its own text.
        ctx.all_styles_mut(|s| s.interaction.selectable_labels = false);
        ctx.set_theme(match self.state.theme {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
            ThemeChoice::Light => egui::ThemePreference::Light,
        });
    }

    /// Starts counting the loops a big file's list left waiting, once the table sorts by them.
    fn count_loops_when_asked(&mut self) {
        if self.state.sort.column != crate::ui::sessions_table::SortColumn::Loops {
            return;
        }
        if let Some(f) = &mut self.file
            && !f.loops_waiting.is_empty()
        {
            let rows = std::mem::take(&mut f.loops_waiting);
            f.loops.on_request = false;
            self.jobs.loop_counts(f.path.clone(), rows);
        }
    }

    /// One frame: replies, input, panels, then the commands they produced.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.theme = Theme::new(ui.visuals().dark_mode);
        if self.paint_backdrop {
            ctx.layer_painter(egui::LayerId::background()).rect_filled(
                ctx.content_rect(),
                0.0,
                backdrop(ui.visuals().dark_mode),
            );
        }
        self.apply_replies(&ctx);
        self.run_commands(&ctx);
        self.count_loops_when_asked();
        self.handle_input(&ctx);
        let mut commands = self.top_bar(ui);
        commands.extend(self.status_bar(ui));
        commands.extend(self.screen_ui(ui));
        self.commands.extend(commands);
        self.help_ui(&ctx);
        self.push_ui(&ctx);
        self.toasts_ui(&ctx);
        self.drop_hint_ui(&ctx);
        self.run_commands(&ctx);
        if self.sync_shown_models() {
            ctx.request_repaint();
        }
        self.typing_last_frame = ctx.text_edit_focused();
        if self.jobs.is_busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    /// Keeps the models panel on the sessions the table shows: while a filter narrows the list
    /// and the panel is open, reads each session's models once (off the UI thread) and sums
    /// them over the shown sessions whenever the table's order is prepared anew. True when
    /// the sums changed.
    fn sync_shown_models(&mut self) -> bool {
        let Some(f) = self.file.as_mut() else { return false };
        if !self.state.show_models || !self.table.is_filtered() {
            return false;
        }
        let Some(rows) = &f.session_models else {
            if !self.jobs.is_running(JobKind::SessionModels) {
                self.jobs.session_models(f.path.clone());
            }
            return false;
        };
        let generation = self.table.generation();
        if f.shown_models.as_ref().is_some_and(|(g, _)| *g == generation) {
            return false;
        }
        let keep: std::collections::HashSet<&str> =
            self.table.order().iter().filter_map(|&i| f.list.sessions.get(i)).map(|s| s.id.as_str()).collect();
        f.shown_models = Some((generation, crate::analysis::models::usage_of(rows, &keep)));
        true
    }

    /// Draws the current screen.
    fn screen_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let (error, opening, theme) = (self.error.as_deref(), self.opening.as_deref(), &self.theme);
        match self.screen {
            Screen::Welcome => {
                let input = WelcomeInput {
                    recent: &self.state.recent,
                    opening,
                    dialog_failed: self.dialog_failed,
                    error,
                    theme,
                };
                screens::welcome::ui(ui, &mut self.welcome, &input)
            }
            Screen::Sessions => {
                let loading = self.jobs.is_running(JobKind::Session).then(|| self.progress.as_deref().unwrap_or(""));
                let input = SessionsInput {
                    file: self.file.as_ref(),
                    sort: self.state.sort,
                    show_models: self.state.show_models,
                    error,
                    opening,
                    loading,
                    theme,
                };
                screens::sessions::ui(ui, &mut self.table, &input)
            }
            Screen::Session => {
                let Some(screen) = self.session.as_mut() else { return Vec::new() };
                let input = SessionInput {
                    show_summary: self.state.show_summary,
                    show_detail: self.state.show_detail,
                    label_width: self.state.label_width,
                    sessions: self.file.as_ref().map_or(&[][..], |f| &f.list.sessions),
                    other_file: self.other_file.as_ref().map(|(p, l)| (p.as_path(), l.as_slice())),
                    slow_rule: SlowRule {
                        index: self.file.as_ref().and_then(|f| f.slow.as_ref()),
                        threshold_ms: self.state.slow_threshold_ms,
                    },
                    detail_loading: self.jobs.is_running(JobKind::Detail),
                    stall_params: self.state.stalls,
                    collapse_idle: self.state.collapse_idle,
                    context_windows: &self.state.context_windows,
                    error,
                    opening,
                    theme,
                };
                screens::session::ui(ui, screen, &input)
            }
            Screen::Compare => {
                let Some(screen) = self.compare.as_mut() else { return Vec::new() };
                screens::compare::ui(ui, screen, theme)
            }
            Screen::Trends => {
                let Some(screen) = self.trends.as_mut() else { return Vec::new() };
                let sessions = self.file.as_ref().map_or(&[][..], |f| &f.list.sessions);
                screens::trends::ui(ui, screen, self.table.range(), sessions, theme)
            }
        }
    }
}

impl eframe::App for TraceApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        backdrop(visuals.dark_mode).to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STATE_KEY, &self.state);
    }
}

/// Noto Emoji 3.006, monochrome (Google Fonts, SIL Open Font License 1.1, see
/// `assets/fonts/NotoEmoji-OFL.txt`), unmodified, 887 kB: 1,512 emoji with flags, keycaps and
/// ZWJ sequences. egui's `monochrome_emoji_fonts` bundles an older Noto Emoji without 🙂, 🤔,
/// 🤖, 🧠, 🤝 or the coloured squares and circles, and draws ✅ as a bare tick.
const NOTO_EMOJI: &[u8] = include_bytes!("../../assets/fonts/NotoEmoji-Regular.ttf");

/// The name [`NOTO_EMOJI`] has in the font definitions.
const EMOJI_FONT: &str = "NotoEmoji-3";

/// Fonts: the built-in ones, with a current emoji font in both families and the monospace
/// font's arrows and symbols as a fallback for proportional text. Trace data may hold any
/// script: what no font draws shows as a box instead of stopping the app.
pub fn setup_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    // 0.85 makes an emoji about as tall as egui's own emoji font draws them (0.81 of a taller
    // design), a little over the capitals.
    let emoji = egui::FontData::from_static(NOTO_EMOJI).tweak(egui::FontTweak { scale: 0.85, ..Default::default() });
    fonts.font_data.insert(EMOJI_FONT.to_owned(), Arc::new(emoji));
    for names in fonts.families.values_mut() {
        // Ahead of egui's older emoji fonts, which stay as fallbacks for what only they have
        // (fullwidth Latin, ☆, ⟳, 🗀, …); after the text fonts, so digits and # stay text.
        let at = names.iter().position(|name| name == "NotoEmoji-Regular").unwrap_or(names.len());
        names.insert(at, EMOJI_FONT.to_owned());
    }
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        family.push("Hack".to_owned());
    }
    ctx.set_fonts(fonts);
    ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
}

/// Starts the desktop app.
///
/// # Errors
/// When the window cannot be created (no display, no OpenGL).
pub fn run(args: OpenArgs) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).ok();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("trace-inspector")
        .with_inner_size([1400.0, 900.0])
        .with_min_inner_size([640.0, 400.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions { viewport, ..eframe::NativeOptions::default() };
    eframe::run_native("trace-inspector", options, Box::new(move |cc| Ok(Box::new(TraceApp::new(cc, args)))))
        .map_err(|e| anyhow::anyhow!("cannot start the window: {e}"))
}

#[cfg(test)]
mod tests {
    use egui::{Color32, FontFamily, FontId, RawInput};

    use super::setup_fonts;

    /// A bare context (no system fonts) with the app's fonts after one frame that drew `text`
    /// in both families.
    fn context_after_one_frame(text: &str) -> egui::Context {
        let ctx = egui::Context::default();
        // egui_kittest's default: a missing glyph panics unless setup_fonts says otherwise.
        ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Panic);
        setup_fonts(&ctx);
        let mut output = ctx.run_ui(RawInput::default(), |ui| {
            ui.label(text);
            ui.monospace(text);
        });
        output.textures_delta.clear();
        ctx
    }

    #[test]
    fn emoji_have_glyphs_in_proportional_and_monospace_text() {
        let ctx = context_after_one_frame("deploy 🚀 ✅ 🙂 ❤️ 🤖 🇩🇪");
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            let font_id = FontId::new(14.0, family);
            for emoji in ["🙂", "✅", "🚀", "❤️", "🤖", "🧠", "🟢", "🇩🇪"] {
                let found = ctx.fonts_mut(|fonts| fonts.has_glyphs(&font_id, emoji));
                assert!(found, "no glyph for {emoji} in {font_id:?}");
            }
        }
    }

    #[test]
    fn a_character_no_font_has_draws_a_box_without_panicking() {
        // Plane 16 private use: no bundled font maps it.
        let missing = "\u{10FFFD}";
        let ctx = context_after_one_frame(&format!("a{missing}b"));
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            let font_id = FontId::new(14.0, family);
            assert!(!ctx.fonts_mut(|fonts| fonts.has_glyphs(&font_id, missing)));
            let galley = ctx.fonts_mut(|fonts| fonts.layout_no_wrap(missing.to_owned(), font_id, Color32::WHITE));
            let glyphs: Vec<_> = galley.rows.iter().flat_map(|row| row.row.glyphs.iter()).collect();
            assert_eq!(glyphs.len(), 1, "one box for the one character");
            assert!(glyphs.iter().all(|glyph| glyph.advance_width > 0.0), "the box takes room");
        }
    }
}
