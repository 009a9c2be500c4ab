//! The list part of a cache entry: the session list as listed, in records of one size.

use std::collections::HashMap;
use std::sync::Arc;

use crate::hash::IdHashBuilder;
use crate::model::{SessionList, SessionRow, Warning};
use crate::time::Timestamp;

use super::codec::{Dec, Enc};

/// The list part of an entry: a table of the distinct strings (each its length and UTF-8),
/// one record of [`RECORD_BYTES`] per session as listed (strings as indexes into the table,
/// [`NONE`] for none), the sessions' warnings (indexes), and the list's warnings. Records of
/// one size let two threads decode the halves at once.
pub(super) struct ListPart {
    pub(super) bytes: Vec<u8>,
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
    pub(super) fn encode(list: &SessionList) -> Option<Enc> {
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
    pub(super) fn decode(&self) -> Option<(Vec<Arc<SessionRow>>, Vec<Warning>)> {
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
        // Each row is decoded straight into its shared place: nothing is moved afterwards
        // but the pointers.
        let decode = |part: &[u8]| -> Option<Vec<Arc<SessionRow>>> {
            part.chunks_exact(RECORD_BYTES).map(|r| record(r, &strings, &row_warnings).map(Arc::new)).collect()
        };
        let sessions = if rows >= PARALLEL_FROM {
            let (first, second) = records.split_at(rows / 2 * RECORD_BYTES);
            let (first, second) = std::thread::scope(|scope| {
                let first = scope.spawn(|| decode(first));
                let second = decode(second);
                (first.join().ok().flatten(), second)
            });
            let mut sessions = first?;
            sessions.extend(second?);
            sessions
        } else {
            decode(records)?
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_decodes_on_two_threads_to_what_was_encoded() {
        let sessions: Vec<std::sync::Arc<SessionRow>> = (0..PARALLEL_FROM + 7)
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
            .map(std::sync::Arc::new)
            .collect();
        let list = SessionList { sessions, warnings: vec![Warning::general("a note")], ..SessionList::default() };
        let part = ListPart { bytes: ListPart::encode(&list).unwrap_or_else(|| panic!("encodes")).0 };
        let (sessions, warnings) = part.decode().unwrap_or_else(|| panic!("decodes"));
        assert_eq!(sessions, list.sessions);
        assert_eq!(warnings, list.warnings);
    }
}
