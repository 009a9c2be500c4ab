//! The critical path of a session: the chain of spans that set its wall time, and the self
//! time each contributes to it.
//!
//! The walk is the usual one of trace tools (Jaeger, Perfetto): from the session's end
//! backwards, take the child that finished last before its parent's end and walk into it; then,
//! before that child's start, the child that finished last before it, and so on. Time in a span
//! that no child on the path covers is that span's self time on the path; time no span covers
//! at all is idle. Children running beside the one on the path do not count. The walk uses an
//! explicit stack (a 200,000-deep chain must not overflow) and sorts each span's children once,
//! so it is O(n log n) and exact.
//!
//! What it cannot know it does not claim: instants and untimed spans are not on the path, a
//! session without durations has no path (and says why), open spans count to the last logged
//! time and are marked, a child that ends after its parent is cut at the parent's end.

use std::borrow::Cow;

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::analysis::timeline::{Span, SpanKind, Timeline};
use crate::analysis::tools::tool_call;
use crate::model::TraceEvent;

/// The critical path of one session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CriticalPath {
    /// The session's wall time: from its origin to its last known time (ms).
    pub wall_ms: f64,
    /// The path in time order: each piece is one span's self time on the path, or idle time
    /// (`span: None`) when no span covers it. The pieces tile `0..wall_ms`. Kept only by
    /// [`critical_path_with_segments`]: about 1.8 pieces a path span, 32 bytes each, which
    /// the views never read (34 MB for a session of a million events).
    pub segments: Vec<Segment>,
    /// Every span the path passes through, in time order (by where it joins the path; a parent
    /// before its first child), with its self time on the path; only the ranked ones in the
    /// path [`critical_path`] gives or [`CriticalPath::keep_only_ranked`] has cut (see `members`).
    pub spans: Vec<PathSpan>,
    /// Self time on the path by kind; the parts add up to `wall_ms`.
    pub by_kind: KindTimes,
    /// Why there is no path, when there is none.
    pub missing: Option<NoPath>,
    /// Spans on the path whose end was never logged (they count to the last logged time).
    pub open_spans: usize,
    /// Children ending after their parent, cut at the parent's end for the walk.
    pub clipped_children: usize,
    /// Indices in `spans` of the [`RANKED`] spans with the most self time, most first: what
    /// [`CriticalPath::top`] gives without sorting the whole path on every frame.
    #[serde(skip)]
    pub ranked: Vec<usize>,
    /// `spans` holds only the ranked spans (see [`CriticalPath::keep_only_ranked`]).
    #[serde(skip)]
    pub only_ranked: bool,
    /// Once `spans` holds only the ranked ones: the index in [`Timeline::spans`] of every span
    /// on the path, ascending (4 bytes each instead of a [`PathSpan`]'s 48).
    #[serde(skip)]
    pub members: Vec<u32>,
}

/// How many of the path's spans are ranked by self time when the path is found.
pub const RANKED: usize = 32;

/// The order of [`CriticalPath::top`]: most self time first, ties earlier first.
fn by_self_time(a: &PathSpan, b: &PathSpan) -> std::cmp::Ordering {
    b.self_ms.total_cmp(&a.self_ms).then(a.start_ms.total_cmp(&b.start_ms))
}

/// Indices of the `count` spans of `spans` with self time, in [`by_self_time`] order: a
/// selection, then a sort of what was selected.
fn rank(spans: &[PathSpan], count: usize) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..spans.len()).filter(|&i| spans[i].self_ms > 0.0).collect();
    let order = |a: &usize, b: &usize| by_self_time(&spans[*a], &spans[*b]).then(a.cmp(b));
    if ranked.len() > count && count > 0 {
        ranked.select_nth_unstable_by(count - 1, order);
    }
    ranked.truncate(count);
    ranked.sort_by(order);
    ranked
}

/// One piece of the path.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// The span whose own work this is; `None` when nothing ran.
    pub span: Option<usize>,
    pub start_ms: f64,
    pub end_ms: f64,
}

/// A span on the path.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PathSpan {
    /// Index in [`Timeline::spans`].
    pub span: usize,
    pub kind: SpanKind,
    /// The part of the span the path runs through (its times, cut to its parent's).
    pub start_ms: f64,
    pub end_ms: f64,
    /// Time on the path that is this span's own (not a child's on the path).
    pub self_ms: f64,
    /// `self_ms` over the wall time.
    pub share: f64,
    /// The span's end was never logged.
    pub open: bool,
}

/// Self time on the path by kind of work (ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KindTimes {
    pub llm_ms: f64,
    /// Tool calls, failed ones included.
    pub tool_ms: f64,
    pub step_ms: f64,
    /// The session span itself, errors that are not tool calls, other events.
    pub other_ms: f64,
    /// No span at all.
    pub idle_ms: f64,
}

/// Why a session has no critical path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoPath {
    /// No event has a readable time.
    NoTimes,
    /// Times, but no span lasts any time (instants only, or zero durations).
    NoDurations,
}

impl NoPath {
    /// The reason in words.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            NoPath::NoTimes => "no event has a readable time",
            NoPath::NoDurations => "no span has a duration (only instants)",
        }
    }
}

/// A span the walk can stand on: timed, not an instant, lasting some time.
fn lasts(s: &Span) -> bool {
    s.timed && !s.instant && s.start_ms.is_finite() && s.end_ms.is_finite() && s.end_ms > s.start_ms
}

/// The critical path of `session`, without its [`CriticalPath::segments`] and with only its
/// ranked spans (and every member's index): what the views and the Markdown summary read.
#[must_use]
pub fn critical_path(session: &AnalyzedSession) -> CriticalPath {
    critical_path_of(&session.timeline, &session.data.events, false)
}

/// The critical path of `session` with its [`CriticalPath::segments`], as the CLI reports it.
#[must_use]
pub fn critical_path_with_segments(session: &AnalyzedSession) -> CriticalPath {
    critical_path_of(&session.timeline, &session.data.events, true)
}

/// [`critical_path`] over a timeline and its events (the events only tell a failed tool call
/// from another error); `keep_segments` keeps the path's pieces.
#[must_use]
pub fn critical_path_of(timeline: &Timeline, events: &[TraceEvent], keep_segments: bool) -> CriticalPath {
    let spans = &timeline.spans;
    let wall_ms = if timeline.end_ms.is_finite() { timeline.end_ms.max(0.0) } else { 0.0 };
    let missing = if timeline.origin.is_none() || !spans.iter().any(|s| s.timed) {
        Some(NoPath::NoTimes)
    } else if wall_ms <= 0.0 || !spans.iter().any(lasts) {
        Some(NoPath::NoDurations)
    } else {
        None
    };
    if let Some(missing) = missing {
        return CriticalPath {
            wall_ms,
            missing: Some(missing),
            only_ranked: !keep_segments,
            ..CriticalPath::default()
        };
    }

    // Each lasting span's nearest lasting ancestor (spans are in depth-first order, so a
    // parent's answer is known before its children's); `n` stands for the whole session.
    let n = spans.len();
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    // 4 bytes a span: this scratch is part of a big session's peak memory.
    let mut host = vec![index(n); n];
    // The children of each host as one flat list (those of `h` are
    // `child[first_child[h]..first_child[h + 1]]`), not one small vector a span. Counted two
    // places along, so that filling moves each host's start to the next one's: no copy of the
    // starts is needed to fill from.
    let mut first_child = vec![0u32; n + 3];
    for (i, s) in spans.iter().enumerate() {
        let via_parent = match s.parent.get() {
            Some(p) if p < i => {
                if spans.get(p).is_some_and(lasts) {
                    p
                } else {
                    host[p] as usize
                }
            }
            _ => n,
        };
        host[i] = index(via_parent);
        if lasts(s) {
            first_child[via_parent + 2] += 1;
        }
    }
    for h in 0..=n + 1 {
        first_child[h + 1] += first_child[h];
    }
    let mut child = vec![0u32; first_child[n + 2] as usize];
    for (i, s) in spans.iter().enumerate() {
        if lasts(s) {
            let h = host[i] as usize;
            child[first_child[h + 1] as usize] = index(i);
            first_child[h + 1] += 1;
        }
    }
    drop(host);
    // Latest end first; on a tie the longer span, then stored order.
    for h in 0..=n {
        child[first_child[h] as usize..first_child[h + 1] as usize].sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            spans[b]
                .end_ms
                .total_cmp(&spans[a].end_ms)
                .then(spans[a].start_ms.total_cmp(&spans[b].start_ms))
                .then(a.cmp(&b))
        });
    }
    let children = |h: usize| &child[first_child[h] as usize..first_child[h + 1] as usize];

    struct Frame {
        span: usize,
        lo: f64,
        hi: f64,
        cursor: f64,
        next_child: usize,
    }
    let mut segments: Vec<Segment> = Vec::new();
    let mut self_ms = vec![0.0f64; n + 1];
    let mut by_kind = KindTimes::default();
    let mut open_spans = 0;
    // A span's part of the path is known once its frame ends: its self time is complete then.
    // The full path keeps every such span; the lean one keeps only each member's index (4
    // bytes, where the span would take 48 and its place in the walk 24) and the best ranked.
    let mut all: Vec<PathSpan> = Vec::new();
    let mut members: Vec<u32> = Vec::new();
    if !keep_segments {
        members.reserve_exact(first_child[n + 1] as usize);
    }
    // Time order: by where a span joins the path, a parent before its first child. No two
    // members share both (siblings on the path never start together).
    let time_order = |a: &PathSpan, b: &PathSpan| {
        a.start_ms.total_cmp(&b.start_ms).then(spans[a.span].depth.cmp(&spans[b.span].depth))
    };
    let rank_order = |a: &PathSpan, b: &PathSpan| by_self_time(a, b).then_with(|| time_order(a, b));
    let mut best: Vec<PathSpan> = Vec::with_capacity(RANKED + 1);
    let mut path_span = |i: usize, lo: f64, hi: f64, own: f64| {
        let s = &spans[i];
        match s.kind {
            SpanKind::Llm => by_kind.llm_ms += own,
            SpanKind::Tool => by_kind.tool_ms += own,
            SpanKind::Step => by_kind.step_ms += own,
            SpanKind::Error if tool_call(s, events).is_some() => by_kind.tool_ms += own,
            SpanKind::Session | SpanKind::Error | SpanKind::Other => by_kind.other_ms += own,
        }
        open_spans += usize::from(s.open);
        let p = PathSpan {
            span: i,
            kind: s.kind,
            start_ms: lo,
            end_ms: hi,
            self_ms: own,
            share: own / wall_ms,
            open: s.open,
        };
        if keep_segments {
            all.push(p);
            return;
        }
        members.push(index(i));
        if p.self_ms <= 0.0 || (best.len() == RANKED && best.last().is_none_or(|worst| rank_order(&p, worst).is_ge())) {
            return;
        }
        let at = best.partition_point(|b| rank_order(b, &p).is_lt());
        best.insert(at, p);
        best.truncate(RANKED);
    };
    let mut clipped_children = 0;
    let mut stack = vec![Frame { span: n, lo: 0.0, hi: wall_ms, cursor: wall_ms, next_child: 0 }];
    while let Some(frame) = stack.last_mut() {
        let list = children(frame.span);
        let mut chosen = None;
        while let Some(&c) = list.get(frame.next_child) {
            let c = c as usize;
            let end = spans[c].end_ms.min(frame.hi);
            if end <= frame.lo {
                // Every later child ends earlier still.
                frame.next_child = list.len();
                break;
            }
            frame.next_child += 1;
            // A child lying wholly outside its parent (clocks disagree) is not on the path.
            if end <= frame.cursor && spans[c].start_ms < end {
                chosen = Some((c, end));
                break;
            }
        }
        let owner = (frame.span < n).then_some(frame.span);
        match chosen {
            Some((c, end)) => {
                if spans[c].end_ms > frame.hi {
                    clipped_children += 1;
                }
                if frame.cursor > end {
                    if keep_segments {
                        segments.push(Segment { span: owner, start_ms: end, end_ms: frame.cursor });
                    }
                    self_ms[frame.span] += frame.cursor - end;
                }
                let lo = spans[c].start_ms.max(frame.lo);
                frame.cursor = lo;
                stack.push(Frame { span: c, lo, hi: end, cursor: end, next_child: 0 });
            }
            None => {
                if frame.cursor > frame.lo {
                    if keep_segments {
                        segments.push(Segment { span: owner, start_ms: frame.lo, end_ms: frame.cursor });
                    }
                    self_ms[frame.span] += frame.cursor - frame.lo;
                }
                if let Some(own) = owner.and_then(|i| self_ms.get(i)) {
                    path_span(frame.span, frame.lo, frame.hi, *own);
                }
                stack.pop();
            }
        }
    }
    segments.reverse();
    by_kind.idle_ms = self_ms[n];
    drop(self_ms);

    let mut path = CriticalPath { wall_ms, missing: None, clipped_children, ..CriticalPath::default() };
    if keep_segments {
        all.sort_by(time_order);
        // Kept for the session's life: no room left over from growing.
        segments.shrink_to_fit();
        all.shrink_to_fit();
        path.ranked = rank(&all, RANKED);
        path.spans = all;
        path.segments = segments;
    } else {
        members.sort_unstable();
        path.members = members;
        path.spans = best;
        path.ranked = (0..path.spans.len()).collect();
        path.only_ranked = true;
    }
    path.by_kind = by_kind;
    path.open_spans = open_spans;
    path
}

impl CriticalPath {
    /// The spans on the path with the most self time, most first (ties: earlier first).
    #[must_use]
    pub fn top(&self, count: usize) -> Vec<&PathSpan> {
        let ranked = if count <= self.ranked.len() || self.ranked.len() < RANKED || self.only_ranked {
            Cow::Borrowed(&self.ranked)
        } else {
            Cow::Owned(rank(&self.spans, count))
        };
        ranked.iter().take(count).filter_map(|&i| self.spans.get(i)).collect()
    }

    /// Keeps of the path's spans only the [`RANKED`] ones [`CriticalPath::top`] lists, most
    /// self time first, and of the others their index ([`CriticalPath::members`]): a session
    /// of a million events has over half a million path spans. Done once; again, it changes
    /// nothing.
    pub fn keep_only_ranked(&mut self) {
        if self.only_ranked {
            return;
        }
        let kept: Vec<PathSpan> = self.ranked.iter().filter_map(|&i| self.spans.get(i).copied()).collect();
        self.members = self.spans.iter().map(|p| u32::try_from(p.span).unwrap_or(u32::MAX)).collect();
        self.members.sort_unstable();
        self.ranked = (0..kept.len()).collect();
        self.spans = kept;
        self.only_ranked = true;
    }

    /// The index in [`Timeline::spans`] of every span on the path: in time order while the
    /// path holds all its spans, ascending once it holds only the ranked ones.
    pub fn span_indices(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        if self.only_ranked {
            Box::new(self.members.iter().map(|&i| i as usize))
        } else {
            Box::new(self.spans.iter().map(|p| p.span))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{sample_session, span};
    use crate::time::Timestamp;

    fn timeline(spans: Vec<Span>, end_ms: f64) -> Timeline {
        Timeline { origin: Some(Timestamp(0)), spans, end_ms, ..Timeline::default() }
    }

    fn path_of(t: &Timeline) -> CriticalPath {
        let with = critical_path_of(t, &[], true);
        let without = critical_path_of(t, &[], false);
        assert!(without.segments.is_empty() && without.only_ranked);
        let mut cut = CriticalPath { segments: Vec::new(), ..with.clone() };
        cut.keep_only_ranked();
        assert_eq!(cut, without, "the same path either way");
        with
    }

    #[test]
    fn the_lean_path_ranks_and_lists_as_the_full_one_cut() {
        // A root with 300 children in a row and a grandchild under every third: many ties in
        // self time, more ranked candidates than are kept, members at several depths.
        let mut spans = vec![span(SpanKind::Session, (0.0, 3000.0), 0, None, 0)];
        for i in 0..300 {
            let start = i as f64 * 10.0;
            let end = start + 1.0 + ((i * 7) % 5) as f64;
            let me = spans.len();
            spans.push(span(SpanKind::Tool, (start, end), 1, Some(0), me + 1));
            if i % 3 == 0 {
                spans.push(span(SpanKind::Llm, (start, start + 0.5), 2, Some(me), me + 2));
                spans[me].subtree_end = (me + 2) as u32;
            }
        }
        let n = spans.len();
        spans[0].subtree_end = n as u32;
        let p = path_of(&timeline(spans, 3000.0));
        assert_eq!(p.spans.len(), 401, "the root, every call and every grandchild");
        assert!(p.ranked.len() == RANKED && p.spans.len() > RANKED);
    }

    #[test]
    fn the_ranking_kept_with_the_path_is_the_full_sort() {
        // Self times with many ties and some zeros, in a scrambled order.
        let spans: Vec<PathSpan> = (0..500)
            .map(|i| PathSpan {
                span: i,
                kind: SpanKind::Tool,
                start_ms: ((i * 7919) % 500) as f64,
                end_ms: 1000.0,
                self_ms: ((i * 31) % 17) as f64,
                share: 0.0,
                open: false,
            })
            .collect();
        let ranked = rank(&spans, RANKED);
        let path = CriticalPath { spans, ranked, ..CriticalPath::default() };
        let mut naive: Vec<&PathSpan> = path.spans.iter().filter(|s| s.self_ms > 0.0).collect();
        naive.sort_by(|a, b| by_self_time(a, b));
        for count in [0, 1, 8, RANKED, RANKED + 1, 400, 600] {
            let top: Vec<usize> = path.top(count).iter().map(|s| s.span).collect();
            let want: Vec<usize> = naive.iter().take(count).map(|s| s.span).collect();
            assert_eq!(top, want, "top({count})");
        }
        let mut lean = path.clone();
        lean.keep_only_ranked();
        assert_eq!(lean.spans.len(), RANKED.min(naive.len()));
        let mut in_order: Vec<usize> = path.spans.iter().map(|p| p.span).collect();
        in_order.sort_unstable();
        assert!(lean.span_indices().eq(in_order), "every member kept, ascending");
        assert!(path.span_indices().eq(path.spans.iter().map(|p| p.span)));
        let again = {
            let mut l = lean.clone();
            l.keep_only_ranked();
            l
        };
        assert_eq!(again, lean, "a second cut changes nothing");
        for count in [0, 1, 8, RANKED, RANKED + 1, 600] {
            let top: Vec<usize> = lean.top(count).iter().map(|s| s.span).collect();
            let want: Vec<usize> = naive.iter().take(count.min(RANKED)).map(|s| s.span).collect();
            assert_eq!(top, want, "top({count}) of the ranked spans kept");
        }
    }

    fn pieces(p: &CriticalPath) -> Vec<(Option<usize>, f64, f64)> {
        p.segments.iter().map(|s| (s.span, s.start_ms, s.end_ms)).collect()
    }

    #[test]
    fn the_path_follows_the_last_child_to_finish_and_skips_parallel_ones() {
        // 0 root 0–100
        //   1 step 10–60: 2 llm 10–30, 3 tool 20–50 (parallel with 2; finishes last), 4 tool 35–45
        //   5 llm 70–90
        let spans = vec![
            span(SpanKind::Session, (0.0, 100.0), 0, None, 6),
            span(SpanKind::Step, (10.0, 60.0), 1, Some(0), 5),
            span(SpanKind::Llm, (10.0, 30.0), 2, Some(1), 3),
            span(SpanKind::Tool, (20.0, 50.0), 2, Some(1), 4),
            span(SpanKind::Tool, (35.0, 45.0), 2, Some(1), 5),
            span(SpanKind::Llm, (70.0, 90.0), 1, Some(0), 6),
        ];
        let p = path_of(&timeline(spans, 100.0));
        assert_eq!(p.missing, None);
        assert_eq!(
            pieces(&p),
            vec![
                (Some(0), 0.0, 10.0),
                (Some(1), 10.0, 20.0), // before b starts: a runs, but ends after b's start
                (Some(3), 20.0, 50.0),
                (Some(1), 50.0, 60.0),
                (Some(0), 60.0, 70.0),
                (Some(5), 70.0, 90.0),
                (Some(0), 90.0, 100.0),
            ]
        );
        let on_path: Vec<(usize, f64)> = p.spans.iter().map(|s| (s.span, s.self_ms)).collect();
        assert_eq!(on_path, vec![(0, 30.0), (1, 20.0), (3, 30.0), (5, 20.0)]);
        assert_eq!(p.spans[2].share, 0.3);
        assert_eq!(p.by_kind, KindTimes { llm_ms: 20.0, tool_ms: 30.0, step_ms: 20.0, other_ms: 30.0, idle_ms: 0.0 });
        let total: f64 = p.segments.iter().map(|s| s.end_ms - s.start_ms).sum();
        assert_eq!(total, p.wall_ms);
        assert_eq!(p.top(2).iter().map(|s| s.span).collect::<Vec<_>>(), vec![0, 3], "ties: earlier first");
    }

    #[test]
    fn sequential_children_chain_back_to_the_start() {
        // Two roots (no session span): idle before, between and after.
        let spans = vec![
            span(SpanKind::Tool, (5.0, 15.0), 0, None, 1),
            span(SpanKind::Llm, (15.0, 40.0), 0, None, 2),
            span(SpanKind::Tool, (50.0, 60.0), 0, None, 3),
        ];
        let p = path_of(&timeline(spans, 70.0));
        assert_eq!(
            pieces(&p),
            vec![
                (None, 0.0, 5.0),
                (Some(0), 5.0, 15.0),
                (Some(1), 15.0, 40.0),
                (None, 40.0, 50.0),
                (Some(2), 50.0, 60.0),
                (None, 60.0, 70.0)
            ]
        );
        assert_eq!(p.by_kind.idle_ms, 25.0);
        assert_eq!(p.by_kind.tool_ms, 20.0);
    }

    #[test]
    fn no_durations_no_path() {
        let mut instants =
            vec![span(SpanKind::Other, (0.0, 0.0), 0, None, 1), span(SpanKind::Other, (5.0, 5.0), 0, None, 2)];
        for s in &mut instants {
            s.instant = true;
        }
        let p = path_of(&timeline(instants.clone(), 5.0));
        assert_eq!((p.missing, p.segments.len(), p.spans.len()), (Some(NoPath::NoDurations), 0, 0));
        // Equal timestamps everywhere: wall time 0.
        let p = path_of(&timeline(vec![span(SpanKind::Tool, (3.0, 3.0), 0, None, 1)], 0.0));
        assert_eq!(p.missing, Some(NoPath::NoDurations));
        // Nothing timed at all.
        let mut untimed = instants;
        for s in &mut untimed {
            s.timed = false;
        }
        let p = critical_path_of(&Timeline { spans: untimed, ..Timeline::default() }, &[], true);
        assert_eq!(p.missing, Some(NoPath::NoTimes));
        assert_eq!(p.missing.map(NoPath::reason), Some("no event has a readable time"));
        assert_eq!(path_of(&Timeline::default()).missing, Some(NoPath::NoTimes));
    }

    #[test]
    fn untimed_and_instant_parents_pass_their_children_up_and_children_are_cut_to_the_parent() {
        // 0 step 0–50 ─ 1 untimed ─ 2 tool 10–70 (ends after its host: cut at 50)
        //             └ 3 instant at 5
        let mut spans = vec![
            span(SpanKind::Step, (0.0, 50.0), 0, None, 4),
            span(SpanKind::Other, (0.0, 0.0), 1, Some(0), 3),
            span(SpanKind::Tool, (10.0, 70.0), 2, Some(1), 3),
            span(SpanKind::Other, (5.0, 5.0), 1, Some(0), 4),
        ];
        spans[1].timed = false;
        spans[3].instant = true;
        spans[2].open = true;
        let p = path_of(&timeline(spans, 70.0));
        assert_eq!(pieces(&p), vec![(Some(0), 0.0, 10.0), (Some(2), 10.0, 50.0), (None, 50.0, 70.0)]);
        assert_eq!((p.clipped_children, p.open_spans), (1, 1));
        assert!(p.spans.iter().any(|s| s.span == 2 && s.open && s.end_ms == 50.0));
    }

    #[test]
    fn a_deep_chain_is_walked_without_recursion() {
        let n: usize = 200_000;
        let spans: Vec<Span> = (0..n)
            .map(|i| span(SpanKind::Step, (i as f64, (2 * n - i) as f64), i as u32, i.checked_sub(1), n))
            .collect();
        let p = path_of(&timeline(spans, (2 * n) as f64));
        assert_eq!(p.spans.len(), n);
        assert_eq!(p.by_kind.step_ms, (2 * n) as f64);
    }

    /// Cycles, orphans, equal timestamps, a clock jumping back, data that is not JSON: every
    /// diagnosis runs, claims only what the data supports, and the path tiles the wall time.
    #[test]
    fn hostile_sessions_are_diagnosed_without_panics_or_claims() {
        use crate::analysis::context::{ContextParams, ContextWindows, context_growth};
        use crate::analysis::loops::{LoopParams, find_loops};
        use crate::analysis::stalls::{StallParams, stalls};
        use crate::model::SessionRow;
        use crate::model::labels::event_info_of;

        let base = crate::time::parse_text("2026-01-01T00:00:00Z").map(|p| p.time).unwrap_or(Timestamp(0));
        let ev = |id: &str, kind: &str, t_ms: f64, dur: Option<f64>, parent: Option<&str>, data: &str| {
            let (info, warnings) = event_info_of(kind, data, None);
            let event = TraceEvent {
                id: id.into(),
                kind: kind.into(),
                time: Some(base.add_ms(t_ms)).into(),
                duration_ms: dur.into(),
                info,
                rare: crate::model::Rare::boxed(crate::model::CallUsage::default(), warnings.into()),
                ..TraceEvent::default()
            };
            crate::analysis::fixtures::Ev::new(event, parent)
        };
        let read = r#"{"tool": "read", "params": {"path": "/a"}}"#;
        let events = vec![
            // A cycle of parents.
            ev("a", "tool_result", 5000.0, Some(1000.0), Some("b"), read),
            ev("b", "tool_result", 3000.0, Some(1000.0), Some("a"), read),
            // An orphan, and a clock that jumps back before it.
            ev("c", "message", 9000.0, Some(500.0), Some("missing"), "{}"),
            ev("d", "tool_result", 500.0, Some(2000.0), None, "not json at all"),
            // Three equal calls at one and the same moment.
            ev("e", "tool_result", 7000.0, Some(0.0), None, read),
            ev("f", "tool_result", 7000.0, Some(0.0), None, read),
            ev("g", "tool_result", 7000.0, Some(0.0), None, read),
        ];
        let data = crate::analysis::fixtures::linked(SessionRow::default(), events);
        let s = crate::analysis::analyze(data, crate::analysis::Anchor::End);
        assert!(s.warnings().any(|w| w.message.contains("loops back")));
        assert!(s.warnings().any(|w| w.message.contains("not in this session")));
        assert!(s.data.events[3].notes().iter().any(|w| w.contains("not valid JSON")));

        let p = critical_path_with_segments(&s);
        assert_eq!(p.missing, None);
        let total: f64 = p.segments.iter().map(|g| g.end_ms - g.start_ms).sum();
        assert_eq!(total, p.wall_ms);
        assert!(p.segments.windows(2).all(|w| w[0].end_ms == w[1].start_ms), "{:?}", p.segments);

        let loops = find_loops(&s, &LoopParams::default());
        // e, f, g repeat b's call (a and b are a cycle cut to a root and its child); d's
        // arguments are unknown and never part of a loop.
        assert_eq!(loops.calls_without_args, 1);
        for l in &loops.loops {
            assert!(!l.calls.contains(&s.timeline.span_for_event(3).unwrap_or(usize::MAX)));
            assert!(l.waste.wall_ms.is_some_and(|w| w >= 0.0));
        }
        assert!(loops.loops.iter().any(|l| l.calls.len() >= 3), "{loops:?}");

        for st in stalls(&s, &StallParams::default()) {
            assert!(0.0 <= st.start_ms && st.start_ms < st.end_ms && st.end_ms <= s.timeline.end_ms);
        }
        let c = context_growth(&s, &ContextWindows::default(), &ContextParams::default());
        assert_eq!((c.points.len(), c.calls_without_input), (0, 1), "the message reports no tokens");
    }

    #[test]
    fn the_sample_session_has_a_known_path() {
        let s = sample_session();
        // run 0–10 s: plan 1–5 s (read_file 2–3 s), gpt call 6–9 s, instant at 9.5 s; lost untimed.
        let p = critical_path_with_segments(&s);
        assert_eq!(
            pieces(&p),
            vec![
                (Some(0), 0.0, 1000.0),
                (Some(1), 1000.0, 2000.0),
                (Some(2), 2000.0, 3000.0),
                (Some(1), 3000.0, 5000.0),
                (Some(0), 5000.0, 6000.0),
                (Some(3), 6000.0, 9000.0),
                (Some(0), 9000.0, 10_000.0)
            ]
        );
        assert_eq!(
            p.by_kind,
            KindTimes { llm_ms: 3000.0, tool_ms: 1000.0, step_ms: 3000.0, other_ms: 3000.0, idle_ms: 0.0 }
        );
    }
}
