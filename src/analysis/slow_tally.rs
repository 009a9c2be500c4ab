//! The file's tool-call durations kept sorted per tool, so that the slow-call index of a file
//! that grows can be counted again from memory: the same [`SlowIndex`] as
//! [`SlowIndex::from_durations`] over every call, at the cost of the new calls and the slow tails.

use arcstr::ArcStr;
use std::collections::HashMap;

use crate::analysis::quantile_sorted;
use crate::analysis::slow::SlowIndex;
use crate::analysis::tools::tool_name;
use crate::hash::IdHashBuilder;
use crate::model::ToolDuration;

/// Per tool name: (duration in ms, session index), sorted by duration.
pub type ToolCalls = HashMap<String, Vec<(f64, u32)>>;

/// Every tool call's duration and session, by tool, each tool's calls sorted by duration.
#[derive(Clone, Debug, Default)]
pub struct SlowTally {
    /// Per tool name: (duration in ms, index into `sessions`), sorted by duration (`total_cmp`).
    tools: ToolCalls,
    /// Session ids, each once.
    sessions: Vec<ArcStr>,
    /// Each session's place in `sessions`; built when first needed (a tally read from the
    /// cache may never need it).
    session_index: HashMap<ArcStr, u32, IdHashBuilder>,
}

impl PartialEq for SlowTally {
    fn eq(&self, other: &Self) -> bool {
        self.tools == other.tools && self.sessions == other.sessions
    }
}

impl SlowTally {
    /// A tally of these calls.
    #[must_use]
    pub fn new(durations: &[ToolDuration]) -> SlowTally {
        let mut tally = SlowTally::default();
        let mut by_tool: HashMap<&str, Vec<(f64, u32)>> = HashMap::new();
        for d in durations {
            let s = tally.session(&d.session_id);
            by_tool.entry(tool_name(d.tool.as_deref())).or_default().push((d.duration_ms, s));
        }
        for (tool, mut calls) in by_tool {
            calls.sort_by(|a, b| a.0.total_cmp(&b.0));
            tally.tools.insert(tool.to_owned(), calls);
        }
        tally
    }

    /// Adds calls (new in the file since the tally was made).
    pub fn add(&mut self, durations: &[ToolDuration]) {
        for d in durations {
            let s = self.session(&d.session_id);
            let calls = self.tools.entry(tool_name(d.tool.as_deref()).to_owned()).or_default();
            let at = calls.partition_point(|c| c.0.total_cmp(&d.duration_ms).is_le());
            calls.insert(at, (d.duration_ms, s));
        }
    }

    fn session(&mut self, id: &ArcStr) -> u32 {
        if self.session_index.len() != self.sessions.len() {
            self.session_index = self.sessions.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
        }
        if let Some(&i) = self.session_index.get(id) {
            return i;
        }
        let i = u32::try_from(self.sessions.len()).unwrap_or(u32::MAX);
        self.sessions.push(id.clone());
        self.session_index.insert(id.clone(), i);
        i
    }

    /// Calls counted.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.tools.values().map(Vec::len).sum()
    }

    /// The index [`SlowIndex::from_durations`] makes of the same calls: only each tool's
    /// slow tail is visited to count the slow calls of each session.
    #[must_use]
    pub fn index(&self) -> SlowIndex {
        let mut index = SlowIndex { calls: self.calls(), ..SlowIndex::default() };
        // Counted by session index first: no hashing per slow call, one map entry a session.
        let mut slow = vec![0u64; self.sessions.len()];
        for (tool, calls) in &self.tools {
            index.calls_by_tool.insert(tool.clone(), calls.len());
            let Some(p95) = quantile_sorted_pairs(calls) else { continue };
            index.p95_by_tool.insert(tool.clone(), p95);
            // Sorted: the calls above the p95 are the last ones.
            let start = calls.partition_point(|c| c.0.total_cmp(&p95).is_le());
            for &(duration_ms, s) in calls.get(start..).unwrap_or_default() {
                // A NaN is no slower than anything, as `SlowIndex::is_slow` has it.
                if duration_ms.partial_cmp(&p95) != Some(std::cmp::Ordering::Greater) {
                    continue;
                }
                if let Some(n) = slow.get_mut(s as usize) {
                    *n += 1;
                }
            }
        }
        let sessions = slow.iter().filter(|&&n| n > 0).count();
        index.slow_by_session.reserve(sessions);
        for (id, &n) in self.sessions.iter().zip(&slow) {
            if n > 0 {
                index.slow_by_session.insert(id.clone(), n);
            }
        }
        index
    }

    /// The parts, for the list cache: per tool, its calls (duration, session index); and the
    /// session ids.
    #[must_use]
    pub fn parts(&self) -> (&ToolCalls, &[ArcStr]) {
        (&self.tools, &self.sessions)
    }

    /// A tally from its parts; `None` when they do not fit together (a session index out of
    /// range, calls out of order).
    #[must_use]
    pub fn from_parts(tools: ToolCalls, sessions: Vec<ArcStr>) -> Option<SlowTally> {
        let n = sessions.len();
        let sound = tools.values().all(|calls| {
            calls.iter().all(|c| (c.1 as usize) < n) && calls.is_sorted_by(|a, b| a.0.total_cmp(&b.0).is_le())
        });
        if !sound {
            return None;
        }
        Some(SlowTally { tools, sessions, session_index: HashMap::default() })
    }
}

/// [`quantile_sorted`] over the durations of sorted pairs.
fn quantile_sorted_pairs(calls: &[(f64, u32)]) -> Option<f64> {
    if calls.is_empty() {
        return None;
    }
    // The nearest rank of quantile_sorted, without copying the durations out.
    let rank = (0.95 * calls.len() as f64).ceil() as usize;
    let p = calls.get(rank.saturating_sub(1).min(calls.len() - 1)).map(|c| c.0);
    debug_assert_eq!(p, {
        let v: Vec<f64> = calls.iter().map(|c| c.0).collect();
        quantile_sorted(&v, 0.95)
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(session: &str, tool: Option<&str>, duration_ms: f64) -> ToolDuration {
        ToolDuration { session_id: ArcStr::from(session), tool: tool.map(ArcStr::from), duration_ms }
    }

    #[test]
    fn a_tally_grown_call_by_call_indexes_as_all_calls_at_once() {
        let mut all = Vec::new();
        for i in 0..300u32 {
            let tool = match i % 3 {
                0 => Some("read_file"),
                1 => Some("browser_navigate"),
                _ => None,
            };
            all.push(call(&format!("s{}", i % 7), tool, f64::from((i * 7919) % 1000)));
        }
        all.push(call("s1", Some("read_file"), f64::NAN));
        let mut tally = SlowTally::new(&all[..100]);
        for chunk in all[100..].chunks(17) {
            tally.add(chunk);
        }
        assert_eq!(tally.index(), SlowIndex::from_durations(&all));
        assert!(!tally.index().slow_by_session.is_empty(), "the test has slow calls");
        assert_eq!(SlowTally::new(&all).index(), SlowIndex::from_durations(&all));
    }

    #[test]
    fn parts_rebuild_the_same_tally_and_bad_parts_are_refused() {
        let all = vec![call("a", Some("t"), 1.0), call("b", Some("t"), 5.0), call("a", None, 2.0)];
        let tally = SlowTally::new(&all);
        let (tools, sessions) = tally.parts();
        let again = SlowTally::from_parts(tools.clone(), sessions.to_vec());
        assert_eq!(again.as_ref(), Some(&tally));
        let mut bad = tools.clone();
        bad.insert("x".to_owned(), vec![(1.0, 99)]);
        assert_eq!(SlowTally::from_parts(bad, sessions.to_vec()), None);
        let mut unsorted = tools.clone();
        unsorted.insert("x".to_owned(), vec![(5.0, 0), (1.0, 0)]);
        assert_eq!(SlowTally::from_parts(unsorted, sessions.to_vec()), None);
    }
}
