//! BENCHMARKS.md.

use std::fmt::Write;

use anyhow::Result;

use crate::Env;

/// One line of a results table.
pub struct Line {
    pub what: String,
    pub xinyong: String,
    pub baseline: String,
    pub ratio: String,
    pub goal: String,
    pub met: Option<bool>,
}

pub struct Section {
    pub title: String,
    pub lines: Vec<Line>,
    pub notes: Vec<String>,
}

/// The report of this run; sections of `previous` (the BENCHMARKS.md before it) that this run
/// did not measure are kept after it, marked with the run they come from.
pub fn render(env: &Env, sections: &[Section], previous: Option<&str>) -> Result<String> {
    let mut s = String::new();
    writeln!(s, "# Benchmarks")?;
    writeln!(s)?;
    writeln!(
        s,
        "Rewritten by `scripts/bench` (sizes: `BENCH_ROWS`, default 10,000,000). Every Xinyong figure \
         stands beside the raw speed of the same store doing the least possible work, measured in the \
         same run; the ratio is what the platform's own work costs."
    )?;
    writeln!(s)?;
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    writeln!(
        s,
        "- date: {}",
        chrono::Local::now().format("%Y-%m-%d %H:%M")
    )?;
    writeln!(s, "- commit: {commit}")?;
    writeln!(s, "- rows: {}", env.rows)?;
    for (k, v) in crate::machine::describe() {
        writeln!(s, "- {k}: {v}")?;
    }
    for sec in sections {
        writeln!(s)?;
        writeln!(s, "## {}", sec.title)?;
        writeln!(s)?;
        writeln!(
            s,
            "| measure | Xinyong | baseline (same run) | ratio | goal | met |"
        )?;
        writeln!(s, "|---|---|---|---|---|---|")?;
        for l in &sec.lines {
            let met = match l.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            writeln!(
                s,
                "| {} | {} | {} | {} | {} | {met} |",
                l.what, l.xinyong, l.baseline, l.ratio, l.goal
            )?;
        }
        if !sec.notes.is_empty() {
            writeln!(s)?;
            for n in &sec.notes {
                writeln!(s, "- {n}")?;
            }
        }
    }
    if let Some(prev) = previous {
        keep_unmeasured(&mut s, sections, prev)?;
    }
    Ok(s)
}

fn keep_unmeasured(s: &mut String, sections: &[Section], prev: &str) -> Result<()> {
    let field = |name: &str| {
        prev.lines()
            .find_map(|l| l.strip_prefix(&format!("- {name}: ")))
            .unwrap_or("?")
            .to_string()
    };
    let (date, commit, cpu) = (field("date"), field("commit"), field("CPU"));
    let mut parts = prev.split("\n## ").skip(1);
    for part in parts.by_ref() {
        let title = part.lines().next().unwrap_or_default();
        if sections.iter().any(|sec| sec.title == title) {
            continue;
        }
        let mut body = part.trim_end().to_string();
        if !body.contains("\n- Not rerun in the latest run") {
            body.push_str(&format!(
                "\n- Not rerun in the latest run: these figures are from the run of {date} (commit {commit}, {cpu})."
            ));
        }
        writeln!(s)?;
        writeln!(s, "## {body}")?;
    }
    Ok(())
}

pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
