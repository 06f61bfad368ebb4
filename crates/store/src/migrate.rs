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

/// The credit store's migrations (versions below 1000).
const CREDIT: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
        postgres: include_str!("../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "portal",
        sqlite: include_str!("../migrations/sqlite/0002_portal.sql"),
        postgres: include_str!("../migrations/postgres/0002_portal.sql"),
    },
    Migration {
        version: 3,
        name: "lists",
        sqlite: include_str!("../migrations/sqlite/0003_lists.sql"),
        postgres: include_str!("../migrations/postgres/0003_lists.sql"),
    },
    Migration {
        version: 4,
        name: "changed",
        sqlite: include_str!("../migrations/sqlite/0004_changed.sql"),
        postgres: include_str!("../migrations/postgres/0004_changed.sql"),
    },
    Migration {
        version: 5,
        name: "cases",
        sqlite: include_str!("../migrations/sqlite/0005_cases.sql"),
        postgres: include_str!("../migrations/postgres/0005_cases.sql"),
    },
    Migration {
        version: 6,
        name: "public_count",
        sqlite: include_str!("../migrations/sqlite/0006_public_count.sql"),
        postgres: include_str!("../migrations/postgres/0006_public_count.sql"),
    },
    Migration {
        version: 7,
        name: "objections",
        sqlite: include_str!("../migrations/sqlite/0007_objections.sql"),
        postgres: include_str!("../migrations/postgres/0007_objections.sql"),
    },
    Migration {
        version: 8,
        name: "rejected_decisions",
        sqlite: include_str!("../migrations/sqlite/0008_rejected_decisions.sql"),
        postgres: include_str!("../migrations/postgres/0008_rejected_decisions.sql"),
    },
    Migration {
        version: 9,
        name: "decision_on_records",
        sqlite: include_str!("../migrations/sqlite/0009_decision_on_records.sql"),
        postgres: include_str!("../migrations/postgres/0009_decision_on_records.sql"),
    },
    Migration {
        version: 10,
        name: "submission_notices",
        sqlite: include_str!("../migrations/sqlite/0010_submission_notices.sql"),
        postgres: include_str!("../migrations/postgres/0010_submission_notices.sql"),
    },
    Migration {
        version: 11,
        name: "code_conflict_reviews",
        sqlite: include_str!("../migrations/sqlite/0011_code_conflict_reviews.sql"),
        postgres: include_str!("../migrations/postgres/0011_code_conflict_reviews.sql"),
    },
    Migration {
        version: 12,
        name: "case_channel",
        sqlite: include_str!("../migrations/sqlite/0012_case_channel.sql"),
        postgres: include_str!("../migrations/postgres/0012_case_channel.sql"),
    },
    Migration {
        version: 13,
        name: "case_channel_backfill",
        sqlite: include_str!("../migrations/sqlite/0013_case_channel_backfill.sql"),
        postgres: include_str!("../migrations/postgres/0013_case_channel_backfill.sql"),
    },
    Migration {
        version: 14,
        name: "article_edited",
        sqlite: include_str!("../migrations/sqlite/0014_article_edited.sql"),
        postgres: include_str!("../migrations/postgres/0014_article_edited.sql"),
    },
];

/// The platform store's migrations (versions from 1001): accounts, sessions, tokens, audit;
/// checks, exceptions, batches, subscriptions, alerts.
const PLATFORM: &[Migration] = &[
    Migration {
        version: 1001,
        name: "platform",
        sqlite: include_str!("../migrations/sqlite/1001_platform.sql"),
        postgres: include_str!("../migrations/postgres/1001_platform.sql"),
    },
    Migration {
        version: 1002,
        name: "joint",
        sqlite: include_str!("../migrations/sqlite/1002_joint.sql"),
        postgres: include_str!("../migrations/postgres/1002_joint.sql"),
    },
    Migration {
        version: 1003,
        name: "contacts",
        sqlite: include_str!("../migrations/sqlite/1003_contacts.sql"),
        postgres: include_str!("../migrations/postgres/1003_contacts.sql"),
    },
    Migration {
        version: 1004,
        name: "audit_keyed",
        sqlite: include_str!("../migrations/sqlite/1004_audit_keyed.sql"),
        postgres: include_str!("../migrations/postgres/1004_audit_keyed.sql"),
    },
    Migration {
        version: 1005,
        name: "authorisations",
        sqlite: include_str!("../migrations/sqlite/1005_authorisations.sql"),
        postgres: include_str!("../migrations/postgres/1005_authorisations.sql"),
    },
    Migration {
        version: 1006,
        name: "audit_key",
        sqlite: include_str!("../migrations/sqlite/1006_audit_key.sql"),
        postgres: include_str!("../migrations/postgres/1006_audit_key.sql"),
    },
    Migration {
        version: 1007,
        name: "bulletins",
        sqlite: include_str!("../migrations/sqlite/1007_bulletins.sql"),
        postgres: include_str!("../migrations/postgres/1007_bulletins.sql"),
    },
    Migration {
        version: 1008,
        name: "batch_figures",
        sqlite: include_str!("../migrations/sqlite/1008_batch_figures.sql"),
        postgres: include_str!("../migrations/postgres/1008_batch_figures.sql"),
    },
    Migration {
        version: 1009,
        name: "exception_revoke_reason",
        sqlite: include_str!("../migrations/sqlite/1009_exception_revoke_reason.sql"),
        postgres: include_str!("../migrations/postgres/1009_exception_revoke_reason.sql"),
    },
    Migration {
        version: 1010,
        name: "last_failed_login",
        sqlite: include_str!("../migrations/sqlite/1010_last_failed_login.sql"),
        postgres: include_str!("../migrations/postgres/1010_last_failed_login.sql"),
    },
    Migration {
        version: 1011,
        name: "last_login",
        sqlite: include_str!("../migrations/sqlite/1011_last_login.sql"),
        postgres: include_str!("../migrations/postgres/1011_last_login.sql"),
    },
    Migration {
        version: 1012,
        name: "check_reference",
        sqlite: include_str!("../migrations/sqlite/1012_check_reference.sql"),
        postgres: include_str!("../migrations/postgres/1012_check_reference.sql"),
    },
    Migration {
        version: 1013,
        name: "password_history",
        sqlite: include_str!("../migrations/sqlite/1013_password_history.sql"),
        postgres: include_str!("../migrations/postgres/1013_password_history.sql"),
    },
];

/// Which schema a store holds. On PostgreSQL both live in one schema; on SQLite in two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Credit,
    Platform,
}

impl Schema {
    fn migrations(self) -> &'static [Migration] {
        match self {
            Schema::Credit => CREDIT,
            Schema::Platform => PLATFORM,
        }
    }
    /// The schema version this program writes.
    pub fn current(self) -> i64 {
        self.migrations().last().map_or(0, |m| m.version)
    }
    fn range(self) -> (i64, i64) {
        match self {
            Schema::Credit => (1, 999),
            Schema::Platform => (1000, 1999),
        }
    }
}

impl Store {
    /// Brings the store's schema to its current version; refuses a schema newer than this program.
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
        for m in self.schema.migrations() {
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
            let extra = |c: &mut dyn crate::conn::Conn| -> Result<(), StoreError> {
                if backend == Backend::Sqlite && m.version == 3 {
                    widen_check(
                        c,
                        "record_versions",
                        "CHECK (change IN ('created', 'corrected', 'withdrawn', 'repaired'))",
                        "CHECK (change IN ('created', 'corrected', 'withdrawn', 'repaired', 'exited', 'revoked', 'expired'))",
                    )?;
                }
                if backend == Backend::Sqlite && m.version == 12 {
                    widen_check(
                        c,
                        "submissions",
                        "CHECK (channel IN ('file', 'api'))",
                        "CHECK (channel IN ('file', 'api', 'case'))",
                    )?;
                }
                Ok(())
            };
            if let Err(e) = c.batch(sql).and_then(|_| extra(&mut *c)).and_then(|_| {
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
        let known = self.schema.current();
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        Ok(applied)
    }

    fn schema_version_on(&self, c: &mut dyn crate::Conn) -> Result<i64, StoreError> {
        let (lo, hi) = self.schema.range();
        let row = c.query_one(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations WHERE version BETWEEN $1 AND $2",
            &[Val::Int(lo), Val::Int(hi)],
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
        let want = self.schema.current();
        if v != want {
            return Err(StoreError::Refused(if v > want {
                format!("数据库结构版本为{v}，高于本程序的{want}：请升级程序")
            } else {
                format!("数据库结构版本为{v}，应为{want}：请重启服务以升级数据库")
            }));
        }
        #[cfg(unix)]
        if let crate::Location::Sqlite(path) = &self.location {
            use std::os::unix::fs::MetadataExt;
            // Said without the path: /readyz answers anyone.
            let m = std::fs::metadata(path).map_err(|e| {
                self.log_once(&format!("database file {}: {e}", path.display()));
                StoreError::Refused("数据库文件已不存在或无法读取：请检查后重启服务".into())
            })?;
            let id = (m.dev(), m.ino());
            if *self.file_id.get_or_init(|| id) != id {
                self.log_once(&format!("database file {} was replaced", path.display()));
                return Err(StoreError::Refused(
                    "数据库文件已被替换或移走：服务仍在使用原文件，请重启服务".into(),
                ));
            }
        }
        Ok(())
    }
}

/// SQLite cannot alter a CHECK constraint; its documented procedure for a change that every
/// stored row still satisfies (more allowed values: of `record_versions.change` for list exits,
/// of `submissions.channel` for a case's registrations) is to edit the table's schema text and
/// bump the schema version, instead of copying a table of millions of immutable rows. A
/// constraint not found as written is an error: the table would go on refusing the new value.
fn widen_check(
    c: &mut dyn crate::conn::Conn,
    table: &str,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    let v = c
        .query_one("PRAGMA schema_version", &[])?
        .map_or(Ok(0), |r| r.i64(0))?;
    c.batch("PRAGMA writable_schema = ON")?;
    let n = c.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, $1, $2)
         WHERE type = 'table' AND name = $3 AND instr(sql, $1) > 0",
        &[from.into(), to.into(), table.into()],
    )?;
    if n != 1 {
        c.batch("PRAGMA writable_schema = OFF")?;
        return Err(StoreError::Decode(format!(
            "migration: {table} has no constraint {from}"
        )));
    }
    c.batch(&format!("PRAGMA schema_version = {}", v + 1))?;
    c.batch("PRAGMA writable_schema = OFF")?;
    Ok(())
}
