//! Across runs: the file's sessions, usage and tool calls counted per time bucket (hour, day or
//! week), and what rose in the last bucket against the earlier ones. Pure data in, plain data
//! out: the CLI prints it and a Trends screen can chart it. Percentiles are exact (nearest
//! rank over every value, as the slow-call p95).

use arcstr::ArcStr;
use std::collections::{BTreeMap, HashMap};

use serde::{Serialize, Serializer};

use crate::analysis::quantile_sorted;
use crate::analysis::sessions::TimeRange;
use crate::model::Warning;
use crate::time::Timestamp;

const NS_PER_HOUR: i64 = 3_600_000_000_000;
const NS_PER_DAY: i64 = 24 * NS_PER_HOUR;
const NS_PER_WEEK: i64 = 7 * NS_PER_DAY;
/// 1970-01-01 was a Thursday: the first Monday, 1970-01-05, is four days after the epoch.
const WEEK_OFFSET_NS: i64 = 4 * NS_PER_DAY;

/// The most tokens one trace is taken to carry; above it (or below zero) the count is absurd,
/// counted apart and left out of every sum.
pub const MAX_TOKENS_PER_TRACE: i64 = 1_000_000_000;
/// The most one trace is taken to cost, in dollars; above it, below zero or not finite the
/// cost is absurd, counted apart and left out of every sum.
pub const MAX_COST_PER_TRACE_USD: f64 = 100_000.0;

/// Everything the file-wide statistics are built from, as the store reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrendData {
    pub sessions: Vec<SessionPoint>,
    /// Traces summed per (time, model): `time` is the start of the trace's hour for the usual
    /// timestamp forms, the trace's own time for the others.
    pub usage: Vec<UsagePoint>,
    pub tool_calls: Vec<ToolCallPoint>,
    pub bad: BadInput,
    pub warnings: Vec<Warning>,
}

/// One session as the statistics see it. Its cost and tokens leave absurd values out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionPoint {
    pub id: String,
    pub task: String,
    pub status: String,
    /// `started_at`, else the session's first trace time; `None` when neither is usable.
    pub start: Option<Timestamp>,
    /// `completed_at − started_at`, else the span of its traces; `None` when unknown.
    pub duration_ms: Option<f64>,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub error_count: u64,
    pub event_count: u64,
}

/// Traces of one model in one hour (or at one odd timestamp).
#[derive(Clone, Debug, PartialEq)]
pub struct UsagePoint {
    pub time: Timestamp,
    /// The model named, or empty for traces without one.
    pub model: String,
    pub traces: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub error_events: u64,
}

/// One tool call with a usable duration and time.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallPoint {
    pub time: Timestamp,
    pub tool: ArcStr,
    pub duration_ms: f64,
}

/// Values the statistics could not use, counted apart instead of charted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct BadInput {
    /// Sessions with neither a readable `started_at` nor a readable trace time.
    pub sessions_without_start: u64,
    /// Traces whose timestamp is missing, unreadable or out of range.
    pub traces_without_time: u64,
    /// The cost (absurd values aside) of those traces, which no bucket holds.
    pub cost_without_time_usd: f64,
    /// Costs that are negative, not finite, above [`MAX_COST_PER_TRACE_USD`] or not numbers.
    pub absurd_costs: u64,
    /// Token counts that are negative, above [`MAX_TOKENS_PER_TRACE`] or not whole numbers.
    pub absurd_tokens: u64,
    /// Tool results whose duration is not finite, negative or over ten years.
    pub bad_durations: u64,
    /// Tool results with a duration but no usable timestamp.
    pub tool_calls_without_time: u64,
    /// Sessions whose duration came out negative (completed before they started).
    pub negative_session_durations: u64,
}

/// The width of a time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
    /// Monday 00:00 UTC to the next Monday.
    Week,
}

impl Bucket {
    /// The bucket for data spanning `span_ns`: hours under 3 days, days under 90, else weeks.
    #[must_use]
    pub fn for_span(span_ns: i64) -> Bucket {
        if span_ns < 3 * NS_PER_DAY {
            Bucket::Hour
        } else if span_ns < 90 * NS_PER_DAY {
            Bucket::Day
        } else {
            Bucket::Week
        }
    }

    /// How long one bucket lasts, in nanoseconds.
    #[must_use]
    pub fn width_ns(self) -> i64 {
        match self {
            Bucket::Hour => NS_PER_HOUR,
            Bucket::Day => NS_PER_DAY,
            Bucket::Week => NS_PER_WEEK,
        }
    }

    /// The start of the bucket holding `t` (UTC).
    #[must_use]
    pub fn floor(self, t: Timestamp) -> Timestamp {
        let width = self.width_ns();
        let offset = if self == Bucket::Week { WEEK_OFFSET_NS } else { 0 };
        let shifted = t.0.saturating_sub(offset);
        Timestamp(shifted.saturating_sub(shifted.rem_euclid(width)).saturating_add(offset))
    }
}

/// What to count: the bucket width (automatic when `None`) and a time range.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsParams {
    pub by: Option<Bucket>,
    /// Inclusive.
    pub since: Option<Timestamp>,
    /// Exclusive.
    pub until: Option<Timestamp>,
}

impl StatsParams {
    fn keeps(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Sessions started, by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub running: u64,
    pub other: u64,
}

impl Outcomes {
    pub(crate) fn add(&mut self, status: &str) {
        self.started += 1;
        match status.trim().to_ascii_lowercase().as_str() {
            "completed" => self.completed += 1,
            "failed" => self.failed += 1,
            "cancelled" | "canceled" => self.cancelled += 1,
            "running" => self.running += 1,
            _ => self.other += 1,
        }
    }
}

/// One model's traces in a bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelStats {
    /// Empty for traces that name no model.
    pub model: String,
    pub traces: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// One tool's calls in a bucket, with exact percentiles of their durations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolStats {
    pub tool: String,
    pub calls: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// Everything counted in one time bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BucketStats {
    #[serde(serialize_with = "rfc3339")]
    pub start: Timestamp,
    /// Sessions by their start time.
    pub sessions: Outcomes,
    /// Sessions started in this bucket with at least one error event.
    pub sessions_with_errors: u64,
    /// Error events by their own time.
    pub error_events: u64,
    pub traces: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Costliest first.
    pub models: Vec<ModelStats>,
    /// Most calls first.
    pub tools: Vec<ToolStats>,
}

/// The file's statistics per bucket, oldest bucket first; buckets without data are left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub by: Bucket,
    #[serde(serialize_with = "rfc3339_opt")]
    pub since: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub until: Option<Timestamp>,
    pub buckets: Vec<BucketStats>,
    pub bad: BadInput,
}

impl Stats {
    /// The time from the start of bucket `first` to the end of bucket `last` (indices into
    /// [`Stats::buckets`], either order); `None` when one is not there.
    #[must_use]
    pub fn range_of(&self, first: usize, last: usize) -> Option<TimeRange> {
        let (first, last) = (first.min(last), first.max(last));
        let since = self.buckets.get(first)?.start;
        let until = Timestamp(self.buckets.get(last)?.start.0.saturating_add(self.by.width_ns()));
        Some(TimeRange { since, until })
    }

    /// The first and last bucket whose start falls in `range`; `None` when none does.
    #[must_use]
    pub fn buckets_in(&self, range: TimeRange) -> Option<(usize, usize)> {
        let first = self.buckets.iter().position(|b| range.holds(b.start))?;
        let last = self.buckets.iter().rposition(|b| range.holds(b.start))?;
        Some((first, last))
    }

    /// The sessions started in the buckets whose start falls in `range`.
    #[must_use]
    pub fn sessions_in(&self, range: TimeRange) -> u64 {
        self.buckets.iter().filter(|b| range.holds(b.start)).map(|b| b.sessions.started).sum()
    }
}

fn rfc3339<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339_micros())
}

#[expect(clippy::ref_option, reason = "serde's serialize_with passes a reference to the field")]
fn rfc3339_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.rfc3339_micros()),
        None => s.serialize_none(),
    }
}

/// The bucket `params` asks for, or the one the span of the kept data calls for.
#[must_use]
pub fn bucket_of(data: &TrendData, params: &StatsParams) -> Bucket {
    if let Some(by) = params.by {
        return by;
    }
    let times = data
        .sessions
        .iter()
        .filter_map(|s| s.start)
        .chain(data.usage.iter().map(|u| u.time))
        .chain(data.tool_calls.iter().map(|c| c.time))
        .filter(|t| params.keeps(*t));
    let (mut lo, mut hi) = (None::<Timestamp>, None::<Timestamp>);
    for t in times {
        lo = Some(lo.map_or(t, |l| l.min(t)));
        hi = Some(hi.map_or(t, |h| h.max(t)));
    }
    match (lo, hi) {
        (Some(lo), Some(hi)) => Bucket::for_span(hi.0.saturating_sub(lo.0)),
        _ => Bucket::Hour,
    }
}

/// Counts `data` per bucket.
#[must_use]
pub fn stats(data: &TrendData, params: &StatsParams) -> Stats {
    let by = bucket_of(data, params);
    let mut buckets: BTreeMap<Timestamp, BucketStats> = BTreeMap::new();
    for s in &data.sessions {
        let Some(t) = s.start.filter(|t| params.keeps(*t)) else { continue };
        let b = entry(&mut buckets, by, t);
        b.sessions.add(&s.status);
        if s.error_count > 0 {
            b.sessions_with_errors += 1;
        }
    }
    let mut models: HashMap<(Timestamp, &str), ModelStats> = HashMap::new();
    for u in &data.usage {
        if !params.keeps(u.time) {
            continue;
        }
        let b = entry(&mut buckets, by, u.time);
        b.error_events += u.error_events;
        b.traces += u.traces;
        b.input_tokens = b.input_tokens.saturating_add(u.input_tokens);
        b.output_tokens = b.output_tokens.saturating_add(u.output_tokens);
        b.cost_usd += u.cost_usd;
        let m = models
            .entry((b.start, u.model.as_str()))
            .or_insert_with(|| ModelStats { model: u.model.clone(), ..ModelStats::default() });
        m.traces += u.traces;
        m.input_tokens = m.input_tokens.saturating_add(u.input_tokens);
        m.output_tokens = m.output_tokens.saturating_add(u.output_tokens);
        m.cost_usd += u.cost_usd;
    }
    for ((start, _), m) in models {
        if let Some(b) = buckets.get_mut(&start) {
            b.models.push(m);
        }
    }
    let mut durations: HashMap<(Timestamp, &str), Vec<f64>> = HashMap::new();
    for c in &data.tool_calls {
        if !params.keeps(c.time) {
            continue;
        }
        let start = entry(&mut buckets, by, c.time).start;
        durations.entry((start, &c.tool)).or_default().push(c.duration_ms);
    }
    for ((start, tool), mut values) in durations {
        if let (Some(b), Some(t)) = (buckets.get_mut(&start), tool_stats(tool, &mut values)) {
            b.tools.push(t);
        }
    }
    let mut buckets: Vec<BucketStats> = buckets.into_values().collect();
    for b in &mut buckets {
        b.models.sort_by(|x, y| y.cost_usd.total_cmp(&x.cost_usd).then_with(|| x.model.cmp(&y.model)));
        b.tools.sort_by(|x, y| y.calls.cmp(&x.calls).then_with(|| x.tool.cmp(&y.tool)));
    }
    Stats { by, since: params.since, until: params.until, buckets, bad: data.bad }
}

fn entry(buckets: &mut BTreeMap<Timestamp, BucketStats>, by: Bucket, t: Timestamp) -> &mut BucketStats {
    let start = by.floor(t);
    buckets.entry(start).or_insert_with(|| BucketStats::empty(start))
}

impl BucketStats {
    /// A bucket starting at `start` with nothing counted yet.
    #[must_use]
    pub fn empty(start: Timestamp) -> Self {
        Self {
            start,
            sessions: Outcomes::default(),
            sessions_with_errors: 0,
            error_events: 0,
            traces: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            models: Vec::new(),
            tools: Vec::new(),
        }
    }
}

/// Exact p50, p95 and max of one tool's durations (sorted in place); `None` when empty.
fn tool_stats(tool: &str, values: &mut [f64]) -> Option<ToolStats> {
    values.sort_unstable_by(f64::total_cmp);
    Some(ToolStats {
        tool: tool.to_owned(),
        calls: values.len() as u64,
        p50_ms: quantile_sorted(values, 0.5)?,
        p95_ms: quantile_sorted(values, 0.95)?,
        max_ms: values.last().copied()?,
    })
}

/// The top of a chart's axis that leaves out values far above the rest: 1.5 × the 90th
/// percentile of the positive finite values, when the largest is over five times that
/// percentile; `None` when nothing stands out (or there are under five values), so that one
/// absurd bucket cannot flatten all the others.
#[must_use]
pub fn usual_top(values: &[f64]) -> Option<f64> {
    let mut usual: Vec<f64> = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0).collect();
    if usual.len() < 5 {
        return None;
    }
    usual.sort_unstable_by(f64::total_cmp);
    let p90 = quantile_sorted(&usual, 0.9)?;
    let max = *usual.last()?;
    (p90 > 0.0 && max > 5.0 * p90).then_some(1.5 * p90)
}

/// [`usual_top`] for several series on one axis, each judged against its own values: a
/// series whose values all rose together (a tool that got slower) stays on the axis, and only a
/// value far above the rest of its own series is left off. `None` when nothing is left off.
#[must_use]
pub fn usual_top_of_series(series: &[Vec<f64>]) -> Option<f64> {
    let finite_max = |v: &[f64]| {
        v.iter().copied().filter(|x| x.is_finite()).fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    let mut top: Option<f64> = None;
    let mut max: Option<f64> = None;
    for values in series {
        let own = usual_top(values).or_else(|| finite_max(values));
        top = match (top, own) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        max = match (max, finite_max(values)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let (top, max) = (top?, max?);
    (top < max).then_some(top)
}

/// What a regression compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// A tool's p95 call duration.
    ToolP95Ms,
    /// A task group's p95 run duration.
    TaskP95DurationMs,
    /// A task group's mean cost per run.
    TaskCostPerRunUsd,
}

/// One tool's or task group's figure in the last bucket against the earlier buckets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Regression {
    /// `tool` or `task`.
    pub kind: &'static str,
    /// The tool, or the task group's text.
    pub name: String,
    pub metric: Metric,
    /// The figure over the last bucket's calls or runs.
    pub last: f64,
    /// The figure over all the earlier buckets' calls or runs together.
    pub earlier: f64,
    /// `last / earlier − 1`; `None` when `earlier` is zero.
    pub change: Option<f64>,
    /// The change is above the threshold (or `earlier` is zero and `last` is not).
    pub rose: bool,
    pub last_count: u64,
    pub earlier_count: u64,
}

/// The last bucket against the earlier ones, for every tool and task group seen on both sides:
/// what rose by more than `threshold` (0.2 for 20 %) first, each part by its change, largest
/// first. Empty with fewer than two buckets.
#[must_use]
pub fn regressions(data: &TrendData, params: &StatsParams, threshold: f64, normalize: bool) -> Vec<Regression> {
    let by = bucket_of(data, params);
    let last = data
        .sessions
        .iter()
        .filter_map(|s| s.start)
        .chain(data.usage.iter().map(|u| u.time))
        .chain(data.tool_calls.iter().map(|c| c.time))
        .filter(|t| params.keeps(*t))
        .map(|t| by.floor(t))
        .max();
    let Some(last) = last else { return Vec::new() };
    let side = |t: Timestamp| -> Option<bool> { params.keeps(t).then(|| by.floor(t) == last) };
    let mut out = Vec::new();
    // (in the last bucket, earlier) durations per tool.
    let mut tools: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for c in &data.tool_calls {
        let Some(in_last) = side(c.time) else { continue };
        let sides = tools.entry(&c.tool).or_default();
        if in_last { sides.0.push(c.duration_ms) } else { sides.1.push(c.duration_ms) }
    }
    for (tool, (mut recent, mut before)) in tools {
        if let Some(r) = compare_p95("tool", tool, Metric::ToolP95Ms, &mut recent, &mut before, threshold) {
            out.push(r);
        }
    }
    let mut tasks: BTreeMap<String, (Vec<&SessionPoint>, Vec<&SessionPoint>)> = BTreeMap::new();
    for s in &data.sessions {
        let Some(in_last) = s.start.and_then(side) else { continue };
        let sides = tasks.entry(crate::analysis::tasks::task_key(&s.task, normalize)).or_default();
        if in_last { sides.0.push(s) } else { sides.1.push(s) }
    }
    for (task, (recent, before)) in tasks {
        if recent.is_empty() || before.is_empty() {
            continue;
        }
        let mean = |runs: &[&SessionPoint]| runs.iter().map(|s| s.cost_usd).sum::<f64>() / runs.len() as f64;
        let (l, e) = (mean(&recent), mean(&before));
        out.push(regression("task", &task, Metric::TaskCostPerRunUsd, (l, recent.len()), (e, before.len()), threshold));
        let mut d_recent: Vec<f64> = recent.iter().filter_map(|s| s.duration_ms).collect();
        let mut d_before: Vec<f64> = before.iter().filter_map(|s| s.duration_ms).collect();
        if let Some(r) = compare_p95("task", &task, Metric::TaskP95DurationMs, &mut d_recent, &mut d_before, threshold)
        {
            out.push(r);
        }
    }
    out.sort_by(|a, b| {
        b.rose
            .cmp(&a.rose)
            .then_with(|| change_key(b).total_cmp(&change_key(a)))
            .then_with(|| a.kind.cmp(b.kind))
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// Sort key of a change: a rise from zero counts as the largest.
fn change_key(r: &Regression) -> f64 {
    r.change.unwrap_or(if r.last > 0.0 { f64::INFINITY } else { 0.0 })
}

fn compare_p95(
    kind: &'static str,
    name: &str,
    metric: Metric,
    recent: &mut [f64],
    before: &mut [f64],
    threshold: f64,
) -> Option<Regression> {
    recent.sort_unstable_by(f64::total_cmp);
    before.sort_unstable_by(f64::total_cmp);
    let (l, e) = (quantile_sorted(recent, 0.95)?, quantile_sorted(before, 0.95)?);
    Some(regression(kind, name, metric, (l, recent.len()), (e, before.len()), threshold))
}

fn regression(
    kind: &'static str,
    name: &str,
    metric: Metric,
    (last, last_count): (f64, usize),
    (earlier, earlier_count): (f64, usize),
    threshold: f64,
) -> Regression {
    let change = (earlier != 0.0).then(|| last / earlier - 1.0);
    Regression {
        kind,
        name: name.to_owned(),
        metric,
        last,
        earlier,
        change,
        rose: change.map_or(last > 0.0, |c| c > threshold),
        last_count: last_count as u64,
        earlier_count: earlier_count as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_top_of_series_keeps_a_series_that_rose_as_a_whole() {
        let steady = vec![100.0, 110.0, 90.0, 105.0, 95.0, 100.0];
        // Five times slower from the fourth bucket on: its own values, not an outlier.
        let slower = vec![100.0, 100.0, 100.0, 500.0, 520.0, 510.0];
        assert_eq!(usual_top_of_series(&[steady.clone(), slower.clone()]), None);
        // One absurd value in a steady series is left off, at 1.5x that series' p90, and the
        // other series stays whole under it.
        let mut absurd: Vec<f64> = (0..20).map(|i| 90.0 + f64::from(i)).collect();
        absurd.push(100_000.0);
        let top = usual_top_of_series(&[absurd, slower]).expect("the absurd value is left off");
        assert!((520.0..100_000.0).contains(&top), "{top}");
        assert_eq!(usual_top_of_series(&[]), None);
        assert_eq!(usual_top_of_series(&[vec![f64::NAN], steady]), None);
    }

    const H: i64 = NS_PER_HOUR;

    #[test]
    fn buckets_floor_to_utc_hours_days_and_monday_weeks() {
        // 2026-11-20 (a Friday) 09:59:07 UTC.
        let t = Timestamp(1_795_168_747_000_000_000);
        assert_eq!(Bucket::Hour.floor(t).rfc3339_micros(), "2026-11-20T09:00:00.000000Z");
        assert_eq!(Bucket::Day.floor(t).rfc3339_micros(), "2026-11-20T00:00:00.000000Z");
        assert_eq!(Bucket::Week.floor(t).rfc3339_micros(), "2026-11-16T00:00:00.000000Z");
        assert_eq!(Bucket::Hour.floor(Timestamp(-1)), Timestamp(-H));
        assert_eq!(Bucket::for_span(3 * 24 * H - 1), Bucket::Hour);
        assert_eq!(Bucket::for_span(3 * 24 * H), Bucket::Day);
        assert_eq!(Bucket::for_span(90 * 24 * H), Bucket::Week);
    }

    #[test]
    fn the_usual_top_leaves_out_what_stands_far_above() {
        let mut values = vec![1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0];
        assert_eq!(usual_top(&values), None, "nothing stands out");
        values.push(5_000.0);
        // The 90th percentile (nearest rank) of the 11 values is 3.
        assert_eq!(usual_top(&values), Some(4.5));
        assert_eq!(usual_top(&[1.0, 9_999.0]), None, "too few to tell");
        assert_eq!(usual_top(&[0.0; 20]), None);
    }

    #[test]
    fn per_bucket_counts_sums_and_exact_percentiles() {
        let call = |h: i64, tool: &str, ms: f64| ToolCallPoint {
            time: Timestamp(h * H + 5),
            tool: tool.into(),
            duration_ms: ms,
        };
        let mut calls: Vec<ToolCallPoint> = (1..=20).map(|i| call(0, "grep", f64::from(i))).collect();
        calls.push(call(1, "grep", 100.0));
        let data = TrendData {
            sessions: vec![
                SessionPoint {
                    status: "completed".into(),
                    start: Some(Timestamp(10)),
                    error_count: 1,
                    ..Default::default()
                },
                SessionPoint { status: "weird".into(), start: Some(Timestamp(H)), ..Default::default() },
                SessionPoint { status: "failed".into(), start: None, ..Default::default() },
            ],
            usage: vec![
                UsagePoint {
                    time: Timestamp(0),
                    model: "m".into(),
                    traces: 3,
                    input_tokens: 10,
                    output_tokens: 1,
                    cost_usd: 0.5,
                    error_events: 1,
                },
                UsagePoint {
                    time: Timestamp(0),
                    model: "n".into(),
                    traces: 1,
                    input_tokens: 5,
                    output_tokens: 2,
                    cost_usd: 1.5,
                    error_events: 0,
                },
            ],
            tool_calls: calls,
            ..Default::default()
        };
        let s = stats(&data, &StatsParams::default());
        assert_eq!(s.by, Bucket::Hour);
        assert_eq!(s.buckets.len(), 2);
        let b = &s.buckets[0];
        assert_eq!((b.sessions.started, b.sessions.completed, b.sessions_with_errors, b.error_events), (1, 1, 1, 1));
        assert_eq!((b.traces, b.input_tokens, b.output_tokens, b.cost_usd), (4, 15, 3, 2.0));
        assert_eq!(b.models.iter().map(|m| m.model.as_str()).collect::<Vec<_>>(), ["n", "m"]);
        assert_eq!((b.tools[0].calls, b.tools[0].p50_ms, b.tools[0].p95_ms, b.tools[0].max_ms), (20, 10.0, 19.0, 20.0));
        assert_eq!(s.buckets[1].sessions.other, 1);

        let only_second = stats(&data, &StatsParams { since: Some(Timestamp(H)), ..Default::default() });
        assert_eq!(only_second.buckets.len(), 1);

        // A brushed range: from the first bucket's start to the end of the last one chosen.
        let second = s.range_of(1, 1).expect("the second bucket");
        assert_eq!((second.since, second.until), (Timestamp(H), Timestamp(2 * H)));
        assert_eq!(s.range_of(1, 0), Some(TimeRange { since: Timestamp(0), until: Timestamp(2 * H) }));
        assert_eq!(s.range_of(0, 2), None);
        assert_eq!((s.buckets_in(second), s.sessions_in(second)), (Some((1, 1)), 1));
        let whole = TimeRange { since: Timestamp(0), until: Timestamp(2 * H) };
        assert_eq!((s.buckets_in(whole), s.sessions_in(whole)), (Some((0, 1)), 2));

        let r = regressions(&data, &StatsParams::default(), 0.2, false);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].name.as_str(), r[0].last, r[0].earlier, r[0].rose), ("grep", 100.0, 19.0, true));
        assert_eq!((r[1].kind, r[1].metric, r[1].change, r[1].rose), ("task", Metric::TaskCostPerRunUsd, None, false));
    }
}
