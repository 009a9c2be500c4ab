//! The list cache: a file's [`Live`] kept in the user's cache folder, so that a file seen
//! before lists without reading it again.
//!
//! An entry is used only when everything about it checks out: the format and app version, a
//! checksum over its bytes, the file's resolved path, device and inode, and then the mark
//! against the file itself ([`Store::refresh_live`] with the deep check, which also reads what
//! was appended since). Anything else (a corrupt or truncated entry, another version, a file
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
use crate::model::{SessionRow, Warning};
use crate::time::Timestamp;

use super::Store;
use super::incremental::{FileIdentity, Live, Mark, Refresh, SessionSums, TableMark};
use super::list::SessionRecord;
use super::models::{ModelSums, ModelTally};
use super::sums::{SqlSum, TraceAggregate};

/// Bumped whenever the encoding or the meaning of a cached value changes.
pub const CACHE_FORMAT: u32 = 1;
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
    /// The entry was used (appends since it was written were read).
    Hit(Refresh),
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
        std::fs::create_dir_all(&self.dir)?;
        let bytes = encode(live);
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

    /// The decoded entry for `identity`, or why there is none to use. A bad entry is removed.
    fn load(&self, identity: &FileIdentity) -> Result<Live, String> {
        let entry = self.entry(&identity.real_path);
        let bytes = match std::fs::read(&entry) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no cache entry".to_owned()),
            Err(e) => return Err(format!("cache entry unreadable: {e}")),
        };
        let live = decode(&bytes).ok_or_else(|| "cache entry corrupt or of another version".to_owned());
        let live = live.and_then(|l| {
            if l.identity == *identity { Ok(l) } else { Err("cache entry of a replaced file".to_owned()) }
        });
        match live {
            Ok(l) => {
                // Last use, for the trimming order.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&entry)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Ok(l)
            }
            Err(why) => {
                let _ = std::fs::remove_file(&entry);
                Err(why)
            }
        }
    }
}

impl Store {
    /// The file's [`Live`] from `cache` when its entry checks out against the file (and
    /// brought up to date), else read in full. The caller saves it back when it changed.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn live_from_cache(
        &self,
        cache: &ListCache,
        on_list: &mut dyn FnMut(&crate::model::SessionList),
    ) -> Result<(Live, CacheUse), StoreError> {
        let identity = self.identity()?;
        match cache.load(&identity) {
            Ok(mut live) => {
                let (sessions, warnings) = self.assemble(&live.rows, live.aggregates.values());
                let trace_count = sessions.iter().map(|s| s.event_count).sum();
                let mut all = live.read_warnings.clone();
                all.extend(warnings);
                live.list =
                    crate::model::SessionList { file: self.file_info_with(trace_count), sessions, warnings: all };
                let refresh = self.refresh_live(&mut live, true)?;
                on_list(live.list());
                if let Refresh::Reread(why) = &refresh {
                    return Ok((live, CacheUse::Miss(format!("cache entry out of date: {why}"))));
                }
                Ok((live, CacheUse::Hit(refresh)))
            }
            Err(why) => Ok((self.read_live(on_list)?, CacheUse::Miss(why))),
        }
    }
}

/// A fast 64-bit checksum of bytes (eight at a time): it finds a damaged entry, not an attack.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = bytes.len() as u64 ^ 0x2545_F491_4F6C_DD1D;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

// ---- encoding -----------------------------------------------------------------------------

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u64(&mut self, v: u64) {
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
}

fn encode(live: &Live) -> Vec<u8> {
    let mut e = Enc::default();
    let id = &live.identity;
    e.bytes(id.real_path.as_os_str().as_encoded_bytes());
    e.u64(id.dev);
    e.u64(id.ino);
    let m = &live.mark;
    e.i64(m.schema_version);
    e.str(&m.schema);
    e.table(&m.traces);
    e.opt(m.sessions.as_ref(), Enc::table);
    e.opt(m.oldest_timestamp.as_ref(), |e, b| e.bytes(b));
    e.len(live.rows.len());
    for r in &live.rows {
        e.opt(r.rowid.as_ref(), |e, n| e.i64(*n));
        e.opt(r.row.as_ref(), |e, s| {
            e.str(&s.id);
            e.str(&s.task);
            e.str(&s.status);
            e.opt_str(s.started_at.as_ref());
            e.opt_str(s.completed_at.as_ref());
            e.opt(s.started.as_ref(), |e, t| e.i64(t.0));
            e.opt(s.completed.as_ref(), |e, t| e.i64(t.0));
            e.opt(s.duration_ms.as_ref(), |e, d| e.f64(*d));
            e.len(s.warnings.len());
            for w in &s.warnings {
                e.str(w);
            }
        });
    }
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
        e.opt_str(w.trace_id.as_ref());
        e.str(&w.message);
    }
    let (tools, sessions) = live.slow.parts();
    e.len(sessions.len());
    for s in sessions {
        e.str(s);
    }
    e.len(tools.len());
    for (name, calls) in tools {
        e.str(name);
        e.len(calls.len());
        for (d, s) in calls {
            e.f64(*d);
            e.0.extend_from_slice(&s.to_le_bytes());
        }
    }
    e.len(live.models.models.len());
    for (name, m) in &live.models.models {
        e.str(name);
        e.opt_str(m.provider.as_ref());
        e.u64(m.calls);
        e.len(m.sessions.len());
        for s in &m.sessions {
            e.str(s);
        }
        e.i64(m.input);
        e.i64(m.output);
        e.sum(&m.cost);
    }
    let payload = e.0;
    let mut out = Vec::with_capacity(payload.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_FORMAT.to_le_bytes());
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    out.extend_from_slice(&(version.len() as u64).to_le_bytes());
    out.extend_from_slice(version);
    out.extend_from_slice(&checksum(&payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    out
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
        match self.take(1)? {
            [0] => Some(false),
            [1] => Some(true),
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
}

#[expect(clippy::too_many_lines, reason = "the fields of a Live, in the order `encode` writes them")]
fn decode(bytes: &[u8]) -> Option<Live> {
    let mut d = Dec(bytes);
    if d.take(MAGIC.len())? != MAGIC || d.u32()? != CACHE_FORMAT {
        return None;
    }
    if d.bytes()? != env!("CARGO_PKG_VERSION").as_bytes() {
        return None;
    }
    let sum = d.u64()?;
    let n = usize::try_from(d.u64()?).ok()?;
    if n != d.0.len() || checksum(d.0) != sum {
        return None;
    }
    let real_path = PathBuf::from(String::from_utf8(d.bytes()?.to_vec()).ok()?);
    let identity = FileIdentity { real_path, dev: d.u64()?, ino: d.u64()? };
    let mark = Mark {
        schema_version: d.i64()?,
        schema: d.str()?,
        traces: d.table()?,
        sessions: d.opt(Dec::table)?,
        oldest_timestamp: d.opt(|d| d.bytes().map(<[u8]>::to_vec))?,
    };
    let n = d.len(2)?;
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let rowid = d.opt(Dec::i64)?;
        let row = d.opt(|d| {
            let mut s = SessionRow {
                id: d.str()?,
                task: d.str()?,
                status: d.str()?,
                started_at: d.opt_str()?,
                completed_at: d.opt_str()?,
                started: d.opt(Dec::i64)?.map(Timestamp),
                completed: d.opt(Dec::i64)?.map(Timestamp),
                duration_ms: d.opt(Dec::f64)?,
                has_session_row: true,
                ..SessionRow::default()
            };
            let w = d.len(8)?;
            s.warnings = (0..w).map(|_| d.str()).collect::<Option<_>>()?;
            Some(s)
        })?;
        rows.push(SessionRecord { rowid, row });
    }
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
    let mut read_warnings = Vec::with_capacity(n);
    for _ in 0..n {
        read_warnings.push(Warning { trace_id: d.opt_str()?, message: d.str()? });
    }
    let n = d.len(8)?;
    let sessions: Vec<Arc<str>> = (0..n).map(|_| d.str().map(Arc::from)).collect::<Option<_>>()?;
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
    let mut shared: HashSet<Arc<str>, IdHashBuilder> = HashSet::default();
    for _ in 0..n {
        let name = d.str()?;
        let provider = d.opt_str()?;
        let calls = d.u64()?;
        let k = d.len(8)?;
        let mut set = HashSet::with_capacity_and_hasher(k, IdHashBuilder::default());
        for _ in 0..k {
            let s = d.str()?;
            let s = match shared.get(s.as_str()) {
                Some(a) => a.clone(),
                None => {
                    let a: Arc<str> = Arc::from(s);
                    shared.insert(a.clone());
                    a
                }
            };
            set.insert(s);
        }
        let m = ModelSums { provider, calls, sessions: set, input: d.i64()?, output: d.i64()?, cost: d.sum()? };
        models.insert(name, m);
    }
    if !d.0.is_empty() || !rows.is_sorted_by_key(|r: &SessionRecord| r.rowid) {
        return None;
    }
    Some(Live {
        identity,
        mark,
        exact: true,
        rows,
        aggregates,
        sums,
        read_warnings,
        slow,
        models: ModelTally::from_models(models),
        models_sql: None,
        list: crate::model::SessionList::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_decodes_to_what_was_encoded_and_damage_is_refused() {
        let (_dir, path) = super::super::demo_file(6, None);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let live = store.read_live(&mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        let bytes = encode(&live);
        let back = decode(&bytes).unwrap_or_else(|| panic!("decodes"));
        assert_eq!(back.mark, live.mark);
        assert_eq!(back.rows, live.rows);
        assert_eq!(back.aggregates, live.aggregates);
        assert_eq!(back.slow, live.slow);
        assert_eq!(back.models.usage(), live.models.usage());
        for cut in [0, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for at in [9, 30, bytes.len() / 3, bytes.len() - 2] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(decode(&bad).is_none(), "flipped at {at}");
        }
    }
}
