//! The jobs that read the open file and keep it current: the full read, a refresh, the watcher.

use super::*;

impl Jobs {
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
            let next_deep = slot.lock().ok().and_then(|s| s.next_deep);
            let deep = next_deep.is_none_or(|t| Instant::now() >= t);
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
}

/// The watcher's refresh of the open file, on its own thread: the same as a refresh job's but
/// without a frame of the UI's to start it, so a change costs the one frame that shows it.
/// `None` when there is no read of `path` to add to (an open runs, or the last read failed)
/// or the refresh failed (a writer's lock, say): the UI then starts a refresh job, which
/// retries and reports.
fn refresh_from_watcher(slot: &Mutex<LiveSlot>, path: &Path, post: &dyn Fn(Reply)) -> Option<()> {
    let started = Instant::now();
    let (mut live, kept, next_deep) = {
        let mut s = slot.lock().ok()?;
        if s.path != path {
            return None;
        }
        let live = s.live.take()?;
        (live, s.store.take(), s.next_deep)
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
    let deep = next_deep.is_none_or(|t| Instant::now() >= t);
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
            next_deep: Some(next_deep_check(Duration::ZERO)),
            last_save: now,
        };
    }
}
