//! The list cache: a file's [`Live`] kept in the user's cache folder, so that a file seen
//! before lists without reading it again.
//!
//! An entry is used only when everything about it checks out: the format and app version, a
//! checksum over each of its parts, the file's resolved path, device and inode, and then the
//! mark against the file itself. When the file's state (see [`super::incremental`]) is the one
//! kept with the entry, nothing was written since, and the cheap checks suffice
//! ([`Store::list_from_cache`] reads no more than the list); otherwise every check runs
//! ([`Store::refresh_live`] with the deep count, which also reads what was appended since).
//! Anything else (a corrupt or truncated entry, another version, a file
//! replaced under the path, rows deleted) drops the entry and the file is read in full. The
//! cache never lives beside the user's file: `$TRACE_INSPECTOR_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/trace-inspector`, else `~/.cache/trace-inspector`. Entries are written to
//! a temporary file and renamed; the folder is kept under [`CACHE_LIMIT_BYTES`], oldest
//! entries (by last use) first.
//!
//! The pieces: `folder` (where entries live, writing them atomically, the size limit),
//! `validate` (using an entry only when it checks out against the file), `entry` (the
//! on-disk format of an entry), `list_part` (its session list, decoded on two threads),
//! `codec` (the byte reader and writer) and `checksum`.

mod checksum;
mod codec;
mod entry;
mod folder;
mod list_part;
mod validate;

use std::path::{Path, PathBuf};

use super::incremental::Refresh;

/// Bumped whenever the encoding or the meaning of a cached value changes.
pub const CACHE_FORMAT: u32 = 2;
/// The most the cache folder holds; older entries are removed past it.
pub const CACHE_LIMIT_BYTES: u64 = 200 * 1024 * 1024;

/// The list cache folder.
#[derive(Clone, Debug)]
pub struct ListCache {
    dir: PathBuf,
}

/// What [`Store::live_from_cache`] made of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// The entry was used as it was: the file's state showed nothing written since and the
    /// cheap checks held (always `Refresh::Unchanged`: nothing to write back).
    Hit(Refresh),
    /// The entry held against the file checked in full (the deep count included), its state
    /// having moved or been unknown; appends since were read. Worth writing back.
    Checked(Refresh),
    /// No entry, or one that could not be used (why): the file was read in full.
    Miss(String),
}

impl ListCache {
    /// The user's cache folder for lists (see the module's notes); `None` without a home.
    #[must_use]
    pub fn from_env() -> Option<ListCache> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = var("TRACE_INSPECTOR_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("trace-inspector")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("trace-inspector")))?;
        Some(ListCache { dir })
    }

    /// A cache in this folder.
    #[must_use]
    pub fn at(dir: &Path) -> ListCache {
        ListCache { dir: dir.to_owned() }
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
