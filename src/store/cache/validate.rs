//! Using a cache entry: only when it checks out against the file, else the file is read in
//! full and the entry dropped.

use crate::error::StoreError;
use crate::model::{SessionList, SessionRow, Warning};
use crate::store::Store;
use crate::store::incremental::{Live, Refresh};

use super::entry::Entry;
use super::{CacheUse, ListCache};

pub(super) const CORRUPT: &str = "cache entry corrupt or of another version";

impl Store {
    /// The file's [`Live`] from `cache` when its entry checks out against the file (and
    /// brought up to date), else read in full. The caller saves it back unless the answer is
    /// `Hit(Refresh::Unchanged)`.
    ///
    /// When the file's state is the entry's (nothing written since, see
    /// [`super::incremental`]), `on_list` sees the cached list after the cheap checks, before
    /// the rest of the entry is decoded. Otherwise the entry is checked in full (the deep
    /// count included) and brought up to date first.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn live_from_cache(
        &self,
        cache: &ListCache,
        on_list: &mut dyn FnMut(&SessionList),
    ) -> Result<(Live, CacheUse), StoreError> {
        let identity = self.identity()?;
        let entry = match cache.load(&identity) {
            Ok(e) => e,
            Err(why) => return Ok((self.read_live(on_list)?, CacheUse::Miss(why))),
        };
        // The list decodes while SQLite answers the checks.
        let (as_it_was, listed) = std::thread::scope(|scope| {
            let decoding = scope.spawn(|| entry.list.decode());
            let holds = self.entry_holds(&entry);
            (holds, decoding.join().ok().flatten())
        });
        let as_it_was = as_it_was?;
        let Some((sessions, warnings)) = listed else {
            cache.remove(&identity.real_path);
            return Ok((self.read_live(on_list)?, CacheUse::Miss(CORRUPT.to_owned())));
        };
        let list = self.list_of(sessions, warnings);
        if as_it_was {
            on_list(&list);
        }
        let Some(mut live) = entry.into_live(list) else {
            cache.remove(&identity.real_path);
            return Ok((self.read_live(on_list)?, CacheUse::Miss(CORRUPT.to_owned())));
        };
        if as_it_was {
            return Ok((live, CacheUse::Hit(Refresh::Unchanged)));
        }
        let refresh = self.refresh_live(&mut live, true)?;
        on_list(live.list());
        match refresh {
            Refresh::Reread(why) => Ok((live, CacheUse::Miss(format!("cache entry out of date: {why}")))),
            done => Ok((live, CacheUse::Checked(done))),
        }
    }

    /// The cached session list, only when the file's state shows nothing was written since the
    /// entry was (and the cheap checks hold): no more of the entry is decoded. `None` means
    /// "ask [`Store::live_from_cache`]", which checks in full.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn list_from_cache(&self, cache: &ListCache) -> Result<Option<SessionList>, StoreError> {
        let Ok(entry) = cache.load(&self.identity()?) else { return Ok(None) };
        // The list decodes while SQLite answers the checks.
        let (holds, listed) = std::thread::scope(|scope| {
            let decoding = scope.spawn(|| entry.list.decode());
            let holds = self.entry_holds(&entry);
            (holds, decoding.join().ok().flatten())
        });
        match (holds?, listed) {
            (true, Some((sessions, warnings))) => Ok(Some(self.list_of(sessions, warnings))),
            (true, None) => {
                cache.remove(&entry.identity.real_path);
                Ok(None)
            }
            (false, _) => Ok(None),
        }
    }

    /// True when the file's state now is the entry's and the cheap checks hold.
    fn entry_holds(&self, entry: &Entry) -> Result<bool, StoreError> {
        // The state before the checks' read transaction.
        let now = self.file_state();
        Ok(entry.state.is_some() && now == entry.state && self.mark_holds(&entry.mark)?)
    }

    /// A cached list, with the file's facts read now.
    fn list_of(&self, sessions: Vec<std::sync::Arc<SessionRow>>, warnings: Vec<Warning>) -> SessionList {
        let trace_count = sessions.iter().map(|s| s.event_count).sum();
        SessionList { file: self.file_info_with(trace_count), sessions, warnings }
    }
}
