//! Overview density: how many spans start in each slice of a session, of which kind, and how
//! many failed, for the Gantt chart's overview strip.

use crate::analysis::timeline::{Span, SpanKind};

/// Kinds in the order that wins a tie for "dominant" (the rarer, more telling kinds first).
const KINDS: [SpanKind; 6] =
    [SpanKind::Error, SpanKind::Llm, SpanKind::Tool, SpanKind::Other, SpanKind::Step, SpanKind::Session];

fn kind_slot(kind: SpanKind) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

/// One column of the overview: the spans starting in one slice of the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DensityBin {
    /// Timed spans starting in this column.
    pub count: u32,
    /// Of those, failures.
    pub failed: u32,
    /// The most common kind among them.
    pub dominant: Option<SpanKind>,
}

/// Bins every timed span by its start into `columns` equal slices of `[0, range_ms]` (spans
/// outside go to the first or last column, so the counts add up to the timed spans).
#[must_use]
pub fn density_bins(spans: &[Span], range_ms: f64, columns: usize) -> Vec<DensityBin> {
    if columns == 0 {
        return Vec::new();
    }
    let range = if range_ms.is_finite() && range_ms > 0.0 { range_ms } else { 1.0 };
    let mut by_kind = vec![[0u32; KINDS.len()]; columns];
    let mut bins = vec![DensityBin::default(); columns];
    for s in spans.iter().filter(|s| s.timed) {
        // `as usize` saturates: negative and NaN go to 0.
        let col = ((s.start_ms / range * columns as f64).floor() as usize).min(columns - 1);
        bins[col].count += 1;
        bins[col].failed += u32::from(s.failed);
        by_kind[col][kind_slot(s.kind)] += 1;
    }
    for (bin, counts) in bins.iter_mut().zip(&by_kind) {
        let mut best: Option<(usize, u32)> = None;
        for (slot, &n) in counts.iter().enumerate() {
            if n > 0 && best.is_none_or(|(_, b)| n > b) {
                best = Some((slot, n));
            }
        }
        bin.dominant = best.map(|(slot, _)| KINDS[slot]);
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::sample_session;

    #[test]
    fn density_bins_count_every_timed_span_once() {
        let session = sample_session();
        let spans = &session.timeline.spans;
        let timed = spans.iter().filter(|s| s.timed).count();
        for columns in [1, 3, 10, 997] {
            let bins = density_bins(spans, 10_000.0, columns);
            assert_eq!(bins.len(), columns);
            assert_eq!(bins.iter().map(|b| b.count as usize).sum::<usize>(), timed, "{columns} columns");
        }
        let bins = density_bins(spans, 10_000.0, 10);
        // Starts at 0, 1, 2, 6 and 9.5 s.
        let counts: Vec<u32> = bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![1, 1, 1, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(bins[2].dominant, Some(SpanKind::Tool));
        assert_eq!(bins[9].dominant, Some(SpanKind::Error));
        assert_eq!(bins[9].failed, 1);
        assert_eq!(bins[3].dominant, None);
    }
}
