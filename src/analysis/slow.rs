//! Which tool calls are slow: above that tool's 95th percentile across the whole file, or
//! above a threshold the user sets. [`explain`] says why one call is slow, for every place
//! that shows it (the wording is [`crate::format::format_slow_reason`]).

use arcstr::ArcStr;
use std::collections::HashMap;

use crate::analysis::quantile_sorted;
use crate::analysis::timeline::Span;
use crate::analysis::tools::{tool_call, tool_name};
use crate::hash::IdHashBuilder;
use crate::model::{ToolDuration, TraceEvent};

/// Per-tool p95 over the file, and how many slow calls each session has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowIndex {
    pub p95_by_tool: HashMap<String, f64>,
    /// Calls of each tool in the file, finished or not: what each p95 is taken over.
    pub calls_by_tool: HashMap<String, usize>,
    /// Slow calls by session id (ids shared with the tally that counted them).
    pub slow_by_session: HashMap<ArcStr, u64, IdHashBuilder>,
    /// Tool calls counted.
    pub calls: usize,
}

impl SlowIndex {
    /// Builds the index from every tool call's duration in the file.
    #[must_use]
    pub fn from_durations(durations: &[ToolDuration]) -> SlowIndex {
        let mut by_tool: HashMap<&str, Vec<f64>> = HashMap::new();
        for d in durations {
            by_tool.entry(tool_name(d.tool.as_deref())).or_default().push(d.duration_ms);
        }
        let mut p95_by_tool = HashMap::with_capacity(by_tool.len());
        let mut calls_by_tool = HashMap::with_capacity(by_tool.len());
        for (tool, mut values) in by_tool {
            values.sort_by(f64::total_cmp);
            if let Some(p) = quantile_sorted(&values, 0.95) {
                p95_by_tool.insert(tool.to_owned(), p);
            }
            calls_by_tool.insert(tool.to_owned(), values.len());
        }
        let mut index =
            SlowIndex { p95_by_tool, calls_by_tool, slow_by_session: HashMap::default(), calls: durations.len() };
        for d in durations {
            if index.is_slow(tool_name(d.tool.as_deref()), d.duration_ms, None) {
                // Look up before inserting: a session's id is copied once, not once per call.
                match index.slow_by_session.get_mut(&*d.session_id) {
                    Some(n) => *n += 1,
                    None => {
                        index.slow_by_session.insert(d.session_id.clone(), 1);
                    }
                }
            }
        }
        index
    }

    /// A call is slow when it takes longer than its tool's file-wide p95, or than
    /// `threshold_ms` when one is set.
    #[must_use]
    pub fn is_slow(&self, tool: &str, duration_ms: f64, threshold_ms: Option<f64>) -> bool {
        if threshold_ms.is_some_and(|t| duration_ms > t) {
            return true;
        }
        self.p95_by_tool.get(tool).is_some_and(|p| duration_ms > *p)
    }
}

/// What decides that a call is slow: the file-wide p95 of its tool (once counted) and the
/// user's threshold (kept in the app's saved state, its only home).
#[derive(Clone, Copy, Debug, Default)]
pub struct SlowRule<'a> {
    pub index: Option<&'a SlowIndex>,
    pub threshold_ms: Option<f64>,
}

impl SlowRule<'_> {
    /// Why `span` is slow under this rule; `None` when it is not (see [`explain`]).
    #[must_use]
    pub fn explain(&self, span: &Span, events: &[TraceEvent]) -> Option<SlowReason> {
        let empty = SlowIndex::default();
        explain(span, events, self.index.unwrap_or(&empty), self.threshold_ms)
    }

    /// Whether the rule can call anything slow: the file's p95s are counted or a threshold is set.
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.index.is_some() || self.threshold_ms.is_some()
    }
}

/// Why one call is slow.
#[derive(Clone, Debug, PartialEq)]
pub struct SlowReason {
    /// The tool's name ([`tool_name`]).
    pub tool: String,
    pub duration_ms: f64,
    pub basis: SlowBasis,
}

/// What a slow call is slower than.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlowBasis {
    /// The tool's 95th percentile over `calls` calls in the whole file.
    FileP95 { p95_ms: f64, calls: usize },
    /// The threshold the user set.
    Threshold { threshold_ms: f64 },
}

/// Why `span` is slow: a finished tool call longer than its tool's file-wide p95 or than
/// `threshold_ms`. When both hold, the p95 is the reason given (it says more about the call).
/// `None` for calls that are not slow and for spans that are not finished tool calls.
#[must_use]
pub fn explain(span: &Span, events: &[TraceEvent], index: &SlowIndex, threshold_ms: Option<f64>) -> Option<SlowReason> {
    let tool = tool_call(span, events)?;
    if span.open || span.instant || !span.timed {
        return None;
    }
    let duration_ms = span.duration_ms();
    let basis = match index.p95_by_tool.get(tool) {
        Some(&p95_ms) if duration_ms > p95_ms => {
            SlowBasis::FileP95 { p95_ms, calls: index.calls_by_tool.get(tool).copied().unwrap_or(0) }
        }
        _ => match threshold_ms {
            Some(threshold_ms) if duration_ms > threshold_ms => SlowBasis::Threshold { threshold_ms },
            _ => return None,
        },
    };
    Some(SlowReason { tool: tool.to_owned(), duration_ms, basis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(session: &str, tool: &str, ms: f64) -> ToolDuration {
        ToolDuration { session_id: session.into(), tool: Some(tool.into()), duration_ms: ms }
    }

    #[test]
    fn slow_means_above_the_tools_own_p95() {
        let mut all: Vec<ToolDuration> = (1..=100).map(|i| d("a", "search", f64::from(i))).collect();
        all.push(d("b", "search", 500.0));
        all.extend((1..=20).map(|i| d("b", "read", f64::from(i) * 1000.0)));
        let idx = SlowIndex::from_durations(&all);
        assert_eq!(idx.p95_by_tool.get("search"), Some(&96.0));
        assert_eq!(idx.p95_by_tool.get("read"), Some(&19_000.0));
        assert_eq!(idx.calls_by_tool.get("search"), Some(&101));
        assert_eq!(idx.calls_by_tool.get("read"), Some(&20));
        // search: 97..=100 in a, 500 in b; read: 20,000 in b.
        assert_eq!(idx.slow_by_session.get("a"), Some(&4));
        assert_eq!(idx.slow_by_session.get("b"), Some(&2));
        assert!(!idx.is_slow("search", 96.0, None));
        assert!(idx.is_slow("search", 50.0, Some(40.0)));
        assert!(!idx.is_slow("unknown", 1e9, None));
    }

    #[test]
    fn calls_naming_no_tool_share_the_unnamed_tools_p95() {
        let mut all: Vec<ToolDuration> =
            (1..=20).map(|i| ToolDuration { session_id: "a".into(), tool: None, duration_ms: f64::from(i) }).collect();
        all.push(d("a", "", 1000.0));
        let idx = SlowIndex::from_durations(&all);
        assert_eq!(idx.p95_by_tool.get(crate::analysis::tools::UNNAMED_TOOL), Some(&19.0));
        assert_eq!(idx.p95_by_tool.get(""), Some(&1000.0), "an empty name is its own tool");
        assert_eq!(idx.slow_by_session.get("a"), Some(&1));
    }

    /// The sample session with its tool call (span 2, 1 s) naming `browser_navigate`, and an
    /// index where that tool's p95 over 214 calls is 800 ms.
    fn navigate() -> (crate::analysis::AnalyzedSession, SlowIndex) {
        let mut s = crate::analysis::fixtures::sample_session();
        s.data.events[2].info.tool = Some("browser_navigate".into());
        let index = SlowIndex {
            p95_by_tool: HashMap::from([("browser_navigate".to_owned(), 800.0)]),
            calls_by_tool: HashMap::from([("browser_navigate".to_owned(), 214)]),
            ..SlowIndex::default()
        };
        (s, index)
    }

    #[test]
    fn a_slow_call_says_which_p95_of_how_many_calls_it_passed() {
        use crate::format::format_slow_reason;
        let (s, index) = navigate();
        let (spans, events) = (&s.timeline.spans, &s.data.events);
        let reason = explain(&spans[2], events, &index, None).expect("slow");
        assert_eq!(
            reason,
            SlowReason {
                tool: "browser_navigate".to_owned(),
                duration_ms: 1000.0,
                basis: SlowBasis::FileP95 { p95_ms: 800.0, calls: 214 }
            }
        );
        assert_eq!(
            format_slow_reason(&reason),
            "1.00 s — above browser_navigate's p95 of 800 ms across this file (214 calls)"
        );
        // Above both: the p95 is the reason given; above the threshold alone: the threshold.
        assert_eq!(explain(&spans[2], events, &index, Some(500.0)), Some(reason));
        let empty = SlowIndex::default();
        assert_eq!(
            explain(&spans[2], events, &empty, Some(500.0)).map(|r| format_slow_reason(&r)).as_deref(),
            Some("1.00 s — above the 500 ms slow threshold you set")
        );
        assert_eq!(explain(&spans[2], events, &empty, Some(1000.0)), None, "not above: not slow");
        // Only finished tool calls are slow: not the session, the step, the LLM call or an instant.
        for i in [0, 1, 3, 4, 5] {
            assert_eq!(explain(&spans[i], events, &index, Some(0.0)), None, "span {i}");
        }
        // The rule's answer is the slow flag's answer.
        let rule = SlowRule { index: Some(&index), threshold_ms: None };
        let flags = crate::analysis::filter::slow_flags(&s.timeline, events, &index, None);
        let explained: Vec<bool> = spans.iter().map(|sp| rule.explain(sp, events).is_some()).collect();
        assert_eq!(flags, explained);
        assert_eq!(flags, [false, false, true, false, false, false]);
    }
}
