//! Stalls: long stretches of a session in which no work ran, each with what it came after,
//! and whether a running session has gone quiet for longer than it usually does.
//!
//! Work is every timed span that is not a container: the session span and spans with timed
//! children only hold work (a step waiting on nothing is not working); instants are work at
//! their moment. A stall is a stretch without work longer than both [`StallParams::min_ms`]
//! and [`StallParams::min_share`] of the session's wall time.

use arcstr::ArcStr;

use serde::{Deserialize, Serialize};

use crate::analysis::AnalyzedSession;
use crate::analysis::timeline::{Span, SpanKind, Timeline};
use crate::model::TraceEvent;
use crate::time::Timestamp;

/// When a stretch without work is a stall.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StallParams {
    /// Longer than this (ms) …
    pub min_ms: f64,
    /// … and than this share of the session's wall time.
    pub min_share: f64,
}

impl Default for StallParams {
    fn default() -> Self {
        Self { min_ms: 5_000.0, min_share: 0.10 }
    }
}

/// A stretch of a session without work.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stall {
    /// From the session's origin (ms).
    pub start_ms: f64,
    pub end_ms: f64,
    /// The span whose work ended last before the stall; `None` at the session's start.
    pub after: Option<usize>,
    /// That span's label and kind.
    pub after_label: Option<ArcStr>,
    pub after_kind: Option<SpanKind>,
    /// The step it ran in: the step's `step_id`, else its label.
    pub step: Option<ArcStr>,
    /// The stall runs to the session's end (nothing ran after it).
    pub at_end: bool,
}

impl Stall {
    /// Length in ms.
    #[must_use]
    pub fn duration_ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }
}

/// The stalls of a session, in time order.
#[must_use]
pub fn stalls(session: &AnalyzedSession, params: &StallParams) -> Vec<Stall> {
    stalls_of(&session.timeline, &session.data.events, params)
}

/// [`stalls`] over a timeline and its events (for step ids).
#[must_use]
pub fn stalls_of(timeline: &Timeline, events: &[TraceEvent], params: &StallParams) -> Vec<Stall> {
    let spans = &timeline.spans;
    let wall_ms = timeline.end_ms;
    if timeline.origin.is_none() || !wall_ms.is_finite() || wall_ms <= 0.0 {
        return Vec::new();
    }
    let min_gap = params.min_ms.max(params.min_share * wall_ms);
    let mut holds_work = vec![false; spans.len()];
    for s in spans.iter().filter(|s| s.timed) {
        if let Some(flag) = s.parent.get().and_then(|p| holds_work.get_mut(p)) {
            *flag = true;
        }
    }
    // Every piece of work by (start, end, index): 4 bytes each, counted first and then
    // sized once. Over half a million spans of a big session are work, and this scratch
    // adds to its peak memory.
    let is_work = |(i, s): &(usize, &Span)| {
        s.timed
            && s.kind != SpanKind::Session
            && !holds_work[*i]
            && s.start_ms.is_finite()
            && s.end_ms.max(s.start_ms).is_finite()
    };
    let bounds = |i: u32| spans.get(i as usize).map_or((0.0, 0.0), |s| (s.start_ms, s.end_ms.max(s.start_ms)));
    let mut work: Vec<u32> = Vec::with_capacity(spans.iter().enumerate().filter(is_work).count());
    work.extend(spans.iter().enumerate().filter(is_work).filter_map(|(i, _)| u32::try_from(i).ok()));
    // Spans are mostly in time order already: the stable sort finds the runs.
    work.sort_by(|&a, &b| {
        let ((sa, ea), (sb, eb)) = (bounds(a), bounds(b));
        sa.total_cmp(&sb).then(ea.total_cmp(&eb)).then(a.cmp(&b))
    });
    let describe = |start_ms: f64, end_ms: f64, after: Option<usize>, at_end: bool| {
        let after_span = after.and_then(|i| spans.get(i));
        let step = after.and_then(|i| {
            let mut chain = std::iter::once(i).chain(timeline.ancestors(i));
            let step = chain.find(|&a| spans.get(a).is_some_and(|s| s.kind == SpanKind::Step))?;
            let s = spans.get(step)?;
            let id = events.get(s.event).and_then(|e| e.info.step_id.as_deref());
            Some(id.map_or_else(|| ArcStr::clone(s.label(events)), ArcStr::from))
        });
        Stall {
            start_ms,
            end_ms,
            after,
            after_label: after_span.map(|s| ArcStr::clone(s.label(events))),
            after_kind: after_span.map(|s| s.kind),
            step,
            at_end,
        }
    };
    let mut found = Vec::new();
    let (mut busy_until, mut last) = (0.0f64, None);
    for i in work {
        let (start, end) = bounds(i);
        let i = i as usize;
        if start - busy_until > min_gap {
            found.push(describe(busy_until, start, last, false));
        }
        // Ties go to the later span: what came last before the stall.
        if end >= busy_until {
            busy_until = end;
            last = Some(i);
        }
    }
    if wall_ms - busy_until > min_gap {
        found.push(describe(busy_until, wall_ms, last, true));
    }
    found
}

/// A running session that has logged nothing for longer than it usually goes quiet.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunningStall {
    /// The time of its last event.
    #[serde(serialize_with = "rfc3339")]
    pub since: Timestamp,
    /// From the last event to now (ms).
    pub silent_ms: f64,
    /// The silence it had to exceed (ms): see [`stall_threshold_ms`].
    pub threshold_ms: f64,
    /// The p95 of its gaps between events, when it has enough of them.
    pub usual_gap_ms: Option<f64>,
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339_micros())
}

/// Gaps needed before a session's own rhythm is trusted.
pub const MIN_GAPS: usize = 5;
/// The shortest silence that counts as stalled, however busy the session usually is.
pub const STALL_FLOOR_MS: f64 = 10_000.0;
/// A silence this long is a stall whatever the session's rhythm.
pub const STALL_CEILING_MS: f64 = 5.0 * 60_000.0;

/// The p95 (nearest rank) of the gaps between a session's consecutive event times (sorted, so
/// a clock jump backwards is no negative gap); `None` with fewer than [`MIN_GAPS`] gaps.
#[must_use]
pub fn usual_gap_ms(events: &[TraceEvent]) -> Option<f64> {
    // One vector for a million events instead of three: the times (shifted to u64, which
    // keeps their order), then in place the gaps in ns, of which one is selected, not sorted.
    let mut gaps: Vec<u64> =
        events.iter().filter_map(|e| e.time.get()).map(|t| t.0.cast_unsigned() ^ (1 << 63)).collect();
    gaps.sort_unstable();
    for i in 1..gaps.len() {
        gaps[i - 1] = gaps[i] - gaps[i - 1];
    }
    gaps.pop();
    let n = gaps.len();
    if n < MIN_GAPS {
        return None;
    }
    // The nearest rank, as `quantile_sorted` takes it.
    let rank = (0.95 * n as f64).ceil() as usize;
    let (_, &mut ns, _) = gaps.select_nth_unstable(rank.saturating_sub(1).min(n - 1));
    Some(ns as f64 / 1e6)
}

/// How long a session may stay quiet before it is stalled: three times its usual gap
/// ([`usual_gap_ms`]), at least [`STALL_FLOOR_MS`], at most [`STALL_CEILING_MS`]; the ceiling
/// when the session has too few gaps to know its rhythm.
#[must_use]
pub fn stall_threshold_ms(usual_gap_ms: Option<f64>) -> f64 {
    match usual_gap_ms {
        Some(gap) if gap.is_finite() => (3.0 * gap).clamp(STALL_FLOOR_MS, STALL_CEILING_MS),
        _ => STALL_CEILING_MS,
    }
}

/// Whether a session whose events are `events` has been silent too long at `now`: its last
/// event is older than [`stall_threshold_ms`]. The caller asks only for running sessions.
/// `None` without event times, or when the last event is not yet that old (or in the future).
#[must_use]
pub fn running_stall(events: &[TraceEvent], now: Timestamp) -> Option<RunningStall> {
    let since = events.iter().filter_map(|e| e.time.get()).max()?;
    stall_at(since, usual_gap_ms(events), now)
}

/// [`running_stall`] from the last event's time and the usual gap, worked out once per load:
/// O(1), for a view that asks again every second.
#[must_use]
pub fn stall_at(last_event: Timestamp, usual_gap_ms: Option<f64>, now: Timestamp) -> Option<RunningStall> {
    let threshold_ms = stall_threshold_ms(usual_gap_ms);
    let silent_ms = now.ms_since(last_event);
    (silent_ms > threshold_ms).then_some(RunningStall { since: last_event, silent_ms, threshold_ms, usual_gap_ms })
}

/// [`running_stall`] for a session whose status is `running`; `None` for any other.
#[must_use]
pub fn session_stall(session: &AnalyzedSession, now: Timestamp) -> Option<RunningStall> {
    if session.data.row.status != "running" {
        return None;
    }
    running_stall(&session.data.events, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{sample_session, span};
    use crate::model::EventInfo;

    #[test]
    fn the_usual_gap_is_the_p95_of_every_sorted_gap() {
        let at = |ns: i64| TraceEvent { time: Some(Timestamp(ns)).into(), ..TraceEvent::default() };
        // The plain way: every gap in ms, sorted, its nearest-rank p95.
        let naive = |times: &[i64]| {
            let mut t: Vec<Timestamp> = times.iter().map(|&n| Timestamp(n)).collect();
            t.sort_unstable();
            let mut gaps: Vec<f64> = t.windows(2).map(|w| w[1].ms_since(w[0])).collect();
            gaps.sort_by(f64::total_cmp);
            if gaps.len() < MIN_GAPS { None } else { crate::analysis::quantile_sorted(&gaps, 0.95) }
        };
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut cases: Vec<Vec<i64>> = vec![
            vec![],
            vec![5; 4],
            vec![0, 1, 2, 3, 4, 5],
            vec![-9_000_000_000_000_000_000, 9_000_000_000_000_000_000, 0, 1, 2, 3, 4],
            vec![i64::MIN + 1, i64::MAX, 0, 10, 20, 30],
        ];
        for len in [6, 7, 19, 20, 21, 100, 1000] {
            // Out of order, with repeats and jumps backwards.
            cases.push((0..len).map(|_| (next() % 5_000) as i64 * 1_000_000 - 2_000_000_000).collect());
        }
        for times in cases {
            let mut events: Vec<TraceEvent> = times.iter().map(|&n| at(n)).collect();
            events.push(TraceEvent::default());
            assert_eq!(usual_gap_ms(&events), naive(&times), "{times:?}");
        }
    }

    fn timeline(spans: Vec<crate::analysis::Span>, end_ms: f64) -> Timeline {
        Timeline { origin: Some(Timestamp(0)), spans, end_ms, ..Timeline::default() }
    }

    #[test]
    fn stalls_are_long_stretches_without_work_and_say_what_came_before() {
        // root 0–200 s ─ step s4 (0–100 s) ─ read_file 10–20 s, llm 56–60 s
        //               ├ llm 130–140 s
        //               └ instant at 155 s
        let mut spans = vec![
            span(SpanKind::Session, (0.0, 200_000.0), 0, None, 6),
            span(SpanKind::Step, (0.0, 100_000.0), 1, Some(0), 4),
            span(SpanKind::Tool, (10_000.0, 20_000.0), 2, Some(1), 3),
            span(SpanKind::Llm, (56_000.0, 60_000.0), 2, Some(1), 4),
            span(SpanKind::Llm, (130_000.0, 140_000.0), 1, Some(0), 5),
            span(SpanKind::Other, (155_000.0, 155_000.0), 1, Some(0), 6),
        ];
        spans[5].instant = true;
        for (i, s) in spans.iter_mut().enumerate() {
            s.event = i;
        }
        let mut events = vec![TraceEvent::default(); 6];
        events[1].info = EventInfo { step_id: Some("s4".into()), ..EventInfo::default() };
        events[2].info.label = "read_file".into();
        let t = timeline(spans, 200_000.0);
        // Threshold: max(5 s, 10 % of 200 s) = 20 s.
        let found = stalls_of(&t, &events, &StallParams::default());
        let brief: Vec<(f64, f64, Option<usize>, bool)> =
            found.iter().map(|s| (s.start_ms, s.end_ms, s.after, s.at_end)).collect();
        assert_eq!(
            brief,
            vec![
                (20_000.0, 56_000.0, Some(2), false),
                (60_000.0, 130_000.0, Some(3), false),
                (155_000.0, 200_000.0, Some(5), true),
            ],
            "10 s before read_file and 15 s between the llm call and the instant are short"
        );
        assert_eq!(found[0].step.as_deref(), Some("s4"));
        assert_eq!(found[0].after_label.as_deref(), Some("read_file"));
        assert_eq!(found[0].duration_ms(), 36_000.0);
        assert_eq!(found[2].step, None);
        // Lower thresholds find the shorter ones too.
        let all = stalls_of(&t, &events, &StallParams { min_ms: 1.0, min_share: 0.0 });
        assert_eq!(all.len(), 5);
        assert_eq!((all[0].start_ms, all[0].after), (0.0, None), "before the first work");
    }

    #[test]
    fn no_times_no_stalls() {
        assert!(stalls(&AnalyzedSession::default(), &StallParams::default()).is_empty());
        // The sample session is busy: 10 s long, nothing idle for 5 s.
        assert!(stalls(&sample_session(), &StallParams::default()).is_empty());
    }

    fn at(ms: i64) -> TraceEvent {
        TraceEvent { time: Some(Timestamp(ms * 1_000_000)).into(), ..TraceEvent::default() }
    }

    #[test]
    fn a_running_session_is_stalled_past_three_times_its_usual_gap() {
        // Gaps of 1, 2, 3, 4, 5, 6 s (out of order: a clock jump backwards sorts in).
        let events: Vec<TraceEvent> = [0, 1_000, 3_000, 10_000, 6_000, 15_000, 21_000].into_iter().map(at).collect();
        assert_eq!(usual_gap_ms(&events), Some(6_000.0));
        assert_eq!(stall_threshold_ms(Some(6_000.0)), 18_000.0);
        assert_eq!(running_stall(&events, Timestamp(39_000 * 1_000_000)), None, "18 s is not more than 18 s");
        let stall = running_stall(&events, Timestamp(40_000 * 1_000_000)).expect("stalled");
        assert_eq!((stall.since, stall.silent_ms, stall.threshold_ms), (Timestamp(21_000_000_000), 19_000.0, 18_000.0));
        // A busy session still gets 10 s; a slow one at most 5 minutes; too few gaps: 5 minutes.
        assert_eq!(stall_threshold_ms(Some(100.0)), STALL_FLOOR_MS);
        assert_eq!(stall_threshold_ms(Some(3_600_000.0)), STALL_CEILING_MS);
        assert_eq!(usual_gap_ms(&events[..3]), None);
        assert_eq!(stall_threshold_ms(None), STALL_CEILING_MS);
        // Equal timestamps: gaps of zero, the floor applies.
        let same: Vec<TraceEvent> = (0..10).map(|_| at(5_000)).collect();
        assert_eq!(usual_gap_ms(&same), Some(0.0));
        assert!(running_stall(&same, Timestamp(16_000 * 1_000_000)).is_some());
        // No times, or a last event in the future: nothing to say.
        assert_eq!(running_stall(&[TraceEvent::default()], Timestamp(0)), None);
        assert_eq!(running_stall(&events, Timestamp(0)), None);
    }
}
