//! The one rule for ordering and filtering the session list, shared by the sessions table and
//! `trace-inspector sessions`.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analysis::SlowIndex;
use crate::analysis::loops::LoopCounts;
use crate::model::SessionRow;
use crate::time::{self, Timestamp};

/// What the session list can be sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionKey {
    #[default]
    Started,
    Task,
    Status,
    Events,
    Duration,
    TokensIn,
    TokensOut,
    /// Tokens in and out together.
    Tokens,
    Cost,
    Errors,
    /// Calls above their tool's file-wide p95 (or the user's threshold).
    Slow,
    /// Loops found (sessions not counted yet first, ascending).
    Loops,
}

/// A sort of the session list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSort {
    pub key: SessionKey,
    pub ascending: bool,
}

impl Default for SessionSort {
    /// Newest first, as the reference list.
    fn default() -> Self {
        SessionSort { key: SessionKey::Started, ascending: false }
    }
}

/// Compares two sessions by `sort`; ties fall back to newest first. A running session has no
/// duration yet: it sorts after the others in both directions. A session without a readable
/// start counts as the oldest. `slow_of` counts a session's slow calls.
pub fn compare(
    x: &SessionRow,
    y: &SessionRow,
    sort: SessionSort,
    slow_of: &dyn Fn(&SessionRow) -> u64,
    loops_of: &dyn Fn(&SessionRow) -> Option<u32>,
) -> Ordering {
    if sort.key == SessionKey::Duration && x.duration_ms.is_some() != y.duration_ms.is_some() {
        return if x.duration_ms.is_some() { Ordering::Less } else { Ordering::Greater };
    }
    let o = match sort.key {
        SessionKey::Started => x.started.cmp(&y.started).then_with(|| x.started_at.cmp(&y.started_at)),
        SessionKey::Task => x.task.to_lowercase().cmp(&y.task.to_lowercase()),
        SessionKey::Status => x.status.cmp(&y.status),
        SessionKey::Events => x.event_count.cmp(&y.event_count),
        SessionKey::Duration => x.duration_ms.unwrap_or(-1.0).total_cmp(&y.duration_ms.unwrap_or(-1.0)),
        SessionKey::TokensIn => x.total_input_tokens.cmp(&y.total_input_tokens),
        SessionKey::TokensOut => x.total_output_tokens.cmp(&y.total_output_tokens),
        SessionKey::Tokens => x.total_tokens.cmp(&y.total_tokens),
        SessionKey::Cost => x.total_cost_usd.total_cmp(&y.total_cost_usd),
        SessionKey::Errors => x.error_count.cmp(&y.error_count),
        SessionKey::Slow => slow_of(x).cmp(&slow_of(y)),
        SessionKey::Loops => loops_of(x).cmp(&loops_of(y)),
    };
    let o = if sort.ascending { o } else { o.reverse() };
    o.then_with(|| y.started.cmp(&x.started)).then_with(|| y.started_at.cmp(&x.started_at))
}

/// Whether a session passes the list's filters: `needle` (lower case, trimmed; empty for
/// none) in its task or id, and its status.
#[must_use]
pub fn matches(row: &SessionRow, needle: &str, status: Option<&str>) -> bool {
    (needle.is_empty() || row.task.to_lowercase().contains(needle) || row.id.to_lowercase().contains(needle))
        && status.is_none_or(|s| row.status == s)
}

/// The indices of the sessions that pass the filters, in `sort` order (stable: equal rows keep
/// the list's order).
#[must_use]
pub fn sorted_indices(
    rows: &[Arc<SessionRow>],
    slow: Option<&SlowIndex>,
    sort: SessionSort,
    filter: &str,
    status: Option<&str>,
) -> Vec<usize> {
    let filter = ListFilter { text: filter.to_owned(), status: status.map(str::to_owned), ..ListFilter::default() };
    sorted_indices_where(rows, slow, None, sort, &filter)
}

/// A time range, `since` included, `until` not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub since: Timestamp,
    pub until: Timestamp,
}

impl TimeRange {
    /// Whether `t` falls in the range.
    #[must_use]
    pub fn holds(&self, t: Timestamp) -> bool {
        t >= self.since && t < self.until
    }
}

/// A named set of sessions the list is narrowed to (a task group's runs, say).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Only {
    /// What the set is, for the user.
    pub label: String,
    pub ids: HashSet<String>,
}

/// Everything the session list can be filtered by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Text in the task or id (any case; blank for none).
    pub text: String,
    pub status: Option<String>,
    /// Sessions whose start ([`start_of`]) falls in this range; those without one are left out.
    pub range: Option<TimeRange>,
    /// Only these sessions.
    pub only: Option<Only>,
}

impl ListFilter {
    /// Whether a session passes every filter.
    #[must_use]
    pub fn keeps(&self, row: &SessionRow) -> bool {
        self.passes(row, &self.text.trim().to_lowercase())
    }

    /// [`ListFilter::keeps`] with the text already trimmed and in lower case.
    fn passes(&self, row: &SessionRow, needle: &str) -> bool {
        matches(row, needle, self.status.as_deref())
            && self.range.is_none_or(|r| start_of(row).is_some_and(|t| r.holds(t)))
            && self.only.as_ref().is_none_or(|o| o.ids.contains(&row.id))
    }
}

/// When a session started, as the trends count it: its `started_at`, else its first event's time.
#[must_use]
pub fn start_of(row: &SessionRow) -> Option<Timestamp> {
    row.started.or_else(|| row.first_event_at.as_deref().and_then(|t| time::parse_text(t).ok()).map(|p| p.time))
}

/// The indices of the sessions that pass `filter`, in `sort` order (stable: equal rows keep the
/// list's order).
#[must_use]
pub fn sorted_indices_where(
    rows: &[Arc<SessionRow>],
    slow: Option<&SlowIndex>,
    loops: Option<&LoopCounts>,
    sort: SessionSort,
    filter: &ListFilter,
) -> Vec<usize> {
    let needle = filter.text.trim().to_lowercase();
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| filter.passes(&rows[i], &needle)).collect();
    let slow_of = |r: &SessionRow| slow.and_then(|s| s.slow_by_session.get(r.id.as_str())).copied().unwrap_or(0);
    let loops_of = |r: &SessionRow| loops.and_then(|l| l.get(&r.id)).map(|c| c.loops);
    order.sort_by(|&a, &b| compare(&rows[a], &rows[b], sort, &slow_of, &loops_of).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time;

    fn row(id: &str, started: Option<&str>, duration_ms: Option<f64>, cost: f64) -> SessionRow {
        SessionRow {
            id: id.to_owned(),
            task: format!("Task {id}"),
            status: if duration_ms.is_some() { "completed" } else { "running" }.to_owned(),
            started_at: started.map(str::to_owned),
            started: started.and_then(|t| time::parse_text(t).ok()).map(|p| p.time),
            duration_ms,
            total_cost_usd: cost,
            ..SessionRow::default()
        }
    }

    fn ids(rows: &[Arc<SessionRow>], sort: SessionSort) -> Vec<&str> {
        sorted_indices(rows, None, sort, "", None).into_iter().map(|i| rows[i].id.as_str()).collect()
    }

    fn rows() -> Vec<Arc<SessionRow>> {
        [
            row("a", Some("2026-11-20T10:00:00Z"), Some(500.0), 0.5),
            row("run", Some("2026-11-20T12:00:00Z"), None, 0.1),
            row("b", Some("2026-11-20T11:00:00Z"), Some(100.0), 0.5),
            row("none", None, Some(300.0), 0.0),
        ]
        .into_iter()
        .map(Arc::new)
        .collect()
    }

    #[test]
    fn newest_first_by_default_and_unreadable_starts_count_as_least() {
        assert_eq!(ids(&rows(), SessionSort::default()), ["run", "b", "a", "none"]);
        assert_eq!(ids(&rows(), SessionSort { key: SessionKey::Started, ascending: true }), ["none", "a", "b", "run"]);
    }

    #[test]
    fn running_sessions_sort_last_by_duration_both_ways() {
        let up = SessionSort { key: SessionKey::Duration, ascending: true };
        let down = SessionSort { key: SessionKey::Duration, ascending: false };
        assert_eq!(ids(&rows(), up), ["b", "none", "a", "run"]);
        assert_eq!(ids(&rows(), down), ["a", "none", "b", "run"]);
    }

    #[test]
    fn ties_fall_back_to_newest_first() {
        let cost = SessionSort { key: SessionKey::Cost, ascending: false };
        assert_eq!(ids(&rows(), cost), ["b", "a", "run", "none"]);
    }

    #[test]
    fn filters_by_text_and_status() {
        let rows = rows();
        let shown = sorted_indices(&rows, None, SessionSort::default(), " TASK R ", None);
        assert_eq!(shown.iter().map(|&i| rows[i].id.as_str()).collect::<Vec<_>>(), ["run"]);
        let running = sorted_indices(&rows, None, SessionSort::default(), "", Some("running"));
        assert_eq!(running.len(), 1);
    }

    #[test]
    fn filters_by_start_range_and_by_a_set_of_ids() {
        let mut rows = rows();
        // A session without a start row: its first event's time stands in.
        Arc::make_mut(&mut rows[3]).first_event_at = Some("2026-11-20T11:30:00Z".to_owned());
        let at = |t: &str| time::parse_text(t).map(|p| p.time).expect("time");
        let range = TimeRange { since: at("2026-11-20T11:00:00Z"), until: at("2026-11-20T12:00:00Z") };
        let filter = ListFilter { range: Some(range), ..ListFilter::default() };
        let shown = sorted_indices_where(&rows, None, None, SessionSort::default(), &filter);
        // 11:00 is in, 12:00 is not (until is exclusive), 11:30 by the first event is.
        assert_eq!(shown.iter().map(|&i| rows[i].id.as_str()).collect::<Vec<_>>(), ["b", "none"]);
        let only = Only { label: "two".into(), ids: ["a".to_owned(), "b".to_owned()].into() };
        let filter = ListFilter { range: Some(range), only: Some(only), ..ListFilter::default() };
        let shown = sorted_indices_where(&rows, None, None, SessionSort::default(), &filter);
        assert_eq!(shown.iter().map(|&i| rows[i].id.as_str()).collect::<Vec<_>>(), ["b"]);
        assert!(filter.keeps(&rows[2]) && !filter.keeps(&rows[0]));
    }
}
