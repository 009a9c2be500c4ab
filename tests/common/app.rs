//! The real app under egui_kittest, as the UI tests drive it: a harness, frames run until the
//! app's background jobs are done, the fixture's path, the text a frame put on the clipboard.
//! Each test file uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::OutputCommand;
use egui_kittest::Harness;
use trace_inspector::app::{Command, State, ThemeChoice, TraceApp};
use trace_inspector::cli::OpenArgs;

/// The fixture database: 40 sessions written by the reference writer.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

/// The app in a window of `size` with `state` saved. The harness's theme is the state's (light
/// when asked, else dark). The fixture's data holds CJK text, which the built-in fonts lack:
/// the app draws boxes for it.
pub fn harness(size: [f32; 2], state: State) -> Harness<'static, TraceApp> {
    let theme = if state.theme == ThemeChoice::Light { egui::Theme::Light } else { egui::Theme::Dark };
    let h = Harness::builder()
        .with_size(size)
        .with_theme(theme)
        .with_max_steps(10_000)
        .build_eframe(move |cc| TraceApp::with_state(&cc.egui_ctx, state.clone(), OpenArgs::default()));
    h.ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    h
}

/// Runs frames until the app's background jobs are done (they run on real threads), then
/// `after` more (panels slide open over a few frames).
pub fn settle_then(h: &mut Harness<'_, TraceApp>, after: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.step();
        if h.state().is_idle() {
            break;
        }
        assert!(Instant::now() < deadline, "background work did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(after);
}

/// [`settle_then`] with a few frames after.
pub fn settle(h: &mut Harness<'_, TraceApp>) {
    settle_then(h, 5);
}

/// The app at 1400×900 with `path` open and listed.
pub fn opened_file(path: &Path) -> Harness<'static, TraceApp> {
    let mut h = harness([1400.0, 900.0], State::default());
    h.state_mut().command(Command::Open(path.to_owned()));
    settle(&mut h);
    h
}

/// The text the last frame copied, if any.
pub fn copied_text(h: &Harness<'_, TraceApp>) -> Option<String> {
    h.output().platform_output.commands.iter().find_map(|c| match c {
        OutputCommand::CopyText(t) => Some(t.clone()),
        _ => None,
    })
}
