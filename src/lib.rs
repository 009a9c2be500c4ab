//! trace-inspector: read `agent_traces.db` files exactly, show them in a desktop app and a CLI.
//!
//! Layers, imports pointing one way: [`store`] (SQLite, read-only) → [`model`], [`ids`],
//! [`analysis`], [`export`] and [`format`](mod@format) (plain data and pure functions: no SQL, no egui) →
//! [`session_model`] (an open session as it is looked at, still without egui) → [`ui`]
//! (widgets) and [`app`] (state, commands, screens), and [`cli`] over the same core.
//!
//! The app is split by what changes what: saved settings have one home (`app::state`), every
//! user request is a `Command` applied in one place (`app::command`), and screens only draw and
//! return commands. A rule two places need (what a tool call is, how sessions sort, how an id
//! prefix resolves, how a duration prints) lives once in the core.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod compare_model;
pub mod demo;
pub mod error;
pub mod export;
pub mod format;
pub mod fuzzing;
pub mod hash;
pub mod ids;
pub mod jobs;
pub mod model;
pub mod push;
pub mod session_model;
pub mod store;
pub mod terminal;
pub mod time;
pub mod ui;
pub mod writer;
