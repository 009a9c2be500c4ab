//! Exports of a session: the summary as Markdown or JSON, the timeline and tree as plain text
//! or JSON. One format per file, all behind [`Export`].

pub mod compare;
pub mod json;
pub mod markdown;
pub mod text;

use crate::analysis::AnalyzedSession;

/// A way to turn a session into text for the clipboard or standard output.
pub trait Export {
    /// The exported text.
    fn export(&self, session: &AnalyzedSession) -> String;
}
