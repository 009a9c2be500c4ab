//! trace-inspector: read `agent_traces.db` files exactly, show them in a desktop app and a CLI.
//!
//! Layers, imports pointing one way: [`store`] (SQLite, read-only) → [`model`] and
//! [`analysis`] (pure data: spans, tree, aggregates, exports) → `ui`, `app` and [`cli`].

pub mod analysis;
pub mod app;
pub mod cli;
pub mod demo;
pub mod error;
pub mod export;
pub mod format;
pub mod fuzzing;
pub mod hash;
pub mod ids;
pub mod jobs;
pub mod model;
pub mod session_model;
pub mod store;
pub mod terminal;
pub mod time;
pub mod ui;
pub mod writer;
