//! The Trends screen on the fixture: counted off the UI thread, every session in a bucket, the
//! bucket width switchable, Back to the table.

#[path = "common/app.rs"]
mod app_support;

use app_support::{fixture, opened_file, settle};
use egui_kittest::kittest::Queryable as _;
use trace_inspector::analysis::trends::Bucket;
use trace_inspector::app::{Command, Screen};

#[test]
fn trends_count_every_session_and_switch_bucket_width() {
    let mut h = opened_file(&fixture());
    let sessions = h.state().file.as_ref().map_or(0, |f| f.list.sessions.len()) as u64;
    h.get_by_label("Trends").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
    let started = |h: &egui_kittest::Harness<'_, trace_inspector::app::TraceApp>| {
        let t = &h.state().trends.as_ref().expect("trends").trends;
        (
            t.buckets.iter().map(|b| b.sessions.started).sum::<u64>() + t.bad.sessions_without_start,
            t.buckets.len(),
            t.by,
        )
    };
    // The fixture's 40 runs span about an hour: hourly buckets, every session in one of them.
    let (count, buckets, by) = started(&h);
    assert_eq!((count, by), (sessions, Bucket::Hour));
    assert!(buckets >= 1);
    h.get_by_label("Sessions started, by outcome");
    h.get_by_label("Cost, by model");
    h.get_by_label(&format!("Tasks ({})", h.state().trends.as_ref().map_or(0, |t| t.tasks.len())));
    // By day: one bucket, the same sessions.
    h.get_by_label("day").click();
    settle(&mut h);
    let (count, buckets, by) = started(&h);
    assert_eq!((count, buckets, by), (sessions, 1, Bucket::Day));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Sessions);
    h.state_mut().command(Command::Trends(None));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Trends);
}
