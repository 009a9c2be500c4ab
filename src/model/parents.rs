//! Each event's parent as the index of the event that is its parent: 4 bytes an event, where
//! the parent's id held in every event took 16.
//!
//! A parent id names a trace; when several events of the session carry that id, the parent
//! is the first of them in the session's order (and the repeats are counted, for a warning).
//! The few parent ids that name no event of the session are kept beside, as they are, for the
//! views and warnings that quote them.

use crate::hash::IdHashBuilder;
use std::hash::BuildHasher as _;

use super::{TraceEvent, TraceId};

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parents {
    /// Per event: its parent's index, or [`NO_PARENT`] (no parent id), or [`ELSEWHERE`] (an id
    /// no event here has, kept in `elsewhere`). Events past its end have no parent.
    links: Vec<u32>,
    /// The parent ids that name no event of the session, by event index (ascending).
    elsewhere: Vec<(usize, TraceId)>,
    /// Events whose id an earlier event of the session already has.
    duplicate_ids: usize,
}

const NO_PARENT: u32 = u32::MAX;
const ELSEWHERE: u32 = u32::MAX - 1;

/// An event's parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent<'a> {
    /// The event has no parent id.
    None,
    /// The parent is this event of the session.
    Event(usize),
    /// The parent id names no event of the session.
    Elsewhere(&'a TraceId),
}

impl Parents {
    /// Links each event of `events` (in their final order) to its parent, from `ids`, each
    /// event's parent id at the same index (missing entries: no parent id).
    #[must_use]
    pub fn resolve(events: &[TraceEvent], ids: &[Option<TraceId>]) -> Parents {
        let hasher = IdHashBuilder::default();
        let hash_of = |i: u32| events.get(i as usize).map_or(0, |o| hasher.hash_one(&o.id));
        // Each id's first event: a table of 4-byte event indices hashed by the events' ids.
        let mut first = hashbrown::HashTable::<u32>::with_capacity(events.len());
        let mut duplicate_ids = 0;
        for (i, e) in events.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            if index >= ELSEWHERE {
                break;
            }
            let same = |&j: &u32| events.get(j as usize).is_some_and(|o| o.id == e.id);
            match first.entry(hasher.hash_one(&e.id), same, |&j| hash_of(j)) {
                hashbrown::hash_table::Entry::Occupied(_) => duplicate_ids += 1,
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(index);
                }
            }
        }
        // Agents log children right after their parent: most parents are among the few events
        // just before, or among the few parents found last (a step's parent, the run's root).
        // Looking there first skips most probes of the table, each a few cache misses. Only
        // with no repeated ids: an event found just before is then the first with its id.
        const NEARBY: usize = 16;
        const RECENT: usize = 4;
        let nearby = duplicate_ids == 0;
        let mut recent: [Option<(&TraceId, u32)>; RECENT] = [None; RECENT];
        let mut next = 0;
        let mut elsewhere = Vec::new();
        let mut links = Vec::with_capacity(events.len());
        for i in 0..events.len() {
            let Some(pid) = ids.get(i).and_then(Option::as_ref) else {
                links.push(NO_PARENT);
                continue;
            };
            let before = events.get(i.saturating_sub(NEARBY)..i).filter(|_| nearby).unwrap_or_default();
            let near = before.iter().rposition(|e| e.id == *pid).map(|k| i - before.len() + k);
            let found = match near.and_then(|j| u32::try_from(j).ok()).filter(|&j| j < ELSEWHERE) {
                Some(j) => Some(j),
                None => match recent.iter().flatten().find(|(id, _)| *id == pid) {
                    Some(&(_, j)) => Some(j),
                    None => {
                        let found =
                            first.find(hasher.hash_one(pid), |&j| events.get(j as usize).is_some_and(|o| o.id == *pid));
                        found.copied().inspect(|&j| {
                            if let Some(e) = events.get(j as usize) {
                                recent[next] = Some((&e.id, j));
                                next = (next + 1) % RECENT;
                            }
                        })
                    }
                },
            };
            match found {
                Some(j) => links.push(j),
                None => {
                    links.push(ELSEWHERE);
                    elsewhere.push((i, pid.clone()));
                }
            }
        }
        Parents { links, elsewhere, duplicate_ids }
    }

    /// The parent of event `i`.
    #[must_use]
    pub fn of(&self, i: usize) -> Parent<'_> {
        match self.links.get(i).copied() {
            None | Some(NO_PARENT) => Parent::None,
            Some(ELSEWHERE) => match self.elsewhere.binary_search_by_key(&i, |(e, _)| *e) {
                Ok(k) => self.elsewhere.get(k).map_or(Parent::None, |(_, id)| Parent::Elsewhere(id)),
                Err(_) => Parent::None,
            },
            Some(j) => Parent::Event(j as usize),
        }
    }

    /// The index of event `i`'s parent, when it is an event of the session.
    #[must_use]
    pub fn event(&self, i: usize) -> Option<usize> {
        match self.links.get(i).copied() {
            None | Some(NO_PARENT | ELSEWHERE) => None,
            Some(j) => Some(j as usize),
        }
    }

    /// Event `i`'s parent id, as stored: the parent event's id, or the id that names none.
    #[must_use]
    pub fn id<'a>(&'a self, events: &'a [TraceEvent], i: usize) -> Option<&'a TraceId> {
        match self.of(i) {
            Parent::None => None,
            Parent::Event(j) => events.get(j).map(|e| &e.id),
            Parent::Elsewhere(id) => Some(id),
        }
    }

    /// How many events repeat an id an earlier event of the session has.
    #[must_use]
    pub fn duplicate_ids(&self) -> usize {
        self.duplicate_ids
    }
}

/// Sorts `events` by parsed time (events without one keep their stored order, after the
/// rest), moving each event's entry of `parent_ids` with it.
pub fn sort_with_parents(events: &mut [TraceEvent], parent_ids: &mut [Option<TraceId>]) {
    let key = |e: &TraceEvent| (e.time.get().is_none(), e.time.get());
    // Rows usually come in time order already; checking is far cheaper than moving them.
    if events.is_sorted_by_key(key) {
        return;
    }
    // The order as indices (stable), then applied in place one cycle at a time: no second
    // copy of the events is ever held.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| key(&events[i]));
    let parents_too = parent_ids.len() == events.len();
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start && order[at] != at {
            let from = order[at];
            events.swap(at, from);
            if parents_too {
                parent_ids.swap(at, from);
            }
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;
    use crate::time::Timestamp;

    fn ev(id: &str, time: Option<i64>) -> TraceEvent {
        TraceEvent { id: id.into(), time: EventTime::from(time.map(Timestamp)), ..TraceEvent::default() }
    }

    #[test]
    fn parents_by_first_event_of_an_id_and_ids_kept_for_the_rest() {
        let events = [ev("a", None), ev("b", None), ev("a", None), ev("c", None), ev("d", None)];
        let ids: Vec<Option<TraceId>> =
            vec![None, Some("a".into()), Some("b".into()), Some("elsewhere".into()), Some("d".into())];
        let p = Parents::resolve(&events, &ids);
        assert_eq!(p.of(0), Parent::None);
        assert_eq!(p.of(1), Parent::Event(0));
        assert_eq!(p.of(2), Parent::Event(1));
        assert_eq!(p.of(3), Parent::Elsewhere(&TraceId::from("elsewhere")));
        assert_eq!(p.of(4), Parent::Event(4), "its own parent");
        assert_eq!(p.of(99), Parent::None, "past the end");
        assert_eq!((p.event(3), p.event(1)), (None, Some(0)));
        assert_eq!(p.id(&events, 2).map(ToString::to_string).as_deref(), Some("b"));
        assert_eq!(p.id(&events, 3).map(ToString::to_string).as_deref(), Some("elsewhere"));
        assert_eq!(p.duplicate_ids(), 1);
        // The recent-parents shortcut gives what the table gives, children far from parents too.
        let many: Vec<TraceEvent> = (0..200).map(|i| ev(&format!("e{i}"), None)).collect();
        let ids: Vec<Option<TraceId>> =
            (0..200).map(|i: usize| (i > 0).then(|| TraceId::from(format!("e{}", (i * 37) % i)))).collect();
        let p = Parents::resolve(&many, &ids);
        for i in 1..200 {
            assert_eq!(p.event(i), Some((i * 37) % i), "event {i}");
        }
        // Parents just before their children, found without the table; with a repeated id
        // just before, the first event with it is still the parent.
        let near: Vec<TraceEvent> = (0..40).map(|i| ev(&format!("n{i}"), None)).collect();
        let ids: Vec<Option<TraceId>> =
            (0..40).map(|i: usize| i.checked_sub(1 + i % 3).map(|p| format!("n{p}").into())).collect();
        let p = Parents::resolve(&near, &ids);
        assert!((0..40).all(|i| p.event(i) == i.checked_sub(1 + i % 3)));
        let repeated = [ev("x", None), ev("a", None), ev("a", None), ev("c", None)];
        let ids = [None, None, None, Some("a".into())];
        assert_eq!(Parents::resolve(&repeated, &ids).event(3), Some(1));
        assert_eq!(Parents::default().of(0), Parent::None);
    }

    #[test]
    fn sorting_moves_parent_ids_with_their_events() {
        // Times out of order, ties (stable) and untimed events (last, in stored order).
        let times = [Some(5), None, Some(1), Some(5), None, Some(3), Some(1), Some(9), Some(2)];
        let mut events: Vec<TraceEvent> = times.iter().enumerate().map(|(i, t)| ev(&format!("e{i}"), *t)).collect();
        let mut ids: Vec<Option<TraceId>> = (0..times.len()).map(|i| Some(TraceId::from(format!("p{i}")))).collect();
        sort_with_parents(&mut events, &mut ids);
        let order: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(order, ["e2", "e6", "e8", "e5", "e0", "e3", "e7", "e1", "e4"]);
        for (e, p) in events.iter().zip(&ids) {
            assert_eq!(p.as_ref().map(|p| p.to_string()[1..].to_owned()), Some(e.id.to_string()[1..].to_owned()));
        }
        // Every permutation of four distinct times sorts the same way.
        let mut perm = [0i64, 1, 2, 3];
        for _ in 0..24 {
            let mut events: Vec<TraceEvent> = perm.iter().map(|&t| ev(&format!("e{t}"), Some(t))).collect();
            let mut ids: Vec<Option<TraceId>> = perm.iter().map(|&t| Some(TraceId::from(format!("e{t}")))).collect();
            sort_with_parents(&mut events, &mut ids);
            assert!(events.iter().zip(&ids).all(|(e, p)| p.as_ref() == Some(&e.id)));
            assert!(events.is_sorted_by_key(|e| e.time.get()));
            next_permutation(&mut perm);
        }
    }

    fn next_permutation(v: &mut [i64]) {
        let Some(i) = (1..v.len()).rev().find(|&i| v[i - 1] < v[i]) else {
            v.reverse();
            return;
        };
        let j = (i..v.len()).rev().find(|&j| v[j] > v[i - 1]).unwrap_or(i);
        v.swap(i - 1, j);
        v[i..].reverse();
    }
}
