//! A trace id held in 16 bytes and no allocation when it is a random or time-ordered UUID in
//! its usual text form.
//!
//! Agents name traces with UUIDs: 36 characters that as a `String` cost 24 bytes plus a
//! 40-byte allocation, twice an event (its id and its parent's). A [`TraceId`] keeps such a
//! text (lower-case hex, dashes at 8-4-4-4-12, version 4 or 7, RFC 4122 variant) in its 16
//! bytes and writes it back on demand: the 6 bits the version and variant fix are left out,
//! and the enum's tag carries the 2 bits that do not fit beside the other 120. Any other text
//! (upper-case UUIDs, other versions included) is kept as it is, shared. Which form an id
//! takes depends only on its text, so two ids are equal exactly when their texts are.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

use arcstr::ArcStr;
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
    Uuid(Packed),
    Text(ArcStr),
}

/// A version 4 or 7 UUID's 122 free bits: 120 in `rest`, the last 2 (and the version) in
/// `spare`, whose unused values leave [`Repr`] room for its own tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Packed {
    spare: Spare,
    rest: [u8; 15],
}

/// The version (4 or 7) and the low 2 bits of the variant byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
enum Spare {
    V4Bits0,
    V4Bits1,
    V4Bits2,
    V4Bits3,
    V7Bits0,
    V7Bits1,
    V7Bits2,
    V7Bits3,
}

impl Spare {
    fn new(version7: bool, bits: u8) -> Spare {
        match (version7, bits & 3) {
            (false, 0) => Spare::V4Bits0,
            (false, 1) => Spare::V4Bits1,
            (false, 2) => Spare::V4Bits2,
            (false, _) => Spare::V4Bits3,
            (true, 0) => Spare::V7Bits0,
            (true, 1) => Spare::V7Bits1,
            (true, 2) => Spare::V7Bits2,
            (true, _) => Spare::V7Bits3,
        }
    }

    /// The version nibble and the 2 bits.
    fn parts(self) -> (u8, u8) {
        let n = self as u8;
        (if n >= 4 { 7 } else { 4 }, n & 3)
    }
}

impl Packed {
    /// The bytes of a version 4 or 7 UUID with the RFC 4122 variant, packed; `None` for others.
    fn new(b: &[u8; 16]) -> Option<Packed> {
        let version = b[6] >> 4;
        if !matches!(version, 4 | 7) || b[8] >> 6 != 0b10 {
            return None;
        }
        let mut rest = [0u8; 15];
        rest[..6].copy_from_slice(&b[..6]);
        rest[6] = ((b[6] & 0x0f) << 4) | ((b[8] >> 2) & 0x0f);
        rest[7..14].copy_from_slice(&b[9..]);
        rest[14] = b[7];
        Some(Packed { spare: Spare::new(version == 7, b[8]), rest })
    }

    /// The UUID's 16 bytes again.
    fn bytes(&self) -> [u8; 16] {
        let (version, bits) = self.spare.parts();
        let r = &self.rest;
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&r[..6]);
        b[6] = (version << 4) | (r[6] >> 4);
        b[7] = r[14];
        b[8] = 0x80 | ((r[6] & 0x0f) << 2) | bits;
        b[9..].copy_from_slice(&r[7..14]);
        b
    }
}

impl TraceId {
    /// The id whose text is `text`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        match uuid_bytes(text) {
            Some(packed) => TraceId(Repr::Uuid(packed)),
            None => TraceId(Repr::Text(text.into())),
        }
    }

    /// The id stored as these bytes when they are a UUID's usual text (what [`TraceId::new`]
    /// makes of that text), without reading them as text first; `None` for any other bytes.
    #[must_use]
    pub fn from_uuid_text(bytes: &[u8]) -> Option<Self> {
        uuid_bytes_of(bytes).map(|p| TraceId(Repr::Uuid(p)))
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> IdText<'_> {
        match &self.0 {
            Repr::Uuid(packed) => IdText::Uuid(uuid_text(&packed.bytes())),
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
        TraceId(Repr::Text(ArcStr::new()))
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
            Some(packed) => TraceId(Repr::Uuid(packed)),
            None => TraceId(Repr::Text(text.into())),
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
            Repr::Uuid(packed) => uuid_bytes(other).is_some_and(|o| o == *packed),
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
            (Repr::Uuid(a), Repr::Uuid(b)) => a.bytes().cmp(&b.bytes()),
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

/// The packed bytes of a version 4 or 7 UUID written in lower-case hex with dashes at
/// 8-4-4-4-12, or `None` for any other text (upper-case hex included: it would not be written
/// back the same).
fn uuid_bytes(text: &str) -> Option<Packed> {
    uuid_bytes_of(text.as_bytes())
}

/// [`uuid_bytes`] of raw bytes: the dashes checked where they go, then each group's hex
/// digits read in pairs through a table (ids are read twice an event on every load).
fn uuid_bytes_of(t: &[u8]) -> Option<Packed> {
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
    Packed::new(&out)
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
            "00000000-0000-4000-8000-000000000000",
            "ffffffff-ffff-4fff-bfff-ffffffffffff",
            "ffffffff-ffff-7fff-bfff-ffffffffffff",
            "0123abcd-4567-49ef-9edc-ba9876543210",
            "0123abcd-4567-79ef-a1dc-ba9876543210",
            "019b0c3e-5f1a-7c2d-8e4f-123456789abc",
        ] {
            let id = TraceId::from_uuid_text(text.as_bytes()).expect("a UUID");
            assert!(matches!(id.0, Repr::Uuid(_)), "{text}");
            assert_eq!((&*id.as_str(), id.clone()), (text, TraceId::new(text)));
        }
        assert_eq!(size_of::<TraceId>(), 16);
        assert_eq!(size_of::<Option<TraceId>>(), 16);
    }

    #[test]
    fn every_bit_a_random_uuid_holds_comes_back() {
        // Each of the 122 free bits set alone, and all of them, for both versions.
        let free = |version: u8| {
            let mut all = [0xffu8; 16];
            all[6] = (version << 4) | 0x0f;
            all[8] = 0xbf;
            all
        };
        for version in [4u8, 7] {
            let all = free(version);
            let base = Packed::new(&{
                let mut b = [0u8; 16];
                b[6] = version << 4;
                b[8] = 0x80;
                b
            })
            .expect("packs");
            let mut seen = std::collections::HashSet::new();
            for bit in 0..128 {
                let (byte, mask) = (bit / 8, 0x80u8 >> (bit % 8));
                let mut b = base.bytes();
                if all[byte] & mask == 0 || b[byte] & mask != 0 {
                    continue;
                }
                b[byte] |= mask;
                let packed = Packed::new(&b).expect("packs");
                assert_eq!(packed.bytes(), b, "bit {bit}");
                assert!(seen.insert(packed), "bit {bit} packs like another");
            }
            assert_eq!(seen.len(), 122);
            assert_eq!(Packed::new(&all).map(|p| p.bytes()), Some(all));
        }
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
            // Lower-case UUIDs of other versions or variants are kept as text too.
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "0123abcd-4567-19ef-8edc-ba9876543210",
            "0123abcd-4567-49ef-cedc-ba9876543210",
            "0123abcd-4567-49ef-7edc-ba9876543210",
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
            "00000000-0000-4000-8000-000000000000",
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4001-8000-000000000000",
            "00000000-0000-4010-8000-000000000000",
            "00000000-0000-4100-8000-000000000000",
            "00000000-0000-4fff-bfff-ffffffffffff",
            "00000000-0000-7000-8000-000000000000",
            "00000000-0000-7000-8001-000000000000",
            "00000000-0000-7000-8100-000000000000",
            "00000000-0000-7000-b000-000000000000",
            "0a000000-0000-4000-8000-000000000000",
            "9fffffff-ffff-4fff-bfff-ffffffffffff",
            "A",
            "a",
            "a0000000-0000-4000-8000-000000000000",
            "ffffffff-ffff-4fff-bfff-ffffffffffff",
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
