//! One step of a run: its shape, decided first, then its LLM calls, tool calls, model switch
//! and budget warning.

use std::fmt::Write as _;

use super::Generator;
use super::catalog::{
    FAILURE_REASONS, MODELS, SLOWDOWN, SLOWER_TOOL, SWITCH_REASONS, TOOL_FAILURE_RATE, TOOL_OUTLIER_RATE, TOOLS, Tool,
};
use super::retake::Change;
use super::rng::Id;
use super::trouble::Stuck;
use super::write::{Extras, LlmUsage};
use crate::writer::{TraceWriter, WriterError, push_json_str};

/// The content of one step, decided before it is written so that it can be trimmed to fit
/// an exact event count.
pub(super) struct StepShape {
    /// LLM calls: the first before the tools, the second after.
    pub(super) messages: usize,
    /// (tool index, fails) per tool call.
    pub(super) tools: Vec<(usize, bool)>,
    pub(super) model_switch: bool,
    pub(super) budget_warning: bool,
    /// A misbehaving run's stuck step: these calls replace `tools`, an LLM call between each.
    pub(super) stuck: Option<Stuck>,
}

impl StepShape {
    pub(super) fn events(&self) -> usize {
        2 + self.messages
            + self.stuck.map_or(0, |s| 3 * s.calls() - 1)
            + self.tools.iter().map(|&(_, fails)| 2 + usize::from(fails)).sum::<usize>()
            + usize::from(self.model_switch)
            + usize::from(self.budget_warning)
    }

    /// Drops the least essential parts until the step has at most `events` events (≥ 2).
    pub(super) fn trim_to(&mut self, events: usize) {
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

impl Generator<'_> {
    pub(super) fn step_shape(&mut self) -> StepShape {
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
    pub(super) fn step(
        &mut self,
        w: &TraceWriter,
        now_us: &mut i64,
        index: usize,
        shape: &StepShape,
    ) -> Result<(), WriterError> {
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
        self.step_completed(w, now_us, step, index, started_us)
    }

    /// `step_completed` for step `step` (number `index`), a moment after the step's last event.
    pub(super) fn step_completed(
        &mut self,
        w: &TraceWriter,
        now_us: &mut i64,
        step: Id,
        index: usize,
        started_us: i64,
    ) -> Result<(), WriterError> {
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

    /// One LLM call ending now + its duration, under `parent`.
    pub(super) fn message(&mut self, w: &TraceWriter, now_us: &mut i64, parent: Option<Id>) -> Result<(), WriterError> {
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
    pub(super) fn tool_call(
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
        if self.after_change && tool.name == SLOWER_TOOL {
            duration_ms *= SLOWDOWN;
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

    /// Switches to another model for the rest of the session.
    pub(super) fn model_switch(&mut self, w: &TraceWriter, now_us: i64, step: Id) -> Result<(), WriterError> {
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
}
