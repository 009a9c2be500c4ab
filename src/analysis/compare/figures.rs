//! What the two runs add up to: the totals of both, how the rows divide, and the biggest
//! changes.

use serde::Serialize;

use super::{Row, Status};
use crate::analysis::tools::tool_call;
use crate::analysis::{AnalyzedSession, SpanKind};
use crate::model::TraceEvent;

/// One figure of both runs: wall time, events, calls, failures, tokens, cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// A stable key: `wall_time_ms`, `events`, `spans`, `llm_calls`, `tool_calls`,
    /// `failed_spans`, `input_tokens`, `output_tokens`, `cost_usd`.
    pub name: &'static str,
    /// `None` when the run does not report it (no token or cost columns, no time).
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// B − A, when both are known.
    pub delta: Option<f64>,
    /// Δ as a percentage of A, when both are known and A is not zero.
    pub percent: Option<f64>,
}

impl Figure {
    fn new(name: &'static str, a: Option<f64>, b: Option<f64>) -> Self {
        let delta = a.zip(b).map(|(a, b)| b - a);
        let percent = a.zip(delta).and_then(|(a, d)| (a != 0.0).then(|| d / a * 100.0));
        Self { name, a, b, delta, percent }
    }
}

/// How the rows divide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pairs: usize,
    pub same: usize,
    pub slower: usize,
    pub faster: usize,
    pub only_a: usize,
    pub only_b: usize,
}

impl Counts {
    /// How many rows have each status.
    pub(super) fn of(rows: &[Row]) -> Self {
        let mut counts = Counts::default();
        for r in rows {
            match r.status {
                Status::Same => counts.same += 1,
                Status::Slower => counts.slower += 1,
                Status::Faster => counts.faster += 1,
                Status::OnlyA => counts.only_a += 1,
                Status::OnlyB => counts.only_b += 1,
            }
        }
        counts.pairs = counts.same + counts.slower + counts.faster;
        counts
    }
}

/// One of the biggest changes: a pair's Δ, or a one-sided subtree (counted once, at its top).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Contributor {
    /// Index into [`Comparison::rows`].
    pub row: usize,
    /// B − A; for a one-sided subtree, its whole duration or cost, negative for `only_a`.
    pub delta: f64,
}

/// The biggest changes, largest |Δ| first. A step and a call inside it may both appear.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Contributors {
    pub wall_time_ms: Vec<Contributor>,
    pub cost_usd: Vec<Contributor>,
}

/// The figures of one run.
pub(super) struct RunFigures {
    pub(super) wall_time_ms: Option<f64>,
    pub(super) spans: usize,
    pub(super) llm_calls: usize,
    pub(super) tool_calls: usize,
    pub(super) failed: usize,
    pub(super) untimed: usize,
    pub(super) open: usize,
    pub(super) input_tokens: Option<i64>,
    pub(super) output_tokens: Option<i64>,
    pub(super) cost_usd: Option<f64>,
}

impl RunFigures {
    pub(super) fn of(session: &AnalyzedSession) -> Self {
        let spans = &session.timeline.spans;
        let events = &session.data.events;
        let sum = |f: fn(&TraceEvent) -> Option<i64>| {
            events.iter().filter_map(f).fold(None, |acc: Option<i64>, t| Some(acc.unwrap_or(0).saturating_add(t)))
        };
        let wall_time_ms = session
            .summary
            .total_duration_ms
            .filter(|d| d.is_finite())
            .or_else(|| spans.iter().any(|s| s.timed).then_some(session.timeline.end_ms));
        Self {
            wall_time_ms,
            spans: spans.len(),
            llm_calls: spans.iter().filter(|s| s.kind == SpanKind::Llm).count(),
            tool_calls: spans.iter().filter(|s| tool_call(s, events).is_some()).count(),
            failed: spans.iter().filter(|s| s.failed).count(),
            untimed: spans.iter().filter(|s| !s.timed).count(),
            open: spans.iter().filter(|s| s.open).count(),
            input_tokens: sum(|e| e.input_tokens()),
            output_tokens: sum(|e| e.output_tokens()),
            cost_usd: events.iter().filter_map(|e| e.cost_usd()).reduce(|x, y| x + y),
        }
    }
}

/// What a run lacks or the other reports and it does not, one line each, onto `warnings`.
pub(super) fn run_warnings(run_a: &RunFigures, run_b: &RunFigures, warnings: &mut Vec<String>) {
    for (figures, name) in [(run_a, "A"), (run_b, "B")] {
        if figures.spans == 0 {
            warnings.push(format!("run {name} has no spans"));
        }
        if figures.untimed > 0 {
            warnings.push(format!(
                "{} spans of run {name} have no readable time; their durations are not compared",
                figures.untimed
            ));
        }
        if figures.open > 0 {
            warnings.push(format!(
                "run {name} has {} spans whose end was never logged (running or lost); measured to its last known time",
                figures.open
            ));
        }
    }
    for (what, has_a, has_b) in [
        ("input tokens", run_a.input_tokens.is_some(), run_b.input_tokens.is_some()),
        ("output tokens", run_a.output_tokens.is_some(), run_b.output_tokens.is_some()),
        ("cost", run_a.cost_usd.is_some(), run_b.cost_usd.is_some()),
    ] {
        if has_a != has_b {
            let (with, without) = if has_a { ("A", "B") } else { ("B", "A") };
            warnings.push(format!("run {without} reports no {what} (run {with} does): {what} are not compared"));
        }
    }
}

/// The totals of both runs, in the order they are listed ([`Figure::name`]).
pub(super) fn totals(run_a: &RunFigures, run_b: &RunFigures, events_a: usize, events_b: usize) -> Vec<Figure> {
    let count = |n: usize| Some(n as f64);
    vec![
        Figure::new("wall_time_ms", run_a.wall_time_ms, run_b.wall_time_ms),
        Figure::new("events", count(events_a), count(events_b)),
        Figure::new("spans", count(run_a.spans), count(run_b.spans)),
        Figure::new("llm_calls", count(run_a.llm_calls), count(run_b.llm_calls)),
        Figure::new("tool_calls", count(run_a.tool_calls), count(run_b.tool_calls)),
        Figure::new("failed_spans", count(run_a.failed), count(run_b.failed)),
        Figure::new("input_tokens", run_a.input_tokens.map(|t| t as f64), run_b.input_tokens.map(|t| t as f64)),
        Figure::new("output_tokens", run_a.output_tokens.map(|t| t as f64), run_b.output_tokens.map(|t| t as f64)),
        Figure::new("cost_usd", run_a.cost_usd, run_b.cost_usd),
    ]
}

/// The biggest changes in wall time and in cost: pairs by their Δ, one-sided subtrees once, at
/// their top, by their whole duration (the top span's) and cost (summed over the subtree).
pub(super) fn contributors(
    rows: &[Row],
    a: &AnalyzedSession,
    b: &AnalyzedSession,
    top: usize,
    costs_comparable: bool,
) -> Contributors {
    let mut time: Vec<Contributor> = Vec::new();
    let mut cost: Vec<Contributor> = Vec::new();
    let span_of = |r: &Row| match (r.a, r.b) {
        (Some(i), _) => a.timeline.spans.get(i),
        (None, Some(j)) => b.timeline.spans.get(j),
        (None, None) => None,
    };
    for (i, r) in rows.iter().enumerate() {
        // The whole run's span is the total, which the totals show.
        if span_of(r).is_some_and(|s| s.kind == SpanKind::Session) {
            continue;
        }
        if r.status.is_pair() {
            if let Some(d) = r.delta_ms.filter(|d| *d != 0.0) {
                time.push(Contributor { row: i, delta: d });
            }
            if let Some(d) = r.delta_cost_usd.filter(|d| *d != 0.0) {
                cost.push(Contributor { row: i, delta: d });
            }
            continue;
        }
        let is_top = r.parent.and_then(|p| rows.get(p)).is_none_or(|p| p.status != r.status);
        if !is_top {
            continue;
        }
        if let Some(d) = r.delta_ms.filter(|d| *d != 0.0) {
            time.push(Contributor { row: i, delta: d });
        }
        if costs_comparable {
            let subtree = rows.get(i..r.subtree_end.min(rows.len())).unwrap_or_default();
            let total = subtree.iter().filter_map(|s| s.delta_cost_usd).reduce(|x, y| x + y);
            if let Some(d) = total.filter(|d| *d != 0.0) {
                cost.push(Contributor { row: i, delta: d });
            }
        }
    }
    let rank = |list: &mut Vec<Contributor>| {
        list.sort_by(|x, y| y.delta.abs().total_cmp(&x.delta.abs()).then(x.row.cmp(&y.row)));
        list.truncate(top);
    };
    rank(&mut time);
    rank(&mut cost);
    Contributors { wall_time_ms: time, cost_usd: cost }
}
