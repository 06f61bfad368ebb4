//! `xinyong`: the platform's one binary. A thin layer over the crates: it parses the command line,
//! opens the store and the key file, and prints results in Chinese (or JSON with `--json`).

mod cli;
mod commands;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = commands::run(args) {
        eprintln!("错误：{e:#}");
        std::process::exit(1);
    }
}
