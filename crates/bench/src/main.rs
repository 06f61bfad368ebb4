//! The benchmark driver. One command (`scripts/bench`) runs every benchmark and rewrites
//! `BENCHMARKS.md` with the figures, the machine, the date and, beside each figure, the raw speed
//! of the same store doing the least possible work, measured in the same run (these machines are
//! noisy, so only the ratio within one run means much).
//!
//! Sizes: `BENCH_ROWS` (default 10,000,000 penalty rows, 2% dirty). Data is generated once into
//! `bench-data/` (not committed) and reused while its parameters stay the same.

mod ingest_bench;
mod joint_bench;
mod machine;
mod portal_bench;
mod report;
mod service_bench;
mod subject_bench;

use std::path::PathBuf;

use anyhow::{Context, Result};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub struct Env {
    pub rows: u64,
    pub data: PathBuf,
    pub xinyong: PathBuf,
    pub pg_url: String,
}

fn main() -> Result<()> {
    let rows: u64 = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let root = std::env::current_dir()?;
    let env = Env {
        rows,
        data: std::env::var("BENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("bench-data")),
        xinyong: std::env::var("XINYONG_BIN")
            .map(PathBuf::from)
            .context("XINYONG_BIN must name the release binary (scripts/bench sets it)")?,
        pg_url: std::env::var("XINYONG_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    std::fs::create_dir_all(&env.data)?;
    // The benchmark's stores are scratch, made anew at the same paths from run to run: the
    // audit anchor beside its key file would read each new store as the old one rewritten (and
    // its servers, which are measured only once their chain is verified, would never start).
    // Each run anchors afresh.
    let _ = std::fs::remove_file(env.data.join("bench.key.audit-anchor"));
    let only: Vec<String> = std::env::args().skip(1).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut sections = Vec::new();
    // The penalty files are generated only for the sections that read them.
    let data = std::cell::OnceCell::new();
    let files = || -> Result<&ingest_bench::Files> {
        if data.get().is_none() {
            let _ = data.set(ingest_bench::data(&env)?);
        }
        data.get().context("penalty files")
    };
    let mut sqlite_store = None;
    // BENCH_REUSE_STORE=1 reads the store an earlier run's ingest left, instead of importing
    // again (a 10 M-row import takes the better part of an hour); the ingest section is then
    // not rewritten.
    let reuse = env.data.join("bench.db");
    if std::env::var("BENCH_REUSE_STORE").is_ok_and(|v| v == "1")
        && !want("ingest-sqlite")
        && reuse.exists()
    {
        files()?;
        sqlite_store = Some(reuse);
    } else if want("ingest-sqlite") || want("subject") || want("service") || want("portal") {
        let (section, store) = ingest_bench::sqlite(&env, files()?)?;
        sections.push(section);
        sqlite_store = Some(store);
    }
    let mut pg_schema = None;
    // With BENCH_REUSE_STORE=1 the service benchmark also reads the PostgreSQL schema an
    // earlier run's ingest left, when there is one.
    if std::env::var("BENCH_REUSE_STORE").is_ok_and(|v| v == "1")
        && !want("ingest-pg")
        && ingest_bench::pg_schema_exists(&env, "bench_xy")
    {
        pg_schema = Some("bench_xy");
    }
    if want("ingest-pg") {
        sections.push(ingest_bench::postgres(&env, files()?)?);
        pg_schema = Some("bench_xy");
    }
    if want("subject")
        && let Some(db) = &sqlite_store
    {
        sections.push(subject_bench::run(&env, files()?, db)?);
    }
    if want("portal")
        && let Some(db) = &sqlite_store
    {
        sections.push(portal_bench::run(&env, files()?, db)?);
    }
    if want("service")
        && let Some(db) = &sqlite_store
    {
        sections.push(service_bench::run(&env, db, pg_schema)?);
    }
    if want("joint") || want("joint-sqlite") {
        sections.push(joint_bench::run(&env, want("joint"))?);
    }
    if want("push") {
        sections.push(service_bench::push(&env)?);
    }
    let out = root.join("BENCHMARKS.md");
    let previous = std::fs::read_to_string(&out).ok();
    let text = report::render(&env, &sections, previous.as_deref())?;
    std::fs::write(&out, text)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
