//! `push`: sessions sent to an OpenTelemetry backend over OTLP/HTTP (protobuf), one session in
//! memory at a time, with a progress bar on a terminal and a one-line summary.

use std::io::{self, IsTerminal as _, Write as _};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::export_cmd::{Selection, SessionChoice, load_content, report};
use crate::analysis::{self, Anchor};
use crate::export::external::ExportStats;
use crate::export::otlp::OtlpOptions;
use crate::export::otlp_proto::BatchLimits;
use crate::format::{format_bytes, format_count};
use crate::push::{self, Client, Pusher, Retry, Target};
use crate::terminal::one_line;

/// `push FILE [SESSION…] [--since DATE] [--until DATE] --endpoint URL [--header K=V]… [--content]`.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub choice: SessionChoice,
    /// The backend's OTLP/HTTP base URL; spans go to URL/v1/traces (e.g. http://127.0.0.1:6006).
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// A header for every request, e.g. "Authorization=Bearer KEY" (repeatable; never printed).
    // Parsed here, not by clap, whose errors repeat the argument.
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Include each trace's data, raw input and raw output (left out by default).
    #[arg(long)]
    pub content: bool,
    /// Spans in one request at most.
    #[arg(long, value_name = "N", default_value_t = BatchLimits::default().max_spans)]
    pub batch_spans: usize,
}

/// Runs `push`: everything it says goes to standard error (standard output stays empty).
pub(super) fn push_cmd(args: PushArgs) -> Result<()> {
    let PushArgs { choice: SessionChoice { file, sessions, since, until }, endpoint, headers, content, batch_spans } =
        args;
    let headers = headers.iter().map(|h| push::parse_header(h)).collect::<Result<Vec<_>, _>>()?;
    let target = Target::new(&endpoint, &headers)?;
    let shown = target.shown().to_owned();
    let store = super::open(&file)?;
    let mut selection = Selection::new(&store, &sessions, since.as_deref(), until.as_deref())?;
    let chosen = std::mem::take(&mut selection.chosen);

    let started = Instant::now();
    let limits = BatchLimits { max_spans: batch_spans.max(1), ..BatchLimits::default() };
    let mut pusher = Pusher::start(Client::new(target, Retry::default()), limits)?;
    let progress = pusher.progress();
    let bar = progress_bar(chosen.len() as u64);
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let service_name = file.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut total = ExportStats::default();
    for (id, row) in chosen {
        let data = store.load_session(&id, row)?;
        bar.inc(1);
        if !selection.in_range(&data.row) {
            continue;
        }
        let analyzed = analysis::analyze(data, Anchor::Auto);
        let content = content.then(|| load_content(&store, &analyzed));
        let options = OtlpOptions {
            service_name: &service_name,
            file_name: &file_name,
            content: content.as_ref().map(|(c, _)| c.as_slice()),
        };
        let exported = pusher.session(&analyzed, &options)?;
        let content_warnings = content.map(|(_, w)| w).unwrap_or_default();
        bar.suspend(|| report(&analyzed, &exported, &content_warnings));
        total.add(exported.stats);
        total.warnings += content_warnings.len() as u64;
        let sent = progress.spans_sent.load(Ordering::Relaxed);
        bar.set_message(format!("{} spans sent", format_count(i64::try_from(sent).unwrap_or(i64::MAX))));
        super::leave_to_os(analyzed);
    }
    let sent = pusher.finish();
    bar.finish_and_clear();
    let sent = sent?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { sent.spans as f64 / seconds } else { 0.0 };
    let count = |n: u64| format_count(i64::try_from(n).unwrap_or(i64::MAX));
    let mut notes = String::new();
    if total.skipped > 0 {
        notes.push_str(&format!(", {} left out (no readable time)", count(total.skipped)));
    }
    if sent.retries > 0 {
        notes.push_str(&format!(", {} retried requests", count(sent.retries)));
    }
    if sent.rejected > 0 {
        notes.push_str(&format!(", {} rejected by the backend", count(sent.rejected)));
    }
    for message in &sent.messages {
        super::warn(format_args!("{shown}: {message}"));
    }
    let _ = writeln!(
        io::stderr().lock(),
        "pushed {} sessions, {} spans, {} in {} requests in {:.2} s ({} spans/s){notes}, {} warnings to {}",
        count(total.sessions),
        count(sent.spans),
        format_bytes(sent.bytes),
        count(sent.requests),
        seconds,
        count(rate.round() as u64),
        count(total.warnings),
        one_line(&shown)
    );
    Ok(())
}

/// A bar over the sessions on a terminal; nothing at all when standard error is not one.
fn progress_bar(sessions: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(sessions), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} sessions, {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
