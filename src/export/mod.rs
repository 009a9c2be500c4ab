//! Exports of a session: the summary as Markdown or JSON, the timeline and tree as plain text
//! or JSON, the spans as OTLP JSON or Chrome trace JSON for other tools. One format per file;
//! the text ones behind [`Export`], the streamed ones (`otlp`, `chrome`) writing to a stream;
//! `otlp_proto` the protobuf requests of `push`.

pub mod chrome;
pub mod compare;
pub mod external;
pub mod json;
pub mod markdown;
pub mod otlp;
pub mod otlp_proto;
pub mod text;

use crate::analysis::AnalyzedSession;

/// A way to turn a session into text for the clipboard or standard output.
pub trait Export {
    /// The exported text.
    fn export(&self, session: &AnalyzedSession) -> String;
}
