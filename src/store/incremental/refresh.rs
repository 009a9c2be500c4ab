//! The full read of a file into a [`Live`], and a refresh: the checks against its mark, then
//! what was appended read into a [`Delta`] that `mend` applies.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::analysis::slow_tally::SlowTally;
use crate::error::StoreError;
use crate::model::SessionList;
use crate::store::Store;
use crate::store::list::{SessionRecord, is_overflow, overflow_warning};
use crate::store::models::ModelRow;

use super::rows::SessionSums;
use super::{Live, Mark, Refresh, TableMark};

/// What a refresh read, before any of it is applied: applying cannot fail.
pub(super) struct Delta {
    pub(super) mark: Mark,
    pub(super) records: Vec<SessionRecord>,
    pub(super) sums: Vec<(String, SessionSums)>,
    pub(super) durations: Vec<crate::model::ToolDuration>,
    /// New model rows, checked to add without overflow.
    pub(super) models: Vec<ModelRow>,
    pub(super) traces: u64,
    pub(super) new_sessions: u64,
}

impl Store {
    /// Reads the whole file into a [`Live`] in one read transaction; `on_list` sees the
    /// session list as soon as it is read (the slow-call tally and the models follow).
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn read_live(&self, on_list: &mut dyn FnMut(&SessionList)) -> Result<Live, StoreError> {
        let state = self.file_state();
        self.snapshot(|| {
            let mut read_warnings = Vec::new();
            let (aggregates, summed) = match self.trace_aggregates_keyed("SUM", None) {
                Ok(a) => (a, true),
                Err(e) if is_overflow(&e) => {
                    read_warnings.push(overflow_warning());
                    (self.trace_aggregates_keyed("TOTAL", None)?, false)
                }
                Err(e) => return Err(e),
            };
            let rows = self.session_rows(None)?;
            let (sessions, warnings) = self.assemble(&rows, aggregates.iter().map(|(a, _)| a));
            let trace_count: u64 = sessions.iter().map(|s| s.event_count).sum();
            let mut list_warnings = read_warnings.clone();
            list_warnings.extend(warnings);
            let list = SessionList { file: self.file_info_with(trace_count), sessions, warnings: list_warnings };
            on_list(&list);
            let slow = SlowTally::new(&self.tool_durations()?);
            let tally = self.model_tally()?;
            let models_sql = if tally.is_none() { Some(self.model_usage_sql()?) } else { None };
            let all_plain = aggregates.iter().all(|(_, plain)| *plain);
            let count: u64 = aggregates.iter().map(|(a, _)| a.event_count).sum();
            let mark = self.mark_now(count, rows.len() as u64)?;
            let rows_in_order = rows.is_sorted_by_key(|r| r.rowid) && rows.iter().all(|r| r.rowid.is_some());
            let exact = summed
                && all_plain
                && tally.is_some()
                && rows_in_order
                && self.schema.row_id.is_some()
                && self.schema.binary_text
                && (self.schema.sessions.is_none() || self.schema.session_row_id.is_some())
                && self.uses_index(&self.trace_aggregates_sql("SUM", None));
            let mut by_id = BTreeMap::new();
            for (a, _) in aggregates {
                // Two groups printed alike (only in a file that is not `exact`): the later
                // overwrites, as in the list.
                by_id.insert(a.session_id.clone(), a);
            }
            Ok(Live {
                identity: self.identity()?,
                mark,
                exact,
                rows,
                aggregates: by_id,
                sums: HashMap::new(),
                read_warnings,
                slow,
                models: tally.unwrap_or_default(),
                models_sql,
                list,
                listed: None,
                state,
            })
        })
    }

    /// Brings `live` up to date with the file: appended rows only when the checks (see the
    /// module's notes) find nothing else changed, else a full read. `deep` adds the count of
    /// every trace (tens of milliseconds on a file of millions).
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails; `live` is then as it was.
    pub fn refresh_live(&self, live: &mut Live, deep: bool) -> Result<Refresh, StoreError> {
        let why = match self.identity() {
            Ok(id) if id != live.identity => Some("the file was replaced".to_owned()),
            Ok(_) if !live.exact => Some("this file's values are read in full each time".to_owned()),
            // The state before the read transaction: a commit after it moves it.
            Ok(_) => match (self.file_state(), self.snapshot(|| self.delta(live, deep))?) {
                (state, Ok(Some(delta))) => {
                    let appended = Refresh::Appended { traces: delta.traces, sessions: delta.new_sessions };
                    self.apply(live, delta);
                    live.state = state;
                    return Ok(appended);
                }
                (state, Ok(None)) => {
                    live.state = state;
                    return Ok(Refresh::Unchanged);
                }
                (_, Err(why)) => Some(why),
            },
            Err(e) => return Err(e),
        };
        let why = why.unwrap_or_default();
        *live = self.read_live(&mut |_| {})?;
        Ok(Refresh::Reread(why))
    }

    /// Checks the mark and reads what was appended: `Ok(Ok(None))` when nothing changed,
    /// `Ok(Err(why))` when a full read is needed.
    #[expect(clippy::too_many_lines, reason = "one check after another, in the order they cost")]
    fn delta(&self, live: &Live, deep: bool) -> Result<Result<Option<Delta>, String>, StoreError> {
        let old = &live.mark;
        let schema_version =
            self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
        if schema_version != old.schema_version || self.schema_fingerprint() != old.schema {
            return Ok(Err("the schema changed (or the file was vacuumed)".to_owned()));
        }
        let Some(rowid) = self.schema.row_id else { return Ok(Err("no row id".to_owned())) };
        let id = self.schema.trace_col("id");
        let (first, last) = self.ends("agent_traces", rowid, &id)?;
        // The oldest rows must still be there: retention deletes them first.
        if old.traces.first.is_some() && first != old.traces.first {
            return Ok(Err("old traces were deleted".to_owned()));
        }
        if let Some((at, quoted)) = &old.traces.last
            && self.id_at("agent_traces", rowid, &id, *at)?.as_ref() != Some(quoted)
        {
            return Ok(Err("the last traces read were deleted or changed".to_owned()));
        }
        if self.oldest_timestamp()? != old.oldest_timestamp {
            return Ok(Err("the oldest trace changed".to_owned()));
        }
        // Sessions: ends and count.
        let mut session_ends = None;
        if let (Some(old_sessions), Some(srowid)) = (&old.sessions, self.schema.session_row_id) {
            let sid = self.schema.session_col("id");
            let (sfirst, slast) = self.ends("agent_trace_sessions", srowid, &sid)?;
            if old_sessions.first.is_some() && sfirst != old_sessions.first {
                return Ok(Err("old sessions were deleted".to_owned()));
            }
            if let Some((at, quoted)) = &old_sessions.last
                && self.id_at("agent_trace_sessions", srowid, &sid, *at)?.as_ref() != Some(quoted)
            {
                return Ok(Err("the last sessions read were deleted or changed".to_owned()));
            }
            session_ends = Some((sfirst, slast, self.count("agent_trace_sessions")?));
        }
        let after = old.traces.last_rowid();
        let trace_rows = match self.trace_rows_after(rowid, after)? {
            Some(rows) => rows,
            None => return Ok(Err("new traces hold values read in full".to_owned())),
        };
        let traces = trace_rows.len() as u64;
        if deep && self.count("agent_traces")? != old.traces.count + traces {
            return Ok(Err("traces were deleted".to_owned()));
        }
        // Session rows: new ones, running ones, and those with new traces.
        let mut records = Vec::new();
        let mut new_sessions = 0;
        let mut sessions_mark = None;
        if let (Some(old_sessions), Some((sfirst, slast, count)), Some(srowid)) =
            (&old.sessions, session_ends, self.schema.session_row_id)
        {
            // Keyed by the fast id hash: every listed session's id is looked up in it.
            let touched: HashSet<&str, crate::hash::IdHashBuilder> =
                trace_rows.iter().map(|r| r.session.as_str()).collect();
            let again: Vec<i64> = live
                .rows
                .iter()
                .filter(|r| {
                    r.row.as_ref().is_none_or(|s| {
                        s.status == "running"
                            || s.completed_at.is_none()
                            || (!touched.is_empty() && touched.contains(s.id.as_str()))
                    })
                })
                .filter_map(|r| r.rowid)
                .collect();
            let old_last = old_sessions.last_rowid();
            let listed: Vec<String> = again.iter().map(i64::to_string).collect();
            // Two searches by row id, the rows read again (all at or below the old last row
            // id) then the new ones: one WHERE with an OR of both scans the whole table.
            if !listed.is_empty() {
                let filter =
                    format!("WHERE {srowid} IN ({}) AND {srowid} <= {old_last} ORDER BY {srowid}", listed.join(","));
                records = self.session_rows_where(&filter, &[])?;
            }
            records.extend(self.session_rows_where(&format!("WHERE {srowid} > {old_last} ORDER BY {srowid}"), &[])?);
            new_sessions = records.iter().filter(|r| r.rowid.is_some_and(|n| n > old_last)).count() as u64;
            if records.len() as u64 - new_sessions != again.len() as u64 {
                return Ok(Err("sessions were deleted".to_owned()));
            }
            if count != old_sessions.count + new_sessions {
                return Ok(Err("sessions were deleted".to_owned()));
            }
            if !records.is_sorted_by_key(|r| r.rowid) {
                return Ok(Err("session rows out of order".to_owned()));
            }
            sessions_mark = Some(TableMark { count, first: sfirst, last: slast });
        } else if old.sessions.is_some() {
            return Ok(Err("the sessions table changed".to_owned()));
        }
        // Each touched session's sums: carried on, or read once in full.
        let mut sums: HashMap<String, SessionSums> = HashMap::new();
        for row in &trace_rows {
            if sums.contains_key(&row.session) {
                continue;
            }
            let start = match (live.sums.get(&row.session), live.aggregates.contains_key(&row.session)) {
                (Some(s), _) => s.clone(),
                (None, false) => SessionSums::default(),
                (None, true) => match self.session_sums(rowid, &row.session, after)? {
                    Some(s) => s,
                    None => return Ok(Err("a session's traces hold values read in full".to_owned())),
                },
            };
            sums.insert(row.session.clone(), start);
        }
        for row in &trace_rows {
            if let Some(s) = sums.get_mut(&row.session)
                && !s.add(row)
            {
                return Ok(Err("a token sum overflowed".to_owned()));
            }
        }
        let durations = if traces > 0 { self.tool_durations_after(after)? } else { Vec::new() };
        let models = if traces > 0 {
            match self.model_rows_after(after)? {
                Some(rows) if live.models.can_add(&rows) => rows,
                _ => return Ok(Err("new traces hold model values read in full".to_owned())),
            }
        } else {
            Vec::new()
        };
        let mark = Mark {
            schema_version,
            schema: old.schema.clone(),
            traces: TableMark { count: old.traces.count + traces, first, last },
            sessions: sessions_mark,
            oldest_timestamp: old.oldest_timestamp.clone(),
        };
        let same = |r: &SessionRecord| {
            live.rows.binary_search_by_key(&r.rowid, |l| l.rowid).ok().and_then(|i| live.rows.get(i)) == Some(r)
        };
        if traces == 0 && mark == *old && records.iter().all(same) {
            return Ok(Ok(None));
        }
        Ok(Ok(Some(Delta { mark, records, sums: sums.into_iter().collect(), durations, models, traces, new_sessions })))
    }
}
