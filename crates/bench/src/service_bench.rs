//! The service under load: `GET /api/v1/subjects/{code}` with wrk on loopback, as an officer
//! (whole files, so every request writes an audit entry), against the stores built by the
//! ingest benchmarks; beside it, pgbench primary-key lookups of the same subject rows on the same
//! PostgreSQL. And the push API against a file import of the same rows.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::Env;
use crate::report::{Line, Section, thousands};

pub(crate) struct Server(Child);

impl Server {
    /// The server process's peak resident memory so far (VmHWM), in MiB.
    fn peak_mib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).ok()?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start(env: &Env, db: &str, port: u16) -> Result<Server> {
    let log_path = env.data.join(format!("serve-{port}.log"));
    let log = std::fs::File::create(&log_path)?;
    let child = Command::new(&env.xinyong)
        .args(["--db", db, "--keys"])
        .arg(env.data.join("bench.key"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rate-per-credential",
            "100000000",
            "--rate-per-address",
            "100000000",
            // The scheduler's first scan of a store loaded with years of penalties writes
            // millions of reminders; it runs in its own benchmark, not under this load.
            "--no-jobs",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("start xinyong serve")?;
    let mut server = Server(child);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        // Listening, and done reading the whole audit chain at start (a store the benchmarks
        // have run on holds millions of entries): what is measured is the service after it.
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("审计日志核验通过"))
        {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            bail!(
                "server exited ({status}): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!(
        "server did not start, or did not pass its audit chain verification: {}",
        log_path.display()
    )
}

pub(crate) fn token(env: &Env, db: &str, role: &str, unit: Option<&str>) -> Result<String> {
    let mut c = Command::new(&env.xinyong);
    c.args(["--db", db, "--keys"])
        .arg(env.data.join("bench.key"))
        .args([
            "tokens", "create", "--role", role, "--name", "bench", "--days", "1",
        ]);
    if let Some(u) = unit {
        c.args(["--unit", u]);
    }
    let out = c.output()?;
    if !out.status.success() {
        bail!("token: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// Seconds of unmeasured load before each measured run: long enough for the 20,000 keys to be
/// asked for several times over, so that what is measured is a server in service, not the
/// first reads of a store just written (on a fresh machine PostgreSQL's first minute read its
/// pages from disk: 3,526 req/s measured after 5 s, 5,349–5,674 after a minute of the same
/// load, on the same store). pgbench, run after, reads the same rows warm.
const WARM_UP_SECONDS: u32 = 30;

/// wrk's requests/s and its 50th and 99th percentile latencies (ms).
fn wrk(url: &str, token: &str, keys_file: &Path, seconds: u32) -> Result<(f64, f64, f64, u64)> {
    let script = keys_file.with_extension("lua");
    let mut f = std::fs::File::create(&script)?;
    writeln!(
        f,
        r#"local keys = {{}}
for line in io.lines("{}") do keys[#keys + 1] = line end
request = function()
  local k = keys[math.random(#keys)]
  return wrk.format("GET", "/api/v1/subjects/" .. k, {{["Authorization"] = "Bearer {token}"}})
end
{WRK_SUMMARY}"#,
        keys_file.display()
    )?;
    run_wrk(&script, url, seconds)
}

/// The line `run_wrk` reads: requests/s, p50 and p99 in ms, non-2xx responses.
const WRK_SUMMARY: &str = r#"done = function(summary, latency, requests)
  io.write(string.format("XY %f %f %f %d\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end"#;

/// The same load on `/healthz` (no store, no audit): what the HTTP stack and wrk manage on this
/// machine at this moment, the floor the subject requests are measured against.
fn wrk_healthz(url: &str, dir: &Path, seconds: u32) -> Result<(f64, f64, f64, u64)> {
    let script = dir.join("healthz.lua");
    std::fs::write(
        &script,
        format!(
            "request = function()\n  return wrk.format(\"GET\", \"/healthz\")\nend\n{WRK_SUMMARY}\n"
        ),
    )?;
    run_wrk(&script, url, seconds)
}

fn sample_keys(env: &Env, db: &str, n: i64) -> Result<std::path::PathBuf> {
    let store = store::Store::open(db)?;
    let keys: Vec<String> = store.read(|c| {
        c.query(
            "SELECT subject_key FROM subjects WHERE kind <> 'natural_person' ORDER BY subject_key LIMIT $1",
            &[store::Val::Int(n)],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect()
    })?;
    let path = env.data.join(format!(
        "keys-{}.txt",
        if db.starts_with("postgres") {
            "pg"
        } else {
            "sqlite"
        }
    ));
    std::fs::write(&path, keys.join("\n"))?;
    Ok(path)
}

fn pgbench(env: &Env, schema: &str, keys: &Path, seconds: u32) -> Result<f64> {
    let mut c = postgres::Client::connect(&env.pg_url, postgres::NoTls)?;
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {schema}.bench_keys; CREATE TABLE {schema}.bench_keys (id INT PRIMARY KEY, subject_key TEXT NOT NULL)"
    ))?;
    let list = std::fs::read_to_string(keys)?;
    let mut w = c.copy_in(&format!("COPY {schema}.bench_keys FROM STDIN"))?;
    for (i, k) in list.lines().enumerate() {
        writeln!(w, "{}\t{k}", i + 1)?;
    }
    w.finish()?;
    let n = list.lines().count();
    let script = keys.with_extension("pgbench.sql");
    std::fs::write(
        &script,
        format!(
            "\\set k random(1, {n})\nSELECT r.* FROM {schema}.records r JOIN {schema}.bench_keys b ON r.subject_key = b.subject_key WHERE b.id = :k;\n"
        ),
    )?;
    run_pgbench(env, &script, seconds)
}

pub fn run(env: &Env, sqlite_db: &Path, pg_schema: Option<&str>) -> Result<Section> {
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    let seconds = 20;
    let db = sqlite_db.display().to_string();
    let keys = sample_keys(env, &db, 20_000)?;
    let t = token(env, &db, "deciding", Some("盐城市市场监督管理局"))?;
    let before;
    {
        let _s = start(env, &db, 18911)?;
        // A server in service: the store's pages are mapped and the caches warm. Five seconds of
        // the same load first, not measured (the first run after an import otherwise pays the
        // page faults of a freshly written 18 GiB file in its p99).
        wrk("http://127.0.0.1:18911", &t, &keys, WARM_UP_SECONDS)?;
        before = audit_count(&db)?;
        let (rps, p50, p99, errors) = wrk("http://127.0.0.1:18911", &t, &keys, seconds)?;
        let (floor, ..) = wrk_healthz("http://127.0.0.1:18911", &env.data, seconds)?;
        lines.push(Line {
            what: "GET /api/v1/subjects/{code}, SQLite store, officer (audited), wrk 2 threads × 32 connections; beside it GET /healthz on the same server".into(),
            xinyong: format!("{} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms", thousands(rps)),
            baseline: format!("{} req/s", thousands(floor)),
            ratio: format!("{:.0}%", rps / floor * 100.0),
            goal: "≥ 5,000 req/s, p99 < 20 ms".into(),
            met: Some(rps >= 5000.0 && p99 < 20.0),
        });
        if errors > 0 {
            notes.push(format!("SQLite run: {errors} non-2xx responses"));
        }
    }
    let written = audit_count(&db)? - before;
    notes.push(format!(
        "Audit entries written during the measured SQLite run (after a {WARM_UP_SECONDS} s warm-up under the same load, on both stores): {} (one per request).",
        thousands(written as f64)
    ));
    if let Some(schema) = pg_schema {
        let url = format!(
            "{}{}schema={schema}",
            env.pg_url,
            if env.pg_url.contains('?') { '&' } else { '?' }
        );
        let keys = sample_keys(env, &url, 20_000)?;
        let t = token(env, &url, "deciding", Some("盐城市市场监督管理局"))?;
        let (rps, p50, p99) = {
            let _s = start(env, &url, 18912)?;
            wrk("http://127.0.0.1:18912", &t, &keys, WARM_UP_SECONDS)?;
            let (rps, p50, p99, _) = wrk("http://127.0.0.1:18912", &t, &keys, seconds)?;
            (rps, p50, p99)
        };
        let base = pgbench(env, schema, &keys, seconds)?;
        lines.push(Line {
            what: "the same on PostgreSQL, beside pgbench: the subject's record rows by primary key, 32 clients".into(),
            xinyong: format!("{} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms", thousands(rps)),
            baseline: format!("{} lookups/s", thousands(base)),
            ratio: format!("{:.0}%", rps / base * 100.0),
            goal: "≥ 5,000 req/s, p99 < 20 ms".into(),
            met: Some(rps >= 5000.0 && p99 < 20.0),
        });
    }
    notes.push("wrk and the server share the machine's two cores; keys are 20,000 organisations drawn from the store, each request a random one.".into());
    Ok(Section {
        title: "The service under load".into(),
        lines,
        notes,
    })
}

/// pgbench with a custom script, 32 clients on 2 threads: transactions per second.
pub(crate) fn run_pgbench(env: &Env, script: &Path, seconds: u32) -> Result<f64> {
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            "32",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(script)
        .arg(&env.pg_url)
        .output()
        .context("pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .context(format!(
            "pgbench output: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ))
}

/// Runs wrk with a script whose `done` prints `XY rps p50 p99 errors`.
pub(crate) fn run_wrk(script: &Path, url: &str, seconds: u32) -> Result<(f64, f64, f64, u64)> {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .context("wrk (install Debian's wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("XY "))
        .context("wrk summary")?;
    let v: Vec<f64> = line[3..]
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        bail!("wrk summary: {line}");
    }
    Ok((v[0], v[1], v[2], v[3] as u64))
}

pub(crate) fn audit_count(db: &str) -> Result<i64> {
    let platform = store::Store::open_platform(db)?;
    Ok(platform.audit_head()?.0)
}

/// 100,000 records pushed as JSON through the API, beside a file import of the same rows.
pub fn push(env: &Env) -> Result<Section> {
    let rules = rulebook::Rulebook::builtin()?;
    let dir = env.data.join("push100k");
    for (format, name) in [
        (synth::OutFormat::Json, "json"),
        (synth::OutFormat::Csv, "csv"),
    ] {
        let d = dir.join(name);
        if !d.join("manifest.json").exists() {
            let mut o = synth::GenOptions::small(
                5,
                chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            );
            o.orgs = 20_000;
            o.persons = 2_000;
            o.penalties = 100_000;
            o.dirty = 0.0;
            o.format = format;
            o.only = Some("行政处罚".into());
            synth::generate(&rules, &d, &o)?;
        }
    }
    let file_of = |name: &str| -> Result<std::path::PathBuf> {
        let d = dir.join(name);
        let m: Value = serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json"))?)?;
        Ok(d.join(m["files"][0]["file"].as_str().unwrap_or_default()))
    };
    let (json_file, csv_file) = (file_of("json")?, file_of("csv")?);
    let unit = "盐城市生态环境局";
    // File import.
    let db_file = env.data.join("push-file.db");
    let db_api = env.data.join("push-api.db");
    for p in [&db_file, &db_api] {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
            let _ = std::fs::remove_file(format!("{}{ext}", store::platform_path(p).display()));
        }
    }
    let t0 = Instant::now();
    crate::ingest_bench::import(
        env,
        &db_file.display().to_string(),
        &env.data.join("bench.key"),
        unit,
        &csv_file,
    )?;
    let file_rate = 100_000.0 / t0.elapsed().as_secs_f64();
    // Push.
    let db = db_api.display().to_string();
    store::Store::open(&db)?;
    let t = token(env, &db, "reporter", Some(unit))?;
    let server = start(env, &db, 18913)?;
    let t0 = Instant::now();
    let out = Command::new("curl")
        .args([
            "-s",
            "-f",
            "-H",
            &format!("Authorization: Bearer {t}"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
        ])
        .arg(format!("@{}", json_file.display()))
        .arg("http://127.0.0.1:18913/api/v1/submissions?class=%E8%A1%8C%E6%94%BF%E5%A4%84%E7%BD%9A")
        .output()?;
    let push_rate = 100_000.0 / t0.elapsed().as_secs_f64();
    let summary: Value = serde_json::from_slice(&out.stdout).context("push response")?;
    let peak = server
        .peak_mib()
        .map_or("not read".to_string(), |m| format!("{m} MiB"));
    Ok(Section {
        title: "Push API".into(),
        lines: vec![Line {
            what: "100,000 records pushed as one JSON submission (POST /api/v1/submissions), end to end".into(),
            xinyong: format!("{} rows/s", thousands(push_rate)),
            baseline: format!("{} rows/s (file import of the same rows, CSV)", thousands(file_rate)),
            ratio: format!("{:.0}%", push_rate / file_rate * 100.0),
            goal: String::new(),
            met: None,
        }],
        notes: vec![
            format!(
                "Accepted {}, rejected {}; the server streamed the body into the importer (peak memory of the server process, VmHWM: {peak}).",
                summary["accepted"], summary["rejected"]
            ),
            "The file import is a one-shot command: its commit also copies the WAL back into the database. The server leaves that copy to its checkpoint thread, so the push's time does not include it.".into(),
        ],
    })
}
