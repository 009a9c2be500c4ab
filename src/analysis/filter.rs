//! Filters over a session's spans: by event type, errors only, minimum duration, slow only.

use std::collections::BTreeSet;

use crate::analysis::slow::SlowIndex;
use crate::analysis::timeline::{Span, Timeline};
use crate::analysis::tools::tool_call;
use crate::model::TraceEvent;

/// What to keep. An empty filter keeps everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanFilter {
    /// Keep spans whose first or completing event has one of these types.
    pub kinds: BTreeSet<String>,
    pub errors_only: bool,
    pub min_duration_ms: Option<f64>,
    pub slow_only: bool,
    /// With `slow_only`: a threshold that also counts as slow.
    pub slow_threshold_ms: Option<f64>,
}

impl SpanFilter {
    /// True when the filter keeps every span.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && !self.errors_only && self.min_duration_ms.is_none() && !self.slow_only
    }

    /// Whether `span` passes.
    #[must_use]
    pub fn keeps(&self, span: &Span, events: &[TraceEvent], slow: &SlowIndex) -> bool {
        let first = events.get(span.event);
        let end = span.end_event.and_then(|e| events.get(e));
        if !self.kinds.is_empty() {
            let named = |e: Option<&TraceEvent>| e.is_some_and(|e| self.kinds.contains(&*e.kind));
            if !named(first) && !named(end) {
                return false;
            }
        }
        if self.errors_only && !span.failed {
            return false;
        }
        if let Some(min) = self.min_duration_ms
            && (span.instant || span.duration_ms() < min)
        {
            return false;
        }
        if self.slow_only && !is_slow_span(span, events, slow, self.slow_threshold_ms) {
            return false;
        }
        true
    }

    /// Indices of the spans that pass, in tree order.
    #[must_use]
    pub fn apply(&self, timeline: &Timeline, events: &[TraceEvent], slow: &SlowIndex) -> Vec<usize> {
        (0..timeline.spans.len()).filter(|&i| self.keeps(&timeline.spans[i], events, slow)).collect()
    }
}

/// A finished tool call slower than its tool's file-wide p95 (or than `threshold_ms`).
#[must_use]
pub fn is_slow_span(span: &Span, events: &[TraceEvent], slow: &SlowIndex, threshold_ms: Option<f64>) -> bool {
    let Some(tool) = tool_call(span, events) else { return false };
    if span.open || span.instant || !span.timed {
        return false;
    }
    slow.is_slow(tool, span.duration_ms(), threshold_ms)
}
