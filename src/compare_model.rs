//! Two runs open side by side and how they are being looked at, without egui: the merged
//! tree's rows that show (collapse, "only changes"), the selected row, and the loaded detail
//! of its two traces.
//!
//! Like [`crate::session_model::SessionModel`], everything derived is recomputed by one
//! [`CompareModel::rebuild`] from the inputs.

use std::path::PathBuf;

use serde_json::Value;

use crate::analysis::compare::{Comparison, DiffLine, JsonChange, Row, Status, json_diff, line_diff};
use crate::analysis::{AnalyzedSession, Span};
use crate::model::{TraceDetail, TraceEvent};

/// One side of a comparison: the session and the file it came from.
#[derive(Debug)]
pub struct Run {
    pub path: PathBuf,
    pub session: AnalyzedSession,
}

impl Run {
    /// The span at this index.
    #[must_use]
    pub fn span(&self, index: Option<usize>) -> Option<&Span> {
        self.session.timeline.spans.get(index?)
    }

    /// The first event of the span at this index.
    #[must_use]
    pub fn event(&self, index: Option<usize>) -> Option<&TraceEvent> {
        self.session.data.events.get(self.span(index)?.event)
    }

    /// The session's length in ms (at least 1).
    #[must_use]
    pub fn extent_ms(&self) -> f64 {
        let end = self.session.timeline.end_ms;
        if end.is_finite() { end.max(1.0) } else { 1.0 }
    }
}

/// A trace to read: its row id (when the table has one) and its id.
pub type TraceKey = (Option<i64>, String);

/// The detail of the selected row's traces (each side's first event and, for a pair of events,
/// its completing one), once loaded, with what differs between the sides.
#[derive(Debug, Default)]
pub struct PairDetail {
    /// The row it is for.
    pub row: usize,
    pub a: Vec<TraceDetail>,
    pub b: Vec<TraceDetail>,
    /// The differences, worked out when the traces arrived.
    pub diffs: Vec<PairDiff>,
}

/// What differs in one part of a pair's traces.
#[derive(Debug, PartialEq)]
pub struct PairDiff {
    /// What is compared: `data of tool_called`, `raw output`…
    pub title: String,
    pub diff: DiffBody,
}

/// The differences of one part: keys of two JSON documents, or lines of two texts.
#[derive(Debug, PartialEq)]
pub enum DiffBody {
    Json(Vec<JsonChange>),
    Lines(Vec<DiffLine>),
    /// Nothing to compare, and why (one side lacks it, it is not JSON…).
    Note(String),
}

/// The differences between two sides' traces: `data` of the first events and of the
/// completing events as JSON (as text when either is not JSON), and the raw input and output
/// (the first trace of each side that has them) line by line.
#[must_use]
pub fn pair_diffs(a: &[TraceDetail], b: &[TraceDetail]) -> Vec<PairDiff> {
    let mut out = Vec::new();
    for (k, which) in [(0, "first event"), (1, "completing event")] {
        let (da, db) = (a.get(k), b.get(k));
        if da.is_none() && db.is_none() {
            continue;
        }
        let value = |d: Option<&TraceDetail>| d.and_then(|d| d.field("data")).and_then(|f| f.value.clone());
        let title = format!("data of the {which}");
        let diff = match (value(da), value(db)) {
            (Some(x), Some(y)) => match (serde_json::from_str::<Value>(&x), serde_json::from_str::<Value>(&y)) {
                (Ok(x), Ok(y)) => DiffBody::Json(json_diff(&x, &y)),
                _ => DiffBody::Lines(line_diff(&x, &y)),
            },
            (None, None) => DiffBody::Note("neither run has it".to_owned()),
            (None, Some(_)) => DiffBody::Note("only B has it".to_owned()),
            (Some(_), None) => DiffBody::Note("only A has it".to_owned()),
        };
        out.push(PairDiff { title, diff });
    }
    for (column, title) in [("raw_input", "raw input"), ("raw_output", "raw output")] {
        let text = |side: &[TraceDetail]| {
            side.iter().find_map(|d| d.field(column).and_then(|f| f.value.clone()).filter(|v| !v.is_empty()))
        };
        let diff = match (text(a), text(b)) {
            (Some(x), Some(y)) => DiffBody::Lines(line_diff(&x, &y)),
            (None, None) => continue,
            (None, Some(_)) => DiffBody::Note("only B has it".to_owned()),
            (Some(_), None) => DiffBody::Note("only A has it".to_owned()),
        };
        out.push(PairDiff { title: title.to_owned(), diff });
    }
    out
}

/// Two runs compared and how they are being looked at.
#[derive(Debug)]
pub struct CompareModel {
    pub a: Run,
    pub b: Run,
    pub comparison: Comparison,
    /// Per row of the merged tree: its children are hidden.
    pub collapsed: Vec<bool>,
    /// Show only rows that changed (and their ancestors).
    pub only_changes: bool,
    /// Row indices shown, in order.
    pub rows: Vec<usize>,
    /// Index into [`Comparison::rows`].
    pub selected: Option<usize>,
    pub detail: Option<PairDetail>,
}

impl CompareModel {
    /// A fresh comparison: everything expanded, nothing selected.
    #[must_use]
    pub fn new(a: Run, b: Run, comparison: Comparison) -> Self {
        let n = comparison.rows.len();
        let mut model = Self {
            a,
            b,
            comparison,
            collapsed: vec![false; n],
            only_changes: false,
            rows: Vec::new(),
            selected: None,
            detail: None,
        };
        model.rebuild();
        model
    }

    /// The rows shown from the current inputs.
    pub fn rebuild(&mut self) {
        self.collapsed.resize(self.comparison.rows.len(), false);
        let keep: Option<Vec<bool>> =
            self.only_changes.then(|| self.comparison.rows.iter().map(|r| r.status != Status::Same).collect());
        self.rows = shown_rows(&self.comparison.rows, &self.collapsed, keep.as_deref());
    }

    /// The row at this index of the merged tree.
    #[must_use]
    pub fn row(&self, index: usize) -> Option<&Row> {
        self.comparison.rows.get(index)
    }

    /// Where a row is in the shown list.
    #[must_use]
    pub fn position_of(&self, index: usize) -> Option<usize> {
        self.rows.iter().position(|&r| r == index)
    }

    /// Selects a row, opening its collapsed ancestors (and leaving "only changes" when the row
    /// is unchanged) so that it shows.
    pub fn select(&mut self, index: usize) {
        if index >= self.comparison.rows.len() {
            return;
        }
        self.selected = Some(index);
        let mut parent = self.comparison.rows[index].parent;
        while let Some(p) = parent {
            if let Some(c) = self.collapsed.get_mut(p) {
                *c = false;
            }
            parent = self.comparison.rows.get(p).and_then(|r| r.parent);
        }
        if self.only_changes && self.comparison.rows[index].status == Status::Same {
            self.only_changes = false;
        }
        self.rebuild();
    }

    /// Collapses or expands a row's children.
    pub fn toggle(&mut self, index: usize) {
        if let Some(c) = self.collapsed.get_mut(index) {
            *c = !*c;
        }
        self.rebuild();
    }

    /// The row has children in the merged tree.
    #[must_use]
    pub fn has_children(&self, index: usize) -> bool {
        self.row(index).is_some_and(|r| r.subtree_end > index + 1)
    }

    /// The run and span a row stands for: A's when A has it, else B's.
    #[must_use]
    pub fn side_of(&self, row: &Row) -> (&Run, Option<usize>) {
        if row.a.is_some() { (&self.a, row.a) } else { (&self.b, row.b) }
    }

    /// The span of either side a row stands for, A's first.
    #[must_use]
    pub fn span_of(&self, row: &Row) -> Option<&Span> {
        self.a.span(row.a).or_else(|| self.b.span(row.b))
    }

    /// The traces whose detail shows for a row, per side: the span's first event and its
    /// completing one, as (row id, trace id).
    #[must_use]
    pub fn detail_keys(&self, row: usize) -> (Vec<TraceKey>, Vec<TraceKey>) {
        let keys = |run: &Run, span: Option<usize>| -> Vec<TraceKey> {
            let Some(s) = run.span(span) else { return Vec::new() };
            let events = &run.session.data.events;
            std::iter::once(s.event)
                .chain(s.end_event.get())
                .filter_map(|e| events.get(e))
                .map(|e| (e.rowid.get(), e.id.to_string()))
                .collect()
        };
        match self.row(row) {
            Some(r) => (keys(&self.a, r.a), keys(&self.b, r.b)),
            None => (Vec::new(), Vec::new()),
        }
    }

    /// The longer run's length: the shared relative axis runs from 0 to this.
    #[must_use]
    pub fn extent_ms(&self) -> f64 {
        self.a.extent_ms().max(self.b.extent_ms())
    }

    /// The selected row's next (or previous) shown row, for the arrow keys.
    #[must_use]
    pub fn step(&self, forward: bool) -> Option<usize> {
        let at = self.selected.and_then(|s| self.position_of(s));
        let next = match (at, forward) {
            (None, _) => 0,
            (Some(p), true) => (p + 1).min(self.rows.len().saturating_sub(1)),
            (Some(p), false) => p.saturating_sub(1),
        };
        self.rows.get(next).copied()
    }
}

/// The merged tree's rows to show, in order: a collapsed row's subtree is skipped, and with
/// `keep` only rows that pass and their ancestors remain. O(n), no recursion.
#[must_use]
pub fn shown_rows(rows: &[Row], collapsed: &[bool], keep: Option<&[bool]>) -> Vec<usize> {
    let n = rows.len();
    let shown: Option<Vec<bool>> = keep.map(|keep| {
        let mut shown: Vec<bool> = (0..n).map(|i| keep.get(i).copied().unwrap_or(false)).collect();
        for i in (0..n).rev() {
            if let Some(p) = rows[i].parent.filter(|&p| p < i && shown[i]) {
                shown[p] = true;
            }
        }
        shown
    });
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let visible = shown.as_ref().is_none_or(|s| s[i]);
        if visible {
            out.push(i);
        }
        let skip = !visible || collapsed.get(i).copied().unwrap_or(false);
        i = if skip { rows[i].subtree_end.clamp(i + 1, n) } else { i + 1 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::compare::{CompareOptions, compare};
    use crate::analysis::fixtures::sample_session;

    fn model() -> CompareModel {
        let a = sample_session();
        let mut b = sample_session();
        // B's LLM call takes 2 s longer.
        b.timeline.spans[3].end_ms += 2000.0;
        let comparison = compare(&a, &b, &CompareOptions::default());
        let run = |session| Run { path: PathBuf::from("f.db"), session };
        CompareModel::new(run(a), run(b), comparison)
    }

    #[test]
    fn collapsing_hides_a_subtree_and_only_changes_keeps_the_path_to_them() {
        let mut m = model();
        let all = m.rows.clone();
        assert_eq!(all.len(), m.comparison.rows.len());
        let root = 0;
        m.toggle(root);
        let end = m.comparison.rows[root].subtree_end;
        assert!(end > 1 && m.rows.len() == all.len() - (end - 1), "{:?}", m.rows);
        assert!(m.rows.iter().all(|&r| r == root || r >= end));
        m.toggle(root);
        m.only_changes = true;
        m.rebuild();
        let slower: Vec<usize> =
            (0..m.comparison.rows.len()).filter(|&i| m.comparison.rows[i].status == Status::Slower).collect();
        assert_eq!(slower.len(), 1, "{:?}", m.comparison.rows);
        // The slower call and each of its ancestors, nothing else.
        let mut expected = vec![slower[0]];
        let mut p = m.comparison.rows[slower[0]].parent;
        while let Some(x) = p {
            expected.push(x);
            p = m.comparison.rows[x].parent;
        }
        expected.sort_unstable();
        assert_eq!(m.rows, expected);
    }

    #[test]
    fn pair_diffs_name_changed_keys_and_lines() {
        use crate::model::Field;
        let detail = |data: &str, raw_output: Option<&str>| TraceDetail {
            id: "t".to_owned(),
            fields: [("data", Some(data)), ("raw_output", raw_output)]
                .into_iter()
                .map(|(name, value)| Field {
                    name: name.to_owned(),
                    storage: "text",
                    value: value.map(str::to_owned),
                    size_bytes: value.map_or(0, |v| v.len() as u64),
                    cut: false,
                })
                .collect(),
            ..TraceDetail::default()
        };
        let a = [detail(r#"{"tool":"grep","params":{"q":"a"}}"#, Some("one\ntwo"))];
        let b = [detail(r#"{"tool":"grep","params":{"q":"b"},"retry":1}"#, Some("one\nthree"))];
        let diffs = pair_diffs(&a, &b);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        let DiffBody::Json(changes) = &diffs[0].diff else { panic!("{diffs:?}") };
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/params/q", "/retry"]);
        assert_eq!(diffs[1].title, "raw output");
        let DiffBody::Lines(lines) = &diffs[1].diff else { panic!("{diffs:?}") };
        let changed: Vec<&str> = lines
            .iter()
            .filter(|l| l.tag != crate::analysis::compare::LineTag::Same)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(changed, ["two", "three"]);
        // Text that is not JSON is compared line by line; one side alone is said.
        let odd = pair_diffs(&[detail("not json", None)], &[detail("{}", None)]);
        assert!(matches!(odd[0].diff, DiffBody::Lines(_)));
        let alone = pair_diffs(&a, &[]);
        assert_eq!(alone[0].diff, DiffBody::Note("only A has it".to_owned()));
    }

    #[test]
    fn selecting_opens_ancestors_and_arrows_step_through_the_rows() {
        let mut m = model();
        let leaf = (0..m.comparison.rows.len()).find(|&i| m.comparison.rows[i].depth == 2).unwrap_or(0);
        let parent = m.comparison.rows[leaf].parent.unwrap_or(0);
        m.toggle(parent);
        assert!(m.position_of(leaf).is_none());
        m.select(leaf);
        assert!(m.position_of(leaf).is_some());
        assert_eq!(m.step(false), Some(m.rows[m.position_of(leaf).unwrap_or(0) - 1]));
        m.selected = None;
        assert_eq!(m.step(true), m.rows.first().copied());
    }
}
