//! Pure analysis over loaded events: spans and the parent/child tree, the rows shown, session
//! summaries, tool calls and slow-call detection, filters, idle gaps, overview density and the
//! time axis. No SQL and no egui here.

pub mod axis;
pub mod compare;
pub mod context;
pub mod critical_path;
pub mod density;
pub mod diagnosis;
pub mod filter;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod gaps;
pub mod loops;
pub mod models;
pub mod rows;
pub mod sessions;
pub mod slow;
pub mod slow_tally;
pub mod stalls;
pub mod summary;
pub mod tasks;
pub mod timeline;
pub mod tools;
pub mod trends;

pub use filter::SpanFilter;
pub use slow::SlowIndex;
pub use summary::Summary;
pub use timeline::{Anchor, Link, Span, SpanKind, Timeline};

/// The `q`-quantile (0..=1) of sorted values by the nearest-rank method; `None` when empty.
#[must_use]
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len() - 1)).copied()
}

#[cfg(test)]
mod tests {
    use super::quantile_sorted;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile_sorted(&v, 0.5), Some(50.0));
        assert_eq!(quantile_sorted(&v, 0.95), Some(95.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(100.0));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&[7.0], 0.95), Some(7.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }
}

/// A session with everything the views and exports derive from it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalyzedSession {
    pub data: crate::model::SessionData,
    pub timeline: Timeline,
    pub summary: Summary,
}

impl AnalyzedSession {
    /// Every warning about the session: from reading its rows, then from building its tree.
    pub fn warnings(&self) -> impl Iterator<Item = &crate::model::Warning> {
        self.data.warnings.iter().chain(&self.timeline.warnings)
    }
}

/// Builds the timeline and summary of a loaded session.
#[must_use]
pub fn analyze(data: crate::model::SessionData, anchor: Anchor) -> AnalyzedSession {
    // A big session's event totals are summed on a second thread while the timeline is built.
    let (timeline, mut summary) = if data.events.len() >= PARALLEL_EVENTS {
        std::thread::scope(|scope| {
            let totals = scope.spawn(|| summary::event_totals(&data));
            let timeline = timeline::build(&data, anchor);
            (timeline, totals.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    } else {
        (timeline::build(&data, anchor), summary::event_totals(&data))
    };
    summary::add_spans(&mut summary, &data, &timeline);
    AnalyzedSession { data, timeline, summary }
}

/// Sessions with at least this many events are analysed on two threads.
const PARALLEL_EVENTS: usize = 20_000;
