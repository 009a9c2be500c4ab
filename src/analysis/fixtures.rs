//! Hand-built spans and a small session with known answers, shared by the analysis and view
//! tests.

use crate::analysis::{AnalyzedSession, Span, SpanKind, Timeline};
use crate::model::{SessionData, SessionRow, TraceEvent};
use crate::time::Timestamp;

/// A timed span of this kind, time range (ms) and place in the tree, of event 0 (whose label
/// is its label).
pub(crate) fn span(
    kind: SpanKind,
    (start_ms, end_ms): (f64, f64),
    depth: u32,
    parent: Option<usize>,
    subtree_end: usize,
) -> Span {
    Span {
        event: 0,
        end_event: crate::analysis::Link::NONE,
        kind,
        start_ms,
        end_ms,
        timed: true,
        instant: false,
        open: false,
        failed: false,
        depth,
        parent: crate::analysis::Link::new(parent),
        subtree_end: u32::try_from(subtree_end).unwrap_or(u32::MAX),
    }
}

/// 0 run (session, 0–10 s) ─ 1 plan (step, 1–5 s) ─ 2 read_file (tool, 2–3 s, a pair)
///                         ├ 3 gpt call (llm, 6–9 s, tokens, cost, model)
///                         └ 4 boom (error instant at 9.5 s)
/// 5 lost (untimed root)
pub(crate) fn sample_session() -> AnalyzedSession {
    let mut spans = vec![
        span(SpanKind::Session, (0.0, 10_000.0), 0, None, 5),
        span(SpanKind::Step, (1000.0, 5000.0), 1, Some(0), 3),
        span(SpanKind::Tool, (2000.0, 3000.0), 2, Some(1), 3),
        span(SpanKind::Llm, (6000.0, 9000.0), 1, Some(0), 4),
        span(SpanKind::Error, (9500.0, 9500.0), 1, Some(0), 5),
        span(SpanKind::Other, (0.0, 0.0), 0, None, 6),
    ];
    for (i, s) in spans.iter_mut().enumerate() {
        s.event = i;
    }
    spans[2].end_event = crate::analysis::Link::new(Some(6));
    spans[4].instant = true;
    spans[4].failed = true;
    spans[5].timed = false;
    let kinds = ["trace_started", "step_started", "tool_called", "message", "error", "note", "tool_result"];
    let mut events: Vec<TraceEvent> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| TraceEvent { id: format!("e{i}").into(), kind: (*k).into(), ..TraceEvent::default() })
        .collect();
    // Spans take their labels from their events.
    for (e, label) in events.iter_mut().zip(["run", "plan", "read_file", "gpt call", "boom", "lost"]) {
        e.info.label = label.into();
    }
    events[3].usage_mut().input_tokens = Some(1200).into();
    events[3].usage_mut().output_tokens = Some(345).into();
    events[3].usage_mut().cost_usd = Some(0.0123).into();
    events[3].usage_mut().model_used = Some("gpt-x".into());
    let row = SessionRow { id: "session-1".to_owned(), ..SessionRow::default() };
    let timeline = Timeline { origin: Some(Timestamp(1_000_000)), spans, end_ms: 10_000.0, ..Timeline::default() };
    AnalyzedSession {
        data: SessionData { row, events, ..SessionData::default() },
        timeline,
        ..AnalyzedSession::default()
    }
}

/// A hand-built event with its parent id, as a row gives them; it reads and writes as its
/// event.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ev {
    pub(crate) event: TraceEvent,
    pub(crate) parent: Option<crate::model::TraceId>,
}

impl Ev {
    pub(crate) fn new(event: TraceEvent, parent: Option<&str>) -> Ev {
        Ev { event, parent: parent.map(Into::into) }
    }
}

impl std::ops::Deref for Ev {
    type Target = TraceEvent;
    fn deref(&self) -> &TraceEvent {
        &self.event
    }
}

impl std::ops::DerefMut for Ev {
    fn deref_mut(&mut self) -> &mut TraceEvent {
        &mut self.event
    }
}

/// A session of these events, in this order, parents linked as a load links them.
pub(crate) fn linked(row: SessionRow, events: Vec<Ev>) -> SessionData {
    let (events, parents): (Vec<TraceEvent>, Vec<_>) = events.into_iter().map(|e| (e.event, e.parent)).unzip();
    SessionData::linked(row, events, &parents, vec![])
}
