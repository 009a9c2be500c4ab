//! The Compare screen's commands and its job's reply: starting a comparison, selecting and
//! folding its rows, swapping the runs, copying the Markdown.

use std::path::PathBuf;

use egui::Context;

use super::screens::compare::CompareScreen;
use super::{Screen, TraceApp};
use crate::compare_model::CompareModel;
use crate::export::compare::Compared;
use crate::format::format_count;

/// What the user can ask of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareCommand {
    /// Compare two sessions of the open file, by id: A, then B.
    Start { a: String, b: String },
    /// Compare a session of the open file (A) with one of another file (B).
    StartWith { a: String, b_path: PathBuf, b: String },
    /// List another file's sessions to compare with.
    ListOther(PathBuf),
    /// Pick that other file with the file dialog.
    BrowseOther,
    /// Select a row of the merged tree (and scroll to it).
    Select { row: usize, scroll: bool },
    /// Collapse or expand a row's children.
    Toggle(usize),
    /// Show only the rows that changed.
    OnlyChanges(bool),
    /// Compare B with A instead.
    Swap,
    /// The comparison's Markdown to the clipboard.
    Copy,
}

impl TraceApp {
    pub(super) fn run_compare(&mut self, ctx: &Context, command: CompareCommand) {
        match command {
            CompareCommand::Start { a, b } => {
                let Some(f) = &self.file else { return };
                let row = |id: &str| f.list.sessions.iter().find(|s| s.id == id).cloned();
                let (Some(ra), Some(rb)) = (row(&a), row(&b)) else {
                    self.error = Some("compare: a session is no longer in the list".to_owned());
                    return;
                };
                self.error = None;
                self.jobs.compare(
                    (f.path.clone(), std::sync::Arc::unwrap_or_clone(ra)),
                    (f.path.clone(), std::sync::Arc::unwrap_or_clone(rb)),
                    self.state.anchor,
                );
            }
            CompareCommand::StartWith { a, b_path, b } => {
                let Some(f) = &self.file else { return };
                let ra = f.list.sessions.iter().find(|s| s.id == a).cloned();
                let rb = self
                    .other_file
                    .as_ref()
                    .filter(|(p, _)| *p == b_path)
                    .and_then(|(_, l)| l.iter().find(|s| s.id == b).cloned());
                let (Some(ra), Some(rb)) = (ra, rb) else {
                    self.error = Some("compare: a session is no longer in its list".to_owned());
                    return;
                };
                self.error = None;
                self.jobs.compare(
                    (f.path.clone(), std::sync::Arc::unwrap_or_clone(ra)),
                    (b_path, std::sync::Arc::unwrap_or_clone(rb)),
                    self.state.anchor,
                );
            }
            CompareCommand::ListOther(path) => {
                self.error = None;
                self.jobs.list_other(path);
            }
            CompareCommand::BrowseOther => {
                let picked = super::command::pick_database("A trace database to compare with");
                match picked {
                    Some(path) => self.jobs.list_other(path),
                    None => {
                        self.error = Some(
                            "no file picked (without a file dialog here, type the path and press Enter)".to_owned(),
                        );
                    }
                }
            }
            CompareCommand::Swap => {
                let Some(c) = &self.compare else { return };
                let (a, b) = (&c.model.a, &c.model.b);
                let rows = (a.session.data.row.clone(), b.session.data.row.clone());
                self.jobs.compare((b.path.clone(), rows.1), (a.path.clone(), rows.0), self.state.anchor);
            }
            CompareCommand::Select { row, scroll } => {
                let Some(c) = self.compare.as_mut() else { return };
                c.model.select(row);
                if scroll {
                    c.view.scroll_to(row);
                }
                if c.model.detail.as_ref().is_none_or(|d| d.row != row) {
                    c.model.detail = None;
                    let (a, b) = c.model.detail_keys(row);
                    self.jobs.pair_detail(row, (c.model.a.path.clone(), a), (c.model.b.path.clone(), b));
                }
            }
            CompareCommand::Toggle(row) => {
                if let Some(c) = self.compare.as_mut() {
                    c.model.toggle(row);
                }
            }
            CompareCommand::OnlyChanges(on) => {
                if let Some(c) = self.compare.as_mut() {
                    c.model.only_changes = on;
                    c.model.rebuild();
                }
            }
            CompareCommand::Copy => {
                let Some(c) = &self.compare else { return };
                let m = &c.model;
                let (fa, fb) = (m.a.path.to_string_lossy(), m.b.path.to_string_lossy());
                let two_files = m.a.path != m.b.path;
                let text = Compared {
                    comparison: &m.comparison,
                    a: &m.a.session,
                    b: &m.b.session,
                    a_file: two_files.then_some(&*fa),
                    b_file: two_files.then_some(&*fb),
                }
                .markdown();
                let n = text.chars().count();
                ctx.copy_text(text);
                self.toast(ctx, format!("Copied the comparison ({} characters)", format_count(n as i64)));
            }
        }
    }

    /// A comparison arrived: show it; Back returns to the screen it was asked from.
    pub(super) fn compared(&mut self, model: CompareModel) {
        if self.screen != Screen::Compare {
            self.compare_return = self.screen;
        }
        self.compare = Some(CompareScreen::new(model));
        self.screen = Screen::Compare;
        self.progress = None;
    }
}
