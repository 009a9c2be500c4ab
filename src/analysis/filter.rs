//! Filters over a session's spans: by event type, errors only, minimum duration, slow only.

use std::collections::BTreeSet;

use crate::analysis::slow::{SlowIndex, explain};
use crate::analysis::timeline::{Span, Timeline};
use crate::model::TraceEvent;

/// What to keep. An empty filter keeps everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanFilter {
    /// Keep spans whose first or completing event has one of these types.
    pub kinds: BTreeSet<String>,
    pub errors_only: bool,
    pub min_duration_ms: Option<f64>,
    /// Keep slow calls only. What is slow is the slow rule's answer ([`slow_flags`]): the
    /// filter holds no threshold of its own.
    pub slow_only: bool,
}

impl SpanFilter {
    /// True when the filter keeps every span.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && !self.errors_only && self.min_duration_ms.is_none() && !self.slow_only
    }

    /// Whether `span` passes; `slow` says whether it is a slow call.
    #[must_use]
    pub fn keeps(&self, span: &Span, events: &[TraceEvent], slow: bool) -> bool {
        let first = events.get(span.event);
        let end = span.end_event.get().and_then(|e| events.get(e));
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
        !self.slow_only || slow
    }

    /// Indices of the spans that pass, in tree order; `slow` holds each span's slow flag.
    #[must_use]
    pub fn apply(&self, timeline: &Timeline, events: &[TraceEvent], slow: &[bool]) -> Vec<usize> {
        (0..timeline.spans.len())
            .filter(|&i| self.keeps(&timeline.spans[i], events, slow.get(i).copied().unwrap_or(false)))
            .collect()
    }
}

/// Each span's slow flag under one rule: the tool's file-wide p95 (`index`) and the user's
/// threshold.
#[must_use]
pub fn slow_flags(
    timeline: &Timeline,
    events: &[TraceEvent],
    index: &SlowIndex,
    threshold_ms: Option<f64>,
) -> Vec<bool> {
    timeline.spans.iter().map(|s| is_slow_span(s, events, index, threshold_ms)).collect()
}

/// A finished tool call slower than its tool's file-wide p95 (or than `threshold_ms`).
#[must_use]
pub fn is_slow_span(span: &Span, events: &[TraceEvent], slow: &SlowIndex, threshold_ms: Option<f64>) -> bool {
    // One rule: a call is slow exactly when it has a reason to show.
    explain(span, events, slow, threshold_ms).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::sample_session;

    #[test]
    fn filters_keep_by_type_error_duration_and_the_slow_flags_given() {
        let s = sample_session();
        let (t, events) = (&s.timeline, &s.data.events);
        let no_flags = vec![false; t.spans.len()];
        assert_eq!(SpanFilter::default().apply(t, events, &no_flags), [0, 1, 2, 3, 4, 5]);
        let tools = SpanFilter { kinds: ["tool_result".to_owned()].into(), ..SpanFilter::default() };
        assert_eq!(tools.apply(t, events, &no_flags), [2], "a pair counts by its completing event too");
        let errors = SpanFilter { errors_only: true, ..SpanFilter::default() };
        assert_eq!(errors.apply(t, events, &no_flags), [4]);
        let long = SpanFilter { min_duration_ms: Some(3500.0), ..SpanFilter::default() };
        assert_eq!(long.apply(t, events, &no_flags), [0, 1]);
        // "Slow only" keeps what the slow rule flagged, and nothing of its own.
        let slow_only = SpanFilter { slow_only: true, ..SpanFilter::default() };
        assert!(slow_only.apply(t, events, &no_flags).is_empty());
        let mut flags = no_flags.clone();
        flags[2] = true;
        assert_eq!(slow_only.apply(t, events, &flags), [2]);
    }

    #[test]
    fn slow_flags_follow_the_threshold() {
        let s = sample_session();
        let index = SlowIndex::default();
        let none = slow_flags(&s.timeline, &s.data.events, &index, None);
        assert!(none.iter().all(|f| !f));
        let flags = slow_flags(&s.timeline, &s.data.events, &index, Some(500.0));
        assert_eq!(flags, [false, false, true, false, false, false], "only the 1 s tool call is a slow call");
    }
}
