//! Entry point: parse arguments, run a CLI subcommand or start the desktop app.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use trace_inspector::cli::{self, Cli};
use trace_inspector::terminal::one_line;

/// mimalloc: a session load makes hundreds of thousands of small allocations on several
/// threads, which it serves markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The system font lookup warns once about a POSIX "C" locale, which is the usual case in a
    // terminal, not a problem: only its errors are shown unless RUST_LOG says otherwise.
    // A log message can quote the file (a path, a table, a value): it is escaped to one line
    // like every `warning:`, so it cannot act on the terminal nor pass for another line.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn,egui_system_font_provider=error"))
        .format(|buf, record| {
            // At trace level the HTTP library logs the bytes it sends, headers and all, and
            // `push` headers carry API keys: those records are never written, whatever RUST_LOG says.
            if record.level() == log::Level::Trace && record.target().starts_with("ureq") {
                return Ok(());
            }
            let style = buf.default_level_style(record.level());
            let message = record.args().to_string();
            writeln!(
                buf,
                "[{style}{:<5}{style:#} {}] {}",
                record.level(),
                one_line(record.module_path().unwrap_or_else(|| record.target())),
                one_line(&message)
            )
        })
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
        // Written, not `eprintln!`: a closed standard error must not panic inside the hook.
        let _ = writeln!(std::io::stderr().lock(), "error: internal error: {}", one_line(&format!("{msg}{at}")));
        // Asked for (RUST_BACKTRACE=1), where it happened, for a bug report.
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            let _ = writeln!(std::io::stderr().lock(), "{trace}");
        }
    }));
    let args = Cli::parse();
    let result = match args.command {
        Some(command) => cli::run(command),
        None => trace_inspector::app::run(args.open),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Exactly one line whatever the path or the file holds: newlines, ESC sequences and
            // bidi controls in a file or table name are shown escaped.
            let _ = writeln!(std::io::stderr().lock(), "error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
