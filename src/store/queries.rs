//! Looking things up: sessions by id or prefix, search, one trace's every column, tool
//! durations; and the WHERE clauses and bound values that match an id as it is printed.

use std::ops::ControlFlow;

use rusqlite::params_from_iter;
use rusqlite::types::ValueRef;

use crate::error::StoreError;
use crate::ids;
use crate::model::labels::{DataFields, Interner, one_line, scalar_text};
use crate::model::{Field, SearchHit, SearchQuery, ToolDuration, TraceDetail};

use super::schema::{ID_COLUMNS, Schema, quote_ident};
use super::values::{float_value, key_value, row_text, shared_key, text_value, valid_duration};
use super::{DETAIL_VALUE_LIMIT, Store};

/// A WHERE clause (with `?1`) and its parameter selecting one session's traces.
pub(super) fn session_filter(schema: &Schema, session_id: &str) -> (String, IdParam) {
    let col = schema.trace_col("session_id");
    if session_id.is_empty() {
        // Traces with a NULL session id are listed under the empty id.
        (format!("({col} IS NULL AND ?1 = '')"), IdParam::text(String::new()))
    } else {
        (key_filter(&col, session_id), key_param(session_id))
    }
}

/// A WHERE clause (with `?1`, bound to [`key_param`]) matching a column to an id in its
/// printed form. Each is one index probe.
pub(super) fn key_filter(col: &str, key: &str) -> String {
    // A number stored in a column without text affinity prints as its digits.
    if key.parse::<i64>().is_ok_and(|n| n.to_string() == key) {
        format!("{col} IN (?1, CAST(?1 AS INTEGER))")
    } else {
        format!("{col} = ?1")
    }
}

/// The stored value an id in its printed form stands for, to bind.
pub(super) fn key_param(key: &str) -> IdParam {
    IdParam(ids::parse(key))
}

/// True when the id filters with `column = ?1` alone (see [`key_filter`]).
pub(super) fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key_filter("c", key) == "c = ?1"
}

/// The least byte string above every string that starts with `prefix` (none when the prefix
/// is all 0xFF bytes).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A bound value: text (as bytes, which need not be UTF-8) or a blob.
pub(super) struct IdParam(pub(super) ids::StoredId);

impl IdParam {
    pub(super) fn text(text: String) -> IdParam {
        IdParam(ids::StoredId::Text(text.into_bytes()))
    }
}

impl rusqlite::ToSql for IdParam {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match &self.0 {
            ids::StoredId::Text(b) => ValueRef::Text(b),
            ids::StoredId::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// Finds the session whose id is `query` or starts with it. `query` is an id as this
    /// program prints it (see [`ids`]) or a prefix of one; the answer is the id so printed.
    ///
    /// # Errors
    /// [`StoreError::NoSuchSession`] or [`StoreError::AmbiguousSession`], or a SQLite failure.
    pub fn resolve_session(&self, query: &str) -> Result<String, StoreError> {
        self.snapshot(|| self.resolve_session_now(query))
    }

    pub(super) fn resolve_session_now(&self, query: &str) -> Result<String, StoreError> {
        if let Some(id) = self.exact_session_id(query)? {
            return Ok(id);
        }
        let mut ids: Vec<String> = Vec::new();
        let mut collect = |sql: String, params: &[&dyn rusqlite::ToSql]| -> Result<(), StoreError> {
            let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query(params).map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                if let Some(id) = key_value(r, 0, "id", &mut Vec::new())
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            Ok(())
        };
        let sessions_id = self.schema.sessions.is_some().then(|| self.schema.session_col("id"));
        let traces_id = self.schema.trace_col("session_id");
        if let ids::StoredId::Text(prefix) = ids::parse(query) {
            // Byte prefixes of text ids (blobs print as x'..', which a text prefix is not).
            let starts = |id: &str| {
                format!(
                    "typeof({id}) = 'text' AND substr(CAST({id} AS BLOB), 1, length(CAST(?1 AS BLOB))) = CAST(?1 AS BLOB)"
                )
            };
            let low = IdParam(ids::StoredId::Text(prefix.clone()));
            if let Some(id) = &sessions_id {
                collect(format!("SELECT {id} FROM agent_trace_sessions WHERE {} LIMIT 50", starts(id)), &[&low])?;
            }
            // The index range of the prefix, then the exact test.
            match prefix_end(&prefix) {
                Some(end) => collect(
                    format!(
                        "SELECT DISTINCT {id} FROM agent_traces WHERE {id} >= ?1 AND {id} < ?2 AND {} LIMIT 50",
                        starts(&traces_id),
                        id = traces_id
                    ),
                    &[&low, &IdParam(ids::StoredId::Text(end))],
                )?,
                None => collect(
                    format!(
                        "SELECT DISTINCT {id} FROM agent_traces WHERE {id} >= ?1 AND {} LIMIT 50",
                        starts(&traces_id),
                        id = traces_id
                    ),
                    &[&low],
                )?,
            }
        }
        // A blob id's printed form, cut short: `x'7E4`.
        if let Some(hex) = query.strip_prefix("x'").map(|h| h.trim_end_matches('\''))
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let hex = IdParam::text(hex.to_ascii_uppercase());
            let starts = |id: &str| format!("typeof({id}) = 'blob' AND substr(hex({id}), 1, length(?1)) = ?1");
            if let Some(id) = &sessions_id {
                collect(format!("SELECT {id} FROM agent_trace_sessions WHERE {} LIMIT 50", starts(id)), &[&hex])?;
            }
            collect(
                format!("SELECT DISTINCT {id} FROM agent_traces WHERE {} LIMIT 50", starts(&traces_id), id = traces_id),
                &[&hex],
            )?;
        }
        let candidates: Vec<&str> = ids.iter().map(String::as_str).collect();
        match ids::pick(&candidates, query) {
            ids::Pick::One(id) => Ok(id.to_owned()),
            ids::Pick::Nothing => Err(StoreError::NoSuchSession { path: self.path.clone(), query: query.to_owned() }),
            ids::Pick::Many(count) => {
                Err(StoreError::AmbiguousSession { path: self.path.clone(), query: query.to_owned(), count })
            }
        }
    }

    /// The session id exactly `query` names, as this program prints it, when a session row or
    /// a trace has it (the common case of [`Store::resolve_session`]: one index probe).
    fn exact_session_id(&self, query: &str) -> Result<Option<String>, StoreError> {
        if query.is_empty() {
            return Ok(None);
        }
        let param = key_param(query);
        // The binary comparison keeps a NOCASE column from matching another spelling.
        let probe = |table: &str, col: String| -> Result<bool, StoreError> {
            let sql = format!(
                "SELECT 1 FROM {table} WHERE {} AND CAST({col} AS BLOB) = CAST(?1 AS BLOB) LIMIT 1",
                key_filter(&col, query)
            );
            self.conn.prepare(&sql).and_then(|mut stmt| stmt.exists([&param])).map_err(|e| self.err(e))
        };
        let found = (self.schema.sessions.is_some() && probe("agent_trace_sessions", self.schema.session_col("id"))?)
            || probe("agent_traces", self.schema.trace_col("session_id"))?;
        // The printed form of what was asked for (a typed backslash, say, prints escaped).
        Ok(found.then(|| match &param.0 {
            ids::StoredId::Text(bytes) => ids::text_id(bytes),
            ids::StoredId::Blob(bytes) => ids::blob_id(bytes),
        }))
    }

    /// Finds traces whose type, data, raw input or raw output contain `query.text`, calling
    /// `on_hit` for each as it is found (return `Break` to stop). Returns the number of hits.
    /// The text is always a bound parameter; `%`, `_` and `\` match literally.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn search(
        &self,
        query: &SearchQuery,
        on_hit: &mut dyn FnMut(SearchHit) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let s = &self.schema;
        let pattern = format!("%{}%", escape_like(&query.text));
        let searchable: Vec<(&str, String)> = ["type", "data", "raw_input", "raw_output"]
            .into_iter()
            .filter_map(|c| s.traces.get(c).map(|n| (c, quote_ident(n))))
            .collect();
        let any = searchable.iter().map(|(_, c)| format!("{c} LIKE ?1 ESCAPE '\\'")).collect::<Vec<_>>().join(" OR ");
        let which = searchable
            .iter()
            .map(|(name, c)| format!("WHEN {c} LIKE ?1 ESCAPE '\\' THEN '{name}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let snippet = searchable
            .iter()
            .map(|(_, c)| {
                format!(
                    "WHEN {c} LIKE ?1 ESCAPE '\\' THEN substr(CAST({c} AS TEXT), max(1, instr(lower(CAST({c} AS TEXT)), lower(?2)) - 40), 160)"
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut params: Vec<IdParam> = vec![IdParam::text(pattern), IdParam::text(query.text.clone())];
        let mut filter = format!("({any})");
        if let Some(session) = &query.session_id {
            let (f, p) = session_filter(s, session);
            filter = format!("{filter} AND {}", f.replace("?1", &format!("?{}", params.len() + 1)));
            params.push(p);
        }
        if let Some(kind) = &query.kind {
            filter = format!("{filter} AND {} = ?{}", s.trace_col("type"), params.len() + 1);
            params.push(IdParam::text(kind.clone()));
        }
        let sql = format!(
            "SELECT {}, {}, {}, {}, CASE {which} END, CASE {snippet} END FROM agent_traces WHERE {filter}",
            s.trace_col("id"),
            s.trace_col("session_id"),
            s.trace_col("type"),
            s.trace_col("timestamp"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(params.iter())).map_err(|e| self.err(e))?;
        let mut count = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let hit = SearchHit {
                id: key_value(r, 0, "id", &mut notes).unwrap_or_default(),
                session_id: key_value(r, 1, "session_id", &mut notes).unwrap_or_default(),
                kind: text_value(r, 2, "type", &mut notes).unwrap_or_default(),
                timestamp: text_value(r, 3, "timestamp", &mut notes).unwrap_or_default(),
                field: text_value(r, 4, "field", &mut notes).unwrap_or_default(),
                snippet: text_value(r, 5, "snippet", &mut notes).map(|t| one_line(&t)).unwrap_or_default(),
            };
            count += 1;
            if on_hit(hit).is_break() {
                break;
            }
        }
        Ok(count)
    }

    /// Every column of the trace with this id (the first when several share it).
    ///
    /// # Errors
    /// [`StoreError::NoSuchTrace`] or a SQLite failure.
    pub fn trace_detail(&self, id: &str) -> Result<TraceDetail, StoreError> {
        let filter = key_filter(&self.schema.trace_col("id"), id);
        self.detail_where(&filter, &key_param(id), id)
    }

    /// Every column of the trace in this row (exact even when ids repeat).
    ///
    /// # Errors
    /// [`StoreError::NoSuchTrace`] or a SQLite failure.
    pub fn trace_detail_by_row(&self, rowid: i64, id: &str) -> Result<TraceDetail, StoreError> {
        let Some(alias) = self.schema.row_id else {
            return self.trace_detail(id);
        };
        self.detail_where(&format!("{alias} = ?1"), &rowid, id)
    }

    pub(super) fn detail_where(
        &self,
        filter: &str,
        param: &dyn rusqlite::ToSql,
        id: &str,
    ) -> Result<TraceDetail, StoreError> {
        self.snapshot(|| self.detail_now(filter, param, id))
    }

    pub(super) fn detail_now(
        &self,
        filter: &str,
        param: &dyn rusqlite::ToSql,
        id: &str,
    ) -> Result<TraceDetail, StoreError> {
        let columns = self.table_columns("agent_traces")?;
        let limit = DETAIL_VALUE_LIMIT;
        let select = columns
            .iter()
            .map(|c| {
                let q = quote_ident(c);
                // `data` comes whole: the detail view reads it as a JSON tree.
                let text = if c.eq_ignore_ascii_case("data") { q.clone() } else { format!("substr({q}, 1, {limit})") };
                format!(
                    "typeof({q}), CASE WHEN typeof({q}) = 'blob' THEN substr({q}, 1, 256) ELSE {text} END, octet_length({q})"
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {select} FROM agent_traces WHERE {filter} LIMIT 2");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([param]).map_err(|e| self.err(e))?;
        let mut detail: Option<TraceDetail> = None;
        let mut count = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            count += 1;
            if detail.is_some() {
                continue;
            }
            let mut d = TraceDetail { id: id.to_owned(), ..TraceDetail::default() };
            for (i, name) in columns.iter().enumerate() {
                let storage = match r.get_ref(i * 3).map_err(|e| self.err(e))? {
                    ValueRef::Text(t) => match t {
                        b"integer" => "integer",
                        b"real" => "real",
                        b"text" => "text",
                        b"blob" => "blob",
                        _ => "null",
                    },
                    _ => "null",
                };
                let size = r.get_ref(i * 3 + 2).ok().and_then(|v| match v {
                    ValueRef::Integer(n) => u64::try_from(n).ok(),
                    _ => None,
                });
                let value = match r.get_ref(i * 3 + 1).map_err(|e| self.err(e))? {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(f) => Some(f.to_string()),
                    // Ids show as everywhere else, so that they can be given back.
                    ValueRef::Text(t) if ID_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) => {
                        Some(ids::text_id(t))
                    }
                    ValueRef::Text(t) => {
                        if std::str::from_utf8(t).is_err() {
                            d.warnings.push(format!("{name} is not valid UTF-8; shown with replacement characters"));
                        }
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Blob(b) => Some(ids::blob_id(b)),
                };
                let size_bytes = size.unwrap_or(0);
                let shown = value.as_ref().map_or(0, |v| if storage == "blob" { (v.len() - 3) / 2 } else { v.len() });
                let cut = matches!(storage, "text" | "blob") && (shown as u64) < size_bytes;
                if cut {
                    d.warnings.push(format!("{name} is {size_bytes} bytes; only the first {shown} are shown"));
                }
                d.fields.push(Field { name: name.clone(), storage, value, size_bytes, cut });
            }
            detail = Some(d);
        }
        let mut d = detail.ok_or_else(|| StoreError::NoSuchTrace { path: self.path.clone(), id: id.to_owned() })?;
        d.duplicates = count;
        if count > 1 {
            d.warnings.push(format!("more than one trace has the id '{id}'; the first is shown"));
        }
        Ok(d)
    }

    /// Durations of every tool call in the file, with the tool's name and session, for the
    /// file-wide percentiles that decide which calls are slow. Raw I/O is not read.
    ///
    /// # Errors
    /// A [`StoreError`] when SQLite fails.
    pub fn tool_durations(&self) -> Result<Vec<ToolDuration>, StoreError> {
        self.tool_durations_where("", None)
    }

    /// [`Store::tool_durations`] of the traces with a row id above `after` only.
    pub(super) fn tool_durations_after(&self, after: i64) -> Result<Vec<ToolDuration>, StoreError> {
        match self.schema.row_id {
            Some(rowid) => self.tool_durations_where(&format!("AND {rowid} > ?1"), Some(after)),
            None => Ok(Vec::new()),
        }
    }

    fn tool_durations_where(&self, and: &str, param: Option<i64>) -> Result<Vec<ToolDuration>, StoreError> {
        let s = &self.schema;
        if !s.traces.contains_key("duration_ms") {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {}, {}, {} FROM agent_traces WHERE {} = 'tool_result' AND {} IS NOT NULL {and}",
            s.trace_col("session_id"),
            s.trace_col("data"),
            s.trace_col("duration_ms"),
            s.trace_col("type"),
            s.trace_col("duration_ms"),
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(param.iter())).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let (mut sessions, mut tools) = (Interner::default(), Interner::default());
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut notes = Vec::new();
            let Some(duration_ms) = float_value(r, 2, "duration_ms", &mut notes).filter(|d| valid_duration(*d)) else {
                continue;
            };
            let data = row_text(r, 1, "data", &mut notes).unwrap_or_default();
            let tool = serde_json::from_str::<DataFields>(&data)
                .ok()
                .and_then(|f| f.tool.or(f.tool_name).or(f.name))
                .and_then(|v| scalar_text(&v));
            out.push(ToolDuration {
                session_id: shared_key(r, 0, "session_id", &mut notes, &mut sessions).unwrap_or_default(),
                tool: tool.as_deref().map(|t| tools.get(t)),
                duration_ms,
            });
        }
        Ok(out)
    }
}
