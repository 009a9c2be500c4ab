//! Loops and retries: an agent calling the same tool with the same arguments again and again,
//! or going round the same few calls, and what that cost after the first call.
//!
//! The calls are the session's tool calls ([`tool_call`]) in time order, each with its
//! arguments as read at load ([`CallArgs`]: equal after JSON normalisation, or similar by the
//! Jaccard index of their words). A loop is:
//! - [`LoopKind::Repeat`]: the same tool with the same arguments [`LoopParams::min_calls`] or
//!   more times in a row;
//! - [`LoopKind::InStep`]: that many such calls inside one step, with other calls between;
//! - [`LoopKind::Similar`]: that many calls of one tool in a row whose arguments are each at
//!   least [`LoopParams::similarity`] alike with the first's, not all equal;
//! - [`LoopKind::Cycle`]: a round of 2 to [`LoopParams::max_period`] calls (not all the same)
//!   repeated that many times in a row.
//!
//! The waste of a loop is what was spent after its first call (a cycle: its first round), up
//! to the end of its last: the wall time between those two ends, the loop's later calls' own
//! time, and the tokens and cost of every event logged in between (the LLM calls that decided
//! to go round again, mostly). Calls whose arguments were not logged are never part of a loop.

use arcstr::ArcStr;
use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::timeline::{Span, SpanKind, Timeline};
use crate::analysis::tools::{UNNAMED_TOOL, tool_call};
use crate::analysis::{AnalyzedSession, Link};
use crate::model::{CallArgs, TraceEvent};

/// What counts as a loop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LoopParams {
    /// Calls (a cycle: rounds) that make a loop.
    pub min_calls: usize,
    /// Jaccard index of the argument words at or above which two calls are similar.
    pub similarity: f64,
    /// The longest round a cycle may have.
    pub max_period: usize,
}

impl Default for LoopParams {
    fn default() -> Self {
        Self { min_calls: 3, similarity: 0.85, max_period: 6 }
    }
}

/// The kinds of loop (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    Repeat,
    InStep,
    Similar,
    Cycle,
}

impl LoopKind {
    /// Lower-case name, as in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            LoopKind::Repeat => "repeat",
            LoopKind::InStep => "in_step",
            LoopKind::Similar => "similar",
            LoopKind::Cycle => "cycle",
        }
    }
}

/// What a loop spent after its first call (a cycle: after its first round).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Waste {
    /// From the end of the first call to the end of the last (ms); `None` when either is
    /// untimed.
    pub wall_ms: Option<f64>,
    /// The later calls' own durations (timed ones).
    pub calls_ms: f64,
    /// Events logged after the first call, up to and with the last call's last event.
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// One loop.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Loop {
    pub kind: LoopKind,
    /// The tools of one round: one tool, or a cycle's round in order.
    pub tools: Vec<ArcStr>,
    /// Calls in a round (1 but for cycles).
    pub period: usize,
    /// Every call of the loop (span indices), in time order.
    pub calls: Vec<usize>,
    /// Rounds after the first (calls after the first, but for cycles).
    pub repeats: usize,
    /// The lowest similarity of a call's arguments to the first call's (1 when equal).
    pub min_similarity: f64,
    /// The step every call ran in, when they share one.
    pub step: Option<usize>,
    pub waste: Waste,
}

impl Loop {
    /// The tool, or a cycle's round as `a → b`.
    #[must_use]
    pub fn label(&self) -> String {
        self.tools.iter().map(AsRef::as_ref).collect::<Vec<&str>>().join(" → ")
    }
}

/// The loops of one session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Loops {
    /// In time order of their first call.
    pub loops: Vec<Loop>,
    /// Tool calls looked at.
    pub tool_calls: usize,
    /// Tool calls whose arguments were not logged: never in a loop.
    pub calls_without_args: usize,
}

impl Loops {
    /// All loops' waste added up.
    #[must_use]
    pub fn total_waste(&self) -> Waste {
        let mut total = Waste { wall_ms: Some(0.0), ..Waste::default() };
        for l in &self.loops {
            total.wall_ms = total.wall_ms.zip(l.waste.wall_ms).map(|(a, b)| a + b);
            total.calls_ms += l.waste.calls_ms;
            total.input_tokens = total.input_tokens.saturating_add(l.waste.input_tokens);
            total.output_tokens = total.output_tokens.saturating_add(l.waste.output_tokens);
            total.cost_usd += l.waste.cost_usd;
        }
        total
    }
}

/// The Jaccard index of two sorted sets of word hashes (1 when both are empty).
#[must_use]
pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// One tool call as the finder sees it: 48 bytes (a big session has hundreds of thousands).
struct Call<'a> {
    span: u32,
    step: Link,
    /// The call's last event (where its window of waste starts or ends).
    last_event: u32,
    timed: bool,
    tool: ArcStr,
    args: Option<&'a CallArgs>,
    end_ms: f64,
    duration_ms: f64,
}

impl Call<'_> {
    fn end_ms(&self) -> Option<f64> {
        self.timed.then_some(self.end_ms)
    }

    /// Tool and argument hash, `None` without arguments.
    fn key(&self) -> Option<(&str, u64)> {
        self.args.map(|a| (&*self.tool, a.hash))
    }
}

/// The loops of `session`.
#[must_use]
pub fn find_loops(session: &AnalyzedSession, params: &LoopParams) -> Loops {
    find_loops_in(&session.timeline, &session.data.events, params)
}

/// [`find_loops`] over a timeline and its events.
#[must_use]
pub fn find_loops_in(timeline: &Timeline, events: &[TraceEvent], params: &LoopParams) -> Loops {
    let spans = &timeline.spans;
    let min_calls = params.min_calls.max(2);
    // Each span's nearest step (spans are in depth-first order: parents first).
    let mut step_of: Vec<Link> = vec![Link::NONE; spans.len()];
    for (i, s) in spans.iter().enumerate() {
        step_of[i] = match s.parent.get() {
            Some(p) if p < i => {
                if spans[p].kind == SpanKind::Step {
                    Link::new(Some(p))
                } else {
                    step_of[p]
                }
            }
            _ => Link::NONE,
        };
    }
    let unnamed: ArcStr = ArcStr::from(UNNAMED_TOOL);
    let is_call = |(_, s): &(usize, &Span)| tool_call(s, events).is_some();
    // Counted first, then sized once: this scratch is part of a big session's peak memory.
    let mut calls: Vec<Call<'_>> = Vec::with_capacity(spans.iter().enumerate().filter(is_call).count());
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    calls.extend(spans.iter().enumerate().filter(is_call).map(|(i, s)| {
        let first = events.get(s.event);
        let end = s.end_event.get().and_then(|e| events.get(e));
        let tool = first.and_then(|e| e.info.tool.clone()).or_else(|| end.and_then(|e| e.info.tool.clone()));
        let args = first.and_then(|e| e.info.args.as_deref()).or_else(|| end.and_then(|e| e.info.args.as_deref()));
        Call {
            span: index(i),
            step: step_of[i],
            last_event: index(s.end_event.get().map_or(s.event, |e| e.max(s.event))),
            timed: s.timed,
            tool: tool.unwrap_or_else(|| ArcStr::clone(&unnamed)),
            args,
            end_ms: s.end_ms,
            duration_ms: s.duration_ms(),
        }
    }));
    calls.sort_by_key(|c| (spans.get(c.span as usize).map(|s| s.event), c.span));
    let n = calls.len();
    let calls_without_args = calls.iter().filter(|c| c.args.is_none()).count();

    // Found loops as (kind, positions in `calls`, period, lowest similarity).
    let mut found: Vec<(LoopKind, Vec<usize>, usize, f64)> = Vec::new();

    // Runs of equal calls.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        if calls[i].key().is_some() {
            while j < n && calls[j].key() == calls[i].key() {
                j += 1;
            }
            if j - i >= min_calls {
                runs.push((i, j));
            }
        }
        i = j;
    }
    // Equal calls inside one step, not all in one run: the calls sorted by (step, tool,
    // arguments, position), so each group is one stretch (no table of small vectors).
    drop(step_of);
    fn keyed_of<'c>((p, c): (usize, &'c Call<'_>)) -> Option<(u32, &'c str, u64, u32)> {
        let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        match (c.step.get(), c.key()) {
            (Some(step), Some((tool, hash))) => Some((index(step), tool, hash, index(p))),
            _ => None,
        }
    }
    let mut keyed: Vec<(u32, &str, u64, u32)> =
        Vec::with_capacity(calls.iter().enumerate().filter_map(keyed_of).count());
    keyed.extend(calls.iter().enumerate().filter_map(keyed_of));
    keyed.sort_unstable();
    let mut in_step: Vec<Vec<usize>> = keyed
        .chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2))
        .filter(|g| g.len() >= min_calls)
        .map(|g| g.iter().map(|k| k.3 as usize).collect::<Vec<usize>>())
        .filter(|g| !runs.iter().any(|&(a, b)| g.first().is_some_and(|&f| f >= a) && g.last().is_some_and(|&l| l < b)))
        .collect();
    drop(keyed);
    in_step.sort();
    // Similar calls in a row.
    let mut similar: Vec<(usize, usize, f64)> = Vec::new();
    let mut i = 0;
    while i < n {
        let Some(first) = calls[i].args else {
            i += 1;
            continue;
        };
        let (mut j, mut lowest, mut all_equal) = (i + 1, 1.0f64, true);
        while let Some(next) = calls.get(j) {
            let Some(args) = next.args.filter(|_| next.tool == calls[i].tool) else { break };
            let alike = if args.hash == first.hash { 1.0 } else { similarity(&first.tokens, &args.tokens) };
            if alike < params.similarity {
                break;
            }
            all_equal &= args.hash == first.hash;
            lowest = lowest.min(alike);
            j += 1;
        }
        if j - i >= min_calls && !all_equal {
            similar.push((i, j, lowest));
            i = j;
        } else {
            i += 1;
        }
    }
    // Cycles, shortest round first; a stretch repeating a shorter round is that round's. A
    // cycle holds its full rounds and the calls of a last, unfinished one.
    let mut cycles: Vec<(Vec<usize>, usize)> = Vec::new();
    let mut in_cycle = vec![false; n];
    for period in 2..=params.max_period.max(2) {
        let mut i = 0;
        while i + period < n {
            let mut r = 0;
            while i + r + period < n
                && calls[i + r].key().is_some()
                && calls[i + r].key() == calls[i + r + period].key()
            {
                r += 1;
            }
            let covered = r + period;
            let round = i..i + period;
            let shorter = (1..period)
                .filter(|d| period % d == 0)
                .any(|d| round.clone().skip(d).all(|p| calls[p].key() == calls[p - d].key()));
            if r > 0 && covered / period >= min_calls && !shorter && !(i..i + covered).all(|p| in_cycle[p]) {
                for flag in &mut in_cycle[i..i + covered] {
                    *flag = true;
                }
                cycles.push(((i..i + covered).collect(), period));
            }
            i += r.max(1);
        }
    }
    let inside = |(a, b): (usize, usize), positions: &[usize]| (a..b).all(|p| positions.binary_search(&p).is_ok());
    for &(a, b) in &runs {
        let superseded = in_step.iter().any(|g| g.len() > b - a && inside((a, b), g))
            || similar.iter().any(|&(s, e, _)| s <= a && b <= e);
        if !superseded {
            found.push((LoopKind::Repeat, (a..b).collect(), 1, 1.0));
        }
    }
    for g in in_step {
        if !cycles.iter().any(|(c, _)| g.iter().all(|p| c.binary_search(p).is_ok())) {
            found.push((LoopKind::InStep, g, 1, 1.0));
        }
    }
    for (a, b, lowest) in similar {
        found.push((LoopKind::Similar, (a..b).collect(), 1, lowest));
    }
    for (positions, period) in cycles {
        found.push((LoopKind::Cycle, positions, period, 1.0));
    }

    // Waste: tokens and cost of the events after the first round, by running sums (cost in
    // whole picodollars, so differences are exact; counts saturate) taken only at the loops'
    // ends: one pass over the events, not three arrays as long as the session.
    let ends: Vec<Option<(usize, usize)>> = found
        .iter()
        .map(|(_, positions, period, _)| {
            let first = calls.get(*positions.get(period.checked_sub(1)?)?)?;
            let last = calls.get(*positions.last()?)?;
            Some((first.last_event as usize + 1, last.last_event as usize + 1))
        })
        .collect();
    let mut at: Vec<usize> = ends.iter().flatten().flat_map(|&(from, to)| [from, to]).collect();
    at.sort_unstable();
    at.dedup();
    let running = running_sums_at(events, &at);
    let sums = |i: usize| at.binary_search(&i).ok().and_then(|k| running.get(k));
    let between = |from: usize, to: usize| match (sums(from), sums(to)) {
        (Some(x), Some(y)) if to > from => {
            (y.0.saturating_sub(x.0), y.1.saturating_sub(x.1), y.2.saturating_sub(x.2) as f64 / 1e12)
        }
        _ => (0, 0, 0.0),
    };
    let mut loops: Vec<Loop> = found
        .into_iter()
        .zip(ends)
        .filter_map(|((kind, positions, period, min_similarity), ends)| {
            let (from, to) = ends?;
            let first = calls.get(*positions.get(period - 1)?)?;
            let last = calls.get(*positions.last()?)?;
            let (input_tokens, output_tokens, cost_usd) = between(from, to);
            let waste = Waste {
                wall_ms: first.end_ms().zip(last.end_ms()).map(|(f, l)| (l - f).max(0.0)),
                calls_ms: positions.iter().skip(period).filter_map(|&p| calls.get(p)).map(|c| c.duration_ms).sum(),
                input_tokens,
                output_tokens,
                cost_usd,
            };
            let step = calls.get(positions[0]).and_then(|c| c.step.get());
            let step =
                step.filter(|s| positions.iter().all(|&p| calls.get(p).is_some_and(|c| c.step.get() == Some(*s))));
            Some(Loop {
                kind,
                tools: positions
                    .iter()
                    .take(period)
                    .filter_map(|&p| calls.get(p))
                    .map(|c| ArcStr::clone(&c.tool))
                    .collect(),
                period,
                repeats: positions.len() / period - 1,
                calls: positions.iter().filter_map(|&p| calls.get(p)).map(|c| c.span as usize).collect(),
                min_similarity,
                step,
                waste,
            })
        })
        .collect();
    loops.sort_by_key(|l| (l.calls.first().map(|&s| spans[s].event), l.calls.len()));
    Loops { loops, tool_calls: n, calls_without_args }
}

/// The running sums of input tokens, output tokens and cost (in picodollars) over `events`
/// before each index of `at` (sorted, each once): the sums of the first `i` events for each
/// `i` of `at` up to the number of events, in the order of `at` (later indices have none).
fn running_sums_at(events: &[TraceEvent], at: &[usize]) -> Vec<(i64, i64, i128)> {
    let mut out = Vec::with_capacity(at.len());
    let mut next = at.iter().peekable();
    let (mut a, mut b, mut c) = (0i64, 0i64, 0i128);
    for i in 0..=events.len() {
        if next.peek() == Some(&&i) {
            out.push((a, b, c));
            next.next();
        }
        let Some(e) = events.get(i) else { break };
        a = a.saturating_add(e.input_tokens().unwrap_or(0));
        b = b.saturating_add(e.output_tokens().unwrap_or(0));
        // A cost beyond a quadrillion dollars is a broken value; clamped, a million of them
        // still fit.
        let cost = e.cost_usd().filter(|v| v.is_finite()).map_or(0.0, |v| v.clamp(-1e15, 1e15));
        c = c.saturating_add((cost * 1e12).round() as i128);
    }
    out
}

/// What the sessions table shows of a session's loops: how many, and their waste together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LoopCount {
    pub loops: u32,
    pub waste: Waste,
}

impl LoopCount {
    /// The count of `loops`.
    #[must_use]
    pub fn of(loops: &Loops) -> Self {
        Self { loops: u32::try_from(loops.loops.len()).unwrap_or(u32::MAX), waste: loops.total_waste() }
    }
}

/// Loop counts of a file's sessions by id, as far as they are counted, with the event count
/// each was counted at (a session that grew is counted again).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoopCounts {
    pub by_session: HashMap<String, (u64, LoopCount)>,
    /// Counting waits for the user to ask (sort by the column): the file is big enough that
    /// counting reads a large part of it.
    pub on_request: bool,
    /// Changes with every batch added: what is sorted by the counts sorts again.
    pub generation: u64,
}

impl LoopCounts {
    /// The count of a session, once counted.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&LoopCount> {
        self.by_session.get(id).map(|(_, c)| c)
    }
}

/// Loops of one tool (or cycle) or of one task across many sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoopGroup {
    /// The tool ([`Loop::label`]) or the task.
    pub name: String,
    pub loops: u64,
    /// Sessions with at least one of these loops.
    pub sessions: u64,
    pub repeats: u64,
    /// Waste added up; loops with an untimed end add no wall time.
    pub wall_ms: f64,
    pub calls_ms: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// Loops across many sessions (a whole file), most looping first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoopTally {
    pub sessions: u64,
    pub sessions_with_loops: u64,
    pub loops: u64,
    pub by_tool: Vec<LoopGroup>,
    pub by_task: Vec<LoopGroup>,
}

/// Adds up sessions' loops one session at a time ([`LoopTally`]).
#[derive(Debug, Default)]
pub struct LoopTallyBuilder {
    sessions: u64,
    sessions_with_loops: u64,
    loops: u64,
    by_tool: HashMap<String, LoopGroup>,
    by_task: HashMap<String, LoopGroup>,
}

impl LoopTallyBuilder {
    /// Adds one session's loops; `task` is the session's task.
    pub fn add(&mut self, task: &str, loops: &Loops) {
        self.sessions += 1;
        if loops.loops.is_empty() {
            return;
        }
        self.sessions_with_loops += 1;
        let mut tools_seen: Vec<String> = Vec::new();
        for l in &loops.loops {
            self.loops += 1;
            let label = l.label();
            let first_in_session = !tools_seen.contains(&label);
            let entry = self
                .by_tool
                .entry(label.clone())
                .or_insert_with(|| LoopGroup { name: label.clone(), ..LoopGroup::default() });
            add_loop(entry, l, first_in_session);
            if first_in_session {
                tools_seen.push(label);
            }
            let entry = self
                .by_task
                .entry(task.to_owned())
                .or_insert_with(|| LoopGroup { name: task.to_owned(), ..LoopGroup::default() });
            add_loop(entry, l, false);
        }
        if let Some(entry) = self.by_task.get_mut(task) {
            entry.sessions += 1;
        }
    }

    /// The tally, most loops first (then most repeats, costliest, by name).
    #[must_use]
    pub fn finish(self) -> LoopTally {
        let order = |a: &LoopGroup, b: &LoopGroup| {
            b.loops
                .cmp(&a.loops)
                .then(b.repeats.cmp(&a.repeats))
                .then(b.cost_usd.total_cmp(&a.cost_usd))
                .then(a.name.cmp(&b.name))
        };
        let mut by_tool: Vec<LoopGroup> = self.by_tool.into_values().collect();
        let mut by_task: Vec<LoopGroup> = self.by_task.into_values().collect();
        by_tool.sort_by(order);
        by_task.sort_by(order);
        LoopTally {
            sessions: self.sessions,
            sessions_with_loops: self.sessions_with_loops,
            loops: self.loops,
            by_tool,
            by_task,
        }
    }
}

fn add_loop(group: &mut LoopGroup, l: &Loop, new_session: bool) {
    group.loops += 1;
    group.sessions += u64::from(new_session);
    group.repeats += l.repeats as u64;
    group.wall_ms += l.waste.wall_ms.unwrap_or(0.0);
    group.calls_ms += l.waste.calls_ms;
    group.input_tokens = group.input_tokens.saturating_add(l.waste.input_tokens);
    group.output_tokens = group.output_tokens.saturating_add(l.waste.output_tokens);
    group.cost_usd += l.waste.cost_usd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_sums_at_some_ends_equal_the_full_running_sums_there() {
        use crate::model::CallUsage;
        let events: Vec<TraceEvent> = (0..60i64)
            .map(|i| TraceEvent {
                rare: crate::model::Rare::boxed(
                    CallUsage {
                        input_tokens: (i % 4 != 0).then_some(if i == 30 { i64::MAX - 5 } else { i * 11 }).into(),
                        output_tokens: (i % 3 == 0).then_some(i).into(),
                        cost_usd: match i % 5 {
                            0 => Some(0.125),
                            1 => Some(f64::NAN),
                            2 => Some(1e20),
                            _ => None,
                        }
                        .into(),
                        ..CallUsage::default()
                    },
                    crate::model::Notes::default(),
                ),
                ..TraceEvent::default()
            })
            .collect();
        // The sums as the full arrays had them.
        let mut full = vec![(0i64, 0i64, 0i128)];
        for e in &events {
            let &(a, b, c) = full.last().unwrap_or(&(0, 0, 0));
            let cost = e.cost_usd().filter(|v| v.is_finite()).map_or(0.0, |v| v.clamp(-1e15, 1e15));
            full.push((
                a.saturating_add(e.input_tokens().unwrap_or(0)),
                b.saturating_add(e.output_tokens().unwrap_or(0)),
                c.saturating_add((cost * 1e12).round() as i128),
            ));
        }
        let at = [0, 1, 7, 29, 30, 31, 59, 60, 61, 500];
        let got = running_sums_at(&events, &at);
        assert_eq!(got.len(), 8, "indices past the events have none");
        for (k, &i) in at.iter().take(8).enumerate() {
            assert_eq!(got[k], full[i], "at {i}");
        }
        assert_eq!(got[6].0, i64::MAX, "the input sum saturates");
        assert!(running_sums_at(&events, &[]).is_empty());
    }
    use crate::analysis::Span;
    use crate::analysis::fixtures::span;
    use crate::model::EventInfo;
    use crate::time::Timestamp;

    /// A session of steps holding tool calls and LLM calls, one event a span, 10 s apart,
    /// each lasting 4 s. `plan` lists (step, what): `"llm"`, or `tool:args words`.
    fn session(plan: &[(usize, &str)]) -> (Timeline, Vec<TraceEvent>) {
        let steps = plan.iter().map(|(s, _)| s + 1).max().unwrap_or(0);
        let mut spans: Vec<Span> = Vec::new();
        let mut events: Vec<TraceEvent> = Vec::new();
        let hasher = crate::hash::IdHashBuilder::default();
        // Steps first (0..steps), then the calls; depth-first order does not matter here but
        // parents come first.
        for _ in 0..steps {
            spans.push(span(SpanKind::Step, (0.0, 1e9), 0, None, 0));
            events.push(TraceEvent { kind: "step_started".into(), ..TraceEvent::default() });
        }
        for (k, (step, what)) in plan.iter().enumerate() {
            let start = 10_000.0 * k as f64;
            let e = events.len();
            let mut ev = TraceEvent::default();
            let kind = if *what == "llm" {
                ev.kind = "message".into();
                ev.usage_mut().input_tokens = Some(1000).into();
                ev.usage_mut().output_tokens = Some(100).into();
                ev.usage_mut().cost_usd = Some(0.25).into();
                SpanKind::Llm
            } else {
                use std::hash::BuildHasher as _;
                let (tool, args) = what.split_once(':').unwrap_or((what, ""));
                ev.kind = "tool_result".into();
                let mut tokens: Vec<u32> = args.split_whitespace().map(|w| hasher.hash_one(w) as u32).collect();
                tokens.sort_unstable();
                tokens.dedup();
                let args =
                    (args != "-").then(|| Box::new(CallArgs { hash: hasher.hash_one(args), tokens: tokens.into() }));
                ev.info = EventInfo { tool: Some(tool.into()), args, ..EventInfo::default() };
                SpanKind::Tool
            };
            events.push(ev);
            let mut sp = span(kind, (start, start + 4000.0), 1, Some(*step), 0);
            sp.event = e;
            spans.push(sp);
        }
        for (i, s) in spans.iter_mut().enumerate() {
            s.event = if s.kind == SpanKind::Step { i } else { s.event };
        }
        (Timeline { origin: Some(Timestamp(0)), spans, end_ms: 1e9, ..Timeline::default() }, events)
    }

    fn kinds(l: &Loops) -> Vec<(LoopKind, String, usize, usize)> {
        l.loops.iter().map(|l| (l.kind, l.label(), l.calls.len(), l.repeats)).collect()
    }

    #[test]
    fn three_equal_calls_in_a_row_are_a_loop_with_their_waste() {
        // A big session has hundreds of thousands of calls: the finder's record stays small.
        assert!(size_of::<Call<'_>>() <= 48, "Call is {} bytes", size_of::<Call<'_>>());
        // Step 0: read a, llm, read a, llm, read a, then read b.
        let (t, events) =
            session(&[(0, "read:a"), (0, "llm"), (0, "read:a"), (0, "llm"), (0, "read:a"), (0, "read:b")]);
        let found = find_loops_in(&t, &events, &LoopParams::default());
        assert_eq!(kinds(&found), vec![(LoopKind::Repeat, "read".to_owned(), 3, 2)]);
        let l = &found.loops[0];
        // Calls are spans 1, 3, 5 (span 0 is the step); the first ends at 4 s, the last at 44 s.
        assert_eq!(l.calls, vec![1, 3, 5]);
        assert_eq!(l.step, Some(0));
        assert_eq!(
            l.waste,
            Waste { wall_ms: Some(40_000.0), calls_ms: 8000.0, input_tokens: 2000, output_tokens: 200, cost_usd: 0.5 }
        );
        assert_eq!((found.tool_calls, found.calls_without_args), (4, 0));
        // Two in a row are not a loop.
        let (t, events) = session(&[(0, "read:a"), (0, "read:a"), (0, "read:b")]);
        assert!(find_loops_in(&t, &events, &LoopParams::default()).loops.is_empty());
    }

    #[test]
    fn equal_calls_spread_over_one_step_are_a_loop_but_not_across_steps() {
        let (t, events) =
            session(&[(0, "grep:x"), (0, "read:a"), (0, "grep:x"), (0, "read:b"), (0, "grep:x"), (1, "grep:x")]);
        let found = find_loops_in(&t, &events, &LoopParams::default());
        assert_eq!(kinds(&found), vec![(LoopKind::InStep, "grep".to_owned(), 3, 2)]);
        let (t, events) = session(&[(0, "grep:x"), (1, "read:a"), (1, "grep:x"), (2, "read:b"), (2, "grep:x")]);
        assert!(find_loops_in(&t, &events, &LoopParams::default()).loops.is_empty());
    }

    #[test]
    fn near_identical_arguments_are_similar_calls() {
        let q = "how to parse json in rust with serde derive and borrowed str fields";
        let near = "how to parse json in rust with serde derive and borrowed str fields fast";
        let other = "weather in paris";
        let plan: Vec<(usize, String)> = vec![
            (0, format!("search:{q}")),
            (0, format!("search:{near}")),
            (0, format!("search:{q}")),
            (0, format!("search:{other}")),
        ];
        let plan: Vec<(usize, &str)> = plan.iter().map(|(s, w)| (*s, w.as_str())).collect();
        let (t, events) = session(&plan);
        let found = find_loops_in(&t, &events, &LoopParams::default());
        assert_eq!(kinds(&found), vec![(LoopKind::Similar, "search".to_owned(), 3, 2)]);
        // 13 shared words of 14.
        assert_eq!(found.loops[0].min_similarity, 13.0 / 14.0);
    }

    #[test]
    fn a_round_of_two_calls_three_times_is_a_cycle() {
        let (t, events) = session(&[
            (0, "open:x"),
            (0, "click:y"),
            (0, "open:x"),
            (0, "click:y"),
            (0, "open:x"),
            (0, "click:y"),
            (0, "open:x"),
            (0, "done:z"),
        ]);
        let found = find_loops_in(&t, &events, &LoopParams::default());
        // Three rounds and the start of a fourth; the four opens in one step are this loop's.
        assert_eq!(kinds(&found), vec![(LoopKind::Cycle, "open → click".to_owned(), 7, 2)]);
        let l = &found.loops[0];
        // After the first round (ends 14 s) to the end of the last call (64 s).
        assert_eq!(l.waste.wall_ms, Some(50_000.0));
        assert_eq!(l.waste.calls_ms, 20_000.0);
        // Two rounds are not enough; neither is a round of one repeated call.
        let (t, events) = session(&[(0, "open:x"), (0, "click:y"), (0, "open:x"), (0, "click:y")]);
        assert!(find_loops_in(&t, &events, &LoopParams::default()).loops.is_empty());
    }

    #[test]
    fn calls_without_arguments_are_never_a_loop() {
        let (t, events) = session(&[(0, "read:-"), (0, "read:-"), (0, "read:-"), (0, "read:-")]);
        let found = find_loops_in(&t, &events, &LoopParams::default());
        assert!(found.loops.is_empty());
        assert_eq!(found.calls_without_args, 4);
        assert!(find_loops(&AnalyzedSession::default(), &LoopParams::default()).loops.is_empty());
    }

    #[test]
    fn a_file_wide_tally_ranks_tools_and_tasks() {
        let (t, events) =
            session(&[(0, "read:a"), (0, "read:a"), (0, "read:a"), (1, "grep:q"), (1, "grep:q"), (1, "grep:q")]);
        let two = find_loops_in(&t, &events, &LoopParams::default());
        let (t, events) = session(&[(0, "read:a"), (0, "read:a"), (0, "read:a"), (0, "read:a")]);
        let one = find_loops_in(&t, &events, &LoopParams::default());
        let mut tally = LoopTallyBuilder::default();
        tally.add("fix bug", &two);
        tally.add("fix bug", &one);
        tally.add("write docs", &Loops::default());
        let tally = tally.finish();
        assert_eq!((tally.sessions, tally.sessions_with_loops, tally.loops), (3, 2, 3));
        let tools: Vec<(&str, u64, u64, u64)> =
            tally.by_tool.iter().map(|g| (g.name.as_str(), g.loops, g.sessions, g.repeats)).collect();
        assert_eq!(tools, vec![("read", 2, 2, 5), ("grep", 1, 1, 2)]);
        let tasks: Vec<(&str, u64, u64)> =
            tally.by_task.iter().map(|g| (g.name.as_str(), g.loops, g.sessions)).collect();
        assert_eq!(tasks, vec![("fix bug", 3, 2)]);
    }

    #[test]
    fn absurd_tokens_and_costs_saturate() {
        let (t, mut events) = session(&[(0, "read:a"), (0, "llm"), (0, "read:a"), (0, "llm"), (0, "read:a")]);
        for e in &mut events {
            if e.input_tokens().is_some() {
                e.usage_mut().input_tokens = Some(i64::MAX).into();
                e.usage_mut().cost_usd = Some(f64::MAX).into();
            }
        }
        let found = find_loops_in(&t, &events, &LoopParams::default());
        let waste = found.loops[0].waste;
        assert_eq!(waste.input_tokens, i64::MAX);
        assert_eq!(waste.cost_usd, 2e15, "each cost clamped to a quadrillion dollars");
    }

    #[test]
    fn jaccard_of_word_sets() {
        assert_eq!(similarity(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(similarity(&[], &[]), 1.0);
        assert_eq!(similarity(&[1], &[]), 0.0);
    }
}
