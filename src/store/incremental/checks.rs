//! The [`Mark`] of a file and the cheap look-ups that check it: the schema, both ends of each
//! table and the ids stored there, the oldest timestamp and the row counts.

use rusqlite::types::ValueRef;

use crate::error::StoreError;
use crate::store::Store;
use crate::store::values::get;

use super::{Mark, RowEnd, TableMark};

impl Store {
    /// The discovered schema as one line, sorted: two reads that agree on it read the same
    /// columns the same way.
    pub(super) fn schema_fingerprint(&self) -> String {
        let s = &self.schema;
        let mut traces: Vec<String> = s.traces.iter().map(|(k, v)| format!("{k}={v}")).collect();
        traces.sort();
        let mut sessions: Vec<String> =
            s.sessions.iter().flat_map(|m| m.iter().map(|(k, v)| format!("{k}={v}"))).collect();
        sessions.sort();
        format!(
            "traces[{}] extra[{}] sessions({})[{}] settings={} rowid={:?}/{:?} binary={}",
            traces.join(","),
            s.extra_trace_columns.join(","),
            s.sessions.is_some(),
            sessions.join(","),
            s.has_settings,
            s.row_id,
            s.session_row_id,
            s.binary_text
        )
    }

    /// The cheap checks of [`Store::refresh_live`] against `mark`, with nothing appended: the
    /// schema, both ends of each table and the ids stored there, the oldest timestamp and the
    /// session count. For a list whose [`FileState`](super::FileState) shows nothing was written since.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub(in crate::store) fn mark_holds(&self, mark: &Mark) -> Result<bool, StoreError> {
        self.snapshot(|| {
            let schema_version =
                self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
            if schema_version != mark.schema_version || self.schema_fingerprint() != mark.schema {
                return Ok(false);
            }
            let Some(rowid) = self.schema.row_id else { return Ok(false) };
            let (first, last) = self.ends("agent_traces", rowid, &self.schema.trace_col("id"))?;
            if first != mark.traces.first
                || last != mark.traces.last
                || self.oldest_timestamp()? != mark.oldest_timestamp
            {
                return Ok(false);
            }
            match (&mark.sessions, self.schema.sessions.is_some(), self.schema.session_row_id) {
                (None, false, _) => Ok(true),
                (Some(m), true, Some(srowid)) => {
                    let (first, last) = self.ends("agent_trace_sessions", srowid, &self.schema.session_col("id"))?;
                    Ok(first == m.first && last == m.last && self.count("agent_trace_sessions")? == m.count)
                }
                _ => Ok(false),
            }
        })
    }

    /// A row id's name on a table, quoted ids.
    pub(super) fn ends(
        &self,
        table: &str,
        rowid: &str,
        id: &str,
    ) -> Result<(Option<RowEnd>, Option<RowEnd>), StoreError> {
        let end = |order: &str| -> Result<Option<RowEnd>, StoreError> {
            let sql = format!("SELECT {rowid}, quote({id}) FROM {table} ORDER BY {rowid} {order} LIMIT 1");
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
            match rows.next().map_err(|e| self.err(e))? {
                Some(r) => Ok(match (get(r, 0), get(r, 1)) {
                    (ValueRef::Integer(n), ValueRef::Text(t)) => Some((n, t.to_vec())),
                    _ => None,
                }),
                None => Ok(None),
            }
        };
        Ok((end("ASC")?, end("DESC")?))
    }

    /// `quote(id)` of the row with this row id, if there is one.
    pub(super) fn id_at(&self, table: &str, rowid: &str, id: &str, at: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT quote({id}) FROM {table} WHERE {rowid} = ?1");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([at]).map_err(|e| self.err(e))?;
        Ok(match rows.next().map_err(|e| self.err(e))? {
            Some(r) => match get(r, 0) {
                ValueRef::Text(t) => Some(t.to_vec()),
                _ => None,
            },
            None => None,
        })
    }

    pub(super) fn count(&self, table: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    pub(super) fn oldest_timestamp(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT quote(MIN({ts})) FROM agent_traces", ts = self.schema.trace_col("timestamp"));
        if !self.uses_index(&sql) {
            return Ok(None);
        }
        self.conn
            .query_row(&sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    ValueRef::Text(t) => Some(t.to_vec()),
                    _ => None,
                })
            })
            .map_err(|e| self.err(e))
    }

    /// True when SQLite answers `sql` through an index, without a temporary B-tree.
    pub(super) fn uses_index(&self, sql: &str) -> bool {
        let Ok(mut stmt) = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else { return false };
        let Ok(details) = stmt.query_map([], |r| r.get::<_, String>(3)) else { return false };
        let details: Vec<String> = details.filter_map(Result::ok).collect();
        details.iter().any(|d| d.contains("INDEX")) && !details.iter().any(|d| d.contains("TEMP B-TREE"))
    }

    pub(super) fn mark_now(&self, traces: u64, sessions: u64) -> Result<Mark, StoreError> {
        let schema_version =
            self.conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)).map_err(|e| self.err(e))?;
        let (first, last) = match self.schema.row_id {
            Some(rowid) => self.ends("agent_traces", rowid, &self.schema.trace_col("id"))?,
            None => (None, None),
        };
        let sessions = match (&self.schema.sessions, self.schema.session_row_id) {
            (Some(_), Some(rowid)) => {
                let (first, last) = self.ends("agent_trace_sessions", rowid, &self.schema.session_col("id"))?;
                Some(TableMark { count: sessions, first, last })
            }
            _ => None,
        };
        Ok(Mark {
            schema_version,
            schema: self.schema_fingerprint(),
            traces: TableMark { count: traces, first, last },
            sessions,
            oldest_timestamp: self.oldest_timestamp()?,
        })
    }
}
