//! Human formatting of counts, costs and durations: one spelling for the CLI, the app and the
//! exports.

/// Human duration: `850 µs`, `12.3 ms`, `4.56 s`, `3 m 12 s`, `2 h 05 m`.
#[must_use]
pub fn format_duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "—".to_owned();
    }
    let a = ms.abs();
    let sign = if ms < 0.0 { "-" } else { "" };
    if a < 1.0 {
        format!("{sign}{:.0} µs", a * 1000.0)
    } else if a < 100.0 {
        format!("{sign}{a:.1} ms")
    } else if a < 1000.0 {
        format!("{sign}{a:.0} ms")
    } else if a < 60_000.0 {
        format!("{sign}{:.2} s", a / 1000.0)
    } else if a < 3_600_000.0 {
        let s = (a / 1000.0).round() as u64;
        format!("{sign}{} m {:02} s", s / 60, s % 60)
    } else {
        let m = (a / 60_000.0).round() as u64;
        format!("{sign}{} h {:02} m", m / 60, m % 60)
    }
}

/// `$0.0123` with enough digits for small amounts.
#[must_use]
pub fn format_cost(usd: f64) -> String {
    if usd == 0.0 {
        "$0".to_owned()
    } else if usd.abs() < 0.01 {
        format!("${usd:.6}")
    } else {
        format!("${usd:.4}")
    }
}

/// `12,345` with thousands separators.
#[must_use]
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(format_duration_ms(0.25), "250 µs");
        assert_eq!(format_duration_ms(12.34), "12.3 ms");
        assert_eq!(format_duration_ms(4567.0), "4.57 s");
        assert_eq!(format_duration_ms(192_000.0), "3 m 12 s");
        assert_eq!(format_duration_ms(7_500_000.0), "2 h 05 m");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_count(-1000), "-1,000");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_cost(0.030969), "$0.0310");
        assert_eq!(format_cost(0.001161), "$0.001161");
    }
}
