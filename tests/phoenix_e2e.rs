//! `push` into a real Arize Phoenix server, read back through Phoenix's REST API: the span count
//! per session, every parent link, the token and cost sums per session and the model names
//! match our own summary of the same file; a second push of the same sessions leaves what
//! Phoenix shows unchanged (our span ids are stable, and Phoenix keeps one span per id).
//!
//! Needs a running server: `bash scripts/phoenix.sh start`, `source target/phoenix.env`, then
//! `cargo test --test phoenix_e2e -- --ignored` (`.ci/run` does this). Without PHOENIX_URL the
//! ignored test fails rather than pass without checking anything.

#[path = "common/analyzed.rs"]
mod analyzed;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use analyzed::sessions;
use serde_json::Value;
use trace_inspector::analysis::SpanKind;
use trace_inspector::export::external::{external_spans, hex};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/skynette-40.db")
}

fn phoenix_url() -> String {
    match std::env::var("PHOENIX_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "PHOENIX_URL is not set: start Phoenix with `bash scripts/phoenix.sh start` and \
             `source target/phoenix.env` before running this test with --ignored"
        ),
    }
}

fn push(file: &Path, url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
        .args(["push", file.to_str().expect("utf-8 path"), "--endpoint", url])
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "push failed: {stderr}");
    stderr
}

fn get_json(agent: &ureq::Agent, url: &str) -> Value {
    let mut response = agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    let text = response.body_mut().with_config().limit(512 << 20).read_to_string().expect("a reply");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// Every span of Phoenix's default project, page by page.
fn read_spans(agent: &ureq::Agent, base: &str) -> Vec<Value> {
    let mut spans = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/projects/default/spans?limit=1000");
        if let Some(c) = &cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        let page = get_json(agent, &url);
        spans.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return spans,
        }
    }
}

/// Reads until Phoenix holds `until(spans)` (it stores what it receives in the background).
fn wait_for(agent: &ureq::Agent, base: &str, what: &str, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let spans = read_spans(agent, base);
        if until(&spans) {
            return spans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: Phoenix holds {} spans after 120 s",
            spans.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn hex_of(bytes: &[u8]) -> String {
    let mut buf = [0u8; 32];
    hex(bytes, &mut buf).to_owned()
}

fn attr<'v>(span: &'v Value, key: &str) -> Option<&'v Value> {
    span["attributes"].get(key).filter(|v| !v.is_null())
}

/// The spans Phoenix holds, by our session id.
fn by_session(spans: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut map: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for s in spans {
        let id = attr(s, "session.id").and_then(Value::as_str).unwrap_or("(none)");
        map.entry(id.to_owned()).or_default().push(s);
    }
    map
}

#[test]
#[ignore = "needs an Arize Phoenix server: bash scripts/phoenix.sh start (see the module doc)"]
fn pushed_sessions_read_back_from_phoenix_as_our_summary() {
    let base = phoenix_url();
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60))).build().into();
    let health = agent.get(&format!("{base}/healthz")).call().expect("Phoenix answers");
    assert_eq!(health.status().as_u16(), 200);
    let before = read_spans(&agent, &base);
    assert!(before.is_empty(), "a fresh Phoenix (scripts/phoenix.sh starts one): it holds {} spans", before.len());

    let file = fixture();
    let ours = sessions(&file);
    let expected: usize = ours.iter().map(|s| external_spans(s).spans.len()).sum();
    let said = push(&file, &base);
    assert!(said.contains(&format!("pushed {} sessions", ours.len())), "{said}");
    let spans = wait_for(&agent, &base, "first push", |s| s.len() >= expected);
    assert_eq!(spans.len(), expected, "every span once");

    let theirs = by_session(&spans);
    assert_eq!(theirs.len(), ours.len(), "one group per session: {:?}", theirs.keys().collect::<Vec<_>>());
    for session in &ours {
        let summary = &session.summary;
        let sid = summary.session_id.as_str();
        let got = theirs.get(sid).unwrap_or_else(|| panic!("session {sid} is in Phoenix"));
        let ext = external_spans(session);
        assert_eq!(got.len(), ext.spans.len(), "span count of {sid}");

        // Parent links: Phoenix's parent of each span is the one we sent.
        let trace_id = hex_of(&ext.trace_id);
        let parent_of: HashMap<String, Option<String>> = ext
            .spans
            .iter()
            .map(|s| {
                let parent = s.parent.and_then(|p| ext.spans.get(p)).map(|p| hex_of(&p.span_id));
                (hex_of(&s.span_id), parent)
            })
            .collect();
        for s in got {
            assert_eq!(s["context"]["trace_id"].as_str(), Some(trace_id.as_str()), "{sid}: one trace");
            let id = s["context"]["span_id"].as_str().expect("span_id");
            let sent = parent_of.get(id).unwrap_or_else(|| panic!("{sid}: span {id} was sent"));
            assert_eq!(s["parent_id"].as_str().map(str::to_owned), *sent, "{sid}: parent of {id}");
        }

        // Tokens and cost: the sums Phoenix holds are our summary's.
        let int_sum = |key: &str| got.iter().filter_map(|s| attr(s, key)?.as_i64()).sum::<i64>();
        assert_eq!(int_sum("llm.token_count.prompt"), summary.total_input_tokens, "{sid}: input tokens");
        assert_eq!(int_sum("llm.token_count.completion"), summary.total_output_tokens, "{sid}: output tokens");
        assert_eq!(int_sum("gen_ai.usage.input_tokens"), summary.total_input_tokens, "{sid}");
        assert_eq!(int_sum("llm.token_count.total"), summary.total_tokens, "{sid}: total tokens");
        let cost: f64 = got.iter().filter_map(|s| attr(s, "llm.cost.total")?.as_f64()).sum();
        let want = summary.total_cost_usd;
        assert!((cost - want).abs() <= 1e-9 * want.max(1.0), "{sid}: cost {cost} against {want}");

        // Models, and LLM calls as Phoenix's own span kind.
        let models: BTreeSet<&str> = got.iter().filter_map(|s| attr(s, "llm.model_name")?.as_str()).collect();
        let want: BTreeSet<&str> = summary.models_used.iter().map(String::as_str).collect();
        assert_eq!(models, want, "{sid}: models");
        let llm = got.iter().filter(|s| s["span_kind"] == "LLM").count();
        let calls = session.timeline.spans.iter().filter(|s| s.timed && s.kind == SpanKind::Llm).count();
        assert!(llm >= calls, "{sid}: {llm} LLM spans for {calls} calls");
    }

    // Again: the same ids, so Phoenix must still show each span once. A one-session file pushed
    // after it shows when Phoenix has taken in the second push (it stores in arrival order).
    let said = push(&file, &base);
    assert!(said.contains(&format!("pushed {} sessions", ours.len())), "{said}");
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("marker.db");
    let made = Command::new(env!("CARGO_BIN_EXE_trace-inspector"))
        .args(["demo", marker.to_str().expect("utf-8"), "--sessions", "1", "--seed", "7"])
        .output()
        .expect("demo");
    assert!(made.status.success());
    let marker_sessions = sessions(&marker);
    let marker_id = marker_sessions.first().map(|s| s.summary.session_id.clone()).expect("one session");
    let marker_spans: usize = marker_sessions.iter().map(|s| external_spans(s).spans.len()).sum();
    push(&marker, &base);
    wait_for(&agent, &base, "the marker after the second push", |s| {
        by_session(s).get(&marker_id).map(Vec::len) == Some(marker_spans)
    });
    std::thread::sleep(Duration::from_secs(2));
    let after_settled = read_spans(&agent, &base);
    assert_eq!(after_settled.len(), expected + marker_spans, "the second push doubled nothing");
    let again = by_session(&after_settled);
    for session in &ours {
        let sid = session.summary.session_id.as_str();
        assert_eq!(again.get(sid).map(Vec::len), theirs.get(sid).map(Vec::len), "{sid} after the second push");
    }
}
