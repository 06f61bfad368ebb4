//! The credit store. One connection trait ([`conn::Conn`]) with two implementations — SQLite
//! (bundled, WAL; the embedded default at a path) and PostgreSQL (selected by a `postgres://` URL)
//! — and the record model written once on top of it: submissions kept as received, subjects,
//! records whose versions are never changed, rejections, quality figures and credit files.
//!
//! Writes go through one connection at a time on SQLite (`BEGIN IMMEDIATE`) and a pool on
//! PostgreSQL; a submission is one transaction, so a crash leaves all of it or none.

mod authorisations;
mod bulletins;
pub mod cases;
pub mod conn;
pub mod jobs;
mod joint;
mod lists;
mod migrate;
pub mod model;
mod pg;
mod pg_async;
mod platform;
mod pool;
mod portal;
mod read;
mod sqlite;
pub mod watch;
mod withdraw;
mod write;
mod write_pg;
mod write_sqlite;
pub use withdraw::{BatchWithdrawal, RESTORE_REASON, REVOKED_REASON, Withdrawal};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use authorisations::*;
pub use bulletins::*;
pub use cases::*;
pub use conn::{Backend, Conn, Row, Val};
pub use jobs::Job;
pub use joint::*;
pub use lists::*;
pub use migrate::Schema;
pub use model::*;
pub use platform::*;
pub use pool::PoolGuard;
pub use portal::*;
pub use write::SubmissionWriter;
pub use write_sqlite::BulkLoad;

use pool::ConnPool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The operator reads these on the command line: in Chinese, with the database's own words
    // (SQLite's, PostgreSQL's) kept after them for whoever looks into it.
    #[error("SQLite数据库出错：{0}")]
    Sqlite(String),
    #[error("PostgreSQL数据库出错：{0}")]
    Postgres(String),
    #[error("违反数据库约束：{0}")]
    Constraint(String),
    #[error("数据库正由另一进程独占写入（例如一次正在进行的大批量导入）：请在其结束后再试")]
    Busy,
    #[error("数据库连接锁因程序内部错误失效，请重启服务")]
    Poisoned,
    #[error("无法读取数据库中保存的值：{0}")]
    Decode(String),
    #[error("数据库位置{0}：{1}")]
    Location(String, String),
    #[error("数据库结构版本为{found}，本程序只认识到{known}：请升级程序后再打开此数据库")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("{0}")]
    NotFound(String),
    /// Another unit's record or submission, answered as not found (the caller audits it as a
    /// refusal).
    #[error("{0}")]
    Concealed(String),
    #[error("{0}")]
    Refused(String),
    /// Another unit's to do (the caller may see it, not act on it).
    #[error("{0}")]
    NotYours(String),
    /// PostgreSQL: an entry appended without the lock took a sequence number another writer
    /// had just committed (the cached head was stale); the appender reads the head and retries.
    #[error("审计日志链头已被另一写入者推进")]
    ChainMoved,
    /// A write's audit entry, written before it commits, could not be: nothing was changed.
    /// (Why is kept for the log: the caller is not told the trail's own error.)
    #[error("审计记录无法写入，本次操作未执行（未作任何更改），请稍后再试")]
    AuditUnwritten(String),
}

/// A step a write runs just before it commits, inside its transaction: the service writes the
/// write's audit entry there when the trail is in another store than the write (an SQLite
/// platform file), so that no write commits without its entry. Its error rolls the write back.
pub type BeforeCommit<'a> = &'a dyn Fn() -> Result<(), StoreError>;

/// What a process given another key file than the platform's is told.
pub const KEY_NOT_THE_PLATFORMS: &str = "所用密钥文件不是平台的：与平台审计日志登记的密钥标识不符。请用 --keys（或 XINYONG_KEYS）指向平台的密钥文件";

/// Where the store lives, parsed from `--db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A PostgreSQL URL and, optionally, the schema to use (`?schema=name` in the URL).
    Postgres {
        url: String,
        schema: Option<String>,
    },
}

impl Location {
    pub fn parse(spec: &str) -> Result<Location, StoreError> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let (base, query) = spec.split_once('?').unwrap_or((spec, ""));
            let mut schema = None;
            let mut rest = Vec::new();
            for kv in query.split('&').filter(|s| !s.is_empty()) {
                match kv.split_once('=') {
                    Some(("schema", v)) => {
                        if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            return Err(StoreError::Location(
                                spec.into(),
                                "schema 只能由字母、数字和下划线组成".into(),
                            ));
                        }
                        schema = Some(v.to_string());
                    }
                    _ => rest.push(kv),
                }
            }
            let url = if rest.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", rest.join("&"))
            };
            Ok(Location::Postgres { url, schema })
        } else if spec.contains("://") {
            Err(StoreError::Location(
                spec.into(),
                "应为文件路径（SQLite）或 postgres:// 开头的地址".into(),
            ))
        } else {
            Ok(Location::Sqlite(PathBuf::from(spec)))
        }
    }

    /// Whether a platform is already there: the SQLite file exists, or the PostgreSQL schema
    /// (the connection's search path without `?schema=`) holds the migrations table. Asked without creating
    /// anything, so that a command that only reads or audits can refuse a mistyped location
    /// instead of making an empty platform there (opening a store creates its schema).
    pub fn holds_platform(&self) -> Result<bool, StoreError> {
        match self {
            Location::Sqlite(p) => Ok(p.exists()),
            Location::Postgres { url, schema } => {
                use crate::conn::Conn;
                // Connected as the store's pool connects (the schema named as it names it, so
                // folded as PostgreSQL folds it; a search_path the URL sets otherwise), without
                // the pool's CREATE SCHEMA.
                let mut c = pg::PgConn::connect(url)?;
                if let Some(s) = schema {
                    c.batch(&format!("SET search_path TO {s}"))?;
                }
                let found =
                    c.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?;
                found.map_or(Ok(false), |r| r.bool(0))
            }
        }
    }

    /// Without the password, for logs and messages.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres { url, schema } => {
                let shown = match (url.find("://"), url.rfind('@')) {
                    (Some(s), Some(at)) if at > s => {
                        let userinfo = &url[s + 3..at];
                        let user = userinfo.split(':').next().unwrap_or("");
                        format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
                    }
                    _ => url.clone(),
                };
                match schema {
                    Some(s) => format!("{shown} (schema {s})"),
                    None => shown,
                }
            }
        }
    }
}

/// `xinyong.db` → `xinyong.platform.db`, in the same directory.
pub fn platform_path(credit: &Path) -> PathBuf {
    let stem = credit
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "xinyong".into());
    credit.with_file_name(format!("{stem}.platform.db"))
}

/// Connections to PostgreSQL per pool (the blocking one, and the async readers').
const PG_CONNECTIONS: usize = 16;

enum Pools {
    Sqlite { writer: ConnPool, readers: ConnPool },
    Postgres(ConnPool),
}

/// The SQLite writer maps a bounded part of the file, so that an import's resident memory does not
/// grow with the store; readers map all of it (reads of a many-GiB store then come from the OS
/// page cache without a system call and a copy per page).
const WRITER_MMAP: u64 = 256 << 20;
const READER_MMAP: u64 = 1 << 40;

/// A checkpoint pass this short leaves the writer little to copy after it.
const QUICK_PASS: Duration = Duration::from_millis(2);

/// Runs a checkpoint of the given mode; returns the frames in the WAL when it ran.
fn wal_checkpoint(conn: &mut dyn Conn, mode: &str) -> Result<i64, StoreError> {
    let rows = conn.query(&format!("PRAGMA wal_checkpoint({mode})"), &[])?;
    rows.first().map_or(Ok(0), |r| r.i64(1))
}

/// SQLite page size and the writer's page cache (MiB) for a schema. Large pages suit the credit
/// store's bulk inserts; the platform store commits many small transactions (checks, audit
/// entries), where every dirty page is written to the WAL at each commit: small pages. A large
/// page cache also costs at every commit (SQLite walks its hash table when a transaction ends),
/// so the platform store keeps a small one.
fn sqlite_layout(schema: Schema) -> (u32, i64) {
    match schema {
        Schema::Credit => (16384, credit_cache_mib()),
        Schema::Platform => (4096, 32),
    }
}

/// The SQLite writer's page cache for the credit store, MiB: 512, or `XINYONG_SQLITE_CACHE_MIB`
/// (a small machine; the tests use a tiny cache to make a large transaction spill to the file).
fn credit_cache_mib() -> i64 {
    std::env::var("XINYONG_SQLITE_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&m: &i64| m > 0)
        .unwrap_or(512)
}

/// The store: pools of connections to one database, and the operations on it.
pub struct Store {
    pools: Pools,
    /// PostgreSQL: reads an async caller makes without leaving its runtime.
    async_reads: Option<pg_async::AsyncReads>,
    location: Location,
    schema: Schema,
    /// Overrides the row count after which a submission rebuilds its indexes at commit (tests).
    defer_indexes_after: std::sync::atomic::AtomicU64,
    /// PostgreSQL: set while a `BulkLoad` holds the store (an operator's import with the
    /// database to itself); only then may a large submission set indexes aside.
    pg_bulk: AtomicBool,
    /// SQLite: set once a thread of the store's own checkpoints the WAL; the writer connection
    /// (and any that replaces it) then leaves that to it (see `checkpoint_in_background`).
    manual_checkpoints: Arc<AtomicBool>,
    /// SQLite: the database file (device, inode) as `ready` first found it: a store whose file
    /// was moved or deleted under it keeps working on the unlinked file, and is not ready.
    file_id: std::sync::OnceLock<(u64, u64)>,
    /// SQLite: set by the checkpoint thread when the WAL should start over (see
    /// `checkpoint_in_background`); the next taker of the writer does the last copy.
    wal_restart_wanted: Arc<AtomicBool>,
    /// The key the audit chain is computed under (HMAC-SM3), from the key file kept outside the
    /// store: set by whoever opens the platform store with the keys (`set_audit_key`).
    audit_key: std::sync::OnceLock<[u8; 32]>,
    /// Whether why the store is not ready has been logged (a probe asks every few seconds).
    told_unready: AtomicBool,
    /// PostgreSQL: the audit chain's head as this process last appended or read it (`None`:
    /// not known), so that a group appends in one statement (see `append_in_one_statement`).
    chain_head: std::sync::Mutex<Option<platform::ChainHead>>,
    /// PostgreSQL: check ids taken from the sequence ahead of use, so that a group's audit
    /// entries can name their checks before the statement that writes both.
    check_ids: std::sync::Mutex<std::collections::VecDeque<i64>>,
}

impl Store {
    /// Keys the audit chain from now on (see `domain::audit`): entries appended through this
    /// (platform) store are HMAC-SM3 under `key`. The first key the chain is keyed under is
    /// recorded (`audit_key`, by its `key_id`); another is refused here, before anything is
    /// written with it. Once a keyed entry is in the chain, a store without the key refuses to
    /// append (it could only append entries that verification must refuse).
    pub fn set_audit_key(&self, key: [u8; 32]) -> Result<(), StoreError> {
        let id = domain::audit::key_id(&key);
        let now = chrono::Utc::now();
        let recorded = self.write(|c| {
            let known = c
                .query_one("SELECT key_id FROM audit_key WHERE id = 1", &[])?
                .map(|r| r.text(0))
                .transpose()?;
            if known.is_none() {
                // A chain keyed before its key was recorded (a platform from before migration
                // 1006): the key must be the one its last keyed entry was computed under.
                if let Some(last) = c.query_one(platform::LAST_KEYED, &[])? {
                    let last = platform::audit_from(&last)?;
                    let h =
                        domain::audit::chain_hash_keyed(&key, &last.prev_hash, &last.as_entry());
                    if h[..] != last.hash[..] {
                        return Err(StoreError::Refused(format!(
                            "所用密钥文件不是平台的：与审计日志第{}条（最后一条带密钥的条目）所用密钥不符。请用 --keys（或 XINYONG_KEYS）指向平台的密钥文件",
                            last.entry.seq
                        )));
                    }
                }
                c.execute(
                    "INSERT INTO audit_key (id, key_id, since) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO NOTHING",
                    &[id.as_str().into(), now.into()],
                )?;
            }
            c.query_one("SELECT key_id FROM audit_key WHERE id = 1", &[])?
                .map(|r| r.text(0))
                .transpose()
        })?;
        if recorded.as_deref() != Some(id.as_str()) {
            return Err(StoreError::Refused(KEY_NOT_THE_PLATFORMS.into()));
        }
        let _ = self.audit_key.set(key);
        Ok(())
    }

    /// Whether `key` is the one the audit chain is keyed under; `None` before it is keyed.
    pub fn audit_key_matches(&self, key: &[u8; 32]) -> Result<Option<bool>, StoreError> {
        let recorded = self.read(|c| {
            c.query_one("SELECT key_id FROM audit_key WHERE id = 1", &[])?
                .map(|r| r.text(0))
                .transpose()
        })?;
        Ok(recorded.map(|r| r == domain::audit::key_id(key)))
    }

    /// Logs why the store is not ready, once.
    pub(crate) fn log_once(&self, msg: &str) {
        if !self.told_unready.swap(true, Ordering::Relaxed) {
            eprintln!("{msg}");
        }
    }

    pub(crate) fn audit_key(&self) -> Option<[u8; 32]> {
        self.audit_key.get().copied()
    }

    /// Opens the credit store (creating an SQLite file if needed) and migrates it.
    pub fn open(spec: &str) -> Result<Store, StoreError> {
        let store = Self::connect(spec, Schema::Credit)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens the platform store (accounts, sessions, tokens, audit trail) that goes with the
    /// credit store at `spec`: on SQLite the file `<name>.platform.db` beside it, on PostgreSQL
    /// the same schema.
    pub fn open_platform(spec: &str) -> Result<Store, StoreError> {
        let spec = match Location::parse(spec)? {
            Location::Sqlite(p) => platform_path(&p).display().to_string(),
            Location::Postgres { .. } => spec.to_string(),
        };
        let store = Self::connect(&spec, Schema::Platform)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens without migrating.
    pub fn connect(spec: &str, schema: Schema) -> Result<Store, StoreError> {
        let location = Location::parse(spec)?;
        let wait = Duration::from_secs(30);
        let manual_checkpoints = Arc::new(AtomicBool::new(false));
        let async_reads = match &location {
            Location::Postgres { url, schema } => Some(pg_async::AsyncReads::new(
                url.clone(),
                schema.clone(),
                PG_CONNECTIONS,
            )),
            Location::Sqlite(_) => None,
        };
        let pools = match &location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Location(dir.display().to_string(), e.to_string())
                    })?;
                }
                let wp = path.clone();
                let rp = path.clone();
                let manual = manual_checkpoints.clone();
                let (page, cache) = sqlite_layout(schema);
                Pools::Sqlite {
                    writer: ConnPool::new(
                        1,
                        wait,
                        Box::new(move || {
                            let mut c = sqlite::SqliteConn::open(&wp, cache, WRITER_MMAP, page)?;
                            if manual.load(Ordering::Relaxed) {
                                c.batch("PRAGMA wal_autocheckpoint = 0")?;
                            }
                            Ok(Box::new(c))
                        }),
                    ),
                    readers: ConnPool::new(
                        8,
                        wait,
                        Box::new(move || {
                            Ok(Box::new(sqlite::SqliteConn::open(
                                &rp,
                                64,
                                READER_MMAP,
                                page,
                            )?))
                        }),
                    ),
                }
            }
            Location::Postgres { url, schema } => {
                let url = url.clone();
                let schema = schema.clone();
                Pools::Postgres(ConnPool::new(
                    PG_CONNECTIONS,
                    wait,
                    Box::new(move || {
                        let mut c = pg::PgConn::connect(&url)?;
                        if let Some(s) = &schema {
                            c.batch(&format!(
                                "CREATE SCHEMA IF NOT EXISTS {s}; SET search_path TO {s}"
                            ))?;
                        }
                        Ok(Box::new(c))
                    }),
                ))
            }
        };
        Ok(Store {
            pools,
            async_reads,
            location,
            schema,
            defer_indexes_after: std::sync::atomic::AtomicU64::new(0),
            pg_bulk: AtomicBool::new(false),
            manual_checkpoints,
            wal_restart_wanted: Arc::new(AtomicBool::new(false)),
            audit_key: std::sync::OnceLock::new(),
            chain_head: std::sync::Mutex::new(None),
            check_ids: std::sync::Mutex::new(std::collections::VecDeque::new()),
            told_unready: AtomicBool::new(false),
            file_id: std::sync::OnceLock::new(),
        })
    }

    /// On SQLite, takes the copying of the WAL back into the database off the committing
    /// thread: SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages, so
    /// under load one request in a few thousand waited for the copy and its fsync (the service's
    /// p99). A thread of the store's own runs a passive checkpoint every `every` instead — it
    /// waits for no reader or writer — and ends when the store is dropped. Nothing on PostgreSQL.
    /// For long-running processes; a one-shot command keeps SQLite's own checkpoints.
    ///
    /// A passive checkpoint never lets the WAL start over while commits keep coming (the writer
    /// restarts it only when every frame is already copied, and it has always appended more by
    /// then), so under sustained load the file grew without end — 470 MB in a minute of checks —
    /// and every commit paid the kernel for fresh zeroed pages. Once the WAL holds
    /// `restart_at_bytes`, the thread makes passes until one is quick, then asks the writer to
    /// finish the job: before its next transaction the writer copies the few frames appended
    /// since the thread's last pass (and fsyncs), and that transaction writes from the WAL's
    /// start again.
    /// (A RESTART checkpoint from this thread did the same but held the writer back for up to
    /// 15 ms while it slept in SQLite's busy handler waiting for readers.)
    pub fn checkpoint_in_background(
        self: &Arc<Self>,
        every: Duration,
        restart_at_bytes: u64,
    ) -> Result<(), StoreError> {
        let Location::Sqlite(path) = &self.location else {
            return Ok(());
        };
        if self.manual_checkpoints.load(Ordering::Relaxed) {
            return Ok(());
        }
        // The thread first: commits stop checkpointing only once something else does.
        let page = sqlite_layout(self.schema).0;
        let mut conn = sqlite::SqliteConn::open(path, 2, 0, page)?;
        let restart = self.wal_restart_wanted.clone();
        let restart_at_frames = (restart_at_bytes / u64::from(page)).max(1) as i64;
        let store = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("xy-checkpoint".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    if store.strong_count() == 0 {
                        break;
                    }
                    match wal_checkpoint(&mut conn, "PASSIVE") {
                        Ok(frames) if frames >= restart_at_frames => {
                            // What the writer appended during this pass (tens of ms for tens of
                            // MB) would cost it 13–20 ms to copy and fsync; a few more passes
                            // here shrink it to what one short pass lets in.
                            for _ in 0..4 {
                                let t = std::time::Instant::now();
                                if wal_checkpoint(&mut conn, "PASSIVE").is_err()
                                    || t.elapsed() < QUICK_PASS
                                {
                                    break;
                                }
                            }
                            restart.store(true, Ordering::Relaxed)
                        }
                        Ok(_) => {}
                        Err(e) => eprintln!("checkpoint of the SQLite WAL failed: {e}"),
                    }
                }
            })
            .map_err(|e| StoreError::Refused(format!("无法启动 WAL 检查点线程：{e}")))?;
        self.manual_checkpoints.store(true, Ordering::Relaxed);
        self.writer()?.batch("PRAGMA wal_autocheckpoint = 0")
    }

    /// Makes submissions on SQLite rebuild their secondary indexes at commit once they have
    /// applied `rows` rows, instead of the size-based default (0 restores the default). For tests
    /// of the large-submission path on small data.
    pub fn defer_indexes_after(&self, rows: u64) {
        self.defer_indexes_after
            .store(rows, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether an operator's bulk import holds this PostgreSQL store (see `BulkLoad`).
    pub(crate) fn pg_bulk(&self) -> bool {
        self.pg_bulk.load(Ordering::Relaxed)
    }

    pub(crate) fn index_deferral_override(&self) -> Option<u64> {
        match self
            .defer_indexes_after
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => None,
            n => Some(n),
        }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The next group for a group writer (audit entries, checks): `first` and what arrives
    /// close behind it, up to `max`. Gathering ends after `linger` without an arrival (when every
    /// request in flight waits in the group the cores idle until then: at 32 connections 500 µs
    /// left 14–18% idle, 150 µs 5–10%), and once the group holds a share of the requests in
    /// flight (`in_flight`, counted by the server). On SQLite, whose commits do not sync (WAL),
    /// that share is all of them: with checks at 32 connections, 33% more per second and the idle
    /// share from 34% to 22%. On PostgreSQL, whose commits sync and take a few round trips, a
    /// group that waited for all of them kept server and database in lock-step (the requests
    /// answered, then all back in the next group) — 12% fewer checks than the linger alone; one
    /// that ends at half of them lets the other half gather while it commits. Measured at 1 M
    /// organisations, 32 connections, alternating runs: checks 11,700–12,200/s before, 13,300–
    /// 14,200/s after; officers reading files (their audit entries) 8,000–8,400 against
    /// 8,500–8,800 req/s. (Ending a group at once, with no share, made groups of one: 1,700/s.)
    /// Once a group became one statement (`append_in_one_statement`) the half still measured
    /// best: all of them 8,500–10,000 checks/s, a quarter 12,100–13,500, a linger of 400 µs
    /// 10,600–13,400, against 15,000–15,700 (groups of 3–4 checks, 4,400 commits/s).
    pub fn gather_group<J>(
        &self,
        rx: &std::sync::mpsc::Receiver<J>,
        first: J,
        max: usize,
        linger: Duration,
        in_flight: &std::sync::atomic::AtomicUsize,
    ) -> Vec<J> {
        let share = match self.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        };
        let mut jobs = vec![first];
        while jobs.len() < max && jobs.len() * share < in_flight.load(Ordering::Acquire) {
            match rx.recv_timeout(linger) {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        jobs
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the connections no one is using (a process that hands the store to another).
    pub fn close_idle(&self) {
        match &self.pools {
            Pools::Sqlite { writer, readers } => {
                writer.close_idle();
                readers.close_idle();
            }
            Pools::Postgres(p) => p.close_idle(),
        }
    }

    /// A connection for reading.
    pub fn reader(&self) -> Result<PoolGuard<'_>, StoreError> {
        match &self.pools {
            Pools::Sqlite { readers, .. } => readers.get(),
            Pools::Postgres(p) => p.get(),
        }
    }

    /// The connection for writing (on SQLite, the single writer).
    pub fn writer(&self) -> Result<PoolGuard<'_>, StoreError> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut c = writer.get()?;
                if self.wal_restart_wanted.swap(false, Ordering::Relaxed) {
                    // See `checkpoint_in_background`: this writer's next transaction then starts
                    // the WAL over, unless a reader still reads an older snapshot (the thread
                    // asks again).
                    if let Err(e) = wal_checkpoint(&mut *c, "PASSIVE") {
                        eprintln!("checkpoint of the SQLite WAL failed: {e}");
                    }
                }
                Ok(c)
            }
            Pools::Postgres(p) => p.get(),
        }
    }

    /// Runs `f` in one write transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut c = self.writer()?;
        c.begin()?;
        match f(&mut *c) {
            Ok(v) => {
                c.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = c.rollback();
                Err(e)
            }
        }
    }

    /// Runs `f` on a reading connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut c = self.reader()?;
        f(&mut *c)
    }

    pub fn schema(&self) -> Schema {
        self.schema
    }

    /// The default embedded store path, under `./xinyong-data/`.
    pub fn default_path() -> &'static Path {
        Path::new("xinyong-data/xinyong.db")
    }
}

/// Splits `n` rows into multi-row statement sizes from a fixed set (64, 16, 4, 1), so that the
/// few SQL texts stay in the prepared-statement cache instead of one text per group size.
pub(crate) fn multi_row_pieces(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for size in [64, 16, 4, 1] {
        while n >= size {
            out.push(size);
            n -= size;
        }
    }
    out
}

/// `$1::t1[], $2::t2[], …` for a PostgreSQL `unnest` of one array per column.
pub(crate) fn unnest_params(types: &[&str]) -> String {
    unnest_params_from(types, 1)
}

/// `unnest_params` numbered from `$first` (a statement whose earlier parameters are another's).
pub(crate) fn unnest_params_from(types: &[&str], first: usize) -> String {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Row-major values (`width` per row) as one array parameter per column, for `unnest_params`.
pub(crate) fn columns_of(values: Vec<Val>, width: usize) -> Vec<Val> {
    let rows = values.len() / width.max(1);
    let mut cols: Vec<Vec<Val>> = (0..width).map(|_| Vec::with_capacity(rows)).collect();
    for (i, v) in values.into_iter().enumerate() {
        cols[i % width].push(v);
    }
    cols.into_iter().map(Val::Array).collect()
}

#[cfg(test)]
mod pieces_tests {
    #[test]
    fn pieces_cover_every_row_with_few_sizes() {
        for n in 0..300 {
            let p = super::multi_row_pieces(n);
            assert_eq!(p.iter().sum::<usize>(), n);
            assert!(p.iter().all(|s| [64, 16, 4, 1].contains(s)));
            assert!(p.iter().filter(|&&s| s != 64).count() <= 3 + 3 + 3);
        }
    }
}

#[cfg(all(test, unix))]
mod file_mode_tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_sqlite_store_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let spec = path.to_str().unwrap();
        let store = super::Store::open_platform(spec).unwrap();
        store.read(|c| c.query("SELECT 1", &[])).unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            files
                .iter()
                .any(|f| f.extension().is_some_and(|e| e == "db"))
        );
        for f in files {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}
