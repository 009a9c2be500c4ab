//! "Push to…" in the app: the dialog opens from the Export menu with the remembered endpoint,
//! the push runs off the UI thread against a tiny local OTLP/HTTP receiver, every span of the
//! session arrives with the typed header, and headers are saved only when asked.

#[path = "common/app.rs"]
mod app_support;
#[path = "common/otlp_server.rs"]
mod otlp_server;

use app_support::{fixture, opened_file, settle};
use egui_kittest::kittest::Queryable as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_server::OtlpServer;
use prost::Message as _;
use trace_inspector::app::{Command, Screen};

#[test]
fn the_open_session_is_pushed_from_the_dialog() {
    let server = OtlpServer::start(&[]);
    let mut h = opened_file(&fixture());
    let id = h.state().file.as_ref().map(|f| f.list.sessions[2].id.clone()).expect("a session");
    h.state_mut().command(Command::OpenSession(id.clone()));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Session);
    h.state_mut().state.push_endpoint = server.url.clone();

    // The menu opens the dialog with the endpoint last used.
    h.get_by_label("Export").click();
    h.run();
    h.get_by_label("Push to…").click();
    h.run();
    let dialog = h.state().push.clone().expect("the dialog is open");
    assert_eq!(dialog.endpoint, server.url);
    assert!(dialog.headers.is_empty() && !dialog.remember_headers);
    h.state_mut().push.as_mut().expect("dialog").headers = "X-Api-Key=k-123456\n".to_owned();
    h.run();
    h.get_by_label("Push").click();
    settle(&mut h);
    assert!(h.state().push.is_none(), "the dialog closes");
    assert!(h.state().error.is_none(), "{:?}", h.state().error);

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one batch for one session");
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/v1/traces"));
    assert_eq!(requests[0].header("x-api-key"), Some("k-123456"));
    let request = ExportTraceServiceRequest::decode(requests[0].body.as_slice()).expect("protobuf");
    let spans: usize = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
    let timed = h.state().session.as_ref().expect("session").session.timeline.spans.iter().filter(|s| s.timed).count();
    assert_eq!(spans, timed, "every timed span, once");
    assert!(
        h.state().toasts.iter().any(|t| t.text.starts_with(&format!("Pushed {spans} spans"))),
        "the app says so: {:?}",
        h.state().toasts.iter().map(|t| &t.text).collect::<Vec<_>>()
    );
    assert_eq!(h.state().state.push_endpoint, server.url, "the endpoint is remembered");
    assert_eq!(h.state().state.push_headers, None, "headers are not saved unless asked");
}

#[test]
fn headers_are_saved_only_when_ticked_and_a_refusal_hides_them() {
    let server = OtlpServer::start(&[(401, "bad key k-SECRET-999")]);
    let mut h = opened_file(&fixture());
    let id = h.state().file.as_ref().map(|f| f.list.sessions[0].id.clone()).expect("a session");
    h.state_mut().command(Command::OpenSession(id));
    settle(&mut h);
    h.state_mut().command(Command::PushTo {
        endpoint: server.url.clone(),
        headers: "Authorization=Bearer k-SECRET-999".to_owned(),
        remember_headers: true,
    });
    settle(&mut h);
    let error = h.state().error.clone().expect("the refusal is shown");
    assert!(error.contains("HTTP 401") && !error.contains("k-SECRET-999"), "{error}");
    let saved = h.state().state.push_headers.clone().expect("saved when ticked");
    assert_eq!(saved.0, "Authorization=Bearer k-SECRET-999");
    assert!(!format!("{:?}", h.state().state).contains("k-SECRET-999"), "not in Debug, so not in a log");

    // Reopened, the dialog has them back, ticked.
    h.state_mut().command(Command::Push);
    settle(&mut h);
    let dialog = h.state().push.clone().expect("the dialog");
    assert!(dialog.remember_headers && dialog.headers.contains("k-SECRET-999"));
}
