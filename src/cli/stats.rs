//! The across-runs subcommands: `stats` (per time bucket: sessions by outcome, usage by model,
//! errors, per-tool p50/p95, and the last bucket's regressions) and `tasks` (sessions grouped
//! by task). `--json` keys are documented in the README.

use std::io;
use std::path::Path;

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde::Serialize;

use super::{leave_to_os, open, report_warnings};
use crate::analysis::tasks::{TaskGroup, task_groups};
use crate::analysis::trends::{
    BadInput, Bucket, Metric, Regression, Stats, StatsParams, TrendData, regressions, stats,
};
use crate::format::{format_cost, format_count, format_duration_ms};
use crate::terminal::one_line;
use crate::time::{self, Timestamp};

const NS_PER_HOUR: i64 = 3_600_000_000_000;

/// `--by`: the width of a time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BucketArg {
    Hour,
    Day,
    Week,
}

impl From<BucketArg> for Bucket {
    fn from(b: BucketArg) -> Bucket {
        match b {
            BucketArg::Hour => Bucket::Hour,
            BucketArg::Day => Bucket::Day,
            BucketArg::Week => Bucket::Week,
        }
    }
}

/// The options of `stats`.
#[derive(Debug, Default)]
pub(super) struct StatsOptions {
    pub(super) by: Option<BucketArg>,
    pub(super) since: Option<String>,
    pub(super) until: Option<String>,
    pub(super) json: bool,
    pub(super) only_regressions: bool,
    pub(super) threshold_percent: f64,
    pub(super) normalize: bool,
}

/// A `--since`/`--until` value: a date (`2026-11-20`, the day's start in UTC; for `--until`
/// the next day's, so the day is included), a date and hour (`2026-11-20T09`) or a full time
/// on a whole hour. Buckets are counted by the hour, so a bound inside an hour is refused.
fn bound(flag: &str, text: &str, until: bool) -> Result<Timestamp> {
    let t = text.trim();
    let date_only = t.len() == 10 && t.as_bytes().get(4) == Some(&b'-');
    let full = match t.len() {
        10 if date_only => format!("{t}T00:00:00+00:00"),
        13 => format!("{t}:00:00+00:00"),
        _ => t.to_owned(),
    };
    let parsed = match time::parse_text(&full) {
        Ok(p) => p.time,
        Err(e) => bail!("{flag} {}: {e}", one_line(text)),
    };
    if parsed.0.rem_euclid(NS_PER_HOUR) != 0 {
        bail!("{flag} {}: must fall on a whole hour (statistics are counted by the hour)", one_line(text));
    }
    Ok(if until && date_only { Timestamp(parsed.0.saturating_add(24 * NS_PER_HOUR)) } else { parsed })
}

#[derive(Serialize)]
struct StatsJson<'a> {
    #[serde(flatten)]
    stats: &'a Stats,
    threshold_percent: f64,
    regressions: &'a [Regression],
}

/// `stats FILE [--by hour|day|week] [--since DATE] [--until DATE] [--json] [--regressions]`.
pub(super) fn stats_cmd(file: &Path, options: &StatsOptions, out: &mut dyn io::Write) -> Result<()> {
    let params = StatsParams {
        by: options.by.map(Bucket::from),
        since: options.since.as_deref().map(|s| bound("--since", s, false)).transpose()?,
        until: options.until.as_deref().map(|s| bound("--until", s, true)).transpose()?,
    };
    if !(options.threshold_percent.is_finite() && options.threshold_percent >= 0.0) {
        bail!("--threshold must be a percentage of zero or more");
    }
    let store = open(file)?;
    store.use_small_cache();
    let data = store.trend_data()?;
    let counted = stats(&data, &params);
    let found = regressions(&data, &params, options.threshold_percent / 100.0, options.normalize);
    if options.json {
        let doc = StatsJson { stats: &counted, threshold_percent: options.threshold_percent, regressions: &found };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        if !options.only_regressions {
            write_stats(out, &counted)?;
        }
        write_regressions(out, &found, options.threshold_percent)?;
        write_bad(out, &counted.bad)?;
    }
    report_warnings(&data.warnings);
    leave_to_os(data);
    Ok(())
}

/// `tasks FILE [--json] [--normalize]`.
pub(super) fn tasks_cmd(file: &Path, json: bool, normalize: bool, out: &mut dyn io::Write) -> Result<()> {
    let store = open(file)?;
    store.use_small_cache();
    let data: TrendData = store.trend_data()?;
    let groups = task_groups(&data.sessions, normalize);
    if json {
        serde_json::to_writer_pretty(&mut *out, &TasksJson { normalized: normalize, tasks: &groups })?;
        writeln!(out)?;
    } else {
        write_tasks(out, &groups)?;
    }
    report_warnings(&data.warnings);
    leave_to_os((data, groups));
    Ok(())
}

#[derive(Serialize)]
struct TasksJson<'a> {
    normalized: bool,
    tasks: &'a [TaskGroup],
}

fn count(n: u64) -> String {
    format_count(i64::try_from(n).unwrap_or(i64::MAX))
}

fn bucket_label(by: Bucket, t: Timestamp) -> String {
    let text = t.rfc3339_micros();
    match by {
        Bucket::Hour => format!("{}:00", text.get(..13).unwrap_or(&text).replace('T', " ")),
        Bucket::Day | Bucket::Week => text.get(..10).unwrap_or(&text).to_owned(),
    }
}

fn write_stats(out: &mut dyn io::Write, s: &Stats) -> io::Result<()> {
    let by = match s.by {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week (from Monday)",
    };
    writeln!(out, "by {by}, {} buckets with data (UTC)", s.buckets.len())?;
    writeln!(
        out,
        "{:<17} {:>8} {:>9} {:>6} {:>9} {:>7} {:>5} {:>13} {:>12} {:>9} {:>10} {:>10} {:>10}",
        "bucket",
        "sessions",
        "completed",
        "failed",
        "cancelled",
        "running",
        "other",
        "with errors",
        "error events",
        "traces",
        "tokens in",
        "tokens out",
        "cost"
    )?;
    for b in &s.buckets {
        let o = &b.sessions;
        writeln!(
            out,
            "{:<17} {:>8} {:>9} {:>6} {:>9} {:>7} {:>5} {:>13} {:>12} {:>9} {:>10} {:>10} {:>10}",
            bucket_label(s.by, b.start),
            count(o.started),
            count(o.completed),
            count(o.failed),
            count(o.cancelled),
            count(o.running),
            count(o.other),
            count(b.sessions_with_errors),
            count(b.error_events),
            count(b.traces),
            format_count(b.input_tokens),
            format_count(b.output_tokens),
            format_cost(b.cost_usd),
        )?;
        for m in b.models.iter().filter(|m| m.cost_usd != 0.0 || m.input_tokens != 0 || m.output_tokens != 0) {
            let name = if m.model.is_empty() { "(no model)".to_owned() } else { one_line(&m.model).into_owned() };
            writeln!(
                out,
                "    model {name}: {} in, {} out, {}",
                format_count(m.input_tokens),
                format_count(m.output_tokens),
                format_cost(m.cost_usd)
            )?;
        }
        for t in &b.tools {
            writeln!(
                out,
                "    tool {}: {} calls, p50 {}, p95 {}",
                one_line(&t.tool),
                count(t.calls),
                format_duration_ms(t.p50_ms),
                format_duration_ms(t.p95_ms)
            )?;
        }
    }
    Ok(())
}

fn metric_text(m: Metric) -> &'static str {
    match m {
        Metric::ToolP95Ms => "p95 duration",
        Metric::TaskP95DurationMs => "p95 run duration",
        Metric::TaskCostPerRunUsd => "cost per run",
    }
}

fn write_regressions(out: &mut dyn io::Write, found: &[Regression], threshold_percent: f64) -> io::Result<()> {
    let rose = found.iter().filter(|r| r.rose).count();
    writeln!(
        out,
        "\nlast bucket against the earlier ones: {rose} of {} figures rose by more than {threshold_percent} %",
        found.len()
    )?;
    for r in found {
        let show = |v: f64| match r.metric {
            Metric::TaskCostPerRunUsd => format_cost(v),
            Metric::ToolP95Ms | Metric::TaskP95DurationMs => format_duration_ms(v),
        };
        let change = match r.change {
            Some(c) => format!("{:+.1} %", c * 100.0),
            None if r.last > 0.0 => "up from zero".to_owned(),
            None => "both zero".to_owned(),
        };
        writeln!(
            out,
            "{} {} {}: {} → {} ({change}; {} before, {} in the last){}",
            r.kind,
            one_line(&r.name),
            metric_text(r.metric),
            show(r.earlier),
            show(r.last),
            count(r.earlier_count),
            count(r.last_count),
            if r.rose { "  ROSE" } else { "" }
        )?;
    }
    Ok(())
}

fn write_bad(out: &mut dyn io::Write, bad: &BadInput) -> io::Result<()> {
    let lines = [
        (bad.sessions_without_start, "sessions without a usable start time (in no bucket)"),
        (bad.traces_without_time, "traces with an unreadable timestamp (in no bucket)"),
        (bad.absurd_costs, "costs negative, not finite, over $100,000 or not numbers (left out of the sums)"),
        (bad.absurd_tokens, "token counts negative, over 10^9 or not whole numbers (left out of the sums)"),
        (bad.bad_durations, "tool durations negative, not finite or over ten years (left out)"),
        (bad.tool_calls_without_time, "tool calls with an unreadable timestamp (left out)"),
        (bad.negative_session_durations, "sessions that ended before they started (no duration)"),
    ];
    for (n, what) in lines.iter().filter(|(n, _)| *n > 0) {
        writeln!(out, "{} {what}", count(*n))?;
    }
    if bad.cost_without_time_usd != 0.0 {
        writeln!(out, "{} of cost is on traces without a usable time", format_cost(bad.cost_without_time_usd))?;
    }
    Ok(())
}

fn write_tasks(out: &mut dyn io::Write, groups: &[TaskGroup]) -> io::Result<()> {
    writeln!(
        out,
        "{:>6} {:>8} {:>10} {:>10} {:>9} {:>9} {:>10}  task",
        "runs", "success", "p50 time", "p95 time", "p50 cost", "p95 cost", "total cost"
    )?;
    let opt_ms = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), format_duration_ms);
    let opt_cost = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), format_cost);
    for g in groups {
        let rate = g.success_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0));
        writeln!(
            out,
            "{:>6} {:>8} {:>10} {:>10} {:>9} {:>9} {:>10}  {}",
            count(g.runs),
            rate,
            opt_ms(g.duration_p50_ms),
            opt_ms(g.duration_p95_ms),
            opt_cost(g.cost_p50_usd),
            opt_cost(g.cost_p95_usd),
            format_cost(g.total_cost_usd),
            one_line(&g.task)
        )?;
    }
    Ok(())
}
