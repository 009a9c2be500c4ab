//! The rows of the merged tree as they are placed: a pair with its Δs and status, or a
//! one-sided span with its whole subtree.

use super::{CompareOptions, NONE, Row, Status};
use crate::analysis::{AnalyzedSession, Span};

/// Differences of durations below this are rounding (a nanosecond, finer than any timestamp).
const ROUNDING_MS: f64 = 1e-6;

/// The duration of a span, `None` without a readable time.
fn duration(span: &Span) -> Option<f64> {
    span.timed.then(|| span.duration_ms())
}

fn minus(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.zip(b).map(|(a, b)| b.saturating_sub(a))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    A,
    B,
}

/// Rows as they are placed.
pub(super) struct Builder<'s> {
    pub(super) options: &'s CompareOptions,
    pub(super) a: &'s AnalyzedSession,
    pub(super) b: &'s AnalyzedSession,
    pub(super) sig_a: &'s [u32],
    pub(super) sig_b: &'s [u32],
    pub(super) rows: Vec<Row>,
    pub(super) row_of_a: Vec<usize>,
    pub(super) row_of_b: Vec<usize>,
}

impl Builder<'_> {
    pub(super) fn placed(&self, side: Side) -> &[usize] {
        match side {
            Side::A => &self.row_of_a,
            Side::B => &self.row_of_b,
        }
    }

    pub(super) fn pair(&mut self, i: usize, j: usize, parent: Option<usize>, depth: u32) -> usize {
        let (sa, sb) = (&self.a.timeline.spans[i], &self.b.timeline.spans[j]);
        let (ea, eb) = (&self.a.data.events, &self.b.data.events);
        let (a_ms, b_ms) = (duration(sa), duration(sb));
        // Times count from each run's own origin: equal durations can differ in the last bits.
        let delta_ms = a_ms.zip(b_ms).map(|(x, y)| if (y - x).abs() < ROUNDING_MS { 0.0 } else { y - x });
        let status = match (a_ms, delta_ms) {
            (Some(base), Some(d)) if d.abs() >= self.options.min_ms && d.abs() >= self.options.min_ratio * base => {
                if d > 0.0 { Status::Slower } else { Status::Faster }
            }
            _ => Status::Same,
        };
        let (ta, tb) = (sa.tokens(ea), sb.tokens(eb));
        let row = self.rows.len();
        self.rows.push(Row {
            a: Some(i),
            b: Some(j),
            status,
            signature: self.sig_a.get(i).map_or(0, |&s| s as usize),
            parent,
            depth,
            subtree_end: row + 1,
            a_ms,
            b_ms,
            delta_ms,
            delta_input_tokens: minus(ta.map(|t| t.0), tb.map(|t| t.0)),
            delta_output_tokens: minus(ta.map(|t| t.1), tb.map(|t| t.1)),
            delta_cost_usd: sa.cost_usd(ea).zip(sb.cost_usd(eb)).map(|(x, y)| y - x),
        });
        self.row_of_a[i] = row;
        self.row_of_b[j] = row;
        row
    }

    /// Places span `top` of one run and its whole subtree as one-sided rows.
    pub(super) fn one_sided(&mut self, side: Side, top: usize, parent: Option<usize>, depth: u32) {
        let session = match side {
            Side::A => self.a,
            Side::B => self.b,
        };
        let spans = &session.timeline.spans;
        let events = &session.data.events;
        let Some(top_span) = spans.get(top) else { return };
        let end = top_span.subtree_end().clamp(top + 1, spans.len());
        for k in top..end {
            let placed = match side {
                Side::A => &self.row_of_a,
                Side::B => &self.row_of_b,
            };
            if placed[k] != NONE {
                continue;
            }
            let span = &spans[k];
            // The parent's row when the parent is inside this subtree and placed, else the top's.
            let (row_parent, row_depth) = match span.parent.get().filter(|&p| k > top && p >= top && p < k) {
                Some(p) if placed[p] != NONE => (Some(placed[p]), self.rows[placed[p]].depth.saturating_add(1)),
                _ => (parent, depth),
            };
            let sign = if side == Side::A { -1 } else { 1 };
            let ms = duration(span);
            let tokens = span.tokens(events);
            let row = self.rows.len();
            let (signature, status) = match side {
                Side::A => (self.sig_a.get(k), Status::OnlyA),
                Side::B => (self.sig_b.get(k), Status::OnlyB),
            };
            self.rows.push(Row {
                a: (side == Side::A).then_some(k),
                b: (side == Side::B).then_some(k),
                status,
                signature: signature.map_or(0, |&s| s as usize),
                parent: row_parent,
                depth: row_depth,
                subtree_end: row + 1,
                a_ms: if side == Side::A { ms } else { None },
                b_ms: if side == Side::B { ms } else { None },
                delta_ms: ms.map(|m| f64::from(sign) * m),
                delta_input_tokens: tokens.map(|t| t.0.saturating_mul(i64::from(sign))),
                delta_output_tokens: tokens.map(|t| t.1.saturating_mul(i64::from(sign))),
                delta_cost_usd: span.cost_usd(events).map(|c| f64::from(sign) * c),
            });
            match side {
                Side::A => self.row_of_a[k] = row,
                Side::B => self.row_of_b[k] = row,
            }
        }
    }
}
