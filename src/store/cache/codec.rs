//! The byte writer and reader of cache entries: little-endian numbers, lengths checked
//! against the bytes left, and the compound values the entry and its list share.

use crate::model::{SessionRow, Warning};
use crate::store::incremental::TableMark;
use crate::store::sums::SqlSum;
use crate::time::Timestamp;

use super::checksum::checksum;

#[derive(Default)]
pub(super) struct Enc(pub(super) Vec<u8>);

impl Enc {
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    pub(super) fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    pub(super) fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    pub(super) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(super) fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            f(self, v);
        }
    }
    pub(super) fn opt_str(&mut self, v: Option<&String>) {
        self.opt(v, |e, s| e.str(s));
    }
    pub(super) fn sum(&mut self, s: &SqlSum) {
        self.f64(s.r_sum);
        self.f64(s.r_err);
        self.i64(s.i_sum);
        self.bool(s.approx);
    }
    pub(super) fn end(&mut self, v: Option<&(i64, Vec<u8>)>) {
        self.opt(v, |e, (n, b)| {
            e.i64(*n);
            e.bytes(b);
        });
    }
    pub(super) fn table(&mut self, t: &TableMark) {
        self.u64(t.count);
        self.end(t.first.as_ref());
        self.end(t.last.as_ref());
    }
    pub(super) fn warning(&mut self, w: &Warning) {
        self.opt_str(w.trace_id.as_ref());
        self.str(&w.message);
    }
    pub(super) fn row(&mut self, s: &SessionRow) {
        self.str(&s.id);
        self.str(&s.task);
        self.str(&s.status);
        self.opt_str(s.started_at.as_ref());
        self.opt_str(s.completed_at.as_ref());
        self.opt(s.started.as_ref(), |e, t| e.i64(t.0));
        self.opt(s.completed.as_ref(), |e, t| e.i64(t.0));
        self.u64(s.event_count);
        self.i64(s.total_input_tokens);
        self.i64(s.total_output_tokens);
        self.i64(s.total_tokens);
        self.f64(s.total_cost_usd);
        self.u64(s.error_count);
        self.opt(s.duration_ms.as_ref(), |e, d| e.f64(*d));
        self.opt_str(s.first_event_at.as_ref());
        self.opt_str(s.last_event_at.as_ref());
        self.bool(s.has_session_row);
        self.len(s.warnings.len());
        for w in &s.warnings {
            self.str(w);
        }
    }
    /// Appends this as one part: its length, its checksum, its bytes.
    pub(super) fn part_of(out: &mut Vec<u8>, part: &Enc) {
        out.extend_from_slice(&(part.0.len() as u64).to_le_bytes());
        out.extend_from_slice(&checksum(&part.0).to_le_bytes());
        out.extend_from_slice(&part.0);
    }
}

// ---- decoding -----------------------------------------------------------------------------

pub(super) struct Dec<'a>(pub(super) &'a [u8]);

impl<'a> Dec<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Some(u64::from_le_bytes(w))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Some(u32::from_le_bytes(w))
    }
    pub(super) fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }
    pub(super) fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    pub(super) fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    /// A count of items each at least `min` bytes long: never more than the bytes left allow.
    pub(super) fn len(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(min.max(1))? <= self.0.len()).then_some(n)
    }
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    pub(super) fn str(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }
    pub(super) fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.bool()? { f(self).map(Some) } else { Some(None) }
    }
    pub(super) fn opt_str(&mut self) -> Option<Option<String>> {
        self.opt(Dec::str)
    }
    pub(super) fn sum(&mut self) -> Option<SqlSum> {
        Some(SqlSum { r_sum: self.f64()?, r_err: self.f64()?, i_sum: self.i64()?, approx: self.bool()? })
    }
    pub(super) fn end(&mut self) -> Option<Option<(i64, Vec<u8>)>> {
        self.opt(|d| Some((d.i64()?, d.bytes()?.to_vec())))
    }
    pub(super) fn table(&mut self) -> Option<TableMark> {
        Some(TableMark { count: self.u64()?, first: self.end()?, last: self.end()? })
    }
    pub(super) fn warning(&mut self) -> Option<Warning> {
        Some(Warning { trace_id: self.opt_str()?, message: self.str()? })
    }
    pub(super) fn row(&mut self) -> Option<SessionRow> {
        let mut s = SessionRow {
            id: self.str()?,
            task: self.str()?,
            status: self.str()?,
            started_at: self.opt_str()?,
            completed_at: self.opt_str()?,
            started: self.opt(Dec::i64)?.map(Timestamp),
            completed: self.opt(Dec::i64)?.map(Timestamp),
            event_count: self.u64()?,
            total_input_tokens: self.i64()?,
            total_output_tokens: self.i64()?,
            total_tokens: self.i64()?,
            total_cost_usd: self.f64()?,
            error_count: self.u64()?,
            duration_ms: self.opt(Dec::f64)?,
            first_event_at: self.opt_str()?,
            last_event_at: self.opt_str()?,
            has_session_row: self.bool()?,
            warnings: Vec::new(),
        };
        let n = self.len(8)?;
        s.warnings = (0..n).map(|_| self.str()).collect::<Option<_>>()?;
        Some(s)
    }
}
