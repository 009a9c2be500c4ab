//! The diagnosis of one run in one value: critical path, stalls, loops and context growth,
//! computed together once a session is loaded (about 50 ms for 100,000 events), for the views
//! to read. A running session's stall depends on the clock: [`Diagnosis::stall_at`] answers it
//! in O(1) from what is kept here.

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::analysis::context::{ContextGrowth, ContextParams, ContextWindows, context_growth};
use crate::analysis::critical_path::{CriticalPath, critical_path};
use crate::analysis::loops::{LoopParams, Loops, find_loops};
use crate::analysis::stalls::{RunningStall, Stall, StallParams, stall_at, stalls, usual_gap_ms};
use crate::time::Timestamp;

/// The rules the diagnosis uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiagnosisParams {
    pub stalls: StallParams,
    pub loops: LoopParams,
    pub context: ContextParams,
    pub windows: ContextWindows,
}

/// Everything [`diagnose`] finds in one session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Diagnosis {
    pub critical_path: CriticalPath,
    pub stalls: Vec<Stall>,
    pub loops: Loops,
    pub context: ContextGrowth,
    /// The session's latest event time, and the p95 of its gaps between events.
    #[serde(skip)]
    pub last_event: Option<Timestamp>,
    pub usual_gap_ms: Option<f64>,
    /// The session's status is `running`.
    pub running: bool,
}

impl Diagnosis {
    /// Whether the session, if running, has gone quiet at `now` ([`stall_at`]).
    #[must_use]
    pub fn stall_at(&self, now: Timestamp) -> Option<RunningStall> {
        if !self.running {
            return None;
        }
        stall_at(self.last_event?, self.usual_gap_ms, now)
    }
}

/// Diagnoses `session`.
#[must_use]
pub fn diagnose(session: &AnalyzedSession, params: &DiagnosisParams) -> Diagnosis {
    let events = &session.data.events;
    Diagnosis {
        // Only the ranked spans and the members' indices: the whole path is never held.
        critical_path: critical_path(session),
        stalls: stalls(session, &params.stalls),
        loops: find_loops(session, &params.loops),
        context: context_growth(session, &params.windows, &params.context),
        last_event: events.iter().filter_map(|e| e.time.get()).max(),
        usual_gap_ms: usual_gap_ms(events),
        running: session.data.row.status == "running",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::sample_session;

    #[test]
    fn one_value_for_the_views() {
        let mut s = sample_session();
        let d = diagnose(&s, &DiagnosisParams::default());
        assert_eq!(d.critical_path.wall_ms, 10_000.0);
        assert!(d.stalls.is_empty() && d.loops.loops.is_empty());
        assert_eq!(d.context.points.len(), 1);
        // The sample's events carry no times: nothing to say about a stall, running or not.
        s.data.row.status = "running".to_owned();
        let d = diagnose(&s, &DiagnosisParams::default());
        assert!(d.running);
        assert_eq!(d.stall_at(Timestamp(i64::MAX)), None);
        let quiet = Diagnosis { last_event: Some(Timestamp(0)), ..d };
        let stall = quiet.stall_at(Timestamp(301_000 * 1_000_000)).expect("stalled");
        assert_eq!((stall.silent_ms, stall.threshold_ms), (301_000.0, 300_000.0));
    }
}
