//! The alignment of two lists of children: a sequence diff of their signatures, repeats
//! moved after their first occurrence, and spans that changed places paired up.

use std::collections::HashMap;

use similar::{Algorithm, DiffOp, capture_diff_slices};

use super::NONE;
use crate::analysis::Span;
use crate::hash::IdHashBuilder;

/// The direct children of `parent` (the roots for `None`), by the depth-first layout.
pub(super) fn children(spans: &[Span], parent: Option<usize>, placed: &[usize]) -> Vec<usize> {
    let (mut i, end) = match parent {
        None => (0, spans.len()),
        Some(p) => (p + 1, spans.get(p).map_or(p + 1, |s| s.subtree_end().min(spans.len()))),
    };
    let mut out = Vec::new();
    while i < end {
        if placed.get(i) == Some(&NONE) {
            out.push(i);
        }
        i = spans.get(i).map_or(i + 1, |s| s.subtree_end().max(i + 1));
    }
    out
}

/// One entry of an aligned list: positions in A's and B's lists.
pub(super) type Entry = (Option<usize>, Option<usize>);

/// Aligns two lists of signatures: the diff's pairs, then repeats moved after their first
/// occurrence (a retry pairs with the first call; the repeats are one-sided).
pub(super) fn align(sig_a: &[u32], sig_b: &[u32]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::with_capacity(sig_a.len().max(sig_b.len()));
    if sig_a.is_empty() || sig_b.is_empty() {
        entries.extend((0..sig_a.len()).map(|i| (Some(i), None)));
        entries.extend((0..sig_b.len()).map(|j| (None, Some(j))));
        return entries;
    }
    for op in capture_diff_slices(Algorithm::Myers, sig_a, sig_b) {
        match op {
            DiffOp::Equal { old_index, new_index, len } => {
                entries.extend((0..len).map(|k| (Some(old_index + k), Some(new_index + k))));
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                entries.extend((old_index..old_index + old_len).map(|i| (Some(i), None)));
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                entries.extend((new_index..new_index + new_len).map(|j| (None, Some(j))));
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                entries.extend((old_index..old_index + old_len).map(|i| (Some(i), None)));
                entries.extend((new_index..new_index + new_len).map(|j| (None, Some(j))));
            }
        }
    }
    slide(&mut entries, sig_b, |e| &mut e.0, |e| e.1);
    slide(&mut entries, sig_a, |e| &mut e.1, |e| e.0);
    pair_moved(&mut entries, sig_a, sig_b);
    entries
}

/// Pairs spans that changed places: a signature left one-sided on both sides (a call whose
/// start moved past an instant, say) pairs up, first with first, at A's place. A repeat with
/// nothing left over on the other side stays one-sided.
pub(super) fn pair_moved(entries: &mut Vec<Entry>, sig_a: &[u32], sig_b: &[u32]) {
    let mut only_b: HashMap<u32, std::collections::VecDeque<usize>, IdHashBuilder> = HashMap::default();
    for (k, e) in entries.iter().enumerate() {
        if let (None, Some(j)) = *e
            && let Some(&sig) = sig_b.get(j)
        {
            only_b.entry(sig).or_default().push_back(k);
        }
    }
    if only_b.is_empty() {
        return;
    }
    let mut moved = false;
    for k in 0..entries.len() {
        let (Some(i), None) = entries[k] else { continue };
        let Some(kb) = sig_a.get(i).and_then(|sig| only_b.get_mut(sig)).and_then(|q| q.pop_front()) else {
            continue;
        };
        entries[k].1 = entries[kb].1.take();
        moved = true;
    }
    if moved {
        entries.retain(|e| e.0.is_some() || e.1.is_some());
    }
}

/// Moves one-sided runs down past a pair of the same signature: in `[x x'] [pair x]` (the run
/// on the side `own`, the other side `other` missing), the pair goes to the first `x` and the
/// later one becomes one-sided. Repeats after their first occurrence are what was added.
fn slide(
    entries: &mut [Entry],
    sigs: &[u32],
    other: impl Fn(&mut Entry) -> &mut Option<usize>,
    own: impl Fn(&Entry) -> Option<usize>,
) {
    let sig = |e: &Entry| own(e).and_then(|i| sigs.get(i)).copied();
    let one_sided = |e: &mut Entry| own(e).is_some() && other(e).is_none();
    let mut k = 0;
    while k < entries.len() {
        if !one_sided(&mut entries[k]) {
            k += 1;
            continue;
        }
        // The run is entries[start..end]; both ends only move forward (linear time).
        let mut start = k;
        let mut end = k;
        loop {
            while end < entries.len() && one_sided(&mut entries[end]) {
                end += 1;
            }
            let movable = end < entries.len()
                && start < end
                && other(&mut entries[end]).is_some()
                && sig(&entries[end]).is_some()
                && sig(&entries[end]) == sig(&entries[start]);
            if !movable {
                k = end.max(k + 1);
                break;
            }
            let taken = other(&mut entries[end]).take();
            *other(&mut entries[start]) = taken;
            start += 1;
            end += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slide;

    #[test]
    fn the_slide_moves_a_pair_to_the_first_of_a_run() {
        // [x(b) x(b) pair-x] becomes [pair-x x(b) x(b)].
        let mut entries = vec![(None, Some(0)), (None, Some(1)), (Some(0), Some(2)), (Some(1), Some(3))];
        slide(&mut entries, &[7, 7, 7, 8], |e| &mut e.0, |e| e.1);
        assert_eq!(entries, [(Some(0), Some(0)), (None, Some(1)), (None, Some(2)), (Some(1), Some(3))]);
        // A different signature after the run: nothing moves.
        let mut entries = vec![(None, Some(0)), (Some(0), Some(1))];
        slide(&mut entries, &[7, 8], |e| &mut e.0, |e| e.1);
        assert_eq!(entries, [(None, Some(0)), (Some(0), Some(1))]);
    }
}
