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
//! The sessions spread over [`DemoConfig::spread_days`] (four weeks by default), and a week
//! before the end the agent changes: `web_search` calls take five times as long and most
//! sessions route to dearer models, so the Trends screen and `stats` show a slower tool and a
//! rise in cost.
//!
//! Runs of a varying length come with retakes, for comparing two runs: every fifth session
//! (not the newest) runs the task of the session before it again, from the same draws, with
//! ids of its own and one change, in turn: a tool call that fails once and is retried, a model
//! answering 2.2 times slower, an extra step, or a failure half way.

use std::path::Path;

use chrono::{DateTime, TimeZone as _, Utc};

use crate::writer::{TraceWriter, WriterError};

mod catalog;
mod retake;
mod rng;
mod session;
mod step;
mod trouble;
mod write;

use catalog::{MODELS, Model};
use retake::Retake;
use rng::{Id, Rng, text_pool};
use trouble::Trouble;

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
    /// Over how many days the sessions spread (0: one after the other). A week before the
    /// end of that span the agent changes: its web search answers five times slower
    /// and most sessions route to dearer models, so the trends have something to show.
    pub spread_days: u32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            sessions: 40,
            events_per_session: None,
            seed: 42,
            start: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH),
            raw_io: true,
            spread_days: 28,
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

const US_PER_DAY: i64 = 86_400_000_000;

/// The extra gap after each session that spreads them over [`DemoConfig::spread_days`].
fn spread_step_us(config: &DemoConfig) -> i64 {
    let gaps = i64::try_from(config.sessions.saturating_sub(1).max(1)).unwrap_or(i64::MAX);
    i64::from(config.spread_days).saturating_mul(US_PER_DAY) / gaps
}

/// When the agent changes: a week before the end of the spread (never with no spread).
fn change_at_us(config: &DemoConfig) -> i64 {
    if config.spread_days == 0 {
        return i64::MAX;
    }
    let days = i64::from(config.spread_days.saturating_sub(7).max(config.spread_days / 2));
    config.start.timestamp_micros().saturating_add(days.saturating_mul(US_PER_DAY))
}

/// Traces per transaction while generating.
const CHUNK_TRACES: usize = 50_000;

/// Generation state: the PRNG, the clock, the session's event budget and reusable buffers.
struct Generator<'c> {
    config: &'c DemoConfig,
    rng: Rng,
    pool: String,
    /// Start of the next session, µs since the epoch.
    next_start_us: i64,
    /// Added to the gap after each session, so the sessions spread over the configured days.
    spread_step_us: i64,
    /// Sessions starting from this time (µs since the epoch) see the change.
    change_at_us: i64,
    /// The session being written started after the change.
    after_change: bool,
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
            spread_step_us: spread_step_us(config),
            change_at_us: change_at_us(config),
            after_change: false,
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
}
