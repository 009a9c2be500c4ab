//! A session's aggregates summed in Rust while its rows are read, exactly as SQLite's SUM and
//! TOTAL would sum them, and the SQL that guards the file-wide sums.

use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::values::get;

/// The aggregates of [`Store::trace_aggregates`] for one session, summed in Rust over the rows
/// of its events with SQLite's own arithmetic (`SUM`, `TOTAL` with Kahan–Babuška–Neumaier
/// compensation, `MIN`/`MAX` of text by bytes). Only plain values are taken: the first value
/// SQLite would convert (text numbers, blobs, a non-text id, type or timestamp) or an integer
/// overflow marks the sums unusable, and the caller asks SQL instead.
pub(super) struct RowSums {
    pub(super) usable: bool,
    pub(super) count: u64,
    pub(super) input: i64,
    pub(super) output: i64,
    /// `cost_usd` values in row order: `TOTAL` is summed at the end, so sums of parts read
    /// in parallel still add up in SQLite's order.
    pub(super) costs: Vec<Cost>,
    pub(super) errors: u64,
    pub(super) first: Option<String>,
    pub(super) last: Option<String>,
}

#[derive(Clone, Copy)]
pub(super) enum Cost {
    Int(i64),
    Real(f64),
}

impl Default for RowSums {
    fn default() -> Self {
        Self { usable: true, count: 0, input: 0, output: 0, costs: Vec::new(), errors: 0, first: None, last: None }
    }
}

impl RowSums {
    /// Adds one row of the events query (columns as [`Store::query_events`] selects them).
    pub(super) fn add(&mut self, r: &Row<'_>) {
        if !self.usable {
            return;
        }
        self.count += 1;
        let ok = matches!(get(r, 2), ValueRef::Text(_))
            && add_int(&mut self.input, get(r, 8))
            && add_int(&mut self.output, get(r, 9))
            && match get(r, 12) {
                ValueRef::Null => true,
                ValueRef::Integer(n) => {
                    self.costs.push(Cost::Int(n));
                    true
                }
                // As the SQL total: an infinite cost is left out (it is a warning on its trace).
                ValueRef::Real(f) if !f.is_finite() => true,
                ValueRef::Real(f) => {
                    self.costs.push(Cost::Real(f));
                    true
                }
                _ => false,
            }
            && match get(r, 3) {
                ValueRef::Null => true,
                ValueRef::Text(t) => {
                    self.errors += u64::from(t == b"error");
                    true
                }
                _ => false,
            }
            && match get(r, 4) {
                ValueRef::Null => true,
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(t) => {
                        keep_extreme(&mut self.first, t, std::cmp::Ordering::Less);
                        keep_extreme(&mut self.last, t, std::cmp::Ordering::Greater);
                        true
                    }
                    Err(_) => false,
                },
                _ => false,
            };
        self.usable = ok;
    }

    /// Appends the sums of the rows that follow these.
    pub(super) fn merge(&mut self, later: RowSums) {
        self.usable &= later.usable;
        self.count += later.count;
        match (self.input.checked_add(later.input), self.output.checked_add(later.output)) {
            (Some(i), Some(o)) => (self.input, self.output) = (i, o),
            // Only a near-overflowing total gets here; SQL then sums it exactly.
            _ => self.usable = false,
        }
        self.costs.extend(later.costs);
        self.errors += later.errors;
        if let Some(t) = later.first.as_deref() {
            keep_extreme(&mut self.first, t, std::cmp::Ordering::Less);
        }
        if let Some(t) = later.last.as_deref() {
            keep_extreme(&mut self.last, t, std::cmp::Ordering::Greater);
        }
    }

    /// The session's aggregates as `trace_aggregates` gives them; `None` when unusable.
    pub(super) fn aggregates(self, session_id: &str) -> Option<Vec<TraceAggregate>> {
        if !self.usable || self.count > MAX_SUMMED_ROWS {
            return None;
        }
        if self.count == 0 {
            return Some(Vec::new());
        }
        let mut sum = SqlSum::default();
        for c in &self.costs {
            match *c {
                Cost::Int(n) => sum.step_int(n),
                Cost::Real(f) => sum.step_real(f),
            }
        }
        let cost = sum.total();
        Some(vec![TraceAggregate {
            session_id: session_id.to_owned(),
            event_count: self.count,
            input_tokens: self.input,
            output_tokens: self.output,
            cost_usd: if cost.is_finite() { cost } else { 0.0 },
            error_count: self.errors,
            first_event_at: self.first,
            last_event_at: self.last,
        }])
    }
}

/// `MIN` (with `Less`) or `MAX` of text by bytes, reusing the kept string's buffer.
pub(super) fn keep_extreme(kept: &mut Option<String>, t: &str, want: std::cmp::Ordering) {
    match kept {
        Some(k) if t.cmp(k.as_str()) == want => {
            k.clear();
            k.push_str(t);
        }
        Some(_) => {}
        None => *kept = Some(t.to_owned()),
    }
}

/// Token counts up to this size are summed here; with fewer than `MAX_SUMMED_ROWS` rows no
/// running total (in any order or split) can overflow, so SQLite's overflow error cannot be
/// missed. Anything larger is left to SQL.
pub(super) const MAX_SUMMED_TOKENS: i64 = 1 << 40;
pub(super) const MAX_SUMMED_ROWS: u64 = 1 << 22;

/// `SUM` of an integer column: plain integers of a sane size only.
pub(super) fn add_int(sum: &mut i64, v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Null => true,
        ValueRef::Integer(n) if n.unsigned_abs() <= MAX_SUMMED_TOKENS.unsigned_abs() => match sum.checked_add(n) {
            Some(s) => {
                *sum = s;
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// SQLite's `SumCtx` for integer and real inputs (`sumStep` and `totalFinalize`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct SqlSum {
    pub(super) r_sum: f64,
    pub(super) r_err: f64,
    pub(super) i_sum: i64,
    pub(super) approx: bool,
}

impl SqlSum {
    pub(super) const BIG: i64 = 4_503_599_627_370_496;

    pub(super) fn kbn(&mut self, r: f64) {
        let s = self.r_sum;
        let t = s + r;
        if s.abs() > r.abs() {
            self.r_err += (s - t) + r;
        } else {
            self.r_err += (r - t) + s;
        }
        self.r_sum = t;
    }

    pub(super) fn kbn_int(&mut self, v: i64) {
        if v <= -Self::BIG || v >= Self::BIG {
            let small = v % 16384;
            self.kbn((v - small) as f64);
            self.kbn(small as f64);
        } else {
            self.kbn(v as f64);
        }
    }

    pub(super) fn init(&mut self, v: i64) {
        if v <= -Self::BIG || v >= Self::BIG {
            let small = v % 16384;
            self.r_sum = (v - small) as f64;
            self.r_err = small as f64;
        } else {
            self.r_sum = v as f64;
            self.r_err = 0.0;
        }
    }

    pub(super) fn step_int(&mut self, v: i64) {
        if self.approx {
            self.kbn_int(v);
        } else if let Some(x) = self.i_sum.checked_add(v) {
            self.i_sum = x;
        } else {
            self.init(self.i_sum);
            self.approx = true;
            self.kbn_int(v);
        }
    }

    pub(super) fn step_real(&mut self, v: f64) {
        if !self.approx {
            self.init(self.i_sum);
            self.approx = true;
        }
        self.kbn(v);
    }

    /// `TOTAL(x)`.
    pub(super) fn total(&self) -> f64 {
        if !self.approx {
            return self.i_sum as f64;
        }
        if self.r_err.is_finite() { self.r_sum + self.r_err } else { self.r_sum }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct TraceAggregate {
    pub(super) session_id: String,
    pub(super) event_count: u64,
    pub(super) input_tokens: i64,
    pub(super) output_tokens: i64,
    pub(super) cost_usd: f64,
    pub(super) error_count: u64,
    pub(super) first_event_at: Option<String>,
    pub(super) last_event_at: Option<String>,
}

/// A token column as the per-trace converters accept it: whole numbers (integers, whole
/// reals, numeric text), else NULL. One real among the tokens would otherwise turn SUM into a
/// float. NULL (most traces) is told by the cheapest test, and `CASE typeof(c) WHEN` reads the
/// other values' type once.
pub(super) fn whole_number_sql(c: String) -> String {
    format!(
        "CASE WHEN {c} IS NULL THEN NULL ELSE CASE typeof({c}) WHEN 'integer' THEN {c} \
         WHEN 'real' THEN CASE WHEN {c} = CAST({c} AS INTEGER) THEN CAST({c} AS INTEGER) END \
         WHEN 'text' THEN CAST(trim({c}) AS INTEGER) END END"
    )
}

/// A cost column without infinities (one would make a whole total infinite), else NULL.
pub(super) fn finite_sql(c: String) -> String {
    format!("CASE WHEN {c} IS NULL THEN NULL WHEN abs({c}) <= 1.7976931348623157e308 THEN {c} END")
}
