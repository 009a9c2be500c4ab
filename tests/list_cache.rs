//! The list cache (`store::ListCache`): a hit equals a fresh read; a corrupt entry, one of
//! another version, one for a file replaced under the path (renamed over, or copied over in
//! place at the same size), and one whose file lost rows are all dropped and the file read in
//! full; a folder that cannot be written leaves the CLI working with one warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use trace_inspector::analysis::SlowIndex;
use trace_inspector::demo::{DemoConfig, generate};
use trace_inspector::store::{CacheUse, ListCache, Live, Refresh, Store};

fn demo(dir: &Path, name: &str, sessions: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let config = DemoConfig { sessions, seed, raw_io: false, ..DemoConfig::default() };
    generate(&path, &config).expect("demo");
    path
}

fn through_cache(path: &Path, cache: &ListCache) -> (Live, CacheUse) {
    let store = Store::open(path).expect("open");
    let (live, used) = store.live_from_cache(cache, &mut |_| {}).expect("read");
    cache.save(&live).expect("save");
    (live, used)
}

fn assert_fresh(path: &Path, live: &Live) {
    let store = Store::open(path).expect("open");
    assert_eq!(live.list(), &store.list_sessions().expect("list"), "the list equals a fresh read");
    assert_eq!(live.models(), store.model_usage().expect("models"));
    assert_eq!(live.slow_index(), SlowIndex::from_durations(&store.tool_durations().expect("durations")));
}

fn is_miss(used: &CacheUse) -> bool {
    matches!(used, CacheUse::Miss(_))
}

/// Used with nothing new: as it was, or checked in full (the file's state too fresh to keep).
fn is_unchanged_hit(used: &CacheUse) -> bool {
    matches!(used, CacheUse::Hit(Refresh::Unchanged) | CacheUse::Checked(Refresh::Unchanged))
}

/// Waits until a file written just now counts as left alone (a second: its state can be kept).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

#[test]
fn a_cache_hit_equals_a_fresh_read_and_appends_since_are_added() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = ListCache::at(&dir.path().join("cache"));
    let path = demo(dir.path(), "a.db", 10, 1);
    let (_, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Miss("no cache entry".to_owned()));
    assert!(cache.entry(&std::fs::canonicalize(&path).expect("real")).exists());
    let (live, used) = through_cache(&path, &cache);
    // Written a moment ago: its state is not kept, so the entry is checked in full.
    assert_eq!(used, CacheUse::Checked(Refresh::Unchanged));
    assert_fresh(&path, &live);
    // Appended after the entry was written: read on top of it.
    let writer = trace_inspector::writer::TraceWriter::create(&path).expect("writer");
    writer.start_session("later", "a later run", chrono::Utc::now()).expect("session");
    drop(writer);
    let (live, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Checked(Refresh::Appended { traces: 0, sessions: 1 }));
    assert_fresh(&path, &live);
    assert!(live.list().sessions.iter().any(|s| s.id == "later"));
}

#[test]
fn bad_entries_are_dropped_and_the_file_read_in_full() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = ListCache::at(&dir.path().join("cache"));
    let path = demo(dir.path(), "b.db", 10, 2);
    through_cache(&path, &cache);
    let entry = cache.entry(&std::fs::canonicalize(&path).expect("real"));
    let good = std::fs::read(&entry).expect("entry");
    // Corrupt: one flipped byte in the middle, or cut short.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 1;
    for bad in [flipped, good[..good.len() / 2].to_vec(), Vec::new()] {
        std::fs::write(&entry, &bad).expect("write");
        let (live, used) = through_cache(&path, &cache);
        assert_eq!(used, CacheUse::Miss("cache entry corrupt or of another version".to_owned()));
        assert_fresh(&path, &live);
    }
    // Another format version (byte 8 is the format's low byte).
    let mut other = good.clone();
    other[8] = other[8].wrapping_add(1);
    std::fs::write(&entry, &other).expect("write");
    assert!(is_miss(&through_cache(&path, &cache).1));
    // Another app version: the version string follows the format.
    let mut other = good.clone();
    let at = 8 + 4 + 8;
    other[at] = b'9';
    std::fs::write(&entry, &other).expect("write");
    assert!(is_miss(&through_cache(&path, &cache).1));
    assert!(is_unchanged_hit(&through_cache(&path, &cache).1), "the rewritten entry is good");
}

#[test]
fn an_entry_for_a_replaced_file_is_never_used() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = ListCache::at(&dir.path().join("cache"));
    let path = demo(dir.path(), "c.db", 10, 3);
    through_cache(&path, &cache);
    // Renamed over the path: another inode.
    let other = demo(dir.path(), "other.db", 10, 4);
    std::fs::rename(&other, &path).expect("rename");
    let (live, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Miss("cache entry of a replaced file".to_owned()));
    assert_fresh(&path, &live);
    // Copied over in place: same inode, and the same size (same sessions and events).
    let same_size = |seed| {
        let p = dir.path().join(format!("s{seed}.db"));
        let config =
            DemoConfig { sessions: 10, events_per_session: Some(30), seed, raw_io: false, ..DemoConfig::default() };
        generate(&p, &config).expect("demo");
        p
    };
    let (one, two) = (same_size(5), same_size(6));
    std::fs::copy(&one, &path).expect("copy");
    through_cache(&path, &cache);
    assert_eq!(std::fs::metadata(&one).expect("one").len(), std::fs::metadata(&two).expect("two").len());
    std::fs::copy(&two, &path).expect("copy");
    let (live, used) = through_cache(&path, &cache);
    assert!(is_miss(&used), "a file copied over in place at the same size: {used:?}");
    assert_fresh(&path, &live);
}

#[test]
fn an_entry_whose_file_lost_rows_is_read_in_full() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = ListCache::at(&dir.path().join("cache"));
    let path = demo(dir.path(), "d.db", 10, 7);
    let (live, _) = through_cache(&path, &cache);
    let middle = live.list().sessions.get(5).expect("a session").id.clone();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute("DELETE FROM agent_traces WHERE session_id = ?1", [&middle]).expect("delete");
    drop(conn);
    let (live, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Miss("cache entry out of date: traces were deleted".to_owned()));
    assert_fresh(&path, &live);
}

#[test]
fn the_cli_lists_through_the_cache_and_a_folder_it_cannot_write_is_one_warning() {
    let dir = tempfile::tempdir().expect("dir");
    let path = demo(dir.path(), "e.db", 8, 8);
    let bin = env!("CARGO_BIN_EXE_trace-inspector");
    let run = |cache: &Path, extra: &[&str]| {
        let out = Command::new(bin)
            .args(["sessions", path.to_str().expect("utf-8"), "--json"])
            .args(extra)
            .env("TRACE_INSPECTOR_CACHE_DIR", cache)
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).expect("utf-8"), String::from_utf8(out.stderr).expect("utf-8"))
    };
    let cache = dir.path().join("cache");
    let (fresh, _) = run(&cache, &["--no-cache"]);
    assert!(!cache.exists(), "--no-cache writes nothing");
    let (first, _) = run(&cache, &[]);
    let (hit, _) = run(&cache, &[]);
    assert_eq!(first, fresh);
    assert_eq!(hit, fresh, "a cache hit prints what a fresh read prints");
    // A cache "folder" that is a file: nothing can be written under it.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"not a folder").expect("write");
    let (out, err) = run(&blocked, &[]);
    assert_eq!(out, fresh);
    assert_eq!(err.matches("cannot write the list cache").count(), 1, "{err}");
}

#[test]
fn a_file_left_alone_lists_from_the_cache_without_the_deep_check_and_any_write_is_seen() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = ListCache::at(&dir.path().join("cache"));
    let path = demo(dir.path(), "f.db", 10, 9);
    // Just written: no state kept, nothing listed from the cache alone.
    through_cache(&path, &cache);
    let store = Store::open(&path).expect("open");
    assert_eq!(store.list_from_cache(&cache).expect("list"), None);
    drop(store);
    settle();
    let (_, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Checked(Refresh::Unchanged), "checked in full once, its state kept");
    let (live, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Hit(Refresh::Unchanged), "as it was");
    assert_fresh(&path, &live);
    let store = Store::open(&path).expect("open");
    let fresh = store.list_sessions().expect("list");
    assert_eq!(store.list_from_cache(&cache).expect("list").as_ref(), Some(&fresh));
    drop(store);
    // Traces deleted in the middle (the ends and every session row in place), the file's
    // modification time then set back: its change time and header still move.
    let before = std::fs::metadata(&path).expect("meta").modified().expect("mtime");
    let middle = live.list().sessions.get(5).expect("a session").id.clone();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute("DELETE FROM agent_traces WHERE session_id = ?1", [&middle]).expect("delete");
    drop(conn);
    std::fs::File::options().write(true).open(&path).expect("file").set_modified(before).expect("set mtime");
    settle();
    let store = Store::open(&path).expect("open");
    assert_eq!(store.list_from_cache(&cache).expect("list"), None, "a write is never listed from the cache alone");
    drop(store);
    let (live, used) = through_cache(&path, &cache);
    assert_eq!(used, CacheUse::Miss("cache entry out of date: traces were deleted".to_owned()));
    assert_fresh(&path, &live);
    // A same-size file copied over in place, its times copied too.
    settle();
    through_cache(&path, &cache);
    let config = DemoConfig { sessions: 10, seed: 9, raw_io: false, ..DemoConfig::default() };
    let twin = dir.path().join("twin.db");
    generate(&twin, &config).expect("demo");
    let conn = rusqlite::Connection::open(&twin).expect("open");
    conn.execute("UPDATE agent_traces SET input_tokens = input_tokens + 1 WHERE rowid = 3", []).expect("update");
    drop(conn);
    let mtime = std::fs::metadata(&path).expect("meta").modified().expect("mtime");
    std::fs::copy(&twin, &path).expect("copy");
    std::fs::File::options().write(true).open(&path).expect("file").set_modified(mtime).expect("set mtime");
    settle();
    let store = Store::open(&path).expect("open");
    assert_eq!(store.list_from_cache(&cache).expect("list"), None, "a copy over the file is a write");
}
