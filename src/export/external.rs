//! A session's spans as outside tracers take them (OpenTelemetry, Perfetto): absolute times in
//! nanoseconds, ids that stay the same from one export to the next, and a parent that is
//! exported too. Shared by [`crate::export::otlp`] and [`crate::export::chrome`].
//!
//! A span without a readable time (no timestamp, or before 1970, which OTLP's unsigned
//! nanoseconds cannot hold) is not exported: it is counted, named in one warning per session,
//! and its children hang from its nearest exported ancestor instead.

use std::collections::HashMap;

use crate::analysis::AnalyzedSession;
use crate::model::{IdText, Warning};

/// One exported span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSpan {
    /// Index in [`crate::analysis::Timeline::spans`].
    pub span: usize,
    /// Index of the parent in [`ExternalSpans::spans`] (the nearest exported ancestor).
    pub parent: Option<usize>,
    /// Nanoseconds since the Unix epoch, never negative.
    pub start_ns: i64,
    /// Never before `start_ns`; equal to it for instants.
    pub end_ns: i64,
    /// OpenTelemetry span id: never all zeros.
    pub span_id: [u8; 8],
}

/// The spans of one session ready to export, in tree order (a parent before its children).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalSpans {
    /// OpenTelemetry trace id of the session: never all zeros.
    pub trace_id: [u8; 16],
    pub spans: Vec<ExternalSpan>,
    /// Spans left out for want of a readable time.
    pub skipped: usize,
    /// What the export itself found wrong (the session's own warnings are apart).
    pub warnings: Vec<Warning>,
}

/// Counts of one export, summed over sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub sessions: u64,
    /// Spans written.
    pub spans: u64,
    /// Spans left out (no readable time).
    pub skipped: u64,
    /// Warnings about the sessions exported (reading, tree and export).
    pub warnings: u64,
}

impl ExportStats {
    /// Adds another export's counts.
    pub fn add(&mut self, other: ExportStats) {
        self.sessions += other.sessions;
        self.spans += other.spans;
        self.skipped += other.skipped;
        self.warnings += other.warnings;
    }
}

/// What exporting one session gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub stats: ExportStats,
    /// The export's own warnings (spans left out); the session's are in the session.
    pub warnings: Vec<Warning>,
}

/// The OpenTelemetry trace id of a session: a stable 128-bit hash of its id.
#[must_use]
pub fn trace_id(session_id: &str) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&stable_hash(1, &[session_id.as_bytes()]).to_be_bytes());
    id[8..].copy_from_slice(&stable_hash(2, &[session_id.as_bytes()]).to_be_bytes());
    if id == [0; 16] {
        id[15] = 1;
    }
    id
}

/// The OpenTelemetry span id of a trace: a stable 64-bit hash of the session id, the trace id
/// and, for the second and later traces sharing an id, which one it is.
#[must_use]
pub fn span_id(session_id: &str, trace_id: &str, occurrence: u32) -> [u8; 8] {
    let seen = occurrence.to_be_bytes();
    let parts: &[&[u8]] = if occurrence == 0 {
        &[session_id.as_bytes(), trace_id.as_bytes()]
    } else {
        &[session_id.as_bytes(), trace_id.as_bytes(), &seen]
    };
    let hash = stable_hash(3, parts);
    if hash == 0 { 1u64.to_be_bytes() } else { hash.to_be_bytes() }
}

/// FNV-1a over the parts, each closed by a 0xFF byte (which UTF-8 text never holds, so no two
/// lists of texts hash the same bytes), then the SplitMix64 finalizer to spread the bits. The
/// same on every platform and in every version: ids must survive re-exports.
fn stable_hash(seed: u64, parts: &[&[u8]]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Lower-case hex of `bytes` into `buf` (twice as long), returned as text.
pub fn hex<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    let len = (bytes.len() * 2).min(buf.len());
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// The spans of `session` to export, with ids, absolute times and exported parents.
#[must_use]
pub fn external_spans(session: &AnalyzedSession) -> ExternalSpans {
    let session_id = session.data.row.id.as_str();
    let events = &session.data.events;
    let timeline = &session.timeline;
    let n = timeline.spans.len();
    // For each span, its index among the exported ones, or its nearest exported ancestor's.
    let mut nearest: Vec<Option<usize>> = vec![None; n];
    let mut seen: HashMap<IdText<'_>, u32> = HashMap::with_capacity(n);
    let mut out = ExternalSpans { trace_id: trace_id(session_id), ..ExternalSpans::default() };
    let mut first_skipped: Option<IdText<'_>> = None;
    for (i, span) in timeline.spans.iter().enumerate() {
        let id = events.get(span.event).map_or(IdText::EMPTY, |e| e.id.as_str());
        let occurrence = {
            let count = seen.entry(id).or_insert(0);
            *count += 1;
            *count - 1
        };
        // Spans are in depth-first order, so a parent comes first; a later "parent" (which a
        // well-formed timeline never has) is read as none.
        let parent = span.parent.get().filter(|&p| p < i).and_then(|p| nearest.get(p).copied().flatten());
        let times = timeline.origin.filter(|_| span.timed).and_then(|origin| {
            let start_ns = origin.add_ms(span.start_ms).0;
            let end_ns = if span.instant { start_ns } else { origin.add_ms(span.end_ms).0.max(start_ns) };
            (start_ns >= 0).then_some((start_ns, end_ns))
        });
        let Some((start_ns, end_ns)) = times else {
            out.skipped += 1;
            first_skipped.get_or_insert(id);
            nearest[i] = parent;
            continue;
        };
        nearest[i] = Some(out.spans.len());
        out.spans.push(ExternalSpan {
            span: i,
            parent,
            start_ns,
            end_ns,
            span_id: span_id(session_id, &id, occurrence),
        });
    }
    if let Some(id) = first_skipped {
        let message = match out.skipped {
            1 => "no readable time: not exported".to_owned(),
            n => format!("no readable time: not exported, nor {} other span(s) of the session", n - 1),
        };
        out.warnings.push(Warning::trace(id, message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::sample_session;

    #[test]
    fn ids_are_stable_and_never_zero() {
        let mut buf = [0u8; 32];
        // Fixed values: a change here changes every exported id and duplicates data in backends.
        assert_eq!(hex(&trace_id("session-1"), &mut buf).len(), 32);
        assert_eq!(trace_id("session-1"), trace_id("session-1"));
        assert_ne!(trace_id("session-1"), trace_id("session-2"));
        assert_ne!(span_id("s", "a", 0), span_id("s", "a", 1));
        assert_ne!(span_id("s", "ab", 0), span_id("sa", "b", 0));
        assert_ne!(trace_id(""), [0; 16]);
        assert_ne!(span_id("", "", 0), [0; 8]);
        let mut small = [0u8; 16];
        assert_eq!(hex(&[0x01, 0xab, 0xff], &mut small), "01abff");
    }

    #[test]
    fn untimed_spans_are_skipped_and_children_reparented() {
        let mut session = sample_session();
        // "plan" (1) loses its time: "read_file" (2) hangs from "run" (0) instead.
        session.timeline.spans[1].timed = false;
        let ext = external_spans(&session);
        assert_eq!(ext.skipped, 2, "plan and lost");
        let spans: Vec<usize> = ext.spans.iter().map(|s| s.span).collect();
        assert_eq!(spans, [0, 2, 3, 4]);
        assert_eq!(ext.spans[1].parent, Some(0));
        assert_eq!(ext.spans[0].start_ns, 1_000_000);
        assert_eq!(ext.spans[0].end_ns, 1_000_000 + 10_000 * 1_000_000);
        assert_eq!(ext.spans[3].start_ns, ext.spans[3].end_ns, "instant");
        assert_eq!(ext.warnings.len(), 1);
        assert_eq!(ext.warnings[0].trace_id.as_deref(), Some("e1"));
    }

    #[test]
    fn repeated_trace_ids_get_distinct_span_ids() {
        let mut session = sample_session();
        for e in &mut session.data.events {
            e.id = "same".into();
        }
        let ext = external_spans(&session);
        let mut ids: Vec<[u8; 8]> = ext.spans.iter().map(|s| s.span_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ext.spans.len());
    }
}
