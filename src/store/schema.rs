//! Which tables and columns a file has, under the spelling it uses, and the name of its row id.

use std::collections::HashMap;

use crate::error::StoreError;
use crate::model::TRACE_COLUMNS;

use super::Store;
use super::values::lossy;

pub(super) const REQUIRED_TRACE_COLUMNS: [&str; 4] = ["id", "session_id", "type", "timestamp"];
/// Columns holding ids, shown in their printed form (see [`ids`]).
pub(super) const ID_COLUMNS: [&str; 3] = ["id", "session_id", "parent_trace_id"];
/// SQLite's names for a table's row id, each usable unless a column takes it.
pub(super) const ROW_ID_NAMES: [&str; 3] = ["_rowid_", "rowid", "oid"];

/// Which known columns exist, under the spelling the file uses.
#[derive(Clone, Debug, Default)]
pub(super) struct Schema {
    pub(super) traces: HashMap<&'static str, String>,
    pub(super) extra_trace_columns: Vec<String>,
    /// Columns of `agent_trace_sessions` (by known name), when the table exists with an id.
    pub(super) sessions: Option<HashMap<&'static str, String>>,
    pub(super) has_settings: bool,
    /// A name for the row id that no column shadows (`_rowid_`, `rowid` or `oid`); none for a
    /// WITHOUT ROWID table or one with columns of all three names.
    pub(super) row_id: Option<&'static str>,
    /// The same for `agent_trace_sessions`, when it exists.
    pub(super) session_row_id: Option<&'static str>,
    /// `agent_traces` declares no collation: text compares byte by byte, as Rust does.
    pub(super) binary_text: bool,
}

impl Schema {
    /// A select expression for a trace column: the quoted column, or NULL when absent.
    pub(super) fn trace_col(&self, name: &str) -> String {
        self.traces.get(name).map_or_else(|| "NULL".to_owned(), |c| quote_ident(c))
    }
    pub(super) fn session_col(&self, name: &str) -> String {
        self.sessions.as_ref().and_then(|s| s.get(name)).map_or_else(|| "NULL".to_owned(), |c| quote_ident(c))
    }
}

pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Store {
    pub(super) fn discover(&self) -> Result<Schema, StoreError> {
        let mut objects: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('table','view')")
                .map_err(|e| self.err(e))?;
            let rows =
                stmt.query_map([], |r| Ok((lossy(r.get_ref(0)?), lossy(r.get_ref(1)?)))).map_err(|e| self.err(e))?;
            for row in rows {
                objects.push(row.map_err(|e| self.err(e))?);
            }
        }
        let find = |name: &str| objects.iter().find(|(_, n)| n.eq_ignore_ascii_case(name));
        match find("agent_traces") {
            None => {
                let mut tables: Vec<&str> =
                    objects.iter().filter(|(t, _)| t == "table").map(|(_, n)| n.as_str()).collect();
                tables.sort_unstable();
                let tables = if tables.is_empty() { "none".to_owned() } else { tables.join(", ") };
                return Err(StoreError::NoTracesTable { path: self.path.clone(), tables });
            }
            Some((kind, _)) if kind != "table" => {
                return Err(StoreError::NotATable { path: self.path.clone(), kind: kind.clone() });
            }
            Some(_) => {}
        }
        let mut schema = Schema::default();
        for column in self.table_columns("agent_traces")? {
            match TRACE_COLUMNS.iter().find(|k| k.eq_ignore_ascii_case(&column)) {
                Some(known) if !schema.traces.contains_key(known) => {
                    schema.traces.insert(known, column);
                }
                _ => schema.extra_trace_columns.push(column),
            }
        }
        for required in REQUIRED_TRACE_COLUMNS {
            if !schema.traces.contains_key(required) {
                return Err(StoreError::MissingColumn { path: self.path.clone(), column: required });
            }
        }
        if matches!(find("agent_trace_sessions"), Some((kind, _)) if kind == "table") {
            let mut cols = HashMap::new();
            for column in self.table_columns("agent_trace_sessions")? {
                for known in ["id", "task", "status", "started_at", "completed_at"] {
                    if known.eq_ignore_ascii_case(&column) && !cols.contains_key(known) {
                        cols.insert(known, column.clone());
                    }
                }
            }
            if cols.contains_key("id") {
                schema.sessions = Some(cols);
            }
        }
        schema.has_settings = matches!(find("trace_settings"), Some((kind, _)) if kind == "table");
        // A column may be named like the row id, and then hides that name: take one it leaves
        // free. WITHOUT ROWID tables have none; then traces are told apart by id alone.
        schema.row_id = ROW_ID_NAMES.into_iter().find(|name| {
            let shadowed =
                schema.traces.values().chain(&schema.extra_trace_columns).any(|c| c.eq_ignore_ascii_case(name));
            !shadowed && self.conn.prepare(&format!("SELECT {name} FROM agent_traces LIMIT 0")).is_ok()
        });
        if let Some(cols) = &schema.sessions {
            let mut names: Vec<String> = self.table_columns("agent_trace_sessions")?;
            names.extend(cols.values().cloned());
            schema.session_row_id = ROW_ID_NAMES.into_iter().find(|name| {
                !names.iter().any(|c| c.eq_ignore_ascii_case(name))
                    && self.conn.prepare(&format!("SELECT {name} FROM agent_trace_sessions LIMIT 0")).is_ok()
            });
        }
        schema.binary_text = self
            .conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'agent_traces' COLLATE NOCASE",
                [],
                |r| Ok(lossy(r.get_ref(0)?)),
            )
            .is_ok_and(|sql| !sql.to_ascii_lowercase().contains("collate"));
        Ok(schema)
    }

    pub(super) fn table_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = format!("PRAGMA table_info({})", quote_ident(table));
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| Ok(lossy(r.get_ref(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
