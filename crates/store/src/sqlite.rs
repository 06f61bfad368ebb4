//! SQLite (bundled) backend: WAL, one writer connection taking `BEGIN IMMEDIATE`, several readers.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::StoreError;
use crate::conn::{Backend, Conn, Row, Val};

pub struct SqliteConn {
    conn: Connection,
    in_tx: bool,
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(SqlValue::Null),
            Val::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Val::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
            Val::Date(d) => ToSqlOutput::Owned(SqlValue::Text(d.format("%Y-%m-%d").to_string())),
            Val::Time(t) => ToSqlOutput::Owned(SqlValue::Text(
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            )),
            Val::Array(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "SQLite has no array parameters".into(),
                ));
            }
        })
    }
}

/// `$1` → `?1`: SQLite's numbered parameters, so that the SQL text is shared with PostgreSQL.
pub(crate) fn to_sqlite_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn from_ref(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Text(f.to_string()),
        // SQLite does not check that text is UTF-8, so it is checked here — with SIMD: a credit
        // file's Chinese payloads made the standard check the largest single cost of reading one.
        ValueRef::Text(t) => Val::Text(match simdutf8::basic::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
    }
}

/// How long a connection waits for another's lock before it reports the store busy.
pub(crate) const BUSY_TIMEOUT_MS: u64 = 10_000;

impl SqliteConn {
    /// `mmap_bytes`: how much of the file the connection maps (address space; the pages are the
    /// OS page cache's, though they count in the process's resident size once read). SQLite
    /// caps it at SQLITE_MAX_MMAP_SIZE, set in `.cargo/config.toml`.
    pub fn open(
        path: &Path,
        cache_mib: i64,
        mmap_bytes: u64,
        page_size: u32,
    ) -> Result<Self, StoreError> {
        let new = !path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A new store is readable by its owner only (it holds password hashes, sealed ID
        // numbers, the audit trail); SQLite gives its WAL and shared-memory files the same mode.
        #[cfg(unix)]
        if new {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StoreError::Sqlite(format!("{}: {e}", path.display())))?;
        }
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        // Set before the first table is created (no effect on an existing file).
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -{};
             PRAGMA mmap_size = {mmap_bytes};",
            cache_mib * 1024
        ))?;
        // Plans do not depend on bound values: otherwise SQLite marks some statements to be
        // re-prepared whenever their parameters change, and rusqlite's statement cache clears
        // the bindings of every statement it takes back — so those statements were compiled
        // afresh on every call (a subject's versions, on every credit file read).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteConn { conn, in_tx: false })
    }
}

impl Conn for SqliteConn {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let mut st = self.conn.prepare_cached(&to_sqlite_params(sql))?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        let mut st = self.conn.prepare_cached(&to_sqlite_params(sql))?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(from_ref(r.get_ref(i)?));
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_tx = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.in_tx = false;
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn in_transaction(&self) -> bool {
        self.in_tx || !self.conn.is_autocommit()
    }

    fn sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        Some(&mut self.conn)
    }

    fn copy_in(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Val>],
    ) -> Result<u64, StoreError> {
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        for r in rows {
            st.execute(rusqlite::params_from_iter(r.iter()))?;
        }
        Ok(rows.len() as u64)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Constraint(msg.clone().unwrap_or_else(|| e.to_string()))
            }
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Busy
            }
            _ => StoreError::Sqlite(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_params_become_numbered() {
        assert_eq!(
            to_sqlite_params("SELECT a FROM t WHERE b = $2 AND c = $1 AND d = $10"),
            "SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = ?10"
        );
    }
}
