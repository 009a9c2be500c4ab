//! `stats` and `tasks` on a hand-written file with known answers: hour buckets, outcomes,
//! sums by model, exact p50/p95, bad values counted apart, task groups exact and normalized,
//! and the last bucket's regressions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::{Connection, params};
use serde_json::Value;

const SCHEMA: &str = "
CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL,
  completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL,
  timestamp TEXT NOT NULL, duration_ms REAL, parent_trace_id TEXT, data TEXT NOT NULL,
  input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL,
  raw_input TEXT, raw_output TEXT, created_at TEXT NOT NULL);";

/// Three hours of 2026-11-20 (UTC), with a bad value of every kind.
fn build(dir: &Path) -> PathBuf {
    let path = dir.join("stats.db");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(SCHEMA).expect("schema");
    let sessions: [(&str, &str, &str, Option<&str>, &str); 6] = [
        ("s1", "fix ticket 12", "2026-11-20T09:10:00+00:00", Some("2026-11-20T09:20:00+00:00"), "completed"),
        ("s2", "fix ticket 13", "2026-11-20T09:30:00.500000+00:00", Some("2026-11-20T09:40:00+00:00"), "failed"),
        // Not the reference form: parsed one by one, naive read as UTC.
        ("s3", "fix ticket 12", "2026-11-20 10:05:00", Some("2026-11-20 10:06:00"), "cancelled"),
        // An unreadable start: the first trace's time stands in.
        ("s4", "write docs", "garbage", None, "running"),
        // Neither a start nor traces: counted apart.
        ("s5", "write docs", "nonsense", None, "completed"),
        ("s6", "fix ticket 12", "2026-11-20T11:00:00+00:00", Some("2026-11-20T11:10:00+00:00"), "completed"),
    ];
    for (id, task, started, completed, status) in sessions {
        conn.execute(
            "INSERT INTO agent_trace_sessions VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, task, started, completed, status],
        )
        .expect("session");
    }
    let mut n = 0;
    let mut trace = |sid: &str,
                     kind: &str,
                     ts: rusqlite::types::Value,
                     dur: Option<f64>,
                     data: &str,
                     tokens: (Option<i64>, Option<i64>),
                     model: Option<&str>,
                     cost: rusqlite::types::Value| {
        n += 1;
        conn.execute(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, data, input_tokens, output_tokens, model_used, cost_usd, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'x')",
            params![format!("t{n}"), sid, kind, ts, dur, data, tokens.0, tokens.1, model, cost],
        )
        .expect("trace");
    };
    use rusqlite::types::Value::{Integer, Null, Real, Text};
    let t = |s: &str| Text(s.to_owned());
    let grep = r#"{"tool": "grep"}"#;
    // Hour 09.
    trace(
        "s1",
        "message",
        t("2026-11-20T09:11:00+00:00"),
        Some(5.0),
        "{}",
        (Some(100), Some(10)),
        Some("m1"),
        Real(0.5),
    );
    trace(
        "s1",
        "message",
        t("2026-11-20T09:12:00.250000+00:00"),
        Some(5.0),
        "{}",
        (Some(200), Some(20)),
        Some("m2"),
        Real(1.25),
    );
    for (i, d) in [10.0, 20.0, 30.0, 40.0].into_iter().enumerate() {
        trace(
            "s1",
            "tool_result",
            t(&format!("2026-11-20T09:1{}:00+00:00", i + 3)),
            Some(d),
            grep,
            (None, None),
            None,
            Null,
        );
    }
    trace("s2", "error", t("2026-11-20T09:31:00+00:00"), None, "{}", (None, None), None, Null);
    trace(
        "s2",
        "message",
        t("2026-11-20T09:32:00+00:00"),
        Some(5.0),
        "{}",
        (Some(-5), Some(7)),
        Some("m1"),
        Real(-1.0),
    );
    trace("s2", "tool_result", t("2026-11-20T09:33:00+00:00"), Some(-3.0), grep, (None, None), None, Null);
    // UTC by its ending, but no time: its group (session, hour, model) is counted apart.
    trace("s2", "message", t("2026-11-20T09:99:00+00:00"), Some(5.0), "{}", (None, None), Some("m3"), Real(4.0));
    // Hour 10: a naive timestamp, Unix seconds, an unreadable cost and an unreadable time.
    trace("s3", "message", t("2026-11-20 10:05:30"), Some(5.0), "{}", (Some(50), Some(5)), Some("m1"), Real(0.25));
    trace("s4", "message", Integer(1_795_170_600), Some(5.0), "{}", (None, None), Some("m1"), t("abc"));
    trace("s4", "tool_result", t("2026-11-20T10:31:00+00:00"), Some(100.0), grep, (None, None), None, Null);
    trace("s4", "message", t("not a time"), Some(5.0), "{}", (None, None), Some("m1"), Real(2.0));
    // Hour 11: grep got slow, the task dearer.
    trace("s6", "tool_result", t("2026-11-20T11:05:00+00:00"), Some(1000.0), grep, (None, None), None, Null);
    trace("s6", "message", t("2026-11-20T11:06:00+00:00"), Some(5.0), "{}", (Some(10), Some(1)), Some("m1"), Real(3.0));
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-inspector")).args(args).output().expect("run the binary")
}

fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = build(dir.path()).to_str().expect("utf-8").to_owned();
    (dir, path)
}

#[test]
fn stats_counts_each_hour_exactly_and_bad_values_apart() {
    let (_dir, f) = file();
    let doc = json(&["stats", &f, "--json"]);
    assert_eq!(doc["by"], "hour", "under three days of data: hours");
    let buckets = doc["buckets"].as_array().expect("buckets");
    let starts: Vec<&str> = buckets.iter().map(|b| b["start"].as_str().unwrap_or("")).collect();
    assert_eq!(starts, ["2026-11-20T09:00:00.000000Z", "2026-11-20T10:00:00.000000Z", "2026-11-20T11:00:00.000000Z"]);

    let nine = &buckets[0];
    let outcomes = &nine["sessions"];
    assert_eq!(
        (outcomes["started"].as_u64(), outcomes["completed"].as_u64(), outcomes["failed"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (nine["sessions_with_errors"].as_u64(), nine["error_events"].as_u64(), nine["traces"].as_u64()),
        (Some(1), Some(1), Some(9))
    );
    assert_eq!((nine["input_tokens"].as_i64(), nine["output_tokens"].as_i64()), (Some(300), Some(37)), "-5 left out");
    assert_eq!(nine["cost_usd"].as_f64(), Some(1.75), "-1 left out");
    let models: Vec<(&str, u64, f64)> = nine["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| {
            (
                m["model"].as_str().unwrap_or("?"),
                m["traces"].as_u64().unwrap_or(0),
                m["cost_usd"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(models, [("m2", 1, 1.25), ("m1", 2, 0.5), ("", 6, 0.0)]);
    let grep = &nine["tools"][0];
    assert_eq!(grep["tool"], "grep");
    // Nearest rank over 10, 20, 30, 40 (the -3 ms call is left out): p50 the 2nd, p95 the 4th.
    assert_eq!(
        (grep["calls"].as_u64(), grep["p50_ms"].as_f64(), grep["p95_ms"].as_f64()),
        (Some(4), Some(20.0), Some(40.0))
    );

    let ten = &buckets[1];
    let o = &ten["sessions"];
    assert_eq!((o["started"].as_u64(), o["cancelled"].as_u64(), o["running"].as_u64()), (Some(2), Some(1), Some(1)));
    assert_eq!(
        (ten["traces"].as_u64(), ten["input_tokens"].as_i64(), ten["cost_usd"].as_f64()),
        (Some(3), Some(50), Some(0.25))
    );
    assert_eq!((ten["tools"][0]["calls"].as_u64(), ten["tools"][0]["p95_ms"].as_f64()), (Some(1), Some(100.0)));

    let eleven = &buckets[2];
    assert_eq!((eleven["sessions"]["completed"].as_u64(), eleven["cost_usd"].as_f64()), (Some(1), Some(3.0)));

    let bad = &doc["bad"];
    assert_eq!(bad["sessions_without_start"].as_u64(), Some(1));
    assert_eq!(bad["traces_without_time"].as_u64(), Some(2));
    assert_eq!(bad["cost_without_time_usd"].as_f64(), Some(6.0));
    assert_eq!(bad["absurd_costs"].as_u64(), Some(2), "-1 and 'abc'");
    assert_eq!(bad["absurd_tokens"].as_u64(), Some(1));
    assert_eq!(bad["bad_durations"].as_u64(), Some(1));

    let text = String::from_utf8(run(&["stats", &f]).stdout).expect("utf-8");
    assert!(text.contains("1 sessions without a usable start time"), "{text}");
}

#[test]
fn stats_by_day_since_and_until() {
    let (_dir, f) = file();
    let day = json(&["stats", &f, "--json", "--by", "day"]);
    let buckets = day["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0]["sessions"]["started"].as_u64(), Some(5));
    assert_eq!(buckets[0]["cost_usd"].as_f64(), Some(5.0));
    assert_eq!(
        (buckets[0]["tools"][0]["calls"].as_u64(), buckets[0]["tools"][0]["p95_ms"].as_f64()),
        (Some(6), Some(1000.0))
    );

    let since = json(&["stats", &f, "--json", "--since", "2026-11-20T10"]);
    assert_eq!(since["buckets"].as_array().map(Vec::len), Some(2));
    let until = json(&["stats", &f, "--json", "--until", "2026-11-20T10"]);
    assert_eq!(until["buckets"].as_array().map(Vec::len), Some(1));
    let whole_day = json(&["stats", &f, "--json", "--until", "2026-11-20"]);
    assert_eq!(whole_day["buckets"].as_array().map(Vec::len), Some(3), "a date includes its day");

    let inside = run(&["stats", &f, "--since", "2026-11-20T10:30:00Z"]);
    assert_eq!(inside.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&inside.stderr).contains("whole hour"));
}

#[test]
fn regressions_list_what_rose_first() {
    let (_dir, f) = file();
    let doc = json(&["stats", &f, "--json"]);
    assert_eq!(doc["threshold_percent"].as_f64(), Some(20.0));
    let r = doc["regressions"].as_array().expect("regressions");
    let rows: Vec<(&str, &str, &str, f64, f64, bool)> = r
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap_or("?"),
                x["name"].as_str().unwrap_or("?"),
                x["metric"].as_str().unwrap_or("?"),
                x["earlier"].as_f64().unwrap_or(-1.0),
                x["last"].as_f64().unwrap_or(-1.0),
                x["rose"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // p95 of 10, 20, 30, 40, 100 is 100; the last hour's only call took 1000.
            ("tool", "grep", "tool_p95_ms", 100.0, 1000.0, true),
            // Runs before: $1.75 and $0.25; the last: $3.
            ("task", "fix ticket 12", "task_cost_per_run_usd", 1.0, 3.0, true),
            ("task", "fix ticket 12", "task_p95_duration_ms", 600_000.0, 600_000.0, false),
        ]
    );
    assert_eq!(r[0]["change"].as_f64(), Some(9.0));

    let high = json(&["stats", &f, "--json", "--threshold", "1000"]);
    assert!(high["regressions"].as_array().expect("array").iter().all(|x| x["rose"] == false));
    let text = String::from_utf8(run(&["stats", &f, "--regressions"]).stdout).expect("utf-8");
    assert!(text.starts_with("\nlast bucket against the earlier ones: 2 of 3"), "{text}");
}

#[test]
fn tasks_group_exactly_and_normalized() {
    let (_dir, f) = file();
    let doc = json(&["tasks", &f, "--json"]);
    assert_eq!(doc["normalized"], false);
    let tasks = doc["tasks"].as_array().expect("tasks");
    let names: Vec<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["fix ticket 12", "fix ticket 13", "write docs"], "costliest first");
    let fix = &tasks[0];
    assert_eq!((fix["runs"].as_u64(), fix["total_cost_usd"].as_f64()), (Some(3), Some(5.0)));
    assert_eq!(fix["success_rate"].as_f64(), Some(2.0 / 3.0));
    assert_eq!((fix["duration_p50_ms"].as_f64(), fix["duration_p95_ms"].as_f64()), (Some(600_000.0), Some(600_000.0)));
    assert_eq!((fix["cost_p50_usd"].as_f64(), fix["cost_p95_usd"].as_f64()), (Some(1.75), Some(3.0)));
    let trend: Vec<f64> =
        fix["cost_trend"].as_array().expect("trend").iter().map(|p| p["cost_usd"].as_f64().unwrap_or(-1.0)).collect();
    assert_eq!(trend, [1.75, 0.25, 3.0]);
    assert_eq!(fix["cost_trend"][0]["start"], "2026-11-20T09:10:00.000000Z");
    assert_eq!(fix["session_ids"], serde_json::json!(["s1", "s3", "s6"]));
    // The running run has no duration, and the unreadable time's $2 is still the run's cost.
    let docs = &tasks[2];
    assert_eq!(
        (docs["runs"].as_u64(), docs["total_cost_usd"].as_f64(), docs["duration_p50_ms"].as_f64()),
        (Some(2), Some(2.0), None)
    );

    let normalized = json(&["tasks", &f, "--json", "--normalize"]);
    let tasks = normalized["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        (tasks[0]["task"].as_str(), tasks[0]["runs"].as_u64(), tasks[0]["texts"].as_u64()),
        (Some("fix ticket #"), Some(4), Some(2))
    );
    assert_eq!(tasks[0]["outcomes"]["failed"].as_u64(), Some(1));
    assert_eq!(tasks[0]["total_cost_usd"].as_f64(), Some(9.0), "a trace without a usable time still costs its run");
}

#[test]
fn odd_files_are_counted_not_charted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd.db");
    let conn = Connection::open(&path).expect("create");
    // No sessions table, untyped columns, no duration, model or output tokens.
    conn.execute_batch("CREATE TABLE agent_traces (id, session_id, type, timestamp, data, cost_usd, input_tokens)")
        .expect("schema");
    use rusqlite::types::Value::{Blob, Integer, Null, Real, Text};
    let rows = [
        (
            "a",
            Text("s1".into()),
            "message",
            Text("2026-11-20T09:00:00+00:00".into()),
            Real(f64::INFINITY),
            Text("12".into()),
        ),
        ("b", Text("s1".into()), "error", Blob(vec![0, 255]), Real(0.5), Real(9e18)),
        ("c", Null, "message", Real(1_795_170_600.5), Integer(-2), Integer(-1)),
        ("d", Text("s2".into()), "message", Text("9999-01-01T00:00:00+00:00".into()), Real(0.25), Null),
    ];
    for (id, sid, kind, ts, cost, tokens) in rows {
        conn.execute(
            "INSERT INTO agent_traces VALUES (?1, ?2, ?3, ?4, 'not json', ?5, ?6)",
            params![id, sid, kind, ts, cost, tokens],
        )
        .expect("row");
    }
    drop(conn);
    let f = path.to_str().expect("utf-8");
    let doc = json(&["stats", f, "--json"]);
    let buckets = doc["buckets"].as_array().expect("buckets");
    let starts: Vec<&str> = buckets.iter().map(|b| b["start"].as_str().unwrap_or("")).collect();
    assert_eq!(starts, ["2026-11-20T09:00:00.000000Z", "2026-11-20T10:00:00.000000Z"]);
    assert_eq!((buckets[0]["traces"].as_u64(), buckets[0]["input_tokens"].as_i64()), (Some(1), Some(12)));
    assert_eq!(buckets[0]["cost_usd"].as_f64(), Some(0.0), "an infinite cost is left out");
    assert_eq!((buckets[1]["traces"].as_u64(), buckets[1]["sessions"]["other"].as_u64()), (Some(1), Some(1)));
    let bad = &doc["bad"];
    assert_eq!(bad["absurd_costs"].as_u64(), Some(2));
    assert_eq!(bad["absurd_tokens"].as_u64(), Some(2));
    assert_eq!(bad["traces_without_time"].as_u64(), Some(2), "a blob and the year 9999");
    assert_eq!(bad["cost_without_time_usd"].as_f64(), Some(0.75));
    assert_eq!(bad["sessions_without_start"].as_u64(), Some(1));
    assert_eq!(json(&["tasks", f, "--json"])["tasks"][0]["runs"].as_u64(), Some(3));

    let empty = dir.path().join("empty.db");
    Connection::open(&empty).expect("create").execute_batch(SCHEMA).expect("schema");
    let e = empty.to_str().expect("utf-8");
    let doc = json(&["stats", e, "--json"]);
    assert_eq!((doc["by"].as_str(), doc["buckets"].as_array().map(Vec::len)), (Some("hour"), Some(0)));
    assert_eq!(doc["regressions"].as_array().map(Vec::len), Some(0));
    assert_eq!(json(&["tasks", e, "--json"])["tasks"].as_array().map(Vec::len), Some(0));
}

/// The demo's sessions spread over four weeks, and `web_search` answers five times slower in
/// the last one: by week, it is the tool whose p95 rose most, and the week's cost per session
/// is above the earlier weeks' (most sessions moved to dearer models).
#[test]
fn the_demo_names_its_slower_tool_and_its_dearer_last_week() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let db = db.to_str().expect("utf-8");
    let out = run(&["demo", db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&["stats", db, "--by", "week", "--json"]);
    let buckets = doc["buckets"].as_array().expect("buckets");
    // 2026-11-20 plus 28 days: the weeks of Nov 16, 23, 30, Dec 7 and 14.
    assert_eq!(buckets.len(), 5);
    let rose_tools: Vec<&str> = doc["regressions"]
        .as_array()
        .expect("regressions")
        .iter()
        .filter(|x| x["kind"] == "tool" && x["rose"] == true)
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert_eq!(rose_tools.first(), Some(&"web_search"), "{rose_tools:?}");
    let per_session =
        |b: &Value| b["cost_usd"].as_f64().unwrap_or(0.0) / b["sessions"]["started"].as_f64().unwrap_or(1.0).max(1.0);
    let last = buckets.last().map(per_session).unwrap_or(0.0);
    let earlier: Vec<f64> = buckets.iter().take(3).map(per_session).collect();
    let mean = earlier.iter().sum::<f64>() / earlier.len() as f64;
    assert!(last > 1.5 * mean, "last week {last} against {earlier:?}");
}
