//! The desktop app (placeholder while the core lands).
use crate::cli::OpenArgs;

/// Starts the desktop app.
///
/// # Errors
/// When the window cannot be created.
pub fn run(_args: OpenArgs) -> anyhow::Result<()> {
    anyhow::bail!("the desktop app is not built yet")
}
