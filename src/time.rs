//! Timestamp parsing for the many forms agent writers use, and formatting for display.
//!
//! Every accepted time becomes a [`Timestamp`]: nanoseconds since the Unix epoch, UTC. Years
//! outside [`MIN_YEAR`]..=[`MAX_YEAR`] are refused so that one absurd value cannot stretch a
//! timeline over centuries (and so the nanosecond count always fits in an `i64`).

use std::fmt;

use chrono::{DateTime, Datelike as _, NaiveDate, SecondsFormat, Utc};

/// Earliest year accepted on a timeline.
pub const MIN_YEAR: i32 = 1900;
/// Latest year accepted on a timeline.
pub const MAX_YEAR: i32 = 2200;

const NS_PER_MS: i64 = 1_000_000;
const NS_PER_S: i64 = 1_000_000_000;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// What parsing made of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub time: Timestamp,
    /// The text had no UTC offset; it was read as UTC.
    pub naive: bool,
}

/// Why a value is not a usable time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("timestamp is empty")]
    Empty,
    #[error("timestamp '{0}' is not in a known form")]
    Unknown(String),
    #[error("timestamp '{0}' is not a real date or time")]
    Impossible(String),
    #[error("timestamp '{0}' is outside the years {MIN_YEAR}..={MAX_YEAR}")]
    OutOfRange(String),
}

impl Timestamp {
    /// Milliseconds from `origin` to `self` (negative when earlier).
    #[must_use]
    pub fn ms_since(self, origin: Timestamp) -> f64 {
        match self.0.checked_sub(origin.0) {
            Some(ns) => ns as f64 / NS_PER_MS as f64,
            // Two times in the accepted years can be 9.5e18 ns apart, past i64::MAX.
            None => (i128::from(self.0) - i128::from(origin.0)) as f64 / NS_PER_MS as f64,
        }
    }

    /// The time `ms` milliseconds after `self` (saturating; non-finite counts as zero).
    #[must_use]
    pub fn add_ms(self, ms: f64) -> Timestamp {
        if !ms.is_finite() {
            return self;
        }
        let ns = ms * NS_PER_MS as f64;
        // The usual step fits an i64 (and the float to i64 conversion is one instruction).
        if ns.abs() < 9.0e18 {
            return Timestamp(self.0.saturating_add(ns as i64));
        }
        // In i128: a step across the whole accepted range (9.5e18 ns) does not fit an i64.
        let ns = ns.clamp(-2e19, 2e19) as i128;
        let sum = (i128::from(self.0) + ns).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        Timestamp(i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Converts to a chrono value for display.
    #[must_use]
    pub fn to_chrono(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// From a chrono value; `None` outside the accepted years.
    #[must_use]
    pub fn from_chrono(t: DateTime<Utc>) -> Option<Timestamp> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&t.year()) {
            return None;
        }
        t.timestamp_nanos_opt().map(Timestamp)
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-20T09:59:07.754847Z`.
    #[must_use]
    pub fn rfc3339_micros(self) -> String {
        match self.rfc3339_micros_bytes() {
            Some(bytes) => bytes.iter().map(|&b| char::from(b)).collect(),
            None => self.to_chrono().to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }

    /// [`Timestamp::rfc3339_micros`] as ASCII bytes in a fixed buffer, with no allocation (the
    /// exports write hundreds of thousands of these); `None` outside the years 0 to 9999.
    #[must_use]
    pub fn rfc3339_micros_bytes(self) -> Option<[u8; 27]> {
        let secs = self.0.div_euclid(NS_PER_S);
        let micros = self.0.rem_euclid(NS_PER_S) / 1_000;
        let (year, month, day) = civil_date(secs.div_euclid(86_400));
        if !(0..=9999).contains(&year) {
            return None;
        }
        let of_day = secs.rem_euclid(86_400);
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |end: usize, digits: usize, mut value: i64| {
            for slot in out[end - digits..end].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(4, 4, year);
        put(7, 2, month);
        put(10, 2, day);
        put(13, 2, of_day / 3_600);
        put(16, 2, of_day / 60 % 60);
        put(19, 2, of_day % 60);
        put(26, 6, micros);
        Some(out)
    }

    /// How Python's `datetime.isoformat()` writes this time in UTC (the reference writer's
    /// form): `2026-11-20T09:59:07.754847+00:00`, without the fraction when it is zero.
    /// Sub-microsecond parts are dropped.
    #[must_use]
    pub fn python_isoformat(self) -> String {
        match self.rfc3339_micros_bytes() {
            Some(b) => {
                let whole = if b[20..26] == *b"000000" { &b[..19] } else { &b[..26] };
                let mut text: String = whole.iter().map(|&c| char::from(c)).collect();
                text.push_str("+00:00");
                text
            }
            None => self.to_chrono().to_rfc3339_opts(SecondsFormat::Micros, false),
        }
    }

    /// True when `text` is exactly [`Timestamp::python_isoformat`] of this time (and the time
    /// has no sub-microsecond part, which that form would lose).
    #[must_use]
    pub fn is_python_isoformat(self, text: &str) -> bool {
        let Some(b) = self.rfc3339_micros_bytes() else { return false };
        if self.0.rem_euclid(1_000) != 0 || !text.ends_with("+00:00") {
            return false;
        }
        let body = &text.as_bytes()[..text.len() - 6];
        if b[20..26] == *b"000000" { body == &b[..19] } else { body == &b[..26] }
    }

    /// Compact local-free display: `2026-11-20 09:59:07`.
    #[must_use]
    pub fn short(self) -> String {
        self.to_chrono().format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339_micros())
    }
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01.
fn civil_date(days: i64) -> (i64, i64, i64) {
    // Count from 0000-03-01 so that the leap day ends each 4-, 100- and 400-year cycle.
    let from_march_0000 = days + 719_468;
    let cycle = from_march_0000.div_euclid(146_097);
    let day_of_cycle = from_march_0000.rem_euclid(146_097);
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28/29 days.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_cycle + cycle * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses a timestamp stored as text: ISO-8601 (offset, `Z` or none; `T` or space; fractions
/// to nanoseconds) or a number of Unix seconds / milliseconds / microseconds / nanoseconds.
///
/// # Errors
/// A [`TimeError`] naming the value when it is empty, unknown, impossible or out of range.
pub fn parse_text(text: &str) -> Result<Parsed, TimeError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(TimeError::Empty);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+' || b == b'e' || b == b'E')
        && !looks_like_date(s)
    {
        return match s.parse::<f64>() {
            Ok(n) => parse_number(n).map_err(|_| TimeError::OutOfRange(clip(s))),
            Err(_) => Err(TimeError::Unknown(clip(s))),
        };
    }
    parse_iso(s)
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10 && b[4] == b'-' && b[7] == b'-'
}

/// Parses a number of Unix seconds, milliseconds, microseconds or nanoseconds, told apart by
/// magnitude (seconds up to 1e11, i.e. the year 5138; milliseconds up to 1e14; and so on).
///
/// # Errors
/// [`TimeError::OutOfRange`] for non-finite values and years outside the accepted range.
pub fn parse_number(n: f64) -> Result<Parsed, TimeError> {
    if !n.is_finite() {
        return Err(TimeError::OutOfRange(n.to_string()));
    }
    let a = n.abs();
    let ns = if a < 1e11 {
        n * NS_PER_S as f64
    } else if a < 1e14 {
        n * NS_PER_MS as f64
    } else if a < 1e17 {
        n * 1e3
    } else {
        n
    };
    if !(i64::MIN as f64..=i64::MAX as f64).contains(&ns) {
        return Err(TimeError::OutOfRange(n.to_string()));
    }
    let t = Timestamp(ns.round() as i64);
    if Timestamp::from_chrono(t.to_chrono()).is_none() {
        return Err(TimeError::OutOfRange(n.to_string()));
    }
    Ok(Parsed { time: t, naive: false })
}

/// A small cursor over ASCII digits.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.i.checked_add(n)?;
        let part = self.b.get(self.i..end)?;
        let mut v = 0u32;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        self.i = end;
        Some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 64 {
        let mut out: String = s.chars().take(64).collect();
        out.push('…');
        out
    } else {
        s.to_owned()
    }
}

fn parse_iso(s: &str) -> Result<Parsed, TimeError> {
    let unknown = || TimeError::Unknown(clip(s));
    let mut c = Cursor { b: s.as_bytes(), i: 0 };
    let year = c.digits(4).ok_or_else(unknown)?;
    if !c.eat(b'-') {
        return Err(unknown());
    }
    let month = c.digits(2).ok_or_else(unknown)?;
    if !c.eat(b'-') {
        return Err(unknown());
    }
    let day = c.digits(2).ok_or_else(unknown)?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0u32);
    let mut naive = true;
    let mut offset_s: i64 = 0;
    if c.eat(b'T') || c.eat(b't') || c.eat(b' ') {
        hour = c.digits(2).ok_or_else(unknown)?;
        if !c.eat(b':') {
            return Err(unknown());
        }
        minute = c.digits(2).ok_or_else(unknown)?;
        if c.eat(b':') {
            second = c.digits(2).ok_or_else(unknown)?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.i;
                let mut scale = 100_000_000u32;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    nanos += u32::from(d - b'0') * scale;
                    scale /= 10;
                    c.i += 1;
                }
                if c.i == start {
                    return Err(unknown());
                }
            }
        }
        // Optional space before the zone, as some writers emit "… +00:00" or "… UTC".
        let _ = c.eat(b' ');
        match c.peek() {
            None => {}
            Some(b'Z' | b'z') => {
                c.i += 1;
                naive = false;
            }
            Some(sign @ (b'+' | b'-')) => {
                c.i += 1;
                let oh = c.digits(2).ok_or_else(unknown)?;
                let _ = c.eat(b':');
                let om = if c.peek().is_some() { c.digits(2).ok_or_else(unknown)? } else { 0 };
                if oh > 23 || om > 59 {
                    return Err(TimeError::Impossible(clip(s)));
                }
                let sign = if sign == b'-' { -1 } else { 1 };
                offset_s = sign * i64::from(oh * 3600 + om * 60);
                naive = false;
            }
            Some(_) => {
                if s[c.i..].eq_ignore_ascii_case("UTC") || s[c.i..].eq_ignore_ascii_case("GMT") {
                    c.i = s.len();
                    naive = false;
                } else {
                    return Err(unknown());
                }
            }
        }
    }
    if c.i != s.len() {
        return Err(unknown());
    }
    let year = i32::try_from(year).map_err(|_| unknown())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| TimeError::Impossible(clip(s)))?;
    // A leap second ("23:59:60") is folded into the next second's start.
    let (second, leap) = if second == 60 { (59, true) } else { (second, false) };
    let dt = date.and_hms_nano_opt(hour, minute, second, nanos).ok_or_else(|| TimeError::Impossible(clip(s)))?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(TimeError::OutOfRange(clip(s)));
    }
    let utc = dt.and_utc().timestamp_nanos_opt().ok_or_else(|| TimeError::OutOfRange(clip(s)))?;
    let time = Timestamp(utc - offset_s * NS_PER_S + if leap { NS_PER_S } else { 0 });
    // The offset or a leap second can carry a time over the edge of the accepted years.
    if Timestamp::from_chrono(time.to_chrono()).is_none() {
        return Err(TimeError::OutOfRange(clip(s)));
    }
    Ok(Parsed { time, naive })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Parsed {
        parse_text(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn time_arithmetic_agrees_with_wide_integers() {
        // What the fast paths must equal: the same sums done in i128 throughout.
        let wide_since = |a: i64, b: i64| (i128::from(a) - i128::from(b)) as f64 / 1e6;
        let wide_add = |t: i64, ms: f64| -> i64 {
            if !ms.is_finite() {
                return t;
            }
            let ns = (ms * 1e6).clamp(-2e19, 2e19) as i128;
            let sum = (i128::from(t) + ns).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
            i64::try_from(sum).unwrap_or(0)
        };
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges = [0, 1, -1, i64::MAX, i64::MIN, i64::MAX - 5, i64::MIN + 5, 1_763_632_747_000_000_000];
        let mut times: Vec<i64> = edges.to_vec();
        times.extend((0..2_000).map(|_| next() as i64));
        times.extend((0..2_000).map(|_| (next() % 20_000_000_000_000_000) as i64 - 10_000_000_000_000_000));
        let steps = [0.0, 1.5, -1.5, 1e3, -2.5e12, 9.2e12, -9.2e12, 1e13, -1e13, 3e16, f64::MAX, f64::NAN, 0.000_4];
        for (i, &a) in times.iter().enumerate() {
            let b = times[(i * 7 + 3) % times.len()];
            assert_eq!(Timestamp(a).ms_since(Timestamp(b)).to_bits(), wide_since(a, b).to_bits(), "{a} - {b}");
            for ms in steps {
                assert_eq!(Timestamp(a).add_ms(ms).0, wide_add(a, ms), "{a} + {ms} ms");
            }
        }
    }

    #[test]
    fn fast_rfc3339_agrees_with_chrono() {
        let chrono_text = |t: Timestamp| t.to_chrono().to_rfc3339_opts(SecondsFormat::Micros, true);
        // Day and year edges, leap days, before 1970, and the ends of the accepted range.
        let mut cases: Vec<i64> = vec![
            0,
            -1,
            1,
            951_782_400 * NS_PER_S,               // 2000-02-29
            951_868_799 * NS_PER_S + 999_999_999, // 2000-02-29T23:59:59.999999999
            -2_208_988_800 * NS_PER_S,            // 1900-01-01
            4_107_542_399 * NS_PER_S,             // 2100-02-28T23:59:59
            7_258_118_399 * NS_PER_S,             // 2199-12-31T23:59:59
            i64::MIN,
            i64::MAX,
        ];
        // And a spread of pseudo-random instants over the whole i64 range.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x as i64);
        }
        for ns in cases {
            let t = Timestamp(ns);
            assert_eq!(t.rfc3339_micros(), chrono_text(t), "{ns} ns");
            let bytes = t.rfc3339_micros_bytes().map(|b| String::from_utf8_lossy(&b).into_owned());
            assert_eq!(bytes, Some(chrono_text(t)), "{ns} ns");
        }
    }

    #[test]
    fn python_form_is_rebuilt_exactly_and_nothing_else_claims_it() {
        for text in
            ["2026-11-20T09:59:07.754847+00:00", "2026-11-20T09:59:07+00:00", "1999-12-31T23:59:59.000001+00:00"]
        {
            let time = t(text).time;
            assert_eq!(time.python_isoformat(), text);
            assert!(time.is_python_isoformat(text), "{text}");
        }
        // Same instant, other spellings: these must be kept as stored.
        for (text, same_as) in [
            ("2026-11-20T09:59:07.000000+00:00", "2026-11-20T09:59:07+00:00"),
            ("2026-11-20T09:59:07.754847Z", "2026-11-20T09:59:07.754847+00:00"),
            ("2026-11-20 09:59:07.754847+00:00", "2026-11-20T09:59:07.754847+00:00"),
            ("2026-11-20T10:59:07.754847+01:00", "2026-11-20T09:59:07.754847+00:00"),
            ("2026-11-20T09:59:07.754847", "2026-11-20T09:59:07.754847+00:00"),
            ("1763632747", "2025-11-20T09:59:07+00:00"),
        ] {
            let time = t(text).time;
            assert!(!time.is_python_isoformat(text), "{text}");
            assert_eq!(time, t(same_as).time, "{text}");
        }
        // A time finer than microseconds has no Python form.
        let fine = t("2026-11-20T09:59:07.754847123+00:00").time;
        assert!(!fine.is_python_isoformat("2026-11-20T09:59:07.754847+00:00"));
    }

    #[test]
    fn python_isoformat_with_and_without_fraction() {
        let a = t("2026-11-20T09:59:07.754847+00:00");
        assert!(!a.naive);
        assert_eq!(a.time.rfc3339_micros(), "2026-11-20T09:59:07.754847Z");
        let b = t("2026-11-20T09:59:07+00:00");
        assert_eq!(b.time.rfc3339_micros(), "2026-11-20T09:59:07.000000Z");
    }

    #[test]
    fn offsets_z_space_and_nanoseconds() {
        let base = t("2026-11-20T09:59:07.123456789Z").time;
        assert_eq!(base.0 % 1_000_000_000, 123_456_789);
        assert_eq!(t("2026-11-20 10:59:07.123456789+01:00").time, base);
        assert_eq!(t("2026-11-20T08:59:07.123456789-0100").time, base);
        assert_eq!(t("2026-11-20T09:59:07.123456789 UTC").time, base);
    }

    #[test]
    fn naive_is_utc_and_flagged() {
        let n = t("2026-11-20 09:59:07");
        assert!(n.naive);
        assert_eq!(n.time, t("2026-11-20T09:59:07Z").time);
    }

    #[test]
    fn unix_numbers_by_magnitude() {
        let want = t("2026-11-20T09:59:07Z").time;
        let secs = want.0 / 1_000_000_000;
        assert_eq!(t(&secs.to_string()).time, want);
        assert_eq!(t(&(secs * 1000).to_string()).time, want);
        assert_eq!(parse_number(secs as f64 + 0.5).map(|p| p.time.0 - want.0), Ok(500_000_000));
    }

    #[test]
    fn bad_forms_are_named() {
        assert_eq!(parse_text(""), Err(TimeError::Empty));
        assert!(matches!(parse_text("yesterday"), Err(TimeError::Unknown(_))));
        assert!(matches!(parse_text("2026-02-30T00:00:00Z"), Err(TimeError::Impossible(_))));
        assert!(matches!(parse_text("2026-11-20T25:00:00Z"), Err(TimeError::Impossible(_))));
        assert!(matches!(parse_text("0001-01-01T00:00:00Z"), Err(TimeError::OutOfRange(_))));
        assert!(matches!(parse_text("9999-12-31T23:59:59Z"), Err(TimeError::OutOfRange(_))));
        // Found by fuzzing: the offset or a leap second carries these past the edge.
        assert!(matches!(parse_text("2200-12-31T23:59:60.9"), Err(TimeError::OutOfRange(_))));
        assert!(matches!(parse_text("2200-12-31T23:59:59-01:00"), Err(TimeError::OutOfRange(_))));
        assert!(matches!(parse_text("1900-01-01T00:30:00+01:00"), Err(TimeError::OutOfRange(_))));
        assert!(parse_text("1900-01-01T01:00:00+01:00").is_ok());
        assert!(matches!(parse_text("2026-11-20T09:59:07+00:00garbage"), Err(TimeError::Unknown(_))));
        assert!(parse_number(f64::NAN).is_err());
        assert!(parse_number(1e300).is_err());
    }

    #[test]
    fn add_and_difference() {
        let a = t("2026-11-20T09:59:07Z").time;
        let b = a.add_ms(1500.25);
        assert!((b.ms_since(a) - 1500.25).abs() < 1e-6);
        assert_eq!(a.add_ms(f64::NAN), a);
    }

    #[test]
    fn difference_across_the_whole_accepted_range() {
        let first = t("1900-01-01T00:00:00Z").time;
        let last = t("2200-12-31T23:59:59Z").time;
        assert_eq!(last.ms_since(first), 9_498_643_199_000.0);
        assert_eq!(first.ms_since(last), -9_498_643_199_000.0);
        // f64 milliseconds over three centuries are exact to about a microsecond.
        assert!((first.add_ms(last.ms_since(first)).0 - last.0).abs() < 2048);
        assert_eq!(last.add_ms(f64::MAX), Timestamp(i64::MAX));
        assert_eq!(first.add_ms(f64::MIN), Timestamp(i64::MIN));
    }
}
