//! The views (egui only): each panel reads model data and returns commands for the app to
//! apply after drawing. No SQL here.

pub mod aggregates;
pub mod busy;
pub mod compare;
pub mod detail;
pub mod diagnosis;
pub mod gantt;
pub mod json_tree;
pub mod rows;
pub mod session_header;
pub mod sessions_table;
pub mod text;
pub mod theme;
pub mod welcome;

/// A session of one `tool_called` event whose spans are given as they are: big synthetic
/// timelines for the views' tests.
#[cfg(test)]
pub(crate) fn synthetic_session(spans: Vec<crate::analysis::Span>, end_ms: f64) -> crate::analysis::AnalyzedSession {
    use crate::model::{SessionData, TraceEvent};
    let events = vec![TraceEvent { kind: "tool_called".into(), ..TraceEvent::default() }];
    crate::analysis::AnalyzedSession {
        data: SessionData { events, ..SessionData::default() },
        timeline: crate::analysis::Timeline { spans, end_ms, ..crate::analysis::Timeline::default() },
        ..crate::analysis::AnalyzedSession::default()
    }
}
