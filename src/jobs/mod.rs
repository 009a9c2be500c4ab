//! Background work for the app: every SQLite read runs on a named thread and its result comes
//! back over a channel, so the window never waits on the database.
//!
//! One job of a kind runs at a time: a newer request supersedes the older one (its result is
//! dropped by generation number, and its query is interrupted). A file locked by a writer is
//! retried once a second with a visible message until it opens or the job is cancelled.
//!
//! Here: the replies, the job slots and how a job starts, runs and is superseded; `live` has
//! the jobs that read the open file and keep it current (full read, refresh, watcher), `work`
//! the jobs on one session or across the file.

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

mod live;
mod work;

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
    OtherList { path: PathBuf, sessions: Vec<Arc<SessionRow>> },
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

/// How often at most a refresh also counts every trace (see [`crate::store::Live`]: the one
/// check that sees traces deleted in the middle of the file; tens of milliseconds on millions
/// of traces).
const DEEP_CHECK_EVERY: Duration = Duration::from_secs(10);

/// A refresh with the count of every trace is followed by this many times its own time
/// without one (when that is longer than [`DEEP_CHECK_EVERY`]): the count takes at most
/// 0.2% of the time on any size of file.
const DEEP_CHECK_SPACING: u32 = 500;

/// When the next refresh that counts every trace is due, after one that took `took`.
fn next_deep_check(took: Duration) -> Instant {
    // At most an hour apart, however slow the count was.
    Instant::now() + DEEP_CHECK_EVERY.max(took.saturating_mul(DEEP_CHECK_SPACING)).min(Duration::from_secs(3600))
}

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
    /// When a refresh should next count every trace (none: the next one).
    next_deep: Option<Instant>,
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
                s.next_deep = Some(next_deep_check(started.elapsed()));
            }
            if save {
                s.last_save = Some(Instant::now());
            }
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
    use super::{DEEP_CHECK_EVERY, Duration, Instant, next_deep_check, reading_message};

    #[test]
    fn the_count_of_every_trace_waits_five_hundred_times_its_cost_and_at_least_ten_seconds() {
        let due_in = |took: Duration| next_deep_check(took).saturating_duration_since(Instant::now());
        // A quick count: the floor.
        let quick = due_in(Duration::from_millis(2));
        assert!(quick > DEEP_CHECK_EVERY - Duration::from_secs(1) && quick <= DEEP_CHECK_EVERY, "{quick:?}");
        // 50 ms (big10.db after a commit): 25 s, so the count is 0.2% of the time.
        let slow = due_in(Duration::from_millis(50));
        assert!(slow > Duration::from_secs(24) && slow <= Duration::from_secs(25), "{slow:?}");
        // A huge cost neither overflows nor puts the count off for more than an hour.
        let huge = due_in(Duration::from_secs(u64::MAX / 1000));
        assert!(huge > Duration::from_secs(3599) && huge <= Duration::from_secs(3600), "{huge:?}");
    }

    #[test]
    fn reading_message_says_the_share_read() {
        assert_eq!(reading_message(12_288, 100_000), "Reading 12,288 of 100,000 events (12%)");
        assert_eq!(reading_message(5, 0), "Reading 5 events");
        assert_eq!(reading_message(150, 100), "Reading 150 of 100 events (100%)", "a grown file stops at 100%");
    }
}
