//! Applying a refresh's [`Delta`] to a [`Live`]: the session rows, sums, tally and models,
//! then the list, mended in place when it can be, else assembled again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::SessionRow;
use crate::store::Store;
use crate::store::list::set_aggregate;
use crate::store::sums::TraceAggregate;

use super::refresh::Delta;
use super::{Live, TableMark};

impl Store {
    pub(super) fn apply(&self, live: &mut Live, delta: Delta) {
        // The sessions whose list rows change, and whether the list can be mended in place.
        let old_last = live.mark.sessions.as_ref().map_or(i64::MIN, TableMark::last_rowid);
        let mut changed: Vec<Change> = Vec::new();
        let mut mendable = self.schema.sessions.is_some() && live.list.warnings.is_empty();
        for record in delta.records {
            let Some(at) = record.rowid else { continue };
            let new = match live.rows.binary_search_by_key(&Some(at), |r| r.rowid) {
                Ok(i) => {
                    let Some(slot) = live.rows.get_mut(i) else { continue };
                    // Rows read again unchanged (running sessions) change nothing.
                    if *slot == record {
                        continue;
                    }
                    mendable &= slot.row.as_ref().map(|r| &r.id) == record.row.as_ref().map(|r| &r.id);
                    *slot = record.clone();
                    false
                }
                Err(i) => {
                    mendable &= at > old_last;
                    live.rows.insert(i, record.clone());
                    true
                }
            };
            match record.row {
                Some(row) => changed.push(Change { id: row.id.clone(), row: Some(row), new }),
                None => mendable = false,
            }
        }
        for (session, sums) in delta.sums {
            live.aggregates.insert(session.clone(), sums.aggregate(&session));
            live.sums.insert(session.clone(), sums);
            changed.push(Change { id: session, row: None, new: false });
        }
        live.slow.add(&delta.durations);
        for row in delta.models {
            // Checked by `can_add` before.
            let _ = live.models.add(row);
        }
        live.mark = delta.mark;
        if !(mendable && mend_list(&mut live.list.sessions, changed, &live.aggregates)) {
            let (sessions, warnings) = self.assemble(&live.rows, live.aggregates.values());
            let mut all = live.read_warnings.clone();
            all.extend(warnings);
            live.list.sessions = sessions;
            live.list.warnings = all;
        }
        let trace_count = live.list.sessions.iter().map(|s| s.event_count).sum();
        live.list.file = self.file_info_with(trace_count);
    }
}

/// A session whose list row changes: its session row when that changed (`new` when the row
/// was added), else only its aggregates.
struct Change {
    id: String,
    row: Option<SessionRow>,
    new: bool,
}

/// Mends `list` (as [`Store::assemble`] left it, with no warnings) for the `changed` sessions:
/// each with its new session row (or its row as listed) and its aggregates now, moved to its
/// place in the newest-first order. Gives up (false, the list then half mended: the caller
/// assembles it again) on anything that would make `assemble` warn or whose place depends on
/// the order of the rows: a new row whose id is listed already (a duplicate), two changed rows
/// of one id, traces of a session without a row, a start equal to another session's.
fn mend_list(
    list: &mut Vec<Arc<SessionRow>>,
    changed: Vec<Change>,
    aggregates: &BTreeMap<String, TraceAggregate>,
) -> bool {
    let key = |s: &SessionRow| (s.started, s.started_at.clone());
    let mut rows: HashMap<String, (SessionRow, bool)> = HashMap::new();
    for c in &changed {
        if let Some(row) = &c.row
            && rows.insert(c.id.clone(), (row.clone(), c.new)).is_some()
        {
            return false;
        }
    }
    let mut done: HashSet<String> = HashSet::new();
    for Change { id, .. } in changed {
        if !done.insert(id.clone()) {
            continue;
        }
        // Active sessions are among the newest: look from the front.
        let at = list.iter().position(|s| s.id == id);
        let mut row = match (rows.remove(&id), at) {
            (Some((_, true)), Some(_)) | (Some((_, false)), None) | (None, None) => return false,
            (Some((row, _)), _) => row,
            (None, Some(i)) => match list.get(i) {
                Some(listed) if listed.has_session_row => SessionRow::clone(listed),
                _ => return false,
            },
        };
        if let Some(agg) = aggregates.get(&id) {
            set_aggregate(&mut row, agg);
        }
        if let Some(i) = at {
            let Some(slot) = list.get_mut(i) else { return false };
            if key(slot) == key(&row) {
                *slot = Arc::new(row);
                continue;
            }
            list.remove(i);
        }
        let new_key = key(&row);
        let i = list.partition_point(|s| key(s) > new_key);
        if list.get(i).is_some_and(|s| key(s) == new_key) {
            return false;
        }
        list.insert(i, Arc::new(row));
    }
    true
}
