//! Every session of a file, analysed as `export` and `push` read them: what their output is
//! checked against.

use std::path::Path;

use trace_inspector::analysis::{self, AnalyzedSession, Anchor};
use trace_inspector::store::Store;

pub fn sessions(file: &Path) -> Vec<AnalyzedSession> {
    let store = Store::open(file).expect("open");
    let list = store.list_sessions().expect("list");
    list.sessions
        .into_iter()
        .map(|row| {
            analysis::analyze(
                store.load_session(&row.id.clone(), Some(std::sync::Arc::unwrap_or_clone(row))).expect("load"),
                Anchor::Auto,
            )
        })
        .collect()
}
