//! `push` through the binary against a tiny local OTLP/HTTP receiver: the bodies decode with
//! the OpenTelemetry protocol types into the same spans as the OTLP JSON export, with the
//! right counts, parents and sums per session; headers arrive; a 503 is retried; a refusal and
//! an unreachable endpoint end in exit 1 with one line that never shows a header's value.

#[path = "common/otlp_server.rs"]
mod otlp_server;

#[path = "common/analyzed.rs"]
mod analyzed;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use analyzed::sessions;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::{Span, TracesData};
use otlp_server::OtlpServer;
use prost::Message as _;
use trace_inspector::store::Store;

const SECRET: &str = "sk-test-Q9x7ZZ42";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn push(server_url: &str, more: &[&str]) -> (Output, String) {
    let f = fixture();
    let auth = format!("Authorization=Bearer {SECRET}");
    let mut args = vec!["push", f.to_str().expect("utf-8 path"), "--endpoint", server_url, "--header", &auth];
    args.extend_from_slice(more);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the key is never printed: {stderr}");
    assert!(out.stdout.is_empty(), "push writes nothing to standard output");
    (out, stderr)
}

fn attr<'s>(span: &'s Span, key: &str) -> Option<&'s Any> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn int_attr(span: &Span, key: &str) -> Option<i64> {
    match attr(span, key)? {
        Any::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn string_attr<'s>(span: &'s Span, key: &str) -> Option<&'s str> {
    match attr(span, key)? {
        Any::StringValue(s) => Some(s),
        _ => None,
    }
}

fn decode(body: &[u8]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(body).expect("an ExportTraceServiceRequest")
}

#[test]
fn spans_arrive_in_batches_as_the_json_export_maps_them() {
    let server = OtlpServer::start(&[]);
    let (out, stderr) = push(&server.url, &["--header", "X-Team=blue", "--batch-spans", "100"]);
    assert!(out.status.success(), "{stderr}");
    let requests = server.requests();
    let ours = sessions(&fixture());
    let expected_spans: usize = ours.iter().map(|s| s.timeline.spans.iter().filter(|sp| sp.timed).count()).sum();
    assert_eq!(requests.len(), expected_spans.div_ceil(100), "batches of 100 spans");
    assert!(stderr.contains(&format!("pushed 40 sessions, {} spans", fmt_count(expected_spans))), "{stderr}");
    assert!(stderr.contains(&format!("in {} requests", requests.len())), "{stderr}");

    let mut pushed: Vec<Span> = Vec::new();
    for r in &requests {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/traces"));
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(r.header("authorization"), Some(format!("Bearer {SECRET}").as_str()));
        assert_eq!(r.header("x-team"), Some("blue"));
        let request = decode(&r.body);
        let spans: usize = request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum();
        assert!(spans <= 100);
        for rs in request.resource_spans {
            let resource = rs.resource.expect("a resource");
            assert!(resource.attributes.iter().any(|a| a.key == "service.name"));
            for ss in rs.scope_spans {
                assert_eq!(ss.scope.map(|s| s.name).as_deref(), Some("trace-inspector"));
                pushed.extend(ss.spans);
            }
        }
    }

    // The same spans, field for field, as the OTLP JSON export read back with the same types.
    let json = run(&["export", fixture().to_str().expect("utf-8"), "--format", "otlp-json"]);
    assert!(json.status.success());
    let exported: Vec<Span> = String::from_utf8(json.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str::<TracesData>(line).expect("TracesData"))
        .flat_map(|d| d.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect();
    assert_eq!(pushed.len(), expected_spans);
    assert_eq!(exported.len(), pushed.len());
    // serde_json reads a decimal back to within one unit of the last place, protobuf carries
    // the bits: doubles are compared to 12 significant digits.
    let rounded = |spans: &[Span]| {
        let mut spans = spans.to_vec();
        for a in spans.iter_mut().flat_map(|s| &mut s.attributes) {
            if let Some(Any::DoubleValue(d)) = a.value.as_mut().and_then(|v| v.value.as_mut()) {
                *d = format!("{d:.11e}").parse().expect("a number");
            }
        }
        spans
    };
    let (pushed_r, exported_r) = (rounded(&pushed), rounded(&exported));
    if let Some((p, e)) = pushed_r.iter().zip(&exported_r).find(|(p, e)| p != e) {
        panic!("protobuf and JSON carry the same spans:\n{p:?}\n{e:?}");
    }

    // Per session: span count, parents inside the trace, token sums and models as our summary.
    let mut by_session: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
    for s in &pushed {
        by_session.entry(string_attr(s, "session.id").expect("session.id")).or_default().push(s);
    }
    assert_eq!(by_session.len(), ours.len());
    for session in &ours {
        let summary = &session.summary;
        let spans = &by_session[summary.session_id.as_str()];
        let timed = session.timeline.spans.iter().filter(|s| s.timed).count();
        assert_eq!(spans.len(), timed, "{}", summary.session_id);
        let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
        assert_eq!(ids.len(), spans.len(), "unique span ids");
        let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
        assert!(roots >= 1);
        for s in spans {
            assert!(s.parent_span_id.is_empty() || ids.contains(s.parent_span_id.as_slice()), "parent in the trace");
            assert_eq!(s.trace_id, spans[0].trace_id, "one trace per session");
        }
        let sum = |key: &str| spans.iter().filter_map(|s| int_attr(s, key)).sum::<i64>();
        assert_eq!(sum("gen_ai.usage.input_tokens"), summary.total_input_tokens);
        assert_eq!(sum("gen_ai.usage.output_tokens"), summary.total_output_tokens);
        let models: HashSet<&str> = spans.iter().filter_map(|s| string_attr(s, "llm.model_name")).collect();
        let theirs: HashSet<&str> = summary.models_used.iter().map(String::as_str).collect();
        assert_eq!(models, theirs);
    }
}

fn fmt_count(n: usize) -> String {
    trace_inspector::format::format_count(i64::try_from(n).expect("small"))
}

/// The first session's id prefix, to push one session only.
fn first_session() -> String {
    let store = Store::open(&fixture()).expect("open");
    store.list_sessions().expect("list").sessions.first().map(|s| s.id[..8].to_owned()).expect("a session")
}

#[test]
fn a_503_is_sent_again_and_then_accepted() {
    let server = OtlpServer::start(&[(503, "busy")]);
    let (out, stderr) = push(&server.url, &[&first_session()]);
    assert!(out.status.success(), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one refused, one accepted");
    assert_eq!(requests[0].body, requests[1].body, "the same batch again");
    assert!(stderr.contains("pushed 1 sessions") && stderr.contains("1 retried requests"), "{stderr}");
}

#[test]
fn a_refusal_is_one_line_and_exit_1_without_the_key() {
    // The server quotes the key back: the message masks it.
    let reply: &'static str = Box::leak(format!("invalid API key Bearer {SECRET}").into_boxed_str());
    let server = OtlpServer::start(&[(400, reply)]);
    let (out, stderr) = push(&server.url, &[]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr
            .starts_with(&format!("error: {}/v1/traces refused the spans: HTTP 400: invalid API key ***", server.url)),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_endpoint_is_exit_1() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (out, stderr) = push(&format!("http://127.0.0.1:{port}"), &[]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: http://127.0.0.1:{port}/v1/traces is unreachable")), "{stderr}");
}

#[test]
fn a_bad_header_names_itself_but_not_its_value() {
    let out = run(&["push", "x.db", "--endpoint", "http://127.0.0.1:1", "--header", SECRET]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("expected NAME=VALUE") && !stderr.contains(SECRET), "{stderr}");
}
