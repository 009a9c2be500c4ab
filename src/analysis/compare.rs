//! Two runs side by side: the spans of two sessions paired by what they do, never by id, and
//! what changed between them (time, tokens, cost, steps added or gone).
//!
//! Each span gets a signature: its kind and the tool it calls, the model it asks or its label
//! with the run-specific parts (numbers, UUIDs, hex ids, dates) taken out ([`normalize_label`]).
//! The trees are aligned level by level: the roots of both sessions first, then the children of
//! each aligned pair, each list by a sequence diff of signatures (`similar`'s Myers, whose work
//! is bounded on long lists that share little). A signature repeated on one side (a retried
//! call) pairs with its first occurrence, and the repeats are one-sided. What is not paired is
//! `only_a` or `only_b`, with its whole subtree.
//!
//! The result ([`Comparison`]) is plain data: rows in the order of the merged tree, each with
//! the span indices of both sessions, computed once; [`json_diff`] and [`line_diff`] compare
//! the detail of one pair when it is opened.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::analysis::tools::tool_call;
use crate::analysis::{AnalyzedSession, Span, SpanKind};
use crate::hash::IdHashBuilder;
use crate::model::TraceEvent;

/// When a pair counts as slower or faster, and how many contributors to list.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CompareOptions {
    /// A pair is slower (faster) when B's duration exceeds (falls short of) A's by at least this
    /// share of A's duration …
    pub min_ratio: f64,
    /// … and by at least this many milliseconds.
    pub min_ms: f64,
    /// How many of the biggest changes [`Contributors`] lists.
    pub top: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self { min_ratio: 0.10, min_ms: 100.0, top: 10 }
    }
}

/// What became of a span between the two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Paired, the durations within the threshold (or not both measurable).
    Same,
    /// Paired, B took longer beyond the threshold.
    Slower,
    /// Paired, B was quicker beyond the threshold.
    Faster,
    /// Only in run A (removed in B).
    OnlyA,
    /// Only in run B (added in B).
    OnlyB,
}

impl Status {
    /// The name used in JSON and text: `same`, `slower`, `faster`, `only_a`, `only_b`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Status::Same => "same",
            Status::Slower => "slower",
            Status::Faster => "faster",
            Status::OnlyA => "only_a",
            Status::OnlyB => "only_b",
        }
    }

    /// True for spans found in both runs.
    #[must_use]
    pub fn is_pair(self) -> bool {
        matches!(self, Status::Same | Status::Slower | Status::Faster)
    }
}

/// One row of the merged tree: a pair, or a span of one run only.
///
/// Δ values are B minus A. A one-sided row's Δ is what it adds (`only_b`, positive) or takes
/// away (`only_a`, negative) of its own figures, so the rows' Δ tokens and cost add up to the
/// runs' Δ. A Δ is `None` when either side lacks the figure (an untimed span, a call without
/// tokens, a file without the column).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index into run A's [`crate::analysis::Timeline::spans`].
    pub a: Option<usize>,
    /// Index into run B's spans.
    pub b: Option<usize>,
    pub status: Status,
    /// Index into [`Comparison::signatures`].
    pub signature: usize,
    /// The parent row (rows are in depth-first order of the merged tree).
    pub parent: Option<usize>,
    pub depth: u32,
    /// One past the last row of this row's subtree.
    pub subtree_end: usize,
    /// The span's duration in A and in B (`None`: absent, or no readable time).
    pub a_ms: Option<f64>,
    pub b_ms: Option<f64>,
    pub delta_ms: Option<f64>,
    pub delta_input_tokens: Option<i64>,
    pub delta_output_tokens: Option<i64>,
    pub delta_cost_usd: Option<f64>,
}

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

/// Two sessions compared: every span of both in one merged tree, totals and top changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub options: CompareOptions,
    /// Depth-first order of the merged tree; every span of both runs is in exactly one row.
    pub rows: Vec<Row>,
    /// The distinct signatures, as text (`tool web_search`, `llm gpt-4o`, `step s#: …`).
    pub signatures: Vec<String>,
    pub totals: Vec<Figure>,
    pub counts: Counts,
    pub contributors: Contributors,
    /// What could not be compared, or was odd, in one line each.
    pub warnings: Vec<String>,
    row_of_a: Vec<usize>,
    row_of_b: Vec<usize>,
}

impl Comparison {
    /// The signature text of a row.
    #[must_use]
    pub fn signature(&self, row: &Row) -> &str {
        self.signatures.get(row.signature).map_or("", String::as_str)
    }

    /// The row holding span `span` of run A.
    #[must_use]
    pub fn row_of_a(&self, span: usize) -> Option<usize> {
        self.row_of_a.get(span).copied().filter(|&r| r != NONE)
    }

    /// The row holding span `span` of run B.
    #[must_use]
    pub fn row_of_b(&self, span: usize) -> Option<usize> {
        self.row_of_b.get(span).copied().filter(|&r| r != NONE)
    }

    /// The total with this name ([`Figure::name`]).
    #[must_use]
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        self.totals.iter().find(|f| f.name == name)
    }

    /// Rows that are the top of a one-sided subtree (a step added or removed as a whole).
    pub fn unpaired_tops(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows.iter().enumerate().filter_map(|(i, r)| {
            let top =
                !r.status.is_pair() && r.parent.and_then(|p| self.rows.get(p)).is_none_or(|p| p.status != r.status);
            top.then_some(i)
        })
    }
}

/// Differences of durations below this are rounding (a nanosecond, finer than any timestamp).
const ROUNDING_MS: f64 = 1e-6;

/// Not yet placed in a row.
const NONE: usize = usize::MAX;

/// Text of a label that differs between runs of the same work, replaced: a UUID by `<uuid>`, a
/// date or time by `<date>`, a hex id (8 or more hex digits with a letter and a digit, or `0x…`)
/// by `<hex>`, any other run of digits by `#`; white space collapses to one space.
#[must_use]
pub fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let bytes = label.as_bytes();
    let mut i = 0;
    let mut space = false;
    while i < bytes.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            if at_word_start {
                if let Some(n) = uuid_len(&bytes[i..]) {
                    out.push_str("<uuid>");
                    i += n;
                    continue;
                }
                if let Some(n) = date_len(&bytes[i..]) {
                    out.push_str("<date>");
                    i += n;
                    continue;
                }
                let word = bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
                if is_hex_id(&bytes[i..i + word]) {
                    out.push_str("<hex>");
                    i += word;
                    continue;
                }
            }
            if b.is_ascii_digit() {
                out.push('#');
                i += bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            } else {
                out.push(char::from(b));
                i += 1;
            }
            continue;
        }
        // A character that is not an ASCII letter or digit: copied whole (UTF-8 intact).
        let len = label[i..].chars().next().map_or(1, char::len_utf8);
        let text = &label[i..i + len];
        if text.chars().all(char::is_whitespace) {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push_str(text);
        }
        i += len;
    }
    out
}

/// `8-4-4-4-12` hex digits not followed by a letter or digit.
fn uuid_len(b: &[u8]) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut i = 0;
    for (g, len) in groups.iter().enumerate() {
        if g > 0 {
            (b.get(i) == Some(&b'-')).then_some(())?;
            i += 1;
        }
        b.get(i..i + len)?.iter().all(u8::is_ascii_hexdigit).then_some(())?;
        i += len;
    }
    word_ends(b, i)
}

/// `YYYY-MM-DD`, optionally with a time (`T` or a space, `hh:mm`, `:ss`, a fraction, `Z` or an
/// offset); or a time alone (`hh:mm:ss`, a fraction).
fn date_len(b: &[u8]) -> Option<usize> {
    let digits = |at: usize, n: usize| b.get(at..at + n).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let time_at = |at: usize| -> Option<usize> {
        // hh:mm[:ss[.fff]]
        (digits(at, 2) && b.get(at + 2) == Some(&b':') && digits(at + 3, 2)).then_some(())?;
        let mut i = at + 5;
        if b.get(i) == Some(&b':') && digits(i + 1, 2) {
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) && digits(i + 1, 1) {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
        }
        Some(i)
    };
    if digits(0, 4) && b.get(4) == Some(&b'-') && digits(5, 2) && b.get(7) == Some(&b'-') && digits(8, 2) {
        let mut i = 10;
        if matches!(b.get(i), Some(b'T' | b't' | b' ' | b'_'))
            && let Some(end) = time_at(i + 1)
        {
            i = end;
            match b.get(i) {
                Some(b'Z' | b'z') => i += 1,
                Some(b'+' | b'-') if digits(i + 1, 2) => {
                    i += 3;
                    if b.get(i) == Some(&b':') && digits(i + 1, 2) {
                        i += 3;
                    } else if digits(i, 2) {
                        i += 2;
                    }
                }
                _ => {}
            }
        }
        return word_ends(b, i).or(Some(10).filter(|_| word_ends(b, 10).is_some()));
    }
    // A time alone needs seconds: `12:30` may be a ratio or a score.
    let end = time_at(0)?;
    (end >= 8).then_some(())?;
    word_ends(b, end)
}

/// `Some(len)` when no letter or digit follows `len` bytes.
fn word_ends(b: &[u8], len: usize) -> Option<usize> {
    (!b.get(len).is_some_and(u8::is_ascii_alphanumeric)).then_some(len)
}

/// A word of hex digits that reads as an id: `0x` and hex digits, or 8 or more hex digits with
/// at least one letter and one digit (so `deadbeef` and `2024` stay words and numbers).
fn is_hex_id(word: &[u8]) -> bool {
    if let Some(rest) = word.strip_prefix(b"0x").or_else(|| word.strip_prefix(b"0X")) {
        return !rest.is_empty() && rest.iter().all(u8::is_ascii_hexdigit);
    }
    word.len() >= 8
        && word.iter().all(u8::is_ascii_hexdigit)
        && word.iter().any(u8::is_ascii_digit)
        && word.iter().any(u8::is_ascii_alphabetic)
}

/// The signature of a span as text, into `out` (cleared): what the span does, the same in two
/// runs of the same work. Returns the kind it is keyed under with the text.
fn write_signature(span: &Span, events: &[TraceEvent], out: &mut String) {
    out.clear();
    let event_type = events.get(span.event).map_or("", |e| &*e.kind);
    match span.kind {
        SpanKind::Session => out.push_str("session"),
        SpanKind::Tool => {
            out.push_str("tool ");
            out.push_str(tool_call(span, events).unwrap_or_default());
        }
        SpanKind::Llm => {
            out.push_str("llm ");
            match span.model(events) {
                Some(model) => out.push_str(model),
                None => out.push_str(&normalize_label(&span.label)),
            }
        }
        SpanKind::Step => {
            out.push_str("step ");
            out.push_str(&normalize_label(&span.label));
        }
        SpanKind::Error | SpanKind::Other => {
            out.push_str(if event_type.is_empty() { "(no type)" } else { event_type });
            let label = normalize_label(&span.label);
            if !label.is_empty() {
                out.push(' ');
                out.push_str(&label);
            }
        }
    }
}

/// Signatures interned to small numbers shared by both runs.
#[derive(Default)]
struct Interner {
    by_key: HashMap<String, u32, IdHashBuilder>,
    texts: Vec<String>,
}

impl Interner {
    /// The number of each span's signature.
    fn signatures(&mut self, session: &AnalyzedSession) -> Vec<u32> {
        let mut text = String::new();
        let mut key = String::new();
        let events = &session.data.events;
        session
            .timeline
            .spans
            .iter()
            .map(|span| {
                write_signature(span, events, &mut text);
                // Keyed by kind too: an event type named like a kind stays apart from it.
                key.clear();
                let _ = write!(key, "{}\0{text}", span.kind.name());
                if let Some(&n) = self.by_key.get(key.as_str()) {
                    return n;
                }
                let n = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
                self.by_key.insert(key.clone(), n);
                self.texts.push(text.clone());
                n
            })
            .collect()
    }
}

/// The direct children of `parent` (the roots for `None`), by the depth-first layout.
fn children(spans: &[Span], parent: Option<usize>, placed: &[usize]) -> Vec<usize> {
    let (mut i, end) = match parent {
        None => (0, spans.len()),
        Some(p) => (p + 1, spans.get(p).map_or(p + 1, |s| s.subtree_end.min(spans.len()))),
    };
    let mut out = Vec::new();
    while i < end {
        if placed.get(i) == Some(&NONE) {
            out.push(i);
        }
        i = spans.get(i).map_or(i + 1, |s| s.subtree_end.max(i + 1));
    }
    out
}

/// One entry of an aligned list: positions in A's and B's lists.
type Entry = (Option<usize>, Option<usize>);

/// Aligns two lists of signatures: the diff's pairs, then repeats moved after their first
/// occurrence (a retry pairs with the first call; the repeats are one-sided).
fn align(sig_a: &[u32], sig_b: &[u32]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::with_capacity(sig_a.len().max(sig_b.len()));
    if sig_a.is_empty() || sig_b.is_empty() {
        entries.extend((0..sig_a.len()).map(|i| (Some(i), None)));
        entries.extend((0..sig_b.len()).map(|j| (None, Some(j))));
        return entries;
    }
    for op in capture_diff_slices(Algorithm::Myers, sig_a, sig_b) {
        match op {
            DiffOp::Equal { old_index, new_index, len } => {
                entries.extend((0..len).map(|k| (Some(old_index + k), Some(new_index + k))));
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                entries.extend((old_index..old_index + old_len).map(|i| (Some(i), None)));
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                entries.extend((new_index..new_index + new_len).map(|j| (None, Some(j))));
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                entries.extend((old_index..old_index + old_len).map(|i| (Some(i), None)));
                entries.extend((new_index..new_index + new_len).map(|j| (None, Some(j))));
            }
        }
    }
    slide(&mut entries, sig_b, |e| &mut e.0, |e| e.1);
    slide(&mut entries, sig_a, |e| &mut e.1, |e| e.0);
    pair_moved(&mut entries, sig_a, sig_b);
    entries
}

/// Pairs spans that changed places: a signature left one-sided on both sides (a call whose
/// start moved past an instant, say) pairs up, first with first, at A's place. A repeat with
/// nothing left over on the other side stays one-sided.
fn pair_moved(entries: &mut Vec<Entry>, sig_a: &[u32], sig_b: &[u32]) {
    let mut only_b: HashMap<u32, std::collections::VecDeque<usize>, IdHashBuilder> = HashMap::default();
    for (k, e) in entries.iter().enumerate() {
        if let (None, Some(j)) = *e
            && let Some(&sig) = sig_b.get(j)
        {
            only_b.entry(sig).or_default().push_back(k);
        }
    }
    if only_b.is_empty() {
        return;
    }
    let mut moved = false;
    for k in 0..entries.len() {
        let (Some(i), None) = entries[k] else { continue };
        let Some(kb) = sig_a.get(i).and_then(|sig| only_b.get_mut(sig)).and_then(|q| q.pop_front()) else {
            continue;
        };
        entries[k].1 = entries[kb].1.take();
        moved = true;
    }
    if moved {
        entries.retain(|e| e.0.is_some() || e.1.is_some());
    }
}

/// Moves one-sided runs down past a pair of the same signature: in `[x x'] [pair x]` (the run
/// on the side `own`, the other side `other` missing), the pair goes to the first `x` and the
/// later one becomes one-sided. Repeats after their first occurrence are what was added.
fn slide(
    entries: &mut [Entry],
    sigs: &[u32],
    other: impl Fn(&mut Entry) -> &mut Option<usize>,
    own: impl Fn(&Entry) -> Option<usize>,
) {
    let sig = |e: &Entry| own(e).and_then(|i| sigs.get(i)).copied();
    let one_sided = |e: &mut Entry| own(e).is_some() && other(e).is_none();
    let mut k = 0;
    while k < entries.len() {
        if !one_sided(&mut entries[k]) {
            k += 1;
            continue;
        }
        // The run is entries[start..end]; both ends only move forward (linear time).
        let mut start = k;
        let mut end = k;
        loop {
            while end < entries.len() && one_sided(&mut entries[end]) {
                end += 1;
            }
            let movable = end < entries.len()
                && start < end
                && other(&mut entries[end]).is_some()
                && sig(&entries[end]).is_some()
                && sig(&entries[end]) == sig(&entries[start]);
            if !movable {
                k = end.max(k + 1);
                break;
            }
            let taken = other(&mut entries[end]).take();
            *other(&mut entries[start]) = taken;
            start += 1;
            end += 1;
        }
    }
}

/// The duration of a span, `None` without a readable time.
fn duration(span: &Span) -> Option<f64> {
    span.timed.then(|| span.duration_ms())
}

fn minus(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.zip(b).map(|(a, b)| b.saturating_sub(a))
}

/// Compares two analysed sessions: A the reference (the good run), B the one to explain.
#[must_use]
pub fn compare(a: &AnalyzedSession, b: &AnalyzedSession, options: &CompareOptions) -> Comparison {
    let mut interner = Interner::default();
    let sig_a = interner.signatures(a);
    let sig_b = interner.signatures(b);
    let (spans_a, spans_b) = (&a.timeline.spans, &b.timeline.spans);
    let (events_a, events_b) = (&a.data.events, &b.data.events);
    let mut builder = Builder {
        options,
        a,
        b,
        sig_a: &sig_a,
        sig_b: &sig_b,
        rows: Vec::with_capacity(spans_a.len().max(spans_b.len())),
        row_of_a: vec![NONE; spans_a.len()],
        row_of_b: vec![NONE; spans_b.len()],
    };

    struct Frame {
        entries: Vec<(Option<usize>, Option<usize>)>,
        next: usize,
        parent: Option<usize>,
        depth: u32,
    }
    let pick = |list: &[usize], sigs: &[u32]| -> Vec<u32> {
        list.iter().map(|&i| sigs.get(i).copied().unwrap_or(u32::MAX)).collect()
    };
    let frame = |ca: Vec<usize>, cb: Vec<usize>, parent: Option<usize>, depth: u32| {
        let entries = align(&pick(&ca, &sig_a), &pick(&cb, &sig_b))
            .into_iter()
            .map(|(i, j)| (i.and_then(|i| ca.get(i).copied()), j.and_then(|j| cb.get(j).copied())))
            .collect();
        Frame { entries, next: 0, parent, depth }
    };
    let mut stack =
        vec![frame(children(spans_a, None, &builder.row_of_a), children(spans_b, None, &builder.row_of_b), None, 0)];
    while let Some(top) = stack.last_mut() {
        let Some(&(ea, eb)) = top.entries.get(top.next) else {
            stack.pop();
            continue;
        };
        top.next += 1;
        let (parent, depth) = (top.parent, top.depth);
        match (ea, eb) {
            (Some(i), Some(j)) => {
                // An inconsistent tree (hand-built) could offer a span twice: place it once.
                if builder.row_of_a[i] != NONE || builder.row_of_b[j] != NONE {
                    continue;
                }
                let row = builder.pair(i, j, parent, depth);
                let ca = children(spans_a, Some(i), &builder.row_of_a);
                let cb = children(spans_b, Some(j), &builder.row_of_b);
                if !ca.is_empty() || !cb.is_empty() {
                    stack.push(frame(ca, cb, Some(row), depth.saturating_add(1)));
                }
            }
            (Some(i), None) => builder.one_sided(Side::A, i, parent, depth),
            (None, Some(j)) => builder.one_sided(Side::B, j, parent, depth),
            (None, None) => {}
        }
    }
    let mut warnings = Vec::new();
    // Spans the tree walk did not reach (only a hand-built, inconsistent tree has them).
    for (side, name) in [(Side::A, "A"), (Side::B, "B")] {
        let unplaced: Vec<usize> =
            builder.placed(side).iter().enumerate().filter(|(_, r)| **r == NONE).map(|(i, _)| i).collect();
        if !unplaced.is_empty() {
            warnings
                .push(format!("{} spans of {name} are outside its tree; listed at the end, unpaired", unplaced.len()));
        }
        for i in unplaced {
            if builder.placed(side)[i] == NONE {
                builder.one_sided(side, i, None, 0);
            }
        }
    }
    let Builder { rows, row_of_a, row_of_b, .. } = builder;
    let mut rows = rows;
    // Subtree ends: rows are depth-first, so a parent's subtree ends where its last child's does.
    for i in (0..rows.len()).rev() {
        let end = rows[i].subtree_end.max(i + 1);
        rows[i].subtree_end = end;
        if let Some(p) = rows[i].parent.filter(|&p| p < i) {
            rows[p].subtree_end = rows[p].subtree_end.max(end);
        }
    }

    let mut counts = Counts::default();
    for r in &rows {
        match r.status {
            Status::Same => counts.same += 1,
            Status::Slower => counts.slower += 1,
            Status::Faster => counts.faster += 1,
            Status::OnlyA => counts.only_a += 1,
            Status::OnlyB => counts.only_b += 1,
        }
    }
    counts.pairs = counts.same + counts.slower + counts.faster;

    let run_a = RunFigures::of(a);
    let run_b = RunFigures::of(b);
    for (figures, name) in [(&run_a, "A"), (&run_b, "B")] {
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
    let count = |n: usize| Some(n as f64);
    let totals = vec![
        Figure::new("wall_time_ms", run_a.wall_time_ms, run_b.wall_time_ms),
        Figure::new("events", count(events_a.len()), count(events_b.len())),
        Figure::new("spans", count(run_a.spans), count(run_b.spans)),
        Figure::new("llm_calls", count(run_a.llm_calls), count(run_b.llm_calls)),
        Figure::new("tool_calls", count(run_a.tool_calls), count(run_b.tool_calls)),
        Figure::new("failed_spans", count(run_a.failed), count(run_b.failed)),
        Figure::new("input_tokens", run_a.input_tokens.map(|t| t as f64), run_b.input_tokens.map(|t| t as f64)),
        Figure::new("output_tokens", run_a.output_tokens.map(|t| t as f64), run_b.output_tokens.map(|t| t as f64)),
        Figure::new("cost_usd", run_a.cost_usd, run_b.cost_usd),
    ];

    let contributors = contributors(&rows, a, b, options.top, run_a.cost_usd.is_some() && run_b.cost_usd.is_some());
    Comparison {
        options: *options,
        rows,
        signatures: interner.texts,
        totals,
        counts,
        contributors,
        warnings,
        row_of_a,
        row_of_b,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Rows as they are placed.
struct Builder<'s> {
    options: &'s CompareOptions,
    a: &'s AnalyzedSession,
    b: &'s AnalyzedSession,
    sig_a: &'s [u32],
    sig_b: &'s [u32],
    rows: Vec<Row>,
    row_of_a: Vec<usize>,
    row_of_b: Vec<usize>,
}

impl Builder<'_> {
    fn placed(&self, side: Side) -> &[usize] {
        match side {
            Side::A => &self.row_of_a,
            Side::B => &self.row_of_b,
        }
    }

    fn pair(&mut self, i: usize, j: usize, parent: Option<usize>, depth: u32) -> usize {
        let (sa, sb) = (&self.a.timeline.spans[i], &self.b.timeline.spans[j]);
        let (ea, eb) = (&self.a.data.events, &self.b.data.events);
        let (a_ms, b_ms) = (duration(sa), duration(sb));
        // Times count from each run's own origin: equal durations can differ in the last bits.
        let delta_ms = a_ms.zip(b_ms).map(|(x, y)| if (y - x).abs() < ROUNDING_MS { 0.0 } else { y - x });
        let status = match (a_ms, delta_ms) {
            (Some(base), Some(d)) if d.abs() >= self.options.min_ms && d.abs() >= self.options.min_ratio * base => {
                if d > 0.0 { Status::Slower } else { Status::Faster }
            }
            _ => Status::Same,
        };
        let (ta, tb) = (sa.tokens(ea), sb.tokens(eb));
        let row = self.rows.len();
        self.rows.push(Row {
            a: Some(i),
            b: Some(j),
            status,
            signature: self.sig_a.get(i).map_or(0, |&s| s as usize),
            parent,
            depth,
            subtree_end: row + 1,
            a_ms,
            b_ms,
            delta_ms,
            delta_input_tokens: minus(ta.map(|t| t.0), tb.map(|t| t.0)),
            delta_output_tokens: minus(ta.map(|t| t.1), tb.map(|t| t.1)),
            delta_cost_usd: sa.cost_usd(ea).zip(sb.cost_usd(eb)).map(|(x, y)| y - x),
        });
        self.row_of_a[i] = row;
        self.row_of_b[j] = row;
        row
    }

    /// Places span `top` of one run and its whole subtree as one-sided rows.
    fn one_sided(&mut self, side: Side, top: usize, parent: Option<usize>, depth: u32) {
        let session = match side {
            Side::A => self.a,
            Side::B => self.b,
        };
        let spans = &session.timeline.spans;
        let events = &session.data.events;
        let Some(top_span) = spans.get(top) else { return };
        let end = top_span.subtree_end.clamp(top + 1, spans.len());
        for k in top..end {
            let placed = match side {
                Side::A => &self.row_of_a,
                Side::B => &self.row_of_b,
            };
            if placed[k] != NONE {
                continue;
            }
            let span = &spans[k];
            // The parent's row when the parent is inside this subtree and placed, else the top's.
            let (row_parent, row_depth) = match span.parent.filter(|&p| k > top && p >= top && p < k) {
                Some(p) if placed[p] != NONE => (Some(placed[p]), self.rows[placed[p]].depth.saturating_add(1)),
                _ => (parent, depth),
            };
            let sign = if side == Side::A { -1 } else { 1 };
            let ms = duration(span);
            let tokens = span.tokens(events);
            let row = self.rows.len();
            let (signature, status) = match side {
                Side::A => (self.sig_a.get(k), Status::OnlyA),
                Side::B => (self.sig_b.get(k), Status::OnlyB),
            };
            self.rows.push(Row {
                a: (side == Side::A).then_some(k),
                b: (side == Side::B).then_some(k),
                status,
                signature: signature.map_or(0, |&s| s as usize),
                parent: row_parent,
                depth: row_depth,
                subtree_end: row + 1,
                a_ms: if side == Side::A { ms } else { None },
                b_ms: if side == Side::B { ms } else { None },
                delta_ms: ms.map(|m| f64::from(sign) * m),
                delta_input_tokens: tokens.map(|t| t.0.saturating_mul(i64::from(sign))),
                delta_output_tokens: tokens.map(|t| t.1.saturating_mul(i64::from(sign))),
                delta_cost_usd: span.cost_usd(events).map(|c| f64::from(sign) * c),
            });
            match side {
                Side::A => self.row_of_a[k] = row,
                Side::B => self.row_of_b[k] = row,
            }
        }
    }
}

/// The figures of one run.
struct RunFigures {
    wall_time_ms: Option<f64>,
    spans: usize,
    llm_calls: usize,
    tool_calls: usize,
    failed: usize,
    untimed: usize,
    open: usize,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cost_usd: Option<f64>,
}

impl RunFigures {
    fn of(session: &AnalyzedSession) -> Self {
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
            input_tokens: sum(|e| e.input_tokens),
            output_tokens: sum(|e| e.output_tokens),
            cost_usd: events.iter().filter_map(|e| e.cost_usd).reduce(|x, y| x + y),
        }
    }
}

/// The biggest changes in wall time and in cost: pairs by their Δ, one-sided subtrees once, at
/// their top, by their whole duration (the top span's) and cost (summed over the subtree).
fn contributors(
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

/// What happened to a value at one path of two JSON documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonChangeKind {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, different (another value or another type).
    Changed,
}

/// One difference between two JSON values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JsonChange {
    /// A JSON Pointer (RFC 6901): `/params/path`, `/items/2`; `""` is the whole value.
    pub path: String,
    pub kind: JsonChangeKind,
    /// The value in A (`None` when added).
    pub a: Option<Value>,
    /// The value in B (`None` when removed).
    pub b: Option<Value>,
}

/// The differences between two JSON values: keys added, removed or changed, with their paths,
/// objects compared key by key and arrays index by index, in key order. Numbers compare by
/// value (`1` and `1.0` are the same). Walked without recursion.
#[must_use]
pub fn json_diff(a: &Value, b: &Value) -> Vec<JsonChange> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value, &Value)> = vec![(String::new(), a, b)];
    let child = |path: &str, key: &str| {
        let mut p = String::with_capacity(path.len() + key.len() + 1);
        p.push_str(path);
        p.push('/');
        p.push_str(&key.replace('~', "~0").replace('/', "~1"));
        p
    };
    let mut found: Vec<(String, &Value, &Value)> = Vec::new();
    while let Some((path, x, y)) = stack.pop() {
        match (x, y) {
            (Value::Object(mx), Value::Object(my)) => {
                let mut keys: Vec<&String> = mx.keys().chain(my.keys().filter(|k| !mx.contains_key(*k))).collect();
                keys.sort();
                found.clear();
                for k in keys {
                    let p = child(&path, k);
                    match (mx.get(k), my.get(k)) {
                        (Some(vx), Some(vy)) => found.push((p, vx, vy)),
                        (Some(vx), None) => out.push(change(p, JsonChangeKind::Removed, Some(vx), None)),
                        (None, Some(vy)) => out.push(change(p, JsonChangeKind::Added, None, Some(vy))),
                        (None, None) => {}
                    }
                }
                // Popped in key order.
                stack.extend(found.drain(..).rev());
            }
            (Value::Array(ax), Value::Array(ay)) => {
                found.clear();
                for i in 0..ax.len().max(ay.len()) {
                    let p = child(&path, &i.to_string());
                    match (ax.get(i), ay.get(i)) {
                        (Some(vx), Some(vy)) => found.push((p, vx, vy)),
                        (Some(vx), None) => out.push(change(p, JsonChangeKind::Removed, Some(vx), None)),
                        (None, Some(vy)) => out.push(change(p, JsonChangeKind::Added, None, Some(vy))),
                        (None, None) => {}
                    }
                }
                stack.extend(found.drain(..).rev());
            }
            (Value::Number(nx), Value::Number(ny)) => {
                let same = nx == ny || nx.as_f64().zip(ny.as_f64()).is_some_and(|(p, q)| p == q);
                if !same {
                    out.push(change(path, JsonChangeKind::Changed, Some(x), Some(y)));
                }
            }
            _ if x == y => {}
            _ => out.push(change(path, JsonChangeKind::Changed, Some(x), Some(y))),
        }
    }
    out.sort_by(|p, q| p.path.cmp(&q.path));
    out
}

fn change(path: String, kind: JsonChangeKind, a: Option<&Value>, b: Option<&Value>) -> JsonChange {
    JsonChange { path, kind, a: a.cloned(), b: b.cloned() }
}

/// What a line of a [`line_diff`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineTag {
    Same,
    /// Only in A.
    Removed,
    /// Only in B.
    Added,
}

/// One line of a line diff, without its line break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: LineTag,
    /// 0-based line numbers in A and in B.
    pub a_line: Option<usize>,
    pub b_line: Option<usize>,
    pub text: String,
}

/// Two texts line by line (Myers, by `similar`): every line of both, in order.
#[must_use]
pub fn line_diff(a: &str, b: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::configure().algorithm(Algorithm::Myers).diff_lines(a, b);
    diff.iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                similar::ChangeTag::Equal => LineTag::Same,
                similar::ChangeTag::Delete => LineTag::Removed,
                similar::ChangeTag::Insert => LineTag::Added,
            },
            a_line: c.old_index(),
            b_line: c.new_index(),
            text: c.value().trim_end_matches(['\n', '\r']).to_owned(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::{Anchor, analyze};
    use crate::model::{SessionData, SessionRow};
    use crate::time::{Timestamp, parse_text};

    /// An event starting `start_ms` after a fixed time, lasting `dur_ms` (read with the start
    /// anchor), under `parent`.
    pub(crate) fn event(id: &str, kind: &str, start_ms: i64, dur_ms: Option<f64>, parent: Option<&str>) -> TraceEvent {
        let base = parse_text("2026-01-01T00:00:00Z").map(|p| p.time).unwrap_or(Timestamp(0));
        TraceEvent {
            id: id.into(),
            kind: kind.into(),
            time: Some(base.add_ms(start_ms as f64)),
            duration_ms: dur_ms,
            parent_trace_id: parent.map(Into::into),
            ..TraceEvent::default()
        }
    }

    fn root(id: &str, dur_ms: f64) -> TraceEvent {
        let mut e = event(id, "trace_started", 0, Some(dur_ms), None);
        e.info.label = "the task".into();
        e
    }

    fn step(id: &str, parent: &str, (start, dur): (i64, f64), label: &str) -> TraceEvent {
        let mut e = event(id, "step_completed", start, Some(dur), Some(parent));
        e.info.label = label.into();
        e
    }

    fn tool(id: &str, parent: &str, (start, dur): (i64, f64), name: &str) -> TraceEvent {
        let mut e = event(id, "tool_result", start, Some(dur), Some(parent));
        e.info.tool = Some(name.into());
        e.info.label = name.into();
        e
    }

    fn llm(id: &str, parent: &str, (start, dur): (i64, f64), model: &str, tokens: (i64, i64), cost: f64) -> TraceEvent {
        let mut e = event(id, "message", start, Some(dur), Some(parent));
        e.model_used = Some(model.into());
        e.info.label = model.into();
        e.input_tokens = Some(tokens.0);
        e.output_tokens = Some(tokens.1);
        e.cost_usd = Some(cost);
        e
    }

    pub(crate) fn run(id: &str, events: Vec<TraceEvent>) -> AnalyzedSession {
        let row = SessionRow { id: id.to_owned(), ..SessionRow::default() };
        analyze(SessionData { row, events, warnings: vec![] }, Anchor::Start)
    }

    /// The good run: three steps.
    pub(crate) fn run_a() -> AnalyzedSession {
        run(
            "a",
            vec![
                root("a0", 10_000.0),
                step("a1", "a0", (0, 3000.0), "s1: fetch the page"),
                tool("a2", "a1", (100, 1000.0), "web_search"),
                llm("a3", "a1", (1200, 1000.0), "gpt-4o", (1000, 200), 0.01),
                step("a4", "a0", (3000, 3000.0), "s2: summarise"),
                llm("a5", "a4", (3100, 1900.0), "gpt-4o", (2000, 300), 0.02),
                step("a6", "a0", (6000, 2000.0), "s3: write report"),
                tool("a7", "a6", (6100, 100.0), "write_file"),
            ],
        )
    }

    /// The bad run: the search retried, the summary slower, the report step gone and a new
    /// step on another model. Step numbers and ids differ.
    pub(crate) fn run_b() -> AnalyzedSession {
        run(
            "b",
            vec![
                root("b0", 15_000.0),
                step("b1", "b0", (0, 5000.0), "s11: fetch the page"),
                tool("b2", "b1", (100, 1000.0), "web_search"),
                tool("b3", "b1", (1200, 1000.0), "web_search"),
                llm("b4", "b1", (2300, 1000.0), "gpt-4o", (1000, 200), 0.01),
                step("b5", "b0", (5000, 4000.0), "s12: summarise"),
                llm("b6", "b5", (5100, 3800.0), "gpt-4o", (2500, 300), 0.025),
                step("b7", "b0", (9000, 5000.0), "s13: double-check"),
                llm("b8", "b7", (9100, 4000.0), "claude-sonnet-4", (3000, 100), 0.05),
            ],
        )
    }

    /// (A's event id, B's event id, status) of each row.
    fn layout(c: &Comparison, a: &AnalyzedSession, b: &AnalyzedSession) -> Vec<(String, String, &'static str)> {
        let id = |s: &AnalyzedSession, span: Option<usize>| {
            span.and_then(|i| s.timeline.spans.get(i))
                .and_then(|sp| s.data.events.get(sp.event))
                .map_or(String::new(), |e| e.id.clone())
        };
        c.rows.iter().map(|r| (id(a, r.a), id(b, r.b), r.status.name())).collect()
    }

    fn row(a: &str, b: &str, status: &'static str) -> (String, String, &'static str) {
        (a.to_owned(), b.to_owned(), status)
    }

    #[test]
    fn a_retry_a_slower_call_a_removed_and_an_added_step() {
        let (a, b) = (run_a(), run_b());
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(
            layout(&c, &a, &b),
            vec![
                row("a0", "b0", "slower"),
                row("a1", "b1", "slower"),
                row("a2", "b2", "same"),
                row("", "b3", "only_b"),
                row("a3", "b4", "same"),
                row("a4", "b5", "slower"),
                row("a5", "b6", "slower"),
                row("a6", "", "only_a"),
                row("a7", "", "only_a"),
                row("", "b7", "only_b"),
                row("", "b8", "only_b"),
            ]
        );
        let sig: Vec<&str> = c.rows.iter().map(|r| c.signature(r)).collect();
        assert_eq!(
            sig,
            [
                "session",
                "step s#: fetch the page",
                "tool web_search",
                "tool web_search",
                "llm gpt-4o",
                "step s#: summarise",
                "llm gpt-4o",
                "step s#: write report",
                "tool write_file",
                "step s#: double-check",
                "llm claude-sonnet-4",
            ]
        );
        // Tree of the merged rows.
        let parents: Vec<Option<usize>> = c.rows.iter().map(|r| r.parent).collect();
        assert_eq!(
            parents,
            [None, Some(0), Some(1), Some(1), Some(1), Some(0), Some(5), Some(0), Some(7), Some(0), Some(9)]
        );
        let depths: Vec<u32> = c.rows.iter().map(|r| r.depth).collect();
        assert_eq!(depths, [0, 1, 2, 2, 2, 1, 2, 1, 2, 1, 2]);
        let ends: Vec<usize> = c.rows.iter().map(|r| r.subtree_end).collect();
        assert_eq!(ends, [11, 5, 3, 4, 5, 7, 7, 9, 9, 11, 11]);
        // Deltas.
        let r = &c.rows[6];
        assert_eq!((r.a_ms, r.b_ms, r.delta_ms), (Some(1900.0), Some(3800.0), Some(1900.0)));
        assert_eq!((r.delta_input_tokens, r.delta_output_tokens), (Some(500), Some(0)));
        assert!((r.delta_cost_usd.unwrap_or(0.0) - 0.005).abs() < 1e-12);
        let r = &c.rows[3];
        assert_eq!((r.a_ms, r.b_ms, r.delta_ms, r.delta_cost_usd), (None, Some(1000.0), Some(1000.0), None));
        let r = &c.rows[7];
        assert_eq!((r.a_ms, r.b_ms, r.delta_ms), (Some(2000.0), None, Some(-2000.0)));
        let r = &c.rows[10];
        assert_eq!(
            (r.delta_input_tokens, r.delta_output_tokens, r.delta_cost_usd),
            (Some(3000), Some(100), Some(0.05))
        );
        // Steps: a step has no tokens of its own; an LLM pair with equal figures has Δ zero.
        assert_eq!((c.rows[1].delta_input_tokens, c.rows[1].delta_cost_usd), (None, None));
        assert_eq!(
            (c.rows[4].delta_ms, c.rows[4].delta_input_tokens, c.rows[4].delta_cost_usd),
            (Some(0.0), Some(0), Some(0.0))
        );
        assert_eq!(c.counts, Counts { pairs: 6, same: 2, slower: 4, faster: 0, only_a: 2, only_b: 3 });
        // Every span of both runs in one row, and back.
        for i in 0..a.timeline.spans.len() {
            assert_eq!(c.row_of_a(i).and_then(|r| c.rows[r].a), Some(i));
        }
        for j in 0..b.timeline.spans.len() {
            assert_eq!(c.row_of_b(j).and_then(|r| c.rows[r].b), Some(j));
        }
        assert_eq!(c.unpaired_tops().collect::<Vec<_>>(), [3, 7, 9]);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn totals_and_contributors() {
        let (a, b) = (run_a(), run_b());
        let c = compare(&a, &b, &CompareOptions::default());
        let f = |name: &str| c.figure(name).cloned().unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            f("wall_time_ms"),
            Figure {
                name: "wall_time_ms",
                a: Some(10_000.0),
                b: Some(15_000.0),
                delta: Some(5000.0),
                percent: Some(50.0)
            }
        );
        assert_eq!((f("events").a, f("events").b, f("events").delta), (Some(8.0), Some(9.0), Some(1.0)));
        assert_eq!((f("llm_calls").a, f("llm_calls").b), (Some(2.0), Some(3.0)));
        assert_eq!((f("tool_calls").a, f("tool_calls").b, f("tool_calls").percent), (Some(2.0), Some(2.0), Some(0.0)));
        assert_eq!(
            (f("input_tokens").a, f("input_tokens").b, f("input_tokens").delta),
            (Some(3000.0), Some(6500.0), Some(3500.0))
        );
        assert_eq!((f("output_tokens").a, f("output_tokens").b), (Some(500.0), Some(600.0)));
        let cost = f("cost_usd");
        assert!((cost.delta.unwrap_or(0.0) - 0.055).abs() < 1e-12, "{cost:?}");
        assert!((cost.percent.unwrap_or(0.0) - 183.333_333_333).abs() < 1e-6, "{cost:?}");
        // The rows' Δ cost adds up to the runs' Δ.
        let rows_cost: f64 = c.rows.iter().filter_map(|r| r.delta_cost_usd).sum();
        assert!((rows_cost - 0.055).abs() < 1e-12);
        let rows_in: i64 = c.rows.iter().filter_map(|r| r.delta_input_tokens).sum();
        assert_eq!(rows_in, 3500);

        let time: Vec<(usize, f64)> = c.contributors.wall_time_ms.iter().map(|x| (x.row, x.delta)).collect();
        assert_eq!(time, [(9, 5000.0), (1, 2000.0), (7, -2000.0), (6, 1900.0), (3, 1000.0), (5, 1000.0)]);
        let cost: Vec<usize> = c.contributors.cost_usd.iter().map(|x| x.row).collect();
        assert_eq!(cost, [9, 6]);
        assert!((c.contributors.cost_usd[0].delta - 0.05).abs() < 1e-12);
        // `top` caps the lists.
        let c = compare(&a, &b, &CompareOptions { top: 2, ..CompareOptions::default() });
        assert_eq!(c.contributors.wall_time_ms.len(), 2);
    }

    #[test]
    fn the_threshold_is_both_a_share_and_milliseconds() {
        let a = run(
            "a",
            vec![root("a0", 10_000.0), tool("a1", "a0", (0, 1000.0), "t"), tool("a2", "a0", (2000, 50.0), "u")],
        );
        // +150 ms on 1 s (15 %: slower); +90 ms on 50 ms (180 % but under 100 ms: same).
        let b = run(
            "b",
            vec![root("b0", 10_000.0), tool("b1", "b0", (0, 1150.0), "t"), tool("b2", "b0", (2000, 140.0), "u")],
        );
        let c = compare(&a, &b, &CompareOptions::default());
        let status: Vec<&str> = c.rows.iter().map(|r| r.status.name()).collect();
        assert_eq!(status, ["same", "slower", "same"]);
        let c = compare(&a, &b, &CompareOptions { min_ratio: 0.2, min_ms: 50.0, top: 10 });
        let status: Vec<&str> = c.rows.iter().map(|r| r.status.name()).collect();
        assert_eq!(status, ["same", "same", "slower"]);
        let c = compare(&b, &a, &CompareOptions::default());
        assert_eq!(c.rows[1].status, Status::Faster);
        assert_eq!(c.rows[1].delta_ms, Some(-150.0));
    }

    #[test]
    fn a_changed_model_is_one_call_removed_and_one_added() {
        let a = run("a", vec![root("a0", 5000.0), llm("a1", "a0", (0, 1000.0), "gpt-4o", (100, 10), 0.001)]);
        let b = run("b", vec![root("b0", 5000.0), llm("b1", "b0", (0, 1000.0), "gpt-4o-mini", (100, 10), 0.0001)]);
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(layout(&c, &a, &b), vec![row("a0", "b0", "same"), row("a1", "", "only_a"), row("", "b1", "only_b")]);
        assert_eq!(c.signature(&c.rows[1]), "llm gpt-4o");
        assert_eq!(c.signature(&c.rows[2]), "llm gpt-4o-mini");
    }

    #[test]
    fn repeats_on_either_side_pair_with_the_first_occurrence() {
        // A retried twice where B ran once: the first of A's pairs, the repeats are only_a.
        let a = run(
            "a",
            vec![
                root("a0", 9000.0),
                tool("a1", "a0", (0, 10.0), "read_file"),
                tool("a2", "a0", (100, 10.0), "read_file"),
                tool("a3", "a0", (200, 10.0), "read_file"),
                tool("a4", "a0", (300, 10.0), "write_file"),
            ],
        );
        let b = run(
            "b",
            vec![
                root("b0", 9000.0),
                tool("b1", "b0", (0, 10.0), "read_file"),
                tool("b2", "b0", (300, 10.0), "write_file"),
            ],
        );
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(
            layout(&c, &a, &b),
            vec![
                row("a0", "b0", "same"),
                row("a1", "b1", "same"),
                row("a2", "", "only_a"),
                row("a3", "", "only_a"),
                row("a4", "b2", "same"),
            ]
        );
        // The repeat first in the list: B = [x, y, x], A = [y, x] pairs y and B's second x.
        let a =
            run("a", vec![root("a0", 9000.0), tool("a1", "a0", (0, 10.0), "y"), tool("a2", "a0", (100, 10.0), "x")]);
        let b = run(
            "b",
            vec![
                root("b0", 9000.0),
                tool("b1", "b0", (0, 10.0), "x"),
                tool("b2", "b0", (50, 10.0), "y"),
                tool("b3", "b0", (100, 10.0), "x"),
            ],
        );
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(
            layout(&c, &a, &b),
            vec![row("a0", "b0", "same"), row("", "b1", "only_b"), row("a1", "b2", "same"), row("a2", "b3", "same")]
        );
    }

    #[test]
    fn spans_that_changed_places_still_pair() {
        // B's call started earlier (it took longer), before the instant A logged first.
        let note = |id: &str, parent: &str, at: i64| {
            let mut e = event(id, "model_selected", at, None, Some(parent));
            e.info.label = "gpt-4o".into();
            e
        };
        let a = run(
            "a",
            vec![root("a0", 9000.0), note("a1", "a0", 100), llm("a2", "a0", (200, 1000.0), "gpt-4o", (1, 1), 0.0)],
        );
        let b = run(
            "b",
            vec![root("b0", 9000.0), llm("b1", "b0", (50, 2200.0), "gpt-4o", (1, 1), 0.0), note("b2", "b0", 100)],
        );
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(
            layout(&c, &a, &b),
            vec![row("a0", "b0", "same"), row("a1", "b2", "same"), row("a2", "b1", "slower")]
        );
        // A retry with nothing left over in A stays added.
        let mut entries = vec![(Some(0), None), (None, Some(0)), (None, Some(1))];
        pair_moved(&mut entries, &[5], &[5, 5]);
        assert_eq!(entries, [(Some(0), Some(0)), (None, Some(1))]);
    }

    #[test]
    fn the_slide_moves_a_pair_to_the_first_of_a_run() {
        // [x(b) x(b) pair-x] becomes [pair-x x(b) x(b)].
        let mut entries = vec![(None, Some(0)), (None, Some(1)), (Some(0), Some(2)), (Some(1), Some(3))];
        slide(&mut entries, &[7, 7, 7, 8], |e| &mut e.0, |e| e.1);
        assert_eq!(entries, [(Some(0), Some(0)), (None, Some(1)), (None, Some(2)), (Some(1), Some(3))]);
        // A different signature after the run: nothing moves.
        let mut entries = vec![(None, Some(0)), (Some(0), Some(1))];
        slide(&mut entries, &[7, 8], |e| &mut e.0, |e| e.1);
        assert_eq!(entries, [(None, Some(0)), (Some(0), Some(1))]);
    }

    #[test]
    fn a_session_compared_with_itself_is_all_the_same() {
        let a = run_b();
        let c = compare(&a, &a, &CompareOptions::default());
        assert_eq!(c.rows.len(), a.timeline.spans.len());
        for (i, r) in c.rows.iter().enumerate() {
            assert_eq!((r.a, r.b, r.status), (Some(i), Some(i), Status::Same), "row {i}");
            assert!(r.delta_ms.is_none_or(|d| d == 0.0));
            assert!(r.delta_cost_usd.is_none_or(|d| d == 0.0));
            assert!(r.delta_input_tokens.is_none_or(|d| d == 0));
        }
        assert!(c.totals.iter().all(|f| f.delta.is_none_or(|d| d == 0.0)), "{:?}", c.totals);
        assert!(c.contributors.wall_time_ms.is_empty() && c.contributors.cost_usd.is_empty());
        assert_eq!(c.counts, Counts { pairs: 9, same: 9, ..Counts::default() });
    }

    #[test]
    fn empty_sessions_and_only_instants() {
        let empty = run("e", vec![]);
        let c = compare(&empty, &empty, &CompareOptions::default());
        assert!(c.rows.is_empty());
        assert_eq!(c.warnings, ["run A has no spans", "run B has no spans"]);
        assert_eq!(c.figure("wall_time_ms").map(|f| (f.a, f.delta)), Some((None, None)));
        assert_eq!(c.figure("cost_usd").map(|f| f.delta), Some(None));

        let b = run_b();
        let c = compare(&empty, &b, &CompareOptions::default());
        assert_eq!(c.counts.only_b, b.timeline.spans.len());
        assert_eq!(c.unpaired_tops().collect::<Vec<_>>(), [0], "one subtree added");
        assert_eq!(c.contributors.cost_usd.len(), 0, "A reports no cost: nothing to compare");
        assert!(
            c.warnings.iter().any(|w| w == "run A reports no cost (run B does): cost are not compared"),
            "{:?}",
            c.warnings
        );

        let instants = |p: &str| {
            let events: Vec<TraceEvent> =
                (0..4).map(|i| event(&format!("{p}{i}"), "state_change", i * 10, None, None)).collect();
            run(p, events)
        };
        let (a, b) = (instants("a"), instants("b"));
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(c.counts, Counts { pairs: 4, same: 4, ..Counts::default() });
        assert!(c.rows.iter().all(|r| r.delta_ms == Some(0.0)));
    }

    #[test]
    fn orphans_cycles_and_odd_ids_compare_without_panic() {
        let odd = |p: &str| {
            run(
                p,
                vec![
                    event("", "x", 0, None, Some("missing")),
                    event("\u{1b}[2J", "x", 1, Some(5.0), Some("\u{1b}[2J")),
                    event(&format!("{p}c"), "x", 2, None, Some(&format!("{p}d"))),
                    event(&format!("{p}d"), "x", 3, None, Some(&format!("{p}c"))),
                    event("dup", "y", 4, Some(1.0), None),
                    event("dup", "y", 5, Some(1.0), Some("dup")),
                    TraceEvent { id: "untimed".into(), kind: "z".into(), ..TraceEvent::default() },
                ],
            )
        };
        let (a, b) = (odd("a"), odd("b"));
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(c.rows.len(), a.timeline.spans.len());
        assert!(c.rows.iter().all(|r| r.status == Status::Same));
        assert!(c.warnings.iter().any(|w| w.contains("no readable time")), "{:?}", c.warnings);
        let c = compare(&a, &run_a(), &CompareOptions::default());
        assert_eq!(c.counts.only_a, a.timeline.spans.len());
    }

    #[test]
    fn a_deep_chain_compares_without_recursion() {
        let chain = |p: &str, n: usize| {
            let events = (0..n)
                .map(|i| {
                    let parent = (i > 0).then(|| format!("{p}{}", i - 1));
                    tool(&format!("{p}{i}"), parent.as_deref().unwrap_or(""), (i as i64, 1.0), "t")
                })
                .map(|mut e| {
                    if e.parent_trace_id.as_deref() == Some("") {
                        e.parent_trace_id = None;
                    }
                    e
                })
                .collect();
            run(p, events)
        };
        let (a, b) = (chain("a", 50_000), chain("b", 50_001));
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(c.counts, Counts { pairs: 50_000, same: 50_000, only_b: 1, ..Counts::default() });
        assert_eq!(c.rows.last().map(|r| (r.depth, r.status)), Some((50_000, Status::OnlyB)));
        let c = compare(&a, &run("e", vec![]), &CompareOptions::default());
        assert_eq!(c.unpaired_tops().count(), 1);
        assert_eq!(c.rows.last().map(|r| r.depth), Some(49_999));
    }

    #[test]
    fn an_inconsistent_hand_built_tree_is_placed_once_with_a_warning() {
        use crate::analysis::fixtures::{sample_session, span};
        let mut a = sample_session();
        // A child pointing out of the tree, a subtree end past the end, a parent after it.
        a.timeline.spans.push(span(SpanKind::Tool, "stray", (0.0, 1.0), 3, Some(99), 99));
        a.timeline.spans[1].subtree_end = 2;
        a.timeline.spans[3].parent = Some(5);
        let b = sample_session();
        let c = compare(&a, &b, &CompareOptions::default());
        for i in 0..a.timeline.spans.len() {
            assert_eq!(c.rows.iter().filter(|r| r.a == Some(i)).count(), 1, "span {i} of A placed once");
        }
        for j in 0..b.timeline.spans.len() {
            assert_eq!(c.rows.iter().filter(|r| r.b == Some(j)).count(), 1, "span {j} of B placed once");
        }
        assert!(c.rows.iter().all(|r| r.parent.is_none_or(|p| p < c.rows.len())));
    }

    #[test]
    fn different_schemas_say_what_cannot_be_compared() {
        let a = run_a();
        let mut b = run_a();
        for e in &mut b.data.events {
            e.cost_usd = None;
        }
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(c.figure("cost_usd").map(|f| (f.b, f.delta)), Some((None, None)));
        assert!(c.rows.iter().all(|r| r.delta_cost_usd.is_none()));
        assert!(c.contributors.cost_usd.is_empty());
        assert_eq!(c.warnings, ["run B reports no cost (run A does): cost are not compared"]);
    }

    #[test]
    fn labels_lose_what_differs_between_runs() {
        assert_eq!(normalize_label("s12: fetch  page 3 of 10"), "s#: fetch page # of #");
        assert_eq!(normalize_label("job 29e3a9fd-1c2b-4d5e-8f90-0123456789ab done"), "job <uuid> done");
        assert_eq!(normalize_label("at 2026-11-20T09:00:12.345Z, retry"), "at <date>, retry");
        assert_eq!(normalize_label("on 2026-11-20 12:30:01+02:00"), "on <date>");
        assert_eq!(normalize_label("day 2026-11-20"), "day <date>");
        assert_eq!(normalize_label("at 09:15:02.5 sharp"), "at <date> sharp");
        assert_eq!(normalize_label("score 12:30"), "score #:#", "a time needs its seconds");
        assert_eq!(normalize_label("commit 3f9a2b7c1d and 0xFF"), "commit <hex> and <hex>");
        assert_eq!(normalize_label("deadbeef cafe 12345678"), "deadbeef cafe #", "all letters or all digits stay");
        assert_eq!(normalize_label("gpt-4o v2.5"), "gpt-#o v#.#");
        assert_eq!(normalize_label("  naïve 日本語\ttext\n"), "naïve 日本語 text");
        assert_eq!(normalize_label("x29e3a9fd"), "x#e#a#fd", "not at a word start");
        assert_eq!(normalize_label(""), "");
        assert_eq!(normalize_label("2026-13"), "#-#");
    }

    #[test]
    fn json_values_differ_by_path() {
        let a: Value = serde_json::json!({"tool": "web_search", "params": {"q": "rust", "n": 1, "tags": ["a", "b"]}, "old": true, "a/b": 1});
        let b: Value = serde_json::json!({"tool": "web_search", "params": {"q": "rust diff", "n": 1.0, "tags": ["a"]}, "new": null, "a/b": "1"});
        let changes: Vec<(String, JsonChangeKind)> = json_diff(&a, &b).into_iter().map(|c| (c.path, c.kind)).collect();
        assert_eq!(
            changes,
            [
                ("/a~1b".to_owned(), JsonChangeKind::Changed),
                ("/new".to_owned(), JsonChangeKind::Added),
                ("/old".to_owned(), JsonChangeKind::Removed),
                ("/params/q".to_owned(), JsonChangeKind::Changed),
                ("/params/tags/1".to_owned(), JsonChangeKind::Removed),
            ]
        );
        let d = json_diff(&a, &b);
        assert_eq!(d[3].a, Some(Value::from("rust")));
        assert_eq!(d[3].b, Some(Value::from("rust diff")));
        assert!(json_diff(&a, &a).is_empty());
        let whole = json_diff(&Value::from(1), &Value::from("x"));
        assert_eq!((whole[0].path.as_str(), whole[0].kind), ("", JsonChangeKind::Changed));
        // Deep nesting is walked without recursion.
        let mut deep_a = Value::from(1);
        let mut deep_b = Value::from(2);
        for _ in 0..100_000 {
            deep_a = Value::Array(vec![deep_a]);
            deep_b = Value::Array(vec![deep_b]);
        }
        let d = json_diff(&deep_a, &deep_b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path.len(), 200_000);
        // serde_json drops nested values recursively; leave them to the OS.
        std::mem::forget((deep_a, deep_b, d));
    }

    #[test]
    fn texts_differ_line_by_line() {
        let d = line_diff("one\ntwo\nthree\n", "one\n2\nthree\nfour");
        let lines: Vec<(LineTag, Option<usize>, Option<usize>, &str)> =
            d.iter().map(|l| (l.tag, l.a_line, l.b_line, l.text.as_str())).collect();
        assert_eq!(
            lines,
            [
                (LineTag::Same, Some(0), Some(0), "one"),
                (LineTag::Removed, Some(1), None, "two"),
                (LineTag::Added, None, Some(1), "2"),
                (LineTag::Same, Some(2), Some(2), "three"),
                (LineTag::Added, None, Some(3), "four"),
            ]
        );
        assert!(line_diff("", "").is_empty());
        assert_eq!(line_diff("a\r\n", "a\r\n")[0].text, "a");
    }
}
