//! A trace id held in 24 bytes and no allocation when it is a UUID in its usual text form.
//!
//! Agents name traces with UUIDs: 36 characters that as a `String` cost 24 bytes plus a
//! 40-byte allocation, twice an event (its id and its parent's). A [`TraceId`] keeps such a
//! text (lower-case hex, dashes at 8-4-4-4-12) as its 16 bytes and writes it back on demand;
//! any other text, upper-case UUIDs included, is kept as it is. Which form an id takes depends
//! only on its text, so two ids are equal exactly when their texts are.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

/// Length of a UUID's text.
const UUID_LEN: usize = 36;

/// Where the dashes of a UUID's text are.
const DASHES: [usize; 4] = [8, 13, 18, 23];

/// A trace id (or parent id) as stored; see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceId(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl TraceId {
    /// The id whose text is `text`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        match uuid_bytes(text) {
            Some(bytes) => TraceId(Repr::Uuid(bytes)),
            None => TraceId(Repr::Text(text.into())),
        }
    }

    /// The id stored as these bytes when they are a UUID's usual text (what [`TraceId::new`]
    /// makes of that text), without reading them as text first; `None` for any other bytes.
    #[must_use]
    pub fn from_uuid_text(bytes: &[u8]) -> Option<Self> {
        uuid_bytes_of(bytes).map(|b| TraceId(Repr::Uuid(b)))
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> IdText<'_> {
        match &self.0 {
            Repr::Uuid(bytes) => IdText::Uuid(uuid_text(bytes)),
            Repr::Text(text) => IdText::Borrowed(text),
        }
    }

    /// True for the empty text.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(&self.0, Repr::Text(t) if t.is_empty())
    }
}

impl Default for TraceId {
    fn default() -> Self {
        TraceId(Repr::Text(Box::default()))
    }
}

impl From<&str> for TraceId {
    fn from(text: &str) -> Self {
        TraceId::new(text)
    }
}

impl From<String> for TraceId {
    fn from(text: String) -> Self {
        match uuid_bytes(&text) {
            Some(bytes) => TraceId(Repr::Uuid(bytes)),
            None => TraceId(Repr::Text(text.into_boxed_str())),
        }
    }
}

impl From<&String> for TraceId {
    fn from(text: &String) -> Self {
        TraceId::new(text)
    }
}

impl PartialEq<str> for TraceId {
    fn eq(&self, other: &str) -> bool {
        match &self.0 {
            Repr::Uuid(bytes) => uuid_bytes(other).is_some_and(|o| o == *bytes),
            Repr::Text(text) => **text == *other,
        }
    }
}

impl PartialEq<&str> for TraceId {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for TraceId {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

impl PartialEq<TraceId> for str {
    fn eq(&self, other: &TraceId) -> bool {
        *other == *self
    }
}

impl PartialEq<TraceId> for &str {
    fn eq(&self, other: &TraceId) -> bool {
        *other == **self
    }
}

impl PartialEq<TraceId> for String {
    fn eq(&self, other: &TraceId) -> bool {
        *other == **self
    }
}

impl Ord for TraceId {
    /// Text order.
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            // Lower-case hex sorts as the nibbles it stands for, and the dashes line up.
            (Repr::Uuid(a), Repr::Uuid(b)) => a.cmp(b),
            _ => (*self.as_str()).cmp(&*other.as_str()),
        }
    }
}

impl PartialOrd for TraceId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.as_str(), f)
    }
}

impl Serialize for TraceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

/// A [`TraceId`]'s text: written out for a UUID, borrowed otherwise. Reads as a `str`.
#[derive(Clone, Copy)]
pub enum IdText<'a> {
    Uuid([u8; UUID_LEN]),
    Borrowed(&'a str),
}

impl IdText<'_> {
    /// The empty text.
    pub const EMPTY: IdText<'static> = IdText::Borrowed("");
}

impl Default for IdText<'_> {
    fn default() -> Self {
        IdText::EMPTY
    }
}

impl PartialEq for IdText<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for IdText<'_> {}

impl PartialEq<str> for IdText<'_> {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for IdText<'_> {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl std::hash::Hash for IdText<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl Ord for IdText<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl PartialOrd for IdText<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for IdText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl Deref for IdText<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            // Only ASCII hex digits and dashes are ever written here.
            IdText::Uuid(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            IdText::Borrowed(text) => text,
        }
    }
}

impl fmt::Display for IdText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for IdText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The 16 bytes of a UUID written in lower-case hex with dashes at 8-4-4-4-12, or `None` for
/// any other text (upper-case hex included: it would not be written back the same).
fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    uuid_bytes_of(text.as_bytes())
}

/// [`uuid_bytes`] of raw bytes: the dashes checked where they go, then each group's hex
/// digits read in pairs through a table (ids are read twice an event on every load).
fn uuid_bytes_of(t: &[u8]) -> Option<[u8; 16]> {
    /// Each byte's value as a hex digit (lower case only), 0xff for any other byte.
    const HEX: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let mut c = 0;
        while c < 10 {
            table[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            table[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        table
    };
    let t: &[u8; UUID_LEN] = t.try_into().ok()?;
    if DASHES.iter().any(|&i| t[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut slots = out.iter_mut();
    for (start, end) in [(0, 8), (9, 13), (14, 18), (19, 23), (24, 36)] {
        for pair in t[start..end].chunks_exact(2) {
            let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
            if (hi | lo) > 0x0f {
                return None;
            }
            *slots.next()? = (hi << 4) | lo;
        }
    }
    Some(out)
}

/// The text [`uuid_bytes`] read `bytes` from.
fn uuid_text(bytes: &[u8; 16]) -> [u8; UUID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; UUID_LEN];
    let mut nibbles = bytes.iter().flat_map(|b| [b >> 4, b & 0xf]);
    for (i, slot) in out.iter_mut().enumerate() {
        if DASHES.contains(&i) {
            continue;
        }
        if let Some(n) = nibbles.next() {
            *slot = HEX[usize::from(n)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_kept_as_bytes_and_read_back_exactly() {
        let text = "fd860425-77db-43a6-a0ca-b626815ca214";
        let id = TraceId::new(text);
        assert!(matches!(id.0, Repr::Uuid(_)));
        assert_eq!(&*id.as_str(), text);
        assert_eq!(id.to_string(), text);
        assert_eq!(id, text);
        assert_eq!(serde_json::to_string(&id).unwrap_or_default(), format!("\"{text}\""));
        assert_eq!(TraceId::from_uuid_text(text.as_bytes()), Some(id.clone()));
        for odd in [&b"fd860425-77db-43a6-a0ca-b626815ca2-4"[..], b"fd860425-77db-43a6-a0ca-b626815ca21\xff"] {
            assert_eq!(TraceId::from_uuid_text(odd), None);
        }
        for text in [
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "0123abcd-4567-89ef-fedc-ba9876543210",
        ] {
            let id = TraceId::from_uuid_text(text.as_bytes()).expect("a UUID");
            assert_eq!((&*id.as_str(), id.clone()), (text, TraceId::new(text)));
        }
        assert_eq!(size_of::<TraceId>(), 24);
        assert_eq!(size_of::<Option<TraceId>>(), 24);
    }

    #[test]
    fn other_texts_are_kept_as_they_are() {
        for text in [
            "",
            "t1",
            "FD860425-77DB-43A6-A0CA-B626815CA214",
            "fd860425-77db-43a6-a0ca-b626815ca21",
            "fd860425-77db-43a6-a0ca-b626815ca2145",
            "fd860425x77db-43a6-a0ca-b626815ca214",
            "fd860425-77db-43a6-a0ca-b626815ca21g",
            "fd860425-77db-43a6-a0ca-b626815ca21é",
        ] {
            let id = TraceId::new(text);
            assert!(matches!(id.0, Repr::Text(_)), "{text}");
            assert_eq!(TraceId::from_uuid_text(text.as_bytes()), None, "{text}");
            assert_eq!(&*id.as_str(), text);
            assert_eq!(id, TraceId::from(text.to_owned()));
        }
        assert!(TraceId::default().is_empty() && TraceId::new("").is_empty());
        assert!(!TraceId::new("fd860425-77db-43a6-a0ca-b626815ca214").is_empty());
    }

    #[test]
    fn equality_and_order_follow_the_text() {
        let texts = [
            "00000000-0000-0000-0000-000000000000",
            "0a000000-0000-0000-0000-000000000000",
            "9fffffff-ffff-ffff-ffff-ffffffffffff",
            "A",
            "a",
            "a0000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "g",
        ];
        for a in texts {
            for b in texts {
                let (x, y) = (TraceId::new(a), TraceId::new(b));
                assert_eq!(x.cmp(&y), a.cmp(b), "{a} vs {b}");
                assert_eq!(x == y, a == b, "{a} vs {b}");
                assert_eq!(x == b, a == b, "{a} vs {b}");
            }
        }
    }
}
