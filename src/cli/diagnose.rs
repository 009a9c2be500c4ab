//! The diagnosis subcommands: `critical-path`, `loops`, `context` and `stalls`, over the
//! analyses of the same names. Text goes through the CLI's escaping writer like every other
//! subcommand's; `--json` keys are documented in the README.

use std::io;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{leave_to_os, load, open, report_warnings, warn};
use crate::analysis::context::{ContextGrowth, ContextParams, ContextWindows, context_growth, parse_tokens};
use crate::analysis::critical_path::{CriticalPath, critical_path_with_segments};
use crate::analysis::loops::{LoopGroup, LoopParams, LoopTallyBuilder, Loops, find_loops, find_loops_in};
use crate::analysis::stalls::{RunningStall, Stall, StallParams, session_stall, stalls};
use crate::analysis::{AnalyzedSession, Anchor, timeline};
use crate::format::{
    format_context_tokens, format_cost, format_count, format_duration_ms, format_loop, format_running_stall,
    format_stall, format_waste,
};
use crate::ids;
use crate::model::{IdText, TraceEvent};
use crate::terminal::one_line;
use crate::time::Timestamp;

/// The id of a span's first event, as stored.
fn span_id(session: &AnalyzedSession, span: usize) -> IdText<'_> {
    session
        .timeline
        .spans
        .get(span)
        .and_then(|s| session.data.events.get(s.event))
        .map_or(IdText::EMPTY, |e: &TraceEvent| e.id.as_str())
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// `critical-path FILE SESSION [--json]`.
pub(super) fn critical_path_cmd(file: &Path, session: &str, json: bool, out: &mut dyn io::Write) -> Result<()> {
    let analyzed = load(file, session, Anchor::Auto)?;
    let path = critical_path_with_segments(&analyzed);
    if json {
        serde_json::to_writer_pretty(&mut *out, &CriticalPathJson::new(&analyzed, &path))?;
        writeln!(out)?;
    } else {
        write_critical_path(out, &analyzed, &path)?;
    }
    report_warnings(analyzed.warnings());
    leave_to_os(analyzed);
    Ok(())
}

#[derive(Serialize)]
struct CriticalPathJson<'a> {
    session_id: &'a str,
    #[serde(flatten)]
    path: &'a CriticalPath,
    /// Why there is no path, in words.
    reason: Option<&'static str>,
    /// The event id of each path span, in the order of `spans`.
    span_ids: Vec<IdText<'a>>,
    span_labels: Vec<&'a str>,
}

impl<'a> CriticalPathJson<'a> {
    fn new(s: &'a AnalyzedSession, path: &'a CriticalPath) -> Self {
        Self {
            session_id: &s.data.row.id,
            path,
            reason: path.missing.map(|m| m.reason()),
            span_ids: path.spans.iter().map(|p| span_id(s, p.span)).collect(),
            span_labels: path
                .spans
                .iter()
                .map(|p| s.timeline.spans.get(p.span).map_or("", |x| &**x.label(&s.data.events)))
                .collect(),
        }
    }
}

fn write_critical_path(out: &mut dyn io::Write, s: &AnalyzedSession, path: &CriticalPath) -> io::Result<()> {
    let id = one_line(ids::shown(&s.data.row.id));
    if let Some(missing) = path.missing {
        return writeln!(out, "No critical path for {id}: {}.", missing.reason());
    }
    writeln!(out, "Critical path of {id}: {} wall time", format_duration_ms(path.wall_ms))?;
    let k = &path.by_kind;
    let part = |name: &str, ms: f64| format!("{name} {} ({})", format_duration_ms(ms), percent(ms / path.wall_ms));
    writeln!(
        out,
        "Self time on the path: {}, {}, {}, {}, {}",
        part("LLM", k.llm_ms),
        part("tool", k.tool_ms),
        part("step", k.step_ms),
        part("other", k.other_ms),
        part("idle", k.idle_ms)
    )?;
    if path.open_spans > 0 {
        writeln!(out, "{} spans on the path have no logged end; they count to the last logged time.", path.open_spans)?;
    }
    if path.clipped_children > 0 {
        writeln!(out, "{} spans on the path end after their parent; cut at the parent's end.", path.clipped_children)?;
    }
    writeln!(
        out,
        "\n{:>7}  {:>10}  {:>10}  {:>10}  {:<7}  {:<36}  label",
        "share", "self", "start", "end", "kind", "id"
    )?;
    for p in &path.spans {
        let label = s.timeline.spans.get(p.span).map_or("", |x| &**x.label(&s.data.events));
        let open = if p.open { " (open)" } else { "" };
        writeln!(
            out,
            "{:>7}  {:>10}  {:>10}  {:>10}  {:<7}  {:<36}  {}{open}",
            percent(p.share),
            format_duration_ms(p.self_ms),
            format!("+{}", format_duration_ms(p.start_ms)),
            format!("+{}", format_duration_ms(p.end_ms)),
            p.kind.name(),
            one_line(&span_id(s, p.span)),
            one_line(label)
        )?;
    }
    Ok(())
}

/// `loops FILE [SESSION] [--json]`.
pub(super) fn loops_cmd(file: &Path, session: Option<&str>, json: bool, out: &mut dyn io::Write) -> Result<()> {
    let params = LoopParams::default();
    let Some(session) = session else { return file_loops(file, &params, json, out) };
    let analyzed = load(file, session, Anchor::Auto)?;
    let loops = find_loops(&analyzed, &params);
    if json {
        #[derive(Serialize)]
        struct LoopsJson<'a> {
            session_id: &'a str,
            #[serde(flatten)]
            loops: &'a Loops,
            /// The event ids of each loop's calls, in the order of `loops`.
            call_ids: Vec<Vec<IdText<'a>>>,
        }
        let call_ids = loops.loops.iter().map(|l| l.calls.iter().map(|&c| span_id(&analyzed, c)).collect()).collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &LoopsJson { session_id: &analyzed.data.row.id, loops: &loops, call_ids },
        )?;
        writeln!(out)?;
    } else {
        let id = one_line(ids::shown(&analyzed.data.row.id));
        writeln!(
            out,
            "{} in {id} over {} tool calls ({} without logged arguments)",
            count_of(loops.loops.len(), "loop"),
            loops.tool_calls,
            loops.calls_without_args
        )?;
        for (i, l) in loops.loops.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, one_line(&format_loop(l)))?;
            let calls: Vec<String> = l
                .calls
                .iter()
                .map(|&c| {
                    let at = analyzed.timeline.spans.get(c).filter(|s| s.timed).map(|s| format_duration_ms(s.start_ms));
                    format!("{} (+{})", one_line(&span_id(&analyzed, c)), at.unwrap_or_else(|| "?".to_owned()))
                })
                .collect();
            writeln!(out, "   calls: {}", calls.join(", "))?;
        }
        if loops.loops.len() > 1 {
            writeln!(out, "Total waste: {}", format_waste(&loops.total_waste()))?;
        }
    }
    report_warnings(analyzed.warnings());
    leave_to_os(analyzed);
    Ok(())
}

fn count_of(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Loops across every session of the file: each session is loaded and its spans built (no
/// summary), one at a time.
fn file_loops(file: &Path, params: &LoopParams, json: bool, out: &mut dyn io::Write) -> Result<()> {
    let store = open(file)?;
    let list = store.list_sessions()?;
    let mut tally = LoopTallyBuilder::default();
    let mut problems = 0usize;
    for row in &list.sessions {
        let task = row.task.clone();
        let data = match store.load_session(&row.id, Some(crate::model::SessionRow::clone(row))) {
            Ok(data) => data,
            Err(e) => {
                warn(format_args!("session {}: {e:#}", ids::shown(&row.id)));
                problems += 1;
                continue;
            }
        };
        let timeline = timeline::build(&data, Anchor::Auto);
        tally.add(&task, &find_loops_in(&timeline, &data.events, params));
        leave_to_os((data, timeline));
    }
    let tally = tally.finish();
    if json {
        serde_json::to_writer_pretty(&mut *out, &tally)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} in {} of {} sessions",
            count_of(usize::try_from(tally.loops).unwrap_or(usize::MAX), "loop"),
            tally.sessions_with_loops,
            tally.sessions
        )?;
        for (title, groups) in [("Top looping tools", &tally.by_tool), ("Top looping tasks", &tally.by_task)] {
            if groups.is_empty() {
                continue;
            }
            writeln!(out, "\n{title}")?;
            write_groups(out, groups)?;
        }
    }
    report_warnings(&list.warnings);
    if problems > 0 {
        bail!("{problems} sessions could not be read");
    }
    Ok(())
}

fn write_groups(out: &mut dyn io::Write, groups: &[LoopGroup]) -> io::Result<()> {
    writeln!(
        out,
        "{:>6}  {:>8}  {:>7}  {:>11}  {:>10}  {:>10}  name",
        "loops", "sessions", "repeats", "wasted", "tokens", "cost"
    )?;
    for g in groups {
        writeln!(
            out,
            "{:>6}  {:>8}  {:>7}  {:>11}  {:>10}  {:>10}  {}",
            g.loops,
            g.sessions,
            g.repeats,
            format_duration_ms(g.wall_ms),
            format_count(g.input_tokens.saturating_add(g.output_tokens)),
            format_cost(g.cost_usd),
            one_line(&g.name)
        )?;
    }
    Ok(())
}

/// `context FILE SESSION [--json] [--window MODEL=TOKENS]…`.
pub(super) fn context_cmd(
    file: &Path,
    session: &str,
    json: bool,
    window_args: &[String],
    out: &mut dyn io::Write,
) -> Result<()> {
    let mut windows = ContextWindows::default();
    for arg in window_args {
        let parsed = arg.rsplit_once('=').and_then(|(m, t)| Some((m.trim(), parse_tokens(t)?)));
        match parsed {
            Some((model, tokens)) if !model.is_empty() => windows.set(model, tokens),
            _ => bail!("--window {arg}: expected MODEL=TOKENS, e.g. gpt-4o=128000 or gpt-4o=128k"),
        }
    }
    let analyzed = load(file, session, Anchor::Auto)?;
    let growth = context_growth(&analyzed, &windows, &ContextParams::default());
    if json {
        #[derive(Serialize)]
        struct ContextJson<'a> {
            session_id: &'a str,
            #[serde(flatten)]
            growth: &'a ContextGrowth,
            /// The event id of each point's call, in the order of `points`.
            call_ids: Vec<IdText<'a>>,
        }
        let call_ids = growth.points.iter().map(|p| span_id(&analyzed, p.span)).collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &ContextJson { session_id: &analyzed.data.row.id, growth: &growth, call_ids },
        )?;
        writeln!(out)?;
    } else {
        write_context(out, &analyzed, &growth)?;
    }
    report_warnings(analyzed.warnings());
    leave_to_os(analyzed);
    Ok(())
}

fn write_context(out: &mut dyn io::Write, s: &AnalyzedSession, g: &ContextGrowth) -> io::Result<()> {
    let id = one_line(ids::shown(&s.data.row.id));
    let Some(peak) = g.peak_point() else {
        return writeln!(
            out,
            "No LLM call in {id} reports input tokens ({} LLM calls without).",
            g.calls_without_input
        );
    };
    writeln!(
        out,
        "Context of {id}: {} with input tokens; peak {} at call {}{}; {}",
        count_of(g.points.len(), "LLM call"),
        format_context_tokens(peak),
        peak.call,
        peak.model.as_deref().map(|m| format!(" ({})", one_line(m))).unwrap_or_default(),
        count_of(g.drops.len(), "sharp drop")
    )?;
    if g.calls_without_input > 0 {
        writeln!(out, "{} LLM calls report no input tokens.", g.calls_without_input)?;
    }
    writeln!(
        out,
        "\n{:>5}  {:>10}  {:<20}  {:>10}  {:>7}  {:>8}  {:>10}  {:>12}",
        "call", "offset", "model", "input", "window", "output", "cost", "running cost"
    )?;
    for p in &g.points {
        let drop = p
            .dropped_from
            .get()
            .map(|from| {
                let fall = 1.0 - p.input_tokens as f64 / from as f64;
                format!("  ↓ {:.0} % from {} (summarised or reset)", fall * 100.0, format_count(from))
            })
            .unwrap_or_default();
        let peak_mark = if Some(p.call) == Some(peak.call) { "  peak" } else { "" };
        writeln!(
            out,
            "{:>5}  {:>10}  {:<20}  {:>10}  {:>7}  {:>8}  {:>10}  {:>12}{peak_mark}{drop}",
            p.call,
            p.offset_ms.get().map_or_else(|| "?".to_owned(), |ms| format!("+{}", format_duration_ms(ms))),
            one_line(p.model.as_deref().unwrap_or("—")),
            format_count(p.input_tokens),
            p.window_share.get().map_or_else(|| "—".to_owned(), |share| format!("{:.1} %", share * 100.0)),
            p.output_tokens.get().map_or_else(|| "—".to_owned(), format_count),
            p.cost_usd.get().map_or_else(|| "—".to_owned(), format_cost),
            format_cost(p.running_cost_usd)
        )?;
    }
    Ok(())
}

/// `stalls FILE SESSION [--json]`: the idle stretches and, for a running session, whether it
/// has gone quiet (as of now).
pub(super) fn stalls_cmd(
    file: &Path,
    session: &str,
    json: bool,
    params: StallParams,
    out: &mut dyn io::Write,
) -> Result<()> {
    let analyzed = load(file, session, Anchor::Auto)?;
    let found = stalls(&analyzed, &params);
    let running = now().and_then(|now| session_stall(&analyzed, now));
    if json {
        #[derive(Serialize)]
        struct StallsJson<'a> {
            session_id: &'a str,
            params: StallParams,
            stalls: &'a [Stall],
            running_stall: Option<&'a RunningStall>,
        }
        let doc =
            StallsJson { session_id: &analyzed.data.row.id, params, stalls: &found, running_stall: running.as_ref() };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        let id = one_line(ids::shown(&analyzed.data.row.id));
        writeln!(
            out,
            "{} in {id} (idle longer than {} and {:.0} % of the session)",
            count_of(found.len(), "stall"),
            format_duration_ms(params.min_ms),
            params.min_share * 100.0
        )?;
        for st in &found {
            writeln!(out, "+{}  {}", format_duration_ms(st.start_ms), one_line(&format_stall(st)))?;
        }
        if let Some(r) = &running {
            writeln!(out, "Running and {}", format_running_stall(r))?;
        }
    }
    report_warnings(analyzed.warnings());
    leave_to_os(analyzed);
    Ok(())
}

/// The current time, for a running session's silence.
pub(super) fn now() -> Option<Timestamp> {
    Timestamp::from_chrono(chrono::Utc::now())
}
