//! An open session and how it is being looked at, without egui: which rows show (collapse,
//! filters, "only matches"), which span is selected, the search hits and which spans are slow.
//!
//! Everything derived (rows, slow flags, the order of the hits) is recomputed by one
//! [`SessionModel::rebuild`] from the inputs, so no caller can leave it half up to date.

use std::collections::HashMap;
use std::time::Duration;

use crate::analysis::diagnosis::Diagnosis;
use crate::analysis::filter::slow_flags;
use crate::analysis::rows::visible_rows;
pub use crate::analysis::slow::SlowRule;
use crate::analysis::{AnalyzedSession, SlowIndex, SpanFilter};
use crate::model::{TraceDetail, TraceId};

/// Search state of the open session.
#[derive(Debug, Default)]
pub struct SearchState {
    /// The search box's text (the box edits it in place; searching is a command).
    pub text: String,
    /// The query the hits are for.
    pub searched: Option<String>,
    /// Per span.
    pub hits: Vec<bool>,
    /// Hit spans in row order.
    pub hit_spans: Vec<usize>,
    pub hit_count: usize,
    pub only_matches: bool,
}

/// An open session and how it is being looked at.
pub struct SessionModel {
    pub session: AnalyzedSession,
    pub collapsed: Vec<bool>,
    /// Span indices shown, in order (collapse, filters and "only matches" applied).
    pub rows: Vec<usize>,
    pub selected: Option<usize>,
    /// The event whose detail is shown (the selected span's first event, or its partner).
    pub detail_event: Option<usize>,
    pub detail: Option<TraceDetail>,
    pub filter: SpanFilter,
    pub search: SearchState,
    /// Per span: a slow call by the [`SlowRule`] of the last rebuild.
    pub slow: Vec<bool>,
    pub loaded_in: Duration,
    /// Critical path, stalls, loops and context growth, worked out with the load.
    pub diagnosis: Diagnosis,
    /// Each loop shows as its first call (with a count); its repeats are not rows.
    pub fold_loops: bool,
    /// Per span: a loop's repeat (not its first call), hidden while loops are folded.
    pub loop_repeat: Vec<bool>,
    /// Per span: the number of calls of the loop it starts (0: none).
    pub loop_calls: Vec<u32>,
    /// Per span: on the critical path.
    pub on_path: Vec<bool>,
}

impl SessionModel {
    /// A freshly opened session: nothing collapsed, selected or searched.
    #[must_use]
    pub fn new(session: AnalyzedSession, loaded_in: Duration, rule: SlowRule<'_>) -> Self {
        let mut model = Self::unbuilt(session, loaded_in);
        model.rebuild(rule);
        model
    }

    /// [`SessionModel::new`] with the session's diagnosis, built once (a session of a million
    /// events takes tens of milliseconds a build, on the UI thread).
    #[must_use]
    pub fn with_diagnosis(
        session: AnalyzedSession,
        diagnosis: Diagnosis,
        loaded_in: Duration,
        rule: SlowRule<'_>,
    ) -> Self {
        let mut model = Self::unbuilt(session, loaded_in);
        model.set_diagnosis(diagnosis, rule);
        model
    }

    /// The inputs of a fresh model, nothing derived yet.
    fn unbuilt(session: AnalyzedSession, loaded_in: Duration) -> Self {
        let n = session.timeline.spans.len();
        Self {
            session,
            collapsed: vec![false; n],
            rows: Vec::new(),
            selected: None,
            detail_event: None,
            detail: None,
            filter: SpanFilter::default(),
            search: SearchState::default(),
            slow: Vec::new(),
            loaded_in,
            diagnosis: Diagnosis::default(),
            fold_loops: true,
            loop_repeat: Vec::new(),
            loop_calls: Vec::new(),
            on_path: Vec::new(),
        }
    }

    /// Takes the session's diagnosis: the loop and path flags follow it.
    pub fn set_diagnosis(&mut self, diagnosis: Diagnosis, rule: SlowRule<'_>) {
        let n = self.session.timeline.spans.len();
        self.loop_repeat = vec![false; n];
        self.loop_calls = vec![0; n];
        for l in &diagnosis.loops.loops {
            // The first round stays (one call, or a cycle's round); the repeats fold.
            if let Some(&first) = l.calls.first() {
                if let Some(c) = self.loop_calls.get_mut(first) {
                    *c = u32::try_from(l.calls.len()).unwrap_or(u32::MAX);
                }
                for &r in l.calls.iter().skip(l.period.max(1)) {
                    if let Some(flag) = self.loop_repeat.get_mut(r) {
                        *flag = true;
                    }
                }
            }
        }
        self.on_path = vec![false; n];
        for span in diagnosis.critical_path.span_indices() {
            if let Some(flag) = self.on_path.get_mut(span) {
                *flag = true;
            }
        }
        // The flags mark the path; the view lists only its top spans (a diagnosis has cut
        // the path to those already).
        self.diagnosis = diagnosis;
        self.rebuild(rule);
    }

    /// Recomputes everything derived from the inputs: the slow flags, the rows shown and the
    /// order of the search hits. Call after changing any input.
    pub fn rebuild(&mut self, rule: SlowRule<'_>) {
        let empty = SlowIndex::default();
        let index = rule.index.unwrap_or(&empty);
        self.slow = slow_flags(&self.session.timeline, &self.session.data.events, index, rule.threshold_ms);
        self.collapsed.resize(self.session.timeline.spans.len(), false);
        self.search.hits.resize(self.session.timeline.spans.len(), false);
        self.refresh_rows();
    }

    /// The rows and the hit order from the current inputs and slow flags.
    fn refresh_rows(&mut self) {
        let t = &self.session.timeline;
        let filtering = !self.filter.is_empty() || (self.search.only_matches && self.search.searched.is_some());
        let keep: Option<Vec<bool>> = filtering.then(|| {
            let events = &self.session.data.events;
            (0..t.spans.len())
                .map(|i| {
                    let slow = self.slow.get(i).copied().unwrap_or(false);
                    let passes_search = !self.search.only_matches || self.search.hits.get(i).copied().unwrap_or(false);
                    self.filter.keeps(&t.spans[i], events, slow) && passes_search
                })
                .collect()
        });
        // The old rows go first and loops fold in place: a session of a million events has
        // megabytes of rows, and two copies at once would add to its peak memory.
        drop(std::mem::take(&mut self.rows));
        let mut rows = visible_rows(t, &self.collapsed, keep.as_deref());
        drop(keep);
        if self.fold_loops && self.loop_repeat.iter().any(|&r| r) {
            // A loop's repeats go, with what hangs under them; the selection stays visible.
            let mut skip_until = 0;
            rows.retain(|&s| {
                if s < skip_until {
                    return false;
                }
                if self.loop_repeat.get(s).copied().unwrap_or(false) && self.selected != Some(s) {
                    skip_until = t.spans[s].subtree_end().max(s + 1);
                    return false;
                }
                true
            });
        }
        self.rows = rows;
        let mut hit_spans: Vec<usize> =
            self.search.hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i).collect();
        if !hit_spans.is_empty() {
            let mut row_of = vec![usize::MAX; t.spans.len()];
            for (r, &s) in self.rows.iter().enumerate() {
                if let Some(slot) = row_of.get_mut(s) {
                    *slot = r;
                }
            }
            hit_spans.sort_by_key(|&s| row_of.get(s).copied().unwrap_or(usize::MAX));
        }
        self.search.hit_spans = hit_spans;
    }

    /// The span holding the (first) event with this id. A scan: for many ids use
    /// [`Self::spans_by_id`].
    #[must_use]
    pub fn span_of_id(&self, id: &str) -> Option<usize> {
        let event = self.session.data.events.iter().position(|e| e.id == id)?;
        self.session.timeline.span_for_event(event)
    }

    /// Span of each event id, built on demand (not kept: 100,000 ids would cost megabytes).
    #[must_use]
    pub fn spans_by_id(&self) -> HashMap<&TraceId, usize> {
        let t = &self.session.timeline;
        let mut map = HashMap::with_capacity(self.session.data.events.len());
        for (i, e) in self.session.data.events.iter().enumerate() {
            if let Some(span) = t.span_for_event(i) {
                map.entry(&e.id).or_insert(span);
            }
        }
        map
    }

    /// The event of a span whose detail a selection shows: a pair's result (a tool's output,
    /// a step's result) when it carries raw I/O, as that is what people open a call for.
    #[must_use]
    pub fn detail_event_of(&self, span: usize) -> Option<usize> {
        let s = self.session.timeline.spans.get(span)?;
        let events = &self.session.data.events;
        let result = s.end_event.get().filter(|&e| events.get(e).is_some_and(|e| e.info.raw_io));
        Some(result.unwrap_or(s.event))
    }

    /// Selects a span and shows its detail event; the loaded detail is dropped until the new
    /// one arrives.
    pub fn select(&mut self, span: usize) {
        let Some(event) = self.detail_event_of(span) else { return };
        self.selected = Some(span);
        self.detail_event = Some(event);
        self.detail = None;
    }

    /// Expands the collapsed ancestors of a span (rebuild afterwards); true when any was.
    pub fn expand_ancestors(&mut self, span: usize) -> bool {
        let ancestors: Vec<usize> = self.session.timeline.ancestors(span).collect();
        let mut changed = false;
        for a in ancestors {
            if let Some(c) = self.collapsed.get_mut(a).filter(|c| **c) {
                *c = false;
                changed = true;
            }
        }
        // A folded loop's repeat shows once selected: the rows change too.
        changed || (self.fold_loops && self.loop_repeat.get(span).copied().unwrap_or(false))
    }

    /// The row a span shows on, if it shows.
    #[must_use]
    pub fn row_of(&self, span: usize) -> Option<usize> {
        self.rows.iter().position(|&s| s == span)
    }

    /// Collapses every span with children below the roots (the roots stay open, so their
    /// children show, folded), or expands all (rebuild afterwards).
    pub fn set_all_collapsed(&mut self, collapse: bool) {
        for (i, s) in self.session.timeline.spans.iter().enumerate() {
            if let Some(c) = self.collapsed.get_mut(i) {
                *c = collapse && s.subtree_end() > i + 1 && s.parent.get().is_some();
            }
        }
    }

    /// Starts a new search for `text` (trimmed; empty clears it): the hits are cleared until
    /// they arrive (rebuild afterwards). Returns the query to run, if any.
    pub fn start_search(&mut self) -> Option<String> {
        let text = self.search.text.trim().to_owned();
        self.search.hits = vec![false; self.session.timeline.spans.len()];
        self.search.hit_count = 0;
        self.search.searched = (!text.is_empty()).then(|| text.clone());
        self.search.searched.clone()
    }

    /// Marks hits by trace id (rebuild afterwards).
    pub fn add_hits<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        let spans: Vec<usize> = {
            let by_id = self.spans_by_id();
            ids.into_iter().filter_map(|id| by_id.get(&TraceId::new(id)).copied()).collect()
        };
        for span in spans {
            if let Some(flag) = self.search.hits.get_mut(span) {
                *flag = true;
            }
        }
    }

    /// The hit after (or before) the selection, in row order.
    #[must_use]
    pub fn next_hit(&self, forward: bool) -> Option<usize> {
        let hits = &self.search.hit_spans;
        let n = hits.len();
        if n == 0 {
            return None;
        }
        let current = self.selected.and_then(|s| hits.iter().position(|&h| h == s));
        let next = match (current, forward) {
            (Some(c), true) => (c + 1) % n,
            (Some(c), false) => (c + n - 1) % n,
            (None, true) => 0,
            (None, false) => n - 1,
        };
        hits.get(next).copied()
    }

    /// The ids of the selected span's event and of the collapsed spans, to find them again in
    /// a reloaded copy of the session.
    #[must_use]
    pub fn place(&self) -> (Option<TraceId>, Vec<TraceId>) {
        let id_of = |span: usize| {
            self.session
                .timeline
                .spans
                .get(span)
                .and_then(|s| self.session.data.events.get(s.event))
                .map(|e| e.id.clone())
        };
        let selected = self.selected.and_then(id_of);
        let collapsed = self.collapsed.iter().enumerate().filter(|(_, c)| **c).filter_map(|(i, _)| id_of(i)).collect();
        (selected, collapsed)
    }

    /// Takes over what the user set on an older copy of the same session (filter, search
    /// text, collapsed spans and selection by event id, the loaded detail); rebuild afterwards.
    pub fn keep_place_of(&mut self, old: SessionModel) {
        let (selected_id, collapsed_ids) = old.place();
        let (collapsed, selected) = {
            let by_id = self.spans_by_id();
            let collapsed: Vec<usize> = collapsed_ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
            (collapsed, selected_id.as_ref().and_then(|id| by_id.get(id).copied()))
        };
        for s in collapsed {
            if let Some(c) = self.collapsed.get_mut(s) {
                *c = true;
            }
        }
        self.filter = old.filter;
        self.search.text = old.search.text;
        self.search.only_matches = old.search.only_matches;
        self.selected = selected;
        self.detail_event = selected.and_then(|s| self.session.timeline.spans.get(s)).map(|s| s.event);
        self.detail = old.detail;
        self.fold_loops = old.fold_loops;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{Ev, linked};
    use crate::analysis::{self, Anchor};
    use crate::model::{SessionRow, TraceEvent};
    use crate::time;

    fn event(
        id: &str,
        kind: &str,
        at_s: u32,
        duration_ms: Option<f64>,
        parent: Option<&str>,
        tool: Option<&str>,
    ) -> Ev {
        let mut e = TraceEvent {
            id: id.into(),
            kind: kind.into(),
            time: time::parse_text(&format!("2026-11-20T10:00:{at_s:02}Z")).ok().map(|p| p.time).into(),
            duration_ms: duration_ms.into(),
            ..TraceEvent::default()
        };
        e.info.tool = tool.map(Into::into);
        Ev::new(e, parent)
    }

    fn session() -> AnalyzedSession {
        let events = vec![
            event("root", "message", 0, None, None, None),
            event("t1", "tool_result", 2, Some(1000.0), Some("root"), Some("search")),
            event("t2", "tool_result", 5, Some(3000.0), Some("root"), Some("search")),
            event("t3", "tool_result", 9, Some(500.0), Some("t2"), Some("read")),
        ];
        let data = linked(SessionRow { id: "s".to_owned(), ..SessionRow::default() }, events);
        analysis::analyze(data, Anchor::End)
    }

    #[test]
    fn the_threshold_decides_slow_flags_and_the_slow_filter() {
        let mut model = SessionModel::new(session(), Duration::ZERO, SlowRule::default());
        assert!(model.slow.iter().all(|s| !s), "no index and no threshold: nothing is slow");
        model.filter.slow_only = true;
        model.rebuild(SlowRule { index: None, threshold_ms: Some(800.0) });
        let slow_ids: Vec<String> = model
            .rows
            .iter()
            .filter(|&&r| model.slow[r])
            .map(|&r| model.session.data.events[model.session.timeline.spans[r].event].id.to_string())
            .collect();
        assert_eq!(slow_ids, ["t1", "t2"]);
        // The rows keep the slow calls and their ancestors only.
        assert!(
            model.rows.iter().all(|&r| model.session.data.events[model.session.timeline.spans[r].event].id != "t3")
        );
    }

    #[test]
    fn collapsing_and_reloading_keep_the_place_by_id() {
        let mut model = SessionModel::new(session(), Duration::ZERO, SlowRule::default());
        let t2 = model.span_of_id("t2").expect("t2");
        let all = model.rows.len();
        model.collapsed[t2] = true;
        model.rebuild(SlowRule::default());
        assert_eq!(model.rows.len(), all - 1);
        model.select(t2);
        let mut fresh = SessionModel::new(session(), Duration::ZERO, SlowRule::default());
        fresh.keep_place_of(model);
        fresh.rebuild(SlowRule::default());
        assert_eq!(fresh.selected, fresh.span_of_id("t2"));
        assert_eq!(fresh.rows.len(), all - 1);
        assert!(fresh.expand_ancestors(fresh.span_of_id("t3").expect("t3")));
    }

    #[test]
    fn a_model_built_with_its_diagnosis_is_the_one_given_it_later() {
        let rule = SlowRule { index: None, threshold_ms: Some(800.0) };
        let params = crate::analysis::diagnosis::DiagnosisParams::default();
        let diagnosis = crate::analysis::diagnosis::diagnose(&session(), &params);
        assert!(!diagnosis.critical_path.spans.is_empty(), "the fixture has a path");
        let mut later = SessionModel::new(session(), Duration::ZERO, rule);
        later.set_diagnosis(diagnosis.clone(), rule);
        let once = SessionModel::with_diagnosis(session(), diagnosis, Duration::ZERO, rule);
        assert_eq!(once.rows, later.rows);
        assert_eq!(once.slow, later.slow);
        assert_eq!(once.on_path, later.on_path);
        assert!(once.on_path.iter().any(|&p| p));
        assert_eq!((&once.loop_repeat, &once.loop_calls), (&later.loop_repeat, &later.loop_calls));
        assert_eq!(once.diagnosis, later.diagnosis);
        assert_eq!(once.collapsed.len(), once.session.timeline.spans.len());
    }

    #[test]
    fn collapse_all_keeps_the_roots_open() {
        let mut model = SessionModel::new(session(), Duration::ZERO, SlowRule::default());
        model.set_all_collapsed(true);
        model.rebuild(SlowRule::default());
        let shown: Vec<String> = model
            .rows
            .iter()
            .map(|&r| model.session.data.events[model.session.timeline.spans[r].event].id.to_string())
            .collect();
        // The root shows its children; t2's child t3 is folded away.
        assert_eq!(shown, ["root", "t1", "t2"]);
        model.set_all_collapsed(false);
        model.rebuild(SlowRule::default());
        assert_eq!(model.rows.len(), 4);
    }

    #[test]
    fn hits_follow_row_order_and_wrap() {
        let mut model = SessionModel::new(session(), Duration::ZERO, SlowRule::default());
        model.search.text = " search ".to_owned();
        assert_eq!(model.start_search().as_deref(), Some("search"));
        model.add_hits(["t2", "t1"]);
        model.rebuild(SlowRule::default());
        let (t1, t2) = (model.span_of_id("t1").expect("t1"), model.span_of_id("t2").expect("t2"));
        assert_eq!(model.search.hit_spans, [t1, t2]);
        assert_eq!(model.next_hit(true), Some(t1));
        model.select(t2);
        assert_eq!(model.next_hit(true), Some(t1), "wraps");
        assert_eq!(model.next_hit(false), Some(t1));
    }
}
