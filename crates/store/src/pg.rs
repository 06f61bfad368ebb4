//! PostgreSQL backend (15+): statements prepared once per connection, bulk appends by binary `COPY`.

use std::collections::HashMap;
use std::error::Error as _;

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::StoreError;
use crate::conn::{Backend, Conn, Row, Val};

pub struct PgConn {
    /// Always `Some` until drop.
    client: Option<Client>,
    statements: HashMap<String, Statement>,
    in_tx: bool,
    /// `BEGIN` asked for but not yet sent: it travels with the transaction's first statement
    /// (one round trip fewer for every write).
    begin_pending: bool,
    slow: Option<std::time::Duration>,
}

/// Logs statements slower than `XINYONG_SLOW_SQL_MS` to stderr (a slow-query log for operators).
fn slow_threshold() -> Option<std::time::Duration> {
    std::env::var("XINYONG_SLOW_SQL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
}

impl Drop for PgConn {
    // The sync client blocks on its own runtime when it closes; inside an async runtime (a
    // server shutting down, an async test ending) that must happen on another thread.
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::spawn(move || drop(c)).join();
        }
    }
}

impl PgConn {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("client present until drop")
    }

    fn timed<T>(&mut self, sql: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let Some(limit) = self.slow else {
            return f(self);
        };
        let t = std::time::Instant::now();
        let r = f(self);
        let took = t.elapsed();
        if took >= limit {
            let head: String = sql
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(100)
                .collect();
            eprintln!("slow sql {:>8.1} ms  {head}", took.as_secs_f64() * 1000.0);
        }
        r
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::DATE => NaiveDate::parse_from_str(s, "%Y-%m-%d")?.to_sql(ty, out),
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::TIMESTAMPTZ => DateTime::parse_from_rfc3339(s)?
                    .with_timezone(&Utc)
                    .to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
            Val::Bytes(b) => b.as_slice().to_sql(ty, out),
            Val::Bool(b) => match *ty {
                Type::INT2 | Type::INT4 | Type::INT8 => Val::Int(*b as i64).to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
            Val::Date(d) => match *ty {
                Type::TEXT | Type::VARCHAR => d.format("%Y-%m-%d").to_string().to_sql(ty, out),
                _ => d.to_sql(ty, out),
            },
            Val::Time(t) => match *ty {
                Type::TEXT | Type::VARCHAR => t
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    .to_sql(ty, out),
                Type::TIMESTAMP => t.naive_utc().to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
            Val::Array(items) => {
                // postgres-types panics on an array bound to a scalar parameter.
                if !matches!(ty.kind(), postgres::types::Kind::Array(_)) {
                    return Err(format!("an array bound to a parameter of type {ty}").into());
                }
                items.to_sql(ty, out)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The platform's rows from PostgreSQL's (the blocking and the async client share the type).
pub(crate) fn rows_from(rows: &[postgres::Row]) -> Result<Vec<Row>, StoreError> {
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| column(r, i))
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}

fn column(row: &postgres::Row, i: usize) -> Result<Val, StoreError> {
    let ty = row.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Val::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Val::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Val::Int(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Val::Bool),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Bytes),
        Type::DATE => row.try_get::<_, Option<NaiveDate>>(i)?.map(Val::Date),
        Type::TIMESTAMPTZ => row.try_get::<_, Option<DateTime<Utc>>>(i)?.map(Val::Time),
        Type::TIMESTAMP => row
            .try_get::<_, Option<NaiveDateTime>>(i)?
            .map(|t| Val::Time(t.and_utc())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)?
            .map(|f| Val::Text(f.to_string())),
        _ => row.try_get::<_, Option<Text>>(i)?.map(|t| Val::Text(t.0)),
    };
    Ok(v.unwrap_or(Val::Null))
}

/// A text column checked with simdutf8 (the standard UTF-8 check was about 2% of the CPU while
/// the service read credit files of Chinese text); accepts what `String` accepts.
struct Text(String);

impl<'a> postgres::types::FromSql<'a> for Text {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Text(simdutf8::basic::from_utf8(raw)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        <String as postgres::types::FromSql>::accepts(ty)
    }
}

/// What every connection of the platform sets first (the blocking ones and the async readers).
/// The platform's queries are short lookups: JIT compilation (on by default above a plan cost
/// that a large table without fresh statistics easily reaches) cost 60–200 ms on a query that
/// runs in one millisecond. Connections are named by process, so that a bulk import can tell
/// whether any other process is connected before it sets indexes aside (see `write_pg`).
pub(crate) fn session_settings() -> String {
    format!(
        "SET jit = off; SET application_name = '{}'",
        crate::write_pg::application_name()
    )
}

impl PgConn {
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(&session_settings())?;
        Ok(PgConn {
            client: Some(client),
            statements: HashMap::new(),
            in_tx: false,
            begin_pending: false,
            slow: slow_threshold(),
        })
    }

    /// Sends a pending `BEGIN` on its own, before a statement of the extended protocol.
    fn send_begin(&mut self) -> Result<(), StoreError> {
        if self.begin_pending {
            self.client().batch_execute("BEGIN")?;
            self.begin_pending = false;
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client().prepare(sql)?;
        if self.statements.len() > 256 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

pub(crate) fn refs(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Conn for PgConn {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        self.send_begin()?;
        let st = self.statement(sql)?;
        Ok(self.timed(sql, |c| c.client().execute(&st, &refs(params)))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        self.send_begin()?;
        let st = self.statement(sql)?;
        let rows = self.timed(sql, |c| c.client().query(&st, &refs(params)))?;
        rows_from(&rows)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        if self.begin_pending {
            // A simple query may hold several statements; the block BEGIN opens stays open.
            self.begin_pending = false;
            let sql = format!("BEGIN; {sql}");
            return Ok(self.timed(&sql, |c| c.client().batch_execute(&sql))?);
        }
        Ok(self.timed(sql, |c| c.client().batch_execute(sql))?)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.in_tx = true;
        self.begin_pending = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.in_tx = false;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(());
        }
        Ok(self.client().batch_execute("COMMIT")?)
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.in_tx = false;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(());
        }
        Ok(self.client().batch_execute("ROLLBACK")?)
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn is_broken(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }

    fn copy_in(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Val>],
    ) -> Result<u64, StoreError> {
        self.send_begin()?;
        let cols = columns.join(", ");
        let probe = self.statement(&format!("SELECT {cols} FROM {table} LIMIT 0"))?;
        let types: Vec<Type> = probe.columns().iter().map(|c| c.type_().clone()).collect();
        let sink = self
            .client()
            .copy_in(&format!("COPY {table} ({cols}) FROM STDIN (FORMAT binary)"))?;
        let t = std::time::Instant::now();
        let mut w = BinaryCopyInWriter::new(sink, &types);
        for r in rows {
            w.write(&refs(r))?;
        }
        let n = w.finish()?;
        if self.slow.is_some_and(|l| t.elapsed() >= l) {
            eprintln!(
                "slow sql {:>8.1} ms  COPY {table} ({} rows)",
                t.elapsed().as_secs_f64() * 1000.0,
                rows.len()
            );
        }
        Ok(n)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            if code == "23505" && db.constraint() == Some("audit_log_pkey") {
                return StoreError::ChainMoved;
            }
            if code.starts_with("23") {
                return StoreError::Constraint(db.message().to_string());
            }
            if code == "40001" || code == "40P01" || code == "55P03" {
                return StoreError::Busy;
            }
            return StoreError::Postgres(format!("{} ({code})", db.message()));
        }
        let detail = e.source().map(|s| s.to_string()).unwrap_or_default();
        StoreError::Postgres(format!("{e} {detail}").trim().to_string())
    }
}
