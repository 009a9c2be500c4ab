//! OpenTelemetry spans of a session, and OTLP JSON, as the OpenTelemetry file exporter writes
//! it: JSON Lines, one `TracesData` object a line, here one line (one trace) per session.
//!
//! [`session_spans`] and [`resource_attributes`] are the one mapping from a session to
//! OpenTelemetry: this file's JSON writer and the protobuf of `push`
//! ([`crate::export::otlp_proto`]) both encode what they give. Names and attributes follow the
//! OpenTelemetry GenAI semantic conventions (`chat {model}`, `execute_tool {tool}`,
//! `invoke_agent {step}`, `gen_ai.*`) and carry the OpenInference names too (`llm.*`,
//! `openinference.span.kind`, `session.id`), which Phoenix and Langfuse read for tokens and cost.
//! An instant (an event without a duration) is a zero-length span, so it keeps its own id,
//! parent and children. Raw input, output and data are written only when given
//! ([`OtlpOptions::content`]).
//!
//! The JSON follows the OTLP/JSON rules: lowerCamelCase keys, trace and span ids as hex, enums
//! as integers, 64-bit integers as decimal strings.

use std::borrow::Cow;
use std::io;

use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};

use crate::analysis::timeline::{Span, SpanKind};
use crate::analysis::tools::tool_call;
use crate::analysis::{AnalyzedSession, tools};
use crate::export::external::{ExportStats, Exported, ExternalSpans, external_spans, hex};
use crate::model::{IdText, TraceEvent};

/// `SpanKind` values of OTLP.
pub const KIND_INTERNAL: i32 = 1;
pub const KIND_CLIENT: i32 = 3;
/// `Status.code` ERROR.
pub const STATUS_ERROR: i32 = 2;
/// The instrumentation scope every span is written under.
pub const SCOPE_NAME: &str = "trace-inspector";
pub const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// One span as OpenTelemetry has it, before any encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct OtelSpan<'a> {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: Cow<'a, str>,
    /// [`KIND_INTERNAL`] or [`KIND_CLIENT`].
    pub kind: i32,
    /// Nanoseconds since the Unix epoch, never negative.
    pub start_ns: i64,
    pub end_ns: i64,
    pub attributes: Vec<KeyValue<'a>>,
    pub status: Option<Status<'a>>,
}

/// A span's status: only errors have one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status<'a> {
    /// [`STATUS_ERROR`].
    pub code: i32,
    pub message: &'a str,
}

/// One attribute.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KeyValue<'a> {
    pub key: &'static str,
    pub value: AnyValue<'a>,
}

/// An attribute's value. Doubles are always finite (JSON has no NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AnyValue<'a> {
    String(IdText<'a>),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl<'a> KeyValue<'a> {
    fn string(key: &'static str, value: &'a str) -> Self {
        KeyValue { key, value: AnyValue::String(IdText::Borrowed(value)) }
    }
    fn id(key: &'static str, value: IdText<'a>) -> Self {
        KeyValue { key, value: AnyValue::String(value) }
    }
    fn int(key: &'static str, value: i64) -> Self {
        KeyValue { key, value: AnyValue::Int(value) }
    }
    /// Callers pass finite numbers only.
    fn double(key: &'static str, value: f64) -> Self {
        KeyValue { key, value: AnyValue::Double(value) }
    }
    fn boolean(key: &'static str, value: bool) -> Self {
        KeyValue { key, value: AnyValue::Bool(value) }
    }
}

/// The resource of a session's spans: the service, the file, and the session's task and status.
#[must_use]
pub fn resource_attributes<'a>(session: &'a AnalyzedSession, options: &OtlpOptions<'a>) -> Vec<KeyValue<'a>> {
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
    resource
}

/// The spans of a session, described one at a time (a big session's spans are never all held
/// in their encoded form), parents before children.
pub fn session_spans<'a>(
    session: &'a AnalyzedSession,
    external: &'a ExternalSpans,
    content: Option<&'a [EventContent]>,
) -> impl Iterator<Item = OtelSpan<'a>> + 'a {
    let session_id = session.data.row.id.as_str();
    external.spans.iter().filter_map(move |ext| {
        let span = session.timeline.spans.get(ext.span)?;
        let mut otel = describe(span, &session.data.events, session_id, content);
        otel.trace_id = external.trace_id;
        otel.span_id = ext.span_id;
        otel.parent_span_id = ext.parent.and_then(|p| external.spans.get(p)).map(|p| p.span_id);
        otel.start_ns = ext.start_ns;
        otel.end_ns = ext.end_ns;
        Some(otel)
    })
}

/// The counts of exporting `session` as `external`, whatever the encoding.
#[must_use]
pub fn exported(session: &AnalyzedSession, external: ExternalSpans) -> Exported {
    let stats = ExportStats {
        sessions: 1,
        spans: external.spans.len() as u64,
        skipped: external.skipped as u64,
        warnings: (session.warnings().count() + external.warnings.len()) as u64,
    };
    Exported { stats, warnings: external.warnings }
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
    let data = TracesData {
        resource_spans: [ResourceSpans {
            resource: Resource { attributes: resource_attributes(session, options) },
            scope_spans: [ScopeSpans {
                scope: Scope { name: SCOPE_NAME, version: SCOPE_VERSION },
                spans: Spans { session, external: &external, content: options.content },
            }],
        }],
    };
    serde_json::to_writer(&mut *out, &data).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(exported(session, external))
}

/// Name, kind, attributes and status of a span (ids and times are filled in by the caller).
fn describe<'a>(
    span: &'a Span,
    events: &'a [TraceEvent],
    session_id: &'a str,
    content: Option<&'a [EventContent]>,
) -> OtelSpan<'a> {
    let first = events.get(span.event);
    let last = span.end_event.get().and_then(|e| events.get(e));
    let event_kind = first.map_or("", |e| &*e.kind);
    let model = span.model(events);
    let provider = span.events(events).find_map(|e| e.provider_used());
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
    let (name, kind): (Cow<'a, str>, i32) = match role {
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
            (Cow::Owned(format!("invoke_agent {}", span.label(events))), KIND_INTERNAL)
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
        attrs.push(KeyValue::id("trace_inspector.trace_id", first.id.as_str()));
        attrs.push(KeyValue::string("trace_inspector.type", &first.kind));
    }
    if let Some(last) = last {
        attrs.push(KeyValue::id("trace_inspector.end_trace_id", last.id.as_str()));
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
        Status { code: STATUS_ERROR, message: span.label(events) }
    });
    OtelSpan {
        trace_id: [0; 16],
        span_id: [0; 8],
        parent_span_id: None,
        name,
        kind,
        start_ns: 0,
        end_ns: 0,
        attributes: attrs,
        status,
    }
}

/// The span's input, output and data as attributes: OpenInference `input.value` /
/// `output.value` on every span, the GenAI tool call's arguments and result on tool calls.
fn add_content<'a>(attrs: &mut Vec<KeyValue<'a>>, role: Role, span: &Span, content: &'a [EventContent]) {
    let first = content.get(span.event);
    let last = span.end_event.get().and_then(|e| content.get(e));
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

// The OTLP/JSON encoding.

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

#[derive(Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

/// The spans of a session, serialized as [`session_spans`] gives them.
struct Spans<'a> {
    session: &'a AnalyzedSession,
    external: &'a ExternalSpans,
    content: Option<&'a [EventContent]>,
}

impl Serialize for Spans<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(session_spans(self.session, self.external, self.content))
    }
}

impl Serialize for OtelSpan<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Span", 9)?;
        s.serialize_field("traceId", &HexId(self.trace_id))?;
        s.serialize_field("spanId", &HexId(self.span_id))?;
        if let Some(parent) = self.parent_span_id {
            s.serialize_field("parentSpanId", &HexId(parent))?;
        }
        s.serialize_field("name", &self.name)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("startTimeUnixNano", &Decimal(self.start_ns))?;
        s.serialize_field("endTimeUnixNano", &Decimal(self.end_ns))?;
        s.serialize_field("attributes", &self.attributes)?;
        if let Some(status) = &self.status {
            s.serialize_field("status", status)?;
        }
        s.end()
    }
}

impl Serialize for Status<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Status", 2)?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", self.message)?;
        s.end()
    }
}

/// `AnyValue`: one key naming the type.
impl Serialize for AnyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = serializer.serialize_map(Some(1))?;
        match *self {
            AnyValue::String(v) => m.serialize_entry("stringValue", &*v)?,
            AnyValue::Int(v) => m.serialize_entry("intValue", &Decimal(v))?,
            AnyValue::Double(v) => m.serialize_entry("doubleValue", &v)?,
            AnyValue::Bool(v) => m.serialize_entry("boolValue", &v)?,
        }
        m.end()
    }
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
        session.data.events[3].usage_mut().provider_used = Some("openai".into());
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
        session.data.events[3].usage_mut().cost_usd = Some(f64::NAN).into();
        let (doc, _) = export(&session, None);
        let chat = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][3];
        assert!(attr(chat, "gen_ai.usage.cost").is_none());
    }
}
