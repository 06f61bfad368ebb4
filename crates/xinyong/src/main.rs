//! `xinyong`: the platform's one binary. A thin layer over the crates: it parses the command line,
//! opens the store and the key file, and prints results in Chinese (or JSON with `--json`).

mod cli;
mod commands;

use clap::Parser;

// The import pipeline hands large batches between threads; glibc malloc spends much of an import
// freeing memory allocated on the other thread. mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = cli::Cli::parse();
    // A one-shot command whose output is piped into `head` and the like ends quietly when the
    // reader goes away: Rust ignores SIGPIPE, so `println!` panicked with a backtrace instead.
    // The server keeps ignoring it — a client that hangs up must not end the process.
    if !matches!(args.command, cli::Command::Serve(_) | cli::Command::Demo(_)) {
        // SAFETY: at the start of main, before any other thread exists; restores the default.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Err(e) = commands::run(args) {
        eprintln!("错误：{e:#}");
        std::process::exit(1);
    }
}
