//! Spans of a session and their parent/child tree, in one structure the Gantt chart, the tree
//! view and the exports share.
//!
//! An event with `duration_ms` is a span; a started/completed pair (`step_started` /
//! `step_completed` by `data.step_id`, `trace_started` / `trace_ended`, `tool_called` /
//! `tool_result`) is one span from the first event to the second; other events are instants.
//! The stored timestamp may mark the start or the end of the work ([`Anchor`]). The tree is
//! built without recursion: orphans become roots, cycles and self-parents are cut, each with a
//! warning. Spans are stored in depth-first order, so a subtree is a contiguous range.

use arcstr::ArcStr;
use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::hash::IdHashBuilder;
use crate::model::{EventTime, Parents, SessionData, TraceEvent, Warning};
use crate::time::Timestamp;

/// What a stored timestamp marks for an event that has a duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// Decide from the data (see [`choose_anchor`]).
    #[default]
    Auto,
    /// The timestamp is when the work started.
    Start,
    /// The timestamp is when the work ended (the reference writer's way).
    End,
}

impl Anchor {
    /// Lower-case name, as on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Anchor::Auto => "auto",
            Anchor::Start => "start",
            Anchor::End => "end",
        }
    }
}

/// The kind of work a span stands for; decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// The whole run (`trace_started` … `trace_ended`).
    Session,
    Step,
    /// An LLM call (`message` with a model, tokens or cost).
    Llm,
    Tool,
    Error,
    Other,
}

impl SpanKind {
    /// Lower-case name for exports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SpanKind::Session => "session",
            SpanKind::Step => "step",
            SpanKind::Llm => "llm",
            SpanKind::Tool => "tool",
            SpanKind::Error => "error",
            SpanKind::Other => "other",
        }
    }
}

/// An optional index (of an event or a span) in 4 bytes instead of an `Option<usize>`'s 16:
/// `u32::MAX` stands for none. A session holds far fewer than 2^32 events.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Link(u32);

impl Link {
    pub const NONE: Link = Link(u32::MAX);

    /// The link to `index`; none for `None` (or an index past 2^32 - 2, which no session
    /// reaches: its events alone would fill terabytes).
    #[must_use]
    pub fn new(index: Option<usize>) -> Self {
        index.and_then(|i| u32::try_from(i).ok()).map_or(Self::NONE, Link)
    }

    #[must_use]
    pub fn get(self) -> Option<usize> {
        (self != Self::NONE).then_some(self.0 as usize)
    }

    #[must_use]
    pub fn is_none(self) -> bool {
        self == Self::NONE
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::NONE
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// One bar (or instant marker) of the timeline and one node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// Index of the first (or only) event in [`SessionData::events`].
    pub event: usize,
    /// Index of the completing event of a pair.
    pub end_event: Link,
    pub kind: SpanKind,
    /// Milliseconds from [`Timeline::origin`]; meaningless when `timed` is false.
    pub start_ms: f64,
    pub end_ms: f64,
    /// The span has a readable time and is drawn on the chart.
    pub timed: bool,
    /// An event without duration: drawn as a marker.
    pub instant: bool,
    /// A start whose end was never logged (still running, or lost).
    pub open: bool,
    /// A failure: error event or failed call.
    pub failed: bool,
    pub depth: u32,
    /// Index of the parent span in [`Timeline::spans`].
    pub parent: Link,
    /// One past the last span of this span's subtree (spans are in depth-first order); 4
    /// bytes, as every span index ([`Link`]).
    pub subtree_end: u32,
}

impl Span {
    /// The span's label: its first event's, else its completing event's (a step's end is
    /// labelled with the step's id). Read from the events, not kept in the span: a span is 48
    /// bytes, and a million-event session has over half a million of them.
    #[must_use]
    pub fn label<'e>(&self, events: &'e [TraceEvent]) -> &'e ArcStr {
        static EMPTY: ArcStr = arcstr::literal!("");
        let first = events.get(self.event).map(|e| &e.info.label);
        match first {
            Some(l) if !l.is_empty() => l,
            _ => self.end_event.get().and_then(|e| events.get(e)).map_or(&EMPTY, |e| &e.info.label),
        }
    }

    /// One past the last span of this span's subtree, as an index.
    #[must_use]
    pub fn subtree_end(&self) -> usize {
        self.subtree_end as usize
    }

    /// Length in milliseconds (0 for instants and untimed spans).
    #[must_use]
    pub fn duration_ms(&self) -> f64 {
        if self.timed { (self.end_ms - self.start_ms).max(0.0) } else { 0.0 }
    }

    /// Number of spans below this one.
    #[must_use]
    pub fn descendants(&self, index: usize) -> usize {
        self.subtree_end().saturating_sub(index + 1)
    }

    /// Where the span ends as of `now_ms` (ms from the origin, given while the session runs):
    /// an open span runs on to now, a closed one ends where it ended.
    #[must_use]
    pub fn end_ms_at(&self, now_ms: Option<f64>) -> f64 {
        match now_ms {
            Some(now) if self.open => self.end_ms.max(now),
            _ => self.end_ms,
        }
    }

    /// The span's events in `events` (the session's): its first and, for a pair, its
    /// completing one. Indices past the end are skipped.
    pub fn events<'e>(&self, events: &'e [TraceEvent]) -> impl Iterator<Item = &'e TraceEvent> {
        events.get(self.event).into_iter().chain(self.end_event.get().and_then(|e| events.get(e)))
    }

    /// Input and output tokens over the span's events, `None` when neither event reports any.
    #[must_use]
    pub fn tokens(&self, events: &[TraceEvent]) -> Option<(i64, i64)> {
        let mut any = false;
        let (mut input, mut output) = (0i64, 0i64);
        for e in self.events(events) {
            any |= e.input_tokens().is_some() || e.output_tokens().is_some();
            input = input.saturating_add(e.input_tokens().unwrap_or(0));
            output = output.saturating_add(e.output_tokens().unwrap_or(0));
        }
        any.then_some((input, output))
    }

    /// Cost over the span's events, `None` when neither reports one.
    #[must_use]
    pub fn cost_usd(&self, events: &[TraceEvent]) -> Option<f64> {
        self.events(events).filter_map(|e| e.cost_usd()).reduce(|a, b| a + b)
    }

    /// The model of the span's first event that names one.
    #[must_use]
    pub fn model<'e>(&self, events: &'e [TraceEvent]) -> Option<&'e str> {
        self.events(events).find_map(|e| e.model_used())
    }
}

/// Spans of one session in tree order, with the anchor used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// The session's earliest time; `start_ms`/`end_ms` count from here.
    pub origin: Option<Timestamp>,
    pub spans: Vec<Span>,
    /// The anchor applied (never `Auto`).
    pub anchor: Anchor,
    /// The anchor asked for.
    pub requested: Anchor,
    /// The latest span end, in ms from the origin.
    pub end_ms: f64,
    /// For each event, the span it belongs to (4 bytes an event: a session's spans are far
    /// fewer than 2^32).
    pub span_of_event: Vec<u32>,
    pub warnings: Vec<Warning>,
}

impl Timeline {
    /// The span holding this event.
    #[must_use]
    pub fn span_for_event(&self, event: usize) -> Option<usize> {
        self.span_of_event.get(event).map(|&s| s as usize)
    }

    /// Indices of the parent chain of `span`, nearest first.
    pub fn ancestors(&self, span: usize) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.spans.get(span).and_then(|s| s.parent.get());
        std::iter::from_fn(move || {
            let current = next?;
            next = self.spans.get(current).and_then(|s| s.parent.get());
            Some(current)
        })
    }
}

/// Start/end pairs: start type, end type, and the `data` key that matches them.
const PAIRS: [(&str, &str, PairKey); 4] = [
    ("step_started", "step_completed", PairKey::StepId),
    ("step_started", "step_failed", PairKey::StepId),
    ("trace_started", "trace_ended", PairKey::None),
    ("tool_called", "tool_result", PairKey::Tool),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PairKey {
    StepId,
    Tool,
    None,
}

fn pair_key(e: &TraceEvent, key: PairKey) -> Option<&str> {
    match key {
        PairKey::StepId => e.info.step_id.as_deref(),
        PairKey::Tool => e.info.tool.as_deref(),
        PairKey::None => None,
    }
}

/// A map keyed by trace ids (or other text of the file), with [`IdHashBuilder`].
type IdMap<K, V> = HashMap<K, V, IdHashBuilder>;

/// For each event, the index of the event that completes it (start → end).
///
/// The writer links an end to its start by parent id; that link is trusted first, whatever the
/// order of the two timestamps (an end stamped at the start of its work may sort before its
/// start). Ends without such a link take the oldest open start with the same key.
fn match_pairs(events: &[TraceEvent], parents: &Parents) -> Vec<Link> {
    let mut end_of: Vec<Link> = vec![Link::NONE; events.len()];
    let mut is_end = vec![false; events.len()];
    let pair_of = |kind: &str| PAIRS.iter().find(|(_, end, _)| *end == kind).copied();
    for (i, e) in events.iter().enumerate() {
        let Some((start, _, _)) = pair_of(&e.kind) else { continue };
        let linked =
            parents.event(i).filter(|&s| events.get(s).is_some_and(|se| &*se.kind == start) && end_of[s].is_none());
        if let Some(s) = linked {
            end_of[s] = Link::new(Some(i));
            is_end[i] = true;
        }
    }
    // Open starts per (start type, key), oldest first.
    let mut open: IdMap<(&str, Option<&str>), VecDeque<usize>> = IdMap::default();
    for (i, e) in events.iter().enumerate() {
        for (start, end, key) in PAIRS {
            if &*e.kind == start {
                if end_of[i].is_none() {
                    open.entry((start, pair_key(e, key))).or_default().push_back(i);
                }
                break;
            }
            if &*e.kind != end {
                continue;
            }
            if !is_end[i] {
                let found = open.get_mut(&(start, pair_key(e, key))).and_then(|queue| {
                    while let Some(s) = queue.pop_front() {
                        if end_of[s].is_none() {
                            return Some(s);
                        }
                    }
                    None
                });
                if let Some(s) = found {
                    end_of[s] = Link::new(Some(i));
                    is_end[i] = true;
                }
            }
            break;
        }
    }
    end_of
}

fn kind_of(e: &TraceEvent) -> SpanKind {
    if e.is_error() {
        return SpanKind::Error;
    }
    match &*e.kind {
        "trace_started" | "trace_ended" => SpanKind::Session,
        "step_started" | "step_completed" | "step_failed" => SpanKind::Step,
        "message" | "llm_call" => SpanKind::Llm,
        k if k.starts_with("tool") || k.ends_with("tool_call") => SpanKind::Tool,
        _ if e.input_tokens().is_some() || e.output_tokens().is_some() => SpanKind::Llm,
        _ => SpanKind::Other,
    }
}

/// Decides whether durations are stamped at the start or the end of the work.
///
/// Each reading gets a count of implausibilities, and the smaller wins (`End` on a tie, the
/// reference writer's way): a pair whose end event carries a duration votes for the reading
/// that puts that duration's start nearer the start event's time (a tool result logged when
/// the call returns starts at the call); a single event with a duration counts against a
/// reading that pushes it outside the session's known time range.
#[must_use]
pub fn choose_anchor(events: &[TraceEvent], parents: &Parents, bounds: Option<(Timestamp, Timestamp)>) -> Anchor {
    choose_anchor_with(events, &match_pairs(events, parents), bounds)
}

/// [`choose_anchor`] over pairs already matched.
fn choose_anchor_with(events: &[TraceEvent], end_of: &[Link], bounds: Option<(Timestamp, Timestamp)>) -> Anchor {
    let mut is_end = vec![false; events.len()];
    for e in end_of.iter().filter_map(|l| l.get()) {
        if let Some(flag) = is_end.get_mut(e) {
            *flag = true;
        }
    }
    let (mut against_end, mut against_start) = (0u64, 0u64);
    for (i, e) in events.iter().enumerate() {
        let (Some(t), Some(d)) = (e.time.get(), e.duration_ms.get()) else { continue };
        if d <= 0.0 {
            continue;
        }
        if is_end[i] {
            continue;
        }
        if let Some(end) = end_of[i].get().and_then(|j| events.get(j)) {
            let (Some(te), Some(de)) = (end.time.get(), end.duration_ms.get()) else { continue };
            let err_end = (te.add_ms(-de).ms_since(t)).abs();
            let err_start = te.ms_since(t).abs();
            if err_end < err_start {
                against_start += 1;
            } else if err_start < err_end {
                against_end += 1;
            }
            continue;
        }
        if let Some((lo, hi)) = bounds {
            // A millisecond of slack: writers round.
            if t.add_ms(-d).ms_since(lo) < -1.0 {
                against_end += 1;
            }
            if t.add_ms(d).ms_since(hi) > 1.0 {
                against_start += 1;
            }
        }
    }
    // Pairs whose start carries no duration but whose end does.
    for (s, e) in end_of.iter().enumerate().filter_map(|(s, e)| e.get().map(|e| (s, e))) {
        let (Some(start), Some(end)) = (events.get(s), events.get(e)) else { continue };
        if start.duration_ms.get().is_some() {
            continue;
        }
        let (Some(ts), Some(te), Some(d)) = (start.time.get(), end.time.get(), end.duration_ms.get()) else { continue };
        if d <= 0.0 {
            continue;
        }
        let err_end = te.add_ms(-d).ms_since(ts).abs();
        let err_start = te.ms_since(ts).abs();
        if err_end < err_start {
            against_start += 1;
        } else if err_start < err_end {
            against_end += 1;
        }
    }
    if against_start < against_end { Anchor::Start } else { Anchor::End }
}

/// The session's known time range: its row's start and end, else its events' extremes.
fn session_bounds(data: &SessionData) -> Option<(Timestamp, Timestamp)> {
    let mut lo = data.row.started;
    let mut hi = data.row.completed;
    for e in &data.events {
        if let Some(t) = e.time.get() {
            if data.row.started.is_none() {
                lo = Some(lo.map_or(t, |l| l.min(t)));
            }
            if data.row.completed.is_none() {
                hi = Some(hi.map_or(t, |h| h.max(t)));
            }
        }
    }
    Some((lo?, hi?))
}

/// Builds the spans and tree of a session with the given anchor.
#[must_use]
pub fn build(data: &SessionData, requested: Anchor) -> Timeline {
    let events = &data.events;
    let bounds = session_bounds(data);
    // Parents were linked when the session was read: pairs and the tree both use them.
    let parents = &data.parents;
    let duplicate_ids = parents.duplicate_ids();
    let end_of = match_pairs(events, parents);
    let anchor = match requested {
        Anchor::Auto => choose_anchor_with(events, &end_of, bounds),
        other => other,
    };
    let mut warnings = Vec::new();
    let mut folded = vec![false; events.len()];
    for e in end_of.iter().filter_map(|l| l.get()) {
        folded[e] = true;
    }

    // 1. One raw span per event that is not the end of a pair, with absolute times.
    // 24 bytes: a million-event session holds over half a million of these beside its spans.
    // Whether a lone event is an instant or an open call follows from the event itself
    // (see `lone_shape`), so it is not kept here.
    struct Raw {
        event: u32,
        end_event: Link,
        start: EventTime,
        end: EventTime,
    }
    let mut raws: Vec<Raw> = Vec::with_capacity(events.len());
    // u32: a million-event session's scratch vectors are what its peak memory is made of.
    let mut raw_of_event = vec![u32::MAX; events.len()];
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let last_time = bounds.map(|(_, hi)| hi);
    for (i, e) in events.iter().enumerate() {
        if folded[i] {
            continue;
        }
        let raw = match end_of[i].get().and_then(|j| events.get(j).map(|end| (j, end))) {
            Some((j, end)) => {
                raw_of_event[j] = index(raws.len());
                let (start, stop) = match (e.time.get(), end.time.get(), end.duration_ms.get()) {
                    (_, Some(te), Some(d)) if anchor == Anchor::End => (Some(te.add_ms(-d)), Some(te)),
                    (Some(ts), _, Some(d)) => (Some(ts), Some(ts.add_ms(d))),
                    (None, Some(te), Some(d)) => (Some(te), Some(te.add_ms(d))),
                    (Some(ts), Some(te), None) if te < ts => {
                        warnings.push(Warning::trace(&end.id, "ends before its start event; drawn from end to start"));
                        (Some(te), Some(ts))
                    }
                    (ts, te, None) => (ts.or(te), te.or(ts)),
                    (None, None, Some(_)) => (None, None),
                };
                Raw { event: index(i), end_event: Link::new(Some(j)), start: start.into(), end: stop.into() }
            }
            None => {
                let t = e.time.get();
                let (start, end) = match (t, e.duration_ms.get(), lone_shape(e)) {
                    (Some(t), Some(d), _) if anchor == Anchor::End => (Some(t.add_ms(-d)), Some(t)),
                    (Some(t), Some(d), _) => (Some(t), Some(t.add_ms(d))),
                    // A start without its end: open until the session's last known time.
                    (Some(t), _, Lone::Open) => (Some(t), Some(last_time.map_or(t, |l| t.max(l)))),
                    _ => (t, t),
                };
                Raw { event: index(i), end_event: Link::NONE, start: start.into(), end: end.into() }
            }
        };
        raw_of_event[i] = index(raws.len());
        raws.push(raw);
    }
    drop((end_of, folded));

    // 2. Parents, by the parent id of the span's first event (or, failing that, its end's).
    if duplicate_ids > 0 {
        warnings.push(Warning::general(format!(
            "{duplicate_ids} traces repeat an id already used in this session; children link to the first"
        )));
    }
    let n = raws.len();
    // 4 bytes a span (not an Option<usize>'s 16): this scratch is part of the load's peak.
    let mut parent: Vec<Link> = vec![Link::NONE; n];
    for (r, raw) in raws.iter().enumerate() {
        let event = raw.event as usize;
        let e = &events[event];
        let Some(pid) = parents.id(events, event) else { continue };
        match parents.event(event).map(|pe| raw_of_event[pe] as usize) {
            Some(p) if p == r => {
                if *pid == e.id {
                    warnings.push(Warning::trace(&e.id, "is its own parent; shown as a root"));
                }
            }
            Some(p) if p < n => parent[r] = Link::new(Some(p)),
            _ => {
                warnings.push(Warning::trace(&e.id, format!("parent '{pid}' is not in this session; shown as a root")))
            }
        }
    }
    // Cut cycles: follow each chain once, iteratively; a chain that meets itself is cut there.
    let mut state = vec![0u8; n]; // 0 unvisited, 1 on the current path, 2 done
    let mut path = Vec::new();
    for v in 0..n {
        let mut u = v;
        while state[u] == 0 {
            state[u] = 1;
            path.push(u);
            match parent[u].get() {
                None => break,
                Some(p) if state[p] == 1 => {
                    parent[u] = Link::NONE;
                    warnings.push(Warning::trace(
                        &events[raws[u].event as usize].id,
                        "parent chain loops back to it; cut here and shown as a root",
                    ));
                    break;
                }
                Some(p) => u = p,
            }
        }
        for &w in &path {
            state[w] = 2;
        }
        path.clear();
    }
    drop(state);

    // 3. Children ordered by start time (untimed last, then stored order); depth-first order.
    let order_key = |r: usize| (!raws[r].start.is_some(), raws[r].start.get(), raws[r].event);
    // Children as one flat list (the children of `r` are `child[first_child[r]..first_child[r + 1]]`):
    // two vectors instead of one small vector a span.
    let mut first_child = vec![0u32; n + 1];
    let mut roots = Vec::new();
    for (r, p) in parent.iter().enumerate() {
        match p.get() {
            Some(p) => first_child[p + 1] += 1,
            None => roots.push(r),
        }
    }
    for r in 0..n {
        first_child[r + 1] += first_child[r];
    }
    let mut child = vec![0u32; n - roots.len()];
    let mut filled = first_child.clone();
    for (r, p) in parent.iter().enumerate() {
        if let Some(p) = p.get() {
            child[filled[p] as usize] = index(r);
            filled[p] += 1;
        }
    }
    drop((filled, parent));
    roots.sort_by_key(|&r| order_key(r));
    for r in 0..n {
        let (lo, hi) = (first_child[r] as usize, first_child[r + 1] as usize);
        child[lo..hi].sort_by_key(|&c| order_key(c as usize));
    }
    let children = |r: usize| &child[first_child[r] as usize..first_child[r + 1] as usize];
    let origin = raws.iter().filter_map(|r| r.start.get()).chain(data.row.started).min();
    let rel = |t: Option<Timestamp>| match (t, origin) {
        (Some(t), Some(o)) => t.ms_since(o),
        _ => 0.0,
    };
    let mut spans: Vec<Span> = Vec::with_capacity(n);
    let mut span_of_raw = vec![0u32; n];
    // Stack of (raw index, depth, parent span); children pushed in reverse to pop in order.
    // 12 bytes an entry: a span with hundreds of thousands of children pushes them all at once.
    let mut stack: Vec<(u32, u32, Link)> = roots.iter().rev().map(|&r| (index(r), 0, Link::NONE)).collect();
    let mut open_subtrees: Vec<usize> = Vec::new();
    while let Some((r, depth, parent_span)) = stack.pop() {
        let r = r as usize;
        // Close the subtrees this node is not inside of.
        while let Some(&top) = open_subtrees.last() {
            if spans[top].depth >= depth {
                spans[top].subtree_end = index(spans.len());
                open_subtrees.pop();
            } else {
                break;
            }
        }
        let raw = &raws[r];
        let event = raw.event as usize;
        let first = &events[event];
        let end = raw.end_event.get().and_then(|j| events.get(j));
        let lone = if end.is_some() { Lone::Call } else { lone_shape(first) };
        let failed = first.is_error() || end.is_some_and(TraceEvent::is_error);
        let mut kind = kind_of(first);
        if kind != SpanKind::Error && failed && end.is_some_and(TraceEvent::is_error) && kind == SpanKind::Other {
            kind = SpanKind::Error;
        }
        let timed = raw.start.is_some() && raw.end.is_some();
        let start_ms = rel(raw.start.get());
        let end_ms = rel(raw.end.get()).max(start_ms);
        span_of_raw[r] = index(spans.len());
        open_subtrees.push(spans.len());
        spans.push(Span {
            event,
            end_event: raw.end_event,
            kind,
            start_ms,
            end_ms,
            timed,
            instant: lone == Lone::Instant,
            open: lone == Lone::Open,
            failed,
            depth,
            parent: parent_span,
            subtree_end: 0,
        });
        let me = spans.len() - 1;
        for &c in children(r).iter().rev() {
            stack.push((c, depth.saturating_add(1), Link::new(Some(me))));
        }
    }
    for top in open_subtrees {
        spans[top].subtree_end = index(spans.len());
    }
    let span_of_event = raw_of_event.iter().map(|&r| span_of_raw.get(r as usize).copied().unwrap_or(0)).collect();
    let end_ms = spans
        .iter()
        .filter(|s| s.timed)
        .map(|s| s.end_ms)
        .chain(data.row.completed.map(|c| rel(Some(c))))
        .fold(0.0, f64::max);
    Timeline { origin, spans, anchor, requested, end_ms, span_of_event, warnings }
}

/// The shape of an event's span: the pair it starts, or what the event alone stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lone {
    /// A start and end pair, or a timed event with a duration: a call.
    Call,
    /// A pair's start whose end never came: open until the session's last known time.
    Open,
    /// A moment.
    Instant,
}

/// The shape of the span of `e` when no end event pairs with it.
fn lone_shape(e: &TraceEvent) -> Lone {
    if e.time.get().is_some() && e.duration_ms.get().is_some() {
        Lone::Call
    } else if starts_a_pair(&e.kind) {
        Lone::Open
    } else {
        Lone::Instant
    }
}

fn starts_a_pair(kind: &str) -> bool {
    PAIRS.iter().any(|(s, _, _)| *s == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{Ev, linked, span};
    use crate::model::{EventInfo, SessionRow};
    use crate::time::parse_text;

    #[test]
    fn a_span_stays_small_and_links_keep_none_apart() {
        // A session may hold over half a million spans.
        assert!(size_of::<Span>() <= 48, "Span is {} bytes", size_of::<Span>());
        for index in [None, Some(0), Some(7), Some(u32::MAX as usize - 1)] {
            assert_eq!(Link::new(index).get(), index);
        }
        assert_eq!(Link::new(Some(u32::MAX as usize)).get(), None);
        assert_eq!(Link::default().get(), None);
        assert_eq!(format!("{:?} {:?}", Link::new(Some(3)), Link::NONE), "Some(3) None");
    }

    #[test]
    fn a_span_sums_tokens_and_cost_over_its_two_events() {
        let mut events = vec![TraceEvent::default(); 3];
        events[0].usage_mut().input_tokens = Some(100).into();
        events[0].usage_mut().cost_usd = Some(0.25).into();
        events[0].usage_mut().model_used = Some("m1".into());
        events[2].usage_mut().output_tokens = Some(40).into();
        events[2].usage_mut().cost_usd = Some(0.5).into();
        events[2].usage_mut().model_used = Some("m2".into());
        let pair = Span { end_event: Link::new(Some(2)), ..span(SpanKind::Llm, (0.0, 1.0), 0, None, 1) };
        assert_eq!(pair.tokens(&events), Some((100, 40)));
        assert_eq!(pair.cost_usd(&events), Some(0.75));
        assert_eq!(pair.model(&events), Some("m1"), "the first event's model wins");
        // Event 1 reports nothing: no tokens, no cost, not zero.
        let bare = Span { event: 1, end_event: Link::NONE, ..pair.clone() };
        assert_eq!((bare.tokens(&events), bare.cost_usd(&events), bare.model(&events)), (None, None, None));
        // A completing event past the end of the list is skipped, not a panic.
        let lost = Span { end_event: Link::new(Some(99)), ..pair.clone() };
        assert_eq!(lost.tokens(&events), Some((100, 0)));
        // Counts saturate instead of wrapping.
        events[2].usage_mut().input_tokens = Some(i64::MAX).into();
        assert_eq!(pair.tokens(&events), Some((i64::MAX, 40)));
    }

    #[test]
    fn an_open_span_runs_to_now_while_the_session_runs() {
        let mut span = span(SpanKind::Tool, (1000.0, 3000.0), 0, None, 1);
        assert_eq!(span.end_ms_at(Some(9000.0)), 3000.0, "a closed span keeps its end");
        span.open = true;
        assert_eq!(span.end_ms_at(Some(9000.0)), 9000.0);
        assert_eq!(span.end_ms_at(None), 3000.0, "not running: the last logged time");
        assert_eq!(span.end_ms_at(Some(2000.0)), 3000.0, "now never pulls an end back");
    }

    fn ev(id: &str, kind: &str, t_ms: i64, dur: Option<f64>, parent: Option<&str>) -> Ev {
        let base = parse_text("2026-01-01T00:00:00Z").map(|p| p.time).unwrap_or(Timestamp(0));
        let event = TraceEvent {
            id: id.into(),
            kind: kind.into(),
            time: Some(base.add_ms(t_ms as f64)).into(),
            duration_ms: dur.into(),
            info: EventInfo { label: id.into(), ..EventInfo::default() },
            ..TraceEvent::default()
        };
        Ev::new(event, parent)
    }

    fn session(events: Vec<Ev>) -> SessionData {
        linked(SessionRow::default(), events)
    }

    #[test]
    fn pairs_fold_into_one_span_end_anchor() {
        let mut a = ev("s", "step_started", 0, None, Some("root"));
        a.info.step_id = Some("s0".into());
        let mut b = ev("e", "step_completed", 1000, Some(900.0), Some("s"));
        b.info.step_id = Some("s0".into());
        let root = ev("root", "trace_started", -10, None, None);
        let end = ev("end", "trace_ended", 2000, Some(2010.0), Some("root"));
        let t = build(&session(vec![root, a, b, end]), Anchor::End);
        assert_eq!(t.spans.len(), 2);
        assert_eq!(t.spans[0].end_event.get(), Some(3));
        assert_eq!(t.spans[1].event, 1);
        assert_eq!(t.spans[1].end_event.get(), Some(2));
        assert!((t.spans[1].duration_ms() - 900.0).abs() < 1e-6);
        assert_eq!(t.spans[1].parent.get(), Some(0));
        assert_eq!(t.spans[0].subtree_end, 2);
        assert_eq!(t.span_for_event(2), Some(1));
    }

    #[test]
    fn orphans_self_parents_and_cycles_become_roots() {
        let events = vec![
            ev("a", "x", 0, None, Some("missing")),
            ev("b", "x", 1, None, Some("b")),
            ev("c", "x", 2, None, Some("d")),
            ev("d", "x", 3, None, Some("c")),
        ];
        let t = build(&session(events), Anchor::End);
        assert_eq!(t.spans.len(), 4);
        let roots = t.spans.iter().filter(|s| s.parent.get().is_none()).count();
        assert_eq!(roots, 3, "a, b, and one of the cycle c/d");
        assert!(t.warnings.iter().any(|w| w.message.contains("not in this session")));
        assert!(t.warnings.iter().any(|w| w.message.contains("its own parent")));
        assert!(t.warnings.iter().any(|w| w.message.contains("loops back")));
    }

    #[test]
    fn deep_chain_without_recursion() {
        let n = 200_000;
        let events: Vec<Ev> = (0..n)
            .map(|i| {
                let parent = if i == 0 { None } else { Some(format!("n{}", i - 1)) };
                ev(&format!("n{i}"), "x", i as i64, None, parent.as_deref())
            })
            .collect();
        let t = build(&session(events), Anchor::End);
        assert_eq!(t.spans.len(), n);
        assert_eq!(t.spans[n - 1].depth as usize, n - 1);
        assert_eq!(t.spans[0].subtree_end(), n);
        assert_eq!(t.ancestors(n - 1).count(), n - 1);
    }

    #[test]
    fn duplicate_ids_do_not_loop() {
        let events = vec![ev("a", "x", 0, None, Some("a")), ev("a", "x", 1, None, Some("a"))];
        let t = build(&session(events), Anchor::End);
        assert_eq!(t.spans.len(), 2);
        assert!(t.warnings.iter().any(|w| w.message.contains("repeat an id")));
    }

    #[test]
    fn auto_anchor_follows_the_stamp() {
        // End-stamped: the result is logged when the call returns.
        let call = ev("c", "tool_called", 1000, None, None);
        let result = ev("r", "tool_result", 1500, Some(500.0), Some("c"));
        let anchor = |events: Vec<Ev>| {
            let s = session(events);
            choose_anchor(&s.events, &s.parents, None)
        };
        assert_eq!(anchor(vec![call.clone(), result]), Anchor::End);
        // Start-stamped: the result carries the call's start time.
        let result = ev("r", "tool_result", 1000, Some(500.0), Some("c"));
        assert_eq!(anchor(vec![call, result]), Anchor::Start);
    }
}
