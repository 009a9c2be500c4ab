//! The data a trace database holds, as plain Rust values: sessions, trace events, warnings.
//!
//! Nothing here knows about SQLite or egui. Values come from files we do not trust, so every
//! field that may be absent or malformed is an `Option`, and what could not be read is said in
//! a warning attached to the trace or session it concerns.

pub mod labels;
pub mod parents;
pub mod trace_id;

use arcstr::ArcStr;
use std::sync::Arc;

use serde::Serialize;

use crate::time::Timestamp;

pub use parents::{Parent, Parents};
pub use trace_id::{IdText, TraceId};

/// Columns of `agent_traces` the reference writer creates (the ones this program reads), in schema order.
pub const TRACE_COLUMNS: [&str; 15] = [
    "id",
    "session_id",
    "type",
    "timestamp",
    "duration_ms",
    "parent_trace_id",
    "data",
    "input_tokens",
    "output_tokens",
    "model_used",
    "provider_used",
    "cost_usd",
    "raw_input",
    "raw_output",
    "created_at",
];

/// A problem with the data that did not stop reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The trace it concerns, if any.
    pub trace_id: Option<String>,
    /// What is wrong, in one line.
    pub message: String,
}

impl Warning {
    /// A warning about one trace.
    #[must_use]
    pub fn trace(trace_id: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Self { trace_id: Some(trace_id.to_string()), message: message.into() }
    }

    /// A warning about the session or the file as a whole.
    #[must_use]
    pub fn general(message: impl Into<String>) -> Self {
        Self { trace_id: None, message: message.into() }
    }
}

/// One session in the session list, with aggregates computed by the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionRow {
    pub id: String,
    pub task: String,
    pub status: String,
    /// `started_at` as stored (text), or the first event's time when the session has no row.
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    #[serde(skip)]
    pub started: Option<Timestamp>,
    #[serde(skip)]
    pub completed: Option<Timestamp>,
    pub event_count: u64,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_tokens: i64,
    pub total_cost_usd: f64,
    pub error_count: u64,
    /// `completed_at - started_at`, as the reference list gives it; `None` while running.
    pub duration_ms: Option<f64>,
    /// Earliest and latest event timestamps as stored (text order).
    pub first_event_at: Option<String>,
    pub last_event_at: Option<String>,
    /// False when the session has no row in `agent_trace_sessions` (derived from its traces).
    pub has_session_row: bool,
    pub warnings: Vec<String>,
}

/// Facts about the open file beyond its sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub size_bytes: u64,
    pub wal_bytes: Option<u64>,
    pub has_sessions_table: bool,
    /// Columns of `agent_traces` this reader knows and the file lacks.
    pub missing_columns: Vec<String>,
    /// Columns of `agent_traces` this reader does not know (ignored).
    pub extra_columns: Vec<String>,
    pub trace_count: u64,
    pub retention_days: Option<String>,
}

/// Everything the session list shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionList {
    pub file: FileInfo,
    /// Each row shared: a copy of the list (the window's, after a refresh) is one reference
    /// count a row, and a refresh replaces only the rows that changed.
    pub sessions: Vec<Arc<SessionRow>>,
    pub warnings: Vec<Warning>,
}

/// One row of `agent_traces`, without `data` and raw input/output: those load only in
/// [`TraceDetail`]; what the views need from `data` is read at load into [`EventInfo`].
/// Values repeated across a session (event types, models, providers) are shared; the session
/// id is the session's ([`SessionData::row`]). A session may hold millions of these, so what
/// most events lack (tokens, model and cost; notes) sits behind one pointer each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceEvent {
    /// SQLite rowid, when the table has one: tells apart traces that share an id.
    pub rowid: RowId,
    /// The trace id (a UUID's text in 16 bytes: see [`TraceId`]).
    pub id: TraceId,
    /// The event type (`type` column).
    pub kind: ArcStr,
    /// The timestamp parsed; `None` when it could not be (a warning says why).
    pub time: EventTime,
    pub duration_ms: Millis,
    /// Tokens, model, provider and cost (LLM calls, mostly) and notes: what most events
    /// lack, behind one pointer (see [`TraceEvent::usage`] and [`TraceEvent::notes`]).
    pub rare: Option<Box<Rare>>,
    /// Fields read from `data` for labels and grouping.
    pub info: EventInfo,
}

/// The parts of an event most events lack, in one box of 48 bytes: a million-event session
/// keeps one pointer an event for them instead of two.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rare {
    pub usage: CallUsage,
    /// What could not be read as expected, one line each (and, for the few events whose
    /// timestamp text is not the form `time` is written back in, that text).
    pub notes: Notes,
}

/// A trace's SQLite rowid in 8 bytes instead of an `Option`'s 16: `i64::MIN` stands for none.
/// A file may hold that rowid too; such a trace is then found by its id, as in a table
/// without rowids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowId(OptI64);

impl RowId {
    pub const NONE: RowId = RowId(OptI64::NONE);

    #[must_use]
    pub fn new(rowid: Option<i64>) -> Self {
        RowId(OptI64::new(rowid))
    }

    #[must_use]
    pub fn get(self) -> Option<i64> {
        self.0.get()
    }
}

/// An event's time in 8 bytes instead of an `Option`'s 16: an [`OptI64`] of its nanoseconds,
/// whose none (`i64::MIN`) lies far outside the years a [`Timestamp`] may hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventTime(OptI64);

impl EventTime {
    pub const NONE: EventTime = EventTime(OptI64::NONE);

    #[must_use]
    pub fn new(time: Option<Timestamp>) -> Self {
        EventTime(OptI64::new(time.map(|t| t.0)))
    }

    #[must_use]
    pub fn get(self) -> Option<Timestamp> {
        self.0.get().map(Timestamp)
    }

    #[must_use]
    pub fn is_some(self) -> bool {
        self != Self::NONE
    }
}

impl From<Option<Timestamp>> for EventTime {
    fn from(time: Option<Timestamp>) -> Self {
        Self::new(time)
    }
}

/// An optional value in the value's own size (8 bytes for `f64` and `i64`, not an `Option`'s
/// 16): one value of the type, its [`Sentinel::NONE`], stands for none. Serialized as the
/// `Option` it stands for.
#[derive(Clone, Copy, Debug)]
pub struct Opt<T>(T);

/// The value a type sets aside for none in an [`Opt`].
pub trait Sentinel: Copy + PartialEq {
    const NONE: Self;
    fn is_none(self) -> bool;
}

/// NaN: numbers read from a file are checked finite first (see the store's checks).
impl Sentinel for f64 {
    const NONE: f64 = f64::NAN;
    fn is_none(self) -> bool {
        self.is_nan()
    }
}

/// `i64::MIN`: no token count, rowid or time in range reaches it (the store says so of a
/// stored one).
impl Sentinel for i64 {
    const NONE: i64 = i64::MIN;
    fn is_none(self) -> bool {
        self == i64::MIN
    }
}

/// An optional number; none is NaN.
pub type OptF64 = Opt<f64>;
/// An optional integer; none is `i64::MIN`.
pub type OptI64 = Opt<i64>;
/// A duration in milliseconds, none when absent.
pub type Millis = OptF64;

impl<T: Sentinel> Opt<T> {
    pub const NONE: Self = Opt(T::NONE);

    /// `value`, none for `None` or for the sentinel itself.
    #[must_use]
    pub fn new(value: Option<T>) -> Self {
        value.map_or(Self::NONE, Opt)
    }

    #[must_use]
    pub fn get(self) -> Option<T> {
        (!self.0.is_none()).then_some(self.0)
    }
}

impl<T: Sentinel> Default for Opt<T> {
    fn default() -> Self {
        Self::NONE
    }
}

impl<T: Sentinel> PartialEq for Opt<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Opt<i64> {}

impl<T: Sentinel> From<Option<T>> for Opt<T> {
    fn from(value: Option<T>) -> Self {
        Self::new(value)
    }
}

impl<T: Sentinel + Serialize> Serialize for Opt<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

/// The usage columns of one trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallUsage {
    pub input_tokens: OptI64,
    pub output_tokens: OptI64,
    pub model_used: Option<ArcStr>,
    pub provider_used: Option<ArcStr>,
    pub cost_usd: OptF64,
}

impl Rare {
    /// `None` when every column is empty and there are no notes: the event keeps no box.
    #[must_use]
    pub fn boxed(usage: CallUsage, notes: Notes) -> Option<Box<Rare>> {
        let rare = Rare { usage, notes };
        (rare != Rare::default()).then(|| Box::new(rare))
    }

    /// Changes the notes in `rare` with `f`, making the box only when there are notes to keep
    /// and dropping it when nothing is left in it.
    pub fn with_notes<R>(rare: &mut Option<Box<Rare>>, f: impl FnOnce(&mut Notes) -> R) -> R {
        match rare {
            Some(r) => {
                let out = f(&mut r.notes);
                if **r == Rare::default() {
                    *rare = None;
                }
                out
            }
            None => {
                let mut notes = Notes::default();
                let out = f(&mut notes);
                *rare = Rare::boxed(CallUsage::default(), notes);
                out
            }
        }
    }
}

/// What few events carry, behind one pointer: notes on what could not be read as expected
/// (the slice this reads as), and the timestamp text as stored when it is not the reference
/// writer's form of the event's time (see [`TraceEvent::timestamp`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes(Option<Box<NoteParts>>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct NoteParts {
    notes: Vec<String>,
    stored_timestamp: Option<String>,
}

impl Notes {
    pub fn push(&mut self, note: String) {
        self.0.get_or_insert_with(Box::default).notes.push(note);
    }

    /// The timestamp text kept as stored, if any.
    #[must_use]
    pub fn stored_timestamp(&self) -> Option<&str> {
        self.0.as_ref().and_then(|p| p.stored_timestamp.as_deref())
    }

    /// Keeps (or, with `None`, drops) the stored timestamp text.
    pub fn set_stored_timestamp(&mut self, text: Option<String>) {
        match (text, &mut self.0) {
            (Some(text), parts) => parts.get_or_insert_with(Box::default).stored_timestamp = Some(text),
            (None, Some(parts)) => {
                parts.stored_timestamp = None;
                if parts.notes.is_empty() {
                    self.0 = None;
                }
            }
            (None, None) => {}
        }
    }
}

impl From<Vec<String>> for Notes {
    fn from(notes: Vec<String>) -> Self {
        Notes((!notes.is_empty()).then(|| Box::new(NoteParts { notes, stored_timestamp: None })))
    }
}

impl std::ops::Deref for Notes {
    type Target = [String];

    fn deref(&self) -> &[String] {
        self.0.as_deref().map_or(&[], |p| p.notes.as_slice())
    }
}

impl<'a> IntoIterator for &'a Notes {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Extend<String> for Notes {
    fn extend<I: IntoIterator<Item = String>>(&mut self, notes: I) {
        for n in notes {
            self.push(n);
        }
    }
}

/// What the views need from an event's `data`, read once at load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventInfo {
    /// A short human label (tool name, step description, model, error text…), shared with
    /// the span drawn for the event.
    pub label: ArcStr,
    /// `data.tool` (or `tool_name`/`name` on tool events).
    pub tool: Option<ArcStr>,
    /// `data.step_id`.
    pub step_id: Option<ArcStr>,
    /// The event reports a failure (`success: false`, an `error` key on a result, error types).
    pub failed: bool,
    /// `data` parsed as a JSON object.
    pub data_is_object: bool,
    /// The row holds raw input or output (their sizes and text load with its detail).
    pub raw_io: bool,
    /// The arguments of a tool call (`data.params`, `arguments`, …), when the event names a
    /// tool and its data holds them: 8 bytes on every event, a small box on tool calls.
    pub args: Option<Box<CallArgs>>,
}

/// A tool call's arguments as the loop finder compares them: a hash of their normalised JSON
/// (keys sorted, no whitespace, `1.0` as `1`, a JSON text in a string read as JSON) and the
/// set of words in them. Hashes are keyed per process: compare them only within one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallArgs {
    /// 64-bit hash of the normalised arguments: equal arguments, equal hashes.
    pub hash: u64,
    /// 32-bit hashes of the distinct lower-cased words (keys and values), sorted: 4 bytes a
    /// word, for the similarity of near-identical calls.
    pub tokens: Box<[u32]>,
}

impl TraceEvent {
    /// The timestamp as stored (empty when NULL).
    #[must_use]
    pub fn timestamp(&self) -> std::borrow::Cow<'_, str> {
        match (self.notes().stored_timestamp(), self.time.get()) {
            (Some(text), _) => std::borrow::Cow::Borrowed(text),
            (None, Some(time)) => std::borrow::Cow::Owned(time.python_isoformat()),
            (None, None) => std::borrow::Cow::Borrowed(""),
        }
    }

    /// Sets the stored timestamp text, kept only when [`TraceEvent::timestamp`] could not
    /// write it again from `time`.
    pub fn set_timestamp_text(&mut self, text: &str) {
        let rebuilt = self.time.get().is_some_and(|t| t.is_python_isoformat(text));
        // An empty text without a time is how a NULL reads: nothing to keep either.
        let nothing = text.is_empty() && !self.time.is_some();
        let kept = (!(rebuilt || nothing)).then(|| text.to_owned());
        if kept.is_some() || self.notes().stored_timestamp().is_some() {
            self.with_notes(|n| n.set_stored_timestamp(kept));
        }
    }

    /// Input plus output tokens.
    #[must_use]
    pub fn total_tokens(&self) -> i64 {
        self.input_tokens().unwrap_or(0).saturating_add(self.output_tokens().unwrap_or(0))
    }

    /// `input_tokens`.
    #[must_use]
    pub fn input_tokens(&self) -> Option<i64> {
        self.usage().and_then(|u| u.input_tokens.get())
    }

    /// `output_tokens`.
    #[must_use]
    pub fn output_tokens(&self) -> Option<i64> {
        self.usage().and_then(|u| u.output_tokens.get())
    }

    /// `model_used` (never empty).
    #[must_use]
    pub fn model_used(&self) -> Option<&str> {
        self.model_shared().map(|m| &**m)
    }

    /// `model_used`, as the session's other calls to the model share it.
    #[must_use]
    pub fn model_shared(&self) -> Option<&ArcStr> {
        self.usage().and_then(|u| u.model_used.as_ref())
    }

    /// `provider_used` (never empty).
    #[must_use]
    pub fn provider_used(&self) -> Option<&str> {
        self.usage().and_then(|u| u.provider_used.as_deref())
    }

    /// `cost_usd`.
    #[must_use]
    pub fn cost_usd(&self) -> Option<f64> {
        self.usage().and_then(|u| u.cost_usd.get())
    }

    /// The usage columns, when the row has any of them.
    #[must_use]
    pub fn usage(&self) -> Option<&CallUsage> {
        self.rare.as_deref().map(|r| &r.usage)
    }

    /// The usage columns, made empty first when the event had none (for building events).
    pub fn usage_mut(&mut self) -> &mut CallUsage {
        &mut self.rare.get_or_insert_with(Box::default).usage
    }

    /// What could not be read as expected (and the timestamp text as stored, when kept).
    #[must_use]
    pub fn notes(&self) -> &Notes {
        static NONE: Notes = Notes(None);
        self.rare.as_deref().map_or(&NONE, |r| &r.notes)
    }

    /// Changes the notes with `f`; the box is made only when there are notes to keep, and
    /// dropped when nothing is left in it.
    pub fn with_notes<R>(&mut self, f: impl FnOnce(&mut Notes) -> R) -> R {
        Rare::with_notes(&mut self.rare, f)
    }

    /// True for events of the `error` type and other failure reports.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.info.failed || is_error_kind(&self.kind)
    }
}

/// Event types that are failures by their name.
#[must_use]
pub fn is_error_kind(kind: &str) -> bool {
    matches!(kind, "error" | "budget_exceeded" | "iteration_limit") || kind.ends_with("_failed")
}

/// A session opened for viewing: its list row and all its events, in stored time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionData {
    pub row: SessionRow,
    pub events: Vec<TraceEvent>,
    /// Each event's parent (see [`Parents`]): the parent ids, linked once.
    pub parents: Parents,
    pub warnings: Vec<Warning>,
}

impl SessionData {
    /// A session from its events in their final order and each one's parent id (at the same
    /// index; missing entries have none).
    #[must_use]
    pub fn linked(
        row: SessionRow,
        events: Vec<TraceEvent>,
        parent_ids: &[Option<TraceId>],
        warnings: Vec<Warning>,
    ) -> Self {
        let parents = Parents::resolve(&events, parent_ids);
        SessionData { row, events, parents, warnings }
    }

    /// Event `i`'s parent id, as stored.
    #[must_use]
    pub fn parent_id(&self, i: usize) -> Option<&TraceId> {
        self.parents.id(&self.events, i)
    }
}

/// One column of a trace as stored, for the detail view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    /// SQLite storage class: null, integer, real, text, blob.
    pub storage: &'static str,
    /// The value as text (cut when longer than the load limit).
    pub value: Option<String>,
    /// The stored size in bytes.
    pub size_bytes: u64,
    /// True when `value` is only the start of the stored value.
    pub cut: bool,
}

/// Every column of one trace, raw input and output included.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TraceDetail {
    pub id: String,
    pub fields: Vec<Field>,
    /// More than one row has this id.
    pub duplicates: usize,
    pub warnings: Vec<String>,
}

impl TraceDetail {
    /// The field with this column name.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One model's calls, tokens and cost across a whole file. A call is a trace naming the model
/// with tokens or a cost, as in a session's summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelUsage {
    pub model: String,
    pub provider: Option<String>,
    pub calls: u64,
    /// Sessions with at least one call.
    pub sessions: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// One model's calls, tokens and cost in one session (its `sessions` is 1): the file's model
/// table is the sum of these, and a filtered list's is the sum over its sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionModelUsage {
    pub session_id: String,
    pub usage: ModelUsage,
}

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub session_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    /// Which column matched first: type, data, raw_input or raw_output.
    pub field: String,
    /// Text around the first match.
    pub snippet: String,
}

/// What to search for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Substring, matched case-insensitively for ASCII; `%` and `_` match literally.
    pub text: String,
    pub session_id: Option<String>,
    pub kind: Option<String>,
}

/// One tool call's duration, as the store reads it for the file-wide percentiles.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDuration {
    /// Shared by the session's other calls.
    pub session_id: ArcStr,
    /// The tool the call's data names (shared by the tool's other calls); `None` when it names
    /// none, and the analysis decides what such a call is called.
    pub tool: Option<ArcStr>,
    pub duration_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_small() {
        // A session may hold millions of events: every byte here is a megabyte per million.
        assert!(size_of::<TraceEvent>() <= 96, "TraceEvent is {} bytes", size_of::<TraceEvent>());
        assert!(size_of::<EventInfo>() <= 40, "EventInfo is {} bytes", size_of::<EventInfo>());
        assert_eq!(size_of::<RowId>(), 8);
        assert_eq!((size_of::<EventTime>(), size_of::<Millis>(), size_of::<Option<ArcStr>>()), (8, 8, 8));
        assert_eq!(size_of::<Notes>(), 8);
        assert_eq!(size_of::<Option<Box<Rare>>>(), 8);
        // The box: usage and notes in mimalloc's 48-byte class, where usage alone took it too.
        assert!(size_of::<Rare>() <= 48, "Rare is {} bytes", size_of::<Rare>());
    }

    #[test]
    fn time_and_duration_keep_every_value_but_their_none() {
        for t in
            [Some(Timestamp(0)), Some(Timestamp(-1)), Some(Timestamp(i64::MIN + 1)), Some(Timestamp(i64::MAX)), None]
        {
            assert_eq!(EventTime::new(t).get(), t);
            assert_eq!(EventTime::new(t).is_some(), t.is_some());
        }
        assert_eq!(EventTime::default().get(), None);
        for d in [Some(0.0), Some(-0.0), Some(1e300), Some(f64::INFINITY), Some(-2.5), None] {
            assert_eq!(Millis::new(d).get(), d);
        }
        assert_eq!((Millis::default().get(), Millis::new(Some(f64::NAN)).get()), (None, None));
        assert_eq!(Millis::new(None), Millis::NONE);
        assert_ne!(Millis::new(Some(1.0)), Millis::NONE);
        for n in [Some(0), Some(-1), Some(i64::MAX), Some(i64::MIN + 1), None] {
            assert_eq!(OptI64::new(n).get(), n);
            assert_eq!(serde_json::to_string(&OptI64::new(n)).ok(), serde_json::to_string(&n).ok());
        }
        assert_eq!((OptI64::default().get(), OptI64::new(Some(i64::MIN)).get()), (None, None));
        for d in [Some(0.25), Some(-3.0), None] {
            assert_eq!(serde_json::to_string(&OptF64::new(d)).ok(), serde_json::to_string(&d).ok());
        }
    }

    #[test]
    fn usage_and_notes_are_boxed_only_when_the_row_has_some() {
        assert_eq!(Rare::boxed(CallUsage::default(), Notes::default()), None);
        // Notes alone, then none again: the box comes and goes with them.
        let mut e = TraceEvent::default();
        e.with_notes(|n| n.push("odd".to_owned()));
        assert_eq!(e.notes().iter().collect::<Vec<_>>(), ["odd"]);
        assert_eq!(e.usage().map(|u| u.input_tokens.get()), Some(None), "usage columns stay empty");
        e.with_notes(|n| *n = Notes::default());
        assert!(e.rare.is_none(), "no box for nothing");
        e.with_notes(|_| {});
        assert!(e.rare.is_none(), "looking makes no box");
        let mut e = TraceEvent::default();
        assert_eq!((e.input_tokens(), e.model_used(), e.cost_usd(), e.total_tokens()), (None, None, None, 0));
        e.usage_mut().input_tokens = Some(7).into();
        e.usage_mut().output_tokens = Some(i64::MAX).into();
        e.usage_mut().model_used = Some("m".into());
        e.usage_mut().provider_used = Some("p".into());
        assert_eq!((e.input_tokens(), e.output_tokens(), e.total_tokens()), (Some(7), Some(i64::MAX), i64::MAX));
        assert_eq!((e.model_used(), e.provider_used(), e.cost_usd()), (Some("m"), Some("p"), None));
        let only_cost = Rare::boxed(CallUsage { cost_usd: Some(0.0).into(), ..CallUsage::default() }, Notes::default());
        assert_eq!(only_cost.and_then(|r| r.usage.cost_usd.get()), Some(0.0), "a zero cost is a value, kept");
        // Usage and notes share the box, and changing the notes keeps the usage.
        e.with_notes(|n| n.push("late".to_owned()));
        assert_eq!((e.input_tokens(), e.notes().len()), (Some(7), 1));
        e.with_notes(|n| *n = Notes::default());
        assert_eq!((e.input_tokens(), e.rare.is_some()), (Some(7), true));
    }

    #[test]
    fn rowids_keep_none_apart() {
        for rowid in [None, Some(0), Some(-1), Some(i64::MAX), Some(i64::MIN + 1)] {
            assert_eq!(RowId::new(rowid).get(), rowid);
        }
        assert_eq!(RowId::new(Some(i64::MIN)).get(), None, "the one rowid that reads as none");
        assert_eq!(RowId::default().get(), None);
    }

    #[test]
    fn notes_read_as_a_slice() {
        let mut n = Notes::default();
        assert!(n.is_empty() && n.iter().next().is_none());
        assert_eq!(Notes::from(Vec::new()), n, "no notes, no allocation");
        n.push("a".to_owned());
        n.extend(["b".to_owned(), "c".to_owned()]);
        assert_eq!(n.to_vec(), ["a", "b", "c"]);
        assert_eq!((&n).into_iter().count(), 3);
        assert_eq!(Notes::from(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]), n);
        // The stored timestamp rides along without showing as a note.
        n.set_stored_timestamp(Some("yesterday".to_owned()));
        assert_eq!((n.len(), n.stored_timestamp()), (3, Some("yesterday")));
        let mut t = Notes::default();
        t.set_stored_timestamp(Some("x".to_owned()));
        assert!(t.is_empty() && t.stored_timestamp() == Some("x"));
        t.set_stored_timestamp(None);
        assert_eq!(t, Notes::default(), "nothing left, no allocation");
    }
}
