//! The command line: the headless subcommands over the same core as the app.
//!
//! Output goes to stdout; a failure is one `error:` line on stderr and exit code 1 (clap
//! reports usage errors with exit code 2). Everything written to stdout passes through one
//! [`TerminalWriter`], so no text from a file can act on the terminal; `warning:` lines are
//! escaped to one line each.

use std::io::{self, BufWriter, Write as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis::sessions::{self, SessionKey, SessionSort};
use crate::analysis::slow::SlowRule;
use crate::analysis::{self, Anchor, SlowIndex};
use crate::demo::{self, DemoConfig};
use crate::export::{Export as _, json, markdown, text};
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::ids;
use crate::model::{ModelUsage, SearchQuery, SessionRow, Warning};
use crate::store::{CacheUse, ListCache, Refresh, Store};
use crate::terminal::{self, TerminalWriter, one_line};
use crate::writer;

mod diagnose;
mod export_cmd;
mod push_cmd;
mod stats;

/// Desktop viewer and CLI for AI agent trace databases (`agent_traces.db`).
#[derive(Debug, Parser)]
#[command(name = "trace-inspector", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub open: OpenArgs,
}

/// Arguments that open the desktop app.
#[derive(Debug, Default, Args)]
pub struct OpenArgs {
    /// Trace database to open in the app.
    pub file: Option<PathBuf>,
    /// Open this session straight away (id or unique prefix).
    #[arg(long, requires = "file")]
    pub session: Option<String>,
    /// Open the app on a freshly generated demo database.
    #[arg(long, conflicts_with = "file")]
    pub demo: bool,
}

/// Sort keys of the session list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    #[default]
    Started,
    Duration,
    Events,
    Tokens,
    Cost,
    Errors,
}

impl From<SortKey> for SessionKey {
    fn from(key: SortKey) -> SessionKey {
        match key {
            SortKey::Started => SessionKey::Started,
            SortKey::Duration => SessionKey::Duration,
            SortKey::Events => SessionKey::Events,
            SortKey::Tokens => SessionKey::Tokens,
            SortKey::Cost => SessionKey::Cost,
            SortKey::Errors => SessionKey::Errors,
        }
    }
}

/// `--anchor`: what a stored timestamp marks for an event with a duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AnchorArg {
    /// Decide from the data.
    #[default]
    Auto,
    /// The timestamp is when the work started.
    Start,
    /// The timestamp is when the work ended.
    End,
}

impl From<AnchorArg> for Anchor {
    fn from(anchor: AnchorArg) -> Anchor {
        match anchor {
            AnchorArg::Auto => Anchor::Auto,
            AnchorArg::Start => Anchor::Start,
            AnchorArg::End => Anchor::End,
        }
    }
}

/// Headless subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List sessions with their aggregates (newest first).
    Sessions {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t)]
        sort: SortKey,
        /// Ascending order (default: descending).
        #[arg(long)]
        asc: bool,
        #[arg(long)]
        limit: Option<usize>,
        /// Read the file in full, without the list cache (neither read nor written).
        #[arg(long)]
        no_cache: bool,
    },
    /// Calls, tokens and cost per model across the whole file (costliest first).
    Models {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Read the file in full, without the list cache (neither read nor written).
        #[arg(long)]
        no_cache: bool,
    },
    /// Summary of one session: totals, models, tools, slowest calls, errors.
    Summary {
        file: PathBuf,
        session: String,
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        #[arg(long)]
        markdown: bool,
    },
    /// Spans of one session in time order.
    Timeline {
        file: PathBuf,
        session: String,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t)]
        anchor: AnchorArg,
    },
    /// The parent/child tree of one session.
    Tree {
        file: PathBuf,
        session: String,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t)]
        anchor: AnchorArg,
    },
    /// Traces whose type, data, raw input or raw output contain TEXT.
    Search {
        file: PathBuf,
        text: String,
        #[arg(long)]
        session: Option<String>,
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every column of one trace, raw input and output included.
    Show {
        file: PathBuf,
        trace_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Compare two runs: what changed between session A (the reference) and session B.
    Compare(CompareArgs),
    /// The critical path of one session: the chain of spans that set its wall time.
    CriticalPath {
        file: PathBuf,
        session: String,
        #[arg(long)]
        json: bool,
    },
    /// Loops and retries in one session, or the top looping tools and tasks of the file.
    Loops {
        file: PathBuf,
        session: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Input tokens per LLM call across one session: growth, peak, window share, drops.
    Context {
        file: PathBuf,
        session: String,
        #[arg(long)]
        json: bool,
        /// A model's context window in tokens, over the built-in table (repeatable).
        #[arg(long = "window", value_name = "MODEL=TOKENS")]
        windows: Vec<String>,
    },
    /// Idle stretches of one session, and whether a running one has gone quiet.
    Stalls {
        file: PathBuf,
        session: String,
        #[arg(long)]
        json: bool,
        /// A stall is idle longer than this many seconds …
        #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = non_negative)]
        min_idle: f64,
        /// … and than this percentage of the session's wall time.
        #[arg(long, value_name = "PERCENT", default_value_t = 10.0, value_parser = percent)]
        min_share: f64,
    },
    /// Across runs, per hour, day or week: sessions by outcome, cost and tokens by model,
    /// errors, per-tool p50/p95, and what rose in the last bucket against the earlier ones.
    Stats {
        file: PathBuf,
        /// Bucket width (default: from the span of the data: hour under 3 days, day under 90).
        #[arg(long, value_enum)]
        by: Option<stats::BucketArg>,
        /// From this date or hour (UTC, inclusive): 2026-11-20 or 2026-11-20T09.
        #[arg(long)]
        since: Option<String>,
        /// Up to this date (UTC, inclusive) or hour (exclusive).
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        json: bool,
        /// Print only the regressions (text output).
        #[arg(long)]
        regressions: bool,
        /// A figure rose when it grew by more than this percentage.
        #[arg(long, default_value_t = 20.0)]
        threshold: f64,
        /// Group tasks with numbers and ids stripped, for the regressions.
        #[arg(long)]
        normalize: bool,
    },
    /// Sessions grouped by task: runs, success rate, duration and cost percentiles, costliest first.
    Tasks {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Group task texts with numbers, dates and ids stripped.
        #[arg(long)]
        normalize: bool,
    },
    /// Export sessions for other tools: OTLP JSON (OpenTelemetry) or Chrome trace JSON (Perfetto).
    Export(export_cmd::ExportArgs),
    /// Send sessions to an OpenTelemetry backend (Phoenix, Jaeger, Tempo, Langfuse) over OTLP/HTTP.
    Push(push_cmd::PushArgs),
    /// Write a demo database of realistic agent runs.
    Demo {
        out: PathBuf,
        #[arg(long, default_value_t = 40)]
        sessions: usize,
        #[arg(long)]
        events_per_session: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// `compare`: session A (the reference) and session B, of one file or of two.
#[derive(Debug, Args)]
#[command(
    override_usage = "trace-inspector compare FILE A B [--json | --markdown]\n       trace-inspector compare FILE_A A --with FILE_B B [--json | --markdown]"
)]
pub struct CompareArgs {
    /// The file holding session A (and B, unless --with names another file).
    pub file: PathBuf,
    /// Session A, the reference run: an id or a unique prefix.
    pub a: String,
    /// Session B, the run to explain, in the same file: an id or a unique prefix.
    #[arg(required_unless_present = "with", conflicts_with = "with")]
    pub b: Option<String>,
    /// Session B from another file.
    #[arg(long, num_args = 2, value_names = ["FILE_B", "B"])]
    pub with: Option<Vec<String>>,
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    #[arg(long)]
    pub markdown: bool,
    /// Slower or faster: a pair's durations differ by at least this many milliseconds …
    #[arg(long, default_value_t = 100.0)]
    pub min_ms: f64,
    /// … and by at least this percentage of A's duration.
    #[arg(long, default_value_t = 10.0)]
    pub min_percent: f64,
    /// How many of the biggest changes to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

impl Command {
    /// How stdout is escaped: JSON documents keep exact strings (`\uXXXX`), the rest is text.
    fn output_mode(&self) -> terminal::Mode {
        let json = match self {
            Command::Sessions { json, .. }
            | Command::Models { json, .. }
            | Command::Summary { json, .. }
            | Command::Timeline { json, .. }
            | Command::Tree { json, .. }
            | Command::Search { json, .. }
            | Command::Show { json, .. } => *json,
            Command::Compare(args) => args.json,
            Command::CriticalPath { json, .. }
            | Command::Loops { json, .. }
            | Command::Context { json, .. }
            | Command::Stalls { json, .. }
            | Command::Stats { json, .. }
            | Command::Tasks { json, .. } => *json,
            Command::Export(_) => true,
            Command::Push(_) | Command::Demo { .. } => false,
        };
        if json { terminal::Mode::Json } else { terminal::Mode::Text }
    }
}

/// Runs a subcommand, writing to stdout.
///
/// # Errors
/// Any failure, as one line for `error:`.
pub fn run(command: Command) -> Result<()> {
    let mode = command.output_mode();
    let stdout = io::stdout();
    // The outer buffer turns serde's many small writes into large blocks, which the escaper
    // scans quickly; the inner one keeps the runs between escapes from each becoming a
    // system call.
    let mut out = BufWriter::with_capacity(64 * 1024, TerminalWriter::new(BufWriter::new(stdout.lock()), mode));
    let result = run_with(command, &mut out);
    // A closed pipe (`| head`) is not an error worth reporting.
    if result.as_ref().is_err_and(is_broken_pipe) {
        return Ok(());
    }
    let finished = out
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .and_then(TerminalWriter::finish)
        .and_then(|mut inner| inner.flush());
    match finished {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
        Ok(()) => result,
    }
}

/// The reader of our output went away.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Writes warnings to standard error, one `warning:` line each, whatever the output format:
/// standard output stays the table or the JSON document. Every warning is written.
fn report_warnings<'a>(warnings: impl IntoIterator<Item = &'a Warning>) {
    for w in warnings {
        match &w.trace_id {
            Some(id) => warn(format_args!("trace {id}: {}", w.message)),
            None => warn(&w.message),
        }
    }
}

/// One `warning:` line on standard error, escaped to one line: its text comes from the file.
/// A closed standard error must not turn a good answer into a failure (`eprintln!` would
/// panic), so a failed write is ignored.
fn warn(message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "warning: {}", one_line(&message.to_string()));
}

fn open(file: &Path) -> Result<Store> {
    Ok(Store::open(file)?)
}

/// Leaves a loaded session to the OS: the process exits right after a subcommand, and freeing
/// a few hundred thousand small allocations one by one is wasted time.
fn leave_to_os<T>(value: T) {
    std::mem::forget(value);
}

fn run_with(command: Command, out: &mut dyn io::Write) -> Result<()> {
    match command {
        Command::Sessions { file, json, sort, asc, limit, no_cache } => {
            let store = open(&file)?;
            let (list, live) = match cached_list(&store, no_cache)? {
                Some(list) => (list, None),
                None => match cached(&store, no_cache)? {
                    Some(mut live) => (live.take_list(), Some(live)),
                    None => (store.list_sessions()?, None),
                },
            };
            leave_to_os(live);
            let mut sessions = list.sessions;
            let sort = SessionSort { key: sort.into(), ascending: asc };
            sessions.sort_by(|a, b| sessions::compare(a, b, sort, &|_| 0, &|_| None));
            if let Some(n) = limit {
                leave_to_os(sessions.split_off(n.min(sessions.len())));
            }
            if json {
                serde_json::to_writer_pretty(&mut *out, &sessions)?;
                writeln!(out)?;
            } else {
                write_sessions_table(out, &sessions)?;
            }
            leave_to_os(sessions);
            report_warnings(&list.warnings);
        }
        Command::Models { file, json, no_cache } => {
            let store = open(&file)?;
            let models = match cached(&store, no_cache)? {
                Some(live) => live.models(),
                None => store.model_usage()?,
            };
            if json {
                serde_json::to_writer_pretty(&mut *out, &models)?;
                writeln!(out)?;
            } else {
                write_models_table(out, &models)?;
            }
        }
        Command::Summary { file, session, json, markdown: _ } => {
            let analyzed = load(&file, &session, Anchor::Auto)?;
            if json {
                writeln!(out, "{}", json::SummaryJson.export(&analyzed))?;
            } else {
                // The file's p95s mark the slow calls, as in the app (no threshold here).
                let index = SlowIndex::from_durations(&open(&file)?.tool_durations()?);
                let slow_rule = SlowRule { index: Some(&index), threshold_ms: None };
                write!(out, "{}", markdown::SummaryMarkdown { slow_rule }.export(&analyzed))?;
                // A running session that has gone quiet says so (as of now).
                if let Some(stall) = diagnose::now().and_then(|now| analysis::stalls::session_stall(&analyzed, now)) {
                    writeln!(out, "\n**Running and {}**", crate::format::format_running_stall(&stall))?;
                }
            }
            report_warnings(analyzed.warnings());
            leave_to_os(analyzed);
        }
        Command::Timeline { file, session, json, anchor } => {
            let analyzed = load(&file, &session, anchor.into())?;
            if json {
                let started = std::time::Instant::now();
                json::write_spans(&analyzed, out)?;
                writeln!(out)?;
                log::debug!("spans written in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
            } else {
                write!(out, "{}", text::TimelineText.export(&analyzed))?;
            }
            report_warnings(analyzed.warnings());
            leave_to_os(analyzed);
        }
        Command::Tree { file, session, json, anchor } => {
            let analyzed = load(&file, &session, anchor.into())?;
            if json {
                json::write_spans(&analyzed, out)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", text::TreeText.export(&analyzed))?;
            }
            report_warnings(analyzed.warnings());
            leave_to_os(analyzed);
        }
        Command::Search { file, text, session, kind, json } => {
            let store = open(&file)?;
            let session_id = session.map(|s| store.resolve_session(&s)).transpose()?;
            let query = SearchQuery { text, session_id, kind };
            let mut first = true;
            let mut write_err: Option<io::Error> = None;
            if json {
                write!(out, "[")?;
            }
            let count = store.search(&query, &mut |hit| {
                let r = if json {
                    let sep = if first { "\n" } else { ",\n" };
                    serde_json::to_string(&hit).map_err(io::Error::other).and_then(|s| write!(out, "{sep}{s}"))
                } else {
                    writeln!(
                        out,
                        "{}  {}  {:<16} [{}] {}",
                        one_line(&hit.timestamp),
                        one_line(&hit.id),
                        one_line(&hit.kind),
                        hit.field,
                        one_line(&hit.snippet)
                    )
                };
                first = false;
                match r {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        write_err = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })?;
            if let Some(e) = write_err {
                return Err(e.into());
            }
            if json {
                writeln!(out, "\n]")?;
            } else {
                let _ = writeln!(io::stderr().lock(), "{count} hits");
            }
        }
        Command::Show { file, trace_id, json } => {
            let store = open(&file)?;
            let detail = store.trace_detail(&trace_id)?;
            if json {
                serde_json::to_writer_pretty(&mut *out, &detail)?;
                writeln!(out)?;
            } else {
                // Field names can come from the file (extra columns); a value may span lines,
                // its control characters are escaped by the writer.
                for f in &detail.fields {
                    let value = f.value.as_deref().unwrap_or("NULL");
                    let name = one_line(&f.name);
                    if value.contains('\n') || value.len() > 80 {
                        writeln!(out, "{name} ({}, {} bytes):\n{value}", f.storage, f.size_bytes)?;
                    } else {
                        writeln!(out, "{name}: {value}")?;
                    }
                }
            }
            for w in &detail.warnings {
                warn(w);
            }
        }
        Command::Compare(args) => compare_runs(args, out)?,
        Command::CriticalPath { file, session, json } => diagnose::critical_path_cmd(&file, &session, json, out)?,
        Command::Loops { file, session, json } => diagnose::loops_cmd(&file, session.as_deref(), json, out)?,
        Command::Context { file, session, json, windows } => {
            diagnose::context_cmd(&file, &session, json, &windows, out)?;
        }
        Command::Stalls { file, session, json, min_idle, min_share } => {
            let params = analysis::stalls::StallParams { min_ms: min_idle * 1000.0, min_share: min_share / 100.0 };
            diagnose::stalls_cmd(&file, &session, json, params, out)?;
        }
        Command::Stats { file, by, since, until, json, regressions, threshold, normalize } => {
            let options = stats::StatsOptions {
                by,
                since,
                until,
                json,
                only_regressions: regressions,
                threshold_percent: threshold,
                normalize,
            };
            stats::stats_cmd(&file, &options, out)?;
        }
        Command::Tasks { file, json, normalize } => stats::tasks_cmd(&file, json, normalize, out)?,
        Command::Export(args) => export_cmd::export_cmd(args, out)?,
        Command::Push(args) => push_cmd::push_cmd(args)?,
        Command::Demo { out: path, sessions, events_per_session, seed, force } => {
            if path.exists() {
                if !force {
                    bail!("{}: file exists; pass --force to replace it", path.display());
                }
                writer::remove_database(&path).with_context(|| format!("{}: cannot remove", path.display()))?;
            }
            let config = DemoConfig { sessions, events_per_session, seed, ..DemoConfig::default() };
            let started = std::time::Instant::now();
            let stats = demo::generate(&path, &config)
                .with_context(|| format!("{}: writing the demo database", path.display()))?;
            writeln!(
                out,
                "wrote {} sessions, {} traces to {} in {:.1} s",
                stats.sessions,
                stats.traces,
                path.display(),
                started.elapsed().as_secs_f64()
            )?;
        }
    }
    Ok(())
}

/// The cached list alone, when the file's state shows nothing was written since it was cached
/// (see [`Store::list_from_cache`]); else `None` and [`cached`] checks the entry in full.
fn cached_list(store: &Store, no_cache: bool) -> Result<Option<crate::model::SessionList>> {
    let Some(cache) = ListCache::from_env().filter(|_| !no_cache) else { return Ok(None) };
    Ok(store.list_from_cache(&cache)?)
}

/// The file's list, slow-call tally and models through the list cache (see
/// [`crate::store::ListCache`]), the cache brought up to date; `None` with `--no-cache` or no
/// cache folder. A cache that cannot be written is one warning.
fn cached(store: &Store, no_cache: bool) -> Result<Option<crate::store::Live>> {
    let Some(cache) = ListCache::from_env().filter(|_| !no_cache) else { return Ok(None) };
    let (live, used) = store.live_from_cache(&cache, &mut |_| {})?;
    if used != CacheUse::Hit(Refresh::Unchanged)
        && let Err(e) = cache.save(&live)
    {
        warn(format_args!("{}: cannot write the list cache: {e}", cache.dir().display()));
    }
    Ok(Some(live))
}

fn load(file: &Path, session: &str, anchor: Anchor) -> Result<analysis::AnalyzedSession> {
    let started = std::time::Instant::now();
    let store = open(file)?;
    let id = store.resolve_session(session)?;
    let data = store.load_session(&id, None)?;
    let read = started.elapsed();
    let analyzed = analysis::analyze(data, anchor);
    log::debug!(
        "session {} read in {:.0} ms ({} events), analysed in {:.0} ms",
        crate::terminal::one_line(&id),
        read.as_secs_f64() * 1000.0,
        analyzed.data.events.len(),
        (started.elapsed() - read).as_secs_f64() * 1000.0
    );
    Ok(analyzed)
}

/// `compare`: loads both sessions (on two threads), compares them and prints the result;
/// each run's warnings are written prefixed with its name, then the comparison's.
fn compare_runs(args: CompareArgs, out: &mut dyn io::Write) -> Result<()> {
    use crate::analysis::compare::{CompareOptions, compare};
    use crate::export::compare::Compared;
    let CompareArgs { file, a, b, with, json, markdown, min_ms, min_percent, top } = args;
    let (file_b, b, two_files) = match (with.as_deref(), b) {
        (Some([file_b, b]), _) => (PathBuf::from(file_b), b.clone(), true),
        (None, Some(b)) => (file.clone(), b, false),
        _ => bail!("compare needs session B: compare FILE A B, or compare FILE_A A --with FILE_B B"),
    };
    if !(min_ms.is_finite() && min_ms >= 0.0 && min_percent.is_finite() && min_percent >= 0.0) {
        bail!("--min-ms and --min-percent must be numbers of zero or more");
    }
    let (run_a, run_b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| load(&file_b, &b, Anchor::Auto));
        let first = load(&file, &a, Anchor::Auto);
        (first, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let run_a = run_a.context("session A")?;
    let run_b = run_b.context("session B")?;
    let comparison = compare(&run_a, &run_b, &CompareOptions { min_ratio: min_percent / 100.0, min_ms, top });
    let names = two_files.then(|| (file.display().to_string(), file_b.display().to_string()));
    let compared = Compared {
        comparison: &comparison,
        a: &run_a,
        b: &run_b,
        a_file: names.as_ref().map(|n| n.0.as_str()),
        b_file: names.as_ref().map(|n| n.1.as_str()),
    };
    if json {
        compared.write_json(out)?;
    } else if markdown {
        write!(out, "{}", compared.markdown())?;
    } else {
        compared.write_text(out)?;
    }
    for (name, run) in [("A", &run_a), ("B", &run_b)] {
        for w in run.warnings() {
            match &w.trace_id {
                Some(id) => warn(format_args!("{name}: trace {id}: {}", w.message)),
                None => warn(format_args!("{name}: {}", w.message)),
            }
        }
    }
    for w in &comparison.warnings {
        warn(w);
    }
    leave_to_os((run_a, run_b, comparison));
    Ok(())
}

fn write_models_table(out: &mut dyn io::Write, models: &[ModelUsage]) -> io::Result<()> {
    writeln!(
        out,
        "{:<28}  {:<12}  {:>8}  {:>8}  {:>12}  {:>12}  {:>10}",
        "model", "provider", "calls", "sessions", "tokens in", "tokens out", "cost"
    )?;
    for m in models {
        writeln!(
            out,
            "{:<28}  {:<12}  {:>8}  {:>8}  {:>12}  {:>12}  {:>10}",
            one_line(&m.model),
            one_line(m.provider.as_deref().unwrap_or("—")),
            format_count(i64::try_from(m.calls).unwrap_or(i64::MAX)),
            format_count(i64::try_from(m.sessions).unwrap_or(i64::MAX)),
            format_count(m.input_tokens),
            format_count(m.output_tokens),
            format_cost(m.cost_usd)
        )?;
    }
    Ok(())
}

fn write_sessions_table(out: &mut dyn io::Write, sessions: &[Arc<SessionRow>]) -> io::Result<()> {
    writeln!(
        out,
        "{:<19}  {:<9}  {:>7}  {:>10}  {:>9}  {:>10}  {:>6}  {:<36}  task",
        "started", "status", "events", "duration", "tokens", "cost", "errors", "id"
    )?;
    for s in sessions {
        let started = s.started.map_or_else(|| s.started_at.clone().unwrap_or_default(), |t| t.short());
        let duration = s.duration_ms.map_or_else(|| "—".to_owned(), format_duration_ms);
        writeln!(
            out,
            "{:<19}  {:<9}  {:>7}  {:>10}  {:>9}  {:>10}  {:>6}  {:<36}  {}",
            one_line(&started),
            one_line(&s.status),
            format_count(s.event_count as i64),
            duration,
            format_count(s.total_tokens),
            format_cost(s.total_cost_usd),
            s.error_count,
            one_line(ids::shown(&s.id)),
            one_line(&s.task)
        )?;
    }
    Ok(())
}

/// A number of seconds for a flag: finite and not negative.
fn non_negative(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("expected a number of seconds, 0 or more, not {text:?}")),
    }
}

/// A percentage for a flag: 0 to 100.
fn percent(text: &str) -> std::result::Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a percentage from 0 to 100, not {text:?}")),
    }
}
