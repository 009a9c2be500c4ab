//! What counts as a tool call and the name it goes by: one rule for the summary's tool table,
//! the slow-call marks and filters, and the file-wide durations the slow index is built from.

use crate::analysis::timeline::{Span, SpanKind};
use crate::model::TraceEvent;

/// The name of a tool call whose data names no tool.
pub const UNNAMED_TOOL: &str = "(unnamed tool)";

/// The name a tool call goes by: the tool its data names, else [`UNNAMED_TOOL`].
#[must_use]
pub fn tool_name(named: Option<&str>) -> &str {
    named.unwrap_or(UNNAMED_TOOL)
}

/// The tool name of a span, from its first or completing event.
#[must_use]
pub fn span_tool<'a>(span: &Span, events: &'a [TraceEvent]) -> Option<&'a str> {
    let first = events.get(span.event).and_then(|e| e.info.tool.as_deref());
    first.or_else(|| span.end_event.get().and_then(|e| events.get(e)).and_then(|e| e.info.tool.as_deref()))
}

/// The name of the tool `span` calls ([`tool_name`]) when it is a tool call: a tool span, or
/// an error that names a tool (a failed call reported as an error). `None` for other spans.
#[must_use]
pub fn tool_call<'a>(span: &Span, events: &'a [TraceEvent]) -> Option<&'a str> {
    let tool = span_tool(span, events);
    let is_call = span.kind == SpanKind::Tool || (span.kind == SpanKind::Error && tool.is_some());
    is_call.then(|| tool_name(tool))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures;

    fn span(kind: SpanKind, event: usize, end_event: Option<usize>) -> Span {
        Span {
            event,
            end_event: crate::analysis::Link::new(end_event),
            ..fixtures::span(kind, (0.0, 1.0), 0, None, event + 1)
        }
    }

    fn event(tool: Option<&str>) -> TraceEvent {
        let mut e = TraceEvent::default();
        e.info.tool = tool.map(Into::into);
        e
    }

    #[test]
    fn tool_spans_and_errors_naming_a_tool_are_tool_calls() {
        // 0 names no tool, 1 names "search", 2 completes a pair and names "read".
        let events = vec![event(None), event(Some("search")), event(Some("read"))];
        assert_eq!(tool_call(&span(SpanKind::Tool, 1, None), &events), Some("search"));
        assert_eq!(tool_call(&span(SpanKind::Tool, 0, Some(2)), &events), Some("read"), "from the completing event");
        assert_eq!(tool_call(&span(SpanKind::Tool, 0, None), &events), Some(UNNAMED_TOOL));
        assert_eq!(tool_call(&span(SpanKind::Error, 1, None), &events), Some("search"));
        assert_eq!(tool_call(&span(SpanKind::Error, 0, None), &events), None, "an error naming no tool");
        for kind in [SpanKind::Llm, SpanKind::Step, SpanKind::Session, SpanKind::Other] {
            assert_eq!(tool_call(&span(kind, 1, None), &events), None, "{kind:?}");
        }
        // An event index past the end names nothing.
        assert_eq!(tool_call(&span(SpanKind::Tool, 9, Some(9)), &events), Some(UNNAMED_TOOL));
    }

    #[test]
    fn an_unnamed_tool_goes_by_one_name() {
        assert_eq!(tool_name(None), "(unnamed tool)");
        assert_eq!(tool_name(Some("search")), "search");
        assert_eq!(tool_name(Some("")), "", "an empty name is a name the file gave");
    }
}
