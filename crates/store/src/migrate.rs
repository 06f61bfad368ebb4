//! Schema migrations, one numbered file per backend, applied in order inside a transaction and
//! recorded in `schema_migrations`.

use chrono::Utc;

use crate::conn::{Backend, Val};
use crate::{Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "core",
    sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
    postgres: include_str!("../migrations/postgres/0001_core.sql"),
}];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = 1;

impl Store {
    /// Brings the schema to [`SCHEMA_VERSION`]; refuses a schema newer than this program.
    pub fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut c = self.writer()?;
        let backend = c.backend();
        c.batch(match backend {
            Backend::Sqlite => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            }
            Backend::Postgres => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            }
        })?;
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            c.begin()?;
            // Taken inside the transaction: a second process migrating at once waits here.
            if backend == Backend::Postgres {
                c.batch("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")?;
            }
            let done = c
                .query_one(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[Val::Int(m.version)],
                )?
                .is_some();
            if done {
                c.rollback()?;
                continue;
            }
            let sql = match backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            if let Err(e) = c.batch(sql).and_then(|_| {
                c.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    &[Val::Int(m.version), m.name.into(), Utc::now().into()],
                )
            }) {
                let _ = c.rollback();
                return Err(e);
            }
            c.commit()?;
            applied.push(m.version);
        }
        let found = self.schema_version_on(&mut *c)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(applied)
    }

    fn schema_version_on(&self, c: &mut dyn crate::Conn) -> Result<i64, StoreError> {
        let row = c.query_one(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations",
            &[],
        )?;
        row.map_or(Ok(0), |r| r.i64(0))
    }

    /// The schema version in the store (0 when never migrated).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let mut c = self.reader()?;
        let exists = match c.backend() {
            Backend::Sqlite => c.query_one(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                &[],
            )?,
            Backend::Postgres => c.query_one(
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_migrations' AND table_schema = current_schema()",
                &[],
            )?,
        };
        if exists.is_none() {
            return Ok(0);
        }
        self.schema_version_on(&mut *c)
    }

    /// Whether the store is reachable and its schema current (`/readyz`).
    pub fn ready(&self) -> Result<(), StoreError> {
        let v = self.schema_version()?;
        if v == SCHEMA_VERSION {
            Ok(())
        } else {
            Err(StoreError::Refused(format!(
                "schema at version {v}, expected {SCHEMA_VERSION}"
            )))
        }
    }
}
