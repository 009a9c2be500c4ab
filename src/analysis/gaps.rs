//! Idle gaps: the long stretches of a session in which nothing but the session itself runs,
//! shaded on the Gantt chart and its overview.

use crate::analysis::timeline::{Span, SpanKind, Timeline};

/// No gap is shorter than this, however short the session.
const MIN_GAP_MS: f64 = 1000.0;

/// Intervals (start, end ms from the origin) in which no timed span other than the session
/// root is active, longer than max(1 s, 5 % of the session), in time order. Instants count as
/// activity at their moment.
#[must_use]
pub fn idle_gaps(timeline: &Timeline) -> Vec<(f64, f64)> {
    let session_ms = timeline.end_ms;
    if !session_ms.is_finite() || session_ms <= 0.0 {
        return Vec::new();
    }
    let min_gap = (0.05 * session_ms).max(MIN_GAP_MS);
    // The active spans as indices (4 bytes each, counted first and sized once) sorted in
    // place by start: a session of a million events has most of a million, and pairs of
    // times in a growing vector, sorted with a buffer beside, took over 20 MB at its peak.
    // Equal starts may come in any order: the gaps found are the same.
    let spans = &timeline.spans;
    let is_active = |s: &&Span| {
        s.timed
            && !(s.kind == SpanKind::Session && s.parent.get().is_none())
            && s.start_ms.is_finite()
            && s.end_ms.max(s.start_ms).is_finite()
    };
    let mut active: Vec<u32> = Vec::with_capacity(spans.iter().filter(is_active).count());
    active.extend(spans.iter().enumerate().filter(|(_, s)| is_active(s)).filter_map(|(i, _)| u32::try_from(i).ok()));
    let bounds = |i: u32| spans.get(i as usize).map_or((0.0, 0.0), |s| (s.start_ms, s.end_ms.max(s.start_ms)));
    active.sort_unstable_by(|&a, &b| bounds(a).0.total_cmp(&bounds(b).0));
    let mut gaps = Vec::new();
    let mut busy_until = 0.0f64;
    for (start, end) in active.into_iter().map(bounds) {
        if start - busy_until > min_gap {
            gaps.push((busy_until, start));
        }
        busy_until = busy_until.max(end);
    }
    if session_ms - busy_until > min_gap {
        gaps.push((busy_until, session_ms));
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{sample_session, span};

    #[test]
    fn idle_gaps_are_long_stretches_without_work() {
        let mut spans = vec![
            span(SpanKind::Session, (0.0, 100_000.0), 0, None, 8),
            span(SpanKind::Step, (0.0, 10_000.0), 1, Some(0), 2),
            // 2 s after a: shorter than max(1 s, 5 % of 100 s) = 5 s, not a gap.
            span(SpanKind::Step, (12_000.0, 20_000.0), 1, Some(0), 3),
            span(SpanKind::Tool, (50_000.0, 60_000.0), 1, Some(0), 4),
            // An instant is work at its moment: it splits 60–80 s.
            span(SpanKind::Other, (70_000.0, 70_000.0), 1, Some(0), 5),
            span(SpanKind::Step, (71_000.0, 80_000.0), 1, Some(0), 7),
            span(SpanKind::Llm, (72_000.0, 90_000.0), 2, Some(5), 7),
            // Untimed spans are not work anywhere.
            span(SpanKind::Other, (0.0, 0.0), 1, Some(0), 8),
        ];
        spans[4].instant = true;
        spans[7].timed = false;
        let timeline = Timeline { spans, end_ms: 100_000.0, ..Timeline::default() };
        assert_eq!(idle_gaps(&timeline), vec![(20_000.0, 50_000.0), (60_000.0, 70_000.0), (90_000.0, 100_000.0)]);
        // Short sessions: the 1 s floor applies.
        assert!(idle_gaps(&sample_session().timeline).is_empty());
    }
}
