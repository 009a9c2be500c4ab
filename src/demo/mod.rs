//! Deterministic demo data: realistic agent runs written through [`crate::writer`].
//!
//! The runs have the reference agent's shape (see `tests/data/skynette-40.db`): a
//! `trace_started` root; planning (`state_change`, `model_selected`, an LLM `message`,
//! `plan_created`); steps (`step_started` … `step_completed`) holding LLM calls and
//! `tool_called`/`tool_result` pairs, with tool failures followed by an `error`, model switches
//! and budget warnings; then `completed`, `cancelled` or a failure, and `trace_ended`. The
//! newest session is still running. Events with a duration are stamped when the work ended.
//!
//! So that each diagnosis has something to show, the context of each run grows call by call
//! (prompt, answers and tool results) until the agent summarises it (a sharp drop), and some
//! runs misbehave by design, by their place in the file ([`Trouble`]): a step that repeats one
//! call with the same arguments, one that retries a search with near-identical queries, one
//! that goes round two calls, and a long idle wait between steps.
//!
//! Everything but `created_at` (the write time) follows from [`DemoConfig::seed`] through a
//! small in-module PRNG, so the same configuration always gives the same data.
//!
//! Runs of a varying length come with retakes, for comparing two runs: every fifth session
//! (not the newest) runs the task of the session before it again, from the same draws, with
//! ids of its own and one change, in turn: a tool call that fails once and is retried, a model
//! answering 2.2 times slower, an extra step, or a failure half way.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, TimeZone as _, Utc};

use crate::writer::{TraceRow, TraceWriter, WriterError, push_json_str, push_timestamp};

mod catalog;
mod rng;

use catalog::{
    FAILURE_REASONS, MODELS, Model, PATHS, ROUTING_REASONS, SWITCH_REASONS, TASKS, TOOL_FAILURE_RATE,
    TOOL_OUTLIER_RATE, TOOLS, Tool, URLS,
};
use rng::{Id, Rng, text_pool};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    /// Number of sessions; the newest one is left running.
    pub sessions: usize,
    /// Exactly this many traces per session; `None` varies them between 15 and 80.
    pub events_per_session: Option<usize>,
    /// Same seed, same data.
    pub seed: u64,
    /// When the first session starts; the others follow with gaps.
    pub start: DateTime<Utc>,
    /// Fill `raw_input` / `raw_output` of LLM calls and tool results.
    pub raw_io: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            sessions: 40,
            events_per_session: None,
            seed: 42,
            start: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH),
            raw_io: true,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoStats {
    pub sessions: usize,
    pub traces: usize,
}

/// Writes demo sessions into `path` (created when missing).
///
/// # Errors
/// [`WriterError::NotEmpty`] when the file already holds sessions or traces (the CLI deletes
/// an old demo file first); [`WriterError::Sqlite`] when writing fails.
pub fn generate(path: &Path, config: &DemoConfig) -> Result<DemoStats, WriterError> {
    let mut writer = TraceWriter::create(path)?;
    let conn = writer.connection();
    let sessions: i64 = conn.query_row("SELECT count(*) FROM agent_trace_sessions", [], |row| row.get(0))?;
    let traces: i64 = conn.query_row("SELECT count(*) FROM agent_traces", [], |row| row.get(0))?;
    if sessions > 0 || traces > 0 {
        return Err(WriterError::NotEmpty { path: path.to_owned(), sessions, traces });
    }
    // A demo file is rebuilt rather than recovered after a crash, so skip the fsyncs; the big
    // page cache keeps the random-keyed id index in memory while millions of rows go in.
    conn.execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;")?;

    let mut generator = Generator::new(config);
    let mut next_session = 0;
    while next_session < config.sessions {
        // Whole sessions per transaction, about CHUNK_TRACES traces each: one transaction per
        // row would be a thousand times slower, one for everything would grow the WAL to the
        // size of the file.
        writer.in_transaction(|w| {
            let chunk_start = generator.traces;
            while next_session < config.sessions && generator.traces - chunk_start < CHUNK_TRACES {
                let newest = next_session + 1 == config.sessions;
                generator.session(w, newest)?;
                next_session += 1;
            }
            Ok(())
        })?;
    }
    // Fold the WAL into the main file so the demo is one self-contained file.
    writer.connection().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(DemoStats { sessions: config.sessions, traces: generator.traces })
}

/// Traces per transaction while generating.
const CHUNK_TRACES: usize = 50_000;

/// Every this many sessions, one is a retake of the session before it.
const RETAKE_EVERY: usize = 5;

/// What a retake changes, in turn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// The first tool call fails (a timeout) and is made again.
    RetriedTool,
    /// Every LLM call takes 2.2 times as long.
    SlowerModel,
    /// A step more after the first.
    ExtraStep,
    /// Half the steps, then a failure.
    FailurePartWay,
}

const CHANGES: [Change; 4] = [Change::RetriedTool, Change::SlowerModel, Change::ExtraStep, Change::FailurePartWay];

/// A session being written again, and whether its change was made yet.
struct Retake {
    change: Change,
    done: bool,
}

/// How a finished session ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
    Cancelled,
    Running,
}

impl Outcome {
    fn status(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Running => "running",
        }
    }
}

/// The content of one step, decided before it is written so that it can be trimmed to fit
/// an exact event count.
struct StepShape {
    /// LLM calls: the first before the tools, the second after.
    messages: usize,
    /// (tool index, fails) per tool call.
    tools: Vec<(usize, bool)>,
    model_switch: bool,
    budget_warning: bool,
    /// A misbehaving run's stuck step: these calls replace `tools`, an LLM call between each.
    stuck: Option<Stuck>,
}

/// What a misbehaving run does ([`Trouble`]) in its stuck step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stuck {
    /// The same call with the same arguments, this many times.
    Repeat(usize),
    /// A search retried with near-identical queries, this many times.
    Similar(usize),
    /// Two calls in turn, this many rounds.
    Cycle(usize),
}

impl Stuck {
    fn calls(self) -> usize {
        match self {
            Stuck::Repeat(n) | Stuck::Similar(n) => n,
            Stuck::Cycle(rounds) => 2 * rounds,
        }
    }
}

/// How a run misbehaves, by its place in the file: four runs in ten, never a retake or the
/// run a retake repeats (places 3 and 4 of every 5).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    Repeat,
    Similar,
    Cycle,
    /// A long wait between two steps (rate limit, a human to approve).
    Idle,
}

impl Trouble {
    fn of_session(index: usize) -> Trouble {
        match index % 10 {
            1 => Trouble::Repeat,
            2 => Trouble::Idle,
            6 => Trouble::Similar,
            7 => Trouble::Cycle,
            _ => Trouble::None,
        }
    }
}

impl StepShape {
    fn events(&self) -> usize {
        2 + self.messages
            + self.stuck.map_or(0, |s| 3 * s.calls() - 1)
            + self.tools.iter().map(|&(_, fails)| 2 + usize::from(fails)).sum::<usize>()
            + usize::from(self.model_switch)
            + usize::from(self.budget_warning)
    }

    /// Drops the least essential parts until the step has at most `events` events (≥ 2).
    fn trim_to(&mut self, events: usize) {
        while self.events() > events {
            if self.stuck.is_some() {
                self.stuck = None;
            } else if self.budget_warning {
                self.budget_warning = false;
            } else if self.model_switch {
                self.model_switch = false;
            } else if let Some(failing) = self.tools.iter_mut().find(|(_, fails)| *fails) {
                failing.1 = false;
            } else if !self.tools.is_empty() {
                self.tools.pop();
            } else if self.messages > 0 {
                self.messages -= 1;
            } else {
                break;
            }
        }
    }
}

/// LLM columns of a `message` event.
struct LlmUsage {
    model: &'static Model,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
}

/// Which columns besides the basics an event fills.
#[derive(Default)]
struct Extras<'m> {
    duration_ms: Option<f64>,
    usage: Option<&'m LlmUsage>,
    /// `model_used` / `provider_used` without usage (`model_selected`, `model_switched`).
    model: Option<&'static Model>,
    raw_input: bool,
    raw_output: bool,
}

/// Generation state: the PRNG, the clock, the session's event budget and reusable buffers.
struct Generator<'c> {
    config: &'c DemoConfig,
    rng: Rng,
    pool: String,
    /// Start of the next session, µs since the epoch.
    next_start_us: i64,
    /// Traces written so far.
    traces: usize,
    // Per session:
    session_id: Id,
    root: Option<Id>,
    model: &'static Model,
    /// Events still to write in this session …
    left: usize,
    /// … of which this many are kept for the ending (`completed`… and `trace_ended`).
    reserve: usize,
    /// Sessions started so far (picks each one's [`Trouble`]).
    session_index: usize,
    trouble: Trouble,
    /// Tokens in the agent's context: the next LLM call's input.
    context_tokens: f64,
    /// The context size at which the agent summarises it.
    summarise_at: f64,
    // Buffers reused for every event.
    data: String,
    timestamp: String,
    created_at: String,
    raw_input: String,
    raw_output: String,
    scratch: String,
    /// The `params` JSON of the next tool calls, when a stuck step fixes them.
    fixed_params: Option<String>,
    // Retakes:
    /// Sessions written so far.
    index: usize,
    /// The PRNG state the last session that was not a retake started from.
    last_start: [u64; 4],
    /// Draws for what a retake adds, so the rest repeats its original exactly …
    side: Rng,
    /// … and for its ids.
    retake_ids: Rng,
    retake: Option<Retake>,
}

impl<'c> Generator<'c> {
    fn new(config: &'c DemoConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let pool = text_pool(&mut rng);
        Self {
            config,
            rng,
            pool,
            next_start_us: config.start.timestamp_micros(),
            traces: 0,
            session_id: Id([b'0'; 36]),
            root: None,
            model: &MODELS[0],
            left: 0,
            reserve: 0,
            session_index: 0,
            trouble: Trouble::None,
            context_tokens: 0.0,
            summarise_at: 0.0,
            data: String::with_capacity(512),
            timestamp: String::with_capacity(32),
            created_at: String::with_capacity(32),
            raw_input: String::with_capacity(8192),
            raw_output: String::with_capacity(8192),
            scratch: String::with_capacity(256),
            fixed_params: None,
            index: 0,
            last_start: [0; 4],
            side: Rng::new(config.seed ^ 0x7e7a_4e5e_ed5c_a1e5),
            retake_ids: Rng::new(config.seed ^ 0x1d50_f7e7_a4e5),
            retake: None,
        }
    }

    /// Events that may still be spent on content.
    fn free(&self) -> usize {
        self.left.saturating_sub(self.reserve)
    }

    /// Writes one whole session, or a retake of the one before (see [`Change`]).
    fn session(&mut self, w: &TraceWriter, newest: bool) -> Result<(), WriterError> {
        let variable = self.config.events_per_session.is_none();
        let change = (variable && !newest && self.index % RETAKE_EVERY == RETAKE_EVERY - 1)
            .then(|| CHANGES[(self.index / RETAKE_EVERY) % CHANGES.len()]);
        // A retake starts from its original's draws; the main sequence goes on afterwards.
        let resume = match change {
            Some(_) => {
                let id = Id::random(&mut self.rng);
                Some((std::mem::replace(&mut self.rng.state, self.last_start), id))
            }
            None => {
                self.last_start = self.rng.state;
                None
            }
        };
        self.retake = change.map(|change| Retake { change, done: false });
        let written = self.session_once(w, newest, resume.map(|(_, id)| id));
        if let Some((state, _)) = resume {
            self.rng.state = state;
        }
        self.retake = None;
        self.index += 1;
        written
    }

    /// True while writing a retake with this change.
    fn changes(&self, change: Change) -> bool {
        self.retake.as_ref().is_some_and(|r| r.change == change)
    }

    /// Takes the retake's change when it is `change` and not made yet.
    fn take_change(&mut self, change: Change) -> bool {
        match self.retake.as_mut() {
            Some(r) if r.change == change && !r.done => {
                r.done = true;
                true
            }
            _ => false,
        }
    }

    /// Writes one session; `id` names a retake.
    fn session_once(&mut self, w: &TraceWriter, newest: bool, id: Option<Id>) -> Result<(), WriterError> {
        let outcome = if newest {
            Outcome::Running
        } else {
            match self.rng.weighted([0.84, 0.08, 0.08].into_iter()) {
                0 => Outcome::Completed,
                1 => Outcome::Failed,
                _ => Outcome::Cancelled,
            }
        };
        self.left = self.config.events_per_session.unwrap_or_else(|| self.rng.between(15, 80));
        let outcome = if self.changes(Change::FailurePartWay) { Outcome::Failed } else { outcome };
        self.reserve = if outcome == Outcome::Running { 0 } else { self.left.saturating_sub(1).min(2) };
        let drawn = Id::random(&mut self.rng);
        self.session_id = id.unwrap_or(drawn);
        self.root = None;
        self.model = &MODELS[self.rng.weighted(MODELS.iter().map(|m| m.weight))];
        self.trouble = Trouble::of_session(self.session_index);
        self.session_index += 1;
        self.context_tokens = self.rng.log_normal(1200.0, 0.5).clamp(200.0, 8_000.0);
        self.summarise_at = self.rng.log_normal(9_000.0, 0.5).clamp(4_000.0, 100_000.0);
        let task = *self.rng.pick(&TASKS);
        let start_us = self.next_start_us;
        w.start_session(self.session_id.as_str(), task, to_time(start_us))?;

        let mut now_us = start_us;
        let mut steps = 0;
        if self.left > 0 {
            self.data.clear();
            self.data.push_str("{\"task\": ");
            push_json_str(&mut self.data, task);
            self.data.push('}');
            self.root = Some(self.emit(w, "trace_started", now_us, None, &Extras::default())?);
            self.planning(w, &mut now_us)?;
            steps = self.steps(w, &mut now_us, outcome)?;
        }
        if outcome != Outcome::Running {
            let end_us = self.ending(w, &mut now_us, outcome, steps, start_us)?;
            w.end_session(self.session_id.as_str(), outcome.status(), to_time(end_us))?;
        }
        // Sessions follow each other: mostly a minute or two apart, now and then hours.
        let gap_s =
            if self.rng.chance(0.05) { self.rng.exponential(3.0 * 3600.0) } else { 2.0 + self.rng.exponential(90.0) };
        self.next_start_us = now_us + (gap_s * 1e6) as i64;
        Ok(())
    }

    /// `state_change`, `model_selected`, the planning LLM call, `plan_created`, `state_change`.
    fn planning(&mut self, w: &TraceWriter, now_us: &mut i64) -> Result<(), WriterError> {
        if self.free() == 0 {
            return Ok(());
        }
        *now_us += self.small_gap_us();
        self.state_change(w, *now_us, "planning")?;
        if self.free() == 0 {
            return Ok(());
        }
        *now_us += self.small_gap_us();
        let model = self.model;
        self.data.clear();
        self.data.push_str("{\"model\": ");
        push_json_str(&mut self.data, model.name);
        self.data.push_str(", \"provider\": ");
        push_json_str(&mut self.data, model.provider);
        self.data.push_str(", \"reason\": ");
        let reason = *self.rng.pick(&ROUTING_REASONS);
        push_json_str(&mut self.data, reason);
        self.data.push('}');
        let root = self.root;
        self.emit(w, "model_selected", *now_us, root, &Extras { model: Some(model), ..Extras::default() })?;
        if self.free() == 0 {
            return Ok(());
        }
        self.message(w, now_us, root)?;
        if self.free() == 0 {
            return Ok(());
        }
        // The plan names the steps the agent expects; long runs plan a dozen and keep going.
        let planned = (self.free() / 5).clamp(1, 12);
        self.data.clear();
        self.data.push_str("{\"plan\": {\"steps\": [");
        for i in 0..planned {
            if i > 0 {
                self.data.push_str(", ");
            }
            let _ = write!(self.data, "{{\"id\": \"s{i}\", \"description\": ");
            self.push_snippet(30, 70);
            self.data.push('}');
        }
        self.data.push_str("]}}");
        self.emit(w, "plan_created", *now_us, root, &Extras::default())?;
        if self.free() == 0 {
            return Ok(());
        }
        *now_us += self.small_gap_us();
        self.state_change(w, *now_us, "executing")
    }

    /// Steps until the budget is spent; returns how many were started.
    fn steps(&mut self, w: &TraceWriter, now_us: &mut i64, outcome: Outcome) -> Result<usize, WriterError> {
        let mut steps = 0;
        // A retake that fails part way stops with half its budget unspent.
        let stop_at = if self.changes(Change::FailurePartWay) { self.free() / 2 } else { 0 };
        while self.free() > stop_at {
            if self.free() == 1 && outcome != Outcome::Running {
                // One event left and no room for a step: a closing LLM call at the top level,
                // like the planning call.
                let root = self.root;
                self.message(w, now_us, root)?;
                break;
            }
            let mut shape = self.step_shape();
            if steps == 1 {
                shape.stuck = match self.trouble {
                    Trouble::Repeat => Some(Stuck::Repeat(4)),
                    Trouble::Similar => Some(Stuck::Similar(3)),
                    Trouble::Cycle => Some(Stuck::Cycle(3)),
                    Trouble::None | Trouble::Idle => None,
                };
            }
            if steps == 2 && self.trouble == Trouble::Idle {
                // Waiting on a rate limit or a human: a minute or three without any event.
                *now_us += self.rng.between(60_000_000, 180_000_000) as i64;
            }
            if outcome != Outcome::Running {
                shape.trim_to(self.free());
            }
            // A running session simply stops where its budget ends, mid-step if need be.
            self.step(w, now_us, steps, &shape)?;
            steps += 1;
            if self.take_change(Change::ExtraStep) {
                // Drawn aside, with its events added to the budget; no model switch, which would
                // change the rest of the run.
                std::mem::swap(&mut self.rng, &mut self.side);
                let mut extra = self.step_shape();
                extra.model_switch = false;
                extra.budget_warning = false;
                self.left += extra.events();
                let written = self.step(w, now_us, steps, &extra);
                std::mem::swap(&mut self.rng, &mut self.side);
                written?;
                steps += 1;
            }
        }
        Ok(steps)
    }

    fn step_shape(&mut self) -> StepShape {
        let messages = self.rng.weighted([0.25, 0.65, 0.10].into_iter());
        let tool_count = self.rng.weighted([0.10, 0.75, 0.12, 0.03].into_iter());
        let tools = (0..tool_count)
            .map(|_| (self.rng.weighted(TOOLS.iter().map(|t| t.weight)), self.rng.chance(TOOL_FAILURE_RATE)))
            .collect();
        StepShape {
            messages,
            tools,
            model_switch: self.rng.chance(0.04),
            budget_warning: self.rng.chance(0.03),
            stuck: None,
        }
    }

    /// Writes one step, stopping early only when the budget runs out (running sessions).
    fn step(&mut self, w: &TraceWriter, now_us: &mut i64, index: usize, shape: &StepShape) -> Result<(), WriterError> {
        *now_us += self.small_gap_us();
        let started_us = *now_us;
        self.data.clear();
        let _ = write!(self.data, "{{\"step_id\": \"s{index}\", \"description\": ");
        self.push_snippet(30, 70);
        self.data.push('}');
        let root = self.root;
        let step = self.emit(w, "step_started", started_us, root, &Extras::default())?;

        if shape.messages > 0 {
            if self.free() == 0 {
                return Ok(());
            }
            self.message(w, now_us, Some(step))?;
        }
        if let Some(stuck) = shape.stuck {
            return self.stuck_calls(w, now_us, step, index, stuck, started_us);
        }
        for &(tool, fails) in &shape.tools {
            if self.free() == 0 {
                return Ok(());
            }
            if self.take_change(Change::RetriedTool) {
                // The call fails once first: three more events, drawn aside.
                self.left += 3;
                std::mem::swap(&mut self.rng, &mut self.side);
                let written = self.tool_call(w, now_us, step, index, &TOOLS[tool], true);
                std::mem::swap(&mut self.rng, &mut self.side);
                written?;
            }
            self.tool_call(w, now_us, step, index, &TOOLS[tool], fails)?;
        }
        if shape.messages > 1 {
            if self.free() == 0 {
                return Ok(());
            }
            self.message(w, now_us, Some(step))?;
        }
        if shape.model_switch {
            if self.free() == 0 {
                return Ok(());
            }
            self.model_switch(w, *now_us, step)?;
        }
        if shape.budget_warning {
            if self.free() == 0 {
                return Ok(());
            }
            self.data.clear();
            let used = self.rng.between(8000, 9900);
            let _ = write!(self.data, "{{\"used\": {used}, \"max\": 10000}}");
            self.emit(w, "budget_warning", *now_us, root, &Extras::default())?;
        }
        if self.free() == 0 {
            return Ok(());
        }
        *now_us += self.small_gap_us();
        self.data.clear();
        let _ = write!(self.data, "{{\"step_id\": \"s{index}\", \"result\": ");
        self.push_snippet(20, 60);
        self.data.push('}');
        let duration_ms = (*now_us - started_us) as f64 / 1000.0;
        self.emit(
            w,
            "step_completed",
            *now_us,
            Some(step),
            &Extras { duration_ms: Some(duration_ms), ..Extras::default() },
        )?;
        Ok(())
    }

    /// One LLM call ending now + its duration, under `parent`.
    fn message(&mut self, w: &TraceWriter, now_us: &mut i64, parent: Option<Id>) -> Result<(), WriterError> {
        let model = self.model;
        // The prompt is the context so far; the answer joins it. Past the session's limit the
        // agent summarises: the next call starts from a quarter of it.
        let input_tokens = self.context_tokens.clamp(40.0, 120_000.0).round() as i64;
        let output_tokens = self.rng.log_normal(250.0, 0.8).clamp(5.0, 8_000.0).round() as i64;
        self.context_tokens += output_tokens as f64 + self.rng.log_normal(60.0, 0.5);
        if self.context_tokens > self.summarise_at {
            self.context_tokens *= 0.25;
        }
        let cost_usd =
            input_tokens as f64 * model.usd_per_m_input / 1e6 + output_tokens as f64 * model.usd_per_m_output / 1e6;
        let mut duration_ms = (self.rng.log_normal(500.0, 0.5) + output_tokens as f64 * model.ms_per_output_token)
            * self.rng.log_normal(1.0, 0.25);
        if self.rng.chance(0.003) {
            // A provider retry hidden inside the call.
            duration_ms *= 5.0 + self.rng.unit() * 15.0;
        }
        if self.changes(Change::SlowerModel) {
            duration_ms *= 2.2;
        }
        *now_us += (duration_ms * 1000.0).round() as i64;
        self.data.clear();
        self.data.push_str("{\"role\": \"assistant\", \"content\": ");
        self.push_snippet(60, 220);
        self.data.push('}');
        let raw = self.config.raw_io;
        if raw {
            self.fill_raw_input(1100.0, 0.8);
            self.fill_raw_output(500.0, 0.8);
        }
        let usage = LlmUsage { model, input_tokens, output_tokens, cost_usd };
        let extras = Extras {
            duration_ms: Some(duration_ms),
            usage: Some(&usage),
            raw_input: raw,
            raw_output: raw,
            ..Extras::default()
        };
        self.emit(w, "message", *now_us, parent, &extras)?;
        Ok(())
    }

    /// `tool_called`, `tool_result` (and an `error` when it fails) inside step `step`.
    fn tool_call(
        &mut self,
        w: &TraceWriter,
        now_us: &mut i64,
        step: Id,
        step_index: usize,
        tool: &Tool,
        fails: bool,
    ) -> Result<(), WriterError> {
        *now_us += self.small_gap_us();
        self.data.clear();
        self.data.push_str("{\"tool\": ");
        push_json_str(&mut self.data, tool.name);
        self.data.push_str(", \"params\": ");
        match self.fixed_params.take() {
            Some(params) => {
                self.data.push_str(&params);
                self.fixed_params = Some(params);
            }
            None => self.push_tool_params(tool.name),
        }
        self.data.push('}');
        let call = self.emit(w, "tool_called", *now_us, Some(step), &Extras::default())?;
        if self.free() == 0 {
            return Ok(());
        }

        let mut duration_ms = self.rng.log_normal(tool.median_ms, tool.sigma);
        if self.rng.chance(TOOL_OUTLIER_RATE) {
            duration_ms *= 10.0 + self.rng.unit() * 40.0;
        }
        *now_us += (duration_ms * 1000.0).round() as i64;
        let reason = *self.rng.pick(&FAILURE_REASONS);
        self.data.clear();
        self.data.push_str("{\"tool\": ");
        push_json_str(&mut self.data, tool.name);
        if fails {
            self.data.push_str(", \"success\": false, \"result\": ");
            let _ = write!(self.scratch(), "error: {reason}");
            push_json_str(&mut self.data, &self.scratch);
        } else {
            self.data.push_str(", \"success\": true, \"result\": ");
            self.push_snippet(40, 120);
        }
        self.data.push('}');
        let raw = self.config.raw_io;
        if raw {
            self.fill_raw_output(900.0, 0.9);
        }
        let extras = Extras { duration_ms: Some(duration_ms), raw_output: raw, ..Extras::default() };
        self.emit(w, "tool_result", *now_us, Some(call), &extras)?;
        self.context_tokens += self.rng.log_normal(400.0, 0.8).min(20_000.0);

        if fails && self.free() > 0 {
            self.data.clear();
            let _ = write!(self.data, "{{\"step_id\": \"s{step_index}\", \"error\": ");
            let _ = write!(self.scratch(), "{} failed: {reason}", tool.name);
            push_json_str(&mut self.data, &self.scratch);
            self.data.push('}');
            self.emit(w, "error", *now_us, Some(step), &Extras::default())?;
        }
        Ok(())
    }

    /// A stuck step's calls, an LLM call deciding on each retry, then the step's end.
    fn stuck_calls(
        &mut self,
        w: &TraceWriter,
        now_us: &mut i64,
        step: Id,
        index: usize,
        stuck: Stuck,
        started_us: i64,
    ) -> Result<(), WriterError> {
        const QUERY: &str = "how to parse nested json arrays in rust with serde derive and borrowed str fields";
        const NEAR: [&str; 3] = ["", " fast", " example"];
        let tool_named = |name: &str| TOOLS.iter().find(|t| t.name == name).unwrap_or(&TOOLS[0]);
        let (read, search, browse) =
            (tool_named("read_file"), tool_named("web_search"), tool_named("browser_navigate"));
        let path = *self.rng.pick(&PATHS);
        let url = *self.rng.pick(&URLS);
        for k in 0..stuck.calls() {
            if k > 0 {
                if self.free() == 0 {
                    return Ok(());
                }
                self.message(w, now_us, Some(step))?;
            }
            if self.free() == 0 {
                return Ok(());
            }
            let mut params = String::new();
            let tool = match stuck {
                Stuck::Similar(_) => {
                    params.push_str("{\"q\": ");
                    push_json_str(&mut params, &format!("{QUERY}{}", NEAR[k % NEAR.len()]));
                    search
                }
                Stuck::Cycle(_) if k % 2 == 0 => {
                    params.push_str("{\"url\": ");
                    push_json_str(&mut params, url);
                    browse
                }
                Stuck::Repeat(_) | Stuck::Cycle(_) => {
                    params.push_str("{\"path\": ");
                    push_json_str(&mut params, path);
                    read
                }
            };
            params.push('}');
            self.fixed_params = Some(params);
            let written = self.tool_call(w, now_us, step, index, tool, false);
            self.fixed_params = None;
            written?;
        }
        if self.free() == 0 {
            return Ok(());
        }
        *now_us += self.small_gap_us();
        self.data.clear();
        let _ = write!(self.data, "{{\"step_id\": \"s{index}\", \"result\": ");
        self.push_snippet(20, 60);
        self.data.push('}');
        let duration_ms = (*now_us - started_us) as f64 / 1000.0;
        let extras = Extras { duration_ms: Some(duration_ms), ..Extras::default() };
        self.emit(w, "step_completed", *now_us, Some(step), &extras)?;
        Ok(())
    }

    /// Switches to another model for the rest of the session.
    fn model_switch(&mut self, w: &TraceWriter, now_us: i64, step: Id) -> Result<(), WriterError> {
        let from = self.model;
        let to = &MODELS[self.rng.weighted(MODELS.iter().map(|m| if m.name == from.name { 0.0 } else { m.weight }))];
        self.model = to;
        self.data.clear();
        self.data.push_str("{\"from_model\": ");
        push_json_str(&mut self.data, from.name);
        self.data.push_str(", \"to_model\": ");
        push_json_str(&mut self.data, to.name);
        self.data.push_str(", \"reason\": ");
        let reason = *self.rng.pick(&SWITCH_REASONS);
        push_json_str(&mut self.data, reason);
        self.data.push('}');
        self.emit(w, "model_switched", now_us, Some(step), &Extras { model: Some(to), ..Extras::default() })?;
        Ok(())
    }

    /// The final event and `trace_ended`, as far as the budget goes; returns the end time.
    fn ending(
        &mut self,
        w: &TraceWriter,
        now_us: &mut i64,
        outcome: Outcome,
        steps: usize,
        start_us: i64,
    ) -> Result<i64, WriterError> {
        let root = self.root;
        if self.reserve >= 2 {
            self.reserve -= 1;
            self.data.clear();
            let kind = match outcome {
                Outcome::Completed | Outcome::Running => {
                    let _ = write!(self.data, "{{\"steps\": {steps}}}");
                    "completed"
                }
                Outcome::Cancelled => {
                    let reason = if self.rng.chance(0.8) { "user" } else { "timeout" };
                    let _ = write!(self.data, "{{\"status\": \"cancelled\", \"reason\": \"{reason}\"}}");
                    "cancelled"
                }
                Outcome::Failed => match self.rng.below(3) {
                    0 => {
                        let used = self.rng.between(10_001, 11_500);
                        let _ = write!(self.data, "{{\"used\": {used}, \"max\": 10000}}");
                        "budget_exceeded"
                    }
                    1 => {
                        let _ = write!(self.data, "{{\"iterations\": {steps}, \"max\": {steps}}}");
                        "iteration_limit"
                    }
                    _ => {
                        let tool = self.rng.pick(&TOOLS).name;
                        let _ =
                            write!(self.data, "{{\"error\": \"giving up after 3 retries: {tool} failed: timeout\"}}");
                        "error"
                    }
                },
            };
            self.emit(w, kind, *now_us, root, &Extras::default())?;
        }
        *now_us += self.small_gap_us();
        if self.reserve >= 1 {
            self.reserve -= 1;
            self.data.clear();
            self.data.push_str("{\"status\": ");
            push_json_str(&mut self.data, outcome.status());
            self.data.push('}');
            let duration_ms = (*now_us - start_us) as f64 / 1000.0;
            self.emit(
                w,
                "trace_ended",
                *now_us,
                root,
                &Extras { duration_ms: Some(duration_ms), ..Extras::default() },
            )?;
        }
        Ok(*now_us)
    }

    fn state_change(&mut self, w: &TraceWriter, at_us: i64, state: &str) -> Result<(), WriterError> {
        self.data.clear();
        self.data.push_str("{\"state\": ");
        push_json_str(&mut self.data, state);
        self.data.push('}');
        let root = self.root;
        self.emit(w, "state_change", at_us, root, &Extras::default())?;
        Ok(())
    }

    /// Writes one event with `self.data` (and the raw buffers when asked); returns its id.
    fn emit(
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
    fn small_gap_us(&mut self) -> i64 {
        self.rng.between(1_000, 9_000) as i64
    }

    /// The scratch buffer, emptied, for building short texts before escaping them.
    fn scratch(&mut self) -> &mut String {
        self.scratch.clear();
        &mut self.scratch
    }

    /// Appends a quoted one-line snippet of the pool, at most `max` bytes, starting at a word.
    fn push_snippet(&mut self, min: usize, max: usize) {
        let len = self.rng.between(min, max);
        let (start, end) = self.pool_span(len, true);
        let text = self.pool.get(start..end).unwrap_or_default();
        // Descriptions and results are one line: keep the longest.
        let line = text.split('\n').max_by_key(|line| line.len()).unwrap_or_default();
        push_json_str(&mut self.data, line.trim_end());
    }

    /// Fills the raw input buffer: a prompt of log-normal length (bytes).
    fn fill_raw_input(&mut self, median: f64, sigma: f64) {
        let len = self.rng.log_normal(median, sigma).clamp(40.0, 9_000.0) as usize;
        let (start, end) = self.pool_span(len, false);
        self.raw_input.clear();
        self.raw_input.push_str(self.pool.get(start..end).unwrap_or_default());
    }

    /// Fills the raw output buffer with text of log-normal length (bytes).
    fn fill_raw_output(&mut self, median: f64, sigma: f64) {
        let len = self.rng.log_normal(median, sigma).clamp(20.0, 9_000.0) as usize;
        let (start, end) = self.pool_span(len, false);
        self.raw_output.clear();
        self.raw_output.push_str(self.pool.get(start..end).unwrap_or_default());
    }

    /// A random byte range of the pool of about `len` bytes, on character boundaries (and
    /// starting after a space when `at_word`).
    fn pool_span(&mut self, len: usize, at_word: bool) -> (usize, usize) {
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
    fn push_tool_params(&mut self, tool: &str) {
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
fn to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}
