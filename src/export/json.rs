//! JSON exports: the summary object, the spans of the timeline, and the tree as a flat list.

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::export::Export;

/// The summary as a JSON object (reference keys plus ours).
pub struct SummaryJson;

impl Export for SummaryJson {
    fn name(&self) -> &'static str {
        "JSON summary"
    }
    fn export(&self, session: &AnalyzedSession) -> String {
        serde_json::to_string_pretty(&session.summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// One span as `timeline --json` prints it.
#[derive(Serialize)]
pub struct SpanJson<'a> {
    pub id: &'a str,
    pub end_id: Option<&'a str>,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub kind_class: &'static str,
    pub label: &'a str,
    pub start: Option<String>,
    pub end: Option<String>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub depth: u32,
    pub parent_id: Option<&'a str>,
    pub instant: bool,
    pub open: bool,
    pub failed: bool,
    pub children: usize,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub model: Option<&'a str>,
}

/// Every span in tree order, with absolute and relative times.
#[must_use]
pub fn spans(session: &AnalyzedSession) -> Vec<SpanJson<'_>> {
    let events = &session.data.events;
    let t = &session.timeline;
    let mut children = vec![0usize; t.spans.len()];
    for s in &t.spans {
        if let Some(p) = s.parent {
            children[p] += 1;
        }
    }
    t.spans
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let first = &events[s.event];
            let end = s.end_event.and_then(|e| events.get(e));
            let abs = |ms: f64| t.origin.map(|o| o.add_ms(ms).rfc3339_micros());
            // Tokens and cost live on whichever event of the pair carries them.
            let pick_i = |f: fn(&crate::model::TraceEvent) -> Option<i64>| f(first).or_else(|| end.and_then(f));
            SpanJson {
                id: &first.id,
                end_id: end.map(|e| e.id.as_str()),
                kind: &first.kind,
                kind_class: s.kind.name(),
                label: &s.label,
                start: s.timed.then(|| abs(s.start_ms)).flatten(),
                end: s.timed.then(|| abs(s.end_ms)).flatten(),
                start_ms: s.timed.then_some(s.start_ms),
                end_ms: s.timed.then_some(s.end_ms),
                duration_ms: (s.timed && !s.instant).then(|| s.duration_ms()),
                depth: s.depth,
                parent_id: s.parent.and_then(|p| t.spans.get(p)).map(|p| events[p.event].id.as_str()),
                instant: s.instant,
                open: s.open,
                failed: s.failed,
                children: children[i],
                input_tokens: pick_i(|e| e.input_tokens),
                output_tokens: pick_i(|e| e.output_tokens),
                cost_usd: first.cost_usd.or_else(|| end.and_then(|e| e.cost_usd)),
                model: first.model_used.as_deref().or_else(|| end.and_then(|e| e.model_used.as_deref())),
            }
        })
        .collect()
}

/// The timeline's spans as a JSON array.
pub struct TimelineJson;

impl Export for TimelineJson {
    fn name(&self) -> &'static str {
        "JSON timeline"
    }
    fn export(&self, session: &AnalyzedSession) -> String {
        serde_json::to_string_pretty(&spans(session)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
