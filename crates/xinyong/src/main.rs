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
    if let Err(e) = commands::run(args) {
        eprintln!("错误：{e:#}");
        std::process::exit(1);
    }
}
