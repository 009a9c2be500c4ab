//! The time axis of the Gantt chart, without pixels: the time window's limits, fit and zoom,
//! where ticks go, and an axis with long idle stretches cut out ([`CutAxis`]). Times are `f64`
//! milliseconds from the session origin.

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
    // At the widest, both bounds are -margin, give or take a rounding: never let them cross.
    let lowest = -margin;
    let highest = (extent + margin - width).max(lowest);
    let start = view.0.clamp(lowest, highest);
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

/// A stretch of time the axis draws narrowed: `start_ms..end_ms` takes `width_ms` of axis time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    pub start_ms: f64,
    pub end_ms: f64,
    /// Axis time the stretch takes (at most its length).
    pub width_ms: f64,
}

impl Cut {
    /// The stretch's length in ms.
    #[must_use]
    pub fn length_ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }
}

/// An axis without cuts, to lend where one is needed.
pub static NO_CUTS: CutAxis = CutAxis::NONE;

/// The share of the uncut time one cut takes on the axis, when there are few.
const CUT_SHARE: f64 = 0.015;
/// All cuts together take at most this share of the uncut time.
const CUTS_SHARE: f64 = 0.25;

/// A time axis with stretches cut out (long idle stretches, "collapsed"): a monotone, piecewise
/// linear map from time to axis time and back. Before the first cut both are equal; a time in
/// a cut maps into the cut's narrow width; a time after a cut moves earlier by the cut's length
/// minus its width. Times are ms from the session origin; the chart maps axis time to x as it
/// maps time without cuts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CutAxis {
    /// Sorted, disjoint, each longer than its width.
    cuts: Vec<Cut>,
    /// Per cut: where it starts on the axis.
    axis_starts: Vec<f64>,
}

impl CutAxis {
    /// No cuts: axis time is time.
    pub const NONE: CutAxis = CutAxis { cuts: Vec::new(), axis_starts: Vec::new() };

    /// Cuts out `stretches` (start, end in ms) of a session `extent_ms` long. Each takes 1.5 %
    /// of the time left uncut (at least a tenth of the time cut; less when there are many: all
    /// of them at most a quarter), never more than its own length. Empty, reversed, overlapping or non-finite stretches are
    /// merged or left out.
    #[must_use]
    pub fn new(stretches: impl IntoIterator<Item = (f64, f64)>, extent_ms: f64) -> Self {
        let mut spans: Vec<(f64, f64)> =
            stretches.into_iter().filter(|(a, b)| a.is_finite() && b.is_finite() && b > a).collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(spans.len());
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        if merged.is_empty() {
            return Self::NONE;
        }
        let removed: f64 = merged.iter().map(|(a, b)| b - a).sum();
        let kept = if extent_ms.is_finite() { (extent_ms - removed).max(0.0) } else { 0.0 };
        let share = CUT_SHARE.min(CUTS_SHARE / merged.len() as f64);
        // A session that is nearly all idle still gets cuts wide enough to see.
        let width = kept.max(removed * 0.1) * share;
        let mut axis = Self::default();
        let mut before = 0.0;
        for (a, b) in merged {
            let cut = Cut { start_ms: a, end_ms: b, width_ms: width.min(b - a) };
            axis.axis_starts.push(a - before);
            before += cut.length_ms() - cut.width_ms;
            axis.cuts.push(cut);
        }
        axis
    }

    /// The cuts, in time order.
    #[must_use]
    pub fn cuts(&self) -> &[Cut] {
        &self.cuts
    }

    /// No cuts.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    /// The cut a time (or axis time) is in or after, with where it starts on the axis.
    fn cut_before(&self, k: usize) -> Option<(&Cut, f64)> {
        let k = k.checked_sub(1)?;
        Some((self.cuts.get(k)?, *self.axis_starts.get(k)?))
    }

    /// The axis time of time `ms`.
    #[must_use]
    pub fn to_axis(&self, ms: f64) -> f64 {
        let Some((c, start)) = self.cut_before(self.cuts.partition_point(|c| c.start_ms <= ms)) else { return ms };
        if ms < c.end_ms {
            start + (ms - c.start_ms) / c.length_ms() * c.width_ms
        } else {
            start + c.width_ms + (ms - c.end_ms)
        }
    }

    /// The time at axis time `axis_ms` (the inverse of [`Self::to_axis`]).
    #[must_use]
    pub fn to_time(&self, axis_ms: f64) -> f64 {
        let Some((c, start)) = self.cut_before(self.axis_starts.partition_point(|&a| a <= axis_ms)) else {
            return axis_ms;
        };
        if axis_ms < start + c.width_ms {
            c.start_ms + (axis_ms - start) / c.width_ms * c.length_ms()
        } else {
            c.end_ms + (axis_ms - start - c.width_ms)
        }
    }

    /// A window (start, end in ms) in axis time.
    #[must_use]
    pub fn view_to_axis(&self, view: (f64, f64)) -> (f64, f64) {
        (self.to_axis(view.0), self.to_axis(view.1))
    }

    /// A window in axis time back in time.
    #[must_use]
    pub fn view_to_time(&self, view: (f64, f64)) -> (f64, f64) {
        (self.to_time(view.0), self.to_time(view.1))
    }

    /// The parts of `range` (start, end in ms) outside the cuts, in order: where the axis runs
    /// at the scale of time, so ticks go there.
    #[must_use]
    pub fn uncut(&self, range: (f64, f64)) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut from = range.0;
        let first = self.cuts.partition_point(|c| c.end_ms <= range.0);
        for c in self.cuts.get(first..).unwrap_or_default().iter().take_while(|c| c.start_ms < range.1) {
            if c.start_ms > from {
                out.push((from, c.start_ms));
            }
            from = from.max(c.end_ms);
        }
        if range.1 > from {
            out.push((from, range.1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn the_widest_window_clamps_without_its_bounds_crossing() {
        // Zoomed all the way out, the start's two bounds are equal but for rounding; on this
        // session length (a demo run's 74,984.967 ms, where the app once stopped) the upper
        // came out below the lower.
        let mut crossed = 0;
        for extent in [74_984.967, 1.0, 0.3, 123_456.789, 3.6e6 + 0.1]
            .into_iter()
            .chain((1..2_000).map(|i| f64::from(i) * 37.123_457))
        {
            let max_width = extent * MAX_WINDOW_FACTOR;
            let margin = (max_width - extent) / 2.0;
            crossed += usize::from(extent + margin - max_width < -margin);
            let (start, end) = clamp_view((-1e12, 1e12), extent);
            assert!(close(end - start, max_width), "{extent}: {start}..{end}");
            assert!(close(start, -margin), "{extent}: starts at {start}, not {}", -margin);
        }
        assert!(crossed > 0, "no case reaches the rounding this guards against");
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

    #[test]
    fn a_cut_axis_narrows_its_stretches_and_shifts_what_follows() {
        // A 100 s session idle 20–60 s and 70–90 s: 40 s uncut, each cut 1.5 % of it (0.6 s).
        let axis = CutAxis::new([(70_000.0, 90_000.0), (20_000.0, 60_000.0)], 100_000.0);
        let w = 40_000.0 * 0.015;
        assert_eq!(axis.cuts().len(), 2);
        assert!(axis.cuts().iter().all(|c| close(c.width_ms, w)));
        // Before the first cut nothing moves.
        assert_eq!(axis.to_axis(10_000.0), 10_000.0);
        assert_eq!(axis.to_axis(20_000.0), 20_000.0);
        // A time in a cut maps into the cut.
        assert!(close(axis.to_axis(40_000.0), 20_000.0 + w / 2.0));
        // After a cut: earlier by the cut's length minus its width; after two, by both.
        assert!(close(axis.to_axis(65_000.0), 65_000.0 - (40_000.0 - w)));
        assert!(close(axis.to_axis(95_000.0), 95_000.0 - (40_000.0 - w) - (20_000.0 - w)));
        assert!(close(axis.to_axis(100_000.0), 40_000.0 + 2.0 * w));
        // The inverse agrees everywhere, cuts included, and order is kept.
        let mut previous = f64::NEG_INFINITY;
        for k in -10..=110 {
            let ms = f64::from(k) * 1000.0 + 0.25;
            let a = axis.to_axis(ms);
            assert!(a > previous, "monotone at {ms}");
            previous = a;
            assert!((axis.to_time(a) - ms).abs() < 1e-6, "{ms} → {a} → {}", axis.to_time(a));
        }
        // Ticks go in the uncut parts of a window.
        assert_eq!(axis.uncut((10_000.0, 80_000.0)), vec![(10_000.0, 20_000.0), (60_000.0, 70_000.0)]);
        assert_eq!(axis.uncut((30_000.0, 40_000.0)), vec![]);
        assert_eq!(CutAxis::NONE.uncut((1.0, 2.0)), vec![(1.0, 2.0)]);
    }

    #[test]
    fn cuts_merge_and_ignore_nonsense() {
        let axis = CutAxis::new([(10.0, 30.0), (20.0, 40.0), (50.0, 50.0), (f64::NAN, 1.0), (9.0, 5.0)], 100.0);
        let spans: Vec<(f64, f64)> = axis.cuts().iter().map(|c| (c.start_ms, c.end_ms)).collect();
        assert_eq!(spans, vec![(10.0, 40.0)]);
        assert!(CutAxis::new([], 100.0).is_empty());
        assert_eq!(CutAxis::NONE.to_axis(5.0), 5.0);
        assert_eq!(CutAxis::NONE.to_time(5.0), 5.0);
        // Many cuts share a quarter of the uncut time; none is wider than its stretch.
        let many = CutAxis::new((0..100).map(|k| (f64::from(k) * 10.0, f64::from(k) * 10.0 + 9.0)), 1000.0);
        let total: f64 = many.cuts().iter().map(|c| c.width_ms).sum();
        assert!(total <= 0.25 * 100.0 + 1e-9, "{total}");
        let tiny = CutAxis::new([(0.0, 0.001)], 1e9);
        assert!(tiny.cuts()[0].width_ms <= 0.001);
    }
}
