//! Context growth: the input tokens of each LLM call across a session, the running cost, the
//! peak and its share of the model's context window, and sharp drops where the agent
//! summarised or reset its context.
//!
//! An LLM call is an LLM span, or any other span but the session and steps that names a model
//! and reports input tokens (a failed call). Calls are in time order (their first event's).

use arcstr::ArcStr;
use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::AnalyzedSession;
use crate::analysis::timeline::{SpanKind, Timeline};
use crate::model::{OptF64, OptI64, TraceEvent};

/// Context windows (tokens) of common models. A model matches its entry by name, lower-cased,
/// after any `provider/` prefix, or by the longest entry it starts with followed by `-`, `:`,
/// `@` or `.` (`gpt-4o-2024-08-06` is `gpt-4o`, `llama3.1:8b` is `llama3.1`).
pub const BUILTIN_WINDOWS: [(&str, u64); 24] = [
    ("gpt-4o", 128_000),
    ("gpt-4o-mini", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.1-mini", 1_047_576),
    ("gpt-5", 400_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
    ("claude-sonnet-4", 200_000),
    ("claude-opus-4", 200_000),
    ("claude-3-7-sonnet", 200_000),
    ("claude-3-5-sonnet", 200_000),
    ("claude-3-5-haiku", 200_000),
    ("gemini-2.0-flash", 1_048_576),
    ("gemini-2.5-pro", 1_048_576),
    ("gemini-2.5-flash", 1_048_576),
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-1.5-flash", 1_048_576),
    ("llama3.1", 128_000),
    ("llama3.2", 128_000),
    ("llama3.3", 128_000),
    ("mistral-large", 128_000),
    ("qwen2.5", 32_768),
];

/// Context windows by model: the built-in table, with overrides (an override of `gpt-4o`
/// does not change `gpt-4o-mini`, whose own entry is longer).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContextWindows {
    /// Model name (lower-case) → window; these win over the built-in table.
    pub overrides: HashMap<String, u64>,
}

impl ContextWindows {
    /// Sets the window of `model` (matched as the built-in entries are; a provider prefix such
    /// as `openai/` is dropped, as it is when looking up).
    pub fn set(&mut self, model: &str, tokens: u64) {
        self.overrides.insert(model_key(model), tokens);
    }

    /// The context window of `model`, `None` when unknown.
    #[must_use]
    pub fn window(&self, model: &str) -> Option<u64> {
        let key = model_key(model);
        let name = key.as_str();
        // The longest matching entry wins; an override wins over a built-in entry as long.
        let mut best: Option<(usize, u64)> = None;
        let builtin = BUILTIN_WINDOWS.iter().copied();
        for (key, tokens) in builtin.chain(self.overrides.iter().map(|(k, v)| (k.as_str(), *v))) {
            let fits = name == key || name.strip_prefix(key).is_some_and(|rest| rest.starts_with(['-', ':', '@', '.']));
            if fits && best.is_none_or(|(len, _)| key.len() >= len) {
                best = Some((key.len(), tokens));
            }
        }
        best.map(|(_, tokens)| tokens)
    }
}

/// The name a window is kept and looked up under: trimmed, lower-case, without a provider
/// prefix (`openai/gpt-4o` → `gpt-4o`).
#[must_use]
pub fn model_key(model: &str) -> String {
    let lower = model.trim().to_lowercase();
    lower.rsplit('/').next().unwrap_or(&lower).to_owned()
}

/// A number of tokens as a user types it: `128000`, `128,000`, `128_000`, `128k`, `1M`,
/// `1.5m`. `None` for anything else, zero, or more than 10^12.
#[must_use]
pub fn parse_tokens(text: &str) -> Option<u64> {
    let t: String = text.trim().chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
    let (number, scale) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1e3),
        'm' | 'M' => (&t[..t.len() - 1], 1e6),
        _ => (t.as_str(), 1.0),
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value = number.parse::<f64>().ok()? * scale;
    ((1.0..=1e12).contains(&value) && value.fract() == 0.0).then_some(value as u64)
}

/// When a fall in input tokens is a summarised or reset context.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ContextParams {
    /// A call whose input is at least this share smaller than the previous call's.
    pub drop_share: f64,
}

impl Default for ContextParams {
    fn default() -> Self {
        Self { drop_share: 0.40 }
    }
}

/// One LLM call's context.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextPoint {
    /// Index in [`Timeline::spans`].
    pub span: usize,
    /// 1-based, among the calls reporting input tokens.
    pub call: usize,
    /// The call's start from the session's origin (ms); none when untimed.
    pub offset_ms: OptF64,
    pub model: Option<ArcStr>,
    pub input_tokens: i64,
    pub output_tokens: OptI64,
    pub cost_usd: OptF64,
    /// Cost of the calls so far, this one included.
    pub running_cost_usd: f64,
    /// The model's context window, when known (windows are under 2^63 tokens).
    pub window: OptI64,
    /// `input_tokens` over the window.
    pub window_share: OptF64,
    /// The previous call's input, when this call's is a sharp drop from it.
    pub dropped_from: OptI64,
}

impl ContextPoint {
    /// The model's context window in tokens, when known.
    #[must_use]
    pub fn window_tokens(&self) -> Option<u64> {
        self.window.get().and_then(|w| u64::try_from(w).ok())
    }
}

/// The context growth of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ContextGrowth {
    pub points: Vec<ContextPoint>,
    /// Index in `points` of the largest input (the first such).
    pub peak: Option<usize>,
    /// Indices in `points` of the sharp drops.
    pub drops: Vec<usize>,
    /// LLM calls that report no input tokens (not in `points`).
    pub calls_without_input: usize,
    /// Each model of `points` once, in the order of its first call, with the window its calls
    /// were measured against.
    pub models: Vec<(ArcStr, Option<u64>)>,
}

impl ContextGrowth {
    /// The peak call.
    #[must_use]
    pub fn peak_point(&self) -> Option<&ContextPoint> {
        self.peak.and_then(|p| self.points.get(p))
    }
}

/// The context growth of `session`.
#[must_use]
pub fn context_growth(session: &AnalyzedSession, windows: &ContextWindows, params: &ContextParams) -> ContextGrowth {
    context_growth_of(&session.timeline, &session.data.events, windows, params)
}

/// [`context_growth`] over a timeline and its events.
#[must_use]
pub fn context_growth_of(
    timeline: &Timeline,
    events: &[TraceEvent],
    windows: &ContextWindows,
    params: &ContextParams,
) -> ContextGrowth {
    let mut calls: Vec<usize> = timeline
        .spans
        .iter()
        .enumerate()
        .filter(|(_, s)| match s.kind {
            SpanKind::Llm => true,
            SpanKind::Session | SpanKind::Step => false,
            _ => s.model(events).is_some() && s.events(events).any(|e| e.input_tokens().is_some()),
        })
        .map(|(i, _)| i)
        .collect();
    calls.sort_by_key(|&i| (timeline.spans[i].event, i));
    // At most one point a call, reserved at once: grown by doubling, a million-event session's
    // points passed through 11 and 23 MB copies at once before settling at 15.
    let mut growth = ContextGrowth { points: Vec::with_capacity(calls.len()), ..ContextGrowth::default() };
    let mut running = 0.0;
    // Windows by model name, looked up once each.
    let mut known: HashMap<&str, Option<u64>> = HashMap::new();
    for i in calls {
        let s = &timeline.spans[i];
        let input = s.events(events).filter_map(|e| e.input_tokens()).reduce(i64::saturating_add);
        let Some(input_tokens) = input else {
            growth.calls_without_input += 1;
            continue;
        };
        let output_tokens = s.events(events).filter_map(|e| e.output_tokens()).reduce(i64::saturating_add);
        let cost_usd = s.cost_usd(events);
        running += cost_usd.filter(|c| c.is_finite()).unwrap_or(0.0);
        let model_name = s.model(events);
        let window = model_name.and_then(|m| *known.entry(m).or_insert_with(|| windows.window(m)));
        let previous = growth.points.last().map(|p| p.input_tokens);
        let dropped_from = previous.filter(|&p| p > 0 && (input_tokens as f64) <= (1.0 - params.drop_share) * p as f64);
        let model = s.events(events).find_map(|e| e.model_shared().cloned());
        if dropped_from.is_some() {
            growth.drops.push(growth.points.len());
        }
        if growth.peak_point().is_none_or(|p| input_tokens > p.input_tokens) {
            growth.peak = Some(growth.points.len());
        }
        growth.points.push(ContextPoint {
            span: i,
            call: growth.points.len() + 1,
            offset_ms: s.timed.then_some(s.start_ms).into(),
            model,
            input_tokens,
            output_tokens: output_tokens.into(),
            cost_usd: cost_usd.into(),
            running_cost_usd: running,
            window: window.and_then(|w| i64::try_from(w).ok()).into(),
            window_share: window.filter(|&w| w > 0).map(|w| input_tokens as f64 / w as f64).into(),
            dropped_from: dropped_from.into(),
        });
    }
    growth.points.shrink_to_fit();
    for p in &growth.points {
        if let Some(m) = &p.model
            && !growth.models.iter().any(|(seen, _)| seen == m)
        {
            growth.models.push((m.clone(), p.window_tokens()));
        }
    }
    growth
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::{sample_session, span};
    use crate::model::CallUsage;
    use crate::time::Timestamp;

    #[test]
    fn windows_by_name_prefix_and_override() {
        let mut w = ContextWindows::default();
        assert_eq!(w.window("gpt-4o"), Some(128_000));
        assert_eq!(w.window("gpt-4o-mini"), Some(128_000));
        assert_eq!(w.window("openai/gpt-4o-2024-08-06"), Some(128_000));
        assert_eq!(w.window("Claude-Sonnet-4-20250514"), Some(200_000));
        assert_eq!(w.window("gemini-2.0-flash"), Some(1_048_576));
        assert_eq!(w.window("llama3.1:8b"), Some(128_000));
        assert_eq!(w.window("gpt-4.1-mini-2025"), Some(1_047_576), "the longest entry wins");
        assert_eq!(w.window("gpt-4o2"), None, "a prefix must end at a separator");
        assert_eq!(w.window("my-model"), None);
        w.set("my-model", 8_192);
        w.set("gpt-4o", 64_000);
        assert_eq!(w.window("my-model:latest"), Some(8_192));
        assert_eq!(w.window("gpt-4o-2024-08-06"), Some(64_000));
        assert_eq!(w.window("gpt-4o-mini"), Some(128_000), "the built-in longer match stays");
    }

    #[test]
    fn a_point_stays_small_and_serializes_its_options_as_before() {
        // A session of a million events has a hundred thousand and more of these.
        assert!(size_of::<ContextPoint>() <= 88, "ContextPoint is {} bytes", size_of::<ContextPoint>());
        let p = ContextPoint {
            span: 3,
            call: 1,
            offset_ms: None.into(),
            model: None,
            input_tokens: 10,
            output_tokens: Some(5).into(),
            cost_usd: Some(0.5).into(),
            running_cost_usd: 0.5,
            window: None.into(),
            window_share: None.into(),
            dropped_from: Some(40).into(),
        };
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["offset_ms"], serde_json::Value::Null);
        assert_eq!((json["output_tokens"].as_i64(), json["cost_usd"].as_f64()), (Some(5), Some(0.5)));
        assert_eq!((json["window"].is_null(), json["dropped_from"].as_i64()), (true, Some(40)));
    }

    #[test]
    fn tokens_as_typed() {
        assert_eq!(parse_tokens("128000"), Some(128_000));
        assert_eq!(parse_tokens(" 128,000 "), Some(128_000));
        assert_eq!(parse_tokens("128_000"), Some(128_000));
        assert_eq!(parse_tokens("128k"), Some(128_000));
        assert_eq!(parse_tokens("1M"), Some(1_000_000));
        assert_eq!(parse_tokens("1.5m"), Some(1_500_000));
        for bad in ["", "k", "0", "-5", "12.5", "1e6", "lots", "1.2.3k", "2000000000000"] {
            assert_eq!(parse_tokens(bad), None, "{bad:?}");
        }
        let mut w = ContextWindows::default();
        w.set("OpenAI/My-Model", 9_000);
        assert_eq!(w.window("my-model"), Some(9_000), "the provider prefix is not part of the key");
        assert_eq!(w.window("other/my-model-v2"), Some(9_000));
    }

    #[test]
    fn input_grows_peaks_and_drops_when_summarised() {
        // Five LLM calls, 10 s apart: 10k, 40k, 64k, 30k (a 53 % drop), 20k (33 %: not sharp).
        let inputs = [10_000, 40_000, 64_000, 30_000, 20_000];
        let mut spans = vec![span(SpanKind::Session, (0.0, 60_000.0), 0, None, 7)];
        let mut events = vec![TraceEvent::default()];
        for (k, input) in inputs.iter().enumerate() {
            let start = 10_000.0 * k as f64;
            let mut s = span(SpanKind::Llm, (start, start + 2000.0), 1, Some(0), k + 2);
            s.event = events.len();
            spans.push(s);
            events.push(TraceEvent {
                rare: crate::model::Rare::boxed(
                    CallUsage {
                        input_tokens: Some(*input).into(),
                        output_tokens: Some(500).into(),
                        cost_usd: Some(0.25).into(),
                        model_used: Some("gpt-4o".into()),
                        provider_used: None,
                    },
                    crate::model::Notes::default(),
                ),
                ..TraceEvent::default()
            });
        }
        // An LLM call without tokens is counted apart.
        let mut bare = span(SpanKind::Llm, (55_000.0, 56_000.0), 1, Some(0), 7);
        bare.event = events.len();
        spans.push(bare);
        events.push(TraceEvent::default());
        let t = Timeline { origin: Some(Timestamp(0)), spans, end_ms: 60_000.0, ..Timeline::default() };
        let g = context_growth_of(&t, &events, &ContextWindows::default(), &ContextParams::default());
        type Row = (usize, Option<f64>, i64, f64, Option<i64>);
        let got: Vec<Row> = g
            .points
            .iter()
            .map(|p| (p.call, p.offset_ms.get(), p.input_tokens, p.running_cost_usd, p.dropped_from.get()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, Some(0.0), 10_000, 0.25, None),
                (2, Some(10_000.0), 40_000, 0.5, None),
                (3, Some(20_000.0), 64_000, 0.75, None),
                (4, Some(30_000.0), 30_000, 1.0, Some(64_000)),
                (5, Some(40_000.0), 20_000, 1.25, None),
            ]
        );
        assert_eq!((g.peak, g.drops.clone(), g.calls_without_input), (Some(2), vec![3], 1));
        assert_eq!(g.peak_point().and_then(|p| p.window_share.get()), Some(0.5));
    }

    #[test]
    fn no_llm_calls_no_points() {
        let g = context_growth(&AnalyzedSession::default(), &ContextWindows::default(), &ContextParams::default());
        assert_eq!(g, ContextGrowth::default());
        // The sample session's one call, of an unknown model.
        let g = context_growth(&sample_session(), &ContextWindows::default(), &ContextParams::default());
        assert_eq!(g.points.len(), 1);
        assert_eq!((g.points[0].input_tokens, g.points[0].window.get(), g.peak), (1200, None, Some(0)));
    }
}
