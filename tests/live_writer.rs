//! Reading never blocks the agent: a writer inserts at least 500 traces a second for 20 s in
//! WAL mode while the core and the CLI read the same file over and over.
//!
//! The writer must never see "database is locked" (any writer error fails the test), no read
//! may fail, the counts a reader sees only grow, and at the end a fresh read shows every
//! committed trace with its values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use trace_inspector::store::Store;
use trace_inspector::writer::{NewTrace, TraceWriter, WriterError};

/// How long the writer writes.
const WRITE_FOR: Duration = Duration::from_secs(20);
/// The pace the writer keeps: traces per second (the requirement is 500).
const TRACES_PER_SECOND: u64 = 800;
/// Traces per session before the writer ends it and starts the next.
const PER_SESSION: u64 = 2_000;
/// A CLI run that takes longer than this has stalled.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// What the writer committed, per session: (traces, input tokens).
type Committed = BTreeMap<String, (u64, i64)>;

fn trace(id: u64, session: &str) -> NewTrace {
    let kind = if id.is_multiple_of(2) { "tool_result" } else { "message" };
    NewTrace {
        id: format!("t{id:08}"),
        session_id: session.to_owned(),
        kind: kind.to_owned(),
        timestamp: Utc::now(),
        duration_ms: Some(12.5),
        parent_id: (id % 2 == 1).then(|| format!("t{:08}", id - 1)),
        data: json!({"tool": "read_file", "success": true, "n": id}),
        input_tokens: (kind == "message").then_some(10),
        output_tokens: (kind == "message").then_some(5),
        model: (kind == "message").then(|| "gpt-4o-mini".to_owned()),
        provider: None,
        cost_usd: None,
        raw_input: Some("x".repeat(200)),
        raw_output: None,
    }
}

/// Writes at [`TRACES_PER_SECOND`] for [`WRITE_FOR`]: odd ticks one autocommitted trace at a
/// time, even ticks a small batch in one transaction. Returns what it committed.
fn write(path: &Path) -> Result<(Committed, Duration), WriterError> {
    let mut writer = TraceWriter::create(path)?;
    let mut committed = Committed::new();
    let started = Instant::now();
    let mut next_id = 0u64;
    let mut session = String::new();
    let mut tick = 0u64;
    while started.elapsed() < WRITE_FOR {
        let current = format!("live-{}", next_id / PER_SESSION);
        if session != current {
            if !session.is_empty() {
                writer.end_session(&session, "completed", Utc::now())?;
            }
            writer.start_session(&current, "Live run", Utc::now())?;
            committed.insert(current.clone(), (0, 0));
            session = current;
        }
        // Keep to the pace: never more traces than the elapsed time allows.
        let due = (started.elapsed().as_secs_f64() * TRACES_PER_SECOND as f64) as u64 + 1;
        if next_id >= due {
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        tick += 1;
        let batch: Vec<NewTrace> = if tick % 2 == 1 {
            vec![trace(next_id, &session)]
        } else {
            let n = (due - next_id).clamp(1, 20).min(PER_SESSION - next_id % PER_SESSION);
            (next_id..next_id + n).map(|id| trace(id, &session)).collect()
        };
        if batch.len() == 1 {
            writer.save_trace(&batch[0])?;
        } else {
            writer.in_transaction(|w| batch.iter().try_for_each(|t| w.save_trace(t)))?;
        }
        let entry = committed.entry(session.clone()).or_default();
        entry.0 += batch.len() as u64;
        entry.1 += batch.iter().filter_map(|t| t.input_tokens).sum::<i64>();
        next_id += batch.len() as u64;
    }
    let took = started.elapsed();
    writer.end_session(&session, "completed", Utc::now())?;
    Ok((committed, took))
}

/// Counts per session through the core: list, then load each of the newest two sessions.
fn read_core(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    let store = Store::open(path).map_err(|e| e.to_string())?;
    let list = store.list_sessions().map_err(|e| e.to_string())?;
    for row in list.sessions.iter().take(2) {
        let data = store.load_session(&row.id, Some(row.as_ref().clone())).map_err(|e| e.to_string())?;
        // The load happens after the list: a writer may have added traces in between.
        if (data.events.len() as u64) < row.event_count {
            return Err(format!("{}: loaded {} events, the list said {}", row.id, data.events.len(), row.event_count));
        }
        if let Some(w) = data.warnings.first() {
            return Err(format!("{}: warning on writer-made data: {}", row.id, w.message));
        }
    }
    Ok(list.sessions.iter().map(|s| (s.id.clone(), s.event_count)).collect())
}

/// Counts per session through `sessions FILE --json`.
fn read_cli(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
        .args(["sessions".as_ref(), path.as_os_str(), "--json".as_ref()])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the CLI: {e}"))?;
    let started = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if started.elapsed() > CLI_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("sessions --json still running after {CLI_TIMEOUT:?}; killed"));
        }
        thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    let sessions: Vec<Value> = serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))?;
    Ok(sessions
        .iter()
        .map(|s| (s["id"].as_str().unwrap_or_default().to_owned(), s["event_count"].as_u64().unwrap_or(0)))
        .collect())
}

/// Reads again and again until `stop`; every read must succeed and no count may shrink.
fn reader(
    path: PathBuf,
    stop: Arc<AtomicBool>,
    read: fn(&Path) -> Result<BTreeMap<String, u64>, String>,
) -> Result<usize, String> {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        let counts = read(&path).map_err(|e| format!("read {reads}: {e}"))?;
        for (id, before) in &last {
            let now = counts.get(id).copied().unwrap_or(0);
            if now < *before {
                return Err(format!("read {reads}: {id} went from {before} to {now} traces"));
            }
        }
        last = counts;
        reads += 1;
    }
    Ok(reads)
}

#[test]
fn writer_at_500_per_second_is_never_blocked_by_readers() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("agent_traces.db");
    // The file exists before the readers start.
    drop(TraceWriter::create(&path).expect("create"));

    let stop = Arc::new(AtomicBool::new(false));
    let spawn = |name: &str, read: fn(&Path) -> Result<BTreeMap<String, u64>, String>| {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        thread::Builder::new().name(name.to_owned()).spawn(move || reader(path, stop, read)).expect("thread")
    };
    let readers = [spawn("core reader", read_core), spawn("core reader 2", read_core), spawn("cli reader", read_cli)];
    let writer = {
        let path = path.clone();
        thread::Builder::new().name("writer".to_owned()).spawn(move || write(&path)).expect("thread")
    };
    let written = writer.join().expect("writer thread");
    stop.store(true, Ordering::Relaxed);
    let reads: Vec<Result<usize, String>> = readers.into_iter().map(|r| r.join().expect("reader thread")).collect();

    let (committed, took) = match written {
        Ok(w) => w,
        Err(e) => panic!("the writer failed: {e}"),
    };
    for (name, result) in ["core reader", "core reader 2", "cli reader"].iter().zip(&reads) {
        match result {
            Ok(n) => assert!(*n >= 5, "{name} read only {n} times in {took:?}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let total: u64 = committed.values().map(|c| c.0).sum();
    let rate = total as f64 / took.as_secs_f64();
    assert!(took >= WRITE_FOR, "wrote for {took:?}");
    assert!(rate >= 500.0, "{total} traces in {took:?} is {rate:.0}/s");

    // A fresh read sees every committed trace, with its values.
    let store = Store::open(&path).expect("open");
    let list = store.list_sessions().expect("list");
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    assert_eq!(list.file.trace_count, total);
    assert_eq!(list.sessions.len(), committed.len());
    for row in &list.sessions {
        let (count, tokens) = committed.get(&row.id).copied().unwrap_or_else(|| panic!("unknown session {}", row.id));
        assert_eq!(
            (row.event_count, row.total_input_tokens, row.status.as_str()),
            (count, tokens, "completed"),
            "{}",
            row.id
        );
        let data = store.load_session(&row.id, Some(row.as_ref().clone())).expect("load");
        assert_eq!(data.events.len() as u64, count, "{}", row.id);
    }
    let cli = read_cli(&path).expect("final CLI read");
    assert_eq!(cli.values().sum::<u64>(), total);
    eprintln!(
        "wrote {total} traces in {took:.1?} ({rate:.0}/s); reads: core {:?}, core {:?}, cli {:?}",
        reads[0], reads[1], reads[2]
    );
}
