//! One printable, reversible form for the ids a file holds (session and trace ids).
//!
//! Ids are keys: whatever the CLI or the app prints for one must find the same row when it is
//! given back. Most ids are plain text and print as they are. The rest get a form that names
//! every byte and holds nothing a terminal would obey:
//!
//! - a blob id prints as `x'HEX'` (upper-case hex of its bytes);
//! - in a text id, a backslash prints as `\\`, a control character or a byte that is not
//!   UTF-8 as `\xNN`, and an invisible format character (C1 controls, bidi controls, zero
//!   widths, line and paragraph separators) as `\uXXXX`; a text id that would read as a blob
//!   id starts with `\x78` (the `x`).
//!
//! [`parse`] reads that form back to the stored value. Anything typed that is not an escape
//! (a lone backslash, say) stands for itself, so plain ids never need quoting.

use std::fmt::Write as _;

/// The stored value an id's printed form stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredId {
    /// A text value, as its bytes (which need not be valid UTF-8).
    Text(Vec<u8>),
    /// A blob value.
    Blob(Vec<u8>),
}

/// True for characters an id shows escaped: controls and the invisible format characters
/// that reorder or hide text.
#[must_use]
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// True when a text id prints as it is.
#[must_use]
pub fn is_plain(text: &str) -> bool {
    !text.contains(|c: char| c == '\\' || is_hidden_char(c)) && !is_blob_form(text)
}

/// The printed form of a text id stored as `bytes`.
#[must_use]
pub fn text_id(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes)
        && is_plain(s)
    {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes;
    let mut first = std::str::from_utf8(bytes).is_ok_and(is_blob_form);
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (ok, after) = rest.split_at(e.valid_up_to());
                // `valid_up_to` ends on a character boundary.
                (std::str::from_utf8(ok).unwrap_or_default(), after)
            }
        };
        for c in valid.chars() {
            if first {
                // A text id that would otherwise read as a blob id.
                out.push_str("\\x78");
            } else if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_ascii_control() {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            } else if is_hidden_char(c) {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            } else {
                out.push(c);
            }
            first = false;
        }
        match bad.split_first() {
            Some((b, after)) => {
                let _ = write!(out, "\\x{b:02x}");
                first = false;
                rest = after;
            }
            None => rest = &[],
        }
    }
    out
}

/// The printed form of a blob id.
#[must_use]
pub fn blob_id(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 3);
    out.push_str("x'");
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out.push('\'');
    out
}

/// `x'` then hex digits (any case) then `'`.
fn is_blob_form(s: &str) -> bool {
    s.len() >= 3
        && s.starts_with("x'")
        && s.ends_with('\'')
        && (s.len() - 3).is_multiple_of(2)
        && s[2..s.len() - 1].bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The stored value a printed (or typed) id stands for.
#[must_use]
pub fn parse(id: &str) -> StoredId {
    if is_blob_form(id) {
        let hex = &id.as_bytes()[2..id.len() - 1];
        let bytes = hex.chunks(2).filter_map(|p| Some(hex_value(p[0])? << 4 | hex_value(*p.get(1)?)?)).collect();
        return StoredId::Blob(bytes);
    }
    if !id.contains('\\') {
        return StoredId::Text(id.as_bytes().to_vec());
    }
    let bytes = id.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some((value, used)) = escape_at(&bytes[i + 1..])
        {
            match value {
                Escaped::Byte(b) => out.push(b),
                Escaped::Char(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
            i += 1 + used;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    StoredId::Text(out)
}

enum Escaped {
    Byte(u8),
    Char(char),
}

/// The escape that follows a backslash, and how many bytes it took.
fn escape_at(after: &[u8]) -> Option<(Escaped, usize)> {
    match after.first()? {
        b'\\' => Some((Escaped::Byte(b'\\'), 1)),
        b'x' => {
            let hi = hex_value(*after.get(1)?)?;
            let lo = hex_value(*after.get(2)?)?;
            Some((Escaped::Byte(hi << 4 | lo), 3))
        }
        b'u' => {
            let digits = after.get(1..5)?;
            let mut code = 0u32;
            for &d in digits {
                code = code << 4 | u32::from(hex_value(d)?);
            }
            Some((Escaped::Char(char::from_u32(code)?), 5))
        }
        _ => None,
    }
}

/// How the lists show a session id: the NULL session (traces without a session id, listed
/// under the empty id) has a name of its own.
#[must_use]
pub fn shown(id: &str) -> &str {
    if id.is_empty() { "(no session id)" } else { id }
}

/// What an id or a prefix of one, as a user gives it, picks among ids as printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick<'a> {
    One(&'a str),
    Nothing,
    /// This many ids start with it.
    Many(usize),
}

/// The one rule for finding an id from what a user typed: the id itself; else the printed
/// ids it starts; else, when it starts none, the ids whose stored text starts with what it
/// stands for (a backslash typed as itself, say).
#[must_use]
pub fn pick<'a>(candidates: &[&'a str], query: &str) -> Pick<'a> {
    if let Some(&exact) = candidates.iter().find(|c| **c == query) {
        return Pick::One(exact);
    }
    let mut found: Vec<&str> = candidates.iter().copied().filter(|c| c.starts_with(query)).collect();
    if found.is_empty()
        && let StoredId::Text(prefix) = parse(query)
    {
        found = candidates
            .iter()
            .copied()
            .filter(|c| matches!(parse(c), StoredId::Text(bytes) if bytes.starts_with(&prefix)))
            .collect();
    }
    match found.as_slice() {
        [] => Pick::Nothing,
        [one] => Pick::One(one),
        many => Pick::Many(many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) {
        let printed = text_id(bytes);
        assert!(!printed.contains(is_hidden_char), "{printed:?} shows hidden characters");
        assert_eq!(parse(&printed), StoredId::Text(bytes.to_vec()), "{printed:?} reads back");
    }

    #[test]
    fn plain_ids_print_as_they_are() {
        for id in ["29e3a9fd-1c2b", "t00000001", "任务-1", "a b", "x'zz'", "x'", "🙂"] {
            assert_eq!(text_id(id.as_bytes()), id);
            assert_eq!(parse(id), StoredId::Text(id.as_bytes().to_vec()));
        }
    }

    #[test]
    fn odd_text_ids_print_escaped_and_read_back() {
        assert_eq!(text_id(b"a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(text_id("r\u{202e}l".as_bytes()), "r\\u202el");
        assert_eq!(text_id(b"a\\b"), "a\\\\b");
        assert_eq!(text_id(b"bad\xffutf"), "bad\\xffutf");
        assert_eq!(text_id("c1\u{85}".as_bytes()), "c1\\u0085");
        assert_eq!(text_id(b"x'74'"), "\\x78'74'");
        for bytes in [&b"a\x1b]0;title\x07b"[..], b"\r\n\0", b"\xff\xfe", b"x'74'", b"\\x41", b"\xe4\xbd", b"\\"] {
            round_trip(bytes);
        }
    }

    #[test]
    fn random_bytes_round_trip() {
        // A small LCG: the same cases every run.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        };
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len % 24).map(|_| next()).collect();
            round_trip(&bytes);
        }
    }

    #[test]
    fn blob_ids_read_back_as_blobs() {
        assert_eq!(blob_id(b"t\x00"), "x'7400'");
        assert_eq!(parse("x'7400'"), StoredId::Blob(vec![0x74, 0]));
        assert_eq!(parse("x'ab'"), StoredId::Blob(vec![0xab]));
        // Odd digit counts are not blob forms.
        assert_eq!(parse("x'abc'"), StoredId::Text(b"x'abc'".to_vec()));
    }

    #[test]
    fn picking_an_id_from_what_was_typed() {
        let ids = ["abc-1", "abc-2", "x'74'", "\\x78'74'", "C:\\\\runs\\\\5", "a\\xff1"];
        assert_eq!(pick(&ids, "abc-1"), Pick::One("abc-1"));
        assert_eq!(pick(&ids, "abc"), Pick::Many(2));
        assert_eq!(pick(&ids, "x'7"), Pick::One("x'74'"), "the printed prefix wins");
        assert_eq!(pick(&ids, "C:\\runs"), Pick::One("C:\\\\runs\\\\5"), "typed as stored");
        assert_eq!(pick(&ids, "a\\xff"), Pick::One("a\\xff1"));
        assert_eq!(pick(&ids, "zzz"), Pick::Nothing);
        assert_eq!(pick(&ids, ""), Pick::Many(ids.len()));
    }

    #[test]
    fn typed_backslashes_that_are_no_escape_stand_for_themselves() {
        assert_eq!(parse("C:\\temp"), StoredId::Text(b"C:\\temp".to_vec()));
        assert_eq!(parse("a\\xZZ"), StoredId::Text(b"a\\xZZ".to_vec()));
        assert_eq!(parse("end\\"), StoredId::Text(b"end\\".to_vec()));
    }
}
