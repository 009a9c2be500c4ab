//! The cache folder: an entry's path, writing it atomically (a temporary file, then a
//! rename), loading it, and keeping the folder under [`CACHE_LIMIT_BYTES`] by last use.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::store::incremental::{FileIdentity, Live};

use super::checksum::checksum;
use super::entry::{Entry, encode};
use super::validate::CORRUPT;
use super::{CACHE_LIMIT_BYTES, ListCache};

const SUFFIX: &str = "tilist";

impl ListCache {
    /// The entry of the file at `real_path`.
    #[must_use]
    pub fn entry(&self, real_path: &Path) -> PathBuf {
        let hash = checksum(real_path.as_os_str().as_encoded_bytes());
        self.dir.join(format!("{hash:016x}.{SUFFIX}"))
    }

    /// Writes `live`'s entry (temporary file, then rename) and trims the folder to its limit.
    /// A file that cannot be read incrementally is not cached.
    ///
    /// # Errors
    /// When the folder or the entry cannot be written.
    pub fn save(&self, live: &Live) -> std::io::Result<()> {
        if !live.exact {
            return Ok(());
        }
        let Some(bytes) = encode(live) else { return Ok(()) };
        std::fs::create_dir_all(&self.dir)?;
        let entry = self.entry(&live.identity.real_path);
        let tmp = self.dir.join(format!(".{}-{}.tmp", std::process::id(), crate::store::open::unique()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &entry)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.trim(&entry);
        Ok(())
    }

    /// Removes the least recently used entries while the folder is over its limit.
    fn trim(&self, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else { return };
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == SUFFIX))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= CACHE_LIMIT_BYTES {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }

    /// The entry for `identity`, its header and list read and checked (the rest is read
    /// when asked for), or why there is none to use. A bad entry is removed.
    pub(super) fn load(&self, identity: &FileIdentity) -> Result<Entry, String> {
        let path = self.entry(&identity.real_path);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no cache entry".to_owned()),
            Err(e) => return Err(format!("cache entry unreadable: {e}")),
        };
        let entry = Entry::read(file).ok_or_else(|| CORRUPT.to_owned()).and_then(|e| {
            if e.identity == *identity { Ok(e) } else { Err("cache entry of a replaced file".to_owned()) }
        });
        match entry {
            Ok(e) => {
                // Last use, for the trimming order.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Ok(e)
            }
            Err(why) => {
                let _ = std::fs::remove_file(&path);
                Err(why)
            }
        }
    }

    /// Removes the entry of the file at `real_path`.
    pub(super) fn remove(&self, real_path: &Path) {
        let _ = std::fs::remove_file(self.entry(real_path));
    }
}
