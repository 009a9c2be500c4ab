//! Human formatting of counts, costs, durations and time-axis offsets: one spelling for the
//! CLI, the app and the exports.

use crate::analysis::slow::{SlowBasis, SlowReason};

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

/// Why a call is slow, the one sentence every view and export gives:
/// `1 m 43 s — above browser_navigate's p95 of 1 m 29 s across this file (214 calls)`.
/// The tool name is file text: callers showing it on one line or in Markdown escape it.
#[must_use]
pub fn format_slow_reason(reason: &SlowReason) -> String {
    format!("{} — {}", format_duration_ms(reason.duration_ms), format_slow_basis(reason))
}

/// The rule half of [`format_slow_reason`]: `above browser_navigate's p95 of 1 m 29 s across
/// this file (214 calls)` or `above the 60.00 s slow threshold you set`.
#[must_use]
pub fn format_slow_basis(reason: &SlowReason) -> String {
    match reason.basis {
        SlowBasis::FileP95 { p95_ms, calls } => format!(
            "above {}'s p95 of {} across this file ({} {})",
            reason.tool,
            format_duration_ms(p95_ms),
            format_count(i64::try_from(calls).unwrap_or(i64::MAX)),
            if calls == 1 { "call" } else { "calls" }
        ),
        SlowBasis::Threshold { threshold_ms } => {
            format!("above the {} slow threshold you set", format_duration_ms(threshold_ms))
        }
    }
}

/// The slow rule in one line, for exports: what made a call slow here.
#[must_use]
pub fn format_slow_rule(threshold_ms: Option<f64>) -> String {
    match threshold_ms {
        Some(t) => format!(
            "A slow call is a tool call longer than its tool's p95 across this file, or than the {} threshold set.",
            format_duration_ms(t)
        ),
        None => "A slow call is a tool call longer than its tool's p95 across this file.".to_owned(),
    }
}

const SECOND_MS: f64 = 1000.0;
const MINUTE_MS: f64 = 60.0 * SECOND_MS;

/// Decimals needed to tell apart values `step` apart.
fn decimals(step: f64) -> usize {
    if !step.is_finite() || step >= 1.0 {
        return 0;
    }
    ((-step.log10() - 1e-9).ceil().max(0.0) as usize).min(9)
}

/// A time-axis tick label: the offset from the session start, `0`, `+250 µs`, `+1.5 s`,
/// `+2 m 30 s`, `+1 h 05 m`, with as many decimals as the tick step `step_ms` needs.
#[must_use]
pub fn format_offset_ms(ms: f64, step_ms: f64) -> String {
    // Ticks are multiples of the step; snapping removes float noise (59 999.999… is 1 m).
    let ms = if step_ms > 0.0 && step_ms.is_finite() { (ms / step_ms).round() * step_ms } else { ms };
    if ms == 0.0 || !ms.is_finite() {
        return "0".to_owned();
    }
    let sign = if ms < 0.0 { "-" } else { "+" };
    let a = ms.abs();
    let body = if a < 1.0 {
        let d = decimals(step_ms * 1000.0);
        format!("{:.d$} µs", a * 1000.0)
    } else if a < SECOND_MS {
        let d = decimals(step_ms);
        format!("{a:.d$} ms")
    } else if a < MINUTE_MS {
        let d = decimals(step_ms / SECOND_MS);
        format!("{:.d$} s", a / SECOND_MS)
    } else {
        clock_offset(a, step_ms)
    };
    format!("{sign}{body}")
}

/// `2 m 30 s`, `2 m 05.5 s`, `2 m`, `1 h 05 m`, `1 h`, `1 h 05 m 30 s`: seconds (with the
/// step's decimals) only while ticks are closer than a minute.
fn clock_offset(a: f64, step_ms: f64) -> String {
    let d = decimals(step_ms / SECOND_MS);
    // Integer units of the last decimal, so a carry never shows as "60 s".
    let scale = 10u64.pow(d as u32);
    let units = (a / SECOND_MS * scale as f64).round() as u64;
    let minutes_total = units / (60 * scale);
    let seconds = (units % (60 * scale)) as f64 / scale as f64;
    let (hours, minutes) = (minutes_total / 60, minutes_total % 60);
    let width = if d > 0 { d + 3 } else { 2 };
    if step_ms >= MINUTE_MS || seconds == 0.0 {
        // Minute ticks: round to the minute.
        let minutes_total = (a / MINUTE_MS).round() as u64;
        let (hours, minutes) = (minutes_total / 60, minutes_total % 60);
        return match (hours, minutes) {
            (0, m) => format!("{m} m"),
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m:02} m"),
        };
    }
    if hours == 0 {
        format!("{minutes} m {seconds:0width$.d$} s")
    } else {
        format!("{hours} h {minutes:02} m {seconds:0width$.d$} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::axis::HOUR_MS;

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

    #[test]
    fn a_slow_call_is_explained_in_one_sentence() {
        let p95 = SlowReason {
            tool: "browser_navigate".to_owned(),
            duration_ms: 103_000.0,
            basis: SlowBasis::FileP95 { p95_ms: 89_000.0, calls: 214 },
        };
        assert_eq!(
            format_slow_reason(&p95),
            "1 m 43 s — above browser_navigate's p95 of 1 m 29 s across this file (214 calls)"
        );
        let one = SlowReason { basis: SlowBasis::FileP95 { p95_ms: 89_000.0, calls: 1 }, ..p95.clone() };
        assert!(format_slow_reason(&one).ends_with("(1 call)"));
        let threshold = SlowReason { basis: SlowBasis::Threshold { threshold_ms: 60_000.0 }, ..p95 };
        assert_eq!(format_slow_reason(&threshold), "1 m 43 s — above the 1 m 00 s slow threshold you set");
    }

    #[test]
    fn tick_labels_are_human_offsets() {
        assert_eq!(format_offset_ms(0.0, 500.0), "0");
        assert_eq!(format_offset_ms(1500.0, 500.0), "+1.5 s");
        assert_eq!(format_offset_ms(2000.0, 1000.0), "+2 s");
        assert_eq!(format_offset_ms(150_000.0, 10_000.0), "+2 m 30 s");
        assert_eq!(format_offset_ms(120_000.0, 10_000.0), "+2 m");
        assert_eq!(format_offset_ms(125_500.0, 500.0), "+2 m 05.5 s");
        assert_eq!(format_offset_ms(0.25, 0.05), "+250 µs");
        assert_eq!(format_offset_ms(12.0, 2.0), "+12 ms");
        assert_eq!(format_offset_ms(1.25, 0.05), "+1.25 ms");
        assert_eq!(format_offset_ms(3_900_000.0, 5.0 * MINUTE_MS), "+1 h 05 m");
        assert_eq!(format_offset_ms(7_200_000.0, HOUR_MS), "+2 h");
        assert_eq!(format_offset_ms(3_930_000.0, 10_000.0), "+1 h 05 m 30 s");
        assert_eq!(format_offset_ms(-1500.0, 500.0), "-1.5 s");
        // Float noise in a tick's time does not leak into its label.
        assert_eq!(format_offset_ms(59_999.999_999, 10_000.0), "+1 m");
        assert_eq!(format_offset_ms(0.1 + 0.2, 0.1), "+300 µs");
        // Zoomed in at an hour's offset, the seconds get the step's decimals.
        assert_eq!(format_offset_ms(3_930_020.0, 20.0), "+1 h 05 m 30.02 s");
        assert_eq!(format_offset_ms(3_959_999.9, 100.0), "+1 h 06 m", "a round tick stays short");
    }
}
