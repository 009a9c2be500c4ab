//! Background work for the app: every SQLite read runs on a named thread and its result comes
//! back over a channel, so the window never waits on the database.
//!
//! One job of a kind runs at a time: a newer request supersedes the older one (its result is
//! dropped by generation number, and its query is interrupted). A file locked by a writer is
//! retried once a second with a visible message until it opens or the job is cancelled.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::diagnosis::{Diagnosis, DiagnosisParams, diagnose};
use crate::analysis::{self, AnalyzedSession, Anchor, SlowIndex};
use crate::compare_model::TraceKey;
use crate::error::StoreError;
use crate::model::{ModelUsage, SearchHit, SearchQuery, SessionList, SessionRow, TraceDetail};
use crate::store::{CacheUse, Interrupt, ListCache, Live, ReadMode, Refresh, Store};

/// A figure rose when its last bucket is this much above the earlier ones (as `stats`).
pub const TRENDS_THRESHOLD: f64 = 0.2;

/// The formats a session exports to from the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// OpenTelemetry's OTLP JSON (one `TracesData` line).
    OtlpJson,
    /// Chrome trace JSON, for Perfetto.
    Chrome,
}

/// The kinds of background job; one of each runs at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Open,
    Session,
    Search,
    Detail,
    Demo,
    /// Two sessions loaded and compared.
    Compare,
    /// The file's trends over time.
    Trends,
    /// Each session's models, for the models of a filtered list.
    SessionModels,
    /// Each session's loops, for the sessions table.
    Loops,
    /// Sessions sent to an OpenTelemetry backend.
    Push,
}

const KINDS: usize = 10;

impl JobKind {
    fn slot(self) -> usize {
        match self {
            JobKind::Open => 0,
            JobKind::Session => 1,
            JobKind::Search => 2,
            JobKind::Detail => 3,
            JobKind::Demo => 4,
            JobKind::Compare => 5,
            JobKind::Trends => 6,
            JobKind::SessionModels => 7,
            JobKind::Loops => 8,
            JobKind::Push => 9,
        }
    }
}

/// What a job sends back.
#[derive(Debug)]
pub enum Reply {
    /// Still working; shown in the status bar.
    Progress { kind: JobKind, message: String },
    /// A push went through: what the backend took, and where (the URL without credentials).
    Pushed { spans: u64, bytes: u64, seconds: f64, url: String },
    /// The session list of a newly opened (or reloaded) file.
    Opened { path: PathBuf, list: SessionList, elapsed: Duration, reload: bool },
    /// File-wide slow-call statistics, after the list.
    Slow { path: PathBuf, index: SlowIndex },
    /// Calls, tokens and cost per model across the file, after the slow-call statistics.
    Models { path: PathBuf, models: Vec<ModelUsage> },
    /// Each session's calls, tokens and cost per model.
    SessionModels { path: PathBuf, rows: Vec<crate::model::SessionModelUsage> },
    /// Loop counts of some sessions: (id, event count counted at, count); `done` on the last batch.
    LoopCounts { path: PathBuf, counts: Vec<(String, u64, crate::analysis::loops::LoopCount)>, done: bool },
    /// A session loaded and analysed.
    Session { session: Box<AnalyzedSession>, diagnosis: Box<Diagnosis>, elapsed: Duration, reload: bool },
    /// Search hits so far; `done` on the last batch.
    Hits { hits: Vec<SearchHit>, done: bool },
    /// One trace's every column.
    Detail { detail: Box<TraceDetail> },
    /// A demo database was written.
    DemoReady { path: PathBuf },
    /// Two sessions loaded and compared.
    Compared { model: Box<crate::compare_model::CompareModel> },
    /// The file's trends: per-bucket figures, task groups and what rose lately.
    Trends {
        path: PathBuf,
        trends: Box<crate::analysis::trends::Stats>,
        tasks: Vec<crate::analysis::tasks::TaskGroup>,
        regressions: Vec<crate::analysis::trends::Regression>,
    },
    /// A session was exported to a file.
    Exported { out: PathBuf, spans: u64, warnings: usize },
    /// Another file's sessions, to compare with.
    OtherList { path: PathBuf, sessions: Vec<SessionRow> },
    /// The traces of a compared pair, with their differences.
    PairDetail { detail: Box<crate::compare_model::PairDetail> },
    /// The open file changed on disk; `refreshed` when the watcher sent its list, slow-call
    /// index and models already (just before this), else a refresh is for the UI to start.
    Changed { path: PathBuf, refreshed: bool },
    /// A job failed; `error` is one line naming the file and the problem.
    Failed { kind: JobKind, error: String },
}

struct Envelope {
    kind: JobKind,
    generation: u64,
    reply: Reply,
}

#[derive(Default)]
struct Slot {
    generation: u64,
    cancel: Arc<AtomicBool>,
    interrupt: Arc<Mutex<Option<Interrupt>>>,
    running: bool,
    /// Work the user did not ask for (a refresh after a change on disk): no spinner, no
    /// repaints while it runs, so a file that changes every second costs one frame a change.
    background: bool,
}

/// Callback that wakes the UI when a reply is waiting.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The app's background jobs.
pub struct Jobs {
    tx: Sender<Envelope>,
    rx: Receiver<Envelope>,
    wake: Wake,
    /// The wake for background work, when it differs (see [`Jobs::with_quiet_wake`]).
    quiet_wake: Option<Wake>,
    slots: [Slot; KINDS],
    watch_stop: Option<Arc<AtomicBool>>,
    /// The open file as last read, for the next refresh to add to.
    live: Arc<Mutex<LiveSlot>>,
    /// A refresh asked for while the open job ran: started when it ends.
    refresh_pending: Option<PathBuf>,
}

/// How often the list cache is written while the file grows (also after every full read).
const CACHE_SAVE_EVERY: Duration = Duration::from_secs(60);

/// How often a refresh also counts every trace (see [`crate::store::Live`]: the one check that
/// sees traces deleted in the middle of the file; tens of milliseconds on millions of traces).
const DEEP_CHECK_EVERY: Duration = Duration::from_secs(10);

/// How often the watcher looks for a change: a change is shown within this, plus the refresh
/// (tens of milliseconds on millions of traces) and a frame, so within a second.
const WATCH_EVERY: Duration = Duration::from_millis(800);

/// The open file's [`Live`] between refreshes, and the store it was read with: kept open
/// while the file is watched, so a refresh costs its checks and what was appended, not
/// opening the file again. Unwatched, the store is closed after each read: a writer that
/// opens a connection per call then stays the last to close, and SQLite folds and deletes
/// its -wal as it would with no reader.
#[derive(Default)]
struct LiveSlot {
    path: PathBuf,
    live: Option<Live>,
    store: Option<Store>,
    /// A watcher follows the file (see [`Jobs::watch`]): keep `store` open between reads.
    keep_store: bool,
    last_deep: Option<Instant>,
    last_save: Option<Instant>,
}

/// A refresh done, to be sent to the UI and kept for the next one.
struct Refreshed {
    path: PathBuf,
    live: Live,
    store: Store,
    refresh: Refresh,
    deep: bool,
    started: Instant,
}

impl Refreshed {
    /// Posts the list and slow-call index (when anything changed) and the models, writes the
    /// list cache now and then, and keeps the read in `slot` unless another read of the file
    /// (an open or a reload) took its place meanwhile.
    fn publish(self, slot: &Mutex<LiveSlot>, post: &dyn Fn(Reply)) {
        let Refreshed { path, live, store, refresh, deep, started } = self;
        if let Refresh::Reread(why) = &refresh {
            log::info!("{}: read in full again: {why}", path.display());
        }
        let changed = refresh != Refresh::Unchanged;
        log::debug!("{}: refreshed in {:.1} ms: {refresh:?}", path.display(), started.elapsed().as_secs_f64() * 1000.0);
        if changed {
            let list = live.list().clone();
            post(Reply::Opened { path: path.clone(), list, elapsed: started.elapsed(), reload: true });
            post(Reply::Slow { path: path.clone(), index: live.slow_index() });
        }
        post(Reply::Models { path: path.clone(), models: live.models() });
        let save =
            changed && slot.lock().ok().and_then(|s| s.last_save).is_none_or(|t| t.elapsed() >= CACHE_SAVE_EVERY);
        if save {
            save_to_cache(&live);
        }
        if let Ok(mut s) = slot.lock()
            && (s.path == path || s.path.as_os_str().is_empty())
            && s.live.is_none()
        {
            s.path = path;
            s.live = Some(live);
            s.store = s.keep_store.then_some(store);
            if deep {
                s.last_deep = Some(Instant::now());
            }
            if save {
                s.last_save = Some(Instant::now());
            }
        }
    }
}

/// The watcher's refresh of the open file, on its own thread: the same as a refresh job's but
/// without a frame of the UI's to start it, so a change costs the one frame that shows it.
/// `None` when there is no read of `path` to add to (an open runs, or the last read failed)
/// or the refresh failed (a writer's lock, say): the UI then starts a refresh job, which
/// retries and reports.
fn refresh_from_watcher(slot: &Mutex<LiveSlot>, path: &Path, post: &dyn Fn(Reply)) -> Option<()> {
    let started = Instant::now();
    let (mut live, kept, last_deep) = {
        let mut s = slot.lock().ok()?;
        if s.path != path {
            return None;
        }
        let live = s.live.take()?;
        (live, s.store.take(), s.last_deep)
    };
    let kept = kept.filter(|s| !s.is_private_copy() && s.identity().is_ok_and(|id| id == *live.identity()));
    let store = match kept {
        Some(s) => s,
        None => {
            let s = Store::open(path).ok()?;
            s.use_small_cache();
            s
        }
    };
    let deep = last_deep.is_none_or(|t| t.elapsed() >= DEEP_CHECK_EVERY);
    match store.refresh_live(&mut live, deep) {
        Ok(refresh) => {
            Refreshed { path: path.to_owned(), live, store, refresh, deep, started }.publish(slot, post);
            Some(())
        }
        Err(e) => {
            log::debug!("{}: refresh from the watcher failed ({e}); a refresh job follows", path.display());
            // `live` is as it was: kept for the refresh job.
            if let Ok(mut s) = slot.lock()
                && s.path == path
                && s.live.is_none()
            {
                s.live = Some(live);
                s.store = s.keep_store.then_some(store);
            }
            None
        }
    }
}

/// Writes `live` to the list cache; a cache that cannot be written is said once per process.
pub fn save_to_cache(live: &Live) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let Some(cache) = ListCache::from_env() else { return };
    if let Err(e) = cache.save(live)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        log::warn!("{}: cannot write the list cache ({e}); files are read in full each time", cache.dir().display());
    }
}

/// What a job's thread gets to report and check cancellation.
struct Ctx {
    kind: JobKind,
    generation: u64,
    tx: Sender<Envelope>,
    wake: Wake,
    cancel: Arc<AtomicBool>,
    interrupt: Arc<Mutex<Option<Interrupt>>>,
}

impl Ctx {
    fn send(&self, reply: Reply) {
        self.post(reply);
        (self.wake)();
    }
    /// Sends without waking the UI: for a reply the next [`Ctx::send`] follows at once, so
    /// that both are taken in one frame.
    fn post(&self, reply: Reply) {
        let _ = self.tx.send(Envelope { kind: self.kind, generation: self.generation, reply });
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    /// Opens the store, retrying while a writer holds a lock; the store's query can then be
    /// interrupted by a cancel.
    fn open(&self, path: &Path) -> Result<Store, StoreError> {
        let store = self.retry(path, || Store::open(path))?;
        if let Ok(mut slot) = self.interrupt.lock() {
            *slot = Some(store.interrupt_handle());
        }
        Ok(store)
    }
    /// Runs a read, retrying while a writer holds a lock.
    fn retry<T>(&self, path: &Path, mut f: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut attempt = 0u32;
        loop {
            match f() {
                Err(e) if e.is_locked() && !self.cancelled() && attempt < 60 => {
                    attempt += 1;
                    self.send(Reply::Progress {
                        kind: self.kind,
                        message: format!("{}: locked by another process; retrying ({attempt})…", path.display()),
                    });
                    std::thread::sleep(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }
    /// Reads a session whose list row is known, lean on memory, and analyses it; `None` once
    /// the failure is reported.
    fn load_analyzed(&self, path: &Path, row: &SessionRow, anchor: Anchor) -> Option<AnalyzedSession> {
        let mut store = self.open(path).map_err(|e| self.fail(&e)).ok()?;
        store.set_read_mode(ReadMode::Leanest);
        let data =
            self.retry(path, || store.load_session(&row.id, Some(row.clone()))).map_err(|e| self.fail(&e)).ok()?;
        Some(analysis::analyze(data, anchor))
    }

    fn fail(&self, e: &StoreError) {
        if !matches!(e, StoreError::Cancelled { .. }) {
            log::warn!("{e}");
            self.send(Reply::Failed { kind: self.kind, error: e.to_string() });
        }
    }
}

impl Jobs {
    /// A job runner that calls `wake` whenever a reply is sent.
    #[must_use]
    pub fn new(wake: Wake) -> Self {
        let (tx, rx) = channel();
        Self {
            tx,
            rx,
            wake,
            quiet_wake: None,
            slots: Default::default(),
            watch_stop: None,
            live: Arc::default(),
            refresh_pending: None,
        }
    }

    /// Wakes the UI with `quiet` for the replies of work the user did not ask for (a refresh
    /// after a change on disk): one that needs no more than one frame to show them.
    #[must_use]
    pub fn with_quiet_wake(mut self, quiet: Wake) -> Self {
        self.quiet_wake = Some(quiet);
        self
    }

    /// True while a job of this kind runs.
    #[must_use]
    pub fn is_running(&self, kind: JobKind) -> bool {
        self.slots[kind.slot()].running
    }

    /// True when no job runs.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.slots.iter().all(|s| !s.running)
    }

    /// True while a job the user asked for runs (a refresh after a change on disk is not one):
    /// what the status bar shows a spinner for.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.slots.iter().any(|s| s.running && !s.background)
    }

    /// Stops the running job of this kind (its result, if any, is dropped).
    pub fn cancel(&mut self, kind: JobKind) {
        let slot = &mut self.slots[kind.slot()];
        slot.cancel.store(true, Ordering::Relaxed);
        if let Ok(mut i) = slot.interrupt.lock()
            && let Some(handle) = i.take()
        {
            handle.interrupt();
        }
        slot.generation += 1;
        slot.running = false;
    }

    fn start(&mut self, kind: JobKind, name: &str, work: impl FnOnce(&Ctx) + Send + 'static) {
        self.start_as(kind, name, false, work);
    }

    /// Starts a job the user did not ask for (see [`Slot::background`]): its replies wake the
    /// UI through the quiet wake.
    fn start_background(&mut self, kind: JobKind, name: &str, work: impl FnOnce(&Ctx) + Send + 'static) {
        self.start_as(kind, name, true, work);
    }

    fn start_as(&mut self, kind: JobKind, name: &str, background: bool, work: impl FnOnce(&Ctx) + Send + 'static) {
        self.cancel(kind);
        let slot = &mut self.slots[kind.slot()];
        slot.cancel = Arc::new(AtomicBool::new(false));
        slot.interrupt = Arc::new(Mutex::new(None));
        slot.running = true;
        slot.background = background;
        let wake = if background { self.quiet_wake.as_ref().unwrap_or(&self.wake) } else { &self.wake };
        let ctx = Ctx {
            kind,
            generation: slot.generation,
            tx: self.tx.clone(),
            wake: wake.clone(),
            cancel: slot.cancel.clone(),
            interrupt: slot.interrupt.clone(),
        };
        let spawned = std::thread::Builder::new().name(format!("ti-{name}")).spawn(move || work(&ctx));
        if let Err(e) = spawned {
            let _ = self.tx.send(Envelope {
                kind,
                generation: self.slots[kind.slot()].generation,
                reply: Reply::Failed { kind, error: format!("cannot start a worker thread: {e}") },
            });
        }
    }

    /// Opens a file: the session list, then the file-wide slow-call index and model table,
    /// all read in full (a reload too).
    pub fn open(&mut self, path: PathBuf, reload: bool) {
        self.refresh_pending = None;
        let slot = self.live.clone();
        self.start(JobKind::Open, "open", move |ctx| {
            if let Ok(mut s) = slot.lock() {
                *s = LiveSlot::default();
            }
            read_in_full(ctx, &path, reload, &slot);
        });
    }

    /// Brings the open file's list, slow-call index and models up to date after a change on
    /// disk: only what was appended is read when that is all that changed (see
    /// [`crate::store::Live`]); the list stays shown meanwhile. A refresh asked for while
    /// one runs follows it.
    pub fn refresh(&mut self, path: PathBuf) {
        if self.is_running(JobKind::Open) {
            self.refresh_pending = Some(path);
            return;
        }
        let slot = self.live.clone();
        self.start_background(JobKind::Open, "refresh", move |ctx| {
            let started = Instant::now();
            let taken = slot
                .lock()
                .ok()
                .and_then(|mut s| if s.path == path { s.live.take().map(|l| (l, s.store.take())) } else { None });
            let Some((mut live, kept)) = taken else { return read_in_full(ctx, &path, true, &slot) };
            // The store kept from the last read, while it still reads the file at the path (not
            // one replaced since, nor a private copy taken at its opening).
            let kept = kept.filter(|s| !s.is_private_copy() && s.identity().is_ok_and(|id| id == *live.identity()));
            let store = match kept {
                Some(s) => {
                    if let Ok(mut i) = ctx.interrupt.lock() {
                        *i = Some(s.interrupt_handle());
                    }
                    s
                }
                None => match ctx.open(&path) {
                    Ok(s) => {
                        s.use_small_cache();
                        s
                    }
                    Err(e) => return ctx.fail(&e),
                },
            };
            let last_deep = slot.lock().ok().and_then(|s| s.last_deep);
            let deep = last_deep.is_none_or(|t| t.elapsed() >= DEEP_CHECK_EVERY);
            let refreshed = match ctx.retry(&path, || store.refresh_live(&mut live, deep)) {
                Ok(r) => r,
                Err(e) => return ctx.fail(&e),
            };
            let refreshed = Refreshed { path, live, store, refresh: refreshed, deep, started };
            // The models end the job, changed or not, and wake the UI for all three.
            refreshed.publish(&slot, &|reply| ctx.post(reply));
            (ctx.wake)();
        });
    }

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
            let mut store = match ctx.open(&path) {
                Ok(s) => s,
                Err(e) => return ctx.fail(&e),
            };
            // The app stays up with the session open: its peak memory matters more than the
            // last tenth of a second of loading.
            store.set_read_mode(ReadMode::Leanest);
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
            let data = match ctx.retry(&path, || store.load_session_with_progress(&id, known.clone(), &mut progress)) {
                Ok(d) => d,
                Err(e) => return ctx.fail(&e),
            };
            if ctx.cancelled() {
                return;
            }
            let session = analysis::analyze(data, anchor);
            let diagnosis = Box::new(diagnose(&session, &params));
            ctx.send(Reply::Session { session: Box::new(session), diagnosis, elapsed: started.elapsed(), reload });
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
    pub fn loop_counts(&mut self, path: PathBuf, rows: Vec<SessionRow>) {
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
                let Ok(data) = store.load_session(&id, Some(row)) else { continue };
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

    /// Watches `path` for changes (every [`WATCH_EVERY`]) until another file is watched.
    pub fn watch(&mut self, path: PathBuf) {
        if let Some(stop) = self.watch_stop.take() {
            stop.store(true, Ordering::Relaxed);
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.watch_stop = Some(stop.clone());
        if let Ok(mut s) = self.live.lock() {
            s.keep_store = true;
        }
        let tx = self.tx.clone();
        // With a quiet wake (the app), the watcher refreshes the open file itself and wakes
        // the UI once, to show it.
        let slot = self.quiet_wake.is_some().then(|| self.live.clone());
        let wake = self.quiet_wake.clone().unwrap_or_else(|| self.wake.clone());
        let _ = std::thread::Builder::new().name("ti-watch".to_owned()).spawn(move || {
            // One connection for the whole watch, never reopened: opening a file re-reads its
            // header through a plain file handle, and on Unix closing any handle to a file drops
            // every lock this process holds on it, so a loader reading in rollback-journal mode
            // could lose its shared lock. The token still sees every change: data_version for
            // commits, and the sizes and times of the file and its -wal for a file replaced
            // under the same path or read through a private copy.
            let mut store: Option<Store> = None;
            let mut last = None;
            while !stop.load(Ordering::Relaxed) {
                if store.is_none() {
                    store = Store::open(&path).ok();
                }
                let token = store.as_ref().map(Store::change_token);
                if let Some(token) = token {
                    if last.is_some() && last.as_ref() != Some(&token) {
                        let post = |reply| {
                            let _ = tx.send(Envelope { kind: JobKind::Open, generation: u64::MAX, reply });
                        };
                        let refreshed = slot.as_ref().and_then(|s| refresh_from_watcher(s, &path, &post)).is_some();
                        post(Reply::Changed { path: path.clone(), refreshed });
                        wake();
                    }
                    last = Some(token);
                }
                std::thread::sleep(WATCH_EVERY);
            }
        });
    }

    /// Stops watching.
    pub fn unwatch(&mut self) {
        if let Some(stop) = self.watch_stop.take() {
            stop.store(true, Ordering::Relaxed);
        }
        if let Ok(mut s) = self.live.lock() {
            s.keep_store = false;
            s.store = None;
        }
    }

    /// Replies that arrived, oldest first; those of superseded jobs are dropped.
    pub fn poll(&mut self) -> Vec<Reply> {
        let mut out = Vec::new();
        while let Ok(env) = self.rx.try_recv() {
            let slot = &mut self.slots[env.kind.slot()];
            let current = env.generation == slot.generation || env.generation == u64::MAX;
            if !current {
                continue;
            }
            let finished = match &env.reply {
                Reply::Progress { .. } | Reply::Changed { .. } | Reply::Opened { .. } => false,
                Reply::Hits { done, .. } | Reply::LoopCounts { done, .. } => *done,
                _ => true,
            };
            if finished && env.generation != u64::MAX {
                slot.running = false;
            }
            out.push(env.reply);
        }
        if !self.is_running(JobKind::Open)
            && let Some(path) = self.refresh_pending.take()
        {
            self.refresh(path);
        }
        out
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.unwatch();
        for kind in [
            JobKind::Open,
            JobKind::Session,
            JobKind::Search,
            JobKind::Detail,
            JobKind::Compare,
            JobKind::Trends,
            JobKind::SessionModels,
            JobKind::Loops,
        ] {
            self.cancel(kind);
        }
    }
}

/// The open job's full read: the list (sent as soon as it is read), the slow-call index and
/// the models, kept in `slot` for the refreshes that follow.
fn read_in_full(ctx: &Ctx, path: &Path, reload: bool, slot: &Mutex<LiveSlot>) {
    let started = Instant::now();
    ctx.send(Reply::Progress { kind: JobKind::Open, message: format!("Opening {}…", path.display()) });
    let store = match ctx.open(path) {
        Ok(s) => s,
        Err(e) => return ctx.fail(&e),
    };
    store.use_small_cache();
    let mut send_list = |list: &crate::model::SessionList| {
        let list = list.clone();
        ctx.send(Reply::Opened { path: path.to_owned(), list, elapsed: started.elapsed(), reload });
    };
    // An explicit reload reads the file in full; opening uses the list cache when it checks out.
    let cache = if reload { None } else { ListCache::from_env() };
    let live = ctx.retry(path, || match &cache {
        Some(cache) => store.live_from_cache(cache, &mut send_list),
        None => store.read_live(&mut send_list).map(|l| (l, CacheUse::Miss("reload".to_owned()))),
    });
    let (live, used) = match live {
        Ok(l) => l,
        Err(e) => return ctx.fail(&e),
    };
    if ctx.cancelled() {
        return;
    }
    ctx.send(Reply::Slow { path: path.to_owned(), index: live.slow_index() });
    ctx.send(Reply::Models { path: path.to_owned(), models: live.models() });
    if let CacheUse::Miss(why) = &used {
        log::info!("{}: read in full ({why})", path.display());
    }
    if used != CacheUse::Hit(Refresh::Unchanged) {
        save_to_cache(&live);
    }
    if let Ok(mut s) = slot.lock() {
        let now = Some(Instant::now());
        let keep_store = s.keep_store;
        *s = LiveSlot {
            path: path.to_owned(),
            live: Some(live),
            store: keep_store.then_some(store),
            keep_store,
            last_deep: now,
            last_save: now,
        };
    }
}

/// Writes the demo database the app opens with `--demo` (40 sessions, fixed seed).
///
/// # Errors
/// When the file cannot be replaced or written.
pub fn write_demo(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Lay the runs out so the newest, still running, logged its last event half a minute ago,
    // as in a live agent's file: generate once to learn how long the runs take, then again
    // shifted so they end now. Both passes are deterministic (same seed).
    // Enough runs over the demo's four weeks for the Trends screen to show its change.
    let mut config = crate::demo::DemoConfig { sessions: APP_DEMO_SESSIONS, ..crate::demo::DemoConfig::default() };
    let mut last = None;
    for _ in 0..2 {
        if path.exists() {
            crate::writer::remove_database(path)
                .map_err(|e| anyhow::anyhow!("{}: cannot remove: {e}", path.display()))?;
        }
        crate::demo::generate(path, &config)?;
        if last.is_some() {
            break;
        }
        let list = Store::open(path)?.list_sessions()?;
        last = list
            .sessions
            .iter()
            .filter_map(|s| s.last_event_at.as_deref())
            .filter_map(|t| crate::time::parse_text(t).ok())
            .map(|p| p.time)
            .max();
        let Some(end) = last else { break };
        let shift_ms = chrono::Utc::now().timestamp_millis() - 30_000 - end.0 / 1_000_000;
        config.start += chrono::Duration::milliseconds(shift_ms);
    }
    Ok(())
}

/// How many sessions the app's demo file holds.
pub const APP_DEMO_SESSIONS: usize = 200;

/// "Reading 12,288 of 100,000 events (12%)": the list's count is the total (the file may have
/// grown since, so the share stops at 100%).
#[must_use]
pub fn reading_message(read: usize, total: u64) -> String {
    let read = read as u64;
    if total == 0 {
        return format!("Reading {} events", crate::format::format_count(read as i64));
    }
    let percent = (read.saturating_mul(100) / total).min(100);
    format!(
        "Reading {} of {} events ({percent}%)",
        crate::format::format_count(read as i64),
        crate::format::format_count(total as i64)
    )
}

#[cfg(test)]
mod tests {
    use super::reading_message;

    #[test]
    fn reading_message_says_the_share_read() {
        assert_eq!(reading_message(12_288, 100_000), "Reading 12,288 of 100,000 events (12%)");
        assert_eq!(reading_message(5, 0), "Reading 5 events");
        assert_eq!(reading_message(150, 100), "Reading 150 of 100 events (100%)", "a grown file stops at 100%");
    }
}
