//! Applying a refresh's [`Delta`] to a [`Live`]: the session rows, sums, tally and models,
//! then the list, mended in place when it can be, else assembled again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::sync::Arc;

use crate::hash::IdHashBuilder;
use crate::model::SessionRow;
use crate::store::Store;
use crate::store::list::set_aggregate;
use crate::store::sums::TraceAggregate;
use crate::time::Timestamp;

use super::refresh::Delta;
use super::{Live, TableMark};

impl Store {
    pub(super) fn apply(&self, live: &mut Live, delta: Delta) {
        // The sessions whose list rows change, and whether the list can be mended in place.
        let old_last = live.mark.sessions.as_ref().map_or(i64::MIN, TableMark::last_rowid);
        let mut changed: Vec<Change> = Vec::new();
        let mut mendable = self.schema.sessions.is_some() && live.list.warnings.is_empty();
        // Where the rows read again unchanged are listed: their sessions' sums may change.
        let mut unchanged: HashMap<String, ListKey> = HashMap::new();
        for record in delta.records {
            let Some(at) = record.rowid else { continue };
            let new = match live.rows.binary_search_by_key(&Some(at), |r| r.rowid) {
                Ok(i) => {
                    let Some(slot) = live.rows.get_mut(i) else { continue };
                    // Rows read again unchanged (running sessions) change nothing.
                    if *slot == record {
                        if let Some(row) = record.row {
                            unchanged.insert(row.id.clone(), list_key(&row));
                        }
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
                Some(row) => {
                    changed.push(Change { id: row.id.clone(), hint: Some(list_key(&row)), row: Some(row), new })
                }
                None => mendable = false,
            }
        }
        for (session, sums) in delta.sums {
            live.aggregates.insert(session.clone(), sums.aggregate(&session));
            live.sums.insert(session.clone(), sums);
            let hint = unchanged.get(&session).cloned();
            changed.push(Change { id: session, row: None, new: false, hint });
        }
        live.slow.add(&delta.durations);
        for row in delta.models {
            // Checked by `can_add` before.
            let _ = live.models.add(row);
        }
        live.mark = delta.mark;
        let mended = mendable && {
            let listed = live.listed.get_or_insert_with(|| listed_ids(&live.list.sessions));
            mend_list(&mut live.list.sessions, listed, changed, &live.aggregates)
        };
        if !mended {
            live.listed = None;
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
/// was added), else only its aggregates; and where it is likely listed (its key as read now).
struct Change {
    id: String,
    row: Option<SessionRow>,
    new: bool,
    hint: Option<ListKey>,
}

/// What the list is ordered by (newest first).
type ListKey = (Option<Timestamp>, Option<String>);

fn list_key(s: &SessionRow) -> ListKey {
    (s.started, s.started_at.clone())
}

/// The hash of a session id, as kept in [`Live`]'s set of listed ids.
fn id_hash(id: &str) -> u64 {
    IdHashBuilder::default().hash_one(id)
}

/// The hashes of the listed sessions' ids.
pub(super) fn listed_ids(list: &[Arc<SessionRow>]) -> HashSet<u64> {
    list.iter().map(|s| id_hash(&s.id)).collect()
}

/// Where session `id` is in `list`: none when its hash is not in `listed`; else looked for
/// among the rows of key `hint` (found in a binary search of the order), then in all.
fn find(list: &[Arc<SessionRow>], listed: &HashSet<u64>, id: &str, hint: Option<&ListKey>) -> Option<usize> {
    if !listed.contains(&id_hash(id)) {
        return None;
    }
    if let Some(k) = hint {
        let lo = list.partition_point(|s| list_key(s) > *k);
        let ties = list.get(lo..).unwrap_or_default();
        let hi = lo + ties.partition_point(|s| list_key(s) == *k);
        if let Some(i) = list.get(lo..hi).and_then(|r| r.iter().position(|s| s.id == id)) {
            return Some(lo + i);
        }
    }
    list.iter().position(|s| s.id == id)
}

/// Mends `list` (as [`Store::assemble`] left it, with no warnings) for the `changed` sessions:
/// each with its new session row (or its row as listed) and its aggregates now, moved to its
/// place in the newest-first order. Gives up (false, the list then half mended: the caller
/// assembles it again) on anything that would make `assemble` warn or whose place depends on
/// the order of the rows: a new row whose id is listed already (a duplicate), two changed rows
/// of one id, traces of a session without a row, a start equal to another session's.
fn mend_list(
    list: &mut Vec<Arc<SessionRow>>,
    listed: &mut HashSet<u64>,
    changed: Vec<Change>,
    aggregates: &BTreeMap<String, TraceAggregate>,
) -> bool {
    let key = list_key;
    let mut rows: HashMap<String, (SessionRow, bool)> = HashMap::new();
    for c in &changed {
        if let Some(row) = &c.row
            && rows.insert(c.id.clone(), (row.clone(), c.new)).is_some()
        {
            return false;
        }
    }
    let mut done: HashSet<String> = HashSet::new();
    for Change { id, hint, .. } in changed {
        if !done.insert(id.clone()) {
            continue;
        }
        let at = find(list, listed, &id, hint.as_ref());
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
        listed.insert(id_hash(&row.id));
        list.insert(i, Arc::new(row));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, started: Option<i64>) -> Arc<SessionRow> {
        let started_at = started.map(|s| format!("t{s}"));
        Arc::new(SessionRow { id: id.to_owned(), started: started.map(Timestamp), started_at, ..SessionRow::default() })
    }

    #[test]
    fn find_uses_the_hint_among_ties_falls_back_to_a_scan_and_skips_ids_not_listed() {
        // Newest first, with ties at 5 and rows without a start at the end.
        let list = vec![
            row("a", Some(9)),
            row("b", Some(5)),
            row("c", Some(5)),
            row("d", Some(5)),
            row("e", Some(1)),
            row("f", None),
            row("g", None),
        ];
        let listed = listed_ids(&list);
        for (i, r) in list.iter().enumerate() {
            // The right hint, no hint, and a wrong hint all find it.
            assert_eq!(find(&list, &listed, &r.id, Some(&list_key(r))), Some(i), "{}", r.id);
            assert_eq!(find(&list, &listed, &r.id, None), Some(i));
            assert_eq!(find(&list, &listed, &r.id, Some(&(Some(Timestamp(7)), Some("t7".to_owned())))), Some(i));
        }
        assert_eq!(find(&list, &listed, "z", Some(&list_key(&list[2]))), None);
        // An id whose hash is listed is looked for: a hash set that claims every id still answers right.
        let mut all = listed.clone();
        all.insert(id_hash("z"));
        assert_eq!(find(&list, &all, "z", None), None);
        // And one missing from the set is taken as not listed (the set must be kept exact).
        let none = HashSet::new();
        assert_eq!(find(&list, &none, "a", None), None);
    }

    #[test]
    fn mending_adds_new_ids_to_the_set_and_moves_rows_without_duplicating_them() {
        let mut list = vec![row("a", Some(9)), row("b", Some(5))];
        let mut listed = listed_ids(&list);
        let aggregates = BTreeMap::new();
        let new = |id: &str, at: i64| Change {
            id: id.to_owned(),
            row: Some(SessionRow::clone(&row(id, Some(at)))),
            new: true,
            hint: Some(list_key(&row(id, Some(at)))),
        };
        assert!(mend_list(&mut list, &mut listed, vec![new("c", 7)], &aggregates));
        assert_eq!(list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        assert!(listed.contains(&id_hash("c")));
        // A new row with a listed id is a duplicate: given up, for a full assembly.
        assert!(!mend_list(&mut list, &mut listed, vec![new("c", 8)], &aggregates));
    }
}
