//! The session summary as Markdown, for pasting into an issue or a chat. No raw I/O.
//!
//! Every value from the file goes through [`escape`]: one table cell on one line, with control
//! and bidi characters shown as `\x1b` / `\u202e`, so pasted text cannot be reordered or act
//! on a terminal.

use std::fmt::Write as _;

use crate::analysis::AnalyzedSession;
use crate::analysis::critical_path::critical_path;
use crate::analysis::loops::{LoopParams, find_loops};
use crate::analysis::slow::SlowRule;
use crate::analysis::stalls::{StallParams, stalls};
use crate::export::Export;
use crate::format::{
    format_cost, format_count, format_duration_ms, format_loop, format_slow_basis, format_slow_rule, format_stall,
    format_waste,
};
use crate::model::IdText;
use crate::terminal::{self, Lines};
use crate::time;

/// The Markdown summary. The slow rule (the file's p95s and the threshold) marks the slow
/// calls among the slowest; the default rule knows no p95 and marks none.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryMarkdown<'a> {
    pub slow_rule: SlowRule<'a>,
}

/// Makes data safe inside a Markdown table cell or line: `|` escaped, line breaks and tabs
/// folded to spaces, backticks made quotes, other control and bidi characters shown as
/// `\x1b` / `\u202e` (see [`terminal::is_hidden`]).
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' | '\t' => out.push(' '),
            '`' => out.push('\''),
            c if terminal::is_hidden(c, Lines::Escape) => terminal::push_escape(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

fn when(raw: Option<&str>) -> String {
    match raw {
        None => "—".to_owned(),
        Some(r) => match time::parse_text(r) {
            Ok(p) => format!("{} UTC", p.time.short()),
            Err(_) => escape(r),
        },
    }
}

impl Export for SummaryMarkdown<'_> {
    fn export(&self, session: &AnalyzedSession) -> String {
        let s = &session.summary;
        let mut out = String::new();
        let task = if s.task.is_empty() { "(no task)".to_owned() } else { escape(&s.task) };
        let _ = writeln!(out, "## Agent session: {task}\n");
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| Session | `{}` |", escape(&s.session_id));
        let _ = writeln!(out, "| Status | {} |", escape(&s.status));
        let _ = writeln!(out, "| Started | {} |", when(s.started_at.as_deref()));
        let duration = match s.total_duration_ms {
            Some(d) => format_duration_ms(d),
            None => format!("{} so far (running)", format_duration_ms(s.timeline_ms)),
        };
        let _ = writeln!(out, "| Duration | {duration} |");
        let _ = writeln!(
            out,
            "| Events | {} ({} steps, {} error events, {} failed traces) |",
            format_count(s.total_events as i64),
            s.step_count,
            s.error_count,
            s.failure_count
        );
        let _ = writeln!(
            out,
            "| Tokens | {} ({} in / {} out) |",
            format_count(s.total_tokens),
            format_count(s.total_input_tokens),
            format_count(s.total_output_tokens)
        );
        let _ = writeln!(out, "| Cost | {} |", format_cost(s.total_cost_usd));
        if !s.models_used.is_empty() {
            let models: Vec<String> = s.models_used.iter().map(|m| escape(m)).collect();
            let _ = writeln!(out, "| Models | {} |", models.join(", "));
        }
        if !s.models.is_empty() {
            let _ = writeln!(out, "\n### Models\n");
            let _ = writeln!(out, "| Model | Provider | Calls | Tokens in | Tokens out | Cost |");
            let _ = writeln!(out, "|---|---|--:|--:|--:|--:|");
            for m in &s.models {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    escape(&m.model),
                    escape(m.provider.as_deref().unwrap_or("—")),
                    m.calls,
                    format_count(m.input_tokens),
                    format_count(m.output_tokens),
                    format_cost(m.cost_usd)
                );
            }
        }
        if !s.tools.is_empty() {
            let _ = writeln!(out, "\n### Tools\n");
            let _ = writeln!(
                out,
                "| Tool | Calls | Errors | p50 | p95 (session) | p95 (file) | Max | Total | Tokens in | Tokens out | Cost |"
            );
            let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            for t in &s.tools {
                let file_p95 = self
                    .slow_rule
                    .index
                    .and_then(|i| i.p95_by_tool.get(&t.tool))
                    .map_or_else(|| "—".to_owned(), |p| format_duration_ms(*p));
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {file_p95} | {} | {} | {} | {} | {} |",
                    escape(&t.tool),
                    t.calls,
                    t.errors,
                    format_duration_ms(t.p50_ms),
                    format_duration_ms(t.p95_ms),
                    format_duration_ms(t.max_ms),
                    format_duration_ms(t.total_ms),
                    format_count(t.input_tokens),
                    format_count(t.output_tokens),
                    format_cost(t.cost_usd)
                );
            }
        }
        if !s.slowest.is_empty() {
            let _ = writeln!(out, "\n### Slowest calls\n");
            if self.slow_rule.is_known() {
                let _ = writeln!(out, "_{}_\n", format_slow_rule(self.slow_rule.threshold_ms));
            }
            for (i, c) in s.slowest.iter().enumerate() {
                let reason =
                    session.timeline.spans.get(c.span).and_then(|sp| self.slow_rule.explain(sp, &session.data.events));
                let mark =
                    reason.map(|r| format!(" — **slow**, {}", escape(&format_slow_basis(&r)))).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{}. {} `{}` {} (`{}`){mark}",
                    i + 1,
                    format_duration_ms(c.duration_ms),
                    escape(&c.kind),
                    escape(&c.label),
                    escape(&c.id)
                );
            }
        }
        if !s.errors.is_empty() {
            let _ = writeln!(out, "\n### Errors\n");
            for c in s.errors.iter().take(50) {
                let _ = writeln!(
                    out,
                    "- {} `{}` {} (`{}`)",
                    when(Some(&c.timestamp)),
                    escape(&c.kind),
                    escape(&c.label),
                    escape(&c.id)
                );
            }
            if s.errors.len() > 50 {
                let _ = writeln!(out, "- … and {} more", s.errors.len() - 50);
            }
        }
        diagnosis(session, &mut out);
        if s.warning_count > 0 {
            let _ = writeln!(out, "\n_{} data warnings while reading this session._", s.warning_count);
        }
        out
    }
}

/// Spans of the critical path listed in the summary.
const PATH_SPANS_LISTED: usize = 5;

/// The "Critical path", "Stalls" and "Loops" sections, each only when it has something to say.
fn diagnosis(session: &AnalyzedSession, out: &mut String) {
    let events = &session.data.events;
    let spans = &session.timeline.spans;
    let id_of =
        |span: usize| spans.get(span).and_then(|s| events.get(s.event)).map_or(IdText::EMPTY, |e| e.id.as_str());
    let path = critical_path(session);
    let top = path.top(PATH_SPANS_LISTED);
    if path.missing.is_none() && !top.is_empty() {
        let k = &path.by_kind;
        let pc = |ms: f64| format!("{:.0} %", ms / path.wall_ms * 100.0);
        let _ = writeln!(out, "\n### Critical path\n");
        let _ = writeln!(
            out,
            "_{} wall time; self time on the path: LLM {}, tools {}, steps {}, other {}, idle {}._\n",
            format_duration_ms(path.wall_ms),
            pc(k.llm_ms),
            pc(k.tool_ms),
            pc(k.step_ms),
            pc(k.other_ms),
            pc(k.idle_ms)
        );
        for (i, p) in top.iter().enumerate() {
            let Some(span) = spans.get(p.span) else { continue };
            let kind = events.get(span.event).map_or("", |e| &*e.kind);
            let open = if p.open { " (no end logged)" } else { "" };
            let _ = writeln!(
                out,
                "{}. {:.1} % — {} `{}` {} (`{}`){open}",
                i + 1,
                p.share * 100.0,
                format_duration_ms(p.self_ms),
                escape(kind),
                escape(span.label(events)),
                escape(&id_of(p.span))
            );
        }
    }
    let found = stalls(session, &StallParams::default());
    if !found.is_empty() {
        let _ = writeln!(out, "\n### Stalls\n");
        for st in &found {
            let _ = writeln!(out, "- +{}: {}", format_duration_ms(st.start_ms), escape(&format_stall(st)));
        }
    }
    let loops = find_loops(session, &LoopParams::default());
    if !loops.loops.is_empty() {
        let _ = writeln!(out, "\n### Loops\n");
        for l in &loops.loops {
            let first = l.calls.first().map_or(IdText::EMPTY, |&c| id_of(c));
            let _ = writeln!(out, "- {} (first call `{}`)", escape(&format_loop(l)), escape(&first));
        }
        if loops.loops.len() > 1 {
            let _ = writeln!(out, "\n_Wasted in all: {}._", format_waste(&loops.total_waste()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::analysis::SlowIndex;
    use crate::analysis::fixtures::sample_session;
    use crate::analysis::summary::summarize;

    #[test]
    fn the_slowest_calls_mark_the_slow_ones_and_state_the_rule() {
        let mut session = sample_session();
        session.data.events[2].info.tool = Some("browser_navigate".into());
        session.summary = summarize(&session.data, &session.timeline);
        let index = SlowIndex {
            p95_by_tool: HashMap::from([("browser_navigate".to_owned(), 800.0)]),
            calls_by_tool: HashMap::from([("browser_navigate".to_owned(), 214)]),
            ..SlowIndex::default()
        };
        let md = SummaryMarkdown { slow_rule: SlowRule { index: Some(&index), threshold_ms: None } }.export(&session);
        assert!(md.contains("\n_A slow call is a tool call longer than its tool's p95 across this file._\n"), "{md}");
        // The LLM call (3 s) is slowest and not a tool call; the 1 s tool call is slow.
        assert!(md.contains("1. 3.00 s `message` gpt call (`e3`)\n"), "{md}");
        assert!(
            md.contains(
                "2. 1.00 s `tool_result` read_file (`e2`) — **slow**, above browser_navigate's p95 of 800 ms across this file (214 calls)\n"
            ),
            "{md}"
        );
        assert!(md.contains("| browser_navigate | 1 | 0 | 1.00 s | 1.00 s | 800 ms |"), "{md}");
        // With a threshold, the rule names it.
        let md =
            SummaryMarkdown { slow_rule: SlowRule { index: Some(&index), threshold_ms: Some(500.0) } }.export(&session);
        assert!(md.contains("or than the 500 ms threshold set._"), "{md}");
        // Without a rule nothing is marked and no rule is stated.
        let md = SummaryMarkdown::default().export(&session);
        assert!(!md.contains("slow"), "{md}");
    }

    #[test]
    fn the_critical_path_is_listed_and_empty_sections_are_left_out() {
        let session = sample_session();
        let md = SummaryMarkdown::default().export(&session);
        assert!(md.contains("\n### Critical path\n"), "{md}");
        assert!(
            md.contains(
                "_10.00 s wall time; self time on the path: LLM 30 %, tools 10 %, steps 30 %, other 30 %, idle 0 %._"
            ),
            "{md}"
        );
        assert!(md.contains("1. 30.0 % — 3.00 s `trace_started` run (`e0`)\n"), "{md}");
        assert!(md.contains("4. 10.0 % — 1.00 s `tool_called` read_file (`e2`)\n"), "{md}");
        assert!(!md.contains("### Stalls") && !md.contains("### Loops"), "{md}");
        // Nothing timed: no section at all.
        let md = SummaryMarkdown::default().export(&AnalyzedSession::default());
        assert!(!md.contains("### Critical path"), "{md}");
    }

    #[test]
    fn table_cells_stay_one_cell_on_one_line() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("line one\nline two\r\n"), "line one line two  ");
        assert_eq!(escape("`code`"), "'code'");
        assert_eq!(escape("bell\u{7}"), "bell\\x07");
        assert_eq!(escape("\u{1b}]0;t\u{7}"), "\\x1b]0;t\\x07");
        assert_eq!(escape("abc\u{202e}def\u{2066}\u{85}"), "abc\\u202edef\\u2066\\u0085");
        assert_eq!(escape("naïve 日本語"), "naïve 日本語");
    }
}
