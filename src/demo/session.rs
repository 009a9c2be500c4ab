//! One whole session: its start, the planning, steps until the budget is spent, and how it
//! ends.

use std::fmt::Write as _;

use super::Generator;
use super::catalog::{MODELS, ROUTING_REASONS, TASKS, TOOLS};
use super::retake::Change;
use super::rng::Id;
use super::trouble::{Stuck, Trouble};
use super::write::{Extras, to_time};
use crate::writer::{TraceWriter, WriterError, push_json_str};

/// How a finished session ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Completed,
    Failed,
    Cancelled,
    Running,
}

impl Outcome {
    pub(super) fn status(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Running => "running",
        }
    }
}

impl Generator<'_> {
    /// Writes one session; `id` names a retake.
    pub(super) fn session_once(&mut self, w: &TraceWriter, newest: bool, id: Option<Id>) -> Result<(), WriterError> {
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
        self.after_change = self.next_start_us >= self.change_at_us;
        let after = self.after_change;
        self.model =
            &MODELS[self.rng.weighted(MODELS.iter().map(|m| if after { m.weight_after_change } else { m.weight }))];
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
        self.next_start_us = now_us + (gap_s * 1e6) as i64 + self.spread_step_us;
        Ok(())
    }

    /// `state_change`, `model_selected`, the planning LLM call, `plan_created`, `state_change`.
    pub(super) fn planning(&mut self, w: &TraceWriter, now_us: &mut i64) -> Result<(), WriterError> {
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
    pub(super) fn steps(&mut self, w: &TraceWriter, now_us: &mut i64, outcome: Outcome) -> Result<usize, WriterError> {
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

    /// The final event and `trace_ended`, as far as the budget goes; returns the end time.
    pub(super) fn ending(
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
}
