//! The views (egui only): each panel reads model data and returns commands for the app to
//! apply after drawing. No SQL here.

pub mod aggregates;
pub mod detail;
pub mod json_tree;
pub mod sessions_table;
pub mod theme;
pub mod timeline;
pub mod tree;
pub mod welcome;
