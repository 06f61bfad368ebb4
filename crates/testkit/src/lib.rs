//! Test support. [`stores`] gives a fresh SQLite store and a fresh PostgreSQL store (its own
//! schema, dropped afterwards), so that every store test runs on both backends. PostgreSQL is
//! not optional: when it cannot be reached the test fails and says how to start it.

use std::sync::atomic::{AtomicU64, Ordering};

use store::Store;

/// PostgreSQL used by the tests; override with `XINYONG_TEST_PG`.
pub fn pg_url() -> String {
    std::env::var("XINYONG_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A store under test, and what to clean up when it goes.
pub struct TestStore {
    pub name: &'static str,
    pub store: Store,
    /// The `--db` spec that opens this same store (for commands run as processes).
    pub spec: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // On a thread of its own: the sync client cannot run inside an async test's runtime.
        if let Some(s) = self.schema.clone() {
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"));
                }
            })
            .join();
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.db");
    let spec = path.display().to_string();
    TestStore {
        name: "sqlite",
        store: Store::open(&spec).expect("open sqlite store"),
        spec,
        _dir: Some(dir),
        schema: None,
    }
}

pub fn postgres() -> TestStore {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!("xy_test_{}_{n}_{nanos}", std::process::id());
    let url = pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let spec = format!("{url}{sep}schema={schema}");
    let store = Store::open(&spec).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required by the tests and is not reachable at {url}: {e}\n\
             start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    });
    TestStore {
        name: "postgres",
        store,
        spec,
        _dir: None,
        schema: Some(schema),
    }
}

/// Both backends, fresh.
pub fn stores() -> Vec<TestStore> {
    vec![sqlite(), postgres()]
}

pub fn keys() -> crypto::KeyRing {
    crypto::KeyRing::generate().expect("keys")
}

/// A key file in a temp dir, for commands run as processes.
pub fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("test.key");
    crypto::KeyRing::open_or_create(&p).expect("key file");
    p
}

pub fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// A clock stopped at noon (Beijing) of a day.
pub fn clock_on(s: &str) -> domain::clock::FixedClock {
    domain::clock::FixedClock::on(day(s))
}

/// Checks an SM2 signature (DER) of `message` against a PEM public key with stock OpenSSL 3, the
/// distinguishing ID given, as someone outside the platform would; `Err` holds what OpenSSL said.
pub fn openssl_sm2_verifies(
    public_pem: &[u8],
    message: &[u8],
    signature_der: &[u8],
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (name, bytes) in [
        ("pub.pem", public_pem),
        ("msg", message),
        ("sig", signature_der),
    ] {
        std::fs::write(dir.path().join(name), bytes).map_err(|e| e.to_string())?;
    }
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args(["dgst", "-sm3", "-verify", "pub.pem"])
        .args([
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            "sig",
            "msg",
        ])
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
