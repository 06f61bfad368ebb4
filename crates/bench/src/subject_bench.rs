//! Reading a subject's credit file with 1,000 records out of a 10 M-record store, in-process.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use rulebook::Rulebook;

use crate::Env;
use crate::ingest_bench::{Files, import};
use crate::report::{Line, Section};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(env: &Env, files: &Files, db: &Path) -> Result<Section> {
    let keys = env.data.join("bench.key");
    import(
        env,
        db.to_str().unwrap_or_default(),
        &keys,
        &files.unit,
        &files.hot,
    )?;
    let store = store::Store::open(db.to_str().unwrap_or_default())?;
    let rules = Rulebook::builtin()?;
    let (subject, n): (String, i64) = store.read(|c| {
        let r = c
            .query_one(
                "SELECT subject_key, COUNT(*) FROM records GROUP BY subject_key ORDER BY COUNT(*) DESC LIMIT 1",
                &[],
            )?
            .ok_or_else(|| store::StoreError::NotFound("no records".into()))?;
        Ok((r.text(0)?, r.i64(1)?))
    })?;
    let total: i64 = store.read(|c| {
        c.query_one("SELECT COUNT(*) FROM records", &[])?
            .map_or(Ok(0), |r| r.i64(0))
    })?;
    // The platform's day is Beijing's: with the machine's (UTC) date, after 16:00 UTC the file
    // as of "today" ended before the hot subject's rows were imported, and came back nearly empty.
    let today = domain::clock::beijing(chrono::Utc::now()).date_naive();
    let shown = views::credit_file(&store, &rules, &subject, today, views::Audience::Full)?
        .context("subject")?
        .classes
        .iter()
        .map(|c| c.records.len() as i64)
        .sum::<i64>();
    anyhow::ensure!(
        shown == n,
        "the file of {subject} as of {today} shows {shown} records, the store holds {n}"
    );
    let mut times = Vec::with_capacity(1000);
    for i in 0..1100 {
        let t = Instant::now();
        let f = views::credit_file(&store, &rules, &subject, today, views::Audience::Full)?
            .context("subject")?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if i >= 100 {
            times.push(took);
        }
        std::hint::black_box(f);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    // Baseline: the primary-key range read of the same rows, nothing else.
    let mut base = Vec::with_capacity(1000);
    for i in 0..1100 {
        let t = Instant::now();
        let rows = store.read(|c| {
            c.query(
                "SELECT * FROM record_versions WHERE subject_key = $1 ORDER BY record_key, version_no",
                &[subject.as_str().into()],
            )
        })?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if i >= 100 {
            base.push(took);
        }
        std::hint::black_box(rows);
    }
    base.sort_by(|a, b| a.total_cmp(b));
    Ok(Section {
        title: "A subject's credit file".into(),
        lines: vec![
            Line {
                what: format!("`xinyong subject` file of a subject with {n} records, store of {total} records, p50"),
                xinyong: format!("{p50:.2} ms"),
                baseline: format!("{:.2} ms", percentile(&base, 0.5)),
                ratio: format!("{:.1}×", p50 / percentile(&base, 0.5)),
                goal: String::new(),
                met: None,
            },
            Line {
                what: "the same, p99".into(),
                xinyong: format!("{p99:.2} ms"),
                baseline: format!("{:.2} ms", percentile(&base, 0.99)),
                ratio: format!("{:.1}×", p99 / percentile(&base, 0.99)),
                goal: "p99 < 5 ms".into(),
                met: Some(p99 < 5.0),
            },
        ],
        notes: vec![
            "In-process, 1,000 timed calls after 100 warm-up calls, SQLite store from the ingest benchmark.".into(),
            "Baseline: the raw index range read of the same version rows (`SELECT *`), no decoding, statuses or grouping.".into(),
        ],
    })
}
