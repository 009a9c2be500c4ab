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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::slow_tally::SlowTally;
use crate::error::StoreError;
use crate::hash::IdHashBuilder;
use crate::model::{SessionList, SessionRow, Warning};
use crate::time::Timestamp;

use super::Store;
use super::incremental::{FileIdentity, FileState, Live, Mark, Refresh, SessionSums, TableMark};
use super::list::SessionRecord;
use super::models::{ModelSums, ModelTally};
use super::sums::{SqlSum, TraceAggregate};

/// Bumped whenever the encoding or the meaning of a cached value changes.
pub const CACHE_FORMAT: u32 = 2;
/// The most the cache folder holds; older entries are removed past it.
pub const CACHE_LIMIT_BYTES: u64 = 200 * 1024 * 1024;
const MAGIC: &[u8; 8] = b"TILIST\0\x01";
const SUFFIX: &str = "tilist";

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
        let tmp = self.dir.join(format!(".{}-{}.tmp", std::process::id(), super::open::unique()));
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
    fn load(&self, identity: &FileIdentity) -> Result<Entry, String> {
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
    fn remove(&self, real_path: &Path) {
        let _ = std::fs::remove_file(self.entry(real_path));
    }
}

const CORRUPT: &str = "cache entry corrupt or of another version";

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
    fn list_of(&self, sessions: Vec<SessionRow>, warnings: Vec<Warning>) -> SessionList {
        let trace_count = sessions.iter().map(|s| s.event_count).sum();
        SessionList { file: self.file_info_with(trace_count), sessions, warnings }
    }
}

/// A fast 64-bit checksum of bytes (four lanes of eight bytes): it finds a damaged entry, not
/// an attack.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let seed = bytes.len() as u64;
    let mut lanes = [seed ^ 0x2545_F491_4F6C_DD1D, seed ^ 0x6A09_E667_F3BC_C908, seed ^ 0xBB67_AE85_84CA_A73B, !seed];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (*lane ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
        }
    }
    let mut h = lanes.iter().fold(0u64, |h, &l| (h ^ l).wrapping_mul(K).rotate_left(31));
    for &b in blocks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

// ---- the entry ----------------------------------------------------------------------------
//
// MAGIC, CACHE_FORMAT (u32), the app version; then three parts, each its length, its checksum
// and its bytes: the header (file identity, file state, mark), the list (the sessions as
// listed, newest first, and the list's warnings), and the rest (what a refresh adds to: the
// session rows, the trace aggregates, the running sums, the slow-call tally, the models).
// The rest refers to the list instead of repeating it: a session row that reads as its list
// row is that row's index, the aggregates are the list's unless they differ, and the session
// sets of the slow-call tally and the models are indexes into the list's ids.

/// An entry's header and list, read and checked; the rest is still in `file`.
struct Entry {
    file: std::fs::File,
    /// Bytes of `file` not read yet: no part can claim more.
    left: u64,
    identity: FileIdentity,
    state: Option<FileState>,
    mark: Mark,
    /// The list, its sizes checked, not decoded yet.
    list: ListPart,
}

/// Reads one part (length, checksum, bytes) of at most `left` bytes; `None` when cut or damaged.
fn read_part(file: &mut std::fs::File, left: &mut u64) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut head = [0u8; 16];
    file.read_exact(&mut head).ok()?;
    let mut d = Dec(&head);
    let (n, sum) = (d.u64()?, d.u64()?);
    *left = left.checked_sub(16)?;
    if n > *left {
        return None;
    }
    *left -= n;
    // Read into spare capacity: zeroing it first would touch every page twice.
    let mut bytes = Vec::with_capacity(usize::try_from(n).ok()?);
    file.take(n).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == n && checksum(&bytes) == sum).then_some(bytes)
}

impl Entry {
    fn read(mut file: std::fs::File) -> Option<Entry> {
        use std::io::Read as _;
        let mut left = file.metadata().ok()?.len();
        let version = env!("CARGO_PKG_VERSION").as_bytes();
        let mut prelude = vec![0u8; MAGIC.len() + 4 + 8 + version.len()];
        file.read_exact(&mut prelude).ok()?;
        left = left.checked_sub(prelude.len() as u64)?;
        let mut d = Dec(&prelude);
        if d.take(MAGIC.len())? != MAGIC || d.u32()? != CACHE_FORMAT || d.bytes()? != version {
            return None;
        }
        let header = read_part(&mut file, &mut left)?;
        let mut d = Dec(&header);
        let real_path = PathBuf::from(String::from_utf8(d.bytes()?.to_vec()).ok()?);
        let identity = FileIdentity { real_path, dev: d.u64()?, ino: d.u64()? };
        let state = d.opt(|d| d.bytes().map(|b| FileState(b.to_vec())))?;
        let mark = Mark {
            schema_version: d.i64()?,
            schema: d.str()?,
            traces: d.table()?,
            sessions: d.opt(Dec::table)?,
            oldest_timestamp: d.opt(|d| d.bytes().map(<[u8]>::to_vec))?,
        };
        if !d.0.is_empty() {
            return None;
        }
        let list = ListPart { bytes: read_part(&mut file, &mut left)? };
        Some(Entry { file, left, identity, state, mark, list })
    }

    /// The whole [`Live`], `list` being this entry's list; `None` when the rest is damaged.
    #[expect(clippy::too_many_lines, reason = "the fields of a Live, in the order `encode` writes them")]
    fn into_live(mut self, list: SessionList) -> Option<Live> {
        let rest = read_part(&mut self.file, &mut self.left)?;
        if self.left != 0 {
            return None;
        }
        let listed = &list.sessions;
        let mut d = Dec(&rest);
        let n = d.len(2)?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let rowid = d.opt(Dec::i64)?;
            let row = match d.u8()? {
                0 => None,
                1 => Some(bare(listed.get(usize::try_from(d.u64()?).ok()?)?)),
                2 => Some(d.row()?),
                _ => return None,
            };
            rows.push(SessionRecord { rowid, row });
        }
        let aggregates = if d.bool()? {
            let n = d.len(8)?;
            let mut aggregates = BTreeMap::new();
            for _ in 0..n {
                let a = TraceAggregate {
                    session_id: d.str()?,
                    event_count: d.u64()?,
                    input_tokens: d.i64()?,
                    output_tokens: d.i64()?,
                    cost_usd: d.f64()?,
                    error_count: d.u64()?,
                    first_event_at: d.opt_str()?,
                    last_event_at: d.opt_str()?,
                };
                aggregates.insert(a.session_id.clone(), a);
            }
            aggregates
        } else {
            listed_aggregates(listed)
        };
        let n = d.len(8)?;
        let mut sums = HashMap::with_capacity(n);
        for _ in 0..n {
            let k = d.str()?;
            let s = SessionSums {
                count: d.u64()?,
                input: d.i64()?,
                output: d.i64()?,
                cost: d.sum()?,
                errors: d.u64()?,
                first: d.opt_str()?,
                last: d.opt_str()?,
            };
            sums.insert(k, s);
        }
        let n = d.len(2)?;
        let read_warnings = (0..n).map(|_| d.warning()).collect::<Option<Vec<_>>>()?;
        // The session ids the tally and models refer to: the list's, then any others.
        let n = d.len(8)?;
        let mut ids: Vec<Arc<str>> = Vec::with_capacity(listed.len() + n);
        ids.extend(listed.iter().map(|s| Arc::from(s.id.as_str())));
        for _ in 0..n {
            ids.push(Arc::from(d.str()?));
        }
        let id = |d: &mut Dec<'_>| -> Option<Arc<str>> { ids.get(usize::try_from(d.u32()?).ok()?).cloned() };
        let n = d.len(4)?;
        let sessions: Vec<Arc<str>> = (0..n).map(|_| id(&mut d)).collect::<Option<_>>()?;
        let n = d.len(16)?;
        let mut tools = HashMap::with_capacity(n);
        for _ in 0..n {
            let name = d.str()?;
            let calls = d.len(12)?;
            let raw = d.take(calls * 12)?;
            let list: Vec<(f64, u32)> = raw
                .chunks_exact(12)
                .map(|c| {
                    let mut f = [0u8; 8];
                    f.copy_from_slice(&c[..8]);
                    let mut s = [0u8; 4];
                    s.copy_from_slice(&c[8..]);
                    (f64::from_bits(u64::from_le_bytes(f)), u32::from_le_bytes(s))
                })
                .collect();
            tools.insert(name, list);
        }
        let slow = SlowTally::from_parts(tools, sessions)?;
        let n = d.len(8)?;
        let mut models = BTreeMap::new();
        for _ in 0..n {
            let name = d.str()?;
            let provider = d.opt_str()?;
            let calls = d.u64()?;
            let k = d.len(4)?;
            let mut set = HashSet::with_capacity_and_hasher(k, IdHashBuilder::default());
            for _ in 0..k {
                set.insert(id(&mut d)?);
            }
            let m = ModelSums { provider, calls, sessions: set, input: d.i64()?, output: d.i64()?, cost: d.sum()? };
            models.insert(name, m);
        }
        if !d.0.is_empty() || !rows.is_sorted_by_key(|r: &SessionRecord| r.rowid) {
            return None;
        }
        Some(Live {
            identity: self.identity,
            mark: self.mark,
            exact: true,
            rows,
            aggregates,
            sums,
            read_warnings,
            slow,
            models: ModelTally::from_shared(models, &ids),
            models_sql: None,
            list,
            state: self.state,
        })
    }
}

/// The list part of an entry: a table of the distinct strings (each its length and UTF-8),
/// one record of [`RECORD_BYTES`] per session as listed (strings as indexes into the table,
/// [`NONE`] for none), the sessions' warnings (indexes), and the list's warnings. Records of
/// one size let two threads decode the halves at once.
struct ListPart {
    bytes: Vec<u8>,
}

/// An absent string in a record.
const NONE: u32 = u32::MAX;
/// One session's record: id, task, status, started_at, completed_at, first_event_at,
/// last_event_at, first warning and warning count (u32 each), which of started, completed and
/// duration are there and whether the session has a row (one byte), then started, completed,
/// duration, event count, input, output and total tokens, cost and errors (8 bytes each).
const RECORD_BYTES: usize = 9 * 4 + 1 + 9 * 8;
/// From this many sessions on, a list decodes on two threads.
const PARALLEL_FROM: usize = 8192;

/// The distinct strings of a list, each once, by first use.
#[derive(Default)]
struct Strings<'a> {
    index: HashMap<&'a str, u32, IdHashBuilder>,
    all: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn of(&mut self, s: &'a str) -> Option<u32> {
        if let Some(&i) = self.index.get(s) {
            return Some(i);
        }
        let i = u32::try_from(self.all.len()).ok().filter(|&i| i != NONE)?;
        self.index.insert(s, i);
        self.all.push(s);
        Some(i)
    }
    fn of_opt(&mut self, s: Option<&'a String>) -> Option<u32> {
        s.map_or(Some(NONE), |s| self.of(s))
    }
}

impl ListPart {
    /// The list part of `list`; `None` when a string or count does not fit the format.
    fn encode(list: &SessionList) -> Option<Enc> {
        let mut strings = Strings::default();
        let mut records = Enc(Vec::with_capacity(list.sessions.len() * RECORD_BYTES));
        let mut row_warnings: Vec<u32> = Vec::new();
        for s in &list.sessions {
            for text in [&s.id, &s.task, &s.status] {
                records.u32(strings.of(text)?);
            }
            for text in [&s.started_at, &s.completed_at, &s.first_event_at, &s.last_event_at] {
                records.u32(strings.of_opt(text.as_ref())?);
            }
            records.u32(u32::try_from(row_warnings.len()).ok()?);
            records.u32(u32::try_from(s.warnings.len()).ok()?);
            for w in &s.warnings {
                row_warnings.push(strings.of(w)?);
            }
            let flags = u8::from(s.started.is_some())
                | u8::from(s.completed.is_some()) << 1
                | u8::from(s.duration_ms.is_some()) << 2
                | u8::from(s.has_session_row) << 3;
            records.0.push(flags);
            records.i64(s.started.map_or(0, |t| t.0));
            records.i64(s.completed.map_or(0, |t| t.0));
            records.f64(s.duration_ms.unwrap_or(0.0));
            records.u64(s.event_count);
            records.i64(s.total_input_tokens);
            records.i64(s.total_output_tokens);
            records.i64(s.total_tokens);
            records.f64(s.total_cost_usd);
            records.u64(s.error_count);
        }
        let mut e = Enc::default();
        e.len(strings.all.len());
        for text in &strings.all {
            e.u32(u32::try_from(text.len()).ok()?);
            e.0.extend_from_slice(text.as_bytes());
        }
        e.len(list.sessions.len());
        e.0.extend_from_slice(&records.0);
        e.len(row_warnings.len());
        for w in row_warnings {
            e.u32(w);
        }
        e.len(list.warnings.len());
        for w in &list.warnings {
            e.warning(w);
        }
        Some(e)
    }

    /// The sessions and warnings; `None` when the part does not decode.
    fn decode(&self) -> Option<(Vec<SessionRow>, Vec<Warning>)> {
        let mut d = Dec(&self.bytes);
        let n = d.len(4)?;
        let mut strings: Vec<&str> = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::try_from(d.u32()?).ok()?;
            strings.push(std::str::from_utf8(d.take(len)?).ok()?);
        }
        let rows = d.len(RECORD_BYTES)?;
        let records = d.take(rows * RECORD_BYTES)?;
        let n = d.len(4)?;
        let row_warnings: Vec<&str> =
            (0..n).map(|_| strings.get(usize::try_from(d.u32()?).ok()?).copied()).collect::<Option<_>>()?;
        let n = d.len(2)?;
        let warnings = (0..n).map(|_| d.warning()).collect::<Option<Vec<_>>>()?;
        if !d.0.is_empty() {
            return None;
        }
        // Each half decodes into its place: nothing is moved afterwards.
        let mut sessions = vec![SessionRow::default(); rows];
        let decode = |part: &[u8], slots: &mut [SessionRow]| -> Option<()> {
            for (r, slot) in part.chunks_exact(RECORD_BYTES).zip(slots) {
                *slot = record(r, &strings, &row_warnings)?;
            }
            Some(())
        };
        if rows >= PARALLEL_FROM {
            let (first, second) = records.split_at(rows / 2 * RECORD_BYTES);
            let (first_slots, second_slots) = sessions.split_at_mut(rows / 2);
            std::thread::scope(|scope| {
                let first = scope.spawn(|| decode(first, first_slots));
                let second = decode(second, second_slots);
                first.join().ok().flatten().and(second)
            })?;
        } else {
            decode(records, &mut sessions)?;
        }
        Some((sessions, warnings))
    }
}

/// One session from its record (see [`RECORD_BYTES`]).
fn record(r: &[u8], strings: &[&str], row_warnings: &[&str]) -> Option<SessionRow> {
    let mut d = Dec(r);
    let text = |i: u32| strings.get(usize::try_from(i).ok()?).map(|s| (*s).to_owned());
    let opt = |i: u32| if i == NONE { Some(None) } else { text(i).map(Some) };
    let (id, task, status) = (text(d.u32()?)?, text(d.u32()?)?, text(d.u32()?)?);
    let (started_at, completed_at) = (opt(d.u32()?)?, opt(d.u32()?)?);
    let (first_event_at, last_event_at) = (opt(d.u32()?)?, opt(d.u32()?)?);
    let from = usize::try_from(d.u32()?).ok()?;
    let count = usize::try_from(d.u32()?).ok()?;
    let warnings = row_warnings.get(from..from.checked_add(count)?)?.iter().map(|w| (*w).to_owned()).collect();
    let flags = d.u8()?;
    let (started, completed, duration_ms) = (d.i64()?, d.i64()?, d.f64()?);
    Some(SessionRow {
        id,
        task,
        status,
        started_at,
        completed_at,
        started: (flags & 1 != 0).then_some(Timestamp(started)),
        completed: (flags & 2 != 0).then_some(Timestamp(completed)),
        event_count: d.u64()?,
        total_input_tokens: d.i64()?,
        total_output_tokens: d.i64()?,
        total_tokens: d.i64()?,
        total_cost_usd: d.f64()?,
        error_count: d.u64()?,
        duration_ms: (flags & 4 != 0).then_some(duration_ms),
        first_event_at,
        last_event_at,
        has_session_row: flags & 8 != 0,
        warnings,
    })
}

/// A list row without what the traces added: the session row it was made from.
fn bare(listed: &SessionRow) -> SessionRow {
    SessionRow {
        event_count: 0,
        total_input_tokens: 0,
        total_output_tokens: 0,
        total_tokens: 0,
        total_cost_usd: 0.0,
        error_count: 0,
        first_event_at: None,
        last_event_at: None,
        ..listed.clone()
    }
}

/// The trace aggregates as the list shows them: one for each session with traces.
fn listed_aggregates(listed: &[SessionRow]) -> BTreeMap<String, TraceAggregate> {
    listed
        .iter()
        .filter(|s| s.event_count > 0)
        .map(|s| {
            let a = TraceAggregate {
                session_id: s.id.clone(),
                event_count: s.event_count,
                input_tokens: s.total_input_tokens,
                output_tokens: s.total_output_tokens,
                cost_usd: s.total_cost_usd,
                error_count: s.error_count,
                first_event_at: s.first_event_at.clone(),
                last_event_at: s.last_event_at.clone(),
            };
            (s.id.clone(), a)
        })
        .collect()
}

// ---- encoding -----------------------------------------------------------------------------

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            f(self, v);
        }
    }
    fn opt_str(&mut self, v: Option<&String>) {
        self.opt(v, |e, s| e.str(s));
    }
    fn sum(&mut self, s: &SqlSum) {
        self.f64(s.r_sum);
        self.f64(s.r_err);
        self.i64(s.i_sum);
        self.bool(s.approx);
    }
    fn end(&mut self, v: Option<&(i64, Vec<u8>)>) {
        self.opt(v, |e, (n, b)| {
            e.i64(*n);
            e.bytes(b);
        });
    }
    fn table(&mut self, t: &TableMark) {
        self.u64(t.count);
        self.end(t.first.as_ref());
        self.end(t.last.as_ref());
    }
    fn warning(&mut self, w: &Warning) {
        self.opt_str(w.trace_id.as_ref());
        self.str(&w.message);
    }
    fn row(&mut self, s: &SessionRow) {
        self.str(&s.id);
        self.str(&s.task);
        self.str(&s.status);
        self.opt_str(s.started_at.as_ref());
        self.opt_str(s.completed_at.as_ref());
        self.opt(s.started.as_ref(), |e, t| e.i64(t.0));
        self.opt(s.completed.as_ref(), |e, t| e.i64(t.0));
        self.u64(s.event_count);
        self.i64(s.total_input_tokens);
        self.i64(s.total_output_tokens);
        self.i64(s.total_tokens);
        self.f64(s.total_cost_usd);
        self.u64(s.error_count);
        self.opt(s.duration_ms.as_ref(), |e, d| e.f64(*d));
        self.opt_str(s.first_event_at.as_ref());
        self.opt_str(s.last_event_at.as_ref());
        self.bool(s.has_session_row);
        self.len(s.warnings.len());
        for w in &s.warnings {
            self.str(w);
        }
    }
    /// Appends this as one part: its length, its checksum, its bytes.
    fn part_of(out: &mut Vec<u8>, part: &Enc) {
        out.extend_from_slice(&(part.0.len() as u64).to_le_bytes());
        out.extend_from_slice(&checksum(&part.0).to_le_bytes());
        out.extend_from_slice(&part.0);
    }
}

#[expect(clippy::too_many_lines, reason = "the fields of a Live, in the order `Entry` reads them")]
/// The entry of `live`; `None` when it does not fit the format (a string of 4 GB).
fn encode(live: &Live) -> Option<Vec<u8>> {
    let mut header = Enc::default();
    let id = &live.identity;
    header.bytes(id.real_path.as_os_str().as_encoded_bytes());
    header.u64(id.dev);
    header.u64(id.ino);
    header.opt(live.state.as_ref(), |e, s| e.bytes(&s.0));
    let m = &live.mark;
    header.i64(m.schema_version);
    header.str(&m.schema);
    header.table(&m.traces);
    header.opt(m.sessions.as_ref(), Enc::table);
    header.opt(m.oldest_timestamp.as_ref(), |e, b| e.bytes(b));

    let listed = &live.list.sessions;
    let list = ListPart::encode(&live.list)?;

    let mut e = Enc::default();
    // Each listed session row's place in the list (the first of an id: it is the one listed).
    let mut at: HashMap<&str, usize, IdHashBuilder> =
        HashMap::with_capacity_and_hasher(listed.len(), IdHashBuilder::default());
    for (i, s) in listed.iter().enumerate() {
        at.entry(s.id.as_str()).or_insert(i);
    }
    e.len(live.rows.len());
    for r in &live.rows {
        e.opt(r.rowid.as_ref(), |e, n| e.i64(*n));
        match &r.row {
            None => e.0.push(0),
            Some(row) => match at.get(row.id.as_str()).and_then(|&i| Some((i, listed.get(i)?))) {
                Some((i, l)) if bare(l) == *row => {
                    e.0.push(1);
                    e.len(i);
                }
                _ => {
                    e.0.push(2);
                    e.row(row);
                }
            },
        }
    }
    let full = listed_aggregates(listed) != live.aggregates;
    e.bool(full);
    if full {
        e.len(live.aggregates.len());
        for a in live.aggregates.values() {
            e.str(&a.session_id);
            e.u64(a.event_count);
            e.i64(a.input_tokens);
            e.i64(a.output_tokens);
            e.f64(a.cost_usd);
            e.u64(a.error_count);
            e.opt_str(a.first_event_at.as_ref());
            e.opt_str(a.last_event_at.as_ref());
        }
    }
    e.len(live.sums.len());
    for (k, s) in &live.sums {
        e.str(k);
        e.u64(s.count);
        e.i64(s.input);
        e.i64(s.output);
        e.sum(&s.cost);
        e.u64(s.errors);
        e.opt_str(s.first.as_ref());
        e.opt_str(s.last.as_ref());
    }
    e.len(live.read_warnings.len());
    for w in &live.read_warnings {
        e.warning(w);
    }
    // Session ids by index: the list's, then the others the tally and models name.
    let (tools, sessions) = live.slow.parts();
    let named = sessions.iter().chain(live.models.models.values().flat_map(|m| m.sessions.iter()));
    let mut extra: Vec<&str> = Vec::new();
    for s in named {
        if !at.contains_key(&**s) {
            at.insert(s, listed.len() + extra.len());
            extra.push(s);
        }
    }
    e.len(extra.len());
    for s in &extra {
        e.str(s);
    }
    let index = |s: &str| at.get(s).map_or(u32::MAX, |&i| u32::try_from(i).unwrap_or(u32::MAX));
    e.len(sessions.len());
    for s in sessions {
        e.u32(index(s));
    }
    e.len(tools.len());
    for (name, calls) in tools {
        e.str(name);
        e.len(calls.len());
        for (d, s) in calls {
            e.f64(*d);
            e.u32(*s);
        }
    }
    e.len(live.models.models.len());
    for (name, m) in &live.models.models {
        e.str(name);
        e.opt_str(m.provider.as_ref());
        e.u64(m.calls);
        e.len(m.sessions.len());
        for s in &m.sessions {
            e.u32(index(s));
        }
        e.i64(m.input);
        e.i64(m.output);
        e.sum(&m.cost);
    }

    let mut out = Vec::with_capacity(header.0.len() + list.0.len() + e.0.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_FORMAT.to_le_bytes());
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    out.extend_from_slice(&(version.len() as u64).to_le_bytes());
    out.extend_from_slice(version);
    for part in [&header, &list, &e] {
        Enc::part_of(&mut out, part);
    }
    Some(out)
}

// ---- decoding -----------------------------------------------------------------------------

struct Dec<'a>(&'a [u8]);

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u64(&mut self) -> Option<u64> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Some(u64::from_le_bytes(w))
    }
    fn u32(&mut self) -> Option<u32> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Some(u32::from_le_bytes(w))
    }
    fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }
    fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    /// A count of items each at least `min` bytes long: never more than the bytes left allow.
    fn len(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(min.max(1))? <= self.0.len()).then_some(n)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    fn str(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.bool()? { f(self).map(Some) } else { Some(None) }
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        self.opt(Dec::str)
    }
    fn sum(&mut self) -> Option<SqlSum> {
        Some(SqlSum { r_sum: self.f64()?, r_err: self.f64()?, i_sum: self.i64()?, approx: self.bool()? })
    }
    fn end(&mut self) -> Option<Option<(i64, Vec<u8>)>> {
        self.opt(|d| Some((d.i64()?, d.bytes()?.to_vec())))
    }
    fn table(&mut self) -> Option<TableMark> {
        Some(TableMark { count: self.u64()?, first: self.end()?, last: self.end()? })
    }
    fn warning(&mut self) -> Option<Warning> {
        Some(Warning { trace_id: self.opt_str()?, message: self.str()? })
    }
    fn row(&mut self) -> Option<SessionRow> {
        let mut s = SessionRow {
            id: self.str()?,
            task: self.str()?,
            status: self.str()?,
            started_at: self.opt_str()?,
            completed_at: self.opt_str()?,
            started: self.opt(Dec::i64)?.map(Timestamp),
            completed: self.opt(Dec::i64)?.map(Timestamp),
            event_count: self.u64()?,
            total_input_tokens: self.i64()?,
            total_output_tokens: self.i64()?,
            total_tokens: self.i64()?,
            total_cost_usd: self.f64()?,
            error_count: self.u64()?,
            duration_ms: self.opt(Dec::f64)?,
            first_event_at: self.opt_str()?,
            last_event_at: self.opt_str()?,
            has_session_row: self.bool()?,
            warnings: Vec::new(),
        };
        let n = self.len(8)?;
        s.warnings = (0..n).map(|_| self.str()).collect::<Option<_>>()?;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Option<Live> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("entry");
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let entry = Entry::read(std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}")))?;
        let (sessions, warnings) = entry.list.decode()?;
        entry.into_live(SessionList { sessions, warnings, ..SessionList::default() })
    }

    #[test]
    fn an_entry_decodes_to_what_was_encoded_and_damage_is_refused() {
        let (_dir, path) = super::super::demo_file(6, None);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let live = store.read_live(&mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        let bytes = encode(&live).unwrap_or_else(|| panic!("encodes"));
        let back = decode(&bytes).unwrap_or_else(|| panic!("decodes"));
        assert_eq!(back.mark, live.mark);
        assert_eq!(back.rows, live.rows);
        assert_eq!(back.aggregates, live.aggregates);
        assert_eq!(back.sums, live.sums);
        assert_eq!(back.slow, live.slow);
        assert_eq!(back.models.usage(), live.models.usage());
        assert_eq!(back.models.models, live.models.models);
        assert_eq!(back.list.sessions, live.list.sessions);
        assert_eq!(back.list.warnings, live.list.warnings);
        assert_eq!(back.state, live.state);
        for cut in [0, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for at in [9, 30, 60, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(decode(&bad).is_none(), "flipped at {at}");
        }
    }

    #[test]
    fn rows_and_aggregates_unlike_the_list_are_kept_in_full() {
        let (_dir, path) = super::super::demo_file(6, None);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut live = store.read_live(&mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        // A row that is not its list row, and an aggregate the list does not show.
        if let Some(row) = live.rows.first_mut().and_then(|r| r.row.as_mut()) {
            row.task.push_str(" (edited)");
        }
        if let Some(a) = live.aggregates.values_mut().next() {
            a.error_count += 7;
        }
        let back = decode(&encode(&live).unwrap_or_else(|| panic!("encodes"))).unwrap_or_else(|| panic!("decodes"));
        assert_eq!(back.rows, live.rows);
        assert_eq!(back.aggregates, live.aggregates);
    }

    #[test]
    fn a_long_list_decodes_on_two_threads_to_what_was_encoded() {
        let sessions: Vec<SessionRow> = (0..PARALLEL_FROM + 7)
            .map(|i| SessionRow {
                id: format!("s{i}"),
                task: format!("task {}", i % 5),
                status: if i % 3 == 0 { "running" } else { "completed" }.to_owned(),
                started_at: (i % 11 != 0).then(|| format!("2026-01-01T00:00:{:02}Z", i % 60)),
                completed_at: (i % 3 != 0).then(|| format!("2026-01-01T00:01:{:02}Z", i % 60)),
                started: (i % 11 != 0).then_some(Timestamp(i as i64)),
                completed: (i % 3 != 0).then_some(Timestamp(i as i64 + 60)),
                event_count: i as u64,
                total_input_tokens: i as i64 * 3,
                total_output_tokens: i as i64,
                total_tokens: i as i64 * 4,
                total_cost_usd: i as f64 / 7.0,
                error_count: (i % 4) as u64,
                duration_ms: (i % 3 != 0).then_some(60_000.5),
                first_event_at: Some(format!("2026-01-01T00:00:{:02}Z", i % 60)),
                last_event_at: None,
                has_session_row: i % 13 != 0,
                warnings: if i % 1000 == 0 { vec!["odd".to_owned(), format!("row {i}")] } else { Vec::new() },
            })
            .collect();
        let list = SessionList { sessions, warnings: vec![Warning::general("a note")], ..SessionList::default() };
        let part = ListPart { bytes: ListPart::encode(&list).unwrap_or_else(|| panic!("encodes")).0 };
        let (sessions, warnings) = part.decode().unwrap_or_else(|| panic!("decodes"));
        assert_eq!(sessions, list.sessions);
        assert_eq!(warnings, list.warnings);
    }

    #[test]
    fn the_checksum_sees_every_byte() {
        let base: Vec<u8> = (0..100u8).collect();
        let sum = checksum(&base);
        for at in 0..base.len() {
            let mut bad = base.clone();
            bad[at] ^= 1;
            assert_ne!(checksum(&bad), sum, "byte {at}");
        }
        assert_ne!(checksum(&base[..99]), sum);
    }
}
