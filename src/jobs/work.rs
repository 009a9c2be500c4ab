//! The jobs on one session or across the file: loading and comparing sessions, details,
//! search, exports and pushes, trends and loop counts, the demo file.

use super::*;

impl Jobs {
    /// Loads and analyses one session; `row` is its list row (re-read from the file on a reload).
    /// `params` say what counts as a stall and what the models' context windows are in its
    /// diagnosis.
    pub fn load_session(
        &mut self,
        path: PathBuf,
        row: SessionRow,
        anchor: Anchor,
        params: DiagnosisParams,
        reload: bool,
    ) {
        self.start(JobKind::Session, "session", move |ctx| {
            let started = Instant::now();
            ctx.send(Reply::Progress {
                kind: JobKind::Session,
                message: format!("Loading {} events…", crate::format::format_count(row.event_count as i64)),
            });
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            // Two connections read a big session's halves at once: the halves join without
            // holding either twice (measured on a 1,000,000-event session: 15% quicker than one
            // connection, and no higher peak).
            let id = row.id.clone();
            let row_events = row.event_count;
            // A reload re-reads the row too: a live session's status, end and totals move.
            let known = (!reload).then_some(row);
            let total = row_events;
            let mut last_report = Instant::now();
            let mut progress = |read: usize| {
                if ctx.cancelled() {
                    return std::ops::ControlFlow::Break(());
                }
                if last_report.elapsed() >= Duration::from_millis(100) {
                    last_report = Instant::now();
                    ctx.send(Reply::Progress { kind: JobKind::Session, message: reading_message(read, total) });
                }
                std::ops::ControlFlow::Continue(())
            };
            let work = move || {
                let data = ctx.retry(&path, || store.load_session_with_progress(&id, known.clone(), &mut progress))?;
                if ctx.cancelled() {
                    return Ok(None);
                }
                let read = started.elapsed();
                let session = analysis::analyze(data, anchor);
                let analysed = started.elapsed();
                let diagnosis = Box::new(diagnose(&session, &params));
                log::info!(
                    "session {}: read {} ms, timeline {} ms, diagnosis {} ms",
                    crate::terminal::one_line(&id),
                    read.as_millis(),
                    (analysed - read).as_millis(),
                    (started.elapsed() - analysed).as_millis()
                );
                Ok(Some((session, diagnosis)))
            };
            match on_ended_thread(work).unwrap_or(Ok(None)) {
                Ok(Some((session, diagnosis))) => ctx.send(Reply::Session {
                    session: Box::new(session),
                    diagnosis,
                    elapsed: started.elapsed(),
                    reload,
                }),
                Ok(None) => {}
                Err(e) => ctx.fail(&e),
            }
        });
    }

    /// Loads two sessions (from one file or two) and compares them.
    pub fn compare(&mut self, a: (PathBuf, SessionRow), b: (PathBuf, SessionRow), anchor: Anchor) {
        self.start(JobKind::Compare, "compare", move |ctx| {
            let mut runs = Vec::with_capacity(2);
            for (letter, (path, row)) in [("A", a), ("B", b)] {
                ctx.send(Reply::Progress {
                    kind: JobKind::Compare,
                    message: format!(
                        "Loading run {letter}: {} events…",
                        crate::format::format_count(row.event_count as i64)
                    ),
                });
                let Some(session) = ctx.load_analyzed(&path, &row, anchor) else { return };
                if ctx.cancelled() {
                    return;
                }
                runs.push(crate::compare_model::Run { path, session });
            }
            ctx.send(Reply::Progress { kind: JobKind::Compare, message: "Comparing…".to_owned() });
            let (Some(b), Some(a)) = (runs.pop(), runs.pop()) else { return };
            let options = analysis::compare::CompareOptions::default();
            let comparison = analysis::compare::compare(&a.session, &b.session, &options);
            let model = crate::compare_model::CompareModel::new(a, b, comparison);
            ctx.send(Reply::Compared { model: Box::new(model) });
        });
    }

    /// Reads a session again and writes it to `out` for other tools: OTLP JSON (one line) or
    /// Chrome trace JSON, without data or raw input/output.
    pub fn export(&mut self, path: PathBuf, row: SessionRow, anchor: Anchor, format: ExportFormat, out: PathBuf) {
        self.start(JobKind::Detail, "export", move |ctx| {
            ctx.send(Reply::Progress { kind: JobKind::Detail, message: format!("Exporting to {}…", out.display()) });
            let Some(session) = ctx.load_analyzed(&path, &row, anchor) else { return };
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let written = (|| -> std::io::Result<crate::export::external::Exported> {
                let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
                let exported = match format {
                    ExportFormat::OtlpJson => {
                        let options = crate::export::otlp::OtlpOptions {
                            service_name: "trace-inspector",
                            file_name: &file_name,
                            content: None,
                        };
                        crate::export::otlp::write_session(&session, &options, &mut file)?
                    }
                    ExportFormat::Chrome => {
                        let mut chrome = crate::export::chrome::ChromeWriter::begin(&mut file)?;
                        let exported = chrome.session(&session, &mut file)?;
                        chrome.finish(&mut file)?;
                        exported
                    }
                };
                std::io::Write::flush(&mut file)?;
                Ok(exported)
            })();
            match written {
                Ok(e) => ctx.send(Reply::Exported { out, spans: e.stats.spans, warnings: e.warnings.len() }),
                Err(e) => {
                    ctx.send(Reply::Failed {
                        kind: JobKind::Detail,
                        error: format!("cannot write {}: {e}", out.display()),
                    });
                }
            }
        });
    }

    /// Reads a session again and sends it to an OpenTelemetry backend over OTLP/HTTP, as the
    /// CLI's `push` does (without data or raw input/output), saying how many spans went.
    pub fn push(&mut self, path: PathBuf, row: SessionRow, anchor: Anchor, target: crate::push::Target) {
        self.start(JobKind::Push, "push", move |ctx| {
            let url = target.shown().to_owned();
            ctx.send(Reply::Progress { kind: JobKind::Push, message: format!("Pushing to {url}…") });
            let Some(session) = ctx.load_analyzed(&path, &row, anchor) else { return };
            let started = std::time::Instant::now();
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let service_name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let options =
                crate::export::otlp::OtlpOptions { service_name: &service_name, file_name: &file_name, content: None };
            let client = crate::push::Client::new(target, crate::push::Retry::default());
            let limits = crate::export::otlp_proto::BatchLimits::default();
            let sent =
                crate::push::Pusher::start_cancellable(client, limits, ctx.cancel.clone()).and_then(|mut pusher| {
                    pusher.session(&session, &options)?;
                    pusher.finish()
                });
            match sent {
                Ok(sent) => ctx.send(Reply::Pushed {
                    spans: sent.spans,
                    bytes: sent.bytes,
                    seconds: started.elapsed().as_secs_f64(),
                    url,
                }),
                Err(crate::push::PushError::Cancelled) => {}
                Err(e) => ctx.send(Reply::Failed { kind: JobKind::Push, error: format!("push: {e}") }),
            }
        });
    }

    /// Counts the file's trends (sessions, cost, errors, tool times per time bucket; task
    /// groups; what rose in the last bucket) with the CLI's `stats` and `tasks` rules.
    pub fn trends(&mut self, path: PathBuf, by: Option<crate::analysis::trends::Bucket>, normalize: bool) {
        self.start(JobKind::Trends, "trends", move |ctx| {
            ctx.send(Reply::Progress { kind: JobKind::Trends, message: "Counting the trends…".to_owned() });
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            store.use_small_cache();
            let data = match ctx.retry(&path, || store.trend_data()) {
                Ok(d) => d,
                Err(e) => return ctx.fail(&e),
            };
            let params = crate::analysis::trends::StatsParams { by, ..Default::default() };
            let trends = Box::new(crate::analysis::trends::stats(&data, &params));
            let tasks = crate::analysis::tasks::task_groups(&data.sessions, normalize);
            let regressions = crate::analysis::trends::regressions(&data, &params, TRENDS_THRESHOLD, normalize);
            ctx.send(Reply::Trends { path, trends, tasks, regressions });
        });
    }

    /// Counts the loops of each of `rows` (sessions of `path`) exactly as the session view finds
    /// them: each session is read (lean: no raw I/O), its spans built and its loops found, one
    /// at a time. The counts come back in batches (about five a second), so the table fills in
    /// while the user works.
    pub fn loop_counts(&mut self, path: PathBuf, rows: Vec<Arc<SessionRow>>) {
        self.start(JobKind::Loops, "loop counts", move |ctx| {
            let mut store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            store.set_read_mode(ReadMode::Leanest);
            store.use_small_cache();
            let params = crate::analysis::loops::LoopParams::default();
            let mut batch = Vec::new();
            let mut sent = Instant::now();
            for row in rows {
                if ctx.cancelled() {
                    return;
                }
                let (id, events) = (row.id.clone(), row.event_count);
                // A session that cannot be read keeps its "…"; the session view says why.
                let Ok(data) = store.load_session(&id, Some(Arc::unwrap_or_clone(row))) else { continue };
                let timeline = analysis::timeline::build(&data, Anchor::Auto);
                let loops = crate::analysis::loops::find_loops_in(&timeline, &data.events, &params);
                batch.push((id, events, crate::analysis::loops::LoopCount::of(&loops)));
                if sent.elapsed() >= Duration::from_millis(200) {
                    let counts = std::mem::take(&mut batch);
                    ctx.send(Reply::LoopCounts { path: path.clone(), counts, done: false });
                    sent = Instant::now();
                }
            }
            ctx.send(Reply::LoopCounts { path, counts: batch, done: true });
        });
    }

    /// Reads each session's models (for the models panel of a filtered list).
    pub fn session_models(&mut self, path: PathBuf) {
        self.start(JobKind::SessionModels, "session models", move |ctx| {
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            store.use_small_cache();
            match ctx.retry(&path, || store.session_model_usage()) {
                Ok(rows) => ctx.send(Reply::SessionModels { path, rows }),
                Err(e) => ctx.fail(&e),
            }
        });
    }

    /// Lists another file's sessions (to compare a run of the open file with one of them).
    pub fn list_other(&mut self, path: PathBuf) {
        self.start(JobKind::Compare, "list other file", move |ctx| {
            ctx.send(Reply::Progress { kind: JobKind::Compare, message: format!("Listing {}…", path.display()) });
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            match ctx.retry(&path, || store.list_sessions()) {
                Ok(list) => ctx.send(Reply::OtherList { path: path.clone(), sessions: list.sessions }),
                Err(e) => ctx.fail(&e),
            }
        });
    }

    /// Reads the traces of a compared pair (each side's from its file) and works out their
    /// differences.
    pub fn pair_detail(&mut self, row: usize, a: (PathBuf, Vec<TraceKey>), b: (PathBuf, Vec<TraceKey>)) {
        self.start(JobKind::Detail, "pair detail", move |ctx| {
            let mut sides = Vec::with_capacity(2);
            for (path, keys) in [a, b] {
                let mut details = Vec::with_capacity(keys.len());
                if !keys.is_empty() {
                    let store = match ctx.open(&path) {
                        Ok(s) => s,
                        Err(e) => return ctx.fail(&e),
                    };
                    for (rowid, id) in keys {
                        let result = match rowid {
                            Some(r) => store.trace_detail_by_row(r, &id),
                            None => store.trace_detail(&id),
                        };
                        match result {
                            Ok(d) => details.push(d),
                            Err(e) => return ctx.fail(&e),
                        }
                    }
                }
                sides.push(details);
            }
            let (Some(b), Some(a)) = (sides.pop(), sides.pop()) else { return };
            let diffs = crate::compare_model::pair_diffs(&a, &b);
            let detail = crate::compare_model::PairDetail { row, a, b, diffs };
            ctx.send(Reply::PairDetail { detail: Box::new(detail) });
        });
    }

    /// Searches the file; hits stream back in batches.
    pub fn search(&mut self, path: PathBuf, query: SearchQuery) {
        self.start(JobKind::Search, "search", move |ctx| {
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            let mut batch = Vec::new();
            let mut last_flush = Instant::now();
            let result = store.search(&query, &mut |hit| {
                batch.push(hit);
                if last_flush.elapsed() > Duration::from_millis(100) {
                    ctx.send(Reply::Hits { hits: std::mem::take(&mut batch), done: false });
                    last_flush = Instant::now();
                }
                if ctx.cancelled() { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
            });
            match result {
                Ok(_) => ctx.send(Reply::Hits { hits: batch, done: true }),
                Err(e) => ctx.fail(&e),
            }
        });
    }

    /// Loads every column of one trace (raw I/O included).
    pub fn detail(&mut self, path: PathBuf, rowid: Option<i64>, id: String) {
        self.start(JobKind::Detail, "detail", move |ctx| {
            let store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            let result = match rowid {
                Some(r) => store.trace_detail_by_row(r, &id),
                None => store.trace_detail(&id),
            };
            match result {
                Ok(d) => ctx.send(Reply::Detail { detail: Box::new(d) }),
                Err(e) => ctx.fail(&e),
            }
        });
    }

    /// Writes a demo database to `path` (replacing it), then reports it.
    pub fn demo(&mut self, path: PathBuf) {
        self.start(JobKind::Demo, "demo", move |ctx| {
            ctx.send(Reply::Progress { kind: JobKind::Demo, message: "Generating the demo database…".to_owned() });
            match write_demo(&path) {
                Ok(()) => ctx.send(Reply::DemoReady { path }),
                Err(e) => ctx.send(Reply::Failed { kind: JobKind::Demo, error: format!("{e:#}") }),
            }
        });
    }
}

/// Runs `work` on a thread of its own and returns once that thread has ended. The allocator
/// gives back a thread's freed memory as the thread ends: a session's read, timeline and
/// diagnosis leave tens of megabytes of freed scratch behind, which would otherwise still be
/// held while the window builds its model of the session (measured on a 1,000,000-event
/// session: the peak was that much higher). Runs `work` here when no thread can be started.
/// `None` only if the work was taken and gave nothing back, which `Option::map` rules out.
fn on_ended_thread<T: Send>(work: impl FnOnce() -> T + Send) -> Option<T> {
    let mut work = Some(work);
    let ran = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("ti-session-read".to_owned())
            .spawn_scoped(scope, || work.take().map(|w| w()));
        match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => {
                log::debug!("no thread for a session read ({e}); reading on this one");
                None
            }
        }
    });
    ran.or_else(|| work.map(|w| w()))
}
