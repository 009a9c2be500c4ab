//! Writing rows: one event through [`crate::writer`] with the columns it fills, and the
//! texts that go into them (snippets of the pool, raw input and output, tool parameters).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::Generator;
use super::catalog::{Model, PATHS, URLS};
use super::rng::Id;
use crate::writer::{TraceRow, TraceWriter, WriterError, push_json_str, push_timestamp};

/// LLM columns of a `message` event.
pub(super) struct LlmUsage {
    pub(super) model: &'static Model,
    pub(super) input_tokens: i64,
    pub(super) output_tokens: i64,
    pub(super) cost_usd: f64,
}

/// Which columns besides the basics an event fills.
#[derive(Default)]
pub(super) struct Extras<'m> {
    pub(super) duration_ms: Option<f64>,
    pub(super) usage: Option<&'m LlmUsage>,
    /// `model_used` / `provider_used` without usage (`model_selected`, `model_switched`).
    pub(super) model: Option<&'static Model>,
    pub(super) raw_input: bool,
    pub(super) raw_output: bool,
}

impl Generator<'_> {
    pub(super) fn state_change(&mut self, w: &TraceWriter, at_us: i64, state: &str) -> Result<(), WriterError> {
        self.data.clear();
        self.data.push_str("{\"state\": ");
        push_json_str(&mut self.data, state);
        self.data.push('}');
        let root = self.root;
        self.emit(w, "state_change", at_us, root, &Extras::default())?;
        Ok(())
    }

    /// Writes one event with `self.data` (and the raw buffers when asked); returns its id.
    pub(super) fn emit(
        &mut self,
        w: &TraceWriter,
        kind: &str,
        at_us: i64,
        parent: Option<Id>,
        extras: &Extras<'_>,
    ) -> Result<Id, WriterError> {
        let id = Id::random(&mut self.rng);
        // A retake's ids are its own (the draw above keeps the sequence of its original).
        let id = if self.retake.is_some() { Id::random(&mut self.retake_ids) } else { id };
        self.timestamp.clear();
        push_timestamp(&mut self.timestamp, to_time(at_us));
        self.created_at.clear();
        push_timestamp(&mut self.created_at, Utc::now());
        let model = extras.usage.map(|u| u.model).or(extras.model);
        w.insert_row(&TraceRow {
            id: id.as_str(),
            session_id: self.session_id.as_str(),
            kind,
            timestamp: &self.timestamp,
            duration_ms: extras.duration_ms,
            parent_id: parent.as_ref().map(Id::as_str),
            data: &self.data,
            input_tokens: extras.usage.map(|u| u.input_tokens),
            output_tokens: extras.usage.map(|u| u.output_tokens),
            model: model.map(|m| m.name),
            provider: model.map(|m| m.provider),
            cost_usd: extras.usage.map(|u| u.cost_usd),
            raw_input: extras.raw_input.then_some(self.raw_input.as_str()),
            raw_output: extras.raw_output.then_some(self.raw_output.as_str()),
            created_at: &self.created_at,
        })?;
        self.traces += 1;
        self.left = self.left.saturating_sub(1);
        Ok(id)
    }

    /// A few milliseconds of agent bookkeeping between events.
    pub(super) fn small_gap_us(&mut self) -> i64 {
        self.rng.between(1_000, 9_000) as i64
    }

    /// The scratch buffer, emptied, for building short texts before escaping them.
    pub(super) fn scratch(&mut self) -> &mut String {
        self.scratch.clear();
        &mut self.scratch
    }

    /// Appends a quoted one-line snippet of the pool, at most `max` bytes, starting at a word.
    pub(super) fn push_snippet(&mut self, min: usize, max: usize) {
        let len = self.rng.between(min, max);
        let (start, end) = self.pool_span(len, true);
        let text = self.pool.get(start..end).unwrap_or_default();
        // Descriptions and results are one line: keep the longest.
        let line = text.split('\n').max_by_key(|line| line.len()).unwrap_or_default();
        push_json_str(&mut self.data, line.trim_end());
    }

    /// Fills the raw input buffer: a prompt of log-normal length (bytes).
    pub(super) fn fill_raw_input(&mut self, median: f64, sigma: f64) {
        let len = self.rng.log_normal(median, sigma).clamp(40.0, 9_000.0) as usize;
        let (start, end) = self.pool_span(len, false);
        self.raw_input.clear();
        self.raw_input.push_str(self.pool.get(start..end).unwrap_or_default());
    }

    /// Fills the raw output buffer with text of log-normal length (bytes).
    pub(super) fn fill_raw_output(&mut self, median: f64, sigma: f64) {
        let len = self.rng.log_normal(median, sigma).clamp(20.0, 9_000.0) as usize;
        let (start, end) = self.pool_span(len, false);
        self.raw_output.clear();
        self.raw_output.push_str(self.pool.get(start..end).unwrap_or_default());
    }

    /// A random byte range of the pool of about `len` bytes, on character boundaries (and
    /// starting after a space when `at_word`).
    pub(super) fn pool_span(&mut self, len: usize, at_word: bool) -> (usize, usize) {
        let pool = self.pool.as_str();
        let len = len.min(pool.len() / 2);
        let mut start = self.rng.below(pool.len() - len);
        while !pool.is_char_boundary(start) {
            start += 1;
        }
        if at_word && let Some(space) = pool.get(start..).and_then(|rest| rest.find(' ')) {
            start += space + 1;
        }
        let mut end = (start + len).min(pool.len());
        while !pool.is_char_boundary(end) {
            end -= 1;
        }
        (start, end.max(start))
    }

    /// Appends the `params` object of a call to `tool`.
    pub(super) fn push_tool_params(&mut self, tool: &str) {
        match tool {
            "read_file" => {
                self.data.push_str("{\"path\": ");
                let path = *self.rng.pick(&PATHS);
                push_json_str(&mut self.data, path);
                self.data.push('}');
            }
            "write_file" => {
                self.data.push_str("{\"path\": ");
                let path = *self.rng.pick(&PATHS);
                push_json_str(&mut self.data, path);
                let bytes = self.rng.between(80, 20_000);
                let _ = write!(self.data, ", \"bytes\": {bytes}}}");
            }
            "run_code" => {
                self.data.push_str("{\"language\": \"python\", \"code\": ");
                let rows = self.rng.between(2, 500);
                let _ = write!(self.scratch(), "import pandas as pd\nprint(df.head({rows}))");
                push_json_str(&mut self.data, &self.scratch);
                self.data.push('}');
            }
            "sql_query" => {
                self.data.push_str("{\"sql\": ");
                let limit = self.rng.between(1, 200);
                let _ =
                    write!(self.scratch(), "SELECT id, status, total FROM orders WHERE status = 'open' LIMIT {limit}");
                push_json_str(&mut self.data, &self.scratch);
                self.data.push('}');
            }
            "http_request" | "browser_navigate" => {
                if tool == "http_request" {
                    self.data.push_str("{\"method\": \"GET\", \"url\": ");
                } else {
                    self.data.push_str("{\"url\": ");
                }
                let url = *self.rng.pick(&URLS);
                push_json_str(&mut self.data, url);
                self.data.push('}');
            }
            _ => {
                // web_search, github_search
                self.data.push_str("{\"q\": ");
                self.push_snippet(12, 40);
                self.data.push('}');
            }
        }
    }
}

/// A time from µs since the epoch; saturates instead of failing far outside chrono's range.
pub(super) fn to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}
