//! What the app saves between runs: user settings, never database contents.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::analysis::Anchor;
use crate::analysis::stalls::StallParams;
use crate::ui::sessions_table::Sort;

/// Key under which [`State`] is saved in eframe storage.
pub const STATE_KEY: &str = "trace-inspector-state";
/// Recent files kept.
pub(super) const RECENT_KEPT: usize = 10;

/// Light, dark, or whatever the system says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    System,
    Dark,
    Light,
}

/// What survives a restart. Never database contents. Each setting has its only home here:
/// the views show it and change it through commands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub recent: Vec<PathBuf>,
    pub sort: Sort,
    pub theme: ThemeChoice,
    pub anchor: Anchor,
    /// A call slower than this is slow whatever its tool's p95.
    pub slow_threshold_ms: Option<f64>,
    /// The width of the chart's label column (the tree) as the user dragged it.
    pub label_width: Option<f32>,
    pub show_summary: bool,
    pub show_detail: bool,
    /// The file-wide model table beside the sessions.
    pub show_models: bool,
    /// Keep the newest events in view while the file grows.
    pub follow: bool,
    /// The size of the whole interface (Ctrl+Alt+plus / minus / 0).
    pub ui_scale: f32,
    /// How long and what share of a run nothing may run before it is a stall.
    pub stalls: StallParams,
    /// The chart cuts the stalls out of its time axis.
    pub collapse_idle: bool,
    /// Context windows the user set, by model name (lower-case); they win over the built-in
    /// table.
    pub context_windows: std::collections::BTreeMap<String, u64>,
    /// The OTLP/HTTP endpoint "Push to…" last sent to.
    pub push_endpoint: String,
    /// The push headers, only when the user ticked "Remember headers".
    pub push_headers: Option<SavedHeaders>,
}

/// Push headers kept with the settings (API keys): never shown by `Debug`, so never in a log.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SavedHeaders(pub String);

impl std::fmt::Debug for SavedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SavedHeaders({} lines, not shown)", self.0.lines().count())
    }
}

impl Default for State {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            sort: Sort::default(),
            theme: ThemeChoice::System,
            anchor: Anchor::Auto,
            slow_threshold_ms: None,
            label_width: None,
            show_summary: true,
            show_detail: true,
            show_models: true,
            follow: false,
            ui_scale: 1.0,
            stalls: StallParams::default(),
            collapse_idle: false,
            context_windows: std::collections::BTreeMap::new(),
            push_endpoint: "http://127.0.0.1:6006".to_owned(),
            push_headers: None,
        }
    }
}

impl State {
    /// What a session's diagnosis uses: the stall rule and the context windows set here.
    #[must_use]
    pub fn diagnosis_params(&self) -> crate::analysis::diagnosis::DiagnosisParams {
        let mut windows = crate::analysis::context::ContextWindows::default();
        for (model, tokens) in &self.context_windows {
            windows.set(model, *tokens);
        }
        crate::analysis::diagnosis::DiagnosisParams {
            stalls: self.stalls,
            windows,
            ..crate::analysis::diagnosis::DiagnosisParams::default()
        }
    }
    /// Puts a file first in the recent list.
    pub(super) fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT_KEPT);
    }
}

/// A panel the user can show or hide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Summary,
    Detail,
    Models,
}

impl State {
    /// Whether a panel shows.
    #[must_use]
    pub fn shows(&self, panel: Panel) -> bool {
        match panel {
            Panel::Summary => self.show_summary,
            Panel::Detail => self.show_detail,
            Panel::Models => self.show_models,
        }
    }

    pub(super) fn set_shown(&mut self, panel: Panel, shown: bool) {
        match panel {
            Panel::Summary => self.show_summary = shown,
            Panel::Detail => self.show_detail = shown,
            Panel::Models => self.show_models = shown,
        }
    }
}
