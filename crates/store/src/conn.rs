//! The one trait both backends implement: a connection that runs SQL with `$1…$n` parameters and
//! returns rows of [`Val`]. Everything above it (records, versions, files, quality) is written once.

use chrono::{DateTime, NaiveDate, Utc};

use crate::StoreError;

/// A parameter or a column value, as both backends can carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    /// PostgreSQL only: an array parameter, so that a group of rows goes in one statement
    /// (`unnest($1::text[], …)`) whatever its size. SQLite refuses it.
    Array(Vec<Val>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}
impl From<NaiveDate> for Val {
    fn from(v: NaiveDate) -> Self {
        Val::Date(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Self {
        Val::Time(v)
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Bytes(v)
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Bytes(v.to_vec())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone, Default)]
pub struct Row(pub Vec<Val>);

fn type_err(i: usize, want: &str, got: &Val) -> StoreError {
    StoreError::Decode(format!("column {i}: expected {want}, found {got:?}"))
}

impl Row {
    pub fn get(&self, i: usize) -> &Val {
        self.0.get(i).unwrap_or(&Val::Null)
    }
    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        match self.get(i) {
            Val::Int(v) => Ok(*v),
            Val::Bool(b) => Ok(*b as i64),
            Val::Null => Ok(0),
            other => Err(type_err(i, "integer", other)),
        }
    }
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.get(i) {
            Val::Null => Ok(None),
            _ => self.i64(i).map(Some),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.get(i) {
            Val::Bool(b) => Ok(*b),
            Val::Int(v) => Ok(*v != 0),
            Val::Null => Ok(false),
            other => Err(type_err(i, "boolean", other)),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i).map(Option::unwrap_or_default)
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.get(i) {
            Val::Null => Ok(None),
            Val::Text(s) => Ok(Some(s.clone())),
            Val::Int(v) => Ok(Some(v.to_string())),
            Val::Date(d) => Ok(Some(d.to_string())),
            other => Err(type_err(i, "text", other)),
        }
    }
    /// `text`, moving the string out of the row (the column reads as NULL afterwards): for
    /// readers that own their rows, such as a file's thousand versions with their payloads.
    pub fn take_text(&mut self, i: usize) -> Result<String, StoreError> {
        self.take_opt_text(i).map(Option::unwrap_or_default)
    }
    pub fn take_opt_text(&mut self, i: usize) -> Result<Option<String>, StoreError> {
        match self.0.get_mut(i) {
            Some(v @ Val::Text(_)) => match std::mem::replace(v, Val::Null) {
                Val::Text(s) => Ok(Some(s)),
                _ => Ok(None),
            },
            _ => self.opt_text(i),
        }
    }
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.get(i) {
            Val::Bytes(b) => Ok(b.clone()),
            Val::Null => Ok(Vec::new()),
            other => Err(type_err(i, "bytes", other)),
        }
    }
    pub fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get(i) {
            Val::Null => Ok(None),
            _ => self.bytes(i).map(Some),
        }
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        match self.get(i) {
            Val::Null => Ok(None),
            Val::Date(d) => Ok(Some(*d)),
            Val::Text(s) => iso_date(s)
                .map(Some)
                .ok_or_else(|| type_err(i, "date", self.get(i))),
            other => Err(type_err(i, "date", other)),
        }
    }
    pub fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.get(i) {
            Val::Null => Ok(None),
            _ => self.time(i).map(Some),
        }
    }
    pub fn time(&self, i: usize) -> Result<DateTime<Utc>, StoreError> {
        match self.get(i) {
            Val::Time(t) => Ok(*t),
            Val::Text(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| type_err(i, "timestamp", self.get(i))),
            other => Err(type_err(i, "timestamp", other)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The clause that lets several replicas claim rows of a queue without waiting on each other:
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose single writer serialises.
pub fn skip_locked(c: &dyn Conn) -> &'static str {
    match c.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// A connection of either backend. Writes happen inside `begin`/`commit`.
pub trait Conn: Send {
    fn backend(&self) -> Backend;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError>;
    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, the single-writer lock).
    fn begin(&mut self) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
    fn rollback(&mut self) -> Result<(), StoreError>;
    /// Appends many rows to a table: PostgreSQL `COPY … FROM STDIN (FORMAT binary)`, SQLite one
    /// prepared `INSERT` per row.
    fn copy_in(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Val>],
    ) -> Result<u64, StoreError>;
    fn in_transaction(&self) -> bool;
    /// A connection the server closed; the pool drops it.
    fn is_broken(&self) -> bool {
        false
    }

    /// The SQLite connection underneath, for the store's own bulk paths.
    #[doc(hidden)]
    fn sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        None
    }

    fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// `YYYY-MM-DD` exactly, as the stores keep dates in text (SQLite). Parsed by hand: chrono's
/// format-string parser costs far more, and a credit file reads three dates per version.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_exactly_as_stored() {
        let d = |s: &str| Row(vec![Val::Text(s.into())]).opt_date(0);
        assert_eq!(
            d("2026-02-28").unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        assert_eq!(
            d("0999-12-31").unwrap(),
            NaiveDate::from_ymd_opt(999, 12, 31)
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "2026/01/01",
            "2026-01-1x",
            "２０２６-01-01",
            "+026-01-01",
            "2026-01-011",
            "",
        ] {
            assert!(d(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Row(vec![Val::Null]).opt_date(0).unwrap(), None);
    }

    #[test]
    fn taken_text_leaves_null_behind() {
        let mut r = Row(vec![Val::Text("载荷".into()), Val::Int(7)]);
        assert_eq!(r.take_text(0).unwrap(), "载荷");
        assert_eq!(r.opt_text(0).unwrap(), None);
        assert_eq!(r.take_opt_text(1).unwrap().as_deref(), Some("7"));
    }
}
