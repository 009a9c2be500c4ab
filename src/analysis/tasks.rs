//! Sessions grouped by their task text (exactly, or with numbers and ids stripped by
//! [`normalize_label`]): how often each task ran, how often it succeeded, what it took and cost
//! (exact nearest-rank percentiles), and its cost per run over time.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::compare::normalize_label;
use crate::analysis::quantile_sorted;
use crate::analysis::trends::{Outcomes, SessionPoint};
use crate::time::Timestamp;

/// The group a task text belongs to: the text itself, or its normalized form.
#[must_use]
pub fn task_key(task: &str, normalize: bool) -> String {
    if normalize { normalize_label(task) } else { task.to_owned() }
}

/// One run of a task on its cost trend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostPoint {
    #[serde(serialize_with = "rfc3339")]
    pub start: Timestamp,
    pub cost_usd: f64,
}

/// The runs of one task.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TaskGroup {
    /// The task text, or its normalized form.
    pub task: String,
    /// How many different task texts the group holds (1 unless normalized).
    pub texts: u64,
    pub runs: u64,
    pub outcomes: Outcomes,
    /// Completed runs over the runs that ended (running ones aside); `None` when none ended.
    pub success_rate: Option<f64>,
    /// Over the runs with a known duration.
    pub duration_p50_ms: Option<f64>,
    pub duration_p95_ms: Option<f64>,
    pub cost_p50_usd: Option<f64>,
    pub cost_p95_usd: Option<f64>,
    pub total_cost_usd: f64,
    /// Cost per run by start time, oldest first (runs without a usable start left out).
    pub cost_trend: Vec<CostPoint>,
    /// The runs' session ids, oldest first (those without a start last).
    pub session_ids: Vec<String>,
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339_micros())
}

/// The task groups of `sessions`, costliest first (then most runs, then by text).
#[must_use]
pub fn task_groups(sessions: &[SessionPoint], normalize: bool) -> Vec<TaskGroup> {
    let mut members: HashMap<String, Vec<&SessionPoint>> = HashMap::new();
    for s in sessions {
        members.entry(task_key(&s.task, normalize)).or_default().push(s);
    }
    let mut groups: Vec<TaskGroup> = members.into_iter().map(|(task, runs)| group(task, runs)).collect();
    groups.sort_by(|a, b| {
        b.total_cost_usd
            .total_cmp(&a.total_cost_usd)
            .then_with(|| b.runs.cmp(&a.runs))
            .then_with(|| a.task.cmp(&b.task))
    });
    groups
}

fn group(task: String, mut runs: Vec<&SessionPoint>) -> TaskGroup {
    runs.sort_by(|a, b| (a.start.is_none(), a.start, &a.id).cmp(&(b.start.is_none(), b.start, &b.id)));
    let mut outcomes = Outcomes::default();
    let mut texts: Vec<&str> = Vec::new();
    for r in &runs {
        outcomes.add(&r.status);
        texts.push(&r.task);
    }
    texts.sort_unstable();
    texts.dedup();
    let ended = outcomes.started - outcomes.running;
    let mut durations: Vec<f64> = runs.iter().filter_map(|r| r.duration_ms).collect();
    durations.sort_unstable_by(f64::total_cmp);
    let mut costs: Vec<f64> = runs.iter().map(|r| r.cost_usd).collect();
    costs.sort_unstable_by(f64::total_cmp);
    TaskGroup {
        task,
        texts: texts.len() as u64,
        runs: runs.len() as u64,
        outcomes,
        success_rate: (ended > 0).then(|| outcomes.completed as f64 / ended as f64),
        duration_p50_ms: quantile_sorted(&durations, 0.5),
        duration_p95_ms: quantile_sorted(&durations, 0.95),
        cost_p50_usd: quantile_sorted(&costs, 0.5),
        cost_p95_usd: quantile_sorted(&costs, 0.95),
        total_cost_usd: costs.iter().sum(),
        cost_trend: runs
            .iter()
            .filter_map(|r| r.start.map(|start| CostPoint { start, cost_usd: r.cost_usd }))
            .collect(),
        session_ids: runs.iter().map(|r| r.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, task: &str, status: &str, start_h: i64, ms: Option<f64>, cost: f64) -> SessionPoint {
        SessionPoint {
            id: id.to_owned(),
            task: task.to_owned(),
            status: status.to_owned(),
            start: Some(Timestamp(start_h * 3_600_000_000_000)),
            duration_ms: ms,
            cost_usd: cost,
            ..SessionPoint::default()
        }
    }

    #[test]
    fn groups_exactly_and_normalized() {
        let sessions = vec![
            run("a", "fix ticket 12", "completed", 2, Some(10.0), 1.0),
            run("b", "fix ticket 12", "failed", 1, Some(30.0), 2.0),
            run("c", "fix ticket 99", "running", 3, None, 0.5),
            run("d", "write docs", "completed", 1, Some(5.0), 0.25),
        ];
        let exact = task_groups(&sessions, false);
        assert_eq!(exact.len(), 3);
        let first = &exact[0];
        assert_eq!((first.task.as_str(), first.runs, first.texts), ("fix ticket 12", 2, 1));
        assert_eq!(first.success_rate, Some(0.5));
        assert_eq!((first.duration_p50_ms, first.duration_p95_ms), (Some(10.0), Some(30.0)));
        assert_eq!((first.cost_p50_usd, first.cost_p95_usd, first.total_cost_usd), (Some(1.0), Some(2.0), 3.0));
        assert_eq!(first.session_ids, ["b", "a"]);
        assert_eq!(first.cost_trend.iter().map(|p| p.cost_usd).collect::<Vec<_>>(), [2.0, 1.0]);

        let normalized = task_groups(&sessions, true);
        assert_eq!(normalized.len(), 2);
        let fix = &normalized[0];
        assert_eq!((fix.task.as_str(), fix.runs, fix.texts), ("fix ticket #", 3, 2));
        assert_eq!(fix.outcomes.running, 1);
        assert_eq!(fix.success_rate, Some(0.5), "the running run is left out of the rate");
        assert_eq!(fix.total_cost_usd, 3.5);
        assert_eq!(fix.session_ids, ["b", "a", "c"]);
    }
}
