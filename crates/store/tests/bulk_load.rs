//! A bulk import on SQLite leaves WAL for a rollback journal only when nothing else has the
//! store open, and returns it to WAL afterwards.

use store::Store;

fn journal_mode(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_store_in_use_elsewhere_stays_in_wal_and_a_store_alone_comes_back_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let spec = db.to_str().unwrap();
    let server = Store::open(spec).unwrap();
    // Another process's store (here: another pool) reads, and keeps its connection open.
    server.stats().unwrap();
    let importer = Store::open(spec).unwrap();
    assert!(
        importer.bulk_load().unwrap().is_none(),
        "the store is open elsewhere: no rollback journal"
    );
    drop(server);

    let bulk = importer.bulk_load().unwrap();
    assert!(bulk.is_some(), "alone with the store: bulk mode");
    importer
        .write(|c| {
            c.batch("CREATE TABLE scratch (b BLOB)")?;
            c.execute(
                "INSERT INTO scratch (b) VALUES ($1)",
                &[store::Val::Bytes(vec![7; 100_000])],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(
        !dir.path().join("x.db-wal").exists(),
        "the write went through the rollback journal, not the WAL"
    );
    drop(bulk);
    drop(importer);
    assert_eq!(journal_mode(&db), "wal");
    let again = Store::open(spec).unwrap();
    let n = again
        .read(|c| {
            c.query_one("SELECT length(b) FROM scratch", &[])?
                .map(|r| r.i64(0))
                .transpose()
        })
        .unwrap();
    assert_eq!(n, Some(100_000));
}

/// On PostgreSQL the bulk guard (which lets a large import set indexes aside under exclusive
/// locks) is refused while another process is connected to the database.
#[test]
fn on_postgres_no_bulk_load_while_another_process_is_connected() {
    let url = std::env::var("XINYONG_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("xy_bulk_{}", std::process::id());
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = Store::open(&format!("{url}{sep}schema={schema}")).unwrap();
    // Another process, as PostgreSQL sees it: a connection under another application name.
    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    other
        .batch_execute("SET application_name = 'a server of the platform'")
        .unwrap();
    assert!(
        store.bulk_load().unwrap().is_none(),
        "another process is connected: no bulk load"
    );
    drop(other);
    drop(store);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}
