//! The on-disk format of a cache entry, encoded from a [`Live`] and read back.
//!
//! MAGIC, CACHE_FORMAT (u32), the app version; then three parts, each its length, its checksum
//! and its bytes: the header (file identity, file state, mark), the list (the sessions as
//! listed, newest first, and the list's warnings), and the rest (what a refresh adds to: the
//! session rows, the trace aggregates, the running sums, the slow-call tally, the models).
//! The rest refers to the list instead of repeating it: a session row that reads as its list
//! row is that row's index, the aggregates are the list's unless they differ, and the session
//! sets of the slow-call tally and the models are indexes into the list's ids.
//!

use arcstr::ArcStr;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::slow_tally::SlowTally;
use crate::hash::IdHashBuilder;
use crate::model::{SessionList, SessionRow};
use crate::store::incremental::{FileIdentity, FileState, Live, Mark, SessionSums};
use crate::store::list::SessionRecord;
use crate::store::models::{ModelSums, ModelTally};
use crate::store::sums::TraceAggregate;

use super::CACHE_FORMAT;
use super::checksum::checksum;
use super::codec::{Dec, Enc};
use super::list_part::ListPart;

const MAGIC: &[u8; 8] = b"TILIST\0\x01";

/// An entry's header and list, read and checked; the rest is still in `file`.
pub(super) struct Entry {
    file: std::fs::File,
    /// Bytes of `file` not read yet: no part can claim more.
    left: u64,
    pub(super) identity: FileIdentity,
    pub(super) state: Option<FileState>,
    pub(super) mark: Mark,
    /// The list, its sizes checked, not decoded yet.
    pub(super) list: ListPart,
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
    pub(super) fn read(mut file: std::fs::File) -> Option<Entry> {
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
    pub(super) fn into_live(mut self, list: SessionList) -> Option<Live> {
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
        let mut ids: Vec<ArcStr> = Vec::with_capacity(listed.len() + n);
        ids.extend(listed.iter().map(|s| ArcStr::from(s.id.as_str())));
        for _ in 0..n {
            ids.push(ArcStr::from(d.str()?));
        }
        let id = |d: &mut Dec<'_>| -> Option<ArcStr> { ids.get(usize::try_from(d.u32()?).ok()?).cloned() };
        let n = d.len(4)?;
        let sessions: Vec<ArcStr> = (0..n).map(|_| id(&mut d)).collect::<Option<_>>()?;
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
            listed: None,
            state: self.state,
        })
    }
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
fn listed_aggregates(listed: &[Arc<SessionRow>]) -> BTreeMap<String, TraceAggregate> {
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

/// The entry of `live`; `None` when it does not fit the format (a string of 4 GB).
pub(super) fn encode(live: &Live) -> Option<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

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
        let (_dir, path) = crate::store::demo_file(6, None);
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
        let (_dir, path) = crate::store::demo_file(6, None);
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
}
