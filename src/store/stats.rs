//! What the file-wide statistics and task groups are built from ([`TrendData`]), in two reads:
//! one GROUP BY over every trace (by session, hour and model: counts, token and cost sums with
//! absurd values counted apart) and the tool results' durations (for exact percentiles).
//!
//! Timestamps ending in `+00:00` (the reference writer's `2026-11-20T09:59:07.754847+00:00`)
//! are grouped in SQL by their first 13 characters, the hour; any other value is grouped by
//! itself and parsed here, so every form the timeline reads is bucketed exactly. A group is
//! taken only when its key reads as an hour and its earliest and latest timestamps both parse
//! within that hour; else its traces are counted apart as without a usable time, never guessed.
//! (A per-row pattern match in SQL would be exact for the rows between too, but costs a fifth
//! of the whole read.)

use arcstr::ArcStr;
use std::collections::HashMap;

use rusqlite::types::ValueRef;

use crate::analysis::tools::tool_name;
use crate::analysis::trends::{
    BadInput, MAX_COST_PER_TRACE_USD, MAX_TOKENS_PER_TRACE, SessionPoint, ToolCallPoint, TrendData, UsagePoint,
};
use crate::error::StoreError;
use crate::hash::IdHashBuilder;
use crate::model::labels::{DataFields, Interner, scalar_text};
use crate::time::{self, Timestamp};

use super::Store;
use super::sums::{TraceAggregate, whole_number_sql};
use super::values::{count_value, float_value, get, key_value, row_text, sum_value, text_value, valid_duration};

const NS_PER_HOUR: i64 = 3_600_000_000_000;

/// A group's time key: the first 13 characters (`YYYY-MM-DDTHH`) of a UTC timestamp in text,
/// else the stored value itself.
fn time_key_sql(ts: &str) -> String {
    format!("CASE WHEN substr({ts}, -6) = '+00:00' THEN substr({ts}, 1, 13) ELSE {ts} END")
}

/// A timestamp value as the timeline reads it.
fn value_time(v: ValueRef<'_>) -> Option<Timestamp> {
    let parsed = match v {
        ValueRef::Null | ValueRef::Blob(_) => return None,
        ValueRef::Integer(n) => time::parse_number(n as f64),
        ValueRef::Real(f) => time::parse_number(f),
        ValueRef::Text(t) => time::parse_text(&String::from_utf8_lossy(t)),
    };
    parsed.ok().map(|p| p.time)
}

/// Parses group time keys once each: an hour key, or any value the timeline accepts.
#[derive(Default)]
struct KeyTimes {
    seen: HashMap<Vec<u8>, Option<Timestamp>>,
}

impl KeyTimes {
    /// The time of a group: its key's, when its earliest and latest timestamps (`min`, `max`)
    /// both read as times in the key's hour (or as the key's time itself).
    fn group_time(&mut self, key: ValueRef<'_>, min: ValueRef<'_>, max: ValueRef<'_>) -> Option<Timestamp> {
        let time = self.time(key)?;
        let hour = Timestamp(time.0.saturating_sub(time.0.rem_euclid(NS_PER_HOUR)));
        let within = |v: ValueRef<'_>| {
            value_time(v).is_some_and(|t| t == time || (t >= hour && t.0 < hour.0.saturating_add(NS_PER_HOUR)))
        };
        (within(min) && within(max)).then_some(time)
    }

    fn time(&mut self, v: ValueRef<'_>) -> Option<Timestamp> {
        match v {
            ValueRef::Null | ValueRef::Blob(_) | ValueRef::Integer(_) | ValueRef::Real(_) => value_time(v),
            ValueRef::Text(t) => {
                if let Some(known) = self.seen.get(t) {
                    return *known;
                }
                let text = String::from_utf8_lossy(t);
                let parsed = if t.len() == 13 && t.get(10) == Some(&b'T') {
                    time::parse_text(&format!("{text}:00:00+00:00"))
                } else {
                    time::parse_text(&text)
                };
                let time = parsed.ok().map(|p| p.time);
                self.seen.insert(t.to_vec(), time);
                time
            }
        }
    }
}

impl Store {
    /// The sessions (with their start, outcome, duration, clean cost and errors), the traces'
    /// usage per hour and model, and every tool call's duration and time, read in one
    /// snapshot. Absurd values and unreadable times are counted in [`TrendData::bad`].
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn trend_data(&self) -> Result<TrendData, StoreError> {
        self.snapshot(|| {
            let mut bad = BadInput::default();
            let mut keys = KeyTimes::default();
            let (aggregates, usage, spans) = self.usage_groups(&mut keys, &mut bad)?;
            let rows = self.session_rows(None)?;
            let (list, warnings) = self.assemble(&rows, aggregates.iter());
            let sessions = list
                .into_iter()
                .map(|row| {
                    let span = spans.get(row.id.as_str()).copied().unwrap_or_default();
                    session_point(std::sync::Arc::unwrap_or_clone(row), span, &mut bad)
                })
                .collect();
            let tool_calls = self.tool_calls(&mut bad)?;
            Ok(TrendData { sessions, usage, tool_calls, bad, warnings })
        })
    }

    /// One GROUP BY over all traces, by session, time key and model: per session its
    /// aggregates (as the session list's, absurd values left out), per (time, model) the usage.
    fn usage_groups(&self, keys: &mut KeyTimes, bad: &mut BadInput) -> Result<UsageGroups, StoreError> {
        let s = &self.schema;
        let ts = s.trace_col("timestamp");
        let tokens_ok = |c: String| {
            let whole = whole_number_sql(c.clone());
            format!(
                "CASE WHEN {c} IS NULL THEN NULL WHEN typeof({c}) = 'integer' \
                 THEN CASE WHEN {c} BETWEEN 0 AND {MAX_TOKENS_PER_TRACE} THEN {c} END \
                 ELSE CASE WHEN ({whole}) BETWEEN 0 AND {MAX_TOKENS_PER_TRACE} THEN ({whole}) END END"
            )
        };
        let cost = s.trace_col("cost_usd");
        let cost_ok = format!(
            "CASE WHEN {cost} IS NULL THEN NULL WHEN typeof({cost}) IN ('integer', 'real') \
             AND {cost} BETWEEN 0 AND {MAX_COST_PER_TRACE_USD:.1} THEN {cost} END"
        );
        let (tin, tout) = (s.trace_col("input_tokens"), s.trace_col("output_tokens"));
        let (tin_ok, tout_ok) = (tokens_ok(tin.clone()), tokens_ok(tout.clone()));
        let sql = format!(
            "SELECT {sid}, {key} AS k, {model}, COUNT(*), SUM({tin_ok}), SUM({tout_ok}), TOTAL({cost_ok}), \
             SUM({ty} = 'error'), COUNT({tin}) - COUNT({tin_ok}) + COUNT({tout}) - COUNT({tout_ok}), \
             COUNT({cost}) - COUNT({cost_ok}), MIN({ts}), MAX({ts}) \
             FROM agent_traces GROUP BY {sid}, k, {model}",
            sid = s.trace_col("session_id"),
            key = time_key_sql(&ts),
            model = s.trace_col("model_used"),
            ty = s.trace_col("type"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut sessions: Vec<TraceAggregate> = Vec::new();
        let mut session_index: HashMap<String, usize, IdHashBuilder> = HashMap::default();
        let mut usage: Vec<UsagePoint> = Vec::new();
        let mut usage_index: HashMap<(Timestamp, String), usize> = HashMap::new();
        let mut spans: HashMap<String, TraceSpan, IdHashBuilder> = HashMap::default();
        let mut notes = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            notes.clear();
            let session_id = key_value(r, 0, "session_id", &mut notes).unwrap_or_default();
            let model = text_value(r, 2, "model_used", &mut notes).unwrap_or_default();
            let traces = count_value(r, 3);
            let (input, output) = (sum_value(r, 4), sum_value(r, 5));
            let cost_usd = float_value(r, 6, "cost_usd", &mut notes).unwrap_or(0.0);
            let errors = count_value(r, 7);
            bad.absurd_tokens += count_value(r, 8);
            bad.absurd_costs += count_value(r, 9);
            // Text order, as the session list's MIN and MAX; a blob is never a time.
            let as_text = |i: usize, notes: &mut Vec<String>| match get(r, i) {
                ValueRef::Blob(_) => None,
                _ => text_value(r, i, "timestamp", notes),
            };
            let (first, last) = (as_text(10, &mut notes), as_text(11, &mut notes));
            let span = spans.entry(session_id.clone()).or_default();
            for t in [value_time(get(r, 10)), value_time(get(r, 11))].into_iter().flatten() {
                span.first = Some(span.first.map_or(t, |f| f.min(t)));
                span.last = Some(span.last.map_or(t, |l| l.max(t)));
            }
            let i = *session_index.entry(session_id.clone()).or_insert_with(|| {
                sessions.push(TraceAggregate {
                    session_id,
                    event_count: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_usd: 0.0,
                    error_count: 0,
                    first_event_at: None,
                    last_event_at: None,
                });
                sessions.len() - 1
            });
            if let Some(agg) = sessions.get_mut(i) {
                agg.event_count += traces;
                agg.input_tokens = agg.input_tokens.saturating_add(input);
                agg.output_tokens = agg.output_tokens.saturating_add(output);
                agg.cost_usd += cost_usd;
                agg.error_count += errors;
                if first.is_some() && (agg.first_event_at.is_none() || first < agg.first_event_at) {
                    agg.first_event_at = first;
                }
                if last > agg.last_event_at {
                    agg.last_event_at = last;
                }
            }
            let Some(time) = keys.group_time(get(r, 1), get(r, 10), get(r, 11)) else {
                bad.traces_without_time += traces;
                bad.cost_without_time_usd += cost_usd;
                continue;
            };
            let j = *usage_index.entry((time, model.clone())).or_insert_with(|| {
                usage.push(UsagePoint {
                    time,
                    model,
                    traces: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_usd: 0.0,
                    error_events: 0,
                });
                usage.len() - 1
            });
            if let Some(u) = usage.get_mut(j) {
                u.traces += traces;
                u.input_tokens = u.input_tokens.saturating_add(input);
                u.output_tokens = u.output_tokens.saturating_add(output);
                u.cost_usd += cost_usd;
                u.error_events += errors;
            }
        }
        Ok((sessions, usage, spans))
    }

    /// Every tool result's duration, tool and time (the tool named as
    /// [`Store::tool_durations`] names it).
    fn tool_calls(&self, bad: &mut BadInput) -> Result<Vec<ToolCallPoint>, StoreError> {
        let s = &self.schema;
        if !s.traces.contains_key("duration_ms") {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ts}, {data}, {dur} FROM agent_traces WHERE {ty} = 'tool_result' AND {dur} IS NOT NULL",
            ts = s.trace_col("timestamp"),
            data = s.trace_col("data"),
            dur = s.trace_col("duration_ms"),
            ty = s.trace_col("type"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut tools = Interner::default();
        let unnamed: ArcStr = tools.get(tool_name(None));
        let mut out = Vec::new();
        let mut notes = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            notes.clear();
            let Some(duration_ms) = float_value(r, 2, "duration_ms", &mut notes).filter(|d| valid_duration(*d)) else {
                bad.bad_durations += 1;
                continue;
            };
            let Some(time) = value_time(get(r, 0)) else {
                bad.tool_calls_without_time += 1;
                continue;
            };
            let data = row_text(r, 1, "data", &mut notes).unwrap_or_default();
            let tool = serde_json::from_str::<DataFields>(&data)
                .ok()
                .and_then(|f| f.tool.or(f.tool_name).or(f.name))
                .and_then(|v| scalar_text(&v))
                .map_or_else(|| ArcStr::clone(&unnamed), |t| tools.get(&t));
            out.push(ToolCallPoint { time, tool, duration_ms });
        }
        Ok(out)
    }
}

/// Per session its aggregates, per (time, model) the usage, per session id its trace span.
type UsageGroups = (Vec<TraceAggregate>, Vec<UsagePoint>, HashMap<String, TraceSpan, IdHashBuilder>);

/// The earliest and latest readable trace times of a session (each group's MIN and MAX that
/// parse), for a start when `started_at` is unusable and a duration when `completed_at` is.
#[derive(Clone, Copy, Debug, Default)]
struct TraceSpan {
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// A listed session as the statistics see it.
fn session_point(row: crate::model::SessionRow, span: TraceSpan, bad: &mut BadInput) -> SessionPoint {
    let start = row.started.or(span.first);
    if start.is_none() {
        bad.sessions_without_start += 1;
    }
    let span = match (span.first, span.last) {
        (Some(a), Some(b)) => Some(b.ms_since(a)),
        _ => None,
    };
    // A running session has no duration yet: the span so far would pull its task's figures down.
    let running = row.status.trim().eq_ignore_ascii_case("running");
    let duration_ms = match row.duration_ms.or(span).filter(|_| !running) {
        Some(d) if d < 0.0 || !d.is_finite() => {
            bad.negative_session_durations += 1;
            None
        }
        other => other,
    };
    SessionPoint {
        id: row.id,
        task: row.task,
        status: row.status,
        start,
        duration_ms,
        cost_usd: row.total_cost_usd,
        input_tokens: row.total_input_tokens,
        output_tokens: row.total_output_tokens,
        error_count: row.error_count,
        event_count: row.event_count,
    }
}
