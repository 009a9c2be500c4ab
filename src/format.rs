//! Human formatting of counts, costs, durations and time-axis offsets: one spelling for the
//! CLI, the app and the exports.

use crate::analysis::context::ContextPoint;
use crate::analysis::loops::{Loop, LoopKind, Waste};
use crate::analysis::slow::{SlowBasis, SlowReason};
use crate::analysis::stalls::{RunningStall, Stall};

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

/// `512 B`, `12.3 KB`, `4.56 MB`, `1.20 GB` (decimal units, as network speeds are given).
#[must_use]
pub fn format_bytes(n: u64) -> String {
    const UNITS: [(f64, &str); 3] = [(1e9, "GB"), (1e6, "MB"), (1e3, "KB")];
    let x = n as f64;
    for (size, unit) in UNITS {
        if x >= size {
            let v = x / size;
            return if v < 10.0 { format!("{v:.2} {unit}") } else { format!("{v:.1} {unit}") };
        }
    }
    format!("{n} B")
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

/// A stall in one line: `idle 36.00 s after read_file (step s4)`, `idle 12.00 s at the start`,
/// `idle 40.00 s after gpt-4o, to the end`. Labels are file text: escape them for one line or
/// Markdown.
#[must_use]
pub fn format_stall(stall: &Stall) -> String {
    let idle = format_duration_ms(stall.duration_ms());
    let after = match (&stall.after_label, &stall.after_kind) {
        (Some(label), _) if !label.is_empty() => Some(label.to_string()),
        (_, Some(kind)) => Some(kind.name().to_owned()),
        _ => None,
    };
    let mut text = match after {
        Some(after) => format!("idle {idle} after {after}"),
        None => format!("idle {idle} at the start"),
    };
    if let Some(step) = &stall.step {
        text.push_str(&format!(" (step {step})"));
    }
    if stall.at_end && stall.after.is_some() {
        text.push_str(", to the end");
    }
    text
}

/// A running session gone quiet: `stalled since 09:41 UTC: 12 m 30 s without an event (it
/// usually logs one within 4.20 s)`; the date is added when the silence is a day or more.
#[must_use]
pub fn format_running_stall(stall: &RunningStall) -> String {
    let since = stall.since.to_chrono();
    let when = if stall.silent_ms >= 24.0 * 3_600_000.0 {
        since.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        since.format("%H:%M UTC").to_string()
    };
    let usual = match stall.usual_gap_ms {
        Some(gap) => format!("it usually logs one within {}", format_duration_ms(gap)),
        None => "too few events to know its rhythm".to_owned(),
    };
    format!("stalled since {when}: {} without an event ({usual})", format_duration_ms(stall.silent_ms))
}

/// A loop in one line: `read_file ×5 with the same arguments in a row: 4 repeats wasted
/// 40.00 s, 2,000 tokens, $0.5000`. The tool names are file text.
#[must_use]
pub fn format_loop(l: &Loop) -> String {
    let calls = l.calls.len();
    let what = match l.kind {
        LoopKind::Repeat => format!("{} ×{calls} with the same arguments in a row", l.label()),
        LoopKind::InStep => format!("{} ×{calls} with the same arguments in one step", l.label()),
        LoopKind::Similar => format!(
            "{} ×{calls} with near-identical arguments in a row ({:.0} % alike or more)",
            l.label(),
            (l.min_similarity * 100.0).floor()
        ),
        LoopKind::Cycle => format!("cycle {} ×{} ({calls} calls)", l.label(), l.repeats + 1),
    };
    let repeats = if l.repeats == 1 { "1 repeat".to_owned() } else { format!("{} repeats", l.repeats) };
    format!("{what}: {repeats} wasted {}", format_waste(&l.waste))
}

/// A loop's waste: `40.00 s, 2,000 tokens, $0.5000` (wall time; `—` when untimed).
#[must_use]
pub fn format_waste(w: &Waste) -> String {
    let time = w.wall_ms.map_or_else(|| "— (untimed)".to_owned(), format_duration_ms);
    let tokens = w.input_tokens.saturating_add(w.output_tokens);
    format!("{time}, {} tokens, {}", format_count(tokens), format_cost(w.cost_usd))
}

/// A context point's tokens and window share: `64,000 tokens (50 % of 128,000)`.
#[must_use]
pub fn format_context_tokens(p: &ContextPoint) -> String {
    match (p.window.get(), p.window_share.get()) {
        (Some(window), Some(share)) => {
            format!("{} tokens ({:.0} % of {})", format_count(p.input_tokens), share * 100.0, format_count(window))
        }
        _ => format!("{} tokens", format_count(p.input_tokens)),
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
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(12_345), "12.3 KB");
        assert_eq!(format_bytes(4_560_000), "4.56 MB");
        assert_eq!(format_bytes(1_200_000_000), "1.20 GB");
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
    fn diagnosis_sentences() {
        use crate::analysis::SpanKind;
        let stall = Stall {
            start_ms: 20_000.0,
            end_ms: 56_000.0,
            after: Some(2),
            after_label: Some("read_file".into()),
            after_kind: Some(SpanKind::Tool),
            step: Some("s4".into()),
            at_end: false,
        };
        assert_eq!(format_stall(&stall), "idle 36.00 s after read_file (step s4)");
        let first = Stall { after: None, after_label: None, after_kind: None, step: None, ..stall.clone() };
        assert_eq!(format_stall(&first), "idle 36.00 s at the start");
        let last = Stall { step: None, at_end: true, ..stall };
        assert_eq!(format_stall(&last), "idle 36.00 s after read_file, to the end");
        let running = RunningStall {
            since: crate::time::parse_text("2026-11-20T09:41:07Z").map(|p| p.time).unwrap_or(crate::time::Timestamp(0)),
            silent_ms: 750_000.0,
            threshold_ms: 300_000.0,
            usual_gap_ms: Some(4200.0),
        };
        assert_eq!(
            format_running_stall(&running),
            "stalled since 09:41 UTC: 12 m 30 s without an event (it usually logs one within 4.20 s)"
        );
        let waste =
            Waste { wall_ms: Some(40_000.0), calls_ms: 8000.0, input_tokens: 2000, output_tokens: 0, cost_usd: 0.5 };
        let l = Loop {
            kind: LoopKind::Repeat,
            tools: vec!["read_file".into()],
            period: 1,
            calls: vec![1, 3, 5, 7, 9],
            repeats: 4,
            min_similarity: 1.0,
            step: None,
            waste,
        };
        assert_eq!(
            format_loop(&l),
            "read_file ×5 with the same arguments in a row: 4 repeats wasted 40.00 s, 2,000 tokens, $0.5000"
        );
        let cycle = Loop {
            kind: LoopKind::Cycle,
            tools: vec!["open".into(), "click".into()],
            period: 2,
            calls: (0..7).collect(),
            repeats: 2,
            ..l
        };
        assert_eq!(
            format_loop(&cycle),
            "cycle open → click ×3 (7 calls): 2 repeats wasted 40.00 s, 2,000 tokens, $0.5000"
        );
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
