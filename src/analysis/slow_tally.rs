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

/// Every tool call's duration and session, by tool, each tool's calls sorted by duration, and
/// the slow-call index of them kept current as calls are added.
#[derive(Clone, Debug, Default)]
pub struct SlowTally {
    /// Per tool name: (duration in ms, index into `sessions`), sorted by duration (`total_cmp`).
    tools: ToolCalls,
    /// Session ids, each once.
    sessions: Vec<ArcStr>,
    /// Each session's place in `sessions`; built when first needed (a tally read from the
    /// cache may never need it).
    session_index: HashMap<ArcStr, u32, IdHashBuilder>,
    /// Each session's slow calls (by its place in `sessions`) under the p95s in `index`.
    slow: Vec<u64>,
    /// The index of every call so far: what [`SlowIndex::from_durations`] makes of them.
    index: SlowIndex,
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
        tally.count_all();
        tally
    }

    /// Adds calls (new in the file since the tally was made). The cost is the new calls, the
    /// merge of each tool's new calls into its sorted ones, and the calls whose duration lies
    /// between that tool's old and new p95 (the only ones whose slowness can change), not a
    /// count of every slow call again.
    pub fn add(&mut self, durations: &[ToolDuration]) {
        let mut by_tool: HashMap<&str, Vec<(f64, u32)>> = HashMap::new();
        for d in durations {
            let s = self.session(&d.session_id);
            by_tool.entry(tool_name(d.tool.as_deref())).or_default().push((d.duration_ms, s));
        }
        self.slow.resize(self.sessions.len(), 0);
        let SlowTally { tools, sessions, slow, index, .. } = self;
        let mut counts = SlowCounts { slow, sessions, by_session: &mut index.slow_by_session };
        for (tool, mut new) in by_tool {
            new.sort_by(|a, b| a.0.total_cmp(&b.0));
            let calls = tools.entry(tool.to_owned()).or_default();
            let old_p95 = quantile_sorted_pairs(calls);
            // The new calls counted as the old calls were, under the old p95...
            for &(duration_ms, s) in &new {
                counts.bump(s, is_above(duration_ms, old_p95), false);
            }
            merge_sorted(calls, &new);
            let new_p95 = quantile_sorted_pairs(calls);
            // ...then every call moved to the new p95: only those between the two change.
            let (a, b) = (slow_start(calls, old_p95), slow_start(calls, new_p95));
            for &(duration_ms, s) in calls.get(a.min(b)..a.max(b)).unwrap_or_default() {
                counts.bump(s, is_above(duration_ms, new_p95), is_above(duration_ms, old_p95));
            }
            index.calls_by_tool.insert(tool.to_owned(), calls.len());
            if let Some(p) = new_p95 {
                index.p95_by_tool.insert(tool.to_owned(), p);
            }
        }
        index.calls += durations.len();
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
        self.index.calls
    }

    /// The index [`SlowIndex::from_durations`] makes of the same calls (kept current by
    /// [`SlowTally::add`]; this is a copy).
    #[must_use]
    pub fn index(&self) -> SlowIndex {
        self.index.clone()
    }

    /// Counts the index from the calls: only each tool's slow tail is visited.
    fn count_all(&mut self) {
        let mut index = SlowIndex { calls: self.tools.values().map(Vec::len).sum(), ..SlowIndex::default() };
        // Counted by session index first: no hashing per slow call, one map entry a session.
        let mut slow = vec![0u64; self.sessions.len()];
        for (tool, calls) in &self.tools {
            index.calls_by_tool.insert(tool.clone(), calls.len());
            let Some(p95) = quantile_sorted_pairs(calls) else { continue };
            index.p95_by_tool.insert(tool.clone(), p95);
            for &(duration_ms, s) in calls.get(slow_start(calls, Some(p95))..).unwrap_or_default() {
                // A NaN is no slower than anything, as `SlowIndex::is_slow` has it.
                if is_above(duration_ms, Some(p95))
                    && let Some(n) = slow.get_mut(s as usize)
                {
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
        self.slow = slow;
        self.index = index;
    }

    /// The parts, for the list cache: per tool, its calls (duration, session index); and the
    /// session ids.
    #[must_use]
    pub fn parts(&self) -> (&ToolCalls, &[ArcStr]) {
        (&self.tools, &self.sessions)
    }

    /// A tally from its parts; `None` when they do not fit together (a session index out of
    /// range, calls out of order, a session id twice).
    #[must_use]
    pub fn from_parts(tools: ToolCalls, sessions: Vec<ArcStr>) -> Option<SlowTally> {
        let n = sessions.len();
        let sound = tools.values().all(|calls| {
            calls.iter().all(|c| (c.1 as usize) < n) && calls.is_sorted_by(|a, b| a.0.total_cmp(&b.0).is_le())
        });
        let distinct = sessions.iter().collect::<std::collections::HashSet<_>>().len() == n;
        if !(sound && distinct) {
            return None;
        }
        let mut tally = SlowTally { tools, sessions, ..SlowTally::default() };
        tally.count_all();
        Some(tally)
    }
}

/// The slow-call counts `add` keeps, by session index and by id.
struct SlowCounts<'a> {
    slow: &'a mut [u64],
    sessions: &'a [ArcStr],
    by_session: &'a mut HashMap<ArcStr, u64, IdHashBuilder>,
}

impl SlowCounts<'_> {
    /// One call of session `s` is now slow or not (`now`) where it was counted as `was`.
    fn bump(&mut self, s: u32, now: bool, was: bool) {
        let (Some(n), Some(id)) = (self.slow.get_mut(s as usize), self.sessions.get(s as usize)) else { return };
        match (now, was) {
            (true, false) => *n += 1,
            (false, true) => *n = n.saturating_sub(1),
            _ => return,
        }
        if *n == 0 {
            self.by_session.remove(id);
        } else if let Some(v) = self.by_session.get_mut(id) {
            *v = *n;
        } else {
            self.by_session.insert(id.clone(), *n);
        }
    }
}

/// Whether a call of `duration_ms` is slow under `p95`, as [`SlowIndex::is_slow`] has it.
fn is_above(duration_ms: f64, p95: Option<f64>) -> bool {
    p95.is_some_and(|p| duration_ms > p)
}

/// Where the calls slow under `p95` start in `calls` (sorted by `total_cmp`): no call before
/// is slow, every call from there on is but a positive NaN. No p95, or a NaN one, makes no
/// call slow: the end. A call equal to the p95 (0 to a p95 of -0) is not slower.
fn slow_start(calls: &[(f64, u32)], p95: Option<f64>) -> usize {
    match p95 {
        Some(p) if !p.is_nan() => calls.partition_point(|c| c.0.total_cmp(&p).is_le() || c.0 == p),
        _ => calls.len(),
    }
}

/// Merges `new` (sorted) into `calls` (sorted) in place, each new call after the calls it
/// equals: the order inserting them one by one gives.
fn merge_sorted(calls: &mut Vec<(f64, u32)>, new: &[(f64, u32)]) {
    let mut old = calls.len();
    calls.extend_from_slice(new);
    let mut k = calls.len();
    for &n in new.iter().rev() {
        // Calls that sort after `n` move up past it.
        while old > 0 && calls.get(old - 1).is_some_and(|c| c.0.total_cmp(&n.0).is_gt()) {
            k -= 1;
            old -= 1;
            calls.swap(old, k);
        }
        k -= 1;
        if let Some(slot) = calls.get_mut(k) {
            *slot = n;
        }
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
    // Compared as bits: a NaN p95 (more than a twentieth of the durations NaN) equals itself.
    debug_assert_eq!(p.map(f64::to_bits), {
        let v: Vec<f64> = calls.iter().map(|c| c.0).collect();
        quantile_sorted(&v, 0.95).map(f64::to_bits)
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
    fn the_index_kept_while_adding_is_the_index_counted_afresh_after_every_add() {
        // Durations that tie, cross the p95 both ways, and hold the values an order can treat
        // apart: both zeros, both NaNs, infinities.
        let odd = [0.0, -0.0, f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5.0];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut rises, mut falls) = (0, 0);
        for round in 0..40 {
            let mut all = Vec::new();
            let mut tally = SlowTally::new(&[]);
            for _ in 0..30 {
                let mut chunk = Vec::new();
                for _ in 0..(next() % 9) {
                    let r = next();
                    let duration = match r % 10 {
                        0 => odd[(r / 10 % odd.len() as u64) as usize],
                        // Early rounds mostly rise, later ones mostly fall: the p95 moves both ways.
                        1..=5 if round % 2 == 0 => (all.len() as f64) + (r % 7) as f64,
                        1..=5 => 500.0 - all.len() as f64 - (r % 7) as f64,
                        _ => (r % 40) as f64,
                    };
                    let tool = ["a", "b", "c"][(r / 7 % 3) as usize];
                    chunk.push(call(&format!("s{}", r / 31 % 6), Some(tool), duration));
                }
                all.extend(chunk.iter().cloned());
                let before = tally.index().slow_by_session;
                tally.add(&chunk);
                let (kept, afresh) = (tally.index(), SlowIndex::from_durations(&all));
                for (id, n) in &kept.slow_by_session {
                    match before.get(id) {
                        Some(b) if b > n => falls += 1,
                        None => rises += 1,
                        _ => {}
                    }
                }
                falls += before.keys().filter(|id| !kept.slow_by_session.contains_key(*id)).count();
                assert_eq!(bits(&kept), bits(&afresh), "round {round}, {} calls", all.len());
            }
            let (tools, sessions) = tally.parts();
            let again = SlowTally::from_parts(tools.clone(), sessions.to_vec()).expect("sound parts");
            assert_eq!(bits(&again.index()), bits(&tally.index()));
        }
        // Sessions became slow and stopped being slow as the p95s moved.
        assert!(rises > 50 && falls > 50, "{rises} rises, {falls} falls");
    }

    /// Per name, a number, in order.
    type Sorted<T> = Vec<(String, T)>;

    /// The index with each p95 as its bits (a NaN p95 equals itself) and the maps in order.
    fn bits(index: &SlowIndex) -> (Sorted<u64>, Sorted<usize>, Sorted<u64>, usize) {
        let mut p95: Vec<_> = index.p95_by_tool.iter().map(|(t, p)| (t.clone(), p.to_bits())).collect();
        let mut calls: Vec<_> = index.calls_by_tool.iter().map(|(t, n)| (t.clone(), *n)).collect();
        let mut slow: Vec<_> = index.slow_by_session.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        p95.sort();
        calls.sort();
        slow.sort();
        (p95, calls, slow, index.calls)
    }

    #[test]
    fn merging_keeps_the_order_of_inserting_one_by_one() {
        let mut calls = vec![(1.0, 0), (2.0, 1), (2.0, 2), (5.0, 3)];
        merge_sorted(&mut calls, &[(0.0, 9), (2.0, 8), (7.0, 7)]);
        assert_eq!(calls, vec![(0.0, 9), (1.0, 0), (2.0, 1), (2.0, 2), (2.0, 8), (5.0, 3), (7.0, 7)]);
        let mut empty = Vec::new();
        merge_sorted(&mut empty, &[(3.0, 1)]);
        assert_eq!(empty, vec![(3.0, 1)]);
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
        let twice = vec![sessions[0].clone(), sessions[0].clone()];
        assert_eq!(SlowTally::from_parts(tools.clone(), twice), None);
    }
}
