//! Which tool calls are slow: above that tool's 95th percentile across the whole file, or
//! above a threshold the user sets.

use std::collections::HashMap;

use crate::analysis::quantile_sorted;
use crate::analysis::tools::tool_name;
use crate::model::ToolDuration;

/// Per-tool p95 over the file, and how many slow calls each session has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowIndex {
    pub p95_by_tool: HashMap<String, f64>,
    pub slow_by_session: HashMap<String, u64>,
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
        for (tool, mut values) in by_tool {
            values.sort_by(f64::total_cmp);
            if let Some(p) = quantile_sorted(&values, 0.95) {
                p95_by_tool.insert(tool.to_owned(), p);
            }
        }
        let mut index = SlowIndex { p95_by_tool, slow_by_session: HashMap::new(), calls: durations.len() };
        for d in durations {
            if index.is_slow(tool_name(d.tool.as_deref()), d.duration_ms, None) {
                // Look up before inserting: a session's id is copied once, not once per call.
                match index.slow_by_session.get_mut(&*d.session_id) {
                    Some(n) => *n += 1,
                    None => {
                        index.slow_by_session.insert(d.session_id.to_string(), 1);
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
}
