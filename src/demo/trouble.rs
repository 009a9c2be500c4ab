//! Runs that misbehave by design, so that each diagnosis has something to show: a stuck step
//! ([`Stuck`]) or a long idle wait, by the run's place in the file ([`Trouble`]).

use super::Generator;
use super::catalog::{PATHS, TOOLS, URLS};
use super::rng::Id;
use crate::writer::{TraceWriter, WriterError, push_json_str};

/// What a misbehaving run does ([`Trouble`]) in its stuck step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stuck {
    /// The same call with the same arguments, this many times.
    Repeat(usize),
    /// A search retried with near-identical queries, this many times.
    Similar(usize),
    /// Two calls in turn, this many rounds.
    Cycle(usize),
}

impl Stuck {
    pub(super) fn calls(self) -> usize {
        match self {
            Stuck::Repeat(n) | Stuck::Similar(n) => n,
            Stuck::Cycle(rounds) => 2 * rounds,
        }
    }
}

/// How a run misbehaves, by its place in the file: four runs in ten, never a retake or the
/// run a retake repeats (places 3 and 4 of every 5).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Trouble {
    None,
    Repeat,
    Similar,
    Cycle,
    /// A long wait between two steps (rate limit, a human to approve).
    Idle,
}

impl Trouble {
    pub(super) fn of_session(index: usize) -> Trouble {
        match index % 10 {
            1 => Trouble::Repeat,
            2 => Trouble::Idle,
            6 => Trouble::Similar,
            7 => Trouble::Cycle,
            _ => Trouble::None,
        }
    }
}

impl Generator<'_> {
    /// A stuck step's calls, an LLM call deciding on each retry, then the step's end.
    pub(super) fn stuck_calls(
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
        self.step_completed(w, now_us, step, index, started_us)
    }
}
