//! Lenient conversion of one stored value: a value of the wrong type, not UTF-8 or out of
//! range becomes a note on its trace, never an error.

use arcstr::ArcStr;
use std::borrow::Cow;

use rusqlite::Row;
use rusqlite::types::ValueRef;

use crate::model::labels::{Interner, clip};
use crate::time::Timestamp;
use crate::{ids, time};

pub(super) fn lossy(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => ids::blob_id(b),
    }
}

pub(super) fn get<'r>(r: &'r Row<'_>, i: usize) -> ValueRef<'r> {
    r.get_ref(i).unwrap_or(ValueRef::Null)
}

/// Text of a column; invalid UTF-8 is replaced and noted; numbers become text.
pub(super) fn text_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<String> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                notes.push(format!("{name} is not valid UTF-8; shown with replacement characters"));
                String::from_utf8_lossy(t).into_owned()
            }
        }),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not text", b.len()));
            Some(String::from_utf8_lossy(b).into_owned())
        }
    }
}

/// An identifier column in its printed form (see [`ids`]), which finds the same row when it
/// is given back: plain text as is, other text escaped, blobs as `x'HEX'`.
pub(super) fn key_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<String> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Text(t) => {
            if std::str::from_utf8(t).is_err() {
                notes.push(format!("{name} is not valid UTF-8; its bytes are shown as \\xNN"));
            }
            Some(ids::text_id(t))
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob; shown as hex"));
            Some(ids::blob_id(b))
        }
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
    }
}

pub(super) fn count_value(r: &Row<'_>, i: usize) -> u64 {
    match get(r, i) {
        ValueRef::Integer(n) => u64::try_from(n).unwrap_or(0),
        ValueRef::Real(f) if f.is_finite() && f >= 0.0 => f as u64,
        _ => 0,
    }
}

/// A token sum: exact from SUM, or TOTAL's float saturated to the `i64` range on overflow.
pub(super) fn sum_value(r: &Row<'_>, i: usize) -> i64 {
    match get(r, i) {
        ValueRef::Integer(n) => n,
        // `as` saturates: 2^63 becomes i64::MAX.
        ValueRef::Real(f) if f.is_finite() => f as i64,
        _ => 0,
    }
}

pub(super) fn int_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<i64> {
    match get(r, i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
        ValueRef::Real(f) => {
            notes.push(format!("{name} is {f}, not a whole number; ignored"));
            None
        }
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match s.trim().parse::<i64>() {
                Ok(n) => {
                    notes.push(format!("{name} is stored as text ('{}')", clip(&s)));
                    Some(n)
                }
                Err(_) => {
                    notes.push(format!("{name} is '{}', not a number; ignored", clip(&s)));
                    None
                }
            }
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not a number; ignored", b.len()));
            None
        }
    }
}

pub(super) fn float_value(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<f64> {
    let v = match get(r, i) {
        ValueRef::Null => return None,
        ValueRef::Integer(n) => n as f64,
        ValueRef::Real(f) => f,
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match s.trim().parse::<f64>() {
                Ok(f) => {
                    notes.push(format!("{name} is stored as text ('{}')", clip(&s)));
                    f
                }
                Err(_) => {
                    notes.push(format!("{name} is '{}', not a number; ignored", clip(&s)));
                    return None;
                }
            }
        }
        ValueRef::Blob(b) => {
            notes.push(format!("{name} is a blob of {} bytes, not a number; ignored", b.len()));
            return None;
        }
    };
    if v.is_finite() {
        Some(v)
    } else {
        notes.push(format!("{name} is {v}; ignored"));
        None
    }
}

/// The longest duration taken at face value: ten years. Longer ones are data errors.
pub const MAX_DURATION_MS: f64 = 10.0 * 365.25 * 24.0 * 3600.0 * 1000.0;

pub(super) fn valid_duration(d: f64) -> bool {
    d.is_finite() && (0.0..=MAX_DURATION_MS).contains(&d)
}

pub(super) fn time_of(r: &Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<Timestamp> {
    let parsed = match get(r, i) {
        ValueRef::Null => return None,
        ValueRef::Integer(n) => time::parse_number(n as f64),
        ValueRef::Real(f) => time::parse_number(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(text) => time::parse_text(text),
            Err(_) => time::parse_text(&String::from_utf8_lossy(t)),
        },
        ValueRef::Blob(_) => {
            notes.push(format!("{name} is a blob, not a time; left off the timeline"));
            return None;
        }
    };
    match parsed {
        Ok(p) => {
            if p.naive {
                notes.push(format!("{name} has no UTC offset; read as UTC"));
            }
            Some(p.time)
        }
        Err(e) => {
            notes.push(format!("{name}: {e}; left off the timeline"));
            None
        }
    }
}

/// Text of a column as [`text_value`] reads it, shared through `interner` when it is valid
/// UTF-8 text (the common case needs no copy at all once the value has been seen).
pub(super) fn shared_text(
    r: &Row<'_>,
    i: usize,
    name: &str,
    notes: &mut Vec<String>,
    interner: &mut Interner,
) -> Option<ArcStr> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
    {
        return Some(interner.get(text));
    }
    text_value(r, i, name, notes).map(|t| interner.get(&t))
}

/// [`key_value`], shared through `interner`.
pub(super) fn shared_key(
    r: &Row<'_>,
    i: usize,
    name: &str,
    notes: &mut Vec<String>,
    interner: &mut Interner,
) -> Option<ArcStr> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
        && ids::is_plain(text)
    {
        return Some(interner.get(text));
    }
    key_value(r, i, name, notes).map(|t| interner.get(&t))
}

/// [`text_value`], borrowed from the row when the value is valid UTF-8 text.
pub(super) fn row_text<'r>(r: &'r Row<'_>, i: usize, name: &str, notes: &mut Vec<String>) -> Option<Cow<'r, str>> {
    if let ValueRef::Text(t) = get(r, i)
        && let Ok(text) = std::str::from_utf8(t)
    {
        return Some(Cow::Borrowed(text));
    }
    text_value(r, i, name, notes).map(Cow::Owned)
}
