//! OTLP JSON, as the OpenTelemetry file exporter writes it: JSON Lines, one `TracesData` object
//! a line, here one line (one trace) per session.
//!
//! The encoding follows the OTLP/JSON rules: lowerCamelCase keys, trace and span ids as hex,
//! enums as integers, 64-bit integers as decimal strings. Names and attributes follow the
//! OpenTelemetry GenAI semantic conventions (`chat {model}`, `execute_tool {tool}`,
//! `invoke_agent {step}`, `gen_ai.*`) and carry the OpenInference names too (`llm.*`,
//! `openinference.span.kind`, `session.id`), which Phoenix and Langfuse read for tokens and cost.
//! An instant (an event without a duration) is a zero-length span, so it keeps its own id,
//! parent and children. Raw input, output and data are written only when given
//! ([`OtlpOptions::content`]).

use std::borrow::Cow;
use std::io;

use serde::{Serialize, Serializer};

use crate::analysis::timeline::{Span, SpanKind};
use crate::analysis::tools::tool_call;
use crate::analysis::{AnalyzedSession, tools};
use crate::export::external::{ExportStats, Exported, ExternalSpans, external_spans, hex};
use crate::model::TraceEvent;

/// `SpanKind` values of OTLP.
const KIND_INTERNAL: u8 = 1;
const KIND_CLIENT: u8 = 3;
/// `Status.code` ERROR.
const STATUS_ERROR: u8 = 2;

/// The stored text of one event that `--content` adds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventContent {
    pub data: Option<String>,
    pub raw_input: Option<String>,
    pub raw_output: Option<String>,
}

/// What goes around the spans.
#[derive(Clone, Copy, Debug, Default)]
pub struct OtlpOptions<'a> {
    /// `service.name` of the resource.
    pub service_name: &'a str,
    /// The trace database's file name (`trace_inspector.file` of the resource).
    pub file_name: &'a str,
    /// Per event of the session (same indices), its stored text; `None` leaves it out.
    pub content: Option<&'a [EventContent]>,
}

/// Writes one session as one line of OTLP JSON (a `TracesData` with one resource).
///
/// # Errors
/// When `out` fails.
pub fn write_session(
    session: &AnalyzedSession,
    options: &OtlpOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<Exported> {
    let external = external_spans(session);
    let written = external.spans.len() as u64;
    let mut resource = vec![
        KeyValue::string("service.name", options.service_name),
        KeyValue::string("trace_inspector.file", options.file_name),
    ];
    if !session.data.row.task.is_empty() {
        resource.push(KeyValue::string("trace_inspector.session.task", &session.data.row.task));
    }
    if !session.data.row.status.is_empty() {
        resource.push(KeyValue::string("trace_inspector.session.status", &session.data.row.status));
    }
    let data = TracesData {
        resource_spans: [ResourceSpans {
            resource: Resource { attributes: resource },
            scope_spans: [ScopeSpans {
                scope: Scope { name: "trace-inspector", version: env!("CARGO_PKG_VERSION") },
                spans: Spans { session, external: &external, content: options.content },
            }],
        }],
    };
    serde_json::to_writer(&mut *out, &data).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    let stats = ExportStats {
        sessions: 1,
        spans: written,
        skipped: external.skipped as u64,
        warnings: (session.warnings().count() + external.warnings.len()) as u64,
    };
    Ok(Exported { stats, warnings: external.warnings })
}

/// Name, kind, attributes and status of a span (ids and times are filled in by the caller).
fn describe<'a>(
    span: &'a Span,
    events: &'a [TraceEvent],
    session_id: &'a str,
    content: Option<&'a [EventContent]>,
) -> OtlpSpan<'a> {
    let first = events.get(span.event);
    let last = span.end_event.and_then(|e| events.get(e));
    let event_kind = first.map_or("", |e| &*e.kind);
    let model = span.model(events);
    let provider = span.events(events).find_map(|e| e.provider_used.as_deref());
    let tool = tool_call(span, events);
    let tokens = span.tokens(events);
    let cost = span.cost_usd(events).filter(|c| c.is_finite());
    // What the span is, by the GenAI conventions: a failed call stays a call.
    let role = match span.kind {
        SpanKind::Llm => Role::Chat,
        SpanKind::Tool => Role::Tool,
        SpanKind::Error if tool.is_some() => Role::Tool,
        SpanKind::Error if model.is_some() && tokens.is_some() => Role::Chat,
        SpanKind::Step | SpanKind::Session => Role::Agent,
        SpanKind::Error | SpanKind::Other => Role::Chain,
    };
    let mut attrs = Vec::with_capacity(16);
    let (name, kind): (Cow<'a, str>, u8) = match role {
        Role::Chat => {
            attrs.push(KeyValue::string("gen_ai.operation.name", "chat"));
            attrs.push(KeyValue::string("openinference.span.kind", "LLM"));
            let name = model.map_or(Cow::Borrowed("chat"), |m| Cow::Owned(format!("chat {m}")));
            (name, KIND_CLIENT)
        }
        Role::Tool => {
            let tool = tools::tool_name(tool);
            attrs.push(KeyValue::string("gen_ai.operation.name", "execute_tool"));
            attrs.push(KeyValue::string("gen_ai.tool.name", tool));
            attrs.push(KeyValue::string("openinference.span.kind", "TOOL"));
            attrs.push(KeyValue::string("tool.name", tool));
            (Cow::Owned(format!("execute_tool {tool}")), KIND_INTERNAL)
        }
        Role::Agent => {
            attrs.push(KeyValue::string("gen_ai.operation.name", "invoke_agent"));
            attrs.push(KeyValue::string("openinference.span.kind", "AGENT"));
            (Cow::Owned(format!("invoke_agent {}", span.label)), KIND_INTERNAL)
        }
        Role::Chain => {
            attrs.push(KeyValue::string("openinference.span.kind", "CHAIN"));
            let name = if event_kind.is_empty() { "event" } else { event_kind };
            (Cow::Borrowed(name), KIND_INTERNAL)
        }
    };
    // A model on another span (an agent step that names one) is said too.
    if let Some(model) = model {
        attrs.push(KeyValue::string("gen_ai.request.model", model));
        attrs.push(KeyValue::string("llm.model_name", model));
    }
    if let Some(provider) = provider {
        attrs.push(KeyValue::string("gen_ai.provider.name", provider));
        attrs.push(KeyValue::string("llm.provider", provider));
    }
    if let Some((input, output)) = tokens {
        attrs.push(KeyValue::int("gen_ai.usage.input_tokens", input));
        attrs.push(KeyValue::int("gen_ai.usage.output_tokens", output));
        attrs.push(KeyValue::int("llm.token_count.prompt", input));
        attrs.push(KeyValue::int("llm.token_count.completion", output));
        attrs.push(KeyValue::int("llm.token_count.total", input.saturating_add(output)));
    }
    if let Some(cost) = cost {
        attrs.push(KeyValue::double("gen_ai.usage.cost", cost));
        attrs.push(KeyValue::double("llm.cost.total", cost));
    }
    attrs.push(KeyValue::string("gen_ai.conversation.id", session_id));
    attrs.push(KeyValue::string("session.id", session_id));
    if let Some(first) = first {
        attrs.push(KeyValue::string("trace_inspector.trace_id", &first.id));
        attrs.push(KeyValue::string("trace_inspector.type", &first.kind));
    }
    if let Some(last) = last {
        attrs.push(KeyValue::string("trace_inspector.end_trace_id", &last.id));
    }
    if span.instant {
        attrs.push(KeyValue::boolean("trace_inspector.instant", true));
    }
    if span.open {
        attrs.push(KeyValue::boolean("trace_inspector.open", true));
    }
    if let Some(content) = content {
        add_content(&mut attrs, role, span, content);
    }
    let status = span.failed.then(|| {
        // The event that failed names the error's type: the completing one when it reports it.
        let failing = last.filter(|e| e.is_error()).or(first);
        let error_type = failing.map_or("error", |e| if e.kind.is_empty() { "error" } else { &*e.kind });
        attrs.push(KeyValue::string("error.type", error_type));
        Status { code: STATUS_ERROR, message: &span.label }
    });
    OtlpSpan {
        trace_id: HexId([0; 16]),
        span_id: HexId([0; 8]),
        parent_span_id: None,
        name,
        kind,
        start_time_unix_nano: Decimal(0),
        end_time_unix_nano: Decimal(0),
        attributes: attrs,
        status,
    }
}

/// The span's input, output and data as attributes: OpenInference `input.value` /
/// `output.value` on every span, the GenAI tool call's arguments and result on tool calls.
fn add_content<'a>(attrs: &mut Vec<KeyValue<'a>>, role: Role, span: &Span, content: &'a [EventContent]) {
    let first = content.get(span.event);
    let last = span.end_event.and_then(|e| content.get(e));
    let both = || first.into_iter().chain(last);
    let input = both().find_map(|c| c.raw_input.as_deref()).or_else(|| first.and_then(|c| c.data.as_deref()));
    let output = both().find_map(|c| c.raw_output.as_deref()).or_else(|| last.and_then(|c| c.data.as_deref()));
    if let Some(input) = input {
        attrs.push(KeyValue::string("input.value", input));
    }
    if let Some(output) = output {
        attrs.push(KeyValue::string("output.value", output));
    }
    if role == Role::Tool {
        if let Some(arguments) = first.and_then(|c| c.data.as_deref()) {
            attrs.push(KeyValue::string("gen_ai.tool.call.arguments", arguments));
        }
        if let Some(result) = output {
            attrs.push(KeyValue::string("gen_ai.tool.call.result", result));
        }
    }
    if let Some(data) = first.and_then(|c| c.data.as_deref()) {
        attrs.push(KeyValue::string("trace_inspector.data", data));
    }
    if let Some(data) = last.and_then(|c| c.data.as_deref()) {
        attrs.push(KeyValue::string("trace_inspector.end_data", data));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Chat,
    Tool,
    Agent,
    Chain,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TracesData<'a> {
    resource_spans: [ResourceSpans<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    resource: Resource<'a>,
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct Resource<'a> {
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Serialize)]
struct ScopeSpans<'a> {
    scope: Scope,
    spans: Spans<'a>,
}

/// The spans of a session, described one at a time as they are written: a big session's
/// spans are never all held as JSON values.
struct Spans<'a> {
    session: &'a AnalyzedSession,
    external: &'a ExternalSpans,
    content: Option<&'a [EventContent]>,
}

impl Serialize for Spans<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Spans { session, external, content } = *self;
        let session_id = session.data.row.id.as_str();
        serializer.collect_seq(external.spans.iter().filter_map(|ext| {
            let span = session.timeline.spans.get(ext.span)?;
            let mut otlp = describe(span, &session.data.events, session_id, content);
            otlp.trace_id = HexId(external.trace_id);
            otlp.span_id = HexId(ext.span_id);
            otlp.parent_span_id = ext.parent.and_then(|p| external.spans.get(p)).map(|p| HexId(p.span_id));
            otlp.start_time_unix_nano = Decimal(ext.start_ns);
            otlp.end_time_unix_nano = Decimal(ext.end_ns);
            Some(otlp)
        }))
    }
}

#[derive(Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OtlpSpan<'a> {
    trace_id: HexId<16>,
    span_id: HexId<8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<HexId<8>>,
    name: Cow<'a, str>,
    kind: u8,
    start_time_unix_nano: Decimal,
    end_time_unix_nano: Decimal,
    attributes: Vec<KeyValue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status<'a>>,
}

#[derive(Serialize)]
struct Status<'a> {
    code: u8,
    message: &'a str,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'static str,
    value: AnyValue<'a>,
}

impl<'a> KeyValue<'a> {
    fn string(key: &'static str, value: &'a str) -> Self {
        KeyValue { key, value: AnyValue::String(value) }
    }
    fn int(key: &'static str, value: i64) -> Self {
        KeyValue { key, value: AnyValue::Int(Decimal(value)) }
    }
    /// Callers pass finite numbers only: JSON has no NaN.
    fn double(key: &'static str, value: f64) -> Self {
        KeyValue { key, value: AnyValue::Double(value) }
    }
    fn boolean(key: &'static str, value: bool) -> Self {
        KeyValue { key, value: AnyValue::Bool(value) }
    }
}

/// `AnyValue`: one key naming the type.
#[derive(Serialize)]
enum AnyValue<'a> {
    #[serde(rename = "stringValue")]
    String(&'a str),
    #[serde(rename = "intValue")]
    Int(Decimal),
    #[serde(rename = "doubleValue")]
    Double(f64),
    #[serde(rename = "boolValue")]
    Bool(bool),
}

/// A 64-bit integer as OTLP/JSON writes it: a decimal string.
struct Decimal(i64);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A trace or span id as lower-case hex.
struct HexId<const N: usize>([u8; N]);

impl<const N: usize> Serialize for HexId<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 32];
        serializer.serialize_str(hex(&self.0, &mut buf))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::analysis::fixtures::sample_session;

    fn export(session: &AnalyzedSession, content: Option<&[EventContent]>) -> (Value, ExportStats) {
        let mut out = Vec::new();
        let options = OtlpOptions { service_name: "agent", file_name: "agent_traces.db", content };
        let stats = write_session(session, &options, &mut out).expect("write to a vec").stats;
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        (serde_json::from_slice(&out).expect("JSON"), stats)
    }

    fn attr<'v>(span: &'v Value, key: &str) -> Option<&'v Value> {
        span["attributes"].as_array()?.iter().find(|a| a["key"] == key).map(|a| &a["value"])
    }

    #[test]
    fn the_sample_maps_to_genai_names() {
        let mut session = sample_session();
        session.data.events[3].provider_used = Some("openai".into());
        let (doc, stats) = export(&session, None);
        assert_eq!(stats, ExportStats { sessions: 1, spans: 5, skipped: 1, warnings: 1 });
        let spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().expect("spans");
        let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(
            names,
            ["invoke_agent run", "invoke_agent plan", "execute_tool (unnamed tool)", "chat gpt-x", "error"]
        );
        let chat = &spans[3];
        assert_eq!(chat["kind"], 3);
        assert_eq!(attr(chat, "gen_ai.usage.input_tokens"), Some(&serde_json::json!({"intValue": "1200"})));
        assert_eq!(attr(chat, "llm.token_count.total"), Some(&serde_json::json!({"intValue": "1545"})));
        assert_eq!(attr(chat, "gen_ai.usage.cost"), Some(&serde_json::json!({"doubleValue": 0.0123})));
        assert_eq!(attr(chat, "gen_ai.provider.name"), Some(&serde_json::json!({"stringValue": "openai"})));
        assert_eq!(attr(chat, "gen_ai.conversation.id"), Some(&serde_json::json!({"stringValue": "session-1"})));
        assert_eq!(chat["startTimeUnixNano"], "6001000000");
        assert_eq!(chat["endTimeUnixNano"], "9001000000");
        assert_eq!(chat["parentSpanId"], spans[0]["spanId"]);
        assert!(spans[0].get("parentSpanId").is_none());
        let error = &spans[4];
        assert_eq!(error["status"]["code"], 2);
        assert_eq!(attr(error, "error.type"), Some(&serde_json::json!({"stringValue": "error"})));
        assert_eq!(error["startTimeUnixNano"], error["endTimeUnixNano"]);
        assert_eq!(attr(error, "trace_inspector.instant"), Some(&serde_json::json!({"boolValue": true})));
        for s in spans {
            assert_eq!(s["traceId"].as_str().map(str::len), Some(32));
            assert_eq!(s["spanId"].as_str().map(str::len), Some(16));
            assert!(attr(s, "input.value").is_none(), "no content unless asked");
        }
    }

    #[test]
    fn content_only_when_given() {
        let session = sample_session();
        let mut content = vec![EventContent::default(); session.data.events.len()];
        content[2].data = Some(r#"{"path": "a.txt"}"#.to_owned());
        content[6].raw_output = Some("hello\u{1b}[2J".to_owned());
        let (doc, _) = export(&session, Some(&content));
        let tool = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][2];
        assert_eq!(
            attr(tool, "gen_ai.tool.call.arguments"),
            Some(&serde_json::json!({"stringValue": r#"{"path": "a.txt"}"#}))
        );
        assert_eq!(attr(tool, "gen_ai.tool.call.result"), Some(&serde_json::json!({"stringValue": "hello\u{1b}[2J"})));
        assert_eq!(attr(tool, "output.value"), attr(tool, "gen_ai.tool.call.result"));
    }

    #[test]
    fn non_finite_costs_are_left_out() {
        let mut session = sample_session();
        session.data.events[3].cost_usd = Some(f64::NAN);
        let (doc, _) = export(&session, None);
        let chat = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][3];
        assert!(attr(chat, "gen_ai.usage.cost").is_none());
    }
}
