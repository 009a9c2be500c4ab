//! OTLP protobuf: sessions as `ExportTraceServiceRequest`s (the body of an OTLP/HTTP
//! `POST /v1/traces`), built with the OpenTelemetry protocol types from the same spans as the
//! OTLP JSON export ([`otlp::session_spans`]), and cut into batches of bounded size.
//!
//! A batch holds whole sessions while they fit; a session bigger than a batch is split over
//! several, each part under the session's own resource, so no request grows with the size of a
//! session and nothing is held beyond one batch and the session being read.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{self as common, InstrumentationScope, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{self as trace, ResourceSpans, ScopeSpans};
use prost::Message as _;

use crate::analysis::AnalyzedSession;
use crate::export::external::{Exported, external_spans};
use crate::export::otlp::{self, AnyValue, KeyValue, OtelSpan, OtlpOptions};

/// How big a batch may grow before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Spans in one request.
    pub max_spans: usize,
    /// Encoded bytes of one request (a single span bigger than this still goes, alone).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    /// 2,000 spans or 4 MiB: few enough bytes for any collector's default body limit, many
    /// enough spans that the cost of a request is spread thin.
    fn default() -> Self {
        BatchLimits { max_spans: 2000, max_bytes: 4 << 20 }
    }
}

/// One request body, ready to send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The encoded `ExportTraceServiceRequest`.
    pub body: Vec<u8>,
    pub spans: u64,
}

/// Gathers the spans of sessions into requests of at most [`BatchLimits`].
#[derive(Debug, Default)]
pub struct Batcher {
    limits: BatchLimits,
    request: ExportTraceServiceRequest,
    spans: usize,
    bytes: usize,
}

impl Batcher {
    #[must_use]
    pub fn new(limits: BatchLimits) -> Self {
        Batcher { limits: BatchLimits { max_spans: limits.max_spans.max(1), ..limits }, ..Batcher::default() }
    }

    /// Adds the spans of `session`; every batch that fills on the way is handed to `send`.
    ///
    /// # Errors
    /// The first error of `send`; the batch it was given is gone, the rest of the session is
    /// not added.
    pub fn add_session<E>(
        &mut self,
        session: &AnalyzedSession,
        options: &OtlpOptions<'_>,
        send: &mut dyn FnMut(Batch) -> Result<(), E>,
    ) -> Result<Exported, E> {
        let external = external_spans(session);
        let resource =
            Resource { attributes: attributes(&otlp::resource_attributes(session, options)), ..Resource::default() };
        // Whether the last `ResourceSpans` of the request is this session's.
        let mut open = false;
        for span in otlp::session_spans(session, &external, options.content) {
            let span = proto_span(&span);
            let bytes = span.encoded_len() + 8;
            if self.spans > 0 && (self.spans >= self.limits.max_spans || self.bytes + bytes > self.limits.max_bytes) {
                send(self.take())?;
                open = false;
            }
            if !open {
                self.bytes += resource.encoded_len() + 64;
                self.request.resource_spans.push(ResourceSpans {
                    resource: Some(resource.clone()),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: otlp::SCOPE_NAME.to_owned(),
                            version: otlp::SCOPE_VERSION.to_owned(),
                            ..InstrumentationScope::default()
                        }),
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                });
                open = true;
            }
            let scope = self.request.resource_spans.last_mut().and_then(|r| r.scope_spans.last_mut());
            if let Some(scope) = scope {
                scope.spans.push(span);
                self.spans += 1;
                self.bytes += bytes;
            }
        }
        Ok(otlp::exported(session, external))
    }

    /// The batch being filled, if it holds anything.
    #[must_use]
    pub fn finish(mut self) -> Option<Batch> {
        (self.spans > 0).then(|| self.take())
    }

    fn take(&mut self) -> Batch {
        let request = std::mem::take(&mut self.request);
        let spans = std::mem::take(&mut self.spans) as u64;
        self.bytes = 0;
        Batch { body: request.encode_to_vec(), spans }
    }
}

/// A span in the protocol's types.
#[must_use]
pub fn proto_span(span: &OtelSpan<'_>) -> trace::Span {
    trace::Span {
        trace_id: span.trace_id.to_vec(),
        span_id: span.span_id.to_vec(),
        parent_span_id: span.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        name: span.name.clone().into_owned(),
        kind: span.kind,
        // Never negative (see `ExternalSpan`); a negative one would read as far future.
        start_time_unix_nano: u64::try_from(span.start_ns).unwrap_or(0),
        end_time_unix_nano: u64::try_from(span.end_ns).unwrap_or(0),
        attributes: attributes(&span.attributes),
        status: span.status.map(|s| trace::Status { message: s.message.to_owned(), code: s.code }),
        ..trace::Span::default()
    }
}

fn attributes(attrs: &[KeyValue<'_>]) -> Vec<common::KeyValue> {
    attrs
        .iter()
        .map(|kv| {
            let value = match kv.value {
                AnyValue::String(s) => any_value::Value::StringValue(s.to_string()),
                AnyValue::Int(i) => any_value::Value::IntValue(i),
                AnyValue::Double(d) => any_value::Value::DoubleValue(d),
                AnyValue::Bool(b) => any_value::Value::BoolValue(b),
            };
            common::KeyValue {
                key: kv.key.to_owned(),
                value: Some(common::AnyValue { value: Some(value) }),
                ..common::KeyValue::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::sample_session;

    fn options() -> OtlpOptions<'static> {
        OtlpOptions { service_name: "agent", file_name: "agent_traces.db", content: None }
    }

    fn decode(batch: &Batch) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(batch.body.as_slice()).expect("decodes")
    }

    #[test]
    fn a_session_in_one_batch_keeps_names_parents_and_attributes() {
        let session = sample_session();
        let mut batcher = Batcher::new(BatchLimits::default());
        let mut sent = Vec::new();
        let exported = batcher
            .add_session(&session, &options(), &mut |b| {
                sent.push(b);
                Ok::<_, ()>(())
            })
            .expect("no send error");
        assert!(sent.is_empty(), "one session fills no batch");
        assert_eq!(exported.stats.spans, 5);
        let batch = batcher.finish().expect("a batch");
        assert_eq!(batch.spans, 5);
        let request = decode(&batch);
        assert_eq!(request.resource_spans.len(), 1);
        let rs = &request.resource_spans[0];
        let service = rs.resource.as_ref().and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"));
        assert_eq!(
            service.and_then(|a| a.value.as_ref()?.value.clone()),
            Some(any_value::Value::StringValue("agent".into()))
        );
        let spans = &rs.scope_spans[0].spans;
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["invoke_agent run", "invoke_agent plan", "execute_tool (unnamed tool)", "chat gpt-x", "error"]
        );
        let chat = &spans[3];
        assert_eq!(chat.kind, otlp::KIND_CLIENT);
        assert_eq!(chat.parent_span_id, spans[0].span_id);
        assert!(spans[0].parent_span_id.is_empty());
        assert_eq!(chat.start_time_unix_nano, 6_001_000_000);
        let tokens = chat.attributes.iter().find(|a| a.key == "gen_ai.usage.input_tokens");
        assert_eq!(tokens.and_then(|a| a.value.as_ref()?.value.clone()), Some(any_value::Value::IntValue(1200)));
        assert_eq!(spans[4].status.as_ref().map(|s| s.code), Some(otlp::STATUS_ERROR));
    }

    #[test]
    fn a_big_session_is_split_under_its_resource() {
        let session = sample_session();
        let mut batcher = Batcher::new(BatchLimits { max_spans: 2, max_bytes: usize::MAX });
        let mut sent = Vec::new();
        batcher
            .add_session(&session, &options(), &mut |b| {
                sent.push(b);
                Ok::<_, ()>(())
            })
            .expect("no send error");
        sent.extend(batcher.finish());
        assert_eq!(sent.iter().map(|b| b.spans).collect::<Vec<_>>(), [2, 2, 1]);
        let mut ids = Vec::new();
        for batch in &sent {
            let request = decode(batch);
            assert_eq!(request.resource_spans.len(), 1);
            let rs = &request.resource_spans[0];
            assert!(rs.resource.as_ref().is_some_and(|r| r.attributes.iter().any(|a| a.key == "service.name")));
            ids.extend(rs.scope_spans[0].spans.iter().map(|s| s.span_id.clone()));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5, "every span once");
    }

    #[test]
    fn a_send_error_stops_the_session() {
        let session = sample_session();
        let mut batcher = Batcher::new(BatchLimits { max_spans: 1, max_bytes: usize::MAX });
        let mut calls = 0;
        let result = batcher.add_session(&session, &options(), &mut |_| {
            calls += 1;
            Err("refused")
        });
        assert_eq!(result.err(), Some("refused"));
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_byte_limit_cuts_batches_too() {
        let session = sample_session();
        let mut batcher = Batcher::new(BatchLimits { max_spans: 1000, max_bytes: 1 });
        let mut sent = Vec::new();
        batcher
            .add_session(&session, &options(), &mut |b| {
                sent.push(b);
                Ok::<_, ()>(())
            })
            .expect("no send error");
        sent.extend(batcher.finish());
        assert_eq!(sent.len(), 5, "a span alone when it is over the limit");
    }
}
