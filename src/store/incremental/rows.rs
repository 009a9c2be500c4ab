//! Reading traces for the running sums: the traces appended above a row id, and one
//! session's traces read once in full, summed as SQLite's GROUP BY sums them.

use rusqlite::types::ValueRef;

use crate::error::StoreError;
use crate::store::Store;
use crate::store::sums::{SqlSum, TraceAggregate, finite_sql, whole_number_sql};
use crate::store::values::get;

/// session index steps them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(in crate::store) struct SessionSums {
    pub(in crate::store) count: u64,
    pub(in crate::store) input: i64,
    pub(in crate::store) output: i64,
    pub(in crate::store) cost: SqlSum,
    pub(in crate::store) errors: u64,
    pub(in crate::store) first: Option<String>,
    pub(in crate::store) last: Option<String>,
}

impl SessionSums {
    /// Adds one row; false when the sum would differ from SQLite's (an integer overflow).
    pub(super) fn add(&mut self, row: &TraceRow) -> bool {
        let (Some(i), Some(o)) =
            (self.input.checked_add(row.input.unwrap_or(0)), self.output.checked_add(row.output.unwrap_or(0)))
        else {
            return false;
        };
        (self.input, self.output) = (i, o);
        self.count += 1;
        match row.cost {
            RowCost::Int(n) => self.cost.step_int(n),
            RowCost::Real(f) => self.cost.step_real(f),
            RowCost::Null => {}
        }
        self.errors += u64::from(row.error);
        if let Some(t) = &row.timestamp {
            if self.first.as_ref().is_none_or(|f| t < f) {
                self.first = Some(t.clone());
            }
            if self.last.as_ref().is_none_or(|l| t > l) {
                self.last = Some(t.clone());
            }
        }
        true
    }

    pub(super) fn aggregate(&self, session_id: &str) -> TraceAggregate {
        let cost = self.cost.total();
        TraceAggregate {
            session_id: session_id.to_owned(),
            event_count: self.count,
            input_tokens: self.input,
            output_tokens: self.output,
            cost_usd: if cost.is_finite() { cost } else { 0.0 },
            error_count: self.errors,
            first_event_at: self.first.clone(),
            last_event_at: self.last.clone(),
        }
    }
}

/// One trace as the session aggregates take it.
pub(super) struct TraceRow {
    rowid: i64,
    pub(super) session: String,
    input: Option<i64>,
    output: Option<i64>,
    cost: RowCost,
    error: bool,
    timestamp: Option<String>,
}

enum RowCost {
    Null,
    Int(i64),
    Real(f64),
}

impl Store {
    /// The traces above row id `after`, in row id order; `None` when one holds a value the
    /// running sums cannot take as SQLite would.
    pub(super) fn trace_rows_after(&self, rowid: &str, after: i64) -> Result<Option<Vec<TraceRow>>, StoreError> {
        self.trace_rows(rowid, &format!("{rowid} > ?1"), rusqlite::types::Value::Integer(after))
    }

    /// One session's sums over its traces up to row id `upto`, read in full.
    pub(super) fn session_sums(
        &self,
        rowid: &str,
        session: &str,
        upto: i64,
    ) -> Result<Option<SessionSums>, StoreError> {
        let sid = self.schema.trace_col("session_id");
        let Some(rows) =
            self.trace_rows(rowid, &format!("{sid} = ?1"), rusqlite::types::Value::Text(session.to_owned()))?
        else {
            return Ok(None);
        };
        let mut sums = SessionSums::default();
        for row in rows.iter().filter(|r| r.rowid <= upto) {
            if !sums.add(row) {
                return Ok(None);
            }
        }
        Ok(Some(sums))
    }

    fn trace_rows(
        &self,
        rowid: &str,
        filter: &str,
        param: rusqlite::types::Value,
    ) -> Result<Option<Vec<TraceRow>>, StoreError> {
        let s = &self.schema;
        let sql = format!(
            "SELECT {rowid}, {sid}, {tin}, {tout}, {cost}, {ty}, {ts} FROM agent_traces WHERE {filter} ORDER BY {rowid}",
            sid = s.trace_col("session_id"),
            tin = whole_number_sql(s.trace_col("input_tokens")),
            tout = whole_number_sql(s.trace_col("output_tokens")),
            cost = finite_sql(s.trace_col("cost_usd")),
            ty = s.trace_col("type"),
            ts = s.trace_col("timestamp"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let whole = |i| match get(r, i) {
                ValueRef::Null => Some(None),
                ValueRef::Integer(n) => Some(Some(n)),
                _ => None,
            };
            let text = |i| match get(r, i) {
                ValueRef::Null => Some(None),
                ValueRef::Text(t) => std::str::from_utf8(t).ok().map(|s| Some(s.to_owned())),
                _ => None,
            };
            let session = match get(r, 1) {
                ValueRef::Text(t) if !t.is_empty() => match std::str::from_utf8(t) {
                    Ok(s) if crate::ids::is_plain(s) => s.to_owned(),
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            };
            let cost = match get(r, 4) {
                ValueRef::Null => RowCost::Null,
                ValueRef::Integer(n) => RowCost::Int(n),
                ValueRef::Real(f) => RowCost::Real(f),
                _ => return Ok(None),
            };
            let (Some(input), Some(output), Some(kind), Some(timestamp)) = (whole(2), whole(3), text(5), text(6))
            else {
                return Ok(None);
            };
            let ValueRef::Integer(rowid) = get(r, 0) else { return Ok(None) };
            out.push(TraceRow {
                rowid,
                session,
                input,
                output,
                cost,
                error: kind.as_deref() == Some("error"),
                timestamp,
            });
        }
        Ok(Some(out))
    }
}
