//! Bodies of the fuzz targets in `fuzz/`, shared with `tests/fuzz_replay.rs` so that every
//! corpus file and crash reproducer is replayed by `cargo test`.
//!
//! Each function takes the fuzzer's bytes, runs one part of the core on them and panics when
//! an invariant breaks (a panic is what the fuzzer reports). Structured inputs are decoded
//! by [`Bytes`], a small reader that never fails (it yields zeros once the input runs out), so
//! every byte string is a valid input and the corpus files stay replayable without any
//! dependency beyond this crate.

use arcstr::ArcStr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::analysis::filter::slow_flags;
use crate::analysis::{self, Anchor, SlowIndex, SpanFilter};
use crate::export::{Export as _, json, markdown, text};
use crate::model::{CallUsage, SearchQuery, SessionData, SessionRow, ToolDuration, TraceEvent, Warning, labels};
use crate::store::{self, Store};
use crate::time::{self, Timestamp};

/// Event types the decoders pick from: the reference agent's, pair ends, and odd ones.
const KINDS: [&str; 24] = [
    "state_change",
    "plan_created",
    "step_started",
    "step_completed",
    "step_failed",
    "tool_called",
    "tool_result",
    "message",
    "error",
    "budget_warning",
    "budget_exceeded",
    "iteration_limit",
    "completed",
    "cancelled",
    "model_selected",
    "model_switched",
    "trace_started",
    "trace_ended",
    "llm_call",
    "mcp_tool_call",
    "custom_failed",
    "x",
    "",
    "tool",
];

/// Parses the input as a timestamp text, and its first 8 bytes as a number, then checks that
/// every accepted time is in the accepted years and survives display and re-parsing.
///
/// # Panics
/// When an accepted time breaks one of those invariants.
pub fn timestamp(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(parsed) = time::parse_text(&text) {
        check_time(parsed.time, &text);
    }
    if let Some(head) = bytes.first_chunk::<8>() {
        for n in [f64::from_le_bytes(*head), i64::from_le_bytes(*head) as f64] {
            if let Ok(parsed) = time::parse_number(n) {
                assert!(!parsed.naive, "{n}: a number has no zone to miss");
                check_time(parsed.time, &n.to_string());
            }
        }
    }
}

fn check_time(t: Timestamp, input: &str) {
    assert_eq!(Timestamp::from_chrono(t.to_chrono()), Some(t), "{input:?}: accepted outside the years");
    let shown = t.rfc3339_micros();
    let _ = t.short();
    match time::parse_text(&shown) {
        Ok(again) => {
            assert!(!again.naive, "{shown}: own output read as naive");
            assert_eq!(again.time.0, t.0 - t.0.rem_euclid(1000), "{input:?} → {shown}: round trip");
        }
        Err(e) => panic!("{input:?} → {shown}: own output refused: {e}"),
    }
    // The widest difference on a timeline: from this time to both ends of the accepted range.
    for edge in ["1900-01-01T00:00:00Z", "2200-12-31T23:59:59.999999999Z"] {
        if let Ok(p) = time::parse_text(edge) {
            let ms = t.ms_since(p.time);
            assert!(ms.is_finite(), "{input:?}: ms_since({edge}) = {ms}");
            assert_eq!(ms, -p.time.ms_since(t), "{input:?}: ms_since({edge}) is not antisymmetric");
        }
    }
}

/// Reads the label, tool, step id and failure flag of an event. The first byte picks the
/// event type, the second whether a model is set; the rest is the `data` text.
///
/// # Panics
/// When the label is too long or has control characters, or when `data` that is a JSON
/// object is reported as something else.
pub fn data_json(bytes: &[u8]) {
    let mut input = Bytes::new(bytes);
    let kind = input.pick(&KINDS);
    let model = (input.byte() & 1 == 1).then_some("gpt-4o-mini");
    let data = String::from_utf8_lossy(input.rest());
    let (info, notes) = labels::event_info_of(kind, &data, model);
    assert!(info.label.chars().count() <= 121, "label of {} chars", info.label.chars().count());
    assert!(!info.label.chars().any(char::is_control), "control character in label {:?}", info.label);
    assert!(notes.len() <= 1, "at most one warning about data: {notes:?}");
    // serde_json's own reading as the reference; it refuses nesting past 128 levels, which
    // the reader skips without limit under keys it does not read, so those prove nothing.
    match serde_json::from_str::<serde_json::Value>(&data) {
        Ok(serde_json::Value::Object(_)) => {
            assert!(info.data_is_object, "an object read as not one: {notes:?}");
            assert!(
                notes.iter().all(|n| n.starts_with("data repeats a key")),
                "warnings on a well-formed object: {notes:?}"
            );
        }
        Ok(_) => {
            assert!(!info.data_is_object, "not an object, yet read as one");
            assert_eq!(notes.len(), 1, "one warning for data that is not an object: {notes:?}");
        }
        Err(_) if data.trim().is_empty() => assert!(notes.is_empty() && !info.data_is_object),
        Err(_) => {}
    }
}

/// Decodes a few dozen events (ids from a tiny alphabet, so parents, cycles, self-parents and
/// duplicates are common; times across the whole accepted range) into a session, analyzes it
/// with every anchor, checks the tree and the summary, and runs every export and filter.
///
/// # Panics
/// When the timeline or summary breaks an invariant.
pub fn spans(bytes: &[u8]) {
    let data = session_from_bytes(bytes);
    let session: ArcStr = ArcStr::from(data.row.id.as_str());
    let durations: Vec<ToolDuration> = data
        .events
        .iter()
        .filter(|e| &*e.kind == "tool_result")
        .filter_map(|e| {
            Some(ToolDuration {
                session_id: ArcStr::clone(&session),
                tool: e.info.tool.clone(),
                duration_ms: e.duration_ms.get()?,
            })
        })
        .collect();
    let slow = SlowIndex::from_durations(&durations);
    for anchor in [Anchor::Auto, Anchor::Start, Anchor::End] {
        let analyzed = analysis::analyze(data.clone(), anchor);
        check_analyzed(&analyzed);
        let _ = json::SummaryJson.export(&analyzed);
        let _ = json::TimelineJson.export(&analyzed);
        let _ = markdown::SummaryMarkdown::default().export(&analyzed);
        let _ = text::TimelineText.export(&analyzed);
        let _ = text::TreeText.export(&analyzed);
        let filters = [
            SpanFilter::default(),
            SpanFilter { errors_only: true, ..SpanFilter::default() },
            SpanFilter { slow_only: true, ..SpanFilter::default() },
            SpanFilter {
                min_duration_ms: Some(1.0),
                kinds: ["tool_result".to_owned()].into(),
                ..SpanFilter::default()
            },
        ];
        for filter in filters {
            let flags = slow_flags(&analyzed.timeline, &analyzed.data.events, &slow, Some(10.0));
            let kept = filter.apply(&analyzed.timeline, &analyzed.data.events, &flags);
            assert!(kept.iter().all(|&i| i < analyzed.timeline.spans.len()));
            if filter.is_empty() {
                assert_eq!(kept.len(), analyzed.timeline.spans.len());
            }
        }
    }
}

/// The session [`spans`] decodes from `bytes`, sorted and warned about as the store does.
#[must_use]
pub fn session_from_bytes(bytes: &[u8]) -> SessionData {
    const IDS: [&str; 6] = ["a", "b", "c", "d", "", "x'00FF'"];
    const TOOLS: [&str; 3] = ["read_file", "web_search", ""];
    let mut input = Bytes::new(bytes);
    let base = time::parse_text("2026-11-20T09:59:07.754847+00:00").map_or(Timestamp(0), |p| p.time);
    let edges = ["1900-01-01T00:00:00Z", "2200-12-31T23:59:59.999999999Z"]
        .map(|t| time::parse_text(t).map_or(base, |p| p.time));
    let time_of = |input: &mut Bytes<'_>| -> Option<Timestamp> {
        match input.byte() % 16 {
            0 => None,
            1 => Some(edges[0]),
            2 => Some(edges[1]),
            3 => Some(base),
            _ => Some(base.add_ms(f64::from(input.i16()) * 7.0)),
        }
    };
    let row = SessionRow {
        id: "s".to_owned(),
        started: time_of(&mut input),
        completed: time_of(&mut input),
        ..SessionRow::default()
    };
    let count = usize::from(input.byte() % 48);
    let mut events = Vec::with_capacity(count);
    let mut parent_ids = Vec::with_capacity(count);
    for i in 0..count {
        let flags = input.byte();
        let id = if flags & 3 == 0 { input.pick(&IDS).to_owned() } else { format!("n{i}") };
        let kind = input.pick(&KINDS).to_owned();
        let time = time_of(&mut input);
        let duration_ms = match input.byte() % 8 {
            0..=2 => None,
            3 => Some(0.0),
            4 => Some(store::MAX_DURATION_MS),
            _ => Some(f64::from(input.u16()) * 0.5),
        };
        let parent_trace_id = match input.byte() % 6 {
            0 | 1 => None,
            2 => Some(id.clone()),
            3 => Some("missing".to_owned()),
            4 => Some(format!("n{}", input.byte() % 48)),
            _ => Some(input.pick(&IDS).to_owned()),
        };
        let mut object = serde_json::Map::new();
        let keys = input.byte();
        if keys & 1 == 1 {
            object.insert("tool".into(), input.pick(&TOOLS).into());
        }
        if keys & 2 == 2 {
            object.insert("step_id".into(), input.pick(&["s0", "s1"]).into());
        }
        if keys & 4 == 4 {
            object.insert("success".into(), (keys & 8 == 8).into());
        }
        if keys & 16 == 16 {
            object.insert("error".into(), "boom\nline two".into());
        }
        let data = if keys & 32 == 32 { "{not json".to_owned() } else { serde_json::Value::Object(object).to_string() };
        let tokens = |input: &mut Bytes<'_>| match input.byte() % 8 {
            0..=3 => None,
            4 => Some(i64::MAX),
            5 => Some(-1),
            _ => Some(i64::from(input.u16())),
        };
        let input_tokens = tokens(&mut input);
        let output_tokens = tokens(&mut input);
        let cost_usd = match input.byte() % 6 {
            0..=2 => None,
            3 => Some(1e308),
            _ => Some(f64::from(input.u16()) / 1e4),
        };
        let model_used = (input.byte() & 1 == 1).then(|| input.pick(&["m1", "m2"]).to_owned());
        let (info, warnings) = labels::event_info_of(&kind, &data, model_used.as_deref());
        events.push(TraceEvent {
            rowid: crate::model::RowId::new(i64::try_from(i).ok()),
            id: id.into(),
            kind: kind.into(),
            time: time.into(),
            duration_ms: duration_ms.into(),
            rare: crate::model::Rare::boxed(
                CallUsage {
                    input_tokens: input_tokens.into(),
                    output_tokens: output_tokens.into(),
                    model_used: model_used.map(Into::into),
                    provider_used: None,
                    cost_usd: cost_usd.into(),
                },
                warnings.into(),
            ),
            info,
        });
        parent_ids.push(parent_trace_id.map(crate::model::TraceId::from));
        if let (Some(e), Some(t)) = (events.last_mut(), time) {
            e.with_notes(|n| n.set_stored_timestamp(Some(t.rfc3339_micros())));
        }
    }
    crate::model::parents::sort_with_parents(&mut events, &mut parent_ids);
    let warnings = events.iter().flat_map(|e| e.notes().iter().map(|w| Warning::trace(&e.id, w.clone()))).collect();
    SessionData::linked(row, events, &parent_ids, warnings)
}

fn check_analyzed(a: &analysis::AnalyzedSession) {
    let t = &a.timeline;
    let events = &a.data.events;
    assert_ne!(t.anchor, Anchor::Auto, "the anchor applied is never auto");
    assert_eq!(t.span_of_event.len(), events.len());
    let mut seen = vec![0u32; events.len()];
    for (i, s) in t.spans.iter().enumerate() {
        for e in std::iter::once(s.event).chain(s.end_event.get()) {
            assert!(e < events.len(), "span {i} names event {e} of {}", events.len());
            seen[e] += 1;
            assert_eq!(t.span_of_event[e] as usize, i, "event {e} maps to span {}, not {i}", t.span_of_event[e]);
        }
        assert!(s.subtree_end() > i && s.subtree_end() <= t.spans.len(), "span {i}: subtree_end {}", s.subtree_end());
        match s.parent.get() {
            None => assert_eq!(s.depth, 0, "root span {i} at depth {}", s.depth),
            Some(p) => {
                assert!(p < i, "span {i} has parent {p} after it");
                assert_eq!(t.spans[p].depth + 1, s.depth, "span {i}: depth");
                assert!(t.spans[p].subtree_end() >= s.subtree_end(), "span {i} outside its parent's subtree");
            }
        }
        if s.timed {
            assert!(s.start_ms.is_finite() && s.end_ms.is_finite(), "span {i}: {} .. {}", s.start_ms, s.end_ms);
            assert!(s.end_ms >= s.start_ms, "span {i} ends before it starts");
            assert!(s.end_ms <= t.end_ms, "span {i} ends after the timeline");
        }
        assert!(s.duration_ms() >= 0.0);
    }
    assert!(seen.iter().all(|&n| n == 1), "every event in exactly one span: {seen:?}");
    let s = &a.summary;
    assert_eq!(s.total_events, events.len() as u64);
    assert_eq!(s.event_counts.values().sum::<u64>(), events.len() as u64);
    assert!(s.failure_count >= s.error_count);
    assert!(s.slowest.len() <= analysis::summary::SLOWEST_LISTED);
    assert!(s.slowest.windows(2).all(|w| w[0].duration_ms >= w[1].duration_ms), "slowest not sorted");
    for tool in &s.tools {
        assert!(tool.p50_ms <= tool.p95_ms && tool.p95_ms <= tool.max_ms, "{}: quantiles out of order", tool.tool);
    }
}

/// Writes the input to a scratch file (as given when it starts with the SQLite header;
/// otherwise behind one when its first byte is odd), then opens it, lists its sessions, loads
/// and analyzes each, shows the first trace of each, and searches it. Errors are fine; they
/// must be one line naming the file. The file must be unchanged afterwards and nothing but
/// SQLite's own working files may appear beside it.
///
/// # Panics
/// When the file changed, a file appeared, or an error is not one line naming the file.
pub fn open_db(bytes: &[u8]) {
    const HEADER: &[u8; 16] = b"SQLite format 3\0";
    let content = if bytes.starts_with(HEADER) {
        bytes.to_vec()
    } else {
        match bytes.split_first() {
            Some((first, rest)) if first & 1 == 1 => [HEADER.as_slice(), rest].concat(),
            Some((_, rest)) => rest.to_vec(),
            None => Vec::new(),
        }
    };
    let scratch = Scratch::new();
    let path = scratch.dir.join("agent_traces.db");
    if let Err(e) = std::fs::write(&path, &content) {
        panic!("{}: cannot write the scratch file: {e}", path.display());
    }
    read_everything(&path);
    assert_eq!(std::fs::read(&path).ok().as_deref(), Some(content.as_slice()), "the file changed");
    // SQLite's working files of a WAL-mode file (its header's read or write version is 2) may
    // appear: an empty -wal and the -shm index. Nothing else may.
    let wal_mode = content.get(18..20).is_some_and(|v| v.contains(&2));
    let entries: Vec<(String, u64)> = std::fs::read_dir(&scratch.dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().map_or(0, |m| m.len())))
                .collect()
        })
        .unwrap_or_default();
    for (name, len) in &entries {
        let allowed = name == "agent_traces.db"
            || wal_mode && name == "agent_traces.db-shm"
            || wal_mode && name == "agent_traces.db-wal" && *len == 0;
        assert!(allowed, "{name} ({len} bytes) appeared beside the database");
    }
}

fn read_everything(path: &Path) {
    let check = |e: &crate::error::StoreError| {
        let message = e.to_string();
        assert!(!message.contains('\n'), "error on more than one line: {message}");
        assert!(message.starts_with(&path.display().to_string()), "error not naming the file: {message}");
    };
    let store = match Store::open(path) {
        Ok(s) => s,
        Err(e) => return check(&e),
    };
    let list = match store.list_sessions() {
        Ok(l) => l,
        Err(e) => return check(&e),
    };
    assert_eq!(list.file.trace_count, list.sessions.iter().map(|s| s.event_count).sum::<u64>());
    for row in list.sessions.iter().take(64) {
        match store.resolve_session(&row.id) {
            Ok(id) => assert_eq!(id, row.id, "an exact id resolves to itself"),
            Err(e) => check(&e),
        }
        match store.load_session(&row.id, Some(SessionRow::clone(row))) {
            Ok(data) => {
                if let Some(first) = data.events.first() {
                    let detail = match first.rowid.get() {
                        Some(rowid) => store.trace_detail_by_row(rowid, &first.id.as_str()),
                        None => store.trace_detail(&first.id.as_str()),
                    };
                    if let Err(e) = detail {
                        check(&e);
                    }
                }
                let analyzed = analysis::analyze(data, Anchor::Auto);
                check_analyzed(&analyzed);
            }
            Err(e) => check(&e),
        }
    }
    for text in ["a", "%_\\", "\u{fffd}"] {
        let query = SearchQuery { text: text.to_owned(), ..SearchQuery::default() };
        let mut hits = 0usize;
        match store.search(&query, &mut |_| {
            hits += 1;
            if hits < 200 { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
        }) {
            Ok(count) => assert_eq!(count, hits),
            Err(e) => check(&e),
        }
    }
    if let Err(e) = store.tool_durations() {
        check(&e);
    }
    let _ = store.change_token();
}

/// A folder of its own under the system temp folder, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("trace-inspector-fuzz-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("{}: cannot create the scratch folder: {e}", dir.display());
        }
        Scratch { dir }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads structured values from fuzzer bytes; zeros once the input is used up.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A reader over `data`.
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next two bytes as a signed number.
    pub fn i16(&mut self) -> i16 {
        i16::from_le_bytes([self.byte(), self.byte()])
    }

    /// One of `items`, chosen by the next byte.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = usize::from(self.byte()) % items.len().max(1);
        items[i]
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
