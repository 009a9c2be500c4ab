//! Which spans are rows: the tree flattened into the row list that the tree view and the Gantt
//! chart both draw, with collapsed subtrees and filtered-out spans left out.

use crate::analysis::Timeline;

/// The spans to show, in tree order: a collapsed span's subtree is skipped, and with `keep`
/// (a filter or "only matches" search) only spans that pass and their ancestors remain, so
/// every shown span still hangs under its parent. O(n), no recursion.
#[must_use]
pub fn visible_rows(timeline: &Timeline, collapsed: &[bool], keep: Option<&[bool]>) -> Vec<usize> {
    let spans = &timeline.spans;
    let n = spans.len();
    // A span is shown when it passes or a descendant does. Children follow their parent in
    // depth-first order, so one backward pass carries "shown" up to every ancestor.
    let shown: Option<Vec<bool>> = keep.map(|keep| {
        let mut shown: Vec<bool> = (0..n).map(|i| keep.get(i).copied().unwrap_or(false)).collect();
        for i in (0..n).rev() {
            if let Some(p) = spans[i].parent.get().filter(|&p| p < i && shown[i]) {
                shown[p] = true;
            }
        }
        shown
    });
    let mut rows = Vec::with_capacity(shown.as_ref().map_or(n, |s| s.iter().filter(|&&v| v).count()));
    let mut i = 0;
    while i < n {
        // Nothing in a subtree is shown when its root is not, so skip it whole.
        let skip_subtree = !shown.as_ref().is_none_or(|s| s[i]) || collapsed.get(i).copied().unwrap_or(false);
        if shown.as_ref().is_none_or(|s| s[i]) {
            rows.push(i);
        }
        // `max(i + 1)`: a malformed `subtree_end` must not stall the walk.
        i = if skip_subtree { spans[i].subtree_end().clamp(i + 1, n) } else { i + 1 };
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::{Span, SpanKind};

    /// A timed span of kind "other", from `i` to `i + 1` ms, of event `i`.
    pub(crate) fn span(i: usize, depth: u32, parent: Option<usize>, subtree_end: usize) -> Span {
        Span {
            event: i,
            end_event: crate::analysis::Link::NONE,
            kind: SpanKind::Other,
            start_ms: i as f64,
            end_ms: i as f64 + 1.0,
            timed: true,
            instant: false,
            open: false,
            failed: false,
            depth,
            parent: crate::analysis::Link::new(parent),
            subtree_end: u32::try_from(subtree_end).unwrap_or(u32::MAX),
        }
    }

    /// A timeline from (depth, parent) pairs in depth-first order; subtree ends are derived.
    fn tree(shape: &[(u32, Option<usize>)]) -> Timeline {
        let n = shape.len();
        let mut spans: Vec<Span> =
            shape.iter().enumerate().map(|(i, &(depth, parent))| span(i, depth, parent, n)).collect();
        for i in 0..n {
            let depth = spans[i].depth;
            spans[i].subtree_end = (i + 1..n).find(|&j| spans[j].depth <= depth).unwrap_or(n) as u32;
        }
        Timeline { spans, ..Timeline::default() }
    }

    /// 0 root ─ 1 a ─ 2 a1
    ///        │     └ 3 a2
    ///        └ 4 b ─ 5 b1
    /// 6 other root
    fn sample() -> Timeline {
        tree(&[(0, None), (1, Some(0)), (2, Some(1)), (2, Some(1)), (1, Some(0)), (2, Some(4)), (0, None)])
    }

    #[test]
    fn sample_subtrees_are_what_the_walk_expects() {
        let t = sample();
        let ends: Vec<usize> = t.spans.iter().map(|s| s.subtree_end()).collect();
        assert_eq!(ends, vec![6, 4, 3, 4, 6, 6, 7]);
    }

    #[test]
    fn all_rows_when_nothing_is_collapsed() {
        assert_eq!(visible_rows(&sample(), &[], None), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn collapsed_spans_hide_their_subtree_only() {
        let mut collapsed = vec![false; 7];
        collapsed[1] = true;
        assert_eq!(visible_rows(&sample(), &collapsed, None), vec![0, 1, 4, 5, 6]);
        collapsed[0] = true;
        assert_eq!(visible_rows(&sample(), &collapsed, None), vec![0, 6]);
    }

    #[test]
    fn keep_shows_matches_with_their_ancestors() {
        let mut keep = vec![false; 7];
        keep[3] = true; // a2: its parent a and the root come along, its sibling a1 does not.
        assert_eq!(visible_rows(&sample(), &[], Some(&keep)), vec![0, 1, 3]);
        keep[6] = true;
        assert_eq!(visible_rows(&sample(), &[], Some(&keep)), vec![0, 1, 3, 6]);
        // A collapsed ancestor still hides what is under it.
        let mut collapsed = vec![false; 7];
        collapsed[1] = true;
        assert_eq!(visible_rows(&sample(), &collapsed, Some(&keep)), vec![0, 1, 6]);
        // Nothing kept: nothing shown (a short keep slice means "not kept").
        assert_eq!(visible_rows(&sample(), &[], Some(&[])), Vec::<usize>::new());
    }

    #[test]
    fn deep_chain_walks_without_recursion() {
        let n = 200_000;
        // Every span's subtree runs to the end of the chain.
        let spans = (0..n).map(|i| span(i, i as u32, i.checked_sub(1), n)).collect();
        let t = Timeline { spans, ..Timeline::default() };
        assert_eq!(visible_rows(&t, &[], None).len(), n);
        let mut keep = vec![false; n];
        keep[n - 1] = true;
        assert_eq!(visible_rows(&t, &[], Some(&keep)).len(), n, "the deepest span keeps all its ancestors");
        let mut collapsed = vec![false; n];
        collapsed[10] = true;
        assert_eq!(visible_rows(&t, &collapsed, None), (0..=10).collect::<Vec<_>>());
    }
}
