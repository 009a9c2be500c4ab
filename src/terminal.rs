//! Terminal-safe text: control, C1 and bidi characters from a file shown as visible escapes.
//!
//! Nothing read from a trace database may act on the terminal that shows it: an ESC sequence
//! could retitle or clear it, a CR overwrite the line, a bidi override reorder what follows.
//! Such characters are written as `\x1b`, `\r`, `\u0085`, `\u202e`; everything else, the
//! backslash included, passes unchanged (so an id another layer already escaped stays
//! readable). [`TerminalWriter`] applies the rule to a whole output stream, [`visible`] and
//! [`one_line`] to one value.

use std::borrow::Cow;
use std::io;

/// What happens to line breaks and tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// `\n` and `\t` stay as they are: multi-line text such as a raw input in `show`.
    Keep,
    /// `\n`, `\r` and `\t` are escaped too: a table cell, a `warning:` or `error:` line.
    Escape,
}

/// How a [`TerminalWriter`] escapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Human text: `\x1b`, `\r`, `\u202e`; an invalid UTF-8 byte as `\xNN`.
    Text,
    /// A JSON document: every escaped character as `\uXXXX`, which JSON reads back as the same
    /// character, so the parsed strings stay exact. serde_json already escapes C0 controls
    /// inside strings; C1, DEL, bidi controls and U+2028/U+2029 it leaves raw.
    Json,
}

/// True when `c` must not reach a terminal as it is.
///
/// C0 controls (but `\n` and `\t` with [`Lines::Keep`]), DEL, C1 controls (U+0080–U+009F),
/// the bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
/// paragraph separators U+2028 and U+2029.
#[must_use]
pub fn is_hidden(c: char, lines: Lines) -> bool {
    match c {
        '\n' | '\t' => lines == Lines::Escape,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// True when the byte at `i` starts a hidden character (see [`is_hidden`]).
///
/// Only a C0/DEL byte or the lead bytes 0xC2, 0xD8 and 0xE2 can start one.
fn hidden_at(bytes: &[u8], i: usize, lines: Lines) -> bool {
    match bytes.get(i) {
        None | Some(0x20..=0x7e) => false,
        Some(b'\n' | b'\t') => lines == Lines::Escape,
        Some(0x00..=0x1f | 0x7f) => true,
        // C1: U+0080–U+009F is C2 80–C2 9F.
        Some(0xc2) => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        // U+061C is D8 9C.
        Some(0xd8) => bytes.get(i + 1) == Some(&0x9c),
        // U+200E/F are E2 80 8E/8F, U+2028–U+202E are E2 80 A8–AE, U+2066–U+2069 are E2 81 A6–A9.
        Some(0xe2) => matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0x80), Some(0x8e | 0x8f | 0xa8..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        Some(_) => false,
    }
}

/// True when some byte of `word` is below 0x20, is DEL or is 0x80 or above: only such a word
/// needs a look byte by byte. Both tests are exact (see "Bit Twiddling Hacks", `hasless`).
fn word_needs_a_look(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let del_or_high = (word.wrapping_add(ONES) | word) & HIGH;
    (below_space | del_or_high) != 0
}

/// The byte offset and character of the first hidden character of `s` at or after `from`.
///
/// Plain ASCII goes eight bytes at a time; a word with a line break, a control or non-ASCII
/// text is looked at byte by byte.
fn next_hidden(s: &str, from: usize, lines: Lines) -> Option<(usize, char)> {
    let bytes = s.as_bytes();
    let mut i = from;
    let found = loop {
        let word = bytes.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map(u64::from_le_bytes);
        let end = match word {
            Some(w) if !word_needs_a_look(w) => {
                i += 8;
                continue;
            }
            Some(_) => i + 8,
            None => bytes.len(),
        };
        if let Some(at) = (i..end).find(|&k| hidden_at(bytes, k, lines)) {
            break at;
        }
        if end == bytes.len() {
            return None;
        }
        i = end;
    };
    // `found` is at a character boundary: an ASCII byte or a lead byte.
    s.get(found..).and_then(|rest| rest.chars().next()).map(|c| (found, c))
}

/// An escape, built on the stack: at most six bytes (`\u202e`).
struct Escaped {
    bytes: [u8; 6],
    len: usize,
}

impl Escaped {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// `\` + `prefix` + `value` in `digits` lowercase hex digits.
    fn hex(prefix: u8, value: u32, digits: usize) -> Escaped {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = [b'\\', prefix, 0, 0, 0, 0];
        for (k, slot) in bytes.iter_mut().skip(2).take(digits).enumerate() {
            let shift = 4 * (digits - 1 - k);
            *slot = HEX[((value >> shift) & 0xf) as usize];
        }
        Escaped { bytes, len: 2 + digits }
    }

    fn char(c: char, mode: Mode) -> Escaped {
        let named = |b: u8| Escaped { bytes: [b'\\', b, 0, 0, 0, 0], len: 2 };
        match (mode, c) {
            (Mode::Text, '\n') => named(b'n'),
            (Mode::Text, '\r') => named(b'r'),
            (Mode::Text, '\t') => named(b't'),
            (Mode::Text, c) if c.is_ascii() => Escaped::hex(b'x', u32::from(c), 2),
            // Every hidden character is in the Basic Multilingual Plane: four digits suffice.
            _ => Escaped::hex(b'u', u32::from(c), 4),
        }
    }

    /// A byte that is not part of valid UTF-8.
    fn invalid_byte(byte: u8, mode: Mode) -> Escaped {
        match mode {
            Mode::Text => Escaped::hex(b'x', u32::from(byte), 2),
            // Only inside a string could it appear; U+FFFD keeps the document valid JSON.
            Mode::Json => Escaped::hex(b'u', 0xfffd, 4),
        }
    }
}

/// Appends `text` to `out` with every hidden character (see [`is_hidden`]) escaped.
pub fn escape_into(text: &str, out: &mut String, lines: Lines) {
    let mut start = 0;
    while let Some((i, c)) = next_hidden(text, start, lines) {
        out.push_str(text.get(start..i).unwrap_or_default());
        out.push_str(Escaped::char(c, Mode::Text).as_str());
        start = i + c.len_utf8();
    }
    out.push_str(text.get(start..).unwrap_or_default());
}

/// Appends the escape of one hidden character (`\x1b`, `\r`, `\u202e`) to `out`.
pub fn push_escape(c: char, out: &mut String) {
    out.push_str(Escaped::char(c, Mode::Text).as_str());
}

fn escaped(text: &str, lines: Lines) -> Cow<'_, str> {
    if next_hidden(text, 0, lines).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(text, &mut out, lines);
    Cow::Owned(out)
}

/// `text` safe to print, line breaks and tabs kept. Borrowed when nothing needed escaping.
#[must_use]
pub fn visible(text: &str) -> Cow<'_, str> {
    escaped(text, Lines::Keep)
}

/// `text` safe to print on one line: line breaks and tabs escaped too.
#[must_use]
pub fn one_line(text: &str) -> Cow<'_, str> {
    escaped(text, Lines::Escape)
}

/// An [`io::Write`] that escapes hidden characters on their way to `inner`.
///
/// `\n` and `\t` pass (output is multi-line); a UTF-8 sequence split across two writes is
/// joined before it is judged; an invalid byte is shown as `\xNN` ([`Mode::Text`]) or
/// `\ufffd` ([`Mode::Json`]). Runs of safe text go to `inner` in one write each, so plain
/// output costs a scan, not a copy per character. Call [`TerminalWriter::finish`] at the end:
/// it writes a sequence still cut short.
pub struct TerminalWriter<W: io::Write> {
    inner: W,
    mode: Mode,
    /// The start of a UTF-8 sequence whose rest has not been written yet.
    pending: [u8; 4],
    pending_len: usize,
}

impl<W: io::Write> TerminalWriter<W> {
    /// Escapes what is written to `inner` the way `mode` says.
    pub fn new(inner: W, mode: Mode) -> Self {
        Self { inner, mode, pending: [0; 4], pending_len: 0 }
    }

    /// Writes a UTF-8 sequence left incomplete as invalid bytes and returns the inner writer
    /// (not flushed).
    ///
    /// # Errors
    /// When the inner writer fails.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_pending_as_invalid()?;
        Ok(self.inner)
    }

    fn write_pending_as_invalid(&mut self) -> io::Result<()> {
        let pending = self.pending;
        for &b in pending.get(..self.pending_len).unwrap_or_default() {
            self.inner.write_all(Escaped::invalid_byte(b, self.mode).as_bytes())?;
        }
        self.pending_len = 0;
        Ok(())
    }

    fn write_str(&mut self, s: &str) -> io::Result<()> {
        let mut start = 0;
        while let Some((i, c)) = next_hidden(s, start, Lines::Keep) {
            self.inner.write_all(s.as_bytes().get(start..i).unwrap_or_default())?;
            self.inner.write_all(Escaped::char(c, self.mode).as_bytes())?;
            start = i + c.len_utf8();
        }
        self.inner.write_all(s.as_bytes().get(start..).unwrap_or_default())
    }

    /// Completes a pending sequence from the head of `buf`; returns how many bytes of `buf`
    /// it used.
    fn complete_pending(&mut self, buf: &[u8]) -> io::Result<usize> {
        let have = self.pending_len;
        let take = (4 - have).min(buf.len());
        let mut joined = self.pending;
        for (slot, &b) in joined.iter_mut().skip(have).zip(buf.iter().take(take)) {
            *slot = b;
        }
        let joined = joined.get(..have + take).unwrap_or_default();
        let valid = match std::str::from_utf8(joined) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(joined.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
        };
        if let Some(c) = valid.chars().next() {
            // The pending bytes were a proper start, so the first character holds all of them.
            let len = c.len_utf8();
            self.pending_len = 0;
            self.write_str(valid.get(..len).unwrap_or_default())?;
            return Ok(len.saturating_sub(have));
        }
        if take == buf.len() && is_truncated(joined) {
            // Still cut short: wait for more.
            self.pending_len = joined.len();
            for (slot, &b) in self.pending.iter_mut().zip(joined) {
                *slot = b;
            }
            return Ok(buf.len());
        }
        self.write_pending_as_invalid()?;
        Ok(0)
    }

    fn write_bytes(&mut self, mut buf: &[u8]) -> io::Result<()> {
        if self.pending_len > 0 {
            let used = self.complete_pending(buf)?;
            buf = buf.get(used..).unwrap_or_default();
        }
        // Valid UTF-8 is the rule: one fast check, then the scan.
        if let Ok(s) = std::str::from_utf8(buf) {
            return self.write_str(s);
        }
        let mut chunks = buf.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            self.write_str(chunk.valid())?;
            let invalid = chunk.invalid();
            if chunks.peek().is_none() && !invalid.is_empty() && is_truncated(invalid) {
                // The start of a character whose rest comes with the next write.
                self.pending_len = invalid.len();
                for (slot, &b) in self.pending.iter_mut().zip(invalid) {
                    *slot = b;
                }
            } else {
                for &b in invalid {
                    self.inner.write_all(Escaped::invalid_byte(b, self.mode).as_bytes())?;
                }
            }
        }
        Ok(())
    }
}

/// True when `bytes` is the proper start of a UTF-8 sequence that is cut short.
fn is_truncated(bytes: &[u8]) -> bool {
    matches!(std::str::from_utf8(bytes), Err(e) if e.valid_up_to() == 0 && e.error_len().is_none())
}

impl<W: io::Write> io::Write for TerminalWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_bytes(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        // A pending partial character stays pending: its rest may still come.
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn text_through(writes: &[&[u8]], mode: Mode) -> String {
        let mut w = TerminalWriter::new(Vec::new(), mode);
        for chunk in writes {
            w.write_all(chunk).expect("write to a Vec");
        }
        String::from_utf8(w.finish().expect("finish")).expect("the escaped output is UTF-8")
    }

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        for text in ["", "plain ascii", "naïve 日本語 — ok", "tab\tand\nnewline", "back\\slash \\x1b"] {
            assert!(matches!(visible(text), Cow::Borrowed(_)), "{text:?}");
            assert_eq!(text_through(&[text.as_bytes()], Mode::Text), text);
            assert_eq!(text_through(&[text.as_bytes()], Mode::Json), text);
        }
        assert!(matches!(one_line("no breaks here"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_bidi_and_separators_are_escaped() {
        assert_eq!(visible("\x1b]0;title\x07x"), "\\x1b]0;title\\x07x");
        assert_eq!(visible("\x1b[2J"), "\\x1b[2J");
        assert_eq!(visible("over\rwrite"), "over\\rwrite");
        assert_eq!(visible("nul\0 del\x7f"), "nul\\x00 del\\x7f");
        assert_eq!(visible("c1 \u{85} \u{9b}31m"), "c1 \\u0085 \\u009b31m");
        assert_eq!(visible("abc\u{202e}fed\u{2066}\u{2069}"), "abc\\u202efed\\u2066\\u2069");
        assert_eq!(visible("\u{061c}\u{200e}\u{200f}\u{2028}\u{2029}"), "\\u061c\\u200e\\u200f\\u2028\\u2029");
        assert_eq!(visible("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(one_line("two\nlines\tand\r\n"), "two\\nlines\\tand\\r\\n");
        // Neighbours of the escaped ranges pass.
        assert_eq!(
            visible("\u{a0}\u{200d}\u{2027}\u{202f}\u{2065}\u{206a}\u{061b}"),
            "\u{a0}\u{200d}\u{2027}\u{202f}\u{2065}\u{206a}\u{061b}"
        );
    }

    #[test]
    fn is_hidden_agrees_with_the_byte_scanner() {
        for cp in 0..=0x3000u32 {
            let Some(c) = char::from_u32(cp) else { continue };
            for lines in [Lines::Keep, Lines::Escape] {
                let s = format!("a{c}b");
                assert_eq!(next_hidden(&s, 0, lines).is_some(), is_hidden(c, lines), "U+{cp:04X} {lines:?}");
            }
        }
    }

    #[test]
    fn the_word_check_misses_nothing() {
        for b in 0..=255u8 {
            let look = !(0x20..=0x7e).contains(&b);
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = b;
                assert_eq!(word_needs_a_look(u64::from_le_bytes(word)), look, "byte {b:#04x} at {at}");
            }
        }
        // A hidden character across a word boundary, and at the very end.
        let s = format!("{}\u{202e}{}\u{1b}", "x".repeat(7), "y".repeat(13));
        assert_eq!(next_hidden(&s, 0, Lines::Keep), Some((7, '\u{202e}')));
        assert_eq!(next_hidden(&s, 10, Lines::Keep), Some((23, '\u{1b}')));
    }

    #[test]
    fn json_mode_keeps_the_exact_string() {
        let original = "t\u{1b}]0;x\u{7}\r\0\u{85}\u{202e}\u{2028}\u{7f}\n";
        let mut json = Vec::new();
        serde_json::to_writer(TerminalWriter::new(&mut json, Mode::Json), &original).expect("serialize");
        let json = String::from_utf8(json).expect("utf-8");
        assert!(json.contains("\\u0085") && json.contains("\\u202e") && json.contains("\\u007f"), "{json}");
        assert!(!json.chars().any(|c| is_hidden(c, Lines::Escape)), "{json:?}");
        let back: String = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, original);
    }

    #[test]
    fn utf8_split_across_writes_is_joined() {
        let text = "é日\u{202e}😀\u{85}z";
        let bytes = text.as_bytes();
        let want = "é日\\u202e😀\\u0085z";
        // Every split into two writes, and one byte a write.
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(text_through(&[a, b], Mode::Text), want, "cut at {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(text_through(&singles, Mode::Text), want);
        // Three writes for one four-byte character.
        let smile = "😀".as_bytes();
        assert_eq!(text_through(&[&smile[..1], &smile[1..2], &smile[2..]], Mode::Text), "😀");
    }

    #[test]
    fn invalid_bytes_are_shown_as_hex() {
        assert_eq!(text_through(&[b"a\xffb\x80c"], Mode::Text), "a\\xffb\\x80c");
        // A lead byte followed by a non-continuation, in one write and split.
        assert_eq!(text_through(&[b"x\xe2\x80y"], Mode::Text), "x\\xe2\\x80y");
        assert_eq!(text_through(&[b"x\xe2", b"\x80y"], Mode::Text), "x\\xe2\\x80y");
        assert_eq!(text_through(&[b"x\xe2", b"\x80", b"y"], Mode::Text), "x\\xe2\\x80y");
        // Cut short at the very end.
        assert_eq!(text_through(&[b"end\xf0\x9f"], Mode::Text), "end\\xf0\\x9f");
        assert_eq!(text_through(&[b"a\xff"], Mode::Json), "a\\ufffd");
    }

    #[test]
    fn long_plain_runs_go_out_in_one_write() {
        struct Counting(Vec<usize>);
        impl io::Write for Counting {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.push(buf.len());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let plain = "x".repeat(100_000);
        let mut w = TerminalWriter::new(Counting(Vec::new()), Mode::Text);
        w.write_all(plain.as_bytes()).expect("write");
        w.write_all(b"a\x1bb").expect("write");
        let Counting(writes) = w.finish().expect("finish");
        assert_eq!(writes, [100_000, 1, 4, 1]);
    }
}
