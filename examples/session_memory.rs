//! Resident memory after each stage of opening a session: `cargo run --release --example session_memory FILE`.

// The allocator the app and the CLI use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_kb(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn stage(name: &str, base: usize, events: usize) -> usize {
    let live = rss_kb("VmRSS:");
    let above = live.saturating_sub(base) * 1024;
    println!(
        "{name:<22} rss {:7.1} MB  +{:7.1} MB  {:5.0} B/event  peak {:7.1} MB",
        live as f64 / 1024.0,
        above as f64 / 1e6,
        above as f64 / events.max(1) as f64,
        rss_kb("VmHWM:") as f64 / 1024.0
    );
    live
}

fn main() {
    use trace_inspector::analysis::diagnosis::{DiagnosisParams, diagnose};
    use trace_inspector::analysis::{self, Anchor};
    use trace_inspector::session_model::{SessionModel, SlowRule};
    let path = std::env::args().nth(1).unwrap_or_default();
    println!(
        "TraceEvent {} B, EventInfo {} B, Span {} B",
        size_of::<trace_inspector::model::TraceEvent>(),
        size_of::<trace_inspector::model::EventInfo>(),
        size_of::<analysis::Span>()
    );
    let store = trace_inspector::store::Store::open(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let row = store.list_sessions().unwrap_or_else(|e| panic!("{e}")).sessions[0].clone();
    let n = usize::try_from(row.event_count).unwrap_or(0);
    let base = stage("opened", 0, n);
    let t = std::time::Instant::now();
    let data = store.load_session(&row.id, Some(row.as_ref().clone())).unwrap_or_else(|e| panic!("{e}"));
    println!("  {:?}", t.elapsed());
    stage("loaded", base, n);
    let t = std::time::Instant::now();
    let s = analysis::analyze(data, Anchor::Auto);
    println!("  {:?}", t.elapsed());
    stage("analyzed", base, n);
    println!(
        "spans {} (cap {}), span_of_event cap {}",
        s.timeline.spans.len(),
        s.timeline.spans.capacity(),
        s.timeline.span_of_event.capacity()
    );
    // Each part of the diagnosis on its own, the peak reset before each (Linux: clear_refs 5).
    if std::env::var_os("PARTS").is_some() {
        use trace_inspector::analysis::{context, critical_path, loops, stalls};
        let params = DiagnosisParams::default();
        // Runs one part with the peak reset before it; what it keeps is counted, then dropped.
        let part = |name: &str, run: &dyn Fn() -> Box<dyn std::any::Any>| {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let t = std::time::Instant::now();
            let kept = run();
            println!("  {:?}", t.elapsed());
            stage(name, base, n);
            drop(kept);
        };
        part("  critical path", &|| Box::new(critical_path::critical_path(&s)));
        part("  stalls", &|| Box::new(stalls::stalls(&s, &params.stalls)));
        part("  loops", &|| Box::new(loops::find_loops(&s, &params.loops)));
        part("  context", &|| Box::new(context::context_growth(&s, &params.windows, &params.context)));
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    let d = diagnose(&s, &DiagnosisParams::default());
    stage("diagnosed", base, n);
    let mb = |count: usize, size: usize| (count * size) as f64 / 1e6;
    println!(
        "path segments {} ({:.1} MB), path spans kept {} ({:.1} MB), members {}, context points {} ({:.1} MB), loop calls {} ({:.1} MB), stalls {}",
        d.critical_path.segments.len(),
        mb(d.critical_path.segments.capacity(), size_of::<analysis::critical_path::Segment>()),
        d.critical_path.spans.len(),
        mb(d.critical_path.spans.capacity(), size_of::<analysis::critical_path::PathSpan>()),
        d.critical_path.members.len(),
        d.context.points.len(),
        mb(d.context.points.capacity(), size_of::<analysis::context::ContextPoint>()),
        d.loops.loops.iter().map(|l| l.calls.len()).sum::<usize>(),
        mb(d.loops.loops.iter().map(|l| l.calls.capacity()).sum::<usize>(), 8),
        d.stalls.len()
    );
    let t = std::time::Instant::now();
    let m = SessionModel::with_diagnosis(s, d, std::time::Duration::ZERO, SlowRule::default());
    println!("  model {:?} (on the UI thread)", t.elapsed());
    stage("model", base, n);
    drop(m);
}
