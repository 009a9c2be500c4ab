//! Replays every fuzz corpus file and crash reproducer (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same bodies the fuzz targets run
//! (`trace_inspector::fuzzing`), so `cargo test` keeps guarding what fuzzing found.

use std::path::Path;

use trace_inspector::fuzzing;

/// Runs `body` on every file of the target's corpus and regressions; returns how many.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let dir = root.join(folder).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                // A fuzzer running beside the tests replaces corpus files as it reduces them.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            // A panic names the input, so it can be run again with `cargo fuzz run`.
            let result = std::panic::catch_unwind(|| body(&bytes));
            assert!(result.is_ok(), "{target}: {} fails", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn timestamp_corpus() {
    let n = replay("timestamp", fuzzing::timestamp);
    assert!(n >= 40, "only {n} timestamp inputs");
}

#[test]
fn data_json_corpus() {
    let n = replay("data_json", fuzzing::data_json);
    assert!(n >= 25, "only {n} data_json inputs");
}

#[test]
fn spans_corpus() {
    let n = replay("spans", fuzzing::spans);
    assert!(n >= 12, "only {n} spans inputs");
}

#[test]
fn open_db_corpus() {
    let n = replay("open_db", fuzzing::open_db);
    assert!(n >= 7, "only {n} open_db inputs");
}

/// The seeds are what they claim: a real database among them reads with its sessions.
#[test]
fn open_db_seeds_include_real_databases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/open_db");
    let databases = std::fs::read_dir(&dir)
        .expect("open_db corpus")
        .filter_map(Result::ok)
        .filter(|e| std::fs::read(e.path()).is_ok_and(|b| b.starts_with(b"SQLite format 3\0") && b.len() > 4096))
        .count();
    assert!(databases >= 4, "{databases} seed databases");
}
