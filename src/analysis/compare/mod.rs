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

mod align;
mod diff;
mod figures;
mod rows;
mod signature;

use align::{align, children};
pub use diff::{DiffLine, JsonChange, JsonChangeKind, LineTag, json_diff, line_diff};
pub use figures::{Contributor, Contributors, Counts, Figure};
use figures::{RunFigures, contributors, run_warnings, totals};
use rows::{Builder, Side};
use signature::Interner;
pub use signature::normalize_label;

use serde::Serialize;

use crate::analysis::AnalyzedSession;

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

/// Not yet placed in a row.
const NONE: usize = usize::MAX;

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

    let counts = Counts::of(&rows);
    let run_a = RunFigures::of(a);
    let run_b = RunFigures::of(b);
    run_warnings(&run_a, &run_b, &mut warnings);
    let totals = totals(&run_a, &run_b, events_a.len(), events_b.len());
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

#[cfg(test)]
pub(crate) mod tests {
    use super::align::pair_moved;
    use super::*;
    pub(crate) use crate::analysis::fixtures::Ev;
    use crate::analysis::fixtures::linked;
    use crate::analysis::{Anchor, SpanKind, analyze};
    use crate::model::{SessionRow, TraceEvent};
    use crate::time::{Timestamp, parse_text};

    /// An event starting `start_ms` after a fixed time, lasting `dur_ms` (read with the start
    /// anchor), under `parent`.
    pub(crate) fn event(id: &str, kind: &str, start_ms: i64, dur_ms: Option<f64>, parent: Option<&str>) -> Ev {
        let base = parse_text("2026-01-01T00:00:00Z").map(|p| p.time).unwrap_or(Timestamp(0));
        let event = TraceEvent {
            id: id.into(),
            kind: kind.into(),
            time: Some(base.add_ms(start_ms as f64)).into(),
            duration_ms: dur_ms.into(),
            ..TraceEvent::default()
        };
        Ev::new(event, parent)
    }

    fn root(id: &str, dur_ms: f64) -> Ev {
        let mut e = event(id, "trace_started", 0, Some(dur_ms), None);
        e.info.label = "the task".into();
        e
    }

    fn step(id: &str, parent: &str, (start, dur): (i64, f64), label: &str) -> Ev {
        let mut e = event(id, "step_completed", start, Some(dur), Some(parent));
        e.info.label = label.into();
        e
    }

    fn tool(id: &str, parent: &str, (start, dur): (i64, f64), name: &str) -> Ev {
        let mut e = event(id, "tool_result", start, Some(dur), Some(parent));
        e.info.tool = Some(name.into());
        e.info.label = name.into();
        e
    }

    fn llm(id: &str, parent: &str, (start, dur): (i64, f64), model: &str, tokens: (i64, i64), cost: f64) -> Ev {
        let mut e = event(id, "message", start, Some(dur), Some(parent));
        e.usage_mut().model_used = Some(model.into());
        e.info.label = model.into();
        e.usage_mut().input_tokens = Some(tokens.0).into();
        e.usage_mut().output_tokens = Some(tokens.1).into();
        e.usage_mut().cost_usd = Some(cost).into();
        e
    }

    pub(crate) fn run(id: &str, events: Vec<Ev>) -> AnalyzedSession {
        let row = SessionRow { id: id.to_owned(), ..SessionRow::default() };
        analyze(linked(row, events), Anchor::Start)
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
                .map_or(String::new(), |e| e.id.to_string())
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
            let events: Vec<Ev> =
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
                    Ev::new(TraceEvent { id: "untimed".into(), kind: "z".into(), ..TraceEvent::default() }, None),
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
                    if e.parent.as_ref().is_some_and(crate::model::TraceId::is_empty) {
                        e.parent = None;
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
        a.timeline.spans.push(span(SpanKind::Tool, (0.0, 1.0), 3, Some(99), 99));
        a.timeline.spans[1].subtree_end = 2;
        a.timeline.spans[3].parent = crate::analysis::Link::new(Some(5));
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
            e.usage_mut().cost_usd = None.into();
        }
        let c = compare(&a, &b, &CompareOptions::default());
        assert_eq!(c.figure("cost_usd").map(|f| (f.b, f.delta)), Some((None, None)));
        assert!(c.rows.iter().all(|r| r.delta_cost_usd.is_none()));
        assert!(c.contributors.cost_usd.is_empty());
        assert_eq!(c.warnings, ["run B reports no cost (run A does): cost are not compared"]);
    }
}
