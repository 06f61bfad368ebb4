//! A small blocking connection pool, shared by both backends (SQLite uses one pool of a single
//! writer and one of readers; PostgreSQL one pool). A connection returned with an open
//! transaction is rolled back; a broken one is dropped.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::StoreError;
use crate::conn::Conn;

type Factory = Box<dyn Fn() -> Result<Box<dyn Conn>, StoreError> + Send + Sync>;

pub struct ConnPool {
    idle: Mutex<PoolState>,
    freed: Condvar,
    max: usize,
    factory: Factory,
    wait: Duration,
}

struct PoolState {
    idle: Vec<Box<dyn Conn>>,
    open: usize,
}

impl ConnPool {
    pub fn new(max: usize, wait: Duration, factory: Factory) -> Self {
        ConnPool {
            idle: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            factory,
            wait,
        }
    }

    pub fn get(&self) -> Result<PoolGuard<'_>, StoreError> {
        let deadline = std::time::Instant::now() + self.wait;
        let mut st = self.idle.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(PoolGuard {
                    conn: Some(c),
                    pool: self,
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match (self.factory)() {
                    Ok(c) => Ok(PoolGuard {
                        conn: Some(c),
                        pool: self,
                    }),
                    Err(e) => {
                        if let Ok(mut st) = self.idle.lock() {
                            st.open -= 1;
                        }
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(StoreError::Busy);
            }
            st = self
                .freed
                .wait_timeout(st, deadline - now)
                .map_err(|_| StoreError::Poisoned)?
                .0;
        }
    }

    /// Closes the idle connections (the busy ones close when they come back only if the pool is
    /// over its size, so call this when nothing else holds one).
    pub fn close_idle(&self) {
        if let Ok(mut st) = self.idle.lock() {
            let n = st.idle.len();
            st.idle.clear();
            st.open -= n;
        }
    }

    fn put_back(&self, mut c: Box<dyn Conn>) {
        let healthy = !c.is_broken() && (!c.in_transaction() || c.rollback().is_ok());
        if let Ok(mut st) = self.idle.lock() {
            if healthy {
                st.idle.push(c);
            } else {
                st.open -= 1;
            }
        }
        self.freed.notify_one();
    }
}

pub struct PoolGuard<'a> {
    conn: Option<Box<dyn Conn>>,
    pool: &'a ConnPool,
}

impl Deref for PoolGuard<'_> {
    type Target = dyn Conn;
    fn deref(&self) -> &Self::Target {
        self.conn.as_deref().expect("connection present until drop")
    }
}

impl DerefMut for PoolGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
            .as_deref_mut()
            .expect("connection present until drop")
    }
}

impl Drop for PoolGuard<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.put_back(c);
        }
    }
}
