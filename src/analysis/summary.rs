//! The session summary: the reference viewer's `get_session_summary` keys, exact for any
//! session size, plus per-model and per-tool tables, the slowest calls and the errors.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::quantile_sorted;
use crate::analysis::timeline::{SpanKind, Timeline};
use crate::analysis::tools::tool_call;
use crate::model::SessionData;

/// How many of the slowest calls a summary lists.
pub const SLOWEST_LISTED: usize = 10;

/// Aggregates of one session. Field names are the reference's where it has them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub session_id: String,
    pub task: String,
    pub status: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// `completed_at - started_at`; `None` while running.
    pub total_duration_ms: Option<f64>,
    pub total_events: u64,
    /// `step_completed` events.
    pub step_count: u64,
    /// `error` events.
    pub error_count: u64,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_tokens: i64,
    pub total_cost_usd: f64,
    /// Models in order of first use.
    pub models_used: Vec<String>,
    pub event_counts: BTreeMap<String, u64>,
    /// Tokens and cost of the events of each type (the keys of `event_counts`).
    pub event_usage: BTreeMap<String, Usage>,
    /// The timestamp anchor the spans were built with (`start` or `end`).
    pub anchor: &'static str,
    /// From the earliest span start to the latest span end.
    pub timeline_ms: f64,
    /// Failures of any kind: error events and failed calls.
    pub failure_count: u64,
    pub models: Vec<ModelStats>,
    pub tools: Vec<ToolStats>,
    pub slowest: Vec<CallRef>,
    pub errors: Vec<CallRef>,
    pub warning_count: usize,
}

/// Use of one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelStats {
    pub model: String,
    pub provider: Option<String>,
    /// Events with tokens or cost for this model.
    pub calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// Tokens and cost of some events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

impl Usage {
    /// Adds tokens and a cost.
    pub fn add(&mut self, input_tokens: Option<i64>, output_tokens: Option<i64>, cost_usd: Option<f64>) {
        self.input_tokens = self.input_tokens.saturating_add(input_tokens.unwrap_or(0));
        self.output_tokens = self.output_tokens.saturating_add(output_tokens.unwrap_or(0));
        self.cost_usd += cost_usd.unwrap_or(0.0);
    }
}

/// Calls of one tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolStats {
    pub tool: String,
    pub calls: u64,
    pub errors: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Over the events of the tool's calls ([`crate::analysis::Span::tokens`]).
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Finished calls' durations, sorted.
    #[serde(skip)]
    pub durations_ms: Vec<f64>,
    /// Calls per bin of [`HISTOGRAM_BINS`] log-scale bins from 0 to the slowest finished call
    /// of any tool in the session (so tools compare at a glance).
    #[serde(skip)]
    pub histogram: Vec<u32>,
}

/// Bins of [`ToolStats::histogram`].
pub const HISTOGRAM_BINS: usize = 16;

/// Counts `durations_ms` into log-scale bins from 0 to `longest_ms`.
#[must_use]
pub fn log_histogram(durations_ms: &[f64], longest_ms: f64) -> Vec<u32> {
    let mut bins = vec![0u32; HISTOGRAM_BINS];
    if longest_ms <= 0.0 || !longest_ms.is_finite() {
        return bins;
    }
    let top = (longest_ms + 1.0).ln();
    for d in durations_ms {
        let b = (((d.max(0.0) + 1.0).ln() / top) * HISTOGRAM_BINS as f64) as usize;
        bins[b.min(HISTOGRAM_BINS - 1)] += 1;
    }
    bins
}

/// A reference to one span, for the slowest-calls and errors lists.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    pub timestamp: String,
    pub duration_ms: f64,
    /// Index into [`Timeline::spans`].
    #[serde(skip)]
    pub span: usize,
}

/// Computes the summary of a loaded session over its timeline.
#[must_use]
pub fn summarize(data: &SessionData, timeline: &Timeline) -> Summary {
    let mut s = event_totals(data);
    add_spans(&mut s, data, timeline);
    s
}

/// The part of the summary read from the events alone, which needs no timeline (so
/// [`crate::analysis::analyze`] computes it while the timeline is built).
pub(crate) fn event_totals(data: &SessionData) -> Summary {
    let row = &data.row;
    let mut s = Summary {
        session_id: row.id.clone(),
        task: row.task.clone(),
        status: row.status.clone(),
        started_at: row.started_at.clone(),
        completed_at: row.completed_at.clone(),
        total_duration_ms: row.duration_ms,
        total_events: data.events.len() as u64,
        warning_count: data.warnings.len(),
        ..Summary::default()
    };
    let mut models: Vec<ModelStats> = Vec::new();
    let mut model_index: HashMap<&str, usize> = HashMap::new();
    for e in &data.events {
        // Look up before inserting: a key is cloned once per type, not once per event.
        match s.event_counts.get_mut(&*e.kind) {
            Some(n) => *n += 1,
            None => {
                s.event_counts.insert(e.kind.to_string(), 1);
            }
        }
        match s.event_usage.get_mut(&*e.kind) {
            Some(u) => u.add(e.input_tokens(), e.output_tokens(), e.cost_usd()),
            None => {
                let mut u = Usage::default();
                u.add(e.input_tokens(), e.output_tokens(), e.cost_usd());
                s.event_usage.insert(e.kind.to_string(), u);
            }
        }
        match &*e.kind {
            "step_completed" => s.step_count += 1,
            "error" => s.error_count += 1,
            _ => {}
        }
        if e.is_error() {
            s.failure_count += 1;
        }
        s.total_input_tokens = s.total_input_tokens.saturating_add(e.input_tokens().unwrap_or(0));
        s.total_output_tokens = s.total_output_tokens.saturating_add(e.output_tokens().unwrap_or(0));
        s.total_cost_usd += e.cost_usd().unwrap_or(0.0);
        if let Some(model) = e.model_used() {
            if !s.models_used.iter().any(|m| m == model) {
                s.models_used.push(model.to_owned());
            }
            let is_call = e.input_tokens().is_some() || e.output_tokens().is_some() || e.cost_usd().is_some();
            if is_call {
                let i = *model_index.entry(model).or_insert_with(|| {
                    models.push(ModelStats { model: model.to_owned(), ..ModelStats::default() });
                    models.len() - 1
                });
                let m = &mut models[i];
                m.calls += 1;
                m.input_tokens = m.input_tokens.saturating_add(e.input_tokens().unwrap_or(0));
                m.output_tokens = m.output_tokens.saturating_add(e.output_tokens().unwrap_or(0));
                m.cost_usd += e.cost_usd().unwrap_or(0.0);
                if m.provider.is_none() {
                    m.provider = e.provider_used().map(str::to_owned);
                }
            }
        }
    }
    s.total_tokens = s.total_input_tokens.saturating_add(s.total_output_tokens);
    models.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.calls.cmp(&a.calls)));
    s.models = models;
    s
}

/// Completes [`event_totals`] with what the timeline knows: the anchor, tools, the slowest
/// calls and the failed spans.
pub(crate) fn add_spans(s: &mut Summary, data: &SessionData, timeline: &Timeline) {
    s.anchor = timeline.anchor.name();
    s.warning_count += timeline.warnings.len();
    let mut tools: BTreeMap<String, ToolStats> = BTreeMap::new();
    let mut calls: Vec<(f64, usize)> = Vec::new();
    for (i, span) in timeline.spans.iter().enumerate() {
        let finished = span.timed && !span.open && !span.instant;
        let tool = tool_call(span, &data.events);
        if let Some(name) = tool {
            if !tools.contains_key(name) {
                tools.insert(name.to_owned(), ToolStats { tool: name.to_owned(), ..ToolStats::default() });
            }
            if let Some(t) = tools.get_mut(name) {
                t.calls += 1;
                if span.failed {
                    t.errors += 1;
                }
                if finished {
                    t.durations_ms.push(span.duration_ms());
                }
                if let Some((tokens_in, tokens_out)) = span.tokens(&data.events) {
                    t.input_tokens = t.input_tokens.saturating_add(tokens_in);
                    t.output_tokens = t.output_tokens.saturating_add(tokens_out);
                }
                t.cost_usd += span.cost_usd(&data.events).unwrap_or(0.0);
            }
        }
        if finished && (tool.is_some() || span.kind == SpanKind::Llm) {
            calls.push((span.duration_ms(), i));
        }
        if span.failed {
            s.errors.push(call_ref(data, timeline, i));
        }
    }
    for t in tools.values_mut() {
        t.durations_ms.sort_by(f64::total_cmp);
        t.total_ms = t.durations_ms.iter().sum();
        if !t.durations_ms.is_empty() {
            t.mean_ms = t.total_ms / t.durations_ms.len() as f64;
        }
        t.p50_ms = quantile_sorted(&t.durations_ms, 0.5).unwrap_or(0.0);
        t.p95_ms = quantile_sorted(&t.durations_ms, 0.95).unwrap_or(0.0);
        t.max_ms = t.durations_ms.last().copied().unwrap_or(0.0);
    }
    let longest = tools.values().map(|t| t.max_ms).fold(0.0, f64::max);
    for t in tools.values_mut() {
        t.histogram = log_histogram(&t.durations_ms, longest);
    }
    let mut tools: Vec<ToolStats> = tools.into_values().collect();
    tools.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    s.tools = tools;
    // Only the slowest few are listed: selected first, then those few sorted (the order is
    // total, so this is what sorting every call would give).
    let slower = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if calls.len() > SLOWEST_LISTED && SLOWEST_LISTED > 0 {
        calls.select_nth_unstable_by(SLOWEST_LISTED - 1, slower);
        calls.truncate(SLOWEST_LISTED);
    }
    calls.sort_by(slower);
    s.slowest = calls.iter().take(SLOWEST_LISTED).map(|&(_, i)| call_ref(data, timeline, i)).collect();
    s.timeline_ms = timeline.end_ms;
}

fn call_ref(data: &SessionData, timeline: &Timeline, span: usize) -> CallRef {
    let sp = &timeline.spans[span];
    let e = data.events.get(sp.end_event.get().unwrap_or(sp.event)).or_else(|| data.events.get(sp.event));
    let first = data.events.get(sp.event);
    CallRef {
        id: first.map(|e| e.id.to_string()).unwrap_or_default(),
        kind: e.map(|e| e.kind.to_string()).unwrap_or_default(),
        label: sp.label(&data.events).to_string(),
        timestamp: first.map(|e| e.timestamp().into_owned()).unwrap_or_default(),
        duration_ms: sp.duration_ms(),
        span,
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::log_histogram;

    #[test]
    fn log_bins_span_zero_to_the_longest_call() {
        let bins = log_histogram(&[0.0, 1.0, 999.0, 1000.0], 1000.0);
        assert_eq!(bins.len(), 16);
        assert_eq!(bins.iter().sum::<u32>(), 4);
        assert_eq!(bins[0], 1, "0 ms");
        assert_eq!(bins[15], 2, "the longest calls");
        assert_eq!(log_histogram(&[5.0], 0.0).iter().sum::<u32>(), 0);
    }
}

#[cfg(test)]
mod usage_tests {
    use super::*;
    use crate::analysis::fixtures::{sample_session, span};
    use crate::model::TraceEvent;

    #[test]
    fn the_slowest_calls_are_those_a_full_sort_lists_first() {
        // 40 calls with many equal durations (ties: earlier span first), more than are listed.
        let mut s = sample_session();
        let first = s.timeline.spans.len();
        for i in 0..40 {
            let ms = ((i * 7) % 5) as f64 * 100.0 + 50.0;
            let mut call = span(SpanKind::Tool, (i as f64, i as f64 + ms), 1, Some(0), first + i + 1);
            call.event = 2;
            s.timeline.spans.push(call);
        }
        let summary = summarize(&s.data, &s.timeline);
        let spans = &s.timeline.spans;
        let mut all: Vec<usize> = (0..spans.len())
            .filter(|&i| {
                let sp = &spans[i];
                sp.timed && !sp.open && !sp.instant && (sp.kind == SpanKind::Tool || sp.kind == SpanKind::Llm)
            })
            .collect();
        all.sort_by(|&a, &b| spans[b].duration_ms().total_cmp(&spans[a].duration_ms()).then(a.cmp(&b)));
        let listed: Vec<usize> = summary.slowest.iter().map(|c| c.span).collect();
        assert_eq!(listed, all[..SLOWEST_LISTED]);
    }

    #[test]
    fn tools_and_event_types_sum_their_tokens_and_cost() {
        let mut s = sample_session();
        // Two calls of "search": the sample's pair (events 2 and 6) and a new one (event 7).
        s.data.events[2].info.tool = Some("search".into());
        s.data.events[2].usage_mut().input_tokens = Some(10).into();
        s.data.events[6].usage_mut().output_tokens = Some(5).into();
        s.data.events[6].usage_mut().cost_usd = Some(0.25).into();
        let mut e = TraceEvent { id: "e7".into(), kind: "tool_called".into(), ..TraceEvent::default() };
        e.info.tool = Some("search".into());
        e.usage_mut().input_tokens = Some(100).into();
        e.usage_mut().cost_usd = Some(0.5).into();
        s.data.events.push(e);
        let mut call = span(SpanKind::Tool, (3000.0, 4000.0), 0, None, 7);
        call.event = 7;
        s.timeline.spans.push(call);
        let summary = summarize(&s.data, &s.timeline);
        let search = summary.tools.iter().find(|t| t.tool == "search").expect("search");
        assert_eq!(search.calls, 2);
        assert_eq!((search.input_tokens, search.output_tokens), (110, 5));
        assert!((search.cost_usd - 0.75).abs() < 1e-12, "{}", search.cost_usd);
        // By event type: the LLM message, and the two tool_called events.
        assert_eq!(summary.event_counts.get("tool_called"), Some(&2));
        let called = summary.event_usage.get("tool_called").copied().unwrap_or_default();
        assert_eq!((called.input_tokens, called.output_tokens), (110, 0));
        assert!((called.cost_usd - 0.5).abs() < 1e-12);
        let message = summary.event_usage.get("message").copied().unwrap_or_default();
        assert_eq!(message, Usage { input_tokens: 1200, output_tokens: 345, cost_usd: 0.0123 });
        assert_eq!(summary.event_usage.get("tool_result").map(|u| u.cost_usd), Some(0.25));
        assert_eq!(summary.event_usage.len(), summary.event_counts.len());
    }
}
