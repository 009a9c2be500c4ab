//! JSON exports: the summary object, the spans of the timeline, and the tree as a flat list.

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::export::Export;
use crate::model::IdText;
use crate::time::Timestamp;

/// The summary as a JSON object (reference keys plus ours).
pub struct SummaryJson;

impl Export for SummaryJson {
    fn export(&self, session: &AnalyzedSession) -> String {
        serde_json::to_string_pretty(&session.summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// One span as `timeline --json` prints it.
#[derive(Serialize)]
pub struct SpanJson<'a> {
    pub id: IdText<'a>,
    pub end_id: Option<IdText<'a>>,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub kind_class: &'static str,
    pub label: &'a str,
    pub start: Option<Rfc3339>,
    pub end: Option<Rfc3339>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub depth: u32,
    pub parent_id: Option<IdText<'a>>,
    pub instant: bool,
    pub open: bool,
    pub failed: bool,
    pub children: usize,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub model: Option<&'a str>,
}

/// A time written as RFC 3339 text in UTC with microseconds, without allocating.
pub struct Rfc3339(pub Timestamp);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.rfc3339_micros_bytes().as_ref().map(|b| std::str::from_utf8(b)) {
            Some(Ok(text)) => serializer.serialize_str(text),
            _ => serializer.serialize_str(&self.0.rfc3339_micros()),
        }
    }
}

/// Children per span.
fn child_counts(session: &AnalyzedSession) -> Vec<usize> {
    let spans = &session.timeline.spans;
    let mut children = vec![0usize; spans.len()];
    for s in spans {
        if let Some(c) = s.parent.and_then(|p| children.get_mut(p)) {
            *c += 1;
        }
    }
    children
}

/// Span `i` as JSON fields.
fn span_json<'a>(session: &'a AnalyzedSession, children: &[usize], i: usize) -> SpanJson<'a> {
    let events = &session.data.events;
    let t = &session.timeline;
    let s = &t.spans[i];
    let first = &events[s.event];
    let end = s.end_event.and_then(|e| events.get(e));
    let abs = |ms: f64| t.origin.map(|o| Rfc3339(o.add_ms(ms)));
    // Tokens and cost live on whichever event of the pair carries them.
    let pick_i = |f: fn(&crate::model::TraceEvent) -> Option<i64>| f(first).or_else(|| end.and_then(f));
    SpanJson {
        id: first.id.as_str(),
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
        children: children.get(i).copied().unwrap_or(0),
        input_tokens: pick_i(|e| e.input_tokens()),
        output_tokens: pick_i(|e| e.output_tokens()),
        cost_usd: first.cost_usd().or_else(|| end.and_then(|e| e.cost_usd())),
        model: first.model_used().or_else(|| end.and_then(|e| e.model_used())),
    }
}

/// Every span in tree order, with absolute and relative times.
#[must_use]
pub fn spans(session: &AnalyzedSession) -> Vec<SpanJson<'_>> {
    let children = child_counts(session);
    (0..session.timeline.spans.len()).map(|i| span_json(session, &children, i)).collect()
}

/// Writes [`spans`] as one compact JSON array, the same bytes `serde_json::to_writer` gives,
/// without building the list first. A big timeline is written in two halves on two threads:
/// this one streams the first half to `out` while the other fills a buffer with the second.
///
/// # Errors
/// When `out` fails.
pub fn write_spans(session: &AnalyzedSession, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let children = child_counts(session);
    let n = session.timeline.spans.len();
    // Spans are serialized into `buf`; past `flush_at` bytes it goes to `sink` and is reused.
    let write_range = |range: std::ops::Range<usize>,
                       buf: &mut Vec<u8>,
                       flush_at: usize,
                       sink: &mut dyn std::io::Write|
     -> std::io::Result<()> {
        for i in range {
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut *buf, &span_json(session, &children, i))?;
            if buf.len() >= flush_at {
                sink.write_all(buf)?;
                buf.clear();
            }
        }
        sink.write_all(buf)?;
        buf.clear();
        Ok(())
    };
    out.write_all(b"[")?;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
    if n >= PARALLEL_SPANS {
        let middle = n / 2;
        let second = std::thread::scope(|scope| {
            let upper = scope.spawn(|| {
                // About 500 bytes a span: sized once, so it never grows by copying.
                let mut half = Vec::with_capacity((n - middle) * 512);
                let mut staged = Vec::new();
                write_range(middle..n, &mut staged, 0, &mut half).map(|()| half)
            });
            let first = write_range(0..middle, &mut chunk, CHUNK_BYTES, out);
            let second = upper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            first.and(second)
        })?;
        out.write_all(&second)?;
    } else {
        write_range(0..n, &mut chunk, CHUNK_BYTES, out)?;
    }
    out.write_all(b"]")
}

/// Bytes of JSON gathered before they are passed on to the output.
const CHUNK_BYTES: usize = 64 * 1024;

/// Timelines with at least this many spans are written on two threads.
const PARALLEL_SPANS: usize = 20_000;

/// The timeline's spans as a JSON array.
pub struct TimelineJson;

impl Export for TimelineJson {
    fn export(&self, session: &AnalyzedSession) -> String {
        serde_json::to_string_pretty(&spans(session)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{self, Anchor};
    use crate::demo::{self, DemoConfig};
    use crate::store::Store;

    #[test]
    fn streamed_spans_are_the_bytes_of_the_list() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut saw_parallel = false;
        // One session big enough for the two-thread path, and small ones for the other.
        for (name, sessions, events) in [("big.db", 1, Some(2 * PARALLEL_SPANS)), ("small.db", 4, None)] {
            let path = dir.path().join(name);
            let config =
                DemoConfig { sessions, events_per_session: events, seed: 5, raw_io: false, ..DemoConfig::default() };
            demo::generate(&path, &config).unwrap_or_else(|e| panic!("{e}"));
            check_file(&path, &mut saw_parallel);
        }
        assert!(saw_parallel, "one timeline took the two-thread path");
    }

    fn check_file(path: &std::path::Path, saw_parallel: &mut bool) {
        let store = Store::open(path).unwrap_or_else(|e| panic!("{e}"));
        for row in store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions {
            let data = store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}"));
            let analyzed = analysis::analyze(data, Anchor::Auto);
            *saw_parallel |= analyzed.timeline.spans.len() >= PARALLEL_SPANS;
            let mut streamed = Vec::new();
            write_spans(&analyzed, &mut streamed).unwrap_or_else(|e| panic!("{e}"));
            let listed = serde_json::to_vec(&spans(&analyzed)).unwrap_or_else(|e| panic!("{e}"));
            assert!(streamed == listed, "session {}: streamed JSON differs", row.id);
            let parsed: Vec<serde_json::Value> = serde_json::from_slice(&streamed).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.len(), analyzed.timeline.spans.len());
            assert!(parsed.iter().any(|s| s["start"].is_string()));
        }
    }
}
