//! Sessions sent to an OpenTelemetry backend (Phoenix, Jaeger, Tempo, Langfuse, a collector)
//! over OTLP/HTTP: protobuf `ExportTraceServiceRequest`s ([`crate::export::otlp_proto`])
//! posted to `{endpoint}/v1/traces`, one batch in flight while the next is built.
//!
//! A batch that meets 429, a 5xx or a dropped connection is sent again after a growing pause
//! (or the server's `Retry-After`), a few times; any other refusal, or an endpoint that cannot
//! be reached at all, ends the push with one error. Header values (API keys) are never shown:
//! not in errors, not in `Debug`, and a server reply that quotes one has it masked.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use ureq::http::{HeaderName, HeaderValue, Uri};

use crate::analysis::AnalyzedSession;
use crate::export::external::Exported;
use crate::export::otlp::OtlpOptions;
use crate::export::otlp_proto::{Batch, BatchLimits, Batcher};

/// Why a push stopped.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("--endpoint: not an http:// or https:// URL with a host")]
    BadEndpoint,
    /// A header given by the user: its name (never its value) and what is wrong.
    #[error("--header {name}: {problem}")]
    BadHeader { name: String, problem: &'static str },
    /// The server answered with a status that sending again will not change.
    #[error("{url} refused the spans: HTTP {status}{reply}")]
    Refused { url: String, status: u16, reply: String },
    #[error("{url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} still failing after {tries} tries: {last}")]
    GaveUp { url: String, tries: u32, last: String },
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("push cancelled")]
    Cancelled,
    #[error("push stopped: the sending thread ended")]
    SenderLost,
}

/// Where spans go: the full URL of the traces endpoint and the headers to send.
#[derive(Clone)]
pub struct Target {
    url: String,
    shown: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Texts to mask in whatever a server replies (the header values and their words).
    secrets: Vec<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Target").field("url", &self.shown).field("headers", &names).finish_non_exhaustive()
    }
}

impl Target {
    /// The traces endpoint under `endpoint` (`{endpoint}/v1/traces`, unless it already ends so)
    /// with `headers` as (name, value) pairs.
    ///
    /// # Errors
    /// An endpoint that is not an http(s) URL with a host; a header name or value HTTP forbids.
    pub fn new(endpoint: &str, headers: &[(String, String)]) -> Result<Target, PushError> {
        let endpoint = endpoint.trim();
        let endpoint = endpoint.split_once('#').map_or(endpoint, |(url, _)| url);
        let (base, query) = endpoint.split_once('?').map_or((endpoint, None), |(b, q)| (b, Some(q)));
        let base = base.trim_end_matches('/');
        let path = if base.ends_with("/v1/traces") { "" } else { "/v1/traces" };
        let url = match query {
            Some(q) => format!("{base}{path}?{q}"),
            None => format!("{base}{path}"),
        };
        let uri: Uri = url.parse().map_err(|_| PushError::BadEndpoint)?;
        let scheme = uri.scheme_str().filter(|s| matches!(*s, "http" | "https")).ok_or(PushError::BadEndpoint)?;
        let host = uri.host().filter(|h| !h.is_empty()).ok_or(PushError::BadEndpoint)?;
        // Shown in messages: no user name, password or query, which may carry credentials.
        let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        let shown = format!("{scheme}://{host}{port}{}", uri.path());
        let mut parsed = Vec::with_capacity(headers.len());
        let mut secrets = Vec::new();
        for (name, value) in headers {
            let shown_name = crate::terminal::one_line(name).into_owned();
            let header_name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| PushError::BadHeader { name: shown_name.clone(), problem: "not a valid header name" })?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| PushError::BadHeader {
                name: shown_name,
                problem: "the value is not a valid header value (it is not shown)",
            })?;
            header_value.set_sensitive(true);
            parsed.push((header_name, header_value));
            secrets.push(value.clone());
            secrets.extend(value.split([' ', ':', ',', '=']).filter(|w| w.len() >= 4).map(str::to_owned));
        }
        // Longest first, so a value is masked whole before its words are.
        secrets.retain(|s| s.len() >= 3);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(Target { url, shown, headers: parsed, secrets })
    }

    /// The URL as messages show it (without credentials or query).
    #[must_use]
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with every header value masked.
    #[must_use]
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

/// Splits a `--header` argument `NAME=VALUE` (or `NAME: VALUE`).
///
/// # Errors
/// When there is no `=` nor `:`; the message shows the name only.
pub fn parse_header(text: &str) -> Result<(String, String), PushError> {
    let cut = text.find(['=', ':']).ok_or_else(|| PushError::BadHeader {
        name: "(unnamed)".to_owned(),
        problem: "expected NAME=VALUE (the argument is not shown)",
    })?;
    let (name, value) = (text.get(..cut).unwrap_or(""), text.get(cut + 1..).unwrap_or(""));
    Ok((name.trim().to_owned(), value.trim_start().to_owned()))
}

/// How often and how patiently a batch is sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Tries of one batch in all (the first one included).
    pub tries: u32,
    /// The pause after the first failure; it doubles after each.
    pub first_delay: Duration,
    /// The longest pause, also for a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Eight tries, pausing 0.5, 1, 2, 4, 8, 16 and 30 s: a backend whose ingest queue is
    /// full answers 503 until it has stored enough (Phoenix on 2 busy cores stores under 100
    /// spans/s, a batch is 2,000), so it gets about a minute per batch to make room.
    fn default() -> Self {
        Retry { tries: 8, first_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

/// Counters of a push, updated by the sending thread as it goes.
#[derive(Debug, Default)]
pub struct Progress {
    pub spans_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    cancel: Arc<AtomicBool>,
}

impl Progress {
    /// Asks the push to stop: no batch is sent or retried after this.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// What the backend accepted, over the whole push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub spans: u64,
    pub bytes: u64,
    pub requests: u64,
    pub retries: u64,
    /// Spans the backend said it rejected (OTLP partial success).
    pub rejected: u64,
    /// The backend's words about them, masked, at most a few.
    pub messages: Vec<String>,
}

/// Sends request bodies to a [`Target`], retrying as [`Retry`] says.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    target: Target,
    retry: Retry,
}

/// How one try went.
enum Attempt {
    Accepted { rejected: u64, message: String },
    Again { reason: String, after: Option<Duration> },
    Fatal(PushError),
}

impl Client {
    #[must_use]
    pub fn new(target: Target, retry: Retry) -> Client {
        let config = ureq::Agent::config_builder()
            // Statuses are answers to read, not errors; a redirect would turn the POST into a
            // GET or resend the body elsewhere, so it is an answer too.
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            // Servers close idle connections after a few seconds; a fresh one beats a reset.
            .max_idle_age(Duration::from_secs(4))
            .user_agent(concat!("trace-inspector/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent: ureq::Agent::new_with_config(config), target, retry }
    }

    /// Sends one body, again after 429, 5xx and dropped connections.
    ///
    /// # Errors
    /// A refusal, an unreachable endpoint, too many failed tries, or cancellation.
    pub fn send(&self, body: &[u8], progress: &Progress) -> Result<(u64, String), PushError> {
        let mut delay = self.retry.first_delay;
        let mut tries = 0;
        loop {
            if progress.is_cancelled() {
                return Err(PushError::Cancelled);
            }
            tries += 1;
            let reached_before = progress.requests.load(Ordering::Relaxed) > 0;
            match self.post(body, reached_before) {
                Attempt::Accepted { rejected, message } => {
                    progress.requests.fetch_add(1, Ordering::Relaxed);
                    return Ok((rejected, message));
                }
                Attempt::Fatal(err) => return Err(err),
                Attempt::Again { reason, after } => {
                    if tries >= self.retry.tries {
                        return Err(PushError::GaveUp { url: self.target.shown.clone(), tries, last: reason });
                    }
                    log::info!("{}: {reason}; trying again", self.target.shown);
                    progress.retries.fetch_add(1, Ordering::Relaxed);
                    pause(after.unwrap_or(delay).min(self.retry.max_delay), progress);
                    delay = delay.saturating_mul(2).min(self.retry.max_delay);
                }
            }
        }
    }

    fn post(&self, body: &[u8], reached_before: bool) -> Attempt {
        let url = || self.target.shown.clone();
        let mut request = self.agent.post(&self.target.url).content_type("application/x-protobuf");
        for (name, value) in &self.target.headers {
            request = request.header(name.clone(), value.clone());
        }
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(err) => return self.failed(err, reached_before),
        };
        let status = response.status().as_u16();
        let after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let protobuf = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-protobuf"));
        // An unread reply would spoil the connection for the next request; a short one is read.
        let reply = response.body_mut().with_config().limit(64 * 1024).read_to_vec().unwrap_or_default();
        match status {
            200..=299 => {
                let partial = if protobuf {
                    ExportTraceServiceResponse::decode(reply.as_slice()).ok().and_then(|r| r.partial_success)
                } else {
                    None
                };
                let (rejected, message) = partial
                    .map(|p| (u64::try_from(p.rejected_spans).unwrap_or(0), self.target.mask(&p.error_message)))
                    .unwrap_or_default();
                Attempt::Accepted { rejected, message }
            }
            429 | 500..=599 => Attempt::Again { reason: format!("HTTP {status}"), after },
            _ => Attempt::Fatal(PushError::Refused { url: url(), status, reply: self.excerpt(&reply) }),
        }
    }

    /// A failure without an answer: a dropped connection or a timeout is tried again; no
    /// connection at all is the end, unless the endpoint answered earlier in this push.
    fn failed(&self, err: ureq::Error, reached_before: bool) -> Attempt {
        let url = self.target.shown.clone();
        let reason = self.target.mask(&err.to_string());
        match err {
            ureq::Error::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused | io::ErrorKind::AddrNotAvailable if !reached_before => {
                    Attempt::Fatal(PushError::Unreachable { url, reason: e.to_string() })
                }
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Attempt::Again { reason, after: None },
                _ => Attempt::Fatal(PushError::Unreachable { url, reason }),
            },
            ureq::Error::Timeout(_) | ureq::Error::Protocol(_) => Attempt::Again { reason, after: None },
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
                Attempt::Fatal(PushError::Unreachable { url, reason })
            }
            _ => Attempt::Fatal(PushError::Failed { url, reason }),
        }
    }

    /// A few words of a refusal's reply, masked: ": text" or nothing.
    fn excerpt(&self, reply: &[u8]) -> String {
        let Ok(text) = std::str::from_utf8(reply) else {
            return format!(" ({} bytes of reply)", reply.len());
        };
        let text = text.trim();
        if text.is_empty() {
            return String::new();
        }
        let mut cut: String = text.chars().take(200).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        format!(": {}", self.target.mask(&cut))
    }
}

/// Sleeps `total`, waking early when the push is cancelled.
fn pause(total: Duration, progress: &Progress) {
    let step = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() && !progress.is_cancelled() {
        let now = left.min(step);
        std::thread::sleep(now);
        left = left.saturating_sub(now);
    }
}

/// A push in progress: sessions are added one at a time, batches go out on a sending thread
/// (one queued while one is in flight, so reading and sending overlap and memory stays bounded).
pub struct Pusher {
    batcher: Batcher,
    queue: Option<SyncSender<Batch>>,
    sender: Option<JoinHandle<Result<Sent, PushError>>>,
    progress: Arc<Progress>,
}

impl Pusher {
    /// Starts the sending thread.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(client: Client, limits: BatchLimits) -> Result<Pusher, PushError> {
        Pusher::start_cancellable(client, limits, Arc::new(AtomicBool::new(false)))
    }

    /// Starts the sending thread, which stops sending and retrying once `cancel` is set.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start_cancellable(
        client: Client,
        limits: BatchLimits,
        cancel: Arc<AtomicBool>,
    ) -> Result<Pusher, PushError> {
        let progress = Arc::new(Progress { cancel, ..Progress::default() });
        let (queue, batches) = mpsc::sync_channel::<Batch>(1);
        let shared = Arc::clone(&progress);
        let sender = std::thread::Builder::new()
            .name("push sender".to_owned())
            .spawn(move || send_all(&client, &batches, &shared))
            .map_err(|e| PushError::Failed { url: String::new(), reason: format!("cannot start a thread: {e}") })?;
        Ok(Pusher { batcher: Batcher::new(limits), queue: Some(queue), sender: Some(sender), progress })
    }

    /// The counters the sending thread updates.
    #[must_use]
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// Adds a session; full batches are queued for sending as they fill.
    ///
    /// # Errors
    /// The error that stopped the sending thread.
    pub fn session(&mut self, session: &AnalyzedSession, options: &OtlpOptions<'_>) -> Result<Exported, PushError> {
        let Some(queue) = &self.queue else { return Err(self.stopped()) };
        match self.batcher.add_session(session, options, &mut |batch| queue.send(batch)) {
            Ok(exported) => Ok(exported),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Sends what is left and waits for the sending thread.
    ///
    /// # Errors
    /// The error that stopped the sending thread.
    pub fn finish(mut self) -> Result<Sent, PushError> {
        let batcher = std::mem::take(&mut self.batcher);
        if let (Some(queue), Some(batch)) = (self.queue.take(), batcher.finish()) {
            // A closed queue means the sender stopped: its error is what joining gives.
            let _ = queue.send(batch);
        }
        self.join()
    }

    /// The sending thread's error, once it has stopped.
    fn stopped(&mut self) -> PushError {
        self.queue = None;
        match self.join() {
            Err(err) => err,
            Ok(_) => PushError::SenderLost,
        }
    }

    fn join(&mut self) -> Result<Sent, PushError> {
        self.queue = None;
        match self.sender.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) | None => Err(PushError::SenderLost),
        }
    }
}

impl Drop for Pusher {
    /// A push dropped unfinished sends nothing more.
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.progress.cancel();
            let _ = self.join();
        }
    }
}

fn send_all(client: &Client, batches: &Receiver<Batch>, progress: &Progress) -> Result<Sent, PushError> {
    let mut sent = Sent::default();
    for batch in batches {
        let (rejected, message) = client.send(&batch.body, progress)?;
        sent.spans += batch.spans;
        sent.bytes += batch.body.len() as u64;
        sent.rejected += rejected;
        if !message.is_empty() && sent.messages.len() < 3 {
            sent.messages.push(message);
        }
        progress.spans_sent.fetch_add(batch.spans, Ordering::Relaxed);
        progress.bytes_sent.fetch_add(batch.body.len() as u64, Ordering::Relaxed);
    }
    sent.requests = progress.requests.load(Ordering::Relaxed);
    sent.retries = progress.retries.load(Ordering::Relaxed);
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_gets_the_traces_path_once() {
        let t = Target::new("http://127.0.0.1:6006/", &[]).expect("valid");
        assert_eq!(t.url, "http://127.0.0.1:6006/v1/traces");
        let t = Target::new("https://host.example/api/public/otel/v1/traces", &[]).expect("valid");
        assert_eq!(t.url, "https://host.example/api/public/otel/v1/traces");
        assert!(matches!(Target::new("ftp://host/", &[]), Err(PushError::BadEndpoint)));
        assert!(matches!(Target::new("not a url", &[]), Err(PushError::BadEndpoint)));
    }

    #[test]
    fn credentials_in_the_url_are_not_shown() {
        let t = Target::new("https://user:hunter22@host.example:8443/otel?key=abc123", &[]).expect("valid");
        assert_eq!(t.shown(), "https://host.example:8443/otel/v1/traces");
        assert_eq!(t.url, "https://user:hunter22@host.example:8443/otel/v1/traces?key=abc123");
    }

    #[test]
    fn header_values_never_show() {
        let headers = [("Authorization".to_owned(), "Bearer sk-secret-4242".to_owned())];
        let t = Target::new("http://localhost:1", &headers).expect("valid");
        let debug = format!("{t:?}");
        assert!(!debug.contains("sk-secret-4242"), "{debug}");
        assert!(debug.contains("authorization"), "{debug}");
        assert_eq!(t.mask("bad key Bearer sk-secret-4242!"), "bad key ***!");
        assert_eq!(t.mask("bad key sk-secret-4242"), "bad key ***");
        let bad = Target::new("http://localhost:1", &[("X-Key".to_owned(), "line\nbreak-secret".to_owned())]);
        let message = bad.expect_err("a newline is no header value").to_string();
        assert!(message.contains("X-Key") && !message.contains("break-secret"), "{message}");
    }

    #[test]
    fn headers_split_at_the_first_separator() {
        assert_eq!(
            parse_header("Authorization=Basic YWI6Y2Q=").expect("valid"),
            ("Authorization".to_owned(), "Basic YWI6Y2Q=".to_owned())
        );
        assert_eq!(parse_header("api_key: abc").expect("valid"), ("api_key".to_owned(), "abc".to_owned()));
        let err = parse_header("secretvalue").expect_err("no separator").to_string();
        assert!(!err.contains("secretvalue"), "{err}");
    }
}
