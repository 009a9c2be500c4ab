//! Retakes, for comparing two runs: every fifth session runs the task of the one before it
//! again, from the same draws, with ids of its own and one [`Change`].

use super::Generator;
use super::rng::Id;
use crate::writer::{TraceWriter, WriterError};

/// Every this many sessions, one is a retake of the session before it.
const RETAKE_EVERY: usize = 5;

/// What a retake changes, in turn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
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
pub(super) struct Retake {
    pub(super) change: Change,
    pub(super) done: bool,
}

impl Generator<'_> {
    /// Writes one whole session, or a retake of the one before (see [`Change`]).
    pub(super) fn session(&mut self, w: &TraceWriter, newest: bool) -> Result<(), WriterError> {
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
    pub(super) fn changes(&self, change: Change) -> bool {
        self.retake.as_ref().is_some_and(|r| r.change == change)
    }

    /// Takes the retake's change when it is `change` and not made yet.
    pub(super) fn take_change(&mut self, change: Change) -> bool {
        match self.retake.as_mut() {
            Some(r) if r.change == change && !r.done => {
                r.done = true;
                true
            }
            _ => false,
        }
    }
}
