//! The file a [`Live`](super::Live) was read from (path, device and inode) and its state as bytes: equal
//! states, taken before two reads, mean nothing was written between them (see the module's
//! notes in [`super`]).

use crate::error::StoreError;
use crate::store::Store;

use super::FileIdentity;

/// How long a file must have been left alone before its [`FileState`] is kept.
pub const SETTLED: std::time::Duration = std::time::Duration::from_secs(1);

/// The state of a file and its `-wal` as bytes (see the module's notes): equal states, taken
/// before two reads, mean nothing was written between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState(pub(in crate::store) Vec<u8>);

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Appends a file's size, inode, modification time (and with `ctime` its change time) and
/// its first `head` bytes to `out`; `None` when the file changed within [`SETTLED`] (or its
/// times are unknown). With `empty_is_absent`, an empty file is written as a missing one: an
/// empty `-wal` holds nothing, and each reader that opens the file may make one again (and
/// each writer's last close delete it) without changing a byte of what is read.
#[cfg(unix)]
fn add_state(out: &mut Vec<u8>, path: &std::path::Path, head: usize, ctime: bool, empty_is_absent: bool) -> Option<()> {
    use std::io::Read as _;
    use std::os::unix::fs::MetadataExt as _;
    let meta = match std::fs::metadata(path) {
        Ok(m) if empty_is_absent && m.is_file() && m.len() == 0 => {
            out.push(0);
            return Some(());
        }
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(0);
            return Some(());
        }
        Err(_) => return None,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let at =
        |secs: i64, nanos: i64| Some(std::time::Duration::new(u64::try_from(secs).ok()?, u32::try_from(nanos).ok()?));
    let mut times = vec![(meta.mtime(), meta.mtime_nsec())];
    if ctime {
        times.push((meta.ctime(), meta.ctime_nsec()));
    }
    out.push(1);
    for v in [meta.len(), meta.dev(), meta.ino()] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (secs, nanos) in times {
        if now.checked_sub(at(secs, nanos)?)? < SETTLED {
            return None;
        }
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&nanos.to_le_bytes());
    }
    if head > 0 {
        let mut bytes = Vec::with_capacity(head);
        std::fs::File::open(path).ok()?.take(head as u64).read_to_end(&mut bytes).ok()?;
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    Some(())
}

#[cfg(not(unix))]
fn add_state(
    _out: &mut Vec<u8>,
    _path: &std::path::Path,
    _head: usize,
    _ctime: bool,
    _empty_is_absent: bool,
) -> Option<()> {
    None
}

impl Store {
    /// The file this store reads, by path, device and inode.
    ///
    /// # Errors
    /// When the file cannot be looked at.
    pub fn identity(&self) -> Result<FileIdentity, StoreError> {
        let meta = std::fs::metadata(&self.real_path).map_err(|e| crate::store::open::io_error(&self.path, e))?;
        let (dev, ino) = file_id(&meta);
        Ok(FileIdentity { real_path: self.real_path.clone(), dev, ino })
    }

    /// The file's state now (see the module's notes), when it can be kept: not for a private
    /// copy, not inside a read transaction already begun (the state must come before the
    /// read), not for a file changed within [`SETTLED`].
    pub(in crate::store) fn file_state(&self) -> Option<FileState> {
        if self._copy.is_some() || !self.conn.is_autocommit() {
            return None;
        }
        let mut out = Vec::with_capacity(256);
        // The file by its metadata only: opening and closing a handle of our own to it would
        // drop every POSIX lock this process holds on it (SQLite's shared lock of a store kept
        // open included), and a writer's last close would then checkpoint and delete the -wal
        // under that store. Every commit moves the file's modification and change times (and
        // the change time cannot be set back). The whole -wal header (SQLite locks the -shm,
        // never the -wal). Not the -wal's change time: SQLite running as root gives the -wal
        // its owner again on every open (fchown), which moves it with nothing written.
        add_state(&mut out, &self.real_path, 0, true, false)?;
        add_state(&mut out, &crate::store::wal_path(&self.real_path), 32, false, true)?;
        Some(FileState(out))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use crate::store::{Store, demo_file, wal_path};

    #[test]
    fn an_empty_wal_reads_as_none_and_a_written_one_does_not() {
        let (_dir, path) = demo_file(2, Some(10));
        // A state is kept only for a file left alone for a second.
        std::thread::sleep(super::SETTLED + std::time::Duration::from_millis(100));
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let wal = wal_path(&path);
        let _ = std::fs::remove_file(&wal);
        let without = store.file_state();
        assert!(without.is_some(), "a settled file has a state");
        std::fs::write(&wal, b"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.file_state(), without, "an empty -wal, just made, is no change");
        std::fs::write(&wal, [7u8; 64]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.file_state(), None, "a -wal written within the second has no state yet");
        std::thread::sleep(super::SETTLED + std::time::Duration::from_millis(100));
        let written = store.file_state();
        assert!(written.is_some() && written != without, "a -wal with bytes is a change");
        let _ = std::fs::remove_file(&wal);
    }
}
