//! The session list with its aggregates, one session's list row, and the models of the file.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::params_from_iter;

use crate::error::StoreError;
use crate::hash::IdHashBuilder;
use crate::ids;
use crate::model::{ModelUsage, SessionList, SessionModelUsage, SessionRow, Warning};
use crate::time;

use super::Store;
use super::queries::{key_filter, key_param};
use super::sums::{TraceAggregate, finite_sql, whole_number_sql};
use super::values::{count_value, float_value, key_value, sum_value, text_value, time_of};

impl Store {
    /// All sessions with their aggregates, newest first. Sessions named only by traces (no
    /// session row, or no sessions table at all) are listed too. Raw I/O is never read.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn list_sessions(&self) -> Result<SessionList, StoreError> {
        self.snapshot(|| self.sessions_where(None))
    }

    /// The session list, or with `only` just the rows (and aggregates) of that session id.
    pub(super) fn sessions_where(&self, only: Option<&str>) -> Result<SessionList, StoreError> {
        self.sessions_with(only, None)
    }

    /// [`Store::sessions_where`], with the trace aggregates already computed when given.
    pub(super) fn sessions_with(
        &self,
        only: Option<&str>,
        known: Option<Vec<TraceAggregate>>,
    ) -> Result<SessionList, StoreError> {
        let mut warnings = Vec::new();
        let aggregates = match known.map_or_else(|| self.trace_aggregates("SUM", only), Ok) {
            Ok(a) => a,
            Err(e) if is_overflow(&e) => {
                warnings.push(overflow_warning());
                self.trace_aggregates("TOTAL", only)?
            }
            Err(e) => return Err(e),
        };
        let rows = self.session_rows(only)?;
        let (sessions, more) = self.assemble(&rows, aggregates.iter());
        warnings.extend(more);
        let trace_count = sessions.iter().map(|s| s.event_count).sum();
        Ok(SessionList { file: self.file_info_with(trace_count), sessions, warnings })
    }

    /// The rows of `agent_trace_sessions` (with `only`, that session's), in the order SQLite
    /// scans them (row id order), each with its row id when the table has one.
    pub(super) fn session_rows(&self, only: Option<&str>) -> Result<Vec<SessionRecord>, StoreError> {
        let (filter, params) = match only {
            Some(id) => (format!("WHERE {}", key_filter(&self.schema.session_col("id"), id)), vec![key_param(id)]),
            None => (String::new(), Vec::new()),
        };
        self.session_rows_where(&filter, &params)
    }

    /// The session rows a WHERE clause (with its parameters) selects, in row id order.
    pub(super) fn session_rows_where(
        &self,
        filter: &str,
        params: &[super::queries::IdParam],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut out = Vec::new();
        if self.schema.sessions.is_none() {
            return Ok(out);
        }
        let rowid = self.schema.session_row_id.unwrap_or("NULL");
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, {rowid} FROM agent_trace_sessions {filter}",
            self.schema.session_col("id"),
            self.schema.session_col("task"),
            self.schema.session_col("status"),
            self.schema.session_col("started_at"),
            self.schema.session_col("completed_at"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let rowid = match r.get_ref(5) {
                Ok(rusqlite::types::ValueRef::Integer(n)) => Some(n),
                _ => None,
            };
            let mut notes = Vec::new();
            let Some(id) = key_value(r, 0, "id", &mut notes) else {
                out.push(SessionRecord { rowid, row: None });
                continue;
            };
            let task = text_value(r, 1, "task", &mut notes).unwrap_or_default();
            let status = text_value(r, 2, "status", &mut notes).unwrap_or_else(|| "unknown".to_owned());
            let started_at = text_value(r, 3, "started_at", &mut notes);
            let completed_at = text_value(r, 4, "completed_at", &mut notes);
            let started = time_of(r, 3, "started_at", &mut notes);
            let completed = time_of(r, 4, "completed_at", &mut notes);
            let duration_ms = match (started, completed) {
                (Some(s), Some(c)) => Some(c.ms_since(s)),
                _ => None,
            };
            out.push(SessionRecord {
                rowid,
                row: Some(SessionRow {
                    id,
                    task,
                    status,
                    started_at,
                    completed_at,
                    started,
                    completed,
                    duration_ms,
                    has_session_row: true,
                    warnings: notes,
                    ..SessionRow::default()
                }),
            });
        }
        Ok(out)
    }

    /// The list from the session rows (in scan order) and the trace aggregates (in GROUP BY
    /// order): a session's first row wins, traces without a row make a session of their own,
    /// newest first. Returns the sessions and the warnings about them.
    pub(super) fn assemble<'a>(
        &self,
        rows: &[SessionRecord],
        aggregates: impl Iterator<Item = &'a TraceAggregate>,
    ) -> (Vec<Arc<SessionRow>>, Vec<Warning>) {
        let mut warnings = Vec::new();
        let mut sessions: Vec<SessionRow> = Vec::with_capacity(rows.len());
        let mut index: HashMap<&str, usize, IdHashBuilder> =
            HashMap::with_capacity_and_hasher(rows.len(), IdHashBuilder::default());
        if self.schema.sessions.is_some() {
            for record in rows {
                let Some(row) = &record.row else {
                    warnings.push(Warning::general("a session row has a NULL id; skipped"));
                    continue;
                };
                if index.contains_key(row.id.as_str()) {
                    warnings.push(Warning::general(format!(
                        "session id '{}' appears twice; the first row is shown",
                        row.id
                    )));
                    continue;
                }
                index.insert(row.id.as_str(), sessions.len());
                sessions.push(row.clone());
            }
        } else {
            warnings.push(Warning::general("no agent_trace_sessions table: sessions are derived from their traces"));
        }
        let mut positions: Vec<Option<usize>> = Vec::new();
        let mut derived: Vec<SessionRow> = Vec::new();
        let mut derived_index: HashMap<&str, usize, IdHashBuilder> = HashMap::default();
        let base = sessions.len();
        let aggregates: Vec<&TraceAggregate> = aggregates.collect();
        for agg in &aggregates {
            let i = match index
                .get(agg.session_id.as_str())
                .copied()
                .or_else(|| derived_index.get(agg.session_id.as_str()).copied())
            {
                Some(i) => i,
                None => {
                    let started = agg.first_event_at.as_deref().and_then(|t| time::parse_text(t).ok()).map(|p| p.time);
                    if self.schema.sessions.is_some() {
                        warnings.push(Warning::general(format!(
                            "{} traces name session '{}', which has no session row",
                            agg.event_count,
                            ids::shown(&agg.session_id)
                        )));
                    }
                    derived_index.insert(agg.session_id.as_str(), base + derived.len());
                    derived.push(SessionRow {
                        id: agg.session_id.clone(),
                        status: "unknown".to_owned(),
                        started_at: agg.first_event_at.clone(),
                        started,
                        ..SessionRow::default()
                    });
                    base + derived.len() - 1
                }
            };
            positions.push(Some(i));
        }
        sessions.extend(derived);
        for (agg, i) in aggregates.iter().zip(positions) {
            if let Some(row) = i.and_then(|i| sessions.get_mut(i)) {
                set_aggregate(row, agg);
            }
        }
        // Newest first, as the reference list; sessions without a readable start go last.
        sessions.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.started_at.cmp(&a.started_at)));
        (sessions.into_iter().map(Arc::new).collect(), warnings)
    }

    pub(super) fn trace_aggregates(&self, sum: &str, only: Option<&str>) -> Result<Vec<TraceAggregate>, StoreError> {
        Ok(self.trace_aggregates_keyed(sum, only)?.into_iter().map(|(a, _)| a).collect())
    }

    /// The GROUP BY of [`Store::trace_aggregates`] (one session's with `only`), with `?1`
    /// bound to the session's id when filtered.
    pub(super) fn trace_aggregates_sql(&self, sum: &str, only: Option<&str>) -> String {
        let s = &self.schema;
        // One session: its traces by the session index (NULL and '' both list as "").
        let filter = match only {
            Some("") => {
                let col = s.trace_col("session_id");
                format!("WHERE ({col} IS NULL OR {col} = '')")
            }
            Some(id) => format!("WHERE {}", key_filter(&s.trace_col("session_id"), id)),
            None => String::new(),
        };
        // The sums count what the per-trace converters accept.
        let (whole, finite) = (whole_number_sql, finite_sql);
        format!(
            "SELECT {sid}, typeof({sid}), COUNT(*), {sum}({tin}), {sum}({tout}), TOTAL({cost}), \
             SUM({ty} = 'error'), MIN({ts}), MAX({ts}) FROM agent_traces {filter} GROUP BY {sid}",
            sid = s.trace_col("session_id"),
            tin = whole(s.trace_col("input_tokens")),
            tout = whole(s.trace_col("output_tokens")),
            cost = finite(s.trace_col("cost_usd")),
            ty = s.trace_col("type"),
            ts = s.trace_col("timestamp"),
        )
    }

    /// [`Store::trace_aggregates`], each with whether its session id is plain text (stored as
    /// text, valid UTF-8, printed as stored, not empty): the ids a later read can add to.
    pub(super) fn trace_aggregates_keyed(
        &self,
        sum: &str,
        only: Option<&str>,
    ) -> Result<Vec<(TraceAggregate, bool)>, StoreError> {
        let params = match only {
            Some("") | None => Vec::new(),
            Some(id) => vec![key_param(id)],
        };
        let sql = self.trace_aggregates_sql(sum, only);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let plain = matches!(r.get_ref(0), Ok(rusqlite::types::ValueRef::Text(t))
                if !t.is_empty() && std::str::from_utf8(t).is_ok_and(ids::is_plain));
            let session_id = key_value(r, 0, "session_id", &mut notes).unwrap_or_default();
            out.push((
                TraceAggregate {
                    session_id,
                    event_count: count_value(r, 2),
                    input_tokens: sum_value(r, 3),
                    output_tokens: sum_value(r, 4),
                    cost_usd: float_value(r, 5, "cost_usd", &mut notes).unwrap_or(0.0),
                    error_count: count_value(r, 6),
                    first_event_at: text_value(r, 7, "timestamp", &mut notes),
                    last_event_at: text_value(r, 8, "timestamp", &mut notes),
                },
                plain,
            ));
        }
        Ok(out)
    }

    /// Every model's calls, tokens and cost across the file, costliest first. Counted as a
    /// session's summary counts them, so the file's figures are the sums of the sessions'.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn model_usage(&self) -> Result<Vec<ModelUsage>, StoreError> {
        if let Some(tally) = self.model_tally()? {
            return Ok(tally.usage());
        }
        self.model_usage_sql()
    }

    /// [`Store::model_usage`] counted by SQL's GROUP BY: for files whose values the tally
    /// leaves to SQLite's conversions.
    pub(super) fn model_usage_sql(&self) -> Result<Vec<ModelUsage>, StoreError> {
        match self.model_usage_with("SUM") {
            Err(StoreError::Sqlite { cause, .. }) if cause.to_string().contains("integer overflow") => {
                self.model_usage_with("TOTAL")
            }
            other => other,
        }
    }

    /// The SQL of a trace's input tokens, output tokens and cost, each read as a number or NULL;
    /// `None` when the file has no `model_used` column (no usage to group by model).
    fn usage_sql(&self) -> Option<(String, String, String)> {
        let s = &self.schema;
        if !s.traces.contains_key("model_used") {
            return None;
        }
        Some((
            whole_number_sql(self.column_or_null("input_tokens")),
            whole_number_sql(self.column_or_null("output_tokens")),
            finite_sql(self.column_or_null("cost_usd")),
        ))
    }

    /// A trace column as SQL, or NULL when the file lacks it.
    fn column_or_null(&self, name: &str) -> String {
        if self.schema.traces.contains_key(name) { self.schema.trace_col(name) } else { "NULL".to_owned() }
    }

    pub(super) fn model_usage_with(&self, sum: &str) -> Result<Vec<ModelUsage>, StoreError> {
        let s = &self.schema;
        let Some((tin, tout, cost)) = self.usage_sql() else { return Ok(Vec::new()) };
        let sql = format!(
            "SELECT {model}, MIN({provider}), COUNT(*), COUNT(DISTINCT {sid}), {sum}({tin}), {sum}({tout}), TOTAL({cost}) \
             FROM agent_traces WHERE {model} IS NOT NULL AND {model} != '' \
             AND ({tin} IS NOT NULL OR {tout} IS NOT NULL OR {cost} IS NOT NULL) GROUP BY {model}",
            model = s.trace_col("model_used"),
            provider = self.column_or_null("provider_used"),
            sid = s.trace_col("session_id"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<ModelUsage> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let Some(model) = text_value(r, 0, "model_used", &mut notes).filter(|m| !m.is_empty()) else {
                continue;
            };
            let usage = ModelUsage {
                provider: text_value(r, 1, "provider_used", &mut notes).filter(|p| !p.is_empty()),
                calls: count_value(r, 2),
                sessions: count_value(r, 3),
                input_tokens: sum_value(r, 4),
                output_tokens: sum_value(r, 5),
                cost_usd: float_value(r, 6, "cost_usd", &mut notes).unwrap_or(0.0),
                model,
            };
            // Values SQLite keeps apart (the number 5 and the text '5') read as one name.
            match out.iter_mut().find(|m| m.model == usage.model) {
                Some(m) => {
                    m.calls += usage.calls;
                    m.sessions += usage.sessions;
                    m.input_tokens = m.input_tokens.saturating_add(usage.input_tokens);
                    m.output_tokens = m.output_tokens.saturating_add(usage.output_tokens);
                    m.cost_usd += usage.cost_usd;
                    m.provider = m.provider.take().or(usage.provider);
                }
                None => out.push(usage),
            }
        }
        out.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.calls.cmp(&a.calls)));
        Ok(out)
    }

    /// Every model's calls, tokens and cost in each session, counted as [`Store::model_usage`]
    /// counts the file (so the rows of all sessions sum to it), in no particular order.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn session_model_usage(&self) -> Result<Vec<SessionModelUsage>, StoreError> {
        match self.session_model_usage_with("SUM") {
            Err(StoreError::Sqlite { cause, .. }) if cause.to_string().contains("integer overflow") => {
                self.session_model_usage_with("TOTAL")
            }
            other => other,
        }
    }

    fn session_model_usage_with(&self, sum: &str) -> Result<Vec<SessionModelUsage>, StoreError> {
        let s = &self.schema;
        let Some((tin, tout, cost)) = self.usage_sql() else { return Ok(Vec::new()) };
        let sql = format!(
            "SELECT {sid}, {model}, MIN({provider}), COUNT(*), {sum}({tin}), {sum}({tout}), TOTAL({cost}) \
             FROM agent_traces WHERE {model} IS NOT NULL AND {model} != '' \
             AND ({tin} IS NOT NULL OR {tout} IS NOT NULL OR {cost} IS NOT NULL) GROUP BY {sid}, {model}",
            model = s.trace_col("model_used"),
            provider = self.column_or_null("provider_used"),
            sid = s.trace_col("session_id"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<SessionModelUsage> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let Some(session_id) = key_value(r, 0, "session_id", &mut notes) else { continue };
            let Some(model) = text_value(r, 1, "model_used", &mut notes).filter(|m| !m.is_empty()) else {
                continue;
            };
            let usage = ModelUsage {
                provider: text_value(r, 2, "provider_used", &mut notes).filter(|p| !p.is_empty()),
                calls: count_value(r, 3),
                sessions: 1,
                input_tokens: sum_value(r, 4),
                output_tokens: sum_value(r, 5),
                cost_usd: float_value(r, 6, "cost_usd", &mut notes).unwrap_or(0.0),
                model,
            };
            out.push(SessionModelUsage { session_id, usage });
        }
        Ok(out)
    }

    /// The list row of one session (aggregates included).
    ///
    /// # Errors
    /// [`StoreError::NoSuchSession`] when neither table knows it, or a SQLite failure.
    pub fn session_row(&self, session_id: &str) -> Result<SessionRow, StoreError> {
        // Only this session's rows: a whole-file aggregate would read every trace of the file.
        let find = |list: SessionList| {
            list.sessions.into_iter().find(|s| s.id == session_id).map(std::sync::Arc::unwrap_or_clone)
        };
        if let Some(row) = find(self.sessions_where(Some(session_id))?) {
            return Ok(row);
        }
        // An id that only matches as the list spells it (numbers stored in an untyped
        // column, say): take it from the whole list.
        find(self.list_sessions()?)
            .ok_or_else(|| StoreError::NoSuchSession { path: self.path.clone(), query: session_id.to_owned() })
    }
}

/// One row of `agent_trace_sessions` as read, before the trace aggregates join it: `row` is
/// `None` for a row with a NULL id (listed as a warning).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SessionRecord {
    pub(super) rowid: Option<i64>,
    pub(super) row: Option<SessionRow>,
}

/// Sets what a session's traces add to its list row: counts, tokens, cost, errors and the
/// first and last trace times. The list and the live tail's mending both fill rows this way.
pub(super) fn set_aggregate(row: &mut SessionRow, agg: &TraceAggregate) {
    row.event_count = agg.event_count;
    row.total_input_tokens = agg.input_tokens;
    row.total_output_tokens = agg.output_tokens;
    row.total_tokens = agg.input_tokens.saturating_add(agg.output_tokens);
    row.total_cost_usd = agg.cost_usd;
    row.error_count = agg.error_count;
    row.first_event_at.clone_from(&agg.first_event_at);
    row.last_event_at.clone_from(&agg.last_event_at);
}

/// SQLite's error for a SUM that left the 64-bit range.
pub(super) fn is_overflow(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite { cause, .. } if cause.to_string().contains("integer overflow"))
}

pub(super) fn overflow_warning() -> Warning {
    Warning::general("token sums exceed the 64-bit integer range; totals are approximate")
}
