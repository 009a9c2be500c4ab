//! Chrome trace JSON (the Trace Event Format), which Perfetto and `chrome://tracing` open:
//! `{"traceEvents": [...]}` with times in microseconds since the Unix epoch.
//!
//! Each session is a process, named by `M` events. A span is a complete (`X`) event with its
//! ids, model, tokens and cost in `args`; an instant is an `i` event, and so is the end of a
//! failed span (category `error`); the session's running token and cost totals are counter
//! (`C`) events. Events on one thread must nest strictly, so spans go on lanes (threads): a span
//! stays on its parent's lane when it fits inside what is open there, else on the first lane
//! where it fits, else on a new one; parallel calls so end up side by side, each with a flow
//! arrow (`s` / `f`) from its parent on the other lane. Times are rounded
//! to whole microseconds (what the reference writer stores), which keeps every nesting.
//! The document is written session by session ([`ChromeWriter`]), never held whole.

use std::borrow::Cow;
use std::io;

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::analysis::tools::tool_call;
use crate::export::external::{ExportStats, Exported, external_spans, hex};
use crate::model::IdText;

/// Writes one Chrome trace document: [`ChromeWriter::begin`], a [`ChromeWriter::session`] per
/// session, then [`ChromeWriter::finish`].
#[derive(Debug)]
pub struct ChromeWriter {
    /// No event written yet (no comma before the next).
    first: bool,
    /// Process id of the last session written.
    pid: u64,
    /// Id of the last flow (parent → child arrow) written.
    flow: u64,
}

impl ChromeWriter {
    /// Opens the document.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn begin(out: &mut dyn io::Write) -> io::Result<ChromeWriter> {
        out.write_all(b"{\"traceEvents\":[")?;
        Ok(ChromeWriter { first: true, pid: 0, flow: 0 })
    }

    /// Closes the document.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn finish(self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(b"\n],\"displayTimeUnit\":\"ms\"}\n")
    }

    fn event<A: Serialize>(&mut self, out: &mut dyn io::Write, event: &Event<'_, A>) -> io::Result<()> {
        out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *out, event).map_err(io::Error::other)
    }

    /// Writes one session as the next process.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn session(&mut self, session: &AnalyzedSession, out: &mut dyn io::Write) -> io::Result<Exported> {
        self.pid += 1;
        let pid = self.pid;
        let external = external_spans(session);
        let events = &session.data.events;
        let row = &session.data.row;
        let times: Vec<(i64, i64)> = external.spans.iter().map(|s| (micros(s.start_ns), micros(s.end_ns))).collect();
        let instant: Vec<bool> =
            external.spans.iter().map(|s| session.timeline.spans.get(s.span).is_none_or(|span| span.instant)).collect();
        let parents: Vec<Option<usize>> = external.spans.iter().map(|s| s.parent).collect();
        let lane_of = lanes(&times, &parents, &instant);
        let lane_count = lane_of.iter().copied().max().map_or(1, |m| m + 1);

        let process = if row.task.is_empty() { row.id.clone() } else { format!("{} ({})", row.task, row.id) };
        self.event(out, &Event::meta("process_name", pid, 0, NameArgs { name: &process }))?;
        self.event(out, &Event::meta("process_sort_index", pid, 0, SortArgs { sort_index: pid }))?;
        for lane in 0..lane_count {
            let name = if lane == 0 { Cow::Borrowed("main") } else { Cow::Owned(format!("parallel {lane}")) };
            self.event(out, &Event::meta("thread_name", pid, tid(lane), NameArgs { name: &name }))?;
        }

        // (time, input, output, cost) of each span reporting usage, for the counters.
        let mut usage: Vec<(i64, i64, i64, f64)> = Vec::new();
        let mut trace_hex = [0u8; 32];
        let trace_id = hex(&external.trace_id, &mut trace_hex).to_owned();
        for (i, ext) in external.spans.iter().enumerate() {
            let Some(span) = session.timeline.spans.get(ext.span) else { continue };
            let (start_us, end_us) = times.get(i).copied().unwrap_or_default();
            let first = events.get(span.event);
            let tokens = span.tokens(events);
            let cost = span.cost_usd(events).filter(|c| c.is_finite());
            if tokens.is_some() || cost.is_some() {
                let (input, output) = tokens.unwrap_or_default();
                usage.push((end_us, input, output, cost.unwrap_or(0.0)));
            }
            let mut span_hex = [0u8; 16];
            let parent = ext.parent.and_then(|p| external.spans.get(p));
            let args = SpanArgs {
                trace_id: first.map(|e| e.id.as_str()),
                end_trace_id: span.end_event.get().and_then(|e| events.get(e)).map(|e| e.id.as_str()),
                parent_trace_id: parent
                    .and_then(|p| session.timeline.spans.get(p.span))
                    .and_then(|p| events.get(p.event))
                    .map(|e| e.id.as_str()),
                kind: first.map(|e| &*e.kind),
                model: span.model(events),
                provider: span.events(events).find_map(|e| e.provider_used()),
                tool: tool_call(span, events),
                input_tokens: tokens.map(|t| t.0),
                output_tokens: tokens.map(|t| t.1),
                cost_usd: cost,
                failed: span.failed.then_some(true),
                open: span.open.then_some(true),
                otel_trace_id: &trace_id,
                otel_span_id: hex(&ext.span_id, &mut span_hex),
            };
            let thread = tid(lane_of.get(i).copied().unwrap_or(0));
            let base = Event {
                name: span.label(events),
                cat: span.kind.name(),
                ph: "X",
                ts: start_us,
                dur: None,
                pid,
                tid: thread,
                s: None,
                id: None,
                bp: None,
                args: Some(&args),
            };
            if span.instant {
                self.event(
                    out,
                    &Event { ph: "i", s: Some("t"), cat: if span.failed { "error" } else { base.cat }, ..base },
                )?;
            } else {
                self.event(out, &Event { dur: Some(end_us - start_us), ..base })?;
                // A child on another lane than its parent gets an arrow from the parent.
                let parent_lane =
                    ext.parent.filter(|&p| !instant.get(p).copied().unwrap_or(true)).and_then(|p| lane_of.get(p));
                if let Some(&lane) = parent_lane.filter(|&&l| tid(l) != thread) {
                    self.flow += 1;
                    let flow = Event {
                        cat: "flow",
                        ph: "s",
                        id: Some(self.flow),
                        args: None::<&SpanArgs<'_>>,
                        tid: tid(lane),
                        ..base
                    };
                    self.event(out, &flow)?;
                    self.event(out, &Event { ph: "f", bp: Some("e"), tid: thread, ..flow })?;
                }
                if span.failed {
                    self.event(out, &Event { ph: "i", ts: end_us, s: Some("t"), cat: "error", ..base })?;
                }
            }
        }

        usage.sort_by_key(|u| u.0);
        let (mut input, mut output, mut cost) = (0i64, 0i64, 0.0f64);
        for (ts, i, o, c) in usage {
            input = input.saturating_add(i);
            output = output.saturating_add(o);
            cost += c;
            let tokens = TokenArgs { input, output };
            self.event(out, &Event { ph: "C", cat: "usage", ts, ..Event::meta("tokens", pid, 0, tokens) })?;
            if cost.is_finite() {
                self.event(
                    out,
                    &Event {
                        ph: "C",
                        cat: "usage",
                        ts,
                        ..Event::meta("cost_usd", pid, 0, CostArgs { cost_usd: cost })
                    },
                )?;
            }
        }

        let stats = ExportStats {
            sessions: 1,
            spans: external.spans.len() as u64,
            skipped: external.skipped as u64,
            warnings: (session.warnings().count() + external.warnings.len()) as u64,
        };
        Ok(Exported { stats, warnings: external.warnings })
    }
}

/// Nanoseconds to the nearest microsecond (a monotone rounding: nestings survive it).
fn micros(ns: i64) -> i64 {
    ns.saturating_add(500).div_euclid(1000)
}

/// Thread id of a lane (tid 0 reads as "no thread" in some viewers).
fn tid(lane: usize) -> u64 {
    lane as u64 + 1
}

/// The lane of each span so that spans on one lane nest strictly: any two are disjoint or
/// one holds the other. `times` are (start, end) with end ≥ start; `parents` index into the
/// same list. An instant takes its parent's lane (a point nests anywhere). Runs in
/// O(n log n + n × lanes).
#[must_use]
pub fn lanes(times: &[(i64, i64)], parents: &[Option<usize>], instants: &[bool]) -> Vec<usize> {
    let n = times.len();
    let mut order: Vec<usize> = (0..n).filter(|&i| !instants.get(i).copied().unwrap_or(false)).collect();
    // Earlier starts first; of equal starts the longer first, so it opens before what it holds;
    // then tree order, so a parent comes before its equal child.
    order.sort_by_key(|&i| (times[i].0, std::cmp::Reverse(times[i].1), i));
    let mut lane_of = vec![0usize; n];
    // Per lane, the ends of the spans open on it, innermost last.
    let mut open: Vec<Vec<i64>> = Vec::new();
    let fits = |stack: &mut Vec<i64>, (start, end): (i64, i64)| {
        // Spans ended by `start` are closed for good: later spans start no earlier.
        while stack.last().is_some_and(|&e| e <= start) {
            stack.pop();
        }
        stack.last().is_none_or(|&e| e >= end)
    };
    for &i in &order {
        let time = times[i];
        let parent_lane = parents.get(i).copied().flatten().and_then(|p| lane_of.get(p).copied());
        let lane = match parent_lane.filter(|&l| open.get_mut(l).is_some_and(|stack| fits(stack, time))) {
            Some(l) => l,
            None => match (0..open.len()).find(|&l| open.get_mut(l).is_some_and(|stack| fits(stack, time))) {
                Some(l) => l,
                None => {
                    open.push(Vec::new());
                    open.len() - 1
                }
            },
        };
        if let Some(stack) = open.get_mut(lane) {
            stack.push(time.1);
        }
        lane_of[i] = lane;
    }
    // Instants, in tree order: a parent's lane is known before its children's.
    for i in 0..n {
        if instants.get(i).copied().unwrap_or(false) {
            lane_of[i] = parents.get(i).copied().flatten().and_then(|p| lane_of.get(p).copied()).unwrap_or(0);
        }
    }
    lane_of
}

/// One trace event.
#[derive(Serialize)]
struct Event<'a, A> {
    name: &'a str,
    cat: &'a str,
    ph: &'a str,
    ts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<i64>,
    pid: u64,
    tid: u64,
    /// Scope of an instant (`t`: its thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a str>,
    /// Flow id, shared by a flow's start (`s`) and finish (`f`).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    /// `e`: a flow's finish binds to the slice it lies in.
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<A>,
}

impl<'a, A> Event<'a, A> {
    /// A metadata event (process or thread name, sort index).
    fn meta(name: &'a str, pid: u64, tid: u64, args: A) -> Self {
        Event {
            name,
            cat: "__metadata",
            ph: "M",
            ts: 0,
            dur: None,
            pid,
            tid,
            s: None,
            id: None,
            bp: None,
            args: Some(args),
        }
    }
}

#[derive(Serialize)]
struct NameArgs<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct SortArgs {
    sort_index: u64,
}

#[derive(Serialize)]
struct TokenArgs {
    input: i64,
    output: i64,
}

#[derive(Serialize)]
struct CostArgs {
    cost_usd: f64,
}

#[derive(Serialize)]
struct SpanArgs<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<IdText<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_trace_id: Option<IdText<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_trace_id: Option<IdText<'a>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_tokens: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_tokens: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<bool>,
    otel_trace_id: &'a str,
    otel_span_id: &'a str,
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::analysis::fixtures::sample_session;

    fn nests(a: (i64, i64), b: (i64, i64)) -> bool {
        a.1 <= b.0 || b.1 <= a.0 || (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1)
    }

    #[test]
    fn overlapping_siblings_take_separate_lanes() {
        // 0 parent 0–100; 1 and 2 overlap (10–50, 30–70); 3 nests in 2; 4 after both.
        let times = [(0, 100), (10, 50), (30, 70), (35, 40), (80, 90)];
        let parents = [None, Some(0), Some(0), Some(2), Some(0)];
        let lane = lanes(&times, &parents, &[false; 5]);
        assert_eq!(lane, [0, 0, 1, 1, 0]);
        for i in 0..5 {
            for j in 0..5 {
                if lane[i] == lane[j] {
                    assert!(nests(times[i], times[j]), "{i} and {j}");
                }
            }
        }
    }

    #[test]
    fn equal_and_touching_spans_share_a_lane() {
        let times = [(0, 10), (0, 10), (10, 20), (10, 10)];
        let parents = [None, Some(0), None, None];
        assert_eq!(lanes(&times, &parents, &[false, false, false, true]), [0, 0, 0, 0]);
    }

    #[test]
    fn a_child_on_another_lane_gets_an_arrow_from_its_parent() {
        let mut session = sample_session();
        // The LLM call now starts before "plan" ends: a lane of its own, under "run".
        session.timeline.spans[3].start_ms = 4000.0;
        let mut out = Vec::new();
        let mut writer = ChromeWriter::begin(&mut out).expect("vec");
        writer.session(&session, &mut out).expect("vec");
        writer.finish(&mut out).expect("vec");
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        let events = doc["traceEvents"].as_array().expect("events");
        let tid_of = |name: &str| events.iter().find(|e| e["ph"] == "X" && e["name"] == name).map(|e| e["tid"].clone());
        assert_eq!(tid_of("plan"), Some(Value::from(1)));
        assert_eq!(tid_of("gpt call"), Some(Value::from(2)));
        let flows: Vec<&Value> = events.iter().filter(|e| e["cat"] == "flow").collect();
        assert_eq!(flows.len(), 2);
        assert_eq!((&flows[0]["ph"], &flows[0]["tid"]), (&Value::from("s"), &Value::from(1)));
        assert_eq!(
            (&flows[1]["ph"], &flows[1]["tid"], &flows[1]["bp"]),
            (&Value::from("f"), &Value::from(2), &Value::from("e"))
        );
        assert_eq!(flows[0]["id"], flows[1]["id"]);
        assert_eq!(flows[0]["ts"], 4_001_000);
    }

    #[test]
    fn the_sample_as_events() {
        let session = sample_session();
        let mut out = Vec::new();
        let mut writer = ChromeWriter::begin(&mut out).expect("vec");
        let exported = writer.session(&session, &mut out).expect("vec");
        writer.finish(&mut out).expect("vec");
        assert_eq!(exported.stats.spans, 5);
        assert_eq!(exported.stats.skipped, 1);
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        let events = doc["traceEvents"].as_array().expect("events");
        let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(complete.len(), 4);
        let chat = complete.iter().find(|e| e["name"] == "gpt call").expect("the LLM call");
        // Origin 1 ms after the epoch; the call runs 6–9 s after it.
        assert_eq!(chat["ts"], 6_001_000);
        assert_eq!(chat["dur"], 3_000_000);
        assert_eq!(chat["args"]["model"], "gpt-x");
        assert_eq!(chat["args"]["input_tokens"], 1200);
        let instants: Vec<&Value> = events.iter().filter(|e| e["ph"] == "i").collect();
        assert_eq!(instants.len(), 1);
        assert_eq!(instants[0]["cat"], "error");
        let counters: Vec<&Value> = events.iter().filter(|e| e["ph"] == "C").collect();
        assert_eq!(counters.len(), 2);
        assert_eq!(counters[0]["args"]["input"], 1200);
        assert_eq!(counters[1]["args"]["cost_usd"], 0.0123);
        assert!(events.iter().any(|e| e["ph"] == "M" && e["name"] == "process_name"));
    }
}
