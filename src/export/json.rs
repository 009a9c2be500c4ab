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

impl SpanJson<'_> {
    /// Appends this span as compact JSON: the bytes `serde_json::to_writer` gives for it,
    /// without escaping the field names again for every span (a million spans spent a third
    /// of their time there) and with a UUID's text, which never needs escaping, copied as is.
    pub fn write_compact(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"id\":");
        id(buf, &self.id);
        buf.extend_from_slice(b",\"end_id\":");
        opt(buf, self.end_id.as_ref(), id);
        buf.extend_from_slice(b",\"type\":");
        text(buf, self.kind);
        buf.extend_from_slice(b",\"kind_class\":");
        text(buf, self.kind_class);
        buf.extend_from_slice(b",\"label\":");
        text(buf, self.label);
        buf.extend_from_slice(b",\"start\":");
        opt(buf, self.start.as_ref(), time);
        buf.extend_from_slice(b",\"end\":");
        opt(buf, self.end.as_ref(), time);
        buf.extend_from_slice(b",\"start_ms\":");
        opt(buf, self.start_ms, float);
        buf.extend_from_slice(b",\"end_ms\":");
        opt(buf, self.end_ms, float);
        buf.extend_from_slice(b",\"duration_ms\":");
        opt(buf, self.duration_ms, float);
        buf.extend_from_slice(b",\"depth\":");
        int(buf, self.depth);
        buf.extend_from_slice(b",\"parent_id\":");
        opt(buf, self.parent_id.as_ref(), id);
        buf.extend_from_slice(b",\"instant\":");
        flag(buf, self.instant);
        buf.extend_from_slice(b",\"open\":");
        flag(buf, self.open);
        buf.extend_from_slice(b",\"failed\":");
        flag(buf, self.failed);
        buf.extend_from_slice(b",\"children\":");
        int(buf, self.children);
        buf.extend_from_slice(b",\"input_tokens\":");
        opt(buf, self.input_tokens, int);
        buf.extend_from_slice(b",\"output_tokens\":");
        opt(buf, self.output_tokens, int);
        buf.extend_from_slice(b",\"cost_usd\":");
        opt(buf, self.cost_usd, float);
        buf.extend_from_slice(b",\"model\":");
        opt(buf, self.model, text);
        buf.push(b'}');
    }
}

/// `null`, or the value as `write` puts it.
fn opt<T>(buf: &mut Vec<u8>, value: Option<T>, write: fn(&mut Vec<u8>, T)) {
    match value {
        Some(v) => write(buf, v),
        None => buf.extend_from_slice(b"null"),
    }
}

/// Text as a JSON string, escaped as serde_json escapes it.
fn text(buf: &mut Vec<u8>, value: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, value);
}

fn id(buf: &mut Vec<u8>, value: &IdText<'_>) {
    match value {
        IdText::Uuid(bytes) => {
            buf.push(b'"');
            buf.extend_from_slice(bytes);
            buf.push(b'"');
        }
        IdText::Borrowed(t) => text(buf, t),
    }
}

fn time(buf: &mut Vec<u8>, value: &Rfc3339) {
    match value.0.rfc3339_micros_bytes() {
        // Digits, dashes, colons, a dot, `T` and `Z`: nothing to escape.
        Some(bytes) => {
            buf.push(b'"');
            buf.extend_from_slice(&bytes);
            buf.push(b'"');
        }
        None => text(buf, &value.0.rfc3339_micros()),
    }
}

/// A number as serde_json writes it: `null` when it is not finite.
fn float(buf: &mut Vec<u8>, value: f64) {
    use serde_json::ser::Formatter as _;
    if value.is_finite() {
        let _ = serde_json::ser::CompactFormatter.write_f64(buf, value);
    } else {
        buf.extend_from_slice(b"null");
    }
}

fn int<T: Serialize>(buf: &mut Vec<u8>, value: T) {
    let _ = serde_json::to_writer(&mut *buf, &value);
}

fn flag(buf: &mut Vec<u8>, value: bool) {
    buf.extend_from_slice(if value { b"true" } else { b"false" });
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
        if let Some(c) = s.parent.get().and_then(|p| children.get_mut(p)) {
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
    let end = s.end_event.get().and_then(|e| events.get(e));
    let abs = |ms: f64| t.origin.map(|o| Rfc3339(o.add_ms(ms)));
    // Tokens and cost live on whichever event of the pair carries them.
    let pick_i = |f: fn(&crate::model::TraceEvent) -> Option<i64>| f(first).or_else(|| end.and_then(f));
    SpanJson {
        id: first.id.as_str(),
        end_id: end.map(|e| e.id.as_str()),
        kind: &first.kind,
        kind_class: s.kind.name(),
        label: s.label(events),
        start: s.timed.then(|| abs(s.start_ms)).flatten(),
        end: s.timed.then(|| abs(s.end_ms)).flatten(),
        start_ms: s.timed.then_some(s.start_ms),
        end_ms: s.timed.then_some(s.end_ms),
        duration_ms: (s.timed && !s.instant).then(|| s.duration_ms()),
        depth: s.depth,
        parent_id: s.parent.get().and_then(|p| t.spans.get(p)).map(|p| events[p.event].id.as_str()),
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
/// without building the list first. A big timeline is serialized on two threads, block by
/// block, and written in order by this one.
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
            span_json(session, &children, i).write_compact(buf);
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
    if n >= PARALLEL_SPANS {
        // Two threads serialize alternate blocks of spans; this one writes them in order. At
        // most a few blocks wait at a time, so a million spans never sit in memory as JSON.
        let blocks = n.div_ceil(BLOCK_SPANS);
        let block = |b: usize| b * BLOCK_SPANS..((b + 1) * BLOCK_SPANS).min(n);
        std::thread::scope(|scope| -> std::io::Result<()> {
            let (mut waiting, mut spent) = (Vec::new(), Vec::new());
            for first in 0..2 {
                let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(2);
                // Written buffers go back to the thread that made them, to be filled again:
                // freed on this thread instead, the allocator would keep each one resident.
                let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
                waiting.push(rx);
                spent.push(back_tx);
                let write_range = &write_range;
                scope.spawn(move || {
                    let mut staged = Vec::new();
                    for b in (first..blocks).step_by(2) {
                        let mut bytes = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BLOCK_SPANS * 512));
                        let done = write_range(block(b), &mut staged, 0, &mut bytes).map(|()| bytes);
                        // A failed send: the writer stopped (its output failed).
                        if tx.send(done).is_err() {
                            return;
                        }
                    }
                });
            }
            for b in 0..blocks {
                match waiting[b % 2].recv() {
                    Ok(bytes) => {
                        let mut bytes = bytes?;
                        out.write_all(&bytes)?;
                        bytes.clear();
                        // A failed send: that thread has no blocks left.
                        let _ = spent[b % 2].send(bytes);
                    }
                    Err(_) => return Err(std::io::Error::other("a thread writing the timeline stopped")),
                }
            }
            Ok(())
        })?;
    } else {
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
        write_range(0..n, &mut chunk, CHUNK_BYTES, out)?;
    }
    out.write_all(b"]")
}

/// Bytes of JSON gathered before they are passed on to the output.
const CHUNK_BYTES: usize = 64 * 1024;

/// Spans a thread serializes at a time for a big timeline (about 2 MB of JSON).
const BLOCK_SPANS: usize = 4096;

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

    /// Takes `room` bytes, then fails.
    struct Full {
        room: usize,
    }

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_output_stops_a_big_timeline_with_its_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("full.db");
        let config = DemoConfig {
            sessions: 1,
            events_per_session: Some(60_000),
            seed: 6,
            raw_io: false,
            ..DemoConfig::default()
        };
        demo::generate(&path, &config).unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let row = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions[0].clone();
        let analyzed =
            analysis::analyze(store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}")), Anchor::Auto);
        assert!(analyzed.timeline.spans.len() >= PARALLEL_SPANS + 3 * BLOCK_SPANS);
        // Fails in the first block, in a later one, and at the last byte.
        let mut whole = Vec::new();
        write_spans(&analyzed, &mut whole).unwrap_or_else(|e| panic!("{e}"));
        for room in [10, whole.len() / 2, whole.len() - 1] {
            let err = write_spans(&analyzed, &mut Full { room }).expect_err("the output fails");
            assert_eq!(err.to_string(), "disk full", "room {room}");
        }
        write_spans(&analyzed, &mut Full { room: whole.len() }).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_span_written_by_hand_is_the_bytes_serde_gives() {
        let uuid = crate::model::TraceId::from_uuid_text(b"05169185-8f3d-4c50-bbd4-01da291f18c3")
            .unwrap_or_else(|| panic!("a UUID"));
        let plain = SpanJson {
            id: uuid.as_str(),
            end_id: None,
            kind: "tool_call",
            kind_class: "tool",
            label: "search",
            start: Some(Rfc3339(Timestamp(1_763_629_200_123_456_000))),
            end: None,
            start_ms: Some(0.0),
            end_ms: Some(1e-7),
            duration_ms: None,
            depth: 3,
            parent_id: Some(uuid.as_str()),
            instant: true,
            open: false,
            failed: true,
            children: 12,
            input_tokens: Some(-5),
            output_tokens: Some(i64::MAX),
            cost_usd: Some(0.1 + 0.2),
            model: Some("gpt-4o"),
        };
        // Text that needs escaping, ids that are not UUIDs, numbers JSON cannot hold, a time
        // outside the years RFC 3339 text is written for without allocating.
        let odd = SpanJson {
            id: IdText::Borrowed("id \"quoted\" \\ back"),
            end_id: Some(IdText::Borrowed("tab\there\u{1b}[31m")),
            kind: "kind\nwith a line",
            label: "\u{202e}bidi and ünïcødé \u{7f} \u{0}",
            start: Some(Rfc3339(Timestamp(i64::MIN))),
            end: Some(Rfc3339(Timestamp(i64::MAX))),
            start_ms: Some(f64::NAN),
            end_ms: Some(f64::INFINITY),
            duration_ms: Some(-0.0),
            cost_usd: Some(f64::NEG_INFINITY),
            model: Some(""),
            ..plain
        };
        for span in [&plain, &odd] {
            let mut by_hand = Vec::new();
            span.write_compact(&mut by_hand);
            let by_serde = serde_json::to_vec(span).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(String::from_utf8_lossy(&by_hand), String::from_utf8_lossy(&by_serde));
        }
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
