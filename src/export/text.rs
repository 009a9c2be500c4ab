//! Plain-text timeline and tree, one span a line.
//!
//! Types, labels, the task and ids come from the file: each is escaped to one line, so a line
//! break in a label cannot make a row of its own nor a control character act on a terminal.

use std::fmt::Write as _;

use crate::analysis::AnalyzedSession;
use crate::export::Export;
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::terminal::one_line;

/// Spans in time order: offset from the session start, duration, type, label.
pub struct TimelineText;

/// Spans in tree order, indented by depth.
pub struct TreeText;

fn line_tail(session: &AnalyzedSession, span: usize) -> String {
    let t = &session.timeline;
    let s = &t.spans[span];
    let events = &session.data.events;
    let mut tail = String::new();
    if s.open {
        tail.push_str("  [open]");
    } else if !s.instant && s.timed {
        let _ = write!(tail, "  [{}]", format_duration_ms(s.duration_ms()));
    }
    let tokens = s.tokens(events).map_or(0, |(input, output)| input.saturating_add(output));
    if tokens > 0 {
        let _ = write!(tail, "  {} tok", format_count(tokens));
    }
    let cost = s.cost_usd(events).unwrap_or(0.0);
    if cost > 0.0 {
        let _ = write!(tail, "  {}", format_cost(cost));
    }
    if s.failed {
        tail.push_str("  FAILED");
    }
    tail
}

fn kind_text(session: &AnalyzedSession, span: usize) -> String {
    let s = &session.timeline.spans[span];
    let events = &session.data.events;
    match s.end_event.get().and_then(|e| events.get(e)) {
        Some(end) => format!("{}…{}", one_line(&events[s.event].kind), one_line(&end.kind)),
        None => one_line(&events[s.event].kind).into_owned(),
    }
}

impl Export for TimelineText {
    fn export(&self, session: &AnalyzedSession) -> String {
        let t = &session.timeline;
        let mut order: Vec<usize> = (0..t.spans.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&t.spans[a], &t.spans[b]);
            (!x.timed).cmp(&!y.timed).then(x.start_ms.total_cmp(&y.start_ms)).then(a.cmp(&b))
        });
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Session {} — {} ({}), timestamps read as {} of work",
            one_line(&session.summary.session_id),
            one_line(&session.summary.task),
            one_line(&session.summary.status),
            t.anchor.name()
        );
        for i in order {
            let s = &t.spans[i];
            let at = if s.timed { format!("+{:>10.3}s", s.start_ms / 1000.0) } else { format!("{:>12}", "(no time)") };
            let _ = writeln!(
                out,
                "{at}  {:<28} {}{}",
                kind_text(session, i),
                one_line(s.label(&session.data.events)),
                line_tail(session, i)
            );
        }
        out
    }
}

impl Export for TreeText {
    fn export(&self, session: &AnalyzedSession) -> String {
        let t = &session.timeline;
        let mut out = String::new();
        for (i, s) in t.spans.iter().enumerate() {
            // Deep chains stay readable: indentation stops growing at 40 levels.
            let depth = s.depth.min(40) as usize;
            let deeper = if s.depth > 40 { format!("[depth {}] ", s.depth) } else { String::new() };
            let _ = writeln!(
                out,
                "{}{deeper}{} {}{}",
                "  ".repeat(depth),
                kind_text(session, i),
                one_line(s.label(&session.data.events)),
                line_tail(session, i)
            );
        }
        out
    }
}
