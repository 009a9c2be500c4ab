//! `export`: sessions as OTLP JSON (OpenTelemetry) or Chrome trace JSON (Perfetto), to a file
//! or standard output, one session in memory at a time.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};

use crate::analysis::{self, AnalyzedSession, Anchor};
use crate::export::chrome::ChromeWriter;
use crate::export::external::{ExportStats, Exported};
use crate::export::otlp::{self, EventContent, OtlpOptions};
use crate::model::{SessionRow, Warning};
use crate::store::Store;
use crate::terminal::one_line;
use crate::time::{self, Timestamp};

/// Formats of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OTLP JSON Lines (the OpenTelemetry file exporter's layout), one trace per session.
    OtlpJson,
    /// Chrome trace JSON, for Perfetto and chrome://tracing.
    Chrome,
}

/// `FILE [SESSION…] [--since DATE] [--until DATE]`: the sessions `export` and `push` work on.
#[derive(Debug, Args)]
pub struct SessionChoice {
    pub file: PathBuf,
    /// Sessions to take (ids or unique prefixes); all of the file when none is given.
    pub sessions: Vec<String>,
    /// Only sessions started at or after this time (a date is its day's start, UTC).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only sessions started before this time (a date includes its day).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

/// `export FILE [SESSION…] [--since DATE] [--until DATE] --format F [-o OUT] [--content]`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub choice: SessionChoice,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Include each trace's data, raw input and raw output (left out by default).
    #[arg(long)]
    pub content: bool,
}

/// A `--since`/`--until` value: a date (the day's start in UTC; for `--until` the next day's,
/// so the day is included) or any time the trace files use.
fn bound(flag: &str, text: &str, until: bool) -> Result<Timestamp> {
    let t = text.trim();
    let date_only = t.len() == 10 && t.as_bytes().get(4) == Some(&b'-');
    let full = if date_only { format!("{t}T00:00:00+00:00") } else { t.to_owned() };
    let parsed = match time::parse_text(&full) {
        Ok(p) => p.time,
        Err(e) => bail!("{flag} {}: {e}", one_line(text)),
    };
    const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;
    Ok(if until && date_only { Timestamp(parsed.0.saturating_add(NS_PER_DAY)) } else { parsed })
}

/// The sessions a command over many sessions works on: those named, or all of the file, within
/// `--since`/`--until`.
pub(super) struct Selection {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// Ids in order, each with its list row when the whole file was listed (the events are
    /// loaded one session at a time).
    pub chosen: Vec<(String, Option<SessionRow>)>,
}

impl Selection {
    /// Resolves the named sessions (ids or unique prefixes), or lists the file's.
    pub(super) fn new(store: &Store, sessions: &[String], since: Option<&str>, until: Option<&str>) -> Result<Self> {
        let since = since.map(|s| bound("--since", s, false)).transpose()?;
        let until = until.map(|s| bound("--until", s, true)).transpose()?;
        let mut selection = Selection { since, until, chosen: Vec::new() };
        if sessions.is_empty() {
            let list = store.list_sessions()?;
            super::report_warnings(&list.warnings);
            let chosen = list
                .sessions
                .into_iter()
                .filter(|row| selection.in_range(row))
                .map(|row| (row.id.clone(), Some(std::sync::Arc::unwrap_or_clone(row))))
                .collect();
            selection.chosen = chosen;
        } else {
            for query in sessions {
                let id = store.resolve_session(query)?;
                if !selection.chosen.iter().any(|(known, _)| *known == id) {
                    selection.chosen.push((id, None));
                }
            }
        }
        Ok(selection)
    }

    /// Whether a session started within `--since`/`--until` (any session when neither is given).
    pub(super) fn in_range(&self, row: &SessionRow) -> bool {
        let (since, until) = (self.since, self.until);
        (since.is_none() && until.is_none())
            || row.started.is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u))
    }
}

/// Runs `export`, writing to `stdout` unless `-o` names a file.
pub(super) fn export_cmd(args: ExportArgs, stdout: &mut dyn io::Write) -> Result<()> {
    let ExportArgs { choice: SessionChoice { file, sessions, since, until }, format, output, content } = args;
    let store = super::open(&file)?;
    let mut selection = Selection::new(&store, &sessions, since.as_deref(), until.as_deref())?;

    let mut file_out = match &output {
        Some(path) => Some(BufWriter::with_capacity(
            256 * 1024,
            File::create(path).with_context(|| format!("{}: cannot create", path.display()))?,
        )),
        None => None,
    };
    let out: &mut dyn io::Write = match &mut file_out {
        Some(f) => f,
        None => stdout,
    };
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let service_name = file.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut chrome = match format {
        ExportFormat::Chrome => Some(ChromeWriter::begin(out)?),
        ExportFormat::OtlpJson => None,
    };
    let mut total = ExportStats::default();
    for (id, row) in std::mem::take(&mut selection.chosen) {
        let data = store.load_session(&id, row)?;
        if !selection.in_range(&data.row) {
            continue;
        }
        let analyzed = analysis::analyze(data, Anchor::Auto);
        let content = content.then(|| load_content(&store, &analyzed));
        let exported = match &mut chrome {
            Some(writer) => writer.session(&analyzed, out)?,
            None => {
                let options = OtlpOptions {
                    service_name: &service_name,
                    file_name: &file_name,
                    content: content.as_ref().map(|(c, _)| c.as_slice()),
                };
                otlp::write_session(&analyzed, &options, out)?
            }
        };
        let content_warnings = content.map(|(_, w)| w).unwrap_or_default();
        report(&analyzed, &exported, &content_warnings);
        total.add(exported.stats);
        total.warnings += content_warnings.len() as u64;
    }
    if let Some(writer) = chrome {
        writer.finish(out)?;
    }
    if let Some(f) = file_out {
        f.into_inner().map_err(io::IntoInnerError::into_error).and_then(|mut f| f.flush()).with_context(|| {
            format!("{}: cannot write", output.as_deref().map_or_else(String::new, |p| p.display().to_string()))
        })?;
    }
    let to = output.as_deref().map_or_else(|| "standard output".to_owned(), |p: &Path| p.display().to_string());
    let left_out =
        if total.skipped > 0 { format!(" ({} left out: no readable time)", total.skipped) } else { String::new() };
    let _ = writeln!(
        io::stderr().lock(),
        "exported {} sessions, {} spans{left_out}, {} warnings to {}",
        total.sessions,
        total.spans,
        total.warnings,
        one_line(&to)
    );
    Ok(())
}

/// Each event's data, raw input and raw output, read trace by trace; a trace that cannot be
/// read is a warning and exports without its content.
pub(super) fn load_content(store: &Store, session: &AnalyzedSession) -> (Vec<EventContent>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let content = session
        .data
        .events
        .iter()
        .map(|e| {
            let detail = match e.rowid.get() {
                Some(rowid) => store.trace_detail_by_row(rowid, &e.id.as_str()),
                None => store.trace_detail(&e.id.as_str()),
            };
            match detail {
                Ok(detail) => {
                    let text = |name: &str| detail.field(name).and_then(|f| f.value.clone());
                    EventContent { data: text("data"), raw_input: text("raw_input"), raw_output: text("raw_output") }
                }
                Err(err) => {
                    warnings.push(Warning::trace(&e.id, format!("content not exported: {err}")));
                    EventContent::default()
                }
            }
        })
        .collect();
    (content, warnings)
}

/// The session's warnings on standard error, each naming the session.
pub(super) fn report(session: &AnalyzedSession, exported: &Exported, more: &[Warning]) {
    let sid = crate::ids::shown(&session.data.row.id);
    for w in session.warnings().chain(&exported.warnings).chain(more) {
        match &w.trace_id {
            Some(id) => super::warn(format_args!("session {sid}: trace {id}: {}", w.message)),
            None => super::warn(format_args!("session {sid}: {}", w.message)),
        }
    }
}
