//! The files this process reads, by identity, so that no store reads a header through a
//! descriptor of its own while another store of the process holds locks on the file.

use std::path::Path;

use crate::error::StoreError;

use super::open::{io_error, read_header};

/// A file by identity, so that two paths to one file are one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileKey {
    pub(super) dev: u64,
    pub(super) ino: u64,
}

#[cfg(unix)]
pub(super) fn file_key(meta: &std::fs::Metadata) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt as _;
    Some(FileKey { dev: meta.dev(), ino: meta.ino() })
}

/// Elsewhere closing a handle does not drop another's locks: no entry is needed.
#[cfg(not(unix))]
pub(super) fn file_key(_meta: &std::fs::Metadata) -> Option<FileKey> {
    None
}

/// A file some store of this process reads.
pub(super) struct HeldFile {
    pub(super) key: FileKey,
    pub(super) stores: usize,
}

/// Every file a live [`Store`] reads. POSIX locks belong to the process, and closing any
/// descriptor of a file drops all of them: reading a header through a descriptor of our own
/// while another store of this process is inside a read would let a writer commit under it.
/// So a file's header is read only when no store of this process holds the file.
pub(super) static HELD_FILES: std::sync::Mutex<Vec<HeldFile>> = std::sync::Mutex::new(Vec::new());

pub(super) fn held_files() -> std::sync::MutexGuard<'static, Vec<HeldFile>> {
    // The list is consistent between statements; a panic elsewhere cannot leave it half-made.
    HELD_FILES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A store's entry in [`HELD_FILES`], given up on drop.
pub(super) struct Held {
    pub(super) key: Option<FileKey>,
}

impl Held {
    /// Checks that `real` (the resolved `path`) is a non-empty SQLite file and enters it in
    /// the list.
    pub(super) fn take(path: &Path, real: &Path) -> Result<Held, StoreError> {
        let meta = std::fs::metadata(real).map_err(|e| io_error(path, e))?;
        if meta.is_dir() {
            return Err(StoreError::NotAFile { path: path.to_owned(), what: "is a directory, not a database file" });
        }
        if !meta.is_file() {
            // A FIFO would block the open; a device or socket is no database either.
            return Err(StoreError::NotAFile {
                path: path.to_owned(),
                what: "not a regular file (a pipe, socket or device), not a database",
            });
        }
        if meta.len() == 0 {
            return Err(StoreError::Empty { path: path.to_owned() });
        }
        let Some(key) = file_key(&meta) else {
            read_header(path, real)?;
            return Ok(Held { key: None });
        };
        let mut files = held_files();
        if let Some(file) = files.iter_mut().find(|f| f.key == key) {
            file.stores += 1;
            return Ok(Held { key: Some(key) });
        }
        // Read under the lock: no other store of this process can be reading the file now.
        read_header(path, real)?;
        files.push(HeldFile { key, stores: 1 });
        Ok(Held { key: Some(key) })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut files = held_files();
        if let Some(i) = files.iter().position(|f| f.key == key) {
            files[i].stores -= 1;
            if files[i].stores == 0 {
                files.swap_remove(i);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod held_file_tests {
    //! The list of files this process reads: one entry per file, however it is reached, kept
    //! while any store reads it.
    use super::*;
    use crate::store::{Store, demo_file};

    fn stores_of(path: &Path) -> Option<usize> {
        let key = std::fs::metadata(path).ok().as_ref().and_then(file_key)?;
        held_files().iter().find(|f| f.key == key).map(|f| f.stores)
    }

    #[test]
    fn two_paths_to_one_file_share_an_entry_that_ends_with_the_last_store() {
        let (dir, path) = demo_file(1, None);
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&path, &link).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), None);
        let first = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), Some(1));
        let second = Store::open(&link).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stores_of(&path), Some(2));
        assert_eq!(second.real_path, first.real_path, "the link resolves to the file");
        drop(first);
        assert_eq!(stores_of(&path), Some(1));
        drop(second);
        assert_eq!(stores_of(&path), None);
        // A store that fails to open gives its entry back too.
        std::fs::write(dir.path().join("text.db"), "not a database at all").unwrap_or_else(|e| panic!("{e}"));
        assert!(Store::open(&dir.path().join("text.db")).is_err());
        assert_eq!(stores_of(&dir.path().join("text.db")), None);
    }
}
