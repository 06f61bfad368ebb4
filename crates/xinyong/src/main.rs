//! `xinyong`: the platform's one binary. A thin layer over the crates: it parses the command line,
//! opens the store and the key file, and prints results in Chinese (or JSON with `--json`).

mod cli;
mod commands;
mod operator;

use clap::Parser;

// The import pipeline hands large batches between threads; glibc malloc spends much of an import
// freeing memory allocated on the other thread. mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = cli::Cli::try_parse().unwrap_or_else(|e| usage_error(e));
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

/// A command line clap cannot read, said in Chinese (help and version are printed as they are).
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join("、"),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let arg = ctx(ContextKind::InvalidArg);
    let value = ctx(ContextKind::InvalidValue);
    let said = match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let valid = ctx(ContextKind::ValidValue);
            if valid.is_empty() {
                format!("参数 {arg} 的值“{value}”无效")
            } else {
                format!("参数 {arg} 的值“{value}”无效，应为：{valid}")
            }
        }
        ErrorKind::MissingRequiredArgument => format!("缺少必需的参数：{arg}"),
        // A negative number reaches clap as an unknown flag (-1): said as the value it is.
        ErrorKind::UnknownArgument
            if arg.len() > 1
                && arg.starts_with('-')
                && arg[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            format!("数值不能为负数：{arg}（此处应填0或正数）")
        }
        ErrorKind::UnknownArgument => format!("无法识别的参数：{arg}"),
        ErrorKind::InvalidSubcommand => {
            format!("没有这个命令：{}", ctx(ContextKind::InvalidSubcommand))
        }
        ErrorKind::ArgumentConflict => match ctx(ContextKind::PriorArg) {
            prior if prior.is_empty() || prior == arg => format!("参数 {arg} 只能给出一次"),
            prior => format!("参数 {arg} 不能与 {prior} 同时使用"),
        },
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("参数 {arg} 给出了多次或过多的值")
        }
        ErrorKind::MissingSubcommand => "缺少命令".to_string(),
        _ => format!("命令行有误：{}", e.kind()),
    };
    eprintln!("错误：{said}\n（用法见 xinyong --help，或 xinyong <命令> --help）");
    std::process::exit(2);
}
