//! PostgreSQL reads driven on the caller's async runtime, for the service's hottest read (a
//! credit file). The blocking client must run on the blocking pool, which cost every such
//! request two thread hand-offs and the client's own runtime turn besides the query.
//!
//! Connections are made on first use (the store itself is opened outside any runtime) and kept
//! idle between reads; one that failed is dropped rather than reused.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Semaphore;
use tokio_postgres::{Client, NoTls, Statement};

use crate::StoreError;
use crate::conn::Row;
use crate::pg::{refs, rows_from};

struct Reader {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

pub(crate) struct AsyncReads {
    url: String,
    schema: Option<String>,
    idle: Mutex<Vec<Reader>>,
    permits: Semaphore,
}

impl AsyncReads {
    /// At most `connections` reads at a time; the others wait their turn.
    pub(crate) fn new(url: String, schema: Option<String>, connections: usize) -> Self {
        AsyncReads {
            url,
            schema,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections),
        }
    }

    async fn take(&self) -> Result<Reader, StoreError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match idle {
                Some(r) if !r.client.is_closed() => return Ok(r),
                Some(_) => continue,
                None => break,
            }
        }
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("PostgreSQL read connection closed: {e}");
            }
        });
        // As on the blocking connections; the schema exists already, the store was migrated
        // when it was opened.
        let mut settings = crate::pg::session_settings();
        if let Some(s) = &self.schema {
            settings.push_str(&format!("; SET search_path TO {s}"));
        }
        client.batch_execute(&settings).await?;
        Ok(Reader {
            client,
            statements: HashMap::new(),
        })
    }

    /// Runs one read-only statement (prepared once per connection).
    pub(crate) async fn query(
        &self,
        sql: &'static str,
        params: &[crate::conn::Val],
    ) -> Result<Vec<Row>, StoreError> {
        let _turn = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Refused("数据库读取已关闭".into()))?;
        let mut reader = self.take().await?;
        let statement = match reader.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = reader.client.prepare(sql).await?;
                reader.statements.insert(sql, s.clone());
                s
            }
        };
        // On an error the connection is dropped with `reader`, not put back.
        let rows = reader.client.query(&statement, &refs(params)).await?;
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(reader);
        rows_from(&rows)
    }
}
