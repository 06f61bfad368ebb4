//! The public portal and the monthly bulletin over the store built by the SQLite ingest
//! benchmark: name search over its organisations, the subject page of the subject with ~1,000
//! records, the 双公示 penalties column with filters, rendered in-process through the real router;
//! and the month's bulletin (report and workbook). Beside each, the store's least work.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use rulebook::Rulebook;
use tower::ServiceExt;

use crate::Env;
use crate::ingest_bench::{Files, import};
use crate::report::{Line, Section, thousands};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn timed<T>(n: usize, warm: usize, mut f: impl FnMut(usize) -> Result<T>) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n + warm {
        let t = Instant::now();
        std::hint::black_box(f(i)?);
        if i >= warm {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times)
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

/// A small deterministic generator for picking queries.
struct Pick(u64);
impl Pick {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

pub fn run(env: &Env, files: &Files, db: &Path) -> Result<Section> {
    let spec = db.display().to_string();
    // The subject with ~1,000 records (a no-op when the subject benchmark already sent it).
    import(
        env,
        &spec,
        &env.data.join("bench.key"),
        &files.unit,
        &files.hot,
    )?;
    let store = Arc::new(store::Store::open(&spec)?);
    let platform = Arc::new(store::Store::open_platform(&spec)?);
    let rules = Arc::new(Rulebook::builtin()?);
    let keys = Arc::new(crypto::KeyRing::open(&env.data.join("bench.key"))?);
    let mut lines = Vec::new();
    let mut notes = Vec::new();

    // ----- name search -----
    let t = Instant::now();
    let index = search::NameIndex::build(&store)?;
    let build = t.elapsed().as_secs_f64();
    let orgs = index.len();
    let names: Vec<String> = store.read(|c| {
        c.query(
            "SELECT name FROM subjects WHERE kind <> 'natural_person' ORDER BY subject_key LIMIT 20000",
            &[],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect()
    })?;
    // Two-character words (the hard case: many hits) and four-character ones, from real names.
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let queries: Vec<String> = (0..2000)
        .map(|i| {
            let chars: Vec<char> = names[pick.next(names.len())].chars().collect();
            let len = if i % 2 == 0 { 2 } else { 4 }.min(chars.len());
            let at = pick.next(chars.len() - len + 1);
            chars[at..at + len].iter().collect()
        })
        .collect();
    let filters = search::Filters::default();
    let mut total_hits = 0usize;
    let times = timed(queries.len(), 100, |i| {
        let r = index.search(&queries[i % queries.len()], &filters, 0, 20);
        total_hits += r.total;
        Ok(r.hits.len())
    })?;
    let like = timed(40, 2, |i| {
        let q = format!("%{}%", queries[i % queries.len()]);
        store
            .read(|c| {
                c.query(
                    "SELECT subject_key, name FROM subjects WHERE name LIKE $1 LIMIT 20",
                    &[q.as_str().into()],
                )
            })
            .map_err(anyhow::Error::from)
    })?;
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    lines.push(Line {
        what: format!("name search (2- and 4-character words from real names), {} organisations, first page of 20, p50", thousands(orgs as f64)),
        xinyong: ms(p50),
        baseline: format!("{} (`LIKE '%…%' LIMIT 20`)", ms(percentile(&like, 0.5))),
        ratio: format!("{:.3}×", p50 / percentile(&like, 0.5)),
        goal: String::new(),
        met: None,
    });
    lines.push(Line {
        what: "name search, p99".into(),
        xinyong: ms(p99),
        baseline: ms(percentile(&like, 0.99)),
        ratio: String::new(),
        goal: "p99 < 50 ms".into(),
        met: Some(p99 < 50.0),
    });
    notes.push(format!(
        "Name index built from the store in {build:.1} s at start ({} entries); {:.0} hits per query on average.",
        thousands(orgs as f64),
        total_hits as f64 / queries.len() as f64
    ));

    // ----- pages through the real router -----
    let clock: Arc<dyn domain::clock::Clock> = Arc::new(domain::clock::SystemClock);
    let state = server::AppState::new(
        store.clone(),
        platform,
        rules.clone(),
        keys,
        clock,
        server::Config {
            rate_per_address: u32::MAX,
            rate_per_credential: u32::MAX,
            ..server::Config::default()
        },
    )?;
    let (router, _) = server::app(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let get = |path: String| -> Result<usize> {
        rt.block_on(async {
            let req = Request::builder()
                .uri(path.as_str())
                .header("host", "localhost")
                .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    [127, 0, 0, 1],
                    9,
                ))))
                .body(Body::empty())?;
            let resp = router.clone().oneshot(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::ensure!(status.is_success(), "{path}: {status}");
            Ok(body.len())
        })
    };
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
    let page = timed(500, 50, |_| get(format!("/subjects/{subject}")))?;
    let raw = timed(500, 50, |_| {
        store.read(|c| {
            c.query(
                "SELECT * FROM record_versions WHERE subject_key = $1 ORDER BY record_key, version_no",
                &[subject.as_str().into()],
            )
        })
        .map_err(anyhow::Error::from)
    })?;
    lines.push(Line {
        what: format!("subject page `/subjects/{{code}}` (HTML), subject with {n} records, store of {} records, p50", thousands(total as f64)),
        xinyong: ms(percentile(&page, 0.5)),
        baseline: format!("{} (its versions by primary key)", ms(percentile(&raw, 0.5))),
        ratio: format!("{:.1}×", percentile(&page, 0.5) / percentile(&raw, 0.5)),
        goal: String::new(),
        met: None,
    });
    lines.push(Line {
        what: "subject page, p99".into(),
        xinyong: ms(percentile(&page, 0.99)),
        baseline: ms(percentile(&raw, 0.99)),
        ratio: String::new(),
        goal: "p99 < 50 ms".into(),
        met: Some(percentile(&page, 0.99) < 50.0),
    });

    let unit = store.read(|c| {
        c.query_one(
            "SELECT source_unit FROM records WHERE class_code = 'CF' LIMIT 1",
            &[],
        )?
        .map_or(Ok(String::new()), |r| r.text(0))
    })?;
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let columns = [
        "/publicity/penalties".to_string(),
        format!(
            "/publicity/penalties?unit={}&from=2025-01-01&to=2026-06-30",
            enc(&unit)
        ),
        format!(
            "/publicity/penalties?category={}&from=2026-01-01",
            enc("罚款")
        ),
        format!("/publicity/penalties?unit={}&page=50", enc(&unit)),
    ];
    let col = timed(400, 40, |i| get(columns[i % columns.len()].clone()))?;
    let raw_col = timed(400, 40, |_| {
        store.read(|c| {
            c.query(
                "SELECT r.subject_key, v.payload FROM records r JOIN record_versions v ON v.subject_key = r.subject_key
                   AND v.record_key = r.record_key AND v.version_no = r.current_version
                 WHERE r.class_code = 'CF' ORDER BY r.decided_on DESC LIMIT 21",
                &[],
            )
        })
        .map_err(anyhow::Error::from)
    })?;
    lines.push(Line {
        what: format!("penalties column page, with unit, date-range, category filters and deep pages, {} records, p50", thousands(total as f64)),
        xinyong: ms(percentile(&col, 0.5)),
        baseline: format!("{} (newest 21 penalties by index)", ms(percentile(&raw_col, 0.5))),
        ratio: format!("{:.1}×", percentile(&col, 0.5) / percentile(&raw_col, 0.5)),
        goal: String::new(),
        met: None,
    });
    lines.push(Line {
        what: "penalties column page, p99".into(),
        xinyong: ms(percentile(&col, 0.99)),
        baseline: ms(percentile(&raw_col, 0.99)),
        ratio: String::new(),
        goal: "p99 < 50 ms".into(),
        met: Some(percentile(&col, 0.99) < 50.0),
    });
    notes.push(format!("Column pages measured: {}.", columns.join(", ")));

    // ----- monthly bulletin -----
    let month: String = store.read(|c| {
        c.query_one(
            "SELECT month FROM publicity_monthly ORDER BY accepted DESC LIMIT 1",
            &[],
        )?
        .map_or(Ok("2026-10".into()), |r| r.text(0))
    })?;
    let t = Instant::now();
    let report = views::monitoring::month_report(&store, &rules, &month)?;
    let bytes = views::bulletin::workbook(&report, "通报", "bench", None).context("workbook")?;
    let took = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let recount = views::monitoring::month_report_recount(&store, &rules, &month)?;
    let recount_took = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.total == recount.total,
        "bulletin {:?} differs from recount {:?}",
        report.total,
        recount.total
    );
    lines.push(Line {
        what: format!(
            "monthly bulletin {month} (report + XLSX, {} KB; {} decisions in the month), store of {} records",
            bytes.len() / 1024,
            thousands(report.total.reported as f64),
            thousands(total as f64)
        ),
        xinyong: format!("{took:.3} s"),
        baseline: format!("{recount_took:.1} s (recount from the versions)"),
        ratio: format!("{:.4}×", took / recount_took),
        goal: "< 10 s".into(),
        met: Some(took < 10.0),
    });
    notes.push(
        "The bulletin reads the monthly rollup kept at import; the recount beside it reads every version and rejection of the month and must agree (checked)."
            .into(),
    );
    Ok(Section {
        title: "Portal and bulletin (SQLite store)".into(),
        lines,
        notes,
    })
}
