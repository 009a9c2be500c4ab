//! One session's events: read on one connection, or split by row id between two, and labelled
//! from their `data` on a second thread.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::mpsc::SyncSender;
use std::thread::ScopedJoinHandle;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use crate::error::StoreError;
use crate::model::labels::{Interner, event_info};
use crate::model::parents::sort_with_parents;
use crate::model::{CallUsage, EventInfo, Parents, Rare, RowId, SessionData, SessionRow, TraceEvent, TraceId, Warning};

use super::open::{map_sqlite, open_connection};
use super::queries::{IdParam, is_plain_key, session_filter};
use super::schema::quote_ident;
use super::sums::RowSums;
use super::values::{float_value, get, int_value, key_value, row_text, shared_text, time_of, valid_duration};
use super::{ReadMode, Store};

/// Where `data` sits in the rows [`Store::query_events`] selects.
pub(super) const DATA_COLUMN: usize = 7;

/// Turns a row into an event, and gives its `data` text for [`label_event`] (the event does
/// not keep it: the detail view reads it again) and its parent id (linked once the session's
/// events are all read and in order: see [`Parents`]).
pub(super) fn event_from_row<'r>(
    r: &'r Row<'_>,
    position: usize,
    interner: &mut Interner,
) -> (TraceEvent, Cow<'r, str>, Option<TraceId>) {
    let mut notes = Vec::new();
    let rowid = match get(r, 0) {
        ValueRef::Integer(n) => Some(n),
        _ => None,
    };
    // A UUID's usual text goes straight into its 16 bytes; any other value is read as a key.
    let uuid = |i| match get(r, i) {
        ValueRef::Text(t) => TraceId::from_uuid_text(t),
        _ => None,
    };
    let id = uuid(1).unwrap_or_else(|| {
        key_value(r, 1, "id", &mut notes).map_or_else(
            || {
                notes.push("id is NULL".to_owned());
                TraceId::from(format!("(no id #{})", rowid.map_or(position as i64, |n| n)))
            },
            TraceId::from,
        )
    });
    // Every event of a load has the session's id: only an odd value's note is kept.
    if !matches!(get(r, 2), ValueRef::Text(t) if std::str::from_utf8(t).is_ok()) {
        let _ = key_value(r, 2, "session_id", &mut notes);
    }
    let kind = shared_text(r, 3, "type", &mut notes, interner).unwrap_or_else(|| {
        notes.push("type is NULL".to_owned());
        interner.get("(no type)")
    });
    let timestamp = row_text(r, 4, "timestamp", &mut notes);
    let time = time_of(r, 4, "timestamp", &mut notes);
    // Only NULL reads as no text at all.
    if timestamp.is_none() {
        notes.push("timestamp is NULL; left off the timeline".to_owned());
    }
    let timestamp = timestamp.unwrap_or_default();
    let duration_ms = float_value(r, 5, "duration_ms", &mut notes).and_then(|d| {
        if valid_duration(d) {
            Some(d)
        } else {
            notes.push(format!("duration_ms {d} is negative or implausibly long; treated as an instant"));
            None
        }
    });
    let parent_trace_id =
        uuid(6).or_else(|| key_value(r, 6, "parent_trace_id", &mut notes).filter(|p| !p.is_empty()).map(TraceId::from));
    let data = row_text(r, DATA_COLUMN, "data", &mut notes).unwrap_or_default();
    // i64::MIN is how an event holds "no count" (OptI64): a stored one is said, not kept.
    let mut tokens = |i: usize, name: &str| match int_value(r, i, name, &mut notes) {
        Some(i64::MIN) => {
            notes.push(format!("{name} is {}, out of range; ignored", i64::MIN));
            None
        }
        n => n,
    };
    let input_tokens = tokens(8, "input_tokens");
    let output_tokens = tokens(9, "output_tokens");
    let model_used = shared_text(r, 10, "model_used", &mut notes, interner).filter(|m| !m.is_empty());
    let provider_used = shared_text(r, 11, "provider_used", &mut notes, interner).filter(|p| !p.is_empty());
    let cost_usd = float_value(r, 12, "cost_usd", &mut notes);
    let raw_io = [13, 14].into_iter().any(|i| !matches!(get(r, i), ValueRef::Null));
    // `info` (and its notes, which come last) is read from `data` by `label_event`.
    let mut event = TraceEvent {
        rowid: RowId::new(rowid),
        id,
        kind,
        time: time.into(),
        duration_ms: duration_ms.into(),
        rare: Rare::boxed(
            CallUsage {
                input_tokens: input_tokens.into(),
                output_tokens: output_tokens.into(),
                model_used,
                provider_used,
                cost_usd: cost_usd.into(),
            },
            notes.into(),
        ),
        info: EventInfo { raw_io, ..EventInfo::default() },
    };
    event.set_timestamp_text(&timestamp);
    (event, data, parent_trace_id)
}

/// How a big read is split between two connections.
pub(super) struct Split {
    /// The second connection, inside a read transaction that sees the session's rows as the
    /// first connection does.
    pub(super) conn: Connection,
    /// The name of the row id (see [`Schema::row_id`]).
    pub(super) alias: &'static str,
    /// The first row id of the upper half.
    pub(super) middle: i64,
    /// Rows below and from `middle`, as both connections count them.
    pub(super) lower_rows: usize,
    pub(super) upper_rows: usize,
}

/// The most events a vector is sized for ahead of reading them.
pub(super) const MAX_RESERVED_EVENTS: usize = 1 << 22;

/// Rowids a session's traces must span before reading them is split between two threads.
pub(super) const SPLIT_MIN_ROWS: i64 = 16_384;

/// Where one half of a split read puts its events: its own part of the result, filled in
/// place (the row counts taken in the same snapshot size it exactly), then, should more rows
/// come than were counted, an overflow vector.
pub(super) struct Slots<'a, T> {
    part: &'a mut [T],
    filled: usize,
    overflow: Vec<T>,
}

impl<'a, T> Slots<'a, T> {
    pub(super) fn new(part: &'a mut [T]) -> Self {
        Slots { part, filled: 0, overflow: Vec::new() }
    }

    pub(super) fn push(&mut self, event: T) {
        match self.part.get_mut(self.filled) {
            Some(slot) => *slot = event,
            None => self.overflow.push(event),
        }
        self.filled += 1;
    }

    /// How many events went into the part, and the overflow.
    fn finish(self) -> (usize, Vec<T>) {
        (self.filled.min(self.part.len()), self.overflow)
    }
}

/// The result of a split read from its two halves' slots: `events` holds `lower_len` slots
/// for the lower half and the rest for the upper one. Any slot left empty is removed and any
/// overflow goes after its half's part, so the order is that of one read.
pub(super) fn join_halves<T>(
    mut events: Vec<T>,
    lower_len: usize,
    (lower_n, lower_over): (usize, Vec<T>),
    (upper_n, upper_over): (usize, Vec<T>),
) -> Vec<T> {
    events.truncate(lower_len.saturating_add(upper_n));
    if lower_n < lower_len {
        events.drain(lower_n..lower_len);
    }
    if !lower_over.is_empty() {
        events.splice(lower_n..lower_n, lower_over);
    }
    events.extend(upper_over);
    events
}

/// Events with their `data` text, waiting to be labelled.
pub(super) type Unlabelled = Vec<(TraceEvent, String)>;

/// The labelling thread: where to send batches, and its handle.
pub(super) type Labeller<'scope> = (SyncSender<Unlabelled>, ScopedJoinHandle<'scope, Vec<TraceEvent>>);

/// Events per batch handed to the labelling thread (a few batches are in flight at once).
pub(super) const LABEL_BATCH: usize = 512;

/// Reads each event's label, tool, step id and failure flag from its `data` (the last step of
/// turning a row into an event; its notes follow the row's own).
/// Tool names, and the labels of calls (a tool's name, a model, a state), repeat across a
/// session: `names` hands out one shared copy of each.
pub(super) fn label_event(e: &mut TraceEvent, data: &str, names: &mut Interner) {
    let model = e.model_shared().cloned();
    // The row's raw I/O flag was set when it was read; the rest comes from `data`.
    let TraceEvent { kind, rare, info: slot, .. } = e;
    let info = Rare::with_notes(rare, |notes| event_info(kind, data, model.as_deref(), notes, names));
    let raw_io = slot.raw_io;
    *slot = EventInfo { raw_io, ..info };
}

/// [`label_event`] for a batch, moving the events to `out`.
pub(super) fn label_batch(batch: Unlabelled, out: &mut Vec<TraceEvent>, names: &mut Interner) {
    out.extend(batch.into_iter().map(|(mut e, data)| {
        label_event(&mut e, &data, names);
        e
    }));
}

impl Store {
    /// Loads one session's events (no raw I/O), sorted by time (unreadable times last, in
    /// stored order). `row` is the session's list row when the caller has it already.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails or the query is interrupted.
    pub fn load_session(&self, session_id: &str, row: Option<SessionRow>) -> Result<SessionData, StoreError> {
        self.load_session_with_progress(session_id, row, &mut |_| ControlFlow::Continue(()))
    }

    /// [`Store::load_session`], telling `progress` how many events are read so far (every
    /// 4,096 rows); `progress` may stop the read, which then ends in [`StoreError::Cancelled`].
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails or the read is stopped or interrupted.
    pub fn load_session_with_progress(
        &self,
        session_id: &str,
        row: Option<SessionRow>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<SessionData, StoreError> {
        self.snapshot(|| self.load_session_now(session_id, row, progress))
    }

    fn load_session_now(
        &self,
        session_id: &str,
        row: Option<SessionRow>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<SessionData, StoreError> {
        let (filter, param) = session_filter(&self.schema, session_id);
        // A plain id filters with `session_id = ?1` (numbers and the NULL session do not).
        let splittable = is_plain_key(session_id);
        let (row, (mut events, mut parent_ids)) = match row {
            Some(row) => {
                // The row's count sizes the vector once (a hint: the file may have changed since).
                let capacity = usize::try_from(row.event_count).unwrap_or(0).min(MAX_RESERVED_EVENTS);
                let events = self.query_events(&filter, &param, capacity, splittable, None, progress)?;
                (row, events)
            }
            None => {
                // The row's aggregates are summed while the events are read: one pass over the
                // session's traces instead of two. Values SQLite would have to convert (or a
                // declared collation) send the aggregates back to SQL, so they always match
                // the session list's.
                let mut sums = (self.schema.binary_text && is_plain_key(session_id)).then(RowSums::default);
                let events = self.query_events(&filter, &param, 0, splittable, sums.as_mut(), progress)?;
                let known = sums.and_then(|s| s.aggregates(session_id));
                let row = match known {
                    Some(a) => self
                        .sessions_with(Some(session_id), Some(a))?
                        .sessions
                        .into_iter()
                        .find(|s| s.id == session_id)
                        .map(std::sync::Arc::unwrap_or_clone),
                    None => None,
                };
                let row = match row {
                    Some(r) => r,
                    None => self.session_row(session_id)?,
                };
                (row, events)
            }
        };
        sort_with_parents(&mut events, &mut parent_ids);
        let parents = Parents::resolve(&events, &parent_ids);
        drop(parent_ids);
        let mut warnings = Vec::new();
        for e in &events {
            for w in e.notes().iter() {
                warnings.push(Warning::trace(&e.id, w.clone()));
            }
        }
        warnings.extend(row.warnings.iter().map(|w| Warning::general(w.clone())));
        Ok(SessionData { row, events, parents, warnings })
    }

    /// Reads events matching `filter` (a WHERE clause over `agent_traces` with one parameter).
    /// `progress` sees the count read so far every 4,096 rows and may stop the read. With
    /// `splittable` (the filter is a plain `column = ?1`) a big read is split by row id between
    /// this connection and a second one.
    pub(super) fn query_events(
        &self,
        filter: &str,
        param: &IdParam,
        capacity: usize,
        splittable: bool,
        sums: Option<&mut RowSums>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<(Vec<TraceEvent>, Vec<Option<TraceId>>), StoreError> {
        let s = &self.schema;
        let rowid = s.row_id.unwrap_or("NULL");
        let raw_len = |c: &str| match s.traces.get(c) {
            Some(name) => format!("octet_length({})", quote_ident(name)),
            None => "NULL".to_owned(),
        };
        let sql = format!(
            "SELECT {rowid}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM agent_traces WHERE {filter}",
            s.trace_col("id"),
            s.trace_col("session_id"),
            s.trace_col("type"),
            s.trace_col("timestamp"),
            s.trace_col("duration_ms"),
            s.trace_col("parent_trace_id"),
            s.trace_col("data"),
            s.trace_col("input_tokens"),
            s.trace_col("output_tokens"),
            s.trace_col("model_used"),
            s.trace_col("provider_used"),
            s.trace_col("cost_usd"),
            raw_len("raw_input"),
            raw_len("raw_output"),
        );
        if splittable
            && self.read_mode == ReadMode::Fastest
            && let Some(split) = self.split_point(filter, param)?
        {
            return self.query_events_split(&sql, param, split, sums, progress);
        }
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut sums = sums;
        let mut interner = Interner::default();
        // Parent ids in read order (the labeller keeps that order too).
        let mut parent_ids = Vec::with_capacity(capacity);
        // Reading `data` for labels is a third of the work per row and needs nothing from
        // SQLite: a second thread does it for full batches while this one keeps stepping.
        std::thread::scope(|scope| {
            let mut batch: Unlabelled = Vec::with_capacity(LABEL_BATCH.min(capacity.max(64)));
            let mut labeller: Option<Labeller<'_>> = None;
            let mut read = 0usize;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                if let Some(sums) = sums.as_deref_mut() {
                    sums.add(r);
                }
                let (event, data, parent) = event_from_row(r, read, &mut interner);
                batch.push((event, data.into_owned()));
                parent_ids.push(parent);
                read += 1;
                if batch.len() == LABEL_BATCH {
                    let (tx, _) = labeller.get_or_insert_with(|| {
                        let (tx, rx) = std::sync::mpsc::sync_channel::<Unlabelled>(4);
                        let handle = scope.spawn(move || {
                            let mut out = Vec::with_capacity(capacity);
                            let mut names = Interner::default();
                            for batch in rx {
                                label_batch(batch, &mut out, &mut names);
                            }
                            out
                        });
                        (tx, handle)
                    });
                    // A send fails only when the labeller died; its join below says why.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(LABEL_BATCH)));
                }
                if read.is_multiple_of(4096) && progress(read).is_break() {
                    return Err(StoreError::Cancelled { path: self.path.clone() });
                }
            }
            let mut out = match labeller {
                None => Vec::with_capacity(batch.len()),
                Some((tx, handle)) => {
                    drop(tx);
                    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }
            };
            label_batch(batch, &mut out, &mut interner);
            Ok((out, parent_ids))
        })
    }

    /// For a read worth splitting (rows spread over many row ids): where to split it, how many
    /// rows each half holds, and a second connection that sees the same rows. Called inside
    /// [`Store::snapshot`].
    pub(super) fn split_point(&self, filter: &str, param: &IdParam) -> Result<Option<Split>, StoreError> {
        let Some(alias) = self.schema.row_id else { return Ok(None) };
        // Each is one index probe.
        let bound = |f: &str| -> Result<Option<i64>, StoreError> {
            self.conn
                .query_row(&format!("SELECT {f}({alias}) FROM agent_traces WHERE {filter}"), [param], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        let (Some(lo), Some(hi)) = (bound("MIN")?, bound("MAX")?) else { return Ok(None) };
        if hi.saturating_sub(lo) < SPLIT_MIN_ROWS {
            return Ok(None);
        }
        // In 128 bits: a file's row ids may span the whole of i64 (lowest to highest), whose
        // difference does not fit in it. The middle always does (lo < middle <= hi).
        let middle = i128::from(lo) + (i128::from(hi) - i128::from(lo)) / 2 + 1;
        let Ok(middle) = i64::try_from(middle) else { return Ok(None) };
        // Counted on the index alone: each half's vector is sized once instead of growing
        // (and copying) its way up to a few hundred megabytes.
        let counts = |conn: &Connection| -> rusqlite::Result<(i64, i64)> {
            let count = |range: &str| {
                conn.query_row(
                    &format!("SELECT count(*) FROM agent_traces WHERE {filter} AND {alias} {range} ?2"),
                    rusqlite::params![param, middle],
                    |r| r.get::<_, i64>(0),
                )
            };
            Ok((count("<")?, count(">=")?))
        };
        // The second connection opens and counts on another thread while this one counts.
        let (db_path, counts) = (&self.db_path, &counts);
        let (here, second) = std::thread::scope(|scope| {
            let second = scope.spawn(move || {
                open_connection(db_path).and_then(|conn| {
                    conn.execute_batch("BEGIN")?;
                    let there = counts(&conn)?;
                    Ok((conn, there))
                })
            });
            let here = counts(&self.conn);
            (here, second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let here = here.map_err(|e| self.err(e))?;
        // A writer may commit between the two connections' first reads. The second one is
        // used only when it sees as many of the session's rows on both sides of the middle as
        // this one (a writer appends: equal counts are equal rows); else one connection reads.
        match second {
            Ok((conn, there)) if there == here => {
                let size = |n: i64| usize::try_from(n).unwrap_or(0).min(MAX_RESERVED_EVENTS);
                Ok(Some(Split { conn, alias, middle, lower_rows: size(here.0), upper_rows: size(here.1) }))
            }
            Ok(_) => Ok(None),
            Err(e) => {
                log::debug!("{}: no second connection for a split read: {e}", self.path.display());
                Ok(None)
            }
        }
    }

    /// [`Store::query_events`] in two row id ranges at once: below `middle` here, from `middle`
    /// on the split's second connection; the halves join in row id order, so the result (and
    /// the sums) are those of one read.
    pub(super) fn query_events_split(
        &self,
        sql: &str,
        param: &IdParam,
        split: Split,
        sums: Option<&mut RowSums>,
        progress: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<(Vec<TraceEvent>, Vec<Option<TraceId>>), StoreError> {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let path = self.path.as_path();
        let want_sums = sums.is_some();
        let Split { conn: upper_conn, alias, middle, lower_rows, upper_rows } = split;
        let mut sums = sums;
        // Each half labels its events as it reads them: both threads are busy already. Both
        // write into one vector, each into its own part: nothing is moved or held twice.
        let read_half = |conn: &Connection,
                         range: &str,
                         out: &mut Slots<'_, TraceEvent>,
                         parents: &mut Slots<'_, Option<TraceId>>,
                         mut sums: Option<&mut RowSums>,
                         step: &mut dyn FnMut(usize) -> bool|
         -> rusqlite::Result<bool> {
            let mut stmt = conn.prepare(&format!("{sql} AND {alias} {range}"))?;
            let mut rows = stmt.query(rusqlite::params![param, middle])?;
            let mut interner = Interner::default();
            let mut read = 0usize;
            while let Some(r) = rows.next()? {
                if let Some(sums) = sums.as_deref_mut() {
                    sums.add(r);
                }
                let (mut event, data, parent) = event_from_row(r, read, &mut interner);
                label_event(&mut event, &data, &mut interner);
                out.push(event);
                parents.push(parent);
                read += 1;
                if read.is_multiple_of(4096) && !step(read) {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let cancelled = || StoreError::Cancelled { path: path.to_owned() };
        let (read_half, stop_flag) = (&read_half, &stop);
        let lower_len = lower_rows.min(MAX_RESERVED_EVENTS);
        let upper_len = upper_rows.min(MAX_RESERVED_EVENTS - lower_len);
        // A default event holds no allocation: this only writes the vector's memory once.
        let mut events = vec![TraceEvent::default(); lower_len + upper_len];
        let mut parent_ids: Vec<Option<TraceId>> = vec![None; lower_len + upper_len];
        let (lower_part, upper_part) = events.split_at_mut(lower_len);
        let (lower_parents, upper_parents) = parent_ids.split_at_mut(lower_len);
        let (lower, upper) = std::thread::scope(|scope| {
            // The second connection moves to the thread that reads with it, and closes there.
            let upper = scope.spawn(move || -> Result<_, StoreError> {
                let mut sums = want_sums.then(RowSums::default);
                let mut out = Slots::new(upper_part);
                let mut parents = Slots::new(upper_parents);
                let done = read_half(&upper_conn, ">= ?2", &mut out, &mut parents, sums.as_mut(), &mut |_| {
                    !stop_flag.load(std::sync::atomic::Ordering::Relaxed)
                })
                .map_err(|e| map_sqlite(path, e))?;
                drop(upper_conn);
                if done { Ok((out.finish(), parents.finish(), sums)) } else { Err(cancelled()) }
            });
            // The halves are read at the same pace: report twice this half's count.
            let mut out = Slots::new(lower_part);
            let mut parents = Slots::new(lower_parents);
            let lower = read_half(&self.conn, "< ?2", &mut out, &mut parents, sums.as_deref_mut(), &mut |n| {
                progress(n * 2).is_continue()
            })
            .map_err(|e| self.err(e))
            .and_then(|done| if done { Ok((out.finish(), parents.finish())) } else { Err(cancelled()) });
            if lower.is_err() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let upper = upper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (lower, upper)
        });
        // The lower half's error is the one reported when both fail.
        let (lower, lower_parents) = lower?;
        let (upper, upper_parents, upper_sums) = upper?;
        if let (Some(sums), Some(later)) = (sums, upper_sums) {
            sums.merge(later);
        }
        Ok((
            join_halves(events, lower_len, lower, upper),
            join_halves(parent_ids, lower_len, lower_parents, upper_parents),
        ))
    }
}

#[cfg(test)]
mod speed_path_tests {
    //! The fast paths of a session load (sums in Rust, two-thread reads) give what the plain
    //! paths give.
    use super::*;
    use std::collections::HashMap;

    use crate::store::demo_file;

    #[test]
    fn halves_join_in_read_order_whatever_their_counts() {
        let event = |n: i64| TraceEvent { rowid: RowId::new(Some(n)), ..TraceEvent::default() };
        // (rows counted below, rows read below, rows counted above, rows read above)
        for (lower_len, lower_read, upper_len, upper_read) in [
            (3, 3, 4, 4),
            (3, 1, 4, 4),
            (3, 5, 4, 4),
            (3, 3, 4, 2),
            (3, 3, 4, 7),
            (0, 2, 0, 3),
            (3, 0, 4, 0),
            (2, 4, 3, 1),
        ] {
            let mut events = vec![TraceEvent::default(); lower_len + upper_len];
            let (lower_part, upper_part) = events.split_at_mut(lower_len);
            let (mut lower, mut upper) = (Slots::new(lower_part), Slots::new(upper_part));
            let total = (lower_read + upper_read) as i64;
            for n in 0..total {
                if n < lower_read as i64 { lower.push(event(n)) } else { upper.push(event(n)) }
            }
            let (lower, upper) = (lower.finish(), upper.finish());
            let all = join_halves(events, lower_len, lower, upper);
            assert!(
                all.iter().map(|e| e.rowid.get()).eq((0..total).map(Some)),
                "{lower_len} {lower_read} {upper_len} {upper_read}: {:?}",
                all.iter().map(|e| e.rowid.get()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn split_read_and_rust_sums_match_one_read_and_sql() {
        let (_dir, path) = demo_file(1, Some(30_000));
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let id = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions[0].id.clone();
        let (filter, param) = session_filter(&store.schema, &id);
        let read = |split: bool| {
            let mut sums = RowSums::default();
            let (events, parent_ids) = store
                .query_events(&filter, &param, 0, split, Some(&mut sums), &mut |_| ControlFlow::Continue(()))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parent_ids.len(), events.len(), "a parent id (or none) for every event");
            (events, parent_ids, sums.aggregates(&id))
        };
        assert!(store.split_point(&filter, &param).unwrap_or_else(|e| panic!("{e}")).is_some());
        let mut lean = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        lean.set_read_mode(ReadMode::Leanest);
        assert!(
            lean.load_session(&id, None).unwrap_or_else(|e| panic!("{e}"))
                == store.load_session(&id, None).unwrap_or_else(|e| panic!("{e}")),
            "both read modes load the same session"
        );
        let (one, one_parents, one_sums) = read(false);
        let (two, two_parents, two_sums) = read(true);
        assert_eq!(one.len(), 30_000);
        assert!(one == two, "the split read differs from the single read");
        assert!(one_parents == two_parents, "the split read's parent ids differ from the single read's");
        assert!(one_parents.iter().filter(|p| p.is_some()).count() > 29_000, "demo traces have parents");
        let sql = store.trace_aggregates("SUM", Some(&id)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one_sums.as_ref(), Some(&sql));
        assert_eq!(two_sums.as_ref(), Some(&sql));
        let loaded = store.load_session(&id, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Some(&loaded.row),
            store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions.first().map(|r| &**r)
        );
        let (mut sorted, mut parent_ids) = (one, one_parents);
        crate::model::parents::sort_with_parents(&mut sorted, &mut parent_ids);
        assert!(loaded.events == sorted, "load_session gives the events of one read, sorted");
        // Each event's parent is the event its parent id names, or that id when none has it.
        for (i, want) in parent_ids.iter().enumerate() {
            assert_eq!(loaded.parent_id(i), want.as_ref(), "event {i}");
            if let Some(p) = loaded.parents.event(i) {
                assert_eq!(Some(&loaded.events[p].id), want.as_ref());
            }
        }
    }

    #[test]
    fn a_load_reports_its_progress_and_can_be_stopped() {
        let (_dir, path) = demo_file(1, Some(20_000));
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let row = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions[0].as_ref().clone();
        let mut seen = Vec::new();
        let data = store
            .load_session_with_progress(&row.id, Some(row.clone()), &mut |n| {
                seen.push(n);
                ControlFlow::Continue(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(data.events.len(), 20_000);
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen.iter().all(|&n| n <= 20_000), "{seen:?}");
        let stopped = store.load_session_with_progress(&row.id, Some(row.clone()), &mut |_| ControlFlow::Break(()));
        assert!(matches!(stopped, Err(StoreError::Cancelled { .. })), "{stopped:?}");
    }

    #[test]
    fn timestamps_read_back_exactly_as_stored() {
        let (dir, demo) = demo_file(3, None);
        // Odd spellings beside the demo's: each must come back as written.
        let odd = dir.path().join("odd.db");
        std::fs::copy(&demo, &odd).unwrap_or_else(|e| panic!("{e}"));
        let conn = Connection::open(&odd).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(
            "PRAGMA journal_mode=DELETE;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07.000000+00:00' WHERE rowid = 1;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07Z' WHERE rowid = 2;
             UPDATE agent_traces SET timestamp = 1763632747 WHERE rowid = 3;
             UPDATE agent_traces SET timestamp = 'yesterday' WHERE rowid = 4;
             UPDATE agent_traces SET timestamp = '2026-11-20T09:59:07.123456789+00:00' WHERE rowid = 5;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        for path in [&demo, &odd] {
            let store = Store::open(path).unwrap_or_else(|e| panic!("{e}"));
            let stored: HashMap<String, String> = {
                let mut stmt = store
                    .conn
                    .prepare("SELECT id, CAST(timestamp AS TEXT) FROM agent_traces")
                    .unwrap_or_else(|e| panic!("{e}"));
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .collect::<rusqlite::Result<_>>()
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let mut kept = 0;
            for row in store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions {
                for e in store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}")).events {
                    assert_eq!(e.timestamp(), stored[&e.id.to_string()], "{}", e.id);
                    kept += usize::from(e.notes().stored_timestamp().is_some());
                }
            }
            // The demo writes the reference form: no event keeps a copy; the odd file keeps five.
            assert_eq!(kept, if path == &odd { 5 } else { 0 });
        }
    }

    #[test]
    fn loaded_rows_equal_list_rows() {
        let (_dir, path) = demo_file(30, None);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        for row in store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions {
            let loaded = store.load_session(&row.id, None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(loaded.row, *row);
            assert_eq!(loaded.events.len() as u64, row.event_count);
        }
    }
}
