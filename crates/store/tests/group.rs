//! Group writers (audit entries, checks) take from their queue a share of the requests in
//! flight: all of them on SQLite, half on PostgreSQL, so that there the other half gathers while
//! a group commits.

use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::time::Duration;

/// Eight requests in flight, all of them queued: how many the next group takes.
fn gathered(store: &store::Store) -> usize {
    let (tx, rx) = mpsc::channel();
    for i in 1..8 {
        tx.send(i).unwrap();
    }
    let in_flight = AtomicUsize::new(8);
    // A long linger: the group must end by the share, not by waiting.
    let group = store.gather_group(&rx, 0, 1024, Duration::from_secs(2), &in_flight);
    assert_eq!(
        group,
        (0..group.len() as i32).collect::<Vec<_>>(),
        "in order"
    );
    group.len()
}

#[test]
fn a_group_holds_every_request_in_flight_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::open(dir.path().join("g.db").to_str().unwrap()).unwrap();
    assert_eq!(gathered(&store), 8);
}

#[test]
fn a_group_holds_half_of_them_on_postgres() {
    let base = std::env::var("XINYONG_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("xy_group_{}", std::process::id());
    let sep = if base.contains('?') { '&' } else { '?' };
    let store = store::Store::open(&format!("{base}{sep}schema={schema}")).unwrap();
    let n = gathered(&store);
    drop(store);
    let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    assert_eq!(n, 4);
}
