//! Entry point: parse arguments, run a CLI subcommand or start the desktop app.

use std::process::ExitCode;

use clap::Parser as _;
use trace_inspector::cli::{self, Cli};

/// mimalloc: a session load makes hundreds of thousands of small allocations on several
/// threads, which it serves markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The system font lookup warns once about a POSIX "C" locale, which is the usual case in a
    // terminal, not a problem: only its errors are shown unless RUST_LOG says otherwise.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn,egui_system_font_provider=error"))
        .init();
    // The last line of defence: a bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error: {msg}{at}");
    }));
    let args = Cli::parse();
    let result = match args.command {
        Some(command) => cli::run(command),
        None => trace_inspector::app::run(args.open),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
