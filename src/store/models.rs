//! The file's models counted in Rust over the traces in row id order, so that new traces can
//! be added to the counts later and come out exactly as a fresh count of the whole file.

use arcstr::ArcStr;
use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::types::ValueRef;

use crate::error::StoreError;
use crate::hash::IdHashBuilder;
use crate::model::ModelUsage;

use super::Store;
use super::sums::{SqlSum, finite_sql, whole_number_sql};
use super::values::get;

/// One model's running counts: SQLite's `COUNT(*)`, `COUNT(DISTINCT session_id)`, `SUM` of
/// tokens, `TOTAL` of cost and `MIN(provider)`, stepped in row id order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ModelSums {
    pub(super) provider: Option<String>,
    pub(super) calls: u64,
    pub(super) sessions: HashSet<ArcStr, IdHashBuilder>,
    pub(super) input: i64,
    pub(super) output: i64,
    pub(super) cost: SqlSum,
}

/// Every model's [`ModelSums`], by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ModelTally {
    pub(super) models: BTreeMap<String, ModelSums>,
    /// Session ids, shared by the models' sets.
    interner: HashMap<ArcStr, (), IdHashBuilder>,
}

/// One trace row of the models query, its values as the tally takes them.
pub(super) struct ModelRow {
    model: String,
    provider: Option<String>,
    session: Option<String>,
    input: Option<i64>,
    output: Option<i64>,
    cost: Option<Cost>,
}

#[derive(Clone, Copy)]
enum Cost {
    Int(i64),
    Real(f64),
}

/// A text value that compares in Rust as SQLite compares it (valid UTF-8); NULL is `Some(None)`;
/// anything else `None`.
fn plain_text(v: ValueRef<'_>) -> Option<Option<String>> {
    match v {
        ValueRef::Null => Some(None),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(|s| Some(s.to_owned())),
        _ => None,
    }
}

fn whole(v: ValueRef<'_>) -> Option<Option<i64>> {
    match v {
        ValueRef::Null => Some(None),
        ValueRef::Integer(n) => Some(Some(n)),
        _ => None,
    }
}

impl ModelRow {
    /// The row (columns as [`Store::model_rows_sql`] selects them), or `None` when a value is
    /// one the tally does not sum as SQLite would (text costs, non-text names).
    pub(super) fn read(r: &rusqlite::Row<'_>) -> Option<ModelRow> {
        let model = plain_text(get(r, 0))??;
        let cost = match get(r, 5) {
            ValueRef::Null => None,
            ValueRef::Integer(n) => Some(Cost::Int(n)),
            ValueRef::Real(f) => Some(Cost::Real(f)),
            _ => return None,
        };
        Some(ModelRow {
            model,
            provider: plain_text(get(r, 1))?,
            session: plain_text(get(r, 2))?,
            input: whole(get(r, 3))?,
            output: whole(get(r, 4))?,
            cost,
        })
    }
}

impl ModelTally {
    /// Adds one row; false when a token sum would leave the 64-bit range (SQLite's SUM fails
    /// there and the file is counted by SQL's TOTAL instead).
    pub(super) fn add(&mut self, row: ModelRow) -> bool {
        let session = row.session.map(|s| self.shared(&s));
        let m = self.models.entry(row.model).or_default();
        let (Some(input), Some(output)) =
            (m.input.checked_add(row.input.unwrap_or(0)), m.output.checked_add(row.output.unwrap_or(0)))
        else {
            return false;
        };
        (m.input, m.output) = (input, output);
        m.calls += 1;
        if let Some(s) = session {
            m.sessions.insert(s);
        }
        match row.cost {
            Some(Cost::Int(n)) => m.cost.step_int(n),
            Some(Cost::Real(f)) => m.cost.step_real(f),
            None => {}
        }
        if let Some(p) = row.provider
            && m.provider.as_ref().is_none_or(|kept| p < *kept)
        {
            m.provider = Some(p);
        }
        true
    }

    /// True when [`ModelTally::add`] takes every one of `rows` (no token sum leaves the 64-bit
    /// range): checked without changing the tally, so that a refresh that fails leaves it as
    /// it was without a copy of it.
    pub(super) fn can_add(&self, rows: &[ModelRow]) -> bool {
        let mut sums: HashMap<&str, (i64, i64)> = HashMap::new();
        rows.iter().all(|row| {
            let (input, output) = sums
                .entry(row.model.as_str())
                .or_insert_with(|| self.models.get(&row.model).map_or((0, 0), |m| (m.input, m.output)));
            match (input.checked_add(row.input.unwrap_or(0)), output.checked_add(row.output.unwrap_or(0))) {
                (Some(i), Some(o)) => {
                    (*input, *output) = (i, o);
                    true
                }
                _ => false,
            }
        })
    }

    fn shared(&mut self, id: &str) -> ArcStr {
        if let Some((k, ())) = self.interner.get_key_value(id) {
            return k.clone();
        }
        let k: ArcStr = ArcStr::from(id);
        self.interner.insert(k.clone(), ());
        k
    }

    /// The table [`Store::model_usage`] gives: costliest first.
    pub(super) fn usage(&self) -> Vec<ModelUsage> {
        let mut out: Vec<ModelUsage> = self
            .models
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, m)| {
                let cost = m.cost.total();
                ModelUsage {
                    model: name.clone(),
                    provider: m.provider.clone().filter(|p| !p.is_empty()),
                    calls: m.calls,
                    sessions: m.sessions.len() as u64,
                    input_tokens: m.input,
                    output_tokens: m.output,
                    cost_usd: if cost.is_finite() { cost } else { 0.0 },
                }
            })
            .collect();
        out.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.calls.cmp(&a.calls)));
        out
    }

    /// A tally of these models whose session sets hold ids from `ids` (after the cache
    /// decoded them): later additions share those.
    pub(super) fn from_shared(models: BTreeMap<String, ModelSums>, ids: &[ArcStr]) -> ModelTally {
        let mut interner = HashMap::with_capacity_and_hasher(ids.len(), IdHashBuilder::default());
        interner.extend(ids.iter().map(|id| (id.clone(), ())));
        ModelTally { models, interner }
    }
}

impl Store {
    /// The models query over the traces with a row id above `?1`, in row id order; `None`
    /// when the table has no row id.
    pub(super) fn model_rows_sql(&self) -> Option<String> {
        let s = &self.schema;
        let rowid = s.row_id?;
        let column = |name: &str| if s.traces.contains_key(name) { s.trace_col(name) } else { "NULL".to_owned() };
        let (tin, tout, cost) = (
            whole_number_sql(column("input_tokens")),
            whole_number_sql(column("output_tokens")),
            finite_sql(column("cost_usd")),
        );
        Some(format!(
            "SELECT {model}, {provider}, {sid}, {tin}, {tout}, {cost} FROM agent_traces \
             WHERE {rowid} > ?1 AND {model} IS NOT NULL AND {model} != '' \
             AND ({tin} IS NOT NULL OR {tout} IS NOT NULL OR {cost} IS NOT NULL) ORDER BY {rowid}",
            model = s.trace_col("model_used"),
            provider = column("provider_used"),
            sid = s.trace_col("session_id"),
        ))
    }

    /// The model rows with a row id above `after`, in row id order; `None` when one of them is
    /// not summed here (see [`ModelRow::read`]).
    pub(super) fn model_rows_after(&self, after: i64) -> Result<Option<Vec<ModelRow>>, StoreError> {
        if !self.schema.traces.contains_key("model_used") {
            return Ok(Some(Vec::new()));
        }
        let Some(sql) = self.model_rows_sql() else { return Ok(None) };
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([after]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let Some(row) = ModelRow::read(r) else { return Ok(None) };
            out.push(row);
        }
        Ok(Some(out))
    }

    /// Adds the model rows with a row id above `after` to `tally`; false when one of them is
    /// not summed here (see [`ModelRow::read`], [`ModelTally::add`]).
    pub(super) fn add_model_rows(&self, tally: &mut ModelTally, after: i64) -> Result<bool, StoreError> {
        if !self.schema.traces.contains_key("model_used") {
            return Ok(true);
        }
        let Some(sql) = self.model_rows_sql() else { return Ok(false) };
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([after]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let Some(row) = ModelRow::read(r) else { return Ok(false) };
            if !tally.add(row) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The whole file's models counted in Rust; `None` when a value needs SQLite's own
    /// conversions or the file has no row id (then SQL counts them).
    pub(super) fn model_tally(&self) -> Result<Option<ModelTally>, StoreError> {
        let mut tally = ModelTally::default();
        Ok(self.add_model_rows(&mut tally, i64::MIN)?.then_some(tally))
    }
}
