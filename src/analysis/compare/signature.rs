//! What a span does, the same in two runs of the same work: its signature, and
//! [`normalize_label`], which takes the run-specific parts out of a label.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::analysis::tools::tool_call;
use crate::analysis::{AnalyzedSession, Span, SpanKind};
use crate::hash::IdHashBuilder;
use crate::model::TraceEvent;

/// Text of a label that differs between runs of the same work, replaced: a UUID by `<uuid>`, a
/// date or time by `<date>`, a hex id (8 or more hex digits with a letter and a digit, or `0x…`)
/// by `<hex>`, any other run of digits by `#`; white space collapses to one space.
#[must_use]
pub fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let bytes = label.as_bytes();
    let mut i = 0;
    let mut space = false;
    while i < bytes.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            if at_word_start {
                if let Some(n) = uuid_len(&bytes[i..]) {
                    out.push_str("<uuid>");
                    i += n;
                    continue;
                }
                if let Some(n) = date_len(&bytes[i..]) {
                    out.push_str("<date>");
                    i += n;
                    continue;
                }
                let word = bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
                if is_hex_id(&bytes[i..i + word]) {
                    out.push_str("<hex>");
                    i += word;
                    continue;
                }
            }
            if b.is_ascii_digit() {
                out.push('#');
                i += bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            } else {
                out.push(char::from(b));
                i += 1;
            }
            continue;
        }
        // A character that is not an ASCII letter or digit: copied whole (UTF-8 intact).
        let len = label[i..].chars().next().map_or(1, char::len_utf8);
        let text = &label[i..i + len];
        if text.chars().all(char::is_whitespace) {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push_str(text);
        }
        i += len;
    }
    out
}

/// `8-4-4-4-12` hex digits not followed by a letter or digit.
fn uuid_len(b: &[u8]) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut i = 0;
    for (g, len) in groups.iter().enumerate() {
        if g > 0 {
            (b.get(i) == Some(&b'-')).then_some(())?;
            i += 1;
        }
        b.get(i..i + len)?.iter().all(u8::is_ascii_hexdigit).then_some(())?;
        i += len;
    }
    word_ends(b, i)
}

/// `YYYY-MM-DD`, optionally with a time (`T` or a space, `hh:mm`, `:ss`, a fraction, `Z` or an
/// offset); or a time alone (`hh:mm:ss`, a fraction).
fn date_len(b: &[u8]) -> Option<usize> {
    let digits = |at: usize, n: usize| b.get(at..at + n).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let time_at = |at: usize| -> Option<usize> {
        // hh:mm[:ss[.fff]]
        (digits(at, 2) && b.get(at + 2) == Some(&b':') && digits(at + 3, 2)).then_some(())?;
        let mut i = at + 5;
        if b.get(i) == Some(&b':') && digits(i + 1, 2) {
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) && digits(i + 1, 1) {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
        }
        Some(i)
    };
    if digits(0, 4) && b.get(4) == Some(&b'-') && digits(5, 2) && b.get(7) == Some(&b'-') && digits(8, 2) {
        let mut i = 10;
        if matches!(b.get(i), Some(b'T' | b't' | b' ' | b'_'))
            && let Some(end) = time_at(i + 1)
        {
            i = end;
            match b.get(i) {
                Some(b'Z' | b'z') => i += 1,
                Some(b'+' | b'-') if digits(i + 1, 2) => {
                    i += 3;
                    if b.get(i) == Some(&b':') && digits(i + 1, 2) {
                        i += 3;
                    } else if digits(i, 2) {
                        i += 2;
                    }
                }
                _ => {}
            }
        }
        return word_ends(b, i).or(Some(10).filter(|_| word_ends(b, 10).is_some()));
    }
    // A time alone needs seconds: `12:30` may be a ratio or a score.
    let end = time_at(0)?;
    (end >= 8).then_some(())?;
    word_ends(b, end)
}

/// `Some(len)` when no letter or digit follows `len` bytes.
fn word_ends(b: &[u8], len: usize) -> Option<usize> {
    (!b.get(len).is_some_and(u8::is_ascii_alphanumeric)).then_some(len)
}

/// A word of hex digits that reads as an id: `0x` and hex digits, or 8 or more hex digits with
/// at least one letter and one digit (so `deadbeef` and `2024` stay words and numbers).
fn is_hex_id(word: &[u8]) -> bool {
    if let Some(rest) = word.strip_prefix(b"0x").or_else(|| word.strip_prefix(b"0X")) {
        return !rest.is_empty() && rest.iter().all(u8::is_ascii_hexdigit);
    }
    word.len() >= 8
        && word.iter().all(u8::is_ascii_hexdigit)
        && word.iter().any(u8::is_ascii_digit)
        && word.iter().any(u8::is_ascii_alphabetic)
}

/// The signature of a span as text, into `out` (cleared): what the span does, the same in two
/// runs of the same work. Returns the kind it is keyed under with the text.
fn write_signature(span: &Span, events: &[TraceEvent], out: &mut String) {
    out.clear();
    let event_type = events.get(span.event).map_or("", |e| &*e.kind);
    match span.kind {
        SpanKind::Session => out.push_str("session"),
        SpanKind::Tool => {
            out.push_str("tool ");
            out.push_str(tool_call(span, events).unwrap_or_default());
        }
        SpanKind::Llm => {
            out.push_str("llm ");
            match span.model(events) {
                Some(model) => out.push_str(model),
                None => out.push_str(&normalize_label(span.label(events))),
            }
        }
        SpanKind::Step => {
            out.push_str("step ");
            out.push_str(&normalize_label(span.label(events)));
        }
        SpanKind::Error | SpanKind::Other => {
            out.push_str(if event_type.is_empty() { "(no type)" } else { event_type });
            let label = normalize_label(span.label(events));
            if !label.is_empty() {
                out.push(' ');
                out.push_str(&label);
            }
        }
    }
}

/// Signatures interned to small numbers shared by both runs.
#[derive(Default)]
pub(super) struct Interner {
    by_key: HashMap<String, u32, IdHashBuilder>,
    /// The signature texts, by number.
    pub(super) texts: Vec<String>,
}

impl Interner {
    /// The number of each span's signature.
    pub(super) fn signatures(&mut self, session: &AnalyzedSession) -> Vec<u32> {
        let mut text = String::new();
        let mut key = String::new();
        let events = &session.data.events;
        session
            .timeline
            .spans
            .iter()
            .map(|span| {
                write_signature(span, events, &mut text);
                // Keyed by kind too: an event type named like a kind stays apart from it.
                key.clear();
                let _ = write!(key, "{}\0{text}", span.kind.name());
                if let Some(&n) = self.by_key.get(key.as_str()) {
                    return n;
                }
                let n = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
                self.by_key.insert(key.clone(), n);
                self.texts.push(text.clone());
                n
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_label;

    #[test]
    fn labels_lose_what_differs_between_runs() {
        assert_eq!(normalize_label("s12: fetch  page 3 of 10"), "s#: fetch page # of #");
        assert_eq!(normalize_label("job 29e3a9fd-1c2b-4d5e-8f90-0123456789ab done"), "job <uuid> done");
        assert_eq!(normalize_label("at 2026-11-20T09:00:12.345Z, retry"), "at <date>, retry");
        assert_eq!(normalize_label("on 2026-11-20 12:30:01+02:00"), "on <date>");
        assert_eq!(normalize_label("day 2026-11-20"), "day <date>");
        assert_eq!(normalize_label("at 09:15:02.5 sharp"), "at <date> sharp");
        assert_eq!(normalize_label("score 12:30"), "score #:#", "a time needs its seconds");
        assert_eq!(normalize_label("commit 3f9a2b7c1d and 0xFF"), "commit <hex> and <hex>");
        assert_eq!(normalize_label("deadbeef cafe 12345678"), "deadbeef cafe #", "all letters or all digits stay");
        assert_eq!(normalize_label("gpt-4o v2.5"), "gpt-#o v#.#");
        assert_eq!(normalize_label("  naïve 日本語\ttext\n"), "naïve 日本語 text");
        assert_eq!(normalize_label("x29e3a9fd"), "x#e#a#fd", "not at a word start");
        assert_eq!(normalize_label(""), "");
        assert_eq!(normalize_label("2026-13"), "#-#");
    }
}
