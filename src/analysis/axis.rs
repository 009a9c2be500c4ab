//! The time axis of the Gantt chart, without pixels: the time window's limits, fit and zoom,
//! and where ticks go. Times are `f64` milliseconds from the session origin.

/// The narrowest time window (1 µs).
pub const MIN_WINDOW_MS: f64 = 0.001;
/// The widest window, as a multiple of the session length.
const MAX_WINDOW_FACTOR: f64 = 1.2;
/// Blank space left and right of the session when it is fitted, as a fraction of its length.
const FIT_MARGIN: f64 = 0.02;

/// Milliseconds in a second, a minute and an hour.
pub const SECOND_MS: f64 = 1000.0;
pub const MINUTE_MS: f64 = 60.0 * SECOND_MS;
pub const HOUR_MS: f64 = 60.0 * MINUTE_MS;

/// The whole session with a little margin.
#[must_use]
pub fn fit_view(extent_ms: f64) -> (f64, f64) {
    (-extent_ms * FIT_MARGIN, extent_ms * (1.0 + FIT_MARGIN))
}

/// Keeps a window between 1 µs and 1.2× the session wide, and overlapping the session.
#[must_use]
pub fn clamp_view(view: (f64, f64), extent_ms: f64) -> (f64, f64) {
    let extent = if extent_ms.is_finite() { extent_ms.max(MIN_WINDOW_MS) } else { 1.0 };
    let width = view.1 - view.0;
    if !width.is_finite() || !view.0.is_finite() || width <= 0.0 {
        return fit_view(extent);
    }
    let max_width = extent * MAX_WINDOW_FACTOR;
    let width = width.clamp(MIN_WINDOW_MS, max_width);
    let margin = (max_width - extent) / 2.0;
    let start = view.0.clamp(-margin, extent + margin - width);
    (start, start + width)
}

/// Zooms `view` by `factor` (> 1 zooms in) around `anchor_ms`, which keeps its screen position.
/// The width is limited to what [`clamp_view`] allows, so the anchor stays put even at a limit.
#[must_use]
pub fn zoom_view(view: (f64, f64), factor: f64, anchor_ms: f64, extent_ms: f64) -> (f64, f64) {
    let width = view.1 - view.0;
    if !(factor.is_finite() && factor > 0.0 && width > 0.0 && anchor_ms.is_finite()) {
        return view;
    }
    let max_width = extent_ms.max(MIN_WINDOW_MS) * MAX_WINDOW_FACTOR;
    let new_width = (width / factor).clamp(MIN_WINDOW_MS, max_width.max(MIN_WINDOW_MS));
    let scale = new_width / width;
    (anchor_ms - (anchor_ms - view.0) * scale, anchor_ms + (view.1 - anchor_ms) * scale)
}

/// The tick step: the smallest "nice" step at least `min_spacing_px` apart at this scale.
///
/// Nice is 1, 2 or 5 times a power of ten of a millisecond below a minute (1 µs … 50 s), then
/// 1, 2, 5, 10, 20 minutes, then 1, 2, 5 times a power of ten of an hour, so labels stay round
/// in the unit they are read in.
#[must_use]
pub fn tick_step_ms(ms_per_point: f64, min_spacing_px: f32) -> f64 {
    let min_step = ms_per_point * f64::from(min_spacing_px);
    if !min_step.is_finite() || min_step <= 0.0 {
        return SECOND_MS;
    }
    if min_step <= 50.0 * SECOND_MS {
        let power = 10f64.powf(min_step.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|&s| s >= min_step * (1.0 - 1e-9));
        return step.unwrap_or(power * 10.0).max(MIN_WINDOW_MS);
    }
    for minutes in [1.0, 2.0, 5.0, 10.0, 20.0] {
        if minutes * MINUTE_MS >= min_step {
            return minutes * MINUTE_MS;
        }
    }
    let hours = min_step / HOUR_MS;
    let power = 10f64.powf(hours.log10().floor().max(0.0));
    let m = [1.0, 2.0, 5.0, 10.0].into_iter().find(|&m| m * power >= hours).unwrap_or(10.0);
    m * power * HOUR_MS
}

/// The tick times in `view` for this step.
pub fn ticks(view: (f64, f64), step_ms: f64) -> impl Iterator<Item = f64> {
    let first = (view.0 / step_ms).ceil();
    let count = if step_ms > 0.0 && (view.1 - view.0) / step_ms < 10_000.0 {
        ((view.1 / step_ms).floor() - first + 1.0).max(0.0) as usize
    } else {
        0
    };
    (0..count).map(move |k| (first + k as f64) * step_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn zoom_keeps_the_anchor_at_its_place_in_the_window() {
        let view = (0.0, 10_000.0);
        let anchor = 2500.0;
        for factor in [2.0, 0.5, 1.1, 7.0] {
            let zoomed = zoom_view(view, factor, anchor, 10_000.0);
            assert!(close(zoomed.1 - zoomed.0, (10_000.0 / factor).min(12_000.0)), "{factor}: {zoomed:?}");
            assert!(close((anchor - zoomed.0) / (zoomed.1 - zoomed.0), 0.25), "{factor}: {zoomed:?}");
        }
        // At the limits the width stops, and the anchor still stays put.
        let tiny = zoom_view(view, 1e12, anchor, 10_000.0);
        assert!(close(tiny.1 - tiny.0, MIN_WINDOW_MS));
        assert!(((anchor - tiny.0) / (tiny.1 - tiny.0) - 0.25).abs() < 1e-6, "{tiny:?}");
        let wide = zoom_view(view, 1e-6, anchor, 10_000.0);
        assert!(close(wide.1 - wide.0, 12_000.0));
        // Nonsense leaves the window alone.
        assert_eq!(zoom_view(view, f64::NAN, anchor, 10_000.0), view);
        assert_eq!(zoom_view(view, 2.0, f64::INFINITY, 10_000.0), view);
    }

    #[test]
    fn views_are_clamped_to_the_session() {
        assert_eq!(clamp_view((0.0, 1e9), 10_000.0), (-1000.0, 11_000.0));
        let (a, b) = clamp_view((5000.0, 5000.0 + 1e-9), 10_000.0);
        assert!(close(b - a, MIN_WINDOW_MS) && close(a, 5000.0));
        // Panned far right: pulled back so the window still overlaps the session.
        assert_eq!(clamp_view((50_000.0, 51_000.0), 10_000.0), (10_000.0, 11_000.0));
        assert_eq!(clamp_view((f64::NAN, 1.0), 10_000.0), fit_view(10_000.0));
        assert_eq!(fit_view(10_000.0), (-200.0, 10_200.0));
    }

    /// A step is nice when it is 1, 2 or 5 × 10^k of a millisecond (below a minute), or 1, 2, 5,
    /// 10, 20 minutes, or 1, 2, 5 × 10^k hours.
    fn is_nice(step: f64) -> bool {
        let mantissa_ok = |v: f64| {
            let p = 10f64.powf(v.log10().floor());
            [1.0, 2.0, 5.0].iter().any(|m| close(v, m * p))
        };
        if step < MINUTE_MS {
            mantissa_ok(step)
        } else if step < HOUR_MS {
            [1.0, 2.0, 5.0, 10.0, 20.0].iter().any(|m| close(step, m * MINUTE_MS))
        } else {
            mantissa_ok(step / HOUR_MS)
        }
    }

    #[test]
    fn tick_steps_are_nice_and_at_least_80_px_apart() {
        let mut ms_per_point = 1e-6;
        while ms_per_point < 1e6 {
            let step = tick_step_ms(ms_per_point, 80.0);
            let px = step / ms_per_point;
            assert!(is_nice(step), "step {step} at {ms_per_point} ms/pt");
            assert!(px >= 80.0 * (1.0 - 1e-9), "step {step} only {px} px apart at {ms_per_point} ms/pt");
            ms_per_point *= 1.37;
        }
        // The smallest nice step that fits, not a bigger one.
        assert!(close(tick_step_ms(1.0, 80.0), 100.0));
        assert!(close(tick_step_ms(1.3, 80.0), 200.0));
        assert!(close(tick_step_ms(0.01, 80.0), 1.0));
        assert!(close(tick_step_ms(100.0, 80.0), 10_000.0));
        assert!(close(tick_step_ms(700.0, 80.0), MINUTE_MS));
        // 26.7 minutes needed: past 20 minutes comes the hour.
        assert!(close(tick_step_ms(20_000.0, 80.0), HOUR_MS));
        assert!(close(tick_step_ms(200_000.0, 80.0), 5.0 * HOUR_MS));
    }

    #[test]
    fn ticks_are_the_steps_multiples_in_the_window() {
        let t: Vec<f64> = ticks((-150.0, 1000.0), 200.0).collect();
        assert_eq!(t, vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!(ticks((0.0, 1e9), 1.0).count(), 0, "never tens of thousands");
        assert_eq!(ticks((0.0, 1000.0), 0.0).count(), 0);
    }
}
