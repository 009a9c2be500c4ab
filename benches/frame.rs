//! CPU time per frame of the views, headless: `egui::Context::run_ui` (layout, painting, hover
//! handling) plus `Context::tessellate`, in a 1600×1000 point viewport, over `FRAMES` frames
//! after a warm-up, the pointer moving a little every frame so hover code runs.
//!
//! Cases (one line each, `NAME spans=N median_ms=X p99_ms=Y`):
//! - `gantt_zoomed_out`: the Gantt chart of a session of about 100,000 spans, all of it shown,
//!   its label column (the span tree, all rows expanded) included;
//! - `gantt_mid_zoom`: the same chart zoomed to a fiftieth of the session, scrolled to its middle;
//! - `gantt_critical_path`: the whole chart with the critical path drawn and the rest dimmed;
//! - `gantt_loops_folded`: the whole chart with each loop folded into its first call (the rows
//!   the session model keeps, with their `×N loop` marks);
//! - `gantt_collapsed_idle`: the whole chart with its idle stretches cut out of the time axis
//!   (the stalls with no share of the run and the longest of 2 s, 500, 100 or 20 ms that finds
//!   at least 10);
//! - `compare`: the Compare screen's rows for that session against a copy with every 7th span
//!   slower, scrolled to the middle;
//! - `table`: the sessions table with 10,000 sessions;
//! - `trends`, `trends_hourly`: the Trends screen (three charts, the regressions and the task
//!   groups with their sparklines) over those 10,000 sessions, spread over four weeks: by day
//!   (the automatic width) and by hour.
//! - `gantt_zoomed_out_1m`, `gantt_mid_zoom_1m`, `gantt_critical_path_1m`,
//!   `gantt_loops_folded_1m`: the first four cases again over a session of 1,000,000 events
//!   (about 593,000 spans); `FRAME_SKIP_1M=1` leaves them out (generating and analysing that
//!   session takes about a minute and 600 MB).
//!
//! The data comes from `demo::generate` (no raw I/O, which the views never read) in a
//! temporary directory. Run with `cargo bench --bench frame`.

use std::time::Instant;

use egui::{Event, Pos2, RawInput, Rect, pos2, vec2};
use trace_inspector::analysis::axis::CutAxis;
use trace_inspector::analysis::compare::{CompareOptions, compare};
use trace_inspector::analysis::diagnosis::{DiagnosisParams, diagnose};
use trace_inspector::analysis::rows::visible_rows;
use trace_inspector::analysis::slow::SlowRule;
use trace_inspector::analysis::stalls::{StallParams, stalls};
use trace_inspector::analysis::tasks::task_groups;
use trace_inspector::analysis::trends::{Bucket, StatsParams, regressions, stats};
use trace_inspector::analysis::{self, AnalyzedSession, Anchor, SlowIndex};
use trace_inspector::app::screens::trends::{self, TrendsScreen};
use trace_inspector::compare_model::{CompareModel, Run};
use trace_inspector::demo::{self, DemoConfig};
use trace_inspector::model::SessionRow;
use trace_inspector::session_model::SessionModel;
use trace_inspector::store::Store;
use trace_inspector::ui::compare::CompareView;
use trace_inspector::ui::gantt::GanttView;
use trace_inspector::ui::rows::RowsInput;
use trace_inspector::ui::sessions_table::{SessionsTable, Sort};
use trace_inspector::ui::theme::Theme;

const SPANS: usize = 100_000;
/// About 1,000,000 events.
const MILLION_SPANS: usize = 593_000;
const SESSIONS: usize = 10_000;
const VIEW: (f32, f32) = (1600.0, 1000.0);
const WARM_UP: usize = 20;
const FRAMES: usize = 200;

/// Runs `FRAMES` timed frames of `draw` and returns the per-frame times in ms, sorted.
fn time_frames(mut draw: impl FnMut(&mut egui::Ui, usize)) -> Vec<f64> {
    let ctx = egui::Context::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(VIEW.0, VIEW.1));
    let mut times = Vec::with_capacity(FRAMES);
    for frame in 0..WARM_UP + FRAMES {
        // Wander over the middle of the view: rows, bars and tooltips get hovered.
        let wobble = (frame % 40) as f32;
        let pointer = pos2(VIEW.0 * 0.55 + wobble * 3.0, VIEW.1 * 0.45 + wobble);
        let input = RawInput {
            screen_rect: Some(screen),
            time: Some(frame as f64 / 60.0),
            predicted_dt: 1.0 / 60.0,
            events: vec![Event::PointerMoved(pointer)],
            ..RawInput::default()
        };
        let started = Instant::now();
        let output = ctx.run_ui(input, |ui| draw(ui, frame));
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if frame == WARM_UP + FRAMES - 1 && std::env::var_os("FRAME_DEBUG").is_some() {
            let vertices: usize = primitives
                .iter()
                .map(|p| match &p.primitive {
                    egui::epaint::Primitive::Mesh(m) => m.vertices.len(),
                    egui::epaint::Primitive::Callback(_) => 0,
                })
                .sum();
            eprintln!("last frame: {} primitives, {vertices} vertices", primitives.len());
        }
        std::hint::black_box(primitives);
        if frame >= WARM_UP {
            times.push(elapsed);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

fn report(name: &str, what: &str, count: usize, times: &[f64]) {
    let pick = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    println!("{name} {what}={count} median_ms={:.2} p99_ms={:.2}", pick(0.5), pick(0.99));
}

/// A session of about `SPANS` spans (pairs fold into one span: the demo's runs give about
/// 0.593 spans per event).
fn big_session(dir: &std::path::Path, spans: usize) -> AnalyzedSession {
    let path = dir.join(format!("frame-spans-{spans}.db"));
    let events = spans * 1000 / 593;
    let config = DemoConfig { sessions: 1, events_per_session: Some(events), raw_io: false, ..DemoConfig::default() };
    demo::generate(&path, &config).unwrap_or_else(|e| panic!("demo: {e}"));
    let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let list = store.list_sessions().unwrap_or_else(|e| panic!("{e}"));
    let row = list.sessions[0].as_ref().clone();
    let id = row.id.clone();
    let data = store.load_session(&id, Some(row)).unwrap_or_else(|e| panic!("{e}"));
    analysis::analyze(data, Anchor::Auto)
}

fn sessions(dir: &std::path::Path) -> (Vec<std::sync::Arc<SessionRow>>, SlowIndex) {
    let path = dir.join("frame-sessions.db");
    let config = DemoConfig { sessions: SESSIONS, raw_io: false, ..DemoConfig::default() };
    demo::generate(&path, &config).unwrap_or_else(|e| panic!("demo: {e}"));
    let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let rows = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions;
    let slow = SlowIndex::from_durations(&store.tool_durations().unwrap_or_else(|e| panic!("{e}")));
    (rows, slow)
}

/// The time axis uncut.
static NO_CUTS: CutAxis = CutAxis::NONE;

/// A session's rows shown whole: nothing collapsed, slow, selected or searched.
struct Whole {
    collapsed: Vec<bool>,
    slow: Vec<bool>,
    rows: Vec<usize>,
}

impl Whole {
    fn of(session: &AnalyzedSession) -> Self {
        let n = session.timeline.spans.len();
        let collapsed = vec![false; n];
        let rows = visible_rows(&session.timeline, &collapsed, None);
        Whole { collapsed, slow: vec![false; n], rows }
    }

    fn input<'a>(&'a self, session: &'a AnalyzedSession, theme: &'a Theme) -> RowsInput<'a> {
        RowsInput {
            session,
            rows: &self.rows,
            collapsed: &self.collapsed,
            selected: None,
            hits: &[],
            slow: &self.slow,
            slow_rule: SlowRule::default(),
            now_ms: None,
            on_path: &[],
            loop_calls: &[],
            cuts: &NO_CUTS,
            theme,
        }
    }
}

/// The Gantt chart's cases over one session (`suffix` tells the sizes apart): whole, zoomed
/// to a fiftieth, with the critical path, with its loops folded. Gives the session back, with
/// the rows and flags the later cases use.
fn gantt_cases(session: AnalyzedSession, theme: &Theme, suffix: &str) -> AnalyzedSession {
    let n = session.timeline.spans.len();
    let whole = Whole::of(&session);
    let input = whole.input(&session, theme);
    let rows = &whole.rows;

    let mut gantt = GanttView::new();
    let times = time_frames(|ui, _| {
        let _ = gantt.ui(ui, &input);
    });
    report(&format!("gantt_zoomed_out{suffix}"), "spans", n, &times);

    let mut gantt = GanttView::new();
    let extent = session.timeline.end_ms;
    let times = time_frames(|ui, frame| {
        if frame == 1 {
            // After the first frame the chart knows the session's length.
            gantt.zoom_by(50.0, extent / 2.0);
            gantt.scroll_to_row(rows.len() / 2);
        }
        let _ = gantt.ui(ui, &input);
    });
    report(&format!("gantt_mid_zoom{suffix}"), "spans", n, &times);
    if std::env::var_os("FRAME_DEBUG").is_some() {
        let (a, b) = gantt.view_range_ms();
        eprintln!("mid zoom shows {a:.0}..{b:.0} ms of {extent:.0} ms");
    }

    // The critical path drawn, the rest dimmed.
    let diagnosis = diagnose(&session, &DiagnosisParams::default());
    let mut on_path = vec![false; n];
    for span in diagnosis.critical_path.span_indices() {
        on_path[span] = true;
    }
    let path_input = RowsInput { on_path: &on_path, ..input };
    let mut gantt = GanttView::new();
    let times = time_frames(|ui, _| {
        let _ = gantt.ui(ui, &path_input);
    });
    report(&format!("gantt_critical_path{suffix}"), "spans", n, &times);
    drop(on_path);

    // Loops folded, as the session screen shows them by default.
    let model = SessionModel::with_diagnosis(session, diagnosis, std::time::Duration::ZERO, SlowRule::default());
    let folded_input =
        RowsInput { rows: &model.rows, loop_calls: &model.loop_calls, ..whole.input(&model.session, theme) };
    let mut gantt = GanttView::new();
    let times = time_frames(|ui, _| {
        let _ = gantt.ui(ui, &folded_input);
    });
    report(&format!("gantt_loops_folded{suffix}"), "rows", model.rows.len(), &times);
    eprintln!("loops folded: {} loops, {} of {n} spans shown", model.diagnosis.loops.loops.len(), model.rows.len());
    model.session
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let theme = Theme::new(true);
    let session = gantt_cases(big_session(dir.path(), SPANS), &theme, "");
    let whole = Whole::of(&session);
    let input = whole.input(&session, &theme);

    // The idle stretches cut out of the axis: the session's gaps over the longest threshold
    // (2 s, 500, 100, 20 ms) that finds at least 10 of them.
    let found = [2_000.0, 500.0, 100.0, 20.0]
        .into_iter()
        .map(|min_ms| stalls(&session, &StallParams { min_ms, min_share: 0.0 }))
        .find(|found| found.len() >= 10)
        .unwrap_or_default();
    let cuts = CutAxis::new(found.iter().map(|s| (s.start_ms, s.end_ms)), session.timeline.end_ms);
    let cut_input = RowsInput { cuts: &cuts, ..input };
    let mut gantt = GanttView::new();
    let times = time_frames(|ui, _| {
        let _ = gantt.ui(ui, &cut_input);
    });
    report("gantt_collapsed_idle", "cuts", cuts.cuts().len(), &times);
    let shortest = found.iter().map(|s| s.end_ms - s.start_ms).fold(f64::INFINITY, f64::min);
    eprintln!("collapsed idle: {} stalls of {shortest:.0} ms or more", found.len());

    // Two runs of that size compared: the session against a copy with every 7th span slower.
    let mut other = session.clone();
    for s in other.timeline.spans.iter_mut().step_by(7) {
        s.end_ms += 500.0;
    }
    let comparison = compare(&session, &other, &CompareOptions::default());
    let run = |session| Run { path: dir.path().join(format!("frame-spans-{SPANS}.db")), session };
    let model = CompareModel::new(run(session.clone()), run(other), comparison);
    let rows = model.comparison.rows.len();
    let mut view = CompareView::default();
    let times = time_frames(|ui, frame| {
        if frame == 0 {
            view.scroll_to(rows / 2);
        }
        let _ = view.ui(ui, &model, &theme);
    });
    report("compare", "rows", rows, &times);

    let (sessions, slow_index) = sessions(dir.path());
    let mut table = SessionsTable::default();
    let times = time_frames(|ui, _| {
        let _ = table.ui(ui, &sessions, Some(&slow_index), None, Sort::default(), &theme);
    });
    report("table", "sessions", sessions.len(), &times);

    // The Trends screen over the same file, counted as its job counts it.
    let store = Store::open(&dir.path().join("frame-sessions.db")).unwrap_or_else(|e| panic!("{e}"));
    let data = store.trend_data().unwrap_or_else(|e| panic!("{e}"));
    for (name, by) in [("trends", None), ("trends_hourly", Some(Bucket::Hour))] {
        let params = StatsParams { by, ..StatsParams::default() };
        let counted = stats(&data, &params);
        let buckets = counted.buckets.len();
        let mut screen =
            TrendsScreen::new(counted, task_groups(&data.sessions, false), regressions(&data, &params, 0.2, false), by);
        let times = time_frames(|ui, _| {
            let _ = trends::ui(ui, &mut screen, None, &sessions, &theme);
        });
        report(name, "buckets", buckets, &times);
    }

    drop((model, session, sessions, data));

    // A session of a million events (about 593,000 spans), unless FRAME_SKIP_1M is set: the
    // same Gantt cases, to show the chart's cost follows the pixels, not the spans.
    if std::env::var_os("FRAME_SKIP_1M").is_none() {
        drop(gantt_cases(big_session(dir.path(), MILLION_SPANS), &theme, "_1m"));
    }
}
