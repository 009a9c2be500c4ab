//! Two runs compared, as text: the Markdown for an issue ("Copy comparison"), the CLI's
//! aligned table, and its JSON document.
//!
//! Values from the files (tasks, labels, ids, signatures) are escaped as the other exports
//! escape them: [`markdown::escape`] in Markdown, [`one_line`] in the table; JSON keeps the
//! exact strings.

use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::analysis::compare::{Comparison, Contributor, Counts, Figure, Row, Status};
use crate::analysis::{AnalyzedSession, SpanKind};
use crate::export::markdown::escape;
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::model::IdText;
use crate::terminal::one_line;

/// Rows from which the JSON is serialized on two threads.
const PARALLEL_ROWS: usize = 20_000;

/// How many one-sided steps the Markdown lists on each side.
const UNPAIRED_LISTED: usize = 30;

/// A comparison with the two runs it was made from, and where they were read.
#[derive(Clone, Copy, Debug)]
pub struct Compared<'a> {
    pub comparison: &'a Comparison,
    pub a: &'a AnalyzedSession,
    pub b: &'a AnalyzedSession,
    /// The files, when the runs come from two (shown beside the session ids).
    pub a_file: Option<&'a str>,
    pub b_file: Option<&'a str>,
}

/// What a figure ([`Figure::name`]) measures, for people: `Wall time`, `Tokens in`, ….
#[must_use]
pub fn figure_title(name: &str) -> &str {
    match name {
        "wall_time_ms" => "Wall time",
        "events" => "Events",
        "spans" => "Spans",
        "llm_calls" => "LLM calls",
        "tool_calls" => "Tool calls",
        "failed_spans" => "Failed spans",
        "input_tokens" => "Tokens in",
        "output_tokens" => "Tokens out",
        "cost_usd" => "Cost",
        other => other,
    }
}

/// A figure's value in its unit (duration, cost or count); `—` when unknown.
#[must_use]
pub fn figure_value(name: &str, value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) => match name {
            "wall_time_ms" => format_duration_ms(v),
            "cost_usd" => format_cost(v),
            _ => format_count(v as i64),
        },
    }
}

/// A Δ of a figure with its sign: `+1.20 s`, `-$0.0120`, `+350`, `0`; `—` when unknown.
#[must_use]
pub fn signed(name: &str, delta: Option<f64>) -> String {
    match delta {
        None => "—".to_owned(),
        Some(0.0) => "0".to_owned(),
        Some(d) => {
            let sign = if d > 0.0 { "+" } else { "-" };
            format!("{sign}{}", figure_value(name, Some(d.abs())))
        }
    }
}

/// A Δ as a signed percentage of A: `+12.5 %`, `0 %`; `—` when unknown.
#[must_use]
pub fn percent(p: Option<f64>) -> String {
    match p {
        None => "—".to_owned(),
        Some(0.0) => "0 %".to_owned(),
        Some(p) => format!("{p:+.1} %"),
    }
}

/// Why a figure has no Δ, when it has none.
fn missing(f: &Figure) -> Option<&'static str> {
    match (f.a.is_some(), f.b.is_some()) {
        (true, true) => None,
        (false, false) => Some("neither run reports it"),
        (true, false) => Some("B does not report it"),
        (false, true) => Some("A does not report it"),
    }
}

impl<'a> Compared<'a> {
    /// The session a row's span belongs to and the span (A's when paired).
    fn span(&self, row: &Row) -> Option<(&'a AnalyzedSession, usize)> {
        match (row.a, row.b) {
            (Some(i), _) => Some((self.a, i)),
            (None, Some(j)) => Some((self.b, j)),
            (None, None) => None,
        }
    }

    /// The id of the first event of span `span` of `session`.
    fn id(session: &'a AnalyzedSession, span: Option<usize>) -> Option<IdText<'a>> {
        let sp = session.timeline.spans.get(span?)?;
        session.data.events.get(sp.event).map(|e| e.id.as_str())
    }

    /// The label of a row's span as the file has it (B's when paired: the run to explain).
    fn label(&self, row: &Row) -> &'a str {
        let (run, span) = match (row.a, row.b) {
            (_, Some(j)) => (self.b, self.b.timeline.spans.get(j)),
            (Some(i), None) => (self.a, self.a.timeline.spans.get(i)),
            (None, None) => return "",
        };
        span.map_or("", |s| &**s.label(&run.data.events))
    }

    /// The kind of a row's span; for other events, their type (`state_change`, `plan_created`).
    fn kind(&self, row: &Row) -> &'a str {
        let Some((session, i)) = self.span(row) else { return "" };
        let Some(span) = session.timeline.spans.get(i) else { return "" };
        match (span.kind, session.data.events.get(span.event)) {
            (SpanKind::Other, Some(e)) => &e.kind,
            (kind, _) => kind.name(),
        }
    }

    /// The Markdown comparison: the runs, the totals with Δ and %, the biggest changes in
    /// wall time and cost, and the steps only one run has.
    #[must_use]
    pub fn markdown(&self) -> String {
        let c = self.comparison;
        let mut out = String::new();
        let (sa, sb) = (&self.a.summary, &self.b.summary);
        let task = |t: &str| if t.is_empty() { "(no task)".to_owned() } else { escape(t) };
        if sa.task == sb.task {
            let _ = writeln!(out, "## Comparing two runs: {}\n", task(&sa.task));
        } else {
            let _ = writeln!(out, "## Comparing two runs: {} / {}\n", task(&sa.task), task(&sb.task));
        }
        let _ = writeln!(out, "| | A (reference) | B |\n|---|---|---|");
        let _ = writeln!(out, "| Session | `{}` | `{}` |", escape(&sa.session_id), escape(&sb.session_id));
        if self.a_file.is_some() || self.b_file.is_some() {
            let _ = writeln!(
                out,
                "| File | `{}` | `{}` |",
                escape(self.a_file.unwrap_or("")),
                escape(self.b_file.unwrap_or(""))
            );
        }
        let _ = writeln!(out, "| Status | {} | {} |", escape(&sa.status), escape(&sb.status));
        let started = |s: &Option<String>| s.as_deref().map_or_else(|| "—".to_owned(), escape);
        let _ = writeln!(out, "| Started | {} | {} |", started(&sa.started_at), started(&sb.started_at));

        let _ = writeln!(out, "\n### Totals\n");
        let _ = writeln!(out, "| | A | B | Δ | Δ % |\n|---|--:|--:|--:|--:|");
        for f in &c.totals {
            let note = missing(f).map(|m| format!(" ({m})")).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{note} | {} |",
                figure_title(f.name),
                figure_value(f.name, f.a),
                figure_value(f.name, f.b),
                signed(f.name, f.delta),
                percent(f.percent)
            );
        }
        let counts = c.counts;
        let _ = writeln!(out, "\n{}", counts_sentence(counts));
        let _ = writeln!(
            out,
            "_Spans are paired by what they do (kind; tool, model or step label without run-specific numbers and ids), not by id. Slower or faster: by at least {} and {:.0} % of A's duration._",
            format_duration_ms(c.options.min_ms),
            c.options.min_ratio * 100.0
        );

        for (title, name, list) in [
            ("Biggest changes in wall time", "wall_time_ms", &c.contributors.wall_time_ms),
            ("Biggest changes in cost", "cost_usd", &c.contributors.cost_usd),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n### {title}\n");
            for (n, x) in list.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", n + 1, self.contributor_md(name, x));
            }
        }

        for (status, title) in [(Status::OnlyA, "Only in A (gone in B)"), (Status::OnlyB, "Only in B (new)")] {
            let tops: Vec<usize> =
                c.unpaired_tops().filter(|&i| c.rows.get(i).is_some_and(|r| r.status == status)).collect();
            if tops.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n### {title}\n");
            for &i in tops.iter().take(UNPAIRED_LISTED) {
                let Some(r) = c.rows.get(i) else { continue };
                let ms = r.a_ms.or(r.b_ms).map(|d| format!(" {}", format_duration_ms(d))).unwrap_or_default();
                let inside = r.subtree_end.saturating_sub(i + 1);
                let inside = if inside > 0 { format!(", {inside} spans inside") } else { String::new() };
                let failed = if self.failed(r) { " — **failed**" } else { "" };
                let _ = writeln!(
                    out,
                    "- `{}` {}{ms} (`{}`{inside}){failed}",
                    self.kind(r),
                    escape(self.label(r)),
                    escape(&self.row_id(r))
                );
            }
            if tops.len() > UNPAIRED_LISTED {
                let _ = writeln!(out, "- … and {} more", tops.len() - UNPAIRED_LISTED);
            }
        }
        if !c.warnings.is_empty() {
            let _ = writeln!(out);
            for w in &c.warnings {
                let _ = writeln!(out, "_{}_", escape(w));
            }
        }
        out
    }

    fn failed(&self, row: &Row) -> bool {
        self.span(row).and_then(|(s, i)| s.timeline.spans.get(i)).is_some_and(|s| s.failed)
    }

    /// The id of a row's span: B's when only in B, else A's.
    fn row_id(&self, row: &Row) -> IdText<'a> {
        match (row.a, row.b) {
            (Some(_), _) => Self::id(self.a, row.a),
            (None, _) => Self::id(self.b, row.b),
        }
        .unwrap_or_default()
    }

    fn contributor_md(&self, name: &str, x: &Contributor) -> String {
        let Some(r) = self.comparison.rows.get(x.row) else { return String::new() };
        let what = match r.status {
            Status::OnlyA => " — only in A".to_owned(),
            Status::OnlyB => " — only in B".to_owned(),
            _ if name == "wall_time_ms" => {
                format!(" — {} → {}", figure_value(name, r.a_ms), figure_value(name, r.b_ms))
            }
            _ => String::new(),
        };
        let ids = match (Self::id(self.a, r.a), Self::id(self.b, r.b)) {
            (Some(a), Some(b)) => format!("`{}` ↔ `{}`", escape(&a), escape(&b)),
            (Some(a), None) => format!("`{}`", escape(&a)),
            (None, Some(b)) => format!("`{}`", escape(&b)),
            (None, None) => String::new(),
        };
        format!("{} `{}` {}{what} ({ids})", signed(name, Some(x.delta)), self.kind(r), escape(self.label(r)))
    }

    /// The CLI's text: the runs, the totals, the biggest changes, then every row of the merged
    /// tree as an aligned table (status, A, B, Δ, indented kind and label).
    ///
    /// # Errors
    /// When `out` fails.
    pub fn write_text(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let c = self.comparison;
        for (name, s, file) in [("A", self.a, self.a_file), ("B", self.b, self.b_file)] {
            let file = file.map(|f| format!("  {}", one_line(f))).unwrap_or_default();
            writeln!(
                out,
                "{name}  {}  {}  ({}){file}",
                one_line(crate::ids::shown(&s.summary.session_id)),
                one_line(if s.summary.task.is_empty() { "(no task)" } else { &s.summary.task }),
                one_line(&s.summary.status)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "{:<14}  {:>12}  {:>12}  {:>12}  {:>9}", "", "A", "B", "Δ", "Δ %")?;
        for f in &c.totals {
            let note = missing(f).map(|m| format!("  ({m})")).unwrap_or_default();
            writeln!(
                out,
                "{:<14}  {:>12}  {:>12}  {:>12}  {:>9}{note}",
                figure_title(f.name),
                figure_value(f.name, f.a),
                figure_value(f.name, f.b),
                signed(f.name, f.delta),
                percent(f.percent)
            )?;
        }
        writeln!(out, "\n{}", counts_sentence(c.counts).replace('*', ""))?;
        for (title, name, list) in [
            ("Biggest changes in wall time", "wall_time_ms", &c.contributors.wall_time_ms),
            ("Biggest changes in cost", "cost_usd", &c.contributors.cost_usd),
        ] {
            if list.is_empty() {
                continue;
            }
            writeln!(out, "\n{title}:")?;
            for x in list {
                let Some(r) = c.rows.get(x.row) else { continue };
                writeln!(
                    out,
                    "  {:>12}  {:<7}  {} {}",
                    signed(name, Some(x.delta)),
                    r.status.name(),
                    self.kind(r),
                    one_line(self.label(r))
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{:<7}  {:>10}  {:>10}  {:>10}  span", "status", "A", "B", "Δ")?;
        let ms = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), format_duration_ms);
        for r in &c.rows {
            let indent = "  ".repeat(r.depth.min(40) as usize);
            writeln!(
                out,
                "{:<7}  {:>10}  {:>10}  {:>10}  {indent}{} {}",
                r.status.name(),
                ms(r.a_ms),
                ms(r.b_ms),
                signed("wall_time_ms", r.delta_ms),
                self.kind(r),
                one_line(self.label(r))
            )?;
        }
        Ok(())
    }

    /// The JSON document: both runs, the options, counts, totals, contributors, every row
    /// (`pairs`, in merged-tree order) and the warnings. Rows are written one by one.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn write_json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let c = self.comparison;
        let head = Head {
            a: self.run_json(self.a, self.a_file),
            b: self.run_json(self.b, self.b_file),
            options: OptionsJson { min_ratio: c.options.min_ratio, min_ms: c.options.min_ms, top: c.options.top },
            counts: c.counts,
            totals: &c.totals,
            contributors: ContributorsJson {
                wall_time_ms: c.contributors.wall_time_ms.iter().map(|x| self.contributor_json(x)).collect(),
                cost_usd: c.contributors.cost_usd.iter().map(|x| self.contributor_json(x)).collect(),
            },
            warnings: &c.warnings,
        };
        let mut head = serde_json::to_string_pretty(&head).map_err(io::Error::other)?;
        // The rows go last, inside the same object.
        if head.ends_with('}') {
            head.pop();
        }
        out.write_all(head.trim_end().as_bytes())?;
        out.write_all(b",\n  \"pairs\": [")?;
        // A big list is written in two halves: this thread streams the first while another
        // serializes the second into a buffer.
        let rows = c.rows.len();
        let half = if rows >= PARALLEL_ROWS { rows / 2 } else { rows };
        let this = *self;
        std::thread::scope(|scope| {
            let second = (half < rows).then(|| {
                scope.spawn(move || {
                    let mut buf = Vec::with_capacity((rows - half) * 200);
                    this.write_rows(half..rows, &mut buf, usize::MAX, &mut io::sink()).map(|()| buf)
                })
            });
            let mut buf = Vec::with_capacity(64 * 1024);
            self.write_rows(0..half, &mut buf, 60 * 1024, out)?;
            if let Some(second) = second {
                let buf = second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                out.write_all(&buf)?;
            }
            Ok::<(), io::Error>(())
        })?;
        out.write_all(b"\n  ]\n}\n")
    }

    /// Serializes rows `range` into `buf`, handing it to `sink` whenever it passes `flush_at`
    /// bytes and at the end (what is left stays in `buf` when `flush_at` is `usize::MAX`).
    fn write_rows(
        &self,
        range: std::ops::Range<usize>,
        buf: &mut Vec<u8>,
        flush_at: usize,
        sink: &mut dyn io::Write,
    ) -> io::Result<()> {
        for i in range {
            let Some(r) = self.comparison.rows.get(i) else { break };
            buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            serde_json::to_writer(&mut *buf, &self.pair_json(i, r)).map_err(io::Error::other)?;
            if buf.len() >= flush_at {
                sink.write_all(buf)?;
                buf.clear();
            }
        }
        if flush_at != usize::MAX {
            sink.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    }

    fn run_json(&self, s: &'a AnalyzedSession, file: Option<&'a str>) -> RunJson<'a> {
        let summary = &s.summary;
        RunJson {
            file,
            session_id: &summary.session_id,
            task: &summary.task,
            status: &summary.status,
            started_at: summary.started_at.as_deref(),
        }
    }

    fn contributor_json(&self, x: &Contributor) -> ContributorJson<'a> {
        let c = self.comparison;
        let row = c.rows.get(x.row);
        ContributorJson {
            row: x.row,
            a_id: row.and_then(|r| Self::id(self.a, r.a)),
            b_id: row.and_then(|r| Self::id(self.b, r.b)),
            status: row.map_or("", |r| r.status.name()),
            signature: row.map_or(String::new(), |r| c.signature(r).to_owned()),
            label: row.map_or("", |r| self.label(r)),
            delta: x.delta,
        }
    }

    fn pair_json<'r>(&self, index: usize, r: &'r Row) -> PairJson<'r>
    where
        'a: 'r,
    {
        PairJson {
            row: index,
            parent: r.parent,
            depth: r.depth,
            a_id: Self::id(self.a, r.a),
            b_id: Self::id(self.b, r.b),
            kind: self.kind(r),
            signature: self.comparison.signature(r),
            label: self.label(r),
            status: r.status.name(),
            a_ms: r.a_ms,
            b_ms: r.b_ms,
            delta_ms: r.delta_ms,
            delta_input_tokens: r.delta_input_tokens,
            delta_output_tokens: r.delta_output_tokens,
            delta_cost_usd: r.delta_cost_usd,
        }
    }
}

/// `12 pairs (9 same, **2 slower**, 1 faster); 3 only in A, 4 only in B.`
fn counts_sentence(c: Counts) -> String {
    format!(
        "{} pairs ({} same, **{} slower**, {} faster); {} spans only in A, {} only in B.",
        format_count(c.pairs as i64),
        format_count(c.same as i64),
        format_count(c.slower as i64),
        format_count(c.faster as i64),
        format_count(c.only_a as i64),
        format_count(c.only_b as i64)
    )
}

#[derive(Serialize)]
struct Head<'a> {
    a: RunJson<'a>,
    b: RunJson<'a>,
    options: OptionsJson,
    counts: Counts,
    totals: &'a [Figure],
    contributors: ContributorsJson<'a>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct RunJson<'a> {
    file: Option<&'a str>,
    session_id: &'a str,
    task: &'a str,
    status: &'a str,
    started_at: Option<&'a str>,
}

#[derive(Serialize)]
struct OptionsJson {
    min_ratio: f64,
    min_ms: f64,
    top: usize,
}

#[derive(Serialize)]
struct ContributorsJson<'a> {
    wall_time_ms: Vec<ContributorJson<'a>>,
    cost_usd: Vec<ContributorJson<'a>>,
}

#[derive(Serialize)]
struct ContributorJson<'a> {
    row: usize,
    a_id: Option<IdText<'a>>,
    b_id: Option<IdText<'a>>,
    status: &'static str,
    signature: String,
    label: &'a str,
    delta: f64,
}

#[derive(Serialize)]
struct PairJson<'a> {
    row: usize,
    parent: Option<usize>,
    depth: u32,
    a_id: Option<IdText<'a>>,
    b_id: Option<IdText<'a>>,
    kind: &'a str,
    signature: &'a str,
    label: &'a str,
    status: &'static str,
    a_ms: Option<f64>,
    b_ms: Option<f64>,
    delta_ms: Option<f64>,
    delta_input_tokens: Option<i64>,
    delta_output_tokens: Option<i64>,
    delta_cost_usd: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::compare::tests::{run_a, run_b};
    use crate::analysis::compare::{CompareOptions, compare};

    #[test]
    fn markdown_reads_well_in_an_issue() {
        let (a, b) = (run_a(), run_b());
        let c = compare(&a, &b, &CompareOptions::default());
        let md = Compared { comparison: &c, a: &a, b: &b, a_file: None, b_file: None }.markdown();
        assert!(md.starts_with("## Comparing two runs: (no task)\n"), "{md}");
        assert!(md.contains("| Wall time | 10.00 s | 15.00 s | +5.00 s | +50.0 % |\n"), "{md}");
        assert!(md.contains("| Tokens in | 3,000 | 6,500 | +3,500 | +116.7 % |\n"), "{md}");
        assert!(md.contains("| Cost | $0.0300 | $0.0850 | +$0.0550 | +183.3 % |\n"), "{md}");
        assert!(md.contains("| Tool calls | 2 | 2 | 0 | 0 % |\n"), "{md}");
        assert!(md.contains("\n6 pairs (2 same, **4 slower**, 0 faster); 2 spans only in A, 3 only in B.\n"), "{md}");
        assert!(md.contains("\n### Biggest changes in wall time\n\n1. +5.00 s `step` s13: double-check — only in B (`b7`)\n2. +2.00 s `step` s11: fetch the page — 3.00 s → 5.00 s (`a1` ↔ `b1`)\n3. -2.00 s `step` s3: write report — only in A (`a6`)\n"), "{md}");
        assert!(
            md.contains("\n### Biggest changes in cost\n\n1. +$0.0500 `step` s13: double-check — only in B (`b7`)\n"),
            "{md}"
        );
        assert!(
            md.contains("\n### Only in A (gone in B)\n\n- `step` s3: write report 2.00 s (`a6`, 1 spans inside)\n"),
            "{md}"
        );
        assert!(md.contains("\n### Only in B (new)\n\n- `tool` web_search 1.00 s (`b3`)\n- `step` s13: double-check 5.00 s (`b7`, 1 spans inside)\n"), "{md}");
    }

    #[test]
    fn a_long_list_is_written_in_two_halves_as_one_document() {
        use crate::analysis::compare::tests::{event, run};
        let events = (0..PARALLEL_ROWS as i64 + 7).map(|i| event(&format!("e{i}"), "note", i, None, None)).collect();
        let a = run("a", events);
        let c = compare(&a, &a, &CompareOptions::default());
        let mut json = Vec::new();
        Compared { comparison: &c, a: &a, b: &a, a_file: None, b_file: None }
            .write_json(&mut json)
            .unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}"));
        let pairs = v["pairs"].as_array().cloned().unwrap_or_default();
        assert_eq!(pairs.len(), PARALLEL_ROWS + 7);
        for (i, p) in pairs.iter().enumerate() {
            assert_eq!((p["row"].as_u64(), p["a_id"].as_str()), (Some(i as u64), Some(format!("e{i}").as_str())));
        }
    }

    #[test]
    fn file_text_is_escaped_and_missing_figures_say_so() {
        let mut a = run_a();
        let mut b = run_b();
        a.summary.task = "evil | task\n\u{1b}[2J".to_owned();
        b.summary.task = a.summary.task.clone();
        let relabelled = b.timeline.spans[7].event;
        b.data.events[relabelled].info.label = "s13: \u{202e}gnp.exe`".into();
        for e in &mut b.data.events {
            e.usage_mut().cost_usd = None.into();
        }
        let c = compare(&a, &b, &CompareOptions::default());
        let cmp = Compared { comparison: &c, a: &a, b: &b, a_file: Some("a.db"), b_file: Some("b|.db") };
        let md = cmp.markdown();
        assert!(md.starts_with("## Comparing two runs: evil \\| task \\x1b[2J\n"), "{md}");
        assert!(md.contains("s13: \\u202egnp.exe'"), "{md}");
        assert!(md.contains("| File | `a.db` | `b\\|.db` |"), "{md}");
        assert!(md.contains("| Cost | $0.0300 | — | — (B does not report it) | — |"), "{md}");
        assert!(md.contains("_run B reports no cost (run A does): cost are not compared_"), "{md}");
        let mut text = Vec::new();
        cmp.write_text(&mut text).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(text).unwrap_or_default();
        assert!(text.contains("task\\n\\x1b[2J"), "{text}");
        let row = text.lines().rev().find(|l| l.contains("step s13")).unwrap_or_default();
        assert!(row.starts_with("only_b ") && row.ends_with("  +5.00 s    step s13: \\u202egnp.exe`"), "{row}");
        let mut json = Vec::new();
        cmp.write_json(&mut json).unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["a"]["task"], "evil | task\n\u{1b}[2J");
        assert_eq!(v["pairs"][9]["label"], "s13: \u{202e}gnp.exe`");
        assert_eq!(v["pairs"].as_array().map(Vec::len), Some(11));
    }
}
